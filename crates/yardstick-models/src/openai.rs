//! Models behind an OpenAI-compatible HTTP endpoint (ChatGPT, vLLM, llama.cpp's server,
//! `yardstick serve`): completions with `echo` and `logprobs` for log-likelihoods,
//! completions for generation; requests in parallel, retried with backoff.

use crate::{Backend, ModelError};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use yardstick_core::{
    cut_at_stop, ApiCall, GenerateRequest, GenerateResponse, LogProb, LoglikelihoodRequest,
    LoglikelihoodResponse, ModelFingerprint, Sampling, StopReason,
};

/// Where the endpoint is and how to talk to it.
#[derive(Clone)]
pub struct OpenAiConfig {
    /// The API root, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// The model id sent with every request.
    pub model: String,
    /// The bearer token, if the endpoint wants one. Never logged or stored.
    pub api_key: Option<String>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// How long one request may take.
    pub timeout: Duration,
    /// Retries after the first attempt (429, 5xx, timeouts, broken connections,
    /// unreadable bodies).
    pub max_retries: u32,
    /// The first backoff; each retry doubles it (plus jitter), up to a minute.
    pub backoff: Duration,
    /// Requests started per minute at most (the provider's rate limit).
    pub requests_per_minute: Option<f64>,
    /// Tokens (prompt + completion, as the endpoint counts them) per minute at most.
    pub tokens_per_minute: Option<f64>,
    /// Appended to the fingerprint, so that stored answers of an earlier run are not
    /// reused (`--no-cache`: every request is sent again, e.g. to measure drift).
    pub fingerprint_tag: Option<String>,
    /// Generate through `/chat/completions`: each prompt is a JSON list of messages (a
    /// task rendered for a chat endpoint), sent as `messages`.
    pub chat: bool,
}

impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("concurrency", &self.concurrency)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("requests_per_minute", &self.requests_per_minute)
            .field("tokens_per_minute", &self.tokens_per_minute)
            .finish()
    }
}

impl OpenAiConfig {
    /// `model` at `base_url` with the defaults: 8 requests at once, 120 s timeout, 6
    /// retries from 1 s.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            model: model.into(),
            api_key: None,
            concurrency: 8,
            timeout: Duration::from_secs(120),
            max_retries: 6,
            backoff: Duration::from_secs(1),
            requests_per_minute: None,
            tokens_per_minute: None,
            fingerprint_tag: None,
            chat: false,
        }
    }
}

/// Requests that needed a retry and requests that failed for good, since the backend
/// was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// Requests sent (first attempts).
    pub sent: u64,
    /// Requests that were retried at least once.
    pub retried: u64,
    /// Requests that still failed after every retry.
    pub failed: u64,
    /// Prompt tokens the endpoint counted.
    pub prompt_tokens: u64,
    /// Completion tokens the endpoint counted.
    pub completion_tokens: u64,
}

/// An OpenAI-compatible endpoint as a [`Backend`].
pub struct OpenAiBackend {
    config: OpenAiConfig,
    agent: ureq::Agent,
    name: String,
    fingerprint: ModelFingerprint,
    sent: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    prompt_tokens: AtomicU64,
    completion_tokens: AtomicU64,
    limiter: Mutex<RateLimiter>,
    last_calls: Vec<ApiCall>,
}

/// Keeps requests under a requests-per-minute and a tokens-per-minute limit: request
/// starts are spaced by 60/rpm seconds, and a request waits while the tokens of the
/// last minute's answers reach the token limit.
struct RateLimiter {
    next_start: Instant,
    recent_tokens: VecDeque<(Instant, u64)>,
}

