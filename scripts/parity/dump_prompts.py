#!/usr/bin/env python3
"""Dump lm-eval's rendered requests (contexts, continuations, generation settings) as a fixture.

Two fixtures, chosen by --fixture; for the first --limit documents (default 50) of each
task this builds the requests with lm-evaluation-harness's own code, the way `lm_eval
run` builds them, and writes one JSON line per document:

  multiple-choice (default; tests/fixtures/prompts/lm_eval-prompts.jsonl.gz): ARC,
  HellaSwag, TruthfulQA mc1/mc2, WinoGrande and the 57 MMLU subjects, 0-shot and 5-shot

    {"task", "num_fewshot" (asked), "effective_num_fewshot" (what lm-eval used),
     "doc_id", "arguments": [[context, continuation], ...] (Instance.arguments, in
     request order), "target" (doc_to_target, as lm-eval logs it), "gold" (the gold
     choice index that lm-eval's process_results scores against), "doc_hash"}

  generate (tests/fixtures/prompts/lm_eval-generate-prompts.jsonl.gz): generate_until
  tasks, gsm8k 0-shot and 5-shot, humaneval 0-shot and mbpp 3-shot (their defaults;
  MBPP's examples are its `utils.list_fewshot_samples`, sampler first_n)

    {"task", "num_fewshot", "effective_num_fewshot", "doc_id", "context" and
     "gen_kwargs" (Instance.arguments of the one generate_until request: the prompt and
     the generation_kwargs dict, which lm-eval logs as arg_0 and arg_1), "target",
     "doc_hash"}

--tasks and --shots replace the fixture's task list (task or group names, each run at
every shot count). Which record a task gets follows its output_type.

`doc_hash` is lm-eval's samples-file hash of the processed document, so a test can
also check which document sits at each doc_id. The first line is a header with the
lm-eval version, the generator command and the sha256 of the data files behind the
tasks dumped (from the task folder's manifest).

How the requests are built (lm-eval 0.4.12's `simple_evaluate` + `evaluate`, step by
step, without a model): `random.seed(0)` and `numpy.random.seed(1234)` (its default
random_seed / numpy_random_seed), a `TaskManager` whose include path is the folder
written by `lm_eval_tasks.py` (lm-eval's task files pointed at the local data), the
num_fewshot override rule (a task whose YAML says `num_fewshot: 0`, TruthfulQA and
HumanEval, keeps 0), `set_fewshot_seed(1234)`, then `task.build_all_requests(limit=...,
rank=0, world_size=1, ...)` with the arguments `evaluate` passes when no chat template
is used. Each (task set, num_fewshot) is loaded fresh, so every task's few-shot RNG
starts at its seed, as in a run of that task alone; the sampler draws for documents in
order, so the first 50 documents' contexts are the same whatever --limit a run uses.

HumanEval's and MBPP's hook modules import HF `evaluate` and load its `code_eval`
metric from the hub at import time. This script only renders prompts, so before
lm-eval loads any task it installs a stand-in `evaluate` module
(`lm_eval_tasks.stub_code_eval`): the metrics are not exercised.

Output: gzip with mtime 0 and no file name in the header, so reruns are
byte-identical.

Usage:
    dump_prompts.py --tasks-dir DIR [--fixture multiple-choice|generate] [--out FILE]
                    [--limit 50] [--shots 0,5 --tasks arc_easy,...]
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
# --fixture: the default output file, the (task names, shot counts) runs in order, and
# the header's note on the task files.
FIXTURES = {
    "multiple-choice": {
        "out": "tests/fixtures/prompts/lm_eval-prompts.jsonl.gz",
        "runs": [(DEFAULT_TASKS, [0, 5])],
        "task_files": "lm-eval's own YAMLs with local data files "
                      "(scripts/parity/lm_eval_tasks.py); "
                      "train split = copy of validation for arc_*, hellaswag, winogrande",
    },
    "generate": {
        "out": "tests/fixtures/prompts/lm_eval-generate-prompts.jsonl.gz",
        "runs": [(["gsm8k"], [0, 5]), (["humaneval"], [0]), (["mbpp"], [3])],
        "task_files": "lm-eval's own YAMLs with local data files "
                      "(scripts/parity/lm_eval_tasks.py); mbpp test split = task ids "
                      "11..510 of mbpp.jsonl (the hub's `full` test split); HF evaluate "
                      "stubbed (code_eval metrics not exercised)",
    },
}
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


def record(task, name, num_fewshot, doc_id, insts):
    """The fixture line for one document's requests (see the module docstring)."""
    doc = insts[0].doc
    rec = {
        "task": name,
        "num_fewshot": num_fewshot,
        "effective_num_fewshot": task.get_config("num_fewshot"),
        "doc_id": doc_id,
    }
    if task.OUTPUT_TYPE == "generate_until":
        (inst,) = insts
        context, gen_kwargs = inst.arguments
        rec.update(context=context, gen_kwargs=gen_kwargs, target=task.doc_to_target(doc))
    elif task.OUTPUT_TYPE == "multiple_choice":
        rec.update(arguments=[list(i.arguments) for i in insts],
                   target=task.doc_to_target(doc), gold=gold_index(task, doc))
    else:
        raise ValueError(f"{name}: output_type {task.OUTPUT_TYPE} not supported")
    rec["doc_hash"] = hash_string(json.dumps(
        doc, indent=2, default=handle_non_serializable, ensure_ascii=False))
    return rec


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
            yield record(task, name, num_fewshot, doc_id, insts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks-dir", required=True,
                    help="folder for lm_eval_tasks.py's task files (written if missing)")
    ap.add_argument("--data-dir", default="/work/shared/data")
    ap.add_argument("--fixture", choices=sorted(FIXTURES), default="multiple-choice",
                    help="which fixture: its tasks, shot counts and default --out")
    ap.add_argument("--out", help="default: the fixture's file under tests/fixtures/prompts")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--shots", help="shot counts for --tasks (default 0,5)")
    ap.add_argument("--tasks", help="task or group names (mmlu = its 57 subjects), "
                                    "instead of the fixture's")
    args = ap.parse_args()
    fixture = FIXTURES[args.fixture]
    out = args.out or fixture["out"]

    manifest_path = os.path.join(args.tasks_dir, "manifest.json")
    if not os.path.isfile(manifest_path):
        lm_eval_tasks.generate(args.tasks_dir, args.data_dir)
    with open(manifest_path) as f:
        manifest = json.load(f)

    generator = f"scripts/parity/dump_prompts.py --tasks-dir DIR --limit {args.limit}"
    if args.tasks or args.shots or args.fixture == "multiple-choice":
        tasks = args.tasks or ",".join(DEFAULT_TASKS)
        shots = args.shots or "0,5"
        runs = [([t for t in tasks.split(",") if t], [int(k) for k in shots.split(",")])]
        generator += f" --shots {shots} --tasks {tasks}"
    else:
        runs = fixture["runs"]
    if args.fixture != "multiple-choice":
        generator += f" --fixture {args.fixture}"

    # HumanEval's and MBPP's hooks import HF evaluate (see the module docstring).
    lm_eval_tasks.stub_code_eval()
    lines, dumped = [], set()
    for task_names, shots in runs:
        for k in shots:
            for rec in build(os.path.abspath(args.tasks_dir), task_names, k, args.limit):
                lines.append(json.dumps(rec, ensure_ascii=True))
                dumped.add(rec["task"])
            print(f"{','.join(task_names)} num_fewshot={k}: {len(lines)} records so far",
                  file=sys.stderr)

    # Paths in the manifest depend on where the folder lives; the hashes do not.
    data_files = {
        t: {s: v["sha256"] for s, v in splits.items()}
        for t, splits in manifest["data_files"].items() if t in dumped
    }
    missing = dumped - set(data_files)
    if missing:
        sys.exit(f"tasks not written by lm_eval_tasks.py: {sorted(missing)}; "
                 f"regenerate {args.tasks_dir}")
    header = {
        "lm_eval": lm_eval.__version__,
        "generator": generator,
        "task_files": fixture["task_files"],
        "seeds": {"random": RANDOM_SEED, "numpy": NUMPY_SEED, "fewshot": FEWSHOT_SEED},
        "limit": args.limit,
        "data_sha256": data_files,
    }
    buf = io.StringIO()
    buf.write(json.dumps(header, ensure_ascii=True, sort_keys=True) + "\n")
    for line in lines:
        buf.write(line + "\n")
    n = len(lines)

    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    raw = buf.getvalue().encode("ascii")
    tmp = out + ".partial"
    with open(tmp, "wb") as f:
        # filename="" and mtime=0: no name or time in the gzip header -> deterministic.
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
            gz.write(raw)
    os.replace(tmp, out)
    print(f"wrote {out}: {n} records, {len(raw)} bytes raw, "
          f"{os.path.getsize(out)} bytes gzipped", file=sys.stderr)


if __name__ == "__main__":
    main()
