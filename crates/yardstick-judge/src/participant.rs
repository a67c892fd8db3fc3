//! A model taking part in a judged evaluation: the candidate, a baseline, or the judge.

use yardstick_core::{ApiCall, GenerateRequest, ModelFingerprint, Sampling};
use yardstick_engine::{check_response_count, EngineError};
use yardstick_models::Backend;
use yardstick_tasks::{ChatFormat, ChatMessage};

/// A model and the chat format its conversations are rendered in (its own template, or
/// messages for a chat API).
pub struct Participant<'a> {
    /// The model.
    pub backend: &'a mut dyn Backend,
    /// How conversations become its prompts.
    pub chat: &'a ChatFormat,
    /// How it was named on the command line.
    pub source: String,
}

/// One conversation to continue.
#[derive(Debug, Clone)]
pub struct Turn {
    /// The messages so far, ending with the user's.
    pub messages: Vec<ChatMessage>,
    /// How tokens are chosen.
    pub sampling: Sampling,
    /// Most tokens to generate.
    pub max_tokens: usize,
}

/// What a participant said: the prompt it saw, its answer, and what an API said about
/// the call.
#[derive(Debug, Clone)]
pub struct Said {
    /// The rendered prompt.
    pub prompt: String,
    /// The answer, trimmed.
    pub text: String,
    /// What the endpoint reported (API models).
    pub api: Option<ApiCall>,
}

impl Participant<'_> {
    /// Its display name.
    pub fn name(&self) -> String {
        self.backend.name().to_owned()
    }

    /// Its weights' fingerprint.
    pub fn fingerprint(&self) -> ModelFingerprint {
        self.backend.fingerprint().clone()
    }

    /// What decides its answers besides the prompt: weights and chat format.
    pub fn identity(&self) -> String {
        format!("{}|{}", self.backend.fingerprint(), self.chat.fingerprint())
    }

    /// A user message from `text`.
    pub fn user(text: &str) -> ChatMessage {
        message("user", text)
    }

    /// Continues each conversation in one backend call; answers are trimmed of
    /// surrounding whitespace, as FastChat trims them.
    pub fn say(
        &mut self,
        task: &str,
        doc_ids: &[usize],
        turns: &[Turn],
    ) -> Result<Vec<Said>, EngineError> {
        let mut prompts = Vec::with_capacity(turns.len());
        for (turn, doc_id) in turns.iter().zip(doc_ids) {
            prompts.push(self.chat.render_conversation(&turn.messages).map_err(|e| {
                EngineError::Hook {
                    task: task.to_owned(),
                    doc_id: *doc_id,
                    message: e.to_string(),
                }
            })?);
        }
        let requests: Vec<GenerateRequest> = prompts
            .iter()
            .zip(turns)
            .map(|(prompt, turn)| GenerateRequest {
                prompt: prompt.clone(),
                until: Vec::new(),
                max_gen_toks: turn.max_tokens,
                sampling: turn.sampling,
            })
            .collect();
        let responses = self.backend.generate(&requests)?;
        check_response_count(requests.len(), responses.len())?;
        let mut calls = self.backend.take_api_calls();
        calls.resize(requests.len(), None);
        Ok(prompts
            .into_iter()
            .zip(responses)
            .zip(calls)
            .map(|((prompt, response), api)| Said {
                prompt,
                text: response.text.trim().to_owned(),
                api,
            })
            .collect())
    }
}

/// A chat message.
pub fn message(role: &str, content: &str) -> ChatMessage {
    ChatMessage {
        role: role.to_owned(),
        content: content.to_owned(),
    }
}
