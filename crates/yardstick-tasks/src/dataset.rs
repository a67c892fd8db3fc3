//! Finding and reading a task's documents.
//!
//! Data lives under a data directory (`--data-dir` or `YARDSTICK_DATA_DIR`) laid out as
//! the benchmark data is shipped: hub datasets as `hf/<owner>/<name>/<config>/<split>.jsonl`
//! (the hub's schema, so lm-eval's task files work unchanged), and local files named by
//! `dataset_path: json|csv|parquet` with `data_files`, relative to the data directory.
//! A hub dataset not found there is read from the Hugging Face cache, downloading its
//! parquet files first unless offline mode is on (see [`crate::hub`]).

use crate::config::LoadedConfig;
use crate::hub::HubConfig;
use crate::TaskError;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Where benchmark data is looked up.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: Option<PathBuf>,
    hub: HubConfig,
}

impl DataDir {
    /// A data directory at `root` (or none), with hub settings from the environment.
    pub fn new(root: Option<PathBuf>) -> Self {
        Self {
            root,
            hub: HubConfig::from_env(),
        }
    }

    /// The same data directory with other hub settings.
    pub fn with_hub(mut self, hub: HubConfig) -> Self {
        self.hub = hub;
        self
    }

    /// The directory itself.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    /// The documents of `split`, in file order (several `data_files` are concatenated).
    pub fn load_split(
        &self,
        task: &str,
        loaded: &LoadedConfig,
        split: &str,
    ) -> Result<Vec<Value>, TaskError> {
        let dataset_path = loaded.config.dataset_path.as_deref().ok_or_else(|| {
            loaded.field_error(
                "dataset_path",
                "missing: name a hub dataset or a loader such as json",
            )
        })?;
        let file_groups: Vec<Vec<PathBuf>> = if LOADERS.contains(&dataset_path) {
            data_files(loaded, split)?
                .iter()
                .map(|file| self.local_candidates(loaded, file))
                .collect()
        } else {
            let candidates = self.hub_candidates(dataset_path, loaded, split);
            if !candidates.iter().any(|p| p.is_file()) {
                let config = loaded.config.dataset_name.as_deref();
                let files = self
                    .hub
                    .split_files(dataset_path, config, split)
                    .map_err(|e| e.into_task_error(task, candidates))?;
                return read_all(&files);
            }
            vec![candidates]
        };
        let mut docs = Vec::new();
        for candidates in file_groups {
            match candidates.iter().find(|p| p.is_file()) {
                Some(path) => docs.extend(read_data_file(path)?),
                None => {
                    return Err(TaskError::DataNotFound {
                        task: task.to_owned(),
                        searched: if candidates.is_empty() {
                            vec![PathBuf::from("(no data directory set)")]
                        } else {
                            candidates
                        },
                    })
                }
            }
        }
        Ok(docs)
    }

    /// A local data file: as given when absolute, else under the data directory, else
    /// next to the task file.
    fn local_candidates(&self, loaded: &LoadedConfig, file: &str) -> Vec<PathBuf> {
        let file = Path::new(file);
        if file.is_absolute() {
            return vec![file.to_owned()];
        }
        let mut candidates: Vec<PathBuf> = self.root.iter().map(|root| root.join(file)).collect();
        if let Some(task_dir) = loaded.path.parent().filter(|d| !d.starts_with("builtin:")) {
            candidates.push(task_dir.join(file));
        }
        candidates
    }

    /// A hub dataset laid out as `hf/<owner>/<name>/<config>/<split>.jsonl`.
    fn hub_candidates(
        &self,
        dataset_path: &str,
        loaded: &LoadedConfig,
        split: &str,
    ) -> Vec<PathBuf> {
        let Some(root) = &self.root else {
            return Vec::new();
        };
        let config_name = loaded.config.dataset_name.as_deref().unwrap_or("default");
        let base = root.join("hf").join(dataset_path).join(config_name);
        ["jsonl", "json", "jsonl.gz", "parquet"]
            .iter()
            .map(|ext| base.join(format!("{split}.{ext}")))
            .collect()
    }
}

