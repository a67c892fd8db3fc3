//! Models side by side against a reference: the table, the verdicts, the catch-up map
//! and the per-domain scores.

use crate::stored::{load_models, ItemId, StoredModel};
use crate::{CompareError, Domain, PublishedScore, PublishedScores};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use yardstick_metrics::{paired_bootstrap, Aggregate, McNemar, NormalDifference, Verdict};
use yardstick_store::Store;

/// Significance level of the verdicts (their intervals are 95%).
pub const ALPHA: f64 = 0.05;

/// What to compare.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// The reference: a stored model's name (or a unique part of it) or a published
    /// model.
    pub reference: String,
    /// The models to compare (stored or published); empty: every stored model.
    pub models: Vec<String>,
    /// Benchmarks (task or group names) to show; empty: all.
    pub tasks: Vec<String>,
    /// Resamples of the paired bootstrap.
    pub resamples: usize,
    /// Seed of the paired bootstrap.
    pub seed: u64,
}

impl CompareOptions {
    /// Every stored model and benchmark against `reference`.
    pub fn new(reference: impl Into<String>) -> Self {
        Self {
            reference: reference.into(),
            models: Vec::new(),
            tasks: Vec::new(),
            resamples: 2000,
            seed: 1234,
        }
    }
}

/// Where a row's numbers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Runs in the results database, item by item.
    Stored,
    /// The registry of published scores.
    Published,
}

/// A model in the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    /// Its name.
    pub name: String,
    /// Stored or published.
    pub kind: ModelKind,
    /// Its fingerprint (stored models).
    pub fingerprint: Option<String>,
}

/// One benchmark column.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// How the table heads it (`mmlu`, or `mmlu (5-shot)` when several settings ran).
    pub label: String,
    /// The task or group.
    pub benchmark: String,
    /// Few-shot examples of the stored runs.
    pub num_fewshot: usize,
    /// Its survey domain.
    pub domain: Domain,
    /// The metric compared.
    pub metric: String,
    /// Whether more is better (false for perplexities).
    pub higher_is_better: bool,
    /// The models with the best value.
    pub best: Vec<String>,
}

/// How a difference was tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TestKind {
    /// McNemar's exact test on paired right/wrong items (its interval the exact one of
    /// the discordant split, so interval and verdict agree).
    #[serde(rename = "mcnemar")]
    McNemar,
    /// A paired bootstrap of per-item differences.
    #[serde(rename = "paired bootstrap")]
    PairedBootstrap,
    /// A normal test on two independent scores (different items, or a published
    /// number).
    #[serde(rename = "unpaired")]
    Unpaired,
}

/// A model's difference to the reference on one benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct Delta {
    /// Model minus reference (on the shared items when paired).
    pub difference: f64,
    /// Lower end of its 95% interval.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// Two-sided p-value for "no difference".
    pub p_value: f64,
    /// The test.
    pub test: TestKind,
    /// Items both scored (paired tests).
    pub paired_items: Option<usize>,
    /// Ahead, on par or behind, at [`ALPHA`].
    #[serde(serialize_with = "as_display")]
    pub verdict: Verdict,
    /// Settings that differ between the two numbers (shots, metric, method).
    pub settings: Vec<String>,
}

/// Where a published number comes from.
#[derive(Debug, Clone, Serialize)]
pub struct PublishedNote {
    /// How it was obtained.
    pub method: String,
    /// The paper or model card.
    pub source: String,
}

/// One model's score on one benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// The score (fractions for accuracies).
    pub value: f64,
    /// Its standard error, when known.
    pub stderr: Option<f64>,
    /// Items scored (stored runs).
    pub items: Option<usize>,
    /// Few-shot examples.
    pub num_fewshot: Option<usize>,
    /// The metric this number is.
    pub metric: String,
    /// Best in its column.
    pub best: bool,
    /// For published numbers, where they come from.
    pub published: Option<PublishedNote>,
    /// The difference to the reference (not on the reference's own row).
    pub delta: Option<Delta>,
}

