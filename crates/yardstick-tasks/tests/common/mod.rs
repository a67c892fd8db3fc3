//! What the integration tests share: finding the benchmark data.

use std::path::PathBuf;

/// The benchmark data directory (`YARDSTICK_DATA_DIR`, else `../shared/data` beside the
/// repository); fails loudly unless every path in `needed` is there.
pub fn data_dir(needed: &[&str]) -> PathBuf {
    let dir = std::env::var_os("YARDSTICK_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        });
    for path in needed {
        assert!(
            dir.join(path).exists(),
            "benchmark data not found at {} (no {path}); set YARDSTICK_DATA_DIR",
            dir.display()
        );
    }
    dir
}
