//! Python values as BFCL's decoder produces them, with Python's equality.

/// A value read from a model's Python call.
#[derive(Debug, Clone)]
pub enum PyValue {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A list display.
    List(Vec<PyValue>),
    /// A tuple display.
    Tuple(Vec<PyValue>),
    /// A dict display, in source order (keys need not be strings).
    Dict(Vec<(PyValue, PyValue)>),
}

/// One decoded call: `{name: {keyword: value}}` in BFCL's form. A `**expr` argument has
/// the key `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The dotted function name.
    pub name: String,
    /// Keyword arguments in source order (a repeated keyword keeps its first place and
    /// its last value).
    pub arguments: Vec<(Option<String>, PyValue)>,
}

impl PyValue {
    /// Python's `type(value).__name__`.
    pub fn type_name(&self) -> &'static str {
        match self {
            PyValue::None => "NoneType",
            PyValue::Bool(_) => "bool",
            PyValue::Int(_) => "int",
            PyValue::Float(_) => "float",
            PyValue::Str(_) => "str",
            PyValue::List(_) => "list",
            PyValue::Tuple(_) => "tuple",
            PyValue::Dict(_) => "dict",
        }
    }

    /// The value as a number, for Python's numeric equality (`1 == 1.0 == True`).
    fn number(&self) -> Option<f64> {
        match self {
            PyValue::Bool(b) => Some(f64::from(u8::from(*b))),
            PyValue::Int(i) => Some(*i as f64),
            PyValue::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The value read from JSON (a possible answer): numbers keep the int/float
    /// distinction; objects are dicts with string keys.
    pub fn from_json(value: &serde_json::Value) -> PyValue {
        use serde_json::Value;
        match value {
            Value::Null => PyValue::None,
            Value::Bool(b) => PyValue::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) if !n.is_f64() => PyValue::Int(i),
                _ => PyValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => PyValue::Str(s.clone()),
            Value::Array(items) => PyValue::List(items.iter().map(PyValue::from_json).collect()),
            Value::Object(map) => PyValue::Dict(
                map.iter()
                    .map(|(k, v)| (PyValue::Str(k.clone()), PyValue::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// `self in items`, by Python equality.
    pub fn is_in(&self, items: &[PyValue]) -> bool {
        items.iter().any(|item| item == self)
    }

    /// The value of `key` in a dict.
    pub fn get(&self, key: &str) -> Option<&PyValue> {
        match self {
            PyValue::Dict(pairs) => pairs
                .iter()
                .find(|(k, _)| matches!(k, PyValue::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Python's `==`.
impl PartialEq for PyValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (PyValue::None, PyValue::None) => true,
            (PyValue::Str(a), PyValue::Str(b)) => a == b,
            (PyValue::List(a), PyValue::List(b)) | (PyValue::Tuple(a), PyValue::Tuple(b)) => a == b,
            (PyValue::Dict(a), PyValue::Dict(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.iter().any(|(k2, v2)| k == k2 && v == v2))
            }
            _ => match (self.number(), other.number()) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_equality() {
        assert_eq!(PyValue::Int(1), PyValue::Float(1.0));
        assert_eq!(PyValue::Bool(true), PyValue::Int(1));
        assert_ne!(
            PyValue::List(vec![PyValue::Int(1)]),
            PyValue::Tuple(vec![PyValue::Int(1)])
        );
        assert_ne!(PyValue::Str("1".into()), PyValue::Int(1));
        let d1 = PyValue::Dict(vec![
            (PyValue::Str("a".into()), PyValue::Int(1)),
            (PyValue::Str("b".into()), PyValue::Int(2)),
        ]);
        let d2 = PyValue::Dict(vec![
            (PyValue::Str("b".into()), PyValue::Float(2.0)),
            (PyValue::Str("a".into()), PyValue::Int(1)),
        ]);
        assert_eq!(d1, d2);
        let json: serde_json::Value = serde_json::from_str("[5, 5.0]").unwrap();
        let PyValue::List(items) = PyValue::from_json(&json) else {
            panic!()
        };
        assert_eq!(items[0].type_name(), "int");
        assert_eq!(items[1].type_name(), "float");
    }
}
