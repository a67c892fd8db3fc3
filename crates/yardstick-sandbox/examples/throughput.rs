//! Sandbox throughput: runs N small HumanEval-sized programs (a function and a few
//! asserts) through `Sandbox::run_all` and prints programs per second.
//!
//! ```sh
//! cargo run --release -p yardstick-sandbox --example throughput -- 200
//! cargo run --release -p yardstick-sandbox --example throughput -- 200 process-group
//! ```

use std::time::Instant;
use yardstick_sandbox::{Isolation, Policy, Program, Sandbox};

fn main() -> Result<(), yardstick_sandbox::SandboxError> {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100);
    let started = Instant::now();
    let isolation = match std::env::args().nth(2).as_deref() {
        None => None,
        Some("bubblewrap") => Some(Isolation::Bubblewrap),
        Some("unshare") => Some(Isolation::Unshare),
        Some("process-group") => Some(Isolation::ProcessGroup),
        Some(other) => panic!("unknown isolation {other}: bubblewrap, unshare or process-group"),
    };
    let sandbox = Sandbox::new(Policy {
        isolation,
        ..Policy::default()
    })?;
    let setup = started.elapsed().as_secs_f64();
    let programs: Vec<Program> = (0..count)
        .map(|i| {
            Program::new(
                format!("p{i}"),
                format!(
                    "def has_close_elements(numbers, threshold):\n    \
                     return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n\n\
                     assert has_close_elements([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3)\n\
                     assert not has_close_elements([1.0, 2.0, 3.0], 0.5)\n\
                     assert {i} >= 0\n"
                ),
            )
        })
        .collect();
    let started = Instant::now();
    let outcomes = sandbox.run_all(&programs);
    let seconds = started.elapsed().as_secs_f64();
    let passed = outcomes
        .iter()
        .filter(|o| o.as_ref().is_ok_and(|o| o.passed()))
        .count();
    println!(
        "isolation {}, {} workers: {count} programs ({passed} passed) in {seconds:.2} s = {:.1} programs/s; Sandbox::new took {setup:.2} s",
        sandbox.isolation(),
        sandbox.policy().effective_concurrency(),
        count as f64 / seconds
    );
    Ok(())
}
