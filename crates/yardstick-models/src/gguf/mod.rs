//! In-process GGUF models on llama.cpp.

mod generate;
mod packed;
mod score;
mod sequential;
mod tokenize;

pub use generate::GenerationTimes;
pub use tokenize::encode_pair;

use crate::{Backend, ModelError};
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use std::io::Read;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use yardstick_core::{
    sha256_file, GenerateRequest, GenerateResponse, LoglikelihoodRequest, LoglikelihoodResponse,
    ModelFingerprint, TokenId,
};

/// llama.cpp's process-wide state; initialised once, with its logging silenced.
fn llama_backend() -> Result<&'static LlamaBackend, ModelError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            let mut backend = LlamaBackend::init().map_err(|e| e.to_string())?;
            backend.void_logs();
            Ok(backend)
        })
        .as_ref()
        .map_err(|e| ModelError::Init(e.clone()))
}

/// How the scorer treats choices that share a context.
///
/// The first two give, bit for bit, the numbers of a one-sequence-at-a-time reference
/// (llama-cpp-python with `logits_all`) on models whose weights llama.cpp does not
/// repack for batched kernels (on x86: all but Q4_0, Q4_K, IQ4_NL and Q8_0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScoringMode {
    /// Decode each distinct context once; decode each continuation on top of it and
    /// roll it back. Same numbers as `Plain`, a fraction of the work.
    #[default]
    SharedPrefix,
    /// Decode context and continuation together for every request.
    Plain,
    /// Many questions per batch, contexts copied to one sequence per choice: the most
    /// work per llama.cpp call (what GPUs need), but the numbers then depend on batch
    /// composition on quantized CPU models (up to 0.86 nats on one choice of the demo
    /// model).
    Packed,
}

/// Settings for one inference session on a loaded model.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// KV cells shared by all sequences of one scoring round.
    pub context_cells: u32,
    /// Tokens per llama.cpp decode call.
    pub batch_tokens: u32,
    /// Parallel sequences per round.
    pub max_sequences: u32,
    /// Worker threads; `None` uses every core (ggml's threads spin, so never more).
    pub threads: Option<usize>,
    /// Shared-prefix or plain scoring.
    pub mode: ScoringMode,
    /// Use llama.cpp's flash-attention kernels.
    pub flash_attention: bool,
    /// Sequences generated together (each in its own KV stream).
    pub generation_sequences: u32,
    /// KV cells of each generated sequence (prompt and generated tokens).
    pub generation_cells: u32,
    /// Read special-token text in prompts (`<|im_start|>`) as those tokens: what
    /// chat-templated prompts need. Off, benchmark text is plain text, as lm-eval
    /// tokenizes it.
    pub parse_special: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            context_cells: 4096,
            batch_tokens: 512,
            max_sequences: 64,
            threads: None,
            mode: ScoringMode::SharedPrefix,
            flash_attention: false,
            generation_sequences: 8,
            generation_cells: 2048,
            parse_special: false,
        }
    }
}

/// Facts about a model's tokenizer that decide how text becomes tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenizerInfo {
    /// The GGUF's `add_bos_token` flag.
    pub adds_bos: bool,
    /// The token an empty context is replaced by (BOS, else EOS).
    pub prefix_token: TokenId,
    /// Vocabulary size.
    pub vocab_size: usize,
}

/// A GGUF model file loaded into memory.
pub struct GgufModel {
    model: LlamaModel,
    path: PathBuf,
    name: String,
    fingerprint: ModelFingerprint,
    tokenizer: TokenizerInfo,
}

impl std::fmt::Debug for GgufModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufModel")
            .field("path", &self.path)
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

impl GgufModel {
    /// Loads a GGUF file, checking first that it is one, and fingerprints it by sha256.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        check_gguf_magic(path)?;
        let digest = sha256_file(path).map_err(|source| ModelError::Io {
            path: path.to_owned(),
            source,
        })?;
        let backend = llama_backend()?;
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(|_| ModelError::Load {
                path: path.to_owned(),
            })?;
        let vocab = model.vocab();
        let adds_bos = vocab.should_add_bos();
        let bos = vocab.bos();
        let prefix = if bos.0 >= 0 { bos } else { vocab.eos() };
        let tokenizer = TokenizerInfo {
            adds_bos,
            prefix_token: TokenId(prefix.0),
            vocab_size: usize::try_from(vocab.n_tokens()).unwrap_or(0),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Ok(Self {
            model,
            path: path.to_owned(),
            name,
            fingerprint: ModelFingerprint::from_file_sha256(&digest),
            tokenizer,
        })
    }

