//! How a program ended: passed, failed, timed out or killed by a limit.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// One program and its source text, as handed to [`Sandbox::run`](crate::Sandbox::run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    /// A name for reports and errors (a task id, a file name); not used as a path.
    pub name: String,
    /// The Python source, run as `__main__` from `main.py` in the throwaway directory.
    pub source: String,
}

impl Program {
    /// A program named `name` with source `source`.
    pub fn new(name: impl Into<String>, source: impl Into<String>) -> Self {
        Program {
            name: name.into(),
            source: source.into(),
        }
    }
}

/// The result of running one [`Program`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The program's name.
    pub program: String,
    /// Passed, failed, timed out or killed, with the details.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// What it wrote to stdout, up to [`Policy::max_output_bytes`](crate::Policy::max_output_bytes)
    /// (invalid UTF-8 replaced).
    pub stdout: String,
    /// What it wrote to stderr (a traceback, for an uncaught exception), likewise capped.
    pub stderr: String,
    /// Whether stdout or stderr was longer than what is kept.
    pub output_truncated: bool,
    /// Wall-clock seconds from start to exit.
    pub seconds: f64,
}

impl Outcome {
    /// Whether the program passed: it ended with exit status 0.
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Passed
    }
}

/// How a program ended.
///
/// Exit status semantics: a program **passes** when python exits with status 0 (it
/// ran to the end, or called `sys.exit(0)` / `sys.exit()`); it **fails** on an uncaught
/// exception (an `assert` that does not hold is an `AssertionError`), on any other exit
/// status, or on a signal that is not a limit's; it **times out** when the wall-clock
/// limit passes first; it is **killed** when a resource limit stopped it, whether the
/// kernel sent the signal (`SIGXCPU`) or python turned the refusal into an uncaught
/// exception (`MemoryError`, `OSError` `EFBIG`, `EMFILE`, or a failed fork).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Exit status 0.
    Passed,
    /// An uncaught exception, a non-zero exit status or a signal.
    Failed {
        /// The uncaught exception, when python reported one.
        exception: Option<PyException>,
        /// The exit status, when python exited (1 for an uncaught exception).
        exit_code: Option<i32>,
        /// The signal that ended it, when one did.
        signal: Option<i32>,
    },
    /// Still running when the wall-clock limit passed; its process group was killed.
    TimedOut,
    /// Stopped by a resource limit.
    Killed {
        /// Which limit.
        limit: Limit,
        /// The exception python raised at the limit, when it raised one.
        exception: Option<PyException>,
        /// The signal that ended it, when one did.
        signal: Option<i32>,
    },
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Passed => f.write_str("passed"),
            Verdict::Failed {
                exception: Some(exception),
                ..
            } => write!(f, "failed: {exception}"),
            Verdict::Failed {
                signal: Some(signal),
                ..
            } => write!(
                f,
                "failed: killed by signal {signal} ({})",
                signal_name(*signal)
            ),
            Verdict::Failed { exit_code, .. } => match exit_code {
                Some(code) => write!(f, "failed: exit status {code}"),
                None => f.write_str("failed"),
            },
            Verdict::TimedOut => f.write_str("timed out"),
            Verdict::Killed {
                limit,
                exception,
                signal,
            } => {
                write!(f, "killed: {limit}")?;
                if let Some(exception) = exception {
                    write!(f, " ({exception})")?;
                } else if let Some(signal) = signal {
                    write!(f, " ({})", signal_name(*signal))?;
                }
                Ok(())
            }
        }
    }
}

/// The resource limit that stopped a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// `RLIMIT_CPU`: CPU seconds.
    Cpu,
    /// `RLIMIT_AS`: address space.
    Memory,
    /// `RLIMIT_FSIZE`: the size of a file it wrote.
    FileSize,
    /// `RLIMIT_NPROC`: processes and threads.
    Processes,
    /// `RLIMIT_NOFILE`: open files.
    OpenFiles,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Cpu => "cpu time (RLIMIT_CPU)",
            Limit::Memory => "memory (RLIMIT_AS)",
            Limit::FileSize => "file size (RLIMIT_FSIZE)",
            Limit::Processes => "processes (RLIMIT_NPROC)",
            Limit::OpenFiles => "open files (RLIMIT_NOFILE)",
        })
    }
}

/// An uncaught Python exception, as the runner inside the sandbox saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PyException {
    /// The exception type: `AssertionError`, `ValueError`, `json.decoder.JSONDecodeError`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `str(exception)`, at most 4000 characters; empty for a bare `assert`.
    pub message: String,
    /// `exception.errno`, for an `OSError`.
    pub errno: Option<i32>,
    /// The line of the program where it was raised (the innermost frame in the program).
    pub line: Option<u32>,
}

impl fmt::Display for PyException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        Ok(())
    }
}

const EAGAIN: i32 = 11;
const EMFILE: i32 = 24;
const EFBIG: i32 = 27;
const SIGKILL: i32 = 9;
const SIGXCPU: i32 = 24;
const SIGXFSZ: i32 = 25;

fn signal_name(signal: i32) -> &'static str {
    match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        SIGKILL => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        SIGXCPU => "SIGXCPU",
        SIGXFSZ => "SIGXFSZ",
        _ => "signal",
    }
}

/// What the runner (`runner.py`) wrote to the status file.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RunnerStatus {
    #[serde(default)]
    pub started: bool,
    #[serde(default)]
    pub finished: bool,
    pub exception: Option<PyException>,
}

