//! Per-sample records in lm-evaluation-harness's `--log_samples` format.

use crate::generated::FilteredAnswers;
use serde_json::{json, Map, Value};
use yardstick_core::{
    python_float, python_json_dumps, sha256_hex, GenerateResponse, LoglikelihoodResponse,
};
use yardstick_tasks::{GenerateDoc, MultipleChoiceDoc, OutputType, Task};

/// The record lm-eval writes for one multiple-choice document: its requests as
/// `gen_args_i`, responses as strings (lm-eval's `sanitize_list`), hashes and metrics.
pub(crate) fn multiple_choice_record(
    doc: &MultipleChoiceDoc,
    responses: &[LoglikelihoodResponse],
    metrics: &[(String, f64)],
) -> Value {
    let mut arguments = Map::new();
    for (i, request) in doc.requests.iter().enumerate() {
        arguments.insert(
            format!("gen_args_{i}"),
            json!({"arg_0": request.context, "arg_1": request.continuation}),
        );
    }
    let pair =
        |r: &LoglikelihoodResponse| json!([python_float(r.logprob.0), python_bool(r.is_greedy)]);
    let target = &doc.target;
    let mut record = json!({
        "doc_id": doc.doc_id,
        "doc": doc.doc,
        "target": target,
        "arguments": arguments,
        "resps": responses.iter().map(|r| json!([pair(r)])).collect::<Vec<_>>(),
        "filtered_resps": responses.iter().map(pair).collect::<Vec<_>>(),
        "filter": "none",
        "metrics": metrics.iter().map(|(name, _)| name).collect::<Vec<_>>(),
        "doc_hash": sha256_hex(python_json_dumps(&doc.doc, Some(2)).as_bytes()),
        "prompt_hash": sha256_hex(doc.prompt().as_bytes()),
        "target_hash": sha256_hex(target.as_bytes()),
    });
    if let Value::Object(map) = &mut record {
        for (name, value) in metrics {
            map.insert(name.clone(), json!(value));
        }
    }
    record
}

/// The stored record of one generated document: lm-eval's sample fields shared by all
/// filters, the raw responses (one per repeat), and under `filters` each filter's
/// answers, metrics and (code tasks) how each candidate program ended.
pub(crate) fn generation_record(
    doc: &GenerateDoc,
    responses: &[GenerateResponse],
    filtered: &[FilteredAnswers],
) -> Value {
    let mut filters = Map::new();
    for answers in filtered {
        let mut entry = Map::new();
        // lm-eval logs one filtered response per request: the answer after
        // `take_first`, else the list (a code task's candidates).
        let logged = if answers.single {
            json!([answers.answers.first().cloned().unwrap_or_default()])
        } else {
            json!([answers.answers])
        };
        entry.insert("filtered_resps".into(), logged);
        for (name, value) in &answers.metrics {
            entry.insert(name.clone(), json!(value));
        }
        if let Some(executions) = &answers.executions {
            entry.insert("executions".into(), json!(executions));
        }
        filters.insert(answers.filter.clone(), Value::Object(entry));
    }
    let texts: Vec<&str> = responses.iter().map(|r| r.text.as_str()).collect();
    json!({
        "doc_id": doc.doc_id,
        "doc": doc.doc,
        "target": doc.target,
        "arguments": {"gen_args_0": {"arg_0": doc.request.prompt, "arg_1": doc.generation_kwargs}},
        "resps": [texts],
        "filters": filters,
        "generation": responses
            .iter()
            .map(|r| json!({"tokens": r.tokens.len(), "stop": r.stop}))
            .collect::<Vec<_>>(),
        "doc_hash": sha256_hex(python_json_dumps(&doc.doc, Some(2)).as_bytes()),
        "prompt_hash": sha256_hex(doc.request.prompt.as_bytes()),
        "target_hash": sha256_hex(doc.target.as_bytes()),
    })
}

/// The samples-file lines of a task's stored items, in lm-eval's order: one per
/// document for multiple choice; one per filter and document (filters outermost) for
/// generation.
pub(crate) fn sample_lines(task: &Task, items: &[yardstick_store::StoredItem]) -> Vec<Value> {
    if task.output_type() != OutputType::GenerateUntil {
        return items.iter().map(|item| item.record.clone()).collect();
    }
    let mut lines = Vec::new();
    for filter in task.answer_filters() {
        for item in items {
            let record = &item.record;
            let per_filter = record.pointer(&format!("/filters/{}", filter.name));
            let mut line = Map::new();
            for key in ["doc_id", "doc", "target", "arguments", "resps"] {
                line.insert(key.into(), record.get(key).cloned().unwrap_or(Value::Null));
            }
            line.insert(
                "filtered_resps".into(),
                per_filter
                    .and_then(|f| f.get("filtered_resps"))
                    .cloned()
                    .unwrap_or(Value::Null),
            );
            line.insert("filter".into(), json!(filter.name));
            line.insert("metrics".into(), json!(task.metric_names()));
            for key in ["doc_hash", "prompt_hash", "target_hash"] {
                line.insert(key.into(), record.get(key).cloned().unwrap_or(Value::Null));
            }
            for metric in task.metric_names() {
                let value = per_filter
                    .and_then(|f| f.get(metric.as_str()))
                    .cloned()
                    .unwrap_or(Value::Null);
                line.insert(metric, value);
            }
            // yardstick's addition: how each candidate program ended (code tasks).
            if let Some(executions) = per_filter.and_then(|f| f.get("executions")) {
                line.insert("executions".into(), executions.clone());
            }
            lines.push(Value::Object(line));
        }
    }
    lines
}

/// The log-likelihoods stored in a record's `filtered_resps`.
pub(crate) fn record_loglikelihoods(record: &Value) -> Option<Vec<f64>> {
    record
        .get("filtered_resps")?
        .as_array()?
        .iter()
        .map(|pair| pair.get(0)?.as_str()?.parse().ok())
        .collect()
}

fn python_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}
