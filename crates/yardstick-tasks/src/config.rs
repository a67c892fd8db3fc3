//! Task files: lm-evaluation-harness's YAML schema, parsed once into typed structs.

use crate::TaskError;
use serde::Deserialize;
use serde_yaml::Value as Yaml;
use std::path::{Path, PathBuf};

/// One entry of `metric_list`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    /// The metric: a name (`acc`, `exact_match`, ...) or a `!function` hook.
    pub metric: MetricRef,
    /// How per-document values combine (`mean`).
    #[serde(default)]
    pub aggregation: Option<String>,
    /// Whether larger is better.
    #[serde(default)]
    pub higher_is_better: Option<bool>,
    /// lm-eval passes these through to the metric function.
    #[serde(default)]
    pub ignore_case: Option<bool>,
    /// lm-eval passes these through to the metric function.
    #[serde(default)]
    pub ignore_punctuation: Option<bool>,
    /// lm-eval passes these through to the metric function.
    #[serde(default)]
    pub regexes_to_ignore: Option<Vec<String>>,
    /// `k` of a pass@k metric: one number or a list.
    #[serde(default)]
    pub k: Option<Yaml>,
}

/// What a `metric_list` entry's `metric` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricRef {
    /// A metric by name (`acc`, `exact_match`).
    Named(String),
    /// A `!function` hook, by the name the file gives (`humaneval.pass_at_k`).
    Function(String),
}

impl MetricRef {
    /// The name as written in the file, without the tag.
    pub fn as_str(&self) -> &str {
        match self {
            MetricRef::Named(name) | MetricRef::Function(name) => name,
        }
    }
}

impl std::fmt::Display for MetricRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetricRef::Named(name) => f.write_str(name),
            MetricRef::Function(name) => write!(f, "!function {name}"),
        }
    }
}

impl<'de> Deserialize<'de> for MetricRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Yaml::deserialize(deserializer)? {
            Yaml::String(name) => Ok(MetricRef::Named(name)),
            Yaml::Tagged(tagged) if tagged.tag == "!function" || tagged.tag == "function" => {
                match tagged.value {
                    Yaml::String(name) => Ok(MetricRef::Function(name)),
                    other => Err(D::Error::custom(format!(
                        "`!function` needs a name such as humaneval.pass_at_k, got {other:?}"
                    ))),
                }
            }
            other => Err(D::Error::custom(format!(
                "expected a metric name or `!function NAME`, got {other:?}"
            ))),
        }
    }
}

/// What kind of requests a task makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OutputType {
    /// Score each choice's log-likelihood; pick the best.
    #[default]
    MultipleChoice,
    /// Log-likelihood of one target.
    Loglikelihood,
    /// Rolling log-likelihood of whole documents.
    LoglikelihoodRolling,
    /// Generate text until a stop sequence.
    GenerateUntil,
}

