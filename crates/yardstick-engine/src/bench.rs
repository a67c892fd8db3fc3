//! Scoring throughput, measured against llama.cpp's own raw prefill on the same file,
//! thread count and batch size, in the same process.

use crate::EngineError;
use serde::Serialize;
use std::time::{Duration, Instant};
use yardstick_core::{GenerateRequest, LoglikelihoodRequest, Sampling, TokenId};
use yardstick_models::{Backend, GgufModel, ScoringMode, SessionOptions};
use yardstick_tasks::MultipleChoiceDoc;

/// One measured configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// What was measured.
    pub label: String,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Tokens counted for the throughput (see [`ScoringBenchmark`]).
    pub tokens: usize,
    /// `tokens / seconds`.
    pub tokens_per_second: f64,
    /// Documents per second (0 for the raw prefill).
    pub docs_per_second: f64,
}

impl Measurement {
    fn new(label: &str, elapsed: Duration, tokens: usize, docs: usize) -> Self {
        let seconds = elapsed.as_secs_f64();
        Self {
            label: label.to_owned(),
            seconds,
            tokens,
            tokens_per_second: tokens as f64 / seconds,
            docs_per_second: docs as f64 / seconds,
        }
    }
}

/// The scoring benchmark's figures.
///
/// Scored tokens are counted as a plain scorer processes them: for every request, its
/// context and its continuation but the last token. Shared-prefix scoring computes fewer
/// tokens for the same answers; counting what a plain scorer would have processed makes
/// the two comparable, as the speed a user sees.
#[derive(Debug, Clone, Serialize)]
pub struct ScoringBenchmark {
    /// Documents scored.
    pub docs: usize,
    /// Requests (choices) scored.
    pub requests: usize,
    /// Tokens a plain scorer processes for these requests.
    pub plain_tokens: usize,
    /// Tokens the shared-prefix scorer actually decodes.
    pub shared_tokens: usize,
    /// llama.cpp's raw prefill: one sequence, one batch at a time, logits for the last token.
    pub raw_prefill: Measurement,
    /// Shared-prefix scoring.
    pub shared_prefix: Measurement,
    /// Plain scoring (context recomputed per choice).
    pub plain: Measurement,
    /// Packed scoring (many questions per batch).
    pub packed: Measurement,
    /// Largest difference between shared-prefix and plain log-likelihoods.
    pub max_shared_vs_plain: f64,
    /// Largest difference between packed and plain log-likelihoods.
    pub max_packed_vs_plain: f64,
}

/// Runs the benchmark on `docs` with `options` (threads and batch size are shared by
/// all three measurements).
pub fn scoring_benchmark(
    model: &GgufModel,
    docs: &[MultipleChoiceDoc],
    options: SessionOptions,
) -> Result<ScoringBenchmark, EngineError> {
    let requests: Vec<LoglikelihoodRequest> = docs
        .iter()
        .flat_map(|d| d.requests.iter().cloned())
        .collect();
    let mut plain_tokens = 0;
    let mut shared_tokens = 0;
    for doc in docs {
        let mut context_counted = false;
        for request in &doc.requests {
            let (ctx, cont) = model.encode_request(request);
            let fed = cont.len().saturating_sub(1);
            plain_tokens += ctx.len() + fed;
            shared_tokens += fed + if context_counted { 0 } else { ctx.len() };
            context_counted = true;
        }
    }

    let mut session = model.session(options.clone())?;
    // Warm-up: page the weights in and let the thread pool settle.
    session.loglikelihood(&requests[..requests.len().min(32)])?;

    // The raw prefill is measured half before and half after the scorers, so that drift
    // in the machine's speed during the run weighs on both sides alike.
    let prefill_tokens = prefill_text(model, docs, options.batch_tokens as usize);
    let rounds = (plain_tokens / prefill_tokens.len().max(1)).clamp(4, 64);
    let mut raw_elapsed = Duration::ZERO;
    for _ in 0..rounds / 2 {
        raw_elapsed += session.raw_prefill(&prefill_tokens)?;
    }

    session.set_mode(ScoringMode::SharedPrefix);
    let start = Instant::now();
    let shared_scores = session.loglikelihood(&requests)?;
    let shared_prefix = Measurement::new(
        "shared-prefix scoring",
        start.elapsed(),
        plain_tokens,
        docs.len(),
    );

    session.set_mode(ScoringMode::Plain);
    let start = Instant::now();
    let plain_scores = session.loglikelihood(&requests)?;
    let plain = Measurement::new("plain scoring", start.elapsed(), plain_tokens, docs.len());

    session.set_mode(ScoringMode::Packed);
    let start = Instant::now();
    let packed_scores = session.loglikelihood(&requests)?;
    let packed = Measurement::new("packed scoring", start.elapsed(), plain_tokens, docs.len());

    for _ in rounds / 2..rounds {
        raw_elapsed += session.raw_prefill(&prefill_tokens)?;
    }
    let raw_prefill = Measurement::new(
        "llama.cpp raw prefill",
        raw_elapsed,
        prefill_tokens.len() * rounds,
        0,
    );

    let max_difference = |a: &[yardstick_core::LoglikelihoodResponse],
                          b: &[yardstick_core::LoglikelihoodResponse]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x.logprob.0 - y.logprob.0).abs())
            .fold(0.0, f64::max)
    };
    Ok(ScoringBenchmark {
        docs: docs.len(),
        requests: requests.len(),
        plain_tokens,
        shared_tokens,
        raw_prefill,
        shared_prefix,
        plain,
        packed,
        max_shared_vs_plain: max_difference(&shared_scores, &plain_scores),
        max_packed_vs_plain: max_difference(&packed_scores, &plain_scores),
    })
}

