//! AlpacaEval 2's length-controlled (LC) win rate, as alpaca-eval 0.6.6 computes it by
//! default (`get_length_controlled_winrate` with the `length_controlled_v1` GLM).
//!
//! The GLM is a logistic regression of the (soft) preference on
//! `tanh(std_delta_len)`, the instruction's difficulty and a "not a gamed baseline" flag,
//! fitted on the model's annotations together with the annotations of two deliberately
//! verbose/concise versions of the baseline (`df_gamed.csv`, weighted 0.1 each). The LC win
//! rate is the mean predicted preference with the length term switched off.
//!
//! alpaca_eval fits it with scikit-learn's `LogisticRegressionCV` (L1 penalty, liblinear,
//! `GroupKFold(5)`, ten Cs, default tolerance 1e-4). That tolerance stops the solver short
//! of the optimum (by 4e-3 to 8e-3 percentage points of LC win rate on the repository's
//! fixture, and it can change which C wins), so matching alpaca_eval's numbers needs the
//! solver's own iterates, not just any minimiser. This module therefore re-implements
//! liblinear's L1-regularised logistic regression solver (newGLMNET: Newton steps,
//! randomised coordinate descent on the quadratic model, line search) with its
//! Mersenne-Twister permutations and seeds, and sklearn's fold assignment, scoring and
//! refit, summing in the orders numpy and liblinear use. What is left is the last-ulp
//! behaviour of numpy's vectorised `tanh` and `log`, which depends on the CPU numpy runs on;
//! on the fixture the results agree with alpaca_eval's to about 5e-14 percentage points.
//!
//! The file is longer than the usual ~800 lines because the solver port is meaningful only
//! with the exact set-up around it (row order, weights, seeds); splitting it would spread
//! one bit-exact recipe over several files.

use std::collections::HashSet;

/// The grid of inverse regularisation strengths `LogisticRegressionCV(Cs=10)` searches:
/// `numpy.logspace(-4, 4, 10)`, as numpy rounds it.
pub const LC_C_GRID: [f64; 10] = [
    1e-4,
    0.000_774_263_682_681_127,
    0.005_994_842_503_189_409,
    0.046_415_888_336_127_774,
    0.3593813663804626,
    2.782559402207126,
    21.54434690031882,
    166.81005372000558,
    1291.5496650148827,
    1e4,
];

/// liblinear's seeds, one per C in the path: sklearn draws them with
/// `RandomState(123).randint(2**31 - 1)`, afresh for every path, so the k-th C of a
/// cross-validation path and the single C of the refit (index 0) always get these.
const LIBLINEAR_SEEDS: [u32; 10] = [
    843_828_734,
    914_636_141,
    1_228_959_102,
    1_840_268_610,
    974_319_580,
    819_844_194,
    220_395_238,
    941_243_409,
    942_612_051,
    2_109_339_754,
];

/// `GLM_INFO["length_controlled_v1"]["regularize_to_baseline_lambda"]`.
const REGULARIZE_TO_BASELINE_LAMBDA: f64 = 0.2;
/// `GLM_INFO["length_controlled_v1"]["kwargs"]["n_splits"]`.
const N_SPLITS: usize = 5;
/// sklearn's `LogisticRegression` defaults, passed to liblinear as `eps` and the Newton
/// iteration limit.
const TOLERANCE: f64 = 1e-4;
const MAX_NEWTON_ITER: usize = 100;
/// alpaca_eval's `logloss` clips predictions to [EPS, 1 - EPS].
const LOGLOSS_CLIP: f64 = 1e-15;
/// Number of GLM features.
const NF: usize = 3;

/// Why a length-controlled win rate could not be computed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LengthControlError {
    /// The df_gamed CSV is not well-formed CSV (e.g. a row with the wrong number of fields).
    #[error("df_gamed CSV, line {line}: {message}")]
    Csv {
        /// 1-based line of the offending record.
        line: u64,
        /// The CSV reader's message.
        message: String,
    },
    /// The df_gamed CSV header lacks a column the GLM needs.
    #[error("df_gamed CSV: the header has no `{column}` column")]
    MissingColumn {
        /// The missing column.
        column: &'static str,
    },
    /// A df_gamed field could not be read as what its column holds.
    #[error("df_gamed CSV, line {line}, column `{column}`: {value:?} is not {expected}")]
    BadValue {
        /// 1-based line of the record.
        line: u64,
        /// Column name.
        column: &'static str,
        /// The field as written.
        value: String,
        /// What the column must hold.
        expected: &'static str,
    },
    /// alpaca_eval looks difficulties up by df_gamed row label; this one does not exist
    /// (pandas would raise a `KeyError`).
    #[error(
        "instruction index {index} has no difficulty: df_gamed row {index} is missing or \
         repeats an earlier row's `index`"
    )]
    UnknownInstruction {
        /// The annotation's instruction index.
        index: usize,
    },
    /// A preference (after the legacy 0 → 1.5 draw) outside [1, 2].
    #[error("annotation {row}: preference {value} is outside [1, 2]")]
    PreferenceOutOfRange {
        /// Position of the annotation.
        row: usize,
        /// The preference given.
        value: f64,
    },
    /// Too few annotations to standardise lengths or to cross-validate.
    #[error("need at least {needed} {what}, got {actual}")]
    TooFew {
        /// What is counted.
        what: &'static str,
        /// The minimum.
        needed: usize,
        /// What there is.
        actual: usize,
    },
    /// Every length difference is the same, so `delta / std` is 0/0 for this row (pandas
    /// makes it NaN and the design matrix drops it, which breaks alpaca_eval too).
    #[error("annotation {row}: the standardised length difference is undefined (all length differences are equal)")]
    UndefinedLengthFeature {
        /// Position of the annotation.
        row: usize,
    },
    /// A training fold kept only one of the two labels once zero weights were dropped.
    #[error("a logistic-regression fit has only one class after dropping zero weights")]
    OneClass,
}