impl RateLimiter {
    /// How long the caller must wait before sending; reserves its start slot.
    fn wait(&mut self, config: &OpenAiConfig) -> Duration {
        let now = Instant::now();
        let mut start = now.max(self.next_start);
        if let Some(rpm) = config.requests_per_minute.filter(|r| *r > 0.0) {
            self.next_start = start + Duration::from_secs_f64(60.0 / rpm);
        }
        if let Some(tpm) = config.tokens_per_minute.filter(|t| *t > 0.0) {
            let minute = Duration::from_secs(60);
            while self
                .recent_tokens
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) >= minute)
            {
                self.recent_tokens.pop_front();
            }
            let used: u64 = self.recent_tokens.iter().map(|(_, n)| n).sum();
            if used as f64 >= tpm {
                if let Some((oldest, _)) = self.recent_tokens.front() {
                    start = start.max(*oldest + minute);
                }
            }
        }
        start.saturating_duration_since(now)
    }

    fn record(&mut self, tokens: u64) {
        self.recent_tokens.push_back((Instant::now(), tokens));
    }
}

/// What one attempt came to.
enum Attempt {
    Done(Value),
    /// Worth another try, after at least this long (Retry-After), with this message.
    Retry(Option<Duration>, String),
    Fatal(String),
}

impl OpenAiBackend {
    /// A backend for `config`; nothing is sent yet.
    pub fn new(config: OpenAiConfig) -> Self {
        let agent = ureq::AgentBuilder::new().timeout(config.timeout).build();
        let name = config.model.clone();
        let mut fingerprint = format!("api:{}/{}", config.base_url, config.model);
        if let Some(tag) = &config.fingerprint_tag {
            fingerprint.push_str(&format!("#{tag}"));
        }
        let fingerprint = ModelFingerprint::from_raw(fingerprint);
        Self {
            config,
            agent,
            name,
            fingerprint,
            sent: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            prompt_tokens: AtomicU64::new(0),
            completion_tokens: AtomicU64::new(0),
            limiter: Mutex::new(RateLimiter {
                next_start: Instant::now(),
                recent_tokens: VecDeque::new(),
            }),
            last_calls: Vec::new(),
        }
    }

    /// How many requests were sent, retried and failed so far.
    pub fn counts(&self) -> RequestCounts {
        RequestCounts {
            sent: self.sent.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            prompt_tokens: self.prompt_tokens.load(Ordering::Relaxed),
            completion_tokens: self.completion_tokens.load(Ordering::Relaxed),
        }
    }

    /// What a successful response says about itself; counts its tokens.
    fn note_call(&self, response: &Value) -> ApiCall {
        let usage = |name: &str| {
            response
                .pointer(&format!("/usage/{name}"))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        let call = ApiCall {
            model: response
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or(&self.config.model)
                .to_owned(),
            system_fingerprint: response
                .get("system_fingerprint")
                .and_then(Value::as_str)
                .map(str::to_owned),
            prompt_tokens: usage("prompt_tokens"),
            completion_tokens: usage("completion_tokens"),
        };
        self.prompt_tokens
            .fetch_add(call.prompt_tokens, Ordering::Relaxed);
        self.completion_tokens
            .fetch_add(call.completion_tokens, Ordering::Relaxed);
        if let Ok(mut limiter) = self.limiter.lock() {
            limiter.record(call.prompt_tokens + call.completion_tokens);
        }
        call
    }

    fn attempt(&self, path: &str, body: &Value) -> Attempt {
        let mut request = self
            .agent
            .post(&format!("{}{path}", self.config.base_url))
            .set("Content-Type", "application/json");
        if let Some(key) = &self.config.api_key {
            request = request.set("Authorization", &format!("Bearer {key}"));
        }
        match request.send_string(&body.to_string()) {
            Ok(response) => match response.into_string() {
                Ok(text) => match serde_json::from_str::<Value>(&text) {
                    Ok(value) => Attempt::Done(value),
                    Err(e) => Attempt::Retry(None, format!("unreadable response body: {e}")),
                },
                Err(e) => Attempt::Retry(None, format!("response body cut off: {e}")),
            },
            Err(ureq::Error::Status(code, response)) => {
                let retry_after = response
                    .header("Retry-After")
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(|s| Duration::from_secs_f64(s.min(600.0)));
                let detail = response.into_string().unwrap_or_default();
                let detail: String = detail.chars().take(300).collect();
                let message = format!("HTTP {code}: {detail}");
                if code == 429 || code >= 500 {
                    Attempt::Retry(retry_after, message)
                } else {
                    Attempt::Fatal(message)
                }
            }
            Err(ureq::Error::Transport(transport)) => {
                Attempt::Retry(None, format!("{}: {transport}", transport.kind()))
            }
        }
    }

    /// Posts `body` to `path`, retrying what is worth retrying with exponential
    /// backoff and jitter (at least Retry-After when the server sends one).
    fn post(&self, path: &str, body: &Value) -> Result<Value, ModelError> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        let mut attempt = 0u32;
        loop {
            let pause = self
                .limiter
                .lock()
                .map(|mut limiter| limiter.wait(&self.config))
                .unwrap_or_default();
            if !pause.is_zero() {
                std::thread::sleep(pause);
            }
            let (wait, message) = match self.attempt(path, body) {
                Attempt::Done(value) => return Ok(value),
                Attempt::Fatal(message) => {
                    self.failed.fetch_add(1, Ordering::Relaxed);
                    return Err(ModelError::Api(format!("{path}: {message}")));
                }
                Attempt::Retry(wait, message) => (wait, message),
            };
            if attempt >= self.config.max_retries {
                self.failed.fetch_add(1, Ordering::Relaxed);
                return Err(ModelError::Api(format!(
                    "{path}: {message} (gave up after {} attempts)",
                    attempt + 1
                )));
            }
            if attempt == 0 {
                self.retried.fetch_add(1, Ordering::Relaxed);
            }
            let backoff = self.config.backoff.saturating_mul(1 << attempt.min(16));
            let jitter = self.config.backoff.mul_f64(jitter_fraction());
            let delay = (backoff + jitter).min(Duration::from_secs(60));
            std::thread::sleep(match wait {
                Some(retry_after) => retry_after + jitter,
                None => delay,
            });
            attempt += 1;
        }
    }

