//! Finding and reading a task's documents.
//!
//! Data lives under a data directory (`--data-dir` or `YARDSTICK_DATA_DIR`) laid out as
//! the benchmark data is shipped: hub datasets as `hf/<owner>/<name>/<config>/<split>.jsonl`
//! (the hub's schema, so lm-eval's task files work unchanged), and local files named by
//! `dataset_path: json` with `data_files`, relative to the data directory.

use crate::config::LoadedConfig;
use crate::TaskError;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Where benchmark data is looked up.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: Option<PathBuf>,
}

impl DataDir {
    /// A data directory at `root`, or none (every lookup then fails with guidance).
    pub fn new(root: Option<PathBuf>) -> Self {
        Self { root }
    }

    /// The directory itself.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// The documents of `split`, in file order (several `data_files` are concatenated).
    pub fn load_split(
        &self,
        task: &str,
        loaded: &LoadedConfig,
        split: &str,
    ) -> Result<Vec<Value>, TaskError> {
        let dataset_path = loaded.config.dataset_path.as_deref().ok_or_else(|| {
            loaded.field_error(
                "dataset_path",
                "missing: name a hub dataset or a loader such as json",
            )
        })?;
        let file_groups: Vec<Vec<PathBuf>> = if matches!(dataset_path, "json" | "jsonl") {
            data_files(loaded, split)?
                .iter()
                .map(|file| self.local_candidates(loaded, file))
                .collect()
        } else {
            vec![self.hub_candidates(dataset_path, loaded, split)]
        };
        let mut docs = Vec::new();
        for candidates in file_groups {
            match candidates.iter().find(|p| p.is_file()) {
                Some(path) => docs.extend(read_json_lines(path)?),
                None => {
                    return Err(TaskError::DataNotFound {
                        task: task.to_owned(),
                        searched: if candidates.is_empty() {
                            vec![PathBuf::from("(no data directory set)")]
                        } else {
                            candidates
                        },
                    })
                }
            }
        }
        Ok(docs)
    }

    /// A local data file: as given when absolute, else under the data directory, else
    /// next to the task file.
    fn local_candidates(&self, loaded: &LoadedConfig, file: &str) -> Vec<PathBuf> {
        let file = Path::new(file);
        if file.is_absolute() {
            return vec![file.to_owned()];
        }
        let mut candidates: Vec<PathBuf> = self.root.iter().map(|root| root.join(file)).collect();
        if let Some(task_dir) = loaded.path.parent().filter(|d| !d.starts_with("builtin:")) {
            candidates.push(task_dir.join(file));
        }
        candidates
    }

    /// A hub dataset laid out as `hf/<owner>/<name>/<config>/<split>.jsonl`.
    fn hub_candidates(
        &self,
        dataset_path: &str,
        loaded: &LoadedConfig,
        split: &str,
    ) -> Vec<PathBuf> {
        let Some(root) = &self.root else {
            return Vec::new();
        };
        let config_name = loaded.config.dataset_name.as_deref().unwrap_or("default");
        let base = root.join("hf").join(dataset_path).join(config_name);
        vec![
            base.join(format!("{split}.jsonl")),
            base.join(format!("{split}.json")),
        ]
    }
}

/// The file named for `split` in `dataset_kwargs.data_files` (a string, a list, or a map
/// from split to file).
fn data_files(loaded: &LoadedConfig, split: &str) -> Result<Vec<String>, TaskError> {
    let files = loaded
        .config
        .dataset_kwargs
        .as_ref()
        .and_then(|k| k.get("data_files"))
        .ok_or_else(|| loaded.field_error("dataset_kwargs", "a json dataset needs data_files"))?;
    let chosen = match files {
        serde_yaml::Value::Mapping(map) => map.get(split).cloned(),
        other => Some(other.clone()),
    };
    let as_list = |v: serde_yaml::Value| -> Option<Vec<String>> {
        match v {
            serde_yaml::Value::String(s) => Some(vec![s]),
            serde_yaml::Value::Sequence(items) => items
                .into_iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect(),
            _ => None,
        }
    };
    chosen.and_then(as_list).ok_or_else(|| {
        loaded.field_error(
            "dataset_kwargs",
            format!("data_files names no file for split `{split}`"),
        )
    })
}

/// Reads a JSON Lines file (or a JSON array file) into documents.
pub fn read_json_lines(path: &Path) -> Result<Vec<Value>, TaskError> {
    let text = std::fs::read_to_string(path).map_err(|source| TaskError::Io {
        path: path.to_owned(),
        source,
    })?;
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(&text).map_err(|e| TaskError::Data {
            path: path.to_owned(),
            line: e.line(),
            message: e.to_string(),
        });
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| TaskError::Data {
                path: path.to_owned(),
                line: i + 1,
                message: format!("not valid JSON: {e}"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_json_line_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.jsonl");
        std::fs::write(&path, "{\"a\": 1}\n{oops\n").unwrap();
        let message = read_json_lines(&path).unwrap_err().to_string();
        assert!(message.contains("d.jsonl:2:"), "{message}");
    }

    #[test]
    fn reads_lines_and_arrays() {
        let dir = tempfile::tempdir().unwrap();
        let lines = dir.path().join("a.jsonl");
        std::fs::write(&lines, "{\"a\": 1}\n\n{\"a\": 2}\n").unwrap();
        assert_eq!(read_json_lines(&lines).unwrap().len(), 2);
        let array = dir.path().join("b.json");
        std::fs::write(&array, "[{\"a\": 1}]").unwrap();
        assert_eq!(read_json_lines(&array).unwrap().len(), 1);
    }
}
