//! Comparing models with each other and with what papers report.
//!
//! - [`load_models`] reads the results database back as per-item scores per model and
//!   benchmark (a group such as `mmlu` as one benchmark).
//! - [`PublishedScores`] is the registry of scores that papers and model cards report
//!   for models yardstick cannot run (GPT-3.5-turbo, GPT-4) or did not: each
//!   [`PublishedScore`] keeps its source and settings (shots, method), so a comparison
//!   shows where they differ from a run's. The registry is CSV files in one format (the
//!   data directory's `published/published_results.csv` to start with).
//! - [`compare`] builds a [`Comparison`] against a reference: the models × benchmarks
//!   table with standard errors, each model's difference to the reference with its 95%
//!   interval and a verdict (McNemar or a paired bootstrap on shared items, a normal
//!   test otherwise), benchmarks grouped by the survey's [`Domain`]s, the catch-up map
//!   and per-domain profiles for the radar chart.
//! - [`drift`] compares two runs of the same tasks item by item (changed outputs,
//!   McNemar per right/wrong metric, the model ids and system fingerprints served).

mod compare;
mod domain;
mod drift;
mod published;
mod stored;

pub use compare::{
    compare, CatchUp, CatchUpStatus, Cell, Column, CompareOptions, Comparison, Delta,
    DomainProfile, DomainScore, ModelInfo, ModelKind, PublishedNote, Row, TestKind, ALPHA,
};
pub use domain::Domain;
pub use drift::{drift, DriftReport, MetricDrift, TaskDrift};
pub use published::{PublishedError, PublishedScore, PublishedScores};
pub use stored::{item_metrics, load_models, ItemId, StoredBenchmark, StoredModel, TaskSource};

/// Why a comparison could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The results database failed.
    #[error(transparent)]
    Store(#[from] yardstick_store::StoreError),
    /// The published registry failed.
    #[error(transparent)]
    Published(#[from] PublishedError),
    /// A run's manifest lacks what a comparison needs.
    #[error("run {run_id}: unreadable manifest: {message}")]
    Manifest {
        /// The run.
        run_id: String,
        /// What is missing.
        message: String,
    },
    /// No stored or published model has that name.
    #[error(
        "no model matches `{query}`; stored: {}; published: {}",
        list(stored),
        list(published)
    )]
    UnknownModel {
        /// The name asked for.
        query: String,
        /// Stored models.
        stored: Vec<String>,
        /// Published models.
        published: Vec<String>,
    },
    /// Several models match the name.
    #[error("`{query}` matches several models ({}); give more of the name", matches.join(", "))]
    AmbiguousModel {
        /// The name asked for.
        query: String,
        /// The models it matches.
        matches: Vec<String>,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}
