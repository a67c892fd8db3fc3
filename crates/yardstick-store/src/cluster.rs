//! A throwaway PostgreSQL server: a cluster made with `initdb` in a temporary folder,
//! serving on a free loopback port with password login, removed when dropped.
//!
//! The tests run the store against it, and `yardstick bench store` measures writes
//! into it, so both use a real server (Debian's `postgresql` package, which
//! `scripts/setup.sh` installs) rather than a stand-in. PostgreSQL refuses to run as
//! root; under root the server runs as the `postgres` user the package creates.

use crate::location::StoreLocation;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Why a throwaway server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No PostgreSQL server programs were found.
    #[error("PostgreSQL's server programs (initdb, postgres) were not found under /usr/lib/postgresql/*/bin or on PATH; install Debian's postgresql package (`bash scripts/setup.sh` does)")]
    NotInstalled,
    /// Running as root, and there is no `postgres` user to run the server as.
    #[error("running as root and there is no `postgres` user to run the PostgreSQL server as; install Debian's postgresql package, which creates it")]
    NoServerUser,
    /// A file-system step failed.
    #[error("throwaway PostgreSQL cluster in {dir}: {source}")]
    Io {
        /// The cluster's folder.
        dir: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// `initdb` or the server failed; the tail of its output says why.
    #[error("throwaway PostgreSQL cluster in {dir}: {step} failed: {output}")]
    Failed {
        /// The cluster's folder.
        dir: PathBuf,
        /// What was being done.
        step: &'static str,
        /// The end of the program's output.
        output: String,
    },
}

/// How much a throwaway server cares about surviving a power cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// PostgreSQL's defaults (every commit flushed to disk), for benchmarks.
    Default,
    /// No flushing at all, for tests, where nothing outlives the process.
    Off,
}

/// A running throwaway PostgreSQL server; dropping it stops the server and deletes its
/// files.
pub struct ThrowawayCluster {
    dir: PathBuf,
    server: Child,
    port: u16,
    password: String,
}

/// The superuser the cluster is made with.
const USER: &str = "yardstick";

impl ThrowawayCluster {
    /// Makes a cluster and starts its server with `durability`; waits until it accepts
    /// logins (a few seconds).
    pub fn start(durability: Durability) -> Result<Self, ClusterError> {
        Self::launch(durability, None)
    }

    /// As [`ThrowawayCluster::start`], the server also offering TLS with `certificate`
    /// and its `key` (PEM files), and logging each connection (with its TLS version).
    pub fn start_with_tls(
        durability: Durability,
        certificate: &Path,
        key: &Path,
    ) -> Result<Self, ClusterError> {
        Self::launch(durability, Some((certificate, key)))
    }

