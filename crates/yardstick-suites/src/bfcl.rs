//! BFCL function calling for models prompted to write calls (BFCL's "prompting" mode):
//! the question's functions listed as JSON in BFCL's default system prompt, the answer
//! read as a Python list of calls and checked by BFCL's AST rules; accuracy per
//! category (irrelevance: right when no call can be read).

use crate::run::{
    answer_items, conclude, limited, means, text_hash, Answer, ItemScores, SuiteItem,
};
use crate::task::SuiteTaskConfig;
use serde_json::{json, Map, Value};
use yardstick_core::{python_json_ascii, python_json_dumps};
use yardstick_judge::{
    message, parse_jsonl, JudgedError, JudgedOptions, JudgedOutcome, Participant,
};
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

/// A question's function docs.
fn functions_of(question: &Value) -> Vec<Value> {
    question
        .get("function")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// A question's first turn, as messages.
fn first_turn(question: &Value) -> Vec<ChatMessage> {
    question
        .pointer("/question/0")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|m| {
            let text = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default();
            message(text("role"), text("content"))
        })
        .collect()
}

/// The conversation BFCL sends: the question's first turn, its own system message (if
/// any) after BFCL's system prompt, else BFCL's system prompt first.
pub fn messages(question: &Value) -> Vec<ChatMessage> {
    let system = system_prompt(&functions_of(question));
    let mut turn = first_turn(question);
    match turn.first_mut() {
        Some(first) if first.role == "system" => {
            first.content = format!("{system}\n\n{}", first.content);
        }
        _ => turn.insert(0, message("system", &system)),
    }
    turn
}

/// BFCL's `GORILLA_TO_OPENAPI` type names.
fn openapi_type(t: &str) -> &'static str {
    match t {
        "integer" | "byte" | "short" | "long" => "integer",
        "number" | "float" | "double" => "number",
        "boolean" | "bool" => "boolean",
        "array" | "list" | "tuple" | "ArrayList" | "Array" => "array",
        "dict" | "object" | "HashMap" => "object",
        _ => "string",
    }
}

/// BFCL's `_cast_to_openai_type`: types renamed for the API, a float marked as one.
fn cast_properties(properties: &mut Map<String, Value>) {
    for property in properties.values_mut() {
        let Some(property) = property.as_object_mut() else {
            continue;
        };
        let declared = property
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if declared.as_deref() == Some("float") {
            property.insert("format".into(), json!("float"));
            let description = property
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            property.insert(
                "description".into(),
                json!(format!("{description} This is a float type value.")),
            );
        }
        let mapped = openapi_type(declared.as_deref().unwrap_or("string"));
        property.insert("type".into(), json!(mapped));
        if mapped == "array" || mapped == "object" {
            if let Some(Value::Object(nested)) = property.get_mut("properties") {
                cast_properties(nested);
            } else if let Some(Value::Object(items)) = property.get_mut("items") {
                let item_type = openapi_type(
                    items
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("string"),
                );
                items.insert("type".into(), json!(item_type));
                if item_type == "array" {
                    if let Some(Value::Object(inner)) = items.get_mut("items") {
                        let inner_type = openapi_type(
                            inner
                                .get("type")
                                .and_then(Value::as_str)
                                .unwrap_or("string"),
                        );
                        inner.insert("type".into(), json!(inner_type));
                    }
                } else if let Some(Value::Object(nested)) = items.get_mut("properties") {
                    cast_properties(nested);
                }
            }
        }
    }
}

/// The question's functions as OpenAI `tools`, as BFCL's `convert_to_tool` makes them
/// for OpenAI-style APIs: dots in names as underscores, parameters as an `object`,
/// types renamed, each description with BFCL's Python hint.
pub fn openai_tools(functions: &[Value]) -> Value {
    Value::Array(
        functions
            .iter()
            .map(|f| {
                let mut f = f.clone();
                if let Some(Value::String(name)) = f.get_mut("name") {
                    *name = name.replace('.', "_");
                }
                if let Some(Value::String(description)) = f.get_mut("description") {
                    description.push_str(PYTHON_HINT);
                }
                if let Some(Value::Object(parameters)) = f.get_mut("parameters") {
                    parameters.insert("type".into(), json!("object"));
                    if let Some(Value::Object(properties)) = parameters.get_mut("properties") {
                        cast_properties(properties);
                    }
                }
                json!({"type": "function", "function": f})
            })
            .collect(),
    )
}

/// Tool calls as BFCL decodes a function-calling model's: each name with its JSON
/// arguments; `None` when there are none or an argument list is not a JSON object.
fn tool_calls_as_calls(calls: &[(String, String)]) -> Option<Vec<yardstick_metrics::Call>> {
    if calls.is_empty() {
        return None;
    }
    calls
        .iter()
        .map(|(name, arguments)| {
            let Ok(Value::Object(arguments)) = serde_json::from_str::<Value>(arguments) else {
                return None;
            };
            Some(yardstick_metrics::Call {
                name: name.clone(),
                arguments: arguments
                    .iter()
                    .map(|(k, v)| (Some(k.clone()), yardstick_metrics::PyValue::from_json(v)))
                    .collect(),
            })
        })
        .collect()
}

fn jsonl(path: &std::path::Path, text: &str) -> Result<Vec<Value>, JudgedError> {
    Ok(parse_jsonl(path, text)?
        .into_iter()
        .map(|(_, v)| v)
        .collect())
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
    // A chat API takes the functions through its function-calling interface, as BFCL
    // runs function-calling models; a model rendered with its own template is prompted.
    let use_tools = candidate.chat.template.is_none();
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
            if use_tools {
                return SuiteItem {
                    doc_id,
                    messages: first_turn(&question),
                    fields,
                    tools: Some(openai_tools(&functions_of(&question))),
                };
            }
            SuiteItem {
                doc_id,
                messages: messages(&question),
                fields,
                tools: None,
            }
        })
        .collect();
    let score = |item: &SuiteItem, answer: &Answer| -> ItemScores {
        let decoded_calls = match &answer.tool_calls {
            Some(calls) => tool_calls_as_calls(calls).ok_or(()),
            None => decode_calls(&answer.text).map_err(|_| ()),
        };
        let (valid, error_type, decoded) = if irrelevance {
            let valid = match &answer.tool_calls {
                Some(_) => decoded_calls.is_err(),
                None => is_irrelevance_correct(&answer.text),
            };
            (
                valid,
                (!valid).then(|| "irrelevance_error:decoder_success".to_owned()),
                None,
            )
        } else {
            match decoded_calls {
                Err(()) => (false, Some("ast_decoder:decoder_failed".to_owned()), None),
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
                    let outcome = check_calls(&category, &functions, &calls, &truth, use_tools);
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
    let prompt = if use_tools {
        "bfcl function calling: OpenAI tools"
    } else {
        "bfcl prompting: ret_fmt=python, func_doc_fmt=json, plaintext, classic"
    };
    let config = json!({"kind": "bfcl", "category": category, "prompt": prompt});
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
