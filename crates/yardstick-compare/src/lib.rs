//! Comparing models with each other and with what papers report.
//!
//! [`PublishedScores`] is the registry of scores that papers and model cards report for
//! models yardstick cannot run (GPT-3.5-turbo, GPT-4) or did not: each [`PublishedScore`]
//! keeps its source and settings (shots, method), so a comparison can show where they
//! differ from a run's. The registry is CSV files in one format (the data directory's
//! `published/published_results.csv` to start with); users add rows or files.

mod published;

pub use published::{PublishedError, PublishedScore, PublishedScores};
