#!/usr/bin/env bash
# The main job on the embedded default: sets up, builds, and scores the demo model on
# the default suite (ARC-Easy and ARC-Challenge), printing the score table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export YARDSTICK_DATA_DIR="${YARDSTICK_DATA_DIR:-$(cd .. && pwd)/shared/data}"
cargo build --release --quiet --bin yardstick
./target/release/yardstick run --tasks arc_easy,arc_challenge "$@"
