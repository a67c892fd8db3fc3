//! Judged task files: YAML naming the data, the judge and the generation budget.

use crate::JudgedError;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Which judged evaluation a task file runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgedKind {
    /// FastChat's MT-Bench: two-turn questions.
    MtBench,
    /// AlpacaEval: single instructions against reference outputs.
    AlpacaEval,
}

/// How MT-Bench answers are judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum JudgeMode {
    /// Each answer rated 1-10 on its own.
    #[default]
    Single,
    /// The candidate's answer against a baseline model's, in both orders.
    Pairwise,
}

/// A judged task file. Paths are relative to the data directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgedTaskConfig {
    /// The task's name.
    pub task: String,
    /// Which evaluation.
    pub kind: JudgedKind,
    /// Single grading or pairwise (MT-Bench).
    #[serde(default)]
    pub mode: JudgeMode,
    /// The judge's model spec (`openai:gpt-4`, `gguf:PATH`); `--judge` overrides it.
    pub judge: Option<String>,
    /// MT-Bench questions (JSON Lines).
    pub questions: Option<PathBuf>,
    /// MT-Bench reference answers for the math, reasoning and coding categories.
    pub reference_answers: Option<PathBuf>,
    /// FastChat's `judge_prompts.jsonl`.
    pub judge_prompts: Option<PathBuf>,
    /// AlpacaEval: the reference model's outputs (its `model_outputs.json`), which also
    /// give the instructions.
    pub reference_outputs: Option<PathBuf>,
    /// AlpacaEval: the annotator config's name (`alpaca_eval_gpt4`,
    /// `weighted_alpaca_eval_gpt4_turbo`).
    pub annotator: Option<String>,
    /// Most tokens of each candidate answer.
    pub max_new_tokens: usize,
    /// Most tokens of each MT-Bench judgment (AlpacaEval's annotator config sets its own).
    pub judge_max_tokens: Option<usize>,
    /// Seed of the per-item answer order (AlpacaEval).
    #[serde(default)]
    pub seed: u64,
    /// Also report AlpacaEval 2's length-controlled win rate.
    #[serde(default)]
    pub length_controlled: bool,
}

static BUILTIN: &[(&str, &str)] = &[
    ("mt_bench", include_str!("../tasks/mt_bench.yaml")),
    (
        "mt_bench_pairwise",
        include_str!("../tasks/mt_bench_pairwise.yaml"),
    ),
    ("alpaca_eval", include_str!("../tasks/alpaca_eval.yaml")),
    ("alpaca_eval_2", include_str!("../tasks/alpaca_eval_2.yaml")),
];

/// A task file of one of `kinds`: a built-in one by name (`builtin` holds their texts),
/// or a `*.yaml` file by path whose `kind` is one of them; `None` for anything else (an
/// lm-eval task, another kind's file).
pub fn find_task_file<T: serde::de::DeserializeOwned>(
    name: &str,
    builtin: &[(&str, &str)],
    kinds: &[&str],
) -> Result<Option<T>, JudgedError> {
    if let Some((_, text)) = builtin.iter().find(|(n, _)| *n == name) {
        return parse_task_file(text, Path::new(&format!("builtin:{name}.yaml"))).map(Some);
    }
    let path = Path::new(name);
    if !(path.extension().is_some_and(|e| e == "yaml" || e == "yml") && path.is_file()) {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| JudgedError::Data {
        path: path.to_owned(),
        line: 0,
        message: e.to_string(),
    })?;
    let kind = serde_yaml::from_str::<serde_yaml::Value>(&text)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned));
    match kind {
        Some(kind) if kinds.contains(&kind.as_str()) => parse_task_file(&text, path).map(Some),
        _ => Ok(None),
    }
}

/// Parses a task file's YAML; errors name the file, line and field.
pub fn parse_task_file<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
) -> Result<T, JudgedError> {
    serde_yaml::from_str(text).map_err(|e| JudgedError::Data {
        path: path.to_owned(),
        line: e.location().map_or(0, |l| l.line()),
        message: e.to_string(),
    })
}

/// The names of the built-in judged tasks.
pub fn builtin_judged_tasks() -> Vec<&'static str> {
    BUILTIN.iter().map(|(name, _)| *name).collect()
}

impl JudgedTaskConfig {
    /// A built-in task by name, or a judged task file given by path (`*.yaml`); `None`
    /// when `name` is neither (an ordinary lm-eval task).
    pub fn find(name: &str) -> Result<Option<Self>, JudgedError> {
        find_task_file(name, BUILTIN, &["mt_bench", "alpaca_eval"])
    }

    /// Parses a task file's text; errors name the file, line and field.
    pub fn parse(text: &str, path: &Path) -> Result<Self, JudgedError> {
        parse_task_file(text, path)
    }

    /// The data file a field names, under `data_dir`; an error naming the field when the
    /// task file leaves it out.
    pub fn data_file(
        &self,
        field: &str,
        value: &Option<PathBuf>,
        data_dir: &Path,
    ) -> Result<PathBuf, JudgedError> {
        value
            .as_ref()
            .map(|p| data_dir.join(p))
            .ok_or_else(|| JudgedError::Config(format!("task {} needs `{field}`", self.task)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tasks_parse() {
        for name in builtin_judged_tasks() {
            let task = JudgedTaskConfig::find(name).unwrap().unwrap();
            assert_eq!(task.task, name);
        }
        assert!(JudgedTaskConfig::find("arc_easy").unwrap().is_none());
    }

    #[test]
    fn a_bad_field_names_file_line_and_field() {
        let text = "task: x\nkind: mt_bench\nmax_new_tokens: 10\njudge_max_tokens: lots\n";
        let error = JudgedTaskConfig::parse(text, Path::new("my.yaml")).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("my.yaml:4:"), "{message}");
        assert!(message.contains("judge_max_tokens"), "{message}");
        let error =
            JudgedTaskConfig::parse("task: x\nkind: mt_bench\njudg: a\n", Path::new("t.yaml"))
                .unwrap_err();
        assert!(
            error.to_string().contains("unknown field `judg`"),
            "{error}"
        );
    }
}