    /// Runs `work` on every item, `concurrency` at a time, results in input order.
    fn parallel<T: Sync, R: Send>(
        &self,
        items: &[T],
        work: impl Fn(&T) -> Result<R, ModelError> + Sync,
    ) -> Result<Vec<R>, ModelError> {
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Result<R, ModelError>>>> =
            Mutex::new((0..items.len()).map(|_| None).collect());
        let workers = self.config.concurrency.clamp(1, items.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = work(item);
                    if let Ok(mut slots) = results.lock() {
                        slots[i] = Some(result);
                    }
                });
            }
        });
        results
            .into_inner()
            .map_err(|_| ModelError::Api("a request worker panicked".into()))?
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(ModelError::Api("a request was not sent".into()))))
            .collect()
    }

    /// Answers every request with `work`, [`Self::parallel`]ly, and keeps what the
    /// endpoint said about each for [`Backend::take_api_calls`].
    fn answer_all<T: Sync, R: Send>(
        &mut self,
        requests: &[T],
        work: fn(&Self, &T) -> Answered<R>,
    ) -> Result<Vec<R>, ModelError> {
        let (responses, calls) = self
            .parallel(requests, |r| work(self, r))?
            .into_iter()
            .unzip();
        self.last_calls = calls;
        Ok(responses)
    }

    /// Checks that the endpoint's echoed prompt logprobs line up with its tokens: one
    /// entry per token, the first without a logprob, offsets adding up, and on a
    /// counting sequence the most likely token at a position mostly being the token
    /// there (an endpoint that pairs token j with the logits of row j, as
    /// llama-cpp-python 0.3.x does for models that add no BOS, fails that).
    pub fn probe_echo_logprobs(&self) -> Result<(), ModelError> {
        let prompt = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16";
        let refuse = |why: String| {
            ModelError::Api(format!(
                "{} at {} cannot be trusted with log-likelihoods: {why}. Its echoed prompt \
                 logprobs do not line up with its tokens (llama-cpp-python 0.3.x shifts them \
                 by one for models that add no BOS; scripts/parity/README.md has the patch)",
                self.config.model, self.config.base_url
            ))
        };
        let response = self.post("/completions", &self.echo_body(prompt))?;
        let echoed = Echoed::read(&response).map_err(refuse)?;
        let prompt_chars = prompt.chars().count();
        let in_prompt: Vec<usize> = (0..echoed.tokens.len())
            .filter(|&i| echoed.offsets[i] < prompt_chars)
            .collect();
        let text: String = in_prompt
            .iter()
            .map(|&i| echoed.tokens[i].as_str())
            .collect();
        if text != prompt {
            return Err(refuse(format!(
                "the echoed tokens spell {text:?}, not the prompt"
            )));
        }
        let mut offset = 0;
        for &i in &in_prompt {
            if echoed.offsets[i] != offset {
                return Err(refuse(format!(
                    "token {i} is at offset {} but the tokens before it end at {offset}",
                    echoed.offsets[i]
                )));
            }
            offset += echoed.tokens[i].chars().count();
        }
        if echoed.logprobs.first().is_some_and(Option::is_some) {
            return Err(refuse("the first prompt token has a logprob".into()));
        }
        let scored: Vec<usize> = in_prompt.iter().copied().skip(1).collect();
        if scored.iter().any(|&i| echoed.logprobs[i].is_none()) {
            return Err(refuse(
                "a prompt token after the first has no logprob".into(),
            ));
        }
        let agreeing = scored
            .iter()
            .filter(|&&i| echoed.greedy[i].as_deref() == Some(echoed.tokens[i].as_str()))
            .count();
        if agreeing * 2 < scored.len() {
            return Err(refuse(format!(
                "on a counting sequence the most likely token matches the actual one at only \
                 {agreeing} of {} positions",
                scored.len()
            )));
        }
        Ok(())
    }

    fn echo_body(&self, prompt: &str) -> Value {
        json!({
            "model": self.config.model,
            "prompt": prompt,
            "max_tokens": 1,
            "temperature": 0,
            "echo": true,
            "logprobs": 1,
        })
    }

    fn score(&self, request: &LoglikelihoodRequest) -> Answered<LoglikelihoodResponse> {
        let prompt = format!("{}{}", request.context, request.continuation);
        let response = self.post("/completions", &self.echo_body(&prompt))?;
        let call = self.note_call(&response);
        let echoed = Echoed::read(&response).map_err(ModelError::Api)?;
        let (context_chars, prompt_chars) =
            (request.context.chars().count(), prompt.chars().count());
        // The continuation's tokens: from the first token at or after the context's end
        // (lm-eval's rule) up to the prompt's end; the generated token is not scored.
        let mut logprob = 0.0;
        let mut is_greedy = true;
        let mut count = 0;
        for i in 0..echoed.tokens.len() {
            let offset = echoed.offsets[i];
            if offset < context_chars || offset >= prompt_chars {
                continue;
            }
            let value = echoed.logprobs[i]
                .ok_or_else(|| ModelError::Api(format!("no logprob for continuation token {i}")))?;
            logprob += value;
            is_greedy &= echoed.greedy[i].as_deref() == Some(echoed.tokens[i].as_str());
            count += 1;
        }
        if count == 0 {
            return Err(ModelError::Api(format!(
                "the endpoint echoed no token of the continuation {:?}",
                request.continuation
            )));
        }
        Ok((
            LoglikelihoodResponse {
                logprob: LogProb(logprob),
                is_greedy,
                continuation_tokens: count,
            },
            call,
        ))
    }

    /// One token generated at temperature 1 with the `top` most likely first tokens'
    /// log-probabilities, as AlpacaEval's weighted annotator asks for them.
    fn first_tokens(&self, prompt: &str, top: usize) -> Answered<Vec<(String, f64)>> {
        let mut body = json!({
            "model": self.config.model,
            "max_tokens": 1,
            "temperature": 1,
        });
        let path = if self.config.chat {
            body["messages"] = self.messages(prompt)?;
            body["logprobs"] = json!(true);
            body["top_logprobs"] = json!(top);
            "/chat/completions"
        } else {
            body["prompt"] = json!(prompt);
            body["logprobs"] = json!(top);
            "/completions"
        };
        let response = self.post(path, &body)?;
        let call = self.note_call(&response);
        let missing =
            || ModelError::Api("the response has no top_logprobs for its first token".into());
        let tokens: Vec<(String, f64)> = if self.config.chat {
            response
                .pointer("/choices/0/logprobs/content/0/top_logprobs")
                .and_then(Value::as_array)
                .ok_or_else(missing)?
                .iter()
                .filter_map(|t| {
                    Some((
                        t.get("token")?.as_str()?.to_owned(),
                        t.get("logprob")?.as_f64()?,
                    ))
                })
                .collect()
        } else {
            response
                .pointer("/choices/0/logprobs/top_logprobs/0")
                .and_then(Value::as_object)
                .ok_or_else(missing)?
                .iter()
                .filter_map(|(token, lp)| Some((token.clone(), lp.as_f64()?)))
                .collect()
        };
        Ok((tokens, call))
    }

    /// One chat request offered `tools`, answered greedily.
    fn with_tools(
        &self,
        prompt: &str,
        tools: &Value,
        max_tokens: usize,
    ) -> Answered<crate::ToolAnswer> {
        let body = json!({
            "model": self.config.model,
            "messages": self.messages(prompt)?,
            "tools": tools,
            "temperature": 0,
            "max_tokens": max_tokens,
        });
        let response = self.post("/chat/completions", &body)?;
        let call = self.note_call(&response);
        let message = response
            .pointer("/choices/0/message")
            .ok_or_else(|| ModelError::Api("the response has no message".into()))?;
        let calls = message
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let function = c.get("function")?;
                Some((
                    function.get("name")?.as_str()?.to_owned(),
                    function.get("arguments")?.as_str()?.to_owned(),
                ))
            })
            .collect();
        let text = message
            .get("content")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Ok((crate::ToolAnswer { calls, text }, call))
    }

    /// A prompt rendered for a chat endpoint: the messages as JSON.
    fn messages(&self, prompt: &str) -> Result<Value, ModelError> {
        serde_json::from_str(prompt)
            .ok()
            .filter(Value::is_array)
            .ok_or_else(|| {
                ModelError::BadRequest(
                    "a chat endpoint needs prompts rendered as messages (run with --apply-chat-template)"
                        .into(),
                )
            })
    }

    fn complete(&self, request: &GenerateRequest) -> Answered<GenerateResponse> {
        let mut body = json!({
            "model": self.config.model,
            "max_tokens": request.max_gen_toks,
        });
        let path = if self.config.chat {
            body["messages"] = self.messages(&request.prompt)?;
            "/chat/completions"
        } else {
            body["prompt"] = json!(request.prompt);
            "/completions"
        };
        match request.sampling {
            Sampling::Greedy => body["temperature"] = json!(0),
            Sampling::Sample {
                temperature,
                top_p,
                seed,
                ..
            } => {
                body["temperature"] = json!(temperature);
                body["top_p"] = json!(top_p);
                body["seed"] = json!(seed);
            }
        }
        if !request.until.is_empty() {
            body["stop"] = json!(request.until);
        }
        let response = self.post(path, &body)?;
        let call = self.note_call(&response);
        let choice = response
            .pointer("/choices/0")
            .ok_or_else(|| ModelError::Api("the response has no choices".into()))?;
        let text = if self.config.chat {
            choice.pointer("/message/content")
        } else {
            choice.get("text")
        };
        let mut text = text
            .and_then(Value::as_str)
            .ok_or_else(|| ModelError::Api("the response's choice has no text".into()))?
            .to_owned();
        let mut stop = match choice.get("finish_reason").and_then(Value::as_str) {
            Some("length") => StopReason::MaxTokens,
            _ => StopReason::EndOfGeneration,
        };
        // Servers that return the stop string, or stop late, are cut as lm-eval cuts.
        if let Some((at, term)) = cut_at_stop(&text, &request.until) {
            text.truncate(at);
            stop = StopReason::Until(term.to_owned());
        }
        Ok((
            GenerateResponse {
                text,
                tokens: Vec::new(),
                stop,
            },
            call,
        ))
    }
}