macro_rules! task_config {
    ($( $(#[$doc:meta])* $field:ident : $ty:ty ),* $(,)?) => {
        /// A task file's fields, named as lm-evaluation-harness names them. Every field is
        /// optional in a file; `include` fills the gaps from a base file.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct TaskConfig {
            $( $(#[$doc])* #[serde(default)] pub $field: Option<$ty>, )*
        }

        impl TaskConfig {
            /// Fills every field this config leaves unset from `base`.
            fn inherit(&mut self, base: TaskConfig) {
                $( if self.$field.is_none() { self.$field = base.$field; } )*
            }
        }
    };
}

task_config! {
    /// A base file (relative to this one) whose fields fill the ones left unset here.
    include: String,
    /// The task's name.
    task: String,
    /// Display name in tables.
    task_alias: String,
    /// Tags the task belongs to.
    tag: Yaml,
    /// Legacy group membership.
    group: Yaml,
    /// Hub dataset id (`allenai/ai2_arc`), or a loader (`json`, `csv`, `parquet`).
    dataset_path: String,
    /// Hub config name (`ARC-Easy`).
    dataset_name: String,
    /// Extra loader arguments (`data_files`).
    dataset_kwargs: Yaml,
    /// Split few-shot examples come from, when no fewshot_split is given.
    training_split: String,
    /// Validation split.
    validation_split: String,
    /// Evaluation split.
    test_split: String,
    /// Split few-shot examples are drawn from.
    fewshot_split: String,
    /// A `!function` hook that rewrites documents first.
    process_docs: Yaml,
    /// Prompt template, or a document field.
    doc_to_text: Yaml,
    /// Gold answer template, field or literal.
    doc_to_target: Yaml,
    /// Choices template, field or list.
    doc_to_choice: Yaml,
    /// Custom result processing hook.
    process_results: Yaml,
    /// Text prepended to every prompt.
    description: String,
    /// Between prompt and answer (default a space).
    target_delimiter: String,
    /// Between few-shot examples (default a blank line).
    fewshot_delimiter: String,
    /// Few-shot sampler settings.
    fewshot_config: Yaml,
    /// Default number of few-shot examples.
    num_fewshot: usize,
    /// Request kind.
    output_type: OutputType,
    /// Generation settings.
    generation_kwargs: Yaml,
    /// Repeats per document.
    repeats: usize,
    /// Answer-extraction filters.
    filter_list: Yaml,
    /// Whether to check for contamination.
    should_decontaminate: bool,
    /// Text checked for contamination.
    doc_to_decontamination_query: String,
    /// Metrics to compute.
    metric_list: Vec<MetricSpec>,
    /// Version and other metadata.
    metadata: Yaml,
    /// Prompt-source prompt name.
    use_prompt: String,
    /// Text placed before the answer in generation prompts.
    gen_prefix: String,
    /// Multimodal input template.
    doc_to_image: Yaml,
    /// Whether the task runs untrusted code.
    unsafe_code: bool,
}

/// A task file after `include` is resolved, with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The merged fields.
    pub config: TaskConfig,
    /// The file that named the task.
    pub path: PathBuf,
    /// That file's text, for locating fields in error messages.
    pub source: String,
}

impl LoadedConfig {
    /// The 1-based line where `field` is set in the task file (0 if it is inherited).
    pub fn line_of(&self, field: &str) -> usize {
        line_of_field(&self.source, field)
    }

    /// An error about `field`, pointing at its line.
    pub fn field_error(&self, field: &str, message: impl Into<String>) -> TaskError {
        TaskError::Field {
            path: self.path.clone(),
            line: self.line_of(field),
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

fn line_of_field(source: &str, field: &str) -> usize {
    source
        .lines()
        .position(|line| {
            line.trim_start()
                .strip_prefix(field)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map_or(0, |i| i + 1)
}

/// Where the text of a task file comes from: disk, or built into the binary.
pub trait SourceFiles {
    /// The text of `path`.
    fn read(&self, path: &Path) -> Result<String, TaskError>;
}

/// Task files on disk.
pub struct DiskFiles;

impl SourceFiles for DiskFiles {
    fn read(&self, path: &Path) -> Result<String, TaskError> {
        std::fs::read_to_string(path).map_err(|source| TaskError::Io {
            path: path.to_owned(),
            source,
        })
    }
}

/// Parses one task file's text.
pub fn parse_config(path: &Path, text: &str) -> Result<TaskConfig, TaskError> {
    parse_yaml(path, text)
}

/// Parses a task or group file into `T`, errors naming file, line and column.
pub(crate) fn parse_yaml<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, TaskError> {
    serde_yaml::from_str(text).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        TaskError::Parse {
            path: path.to_owned(),
            line,
            column,
            message: e.to_string(),
        }
    })
}

/// Loads a task file and the chain of files it includes (relative to its folder).
pub fn load_config(path: &Path, files: &dyn SourceFiles) -> Result<LoadedConfig, TaskError> {
    let source = files.read(path)?;
    let mut config = parse_config(path, &source)?;
    let mut include = config.include.take();
    let mut seen = vec![path.to_owned()];
    let mut current = path.to_owned();
    while let Some(name) = include {
        let base_path = current.parent().unwrap_or(Path::new("")).join(&name);
        if seen.contains(&base_path) {
            return Err(TaskError::Field {
                path: current.clone(),
                line: line_of_field(&files.read(&current)?, "include"),
                field: "include".into(),
                message: format!("includes {} again, a cycle", base_path.display()),
            });
        }
        let mut base = parse_config(&base_path, &files.read(&base_path)?)?;
        include = base.include.take();
        config.inherit(base);
        seen.push(base_path.clone());
        current = base_path;
    }
    Ok(LoadedConfig {
        config,
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_error_names_file_line_and_field() {
        let text = "task: t\ndataset_path: x\ndoc_to_txt: \"{{q}}\"\n";
        let err = parse_config(Path::new("my/task.yaml"), text).unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("my/task.yaml:3:"), "{message}");
        assert!(message.contains("doc_to_txt"), "{message}");
    }

    #[test]
    fn wrong_type_error_names_the_field() {
        let text = "task: t\nnum_fewshot: many\n";
        let message = parse_config(Path::new("t.yaml"), text)
            .unwrap_err()
            .to_string();
        assert!(message.contains("t.yaml:2:"), "{message}");
        assert!(message.contains("num_fewshot"), "{message}");
    }

    #[test]
    fn line_of_field_finds_the_key() {
        assert_eq!(line_of_field("a: 1\n  doc_to_text: x\n", "doc_to_text"), 2);
        assert_eq!(line_of_field("a: 1\n", "doc_to_text"), 0);
    }

    #[test]
    fn include_fills_unset_fields_from_the_base() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("base.yaml"),
            "task: base\ndataset_path: d\ntest_split: test\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("child.yaml"),
            "include: base.yaml\ntask: child\n",
        )
        .unwrap();
        let loaded = load_config(&dir.path().join("child.yaml"), &DiskFiles).unwrap();
        assert_eq!(loaded.config.task.as_deref(), Some("child"));
        assert_eq!(loaded.config.test_split.as_deref(), Some("test"));
    }
}
