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

/// AlpacaEval's `ranking_parser`: the completion read as a Python literal (as
/// `ast.literal_eval` reads it), a list of `{'model': ..., 'rank': ...}` entries; the
/// rank of `model_1` when it is 1 or 2 (1: the first output is preferred), else `None`
/// (the annotation failed).
pub fn parse_ranking(completion: &str) -> Option<u8> {
    let value = PyLiteral::parse(completion.trim_start_matches([' ', '\t']))?;
    let PyLiteral::List(entries) = value else {
        return None;
    };
    let entry = entries
        .iter()
        .find(|e| e.get("model") == Some(&PyLiteral::Str("model_1".into())))?;
    match entry.get("rank")? {
        PyLiteral::Int(1) | PyLiteral::Bool(true) => Some(1),
        PyLiteral::Int(2) => Some(2),
        PyLiteral::Float(x) if *x == 1.0 => Some(1),
        PyLiteral::Float(x) if *x == 2.0 => Some(2),
        _ => None,
    }
}

/// The Python literals `ast.literal_eval` accepts that a ranking can hold.
#[derive(Debug, Clone, PartialEq)]
enum PyLiteral {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
    /// A list or a tuple.
    List(Vec<PyLiteral>),
    Dict(Vec<(PyLiteral, PyLiteral)>),
}

impl PyLiteral {
    /// The whole text as one literal (surrounding whitespace allowed), else `None`.
    fn parse(text: &str) -> Option<Self> {
        let mut parser = LiteralParser {
            chars: text.chars().collect(),
            at: 0,
        };
        let value = parser.value()?;
        parser.skip_space();
        (parser.at == parser.chars.len()).then_some(value)
    }

    fn get(&self, key: &str) -> Option<&PyLiteral> {
        let PyLiteral::Dict(pairs) = self else {
            return None;
        };
        // A repeated key keeps its last value, as in a Python dict.
        pairs
            .iter()
            .rev()
            .find(|(k, _)| *k == PyLiteral::Str(key.into()))
            .map(|(_, v)| v)
    }
}

struct LiteralParser {
    chars: Vec<char>,
    at: usize,
}

impl LiteralParser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn value(&mut self) -> Option<PyLiteral> {
        self.skip_space();
        match self.peek()? {
            '[' => self.sequence(']').map(PyLiteral::List),
            '(' => self.sequence(')').map(PyLiteral::List),
            '{' => self.dict(),
            '\'' | '"' => self.string().map(PyLiteral::Str),
            c if c == '-' || c == '+' || c.is_ascii_digit() || c == '.' => self.number(),
            _ => {
                let word: String = self.chars[self.at..]
                    .iter()
                    .take_while(|c| c.is_alphanumeric() || **c == '_')
                    .collect();
                self.at += word.chars().count();
                match word.as_str() {
                    "True" => Some(PyLiteral::Bool(true)),
                    "False" => Some(PyLiteral::Bool(false)),
                    "None" => Some(PyLiteral::None),
                    _ => None,
                }
            }
        }
    }

    /// Items up to `close`, comma-separated, a trailing comma allowed.
    fn sequence(&mut self, close: char) -> Option<Vec<PyLiteral>> {
        self.at += 1;
        let mut items = Vec::new();
        loop {
            self.skip_space();
            if self.peek()? == close {
                self.at += 1;
                return Some(items);
            }
            items.push(self.value()?);
            self.skip_space();
            match self.peek()? {
                ',' => self.at += 1,
                c if c == close => {}
                _ => return None,
            }
        }
    }

    fn dict(&mut self) -> Option<PyLiteral> {
        self.at += 1;
        let mut pairs = Vec::new();
        loop {
            self.skip_space();
            if self.peek()? == '}' {
                self.at += 1;
                return Some(PyLiteral::Dict(pairs));
            }
            let key = self.value()?;
            self.skip_space();
            if self.peek()? != ':' {
                return None;
            }
            self.at += 1;
            let value = self.value()?;
            pairs.push((key, value));
            self.skip_space();
            match self.peek()? {
                ',' => self.at += 1,
                '}' => {}
                _ => return None,
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        let quote = self.peek()?;
        self.at += 1;
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            self.at += 1;
            match c {
                c if c == quote => return Some(out),
                '\n' => return None,
                '\\' => {
                    let escaped = self.peek()?;
                    self.at += 1;
                    match escaped {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        '0' => out.push('\0'),
                        '\\' | '\'' | '"' => out.push(escaped),
                        // Python keeps an unknown escape as written.
                        other => {
                            out.push('\\');
                            out.push(other);
                        }
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn number(&mut self) -> Option<PyLiteral> {
        let start = self.at;
        if matches!(self.peek(), Some('-' | '+')) {
            self.at += 1;
        }
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '_'))
        {
            self.at += 1;
        }
        let text: String = self.chars[start..self.at]
            .iter()
            .filter(|c| **c != '_')
            .collect();
        if text.contains(['.', 'e', 'E']) {
            text.parse().ok().map(PyLiteral::Float)
        } else {
            text.parse().ok().map(PyLiteral::Int)
        }
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

    #[test]
    fn rankings_are_read_as_python_literals() {
        let first = "[{'model': 'model_1', 'rank': 1}, {'model': 'model_2', 'rank': 2}]";
        assert_eq!(parse_ranking(first), Some(1));
        let second =
            "[\n    {'model': \"model_2\", 'rank': 1},\n    {'model': 'model_1', 'rank': 2},\n]\n";
        assert_eq!(parse_ranking(second), Some(2));
        assert_eq!(parse_ranking("[{'model': 'model_1', 'rank': 3}]"), None);
        assert_eq!(parse_ranking("Model 1 is better"), None);
        assert_eq!(
            parse_ranking("[{'model': 'model_1', 'rank': 1}] trailing"),
            None
        );
        assert_eq!(
            parse_ranking("({'model': 'model_1', 'rank': 2.0},)"),
            Some(2)
        );
        assert_eq!(parse_ranking(""), None);
    }
}
