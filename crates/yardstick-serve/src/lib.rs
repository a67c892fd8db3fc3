//! `yardstick serve`: an OpenAI-compatible HTTP server over an in-process GGUF model.
//!
//! Endpoints: `GET /v1/models`, `POST /v1/completions` (a text or token-id prompt;
//! `echo` and `logprobs` give every prompt token's log-probability, as lm-eval's
//! `gguf` and `local-completions` models read them) and `POST /v1/chat/completions`
//! (messages rendered with the model's own chat template). Requests are answered one at
//! a time on one llama.cpp session; prompt scoring decodes one sequence in one pass, so
//! the log-probabilities equal the in-process backend's. Bound to loopback unless asked
//! otherwise.

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};
use yardstick_core::{GenerateRequest, Sampling, StopReason, TokenId};
use yardstick_models::{Backend, GgufModel, GgufSession, ModelError};
use yardstick_tasks::{ChatMessage, ChatTemplate};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {address}: {message}; choose another --port or --host")]
    Bind {
        /// The address asked for.
        address: String,
        /// Why.
        message: String,
    },
}

/// An error answered to the client: HTTP status and message.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// What was wrong.
    pub message: String,
}

impl ApiError {
    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            message: message.into(),
        }
    }

    fn body(&self) -> Value {
        json!({"error": {"message": self.message, "type": if self.status < 500 { "invalid_request_error" } else { "server_error" }}})
    }
}

impl From<ModelError> for ApiError {
    fn from(error: ModelError) -> Self {
        match error {
            ModelError::BadRequest(message) => Self::bad_request(message),
            other => Self {
                status: 500,
                message: other.to_string(),
            },
        }
    }
}

/// The model behind the endpoints.
pub struct ServedModel<'m> {
    model: &'m GgufModel,
    session: GgufSession<'m>,
    template: Option<ChatTemplate>,
    name: String,
}

impl<'m> ServedModel<'m> {
    /// Serves `session` (on `model`) under `name`; chat completions use the GGUF's chat
    /// template, and are refused when it has none.
    pub fn new(model: &'m GgufModel, session: GgufSession<'m>, name: impl Into<String>) -> Self {
        let template = model
            .chat_template()
            .and_then(|source| ChatTemplate::new(&source, model.special_tokens()).ok());
        Self {
            model,
            session,
            template,
            name: name.into(),
        }
    }

    /// Answers one request: `method` and `path` as sent, `body` the raw request body.
    pub fn handle(&mut self, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
        let path = path.split('?').next().unwrap_or(path);
        let result = match (method, path) {
            ("GET", "/v1/models") => Ok(self.models()),
            ("POST", "/v1/completions") => parse(body).and_then(|b| self.completions(&b)),
            ("POST", "/v1/chat/completions") => parse(body).and_then(|b| self.chat(&b)),
            _ => Err(ApiError {
                status: 404,
                message: format!("no endpoint {method} {path}"),
            }),
        };
        match result {
            Ok(value) => (200, value),
            Err(error) => (error.status, error.body()),
        }
    }

    fn models(&self) -> Value {
        json!({"object": "list", "data": [{
            "id": self.name, "object": "model", "created": 0, "owned_by": "yardstick",
        }]})
    }

    fn envelope(
        &self,
        object: &str,
        choices: Vec<Value>,
        prompt_tokens: usize,
        completion_tokens: usize,
    ) -> Value {
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        json!({
            "id": format!("{}-{created}", if object == "text_completion" { "cmpl" } else { "chatcmpl" }),
            "object": object,
            "created": created,
            "model": self.name,
            "system_fingerprint": self.model.fingerprint().as_str(),
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        })
    }

