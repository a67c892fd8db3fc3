//! The store on both back ends — a real SQLite file and a real PostgreSQL server (a
//! throwaway cluster made with Debian's initdb) — with the same checks: migrations,
//! resume keys, no duplicates, failures, contamination, shards and merges.

use serde_json::json;
use yardstick_core::ModelFingerprint;
use yardstick_store::{
    Durability, ItemKey, Store, StoreError, StoreLocation, StoredItem, TaskRecord, ThrowawayCluster,
};

fn key() -> ItemKey {
    ItemKey::new(ModelFingerprint::from_file_sha256("00ff"), "taskhash")
}

/// Where a test's databases live: files in a temporary folder, or databases on a
/// throwaway PostgreSQL server.
enum Databases {
    Sqlite(tempfile::TempDir),
    Postgres(ThrowawayCluster),
}

impl Databases {
    fn sqlite() -> Self {
        Databases::Sqlite(tempfile::tempdir().unwrap())
    }

    fn postgres() -> Self {
        Databases::Postgres(
            ThrowawayCluster::start(Durability::Off)
                .expect("a throwaway PostgreSQL server (run scripts/setup.sh to install it)"),
        )
    }

    /// A new, empty database called `name`.
    fn create(&self, name: &str) -> StoreLocation {
        match self {
            Databases::Sqlite(dir) => dir.path().join(format!("{name}.db")).into(),
            Databases::Postgres(cluster) => cluster.create_database(name).unwrap(),
        }
    }

    /// A database that was never created.
    fn missing(&self) -> StoreLocation {
        match self {
            Databases::Sqlite(dir) => dir.path().join("nope.db").into(),
            Databases::Postgres(cluster) => cluster.location("nope"),
        }
    }
}

/// Each check, once on SQLite and once on PostgreSQL.
macro_rules! on_both_back_ends {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $check() {
                super::$check(&super::Databases::sqlite());
            })*
        }
        mod postgres {
            $(#[test]
            fn $check() {
                super::$check(&super::Databases::postgres());
            })*
        }
    };
}

on_both_back_ends!(
    items_survive_reopen_and_are_never_duplicated,
    database_is_at_current_schema,
    newer_schema_is_refused_with_a_clear_message,
    runs_are_resumed_not_duplicated,
    contamination_rows_replace_earlier_scans,
    failures_are_kept_apart_and_cleared_when_the_document_is_scored,
    sharded_stores_merge_without_duplicates,
    large_merge_adds_only_the_missing_items,
    shards_are_recorded_and_found_from_any_shard,
    readers_never_create_or_write,
    concurrent_writers_store_each_item_once,
);

fn items_survive_reopen_and_are_never_duplicated(dbs: &Databases) {
    let path = dbs.create("results");
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

fn database_is_at_current_schema(dbs: &Databases) {
    let path = dbs.create("r");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), 4);
    drop(store);
    assert_eq!(Store::open(&path).unwrap().schema_version().unwrap(), 4);
}

#[test]
fn sqlite_database_is_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    drop(Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

/// Sets the schema version of the database at `location` as a newer yardstick would.
fn pretend_newer_schema(location: &StoreLocation, version: i64) {
    match location {
        StoreLocation::File(path) => rusqlite::Connection::open(path)
            .unwrap()
            .pragma_update(None, "user_version", version)
            .unwrap(),
        StoreLocation::Postgres(_) => {
            let url = postgres_url(location);
            let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
            client
                .execute("UPDATE yardstick_schema SET version = $1", &[&version])
                .unwrap();
        }
    }
}

fn newer_schema_is_refused_with_a_clear_message(dbs: &Databases) {
    let path = dbs.create("r");
    Store::open(&path).unwrap();
    pretend_newer_schema(&path, 99);
    for opened in [Store::open(&path), Store::open_read_only(&path)] {
        match opened {
            Err(error @ StoreError::TooNew { found: 99, .. }) => {
                assert!(error.to_string().contains("upgrade yardstick"), "{error}");
            }
            other => panic!("expected TooNew, got {:?}", other.map(|_| ())),
        }
    }
}

fn runs_are_resumed_not_duplicated(dbs: &Databases) {
    let store = Store::open(dbs.create("r")).unwrap();
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

/// A version-1 SQLite database (made before contamination scans were stored) is
/// upgraded in place, its items kept.
#[test]
fn sqlite_version_one_database_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    {
        let mut store = Store::open(&path).unwrap();
        store
            .insert_items(&key(), &[StoredItem::new(0, json!({"acc": 1.0}))])
            .unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TABLE contamination; DROP TABLE failures; DROP TABLE run_shards;
         PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), 4);
    assert_eq!(store.item_count().unwrap(), 1);
    assert!(!store.contamination_scanned("arc_easy", "d1").unwrap());
}

