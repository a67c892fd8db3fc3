//! Drift: two runs of the same tasks (an API model re-run with `--no-cache` a month
//! later, say) compared item by item.

use crate::stored::item_metrics;
use crate::CompareError;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use yardstick_metrics::McNemar;
use yardstick_store::{ItemKey, Store, StoredItem};

/// How one task's items changed between two runs.
#[derive(Debug, Clone, Serialize)]
pub struct TaskDrift {
    /// The task.
    pub task: String,
    /// Items both runs scored.
    pub items: usize,
    /// Items whose model output (text or log-likelihoods) differs.
    pub changed_outputs: usize,
    /// Ids of the first changed items (up to 20).
    pub changed_examples: Vec<usize>,
    /// Per right/wrong metric: items right only in A, only in B, and McNemar's p-value.
    pub metrics: Vec<MetricDrift>,
}

/// One right/wrong metric's changes.
#[derive(Debug, Clone, Serialize)]
pub struct MetricDrift {
    /// The metric.
    pub metric: String,
    /// Mean in run A.
    pub value_a: f64,
    /// Mean in run B.
    pub value_b: f64,
    /// Items right in A only.
    pub only_a: u64,
    /// Items right in B only.
    pub only_b: u64,
    /// McNemar's exact two-sided p-value.
    pub p_value: f64,
}

/// Two runs compared.
#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    /// Run A's id.
    pub run_a: String,
    /// Run B's id.
    pub run_b: String,
    /// The model ids and system fingerprints run A's API responses named.
    pub served_a: Vec<String>,
    /// The same for run B.
    pub served_b: Vec<String>,
    /// Per task both ran with the same configuration.
    pub tasks: Vec<TaskDrift>,
}

struct RunTasks {
    model: yardstick_core::ModelFingerprint,
    tasks: BTreeMap<String, String>,
}

fn run_tasks(store: &Store, run_id: &str) -> Result<RunTasks, CompareError> {
    let run = store.run(run_id)?.ok_or_else(|| CompareError::Manifest {
        run_id: run_id.to_owned(),
        message: "no such run in the database (`yardstick run` prints run ids)".into(),
    })?;
    let tasks = run
        .manifest
        .get("tasks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Some((
                t.get("task")?.as_str()?.to_owned(),
                t.get("config_hash")?.as_str()?.to_owned(),
            ))
        })
        .collect();
    Ok(RunTasks {
        model: run.model,
        tasks,
    })
}

/// The model's output in a record: generated texts, or the scored log-likelihoods.
fn output(item: &StoredItem) -> Value {
    let record = &item.record;
    if record.get("filters").is_some() {
        record.get("resps").cloned().unwrap_or(Value::Null)
    } else {
        record.get("filtered_resps").cloned().unwrap_or(Value::Null)
    }
}

/// `model (system_fingerprint)` for every API answer in the items.
fn served(items: &[StoredItem], into: &mut BTreeSet<String>) {
    for call in items
        .iter()
        .filter_map(|i| i.record.get("api").and_then(Value::as_array))
        .flatten()
    {
        let model = call.get("model").and_then(Value::as_str).unwrap_or("?");
        let fingerprint = call
            .get("system_fingerprint")
            .and_then(Value::as_str)
            .unwrap_or("no fingerprint");
        into.insert(format!("{model} ({fingerprint})"));
    }
}

/// Compares runs `run_a` and `run_b` of `store` on the tasks both ran with the same
/// configuration.
pub fn drift(store: &Store, run_a: &str, run_b: &str) -> Result<DriftReport, CompareError> {
    let (a, b) = (run_tasks(store, run_a)?, run_tasks(store, run_b)?);
    let mut tasks = Vec::new();
    let (mut served_a, mut served_b) = (BTreeSet::new(), BTreeSet::new());
    for (task, hash) in &a.tasks {
        if b.tasks.get(task) != Some(hash) {
            continue;
        }
        let items_a = store.load_items(&ItemKey::new(a.model.clone(), hash.clone()), None)?;
        let items_b = store.load_items(&ItemKey::new(b.model.clone(), hash.clone()), None)?;
        served(&items_a, &mut served_a);
        served(&items_b, &mut served_b);
        let by_doc: BTreeMap<usize, &StoredItem> = items_b.iter().map(|i| (i.doc_id, i)).collect();
        let pairs: Vec<(&StoredItem, &StoredItem)> = items_a
            .iter()
            .filter_map(|x| by_doc.get(&x.doc_id).map(|y| (x, *y)))
            .collect();
        let changed: Vec<usize> = pairs
            .iter()
            .filter(|(x, y)| output(x) != output(y))
            .map(|(x, _)| x.doc_id)
            .collect();
        let mut columns: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for (x, y) in &pairs {
            let ys = item_metrics(y);
            for (name, value) in item_metrics(x) {
                if let Some((_, other)) = ys.iter().find(|(n, _)| *n == name) {
                    columns.entry(name).or_default().push((value, *other));
                }
            }
        }
        let metrics = columns
            .into_iter()
            .filter_map(|(metric, values)| {
                // Only right/wrong metrics: McNemar needs them.
                let test = McNemar::from_paired_scores(&values)?;
                let n = values.len() as f64;
                Some(MetricDrift {
                    metric,
                    value_a: values.iter().map(|(x, _)| x).sum::<f64>() / n,
                    value_b: values.iter().map(|(_, y)| y).sum::<f64>() / n,
                    only_a: test.only_a,
                    only_b: test.only_b,
                    p_value: test.p_value,
                })
            })
            .collect();
        tasks.push(TaskDrift {
            task: task.clone(),
            items: pairs.len(),
            changed_outputs: changed.len(),
            changed_examples: changed.into_iter().take(20).collect(),
            metrics,
        });
    }
    Ok(DriftReport {
        run_a: run_a.to_owned(),
        run_b: run_b.to_owned(),
        served_a: served_a.into_iter().collect(),
        served_b: served_b.into_iter().collect(),
        tasks,
    })
}