    fn launch(durability: Durability, tls: Option<(&Path, &Path)>) -> Result<Self, ClusterError> {
        let bin = server_bin_dir().ok_or(ClusterError::NotInstalled)?;
        let run_as = if rustix::process::geteuid().is_root() {
            Some(postgres_user().ok_or(ClusterError::NoServerUser)?)
        } else {
            None
        };
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("yardstick-pg-{}-{stamp:x}", std::process::id()));
        let io = |source| ClusterError::Io {
            dir: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        // Not a secret worth guarding (the server listens on loopback and lives for one
        // process), but logins go through password authentication as real ones do.
        let password = format!("pw{stamp:x}{}", std::process::id());
        let password_file = dir.join("password");
        std::fs::write(&password_file, &password).map_err(io)?;
        let mut server_files = vec![dir.clone(), password_file.clone()];
        if let Some((certificate, key)) = tls {
            let (certificate_copy, key_copy) = (dir.join("server.crt"), dir.join("server.key"));
            std::fs::copy(certificate, &certificate_copy).map_err(io)?;
            std::fs::copy(key, &key_copy).map_err(io)?;
            // The server refuses a key others can read.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key_copy, std::fs::Permissions::from_mode(0o600))
                .map_err(io)?;
            server_files.extend([certificate_copy, key_copy]);
        }
        if let Some((uid, gid)) = run_as {
            for path in &server_files {
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(io)?;
            }
        }
        let data = dir.join("data");
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                USER,
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
            ])
            .arg(format!("--pwfile={}", password_file.display()))
            .args(["-E", "UTF8", "--locale=C", "--no-sync"]);
        run_as_server_user(&mut initdb, run_as);
        let output = initdb.output().map_err(io)?;
        if !output.status.success() {
            let text = String::from_utf8_lossy(&output.stderr).into_owned();
            let cluster_dir = dir.clone();
            let _ = std::fs::remove_dir_all(&dir);
            return Err(ClusterError::Failed {
                dir: cluster_dir,
                step: "initdb",
                output: tail(&text),
            });
        }
        let mut last_error = None;
        // A free port can be taken between finding it and the server binding it.
        for _ in 0..3 {
            let port = free_port().map_err(io)?;
            match Self::serve(&bin, &dir, port, durability, tls.is_some(), run_as) {
                Ok(server) => {
                    let mut cluster = ThrowawayCluster {
                        dir: dir.clone(),
                        server,
                        port,
                        password: password.clone(),
                    };
                    match cluster.wait_until_ready() {
                        Ok(()) => return Ok(cluster),
                        Err(error) => last_error = Some(error),
                    }
                }
                Err(error) => last_error = Some(io(error)),
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        Err(last_error.unwrap_or(ClusterError::NotInstalled))
    }

    fn serve(
        bin: &Path,
        dir: &Path,
        port: u16,
        durability: Durability,
        tls: bool,
        run_as: Option<(u32, u32)>,
    ) -> std::io::Result<Child> {
        let log = std::fs::File::create(dir.join("server.log"))?;
        let mut server = Command::new(bin.join("postgres"));
        server
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", dir.display()))
            .args(["-c", "max_connections=200"]);
        if tls {
            server
                .args(["-c", "ssl=on", "-c", "log_connections=on", "-c"])
                .arg(format!(
                    "ssl_cert_file={}",
                    dir.join("server.crt").display()
                ))
                .arg("-c")
                .arg(format!("ssl_key_file={}", dir.join("server.key").display()));
        }
        if durability == Durability::Off {
            server.args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]);
        }
        server
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        run_as_server_user(&mut server, run_as);
        server.spawn()
    }

    fn wait_until_ready(&mut self) -> Result<(), ClusterError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(_)) = self.server.try_wait() {
                return Err(self.failed("starting the server"));
            }
            let connected = self.admin_client();
            if connected.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.failed("waiting for the server"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn failed(&self, step: &'static str) -> ClusterError {
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        ClusterError::Failed {
            dir: self.dir.clone(),
            step,
            output: tail(&log),
        }
    }

    fn admin_client(&self) -> Result<postgres::Client, postgres::Error> {
        postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .user(USER)
            .password(&self.password)
            .dbname("postgres")
            .connect_timeout(Duration::from_secs(5))
            .connect(postgres::NoTls)
    }

    /// Creates the database `name` and gives its location, password in the URL.
    pub fn create_database(&self, name: &str) -> Result<StoreLocation, ClusterError> {
        let failed = |error: postgres::Error| ClusterError::Failed {
            dir: self.dir.clone(),
            step: "creating a database",
            output: error.to_string(),
        };
        let mut client = self.admin_client().map_err(failed)?;
        let quoted = name.replace('"', "\"\"");
        client
            .batch_execute(&format!("CREATE DATABASE \"{quoted}\""))
            .map_err(failed)?;
        Ok(self.location(name))
    }

    /// The location of database `name` on this server, password in the URL.
    pub fn location(&self, name: &str) -> StoreLocation {
        self.url_with_password(name)
            .parse()
            .unwrap_or_else(|never| match never {})
    }

    /// `postgres://yardstick:PASSWORD@127.0.0.1:PORT/name`.
    pub fn url_with_password(&self, name: &str) -> String {
        format!(
            "postgres://{USER}:{}@127.0.0.1:{}/{name}",
            self.password, self.port
        )
    }

    /// `postgres://yardstick@127.0.0.1:PORT/name`: the password must come from
    /// `PGPASSWORD` or a password file.
    pub fn url_without_password(&self, name: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{name}", self.port)
    }

    /// The superuser's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log so far.
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for ThrowawayCluster {
    fn drop(&mut self) {
        // Immediate shutdown: nothing in a throwaway cluster needs to be kept.
        if let Some(pid) = rustix::process::Pid::from_raw(self.server.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::QUIT);
        }
        let _ = self.server.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run_as_server_user(command: &mut Command, run_as: Option<(u32, u32)>) {
    if let Some((uid, gid)) = run_as {
        command.uid(uid).gid(gid);
    }
}

/// The folder holding `initdb` and `postgres`: the newest of Debian's
/// /usr/lib/postgresql/*/bin, else the one on PATH.
fn server_bin_dir() -> Option<PathBuf> {
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin);
    debian.or_else(|| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
    })
}

/// The `postgres` user's uid and gid from /etc/passwd.
fn postgres_user() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres") && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}
