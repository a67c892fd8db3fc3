//! `yardstick compare`, `yardstick report` and `yardstick ui`: stored runs side by side.

use crate::args::{DataArgs, OutputFormat};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;
use yardstick_compare::{compare, CompareOptions, Comparison, PublishedScores};
use yardstick_report::{Leaderboard, LeaderboardOptions};
use yardstick_store::Store;

/// Which runs and which reference.
#[derive(Debug, Args)]
pub struct SelectionArgs {
    /// Results database written by `yardstick run`.
    #[arg(
        long,
        value_name = "PATH|URL",
        default_value = crate::args::DEFAULT_DB
    )]
    pub db: yardstick_store::StoreLocation,
    /// Comma-separated models to show (stored or published names; a unique part of a
    /// name is enough). Default: every stored model.
    #[arg(long, value_delimiter = ',', value_name = "MODELS")]
    pub models: Vec<String>,
    /// Comma-separated benchmarks (task or group names) to show. Default: all.
    #[arg(long, value_delimiter = ',', value_name = "TASKS")]
    pub tasks: Vec<String>,
    /// Extra published-score CSV files or folders (columns
    /// model,benchmark,metric,value,num_fewshot,method,source[,stderr]); the data
    /// directory's published/ and alpaca_eval/leaderboards/ are always read.
    #[arg(long, value_name = "PATH")]
    pub published: Vec<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The reference model: a stored model or a published one (gpt-3.5-turbo).
    #[arg(long, value_name = "MODEL")]
    pub reference: String,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Print markdown tables or JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The reference model: a stored model or a published one (gpt-3.5-turbo).
    #[arg(long, value_name = "MODEL")]
    pub reference: String,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Folder for report.html, report.md, report.csv, report.json and the SVG charts.
    #[arg(long, value_name = "DIR", default_value = "yardstick-report")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct UiArgs {
    /// The reference model (default: the first model stored).
    #[arg(long, value_name = "MODEL")]
    pub reference: Option<String>,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Address to listen on; loopback unless you mean to share the leaderboard.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8765)]
    pub port: u16,
}

/// The published scores: the data directory's registry and AlpacaEval leaderboards,
/// then the user's files.
fn published(selection: &SelectionArgs) -> Result<PublishedScores> {
    let mut paths = Vec::new();
    let data_dir = selection.data.data_dir.clone();
    if let Some(dir) = &data_dir {
        let registry = dir.join("published");
        if registry.is_dir() {
            paths.push(registry);
        }
    }
    paths.extend(selection.published.iter().cloned());
    let mut scores = PublishedScores::load(&paths)?;
    if let Some(dir) = &data_dir {
        let leaderboards = dir.join("alpaca_eval").join("leaderboards");
        if leaderboards.is_dir() {
            scores.add_alpaca_eval_leaderboards(&leaderboards)?;
        }
    }
    Ok(scores)
}

fn options(reference: String, selection: &SelectionArgs) -> CompareOptions {
    let mut options = CompareOptions::new(reference);
    options.models = selection.models.clone();
    options.tasks = selection.tasks.clone();
    options
}

fn comparison(reference: &str, selection: &SelectionArgs) -> Result<Comparison> {
    let store = Store::open_read_only(&selection.db)?;
    let published = published(selection)?;
    Ok(compare(
        &store,
        &published,
        &options(reference.to_owned(), selection),
    )?)
}

pub fn compare_command(args: CompareArgs) -> Result<()> {
    let comparison = comparison(&args.reference, &args.selection)?;
    match args.output {
        OutputFormat::Json => println!("{}", yardstick_report::json(&comparison)),
        OutputFormat::Table => print!("{}", yardstick_report::markdown(&comparison)),
    }
    Ok(())
}

pub fn report_command(args: ReportArgs) -> Result<()> {
    let comparison = comparison(&args.reference, &args.selection)?;
    let files = yardstick_report::write_report(&comparison, &args.out)?;
    println!("report: {}", files.html.display());
    for path in [&files.markdown, &files.csv, &files.json, &files.radar] {
        println!("        {}", path.display());
    }
    println!(
        "        {} bar charts in {}",
        files.bars.len(),
        args.out.display()
    );
    Ok(())
}

pub fn ui_command(args: UiArgs) -> Result<()> {
    let options = LeaderboardOptions {
        db: args.selection.db.clone(),
        published: published(&args.selection)?,
        compare: options(args.reference.unwrap_or_default(), &args.selection),
    };
    let address = format!("{}:{}", args.host, args.port);
    let board = Leaderboard::bind(&address, options)
        .with_context(|| format!("cannot start the leaderboard on {address}"))?;
    let bound = board.address().map_or(address.clone(), |a| a.to_string());
    println!("leaderboard: http://{bound}/  (read-only; Ctrl-C stops it)");
    board.serve();
    Ok(())
}
