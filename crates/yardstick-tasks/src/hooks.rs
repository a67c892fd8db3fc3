//! `!function` hooks: the Python functions lm-eval's task files name, as built-in
//! transforms.
//!
//! lm-eval imports `!function module.name` from a Python file next to the task file.
//! yardstick runs no Python, so it ships the transforms its built-in tasks need under
//! qualified names (`hellaswag.process_docs`). An lm-eval spelling is accepted too where
//! it names one function unambiguously (`preprocess_winogrande.doc_to_text`); an
//! ambiguous one such as `utils.process_docs` is refused with the name to use instead.

use serde_json::{Map, Value};
use yardstick_core::{python_capitalize, python_strip};

/// A built-in transform a task file can name with `!function`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// HellaSwag's `process_docs`: adds `query`, `choices` and `gold`.
    HellaswagProcessDocs,
    /// TruthfulQA MC2's `process_results`: probability mass on the true answers.
    TruthfulqaMc2Results,
    /// WinoGrande's `doc_to_text`: the index of the right option.
    WinograndeDocToText,
    /// WinoGrande's `doc_to_target`: the sentence after the blank.
    WinograndeDocToTarget,
    /// WinoGrande's `doc_to_choice`: the sentence up to the blank, once per option.
    WinograndeDocToChoice,
    /// HumanEval's `pass_at_k` metric: each candidate program runs with the tests.
    HumanevalPassAtK,
    /// HumanEval's `build_predictions` filter: the prompt followed by each response.
    HumanevalBuildPredictions,
    /// MBPP's `pass_at_1` metric: the response runs with the three tests.
    MbppPassAt1,
    /// MBPP's `list_fewshot_samples`: the three solved problems of its prompt.
    MbppFewshotSamples,
    /// The test split of the hub's `mbpp` `full` config (task ids 11-510), taken from
    /// the original `mbpp.jsonl`, which holds every split in one file.
    MbppFullTestSplit,
}

/// Every hook with its yardstick name, lm-eval's unambiguous spelling (if any), and the
/// task field it belongs in.
const HOOKS: &[(Hook, &str, Option<&str>, &str)] = &[
    (
        Hook::HellaswagProcessDocs,
        "hellaswag.process_docs",
        None,
        "process_docs",
    ),
    (
        Hook::TruthfulqaMc2Results,
        "truthfulqa.process_results_mc2",
        None,
        "process_results",
    ),
    (
        Hook::WinograndeDocToText,
        "winogrande.doc_to_text",
        Some("preprocess_winogrande.doc_to_text"),
        "doc_to_text",
    ),
    (
        Hook::WinograndeDocToTarget,
        "winogrande.doc_to_target",
        Some("preprocess_winogrande.doc_to_target"),
        "doc_to_target",
    ),
    (
        Hook::WinograndeDocToChoice,
        "winogrande.doc_to_choice",
        Some("preprocess_winogrande.doc_to_choice"),
        "doc_to_choice",
    ),
    (
        Hook::HumanevalPassAtK,
        "humaneval.pass_at_k",
        None,
        "metric",
    ),
    (
        Hook::HumanevalBuildPredictions,
        "humaneval.build_predictions",
        None,
        "filter_fn",
    ),
    (Hook::MbppPassAt1, "mbpp.pass_at_1", None, "metric"),
    (
        Hook::MbppFewshotSamples,
        "mbpp.list_fewshot_samples",
        None,
        "samples",
    ),
    (
        Hook::MbppFullTestSplit,
        "mbpp.full_test_split",
        None,
        "process_docs",
    ),
];

/// Why a `!function` name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownHook(pub String);

impl Hook {
    /// The hook `name` refers to in task field `field`, or a message saying what exists.
    pub fn resolve(name: &str, field: &str) -> Result<Hook, UnknownHook> {
        let found = HOOKS
            .iter()
            .find(|(_, ours, theirs, _)| *ours == name || *theirs == Some(name));
        match found {
            Some((hook, _, _, home)) if *home == field => Ok(*hook),
            Some((_, ours, _, home)) => Err(UnknownHook(format!(
                "`!function {name}` belongs in `{home}`, not `{field}` (built-in `{ours}`)"
            ))),
            None => {
                let same_field: Vec<&str> = HOOKS
                    .iter()
                    .filter(|(_, _, _, home)| *home == field)
                    .map(|(_, ours, _, _)| *ours)
                    .collect();
                let function = name.rsplit('.').next().unwrap_or(name);
                let hint = same_field
                    .iter()
                    .find(|ours| ours.ends_with(&format!(".{function}")))
                    .map(|ours| format!("; if this is lm-eval's, write `!function {ours}`"))
                    .unwrap_or_default();
                let available = if same_field.is_empty() {
                    "none".to_owned()
                } else {
                    same_field.join(", ")
                };
                Err(UnknownHook(format!(
                    "`!function {name}` is not a built-in transform (yardstick runs no Python); \
                     built-in for `{field}`: {available}{hint}"
                )))
            }
        }
    }

