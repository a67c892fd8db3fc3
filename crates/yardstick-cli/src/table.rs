//! Plain-text tables for the terminal.

use serde_json::{json, Value};
use yardstick_engine::bench::{GenerationBenchmark, SandboxBenchmark, ScoringBenchmark};
use yardstick_engine::RunOutcome;
use yardstick_report::{format_value as fmt_value, markdown_table as markdown};

/// The scores of a run, one row per task and metric, lm-eval style.
pub fn scores_table(outcome: &RunOutcome) -> String {
    let mut rows = Vec::new();
    for task in &outcome.tasks {
        for (metric, agg) in &task.metrics {
            rows.push(vec![
                task.name.to_string(),
                task.num_fewshot.to_string(),
                metric.clone(),
                fmt_value(agg.value),
                format!("± {}", fmt_value(agg.stderr)),
                task.effective.to_string(),
            ]);
        }
        for (metric, agg) in task.clean.iter().flat_map(|c| &c.metrics) {
            rows.push(vec![
                format!("{} (clean)", task.name),
                task.num_fewshot.to_string(),
                metric.clone(),
                fmt_value(agg.value),
                format!("± {}", fmt_value(agg.stderr)),
                task.clean.as_ref().map_or(0, |c| c.effective).to_string(),
            ]);
        }
    }
    for group in &outcome.groups {
        for (metric, agg) in &group.metrics {
            rows.push(vec![
                format!("{} (group)", group.name),
                "-".into(),
                metric.clone(),
                fmt_value(agg.value),
                format!("± {}", fmt_value(agg.stderr)),
                group.sample_len.to_string(),
            ]);
        }
    }
    markdown(
        &["Task", "n-shot", "Metric", "Value", "Stderr", "Docs"],
        &rows,
    )
}

/// The same scores as JSON for scripts.
pub fn outcome_json(outcome: &RunOutcome) -> Value {
    json!({
        "run_id": outcome.run_id,
        "whole_run": outcome.whole_run,
        "results_path": outcome.results_path,
        "seconds": outcome.seconds,
        "docs_per_second": outcome.docs_per_second,
        "failed": outcome.failed(),
        "usage": outcome.usage(),
        "tasks": outcome.tasks.iter().map(|t| json!({
            "task": t.name,
            "num_fewshot": t.num_fewshot,
            "docs": t.effective,
            "computed": t.computed,
            "failed": t.failed,
            "samples_path": t.samples_path,
            "metrics": t.metrics.iter().map(|(m, a)| (m.clone(), json!({"value": a.value, "stderr": a.stderr}))).collect::<serde_json::Map<_, _>>(),
            "clean_subset": t.clean.as_ref().map(|c| json!({
                "excluded": c.excluded,
                "docs": c.effective,
                "metrics": c.metrics.iter().map(|(m, a)| (m.clone(), json!({"value": a.value, "stderr": a.stderr}))).collect::<serde_json::Map<_, _>>(),
            })),
        })).collect::<Vec<_>>(),
        "groups": outcome.groups.iter().map(|g| json!({
            "group": g.name,
            "docs": g.sample_len,
            "children": g.children,
            "metrics": g.metrics.iter().map(|(m, a)| (m.clone(), json!({"value": a.value, "stderr": a.stderr}))).collect::<serde_json::Map<_, _>>(),
        })).collect::<Vec<_>>(),
    })
}

/// The scoring benchmark as a table with ratios to llama.cpp's raw prefill.
pub fn bench_table(
    report: &ScoringBenchmark,
    model: &str,
    task: &str,
    threads: Option<usize>,
) -> String {
    let raw = report.raw_prefill.tokens_per_second;
    let rows: Vec<Vec<String>> = [
        &report.raw_prefill,
        &report.shared_prefix,
        &report.plain,
        &report.packed,
    ]
    .iter()
    .map(|m| {
        vec![
            m.label.clone(),
            format!("{:.2}", m.seconds),
            format!("{:.0}", m.tokens_per_second),
            if m.docs_per_second > 0.0 {
                format!("{:.1}", m.docs_per_second)
            } else {
                "-".into()
            },
            format!("{:.2}x", m.tokens_per_second / raw),
        ]
    })
    .collect();
    let mut out = format!(
        "model {model}, task {task}: {} docs, {} requests, {} plain tokens ({} decoded with shared prefix), threads {}\n\n",
        report.docs,
        report.requests,
        report.plain_tokens,
        report.shared_tokens,
        threads.map_or_else(|| "all".to_owned(), |t| t.to_string())
    );
    out.push_str(&markdown(
        &[
            "Measurement",
            "Seconds",
            "Tokens/s",
            "Docs/s",
            "vs raw prefill",
        ],
        &rows,
    ));
    out.push_str(&format!(
        "\nmax |shared-prefix - plain| log-likelihood: {:.2e}\nmax |packed - plain| log-likelihood: {:.2e}\n",
        report.max_shared_vs_plain, report.max_packed_vs_plain
    ));
    out
}

/// The generation benchmark as a table, with each run's decode throughput as a ratio
/// to llama.cpp's loop.
pub fn generation_bench_table(report: &GenerationBenchmark, model: &str, task: &str) -> String {
    let peer = report.raw_decode.decode_tokens_per_second;
    let mut out = format!(
        "model {model}, task {task}: {} prompts, up to {} tokens each, greedy\n\n",
        report.prompts, report.max_tokens
    );
    out.push_str(
        "| Run | Wall s | Generated | Tokens/s (wall) | Prefill tok/s | Decode s | Rows/call | Decode tok/s | Decode vs llama.cpp |\n",
    );
    out.push_str("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for m in [
        &report.raw_decode,
        &report.raw_batched,
        &report.batch_one,
        &report.batched,
    ] {
        out.push_str(&format!(
            "| {} | {:.2} | {} | {:.1} | {:.0} | {:.2} | {:.1} | {:.1} | {:.2}x |\n",
            m.label,
            m.seconds,
            m.generated_tokens,
            m.tokens_per_second,
            m.prefill_tokens_per_second,
            m.decode_seconds,
            m.rows_per_decode_call,
            m.decode_tokens_per_second,
            m.decode_tokens_per_second / peer
        ));
    }
    out.push_str(&format!(
        "\nbatch {} vs batch 1, decode tokens/s: yardstick {:.2}x, llama.cpp {:.2}x\n",
        report.batch,
        report.batched.decode_tokens_per_second / report.batch_one.decode_tokens_per_second,
        report.raw_batched.decode_tokens_per_second / report.raw_decode.decode_tokens_per_second
    ));
    out
}

/// The sandbox benchmark as a table, with the sandbox's rate as a ratio to bare python3.
pub fn sandbox_bench_table(report: &SandboxBenchmark) -> String {
    let mut out = format!(
        "HumanEval reference solutions with their tests: {} programs, {} at once, isolation {}\n\n",
        report.programs, report.concurrency, report.isolation
    );
    out.push_str("| Run | Seconds | Passed | Programs/s | vs bare python3 |\n");
    out.push_str("| --- | --- | --- | --- | --- |\n");
    for run in [&report.bare, &report.sandboxed] {
        out.push_str(&format!(
            "| {} | {:.2} | {}/{} | {:.1} | {:.2}x |\n",
            run.label,
            run.seconds,
            run.passed,
            report.programs,
            run.programs_per_second,
            run.programs_per_second / report.bare.programs_per_second
        ));
    }
    out
}
