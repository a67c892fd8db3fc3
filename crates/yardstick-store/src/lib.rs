//! The results store: every run, model, task and scored item, in one SQLite file (the
//! embedded default) or one PostgreSQL database shared by many workers.
//!
//! Both back ends hold the same schema, migrated on first use, and answer the same
//! queries ([`Store`] has one code path for both). Each batch of items is written in
//! one transaction, so a run killed at any moment leaves only whole batches behind.
//! Items are keyed by (model fingerprint, task hash, document id): a rerun with the
//! same arguments finds what is already scored and computes only the rest, and an item
//! is never stored twice.
//!
//! Documents whose requests failed for good (an API that never answered) are kept apart
//! ([`Store::record_failure`]) and cleared when a rerun scores them. Readers open the
//! file read-only ([`Store::open_read_only`]); sharded workers' files combine with
//! [`Store::merge_from`]; with PostgreSQL ([`StoreLocation::Postgres`]) they write into
//! one database at once, each shard's progress recorded ([`Store::shards`]), over TLS
//! as libpq's `sslmode` says. A throwaway PostgreSQL server for tests and benchmarks
//! comes from [`ThrowawayCluster`].
//!
//! ```
//! use yardstick_core::ModelFingerprint;
//! use yardstick_store::{ItemKey, Store, StoredItem};
//!
//! let mut store = Store::open_in_memory()?;
//! let key = ItemKey::new(ModelFingerprint::from_raw("sha256:ab"), "task-hash");
//! store.insert_items(&key, &[StoredItem::new(0, serde_json::json!({"acc": 1.0}))])?;
//! assert_eq!(store.stored_doc_ids(&key)?.len(), 1);
//! # Ok::<(), yardstick_store::StoreError>(())
//! ```

mod cluster;
mod db;
mod location;
mod schema;
mod store;
mod tls;

pub use cluster::{ClusterError, Durability, ThrowawayCluster};
pub use db::DbError;
pub use location::{PostgresUrl, StoreLocation};
pub use store::{
    ContaminationRow, ItemKey, RunRecord, ShardRecord, Store, StoreError, StoredItem, TaskRecord,
};
pub use tls::TlsError;
