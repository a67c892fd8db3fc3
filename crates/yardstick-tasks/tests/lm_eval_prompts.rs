//! The built-in tasks render the very requests lm-evaluation-harness renders: for the
//! first 50 documents of every task, 0-shot and 5-shot, each context and continuation is
//! compared byte for byte with `tests/fixtures/prompts/lm_eval-prompts.jsonl.gz`, which
//! `scripts/parity/dump_prompts.py` made with lm-eval 0.4.12 from its own task files.
//!
//! ARC, HellaSwag and WinoGrande have no train split in the shared data, so (as the
//! fixture script did) this test writes one: a copy of the validation split.

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use yardstick_tasks::{Task, TaskRegistry};

fn fixture() -> (Value, Vec<Value>) {
    common::prompt_fixture("lm_eval-prompts.jsonl.gz")
}

#[test]
fn first_50_documents_render_as_lm_eval_renders_them() {
    let (header, records) = fixture();
    assert_eq!(header["lm_eval"], "0.4.12", "fixture header: {header}");
    let dir = tempfile::tempdir().unwrap();
    let data = common::data_with_train_splits(dir.path());
    let registry = TaskRegistry::builtin().unwrap();

    let mut groups: BTreeMap<(String, u64), Vec<&Value>> = BTreeMap::new();
    for record in &records {
        let key = (
            record["task"].as_str().unwrap().to_owned(),
            record["num_fewshot"].as_u64().unwrap(),
        );
        groups.entry(key).or_default().push(record);
    }
    let tasks: std::collections::BTreeSet<&str> = groups.keys().map(|(t, _)| t.as_str()).collect();
    assert!(
        tasks.len() >= 63,
        "fixture covers only {} tasks",
        tasks.len()
    );

    let mut mismatches = Vec::new();
    for ((name, shots), expected) in &groups {
        let task = Task::load(registry.load(name).unwrap(), &data, Some(*shots as usize))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            task.num_fewshot() as u64,
            expected[0]["effective_num_fewshot"].as_u64().unwrap(),
            "{name} {shots}-shot"
        );
        let docs = task.multiple_choice_docs(Some(expected.len())).unwrap();
        assert_eq!(docs.len(), expected.len(), "{name}");
        for (doc, record) in docs.iter().zip(expected) {
            assert_eq!(doc.doc_id as u64, record["doc_id"].as_u64().unwrap());
            let arguments: Vec<(String, String)> = record["arguments"]
                .as_array()
                .unwrap()
                .iter()
                .map(common::text_pair)
                .collect();
            let ours: Vec<(String, String)> = doc
                .requests
                .iter()
                .map(|r| (r.context.clone(), r.continuation.clone()))
                .collect();
            if ours != arguments
                || doc.gold as u64 != record["gold"].as_u64().unwrap()
                || doc.target != common::python_str(&record["target"])
            {
                mismatches.push(format!(
                    "{name} {shots}-shot doc {}:\n  ours:   {:?} gold {} target {:?}\n  lm-eval: {:?} gold {} target {}",
                    doc.doc_id, ours.first(), doc.gold, doc.target,
                    arguments.first(), record["gold"], record["target"]
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} documents differ from lm-eval; first ones:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
