//! The loop every suite shares: one chat prompt per item, one greedy answer, scored by
//! the suite's own rule, stored, summarised.

use crate::task::{SuiteKind, SuiteTaskConfig};
use serde_json::{json, Map, Value};
use yardstick_core::{sha256_hex, Sampling};
use yardstick_engine::{attach_calls, fill_missing, Chunking};
use yardstick_judge::{
    begin, finish, JudgedError, JudgedOptions, JudgedOutcome, Participant, Scored, Turn,
};
use yardstick_metrics::Aggregate;
use yardstick_store::{Store, StoredItem};
use yardstick_tasks::ChatMessage;

/// One item of a suite: its conversation and what its record keeps about it.
#[derive(Debug, Clone)]
pub struct SuiteItem {
    /// The item's index in its data.
    pub doc_id: usize,
    /// The messages the candidate answers.
    pub messages: Vec<ChatMessage>,
    /// Fields copied into the stored record (the item's data, the expected answer).
    pub fields: Map<String, Value>,
}

/// An item's scores: metric values (1/0 or a number) and fields for the record.
pub type ItemScores = Map<String, Value>;

/// Runs a suite task: its items answered by the candidate (resuming from the store),
/// scored, summarised and written.
pub fn run_suite(
    task: &SuiteTaskConfig,
    candidate: &mut Participant<'_>,
    store: &mut Store,
    options: &JudgedOptions,
) -> Result<JudgedOutcome, JudgedError> {
    match task.kind {
        SuiteKind::Bfcl => crate::bfcl::run(task, candidate, store, options),
        SuiteKind::Niah => crate::niah::run(task, candidate, store, options),
        SuiteKind::Halueval => crate::halueval::run(task, candidate, store, options),
        SuiteKind::Advbench => crate::advbench::run(task, candidate, store, options),
        SuiteKind::StructuredOutput => crate::structured::run(task, candidate, store, options),
    }
}

/// What a suite's items became: the stored records within the limit, and the counts.
pub(crate) struct Answered {
    pub book: yardstick_judge::Bookkeeping,
    pub items: Vec<StoredItem>,
    pub computed: usize,
    pub original: usize,
    pub evaluated: usize,
}

/// Answers and scores every item not yet stored (all of `items`, already cut to the
/// limit), in chunks, and reads the records back.
pub(crate) fn answer_items(
    task: &SuiteTaskConfig,
    candidate: &mut Participant<'_>,
    (items, original): (&[SuiteItem], usize),
    (mut config, dataset_hash): (Value, String),
    store: &mut Store,
    options: &JudgedOptions,
    score: &dyn Fn(&SuiteItem, &str) -> ItemScores,
) -> Result<Answered, JudgedError> {
    if let Value::Object(map) = &mut config {
        map.insert("task".into(), json!(task.task));
        map.insert("candidate".into(), json!(candidate.identity()));
        map.insert("max_new_tokens".into(), json!(task.max_new_tokens));
    }
    let book = begin(
        store,
        candidate,
        &task.task,
        config,
        &dataset_hash,
        options.limit,
    )?;
    let computed = fill_missing(
        items,
        |item| item.doc_id,
        Chunking {
            task: &book.task,
            chunk_docs: options.chunk_docs,
            progress: options.progress,
        },
        store,
        &book.key,
        |missing| {
            let turns: Vec<Turn> = missing
                .iter()
                .map(|item| Turn {
                    messages: item.messages.clone(),
                    sampling: Sampling::Greedy,
                    max_tokens: task.max_new_tokens,
                })
                .collect();
            let doc_ids: Vec<usize> = missing.iter().map(|item| item.doc_id).collect();
            let said = candidate.say(book.task.as_str(), &doc_ids, &turns)?;
            Ok(missing
                .iter()
                .zip(said)
                .map(|(item, said)| {
                    let mut record = item.fields.clone();
                    record.insert("doc_id".into(), json!(item.doc_id));
                    record.insert("prompt".into(), json!(said.prompt));
                    record.insert("response".into(), json!(said.text));
                    record.extend(score(item, &said.text));
                    let mut record = Value::Object(record);
                    attach_calls(&mut record, "api", &[said.api]);
                    StoredItem::new(item.doc_id, record)
                })
                .collect())
        },
    )?;
    let evaluated = items.len();
    let ids: std::collections::BTreeSet<usize> = items.iter().map(|i| i.doc_id).collect();
    let mut stored = store.load_items(&book.key, None)?;
    stored.retain(|item| ids.contains(&item.doc_id));
    Ok(Answered {
        book,
        items: stored,
        computed,
        original,
        evaluated,
    })
}

/// The mean and standard error of each named per-item metric.
pub(crate) fn means(items: &[StoredItem], names: &[&str]) -> Vec<(String, Aggregate)> {
    names
        .iter()
        .map(|name| {
            let values: Vec<f64> = items
                .iter()
                .filter_map(|item| item.record.get(*name).and_then(Value::as_f64))
                .collect();
            ((*name).to_owned(), Aggregate::mean(&values))
        })
        .collect()
}

/// Writes the results and returns the outcome.
pub(crate) fn conclude(
    store: &Store,
    answered: Answered,
    candidate: &Participant<'_>,
    metrics: Vec<(String, Aggregate)>,
    extra: Map<String, Value>,
    options: &JudgedOptions,
) -> Result<JudgedOutcome, JudgedError> {
    let scored = Scored {
        metrics,
        original: answered.original,
        evaluated: answered.evaluated,
        computed: answered.computed,
        failed_judgments: 0,
        extra,
        notes: Vec::new(),
    };
    finish(
        store,
        answered.book,
        candidate,
        &answered.items,
        scored,
        options,
    )
}

/// sha256 of a data file's text, the dataset hash.
pub(crate) fn text_hash(text: &str) -> String {
    sha256_hex(text.as_bytes())
}

/// The first `limit` of `items`.
pub(crate) fn limited<T>(mut items: Vec<T>, limit: Option<usize>) -> Vec<T> {
    if let Some(limit) = limit {
        items.truncate(limit);
    }
    items
}
