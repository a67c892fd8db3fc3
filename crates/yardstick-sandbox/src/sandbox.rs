//! [`Sandbox`]: prepares a throwaway directory, launches python under the isolation
//! and limits, waits with a wall-clock timeout, kills the whole process group, judges
//! the outcome and removes the directory.

use crate::error::SandboxError;
use crate::isolation::{find_tool, Isolation, Launch, Tools};
use crate::outcome::{classify, Outcome, Program, RunnerStatus};
use crate::policy::Policy;
use rustix::process::{Pid, PidfdFlags, Signal};
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::{chown, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Runs Python programs under one [`Policy`], one at a time ([`Sandbox::run`]) or
/// many at once ([`Sandbox::run_all`]). Cheap to share between threads.
#[derive(Debug)]
pub struct Sandbox {
    policy: Policy,
    tools: Tools,
    python: PathBuf,
    python_prefix: Option<PathBuf>,
    isolation: Isolation,
    drop_to: Option<u32>,
    passed_over: Vec<String>,
}

impl Sandbox {
    /// Checks the policy, finds python, and picks the isolation: the policy's, or the
    /// strongest of [`Isolation::ALL`] that runs a trivial program here. Each choice is
    /// tried for real (about 0.1 s), so a sandbox that is made works.
    pub fn new(policy: Policy) -> Result<Sandbox, SandboxError> {
        policy.validate()?;
        let (python, python_prefix) = resolve_python(policy.python.as_deref())?;
        let drop_to = rustix::process::geteuid()
            .is_root()
            .then_some(policy.sandbox_uid);
        let candidates = match policy.isolation {
            Some(isolation) => vec![isolation],
            None => Isolation::ALL.to_vec(),
        };
        let mut sandbox = Sandbox {
            policy,
            tools: Tools::find(),
            python,
            python_prefix,
            isolation: candidates[0],
            drop_to,
            passed_over: Vec::new(),
        };
        for isolation in candidates {
            sandbox.isolation = isolation;
            match sandbox.probe() {
                Ok(()) => return Ok(sandbox),
                Err(reason) => sandbox.passed_over.push(format!("{isolation}: {reason}")),
            }
        }
        Err(SandboxError::IsolationUnavailable {
            isolation: sandbox.isolation,
            reason: sandbox.passed_over.join("; "),
        })
    }

    /// The policy every program runs under.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The isolation in force.
    pub fn isolation(&self) -> Isolation {
        self.isolation
    }

    /// The interpreter programs run with.
    pub fn python(&self) -> &Path {
        &self.python
    }

    /// The uid programs run as, when the harness is root and drops privileges.
    pub fn sandbox_uid(&self) -> Option<u32> {
        self.drop_to
    }

    /// What users should be told: the isolation's own warning (no network isolation,
    /// say) and why each stronger isolation was passed over. Empty under bubblewrap.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings: Vec<String> = self
            .isolation
            .warning()
            .map(str::to_owned)
            .into_iter()
            .collect();
        warnings.extend(
            self.passed_over
                .iter()
                .map(|reason| format!("passed over {reason}")),
        );
        warnings
    }

    /// Runs one program to its end, its timeout or its limit.
    ///
    /// The program's failures are [`Outcome`]s; an `Err` means the harness could not
    /// run it at all.
    pub fn run(&self, program: &Program) -> Result<Outcome, SandboxError> {
        let scratch = Scratch::prepare(self, program)?;
        let launch = Launch {
            isolation: self.isolation,
            tools: &self.tools,
            python: &self.python,
            python_prefix: self.python_prefix.as_deref(),
            drop_to: self.drop_to,
            host_dir: &scratch.host_dir,
            limits: self.prlimit_options(),
        };
        let argv = launch
            .argv()
            .map_err(|reason| SandboxError::IsolationUnavailable {
                isolation: self.isolation,
                reason,
            })?;
        let inside = self.isolation.inside_dir(&scratch.host_dir);
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .env_clear()
            .env("HOME", inside.join("home"))
            .env("PATH", "/usr/bin:/bin")
            .env("TMPDIR", self.isolation.inside_tmp(&scratch.host_dir))
            .env("LANG", "C.UTF-8")
            .env("PWD", &inside)
            .current_dir(&scratch.host_dir)
            .stdin(scratch.open_for_child("status")?)
            .stdout(scratch.open_for_child("stdout")?)
            .stderr(scratch.open_for_child("stderr")?)
            .process_group(0);
        let started = Instant::now();
        let mut child = command.spawn().map_err(|source| SandboxError::Spawn {
            tool: PathBuf::from(&argv[0]),
            program: program.name.clone(),
            source,
        })?;
        let (exit, timed_out) =
            wait_or_kill(&mut child, self.policy.timeout).map_err(|source| SandboxError::Wait {
                program: program.name.clone(),
                source,
            })?;
        let seconds = started.elapsed().as_secs_f64();

        let (status, _) = scratch.read("status", 1 << 20);
        let status: RunnerStatus = serde_json::from_str(&status).unwrap_or_default();
        let (stdout, stdout_cut) = scratch.read("stdout", self.policy.max_output_bytes);
        let (stderr, stderr_cut) = scratch.read("stderr", self.policy.max_output_bytes);
        let verdict = classify(&status, exit, timed_out, self.isolation.wraps_exit_status());
        let verdict = verdict.ok_or_else(|| SandboxError::Launch {
            program: program.name.clone(),
            status: exit.to_string(),
            stderr: stderr.chars().take(2000).collect(),
        })?;
        scratch.remove()?;
        Ok(Outcome {
            program: program.name.clone(),
            verdict,
            stdout,
            stderr,
            output_truncated: stdout_cut || stderr_cut,
            seconds,
        })
    }

    /// Runs every program, [`Policy::effective_concurrency`] at a time, and returns
    /// their results in the programs' order.
    pub fn run_all(&self, programs: &[Program]) -> Vec<Result<Outcome, SandboxError>> {
        let results: Vec<Mutex<Option<Result<Outcome, SandboxError>>>> =
            programs.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let workers = self.policy.effective_concurrency().min(programs.len());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(program) = programs.get(index) else {
                        break;
                    };
                    let result = self.run(program);
                    *results[index]
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner) = Some(result);
                });
            }
        });
        results
            .into_iter()
            .map(|slot| {
                slot.into_inner()
                    .unwrap_or_else(PoisonError::into_inner)
                    .expect("every program is run by a worker")
            })
            .collect()
    }

    /// Runs a trivial program under the current isolation.
    fn probe(&self) -> Result<(), String> {
        match self.run(&Program::new("probe", "import sys\n")) {
            Ok(outcome) if outcome.passed() => Ok(()),
            Ok(outcome) => Err(format!(
                "a trivial program {}: {}",
                outcome.verdict,
                outcome.stderr.trim()
            )),
            Err(error) => Err(error.to_string()),
        }
    }

    /// `prlimit`'s options for the policy.
    fn prlimit_options(&self) -> Vec<OsString> {
        let p = &self.policy;
        let cpu = p.effective_cpu_seconds();
        let processes = match self.isolation {
            Isolation::Bubblewrap => p.max_processes,
            // One count for all the programs running at once as the sandbox user.
            Isolation::Unshare | Isolation::ProcessGroup => {
                p.max_processes * p.effective_concurrency() as u64
            }
        };
        [
            format!("--as={}", p.memory_bytes),
            format!("--cpu={cpu}:{}", cpu + 1),
            format!("--nproc={processes}"),
            format!("--nofile={}", p.max_open_files),
            format!("--fsize={}", p.max_file_bytes),
            "--core=0".to_owned(),
        ]
        .map(OsString::from)
        .into()
    }
}

