//! The sandbox end to end, with real processes and the real python3: ordinary programs
//! and their verdicts, then hostile programs (issue 4) that must be contained and
//! reported while the host stays unharmed.

use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use yardstick_sandbox::{
    Isolation, Limit, Outcome, Policy, Program, Sandbox, SandboxError, Verdict,
};

/// A sandbox whose throwaway directories go under a directory of the test's own, so
/// that the test can check they are removed.
struct Harness {
    sandbox: Sandbox,
    scratch: tempfile::TempDir,
}

impl Harness {
    fn new(policy: Policy) -> Harness {
        let scratch = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::new(Policy {
            scratch_dir: Some(scratch.path().to_owned()),
            ..policy
        })
        .unwrap();
        Harness { sandbox, scratch }
    }

    fn run(&self, source: &str) -> Outcome {
        let outcome = self.sandbox.run(&Program::new("test", source)).unwrap();
        assert_eq!(
            std::fs::read_dir(self.scratch.path()).unwrap().count(),
            0,
            "the throwaway directory is left behind"
        );
        outcome
    }
}

fn default() -> Harness {
    Harness::new(Policy::default())
}

/// A name no other test or run uses.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}{}{nanos:x}", std::process::id())
}

fn host_can_spawn() -> bool {
    Command::new("true").status().is_ok_and(|s| s.success())
}

fn exception_kind(outcome: &Outcome) -> Option<&str> {
    match &outcome.verdict {
        Verdict::Failed { exception, .. } | Verdict::Killed { exception, .. } => {
            exception.as_ref().map(|e| e.kind.as_str())
        }
        _ => None,
    }
}

// ---- ordinary programs ---------------------------------------------------------------

#[test]
fn a_passing_program_passes_and_its_output_is_kept() {
    let outcome =
        default().run("def add(a, b):\n    return a + b\n\nassert add(2, 3) == 5\nprint('five')\n");
    assert_eq!(outcome.verdict, Verdict::Passed, "{outcome:#?}");
    assert_eq!(outcome.stdout, "five\n");
    assert!(outcome.passed());
}

#[test]
fn an_assertion_error_fails_with_its_text_and_line() {
    let source =
        "def add(a, b):\n    return a - b\n\nassert add(2, 3) == 5, 'add(2, 3) should be 5'\n";
    let outcome = default().run(source);
    let Verdict::Failed {
        exception: Some(exception),
        exit_code,
        signal,
    } = &outcome.verdict
    else {
        panic!("{outcome:#?}")
    };
    assert_eq!(exception.kind, "AssertionError");
    assert_eq!(exception.message, "add(2, 3) should be 5");
    assert_eq!(exception.line, Some(4));
    assert_eq!((*exit_code, *signal), (Some(1), None));
    assert!(
        outcome.stderr.contains("Traceback")
            && outcome.stderr.contains("AssertionError: add(2, 3)")
    );
    assert_eq!(
        outcome.verdict.to_string(),
        "failed: AssertionError: add(2, 3) should be 5 (line 4)"
    );
}

#[test]
fn other_exceptions_and_exit_statuses_have_clear_verdicts() {
    let harness = default();
    let failed = |source: &str| harness.run(source).verdict;
    assert!(matches!(
        failed("int('seven')\n"),
        Verdict::Failed { exception: Some(e), .. } if e.kind == "ValueError" && e.message.contains("'seven'")
    ));
    assert!(matches!(
        failed("def f(:\n    pass\n"),
        Verdict::Failed { exception: Some(e), .. } if e.kind == "SyntaxError" && e.line == Some(1)
    ));
    assert!(matches!(
        failed("import json\njson.loads('{')\n"),
        Verdict::Failed { exception: Some(e), .. } if e.kind == "json.decoder.JSONDecodeError"
    ));
    assert_eq!(
        failed("import sys\nsys.exit(0)\nassert False\n"),
        Verdict::Passed
    );
    assert_eq!(failed("import os\nos._exit(0)\n"), Verdict::Passed);
    assert_eq!(
        failed("import sys\nsys.exit(3)\n"),
        Verdict::Failed {
            exception: None,
            exit_code: Some(3),
            signal: None
        }
    );
    // An exit status above 128 chosen by the program is not mistaken for a signal.
    assert_eq!(
        failed("import sys\nsys.exit(137)\n"),
        Verdict::Failed {
            exception: None,
            exit_code: Some(137),
            signal: None
        }
    );
    assert_eq!(
        failed("import sys\nsys.exit('bad input')\n"),
        Verdict::Failed {
            exception: None,
            exit_code: Some(1),
            signal: None
        }
    );
    assert_eq!(
        failed("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n"),
        Verdict::Failed {
            exception: None,
            exit_code: None,
            signal: Some(11)
        }
    );
}

