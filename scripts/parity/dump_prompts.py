#!/usr/bin/env python3
"""Dump lm-eval's rendered requests (contexts, continuations, generation settings) as a fixture.

Three fixtures, chosen by --fixture; for the first --limit documents (default 50) of each
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

  chat (tests/fixtures/prompts/lm_eval-chat-prompts.jsonl.gz): the same requests built
  with `apply_chat_template=True`, for every chat template of CHAT_TEMPLATES (each GGUF's
  `tokenizer.chat_template`, and two test templates in chat_templates/) and every mode of
  CHAT_MODES (single-turn; fewshot_as_multiturn; fewshot_as_multiturn with
  system_instruction), on arc_easy 0- and 3-shot, mmlu_abstract_algebra 2-shot,
  winogrande 2-shot and gsm8k 3-shot, first 10 documents. Each record is a record of
  the kind above, led by "model" (the template's key in the header) and with
  "fewshot_as_multiturn" and "system_instruction" after "effective_num_fewshot". Where
  the template raised (`raise_exception`, a jinja2 TemplateError), the record has
  "error" (the message) instead of "arguments" / "context". The header adds "models"
  (per GGUF: its sha256, `tokenizer.chat_template` or null, that text's sha256, and the
  special tokens) and "templates" (per key: "source", "sha256", "special_tokens",
  "from"), plus the transformers and jinja2 versions.

  The chat_template callable is Hugging Face's own `apply_chat_template(messages,
  tokenize=False, add_generation_prompt=..., continue_final_message=not
  add_generation_prompt)`, called as lm-eval's API models call it, on a tokenizer that
  holds only the template and the GGUF's `bos_token` / `eos_token` (the text of
  tokenizer.ggml.bos_token_id / eos_token_id, read with llama-cpp-python's
  `Llama(path, vocab_only=True)`), so transformers' jinja environment
  (sandbox, trim_blocks, lstrip_blocks, loopcontrols, its tojson, raise_exception,
  strftime_now) renders it. lm-eval's `HFLM.apply_chat_template` would, on a
  TemplateError, retry without the system message; its API models do not, and neither
  does this callable: the fixture records the error. The chat fixture needs
  transformers in the venv (`pip install transformers`; made with 5.24.0, no torch).

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
rank=0, world_size=1, ...)` with the arguments `evaluate` passes (no chat template, or
for the chat fixture `apply_chat_template=True`, `fewshot_as_multiturn`,
`system_instruction` and the chat_template callable). Each (task set, num_fewshot, chat
setting) is loaded fresh from one task index, so every task's few-shot RNG starts at
its seed, as in a run of that task alone; the sampler draws for documents in order, so
the first 50 documents' contexts are the same whatever --limit a run uses. (The chat
template is applied after the few-shot draws, so a template that raises leaves the
other documents' examples unchanged.)

HumanEval's and MBPP's hook modules import HF `evaluate` and load its `code_eval`
metric from the hub at import time. This script only renders prompts, so before
lm-eval loads any task it installs a stand-in `evaluate` module
(`lm_eval_tasks.stub_code_eval`): the metrics are not exercised.

Output: gzip with mtime 0 and no file name in the header, so reruns are
byte-identical.

Usage:
    dump_prompts.py --tasks-dir DIR [--fixture multiple-choice|generate|chat] [--out FILE]
                    [--limit 50 (chat: 10)] [--shots 0,5 --tasks arc_easy,...]
                    [--models-dir ~/.cache/yardstick/models (chat)]
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import sys
from dataclasses import dataclass
from functools import lru_cache

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
    "chat": {
        "out": "tests/fixtures/prompts/lm_eval-chat-prompts.jsonl.gz",
        "runs": [(["arc_easy"], [0, 3]), (["mmlu_abstract_algebra"], [2]),
                 (["winogrande"], [2]), (["gsm8k"], [3])],
        "limit": 10,
        "task_files": "lm-eval's own YAMLs with local data files "
                      "(scripts/parity/lm_eval_tasks.py); "
                      "train split = copy of validation for arc_*, winogrande",
    },
}
RANDOM_SEED, NUMPY_SEED, FEWSHOT_SEED = 0, 1234, 1234  # lm-eval's defaults

# The chat fixture's GGUF files (under --models-dir), and its templates by key: a GGUF's
# own tokenizer.chat_template (skipped when the GGUF has none: the header's "models"
# records null), or a test template from chat_templates/ with a GGUF's special tokens.
CHAT_MODELS = ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"]
CHAT_TEMPLATES = {
    "SmolLM2-135M-Instruct.Q4_1.gguf": ("SmolLM2-135M-Instruct.Q4_1.gguf", None),
    "gemma-3-270m-q4_k_m.gguf": ("gemma-3-270m-q4_k_m.gguf", None),
    "fold_system": ("gemma-3-270m-q4_k_m.gguf", "chat_templates/fold_system.jinja"),
    "no_system": ("gemma-3-270m-q4_k_m.gguf", "chat_templates/no_system.jinja"),
}
SYSTEM_INSTRUCTION = "You are a careful grader."
# (fewshot_as_multiturn, system_instruction)
CHAT_MODES = [(False, None), (True, None), (True, SYSTEM_INSTRUCTION)]


class TemplateRaised(str):
    """What the chat_template callable returns where the template raised: lm-eval puts it
    where the rendered context would go, and record() writes the message as "error"."""


class HFChatTemplate:
    """lm-eval's chat_template callable, `apply_chat_template(chat_history,
    add_generation_prompt=True)`, as its API models define it: Hugging Face's
    `tokenizer.apply_chat_template(..., tokenize=False, continue_final_message=not
    add_generation_prompt)`. The tokenizer holds only the template and the special
    tokens; rendering never tokenizes. A TemplateError comes back as TemplateRaised,
    so the other documents are still built (the few-shot draws come before rendering)."""

    def __init__(self, source, special_tokens):
        from tokenizers import Tokenizer, models
        from transformers import PreTrainedTokenizerFast

        self.tokenizer = PreTrainedTokenizerFast(
            tokenizer_object=Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>")),
            chat_template=source, **dict(special_tokens))
        assert self.tokenizer.special_tokens_map == dict(special_tokens), \
            self.tokenizer.special_tokens_map

    def __call__(self, chat_history, add_generation_prompt=True):
        import jinja2

        try:
            return self.tokenizer.apply_chat_template(
                chat_history, tokenize=False, add_generation_prompt=add_generation_prompt,
                continue_final_message=not add_generation_prompt)
        except jinja2.exceptions.TemplateError as e:
            return TemplateRaised(str(e))


@dataclass(frozen=True)
class Chat:
    """One chat setting of the requests: which template, and lm-eval's chat flags."""
    model: str  # the template's key in the header
    template: HFChatTemplate
    fewshot_as_multiturn: bool
    system_instruction: str | None


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def gguf_chat_info(path):
    """A GGUF's `tokenizer.chat_template` (None when absent) and the special tokens a
    chat template sees: the text of tokenizer.ggml.bos_token_id / eos_token_id."""
    import llama_cpp

    llm = llama_cpp.Llama(path, vocab_only=True, verbose=False)
    meta = llm.metadata
    special = [(name, llm._model.token_get_text(int(meta[f"tokenizer.ggml.{key}"])))
               for name, key in (("bos_token", "bos_token_id"), ("eos_token", "eos_token_id"))]
    return meta.get("tokenizer.chat_template") or None, special


def chat_settings(models_dir):
    """The header's "models" and "templates", and the Chat settings to build, in order."""
    models = {}
    for name in CHAT_MODELS:
        path = os.path.join(models_dir, name)
        if not os.path.isfile(path):
            sys.exit(f"{path} missing: run scripts/setup.sh (it fetches the demo models)")
        source, special = gguf_chat_info(path)
        models[name] = {
            "gguf_sha256": sha256_file(path),
            "chat_template": source,
            "chat_template_sha256": source and hashlib.sha256(source.encode()).hexdigest(),
            "special_tokens": special,
        }
    templates, chats = {}, []
    for key, (gguf, template_file) in CHAT_TEMPLATES.items():
        if template_file is None:
            source = models[gguf]["chat_template"]
            origin = f"{gguf}: tokenizer.chat_template"
            if source is None:
                continue  # no template, nothing to render
        else:
            with open(os.path.join(HERE, template_file), encoding="utf-8") as f:
                source = f.read()
            origin = f"scripts/parity/{template_file}, with the special tokens of {gguf}"
        special = models[gguf]["special_tokens"]
        templates[key] = {
            "from": origin,
            "source": source,
            "sha256": hashlib.sha256(source.encode()).hexdigest(),
            "special_tokens": special,
        }
        template = HFChatTemplate(source, special)
        chats += [Chat(key, template, multiturn, system) for multiturn, system in CHAT_MODES]
    return models, templates, chats


def gold_index(task, doc):
    """The gold index as lm-eval's multiple_choice process_results derives it."""
    gold = task.doc_to_text(doc) if task.multiple_input else task.doc_to_target(doc)
    choices = task.doc_to_choice(doc)
    if isinstance(gold, int):
        gold = gold if gold < len(choices) else -100
    elif isinstance(gold, str):
        gold = choices.index(gold) if gold in choices else -100
    return gold


def build_requests(task, num_fewshot, limit, chat=None):
    """Build a loaded task's requests as simple_evaluate + evaluate do: a YAML
    `num_fewshot: 0` is never overridden, the few-shot sampler is seeded, then
    build_all_requests with evaluate()'s arguments, without a chat template or with
    `chat` (a Chat)."""
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
        system_instruction=chat.system_instruction if chat else None,
        apply_chat_template=chat is not None,
        fewshot_as_multiturn=chat.fewshot_as_multiturn if chat else False,
        chat_template=chat.template if chat else None,
        tokenizer_name=chat.model if chat else "",
    )


def record(task, name, num_fewshot, doc_id, insts, chat=None):
    """The fixture line for one document's requests (see the module docstring)."""
    doc = insts[0].doc
    rec = {"model": chat.model} if chat else {}
    rec.update(task=name, num_fewshot=num_fewshot,
               effective_num_fewshot=task.get_config("num_fewshot"))
    if chat:
        rec.update(fewshot_as_multiturn=chat.fewshot_as_multiturn,
                   system_instruction=chat.system_instruction)
    rec["doc_id"] = doc_id
    raised = [i.arguments[0] for i in insts if isinstance(i.arguments[0], TemplateRaised)]
    if raised:
        rec["error"] = raised[0]
    if task.OUTPUT_TYPE == "generate_until":
        (inst,) = insts
        context, gen_kwargs = inst.arguments
        if not raised:
            rec["context"] = context
        rec.update(gen_kwargs=gen_kwargs, target=task.doc_to_target(doc))
    elif task.OUTPUT_TYPE == "multiple_choice":
        if not raised:
            rec["arguments"] = [list(i.arguments) for i in insts]
        rec.update(target=task.doc_to_target(doc), gold=gold_index(task, doc))
    else:
        raise ValueError(f"{name}: output_type {task.OUTPUT_TYPE} not supported")
    rec["doc_hash"] = hash_string(json.dumps(
        doc, indent=2, default=handle_non_serializable, ensure_ascii=False))
    return rec


@lru_cache(maxsize=None)
def task_manager(tasks_dir):
    """lm-eval's task index of lm-eval's own tasks and `tasks_dir` (built once: it only
    indexes; every load() makes fresh task objects)."""
    return TaskManager(include_path=tasks_dir)


def build(tasks_dir, task_names, num_fewshot, limit, chat=None):
    """Yield fixture records for `task_names` at `num_fewshot`, lm-eval's way, each task
    loaded fresh (its few-shot sampler starts at the seed)."""
    random.seed(RANDOM_SEED)
    np.random.seed(NUMPY_SEED)
    loaded = task_manager(tasks_dir).load(task_names)
    for name in sorted(loaded["tasks"]):
        task = loaded["tasks"][name]
        build_requests(task, num_fewshot, limit, chat)
        by_doc = {}
        for inst in task.instances:
            by_doc.setdefault(inst.doc_id, []).append(inst)
        for doc_id in sorted(by_doc):
            insts = sorted(by_doc[doc_id], key=lambda x: x.idx)
            yield record(task, name, num_fewshot, doc_id, insts, chat)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks-dir", required=True,
                    help="folder for lm_eval_tasks.py's task files (written if missing)")
    ap.add_argument("--data-dir", default="/work/shared/data")
    ap.add_argument("--fixture", choices=sorted(FIXTURES), default="multiple-choice",
                    help="which fixture: its tasks, shot counts and default --out")
    ap.add_argument("--out", help="default: the fixture's file under tests/fixtures/prompts")
    ap.add_argument("--limit", type=int,
                    help="documents per task (default 50; chat fixture 10)")
    ap.add_argument("--shots", help="shot counts for --tasks (default 0,5)")
    ap.add_argument("--tasks", help="task or group names (mmlu = its 57 subjects), "
                                    "instead of the fixture's")
    ap.add_argument("--models-dir", default=os.path.expanduser("~/.cache/yardstick/models"),
                    help="where the GGUF files of the chat fixture are")
    args = ap.parse_args()
    fixture = FIXTURES[args.fixture]
    out = args.out or fixture["out"]
    limit = args.limit or fixture.get("limit", 50)

    manifest_path = os.path.join(args.tasks_dir, "manifest.json")
    if not os.path.isfile(manifest_path):
        lm_eval_tasks.generate(args.tasks_dir, args.data_dir)
    with open(manifest_path) as f:
        manifest = json.load(f)

    generator = f"scripts/parity/dump_prompts.py --tasks-dir DIR --limit {limit}"
    if args.tasks or args.shots or args.fixture == "multiple-choice":
        tasks = args.tasks or ",".join(DEFAULT_TASKS)
        shots = args.shots or "0,5"
        runs = [([t for t in tasks.split(",") if t], [int(k) for k in shots.split(",")])]
        generator += f" --shots {shots} --tasks {tasks}"
    else:
        runs = fixture["runs"]
    if args.fixture != "multiple-choice":
        generator += f" --fixture {args.fixture}"

    chat_header, chats = {}, [None]
    if args.fixture == "chat":
        import jinja2
        import transformers

        models, templates, chats = chat_settings(args.models_dir)
        chat_header = {"transformers": transformers.__version__,
                       "jinja2": jinja2.__version__,
                       "models": models, "templates": templates}

    # HumanEval's and MBPP's hooks import HF evaluate (see the module docstring).
    lm_eval_tasks.stub_code_eval()
    lines, dumped = [], set()
    for chat in chats:
        for task_names, shots in runs:
            for k in shots:
                for rec in build(os.path.abspath(args.tasks_dir), task_names, k, limit, chat):
                    lines.append(json.dumps(rec, ensure_ascii=True))
                    dumped.add(rec["task"])
                setting = chat and (f"{chat.model} multiturn={chat.fewshot_as_multiturn} "
                                    f"system={chat.system_instruction!r} ")
                print(f"{setting or ''}{','.join(task_names)} num_fewshot={k}: "
                      f"{len(lines)} records so far", file=sys.stderr)

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
        "limit": limit,
        "data_sha256": data_files,
        **chat_header,
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
