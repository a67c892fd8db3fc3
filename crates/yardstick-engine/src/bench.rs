//! Scoring throughput, measured against llama.cpp's own raw prefill on the same file,
//! thread count and batch size, in the same process.

use crate::EngineError;
use serde::Serialize;
use std::time::{Duration, Instant};
use yardstick_core::{GenerateRequest, LoglikelihoodRequest, Sampling, TokenId};
use yardstick_models::{Backend, GenerationTimes, GgufModel, ScoringMode, SessionOptions};
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

/// One generation run's figures: wall time and tokens, and the split llama.cpp's own
/// timings make: prompt prefill, and decode (the calls that each add one token to every
/// live sequence).
#[derive(Debug, Clone, Serialize)]
pub struct GenerationRun {
    /// What was measured.
    pub label: String,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
    /// Tokens generated.
    pub generated_tokens: usize,
    /// `generated_tokens / seconds`.
    pub tokens_per_second: f64,
    /// Seconds in prompt prefill.
    pub prefill_seconds: f64,
    /// Prompt tokens prefilled per second of prefill.
    pub prefill_tokens_per_second: f64,
    /// Seconds in decode calls.
    pub decode_seconds: f64,
    /// Tokens decoded (rows summed over decode calls).
    pub decode_tokens: usize,
    /// `decode_tokens / decode_seconds`: the decode throughput.
    pub decode_tokens_per_second: f64,
    /// Sequences per decode call, on average.
    pub rows_per_decode_call: f64,
}

impl GenerationRun {
    fn new(label: &str, elapsed: Duration, generated: usize, times: &GenerationTimes) -> Self {
        let seconds = elapsed.as_secs_f64();
        Self {
            label: label.to_owned(),
            seconds,
            generated_tokens: generated,
            tokens_per_second: generated as f64 / seconds,
            prefill_seconds: times.prefill.as_secs_f64(),
            prefill_tokens_per_second: times.prefill_tokens as f64 / times.prefill.as_secs_f64(),
            decode_seconds: times.decode.as_secs_f64(),
            decode_tokens: times.decode_tokens,
            decode_tokens_per_second: times.decode_tokens_per_second(),
            rows_per_decode_call: times.decode_tokens as f64 / times.decode_calls.max(1) as f64,
        }
    }
}

/// The generation benchmark's figures for llama.cpp's plain one-sequence greedy loop
/// (the peer) and for yardstick's generator with one and with several sequences per
/// decode call, all on the same prompts in the same process.
#[derive(Debug, Clone, Serialize)]
pub struct GenerationBenchmark {
    /// Prompts generated from.
    pub prompts: usize,
    /// Token budget per prompt.
    pub max_tokens: usize,
    /// Sequences per decode call in the batched run.
    pub batch: usize,
    /// llama.cpp's greedy loop, one prompt after another (the peer).
    pub raw_decode: GenerationRun,
    /// llama.cpp's batched greedy loop, `batch` prompts at a time (the batched peer).
    pub raw_batched: GenerationRun,
    /// yardstick, one sequence at a time.
    pub batch_one: GenerationRun,
    /// yardstick, `batch` sequences per decode call.
    pub batched: GenerationRun,
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
    let mut raw_times = GenerationTimes::default();
    let raw_start = Instant::now();
    for prompt in prompts {
        let (tokens, times) = raw.raw_decode(prompt, max_tokens)?;
        raw_tokens += tokens;
        raw_times += times;
    }
    let raw_elapsed = raw_start.elapsed();
    let mut batched_tokens = 0;
    let mut batched_times = GenerationTimes::default();
    let batched_start = Instant::now();
    for group in prompts.chunks(batch.max(1)) {
        let (tokens, times) = raw.raw_decode_batch(group, max_tokens)?;
        batched_tokens += tokens;
        batched_times += times;
    }
    let raw_batched = GenerationRun::new(
        &format!("llama.cpp batched loop, {batch} sequences"),
        batched_start.elapsed(),
        batched_tokens,
        &batched_times,
    );
    drop(raw);
    let run = |sequences: usize, label: &str| -> Result<GenerationRun, EngineError> {
        let mut session = model.session(SessionOptions {
            generation_sequences: sequences as u32,
            ..options.clone()
        })?;
        let start = Instant::now();
        let out = session.generate(&requests)?;
        let elapsed = start.elapsed();
        let tokens = out.iter().map(|r| r.tokens.len()).sum();
        Ok(GenerationRun::new(
            label,
            elapsed,
            tokens,
            &session.take_generation_times(),
        ))
    };
    let batch_one = run(1, "yardstick, 1 sequence")?;
    let batched = run(batch, &format!("yardstick, {batch} sequences"))?;
    Ok(GenerationBenchmark {
        prompts: prompts.len(),
        max_tokens,
        batch,
        raw_decode: GenerationRun::new(
            "llama.cpp greedy loop",
            raw_elapsed,
            raw_tokens,
            &raw_times,
        ),
        raw_batched,
        batch_one,
        batched,
    })
}

