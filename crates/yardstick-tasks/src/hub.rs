//! Hub datasets for real users: the parquet files the Hugging Face hub serves for a
//! dataset's config and split, cached where `huggingface_hub` caches them.
//!
//! The cache is `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`;
//! a dataset lives in `datasets--<owner>--<name>/snapshots/<commit>/`. Files are found
//! there in the layouts the hub uses: its parquet conversion (`<config>/<split>/*.parquet`,
//! kept on the `refs/convert/parquet` branch) and parquet files committed to the
//! repository itself (`<config>/<split>-*.parquet`, `data/<split>-*.parquet`). With
//! `HF_HUB_OFFLINE` or `HF_DATASETS_OFFLINE` set, nothing is downloaded.

use crate::TaskError;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Where and how hub datasets are fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubConfig {
    /// The hub's address (`HF_ENDPOINT`, default `https://huggingface.co`).
    pub endpoint: String,
    /// The cache root holding `datasets--<owner>--<name>` folders.
    pub cache_dir: PathBuf,
    /// Never touch the network.
    pub offline: bool,
    /// Access token for gated datasets (`HF_TOKEN`, or the `token` file in `HF_HOME`).
    pub token: Option<String>,
}

impl HubConfig {
    /// The settings `huggingface_hub` reads from the environment.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let home = var("HF_HOME").map(PathBuf::from).unwrap_or_else(|| {
            var("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| var("HOME").map(|h| Path::new(&h).join(".cache")))
                .unwrap_or_else(|| PathBuf::from(".cache"))
                .join("huggingface")
        });
        let truthy = |name: &str| {
            var(name).is_some_and(|v| {
                matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
            })
        };
        Self {
            endpoint: var("HF_ENDPOINT").unwrap_or_else(|| "https://huggingface.co".to_owned()),
            cache_dir: var("HF_HUB_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join("hub")),
            offline: truthy("HF_HUB_OFFLINE") || truthy("HF_DATASETS_OFFLINE"),
            token: var("HF_TOKEN").or_else(|| {
                std::fs::read_to_string(home.join("token"))
                    .ok()
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
            }),
        }
    }

    /// The cache folder of dataset `repo` (`owner/name`).
    pub fn dataset_dir(&self, repo: &str) -> PathBuf {
        self.cache_dir
            .join(format!("datasets--{}", repo.replace('/', "--")))
    }

    /// The parquet files of `repo`'s `config` (default `default`) and `split`, from the
    /// cache, downloading the hub's parquet conversion first when they are missing and
    /// the hub may be reached.
    pub fn split_files(
        &self,
        repo: &str,
        config: Option<&str>,
        split: &str,
    ) -> Result<Vec<PathBuf>, HubError> {
        let config = config.unwrap_or("default");
        let dir = self.dataset_dir(repo);
        if let Some(files) = cached_split_files(&dir, config, split) {
            return Ok(files);
        }
        if self.offline {
            return Err(HubError::Offline {
                repo: repo.to_owned(),
                cache: dir,
            });
        }
        self.download_split(repo, config, split)
    }

    /// One file of dataset `repo`'s main branch (as `hf_hub_download(repo_id=repo,
    /// filename=..., repo_type="dataset")` fetches it): from the cache, else downloaded
    /// into it when the hub may be reached.
    pub fn dataset_file(&self, repo: &str, filename: &str) -> Result<PathBuf, HubError> {
        let dir = self.dataset_dir(repo);
        let mut snapshots: Vec<PathBuf> = Vec::new();
        if let Ok(commit) = std::fs::read_to_string(dir.join("refs/main")) {
            snapshots.push(dir.join("snapshots").join(commit.trim()));
        }
        if let Ok(entries) = std::fs::read_dir(dir.join("snapshots")) {
            let mut others: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            others.sort();
            snapshots.extend(others);
        }
        if let Some(found) = snapshots
            .iter()
            .map(|s| s.join(filename))
            .find(|p| p.is_file())
        {
            return Ok(found);
        }
        if self.offline {
            return Err(HubError::Offline {
                repo: repo.to_owned(),
                cache: dir,
            });
        }
        let endpoint = self.endpoint.trim_end_matches('/');
        let revision_url = format!("{endpoint}/api/datasets/{repo}/revision/main");
        let commit = self
            .get_json(&revision_url)?
            .get("sha")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| HubError::Http {
                url: revision_url.clone(),
                message: "no commit `sha` in the answer".into(),
            })?;
        let target = dir.join("snapshots").join(&commit).join(filename);
        let url = format!("{endpoint}/datasets/{repo}/resolve/{commit}/{filename}");
        write_download(&target, self.get(&url)?.into_reader())?;
        write_download(&dir.join("refs").join("main"), commit.as_bytes())?;
        Ok(target)
    }

    fn get(&self, url: &str) -> Result<ureq::Response, HubError> {
        let mut request = ureq::get(url);
        if let Some(token) = &self.token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        request.call().map_err(|e| HubError::Http {
            url: url.to_owned(),
            message: e.to_string(),
        })
    }

    fn get_json(&self, url: &str) -> Result<Value, HubError> {
        let response = self.get(url)?;
        serde_json::from_reader(response.into_reader()).map_err(|e| HubError::Http {
            url: url.to_owned(),
            message: format!("not JSON: {e}"),
        })
    }

    /// Fetches the split's files from the `refs/convert/parquet` branch into the cache.
    fn download_split(
        &self,
        repo: &str,
        config: &str,
        split: &str,
    ) -> Result<Vec<PathBuf>, HubError> {
        let endpoint = self.endpoint.trim_end_matches('/');
        let revision_url =
            format!("{endpoint}/api/datasets/{repo}/revision/refs%2Fconvert%2Fparquet");
        let commit = self
            .get_json(&revision_url)?
            .get("sha")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| HubError::Http {
                url: revision_url.clone(),
                message: "no commit `sha` in the answer".into(),
            })?;
        let tree_url = format!("{endpoint}/api/datasets/{repo}/tree/{commit}/{config}/{split}");
        let listing = self.get_json(&tree_url)?;
        let mut paths: Vec<String> = listing
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry.get("type").and_then(Value::as_str) == Some("file"))
            .filter_map(|entry| entry.get("path").and_then(Value::as_str))
            .filter(|path| path.ends_with(".parquet"))
            .map(str::to_owned)
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(HubError::Http {
                url: tree_url,
                message: format!("no parquet files for config `{config}`, split `{split}`"),
            });
        }
        let dir = self.dataset_dir(repo);
        let snapshot = dir.join("snapshots").join(&commit);
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            let target = snapshot.join(&path);
            if !target.is_file() {
                let url = format!("{endpoint}/datasets/{repo}/resolve/{commit}/{path}");
                let response = self.get(&url)?;
                write_download(&target, response.into_reader())?;
            }
            files.push(target);
        }
        let reference = dir
            .join("refs")
            .join("refs")
            .join("convert")
            .join("parquet");
        write_download(&reference, commit.as_bytes())?;
        Ok(files)
    }
}

