//! Finding tasks by name: the built-in task files, and users' own.

use crate::config::{load_config, DiskFiles, LoadedConfig, SourceFiles};
use crate::group::{GroupConfig, TaskTree};
use crate::TaskError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The built-in task files (`tasks/` in this crate), compiled into the binary.
static BUILTIN_DIR: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/tasks");

/// The built-in files, served as if they were on disk under `builtin:/`.
struct BuiltinFiles;

impl SourceFiles for BuiltinFiles {
    fn read(&self, path: &Path) -> Result<String, TaskError> {
        let key = path.strip_prefix("builtin:").unwrap_or(path);
        BUILTIN_DIR
            .get_file(key)
            .and_then(|f| f.contents_utf8())
            .map(str::to_owned)
            .ok_or_else(|| TaskError::Io {
                path: path.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such built-in task file",
                ),
            })
    }
}

fn builtin_files(
    dir: &'static include_dir::Dir<'static>,
    out: &mut Vec<&'static include_dir::File<'static>>,
) {
    for file in dir.files() {
        out.push(file);
    }
    for sub in dir.dirs() {
        builtin_files(sub, out);
    }
}

/// Every task yardstick knows: built-in ones and those found in user folders, with the
/// groups and tags that name several at once.
#[derive(Debug, Default)]
pub struct TaskRegistry {
    /// task name -> where its file is (`builtin:` paths for built-in ones)
    files: BTreeMap<String, PathBuf>,
    /// group name -> its config
    groups: BTreeMap<String, GroupConfig>,
    /// tag -> the tasks carrying it, in registration order
    tags: BTreeMap<String, Vec<String>>,
}

impl TaskRegistry {
    /// The built-in tasks and groups.
    pub fn builtin() -> Result<Self, TaskError> {
        let mut registry = Self::default();
        let mut files = Vec::new();
        builtin_files(&BUILTIN_DIR, &mut files);
        files.sort_by_key(|f| f.path());
        for file in files {
            let path = Path::new("builtin:").join(file.path());
            if let Some(text) = file.contents_utf8() {
                registry.register(&path, text)?;
            }
        }
        Ok(registry)
    }

    /// Adds every `*.yaml` task or group file under `dir` (recursively); later ones win.
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
                let text = DiskFiles.read(&path)?;
                self.register(&path, &text)?;
            }
        }
        Ok(())
    }

    /// Files with `group:` and a list of members are groups; files with `task:` are
    /// tasks (their `tag`s recorded); anything else (an `include`d base) is skipped.
    fn register(&mut self, path: &Path, text: &str) -> Result<(), TaskError> {
        let is_group = serde_yaml::from_str::<serde_yaml::Value>(text)
            .ok()
            .is_some_and(|v| {
                v.get("group").is_some() && v.get("task").is_some_and(|t| t.is_sequence())
            });
        if is_group {
            let group = GroupConfig::parse(path, text)?;
            self.groups.insert(group.group.clone(), group);
            return Ok(());
        }
        let config = crate::config::parse_config(path, text)?;
        let Some(task) = config.task else {
            return Ok(());
        };
        let tags = match config.tag {
            Some(serde_yaml::Value::String(tag)) => vec![tag],
            Some(serde_yaml::Value::Sequence(items)) => items
                .into_iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        for tag in tags {
            let members = self.tags.entry(tag).or_default();
            if !members.contains(&task) {
                members.push(task.clone());
            }
        }
        self.files.insert(task, path.to_owned());
        Ok(())
    }

    /// The names of all known tasks, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.files.keys().map(String::as_str).collect()
    }

    /// The names of all known groups, sorted.
    pub fn group_names(&self) -> Vec<&str> {
        self.groups.keys().map(String::as_str).collect()
    }

    /// Expands a task name, task file path, group or tag into what runs. A tag stands
    /// for its tasks; a group keeps its structure so its scores can be aggregated.
    pub fn expand(&self, name: &str) -> Result<Vec<TaskTree>, TaskError> {
        self.expand_within(name, &mut Vec::new())
    }

    fn expand_within(
        &self,
        name: &str,
        open: &mut Vec<String>,
    ) -> Result<Vec<TaskTree>, TaskError> {
        if name.ends_with(".yaml") || name.ends_with(".yml") || self.files.contains_key(name) {
            return Ok(vec![TaskTree::Task(name.to_owned())]);
        }
        if let Some(members) = self.tags.get(name) {
            return Ok(members.iter().map(|m| TaskTree::Task(m.clone())).collect());
        }
        let Some(config) = self.groups.get(name) else {
            return Err(self.unknown(name));
        };
        if open.iter().any(|g| g == name) {
            return Err(TaskError::UnknownTask {
                name: format!("{name} (group includes itself)"),
                close_matches: Vec::new(),
            });
        }
        open.push(name.to_owned());
        let mut children = Vec::new();
        for member in &config.task {
            children.extend(self.expand_within(member, open)?);
        }
        open.pop();
        Ok(vec![TaskTree::Group {
            config: config.clone(),
            children,
        }])
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
            None => Err(self.unknown(name_or_path)),
        }
    }

    fn unknown(&self, name: &str) -> TaskError {
        TaskError::UnknownTask {
            name: name.to_owned(),
            close_matches: self.close_matches(name),
        }
    }

    fn close_matches(&self, name: &str) -> Vec<String> {
        let mut scored: Vec<(f64, &String)> = self
            .files
            .keys()
            .chain(self.groups.keys())
            .chain(self.tags.keys())
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
        let names = registry.names();
        assert!(names.contains(&"arc_easy") && names.contains(&"arc_challenge"));
        assert_eq!(names.iter().filter(|n| n.starts_with("mmlu_")).count(), 57);
        assert_eq!(
            registry.group_names(),
            vec![
                "mmlu",
                "mmlu_humanities",
                "mmlu_other",
                "mmlu_social_sciences",
                "mmlu_stem"
            ]
        );
    }

    #[test]
    fn mmlu_expands_to_four_groups_of_57_subjects() {
        let registry = TaskRegistry::builtin().unwrap();
        let trees = registry.expand("mmlu").unwrap();
        assert_eq!(trees.len(), 1);
        let TaskTree::Group { children, .. } = &trees[0] else {
            panic!("mmlu is a group");
        };
        let names: Vec<&str> = children.iter().map(TaskTree::name).collect();
        assert_eq!(
            names,
            vec![
                "mmlu_stem",
                "mmlu_other",
                "mmlu_social_sciences",
                "mmlu_humanities"
            ]
        );
        assert_eq!(trees[0].leaves().len(), 57);
        // A tag stands for its tasks, without a group around them.
        assert_eq!(registry.expand("mmlu_stem_tasks").unwrap().len(), 19);
    }

    #[test]
    fn mmlu_subject_prompt_is_lm_evals() {
        let loaded = TaskRegistry::builtin()
            .unwrap()
            .load("mmlu_high_school_us_history")
            .unwrap();
        let config = &loaded.config;
        assert_eq!(config.dataset_path.as_deref(), Some("cais/mmlu"));
        assert_eq!(
            config.description.as_deref(),
            Some("The following are multiple choice questions (with answers) about high school us history.\n\n")
        );
        assert_eq!(config.fewshot_split.as_deref(), Some("dev"));
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
