//! Groups of tasks and how their scores combine, in lm-evaluation-harness's schema.

use crate::TaskError;
use serde::Deserialize;
use std::path::Path;

/// One entry of a group's `aggregate_metric_list`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateMetric {
    /// The metric combined across the group's tasks.
    pub metric: String,
    /// How (`mean`).
    #[serde(default)]
    pub aggregation: Option<String>,
    /// Weight each task by its number of documents (lm-eval's default is true).
    #[serde(default = "default_true")]
    pub weight_by_size: bool,
    /// Filters the metric is read under (`none` by default).
    #[serde(default)]
    pub filter_list: Option<serde_yaml::Value>,
}

fn default_true() -> bool {
    true
}

/// A group file: a name, its members (tasks, tags or groups) and how to aggregate.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// The group's name.
    pub group: String,
    /// Display name in tables.
    #[serde(default)]
    pub group_alias: Option<String>,
    /// Member task, tag or group names.
    pub task: Vec<String>,
    /// Metrics reported for the group as a whole (none: the group only lists tasks).
    #[serde(default)]
    pub aggregate_metric_list: Option<Vec<AggregateMetric>>,
    /// Version and other metadata.
    #[serde(default)]
    pub metadata: Option<serde_yaml::Value>,
}

impl GroupConfig {
    /// Parses a group file's text.
    pub fn parse(path: &Path, text: &str) -> Result<Self, TaskError> {
        crate::config::parse_yaml(path, text)
    }

    /// `metadata.version`, as lm-eval prints it for groups (a string).
    pub fn version(&self) -> Option<String> {
        let version = self.metadata.as_ref()?.get("version")?;
        Some(match version {
            serde_yaml::Value::Number(n) => n.to_string(),
            serde_yaml::Value::String(s) => s.clone(),
            other => format!("{other:?}"),
        })
    }
}

/// A name expanded into what runs: a task, or a group over further entries.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskTree {
    /// A single task, by name or path.
    Task(String),
    /// A group and its expanded members.
    Group {
        /// The group's settings.
        config: GroupConfig,
        /// Its members, expanded.
        children: Vec<TaskTree>,
    },
}

impl TaskTree {
    /// Every task under this entry, in order.
    pub fn leaves(&self) -> Vec<&str> {
        match self {
            TaskTree::Task(name) => vec![name.as_str()],
            TaskTree::Group { children, .. } => {
                children.iter().flat_map(TaskTree::leaves).collect()
            }
        }
    }

    /// The entry's name.
    pub fn name(&self) -> &str {
        match self {
            TaskTree::Task(name) => name,
            TaskTree::Group { config, .. } => &config.group,
        }
    }
}
