use std::path::PathBuf;

/// What can go wrong loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model file does not exist.
    #[error("model file not found: {path}\n  check the path, or run scripts/setup.sh to fetch the demo model")]
    NotFound {
        /// Where we looked.
        path: PathBuf,
    },
    /// The file exists but is not a GGUF file.
    #[error("{path} is not a GGUF model file (it does not start with the GGUF magic bytes); is it truncated or a different format?")]
    NotGguf {
        /// The offending file.
        path: PathBuf,
    },
    /// llama.cpp refused to load the file.
    #[error("llama.cpp could not load {path}: the file is corrupt, truncated, or of an unsupported architecture")]
    Load {
        /// The offending file.
        path: PathBuf,
    },
    /// Reading the file failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A model spec on the command line could not be understood.
    #[error("unknown model spec {spec:?}: expected gguf:PATH (a local GGUF file) or openai:MODEL (an OpenAI-compatible endpoint, with --base-url)")]
    BadSpec {
        /// What the user wrote.
        spec: String,
    },
    /// The llama.cpp backend or context could not be created.
    #[error("llama.cpp initialisation failed: {0}")]
    Init(String),
    /// A forward pass failed.
    #[error("llama.cpp decode failed: {0}")]
    Decode(String),
    /// An API endpoint failed or answered something unusable.
    #[error("API request failed: {0}")]
    Api(String),
    /// A request cannot be scored by this model.
    #[error("request cannot be scored: {0}")]
    BadRequest(String),
}
