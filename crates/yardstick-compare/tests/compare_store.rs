//! Comparisons over a real results database written through the store's own API, with
//! constructed per-item outcomes whose verdicts are known.

use serde_json::json;
use std::path::{Path, PathBuf};
use yardstick_compare::{
    compare, CatchUpStatus, CompareOptions, Comparison, Domain, ModelKind, PublishedScores,
    TestKind,
};
use yardstick_core::ModelFingerprint;
use yardstick_store::{ItemKey, Store, StoredItem, TaskRecord};

/// A task's name, item count and per-item score.
type TaskOutcomes<'a> = (&'a str, usize, &'a dyn Fn(usize) -> f64);

/// A run of `model` whose task `task` (in `group`, if any) got item `i` right where
/// `right(i)` holds, for `n` items.
fn store_run(
    store: &mut Store,
    model: &str,
    tasks: &[TaskOutcomes],
    group: Option<(&str, &[&str])>,
) {
    let fingerprint = ModelFingerprint::from_raw(format!("sha256:{model}"));
    store.upsert_model(&fingerprint, model, "test").unwrap();
    let mut entries = Vec::new();
    let mut hashes = Vec::new();
    for (task, n, score) in tasks {
        let hash = format!("hash-{task}");
        store
            .upsert_task(&TaskRecord {
                config_hash: hash.clone(),
                name: task.to_string(),
                num_fewshot: 0,
                config: "{}".into(),
                dataset_hash: format!("data-{task}"),
            })
            .unwrap();
        let items: Vec<StoredItem> = (0..*n)
            .map(|i| StoredItem::new(i, json!({"doc_id": i, "metrics": ["acc"], "acc": score(i)})))
            .collect();
        store
            .insert_items(&ItemKey::new(fingerprint.clone(), hash.clone()), &items)
            .unwrap();
        entries.push(json!({"task": task, "config_hash": hash, "num_fewshot": 0}));
        hashes.push(hash);
    }
    let groups: Vec<_> = group
        .map(|(name, members)| json!({"group": name, "tasks": members}))
        .into_iter()
        .collect();
    let manifest = json!({
        "model": {"name": model, "source": format!("gguf:{model}.gguf"), "fingerprint": fingerprint},
        "tasks": entries,
        "groups": groups,
    });
    store
        .begin_run(&format!("run-{model}"), &fingerprint, &hashes, &manifest)
        .unwrap();
}

fn published() -> PublishedScores {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("published.csv");
    std::fs::write(
        &path,
        "model,benchmark,metric,value,num_fewshot,method,source\n\
         paper-model,arc_easy,acc,50.0,25,letter in prompt,A paper\n",
    )
    .unwrap();
    PublishedScores::load(&[path]).unwrap()
}

/// reference: 60/100 right on arc_easy; strong: 85 (ahead); twin: the reference's
/// outcomes but two items flipped (on par); weak: 30 (behind). mmlu is a group of two
/// subjects, scored as one benchmark.
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("yardstick.db");
    let mut store = Store::open(&path).unwrap();
    let below = |k: usize| move |i: usize| if i < k { 1.0 } else { 0.0 };
    let subjects: &[&str] = &["mmlu_anatomy", "mmlu_astronomy"];
    let reference = below(60);
    let twin = |i: usize| {
        if i == 0 {
            0.0
        } else if i == 70 {
            1.0
        } else {
            below(60)(i)
        }
    };
    for (model, arc) in [
        ("reference-model", &reference as &dyn Fn(usize) -> f64),
        ("strong-model", &below(85)),
        ("twin-model", &twin),
        ("weak-model", &below(30)),
    ] {
        store_run(
            &mut store,
            model,
            &[
                ("arc_easy", 100, arc),
                ("mmlu_anatomy", 10, &below(5)),
                ("mmlu_astronomy", 20, &below(10)),
            ],
            Some(("mmlu", subjects)),
        );
    }
    drop(store);
    (dir, path)
}

