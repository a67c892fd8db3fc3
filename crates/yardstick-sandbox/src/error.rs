//! Why the sandbox could not run a program (as opposed to how the program ended,
//! which is an [`Outcome`](crate::Outcome)).

use crate::isolation::Isolation;
use std::path::PathBuf;

/// A failure of the harness: a bad policy, a missing tool, a directory that could not
/// be made or removed. A program that fails, times out or is killed is not an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// A [`Policy`](crate::Policy) field holds a value no program could run under.
    #[error("invalid sandbox policy: `{field}` {reason}")]
    InvalidPolicy {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The Python interpreter could not be found or did not answer.
    #[error("no usable python interpreter ({tried}): {reason}")]
    Python {
        /// The interpreter tried.
        tried: String,
        /// What went wrong.
        reason: String,
    },
    /// The isolation the policy asks for does not work on this machine.
    #[error("{isolation} isolation is not available here: {reason}")]
    IsolationUnavailable {
        /// The isolation asked for.
        isolation: Isolation,
        /// Why it does not work (the tool's own message where there is one).
        reason: String,
    },
    /// The throwaway directory or one of its files could not be made.
    #[error("could not prepare the sandbox directory {path}: {source}")]
    Prepare {
        /// The path being made.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The launcher (bwrap, unshare, setpriv or prlimit) could not be started.
    #[error("could not start {tool} for program `{program}`: {source}")]
    Spawn {
        /// The tool run first.
        tool: PathBuf,
        /// The program's name.
        program: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The program was started but python never ran it: the launcher failed or python
    /// could not start under the limits.
    #[error("the sandbox did not get to run program `{program}` ({status}): {stderr}")]
    Launch {
        /// The program's name.
        program: String,
        /// The launcher's exit status.
        status: String,
        /// The start of its stderr.
        stderr: String,
    },
    /// Waiting for or killing the program failed.
    #[error("could not wait for program `{program}`: {source}")]
    Wait {
        /// The program's name.
        program: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The throwaway directory could not be removed afterwards.
    #[error("could not remove the sandbox directory {path}: {source}")]
    Cleanup {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}
