use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use yardstick_core::DATA_DIR_ENV;

/// Measure language models against each other, benchmark by benchmark, with numbers
/// identical to the reference harnesses.
#[derive(Debug, Parser)]
#[command(name = "yardstick", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate a model on tasks; scores are stored and a killed run resumes.
    Run(Box<RunArgs>),
    /// List the tasks yardstick knows.
    Tasks(TasksArgs),
    /// Measure speed against named peers.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run one Python file in the sandbox that code benchmarks use; print how it ended.
    Sandbox(crate::sandbox::SandboxArgs),
    /// Models side by side against a reference: scores, differences with 95% intervals,
    /// verdicts, the catch-up map.
    Compare(crate::report::CompareArgs),
    /// Write the comparison as a self-contained HTML page, markdown, CSV, JSON and SVG
    /// charts.
    Report(crate::report::ReportArgs),
    /// Compare two runs of the same tasks item by item: changed outputs, McNemar per
    /// right/wrong metric, the model ids and system fingerprints served.
    Drift(DriftArgs),
    /// Combine the databases of sharded workers into one (or copy a SQLite file into
    /// PostgreSQL); then the unsharded run command with that --db writes the results
    /// without recomputing anything.
    Merge(MergeArgs),
    /// Whether a run has finished: for a sharded run, which shards are still missing;
    /// and how many items each task has stored.
    Status(crate::status::StatusArgs),
    /// Serve a GGUF model over an OpenAI-compatible HTTP API (completions with echo and
    /// logprobs, chat completions).
    Serve(crate::serve::ServeArgs),
    /// Serve a local, read-only leaderboard with per-item drill-down.
    Ui(crate::report::UiArgs),
    /// Benchmark contamination: find benchmark items in training corpora.
    #[command(subcommand)]
    Contam(crate::contam::ContamCommand),
    /// Bradley–Terry ratings (Elo scale, bootstrap 95% intervals) over every pairwise
    /// judgment in a results database (mt_bench_pairwise, alpaca_eval).
    Ratings(crate::judged::RatingsArgs),
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Multiple-choice scoring throughput against llama.cpp's raw prefill.
    Scoring(BenchScoringArgs),
    /// Generation throughput at batch 1 and batch N against llama.cpp's greedy loop.
    Generate(BenchGenerateArgs),
    /// Sandbox programs/s on HumanEval's reference solutions against bare python3.
    Sandbox(BenchSandboxArgs),
    /// API harness overhead: requests/s against an instant local endpoint, beside
    /// lm-eval's local-completions.
    Api(crate::bench_api::BenchApiArgs),
    /// Contamination scan MB/s and recall on a synthetic corpus against a Python scan.
    Contam(crate::contam::BenchContamArgs),
    /// Items written per second into PostgreSQL by 1, 4 and 16 concurrent writers,
    /// beside a SQLite file.
    Store(crate::bench_store::BenchStoreArgs),
}

/// The results database `run` writes by default (`--output-dir`'s default, then
/// `yardstick.db`), and the one the commands that read it open by default.
pub const DEFAULT_DB: &str = "yardstick-out/yardstick.db";

/// Where the benchmark data and extra task files are.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// Benchmark data directory (laid out as ../shared/data).
    #[arg(long, env = DATA_DIR_ENV, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Extra folder of task YAML files (searched recursively).
    #[arg(long, value_name = "DIR")]
    pub include_path: Vec<PathBuf>,
}

/// The model and how to run it.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// The model: gguf:PATH for a local GGUF file. Defaults to the demo model fetched by
    /// scripts/setup.sh.
    #[arg(long, value_name = "SPEC")]
    pub model: Option<String>,
    /// CPU threads for llama.cpp (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Tokens per llama.cpp decode call.
    #[arg(long, default_value_t = 512)]
    pub batch_tokens: u32,
}

