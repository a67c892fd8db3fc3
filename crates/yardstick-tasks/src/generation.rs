//! `generate_until` tasks: generation settings, answer-extraction filters and the
//! exact-match metric, read from the task file as lm-eval reads them.

use crate::config::LoadedConfig;
use crate::TaskError;
use serde_json::Value;
use yardstick_core::{GenerateRequest, Sampling};
use yardstick_metrics::{ExactMatch, RegexFilter};

/// lm-eval's default generation budget (`max_gen_toks` of its models).
pub const DEFAULT_MAX_GEN_TOKS: usize = 256;

/// One `generate_until` document rendered into its request.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateDoc {
    /// Index of the document in the evaluation split.
    pub doc_id: usize,
    /// The document as read from the dataset (after `process_docs`).
    pub doc: Value,
    /// The prompt and how to generate after it.
    pub request: GenerateRequest,
    /// `generation_kwargs` as lm-eval logs them in its samples (`arg_1`).
    pub generation_kwargs: Value,
    /// `doc_to_target`, the reference answer.
    pub target: String,
}

/// The task's `generation_kwargs`, with lm-eval's defaults.
#[derive(Debug, Clone)]
pub(crate) struct GenerationSettings {
    pub until: Vec<String>,
    pub max_gen_toks: usize,
    pub sampling: Sampling,
    pub as_logged: Value,
}

impl GenerationSettings {
    pub(crate) fn from_config(loaded: &LoadedConfig) -> Result<Self, TaskError> {
        let config = &loaded.config;
        let fewshot_delimiter = config
            .fewshot_delimiter
            .clone()
            .unwrap_or_else(|| "\n\n".to_owned());
        // lm-eval's default when a generate_until task names none.
        let kwargs: Value = match &config.generation_kwargs {
            Some(yaml) => serde_json::to_value(yaml)
                .map_err(|e| loaded.field_error("generation_kwargs", e.to_string()))?,
            None => {
                serde_json::json!({"until": [fewshot_delimiter], "do_sample": false, "temperature": 0})
            }
        };
        let until = match kwargs.get("until") {
            None | Some(Value::Null) => vec![fewshot_delimiter],
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    loaded.field_error("generation_kwargs", "`until` must list strings")
                })?,
            Some(other) => {
                return Err(loaded.field_error(
                    "generation_kwargs",
                    format!("`until` must be a string or a list of strings, got {other}"),
                ))
            }
        };
        let number = |key: &str| kwargs.get(key).and_then(Value::as_f64);
        let max_gen_toks = number("max_gen_toks").map_or(DEFAULT_MAX_GEN_TOKS, |n| n as usize);
        let do_sample = kwargs
            .get("do_sample")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let temperature = number("temperature").unwrap_or(0.0);
        let sampling = if do_sample && temperature > 0.0 {
            Sampling::Sample {
                temperature: temperature as f32,
                top_p: number("top_p").unwrap_or(1.0) as f32,
                top_k: number("top_k").unwrap_or(0.0) as u32,
                seed: number("seed").unwrap_or(1234.0) as u32,
            }
        } else {
            Sampling::Greedy
        };
        Ok(Self {
            until,
            max_gen_toks,
            sampling,
            as_logged: kwargs,
        })
    }
}

/// One step of a filter pipeline.
#[derive(Debug, Clone)]
enum FilterStep {
    Regex(RegexFilter),
    TakeFirst,
}

/// A named `filter_list` entry: how an answer is extracted from the generated text.
#[derive(Debug, Clone)]
pub struct AnswerFilter {
    /// The name results are reported under (`strict-match`, or `none`).
    pub name: String,
    steps: Vec<FilterStep>,
}

impl AnswerFilter {
    /// The pipelines a task file's `filter_list` names; lm-eval's `none` (take the
    /// first response as it is) when it names none.
    pub(crate) fn from_config(loaded: &LoadedConfig) -> Result<Vec<Self>, TaskError> {
        let Some(list) = &loaded.config.filter_list else {
            return Ok(vec![Self {
                name: "none".into(),
                steps: vec![FilterStep::TakeFirst],
            }]);
        };
        let error = |message: String| loaded.field_error("filter_list", message);
        let entries = list
            .as_sequence()
            .ok_or_else(|| error("expected a list of {name, filter}".into()))?;
        entries
            .iter()
            .map(|entry| {
                let name = entry
                    .get("name")
                    .and_then(serde_yaml::Value::as_str)
                    .ok_or_else(|| error("each entry needs a `name`".into()))?;
                let steps = entry
                    .get("filter")
                    .and_then(serde_yaml::Value::as_sequence)
                    .ok_or_else(|| error(format!("`{name}` needs a `filter` list")))?;
                let steps = steps
                    .iter()
                    .map(|step| {
                        let function = step
                            .get("function")
                            .and_then(serde_yaml::Value::as_str)
                            .unwrap_or("");
                        match function {
                            "take_first" => Ok(FilterStep::TakeFirst),
                            "regex" => {
                                let text = |key: &str| step.get(key).and_then(serde_yaml::Value::as_str);
                                let pattern = text("regex_pattern").unwrap_or(r"#### (\-?[0-9\.\,]+)");
                                let group = step
                                    .get("group_select")
                                    .and_then(serde_yaml::Value::as_i64)
                                    .unwrap_or(0);
                                RegexFilter::new(pattern, group, text("fallback").unwrap_or("[invalid]"))
                                    .map(FilterStep::Regex)
                                    .map_err(|e| error(format!("`{name}`: {e}")))
                            }
                            other => Err(error(format!(
                                "`{name}`: filter function `{other}` is not supported (supported: regex, take_first)"
                            ))),
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Self {
                    name: name.to_owned(),
                    steps,
                })
            })
            .collect()
    }

    /// The extracted answer from a document's responses.
    pub fn apply(&self, responses: &[String]) -> String {
        let mut current: Vec<String> = responses.to_vec();
        for step in &self.steps {
            current = match step {
                FilterStep::Regex(filter) => current.iter().map(|r| filter.apply(r)).collect(),
                FilterStep::TakeFirst => current.into_iter().take(1).collect(),
            };
        }
        current.into_iter().next().unwrap_or_default()
    }
}

/// What a `generate_until` task file says about generating and scoring, read once when
/// the task loads.
#[derive(Debug, Clone)]
pub(crate) struct GenerationSpec {
    pub settings: GenerationSettings,
    pub filters: Vec<AnswerFilter>,
    pub exact_match: ExactMatch,
}

impl GenerationSpec {
    pub(crate) fn from_config(loaded: &LoadedConfig) -> Result<Self, TaskError> {
        Ok(Self {
            settings: GenerationSettings::from_config(loaded)?,
            filters: AnswerFilter::from_config(loaded)?,
            exact_match: exact_match_of(loaded)?,
        })
    }
}

/// The `exact_match` entry of a task's `metric_list`, with its options.
fn exact_match_of(loaded: &LoadedConfig) -> Result<ExactMatch, TaskError> {
    let spec = loaded
        .config
        .metric_list
        .iter()
        .flatten()
        .find(|m| m.metric == "exact_match");
    let (ignore, case, punctuation) = match spec {
        Some(m) => (
            m.regexes_to_ignore.clone().unwrap_or_default(),
            m.ignore_case.unwrap_or(false),
            m.ignore_punctuation.unwrap_or(false),
        ),
        None => (Vec::new(), false, false),
    };
    ExactMatch::new(&ignore, case, punctuation, false)
        .map_err(|e| loaded.field_error("metric_list", e.to_string()))
}
