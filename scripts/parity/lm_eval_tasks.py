#!/usr/bin/env python3
"""Write lm-eval's own task YAMLs, pointed at local data files, into a folder.

The parity run must evaluate lm-evaluation-harness's task definitions exactly as
shipped, but this machine cannot reach the Hugging Face hub. So for each task below
this script copies lm-eval's YAML (from the installed `lm_eval/tasks`) and changes only
the dataset source: `dataset_path: json` plus

    dataset_kwargs:
      data_files:
        <split>: <absolute path of a local JSON Lines file>

with `dataset_name` removed (the `json` builder has no configs). Every other line,
including `!function` hooks, is kept, and the Python modules the hooks name
(`utils.py`, `preprocess_winogrande.py`) are copied next to the YAML. Pass the folder
to lm-eval as `--include_path`: lm-eval 0.4.12 indexes its built-in tasks first and
include paths after, and a later definition of a name replaces the earlier one (it
logs "Task 'arc_easy' from ... overrides existing task from ..."), so the usual names
(`arc_easy`, `mmlu`, `mmlu_stem`, ...) resolve to these files. `--verify` loads every
task through lm-eval's TaskManager and checks that.

Tasks and local data (under --data-dir, default /work/shared/data):

  arc_easy, arc_challenge   hf/allenai/ai2_arc/ARC-{Easy,Challenge}/{test,validation}.jsonl
  hellaswag                 hellaswag/hellaswag_val.jsonl.gz (validation)
  mmlu (57 subjects + the mmlu group and its 4 category groups)
                            hf/cais/mmlu/<subject>/{test,dev}.jsonl
  truthfulqa_mc1, _mc2      hf/truthfulqa/truthful_qa/multiple_choice/validation.jsonl
  winogrande                winogrande/dev.jsonl (validation)
  gsm8k                     gsm8k/{train,test}.jsonl
  humaneval                 humaneval/HumanEval.jsonl.gz (test)
  mbpp                      mbpp/mbpp.jsonl: lm-eval reads the hub's
                            google-research-datasets/mbpp `full` config, test split =
                            task ids 11..510; the local file holds all 974 problems, so
                            the folder gets a copy of those 500 lines (byte-identical,
                            in file order) as its `test` file

No train split exists locally, but lm-eval's ARC, HellaSwag and WinoGrande YAMLs set
`training_split: train`, and lm-eval draws few-shot examples from the training split
(and opens it when the task loads). So, as yardstick's parity test does, the generated
folder gets a `train` file that is a byte copy of the validation split (HellaSwag's
decompressed first). Consequences, shared by both sides: 5-shot contexts are drawn
from validation documents, and for HellaSwag the evaluated document itself is in the
pool (lm-eval removes it, see README.md).

HumanEval's and MBPP's `utils.py` import HF `evaluate` and call
`evaluate.load("code_eval")` when they are imported, which downloads the metric from
the hub. `stub_code_eval()` puts a stand-in `evaluate` module into `sys.modules` first
(`--verify` and dump_prompts.py call it): enough to import the hooks and render
prompts; the pass@k metrics are not exercised and the stand-in refuses to compute them.

Usage:
    lm_eval_tasks.py OUT_DIR [--data-dir /work/shared/data] [--verify]
"""

import argparse
import gzip
import hashlib
import json
import os
import re
import shutil
import sys

import lm_eval

LM_EVAL_TASKS = os.path.join(os.path.dirname(lm_eval.__file__), "tasks")

MMLU_SUBJECTS = [
    "abstract_algebra", "anatomy", "astronomy", "business_ethics", "clinical_knowledge",
    "college_biology", "college_chemistry", "college_computer_science",
    "college_mathematics", "college_medicine", "college_physics", "computer_security",
    "conceptual_physics", "econometrics", "electrical_engineering",
    "elementary_mathematics", "formal_logic", "global_facts", "high_school_biology",
    "high_school_chemistry", "high_school_computer_science",
    "high_school_european_history", "high_school_geography",
    "high_school_government_and_politics", "high_school_macroeconomics",
    "high_school_mathematics", "high_school_microeconomics", "high_school_physics",
    "high_school_psychology", "high_school_statistics", "high_school_us_history",
    "high_school_world_history", "human_aging", "human_sexuality", "international_law",
    "jurisprudence", "logical_fallacies", "machine_learning", "management", "marketing",
    "medical_genetics", "miscellaneous", "moral_disputes", "moral_scenarios", "nutrition",
    "philosophy", "prehistory", "professional_accounting", "professional_law",
    "professional_medicine", "professional_psychology", "public_relations",
    "security_studies", "sociology", "us_foreign_policy", "virology", "world_religions",
]

