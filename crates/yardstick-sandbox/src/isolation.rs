//! The three ways a program is isolated, strongest first, and the command line each
//! one runs.
//!
//! Every command ends in `prlimit --as=… --cpu=… --nproc=… --nofile=… --fsize=…
//! --core=0 -- python3 -I -B -c RUNNER PROGRAM` (util-linux `prlimit` sets the limits
//! and execs python), so the limits are the same everywhere; what differs is what
//! surrounds it. When the harness runs as root, util-linux `setpriv` first drops to
//! the policy's unprivileged uid, because the kernel exempts root from `RLIMIT_NPROC`.
//! No code here is `unsafe`: every namespace and limit is set by a well-kept tool.

use serde::{Deserialize, Serialize};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};

/// How a program is cut off from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// bubblewrap (`bwrap`): new user, PID, network, IPC, UTS and cgroup namespaces;
    /// the program sees `/usr` read-only, its throwaway directory at `/sandbox` and an
    /// empty `/tmp` inside it, and nothing else of the host's files. Needs user
    /// namespaces (root or unprivileged).
    Bubblewrap,
    /// util-linux `unshare` as root: new PID, network, IPC, UTS and mount namespaces
    /// with a fresh `/proc`; the program runs as the unprivileged sandbox uid and sees
    /// the host's files as that user would. For root where bubblewrap is missing or user
    /// namespaces are not allowed.
    Unshare,
    /// Only a process group and the rlimits: **no network isolation** and the host's
    /// files as the sandbox user sees them. The last resort, with a warning.
    ProcessGroup,
}

impl Isolation {
    /// All of them, strongest first: the order [`Sandbox::new`](crate::Sandbox::new)
    /// tries them in when the policy names none.
    pub const ALL: [Isolation; 3] = [
        Isolation::Bubblewrap,
        Isolation::Unshare,
        Isolation::ProcessGroup,
    ];

    /// Whether the program gets its own network namespace (only a loopback device that
    /// reaches nothing of the host's).
    pub fn isolates_network(self) -> bool {
        !matches!(self, Isolation::ProcessGroup)
    }

    /// The warning to show users when this is the isolation in force, if any.
    pub fn warning(self) -> Option<&'static str> {
        match self {
            Isolation::Bubblewrap => None,
            Isolation::Unshare => Some(
                "sandboxed programs see the host's files as an unprivileged user would \
                 (bubblewrap is not available: install it with `apt-get install bubblewrap`)",
            ),
            Isolation::ProcessGroup => Some(
                "NO NETWORK ISOLATION: this kernel or container allows no new network \
                 namespace, so sandboxed programs can reach the network and the host's \
                 local services; they are limited only by rlimits, a process group and a \
                 timeout",
            ),
        }
    }

    /// Whether the launcher reports its child's death by signal N as exit status 128 + N.
    pub(crate) fn wraps_exit_status(self) -> bool {
        matches!(self, Isolation::Bubblewrap | Isolation::Unshare)
    }

    /// Where the throwaway directory appears to the program.
    pub(crate) fn inside_dir(self, host_dir: &Path) -> PathBuf {
        match self {
            Isolation::Bubblewrap => PathBuf::from("/sandbox"),
            Isolation::Unshare | Isolation::ProcessGroup => host_dir.to_owned(),
        }
    }

    /// Where the program's temporary directory (`TMPDIR`) appears to it.
    pub(crate) fn inside_tmp(self, host_dir: &Path) -> PathBuf {
        match self {
            Isolation::Bubblewrap => PathBuf::from("/tmp"),
            Isolation::Unshare | Isolation::ProcessGroup => host_dir.join("tmp"),
        }
    }
}

impl fmt::Display for Isolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Isolation::Bubblewrap => "bubblewrap",
            Isolation::Unshare => "unshare",
            Isolation::ProcessGroup => "process-group",
        })
    }
}

/// The external tools, found once on `PATH` (and the usual system directories).
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    pub bwrap: Option<PathBuf>,
    pub unshare: Option<PathBuf>,
    pub setpriv: Option<PathBuf>,
    pub prlimit: Option<PathBuf>,
}

impl Tools {
    pub fn find() -> Tools {
        Tools {
            bwrap: find_tool("bwrap"),
            unshare: find_tool("unshare"),
            setpriv: find_tool("setpriv"),
            prlimit: find_tool("prlimit"),
        }
    }
}

