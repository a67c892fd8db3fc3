//! What every judged evaluation shares: options, store bookkeeping, results files.

use crate::{JudgedError, Participant};
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::time::Instant;
use yardstick_core::{python_json_dumps, sha256_hex, TaskName};
use yardstick_engine::{
    fill_missing, sanitize_model_name, token_usage, write_atomic, Chunking, EngineError,
    RunOutcome, TaskOutcome, TokenUsage,
};
use yardstick_metrics::Aggregate;
use yardstick_store::{ItemKey, Store, StoredItem, TaskRecord};

/// How to run a judged evaluation.
#[derive(Debug, Clone)]
pub struct JudgedOptions {
    /// Evaluate only the first `limit` items.
    pub limit: Option<usize>,
    /// Where the benchmark data is (`--data-dir`).
    pub data_dir: PathBuf,
    /// Where the results JSON and samples go (under a folder named for the model).
    pub output_dir: PathBuf,
    /// Items per backend call and store transaction.
    pub chunk_docs: usize,
    /// Show progress bars (only ever drawn on a terminal).
    pub progress: bool,
}

/// The stored task a run's scores live under, begun in the store.
pub struct Bookkeeping {
    /// When the run started.
    pub started: Instant,
    /// The run's id.
    pub run_id: String,
    /// The task.
    pub task: TaskName,
    /// Where its items are stored.
    pub key: ItemKey,
    /// The task's configuration (its hash is the task hash).
    pub config: Value,
}

/// A participant's own stage of a judged task (its answers, its outputs), which any
/// task with the same inputs can reuse.
#[derive(Debug, Clone, Copy)]
pub struct Stage<'a> {
    /// Its name, for progress and errors (`mt_bench:answers`).
    pub name: &'a TaskName,
    /// What its records depend on (the participant, the inputs, the settings); its
    /// hash keys them in the store.
    pub identity: &'a str,
}

