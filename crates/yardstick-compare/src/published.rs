//! Published scores: a CSV registry with sources and settings.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One reported score.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedScore {
    /// The model as the source names it (`gpt-3.5-turbo`).
    pub model: String,
    /// The benchmark, by yardstick's task name (`mmlu`, `hellaswag`, `mt_bench`).
    pub benchmark: String,
    /// The metric (`acc`, `pass@1`, `exact_match`, `score`).
    pub metric: String,
    /// The value as reported: percent for accuracies and pass rates, the benchmark's own
    /// scale otherwise (MT-Bench's 1-10).
    pub value: f64,
    /// Few-shot examples, when the source says.
    pub num_fewshot: Option<u32>,
    /// The value's standard error on the same scale, when the source gives one.
    #[serde(default)]
    pub stderr: Option<f64>,
    /// How the number was obtained (prompt format, answer extraction).
    pub method: String,
    /// Where it was published.
    pub source: String,
}

/// Metrics yardstick reports as fractions, published as percentages.
const PERCENT_METRICS: &[&str] = &["acc", "acc_norm", "exact_match", "f1", "mc1", "mc2"];

impl PublishedScore {
    /// The value on yardstick's scale: accuracies and pass rates as fractions (86.4 →
    /// 0.864), other metrics as reported.
    pub fn value_on_run_scale(&self) -> f64 {
        self.value * self.run_scale()
    }

    /// The standard error on yardstick's scale, when the source gives one.
    pub fn stderr_on_run_scale(&self) -> Option<f64> {
        self.stderr.map(|s| s * self.run_scale())
    }

    fn run_scale(&self) -> f64 {
        if PERCENT_METRICS.contains(&self.metric.as_str()) || self.metric.starts_with("pass@") {
            0.01
        } else {
            1.0
        }
    }
}

/// Why a registry file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PublishedError {
    /// The file cannot be read.
    #[error("cannot read published scores {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A row does not fit the format.
    #[error("{path}:{line}: {message}; the columns are model,benchmark,metric,value,num_fewshot,method,source")]
    Row {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: u64,
        /// What was wrong (names the field).
        message: String,
    },
}

/// Every published score from the files read, in file and row order.
#[derive(Debug, Clone, Default)]
pub struct PublishedScores {
    scores: Vec<PublishedScore>,
}

