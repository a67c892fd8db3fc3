//! Chat-templated prompts are the very requests lm-evaluation-harness builds with
//! `--apply_chat_template` (single-turn, `--fewshot_as_multiturn`, and that with
//! `--system_instruction`), rendered by Hugging Face's `apply_chat_template`:
//! `tests/fixtures/prompts/lm_eval-chat-prompts.jsonl.gz`, which
//! `scripts/parity/dump_prompts.py --fixture chat` made with lm-eval 0.4.12 and
//! transformers. Its header holds each template's text and special tokens (SmolLM2's
//! GGUF template, and two test templates), so no model is needed here. Every context and
//! continuation is compared byte for byte; where the template raised for lm-eval, the
//! task must fail with the template's message.

mod common;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use yardstick_tasks::{ChatFormat, ChatTemplate, OutputType, Task, TaskRegistry};

fn fixture() -> (Value, Vec<Value>) {
    common::prompt_fixture("lm_eval-chat-prompts.jsonl.gz")
}

/// A diff line for `what` when `ours` is not lm-eval's `theirs`.
fn compare(what: &str, ours: &str, theirs: &str) -> Option<String> {
    let offset = common::first_difference(ours, theirs)?;
    Some(format!(
        "{what} differs at byte {offset} (ours {} bytes, lm-eval's {}):\n      ours:    {}\n      lm-eval: {}",
        ours.len(),
        theirs.len(),
        common::around(ours, offset),
        common::around(theirs, offset),
    ))
}

/// The header's special tokens, `[["bos_token", "<s>"], ...]`.
fn special_tokens(value: &Value) -> Vec<(String, String)> {
    value
        .as_array()
        .expect("special_tokens is a list")
        .iter()
        .map(common::text_pair)
        .collect()
}

/// The records of one lm-eval run: template, task, shots and chat flags.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Run {
    model: String,
    task: String,
    num_fewshot: u64,
    multiturn: bool,
    system: Option<String>,
}

impl Run {
    fn of(record: &Value) -> Self {
        Self {
            model: record["model"].as_str().unwrap().to_owned(),
            task: record["task"].as_str().unwrap().to_owned(),
            num_fewshot: record["num_fewshot"].as_u64().unwrap(),
            multiturn: record["fewshot_as_multiturn"].as_bool().unwrap(),
            system: record["system_instruction"].as_str().map(str::to_owned),
        }
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {}-shot multiturn={} system={:?}",
            self.model, self.task, self.num_fewshot, self.multiturn, self.system
        )
    }
}

/// Our requests for a run as (context, continuation) pairs per document, or the error.
fn render(task: &Task, count: usize) -> Result<Vec<Vec<(String, String)>>, String> {
    if task.output_type() == OutputType::GenerateUntil {
        let docs = task.generate_docs(Some(count)).map_err(|e| e.to_string())?;
        Ok(docs
            .into_iter()
            .map(|d| vec![(d.request.prompt, String::new())])
            .collect())
    } else {
        let docs = task
            .multiple_choice_docs(Some(count))
            .map_err(|e| e.to_string())?;
        Ok(docs
            .into_iter()
            .map(|d| {
                d.requests
                    .into_iter()
                    .map(|r| (r.context, r.continuation))
                    .collect()
            })
            .collect())
    }
}

/// lm-eval's requests of a record, in the shape of [`render`]'s.
fn expected(record: &Value) -> Vec<(String, String)> {
    match record.get("context") {
        Some(context) => vec![(context.as_str().unwrap().to_owned(), String::new())],
        None => record["arguments"]
            .as_array()
            .expect("arguments")
            .iter()
            .map(common::text_pair)
            .collect(),
    }
}

