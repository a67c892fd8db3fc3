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
    fn single_value_has_no_stderr() {
        assert!(Aggregate::mean(&[1.0]).stderr.is_nan());
    }
}
