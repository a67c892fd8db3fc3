//! Every pairwise judgment a results database holds, for ratings.

use crate::JudgedError;
use serde_json::Value;
use std::collections::BTreeSet;
use yardstick_metrics::Winner;
use yardstick_store::{ItemKey, Store};

/// One stored pairwise judgment between two named models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBattle {
    /// The task it comes from (`mt_bench_pairwise`, `alpaca_eval`).
    pub task: String,
    /// The first model (the candidate).
    pub model_a: String,
    /// The second model (the baseline, or the reference outputs' model).
    pub model_b: String,
    /// Who won.
    pub winner: Winner,
}

/// The `battles` of every item of every judged run in `store`, each stored item read
/// once however many runs name it.
pub fn stored_battles(store: &Store) -> Result<Vec<StoredBattle>, JudgedError> {
    let mut seen = BTreeSet::new();
    let mut battles = Vec::new();
    for run_id in store.run_ids()? {
        let Some(run) = store.run(&run_id)? else {
            continue;
        };
        if run.manifest.get("judged").is_none() {
            continue;
        }
        for task in run
            .manifest
            .get("tasks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(name), Some(hash)) = (
                task.get("task").and_then(Value::as_str),
                task.get("config_hash").and_then(Value::as_str),
            ) else {
                continue;
            };
            if !seen.insert((run.model.as_str().to_owned(), hash.to_owned())) {
                continue;
            }
            let key = ItemKey::new(run.model.clone(), hash);
            for item in store.load_items(&key, None)? {
                for battle in item
                    .record
                    .get("battles")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let text = |field: &str| battle.get(field).and_then(Value::as_str);
                    let winner = match text("winner") {
                        Some("model_a") => Winner::A,
                        Some("model_b") => Winner::B,
                        Some("tie") => Winner::Tie,
                        _ => continue,
                    };
                    if let (Some(a), Some(b)) = (text("model_a"), text("model_b")) {
                        battles.push(StoredBattle {
                            task: name.to_owned(),
                            model_a: a.to_owned(),
                            model_b: b.to_owned(),
                            winner,
                        });
                    }
                }
            }
        }
    }
    Ok(battles)
}
