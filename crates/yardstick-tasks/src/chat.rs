//! Chat templates: prompts laid out as a chat model was trained to read them.
//!
//! A [`ChatTemplate`] renders a conversation with a model's own template (the Jinja
//! text in a GGUF's `tokenizer.chat_template`, or a Hugging Face tokenizer config's
//! `chat_template`) the way Hugging Face's `apply_chat_template` renders it: jinja2
//! with `trim_blocks` and `lstrip_blocks`, loop controls, Python's string methods,
//! `raise_exception`, `strftime_now`, `tojson` as `json.dumps(ensure_ascii=False)`, and
//! the variables `messages`, `add_generation_prompt` and the special tokens
//! (`bos_token`, `eos_token`); `{% generation %}` blocks render their body. One jinja2
//! feature is missing: Python's `%` string formatting (`'%s' % x`), which no template
//! tested here uses, is an error. A [`ChatFormat`] says how a task's prompt becomes a
//! conversation, as lm-eval's `--apply_chat_template` and `--fewshot_as_multiturn` do.

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind};
use serde::Serialize;
use yardstick_core::{python_json_dumps, sha256_hex};

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

/// Why a chat template could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chat template: {0}")]
pub struct ChatTemplateError(pub String);

impl From<Error> for ChatTemplateError {
    fn from(error: Error) -> Self {
        // minijinja's `{:#}` adds the template line the error is on.
        ChatTemplateError(format!("{error:#}"))
    }
}

/// A model's chat template, compiled once.
pub struct ChatTemplate {
    env: Environment<'static>,
    source: String,
    special_tokens: Vec<(String, String)>,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("sha256", &self.sha256())
            .field("special_tokens", &self.special_tokens)
            .finish()
    }
}

const TEMPLATE_NAME: &str = "chat_template";

impl ChatTemplate {
    /// Compiles `source`; `special_tokens` are the variables such as `("bos_token",
    /// "<s>")` the template may use.
    pub fn new(
        source: &str,
        special_tokens: Vec<(String, String)>,
    ) -> Result<Self, ChatTemplateError> {
        let mut env = Environment::new();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()?;
        env.set_syntax(syntax);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        env.add_filter("tojson", tojson);
        env.add_template_owned(TEMPLATE_NAME, without_generation_tags(source))?;
        Ok(Self {
            env,
            source: source.to_owned(),
            special_tokens,
        })
    }

    /// Renders a conversation; with `add_generation_prompt` the text ends where the
    /// assistant's answer begins.
    pub fn render(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, ChatTemplateError> {
        let template = self.env.get_template(TEMPLATE_NAME)?;
        let mut context: std::collections::BTreeMap<String, Value> = self
            .special_tokens
            .iter()
            .map(|(name, token)| (name.clone(), Value::from(token.as_str())))
            .collect();
        context.insert(
            "messages".into(),
            Value::from(minijinja::value::Serde(messages)),
        );
        context.insert(
            "add_generation_prompt".into(),
            Value::from(add_generation_prompt),
        );
        let context = Value::from(context);
        Ok(template.render(context)?)
    }

    /// The template's text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// sha256 of the template's text (lm-eval's `chat_template_sha`).
    pub fn sha256(&self) -> String {
        sha256_hex(self.source.as_bytes())
    }
}

/// Hugging Face's `{% generation %}...{% endgeneration %}` marks the assistant's text for
/// training masks and renders its body unchanged; minijinja has no such tag, so it
/// becomes `{% if true %}...{% endif %}`, keeping any `-` whitespace control.
fn without_generation_tags(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(open) = rest.find("{%") {
        out.push_str(&rest[..open]);
        let tag = &rest[open..];
        let Some(close) = tag.find("%}") else {
            break;
        };
        let inner = &tag[2..close];
        let (lead, body) = match inner.strip_prefix('-') {
            Some(body) => ("-", body),
            None => ("", inner),
        };
        let (body, trail) = match body.strip_suffix('-') {
            Some(body) => (body, "-"),
            None => (body, ""),
        };
        let replacement = match body.trim() {
            "generation" => Some("if true"),
            "endgeneration" => Some("endif"),
            _ => None,
        };
        match replacement {
            Some(word) => out.push_str(&format!("{{%{lead} {word} {trail}%}}")),
            None => out.push_str(&tag[..close + 2]),
        }
        rest = &tag[close + 2..];
    }
    out.push_str(rest);
    out
}

/// `raise_exception(message)`: the template refuses the conversation.
fn raise_exception(message: String) -> Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message))
}

