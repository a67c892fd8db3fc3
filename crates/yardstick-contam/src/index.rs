//! The n-grams of a benchmark's items, looked up by a rolling hash.

use crate::normalize::for_each_word;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// One benchmark item: the texts a task renders for it (question, choices, answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchmarkItem {
    /// The task it belongs to.
    pub task: String,
    /// Its document id in the task's evaluation split.
    pub doc_id: usize,
    /// Its texts; n-grams never span two of them.
    pub texts: Vec<String>,
}

impl BenchmarkItem {
    /// An item of `task` with its texts.
    pub fn new(task: impl Into<String>, doc_id: usize, texts: Vec<String>) -> Self {
        Self {
            task: task.into(),
            doc_id,
            texts,
        }
    }
}

/// The multiplier of the rolling n-gram hash (odd, so it is invertible mod 2^64).
const ROLL: u64 = 0x9E37_79B9_7F4A_7C15;

/// A word's 64-bit hash: its bytes in groups of eight, each group read as a big-endian
/// number (a short last group as it is) and mixed in with a multiply and a rotation,
/// then the length and a finalising mix. The scanner computes the same value while it
/// normalises the word, shifting each kept byte into a register.
pub(crate) fn word_hash(word: &[u8]) -> u64 {
    let mut hash = WORD_SEED;
    for group in word.chunks(8) {
        let block = group.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        hash = mix_word_block(hash, block);
    }
    finish_word_hash(hash, word.len() as u64)
}

pub(crate) const WORD_SEED: u64 = 0xC2B2_AE3D_27D4_EB4F;

/// One group of eight bytes into a word's hash.
#[inline]
pub(crate) fn mix_word_block(hash: u64, block: u64) -> u64 {
    (hash ^ block)
        .wrapping_mul(0x9FB2_1C65_1E98_DF25)
        .rotate_left(29)
}

/// The length and the finalising mix.
#[inline]
pub(crate) fn finish_word_hash(mut hash: u64, len: u64) -> u64 {
    hash ^= len.wrapping_mul(0x1656_67B1_9E37_79F9);
    hash ^= hash >> 32;
    hash = hash.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    hash ^ (hash >> 29)
}

/// `ROLL^k`: the rolling hash of n consecutive words is
/// `sum(word_hash(w_i) * ROLL^(n-1-i))`.
pub(crate) fn roll_power(k: usize) -> u64 {
    (0..k).fold(1u64, |acc, _| acc.wrapping_mul(ROLL))
}

/// The rolling hash of every n consecutive words of `words` into `out`: `out[j]` is the
/// hash of `words[j + 1 - n..=j]` for `j >= n - 1` (0 before).
pub(crate) fn rolling_hashes(words: &[u64], n: usize, out: &mut Vec<u64>) {
    let drop = roll_power(n);
    out.clear();
    let mut hash = 0u64;
    for (j, &word) in words.iter().enumerate() {
        hash = hash.wrapping_mul(ROLL).wrapping_add(word);
        if j >= n {
            hash = hash.wrapping_sub(words[j - n].wrapping_mul(drop));
        }
        out.push(if j + 1 >= n { hash } else { 0 });
    }
}

/// A hasher that passes an already well-mixed `u64` through.
#[derive(Default)]
pub(crate) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// One distinct n-gram of the benchmark and the items it occurs in.
#[derive(Debug, Clone)]
pub(crate) struct Ngram {
    /// The normalised words joined by single spaces.
    pub text: String,
    /// Its words' hashes, in order: what a corpus window is compared with.
    pub words: Box<[u64]>,
    /// Indices into the index's items.
    pub items: Vec<u32>,
}

/// A bit per slot of the n-gram hashes' top bits: most corpus windows are ruled out by
/// one bit in a table small enough to stay in cache, before the hash table is probed.
#[derive(Debug)]
struct Prefilter {
    bits: Vec<u64>,
    shift: u32,
}

impl Prefilter {
    /// Sized for at most one n-gram per 16 bits (at least 2^20 bits).
    fn new(ngrams: usize) -> Self {
        let log2 = (ngrams.max(1) * 16)
            .next_power_of_two()
            .trailing_zeros()
            .max(20);
        Self {
            bits: vec![0; 1 << (log2 - 6)],
            shift: 64 - log2,
        }
    }

    fn insert(&mut self, hash: u64) {
        let slot = (hash >> self.shift) as usize;
        self.bits[slot / 64] |= 1 << (slot % 64);
    }

    fn may_contain(&self, hash: u64) -> bool {
        let slot = (hash >> self.shift) as usize;
        self.bits[slot / 64] & (1 << (slot % 64)) != 0
    }
}

/// Every n-gram of a benchmark's items.
#[derive(Debug)]
pub struct NgramIndex {
    n: usize,
    items: Vec<BenchmarkItem>,
    ngrams: Vec<Ngram>,
    by_hash: HashMap<u64, Vec<u32>, BuildHasherDefault<Prehashed>>,
    prefilter: Prefilter,
    /// Items with no text of n words or more: they cannot be found by n-gram overlap.
    too_short: Vec<bool>,
    /// Items with an n-gram another item also has.
    shared: Vec<bool>,
}

