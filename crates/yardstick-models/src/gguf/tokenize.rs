//! Tokenisation with lm-evaluation-harness's semantics.

// lm-eval moves trailing context whitespace by Python's definition of whitespace.
use yardstick_core::is_python_whitespace;

/// Splits a (context, continuation) pair into token ids exactly as lm-eval's
/// `_encode_pair` and `loglikelihood` do.
///
/// Trailing whitespace of the context moves to the front of the continuation; the whole
/// string is encoded once and split at the length of the encoded context, so tokens that
/// merge across the boundary belong to the continuation. An empty context becomes the
/// model's prefix token (BOS, or EOS where there is none) unless the tokenizer adds BOS
/// itself, in which case that BOS is the context.
pub fn encode_pair<T: Clone>(
    context: &str,
    continuation: &str,
    encode: impl Fn(&str) -> Vec<T>,
    prefix_token: T,
    adds_bos: bool,
) -> (Vec<T>, Vec<T>) {
    if context.is_empty() {
        let whole = encode(continuation);
        if adds_bos && !whole.is_empty() {
            return (whole[..1].to_vec(), whole[1..].to_vec());
        }
        return (vec![prefix_token], whole);
    }
    let kept = context.trim_end_matches(is_python_whitespace);
    let (context, continuation) = if kept.len() < context.len() {
        (kept, format!("{}{}", &context[kept.len()..], continuation))
    } else {
        (context, continuation.to_owned())
    };
    let whole = encode(&format!("{context}{continuation}"));
    let context_tokens = encode(context);
    let split = context_tokens.len().min(whole.len());
    let continuation_tokens = whole[split..].to_vec();
    (context_tokens, continuation_tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy tokenizer: one token per whitespace-separated word, a leading space kept
    /// with its word, so merges across the boundary are visible.
    fn words(text: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut current = String::new();
        for c in text.chars() {
            if c == ' ' && !current.trim().is_empty() {
                out.push(std::mem::take(&mut current));
            }
            current.push(c);
        }
        if !current.is_empty() {
            out.push(current);
        }
        out
    }

    #[test]
    fn trailing_context_space_moves_to_continuation() {
        let (ctx, cont) = encode_pair("Answer: ", "yes", words, "<s>".to_owned(), false);
        assert_eq!(ctx, vec!["Answer:"]);
        assert_eq!(cont, vec![" yes"]);
    }

    #[test]
    fn plain_pair_splits_at_context_length() {
        let (ctx, cont) = encode_pair(
            "Question: why?\nAnswer:",
            " because",
            words,
            "<s>".to_owned(),
            false,
        );
        assert_eq!(ctx.len(), 2);
        assert_eq!(cont, vec![" because"]);
    }

    #[test]
    fn empty_context_uses_prefix_token() {
        let (ctx, cont) = encode_pair("", "hello there", words, "<s>".to_owned(), false);
        assert_eq!(ctx, vec!["<s>"]);
        assert_eq!(cont, vec!["hello", " there"]);
    }

    #[test]
    fn empty_context_with_bos_tokenizer_uses_its_bos() {
        let with_bos = |t: &str| {
            let mut v = vec!["<bos>".to_owned()];
            v.extend(words(t));
            v
        };
        let (ctx, cont) = encode_pair("", "hi", with_bos, "<s>".to_owned(), true);
        assert_eq!(ctx, vec!["<bos>"]);
        assert_eq!(cont, vec!["hi"]);
    }

    #[test]
    fn python_whitespace_includes_ascii_separators() {
        assert!(is_python_whitespace('\u{1f}'));
        assert!(is_python_whitespace('\n'));
        assert!(!is_python_whitespace('a'));
    }
}
