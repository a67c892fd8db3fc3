#!/usr/bin/env bash
# The main job on the embedded default: sets up, builds, and scores the demo model
# (SmolLM2-135M-Instruct) on the default suite, ARC-Easy and ARC-Challenge, printing the
# score table. Without arguments it scores the first 250 questions of each (about two
# minutes on 2 cores); any arguments go to `yardstick run` instead, e.g. `--limit 1000`,
# or `--limit 100000` for the full test splits.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export YARDSTICK_DATA_DIR="${YARDSTICK_DATA_DIR:-$(cd .. && pwd)/shared/data}"
cargo build --release --quiet --bin yardstick
if [ $# -eq 0 ]; then
  set -- --limit 250
fi
./target/release/yardstick run --tasks arc_easy,arc_challenge "$@"
