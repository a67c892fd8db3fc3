use crate::args::{
    ApiArgs, BenchCommand, BenchGenerateArgs, BenchSandboxArgs, BenchScoringArgs, Cli, Command,
    DataArgs, DriftArgs, MergeArgs, ModelArgs, OutputFormat, RunArgs, ScoringArg, TasksArgs,
};
use crate::table;
use anyhow::{Context, Result};
use std::sync::Arc;
use yardstick_engine::{bench, evaluate, EvalOptions};
use yardstick_models::{
    cached_model, Backend, GgufModel, ModelSpec, OpenAiBackend, OpenAiConfig, Price, PriceTable,
    ScoringMode, SessionOptions, DEMO_MODEL,
};
use yardstick_store::Store;
use yardstick_tasks::{
    ChatFormat, ChatTemplate, DataDir, OutputType, Task, TaskRegistry, TaskTree,
};

pub fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run(args) => run(*args),
        Command::Tasks(args) => tasks(args),
        Command::Bench(BenchCommand::Scoring(args)) => bench_scoring(args),
        Command::Bench(BenchCommand::Generate(args)) => bench_generate(args),
        Command::Bench(BenchCommand::Sandbox(args)) => bench_sandbox(args),
        Command::Bench(BenchCommand::Contam(args)) => crate::contam::bench(args),
        Command::Bench(BenchCommand::Api(args)) => crate::bench_api::run(args),
        Command::Bench(BenchCommand::Store(args)) => crate::bench_store::run(args),
        Command::Sandbox(args) => crate::sandbox::run(args),
        Command::Contam(command) => crate::contam::run(command),
        Command::Compare(args) => crate::report::compare_command(args),
        Command::Report(args) => crate::report::report_command(args),
        Command::Ui(args) => crate::report::ui_command(args),
        Command::Serve(args) => crate::serve::run(args),
        Command::Merge(args) => merge(args),
        Command::Status(args) => crate::status::run(args),
        Command::Drift(args) => drift(args),
        Command::Ratings(args) => crate::judged::ratings(args),
    }
}

/// Loads the `--model` GGUF file (commands that need a local model).
pub(crate) fn load_model(args: &ModelArgs) -> Result<(GgufModel, String)> {
    let spec_text = model_spec_text(args);
    match spec_text.parse::<ModelSpec>()? {
        ModelSpec::Gguf(path) => Ok((GgufModel::load(&path)?, spec_text)),
        ModelSpec::OpenAi(_) => {
            anyhow::bail!("{spec_text}: this command runs a local model; give --model gguf:PATH")
        }
    }
}

pub(crate) fn session_options(args: &ModelArgs) -> SessionOptions {
    SessionOptions {
        threads: args.threads,
        batch_tokens: args.batch_tokens,
        ..SessionOptions::default()
    }
}

fn registry(data: &DataArgs) -> Result<TaskRegistry> {
    let mut registry = TaskRegistry::builtin()?;
    for dir in &data.include_path {
        registry.add_dir(dir)?;
    }
    Ok(registry)
}

/// Expands `--tasks` (task names, files, groups, tags) and loads every task once, in
/// order; returns the tasks and the expanded selection (for group scores).
pub(crate) fn load_tasks(
    names: &[String],
    data: &DataArgs,
    num_fewshot: Option<usize>,
) -> Result<(Vec<Task>, Vec<TaskTree>)> {
    let registry = registry(data)?;
    let data_dir = DataDir::new(data.data_dir.clone());
    let mut selection = Vec::new();
    for name in names {
        selection.extend(registry.expand(name)?);
    }
    let mut leaves: Vec<&str> = Vec::new();
    for leaf in selection.iter().flat_map(TaskTree::leaves) {
        if !leaves.contains(&leaf) {
            leaves.push(leaf);
        }
    }
    let tasks = leaves
        .into_iter()
        .map(|leaf| Ok(Task::load(registry.load(leaf)?, &data_dir, num_fewshot)?))
        .collect::<Result<Vec<_>>>()?;
    Ok((tasks, selection))
}

