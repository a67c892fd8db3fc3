//! The GGUF backend against fixtures made by llama-cpp-python on the same files
//! (scripts/fixtures/), and its error handling on bad files.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use yardstick_core::{LoglikelihoodRequest, TokenId};
use yardstick_models::{
    cached_model, Backend, GgufModel, ModelError, ScoringMode, SessionOptions, DEMO_MODEL,
    GEMMA_MODEL,
};

fn fixture(relative: &str) -> PathBuf {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let plain = base.join(relative);
    if plain.exists() {
        return plain;
    }
    let gz = base.join(format!("{relative}.gz"));
    assert!(
        gz.exists(),
        "fixture {} missing; see scripts/fixtures/README.md",
        plain.display()
    );
    gz
}

/// Header and rows of a JSON Lines fixture (gzipped or not).
fn read_fixture(path: &Path) -> (Value, Vec<Value>) {
    let file = std::fs::File::open(path).unwrap();
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut lines = BufReader::new(reader).lines();
    let header: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let rows = lines
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    (header, rows)
}

fn load(file: &str) -> GgufModel {
    let path = cached_model(file);
    assert!(
        path.exists(),
        "model {} missing: run scripts/setup.sh (it fetches the models into the cache)",
        path.display()
    );
    GgufModel::load(&path).unwrap()
}

fn ids(value: &Value) -> Vec<TokenId> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| TokenId(v.as_i64().unwrap() as i32))
        .collect()
}

/// Strings on which the llama.cpp inside llama-cpp-2 knowingly differs from
/// llama-cpp-python 0.3.16 (and from Hugging Face's tokenizer): it overrides
/// control-looking user-defined tokens such as Gemma's `</s>` to control type, so with
/// special-token parsing off their text is split into ordinary pieces. Each entry is
/// (text, ids this llama.cpp gives); the fixture holds the other answer.
const KNOWN_LLAMA_CPP_OVERRIDES: &[(&str, &[i32])] = &[
    ("</s>", &[2, 954, 236751, 236813]),
    ("<s> hello </s>", &[2, 203, 29104, 1454, 236751, 236813]),
];

