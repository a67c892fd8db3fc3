use std::path::PathBuf;

/// What can go wrong finding, reading or rendering a task.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// A task file is not valid YAML or has a field of the wrong shape.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The task file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// A field holds a value yardstick cannot use.
    #[error("{path}:{line}: field `{field}`: {message}")]
    Field {
        /// The task file.
        path: PathBuf,
        /// 1-based line of the field (0 when unknown).
        line: usize,
        /// The field's name.
        field: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// No task of that name is known.
    #[error("unknown task `{name}`{}\n  `yardstick tasks` lists the available tasks; a path to a task YAML file also works", suggestion(.close_matches))]
    UnknownTask {
        /// What the user asked for.
        name: String,
        /// Known names that look alike.
        close_matches: Vec<String>,
    },
    /// The dataset files are not where the task says.
    #[error("data for task `{task}` not found; looked in:\n{}\n  point yardstick at the benchmark data with --data-dir DIR or the YARDSTICK_DATA_DIR environment variable", list_paths(.searched))]
    DataNotFound {
        /// The task.
        task: String,
        /// Every path tried.
        searched: Vec<PathBuf>,
    },
    /// A dataset file could not be read or parsed.
    /// A hub dataset is neither in the data directory nor obtainable from the hub.
    #[error("data for task `{task}` not found; looked in:\n{}\n  and then on the Hugging Face hub: {source}\n  point yardstick at the benchmark data with --data-dir DIR (or YARDSTICK_DATA_DIR), or let it download", list_paths(.searched))]
    HubData {
        /// The task.
        task: String,
        /// Paths tried in the data directory.
        searched: Vec<PathBuf>,
        /// Why the hub could not help.
        source: crate::hub::HubError,
    },
    #[error("{path}:{line}: {message}")]
    Data {
        /// The data file.
        path: PathBuf,
        /// 1-based line (0 when unknown).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Reading a file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A template failed to render for a document.
    #[error("task `{task}`, document {doc_index}: template for `{field}` failed: {message}")]
    Render {
        /// The task.
        task: String,
        /// The document's index in its split.
        doc_index: usize,
        /// The template's field.
        field: String,
        /// The template engine's message.
        message: String,
    },
}

fn suggestion(close: &[String]) -> String {
    if close.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", close.join(", "))
    }
}

fn list_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| format!("    {}", p.display()))
        .collect::<Vec<_>>()
        .join("\n")
}
