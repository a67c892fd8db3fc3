//! BFCL's AST checker (`ast_checker` and the checkers it calls), on decoded calls.

use super::decode::decode_calls;
use super::value::{Call, PyValue};
use serde_json::Value;

/// What the checker reads from one function doc: its name, each parameter's declared
/// type (and element type for arrays and tuples), and the required parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionDoc {
    /// The function's name.
    pub name: String,
    /// `(parameter, type, element type)` in the doc's order.
    pub properties: Vec<(String, String, Option<String>)>,
    /// Parameters that must be given.
    pub required: Vec<String>,
}

impl FunctionDoc {
    /// Reads a BFCL function doc (`{"name", "parameters": {"properties", "required"}}`).
    pub fn from_json(doc: &Value) -> Option<Self> {
        let parameters = doc.get("parameters")?;
        let properties = parameters
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .map(|(name, p)| {
                        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
                        (
                            name.clone(),
                            text(p.get("type")).unwrap_or_default(),
                            text(p.pointer("/items/type")),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let required = parameters
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Some(Self {
            name: doc.get("name")?.as_str()?.to_owned(),
            properties,
            required,
        })
    }

    fn property(&self, name: &str) -> Option<&(String, String, Option<String>)> {
        self.properties.iter().find(|(n, _, _)| n == name)
    }
}

/// The checker's verdict on one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    /// Whether the answer is right.
    pub valid: bool,
    /// BFCL's error type (`simple_function_checker:missing_required`, ...) when not.
    pub error_type: Option<String>,
    /// What was wrong, in words.
    pub errors: Vec<String>,
}

impl CheckOutcome {
    fn valid() -> Self {
        Self {
            valid: true,
            error_type: None,
            errors: Vec::new(),
        }
    }

    fn invalid(error_type: &str, error: String) -> Self {
        Self {
            valid: false,
            error_type: Some(error_type.to_owned()),
            errors: vec![error],
        }
    }
}

/// An irrelevance question is answered right when the text holds no call BFCL can read.
pub fn is_irrelevance_correct(text: &str) -> bool {
    decode_calls(text).map_or(true, |calls| calls.is_empty())
}

/// One possible-answer entry: the function and, per parameter, the accepted values
/// (`""` among them: the parameter may be left out).
struct Expected {
    name: String,
    params: Vec<(String, Vec<PyValue>)>,
}

fn expected_calls(ground_truth: &Value) -> Vec<Expected> {
    ground_truth
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .filter_map(|entry| entry.iter().next())
        .map(|(name, params)| Expected {
            name: name.clone(),
            params: params
                .as_object()
                .into_iter()
                .flatten()
                .map(|(p, accepted)| {
                    let accepted = match PyValue::from_json(accepted) {
                        PyValue::List(items) => items,
                        other => vec![other],
                    };
                    (p.clone(), accepted)
                })
                .collect(),
        })
        .collect()
}

/// BFCL's `ast_checker` for a Python category: `parallel*` categories match calls in any
/// order, `multiple` checks the one expected function among several, the rest check one
/// call. `ground_truth` is the possible answer's `ground_truth` list. With
/// `tool_names`, a function's dots are expected as underscores (BFCL's
/// `underscore_to_dot` for function-calling APIs, whose names cannot hold dots).
pub fn check_calls(
    category: &str,
    functions: &[FunctionDoc],
    calls: &[Call],
    ground_truth: &Value,
    tool_names: bool,
) -> CheckOutcome {
    let expected = expected_calls(ground_truth);
    let doc_named = |name: &str| functions.iter().find(|f| f.name == name);
    let wrong_count = |checker: &str| {
        CheckOutcome::invalid(
            &format!("{checker}:wrong_count"),
            "Wrong number of functions.".into(),
        )
    };
    if category.contains("parallel") {
        if calls.len() != expected.len() {
            return wrong_count("parallel_function_checker_no_order");
        }
        let mut matched: Vec<usize> = Vec::new();
        for (i, answer) in expected.iter().enumerate() {
            let Some(doc) = doc_named(&answer.name) else {
                return CheckOutcome::invalid(
                    "parallel_function_checker_no_order:cannot_find_match",
                    format!("No function doc for {}.", answer.name),
                );
            };
            let mut last = None;
            for (k, call) in calls.iter().enumerate() {
                if matched.contains(&k) {
                    continue;
                }
                let result = check_function(doc, call, answer, tool_names);
                let valid = result.valid;
                last = Some(result);
                if valid {
                    matched.push(k);
                    break;
                }
            }
            if !last.is_some_and(|r| r.valid) {
                let considered: Vec<usize> =
                    (0..calls.len()).filter(|k| !matched.contains(k)).collect();
                return CheckOutcome::invalid(
                    "parallel_function_checker_no_order:cannot_find_match",
                    format!("Could not find a matching function among index {considered:?} of model output for index {i} of possible answers."),
                );
            }
        }
        return CheckOutcome::valid();
    }
    if category.contains("multiple") {
        if calls.len() != expected.len() {
            return wrong_count("multiple_function_checker");
        }
        let Some(answer) = expected.first() else {
            return wrong_count("multiple_function_checker");
        };
        return match doc_named(&answer.name) {
            Some(doc) => check_function(doc, &calls[0], answer, tool_names),
            None => CheckOutcome::invalid(
                "simple_function_checker:wrong_func_name",
                format!("No function doc for {}.", answer.name),
            ),
        };
    }
    if calls.len() != 1 {
        return wrong_count("simple_function_checker");
    }
    match (functions.first(), expected.first()) {
        (Some(doc), Some(answer)) => check_function(doc, &calls[0], answer, tool_names),
        _ => wrong_count("simple_function_checker"),
    }
}

/// Python types as BFCL's type checks see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PyType {
    NoneType,
    Bool,
    Int,
    Float,
    Str,
    List,
    Tuple,
    Dict,
}

fn type_of(value: &PyValue) -> PyType {
    match value {
        PyValue::None => PyType::NoneType,
        PyValue::Bool(_) => PyType::Bool,
        PyValue::Int(_) => PyType::Int,
        PyValue::Float(_) => PyType::Float,
        PyValue::Str(_) => PyType::Str,
        PyValue::List(_) => PyType::List,
        PyValue::Tuple(_) => PyType::Tuple,
        PyValue::Dict(_) => PyType::Dict,
    }
}

/// BFCL's `PYTHON_TYPE_MAPPING`.
fn declared_type(doc_type: &str) -> PyType {
    match doc_type {
        "integer" => PyType::Int,
        "float" => PyType::Float,
        "boolean" => PyType::Bool,
        "array" | "tuple" => PyType::List,
        "dict" => PyType::Dict,
        _ => PyType::Str,
    }
}

fn is_blank(value: &PyValue) -> bool {
    matches!(value, PyValue::Str(s) if s.is_empty())
}

/// The type of the first accepted value that is not `""`.
fn answer_type(accepted: &[PyValue]) -> Option<PyType> {
    accepted.iter().find(|v| !is_blank(v)).map(type_of)
}

/// BFCL's `simple_function_checker`.
fn check_function(
    doc: &FunctionDoc,
    call: &Call,
    answer: &Expected,
    tool_names: bool,
) -> CheckOutcome {
    let expected_name = if tool_names {
        doc.name.replace('.', "_")
    } else {
        doc.name.clone()
    };
    if call.name != expected_name {
        return CheckOutcome::invalid(
            "simple_function_checker:wrong_func_name",
            format!("Function name '{}' not found in model output.", doc.name),
        );
    }
    let given = |p: &str| call.arguments.iter().any(|(k, _)| k.as_deref() == Some(p));
    for p in &doc.required {
        if !given(p) {
            return CheckOutcome::invalid(
                "simple_function_checker:missing_required",
                format!("Missing required parameter: '{p}'."),
            );
        }
    }
    let accepted_for = |p: &str| answer.params.iter().find(|(n, _)| n == p).map(|(_, a)| a);
    for (key, value) in &call.arguments {
        let unexpected = || {
            CheckOutcome::invalid(
                "simple_function_checker:unexpected_param",
                format!("Unexpected parameter: {key:?}."),
            )
        };
        let Some(key) = key else {
            return unexpected();
        };
        let (Some((_, doc_type, items)), Some(accepted)) = (doc.property(key), accepted_for(key))
        else {
            return unexpected();
        };
        let declared = declared_type(doc_type);
        let element = if doc_type == "array" || doc_type == "tuple" {
            items.as_deref().map(declared_type)
        } else {
            None
        };
        let mut value = value.clone();
        if doc_type == "tuple" {
            if let PyValue::Tuple(items) = value {
                value = PyValue::List(items);
            }
        }
        if doc_type == "float" {
            if let PyValue::Int(i) = value {
                value = PyValue::Float(i as f64);
            }
        }
        let typed = check_type(&value, accepted, declared, element);
        if !typed.outcome.valid {
            return typed.outcome;
        }
        if !typed.is_variable {
            let checked = match (declared, element) {
                (PyType::Dict, _) => Some(check_dict(&value, accepted)),
                (PyType::List, Some(PyType::Dict)) => Some(check_list_of_dicts(&value, accepted)),
                (PyType::Str, _) => Some(check_string(key, &value, accepted)),
                (PyType::List, _) => Some(check_list(key, &value, accepted)),
                _ => None,
            };
            if let Some(outcome) = checked {
                if !outcome.valid {
                    return outcome;
                }
                continue;
            }
        }
        if !value.is_in(accepted) {
            return CheckOutcome::invalid(
                "value_error:others",
                format!("Invalid value for parameter '{key}'."),
            );
        }
    }
    for (p, accepted) in &answer.params {
        if !given(p) && !accepted.iter().any(is_blank) {
            return CheckOutcome::invalid(
                "simple_function_checker:missing_optional",
                format!("Optional parameter '{p}' not provided and not marked as optional."),
            );
        }
    }
    CheckOutcome::valid()
}

struct Typed {
    outcome: CheckOutcome,
    is_variable: bool,
}

/// BFCL's `type_checker`, with its "variable" rule (a value of the accepted values' own
/// type passes, and is then compared exactly) and its one-level element check.
fn check_type(
    value: &PyValue,
    accepted: &[PyValue],
    declared: PyType,
    element: Option<PyType>,
) -> Typed {
    let possible = answer_type(accepted);
    let is_variable = possible.is_some_and(|t| t != declared);
    let mut nested_failed = false;
    if type_of(value) == declared {
        let Some(element) = element else {
            return Typed {
                outcome: CheckOutcome::valid(),
                is_variable,
            };
        };
        let items: &[PyValue] = match value {
            PyValue::List(items) | PyValue::Tuple(items) => items,
            _ => &[],
        };
        for item in accepted {
            let passes = match item {
                PyValue::List(inner) => items
                    .iter()
                    .all(|v| check_type(v, inner, element, None).outcome.valid),
                _ => true,
            };
            if passes {
                return Typed {
                    outcome: CheckOutcome::valid(),
                    is_variable,
                };
            }
        }
        nested_failed = true;
    }
    if possible.is_some_and(|t| type_of(value) == t) {
        return Typed {
            outcome: if nested_failed {
                CheckOutcome::invalid("type_error:nested", "Nested type checking failed.".into())
            } else {
                CheckOutcome::valid()
            },
            is_variable: true,
        };
    }
    Typed {
        outcome: CheckOutcome::invalid(
            "type_error:simple",
            format!("Incorrect type: got {}.", value.type_name()),
        ),
        is_variable,
    }
}

/// BFCL's `standardize_string`: the characters ` ,./-_*^` removed, lowercased, `'` as
/// `"`.
fn standardize(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, ' ' | ',' | '.' | '/' | '-' | '_' | '*' | '^'))
        .collect::<String>()
        .to_lowercase()
        .replace('\'', "\"")
}