/// One model's row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The model.
    pub model: ModelInfo,
    /// Whether it is the reference.
    pub reference: bool,
    /// One entry per column, `None` where it has no score.
    pub cells: Vec<Option<Cell>>,
}

/// Has anyone caught up with the reference on a benchmark?
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CatchUpStatus {
    /// The best model that is ahead of or on par with the reference.
    Matched {
        /// The model.
        model: String,
        /// Its score.
        value: f64,
        /// Ahead or on par.
        #[serde(serialize_with = "as_display")]
        verdict: Verdict,
    },
    /// Every model is behind: the best of them and the gap that remains.
    Gap {
        /// The best model.
        model: String,
        /// Its score.
        value: f64,
        /// Reference minus model.
        gap: f64,
        /// Lower end of the gap's 95% interval.
        low: f64,
        /// Upper end.
        high: f64,
    },
}

/// One entry of the catch-up map.
#[derive(Debug, Clone, Serialize)]
pub struct CatchUp {
    /// The domain.
    pub domain: Domain,
    /// The column's label.
    pub benchmark: String,
    /// The reference's score.
    pub reference_value: f64,
    /// Who matched it, or the gap.
    #[serde(flatten)]
    pub status: CatchUpStatus,
}

/// A model's mean score in one domain, each benchmark on a 0-1 scale.
#[derive(Debug, Clone, Serialize)]
pub struct DomainScore {
    /// The domain.
    pub domain: Domain,
    /// The mean, `None` when the model has no score in the domain.
    pub score: Option<f64>,
    /// The benchmarks that went in.
    pub benchmarks: Vec<String>,
}

/// A model's scores across the domains (the radar chart's data).
#[derive(Debug, Clone, Serialize)]
pub struct DomainProfile {
    /// The model.
    pub model: String,
    /// The survey's domains in order (and `other` when a benchmark falls there).
    pub domains: Vec<DomainScore>,
}

/// The whole comparison, as the table, the map and the charts show it.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The reference model.
    pub reference: ModelInfo,
    /// Significance level of the verdicts.
    pub alpha: f64,
    /// Benchmarks, ordered by domain.
    pub columns: Vec<Column>,
    /// The reference's row first, then the others.
    pub rows: Vec<Row>,
    /// Per benchmark the reference scored: who caught up, or the gap.
    pub catch_up: Vec<CatchUp>,
    /// Per model, its domain scores.
    pub profiles: Vec<DomainProfile>,
}

fn as_display<S: Serializer, T: std::fmt::Display>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// A model in a row: its stored results, or its published scores.
enum Source<'a> {
    Stored(&'a StoredModel),
    Published(String),
}

impl Source<'_> {
    fn name(&self) -> &str {
        match self {
            Source::Stored(model) => &model.name,
            Source::Published(name) => name,
        }
    }

    fn info(&self) -> ModelInfo {
        match self {
            Source::Stored(model) => ModelInfo {
                name: model.name.clone(),
                kind: ModelKind::Stored,
                fingerprint: Some(model.fingerprint.as_str().to_owned()),
            },
            Source::Published(name) => ModelInfo {
                name: name.clone(),
                kind: ModelKind::Published,
                fingerprint: None,
            },
        }
    }
}

/// Compares the models in `store` (and `published`) as `options` asks.
pub fn compare(
    store: &Store,
    published: &PublishedScores,
    options: &CompareOptions,
) -> Result<Comparison, CompareError> {
    let stored = load_models(store)?;
    Comparison::build(&stored, published, options)
}

