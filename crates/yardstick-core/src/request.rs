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
}

impl Request {
    /// Which of the request kinds this is.
    pub fn kind(&self) -> RequestKind {
        match self {
            Request::Loglikelihood(_) => RequestKind::Loglikelihood,
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
}
