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
    /// Tools offered through the API's function-calling field (BFCL with chat APIs).
    pub tools: Option<Value>,
}

/// An item's scores: metric values (1/0 or a number) and fields for the record.
pub type ItemScores = Map<String, Value>;

/// What the candidate answered: its text, and for an item offered tools, the calls it
/// made (`(name, arguments JSON)`).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The answer's text.
    pub text: String,
    /// The tool calls, when the item was offered tools.
    pub tool_calls: Option<Vec<(String, String)>>,
}

/// A judge asked about each answer, in the same chunk as the answers.
pub(crate) struct JudgeStage<'a, 'p> {
    /// The judge.
    pub judge: &'a mut Participant<'p>,
    /// The judge's conversation about an item's answer.
    pub ask: &'a dyn Fn(&SuiteItem, &str) -> Vec<ChatMessage>,
    /// Most tokens of a judgment.
    pub max_tokens: usize,
    /// The judgment read into record fields; a judgment that does not parse leaves its
    /// metric out (recorded as failed, never scored).
    pub read: &'a dyn Fn(&str) -> ItemScores,
}

/// Runs a suite task: its items answered by the candidate (resuming from the store),
/// scored, summarised and written.
/// A judge, where given, also scores AdvBench (refusal) and TruthfulQA generation
/// (truthfulness; required there).
pub fn run_suite(
    task: &SuiteTaskConfig,
    candidate: &mut Participant<'_>,
    judge: Option<&mut Participant<'_>>,
    store: &mut Store,
    options: &JudgedOptions,
) -> Result<JudgedOutcome, JudgedError> {
    match task.kind {
        SuiteKind::Bfcl => crate::bfcl::run(task, candidate, store, options),
        SuiteKind::Niah => crate::niah::run(task, candidate, store, options),
        SuiteKind::Halueval => crate::halueval::run(task, candidate, store, options),
        SuiteKind::Advbench => crate::advbench::run(task, candidate, judge, store, options),
        SuiteKind::StructuredOutput => crate::structured::run(task, candidate, store, options),
        SuiteKind::TruthfulqaGen => crate::truthfulqa::run(task, candidate, judge, store, options),
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
    (config, dataset_hash): (Value, String),
    store: &mut Store,
    options: &JudgedOptions,
    score: &dyn Fn(&SuiteItem, &Answer) -> ItemScores,
) -> Result<Answered, JudgedError> {
    answer_and_judge(
        task,
        candidate,
        (items, original),
        (config, dataset_hash),
        store,
        options,
        score,
        None,
    )
}

/// [`answer_items`], each chunk's answers then judged by `judge` when one is given.
#[allow(clippy::too_many_arguments)]
pub(crate) fn answer_and_judge(
    task: &SuiteTaskConfig,
    candidate: &mut Participant<'_>,
    (items, original): (&[SuiteItem], usize),
    (mut config, dataset_hash): (Value, String),
    store: &mut Store,
    options: &JudgedOptions,
    score: &dyn Fn(&SuiteItem, &Answer) -> ItemScores,
    mut judge: Option<JudgeStage<'_, '_>>,
) -> Result<Answered, JudgedError> {
    if let Value::Object(map) = &mut config {
        map.insert("task".into(), json!(task.task));
        map.insert("candidate".into(), json!(candidate.identity()));
        map.insert("max_new_tokens".into(), json!(task.max_new_tokens));
        if let Some(stage) = &judge {
            map.insert("judge".into(), json!(stage.judge.identity()));
            map.insert("judge_source".into(), json!(stage.judge.source));
        }
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
            let said = if missing.iter().any(|item| item.tools.is_some()) {
                offer_tools(candidate, &book.task, missing, task.max_new_tokens)?
            } else {
                candidate
                    .say(book.task.as_str(), &doc_ids, &turns)?
                    .into_iter()
                    .map(|said| (said, None))
                    .collect()
            };
            let judged = match judge.as_mut() {
                Some(stage) => {
                    let turns: Vec<Turn> = missing
                        .iter()
                        .zip(&said)
                        .map(|(item, (said, _))| Turn {
                            messages: (stage.ask)(item, &said.text),
                            sampling: Sampling::Greedy,
                            max_tokens: stage.max_tokens,
                        })
                        .collect();
                    stage
                        .judge
                        .say(book.task.as_str(), &doc_ids, &turns)?
                        .into_iter()
                        .map(Some)
                        .collect()
                }
                None => vec![None; missing.len()],
            };
            Ok(missing
                .iter()
                .zip(said)
                .zip(judged)
                .map(|((item, (said, tool_calls)), judged)| {
                    let mut record = item.fields.clone();
                    record.insert("doc_id".into(), json!(item.doc_id));
                    record.insert("prompt".into(), json!(said.prompt));
                    record.insert("response".into(), json!(said.text));
                    if let Some(calls) = &tool_calls {
                        record.insert("tool_calls".into(), json!(calls));
                    }
                    let answer = Answer {
                        text: said.text.clone(),
                        tool_calls,
                    };
                    record.extend(score(item, &answer));
                    let judge_api = judged.as_ref().map(|j| j.api.clone());
                    if let (Some(judged), Some(stage)) = (judged, judge.as_ref()) {
                        record.insert("judge_prompt".into(), json!(judged.prompt));
                        record.insert("judgment".into(), json!(judged.text));
                        record.extend((stage.read)(&judged.text));
                    }
                    let mut record = Value::Object(record);
                    attach_calls(&mut record, "api", &[said.api]);
                    if let Some(api) = judge_api {
                        attach_calls(&mut record, "judge_api", &[api]);
                    }
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

/// An answer with the tool calls it made, when tools were offered.
type SaidWithCalls = (yardstick_judge::Said, Option<Vec<(String, String)>>);

/// Items offered tools, through the backend's function-calling interface.
fn offer_tools(
    candidate: &mut Participant<'_>,
    task: &yardstick_core::TaskName,
    items: &[&SuiteItem],
    max_tokens: usize,
) -> Result<Vec<SaidWithCalls>, yardstick_engine::EngineError> {
    let mut requests = Vec::with_capacity(items.len());
    for item in items {
        let prompt = candidate
            .chat
            .render_conversation(&item.messages)
            .map_err(|e| yardstick_engine::EngineError::Hook {
                task: task.to_string(),
                doc_id: item.doc_id,
                message: e.to_string(),
            })?;
        requests.push((prompt, item.tools.clone().unwrap_or(Value::Null)));
    }
    let answers = candidate.backend.call_tools(&requests, max_tokens)?;
    yardstick_engine::check_response_count(requests.len(), answers.len())?;
    let mut calls = candidate.backend.take_api_calls();
    calls.resize(requests.len(), None);
    Ok(requests
        .into_iter()
        .zip(answers)
        .zip(calls)
        .map(|(((prompt, _), answer), api)| {
            (
                yardstick_judge::Said {
                    prompt,
                    text: answer.text.trim().to_owned(),
                    api,
                },
                Some(answer.calls),
            )
        })
        .collect())
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

/// Writes the results and returns the outcome; items whose record says
/// `judge_failed` are counted as failed judgments.
pub(crate) fn conclude(
    store: &Store,
    answered: Answered,
    candidate: &Participant<'_>,
    metrics: Vec<(String, Aggregate)>,
    extra: Map<String, Value>,
    options: &JudgedOptions,
) -> Result<JudgedOutcome, JudgedError> {
    let failed_judgments = answered
        .items
        .iter()
        .filter(|item| item.record.get("judge_failed") == Some(&Value::Bool(true)))
        .count();
    let scored = Scored {
        metrics,
        original: answered.original,
        evaluated: answered.evaluated,
        computed: answered.computed,
        failed_judgments,
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
