#!/usr/bin/env python3
"""Dump lm-eval's rendered requests (every context and continuation) as a fixture.

For each task, for the first --limit documents (default 50), 0-shot and 5-shot, this
builds the requests with lm-evaluation-harness's own code, the way `lm_eval run`
builds them, and writes one JSON line per document:

    {"task", "num_fewshot" (asked), "effective_num_fewshot" (what lm-eval used),
     "doc_id", "arguments": [[context, continuation], ...] (Instance.arguments, in
     request order), "target" (doc_to_target, as lm-eval logs it), "gold" (the gold
     choice index that lm-eval's process_results scores against), "doc_hash"}

`doc_hash` is lm-eval's samples-file hash of the processed document, so a test can
also check which document sits at each doc_id. The first line is a header with the
lm-eval version, the generator command and the task-folder manifest (data files and
their sha256).

How the requests are built (lm-eval 0.4.12's `simple_evaluate` + `evaluate`, step by
step, without a model): `random.seed(0)` and `numpy.random.seed(1234)` (its default
random_seed / numpy_random_seed), a `TaskManager` whose include path is the folder
written by `lm_eval_tasks.py` (lm-eval's task files pointed at the local data), the
num_fewshot override rule (a task whose YAML says `num_fewshot: 0`, TruthfulQA, keeps
0), `set_fewshot_seed(1234)`, then `task.build_all_requests(limit=..., rank=0,
world_size=1, ...)` with the arguments `evaluate` passes when no chat template is used.
Each (task set, num_fewshot) is loaded fresh, so every task's few-shot RNG starts at
its seed, as in a run of that task alone; the sampler draws for documents in order,
so the first 50 documents' contexts are the same whatever --limit a run uses.

Output: gzip with mtime 0 and no file name in the header, so reruns are
byte-identical.

Usage:
    dump_prompts.py --tasks-dir DIR [--out tests/fixtures/prompts/lm_eval-prompts.jsonl.gz]
                    [--limit 50] [--shots 0,5] [--tasks arc_easy,...]
"""

import argparse
import gzip
import io
import json
import os
import random
import sys

import numpy as np

import lm_eval
from lm_eval.tasks import TaskManager
from lm_eval.utils import handle_non_serializable, hash_string

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lm_eval_tasks  # noqa: E402  (the task list and the folder writer)

DEFAULT_TASKS = ["arc_easy", "arc_challenge", "hellaswag", "truthfulqa_mc1",
                 "truthfulqa_mc2", "winogrande", "mmlu"]
RANDOM_SEED, NUMPY_SEED, FEWSHOT_SEED = 0, 1234, 1234  # lm-eval's defaults


def gold_index(task, doc):
    """The gold index as lm-eval's multiple_choice process_results derives it."""
    gold = task.doc_to_text(doc) if task.multiple_input else task.doc_to_target(doc)
    choices = task.doc_to_choice(doc)
    if isinstance(gold, int):
        gold = gold if gold < len(choices) else -100
    elif isinstance(gold, str):
        gold = choices.index(gold) if gold in choices else -100
    return gold


def build_requests(task, num_fewshot, limit):
    """Build a loaded task's requests as simple_evaluate + evaluate do without a chat
    template: a YAML `num_fewshot: 0` is never overridden, the few-shot sampler is seeded,
    then build_all_requests with evaluate()'s arguments."""
    if task.get_config("num_fewshot") != 0:
        task.set_config(key="num_fewshot", value=num_fewshot)
    task.set_fewshot_seed(seed=FEWSHOT_SEED)
    task.build_all_requests(
        limit=limit,
        samples=None,
        rank=0,
        world_size=1,
        cache_requests=False,
        rewrite_requests_cache=False,
        system_instruction=None,
        apply_chat_template=False,
        fewshot_as_multiturn=False,
        chat_template=None,
        tokenizer_name="",
    )


def build(tasks_dir, task_names, num_fewshot, limit):
    """Yield fixture records for `task_names` at `num_fewshot`, lm-eval's way."""
    random.seed(RANDOM_SEED)
    np.random.seed(NUMPY_SEED)
    tm = TaskManager(include_path=tasks_dir)
    loaded = tm.load(task_names)
    for name in sorted(loaded["tasks"]):
        task = loaded["tasks"][name]
        build_requests(task, num_fewshot, limit)
        by_doc = {}
        for inst in task.instances:
            by_doc.setdefault(inst.doc_id, []).append(inst)
        for doc_id in sorted(by_doc):
            insts = sorted(by_doc[doc_id], key=lambda x: x.idx)
            doc = insts[0].doc
            target = task.doc_to_target(doc)
            yield {
                "task": name,
                "num_fewshot": num_fewshot,
                "effective_num_fewshot": task.get_config("num_fewshot"),
                "doc_id": doc_id,
                "arguments": [list(i.arguments) for i in insts],
                "target": target,
                "gold": gold_index(task, doc),
                "doc_hash": hash_string(json.dumps(
                    doc, indent=2, default=handle_non_serializable, ensure_ascii=False)),
            }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks-dir", required=True,
                    help="folder for lm_eval_tasks.py's task files (written if missing)")
    ap.add_argument("--data-dir", default="/work/shared/data")
    ap.add_argument("--out", default="tests/fixtures/prompts/lm_eval-prompts.jsonl.gz")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--shots", default="0,5")
    ap.add_argument("--tasks", default=",".join(DEFAULT_TASKS),
                    help="task or group names (mmlu = its 57 subjects)")
    args = ap.parse_args()

    manifest_path = os.path.join(args.tasks_dir, "manifest.json")
    if not os.path.isfile(manifest_path):
        lm_eval_tasks.generate(args.tasks_dir, args.data_dir)
    with open(manifest_path) as f:
        manifest = json.load(f)
    # Paths in the manifest depend on where the folder lives; the hashes do not.
    data_files = {
        t: {s: v["sha256"] for s, v in splits.items()}
        for t, splits in manifest["data_files"].items()
    }

    task_names = [t for t in args.tasks.split(",") if t]
    shots = [int(s) for s in args.shots.split(",")]
    header = {
        "lm_eval": lm_eval.__version__,
        "generator": "scripts/parity/dump_prompts.py --tasks-dir DIR "
                     f"--limit {args.limit} --shots {args.shots} --tasks {args.tasks}",
        "task_files": "lm-eval's own YAMLs with local data files (scripts/parity/lm_eval_tasks.py); "
                      "train split = copy of validation for arc_*, hellaswag, winogrande",
        "seeds": {"random": RANDOM_SEED, "numpy": NUMPY_SEED, "fewshot": FEWSHOT_SEED},
        "limit": args.limit,
        "data_sha256": data_files,
    }

    buf = io.StringIO()
    buf.write(json.dumps(header, ensure_ascii=True, sort_keys=True) + "\n")
    n = 0
    for k in shots:
        for rec in build(os.path.abspath(args.tasks_dir), task_names, k, args.limit):
            buf.write(json.dumps(rec, ensure_ascii=True) + "\n")
            n += 1
        print(f"num_fewshot={k}: {n} records so far", file=sys.stderr)

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    raw = buf.getvalue().encode("ascii")
    tmp = args.out + ".partial"
    with open(tmp, "wb") as f:
        # filename="" and mtime=0: no name or time in the gzip header -> deterministic.
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
            gz.write(raw)
    os.replace(tmp, args.out)
    print(f"wrote {args.out}: {n} records, {len(raw)} bytes raw, "
          f"{os.path.getsize(args.out)} bytes gzipped", file=sys.stderr)


if __name__ == "__main__":
    main()
