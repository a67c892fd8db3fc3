//! Needle-in-a-haystack construction with the demo model's own tokenizer: the context
//! is exactly the requested length less the 200-token buffer, and the needle sits at
//! the requested depth, moved back to just after a `.` token.

use yardstick_models::{cached_model, Backend, GgufModel, SessionOptions, DEMO_MODEL};
use yardstick_suites::niah::{place_needle, BUFFER_TOKENS};

#[test]
fn needles_are_placed_at_exact_depths_and_lengths_in_model_tokens() {
    let path = cached_model(DEMO_MODEL);
    assert!(
        path.exists(),
        "demo model missing at {}: run scripts/setup.sh",
        path.display()
    );
    let model = GgufModel::load(&path).unwrap();
    let session = model
        .session(SessionOptions {
            threads: Some(1),
            ..SessionOptions::default()
        })
        .unwrap();
    let text = "The river ran past the mill. Nobody knew why the mill had stopped. It was a quiet town, and the baker woke at four. ".repeat(200);
    let haystack = session.text_tokens(&text).unwrap();
    let needle = session
        .text_tokens("\nThe best thing to do in San Francisco is eat a sandwich.\n")
        .unwrap();
    let periods = session.text_tokens(".").unwrap();
    assert_eq!(periods.len(), 1, "the demo model writes . as one token");
    for length in [1000, 2500] {
        for depth in [0.0, 10.0, 33.0, 50.0, 90.0, 100.0] {
            let placed = place_needle(&haystack, &needle, &periods, length, depth);
            assert_eq!(
                placed.tokens.len(),
                length - BUFFER_TOKENS,
                "length {length} depth {depth}"
            );
            assert_eq!(
                &placed.tokens[placed.needle_at..placed.needle_at + needle.len()],
                &needle[..]
            );
            let context_len = placed.tokens.len() - needle.len();
            if depth >= 100.0 {
                assert_eq!(placed.needle_at, context_len);
                continue;
            }
            let target = (context_len as f64 * depth / 100.0) as usize;
            assert!(placed.needle_at <= target);
            if placed.needle_at > 0 {
                assert_eq!(
                    placed.tokens[placed.needle_at - 1],
                    periods[0],
                    "a sentence ends before the needle"
                );
            }
            // No `.` token between the needle and the exact depth point: it moved back
            // to the nearest one.
            assert!(
                !placed.tokens[placed.needle_at + needle.len()..target + needle.len()]
                    .contains(&periods[0])
            );
        }
    }
    let context = session
        .token_text(&place_needle(&haystack, &needle, &periods, 1000, 50.0).tokens)
        .unwrap();
    assert!(context.contains("San Francisco is eat a sandwich."));
}