/// A batch-length run of real benchmark text for the raw prefill.
fn prefill_text(model: &GgufModel, docs: &[MultipleChoiceDoc], length: usize) -> Vec<TokenId> {
    let mut tokens = Vec::with_capacity(length);
    for doc in docs.iter().cycle().take(docs.len().max(1) * 64) {
        for token in model.tokenize(doc.prompt()) {
            if tokens.len() == length {
                return tokens;
            }
            tokens.push(token);
        }
    }
    tokens
}

/// The generation benchmark's figures: generated tokens per second (prompt processing
/// included on every side) for llama.cpp's plain one-sequence greedy loop and for
/// yardstick's generator with one and with several sequences per decode call.
#[derive(Debug, Clone, Serialize)]
pub struct GenerationBenchmark {
    /// Prompts generated from.
    pub prompts: usize,
    /// Token budget per prompt.
    pub max_tokens: usize,
    /// Sequences per decode call in the batched run.
    pub batch: usize,
    /// llama.cpp's greedy loop, one prompt after another (the peer).
    pub raw_decode: Measurement,
    /// yardstick, one sequence at a time.
    pub batch_one: Measurement,
    /// yardstick, `batch` sequences per decode call.
    pub batched: Measurement,
}

/// Runs the generation benchmark on `prompts` (greedy, no stop strings).
pub fn generation_benchmark(
    model: &GgufModel,
    prompts: &[String],
    max_tokens: usize,
    batch: usize,
    options: SessionOptions,
) -> Result<GenerationBenchmark, EngineError> {
    let requests: Vec<GenerateRequest> = prompts
        .iter()
        .map(|prompt| GenerateRequest {
            prompt: prompt.clone(),
            until: Vec::new(),
            max_gen_toks: max_tokens,
            sampling: Sampling::Greedy,
        })
        .collect();
    let mut raw = model.session(options.clone())?;
    // Warm-up: page the weights in.
    raw.raw_decode(&prompts[0], 4.min(max_tokens))?;
    let mut raw_tokens = 0;
    let mut raw_elapsed = Duration::ZERO;
    for prompt in prompts {
        let (tokens, elapsed) = raw.raw_decode(prompt, max_tokens)?;
        raw_tokens += tokens;
        raw_elapsed += elapsed;
    }
    drop(raw);
    let run = |sequences: usize, label: &str| -> Result<Measurement, EngineError> {
        let mut session = model.session(SessionOptions {
            generation_sequences: sequences as u32,
            ..options.clone()
        })?;
        let start = Instant::now();
        let out = session.generate(&requests)?;
        let tokens = out.iter().map(|r| r.tokens.len()).sum();
        Ok(Measurement::new(
            label,
            start.elapsed(),
            tokens,
            prompts.len(),
        ))
    };
    let batch_one = run(1, "yardstick, 1 sequence")?;
    let batched = run(batch, &format!("yardstick, {batch} sequences"))?;
    Ok(GenerationBenchmark {
        prompts: prompts.len(),
        max_tokens,
        batch,
        raw_decode: Measurement::new(
            "llama.cpp greedy loop",
            raw_elapsed,
            raw_tokens,
            prompts.len(),
        ),
        batch_one,
        batched,
    })
}
