use serde::{Deserialize, Serialize};

/// A metric over a set of documents: its value and standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    /// The aggregated value.
    pub value: f64,
    /// Standard error of `value`.
    pub stderr: f64,
    /// How many documents went in.
    pub count: usize,
}

impl Aggregate {
    /// Mean with lm-eval's `mean_stderr`: sample standard deviation (n - 1) over √n.
    /// With fewer than two values the standard error is NaN, as lm-eval reports "N/A".
    pub fn mean(values: &[f64]) -> Self {
        let count = values.len();
        if count == 0 {
            return Self {
                value: f64::NAN,
                stderr: f64::NAN,
                count,
            };
        }
        let n = count as f64;
        let mean = values.iter().sum::<f64>() / n;
        let stderr = if count < 2 {
            f64::NAN
        } else {
            let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
            (variance / n).sqrt()
        };
        Self {
            value: mean,
            stderr,
            count,
        }
    }
}

impl Aggregate {
    /// A group's score from its tasks', as lm-eval's `aggregate_subtask_metrics` and
    /// `pooled_sample_stderr` compute it: the mean of the task values (weighted by task
    /// size when `weight_by_size`) and the pooled standard error over the sizes. The
    /// stderr is NaN when any part's is.
    pub fn pooled(parts: &[Aggregate], weight_by_size: bool) -> Self {
        let count: usize = parts.iter().map(|p| p.count).sum();
        let weights: Vec<f64> = parts
            .iter()
            .map(|p| if weight_by_size { p.count as f64 } else { 1.0 })
            .collect();
        let total_weight: f64 = weights.iter().sum();
        let value = parts
            .iter()
            .zip(&weights)
            .map(|(p, w)| p.value * w)
            .sum::<f64>()
            / total_weight;
        let pooled_variance = parts
            .iter()
            .map(|p| (p.count as f64 - 1.0) * p.stderr.powi(2) * p.count as f64)
            .sum::<f64>()
            / (count as f64 - parts.len() as f64);
        Self {
            value,
            stderr: (pooled_variance / count as f64).sqrt(),
            count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_stderr_uses_sample_deviation() {
        // values 1,0,1,1: mean .75, sample var = (3*.0625 + .5625)/3 = .25, se = sqrt(.25/4)
        let a = Aggregate::mean(&[1.0, 0.0, 1.0, 1.0]);
        assert_eq!(a.value, 0.75);
        assert!((a.stderr - 0.25).abs() < 1e-12);
        assert_eq!(a.count, 4);
    }

    #[test]
    fn pooled_equals_the_concatenated_mean_and_lm_evals_formula() {
        let a = [1.0, 0.0, 1.0, 1.0];
        let b = [0.0, 0.0, 1.0];
        let pooled = Aggregate::pooled(&[Aggregate::mean(&a), Aggregate::mean(&b)], true);
        let all: Vec<f64> = a.iter().chain(&b).copied().collect();
        assert!((pooled.value - Aggregate::mean(&all).value).abs() < 1e-12);
        assert_eq!(pooled.count, 7);
        // sqrt(((4-1)*se_a^2*4 + (3-1)*se_b^2*3) / (7-2) / 7), se^2 = var/n
        let (se_a2, se_b2) = (0.25 / 4.0, (1.0 / 3.0) / 3.0);
        let expected = (((3.0 * se_a2 * 4.0) + (2.0 * se_b2 * 3.0)) / 5.0 / 7.0_f64).sqrt();
        assert!((pooled.stderr - expected).abs() < 1e-12);
        let unweighted = Aggregate::pooled(&[Aggregate::mean(&a), Aggregate::mean(&b)], false);
        assert!((unweighted.value - (0.75 + 1.0 / 3.0) / 2.0).abs() < 1e-12);
    }

    #[test]
    fn single_value_has_no_stderr() {
        assert!(Aggregate::mean(&[1.0]).stderr.is_nan());
    }
}
