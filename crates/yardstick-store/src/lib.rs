//! The results store: every run, model, task and scored item, in one SQLite file.
//!
//! The file is opened in WAL mode and each batch of items is written in one
//! transaction, so a run killed at any moment leaves only whole batches behind. Items
//! are keyed by (model fingerprint, task hash, document id): a rerun with the same
//! arguments finds what is already scored and computes only the rest, and an item is
//! never stored twice.
//!
//! Documents whose requests failed for good (an API that never answered) are kept apart
//! ([`Store::record_failure`]) and cleared when a rerun scores them. Readers open the
//! file read-only ([`Store::open_read_only`]); sharded workers' files combine with
//! [`Store::merge_from`].
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

mod schema;
mod store;

pub use store::{ContaminationRow, ItemKey, RunRecord, Store, StoreError, StoredItem, TaskRecord};
