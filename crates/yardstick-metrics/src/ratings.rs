//! Ratings from pairwise judgments: a Bradley–Terry fit over every stored comparison,
//! with bootstrap intervals, shown on the Elo scale as Chatbot Arena shows it
//! (1000 + 400·log10-odds), and the online Elo update for display.

use crate::paired::percentile;
use crate::random::SplitMix64;

/// Who won one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Winner {
    /// The first model.
    A,
    /// The second model.
    B,
    /// Neither: half a win each.
    Tie,
}

/// One pairwise comparison: model indices into the rating's model list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Battle {
    /// The first model.
    pub a: usize,
    /// The second model.
    pub b: usize,
    /// Who won.
    pub winner: Winner,
}

/// Elo-scale points per natural-log unit of strength: 400 points is a factor of 10 in
/// the odds of winning.
pub const ELO_SCALE: f64 = 400.0 / std::f64::consts::LN_10;

/// The rating of the average model.
pub const ELO_BASE: f64 = 1000.0;

/// A model's rating with its 95% bootstrap interval, on the Elo scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rating {
    /// The Bradley–Terry strength on the Elo scale (mean model at [`ELO_BASE`]).
    pub rating: f64,
    /// 2.5th percentile over bootstrap resamples of the battles.
    pub low: f64,
    /// 97.5th percentile.
    pub high: f64,
    /// Battles the model took part in.
    pub battles: usize,
}

/// Bradley–Terry strengths (natural-log odds units, mean 0) of `models` models from
/// `battles`, a tie counting half a win for each side: the maximum of the
/// log-likelihood with a tiny ridge (1e-6 per model) so that a model that never won or
/// never lost still gets a finite strength. Newton's method on the full Hessian.
pub fn bradley_terry(models: usize, battles: &[Battle]) -> Vec<f64> {
    // wins[i][j]: i's wins over j (ties half); games[i][j]: comparisons between them.
    let mut wins = vec![vec![0.0; models]; models];
    let mut games = vec![vec![0.0; models]; models];
    for battle in battles {
        let (a, b) = (battle.a, battle.b);
        if a == b || a >= models || b >= models {
            continue;
        }
        let a_share = match battle.winner {
            Winner::A => 1.0,
            Winner::B => 0.0,
            Winner::Tie => 0.5,
        };
        wins[a][b] += a_share;
        wins[b][a] += 1.0 - a_share;
        games[a][b] += 1.0;
        games[b][a] += 1.0;
    }
    const RIDGE: f64 = 1e-6;
    let mut strength = vec![0.0; models];
    for _ in 0..100 {
        let mut gradient = vec![0.0; models];
        let mut hessian = vec![vec![0.0; models]; models];
        for i in 0..models {
            gradient[i] -= RIDGE * strength[i];
            hessian[i][i] -= RIDGE;
            for j in 0..models {
                if i == j || games[i][j] == 0.0 {
                    continue;
                }
                let p = logistic(strength[i] - strength[j]);
                gradient[i] += wins[i][j] - games[i][j] * p;
                let curvature = games[i][j] * p * (1.0 - p);
                hessian[i][i] -= curvature;
                hessian[i][j] += curvature;
            }
        }
        let Some(step) = solve(hessian, &gradient) else {
            break;
        };
        let mut largest = 0.0_f64;
        for (s, d) in strength.iter_mut().zip(&step) {
            *s -= d;
            largest = largest.max(d.abs());
        }
        if largest < 1e-10 {
            break;
        }
    }
    let mean = strength.iter().sum::<f64>() / models.max(1) as f64;
    strength.iter().map(|s| s - mean).collect()
}

/// Bradley–Terry ratings on the Elo scale with 95% intervals from `resamples` bootstrap
/// resamples of the battles (seeded with `seed`).
pub fn rate(models: usize, battles: &[Battle], resamples: usize, seed: u64) -> Vec<Rating> {
    let point = bradley_terry(models, battles);
    let mut samples = vec![Vec::with_capacity(resamples); models];
    let mut rng = SplitMix64::new(seed);
    let mut resampled = Vec::with_capacity(battles.len());
    for _ in 0..resamples {
        resampled.clear();
        resampled.extend((0..battles.len()).map(|_| battles[rng.below(battles.len())]));
        for (i, s) in bradley_terry(models, &resampled).into_iter().enumerate() {
            samples[i].push(to_elo(s));
        }
    }
    (0..models)
        .map(|i| {
            let mut sorted = std::mem::take(&mut samples[i]);
            sorted.sort_by(f64::total_cmp);
            let rating = to_elo(point[i]);
            let (low, high) = if sorted.is_empty() {
                (rating, rating)
            } else {
                (percentile(&sorted, 2.5), percentile(&sorted, 97.5))
            };
            Rating {
                rating,
                low,
                high,
                battles: battles.iter().filter(|b| b.a == i || b.b == i).count(),
            }
        })
        .collect()
}

/// Online Elo over the battles in order (Chatbot Arena's display rating: K = 4, every
/// model starting at [`ELO_BASE`]); unlike Bradley–Terry it depends on the order.
pub fn online_elo(models: usize, battles: &[Battle], k: f64) -> Vec<f64> {
    let mut ratings = vec![ELO_BASE; models];
    for battle in battles {
        let (a, b) = (battle.a, battle.b);
        if a == b || a >= models || b >= models {
            continue;
        }
        let expected_a = 1.0 / (1.0 + 10f64.powf((ratings[b] - ratings[a]) / 400.0));
        let score_a = match battle.winner {
            Winner::A => 1.0,
            Winner::B => 0.0,
            Winner::Tie => 0.5,
        };
        ratings[a] += k * (score_a - expected_a);
        ratings[b] += k * (expected_a - score_a);
    }
    ratings
}