impl NgramIndex {
    /// Indexes the n-grams of every text of every item.
    pub fn build(items: &[BenchmarkItem], n: usize) -> Self {
        let n = n.max(1);
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut ngrams: Vec<Ngram> = Vec::new();
        let mut by_hash: HashMap<u64, Vec<u32>, BuildHasherDefault<Prehashed>> = HashMap::default();
        let mut too_short = Vec::with_capacity(items.len());
        let mut buffer = Vec::new();
        for (item_index, item) in items.iter().enumerate() {
            let mut indexed = false;
            for text in &item.texts {
                let mut words: Vec<String> = Vec::new();
                for_each_word(text, &mut buffer, |w, _| {
                    words.push(String::from_utf8_lossy(w).into_owned())
                });
                let hashes: Vec<u64> = words.iter().map(|w| word_hash(w.as_bytes())).collect();
                let mut rolling = Vec::new();
                rolling_hashes(&hashes, n, &mut rolling);
                for (end, &hash) in rolling.iter().enumerate().skip(n - 1) {
                    indexed = true;
                    let window = &words[end + 1 - n..=end];
                    let joined = window.join(" ");
                    let id = *ids.entry(joined.clone()).or_insert_with(|| {
                        ngrams.push(Ngram {
                            text: joined,
                            words: hashes[end + 1 - n..=end].into(),
                            items: Vec::new(),
                        });
                        let id = (ngrams.len() - 1) as u32;
                        by_hash.entry(hash).or_default().push(id);
                        id
                    });
                    let owners = &mut ngrams[id as usize].items;
                    if owners.last() != Some(&(item_index as u32)) {
                        owners.push(item_index as u32);
                    }
                }
            }
            too_short.push(!indexed);
        }
        let mut shared = vec![false; items.len()];
        for ngram in &ngrams {
            if ngram.items.len() > 1 {
                for &item in &ngram.items {
                    shared[item as usize] = true;
                }
            }
        }
        let mut prefilter = Prefilter::new(ngrams.len());
        for &hash in by_hash.keys() {
            prefilter.insert(hash);
        }
        Self {
            n,
            items: items.to_vec(),
            ngrams,
            by_hash,
            prefilter,
            too_short,
            shared,
        }
    }

    /// The n-gram size.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The indexed items, in the order given.
    pub fn items(&self) -> &[BenchmarkItem] {
        &self.items
    }

    /// Distinct n-grams indexed.
    pub fn ngram_count(&self) -> usize {
        self.ngrams.len()
    }

    /// Whether item `index` has no n-gram (all its texts are shorter than n words).
    pub fn is_too_short(&self, index: usize) -> bool {
        self.too_short.get(index).copied().unwrap_or(true)
    }

    /// Whether item `index` has an n-gram that another item has too, so that finding it
    /// also finds the other (MMLU questions on one reading passage, say).
    pub fn shares_ngrams(&self, index: usize) -> bool {
        self.shared.get(index).copied().unwrap_or(false)
    }

    /// Whether an n-gram with rolling hash `hash` may be indexed: one bit, ruling out
    /// most corpus windows before the hash table is probed.
    #[inline]
    pub(crate) fn may_contain(&self, hash: u64) -> bool {
        self.prefilter.may_contain(hash)
    }

    /// The n-grams whose rolling hash is `hash` (candidates, to be compared).
    #[inline]
    pub(crate) fn candidates(&self, hash: u64) -> &[u32] {
        self.by_hash.get(&hash).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn ngram(&self, id: u32) -> &Ngram {
        &self.ngrams[id as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_hashes_equal_the_hash_computed_afresh() {
        let words: Vec<u64> = (0..40u64).map(|i| word_hash(&i.to_le_bytes())).collect();
        let n = 5;
        let mut rolled = Vec::new();
        rolling_hashes(&words, n, &mut rolled);
        for end in 0..words.len() {
            let fresh = if end + 1 >= n {
                words[end + 1 - n..=end]
                    .iter()
                    .fold(0u64, |h, &w| h.wrapping_mul(ROLL).wrapping_add(w))
            } else {
                0
            };
            assert_eq!(rolled[end], fresh, "window ending at {end}");
        }
    }

    #[test]
    fn short_items_are_marked_and_shared_ngrams_list_every_item() {
        let items = vec![
            BenchmarkItem::new("t", 0, vec!["one two three".into()]),
            BenchmarkItem::new("t", 1, vec!["a b c d".into(), "x".into()]),
            BenchmarkItem::new("t", 2, vec!["zz a b c d".into()]),
        ];
        let index = NgramIndex::build(&items, 4);
        assert!(index.is_too_short(0));
        assert!(!index.is_too_short(1));
        assert_eq!(index.ngram_count(), 2, "\"a b c d\" and \"zz a b c\"");
        let hash = [b"a", b"b", b"c", b"d"].iter().fold(0u64, |h, w| {
            h.wrapping_mul(ROLL).wrapping_add(word_hash(*w))
        });
        let ids = index.candidates(hash);
        assert_eq!(ids.len(), 1);
        assert_eq!(index.ngram(ids[0]).items, [1, 2]);
    }
}