    /// The sha256 fingerprint of the file.
    pub fn fingerprint(&self) -> &ModelFingerprint {
        &self.fingerprint
    }

    /// The file this model was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The tokenizer facts that decide tokenisation.
    pub fn tokenizer_info(&self) -> TokenizerInfo {
        self.tokenizer
    }

    /// Encodes text as lm-eval does: BOS added when the GGUF asks for it, special-token
    /// text in benchmark data treated as plain text.
    pub fn tokenize(&self, text: &str) -> Vec<TokenId> {
        self.encode(text)
            .into_iter()
            .map(|t| TokenId(t.0))
            .collect()
    }

    /// The context window the model was trained with (`n_ctx_train`).
    pub fn context_window(&self) -> usize {
        self.model.n_ctx_train() as usize
    }

    /// Turns token ids back into text (special tokens rendered, no BOS stripping).
    pub fn detokenize(&self, tokens: &[TokenId]) -> String {
        let tokens: Vec<LlamaToken> = tokens.iter().map(|t| LlamaToken(t.0)).collect();
        let bytes = self.model.vocab().detokenize(&tokens, false, false);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn encode(&self, text: &str) -> Vec<LlamaToken> {
        self.encode_with(text, false)
    }

    /// Encodes text, BOS added when the GGUF asks for it; with `parse_special`,
    /// special-token text becomes those tokens, and a BOS the text already starts with
    /// (chat templates write `{{ bos_token }}`) is not doubled.
    fn encode_with(&self, text: &str, parse_special: bool) -> Vec<LlamaToken> {
        let vocab = self.model.vocab();
        let mut tokens = vocab.tokenize(text.as_bytes(), true, parse_special);
        if parse_special
            && tokens.len() >= 2
            && tokens[0] == vocab.bos()
            && tokens[1] == vocab.bos()
        {
            tokens.remove(0);
        }
        tokens
    }

    /// Encodes text; with `parse_special`, special-token text (`<|im_start|>`) becomes
    /// those tokens, as chat-templated prompts need.
    pub fn tokenize_special(&self, text: &str, parse_special: bool) -> Vec<TokenId> {
        self.encode_with(text, parse_special)
            .into_iter()
            .map(|t| TokenId(t.0))
            .collect()
    }

    /// The bytes one token stands for (special tokens rendered).
    pub fn token_bytes(&self, token: TokenId) -> Vec<u8> {
        self.model
            .vocab()
            .token_to_piece(LlamaToken(token.0), true, None)
    }

    /// Whether the token ends generation (EOS, EOT).
    pub fn is_end_of_generation(&self, token: TokenId) -> bool {
        self.model.vocab().is_eog(LlamaToken(token.0))
    }

    /// The chat template in the GGUF's metadata (`tokenizer.chat_template`), if any.
    pub fn chat_template(&self) -> Option<String> {
        self.model
            .meta_val_str("tokenizer.chat_template")
            .ok()
            .filter(|t| !t.is_empty())
    }

    /// The special tokens' text as chat templates see them (`bos_token`, `eos_token`).
    pub fn special_tokens(&self) -> Vec<(String, String)> {
        let vocab = self.model.vocab();
        let text = |token: LlamaToken| {
            String::from_utf8_lossy(&vocab.token_to_piece(token, true, None)).into_owned()
        };
        vec![
            ("bos_token".to_owned(), text(vocab.bos())),
            ("eos_token".to_owned(), text(vocab.eos())),
        ]
    }

    /// The (context, continuation) token ids that lm-eval would score.
    pub fn encode_request(&self, request: &LoglikelihoodRequest) -> (Vec<TokenId>, Vec<TokenId>) {
        let (ctx, cont) = self.encode_request_llama(request, false);
        (
            ctx.into_iter().map(|t| TokenId(t.0)).collect(),
            cont.into_iter().map(|t| TokenId(t.0)).collect(),
        )
    }

    fn encode_request_llama(
        &self,
        request: &LoglikelihoodRequest,
        parse_special: bool,
    ) -> (Vec<LlamaToken>, Vec<LlamaToken>) {
        encode_pair(
            &request.context,
            &request.continuation,
            |text| self.encode_with(text, parse_special),
            LlamaToken(self.tokenizer.prefix_token.0),
            self.tokenizer.adds_bos,
        )
    }

    /// Opens an inference session (a llama.cpp context with its KV cache).
    pub fn session(&self, options: SessionOptions) -> Result<GgufSession<'_>, ModelError> {
        let context =
            self.new_context(&options, options.context_cells, options.max_sequences, true)?;
        Ok(GgufSession {
            model: self,
            context,
            generation: None,
            generation_times: GenerationTimes::default(),
            options,
        })
    }

