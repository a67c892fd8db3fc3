#!/usr/bin/env python3
"""Dump lm-eval's requests for two of its own task YAMLs (sciq, piqa) on small local data.

The fixture behind `crates/yardstick-tasks/tests/lm_eval_yamls.rs`: lm-eval 0.4.12's
`sciq/sciq.yaml` and `piqa/piqa.yaml`, tasks yardstick does not ship, must run
unchanged in yardstick and render the prompts lm-eval renders. Their data are small
hand-written files in the hub's schema under

    tests/fixtures/lm_eval_yamls/data/hf/allenai/sciq/default/{train,test}.jsonl
    tests/fixtures/lm_eval_yamls/data/hf/baber/piqa/default/{train,validation}.jsonl

(where yardstick looks up `dataset_path: allenai/sciq` / `baber/piqa` with
`dataset_name: null`). lm-eval cannot read that layout, so this script writes, into a
temporary include folder, copies of the two YAMLs (`tests/fixtures/lm_eval_yamls/*.yaml`,
byte copies of lm-eval's) in which ONLY the data source changes:

    dataset_path: json
    dataset_kwargs:
      data_files:
        <split>: <absolute path of the fixture file>

with the `dataset_name` line removed; every other line is kept (checked: the parsed
YAML equals the original apart from those three keys).

Requests are built the way lm-eval 0.4.12's `simple_evaluate` + `evaluate` build them
without a model and without a chat template: `random.seed(0)`, `numpy.random.seed(1234)`,
`TaskManager(include_path=<folder>)` and `task_manager.load([...])` (what
`simple_evaluate` calls), the num_fewshot override rule, `set_fewshot_seed(1234)`, then
`task.build_all_requests(limit=None, samples=None, rank=0, world_size=1, ...)` with the
keyword arguments `evaluate` passes. Each (task, num_fewshot) is loaded fresh, as in a
run of that task alone.

Output (JSON Lines, ASCII, deterministic: rerunning gives identical bytes): a header
line {"lm_eval", "generator", "seeds", "yaml_sha256", "data_sha256"}, then one line per
document per task per shot count:

    {"task", "num_fewshot", "doc_id", "arguments": [[context, continuation], ...]
     (Instance.arguments in request order), "target" (doc_to_target as lm-eval logs
     it), "gold" (the choice index lm-eval's process_results scores against)}

Usage (with the reference venv's python, from the repository root):
    ~/.cache/yardstick/reference-venv/bin/python scripts/parity/dump_yaml_prompts.py \
        [--out tests/fixtures/lm_eval_yamls/prompts.jsonl] [--shots 0,3]
"""

import argparse
import hashlib
import json
import os
import random
import re
import sys
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FIXTURE = os.path.join(REPO, "tests", "fixtures", "lm_eval_yamls")

# task -> (YAML file in FIXTURE, {split: data file relative to FIXTURE/data}).
TASKS = {
    "piqa": ("piqa.yaml", {
        "train": "hf/baber/piqa/default/train.jsonl",
        "validation": "hf/baber/piqa/default/validation.jsonl",
    }),
    "sciq": ("sciq.yaml", {
        "train": "hf/allenai/sciq/default/train.jsonl",
        "test": "hf/allenai/sciq/default/test.jsonl",
    }),
}
RANDOM_SEED, NUMPY_SEED, FEWSHOT_SEED = 0, 1234, 1234  # lm-eval's defaults

_KEY = r'^"?{}"?\s*:'


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def rewrite(text, data_files):
    """The YAML text with only the data source changed (see the module docstring)."""
    lines = text.splitlines()
    if any(re.match(_KEY.format("dataset_kwargs"), line) for line in lines):
        raise ValueError("file already has dataset_kwargs; merge by hand")
    out, placed = [], False
    for line in lines:
        if re.match(_KEY.format("dataset_(path|name)"), line):
            if not placed:
                out.append("dataset_path: json")
                out += ["dataset_kwargs:", "  data_files:"]
                out += [f"    {split}: {json.dumps(path)}" for split, path in data_files.items()]
                placed = True
            continue
        out.append(line)
    if not placed:
        raise ValueError("no dataset_path/dataset_name line to replace")
    return "\n".join(out) + "\n"


