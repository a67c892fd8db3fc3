//! BFCL function calling for models prompted to write calls (BFCL's "prompting" mode):
//! the question's functions listed as JSON in BFCL's default system prompt, the answer
//! read as a Python list of calls and checked by BFCL's AST rules; accuracy per
//! category (irrelevance: right when no call can be read).

use crate::run::{answer_items, conclude, limited, means, text_hash, ItemScores, SuiteItem};
use crate::task::SuiteTaskConfig;
use serde_json::{json, Map, Value};
use yardstick_core::{python_json_ascii, python_json_dumps};
use yardstick_judge::{message, JudgedError, JudgedOptions, JudgedOutcome, Participant};
use yardstick_metrics::{check_calls, decode_calls, is_irrelevance_correct, FunctionDoc};
use yardstick_store::Store;
use yardstick_tasks::ChatMessage;

const PERSONA: &str = "You are an expert in composing functions.";
const TASK: &str = "You are given a question and a set of possible functions. Based on the question, you will need to make one or more function/tool calls to achieve the purpose. If none of the functions can be used, point it out. If the given question lacks the parameters required by the function, also point it out.";
const TOOL_CALL_FORMAT: &str = "You should only return the function calls in your response.\n\nIf you decide to invoke any of the function(s), you MUST put it in the format of [func_name1(params_name1=params_value1, params_name2=params_value2...), func_name2(params)].  You SHOULD NOT include any other text in the response.";
const MULTITURN: &str = "At each turn, you should try your best to complete the tasks requested by the user within the current turn. Continue to output functions to call until you have fulfilled the user's request to the best of your ability. Once you have no more functions to call, the system will consider the current turn complete and proceed to the next turn or task.";
const PYTHON_HINT: &str = " Note that the provided function is in Python 3 syntax.";

/// BFCL's default system prompt for a prompted model (`ret_fmt=python`, functions as
/// JSON, plain text, classic style), listing `functions` (each description with BFCL's
/// Python hint appended).
pub fn system_prompt(functions: &[Value]) -> String {
    let hinted: Vec<Value> = functions
        .iter()
        .map(|f| {
            let mut f = f.clone();
            if let Some(Value::String(description)) = f.get_mut("description") {
                description.push_str(PYTHON_HINT);
            }
            f
        })
        .collect();
    let listed = python_json_ascii(&python_json_dumps(&Value::Array(hinted), Some(4)));
    format!(
        "{PERSONA}{TASK}\n\n{TOOL_CALL_FORMAT}\n\n{MULTITURN}\n\nHere is a list of functions in json format that you can invoke.\n{listed}\n"
    )
}

/// The conversation BFCL sends: the question's first turn, its own system message (if
/// any) after BFCL's system prompt, else BFCL's system prompt first.
pub fn messages(question: &Value) -> Vec<ChatMessage> {
    let functions: Vec<Value> = question
        .get("function")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let system = system_prompt(&functions);
    let turn: Vec<(String, String)> = question
        .pointer("/question/0")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|m| {
            let text = |k: &str| {
                m.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            (text("role"), text("content"))
        })
        .collect();
    let mut out = Vec::new();
    match turn.first() {
        Some((role, content)) if role == "system" => {
            out.push(message("system", &format!("{system}\n\n{content}")));
            out.extend(turn[1..].iter().map(|(r, c)| message(r, c)));
        }
        _ => {
            out.push(message("system", &system));
            out.extend(turn.iter().map(|(r, c)| message(r, c)));
        }
    }
    out
}

fn jsonl(path: &std::path::Path, text: &str) -> Result<Vec<Value>, JudgedError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| JudgedError::Data {
                path: path.to_owned(),
                line: i + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

pub(crate) fn run(
    task: &SuiteTaskConfig,
    candidate: &mut Participant<'_>,
    store: &mut Store,
    options: &JudgedOptions,
) -> Result<JudgedOutcome, JudgedError> {
    let category = task
        .category
        .clone()
        .ok_or_else(|| JudgedError::Config(format!("task {} needs `category`", task.task)))?;
    let (path, text) = task.read_data(&task.data, &options.data_dir)?;
    let questions = jsonl(&path, &text)?;
    let irrelevance = category.contains("irrelevance");
    let answers = match (&task.answers, irrelevance) {
        (Some(file), _) => {
            let (path, text) = task.read_data(file, &options.data_dir)?;
            jsonl(&path, &text)?
        }
        (None, true) => Vec::new(),
        (None, false) => {
            return Err(JudgedError::Config(format!(
                "task {} needs `answers`",
                task.task
            )))
        }
    };
    if !irrelevance && answers.len() != questions.len() {
        return Err(JudgedError::Config(format!(
            "task {}: {} questions but {} possible answers",
            task.task,
            questions.len(),
            answers.len()
        )));
    }
    let original = questions.len();
    let items: Vec<SuiteItem> = limited(questions, options.limit)
        .into_iter()
        .enumerate()
        .map(|(doc_id, question)| {
            let mut fields = Map::new();
            fields.insert(
                "id".into(),
                question.get("id").cloned().unwrap_or(Value::Null),
            );
            fields.insert(
                "function".into(),
                question.get("function").cloned().unwrap_or(Value::Null),
            );
            if let Some(answer) = answers.get(doc_id) {
                fields.insert(
                    "ground_truth".into(),
                    answer.get("ground_truth").cloned().unwrap_or(Value::Null),
                );
            }
            SuiteItem {
                doc_id,
                messages: messages(&question),
                fields,
            }
        })
        .collect();
    let score = |item: &SuiteItem, answer: &str| -> ItemScores {
        let (valid, error_type, decoded) = if irrelevance {
            let valid = is_irrelevance_correct(answer);
            (
                valid,
                (!valid).then(|| "irrelevance_error:decoder_success".to_owned()),
                None,
            )
        } else {
            match decode_calls(answer) {
                Err(_) => (false, Some("ast_decoder:decoder_failed".to_owned()), None),
                Ok(calls) => {
                    let functions: Vec<FunctionDoc> = item
                        .fields
                        .get("function")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(FunctionDoc::from_json)
                        .collect();
                    let truth = item
                        .fields
                        .get("ground_truth")
                        .cloned()
                        .unwrap_or(Value::Null);
                    let outcome = check_calls(&category, &functions, &calls, &truth);
                    let shown: Vec<String> = calls.iter().map(|c| format!("{c:?}")).collect();
                    (outcome.valid, outcome.error_type, Some(shown))
                }
            }
        };
        let mut scores = Map::new();
        scores.insert("metrics".into(), json!(["acc"]));
        scores.insert("acc".into(), json!(f64::from(u8::from(valid))));
        scores.insert("error_type".into(), json!(error_type));
        scores.insert("decoded".into(), json!(decoded));
        scores
    };
    let config = json!({"kind": "bfcl", "category": category, "prompt": "bfcl prompting: ret_fmt=python, func_doc_fmt=json, plaintext, classic"});
    let answered = answer_items(
        task,
        candidate,
        (&items, original),
        (config, text_hash(&text)),
        store,
        options,
        &score,
    )?;
    let metrics = means(&answered.items, &["acc"]);
    conclude(store, answered, candidate, metrics, Map::new(), options)
}
