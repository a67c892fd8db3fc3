//! The `yardstick` binary end to end: help, errors, and a SIGKILLed run that resumes to
//! the same results.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use yardstick_models::{cached_model, GEMMA_MODEL};

mod common;
use common::*;

#[test]
fn every_subcommand_has_help() {
    // Walk the command tree from the top-level help's "Commands:" lists, so a new
    // subcommand is covered without being listed here.
    let mut pending: Vec<Vec<String>> = vec![Vec::new()];
    let mut seen = Vec::new();
    while let Some(path) = pending.pop() {
        let output = yardstick().args(&path).arg("--help").output().unwrap();
        let (stdout, _) = text(&output);
        assert!(output.status.success(), "{path:?}");
        assert!(stdout.contains("Usage:"), "{path:?}: {stdout}");
        let commands = stdout
            .split("Commands:")
            .nth(1)
            .map(|rest| rest.split("\n\n").next().unwrap_or(""))
            .unwrap_or("");
        for line in commands.lines() {
            let Some(name) = line.split_whitespace().next() else {
                continue;
            };
            if name != "help" {
                let mut child = path.clone();
                child.push(name.to_owned());
                pending.push(child);
            }
        }
        seen.push(path.join(" "));
    }
    for expected in [
        "run",
        "bench generate",
        "bench sandbox",
        "contam scan",
        "contam probe",
        "compare",
        "report",
        "ui",
        "ratings",
    ] {
        assert!(
            seen.iter().any(|s| s == expected),
            "{expected} not reached: {seen:?}"
        );
    }
}

#[test]
fn tasks_lists_builtin_tasks_as_json() {
    let output = yardstick()
        .args(["tasks", "--output", "json"])
        .output()
        .unwrap();
    let names: Vec<String> = serde_json::from_slice(&output.stdout).unwrap();
    assert!(names.contains(&"arc_easy".to_owned()) && names.contains(&"arc_challenge".to_owned()));
    for judged in [
        "mt_bench",
        "mt_bench_pairwise",
        "alpaca_eval",
        "alpaca_eval_2",
    ] {
        assert!(names.contains(&judged.to_owned()), "{judged} not listed");
    }
}

#[test]
fn unknown_task_fails_with_close_matches() {
    let output = yardstick()
        .args(["run", "--tasks", "arc_easey", "--model", &demo_model()])
        .output()
        .unwrap();
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(
        stderr.contains("unknown task `arc_easey`") && stderr.contains("arc_easy"),
        "{stderr}"
    );
}

#[test]
fn missing_data_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let output = yardstick()
        .args([
            "run",
            "--tasks",
            "arc_easy",
            "--model",
            &demo_model(),
            "--output-dir",
        ])
        .arg(dir.path())
        .env("YARDSTICK_DATA_DIR", dir.path().join("nowhere"))
        .output()
        .unwrap();
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(
        stderr.contains("nowhere/hf/allenai/ai2_arc/ARC-Easy/test.jsonl"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--data-dir") && stderr.contains("YARDSTICK_DATA_DIR"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("yardstick.db").exists(),
        "nothing is written before the data is found"
    );
}

#[test]
fn missing_or_corrupt_model_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = yardstick()
        .args([
            "run",
            "--tasks",
            "arc_easy",
            "--model",
            "gguf:/no/such/model.gguf",
            "--output-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(
        stderr.contains("model file not found: /no/such/model.gguf"),
        "{stderr}"
    );

    let corrupt = dir.path().join("corrupt.gguf");
    std::fs::write(&corrupt, b"GGUF\x03\x00\x00\x00garbage").unwrap();
    let output = yardstick()
        .args(["run", "--tasks", "arc_easy", "--output-dir"])
        .arg(dir.path())
        .arg("--model")
        .arg(format!("gguf:{}", corrupt.display()))
        .output()
        .unwrap();
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(
        stderr.contains("could not load") && stderr.contains("corrupt"),
        "{stderr}"
    );
    assert!(!dir.path().join("yardstick.db").exists());
}

fn run_args(out: &Path) -> Vec<String> {
    vec![
        "run".into(),
        "--model".into(),
        demo_model(),
        "--tasks".into(),
        "arc_easy".into(),
        "--limit".into(),
        "240".into(),
        "--chunk-docs".into(),
        "16".into(),
        "--output".into(),
        "json".into(),
        "--output-dir".into(),
        out.display().to_string(),
    ]
}

fn stored_items(db: &Path) -> i64 {
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return 0;
    };
    conn.query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))
        .unwrap_or(0)
}

fn samples_of(summary: &Value) -> Vec<Value> {
    samples_at(&summary["tasks"][0]["samples_path"])
}

/// Regression test for issue 2: a SIGKILLed run, restarted with the same arguments,
/// finishes without recomputing stored items or duplicating rows, and its results equal
/// an uninterrupted run's.
#[test]
fn killed_run_resumes_to_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    let straight = dir.path().join("straight");
    let output = yardstick().args(run_args(&straight)).output().unwrap();
    assert!(output.status.success(), "{}", text(&output).1);
    let reference: Value = serde_json::from_slice(&output.stdout).unwrap();

    let resumed = dir.path().join("resumed");
    let db = resumed.join("yardstick.db");
    let mut child = yardstick()
        .args(run_args(&resumed))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while stored_items(&db) < 48 {
        assert!(Instant::now() < deadline, "run stored nothing in time");
        assert!(
            child.try_wait().unwrap().is_none(),
            "run ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = stored_items(&db);
    assert!(
        before > 0 && before < 240,
        "killed partway: {before} items stored"
    );

    let output = yardstick().args(run_args(&resumed)).output().unwrap();
    assert!(output.status.success(), "{}", text(&output).1);
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        summary["tasks"][0]["computed"].as_i64().unwrap(),
        240 - before,
        "stored items were recomputed"
    );
    assert_eq!(stored_items(&db), 240, "duplicate or missing rows");
    assert_eq!(results_of(&summary), results_of(&reference));
    assert_eq!(samples_of(&summary), samples_of(&reference));
}