    fn completions(&mut self, body: &Value) -> Result<Value, ApiError> {
        let prompts = prompts(body.get("prompt"))?;
        let settings = Settings::read(body)?;
        let echo = body.get("echo").and_then(Value::as_bool).unwrap_or(false);
        let logprobs =
            match body.get("logprobs") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_u64().ok_or_else(|| {
                    ApiError::bad_request("logprobs must be a non-negative integer")
                })?),
            };
        self.session.set_parse_special(false);
        let mut choices = Vec::new();
        let (mut prompt_total, mut completion_total) = (0, 0);
        for (index, prompt) in prompts.into_iter().enumerate() {
            let (text, tokens) = match prompt {
                Prompt::Text(text) => {
                    let tokens = self.model.tokenize(&text);
                    (text, tokens)
                }
                Prompt::Tokens(tokens) => (self.text_of(&tokens), tokens),
            };
            let generated = self.generate(&text, &settings)?;
            prompt_total += tokens.len();
            completion_total += generated.tokens.len();
            let logprobs = match logprobs {
                Some(_) => Some(self.logprobs(&text, &tokens, &generated.tokens, echo)?),
                None => None,
            };
            choices.push(json!({
                "index": index,
                "text": if echo { format!("{text}{}", generated.text) } else { generated.text.clone() },
                "logprobs": logprobs,
                "finish_reason": finish_reason(&generated.stop),
            }));
        }
        Ok(self.envelope("text_completion", choices, prompt_total, completion_total))
    }

    fn chat(&mut self, body: &Value) -> Result<Value, ApiError> {
        let Some(template) = &self.template else {
            return Err(ApiError::bad_request(format!(
                "{} has no chat template in its GGUF metadata; use /v1/completions",
                self.name
            )));
        };
        let messages: Vec<ChatMessage> = body
            .get("messages")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::bad_request("messages must be a list"))?
            .iter()
            .map(|m| {
                let field = |name: &str| {
                    m.get(name)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| {
                            ApiError::bad_request(format!("each message needs a string {name}"))
                        })
                };
                Ok(ChatMessage {
                    role: field("role")?,
                    content: field("content")?,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        let prompt = template
            .render(&messages, true)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let settings = Settings::read(body)?;
        let top = match (body.get("logprobs"), body.get("top_logprobs")) {
            (Some(Value::Bool(true)), top) => Some(match top {
                None | Some(Value::Null) => 0,
                Some(value) => value
                    .as_u64()
                    .filter(|k| *k <= 20)
                    .ok_or_else(|| ApiError::bad_request("top_logprobs must be 0 to 20"))?
                    as usize,
            }),
            (None | Some(Value::Null) | Some(Value::Bool(false)), _) => None,
            _ => return Err(ApiError::bad_request("logprobs must be true or false")),
        };
        self.session.set_parse_special(true);
        let generated = self.generate(&prompt, &settings).and_then(|generated| {
            let logprobs = match top {
                Some(top) => Some(self.first_token_logprobs(&prompt, &generated, top)?),
                None => None,
            };
            Ok((generated, logprobs))
        });
        self.session.set_parse_special(false);
        let (generated, logprobs) = generated?;
        let prompt_tokens = self.model.tokenize_special(&prompt, true).len();
        let choice = json!({
            "index": 0,
            "message": {"role": "assistant", "content": generated.text},
            "logprobs": logprobs,
            "finish_reason": finish_reason(&generated.stop),
        });
        Ok(self.envelope(
            "chat.completion",
            vec![choice],
            prompt_tokens,
            generated.tokens.len(),
        ))
    }

    /// Chat `logprobs` for the first generated token only (what a one-token request, such
    /// as AlpacaEval's weighted annotator, reads): its log-probability and the `top` most
    /// likely tokens in its place.
    fn first_token_logprobs(
        &mut self,
        prompt: &str,
        generated: &yardstick_core::GenerateResponse,
        top: usize,
    ) -> Result<Value, ApiError> {
        let Some(&first) = generated.tokens.first() else {
            return Ok(json!({"content": []}));
        };
        let mut tokens = self.model.tokenize_special(prompt, true);
        tokens.push(first);
        let logprob = self
            .session
            .score_tokens(&tokens)?
            .last()
            .map(|score| score.logprob);
        let listed: Vec<Value> = self
            .session
            .next_token_logprobs(prompt, top)?
            .into_iter()
            .map(|(token, logprob)| json!({"token": token, "logprob": logprob}))
            .collect();
        let text = String::from_utf8_lossy(&self.model.token_bytes(first)).into_owned();
        Ok(json!({"content": [{"token": text, "logprob": logprob, "top_logprobs": listed}]}))
    }

    fn generate(
        &mut self,
        prompt: &str,
        settings: &Settings,
    ) -> Result<yardstick_core::GenerateResponse, ApiError> {
        if settings.max_tokens == 0 {
            return Ok(yardstick_core::GenerateResponse {
                text: String::new(),
                tokens: Vec::new(),
                stop: StopReason::MaxTokens,
            });
        }
        let request = GenerateRequest {
            prompt: prompt.to_owned(),
            until: settings.stop.clone(),
            max_gen_toks: settings.max_tokens,
            sampling: settings.sampling,
        };
        let mut responses = self.session.generate(std::slice::from_ref(&request))?;
        responses
            .pop()
            .ok_or_else(|| ApiError::from(ModelError::Decode("no response generated".into())))
    }

    /// 1 when `tokens` start with the BOS the model adds (it is not the prompt's text),
    /// else 0.
    fn leading_bos(&self, tokens: &[TokenId]) -> usize {
        let info = self.model.tokenizer_info();
        usize::from(info.adds_bos && tokens.first() == Some(&info.prefix_token))
    }

    /// Prompt text for token ids (a leading BOS the model adds is not text).
    fn text_of(&self, tokens: &[TokenId]) -> String {
        self.model.detokenize(&tokens[self.leading_bos(tokens)..])
    }

    /// OpenAI's `logprobs` object over the echoed prompt (when `echo`) and the
    /// generated tokens: each token's text, log-probability (none for the first token
    /// of the sequence), the most likely token there, and its character offset in
    /// prompt + completion.
    fn logprobs(
        &mut self,
        prompt: &str,
        prompt_tokens: &[TokenId],
        generated: &[TokenId],
        echo: bool,
    ) -> Result<Value, ApiError> {
        let mut sequence = prompt_tokens.to_vec();
        sequence.extend_from_slice(generated);
        let scores = self.session.score_tokens(&sequence)?;
        // A BOS the model put in front is not part of the prompt's text.
        let skip = self.leading_bos(prompt_tokens);
        let piece =
            |token: TokenId| String::from_utf8_lossy(&self.model.token_bytes(token)).into_owned();
        let (mut tokens, mut token_logprobs, mut top_logprobs, mut text_offset) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut offset = 0usize;
        let first_shown = if echo { skip } else { prompt_tokens.len() };
        if !echo {
            offset = prompt.chars().count();
        }
        for (position, &token) in sequence.iter().enumerate().skip(first_shown) {
            let text = if self.model.is_end_of_generation(token) && position >= prompt_tokens.len()
            {
                String::new()
            } else {
                piece(token)
            };
            tokens.push(Value::from(text.clone()));
            text_offset.push(Value::from(offset));
            offset += text.chars().count();
            match position.checked_sub(1).and_then(|i| scores.get(i)) {
                Some(score) => {
                    token_logprobs.push(json!(score.logprob));
                    let mut top = serde_json::Map::new();
                    top.insert(piece(score.greedy_token), json!(score.greedy_logprob));
                    top_logprobs.push(Value::Object(top));
                }
                None => {
                    token_logprobs.push(Value::Null);
                    top_logprobs.push(Value::Null);
                }
            }
        }
        Ok(json!({
            "tokens": tokens,
            "token_logprobs": token_logprobs,
            "top_logprobs": top_logprobs,
            "text_offset": text_offset,
        }))
    }
}

fn finish_reason(stop: &StopReason) -> &'static str {
    match stop {
        StopReason::Until(_) | StopReason::EndOfGeneration => "stop",
        StopReason::MaxTokens | StopReason::ContextFull => "length",
    }
}

