//! `yardstick contam`: which benchmark items appear in a training corpus.

use crate::args::{DataArgs, OutputFormat};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;
use std::path::PathBuf;
use yardstick_contam::{
    scan_corpus, write_synthetic_corpus, BenchmarkItem, NgramIndex, ScanOptions, ScanReport,
};
use yardstick_tasks::Task;

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

/// Each document's question, choices and answer, as the task renders them (see
/// [`Task::decontamination_texts`]).
fn benchmark_items(task: &Task, limit: Option<usize>) -> Result<Vec<BenchmarkItem>> {
    let name = task.name().to_string();
    Ok(task
        .decontamination_texts(limit)?
        .into_iter()
        .map(|(doc_id, texts)| BenchmarkItem::new(&name, doc_id, texts))
        .collect())
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

#[derive(Debug, Args)]
pub struct BenchContamArgs {
    /// Corpus size in MB (10^6 bytes).
    #[arg(long, default_value_t = 2000)]
    pub size_mb: u64,
    /// Shard size in MB (files are scanned one per core).
    #[arg(long, default_value_t = 128)]
    pub shard_mb: u64,
    /// Where the corpus is written (default: a temporary folder, removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Tasks whose items are indexed and planted.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "arc_easy,arc_challenge,mmlu"
    )]
    pub tasks: Vec<String>,
    /// Words per n-gram.
    #[arg(long, default_value_t = 13)]
    pub ngram: usize,
    /// Plant every K-th item that holds an n-gram and shares none with another item.
    #[arg(long, default_value_t = 20)]
    pub plant_every: usize,
    /// MB of the same corpus (its first shards) the Python peer scans.
    #[arg(long, default_value_t = 256)]
    pub python_mb: u64,
    /// The Python interpreter for the peer.
    #[arg(long, default_value = "python3")]
    pub python: PathBuf,
    /// Files scanned at once (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print as a table or as JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub data: DataArgs,
}

/// The straightforward Python n-gram check the scanner is measured against.
const PYTHON_PEER: &str = include_str!("../../../scripts/contam/ngram_overlap.py");

