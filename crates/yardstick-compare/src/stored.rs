//! What the results database holds, read back as per-item scores per model and
//! benchmark.

use crate::CompareError;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use yardstick_core::ModelFingerprint;
use yardstick_store::{ItemKey, Store, StoredItem};

/// One scored document of a benchmark: a group's items come from several tasks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ItemId {
    /// The task it belongs to.
    pub task: String,
    /// Its index in the task's evaluation split.
    pub doc_id: usize,
}

/// Where a benchmark's items are stored: one task configuration of one model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskSource {
    /// The task's name.
    pub task: String,
    /// The task configuration's hash (the store's key).
    pub config_hash: String,
}

/// A model's per-item scores on one benchmark (a task, or a group of tasks scored as
/// one).
#[derive(Debug, Clone)]
pub struct StoredBenchmark {
    /// The task or group name.
    pub name: String,
    /// Few-shot examples per prompt.
    pub num_fewshot: usize,
    /// The task configurations its items come from.
    pub sources: Vec<TaskSource>,
    /// Every metric's value per item, metrics in the order the records list them.
    pub items: BTreeMap<ItemId, Vec<(String, f64)>>,
}

impl StoredBenchmark {
    /// The metrics its items carry, in record order.
    pub fn metric_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for metrics in self.items.values() {
            for (name, _) in metrics {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
        names
    }

    /// One metric's value per item (items without it are left out).
    pub fn values(&self, metric: &str) -> BTreeMap<&ItemId, f64> {
        self.items
            .iter()
            .filter_map(|(id, metrics)| {
                metrics
                    .iter()
                    .find(|(name, _)| name == metric)
                    .map(|(_, value)| (id, *value))
            })
            .collect()
    }
}

/// A model's stored results: the latest configuration of every task it ran, groups
/// gathered into one benchmark each.
#[derive(Debug, Clone)]
pub struct StoredModel {
    /// The model's name as its runs recorded it (unique among the models read).
    pub name: String,
    /// Its fingerprint (file sha256 or API model id).
    pub fingerprint: ModelFingerprint,
    /// How it was named on the command line.
    pub source: String,
    /// Its benchmarks, by name and few-shot count.
    pub benchmarks: Vec<StoredBenchmark>,
}

impl StoredModel {
    /// The benchmark `name` with `num_fewshot` shots, if the model ran it.
    pub fn benchmark(&self, name: &str, num_fewshot: usize) -> Option<&StoredBenchmark> {
        self.benchmarks
            .iter()
            .find(|b| b.name == name && b.num_fewshot == num_fewshot)
    }
}

/// A model's runs as their manifests describe them.
struct ModelRuns {
    name: String,
    fingerprint: ModelFingerprint,
    source: String,
    /// (task, shots) → config hash; later runs replace earlier ones.
    tasks: BTreeMap<(String, usize), String>,
    /// Group → its tasks, from the latest run that asked for it.
    groups: BTreeMap<String, Vec<String>>,
}

/// Reads every model's results from `store`, oldest runs first so that the latest
/// configuration of a task wins.
pub fn load_models(store: &Store) -> Result<Vec<StoredModel>, CompareError> {
    let mut runs: Vec<ModelRuns> = Vec::new();
    for run_id in store.run_ids()? {
        let Some(run) = store.run(&run_id)? else {
            continue;
        };
        let manifest = &run.manifest;
        let index = match runs.iter().position(|m| m.fingerprint == run.model) {
            Some(index) => index,
            None => {
                runs.push(ModelRuns {
                    name: String::new(),
                    fingerprint: run.model.clone(),
                    source: String::new(),
                    tasks: BTreeMap::new(),
                    groups: BTreeMap::new(),
                });
                runs.len() - 1
            }
        };
        let entry = &mut runs[index];
        let text = |pointer: &str| manifest.pointer(pointer).and_then(Value::as_str);
        entry.name = text("/model/name").unwrap_or(run.model.as_str()).to_owned();
        entry.source = text("/model/source").unwrap_or_default().to_owned();
        for task in manifest
            .get("tasks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = task.get("task").and_then(Value::as_str);
            let hash = task.get("config_hash").and_then(Value::as_str);
            let shots = task.get("num_fewshot").and_then(Value::as_u64);
            let (Some(name), Some(hash), Some(shots)) = (name, hash, shots) else {
                return Err(CompareError::Manifest {
                    run_id: run_id.clone(),
                    message: format!("a task entry lacks task, config_hash or num_fewshot: {task}"),
                });
            };
            entry
                .tasks
                .insert((name.to_owned(), shots as usize), hash.to_owned());
        }
        for group in manifest
            .get("groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = group.get("group").and_then(Value::as_str);
            let tasks: Option<Vec<String>> =
                group.get("tasks").and_then(Value::as_array).map(|t| {
                    t.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                });
            if let (Some(name), Some(tasks)) = (name, tasks) {
                entry.groups.insert(name.to_owned(), tasks);
            }
        }
    }
    disambiguate_names(&mut runs);
    runs.into_iter()
        .map(|runs| read_model(store, runs))
        .collect()
}

/// Two models stored under one name (the same file re-quantised, say) get their
/// fingerprint's first characters appended.
fn disambiguate_names(runs: &mut [ModelRuns]) {
    let names: Vec<String> = runs.iter().map(|r| r.name.clone()).collect();
    for run in runs.iter_mut() {
        if names.iter().filter(|n| **n == run.name).count() > 1 {
            let short: String = run.fingerprint.as_str().chars().take(8).collect();
            run.name = format!("{}@{short}", run.name);
        }
    }
}

fn read_model(store: &Store, runs: ModelRuns) -> Result<StoredModel, CompareError> {
    let mut benchmarks: Vec<StoredBenchmark> = Vec::new();
    let mut grouped: Vec<(String, usize)> = Vec::new();
    for (group, members) in &runs.groups {
        // A group is one benchmark per few-shot setting its tasks ran with.
        let mut by_shots: BTreeMap<usize, Vec<TaskSource>> = BTreeMap::new();
        for ((task, shots), hash) in &runs.tasks {
            if members.contains(task) {
                by_shots.entry(*shots).or_default().push(TaskSource {
                    task: task.clone(),
                    config_hash: hash.clone(),
                });
                grouped.push((task.clone(), *shots));
            }
        }
        for (shots, sources) in by_shots {
            benchmarks.push(read_benchmark(
                store,
                &runs.fingerprint,
                group,
                shots,
                sources,
            )?);
        }
    }
    for ((task, shots), hash) in &runs.tasks {
        if grouped.contains(&(task.clone(), *shots)) {
            continue;
        }
        let source = TaskSource {
            task: task.clone(),
            config_hash: hash.clone(),
        };
        benchmarks.push(read_benchmark(
            store,
            &runs.fingerprint,
            task,
            *shots,
            vec![source],
        )?);
    }
    benchmarks.retain(|b| !b.items.is_empty());
    Ok(StoredModel {
        name: runs.name,
        fingerprint: runs.fingerprint,
        source: runs.source,
        benchmarks,
    })
}

fn read_benchmark(
    store: &Store,
    model: &ModelFingerprint,
    name: &str,
    num_fewshot: usize,
    sources: Vec<TaskSource>,
) -> Result<StoredBenchmark, CompareError> {
    let mut items = BTreeMap::new();
    for source in &sources {
        let key = ItemKey::new(model.clone(), source.config_hash.clone());
        for item in store.load_items(&key, None)? {
            items.insert(
                ItemId {
                    task: source.task.clone(),
                    doc_id: item.doc_id,
                },
                item_metrics(&item),
            );
        }
    }
    Ok(StoredBenchmark {
        name: name.to_owned(),
        num_fewshot,
        sources,
        items,
    })
}

/// The metric values a stored record carries: a multiple-choice record names them in
/// `metrics`; a generation record keeps each filter's under `filters`, named
/// `metric,filter` as lm-eval's results do.
pub fn item_metrics(item: &StoredItem) -> Vec<(String, f64)> {
    let record = &item.record;
    if let Some(filters) = record.get("filters").and_then(Value::as_object) {
        let mut out = Vec::new();
        for (filter, entry) in filters {
            for (name, value) in entry.as_object().into_iter().flatten() {
                if let Some(value) = value.as_f64() {
                    out.push((format!("{name},{filter}"), value));
                }
            }
        }
        return out;
    }
    record
        .get("metrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|name| {
            record
                .get(name)
                .and_then(Value::as_f64)
                .map(|v| (name.to_owned(), v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn multiple_choice_records_name_their_metrics() {
        let item = StoredItem::new(
            3,
            json!({"metrics": ["acc", "acc_norm"], "acc": 1.0, "acc_norm": 0.0, "doc_id": 3}),
        );
        assert_eq!(
            item_metrics(&item),
            vec![("acc".to_owned(), 1.0), ("acc_norm".to_owned(), 0.0)]
        );
    }

    #[test]
    fn generation_records_carry_metrics_per_filter() {
        let item = StoredItem::new(
            0,
            json!({"filters": {
                "strict-match": {"filtered_resps": ["4"], "exact_match": 1.0},
                "flexible-extract": {"filtered_resps": ["4"], "exact_match": 0.0, "executions": []}
            }}),
        );
        assert_eq!(
            item_metrics(&item),
            vec![
                ("exact_match,strict-match".to_owned(), 1.0),
                ("exact_match,flexible-extract".to_owned(), 0.0)
            ]
        );
    }
}