    /// A llama.cpp context. A unified KV cache lets all sequences share the cells (what
    /// scoring needs); a split one gives every sequence its own stream of `cells /
    /// sequences` cells, so each is attended exactly as if it were alone.
    fn new_context(
        &self,
        options: &SessionOptions,
        cells: u32,
        sequences: u32,
        unified: bool,
    ) -> Result<LlamaContext<'_>, ModelError> {
        let threads = options.threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
        let threads = i32::try_from(threads).unwrap_or(1);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(cells))
            .with_n_batch(options.batch_tokens)
            .with_n_ubatch(options.batch_tokens)
            .with_n_seq_max(sequences)
            .with_n_threads(threads)
            .with_n_threads_batch(threads)
            .with_kv_unified(unified)
            .with_swa_full(true)
            .with_no_perf(true)
            .with_flash_attention_policy(i32::from(options.flash_attention));
        self.model
            .new_context(llama_backend()?, params)
            .map_err(|e| ModelError::Init(e.to_string()))
    }
}

fn check_gguf_magic(path: &Path) -> Result<(), ModelError> {
    let mut file = std::fs::File::open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ModelError::NotFound {
                path: path.to_owned(),
            }
        } else {
            ModelError::Io {
                path: path.to_owned(),
                source,
            }
        }
    })?;
    let mut magic = [0u8; 4];
    match file.read_exact(&mut magic) {
        Ok(()) if &magic == b"GGUF" => Ok(()),
        _ => Err(ModelError::NotGguf {
            path: path.to_owned(),
        }),
    }
}

/// A live llama.cpp context on a [`GgufModel`]; implements [`Backend`].
pub struct GgufSession<'m> {
    model: &'m GgufModel,
    context: LlamaContext<'m>,
    /// Generation's own context (one KV stream per sequence), made on first use.
    generation: Option<LlamaContext<'m>>,
    /// Where generation time went since the last [`GgufSession::take_generation_times`].
    generation_times: GenerationTimes,
    options: SessionOptions,
}

impl GgufSession<'_> {
    /// Where generation time went since the last call (prefill and decode), and resets it.
    pub fn take_generation_times(&mut self) -> GenerationTimes {
        std::mem::take(&mut self.generation_times)
    }

    /// Whether prompts' special-token text (`<|im_start|>`) becomes those tokens in
    /// later generation requests (chat-templated prompts need it).
    pub fn set_parse_special(&mut self, parse_special: bool) {
        self.options.parse_special = parse_special;
    }

    /// Switches the scoring strategy for later requests.
    pub fn set_mode(&mut self, mode: ScoringMode) {
        self.options.mode = mode;
    }

    /// llama.cpp's raw prefill: `tokens` fed as one sequence in batch-sized chunks, logits
    /// for the last token only. This is the ceiling a scorer is measured against.
    pub fn raw_prefill(&mut self, tokens: &[TokenId]) -> Result<Duration, ModelError> {
        let tokens: Vec<LlamaToken> = tokens.iter().map(|t| LlamaToken(t.0)).collect();
        let capacity = self.context.n_ctx() as usize;
        if tokens.len() > capacity {
            return Err(ModelError::BadRequest(format!(
                "{} tokens exceed the session's {capacity} KV cells",
                tokens.len()
            )));
        }
        score::clear_sequences(&mut self.context)?;
        let chunk = self.context.n_batch() as usize;
        let mut batch = llama_cpp_2::llama_batch::LlamaBatch::new(chunk, 1);
        let start = Instant::now();
        for (chunk_index, piece) in tokens.chunks(chunk).enumerate() {
            batch.clear();
            for (offset, token) in piece.iter().enumerate() {
                let position = chunk_index * chunk + offset;
                let last = position + 1 == tokens.len();
                batch
                    .add(*token, position as i32, &[0], last)
                    .map_err(|e| ModelError::Decode(e.to_string()))?;
            }
            self.context
                .decode(&mut batch)
                .map_err(|e| ModelError::Decode(e.to_string()))?;
        }
        let elapsed = start.elapsed();
        score::clear_sequences(&mut self.context)?;
        Ok(elapsed)
    }
}

