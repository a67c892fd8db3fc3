//! `yardstick sandbox FILE.py`: runs one program under the sandbox policy that code
//! benchmarks use and prints how it ended, so that users can check their limits.

use crate::args::OutputFormat;
use anyhow::{bail, Context, Result};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use yardstick_sandbox::{Outcome, Policy, Program, Sandbox};

const MIB: u64 = 1024 * 1024;

#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 when the program passed; 1 when it failed, timed out \
    or was killed by a limit; 2 when the sandbox could not run it.\n\
    The program runs with python3 in a throwaway directory, with an empty environment, no \
    network, and limits on CPU time (the timeout, rounded up), address space, processes (16), \
    open files (128) and file size (64 MiB); see crates/yardstick-sandbox/README.md."
)]
pub struct SandboxArgs {
    /// The Python program to run.
    #[arg(value_name = "FILE.py")]
    pub file: PathBuf,
    /// Wall-clock limit in seconds; the whole process group is killed when it passes.
    #[arg(long, value_name = "S", default_value_t = Policy::default().timeout.as_secs_f64())]
    pub timeout: f64,
    /// Address-space limit (RLIMIT_AS) in MiB.
    #[arg(long, value_name = "MB", default_value_t = Policy::default().memory_bytes / MIB)]
    pub memory: u64,
    /// Print the outcome as a table or as JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// Runs the file and prints its outcome; exits with 1 when it did not pass and 2 when
/// it could not be run.
pub fn run(args: SandboxArgs) -> Result<()> {
    let (sandbox, outcome) = match execute(&args) {
        Ok(done) => done,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::exit(2);
        }
    };
    for warning in sandbox.warnings() {
        eprintln!("warning: {warning}");
    }
    match args.output {
        OutputFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "isolation": sandbox.isolation(),
                "sandbox_uid": sandbox.sandbox_uid(),
                "warnings": sandbox.warnings(),
                "policy": sandbox.policy(),
                "outcome": outcome,
            }))?
        ),
        OutputFormat::Table => print!("{}", table(&sandbox, &outcome)),
    }
    std::io::stdout().flush()?;
    if !outcome.passed() {
        std::process::exit(1);
    }
    Ok(())
}

fn execute(args: &SandboxArgs) -> Result<(Sandbox, Outcome)> {
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .with_context(|| {
            format!(
                "--timeout {} is not a positive number of seconds",
                args.timeout
            )
        })?;
    if args.memory == 0 {
        bail!("--memory must be a positive number of MiB");
    }
    let source = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let sandbox = Sandbox::new(Policy {
        timeout,
        memory_bytes: args.memory.saturating_mul(MIB),
        ..Policy::default()
    })?;
    let outcome = sandbox.run(&Program::new(args.file.display().to_string(), source))?;
    Ok((sandbox, outcome))
}

fn table(sandbox: &Sandbox, outcome: &Outcome) -> String {
    let policy = sandbox.policy();
    let isolation = match sandbox.sandbox_uid() {
        Some(uid) => format!("{} (as uid {uid})", sandbox.isolation()),
        None => sandbox.isolation().to_string(),
    };
    let limits = format!(
        "timeout {} s, cpu {} s, memory {} MiB, processes {}, open files {}, file size {} MiB",
        policy.timeout.as_secs_f64(),
        policy.effective_cpu_seconds(),
        policy.memory_bytes / MIB,
        policy.max_processes,
        policy.max_open_files,
        policy.max_file_bytes / MIB,
    );
    let mut out = String::new();
    for (key, value) in [
        ("program", outcome.program.clone()),
        ("verdict", outcome.verdict.to_string()),
        ("seconds", format!("{:.2}", outcome.seconds)),
        ("isolation", isolation),
        ("limits", limits),
    ] {
        out.push_str(&format!("{key:<10} {value}\n"));
    }
    for (name, text) in [("stdout", &outcome.stdout), ("stderr", &outcome.stderr)] {
        if !text.is_empty() {
            out.push_str(&format!("\n--- {name} ---\n{text}"));
            if !text.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    if outcome.output_truncated {
        out.push_str("(output truncated)\n");
    }
    out
}
