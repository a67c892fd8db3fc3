//! Escaping for HTML text and attributes, and for URL query values.

/// `text` safe inside HTML text and quoted attribute values: model output such as
/// `<script>` shows as text, never as markup.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `text` percent-encoded for a URL query value (RFC 3986 unreserved kept).
pub fn encode_query_value(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A percent-encoded query value decoded (`+` as space); `None` when it is not UTF-8.
pub fn decode_query_value(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_text() {
        assert_eq!(
            escape_html(r#"<img src=x onerror="alert('1')">&"#),
            "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;"
        );
    }

    #[test]
    fn query_values_round_trip() {
        let value = "mmlu (5-shot) & <b>ü";
        let encoded = encode_query_value(value);
        assert!(encoded
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "%-_.~".contains(c)));
        assert_eq!(decode_query_value(&encoded).as_deref(), Some(value));
        assert_eq!(decode_query_value("a+b").as_deref(), Some("a b"));
        assert_eq!(decode_query_value("%zz"), None);
        assert_eq!(decode_query_value("100%").as_deref(), Some("100%"));
    }
}