fn run(args: RunArgs) -> Result<()> {
    let judged = crate::judged::judged_tasks(&args.tasks)?;
    let suites = crate::judged::suite_tasks(&args.tasks)?;
    if !judged.is_empty() || !suites.is_empty() {
        let names: Vec<&str> = judged
            .iter()
            .map(|t| t.task.as_str())
            .chain(suites.iter().map(|t| t.task.as_str()))
            .collect();
        anyhow::ensure!(
            names.len() == args.tasks.len(),
            "judged and suite tasks ({}) run in a command of their own; run the lm-eval tasks \
             separately",
            names.join(", ")
        );
        return crate::judged::run(&args, judged, suites);
    }
    // Tasks first: a typo in a task name should not wait for a model to load.
    let (mut tasks, selection) = load_tasks(&args.tasks, &args.data, args.num_fewshot)?;
    if let Some(instruction) = &args.system_instruction {
        for task in &mut tasks {
            task.set_system_instruction(instruction.clone());
        }
    }
    let spec_text = model_spec_text(&args.model);
    match spec_text.parse::<ModelSpec>()? {
        ModelSpec::Gguf(path) => {
            let model = GgufModel::load(&path)?;
            let mut options = session_options(&args.model);
            if args.apply_chat_template {
                let source = model.chat_template().with_context(|| {
                    format!(
                        "{spec_text} has no chat template in its GGUF metadata \
                         (tokenizer.chat_template); run without --apply-chat-template"
                    )
                })?;
                let template =
                    ChatTemplate::new(&source, model.special_tokens()).with_context(|| {
                        format!("the chat template of {spec_text} does not compile")
                    })?;
                let chat = Arc::new(ChatFormat {
                    template: Some(template),
                    fewshot_as_multiturn: args.fewshot_as_multiturn,
                });
                for task in &mut tasks {
                    task.set_chat_format(chat.clone());
                }
                // Chat prompts hold the template's special tokens as text.
                options.parse_special = true;
            }
            options.mode = match args.scoring {
                ScoringArg::SharedPrefix => ScoringMode::SharedPrefix,
                ScoringArg::Plain => ScoringMode::Plain,
                ScoringArg::Packed => ScoringMode::Packed,
            };
            let mut session = model.session(options.clone())?;
            let settings = serde_json::json!({
                "backend": "llama.cpp (llama-cpp-2)",
                "scoring": format!("{:?}", options.mode),
                "threads": options.threads,
                "batch_tokens": options.batch_tokens,
            });
            evaluate_and_report(
                &mut session,
                &tasks,
                &selection,
                &args,
                spec_text,
                settings,
                None,
            )
        }
        ModelSpec::OpenAi(name) => {
            let mut config = openai_config(name, &args.api, None, None);
            if args.apply_chat_template {
                // The endpoint applies its own template: prompts go as messages to
                // /chat/completions, which returns no prompt logprobs.
                anyhow::ensure!(
                    tasks
                        .iter()
                        .all(|t| t.output_type() == OutputType::GenerateUntil),
                    "--apply-chat-template with an API model sends messages to /chat/completions, \
                     which cannot score log-likelihoods; run multiple-choice tasks without it"
                );
                let chat = Arc::new(ChatFormat {
                    template: None,
                    fewshot_as_multiturn: args.fewshot_as_multiturn,
                });
                for task in &mut tasks {
                    task.set_chat_format(chat.clone());
                }
                config.chat = true;
            }
            let price = api_price(&config, &args.api)?;
            let mut backend = OpenAiBackend::new(config);
            if tasks
                .iter()
                .any(|t| t.output_type() != OutputType::GenerateUntil)
            {
                backend
                    .probe_echo_logprobs()
                    .context("log-likelihood tasks need an endpoint whose echoed prompt logprobs can be trusted")?;
            }
            let settings = serde_json::json!({
                "backend": "openai-compatible",
                "base_url": args.api.base_url,
                "concurrency": args.api.concurrency,
            });
            let result = evaluate_and_report(
                &mut backend,
                &tasks,
                &selection,
                &args,
                spec_text,
                settings,
                price.clone(),
            );
            let counts = backend.counts();
            let cost = price.as_ref().map_or(String::new(), |p| {
                format!(
                    ", ${:.4} at {} prices",
                    p.cost(counts.prompt_tokens, counts.completion_tokens),
                    p.as_of
                )
            });
            eprintln!(
                "requests: {} sent, {} retried, {} failed; tokens: {} prompt, {} completion{cost}",
                counts.sent,
                counts.retried,
                counts.failed,
                counts.prompt_tokens,
                counts.completion_tokens
            );
            result
        }
    }
}

/// An OpenAI-compatible endpoint's settings from the command line; `base_url` and
/// `api_key_env` replace the --base-url and --api-key-env ones when given (a judge
/// elsewhere).
pub(crate) fn openai_config(
    name: String,
    api: &ApiArgs,
    base_url: Option<&str>,
    api_key_env: Option<&str>,
) -> OpenAiConfig {
    let mut config = OpenAiConfig::new(base_url.unwrap_or(&api.base_url).to_owned(), name);
    config.api_key = std::env::var(api_key_env.unwrap_or(&api.api_key_env))
        .ok()
        .filter(|key| !key.is_empty());
    config.concurrency = api.concurrency.max(1);
    config.timeout = std::time::Duration::from_secs_f64(api.request_timeout.max(0.001));
    config.max_retries = api.max_retries;
    config.requests_per_minute = api.requests_per_minute;
    config.tokens_per_minute = api.tokens_per_minute;
    if api.no_cache {
        config.fingerprint_tag = Some(chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string());
    }
    config
}

