use serde::{Deserialize, Serialize};

/// Per-document scores of a multiple-choice question.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MultipleChoiceScores {
    /// 1 when the most likely choice is the gold one.
    pub acc: f64,
    /// 1 when the most likely choice per character is the gold one.
    pub acc_norm: f64,
    /// The choice with the highest log-likelihood.
    pub predicted: usize,
    /// The choice with the highest log-likelihood per character.
    pub predicted_norm: usize,
}

/// lm-eval's `acc` and `acc_norm` for one question.
///
/// `acc_norm` divides each log-likelihood by the length of the choice text in characters
/// (Python's `len` of the choice, without the target delimiter); ties go to the first
/// choice, as `numpy.argmax` breaks them.
pub fn multiple_choice<S: AsRef<str>>(
    loglikelihoods: &[f64],
    choices: &[S],
    gold: usize,
) -> MultipleChoiceScores {
    let predicted = argmax(loglikelihoods.iter().copied());
    let normalised = loglikelihoods
        .iter()
        .zip(choices)
        .map(|(ll, choice)| ll / choice.as_ref().chars().count() as f64);
    let predicted_norm = argmax(normalised);
    MultipleChoiceScores {
        acc: f64::from(u8::from(predicted == gold)),
        acc_norm: f64::from(u8::from(predicted_norm == gold)),
        predicted,
        predicted_norm,
    }
}

/// Index of the first maximum; NaN never wins.
fn argmax(values: impl Iterator<Item = f64>) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, v) in values.enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acc_norm_divides_by_character_length() {
        // Raw: choice 0 wins. Per character: -10/10 = -1 beats -3/1 = -3.
        let s = multiple_choice(&[-3.0, -10.0], &["a", "abcdefghij"], 1);
        assert_eq!((s.acc, s.acc_norm), (0.0, 1.0));
        assert_eq!((s.predicted, s.predicted_norm), (0, 1));
    }

    #[test]
    fn characters_not_bytes() {
        // "éé" is 2 characters (4 bytes): -4/2 = -2 beats -3/1 = -3.
        let s = multiple_choice(&[-3.0, -4.0], &["a", "éé"], 1);
        assert_eq!(s.acc_norm, 1.0);
    }

    #[test]
    fn ties_go_to_the_first_choice() {
        let s = multiple_choice(&[-1.0, -1.0], &["x", "y"], 1);
        assert_eq!(s.predicted, 0);
        assert_eq!(s.acc, 0.0);
    }
}