/// Contamination rows replace earlier ones for the same scan.
fn contamination_rows_replace_earlier_scans(dbs: &Databases) {
    let mut store = Store::open(dbs.create("r")).unwrap();
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

fn failures_are_kept_apart_and_cleared_when_the_document_is_scored(dbs: &Databases) {
    let mut store = Store::open(dbs.create("r")).unwrap();
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

fn sharded_stores_merge_without_duplicates(dbs: &Databases) {
    let mut shards = Vec::new();
    for shard in 0..3usize {
        let path = dbs.create(&format!("shard{shard}"));
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
    let mut merged = Store::open(dbs.create("merged")).unwrap();
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
    let missing = merged.merge_from(dbs.missing()).unwrap_err();
    assert!(
        matches!(
            missing,
            StoreError::Missing { .. } | StoreError::Connect { .. }
        ),
        "{missing}"
    );
}

/// Enough items for several pages of the copy and several statements per page, half of
/// them already in the target with other values, which must be kept.
fn large_merge_adds_only_the_missing_items(dbs: &Databases) {
    const DOCS: usize = 4_500;
    let source_location = dbs.create("large-source");
    let mut source = Store::open(&source_location).unwrap();
    let all: Vec<StoredItem> = (0..DOCS)
        .map(|d| StoredItem::new(d, json!({"acc": 1.0, "doc": d})))
        .collect();
    source.insert_items(&key(), &all).unwrap();
    let mut target = Store::open(dbs.create("large-target")).unwrap();
    let even: Vec<StoredItem> = (0..DOCS)
        .step_by(2)
        .map(|d| StoredItem::new(d, json!({"acc": 0.0, "doc": d})))
        .collect();
    target.insert_items(&key(), &even).unwrap();

    assert_eq!(target.merge_from(&source_location).unwrap(), DOCS / 2);
    assert_eq!(target.item_count().unwrap(), DOCS);
    let items = target.load_items(&key(), None).unwrap();
    assert_eq!(
        items.iter().map(|i| i.doc_id).collect::<Vec<_>>(),
        (0..DOCS).collect::<Vec<_>>()
    );
    for item in &items {
        let expected = if item.doc_id % 2 == 0 { 0.0 } else { 1.0 };
        assert_eq!(item.record["acc"], json!(expected), "doc {}", item.doc_id);
        assert_eq!(item.record["doc"], json!(item.doc_id));
    }
}

fn shards_are_recorded_and_found_from_any_shard(dbs: &Databases) {
    let store = Store::open(dbs.create("r")).unwrap();
    store.begin_shard("whole", 0, 3, "s0").unwrap();
    store.begin_shard("whole", 2, 3, "s2").unwrap();
    store.finish_shard("whole", 2, 3).unwrap();
    // A restarted worker finds its row again; its start time stays the first one.
    let first = store.shards("whole").unwrap();
    store.begin_shard("whole", 0, 3, "s0").unwrap();
    let shards = store.shards("s2").unwrap();
    assert_eq!(shards, first);
    assert_eq!(
        shards
            .iter()
            .map(|s| (
                s.index,
                s.count,
                s.shard_run_id.as_str(),
                s.finished_at.is_some()
            ))
            .collect::<Vec<_>>(),
        vec![(0, 3, "s0", false), (2, 3, "s2", true)]
    );
    assert!(store.shards("other").unwrap().is_empty());
}

fn readers_never_create_or_write(dbs: &Databases) {
    let missing = dbs.missing();
    match Store::open_read_only(&missing) {
        Err(StoreError::Missing { .. } | StoreError::Connect { .. }) => {}
        other => panic!("expected a missing database, got {:?}", other.map(|_| ())),
    }
    let path = dbs.create("r");
    if let StoreLocation::Postgres(_) = path {
        // An empty PostgreSQL database holds no yardstick schema: nothing to read.
        match Store::open_read_only(&path) {
            Err(error @ StoreError::Missing { .. }) => {
                assert!(error.to_string().contains("yardstick run"), "{error}")
            }
            other => panic!("expected Missing, got {:?}", other.map(|_| ())),
        }
    }
    Store::open(&path)
        .unwrap()
        .insert_items(&key(), &[StoredItem::new(0, json!({"acc": 1.0}))])
        .unwrap();
    let mut reader = Store::open_read_only(&path).unwrap();
    assert_eq!(reader.load_items(&key(), None).unwrap().len(), 1);
    assert!(
        reader
            .insert_items(&key(), &[StoredItem::new(1, json!({"acc": 1.0}))])
            .is_err(),
        "a reader cannot write"
    );
}

/// Eight writers at once, each writing overlapping halves of the same 200 items in
/// batches: every item is stored exactly once.
fn concurrent_writers_store_each_item_once(dbs: &Databases) {
    let path = dbs.create("r");
    drop(Store::open(&path).unwrap());
    std::thread::scope(|scope| {
        for writer in 0..8usize {
            let path = path.clone();
            scope.spawn(move || {
                let mut store = Store::open(&path).unwrap();
                let docs: Vec<usize> = (0..200).filter(|d| (d + writer) % 2 == 0).collect();
                for batch in docs.chunks(10) {
                    let items: Vec<StoredItem> = batch
                        .iter()
                        .map(|&d| StoredItem::new(d, json!({"acc": 1.0, "writer": writer})))
                        .collect();
                    store.insert_items(&key(), &items).unwrap();
                }
            });
        }
    });
    let store = Store::open_read_only(&path).unwrap();
    assert_eq!(store.item_count().unwrap(), 200);
    assert_eq!(store.stored_doc_ids(&key()).unwrap().len(), 200);
}

/// The URL of a PostgreSQL location, password included (for the checks that change a
/// database behind the store's back).
fn postgres_url(location: &StoreLocation) -> String {
    match location {
        StoreLocation::Postgres(url) => url.secret_text().to_owned(),
        StoreLocation::File(_) => unreachable!("a PostgreSQL location"),
    }
}

/// Makes a certificate authority and a server certificate it signs for `names` (a
/// subjectAltName list), with Debian's openssl; returns (CA file, certificate, key).
fn certificates(dir: &std::path::Path, ca: &str, names: &str) -> [std::path::PathBuf; 3] {
    let openssl = |args: &[&str]| {
        let output = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl (run scripts/setup.sh to install it)");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let (ca_key, ca_pem) = (format!("{ca}.key"), format!("{ca}.pem"));
    openssl(
        &[
            &["req", "-x509"],
            &ec[..],
            &[
                "-keyout",
                &ca_key,
                "-out",
                &ca_pem,
                "-days",
                "2",
                "-subj",
                &format!("/CN={ca}"),
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"],
            &ec[..],
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=server",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("ext"),
        format!("subjectAltName={names}\nbasicConstraints=CA:FALSE\n"),
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        &ca_pem,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "ext",
    ]);
    [
        dir.join(ca_pem),
        dir.join("server.crt"),
        dir.join("server.key"),
    ]
}

/// TLS with libpq's sslmode meanings against a server offering it: `require` encrypts,
/// `verify-ca` checks the chain, `verify-full` the chain and the host name, and a
/// wrong root or name is refused.
#[test]
fn postgres_tls_verifies_as_sslmode_says() {
    let dir = tempfile::tempdir().unwrap();
    let [ca, certificate, key] = certificates(dir.path(), "trusted-ca", "DNS:db.example");
    let other_dir = tempfile::tempdir().unwrap();
    let [other_ca, ..] = certificates(other_dir.path(), "other-ca", "DNS:db.example");
    let cluster = ThrowawayCluster::start_with_tls(Durability::Off, &certificate, &key)
        .expect("a throwaway PostgreSQL server with TLS");
    cluster.create_database("tls").unwrap();
    let url = cluster.url_with_password("tls");
    let open =
        |query: String| Store::open(format!("{url}?{query}").parse::<StoreLocation>().unwrap());
    let sessions = |log: &str| {
        log.matches("connection authorized: user=yardstick database=tls")
            .count()
    };
    let encrypted = |log: &str| {
        log.lines()
            .filter(|l| l.contains("database=tls") && l.contains("SSL enabled"))
            .count()
    };

    open("sslmode=require".into()).unwrap();
    let log = cluster.server_log();
    assert_eq!((sessions(&log), encrypted(&log)), (1, 1), "{log}");
    open("sslmode=disable".into()).unwrap();
    let log = cluster.server_log();
    assert_eq!((sessions(&log), encrypted(&log)), (2, 1), "{log}");

    let root =
        |mode: &str, ca: &std::path::Path| format!("sslmode={mode}&sslrootcert={}", ca.display());
    open(root("verify-ca", &ca)).expect("the chain leads to the trusted CA");
    let wrong_name = open(root("verify-full", &ca))
        .err()
        .expect("127.0.0.1 is not db.example");
    assert!(
        matches!(wrong_name, StoreError::Connect { .. })
            && wrong_name.to_string().contains("not valid for name"),
        "{wrong_name}"
    );
    let wrong_root = open(root("verify-ca", &other_ca))
        .err()
        .expect("another CA");
    assert!(
        wrong_root.to_string().contains("cannot connect")
            && wrong_root.to_string().contains("UnknownIssuer"),
        "{wrong_root}"
    );
    let missing = open("sslmode=verify-full&sslrootcert=/nonexistent/ca.pem".into())
        .err()
        .unwrap();
    assert!(
        missing.to_string().contains("/nonexistent/ca.pem"),
        "{missing}"
    );
    assert_eq!(
        encrypted(&cluster.server_log()),
        2,
        "only the verified connection got through"
    );
}
