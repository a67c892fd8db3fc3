//! The schema and its migrations, applied in order on first use.

/// Each entry upgrades the schema by one version.
pub(crate) const MIGRATIONS: &[&str] = &[
    // Version 1: runs, models, tasks, scored items.
    "CREATE TABLE models (
        fingerprint TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        source      TEXT NOT NULL
     );
     CREATE TABLE tasks (
        config_hash  TEXT PRIMARY KEY,
        name         TEXT NOT NULL,
        num_fewshot  INTEGER NOT NULL,
        config       TEXT NOT NULL,
        dataset_hash TEXT NOT NULL
     );
     CREATE TABLE runs (
        run_id            TEXT PRIMARY KEY,
        model_fingerprint TEXT NOT NULL REFERENCES models(fingerprint),
        started_at        INTEGER NOT NULL,
        finished_at       INTEGER,
        manifest          TEXT NOT NULL
     );
     CREATE TABLE run_tasks (
        run_id      TEXT NOT NULL REFERENCES runs(run_id),
        config_hash TEXT NOT NULL REFERENCES tasks(config_hash),
        PRIMARY KEY (run_id, config_hash)
     );
     CREATE TABLE items (
        model_fingerprint TEXT NOT NULL,
        task_hash         TEXT NOT NULL,
        doc_id            INTEGER NOT NULL,
        record            TEXT NOT NULL,
        created_at        INTEGER NOT NULL,
        PRIMARY KEY (model_fingerprint, task_hash, doc_id)
     );",
    // Version 2: contamination scans, one row per scanned item and scan.
    "CREATE TABLE contamination (
        task         TEXT NOT NULL,
        dataset_hash TEXT NOT NULL,
        doc_id       INTEGER NOT NULL,
        corpus       TEXT NOT NULL,
        ngram        INTEGER NOT NULL,
        matches      INTEGER NOT NULL,
        scanned_at   INTEGER NOT NULL,
        PRIMARY KEY (task, dataset_hash, doc_id, corpus, ngram)
     );",
    // Version 3: documents whose requests failed for good (an API that never answered):
    // kept apart from scored items, removed when the document is scored on a rerun.
    "CREATE TABLE failures (
        model_fingerprint TEXT NOT NULL,
        task_hash         TEXT NOT NULL,
        doc_id            INTEGER NOT NULL,
        error             TEXT NOT NULL,
        failed_at         INTEGER NOT NULL,
        PRIMARY KEY (model_fingerprint, task_hash, doc_id)
     );",
];
