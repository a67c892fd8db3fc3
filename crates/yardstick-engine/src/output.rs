use crate::EngineError;
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` through a temporary file and a rename, so a killed process
/// never leaves a half-written file behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    let wrap = |source| EngineError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(wrap)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = std::path::PathBuf::from(tmp);
    let mut file = std::fs::File::create(&tmp).map_err(wrap)?;
    file.write_all(bytes).map_err(wrap)?;
    file.sync_all().map_err(wrap)?;
    std::fs::rename(&tmp, path).map_err(wrap)
}

/// lm-eval's `sanitize_model_name`: every run of the characters `"<>:/|\?*[]` becomes
/// `__`, so a model path can name a directory.
pub fn sanitize_model_name(name: &str) -> String {
    let special = |c: char| {
        matches!(
            c,
            '"' | '<' | '>' | ':' | '/' | '|' | '\\' | '?' | '*' | '[' | ']'
        )
    };
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if special(c) {
            if !in_run {
                out.push_str("__");
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_paths() {
        assert_eq!(sanitize_model_name("/m/a.gguf"), "__m__a.gguf");
        assert_eq!(sanitize_model_name("plain name_1"), "plain name_1");
        assert_eq!(sanitize_model_name("a//b"), "a__b");
    }

    #[test]
    fn atomic_write_leaves_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.json");
        write_atomic(&path, b"{}").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        assert!(!dir.path().join("sub/out.json.partial").exists());
    }
}
