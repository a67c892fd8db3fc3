//! GSM8K from the built-in task file: its two answer filters and its exact-match metric
//! against lm-eval's own filter and metric code on 340 varied outputs
//! (tests/fixtures/gsm8k/filters.jsonl, made by scripts/fixtures/make_gsm8k_filter_fixture.py),
//! and its 5-shot prompt.

mod common;

use serde_json::Value;
use std::path::Path;
use yardstick_tasks::{DataDir, Task, TaskRegistry};

fn gsm8k(shots: Option<usize>) -> Task {
    let registry = TaskRegistry::builtin().unwrap();
    Task::load(
        registry.load("gsm8k").unwrap(),
        &DataDir::new(Some(common::data_dir(&["gsm8k/train.jsonl"]))),
        shots,
    )
    .unwrap()
}

#[test]
fn filters_and_exact_match_agree_with_lm_eval() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/gsm8k/filters.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("fixture {} missing: {e}", path.display()));
    let records: Vec<Value> = text
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(records.len() >= 200);
    let task = gsm8k(Some(0));
    let filters = task.answer_filters();
    let names: Vec<&str> = filters.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["strict-match", "flexible-extract"]);
    let mut wrong = Vec::new();
    for record in &records {
        let response = record["response"].as_str().unwrap().to_owned();
        let target = record["target"].as_str().unwrap();
        for filter in filters {
            let answers = filter
                .apply(std::slice::from_ref(&response), &serde_json::Value::Null)
                .unwrap();
            assert_eq!(answers.len(), 1, "{} takes the first answer", filter.name);
            let answer = answers[0].clone();
            let expected = record[filter.name.as_str()].as_str().unwrap();
            let score = task.exact_match(&answer, target).unwrap();
            let expected_score = record["exact_match"][filter.name.as_str()]
                .as_f64()
                .unwrap();
            if answer != expected || score != expected_score {
                wrong.push(format!(
                    "#{} {}: {response:?} -> {answer:?} ({score}), lm-eval {expected:?} ({expected_score})",
                    record["id"], filter.name
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn five_shot_prompt_is_solved_train_examples_then_the_question() {
    let task = gsm8k(None);
    assert_eq!(task.num_fewshot(), 5);
    let docs = task.generate_docs(Some(2)).unwrap();
    let prompt = &docs[0].request.prompt;
    assert_eq!(prompt.matches("Question: ").count(), 6, "{prompt}");
    assert!(prompt.ends_with(&format!(
        "Question: {}\nAnswer:",
        docs[0].doc["question"].as_str().unwrap()
    )));
    // Each example: question, " ", the full worked answer, a blank line.
    let first_example_end = prompt.find("\n\nQuestion: ").unwrap();
    assert!(prompt[..first_example_end].contains("\nAnswer: "));
    assert!(prompt[..first_example_end].contains("#### "));
    assert_eq!(
        docs[0].request.until,
        vec!["Question:", "</s>", "<|im_end|>"]
    );
    assert_eq!(docs[0].request.max_gen_toks, 256);
    assert_eq!(docs[0].target, docs[0].doc["answer"].as_str().unwrap());
}
