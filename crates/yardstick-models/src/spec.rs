use crate::ModelError;
use std::path::PathBuf;

/// How the user names a model: `gguf:PATH` for a local GGUF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSpec {
    /// A GGUF file run in-process by llama.cpp.
    Gguf(PathBuf),
}

impl std::str::FromStr for ModelSpec {
    type Err = ModelError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        match spec.split_once(':') {
            Some(("gguf", path)) if !path.is_empty() => Ok(ModelSpec::Gguf(PathBuf::from(path))),
            _ if spec.ends_with(".gguf") => Ok(ModelSpec::Gguf(PathBuf::from(spec))),
            _ => Err(ModelError::BadSpec {
                spec: spec.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gguf_prefix_and_bare_paths() {
        assert_eq!(
            "gguf:/m/a.gguf".parse::<ModelSpec>().unwrap(),
            ModelSpec::Gguf("/m/a.gguf".into())
        );
        assert_eq!(
            "b.gguf".parse::<ModelSpec>().unwrap(),
            ModelSpec::Gguf("b.gguf".into())
        );
        assert!("openai".parse::<ModelSpec>().is_err());
        assert!("gguf:".parse::<ModelSpec>().is_err());
    }
}
