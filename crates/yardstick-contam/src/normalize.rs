//! Text normalisation as lm-evaluation-harness's decontamination (`Janitor`) does it.

use crate::index::{finish_word_hash, mix_word_block, WORD_SEED};
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

/// Each byte's kind (high byte) and lower-cased value (low byte), so the inner loop
/// needs one table load per byte.
static STEPS: [u16; 256] = steps();
const KEEP: u8 = 0;
const DELETE: u8 = 1;

const fn steps() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut b = 0;
    while b < 256 {
        let kind: u16 = match CLASSES[b] {
            Class::Keep => KEEP as u16,
            Class::Delete => DELETE as u16,
            Class::Space => 2,
            Class::NonAscii => 3,
        };
        table[b] = (kind << 8) | (b as u8).to_ascii_lowercase() as u16;
        b += 1;
    }
    table
}

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

/// A word's hash being computed as its normalised bytes arrive (see [`word_hash`](crate::index::word_hash)).
struct Accumulator {
    hash: u64,
    block: u64,
    filled: u32,
    len: u64,
}

impl Accumulator {
    #[inline]
    fn new() -> Self {
        Self {
            hash: WORD_SEED,
            block: 0,
            filled: 0,
            len: 0,
        }
    }

    #[inline]
    fn push(&mut self, byte: u8) {
        self.block = (self.block << 8) | u64::from(byte);
        self.filled += 1;
        self.len += 1;
        if self.filled == 8 {
            self.hash = mix_word_block(self.hash, self.block);
            self.block = 0;
            self.filled = 0;
        }
    }

    #[inline]
    fn finish(&self) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        let hash = if self.filled > 0 {
            mix_word_block(self.hash, self.block)
        } else {
            self.hash
        };
        Some(finish_word_hash(hash, self.len))
    }
}

/// Calls `word(hash, offset)` for each word of `text`, as [`for_each_word`] splits and
/// normalises it, with the word's [`word_hash`](crate::index::word_hash): the scanner's inner loop, which keeps
/// each word in registers (one table load and one well-predicted branch per byte).
#[inline]
pub(crate) fn for_each_word_hash(text: &str, mut word: impl FnMut(u64, usize)) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Between words.
        match CLASSES[bytes[i] as usize] {
            Class::Space => {
                i += 1;
                continue;
            }
            Class::NonAscii => {
                let c = text[i..].chars().next().unwrap_or(' ');
                if is_python_whitespace(c) {
                    i += c.len_utf8();
                    continue;
                }
            }
            Class::Keep | Class::Delete => {}
        }
        let start = i;
        let mut hasher = Accumulator::new();
        loop {
            while let Some(&byte) = bytes.get(i) {
                let entry = STEPS[byte as usize];
                let kind = (entry >> 8) as u8;
                if kind > DELETE {
                    break;
                }
                if kind == KEEP {
                    hasher.push(entry as u8);
                }
                i += 1;
            }
            match bytes.get(i).map(|&b| CLASSES[b as usize]) {
                Some(Class::NonAscii) => {
                    let c = text[i..].chars().next().unwrap_or(' ');
                    if is_python_whitespace(c) {
                        break;
                    }
                    let width = c.len_utf8();
                    for &b in &bytes[i..i + width] {
                        hasher.push(b);
                    }
                    i += width;
                }
                _ => break,
            }
        }
        if let Some(hash) = hasher.finish() {
            word(hash, start);
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
    use crate::index::word_hash;

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
        let long = "Ab,c".repeat(150);
        let text =
            format!("Don't PANIC -- it's 4:30,\tok?\u{a0}Café\u{3000}x abcdefghijklmnopq {long} é");
        let mut words = Vec::new();
        for_each_word(&text, &mut Vec::new(), |w, at| {
            words.push((word_hash(w), at))
        });
        let mut streamed = Vec::new();
        for_each_word_hash(&text, |h, at| streamed.push((h, at)));
        assert_eq!(words.len(), 10);
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