/// The process's peak resident memory since the last [`reset_peak_memory`], in MB.
fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resets the kernel's peak-RSS mark (Linux `clear_refs` 5), so each scan's peak is its
/// own.
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub fn bench(args: BenchContamArgs) -> Result<()> {
    let (tasks, _) = crate::commands::load_tasks(&args.tasks, &args.data, Some(0))?;
    let mut items = Vec::new();
    for task in &tasks {
        items.extend(benchmark_items(task, None)?);
    }
    let index = NgramIndex::build(&items, args.ngram);
    let scratch;
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => {
            scratch = tempfile::tempdir().context("cannot make a temporary folder")?;
            scratch.path().to_owned()
        }
    };
    let corpus_dir = dir.join("corpus");
    let corpus = write_synthetic_corpus(
        &corpus_dir,
        &index,
        args.size_mb * 1_000_000,
        args.shard_mb * 1_000_000,
        args.plant_every,
        0x5eed,
    )
    .with_context(|| format!("cannot write the corpus under {}", corpus_dir.display()))?;
    let options = ScanOptions {
        threads: args.threads,
        ..ScanOptions::default()
    };
    let half = corpus.files.len().div_ceil(2);
    reset_peak_memory();
    let half_report = scan_corpus(&corpus.files[..half], &index, &options)?;
    let half_peak = peak_memory_mb();
    reset_peak_memory();
    let report = scan_corpus(&corpus.files, &index, &options)?;
    let full_peak = peak_memory_mb();
    let flagged: Vec<usize> = (0..items.len())
        .filter(|&i| report.items[i].contaminated())
        .collect();
    let found = corpus
        .planted
        .iter()
        .filter(|&&i| report.items[i].contaminated())
        .count();
    let false_positives = flagged
        .iter()
        .filter(|i| corpus.planted.binary_search(i).is_err())
        .count();

    // The Python peer on the first shards, and the scanner on the same shards to check
    // that both flag the same items.
    let mut peer_files = Vec::new();
    let mut peer_bytes = 0;
    for file in &corpus.files {
        if peer_bytes >= args.python_mb * 1_000_000 {
            break;
        }
        peer_bytes += std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        peer_files.push(file.clone());
    }
    let items_path = dir.join("items.json");
    let items_json: Vec<_> = items
        .iter()
        .map(|i| json!({"task": i.task, "doc_id": i.doc_id, "texts": i.texts}))
        .collect();
    std::fs::write(&items_path, serde_json::to_vec(&items_json)?)?;
    let script = dir.join("ngram_overlap.py");
    std::fs::write(&script, PYTHON_PEER)?;
    let output = std::process::Command::new(&args.python)
        .arg(&script)
        .arg("--items")
        .arg(&items_path)
        .arg("--n")
        .arg(args.ngram.to_string())
        .args(&peer_files)
        .output()
        .with_context(|| format!("cannot run {}", args.python.display()))?;
    anyhow::ensure!(
        output.status.success(),
        "the Python peer failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let peer: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let peer_seconds = peer["seconds"].as_f64().unwrap_or(f64::NAN);
    let peer_flagged: Vec<usize> = peer["flagged"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_u64().map(|v| v as usize))
                .collect()
        })
        .unwrap_or_default();
    let same_files = scan_corpus(&peer_files, &index, &options)?;
    let ours_on_peer: Vec<usize> = (0..items.len())
        .filter(|&i| same_files.items[i].contaminated())
        .collect();
    let peer_mb_per_second = peer_bytes as f64 / 1e6 / peer_seconds;
    let summary = json!({
        "corpus_mb": corpus.bytes as f64 / 1e6,
        "files": corpus.files.len(),
        "items": items.len(),
        "ngrams": index.ngram_count(),
        "n": args.ngram,
        "planted": corpus.planted.len(),
        "found": found,
        "recall": found as f64 / corpus.planted.len().max(1) as f64,
        "false_positives": false_positives,
        "yardstick": {
            "seconds": report.seconds,
            "mb_per_second": report.megabytes_per_second(),
            "peak_memory_mb": full_peak,
            "half_corpus": {
                "mb": half_report.bytes as f64 / 1e6,
                "mb_per_second": half_report.megabytes_per_second(),
                "peak_memory_mb": half_peak,
            },
        },
        "python": {
            "mb": peer_bytes as f64 / 1e6,
            "seconds": peer_seconds,
            "mb_per_second": peer_mb_per_second,
            "same_items_flagged": peer_flagged == ours_on_peer,
        },
        "speedup": report.megabytes_per_second() / peer_mb_per_second,
    });
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
        OutputFormat::Table => {
            let mb = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
            println!(
                "synthetic corpus: {:.0} MB in {} files; {} items, {} distinct {}-grams; {} planted\n",
                mb(&summary["corpus_mb"]),
                corpus.files.len(),
                items.len(),
                index.ngram_count(),
                args.ngram,
                corpus.planted.len()
            );
            println!("| Run | MB | Seconds | MB/s | Peak memory MB | vs Python |");
            println!("| --- | --- | --- | --- | --- | --- |");
            println!(
                "| Python, one process (peer) | {:.0} | {:.1} | {:.2} | - | 1.0x |",
                peer_bytes as f64 / 1e6,
                peer_seconds,
                peer_mb_per_second
            );
            for (label, part, peak) in [
                ("yardstick, half the corpus", &half_report, half_peak),
                ("yardstick, whole corpus", &report, full_peak),
            ] {
                println!(
                    "| {label} | {:.0} | {:.1} | {:.0} | {:.0} | {:.0}x |",
                    part.bytes as f64 / 1e6,
                    part.seconds,
                    part.megabytes_per_second(),
                    peak.unwrap_or(f64::NAN),
                    part.megabytes_per_second() / peer_mb_per_second
                );
            }
            println!(
                "\nrecall {found}/{} planted, {false_positives} clean items flagged; Python and yardstick flag the same items on the peer's {:.0} MB: {}",
                corpus.planted.len(),
                peer_bytes as f64 / 1e6,
                peer_flagged == ours_on_peer
            );
        }
    }
    Ok(())
}
