//! `yardstick bench api`: the harness's own cost per API request. Both yardstick and
//! lm-evaluation-harness (`local-completions`) run a generation task against the same
//! local endpoint that answers at once; the endpoint times them alike (requests over the
//! span from first to last arrival), at each concurrency.

use crate::args::{DataArgs, OutputFormat};
use crate::commands::load_tasks;
use anyhow::{Context, Result};
use clap::Args;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;
use yardstick_engine::{evaluate, EvalOptions};
use yardstick_models::{OpenAiBackend, OpenAiConfig};
use yardstick_serve::CannedEndpoint;
use yardstick_store::Store;

#[derive(Debug, Args)]
pub struct BenchApiArgs {
    /// The generation task whose prompts are sent.
    #[arg(long, default_value = "gsm8k")]
    pub task: String,
    /// Documents (requests) per measurement.
    #[arg(long, default_value_t = 500)]
    pub limit: usize,
    /// Concurrency levels to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,64,256")]
    pub concurrency: Vec<usize>,
    /// Python with lm-eval 0.4.12 installed (default: the reference virtualenv of
    /// scripts/setup.sh --reference, when it exists); `none` skips the peer.
    #[arg(long, value_name = "PYTHON")]
    pub lm_eval_python: Option<String>,
    /// Responder threads of the local endpoint.
    #[arg(long, default_value_t = 16)]
    pub endpoint_threads: usize,
    /// Print as a table or as JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub data: DataArgs,
}

/// lm-eval's own task files pointed at the local data (the parity scripts' writer).
const LM_EVAL_TASKS: &str = include_str!("../../../scripts/parity/lm_eval_tasks.py");

/// What the endpoint answers: an answer line, then the start of another question, which
/// both harnesses cut at their stop strings.
const CANNED_TEXT: &str = " She has 3 + 4 = 7 apples.\n#### 7\n\nQuestion: ";

struct Measurement {
    harness: &'static str,
    concurrency: usize,
    requests: usize,
    requests_per_second: f64,
    wall_seconds: f64,
    error: Option<String>,
}

pub fn run(args: BenchApiArgs) -> Result<()> {
    let endpoint = CannedEndpoint::start(CANNED_TEXT, args.endpoint_threads)?;
    let base_url = endpoint.base_url();
    let (tasks, selection) = load_tasks(std::slice::from_ref(&args.task), &args.data, None)?;
    let scratch = tempfile::tempdir().context("cannot make a temporary folder")?;
    let mut results = Vec::new();
    for &concurrency in &args.concurrency {
        let mut config = OpenAiConfig::new(base_url.clone(), "canned");
        config.concurrency = concurrency.max(1);
        config.max_retries = 0;
        let mut backend = OpenAiBackend::new(config);
        let dir = scratch.path().join(format!("yardstick-{concurrency}"));
        let mut store = Store::open(dir.join("yardstick.db"))?;
        let mut options = EvalOptions::new(dir.clone());
        options.limit = Some(args.limit);
        options.progress = false;
        // A chunk is one batch of requests in flight: several rounds of the concurrency.
        options.chunk_docs = (concurrency * 4).max(64);
        options.model_source = "openai:canned".into();
        endpoint.reset();
        let started = Instant::now();
        evaluate(&mut backend, &tasks, &selection, &mut store, &options)?;
        let (requests, rate) = endpoint.rate();
        results.push(Measurement {
            harness: "yardstick",
            concurrency,
            requests,
            requests_per_second: rate,
            wall_seconds: started.elapsed().as_secs_f64(),
            error: None,
        });
    }
    if let Some(python) = lm_eval_python(&args) {
        let tasks_dir = scratch.path().join("lm_eval_tasks");
        let writer = scratch.path().join("lm_eval_tasks.py");
        std::fs::write(&writer, LM_EVAL_TASKS)?;
        let data_dir = args.data.data_dir.clone().context(
            "the lm-eval peer needs the data directory: --data-dir or YARDSTICK_DATA_DIR",
        )?;
        let status = std::process::Command::new(&python)
            .arg(&writer)
            .arg(&tasks_dir)
            .arg("--data-dir")
            .arg(&data_dir)
            .output()
            .with_context(|| format!("cannot run {python}"))?;
        anyhow::ensure!(
            status.status.success(),
            "writing lm-eval's task files failed: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        for &concurrency in &args.concurrency {
            endpoint.reset();
            let started = Instant::now();
            let error = run_lm_eval(
                &python,
                &base_url,
                &tasks_dir,
                scratch.path(),
                &args,
                concurrency,
            )?;
            let (requests, rate) = endpoint.rate();
            results.push(Measurement {
                harness: "lm-eval local-completions",
                concurrency,
                requests,
                requests_per_second: rate,
                wall_seconds: started.elapsed().as_secs_f64(),
                error,
            });
        }
    }
    print_results(&args, &results)
}

