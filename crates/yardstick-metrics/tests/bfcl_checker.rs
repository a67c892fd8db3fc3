//! yardstick's BFCL decoder and AST checker against BFCL's own (`bfcl-eval` 2026.3.23)
//! on 606 model outputs over six categories (tests/fixtures/bfcl/checker_cases.jsonl,
//! made by scripts/fixtures/make_bfcl_fixture.py): the same decoded calls and the same
//! verdict and error type for every case.

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use yardstick_metrics::{
    check_calls, decode_calls, is_irrelevance_correct, Call, FunctionDoc, PyValue,
};

fn data_dir() -> PathBuf {
    let dir = std::env::var_os("YARDSTICK_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    assert!(
        dir.join("bfcl").is_dir(),
        "BFCL data missing under {}; set YARDSTICK_DATA_DIR",
        dir.display()
    );
    dir
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A value of the fixture's `decoded`, with its `$tuple` and `$dict` tags.
fn fixture_value(value: &Value) -> PyValue {
    if let Some(items) = value.get("$tuple").and_then(Value::as_array) {
        return PyValue::Tuple(items.iter().map(fixture_value).collect());
    }
    if let Some(pairs) = value.get("$dict").and_then(Value::as_array) {
        return PyValue::Dict(
            pairs
                .iter()
                .map(|p| (fixture_value(&p[0]), fixture_value(&p[1])))
                .collect(),
        );
    }
    match value {
        Value::Array(items) => PyValue::List(items.iter().map(fixture_value).collect()),
        Value::Object(map) => PyValue::Dict(
            map.iter()
                .map(|(k, v)| (PyValue::Str(k.clone()), fixture_value(v)))
                .collect(),
        ),
        other => PyValue::from_json(other),
    }
}

fn fixture_calls(decoded: &Value) -> Vec<Call> {
    decoded
        .as_array()
        .unwrap()
        .iter()
        .map(|call| {
            let (name, args) = call.as_object().unwrap().iter().next().unwrap();
            let arguments = match fixture_value(args) {
                PyValue::Dict(pairs) => pairs
                    .into_iter()
                    .map(|(k, v)| match k {
                        PyValue::Str(k) => (Some(k), v),
                        _ => (None, v),
                    })
                    .collect(),
                other => panic!("arguments are not a dict: {other:?}"),
            };
            Call {
                name: name.clone(),
                arguments,
            }
        })
        .collect()
}

#[test]
fn decoder_and_checker_agree_with_bfcl_on_every_fixture_case() {
    let data = data_dir();
    let mut questions: HashMap<String, Value> = HashMap::new();
    let mut answers: HashMap<String, Value> = HashMap::new();
    for category in [
        "simple_python",
        "multiple",
        "parallel",
        "parallel_multiple",
        "live_simple",
        "irrelevance",
    ] {
        for q in jsonl(&data.join(format!("bfcl/BFCL_v4_{category}.json"))) {
            questions.insert(q["id"].as_str().unwrap().to_owned(), q);
        }
        let answer_file = data.join(format!("bfcl/possible_answer/BFCL_v4_{category}.json"));
        if answer_file.exists() {
            for a in jsonl(&answer_file) {
                answers.insert(a["id"].as_str().unwrap().to_owned(), a);
            }
        }
    }
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/bfcl/checker_cases.jsonl");
    let cases = jsonl(&fixture);
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in cases.iter().skip(1) {
        let category = case["category"].as_str().unwrap();
        let id = case["id"].as_str().unwrap();
        let text = case["text"].as_str().unwrap();
        let decoded = decode_calls(text);
        match (&decoded, case["decoded"].is_null()) {
            (Ok(calls), false) => {
                if *calls != fixture_calls(&case["decoded"]) {
                    failures.push(format!(
                        "{id} {}: decoded {calls:?}, BFCL {}",
                        case["kind"], case["decoded"]
                    ));
                }
            }
            (Err(_), true) => {}
            (Ok(calls), true) => failures.push(format!(
                "{id} {}: decoded {calls:?}, BFCL failed ({})",
                case["kind"], case["decode_error"]
            )),
            (Err(e), false) => failures.push(format!(
                "{id} {}: {e}, BFCL decoded {}",
                case["kind"], case["decoded"]
            )),
        }
        let (valid, error_type) = if category == "irrelevance" {
            let valid = is_irrelevance_correct(text);
            (
                valid,
                (!valid).then(|| "irrelevance_error:decoder_success".to_owned()),
            )
        } else {
            match decoded {
                Err(_) => (false, Some("ast_decoder:decoder_failed".to_owned())),
                Ok(calls) => {
                    let functions: Vec<FunctionDoc> = questions[id]["function"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| FunctionDoc::from_json(f).unwrap())
                        .collect();
                    let outcome = check_calls(
                        category,
                        &functions,
                        &calls,
                        &answers[id]["ground_truth"],
                        false,
                    );
                    (outcome.valid, outcome.error_type)
                }
            }
        };
        let expected_type = case["error_type"].as_str().map(str::to_owned);
        if valid != case["valid"].as_bool().unwrap() || error_type != expected_type {
            failures.push(format!(
                "{id} {}: {valid} {error_type:?}, BFCL {} {expected_type:?}: {text}",
                case["kind"], case["valid"]
            ));
        }
        checked += 1;
    }
    assert_eq!(checked, 606);
    assert!(
        failures.is_empty(),
        "{} of {checked} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
