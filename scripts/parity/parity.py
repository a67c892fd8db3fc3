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

Full splits take hours on the reference side (the server decodes every request from an
empty cache), longer than one working session. With --chunk-docs N the run is
resumable and can use several reference servers at once:
  - yardstick runs first; its results store (<work>/yardstick/yardstick.db) makes a
    rerun compute only what is missing;
  - the documents lm-eval would evaluate (leaf tasks and their eval_docs, loaded with
    lm-eval's own TaskManager, --limit applied) are cut into chunks of at most N
    documents, packed across small tasks; each chunk is one `lm_eval run --samples
    '{"task": [doc indices]}'` into <work>/lm_eval_chunks/<k>, renamed into place only
    when lm-eval succeeds, so a killed run loses only the chunks in flight and a rerun
    of the same command skips every finished chunk;
  - --workers W starts W servers (ports --port, --port+1, ...; --threads each) and W
    chunk queues;
  - the chunks' samples are joined into <work>/lm_eval, each chunk checked to hold
    exactly the documents (original indices) it asked for, and the results file is
    rebuilt from them: each leaf task's metric is the mean of its
    per-document values (lm-eval's `mean` aggregation), each group's comes from
    lm-eval's own `Group.aggregate` over those leaf metrics.
  Selecting documents changes nothing a document's requests depend on at 0-shot, and at
  k-shot only with the `first_n` few-shot sampler (MMLU's); other samplers draw from one
  random stream per task, so a chunked k-shot run of them is refused. The parameters are
  kept in <work>/plan.json; a rerun with different ones is refused.

If --prompts-fixture names the file written by dump_prompts.py, lm-eval's requests
for the documents it holds are also checked against it (the fixture must describe
what `lm_eval run` really builds).

Usage:
    parity.py --model M.gguf --tasks arc_easy[,mmlu_anatomy,...] [--limit N]
              [--num-fewshot K] [--threads 2] [--work-dir DIR]
              [--chunk-docs N [--workers W]]
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
import threading
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


class ReferenceServer:
    """The patched llama-cpp-python server on 127.0.0.1:`port`, for a `with` block."""

    def __init__(self, args, port):
        self.args, self.port = args, port
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self):
        a = self.args
        self.proc = subprocess.Popen([
            sys.executable, os.path.join(HERE, "reference_server.py"),
            "--model", a.model, "--port", str(self.port),
            "--threads", str(a.threads), "--patches", a.patches,
        ])
        try:
            wait_for_server(self.url, self.proc)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=60)


def lm_eval_command(url, tasks, tasks_dir, num_fewshot, out_dir, extra=()):
    return [
        sys.executable, "-m", "lm_eval", "run",
        "--model", "gguf", "--model_args", f"base_url={url}",
        "--tasks", tasks, "--include_path", tasks_dir,
        "--num_fewshot", str(num_fewshot),
        "--log_samples", "--output_path", out_dir, *extra,
    ]


def call_lm_eval(cmd, log_path):
    """Runs lm-eval offline (the data are local files; never try the hub), output to
    `log_path`. Returns the exit status."""
    env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false")
    with open(log_path, "w") as logf:
        return subprocess.call(cmd, env=env, stdout=logf, stderr=subprocess.STDOUT)


def run_lm_eval(args, tasks_dir, out_dir):
    """Start the patched server, run `lm_eval run --model gguf`, stop the server.
    Returns lm-eval's wall time in seconds (server start not included)."""
    with ReferenceServer(args, args.port) as server:
        extra = ["--limit", str(args.limit)] if args.limit is not None else []
        cmd = lm_eval_command(server.url, args.tasks, tasks_dir, args.num_fewshot,
                              out_dir, extra)
        log("$ " + " ".join(cmd))
        t0 = time.time()
        rc = call_lm_eval(cmd, os.path.join(out_dir, "lm_eval.log"))
        secs = time.time() - t0
        if rc != 0:
            sys.exit(f"lm_eval failed ({rc}); see {out_dir}/lm_eval.log")
        return secs


def load_lm_eval_tasks(args, tasks_dir):
    """(leaf tasks {name: Task}, groups {name: Group}) as `lm_eval run --tasks` loads
    them from the generated folder."""
    os.environ.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    from lm_eval.tasks import TaskManager

    loaded = TaskManager(include_path=tasks_dir).load(args.tasks.split(","))
    return loaded["tasks"], loaded["groups"]


def plan_chunks(tasks, limit, num_fewshot, chunk_docs):
    """Cut every leaf task's evaluated documents (the first `limit` when given) into
    chunks of at most `chunk_docs` documents: a list of {task: [doc index, ...]} in
    task-name order, small tasks packed together."""
    if num_fewshot > 0:
        random_fewshot = sorted(n for n, t in tasks.items()
                                if t.config.fewshot_config.sampler != "first_n")
        if random_fewshot:
            sys.exit(f"--chunk-docs with --num-fewshot {num_fewshot}: the few-shot examples "
                     f"of {', '.join(random_fewshot[:5])} are drawn from one random stream "
                     "per task, so a chunk would draw other examples than a whole run; "
                     "run these tasks without --chunk-docs")
    chunks, current, size = [], {}, 0
    for name in sorted(tasks):
        n = len(tasks[name].eval_docs)
        ids = list(range(n if limit is None else min(n, limit)))
        while ids:
            take = ids[:chunk_docs - size]
            ids = ids[len(take):]
            current[name] = take
            size += len(take)
            if size == chunk_docs:
                chunks.append(current)
                current, size = {}, 0
    if current:
        chunks.append(current)
    return chunks


def check_plan(work, plan):
    """Record the run's parameters in <work>/plan.json, or refuse to resume a work
    folder made with other ones."""
    path = os.path.join(work, "plan.json")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            old = json.load(f)
        if old != plan:
            changed = sorted(k for k in set(old) | set(plan) if old.get(k) != plan.get(k))
            sys.exit(f"{work} holds a run with other parameters ({', '.join(changed)} "
                     "differ); give another --work-dir, or remove it to start again")
        return
    os.makedirs(work, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(plan, f, indent=1)


def run_lm_eval_chunks(args, tasks_dir, chunks_dir, chunks):
    """Run every chunk that has no finished folder yet, on `args.workers` servers.
    Returns (documents evaluated now, wall seconds)."""
    os.makedirs(chunks_dir, exist_ok=True)
    for name in os.listdir(chunks_dir):
        if name.endswith(".partial"):  # a chunk in flight when a run was killed
            shutil.rmtree(os.path.join(chunks_dir, name))
    todo = [(k, c) for k, c in enumerate(chunks)
            if not os.path.isdir(os.path.join(chunks_dir, f"{k:05d}"))]
    log(f"lm-eval: {len(chunks) - len(todo)} of {len(chunks)} chunks already done, "
        f"{len(todo)} to run on {args.workers} server(s)")
    if not todo:
        return 0, 0.0
    queue, lock, errors, done_docs = list(todo), threading.Lock(), [], [0]

    def worker(port):
        # sys.exit in a thread would end only that thread, unseen: record why instead.
        try:
            run_queue(port)
        except SystemExit as e:
            with lock:
                errors.append(f"server on port {port}: {e.code}")
        except Exception as e:  # noqa: BLE001 - reported after the other workers stop
            with lock:
                errors.append(f"server on port {port}: {e!r}")

    def run_queue(port):
        with ReferenceServer(args, port) as server:
            while True:
                with lock:
                    if not queue or errors:
                        return
                    k, chunk = queue.pop(0)
                final = os.path.join(chunks_dir, f"{k:05d}")
                partial = final + ".partial"
                os.makedirs(partial)
                extra = ["--samples", json.dumps(chunk, separators=(",", ":"))]
                cmd = lm_eval_command(server.url, ",".join(chunk), tasks_dir,
                                      args.num_fewshot, partial, extra)
                t0 = time.time()
                rc = call_lm_eval(cmd, os.path.join(partial, "lm_eval.log"))
                docs = sum(len(ids) for ids in chunk.values())
                if rc != 0:
                    with lock:
                        errors.append(f"chunk {k} failed ({rc}); see {partial}/lm_eval.log")
                    return
                with open(os.path.join(partial, "chunk.json"), "w", encoding="utf-8") as f:
                    json.dump({"samples": chunk, "wall_s": time.time() - t0}, f)
                os.rename(partial, final)
                with lock:
                    done_docs[0] += docs
                    log(f"lm-eval chunk {k + 1}/{len(chunks)} ({docs} docs, "
                        f"{time.time() - t0:.0f} s)")

    t0 = time.time()
    threads = [threading.Thread(target=worker, args=(args.port + w,))
               for w in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit("; ".join(errors))
    return done_docs[0], time.time() - t0


def join_chunks(chunks_dir, chunks, tasks, groups, ref_dir):
    """Write the chunks' samples, with the original document indices, and a results
    file rebuilt from them into `ref_dir`, where a whole run's outputs would be."""
    from lm_eval.api.metrics import mean, mean_stderr

    stamp = time.strftime("%Y-%m-%dT%H-%M-%S")
    for name in os.listdir(ref_dir):
        if name.startswith(("samples_", "results_")):
            os.remove(os.path.join(ref_dir, name))
    per_task = {}
    for k, chunk in enumerate(chunks):
        for task, ids in chunk.items():
            got = load_samples(os.path.join(chunks_dir, f"{k:05d}"), task)
            if got is None or sorted(got) != ids:
                sys.exit(f"chunk {k}: lm-eval's samples for {task} are not the documents "
                         f"asked for; remove {chunks_dir}/{k:05d} and rerun")
            for doc_id, sample in got.items():
                sample["doc_id"] = doc_id
                per_task.setdefault(task, {})[doc_id] = sample
    metrics = {}
    for task, samples in sorted(per_task.items()):
        ordered = [samples[i] for i in sorted(samples)]
        with open(os.path.join(ref_dir, f"samples_{task}_{stamp}.jsonl"), "w",
                  encoding="utf-8") as f:
            for sample in ordered:
                f.write(json.dumps(sample, ensure_ascii=False) + "\n")
        m = {"alias": task, "sample_len": len(ordered)}
        for key in ("acc", "acc_norm"):
            if key in ordered[0]:
                values = [float(s[key]) for s in ordered]
                m[f"{key},none"] = mean(values)
                m[f"{key}_stderr,none"] = mean_stderr(values) if len(values) > 1 else "N/A"
        metrics[task] = m
    results = dict(metrics)
    for name, group in groups.items():
        results[name] = group.aggregate(metrics)
    with open(os.path.join(ref_dir, f"results_{stamp}.json"), "w", encoding="utf-8") as f:
        json.dump({"results": results, "joined_from_chunks": len(chunks),
                   "n-samples": {t: {"effective": m["sample_len"]}
                                 for t, m in metrics.items()}}, f, indent=1, default=str)


def run_yardstick(args, out_dir):
    cmd = [
        args.yardstick, "run", "--model", f"gguf:{args.model}", "--tasks", args.tasks,
        "--num-fewshot", str(args.num_fewshot), "--output-dir", out_dir,
        "--db", os.path.join(out_dir, "yardstick.db"), "--data-dir", args.data_dir,
        # A chunked run's yardstick side runs alone: give it every worker's threads.
        "--output", "json", "--threads", str(args.threads * args.workers),
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


def run_chunked(args, work, tasks_dir, ref_dir, ys_dir):
    """The resumable run of --chunk-docs (see the module docstring). Returns the
    timings of what ran in this invocation, with the documents each side computed."""
    plan = {k: getattr(args, k) for k in ("model", "tasks", "limit", "num_fewshot",
                                          "chunk_docs", "patches", "data_dir")}
    check_plan(work, plan)
    for d in (ref_dir, ys_dir):
        os.makedirs(d, exist_ok=True)
    lm_eval_tasks.generate(tasks_dir, args.data_dir)
    timings = {}
    if not args.reuse:
        timings["yardstick_s"] = run_yardstick(args, ys_dir)
    tasks, groups = load_lm_eval_tasks(args, tasks_dir)
    chunks = plan_chunks(tasks, args.limit, args.num_fewshot, args.chunk_docs)
    chunks_dir = os.path.join(work, "lm_eval_chunks")
    if not args.reuse:
        docs, secs = run_lm_eval_chunks(args, tasks_dir, chunks_dir, chunks)
        timings.update(lm_eval_s=secs, lm_eval_docs=docs)
    missing = [k for k in range(len(chunks))
               if not os.path.isdir(os.path.join(chunks_dir, f"{k:05d}"))]
    if missing:
        sys.exit(f"{len(missing)} of {len(chunks)} lm-eval chunks have not run; "
                 "run the same command without --reuse")
    join_chunks(chunks_dir, chunks, tasks, groups, ref_dir)
    return timings


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
    ap.add_argument("--chunk-docs", type=int,
                    help="resumable run: lm-eval in chunks of at most N documents, "
                    "yardstick resuming from its store (see the module docstring)")
    ap.add_argument("--workers", type=int, default=1,
                    help="with --chunk-docs: reference servers (and lm-eval processes) "
                    "at once, on ports --port, --port+1, ...; --threads each")
    args = ap.parse_args()
    args.model = os.path.abspath(args.model)
    if args.chunk_docs is not None and args.chunk_docs < 1:
        sys.exit("--chunk-docs must be at least 1")
    if args.workers < 1 or (args.workers > 1 and args.chunk_docs is None):
        sys.exit("--workers N (N >= 1) needs --chunk-docs")

    work = args.work_dir or os.path.join(
        "/tmp/yardstick-parity", time.strftime("%Y%m%d-%H%M%S"))
    ref_dir, ys_dir = os.path.join(work, "lm_eval"), os.path.join(work, "yardstick")
    tasks_dir = os.path.join(work, "tasks")
    timings = {}
    if args.chunk_docs is not None:
        timings = run_chunked(args, work, tasks_dir, ref_dir, ys_dir)
    elif not args.reuse:
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
    if timings and args.chunk_docs is None:
        for side, key in (("lm-eval + server", "lm_eval_s"), ("yardstick", "yardstick_s")):
            s = timings[key]
            print(f"{side:<17} wall {s:8.1f} s  {n_docs / s:8.2f} docs/s  ({n_docs} docs)")
    elif timings.get("lm_eval_s"):
        # A resumed run did only part of the work now: no per-document rate.
        print(f"this invocation: yardstick {timings['yardstick_s']:.1f} s (what its store "
              f"did not hold), lm-eval {timings['lm_eval_docs']} docs in "
              f"{timings['lm_eval_s']:.1f} s on {args.workers} server(s)")
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
