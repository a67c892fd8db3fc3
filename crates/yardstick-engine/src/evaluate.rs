use crate::generated::{score_generations, CodeRunner};
use crate::groups::aggregate_groups;
use crate::output::{sanitize_model_name, write_atomic};
use crate::samples::{multiple_choice_record, record_loglikelihoods, sample_lines};
use crate::{hardware_summary, harness_version, EngineError, GroupOutcome};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;
use yardstick_core::{
    python_json_dumps, sha256_hex, GenerateRequest, LoglikelihoodRequest, Sampling, TaskName,
};
use yardstick_metrics::{multiple_choice, Aggregate};
use yardstick_models::Backend;
use yardstick_store::{ItemKey, Store, StoredItem, TaskRecord};
use yardstick_tasks::{
    truthfulqa_mc2, GenerateDoc, Hook, MultipleChoiceDoc, OutputType, Task, TaskTree, FEWSHOT_SEED,
};

/// How to run an evaluation.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Evaluate only the first `limit` documents of each task.
    pub limit: Option<usize>,
    /// Where the results JSON and samples go (under a folder named for the model).
    pub output_dir: PathBuf,
    /// Documents per backend call and per store transaction. Chunk boundaries are fixed
    /// multiples of this, so a resumed run batches exactly as an uninterrupted one.
    pub chunk_docs: usize,
    /// Show a progress bar (only ever drawn on a terminal).
    pub progress: bool,
    /// How the model was named on the command line, for the results file.
    pub model_source: String,
    /// Backend settings worth recording (scoring mode, threads).
    pub backend_settings: Value,
    /// The sandbox policy code tasks' programs run under.
    pub code_policy: yardstick_sandbox::Policy,
    /// Per task name, documents found in a training corpus: each such task also reports
    /// its scores on the other documents (the clean subset).
    pub contaminated: HashMap<String, BTreeSet<usize>>,
    /// Evaluate only this worker's share of every task's documents.
    pub shard: Option<Shard>,
    /// The API model's token price, for the cost in the results file.
    pub price: Option<yardstick_models::Price>,
}

/// One worker's share of a run split across `count` workers: the documents whose id
/// leaves remainder `index` when divided by `count`, so the split never depends on
/// timing and a restarted worker takes the same documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This worker, from 0.
    pub index: usize,
    /// Workers in all.
    pub count: usize,
}

impl Shard {
    /// Shard `index` of `count` (`index < count`).
    pub fn new(index: usize, count: usize) -> Option<Self> {
        (count > 0 && index < count).then_some(Self { index, count })
    }