/// How to reach a model behind an OpenAI-compatible endpoint (`--model openai:MODEL`).
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// API root of the endpoint (`http://127.0.0.1:8080/v1` for `yardstick serve`).
    #[arg(long, value_name = "URL", default_value = "https://api.openai.com/v1")]
    pub base_url: String,
    /// Environment variable that holds the API key (never logged or stored).
    #[arg(long, value_name = "VAR", default_value = "OPENAI_API_KEY")]
    pub api_key_env: String,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Seconds one request may take before it is retried.
    #[arg(long, value_name = "SECONDS", default_value_t = 120.0)]
    pub request_timeout: f64,
    /// Retries of a request that failed with 429, 5xx, a timeout or a broken connection.
    #[arg(long, default_value_t = 6)]
    pub max_retries: u32,
    /// Requests started per minute at most.
    #[arg(long, value_name = "N")]
    pub requests_per_minute: Option<f64>,
    /// Tokens (prompt + completion) per minute at most.
    #[arg(long, value_name = "N")]
    pub tokens_per_minute: Option<f64>,
    /// Token prices (CSV as prices/api_prices.csv; default: that shipped table).
    #[arg(long, value_name = "CSV")]
    pub prices: Option<PathBuf>,
    /// Send every request again instead of reusing stored answers (a new run, e.g. to
    /// compare with `yardstick drift`).
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScoringArg {
    /// Decode each context once and score every choice on top of it (exact).
    SharedPrefix,
    /// Recompute the context for every choice (exact, slowest).
    Plain,
    /// Many questions per batch (fastest on GPUs; numbers depend on batch shape).
    Packed,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    /// A table for people.
    Table,
    /// JSON for scripts.
    Json,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub api: ApiArgs,
    /// Comma-separated task names or task YAML paths.
    #[arg(long, value_delimiter = ',', default_value = "arc_easy,arc_challenge")]
    pub tasks: Vec<String>,
    /// Evaluate only the first N documents of each task.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Few-shot examples per prompt (default: the task file's, else 0).
    #[arg(long, value_name = "K")]
    pub num_fewshot: Option<usize>,
    /// Folder for the results JSON and per-sample JSONL.
    #[arg(long, default_value = "yardstick-out", value_name = "DIR")]
    pub output_dir: PathBuf,
    /// Results database: a SQLite file, or a PostgreSQL URL
    /// (postgres://user@host:port/dbname) that many workers share; the password comes
    /// from the URL, PGPASSWORD or ~/.pgpass and is never shown (default: yardstick.db
    /// in the output folder).
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<yardstick_store::StoreLocation>,
    /// Documents per batch and per store transaction.
    #[arg(long, default_value_t = 64)]
    pub chunk_docs: usize,
    /// Multiple-choice scoring strategy.
    #[arg(long, value_enum, default_value_t = ScoringArg::SharedPrefix)]
    pub scoring: ScoringArg,
    /// Render prompts with the model's chat template (from the GGUF metadata), as
    /// lm-eval's --apply_chat_template does.
    #[arg(long)]
    pub apply_chat_template: bool,
    /// With --apply-chat-template: few-shot examples as alternating user and assistant
    /// turns instead of one user message.
    #[arg(long, requires = "apply_chat_template")]
    pub fewshot_as_multiturn: bool,
    /// Text put before each task's description (a system message in a chat).
    #[arg(long, value_name = "TEXT")]
    pub system_instruction: Option<String>,
    /// Evaluate only worker I's share of N (documents whose id % N == I), for a run split
    /// across a job array; combine the workers' databases with `yardstick merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<yardstick_engine::Shard>,
    /// Also report each task's scores without the documents `yardstick contam scan`
    /// found in a corpus (recorded in the same database).
    #[arg(long)]
    pub exclude_contaminated: bool,
    /// Print the scores as a table or as JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// The judge of judged tasks (mt_bench, mt_bench_pairwise, alpaca_eval,
    /// alpaca_eval_2): gguf:PATH or openai:MODEL; overrides the task file's `judge`.
    #[arg(long, value_name = "SPEC")]
    pub judge: Option<String>,
    /// The judge's API root, when it is not --base-url.
    #[arg(long, value_name = "URL")]
    pub judge_base_url: Option<String>,
    /// Environment variable with the judge's API key, when it is not --api-key-env.
    #[arg(long, value_name = "VAR")]
    pub judge_api_key_env: Option<String>,
    /// The baseline model of pairwise judged tasks (mt_bench_pairwise): gguf:PATH or
    /// openai:MODEL (at --base-url).
    #[arg(long, value_name = "SPEC")]
    pub baseline: Option<String>,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args)]
pub struct TasksArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Print as a table or as JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct BenchScoringArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The multiple-choice task to score.
    #[arg(long, default_value = "arc_easy")]
    pub task: String,
    /// Documents to score.
    #[arg(long, default_value_t = 300)]
    pub limit: usize,
    /// Print as a table or as JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args)]
pub struct BenchGenerateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The generation task whose prompts are used (0-shot).
    #[arg(long, default_value = "gsm8k")]
    pub task: String,
    /// Prompts to generate from.
    #[arg(long, default_value_t = 16)]
    pub limit: usize,
    /// Tokens to generate per prompt (fewer where the model ends the text).
    #[arg(long, default_value_t = 128)]
    pub tokens: usize,
    /// Sequences per decode call in the batched run.
    #[arg(long, default_value_t = 8)]
    pub batch: usize,
    /// Print as a table or as JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args)]
pub struct BenchSandboxArgs {
    /// HumanEval problems whose reference solution and tests are run.
    #[arg(long, default_value_t = 164)]
    pub limit: usize,
    /// Print as a table or as JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The database to merge into (created if missing): a SQLite file or a PostgreSQL
    /// URL.
    #[arg(long, value_name = "PATH|URL")]
    pub db: yardstick_store::StoreLocation,
    /// The workers' databases (SQLite files or PostgreSQL URLs).
    #[arg(required = true, value_name = "STORE")]
    pub stores: Vec<yardstick_store::StoreLocation>,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The earlier run's id (printed by `yardstick run`).
    pub run_a: String,
    /// The later run's id.
    pub run_b: String,
    /// Results database holding both runs.
    #[arg(
        long,
        value_name = "PATH|URL",
        default_value = DEFAULT_DB
    )]
    pub db: yardstick_store::StoreLocation,
    /// Print a table or JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}
