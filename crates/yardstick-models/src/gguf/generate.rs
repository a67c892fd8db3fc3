//! Text generation: incremental decoding on llama.cpp's KV cache, several sequences at
//! once.
//!
//! Each sequence has a KV stream of its own (a split, not unified, cache), so its cells
//! start at 0 and attention sees only it, exactly as when it runs alone. Each prompt is
//! prefilled in its own decode calls (batch-sized chunks), as a one-prompt-at-a-time
//! reference does. Generation then advances every live sequence by one token per decode
//! call, one row per sequence; a finished sequence clears its stream and a waiting prompt
//! takes its place. With one sequence the calls are exactly a one-prompt reference's; with
//! several, the weight products run over several rows at once, where llama.cpp may pick
//! another CPU kernel than for one row.

use super::score::clear_sequences;
use super::GgufModel;
use crate::ModelError;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use std::time::Instant;
use yardstick_core::{
    cut_at_stop, GenerateRequest, GenerateResponse, Sampling, StopReason, TokenId,
};

/// Limits of one generation round.
#[derive(Debug, Clone, Copy)]
pub(super) struct GenerateLimits {
    /// KV cells of each sequence's own stream.
    pub cells: usize,
    /// Tokens per decode call.
    pub batch_tokens: usize,
    /// Sequences generated together.
    pub sequences: usize,
    /// Read special-token text in prompts as special tokens (chat-templated prompts).
    pub parse_special: bool,
}

/// Where generation time went: prompt prefill, and the decode steps that each advance
/// every live sequence by one token (llama.cpp's "prompt eval" and "eval" times).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GenerationTimes {
    /// Time in prefill decode calls.
    pub prefill: std::time::Duration,
    /// Prompt tokens prefilled.
    pub prefill_tokens: usize,
    /// Time in one-token-per-sequence decode calls, choosing the next tokens included.
    pub decode: std::time::Duration,
    /// Tokens those calls decoded (rows, summed over calls).
    pub decode_tokens: usize,
    /// Decode calls made (`decode_tokens / decode_calls` rows per call on average).
    pub decode_calls: usize,
}

impl std::ops::AddAssign for GenerationTimes {
    fn add_assign(&mut self, other: Self) {
        self.prefill += other.prefill;
        self.prefill_tokens += other.prefill_tokens;
        self.decode += other.decode;
        self.decode_tokens += other.decode_tokens;
        self.decode_calls += other.decode_calls;
    }
}

impl GenerationTimes {
    /// Decoded tokens per second of decode time.
    pub fn decode_tokens_per_second(&self) -> f64 {
        self.decode_tokens as f64 / self.decode.as_secs_f64()
    }
}

/// A sequence being generated.
struct Live {
    request: usize,
    seq: i32,
    /// Cells the sequence may use (prompt + budget).
    reserved: usize,
    position: usize,
    tokens: Vec<LlamaToken>,
    bytes: Vec<u8>,
    sampler: Option<LlamaSampler>,
    /// Row of the last decode call that holds this sequence's next-token logits.
    row: i32,
}

fn decode_error(e: impl std::fmt::Display) -> ModelError {
    ModelError::Decode(e.to_string())
}

/// Generates a response for every request, in request order.
pub(super) fn run_generate(
    model: &GgufModel,
    context: &mut LlamaContext<'_>,
    requests: &[GenerateRequest],
    limits: GenerateLimits,
    times: &mut GenerationTimes,
) -> Result<Vec<GenerateResponse>, ModelError> {
    clear_sequences(context)?;
    let mut prompts: Vec<Vec<LlamaToken>> = requests
        .iter()
        .map(|r| model.encode_with(&r.prompt, limits.parse_special))
        .collect();
    // lm-eval keeps the prompt's last (window - max_gen_toks) tokens.
    for (prompt, request) in prompts.iter_mut().zip(requests) {
        let room = limits.cells.saturating_sub(request.max_gen_toks).max(1);
        if prompt.len() > room {
            prompt.drain(..prompt.len() - room);
        }
    }
    let mut results: Vec<Option<GenerateResponse>> = vec![None; requests.len()];
    let mut waiting = 0..requests.len();
    let mut next_waiting = waiting.next();
    let mut live: Vec<Live> = Vec::new();
    let mut free_seqs: Vec<i32> = (0..limits.sequences.max(1) as i32).rev().collect();
    let mut step = LlamaBatch::new(limits.sequences.max(1), 1);

    loop {
        // Admit waiting prompts while a sequence and enough cells are free.
        while let Some(index) = next_waiting {
            // Every sequence has a KV stream of `limits.cells` of its own.
            let reserved = (prompts[index].len() + requests[index].max_gen_toks).min(limits.cells);
            let Some(&seq) = free_seqs.last() else { break };
            free_seqs.pop();
            let started = Instant::now();
            let row = prefill(context, &prompts[index], seq, limits.batch_tokens)?;
            times.prefill += started.elapsed();
            times.prefill_tokens += prompts[index].len();
            let mut sequence = Live {
                request: index,
                seq,
                reserved,
                position: prompts[index].len(),
                tokens: Vec::new(),
                bytes: Vec::new(),
                sampler: sampler_for(&requests[index].sampling),
                row,
            };
            // Its first token comes from the prefill's logits, before the next prefill
            // overwrites them.
            match advance(model, context, &mut sequence, &requests[index]) {
                Some(response) => {
                    finish(context, &sequence, &mut free_seqs)?;
                    results[index] = Some(response);
                }
                None => live.push(sequence),
            }
            next_waiting = waiting.next();
        }
        if live.is_empty() {
            break;
        }
        // One token for every live sequence in one decode call.
        let started = Instant::now();
        let rows = live.len();
        step.clear();
        for (row, sequence) in live.iter_mut().enumerate() {
            // A live sequence has generated at least one token (else it would be done).
            if let Some(&token) = sequence.tokens.last() {
                step.add(token, (sequence.position - 1) as i32, &[sequence.seq], true)
                    .map_err(decode_error)?;
                sequence.row = row as i32;
            }
        }
        context.decode(&mut step).map_err(decode_error)?;
        let mut still_live = Vec::with_capacity(live.len());
        for mut sequence in live.drain(..) {
            let request = &requests[sequence.request];
            match advance(model, context, &mut sequence, request) {
                Some(response) => {
                    finish(context, &sequence, &mut free_seqs)?;
                    results[sequence.request] = Some(response);
                }
                None => still_live.push(sequence),
            }
        }
        times.decode += started.elapsed();
        times.decode_tokens += rows;
        times.decode_calls += 1;
        live = still_live;
    }
    clear_sequences(context)?;
    results
        .into_iter()
        .map(|r| r.ok_or_else(|| ModelError::Decode("a generation request got no answer".into())))
        .collect()
}

