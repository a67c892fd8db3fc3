//! Charts as standalone SVG: a radar of each model across the domains, and per
//! benchmark bars with 95% whiskers.

use crate::escape::escape_html;
use std::fmt::Write;
use yardstick_compare::Comparison;
use yardstick_metrics::Z_95;

/// Colours of the models' series, in row order (the reference first).
const PALETTE: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// The colour of row `i`'s series.
pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// A radar of each model's domain scores (0 at the centre, 1 at the rim). Domains where
/// a model has no score are left out of its polygon, and axes where no model has one
/// are labelled `n/a`.
pub fn radar(comparison: &Comparison) -> String {
    let (size, cx, cy, radius) = (520.0, 260.0, 250.0, 170.0);
    let axes: Vec<_> = comparison
        .profiles
        .first()
        .map(|p| p.domains.iter().map(|d| d.domain).collect())
        .unwrap_or_default();
    let n = axes.len().max(1) as f64;
    let point = |axis: usize, r: f64| {
        let angle = -std::f64::consts::FRAC_PI_2 + axis as f64 * std::f64::consts::TAU / n;
        (cx + r * radius * angle.cos(), cy + r * radius * angle.sin())
    };
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart radar" width="{size}" height="{h}" viewBox="0 0 {size} {h}" role="img"><title>Domain scores of each model</title>"#,
        h = size + 20.0 * comparison.profiles.len() as f64
    );
    for ring in [0.25, 0.5, 0.75, 1.0] {
        let points: Vec<String> = (0..axes.len())
            .map(|i| {
                let (x, y) = point(i, ring);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            svg,
            r##"<polygon points="{}" fill="none" stroke="#ccc"/>"##,
            points.join(" ")
        );
    }
    for (i, domain) in axes.iter().enumerate() {
        let (x, y) = point(i, 1.0);
        let (lx, ly) = point(i, 1.18);
        let scored = comparison
            .profiles
            .iter()
            .any(|p| p.domains.get(i).is_some_and(|d| d.score.is_some()));
        let label = if scored {
            domain.label().to_owned()
        } else {
            format!("{} (n/a)", domain.label())
        };
        let _ = write!(
            svg,
            r##"<line x1="{cx}" y1="{cy}" x2="{x:.1}" y2="{y:.1}" stroke="#bbb"/><text x="{lx:.1}" y="{ly:.1}" text-anchor="middle" font-size="13" fill="{}">{}</text>"##,
            if scored { "#222" } else { "#999" },
            escape_html(&label)
        );
    }
    for (m, profile) in comparison.profiles.iter().enumerate() {
        let points: Vec<(f64, f64)> = profile
            .domains
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.score.map(|s| point(i, s.clamp(0.0, 1.0))))
            .collect();
        let text: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect();
        let _ = write!(
            svg,
            r#"<polygon class="series" points="{}" fill="{c}" fill-opacity="0.15" stroke="{c}" stroke-width="2"/>"#,
            text.join(" "),
            c = color(m)
        );
        for (x, y) in points {
            let _ = write!(
                svg,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{}"/>"#,
                color(m)
            );
        }
        let ly = size - 10.0 + 20.0 * m as f64;
        let _ = write!(
            svg,
            r#"<rect x="20" y="{:.1}" width="12" height="12" fill="{c}"/><text x="38" y="{ly:.1}" font-size="13">{}</text>"#,
            ly - 10.0,
            escape_html(&profile.model),
            c = color(m)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// `name` cut to `max` characters with an ellipsis, so that a label fits its margin.
fn short_label(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        name.to_owned()
    } else {
        let kept: String = name.chars().take(max - 1).collect();
        format!("{kept}…")
    }
}

/// Bars for one benchmark (column `column`): each model's score with a whisker over its
/// 95% interval (±1.96 standard errors), the reference's value as a dashed line.
pub fn bars(comparison: &Comparison, column: usize) -> String {
    let Some(col) = comparison.columns.get(column) else {
        return String::new();
    };
    let entries: Vec<(usize, &str, f64, f64)> = comparison
        .rows
        .iter()
        .enumerate()
        .filter_map(|(i, row)| {
            let cell = row.cells.get(column)?.as_ref()?;
            Some((
                i,
                row.model.name.as_str(),
                cell.value,
                cell.stderr.unwrap_or(0.0) * Z_95,
            ))
        })
        .collect();
    // Fractions on a 0-1 axis (whiskers clipped at its ends); other scales rounded up.
    let largest = entries.iter().map(|(_, _, v, _)| *v).fold(0.0f64, f64::max);
    let top = if largest <= 1.0 {
        1.0
    } else {
        entries
            .iter()
            .map(|(_, _, v, w)| v + w)
            .fold(largest, f64::max)
            .ceil()
    };
    let (left, width, bar_h, gap) = (240.0, 260.0, 22.0, 10.0);
    let height = 50.0 + entries.len() as f64 * (bar_h + gap);
    let x_of = |v: f64| left + (v / top).clamp(0.0, 1.0) * width;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart bars" width="560" height="{height}" viewBox="0 0 560 {height}" role="img"><title>{t}</title><text x="10" y="18" font-size="14" font-weight="bold">{t}</text>"#,
        t = escape_html(&format!("{} ({}, {})", col.label, col.metric, col.domain))
    );
    for tick in 0..=4 {
        let v = top * tick as f64 / 4.0;
        let x = x_of(v);
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" y1="28" x2="{x:.1}" y2="{:.1}" stroke="#eee"/><text x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#666">{v:.2}</text>"##,
            height - 18.0,
            height - 5.0
        );
    }
    for (k, (i, name, value, whisker)) in entries.iter().enumerate() {
        let y = 32.0 + k as f64 * (bar_h + gap);
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end">{}</text><rect class="bar" x="{left}" y="{y:.1}" width="{:.1}" height="{bar_h}" fill="{}"/><line class="whisker" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#000" stroke-width="1.5"/><text x="{:.1}" y="{:.1}" font-size="11">{value:.3}</text>"##,
            left - 6.0,
            y + 15.0,
            escape_html(&short_label(name, 34)),
            x_of(*value) - left,
            color(*i),
            x_of(value - whisker),
            y + bar_h / 2.0,
            x_of(value + whisker),
            y + bar_h / 2.0,
            x_of(value + whisker) + 4.0,
            y + 15.0
        );
    }
    if let Some((_, _, reference, _)) = entries.iter().find(|(i, ..)| *i == 0) {
        let x = x_of(*reference);
        let _ = write!(
            svg,
            r##"<line class="reference" x1="{x:.1}" y1="28" x2="{x:.1}" y2="{:.1}" stroke="#444" stroke-dasharray="4 3"/>"##,
            height - 18.0
        );
    }
    svg.push_str("</svg>");
    svg
}
/// A heatmap: one cell per (column, row) with its score in [0, 1] (red 0, green 1,
/// grey when missing) and its value written in it, columns and rows labelled; used for
/// needle-in-a-haystack retrieval by context length (columns) and depth (rows).
pub fn heatmap(
    title: &str,
    columns: &[String],
    rows: &[String],
    values: &[Vec<Option<f64>>],
) -> String {
    let (cell_w, cell_h, left, top) = (64.0, 28.0, 70.0, 50.0);
    let width = (left + cell_w * columns.len() as f64 + 20.0)
        .max(left + 7.0 * title.chars().count() as f64);
    let height = top + cell_h * rows.len() as f64 + 50.0;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n<text x=\"{left}\" y=\"20\" font-size=\"14\">{}</text>\n",
        escape_html(title)
    );
    for (r, row) in rows.iter().enumerate() {
        let y = top + cell_h * r as f64;
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            y + cell_h * 0.65,
            escape_html(row)
        );
        for c in 0..columns.len() {
            let x = left + cell_w * c as f64;
            let value = values.get(r).and_then(|v| v.get(c)).copied().flatten();
            let (fill, label) = match value {
                Some(v) => {
                    let v = v.clamp(0.0, 1.0);
                    let red = (220.0 * (1.0 - v) + 40.0 * v) as u8;
                    let green = (60.0 * (1.0 - v) + 170.0 * v) as u8;
                    (format!("rgb({red},{green},70)"), format!("{v:.2}"))
                }
                None => ("#ccc".to_owned(), "–".to_owned()),
            };
            let _ = writeln!(
                out,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{cell_w}\" height=\"{cell_h}\" fill=\"{fill}\" stroke=\"#fff\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#fff\">{label}</text>",
                x + cell_w / 2.0,
                y + cell_h * 0.65
            );
        }
    }
    let bottom = top + cell_h * rows.len() as f64;
    for (c, column) in columns.iter().enumerate() {
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            left + cell_w * (c as f64 + 0.5),
            bottom + 16.0,
            escape_html(column)
        );
    }
    out.push_str("</svg>\n");
    out
}
