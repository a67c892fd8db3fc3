use crate::ModelError;
use yardstick_core::{
    ApiCall, GenerateRequest, GenerateResponse, LoglikelihoodRequest, LoglikelihoodResponse,
    ModelFingerprint,
};

/// An answer to a request offered tools: the calls it made and its text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ToolAnswer {
    /// `(function name, arguments as JSON text)` per call, in order.
    pub calls: Vec<(String, String)>,
    /// The message text (often empty when calls were made).
    pub text: String,
}

/// A model that answers yardstick's requests.
///
/// Implementations answer in the order asked. Caching, retries and scheduling wrap a
/// backend in the engine; a backend only computes.
pub trait Backend {
    /// A short human-readable name for reports (for a GGUF file, its file name).
    fn name(&self) -> &str;

    /// What identifies the weights: goes into every stored result.
    fn fingerprint(&self) -> &ModelFingerprint;

    /// Scores each request's continuation given its context.
    fn loglikelihood(
        &mut self,
        requests: &[LoglikelihoodRequest],
    ) -> Result<Vec<LoglikelihoodResponse>, ModelError>;

    /// Generates text after each request's prompt until a stop string, an
    /// end-of-generation token or the token budget.
    fn generate(
        &mut self,
        requests: &[GenerateRequest],
    ) -> Result<Vec<GenerateResponse>, ModelError>;

    /// The `top` most likely first tokens of the answer to each prompt with their
    /// log-probabilities, most likely first: what an OpenAI endpoint returns as the first
    /// generated token's `top_logprobs` (AlpacaEval's weighted annotator reads them).
    fn first_token_logprobs(
        &mut self,
        prompts: &[String],
        top: usize,
    ) -> Result<Vec<Vec<(String, f64)>>, ModelError> {
        let _ = (prompts, top);
        Err(ModelError::BadRequest(format!(
            "{} cannot list the log-probabilities of its next token",
            self.name()
        )))
    }

    /// Chat requests offered tools (OpenAI's function-calling `tools` field), one list
    /// per prompt (prompts are messages as JSON): the calls each answer made and its
    /// text. Only chat API endpoints can.
    fn call_tools(
        &mut self,
        requests: &[(String, serde_json::Value)],
        max_tokens: usize,
    ) -> Result<Vec<ToolAnswer>, ModelError> {
        let _ = (requests, max_tokens);
        Err(ModelError::BadRequest(format!(
            "{} has no function-calling interface; prompt it to write calls instead",
            self.name()
        )))
    }

    /// `text` as the model's tokens, with no BOS: what long-context tasks measure
    /// lengths in. `None` when the backend has no local tokenizer (an API).
    fn text_tokens(&self, text: &str) -> Option<Vec<yardstick_core::TokenId>> {
        let _ = text;
        None
    }

    /// Tokens back to text (a local tokenizer only).
    fn token_text(&self, tokens: &[yardstick_core::TokenId]) -> Option<String> {
        let _ = tokens;
        None
    }

    /// The context window the model was trained with, when known.
    fn context_window(&self) -> Option<usize> {
        None
    }

    /// What the endpoint reported for each request of the last successful call, in
    /// request order (model id, system fingerprint, token usage), then forgotten. Empty
    /// for backends that are not remote APIs.
    fn take_api_calls(&mut self) -> Vec<Option<ApiCall>> {
        Vec::new()
    }
}
