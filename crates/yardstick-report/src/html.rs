//! The comparison as one self-contained HTML page: styles, charts and the sorting
//! script inline, nothing fetched from anywhere.

use crate::escape::{encode_query_value, escape_html};
use crate::svg;
use crate::tables::{catch_up_text, delta_text, format_value, value_text};
use std::fmt::Write;
use yardstick_compare::{CatchUpStatus, Comparison};

const STYLE: &str = r#"
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
thead th { background: #f4f4f4; }
th.sortable { cursor: pointer; }
th.sortable::after { content: " ⇅"; color: #999; }
td.best .score { font-weight: bold; }
.delta { font-size: 12px; color: #555; }
.ahead { color: #1a7f37; } .behind { color: #b42318; } .on-par { color: #555; }
.settings { font-size: 11px; color: #8a6d00; }
.reference-row { background: #f7fbff; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; }
details { border: 1px solid #ddd; margin: 0.4em 0; padding: 0.3em 0.6em; }
details pre { white-space: pre-wrap; background: #f8f8f8; padding: 0.5em; }
small { color: #666; }
"#;

/// Sorts `table.sortable` by the clicked header: numbers by `data-value`, text
/// otherwise; a second click reverses; empty cells stay last.
const SORT_SCRIPT: &str = r#"
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th.sortable').forEach(function (th) {
    th.addEventListener('click', function () {
      var column = Number(th.dataset.column);
      var descending = th.dataset.order !== 'desc';
      th.dataset.order = descending ? 'desc' : 'asc';
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column].dataset.value, y = b.cells[column].dataset.value;
        if (x === undefined || x === '') return 1;
        if (y === undefined || y === '') return -1;
        var nx = Number(x), ny = Number(y);
        var order = (isNaN(nx) || isNaN(ny)) ? x.localeCompare(y) : nx - ny;
        return descending ? -order : order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"#;

/// How the page links cells to per-item pages (the leaderboard server does; a report
/// file does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// No links (a report file).
    None,
    /// Each stored model's cell links to `/items?model=…&benchmark=…`.
    ItemPages,
}

/// Wraps `body` in a complete page titled `title`, with the styles and script inline.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{STYLE}</style></head><body>\n{body}\n<script>{SORT_SCRIPT}</script></body></html>\n",
        escape_html(title)
    )
}

/// The comparison page: the sortable table with differences and verdicts, the
/// catch-up map, the radar and the bars.
pub fn comparison_page(comparison: &Comparison, links: Links) -> String {
    let title = format!("yardstick: models against {}", comparison.reference.name);
    let mut body = format!(
        "<h1>{}</h1><p>Each cell: score ± standard error (bold: best in its column), then the difference to the reference with its 95% interval and the verdict at α = {} (paired McNemar or bootstrap on shared items; unpaired otherwise).</p>",
        escape_html(&title),
        comparison.alpha
    );
    body.push_str(&scores_table(comparison, links));
    body.push_str("<h2>Catch-up map</h2>");
    body.push_str(&catch_up_table(comparison));
    body.push_str("<h2>Charts</h2><div class=\"charts\">");
    body.push_str(&svg::radar(comparison));
    for column in 0..comparison.columns.len() {
        body.push_str(&svg::bars(comparison, column));
    }
    body.push_str("</div>");
    page(&title, &body)
}

fn scores_table(comparison: &Comparison, links: Links) -> String {
    let mut html = String::from(
        "<h2>Scores</h2><table id=\"leaderboard\" class=\"sortable\"><thead><tr><th></th>",
    );
    // Domain bands over their benchmarks (columns are ordered by domain).
    let mut k = 0;
    while k < comparison.columns.len() {
        let domain = comparison.columns[k].domain;
        let span = comparison.columns[k..]
            .iter()
            .take_while(|c| c.domain == domain)
            .count();
        let _ = write!(
            html,
            "<th colspan=\"{span}\">{}</th>",
            escape_html(domain.label())
        );
        k += span;
    }
    html.push_str("</tr><tr><th class=\"sortable\" data-column=\"0\">model</th>");
    for (j, column) in comparison.columns.iter().enumerate() {
        let _ = write!(
            html,
            "<th class=\"sortable\" data-column=\"{}\">{}<br><small>{} · {}-shot</small></th>",
            j + 1,
            escape_html(&column.label),
            escape_html(&column.metric),
            column.num_fewshot
        );
    }
    html.push_str("</tr></thead><tbody>");
    for row in &comparison.rows {
        let _ = write!(
            html,
            "<tr class=\"{}\" data-model=\"{}\"><td data-value=\"{}\">{}{}</td>",
            if row.reference {
                "reference-row"
            } else {
                "model-row"
            },
            escape_html(&row.model.name),
            escape_html(&row.model.name),
            escape_html(&row.model.name),
            if row.reference {
                " <small>(reference)</small>"
            } else {
                ""
            }
        );
        for (cell, column) in row.cells.iter().zip(&comparison.columns) {
            let Some(cell) = cell else {
                html.push_str("<td data-value=\"\">—</td>");
                continue;
            };
            let score = value_text(cell);
            let score = if links == Links::ItemPages && cell.items.is_some() {
                format!(
                    "<a class=\"drill\" href=\"/items?model={}&amp;benchmark={}\">{}</a>",
                    encode_query_value(&row.model.name),
                    encode_query_value(&column.label),
                    escape_html(&score)
                )
            } else {
                escape_html(&score)
            };
            let _ = write!(
                html,
                "<td class=\"{}\" data-value=\"{}\"><span class=\"score\">{score}</span>",
                if cell.best { "best" } else { "" },
                cell.value
            );
            if let Some(note) = &cell.published {
                let _ = write!(
                    html,
                    "<div class=\"settings\">published: {}-shot, {}; {}</div>",
                    cell.num_fewshot.map_or("?".to_owned(), |n| n.to_string()),
                    escape_html(&note.method),
                    escape_html(&note.source)
                );
            }
            if let Some(delta) = &cell.delta {
                let _ = write!(
                    html,
                    "<div class=\"delta {}\">{}</div>",
                    delta.verdict.to_string().replace(' ', "-"),
                    escape_html(&delta_text(delta))
                );
                if !delta.settings.is_empty() {
                    let _ = write!(
                        html,
                        "<div class=\"settings\">unpaired; {}</div>",
                        escape_html(&delta.settings.join("; "))
                    );
                }
            }
            html.push_str("</td>");
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

fn catch_up_table(comparison: &Comparison) -> String {
    let mut html = String::from(
        "<table id=\"catch-up\"><thead><tr><th>domain</th><th>benchmark</th><th>reference</th><th>best at or above the reference, or the gap</th></tr></thead><tbody>",
    );
    for entry in &comparison.catch_up {
        let class = match entry.status {
            CatchUpStatus::Matched { .. } => "ahead",
            CatchUpStatus::Gap { .. } => "behind",
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{}</td></tr>",
            escape_html(entry.domain.label()),
            escape_html(&entry.benchmark),
            format_value(entry.reference_value),
            escape_html(&catch_up_text(&entry.status))
        );
    }
    html.push_str("</tbody></table>");
    html
}