fn parse(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))
}

enum Prompt {
    Text(String),
    Tokens(Vec<TokenId>),
}

/// `prompt` as OpenAI accepts it: a string, a list of strings, a list of token ids, or
/// a list of such lists.
fn prompts(value: Option<&Value>) -> Result<Vec<Prompt>, ApiError> {
    let token_list = |items: &[Value]| -> Option<Vec<TokenId>> {
        items
            .iter()
            .map(|v| v.as_i64().and_then(|t| i32::try_from(t).ok()).map(TokenId))
            .collect()
    };
    match value {
        Some(Value::String(text)) => Ok(vec![Prompt::Text(text.clone())]),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Ok(items
            .iter()
            .filter_map(|v| v.as_str().map(|s| Prompt::Text(s.to_owned())))
            .collect()),
        Some(Value::Array(items)) if items.iter().all(Value::is_number) && !items.is_empty() => {
            token_list(items)
                .map(|t| vec![Prompt::Tokens(t)])
                .ok_or_else(|| ApiError::bad_request("token ids must be integers"))
        }
        Some(Value::Array(items)) if items.iter().all(Value::is_array) => items
            .iter()
            .map(|v| {
                v.as_array()
                    .and_then(|a| token_list(a))
                    .map(Prompt::Tokens)
                    .ok_or_else(|| ApiError::bad_request("token ids must be integers"))
            })
            .collect(),
        _ => Err(ApiError::bad_request(
            "prompt must be a string, a list of strings or a list of token ids",
        )),
    }
}

