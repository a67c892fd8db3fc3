//! Finding tasks by name: the built-in task files, and users' own.

use crate::config::{load_config, DiskFiles, LoadedConfig, SourceFiles};
use crate::TaskError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Built-in task files, compiled into the binary, keyed by their path under `tasks/`.
const BUILTIN_FILES: &[(&str, &str)] = &[
    (
        "arc/arc_easy.yaml",
        include_str!("../tasks/arc/arc_easy.yaml"),
    ),
    (
        "arc/arc_challenge.yaml",
        include_str!("../tasks/arc/arc_challenge.yaml"),
    ),
];

/// The built-in files, served as if they were on disk under `builtin:/`.
struct BuiltinFiles;

impl SourceFiles for BuiltinFiles {
    fn read(&self, path: &Path) -> Result<String, TaskError> {
        let key = path.strip_prefix("builtin:").unwrap_or(path);
        BUILTIN_FILES
            .iter()
            .find(|(name, _)| Path::new(name) == key)
            .map(|(_, text)| (*text).to_owned())
            .ok_or_else(|| TaskError::Io {
                path: path.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such built-in task file",
                ),
            })
    }
}

/// Every task yardstick knows: built-in ones and those found in user folders.
#[derive(Debug, Default)]
pub struct TaskRegistry {
    /// task name -> where its file is (`builtin:` paths for built-in ones)
    files: BTreeMap<String, PathBuf>,
}

impl TaskRegistry {
    /// The built-in tasks.
    pub fn builtin() -> Result<Self, TaskError> {
        let mut registry = Self::default();
        for (name, text) in BUILTIN_FILES {
            let path = Path::new("builtin:").join(name);
            let config = crate::config::parse_config(&path, text)?;
            if let Some(task) = config.task {
                registry.files.insert(task, path);
            }
        }
        Ok(registry)
    }

    /// Adds every `*.yaml` task file under `dir` (recursively); later ones win.
    pub fn add_dir(&mut self, dir: &Path) -> Result<(), TaskError> {
        let entries = std::fs::read_dir(dir).map_err(|source| TaskError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                self.add_dir(&path)?;
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                let config = crate::config::parse_config(&path, &DiskFiles.read(&path)?)?;
                if let Some(task) = config.task {
                    self.files.insert(task, path);
                }
            }
        }
        Ok(())
    }

    /// The names of all known tasks, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.files.keys().map(String::as_str).collect()
    }

    /// Resolves a task name, or a path to a task file, to its loaded config.
    pub fn load(&self, name_or_path: &str) -> Result<LoadedConfig, TaskError> {
        let as_path = Path::new(name_or_path);
        if name_or_path.ends_with(".yaml") || name_or_path.ends_with(".yml") {
            return load_config(as_path, &DiskFiles);
        }
        match self.files.get(name_or_path) {
            Some(path) if path.starts_with("builtin:") => load_config(path, &BuiltinFiles),
            Some(path) => load_config(path, &DiskFiles),
            None => Err(TaskError::UnknownTask {
                name: name_or_path.to_owned(),
                close_matches: self.close_matches(name_or_path),
            }),
        }
    }

    fn close_matches(&self, name: &str) -> Vec<String> {
        let mut scored: Vec<(f64, &String)> = self
            .files
            .keys()
            .map(|known| (strsim::jaro_winkler(name, known), known))
            .filter(|(score, _)| *score > 0.8)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.into_iter().take(3).map(|(_, k)| k.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tasks_are_listed() {
        let registry = TaskRegistry::builtin().unwrap();
        assert_eq!(registry.names(), vec!["arc_challenge", "arc_easy"]);
    }

    #[test]
    fn unknown_task_suggests_close_names() {
        let registry = TaskRegistry::builtin().unwrap();
        let message = registry.load("arc_esay").unwrap_err().to_string();
        assert!(message.contains("unknown task `arc_esay`"), "{message}");
        assert!(message.contains("did you mean arc_easy"), "{message}");
    }

    #[test]
    fn challenge_inherits_easy_prompt() {
        let loaded = TaskRegistry::builtin()
            .unwrap()
            .load("arc_challenge")
            .unwrap();
        assert_eq!(loaded.config.dataset_name.as_deref(), Some("ARC-Challenge"));
        assert_eq!(
            loaded.config.doc_to_text,
            Some(serde_yaml::Value::String(
                "Question: {{question}}\nAnswer:".into()
            ))
        );
    }
}