    /// The qualified name task files use.
    pub fn name(self) -> &'static str {
        HOOKS
            .iter()
            .find(|(hook, ..)| *hook == self)
            .map_or("?", |(_, ours, ..)| ours)
    }
}

/// HellaSwag's document preprocessing, as lm-eval's `hellaswag/utils.py` does it: the
/// activity label and both context halves (the second capitalised) become `query`; each
/// ending is cleaned into `choices`; the label becomes the integer `gold`. The new fields
/// are appended after the original ones, as `datasets.map` appends them.
pub fn hellaswag_process_doc(doc: &Value) -> Result<Value, String> {
    let text = |key: &str| -> Result<&str, String> {
        doc.get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("HellaSwag document without a string `{key}`"))
    };
    let context = format!("{} {}", text("ctx_a")?, python_capitalize(text("ctx_b")?));
    let query = hellaswag_clean(&format!("{}: {context}", text("activity_label")?));
    let endings = doc
        .get("endings")
        .and_then(Value::as_array)
        .ok_or("HellaSwag document without a list of `endings`")?;
    let choices = endings
        .iter()
        .map(|e| {
            e.as_str()
                .map(|s| Value::String(hellaswag_clean(s)))
                .ok_or_else(|| "HellaSwag ending that is not a string".to_owned())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let gold = match doc.get("label") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => python_strip(s).parse().ok(),
        _ => None,
    }
    .ok_or("HellaSwag document whose `label` is not an integer")?;
    let mut out: Map<String, Value> = doc.as_object().cloned().unwrap_or_default();
    out.insert("query".into(), Value::String(query));
    out.insert("choices".into(), Value::Array(choices));
    out.insert("gold".into(), Value::from(gold));
    Ok(Value::Object(out))
}

/// `preprocess` from lm-eval's HellaSwag utilities: strip, turn WikiHow's ` [title]` into
/// a sentence break, drop other `[...]` markers, and fold one double space.
fn hellaswag_clean(text: &str) -> String {
    let text = python_strip(text).replace(" [title]", ". ");
    remove_bracketed(&text).replace("  ", " ")
}