impl GgufSession<'_> {
    /// The `top` most likely tokens to follow `prompt` (tokenized as generation prompts
    /// are), with their log-probabilities, most likely first; the text of each token as
    /// its bytes read as UTF-8.
    pub fn next_token_logprobs(
        &mut self,
        prompt: &str,
        top: usize,
    ) -> Result<Vec<(String, f64)>, ModelError> {
        let tokens = self.model.encode_with(prompt, self.options.parse_special);
        let capacity = self.context.n_ctx() as usize;
        if tokens.is_empty() || tokens.len() > capacity {
            return Err(ModelError::BadRequest(format!(
                "a prompt of {} tokens does not fit the session's {capacity} KV cells",
                tokens.len()
            )));
        }
        score::clear_sequences(&mut self.context)?;
        let chunk = self.context.n_batch() as usize;
        let mut batch = llama_cpp_2::llama_batch::LlamaBatch::new(chunk, 1);
        let mut last_row = 0;
        for (chunk_index, piece) in tokens.chunks(chunk).enumerate() {
            batch.clear();
            for (offset, token) in piece.iter().enumerate() {
                let position = chunk_index * chunk + offset;
                let last = position + 1 == tokens.len();
                if last {
                    last_row = offset;
                }
                batch
                    .add(*token, position as i32, &[0], last)
                    .map_err(|e| ModelError::Decode(e.to_string()))?;
            }
            self.context
                .decode(&mut batch)
                .map_err(|e| ModelError::Decode(e.to_string()))?;
        }
        let logits = self.context.get_logits_ith(last_row as i32).to_vec();
        score::clear_sequences(&mut self.context)?;
        let normaliser = score::log_sum_exp(&logits);
        let mut order: Vec<usize> = (0..logits.len()).collect();
        // Highest first; ties by token id, as a stable sort of the vocabulary leaves them.
        order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
        Ok(order
            .into_iter()
            .take(top)
            .map(|id| {
                let bytes = self.model.token_bytes(TokenId(id as i32));
                (
                    String::from_utf8_lossy(&bytes).into_owned(),
                    f64::from(logits[id]) - normaliser,
                )
            })
            .collect())
    }

    /// llama.cpp's plain greedy loop on one sequence: the prompt in batch-sized calls, then
    /// one token per call (first argmax) until `max_tokens` or an end-of-generation token.
    /// Returns the tokens generated and where the time went; the peer a generator is
    /// measured against.
    pub fn raw_decode(
        &mut self,
        prompt: &str,
        max_tokens: usize,
    ) -> Result<(usize, GenerationTimes), ModelError> {
        let tokens = self.model.encode(prompt);
        if tokens.is_empty() || tokens.len() + max_tokens > self.context.n_ctx() as usize {
            return Err(ModelError::BadRequest(
                "prompt empty or too long for raw decode".into(),
            ));
        }
        score::clear_sequences(&mut self.context)?;
        let decode_error = |e: llama_cpp_2::DecodeError| ModelError::Decode(e.to_string());
        let add_error =
            |e: llama_cpp_2::llama_batch::BatchAddError| ModelError::Decode(e.to_string());
        let chunk = self.context.n_batch() as usize;
        let start = Instant::now();
        let last_row = generate::prefill(&mut self.context, &tokens, 0, chunk)?;
        let mut times = GenerationTimes {
            prefill: start.elapsed(),
            prefill_tokens: tokens.len(),
            ..GenerationTimes::default()
        };
        let decode_start = Instant::now();
        let mut batch = llama_cpp_2::llama_batch::LlamaBatch::new(1, 1);
        let vocab = self.model.model.vocab();
        let mut generated = 0;
        let mut position = tokens.len();
        let mut row = last_row;
        while generated < max_tokens {
            let token = LlamaToken(generate::argmax(self.context.get_logits_ith(row)) as i32);
            if vocab.is_eog(token) {
                break;
            }
            generated += 1;
            batch.clear();
            batch
                .add(token, position as i32, &[0], true)
                .map_err(add_error)?;
            self.context.decode(&mut batch).map_err(decode_error)?;
            position += 1;
            row = 0;
        }
        times.decode = decode_start.elapsed();
        times.decode_tokens = generated;
        times.decode_calls = generated;
        score::clear_sequences(&mut self.context)?;
        Ok((generated, times))
    }
}