/// Finds the interpreter and, when it lives outside `/usr`, the prefix bubblewrap must
/// bind for it.
fn resolve_python(explicit: Option<&Path>) -> Result<(PathBuf, Option<PathBuf>), SandboxError> {
    let system = Path::new("/usr/bin/python3");
    let chosen = match explicit {
        Some(path) => path.to_owned(),
        None if system.exists() => system.to_owned(),
        None => find_tool("python3").ok_or_else(|| SandboxError::Python {
            tried: "/usr/bin/python3 and python3 on PATH".into(),
            reason: "not found".into(),
        })?,
    };
    let failed = |reason: String| SandboxError::Python {
        tried: chosen.display().to_string(),
        reason,
    };
    let output = Command::new(&chosen)
        .args([
            "-I",
            "-c",
            "import sys; print(sys.executable); print(sys.base_prefix)",
        ])
        .stdin(Stdio::null())
        .output()
        .map_err(|error| failed(error.to_string()))?;
    if !output.status.success() {
        return Err(failed(String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut lines = text.lines();
    let executable = lines
        .next()
        .filter(|line| !line.is_empty())
        .map(PathBuf::from);
    let executable = executable.unwrap_or(chosen.clone());
    let executable = fs::canonicalize(&executable).unwrap_or(executable);
    let prefix = lines.next().map(PathBuf::from);
    let prefix = prefix.filter(|_| !executable.starts_with("/usr/"));
    Ok((executable, prefix))
}

/// One program's throwaway directory on the host:
///
/// ```text
/// yardstick-sandbox-XXXXXX/   0711, the harness's
///   box/                      the program's (cwd; /sandbox under bubblewrap)
///     main.py  home/  tmp/
///   status stdout stderr      the harness's, handed to the program as fds 0, 1, 2
/// ```
struct Scratch {
    dir: tempfile::TempDir,
    host_dir: PathBuf,
}

impl Scratch {
    fn prepare(sandbox: &Sandbox, program: &Program) -> Result<Scratch, SandboxError> {
        let parent = sandbox
            .policy
            .scratch_dir
            .clone()
            .unwrap_or_else(std::env::temp_dir);
        let prepare = |path: &Path| {
            let path = path.to_owned();
            move |source| SandboxError::Prepare { path, source }
        };
        let dir = tempfile::Builder::new()
            .prefix("yardstick-sandbox-")
            .tempdir_in(&parent)
            .map_err(prepare(&parent))?;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o711))
            .map_err(prepare(dir.path()))?;
        let host_dir = dir.path().join("box");
        for sub in ["", "home", "tmp"] {
            let path = host_dir.join(sub);
            fs::create_dir(&path).map_err(prepare(&path))?;
        }
        let main = host_dir.join("main.py");
        fs::write(&main, &program.source).map_err(prepare(&main))?;
        if let Some(uid) = sandbox.drop_to {
            for path in [
                &host_dir,
                &host_dir.join("home"),
                &host_dir.join("tmp"),
                &main,
            ] {
                chown(path, Some(uid), Some(uid)).map_err(prepare(path))?;
            }
        }
        Ok(Scratch { dir, host_dir })
    }

    /// Creates one of the harness's files and opens it for the child.
    fn open_for_child(&self, name: &str) -> Result<Stdio, SandboxError> {
        let path = self.dir.path().join(name);
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| SandboxError::Prepare { path, source })?;
        Ok(Stdio::from(file))
    }

    /// Up to `limit` bytes of one of the harness's files as text, and whether there
    /// was more.
    fn read(&self, name: &str, limit: u64) -> (String, bool) {
        let Ok(file) = File::open(self.dir.path().join(name)) else {
            return (String::new(), false);
        };
        let length = file.metadata().map_or(0, |m| m.len());
        let mut bytes = Vec::new();
        let _ = file.take(limit).read_to_end(&mut bytes);
        (String::from_utf8_lossy(&bytes).into_owned(), length > limit)
    }

    /// Removes the directory; when a program left a directory it cannot be removed
    /// from (mode 000), makes every directory writable first and tries again.
    fn remove(self) -> Result<(), SandboxError> {
        let path = self.dir.path().to_owned();
        let kept = self.dir.keep();
        if fs::remove_dir_all(&kept).is_ok() {
            return Ok(());
        }
        open_up(&kept);
        fs::remove_dir_all(&kept).map_err(|source| SandboxError::Cleanup { path, source })
    }
}