/// Writes a download next to its destination and renames it into place, so a killed
/// download never leaves a truncated file that looks complete.
fn write_download(target: &Path, mut reader: impl std::io::Read) -> Result<(), HubError> {
    let io = |source| HubError::Io {
        path: target.to_owned(),
        source,
    };
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let partial = target.with_extension("incomplete");
    let mut file = std::fs::File::create(&partial).map_err(io)?;
    std::io::copy(&mut reader, &mut file).map_err(io)?;
    std::fs::rename(&partial, target).map_err(io)
}

/// The split's parquet files in a cached dataset folder, in name order. Snapshots named
/// by a ref (`refs/main`, `refs/refs/convert/parquet`) are tried before others.
fn cached_split_files(dataset_dir: &Path, config: &str, split: &str) -> Option<Vec<PathBuf>> {
    let mut snapshots: Vec<PathBuf> = Vec::new();
    for reference in ["refs/main", "refs/refs/convert/parquet"] {
        if let Ok(commit) = std::fs::read_to_string(dataset_dir.join(reference)) {
            snapshots.push(dataset_dir.join("snapshots").join(commit.trim()));
        }
    }
    if let Ok(entries) = std::fs::read_dir(dataset_dir.join("snapshots")) {
        let mut others: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        others.sort();
        snapshots.extend(others);
    }
    let prefix = format!("{split}-");
    for snapshot in snapshots {
        let mut layouts = vec![
            (snapshot.join(config).join(split), None),
            (snapshot.join(config).join(format!("partial-{split}")), None),
            (snapshot.join(config), Some(prefix.as_str())),
        ];
        if config == "default" {
            layouts.push((snapshot.join("data"), Some(prefix.as_str())));
            layouts.push((snapshot.clone(), Some(prefix.as_str())));
        }
        for (folder, name_prefix) in layouts {
            let files = parquet_files(&folder, name_prefix);
            if !files.is_empty() {
                return Some(files);
            }
        }
    }
    None
}

