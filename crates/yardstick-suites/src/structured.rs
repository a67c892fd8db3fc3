//! Structured output: each item asks for a JSON object matching a JSON Schema; the
//! answer is scored by whether it parses as JSON and whether it is valid against the
//! schema (draft 2020-12 by default, as `jsonschema` reads `$schema`).
//!
//! The answer is read leniently the way such benchmarks read it: surrounding whitespace
//! and a Markdown code fence are removed, and when the whole text is not JSON, the text
//! from the first `{` to the last `}` is tried.

use crate::run::{
    answer_items, conclude, limited, means, text_hash, Answer, ItemScores, SuiteItem,
};
use crate::task::SuiteTaskConfig;
use serde_json::{json, Map, Value};
use yardstick_core::python_json_dumps;
use yardstick_judge::{parse_jsonl, JudgedError, JudgedOptions, JudgedOutcome, Participant};
use yardstick_store::Store;

/// The JSON object in an answer, if there is one.
pub fn read_json(answer: &str) -> Option<Value> {
    let mut text = answer.trim();
    if let Some(rest) = text.strip_prefix("```") {
        let rest = rest.strip_prefix("json").unwrap_or(rest);
        text = rest.trim_end().strip_suffix("```").unwrap_or(rest).trim();
    }
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return Some(value);
    }
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    (start < end)
        .then(|| serde_json::from_str(&text[start..=end]).ok())
        .flatten()
}

/// Whether `value` is valid against `schema`; `None` when the schema itself is invalid.
pub fn schema_valid(schema: &Value, value: &Value) -> Option<bool> {
    jsonschema::validator_for(schema)
        .ok()
        .map(|v| v.is_valid(value))
}

pub(crate) fn run(
    task: &SuiteTaskConfig,
    candidate: &mut Participant<'_>,
    store: &mut Store,
    options: &JudgedOptions,
) -> Result<JudgedOutcome, JudgedError> {
    let (path, text) = task.read_data(&task.data, &options.data_dir)?;
    let mut rows = Vec::new();
    for (line, value) in parse_jsonl(&path, &text)? {
        let (Some(request), Some(schema)) = (
            value.get("request").and_then(Value::as_str),
            value.get("schema"),
        ) else {
            return Err(JudgedError::Data {
                path: path.clone(),
                line,
                message: "each item needs `request` (text) and `schema` (a JSON Schema)".into(),
            });
        };
        if jsonschema::validator_for(schema).is_err() {
            return Err(JudgedError::Data {
                path: path.clone(),
                line,
                message: "`schema` is not a valid JSON Schema".into(),
            });
        }
        rows.push((request.to_owned(), schema.clone()));
    }
    let original = rows.len();
    let items: Vec<SuiteItem> = limited(rows, options.limit)
        .into_iter()
        .enumerate()
        .map(|(doc_id, (request, schema))| {
            let user = format!(
                "{request}\n\nReply with only a JSON object that matches this JSON Schema:\n{}",
                python_json_dumps(&schema, None)
            );
            let mut fields = Map::new();
            fields.insert("request".into(), json!(request));
            fields.insert("schema".into(), schema);
            SuiteItem {
                doc_id,
                messages: vec![Participant::user(&user)],
                fields,
                tools: None,
            }
        })
        .collect();
    let score = |item: &SuiteItem, answer: &Answer| -> ItemScores {
        let answer = answer.text.as_str();
        let parsed = read_json(answer);
        let valid = match (&parsed, item.fields.get("schema")) {
            (Some(value), Some(schema)) => schema_valid(schema, value).unwrap_or(false),
            _ => false,
        };
        let mut scores = Map::new();
        scores.insert("metrics".into(), json!(["parsed", "schema_valid"]));
        scores.insert(
            "parsed".into(),
            json!(f64::from(u8::from(parsed.is_some()))),
        );
        scores.insert("schema_valid".into(), json!(f64::from(u8::from(valid))));
        scores
    };
    let answered = answer_items(
        task,
        candidate,
        (&items, original),
        (json!({"kind": "structured_output"}), text_hash(&text)),
        store,
        options,
        &score,
    )?;
    let metrics = means(&answered.items, &["parsed", "schema_valid"]);
    conclude(store, answered, candidate, metrics, Map::new(), options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_and_validated() {
        let schema =
            json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]});
        assert_eq!(read_json("```json\n{\"n\": 3}\n```"), Some(json!({"n": 3})));
        assert_eq!(
            read_json("Sure! {\"n\": 3} Hope that helps."),
            Some(json!({"n": 3}))
        );
        assert_eq!(read_json("no json here"), None);
        assert_eq!(schema_valid(&schema, &json!({"n": 3})), Some(true));
        assert_eq!(schema_valid(&schema, &json!({"n": "3"})), Some(false));
        assert_eq!(schema_valid(&schema, &json!({})), Some(false));
    }

    #[test]
    fn builtin_items_have_valid_schemas() {
        let text = include_str!("../tasks/structured_output.jsonl");
        let mut count = 0;
        for line in text.lines() {
            let value: Value = serde_json::from_str(line).unwrap();
            assert!(jsonschema::validator_for(&value["schema"]).is_ok());
            count += 1;
        }
        assert_eq!(count, 20);
    }
}