impl GgufSession<'_> {
    /// llama.cpp's plain batched greedy loop, as its `batched` example runs it: every
    /// prompt prefilled into a sequence of its own (one unified KV cache), then one decode
    /// call per step with a row for each sequence still going, until each has
    /// `max_tokens` or an end-of-generation token. Returns the tokens generated and where
    /// the time went; the peer batched generation is measured against.
    pub fn raw_decode_batch(
        &mut self,
        prompts: &[String],
        max_tokens: usize,
    ) -> Result<(usize, GenerationTimes), ModelError> {
        let encoded: Vec<Vec<LlamaToken>> = prompts.iter().map(|p| self.model.encode(p)).collect();
        let cells: usize = encoded.iter().map(|t| t.len() + max_tokens).sum();
        if encoded.iter().any(Vec::is_empty)
            || cells > self.context.n_ctx() as usize
            || prompts.len() > self.options.max_sequences as usize
        {
            return Err(ModelError::BadRequest(
                "prompts empty, too many or too long for a raw batched decode".into(),
            ));
        }
        score::clear_sequences(&mut self.context)?;
        let decode_error = |e: llama_cpp_2::DecodeError| ModelError::Decode(e.to_string());
        let add_error =
            |e: llama_cpp_2::llama_batch::BatchAddError| ModelError::Decode(e.to_string());
        let chunk = self.context.n_batch() as usize;
        let vocab = self.model.model.vocab();
        let mut times = GenerationTimes::default();
        // Per sequence: next position, the row holding its logits, tokens generated.
        let mut live: Vec<(i32, usize, i32, usize)> = Vec::new();
        let prefill_start = Instant::now();
        for (seq, tokens) in encoded.iter().enumerate() {
            let row = generate::prefill(&mut self.context, tokens, seq as i32, chunk)?;
            // The first token is chosen now, before the next prefill overwrites the logits.
            let first = LlamaToken(generate::argmax(self.context.get_logits_ith(row)) as i32);
            times.prefill_tokens += tokens.len();
            if !vocab.is_eog(first) && max_tokens > 0 {
                live.push((seq as i32, tokens.len(), first.0, 1));
            }
        }
        times.prefill = prefill_start.elapsed();
        let mut generated = live.len();
        let decode_start = Instant::now();
        let mut batch = llama_cpp_2::llama_batch::LlamaBatch::new(live.len().max(1), 1);
        while !live.is_empty() {
            batch.clear();
            for &(seq, position, token, _) in &live {
                batch
                    .add(LlamaToken(token), position as i32, &[seq], true)
                    .map_err(add_error)?;
            }
            self.context.decode(&mut batch).map_err(decode_error)?;
            times.decode_tokens += live.len();
            times.decode_calls += 1;
            let mut still = Vec::with_capacity(live.len());
            for (row, &(seq, position, _, count)) in live.iter().enumerate() {
                let next =
                    LlamaToken(generate::argmax(self.context.get_logits_ith(row as i32)) as i32);
                if count < max_tokens && !vocab.is_eog(next) {
                    generated += 1;
                    still.push((seq, position + 1, next.0, count + 1));
                }
            }
            live = still;
        }
        times.decode = decode_start.elapsed();
        score::clear_sequences(&mut self.context)?;
        Ok((generated, times))
    }
}

/// How one token of a sequence scored given the tokens before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenScore {
    /// The token's log-probability.
    pub logprob: f64,
    /// The most likely token at its position.
    pub greedy_token: TokenId,
    /// That token's log-probability.
    pub greedy_logprob: f64,
}