/// One way of running the sandbox benchmark's programs.
#[derive(Debug, Clone, Serialize)]
pub struct ProgramRun {
    /// What was measured.
    pub label: String,
    /// Wall-clock seconds for all programs.
    pub seconds: f64,
    /// Programs that exited cleanly.
    pub passed: usize,
    /// Programs per second.
    pub programs_per_second: f64,
}

/// The sandbox benchmark's figures: the same programs run in the sandbox and, as the
/// peer, by a bare `python3` per program with no isolation, the same number at once.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxBenchmark {
    /// Programs run (each way).
    pub programs: usize,
    /// Programs run at once (each way).
    pub concurrency: usize,
    /// The sandbox's isolation.
    pub isolation: String,
    /// Bare `python3 FILE`, no isolation (the peer).
    pub bare: ProgramRun,
    /// The sandbox.
    pub sandboxed: ProgramRun,
}

/// Runs `programs` bare and in a sandbox with `policy`.
pub fn sandbox_benchmark(
    programs: &[yardstick_sandbox::Program],
    policy: yardstick_sandbox::Policy,
) -> Result<SandboxBenchmark, EngineError> {
    let sandbox_error = |source| EngineError::Sandbox {
        task: "bench sandbox".into(),
        source,
    };
    let sandbox = yardstick_sandbox::Sandbox::new(policy).map_err(sandbox_error)?;
    let concurrency = sandbox.policy().effective_concurrency();
    let scratch = std::env::temp_dir().join(format!("yardstick-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|source| EngineError::Write {
        path: scratch.clone(),
        source,
    })?;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let bare_passed = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..concurrency {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(program) = programs.get(index) else {
                    break;
                };
                let path = scratch.join(format!("program_{index}.py"));
                let ran = std::fs::write(&path, &program.source).and_then(|()| {
                    std::process::Command::new(sandbox.python())
                        .arg(&path)
                        .current_dir(&scratch)
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null())
                        .status()
                });
                if ran.is_ok_and(|status| status.success()) {
                    bare_passed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    let bare_seconds = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&scratch);
    let start = Instant::now();
    let outcomes = sandbox.run_all(programs);
    let sandboxed_seconds = start.elapsed().as_secs_f64();
    let mut sandboxed_passed = 0;
    for outcome in outcomes {
        sandboxed_passed += usize::from(outcome.map_err(sandbox_error)?.passed());
    }
    let run = |label: &str, seconds: f64, passed: usize| ProgramRun {
        label: label.to_owned(),
        seconds,
        passed,
        programs_per_second: programs.len() as f64 / seconds,
    };
    Ok(SandboxBenchmark {
        programs: programs.len(),
        concurrency,
        isolation: format!("{:?}", sandbox.isolation()),
        bare: run(
            "python3, no isolation",
            bare_seconds,
            bare_passed.into_inner(),
        ),
        sandboxed: run("yardstick sandbox", sandboxed_seconds, sandboxed_passed),
    })
}
