//! Code-generation metrics: pass@k over sampled programs.

/// The unbiased pass@k estimator of Chen et al. (2021), as Hugging Face's `code_eval`
/// computes it: the chance that at least one of `k` programs drawn without replacement
/// from `n` candidates, `correct` of which pass, passes —
/// `1 - C(n - c, k) / C(n, k)`, evaluated as a product for numerical stability.
/// `None` when there are fewer than `k` candidates (`code_eval` then omits pass@k).
pub fn pass_at_k(n: usize, correct: usize, k: usize) -> Option<f64> {
    if k == 0 || n < k || correct > n {
        return None;
    }
    if n - correct < k {
        return Some(1.0);
    }
    let failing_draws: f64 = (n - correct + 1..=n)
        .map(|i| 1.0 - k as f64 / i as f64)
        .product();
    Some(1.0 - failing_draws)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binomial(n: u64, k: u64) -> f64 {
        (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
    }

    #[test]
    fn matches_the_closed_form() {
        for n in 1..=20u64 {
            for c in 0..=n {
                for k in 1..=n {
                    let expected = 1.0 - binomial(n - c, k) / binomial(n, k);
                    let got = pass_at_k(n as usize, c as usize, k as usize).unwrap();
                    assert!((got - expected).abs() < 1e-9, "n={n} c={c} k={k}");
                }
            }
        }
    }

    #[test]
    fn pass_at_one_is_the_fraction_correct() {
        assert_eq!(pass_at_k(1, 1, 1), Some(1.0));
        assert_eq!(pass_at_k(1, 0, 1), Some(0.0));
        assert!((pass_at_k(10, 3, 1).unwrap() - 0.3).abs() < 1e-12);
    }

    #[test]
    fn too_few_candidates_give_none() {
        assert_eq!(pass_at_k(3, 1, 5), None);
        assert_eq!(pass_at_k(3, 1, 0), None);
    }
}