/// Every stored model against `reference`, read back from the database at `path`.
fn compare_to(path: &Path, reference: &str) -> Comparison {
    let store = Store::open_read_only(path).unwrap();
    compare(&store, &published(), &CompareOptions::new(reference)).unwrap()
}

fn column(comparison: &Comparison, label: &str) -> usize {
    comparison
        .columns
        .iter()
        .position(|c| c.label == label)
        .unwrap_or_else(|| panic!("no column {label}"))
}

fn row<'a>(comparison: &'a Comparison, model: &str) -> &'a yardstick_compare::Row {
    comparison
        .rows
        .iter()
        .find(|r| r.model.name == model)
        .unwrap()
}

#[test]
fn verdicts_follow_paired_mcnemar_tests() {
    let (_dir, path) = fixture();
    let comparison = compare_to(&path, "reference");
    assert_eq!(comparison.reference.name, "reference-model");
    assert_eq!(comparison.rows[0].model.name, "reference-model");
    let arc = column(&comparison, "arc_easy");
    assert_eq!(comparison.columns[arc].domain, Domain::General);
    assert_eq!(comparison.columns[arc].best, vec!["strong-model"]);

    let verdict = |model: &str| {
        let cell = row(&comparison, model).cells[arc].as_ref().unwrap();
        let delta = cell.delta.as_ref().unwrap();
        assert_eq!(delta.test, TestKind::McNemar);
        assert_eq!(delta.paired_items, Some(100));
        (
            cell.value,
            delta.difference,
            delta.verdict.to_string(),
            delta.p_value,
        )
    };
    let (value, difference, strong, _) = verdict("strong-model");
    assert_eq!((value, strong.as_str()), (0.85, "ahead"));
    assert!((difference - 0.25).abs() < 1e-12);
    let (_, difference, twin, p) = verdict("twin-model");
    assert_eq!((difference, twin.as_str()), (0.0, "on par"));
    assert_eq!(p, 1.0, "one discordant item each way");
    let (_, _, weak, p) = verdict("weak-model");
    assert_eq!(weak, "behind");
    // 30 discordant items, all the reference's: 2 / 2^30.
    assert!((p - 2.0 / 2f64.powi(30)).abs() < 1e-15);
    let reference_cell = comparison.rows[0].cells[arc].as_ref().unwrap();
    assert!(reference_cell.delta.is_none());
    assert!(
        (reference_cell.stderr.unwrap() - (0.24f64 * 100.0 / 99.0 / 100.0).sqrt()).abs() < 1e-12
    );
}

#[test]
fn a_group_is_one_benchmark_over_all_its_items() {
    let (_dir, path) = fixture();
    let comparison = compare_to(&path, "reference-model");
    let labels: Vec<&str> = comparison
        .columns
        .iter()
        .map(|c| c.label.as_str())
        .collect();
    assert_eq!(labels, ["arc_easy", "mmlu"]);
    let mmlu = comparison.rows[0].cells[1].as_ref().unwrap();
    assert_eq!(mmlu.items, Some(30));
    assert_eq!(mmlu.value, 0.5, "15 of 30 items, weighted by size");
}

