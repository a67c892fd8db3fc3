//! Where a results database lives: a SQLite file, or a PostgreSQL server named by URL.
//!
//! A PostgreSQL URL may carry a password; it is never shown. [`StoreLocation`]'s
//! `Display` and `Debug` print the URL with the password replaced by `***`, so the
//! location can go into messages, logs and results files as it is.

use std::convert::Infallible;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A results database: a SQLite file (the embedded default) or a PostgreSQL database
/// shared by many workers.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file (created on first use).
    File(PathBuf),
    /// A PostgreSQL database, `postgres://user[:password]@host[:port]/dbname[?...]`.
    Postgres(PostgresUrl),
}

/// A `postgres://` or `postgresql://` URL, kept whole for connecting and shown only
/// with its password hidden.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    /// The URL as given, password included: for a driver only, never for display.
    pub fn secret_text(&self) -> &str {
        &self.0
    }
}

impl StoreLocation {
    /// Whether the text names a PostgreSQL database rather than a file.
    pub fn is_postgres_url(text: &str) -> bool {
        text.starts_with("postgres://") || text.starts_with("postgresql://")
    }
}

impl FromStr for StoreLocation {
    type Err = Infallible;

    fn from_str(text: &str) -> Result<Self, Infallible> {
        Ok(if Self::is_postgres_url(text) {
            StoreLocation::Postgres(PostgresUrl(text.to_owned()))
        } else {
            StoreLocation::File(PathBuf::from(text))
        })
    }
}

impl From<&Path> for StoreLocation {
    fn from(path: &Path) -> Self {
        StoreLocation::File(path.to_owned())
    }
}

impl From<&PathBuf> for StoreLocation {
    fn from(path: &PathBuf) -> Self {
        StoreLocation::File(path.clone())
    }
}

impl From<PathBuf> for StoreLocation {
    fn from(path: PathBuf) -> Self {
        StoreLocation::File(path)
    }
}

impl From<&StoreLocation> for StoreLocation {
    fn from(location: &StoreLocation) -> Self {
        location.clone()
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::File(path) => write!(f, "{}", path.display()),
            StoreLocation::Postgres(url) => write!(f, "{url}"),
        }
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::File(path) => f.debug_tuple("File").field(path).finish(),
            StoreLocation::Postgres(url) => f.debug_tuple("Postgres").field(url).finish(),
        }
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_password(&self.0))
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", redact_password(&self.0))
    }
}

/// The URL with the password of its user part and any `password=` parameter replaced
/// by `***`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, hosts)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{hosts}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((name, _)) if name.eq_ignore_ascii_case("password") => {
                        format!("{name}=***")
                    }
                    _ => param.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// The driver's configuration for `url` (its TLS parameters already taken off by
/// [`crate::tls::TlsSettings::split_from_url`]), completed as libpq completes it: the user
/// from `PGUSER` (else the login name), the host from `PGHOST` (else Debian's socket
/// folder), port and database from `PGPORT` and `PGDATABASE`, and a password the URL
/// does not give from `PGPASSWORD` or the password file (`PGPASSFILE`, else
/// `~/.pgpass`).
pub(crate) fn client_config(url: &str) -> Result<postgres::Config, postgres::Error> {
    let mut config = postgres::Config::from_str(url)?;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if config.get_user().is_none() {
        if let Some(user) = env("PGUSER").or_else(|| env("USER")) {
            config.user(&user);
        }
    }
    if config.get_hosts().is_empty() {
        config.host(&env("PGHOST").unwrap_or_else(|| "/var/run/postgresql".to_owned()));
    }
    if config.get_ports().is_empty() {
        if let Some(port) = env("PGPORT").and_then(|p| p.parse().ok()) {
            config.port(port);
        }
    }
    if config.get_dbname().is_none() {
        if let Some(dbname) = env("PGDATABASE") {
            config.dbname(&dbname);
        }
    }
    if config.get_password().is_none() {
        if let Some(password) = env("PGPASSWORD").or_else(|| password_from_file(&config)) {
            config.password(password);
        }
    }
    Ok(config)
}

/// The password for `config`'s connection from the password file, as libpq reads it:
/// `host:port:database:user:password` lines, `*` matching anything, `\` escaping `:`
/// and `\`; a Unix-socket connection matches the host `localhost`.
fn password_from_file(config: &postgres::Config) -> Option<String> {
    let path = match std::env::var_os("PGPASSFILE") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".pgpass"),
    };
    let text = std::fs::read_to_string(path).ok()?;
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "localhost".to_owned(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default().to_owned();
    let dbname = config
        .get_dbname()
        .map_or_else(|| user.clone(), str::to_owned);
    pgpass_lookup(&text, [&host, &port, &dbname, &user])
}

fn pgpass_lookup(text: &str, wanted: [&str; 4]) -> Option<String> {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .find_map(|line| {
            let fields = split_pgpass_line(line);
            let [host, port, dbname, user, password] = fields.as_slice() else {
                return None;
            };
            let matches = [host, port, dbname, user]
                .iter()
                .zip(wanted)
                .all(|(field, want)| field.as_str() == "*" || field.as_str() == want);
            matches.then(|| password.clone())
        })
}

fn split_pgpass_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(field)) = (chars.next(), fields.last_mut()) {
                    field.push(next);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            _ => {
                if let Some(field) = fields.last_mut() {
                    field.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_files_unless_they_are_postgres_urls() {
        let file: StoreLocation = "out/yardstick.db".parse().unwrap();
        assert_eq!(file, StoreLocation::File(PathBuf::from("out/yardstick.db")));
        for url in ["postgres://u@h/db", "postgresql://u@h/db"] {
            let location: StoreLocation = url.parse().unwrap();
            assert!(matches!(location, StoreLocation::Postgres(_)), "{url}");
        }
    }

    #[test]
    fn passwords_never_show() {
        let location: StoreLocation =
            "postgres://ana:s3cr%40t@db.example:5433/evals?sslmode=disable&password=other"
                .parse()
                .unwrap();
        let shown = location.to_string();
        assert_eq!(
            shown,
            "postgres://ana:***@db.example:5433/evals?sslmode=disable&password=***"
        );
        let debug = format!("{location:?}");
        assert!(
            !debug.contains("s3cr") && !debug.contains("other"),
            "{debug}"
        );
        let plain: StoreLocation = "postgresql://ana@db/evals".parse().unwrap();
        assert_eq!(plain.to_string(), "postgresql://ana@db/evals");
    }

    #[test]
    fn pgpass_lines_match_with_wildcards_and_escapes() {
        let text = "# comment\nother:5432:*:ana:wrong\ndb.example:*:evals:ana:pa\\:ss\\\\word\n";
        assert_eq!(
            pgpass_lookup(text, ["db.example", "5433", "evals", "ana"]).as_deref(),
            Some("pa:ss\\word")
        );
        assert_eq!(
            pgpass_lookup(text, ["db.example", "5433", "evals", "bo"]),
            None
        );
        assert_eq!(
            pgpass_lookup("*:*:*:*:any", ["h", "1", "d", "u"]).as_deref(),
            Some("any")
        );
    }
}
