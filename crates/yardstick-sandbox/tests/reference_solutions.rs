//! Issue 4's acceptance check on the real benchmarks: every HumanEval canonical solution
//! (164) and every MBPP reference solution of lm-eval's `mbpp` test split (task ids
//! 11-510, 500 problems) passes its tests in the sandbox, and each fails once its
//! function bodies are replaced by `pass`. So the sandbox neither rejects correct
//! programs nor lets wrong ones through.
//!
//! The programs are the ones the scorers run: lm-evaluation-harness 0.4.12's tasks with
//! Hugging Face's `code_eval` metric, whose `check_correctness` runs
//! `candidate + "\n" + reference`:
//!
//! - HumanEval (`lm_eval/tasks/humaneval`): the candidate is `prompt + completion`
//!   (`utils.build_predictions`), here with the `canonical_solution` as completion; the
//!   reference is `test + "\ncheck(" + entry_point + ")"` (`doc_to_target`).
//! - MBPP (`lm_eval/tasks/mbpp/mbpp.yaml`): the candidate is the completion, here the
//!   reference `code`; the reference is `doc_to_target` outside few-shot: the three
//!   `test_list` asserts joined by `"\n"`. lm-eval runs neither `test_setup_code` nor
//!   `challenge_test_list`; see [`MBPP_NEEDS_SETUP`] for the one problem that needs its
//!   setup code.
//!
//! "Body replaced by `pass`": for HumanEval the candidate becomes `prompt + "    pass\n"`
//! (every prompt ends with the entry point's signature and docstring). An MBPP reference
//! may define several functions (20 of the 500 do), so the broken program is a wrapper,
//! [`PASS_BODIES`], that parses the code with `ast`, replaces the body of every top-level
//! `def` with `pass`, executes the result, prints [`MARKER`] and then executes the tests.
//! A broken program must fail with an exception that is not a syntax error (for MBPP,
//! after the marker): it failed its tests, it was not malformed, timed out or killed.
//!
//! The benchmark data is read from `YARDSTICK_DATA_DIR`, else `../shared/data` beside
//! the repository, and never copied into the repository.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use yardstick_sandbox::{Outcome, Policy, Program, Sandbox, Verdict};

/// MBPP problems of the test split whose reference solution fails under lm-eval's
/// program, with the exception it fails with, and why.
///
/// 367 (`is_tree_balanced`): its asserts use the trees `root`, `root1` and `root2`,
/// which only its `test_setup_code` builds, and lm-eval's `mbpp` task never runs
/// `test_setup_code`. Under lm-eval this reference, and any answer that does not build
/// those trees itself, fails with `NameError`; this test asserts exactly that failure,
/// and still checks the solution by also running it with its setup code (code, setup,
/// tests), which must pass, and with its bodies replaced by `pass`, which must fail its
/// tests. (Its broken program under lm-eval fails with the same `NameError`.)
const MBPP_NEEDS_SETUP: &[(u64, &str, &str)] = &[(367, "NameError", "name 'root' is not defined")];

/// What [`PASS_BODIES`] prints once the broken code and the setup code ran, before the
/// tests.
const MARKER: &str = "yardstick: bodies replaced by pass; running the tests";

/// The broken MBPP program, run after the lines `CODE = ...`, `SETUP = ...`,
/// `TESTS = ...` and `MARKER = ...` that [`pass_bodies`] puts before it: Python string
/// literals ([`py_str`]) holding the reference code, the setup code (empty under lm-eval),
/// the tests and [`MARKER`].
const PASS_BODIES: &str = r#"import ast

tree = ast.parse(CODE)
replaced = 0
for node in tree.body:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        node.body = [ast.copy_location(ast.Pass(), node.body[0])]
        replaced += 1
assert replaced, "the reference code has no top-level def"
ast.fix_missing_locations(tree)
namespace = {"__name__": "__main__"}
exec(compile(tree, "<code>", "exec"), namespace)
exec(compile(SETUP, "<setup>", "exec"), namespace)
print(MARKER, replaced, flush=True)
exec(compile(TESTS, "<tests>", "exec"), namespace)
"#;