/// The records of `docs` for `stage`, only those the store lacks computed by `compute`,
/// in chunks. Returns every stored record, in document order.
pub fn participant_stage<D>(
    participant: &mut Participant<'_>,
    stage: Stage<'_>,
    docs: &[D],
    doc_id: impl Fn(&D) -> usize,
    store: &mut Store,
    options: &JudgedOptions,
    mut compute: impl FnMut(&mut Participant<'_>, &[&D]) -> Result<Vec<StoredItem>, EngineError>,
) -> Result<Vec<StoredItem>, JudgedError> {
    let key = ItemKey::new(
        participant.fingerprint(),
        sha256_hex(stage.identity.as_bytes()),
    );
    store.upsert_model(
        &participant.fingerprint(),
        &participant.name(),
        &participant.source,
    )?;
    fill_missing(
        docs,
        doc_id,
        Chunking {
            task: stage.name,
            chunk_docs: options.chunk_docs,
            progress: options.progress,
        },
        store,
        &key,
        |missing| compute(participant, missing),
    )?;
    Ok(store.load_items(&key, None)?)
}

/// Registers the candidate, the task (its config hash from `config`) and the run, so
/// `compare` finds the scores and a rerun resumes.
pub fn begin(
    store: &Store,
    candidate: &Participant<'_>,
    task: &str,
    config: Value,
    dataset_hash: &str,
    limit: Option<usize>,
) -> Result<Bookkeeping, JudgedError> {
    let fingerprint = candidate.fingerprint();
    store.upsert_model(&fingerprint, &candidate.name(), &candidate.source)?;
    let hash = sha256_hex(python_json_dumps(&config, None).as_bytes());
    store.upsert_task(&TaskRecord {
        config_hash: hash.clone(),
        name: task.to_owned(),
        num_fewshot: 0,
        config: config.to_string(),
        dataset_hash: dataset_hash.to_owned(),
    })?;
    let run_id = sha256_hex(format!("{fingerprint}|{hash}|{limit:?}").as_bytes());
    let manifest = json!({
        "model": {"name": candidate.name(), "source": candidate.source},
        "tasks": [{"task": task, "config_hash": hash, "num_fewshot": 0}],
        "judged": config,
        "limit": limit,
    });
    store.begin_run(
        &run_id,
        &fingerprint,
        std::slice::from_ref(&hash),
        &manifest,
    )?;
    Ok(Bookkeeping {
        started: Instant::now(),
        run_id,
        task: TaskName::new(task),
        key: ItemKey::new(fingerprint, hash),
        config,
    })
}

/// What a run scored.
pub struct Scored {
    /// The task's metrics.
    pub metrics: Vec<(String, Aggregate)>,
    /// Items in the data.
    pub original: usize,
    /// Items asked for (after the limit).
    pub evaluated: usize,
    /// Items computed in this invocation.
    pub computed: usize,
    /// Judgments that did not parse (left out of the scores).
    pub failed_judgments: usize,
    /// Extra figures for the results file's `yardstick` section.
    pub extra: Map<String, Value>,
    /// What the user should know about the scores (a metric that could not be had).
    pub notes: Vec<String>,
}

/// A judged run's outcome: the scores as any run's, and what the judge did.
#[derive(Debug, Clone)]
pub struct JudgedOutcome {
    /// The scores, results file and samples.
    pub run: RunOutcome,
    /// Judgments that did not parse: recorded, left out of the scores.
    pub failed_judgments: usize,
    /// Tokens the judge's API counted (API judges only).
    pub judge_usage: Option<TokenUsage>,
    /// What the user should know about the scores (a metric that could not be had).
    pub notes: Vec<String>,
}

/// Writes the results JSON and the samples, marks the run finished, and returns the
/// outcome the command line prints.
pub fn finish(
    store: &Store,
    book: Bookkeeping,
    candidate: &Participant<'_>,
    items: &[StoredItem],
    scored: Scored,
    options: &JudgedOptions,
) -> Result<JudgedOutcome, JudgedError> {
    let model_dir = options
        .output_dir
        .join(sanitize_model_name(&candidate.name()));
    let stamp = chrono::Local::now()
        .format("%Y-%m-%dT%H-%M-%S%.6f")
        .to_string();
    let task = book.task.as_str();
    let samples_path = model_dir.join(format!("samples_{task}_{stamp}.jsonl"));
    let mut lines = String::new();
    for item in items {
        lines.push_str(&python_json_dumps(&item.record, None));
        lines.push('\n');
    }
    write_atomic(&samples_path, lines.as_bytes()).map_err(JudgedError::Engine)?;
    let failed = scored.evaluated.saturating_sub(items.len());
    let mut task_results = Map::new();
    task_results.insert("alias".into(), json!(task));
    for (name, aggregate) in &scored.metrics {
        task_results.insert(format!("{name},none"), json!(aggregate.value));
        task_results.insert(format!("{name}_stderr,none"), json!(aggregate.stderr));
    }
    let candidate_usage = token_usage(items, "api");
    let judge_usage = token_usage(items, "judge_api");
    let mut yardstick = scored.extra;
    yardstick.insert("run_id".into(), json!(book.run_id));
    yardstick.insert("failed_documents".into(), json!(failed));
    yardstick.insert("failed_judgments".into(), json!(scored.failed_judgments));
    yardstick.insert("usage".into(), json!(candidate_usage));
    yardstick.insert("judge_usage".into(), json!(judge_usage));
    let results = json!({
        "results": {task: task_results},
        "configs": {task: book.config},
        "n-samples": {task: {"original": scored.original, "effective": items.len()}},
        "config": {"model": candidate.source, "limit": options.limit},
        "model_name": candidate.name(),
        "date": chrono::Utc::now().timestamp(),
        "yardstick": yardstick,
    });
    let results_path = model_dir.join(format!("results_{stamp}.json"));
    let text = serde_json::to_string_pretty(&results).unwrap_or_default();
    write_atomic(&results_path, text.as_bytes()).map_err(JudgedError::Engine)?;
    store.finish_run(&book.run_id)?;
    let seconds = book.started.elapsed().as_secs_f64();
    let samples_hash = sha256_hex(lines.as_bytes());
    let run = RunOutcome {
        run_id: book.run_id,
        whole_run: None,
        tasks: vec![TaskOutcome {
            name: book.task,
            num_fewshot: 0,
            metrics: scored.metrics,
            original: scored.original,
            effective: items.len(),
            computed: scored.computed,
            samples_path,
            samples_hash,
            clean: None,
            failed,
            usage: candidate_usage,
        }],
        groups: Vec::new(),
        results_path,
        seconds,
        docs_per_second: if seconds > 0.0 {
            scored.computed as f64 / seconds
        } else {
            0.0
        },
    };
    Ok(JudgedOutcome {
        run,
        failed_judgments: scored.failed_judgments,
        judge_usage,
        notes: scored.notes,
    })
}
