//! Where scripts/setup.sh puts models, so the CLI's default and the tests find them.

use std::path::PathBuf;

/// File name of the demo model, SmolLM2-135M-Instruct (Q4_1).
pub const DEMO_MODEL: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// File name of Gemma-3-270M (Q4_K_M).
pub const GEMMA_MODEL: &str = "gemma-3-270m-q4_k_m.gguf";

/// The model cache: `$YARDSTICK_CACHE`, else `~/.cache/yardstick`.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("YARDSTICK_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/yardstick")))
        .unwrap_or_else(|| PathBuf::from(".cache/yardstick"))
}

/// The path of a model file in the cache's `models/` folder.
pub fn cached_model(file: &str) -> PathBuf {
    cache_dir().join("models").join(file)
}
