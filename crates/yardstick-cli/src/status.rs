//! `yardstick status RUN`: whether a run — every shard of a sharded run — has finished,
//! which shards are still missing, and how many items each task has stored.

use crate::args::{OutputFormat, DEFAULT_DB};
use anyhow::{Context, Result};
use clap::Args;
use serde_json::{json, Value};
use yardstick_core::ModelFingerprint;
use yardstick_store::{ItemKey, ShardRecord, Store, StoreLocation};

/// `yardstick status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The run's id: the whole run's (each shard prints it) or one shard's own.
    pub run: String,
    /// Results database: a SQLite file or a PostgreSQL URL.
    #[arg(long, value_name = "PATH|URL", default_value = DEFAULT_DB)]
    pub db: StoreLocation,
    /// Print a table or JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// Where one shard stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShardState {
    Finished,
    /// Started and not finished: still running, or killed and not yet restarted.
    Unfinished,
    /// Never started.
    Missing,
}

impl ShardState {
    fn label(self) -> &'static str {
        match self {
            ShardState::Finished => "finished",
            ShardState::Unfinished => "started, not finished",
            ShardState::Missing => "missing (never started)",
        }
    }
}

/// Prints the run's status.
pub fn run(args: StatusArgs) -> Result<()> {
    let store = Store::open_read_only(&args.db)?;
    let shards = store.shards(&args.run)?;
    let whole_id = shards
        .first()
        .map_or_else(|| args.run.clone(), |s| s.run_id.clone());
    let whole = store.run(&whole_id)?;
    // The manifest tells the tasks and the limit; a sharded run may exist only as
    // its shards.
    let described = match &whole {
        Some(run) => Some(run.clone()),
        None => match shards.first() {
            Some(shard) => store.run(&shard.shard_run_id)?,
            None => None,
        },
    }
    .with_context(|| {
        format!(
            "no run {} in {}; `yardstick run` prints each run's id",
            args.run, args.db
        )
    })?;

    let schemes = shard_schemes(&shards);
    let whole_finished = whole.as_ref().is_some_and(|r| r.finished_at.is_some());
    let complete = whole_finished
        || schemes
            .iter()
            .any(|(_, states)| states.iter().all(|s| *s == ShardState::Finished));
    let limit = described.manifest["limit"].as_u64().map(|l| l as usize);
    let mut tasks = Vec::new();
    for task in described.manifest["tasks"].as_array().into_iter().flatten() {
        let (Some(name), Some(hash)) = (task["task"].as_str(), task["config_hash"].as_str()) else {
            continue;
        };
        let key = ItemKey::new(ModelFingerprint::from_raw(described.model.as_str()), hash);
        tasks.push((name.to_owned(), store.count_items(&key, limit)?));
    }
    let model = described.manifest["model"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    match args.output {
        OutputFormat::Json => {
            let report = json!({
                "run_id": whole_id,
                "model": model,
                "complete": complete,
                "shards": schemes.iter().map(|(count, states)| json!({
                    "count": count,
                    "finished": indices(states, ShardState::Finished),
                    "unfinished": indices(states, ShardState::Unfinished),
                    "missing": indices(states, ShardState::Missing),
                })).collect::<Vec<Value>>(),
                "tasks": tasks.iter().map(|(task, items)| json!({"task": task, "items": items})).collect::<Vec<Value>>(),
            });
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        OutputFormat::Table => {
            println!("run {whole_id}  model {model}");
            for (count, states) in &schemes {
                println!("shards of {count}:");
                for (index, state) in states.iter().enumerate() {
                    println!("  {index}/{count}  {}", state.label());
                }
            }
            let rows: Vec<Vec<String>> = tasks
                .iter()
                .map(|(task, items)| vec![task.clone(), items.to_string()])
                .collect();
            print!(
                "{}",
                yardstick_report::markdown_table(&["task", "items stored"], &rows)
            );
            if complete {
                println!("complete");
            } else {
                match schemes.first() {
                    Some((count, states)) => {
                        let waiting: Vec<String> = states
                            .iter()
                            .enumerate()
                            .filter(|(_, s)| **s != ShardState::Finished)
                            .map(|(i, _)| i.to_string())
                            .collect();
                        println!(
                            "incomplete: shards {} of {count} have not finished; start (or \
                             restart) each with the same command and --shard I/{count}",
                            waiting.join(", ")
                        );
                    }
                    None => println!(
                        "incomplete: the run has not finished; rerun the same command to resume it"
                    ),
                }
            }
        }
    }
    Ok(())
}

/// For each shard count used, the state of shards 0..count.
fn shard_schemes(shards: &[ShardRecord]) -> Vec<(usize, Vec<ShardState>)> {
    let mut counts: Vec<usize> = shards.iter().map(|s| s.count).collect();
    counts.dedup();
    counts
        .into_iter()
        .map(|count| {
            let states = (0..count)
                .map(
                    |index| match shards.iter().find(|s| s.count == count && s.index == index) {
                        Some(s) if s.finished_at.is_some() => ShardState::Finished,
                        Some(_) => ShardState::Unfinished,
                        None => ShardState::Missing,
                    },
                )
                .collect();
            (count, states)
        })
        .collect()
}

fn indices(states: &[ShardState], wanted: ShardState) -> Vec<usize> {
    states
        .iter()
        .enumerate()
        .filter(|(_, s)| **s == wanted)
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(index: usize, count: usize, finished: bool) -> ShardRecord {
        ShardRecord {
            run_id: "whole".into(),
            index,
            count,
            shard_run_id: format!("s{index}"),
            started_at: 1,
            finished_at: finished.then_some(2),
        }
    }

    #[test]
    fn shards_never_started_are_missing() {
        let schemes = shard_schemes(&[shard(0, 4, true), shard(2, 4, false)]);
        assert_eq!(
            schemes,
            vec![(
                4,
                vec![
                    ShardState::Finished,
                    ShardState::Missing,
                    ShardState::Unfinished,
                    ShardState::Missing
                ]
            )]
        );
    }
}