impl PublishedScores {
    /// Reads CSV files (a folder: every `.csv` in it, sorted by name).
    pub fn load(paths: &[PathBuf]) -> Result<Self, PublishedError> {
        let mut registry = Self::default();
        for path in paths {
            let io = |source| PublishedError::Io {
                path: path.clone(),
                source,
            };
            if path.is_dir() {
                let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                    .map_err(io)?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "csv"))
                    .collect();
                files.sort();
                for file in files {
                    registry.read_file(&file)?;
                }
            } else {
                registry.read_file(path)?;
            }
        }
        Ok(registry)
    }

    fn read_file(&mut self, path: &Path) -> Result<(), PublishedError> {
        let mut reader = csv::Reader::from_path(path).map_err(|e| PublishedError::Io {
            path: path.to_owned(),
            source: std::io::Error::other(e.to_string()),
        })?;
        for row in reader.deserialize::<PublishedScore>() {
            let score = row.map_err(|e| PublishedError::Row {
                path: path.to_owned(),
                line: e.position().map_or(0, |p| p.line()),
                message: match e.kind() {
                    csv::ErrorKind::Deserialize { err, .. } => match err.field() {
                        Some(field) => format!("column {}: {err}", field + 1),
                        None => err.to_string(),
                    },
                    other => format!("{other:?}"),
                },
            })?;
            self.scores.push(score);
        }
        Ok(())
    }

    /// Adds AlpacaEval's leaderboard files from `dir` (the `alpaca-eval` package's
    /// `leaderboards/` layout): every CSV under `data_AlpacaEval/` (benchmark
    /// `alpaca_eval`) and `data_AlpacaEval_2/` (`alpaca_eval_2`), one row per model,
    /// giving `win_rate` and, where the file has it, `length_controlled_win_rate`, in
    /// percent, with their standard errors. The file's annotator is kept as the method.
    pub fn add_alpaca_eval_leaderboards(&mut self, dir: &Path) -> Result<(), PublishedError> {
        for (folder, benchmark) in [
            ("data_AlpacaEval", "alpaca_eval"),
            ("data_AlpacaEval_2", "alpaca_eval_2"),
        ] {
            let folder_path = dir.join(folder);
            let mut files: Vec<PathBuf> = std::fs::read_dir(&folder_path)
                .map_err(|source| PublishedError::Io {
                    path: folder_path.clone(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "csv"))
                .collect();
            files.sort();
            for file in files {
                self.read_leaderboard(&file, benchmark, folder)?;
            }
        }
        Ok(())
    }

    fn read_leaderboard(
        &mut self,
        path: &Path,
        benchmark: &str,
        folder: &str,
    ) -> Result<(), PublishedError> {
        let csv_error = |e: csv::Error| PublishedError::Row {
            path: path.to_owned(),
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        };
        let mut reader = csv::Reader::from_path(path).map_err(csv_error)?;
        let headers = reader.headers().map_err(csv_error)?.clone();
        let column = |name: &str| headers.iter().position(|h| h == name);
        let Some(win_rate) = column("win_rate") else {
            return Err(PublishedError::Row {
                path: path.to_owned(),
                line: 1,
                message: "no `win_rate` column; not an AlpacaEval leaderboard".into(),
            });
        };
        let metrics = [
            ("win_rate", Some(win_rate), column("standard_error")),
            (
                "length_controlled_win_rate",
                column("length_controlled_winrate"),
                column("lc_standard_error"),
            ),
        ];
        let annotator = path
            .file_stem()
            .map(|s| {
                s.to_string_lossy()
                    .trim_end_matches("_leaderboard")
                    .to_owned()
            })
            .unwrap_or_default();
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        for record in reader.records() {
            let record = record.map_err(csv_error)?;
            let line = record.position().map_or(0, |p| p.line());
            let number = |index: Option<usize>| -> Result<Option<f64>, PublishedError> {
                match index.and_then(|i| record.get(i)).filter(|v| !v.is_empty()) {
                    None => Ok(None),
                    Some(text) => text.parse().map(Some).map_err(|_| PublishedError::Row {
                        path: path.to_owned(),
                        line,
                        message: format!(
                            "column {}: `{text}` is not a number",
                            index.map_or(0, |i| i + 1)
                        ),
                    }),
                }
            };
            let model = record.get(0).unwrap_or_default().to_owned();
            for (metric, value, stderr) in metrics {
                if let Some(value) = number(value)? {
                    self.scores.push(PublishedScore {
                        model: model.clone(),
                        benchmark: benchmark.to_owned(),
                        metric: metric.to_owned(),
                        value,
                        num_fewshot: None,
                        stderr: number(stderr)?,
                        method: format!("annotator {annotator}"),
                        source: format!(
                            "AlpacaEval leaderboard {folder}/{}",
                            file_name.clone().unwrap_or_default()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Every score, in the order read.
    pub fn scores(&self) -> &[PublishedScore] {
        &self.scores
    }

    /// The models with at least one score, in first-seen order.
    pub fn models(&self) -> Vec<&str> {
        let mut models: Vec<&str> = Vec::new();
        for score in &self.scores {
            if !models.contains(&score.model.as_str()) {
                models.push(&score.model);
            }
        }
        models
    }

    /// A model's scores on a benchmark (all metrics and settings reported).
    pub fn find(&self, model: &str, benchmark: &str) -> Vec<&PublishedScore> {
        self.scores
            .iter()
            .filter(|s| s.model == model && s.benchmark == benchmark)
            .collect()
    }
}
