//! What a GGUF gives chat templates, its `tokenizer.chat_template` and the special
//! tokens' text, is what the chat prompt fixture
//! (`tests/fixtures/prompts/lm_eval-chat-prompts.jsonl.gz`, from
//! `scripts/parity/dump_prompts.py --fixture chat`) read from the same files with
//! llama-cpp-python, and rendered lm-eval's chat prompts with.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use yardstick_models::{cached_model, GgufModel, DEMO_MODEL, GEMMA_MODEL};

/// The fixture's header line.
fn fixture_header() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/prompts/lm_eval-chat-prompts.jsonl.gz");
    let file = std::fs::File::open(&path)
        .unwrap_or_else(|e| panic!("prompt fixture {} missing: {e}", path.display()));
    let mut lines = BufReader::new(flate2::read::GzDecoder::new(file)).lines();
    serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap()
}

#[test]
fn chat_template_and_special_tokens_match_the_fixture() {
    let header = fixture_header();
    let models = header["models"]
        .as_object()
        .expect("header lists the models");
    assert_eq!(
        models.keys().map(String::as_str).collect::<Vec<_>>(),
        [DEMO_MODEL, GEMMA_MODEL],
        "models in the fixture"
    );
    for (file, expected) in models {
        let path = cached_model(file);
        assert!(
            path.exists(),
            "model {} missing: run scripts/setup.sh (it fetches the models into the cache)",
            path.display()
        );
        let model = GgufModel::load(&path).unwrap();
        let template = expected["chat_template"].as_str().map(str::to_owned);
        assert_eq!(model.chat_template(), template, "{file}: chat template");
        let special_tokens: Vec<(String, String)> = expected["special_tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| {
                let text = |i: usize| pair[i].as_str().unwrap().to_owned();
                (text(0), text(1))
            })
            .collect();
        assert_eq!(
            model.special_tokens(),
            special_tokens,
            "{file}: special tokens"
        );
    }
}