impl Comparison {
    /// Builds the comparison from models already read from a store.
    pub fn build(
        stored: &[StoredModel],
        published: &PublishedScores,
        options: &CompareOptions,
    ) -> Result<Self, CompareError> {
        let reference = resolve(&options.reference, stored, published)?;
        let mut sources = vec![reference];
        let asked: Vec<Source> = if options.models.is_empty() {
            stored.iter().map(Source::Stored).collect()
        } else {
            options
                .models
                .iter()
                .map(|name| resolve(name, stored, published))
                .collect::<Result<_, _>>()?
        };
        for source in asked {
            if !sources.iter().any(|s| s.name() == source.name()) {
                sources.push(source);
            }
        }
        let mut columns = columns(&sources, published, &options.tasks);
        // Each stored model's per-item values in each column, read once: the cell's
        // score and every paired test use them.
        let values: Vec<Vec<Option<ItemValues>>> = sources
            .iter()
            .map(|source| {
                columns
                    .iter()
                    .map(|column| match source {
                        Source::Stored(model) => stored_values(model, column),
                        Source::Published(_) => None,
                    })
                    .collect()
            })
            .collect();
        let mut rows: Vec<Row> = sources
            .iter()
            .zip(&values)
            .enumerate()
            .map(|(i, (source, row_values))| Row {
                model: source.info(),
                reference: i == 0,
                cells: columns
                    .iter()
                    .zip(row_values)
                    .map(|(column, values)| cell(source, column, values.as_ref(), published))
                    .collect(),
            })
            .collect();
        for (j, column) in columns.iter().enumerate() {
            for i in 1..rows.len() {
                let delta = match (&rows[0].cells[j], &rows[i].cells[j]) {
                    (Some(reference), Some(model)) => Some(delta(
                        (values[i][j].as_ref(), model),
                        (values[0][j].as_ref(), reference),
                        column,
                        options,
                    )),
                    _ => None,
                };
                if let Some(cell) = &mut rows[i].cells[j] {
                    cell.delta = delta;
                }
            }
        }
        mark_best(&mut columns, &mut rows);
        let catch_up = catch_up(&columns, &rows);
        let profiles = rows.iter().map(|row| profile(row, &columns)).collect();
        Ok(Self {
            reference: rows[0].model.clone(),
            alpha: ALPHA,
            columns,
            rows,
            catch_up,
            profiles,
        })
    }
}

/// Finds a model by name: exactly (any case), else the one stored model — or, failing
/// that, published model — whose name contains the query once both are reduced to
/// letters and digits (`gemma3-270m` finds `gemma-3-270m-q4_k_m`).
fn resolve<'a>(
    query: &str,
    stored: &'a [StoredModel],
    published: &PublishedScores,
) -> Result<Source<'a>, CompareError> {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    if let Some(model) = stored.iter().find(|m| m.name.eq_ignore_ascii_case(query)) {
        return Ok(Source::Stored(model));
    }
    let published_names = published.models();
    if let Some(name) = published_names
        .iter()
        .find(|n| n.eq_ignore_ascii_case(query))
    {
        return Ok(Source::Published((*name).to_owned()));
    }
    let wanted = squash(query);
    let stored_matches: Vec<&StoredModel> = stored
        .iter()
        .filter(|m| squash(&m.name).contains(&wanted))
        .collect();
    let published_matches: Vec<&str> = published_names
        .iter()
        .copied()
        .filter(|n| squash(n).contains(&wanted))
        .collect();
    match (stored_matches.as_slice(), published_matches.as_slice()) {
        ([model], _) => Ok(Source::Stored(model)),
        ([], [name]) => Ok(Source::Published((*name).to_owned())),
        ([], []) => Err(CompareError::UnknownModel {
            query: query.to_owned(),
            stored: stored.iter().map(|m| m.name.clone()).collect(),
            published: published_names.iter().map(|n| n.to_string()).collect(),
        }),
        _ => Err(CompareError::AmbiguousModel {
            query: query.to_owned(),
            matches: stored_matches
                .iter()
                .map(|m| m.name.clone())
                .chain(published_matches.iter().map(|n| n.to_string()))
                .collect(),
        }),
    }
}

