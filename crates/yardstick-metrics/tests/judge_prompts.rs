//! FastChat's MT-Bench judge prompts, read from the data directory and rendered by
//! yardstick, are byte-identical to what FastChat's Python `str.format` makes of them
//! (fixture: tests/fixtures/judge, made by scripts/fixtures/make_judge_prompt_fixture.py),
//! and judgments are read as FastChat reads them.

use serde_json::Value;
use std::path::{Path, PathBuf};
use yardstick_core::sha256_hex;
use yardstick_metrics::{load_judge_prompts, parse_pair_verdict, parse_rating, PairVerdict};

fn data_dir() -> PathBuf {
    let dir = std::env::var_os("YARDSTICK_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    assert!(
        dir.join("mt_bench").exists(),
        "benchmark data not found at {}; set YARDSTICK_DATA_DIR",
        dir.display()
    );
    dir
}

fn fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/judge/judge_prompts_rendered.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn judge_prompts_render_exactly_as_fastchat_formats_them() {
    let prompts = load_judge_prompts(&data_dir().join("mt_bench/judge_prompts.jsonl")).unwrap();
    let fixture = fixture();
    let expected = fixture["prompts"].as_array().unwrap();
    assert_eq!(prompts.len(), 8);
    assert_eq!(expected.len(), prompts.len());
    for (prompt, want) in prompts.iter().zip(expected) {
        assert_eq!(want["name"], prompt.name.as_str());
        let fields: Vec<(&str, &str)> = want["fields"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
            .collect();
        let rendered = prompt.render(&fields).unwrap();
        assert_eq!(
            sha256_hex(rendered.as_bytes()),
            want["user_prompt_sha256"].as_str().unwrap(),
            "{}: {rendered}",
            prompt.name
        );
        assert_eq!(
            sha256_hex(prompt.system_prompt.as_bytes()),
            want["system_prompt_sha256"].as_str().unwrap()
        );
    }
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    for name in [
        "single-v1",
        "single-math-v1",
        "single-v1-multi-turn",
        "single-math-v1-multi-turn",
        "pair-v2",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
}

#[test]
fn judgments_are_read_as_fastchat_reads_them() {
    let fixture = fixture();
    for case in fixture["ratings"].as_array().unwrap() {
        let judgment = case["judgment"].as_str().unwrap();
        let expected = case["rating"].as_f64().unwrap();
        let expected = (expected != -1.0).then_some(expected);
        assert_eq!(parse_rating(judgment), expected, "{judgment}");
    }
    for case in fixture["verdicts"].as_array().unwrap() {
        let judgment = case["judgment"].as_str().unwrap();
        let expected = match case["verdict"].as_str().unwrap() {
            "A" => Some(PairVerdict::A),
            "B" => Some(PairVerdict::B),
            "tie" => Some(PairVerdict::Tie),
            _ => None,
        };
        assert_eq!(parse_pair_verdict(judgment), expected, "{judgment}");
    }
}
