//! Chat quality judged by an LLM.
//!
//! - [`run_mt_bench`]: FastChat's MT-Bench — two-turn answers with the candidate's chat
//!   template, rated 1-10 by a judge model with FastChat's own prompts (reference-guided
//!   for math, reasoning and coding), or judged pairwise against a baseline in both
//!   answer orders.
//! - [`run_alpaca_eval`]: AlpacaEval — the candidate's output against a reference
//!   model's, judged with AlpacaEval's annotator prompts in a per-item random order;
//!   win rate and the length-controlled win rate.
//! - [`stored_battles`]: every pairwise judgment in a results database, for
//!   Bradley–Terry ratings.
//!
//! Any backend can be the judge, a local GGUF model included. A judgment that does not
//! parse is recorded as failed and left out of the scores, never counted as a score.
//!
//! [`begin`], [`finish`] and [`Participant`] are the bookkeeping every task with its own
//! evaluation loop shares (yardstick-suites uses them too): the run and task registered
//! in the store, answers generated through a chat format, the results JSON and samples.

mod alpaca;
mod battles;
mod error;
mod mt_bench;
mod participant;
mod run;
mod task;

pub use alpaca::{
    is_switched, load_reference_outputs, run_alpaca_eval, ReferenceOutput, ALPACA_EVAL_VERSION,
};
pub use battles::{stored_battles, StoredBattle};
pub use error::JudgedError;
pub use mt_bench::{
    load_questions, load_reference_answers, parse_jsonl, run_mt_bench, temperature, Question,
    REFERENCE_CATEGORIES,
};
pub use participant::{message, Participant, Said, Turn};
pub use run::{
    begin, finish, participant_stage, Bookkeeping, JudgedOptions, JudgedOutcome, Scored, Stage,
};
pub use task::{
    builtin_judged_tasks, find_task_file, parse_task_file, JudgeMode, JudgedKind, JudgedTaskConfig,
};
