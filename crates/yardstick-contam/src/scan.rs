//! Streaming corpus files through an [`NgramIndex`] on all cores.

use crate::corpus::{list_files, open, CorpusFormat, CorpusIssue};
use crate::index::{NgramIndex, Roller};
use crate::normalize::for_each_word_hash;
use crate::ContamError;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Files scanned at once; `None`: one per core.
    pub threads: Option<usize>,
    /// The field holding the text in JSON Lines files.
    pub text_field: String,
    /// Matches kept per item as examples (all are counted).
    pub samples_per_item: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            threads: None,
            text_field: "text".into(),
            samples_per_item: 3,
        }
    }
}

/// Where one of an item's n-grams was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    /// The n-gram, normalised.
    pub ngram: String,
    /// The corpus file.
    pub file: PathBuf,
    /// Byte offset in the decompressed file: of the n-gram's first word in a text file,
    /// of the document's line in a JSON Lines file.
    pub offset: u64,
}

/// What the scan found for one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemMatches {
    /// The item's task.
    pub task: String,
    /// The item's document id.
    pub doc_id: usize,
    /// How many times any of its n-grams occurred in the corpus.
    pub matches: u64,
    /// The first few occurrences, in file order.
    pub samples: Vec<Match>,
    /// The item has no text of n words, so overlap cannot find it.
    pub too_short: bool,
}

impl ItemMatches {
    /// Whether any n-gram of the item occurs in the corpus.
    pub fn contaminated(&self) -> bool {
        self.matches > 0
    }
}

/// The outcome of a scan.
#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    /// The n-gram size.
    pub n: usize,
    /// Every indexed item, in index order.
    pub items: Vec<ItemMatches>,
    /// Corpus files read.
    pub files: usize,
    /// Decompressed bytes read.
    pub bytes: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Parts of the corpus that were skipped, and why.
    pub issues: Vec<CorpusIssue>,
}

impl ScanReport {
    /// Decompressed megabytes (10^6 bytes) scanned per second.
    pub fn megabytes_per_second(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.seconds
    }
}

/// One worker's findings, merged at the end.
struct Findings {
    matches: Vec<u64>,
    samples: Vec<Vec<Match>>,
    bytes: u64,
    issues: Vec<CorpusIssue>,
}

impl Findings {
    fn new(items: usize) -> Self {
        Self {
            matches: vec![0; items],
            samples: vec![Vec::new(); items],
            bytes: 0,
            issues: Vec::new(),
        }
    }
}

/// The last n words of the current document (their hashes) and their rolling hash.
struct Window<'a> {
    index: &'a NgramIndex,
    roller: Roller,
    offsets: Vec<u64>,
    next: usize,
}

impl<'a> Window<'a> {
    fn new(index: &'a NgramIndex) -> Self {
        Self {
            index,
            roller: Roller::new(index.n()),
            offsets: vec![0; index.n()],
            next: 0,
        }
    }

    fn reset(&mut self) {
        self.roller.reset();
        self.next = 0;
    }

    /// Adds a word at `offset`; calls `found(ngram id, offset of its first word)` for
    /// each benchmark n-gram the last n words spell (same rolling hash, and the same
    /// hash word by word: a false match would need two different words with one 64-bit
    /// hash).
    #[inline]
    fn push(&mut self, word: u64, offset: u64, found: &mut impl FnMut(u32, u64)) {
        self.offsets[self.next] = offset;
        self.next += 1;
        if self.next == self.offsets.len() {
            self.next = 0;
        }
        let Some(hash) = self.roller.push(word) else {
            return;
        };
        for &id in self.index.candidates(hash) {
            if self.roller.window_is(&self.index.ngram(id).words) {
                // The slot after the newest is the oldest word's.
                found(id, self.offsets[self.next]);
            }
        }
    }
}