#[test]
fn chat_prompts_render_as_lm_eval_and_hugging_face_render_them() {
    let (header, records) = fixture();
    assert_eq!(header["lm_eval"], "0.4.12", "fixture header");
    let templates = header["templates"]
        .as_object()
        .expect("header lists the templates");
    assert!(
        templates.len() >= 2,
        "fixture covers {} templates",
        templates.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let data = common::data_with_train_splits(dir.path());
    let registry = TaskRegistry::builtin().unwrap();

    // One chat format per (template, multiturn), shared by the runs that use it.
    let mut formats: BTreeMap<(String, bool), Arc<ChatFormat>> = BTreeMap::new();
    let mut runs: BTreeMap<Run, Vec<&Value>> = BTreeMap::new();
    for record in &records {
        runs.entry(Run::of(record)).or_default().push(record);
    }
    let modes: BTreeSet<(bool, bool)> = runs
        .keys()
        .map(|r| (r.multiturn, r.system.is_some()))
        .collect();
    assert_eq!(
        modes,
        BTreeSet::from([(false, false), (true, false), (true, true)]),
        "fixture modes"
    );

    let mut mismatches = Vec::new();
    let (mut checked, mut errors) = (0, 0);
    for (run, expected_records) in &runs {
        let format = formats
            .entry((run.model.clone(), run.multiturn))
            .or_insert_with(|| {
                let entry = &templates[&run.model];
                let template = ChatTemplate::new(
                    entry["source"].as_str().unwrap(),
                    special_tokens(&entry["special_tokens"]),
                )
                .unwrap_or_else(|e| panic!("{}: {e}", run.model));
                assert_eq!(template.sha256(), entry["sha256"].as_str().unwrap());
                Arc::new(ChatFormat {
                    template: Some(template),
                    fewshot_as_multiturn: run.multiturn,
                })
            })
            .clone();
        let mut task = Task::load(
            registry.load(&run.task).unwrap(),
            &data,
            Some(run.num_fewshot as usize),
        )
        .unwrap_or_else(|e| panic!("{run}: {e}"));
        assert_eq!(
            task.num_fewshot() as u64,
            expected_records[0]["effective_num_fewshot"]
                .as_u64()
                .unwrap(),
            "{run}"
        );
        task.set_chat_format(format);
        if let Some(system) = &run.system {
            task.set_system_instruction(system.clone());
        }

        let raised: Vec<&str> = expected_records
            .iter()
            .filter_map(|r| r.get("error").and_then(Value::as_str))
            .collect();
        let ours = render(&task, expected_records.len());
        if !raised.is_empty() {
            // The template refuses every document of such a run (it raised on the
            // system message, which every document has).
            assert_eq!(
                raised.len(),
                expected_records.len(),
                "{run}: errors on some documents only"
            );
            errors += raised.len();
            match ours {
                Err(message) if message.contains(raised[0]) => {}
                Err(message) => mismatches.push(format!(
                    "{run}: lm-eval's template raised {:?}; ours failed otherwise: {message}",
                    raised[0]
                )),
                Ok(_) => mismatches.push(format!(
                    "{run}: lm-eval's template raised {:?}; ours rendered the prompts",
                    raised[0]
                )),
            }
            continue;
        }
        let ours = match ours {
            Ok(docs) => docs,
            Err(message) => {
                mismatches.push(format!("{run}: lm-eval rendered; ours failed: {message}"));
                checked += expected_records.len();
                continue;
            }
        };
        assert_eq!(ours.len(), expected_records.len(), "{run}");
        for (doc_id, (requests, record)) in ours.iter().zip(expected_records).enumerate() {
            assert_eq!(doc_id as u64, record["doc_id"].as_u64().unwrap(), "{run}");
            let theirs = expected(record);
            let mut found = Vec::new();
            if requests.len() != theirs.len() {
                found.push(format!(
                    "{} requests, lm-eval's {}",
                    requests.len(),
                    theirs.len()
                ));
            }
            for (i, ((context, continuation), (their_context, their_continuation))) in
                requests.iter().zip(&theirs).enumerate()
            {
                found.extend(compare(
                    &format!("request {i} context"),
                    context,
                    their_context,
                ));
                found.extend(compare(
                    &format!("request {i} continuation"),
                    continuation,
                    their_continuation,
                ));
            }
            if !found.is_empty() {
                mismatches.push(format!("{run} doc {doc_id}:\n    {}", found.join("\n    ")));
            }
            checked += 1;
        }
    }
    assert_eq!(checked + errors, records.len(), "documents checked");
    assert!(
        mismatches.is_empty(),
        "{} documents or runs (of {} records) differ from lm-eval; first ones:\n{}",
        mismatches.len(),
        records.len(),
        mismatches
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