/// Decodes a prompt into sequence `seq` from position 0 in batch-sized calls; returns the
/// row holding the last token's logits.
pub(super) fn prefill(
    context: &mut LlamaContext<'_>,
    prompt: &[LlamaToken],
    seq: i32,
    batch_tokens: usize,
) -> Result<i32, ModelError> {
    if prompt.is_empty() {
        return Err(ModelError::BadRequest(
            "empty prompt: nothing to continue".into(),
        ));
    }
    let chunk = batch_tokens.max(1);
    let mut batch = LlamaBatch::new(chunk, 1);
    let mut last_row = 0;
    for (index, piece) in prompt.chunks(chunk).enumerate() {
        batch.clear();
        for (offset, &token) in piece.iter().enumerate() {
            let position = index * chunk + offset;
            let last = position + 1 == prompt.len();
            batch
                .add(token, position as i32, &[seq], last)
                .map_err(decode_error)?;
            if last {
                last_row = offset as i32;
            }
        }
        context.decode(&mut batch).map_err(decode_error)?;
    }
    Ok(last_row)
}

fn sampler_for(sampling: &Sampling) -> Option<LlamaSampler> {
    match *sampling {
        Sampling::Greedy => None,
        Sampling::Sample {
            temperature,
            top_p,
            top_k,
            seed,
        } => {
            let mut chain = Vec::new();
            if top_k > 0 {
                chain.push(LlamaSampler::top_k(top_k as i32));
            }
            if top_p < 1.0 {
                chain.push(LlamaSampler::top_p(top_p, 1));
            }
            chain.push(LlamaSampler::temp(temperature));
            chain.push(LlamaSampler::dist(seed));
            Some(LlamaSampler::chain_simple(chain))
        }
    }
}

/// The first token among the largest logits.
pub(super) fn argmax(logits: &[f32]) -> usize {
    let mut best = 0;
    for (index, &value) in logits.iter().enumerate() {
        if value > logits[best] {
            best = index;
        }
    }
    best
}

/// Chooses the sequence's next token from its logits row and records it; returns the
/// response when the sequence is done.
fn advance(
    model: &GgufModel,
    context: &LlamaContext<'_>,
    sequence: &mut Live,
    request: &GenerateRequest,
) -> Option<GenerateResponse> {
    let token = match &mut sequence.sampler {
        Some(sampler) => sampler.sample(context, sequence.row),
        None => LlamaToken(argmax(context.get_logits_ith(sequence.row)) as i32),
    };
    let vocab = model.model.vocab();
    if vocab.is_eog(token) {
        return Some(response(sequence, StopReason::EndOfGeneration, None));
    }
    sequence.tokens.push(token);
    sequence
        .bytes
        .extend(vocab.token_to_piece(token, false, None));
    sequence.position += 1;
    let text = String::from_utf8_lossy(&sequence.bytes);
    if let Some((at, term)) = cut_at_stop(&text, &request.until) {
        let cut = text[..at].to_owned();
        return Some(response(
            sequence,
            StopReason::Until(term.to_owned()),
            Some(cut),
        ));
    }
    if sequence.tokens.len() >= request.max_gen_toks {
        return Some(response(sequence, StopReason::MaxTokens, None));
    }
    if sequence.position >= sequence.reserved {
        return Some(response(sequence, StopReason::ContextFull, None));
    }
    None
}

fn response(sequence: &Live, stop: StopReason, text: Option<String>) -> GenerateResponse {
    GenerateResponse {
        text: text.unwrap_or_else(|| String::from_utf8_lossy(&sequence.bytes).into_owned()),
        tokens: sequence.tokens.iter().map(|t| TokenId(t.0)).collect(),
        stop,
    }
}

/// Frees a finished sequence's cells and id.
fn finish(
    context: &mut LlamaContext<'_>,
    sequence: &Live,
    free_seqs: &mut Vec<i32>,
) -> Result<(), ModelError> {
    context
        .clear_kv_cache_seq(Some(sequence.seq as u32), None, None)
        .map_err(decode_error)?;
    free_seqs.push(sequence.seq);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(&[0.0, 2.0, 2.0, 1.0]), 1);
        assert_eq!(argmax(&[5.0]), 0);
    }
}
