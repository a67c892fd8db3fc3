//! Packed scoring: many questions per llama.cpp batch.
//!
//! Each job's context is decoded once into its first sequence, its KV cells are copied
//! to one sequence per further continuation, and all continuations of a round of jobs
//! are decoded together. This keeps batches large, which is what a GPU needs. On CPU,
//! llama.cpp's kernels round differently depending on batch shape and on where a
//! sequence's cells sit in the cache, so packed numbers can differ from a one-sequence
//! reference (see [`ScoringMode::Packed`](super::ScoringMode::Packed)).

use super::score::{clear_sequences, new_tallies, responses, Job, Limits, Pending, Tally};
use crate::ModelError;
use llama_cpp_2::context::LlamaContext;
use yardstick_core::LoglikelihoodResponse;

/// Runs jobs round by round and returns one response per request index.
pub(super) fn run_packed(
    context: &mut LlamaContext<'_>,
    jobs: &[Job],
    limits: Limits,
    request_count: usize,
) -> Result<Vec<LoglikelihoodResponse>, ModelError> {
    let mut tallies = new_tallies(request_count);
    let mut pending = Pending::new(limits.batch_tokens, limits.sequences);
    let mut start = 0;
    while start < jobs.len() {
        let mut end = start;
        let (mut cells, mut sequences) = (0, 0);
        while end < jobs.len()
            && (end == start
                || (cells + jobs[end].cells() <= limits.cells
                    && sequences + jobs[end].sequences() <= limits.sequences))
        {
            cells += jobs[end].cells();
            sequences += jobs[end].sequences();
            end += 1;
        }
        run_round(context, &jobs[start..end], &mut pending, &mut tallies)?;
        start = end;
    }
    Ok(responses(tallies))
}

fn run_round(
    context: &mut LlamaContext<'_>,
    jobs: &[Job],
    pending: &mut Pending,
    tallies: &mut [Tally],
) -> Result<(), ModelError> {
    clear_sequences(context)?;
    // Phase 1: each job's context once, into its first sequence. The last context
    // token's logits predict every continuation's first token.
    let mut first_sequence = Vec::with_capacity(jobs.len());
    let mut next_sequence = 0;
    for job in jobs {
        first_sequence.push(next_sequence);
        let last = job.context.len().saturating_sub(1);
        for (position, &token) in job.context.iter().enumerate() {
            let targets = if position == last {
                job.first_token_targets()
            } else {
                Vec::new()
            };
            pending.push(context, tallies, token, position, next_sequence, targets)?;
        }
        next_sequence += job.sequences();
    }
    pending.flush(context, tallies)?;

    // Phase 2: copy each context to its other sequences and feed every continuation
    // but its last token; row k predicts token k + 1.
    for (job, &base) in jobs.iter().zip(&first_sequence) {
        for offset in 1..job.continuations.len() {
            context
                .copy_kv_cache_seq(base as i32, (base + offset) as i32, None, None)
                .map_err(|e| ModelError::Decode(e.to_string()))?;
        }
    }
    for (job, &base) in jobs.iter().zip(&first_sequence) {
        for (offset, (request, cont)) in job.continuations.iter().enumerate() {
            for k in 0..cont.len().saturating_sub(1) {
                pending.push(
                    context,
                    tallies,
                    cont[k],
                    job.context.len() + k,
                    base + offset,
                    vec![(*request, cont[k + 1])],
                )?;
            }
        }
    }
    pending.flush(context, tallies)?;
    Ok(())
}
