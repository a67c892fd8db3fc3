//! One way to send the store's queries to either back end.
//!
//! Queries are written once, in the SQL both SQLite and PostgreSQL accept, with `?1`,
//! `?2`… placeholders (rewritten to `$1`, `$2`… for PostgreSQL). Values go in and come
//! out as [`Value`]: the store holds only integers, text and NULL.

use crate::schema::MIGRATIONS;
use std::collections::HashMap;

/// An error from either driver.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite's error.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL's (or its driver's) error, shown with its cause.
    #[error("{}", describe_postgres_error(.0))]
    Postgres(postgres::Error),
    /// A value of a type the store never writes.
    #[error("column {column} holds a value of type {found}, which yardstick never writes")]
    UnexpectedType {
        /// The column's position.
        column: usize,
        /// The type found.
        found: String,
    },
}

impl From<postgres::Error> for DbError {
    fn from(error: postgres::Error) -> Self {
        DbError::Postgres(error)
    }
}

/// The driver's error with its causes in one line ("db error" alone says nothing):
/// the server's message, or the connection failure and its reason.
pub(crate) fn describe_postgres_error(error: &postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// A value bound to a placeholder or read from a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// SQL NULL (bound as a NULL integer: the store's nullable columns are all integers).
    Null,
    /// A 64-bit integer.
    Int(i64),
    /// Text.
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::Int(v as i64)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::Null, Value::Int)
    }
}

/// Placeholders for a query: `params![a, b]`.
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        &[$($crate::db::Value::from($value)),*][..]
    };
}
pub(crate) use params;

/// One row of a result.
pub(crate) type Row = Vec<Value>;

/// An open connection to one of the two back ends.
pub(crate) enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(postgres::Client),
}

/// An open transaction; dropped without [`Tx::commit`], it rolls back.
pub(crate) enum Tx<'a> {
    Sqlite(rusqlite::Transaction<'a>),
    Postgres {
        tx: postgres::Transaction<'a>,
        statements: HashMap<String, postgres::Statement>,
    },
}

/// The schema version this binary writes.
pub(crate) const SUPPORTED_VERSION: i64 = MIGRATIONS.len() as i64;

/// A fixed key for PostgreSQL's advisory lock, so that workers starting together
/// migrate one at a time.
const MIGRATION_LOCK: i64 = 0x7961_7264_7374_6b31;

impl Db {
    pub(crate) fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        match self {
            Db::Sqlite(conn) => sqlite_execute(conn, sql, params),
            Db::Postgres(client) => {
                Ok(client.execute(&dollar_placeholders(sql), &pg_params(params))?)
            }
        }
    }

    pub(crate) fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        match self {
            Db::Sqlite(conn) => sqlite_query(conn, sql, params),
            Db::Postgres(client) => client
                .query(&dollar_placeholders(sql), &pg_params(params))?
                .iter()
                .map(pg_row)
                .collect(),
        }
    }

    pub(crate) fn transaction(&mut self) -> Result<Tx<'_>, DbError> {
        Ok(match self {
            Db::Sqlite(conn) => Tx::Sqlite(conn.transaction()?),
            Db::Postgres(client) => Tx::Postgres {
                tx: client.transaction()?,
                statements: HashMap::new(),
            },
        })
    }

    /// The schema version of the database (0: none yet).
    pub(crate) fn schema_version(&mut self) -> Result<i64, DbError> {
        match self {
            Db::Sqlite(conn) => Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?),
            Db::Postgres(client) => {
                let exists: Option<String> = client
                    .query_one("SELECT to_regclass('yardstick_schema')::text", &[])?
                    .get(0);
                if exists.is_none() {
                    return Ok(0);
                }
                let row = client.query_opt("SELECT version FROM yardstick_schema", &[])?;
                Ok(row.map_or(0, |r| r.get::<_, i64>(0)))
            }
        }
    }

    /// Applies the migrations the database lacks, in one transaction; returns the
    /// version found, which is left alone (and returned) when it is newer than this
    /// binary's.
    pub(crate) fn migrate(&mut self) -> Result<i64, DbError> {
        match self {
            Db::Sqlite(conn) => {
                let tx = conn.transaction()?;
                let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
                for (version, migration) in pending(found) {
                    tx.execute_batch(migration)?;
                    tx.pragma_update(None, "user_version", version)?;
                }
                tx.commit()?;
                Ok(found)
            }
            Db::Postgres(client) => {
                let mut tx = client.transaction()?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
                tx.batch_execute(
                    "CREATE TABLE IF NOT EXISTS yardstick_schema (version BIGINT NOT NULL)",
                )?;
                let found = match tx.query_opt("SELECT version FROM yardstick_schema", &[])? {
                    Some(row) => row.get::<_, i64>(0),
                    None => {
                        tx.execute("INSERT INTO yardstick_schema (version) VALUES (0)", &[])?;
                        0
                    }
                };
                for (version, migration) in pending(found) {
                    tx.batch_execute(migration)?;
                    tx.execute("UPDATE yardstick_schema SET version = $1", &[&version])?;
                }
                tx.commit()?;
                Ok(found)
            }
        }
    }
}

