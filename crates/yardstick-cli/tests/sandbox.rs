//! `yardstick sandbox FILE.py`: help, the printed outcome as a table and as JSON, and
//! the exit status for each verdict.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn yardstick() -> Command {
    Command::new(env!("CARGO_BIN_EXE_yardstick"))
}

fn program(dir: &Path, name: &str, source: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, source).unwrap();
    path
}

fn sandbox(args: &[&str], file: &Path) -> (Output, String) {
    let output = yardstick()
        .arg("sandbox")
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn sandbox_has_help_naming_its_options_and_exit_statuses() {
    let output = yardstick().args(["sandbox", "--help"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    for needle in [
        "Usage:",
        "FILE.py",
        "--timeout",
        "--memory",
        "--output",
        "Exit status",
    ] {
        assert!(stdout.contains(needle), "{needle} missing from:\n{stdout}");
    }
}

#[test]
fn a_passing_program_prints_passed_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let file = program(dir.path(), "ok.py", "print('hello from the sandbox')\n");
    let (output, stdout) = sandbox(&[], &file);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("verdict    passed"), "{stdout}");
    assert!(stdout.contains("hello from the sandbox"), "{stdout}");
    assert!(stdout.contains("memory 2048 MiB"), "{stdout}");
}

#[test]
fn a_failing_assertion_prints_the_exception_as_json_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = program(dir.path(), "bad.py", "x = 2\nassert x == 3, f'x is {x}'\n");
    let (output, stdout) = sandbox(&["--output", "json"], &file);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let report = json(&stdout);
    assert_eq!(report["outcome"]["verdict"], "failed");
    assert_eq!(report["outcome"]["exception"]["type"], "AssertionError");
    assert_eq!(report["outcome"]["exception"]["message"], "x is 2");
    assert_eq!(report["outcome"]["exception"]["line"], 2);
    assert_eq!(report["policy"]["timeout"], 10.0);
}

#[test]
fn memory_and_timeout_options_set_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let file = program(dir.path(), "big.py", "x = bytearray(512 * 1024**2)\n");
    let (output, stdout) = sandbox(&["--memory", "256", "--output", "json"], &file);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let report = json(&stdout);
    assert_eq!(report["outcome"]["verdict"], "killed");
    assert_eq!(report["outcome"]["limit"], "memory");
    assert_eq!(report["policy"]["memory_bytes"], 256 * 1024 * 1024);
    // The same program passes with more room.
    let (output, stdout) = sandbox(&["--memory", "1024"], &file);
    assert_eq!(output.status.code(), Some(0), "{stdout}");

    let file = program(dir.path(), "slow.py", "import time\ntime.sleep(60)\n");
    let (output, stdout) = sandbox(&["--timeout", "0.5"], &file);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("verdict    timed out"), "{stdout}");
}

#[test]
fn a_missing_file_or_bad_timeout_exits_2() {
    let (output, _) = sandbox(&[], Path::new("/nonexistent/program.py"));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read /nonexistent/program.py"));
    let dir = tempfile::tempdir().unwrap();
    let file = program(dir.path(), "ok.py", "pass\n");
    let (output, _) = sandbox(&["--timeout", "0"], &file);
    assert_eq!(output.status.code(), Some(2));
}
