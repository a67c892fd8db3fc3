//! Answer extraction and exact match on generated text, as lm-eval's `regex` and
//! `take_first` filters and its `exact_match` metric define them.
//!
//! Patterns are Python `re` patterns. They run on `fancy-regex`, after the one
//! translation whose meaning differs: Python's `$` (without MULTILINE) also matches just
//! before a final newline, so it becomes `(?=\n?\z)`; Python's `\Z` becomes `\z`.

use fancy_regex::Regex;
use yardstick_core::python_strip;

/// A pattern that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("regex `{pattern}` does not compile: {message}")]
pub struct PatternError {
    /// The pattern as written.
    pub pattern: String,
    /// The compiler's complaint.
    pub message: String,
}

/// Compiles a Python `re` pattern.
pub fn python_regex(pattern: &str) -> Result<Regex, PatternError> {
    Regex::new(&translate(pattern)).map_err(|e| PatternError {
        pattern: pattern.to_owned(),
        message: e.to_string(),
    })
}

/// Rewrites the Python-only meanings of `$` and `\Z` outside character classes.
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('Z') if !in_class => out.push_str("\\z"),
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // A `]` right after `[` or `[^` is a literal member.
                let rest = chars.as_str();
                let skip = if rest.starts_with("^]") {
                    2
                } else if rest.starts_with(']') {
                    1
                } else {
                    0
                };
                for _ in 0..skip {
                    if let Some(member) = chars.next() {
                        out.push(member);
                    }
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '$' if !in_class => out.push_str("(?=\\n?\\z)"),
            other => out.push(other),
        }
    }
    out
}

/// lm-eval's `regex` filter: `findall`, then the `group_select`-th match (negative
/// counts from the end); with several groups, the first non-empty one; stripped; the
/// fallback when nothing matches.
#[derive(Debug, Clone)]
pub struct RegexFilter {
    regex: Regex,
    group_select: i64,
    fallback: String,
}

impl RegexFilter {
    /// lm-eval's defaults are group 0 and fallback `[invalid]`.
    pub fn new(pattern: &str, group_select: i64, fallback: &str) -> Result<Self, PatternError> {
        Ok(Self {
            regex: python_regex(pattern)?,
            group_select,
            fallback: fallback.to_owned(),
        })
    }

    /// The extracted answer.
    pub fn apply(&self, response: &str) -> String {
        let groups = self.regex.captures_len() - 1;
        let found: Vec<Vec<String>> = self
            .regex
            .captures_iter(response)
            .filter_map(Result::ok)
            .map(|caps| {
                if groups == 0 {
                    vec![caps.get(0).map_or("", |m| m.as_str()).to_owned()]
                } else {
                    (1..=groups)
                        .map(|g| caps.get(g).map_or("", |m| m.as_str()).to_owned())
                        .collect()
                }
            })
            .collect();
        if found.is_empty() {
            return self.fallback.clone();
        }
        let count = found.len() as i64;
        let index = if self.group_select < 0 {
            count + self.group_select
        } else {
            self.group_select
        };
        // Python raises IndexError here; an answer that cannot be selected is no answer.
        let Some(selected) = usize::try_from(index).ok().and_then(|i| found.get(i)) else {
            return self.fallback.clone();
        };
        let text = if groups <= 1 {
            Some(selected[0].as_str())
        } else {
            selected.iter().map(String::as_str).find(|g| !g.is_empty())
        };
        match text {
            Some(text) => python_strip(text).to_owned(),
            None => self.fallback.clone(),
        }
    }
}

/// lm-eval's `exact_match` (Hugging Face evaluate's): drop each `regexes_to_ignore`
/// pattern from both strings in order, then optionally lower-case, drop ASCII
/// punctuation and drop digits; 1.0 when the results are equal.
#[derive(Debug, Clone, Default)]
pub struct ExactMatch {
    regexes_to_ignore: Vec<Regex>,
    ignore_case: bool,
    ignore_punctuation: bool,
    ignore_numbers: bool,
}

impl ExactMatch {
    /// An exact-match metric with lm-eval's options.
    pub fn new(
        regexes_to_ignore: &[String],
        ignore_case: bool,
        ignore_punctuation: bool,
        ignore_numbers: bool,
    ) -> Result<Self, PatternError> {
        Ok(Self {
            regexes_to_ignore: regexes_to_ignore
                .iter()
                .map(|p| python_regex(p))
                .collect::<Result<_, _>>()?,
            ignore_case,
            ignore_punctuation,
            ignore_numbers,
        })
    }

    fn normalize(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for regex in &self.regexes_to_ignore {
            text = regex.replace_all(&text, "").into_owned();
        }
        if self.ignore_case {
            text = text.to_lowercase();
        }
        if self.ignore_punctuation {
            text.retain(|c| !c.is_ascii_punctuation());
        }
        if self.ignore_numbers {
            text.retain(|c| !c.is_ascii_digit());
        }
        text
    }

    /// 1.0 when prediction and reference match after normalisation, else 0.0. As
    /// numpy compares its fixed-width strings, trailing NUL characters do not count.
    pub fn score(&self, prediction: &str, reference: &str) -> f64 {
        let prediction = self.normalize(prediction);
        let reference = self.normalize(reference);
        f64::from(u8::from(
            prediction.trim_end_matches('\0') == reference.trim_end_matches('\0'),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: &str = r"#### (\-?[0-9\.\,]+)";
    const FLEXIBLE: &str = r"(-?[$0-9.,]{2,})|(-?[0-9]+)";

    #[test]
    fn gsm8k_filters_extract_like_lm_eval() {
        let strict = RegexFilter::new(STRICT, 0, "[invalid]").unwrap();
        let flexible = RegexFilter::new(FLEXIBLE, -1, "[invalid]").unwrap();
        let text = "She pays $1,200 then 5 more.\n#### -1,205.";
        assert_eq!(strict.apply(text), "-1,205.");
        assert_eq!(flexible.apply(text), "-1,205.");
        assert_eq!(strict.apply("no answer"), "[invalid]");
        assert_eq!(flexible.apply("It is 7"), "7");
        assert_eq!(flexible.apply("none at all"), "[invalid]");
    }

    #[test]
    fn exact_match_normalises_like_gsm8k() {
        let metric = ExactMatch::new(
            &[
                ",".into(),
                "\\$".into(),
                "(?s).*#### ".into(),
                "\\.$".into(),
            ],
            true,
            false,
            false,
        )
        .unwrap();
        assert_eq!(metric.score("$1,205.", "It costs...\n#### 1205"), 1.0);
        assert_eq!(metric.score("1205", "#### 1206"), 0.0);
    }

    #[test]
    fn dollar_matches_before_a_final_newline_as_python_does() {
        let re = python_regex(r"\.$").unwrap();
        assert_eq!(re.replace_all("5.\n", ""), "5\n");
        assert_eq!(re.replace_all("5.x", ""), "5.x");
        assert_eq!(translate(r"[$0-9]$"), r"[$0-9](?=\n?\z)");
    }
}
