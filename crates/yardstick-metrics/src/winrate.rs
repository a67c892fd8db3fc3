//! AlpacaEval's win rate over pairwise preferences.

/// AlpacaEval's head-to-head summary (`get_winrate`, its absolute scoring rule): the
/// preference runs from 1 (the reference output is better) to 2 (the model's is), 1.5
/// (or the legacy 0) a draw, a float in between a weighted judgment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WinRate {
    /// Mean of `preference - 1`, in percent.
    pub win_rate: f64,
    /// Its standard error (sample standard deviation over √n), in percent.
    pub standard_error: f64,
    /// Preferences above 1.5.
    pub n_wins: usize,
    /// Preferences below 1.5.
    pub n_wins_base: usize,
    /// Preferences of exactly 1.5 (or 0).
    pub n_draws: usize,
    /// Preferences counted (those in [1, 2]).
    pub n_total: usize,
    /// The win rate of the preferences rounded to 1 or 2 (draws as half), in percent.
    pub discrete_win_rate: f64,
}

/// The win rate of `preferences`, as AlpacaEval computes it: values outside [1, 2]
/// (and NaN) are dropped, draws (1.5, or 0) count half.
pub fn alpaca_win_rate(preferences: &[f64]) -> WinRate {
    let n_draws = preferences
        .iter()
        .filter(|&&p| p == 1.5 || p == 0.0)
        .count();
    let shifted: Vec<f64> = preferences
        .iter()
        .map(|&p| if p == 0.0 { 1.5 } else { p })
        .filter(|p| (1.0..=2.0).contains(p))
        .map(|p| p - 1.0)
        .collect();
    let (mean, sem) = mean_and_sem(&shifted);
    // ZeroOneScoringRule: 1.5 becomes 0 (a draw), the rest rounded half to even.
    let discrete: Vec<f64> = preferences
        .iter()
        .filter(|p| !p.is_nan())
        .map(|&p| if p == 1.5 { 0.0 } else { p.round_ties_even() })
        .map(|p| if p == 0.0 { 1.5 } else { p })
        .filter(|p| (1.0..=2.0).contains(p))
        .map(|p| p - 1.0)
        .collect();
    WinRate {
        win_rate: mean * 100.0,
        standard_error: sem * 100.0,
        n_wins: shifted.iter().filter(|&&p| p > 0.5).count(),
        n_wins_base: shifted.iter().filter(|&&p| p < 0.5).count(),
        n_draws,
        n_total: shifted.len(),
        discrete_win_rate: mean_and_sem(&discrete).0 * 100.0,
    }
}

/// Mean and standard error of the mean (pandas' `sem`, ddof 1; NaN below two values).
pub(crate) fn mean_and_sem(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, f64::NAN);
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (variance / n).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_count_half_and_outliers_are_dropped() {
        let summary = alpaca_win_rate(&[1.0, 2.0, 1.5, 0.0, 2.0, f64::NAN, 3.0]);
        assert_eq!(summary.n_total, 5);
        assert_eq!(summary.n_draws, 2);
        assert_eq!((summary.n_wins, summary.n_wins_base), (2, 1));
        assert!((summary.win_rate - 60.0).abs() < 1e-12);
        assert!((summary.discrete_win_rate - 60.0).abs() < 1e-12);
    }
}