impl GgufSession<'_> {
    /// The log-probability of each token of `text` given the tokens before it (the
    /// first token, or the BOS the model adds, has none): what membership tests such as
    /// Min-K% Prob read.
    pub fn token_logprobs(&mut self, text: &str) -> Result<Vec<f64>, ModelError> {
        let tokens = self.model.encode(text);
        Ok(self
            .score_llama_tokens(&tokens)?
            .into_iter()
            .map(|score| score.logprob)
            .collect())
    }

    /// How each token after the first scored given those before it, one sequence
    /// decoded in one pass (the shapes of a one-sequence-at-a-time reference, so the
    /// numbers equal loglikelihood's): what an OpenAI-style `echo` with `logprobs`
    /// returns.
    pub fn score_tokens(&mut self, tokens: &[TokenId]) -> Result<Vec<TokenScore>, ModelError> {
        let tokens: Vec<LlamaToken> = tokens.iter().map(|t| LlamaToken(t.0)).collect();
        self.score_llama_tokens(&tokens)
    }

    fn score_llama_tokens(&mut self, tokens: &[LlamaToken]) -> Result<Vec<TokenScore>, ModelError> {
        let capacity = self.context.n_ctx() as usize;
        if tokens.len() > capacity {
            return Err(ModelError::BadRequest(format!(
                "{} tokens exceed the session's {capacity} KV cells",
                tokens.len()
            )));
        }
        score::clear_sequences(&mut self.context)?;
        let predicted = tokens.len().saturating_sub(1);
        let mut tallies = score::new_tallies(predicted);
        let mut pending = score::Pending::new(
            self.context.n_batch() as usize,
            self.options.max_sequences as usize,
        );
        for (position, &token) in tokens.iter().enumerate() {
            let targets = match tokens.get(position + 1) {
                Some(&next) => vec![(position, next)],
                None => Vec::new(),
            };
            pending.push(&mut self.context, &mut tallies, token, position, 0, targets)?;
        }
        pending.flush(&mut self.context, &mut tallies)?;
        score::clear_sequences(&mut self.context)?;
        Ok(score::token_scores(tallies)
            .into_iter()
            .map(|(logprob, greedy, greedy_logprob)| TokenScore {
                logprob,
                greedy_token: TokenId(greedy as i32),
                greedy_logprob,
            })
            .collect())
    }
}

impl Backend for GgufSession<'_> {
    fn text_tokens(&self, text: &str) -> Option<Vec<TokenId>> {
        let mut tokens = self.model.tokenize(text);
        let info = self.model.tokenizer_info();
        if info.adds_bos && tokens.first() == Some(&info.prefix_token) {
            tokens.remove(0);
        }
        Some(tokens)
    }

    fn token_text(&self, tokens: &[TokenId]) -> Option<String> {
        Some(self.model.detokenize(tokens))
    }

    fn context_window(&self) -> Option<usize> {
        Some(self.model.context_window())
    }
    fn first_token_logprobs(
        &mut self,
        prompts: &[String],
        top: usize,
    ) -> Result<Vec<Vec<(String, f64)>>, ModelError> {
        prompts
            .iter()
            .map(|prompt| self.next_token_logprobs(prompt, top))
            .collect()
    }

    fn generate(
        &mut self,
        requests: &[GenerateRequest],
    ) -> Result<Vec<GenerateResponse>, ModelError> {
        let sequences = self.options.generation_sequences.max(1);
        if self.generation.is_none() {
            let cells = self.options.generation_cells.saturating_mul(sequences);
            self.generation =
                Some(
                    self.model
                        .new_context(&self.options, cells, sequences, false)?,
                );
        }
        let Some(context) = self.generation.as_mut() else {
            return Err(ModelError::Init("no generation context".into()));
        };
        let limits = generate::GenerateLimits {
            cells: self.options.generation_cells as usize,
            batch_tokens: context.n_batch() as usize,
            sequences: sequences as usize,
            parse_special: self.options.parse_special,
        };
        generate::run_generate(
            self.model,
            context,
            requests,
            limits,
            &mut self.generation_times,
        )
    }

    fn name(&self) -> &str {
        &self.model.name
    }

    fn fingerprint(&self) -> &ModelFingerprint {
        &self.model.fingerprint
    }

    fn loglikelihood(
        &mut self,
        requests: &[LoglikelihoodRequest],
    ) -> Result<Vec<LoglikelihoodResponse>, ModelError> {
        let encoded: Vec<_> = requests
            .iter()
            .map(|r| {
                self.model
                    .encode_request_llama(r, self.options.parse_special)
            })
            .collect();
        let limits = score::Limits {
            cells: self.context.n_ctx() as usize,
            batch_tokens: self.context.n_batch() as usize,
            sequences: self.options.max_sequences as usize,
        };
        let jobs = score::plan_jobs(requests, encoded, self.options.mode, limits)?;
        match self.options.mode {
            ScoringMode::Packed => {
                packed::run_packed(&mut self.context, &jobs, limits, requests.len())
            }
            mode => sequential::run_sequential(
                &mut self.context,
                &jobs,
                limits.batch_tokens,
                requests.len(),
                mode == ScoringMode::SharedPrefix,
            ),
        }
    }
}
