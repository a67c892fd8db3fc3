#!/usr/bin/env bash
# lm-eval parity run: make sure the reference virtualenv (llama-cpp-python 0.3.16 with
# its server, lm-eval 0.4.12) exists, then run scripts/parity/parity.py in it.
# Arguments go to parity.py, e.g.
#   bash scripts/parity/run.sh --model ~/.cache/yardstick/models/SmolLM2-135M-Instruct.Q4_1.gguf \
#       --tasks arc_easy --limit 100
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${YARDSTICK_CACHE:-$HOME/.cache/yardstick}"
bash "$ROOT/scripts/setup.sh" --reference
exec "$CACHE/reference-venv/bin/python" "$ROOT/scripts/parity/parity.py" "$@"