/// The first executable `name` on `PATH`, then in the usual system directories.
pub(crate) fn find_tool(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Everything needed to build one program's command line.
pub(crate) struct Launch<'a> {
    pub isolation: Isolation,
    pub tools: &'a Tools,
    /// The interpreter and, when it lives outside `/usr`, its prefix to bind.
    pub python: &'a Path,
    pub python_prefix: Option<&'a Path>,
    /// `Some(uid)` when the harness is root and must drop to `uid`.
    pub drop_to: Option<u32>,
    /// The throwaway directory on the host.
    pub host_dir: &'a Path,
    /// `prlimit` options.
    pub limits: Vec<OsString>,
}

impl Launch<'_> {
    /// The argv to run: launcher, limits, python, runner and program.
    pub fn argv(&self) -> Result<Vec<OsString>, String> {
        let missing = |tool: &str| format!("`{tool}` not found on PATH");
        let prlimit = self
            .tools
            .prlimit
            .as_ref()
            .ok_or_else(|| missing("prlimit"))?;
        let inside = self.isolation.inside_dir(self.host_dir);
        let mut tail: Vec<OsString> = vec![prlimit.into()];
        tail.extend(self.limits.iter().cloned());
        tail.extend([
            "--".into(),
            self.python.into(),
            "-I".into(),
            "-B".into(),
            "-c".into(),
            crate::RUNNER.into(),
            inside.join("main.py").into(),
        ]);
        let setpriv = |uid: u32| -> Result<Vec<OsString>, String> {
            let setpriv = self
                .tools
                .setpriv
                .as_ref()
                .ok_or_else(|| missing("setpriv"))?;
            Ok(vec![
                setpriv.into(),
                format!("--reuid={uid}").into(),
                format!("--regid={uid}").into(),
                "--clear-groups".into(),
                "--no-new-privs".into(),
                "--".into(),
            ])
        };
        let mut argv = Vec::new();
        match self.isolation {
            Isolation::Bubblewrap => {
                if let Some(uid) = self.drop_to {
                    argv.extend(setpriv(uid)?);
                }
                let bwrap = self.tools.bwrap.as_ref().ok_or_else(|| missing("bwrap"))?;
                argv.push(bwrap.into());
                argv.extend(self.bwrap_options());
                argv.push("--".into());
                argv.extend(tail);
            }
            Isolation::Unshare => {
                let Some(uid) = self.drop_to else {
                    return Err("unshare isolation needs the harness to run as root".into());
                };
                let unshare = self
                    .tools
                    .unshare
                    .as_ref()
                    .ok_or_else(|| missing("unshare"))?;
                argv.push(unshare.into());
                argv.extend(
                    [
                        "--net",
                        "--pid",
                        "--ipc",
                        "--uts",
                        "--mount",
                        "--fork",
                        "--kill-child",
                        "--mount-proc",
                        "--",
                    ]
                    .map(OsString::from),
                );
                argv.extend(setpriv(uid)?);
                argv.extend(tail);
            }
            Isolation::ProcessGroup => {
                if let Some(uid) = self.drop_to {
                    argv.extend(setpriv(uid)?);
                }
                argv.extend(tail);
            }
        }
        Ok(argv)
    }

    /// bwrap's options: namespaces, then the filesystem the program sees.
    fn bwrap_options(&self) -> Vec<OsString> {
        let mut options: Vec<OsString> = [
            "--unshare-user",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "sandbox",
            "--ro-bind",
            "/usr",
            "/usr",
        ]
        .map(OsString::from)
        .into();
        // /bin, /lib and friends: symlinks into /usr on merged-/usr systems, else binds.
        for dir in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
            let dir = Path::new(dir);
            if let Ok(target) = std::fs::read_link(dir) {
                options.extend(["--symlink".into(), target.into(), dir.into()]);
            } else if dir.is_dir() {
                options.extend(["--ro-bind".into(), dir.into(), dir.into()]);
            }
        }
        if let Some(prefix) = self.python_prefix {
            options.extend(["--ro-bind".into(), prefix.into(), prefix.into()]);
        }
        let inside = self.isolation.inside_dir(self.host_dir);
        let tmp = self.host_dir.join("tmp");
        let rest: [&OsStr; 14] = [
            "--ro-bind-try".as_ref(),
            "/etc/ld.so.cache".as_ref(),
            "/etc/ld.so.cache".as_ref(),
            "--proc".as_ref(),
            "/proc".as_ref(),
            "--dev".as_ref(),
            "/dev".as_ref(),
            "--bind".as_ref(),
            self.host_dir.as_os_str(),
            inside.as_os_str(),
            "--bind".as_ref(),
            tmp.as_os_str(),
            "/tmp".as_ref(),
            "--chdir".as_ref(),
        ];
        options.extend(rest.iter().map(|word| word.to_os_string()));
        options.push(inside.into_os_string());
        options
    }
}
