//! Judged tasks end to end (issue 8): MT-Bench single and pairwise, AlpacaEval's
//! annotators, ratings. The demo model answers; a judge that can actually rate needs a
//! strong model this machine cannot have, so where the scores themselves are checked the
//! judge is a stand-in endpoint with a fixed rule, and where the path through a real
//! judge is checked the demo model judges.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::*;

/// A judged task file in `dir` with small token budgets, so the demo model answers fast.
fn small_task(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, format!("task: {name}\n{body}")).unwrap();
    path
}

fn mt_bench_task(dir: &Path, name: &str, mode: &str) -> PathBuf {
    small_task(
        dir,
        name,
        &format!(
            "kind: mt_bench\nmode: {mode}\nquestions: mt_bench/question.jsonl\n\
             reference_answers: mt_bench/reference_answer/gpt-4.jsonl\n\
             judge_prompts: mt_bench/judge_prompts.jsonl\nmax_new_tokens: 16\njudge_max_tokens: 24\n"
        ),
    )
}

fn run_judged(task: &Path, out: &Path, args: &[&str]) -> Output {
    run_judged_with(task, out, args, &[])
}

/// [`run_judged`] with environment variables set.
fn run_judged_with(task: &Path, out: &Path, args: &[&str], envs: &[(&str, &Path)]) -> Output {
    yardstick()
        .envs(envs.iter().copied())
        .args([
            "run",
            "--model",
            &demo_model(),
            "--threads",
            "2",
            "--output",
            "json",
        ])
        .arg("--tasks")
        .arg(task)
        .arg("--output-dir")
        .arg(out)
        .args(args)
        .output()
        .unwrap()
}

