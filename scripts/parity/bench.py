#!/usr/bin/env python3
"""Scoring throughput: yardstick against lm-evaluation-harness on the same task, file and
machine, measured in one run.

Three end-to-end runs on the first --limit documents of --task (default arc_easy,
0-shot), each timed from process start to exit, one after another:

  1. lm-eval 0.4.12, `--model gguf`, against llama-cpp-python 0.3.16's server (started
     and warmed before the clock starts) with the log-probability fixes of
     reference_server.py (`align,eog,greedy`) but the server's own prefix reuse left on
     (`fresh` off): the fastest configuration of the reference path;
  2. yardstick with shared-prefix scoring (the default);
  3. yardstick with plain scoring (every choice recomputes its context).

Each line gives documents/s and scored tokens/s (the tokens a plain scorer processes:
every choice's context and continuation, counted by `yardstick bench scoring`'s report)
and the ratio to lm-eval. Same thread count everywhere.

Usage (from the repository root, in the reference virtualenv; run.sh-style):
    bench.py --model M.gguf [--task arc_easy] [--limit 200] [--threads 2]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lm_eval_tasks  # noqa: E402
import parity  # noqa: E402


def plain_tokens(model, samples_dir):
    """Tokens a plain scorer processes for the logged requests: each choice's context and
    continuation, all but the last token (the work every reference request represents)."""
    import llama_cpp
    vocab = llama_cpp.Llama(model_path=model, vocab_only=True, verbose=False)
    path = parity.latest(os.path.join(samples_dir, "**", "samples_*.jsonl"))
    total = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            for args in json.loads(line)["arguments"].values():
                text = (args["arg_0"] + args["arg_1"]).encode("utf-8")
                total += len(vocab.tokenize(text, add_bos=True, special=False)) - 1
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--task", default="arc_easy")
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--port", type=int, default=8777)
    ap.add_argument("--data-dir", default=os.environ.get("YARDSTICK_DATA_DIR", "../shared/data"))
    ap.add_argument("--yardstick", default=os.path.join(parity.REPO, "target/release/yardstick"))
    ap.add_argument("--json-out")
    args = ap.parse_args()
    args.tasks, args.num_fewshot, args.patches = args.task, 0, "align,eog,greedy"

    work = tempfile.mkdtemp(prefix="yardstick-bench-")
    tasks_dir = os.path.join(work, "tasks")
    lm_eval_tasks.generate(tasks_dir, args.data_dir)

    rows = []
    ref_dir = os.path.join(work, "lm_eval")
    os.makedirs(ref_dir)
    lm_eval_s = parity.run_lm_eval(args, tasks_dir, ref_dir)
    rows.append(("lm-eval gguf + llama-cpp-python server (peer)", lm_eval_s))
    for mode in ("shared-prefix", "plain"):
        out_dir = os.path.join(work, f"yardstick-{mode}")
        os.makedirs(out_dir)
        cmd = [args.yardstick, "run", "--model", f"gguf:{args.model}", "--tasks", args.task,
               "--limit", str(args.limit), "--num-fewshot", "0", "--scoring", mode,
               "--threads", str(args.threads), "--data-dir", args.data_dir,
               "--output-dir", out_dir, "--db", os.path.join(out_dir, "y.db"), "--output", "json"]
        t0 = time.time()
        subprocess.run(cmd, check=True, capture_output=True)
        rows.append((f"yardstick run --scoring {mode}", time.time() - t0))

    tokens = plain_tokens(args.model, os.path.join(work, "yardstick-shared-prefix"))

    print(f"\n{args.task}, first {args.limit} documents, 0-shot, {args.threads} threads, "
          f"{os.path.basename(args.model)}\n")
    print("| Run | Seconds | Docs/s | Tokens/s | vs lm-eval |")
    print("| --- | --- | --- | --- | --- |")
    for name, secs in rows:
        docs_s = args.limit / secs
        tok_s = f"{tokens / secs:.0f}"
        print(f"| {name} | {secs:.1f} | {docs_s:.2f} | {tok_s} | {lm_eval_s / secs:.2f}x |")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"task": args.task, "limit": args.limit, "threads": args.threads,
                       "plain_tokens": tokens,
                       "rows": [{"run": n, "seconds": s} for n, s in rows]}, f, indent=1)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
