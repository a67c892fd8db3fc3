//! Per-sample records in lm-evaluation-harness's `--log_samples` format.

use serde_json::{json, Map, Value};
use yardstick_core::{sha256_hex, GenerateResponse, LoglikelihoodResponse};
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
        "doc_hash": sha256_hex(python_json_indent2(&doc.doc).as_bytes()),
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
/// filters, the raw response, and under `filters` each filter's answer and metrics.
pub(crate) fn generation_record(
    task: &Task,
    doc: &GenerateDoc,
    response: &GenerateResponse,
) -> Value {
    let mut filters = Map::new();
    for filter in task.answer_filters() {
        let answer = filter.apply(std::slice::from_ref(&response.text));
        let mut entry = Map::new();
        entry.insert("filtered_resps".into(), json!([answer]));
        for metric in task.metric_names() {
            if metric == "exact_match" {
                entry.insert(metric, json!(task.exact_match(&answer, &doc.target)));
            }
        }
        filters.insert(filter.name.clone(), Value::Object(entry));
    }
    json!({
        "doc_id": doc.doc_id,
        "doc": doc.doc,
        "target": doc.target,
        "arguments": {"gen_args_0": {"arg_0": doc.request.prompt, "arg_1": doc.generation_kwargs}},
        "resps": [[response.text]],
        "filters": filters,
        "generation": {"tokens": response.tokens.len(), "stop": response.stop},
        "doc_hash": sha256_hex(python_json_indent2(&doc.doc).as_bytes()),
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

/// Python's `repr(float)`: the shortest round-trip digits, positional for exponents in
/// [-4, 16), scientific (`1e-05`) otherwise.
pub(crate) fn python_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{x:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..16).contains(&exponent) {
        let s = format!("{x}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    }
}

/// `json.dumps(value, indent=2, ensure_ascii=False)` as Python writes it.
pub(crate) fn python_json_indent2(value: &Value) -> String {
    let mut out = String::new();
    write_indented(value, 0, &mut out);
    out
}

/// `json.dumps(value, ensure_ascii=False)` as Python writes it: `", "` and `": "`
/// separators, floats as `repr`. lm-eval writes each samples line this way.
pub(crate) fn python_json_line(value: &Value) -> String {
    let mut out = String::new();
    write_compact(value, &mut out);
    out
}

fn write_compact(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_compact(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(": ");
                write_compact(item, out);
            }
            out.push('}');
        }
        Value::Number(n) if n.is_f64() => {
            out.push_str(&python_float(n.as_f64().unwrap_or(f64::NAN)))
        }
        other => out.push_str(&other.to_string()),
    }
}

fn write_indented(value: &Value, depth: usize, out: &mut String) {
    let pad = |d: usize| "  ".repeat(d);
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                write_indented(item, depth + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            out.push_str("{\n");
            for (i, (key, item)) in map.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(": ");
                write_indented(item, depth + 1, out);
                out.push_str(if i + 1 < map.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push('}');
        }
        Value::Number(n) if n.is_f64() => {
            out.push_str(&python_float(n.as_f64().unwrap_or(f64::NAN)))
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_repr() {
        assert_eq!(python_float(-3.5), "-3.5");
        assert_eq!(python_float(-12.0), "-12.0");
        assert_eq!(python_float(1e-5), "1e-05");
        assert_eq!(python_float(0.0001), "0.0001");
        assert_eq!(python_float(1e16), "1e+16");
        assert_eq!(python_float(-0.1), "-0.1");
    }

    #[test]
    fn json_line_matches_python_separators() {
        let v = json!({"a": [1, "é"], "b": {"c": -0.5}, "d": 1.0});
        assert_eq!(
            python_json_line(&v),
            "{\"a\": [1, \"é\"], \"b\": {\"c\": -0.5}, \"d\": 1.0}"
        );
    }

    #[test]
    fn json_indent_matches_python_layout() {
        let v = json!({"a": [1, "é"], "b": {}, "c": 1.0});
        assert_eq!(
            python_json_indent2(&v),
            "{\n  \"a\": [\n    1,\n    \"é\"\n  ],\n  \"b\": {},\n  \"c\": 1.0\n}"
        );
    }
}