#[test]
fn programs_get_an_empty_environment_and_a_throwaway_home() {
    let outcome = default().run(
        "import os, sys\n\
         print(sorted(os.environ))\n\
         home = os.path.expanduser('~')\n\
         assert os.path.isdir(home) and not os.listdir(home)\n\
         open(os.path.join(home, 'x'), 'w').write('x')\n\
         assert sorted(os.listdir('.')) == ['home', 'main.py', 'tmp'], os.listdir('.')\n\
         import tempfile\n\
         assert tempfile.gettempdir() == os.environ['TMPDIR']\n",
    );
    assert_eq!(outcome.verdict, Verdict::Passed, "{outcome:#?}");
    assert_eq!(
        outcome.stdout,
        "['HOME', 'LANG', 'PATH', 'PWD', 'TMPDIR']\n"
    );
}

#[test]
fn run_all_keeps_order_and_runs_programs_at_once() {
    let harness = Harness::new(Policy {
        concurrency: Some(4),
        ..Policy::default()
    });
    let programs: Vec<Program> = (0..8)
        .map(|i| {
            Program::new(
                format!("p{i}"),
                format!("import time\ntime.sleep(1)\nassert {i} % 3 != 0\n"),
            )
        })
        .collect();
    let started = Instant::now();
    let outcomes = harness.sandbox.run_all(&programs);
    let seconds = started.elapsed().as_secs_f64();
    for (i, outcome) in outcomes.iter().enumerate() {
        let outcome = outcome.as_ref().unwrap();
        assert_eq!(outcome.program, format!("p{i}"));
        assert_eq!(outcome.passed(), i % 3 != 0, "{outcome:#?}");
    }
    // Eight one-second sleeps, four at a time: about two seconds; one after another
    // they would take more than eight.
    assert!(seconds < 6.0, "run_all took {seconds:.2} s");
    assert_eq!(
        std::fs::read_dir(harness.scratch.path()).unwrap().count(),
        0
    );
}