/// Generation settings common to both endpoints.
struct Settings {
    max_tokens: usize,
    stop: Vec<String>,
    sampling: Sampling,
}

impl Settings {
    fn read(body: &Value) -> Result<Self, ApiError> {
        let number = |name: &str| body.get(name).filter(|v| !v.is_null());
        let max_tokens = match number("max_tokens").or(number("max_completion_tokens")) {
            Some(v) => v
                .as_u64()
                .ok_or_else(|| ApiError::bad_request("max_tokens must be a non-negative integer"))?
                as usize,
            None => 16,
        };
        let stop = match body.get("stop") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    ApiError::bad_request("stop must be a string or a list of strings")
                })?,
            Some(_) => {
                return Err(ApiError::bad_request(
                    "stop must be a string or a list of strings",
                ))
            }
        };
        let float = |name: &str, default: f64| -> Result<f64, ApiError> {
            match number(name) {
                Some(v) => v
                    .as_f64()
                    .ok_or_else(|| ApiError::bad_request(format!("{name} must be a number"))),
                None => Ok(default),
            }
        };
        let temperature = float("temperature", 1.0)?;
        let top_p = float("top_p", 1.0)?;
        let seed = number("seed").and_then(Value::as_u64).unwrap_or(0) as u32;
        let sampling = if temperature <= 0.0 {
            Sampling::Greedy
        } else {
            Sampling::Sample {
                temperature: temperature as f32,
                top_p: top_p as f32,
                top_k: 0,
                seed,
            }
        };
        Ok(Self {
            max_tokens,
            stop,
            sampling,
        })
    }
}

/// A 200 response carrying `body` as JSON.
fn json_response(body: String) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let response = tiny_http::Response::from_string(body);
    match tiny_http::Header::from_bytes("Content-Type", "application/json") {
        Ok(header) => response.with_header(header),
        Err(()) => response,
    }
}

/// The HTTP server.
pub struct OpenAiServer {
    server: tiny_http::Server,
}

impl OpenAiServer {
    /// Binds to `address` (`127.0.0.1:8080`; port 0 picks a free one).
    pub fn bind(address: &str) -> Result<Self, ServeError> {
        let server = tiny_http::Server::http(address).map_err(|e| ServeError::Bind {
            address: address.to_owned(),
            message: e.to_string(),
        })?;
        Ok(Self { server })
    }

