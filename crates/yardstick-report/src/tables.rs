//! The comparison as text: markdown for people, CSV and JSON for programs.

use yardstick_compare::{CatchUpStatus, Cell, Comparison, Delta, ModelKind};

/// A number with four decimals, `N/A` when it is not finite.
pub fn format_value(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        "N/A".into()
    }
}

/// Rows as a markdown table with aligned columns.
pub fn markdown_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(header.iter().map(|h| (*h).to_owned()).collect());
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

/// `stored` or `published`.
fn kind_label(kind: ModelKind) -> &'static str {
    match kind {
        ModelKind::Stored => "stored",
        ModelKind::Published => "published",
    }
}

/// A cell's score with its standard error when known: `0.6000 ± 0.0492`.
pub fn value_text(cell: &Cell) -> String {
    let mut text = format_value(cell.value);
    if let Some(stderr) = cell.stderr {
        text.push_str(&format!(" ± {}", format_value(stderr)));
    }
    text
}

/// A cell as [`value_text`], starred when best in its column.
pub fn score_text(cell: &Cell) -> String {
    let mut text = value_text(cell);
    if cell.best {
        text.push_str(" *");
    }
    text
}

/// A difference as `+0.2500 [+0.1600, +0.3400] ahead`.
pub fn delta_text(delta: &Delta) -> String {
    format!(
        "{:+.4} [{:+.4}, {:+.4}] {}",
        delta.difference, delta.low, delta.high, delta.verdict
    )
}

/// A catch-up entry as one phrase.
pub fn catch_up_text(status: &CatchUpStatus) -> String {
    match status {
        CatchUpStatus::Matched {
            model,
            value,
            verdict,
        } => format!("{model} ({}, {verdict})", format_value(*value)),
        CatchUpStatus::Gap {
            model,
            value,
            gap,
            low,
            high,
        } => format!(
            "gap {} [{}, {}] (best: {model}, {})",
            format_value(*gap),
            format_value(*low),
            format_value(*high),
            format_value(*value)
        ),
    }
}

/// The whole comparison as markdown: the table, the differences, the catch-up map and
/// where published numbers come from.
pub fn markdown(comparison: &Comparison) -> String {
    let mut out = format!(
        "# yardstick comparison\n\nReference: **{}** ({}). Cells: score ± standard error; * best in column. Differences: model − reference with a 95% interval; verdicts at α = {}.\n\n",
        comparison.reference.name,
        kind_label(comparison.reference.kind),
        comparison.alpha
    );
    let mut header = vec!["model".to_owned()];
    header.extend(
        comparison
            .columns
            .iter()
            .map(|c| format!("{} [{}] ({})", c.label, c.domain, c.metric)),
    );
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    out.push_str("## Scores\n\n");
    let rows: Vec<Vec<String>> = comparison
        .rows
        .iter()
        .map(|row| {
            let mut cells = vec![if row.reference {
                format!("{} (reference)", row.model.name)
            } else {
                row.model.name.clone()
            }];
            cells.extend(
                row.cells
                    .iter()
                    .map(|c| c.as_ref().map_or("—".to_owned(), score_text)),
            );
            cells
        })
        .collect();
    out.push_str(&markdown_table(&header_refs, &rows));
    out.push_str("\n## Difference to the reference\n\n");
    let rows: Vec<Vec<String>> = comparison
        .rows
        .iter()
        .skip(1)
        .map(|row| {
            let mut cells = vec![row.model.name.clone()];
            cells.extend(row.cells.iter().map(|c| {
                c.as_ref()
                    .and_then(|c| c.delta.as_ref())
                    .map_or("—".to_owned(), |d| {
                        let mut text = delta_text(d);
                        if !d.settings.is_empty() {
                            text.push_str(" †");
                        }
                        text
                    })
            }));
            cells
        })
        .collect();
    out.push_str(&markdown_table(&header_refs, &rows));
    let mut differing: Vec<String> = Vec::new();
    for row in comparison.rows.iter().skip(1) {
        for (cell, column) in row.cells.iter().zip(&comparison.columns) {
            if let Some(delta) = cell.as_ref().and_then(|c| c.delta.as_ref()) {
                let line = format!("- {}: {}\n", column.label, delta.settings.join("; "));
                if !delta.settings.is_empty() && !differing.contains(&line) {
                    differing.push(line);
                }
            }
        }
    }
    if !differing.is_empty() {
        out.push_str("\n† Unpaired, and the two numbers were obtained differently:\n\n");
        out.extend(differing);
    }
    out.push_str("\n## Catch-up map\n\n");
    let rows: Vec<Vec<String>> = comparison
        .catch_up
        .iter()
        .map(|entry| {
            vec![
                entry.domain.to_string(),
                entry.benchmark.clone(),
                format_value(entry.reference_value),
                catch_up_text(&entry.status),
            ]
        })
        .collect();
    out.push_str(&markdown_table(
        &[
            "domain",
            "benchmark",
            "reference",
            "at or above the reference",
        ],
        &rows,
    ));
    let notes: Vec<String> = comparison
        .rows
        .iter()
        .flat_map(|row| {
            row.cells
                .iter()
                .zip(&comparison.columns)
                .filter_map(|(cell, column)| {
                    let cell = cell.as_ref()?;
                    let note = cell.published.as_ref()?;
                    Some(format!(
                        "- {} on {}: {} {} ({}-shot; {}), {}\n",
                        row.model.name,
                        column.label,
                        cell.metric,
                        format_value(cell.value),
                        cell.num_fewshot.map_or("?".to_owned(), |n| n.to_string()),
                        note.method,
                        note.source
                    ))
                })
        })
        .collect();
    if !notes.is_empty() {
        out.push_str("\n## Published numbers\n\n");
        out.extend(notes);
    }
    out
}

const CSV_HEADER: &str = "model,kind,reference,domain,benchmark,metric,num_fewshot,value,stderr,items,best,difference,low,high,p_value,test,verdict,settings";

/// One CSV line per model and benchmark.
pub fn csv(comparison: &Comparison) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    let opt = |x: Option<f64>| x.map_or(String::new(), |x| x.to_string());
    for row in &comparison.rows {
        for (cell, column) in row.cells.iter().zip(&comparison.columns) {
            let Some(cell) = cell else { continue };
            let delta = cell.delta.as_ref();
            let fields = [
                row.model.name.clone(),
                kind_label(row.model.kind).to_owned(),
                row.reference.to_string(),
                column.domain.to_string(),
                column.label.clone(),
                cell.metric.clone(),
                cell.num_fewshot.map_or(String::new(), |n| n.to_string()),
                cell.value.to_string(),
                opt(cell.stderr),
                cell.items.map_or(String::new(), |n| n.to_string()),
                cell.best.to_string(),
                opt(delta.map(|d| d.difference)),
                opt(delta.map(|d| d.low)),
                opt(delta.map(|d| d.high)),
                opt(delta.map(|d| d.p_value)),
                delta.map_or(String::new(), |d| {
                    serde_json::to_value(d.test)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                }),
                delta.map_or(String::new(), |d| d.verdict.to_string()),
                delta.map_or(String::new(), |d| d.settings.join("; ")),
            ];
            let quoted: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&quoted.join(","));
            out.push('\n');
        }
    }
    out
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// The comparison as pretty JSON (every number, interval and verdict).
pub fn json(comparison: &Comparison) -> String {
    serde_json::to_string_pretty(comparison).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_tables_align() {
        let table = markdown_table(&["a", "bbb"], &[vec!["xx".into(), "y".into()]]);
        assert_eq!(table, "| a  | bbb |\n| -- | --- |\n| xx | y   |\n");
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
