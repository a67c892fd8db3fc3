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

fn link(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(from, to).unwrap();
}

/// The shared data laid out in `dir` as lm-eval's task folder has it
/// (`scripts/parity/lm_eval_tasks.py`): links to the shared files, plus the train splits
/// ARC, HellaSwag and WinoGrande lack there, written as copies of validation.
pub fn data_with_train_splits(dir: &std::path::Path) -> yardstick_tasks::DataDir {
    use std::io::Read;
    let shared = data_dir(&["hf/cais/mmlu", "hellaswag", "gsm8k/train.jsonl"]);
    link(&shared.join("hf/cais"), &dir.join("hf/cais"));
    link(&shared.join("hf/truthfulqa"), &dir.join("hf/truthfulqa"));
    link(&shared.join("gsm8k"), &dir.join("gsm8k"));
    for config in ["ARC-Easy", "ARC-Challenge"] {
        let from = shared.join("hf/allenai/ai2_arc").join(config);
        let to = dir.join("hf/allenai/ai2_arc").join(config);
        link(&from.join("test.jsonl"), &to.join("test.jsonl"));
        link(&from.join("validation.jsonl"), &to.join("validation.jsonl"));
        std::fs::copy(from.join("validation.jsonl"), to.join("train.jsonl")).unwrap();
    }
    let hellaswag = shared.join("hellaswag/hellaswag_val.jsonl.gz");
    link(&hellaswag, &dir.join("hellaswag/hellaswag_val.jsonl.gz"));
    let mut validation = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&hellaswag).unwrap())
        .read_to_end(&mut validation)
        .unwrap();
    std::fs::write(dir.join("hellaswag/hellaswag_train.jsonl"), validation).unwrap();
    let winogrande = shared.join("winogrande/dev.jsonl");
    link(&winogrande, &dir.join("winogrande/dev.jsonl"));
    std::fs::copy(&winogrande, dir.join("winogrande/train_xl.jsonl")).unwrap();
    yardstick_tasks::DataDir::new(Some(dir.to_owned()))
}

/// A prompt fixture under tests/fixtures/prompts (gzipped JSON Lines): its header line
/// and its records.
pub fn prompt_fixture(name: &str) -> (Value, Vec<Value>) {
    use std::io::Read;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/prompts")
        .join(name);
    let file = std::fs::File::open(&path)
        .unwrap_or_else(|e| panic!("prompt fixture {} missing: {e}", path.display()));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap();
    let mut lines = text.lines().map(|l| serde_json::from_str(l).unwrap());
    let header = lines.next().unwrap();
    (header, lines.collect())
}

/// Where two texts first differ, as a byte offset (`None` when equal).
pub fn first_difference(a: &str, b: &str) -> Option<usize> {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// Up to 60 bytes either side of `offset`, for a diff message.
pub fn around(text: &str, offset: usize) -> String {
    let bytes = text.as_bytes();
    let start = offset.saturating_sub(60);
    let end = (offset + 60).min(bytes.len());
    format!("{:?}", String::from_utf8_lossy(&bytes[start.min(end)..end]))
}
