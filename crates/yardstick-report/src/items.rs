//! One benchmark's items as the drill-down shows them: prompt, response, judgment and
//! score, every piece of model text escaped.

use crate::escape::escape_html;
use crate::html::page;
use crate::tables::format_value;
use serde_json::Value;
use std::fmt::Write;
use yardstick_compare::item_metrics;
use yardstick_store::StoredItem;

/// What the drill-down shows of one stored item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemView {
    /// The task it belongs to.
    pub task: String,
    /// The document's index.
    pub doc_id: usize,
    /// The prompt (the context of a multiple-choice item).
    pub prompt: String,
    /// The model's answers: generated texts, or each choice with its log-likelihood.
    pub responses: Vec<String>,
    /// The expected answer.
    pub target: String,
    /// How the answer was judged: extracted answers, program verdicts, a judge's words.
    pub judgment: Vec<String>,
    /// The item's metric values.
    pub scores: Vec<(String, f64)>,
}

fn text_of(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

impl ItemView {
    /// The view of a stored record (the engine's per-sample record) of `task`.
    pub fn from_record(task: &str, item: &StoredItem) -> Self {
        let record = &item.record;
        let arguments = record.get("arguments").and_then(Value::as_object);
        let mut prompt = text_of(record.pointer("/arguments/gen_args_0/arg_0"));
        let mut responses = Vec::new();
        let mut judgment = Vec::new();
        let texts = |field: &str| -> Vec<String> {
            record
                .get(field)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|v| text_of(Some(v)))
                .collect()
        };
        if let Some(judgments) = record.get("judgments").and_then(Value::as_array) {
            // MT-Bench: the turns, the answers (and a baseline's), each judgment with the
            // rating or verdict read from it.
            prompt = texts("questions")
                .iter()
                .enumerate()
                .map(|(i, q)| format!("[turn {}] {q}", i + 1))
                .collect::<Vec<_>>()
                .join("\n\n");
            for (i, answer) in texts("answers").iter().enumerate() {
                responses.push(format!("[turn {}] {answer}", i + 1));
            }
            for (i, answer) in texts("baseline_answers").iter().enumerate() {
                let baseline = text_of(record.get("baseline"));
                responses.push(format!("[{baseline}, turn {}] {answer}", i + 1));
            }
            for j in judgments {
                let read = match (j.get("score"), j.get("winner")) {
                    (Some(score), _) if !score.is_null() => format!("rating {score}"),
                    (_, Some(winner)) if !winner.is_null() => {
                        format!("winner {}", text_of(Some(winner)))
                    }
                    _ => "no rating or verdict: failed, left out".to_owned(),
                };
                let order = j
                    .get("order")
                    .map(|o| format!(", {}", text_of(Some(o))))
                    .unwrap_or_default();
                judgment.push(format!(
                    "[turn {}{order}, {}] {read}\n{}",
                    text_of(j.get("turn")),
                    text_of(j.get("prompt")),
                    text_of(j.get("judgment"))
                ));
            }
        } else if let Some(instruction) = record.get("instruction") {
            // AlpacaEval: the instruction, the candidate's output and the reference's.
            prompt = text_of(Some(instruction));
            responses.push(text_of(record.get("output_2")));
            responses.push(format!(
                "[{}] {}",
                text_of(record.get("generator_1")),
                text_of(record.get("output_1"))
            ));
            let preference = match record.get("preference") {
                Some(p) if !p.is_null() => {
                    format!("preference {p} (1: reference better, 2: candidate better)")
                }
                _ => "no preference read: failed, left out".to_owned(),
            };
            judgment.push(preference);
        } else if let Some(filters) = record.get("filters").and_then(Value::as_object) {
            for text in record
                .pointer("/resps/0")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                responses.push(text_of(Some(text)));
            }
            for (filter, entry) in filters {
                let answers = text_of(entry.get("filtered_resps"));
                judgment.push(format!("{filter}: {answers}"));
                if let Some(executions) = entry.get("executions") {
                    judgment.push(format!("{filter} executions: {executions}"));
                }
            }
        } else if let Some(arguments) = arguments {
            // Multiple choice: each continuation with its log-likelihood, the chosen one
            // (highest) marked.
            let lls: Vec<f64> = record
                .get("filtered_resps")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|pair| {
                    pair.get(0)
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse().ok())
                })
                .collect();
            let chosen = lls
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i);
            for i in 0..arguments.len() {
                let continuation =
                    text_of(record.pointer(&format!("/arguments/gen_args_{i}/arg_1")));
                let ll = lls.get(i).map_or("?".to_owned(), |ll| format!("{ll:.4}"));
                let mark = if Some(i) == chosen { "▶ " } else { "  " };
                responses.push(format!("{mark}{continuation}  (log-likelihood {ll})"));
            }
        }
        if let Some(judge) = record.get("judgment") {
            judgment.push(text_of(Some(judge)));
        }
        Self {
            task: task.to_owned(),
            doc_id: item.doc_id,
            prompt,
            responses,
            target: text_of(record.get("target")),
            judgment,
            scores: item_metrics(item),
        }
    }
}