/// A user's task file in lm-eval's schema, over a local JSON Lines file next to it.
const USER_TASK: &str = r#"task: my_quiz
dataset_path: json
dataset_kwargs:
  data_files:
    test: quiz.jsonl
test_split: test
output_type: multiple_choice
doc_to_text: "Q: {{question}}\nA:"
doc_to_target: "{{choices.label.index(answerKey)}}"
doc_to_choice: "{{choices.text}}"
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
metadata:
  version: 2.0
"#;

const USER_DOCS: &str = r#"{"question": "What color is the clear daytime sky?", "choices": {"text": ["blue", "green"], "label": ["A", "B"]}, "answerKey": "A"}
{"question": "How many legs does a spider have?", "choices": {"text": ["six", "eight", "ten"], "label": ["A", "B", "C"]}, "answerKey": "B"}
{"question": "Which is a planet?", "choices": {"text": ["Mars", "the Moon"], "label": ["A", "B"]}, "answerKey": "A"}
"#;

#[test]
fn user_task_files_run_by_path_and_by_include_path() {
    let dir = tempfile::tempdir().unwrap();
    let tasks_dir = dir.path().join("tasks");
    std::fs::create_dir_all(&tasks_dir).unwrap();
    std::fs::write(tasks_dir.join("quiz.yaml"), USER_TASK).unwrap();
    std::fs::write(tasks_dir.join("quiz.jsonl"), USER_DOCS).unwrap();

    let by_path = yardstick()
        .args([
            "run",
            "--model",
            &demo_model(),
            "--output",
            "json",
            "--output-dir",
        ])
        .arg(dir.path().join("out1"))
        .arg("--tasks")
        .arg(tasks_dir.join("quiz.yaml"))
        .output()
        .unwrap();
    assert!(by_path.status.success(), "{}", text(&by_path).1);
    let summary: Value = serde_json::from_slice(&by_path.stdout).unwrap();
    assert_eq!(summary["tasks"][0]["task"], "my_quiz");
    assert_eq!(summary["tasks"][0]["docs"], 3);
    let samples = samples_of(&summary);
    assert_eq!(
        samples[1]["arguments"]["gen_args_1"]["arg_0"],
        "Q: How many legs does a spider have?\nA:"
    );
    assert_eq!(samples[1]["arguments"]["gen_args_1"]["arg_1"], " eight");
    assert_eq!(samples[1]["target"], "1");

    let by_name = yardstick()
        .args([
            "run",
            "--model",
            &demo_model(),
            "--output",
            "json",
            "--tasks",
            "my_quiz",
            "--output-dir",
        ])
        .arg(dir.path().join("out2"))
        .arg("--include-path")
        .arg(&tasks_dir)
        .output()
        .unwrap();
    assert!(by_name.status.success(), "{}", text(&by_name).1);
    let again: Value = serde_json::from_slice(&by_name.stdout).unwrap();
    assert_eq!(again["tasks"][0]["metrics"], summary["tasks"][0]["metrics"]);
}

#[test]
fn malformed_task_file_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.yaml");
    std::fs::write(&path, USER_TASK.replace("doc_to_text:", "doc_to_txt:")).unwrap();
    let output = yardstick()
        .args(["run", "--model", &demo_model(), "--tasks"])
        .arg(&path)
        .output()
        .unwrap();
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("{}:8:", path.display())),
        "{stderr}"
    );
    assert!(stderr.contains("doc_to_txt"), "{stderr}");
}