fn to_elo(strength: f64) -> f64 {
    ELO_BASE + ELO_SCALE * strength
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Solves `matrix · x = rhs` by Gaussian elimination with partial pivoting; `None` when
/// the matrix is singular.
fn solve(mut matrix: Vec<Vec<f64>>, rhs: &[f64]) -> Option<Vec<f64>> {
    let n = rhs.len();
    let mut rhs = rhs.to_vec();
    for col in 0..n {
        let pivot =
            (col..n).max_by(|&x, &y| matrix[x][col].abs().total_cmp(&matrix[y][col].abs()))?;
        if matrix[pivot][col].abs() < 1e-300 {
            return None;
        }
        matrix.swap(col, pivot);
        rhs.swap(col, pivot);
        let (upper, lower) = matrix.split_at_mut(col + 1);
        let pivot_row = &upper[col];
        for (offset, row) in lower.iter_mut().enumerate() {
            let factor = row[col] / pivot_row[col];
            for (cell, pivot_cell) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *cell -= factor * pivot_cell;
            }
            rhs[col + 1 + offset] -= factor * rhs[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let tail: f64 = (row + 1..n).map(|k| matrix[row][k] * x[k]).sum();
        x[row] = (rhs[row] - tail) / matrix[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Battles between every pair of models with known strengths, drawn from the
    /// Bradley–Terry model itself (a tie when the draw falls in a narrow band).
    fn simulate(strengths: &[f64], per_pair: usize, seed: u64) -> Vec<Battle> {
        let mut rng = SplitMix64::new(seed);
        let mut battles = Vec::new();
        for a in 0..strengths.len() {
            for b in a + 1..strengths.len() {
                for round in 0..per_pair {
                    let p = logistic(strengths[a] - strengths[b]);
                    let u = rng.unit();
                    let winner = if (u - p).abs() < 0.02 {
                        Winner::Tie
                    } else if u < p {
                        Winner::A
                    } else {
                        Winner::B
                    };
                    // Alternate sides so that position never lines up with strength.
                    battles.push(if round % 2 == 0 {
                        Battle { a, b, winner }
                    } else {
                        let winner = match winner {
                            Winner::A => Winner::B,
                            Winner::B => Winner::A,
                            Winner::Tie => Winner::Tie,
                        };
                        Battle { a: b, b: a, winner }
                    });
                }
            }
        }
        battles
    }

    #[test]
    fn recovers_known_strengths_from_simulated_comparisons() {
        let truth = [-1.1, -0.4, 0.0, 0.5, 1.0];
        let battles = simulate(&truth, 200, 42);
        let ratings = rate(truth.len(), &battles, 300, 7);
        let mean = truth.iter().sum::<f64>() / truth.len() as f64;
        for (i, rating) in ratings.iter().enumerate() {
            let expected = to_elo(truth[i] - mean);
            assert!(
                rating.low <= expected && expected <= rating.high,
                "model {i}: true {expected:.1} outside [{:.1}, {:.1}] (fit {:.1})",
                rating.low,
                rating.high,
                rating.rating
            );
            assert!(rating.low < rating.rating && rating.rating < rating.high);
            assert_eq!(rating.battles, 4 * 200);
        }
        // The rank order is exact.
        let mut order: Vec<usize> = (0..truth.len()).collect();
        order.sort_by(|&x, &y| ratings[x].rating.total_cmp(&ratings[y].rating));
        assert_eq!(order, vec![0, 1, 2, 3, 4]);
        // The online Elo agrees on who is best and worst.
        let elo = online_elo(truth.len(), &battles, 4.0);
        assert!(elo[4] > elo[0]);
    }

    #[test]
    fn two_models_match_the_closed_form() {
        // 30 wins, 10 losses, 10 ties: p = 35/50, strength gap = ln(35/15).
        let mut battles = Vec::new();
        battles.extend((0..30).map(|_| Battle {
            a: 0,
            b: 1,
            winner: Winner::A,
        }));
        battles.extend((0..10).map(|_| Battle {
            a: 1,
            b: 0,
            winner: Winner::A,
        }));
        battles.extend((0..10).map(|_| Battle {
            a: 0,
            b: 1,
            winner: Winner::Tie,
        }));
        let s = bradley_terry(2, &battles);
        assert!((s[0] - s[1] - (35.0f64 / 15.0).ln()).abs() < 1e-4, "{s:?}");
        assert!((s[0] + s[1]).abs() < 1e-12);
    }

    #[test]
    fn a_model_that_never_wins_gets_a_finite_rating() {
        let battles: Vec<Battle> = (0..20)
            .map(|_| Battle {
                a: 0,
                b: 1,
                winner: Winner::B,
            })
            .collect();
        let s = bradley_terry(2, &battles);
        assert!(s.iter().all(|x| x.is_finite()));
        assert!(s[1] > s[0]);
        assert_eq!(rate(3, &battles, 10, 1)[2].battles, 0);
    }
}