# Task names this folder defines (leaf tasks; the mmlu groups come on top).
TASKS = ["arc_easy", "arc_challenge", "hellaswag", "truthfulqa_mc1", "truthfulqa_mc2",
         "winogrande", "gsm8k", "humaneval", "mbpp"] + [f"mmlu_{s}" for s in MMLU_SUBJECTS]
GROUPS = ["mmlu", "mmlu_stem", "mmlu_other", "mmlu_social_sciences", "mmlu_humanities"]

_KEY = r'^"?{}"?\s*:'


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def kwargs_block(data_files):
    """YAML for `dataset_kwargs: {data_files: {split: path}}` (paths JSON-quoted)."""
    lines = ["dataset_kwargs:", "  data_files:"]
    lines += [f"    {split}: {json.dumps(path)}" for split, path in data_files.items()]
    return lines


def rewrite(text, data_files=None, set_path=True):
    """lm-eval YAML text with only the dataset source changed.

    Drops the top-level `dataset_path` and `dataset_name` lines; where the first of
    them stood, writes `dataset_path: json` (if set_path) and the data_files block (if
    given). Fails if the file has neither key, so a changed upstream file is noticed.
    """
    out, placed = [], False
    for line in text.splitlines():
        if re.match(_KEY.format("dataset_(path|name)"), line):
            if not placed:
                if set_path:
                    out.append("dataset_path: json")
                if data_files:
                    out += kwargs_block(data_files)
                placed = True
            continue
        out.append(line)
    if not placed:
        raise ValueError("no dataset_path/dataset_name line to replace")
    if any(re.match(_KEY.format("dataset_kwargs"), line) for line in text.splitlines()):
        raise ValueError("file already has dataset_kwargs; merge by hand")
    return "\n".join(out) + "\n"


def header(src_rel):
    return (
        f"# lm-eval {lm_eval.__version__} lm_eval/tasks/{src_rel}, written by "
        "scripts/parity/lm_eval_tasks.py: only the dataset source changed (local files).\n"
    )


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def src(rel):
    with open(os.path.join(LM_EVAL_TASKS, rel), encoding="utf-8") as f:
        return f.read()


def copy_src(rel, dest):
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.copyfile(os.path.join(LM_EVAL_TASKS, rel), dest)


def need(path):
    if not os.path.isfile(path):
        sys.exit(f"missing data file {path}")
    return os.path.abspath(path)


def train_copy(source, dest):
    """A `train` split file that is a byte copy of `source` (decompressed if .gz)."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    opener = gzip.open if source.endswith(".gz") else open
    with opener(source, "rb") as fin, open(dest + ".partial", "wb") as fout:
        shutil.copyfileobj(fin, fout)
    os.replace(dest + ".partial", dest)
    return os.path.abspath(dest)


def stub_code_eval():
    """Install a stand-in HF `evaluate` module (see the module docstring).

    lm-eval's humaneval/mbpp `utils.py` run `evaluate.load("code_eval")` and one smoke
    test (`assert add(2, 3)==5`) at import; the stand-in answers that call and raises
    on any other, so a metric can never be computed with it by mistake.
    """
    import types

    smoke_test = ["assert add(2, 3)==5"]

    class CodeEvalStub:
        def compute(self, references, predictions, k=None, **kwargs):
            if references == smoke_test:
                return {f"pass@{i}": 0.0 for i in (k or [1])}, {}
            raise RuntimeError("evaluate stub (scripts/parity/lm_eval_tasks.py): "
                               "code_eval metrics are not available here")

    def load(path, *args, **kwargs):
        if path != "code_eval":
            raise RuntimeError(f"evaluate stub: cannot load {path!r}")
        return CodeEvalStub()

    module = types.ModuleType("evaluate")
    module.__doc__ = "Stand-in for HF evaluate: prompt dumping only, no metrics."
    module.load = load
    sys.modules["evaluate"] = module


def filtered_lines(source, dest, keep):
    """Write the JSON Lines of `source` whose parsed object satisfies `keep`, as bytes
    unchanged, to `dest`."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(source, "rb") as fin, open(dest + ".partial", "wb") as fout:
        for line in fin:
            if line.strip() and keep(json.loads(line)):
                fout.write(line)
    os.replace(dest + ".partial", dest)
    return os.path.abspath(dest)


