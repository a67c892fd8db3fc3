//! MMLU prompts from the built-in task files over the shared data, rebuilt here by hand
//! from lm-eval's template: subject description, question, lettered choices, "Answer:";
//! few-shot examples are the dev split's first ones, answered by letter.

mod common;

use serde_json::Value;
use yardstick_tasks::{DataDir, Task, TaskRegistry};

fn rows(split: &str) -> Vec<Value> {
    let path = common::data_dir(&["hf/cais/mmlu"])
        .join(format!("hf/cais/mmlu/abstract_algebra/{split}.jsonl"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn question_text(doc: &Value) -> String {
    let choices = doc["choices"].as_array().unwrap();
    format!(
        "{}\nA. {}\nB. {}\nC. {}\nD. {}\nAnswer:",
        doc["question"].as_str().unwrap().trim(),
        choices[0].as_str().unwrap(),
        choices[1].as_str().unwrap(),
        choices[2].as_str().unwrap(),
        choices[3].as_str().unwrap()
    )
}

const DESCRIPTION: &str =
    "The following are multiple choice questions (with answers) about abstract algebra.\n\n";

#[test]
fn zero_shot_prompt_is_description_and_question() {
    let registry = TaskRegistry::builtin().unwrap();
    let data = DataDir::new(Some(common::data_dir(&["hf/cais/mmlu"])));
    let task = Task::load(registry.load("mmlu_abstract_algebra").unwrap(), &data, None).unwrap();
    assert_eq!(task.len(), 100);
    let docs = task.multiple_choice_docs(Some(3)).unwrap();
    let test = rows("test");
    for (doc, raw) in docs.iter().zip(&test) {
        let context = format!("{DESCRIPTION}{}", question_text(raw));
        let continuations: Vec<&str> = doc
            .requests
            .iter()
            .map(|r| r.continuation.as_str())
            .collect();
        assert_eq!(continuations, vec![" A", " B", " C", " D"]);
        assert!(doc.requests.iter().all(|r| r.context == context));
        assert_eq!(doc.gold, raw["answer"].as_u64().unwrap() as usize);
    }
    assert_eq!(task.metric_names(), vec!["acc"]);
}

#[test]
fn five_shot_prompt_uses_the_first_dev_examples() {
    let registry = TaskRegistry::builtin().unwrap();
    let data = DataDir::new(Some(common::data_dir(&["hf/cais/mmlu"])));
    let task = Task::load(
        registry.load("mmlu_abstract_algebra").unwrap(),
        &data,
        Some(5),
    )
    .unwrap();
    let letters = ["A", "B", "C", "D"];
    let mut expected = DESCRIPTION.to_owned();
    for example in rows("dev").iter().take(5) {
        let answer = letters[example["answer"].as_u64().unwrap() as usize];
        expected.push_str(&format!("{} {answer}\n\n", question_text(example)));
    }
    let test = rows("test");
    for (i, doc) in task
        .multiple_choice_docs(Some(2))
        .unwrap()
        .iter()
        .enumerate()
    {
        assert_eq!(
            doc.prompt(),
            format!("{expected}{}", question_text(&test[i]))
        );
    }
}
