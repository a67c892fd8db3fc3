use std::path::PathBuf;

/// What can stop an evaluation.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A task could not be rendered.
    #[error(transparent)]
    Task(#[from] yardstick_tasks::TaskError),
    /// The model failed.
    #[error(transparent)]
    Model(#[from] yardstick_models::ModelError),
    /// The results database failed.
    #[error(transparent)]
    Store(#[from] yardstick_store::StoreError),
    /// Writing an output file failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The backend answered a different number of requests than it was asked.
    #[error("backend returned {got} responses for {asked} requests")]
    ResponseCount {
        /// Requests sent.
        asked: usize,
        /// Responses received.
        got: usize,
    },
    /// A stored record lacks a field the scorer needs.
    #[error(
        "stored item {doc_id} of task {task} has no `{field}`; remove the database to recompute"
    )]
    StoredRecord {
        /// The task.
        task: String,
        /// The document.
        doc_id: usize,
        /// The missing field.
        field: String,
    },
    /// A task's result hook could not score a document.
    #[error("task `{task}`, document {doc_id}: {message}")]
    Hook {
        /// The task.
        task: String,
        /// The document.
        doc_id: usize,
        /// What was wrong.
        message: String,
    },
    /// The sandbox that runs a code task's programs could not be set up or used.
    #[error("code execution for task `{task}`: {source}")]
    Sandbox {
        /// The task.
        task: String,
        /// What went wrong.
        source: yardstick_sandbox::SandboxError,
    },
}
