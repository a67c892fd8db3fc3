//! What a run records about where and how it ran.

use serde_json::{json, Value};

/// yardstick's version, with the git commit it was built from when known.
pub fn harness_version() -> String {
    let version = env!("CARGO_PKG_VERSION");
    match option_env!("YARDSTICK_GIT_HASH") {
        Some(hash) if !hash.is_empty() => format!("{version}+{hash}"),
        _ => version.to_owned(),
    }
}

/// CPU model, core count, memory and OS, read from the machine.
pub fn hardware_summary() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: Option<u64> = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok());
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "memory_gib": memory_kib.map(|k| (k as f64 / 1_048_576.0 * 10.0).round() / 10.0),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
    })
}
