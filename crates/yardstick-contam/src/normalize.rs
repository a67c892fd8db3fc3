//! Text normalisation as lm-evaluation-harness's decontamination (`Janitor`) does it.

use crate::index::WordHasher;
use yardstick_core::is_python_whitespace;

/// How a byte is treated: kept (lower-cased), a word break, deleted, or the start of a
/// multi-byte character that needs decoding.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Keep,
    Space,
    Delete,
    NonAscii,
}

/// Python's `string.punctuation`.
const PUNCTUATION: &[u8] = b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

const fn classes() -> [Class; 256] {
    let mut table = [Class::Keep; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = if b >= 0x80 {
            Class::NonAscii
        } else if matches!(b, 0x09..=0x0d | 0x1c..=0x20) {
            // Python's str.split() breaks on these ASCII characters.
            Class::Space
        } else {
            Class::Keep
        };
        b += 1;
    }
    let mut i = 0;
    while i < PUNCTUATION.len() {
        table[PUNCTUATION[i] as usize] = Class::Delete;
        i += 1;
    }
    table
}

static CLASSES: [Class; 256] = classes();

/// Calls `word(normalized, offset)` for each word of `text`: ASCII letters lower-cased,
/// ASCII punctuation deleted, split on whitespace as Python's `str.split()` splits; a
/// word that was only punctuation disappears. `offset` is the byte offset in `text` of
/// the word's first character. `buffer` is scratch space, reused across calls.
pub(crate) fn for_each_word(text: &str, buffer: &mut Vec<u8>, mut word: impl FnMut(&[u8], usize)) {
    let bytes = text.as_bytes();
    buffer.clear();
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        match CLASSES[byte as usize] {
            Class::Keep => {
                start.get_or_insert(i);
                buffer.push(byte.to_ascii_lowercase());
                i += 1;
            }
            Class::Delete => {
                start.get_or_insert(i);
                i += 1;
            }
            Class::Space => {
                if let Some(at) = start.take() {
                    if !buffer.is_empty() {
                        word(buffer, at);
                    }
                    buffer.clear();
                }
                i += 1;
            }
            Class::NonAscii => {
                let c = text[i..].chars().next().unwrap_or(' ');
                let width = c.len_utf8();
                if is_python_whitespace(c) {
                    if let Some(at) = start.take() {
                        if !buffer.is_empty() {
                            word(buffer, at);
                        }
                        buffer.clear();
                    }
                } else {
                    start.get_or_insert(i);
                    buffer.extend_from_slice(&bytes[i..i + width]);
                }
                i += width;
            }
        }
    }
    if let Some(at) = start {
        if !buffer.is_empty() {
            word(buffer, at);
        }
    }
    buffer.clear();
}

/// Calls `word(hash, offset)` for each word of `text`, as [`for_each_word`] splits and
/// normalises it, with the word's [`word_hash`](crate::index::word_hash): the scanner's
/// inner loop, which copies nothing.
#[inline]
pub(crate) fn for_each_word_hash(text: &str, mut word: impl FnMut(u64, usize)) {
    let bytes = text.as_bytes();
    let mut hasher = WordHasher::new();
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        match CLASSES[byte as usize] {
            Class::Keep => {
                start.get_or_insert(i);
                hasher.push(byte.to_ascii_lowercase());
                i += 1;
            }
            Class::Delete => {
                start.get_or_insert(i);
                i += 1;
            }
            Class::Space => {
                if let Some(at) = start.take() {
                    if !hasher.is_empty() {
                        word(hasher.finish(), at);
                    }
                    hasher = WordHasher::new();
                }
                i += 1;
            }
            Class::NonAscii => {
                let c = text[i..].chars().next().unwrap_or(' ');
                let width = c.len_utf8();
                if is_python_whitespace(c) {
                    if let Some(at) = start.take() {
                        if !hasher.is_empty() {
                            word(hasher.finish(), at);
                        }
                        hasher = WordHasher::new();
                    }
                } else {
                    start.get_or_insert(i);
                    for &b in &bytes[i..i + width] {
                        hasher.push(b);
                    }
                }
                i += width;
            }
        }
    }
    if let Some(at) = start {
        if !hasher.is_empty() {
            word(hasher.finish(), at);
        }
    }
}

/// The normalised words of `text` (see [`crate`]): what lm-eval's
/// `word_ngrams(janitor.normalize_string(text), n)` splits into n-grams.
pub fn normalized_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut buffer = Vec::new();
    for_each_word(text, &mut buffer, |word, _| {
        words.push(String::from_utf8_lossy(word).into_owned());
    });
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_cases_deletes_punctuation_and_splits_like_python() {
        assert_eq!(
            normalized_words("Don't PANIC -- it's 4:30,\tok?\u{a0}Café\u{3000}x"),
            ["dont", "panic", "its", "430", "ok", "café", "x"]
        );
        assert!(normalized_words(" ... !! ").is_empty());
    }

    #[test]
    fn streamed_hashes_equal_the_hashes_of_the_normalised_words() {
        let text = "Don't PANIC -- it's 4:30,\tok?\u{a0}Café\u{3000}x abcdefghijklmnopq";
        let mut words = Vec::new();
        for_each_word(text, &mut Vec::new(), |w, at| {
            words.push((crate::index::word_hash(w), at))
        });
        let mut streamed = Vec::new();
        for_each_word_hash(text, |h, at| streamed.push((h, at)));
        assert_eq!(words.len(), 8);
        assert_eq!(streamed, words);
    }

    #[test]
    fn offsets_point_at_each_word_start() {
        let text = "  (Hello) wörld";
        let mut seen = Vec::new();
        for_each_word(text, &mut Vec::new(), |w, at| {
            seen.push((String::from_utf8_lossy(w).into_owned(), at))
        });
        assert_eq!(seen, [("hello".to_owned(), 2), ("wörld".to_owned(), 10)]);
    }
}
