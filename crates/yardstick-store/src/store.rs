use crate::db::{describe_postgres_error, params, Db, DbError, Row, Tx, Value, SUPPORTED_VERSION};
use crate::location::{client_config, StoreLocation};
use crate::tls::{TlsError, TlsSettings};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use yardstick_core::ModelFingerprint;

/// What can go wrong with the results database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("results database {location}: {source}")]
    Database {
        /// The database (a PostgreSQL URL shown without its password).
        location: StoreLocation,
        /// The driver's error.
        source: DbError,
    },
    /// A PostgreSQL server could not be reached or refused the login.
    #[error("cannot connect to the results database {location}: {}; check that the server runs and that the URL names the right host, port, user and database (the password comes from the URL, PGPASSWORD or ~/.pgpass)", describe_postgres_error(.error))]
    Connect {
        /// The database, shown without its password.
        location: StoreLocation,
        /// The driver's error.
        error: postgres::Error,
    },
    /// The TLS settings of a PostgreSQL URL cannot be used.
    #[error("results database {location}: {source}")]
    Tls {
        /// The database, shown without its password.
        location: StoreLocation,
        /// What is wrong.
        source: TlsError,
    },
    /// The folder for a new database file could not be made.
    #[error("cannot create the folder for the results database {location}: {source}")]
    CreateFolder {
        /// The database file.
        location: StoreLocation,
        /// The file system's error.
        source: std::io::Error,
    },
    /// A database opened for reading does not exist.
    #[error("results database {location} does not exist; evaluate a model with `yardstick run` first, or point --db at an existing database")]
    Missing {
        /// The database asked for.
        location: StoreLocation,
    },
    /// The database was written by a newer yardstick.
    #[error("results database {location} has schema version {found}, newer than this yardstick understands ({supported}); upgrade yardstick or use another --db")]
    TooNew {
        /// The database.
        location: StoreLocation,
        /// Its schema version.
        found: i64,
        /// The newest this binary knows.
        supported: i64,
    },
    /// A stored record is not what yardstick writes.
    #[error("results database {location}: corrupt record: {message}")]
    Corrupt {
        /// The database.
        location: StoreLocation,
        /// What failed to parse.
        message: String,
    },
}

/// Which scored items belong together: one model on one task configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemKey {
    /// The model's fingerprint.
    pub model: ModelFingerprint,
    /// The task's config hash (prompts, shots, seed, split).
    pub task_hash: String,
}

impl ItemKey {
    /// The key for `model` on the task configuration hashed as `task_hash`.
    pub fn new(model: ModelFingerprint, task_hash: impl Into<String>) -> Self {
        Self {
            model,
            task_hash: task_hash.into(),
        }
    }
}

/// One scored document: its id and its per-sample record (JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredItem {
    /// Index of the document in its split.
    pub doc_id: usize,
    /// The per-sample record, as written to the samples file.
    pub record: serde_json::Value,
}

impl StoredItem {
    /// An item for document `doc_id`.
    pub fn new(doc_id: usize, record: serde_json::Value) -> Self {
        Self { doc_id, record }
    }
}

/// A task configuration as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    /// The config hash (key).
    pub config_hash: String,
    /// The task's name.
    pub name: String,
    /// Few-shot count.
    pub num_fewshot: usize,
    /// The resolved config, as JSON text.
    pub config: String,
    /// Hash of the evaluation documents.
    pub dataset_hash: String,
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// The run's id.
    pub run_id: String,
    /// The model's fingerprint.
    pub model: ModelFingerprint,
    /// Seconds since the epoch when the run first started.
    pub started_at: i64,
    /// When it finished, if it did.
    pub finished_at: Option<i64>,
    /// The run manifest (JSON).
    pub manifest: serde_json::Value,
}

/// An open results database: a SQLite file or a PostgreSQL database, the same schema
/// and the same queries in both.
pub struct Store {
    // Interior mutability: PostgreSQL's client needs `&mut` for every query, while the
    // store's readers are shared references.
    db: RefCell<Db>,
    location: StoreLocation,
}

/// One shard of a sharded run, as its worker recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardRecord {
    /// The whole run's id (the id the same command without `--shard` has).
    pub run_id: String,
    /// This shard, from 0.
    pub index: usize,
    /// Shards in all.
    pub count: usize,
    /// The shard's own run id.
    pub shard_run_id: String,
    /// Seconds since the epoch when the shard first started.
    pub started_at: i64,
    /// When it finished, if it did.
    pub finished_at: Option<i64>,
}

