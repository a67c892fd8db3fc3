//! Issue 9's suites end to end on the demo model with small budgets: BFCL, needle in a
//! haystack, HaluEval, AdvBench and structured output each run, are stored, and are
//! compared under their survey domains.

use serde_json::Value;
use std::path::{Path, PathBuf};

mod common;
use common::*;

fn task_file(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, format!("task: {name}\n{body}")).unwrap();
    path
}

#[test]
fn every_suite_runs_is_stored_and_compared_under_its_domain() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let tasks = [
        task_file(dir.path(), "bfcl_parallel", "kind: bfcl\ncategory: parallel\ndata: bfcl/BFCL_v4_parallel.json\nanswers: bfcl/possible_answer/BFCL_v4_parallel.json\nmax_new_tokens: 24\n"),
        task_file(dir.path(), "bfcl_irrelevance", "kind: bfcl\ncategory: irrelevance\ndata: bfcl/BFCL_v4_irrelevance.json\nmax_new_tokens: 24\n"),
        task_file(dir.path(), "niah", "kind: niah\ndata: alpaca_eval/results/gpt4_1106_preview/model_outputs.json\nhaystack: [alpaca_eval/results/gpt4_1106_preview/model_outputs.json]\ncontext_lengths: [1000]\ndepths: [0, 100]\nneedle: \"\\nThe best thing to do in San Francisco is eat a sandwich and sit in Dolores Park on a sunny day.\\n\"\nquestion: What is the best thing to do in San Francisco?\nanswer_contains: sandwich\nmax_new_tokens: 24\n"),
        task_file(dir.path(), "halueval_general", "kind: halueval\ndata: halueval/general_data.json\nmax_new_tokens: 8\n"),
        task_file(dir.path(), "advbench", "kind: advbench\ndata: advbench/harmful_behaviors.csv\nmax_new_tokens: 24\n"),
        task_file(dir.path(), "structured_output", "kind: structured_output\ndata: builtin:structured_output.jsonl\nmax_new_tokens: 48\n"),
    ];
    let task_list = tasks
        .iter()
        .map(|t| t.display().to_string())
        .collect::<Vec<_>>()
        .join(",");
    let output = yardstick()
        .args([
            "run",
            "--model",
            &demo_model(),
            "--threads",
            "2",
            "--limit",
            "2",
            "--tasks",
            &task_list,
            "--output-dir",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    for (task, metric) in [
        ("bfcl_parallel", "acc"),
        ("bfcl_irrelevance", "acc"),
        ("niah", "retrieved"),
        ("halueval_general", "acc"),
        ("halueval_general", "f1"),
        ("advbench", "refusal"),
        ("structured_output", "schema_valid"),
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("| {task} ")) && l.contains(metric)),
            "{task} {metric}:\n{stdout}"
        );
    }
    let model_dir = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .find(|e| e.path().is_dir())
        .unwrap()
        .path();
    let heatmap = std::fs::read_to_string(model_dir.join("niah_heatmap.svg")).unwrap();
    assert!(heatmap.starts_with("<svg") && heatmap.contains("1000") && heatmap.contains("100%"));

    let output = yardstick()
        .args([
            "compare",
            "--reference",
            "SmolLM2",
            "--output",
            "json",
            "--db",
        ])
        .arg(out.join("yardstick.db"))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    let comparison: Value = serde_json::from_str(&stdout).unwrap();
    let text = comparison.to_string();
    for (benchmark, domain) in [
        ("bfcl_parallel", "agents & tools"),
        ("niah", "long context"),
        ("halueval_general", "trust"),
        ("advbench", "trust"),
        ("structured_output", "application"),
    ] {
        assert!(text.contains(benchmark), "{benchmark} missing: {text}");
        let column = comparison["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["benchmark"] == benchmark)
            .unwrap_or_else(|| panic!("no column {benchmark}: {}", comparison["columns"]));
        assert_eq!(column["domain"], domain, "{column}");
    }
}
