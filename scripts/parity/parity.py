#!/usr/bin/env python3
"""Run lm-evaluation-harness and yardstick on the same GGUF file and compare them item by item.

Reference side: lm-eval (`lm_eval run --model gguf`) against llama-cpp-python's
OpenAI-compatible server on 127.0.0.1, with the patches of `reference_server.py`
(checked by `check_reference.py`), on lm-eval's own task YAMLs pointed at the local
data (`lm_eval_tasks.py`, passed as `--include_path`). yardstick side: `yardstick run`
on the same file, tasks, --limit and --num-fewshot, with the same data directory.

Both write lm-eval v0.4.12-style `samples_<task>_<date>.jsonl` files; this script reads
both and, per task, per document (doc_id):
  - checks the requests are the same (every context and continuation, byte for byte),
  - compares each choice's log-likelihood (max |Δll| over all choices),
  - compares the predicted choice: argmax of ll for acc, of ll / len(choice) for
    acc_norm (first index on ties, as numpy); for metrics that are not an argmax
    (truthfulqa_mc2's acc) the per-document metric values must agree within 1e-3,
and per task the accuracy from each side's results file. It prints a table

    task  metric  n  lm-eval  yardstick  |Δ| pts  agree %  max|Δll|  prompts  greedy≠

(greedy≠: documents whose is_greedy flags differ; reported, not judged) and exits 1
when a task breaks the acceptance: |Δacc| > 0.5 points, agreement < 99%,
or any request text differs. It also prints each side's wall time and documents/s.
(lm-eval's time includes the HTTP round trips and the server's echo rebuild; the
server decodes every request from an empty cache, as the reference must; see README.)

If --prompts-fixture names the file written by dump_prompts.py, lm-eval's requests
for the documents it holds are also checked against it (the fixture must describe
what `lm_eval run` really builds).

Usage:
    parity.py --model M.gguf --tasks arc_easy[,mmlu_anatomy,...] [--limit N]
              [--num-fewshot K] [--threads 2] [--work-dir DIR]
              [--yardstick target/release/yardstick] [--data-dir /work/shared/data]
"""

import argparse
import glob
import gzip
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import lm_eval_tasks  # noqa: E402

MAX_DACC_POINTS = 0.5
MIN_AGREEMENT = 99.0


def log(msg):
    print(f"[parity] {msg}", file=sys.stderr, flush=True)


def wait_for_server(url, proc, timeout=300):
    """Waits until the server at `url` answers; exits if `proc` (when given) dies first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            sys.exit(f"reference server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/v1/models", timeout=5):
                return
        except OSError:
            time.sleep(1)
    sys.exit(f"reference server at {url} did not answer within {timeout}s")


def run_lm_eval(args, tasks_dir, out_dir):
    """Start the patched server, run `lm_eval run --model gguf`, stop the server.
    Returns lm-eval's wall time in seconds (server start not included)."""
    url = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen([
        sys.executable, os.path.join(HERE, "reference_server.py"),
        "--model", args.model, "--port", str(args.port),
        "--threads", str(args.threads), "--patches", args.patches,
    ])
    try:
        wait_for_server(url, server)
        cmd = [
            sys.executable, "-m", "lm_eval", "run",
            "--model", "gguf", "--model_args", f"base_url={url}",
            "--tasks", args.tasks, "--include_path", tasks_dir,
            "--num_fewshot", str(args.num_fewshot),
            "--log_samples", "--output_path", out_dir,
        ]
        if args.limit is not None:
            cmd += ["--limit", str(args.limit)]
        # Offline: the data are local files; never try the hub.
        env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1",
                   TOKENIZERS_PARALLELISM="false")
        log("$ " + " ".join(cmd))
        t0 = time.time()
        with open(os.path.join(out_dir, "lm_eval.log"), "w") as logf:
            rc = subprocess.call(cmd, env=env, stdout=logf, stderr=subprocess.STDOUT)
        secs = time.time() - t0
        if rc != 0:
            sys.exit(f"lm_eval failed ({rc}); see {out_dir}/lm_eval.log")
        return secs
    finally:
        server.terminate()
        server.wait(timeout=60)


def run_yardstick(args, out_dir):
    cmd = [
        args.yardstick, "run", "--model", f"gguf:{args.model}", "--tasks", args.tasks,
        "--num-fewshot", str(args.num_fewshot), "--output-dir", out_dir,
        "--db", os.path.join(out_dir, "yardstick.db"), "--data-dir", args.data_dir,
        "--output", "json", "--threads", str(args.threads),
    ]
    if args.limit is not None:
        cmd += ["--limit", str(args.limit)]
    log("$ " + " ".join(cmd))
    t0 = time.time()
    with open(os.path.join(out_dir, "yardstick.log"), "w") as logf:
        rc = subprocess.call(cmd, stdout=logf, stderr=subprocess.STDOUT)
    secs = time.time() - t0
    if rc != 0:
        sys.exit(f"yardstick failed ({rc}); see {out_dir}/yardstick.log")
    return secs