/// The price of the endpoint's model, from --prices or the shipped table.
pub(crate) fn api_price(config: &OpenAiConfig, api: &ApiArgs) -> Result<Option<Price>> {
    let prices = match &api.prices {
        Some(path) => PriceTable::load(path)?,
        None => PriceTable::shipped(),
    };
    Ok(prices.find(&config.model).cloned())
}

/// The `--model` text, the demo model when none is given.
pub(crate) fn model_spec_text(args: &ModelArgs) -> String {
    args.model
        .clone()
        .unwrap_or_else(|| format!("gguf:{}", cached_model(DEMO_MODEL).display()))
}

/// Evaluates on `backend`, resuming from the store, and prints the scores.
fn evaluate_and_report(
    backend: &mut dyn Backend,
    tasks: &[Task],
    selection: &[TaskTree],
    args: &RunArgs,
    model_source: String,
    backend_settings: serde_json::Value,
    price: Option<Price>,
) -> Result<()> {
    let db_path = args
        .db
        .clone()
        .unwrap_or_else(|| args.output_dir.join("yardstick.db").into());
    let mut store = Store::open(&db_path)?;
    let mut contaminated = std::collections::HashMap::new();
    if args.exclude_contaminated {
        for task in tasks {
            let name = task.name().to_string();
            anyhow::ensure!(
                store.contamination_scanned(&name, task.dataset_hash())?,
                "no contamination scan of task {name} is recorded in {}; run `yardstick contam \
                 scan --tasks {name} --corpus PATH --db {}` first",
                db_path,
                db_path
            );
            contaminated.insert(
                name.clone(),
                store.contaminated_doc_ids(&name, task.dataset_hash())?,
            );
        }
    }
    let eval_options = EvalOptions {
        limit: args.limit,
        output_dir: args.output_dir.clone(),
        chunk_docs: args.chunk_docs,
        progress: true,
        model_source,
        backend_settings,
        code_policy: yardstick_engine::code_eval_policy(),
        contaminated,
        shard: args.shard,
        price,
    };
    let outcome = evaluate(backend, tasks, selection, &mut store, &eval_options)
        .context("evaluation stopped; rerun the same command to resume from the store")?;
    print_outcome(&outcome, args.output, &db_path)
}

/// Prints a run's scores (a table, or JSON) and fails with [`Incomplete`] when
/// documents were left unscored.
pub(crate) fn print_outcome(
    outcome: &yardstick_engine::RunOutcome,
    output: OutputFormat,
    db_path: &yardstick_store::StoreLocation,
) -> Result<()> {
    let failed = outcome.failed();
    match output {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&table::outcome_json(outcome))?
        ),
        OutputFormat::Table => {
            print!("{}", table::scores_table(outcome));
            println!(
                "\nrun {}  {:.1} s  {:.1} docs/s computed\nresults: {}\ndatabase: {}",
                outcome.run_id,
                outcome.seconds,
                outcome.docs_per_second,
                outcome.results_path.display(),
                db_path
            );
            if let Some(whole) = &outcome.whole_run {
                println!(
                    "a shard of run {whole}; `yardstick status {whole} --db {db_path}` says \
                     which shards are still missing"
                );
            }
        }
    }
    if failed > 0 {
        return Err(Incomplete { documents: failed }.into());
    }
    Ok(())
}

/// A run that left documents unscored because their requests failed for good; the
/// process exits with [`Incomplete::EXIT_CODE`].
#[derive(Debug)]
pub struct Incomplete {
    /// Documents left unscored.
    pub documents: usize,
}

impl Incomplete {
    /// The exit code of an incomplete run (1 is any other error).
    pub const EXIT_CODE: u8 = 3;
}

impl std::fmt::Display for Incomplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "incomplete run: {} documents are not scored because their requests failed after \
             every retry (recorded in the database, left out of the scores); rerun the same \
             command to retry only them",
            self.documents
        )
    }
}

impl std::error::Error for Incomplete {}