/// `--tasks mmlu` runs the 57 subjects and reports the four category groups and the
/// `mmlu` group, each group the size-weighted mean of its subjects.
#[test]
fn mmlu_group_prints_subject_and_group_rows() {
    let dir = tempfile::tempdir().unwrap();
    let output = yardstick()
        .args([
            "run",
            "--model",
            &demo_model(),
            "--tasks",
            "mmlu",
            "--limit",
            "1",
            "--output-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("| mmlu_abstract_algebra "), "{stdout}");
    assert!(stdout.contains("| mmlu_world_religions "), "{stdout}");
    for group in [
        "mmlu_stem",
        "mmlu_other",
        "mmlu_social_sciences",
        "mmlu_humanities",
        "mmlu",
    ] {
        assert!(
            stdout.contains(&format!("| {group} (group) ")),
            "{group}: {stdout}"
        );
    }
    let results_line = stdout.lines().find(|l| l.starts_with("results: ")).unwrap();
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(results_line.trim_start_matches("results: ")).unwrap(),
    )
    .unwrap();
    let subjects: Vec<f64> = results["results"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| {
            name.starts_with("mmlu_")
                && !results["groups"]
                    .as_object()
                    .unwrap()
                    .contains_key(name.as_str())
        })
        .map(|(_, entry)| entry["acc,none"].as_f64().unwrap())
        .collect();
    assert_eq!(subjects.len(), 57);
    let mean = subjects.iter().sum::<f64>() / 57.0;
    let group = results["groups"]["mmlu"]["acc,none"].as_f64().unwrap();
    assert!(
        (group - mean).abs() < 1e-12,
        "one document per subject: the group is their plain mean"
    );
    assert_eq!(
        results["group_subtasks"]["mmlu"].as_array().unwrap().len(),
        4
    );
}

fn samples_at(path: &Value) -> Vec<Value> {
    std::fs::read_to_string(path.as_str().unwrap())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn loglikelihoods(sample: &Value) -> Vec<f64> {
    sample["filtered_resps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| pair[0].as_str().unwrap().parse().unwrap())
        .collect()
}

/// TruthfulQA MC2 scores each document with the true answers' share of probability,
/// recomputed here from the logged log-likelihoods; WinoGrande puts each option into
/// the context and scores the same continuation after it.
#[test]
fn truthfulqa_mc2_and_winogrande_score_through_their_hooks() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run_demo_json(
        dir.path(),
        &["--tasks", "truthfulqa_mc2,winogrande", "--limit", "3"],
    );
    let tasks = summary["tasks"].as_array().unwrap();

    let mc2 = samples_at(&tasks[0]["samples_path"]);
    assert_eq!(mc2.len(), 3);
    for sample in &mc2 {
        let lls = loglikelihoods(sample);
        let labels = sample["doc"]["mc2_targets"]["labels"].as_array().unwrap();
        assert_eq!(lls.len(), labels.len());
        let probs: Vec<f64> = lls.iter().map(|ll| ll.exp()).collect();
        let total: f64 = probs.iter().sum();
        let expected: f64 = probs
            .iter()
            .zip(labels)
            .filter(|(_, l)| l.as_i64() == Some(1))
            .map(|(p, _)| p / total)
            .sum();
        let acc = sample["acc"].as_f64().unwrap();
        assert!((acc - expected).abs() < 1e-12, "{acc} vs {expected}");
        assert!(acc > 0.0 && acc < 1.0, "mc2 is a probability mass: {acc}");
    }

    let wino = samples_at(&tasks[1]["samples_path"]);
    assert_eq!(wino.len(), 3);
    for sample in &wino {
        let args = &sample["arguments"];
        let (first, second) = (&args["gen_args_0"], &args["gen_args_1"]);
        assert_ne!(
            first["arg_0"], second["arg_0"],
            "options go into the context"
        );
        assert_eq!(first["arg_1"], second["arg_1"], "one continuation for both");
        let sentence = sample["doc"]["sentence"].as_str().unwrap();
        let blank = sentence.find('_').unwrap();
        assert_eq!(
            first["arg_1"].as_str().unwrap(),
            format!(" {}", sentence[blank + 1..].trim())
        );
        let gold = if sample["doc"]["answer"] == "1" { 0 } else { 1 };
        let lls = loglikelihoods(sample);
        let predicted = if lls[1] > lls[0] { 1 } else { 0 };
        assert_eq!(
            sample["acc"].as_f64().unwrap(),
            f64::from(u8::from(predicted == gold))
        );
    }
}

/// GSM8K end to end: generated text is stored per document, both of lm-eval's answer
/// filters are applied and scored, and the samples file has one line per filter and
/// document, as lm-eval writes it.
#[test]
fn gsm8k_generates_filters_and_scores() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run_demo_json(
        dir.path(),
        &["--tasks", "gsm8k", "--limit", "2", "--num-fewshot", "1"],
    );
    let results = results_of(&summary);
    for filter in ["strict-match", "flexible-extract"] {
        let value = results["gsm8k"][format!("exact_match,{filter}")].as_f64();
        assert!(value.is_some_and(|v| (0.0..=1.0).contains(&v)), "{results}");
    }
    let samples = samples_of(&summary);
    assert_eq!(samples.len(), 4);
    assert_eq!(samples[0]["filter"], "strict-match");
    assert_eq!(samples[3]["filter"], "flexible-extract");
    for sample in &samples {
        let generated = sample["resps"][0][0].as_str().unwrap();
        assert!(
            !generated.contains("Question:"),
            "cut at the stop string: {generated}"
        );
        let prompt = sample["arguments"]["gen_args_0"]["arg_0"].as_str().unwrap();
        assert_eq!(
            prompt.matches("Question: ").count(),
            2,
            "one example, one question"
        );
        assert!(sample["filtered_resps"][0].is_string());
        assert!(sample["exact_match"].is_number());
    }
}

/// HumanEval and MBPP end to end on the demo model: the generated code is stored, each
/// candidate program ran in the sandbox (its verdict is in the sample), and the pass
/// metric of each sample is whether its program passed.
#[test]
fn code_tasks_generate_run_and_score() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run_demo_json(dir.path(), &["--tasks", "humaneval,mbpp", "--limit", "2"]);
    let results = results_of(&summary);
    assert!(
        results["humaneval"]["pass@1,create_test"].is_number(),
        "{results}"
    );
    assert!(results["mbpp"]["pass_at_1,none"].is_number(), "{results}");
    let samples: Vec<Value> = (0..2)
        .flat_map(|i| samples_at(&summary["tasks"][i]["samples_path"]))
        .collect();
    assert_eq!(samples.len(), 4);
    for sample in &samples {
        let (metric, candidate) = if sample["filter"] == "create_test" {
            let candidate = sample["filtered_resps"][0][0].as_str().unwrap();
            let prompt = sample["doc"]["prompt"].as_str().unwrap();
            assert!(candidate.starts_with(prompt), "prompt + completion");
            ("pass@1", candidate)
        } else {
            ("pass_at_1", sample["filtered_resps"][0].as_str().unwrap())
        };
        assert!(candidate.ends_with(sample["resps"][0][0].as_str().unwrap()));
        let execution = &sample["executions"][0];
        let verdict = execution["verdict"].as_str().unwrap();
        assert!(
            ["passed", "failed", "timed out", "killed"]
                .iter()
                .any(|v| verdict.starts_with(v)),
            "{verdict}"
        );
        let passed = execution["passed"].as_bool().unwrap();
        assert_eq!(
            sample[metric].as_f64(),
            Some(if passed { 1.0 } else { 0.0 })
        );
    }
}

