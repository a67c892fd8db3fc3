//! The built-in `generate_until` tasks render the very requests lm-evaluation-harness
//! renders: for the first 50 documents of GSM8K (0-shot and 5-shot), HumanEval (0-shot)
//! and MBPP (3-shot), the prompt is compared byte for byte with lm-eval's context, and
//! the stop strings, `generation_kwargs` (as lm-eval logs them) and target with lm-eval's,
//! from `tests/fixtures/prompts/lm_eval-generate-prompts.jsonl.gz`, which
//! `scripts/parity/dump_prompts.py --fixture generate` made with lm-eval 0.4.12 from its
//! own task files.

mod common;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use yardstick_core::{python_json_dumps, sha256_hex, Sampling};
use yardstick_tasks::{DataDir, GenerateDoc, Task, TaskRegistry};

/// lm-eval's models generate at most this many tokens when `max_gen_toks` is unset.
const LM_EVAL_MAX_GEN_TOKS: u64 = 256;

fn fixture() -> (Value, Vec<Value>) {
    common::prompt_fixture("lm_eval-generate-prompts.jsonl.gz")
}

/// How `ours` differs from lm-eval's `record`, one line per difference.
fn differences(ours: &GenerateDoc, record: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let context = record["context"].as_str().expect("context is a string");
    if let Some(offset) = common::first_difference(&ours.request.prompt, context) {
        found.push(format!(
            "prompt differs at byte {offset} (ours {} bytes, lm-eval's {}):\n      ours:    {}\n      lm-eval: {}",
            ours.request.prompt.len(),
            context.len(),
            common::around(&ours.request.prompt, offset),
            common::around(context, offset),
        ));
    }
    let gen_kwargs = &record["gen_kwargs"];
    let until: Vec<String> = match &gen_kwargs["until"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().expect("until lists strings").to_owned())
            .collect(),
        other => panic!("gen_kwargs.until: {other}"),
    };
    if ours.request.until != until {
        found.push(format!(
            "until: ours {:?}, lm-eval's {until:?}",
            ours.request.until
        ));
    }
    if &ours.generation_kwargs != gen_kwargs {
        found.push(format!(
            "generation_kwargs: ours {}, lm-eval's {gen_kwargs}",
            ours.generation_kwargs
        ));
    }
    let max_gen_toks = gen_kwargs
        .get("max_gen_toks")
        .map_or(LM_EVAL_MAX_GEN_TOKS, |n| n.as_u64().expect("max_gen_toks"));
    if ours.request.max_gen_toks as u64 != max_gen_toks {
        found.push(format!(
            "max_gen_toks: ours {}, lm-eval's {max_gen_toks}",
            ours.request.max_gen_toks
        ));
    }
    if gen_kwargs["do_sample"] == Value::Bool(false) && ours.request.sampling != Sampling::Greedy {
        found.push(format!(
            "sampling: ours {:?}, lm-eval's do_sample false (greedy)",
            ours.request.sampling
        ));
    }
    let doc_hash = sha256_hex(python_json_dumps(&ours.doc, Some(2)).as_bytes());
    if record["doc_hash"].as_str() != Some(doc_hash.as_str()) {
        found.push(format!(
            "doc_hash: ours {doc_hash}, lm-eval's {} (a different document at this doc_id)",
            record["doc_hash"]
        ));
    }
    let target = common::python_str(&record["target"]);
    if let Some(offset) = common::first_difference(&ours.target, &target) {
        found.push(format!(
            "target differs at byte {offset}:\n      ours:    {}\n      lm-eval: {}",
            common::around(&ours.target, offset),
            common::around(&target, offset),
        ));
    }
    found
}

#[test]
fn first_50_documents_render_as_lm_eval_renders_them() {
    let (header, records) = fixture();
    assert_eq!(header["lm_eval"], "0.4.12", "fixture header: {header}");
    let data = DataDir::new(Some(common::data_dir(&[
        "gsm8k/train.jsonl",
        "gsm8k/test.jsonl",
        "humaneval/HumanEval.jsonl.gz",
        "mbpp/mbpp.jsonl",
    ])));
    let registry = TaskRegistry::builtin().unwrap();

    let mut groups: BTreeMap<(String, u64), Vec<&Value>> = BTreeMap::new();
    for record in &records {
        let key = (
            record["task"].as_str().unwrap().to_owned(),
            record["num_fewshot"].as_u64().unwrap(),
        );
        groups.entry(key).or_default().push(record);
    }
    let covered: BTreeSet<(&str, u64)> = groups.keys().map(|(t, k)| (t.as_str(), *k)).collect();
    assert_eq!(
        covered,
        BTreeSet::from([("gsm8k", 0), ("gsm8k", 5), ("humaneval", 0), ("mbpp", 3)]),
        "fixture coverage"
    );

    let mut mismatches = Vec::new();
    let mut checked = 0;
    for ((name, shots), expected) in &groups {
        let task = Task::load(registry.load(name).unwrap(), &data, Some(*shots as usize))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            task.num_fewshot() as u64,
            expected[0]["effective_num_fewshot"].as_u64().unwrap(),
            "{name} {shots}-shot"
        );
        let docs = task
            .generate_docs(Some(expected.len()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(docs.len(), expected.len(), "{name} {shots}-shot");
        for (doc, record) in docs.iter().zip(expected) {
            assert_eq!(
                doc.doc_id as u64,
                record["doc_id"].as_u64().unwrap(),
                "{name} {shots}-shot"
            );
            let found = differences(doc, record);
            if !found.is_empty() {
                mismatches.push(format!(
                    "{name} {shots}-shot doc {}:\n    {}",
                    doc.doc_id,
                    found.join("\n    ")
                ));
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 200, "documents checked");
    assert!(
        mismatches.is_empty(),
        "{} of {checked} documents differ from lm-eval; first ones:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