/// One request's answer with what the endpoint said about it.
type Answered<R> = Result<(R, ApiCall), ModelError>;

/// A small uniform number in [0, 1) for backoff jitter (no need for a real generator).
fn jitter_fraction() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut x = u64::from(nanos) ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// The `logprobs` object of an echoed completion.
struct Echoed {
    tokens: Vec<String>,
    logprobs: Vec<Option<f64>>,
    /// The most likely token at each position, from `top_logprobs`.
    greedy: Vec<Option<String>>,
    offsets: Vec<usize>,
}

impl Echoed {
    fn read(response: &Value) -> Result<Self, String> {
        let logprobs = response
            .pointer("/choices/0/logprobs")
            .filter(|v| v.is_object())
            .ok_or(
                "the response has no logprobs (does the endpoint support echo with logprobs?)",
            )?;
        let list = |name: &str| {
            logprobs
                .get(name)
                .and_then(Value::as_array)
                .ok_or(format!("the logprobs have no {name} list"))
        };
        let tokens: Vec<String> = list("tokens")?
            .iter()
            .map(|t| {
                t.as_str()
                    .map(str::to_owned)
                    .ok_or("a token is not a string")
            })
            .collect::<Result<_, _>>()?;
        let values: Vec<Option<f64>> = list("token_logprobs")?.iter().map(Value::as_f64).collect();
        let offsets: Vec<usize> = list("text_offset")?
            .iter()
            .map(|o| {
                o.as_u64()
                    .map(|o| o as usize)
                    .ok_or("a text offset is not a number")
            })
            .collect::<Result<_, _>>()?;
        let greedy: Vec<Option<String>> = list("top_logprobs")?
            .iter()
            .map(|top| {
                top.as_object().and_then(|alternatives| {
                    alternatives
                        .iter()
                        .filter_map(|(token, lp)| lp.as_f64().map(|lp| (token, lp)))
                        .max_by(|a, b| a.1.total_cmp(&b.1))
                        .map(|(token, _)| token.clone())
                })
            })
            .collect();
        if values.len() != tokens.len()
            || offsets.len() != tokens.len()
            || greedy.len() != tokens.len()
        {
            return Err(format!(
                "{} tokens but {} logprobs, {} top_logprobs and {} offsets",
                tokens.len(),
                values.len(),
                greedy.len(),
                offsets.len()
            ));
        }
        Ok(Self {
            tokens,
            logprobs: values,
            greedy,
            offsets,
        })
    }
}