def check_only_source_changed(original, rewritten, data_files):
    import yaml

    a, b = yaml.safe_load(original), yaml.safe_load(rewritten)
    assert b.pop("dataset_path") == "json"
    assert b.pop("dataset_kwargs") == {"data_files": data_files}
    a.pop("dataset_path")
    a.pop("dataset_name", None)
    assert a == b, "the rewritten YAML differs from lm-eval's beyond the data source"


def write_include_folder(folder):
    """The rewritten YAMLs in `folder`; returns the sha256 of sources and data."""
    yaml_sha, data_sha = {}, {}
    for task, (yaml_name, splits) in TASKS.items():
        src = os.path.join(FIXTURE, yaml_name)
        with open(src, encoding="utf-8") as f:
            original = f.read()
        data_files = {s: os.path.join(FIXTURE, "data", rel) for s, rel in splits.items()}
        for path in data_files.values():
            if not os.path.isfile(path):
                sys.exit(f"missing data file {path}")
        text = rewrite(original, data_files)
        check_only_source_changed(original, text, data_files)
        os.makedirs(os.path.join(folder, task))
        with open(os.path.join(folder, task, yaml_name), "w", encoding="utf-8") as f:
            f.write(text)
        yaml_sha[yaml_name] = sha256_file(src)
        data_sha.update({rel: sha256_file(data_files[s]) for s, rel in splits.items()})
    return yaml_sha, data_sha


def build(folder, task_name, num_fewshot):
    """Fixture records for `task_name` at `num_fewshot`, lm-eval's way."""
    from dump_prompts import build_requests, gold_index
    import numpy as np
    from lm_eval.tasks import TaskManager

    random.seed(RANDOM_SEED)
    np.random.seed(NUMPY_SEED)
    tm = TaskManager(include_path=folder)
    entry = tm.task_index.get(task_name)
    assert entry is not None and str(entry.yaml_path).startswith(folder), (
        f"{task_name} not taken from the include folder: {entry}")
    loaded = tm.load([task_name])
    task = loaded["tasks"][task_name]
    assert task.config.dataset_path == "json", task.config.dataset_path
    build_requests(task, num_fewshot, limit=None)
    assert task.get_config("num_fewshot") == num_fewshot
    by_doc = {}
    for inst in task.instances:
        by_doc.setdefault(inst.doc_id, []).append(inst)
    assert sorted(by_doc) == list(range(len(task.eval_docs))), "not every document built"
    for doc_id in sorted(by_doc):
        insts = sorted(by_doc[doc_id], key=lambda x: x.idx)
        doc = insts[0].doc
        yield {
            "task": task_name,
            "num_fewshot": num_fewshot,
            "doc_id": doc_id,
            "arguments": [list(i.arguments) for i in insts],
            "target": task.doc_to_target(doc),
            "gold": gold_index(task, doc),
        }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(FIXTURE, "prompts.jsonl"))
    ap.add_argument("--shots", default="0,3")
    args = ap.parse_args()
    shots = [int(s) for s in args.shots.split(",")]

    with tempfile.TemporaryDirectory(prefix="lm_eval_yamls-") as tmp:
        # A fresh datasets cache, so nothing cached from other runs is read, and no hub.
        os.environ["HF_DATASETS_CACHE"] = os.path.join(tmp, "hf-datasets-cache")
        os.environ["HF_DATASETS_OFFLINE"] = "1"
        os.environ["HF_HUB_OFFLINE"] = "1"
        import lm_eval

        folder = os.path.join(tmp, "tasks")
        yaml_sha, data_sha = write_include_folder(folder)
        header = {
            "lm_eval": lm_eval.__version__,
            "generator": "scripts/parity/dump_yaml_prompts.py --shots " + args.shots,
            "seeds": {"random": RANDOM_SEED, "numpy": NUMPY_SEED, "fewshot": FEWSHOT_SEED},
            "yaml_sha256": yaml_sha,
            "data_sha256": data_sha,
        }
        lines = [json.dumps(header, ensure_ascii=True, sort_keys=True)]
        for task_name in sorted(TASKS):
            for k in shots:
                n = 0
                for rec in build(folder, task_name, k):
                    lines.append(json.dumps(rec, ensure_ascii=True))
                    n += 1
                print(f"{task_name} num_fewshot={k}: {n} documents", file=sys.stderr)

    raw = ("\n".join(lines) + "\n").encode("ascii")
    tmp_out = args.out + ".partial"
    with open(tmp_out, "wb") as f:
        f.write(raw)
    os.replace(tmp_out, args.out)
    print(f"wrote {args.out}: {len(lines) - 1} records, {len(raw)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
