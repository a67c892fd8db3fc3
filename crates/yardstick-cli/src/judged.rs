//! `yardstick run` on judged tasks (MT-Bench, AlpacaEval) and `yardstick ratings`.

use crate::args::{ApiArgs, OutputFormat, RunArgs};
use crate::commands::{api_price, model_spec_text, openai_config, print_outcome, session_options};
use anyhow::{Context, Result};
use clap::Args;
use yardstick_judge::{
    run_alpaca_eval, run_mt_bench, stored_battles, JudgeMode, JudgedKind, JudgedOptions,
    JudgedOutcome, JudgedTaskConfig, Participant,
};
use yardstick_metrics::{online_elo, rate, Battle};
use yardstick_models::{Backend, GgufModel, ModelSpec, OpenAiBackend, OpenAiConfig, Price};
use yardstick_store::Store;
use yardstick_suites::{run_suite, SuiteTaskConfig};
use yardstick_tasks::{ChatFormat, ChatTemplate};

/// The judged tasks among `--tasks` (built-in names or judged task files).
pub(crate) fn judged_tasks(names: &[String]) -> Result<Vec<JudgedTaskConfig>> {
    let mut out = Vec::new();
    for name in names {
        if let Some(task) = JudgedTaskConfig::find(name)? {
            out.push(task);
        }
    }
    Ok(out)
}

/// The suite tasks among `--tasks` (BFCL, NIAH, HaluEval, AdvBench, structured output).
pub(crate) fn suite_tasks(names: &[String]) -> Result<Vec<SuiteTaskConfig>> {
    let mut out = Vec::new();
    for name in names {
        if let Some(task) = SuiteTaskConfig::find(name)? {
            out.push(task);
        }
    }
    Ok(out)
}

/// A model loaded for a judged run: a GGUF file in memory, or an endpoint's settings.
enum LoadedModel {
    Gguf {
        model: GgufModel,
        spec: String,
    },
    OpenAi {
        config: OpenAiConfig,
        price: Option<Price>,
    },
}

impl LoadedModel {
    fn load(
        spec: &str,
        api: &ApiArgs,
        base_url: Option<&str>,
        key_env: Option<&str>,
    ) -> Result<Self> {
        Ok(match spec.parse::<ModelSpec>()? {
            ModelSpec::Gguf(path) => LoadedModel::Gguf {
                model: GgufModel::load(&path)?,
                spec: spec.to_owned(),
            },
            ModelSpec::OpenAi(name) => {
                let mut config = openai_config(name, api, base_url, key_env);
                // Conversations go as messages; the endpoint applies its own template.
                config.chat = true;
                let price = api_price(&config, api)?;
                LoadedModel::OpenAi { config, price }
            }
        })
    }

    /// How conversations become this model's prompts: its GGUF chat template, or
    /// messages for a chat endpoint.
    fn chat_format(&self) -> Result<ChatFormat> {
        let template = match self {
            LoadedModel::Gguf { model, spec } => {
                let source = model.chat_template().with_context(|| {
                    format!(
                        "{spec} has no chat template in its GGUF metadata \
                         (tokenizer.chat_template); judged tasks need a chat model"
                    )
                })?;
                Some(
                    ChatTemplate::new(&source, model.special_tokens())
                        .with_context(|| format!("the chat template of {spec} does not compile"))?,
                )
            }
            LoadedModel::OpenAi { .. } => None,
        };
        Ok(ChatFormat {
            template,
            fewshot_as_multiturn: false,
        })
    }

    fn backend(&self, args: &RunArgs) -> Result<Box<dyn Backend + '_>> {
        Ok(match self {
            LoadedModel::Gguf { model, .. } => {
                let mut options = session_options(&args.model);
                // Chat prompts hold the template's special tokens as text; a second turn
                // or a judge prompt holds whole answers.
                options.parse_special = true;
                options.generation_cells = 8192;
                options.context_cells = 8192;
                options.generation_sequences = 4;
                Box::new(model.session(options)?)
            }
            LoadedModel::OpenAi { config, .. } => Box::new(OpenAiBackend::new(config.clone())),
        })
    }
}

