//! The BFCL system prompt yardstick builds equals BFCL's own (`bfcl-eval` 2026.3.23,
//! default prompting format) for every question of the checker fixture: 453 questions
//! over six categories, one with its own system message and several with non-ASCII
//! function docs (sha256 of the system message, recorded by
//! scripts/fixtures/make_bfcl_fixture.py).

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use yardstick_core::sha256_hex;
use yardstick_suites::bfcl::messages;

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

#[test]
fn system_prompts_equal_bfcl_for_every_fixture_question() {
    let data = data_dir();
    let mut questions: HashMap<String, Value> = HashMap::new();
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
    }
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/bfcl/checker_cases.jsonl");
    let mut checked = std::collections::BTreeSet::new();
    for case in jsonl(&fixture).iter().skip(1) {
        let id = case["id"].as_str().unwrap();
        let conversation = messages(&questions[id]);
        assert_eq!(conversation[0].role, "system");
        assert_eq!(
            sha256_hex(conversation[0].content.as_bytes()),
            case["system_sha256"].as_str().unwrap(),
            "{id}"
        );
        assert_eq!(conversation.last().unwrap().role, "user", "{id}");
        checked.insert(id.to_owned());
    }
    assert_eq!(checked.len(), 453);
}