fn parquet_files(folder: &Path, name_prefix: Option<&str>) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            name.ends_with(".parquet") && name_prefix.is_none_or(|prefix| name.starts_with(prefix))
        })
        .collect();
    files.sort();
    files
}

/// Why a hub dataset could not be had.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// Offline mode is on and the cache lacks the files.
    #[error("dataset `{repo}` is not in the Hugging Face cache ({}) and offline mode (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE) forbids downloading it", cache.display())]
    Offline {
        /// The dataset.
        repo: String,
        /// Its cache folder.
        cache: PathBuf,
    },
    /// The hub could not be reached or answered unexpectedly.
    #[error("downloading from the hub failed: {url}: {message}")]
    Http {
        /// The address asked.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The cache could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl HubError {
    /// A task-level error that also lists where the data directory was searched.
    pub(crate) fn into_task_error(self, task: &str, searched: Vec<PathBuf>) -> TaskError {
        TaskError::HubData {
            task: task.to_owned(),
            searched,
            source: self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_hub_layout() {
        let dir = tempfile::tempdir().unwrap();
        let dataset = dir.path().join("datasets--o--n");
        let snapshot = dataset.join("snapshots/abc");
        for path in [
            "ARC-Easy/test/0000.parquet",
            "ARC-Easy/test/0001.parquet",
            "cfg/validation-00000-of-00001.parquet",
            "data/train-00000-of-00002.parquet",
        ] {
            std::fs::create_dir_all(snapshot.join(path).parent().unwrap()).unwrap();
            std::fs::write(snapshot.join(path), b"").unwrap();
        }
        let names = |files: Option<Vec<PathBuf>>| -> Vec<String> {
            files
                .unwrap_or_default()
                .iter()
                .map(|p| p.strip_prefix(&snapshot).unwrap().display().to_string())
                .collect()
        };
        assert_eq!(
            names(cached_split_files(&dataset, "ARC-Easy", "test")),
            ["ARC-Easy/test/0000.parquet", "ARC-Easy/test/0001.parquet"]
        );
        assert_eq!(
            names(cached_split_files(&dataset, "cfg", "validation")),
            ["cfg/validation-00000-of-00001.parquet"]
        );
        assert_eq!(
            names(cached_split_files(&dataset, "default", "train")),
            ["data/train-00000-of-00002.parquet"]
        );
        assert!(cached_split_files(&dataset, "cfg", "test").is_none());
    }

    #[test]
    fn offline_mode_refuses_to_download() {
        let dir = tempfile::tempdir().unwrap();
        let hub = HubConfig {
            endpoint: "http://127.0.0.1:9".into(),
            cache_dir: dir.path().into(),
            offline: true,
            token: None,
        };
        let err = hub.split_files("o/n", None, "test").unwrap_err();
        assert!(matches!(err, HubError::Offline { .. }), "{err}");
        let err = hub.dataset_file("o/n", "df.csv").unwrap_err();
        assert!(matches!(err, HubError::Offline { .. }), "{err}");
    }

    #[test]
    fn dataset_files_come_from_the_main_snapshot_first() {
        let dir = tempfile::tempdir().unwrap();
        let dataset = dir.path().join("datasets--o--n");
        for (commit, text) in [("aaa", "old"), ("zzz", "main")] {
            let file = dataset.join("snapshots").join(commit).join("df.csv");
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, text).unwrap();
        }
        std::fs::create_dir_all(dataset.join("refs")).unwrap();
        std::fs::write(dataset.join("refs/main"), "zzz\n").unwrap();
        let hub = HubConfig {
            endpoint: "http://127.0.0.1:9".into(),
            cache_dir: dir.path().into(),
            offline: true,
            token: None,
        };
        let found = hub.dataset_file("o/n", "df.csv").unwrap();
        assert_eq!(std::fs::read_to_string(found).unwrap(), "main");
    }
}
