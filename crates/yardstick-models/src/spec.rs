use crate::ModelError;
use std::path::PathBuf;

/// How the user names a model: `gguf:PATH` for a local GGUF file, `openai:MODEL` for a
/// model behind an OpenAI-compatible endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSpec {
    /// A GGUF file run in-process by llama.cpp.
    Gguf(PathBuf),
    /// A model id at an OpenAI-compatible endpoint.
    OpenAi(String),
}

impl std::str::FromStr for ModelSpec {
    type Err = ModelError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        match spec.split_once(':') {
            Some(("gguf", path)) if !path.is_empty() => Ok(ModelSpec::Gguf(PathBuf::from(path))),
            Some(("openai", model)) if !model.is_empty() => Ok(ModelSpec::OpenAi(model.to_owned())),
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
        assert_eq!(
            "openai:gpt-3.5-turbo".parse::<ModelSpec>().unwrap(),
            ModelSpec::OpenAi("gpt-3.5-turbo".into())
        );
        assert!("openai".parse::<ModelSpec>().is_err());
        assert!("openai:".parse::<ModelSpec>().is_err());
        assert!("gguf:".parse::<ModelSpec>().is_err());
    }
}