/// One row of alpaca_eval's `df_gamed.csv`: an annotation of a length-gamed version of the
/// baseline against the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct GamedRow {
    /// The gamed model (not used by the GLM).
    pub model: String,
    /// The instruction index.
    pub index: i64,
    /// Preference already shifted to [0, 1]; NaN when missing (such rows are not fitted).
    pub preference: f64,
    /// The standardised length difference.
    pub std_delta_len: f64,
    /// The instruction's difficulty.
    pub instruction_difficulty: f64,
    /// Whether the row counts as the baseline proper (false for all rows of the real file).
    pub not_gamed_baseline: bool,
}

/// The rows of a `df_gamed.csv` (downloaded by alpaca_eval from the Hugging Face dataset
/// `tatsu-lab/alpaca_eval`), which both regularise the GLM and give each instruction's
/// difficulty.
#[derive(Debug, Clone, PartialEq)]
pub struct GamedAnnotations {
    rows: Vec<GamedRow>,
    /// Whether row i is the first with its `index` value (what `drop_duplicates` keeps).
    first_of_index: Vec<bool>,
}

impl GamedAnnotations {
    /// Reads the CSV text of a `df_gamed.csv`: a header naming at least `model`, `index`,
    /// `preference`, `std_delta_len`, `instruction_difficulty` and `not_gamed_baseline`
    /// (other columns are ignored), then one row per annotation. Errors name the line and
    /// column.
    pub fn from_csv_text(text: &str) -> Result<Self, LengthControlError> {
        const COLUMNS: [&str; 6] = [
            "model",
            "index",
            "preference",
            "std_delta_len",
            "instruction_difficulty",
            "not_gamed_baseline",
        ];
        let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let headers = reader.headers().map_err(csv_error)?.clone();
        let mut at = [0usize; 6];
        for (slot, column) in at.iter_mut().zip(COLUMNS) {
            *slot = headers
                .iter()
                .position(|h| h.trim() == column)
                .ok_or(LengthControlError::MissingColumn { column })?;
        }
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(csv_error)?;
            let line = record.position().map_or(0, csv::Position::line);
            let field = |k: usize| record.get(at[k]).unwrap_or("").trim();
            let bad = |k: usize, expected: &'static str| LengthControlError::BadValue {
                line,
                column: COLUMNS[k],
                value: field(k).to_owned(),
                expected,
            };
            let finite = |k: usize| {
                field(k)
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| bad(k, "a finite number"))
            };
            // pandas reads an empty field as NaN; alpaca_eval then drops the row from the fit.
            let preference = match field(2) {
                "" => f64::NAN,
                text => text
                    .parse::<f64>()
                    .ok()
                    .filter(|p| p.is_nan() || (0.0..=1.0).contains(p))
                    .ok_or_else(|| bad(2, "a preference in [0, 1] (or empty)"))?,
            };
            rows.push(GamedRow {
                model: field(0).to_owned(),
                index: field(1)
                    .parse()
                    .map_err(|_| bad(1, "an integer instruction index"))?,
                preference,
                std_delta_len: finite(3)?,
                instruction_difficulty: finite(4)?,
                not_gamed_baseline: match field(5) {
                    "True" | "TRUE" | "true" => true,
                    "False" | "FALSE" | "false" => false,
                    _ => return Err(bad(5, "True or False")),
                },
            });
        }
        let mut seen = HashSet::new();
        let first_of_index = rows.iter().map(|r| seen.insert(r.index)).collect();
        Ok(Self {
            rows,
            first_of_index,
        })
    }

    /// The rows, in file order.
    pub fn rows(&self) -> &[GamedRow] {
        &self.rows
    }

    /// The difficulty of instruction `index`, looked up as alpaca_eval does:
    /// `df_gamed.drop_duplicates("index")["instruction_difficulty"][index]` is a lookup by
    /// row *label*, i.e. the difficulty on row number `index` of the file, provided that
    /// row is the first with its `index` value. In the real file rows 0..805 are
    /// instructions 0..805 in order, which is what makes this the instruction's difficulty.
    pub fn instruction_difficulty(&self, index: usize) -> Result<f64, LengthControlError> {
        match self.first_of_index.get(index) {
            Some(true) => Ok(self.rows[index].instruction_difficulty),
            _ => Err(LengthControlError::UnknownInstruction { index }),
        }
    }
}

