//! Code tasks through the engine, with the real sandbox: the candidate program is built
//! as lm-eval builds it, runs with the tests, and pass@k comes out of how many
//! candidates passed.
//!
//! What answers the generation requests here is a replay of known completions — the
//! benchmarks' own reference solutions, or a body of `pass` — not a model: the thing
//! under test is what the engine does with a completion (the model path has its own
//! tests), and only known completions say what the score must be.

#[path = "../../yardstick-tasks/tests/common/mod.rs"]
mod common;

use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use yardstick_core::{
    GenerateRequest, GenerateResponse, LoglikelihoodRequest, LoglikelihoodResponse,
    ModelFingerprint, Sampling, StopReason,
};
use yardstick_engine::{evaluate, EvalOptions};
use yardstick_models::{Backend, ModelError};
use yardstick_store::Store;
use yardstick_tasks::{DataDir, Task, TaskRegistry, TaskTree};

/// Answers each prompt with the completion registered for it; when sampling, repeat
/// `seed - 1234` (the seed the task's repeats get) picks the completion in turn.
struct Replay {
    fingerprint: ModelFingerprint,
    completions: HashMap<String, Vec<String>>,
    asked: usize,
}

impl Backend for Replay {
    fn name(&self) -> &str {
        "replay"
    }

    fn fingerprint(&self) -> &ModelFingerprint {
        &self.fingerprint
    }

    fn loglikelihood(
        &mut self,
        _: &[LoglikelihoodRequest],
    ) -> Result<Vec<LoglikelihoodResponse>, ModelError> {
        Err(ModelError::BadRequest(
            "replay answers generation only".into(),
        ))
    }

    fn generate(
        &mut self,
        requests: &[GenerateRequest],
    ) -> Result<Vec<GenerateResponse>, ModelError> {
        self.asked += requests.len();
        requests
            .iter()
            .map(|request| {
                let choices = self.completions.get(&request.prompt).ok_or_else(|| {
                    ModelError::BadRequest(format!("no completion for {:?}", request.prompt))
                })?;
                let index = match request.sampling {
                    Sampling::Greedy => 0,
                    Sampling::Sample { seed, .. } => (seed - 1234) as usize % choices.len(),
                };
                Ok(GenerateResponse {
                    text: choices[index].clone(),
                    tokens: Vec::new(),
                    stop: StopReason::MaxTokens,
                })
            })
            .collect()
    }
}

fn humaneval_docs() -> Vec<Value> {
    let dir = common::data_dir(&["humaneval/HumanEval.jsonl.gz"]);
    yardstick_tasks::read_data_file(&dir.join("humaneval/HumanEval.jsonl.gz")).unwrap()
}

fn run(task: &Task, backend: &mut Replay, out: &Path) -> (Value, Vec<Value>) {
    let mut store = Store::open_in_memory().unwrap();
    let mut options = EvalOptions::new(out.to_owned());
    options.progress = false;
    options.limit = Some(4);
    let selection = [TaskTree::Task(task.name().to_string())];
    let outcome = evaluate(
        backend,
        std::slice::from_ref(task),
        &selection,
        &mut store,
        &options,
    )
    .unwrap();
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(&outcome.results_path).unwrap()).unwrap();
    let samples = std::fs::read_to_string(&outcome.tasks[0].samples_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (results, samples)
}

fn field<'a>(doc: &'a Value, key: &str) -> &'a str {
    doc[key].as_str().unwrap()
}