/// The drill-down page of one model's items on one benchmark.
pub fn items_page(model: &str, benchmark: &str, items: &[ItemView], page_note: &str) -> String {
    let title = format!("{model} on {benchmark}");
    let mut body = format!(
        "<p><a href=\"/\">← leaderboard</a></p><h1>{}</h1><p>{}</p><div id=\"items\">",
        escape_html(&title),
        escape_html(page_note)
    );
    for item in items {
        let scores: Vec<String> = item
            .scores
            .iter()
            .map(|(name, value)| format!("{name} {}", format_value(*value)))
            .collect();
        let _ = write!(
            body,
            "<details class=\"item\" data-doc=\"{}\"><summary>{} #{} — {}</summary>",
            item.doc_id,
            escape_html(&item.task),
            item.doc_id,
            escape_html(&scores.join(", "))
        );
        let _ = write!(
            body,
            "<h4>Prompt</h4><pre class=\"prompt\">{}</pre>",
            escape_html(&item.prompt)
        );
        body.push_str("<h4>Response</h4>");
        for response in &item.responses {
            let _ = write!(
                body,
                "<pre class=\"response\">{}</pre>",
                escape_html(response)
            );
        }
        let _ = write!(
            body,
            "<h4>Target</h4><pre class=\"target\">{}</pre>",
            escape_html(&item.target)
        );
        if !item.judgment.is_empty() {
            body.push_str("<h4>Judgment</h4>");
            for line in &item.judgment {
                let _ = write!(body, "<pre class=\"judgment\">{}</pre>", escape_html(line));
            }
        }
        let _ = write!(
            body,
            "<h4>Score</h4><p class=\"scores\">{}</p></details>",
            escape_html(&scores.join(", "))
        );
    }
    body.push_str("</div>");
    page(&title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn multiple_choice_items_show_each_choice_and_the_chosen_one() {
        let item = StoredItem::new(
            4,
            json!({
                "target": "Paris",
                "arguments": {
                    "gen_args_0": {"arg_0": "Capital of France?", "arg_1": " Paris"},
                    "gen_args_1": {"arg_0": "Capital of France?", "arg_1": " Rome"}
                },
                "filtered_resps": [["-1.5", "False"], ["-0.5", "True"]],
                "metrics": ["acc"], "acc": 0.0
            }),
        );
        let view = ItemView::from_record("geo", &item);
        assert_eq!(view.prompt, "Capital of France?");
        assert_eq!(view.responses.len(), 2);
        assert!(
            view.responses[1].starts_with("▶  Rome"),
            "{:?}",
            view.responses
        );
        assert_eq!(view.scores, vec![("acc".to_owned(), 0.0)]);
    }

    #[test]
    fn model_text_is_escaped_on_the_page() {
        let item = StoredItem::new(
            0,
            json!({
                "arguments": {"gen_args_0": {"arg_0": "Say hi", "arg_1": {}}},
                "resps": [["<script>alert(1)</script><img src=x onerror=alert(2)>"]],
                "filters": {"none": {"filtered_resps": ["<b>x</b>"], "exact_match": 0.0}},
                "target": "hi"
            }),
        );
        let html = items_page("m<1>", "t", &[ItemView::from_record("t", &item)], "");
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("<b>x"));
        assert!(html
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"));
        assert!(html.contains("m&lt;1&gt; on t"));
    }

    #[test]
    fn judged_items_show_answers_judgments_and_scores_together() {
        let item = StoredItem::new(
            1,
            json!({
                "questions": ["Write a poem.", "Shorter."],
                "answers": ["Roses <red>.", "Roses."],
                "judgments": [
                    {"turn": 1, "prompt": "single-v1", "judgment": "Fine. [[6]]", "score": 6.0},
                    {"turn": 2, "prompt": "single-v1-multi-turn", "judgment": "??", "score": null}
                ],
                "metrics": ["score"], "score": 6.0
            }),
        );
        let view = ItemView::from_record("mt_bench", &item);
        assert_eq!(view.prompt, "[turn 1] Write a poem.\n\n[turn 2] Shorter.");
        assert_eq!(
            view.responses,
            vec!["[turn 1] Roses <red>.", "[turn 2] Roses."]
        );
        assert!(view.judgment[0].starts_with("[turn 1, single-v1] rating 6.0\nFine. [[6]]"));
        assert!(view.judgment[1].contains("failed, left out"));
        assert_eq!(view.scores, vec![("score".to_owned(), 6.0)]);
        let html = items_page("m", "mt_bench", &[view], "");
        assert!(html.contains("Roses &lt;red&gt;."));
    }
}