/// Makes every directory under `dir` readable, writable and searchable by its owner.
fn open_up(dir: &Path) {
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                open_up(&entry.path());
            }
        }
    }
}

/// Waits for the launcher until `timeout`; then SIGKILLs its process group (always,
/// so that no background process outlives the program) and reaps it. Returns the exit
/// status and whether the timeout struck.
fn wait_or_kill(child: &mut Child, timeout: Duration) -> io::Result<(ExitStatus, bool)> {
    let deadline = Instant::now() + timeout;
    let pid = Pid::from_child(child);
    let exited = match rustix::process::pidfd_open(pid, PidfdFlags::empty()) {
        Ok(pidfd) => wait_pidfd(&pidfd, deadline)?,
        Err(_) => poll_child(child, deadline)?,
    };
    // The group's id stays reserved while its leader is an unreaped zombie, so this
    // cannot reach a stranger.
    let _ = rustix::process::kill_process_group(pid, Signal::KILL);
    if !exited {
        let _ = child.kill();
    }
    Ok((child.wait()?, !exited))
}

/// Waits on a pidfd until the process exits (`true`) or the deadline passes (`false`).
fn wait_pidfd(pidfd: &rustix::fd::OwnedFd, deadline: Instant) -> io::Result<bool> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let timeout = Timespec::try_from(left).unwrap_or(Timespec {
            tv_sec: 86_400,
            tv_nsec: 0,
        });
        let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
        match poll(&mut fds, Some(&timeout)) {
            Ok(0) => {}
            Ok(_) => return Ok(true),
            Err(rustix::io::Errno::INTR) => {}
            Err(error) => return Err(error.into()),
        }
    }
}

/// Where pidfds are missing (Linux before 5.3): polls with `try_wait`.
fn poll_child(child: &mut Child, deadline: Instant) -> io::Result<bool> {
    let mut pause = Duration::from_millis(1);
    loop {
        if child.try_wait()?.is_some() {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}
