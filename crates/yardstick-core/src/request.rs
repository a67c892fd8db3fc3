use serde::{Deserialize, Serialize};

/// A token id in a model's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenId(pub i32);

/// A natural-log probability (nats; always `<= 0` for a proper distribution).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogProb(pub f64);

/// The request kinds of lm-evaluation-harness, so that its tasks map over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// Log-probability of a continuation given a context.
    Loglikelihood,
    /// Log-probability of a whole text, scored in rolling windows.
    LoglikelihoodRolling,
    /// Text generated from a prompt.
    Generate,
}

/// One unit of work for a backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    /// See [`LoglikelihoodRequest`].
    Loglikelihood(LoglikelihoodRequest),
    /// See [`GenerateRequest`].
    Generate(GenerateRequest),
}

impl Request {
    /// Which of the request kinds this is.
    pub fn kind(&self) -> RequestKind {
        match self {
            Request::Loglikelihood(_) => RequestKind::Loglikelihood,
            Request::Generate(_) => RequestKind::Generate,
        }
    }
}

/// `loglikelihood(context, continuation)`: how likely is `continuation` right after
/// `context`? Both are raw text; tokenisation is the backend's job.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LoglikelihoodRequest {
    /// The conditioning text (may be empty).
    pub context: String,
    /// The text whose probability is measured.
    pub continuation: String,
}

impl LoglikelihoodRequest {
    /// A request for `continuation` after `context`.
    pub fn new(context: impl Into<String>, continuation: impl Into<String>) -> Self {
        Self {
            context: context.into(),
            continuation: continuation.into(),
        }
    }
}

/// The answer to a [`LoglikelihoodRequest`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoglikelihoodResponse {
    /// Sum of the continuation tokens' log-probabilities.
    pub logprob: LogProb,
    /// Whether greedy decoding from the context would have produced the continuation.
    pub is_greedy: bool,
    /// How many continuation tokens were scored.
    pub continuation_tokens: usize,
}

/// `generate_until(context, {until, max_gen_toks, ...})`: text generated after `prompt`
/// until a stop string, an end-of-generation token or the token budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateRequest {
    /// The text generation continues.
    pub prompt: String,
    /// Stop strings, matched on the generated text across token boundaries; the text is
    /// cut before the earliest one.
    pub until: Vec<String>,
    /// Most tokens to generate.
    pub max_gen_toks: usize,
    /// How the next token is chosen.
    pub sampling: Sampling,
}

/// How a generated token is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "strategy", rename_all = "snake_case")]
pub enum Sampling {
    /// The most likely token (the first one on ties).
    #[default]
    Greedy,
    /// Sampled: top-k, then top-p, then temperature; the same seed gives the same text.
    Sample {
        /// Softmax temperature (> 0).
        temperature: f32,
        /// Nucleus mass kept (1.0 keeps all).
        top_p: f32,
        /// Candidates kept (0 keeps all).
        top_k: u32,
        /// Random seed.
        seed: u32,
    },
}

/// Why generation stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", content = "detail", rename_all = "snake_case")]
pub enum StopReason {
    /// A stop string appeared (the text is cut before it).
    Until(String),
    /// The model produced an end-of-generation token.
    EndOfGeneration,
    /// `max_gen_toks` tokens were generated.
    MaxTokens,
    /// The context window filled up.
    ContextFull,
}

/// What an API endpoint said about one of its answers: the model that answered, its
/// system fingerprint (the provider's backend configuration; a change can change
/// answers), and the tokens it counted and bills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ApiCall {
    /// The `model` the response names.
    pub model: String,
    /// The response's `system_fingerprint`, when the endpoint sends one.
    pub system_fingerprint: Option<String>,
    /// `usage.prompt_tokens`.
    pub prompt_tokens: u64,
    /// `usage.completion_tokens`.
    pub completion_tokens: u64,
}

/// The answer to a [`GenerateRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateResponse {
    /// The generated text, cut before the first stop string.
    pub text: String,
    /// Every generated token id (including the tokens of a stop string, not an
    /// end-of-generation token).
    pub tokens: Vec<TokenId>,
    /// Why it stopped.
    pub stop: StopReason,
}

/// Cuts `text` before the earliest occurrence of any stop string, as lm-eval's
/// `text.split(term)[0]` over each term does; returns the term that matched first.
pub fn cut_at_stop<'a>(text: &str, until: &'a [String]) -> Option<(usize, &'a str)> {
    until
        .iter()
        .filter(|term| !term.is_empty())
        .filter_map(|term| text.find(term.as_str()).map(|at| (at, term.as_str())))
        .min_by_key(|(at, _)| *at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_serializes_with_its_kind() {
        let request = Request::Loglikelihood(LoglikelihoodRequest::new("a", " b"));
        let json = serde_json::to_string(&request).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"loglikelihood","context":"a","continuation":" b"}"#
        );
        let back: Request = serde_json::from_str(&json).unwrap();
        assert_eq!(back, request);
    }

    #[test]
    fn earliest_stop_string_wins() {
        let until = vec!["\n\n".to_owned(), "Question:".to_owned()];
        assert_eq!(
            cut_at_stop("42\nQuestion: x\n\n", &until),
            Some((3, "Question:"))
        );
        assert_eq!(cut_at_stop("no stop", &until), None);
    }
}
