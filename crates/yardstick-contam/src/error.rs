use std::path::PathBuf;

/// What stops a scan before it starts. Problems inside corpus files do not: they are
/// reported as [`CorpusIssue`](crate::CorpusIssue)s and the scan goes on.
#[derive(Debug, thiserror::Error)]
pub enum ContamError {
    /// A corpus path does not exist or cannot be listed.
    #[error("cannot read corpus path {path}: {source}; check the --corpus arguments")]
    Corpus {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The n-gram size is unusable.
    #[error("n-gram size must be at least 1, got {0}")]
    NgramSize(usize),
}
