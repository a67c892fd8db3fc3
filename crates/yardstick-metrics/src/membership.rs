//! Membership inference: did a model see this text in training?

/// Min-K% Prob (Shi et al., 2023): the mean log-probability of the `k_percent`% of a
/// text's tokens the model found least likely — `floor(len * k / 100)` tokens, at least
/// one, as the authors' code takes them. Text seen in training has fewer surprising
/// tokens, so a higher score suggests a member. `None` for a text with no scored token.
pub fn min_k_percent_prob(logprobs: &[f64], k_percent: f64) -> Option<f64> {
    if logprobs.is_empty() {
        return None;
    }
    let mut sorted = logprobs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let count =
        ((logprobs.len() as f64 * k_percent / 100.0).floor() as usize).clamp(1, sorted.len());
    Some(sorted[..count].iter().sum::<f64>() / count as f64)
}

/// The area under the ROC curve of `scores` for telling `labels` true (positives) from
/// false: the chance that a random positive scores above a random negative, ties
/// counting half (the Mann–Whitney statistic). `None` without both classes.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 || scores.len() != labels.len() {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Average ranks (1-based) over runs of equal scores.
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let average_rank = (start + 1 + end) as f64 / 2.0;
        rank_sum += order[start..end].iter().filter(|&&i| labels[i]).count() as f64 * average_rank;
        start = end;
    }
    let positives = positives as f64;
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_k_takes_the_least_likely_tokens() {
        let lls = [-0.1, -5.0, -0.2, -3.0, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8];
        assert_eq!(min_k_percent_prob(&lls, 20.0), Some(-4.0));
        assert_eq!(
            min_k_percent_prob(&lls, 1.0),
            Some(-5.0),
            "at least one token"
        );
        assert_eq!(min_k_percent_prob(&[], 20.0), None);
    }

    #[test]
    fn auc_counts_pairs_with_ties_as_half() {
        assert_eq!(
            roc_auc(&[0.9, 0.8, 0.1, 0.2], &[true, true, false, false]),
            Some(1.0)
        );
        assert_eq!(
            roc_auc(&[0.1, 0.2, 0.9, 0.8], &[true, true, false, false]),
            Some(0.0)
        );
        assert_eq!(roc_auc(&[0.5, 0.5], &[true, false]), Some(0.5));
        // One positive above two negatives and level with a third: (2 + 0.5) / 3.
        let auc = roc_auc(&[0.7, 0.1, 0.2, 0.7], &[true, false, false, false]).unwrap();
        assert!((auc - 2.5 / 3.0).abs() < 1e-12);
        assert_eq!(roc_auc(&[0.1], &[true]), None);
    }
}