fn csv_error(error: csv::Error) -> LengthControlError {
    LengthControlError::Csv {
        line: error.position().map_or(0, csv::Position::line),
        message: error.to_string(),
    }
}

/// One annotation of the evaluated model against the baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LcAnnotation {
    /// The judge's preference: 1 = the baseline's output, 2 = the model's, 1.5 (or the
    /// legacy 0) a draw, in between a weighted judgment; `None` (or NaN) when missing.
    pub preference: Option<f64>,
    /// Length of the baseline's (reference) output in Unicode code points (pandas `str.len`).
    pub output_1_len: usize,
    /// Length of the evaluated model's output in Unicode code points.
    pub output_2_len: usize,
    /// The instruction's position in the AlpacaEval set (alpaca_eval's `index` column).
    pub index: usize,
}

/// The GLM's coefficients (sklearn's `coef_`), in alpaca_eval's design-matrix order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LcCoefficients {
    /// Of `np.tanh(std_delta_len)`.
    pub tanh_std_delta_len: f64,
    /// Of `instruction_difficulty`.
    pub instruction_difficulty: f64,
    /// Of `not_gamed_baseline.astype(float)`.
    pub not_gamed_baseline: f64,
}

/// Details of the fitted GLM.
#[derive(Debug, Clone, PartialEq)]
pub struct LcFit {
    /// The chosen inverse regularisation strength (one of [`LC_C_GRID`]).
    pub c: f64,
    /// The refitted coefficients.
    pub coefficients: LcCoefficients,
    /// For each C of [`LC_C_GRID`], the cross-validation score (negative weighted log loss)
    /// summed over the five folds; the first maximum picks `c`.
    pub cv_score_sums: [f64; 10],
    /// The sample standard deviation of the length differences (baseline minus model).
    pub delta_len_std: f64,
    /// Rows the GLM was fitted on (gamed rows plus model rows with a preference).
    pub n_train_rows: usize,
}

/// AlpacaEval's length-controlled win rate.
#[derive(Debug, Clone, PartialEq)]
pub struct LengthControlled {
    /// `length_controlled_winrate`, in percent.
    pub win_rate: f64,
    /// `lc_standard_error`: the standard error of the mean predicted preference, in percent.
    pub standard_error: f64,
    /// The GLM; `None` when the model is the baseline (nothing is fitted).
    pub fit: Option<LcFit>,
}