/// The limit an uncaught exception stands for, if any.
fn limit_of_exception(exception: &PyException) -> Option<Limit> {
    match (exception.kind.as_str(), exception.errno) {
        ("MemoryError", _) => Some(Limit::Memory),
        (_, Some(EFBIG)) => Some(Limit::FileSize),
        (_, Some(EMFILE)) => Some(Limit::OpenFiles),
        ("BlockingIOError", Some(EAGAIN)) => Some(Limit::Processes),
        ("RuntimeError", _) if exception.message.contains("can't start new thread") => {
            Some(Limit::Processes)
        }
        _ => None,
    }
}

/// The limit a terminating signal stands for, if any.
fn limit_of_signal(signal: i32) -> Option<Limit> {
    match signal {
        SIGXCPU => Some(Limit::Cpu),
        SIGXFSZ => Some(Limit::FileSize),
        _ => None,
    }
}

/// Judges a finished run. `None` means python never started the program.
///
/// `wrapped` says the process we waited for is a launcher (bwrap, unshare) that turns
/// its child's death by signal N into exit status 128 + N. Python itself never exits
/// above 128 unless the program asks it to with `sys.exit`, which the runner records,
/// so an exit status above 128 without a finished record is read as a signal.
pub(crate) fn classify(
    status: &RunnerStatus,
    exit: ExitStatus,
    timed_out: bool,
    wrapped: bool,
) -> Option<Verdict> {
    if timed_out {
        return Some(Verdict::TimedOut);
    }
    let signal = exit.signal().or_else(|| match exit.code() {
        Some(code) if wrapped && code > 128 && !status.finished => Some(code - 128),
        _ => None,
    });
    if !status.started {
        return None;
    }
    if let Some(signal) = signal {
        return Some(match limit_of_signal(signal) {
            Some(limit) => Verdict::Killed {
                limit,
                exception: None,
                signal: Some(signal),
            },
            None => Verdict::Failed {
                exception: None,
                exit_code: None,
                signal: Some(signal),
            },
        });
    }
    let exit_code = exit.code();
    if let Some(exception) = status.exception.clone() {
        return Some(match limit_of_exception(&exception) {
            Some(limit) => Verdict::Killed {
                limit,
                exception: Some(exception),
                signal: None,
            },
            None => Verdict::Failed {
                exception: Some(exception),
                exit_code,
                signal: None,
            },
        });
    }
    Some(match exit_code {
        Some(0) => Verdict::Passed,
        code => Verdict::Failed {
            exception: None,
            exit_code: code,
            signal: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exception(kind: &str, errno: Option<i32>) -> PyException {
        PyException {
            kind: kind.into(),
            message: String::new(),
            errno,
            line: Some(3),
        }
    }

    fn finished(exception: Option<PyException>) -> RunnerStatus {
        RunnerStatus {
            started: true,
            finished: true,
            exception,
        }
    }

    #[test]
    fn exit_statuses_and_exceptions_map_to_verdicts() {
        let code = ExitStatus::from_raw;
        let ok = finished(None);
        assert_eq!(classify(&ok, code(0), false, true), Some(Verdict::Passed));
        assert_eq!(classify(&ok, code(0), true, true), Some(Verdict::TimedOut));
        let assertion = finished(Some(exception("AssertionError", None)));
        assert!(matches!(
            classify(&assertion, code(1 << 8), false, true),
            Some(Verdict::Failed { exception: Some(e), exit_code: Some(1), .. }) if e.kind == "AssertionError"
        ));
        let memory = finished(Some(exception("MemoryError", None)));
        assert!(matches!(
            classify(&memory, code(1 << 8), false, true),
            Some(Verdict::Killed {
                limit: Limit::Memory,
                ..
            })
        ));
        let big = finished(Some(exception("OSError", Some(EFBIG))));
        assert!(matches!(
            classify(&big, code(1 << 8), false, false),
            Some(Verdict::Killed {
                limit: Limit::FileSize,
                ..
            })
        ));
        // Started, then SIGXCPU: bwrap reports 128 + 24; a bare process reports the signal.
        let running = RunnerStatus {
            started: true,
            ..RunnerStatus::default()
        };
        for (raw, wrapped) in [((128 + SIGXCPU) << 8, true), (SIGXCPU, false)] {
            assert_eq!(
                classify(&running, code(raw), false, wrapped),
                Some(Verdict::Killed {
                    limit: Limit::Cpu,
                    exception: None,
                    signal: Some(SIGXCPU)
                })
            );
        }
        // sys.exit(137) is an exit status, not a signal, because the runner recorded it.
        let exit137 = finished(None);
        assert_eq!(
            classify(&exit137, code(137 << 8), false, true),
            Some(Verdict::Failed {
                exception: None,
                exit_code: Some(137),
                signal: None
            })
        );
        assert_eq!(
            classify(&RunnerStatus::default(), code(1 << 8), false, true),
            None
        );
    }

    #[test]
    fn verdicts_read_well() {
        let failed = Verdict::Failed {
            exception: Some(PyException {
                kind: "AssertionError".into(),
                message: "f(1) should be 3".into(),
                errno: None,
                line: Some(3),
            }),
            exit_code: Some(1),
            signal: None,
        };
        assert_eq!(
            failed.to_string(),
            "failed: AssertionError: f(1) should be 3 (line 3)"
        );
        let killed = Verdict::Killed {
            limit: Limit::Cpu,
            exception: None,
            signal: Some(SIGXCPU),
        };
        assert_eq!(
            killed.to_string(),
            "killed: cpu time (RLIMIT_CPU) (SIGXCPU)"
        );
    }
}
