#!/usr/bin/env bash
# The whole test suite: sets up (models, build dependencies), then runs every test with
# one shared release build. Tests find the data through YARDSTICK_DATA_DIR and the models
# through YARDSTICK_CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."
# --reference: the API backend's tests run llama-cpp-python's server from the reference
# virtualenv.
bash scripts/setup.sh --reference
export YARDSTICK_DATA_DIR="${YARDSTICK_DATA_DIR:-$(cd .. && pwd)/shared/data}"
export YARDSTICK_CACHE="${YARDSTICK_CACHE:-$HOME/.cache/yardstick}"
if [ ! -d "$YARDSTICK_DATA_DIR" ]; then
  echo "benchmark data not found at $YARDSTICK_DATA_DIR; set YARDSTICK_DATA_DIR" >&2
  exit 1
fi
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --release --workspace --no-fail-fast
else
  cargo test --release --workspace --no-fail-fast
fi
cargo test --release --workspace --doc --quiet
