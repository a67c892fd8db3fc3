use std::path::PathBuf;

/// What can stop a judged evaluation.
#[derive(Debug, thiserror::Error)]
pub enum JudgedError {
    /// A data or task file is missing or malformed.
    #[error("{}:{line}: {message}", path.display())]
    Data {
        /// The file.
        path: PathBuf,
        /// The 1-based line (0 when the file could not be read at all).
        line: usize,
        /// What was wrong, naming the field.
        message: String,
    },
    /// The task's settings do not fit together.
    #[error("{0}")]
    Config(String),
    /// The judge prompts could not be used.
    #[error(transparent)]
    Judge(#[from] yardstick_metrics::JudgeError),
    /// Running, storing or writing failed.
    #[error(transparent)]
    Engine(#[from] yardstick_engine::EngineError),
}

impl From<yardstick_store::StoreError> for JudgedError {
    fn from(error: yardstick_store::StoreError) -> Self {
        JudgedError::Engine(error.into())
    }
}
