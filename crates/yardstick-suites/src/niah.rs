//! Needle in a haystack (gkamradt's `LLMTest_NeedleInAHaystack`): a needle sentence
//! hidden at each depth of contexts of each length, counted in the tested model's own
//! tokens, and the model asked the question the needle answers.
//!
//! The construction is the original's: the haystack (long natural text, repeated as
//! needed) is cut so that haystack and needle fill the context length less a 200-token
//! buffer; the needle goes in at `int(tokens × depth / 100)`, moved back to just after
//! the nearest preceding `.` token (depth 100: at the end). A context longer than the
//! model's window is refused, never cut silently. An answer counts as retrieved when it
//! holds the needle's key words (RULER's string match, case-insensitive).

use crate::run::{answer_items, conclude, means, text_hash, Answer, ItemScores, SuiteItem};
use crate::task::SuiteTaskConfig;
use serde_json::{json, Map, Value};
use yardstick_core::TokenId;
use yardstick_judge::{message, JudgedError, JudgedOptions, JudgedOutcome, Participant};
use yardstick_models::Backend;
use yardstick_store::Store;

/// Tokens kept free after the context (the original's `final_context_length_buffer`).
pub const BUFFER_TOKENS: usize = 200;

/// The system message of the original's OpenAI provider.
pub const SYSTEM: &str = "You are a helpful AI bot that answers questions for a user. Keep your response short and direct";

/// One placed needle.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// The context's tokens, needle included.
    pub tokens: Vec<TokenId>,
    /// Where the needle's first token is.
    pub needle_at: usize,
}

/// Places `needle` (tokens) in `haystack` (tokens, at least as long as needed) for a
/// context of `length` tokens at `depth` percent; `periods` are the tokens of `.`.
pub fn place_needle(
    haystack: &[TokenId],
    needle: &[TokenId],
    periods: &[TokenId],
    length: usize,
    depth: f64,
) -> Placement {
    let budget = length.saturating_sub(BUFFER_TOKENS);
    let mut context: Vec<TokenId> = haystack.to_vec();
    if context.len() + needle.len() > budget {
        context.truncate(budget.saturating_sub(needle.len()));
    }
    if depth >= 100.0 {
        let needle_at = context.len();
        context.extend_from_slice(needle);
        return Placement {
            tokens: context,
            needle_at,
        };
    }
    let mut at = (context.len() as f64 * (depth / 100.0)) as usize;
    while at > 0 && !periods.contains(&context[at - 1]) {
        at -= 1;
    }
    let mut tokens = context[..at].to_vec();
    tokens.extend_from_slice(needle);
    tokens.extend_from_slice(&context[at..]);
    Placement {
        tokens,
        needle_at: at,
    }
}

/// The haystack text: each JSON file's objects' `output` fields (else the file's text),
/// joined by blank lines, repeated until it holds at least `tokens` tokens.
fn haystack_tokens(
    task: &SuiteTaskConfig,
    backend: &dyn Backend,
    data_dir: &std::path::Path,
    tokens: usize,
) -> Result<(Vec<TokenId>, String), JudgedError> {
    let mut pieces = Vec::new();
    let mut hash = String::new();
    for file in &task.haystack {
        let (path, text) = task.read_data(file, data_dir)?;
        hash.push_str(&text_hash(&text));
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(rows)) => pieces.extend(
                rows.iter()
                    .filter_map(|r| r.get("output").and_then(Value::as_str).map(str::to_owned)),
            ),
            _ if path.extension().is_some_and(|e| e == "json") => {
                return Err(JudgedError::Data {
                    path,
                    line: 0,
                    message: "a JSON haystack must be a list of objects with `output`".into(),
                })
            }
            _ => pieces.push(text),
        }
    }
    if pieces.is_empty() {
        return Err(JudgedError::Config(format!(
            "task {} needs `haystack` text",
            task.task
        )));
    }
    let mut text = String::new();
    let mut counted = 0;
    'fill: loop {
        let before = counted;
        for piece in &pieces {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(piece);
            counted += backend.text_tokens(piece).map_or(0, |t| t.len());
            if counted >= tokens + 64 {
                break 'fill;
            }
        }
        if counted == before {
            return Err(JudgedError::Config(format!(
                "task {}: the haystack text has no tokens",
                task.task
            )));
        }
    }
    let all = backend.text_tokens(&text).unwrap_or_default();
    Ok((all, text_hash(&hash)))
}