impl Backend for OpenAiBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn fingerprint(&self) -> &ModelFingerprint {
        &self.fingerprint
    }

    fn loglikelihood(
        &mut self,
        requests: &[LoglikelihoodRequest],
    ) -> Result<Vec<LoglikelihoodResponse>, ModelError> {
        self.answer_all(requests, Self::score)
    }

    fn generate(
        &mut self,
        requests: &[GenerateRequest],
    ) -> Result<Vec<GenerateResponse>, ModelError> {
        self.answer_all(requests, Self::complete)
    }

    fn call_tools(
        &mut self,
        requests: &[(String, Value)],
        max_tokens: usize,
    ) -> Result<Vec<crate::ToolAnswer>, ModelError> {
        let requests: Vec<(&String, &Value, usize)> =
            requests.iter().map(|(p, t)| (p, t, max_tokens)).collect();
        self.answer_all(&requests, |backend, (prompt, tools, max_tokens)| {
            backend.with_tools(prompt, tools, *max_tokens)
        })
    }

    fn first_token_logprobs(
        &mut self,
        prompts: &[String],
        top: usize,
    ) -> Result<Vec<Vec<(String, f64)>>, ModelError> {
        let requests: Vec<(&String, usize)> = prompts.iter().map(|p| (p, top)).collect();
        self.answer_all(&requests, |backend, (prompt, top)| {
            backend.first_tokens(prompt, *top)
        })
    }

    fn take_api_calls(&mut self) -> Vec<Option<ApiCall>> {
        std::mem::take(&mut self.last_calls)
            .into_iter()
            .map(Some)
            .collect()
    }
}