#[test]
fn the_catch_up_map_names_the_best_model_at_or_above_the_reference() {
    let (_dir, path) = fixture();
    let store = Store::open_read_only(&path).unwrap();
    let mut options = CompareOptions::new("reference-model");
    options.models = vec!["weak".into()];
    let only_weak = compare(&store, &published(), &options).unwrap();
    let arc = &only_weak.catch_up[0];
    assert_eq!(arc.benchmark, "arc_easy");
    match &arc.status {
        CatchUpStatus::Gap {
            model,
            gap,
            low,
            high,
            ..
        } => {
            assert_eq!(model, "weak-model");
            assert!((gap - 0.3).abs() < 1e-12);
            // No discordant item favours the weak model: the gap sits at its interval's end.
            assert!(
                *low > 0.2 && low < gap && (gap - high).abs() < 1e-9,
                "{low} {gap} {high}"
            );
        }
        other => panic!("expected a gap, got {other:?}"),
    }
    let everyone = compare(
        &store,
        &published(),
        &CompareOptions::new("reference-model"),
    )
    .unwrap();
    match &everyone.catch_up[0].status {
        CatchUpStatus::Matched { model, verdict, .. } => {
            assert_eq!(
                (model.as_str(), verdict.to_string().as_str()),
                ("strong-model", "ahead")
            );
        }
        other => panic!("expected a match, got {other:?}"),
    }
    // mmlu: every model scored the same items the same way: on par.
    assert!(matches!(
        &everyone.catch_up[1].status,
        CatchUpStatus::Matched { .. }
    ));
}

#[test]
fn a_published_reference_is_unpaired_and_shows_its_settings() {
    let (_dir, path) = fixture();
    let comparison = compare_to(&path, "paper-model");
    assert_eq!(comparison.reference.kind, ModelKind::Published);
    let arc = column(&comparison, "arc_easy");
    assert_eq!(
        comparison.columns[arc].metric, "acc",
        "the metric the paper reports"
    );
    let reference = comparison.rows[0].cells[arc].as_ref().unwrap();
    assert_eq!((reference.value, reference.num_fewshot), (0.5, Some(25)));
    let strong = row(&comparison, "strong-model").cells[arc]
        .as_ref()
        .unwrap();
    let delta = strong.delta.as_ref().unwrap();
    assert_eq!(delta.test, TestKind::Unpaired);
    assert!((delta.difference - 0.35).abs() < 1e-12);
    assert_eq!(delta.verdict.to_string(), "ahead");
    assert!(delta.settings.contains(&"shots 0 vs 25".to_owned()));
    assert!(delta
        .settings
        .contains(&"published method: letter in prompt".to_owned()));
    // The paper reports no mmlu: the reference row is empty there, no deltas.
    let mmlu = column(&comparison, "mmlu");
    assert!(comparison.rows[0].cells[mmlu].is_none());
    assert!(row(&comparison, "strong-model").cells[mmlu]
        .as_ref()
        .unwrap()
        .delta
        .is_none());
}

#[test]
fn profiles_cover_the_survey_domains() {
    let (_dir, path) = fixture();
    let comparison = compare_to(&path, "reference-model");
    let profile = &comparison.profiles[0];
    assert_eq!(profile.domains.len(), 7);
    assert_eq!(profile.domains[0].domain, Domain::General);
    assert_eq!(profile.domains[0].score, Some((0.6 + 0.5) / 2.0));
    assert!(profile.domains[1..].iter().all(|d| d.score.is_none()));
    let json = serde_json::to_value(&comparison).unwrap();
    assert_eq!(json["rows"][1]["cells"][0]["delta"]["verdict"], "ahead");
    assert_eq!(json["catch_up"][0]["status"], "matched");
}

#[test]
fn unknown_and_ambiguous_models_are_clear_errors() {
    let (_dir, path) = fixture();
    let store = Store::open_read_only(&path).unwrap();
    let unknown = compare(&store, &published(), &CompareOptions::new("gpt-5")).unwrap_err();
    let message = unknown.to_string();
    assert!(message.contains("no model matches `gpt-5`"), "{message}");
    assert!(message.contains("reference-model") && message.contains("paper-model"));
    let ambiguous = compare(&store, &published(), &CompareOptions::new("model")).unwrap_err();
    assert!(
        ambiguous.to_string().contains("matches several models"),
        "{ambiguous}"
    );
    let missing = Store::open_read_only(path.with_file_name("nope.db"))
        .err()
        .unwrap();
    assert!(missing.to_string().contains("does not exist"), "{missing}");
}
