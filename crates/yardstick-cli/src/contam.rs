//! `yardstick contam`: which benchmark items appear in a training corpus.

use crate::args::{DataArgs, OutputFormat};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;
use std::path::PathBuf;
use yardstick_contam::{
    scan_corpus, write_synthetic_corpus, BenchmarkItem, NgramIndex, ScanOptions, ScanReport,
};
use yardstick_store::{ContaminationRow, Store};
use yardstick_tasks::Task;

#[derive(Debug, Subcommand)]
pub enum ContamCommand {
    /// Find the tasks' items in corpus files by n-gram overlap (lm-eval's normalisation).
    Scan(ScanArgs),
    /// Ask the model itself: Min-K% Prob per text, and its ROC AUC for labelled texts.
    Probe(ProbeArgs),
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub model: crate::args::ModelArgs,
    /// JSON Lines of texts to probe: {"text": ..., "member": true|false (optional),
    /// "id": ... (optional)}.
    #[arg(long, value_name = "FILE", conflicts_with = "tasks")]
    pub texts: Option<PathBuf>,
    /// Probe these tasks' items (question, choices and answer, one text per item).
    #[arg(long, value_delimiter = ',')]
    pub tasks: Vec<String>,
    /// Only the first N documents of each task.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// The share of least likely tokens averaged, in percent.
    #[arg(long, default_value_t = 20.0)]
    pub k: f64,
    /// Print a summary table, or JSON with every text's score.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub data: DataArgs,
}

/// A text to probe, with its label when known.
struct ProbeText {
    id: String,
    text: String,
    member: Option<bool>,
}

fn probe_texts(args: &ProbeArgs) -> Result<Vec<ProbeText>> {
    if let Some(path) = &args.texts {
        let body = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return body
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(number, line)| {
                let at = || format!("{}:{}", path.display(), number + 1);
                let row: serde_json::Value =
                    serde_json::from_str(line).with_context(|| format!("{}: not JSON", at()))?;
                let text = row["text"]
                    .as_str()
                    .with_context(|| format!("{}: no string field `text`", at()))?;
                Ok(ProbeText {
                    id: row
                        .get("id")
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        .unwrap_or_else(|| (number + 1).to_string()),
                    text: text.to_owned(),
                    member: row["member"].as_bool(),
                })
            })
            .collect();
    }
    anyhow::ensure!(!args.tasks.is_empty(), "give --texts FILE or --tasks NAMES");
    let (tasks, _) = crate::commands::load_tasks(&args.tasks, &args.data, Some(0))?;
    let mut texts = Vec::new();
    for task in &tasks {
        for item in benchmark_items(task, args.limit)? {
            texts.push(ProbeText {
                id: format!("{}/{}", item.task, item.doc_id),
                text: item.texts.join("\n"),
                member: None,
            });
        }
    }
    Ok(texts)
}

fn probe(args: ProbeArgs) -> Result<()> {
    anyhow::ensure!(
        args.k > 0.0 && args.k <= 100.0,
        "--k is a percentage in (0, 100]"
    );
    let texts = probe_texts(&args)?;
    let (model, spec) = crate::commands::load_model(&args.model)?;
    let mut session = model.session(crate::commands::session_options(&args.model))?;
    let mut scores = Vec::with_capacity(texts.len());
    for text in &texts {
        let logprobs = session
            .token_logprobs(&text.text)
            .with_context(|| format!("text {}", text.id))?;
        scores.push(yardstick_metrics::min_k_percent_prob(&logprobs, args.k));
    }
    let labelled: Vec<(f64, bool)> = texts
        .iter()
        .zip(&scores)
        .filter_map(|(t, s)| Some(((*s)?, t.member?)))
        .collect();
    let (label_scores, labels): (Vec<f64>, Vec<bool>) = labelled.into_iter().unzip();
    let auc = yardstick_metrics::roc_auc(&label_scores, &labels);
    let mean = |member: Option<bool>| {
        let picked: Vec<f64> = texts
            .iter()
            .zip(&scores)
            .filter(|(t, _)| member.is_none() || t.member == member)
            .filter_map(|(_, s)| *s)
            .collect();
        (!picked.is_empty()).then(|| picked.iter().sum::<f64>() / picked.len() as f64)
    };
    match args.output {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "model": spec,
                "k_percent": args.k,
                "auc": auc,
                "texts": texts.iter().zip(&scores).map(|(t, s)| json!({
                    "id": t.id, "member": t.member, "min_k_prob": s,
                })).collect::<Vec<_>>(),
            }))?
        ),
        OutputFormat::Table => {
            println!("Min-{}% Prob, {spec}: {} texts", args.k, texts.len());
            let show = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.4}"));
            println!("mean score: all {}", show(mean(None)));
            if !labels.is_empty() {
                println!(
                    "members {}, non-members {}",
                    show(mean(Some(true))),
                    show(mean(Some(false)))
                );
                println!("ROC AUC (members score higher): {}", show(auc));
            }
        }
    }
    Ok(())
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
    /// Results database the findings are stored in, for `run --exclude-contaminated`.
    #[arg(
        long,
        value_name = "PATH|URL",
        default_value = crate::args::DEFAULT_DB
    )]
    pub db: yardstick_store::StoreLocation,
    /// Print a table per task, or JSON listing every contaminated item.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub data: DataArgs,
}

pub fn run(command: ContamCommand) -> Result<()> {
    match command {
        ContamCommand::Scan(args) => scan(args),
        ContamCommand::Probe(args) => probe(args),
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
    let dataset_hashes: std::collections::HashMap<String, String> = tasks
        .iter()
        .map(|t| (t.name().to_string(), t.dataset_hash().to_owned()))
        .collect();
    let rows: Vec<ContaminationRow> = report
        .items
        .iter()
        .map(|item| ContaminationRow {
            task: item.task.clone(),
            dataset_hash: dataset_hashes.get(&item.task).cloned().unwrap_or_default(),
            doc_id: item.doc_id,
            matches: item.matches,
        })
        .collect();
    let corpus: Vec<String> = args
        .corpus
        .iter()
        .map(|p| {
            std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string()
        })
        .collect();
    Store::open(&args.db)?.record_contamination(&corpus.join(","), report.n, &rows)?;
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
