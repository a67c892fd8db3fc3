//! `yardstick contam`: which benchmark items appear in a training corpus.

use crate::args::{DataArgs, OutputFormat};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;
use std::path::PathBuf;
use yardstick_contam::{scan_corpus, BenchmarkItem, NgramIndex, ScanOptions, ScanReport};
use yardstick_tasks::{OutputType, Task};

#[derive(Debug, Subcommand)]
pub enum ContamCommand {
    /// Find the tasks' items in corpus files by n-gram overlap (lm-eval's normalisation).
    Scan(ScanArgs),
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Corpus files or folders (plain text, JSON Lines; .gz and .zst too).
    #[arg(long, required = true, num_args = 1.., value_name = "PATH")]
    pub corpus: Vec<PathBuf>,
    /// Comma-separated task names, groups or task YAML paths.
    #[arg(long, value_delimiter = ',', required = true)]
    pub tasks: Vec<String>,
    /// Words per n-gram.
    #[arg(long, default_value_t = 13)]
    pub ngram: usize,
    /// The field holding the text in JSON Lines files.
    #[arg(long, default_value = "text")]
    pub text_field: String,
    /// Files scanned at once (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Only the first N documents of each task.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print a table per task, or JSON listing every contaminated item.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub data: DataArgs,
}

pub fn run(command: ContamCommand) -> Result<()> {
    match command {
        ContamCommand::Scan(args) => scan(args),
    }
}

/// The texts a task renders for each item, 0-shot: the prompt, every choice and the
/// answer (multiple choice); the prompt and the reference answer (generation).
fn benchmark_items(task: &Task, limit: Option<usize>) -> Result<Vec<BenchmarkItem>> {
    let name = task.name().to_string();
    Ok(match task.output_type() {
        OutputType::GenerateUntil => task
            .generate_docs(limit)?
            .into_iter()
            .map(|doc| BenchmarkItem::new(&name, doc.doc_id, vec![doc.request.prompt, doc.target]))
            .collect(),
        _ => task
            .multiple_choice_docs(limit)?
            .into_iter()
            .map(|doc| {
                let mut texts: Vec<String> =
                    doc.requests.iter().map(|r| r.context.clone()).collect();
                texts.dedup();
                texts.extend(doc.choices.iter().cloned());
                texts.push(doc.target.clone());
                BenchmarkItem::new(&name, doc.doc_id, texts)
            })
            .collect(),
    })
}

fn scan(args: ScanArgs) -> Result<()> {
    anyhow::ensure!(args.ngram >= 1, "--ngram must be at least 1");
    let (tasks, _) = crate::commands::load_tasks(&args.tasks, &args.data, Some(0))?;
    let mut items = Vec::new();
    for task in &tasks {
        items.extend(benchmark_items(task, args.limit)?);
    }
    let index = NgramIndex::build(&items, args.ngram);
    let options = ScanOptions {
        threads: args.threads,
        text_field: args.text_field.clone(),
        ..ScanOptions::default()
    };
    let report = scan_corpus(&args.corpus, &index, &options).context("scan stopped")?;
    for issue in &report.issues {
        eprintln!(
            "warning: {}, byte {}: {}",
            issue.file.display(),
            issue.offset,
            issue.message
        );
    }
    let names: Vec<String> = tasks.iter().map(|t| t.name().to_string()).collect();
    match args.output {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report_json(&report, &names))?
        ),
        OutputFormat::Table => print!("{}", report_table(&report, &names)),
    }
    Ok(())
}

/// Per task: items, contaminated items and fraction; then every contaminated item.
fn report_json(report: &ScanReport, tasks: &[String]) -> serde_json::Value {
    let per_task: Vec<_> = tasks
        .iter()
        .map(|task| {
            let items: Vec<_> = report.items.iter().filter(|i| &i.task == task).collect();
            let dirty: Vec<_> = items.iter().filter(|i| i.contaminated()).collect();
            json!({
                "task": task,
                "items": items.len(),
                "contaminated": dirty.len(),
                "fraction": if items.is_empty() { 0.0 } else { dirty.len() as f64 / items.len() as f64 },
                "too_short": items.iter().filter(|i| i.too_short).count(),
                "contaminated_items": dirty.iter().map(|i| json!({
                    "doc_id": i.doc_id, "matches": i.matches, "samples": i.samples,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "ngram": report.n,
        "files": report.files,
        "bytes": report.bytes,
        "seconds": report.seconds,
        "megabytes_per_second": report.megabytes_per_second(),
        "tasks": per_task,
        "issues": report.issues,
    })
}

fn report_table(report: &ScanReport, tasks: &[String]) -> String {
    let mut out = format!(
        "{} files, {:.1} MB in {:.1} s ({:.0} MB/s), {}-grams\n\n",
        report.files,
        report.bytes as f64 / 1e6,
        report.seconds,
        report.megabytes_per_second(),
        report.n
    );
    out.push_str("| Task | Items | Contaminated | Fraction | Too short to check |\n");
    out.push_str("| --- | --- | --- | --- | --- |\n");
    for task in tasks {
        let items: Vec<_> = report.items.iter().filter(|i| &i.task == task).collect();
        let dirty = items.iter().filter(|i| i.contaminated()).count();
        out.push_str(&format!(
            "| {task} | {} | {dirty} | {:.4} | {} |\n",
            items.len(),
            if items.is_empty() {
                0.0
            } else {
                dirty as f64 / items.len() as f64
            },
            items.iter().filter(|i| i.too_short).count()
        ));
    }
    let examples: Vec<_> = report
        .items
        .iter()
        .filter(|i| i.contaminated())
        .take(10)
        .collect();
    if !examples.is_empty() {
        out.push_str("\nExamples (task, doc, n-gram, where):\n");
        for item in examples {
            if let Some(m) = item.samples.first() {
                out.push_str(&format!(
                    "  {} #{}: \"{}\" at {}:{}\n",
                    item.task,
                    item.doc_id,
                    m.ngram,
                    m.file.display(),
                    m.offset
                ));
            }
        }
    }
    out
}
