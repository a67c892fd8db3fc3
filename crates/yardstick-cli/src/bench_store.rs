//! `yardstick bench store`: items written per second into the results store by 1, 4
//! and 16 concurrent writers, each doing what a `--shard I/N` worker does — its own
//! connection, the resume query, then one transaction per chunk of items — with a
//! stub scorer that makes each item at once, so that the store is the bottleneck.
//! PostgreSQL (a throwaway cluster with the server's default durability, or `--db`)
//! is measured beside a SQLite file on the same disk in the same run.

use crate::args::OutputFormat;
use anyhow::{Context, Result};
use clap::Args;
use serde_json::{json, Value};
use std::time::Instant;
use yardstick_core::ModelFingerprint;
use yardstick_store::{Durability, ItemKey, Store, StoreLocation, StoredItem, ThrowawayCluster};

/// `yardstick bench store`.
#[derive(Debug, Args)]
pub struct BenchStoreArgs {
    /// A PostgreSQL database to measure (default: a throwaway cluster started from
    /// Debian's postgresql package, removed afterwards).
    #[arg(long, value_name = "URL")]
    pub db: Option<StoreLocation>,
    /// Concurrent writers to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    pub writers: Vec<usize>,
    /// Items written per measurement, split evenly between the writers.
    #[arg(long, default_value_t = 16384)]
    pub items: usize,
    /// Items per transaction (`yardstick run --chunk-docs`).
    #[arg(long, default_value_t = 64)]
    pub chunk_docs: usize,
    /// Print as a table or as JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// One measurement.
struct Measurement {
    store: String,
    writers: usize,
    items: usize,
    seconds: f64,
}

impl Measurement {
    fn items_per_second(&self) -> f64 {
        self.items as f64 / self.seconds.max(f64::EPSILON)
    }
}

pub fn run(args: BenchStoreArgs) -> Result<()> {
    anyhow::ensure!(
        args.chunk_docs > 0 && args.writers.iter().all(|w| *w > 0),
        "--chunk-docs and every --writers value must be at least 1"
    );
    let cluster;
    let (postgres, postgres_label) = match &args.db {
        Some(location @ StoreLocation::Postgres(_)) => (location.clone(), location.to_string()),
        Some(StoreLocation::File(path)) => anyhow::bail!(
            "--db {}: give a PostgreSQL URL (postgres://...); the SQLite peer is measured anyway",
            path.display()
        ),
        None => {
            cluster = ThrowawayCluster::start(Durability::Default)
                .context("cannot start a throwaway PostgreSQL server for the benchmark")?;
            (
                cluster.create_database("bench")?,
                "PostgreSQL (throwaway cluster, default durability)".to_owned(),
            )
        }
    };
    let scratch = tempfile::tempdir().context("cannot make a temporary folder")?;
    let sqlite: StoreLocation = scratch.path().join("bench.db").into();
    // Migrate once, before any clock starts.
    drop(Store::open(&postgres)?);
    drop(Store::open(&sqlite)?);
    let stamp = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let mut results = Vec::new();
    for &writers in &args.writers {
        for (label, location) in [
            (&postgres_label, &postgres),
            (&"SQLite file".to_owned(), &sqlite),
        ] {
            // A task hash of its own per measurement: every item is new.
            let key = ItemKey::new(
                ModelFingerprint::from_raw("bench-store"),
                format!("bench-{stamp}-{writers}-{}", results.len()),
            );
            let seconds = measure(location, &key, writers, args.items, args.chunk_docs)?;
            let stored = Store::open_read_only(location)?.count_items(&key, None)?;
            anyhow::ensure!(
                stored == args.items,
                "{label}: {stored} items stored, {} written",
                args.items
            );
            results.push(Measurement {
                store: label.clone(),
                writers,
                items: args.items,
                seconds,
            });
        }
    }
    print_results(&args, &results)
}

/// Seconds for `writers` threads, each with its own connection, to write their share
/// (`doc_id % writers`) of `items` items under `key`, `chunk` items per transaction.
fn measure(
    location: &StoreLocation,
    key: &ItemKey,
    writers: usize,
    items: usize,
    chunk: usize,
) -> Result<f64> {
    let started = Instant::now();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..writers)
            .map(|writer| {
                scope.spawn(move || -> Result<()> {
                    let mut store = Store::open(location)?;
                    let stored = store.stored_doc_ids(key)?;
                    let mine: Vec<usize> = (0..items)
                        .filter(|doc| doc % writers == writer && !stored.contains(doc))
                        .collect();
                    for docs in mine.chunks(chunk) {
                        let scored: Vec<StoredItem> =
                            docs.iter().map(|&doc| stub_item(doc)).collect();
                        store.insert_items(key, &scored)?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().map_err(|_| anyhow::anyhow!("a writer panicked"))?)
    })?;
    Ok(started.elapsed().as_secs_f64())
}

/// What the stub scorer returns: a record the size and shape of a multiple-choice
/// item's (about 1.3 kB of JSON).
fn stub_item(doc_id: usize) -> StoredItem {
    let choices = [
        "a flat, dry plain",
        "a deep ocean trench",
        "a mountain ridge",
        "a river delta",
    ];
    StoredItem::new(
        doc_id,
        json!({
            "doc_id": doc_id,
            "doc": {
                "id": format!("Mercury_{doc_id}"),
                "question": "Which landform is most likely to form where a fast river meets the sea and drops its sediment over many years?",
                "choices": {"text": choices, "label": ["A", "B", "C", "D"]},
                "answerKey": "D",
            },
            "target": 3,
            "arguments": choices.iter().map(|c| json!({
                "arg_0": "Question: Which landform is most likely to form where a fast river meets the sea?\nAnswer:",
                "arg_1": format!(" {c}"),
            })).collect::<Vec<Value>>(),
            "resps": [[[-7.25, false]], [[-9.5, false]], [[-8.0, false]], [[-5.75, true]]],
            "filtered_resps": [[-7.25, false], [-9.5, false], [-8.0, false], [-5.75, true]],
            "acc": 1.0,
            "acc_norm": 1.0,
        }),
    )
}

fn print_results(args: &BenchStoreArgs, results: &[Measurement]) -> Result<()> {
    match args.output {
        OutputFormat::Json => {
            let rows: Vec<Value> = results
                .iter()
                .map(|m| {
                    json!({
                        "store": m.store,
                        "writers": m.writers,
                        "items": m.items,
                        "seconds": m.seconds,
                        "items_per_second": m.items_per_second(),
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "chunk_docs": args.chunk_docs,
                    "cores": std::thread::available_parallelism().map_or(1, usize::from),
                    "results": rows,
                }))?
            );
        }
        OutputFormat::Table => {
            let rows: Vec<Vec<String>> = results
                .iter()
                .map(|m| {
                    vec![
                        m.store.clone(),
                        m.writers.to_string(),
                        m.items.to_string(),
                        format!("{:.2}", m.seconds),
                        format!("{:.0}", m.items_per_second()),
                    ]
                })
                .collect();
            print!(
                "{}",
                yardstick_report::markdown_table(
                    &["store", "writers", "items", "seconds", "items/s"],
                    &rows
                )
            );
            println!(
                "{} items per transaction; a stub scorer makes each item at once",
                args.chunk_docs
            );
        }
    }
    Ok(())
}
