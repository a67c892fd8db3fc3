//! The store on a real SQLite file: migrations, resume keys, no duplicates.

use serde_json::json;
use yardstick_core::ModelFingerprint;
use yardstick_store::{ItemKey, Store, StoreError, StoredItem, TaskRecord};

fn key() -> ItemKey {
    ItemKey::new(ModelFingerprint::from_file_sha256("00ff"), "taskhash")
}

#[test]
fn items_survive_reopen_and_are_never_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.db");
    {
        let mut store = Store::open(&path).unwrap();
        store
            .insert_items(
                &key(),
                &[
                    StoredItem::new(0, json!({"acc": 1.0})),
                    StoredItem::new(1, json!({"acc": 0.0})),
                ],
            )
            .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    // The same items again, plus a new one: only the new one is added.
    store
        .insert_items(
            &key(),
            &[
                StoredItem::new(1, json!({"acc": 0.5})),
                StoredItem::new(2, json!({"acc": 1.0})),
            ],
        )
        .unwrap();
    assert_eq!(store.item_count().unwrap(), 3);
    let items = store.load_items(&key(), None).unwrap();
    assert_eq!(
        items.iter().map(|i| i.doc_id).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert_eq!(items[1].record, json!({"acc": 0.0}), "first write wins");
    assert_eq!(store.load_items(&key(), Some(2)).unwrap().len(), 2);
    let other = ItemKey::new(ModelFingerprint::from_file_sha256("00ff"), "other");
    assert!(store.stored_doc_ids(&other).unwrap().is_empty());
}

#[test]
fn database_is_in_wal_mode_at_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), 3);
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn newer_schema_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    Store::open(&path).unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    match Store::open(&path) {
        Err(StoreError::TooNew { found: 99, .. }) => {}
        other => panic!("expected TooNew, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn runs_are_resumed_not_duplicated() {
    let store = Store::open_in_memory().unwrap();
    let model = ModelFingerprint::from_file_sha256("00ff");
    store.upsert_model(&model, "m.gguf", "/m.gguf").unwrap();
    store
        .upsert_task(&TaskRecord {
            config_hash: "taskhash".into(),
            name: "arc_easy".into(),
            num_fewshot: 0,
            config: "{}".into(),
            dataset_hash: "d".into(),
        })
        .unwrap();
    let hashes = vec!["taskhash".to_owned()];
    store
        .begin_run("run1", &model, &hashes, &json!({"a": 1}))
        .unwrap();
    store
        .begin_run("run1", &model, &hashes, &json!({"a": 2}))
        .unwrap();
    assert_eq!(store.run_ids().unwrap(), vec!["run1"]);
    store.finish_run("run1").unwrap();
    let run = store.run("run1").unwrap().unwrap();
    assert!(run.finished_at.is_some());
    assert_eq!(run.manifest, json!({"a": 2}));
}

/// A version-1 database (made before contamination scans were stored) is upgraded in
/// place, its items kept; contamination rows replace earlier ones for the same scan.
#[test]
fn version_one_database_migrates_and_stores_contamination() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    {
        let mut store = Store::open(&path).unwrap();
        store
            .insert_items(&key(), &[StoredItem::new(0, json!({"acc": 1.0}))])
            .unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TABLE contamination; DROP TABLE failures; PRAGMA user_version = 1;")
        .unwrap();
    drop(conn);
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), 3);
    assert_eq!(store.item_count().unwrap(), 1);
    let row = |doc_id, matches| yardstick_store::ContaminationRow {
        task: "arc_easy".into(),
        dataset_hash: "d1".into(),
        doc_id,
        matches,
    };
    assert!(!store.contamination_scanned("arc_easy", "d1").unwrap());
    store
        .record_contamination("web/", 13, &[row(0, 0), row(1, 3), row(2, 1)])
        .unwrap();
    store
        .record_contamination("web/", 13, &[row(2, 0)])
        .unwrap();
    store
        .record_contamination("books/", 8, &[row(0, 2)])
        .unwrap();
    assert!(store.contamination_scanned("arc_easy", "d1").unwrap());
    let dirty: Vec<usize> = store
        .contaminated_doc_ids("arc_easy", "d1")
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        dirty,
        [0, 1],
        "doc 2 was rescanned clean; doc 0 is in books/"
    );
    assert!(store
        .contaminated_doc_ids("arc_easy", "other")
        .unwrap()
        .is_empty());
}

#[test]
fn failures_are_kept_apart_and_cleared_when_the_document_is_scored() {
    let mut store = Store::open_in_memory().unwrap();
    store.record_failure(&key(), 4, "HTTP 500").unwrap();
    store
        .record_failure(&key(), 4, "HTTP 503 (gave up after 7 attempts)")
        .unwrap();
    store.record_failure(&key(), 6, "timed out").unwrap();
    assert_eq!(
        store.failures(&key()).unwrap(),
        vec![
            (4, "HTTP 503 (gave up after 7 attempts)".to_owned()),
            (6, "timed out".to_owned())
        ]
    );
    assert!(
        store.stored_doc_ids(&key()).unwrap().is_empty(),
        "a failure is no item"
    );
    store
        .insert_items(&key(), &[StoredItem::new(4, json!({"acc": 1.0}))])
        .unwrap();
    assert_eq!(
        store.failures(&key()).unwrap(),
        vec![(6, "timed out".to_owned())]
    );
}

#[test]
fn sharded_stores_merge_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let mut shards = Vec::new();
    for shard in 0..3usize {
        let path = dir.path().join(format!("shard{shard}.db"));
        let mut store = Store::open(&path).unwrap();
        let items: Vec<StoredItem> = (0..9)
            .filter(|d| d % 3 == shard)
            .map(|d| StoredItem::new(d, json!({"acc": d as f64})))
            .collect();
        store.insert_items(&key(), &items).unwrap();
        if shard == 1 {
            // A failure another shard's store has since scored stays out.
            store.record_failure(&key(), 0, "HTTP 500").unwrap();
            store.record_failure(&key(), 7, "HTTP 500").unwrap();
        }
        shards.push(path);
    }
    let mut merged = Store::open(&dir.path().join("merged.db")).unwrap();
    let added: usize = shards.iter().map(|p| merged.merge_from(p).unwrap()).sum();
    assert_eq!(added, 9);
    assert_eq!(
        merged.merge_from(&shards[0]).unwrap(),
        0,
        "merging again adds nothing"
    );
    assert_eq!(merged.item_count().unwrap(), 9);
    let items = merged.load_items(&key(), None).unwrap();
    assert_eq!(
        items.iter().map(|i| i.doc_id).collect::<Vec<_>>(),
        (0..9).collect::<Vec<_>>()
    );
    assert!(
        merged.failures(&key()).unwrap().is_empty(),
        "documents 0 and 7 were scored"
    );
    let missing = merged.merge_from(&dir.path().join("nope.db")).unwrap_err();
    assert!(missing.to_string().contains("does not exist"));
}