/// One scanned item's finding, as a contamination scan records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContaminationRow {
    /// The task.
    pub task: String,
    /// The task's data, as its dataset hash identifies it.
    pub dataset_hash: String,
    /// The document.
    pub doc_id: usize,
    /// How many of its n-grams the corpus holds (0: clean).
    pub matches: u64,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// How long a writer waits for a lock another writer holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The tables a merge copies, parents first, each with its columns and key.
const TABLES: &[(&str, &str, &str)] = &[
    ("models", "fingerprint, name, source", "fingerprint"),
    (
        "tasks",
        "config_hash, name, num_fewshot, config, dataset_hash",
        "config_hash",
    ),
    (
        "runs",
        "run_id, model_fingerprint, started_at, finished_at, manifest",
        "run_id",
    ),
    ("run_tasks", "run_id, config_hash", "run_id, config_hash"),
    (
        "contamination",
        "task, dataset_hash, doc_id, corpus, ngram, matches, scanned_at",
        "task, dataset_hash, doc_id, corpus, ngram",
    ),
    (
        "items",
        "model_fingerprint, task_hash, doc_id, record, created_at",
        "model_fingerprint, task_hash, doc_id",
    ),
    (
        "failures",
        "model_fingerprint, task_hash, doc_id, error, failed_at",
        "model_fingerprint, task_hash, doc_id",
    ),
    (
        "run_shards",
        "run_id, shard_count, shard_index, shard_run_id, started_at, finished_at",
        "run_id, shard_count, shard_index",
    ),
];

/// Items written by one statement (SQLite allows 32,766 placeholders in one).
const ROWS_PER_STATEMENT: usize = 200;

/// Rows a merge reads from its source at a time.
const MERGE_PAGE: usize = 2000;

