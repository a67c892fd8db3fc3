//! Sequential scoring: one sequence in the KV cache at a time, decoded in exactly the
//! shapes a one-sequence-at-a-time reference uses.
//!
//! llama.cpp's CPU kernels round differently depending on how many rows a decode call
//! has (a single row takes a different path) and on which cache cells a sequence
//! occupies. A sequence that always starts at cell 0 and is decoded in calls of at
//! least two rows reproduces, bit for bit, what `llama-cpp-python` computes when it
//! evaluates context and continuation in one call.
//!
//! Shared-prefix: the context is decoded once; each continuation is then decoded on top
//! of it (all its tokens, so the call has the same rows a one-shot evaluation gives
//! them) and rolled back, so the next continuation lands on the same cells.
//! Plain: context and continuation are decoded together, request by request.

use super::score::{clear_sequences, new_tallies, responses, Job, Pending};
use crate::ModelError;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::token::LlamaToken;
use yardstick_core::LoglikelihoodResponse;

/// Scores jobs one after another. With `share_context`, each job's context is decoded
/// once for all its continuations; otherwise every continuation is decoded together
/// with its own copy of the context.
pub(super) fn run_sequential(
    context: &mut LlamaContext<'_>,
    jobs: &[Job],
    batch_tokens: usize,
    request_count: usize,
    share_context: bool,
) -> Result<Vec<LoglikelihoodResponse>, ModelError> {
    let mut tallies = new_tallies(request_count);
    let mut pending = Pending::new(batch_tokens, 1);
    for job in jobs {
        // A one-token context would be a one-row decode; score such jobs plainly.
        if share_context && job.context.len() >= 2 {
            clear_sequences(context)?;
            let last = job.context.len() - 1;
            for (position, &token) in job.context.iter().enumerate() {
                let targets = if position == last {
                    job.first_token_targets()
                } else {
                    Vec::new()
                };
                pending.push(context, &mut tallies, token, position, 0, targets)?;
            }
            pending.flush(context, &mut tallies)?;
            for (request, cont) in &job.continuations {
                if cont.len() < 2 {
                    continue; // scored entirely by the context's last row
                }
                for (k, &token) in cont.iter().enumerate() {
                    let targets = cont
                        .get(k + 1)
                        .map(|&next| vec![(*request, next)])
                        .unwrap_or_default();
                    pending.push(
                        context,
                        &mut tallies,
                        token,
                        job.context.len() + k,
                        0,
                        targets,
                    )?;
                }
                pending.flush(context, &mut tallies)?;
                let start = u32::try_from(job.context.len()).unwrap_or(u32::MAX);
                context
                    .clear_kv_cache_seq(Some(0), Some(start), None)
                    .map_err(|e| ModelError::Decode(e.to_string()))?;
            }
        } else {
            for (request, cont) in &job.continuations {
                clear_sequences(context)?;
                let tokens: Vec<LlamaToken> = job.context.iter().chain(cont).copied().collect();
                let first_target = job.context.len();
                for (position, &token) in tokens.iter().enumerate() {
                    let targets = if position + 1 >= first_target {
                        tokens
                            .get(position + 1)
                            .map(|&next| vec![(*request, next)])
                            .unwrap_or_default()
                    } else {
                        Vec::new()
                    };
                    pending.push(context, &mut tallies, token, position, 0, targets)?;
                }
                pending.flush(context, &mut tallies)?;
            }
        }
    }
    clear_sequences(context)?;
    Ok(responses(tallies))
}
