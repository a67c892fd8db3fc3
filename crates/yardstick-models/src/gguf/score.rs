//! Log-likelihood scoring: what every scoring strategy shares.
//!
//! A *job* is one context and the continuations scored after it. In the shared-prefix
//! and packed modes all requests with the same context form one job; in plain mode every
//! request is a job of its own. [`Pending`] queues tokens for llama.cpp and folds the
//! logits rows that were asked for into per-request tallies.

use super::ScoringMode;
use crate::ModelError;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::token::LlamaToken;
use std::collections::HashMap;
use yardstick_core::{LogProb, LoglikelihoodRequest, LoglikelihoodResponse};

/// Capacities of the llama.cpp context the jobs run in.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub cells: usize,
    pub batch_tokens: usize,
    pub sequences: usize,
}

/// One context and the continuations scored after it.
#[derive(Debug)]
pub(super) struct Job {
    pub(super) context: Vec<LlamaToken>,
    /// (request index, continuation tokens)
    pub(super) continuations: Vec<(usize, Vec<LlamaToken>)>,
}

impl Job {
    /// KV cells the job occupies: the context plus every continuation but its last token.
    pub(super) fn cells(&self) -> usize {
        self.context.len()
            + self
                .continuations
                .iter()
                .map(|(_, c)| c.len().saturating_sub(1))
                .sum::<usize>()
    }

    /// What the context's last row predicts: every continuation's first token.
    pub(super) fn first_token_targets(&self) -> Vec<(usize, LlamaToken)> {
        self.continuations
            .iter()
            .filter_map(|(request, cont)| cont.first().map(|&t| (*request, t)))
            .collect()
    }

    pub(super) fn sequences(&self) -> usize {
        self.continuations.len().max(1)
    }
}

/// Groups encoded requests into jobs. Requests longer than the model window (one cell
/// less than the KV cache, so that the last continuation token also fits) are
/// left-truncated as lm-eval does: the earliest context tokens are dropped.
pub(super) fn plan_jobs(
    requests: &[LoglikelihoodRequest],
    encoded: Vec<(Vec<LlamaToken>, Vec<LlamaToken>)>,
    mode: ScoringMode,
    limits: Limits,
) -> Result<Vec<Job>, ModelError> {
    let cells = limits.cells.saturating_sub(1);
    let mut jobs: Vec<Job> = Vec::new();
    let mut job_of_context: HashMap<&str, usize> = HashMap::new();
    for (index, (request, (mut context, continuation))) in requests.iter().zip(encoded).enumerate()
    {
        if continuation.len() > cells {
            return Err(ModelError::BadRequest(format!(
                "continuation of {} tokens exceeds the context window of {cells}",
                continuation.len()
            )));
        }
        let needed = context.len() + continuation.len().saturating_sub(1);
        let truncated = needed > cells;
        if truncated {
            context.drain(..needed - cells);
        }
        let shared = mode != ScoringMode::Plain && !truncated;
        if shared {
            if let Some(&job) = job_of_context.get(request.context.as_str()) {
                jobs[job].continuations.push((index, continuation));
                continue;
            }
            job_of_context.insert(request.context.as_str(), jobs.len());
        }
        jobs.push(Job {
            context,
            continuations: vec![(index, continuation)],
        });
    }
    if mode != ScoringMode::Packed {
        return Ok(jobs);
    }
    // A packed job whose continuations overflow one round is split in two.
    let mut fitted = Vec::with_capacity(jobs.len());
    for job in jobs {
        split_to_fit(job, limits, &mut fitted);
    }
    Ok(fitted)
}

fn split_to_fit(mut job: Job, limits: Limits, out: &mut Vec<Job>) {
    let fits = job.cells() <= limits.cells && job.sequences() <= limits.sequences;
    if fits || job.continuations.len() <= 1 {
        out.push(job);
        return;
    }
    let half = job.continuations.len() / 2;
    let rest = job.continuations.split_off(half);
    let second = Job {
        context: job.context.clone(),
        continuations: rest,
    };
    split_to_fit(job, limits, out);
    split_to_fit(second, limits, out);
}

/// Running totals for one request.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tally {
    logprob: f64,
    is_greedy: bool,
    tokens: usize,
    /// The most likely token at the last row folded in, and its log-probability.
    greedy: (usize, f64),
}

impl Tally {
    fn new() -> Self {
        Self {
            logprob: 0.0,
            is_greedy: true,
            tokens: 0,
            greedy: (0, f64::NAN),
        }
    }
}

/// A fresh tally for each of `count` requests.
pub(super) fn new_tallies(count: usize) -> Vec<Tally> {
    vec![Tally::new(); count]
}

/// Per tally (one per predicted token): the token's log-probability, and the most
/// likely token at its position with that token's log-probability.
pub(super) fn token_scores(tallies: Vec<Tally>) -> Vec<(f64, usize, f64)> {
    tallies
        .into_iter()
        .map(|t| (t.logprob, t.greedy.0, t.greedy.1))
        .collect()
}

/// The responses the tallies add up to.
pub(super) fn responses(tallies: Vec<Tally>) -> Vec<LoglikelihoodResponse> {
    tallies
        .into_iter()
        .map(|t| LoglikelihoodResponse {
            logprob: LogProb(t.logprob),
            is_greedy: t.is_greedy,
            continuation_tokens: t.tokens,
        })
        .collect()
}