/// Runs each suite task on the candidate (`--model`), then each judged task with its
/// judge (`--judge`, else the task file's) and for pairwise tasks the baseline
/// (`--baseline`).
pub(crate) fn run(
    args: &RunArgs,
    tasks: Vec<JudgedTaskConfig>,
    suites: Vec<SuiteTaskConfig>,
) -> Result<()> {
    let data_dir = args.data.data_dir.clone().context(
        "judged and suite tasks read their items from the data directory; give --data-dir or \
         set YARDSTICK_DATA_DIR",
    )?;
    let db_path = args
        .db
        .clone()
        .unwrap_or_else(|| args.output_dir.join("yardstick.db").into());
    let mut store = Store::open(&db_path)?;
    let candidate_spec = model_spec_text(&args.model);
    let candidate_model = LoadedModel::load(&candidate_spec, &args.api, None, None)?;
    let candidate_chat = candidate_model.chat_format()?;
    let mut candidate_backend = candidate_model.backend(args)?;
    let options = JudgedOptions {
        limit: args.limit,
        data_dir,
        output_dir: args.output_dir.clone(),
        chunk_docs: args.chunk_docs.min(16),
        progress: true,
    };
    for task in suites {
        let mut candidate = Participant {
            backend: candidate_backend.as_mut(),
            chat: &candidate_chat,
            source: candidate_spec.clone(),
        };
        let judge_spec = args.judge.clone().or_else(|| task.judge.clone());
        let judge_model = match &judge_spec {
            Some(spec) => Some(LoadedModel::load(
                spec,
                &args.api,
                args.judge_base_url.as_deref(),
                args.judge_api_key_env.as_deref(),
            )?),
            None => None,
        };
        let judge_chat = judge_model
            .as_ref()
            .map(LoadedModel::chat_format)
            .transpose()?;
        let mut judge_backend = match &judge_model {
            Some(model) => Some(model.backend(args)?),
            None => None,
        };
        let mut judge = match (judge_backend.as_mut(), &judge_chat, &judge_spec) {
            (Some(backend), Some(chat), Some(spec)) => Some(Participant {
                backend: backend.as_mut(),
                chat,
                source: spec.clone(),
            }),
            _ => None,
        };
        let outcome = run_suite(&task, &mut candidate, judge.as_mut(), &mut store, &options)
            .context("evaluation stopped; rerun the same command to resume from the store")?;
        report_judge(&outcome, judge_model.as_ref());
        print_outcome(&outcome.run, args.output, &db_path)?;
    }
    for task in tasks {
        let judge_spec = args
            .judge
            .clone()
            .or_else(|| task.judge.clone())
            .with_context(|| {
                format!(
                    "task {} needs a judge model; give --judge MODEL_SPEC",
                    task.task
                )
            })?;
        let judge_model = LoadedModel::load(
            &judge_spec,
            &args.api,
            args.judge_base_url.as_deref(),
            args.judge_api_key_env.as_deref(),
        )?;
        let judge_chat = judge_model.chat_format()?;
        let mut judge_backend = judge_model.backend(args)?;
        let mut candidate = Participant {
            backend: candidate_backend.as_mut(),
            chat: &candidate_chat,
            source: candidate_spec.clone(),
        };
        let mut judge = Participant {
            backend: judge_backend.as_mut(),
            chat: &judge_chat,
            source: judge_spec.clone(),
        };
        let outcome = match (task.kind, task.mode) {
            (JudgedKind::MtBench, JudgeMode::Single) => run_mt_bench(
                &task,
                &mut candidate,
                None,
                &mut judge,
                &mut store,
                &options,
            ),
            (JudgedKind::MtBench, JudgeMode::Pairwise) => {
                let baseline_spec = args.baseline.clone().with_context(|| {
                    format!(
                        "task {} judges the candidate against a baseline model; give \
                         --baseline MODEL_SPEC",
                        task.task
                    )
                })?;
                let baseline_model = LoadedModel::load(&baseline_spec, &args.api, None, None)?;
                let baseline_chat = baseline_model.chat_format()?;
                let mut baseline_backend = baseline_model.backend(args)?;
                let mut baseline = Participant {
                    backend: baseline_backend.as_mut(),
                    chat: &baseline_chat,
                    source: baseline_spec,
                };
                run_mt_bench(
                    &task,
                    &mut candidate,
                    Some(&mut baseline),
                    &mut judge,
                    &mut store,
                    &options,
                )
            }
            (JudgedKind::AlpacaEval, _) => {
                run_alpaca_eval(&task, &mut candidate, &mut judge, &mut store, &options)
            }
        }
        .context("evaluation stopped; rerun the same command to resume from the store")?;
        report_judge(&outcome, Some(&judge_model));
        print_outcome(&outcome.run, args.output, &db_path)?;
    }
    Ok(())
}

