//! The published-score registry on the shared data's file and on user files.

use std::path::PathBuf;
use yardstick_compare::{PublishedError, PublishedScores};

fn shared_published() -> PathBuf {
    let dir = std::env::var_os("YARDSTICK_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        })
        .join("published");
    assert!(
        dir.join("published_results.csv").exists(),
        "no published scores at {}; set YARDSTICK_DATA_DIR",
        dir.display()
    );
    dir
}

#[test]
fn gpt4_report_and_mt_bench_scores_load_with_their_settings() {
    let registry = PublishedScores::load(&[shared_published()]).unwrap();
    assert_eq!(registry.scores().len(), 16);
    assert_eq!(registry.models(), ["gpt-4-0314", "gpt-3.5-turbo"]);
    let mmlu = registry.find("gpt-3.5-turbo", "mmlu");
    assert_eq!(mmlu.len(), 1);
    assert_eq!(mmlu[0].num_fewshot, Some(5));
    assert!((mmlu[0].value_on_run_scale() - 0.70).abs() < 1e-12);
    assert!(mmlu[0].source.contains("2303.08774"));
    let humaneval = &registry.find("gpt-4-0314", "humaneval")[0];
    assert_eq!(humaneval.metric, "pass@1");
    assert!((humaneval.value_on_run_scale() - 0.67).abs() < 1e-12);
    let mt_bench = &registry.find("gpt-4-0314", "mt_bench")[0];
    assert_eq!(
        mt_bench.value_on_run_scale(),
        8.99,
        "MT-Bench keeps its 1-10 scale"
    );
}

#[test]
fn user_rows_add_to_the_registry_and_bad_rows_name_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let header = "model,benchmark,metric,value,num_fewshot,method,source\n";
    std::fs::write(
        dir.path().join("mine.csv"),
        format!("{header}llama-2-7b,arc_easy,acc,75.2,,log-likelihood,model card\n"),
    )
    .unwrap();
    let registry = PublishedScores::load(&[shared_published(), dir.path().to_owned()]).unwrap();
    let mine = &registry.find("llama-2-7b", "arc_easy")[0];
    assert_eq!(mine.num_fewshot, None);
    assert_eq!(registry.scores().len(), 17);

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, format!("{header}m,arc_easy,acc,high,0,x,y\n")).unwrap();
    match PublishedScores::load(&[bad]) {
        Err(PublishedError::Row { line, message, .. }) => {
            assert_eq!(line, 2);
            assert!(message.contains("column 4"), "{message}");
        }
        other => panic!("expected a row error, got {other:?}"),
    }
}

/// AlpacaEval's leaderboard files: every model's win rate (and length-controlled win rate
/// where the file has it) with its standard error and annotator.
#[test]
fn alpaca_eval_leaderboards_load() {
    let leaderboards = shared_published()
        .parent()
        .unwrap()
        .join("alpaca_eval/leaderboards");
    let mut registry = PublishedScores::default();
    registry
        .add_alpaca_eval_leaderboards(&leaderboards)
        .unwrap();
    let gpt4 = registry.find("gpt4_1106_preview", "alpaca_eval");
    let win = gpt4
        .iter()
        .find(|s| s.metric == "win_rate" && s.method == "annotator alpaca_eval_gpt4")
        .expect("gpt4_1106_preview on the alpaca_eval_gpt4 leaderboard");
    assert!((win.value - 97.69900497512438).abs() < 1e-9);
    assert!((win.stderr.unwrap() - 0.5104849118311993).abs() < 1e-12);
    let lc = gpt4
        .iter()
        .find(|s| {
            s.metric == "length_controlled_win_rate" && s.method == "annotator alpaca_eval_gpt4"
        })
        .unwrap();
    assert!((lc.value - 89.85849210429464).abs() < 1e-9);
    let v2 = registry.find("Yi-34B-Chat", "alpaca_eval_2");
    assert!(v2
        .iter()
        .any(|s| s.metric == "win_rate" && (s.value - 34.84472049689441).abs() < 1e-9));
    assert!(registry.scores().len() > 100, "{}", registry.scores().len());
    assert!(registry.scores().iter().all(|s| !s.model.is_empty()));
}