    /// The address it listens on.
    pub fn address(&self) -> Option<SocketAddr> {
        self.server.server_addr().to_ip()
    }

    /// Answers requests with `model`, one at a time, until the process ends.
    pub fn serve(&self, model: &mut ServedModel<'_>) {
        for mut request in self.server.incoming_requests() {
            let mut body = Vec::new();
            let (status, value) = match request.as_reader().read_to_end(&mut body) {
                Ok(_) => model.handle(request.method().as_str(), request.url(), &body),
                Err(e) => (
                    400,
                    ApiError::bad_request(format!("unreadable body: {e}")).body(),
                ),
            };
            let response = json_response(value.to_string()).with_status_code(status);
            // A client that went away is no reason to stop serving others.
            let _ = request.respond(response);
        }
    }
}

/// A stand-in endpoint that answers every completion at once with the same text, for
/// measuring what a harness itself costs per request (`yardstick bench api`). It notes
/// when each request arrived, so both harnesses are timed the same way: requests over
/// the span from the first to the last arrival.
pub struct CannedEndpoint {
    server: std::sync::Arc<tiny_http::Server>,
    arrivals: std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
}

impl CannedEndpoint {
    /// Listens on a free loopback port with `threads` responder threads, answering
    /// `/v1/completions` with `text` and `/v1/models` with one model.
    pub fn start(text: &str, threads: usize) -> Result<Self, ServeError> {
        let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").map_err(|e| {
            ServeError::Bind {
                address: "127.0.0.1:0".into(),
                message: e.to_string(),
            }
        })?);
        let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let completion = json!({
            "id": "cmpl-canned", "object": "text_completion", "created": 0, "model": "canned",
            "choices": [{"index": 0, "text": text, "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        })
        .to_string();
        let models =
            json!({"object": "list", "data": [{"id": "canned", "object": "model"}]}).to_string();
        for _ in 0..threads.max(1) {
            let (server, arrivals) = (server.clone(), arrivals.clone());
            let (completion, models) = (completion.clone(), models.clone());
            std::thread::spawn(move || {
                while let Ok(mut request) = server.recv() {
                    if let Ok(mut log) = arrivals.lock() {
                        log.push(std::time::Instant::now());
                    }
                    let mut sink = Vec::new();
                    let _ = request.as_reader().read_to_end(&mut sink);
                    let body = if request.url().ends_with("/models") {
                        &models
                    } else {
                        &completion
                    };
                    let _ = request.respond(json_response(body.clone()));
                }
            });
        }
        Ok(Self { server, arrivals })
    }

    /// The API root (`http://127.0.0.1:PORT/v1`).
    pub fn base_url(&self) -> String {
        let address = self
            .server
            .server_addr()
            .to_ip()
            .map_or_else(|| "127.0.0.1:0".to_owned(), |a| a.to_string());
        format!("http://{address}/v1")
    }

    /// Forgets the arrivals noted so far (before the next measurement).
    pub fn reset(&self) {
        if let Ok(mut log) = self.arrivals.lock() {
            log.clear();
        }
    }

    /// Requests that arrived since the last reset, and requests per second over the
    /// span from the first arrival to the last.
    pub fn rate(&self) -> (usize, f64) {
        let log = self.arrivals.lock().map(|l| l.clone()).unwrap_or_default();
        let (Some(first), Some(last)) = (log.iter().min(), log.iter().max()) else {
            return (0, 0.0);
        };
        let span = last.duration_since(*first).as_secs_f64();
        let rate = if span > 0.0 {
            (log.len() - 1) as f64 / span
        } else {
            0.0
        };
        (log.len(), rate)
    }
}

impl Drop for CannedEndpoint {
    fn drop(&mut self) {
        self.server.unblock();
    }
}
