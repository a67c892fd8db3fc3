//! The engine: tasks in, scored and stored results out.
//!
//! [`evaluate`] renders each task's documents into requests, sends them to a
//! [`Backend`](yardstick_models::Backend) in fixed chunks of documents, scores the
//! answers, and writes each chunk to the [`Store`](yardstick_store::Store) in one
//! transaction. Chunks already in the store are skipped, so a killed run started again
//! with the same arguments finishes without recomputing anything, and because the chunk
//! boundaries never move, its numbers equal an uninterrupted run's. At the end it writes
//! lm-evaluation-harness's results JSON and per-sample JSONL.
//!
//! A document whose API requests fail after every retry is recorded as failed and left
//! out of the scores (never scored as wrong); a rerun retries only it. With a
//! [`Shard`], a run evaluates one worker's fixed share of every task. An API's token
//! counts, model id and system fingerprint are kept per item and summed ([`TokenUsage`]).
//!
//! Generation tasks are scored per answer filter: `exact_match` on the extracted answer,
//! or for code tasks each candidate program run with the tests in the sandbox
//! ([`code_eval_policy`]) and pass@k over how many passed.
//!
//! [`bench`](mod@bench) measures scoring throughput against llama.cpp's raw prefill,
//! generation throughput against llama.cpp's plain and batched greedy loops, and the
//! sandbox's programs/s against bare `python3`.

pub mod bench;
mod error;
mod evaluate;
mod generated;
mod groups;
mod manifest;
mod output;
mod samples;

pub use error::EngineError;
pub use evaluate::{
    attach_calls, check_response_count, evaluate, fill_missing, is_request_failure, progress_bar,
    token_usage, Chunking, CleanSubset, EvalOptions, RunOutcome, Shard, TaskOutcome, TokenUsage,
};
pub use generated::code_eval_policy;
pub use groups::GroupOutcome;
pub use manifest::{hardware_summary, harness_version};
pub use output::{sanitize_model_name, write_atomic};
