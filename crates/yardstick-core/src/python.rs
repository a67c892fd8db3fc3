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

#[cfg(test)]
mod tests {
    use super::*;

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