    /// Whether document `doc_id` is this shard's.
    pub fn owns(&self, doc_id: usize) -> bool {
        doc_id % self.count == self.index
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/N`, e.g. `0/4` for the first of four workers.
    fn from_str(text: &str) -> Result<Self, String> {
        let invalid = || format!("--shard {text:?}: expected I/N with 0 <= I < N, e.g. 0/4");
        let (index, count) = text.split_once('/').ok_or_else(invalid)?;
        let parse = |s: &str| s.trim().parse::<usize>().map_err(|_| invalid());
        Shard::new(parse(index)?, parse(count)?).ok_or_else(invalid)
    }
}

impl EvalOptions {
    /// Options with the defaults for everything but the output folder.
    pub fn new(output_dir: PathBuf) -> Self {
        Self {
            limit: None,
            output_dir,
            chunk_docs: 64,
            progress: true,
            model_source: String::new(),
            backend_settings: Value::Null,
            code_policy: crate::generated::code_eval_policy(),
            contaminated: HashMap::new(),
            shard: None,
            price: None,
        }
    }
}

/// One task's scores.
#[derive(Debug, Clone)]
pub struct TaskOutcome {
    /// The task.
    pub name: TaskName,
    /// Few-shot count.
    pub num_fewshot: usize,
    /// The task's metrics (`acc`, `acc_norm`), each with its standard error.
    pub metrics: Vec<(String, Aggregate)>,
    /// Documents in the split.
    pub original: usize,
    /// Documents evaluated (after `limit`).
    pub effective: usize,
    /// Documents computed in this invocation (the rest came from the store).
    pub computed: usize,
    /// Where the samples went.
    pub samples_path: PathBuf,
    /// lm-eval's task hash: sha256 over every sample's doc, prompt and target hashes.
    pub samples_hash: String,
    /// The scores without the documents found in a training corpus, when asked for.
    pub clean: Option<CleanSubset>,
    /// Documents left unscored because their requests failed for good (a rerun retries
    /// them); `effective` counts only the scored ones.
    pub failed: usize,
    /// Tokens the API counted for the task's scored items (API models only).
    pub usage: Option<TokenUsage>,
}

/// A task's scores on the documents no contamination scan found in a corpus.
#[derive(Debug, Clone)]
pub struct CleanSubset {
    /// Documents left out as contaminated.
    pub excluded: usize,
    /// Documents scored.
    pub effective: usize,
    /// The metrics over them, as [`TaskOutcome::metrics`].
    pub metrics: Vec<(String, Aggregate)>,
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The run's id in the store.
    pub run_id: String,
    /// For a shard (`--shard I/N`), the id of the whole run it is part of.
    pub whole_run: Option<String>,
    /// Per-task scores, in the order asked.
    pub tasks: Vec<TaskOutcome>,
    /// Group scores, members before the groups that contain them.
    pub groups: Vec<GroupOutcome>,
    /// The results JSON.
    pub results_path: PathBuf,
    /// Wall-clock seconds of this invocation.
    pub seconds: f64,
    /// Documents computed per second in this invocation.
    pub docs_per_second: f64,
}

impl RunOutcome {
    /// Documents left unscored across all tasks (the run is incomplete when any are).
    pub fn failed(&self) -> usize {
        self.tasks.iter().map(|t| t.failed).sum()
    }

    /// Tokens the API counted across all tasks (API models only).
    pub fn usage(&self) -> Option<TokenUsage> {
        self.tasks
            .iter()
            .filter_map(|t| t.usage)
            .reduce(|mut a, b| {
                a += b;
                a
            })
    }
}

/// Evaluates `tasks` on `backend`, resuming from and writing to `store`, aggregates the
/// groups in `selection` (the expanded `--tasks`), and writes the results files.
pub fn evaluate(
    backend: &mut dyn Backend,
    tasks: &[Task],
    selection: &[TaskTree],
    store: &mut Store,
    options: &EvalOptions,
) -> Result<RunOutcome, EngineError> {
    let started = Instant::now();
    let date = chrono::Local::now();
    let fingerprint = backend.fingerprint().clone();
    store.upsert_model(&fingerprint, backend.name(), &options.model_source)?;
    let hashes: Vec<String> = tasks.iter().map(Task::config_hash).collect();
    let run_id = run_id_of(fingerprint.as_str(), &hashes, options.limit, options.shard);
    for (task, hash) in tasks.iter().zip(&hashes) {
        store.upsert_task(&TaskRecord {
            config_hash: hash.clone(),
            name: task.name().to_string(),
            num_fewshot: task.num_fewshot(),
            config: task_config_json(task).to_string(),
            dataset_hash: task.dataset_hash().to_owned(),
        })?;
    }
    let manifest = run_manifest(backend, tasks, selection, &hashes, options);
    store.begin_run(&run_id, &fingerprint, &hashes, &manifest)?;
    // A shard is also recorded under the whole run's id, so that `yardstick status`
    // can tell which shards of it have finished.
    let whole_run = options.shard.map(|shard| {
        (
            shard,
            run_id_of(fingerprint.as_str(), &hashes, options.limit, None),
        )
    });
    if let Some((shard, whole)) = &whole_run {
        store.begin_shard(whole, shard.index, shard.count, &run_id)?;
    }

    let model_dir = options.output_dir.join(sanitize_model_name(backend.name()));
    // lm-eval's date_id: local isoformat with ':' replaced.
    let stamp = date.format("%Y-%m-%dT%H-%M-%S%.6f").to_string();
    let mut outcomes = Vec::new();
    let mut computed_total = 0;
    let mut code_runner = CodeRunner::new(options.code_policy.clone());
    for (task, hash) in tasks.iter().zip(&hashes) {
        let key = ItemKey::new(fingerprint.clone(), hash.clone());
        let owned = |doc_id: usize| options.shard.is_none_or(|shard| shard.owns(doc_id));
        // `evaluated`: the documents within the limit; `assigned`: this shard's of them.
        let (computed, evaluated, assigned) = if task.output_type() == OutputType::GenerateUntil {
            let mut docs = task.generate_docs(options.limit)?;
            let evaluated = docs.len();
            docs.retain(|d| owned(d.doc_id));
            (
                generate_missing(backend, task, &docs, store, &key, options, &mut code_runner)?,
                evaluated,
                docs.len(),
            )
        } else {
            let mut docs = task.multiple_choice_docs(options.limit)?;
            let evaluated = docs.len();
            docs.retain(|d| owned(d.doc_id));
            (
                score_missing(backend, task, &docs, store, &key, options)?,
                evaluated,
                docs.len(),
            )
        };
        computed_total += computed;
        let mut items = store.load_items(&key, Some(evaluated))?;
        items.retain(|item| owned(item.doc_id));
        // Documents without an item: their requests failed for good (see fill_missing).
        let failed = assigned - items.len().min(assigned);
        let effective = items.len();
        let metrics = aggregate(task, &items)?;
        let clean = match options.contaminated.get(task.name().as_str()) {
            Some(dirty) => {
                let kept: Vec<StoredItem> = items
                    .iter()
                    .filter(|item| !dirty.contains(&item.doc_id))
                    .cloned()
                    .collect();
                Some(CleanSubset {
                    excluded: items.len() - kept.len(),
                    effective: kept.len(),
                    metrics: aggregate(task, &kept)?,
                })
            }
            None => None,
        };
        let samples_path = model_dir.join(format!("samples_{}_{stamp}.jsonl", task.name()));
        let mut lines = String::new();
        let mut sample_hashes = String::new();
        for record in sample_lines(task, &items) {
            lines.push_str(&python_json_dumps(&record, None));
            lines.push('\n');
            for key in ["doc_hash", "prompt_hash", "target_hash"] {
                sample_hashes.push_str(record.get(key).and_then(Value::as_str).unwrap_or(""));
            }
        }
        write_atomic(&samples_path, lines.as_bytes())?;
        outcomes.push(TaskOutcome {
            name: task.name().clone(),
            num_fewshot: task.num_fewshot(),
            metrics,
            original: task.len(),
            effective,
            computed,
            samples_path,
            samples_hash: sha256_hex(sample_hashes.as_bytes()),
            clean,
            failed,
            usage: token_usage(&items, "api"),
        });
    }
    let groups = aggregate_groups(selection, &outcomes);
    let seconds = started.elapsed().as_secs_f64();
    let results = results_json(
        tasks, &outcomes, &groups, &manifest, options, &date, seconds,
    );
    let results_path = model_dir.join(format!("results_{stamp}.json"));
    let text = serde_json::to_string_pretty(&results).unwrap_or_default();
    write_atomic(&results_path, text.as_bytes())?;
    store.finish_run(&run_id)?;
    if let Some((shard, whole)) = &whole_run {
        store.finish_shard(whole, shard.index, shard.count)?;
    }
    Ok(RunOutcome {
        run_id,
        whole_run: whole_run.map(|(_, whole)| whole),
        tasks: outcomes,
        groups,
        results_path,
        seconds,
        docs_per_second: if seconds > 0.0 {
            computed_total as f64 / seconds
        } else {
            0.0
        },
    })
}

/// Same model, tasks, limit and shard: same run, so a restart resumes it. (An unsharded
/// run's id is what it was before shards existed.)
fn run_id_of(
    fingerprint: &str,
    hashes: &[String],
    limit: Option<usize>,
    shard: Option<Shard>,
) -> String {
    let mut key = format!("{fingerprint}|{}|{limit:?}", hashes.join(","));
    if let Some(shard) = shard {
        key.push_str(&format!("|shard {}/{}", shard.index, shard.count));
    }
    sha256_hex(key.as_bytes())[..16].to_owned()
}

/// A progress bar over a task's documents, drawn only on a terminal.
pub fn progress_bar(total: usize, task: &TaskName, enabled: bool) -> ProgressBar {
    let draw = enabled && std::io::stderr().is_terminal();
    let bar = ProgressBar::with_draw_target(
        Some(total as u64),
        if draw {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>14} {bar:30} {pos}/{len} docs  {per_sec}  ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(task.to_string());
    bar
}

/// How [`fill_missing`] walks a task's documents.
#[derive(Debug, Clone, Copy)]
pub struct Chunking<'a> {
    /// The task, for the progress bar.
    pub task: &'a TaskName,
    /// Documents per backend call and store transaction.
    pub chunk_docs: usize,
    /// Show a progress bar (only ever drawn on a terminal).
    pub progress: bool,
}

/// Runs `compute` on the documents of every fixed-size chunk of `docs` that the store
/// does not hold yet and stores what it returns, one transaction per chunk; returns how
/// many documents were computed. Chunk boundaries never move, so a resumed run batches
/// exactly as an uninterrupted one. When an API request fails for good, the chunk is
/// retried one document at a time and only the documents that still fail are recorded
/// as failed (left unscored; a rerun retries them).
pub fn fill_missing<D>(
    docs: &[D],
    doc_id: impl Fn(&D) -> usize,
    chunking: Chunking<'_>,
    store: &mut Store,
    key: &ItemKey,
    mut compute: impl FnMut(&[&D]) -> Result<Vec<StoredItem>, EngineError>,
) -> Result<usize, EngineError> {
    let stored = store.stored_doc_ids(key)?;
    let bar = progress_bar(docs.len(), chunking.task, chunking.progress);
    let mut computed = 0;
    for chunk in docs.chunks(chunking.chunk_docs.max(1)) {
        let missing: Vec<&D> = chunk
            .iter()
            .filter(|d| !stored.contains(&doc_id(d)))
            .collect();
        if !missing.is_empty() {
            match compute(&missing) {
                Ok(items) => {
                    store.insert_items(key, &items)?;
                    computed += items.len();
                }
                // One document at a time, so that a document whose requests fail for
                // good does not take the rest of its chunk with it.
                Err(error) if is_request_failure(&error) => {
                    for doc in &missing {
                        match compute(std::slice::from_ref(doc)) {
                            Ok(items) => {
                                store.insert_items(key, &items)?;
                                computed += items.len();
                            }
                            Err(error) if is_request_failure(&error) => {
                                store.record_failure(key, doc_id(doc), &error.to_string())?;
                            }
                            Err(error) => return Err(error),
                        }
                    }
                }
                Err(error) => return Err(error),
            }
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(computed)
}

/// Keeps what an API said about a document's requests (model id, system fingerprint,
/// token usage) in its record, under `api`.
fn attach_api_calls(record: &mut Value, calls: Option<&[Option<yardstick_core::ApiCall>]>) {
    attach_calls(record, "api", calls.unwrap_or_default());
}

/// Lists an item's API calls in its record under `field`, when there are any.
pub fn attach_calls(record: &mut Value, field: &str, calls: &[Option<yardstick_core::ApiCall>]) {
    if !calls.iter().any(Option::is_some) {
        return;
    }
    if let Value::Object(map) = record {
        map.insert(field.into(), json!(calls));
    }
}

/// Prompt and completion tokens an API counted for a task's stored items.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TokenUsage {
    /// Requests the counts come from.
    pub requests: u64,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
}

impl std::ops::AddAssign for TokenUsage {
    fn add_assign(&mut self, other: Self) {
        self.requests += other.requests;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }
}

/// The token usage recorded in items' `api` entries; `None` when none has any (a local
/// model).
/// The tokens counted in the API calls each item's record lists under `field` (`api`
/// for the model's own requests); `None` when no item has any.
pub fn token_usage(items: &[StoredItem], field: &str) -> Option<TokenUsage> {
    let mut usage = TokenUsage::default();
    for call in items
        .iter()
        .filter_map(|item| item.record.get(field).and_then(Value::as_array))
        .flatten()
    {
        let count = |name: &str| call.get(name).and_then(Value::as_u64).unwrap_or(0);
        usage += TokenUsage {
            requests: 1,
            prompt_tokens: count("prompt_tokens"),
            completion_tokens: count("completion_tokens"),
        };
    }
    (usage.requests > 0).then_some(usage)
}

/// A request that failed for good (an API that kept failing): its document is recorded
/// as failed and left unscored, never scored as wrong, and a rerun retries it.
pub fn is_request_failure(error: &EngineError) -> bool {
    matches!(
        error,
        EngineError::Model(yardstick_models::ModelError::Api(_))
    )
}

/// A backend must answer every request it is asked.
pub fn check_response_count(asked: usize, got: usize) -> Result<(), EngineError> {
    if asked == got {
        Ok(())
    } else {
        Err(EngineError::ResponseCount { asked, got })
    }
}

/// Scores every multiple-choice document the store does not hold yet.
fn score_missing(
    backend: &mut dyn Backend,
    task: &Task,
    docs: &[MultipleChoiceDoc],
    store: &mut Store,
    key: &ItemKey,
    options: &EvalOptions,
) -> Result<usize, EngineError> {
    fill_missing(
        docs,
        |d| d.doc_id,
        Chunking {
            task: task.name(),
            chunk_docs: options.chunk_docs,
            progress: options.progress,
        },
        store,
        key,
        |missing| {
            let requests: Vec<LoglikelihoodRequest> = missing
                .iter()
                .flat_map(|d| d.requests.iter().cloned())
                .collect();
            let responses = backend.loglikelihood(&requests)?;
            check_response_count(requests.len(), responses.len())?;
            let calls = backend.take_api_calls();
            let mut offset = 0;
            missing
                .iter()
                .map(|doc| {
                    let span = offset..offset + doc.requests.len();
                    offset += doc.requests.len();
                    let answers = &responses[span.clone()];
                    let lls: Vec<f64> = answers.iter().map(|r| r.logprob.0).collect();
                    let metrics = doc_metrics(task, doc, &lls)?;
                    let mut record = multiple_choice_record(doc, answers, &metrics);
                    attach_api_calls(&mut record, calls.get(span));
                    Ok(StoredItem::new(doc.doc_id, record))
                })
                .collect()
        },
    )
}

/// Generates for every document the store does not hold yet (each `repeats` times; a
/// greedy request once, as its repeats would be the same), extracting each filter's
/// answers and scoring them.
fn generate_missing(
    backend: &mut dyn Backend,
    task: &Task,
    docs: &[GenerateDoc],
    store: &mut Store,
    key: &ItemKey,
    options: &EvalOptions,
    code_runner: &mut CodeRunner,
) -> Result<usize, EngineError> {
    fill_missing(
        docs,
        |d| d.doc_id,
        Chunking {
            task: task.name(),
            chunk_docs: options.chunk_docs,
            progress: options.progress,
        },
        store,
        key,
        |missing| {
            let distinct = |doc: &GenerateDoc| match doc.request.sampling {
                Sampling::Greedy => 1,
                Sampling::Sample { .. } => doc.repeats,
            };
            let requests: Vec<GenerateRequest> = missing
                .iter()
                .flat_map(|d| (0..distinct(d)).map(|r| d.repeat_request(r)))
                .collect();
            let responses = backend.generate(&requests)?;
            check_response_count(requests.len(), responses.len())?;
            let calls = backend.take_api_calls();
            let mut answers = responses.into_iter();
            let mut spans = Vec::new();
            let mut offset = 0;
            let per_doc: Vec<Vec<_>> = missing
                .iter()
                .map(|doc| {
                    spans.push(offset..offset + distinct(doc));
                    offset += distinct(doc);
                    let drawn: Vec<_> = answers.by_ref().take(distinct(doc)).collect();
                    drawn.iter().cycle().take(doc.repeats).cloned().collect()
                })
                .collect();
            let mut items = score_generations(task, missing, &per_doc, code_runner)?;
            for (item, span) in items.iter_mut().zip(spans) {
                attach_api_calls(&mut item.record, calls.get(span));
            }
            Ok(items)
        },
    )
}

/// A document's metric values, in `metric_list` order: lm-eval's multiple-choice
/// `acc`/`acc_norm`, or what the task's `process_results` hook computes.
fn doc_metrics(
    task: &Task,
    doc: &MultipleChoiceDoc,
    lls: &[f64],
) -> Result<Vec<(String, f64)>, EngineError> {
    let names = task.metric_names();
    if let Some(Hook::TruthfulqaMc2Results) = task.results_hook() {
        let mc2 = truthfulqa_mc2(lls, &doc.doc).map_err(|message| EngineError::Hook {
            task: task.name().to_string(),
            doc_id: doc.doc_id,
            message,
        })?;
        return Ok(vec![("acc".to_owned(), mc2)]);
    }
    let scores = multiple_choice(lls, &doc.choices, doc.gold);
    Ok(names
        .into_iter()
        .filter_map(|name| {
            let value = match name.as_str() {
                "acc" => scores.acc,
                "acc_norm" => scores.acc_norm,
                _ => return None,
            };
            Some((name, value))
        })
        .collect())
}

/// Aggregates each of the task's metrics over the stored per-document values.
fn aggregate(task: &Task, items: &[StoredItem]) -> Result<Vec<(String, Aggregate)>, EngineError> {
    if task.output_type() == OutputType::GenerateUntil {
        return aggregate_generation(task, items);
    }
    let mut columns: Vec<(String, Vec<f64>)> = task
        .metric_names()
        .into_iter()
        .map(|m| (m, Vec::new()))
        .collect();
    for item in items {
        for (name, column) in &mut columns {
            let value = item
                .record
                .get(name.as_str())
                .and_then(Value::as_f64)
                .ok_or_else(|| EngineError::StoredRecord {
                    task: task.name().to_string(),
                    doc_id: item.doc_id,
                    field: name.clone(),
                })?;
            column.push(value);
        }
        if record_loglikelihoods(&item.record).is_none() {
            return Err(EngineError::StoredRecord {
                task: task.name().to_string(),
                doc_id: item.doc_id,
                field: "filtered_resps".into(),
            });
        }
    }
    Ok(columns
        .into_iter()
        .map(|(name, values)| (name, Aggregate::mean(&values)))
        .collect())
}

/// Generation metrics per filter, named `metric,filter` as lm-eval keys them.
fn aggregate_generation(
    task: &Task,
    items: &[StoredItem],
) -> Result<Vec<(String, Aggregate)>, EngineError> {
    let mut out = Vec::new();
    for filter in task.answer_filters() {
        for metric in task.metric_names() {
            let values = items
                .iter()
                .map(|item| {
                    item.record
                        .pointer(&format!("/filters/{}/{metric}", filter.name))
                        .and_then(Value::as_f64)
                        .ok_or_else(|| EngineError::StoredRecord {
                            task: task.name().to_string(),
                            doc_id: item.doc_id,
                            field: format!("filters.{}.{metric}", filter.name),
                        })
                })
                .collect::<Result<Vec<f64>, _>>()?;
            out.push((
                format!("{metric},{}", filter.name),
                Aggregate::mean(&values),
            ));
        }
    }
    Ok(out)
}

fn run_manifest(
    backend: &dyn Backend,
    tasks: &[Task],
    selection: &[TaskTree],
    hashes: &[String],
    options: &EvalOptions,
) -> Value {
    let task_entries: Vec<Value> = tasks
        .iter()
        .zip(hashes)
        .map(|(task, hash)| {
            json!({
                "task": task.name(),
                "config_hash": hash,
                "dataset_hash": task.dataset_hash(),
                "split": task.eval_split(),
                "num_fewshot": task.num_fewshot(),
                "fewshot_seed": FEWSHOT_SEED,
                "prompt_template": yaml_to_json(task.config().config.doc_to_text.as_ref()),
            })
        })
        .collect();
    // The groups asked for, with their tasks, so that a comparison can show a group
    // (mmlu) as one benchmark without knowing the task files.
    let groups: Vec<Value> = selection
        .iter()
        .filter(|tree| matches!(tree, TaskTree::Group { .. }))
        .map(|tree| json!({"group": tree.name(), "tasks": tree.leaves()}))
        .collect();
    let mut manifest = json!({
        "model": {
            "name": backend.name(),
            "source": options.model_source,
            "fingerprint": backend.fingerprint(),
        },
        "tasks": task_entries,
        "groups": groups,
        "limit": options.limit,
        "backend": options.backend_settings,
        "harness_version": harness_version(),
        "hardware": hardware_summary(),
    });
    if let (Some(shard), Value::Object(map)) = (options.shard, &mut manifest) {
        map.insert(
            "shard".into(),
            json!(format!("{}/{}", shard.index, shard.count)),
        );
    }
    manifest
}

fn yaml_to_json(value: Option<&serde_yaml::Value>) -> Value {
    value
        .and_then(|v| serde_json::to_value(v).ok())
        .unwrap_or(Value::Null)
}

fn float_or_na(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        json!("N/A")
    }
}

/// The results file in lm-evaluation-harness's format (as of its v0.4.12): per-task
/// entries with `name`, `alias`, `sample_len` and `<metric>,none` / `<metric>_stderr,none`;
/// per-task maps sorted by name; yardstick's run manifest under `yardstick`.
fn results_json(
    tasks: &[Task],
    outcomes: &[TaskOutcome],
    groups: &[GroupOutcome],
    manifest: &Value,
    options: &EvalOptions,
    date: &chrono::DateTime<chrono::Local>,
    seconds: f64,
) -> Value {
    let mut results = Map::new();
    let mut configs = std::collections::BTreeMap::new();
    let mut versions = std::collections::BTreeMap::new();
    let mut n_shot = std::collections::BTreeMap::new();
    let mut higher = std::collections::BTreeMap::new();
    let mut n_samples = Map::new();
    let mut task_hashes = Map::new();
    for (task, outcome) in tasks.iter().zip(outcomes) {
        let name = task.name().to_string();
        let mut entry = Map::new();
        entry.insert("name".into(), json!(name));
        entry.insert(
            "alias".into(),
            json!(task
                .config()
                .config
                .task_alias
                .clone()
                .unwrap_or_else(|| name.clone())),
        );
        entry.insert("sample_len".into(), json!(outcome.effective));
        for (metric, agg) in &outcome.metrics {
            let (metric, filter) = metric.split_once(',').unwrap_or((metric, "none"));
            entry.insert(format!("{metric},{filter}"), float_or_na(agg.value));
            entry.insert(format!("{metric}_stderr,{filter}"), float_or_na(agg.stderr));
        }
        results.insert(name.clone(), Value::Object(entry));
        configs.insert(name.clone(), task_config_json(task));
        versions.insert(name.clone(), json!(task.version()));
        n_shot.insert(name.clone(), json!(task.num_fewshot()));
        higher.insert(
            name.clone(),
            json!(outcome
                .metrics
                .iter()
                .map(|(m, _)| (
                    m.split(',').next().unwrap_or(m).to_owned(),
                    Value::Bool(true)
                ))
                .collect::<Map<_, _>>()),
        );
        n_samples.insert(
            name.clone(),
            json!({"original": outcome.original, "effective": outcome.effective}),
        );
        task_hashes.insert(name, json!(outcome.samples_hash));
    }
    let mut group_entries = Map::new();
    let mut group_subtasks = Map::new();
    for group in groups {
        let mut entry = Map::new();
        entry.insert("alias".into(), json!(group.alias));
        entry.insert("name".into(), json!(group.name));
        entry.insert("sample_len".into(), json!(group.sample_len));
        let mut sample_count = Map::new();
        for (metric, agg) in &group.metrics {
            entry.insert(format!("{metric},none"), float_or_na(agg.value));
            entry.insert(format!("{metric}_stderr,none"), float_or_na(agg.stderr));
            sample_count.insert(format!("{metric},none"), json!(agg.count));
        }
        if !sample_count.is_empty() {
            entry.insert("sample_count".into(), Value::Object(sample_count));
            group_entries.insert(group.name.clone(), Value::Object(entry.clone()));
        }
        results.insert(group.name.clone(), Value::Object(entry));
        group_subtasks.insert(group.name.clone(), json!(group.children));
        versions.insert(group.name.clone(), json!(group.version));
    }
    let model_name = manifest["model"]["name"].clone();
    // The command line sets these for every task alike.
    let chat = tasks.first().and_then(Task::chat_format);
    let system_instruction = tasks.first().and_then(Task::system_instruction);
    let mut out = json!({
        "results": results,
        "group_subtasks": group_subtasks,
        "configs": configs,
        "versions": versions,
        "n-shot": n_shot,
        "higher_is_better": higher,
        "n-samples": n_samples,
        "config": {
            "model": "gguf",
            "model_args": options.model_source,
            "batch_size": options.chunk_docs,
            "batch_sizes": [],
            "device": "cpu",
            "use_cache": null,
            "limit": options.limit,
            "bootstrap_iters": 100000,
            "gen_kwargs": {},
            "random_seed": 0,
            "numpy_seed": 1234,
            "torch_seed": 1234,
            "fewshot_seed": FEWSHOT_SEED,
        },
        "git_hash": option_env!("YARDSTICK_GIT_HASH"),
        "date": date.timestamp() as f64 + f64::from(date.timestamp_subsec_micros()) / 1e6,
        "task_hashes": task_hashes,
        "model_source": "gguf",
        "model_name": model_name,
        "model_name_sanitized": sanitize_model_name(model_name.as_str().unwrap_or("")),
        "system_instruction": system_instruction,
        "system_instruction_sha": system_instruction.map(|s| sha256_hex(s.as_bytes())),
        "fewshot_as_multiturn": chat.map(|c| c.fewshot_as_multiturn),
        "chat_template": chat.and_then(|c| c.template.as_ref()).map(|t| t.source()),
        "chat_template_sha": chat.and_then(|c| c.template.as_ref()).map(|t| t.sha256()),
        "total_evaluation_time_seconds": seconds.to_string(),
        "yardstick": yardstick_section(manifest, outcomes, options.price.as_ref()),
    });
    if !group_entries.is_empty() {
        // lm-eval places `groups` right after `results`.
        if let Value::Object(map) = &mut out {
            let rest: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            for (key, value) in rest {
                let after_results = key == "results";
                map.insert(key, value);
                if after_results {
                    map.insert("groups".into(), Value::Object(group_entries.clone()));
                }
            }
        }
    }
    out
}

/// yardstick's own part of the results file: the run manifest and, for tasks scored
/// without their contaminated documents, those scores in lm-eval's key style.
fn yardstick_section(
    manifest: &Value,
    outcomes: &[TaskOutcome],
    price: Option<&yardstick_models::Price>,
) -> Value {
    let mut section = manifest.clone();
    let mut total = TokenUsage::default();
    let mut per_task = Map::new();
    for outcome in outcomes {
        if let Some(usage) = outcome.usage {
            total += usage;
            per_task.insert(outcome.name.to_string(), usage_json(usage, price));
        }
    }
    if let (Value::Object(map), false) = (&mut section, per_task.is_empty()) {
        let mut usage = usage_json(total, price);
        if let (Value::Object(entry), Some(price)) = (&mut usage, price) {
            entry.insert(
                "price".into(),
                json!({"model": price.model, "input_usd_per_million_tokens": price.input_per_million,
                       "output_usd_per_million_tokens": price.output_per_million, "as_of": price.as_of}),
            );
        }
        if let Value::Object(entry) = &mut usage {
            entry.insert("tasks".into(), Value::Object(per_task));
        }
        map.insert("usage".into(), usage);
    }
    let clean: Map<String, Value> = outcomes
        .iter()
        .filter_map(|outcome| {
            let clean = outcome.clean.as_ref()?;
            let mut entry = Map::new();
            entry.insert("excluded".into(), json!(clean.excluded));
            entry.insert("sample_len".into(), json!(clean.effective));
            for (metric, agg) in &clean.metrics {
                let (metric, filter) = metric.split_once(',').unwrap_or((metric, "none"));
                entry.insert(format!("{metric},{filter}"), float_or_na(agg.value));
                entry.insert(format!("{metric}_stderr,{filter}"), float_or_na(agg.stderr));
            }
            Some((outcome.name.to_string(), Value::Object(entry)))
        })
        .collect();
    if let (Value::Object(map), false) = (&mut section, clean.is_empty()) {
        map.insert("clean_subset".into(), Value::Object(clean));
    }
    let failed: Map<String, Value> = outcomes
        .iter()
        .filter(|o| o.failed > 0)
        .map(|o| (o.name.to_string(), json!(o.failed)))
        .collect();
    if let (Value::Object(map), false) = (&mut section, failed.is_empty()) {
        // The run is incomplete: these documents' requests failed and are not scored.
        map.insert("failed_documents".into(), Value::Object(failed));
    }
    section
}

fn usage_json(usage: TokenUsage, price: Option<&yardstick_models::Price>) -> Value {
    let mut value = json!(usage);
    if let Value::Object(map) = &mut value {
        map.insert(
            "cost_usd".into(),
            json!(price.map(|p| p.cost(usage.prompt_tokens, usage.completion_tokens))),
        );
    }
    value
}

/// The task's resolved config as lm-eval dumps it under `configs`.
fn task_config_json(task: &Task) -> Value {
    let config = &task.config().config;
    let mut out = Map::new();
    let mut put = |key: &str, value: Value| {
        if !value.is_null() {
            out.insert(key.to_owned(), value);
        }
    };
    put("task", json!(task.name()));
    put("dataset_path", json!(config.dataset_path));
    put("dataset_name", json!(config.dataset_name));
    put("training_split", json!(config.training_split));
    put("validation_split", json!(config.validation_split));
    put("test_split", json!(config.test_split));
    put("fewshot_split", json!(config.fewshot_split));
    put("doc_to_text", yaml_to_json(config.doc_to_text.as_ref()));
    put("doc_to_target", yaml_to_json(config.doc_to_target.as_ref()));
    put("unsafe_code", json!(config.unsafe_code.unwrap_or(false)));
    put("doc_to_choice", yaml_to_json(config.doc_to_choice.as_ref()));
    put(
        "description",
        json!(config.description.clone().unwrap_or_default()),
    );
    put(
        "target_delimiter",
        json!(config
            .target_delimiter
            .clone()
            .unwrap_or_else(|| " ".into())),
    );
    put(
        "fewshot_delimiter",
        json!(config
            .fewshot_delimiter
            .clone()
            .unwrap_or_else(|| "\n\n".into())),
    );
    put(
        "fewshot_config",
        json!({
            "sampler": "default",
            "split": config.fewshot_split,
            "process_docs": null,
            "fewshot_indices": null,
            "samples": null,
            "doc_to_text": yaml_to_json(config.doc_to_text.as_ref()),
            "doc_to_choice": yaml_to_json(config.doc_to_choice.as_ref()),
            "doc_to_target": yaml_to_json(config.doc_to_target.as_ref()),
            "gen_prefix": config.gen_prefix,
            "fewshot_delimiter": config.fewshot_delimiter.clone().unwrap_or_else(|| "\n\n".into()),
            "target_delimiter": config.target_delimiter.clone().unwrap_or_else(|| " ".into()),
        }),
    );
    put("num_fewshot", json!(task.num_fewshot()));
    put(
        "metric_list",
        json!(config
            .metric_list
            .as_ref()
            .map(|list| list
                .iter()
                .map(|m| json!({"metric": m.metric.to_string(), "aggregation": m.aggregation, "higher_is_better": m.higher_is_better}))
                .collect::<Vec<_>>())),
    );
    put(
        "output_type",
        json!(match task.output_type() {
            yardstick_tasks::OutputType::GenerateUntil => "generate_until",
            _ => "multiple_choice",
        }),
    );
    put("repeats", json!(config.repeats.unwrap_or(1)));
    put(
        "should_decontaminate",
        json!(config.should_decontaminate.unwrap_or(false)),
    );
    put(
        "doc_to_decontamination_query",
        json!(config.doc_to_decontamination_query),
    );
    put("metadata", yaml_to_json(config.metadata.as_ref()));
    Value::Object(out)
}
