#!/usr/bin/env bash
# Issue 3's full-split parity runs on the demo model, one after another, each resumable:
# run this again after an interruption and it goes on from the chunks already done
# (parity.py --chunk-docs; the yardstick side resumes from its store).
#
#   bash scripts/parity/full.sh [WORK_ROOT] [TASK_RUN ...]
#
# WORK_ROOT (default /tmp/parity-full) gets one folder and one <name>.json table per run;
# TASK_RUN names pick runs from the list below (default: all, in this order). Full
# splits take hours on 2 cores; the lm-eval side dominates (every request is decoded
# from an empty cache). Each finished run's table is in WORK_ROOT/<name>.log.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${YARDSTICK_CACHE:-$HOME/.cache/yardstick}"
WORK_ROOT="${1:-/tmp/parity-full}"
shift || true
MODEL="$CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf"
WORKERS="${PARITY_WORKERS:-2}"

# name | tasks | num_fewshot | limit per task ("" = the whole split)
RUNS=(
  "truthfulqa_mc2|truthfulqa_mc2|0|"
  "hellaswag|hellaswag|0|"
  "mmlu_5shot|mmlu|5|18"
  "mmlu|mmlu|0|"
  "arc_easy|arc_easy|0|"
  "arc_challenge|arc_challenge|0|"
  "winogrande|winogrande|0|"
  "truthfulqa_mc1|truthfulqa_mc1|0|"
)

bash "$ROOT/scripts/setup.sh" --reference  # demo model, reference venv (run.sh checks again)
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p yardstick-cli
# A copy, so that rebuilding the working tree during a run does not swap the binary.
mkdir -p "$WORK_ROOT"
cp "$ROOT/target/release/yardstick" "$WORK_ROOT/yardstick.new"
mv "$WORK_ROOT/yardstick.new" "$WORK_ROOT/yardstick"

wanted=("$@")
for run in "${RUNS[@]}"; do
  IFS='|' read -r name tasks shots limit <<<"$run"
  if [ ${#wanted[@]} -gt 0 ] && [[ ! " ${wanted[*]} " =~ " $name " ]]; then
    continue
  fi
  if [ -f "$WORK_ROOT/$name.json" ] && grep -q '"failed": \[\]' "$WORK_ROOT/$name.json"; then
    echo "[full] $name: done before ($WORK_ROOT/$name.json)"
    continue
  fi
  echo "[full] $name: $tasks, ${shots}-shot${limit:+, first $limit docs per task}"
  bash "$ROOT/scripts/parity/run.sh" --model "$MODEL" --tasks "$tasks" \
    --num-fewshot "$shots" ${limit:+--limit "$limit"} --threads 1 \
    --chunk-docs 100 --workers "$WORKERS" --port 8766 \
    --work-dir "$WORK_ROOT/$name" --json-out "$WORK_ROOT/$name.json" \
    --yardstick "$WORK_ROOT/yardstick" 2>&1 | tee "$WORK_ROOT/$name.log" \
    || echo "[full] $name: parity.py failed (exit ${PIPESTATUS[0]}); see $WORK_ROOT/$name.log"
done