/// The length-controlled win rate of a model over the baseline, exactly as alpaca_eval's
/// default `get_length_controlled_winrate` computes it from `annotations` (in their
/// original order) and the gamed annotations. With `model_is_baseline` (alpaca_eval's
/// `generator_1 == generator_2`) nothing is fitted and the result is 50 ± 0.
///
/// Fails where alpaca_eval would raise (an instruction index with no difficulty, too few
/// rows, an undefined length feature) and also on a preference outside [1, 2], which
/// alpaca_eval's annotators never produce and its GLM would fit with negative weights.
pub fn length_controlled_win_rate(
    annotations: &[LcAnnotation],
    gamed: &GamedAnnotations,
    model_is_baseline: bool,
) -> Result<LengthControlled, LengthControlError> {
    let preference = |a: &LcAnnotation| a.preference.filter(|p| !p.is_nan());
    if model_is_baseline {
        // alpaca_eval predicts `preference * 0 + 0.5`, NaN where the preference is missing,
        // and pandas skips those NaN in the mean and standard error.
        let n = annotations.iter().filter_map(preference).count();
        let (win_rate, standard_error) = match n {
            0 => (f64::NAN, f64::NAN),
            1 => (50.0, f64::NAN),
            _ => (50.0, 0.0),
        };
        return Ok(LengthControlled {
            win_rate,
            standard_error,
            fit: None,
        });
    }
    if annotations.len() < 2 {
        return Err(LengthControlError::TooFew {
            what: "annotations",
            needed: 2,
            actual: annotations.len(),
        });
    }

    // The model's rows: features, prediction features (length term off) and targets.
    let deltas: Vec<f64> = annotations
        .iter()
        .map(|a| a.output_1_len as f64 - a.output_2_len as f64)
        .collect();
    let delta_len_std = pandas_var(&deltas).sqrt();
    let mut groups: Vec<Group> = gamed
        .rows
        .iter()
        .filter(|r| !r.preference.is_nan())
        .map(|r| {
            let baseline = f64::from(u8::from(r.not_gamed_baseline));
            Group {
                x: [r.std_delta_len.tanh(), r.instruction_difficulty, baseline],
                p: r.preference,
                // `not_gamed + (lambda * ~not_gamed) / 2`: the two gamed models share lambda.
                w: baseline
                    + REGULARIZE_TO_BASELINE_LAMBDA * f64::from(u8::from(!r.not_gamed_baseline))
                        / 2.0,
            }
        })
        .collect();
    let mut test_rows = Vec::with_capacity(annotations.len());
    for (row, (a, delta)) in annotations.iter().zip(&deltas).enumerate() {
        let length = (delta / delta_len_std).tanh();
        if length.is_nan() {
            return Err(LengthControlError::UndefinedLengthFeature { row });
        }
        let difficulty = gamed.instruction_difficulty(a.index)?;
        test_rows.push([0.0, difficulty, 1.0]);
        if let Some(value) = preference(a) {
            let value = if value == 0.0 { 1.5 } else { value };
            if !(1.0..=2.0).contains(&value) {
                return Err(LengthControlError::PreferenceOutOfRange { row, value });
            }
            groups.push(Group {
                x: [length, difficulty, 1.0],
                p: value - 1.0,
                w: 1.0,
            });
        }
    }
    if groups.len() < N_SPLITS {
        return Err(LengthControlError::TooFew {
            what: "training rows (one per cross-validation fold)",
            needed: N_SPLITS,
            actual: groups.len(),
        });
    }

    let (cv_score_sums, best) = cross_validate(&groups)?;
    let c = LC_C_GRID[best];
    let beta = Problem::new(&groups, |_| true)?.solve(c, LIBLINEAR_SEEDS[0]);
    let predicted: Vec<f64> = test_rows
        .iter()
        .map(|x| expit(decision(x, &beta)))
        .collect();
    let n = predicted.len() as f64;
    Ok(LengthControlled {
        win_rate: numpy_sum(&predicted) / n * 100.0,
        // pandas' sem: sqrt(var) / sqrt(count).
        standard_error: pandas_var(&predicted).sqrt() / n.sqrt() * 100.0,
        fit: Some(LcFit {
            c,
            coefficients: LcCoefficients {
                tanh_std_delta_len: beta[0],
                instruction_difficulty: beta[1],
                not_gamed_baseline: beta[2],
            },
            cv_score_sums,
            delta_len_std,
            n_train_rows: groups.len(),
        }),
    })
}

/// One training row of the GLM; sklearn sees it twice (label 1 with weight `p·w`, label 0
/// with weight `(1-p)·w`) and keeps both copies in one CV group.
#[derive(Debug, Clone, Copy)]
struct Group {
    x: [f64; NF],
    p: f64,
    w: f64,
}

/// `GroupKFold(n_splits)` for `n_groups` groups of equal size: sklearn stably sorts the
/// groups by size, reverses, and gives each to the lightest fold (the first on ties), which
/// deals them round-robin from the last group.
fn group_k_fold(group: usize, n_groups: usize, n_splits: usize) -> usize {
    (n_groups - 1 - group) % n_splits
}

/// The five-fold cross-validation of `LogisticRegressionCV`: the per-C scores summed over
/// folds, and the index of the first best C.
fn cross_validate(groups: &[Group]) -> Result<([f64; 10], usize), LengthControlError> {
    let n = groups.len();
    let mut sums = [0.0; 10];
    for fold in 0..N_SPLITS {
        let in_fold = |g: usize| group_k_fold(g, n, N_SPLITS) == fold;
        let train = Problem::new(groups, |g| !in_fold(g))?;
        let test: Vec<Group> = (0..n).filter(|&g| in_fold(g)).map(|g| groups[g]).collect();
        for (k, sum) in sums.iter_mut().enumerate() {
            let beta = train.solve(LC_C_GRID[k], LIBLINEAR_SEEDS[k]);
            *sum += fold_score(&test, &beta);
        }
    }
    let mut best = 0;
    for (k, &score) in sums.iter().enumerate() {
        if score > sums[best] {
            best = k;
        }
    }
    Ok((sums, best))
}

/// alpaca_eval's scorer (`logloss_continuous`, sign flipped) on a test fold: the unweighted
/// mean over the duplicated rows (label-1 copies, then label-0 copies) of
/// `w · (y log q + (1-y) log(1-q))`.
fn fold_score(test: &[Group], beta: &[f64; NF]) -> f64 {
    let mut terms = Vec::with_capacity(2 * test.len());
    for label_one in [true, false] {
        for g in test {
            let q = expit(decision(&g.x, beta)).clamp(LOGLOSS_CLIP, 1.0 - LOGLOSS_CLIP);
            // The label-0 copy stores 1 - p as its "true probability" and the scorer turns it
            // back into 1 - (1 - p), which is not always p in floating point.
            let y = if label_one { g.p } else { 1.0 - (1.0 - g.p) };
            terms.push((y * q.ln() + (1.0 - y) * (1.0 - q).ln()) * g.w);
        }
    }
    numpy_sum(&terms) / terms.len() as f64
}