fn standardized(value: &PyValue) -> PyValue {
    match value {
        PyValue::Str(s) => PyValue::Str(standardize(s)),
        other => other.clone(),
    }
}

fn check_string(key: &str, value: &PyValue, accepted: &[PyValue]) -> CheckOutcome {
    let PyValue::Str(text) = value else {
        return CheckOutcome::invalid(
            "value_error:string",
            format!("Invalid value for parameter '{key}'."),
        );
    };
    let wanted = standardize(text);
    let ok = accepted
        .iter()
        .any(|a| matches!(a, PyValue::Str(s) if standardize(s) == wanted));
    if ok {
        CheckOutcome::valid()
    } else {
        CheckOutcome::invalid(
            "value_error:string",
            format!("Invalid value for parameter '{key}': {text:?}. Case insensitive."),
        )
    }
}

fn check_list(key: &str, value: &PyValue, accepted: &[PyValue]) -> CheckOutcome {
    let items: Vec<PyValue> = match value {
        PyValue::List(items) | PyValue::Tuple(items) => items.iter().map(standardized).collect(),
        _ => Vec::new(),
    };
    let candidate = PyValue::List(items);
    let ok = accepted.iter().any(|item| {
        let options: Vec<PyValue> = match item {
            PyValue::List(xs) | PyValue::Tuple(xs) => xs.iter().map(standardized).collect(),
            // Iterating a string gives its characters; "" gives [].
            PyValue::Str(s) => s.chars().map(|c| PyValue::Str(c.to_string())).collect(),
            _ => return false,
        };
        PyValue::List(options) == candidate
    });
    if ok {
        CheckOutcome::valid()
    } else {
        CheckOutcome::invalid(
            "value_error:list/tuple",
            format!("Invalid value for parameter '{key}'."),
        )
    }
}

