//! Model backends: where requests become numbers.
//!
//! [`Backend`] is the one trait every model implements: the request kinds of
//! lm-evaluation-harness plus a fingerprint that goes into every result. The GGUF
//! backend ([`GgufModel`] and its [`GgufSession`]) runs llama.cpp in-process through the
//! `llama-cpp-2` crate, so its kernels, tokenizer and architectures are the reference
//! implementation's own. It scores all choices of a question from one shared context,
//! decoded once, and decodes in the shapes a one-sequence-at-a-time reference uses, so
//! its log-likelihoods equal llama-cpp-python's bit for bit where llama.cpp does not
//! repack the weights ([`ScoringMode`] has the details and a packed mode for GPUs).
//! It generates text incrementally on the KV cache, several sequences per decode call,
//! each in its own KV stream so that batched output equals one-at-a-time output.
//!
//! [`OpenAiBackend`] is a model behind an OpenAI-compatible endpoint: log-likelihoods
//! from `/completions` with `echo` and `logprobs` (after a probe that the echoed logprobs
//! line up with the tokens), generation from `/completions` or `/chat/completions`,
//! requests in parallel, retried with backoff on 429, 5xx, timeouts and broken
//! connections, kept under rate limits; [`PriceTable`] prices the tokens.
//!
//! A model is named on the command line by a [`ModelSpec`] such as `gguf:model.gguf` or
//! `openai:gpt-3.5-turbo`.
//!
//! ```no_run
//! use yardstick_core::LoglikelihoodRequest;
//! use yardstick_models::{Backend, GgufModel, SessionOptions};
//!
//! let model = GgufModel::load("SmolLM2-135M-Instruct.Q4_1.gguf".as_ref())?;
//! let mut session = model.session(SessionOptions::default())?;
//! let scores = session.loglikelihood(&[LoglikelihoodRequest::new("Question: 2+2?\nAnswer:", " 4")])?;
//! println!("{:?}", scores[0].logprob);
//! # Ok::<(), yardstick_models::ModelError>(())
//! ```

mod backend;
mod cache;
mod error;
mod gguf;
mod openai;
mod prices;
mod spec;

pub use backend::{Backend, ToolAnswer};
pub use cache::{cache_dir, cached_model, DEMO_MODEL, GEMMA_MODEL};
pub use error::ModelError;
pub use gguf::{
    encode_pair, GenerationTimes, GgufModel, GgufSession, ScoringMode, SessionOptions, TokenScore,
    TokenizerInfo,
};
pub use openai::{OpenAiBackend, OpenAiConfig, RequestCounts};
pub use prices::{Price, PriceTable};
pub use spec::ModelSpec;
