//! Scanning real files: planted benchmark items are all found and clean ones are not,
//! whatever the file format; malformed parts are reported and skipped.

use std::io::Write;
use std::path::Path;
use yardstick_contam::{scan_corpus, BenchmarkItem, NgramIndex, ScanOptions};

/// A deterministic word source (xorshift), so every test builds the same text.
struct Words(u64);

impl Words {
    fn next_word(&mut self) -> String {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        format!("w{}", self.0 % 50_000)
    }

    fn sentence(&mut self, words: usize) -> String {
        (0..words)
            .map(|_| self.next_word())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// 40 items of 20-30 words; the even ones are planted in the corpus.
fn items(words: &mut Words) -> Vec<BenchmarkItem> {
    (0..40)
        .map(|i| {
            let question = words.sentence(20 + i % 10);
            BenchmarkItem::new(
                "synthetic",
                i,
                vec![format!("Q: {question}?"), "yes".into()],
            )
        })
        .collect()
}

fn write_gz(path: &Path, text: &str) {
    let mut encoder =
        flate2::write::GzEncoder::new(std::fs::File::create(path).unwrap(), Default::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap();
}

/// A corpus of plain, gzip and zstd text and JSON Lines files, with the even items'
/// questions planted (re-cased, re-punctuated, across a line break) among filler.
fn corpus(dir: &Path, items: &[BenchmarkItem], words: &mut Words) {
    let mut planted = items.iter().filter(|item| item.doc_id % 2 == 0);
    // Text files get the question across a line break; JSON Lines documents are single
    // lines, so there it stays whole.
    let mut text_with = |count: usize, split: bool| {
        let mut text = String::new();
        for _ in 0..count {
            text.push_str(&words.sentence(300));
            text.push('\n');
            if let Some(item) = planted.next() {
                let shouted = item.texts[0].to_uppercase().replace(' ', ",  ");
                let half = shouted.len() / 2;
                let cut = shouted[half..].find(' ').map_or(half, |i| half + i);
                let (head, tail) = shouted.split_at(cut);
                let gap = if split { "\n" } else { " " };
                text.push_str(&format!("{head}{gap}{tail}\n"));
            }
        }
        text
    };
    std::fs::write(dir.join("a.txt"), text_with(5, true)).unwrap();
    write_gz(&dir.join("b.txt.gz"), &text_with(5, true));
    std::fs::write(
        dir.join("c.txt.zst"),
        zstd::encode_all(text_with(5, true).as_bytes(), 3).unwrap(),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    let lines: String = text_with(5, false)
        .lines()
        .map(|line| format!("{}\n", serde_json::json!({"id": 1, "text": line})))
        .collect();
    std::fs::write(dir.join("sub/d.jsonl"), lines).unwrap();
}

#[test]
fn every_planted_item_is_found_and_no_clean_item_is_flagged() {
    for n in [8, 13] {
        let mut words = Words(0x2545_F491_4F6C_DD1D);
        let items = items(&mut words);
        let dir = tempfile::tempdir().unwrap();
        corpus(dir.path(), &items, &mut words);
        let index = NgramIndex::build(&items, n);
        let report =
            scan_corpus(&[dir.path().to_owned()], &index, &ScanOptions::default()).unwrap();
        assert_eq!(report.files, 4);
        assert!(report.issues.is_empty(), "{:?}", report.issues);
        for item in &report.items {
            let planted = item.doc_id % 2 == 0;
            assert_eq!(
                item.contaminated(),
                planted,
                "n={n} doc {}: {} matches",
                item.doc_id,
                item.matches
            );
            if planted {
                // "Q:" and the question's words, each n-gram of them found once.
                let words = 1 + 20 + item.doc_id % 10;
                assert_eq!(item.matches as usize, words - n + 1, "doc {}", item.doc_id);
                let sample = &item.samples[0];
                assert_eq!(sample.ngram.split(' ').count(), n);
            }
        }
    }
}

#[test]
fn offsets_point_at_the_match_in_the_decompressed_file() {
    let items = vec![BenchmarkItem::new(
        "t",
        7,
        vec!["alpha beta gamma delta epsilon".into()],
    )];
    let index = NgramIndex::build(&items, 3);
    let dir = tempfile::tempdir().unwrap();
    let text = "zeta eta\ntheta ALPHA, beta gamma!";
    write_gz(&dir.path().join("x.txt.gz"), text);
    let report = scan_corpus(&[dir.path().to_owned()], &index, &ScanOptions::default()).unwrap();
    let item = &report.items[0];
    assert_eq!(item.matches, 1);
    assert_eq!(item.samples[0].ngram, "alpha beta gamma");
    assert_eq!(item.samples[0].offset, text.find("ALPHA").unwrap() as u64);
    assert_eq!(report.bytes, text.len() as u64);
}

#[test]
fn malformed_files_are_reported_with_offsets_and_skipped() {
    let items = vec![BenchmarkItem::new(
        "t",
        0,
        vec!["one two three four five".into()],
    )];
    let index = NgramIndex::build(&items, 5);
    let dir = tempfile::tempdir().unwrap();
    // A gzip stream cut short after its first block's worth of text.
    let mut gz = Vec::new();
    {
        let mut encoder = flate2::write::GzEncoder::new(&mut gz, Default::default());
        encoder
            .write_all("one two three four five\n".repeat(2000).as_bytes())
            .unwrap();
        encoder.finish().unwrap();
    }
    std::fs::write(dir.path().join("cut.txt.gz"), &gz[..gz.len() / 2]).unwrap();
    std::fs::write(dir.path().join("garbage.txt.gz"), b"not gzip at all").unwrap();
    let mut latin1 = b"ok line\n".to_vec();
    latin1.extend_from_slice(b"caf\xe9 one two three four five\none two three four five\n");
    std::fs::write(dir.path().join("latin1.txt"), &latin1).unwrap();
    std::fs::write(
        dir.path().join("docs.jsonl"),
        "{\"text\": \"one two three four five\"}\n{\"text\": \"broken\n{\"body\": \"x\"}\n{\"text\": \"ONE two three four five.\"}\n",
    )
    .unwrap();
    let report = scan_corpus(&[dir.path().to_owned()], &index, &ScanOptions::default()).unwrap();
    assert_eq!(report.files, 4);
    let issues: Vec<(String, u64, &str)> = report
        .issues
        .iter()
        .map(|i| {
            (
                i.file.file_name().unwrap().to_string_lossy().into_owned(),
                i.offset,
                i.message.as_str(),
            )
        })
        .collect();
    let find = |file: &str| {
        issues
            .iter()
            .find(|(f, ..)| f == file)
            .unwrap_or_else(|| panic!("no issue for {file}: {issues:?}"))
    };
    assert!(find("cut.txt.gz").2.contains("rest of the file skipped"));
    assert!(find("garbage.txt.gz")
        .2
        .contains("rest of the file skipped"));
    let (_, offset, message) = find("latin1.txt");
    assert_eq!(*offset, 8 + 3, "the byte after \"caf\"");
    assert!(message.contains("invalid UTF-8"));
    let json: Vec<_> = issues.iter().filter(|(f, ..)| f == "docs.jsonl").collect();
    assert_eq!(json.len(), 2, "{json:?}");
    assert_eq!(json[0].1, 36, "the broken line starts after the first");
    assert!(json[0].2.contains("does not parse"));
    assert!(json[1].2.contains("no string field `text`"));
    // Everything readable was still scanned: the cut gzip's first part, the valid
    // latin1 line, and two JSON documents.
    assert!(report.items[0].matches > 2 + 1);
}

/// The benchmark's corpus generator: every planted item is found and nothing else, at
/// n = 8 and 13, over several shards scanned in parallel.
#[test]
fn synthetic_corpus_recall_is_complete_without_false_positives() {
    for n in [8, 13] {
        let mut words = Words(0x9E37_79B9_7F4A_7C15);
        let items: Vec<BenchmarkItem> = (0..300)
            .map(|i| BenchmarkItem::new("synthetic", i, vec![words.sentence(10 + i % 15)]))
            .collect();
        let index = NgramIndex::build(&items, n);
        let dir = tempfile::tempdir().unwrap();
        let corpus =
            yardstick_contam::write_synthetic_corpus(dir.path(), &index, 3_000_000, 500_000, 3, 7)
                .unwrap();
        assert_eq!(corpus.files.len(), 6);
        assert!(corpus.planted.len() >= 50, "{}", corpus.planted.len());
        let report = scan_corpus(&corpus.files, &index, &ScanOptions::default()).unwrap();
        let flagged: Vec<usize> = (0..items.len())
            .filter(|&i| report.items[i].contaminated())
            .collect();
        assert_eq!(flagged, corpus.planted, "n = {n}");
        assert!(report.bytes >= 3_000_000);
    }
}
