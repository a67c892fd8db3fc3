//! Streaming corpus files through an [`NgramIndex`] on all cores.

use crate::corpus::{list_files, open, CorpusFormat, CorpusIssue};
use crate::index::{rolling_hashes, NgramIndex};
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

/// The words of the current document not yet checked, as hashes with their offsets, and
/// the n - 1 before them. Words are checked a run at a time: first every window's rolling
/// hash, then the prefilter bit of each (independent loads, which the processor overlaps),
/// then the rare candidates word by word.
struct WordRun<'a> {
    index: &'a NgramIndex,
    words: Vec<u64>,
    offsets: Vec<u64>,
    /// Leading entries already checked (kept as the context of the next windows).
    checked: usize,
    rolling: Vec<u64>,
    hits: Vec<usize>,
}

impl<'a> WordRun<'a> {
    fn new(index: &'a NgramIndex) -> Self {
        Self {
            index,
            words: Vec::new(),
            offsets: Vec::new(),
            checked: 0,
            rolling: Vec::new(),
            hits: Vec::new(),
        }
    }

    #[inline]
    fn push(&mut self, word: u64, offset: u64) {
        self.words.push(word);
        self.offsets.push(offset);
    }

    /// Starts a new document: n-grams do not span documents.
    fn reset(&mut self) {
        self.words.clear();
        self.offsets.clear();
        self.checked = 0;
    }

    /// Checks every window ending in an unchecked word; calls `found(ngram id, offset of
    /// its first word)` for each benchmark n-gram there (same rolling hash and the same
    /// hash word by word: a false match would need two different words with one 64-bit
    /// hash). Keeps the last n - 1 words as context.
    fn check(&mut self, found: &mut impl FnMut(u32, u64)) {
        let n = self.index.n();
        rolling_hashes(&self.words, n, &mut self.rolling);
        let first = self.checked.max(n - 1);
        self.hits.clear();
        for (j, &hash) in self.rolling.iter().enumerate().skip(first) {
            if self.index.may_contain(hash) {
                self.hits.push(j);
            }
        }
        for &j in &self.hits {
            let window = &self.words[j + 1 - n..=j];
            for &id in self.index.candidates(self.rolling[j]) {
                if *self.index.ngram(id).words == *window {
                    found(id, self.offsets[j + 1 - n]);
                }
            }
        }
        let keep = (n - 1).min(self.words.len());
        let drop = self.words.len() - keep;
        self.words.drain(..drop);
        self.offsets.drain(..drop);
        self.checked = self.words.len();
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
    let mut run = WordRun::new(index);
    let record = |findings: &mut Findings, id: u32, at: u64| {
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
    // Whole lines are read into blocks of about this size and scanned a block at a
    // time (text files), or a line at a time (JSON Lines).
    const BLOCK: usize = 1 << 18;
    let mut block: Vec<u8> = Vec::with_capacity(BLOCK + (1 << 16));
    let mut offset: u64 = 0;
    let mut done = false;
    while !done {
        block.clear();
        let block_start = offset;
        loop {
            // Text: whole buffers up to the block size, then the rest of that line; JSON
            // Lines: one line.
            if corpus.format == CorpusFormat::Text && block.len() < BLOCK {
                let taken = corpus.reader.fill_buf().map(|buffer| {
                    let take = buffer.len().min(BLOCK - block.len());
                    block.extend_from_slice(&buffer[..take]);
                    take
                });
                match taken {
                    Ok(0) => done = true,
                    Ok(take) => {
                        corpus.reader.consume(take);
                        continue;
                    }
                    Err(e) => {
                        findings.issues.push(issue(
                            block_start + block.len() as u64,
                            format!("unreadable ({e}); rest of the file skipped"),
                        ));
                        done = true;
                    }
                }
                break;
            }
            match corpus.reader.read_until(b'\n', &mut block) {
                Ok(0) => done = true,
                Ok(_) => {}
                Err(e) => {
                    findings.issues.push(issue(
                        block_start + block.len() as u64,
                        format!("unreadable ({e}); rest of the file skipped"),
                    ));
                    done = true;
                }
            }
            break;
        }
        if block.is_empty() {
            break;
        }
        findings.bytes += block.len() as u64;
        offset += block.len() as u64;
        match corpus.format {
            CorpusFormat::Text => match std::str::from_utf8(&block) {
                Ok(text) => {
                    for_each_word_hash(text, |word, at| run.push(word, block_start + at as u64));
                    run.check(&mut |id, at| record(findings, id, at));
                }
                Err(_) => {
                    // Line by line, so only the lines with invalid UTF-8 are skipped.
                    let mut line_start = 0;
                    for line in block.split_inclusive(|&b| b == b'\n') {
                        match std::str::from_utf8(line) {
                            Ok(text) => {
                                for_each_word_hash(text, |word, at| {
                                    run.push(word, block_start + (line_start + at) as u64)
                                });
                                run.check(&mut |id, at| record(findings, id, at));
                            }
                            Err(e) => {
                                findings.issues.push(issue(
                                    block_start + (line_start + e.valid_up_to()) as u64,
                                    "invalid UTF-8; line skipped".into(),
                                ));
                                run.reset();
                            }
                        }
                        line_start += line.len();
                    }
                }
            },
            CorpusFormat::JsonLines => {
                let Ok(text) = std::str::from_utf8(&block) else {
                    let valid = std::str::from_utf8(&block)
                        .err()
                        .map_or(0, |e| e.valid_up_to());
                    findings.issues.push(issue(
                        block_start + valid as u64,
                        "invalid UTF-8; line skipped".into(),
                    ));
                    continue;
                };
                if text.trim().is_empty() {
                    continue;
                }
                let document: serde_json::Value = match serde_json::from_str(text) {
                    Ok(document) => document,
                    Err(e) => {
                        findings.issues.push(issue(
                            block_start,
                            format!("line does not parse as JSON ({e}); line skipped"),
                        ));
                        continue;
                    }
                };
                let Some(body) = document.get(&options.text_field).and_then(|v| v.as_str()) else {
                    findings.issues.push(issue(
                        block_start,
                        format!("no string field `{}`; line skipped", options.text_field),
                    ));
                    continue;
                };
                run.reset();
                for_each_word_hash(body, |word, _| run.push(word, block_start));
                run.check(&mut |id, at| record(findings, id, at));
            }
        }
    }
}