/// `strftime_now(format)`: the local time, formatted as Python's `strftime` would.
fn strftime_now(format: String) -> String {
    chrono::Local::now().format(&format).to_string()
}

/// `tojson(value, indent=None)` as Hugging Face defines it: `json.dumps` with
/// `ensure_ascii=False` (not jinja2's HTML-escaping filter).
fn tojson(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    kwargs.assert_all_used()?;
    let json = serde_json::to_value(&value)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
    Ok(Value::from_safe_string(python_json_dumps(&json, indent)))
}

/// How a task's prompt becomes a conversation (lm-eval's `--apply_chat_template` and
/// `--fewshot_as_multiturn`).
#[derive(Debug)]
pub struct ChatFormat {
    /// The model's template; `None` for a chat API endpoint, which applies its own: the
    /// prompt is then the messages as JSON (`json.dumps` of the list, as lm-eval's API
    /// models make it), sent as messages.
    pub template: Option<ChatTemplate>,
    /// Few-shot examples as alternating user and assistant turns, instead of one user
    /// message holding them all.
    pub fewshot_as_multiturn: bool,
}

impl ChatFormat {
    /// A conversation as the model reads it, ending where the assistant's answer
    /// begins: the template's text, or for a chat endpoint the messages as JSON.
    pub fn render_conversation(
        &self,
        messages: &[ChatMessage],
    ) -> Result<String, ChatTemplateError> {
        match &self.template {
            Some(template) => template.render(messages, true),
            None => {
                let messages =
                    serde_json::to_value(messages).map_err(|e| ChatTemplateError(e.to_string()))?;
                Ok(python_json_dumps(&messages, None))
            }
        }
    }

    /// What identifies the format, for the task's config hash.
    pub fn fingerprint(&self) -> String {
        format!(
            "chat={}|multiturn={}",
            self.template
                .as_ref()
                .map_or_else(|| "messages".to_owned(), ChatTemplate::sha256),
            self.fewshot_as_multiturn
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(role: &str, content: &str) -> ChatMessage {
        ChatMessage {
            role: role.into(),
            content: content.into(),
        }
    }

    const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn renders_chatml_with_generation_prompt() {
        let template = ChatTemplate::new(CHATML, Vec::new()).unwrap();
        let text = template.render(&[message("user", "Hi")], true).unwrap();
        assert_eq!(
            text,
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
        let text = template.render(&[message("user", "Hi")], false).unwrap();
        assert_eq!(text, "<|im_start|>user\nHi<|im_end|>\n");
    }

    #[test]
    fn blocks_are_trimmed_like_hugging_face() {
        // trim_blocks drops the newline after a block tag; lstrip_blocks the indent
        // before one; the template's own final newline is dropped.
        let source = "{{ bos_token }}\n{% for m in messages %}\n  {% if m.role == 'user' %}\nU:{{ m.content | trim }}\n  {% endif %}\n{% endfor %}\n";
        let template = ChatTemplate::new(source, vec![("bos_token".into(), "<s>".into())]).unwrap();
        let text = template.render(&[message("user", " a ")], true).unwrap();
        assert_eq!(text, "<s>\nU:a\n");
    }

    #[test]
    fn python_methods_tojson_and_raise_exception() {
        let source = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('no system role') }}{% endif %}{{ messages[0]['content'].strip().upper() }}|{{ messages | tojson }}";
        let template = ChatTemplate::new(source, Vec::new()).unwrap();
        let text = template.render(&[message("user", " é<b> ")], true).unwrap();
        assert_eq!(text, "É<B>|[{\"role\": \"user\", \"content\": \" é<b> \"}]");
        let error = template
            .render(&[message("system", "x")], true)
            .unwrap_err();
        assert!(error.0.contains("no system role"), "{}", error.0);
    }

    #[test]
    fn generation_tags_render_their_body() {
        let source = "{% for m in messages %}{%- generation -%} [{{ m.content }}] {%- endgeneration %}{% endfor %}";
        assert_eq!(
            without_generation_tags(source),
            "{% for m in messages %}{%- if true -%} [{{ m.content }}] {%- endif %}{% endfor %}"
        );
        let template = ChatTemplate::new(source, Vec::new()).unwrap();
        let text = template
            .render(&[message("assistant", "a")], false)
            .unwrap();
        assert_eq!(text, "[a]");
    }

    #[test]
    fn a_broken_template_is_an_error_not_a_panic() {
        let error = ChatTemplate::new("{% for m in messages %}", Vec::new()).unwrap_err();
        assert!(error.0.contains("chat_template"), "{}", error.0);
    }
}
