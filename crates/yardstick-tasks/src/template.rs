//! Jinja templates rendered as lm-eval renders them (Python's jinja2 with
//! `StrictUndefined` and trailing newlines kept), on minijinja.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Serde, Value};
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior};

/// A template environment with lm-eval's settings and the Python methods task files
/// call on values (`str.strip`, `list.index`, ...).
pub struct Templates {
    env: Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    /// An environment configured like lm-eval's.
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        if let Ok(syntax) = SyntaxConfig::builder().keep_trailing_newline(true).build() {
            env.set_syntax(syntax);
        }
        env.set_unknown_method_callback(python_methods);
        Self { env }
    }

    /// Renders `template` with the document's fields as variables.
    pub fn render(&self, template: &str, doc: &serde_json::Value) -> Result<String, Error> {
        self.env.render_str(template, Value::from(Serde(doc)))
    }

    /// Evaluates a template that is one `{{ expression }}` to its value (a list stays a
    /// list, as lm-eval's `ast.literal_eval` of the rendered text would give); any other
    /// template renders to a string.
    pub fn evaluate(
        &self,
        template: &str,
        doc: &serde_json::Value,
    ) -> Result<serde_json::Value, Error> {
        if let Some(expression) = single_expression(template) {
            let value = self
                .env
                .compile_expression(expression)?
                .eval(Value::from(Serde(doc)))?;
            if value.is_undefined() {
                return Err(Error::new(
                    ErrorKind::UndefinedError,
                    format!("`{expression}` is undefined for this document"),
                ));
            }
            return serde_json::to_value(&value)
                .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()));
        }
        self.render(template, doc).map(serde_json::Value::String)
    }
}

/// The inside of `{{ ... }}` when that is the whole template.
fn single_expression(template: &str) -> Option<&str> {
    let inner = template.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") {
        return None;
    }
    Some(inner.trim())
}

/// Python methods that jinja2 exposes on values and minijinja does not have natively.
fn python_methods(
    state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    if method == "index" {
        if let Ok(items) = value.try_iter() {
            let [needle] = args else {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "index() takes one argument",
                ));
            };
            return items
                .into_iter()
                .position(|item| &item == needle)
                .map(Value::from)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidOperation,
                        format!("{needle} is not in list"),
                    )
                });
        }
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_arc_prompt() {
        let t = Templates::new();
        let doc = json!({"question": "Why?"});
        assert_eq!(
            t.render("Question: {{question}}\nAnswer:", &doc).unwrap(),
            "Question: Why?\nAnswer:"
        );
    }

    #[test]
    fn list_index_and_list_values_work() {
        let t = Templates::new();
        let doc = json!({"choices": {"label": ["A", "B", "C"], "text": ["x", "y", "z"]}, "answerKey": "C"});
        assert_eq!(
            t.evaluate("{{choices.label.index(answerKey)}}", &doc)
                .unwrap(),
            json!(2)
        );
        assert_eq!(
            t.evaluate("{{choices.text}}", &doc).unwrap(),
            json!(["x", "y", "z"])
        );
    }

    #[test]
    fn undefined_variables_are_errors() {
        let t = Templates::new();
        assert!(t.render("{{missing}}", &json!({})).is_err());
        assert!(t.evaluate("{{missing}}", &json!({})).is_err());
    }

    #[test]
    fn python_string_methods_are_available() {
        let t = Templates::new();
        assert_eq!(
            t.render("{{ s.strip() }}", &json!({"s": "  a "})).unwrap(),
            "a"
        );
    }

    #[test]
    fn trailing_newline_is_kept() {
        let t = Templates::new();
        assert_eq!(t.render("x\n", &json!({})).unwrap(), "x\n");
    }
}