def generate(out, data):
    out = os.path.abspath(out)
    files = {}

    # ARC: arc_challenge includes arc_easy.yaml and overrides dataset_name; here it
    # overrides dataset_kwargs instead (lm-eval merges included keys shallowly).
    for name, config in (("arc_easy", "ARC-Easy"), ("arc_challenge", "ARC-Challenge")):
        base = os.path.join(data, "hf/allenai/ai2_arc", config)
        df = {
            "train": train_copy(need(f"{base}/validation.jsonl"),
                                f"{out}/arc/{config}-train.jsonl"),
            "validation": need(f"{base}/validation.jsonl"),
            "test": need(f"{base}/test.jsonl"),
        }
        write(f"{out}/arc/{name}.yaml", header(f"arc/{name}.yaml")
              + rewrite(src(f"arc/{name}.yaml"), df, set_path=(name == "arc_easy")))
        files[name] = df

    # HellaSwag: the local file is rowanz/hellaswag's validation jsonl, the same fields
    # as the hub's Rowan/hellaswag (whose `label` is a string; here it is an int, which
    # renders identically through doc_to_target "{{label}}").
    val = need(os.path.join(data, "hellaswag/hellaswag_val.jsonl.gz"))
    df = {"train": train_copy(val, f"{out}/hellaswag/hellaswag-train.jsonl"), "validation": val}
    write(f"{out}/hellaswag/hellaswag.yaml",
          header("hellaswag/hellaswag.yaml") + rewrite(src("hellaswag/hellaswag.yaml"), df))
    copy_src("hellaswag/utils.py", f"{out}/hellaswag/utils.py")
    files["hellaswag"] = df

    # MMLU: the template names the hub path, each subject file its config; the four
    # category groups and the mmlu group are copied unchanged.
    tmpl = "mmlu/default/_default_template_yaml"
    write(f"{out}/mmlu/_default_template_yaml", header(tmpl) + rewrite(src(tmpl)))
    for g in ("_mmlu.yaml", "_mmlu_stem.yaml", "_mmlu_other.yaml",
              "_mmlu_social_sciences.yaml", "_mmlu_humanities.yaml"):
        copy_src(f"mmlu/default/{g}", f"{out}/mmlu/{g}")
    for s in MMLU_SUBJECTS:
        base = os.path.join(data, "hf/cais/mmlu", s)
        df = {"test": need(f"{base}/test.jsonl"), "dev": need(f"{base}/dev.jsonl")}
        rel = f"mmlu/default/mmlu_{s}.yaml"
        write(f"{out}/mmlu/mmlu_{s}.yaml",
              header(rel) + rewrite(src(rel), df, set_path=False))
        files[f"mmlu_{s}"] = df

    # TruthfulQA: mc2 includes mc1, so only mc1 changes.
    df = {"validation": need(os.path.join(
        data, "hf/truthfulqa/truthful_qa/multiple_choice/validation.jsonl"))}
    write(f"{out}/truthfulqa/truthfulqa_mc1.yaml", header("truthfulqa/truthfulqa_mc1.yaml")
          + rewrite(src("truthfulqa/truthfulqa_mc1.yaml"), df))
    copy_src("truthfulqa/truthfulqa_mc2.yaml", f"{out}/truthfulqa/truthfulqa_mc2.yaml")
    copy_src("truthfulqa/utils.py", f"{out}/truthfulqa/utils.py")
    files["truthfulqa_mc1"] = files["truthfulqa_mc2"] = df

    # WinoGrande: the local dev.jsonl is the hub's winogrande_xl validation split (the
    # same fields, `answer` a string "1"/"2"); there is no train split, as above.
    val = need(os.path.join(data, "winogrande/dev.jsonl"))
    df = {"train": train_copy(val, f"{out}/winogrande/winogrande-train.jsonl"),
          "validation": val}
    write(f"{out}/winogrande/default.yaml", header("winogrande/default.yaml")
          + rewrite(src("winogrande/default.yaml"), df))
    copy_src("winogrande/preprocess_winogrande.py", f"{out}/winogrande/preprocess_winogrande.py")
    files["winogrande"] = df

    # GSM8K: openai/grade-school-math's files, the hub's openai/gsm8k `main` columns.
    base = os.path.join(data, "gsm8k")
    df = {"train": need(f"{base}/train.jsonl"), "test": need(f"{base}/test.jsonl")}
    write(f"{out}/gsm8k/gsm8k.yaml",
          header("gsm8k/gsm8k.yaml") + rewrite(src("gsm8k/gsm8k.yaml"), df))
    files["gsm8k"] = df

    # HumanEval: openai/human-eval's file, the hub's openai/openai_humaneval columns.
    df = {"test": need(os.path.join(data, "humaneval/HumanEval.jsonl.gz"))}
    write(f"{out}/humaneval/humaneval.yaml",
          header("humaneval/humaneval.yaml") + rewrite(src("humaneval/humaneval.yaml"), df))
    copy_src("humaneval/utils.py", f"{out}/humaneval/utils.py")
    files["humaneval"] = df

    # MBPP: the hub's `full` test split is task ids 11..510 (README_mbpp.md: test
    # 11-510, prompt 1-10, validation 511-600, train 601-974), in task id order.
    df = {"test": filtered_lines(need(os.path.join(data, "mbpp/mbpp.jsonl")),
                                 f"{out}/mbpp/mbpp-test.jsonl",
                                 lambda doc: 11 <= doc["task_id"] <= 510)}
    write(f"{out}/mbpp/mbpp.yaml",
          header("mbpp/mbpp.yaml") + rewrite(src("mbpp/mbpp.yaml"), df))
    copy_src("mbpp/utils.py", f"{out}/mbpp/utils.py")
    files["mbpp"] = df

    manifest = {
        "lm_eval": lm_eval.__version__,
        "generator": "scripts/parity/lm_eval_tasks.py",
        "data_dir": os.path.abspath(data),
        "data_files": {
            task: {split: {"path": p, "sha256": sha256_file(p)} for split, p in df.items()}
            for task, df in files.items()
        },
    }
    write(f"{out}/manifest.json", json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return out


def verify(out):
    """Load every task and group through lm-eval's TaskManager with this include path;
    check each resolves to a file in `out` and reads local data."""
    from lm_eval.tasks import TaskManager

    stub_code_eval()
    tm = TaskManager(include_path=out)
    bad = []
    for name in TASKS + GROUPS:
        entry = tm.task_index.get(name)
        if entry is None or entry.yaml_path is None or not str(entry.yaml_path).startswith(out):
            bad.append(f"{name}: {entry.yaml_path if entry else 'not indexed'}")
    if bad:
        sys.exit("tasks not taken from the include path:\n  " + "\n  ".join(bad))
    loaded = tm.load(["arc_easy", "arc_challenge", "hellaswag", "truthfulqa_mc1",
                      "truthfulqa_mc2", "winogrande", "gsm8k", "humaneval", "mbpp",
                      "mmlu"])
    for name, task in sorted(loaded["tasks"].items()):
        assert task.config.dataset_path == "json", (name, task.config.dataset_path)
        n = len(list(task.eval_docs))
        print(f"  {name}: {n} docs", file=sys.stderr)
    print(f"verified {len(loaded['tasks'])} tasks, groups {sorted(loaded.get('groups', {}))}",
          file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="folder to write (created; files in it are replaced)")
    ap.add_argument("--data-dir", default="/work/shared/data")
    ap.add_argument("--verify", action="store_true",
                    help="load every task through lm-eval's TaskManager afterwards")
    args = ap.parse_args()
    out = generate(args.out, args.data_dir)
    print(f"wrote lm-eval {lm_eval.__version__} task files to {out}", file=sys.stderr)
    if args.verify:
        verify(out)


if __name__ == "__main__":
    main()
