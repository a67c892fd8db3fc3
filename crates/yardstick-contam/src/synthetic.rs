//! Synthetic corpora with known planted benchmark items, for measuring a scan's speed
//! and recall.

use crate::index::NgramIndex;
use crate::normalize::normalized_words;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A small deterministic generator (xorshift64*), so a corpus is the same every time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// What was written: the shard files and which items were planted where.
#[derive(Debug, Clone)]
pub struct SyntheticCorpus {
    /// The shard files, in order.
    pub files: Vec<PathBuf>,
    /// Bytes written.
    pub bytes: u64,
    /// Indices (into the items given) of the planted items.
    pub planted: Vec<usize>,
}

/// Writes about `total_bytes` of text in shards of `shard_bytes` under `dir`: filler
/// drawn word by word at random from the items' own vocabulary (real words, in an order
/// that repeats no n-gram of an item but by chance of order 10^-40), with the first text
/// of every `plant_every`-th item that holds an n-gram and shares none with another item
/// (so that exactly the planted items should be found) planted once, upper-cased, at a
/// random place.
pub fn write_synthetic_corpus(
    dir: &Path,
    index: &NgramIndex,
    total_bytes: u64,
    shard_bytes: u64,
    plant_every: usize,
    seed: u64,
) -> std::io::Result<SyntheticCorpus> {
    let items = index.items();
    let n = index.n();
    let mut vocabulary: Vec<String> = items
        .iter()
        .flat_map(|item| item.texts.iter())
        .flat_map(|text| normalized_words(text))
        .collect();
    vocabulary.sort();
    vocabulary.dedup();
    if vocabulary.is_empty() {
        vocabulary.push("filler".into());
    }
    let planted: Vec<usize> = (0..items.len())
        .filter(|&i| {
            !index.shares_ngrams(i)
                && items[i]
                    .texts
                    .first()
                    .is_some_and(|t| normalized_words(t).len() >= n)
        })
        .step_by(plant_every.max(1))
        .collect();
    let shards = total_bytes.div_ceil(shard_bytes.max(1)).max(1) as usize;
    // Which shard each planted item goes to, and roughly where.
    let mut rng = Rng(seed | 1);
    let mut plan: Vec<Vec<(u64, usize)>> = vec![Vec::new(); shards];
    for &item in &planted {
        plan[rng.below(shards)].push((rng.next() % shard_bytes.max(1), item));
    }
    for shard in &mut plan {
        shard.sort_unstable();
    }
    std::fs::create_dir_all(dir)?;
    let mut files = Vec::with_capacity(shards);
    let mut bytes = 0;
    for (index, shard) in plan.iter().enumerate() {
        let path = dir.join(format!("shard-{index:05}.txt"));
        let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
        let target = shard_bytes.min(total_bytes - bytes.min(total_bytes));
        let mut written = 0u64;
        let mut pending = shard.iter().peekable();
        let mut line_words = 0;
        while written < target {
            if let Some(&&(at, item)) = pending.peek() {
                if at <= written {
                    let text = items[item].texts[0].to_uppercase();
                    let line = format!("\n{text}\n");
                    out.write_all(line.as_bytes())?;
                    written += line.len() as u64;
                    pending.next();
                    continue;
                }
            }
            let word = &vocabulary[rng.below(vocabulary.len())];
            out.write_all(word.as_bytes())?;
            line_words += 1;
            let gap: &[u8] = if line_words % 16 == 0 { b"\n" } else { b" " };
            out.write_all(gap)?;
            written += word.len() as u64 + 1;
        }
        // Items planned past the end of a short last shard still go in.
        for &(_, item) in pending {
            let line = format!("\n{}\n", items[item].texts[0].to_uppercase());
            out.write_all(line.as_bytes())?;
            written += line.len() as u64;
        }
        out.flush()?;
        bytes += written;
        files.push(path);
    }
    Ok(SyntheticCorpus {
        files,
        bytes,
        planted,
    })
}