/// `re.sub(r"\[.*?\]", "", text)`: removes each shortest `[...]` span that has no line
/// break inside (Python's `.` does not match `\n`).
fn remove_bracketed(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let close = after.find(']');
        let newline = after.find('\n');
        match close {
            Some(close) if newline.is_none_or(|n| n > close) => {
                out.push_str(&rest[..open]);
                rest = &after[close + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// TruthfulQA MC2 as lm-eval's `process_results_mc2` computes it: exponentiate the
/// log-likelihoods, normalise them to sum to one, and add up the true answers' share.
pub fn truthfulqa_mc2(loglikelihoods: &[f64], doc: &Value) -> Result<f64, String> {
    let labels = doc
        .pointer("/mc2_targets/labels")
        .and_then(Value::as_array)
        .ok_or("TruthfulQA document without `mc2_targets.labels`")?;
    if labels.len() != loglikelihoods.len() {
        return Err(format!(
            "{} mc2 labels for {} choices",
            labels.len(),
            loglikelihoods.len()
        ));
    }
    let probs: Vec<f64> = loglikelihoods.iter().map(|ll| ll.exp()).collect();
    let total: f64 = probs.iter().sum();
    Ok(probs
        .iter()
        .zip(labels)
        .filter(|(_, label)| label.as_i64() == Some(1))
        .map(|(p, _)| p / total)
        .sum())
}

/// WinoGrande's answer as an option index: `"1"` is 0, `"2"` is 1.
pub fn winogrande_answer_index(doc: &Value) -> Result<usize, String> {
    match doc.get("answer").and_then(Value::as_str) {
        Some("1") => Ok(0),
        Some("2") => Ok(1),
        other => Err(format!(
            "WinoGrande `answer` must be \"1\" or \"2\", got {other:?}"
        )),
    }
}

fn winogrande_sentence(doc: &Value) -> Result<(&str, usize), String> {
    let sentence = doc
        .get("sentence")
        .and_then(Value::as_str)
        .ok_or("WinoGrande document without a `sentence`")?;
    let blank = sentence
        .find('_')
        .ok_or("WinoGrande sentence without a `_` blank")?;
    Ok((sentence, blank))
}

/// The sentence after the blank, stripped: what every option is scored on.
pub fn winogrande_target(doc: &Value) -> Result<String, String> {
    let (sentence, blank) = winogrande_sentence(doc)?;
    Ok(python_strip(&sentence[blank + 1..]).to_owned())
}

/// The sentence up to the blank with each option filled in.
pub fn winogrande_choices(doc: &Value) -> Result<Vec<String>, String> {
    let (sentence, blank) = winogrande_sentence(doc)?;
    ["option1", "option2"]
        .iter()
        .map(|key| {
            doc.get(*key)
                .and_then(Value::as_str)
                .map(|option| format!("{}{option}", &sentence[..blank]))
                .ok_or_else(|| format!("WinoGrande document without `{key}`"))
        })
        .collect()
}

/// The first and last task id of the test split of the hub's `mbpp` `full` config (the
/// split lm-eval's `mbpp` task evaluates; MBPP's README: "Test 11-510").
const MBPP_TEST_TASK_IDS: std::ops::RangeInclusive<u64> = 11..=510;

/// Whether an MBPP problem belongs to the `full` config's test split.
pub fn mbpp_in_test_split(doc: &Value) -> Result<bool, String> {
    doc.get("task_id")
        .and_then(Value::as_u64)
        .map(|id| MBPP_TEST_TASK_IDS.contains(&id))
        .ok_or_else(|| "MBPP document without an integer `task_id`".to_owned())
}

/// The task ids of MBPP's few-shot problems, in prompt order: the ones lm-eval's
/// `mbpp/utils.py:list_fewshot_samples` lists (from the dataset's `prompt` split).
const MBPP_FEWSHOT_TASK_IDS: [u64; 3] = [2, 3, 4];

/// MBPP's three few-shot problems, as lm-eval's `list_fewshot_samples` gives them: the
/// problems with task ids 2, 3 and 4 (taken from `docs`, the few-shot split as read),
/// each marked `is_fewshot`, so that `doc_to_target` renders the solution.
pub fn mbpp_fewshot_samples(docs: &[Value]) -> Result<Vec<Value>, String> {
    MBPP_FEWSHOT_TASK_IDS
        .iter()
        .map(|&id| {
            let doc = docs
                .iter()
                .find(|d| d.get("task_id").and_then(Value::as_u64) == Some(id))
                .ok_or_else(|| {
                    format!(
                        "MBPP few-shot problem {id} is not in the few-shot split; point \
                         `fewshot_split` at a split holding task ids 2-4 (the original \
                         mbpp.jsonl, or the hub's `prompt` split)"
                    )
                })?;
            let mut out = doc.as_object().cloned().unwrap_or_default();
            out.insert("is_fewshot".into(), Value::Bool(true));
            Ok(Value::Object(out))
        })
        .collect()
}

/// HumanEval's candidate program text: the prompt (signature and docstring) followed by
/// the completion.
pub fn humaneval_candidate(doc: &Value, response: &str) -> Result<String, String> {
    doc.get("prompt")
        .and_then(Value::as_str)
        .map(|prompt| format!("{prompt}{response}"))
        .ok_or_else(|| "HumanEval document without a string `prompt`".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hellaswag_doc_matches_lm_eval() {
        let doc = json!({"activity_label": "Roof shingle removal", "ctx_a": "A man is sitting on a roof.",
            "ctx_b": "he", "label": 3, "endings": ["is using [header] wrap.", " starts  pulling [title] up"]});
        let out = hellaswag_process_doc(&doc).unwrap();
        assert_eq!(
            out["query"],
            "Roof shingle removal: A man is sitting on a roof. He"
        );
        assert_eq!(
            out["choices"],
            json!(["is using wrap.", "starts pulling. up"])
        );
        assert_eq!(out["gold"], 3);
        let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
        assert_eq!(keys.last().unwrap().as_str(), "gold");
    }

    #[test]
    fn brackets_are_removed_like_python_re() {
        assert_eq!(remove_bracketed("a [b] c [d"), "a  c [d");
        assert_eq!(remove_bracketed("[x\n] [y]z"), "[x\n] z");
        assert_eq!(remove_bracketed("[[a]]"), "]");
    }

    #[test]
    fn mc2_is_true_probability_mass() {
        let doc = json!({"mc2_targets": {"labels": [1, 0, 0]}});
        let lls = [0.5f64.ln(), 0.25f64.ln(), 0.25f64.ln()];
        assert!((truthfulqa_mc2(&lls, &doc).unwrap() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn winogrande_splits_at_the_blank() {
        let doc = json!({"sentence": "Sarah beat Maria so _ got the cases.", "option1": "Sarah",
            "option2": "Maria", "answer": "2"});
        assert_eq!(winogrande_answer_index(&doc).unwrap(), 1);
        assert_eq!(winogrande_target(&doc).unwrap(), "got the cases.");
        assert_eq!(
            winogrande_choices(&doc).unwrap(),
            vec!["Sarah beat Maria so Sarah", "Sarah beat Maria so Maria"]
        );
    }

    #[test]
    fn unknown_and_ambiguous_hooks_say_what_to_write() {
        let err = Hook::resolve("utils.process_docs", "process_docs").unwrap_err();
        assert!(err.0.contains("hellaswag.process_docs"), "{}", err.0);
        let err = Hook::resolve("winogrande.doc_to_text", "doc_to_choice").unwrap_err();
        assert!(err.0.contains("belongs in `doc_to_text`"), "{}", err.0);
        assert_eq!(
            Hook::resolve("preprocess_winogrande.doc_to_choice", "doc_to_choice"),
            Ok(Hook::WinograndeDocToChoice)
        );
    }
}
