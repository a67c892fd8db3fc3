//! Suite task files: YAML naming the kind of task, its data and its budgets.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use yardstick_judge::{find_task_file, JudgedError};

/// Which suite a task file runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuiteKind {
    /// BFCL function calling.
    Bfcl,
    /// Needle in a haystack.
    Niah,
    /// HaluEval hallucination classification.
    Halueval,
    /// AdvBench refusals.
    Advbench,
    /// JSON answers to a schema.
    StructuredOutput,
    /// TruthfulQA questions answered freely, judged true or not.
    TruthfulqaGen,
}

/// A suite task file. Paths are relative to the data directory (`builtin:` for data
/// shipped with yardstick).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteTaskConfig {
    /// The task's name.
    pub task: String,
    /// Which suite.
    pub kind: SuiteKind,
    /// The items (questions, behaviours, responses).
    pub data: PathBuf,
    /// BFCL: the possible answers (none for irrelevance).
    pub answers: Option<PathBuf>,
    /// BFCL: the category (`simple_python`, `parallel`, `irrelevance`, ...).
    pub category: Option<String>,
    /// Most tokens of each answer.
    pub max_new_tokens: usize,
    /// NIAH: the long text the haystack is cut from (JSON list of objects with `output`,
    /// or plain text files).
    #[serde(default)]
    pub haystack: Vec<PathBuf>,
    /// NIAH: context lengths in the model's tokens.
    #[serde(default)]
    pub context_lengths: Vec<usize>,
    /// NIAH: needle depths in percent of the context.
    #[serde(default)]
    pub depths: Vec<f64>,
    /// NIAH: the sentence hidden in the haystack.
    pub needle: Option<String>,
    /// NIAH: the question whose answer is the needle.
    pub question: Option<String>,
    /// NIAH: the words an answer must contain to count as retrieved.
    pub answer_contains: Option<String>,
    /// The judge's model spec (AdvBench: also judged; TruthfulQA generation: required);
    /// `--judge` overrides it.
    pub judge: Option<String>,
}

static BUILTIN: &[(&str, &str)] = &[
    (
        "bfcl_simple_python",
        include_str!("../tasks/bfcl_simple_python.yaml"),
    ),
    ("bfcl_multiple", include_str!("../tasks/bfcl_multiple.yaml")),
    ("bfcl_parallel", include_str!("../tasks/bfcl_parallel.yaml")),
    (
        "bfcl_parallel_multiple",
        include_str!("../tasks/bfcl_parallel_multiple.yaml"),
    ),
    (
        "bfcl_live_simple",
        include_str!("../tasks/bfcl_live_simple.yaml"),
    ),
    (
        "bfcl_irrelevance",
        include_str!("../tasks/bfcl_irrelevance.yaml"),
    ),
    ("niah", include_str!("../tasks/niah.yaml")),
    (
        "halueval_general",
        include_str!("../tasks/halueval_general.yaml"),
    ),
    ("advbench", include_str!("../tasks/advbench.yaml")),
    (
        "structured_output",
        include_str!("../tasks/structured_output.yaml"),
    ),
    (
        "truthfulqa_gen",
        include_str!("../tasks/truthfulqa_gen.yaml"),
    ),
];

/// The data shipped with yardstick, for `builtin:` paths.
static BUILTIN_DATA: &[(&str, &str)] = &[(
    "structured_output.jsonl",
    include_str!("../tasks/structured_output.jsonl"),
)];

/// The names of the built-in suite tasks.
pub fn builtin_suite_tasks() -> Vec<&'static str> {
    BUILTIN.iter().map(|(name, _)| *name).collect()
}

impl SuiteTaskConfig {
    /// A built-in task by name, or a suite task file given by path (`*.yaml` with a
    /// suite `kind`); `None` otherwise.
    pub fn find(name: &str) -> Result<Option<Self>, JudgedError> {
        let kinds = [
            "bfcl",
            "niah",
            "halueval",
            "advbench",
            "structured_output",
            "truthfulqa_gen",
        ];
        find_task_file(name, BUILTIN, &kinds)
    }

    /// The text of a data file: `builtin:NAME` from yardstick itself, else under
    /// `data_dir`.
    pub fn read_data(
        &self,
        file: &Path,
        data_dir: &Path,
    ) -> Result<(PathBuf, String), JudgedError> {
        let text = file.to_string_lossy();
        if let Some(name) = text.strip_prefix("builtin:") {
            return BUILTIN_DATA
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, data)| (file.to_owned(), (*data).to_owned()))
                .ok_or_else(|| JudgedError::Config(format!("no built-in data file {name}")));
        }
        let path = data_dir.join(file);
        let data = std::fs::read_to_string(&path).map_err(|e| JudgedError::Data {
            path: path.clone(),
            line: 0,
            message: format!("{e}; is --data-dir (or YARDSTICK_DATA_DIR) the shared data folder?"),
        })?;
        Ok((path, data))
    }
}

/// The `columns` (by header name) of every row of the CSV `text` read from `path` (a
/// leading byte-order mark ignored); a missing column or an unreadable row is an error
/// naming the file and line.
pub(crate) fn csv_columns<const N: usize>(
    path: &Path,
    text: &str,
    columns: [&str; N],
) -> Result<Vec<[String; N]>, JudgedError> {
    let data_error = |line: u64, message: String| JudgedError::Data {
        path: path.to_owned(),
        line: line as usize,
        message,
    };
    let csv_error = |error: csv::Error| {
        let line = error.position().map_or(0, csv::Position::line);
        data_error(line, error.to_string())
    };
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader.headers().map_err(csv_error)?.clone();
    let mut positions = [0; N];
    for (position, name) in positions.iter_mut().zip(columns) {
        *position = headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| data_error(1, format!("no `{name}` column")))?;
    }
    reader
        .records()
        .map(|row| {
            let row = row.map_err(csv_error)?;
            Ok(positions.map(|at| row.get(at).unwrap_or_default().to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_columns_are_read_by_name_and_errors_name_the_line() {
        let path = Path::new("data.csv");
        let rows = csv_columns(path, "\u{feff}b,a\n2,1\n\"x\ny\",3\n", ["a", "b"]).unwrap();
        assert_eq!(rows, vec![["1", "2"], ["3", "x\ny"]]);
        match csv_columns(path, "a\n1\n", ["a", "c"]) {
            Err(JudgedError::Data {
                line: 1, message, ..
            }) => {
                assert_eq!(message, "no `c` column")
            }
            other => panic!("expected a missing column, got {other:?}"),
        }
        match csv_columns(path, "a,b\n1,2\n3\n", ["a"]) {
            Err(JudgedError::Data { line: 3, .. }) => {}
            other => panic!("expected an error on line 3, got {other:?}"),
        }
    }

    #[test]
    fn builtin_tasks_parse() {
        for name in builtin_suite_tasks() {
            let task = SuiteTaskConfig::find(name).unwrap().unwrap();
            assert_eq!(task.task, name);
        }
        assert!(SuiteTaskConfig::find("mt_bench").unwrap().is_none());
    }
}
