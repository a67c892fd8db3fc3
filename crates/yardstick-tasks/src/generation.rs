//! `generate_until` tasks: generation settings, answer-extraction filters and the
//! exact-match metric, read from the task file as lm-eval reads them.

use crate::config::{LoadedConfig, MetricRef};
use crate::hooks::{self, Hook};
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
    /// `doc_to_target`, the reference answer (for code tasks, the tests).
    pub target: String,
    /// How many responses to generate (`repeats`; pass@k draws k of them).
    pub repeats: usize,
}

impl GenerateDoc {
    /// The request of repeat `index`: the same prompt, and when sampling, a seed of its
    /// own so that the repeats differ (and each is reproducible).
    pub fn repeat_request(&self, index: usize) -> GenerateRequest {
        let mut request = self.request.clone();
        if let Sampling::Sample { seed, .. } = &mut request.sampling {
            *seed = seed.wrapping_add(index as u32);
        }
        request
    }
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
    /// HumanEval's `build_predictions`: the document's prompt before each response.
    PrependPrompt,
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
                            "custom" => custom_filter(step).map_err(|e| error(format!("`{name}`: {e}"))),
                            other => Err(error(format!(
                                "`{name}`: filter function `{other}` is not supported (supported: regex, take_first, custom)"
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

    /// Whether the pipeline ends in `take_first`, so it gives one answer per document
    /// (lm-eval then logs that answer, not a list).
    pub fn takes_first(&self) -> bool {
        matches!(self.steps.last(), Some(FilterStep::TakeFirst))
    }

    /// What the pipeline makes of a document's responses: one answer after
    /// `take_first`, else one per response (a code task's candidate programs).
    pub fn apply(&self, responses: &[String], doc: &Value) -> Result<Vec<String>, String> {
        let mut current: Vec<String> = responses.to_vec();
        for step in &self.steps {
            current = match step {
                FilterStep::Regex(filter) => current.iter().map(|r| filter.apply(r)).collect(),
                FilterStep::TakeFirst => current.into_iter().take(1).collect(),
                FilterStep::PrependPrompt => current
                    .iter()
                    .map(|r| hooks::humaneval_candidate(doc, r))
                    .collect::<Result<_, _>>()?,
            };
        }
        Ok(current)
    }
}

/// A `function: custom` step: its `filter_fn` must name a built-in filter.
fn custom_filter(step: &serde_yaml::Value) -> Result<FilterStep, String> {
    let name = match step.get("filter_fn") {
        Some(serde_yaml::Value::Tagged(tagged)) => tagged.value.as_str().unwrap_or(""),
        _ => return Err("a `custom` filter needs `filter_fn: !function NAME`".into()),
    };
    match Hook::resolve(name, "filter_fn").map_err(|e| e.0)? {
        Hook::HumanevalBuildPredictions => Ok(FilterStep::PrependPrompt),
        other => Err(format!("`{}` is not a filter", other.name())),
    }
}

/// How a code task's answers are scored: each candidate program runs with the
/// reference (`doc_to_target`, the tests) appended, as Hugging Face's `code_eval`
/// builds `candidate + "\n" + reference`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeMetric {
    /// HumanEval's `pass_at_k`: the unbiased pass@k estimator over the document's
    /// candidates, for each k, reported as `pass@k`.
    PassAtK(Vec<usize>),
    /// MBPP's `pass_at_1`: whether the one candidate passes, reported as `pass_at_1`.
    PassAt1,
}

impl CodeMetric {
    /// The metric names results are reported under.
    pub fn names(&self) -> Vec<String> {
        match self {
            CodeMetric::PassAtK(ks) => ks.iter().map(|k| format!("pass@{k}")).collect(),
            CodeMetric::PassAt1 => vec!["pass_at_1".into()],
        }
    }

    /// The k of each reported metric, in [`CodeMetric::names`] order.
    pub fn ks(&self) -> Vec<usize> {
        match self {
            CodeMetric::PassAtK(ks) => ks.clone(),
            CodeMetric::PassAt1 => vec![1],
        }
    }
}

/// How a generation task scores an extracted answer.
#[derive(Debug, Clone)]
pub enum GenerationMetric {
    /// `exact_match` against the target, with its options.
    ExactMatch(ExactMatch),
    /// Running the candidates with the tests.
    Code(CodeMetric),
}

/// What a `generate_until` task file says about generating and scoring, read once when
/// the task loads.
#[derive(Debug, Clone)]
pub(crate) struct GenerationSpec {
    pub settings: GenerationSettings,
    pub filters: Vec<AnswerFilter>,
    pub metric: GenerationMetric,
    pub repeats: usize,
}

impl GenerationSpec {
    pub(crate) fn from_config(loaded: &LoadedConfig) -> Result<Self, TaskError> {
        let metric = metric_of(loaded)?;
        let repeats = loaded.config.repeats.unwrap_or(1).max(1);
        if let GenerationMetric::Code(code) = &metric {
            if let Some(k) = code.ks().into_iter().find(|&k| k == 0 || k > repeats) {
                return Err(loaded.field_error(
                    "metric_list",
                    format!("pass@{k} needs k between 1 and `repeats` ({repeats}); raise `repeats` to at least {k}"),
                ));
            }
        }
        Ok(Self {
            settings: GenerationSettings::from_config(loaded)?,
            filters: AnswerFilter::from_config(loaded)?,
            metric,
            repeats,
        })
    }

    /// The metric names results are reported under.
    pub(crate) fn metric_names(&self) -> Vec<String> {
        match &self.metric {
            GenerationMetric::ExactMatch(_) => vec!["exact_match".into()],
            GenerationMetric::Code(code) => code.names(),
        }
    }
}

/// The task's one generation metric: `exact_match` (lm-eval's default, also when the
/// list is empty) or a built-in code-execution hook.
fn metric_of(loaded: &LoadedConfig) -> Result<GenerationMetric, TaskError> {
    let error = |message: String| loaded.field_error("metric_list", message);
    let specs: Vec<_> = loaded.config.metric_list.iter().flatten().collect();
    if specs.len() > 1 {
        return Err(error(
            "generate_until tasks take one metric (exact_match, or a code-execution hook)".into(),
        ));
    }
    let Some(spec) = specs.first() else {
        return exact_match(&[], false, false).map_err(error);
    };
    match &spec.metric {
        MetricRef::Named(name) if name == "exact_match" => exact_match(
            spec.regexes_to_ignore.as_deref().unwrap_or_default(),
            spec.ignore_case.unwrap_or(false),
            spec.ignore_punctuation.unwrap_or(false),
        )
        .map_err(error),
        MetricRef::Named(other) => Err(error(format!(
            "metric `{other}` is not supported for generate_until tasks (supported: exact_match, \
             !function humaneval.pass_at_k, !function mbpp.pass_at_1)"
        ))),
        MetricRef::Function(name) => match Hook::resolve(name, "metric").map_err(|e| error(e.0))? {
            Hook::HumanevalPassAtK => {
                let ks = match &spec.k {
                    Some(serde_yaml::Value::Number(n)) => n.as_u64().map(|k| vec![k as usize]),
                    Some(serde_yaml::Value::Sequence(items)) => items
                        .iter()
                        .map(|k| k.as_u64().map(|k| k as usize))
                        .collect(),
                    _ => None,
                }
                .filter(|ks| !ks.is_empty())
                .ok_or_else(|| {
                    error(format!("`{name}` needs `k`: a number or a list of numbers"))
                })?;
                Ok(GenerationMetric::Code(CodeMetric::PassAtK(ks)))
            }
            Hook::MbppPassAt1 => Ok(GenerationMetric::Code(CodeMetric::PassAt1)),
            other => Err(error(format!("`{}` is not a metric", other.name()))),
        },
    }
}

fn exact_match(
    ignore: &[String],
    case: bool,
    punctuation: bool,
) -> Result<GenerationMetric, String> {
    ExactMatch::new(ignore, case, punctuation, false)
        .map(GenerationMetric::ExactMatch)
        .map_err(|e| e.to_string())
}