/// Metrics that the survey's tables use where a benchmark reports several (the Open
/// LLM Leaderboard's choice: length-normalised accuracy for ARC and HellaSwag).
const PREFERRED_METRICS: &[(&str, &str)] = &[("arc_", "acc_norm"), ("hellaswag", "acc_norm")];

/// The part of a metric name before its filter (`exact_match,strict-match`).
fn metric_base(metric: &str) -> &str {
    metric.split(',').next().unwrap_or(metric)
}

fn columns(sources: &[Source], published: &PublishedScores, tasks: &[String]) -> Vec<Column> {
    let mut found: BTreeMap<(Domain, String, usize), Vec<String>> = BTreeMap::new();
    for source in sources {
        let Source::Stored(model) = source else {
            continue;
        };
        for benchmark in &model.benchmarks {
            if !tasks.is_empty() && !tasks.contains(&benchmark.name) {
                continue;
            }
            let key = (
                Domain::of_benchmark(&benchmark.name),
                benchmark.name.clone(),
                benchmark.num_fewshot,
            );
            let metrics = found.entry(key).or_default();
            for metric in benchmark.metric_names() {
                if !metrics.contains(&metric) {
                    metrics.push(metric);
                }
            }
        }
    }
    let reference_published = match sources.first() {
        Some(Source::Published(name)) => Some(name.as_str()),
        _ => None,
    };
    let shot_settings = |name: &str| found.keys().filter(|(_, n, _)| n == name).count();
    found
        .iter()
        .map(|((domain, name, shots), metrics)| {
            // Against a published reference, compare the metric it reports if the runs
            // have it; else the preferred one; else the first the records name.
            let from_reference = reference_published
                .and_then(|model| published.find(model, name).into_iter().next())
                .and_then(|score| {
                    metrics
                        .iter()
                        .find(|m| metric_base(m) == score.metric)
                        .cloned()
                });
            let preferred = PREFERRED_METRICS
                .iter()
                .find(|(prefix, metric)| {
                    name.starts_with(prefix) && metrics.iter().any(|m| m == metric)
                })
                .map(|(_, metric)| (*metric).to_owned());
            let metric = from_reference
                .or(preferred)
                .or_else(|| metrics.first().cloned())
                .unwrap_or_default();
            Column {
                label: if shot_settings(name) > 1 {
                    format!("{name} ({shots}-shot)")
                } else {
                    name.clone()
                },
                benchmark: name.clone(),
                num_fewshot: *shots,
                domain: *domain,
                higher_is_better: !metric.contains("perplexity") && !metric.contains("bits_per"),
                metric,
                best: Vec::new(),
            }
        })
        .collect()
}

/// The published score for `column`: the one with the column's metric, else the first.
fn published_score<'a>(
    published: &'a PublishedScores,
    model: &str,
    column: &Column,
) -> Option<&'a PublishedScore> {
    let scores = published.find(model, &column.benchmark);
    scores
        .iter()
        .find(|s| s.metric == metric_base(&column.metric))
        .or(scores.first())
        .copied()
}

/// A stored model's value of a column's metric per item.
type ItemValues<'a> = BTreeMap<&'a ItemId, f64>;

fn stored_values<'a>(model: &'a StoredModel, column: &Column) -> Option<ItemValues<'a>> {
    let values = model
        .benchmark(&column.benchmark, column.num_fewshot)?
        .values(&column.metric);
    (!values.is_empty()).then_some(values)
}