pub(crate) fn run(
    task: &SuiteTaskConfig,
    candidate: &mut Participant<'_>,
    store: &mut Store,
    options: &JudgedOptions,
) -> Result<JudgedOutcome, JudgedError> {
    let needle = task
        .needle
        .clone()
        .ok_or_else(|| JudgedError::Config(format!("task {} needs `needle`", task.task)))?;
    let question = task
        .question
        .clone()
        .ok_or_else(|| JudgedError::Config(format!("task {} needs `question`", task.task)))?;
    let key = task.answer_contains.clone().ok_or_else(|| {
        JudgedError::Config(format!("task {} needs `answer_contains`", task.task))
    })?;
    if task.context_lengths.is_empty() || task.depths.is_empty() {
        return Err(JudgedError::Config(format!(
            "task {} needs `context_lengths` and `depths`",
            task.task
        )));
    }
    let backend: &dyn Backend = &*candidate.backend;
    let Some(needle_tokens) = backend.text_tokens(&needle) else {
        return Err(JudgedError::Config(format!(
            "task {} counts context lengths in the model's own tokens; {} has no local tokenizer (run it with a gguf: model)",
            task.task,
            backend.name()
        )));
    };
    let window = backend.context_window().unwrap_or(usize::MAX);
    for &length in &task.context_lengths {
        if length + task.max_new_tokens > window {
            return Err(JudgedError::Config(format!(
                "task {}: a context of {length} tokens plus {} answer tokens exceeds {}'s {window}-token window; drop that length from context_lengths",
                task.task,
                task.max_new_tokens,
                backend.name()
            )));
        }
    }
    let longest = task.context_lengths.iter().copied().max().unwrap_or(0);
    let (haystack, haystack_hash) = haystack_tokens(task, backend, &options.data_dir, longest)?;
    let periods = backend.text_tokens(".").unwrap_or_default();
    let mut items = Vec::new();
    for (li, &length) in task.context_lengths.iter().enumerate() {
        for (di, &depth) in task.depths.iter().enumerate() {
            let doc_id = li * task.depths.len() + di;
            if options.limit.is_some_and(|limit| items.len() >= limit) {
                break;
            }
            let placement = place_needle(&haystack, &needle_tokens, &periods, length, depth);
            let context = backend.token_text(&placement.tokens).unwrap_or_default();
            let mut fields = Map::new();
            fields.insert("context_length".into(), json!(length));
            fields.insert("depth".into(), json!(depth));
            fields.insert("context_tokens".into(), json!(placement.tokens.len()));
            fields.insert("needle_token".into(), json!(placement.needle_at));
            fields.insert("target".into(), json!(key));
            items.push(SuiteItem {
                doc_id,
                messages: vec![
                    message("system", SYSTEM),
                    Participant::user(&context),
                    Participant::user(&format!("{question} Don't give information outside the document or repeat your findings")),
                ],
                fields,
                tools: None,
            });
        }
    }
    let original = task.context_lengths.len() * task.depths.len();
    let score = |_: &SuiteItem, answer: &Answer| -> ItemScores {
        let answer = answer.text.as_str();
        let mut scores = Map::new();
        scores.insert("metrics".into(), json!(["retrieved"]));
        scores.insert(
            "retrieved".into(),
            json!(f64::from(u8::from(
                answer.to_lowercase().contains(&key.to_lowercase())
            ))),
        );
        scores
    };
    let config = json!({
        "kind": "niah", "needle": needle, "question": question, "answer_contains": key,
        "context_lengths": task.context_lengths, "depths": task.depths, "haystack": haystack_hash,
    });
    let answered = answer_items(
        task,
        candidate,
        (&items, original),
        (config, haystack_hash.clone()),
        store,
        options,
        &score,
    )?;
    let metrics = means(&answered.items, &["retrieved"]);
    let mut grid = vec![vec![None; task.context_lengths.len()]; task.depths.len()];
    let mut cells = Vec::new();
    for item in &answered.items {
        let (li, di) = (
            item.doc_id / task.depths.len(),
            item.doc_id % task.depths.len(),
        );
        let value = item.record.get("retrieved").and_then(Value::as_f64);
        if let (Some(row), Some(v)) = (grid.get_mut(di), value) {
            if let Some(cell) = row.get_mut(li) {
                *cell = Some(v);
            }
            cells.push(json!({"context_length": task.context_lengths[li], "depth": task.depths[di], "retrieved": v}));
        }
    }
    let svg = yardstick_report::heatmap(
        &format!(
            "{}: needle retrieved, by context length (tokens) and depth (%)",
            candidate.name()
        ),
        &task
            .context_lengths
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>(),
        &task
            .depths
            .iter()
            .map(|d| format!("{d}%"))
            .collect::<Vec<_>>(),
        &grid,
    );
    let mut extra = Map::new();
    extra.insert("cells".into(), json!(cells));
    let outcome = conclude(store, answered, candidate, metrics, extra, options)?;
    if let Some(dir) = outcome.run.results_path.parent() {
        let path = dir.join(format!("{}_heatmap.svg", task.task));
        yardstick_engine::write_atomic(&path, svg.as_bytes())?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(range: std::ops::Range<i32>) -> Vec<TokenId> {
        range.map(TokenId).collect()
    }

    #[test]
    fn needles_go_after_the_nearest_preceding_period() {
        // Tokens 0..1000, with "periods" at every multiple of 10 (token 9 ends a
        // sentence, so a needle may follow it).
        let haystack = ids(0..1000);
        let periods: Vec<TokenId> = (0..100).map(|k| TokenId(k * 10 + 9)).collect();
        let needle = vec![TokenId(-1), TokenId(-2)];
        let placed = place_needle(&haystack, &needle, &periods, 500, 50.0);
        // 500 - 200 = 300 tokens in all: 298 of haystack, the needle at int(298 * 0.5)
        // = 149, moved back to 140 (after token 139).
        assert_eq!(placed.tokens.len(), 300);
        assert_eq!(placed.needle_at, 140);
        assert_eq!(placed.tokens[139], TokenId(139));
        assert_eq!(&placed.tokens[140..142], &needle[..]);
        assert_eq!(placed.tokens[142], TokenId(140));
        let start = place_needle(&haystack, &needle, &periods, 500, 0.0);
        assert_eq!(start.needle_at, 0);
        let end = place_needle(&haystack, &needle, &periods, 500, 100.0);
        assert_eq!(end.needle_at, 298);
        assert_eq!(end.tokens.len(), 300);
    }
}