fn lm_eval_python(args: &BenchApiArgs) -> Option<String> {
    match args.lm_eval_python.as_deref() {
        Some("none") => None,
        Some(python) => Some(python.to_owned()),
        None => {
            let venv = yardstick_models::cache_dir().join("reference-venv/bin/python");
            venv.exists().then(|| venv.display().to_string())
        }
    }
}

/// Runs lm-eval on the task against the endpoint; returns its error output if it failed.
fn run_lm_eval(
    python: &str,
    base_url: &str,
    tasks_dir: &Path,
    scratch: &Path,
    args: &BenchApiArgs,
    concurrency: usize,
) -> Result<Option<String>> {
    let model_args = format!(
        "model=canned,base_url={base_url}/completions,num_concurrent={concurrency},\
         tokenized_requests=False,tokenizer_backend=None,max_retries=1"
    );
    let output_path: PathBuf = scratch.join(format!("lm_eval-{concurrency}"));
    let output = std::process::Command::new(python)
        .args([
            "-m",
            "lm_eval",
            "run",
            "--model",
            "local-completions",
            "--model_args",
        ])
        .arg(&model_args)
        .args([
            "--tasks",
            &args.task,
            "--limit",
            &args.limit.to_string(),
            "--include_path",
        ])
        .arg(tasks_dir)
        .arg("--output_path")
        .arg(&output_path)
        .env("HF_DATASETS_OFFLINE", "1")
        .env("HF_HUB_OFFLINE", "1")
        .env("TOKENIZERS_PARALLELISM", "false")
        .output()
        .with_context(|| format!("cannot run {python} -m lm_eval"))?;
    Ok((!output.status.success()).then(|| {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }))
}

fn print_results(args: &BenchApiArgs, results: &[Measurement]) -> Result<()> {
    // yardstick's requests/s over lm-eval's at the same concurrency (yardstick rows).
    let ratio = |m: &Measurement| -> Option<f64> {
        if m.harness != "yardstick" {
            return None;
        }
        results
            .iter()
            .find(|p| {
                p.harness != "yardstick" && p.concurrency == m.concurrency && p.error.is_none()
            })
            .map(|p| m.requests_per_second / p.requests_per_second)
    };
    match args.output {
        OutputFormat::Json => {
            let rows: Vec<Value> = results
                .iter()
                .map(|m| {
                    json!({
                        "harness": m.harness,
                        "concurrency": m.concurrency,
                        "requests": m.requests,
                        "requests_per_second": m.requests_per_second,
                        "wall_seconds": m.wall_seconds,
                        "end_to_end_requests_per_second": m.requests as f64 / m.wall_seconds,
                        "ratio_to_lm_eval": ratio(m),
                        "error": m.error,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &json!({"task": args.task, "limit": args.limit, "runs": rows})
                )?
            );
        }
        OutputFormat::Table => {
            let rows: Vec<Vec<String>> = results
                .iter()
                .map(|m| {
                    vec![
                        m.harness.to_owned(),
                        m.concurrency.to_string(),
                        m.requests.to_string(),
                        format!("{:.1}", m.requests_per_second),
                        format!("{:.2}", m.wall_seconds),
                        format!("{:.1}", m.requests as f64 / m.wall_seconds),
                        ratio(m).map_or(String::new(), |r| format!("{r:.2}x")),
                        m.error.clone().unwrap_or_default().replace('\n', " / "),
                    ]
                })
                .collect();
            print!(
                "{}",
                yardstick_report::markdown_table(
                    &[
                        "harness",
                        "concurrency",
                        "requests",
                        "requests/s at the endpoint",
                        "wall s",
                        "requests/s end to end",
                        "vs lm-eval (endpoint)",
                        "error",
                    ],
                    &rows
                )
            );
        }
    }
    Ok(())
}