/// HumanEval's first four problems answered greedily: two with the canonical solution,
/// two with `pass`. pass@1 is 0.5, each sample's pass@1 says whether its program
/// passed, and the program is prompt + completion, then the tests and `check(...)`.
#[test]
fn humaneval_programs_run_in_the_sandbox_and_score_pass_at_1() {
    let docs = humaneval_docs();
    let completions = docs
        .iter()
        .take(4)
        .enumerate()
        .map(|(i, doc)| {
            let completion = if i % 2 == 0 {
                field(doc, "canonical_solution").to_owned()
            } else {
                "    pass\n".to_owned()
            };
            (field(doc, "prompt").to_owned(), vec![completion])
        })
        .collect();
    let mut backend = Replay {
        fingerprint: ModelFingerprint::from_raw("replay:humaneval"),
        completions,
        asked: 0,
    };
    let registry = TaskRegistry::builtin().unwrap();
    let data = DataDir::new(Some(common::data_dir(&["humaneval/HumanEval.jsonl.gz"])));
    let task = Task::load(registry.load("humaneval").unwrap(), &data, None).unwrap();
    let out = tempfile::tempdir().unwrap();
    let (results, samples) = run(&task, &mut backend, out.path());
    assert_eq!(results["results"]["humaneval"]["pass@1,create_test"], 0.5);
    assert_eq!(samples.len(), 4);
    for (i, sample) in samples.iter().enumerate() {
        let doc = &sample["doc"];
        let passed = i % 2 == 0;
        assert_eq!(sample["pass@1"], if passed { 1.0 } else { 0.0 });
        let candidate = sample["filtered_resps"][0][0].as_str().unwrap();
        assert_eq!(
            candidate,
            format!(
                "{}{}",
                field(doc, "prompt"),
                sample["resps"][0][0].as_str().unwrap()
            )
        );
        assert_eq!(
            sample["target"].as_str().unwrap(),
            format!(
                "{}\ncheck({})",
                field(doc, "test"),
                field(doc, "entry_point")
            )
        );
        let verdict = sample["executions"][0]["verdict"].as_str().unwrap();
        if passed {
            assert_eq!(verdict, "passed");
        } else {
            assert!(verdict.starts_with("failed: "), "{verdict}");
        }
    }
}

/// pass@k from several samples: a task with `repeats: 4` at temperature 0.8 sends four
/// requests per problem with seeds of their own; the replay answers two of them with
/// the canonical solution, so pass@1 is 2/4 and pass@2 is 1 - C(2,2)/C(4,2) = 5/6.
#[test]
fn repeats_give_pass_at_k_by_the_unbiased_estimator() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = common::data_dir(&["humaneval/HumanEval.jsonl.gz"]);
    let builtin = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../yardstick-tasks/tasks/humaneval/humaneval.yaml");
    std::fs::copy(&builtin, dir.path().join("humaneval.yaml")).unwrap();
    let sampled = dir.path().join("humaneval_4.yaml");
    std::fs::write(
        &sampled,
        "include: humaneval.yaml\ntask: humaneval_4\nrepeats: 4\nmetric_list:\n  - metric: !function humaneval.pass_at_k\n    k: [1, 2]\ngeneration_kwargs:\n  until: [\"\\ndef\"]\n  do_sample: true\n  temperature: 0.8\n",
    )
    .unwrap();
    let config = TaskRegistry::builtin()
        .unwrap()
        .load(sampled.to_str().unwrap())
        .unwrap();
    let task = Task::load(config, &DataDir::new(Some(data_dir)), None).unwrap();
    let docs = humaneval_docs();
    let completions = docs
        .iter()
        .take(4)
        .map(|doc| {
            let right = field(doc, "canonical_solution").to_owned();
            let wrong = "    return None\n".to_owned();
            (
                field(doc, "prompt").to_owned(),
                vec![right.clone(), wrong.clone(), wrong, right],
            )
        })
        .collect();
    let mut backend = Replay {
        fingerprint: ModelFingerprint::from_raw("replay:humaneval_4"),
        completions,
        asked: 0,
    };
    let (results, samples) = run(&task, &mut backend, &dir.path().join("out"));
    assert_eq!(backend.asked, 16, "four sampled requests per problem");
    let entry = &results["results"]["humaneval_4"];
    assert_eq!(entry["pass@1,create_test"], 0.5);
    let pass_at_2 = entry["pass@2,create_test"].as_f64().unwrap();
    assert!((pass_at_2 - 5.0 / 6.0).abs() < 1e-12, "{entry}");
    for sample in &samples {
        assert_eq!(sample["resps"][0].as_array().unwrap().len(), 4);
        let passed: Vec<bool> = sample["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["passed"].as_bool().unwrap())
            .collect();
        assert_eq!(passed, [true, false, false, true]);
    }
}