def latest(pattern):
    files = sorted(glob.glob(pattern, recursive=True), key=os.path.getmtime)
    return files[-1] if files else None


def load_samples(out_dir, task):
    # samples_<task>_<date>.jsonl; match the date exactly, or "mmlu" would match
    # every samples_mmlu_<subject>_... file.
    name = re.compile(rf"samples_{re.escape(task)}_\d{{4}}-\d\d-\d\dT[0-9.\-]+\.jsonl")
    files = [p for p in glob.glob(os.path.join(out_dir, "**", f"samples_{task}_*.jsonl"),
                                  recursive=True) if name.fullmatch(os.path.basename(p))]
    if not files:
        return None
    path = max(files, key=os.path.getmtime)
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            s = json.loads(line)
            out[s["doc_id"]] = s
    return out


def load_results(out_dir):
    path = latest(os.path.join(out_dir, "**", "results_*.json"))
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def requests_of(sample):
    """[(context, continuation), ...] from a samples line, in request order."""
    args = sample["arguments"]
    if isinstance(args, dict):  # v0.4.12 file layout: {gen_args_i: {arg_0, arg_1}}
        keys = sorted(args, key=lambda k: int(k.rsplit("_", 1)[1]))
        return [(args[k]["arg_0"], args[k]["arg_1"]) for k in keys]
    return [tuple(a) for a in args]


def lls_of(sample):
    """Each request's log-likelihood (the filtered response's first element)."""
    return [float(r[0]) for r in sample["filtered_resps"]]


def greedy_of(sample):
    """Each request's is_greedy flag (written as "True"/"False" in v0.4.12 files)."""
    return [str(r[1]) == "True" for r in sample["filtered_resps"]]


def argmax(xs):
    best = 0
    for i, x in enumerate(xs):
        if x > xs[best]:
            best = i
    return best


def predictions(sample):
    """(pred for acc, pred for acc_norm). Choice length = continuation minus the
    target delimiter " " that every task here uses (lm-eval divides by len(choice))."""
    lls = lls_of(sample)
    conts = [c for _, c in requests_of(sample)]
    lens = [len(c) - 1 if c.startswith(" ") else len(c) for c in conts]
    return argmax(lls), argmax([ll / n if n else ll for ll, n in zip(lls, lens)])


def compare_task(task, ref, ys, ref_results, ys_results):
    """Rows for the table, one per metric."""
    ids = sorted(set(ref) & set(ys))
    missing = sorted(set(ref) ^ set(ys))
    prompt_diff = sum(requests_of(ref[i]) != requests_of(ys[i]) for i in ids)
    greedy_diff = sum(greedy_of(ref[i]) != greedy_of(ys[i]) for i in ids)
    dll = 0.0
    for i in ids:
        a, b = lls_of(ref[i]), lls_of(ys[i])
        if len(a) != len(b):
            dll = math.inf
            continue
        dll = max([dll] + [abs(x - y) for x, y in zip(a, b)])
    rows = []
    metrics = [m for m in ("acc", "acc_norm") if m in ref[ids[0]]] if ids else []
    for m in metrics:
        if task == "truthfulqa_mc2":  # acc is a probability mass, not an argmax
            agree = sum(abs(ref[i][m] - ys[i][m]) <= 1e-3 for i in ids)
        else:
            k = 0 if m == "acc" else 1
            agree = sum(predictions(ref[i])[k] == predictions(ys[i])[k] for i in ids)
        r_acc = ref_results["results"].get(task, {}).get(f"{m},none")
        y_acc = ys_results["results"].get(task, {}).get(f"{m},none")
        rows.append({
            "task": task, "metric": m, "n": len(ids), "missing": len(missing),
            "lm_eval": r_acc, "yardstick": y_acc,
            "dacc_points": abs(r_acc - y_acc) * 100 if None not in (r_acc, y_acc) else math.inf,
            "agree_pct": 100.0 * agree / len(ids) if ids else 0.0,
            "max_dll": dll, "prompt_diff": prompt_diff, "greedy_diff": greedy_diff,
        })
    return rows


