//! LLM-as-judge prompts and verdicts as FastChat's MT-Bench `llm_judge` makes and reads
//! them: prompt templates (its `judge_prompts.jsonl`) filled with Python `str.format`
//! semantics, a single-answer rating read from `[[x]]` (else `[x]`), a pairwise verdict
//! from `[[A]]`, `[[B]]` or `[[C]]`. A judgment that does not parse is `None`, never a
//! score.

use serde::Deserialize;
use std::path::Path;

/// One judge prompt of a `judge_prompts.jsonl` file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct JudgePrompt {
    /// Its name (`single-v1`, `single-math-v1-multi-turn`, `pair-v2`, ...).
    pub name: String,
    /// `single` (a 1-10 rating) or `pairwise` (A, B or a tie).
    #[serde(rename = "type")]
    pub kind: String,
    /// The judge's system message.
    pub system_prompt: String,
    /// The user message, with `{field}` placeholders.
    pub prompt_template: String,
    /// What it is for.
    pub description: String,
    /// `general`, or `math` for the reference-guided prompts.
    pub category: String,
    /// `[[rating]]` or `[[A]]`.
    pub output_format: String,
}

/// Why judge prompts could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JudgeError {
    /// The prompts file could not be read or parsed.
    #[error("{path}:{line}: {message}")]
    File {
        /// The file.
        path: String,
        /// The 1-based line (0 when the file could not be read).
        line: usize,
        /// What was wrong.
        message: String,
    },
    /// A template names a field that was not given, or has an unmatched brace.
    #[error("judge prompt {name}: {message}")]
    Template {
        /// The prompt's name.
        name: String,
        /// What was wrong.
        message: String,
    },
}

/// Reads a `judge_prompts.jsonl` file (FastChat's format: one prompt per line).
pub fn load_judge_prompts(path: &Path) -> Result<Vec<JudgePrompt>, JudgeError> {
    let file_error = |line: usize, message: String| JudgeError::File {
        path: path.display().to_string(),
        line,
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(0, e.to_string()))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| serde_json::from_str(line).map_err(|e| file_error(i + 1, e.to_string())))
        .collect()
}

impl JudgePrompt {
    /// The user message with `fields` filled in as Python's `str.format(**fields)` does:
    /// `{name}` becomes the field's text, `{{` and `}}` single braces; a missing field or
    /// a lone brace is an error. Fields the template does not use are ignored.
    pub fn render(&self, fields: &[(&str, &str)]) -> Result<String, JudgeError> {
        let error = |message: String| JudgeError::Template {
            name: self.name.clone(),
            message,
        };
        let mut out = String::with_capacity(self.prompt_template.len());
        let mut chars = self.prompt_template.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    out.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    out.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(error("a '{' is never closed".into())),
                        }
                    }
                    let value = fields
                        .iter()
                        .find(|(field, _)| *field == name)
                        .ok_or_else(|| error(format!("no value for field {{{name}}}")))?;
                    out.push_str(value.1);
                }
                '}' => return Err(error("a single '}' in the template".into())),
                c => out.push(c),
            }
        }
        Ok(out)
    }
}

/// The number in the first match of `[[`digits`]]` (digits, an optional point, more
/// digits), else of `[`digits`]`, as FastChat reads an MT-Bench rating. `None` when
/// neither appears: the judgment failed, and is not a score.
pub fn parse_rating(judgment: &str) -> Option<f64> {
    find_number_in_brackets(judgment, "[[", "]]")
        .or_else(|| find_number_in_brackets(judgment, "[", "]"))
}

/// The first `open` number `close` in `text`, the number being `\d+\.?\d*`.
fn find_number_in_brackets(text: &str, open: &str, close: &str) -> Option<f64> {
    let mut from = 0;
    while let Some(offset) = text[from..].find(open) {
        let start = from + offset + open.len();
        let rest = &text[start..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            let mut end = digits;
            if rest[end..].starts_with('.') {
                end += 1;
                end += rest[end..].bytes().take_while(u8::is_ascii_digit).count();
            }
            if rest[end..].starts_with(close) {
                return rest[..end].parse().ok();
            }
        }
        from = from + offset + 1;
    }
    None
}

/// A pairwise judge's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairVerdict {
    /// Assistant A is better.
    A,
    /// Assistant B is better.
    B,
    /// A tie.
    Tie,
}

/// The verdict of a pairwise judgment as FastChat reads it: `[[A]]` anywhere, else
/// `[[B]]`, else `[[C]]` (a tie); `None` when there is none (a failed judgment).
pub fn parse_pair_verdict(judgment: &str) -> Option<PairVerdict> {
    if judgment.contains("[[A]]") {
        Some(PairVerdict::A)
    } else if judgment.contains("[[B]]") {
        Some(PairVerdict::B)
    } else if judgment.contains("[[C]]") {
        Some(PairVerdict::Tie)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(template: &str) -> JudgePrompt {
        JudgePrompt {
            name: "t".into(),
            kind: "single".into(),
            system_prompt: String::new(),
            prompt_template: template.into(),
            description: String::new(),
            category: "general".into(),
            output_format: "[[rating]]".into(),
        }
    }

    #[test]
    fn renders_like_python_str_format() {
        let p = prompt("Q: {question}\n{{literal}} A: {answer}");
        assert_eq!(
            p.render(&[("question", "{x}"), ("answer", "}}"), ("unused", "u")])
                .unwrap(),
            "Q: {x}\n{literal} A: }}"
        );
        assert!(p
            .render(&[("question", "q")])
            .unwrap_err()
            .to_string()
            .contains("{answer}"));
        assert!(prompt("a } b").render(&[]).is_err());
        assert!(prompt("a { b").render(&[]).is_err());
    }

    #[test]
    fn ratings_come_from_double_then_single_brackets() {
        assert_eq!(parse_rating("Rating: [[8]]"), Some(8.0));
        assert_eq!(parse_rating("[[7.5]] then [[9]]"), Some(7.5));
        assert_eq!(parse_rating("[3] then [[5]]"), Some(5.0));
        assert_eq!(parse_rating("gave it [6]"), Some(6.0));
        assert_eq!(parse_rating("[[ 8 ]]"), None);
        assert_eq!(parse_rating("[[x]] [[8.]]"), Some(8.0));
        assert_eq!(parse_rating("no rating"), None);
        assert_eq!(
            parse_pair_verdict("B [[B]] but [[A]]"),
            Some(PairVerdict::A)
        );
        assert_eq!(parse_pair_verdict("[[C]]"), Some(PairVerdict::Tie));
        assert_eq!(parse_pair_verdict("?"), None);
    }
}