fn check_tokenizer(model_file: &str, fixture_name: &str) {
    let model = load(model_file);
    let (header, rows) = read_fixture(&fixture(fixture_name));
    assert_eq!(
        header["model_sha256"].as_str().unwrap(),
        model_fingerprint_hex(&model),
        "fixture was made from a different file"
    );
    assert_eq!(
        header["add_bos"].as_bool().unwrap(),
        model.tokenizer_info().adds_bos
    );
    assert!(rows.len() >= 2000, "fixture too small: {}", rows.len());
    let mut mismatches = Vec::new();
    for row in &rows {
        let text = row["text"].as_str().unwrap();
        let expected = ids(&row["ids"]);
        let got = model.tokenize(text);
        if let Some((_, ids)) = KNOWN_LLAMA_CPP_OVERRIDES.iter().find(|(t, _)| *t == text) {
            if model_file == GEMMA_MODEL {
                let ids: Vec<TokenId> = ids.iter().map(|&i| TokenId(i)).collect();
                assert_eq!(got, ids, "known override of {text:?} changed");
                continue;
            }
        }
        if got != expected {
            mismatches.push(format!("{text:?}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        rows.len(),
        mismatches[..mismatches.len().min(5)].join("\n")
    );
}

fn model_fingerprint_hex(model: &GgufModel) -> String {
    model
        .fingerprint()
        .as_str()
        .trim_start_matches("sha256:")
        .to_owned()
}

#[test]
fn tokenizer_matches_llama_cpp_python_smollm2() {
    check_tokenizer(DEMO_MODEL, "tokenizer/smollm2-135m-q4_1.jsonl");
}

#[test]
fn tokenizer_matches_llama_cpp_python_gemma3() {
    check_tokenizer(GEMMA_MODEL, "tokenizer/gemma3-270m-q4_k_m.jsonl");
}

#[test]
fn detokenisation_round_trips() {
    for file in [DEMO_MODEL, GEMMA_MODEL] {
        let model = load(file);
        let skip = usize::from(model.tokenizer_info().adds_bos);
        for text in [
            "Question: Which gas do plants take in?\nAnswer:",
            " carbon dioxide",
            "naïve café — 3.14 ✓",
            "a  b\t\tc\n\n",
        ] {
            let tokens = model.tokenize(text);
            assert_eq!(model.detokenize(&tokens[skip..]), text, "{file}");
        }
    }
}

#[test]
fn special_token_text_is_not_parsed() {
    let model = load(DEMO_MODEL);
    let tokens = model.tokenize("<|im_start|>");
    assert!(
        tokens.len() > 1,
        "special-token text became one control token: {tokens:?}"
    );
}

/// How close scores must come to the reference.
struct Tolerance {
    mean_abs_nats: f64,
    choice_agreement: f64,
}

/// The bar: within 0.01 nats on average, the same answer on 99.5% of questions.
const PARITY: Tolerance = Tolerance {
    mean_abs_nats: 0.01,
    choice_agreement: 0.995,
};

/// Token ids must equal the reference's exactly; log-likelihoods must agree to `tolerance`.
fn check_loglikelihood_fixture(
    model_file: &str,
    fixture_name: &str,
    mode: ScoringMode,
    tolerance: Tolerance,
) {
    let model = load(model_file);
    let (header, rows) = read_fixture(&fixture(fixture_name));
    assert_eq!(
        header["model_sha256"].as_str().unwrap(),
        model_fingerprint_hex(&model)
    );
    assert!(
        rows.len() >= 500,
        "need at least 500 pairs, fixture has {}",
        rows.len()
    );
    let requests: Vec<LoglikelihoodRequest> = rows
        .iter()
        .map(|r| {
            LoglikelihoodRequest::new(
                r["context"].as_str().unwrap(),
                r["continuation"].as_str().unwrap(),
            )
        })
        .collect();
    for (row, request) in rows.iter().zip(&requests) {
        let (ctx, cont) = model.encode_request(request);
        assert_eq!(
            ctx,
            ids(&row["context_ids"]),
            "context tokens of {:?}",
            request.context
        );
        assert_eq!(
            cont,
            ids(&row["continuation_ids"]),
            "continuation tokens of {:?}",
            request.continuation
        );
    }
    let mut session = model
        .session(SessionOptions {
            mode,
            ..Default::default()
        })
        .unwrap();
    let got = session.loglikelihood(&requests).unwrap();
    let diffs: Vec<f64> = rows
        .iter()
        .zip(&got)
        .map(|(r, g)| (r["logprob"].as_f64().unwrap() - g.logprob.0).abs())
        .collect();
    let mean_abs = diffs.iter().sum::<f64>() / diffs.len() as f64;
    // Per question: the choice each side predicts.
    let mut by_doc: std::collections::BTreeMap<i64, Vec<(f64, f64)>> = Default::default();
    for (r, g) in rows.iter().zip(&got) {
        by_doc
            .entry(r["doc_index"].as_i64().unwrap())
            .or_default()
            .push((r["logprob"].as_f64().unwrap(), g.logprob.0));
    }
    let argmax = |xs: Vec<f64>| {
        xs.iter()
            .enumerate()
            .fold(
                (0, f64::NEG_INFINITY),
                |b, (i, &x)| if x > b.1 { (i, x) } else { b },
            )
            .0
    };
    let agree = by_doc
        .values()
        .filter(|pairs| {
            argmax(pairs.iter().map(|p| p.0).collect())
                == argmax(pairs.iter().map(|p| p.1).collect())
        })
        .count();
    let agreement = agree as f64 / by_doc.len() as f64;
    let greedy_agree = rows
        .iter()
        .zip(&got)
        .filter(|(r, g)| r["is_greedy"].as_bool().unwrap() == g.is_greedy)
        .count();
    println!(
        "{model_file} ({mode:?}): {} pairs, {} questions: mean |Δ logprob| = {mean_abs:.5} nats, max = {:.5}, predicted choice equal on {:.2}% , is_greedy equal on {}/{}",
        rows.len(),
        by_doc.len(),
        diffs.iter().copied().fold(0.0, f64::max),
        agreement * 100.0,
        greedy_agree,
        rows.len()
    );
    assert!(
        mean_abs <= tolerance.mean_abs_nats,
        "mean absolute difference {mean_abs} > {} nats",
        tolerance.mean_abs_nats
    );
    assert!(
        agreement >= tolerance.choice_agreement,
        "predicted choice equal on only {:.2}%",
        agreement * 100.0
    );
}

#[test]
fn loglikelihood_matches_llama_cpp_python_smollm2() {
    check_loglikelihood_fixture(
        DEMO_MODEL,
        "loglik/arc_easy-smollm2-135m-q4_1.jsonl",
        ScoringMode::SharedPrefix,
        PARITY,
    );
}

/// Gemma-3's Q4_K weights are repacked by llama.cpp for a batched kernel, and that
/// kernel changed between llama-cpp-python 0.3.16's llama.cpp and the one in
/// llama-cpp-2: on the same file, decoded in the same shape (plain mode), the two
/// versions differ by 0.14 nats per choice on average (measured; BENCHMARKS.md). Token ids
/// must still match exactly (Gemma adds BOS, so this checks lm-eval's pair encoding with
/// a BOS model); scores must agree to the cross-version spread, which still catches a
/// broken context, position or BOS (those move scores by whole nats).
#[test]
fn loglikelihood_close_to_llama_cpp_python_gemma3() {
    check_loglikelihood_fixture(
        GEMMA_MODEL,
        "loglik/arc_easy-gemma3-270m-q4_k_m.jsonl",
        ScoringMode::Plain,
        Tolerance {
            mean_abs_nats: 0.25,
            choice_agreement: 0.97,
        },
    );
}

#[test]
fn shared_prefix_equals_plain_scoring() {
    let model = load(DEMO_MODEL);
    let (_, rows) = read_fixture(&fixture("loglik/arc_easy-smollm2-135m-q4_1.jsonl"));
    let requests: Vec<LoglikelihoodRequest> = rows
        .iter()
        .take(400)
        .map(|r| {
            LoglikelihoodRequest::new(
                r["context"].as_str().unwrap(),
                r["continuation"].as_str().unwrap(),
            )
        })
        .collect();
    let mut session = model.session(SessionOptions::default()).unwrap();
    session.set_mode(ScoringMode::SharedPrefix);
    let shared = session.loglikelihood(&requests).unwrap();
    session.set_mode(ScoringMode::Plain);
    let plain = session.loglikelihood(&requests).unwrap();
    let worst = shared
        .iter()
        .zip(&plain)
        .map(|(a, b)| (a.logprob.0 - b.logprob.0).abs())
        .fold(0.0, f64::max);
    println!(
        "max |shared - plain| over {} choices: {worst:.2e}",
        requests.len()
    );
    assert!(worst <= 1e-3, "shared-prefix and plain differ by {worst}");
    for (a, b) in shared.iter().zip(&plain) {
        assert_eq!(a.continuation_tokens, b.continuation_tokens);
    }
}

#[test]
fn empty_context_and_single_token_continuations_are_scored() {
    let model = load(DEMO_MODEL);
    let mut session = model.session(SessionOptions::default()).unwrap();
    let requests = vec![
        LoglikelihoodRequest::new("", "The sky is blue."),
        LoglikelihoodRequest::new("The capital of France is", " Paris"),
        LoglikelihoodRequest::new("The capital of France is ", "Paris"),
    ];
    let got = session.loglikelihood(&requests).unwrap();
    assert!(got
        .iter()
        .all(|r| r.logprob.0 < 0.0 && r.logprob.0.is_finite()));
    // Trailing context whitespace moves into the continuation: the two spellings agree.
    assert!((got[1].logprob.0 - got[2].logprob.0).abs() < 1e-9);
    assert!(got[0].continuation_tokens >= 4);
}

#[test]
fn missing_file_is_a_clear_error() {
    match GgufModel::load(Path::new("/nonexistent/model.gguf")) {
        Err(e @ ModelError::NotFound { .. }) => {
            assert!(e.to_string().contains("/nonexistent/model.gguf"))
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[test]
fn non_gguf_and_truncated_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.gguf");
    std::fs::write(&text, "hello, not a model").unwrap();
    assert!(matches!(
        GgufModel::load(&text),
        Err(ModelError::NotGguf { .. })
    ));

    let truncated = dir.path().join("cut.gguf");
    let real = std::fs::read(cached_model(DEMO_MODEL)).unwrap();
    std::fs::write(&truncated, &real[..real.len() / 3]).unwrap();
    let err = GgufModel::load(&truncated).unwrap_err();
    assert!(matches!(err, ModelError::Load { .. }), "{err:?}");
    assert!(err.to_string().contains("corrupt"), "{err}");
}
