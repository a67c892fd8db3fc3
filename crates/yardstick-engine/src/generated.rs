//! Scoring generated text: each answer filter's extraction, then `exact_match` against
//! the target, or — for code tasks — the candidate programs run with the tests in the
//! sandbox and pass@k over how many passed.

use crate::samples::generation_record;
use crate::EngineError;
use serde_json::{json, Value};
use yardstick_core::GenerateResponse;
use yardstick_metrics::pass_at_k;
use yardstick_sandbox::{Policy, Program, Sandbox};
use yardstick_store::StoredItem;
use yardstick_tasks::{GenerateDoc, Task};

/// Hugging Face's `code_eval` gives each program 3 seconds of execution; the sandbox's
/// clock also counts starting the interpreter, so it allows one second more (as
/// `code_eval` itself waits for its worker process one second past the limit).
const CODE_EVAL_SECONDS: u64 = 4;

/// The sandbox policy code tasks run under: the default limits, with `code_eval`'s time.
pub fn code_eval_policy() -> Policy {
    Policy {
        timeout: std::time::Duration::from_secs(CODE_EVAL_SECONDS),
        ..Policy::default()
    }
}

/// Runs code tasks' programs; the sandbox is set up on first use, so runs without code
/// tasks never need one.
pub(crate) struct CodeRunner {
    policy: Policy,
    sandbox: Option<Sandbox>,
}

impl CodeRunner {
    pub(crate) fn new(policy: Policy) -> Self {
        Self {
            policy,
            sandbox: None,
        }
    }

    fn sandbox(&mut self, task: &Task) -> Result<&Sandbox, EngineError> {
        let sandbox = match self.sandbox.take() {
            Some(sandbox) => sandbox,
            None => {
                let sandbox =
                    Sandbox::new(self.policy.clone()).map_err(|source| EngineError::Sandbox {
                        task: task.name().to_string(),
                        source,
                    })?;
                for warning in sandbox.warnings() {
                    eprintln!("warning: {warning}");
                }
                sandbox
            }
        };
        Ok(self.sandbox.insert(sandbox))
    }
}

/// One filter's result for one document.
pub(crate) struct FilteredAnswers {
    /// The filter's name.
    pub filter: String,
    /// What the filter extracted: one answer, or one candidate program per response.
    pub answers: Vec<String>,
    /// Whether the filter gives one answer (ends in `take_first`).
    pub single: bool,
    /// The metric values, named as the task reports them.
    pub metrics: Vec<(String, f64)>,
    /// For code tasks, how each candidate program ended.
    pub executions: Option<Vec<Value>>,
}

/// Scores documents from their responses (`responses[i]` holds document `i`'s repeats)
/// and makes their stored items.
pub(crate) fn score_generations(
    task: &Task,
    docs: &[&GenerateDoc],
    responses: &[Vec<GenerateResponse>],
    runner: &mut CodeRunner,
) -> Result<Vec<StoredItem>, EngineError> {
    let mut per_doc: Vec<Vec<FilteredAnswers>> = Vec::with_capacity(docs.len());
    for (doc, responses) in docs.iter().zip(responses) {
        let texts: Vec<String> = responses.iter().map(|r| r.text.clone()).collect();
        let mut filtered = Vec::new();
        for filter in task.answer_filters() {
            let answers = filter
                .apply(&texts, &doc.doc)
                .map_err(|message| EngineError::Hook {
                    task: task.name().to_string(),
                    doc_id: doc.doc_id,
                    message,
                })?;
            let metrics = match task.exact_match(first(&answers), &doc.target) {
                Some(score) => vec![("exact_match".to_owned(), score)],
                None => Vec::new(),
            };
            filtered.push(FilteredAnswers {
                filter: filter.name.clone(),
                single: filter.takes_first(),
                answers,
                metrics,
                executions: None,
            });
        }
        per_doc.push(filtered);
    }
    if let Some(code) = task.code_metric() {
        // Every candidate of the chunk runs in one batch, as many at once as cores.
        let mut programs = Vec::new();
        for (doc, filtered) in docs.iter().zip(&per_doc) {
            for answers in filtered {
                for (index, candidate) in answers.answers.iter().enumerate() {
                    programs.push(Program::new(
                        format!("{}/{}/{}/{index}", task.name(), doc.doc_id, answers.filter),
                        format!("{candidate}\n{}", doc.target),
                    ));
                }
            }
        }
        let outcomes = runner.sandbox(task)?.run_all(&programs);
        if outcomes.len() != programs.len() {
            return Err(EngineError::ResponseCount {
                asked: programs.len(),
                got: outcomes.len(),
            });
        }
        let mut outcomes = outcomes.into_iter();
        for filtered in &mut per_doc {
            for answers in filtered.iter_mut() {
                let mut executions = Vec::with_capacity(answers.answers.len());
                let mut passed = 0;
                for outcome in outcomes.by_ref().take(answers.answers.len()) {
                    let outcome = outcome.map_err(|source| EngineError::Sandbox {
                        task: task.name().to_string(),
                        source,
                    })?;
                    passed += usize::from(outcome.passed());
                    executions.push(json!({
                        "passed": outcome.passed(),
                        "verdict": outcome.verdict.to_string(),
                        "seconds": outcome.seconds,
                    }));
                }
                let n = answers.answers.len();
                answers.metrics = code
                    .names()
                    .into_iter()
                    .zip(code.ks())
                    .map(|(name, k)| (name, pass_at_k(n, passed, k).unwrap_or(f64::NAN)))
                    .collect();
                answers.executions = Some(executions);
            }
        }
    }
    Ok(docs
        .iter()
        .zip(responses)
        .zip(&per_doc)
        .map(|((doc, responses), filtered)| {
            StoredItem::new(doc.doc_id, generation_record(doc, responses, filtered))
        })
        .collect())
}

fn first(answers: &[String]) -> &str {
    answers.first().map_or("", String::as_str)
}