fn summary(output: &Output) -> Value {
    let (stdout, stderr) = text(output);
    assert!(output.status.success(), "{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn metric(summary: &Value, name: &str) -> Value {
    summary["tasks"][0]["metrics"][name]["value"].clone()
}

/// The samples file a run wrote, one record per item.
fn samples(summary: &Value) -> Vec<Value> {
    let path = summary["tasks"][0]["samples_path"].as_str().unwrap();
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The content of the last message of a chat request body.
fn last_message(body: &str) -> String {
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Issue 8: `yardstick run --tasks mt_bench --judge gguf:<demo>` runs end to end through
/// the demo model as both candidate and judge (small token budgets here; the full
/// command with the task's own budgets is in BENCHMARKS.md): answers to both turns with
/// the chat template, each judged with FastChat's prompt holding the question and the
/// answer, and whatever the judge said recorded; a judgment without a rating is counted
/// as failed and left out, never scored. A rerun computes nothing.
#[test]
fn mt_bench_runs_through_the_demo_model_as_candidate_and_judge() {
    let dir = tempfile::tempdir().unwrap();
    let task = mt_bench_task(dir.path(), "mt_bench_small", "single");
    let out = dir.path().join("out");
    let args = ["--judge", &demo_model(), "--limit", "2"];
    let first = summary(&run_judged(&task, &out, &args));
    assert_eq!(first["tasks"][0]["computed"], 2);
    let items = samples(&first);
    assert_eq!(items.len(), 2);
    let questions: Vec<Value> = std::fs::read_to_string(data_dir().join("mt_bench/question.jsonl"))
        .unwrap()
        .lines()
        .take(2)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut failed = 0;
    let mut scores = Vec::new();
    for (item, question) in items.iter().zip(&questions) {
        assert_eq!(item["question_id"], question["question_id"]);
        let answers = item["answers"].as_array().unwrap();
        assert_eq!(answers.len(), 2);
        let judgments = item["judgments"].as_array().unwrap();
        assert_eq!(judgments.len(), 2);
        assert_eq!(judgments[0]["prompt"], "single-v1");
        assert_eq!(judgments[1]["prompt"], "single-v1-multi-turn");
        for (j, judgment) in judgments.iter().enumerate() {
            let prompt = judgment["user_prompt"].as_str().unwrap();
            assert!(prompt.contains(question["turns"][j].as_str().unwrap()));
            assert!(prompt.contains(answers[j].as_str().unwrap()));
            match judgment["score"].as_f64() {
                Some(score) => scores.push(score),
                None => failed += 1,
            }
        }
    }
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(first["results_path"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(results["yardstick"]["failed_judgments"], failed);
    match metric(&first, "score").as_f64() {
        Some(mean) => {
            assert!((mean - scores.iter().sum::<f64>() / scores.len() as f64).abs() < 1e-12)
        }
        None => assert!(scores.is_empty()),
    }
    let second = summary(&run_judged(&task, &out, &args));
    assert_eq!(second["tasks"][0]["computed"], 0);
    assert_eq!(samples(&second), items);
}

/// Issue 8: scores, failed judgments, pairwise ties and ratings, with a stand-in judge
/// whose rule is known: single grading gives 7 except one judgment it cannot rate;
/// pairwise it prefers the shorter answer, whichever side it is shown on. The same
/// endpoint stands in for the pairwise baseline model, which always answers briefly.
#[test]
fn stand_in_judge_scores_pairs_and_rates() {
    let dir = tempfile::tempdir().unwrap();
    let unratable = "Draft a professional email seeking your supervisor"; // question 82
    let judge = stub_endpoint(move |body| {
        // The judge prompts' instructions are in their system messages.
        let prompt = last_message(body);
        if !body.contains("[[rating]]") && !prompt.contains("Assistant B") {
            chat_answer("I am not sure.")
        } else if prompt.contains("Assistant B") {
            let b_at = prompt.find("Assistant B").unwrap();
            let a_at = prompt.find("Assistant A").unwrap();
            let (a, b) = (b_at - a_at, prompt.len() - b_at);
            chat_answer(if a < b { "[[A]]" } else { "[[B]]" })
        } else if prompt.contains(unratable) && prompt.contains("Conversation with User") {
            chat_answer("I cannot rate this.")
        } else {
            chat_answer("The answer is fine. Rating: [[7]]")
        }
    });
    let judge_args = [
        "--judge",
        "openai:gpt-4",
        "--judge-base-url",
        &judge,
        "--limit",
        "3",
    ];
    let single = mt_bench_task(dir.path(), "mt_bench_stand_in", "single");
    let out = dir.path().join("out");
    let output = run_judged(&single, &out, &judge_args);
    let (_, stderr) = text(&output);
    let scored = summary(&output);
    assert_eq!(metric(&scored, "score"), 7.0);
    assert_eq!(metric(&scored, "score_turn_1"), 7.0);
    assert_eq!(metric(&scored, "score_turn_2"), 7.0);
    assert_eq!(metric(&scored, "score_writing"), 7.0);
    assert!(stderr.contains("1 judgments did not parse"), "{stderr}");
    assert!(
        stderr.contains("judge: 6 requests, 60 prompt and 18 completion tokens, $"),
        "{stderr}"
    );
    let items = samples(&scored);
    assert_eq!(items[1]["judgments"][1]["score"], Value::Null);
    assert_eq!(items[1]["score"], 7.0);

    let pairwise = mt_bench_task(dir.path(), "mt_bench_pairwise_stand_in", "pairwise");
    let mut args = judge_args.to_vec();
    args.extend(["--baseline", "openai:brief-bot", "--base-url", &judge]);
    let scored = summary(&run_judged(&pairwise, &out, &args));
    let items = samples(&scored);
    let (mut wins, mut losses, mut ties) = (0, 0, 0);
    for item in &items {
        let judgments = item["judgments"].as_array().unwrap();
        assert_eq!(judgments.len(), 4);
        for (turn, outcome) in item["outcomes"].as_array().unwrap().iter().enumerate() {
            let games: Vec<&Value> = judgments
                .iter()
                .filter(|j| j["turn"] == turn + 1)
                .map(|j| &j["winner"])
                .collect();
            // Both orders agree on a winner, or the turn is a tie.
            let expected = if games[0] != games[1] {
                "tie"
            } else if games[0] == "candidate" {
                "win"
            } else {
                "loss"
            };
            assert_eq!(outcome, expected, "{item}");
            match expected {
                "win" => wins += 1,
                "loss" => losses += 1,
                _ => ties += 1,
            }
        }
    }
    assert_eq!(wins + losses + ties, 6);
    assert!(
        wins + losses > 0,
        "the judge's rule decides some turns in both orders"
    );
    let win_rate = (wins as f64 + 0.5 * ties as f64) / 6.0;
    assert!((metric(&scored, "win_rate").as_f64().unwrap() - win_rate).abs() < 1e-12);

    let output = yardstick()
        .args(["ratings", "--output", "json", "--resamples", "200", "--db"])
        .arg(out.join("yardstick.db"))
        .output()
        .unwrap();
    let ratings: Value = serde_json::from_str(&text(&output).0).unwrap();
    let rows = ratings.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let rating_of = |name: &str| {
        rows.iter()
            .find(|r| r["model"].as_str().unwrap().contains(name))
            .unwrap()["rating"]
            .as_f64()
            .unwrap()
    };
    let (smol, brief) = (rating_of("SmolLM2"), rating_of("brief-bot"));
    match wins.cmp(&losses) {
        std::cmp::Ordering::Greater => assert!(smol > brief),
        std::cmp::Ordering::Less => assert!(smol < brief),
        std::cmp::Ordering::Equal => assert!((smol - brief).abs() < 1e-6),
    }
    assert!((smol + brief - 2000.0).abs() < 1e-6);
}

/// Issue 8: AlpacaEval's ranking annotator with the outputs in AlpacaEval's own order:
/// a judge that always ranks the first output shown best prefers the reference exactly
/// where the pair was not switched, so after the switch is undone the candidate wins
/// exactly the switched items.
#[test]
fn alpaca_eval_undoes_its_order_switch() {
    let dir = tempfile::tempdir().unwrap();
    let judge = stub_endpoint(|_| {
        chat_answer("[{'model': 'model_1', 'rank': 1}, {'model': 'model_2', 'rank': 2}]")
    });
    let task = small_task(
        dir.path(),
        "alpaca_eval_small",
        "kind: alpaca_eval\nannotator: alpaca_eval_gpt4\n\
         reference_outputs: alpaca_eval/results/text_davinci_003/model_outputs.json\n\
         max_new_tokens: 8\nseed: 0\n",
    );
    let out = dir.path().join("out");
    let args = [
        "--judge",
        "openai:gpt-4",
        "--judge-base-url",
        &judge,
        "--limit",
        "10",
    ];
    let scored = summary(&run_judged(&task, &out, &args));
    let items = samples(&scored);
    assert_eq!(items.len(), 10);
    let mut switched = 0;
    for item in &items {
        let instruction = item["instruction"].as_str().unwrap();
        let is_switched = yardstick_judge::is_switched(instruction, 0);
        assert_eq!(item["is_switched_outputs"], is_switched);
        assert!(item["user_prompt"].as_str().unwrap().contains(instruction));
        assert_eq!(item["preference"], if is_switched { 2.0 } else { 1.0 });
        switched += usize::from(is_switched);
    }
    assert!(
        switched > 0 && switched < 10,
        "both orders occur in 10 items"
    );
    let win_rate = metric(&scored, "win_rate").as_f64().unwrap();
    assert!((win_rate - 100.0 * switched as f64 / 10.0).abs() < 1e-9);
}

/// Issue 8: the weighted annotator reads the judge's first-token log-probabilities of
/// "m" and "M"; through `yardstick serve` (chat completions with `top_logprobs`) they are
/// the in-process model's, so the preferences are equal. The length-controlled win rate
/// is fitted when AlpacaEval's gamed annotations are in the Hugging Face cache (here the
/// synthetic stand-in of the fixtures), and named as missing when they are not.
#[test]
fn weighted_annotator_through_an_api_judge_equals_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let task = small_task(
        dir.path(),
        "alpaca_eval_2_small",
        "kind: alpaca_eval\nannotator: weighted_alpaca_eval_gpt4_turbo\n\
         reference_outputs: alpaca_eval/results/gpt4_1106_preview/model_outputs.json\n\
         max_new_tokens: 12\nseed: 0\nlength_controlled: true\n",
    );
    let hub = dir.path().join("hub");
    let snapshot = hub.join("datasets--tatsu-lab--alpaca_eval/snapshots/synthetic");
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/alpaca_eval/df_gamed_synthetic.csv"),
        snapshot.join("df_gamed.csv"),
    )
    .unwrap();
    let offline = Path::new("1");
    let local = summary(&run_judged_with(
        &task,
        &dir.path().join("local"),
        &["--judge", &demo_model(), "--limit", "3"],
        &[("HF_HUB_CACHE", &hub), ("HF_HUB_OFFLINE", offline)],
    ));
    let lc = metric(&local, "length_controlled_winrate")
        .as_f64()
        .unwrap();
    assert!((0.0..=100.0).contains(&lc), "{lc}");
    let port = free_port();
    let _server = KillOnDrop(
        yardstick()
            .args([
                "serve",
                "--model",
                &demo_model(),
                "--threads",
                "2",
                "--port",
            ])
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "serve did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let url = format!("http://127.0.0.1:{port}/v1");
    let judge = format!("openai:{SMOL}");
    let empty_hub = dir.path().join("empty-hub");
    let output = run_judged_with(
        &task,
        &dir.path().join("api"),
        &["--judge", &judge, "--judge-base-url", &url, "--limit", "3"],
        &[("HF_HUB_CACHE", &empty_hub), ("HF_HUB_OFFLINE", offline)],
    );
    let (_, stderr) = text(&output);
    assert!(
        stderr.contains("no length-controlled win rate: "),
        "{stderr}"
    );
    let api = summary(&output);
    assert_eq!(metric(&api, "length_controlled_winrate"), Value::Null);
    let (local, api) = (samples(&local), samples(&api));
    assert_eq!(local.len(), 3);
    for (l, a) in local.iter().zip(&api) {
        let (pl, pa) = (
            l["preference"].as_f64().unwrap(),
            a["preference"].as_f64().unwrap(),
        );
        assert!((1.0..=2.0).contains(&pl));
        assert!((pl - pa).abs() < 1e-9, "{pl} vs {pa}");
        assert_eq!(a["judge_api"][0]["completion_tokens"], 1);
    }
}
