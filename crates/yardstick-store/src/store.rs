use crate::schema::MIGRATIONS;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use yardstick_core::ModelFingerprint;

/// What can go wrong with the results database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("results database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A database opened for reading does not exist.
    #[error("results database {path} does not exist; evaluate a model with `yardstick run` first, or point --db at an existing database")]
    Missing {
        /// The path asked for.
        path: PathBuf,
    },
    /// The database was written by a newer yardstick.
    #[error("results database {path} has schema version {found}, newer than this yardstick understands ({supported}); upgrade yardstick or use another --db")]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
        /// The newest this binary knows.
        supported: i64,
    },
    /// A stored record is not valid JSON.
    #[error("results database {path}: corrupt record: {message}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
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

/// An open results database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
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

impl Store {
    /// Opens (creating if needed) the database at `path`, in WAL mode, migrated to the
    /// current schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Sqlite {
                path: path.to_owned(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            })?;
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: path.to_owned(),
            source,
        })?;
        Self::init(conn, path.to_owned())
    }

    /// Opens an existing database for reading only (comparisons, reports, the
    /// leaderboard): nothing is created, migrated or written.
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Missing {
                path: path.to_owned(),
            });
        }
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(path, flags).map_err(|source| StoreError::Sqlite {
                path: path.to_owned(),
                source,
            })?;
        let store = Self {
            conn,
            path: path.to_owned(),
        };
        let supported = MIGRATIONS.len() as i64;
        let found = store.schema_version()?;
        if found > supported {
            return Err(StoreError::TooNew {
                path: store.path.clone(),
                found,
                supported,
            });
        }
        store.sql(|c| c.busy_timeout(std::time::Duration::from_secs(30)))?;
        Ok(store)
    }

    /// A throwaway in-memory database (for tests and dry runs).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Sqlite {
            path: path.clone(),
            source,
        })?;
        Self::init(conn, path)
    }

    fn init(conn: Connection, path: PathBuf) -> Result<Self, StoreError> {
        let mut store = Self { conn, path };
        store.sql(|c| {
            c.pragma_update(None, "journal_mode", "WAL")?;
            c.pragma_update(None, "synchronous", "NORMAL")?;
            c.pragma_update(None, "foreign_keys", "ON")?;
            c.busy_timeout(std::time::Duration::from_secs(30))
        })?;
        store.migrate()?;
        Ok(store)
    }

    fn sql<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StoreError> {
        f(&self.conn).map_err(|source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        })
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let supported = MIGRATIONS.len() as i64;
        let found: i64 = self.sql(|c| c.pragma_query_value(None, "user_version", |r| r.get(0)))?;
        if found > supported {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
                supported,
            });
        }
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction()
            .map_err(|source| StoreError::Sqlite {
                path: path.clone(),
                source,
            })?;
        for (version, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            tx.execute_batch(migration)
                .and_then(|()| tx.pragma_update(None, "user_version", version as i64 + 1))
                .map_err(|source| StoreError::Sqlite {
                    path: path.clone(),
                    source,
                })?;
        }
        tx.commit()
            .map_err(|source| StoreError::Sqlite { path, source })
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.sql(|c| c.pragma_query_value(None, "user_version", |r| r.get(0)))
    }

    /// Records a model (once per fingerprint).
    pub fn upsert_model(
        &self,
        model: &ModelFingerprint,
        name: &str,
        source: &str,
    ) -> Result<(), StoreError> {
        self.sql(|c| {
            c.execute(
                "INSERT INTO models (fingerprint, name, source) VALUES (?1, ?2, ?3)
                 ON CONFLICT(fingerprint) DO UPDATE SET name = excluded.name, source = excluded.source",
                params![model.as_str(), name, source],
            )
            .map(drop)
        })
    }

    /// Records a task configuration (once per hash).
    pub fn upsert_task(&self, task: &TaskRecord) -> Result<(), StoreError> {
        self.sql(|c| {
            c.execute(
                "INSERT OR IGNORE INTO tasks (config_hash, name, num_fewshot, config, dataset_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    task.config_hash,
                    task.name,
                    task.num_fewshot as i64,
                    task.config,
                    task.dataset_hash
                ],
            )
            .map(drop)
        })
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
        self.sql(|c| {
            c.execute(
                "INSERT INTO runs (run_id, model_fingerprint, started_at, manifest) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(run_id) DO UPDATE SET manifest = excluded.manifest",
                params![run_id, model.as_str(), now(), manifest],
            )?;
            for hash in task_hashes {
                c.execute(
                    "INSERT OR IGNORE INTO run_tasks (run_id, config_hash) VALUES (?1, ?2)",
                    params![run_id, hash],
                )?;
            }
            Ok(())
        })
    }

    /// Marks a run finished.
    pub fn finish_run(&self, run_id: &str) -> Result<(), StoreError> {
        self.sql(|c| {
            c.execute(
                "UPDATE runs SET finished_at = ?2 WHERE run_id = ?1",
                params![run_id, now()],
            )
            .map(drop)
        })
    }

    /// A run by id.
    pub fn run(&self, run_id: &str) -> Result<Option<RunRecord>, StoreError> {
        let row = self.sql(|c| {
            c.query_row(
                "SELECT run_id, model_fingerprint, started_at, finished_at, manifest FROM runs WHERE run_id = ?1",
                params![run_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                },
            )
            .optional()
        })?;
        row.map(|(run_id, model, started_at, finished_at, manifest)| {
            Ok(RunRecord {
                run_id,
                model: ModelFingerprint::from_raw(model),
                started_at,
                finished_at,
                manifest: self.parse(&manifest)?,
            })
        })
        .transpose()
    }

    /// Every run, oldest first.
    pub fn run_ids(&self) -> Result<Vec<String>, StoreError> {
        self.sql(|c| {
            let mut stmt = c.prepare("SELECT run_id FROM runs ORDER BY started_at, run_id")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// Ids of the documents already scored under `key`.
    pub fn stored_doc_ids(&self, key: &ItemKey) -> Result<BTreeSet<usize>, StoreError> {
        self.sql(|c| {
            let mut stmt = c.prepare(
                "SELECT doc_id FROM items WHERE model_fingerprint = ?1 AND task_hash = ?2",
            )?;
            let rows = stmt.query_map(params![key.model.as_str(), key.task_hash], |r| {
                r.get::<_, i64>(0)
            })?;
            rows.map(|r| r.map(|id| id as usize)).collect()
        })
    }

    /// Stores a batch of scored items in one transaction; items already stored are left
    /// as they are, so nothing is ever duplicated.
    pub fn insert_items(&mut self, key: &ItemKey, items: &[StoredItem]) -> Result<(), StoreError> {
        let path = self.path.clone();
        let wrap = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(wrap)?;
        {
            let mut stmt = tx
                .prepare(
                    "INSERT OR IGNORE INTO items (model_fingerprint, task_hash, doc_id, record, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(wrap)?;
            let mut cleared = tx
                .prepare(
                    "DELETE FROM failures WHERE model_fingerprint = ?1 AND task_hash = ?2 AND doc_id = ?3",
                )
                .map_err(wrap)?;
            let created = now();
            for item in items {
                stmt.execute(params![
                    key.model.as_str(),
                    key.task_hash,
                    item.doc_id as i64,
                    item.record.to_string(),
                    created
                ])
                .map_err(wrap)?;
                cleared
                    .execute(params![
                        key.model.as_str(),
                        key.task_hash,
                        item.doc_id as i64
                    ])
                    .map_err(wrap)?;
            }
        }
        tx.commit().map_err(wrap)
    }

    /// Records that document `doc_id` under `key` could not be computed (its requests
    /// failed for good) and why; replaces an earlier failure of the same document.
    pub fn record_failure(
        &self,
        key: &ItemKey,
        doc_id: usize,
        error: &str,
    ) -> Result<(), StoreError> {
        self.sql(|c| {
            c.execute(
                "INSERT INTO failures (model_fingerprint, task_hash, doc_id, error, failed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(model_fingerprint, task_hash, doc_id)
                 DO UPDATE SET error = excluded.error, failed_at = excluded.failed_at",
                params![
                    key.model.as_str(),
                    key.task_hash,
                    doc_id as i64,
                    error,
                    now()
                ],
            )
            .map(drop)
        })
    }

    /// The documents under `key` whose requests failed and that no later run scored,
    /// with the error, in document order.
    pub fn failures(&self, key: &ItemKey) -> Result<Vec<(usize, String)>, StoreError> {
        self.sql(|c| {
            let mut stmt = c.prepare(
                "SELECT doc_id, error FROM failures
                 WHERE model_fingerprint = ?1 AND task_hash = ?2 ORDER BY doc_id",
            )?;
            let rows = stmt.query_map(params![key.model.as_str(), key.task_hash], |r| {
                Ok((r.get::<_, i64>(0)? as usize, r.get(1)?))
            })?;
            rows.collect()
        })
    }

    /// The items under `key` with `doc_id < limit` (all when `None`), in document order.
    pub fn load_items(
        &self,
        key: &ItemKey,
        limit: Option<usize>,
    ) -> Result<Vec<StoredItem>, StoreError> {
        let limit = limit.map_or(i64::MAX, |l| l as i64);
        let rows: Vec<(i64, String)> = self.sql(|c| {
            let mut stmt = c.prepare(
                "SELECT doc_id, record FROM items
                 WHERE model_fingerprint = ?1 AND task_hash = ?2 AND doc_id < ?3 ORDER BY doc_id",
            )?;
            let rows = stmt.query_map(params![key.model.as_str(), key.task_hash, limit], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            rows.collect()
        })?;
        rows.into_iter()
            .map(|(doc_id, record)| Ok(StoredItem::new(doc_id as usize, self.parse(&record)?)))
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
        let path = self.path.clone();
        let wrap = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(wrap)?;
        {
            let mut stmt = tx
                .prepare(
                    "INSERT OR REPLACE INTO contamination
                     (task, dataset_hash, doc_id, corpus, ngram, matches, scanned_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(wrap)?;
            let scanned = now();
            for row in rows {
                stmt.execute(params![
                    row.task,
                    row.dataset_hash,
                    row.doc_id as i64,
                    corpus,
                    ngram as i64,
                    row.matches as i64,
                    scanned
                ])
                .map_err(wrap)?;
            }
        }
        tx.commit().map_err(wrap)
    }

    /// The documents of a task (its data as `dataset_hash` identifies it) that any
    /// recorded scan found in a corpus.
    pub fn contaminated_doc_ids(
        &self,
        task: &str,
        dataset_hash: &str,
    ) -> Result<BTreeSet<usize>, StoreError> {
        self.sql(|c| {
            let mut stmt = c.prepare(
                "SELECT DISTINCT doc_id FROM contamination
                 WHERE task = ?1 AND dataset_hash = ?2 AND matches > 0",
            )?;
            let rows = stmt.query_map(params![task, dataset_hash], |r| r.get::<_, i64>(0))?;
            rows.map(|r| r.map(|id| id as usize)).collect()
        })
    }

    /// Whether any scan of the task's data was recorded (so an empty contaminated set
    /// means clean, not unscanned).
    pub fn contamination_scanned(
        &self,
        task: &str,
        dataset_hash: &str,
    ) -> Result<bool, StoreError> {
        self.sql(|c| {
            c.query_row(
                "SELECT EXISTS(SELECT 1 FROM contamination WHERE task = ?1 AND dataset_hash = ?2)",
                params![task, dataset_hash],
                |r| r.get(0),
            )
        })
    }

    /// Copies everything another results database holds into this one (models, tasks,
    /// runs, items, contamination findings, failures no item has since replaced),
    /// keeping what this one already has: the stores of sharded workers combine into
    /// one. Returns how many items were added. The source is migrated to this
    /// binary's schema first if it is older.
    pub fn merge_from(&mut self, source: &Path) -> Result<usize, StoreError> {
        if !source.is_file() {
            return Err(StoreError::Missing {
                path: source.to_owned(),
            });
        }
        drop(Store::open(source)?);
        let path = self.path.clone();
        let wrap = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let source_text = source.to_string_lossy().into_owned();
        self.conn
            .execute("ATTACH DATABASE ?1 AS source", params![source_text])
            .map_err(wrap)?;
        let merged = (|| {
            let tx = self.conn.transaction()?;
            for table in ["models", "tasks", "runs", "run_tasks", "contamination"] {
                tx.execute(
                    &format!("INSERT OR IGNORE INTO main.{table} SELECT * FROM source.{table}"),
                    [],
                )?;
            }
            let added = tx.execute(
                "INSERT OR IGNORE INTO main.items SELECT * FROM source.items",
                [],
            )?;
            tx.execute(
                "INSERT OR IGNORE INTO main.failures SELECT * FROM source.failures",
                [],
            )?;
            tx.execute(
                "DELETE FROM main.failures WHERE EXISTS (SELECT 1 FROM main.items i
                 WHERE i.model_fingerprint = failures.model_fingerprint
                   AND i.task_hash = failures.task_hash AND i.doc_id = failures.doc_id)",
                [],
            )?;
            tx.commit()?;
            Ok(added)
        })();
        let detached = self.conn.execute("DETACH DATABASE source", []);
        let added = merged.map_err(wrap)?;
        detached.map_err(wrap)?;
        Ok(added)
    }

    /// How many item rows the database holds in all (for checks that nothing duplicates).
    pub fn item_count(&self) -> Result<usize, StoreError> {
        self.sql(|c| c.query_row("SELECT COUNT(*) FROM items", [], |r| r.get::<_, i64>(0)))
            .map(|n| n as usize)
    }

    fn parse(&self, text: &str) -> Result<serde_json::Value, StoreError> {
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
            path: self.path.clone(),
            message: e.to_string(),
        })
    }
}