fn cell(
    source: &Source,
    column: &Column,
    values: Option<&ItemValues>,
    published: &PublishedScores,
) -> Option<Cell> {
    match source {
        Source::Stored(_) => {
            let values: Vec<f64> = values?.values().copied().collect();
            let aggregate = Aggregate::mean(&values);
            Some(Cell {
                value: aggregate.value,
                stderr: aggregate.stderr.is_finite().then_some(aggregate.stderr),
                items: Some(aggregate.count),
                num_fewshot: Some(column.num_fewshot),
                metric: column.metric.clone(),
                best: false,
                published: None,
                delta: None,
            })
        }
        Source::Published(name) => {
            let score = published_score(published, name, column)?;
            Some(Cell {
                value: score.value_on_run_scale(),
                stderr: score.stderr_on_run_scale(),
                items: None,
                num_fewshot: score.num_fewshot.map(|n| n as usize),
                metric: score.metric.clone(),
                best: false,
                published: Some(PublishedNote {
                    method: score.method.clone(),
                    source: score.source.clone(),
                }),
                delta: None,
            })
        }
    }
}

/// The settings two numbers differ in (either side published).
fn settings_differences(model: &Cell, reference: &Cell) -> Vec<String> {
    let mut out = Vec::new();
    if model.published.is_none() && reference.published.is_none() {
        return out;
    }
    let shots = |c: &Cell| c.num_fewshot.map_or("?".to_owned(), |n| n.to_string());
    if model.num_fewshot != reference.num_fewshot {
        out.push(format!("shots {} vs {}", shots(model), shots(reference)));
    }
    if metric_base(&model.metric) != metric_base(&reference.metric) {
        out.push(format!("metric {} vs {}", model.metric, reference.metric));
    }
    for cell in [model, reference] {
        if let Some(note) = &cell.published {
            out.push(format!("published method: {}", note.method));
        }
    }
    out
}

/// The model's difference to the reference in one column; `values` are each side's
/// per-item values (stored models), which make the test paired where items are shared.
fn delta(
    (model_values, model): (Option<&ItemValues>, &Cell),
    (reference_values, reference): (Option<&ItemValues>, &Cell),
    column: &Column,
    options: &CompareOptions,
) -> Delta {
    let settings = settings_differences(model, reference);
    let paired = match (model_values, reference_values) {
        (Some(a), Some(b)) => {
            let shared: Vec<(f64, f64)> = a
                .iter()
                .filter_map(|(id, x)| b.get(id).map(|y| (*x, *y)))
                .collect();
            (!shared.is_empty()).then_some(shared)
        }
        _ => None,
    };
    let (difference, low, high, p_value, test, paired_items) = match paired {
        Some(pairs) => {
            if let Some(test) = McNemar::from_paired_scores(&pairs) {
                let (low, high) = test.difference_interval(pairs.len());
                let difference = pairs.iter().map(|(x, y)| x - y).sum::<f64>() / pairs.len() as f64;
                (
                    difference,
                    low,
                    high,
                    test.p_value,
                    TestKind::McNemar,
                    Some(pairs.len()),
                )
            } else {
                let a: Vec<f64> = pairs.iter().map(|(x, _)| *x).collect();
                let b: Vec<f64> = pairs.iter().map(|(_, y)| *y).collect();
                let boot = paired_bootstrap(&a, &b, options.resamples, options.seed);
                match boot {
                    Some(boot) => (
                        boot.mean_difference,
                        boot.low,
                        boot.high,
                        boot.p_value,
                        TestKind::PairedBootstrap,
                        Some(pairs.len()),
                    ),
                    None => unpaired(model, reference),
                }
            }
        }
        None => unpaired(model, reference),
    };
    let sign = if column.higher_is_better { 1.0 } else { -1.0 };
    Delta {
        difference,
        low,
        high,
        p_value,
        test,
        paired_items,
        verdict: Verdict::from_test(sign * difference, p_value, ALPHA),
        settings,
    }
}

type Tested = (f64, f64, f64, f64, TestKind, Option<usize>);

fn unpaired(model: &Cell, reference: &Cell) -> Tested {
    let d = NormalDifference::unpaired(
        model.value,
        model.stderr.unwrap_or(0.0),
        reference.value,
        reference.stderr.unwrap_or(0.0),
    );
    (
        d.difference,
        d.low,
        d.high,
        d.p_value,
        TestKind::Unpaired,
        None,
    )
}