def check_fixture(path, task, num_fewshot, ref):
    """Count documents whose lm-eval requests differ from the prompts fixture."""
    checked = differ = 0
    with gzip.open(path, "rt", encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            rec = json.loads(line)
            if rec["task"] != task or rec["num_fewshot"] != num_fewshot:
                continue
            s = ref.get(rec["doc_id"])
            if s is None:
                continue
            checked += 1
            differ += [tuple(a) for a in rec["arguments"]] != requests_of(s)
    return checked, differ


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="GGUF file")
    ap.add_argument("--tasks", required=True, help="comma-separated task/group names")
    ap.add_argument("--limit", type=int, help="first N documents per task (default: all)")
    ap.add_argument("--num-fewshot", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--patches", default="all", help="reference_server.py --patches")
    ap.add_argument("--data-dir", default="/work/shared/data")
    ap.add_argument("--yardstick", default=os.path.join(REPO, "target/release/yardstick"))
    ap.add_argument("--work-dir", help="where outputs go (default: a new folder under "
                    "/tmp/yardstick-parity)")
    ap.add_argument("--reuse", action="store_true",
                    help="compare the outputs already in --work-dir without running")
    ap.add_argument("--prompts-fixture",
                    default=os.path.join(REPO, "tests/fixtures/prompts/lm_eval-prompts.jsonl.gz"))
    ap.add_argument("--json-out", help="also write the table rows and timings here")
    args = ap.parse_args()
    args.model = os.path.abspath(args.model)

    work = args.work_dir or os.path.join(
        "/tmp/yardstick-parity", time.strftime("%Y%m%d-%H%M%S"))
    ref_dir, ys_dir = os.path.join(work, "lm_eval"), os.path.join(work, "yardstick")
    tasks_dir = os.path.join(work, "tasks")
    timings = {}
    if not args.reuse:
        for d in (ref_dir, ys_dir):
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
        lm_eval_tasks.generate(tasks_dir, args.data_dir)
        timings["lm_eval_s"] = run_lm_eval(args, tasks_dir, ref_dir)
        timings["yardstick_s"] = run_yardstick(args, ys_dir)
    log(f"outputs in {work}")

    ref_results, ys_results = load_results(ref_dir), load_results(ys_dir)
    # Leaf tasks are those with a samples file on the lm-eval side; the rest are groups.
    leaf, groups = [], []
    for t in sorted(ref_results["results"]):
        (leaf if load_samples(ref_dir, t) is not None else groups).append(t)
    rows, n_docs, fixture = [], 0, []
    for task in leaf:
        ref, ys = load_samples(ref_dir, task), load_samples(ys_dir, task)
        if ys is None:
            log(f"{task}: no yardstick samples file")
            rows.append({"task": task, "metric": "-", "n": 0, "missing": -1, "lm_eval": None,
                         "yardstick": None, "dacc_points": math.inf, "agree_pct": 0.0,
                         "max_dll": math.inf, "prompt_diff": -1})
            continue
        n_docs += len(ref)
        rows += compare_task(task, ref, ys, ref_results, ys_results)
        if args.prompts_fixture and os.path.isfile(args.prompts_fixture):
            fixture.append((task,) + check_fixture(args.prompts_fixture, task,
                                                   args.num_fewshot, ref))

    head = (f"{'task':<42} {'metric':<8} {'n':>5} {'lm-eval':>8} {'yardstick':>9} "
            f"{'|Δ| pts':>8} {'agree %':>8} {'max|Δll|':>10} {'prompts':>8} {'greedy≠':>7}")
    print(f"\nmodel {os.path.basename(args.model)}, num_fewshot {args.num_fewshot}, "
          f"limit {args.limit}")
    print(head)
    print("-" * len(head))
    failed = []
    for r in rows:
        ok = (r["dacc_points"] <= MAX_DACC_POINTS and r["agree_pct"] >= MIN_AGREEMENT
              and r["prompt_diff"] == 0 and r["missing"] == 0)
        if not ok:
            failed.append(f"{r['task']}/{r['metric']}")
        prompts = "same" if r["prompt_diff"] == 0 else f"{r['prompt_diff']} diff"
        print(f"{r['task']:<42} {r['metric']:<8} {r['n']:>5} {fmt(r['lm_eval'], '.4f'):>8} "
              f"{fmt(r['yardstick'], '.4f'):>9} {r['dacc_points']:>8.2f} {r['agree_pct']:>8.1f} "
              f"{r['max_dll']:>10.2e} {prompts:>8} {r.get('greedy_diff', '-'):>7}"
              f"{'' if ok else '  FAIL'}")
    for g in groups:
        a = ref_results["results"].get(g, {}).get("acc,none")
        b = ys_results["results"].get(g, {}).get("acc,none")
        d = abs(a - b) * 100 if None not in (a, b) else math.inf
        print(f"{g + ' (group)':<42} {'acc':<8} {'':>5} {fmt(a, '.4f'):>8} {fmt(b, '.4f'):>9} {d:>8.2f}")
        if d > MAX_DACC_POINTS:
            failed.append(f"{g} (group)")
    for task, checked, differ in fixture:
        if checked:
            print(f"prompts fixture: {task} {args.num_fewshot}-shot: {checked} docs checked, "
                  f"{differ} differ from lm-eval's run")
            if differ:
                failed.append(f"{task} (fixture)")
    if timings:
        for side, key in (("lm-eval + server", "lm_eval_s"), ("yardstick", "yardstick_s")):
            s = timings[key]
            print(f"{side:<17} wall {s:8.1f} s  {n_docs / s:8.2f} docs/s  ({n_docs} docs)")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"rows": rows, "timings": timings, "docs": n_docs, "failed": failed,
                       "model": args.model, "tasks": args.tasks, "limit": args.limit,
                       "num_fewshot": args.num_fewshot}, f, indent=1, default=str)
    if failed:
        print("FAILED: " + ", ".join(failed))
        sys.exit(1)
    print("all tasks within the acceptance (|Δacc| <= 0.5 pt, agreement >= 99%, same requests)")


if __name__ == "__main__":
    main()
