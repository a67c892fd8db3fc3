//! The schema and its migrations, applied in order on first use: the same text for
//! SQLite and PostgreSQL (integers are `BIGINT`, which SQLite reads as `INTEGER`).

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
        num_fewshot  BIGINT NOT NULL,
        config       TEXT NOT NULL,
        dataset_hash TEXT NOT NULL
     );
     CREATE TABLE runs (
        run_id            TEXT PRIMARY KEY,
        model_fingerprint TEXT NOT NULL REFERENCES models(fingerprint),
        started_at        BIGINT NOT NULL,
        finished_at       BIGINT,
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
        doc_id            BIGINT NOT NULL,
        record            TEXT NOT NULL,
        created_at        BIGINT NOT NULL,
        PRIMARY KEY (model_fingerprint, task_hash, doc_id)
     );",
    // Version 2: contamination scans, one row per scanned item and scan.
    "CREATE TABLE contamination (
        task         TEXT NOT NULL,
        dataset_hash TEXT NOT NULL,
        doc_id       BIGINT NOT NULL,
        corpus       TEXT NOT NULL,
        ngram        BIGINT NOT NULL,
        matches      BIGINT NOT NULL,
        scanned_at   BIGINT NOT NULL,
        PRIMARY KEY (task, dataset_hash, doc_id, corpus, ngram)
     );",
    // Version 3: documents whose requests failed for good (an API that never answered):
    // kept apart from scored items, removed when the document is scored on a rerun.
    "CREATE TABLE failures (
        model_fingerprint TEXT NOT NULL,
        task_hash         TEXT NOT NULL,
        doc_id            BIGINT NOT NULL,
        error             TEXT NOT NULL,
        failed_at         BIGINT NOT NULL,
        PRIMARY KEY (model_fingerprint, task_hash, doc_id)
     );",
    // Version 4: the shards of a sharded run, one row per worker's shard, so that the
    // run is known complete when every shard has finished.
    "CREATE TABLE run_shards (
        run_id       TEXT NOT NULL,
        shard_count  BIGINT NOT NULL,
        shard_index  BIGINT NOT NULL,
        shard_run_id TEXT NOT NULL,
        started_at   BIGINT NOT NULL,
        finished_at  BIGINT,
        PRIMARY KEY (run_id, shard_count, shard_index)
     );",
];