/// A Python string literal (double-quoted, ASCII only) with the value `text`: `\\`, `"`
/// and every character outside printable ASCII are escaped (`\n`, `\r`, `\t`, `\uXXXX`,
/// `\UXXXXXXXX`), so the literal means the same whatever the source encoding.
fn py_str(text: &str) -> String {
    let mut literal = String::with_capacity(text.len() + 2);
    literal.push('"');
    for c in text.chars() {
        match c {
            '\\' => literal.push_str("\\\\"),
            '"' => literal.push_str("\\\""),
            '\n' => literal.push_str("\\n"),
            '\r' => literal.push_str("\\r"),
            '\t' => literal.push_str("\\t"),
            ' '..='~' => literal.push(c),
            c if (c as u32) <= 0xffff => literal.push_str(&format!("\\u{:04x}", c as u32)),
            c => literal.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    literal.push('"');
    literal
}

fn pass_bodies(code: &str, setup: &str, tests: &str) -> String {
    format!(
        "CODE = {}\nSETUP = {}\nTESTS = {}\nMARKER = {}\n{PASS_BODIES}",
        py_str(code),
        py_str(setup),
        py_str(tests),
        py_str(MARKER)
    )
}

fn data_dir() -> PathBuf {
    let dir = std::env::var_os("YARDSTICK_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        });
    for file in ["humaneval/HumanEval.jsonl.gz", "mbpp/mbpp.jsonl"] {
        assert!(
            dir.join(file).exists(),
            "benchmark data not found: no {} in {}; set YARDSTICK_DATA_DIR",
            file,
            dir.display()
        );
    }
    dir
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn field<'a>(record: &'a Value, name: &str) -> &'a str {
    record[name]
        .as_str()
        .unwrap_or_else(|| panic!("field {name} missing or not a string in {record}"))
}

/// The default policy but for a 30 s wall clock: MBPP 11-510's slowest reference (123,
/// amicable numbers below 9999) takes about 3 s of CPU, and about 9 s of wall clock
/// with the test's programs sharing two busy cores, too near the default 10 s.
fn sandbox() -> Sandbox {
    Sandbox::new(Policy {
        timeout: Duration::from_secs(30),
        ..Policy::default()
    })
    .unwrap()
}

/// How a program must end.
enum Expect {
    Pass,
    /// Fail with an exception that is not a syntax error; with `marker`, after printing
    /// [`MARKER`].
    FailTests {
        marker: bool,
    },
    /// Fail with exactly this exception type and message.
    FailWith {
        kind: &'static str,
        message: &'static str,
    },
}

/// Runs the programs concurrently and checks each outcome; panics listing every
/// program that did not end as expected.
fn run_and_check(what: &str, cases: Vec<(Program, Expect)>) {
    let sandbox = sandbox();
    let (programs, expects): (Vec<Program>, Vec<Expect>) = cases.into_iter().unzip();
    let started = Instant::now();
    let results = sandbox.run_all(&programs);
    let elapsed = started.elapsed();

    let mut problems = Vec::new();
    let mut kinds = BTreeMap::<String, usize>::new();
    let mut slowest: Vec<(f64, &str)> = Vec::new();
    for ((program, expect), result) in programs.iter().zip(&expects).zip(results) {
        let outcome: Outcome = match result {
            Ok(outcome) => outcome,
            Err(error) => {
                problems.push(format!(
                    "{}: the sandbox could not run it: {error}",
                    program.name
                ));
                continue;
            }
        };
        slowest.push((outcome.seconds, &program.name));
        let stderr_tail = || {
            let lines: Vec<&str> = outcome.stderr.trim_end().lines().collect();
            lines[lines.len().saturating_sub(3)..].join(" | ")
        };
        match (expect, &outcome.verdict) {
            (Expect::Pass, Verdict::Passed) => {}
            (Expect::Pass, verdict) => problems.push(format!(
                "{}: expected passed, got {verdict} [{}]",
                program.name,
                stderr_tail()
            )),
            (
                Expect::FailTests { marker },
                Verdict::Failed {
                    exception: Some(exception),
                    ..
                },
            ) if !matches!(
                exception.kind.as_str(),
                "SyntaxError" | "IndentationError" | "TabError"
            ) && (!marker || outcome.stdout.contains(MARKER)) =>
            {
                *kinds.entry(exception.kind.clone()).or_default() += 1;
            }
            (Expect::FailTests { marker }, verdict) => problems.push(format!(
                "{}: expected to fail its tests with an exception{}, got {verdict} \
                 (stdout {:?}) [{}]",
                program.name,
                if *marker { " after the marker" } else { "" },
                outcome.stdout.chars().take(200).collect::<String>(),
                stderr_tail()
            )),
            (
                Expect::FailWith { kind, message },
                Verdict::Failed {
                    exception: Some(exception),
                    ..
                },
            ) if exception.kind == *kind && exception.message == *message => {}
            (Expect::FailWith { kind, message }, verdict) => problems.push(format!(
                "{}: expected to fail with {kind}: {message}, got {verdict}",
                program.name
            )),
        }
    }
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    slowest.truncate(3);
    eprintln!(
        "{what}: {} programs in {:.1} s under {} ({} at once); broken programs failed \
         with {kinds:?}; slowest {slowest:?}",
        programs.len(),
        elapsed.as_secs_f64(),
        sandbox.isolation(),
        sandbox.policy().effective_concurrency(),
    );
    assert!(
        problems.is_empty(),
        "{what}: {} of {} programs did not end as expected:\n{}",
        problems.len(),
        programs.len(),
        problems.join("\n")
    );
}

#[test]
fn humaneval_canonical_solutions_pass_and_fail_with_pass_bodies() {
    let mut gz = flate2::read::GzDecoder::new(
        std::fs::File::open(data_dir().join("humaneval/HumanEval.jsonl.gz")).unwrap(),
    );
    let mut text = String::new();
    gz.read_to_string(&mut text).unwrap();
    let problems = json_lines(&text);
    assert_eq!(problems.len(), 164, "HumanEval has 164 problems");

    let mut cases = Vec::new();
    for (index, problem) in problems.iter().enumerate() {
        let task_id = field(problem, "task_id");
        assert_eq!(task_id, format!("HumanEval/{index}"));
        let prompt = field(problem, "prompt");
        // lm-eval's doc_to_target, then code_eval's candidate + "\n" + reference.
        let reference = format!(
            "{}\ncheck({})",
            field(problem, "test"),
            field(problem, "entry_point")
        );
        let program = |completion: &str| format!("{prompt}{completion}\n{reference}");
        cases.push((
            Program::new(
                format!("{task_id} canonical"),
                program(field(problem, "canonical_solution")),
            ),
            Expect::Pass,
        ));
        cases.push((
            Program::new(format!("{task_id} pass"), program("    pass\n")),
            Expect::FailTests { marker: false },
        ));
    }
    run_and_check("HumanEval", cases);
}

#[test]
fn mbpp_reference_solutions_pass_and_fail_with_pass_bodies() {
    let text = std::fs::read_to_string(data_dir().join("mbpp/mbpp.jsonl")).unwrap();
    // lm-eval's `mbpp` task: google-research-datasets/mbpp, config `full`, split `test`,
    // which is task ids 11-510 (mbpp/README_mbpp.md).
    let problems: Vec<Value> = json_lines(&text)
        .into_iter()
        .filter(|problem| (11..=510).contains(&problem["task_id"].as_u64().unwrap()))
        .collect();
    let ids: Vec<u64> = problems
        .iter()
        .map(|p| p["task_id"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ids,
        (11..=510).collect::<Vec<_>>(),
        "MBPP's test split is 11-510"
    );

    let mut cases = Vec::new();
    for problem in &problems {
        let id = problem["task_id"].as_u64().unwrap();
        let code = field(problem, "code");
        let tests: Vec<&str> = problem["test_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|test| test.as_str().unwrap())
            .collect();
        // mbpp.yaml's doc_to_target names test_list[0], [1] and [2]: exactly three.
        assert_eq!(tests.len(), 3, "mbpp/{id} has {} tests", tests.len());
        let reference = tests.join("\n");
        let setup = field(problem, "test_setup_code");

        // Under lm-eval a problem of MBPP_NEEDS_SETUP fails with its exception, the
        // reference and the broken program alike; everything else passes, and fails its
        // tests once broken.
        let needs_setup = MBPP_NEEDS_SETUP.iter().find(|(known, ..)| *known == id);
        let expect = |ok: Expect| match needs_setup {
            Some(&(_, kind, message)) => Expect::FailWith { kind, message },
            None => ok,
        };
        cases.push((
            Program::new(
                format!("mbpp/{id} reference"),
                format!("{code}\n{reference}"),
            ),
            expect(Expect::Pass),
        ));
        cases.push((
            Program::new(format!("mbpp/{id} pass"), pass_bodies(code, "", &reference)),
            expect(Expect::FailTests { marker: true }),
        ));
        if !setup.trim().is_empty() {
            cases.push((
                Program::new(
                    format!("mbpp/{id} reference with setup"),
                    format!("{code}\n{setup}\n{reference}"),
                ),
                Expect::Pass,
            ));
            cases.push((
                Program::new(
                    format!("mbpp/{id} pass with setup"),
                    pass_bodies(code, setup, &reference),
                ),
                Expect::FailTests { marker: true },
            ));
        }
    }
    for (id, ..) in MBPP_NEEDS_SETUP {
        let problem = problems.iter().find(|p| p["task_id"] == *id).unwrap();
        assert!(
            !field(problem, "test_setup_code").trim().is_empty(),
            "mbpp/{id} is listed as needing its setup code but has none"
        );
    }
    run_and_check("MBPP", cases);
}

/// The literals [`py_str`] writes mean, to the sandbox's python, exactly the text they
/// were made from: quotes, backslashes, line ends, control characters and non-ASCII
/// text included (no MBPP test-split problem has non-ASCII text today, but any may).
#[test]
fn python_literals_hold_the_same_text() {
    let text = "a\"b'c\\d\r\n\te\0\u{7}\u{7f} é € \u{2028} 🙂 {x} \\u0041 \"\"\" end";
    let source = format!(
        "import json\nprint(json.dumps([ord(c) for c in {}]))\n",
        py_str(text)
    );
    let outcome = sandbox().run(&Program::new("literal", source)).unwrap();
    assert_eq!(outcome.verdict, Verdict::Passed, "{outcome:#?}");
    let seen: Vec<u32> = serde_json::from_str(outcome.stdout.trim()).unwrap();
    assert_eq!(seen, text.chars().map(u32::from).collect::<Vec<_>>());
}