/// The migrations after version `found`, each with the version it brings the schema to.
fn pending(found: i64) -> impl Iterator<Item = (i64, &'static str)> {
    MIGRATIONS
        .iter()
        .enumerate()
        .skip(found.max(0) as usize)
        .map(|(index, migration)| (index as i64 + 1, *migration))
}

impl Tx<'_> {
    pub(crate) fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        match self {
            Tx::Sqlite(tx) => sqlite_execute(tx, sql, params),
            Tx::Postgres { tx, statements } => {
                let statement = match statements.get(sql) {
                    Some(statement) => statement.clone(),
                    None => {
                        let statement = tx.prepare(&dollar_placeholders(sql))?;
                        statements.insert(sql.to_owned(), statement.clone());
                        statement
                    }
                };
                Ok(tx.execute(&statement, &pg_params(params))?)
            }
        }
    }

    pub(crate) fn commit(self) -> Result<(), DbError> {
        match self {
            Tx::Sqlite(tx) => Ok(tx.commit()?),
            Tx::Postgres { tx, .. } => Ok(tx.commit()?),
        }
    }
}

/// `?N` placeholders as PostgreSQL's `$N`.
fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

fn sqlite_value(value: &Value) -> rusqlite::types::Value {
    match value {
        Value::Null => rusqlite::types::Value::Null,
        Value::Int(v) => rusqlite::types::Value::Integer(*v),
        Value::Text(v) => rusqlite::types::Value::Text(v.clone()),
    }
}

fn sqlite_execute(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
) -> Result<u64, DbError> {
    let changed = conn
        .prepare_cached(sql)?
        .execute(rusqlite::params_from_iter(params.iter().map(sqlite_value)))?;
    Ok(changed as u64)
}

fn sqlite_query(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Row>, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let columns = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter().map(sqlite_value)))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns);
        for column in 0..columns {
            values.push(match row.get_ref(column)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(v) => Value::Int(v),
                rusqlite::types::ValueRef::Text(v) => {
                    Value::Text(String::from_utf8_lossy(v).into_owned())
                }
                other => {
                    return Err(DbError::UnexpectedType {
                        column,
                        found: format!("{:?}", other.data_type()),
                    })
                }
            });
        }
        out.push(values);
    }
    Ok(out)
}

fn pg_params(params: &[Value]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    const NULL: Option<i64> = None;
    params
        .iter()
        .map(|value| match value {
            Value::Null => &NULL as &(dyn postgres::types::ToSql + Sync),
            Value::Int(v) => v,
            Value::Text(v) => v,
        })
        .collect()
}

fn pg_row(row: &postgres::Row) -> Result<Row, DbError> {
    use postgres::types::Type;
    (0..row.len())
        .map(|column| {
            let kind = row.columns()[column].type_();
            Ok(match *kind {
                Type::INT8 => row.try_get::<_, Option<i64>>(column)?.into(),
                Type::INT4 => row.try_get::<_, Option<i32>>(column)?.map(i64::from).into(),
                Type::INT2 => row.try_get::<_, Option<i16>>(column)?.map(i64::from).into(),
                Type::BOOL => row
                    .try_get::<_, Option<bool>>(column)?
                    .map(i64::from)
                    .into(),
                Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR => row
                    .try_get::<_, Option<String>>(column)?
                    .map_or(Value::Null, Value::Text),
                _ => {
                    return Err(DbError::UnexpectedType {
                        column,
                        found: kind.to_string(),
                    })
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollar_signs() {
        assert_eq!(
            dollar_placeholders("SELECT a FROM t WHERE b = ?1 AND c < ?12"),
            "SELECT a FROM t WHERE b = $1 AND c < $12"
        );
    }
}
