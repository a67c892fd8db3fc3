//! A task with its documents, turned into prompts exactly as lm-eval builds them.

use crate::config::{LoadedConfig, OutputType};
use crate::dataset::DataDir;
use crate::pyrandom::PyRandom;
use crate::template::Templates;
use crate::TaskError;
use serde_json::Value;
use yardstick_core::{sha256_hex, LoglikelihoodRequest, TaskName};

/// Metrics yardstick computes for multiple-choice tasks.
const SUPPORTED_METRICS: &[&str] = &["acc", "acc_norm"];

/// The metrics a task asks for in `metric_list`; lm-eval's default for multiple-choice
/// tasks when it names none.
fn metric_names(loaded: &LoadedConfig) -> Vec<String> {
    match &loaded.config.metric_list {
        Some(list) if !list.is_empty() => list.iter().map(|m| m.metric.clone()).collect(),
        _ => SUPPORTED_METRICS.iter().map(|m| (*m).to_owned()).collect(),
    }
}

/// lm-eval's default few-shot seed.
pub const FEWSHOT_SEED: u64 = 1234;

/// A loaded task: its config, its evaluation documents and its few-shot pool.
pub struct Task {
    name: TaskName,
    loaded: LoadedConfig,
    eval_split: String,
    docs: Vec<Value>,
    dataset_hash: String,
    fewshot_docs: Vec<Value>,
    num_fewshot: usize,
    templates: Templates,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("name", &self.name)
            .field("docs", &self.docs.len())
            .field("num_fewshot", &self.num_fewshot)
            .finish()
    }
}

/// One multiple-choice document rendered into a context and its continuations.
#[derive(Debug, Clone, PartialEq)]
pub struct MultipleChoiceDoc {
    /// Index of the document in the evaluation split.
    pub doc_id: usize,
    /// The document as read from the dataset.
    pub doc: Value,
    /// Description, few-shot examples and the question: what every choice follows.
    pub context: String,
    /// The answer options as the task lists them.
    pub choices: Vec<String>,
    /// Each option with the target delimiter in front: what is scored.
    pub continuations: Vec<String>,
    /// Index of the correct option.
    pub gold: usize,
}

impl MultipleChoiceDoc {
    /// One `loglikelihood(context, continuation)` request per choice, in choice order.
    pub fn requests(&self) -> impl Iterator<Item = LoglikelihoodRequest> + '_ {
        self.continuations
            .iter()
            .map(|c| LoglikelihoodRequest::new(self.context.clone(), c.clone()))
    }
}

impl Task {
    /// Loads the documents a task needs: the evaluation split, and the few-shot split
    /// when `num_fewshot` (the override, else the file's) is above zero.
    pub fn load(
        loaded: LoadedConfig,
        data: &DataDir,
        num_fewshot: Option<usize>,
    ) -> Result<Self, TaskError> {
        let config = &loaded.config;
        let name = config
            .task
            .clone()
            .ok_or_else(|| loaded.field_error("task", "missing: every task file names its task"))?;
        let output_type = config.output_type.unwrap_or_default();
        if output_type != OutputType::MultipleChoice {
            return Err(loaded.field_error(
                "output_type",
                format!("{output_type:?} tasks are not supported yet; multiple_choice is"),
            ));
        }
        let eval_split = config
            .test_split
            .clone()
            .or_else(|| config.validation_split.clone())
            .ok_or_else(|| {
                loaded.field_error("test_split", "set test_split or validation_split")
            })?;
        if let Some(unsupported) = metric_names(&loaded)
            .into_iter()
            .find(|m| !SUPPORTED_METRICS.contains(&m.as_str()))
        {
            return Err(loaded.field_error(
                "metric_list",
                format!(
                    "metric `{unsupported}` is not supported for multiple_choice tasks yet (supported: {})",
                    SUPPORTED_METRICS.join(", ")
                ),
            ));
        }
        let docs = data.load_split(&name, &loaded, &eval_split)?;
        let dataset_hash = sha256_hex(serde_json::to_string(&docs).unwrap_or_default().as_bytes());
        let num_fewshot = num_fewshot.or(config.num_fewshot).unwrap_or(0);
        let fewshot_docs = if num_fewshot > 0 {
            let split = config
                .fewshot_split
                .clone()
                .or_else(|| config.training_split.clone())
                .or_else(|| config.validation_split.clone())
                .unwrap_or_else(|| eval_split.clone());
            data.load_split(&name, &loaded, &split)?
        } else {
            Vec::new()
        };
        Ok(Self {
            name: TaskName::new(name),
            loaded,
            eval_split,
            docs,
            dataset_hash,
            fewshot_docs,
            num_fewshot,
            templates: Templates::new(),
        })
    }

