//! The survey's remaining domains, each a task with its own evaluation loop:
//!
//! - [`bfcl`]: function calling — BFCL's questions prompted as BFCL prompts models
//!   without native function calling, the answer decoded and checked by BFCL's AST
//!   rules (yardstick-metrics' `function_call`), accuracy per category;
//! - [`niah`]: needle in a haystack — a needle sentence at each depth of contexts of
//!   each length (counted in the model's own tokens), retrieval scored per cell, a
//!   heatmap;
//! - [`halueval`]: HaluEval's ChatGPT responses, "does this contain hallucinated
//!   content?", accuracy and F1;
//! - [`advbench`]: AdvBench's harmful behaviours, the refusal rate by the AdvBench
//!   code's refusal phrases;
//! - [`structured`]: JSON answers to a schema, parse rate and schema validity;
//! - [`truthfulqa`]: TruthfulQA's questions answered freely, judged true or not by a
//!   judge model (AdvBench answers too are judged for refusal when a judge is given).
//!
//! Task files ([`SuiteTaskConfig`]) name the data and budgets; runs resume from the
//! store and write lm-eval-style results like every other run.

pub mod advbench;
pub mod bfcl;
pub mod halueval;
pub mod niah;
mod run;
pub mod structured;
mod task;
pub mod truthfulqa;

pub use run::run_suite;
pub use task::{builtin_suite_tasks, SuiteKind, SuiteTaskConfig};
