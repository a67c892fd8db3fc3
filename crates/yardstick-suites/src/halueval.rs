//! HaluEval's general user queries: ChatGPT's response to each, labelled by people as
//! holding hallucinated content or not; the model says "Yes" or "No".
//!
//! HaluEval's code has no prompt for this part of its data, so the prompt is
//! yardstick's, written in the style of HaluEval's QA prompt (its system message and
//! `#...#:` fields). Answers are read with HaluEval's own rule (`evaluate.py`): dots
//! removed, then a case-sensitive "Yes" or "No" anywhere; both or neither is a failed
//! answer, counted wrong.

use crate::run::{
    answer_items, conclude, limited, means, text_hash, Answer, ItemScores, SuiteItem,
};
use crate::task::SuiteTaskConfig;
use serde_json::{json, Map, Value};
use yardstick_judge::{
    message, parse_jsonl, JudgedError, JudgedOptions, JudgedOutcome, Participant,
};
use yardstick_metrics::Aggregate;
use yardstick_store::Store;

/// The system message (HaluEval's QA one, for a user query).
pub const SYSTEM: &str = "You are a hallucination detector. You MUST determine if the provided response contains hallucination or not for the user query based on the world knowledge. The answer you provided MUST be \"Yes\" or \"No\"";

/// The user message, with `{user_query}` and `{response}`.
pub const INSTRUCTION: &str = "I want you act as a response judge. Given a user query and a response, your objective is to determine if the provided response contains non-factual or hallucinated information. You SHOULD give your judgement based on the world knowledge. The answer you give MUST be \"Yes\" or \"No\".\n\n#User Query#: {user_query}\n#Response#: {response}\n#Your Judgement#:";

/// HaluEval's answer rule: `Some("Yes")`, `Some("No")`, or `None` (failed).
pub fn read_judgement(answer: &str) -> Option<&'static str> {
    let answer = answer.replace('.', "");
    match (answer.contains("Yes"), answer.contains("No")) {
        (true, false) => Some("Yes"),
        (false, true) => Some("No"),
        _ => None,
    }
}

pub(crate) fn run(
    task: &SuiteTaskConfig,
    candidate: &mut Participant<'_>,
    store: &mut Store,
    options: &JudgedOptions,
) -> Result<JudgedOutcome, JudgedError> {
    let (path, text) = task.read_data(&task.data, &options.data_dir)?;
    let mut records = Vec::new();
    for (line, value) in parse_jsonl(&path, &text)? {
        let field = |name: &str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| JudgedError::Data {
                    path: path.clone(),
                    line,
                    message: format!("`{name}` is missing"),
                })
        };
        let label = match field("hallucination")?.as_str() {
            "yes" => "Yes",
            "no" => "No",
            other => {
                return Err(JudgedError::Data {
                    path: path.clone(),
                    line,
                    message: format!("`hallucination` is {other:?}, not yes or no"),
                })
            }
        };
        records.push((field("user_query")?, field("chatgpt_response")?, label));
    }
    let original = records.len();
    let items: Vec<SuiteItem> = limited(records, options.limit)
        .into_iter()
        .enumerate()
        .map(|(doc_id, (query, response, label))| {
            let user =
                INSTRUCTION
                    .replace("{user_query}", &query)
                    .replacen("{response}", &response, 1);
            let mut fields = Map::new();
            fields.insert("user_query".into(), json!(query));
            fields.insert("chatgpt_response".into(), json!(response));
            fields.insert("target".into(), json!(label));
            SuiteItem {
                doc_id,
                messages: vec![message("system", SYSTEM), Participant::user(&user)],
                fields,
                tools: None,
            }
        })
        .collect();
    let score = |item: &SuiteItem, answer: &Answer| -> ItemScores {
        let answer = answer.text.as_str();
        let read = read_judgement(answer);
        let target = item.fields.get("target").and_then(Value::as_str);
        let mut scores = Map::new();
        scores.insert("metrics".into(), json!(["acc"]));
        scores.insert("judgement".into(), json!(read.unwrap_or("failed!")));
        scores.insert(
            "acc".into(),
            json!(f64::from(u8::from(read.is_some() && read == target))),
        );
        scores
    };
    let config = json!({"kind": "halueval", "system": SYSTEM, "instruction": INSTRUCTION});
    let answered = answer_items(
        task,
        candidate,
        (&items, original),
        (config, text_hash(&text)),
        store,
        options,
        &score,
    )?;
    let mut metrics = means(&answered.items, &["acc"]);
    let (mut tp, mut fp, mut fn_, mut failed) = (0usize, 0usize, 0usize, 0usize);
    for item in &answered.items {
        let read = item.record.get("judgement").and_then(Value::as_str);
        let target = item.record.get("target").and_then(Value::as_str);
        match (read, target) {
            (Some("Yes"), Some("Yes")) => tp += 1,
            (Some("Yes"), _) => fp += 1,
            (_, Some("Yes")) => fn_ += 1,
            _ => {}
        }
        failed += usize::from(read == Some("failed!"));
    }
    // F1 of "contains a hallucination" (the positive class); a failed answer on a
    // hallucinated response is a miss.
    let f1 = if tp == 0 {
        0.0
    } else {
        2.0 * tp as f64 / (2 * tp + fp + fn_) as f64
    };
    metrics.push((
        "f1".to_owned(),
        Aggregate {
            value: f1,
            stderr: f64::NAN,
            count: answered.items.len(),
        },
    ));
    let mut extra = Map::new();
    extra.insert("failed_answers".into(), json!(failed));
    extra.insert("prompt_source".into(), json!("yardstick's, in the style of HaluEval's QA prompt (HaluEval publishes none for general queries)"));
    conclude(store, answered, candidate, metrics, extra, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_with_halueval_rule() {
        assert_eq!(read_judgement("Yes."), Some("Yes"));
        assert_eq!(read_judgement("No"), Some("No"));
        assert_eq!(read_judgement("yes"), None);
        assert_eq!(read_judgement("Yes. Note that"), None);
        assert_eq!(read_judgement("Nothing to add"), Some("No"));
        assert_eq!(read_judgement(""), None);
    }
}