fn mark_best(columns: &mut [Column], rows: &mut [Row]) {
    for (j, column) in columns.iter_mut().enumerate() {
        let sign = if column.higher_is_better { 1.0 } else { -1.0 };
        let best = rows
            .iter()
            .filter_map(|r| r.cells[j].as_ref())
            .map(|c| sign * c.value)
            .filter(|v| v.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        for row in rows.iter_mut() {
            if let Some(cell) = &mut row.cells[j] {
                if sign * cell.value == best {
                    cell.best = true;
                    column.best.push(row.model.name.clone());
                }
            }
        }
    }
}

fn catch_up(columns: &[Column], rows: &[Row]) -> Vec<CatchUp> {
    let mut out = Vec::new();
    for (j, column) in columns.iter().enumerate() {
        let Some(reference) = rows.first().and_then(|r| r.cells[j].as_ref()) else {
            continue;
        };
        let sign = if column.higher_is_better { 1.0 } else { -1.0 };
        let candidates: Vec<(&Row, &Cell, &Delta)> = rows
            .iter()
            .skip(1)
            .filter_map(|row| {
                let cell = row.cells[j].as_ref()?;
                Some((row, cell, cell.delta.as_ref()?))
            })
            .collect();
        let matched: Vec<_> = candidates
            .iter()
            .copied()
            .filter(|(_, _, d)| d.verdict != Verdict::Behind)
            .collect();
        let status = if let Some((row, cell, d)) = best_of(matched, sign) {
            CatchUpStatus::Matched {
                model: row.model.name.clone(),
                value: cell.value,
                verdict: d.verdict,
            }
        } else if let Some((row, cell, d)) = best_of(candidates, sign) {
            CatchUpStatus::Gap {
                model: row.model.name.clone(),
                value: cell.value,
                gap: -d.difference,
                low: -d.high,
                high: -d.low,
            }
        } else {
            continue;
        };
        out.push(CatchUp {
            domain: column.domain,
            benchmark: column.label.clone(),
            reference_value: reference.value,
            status,
        });
    }
    out
}

/// The candidate with the best score (`sign` -1 when less is better).
fn best_of<'a>(
    list: Vec<(&'a Row, &'a Cell, &'a Delta)>,
    sign: f64,
) -> Option<(&'a Row, &'a Cell, &'a Delta)> {
    list.into_iter()
        .max_by(|a, b| (sign * a.1.value).total_cmp(&(sign * b.1.value)))
}

/// A benchmark's score on a 0-1 scale for the domain means: MT-Bench's 1-10 score and
/// AlpacaEval's percentages are rescaled, fractions are kept.
fn unit_scale(column: &Column, value: f64) -> f64 {
    let metric = metric_base(&column.metric);
    if metric == "score" {
        value / 10.0
    } else if metric.contains("win_rate") {
        value / 100.0
    } else {
        value
    }
}

fn profile(row: &Row, columns: &[Column]) -> DomainProfile {
    let mut domains: Vec<Domain> = Domain::SURVEY.to_vec();
    if columns.iter().any(|c| c.domain == Domain::Other) {
        domains.push(Domain::Other);
    }
    DomainProfile {
        model: row.model.name.clone(),
        domains: domains
            .into_iter()
            .map(|domain| {
                let scored: Vec<(String, f64)> = columns
                    .iter()
                    .zip(&row.cells)
                    .filter(|(c, cell)| c.domain == domain && cell.is_some())
                    .filter_map(|(c, cell)| {
                        cell.as_ref()
                            .map(|cell| (c.label.clone(), unit_scale(c, cell.value)))
                    })
                    .collect();
                DomainScore {
                    domain,
                    score: (!scored.is_empty())
                        .then(|| scored.iter().map(|(_, v)| v).sum::<f64>() / scored.len() as f64),
                    benchmarks: scored.into_iter().map(|(name, _)| name).collect(),
                }
            })
            .collect(),
    }
}
