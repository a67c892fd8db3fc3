//! Contamination: which benchmark items appear in a training corpus.
//!
//! Benchmark items leak into pretraining corpora and inflate scores. This crate answers
//! "which items of this benchmark are in this corpus?" by n-gram overlap, as the GPT-3
//! paper and lm-evaluation-harness's decontamination define it: text is lower-cased
//! (ASCII), stripped of ASCII punctuation and split on whitespace ([`normalized_words`]);
//! an item is contaminated when any n-gram (13 by default) of any of its texts occurs in
//! the corpus.
//!
//! An [`NgramIndex`] holds the n-grams of every [`BenchmarkItem`]; [`scan_corpus`]
//! streams corpus files (plain text, JSON Lines with a text field, gzip or zstd, folders
//! of them) through it on all cores, in memory bounded by the index rather than the
//! corpus, and returns a [`ScanReport`]: per item how many matches and where (file and
//! byte offset in the decompressed stream) for a sample, and every malformed part of the
//! corpus that was skipped ([`CorpusIssue`]).
//!
//! ```
//! use yardstick_contam::{scan_corpus, BenchmarkItem, NgramIndex, ScanOptions};
//!
//! let items = vec![BenchmarkItem::new("quiz", 0, vec!["What is the capital of France? Paris.".into()])];
//! let index = NgramIndex::build(&items, 4);
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("web.txt"), "Trivia: what is THE capital of France -- Paris!")?;
//! let report = scan_corpus(&[dir.path().to_owned()], &index, &ScanOptions::default())?;
//! assert_eq!(report.items[0].matches, 4); // all four 4-grams of the item
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod corpus;
mod error;
mod index;
mod normalize;
mod scan;
mod synthetic;

pub use corpus::{CorpusFormat, CorpusIssue};
pub use error::ContamError;
pub use index::{BenchmarkItem, NgramIndex};
pub use normalize::normalized_words;
pub use scan::{scan_corpus, ItemMatches, Match, ScanOptions, ScanReport};
pub use synthetic::{write_synthetic_corpus, SyntheticCorpus};