/// Where one logits row is read: the batch slot, and the (request, target token) pairs
/// that row predicts.
struct RowTarget {
    slot: i32,
    targets: Vec<(usize, LlamaToken)>,
}

/// A llama.cpp batch with the bookkeeping of which rows feed which requests.
pub(super) struct Pending {
    batch: LlamaBatch<'static>,
    rows: Vec<RowTarget>,
    capacity: usize,
}

impl Pending {
    pub(super) fn new(capacity: usize, sequences: usize) -> Self {
        Self {
            batch: LlamaBatch::new(capacity, i32::try_from(sequences).unwrap_or(i32::MAX)),
            rows: Vec::new(),
            capacity,
        }
    }

    pub(super) fn push(
        &mut self,
        context: &mut LlamaContext<'_>,
        tallies: &mut [Tally],
        token: LlamaToken,
        position: usize,
        sequence: usize,
        targets: Vec<(usize, LlamaToken)>,
    ) -> Result<(), ModelError> {
        if self.batch.n_tokens() as usize >= self.capacity {
            self.flush(context, tallies)?;
        }
        let wants_logits = !targets.is_empty();
        let slot = self.batch.n_tokens();
        self.batch
            .add(token, position as i32, &[sequence as i32], wants_logits)
            .map_err(|e| ModelError::Decode(e.to_string()))?;
        if wants_logits {
            self.rows.push(RowTarget { slot, targets });
        }
        Ok(())
    }

    /// Decodes what is queued and folds each requested logits row into the tallies.
    pub(super) fn flush(
        &mut self,
        context: &mut LlamaContext<'_>,
        tallies: &mut [Tally],
    ) -> Result<(), ModelError> {
        if self.batch.n_tokens() == 0 {
            return Ok(());
        }
        context
            .decode(&mut self.batch)
            .map_err(|e| ModelError::Decode(e.to_string()))?;
        for row in self.rows.drain(..) {
            let logits = context.get_logits_ith(row.slot);
            let normaliser = log_sum_exp(logits);
            let best = super::generate::argmax(logits);
            for (request, token) in row.targets {
                let index = token.0 as usize;
                let Some(&logit) = logits.get(index) else {
                    return Err(ModelError::Decode(format!(
                        "token id {index} outside the vocabulary"
                    )));
                };
                let tally = &mut tallies[request];
                tally.logprob += f64::from(logit) - normaliser;
                tally.is_greedy &= best == index;
                tally.tokens += 1;
                tally.greedy = (best, f64::from(logits[best]) - normaliser);
            }
        }
        self.batch.clear();
        Ok(())
    }
}

/// `ln Σ exp(x)`, in f64 so that long vocabularies lose no precision.
pub(super) fn log_sum_exp(logits: &[f32]) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let max = f64::from(max);
    let sum: f64 = logits.iter().map(|&x| (f64::from(x) - max).exp()).sum();
    max + sum.ln()
}

/// Removes every sequence's cells (metadata only: the buffers are not zeroed).
pub(super) fn clear_sequences(context: &mut LlamaContext<'_>) -> Result<(), ModelError> {
    context
        .clear_kv_cache_seq(None, None, None)
        .map_err(|e| ModelError::Decode(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_sum_exp_matches_direct_formula() {
        let logits = [1.0f32, 2.0, 3.0];
        let direct = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln();
        assert!((log_sum_exp(&logits) - direct).abs() < 1e-12);
    }

    fn toks(ids: &[i32]) -> Vec<LlamaToken> {
        ids.iter().map(|&i| LlamaToken(i)).collect()
    }

    #[test]
    fn shared_mode_groups_by_context_and_plain_does_not() {
        let requests = vec![
            LoglikelihoodRequest::new("q", " a"),
            LoglikelihoodRequest::new("q", " b"),
            LoglikelihoodRequest::new("r", " c"),
        ];
        let encoded = || {
            vec![
                (toks(&[1, 2]), toks(&[3])),
                (toks(&[1, 2]), toks(&[4, 5])),
                (toks(&[6]), toks(&[7])),
            ]
        };
        let limits = Limits {
            cells: 100,
            batch_tokens: 8,
            sequences: 4,
        };
        let shared = plan_jobs(&requests, encoded(), ScoringMode::SharedPrefix, limits).unwrap();
        assert_eq!(shared.len(), 2);
        assert_eq!(shared[0].continuations.len(), 2);
        assert_eq!(shared[0].cells(), 3);
        let plain = plan_jobs(&requests, encoded(), ScoringMode::Plain, limits).unwrap();
        assert_eq!(plain.len(), 3);
        let narrow = Limits {
            sequences: 1,
            ..limits
        };
        let packed = plan_jobs(&requests, encoded(), ScoringMode::Packed, narrow).unwrap();
        assert_eq!(
            packed.len(),
            3,
            "a packed job never needs more sequences than exist"
        );
    }

    #[test]
    fn overlong_context_is_left_truncated() {
        let requests = vec![LoglikelihoodRequest::new("long", " x")];
        let encoded = vec![(toks(&[1, 2, 3, 4, 5]), toks(&[6, 7]))];
        let limits = Limits {
            cells: 5,
            batch_tokens: 8,
            sequences: 4,
        };
        let jobs = plan_jobs(&requests, encoded, ScoringMode::SharedPrefix, limits).unwrap();
        assert_eq!(jobs[0].context, toks(&[3, 4, 5]));
    }
}