/// The `dataset_path` values that name a file loader rather than a hub dataset, as
/// Hugging Face `datasets` names them.
const LOADERS: &[&str] = &["json", "jsonl", "csv", "parquet"];

fn read_all(files: &[PathBuf]) -> Result<Vec<Value>, TaskError> {
    let mut docs = Vec::new();
    for file in files {
        docs.extend(read_data_file(file)?);
    }
    Ok(docs)
}

/// Reads a data file by its extension: JSON Lines or a JSON array (`.jsonl`, `.json`),
/// CSV (`.csv`) or Parquet (`.parquet`); `.gz` after JSON or CSV is decompressed.
pub fn read_data_file(path: &Path) -> Result<Vec<Value>, TaskError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let plain = name.strip_suffix(".gz").unwrap_or(&name);
    if plain.ends_with(".parquet") {
        return read_parquet(path);
    }
    let io = |source| TaskError::Io {
        path: path.to_owned(),
        source,
    };
    let bytes = std::fs::read(path).map_err(io)?;
    let bytes = if name.ends_with(".gz") {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut out)
            .map_err(io)?;
        out
    } else {
        bytes
    };
    if plain.ends_with(".csv") {
        return read_csv(path, &bytes);
    }
    let text = String::from_utf8(bytes).map_err(|e| TaskError::Data {
        path: path.to_owned(),
        line: 0,
        message: format!("not UTF-8: {e}"),
    })?;
    parse_json_documents(path, &text)
}

/// The file named for `split` in `dataset_kwargs.data_files` (a string, a list, or a map
/// from split to file).
fn data_files(loaded: &LoadedConfig, split: &str) -> Result<Vec<String>, TaskError> {
    let files = loaded
        .config
        .dataset_kwargs
        .as_ref()
        .and_then(|k| k.get("data_files"))
        .ok_or_else(|| loaded.field_error("dataset_kwargs", "a json dataset needs data_files"))?;
    let chosen = match files {
        serde_yaml::Value::Mapping(map) => map.get(split).cloned(),
        other => Some(other.clone()),
    };
    let as_list = |v: serde_yaml::Value| -> Option<Vec<String>> {
        match v {
            serde_yaml::Value::String(s) => Some(vec![s]),
            serde_yaml::Value::Sequence(items) => items
                .into_iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect(),
            _ => None,
        }
    };
    chosen.and_then(as_list).ok_or_else(|| {
        loaded.field_error(
            "dataset_kwargs",
            format!("data_files names no file for split `{split}`"),
        )
    })
}

fn parse_json_documents(path: &Path, text: &str) -> Result<Vec<Value>, TaskError> {
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text).map_err(|e| TaskError::Data {
            path: path.to_owned(),
            line: e.line(),
            message: e.to_string(),
        });
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| TaskError::Data {
                path: path.to_owned(),
                line: i + 1,
                message: format!("not valid JSON: {e}"),
            })
        })
        .collect()
}

/// A CSV file with a header row, typed as pandas (which `datasets` uses) types it: a
/// column whose every non-empty cell is an integer becomes integers, else floats, else
/// `True`/`False` booleans, else strings; empty cells are null.
fn read_csv(path: &Path, bytes: &[u8]) -> Result<Vec<Value>, TaskError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let csv_error = |e: csv::Error| TaskError::Data {
        path: path.to_owned(),
        line: e.position().map_or(0, |p| p.line() as usize),
        message: e.to_string(),
    };
    let header: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(str::to_owned)
        .collect();
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .map_err(csv_error)?;
    let kinds: Vec<CsvKind> = (0..header.len())
        .map(|column| CsvKind::of(rows.iter().filter_map(|r| r.get(column))))
        .collect();
    Ok(rows
        .iter()
        .map(|row| {
            let fields = header
                .iter()
                .zip(&kinds)
                .enumerate()
                .map(|(column, (name, kind))| {
                    (name.clone(), kind.value(row.get(column).unwrap_or("")))
                })
                .collect();
            Value::Object(fields)
        })
        .collect())
}

