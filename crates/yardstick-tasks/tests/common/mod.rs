//! What the integration tests share: finding the benchmark data, and reading lm-eval's
//! fixture records.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use serde_json::Value;
use std::path::PathBuf;

/// The benchmark data directory (`YARDSTICK_DATA_DIR`, else `../shared/data` beside the
/// repository); fails loudly unless every path in `needed` is there.
pub fn data_dir(needed: &[&str]) -> PathBuf {
    let dir = std::env::var_os("YARDSTICK_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        });
    for path in needed {
        assert!(
            dir.join(path).exists(),
            "benchmark data not found at {} (no {path}); set YARDSTICK_DATA_DIR",
            dir.display()
        );
    }
    dir
}

/// A JSON value as Python's `str()` prints it (what lm-eval logs as the target).
pub fn python_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Null => "None".to_owned(),
        other => other.to_string(),
    }
}

/// One request of an lm-eval `Instance.arguments` record: (context, continuation).
pub fn text_pair(pair: &Value) -> (String, String) {
    let text = |v: &Value| {
        v.as_str()
            .unwrap_or_else(|| panic!("not a string: {v}"))
            .to_owned()
    };
    (text(&pair[0]), text(&pair[1]))
}