/// `X @ coef` as the reference's OpenBLAS dgemv rounds a three-column row (two fused
/// multiply-adds around the middle product); it only matters in the last bit of CV scores.
fn decision(x: &[f64; NF], beta: &[f64; NF]) -> f64 {
    x[2].mul_add(beta[2], x[0].mul_add(beta[0], x[1] * beta[1]))
}

/// scipy's `expit`.
fn expit(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// numpy's pairwise summation of a float64 array (`np.sum`, and so `mean`, `var`): eight
/// accumulators over blocks of up to 128, halves (rounded to multiples of 8) above that.
fn numpy_sum(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 8 {
        values.iter().fold(0.0, |acc, v| acc + v)
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&values[..8]);
        let whole = n - n % 8;
        for block in values[8..whole].chunks_exact(8) {
            for (acc, v) in r.iter_mut().zip(block) {
                *acc += v;
            }
        }
        let mut sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for v in &values[whole..] {
            sum += v;
        }
        sum
    } else {
        let half = n / 2;
        let half = half - half % 8;
        numpy_sum(&values[..half]) + numpy_sum(&values[half..])
    }
}

/// pandas' sample variance (ddof 1, two-pass: numpy sums of the values and of the squared
/// deviations). Needs at least two values.
fn pandas_var(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = numpy_sum(values) / n;
    let squares: Vec<f64> = values.iter().map(|v| (mean - v) * (mean - v)).collect();
    numpy_sum(&squares) / (n - 1.0)
}

/// The 32-bit Mersenne Twister (`std::mt19937`) that sklearn's liblinear draws from.
struct Mt19937 {
    state: [u32; 624],
    next: usize,
}

