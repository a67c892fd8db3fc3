//! Paired comparisons of two models on the same items: is the difference real?

use crate::random::SplitMix64;

/// McNemar's exact test on paired right/wrong outcomes: only the discordant items count,
/// `only_a` that model A got right and B wrong, `only_b` the reverse; under no
/// difference each is a fair coin flip. The two-sided p-value is the exact binomial one
/// (scipy's `binomtest(min(b, c), b + c, 0.5)`), 1 when there are no discordant items.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct McNemar {
    /// Items only model A got right.
    pub only_a: u64,
    /// Items only model B got right.
    pub only_b: u64,
    /// Two-sided exact p-value.
    pub p_value: f64,
}

impl McNemar {
    /// The test from the discordant counts.
    pub fn from_counts(only_a: u64, only_b: u64) -> Self {
        Self {
            only_a,
            only_b,
            p_value: binomial_two_sided_half(only_a.min(only_b), only_a + only_b),
        }
    }

    /// The test from paired per-item scores (model A's, model B's) when every score is
    /// 0 or 1 (right or wrong); `None` when any is not, so the caller needs another test.
    pub fn from_paired_scores(pairs: &[(f64, f64)]) -> Option<Self> {
        let right = |x: f64| {
            if x == 1.0 {
                Some(true)
            } else if x == 0.0 {
                Some(false)
            } else {
                None
            }
        };
        let mut only_a = 0;
        let mut only_b = 0;
        for &(a, b) in pairs {
            match (right(a)?, right(b)?) {
                (true, false) => only_a += 1,
                (false, true) => only_b += 1,
                _ => {}
            }
        }
        Some(Self::from_counts(only_a, only_b))
    }

    /// A 95% interval for the difference in accuracy `(only_a - only_b) / items` that
    /// agrees with the test: the exact (Clopper-Pearson) interval of the share of
    /// discordant items that favour A, carried over to the difference. It excludes 0
    /// exactly when `p_value` < 0.05. `[0, 0]` without discordant items.
    pub fn difference_interval(&self, items: usize) -> (f64, f64) {
        let discordant = self.only_a + self.only_b;
        if discordant == 0 || items == 0 {
            return (0.0, 0.0);
        }
        let (low, high) = clopper_pearson(self.only_a, discordant, 0.05);
        let scale = discordant as f64 / items as f64;
        (scale * (2.0 * low - 1.0), scale * (2.0 * high - 1.0))
    }

    /// The test from per-item correctness of the two models (same items, same order).
    /// `None` when the lists differ in length.
    pub fn from_outcomes(a: &[bool], b: &[bool]) -> Option<Self> {
        if a.len() != b.len() {
            return None;
        }
        let only_a = a.iter().zip(b).filter(|(x, y)| **x && !**y).count() as u64;
        let only_b = a.iter().zip(b).filter(|(x, y)| !**x && **y).count() as u64;
        Some(Self::from_counts(only_a, only_b))
    }
}

/// `P(X <= k)` for X ~ Binomial(n, p), summed in log space.
fn binomial_cdf(k: u64, n: u64, p: f64) -> f64 {
    if k >= n {
        return 1.0;
    }
    if p <= 0.0 {
        return 1.0;
    }
    if p >= 1.0 {
        return 0.0;
    }
    let (ln_p, ln_q) = (p.ln(), (1.0 - p).ln());
    let mut ln_choose = 0.0f64;
    let mut terms = Vec::with_capacity(k as usize + 1);
    for i in 0..=k {
        if i > 0 {
            ln_choose += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        terms.push(ln_choose + i as f64 * ln_p + (n - i) as f64 * ln_q);
    }
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln())
        .exp()
        .min(1.0)
}

/// The exact (Clopper-Pearson) `1 - alpha` interval of a binomial proportion, `k`
/// successes in `n`: each end solves its one-sided tail = alpha / 2 (by bisection; the
/// tails are monotone in p).
fn clopper_pearson(k: u64, n: u64, alpha: f64) -> (f64, f64) {
    let solve = |tail: &dyn Fn(f64) -> f64| {
        // tail(p) increases with p; find p where it crosses alpha / 2.
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if tail(mid) < alpha / 2.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    };
    let low = if k == 0 {
        0.0
    } else {
        // P(X >= k | p) = 1 - P(X <= k - 1 | p), increasing in p.
        solve(&|p| 1.0 - binomial_cdf(k - 1, n, p))
    };
    let high = if k == n {
        1.0
    } else {
        // P(X <= k | p) decreases in p; its complement increases.
        1.0 - solve(&|p| binomial_cdf(k, n, 1.0 - p))
    };
    (low, high)
}

