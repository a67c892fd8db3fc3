//! Tasks: what to ask a model, and what counts as right.
//!
//! Task files use lm-evaluation-harness's YAML schema ([`TaskConfig`]), so a task from
//! that ecosystem runs unchanged once its data is found. Built-in tasks ship as such
//! files, compiled in; a [`TaskRegistry`] finds them by name, expands groups and tags
//! ([`TaskTree`], [`GroupConfig`]), and users add their own by path or folder. A
//! [`Task`] loads its documents from a [`DataDir`] and renders each into the exact prompt
//! lm-eval would build ([`MultipleChoiceDoc`]).
//!
//! ```no_run
//! use yardstick_tasks::{DataDir, Task, TaskRegistry};
//!
//! let registry = TaskRegistry::builtin()?;
//! let data = DataDir::new(Some("../shared/data".into()));
//! let task = Task::load(registry.load("arc_easy")?, &data, None)?;
//! let first = &task.multiple_choice_docs(Some(1))?[0];
//! assert!(first.prompt().starts_with("Question: "));
//! # Ok::<(), yardstick_tasks::TaskError>(())
//! ```

mod chat;
mod config;
mod dataset;
mod error;
mod generation;
mod group;
mod hooks;
mod hub;
mod pyrandom;
mod registry;
mod task;
mod template;

pub use chat::{ChatFormat, ChatMessage, ChatTemplate, ChatTemplateError};
pub use config::{
    load_config, parse_config, LoadedConfig, MetricRef, MetricSpec, OutputType, TaskConfig,
};
pub use dataset::{read_data_file, DataDir};
pub use error::TaskError;
pub use generation::{AnswerFilter, CodeMetric, GenerateDoc, DEFAULT_MAX_GEN_TOKS};
pub use group::{AggregateMetric, GroupConfig, TaskTree};
pub use hooks::{truthfulqa_mc2, Hook};
pub use hub::{HubConfig, HubError};
pub use pyrandom::PyRandom;
pub use registry::TaskRegistry;
pub use task::{MultipleChoiceDoc, Task, FEWSHOT_SEED};
pub use template::Templates;