/// Scans every file under `paths` (folders recursively) for the index's n-grams.
pub fn scan_corpus(
    paths: &[PathBuf],
    index: &NgramIndex,
    options: &ScanOptions,
) -> Result<ScanReport, ContamError> {
    if index.n() == 0 {
        return Err(ContamError::NgramSize(0));
    }
    let started = Instant::now();
    let files = list_files(paths)?;
    let threads = options
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, files.len().max(1));
    let next = AtomicUsize::new(0);
    let merged = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut findings = Findings::new(index.items().len());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    scan_file(file, index, options, &mut findings);
                }
                merged
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(findings);
            });
        }
    });
    let parts = merged
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut total = Findings::new(index.items().len());
    for part in parts {
        total.bytes += part.bytes;
        total.issues.extend(part.issues);
        for (i, count) in part.matches.into_iter().enumerate() {
            total.matches[i] += count;
        }
        for (i, samples) in part.samples.into_iter().enumerate() {
            total.samples[i].extend(samples);
        }
    }
    total
        .issues
        .sort_by(|a, b| (&a.file, a.offset).cmp(&(&b.file, b.offset)));
    let items = index
        .items()
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut samples = std::mem::take(&mut total.samples[i]);
            samples.sort_by(|a, b| (&a.file, a.offset).cmp(&(&b.file, b.offset)));
            samples.truncate(options.samples_per_item);
            ItemMatches {
                task: item.task.clone(),
                doc_id: item.doc_id,
                matches: total.matches[i],
                samples,
                too_short: index.is_too_short(i),
            }
        })
        .collect();
    Ok(ScanReport {
        n: index.n(),
        items,
        files: files.len(),
        bytes: total.bytes,
        seconds: started.elapsed().as_secs_f64(),
        issues: total.issues,
    })
}

/// Scans one file into `findings`; problems become issues and the rest of the file (or
/// the bad line) is skipped.
fn scan_file(path: &Path, index: &NgramIndex, options: &ScanOptions, findings: &mut Findings) {
    let issue = |offset: u64, message: String| CorpusIssue {
        file: path.to_owned(),
        offset,
        message,
    };
    let mut corpus = match open(path) {
        Ok(corpus) => corpus,
        Err(e) => {
            findings
                .issues
                .push(issue(0, format!("cannot open: {e}; file skipped")));
            return;
        }
    };
    let mut window = Window::new(index);
    let mut line = Vec::with_capacity(1 << 16);
    let mut offset: u64 = 0;
    loop {
        line.clear();
        let read = match corpus.reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) => {
                findings.issues.push(issue(
                    offset + line.len() as u64,
                    format!("unreadable ({e}); rest of the file skipped"),
                ));
                break;
            }
        };
        findings.bytes += read as u64;
        let line_start = offset;
        offset += read as u64;
        let text = match std::str::from_utf8(&line) {
            Ok(text) => text,
            Err(e) => {
                findings.issues.push(issue(
                    line_start + e.valid_up_to() as u64,
                    "invalid UTF-8; line skipped".into(),
                ));
                window.reset();
                continue;
            }
        };
        let mut record = |id: u32, at: u64| {
            let ngram = index.ngram(id);
            for &item in &ngram.items {
                let item = item as usize;
                findings.matches[item] += 1;
                if findings.samples[item].len() < options.samples_per_item {
                    findings.samples[item].push(Match {
                        ngram: ngram.text.clone(),
                        file: path.to_owned(),
                        offset: at,
                    });
                }
            }
        };
        match corpus.format {
            CorpusFormat::Text => {
                for_each_word_hash(text, |word, at| {
                    window.push(word, line_start + at as u64, &mut record)
                });
            }
            CorpusFormat::JsonLines => {
                if text.trim().is_empty() {
                    continue;
                }
                let document: serde_json::Value = match serde_json::from_str(text) {
                    Ok(document) => document,
                    Err(e) => {
                        findings.issues.push(issue(
                            line_start,
                            format!("line does not parse as JSON ({e}); line skipped"),
                        ));
                        continue;
                    }
                };
                let Some(body) = document.get(&options.text_field).and_then(|v| v.as_str()) else {
                    findings.issues.push(issue(
                        line_start,
                        format!("no string field `{}`; line skipped", options.text_field),
                    ));
                    continue;
                };
                window.reset();
                for_each_word_hash(body, |word, _| window.push(word, line_start, &mut record));
            }
        }
    }
}