/// `min(1, 2 P(X <= k))` for X ~ Binomial(n, 1/2), summed in log space so that large n
/// neither underflows nor loses precision.
fn binomial_two_sided_half(k: u64, n: u64) -> f64 {
    if n == 0 || 2 * k >= n {
        return 1.0;
    }
    let ln_half_n = -(n as f64) * std::f64::consts::LN_2;
    // ln C(n, i), built up term by term.
    let mut ln_choose = 0.0f64;
    let mut terms = Vec::with_capacity(k as usize + 1);
    for i in 0..=k {
        if i > 0 {
            ln_choose += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        terms.push(ln_choose + ln_half_n);
    }
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let cdf = (max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln()).exp();
    (2.0 * cdf).min(1.0)
}

/// A paired bootstrap of the mean per-item difference `a - b`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedBootstrap {
    /// The observed mean difference.
    pub mean_difference: f64,
    /// The 2.5th percentile of the resampled mean differences.
    pub low: f64,
    /// The 97.5th percentile.
    pub high: f64,
    /// Two-sided p-value for "no difference": twice the smaller share of resamples on
    /// either side of zero, at most 1.
    pub p_value: f64,
}

/// Resamples the items with replacement `resamples` times (a deterministic generator
/// seeded with `seed`), keeping pairs together. `None` for empty or unequal lists.
pub fn paired_bootstrap(
    a: &[f64],
    b: &[f64],
    resamples: usize,
    seed: u64,
) -> Option<PairedBootstrap> {
    if a.is_empty() || a.len() != b.len() || resamples == 0 {
        return None;
    }
    let differences: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let n = differences.len();
    let mut rng = SplitMix64::new(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| {
            let sum: f64 = (0..n).map(|_| differences[rng.below(n)]).sum();
            sum / n as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let below = means.iter().filter(|&&m| m <= 0.0).count() as f64 / resamples as f64;
    let above = means.iter().filter(|&&m| m >= 0.0).count() as f64 / resamples as f64;
    Some(PairedBootstrap {
        mean_difference: differences.iter().sum::<f64>() / n as f64,
        low: percentile(&means, 2.5),
        high: percentile(&means, 97.5),
        p_value: (2.0 * below.min(above)).min(1.0),
    })
}

/// The `q`th percentile of sorted values, interpolating linearly (numpy's default).
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    let position = q / 100.0 * (sorted.len() - 1) as f64;
    let lower = position.floor() as usize;
    let upper = position.ceil() as usize;
    let weight = position - lower as f64;
    sorted[lower] * (1.0 - weight) + sorted[upper] * weight
}

/// The two-sided 97.5% point of the standard normal: 95% intervals are ±1.96 standard
/// errors.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// A difference with its 95% interval and two-sided p-value from a normal
/// approximation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormalDifference {
    /// The difference.
    pub difference: f64,
    /// Its standard error.
    pub stderr: f64,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// Two-sided p-value for "no difference" (1 when the standard error is 0 and the
    /// difference too, 0 when only the standard error is).
    pub p_value: f64,
}

impl NormalDifference {
    /// `difference` with standard error `stderr` (a NaN standard error counts as 0).
    pub fn new(difference: f64, stderr: f64) -> Self {
        let stderr = if stderr.is_finite() { stderr } else { 0.0 };
        let p_value = if stderr > 0.0 {
            erfc((difference / stderr).abs() / std::f64::consts::SQRT_2)
        } else if difference == 0.0 {
            1.0
        } else {
            0.0
        };
        Self {
            difference,
            stderr,
            low: difference - Z_95 * stderr,
            high: difference + Z_95 * stderr,
            p_value,
        }
    }

    /// Two independent estimates (different items): `a - b` with their standard errors
    /// combined in quadrature.
    pub fn unpaired(a: f64, a_stderr: f64, b: f64, b_stderr: f64) -> Self {
        let finite = |x: f64| if x.is_finite() { x } else { 0.0 };
        Self::new(a - b, finite(a_stderr).hypot(finite(b_stderr)))
    }

    /// The mean of per-item differences with the standard error of that mean (sample
    /// standard deviation, n - 1): the Wald interval of a paired comparison.
    pub fn paired(differences: &[f64]) -> Self {
        let aggregate = crate::Aggregate::mean(differences);
        Self::new(aggregate.value, aggregate.stderr)
    }
}

/// The complementary error function (Numerical Recipes' Chebyshev fit, relative error
/// below 1.2e-7 everywhere).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// How a model compares with the reference on one benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Better, and the difference is significant.
    Ahead,
    /// The difference is not significant at the level asked.
    OnPar,
    /// Worse, and the difference is significant.
    Behind,
}

