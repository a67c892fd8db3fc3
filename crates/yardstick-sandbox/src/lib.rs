//! Runs model-written Python programs where they can do no harm, and says how each
//! one ended.
//!
//! Code benchmarks (HumanEval, MBPP) score a model by running what it wrote against
//! tests: the most dangerous thing yardstick does. A [`Sandbox`] runs each
//! [`Program`] as its own process group with `python3`, in a fresh throwaway
//! directory with a throwaway `HOME` and an empty environment, without network (a
//! new network namespace), under rlimits on address space, CPU seconds, processes,
//! open files and file size, with a wall-clock timeout that kills the whole group, and
//! removes the directory afterwards. The [`Policy`] holds the limits; the
//! [`Isolation`] says how the program is cut off from the host (bubblewrap where it
//! works, then util-linux `unshare`, then — with a warning — nothing but the process
//! group). Each run gives an [`Outcome`] whose [`Verdict`] is passed, failed (with the
//! uncaught [`PyException`]), timed out, or killed (with the [`Limit`]).
//! [`Sandbox::run_all`] runs many programs at once, up to the number of cores.
//!
//! ```
//! use yardstick_sandbox::{Limit, Policy, Program, Sandbox, Verdict};
//!
//! let sandbox = Sandbox::new(Policy::default())?;
//! let programs = [
//!     Program::new("ok", "def add(a, b):\n    return a + b\nassert add(1, 2) == 3\n"),
//!     Program::new("wrong", "assert 1 + 1 == 3, 'arithmetic'\n"),
//!     Program::new("greedy", "x = bytearray(16 * 2**30)\n"),
//! ];
//! let outcomes = sandbox.run_all(&programs);
//! assert_eq!(outcomes[0].as_ref().unwrap().verdict, Verdict::Passed);
//! let wrong = outcomes[1].as_ref().unwrap().verdict.to_string();
//! assert_eq!(wrong, "failed: AssertionError: arithmetic (line 1)");
//! assert!(matches!(
//!     outcomes[2].as_ref().unwrap().verdict,
//!     Verdict::Killed { limit: Limit::Memory, .. }
//! ));
//! # Ok::<(), yardstick_sandbox::SandboxError>(())
//! ```
//!
//! The crate's README.md states the policy in full: what is isolated, how, and what is
//! not.

#![deny(missing_docs)]

mod error;
mod isolation;
mod outcome;
mod policy;
mod sandbox;

pub use error::SandboxError;
pub use isolation::Isolation;
pub use outcome::{Limit, Outcome, Program, PyException, Verdict};
pub use policy::Policy;
pub use sandbox::Sandbox;

/// The Python that runs inside the sandbox and runs the program (see `runner.py`).
pub(crate) const RUNNER: &str = include_str!("runner.py");