/// A CSV column's inferred type.
#[derive(Debug, Clone, Copy, PartialEq)]
enum CsvKind {
    Integer,
    Float,
    Bool,
    Text,
}

impl CsvKind {
    fn of<'a>(cells: impl Iterator<Item = &'a str>) -> Self {
        let cells: Vec<&str> = cells.filter(|c| !c.is_empty()).collect();
        if cells.is_empty() {
            Self::Text
        } else if cells.iter().all(|c| c.trim().parse::<i64>().is_ok()) {
            Self::Integer
        } else if cells.iter().all(|c| c.trim().parse::<f64>().is_ok()) {
            Self::Float
        } else if cells
            .iter()
            .all(|c| matches!(*c, "True" | "False" | "true" | "false" | "TRUE" | "FALSE"))
        {
            Self::Bool
        } else {
            Self::Text
        }
    }

    fn value(self, cell: &str) -> Value {
        if cell.is_empty() {
            return Value::Null;
        }
        match self {
            Self::Integer => cell.trim().parse::<i64>().map_or(Value::Null, Value::from),
            Self::Float => cell.trim().parse::<f64>().map_or(Value::Null, Value::from),
            Self::Bool => Value::Bool(cell.eq_ignore_ascii_case("true")),
            Self::Text => Value::String(cell.to_owned()),
        }
    }
}

/// A Parquet file's rows as JSON objects, columns in schema order (lists and structs
/// nested as the hub's parquet exports hold them).
fn read_parquet(path: &Path) -> Result<Vec<Value>, TaskError> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let parquet_error = |e: parquet::errors::ParquetError| TaskError::Data {
        path: path.to_owned(),
        line: 0,
        message: format!("not a readable parquet file: {e}"),
    };
    let file = std::fs::File::open(path).map_err(|source| TaskError::Io {
        path: path.to_owned(),
        source,
    })?;
    let reader = SerializedFileReader::new(file).map_err(parquet_error)?;
    reader
        .get_row_iter(None)
        .map_err(parquet_error)?
        .map(|row| row.map(|r| r.to_json_value()).map_err(parquet_error))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_json_line_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.jsonl");
        std::fs::write(&path, "{\"a\": 1}\n{oops\n").unwrap();
        let message = read_data_file(&path).unwrap_err().to_string();
        assert!(message.contains("d.jsonl:2:"), "{message}");
    }

    #[test]
    fn csv_columns_are_typed_like_pandas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        std::fs::write(
            &path,
            "\u{feff}q,label,score,ok\n\"a, b\",1,0.5,True\nc,2,,False\n",
        )
        .unwrap();
        let docs = read_data_file(&path).unwrap();
        assert_eq!(
            docs[0],
            serde_json::json!({"q": "a, b", "label": 1, "score": 0.5, "ok": true})
        );
        assert_eq!(docs[1]["score"], Value::Null);
        let keys: Vec<&String> = docs[0].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["q", "label", "score", "ok"]);
    }

    #[test]
    fn gzipped_json_lines_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.jsonl.gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut encoder, b"{\"a\": 1}\n{\"a\": 2}\n").unwrap();
        std::fs::write(&path, encoder.finish().unwrap()).unwrap();
        assert_eq!(read_data_file(&path).unwrap().len(), 2);
    }

    #[test]
    fn reads_lines_and_arrays() {
        let dir = tempfile::tempdir().unwrap();
        let lines = dir.path().join("a.jsonl");
        std::fs::write(&lines, "{\"a\": 1}\n\n{\"a\": 2}\n").unwrap();
        assert_eq!(read_data_file(&lines).unwrap().len(), 2);
        let array = dir.path().join("b.json");
        std::fs::write(&array, "[{\"a\": 1}]").unwrap();
        assert_eq!(read_data_file(&array).unwrap().len(), 1);
    }
}