impl Store {
    /// Opens (creating if needed) the database at `location`, migrated to the current
    /// schema: a SQLite file (in WAL mode) or a PostgreSQL database.
    pub fn open(location: impl Into<StoreLocation>) -> Result<Self, StoreError> {
        let location = location.into();
        let db = match &location {
            StoreLocation::File(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateFolder {
                        location: location.clone(),
                        source,
                    })?;
                }
                let conn =
                    rusqlite::Connection::open(path).map_err(|source| StoreError::Database {
                        location: location.clone(),
                        source: source.into(),
                    })?;
                Self::sqlite_settings(&conn, true).map_err(|source| StoreError::Database {
                    location: location.clone(),
                    source: source.into(),
                })?;
                Db::Sqlite(conn)
            }
            StoreLocation::Postgres(_) => Self::connect(&location)?,
        };
        Self::migrated(db, location)
    }

    /// Opens an existing database for reading only (comparisons, reports, the
    /// leaderboard): nothing is created, migrated or written.
    pub fn open_read_only(location: impl Into<StoreLocation>) -> Result<Self, StoreError> {
        let location = location.into();
        let db = match &location {
            StoreLocation::File(path) => {
                if !path.is_file() {
                    return Err(StoreError::Missing { location });
                }
                let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = rusqlite::Connection::open_with_flags(path, flags)
                    .and_then(|conn| Self::sqlite_settings(&conn, false).map(|()| conn))
                    .map_err(|source| StoreError::Database {
                        location: location.clone(),
                        source: source.into(),
                    })?;
                Db::Sqlite(conn)
            }
            StoreLocation::Postgres(_) => {
                let mut db = Self::connect(&location)?;
                if let Db::Postgres(client) = &mut db {
                    client
                        .batch_execute("SET default_transaction_read_only = on")
                        .map_err(|source| StoreError::Database {
                            location: location.clone(),
                            source: source.into(),
                        })?;
                }
                db
            }
        };
        let store = Self {
            db: RefCell::new(db),
            location,
        };
        match store.schema_version()? {
            0 if matches!(store.location, StoreLocation::Postgres(_)) => Err(StoreError::Missing {
                location: store.location,
            }),
            found if found > SUPPORTED_VERSION => Err(StoreError::TooNew {
                location: store.location,
                found,
                supported: SUPPORTED_VERSION,
            }),
            _ => Ok(store),
        }
    }

    /// A throwaway in-memory SQLite database (for tests and dry runs).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let location = StoreLocation::File(":memory:".into());
        let conn = rusqlite::Connection::open_in_memory()
            .and_then(|conn| Self::sqlite_settings(&conn, true).map(|()| conn))
            .map_err(|source| StoreError::Database {
                location: location.clone(),
                source: source.into(),
            })?;
        Self::migrated(Db::Sqlite(conn), location)
    }

    fn sqlite_settings(conn: &rusqlite::Connection, writable: bool) -> rusqlite::Result<()> {
        if writable {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
        }
        conn.busy_timeout(BUSY_TIMEOUT)
    }

    fn connect(location: &StoreLocation) -> Result<Db, StoreError> {
        let StoreLocation::Postgres(url) = location else {
            unreachable!("connect is only called for PostgreSQL locations");
        };
        let connect_error = |error| StoreError::Connect {
            location: location.clone(),
            error,
        };
        let tls_error = |source| StoreError::Tls {
            location: location.clone(),
            source,
        };
        let (driver_url, tls) = TlsSettings::split_from_url(
            url.secret_text(),
            |name| std::env::var(name).ok().filter(|v| !v.is_empty()),
            std::env::var_os("HOME").map(PathBuf::from),
        )
        .map_err(tls_error)?;
        let mut config = client_config(&driver_url).map_err(connect_error)?;
        config
            .application_name("yardstick")
            .connect_timeout(BUSY_TIMEOUT)
            .ssl_mode(tls.driver_mode());
        let client = config
            .connect(tls.connector().map_err(tls_error)?)
            .map_err(connect_error)?;
        Ok(Db::Postgres(client))
    }

    fn migrated(db: Db, location: StoreLocation) -> Result<Self, StoreError> {
        let store = Self {
            db: RefCell::new(db),
            location,
        };
        let found = store.with(Db::migrate)?;
        if found > SUPPORTED_VERSION {
            return Err(StoreError::TooNew {
                location: store.location,
                found,
                supported: SUPPORTED_VERSION,
            });
        }
        Ok(store)
    }

    /// Where the database is (its `Display` hides any password).
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    fn with<T>(&self, f: impl FnOnce(&mut Db) -> Result<T, DbError>) -> Result<T, StoreError> {
        f(&mut self.db.borrow_mut()).map_err(|source| self.database_error(source))
    }

    /// Runs `f` in one transaction, committed when it succeeds.
    fn in_transaction<T>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, DbError>,
    ) -> Result<T, StoreError> {
        self.with(|db| {
            let mut tx = db.transaction()?;
            let value = f(&mut tx)?;
            tx.commit()?;
            Ok(value)
        })
    }

    fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        self.with(|db| db.execute(sql, params))
    }

    fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        self.with(|db| db.query(sql, params))
    }

    /// The number a `SELECT COUNT(*)` query gives.
    fn count(&self, sql: &str, params: &[Value]) -> Result<usize, StoreError> {
        match self.query(sql, params)?.first() {
            Some(row) => self.int(row, 0).map(|n| n as usize),
            None => Ok(0),
        }
    }

    fn database_error(&self, source: DbError) -> StoreError {
        StoreError::Database {
            location: self.location.clone(),
            source,
        }
    }

    fn corrupt(&self, message: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            location: self.location.clone(),
            message: message.into(),
        }
    }

    fn int(&self, row: &Row, column: usize) -> Result<i64, StoreError> {
        match row.get(column) {
            Some(Value::Int(v)) => Ok(*v),
            other => Err(self.corrupt(format!(
                "column {column}: expected an integer, found {other:?}"
            ))),
        }
    }

    fn optional_int(&self, row: &Row, column: usize) -> Result<Option<i64>, StoreError> {
        match row.get(column) {
            Some(Value::Null) => Ok(None),
            _ => self.int(row, column).map(Some),
        }
    }

    fn text(&self, row: &Row, column: usize) -> Result<String, StoreError> {
        match row.get(column) {
            Some(Value::Text(v)) => Ok(v.clone()),
            other => Err(self.corrupt(format!("column {column}: expected text, found {other:?}"))),
        }
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.with(Db::schema_version)
    }

    /// Records a model (once per fingerprint).
    pub fn upsert_model(
        &self,
        model: &ModelFingerprint,
        name: &str,
        source: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO models (fingerprint, name, source) VALUES (?1, ?2, ?3)
             ON CONFLICT (fingerprint) DO UPDATE SET name = excluded.name, source = excluded.source",
            params![model.as_str(), name, source],
        )
        .map(drop)
    }

    /// Records a task configuration (once per hash).
    pub fn upsert_task(&self, task: &TaskRecord) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO tasks (config_hash, name, num_fewshot, config, dataset_hash)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            params![
                &task.config_hash,
                &task.name,
                task.num_fewshot,
                &task.config,
                &task.dataset_hash
            ],
        )
        .map(drop)
    }

    /// Starts a run, or finds it again when the same run is resumed.
    pub fn begin_run(
        &self,
        run_id: &str,
        model: &ModelFingerprint,
        task_hashes: &[String],
        manifest: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let manifest = manifest.to_string();
        self.in_transaction(|tx| {
            tx.execute(
                "INSERT INTO runs (run_id, model_fingerprint, started_at, manifest) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (run_id) DO UPDATE SET manifest = excluded.manifest",
                params![run_id, model.as_str(), now(), manifest],
            )?;
            for hash in task_hashes {
                tx.execute(
                    "INSERT INTO run_tasks (run_id, config_hash) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    params![run_id, hash],
                )?;
            }
            Ok(())
        })
    }

    /// Marks a run finished.
    pub fn finish_run(&self, run_id: &str) -> Result<(), StoreError> {
        self.execute(
            "UPDATE runs SET finished_at = ?2 WHERE run_id = ?1",
            params![run_id, now()],
        )
        .map(drop)
    }

    /// Records that shard `index` of `count` of run `run_id` (the whole run's id) has
    /// started as its own run `shard_run_id`; a restarted worker finds its row again.
    pub fn begin_shard(
        &self,
        run_id: &str,
        index: usize,
        count: usize,
        shard_run_id: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO run_shards (run_id, shard_count, shard_index, shard_run_id, started_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (run_id, shard_count, shard_index) DO UPDATE SET shard_run_id = excluded.shard_run_id",
            params![run_id, count, index, shard_run_id, now()],
        )
        .map(drop)
    }

    /// Marks shard `index` of `count` of run `run_id` finished.
    pub fn finish_shard(&self, run_id: &str, index: usize, count: usize) -> Result<(), StoreError> {
        self.execute(
            "UPDATE run_shards SET finished_at = ?4
             WHERE run_id = ?1 AND shard_count = ?2 AND shard_index = ?3",
            params![run_id, count, index, now()],
        )
        .map(drop)
    }

    /// The recorded shards of the run `run_id` — the whole run's id, or any one of its
    /// shards' — by shard count and index.
    pub fn shards(&self, run_id: &str) -> Result<Vec<ShardRecord>, StoreError> {
        let rows = self.query(
            "SELECT run_id, shard_index, shard_count, shard_run_id, started_at, finished_at
             FROM run_shards
             WHERE run_id = ?1 OR run_id IN (SELECT run_id FROM run_shards WHERE shard_run_id = ?1)
             ORDER BY shard_count, shard_index",
            params![run_id],
        )?;
        rows.iter()
            .map(|row| {
                Ok(ShardRecord {
                    run_id: self.text(row, 0)?,
                    index: self.int(row, 1)? as usize,
                    count: self.int(row, 2)? as usize,
                    shard_run_id: self.text(row, 3)?,
                    started_at: self.int(row, 4)?,
                    finished_at: self.optional_int(row, 5)?,
                })
            })
            .collect()
    }

    /// A run by id.
    pub fn run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        let rows = self.query(
            "SELECT run_id, model_fingerprint, started_at, finished_at, manifest FROM runs WHERE run_id = ?1",
            params![run_id],
        )?;
        rows.first()
            .map(|row| {
                Ok(RunRecord {
                    run_id: self.text(row, 0)?,
                    model: ModelFingerprint::from_raw(self.text(row, 1)?),
                    started_at: self.int(row, 2)?,
                    finished_at: self.optional_int(row, 3)?,
                    manifest: self.parse(&self.text(row, 4)?)?,
                })
            })
            .transpose()
    }

    /// Every run, oldest first.
    pub fn run_ids(&self) -> Result<Vec<String>, StoreError> {
        let rows = self.query("SELECT run_id FROM runs ORDER BY started_at, run_id", &[])?;
        rows.iter().map(|row| self.text(row, 0)).collect()
    }

    /// Ids of the documents already scored under `key`.
    pub fn stored_doc_ids(&self, key: &ItemKey) -> Result<BTreeSet<usize>, StoreError> {
        let rows = self.query(
            "SELECT doc_id FROM items WHERE model_fingerprint = ?1 AND task_hash = ?2",
            params![key.model.as_str(), &key.task_hash],
        )?;
        rows.iter()
            .map(|row| self.int(row, 0).map(|id| id as usize))
            .collect()
    }

    /// How many items are stored under `key` with `doc_id < limit` (all when `None`).
    pub fn count_items(&self, key: &ItemKey, limit: Option<usize>) -> Result<usize, StoreError> {
        let limit = limit.map_or(i64::MAX, |l| l as i64);
        self.count(
            "SELECT COUNT(*) FROM items WHERE model_fingerprint = ?1 AND task_hash = ?2 AND doc_id < ?3",
            params![key.model.as_str(), &key.task_hash, limit],
        )
    }

    /// Stores a batch of scored items in one transaction; items already stored are left
    /// as they are (a unique key and an upsert), so nothing is ever duplicated, even
    /// when workers write the same item at once.
    pub fn insert_items(&mut self, key: &ItemKey, items: &[StoredItem]) -> Result<(), StoreError> {
        let created = now();
        self.in_transaction(|tx| {
            // Many rows per statement: one round trip to a server per batch, not per item.
            for batch in items.chunks(ROWS_PER_STATEMENT) {
                let rows: Vec<String> = (0..batch.len())
                    .map(|i| {
                        let first = 3 + 3 * i;
                        format!("(?1, ?2, ?{first}, ?{}, ?{})", first + 1, first + 2)
                    })
                    .collect();
                let mut values = vec![Value::from(key.model.as_str()), Value::from(&key.task_hash)];
                for item in batch {
                    values.extend([
                        Value::from(item.doc_id),
                        Value::from(item.record.to_string()),
                        Value::from(created),
                    ]);
                }
                tx.execute(
                    &format!(
                        "INSERT INTO items (model_fingerprint, task_hash, doc_id, record, created_at)
                         VALUES {} ON CONFLICT DO NOTHING",
                        rows.join(", ")
                    ),
                    &values,
                )?;
                let doc_ids: Vec<String> = (0..batch.len()).map(|i| format!("?{}", 3 + i)).collect();
                let mut values = vec![Value::from(key.model.as_str()), Value::from(&key.task_hash)];
                values.extend(batch.iter().map(|item| Value::from(item.doc_id)));
                tx.execute(
                    &format!(
                        "DELETE FROM failures WHERE model_fingerprint = ?1 AND task_hash = ?2
                         AND doc_id IN ({})",
                        doc_ids.join(", ")
                    ),
                    &values,
                )?;
            }
            Ok(())
        })
    }

    /// Records that document `doc_id` under `key` could not be computed (its requests
    /// failed for good) and why; replaces an earlier failure of the same document.
    pub fn record_failure(
        &self,
        key: &ItemKey,
        doc_id: usize,
        error: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO failures (model_fingerprint, task_hash, doc_id, error, failed_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (model_fingerprint, task_hash, doc_id)
             DO UPDATE SET error = excluded.error, failed_at = excluded.failed_at",
            params![key.model.as_str(), &key.task_hash, doc_id, error, now()],
        )
        .map(drop)
    }

    /// The documents under `key` whose requests failed and that no later run scored,
    /// with the error, in document order.
    pub fn failures(&self, key: &ItemKey) -> Result<Vec<(usize, String)>, StoreError> {
        let rows = self.query(
            "SELECT doc_id, error FROM failures
             WHERE model_fingerprint = ?1 AND task_hash = ?2 ORDER BY doc_id",
            params![key.model.as_str(), &key.task_hash],
        )?;
        rows.iter()
            .map(|row| Ok((self.int(row, 0)? as usize, self.text(row, 1)?)))
            .collect()
    }

    /// The items under `key` with `doc_id < limit` (all when `None`), in document order.
    pub fn load_items(
        &self,
        key: &ItemKey,
        limit: Option<usize>,
    ) -> Result<Vec<StoredItem>, StoreError> {
        let limit = limit.map_or(i64::MAX, |l| l as i64);
        let rows = self.query(
            "SELECT doc_id, record FROM items
             WHERE model_fingerprint = ?1 AND task_hash = ?2 AND doc_id < ?3 ORDER BY doc_id",
            params![key.model.as_str(), &key.task_hash, limit],
        )?;
        rows.iter()
            .map(|row| {
                Ok(StoredItem::new(
                    self.int(row, 0)? as usize,
                    self.parse(&self.text(row, 1)?)?,
                ))
            })
            .collect()
    }

    /// Records a contamination scan's finding for each scanned item: how many of its
    /// n-grams the corpus (`corpus`, as the scan named it) holds. A rescan of the same
    /// items, corpus and n replaces the earlier rows.
    pub fn record_contamination(
        &mut self,
        corpus: &str,
        ngram: usize,
        rows: &[ContaminationRow],
    ) -> Result<(), StoreError> {
        let scanned = now();
        self.in_transaction(|tx| {
            for row in rows {
                tx.execute(
                    "INSERT INTO contamination
                     (task, dataset_hash, doc_id, corpus, ngram, matches, scanned_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (task, dataset_hash, doc_id, corpus, ngram)
                     DO UPDATE SET matches = excluded.matches, scanned_at = excluded.scanned_at",
                    params![
                        &row.task,
                        &row.dataset_hash,
                        row.doc_id,
                        corpus,
                        ngram,
                        row.matches as i64,
                        scanned
                    ],
                )?;
            }
            Ok(())
        })
    }

    /// The documents of a task (its data as `dataset_hash` identifies it) that any
    /// recorded scan found in a corpus.
    pub fn contaminated_doc_ids(
        &self,
        task: &str,
        dataset_hash: &str,
    ) -> Result<BTreeSet<usize>, StoreError> {
        let rows = self.query(
            "SELECT DISTINCT doc_id FROM contamination
             WHERE task = ?1 AND dataset_hash = ?2 AND matches > 0",
            params![task, dataset_hash],
        )?;
        rows.iter()
            .map(|row| self.int(row, 0).map(|id| id as usize))
            .collect()
    }

    /// Whether any scan of the task's data was recorded (so an empty contaminated set
    /// means clean, not unscanned).
    pub fn contamination_scanned(
        &self,
        task: &str,
        dataset_hash: &str,
    ) -> Result<bool, StoreError> {
        self.count(
            "SELECT COUNT(*) FROM contamination WHERE task = ?1 AND dataset_hash = ?2",
            params![task, dataset_hash],
        )
        .map(|n| n > 0)
    }

    /// Copies everything another results database holds into this one (models, tasks,
    /// runs, items, contamination findings, shards, failures no item has since
    /// replaced), keeping what this one already has: the stores of sharded workers
    /// combine into one, and a SQLite file moves into PostgreSQL (or back). Returns how
    /// many items were added. The source is migrated to this binary's schema first if
    /// it is older.
    pub fn merge_from(&mut self, source: impl Into<StoreLocation>) -> Result<usize, StoreError> {
        let source = source.into();
        if let StoreLocation::File(path) = &source {
            if !path.is_file() {
                return Err(StoreError::Missing { location: source });
            }
        }
        let source = Store::open(source)?;
        let mut added = 0;
        let mut db = self.db.borrow_mut();
        let mut tx = db.transaction().map_err(|e| self.database_error(e))?;
        for (table, columns, key) in TABLES {
            let width = columns.split(',').count();
            let select = format!("SELECT {columns} FROM {table} ORDER BY {key} LIMIT ?1 OFFSET ?2");
            for page in 0.. {
                let rows = source.query(&select, params![MERGE_PAGE, page * MERGE_PAGE])?;
                // Many rows per statement, as insert_items does: one round trip per batch.
                for batch in rows.chunks(ROWS_PER_STATEMENT) {
                    let tuples: Vec<String> = (0..batch.len())
                        .map(|r| {
                            let slots: Vec<String> =
                                (1..=width).map(|c| format!("?{}", r * width + c)).collect();
                            format!("({})", slots.join(", "))
                        })
                        .collect();
                    let insert = format!(
                        "INSERT INTO {table} ({columns}) VALUES {} ON CONFLICT DO NOTHING",
                        tuples.join(", ")
                    );
                    let values: Vec<Value> = batch.concat();
                    let inserted = tx
                        .execute(&insert, &values)
                        .map_err(|e| self.database_error(e))?;
                    if *table == "items" {
                        added += inserted as usize;
                    }
                }
                if rows.len() < MERGE_PAGE {
                    break;
                }
            }
        }
        tx.execute(
            "DELETE FROM failures WHERE EXISTS (SELECT 1 FROM items i
             WHERE i.model_fingerprint = failures.model_fingerprint
               AND i.task_hash = failures.task_hash AND i.doc_id = failures.doc_id)",
            &[],
        )
        .and_then(|_| tx.commit())
        .map_err(|e| self.database_error(e))?;
        Ok(added)
    }

    /// How many item rows the database holds in all (for checks that nothing duplicates).
    pub fn item_count(&self) -> Result<usize, StoreError> {
        self.count("SELECT COUNT(*) FROM items", &[])
    }

    fn parse(&self, text: &str) -> Result<serde_json::Value, StoreError> {
        serde_json::from_str(text).map_err(|e| self.corrupt(e.to_string()))
    }
}