fn drift(args: DriftArgs) -> Result<()> {
    let store = Store::open_read_only(&args.db)?;
    let report = yardstick_compare::drift(&store, &args.run_a, &args.run_b)?;
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Table => {
            println!(
                "run A {}: served {}",
                report.run_a,
                report.served_a.join(", ")
            );
            println!(
                "run B {}: served {}\n",
                report.run_b,
                report.served_b.join(", ")
            );
            let rows: Vec<Vec<String>> = report
                .tasks
                .iter()
                .flat_map(|task| {
                    let changed = format!("{} of {}", task.changed_outputs, task.items);
                    let mut rows: Vec<Vec<String>> = task
                        .metrics
                        .iter()
                        .map(|m| {
                            vec![
                                task.task.clone(),
                                changed.clone(),
                                m.metric.clone(),
                                format!("{:.4} → {:.4}", m.value_a, m.value_b),
                                format!("{} / {}", m.only_a, m.only_b),
                                format!("{:.4}", m.p_value),
                            ]
                        })
                        .collect();
                    if rows.is_empty() {
                        rows.push(vec![
                            task.task.clone(),
                            changed,
                            String::new(),
                            String::new(),
                            String::new(),
                            String::new(),
                        ]);
                    }
                    rows
                })
                .collect();
            print!(
                "{}",
                yardstick_report::markdown_table(
                    &[
                        "task",
                        "changed outputs",
                        "metric",
                        "A → B",
                        "right only in A / B",
                        "McNemar p"
                    ],
                    &rows
                )
            );
        }
    }
    Ok(())
}

fn merge(args: MergeArgs) -> Result<()> {
    let mut store = Store::open(&args.db)?;
    let mut added = 0;
    for source in &args.stores {
        added += store
            .merge_from(source)
            .with_context(|| format!("cannot merge {source}"))?;
    }
    println!(
        "merged {added} items from {} databases into {}\nwrite the combined run's results with \
         the workers' run command, without --shard, with --db {} (nothing is recomputed)",
        args.stores.len(),
        args.db,
        args.db
    );
    Ok(())
}

fn tasks(args: TasksArgs) -> Result<()> {
    let registry = registry(&args.data)?;
    let mut names = registry.names();
    names.extend(registry.group_names());
    names.extend(yardstick_judge::builtin_judged_tasks());
    names.extend(yardstick_suites::builtin_suite_tasks());
    names.sort_unstable();
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&names)?),
        OutputFormat::Table => {
            for name in names {
                println!("{name}");
            }
        }
    }
    Ok(())
}

fn bench_generate(args: BenchGenerateArgs) -> Result<()> {
    let (tasks, _) = load_tasks(std::slice::from_ref(&args.task), &args.data, Some(0))?;
    let prompts: Vec<String> = tasks[0]
        .generate_docs(Some(args.limit))?
        .into_iter()
        .map(|d| d.request.prompt)
        .collect();
    anyhow::ensure!(!prompts.is_empty(), "task {} has no documents", args.task);
    let (model, spec) = load_model(&args.model)?;
    let options = session_options(&args.model);
    let report =
        bench::generation_benchmark(&model, &prompts, args.tokens, args.batch.max(1), options)?;
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Table => print!(
            "{}",
            table::generation_bench_table(&report, &spec, &args.task)
        ),
    }
    Ok(())
}

fn bench_sandbox(args: BenchSandboxArgs) -> Result<()> {
    let (tasks, _) = load_tasks(&["humaneval".to_owned()], &args.data, None)?;
    // Each reference solution as the scorer runs a candidate: prompt + completion, then
    // the tests and `check(entry_point)`.
    let programs = tasks[0]
        .generate_docs(Some(args.limit))?
        .into_iter()
        .map(|doc| {
            let solution = doc.doc["canonical_solution"].as_str().unwrap_or_default();
            yardstick_sandbox::Program::new(
                format!("humaneval/{}", doc.doc_id),
                format!("{}{solution}\n{}", doc.request.prompt, doc.target),
            )
        })
        .collect::<Vec<_>>();
    anyhow::ensure!(!programs.is_empty(), "no HumanEval problems to run");
    let report = bench::sandbox_benchmark(&programs, yardstick_engine::code_eval_policy())?;
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Table => print!("{}", table::sandbox_bench_table(&report)),
    }
    Ok(())
}

fn bench_scoring(args: BenchScoringArgs) -> Result<()> {
    let (tasks, _) = load_tasks(std::slice::from_ref(&args.task), &args.data, Some(0))?;
    let docs = tasks[0].multiple_choice_docs(Some(args.limit))?;
    let (model, spec) = load_model(&args.model)?;
    let options = session_options(&args.model);
    let report = bench::scoring_benchmark(&model, &docs, options.clone())?;
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        OutputFormat::Table => print!(
            "{}",
            table::bench_table(&report, &spec, &args.task, options.threads)
        ),
    }
    Ok(())
}