#[test]
fn a_policy_no_program_could_run_under_is_refused() {
    let error = Sandbox::new(Policy {
        timeout: Duration::ZERO,
        ..Policy::default()
    })
    .unwrap_err();
    assert!(
        matches!(
            error,
            SandboxError::InvalidPolicy {
                field: "timeout",
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn outcomes_serialize_with_a_verdict_tag() {
    let outcome = default().run("assert 1 == 2\n");
    let json = serde_json::to_value(&outcome).unwrap();
    assert_eq!(json["verdict"], "failed");
    assert_eq!(json["exception"]["type"], "AssertionError");
    assert_eq!(json["exit_code"], 1);
    let back: Outcome = serde_json::from_value(json).unwrap();
    assert_eq!(back, outcome);
}

// ---- hostile programs ----------------------------------------------------------------

#[test]
fn an_infinite_loop_is_killed_by_the_cpu_limit() {
    let harness = Harness::new(Policy {
        cpu_seconds: Some(1),
        timeout: Duration::from_secs(30),
        ..Policy::default()
    });
    let outcome = harness.run("while True:\n    pass\n");
    assert_eq!(
        outcome.verdict,
        Verdict::Killed {
            limit: Limit::Cpu,
            exception: None,
            signal: Some(24)
        },
        "{outcome:#?}"
    );
    assert!(outcome.seconds < 30.0);
    assert!(host_can_spawn());
}

#[test]
fn a_program_that_sleeps_forever_times_out() {
    let harness = Harness::new(Policy {
        timeout: Duration::from_secs(1),
        ..Policy::default()
    });
    let outcome =
        harness.run("import time\nprint('going to sleep', flush=True)\ntime.sleep(3600)\n");
    assert_eq!(outcome.verdict, Verdict::TimedOut);
    assert!((1.0..5.0).contains(&outcome.seconds), "{}", outcome.seconds);
    assert_eq!(outcome.stdout, "going to sleep\n");
}

/// Processes whose command name (`/proc/PID/comm`) is `name`.
fn processes_named(name: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|entry| {
            std::fs::read_to_string(entry.path().join("comm"))
                .is_ok_and(|comm| comm.trim_end() == name)
        })
        .count()
}

/// Runs `source` on another thread while counting the processes named `name`; returns
/// the outcome and the most seen at once.
fn run_counting(harness: &Harness, source: &str, name: &str) -> (Outcome, usize) {
    std::thread::scope(|scope| {
        let run = scope.spawn(|| harness.run(source));
        let mut most = 0;
        while !run.is_finished() {
            most = most.max(processes_named(name));
            assert!(
                host_can_spawn(),
                "the host cannot start a process during the fork bomb"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        (run.join().unwrap(), most)
    })
}

fn assert_all_gone(name: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while processes_named(name) > 0 {
        assert!(
            Instant::now() < deadline,
            "{} `{name}` processes outlived the sandbox",
            processes_named(name)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Names the process (and every child it forks) so that the test can count them.
fn named(name: &str, body: &str) -> String {
    format!("import ctypes\nctypes.CDLL(None).prctl(15, b'{name}', 0, 0, 0)\n{body}")
}

#[test]
fn a_fork_bomb_is_held_to_the_process_limit_and_killed_with_its_group() {
    let harness = Harness::new(Policy {
        max_processes: 16,
        timeout: Duration::from_secs(3),
        ..Policy::default()
    });
    // A bomb that shrugs off failed forks runs until the wall-clock limit.
    let name = unique("ysbomb");
    let name = &name[..name.len().min(15)];
    let source = named(
        name,
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
    );
    let (outcome, most) = run_counting(&harness, &source, name);
    assert_eq!(outcome.verdict, Verdict::TimedOut, "{outcome:#?}");
    eprintln!("fork bomb: at most {most} of its processes at once");
    assert!(most <= 16, "{most} processes at once under a limit of 16");
    assert!(most >= 2, "the bomb never forked ({most})");
    assert_all_gone(name);
    assert!(host_can_spawn());

    // The classic bomb dies of its first failed fork, reported as the process limit.
    let name = unique("ysfork");
    let name = &name[..name.len().min(15)];
    let (outcome, _) = run_counting(
        &harness,
        &named(name, "import os\nwhile True:\n    os.fork()\n"),
        name,
    );
    assert!(
        matches!(&outcome.verdict, Verdict::Killed { limit: Limit::Processes, exception: Some(e), .. } if e.kind == "BlockingIOError"),
        "{outcome:#?}"
    );
    assert_all_gone(name);
    assert!(host_can_spawn());
}

#[test]
fn allocating_16_gib_is_refused_by_the_memory_limit() {
    let outcome = default().run("data = bytearray(16 * 1024**3)\nprint(len(data))\n");
    // RLIMIT_AS makes the allocation fail; python raises MemoryError, which the
    // sandbox reports as killed by the memory limit.
    assert!(
        matches!(&outcome.verdict, Verdict::Killed { limit: Limit::Memory, exception: Some(e), .. } if e.kind == "MemoryError"),
        "{outcome:#?}"
    );
    assert_eq!(
        outcome.verdict.to_string(),
        "killed: memory (RLIMIT_AS) (MemoryError (line 1))"
    );
    // Piecemeal allocation hits the same wall (a smaller one, to keep the test light).
    let harness = Harness::new(Policy {
        memory_bytes: 256 * 1024 * 1024,
        ..Policy::default()
    });
    let outcome =
        harness.run("chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024**2))\n");
    assert!(
        matches!(
            outcome.verdict,
            Verdict::Killed {
                limit: Limit::Memory,
                ..
            }
        ),
        "{outcome:#?}"
    );
}

#[test]
fn writing_a_10_gib_file_is_refused_by_the_file_size_limit() {
    let harness = Harness::new(Policy {
        max_file_bytes: 16 * 1024 * 1024,
        ..Policy::default()
    });
    let outcome = harness.run(
        "chunk = b'\\0' * (1 << 20)\n\
         with open('big.bin', 'wb') as f:\n\
         \x20   for _ in range(10 * 1024):\n\
         \x20       f.write(chunk)\n",
    );
    // Python ignores SIGXFSZ, so the write fails with EFBIG ("File too large").
    assert!(
        matches!(&outcome.verdict, Verdict::Killed { limit: Limit::FileSize, exception: Some(e), .. } if e.errno == Some(27)),
        "{outcome:#?}"
    );
    // Harness::run has checked the directory, and the 16 MiB with it, is gone.
}

#[test]
fn too_many_open_files_are_refused() {
    let outcome = default().run("files = [open('main.py') for _ in range(100000)]\n");
    assert!(
        matches!(
            outcome.verdict,
            Verdict::Killed {
                limit: Limit::OpenFiles,
                ..
            }
        ),
        "{outcome:#?}"
    );
}

#[test]
fn a_tcp_connection_to_a_port_the_harness_listens_on_never_arrives() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let harness = default();
    assert!(
        harness.sandbox.isolation().isolates_network(),
        "{:?}",
        harness.sandbox.warnings()
    );
    let outcome = harness.run(&format!(
        "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3).sendall(b'leak')\n"
    ));
    assert!(
        matches!(exception_kind(&outcome), Some("ConnectionRefusedError")),
        "{outcome:#?}"
    );
    match listener.accept() {
        Err(error) if error.kind() == ErrorKind::WouldBlock => {}
        other => panic!("a connection arrived from the sandbox: {other:?}"),
    }
}

#[test]
fn deleting_home_touches_only_the_throwaway_home() {
    let home = PathBuf::from(std::env::var_os("HOME").expect("HOME is set"));
    let precious = home.join(format!(".{}", unique("yardstick-sandbox-test-")));
    std::fs::write(&precious, "keep me").unwrap();
    let outcome = default().run(&format!(
        "import os, shutil\n\
         home = os.path.expanduser('~')\n\
         print(home)\n\
         shutil.rmtree(home)\n\
         try:\n\
         \x20   os.remove({precious:?})\n\
         \x20   print('removed')\n\
         except OSError as error:\n\
         \x20   print('refused', type(error).__name__)\n",
    ));
    let exists = precious.exists();
    let _ = std::fs::remove_file(&precious);
    assert!(
        exists,
        "the program deleted {} from the real HOME",
        precious.display()
    );
    assert_eq!(outcome.verdict, Verdict::Passed, "{outcome:#?}");
    assert!(!outcome.stdout.contains("removed"), "{}", outcome.stdout);
    assert!(
        !outcome.stdout.starts_with(&format!("{}\n", home.display())),
        "HOME was the real one"
    );
}

#[test]
fn an_api_key_in_the_harness_environment_is_invisible() {
    let secret = unique("sk-yardstick-test-");
    // Edition 2021: set_var is safe; std's spawn reads the environment under the same lock.
    std::env::set_var("OPENAI_API_KEY", &secret);
    let outcome = default().run(&format!(
        "import os, glob\n\
         assert 'OPENAI_API_KEY' not in os.environ, 'key in os.environ'\n\
         seen = []\n\
         for path in glob.glob('/proc/*/environ'):\n\
         \x20   try:\n\
         \x20       if b{secret:?} in open(path, 'rb').read():\n\
         \x20           seen.append(path)\n\
         \x20   except OSError:\n\
         \x20       pass\n\
         assert not seen, seen\n\
         print(sorted(os.environ))\n",
    ));
    std::env::remove_var("OPENAI_API_KEY");
    assert_eq!(outcome.verdict, Verdict::Passed, "{outcome:#?}");
    assert!(!outcome.stdout.contains(&secret) && !outcome.stderr.contains(&secret));
}

// ---- the weaker isolations -----------------------------------------------------------

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
}

#[test]
fn unshare_isolation_also_cuts_the_network_when_root() {
    if !is_root() {
        eprintln!("skipped: unshare isolation needs root");
        return;
    }
    let harness = Harness::new(Policy {
        isolation: Some(Isolation::Unshare),
        ..Policy::default()
    });
    assert_eq!(harness.sandbox.isolation(), Isolation::Unshare);
    assert!(harness.run("pass\n").passed());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let outcome = harness.run(&format!(
        "import socket\nsocket.create_connection(('127.0.0.1', {port}))\n"
    ));
    // unshare leaves the new namespace's loopback down: "Network is unreachable".
    assert!(
        matches!(&outcome.verdict, Verdict::Failed { exception: Some(e), .. } if e.errno == Some(101)),
        "{outcome:#?}"
    );
    assert!(listener.accept().is_err());
    let harness = Harness::new(Policy {
        isolation: Some(Isolation::Unshare),
        timeout: Duration::from_secs(1),
        ..Policy::default()
    });
    assert_eq!(
        harness.run("import time\ntime.sleep(60)\n").verdict,
        Verdict::TimedOut
    );
}

#[test]
fn process_group_isolation_runs_programs_and_warns_about_the_network() {
    let harness = Harness::new(Policy {
        isolation: Some(Isolation::ProcessGroup),
        timeout: Duration::from_secs(1),
        ..Policy::default()
    });
    let warnings = harness.sandbox.warnings();
    assert!(
        warnings.iter().any(|w| w.contains("NO NETWORK ISOLATION")),
        "{warnings:?}"
    );
    assert!(harness.run("print('hi')\n").passed());
    assert_eq!(
        harness.run("import time\ntime.sleep(60)\n").verdict,
        Verdict::TimedOut
    );
}

#[test]
fn the_strongest_isolation_here_is_bubblewrap_when_it_is_installed() {
    let harness = default();
    let bwrap = Path::new("/usr/bin/bwrap").exists();
    eprintln!(
        "isolation: {} (python {}, uid {:?}); warnings: {:?}",
        harness.sandbox.isolation(),
        harness.sandbox.python().display(),
        harness.sandbox.sandbox_uid(),
        harness.sandbox.warnings()
    );
    if bwrap {
        assert_eq!(
            harness.sandbox.isolation(),
            Isolation::Bubblewrap,
            "{:?}",
            harness.sandbox.warnings()
        );
        assert!(harness.sandbox.warnings().is_empty());
    }
}
