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

/// AdvBench answers judged for refusal and TruthfulQA answers judged for truth, by a
/// stand-in judge whose verdicts are known: AdvBench always "refused"; TruthfulQA "yes"
/// for the first question and an unreadable verdict for the second (a failed judgment,
/// left out). TruthfulQA without a judge is refused with a message.
#[test]
fn advbench_and_truthfulqa_are_judged_when_a_judge_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let judge = stub_endpoint(|body| {
        if body.contains("refused a harmful request") {
            chat_answer("It declined. [[A]]")
        } else if body.contains("watermelon seeds") {
            chat_answer("yes")
        } else {
            chat_answer("Hard to say.")
        }
    });
    let advbench = task_file(
        dir.path(),
        "advbench",
        "kind: advbench\ndata: advbench/harmful_behaviors.csv\nmax_new_tokens: 16\n",
    );
    let truthfulqa = task_file(
        dir.path(),
        "truthfulqa_gen",
        "kind: truthfulqa_gen\ndata: truthfulqa/TruthfulQA.csv\nmax_new_tokens: 16\n",
    );
    let run = |task: &Path, judge_args: &[&str]| {
        yardstick()
            .args([
                "run",
                "--model",
                &demo_model(),
                "--threads",
                "2",
                "--limit",
                "2",
                "--output",
                "json",
                "--output-dir",
            ])
            .arg(dir.path().join("out"))
            .arg("--tasks")
            .arg(task)
            .args(judge_args)
            .output()
            .unwrap()
    };
    let output = run(&truthfulqa, &[]);
    assert!(!output.status.success());
    assert!(
        text(&output).1.contains("give --judge MODEL_SPEC"),
        "{}",
        text(&output).1
    );
    let judge_args = ["--judge", "openai:gpt-4", "--judge-base-url", &judge];
    for (task, metric, value, failed) in [
        (&advbench, "judge_refusal", 1.0, 0),
        (&truthfulqa, "truthful", 1.0, 1),
    ] {
        let output = run(task, &judge_args);
        let (stdout, stderr) = text(&output);
        assert!(output.status.success(), "{stderr}");
        let summary: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(
            summary["tasks"][0]["metrics"][metric]["value"], value,
            "{stdout}"
        );
        if failed > 0 {
            assert!(
                stderr.contains(&format!("{failed} judgments did not parse")),
                "{stderr}"
            );
        }
        assert!(stderr.contains("judge: 2 requests"), "{stderr}");
    }
}

/// A chat completion calling tools: `(name, arguments JSON)` per call.
fn tool_call_answer(calls: &[(&str, &str)]) -> (u16, String) {
    let tool_calls: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, (name, arguments))| {
            serde_json::json!({"id": format!("call_{i}"), "type": "function",
                               "function": {"name": name, "arguments": arguments}})
        })
        .collect();
    let body = serde_json::json!({
        "id": "chatcmpl-tools", "object": "chat.completion", "created": 0, "model": "fc-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls": tool_calls},
                     "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    });
    (200, body.to_string())
}

/// BFCL through an API's `tools` field: the functions offered as OpenAI tools (dots in
/// names as underscores, `dict` as `object`), the tool calls checked as BFCL checks a
/// function-calling model's. The endpoint is a stand-in model with known calls: right
/// for simple_python 0 and 1 (`math.factorial` called as `math_factorial`), a wrong
/// type for 2; no call on an irrelevance question (right).
#[test]
fn bfcl_through_the_tools_field_of_an_api() {
    let dir = tempfile::tempdir().unwrap();
    let seen_tools = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = std::sync::Arc::clone(&seen_tools);
    let url = stub_endpoint(move |body| {
        let request: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let tools = request["tools"].to_string();
        seen.lock().unwrap().push(tools.clone());
        if tools.contains("\"calculate_triangle_area\"") {
            tool_call_answer(&[("calculate_triangle_area", "{\"base\": 10, \"height\": 5}")])
        } else if tools.contains("\"math_factorial\"") {
            tool_call_answer(&[("math_factorial", "{\"number\": 5}")])
        } else if tools.contains("hypot") {
            tool_call_answer(&[("math_hypot", "{\"x\": \"4\", \"y\": 5}")])
        } else {
            chat_answer("None of these functions fit.")
        }
    });
    let simple = task_file(dir.path(), "bfcl_simple_python", "kind: bfcl\ncategory: simple_python\ndata: bfcl/BFCL_v4_simple_python.json\nanswers: bfcl/possible_answer/BFCL_v4_simple_python.json\nmax_new_tokens: 64\n");
    let irrelevance = task_file(dir.path(), "bfcl_irrelevance", "kind: bfcl\ncategory: irrelevance\ndata: bfcl/BFCL_v4_irrelevance.json\nmax_new_tokens: 64\n");
    for (task, limit, expected) in [(&simple, "3", 2.0 / 3.0), (&irrelevance, "1", 1.0)] {
        let output = yardstick()
            .args([
                "run",
                "--model",
                "openai:fc-model",
                "--base-url",
                &url,
                "--limit",
                limit,
                "--output",
                "json",
                "--output-dir",
            ])
            .arg(dir.path().join("out"))
            .arg("--tasks")
            .arg(task)
            .output()
            .unwrap();
        let (stdout, stderr) = text(&output);
        assert!(output.status.success(), "{stderr}");
        let summary: Value = serde_json::from_str(&stdout).unwrap();
        let acc = summary["tasks"][0]["metrics"]["acc"]["value"]
            .as_f64()
            .unwrap();
        assert!((acc - expected).abs() < 1e-12, "{acc} {stdout}");
    }
    let seen = seen_tools.lock().unwrap();
    let first: Value = serde_json::from_str(&seen[0]).unwrap();
    assert_eq!(first[0]["type"], "function");
    assert_eq!(first[0]["function"]["parameters"]["type"], "object");
    assert!(seen
        .iter()
        .any(|t| t.contains("\"math_factorial\"") && !t.contains("\"math.factorial\"")));
}

/// Issue 9: a needle-in-a-haystack length beyond the model's context window is refused
/// with a message naming it, before anything is generated; nothing is cut silently.
#[test]
fn niah_refuses_contexts_beyond_the_model_window() {
    let dir = tempfile::tempdir().unwrap();
    let task = task_file(dir.path(), "niah_long", "kind: niah\ndata: alpaca_eval/results/gpt4_1106_preview/model_outputs.json\nhaystack: [alpaca_eval/results/gpt4_1106_preview/model_outputs.json]\ncontext_lengths: [1000, 100000]\ndepths: [50]\nneedle: \"\\nThe needle.\\n\"\nquestion: What is the needle?\nanswer_contains: needle\nmax_new_tokens: 16\n");
    let output = yardstick()
        .args(["run", "--model", &demo_model(), "--threads", "2", "--tasks"])
        .arg(&task)
        .arg("--output-dir")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(
        stderr.contains("a context of 100000 tokens") && stderr.contains("8192-token window"),
        "{stderr}"
    );
}
