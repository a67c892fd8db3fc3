//! Python string semantics that the reference harnesses rely on.

/// Whether Python's `str.isspace` holds for `c`: Unicode's White_Space plus the ASCII
/// separators U+001C..U+001F.
pub fn is_python_whitespace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()` with no argument.
pub fn python_strip(text: &str) -> &str {
    text.trim_matches(is_python_whitespace)
}

/// Python's `str.capitalize()`: the first character title-cased, the rest lower-cased.
pub fn python_capitalize(text: &str) -> String {
    let mut chars = text.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let mut out = titlecase(first);
    out.push_str(&chars.as_str().to_lowercase());
    out
}

/// Title case of one character. It equals upper case except for digraphs, ligatures and
/// a few letters listed here; Georgian Mkhedruli and Greek letters with a subscript
/// iota, which also differ, are left upper-cased.
fn titlecase(c: char) -> String {
    let title = match c {
        'ß' => "Ss",
        'Ǆ' | 'ǅ' | 'ǆ' => "ǅ",
        'Ǉ' | 'ǈ' | 'ǉ' => "ǈ",
        'Ǌ' | 'ǋ' | 'ǌ' => "ǋ",
        'Ǳ' | 'ǲ' | 'ǳ' => "ǲ",
        'ﬀ' => "Ff",
        'ﬁ' => "Fi",
        'ﬂ' => "Fl",
        'ﬃ' => "Ffi",
        'ﬄ' => "Ffl",
        'ﬅ' | 'ﬆ' => "St",
        'և' => "Եւ",
        _ => return c.to_uppercase().collect(),
    };
    title.to_owned()
}

/// Python's `repr(float)`: the shortest round-trip digits, positional for exponents in
/// [-4, 16), scientific (`1e-05`) otherwise.
pub fn python_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{x:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..16).contains(&exponent) {
        let s = format!("{x}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    }
}

/// The output of [`python_json_dumps`] as Python's default `ensure_ascii=True` writes
/// it: every character from DEL (U+007F) up as `\uXXXX` (lowercase hex, surrogate pairs
/// above U+FFFF). Such characters only ever occur inside JSON strings.
pub fn python_json_ascii(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if (c as u32) < 0x7f {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// `json.dumps(value, ensure_ascii=False, indent=indent)` as Python writes it: on one
/// line with `", "` and `": "` separators when `indent` is `None`, else one item per
/// line indented by `indent` spaces per level with `","` and `": "`; floats as `repr`.
/// lm-eval writes samples and document hashes this way, and Hugging Face's chat
/// templates call it as `tojson`.
pub fn python_json_dumps(value: &serde_json::Value, indent: Option<usize>) -> String {
    let mut out = String::new();
    write_json(value, indent, 0, &mut out);
    out
}

fn write_json(value: &serde_json::Value, indent: Option<usize>, depth: usize, out: &mut String) {
    use serde_json::Value;
    let open = |out: &mut String, bracket: char, depth: usize| {
        out.push(bracket);
        if let Some(width) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(width * (depth + 1)));
        }
    };
    let separate = |out: &mut String, depth: usize| match indent {
        Some(width) => {
            out.push_str(",\n");
            out.push_str(&" ".repeat(width * (depth + 1)));
        }
        None => out.push_str(", "),
    };
    let close = |out: &mut String, bracket: char, depth: usize| {
        if let Some(width) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(width * depth));
        }
        out.push(bracket);
    };
    match value {
        Value::Array(items) if !items.is_empty() => {
            open(out, '[', depth);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    separate(out, depth);
                }
                write_json(item, indent, depth + 1, out);
            }
            close(out, ']', depth);
        }
        Value::Object(map) if !map.is_empty() => {
            open(out, '{', depth);
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    separate(out, depth);
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push_str(": ");
                write_json(item, indent, depth + 1, out);
            }
            close(out, '}', depth);
        }
        Value::Number(n) if n.is_f64() => {
            out.push_str(&python_float(n.as_f64().unwrap_or(f64::NAN)))
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_print_as_python_repr() {
        assert_eq!(python_float(-3.5), "-3.5");
        assert_eq!(python_float(-12.0), "-12.0");
        assert_eq!(python_float(1e-5), "1e-05");
        assert_eq!(python_float(0.0001), "0.0001");
        assert_eq!(python_float(1e16), "1e+16");
        assert_eq!(python_float(-0.1), "-0.1");
    }

    #[test]
    fn json_on_one_line_matches_python_separators() {
        let v = json!({"a": [1, "é"], "b": {"c": -0.5}, "d": 1.0, "e": []});
        assert_eq!(
            python_json_dumps(&v, None),
            "{\"a\": [1, \"é\"], \"b\": {\"c\": -0.5}, \"d\": 1.0, \"e\": []}"
        );
    }

    #[test]
    fn indented_json_matches_python_layout() {
        let v = json!({"a": [1, "é"], "b": {}, "c": 1.0});
        assert_eq!(
            python_json_dumps(&v, Some(2)),
            "{\n  \"a\": [\n    1,\n    \"é\"\n  ],\n  \"b\": {},\n  \"c\": 1.0\n}"
        );
        assert_eq!(python_json_dumps(&json!([1]), Some(4)), "[\n    1\n]");
    }

    #[test]
    fn strip_removes_python_whitespace_only() {
        assert_eq!(python_strip("\u{1c} a b\u{a0}\n"), "a b");
        assert_eq!(python_strip("x"), "x");
    }

    #[test]
    fn capitalize_lowers_the_rest() {
        assert_eq!(python_capitalize("the Lady"), "The lady");
        assert_eq!(python_capitalize(""), "");
        assert_eq!(python_capitalize("éCOLE"), "École");
        assert_eq!(python_capitalize("ßA"), "Ssa");
        assert_eq!(python_capitalize("ǆA"), "ǅa");
    }
}