    /// The metrics to report, in `metric_list` order.
    pub fn metric_names(&self) -> Vec<String> {
        metric_names(&self.loaded)
    }

    /// The task's name.
    pub fn name(&self) -> &TaskName {
        &self.name
    }

    /// The resolved configuration.
    pub fn config(&self) -> &LoadedConfig {
        &self.loaded
    }

    /// How many few-shot examples precede each question.
    pub fn num_fewshot(&self) -> usize {
        self.num_fewshot
    }

    /// The split being evaluated.
    pub fn eval_split(&self) -> &str {
        &self.eval_split
    }

    /// Number of documents in the evaluation split.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether the evaluation split is empty.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The task version from `metadata.version`.
    pub fn version(&self) -> Option<f64> {
        self.loaded
            .config
            .metadata
            .as_ref()
            .and_then(|m| m.get("version"))
            .and_then(serde_yaml::Value::as_f64)
    }

    /// A hash of everything that decides the prompts and the metrics: the resolved config,
    /// the shot count and seed. Results are only reused under the same hash.
    pub fn config_hash(&self) -> String {
        let config = format!(
            "{:?}|fewshot={}|seed={FEWSHOT_SEED}|split={}",
            self.loaded.config, self.num_fewshot, self.eval_split
        );
        sha256_hex(config.as_bytes())
    }

    /// A hash of the evaluation documents (computed once, when they are loaded).
    pub fn dataset_hash(&self) -> &str {
        &self.dataset_hash
    }

    /// Renders the first `limit` documents (all when `None`). Few-shot examples are drawn
    /// in document order from one `random.Random(1234)`, as lm-eval draws them, so a
    /// document's prompt does not depend on `limit`.
    pub fn multiple_choice_docs(
        &self,
        limit: Option<usize>,
    ) -> Result<Vec<MultipleChoiceDoc>, TaskError> {
        let count = limit.map_or(self.docs.len(), |l| l.min(self.docs.len()));
        let mut rng = PyRandom::new(FEWSHOT_SEED);
        let fewshot_is_eval = self.fewshot_split() == Some(self.eval_split.as_str());
        // lm-eval's `first_n` sampler takes the split's first examples; the default
        // sampler draws at random.
        let first_n = self
            .loaded
            .config
            .fewshot_config
            .as_ref()
            .and_then(|c| c.get("sampler"))
            .and_then(serde_yaml::Value::as_str)
            == Some("first_n");
        let delimiter = self.target_delimiter();
        (0..count)
            .map(|doc_id| {
                let doc = &self.docs[doc_id];
                let mut context = match &self.loaded.config.description {
                    Some(template) => self.render_text(template, doc, doc_id, "description")?,
                    None => String::new(),
                };
                if self.num_fewshot > 0 {
                    let drawn = if fewshot_is_eval {
                        self.num_fewshot + 1
                    } else {
                        self.num_fewshot
                    };
                    let drawn = drawn.min(self.fewshot_docs.len());
                    let indices = if first_n {
                        (0..drawn).collect()
                    } else {
                        rng.sample_indices(self.fewshot_docs.len(), drawn)
                    };
                    let picked: Vec<&Value> = indices
                        .into_iter()
                        .map(|i| &self.fewshot_docs[i])
                        .filter(|example| *example != doc)
                        .take(self.num_fewshot)
                        .collect();
                    for example in picked {
                        context.push_str(&self.labeled_example(example, doc_id)?);
                    }
                }
                context.push_str(&self.doc_to_text(doc, doc_id)?);
                let choices = self.doc_to_choice(doc, doc_id)?;
                let gold = self.gold_index(doc, doc_id, &choices)?;
                let continuations = choices.iter().map(|c| format!("{delimiter}{c}")).collect();
                Ok(MultipleChoiceDoc {
                    doc_id,
                    doc: doc.clone(),
                    context,
                    choices,
                    continuations,
                    gold,
                })
            })
            .collect()
    }

    fn fewshot_split(&self) -> Option<&str> {
        let config = &self.loaded.config;
        config
            .fewshot_split
            .as_deref()
            .or(config.training_split.as_deref())
            .or(config.validation_split.as_deref())
    }

    fn target_delimiter(&self) -> String {
        self.loaded
            .config
            .target_delimiter
            .clone()
            .unwrap_or_else(|| " ".to_owned())
    }

