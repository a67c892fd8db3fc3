//! Text generation on the GGUF backend against llama-cpp-python's own greedy loop on the
//! same file (tests/fixtures/generate/, made by scripts/fixtures/make_generate_fixture.py):
//! one sequence at a time it must agree token for token; batched, wherever it departs the
//! reference must have been at a near-tie.

use serde_json::Value;
use std::path::Path;
use yardstick_core::{GenerateRequest, Sampling, StopReason, TokenId};
use yardstick_models::{cached_model, Backend, GgufModel, SessionOptions, DEMO_MODEL};

const FIXTURE: &str = "gsm8k-greedy-smollm2-135m-q4_1.jsonl";

fn fixture_rows() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/generate")
        .join(FIXTURE);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "fixture {} missing ({e}); see scripts/fixtures/README.md",
            path.display()
        )
    });
    text.lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn demo_model() -> GgufModel {
    let path = cached_model(DEMO_MODEL);
    assert!(
        path.exists(),
        "demo model missing at {}: run scripts/setup.sh",
        path.display()
    );
    GgufModel::load(&path).unwrap()
}

fn greedy(prompt: &str, max_gen_toks: usize) -> GenerateRequest {
    GenerateRequest {
        prompt: prompt.to_owned(),
        until: Vec::new(),
        max_gen_toks,
        sampling: Sampling::Greedy,
    }
}

fn tokens_of(row: &Value) -> Vec<TokenId> {
    row["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| TokenId(t.as_i64().unwrap() as i32))
        .collect()
}

fn options(sequences: u32) -> SessionOptions {
    SessionOptions {
        generation_sequences: sequences,
        ..SessionOptions::default()
    }
}

#[test]
fn one_at_a_time_greedy_matches_llama_cpp_python_exactly() {
    let model = demo_model();
    let rows = fixture_rows();
    let mut session = model.session(options(1)).unwrap();
    for row in rows.iter().take(12) {
        let prompt = row["prompt"].as_str().unwrap();
        let expected = tokens_of(row);
        let out = session.generate(&[greedy(prompt, 128)]).unwrap();
        assert_eq!(out[0].tokens, expected, "prompt {}", row["index"]);
        let stop = if row["stopped_on_eog"].as_bool().unwrap() {
            StopReason::EndOfGeneration
        } else {
            StopReason::MaxTokens
        };
        assert_eq!(out[0].stop, stop);
        assert_eq!(out[0].text, model.detokenize(&expected));
    }
}

#[test]
fn batched_greedy_departs_only_at_near_ties() {
    let model = demo_model();
    let rows = fixture_rows();
    assert_eq!(rows.len(), 100);
    let requests: Vec<GenerateRequest> = rows
        .iter()
        .map(|r| greedy(r["prompt"].as_str().unwrap(), 128))
        .collect();
    let mut session = model.session(options(8)).unwrap();
    let out = session.generate(&requests).unwrap();
    let mut identical = 0;
    let mut departures = Vec::new();
    for (row, response) in rows.iter().zip(&out) {
        let expected = tokens_of(row);
        if response.tokens == expected {
            identical += 1;
            continue;
        }
        let step = response
            .tokens
            .iter()
            .zip(&expected)
            .take_while(|(a, b)| a == b)
            .count();
        let gap = row["top2_gap"][step].as_f64().unwrap_or(f64::INFINITY);
        departures.push((row["index"].as_u64().unwrap(), step, gap));
    }
    assert!(
        identical >= 97,
        "only {identical} of 100 identical; departures (prompt, step, top-2 gap): {departures:?}"
    );
    for (prompt, step, gap) in &departures {
        assert!(
            *gap < 0.01,
            "prompt {prompt} departs at step {step}, where the reference's top-2 gap is {gap}"
        );
    }
}

#[test]
fn stop_strings_cut_the_text_and_seeds_repeat() {
    let model = demo_model();
    let mut session = model.session(options(4)).unwrap();
    let prompt =
        "Question: Tom has 3 apples and buys 4 more. How many apples does he have?\nAnswer:";
    let free = session.generate(&[greedy(prompt, 48)]).unwrap().remove(0);
    // Stop at a piece of the free text that spans more than one token.
    let chars: Vec<char> = free.text.chars().collect();
    let stop: String = chars[chars.len() / 2..chars.len() / 2 + 3].iter().collect();
    let mut request = greedy(prompt, 48);
    request.until = vec![stop.clone()];
    let cut = session.generate(&[request]).unwrap().remove(0);
    assert_eq!(cut.stop, StopReason::Until(stop.clone()));
    assert_eq!(cut.text, free.text[..free.text.find(&stop).unwrap()]);

    let sampled = |seed| GenerateRequest {
        prompt: prompt.to_owned(),
        until: Vec::new(),
        max_gen_toks: 24,
        sampling: Sampling::Sample {
            temperature: 1.0,
            top_p: 0.95,
            top_k: 50,
            seed,
        },
    };
    let a = session.generate(&[sampled(7), sampled(8)]).unwrap();
    let b = session.generate(&[sampled(7), sampled(8)]).unwrap();
    assert_eq!(a[0].text, b[0].text, "same seed, same text");
    assert_ne!(a[0].text, a[1].text, "another seed, another text");
}