/// Prints what the judge did: notes, failed judgments, tokens and cost.
fn report_judge(outcome: &JudgedOutcome, judge_model: Option<&LoadedModel>) {
    for note in &outcome.notes {
        eprintln!("{note}");
    }
    if outcome.failed_judgments > 0 {
        eprintln!(
            "{} judgments did not parse (no rating or verdict in the judge's answer): \
         recorded in the samples, left out of the scores",
            outcome.failed_judgments
        );
    }
    if let Some(usage) = outcome.judge_usage {
        let cost = match judge_model {
            Some(LoadedModel::OpenAi {
                price: Some(price), ..
            }) => format!(
                ", ${:.4} at {} prices",
                price.cost(usage.prompt_tokens, usage.completion_tokens),
                price.as_of
            ),
            _ => String::new(),
        };
        eprintln!(
            "judge: {} requests, {} prompt and {} completion tokens{cost}",
            usage.requests, usage.prompt_tokens, usage.completion_tokens
        );
    }
}

/// `yardstick ratings`.
#[derive(Debug, Args)]
pub struct RatingsArgs {
    /// The results database.
    #[arg(long, value_name = "PATH|URL", default_value = crate::args::DEFAULT_DB)]
    pub db: yardstick_store::StoreLocation,
    /// Only judgments of these tasks (comma-separated; default: all).
    #[arg(long, value_delimiter = ',')]
    pub tasks: Vec<String>,
    /// Bootstrap resamples for the 95% intervals.
    #[arg(long, default_value_t = 1000)]
    pub resamples: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print as a table or as JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// Bradley–Terry ratings over the stored pairwise judgments.
pub(crate) fn ratings(args: RatingsArgs) -> Result<()> {
    let store = Store::open_read_only(&args.db)
        .with_context(|| format!("cannot open the results database {}", args.db))?;
    let mut stored = stored_battles(&store)?;
    if !args.tasks.is_empty() {
        stored.retain(|b| args.tasks.contains(&b.task));
    }
    anyhow::ensure!(
        !stored.is_empty(),
        "{} holds no pairwise judgments; run mt_bench_pairwise or alpaca_eval first",
        args.db
    );
    let mut models: Vec<String> = Vec::new();
    let mut index = |name: &str| match models.iter().position(|m| m == name) {
        Some(i) => i,
        None => {
            models.push(name.to_owned());
            models.len() - 1
        }
    };
    let battles: Vec<Battle> = stored
        .iter()
        .map(|b| Battle {
            a: index(&b.model_a),
            b: index(&b.model_b),
            winner: b.winner,
        })
        .collect();
    let ratings = rate(models.len(), &battles, args.resamples, args.seed);
    let elo = online_elo(models.len(), &battles, 4.0);
    let mut order: Vec<usize> = (0..models.len()).collect();
    order.sort_by(|&a, &b| ratings[b].rating.total_cmp(&ratings[a].rating));
    match args.output {
        OutputFormat::Json => {
            let rows: Vec<serde_json::Value> = order
                .iter()
                .map(|&i| {
                    serde_json::json!({
                        "model": models[i],
                        "rating": ratings[i].rating,
                        "ci_low": ratings[i].low,
                        "ci_high": ratings[i].high,
                        "online_elo": elo[i],
                        "battles": ratings[i].battles,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        OutputFormat::Table => {
            let width = models.iter().map(String::len).max().unwrap_or(5).max(5);
            println!(
                "{:<width$}  {:>8}  {:>19}  {:>10}  {:>7}",
                "model", "rating", "95% interval", "online Elo", "battles"
            );
            for &i in &order {
                let r = &ratings[i];
                println!(
                    "{:<width$}  {:>8.1}  [{:>7.1}, {:>7.1}]  {:>10.1}  {:>7}",
                    models[i], r.rating, r.low, r.high, elo[i], r.battles
                );
            }
            println!(
                "\nBradley–Terry over {} judgments (ties half a win), Elo scale \
                 (1000 = the mean model); intervals from {} bootstrap resamples",
                battles.len(),
                args.resamples
            );
        }
    }
    Ok(())
}