impl Mt19937 {
    fn new(seed: u32) -> Self {
        let mut state = [0u32; 624];
        state[0] = seed;
        for i in 1..624 {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Self { state, next: 624 }
    }

    fn next_u32(&mut self) -> u32 {
        if self.next >= 624 {
            for k in 0..624 {
                let y = (self.state[k] & 0x8000_0000) | (self.state[(k + 1) % 624] & 0x7fff_ffff);
                let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
                self.state[k] = self.state[(k + 397) % 624] ^ (y >> 1) ^ mag;
            }
            self.next = 0;
        }
        let mut y = self.state[self.next];
        self.next += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// A uniform integer in `0..range` by Lemire's multiply-and-reject method, as sklearn's
    /// liblinear `bounded_rand_int` draws it (always at least one draw).
    fn bounded(&mut self, range: u32) -> u32 {
        let mut m = u64::from(self.next_u32()) * u64::from(range);
        if (m as u32) < range {
            let threshold = range.wrapping_neg() % range;
            while (m as u32) < threshold {
                m = u64::from(self.next_u32()) * u64::from(range);
            }
        }
        (m >> 32) as u32
    }
}

/// liblinear's view of one fit after `remove_zero_weight` and `group_classes`: label-0
/// rows (y = -1) first, then label-1 rows (y = +1), each in data order, with the columns
/// stored sparsely (zeros skipped, rows ascending) as liblinear iterates them.
struct Problem {
    positive: Vec<bool>,
    weight: Vec<f64>,
    columns: [Vec<(usize, f64)>; NF],
    /// Rows with y = +1 and with y = -1.
    n_pos: usize,
    n_neg: usize,
}

impl Problem {
    /// The duplicated problem for the groups `keep` selects.
    fn new(groups: &[Group], keep: impl Fn(usize) -> bool) -> Result<Self, LengthControlError> {
        let mut positive = Vec::new();
        let mut weight = Vec::new();
        let mut columns: [Vec<(usize, f64)>; NF] = Default::default();
        for label_one in [false, true] {
            for group in (0..groups.len()).filter(|&g| keep(g)).map(|g| &groups[g]) {
                let w = if label_one {
                    group.p * group.w
                } else {
                    (1.0 - group.p) * group.w
                };
                if w <= 0.0 {
                    continue;
                }
                let row = positive.len();
                positive.push(label_one);
                weight.push(w);
                for (column, &x) in columns.iter_mut().zip(&group.x) {
                    if x != 0.0 {
                        column.push((row, x));
                    }
                }
            }
        }
        let n_pos = positive.iter().filter(|&&p| p).count();
        let n_neg = positive.len() - n_pos;
        if n_pos == 0 || n_neg == 0 {
            return Err(LengthControlError::OneClass);
        }
        Ok(Self {
            positive,
            weight,
            columns,
            n_pos,
            n_neg,
        })
    }

    /// liblinear's `train` for L1-regularised logistic regression with cost `c` and
    /// sklearn's default tolerance, its RNG seeded with `seed`.
    fn solve(&self, c: f64, seed: u32) -> [f64; NF] {
        let l = self.positive.len();
        let eps = TOLERANCE * self.n_pos.min(self.n_neg).max(1) as f64 / l as f64;
        self.solve_l1r_lr(c, eps, &mut Mt19937::new(seed))
    }

    /// liblinear's `solve_l1r_lr` (newGLMNET): each Newton step minimises the L1-penalised
    /// quadratic model by randomised, shrinking coordinate descent, then line-searches.
    fn solve_l1r_lr(&self, cost: f64, eps: f64, rng: &mut Mt19937) -> [f64; NF] {
        const MAX_INNER_ITER: usize = 1000;
        const MAX_LINE_SEARCH: usize = 20;
        const NU: f64 = 1e-12;
        const SIGMA: f64 = 0.01;
        let l = self.positive.len();
        let lf = l as f64;
        let c: Vec<f64> = self.weight.iter().map(|w| w * cost).collect();
        let negative = |i: usize| !self.positive[i];

        let mut w = [0.0; NF];
        let mut wpd = [0.0; NF];
        let mut index: [usize; NF] = std::array::from_fn(|j| j);
        let mut hdiag = [0.0; NF];
        let mut grad = [0.0; NF];
        let mut xjneg_sum = [0.0; NF];
        for (sum, column) in xjneg_sum.iter_mut().zip(&self.columns) {
            for &(i, x) in column {
                if negative(i) {
                    *sum += c[i] * x;
                }
            }
        }
        let mut exp_wtx = vec![1.0; l];
        let mut exp_wtx_new = vec![0.0; l];
        let mut tau = vec![0.0; l];
        let mut d = vec![0.0; l];
        let update_tau_d = |exp_wtx: &[f64], tau: &mut [f64], d: &mut [f64]| {
            for i in 0..l {
                let t = 1.0 / (1.0 + exp_wtx[i]);
                tau[i] = c[i] * t;
                d[i] = c[i] * exp_wtx[i] * t * t;
            }
        };
        update_tau_d(&exp_wtx, &mut tau, &mut d);
        let mut xtd = vec![0.0; l];

        let mut gmax_old = f64::INFINITY;
        let mut gnorm1_init = 0.0;
        let mut qp_no_change = 0;
        let mut w_norm = 0.0;
        let mut inner_eps = 1.0;
        for newton_iter in 0..MAX_NEWTON_ITER {
            // Gradient, diagonal Hessian and the outer shrinking of zero weights.
            let mut gmax_new = 0.0f64;
            let mut gnorm1_new = 0.0;
            let mut active = NF;
            let mut s = 0;
            while s < active {
                let j = index[s];
                let mut h = NU;
                let mut tmp = 0.0;
                for &(i, x) in &self.columns[j] {
                    h += x * x * d[i];
                    tmp += x * tau[i];
                }
                hdiag[j] = h;
                grad[j] = -tmp + xjneg_sum[j];
                let (gp, gn) = (grad[j] + 1.0, grad[j] - 1.0);
                let violation = if w[j] == 0.0 {
                    if gp < 0.0 {
                        -gp
                    } else if gn > 0.0 {
                        gn
                    } else if gp > gmax_old / lf && gn < -gmax_old / lf {
                        active -= 1;
                        index.swap(s, active);
                        continue;
                    } else {
                        0.0
                    }
                } else if w[j] > 0.0 {
                    gp.abs()
                } else {
                    gn.abs()
                };
                gmax_new = gmax_new.max(violation);
                gnorm1_new += violation;
                s += 1;
            }
            if newton_iter == 0 {
                gnorm1_init = gnorm1_new;
            }
            if gnorm1_new <= eps * gnorm1_init || qp_no_change >= 10 {
                break;
            }
            qp_no_change += 1;

            // Coordinate descent on the quadratic model, in a fresh random order each pass.
            let mut iter = 0;
            let mut qp_gmax_old = f64::INFINITY;
            let mut qp_active = active;
            xtd.fill(0.0);
            while iter < MAX_INNER_ITER {
                let mut qp_gmax_new = 0.0f64;
                let mut qp_gnorm1_new = 0.0;
                for j in 0..qp_active {
                    let i = j + rng.bounded((qp_active - j) as u32) as usize;
                    index.swap(i, j);
                }
                let mut s = 0;
                while s < qp_active {
                    let j = index[s];
                    let h = hdiag[j];
                    let mut g = grad[j] + (wpd[j] - w[j]) * NU;
                    for &(i, x) in &self.columns[j] {
                        g += x * d[i] * xtd[i];
                    }
                    let (gp, gn) = (g + 1.0, g - 1.0);
                    let violation = if wpd[j] == 0.0 {
                        if gp < 0.0 {
                            -gp
                        } else if gn > 0.0 {
                            gn
                        } else if gp > qp_gmax_old / lf && gn < -qp_gmax_old / lf {
                            qp_active -= 1;
                            index.swap(s, qp_active);
                            continue;
                        } else {
                            0.0
                        }
                    } else if wpd[j] > 0.0 {
                        gp.abs()
                    } else {
                        gn.abs()
                    };
                    let z = if gp < h * wpd[j] {
                        -gp / h
                    } else if gn > h * wpd[j] {
                        -gn / h
                    } else {
                        -wpd[j]
                    };
                    s += 1;
                    if z.abs() < 1.0e-12 {
                        continue;
                    }
                    let z = z.clamp(-10.0, 10.0);
                    qp_no_change = 0;
                    qp_gmax_new = qp_gmax_new.max(violation);
                    qp_gnorm1_new += violation;
                    wpd[j] += z;
                    for &(i, x) in &self.columns[j] {
                        xtd[i] += x * z;
                    }
                }
                iter += 1;
                if qp_gnorm1_new <= inner_eps * gnorm1_init {
                    if qp_active == active {
                        break;
                    }
                    // Converged on the shrunk set: check once more on the whole active set.
                    qp_active = active;
                    qp_gmax_old = f64::INFINITY;
                    continue;
                }
                qp_gmax_old = qp_gmax_new;
            }

            // Backtracking line search on the step wpd - w (Armijo-like, halving).
            let mut delta = 0.0;
            let mut w_norm_new = 0.0;
            for j in 0..NF {
                delta += grad[j] * (wpd[j] - w[j]);
                if wpd[j] != 0.0 {
                    w_norm_new += wpd[j].abs();
                }
            }
            delta += w_norm_new - w_norm;
            let mut negsum_xtd = 0.0;
            for i in 0..l {
                if negative(i) {
                    negsum_xtd += c[i] * xtd[i];
                }
            }
            let mut accepted = false;
            for _ in 0..MAX_LINE_SEARCH {
                let mut cond = w_norm_new - w_norm + negsum_xtd - SIGMA * delta;
                for i in 0..l {
                    let exp_xtd = xtd[i].exp();
                    exp_wtx_new[i] = exp_wtx[i] * exp_xtd;
                    cond += c[i] * ((1.0 + exp_wtx_new[i]) / (exp_xtd + exp_wtx_new[i])).ln();
                }
                if cond <= 0.0 {
                    w_norm = w_norm_new;
                    w = wpd;
                    std::mem::swap(&mut exp_wtx, &mut exp_wtx_new);
                    update_tau_d(&exp_wtx, &mut tau, &mut d);
                    accepted = true;
                    break;
                }
                w_norm_new = 0.0;
                for j in 0..NF {
                    wpd[j] = (w[j] + wpd[j]) * 0.5;
                    if wpd[j] != 0.0 {
                        w_norm_new += wpd[j].abs();
                    }
                }
                delta *= 0.5;
                negsum_xtd *= 0.5;
                for v in &mut xtd {
                    *v *= 0.5;
                }
            }
            if !accepted {
                // liblinear recomputes exp(w·x) from scratch (w unchanged) to shed drift.
                exp_wtx.fill(0.0);
                for (j, column) in self.columns.iter().enumerate() {
                    if w[j] == 0.0 {
                        continue;
                    }
                    for &(i, x) in column {
                        exp_wtx[i] += w[j] * x;
                    }
                }
                for v in &mut exp_wtx {
                    *v = v.exp();
                }
            }
            if iter == 1 {
                inner_eps *= 0.25;
            }
            gmax_old = gmax_new;
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mersenne_twister_matches_std_mt19937() {
        // The C++ standard requires the 10000th output of a default-seeded mt19937.
        let mut rng = Mt19937::new(5489);
        assert_eq!(rng.next_u32(), 3_499_211_612);
        let last = (1..10_000).map(|_| rng.next_u32()).last();
        assert_eq!(last, Some(4_123_659_995));
        let mut rng = Mt19937::new(LIBLINEAR_SEEDS[0]);
        let first: Vec<u32> = (0..3).map(|_| rng.next_u32()).collect();
        assert_eq!(first, [3_126_865_412, 3_280_589_080, 2_535_925_758]);
    }

    #[test]
    fn bounded_draws_match_liblinear() {
        // From the independent Python port of liblinear's bounded_rand_int.
        let mut rng = Mt19937::new(LIBLINEAR_SEEDS[0]);
        let ranges = [3, 2, 1, 3, 2, 1, 3, 2, 1, 7, 1_000_000_007, u32::MAX];
        let draws: Vec<u32> = ranges.iter().map(|&r| rng.bounded(r)).collect();
        assert_eq!(
            draws,
            [2, 1, 0, 2, 0, 0, 2, 0, 0, 5, 350_086_321, 1_216_989_081]
        );
    }

    #[test]
    fn group_k_fold_is_sklearns_greedy_rule() {
        // sklearn: groups by decreasing size (stable sort, reversed), each to the lightest
        // fold, the first one on ties.
        for n in [5, 6, 12, 2404] {
            let mut load = [0usize; N_SPLITS];
            let mut fold_of = vec![0; n];
            for g in (0..n).rev() {
                let lightest = (0..N_SPLITS).min_by_key(|&f| (load[f], f)).unwrap();
                load[lightest] += 2;
                fold_of[g] = lightest;
            }
            let ours: Vec<usize> = (0..n).map(|g| group_k_fold(g, n, N_SPLITS)).collect();
            assert_eq!(ours, fold_of, "{n} groups");
        }
        assert_eq!(group_k_fold(0, 7, 5), 1);
        assert_eq!(group_k_fold(6, 7, 5), 0);
    }

    #[test]
    fn numpy_sum_is_pairwise() {
        assert_eq!(numpy_sum(&[]), 0.0);
        assert_eq!(numpy_sum(&[1.0, 2.0, 3.0]), 6.0);
        // 1e16 + 1 + 1 + ... loses every 1 sequentially; numpy's eight accumulators add
        // the ones to each other first.
        let mut values = vec![1e16];
        values.extend([1.0; 15]);
        assert_eq!(values.iter().sum::<f64>(), 1e16);
        assert_eq!(numpy_sum(&values), 1e16 + 8.0 + 6.0);
    }

    #[test]
    fn std_delta_len_is_pandas_std() {
        // pandas: Series([3, -1, 4, 1, -5]).std() == 3.5777087639996634.
        let deltas = [3.0, -1.0, 4.0, 1.0, -5.0];
        let std = pandas_var(&deltas).sqrt();
        assert_eq!(std, 3.577_708_763_999_663_4);
        // np.tanh(3 / std) is 0.6850272753452226 with numpy's AVX-512 tanh, one ulp below
        // libm's (Python's math.tanh agrees with ours); see the module doc.
        let feature = (deltas[0] / std).tanh();
        assert_eq!(feature, 0.685_027_275_345_222_7);
        assert!((feature - 0.685_027_275_345_222_6).abs() <= f64::EPSILON);
    }

    const GAMED: &str =
        "model,index,preference,std_delta_len,instruction_difficulty,not_gamed_baseline\n\
        v,0,0.5,-1.0,0.25,False\n\
        v,1,,0.5,-0.5,False\n\
        c,0,0.75,1.0,0.25,False\n";

    #[test]
    fn difficulty_is_looked_up_by_row_label() {
        let gamed = GamedAnnotations::from_csv_text(GAMED).unwrap();
        assert_eq!(gamed.rows().len(), 3);
        assert!(gamed.rows()[1].preference.is_nan());
        assert_eq!(gamed.instruction_difficulty(0).unwrap(), 0.25);
        assert_eq!(gamed.instruction_difficulty(1).unwrap(), -0.5);
        // Row 2 repeats index 0, so drop_duplicates removed label 2.
        assert!(matches!(
            gamed.instruction_difficulty(2),
            Err(LengthControlError::UnknownInstruction { index: 2 })
        ));
        assert!(gamed.instruction_difficulty(3).is_err());
    }

    #[test]
    fn csv_errors_name_line_and_column() {
        let text = GAMED.replace("-0.5,False", "-0.5,maybe");
        let error = GamedAnnotations::from_csv_text(&text).unwrap_err();
        assert!(
            matches!(
                error,
                LengthControlError::BadValue {
                    line: 3,
                    column: "not_gamed_baseline",
                    ..
                }
            ),
            "{error}"
        );
        let text = GAMED.replace("0.75", "1.5");
        let error = GamedAnnotations::from_csv_text(&text).unwrap_err();
        assert!(error.to_string().contains("line 4, column `preference`"));
        let error = GamedAnnotations::from_csv_text("model,index\nv,0\n").unwrap_err();
        assert!(matches!(
            error,
            LengthControlError::MissingColumn {
                column: "preference"
            }
        ));
        let error = GamedAnnotations::from_csv_text(&format!("{GAMED}v,2\n")).unwrap_err();
        assert!(
            matches!(error, LengthControlError::Csv { line: 5, .. }),
            "{error}"
        );
    }

    #[test]
    fn baseline_against_itself_is_fifty_fifty() {
        let gamed = GamedAnnotations::from_csv_text(GAMED).unwrap();
        let annotation = LcAnnotation {
            preference: Some(1.5),
            output_1_len: 10,
            output_2_len: 10,
            index: 0,
        };
        let result = length_controlled_win_rate(&[annotation; 3], &gamed, true).unwrap();
        assert_eq!((result.win_rate, result.standard_error), (50.0, 0.0));
        assert!(result.fit.is_none());
    }

    #[test]
    fn out_of_range_preferences_are_rejected() {
        let gamed = GamedAnnotations::from_csv_text(GAMED).unwrap();
        let annotation = |preference, index| LcAnnotation {
            preference: Some(preference),
            output_1_len: 10 + index,
            output_2_len: 20,
            index,
        };
        let annotations = [annotation(1.0, 0), annotation(3.0, 1)];
        assert!(matches!(
            length_controlled_win_rate(&annotations, &gamed, false),
            Err(LengthControlError::PreferenceOutOfRange { row: 1, .. })
        ));
    }
}