/// BFCL's `dict_checker`: every given key must be known and hold an accepted value
/// (strings compared standardised), every key that may not be left out must be given.
fn check_dict(value: &PyValue, accepted: &[PyValue]) -> CheckOutcome {
    let mut result = CheckOutcome::invalid("dict_checker:unclear", String::new());
    result.errors.clear();
    let given: &[(PyValue, PyValue)] = match value {
        PyValue::Dict(pairs) => pairs,
        _ => &[],
    };
    for candidate in accepted {
        if is_blank(candidate) {
            continue;
        }
        let PyValue::Dict(expected) = candidate else {
            continue;
        };
        result = CheckOutcome::invalid("dict_checker:unclear", String::new());
        result.errors.clear();
        let mut flag = true;
        for (key, v) in given {
            let Some((_, options)) = expected.iter().find(|(k, _)| k == key) else {
                result.errors.push("Unexpected dict key parameter.".into());
                result.error_type = Some("value_error:dict_key".into());
                flag = false;
                break;
            };
            let options: Vec<PyValue> = match options {
                PyValue::List(xs) => xs.iter().map(standardized).collect(),
                other => vec![standardized(other)],
            };
            if !standardized(v).is_in(&options) {
                result.errors.push("Invalid value for a dict key.".into());
                result.error_type = Some("value_error:dict_value".into());
                flag = false;
                break;
            }
        }
        for (key, options) in expected {
            let optional = match options {
                PyValue::List(xs) => xs.iter().any(is_blank),
                other => is_blank(other),
            };
            if !given.iter().any(|(k, _)| k == key) && !optional {
                result.errors.push("Missing dict key parameter.".into());
                result.error_type = Some("value_error:dict_key".into());
                flag = false;
                break;
            }
        }
        if flag {
            return CheckOutcome::valid();
        }
    }
    result
}

/// BFCL's `list_dict_checker`: the dicts compared position by position with one
/// accepted list of dicts.
fn check_list_of_dicts(value: &PyValue, accepted: &[PyValue]) -> CheckOutcome {
    let mut result = CheckOutcome::invalid("list_dict_checker:unclear", String::new());
    result.errors.clear();
    let items: &[PyValue] = match value {
        PyValue::List(items) | PyValue::Tuple(items) => items,
        _ => &[],
    };
    for candidate in accepted {
        let expected: &[PyValue] = match candidate {
            PyValue::List(xs) => xs,
            _ => &[],
        };
        if items.len() != expected.len() {
            result = CheckOutcome::invalid(
                "value_error:list_dict_count",
                "Wrong number of dictionaries in the list.".into(),
            );
            continue;
        }
        let mut flag = true;
        for (item, wanted) in items.iter().zip(expected) {
            result = check_dict(item, std::slice::from_ref(wanted));
            if !result.valid {
                flag = false;
                break;
            }
        }
        if flag {
            return CheckOutcome::valid();
        }
    }
    result
}