/// `--apply-chat-template`: the prompt is the demo model's ChatML conversation, few-shot
/// examples as turns with `--fewshot-as-multiturn`, ending where the assistant answers;
/// the results file names the template by its sha256. `--fewshot-as-multiturn` alone is
/// refused.
#[test]
fn chat_template_renders_the_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--tasks",
        "gsm8k",
        "--limit",
        "1",
        "--num-fewshot",
        "1",
        "--apply-chat-template",
        "--fewshot-as-multiturn",
        "--system-instruction",
        "Solve it.",
    ];
    let summary = run_demo_json(dir.path(), &args);
    let sample = &samples_of(&summary)[0];
    let prompt = sample["arguments"]["gen_args_0"]["arg_0"].as_str().unwrap();
    assert!(
        prompt.starts_with("<|im_start|>system\nSolve it.<|im_end|>\n<|im_start|>user\nQuestion: "),
        "{prompt}"
    );
    assert_eq!(prompt.matches("<|im_start|>user\n").count(), 2, "{prompt}");
    assert_eq!(
        prompt.matches("<|im_start|>assistant\n").count(),
        2,
        "{prompt}"
    );
    assert!(
        prompt.ends_with("\nAnswer:<|im_end|>\n<|im_start|>assistant\n"),
        "{prompt}"
    );
    let results_path = summary["results_path"].as_str().unwrap();
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(results_path).unwrap()).unwrap();
    assert_eq!(results["fewshot_as_multiturn"], true);
    assert_eq!(results["system_instruction"], "Solve it.");
    let template = results["chat_template"].as_str().unwrap();
    assert_eq!(
        results["chat_template_sha"].as_str().unwrap(),
        yardstick_core::sha256_hex(template.as_bytes())
    );

    let output = yardstick()
        .args(["run", "--model", &demo_model(), "--fewshot-as-multiturn"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(text(&output).1.contains("--apply-chat-template"));
}

/// `contam scan` on a corpus with every third ARC-Easy question planted (upper-cased,
/// among filler): each planted question long enough to hold an 8-gram is reported with
/// its doc id, and nothing else is.
#[test]
fn contam_scan_finds_planted_questions() {
    let arc = data_dir().join("hf/allenai/ai2_arc/ARC-Easy/test.jsonl");
    let questions: Vec<String> = std::fs::read_to_string(arc)
        .unwrap()
        .lines()
        .take(40)
        .map(|line| {
            let row: Value = serde_json::from_str(line).unwrap();
            row["question"].as_str().unwrap().to_owned()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut corpus = String::new();
    for (doc_id, question) in questions.iter().enumerate() {
        corpus.push_str(&"lorem ipsum dolor sit amet ".repeat(40));
        corpus.push('\n');
        if doc_id % 3 == 0 {
            corpus.push_str(&question.to_uppercase());
            corpus.push('\n');
        }
    }
    std::fs::write(dir.path().join("web.txt"), corpus).unwrap();
    let db = dir.path().join("out/yardstick.db");
    let output = yardstick()
        .args([
            "contam", "scan", "--tasks", "arc_easy", "--limit", "40", "--ngram", "8",
        ])
        .args(["--output", "json", "--db"])
        .arg(&db)
        .arg("--corpus")
        .arg(dir.path().join("web.txt"))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let task = &report["tasks"][0];
    assert_eq!(task["items"], 40);
    let flagged: Vec<u64> = task["contaminated_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["doc_id"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (0..40u64)
        .filter(|&i| i % 3 == 0)
        .filter(|&i| yardstick_contam::normalized_words(&questions[i as usize]).len() >= 8)
        .collect();
    assert!(expected.len() >= 10, "{expected:?}");
    assert_eq!(flagged, expected);
    let sample = &task["contaminated_items"][0]["samples"][0];
    assert!(sample["file"].as_str().unwrap().ends_with("web.txt"));

    // The findings are stored: a run with --exclude-contaminated reports the score on
    // the other documents beside the full score.
    let summary = run_demo_json(
        &dir.path().join("out"),
        &[
            "--tasks",
            "arc_easy",
            "--limit",
            "40",
            "--exclude-contaminated",
        ],
    );
    let clean = &summary["tasks"][0]["clean_subset"];
    assert_eq!(clean["excluded"], flagged.len());
    assert_eq!(clean["docs"], 40 - flagged.len());
    let samples = samples_of(&summary);
    let kept: Vec<f64> = samples
        .iter()
        .filter(|s| !flagged.contains(&s["doc_id"].as_u64().unwrap()))
        .map(|s| s["acc"].as_f64().unwrap())
        .collect();
    let mean = kept.iter().sum::<f64>() / kept.len() as f64;
    assert!((clean["metrics"]["acc"]["value"].as_f64().unwrap() - mean).abs() < 1e-12);
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(summary["results_path"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        results["yardstick"]["clean_subset"]["arc_easy"]["sample_len"],
        40 - flagged.len()
    );

    // Without a recorded scan the flag is refused, saying what to run.
    let output = yardstick()
        .args([
            "run",
            "--model",
            &demo_model(),
            "--tasks",
            "arc_challenge",
            "--limit",
            "2",
        ])
        .arg("--exclude-contaminated")
        .arg("--output-dir")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(text(&output)
        .1
        .contains("yardstick contam scan --tasks arc_challenge"));
}

/// `contam probe`: Min-K% Prob on the demo model tells natural questions (text of the
/// kind it was trained to continue) from the same words shuffled, by a wide margin.
#[test]
fn contam_probe_separates_natural_from_shuffled_text() {
    let arc = data_dir().join("hf/allenai/ai2_arc/ARC-Easy/test.jsonl");
    let mut lines = String::new();
    for (i, line) in std::fs::read_to_string(arc)
        .unwrap()
        .lines()
        .take(20)
        .enumerate()
    {
        let row: Value = serde_json::from_str(line).unwrap();
        let question = row["question"].as_str().unwrap();
        lines.push_str(&format!(
            "{}\n",
            serde_json::json!({"id": i, "text": question, "member": true})
        ));
        // A fixed derangement of the words: reversed, then rotated by one.
        let mut words: Vec<&str> = question.split_whitespace().rev().collect();
        words.rotate_left(1);
        let shuffled = words.join(" ");
        lines.push_str(&format!(
            "{}\n",
            serde_json::json!({"text": shuffled, "member": false})
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let texts = dir.path().join("texts.jsonl");
    std::fs::write(&texts, lines).unwrap();
    let output = yardstick()
        .args([
            "contam",
            "probe",
            "--model",
            &demo_model(),
            "--output",
            "json",
            "--texts",
        ])
        .arg(&texts)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let auc = report["auc"].as_f64().unwrap();
    assert!(auc > 0.75, "AUC {auc}");
    assert_eq!(report["texts"].as_array().unwrap().len(), 40);
    assert!(report["texts"][0]["min_k_prob"].as_f64().unwrap() < 0.0);
}

/// Issue 6: the demo model and Gemma-3-270M on two general-suite tasks, compared with
/// each other (paired, McNemar) and with GPT-3.5-turbo's published numbers (unpaired,
/// differing shots shown); the report files written.
#[test]
fn compare_and_report_over_demo_and_gemma_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let gemma = cached_model(GEMMA_MODEL);
    assert!(
        gemma.exists(),
        "Gemma-3-270M missing at {}: run scripts/setup.sh",
        gemma.display()
    );
    let tasks = ["--tasks", "arc_challenge,hellaswag", "--limit", "12"];
    run_demo_json(&out, &tasks);
    let output = yardstick()
        .args([
            "run",
            "--model",
            &format!("gguf:{}", gemma.display()),
            "--output",
            "json",
        ])
        .args(tasks)
        .arg("--output-dir")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output).1);
    let db = out.join("yardstick.db");
    let compare = |reference: &str| -> Value {
        let output = yardstick()
            .args([
                "compare",
                "--reference",
                reference,
                "--output",
                "json",
                "--db",
            ])
            .arg(&db)
            .output()
            .unwrap();
        let (stdout, stderr) = text(&output);
        assert!(output.status.success(), "{stderr}");
        serde_json::from_str(&stdout).unwrap()
    };

    let local = compare("gemma3-270m");
    assert_eq!(local["reference"]["name"], "gemma-3-270m-q4_k_m.gguf");
    let labels: Vec<&str> = local["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["arc_challenge", "hellaswag"]);
    assert_eq!(local["columns"][0]["metric"], "acc_norm");
    assert_eq!(local["columns"][0]["domain"], "general");
    let demo_row = &local["rows"][1];
    assert!(demo_row["model"]["name"]
        .as_str()
        .unwrap()
        .starts_with("SmolLM2"));
    for cell in demo_row["cells"].as_array().unwrap() {
        let delta = &cell["delta"];
        assert_eq!(delta["test"], "mcnemar");
        assert_eq!(delta["paired_items"], 12);
        let (low, high, p) = (
            delta["low"].as_f64().unwrap(),
            delta["high"].as_f64().unwrap(),
            delta["p_value"].as_f64().unwrap(),
        );
        let verdict = delta["verdict"].as_str().unwrap();
        assert_eq!(verdict == "on par", p >= 0.05, "{delta}");
        assert_eq!(
            low > 0.0 || high < 0.0,
            p < 0.05,
            "interval and test agree: {delta}"
        );
    }
    assert_eq!(local["catch_up"].as_array().unwrap().len(), 2);
    assert_eq!(local["profiles"][0]["domains"].as_array().unwrap().len(), 7);

    let published = compare("gpt-3.5-turbo");
    assert_eq!(published["reference"]["kind"], "published");
    assert_eq!(
        published["columns"][0]["metric"], "acc",
        "the metric the GPT-4 report gives"
    );
    let reference = &published["rows"][0]["cells"][0];
    assert_eq!(
        (reference["value"].as_f64().unwrap() * 1000.0).round(),
        852.0
    );
    assert_eq!(reference["num_fewshot"], 25);
    let delta = &published["rows"][1]["cells"][0]["delta"];
    assert_eq!(delta["test"], "unpaired");
    assert!(
        delta["settings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "shots 0 vs 25"),
        "{delta}"
    );
    assert_eq!(
        delta["verdict"], "behind",
        "a 135M model is far behind GPT-3.5 on ARC"
    );

    let report_dir = dir.path().join("report");
    let output = yardstick()
        .args(["report", "--reference", "gpt-3.5-turbo", "--db"])
        .arg(&db)
        .arg("--out")
        .arg(&report_dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output).1);
    let html = std::fs::read_to_string(report_dir.join("report.html")).unwrap();
    assert!(html.contains("id=\"leaderboard\"") && html.contains("class=\"chart radar\""));
    assert!(
        !html.contains("src=") && !html.contains("href=\"http"),
        "no external assets"
    );
    let markdown = std::fs::read_to_string(report_dir.join("report.md")).unwrap();
    assert!(markdown.contains("## Catch-up map") && markdown.contains("gpt-3.5-turbo (reference)"));
    let csv = std::fs::read_to_string(report_dir.join("report.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 2 * 2 + 2,
        "header, two stored rows x two tasks, two published cells"
    );
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(report_dir.join("report.json")).unwrap())
            .unwrap();
    assert_eq!(json, published);
    for chart in ["radar.svg", "bars-arc_challenge.svg", "bars-hellaswag.svg"] {
        assert!(
            std::fs::read_to_string(report_dir.join(chart))
                .unwrap()
                .starts_with("<svg"),
            "{chart}"
        );
    }

    let output = yardstick()
        .args(["compare", "--reference", "gpt-5", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        text(&output).1.contains("no model matches `gpt-5`"),
        "{}",
        text(&output).1
    );
    let output = yardstick()
        .args(["compare", "--reference", "x", "--db"])
        .arg(dir.path().join("missing.db"))
        .output()
        .unwrap();
    assert!(
        text(&output).1.contains("does not exist"),
        "{}",
        text(&output).1
    );
}

/// `yardstick run --model openai:MODEL --base-url URL` with `args`, JSON summary into
/// `out`; the caller checks how it ended.
fn run_api(model: &str, url: &str, out: &Path, args: &[&str]) -> Output {
    yardstick()
        .args([
            "run",
            "--model",
            &format!("openai:{model}"),
            "--base-url",
            url,
        ])
        .args(["--output", "json", "--output-dir"])
        .arg(out)
        .args(args)
        .output()
        .unwrap()
}

/// Every stored record of `db`, by task hash order and document.
fn records(db: &Path) -> Vec<Value> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut stmt = conn
        .prepare("SELECT record FROM items ORDER BY task_hash, doc_id")
        .unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
    rows.map(|r| serde_json::from_str(&r.unwrap()).unwrap())
        .collect()
}

/// Issue 5: the demo model behind `yardstick serve`, evaluated through the API backend,
/// gives the in-process per-item results on arc_easy (log-likelihoods from echoed
/// prompt logprobs) and gsm8k (generation); the API key is in no file the run wrote.
#[test]
fn serve_and_api_backend_match_in_process_results() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = yardstick()
        .args(["serve", "--model", &demo_model(), "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = KillOnDrop(child);
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    let api_key = "sk-yardstick-test-7f3a9c2e51";
    let api_out = dir.path().join("api");
    let local_out = dir.path().join("local");
    for (tasks, limit) in [("arc_easy", "20"), ("gsm8k", "2")] {
        let output = yardstick()
            .args([
                "run",
                "--model",
                "openai:SmolLM2-135M-Instruct.Q4_1.gguf",
                "--base-url",
                &url,
            ])
            .args([
                "--api-key-env",
                "YARDSTICK_TEST_API_KEY",
                "--concurrency",
                "4",
            ])
            .args([
                "--tasks",
                tasks,
                "--limit",
                limit,
                "--output",
                "json",
                "--output-dir",
            ])
            .arg(&api_out)
            .env("YARDSTICK_TEST_API_KEY", api_key)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output).1);
        run_demo_json(&local_out, &["--tasks", tasks, "--limit", limit]);
    }
    // With a chat template: the API run sends each prompt's messages to
    // /v1/chat/completions, where the server applies the GGUF's template; in-process
    // renders the same template itself. The answers must be the same.
    let chat = ["--tasks", "gsm8k", "--limit", "2", "--apply-chat-template"];
    let api_chat = dir.path().join("api-chat");
    let output = run_api(SMOL, &url, &api_chat, &chat);
    assert!(output.status.success(), "{}", text(&output).1);
    let local_chat = dir.path().join("local-chat");
    run_demo_json(&local_chat, &chat);
    let (api_answers, local_answers) = (
        records(&api_chat.join("yardstick.db")),
        records(&local_chat.join("yardstick.db")),
    );
    assert_eq!(api_answers.len(), 2);
    for (a, l) in api_answers.iter().zip(&local_answers) {
        assert!(a["arguments"]["gen_args_0"]["arg_0"]
            .as_str()
            .unwrap()
            .starts_with("[{\"role\": "));
        assert_eq!((&a["resps"], &a["filters"]), (&l["resps"], &l["filters"]));
    }
    drop(server);
    let api = records(&api_out.join("yardstick.db"));
    let local = records(&local_out.join("yardstick.db"));
    assert_eq!(api.len(), 22);
    assert_eq!(local.len(), 22);
    for (a, l) in api.iter().zip(&local) {
        assert_eq!(a["doc_id"], l["doc_id"]);
        assert_eq!(a["arguments"], l["arguments"], "same prompts");
        if l.get("filters").is_some() {
            assert_eq!(a["resps"], l["resps"], "generated text");
            assert_eq!(a["filters"], l["filters"], "answers and scores");
        } else {
            assert_eq!((&a["acc"], &a["acc_norm"]), (&l["acc"], &l["acc_norm"]));
            let pairs = |r: &Value| -> Vec<(f64, String)> {
                r["filtered_resps"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| {
                        (
                            p[0].as_str().unwrap().parse().unwrap(),
                            p[1].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect()
            };
            for ((la, ga), (ll, gl)) in pairs(a).into_iter().zip(pairs(l)) {
                assert!((la - ll).abs() < 1e-9, "{la} vs {ll}");
                assert_eq!(ga, gl, "is_greedy");
            }
        }
    }
    // The key was sent with every request; no file the run wrote holds it.
    let mut files = vec![api_out.clone()];
    let mut checked = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes
                    .windows(api_key.len())
                    .any(|w| w == api_key.as_bytes()),
                "{} holds the API key",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 4,
        "results, samples and the database were checked"
    );
}

/// Starts llama-cpp-python's OpenAI-compatible server (scripts/parity/reference_server.py,
/// from the reference virtualenv scripts/setup.sh --reference builds) on the demo model;
/// returns it once it answers.
fn reference_server(patches: &str) -> (KillOnDrop, String) {
    let cache = std::env::var_os("YARDSTICK_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/yardstick"));
    let python = cache.join("reference-venv/bin/python");
    assert!(
        python.exists(),
        "reference virtualenv missing at {}: run scripts/setup.sh --reference",
        python.display()
    );
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/parity/reference_server.py");
    let port = free_port();
    let server = KillOnDrop(
        Command::new(python)
            .arg(script)
            .args(["--model", demo_model().trim_start_matches("gguf:")])
            .args(["--port", &port.to_string(), "--patches", patches])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{port}/v1");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "reference server did not start"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    (server, url)
}

/// Issue 5: against llama-cpp-python's own server, the echo probe refuses the stock
/// build (its prompt logprobs are shifted for SmolLM2, which adds no BOS), and the
/// patched one gives the in-process predictions, log-likelihoods within float32 rounding.
#[test]
fn api_backend_probes_and_agrees_with_llama_cpp_python_server() {
    let dir = tempfile::tempdir().unwrap();
    let api_run =
        |url: &str, out: &Path| run_api(SMOL, url, out, &["--tasks", "arc_easy", "--limit", "20"]);
    let (stock, url) = reference_server("none");
    let output = api_run(&url, &dir.path().join("stock"));
    drop(stock);
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(
        stderr.contains("cannot be trusted with log-likelihoods"),
        "{stderr}"
    );

    let (patched, url) = reference_server("all");
    let output = api_run(&url, &dir.path().join("patched"));
    drop(patched);
    assert!(output.status.success(), "{}", text(&output).1);
    let local_out = dir.path().join("local");
    run_demo_json(&local_out, &["--tasks", "arc_easy", "--limit", "20"]);
    let api = records(&dir.path().join("patched/yardstick.db"));
    let local = records(&local_out.join("yardstick.db"));
    assert_eq!(api.len(), 20);
    let mut largest: f64 = 0.0;
    for (a, l) in api.iter().zip(&local) {
        assert_eq!(
            (&a["acc"], &a["acc_norm"]),
            (&l["acc"], &l["acc_norm"]),
            "doc {}",
            l["doc_id"]
        );
        for (pa, pl) in a["filtered_resps"]
            .as_array()
            .unwrap()
            .iter()
            .zip(l["filtered_resps"].as_array().unwrap())
        {
            let value = |p: &Value| p[0].as_str().unwrap().parse::<f64>().unwrap();
            largest = largest.max((value(pa) - value(pl)).abs());
        }
    }
    assert!(
        largest < 1e-4,
        "largest log-likelihood difference {largest}"
    );
}

/// Issue 5: a document whose API requests fail after every retry is recorded as failed,
/// left out of the scores (never scored as wrong), and the run exits 3 (incomplete);
/// once the endpoint recovers, a rerun sends only that document's request. The endpoint
/// is a stand-in that fails on purpose: injected faults are the point here.
#[test]
fn failed_api_requests_are_recorded_not_scored_and_a_rerun_completes_them() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    const FAILING: &str = "A robe takes 2 bolts"; // gsm8k test document 1
    let healthy = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicUsize::new(0));
    let (flag, count) = (Arc::clone(&healthy), Arc::clone(&received));
    let url = stub_endpoint(move |body| {
        count.fetch_add(1, Ordering::SeqCst);
        if !flag.load(Ordering::SeqCst) && body.contains(FAILING) {
            (503, "{\"error\": \"overloaded\"}".to_owned())
        } else {
            let answer = serde_json::json!({"choices": [{"text": " 2 + 1 = 3.\n#### 3", "finish_reason": "stop"}]});
            (200, answer.to_string())
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = || {
        let args = ["--max-retries", "1", "--tasks", "gsm8k", "--limit", "4"];
        run_api("stub", &url, &out, &args)
    };
    let output = run();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("incomplete run: 1 documents"), "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["failed"], 1);
    assert_eq!(
        summary["tasks"][0]["docs"], 3,
        "the failed document is not scored"
    );
    let samples = samples_of(&summary);
    assert_eq!(samples.len(), 2 * 3, "two filters, three scored documents");
    assert!(samples.iter().all(|s| s["doc_id"] != 1));
    let db = out.join("yardstick.db");
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let (doc, error): (i64, String) = conn
        .query_row("SELECT doc_id, error FROM failures", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(doc, 1);
    assert!(
        error.contains("HTTP 503") && error.contains("gave up after 2 attempts"),
        "{error}"
    );
    drop(conn);
    assert_eq!(stored_items(&db), 3);

    healthy.store(true, Ordering::SeqCst);
    let before = received.load(Ordering::SeqCst);
    let output = run();
    assert!(output.status.success(), "{}", text(&output).1);
    let summary: Value = serde_json::from_str(&text(&output).0).unwrap();
    assert_eq!(
        (
            summary["failed"].as_u64(),
            summary["tasks"][0]["docs"].as_u64()
        ),
        (Some(0), Some(4))
    );
    assert_eq!(summary["tasks"][0]["computed"], 1);
    assert_eq!(
        received.load(Ordering::SeqCst) - before,
        1,
        "only the failed document's request"
    );
    assert_eq!(stored_items(&db), 4);
}

/// Issue 5: three shard workers, their databases merged, give the results file of one
/// unsharded run, and writing it recomputes nothing.
#[test]
fn three_merged_shards_equal_one_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--tasks", "arc_easy,truthfulqa_mc2", "--limit", "15"];
    let reference = run_demo_json(&dir.path().join("whole"), &args);
    let mut stores = Vec::new();
    for shard in 0..3 {
        let out = dir.path().join(format!("shard{shard}"));
        let spec = format!("{shard}/3");
        let summary = run_demo_json(&out, &[&args[..], &["--shard", &spec]].concat());
        for task in summary["tasks"].as_array().unwrap() {
            assert_eq!(task["docs"], 5, "a third of the documents: {task}");
        }
        stores.push(out.join("yardstick.db"));
    }
    let merged = dir.path().join("merged");
    let output = yardstick()
        .arg("merge")
        .arg("--db")
        .arg(merged.join("yardstick.db"))
        .args(&stores)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output).1);
    assert!(text(&output).0.contains("merged 30 items from 3 databases"));
    let combined = run_demo_json(&merged, &args);
    for task in combined["tasks"].as_array().unwrap() {
        assert_eq!(
            (task["docs"].as_u64(), task["computed"].as_u64()),
            (Some(15), Some(0))
        );
    }
    assert_eq!(results_of(&combined), results_of(&reference));
    for i in 0..2 {
        assert_eq!(
            samples_at(&combined["tasks"][i]["samples_path"]),
            samples_at(&reference["tasks"][i]["samples_path"])
        );
    }
    let bad = yardstick()
        .args(["run", "--shard", "3/3", "--tasks", "arc_easy"])
        .output()
        .unwrap();
    assert!(
        text(&bad).1.contains("expected I/N with 0 <= I < N"),
        "{}",
        text(&bad).1
    );
}

/// Issue 5: token usage and the served model's id and system fingerprint are stored per
/// response and summed (and priced) per run; `--no-cache` sends every request again,
/// and `yardstick drift` finds the item whose answer changed when the backend did.
#[test]
fn usage_is_priced_and_drift_finds_the_changed_item() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let phase = Arc::new(AtomicUsize::new(1));
    let current = Arc::clone(&phase);
    let url = stub_endpoint(move |body| {
        let phase = current.load(Ordering::SeqCst);
        // gsm8k test document 0 (Janet's ducks, answer 18) is right only before the change.
        let text = if phase == 1 && body.contains("Janet") {
            " 9 + 9 = 18\n#### 18"
        } else {
            " #### 0"
        };
        let answer = serde_json::json!({
            "model": "gpt-3.5-turbo-0125", "system_fingerprint": format!("fp_{phase}"),
            "choices": [{"text": text, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 700, "completion_tokens": 12, "total_tokens": 712},
        });
        (200, answer.to_string())
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = || -> Value {
        let args = ["--no-cache", "--tasks", "gsm8k", "--limit", "4"];
        let output = run_api("gpt-3.5-turbo", &url, &out, &args);
        assert!(output.status.success(), "{}", text(&output).1);
        assert!(
            text(&output)
                .1
                .contains("tokens: 2800 prompt, 48 completion, $0.0015 at 2024-08 prices"),
            "{}",
            text(&output).1
        );
        serde_json::from_str(&text(&output).0).unwrap()
    };
    let first = run();
    assert_eq!(
        first["usage"],
        serde_json::json!({"requests": 4, "prompt_tokens": 2800, "completion_tokens": 48})
    );
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(first["results_path"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let usage = &results["yardstick"]["usage"];
    assert!(
        (usage["cost_usd"].as_f64().unwrap() - (2800.0 * 0.5 + 48.0 * 1.5) / 1e6).abs() < 1e-12,
        "{usage}"
    );
    assert_eq!(usage["price"]["as_of"], "2024-08");
    phase.store(2, Ordering::SeqCst);
    let second = run();
    assert_ne!(
        first["run_id"], second["run_id"],
        "--no-cache makes a new run"
    );
    let output = yardstick()
        .args([
            "drift",
            first["run_id"].as_str().unwrap(),
            second["run_id"].as_str().unwrap(),
            "--output",
            "json",
            "--db",
        ])
        .arg(out.join("yardstick.db"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output).1);
    let report: Value = serde_json::from_str(&text(&output).0).unwrap();
    assert_eq!(
        report["served_a"],
        serde_json::json!(["gpt-3.5-turbo-0125 (fp_1)"])
    );
    assert_eq!(
        report["served_b"],
        serde_json::json!(["gpt-3.5-turbo-0125 (fp_2)"])
    );
    let task = &report["tasks"][0];
    assert_eq!(
        (task["items"].as_u64(), task["changed_outputs"].as_u64()),
        (Some(4), Some(1))
    );
    assert_eq!(task["changed_examples"], serde_json::json!([0]));
    let strict = task["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "exact_match,strict-match")
        .unwrap();
    assert_eq!(
        (strict["only_a"].as_u64(), strict["only_b"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(strict["p_value"], 1.0);
}
