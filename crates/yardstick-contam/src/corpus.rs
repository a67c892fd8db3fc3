//! Corpus files: finding them, telling their format, and reading them as a stream.

use crate::ContamError;
use serde::Serialize;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

/// How a corpus file's text is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CorpusFormat {
    /// The whole file is one text.
    Text,
    /// One JSON object per line; the text is in a string field (`text` by default).
    JsonLines,
}

/// A part of the corpus that could not be read and was skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorpusIssue {
    /// The file.
    pub file: PathBuf,
    /// Byte offset in the (decompressed) file where the problem starts.
    pub offset: u64,
    /// What was wrong, and what was skipped.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

/// The format and compression a file's name says (`.jsonl`, `.ndjson`, `.json` are JSON
/// Lines; `.gz`, `.zst`/`.zstd` compressed; anything else plain text).
fn kind_of(path: &Path) -> (CorpusFormat, Compression) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let (stem, compression) = if let Some(stem) = name.strip_suffix(".gz") {
        (stem, Compression::Gzip)
    } else if let Some(stem) = name
        .strip_suffix(".zst")
        .or_else(|| name.strip_suffix(".zstd"))
    {
        (stem, Compression::Zstd)
    } else {
        (name.as_str(), Compression::None)
    };
    let format = if [".jsonl", ".ndjson", ".json"]
        .iter()
        .any(|ext| stem.ends_with(ext))
    {
        CorpusFormat::JsonLines
    } else {
        CorpusFormat::Text
    };
    (format, compression)
}

/// Every file under `paths` (folders recursively, hidden files skipped), sorted, so a
/// scan's order and report are stable.
pub(crate) fn list_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ContamError> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, &mut files)?;
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) -> Result<(), ContamError> {
    let error = |source| ContamError::Corpus {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(error)?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).map_err(error)? {
            let entry = entry.map_err(error)?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            collect(&entry.path(), files)?;
        }
    } else {
        files.push(path.to_owned());
    }
    Ok(())
}

/// An open corpus file: its format and a buffered stream of its decompressed bytes.
pub(crate) struct CorpusFile {
    pub format: CorpusFormat,
    pub reader: Box<dyn BufRead + Send>,
}

const READ_BUFFER: usize = 1 << 20;

pub(crate) fn open(path: &Path) -> std::io::Result<CorpusFile> {
    let (format, compression) = kind_of(path);
    let file = std::fs::File::open(path)?;
    let reader: Box<dyn BufRead + Send> = match compression {
        Compression::None => Box::new(BufReader::with_capacity(READ_BUFFER, file)),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            READ_BUFFER,
            flate2::read::MultiGzDecoder::new(BufReader::new(file)),
        )),
        Compression::Zstd => Box::new(BufReader::with_capacity(
            READ_BUFFER,
            zstd::stream::read::Decoder::new(file)?,
        )),
    };
    Ok(CorpusFile { format, reader })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_format_and_compression() {
        assert_eq!(
            kind_of(Path::new("a/b.jsonl.gz")),
            (CorpusFormat::JsonLines, Compression::Gzip)
        );
        assert_eq!(
            kind_of(Path::new("c4.json.zst")),
            (CorpusFormat::JsonLines, Compression::Zstd)
        );
        assert_eq!(
            kind_of(Path::new("wiki.TXT")),
            (CorpusFormat::Text, Compression::None)
        );
        assert_eq!(
            kind_of(Path::new("shard-0001")),
            (CorpusFormat::Text, Compression::None)
        );
    }
}
