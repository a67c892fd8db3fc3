//! Comparisons shown to people: tables, charts, a report file and a local leaderboard.
//!
//! - [`markdown`], [`csv`] and [`json`] render a [`Comparison`] as text;
//! - [`radar`] and [`bars`] draw it as SVG;
//! - [`comparison_page`] is the self-contained HTML page (no external assets), and
//!   [`write_report`] writes all of these into a folder;
//! - [`Leaderboard`] serves the page with per-item drill-down ([`ItemView`]) over HTTP,
//!   read-only, on loopback unless told otherwise.
//!
//! Model text is escaped everywhere ([`escape_html`]).

mod escape;
mod html;
mod items;
mod server;
mod svg;
mod tables;

pub use escape::{decode_query_value, encode_query_value, escape_html};
pub use html::{comparison_page, page, Links};
pub use items::{items_page, ItemView};
pub use server::{Leaderboard, LeaderboardOptions, Page};
pub use svg::{bars, heatmap, radar};
pub use tables::{csv, format_value, json, markdown, markdown_table};

use std::path::{Path, PathBuf};
use yardstick_compare::Comparison;

/// What can go wrong while reporting.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The results database failed.
    #[error(transparent)]
    Store(#[from] yardstick_store::StoreError),
    /// The comparison could not be made.
    #[error(transparent)]
    Compare(#[from] yardstick_compare::CompareError),
    /// A report file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The server could not listen.
    #[error("cannot listen on {address}: {message}; choose another --port or --host")]
    Bind {
        /// The address asked for.
        address: String,
        /// Why.
        message: String,
    },
    /// The database holds no runs to show.
    #[error("results database {location} holds no runs yet; evaluate a model with `yardstick run --db {location}`")]
    Empty {
        /// The database.
        location: yardstick_store::StoreLocation,
    },
}

/// The files [`write_report`] wrote.
#[derive(Debug, Clone)]
pub struct ReportFiles {
    /// The self-contained HTML page.
    pub html: PathBuf,
    /// Markdown tables.
    pub markdown: PathBuf,
    /// One CSV line per model and benchmark.
    pub csv: PathBuf,
    /// The whole comparison as JSON.
    pub json: PathBuf,
    /// The radar chart.
    pub radar: PathBuf,
    /// One bar chart per benchmark.
    pub bars: Vec<PathBuf>,
}

/// Writes the comparison into `dir` as `report.html`, `report.md`, `report.csv`,
/// `report.json`, `radar.svg` and `bars-<benchmark>.svg`.
pub fn write_report(comparison: &Comparison, dir: &Path) -> Result<ReportFiles, ReportError> {
    let write = |name: &str, text: &str| -> Result<PathBuf, ReportError> {
        let path = dir.join(name);
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&path, text))
            .map_err(|source| ReportError::Write {
                path: path.clone(),
                source,
            })?;
        Ok(path)
    };
    let bars = comparison
        .columns
        .iter()
        .enumerate()
        .map(|(j, column)| {
            let name: String = column
                .label
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            write(&format!("bars-{name}.svg"), &bars(comparison, j))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ReportFiles {
        html: write("report.html", &comparison_page(comparison, Links::None))?,
        markdown: write("report.md", &markdown(comparison))?,
        csv: write("report.csv", &csv(comparison))?,
        json: write("report.json", &json(comparison))?,
        radar: write("radar.svg", &radar(comparison))?,
        bars,
    })
}
