//! Metrics, defined exactly as the reference harnesses define them, each with a
//! standard error.
//!
//! Per-document scores come from [`multiple_choice`], [`ExactMatch`] and [`pass_at_k`]; a column of them becomes an
//! [`Aggregate`] (mean and standard error of the mean, as lm-eval's `mean_stderr`).
//!
//! ```
//! use yardstick_metrics::{multiple_choice, Aggregate};
//!
//! let scores = multiple_choice(&[-4.0, -2.0, -9.0], &["a", "bbbb", "cc"], 1);
//! assert_eq!(scores.acc, 1.0);
//! let summary = Aggregate::mean(&[1.0, 0.0, 1.0, 1.0]);
//! assert_eq!(summary.value, 0.75);
//! ```

mod aggregate;
mod choice;
mod code;
mod function_call;
mod judge;
mod length_controlled;
mod membership;
mod paired;
mod random;
mod ratings;
mod text;
mod winrate;

pub use aggregate::Aggregate;
pub use choice::{multiple_choice, MultipleChoiceScores};
pub use code::pass_at_k;
pub use function_call::{
    check_calls, decode_calls, is_irrelevance_correct, Call, CheckOutcome, DecodeError,
    FunctionDoc, PyValue,
};
pub use judge::{
    load_judge_prompts, parse_pair_verdict, parse_ranking, parse_rating, JudgeError, JudgePrompt,
    PairVerdict,
};
pub use length_controlled::{
    length_controlled_win_rate, GamedAnnotations, GamedRow, LcAnnotation, LcCoefficients, LcFit,
    LengthControlError, LengthControlled, LC_C_GRID,
};
pub use membership::{min_k_percent_prob, roc_auc};
pub use paired::{paired_bootstrap, McNemar, NormalDifference, PairedBootstrap, Verdict, Z_95};
pub use random::SplitMix64;
pub use ratings::{bradley_terry, online_elo, rate, Battle, Rating, Winner, ELO_BASE, ELO_SCALE};
pub use text::{python_regex, ExactMatch, PatternError, RegexFilter};
pub use winrate::{alpaca_win_rate, WinRate};
