//! What a sandboxed program may use: the limits, the interpreter and the isolation.

use crate::error::SandboxError;
use crate::isolation::Isolation;
use serde::{Serialize, Serializer};
use std::path::PathBuf;
use std::time::Duration;

const MIB: u64 = 1024 * 1024;

/// The limits and settings every program of a [`Sandbox`](crate::Sandbox) runs under.
///
/// Start from [`Policy::default`] and change the fields you need; [`Sandbox::new`]
/// checks the result.
///
/// [`Sandbox::new`]: crate::Sandbox::new
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Wall-clock limit from start to exit; when it passes, the program's whole
    /// process group (and, under bubblewrap or unshare, its PID namespace) is killed
    /// and the outcome is [`Verdict::TimedOut`](crate::Verdict::TimedOut).
    #[serde(serialize_with = "seconds")]
    pub timeout: Duration,
    /// `RLIMIT_CPU` in seconds of CPU time per process (SIGXCPU at the limit, SIGKILL
    /// a second later). `None`: the timeout rounded up.
    pub cpu_seconds: Option<u64>,
    /// `RLIMIT_AS`: address space per process, in bytes.
    pub memory_bytes: u64,
    /// `RLIMIT_NPROC`: processes and threads the program may have at once. Under
    /// bubblewrap this counts only the program's own (it has its own user namespace).
    /// Under the weaker isolations the kernel counts every process of the sandbox user
    /// on the host, so the limit set is this times the concurrency.
    pub max_processes: u64,
    /// `RLIMIT_NOFILE`: open file descriptors per process.
    pub max_open_files: u64,
    /// `RLIMIT_FSIZE`: the largest file the program may write, in bytes. Also bounds
    /// what it can write to stdout and stderr.
    pub max_file_bytes: u64,
    /// How much of stdout and of stderr the [`Outcome`](crate::Outcome) keeps.
    pub max_output_bytes: u64,
    /// Programs run at once by [`Sandbox::run_all`](crate::Sandbox::run_all). `None`:
    /// the number of cores.
    pub concurrency: Option<usize>,
    /// The Python interpreter. `None`: `/usr/bin/python3` where it exists, else the
    /// `python3` on `PATH`.
    pub python: Option<PathBuf>,
    /// The isolation to use. `None`: the strongest that works here, in the order of
    /// [`Isolation::ALL`]; `Some`: that one or an error.
    pub isolation: Option<Isolation>,
    /// Where the throwaway directories are made. `None`: the system temporary directory.
    pub scratch_dir: Option<PathBuf>,
    /// The user and group id programs run as when the harness runs as root (root is
    /// exempt from `RLIMIT_NPROC` and may read and delete anything). Default 65534,
    /// `nobody`.
    pub sandbox_uid: u32,
}

fn seconds<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(duration.as_secs_f64())
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            timeout: Duration::from_secs(10),
            cpu_seconds: None,
            memory_bytes: 2048 * MIB,
            max_processes: 16,
            max_open_files: 128,
            max_file_bytes: 64 * MIB,
            max_output_bytes: MIB,
            concurrency: None,
            python: None,
            isolation: None,
            scratch_dir: None,
            sandbox_uid: 65534,
        }
    }
}

impl Policy {
    /// The `RLIMIT_CPU` soft limit in seconds: [`Policy::cpu_seconds`] or the timeout
    /// rounded up.
    pub fn effective_cpu_seconds(&self) -> u64 {
        self.cpu_seconds
            .unwrap_or_else(|| self.timeout.as_secs_f64().ceil().max(1.0) as u64)
    }

    /// Programs run at once: [`Policy::concurrency`] or the number of cores.
    pub fn effective_concurrency(&self) -> usize {
        self.concurrency.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }

    /// Rejects limits that no program could run under.
    pub(crate) fn validate(&self) -> Result<(), SandboxError> {
        let invalid = |field: &'static str, reason: &str| {
            Err(SandboxError::InvalidPolicy {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.timeout.is_zero() {
            return invalid("timeout", "must be more than zero");
        }
        if self.cpu_seconds == Some(0) {
            return invalid("cpu_seconds", "must be at least 1");
        }
        if self.memory_bytes < 32 * MIB {
            return invalid(
                "memory_bytes",
                "must be at least 32 MiB for python to start",
            );
        }
        if self.max_processes < 2 {
            return invalid("max_processes", "must be at least 2");
        }
        if self.max_open_files < 16 {
            return invalid("max_open_files", "must be at least 16");
        }
        if self.max_file_bytes == 0 {
            return invalid("max_file_bytes", "must be more than zero");
        }
        if self.concurrency == Some(0) {
            return invalid("concurrency", "must be at least 1");
        }
        if self.sandbox_uid == 0 {
            return invalid("sandbox_uid", "must not be root");
        }
        Ok(())
    }
}