impl Verdict {
    /// The verdict for a difference (model minus reference) with its two-sided p-value
    /// at significance level `alpha`.
    pub fn from_test(difference: f64, p_value: f64, alpha: f64) -> Self {
        let significant = p_value < alpha;
        if !significant || difference == 0.0 {
            Verdict::OnPar
        } else if difference > 0.0 {
            Verdict::Ahead
        } else {
            Verdict::Behind
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Ahead => "ahead",
            Verdict::OnPar => "on par",
            Verdict::Behind => "behind",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_mcnemar_on_small_counts() {
        // 0 of 10 discordant pairs on one side: 2 / 2^10.
        assert!((McNemar::from_counts(0, 10).p_value - 2.0 / 1024.0).abs() < 1e-15);
        assert_eq!(McNemar::from_counts(4, 4).p_value, 1.0);
        assert_eq!(McNemar::from_counts(0, 0).p_value, 1.0);
        let outcomes = McNemar::from_outcomes(
            &[true, true, false, false, true],
            &[false, true, true, false, false],
        )
        .unwrap();
        assert_eq!((outcomes.only_a, outcomes.only_b), (2, 1));
        assert!(McNemar::from_outcomes(&[true], &[]).is_none());
        let scores =
            McNemar::from_paired_scores(&[(1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (1.0, 0.0)]).unwrap();
        assert_eq!((scores.only_a, scores.only_b), (2, 1));
        assert!(
            McNemar::from_paired_scores(&[(1.0, 0.5)]).is_none(),
            "not right/wrong"
        );
    }

    #[test]
    fn verdicts_need_significance_and_take_the_sign() {
        assert_eq!(Verdict::from_test(0.05, 0.01, 0.05), Verdict::Ahead);
        assert_eq!(Verdict::from_test(-0.05, 0.01, 0.05), Verdict::Behind);
        assert_eq!(Verdict::from_test(0.05, 0.2, 0.05), Verdict::OnPar);
        assert_eq!(
            Verdict::from_test(-0.05, 0.05, 0.05),
            Verdict::OnPar,
            "p must be below alpha"
        );
        assert_eq!(Verdict::from_test(0.0, 0.0, 0.05), Verdict::OnPar);
        assert_eq!(Verdict::from_test(0.1, f64::NAN, 0.05), Verdict::OnPar);
        assert_eq!(Verdict::Behind.to_string(), "behind");
    }

    #[test]
    fn mcnemar_intervals_agree_with_the_test() {
        // k = 0 of n: the upper end is 1 - (alpha/2)^(1/n) in closed form.
        let (low, high) = clopper_pearson(0, 10, 0.05);
        assert_eq!(low, 0.0);
        assert!((high - (1.0 - 0.025f64.powf(0.1))).abs() < 1e-9);
        let (low, high) = clopper_pearson(10, 10, 0.05);
        assert!((low - 0.025f64.powf(0.1)).abs() < 1e-9);
        assert_eq!(high, 1.0);
        // scipy.stats.binomtest(3, 10).proportion_ci('exact'): (0.0667, 0.6525).
        let (low, high) = clopper_pearson(3, 10, 0.05);
        assert!((low - 0.066_739_511_177_734_47).abs() < 1e-9, "{low}");
        assert!((high - 0.652_452_850_060_008).abs() < 1e-9, "{high}");
        for a in 0..25u64 {
            for b in 0..25u64 {
                let test = McNemar::from_counts(a, b);
                let (low, high) = test.difference_interval(100);
                let excludes_zero = low > 0.0 || high < 0.0;
                assert_eq!(
                    excludes_zero,
                    test.p_value < 0.05,
                    "{a} vs {b}: [{low}, {high}], p {}",
                    test.p_value
                );
                let d = (a as f64 - b as f64) / 100.0;
                assert!(low <= d && d <= high);
            }
        }
    }

    #[test]
    fn normal_p_values_match_scipy() {
        // scipy.stats.norm.sf(z) * 2 for z = 1, 1.959964, 3.
        for (z, p) in [
            (1.0, 0.317_310_507_862_914_1),
            (Z_95, 0.05),
            (3.0, 0.002_699_796_063_260_19),
        ] {
            let got = NormalDifference::new(z * 0.01, 0.01).p_value;
            assert!((got - p).abs() < 1e-7 * p.max(1e-3), "z {z}: {got} vs {p}");
        }
        let d = NormalDifference::unpaired(0.7, 0.03, 0.6, 0.04);
        assert!((d.stderr - 0.05).abs() < 1e-12);
        assert!((d.low - (0.1 - Z_95 * 0.05)).abs() < 1e-12);
        assert_eq!(NormalDifference::new(0.0, 0.0).p_value, 1.0);
        assert_eq!(NormalDifference::new(0.1, f64::NAN).p_value, 0.0);
        let paired = NormalDifference::paired(&[1.0, 0.0, 0.0, 1.0]);
        assert_eq!(paired.difference, 0.5);
        assert!((paired.stderr - (1.0f64 / 3.0 / 4.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn bootstrap_of_identical_models_is_on_par() {
        let a = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0];
        let result = paired_bootstrap(&a, &a, 1000, 1).unwrap();
        assert_eq!(
            (result.mean_difference, result.low, result.high),
            (0.0, 0.0, 0.0)
        );
        assert_eq!(result.p_value, 1.0);
        assert!(paired_bootstrap(&a, &a[..2], 10, 1).is_none());
    }
}