    fn fewshot_delimiter(&self) -> String {
        self.loaded
            .config
            .fewshot_delimiter
            .clone()
            .unwrap_or_else(|| "\n\n".to_owned())
    }

    /// A solved example as lm-eval's sampler writes it: question, delimiter, answer,
    /// few-shot delimiter.
    fn labeled_example(&self, example: &Value, doc_id: usize) -> Result<String, TaskError> {
        let text = self.doc_to_text(example, doc_id)?;
        let choices = self.doc_to_choice(example, doc_id)?;
        let gold = self.gold_index(example, doc_id, &choices)?;
        let answer = &choices[gold];
        let delimiter = self.target_delimiter();
        let mut out = text;
        if delimiter.chars().all(char::is_whitespace)
            && answer.chars().next().is_some_and(char::is_whitespace)
        {
            out.push_str(answer);
        } else {
            out.push_str(&delimiter);
            out.push_str(answer);
        }
        out.push_str(&self.fewshot_delimiter());
        Ok(out)
    }

    fn render_text(
        &self,
        template: &str,
        doc: &Value,
        doc_id: usize,
        field: &str,
    ) -> Result<String, TaskError> {
        self.templates
            .render(template, doc)
            .map_err(|e| self.render_error(doc_id, field, &e))
    }

    fn render_error(
        &self,
        doc_index: usize,
        field: &str,
        error: &dyn std::fmt::Display,
    ) -> TaskError {
        TaskError::Render {
            task: self.name.to_string(),
            doc_index,
            field: field.to_owned(),
            message: error.to_string(),
        }
    }

    /// The field's template: a document field's name yields that field, anything else
    /// is a Jinja template.
    fn resolve(&self, field: &str, doc: &Value, doc_id: usize) -> Result<Value, TaskError> {
        let spec = match field {
            "doc_to_text" => &self.loaded.config.doc_to_text,
            "doc_to_target" => &self.loaded.config.doc_to_target,
            _ => &self.loaded.config.doc_to_choice,
        };
        match spec {
            None => Err(self.loaded.field_error(field, "missing")),
            Some(serde_yaml::Value::String(template)) => {
                if let Some(value) = doc.get(template) {
                    return Ok(value.clone());
                }
                self.templates
                    .evaluate(template, doc)
                    .map_err(|e| self.render_error(doc_id, field, &e))
            }
            Some(serde_yaml::Value::Number(n)) => {
                Ok(serde_json::to_value(n).unwrap_or(Value::Null))
            }
            Some(serde_yaml::Value::Sequence(items)) => {
                Ok(serde_json::to_value(items).unwrap_or(Value::Null))
            }
            Some(serde_yaml::Value::Tagged(tagged)) => Err(self.loaded.field_error(
                field,
                format!(
                    "hook {} {:?} is not a built-in transform",
                    tagged.tag, tagged.value
                ),
            )),
            Some(other) => Err(self.loaded.field_error(
                field,
                format!("expected a template or field name, got {other:?}"),
            )),
        }
    }

    fn doc_to_text(&self, doc: &Value, doc_id: usize) -> Result<String, TaskError> {
        match self.resolve("doc_to_text", doc, doc_id)? {
            Value::String(s) => Ok(s),
            other => Ok(other.to_string()),
        }
    }

    fn doc_to_choice(&self, doc: &Value, doc_id: usize) -> Result<Vec<String>, TaskError> {
        let value = self.resolve("doc_to_choice", doc, doc_id)?;
        let items = match value {
            Value::Array(items) => items,
            Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
            other => {
                return Err(self.render_error(
                    doc_id,
                    "doc_to_choice",
                    &format!("expected a list of choices, got {other}"),
                ))
            }
        };
        Ok(items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect())
    }

    /// lm-eval's `doc_to_target` for a multiple-choice task, as an index into `choices`:
    /// digit strings become integers, other strings are looked up among the choices.
    fn gold_index(
        &self,
        doc: &Value,
        doc_id: usize,
        choices: &[String],
    ) -> Result<usize, TaskError> {
        let target = self.resolve("doc_to_target", doc, doc_id)?;
        let index = match &target {
            Value::Number(n) => n.as_u64().map(|n| n as usize),
            Value::String(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) => {
                s.parse().ok()
            }
            Value::String(s) => choices.iter().position(|c| c == s),
            _ => None,
        };
        match index {
            Some(i) if i < choices.len() => Ok(i),
            _ => Err(self.render_error(
                doc_id,
                "doc_to_target",
                &format!(
                    "target {target} is not one of the {} choices",
                    choices.len()
                ),
            )),
        }
    }
}
