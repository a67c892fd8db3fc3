use serde::{Deserialize, Serialize};
use std::fmt;

/// The environment variable that points yardstick at its benchmark data directory.
pub const DATA_DIR_ENV: &str = "YARDSTICK_DATA_DIR";

/// The name of a task as users type it (`arc_easy`), kept distinct from other strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskName(String);

impl TaskName {
    /// Wraps a task name.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaskName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
