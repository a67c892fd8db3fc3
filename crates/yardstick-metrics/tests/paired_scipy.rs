//! The paired tests against scipy (tests/fixtures/paired/paired_stats.json, made by
//! scripts/fixtures/make_paired_stats_fixture.py): McNemar's exact p-value equal to
//! scipy's binomtest; the paired bootstrap's 95% percentile interval within Monte Carlo
//! error of scipy.stats.bootstrap's (the two resample with different generators).

use serde_json::Value;
use yardstick_metrics::{paired_bootstrap, McNemar, Verdict};

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/paired/paired_stats.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn mcnemar_p_values_equal_scipy_binomtest() {
    let fixture = fixture();
    let cases = fixture["mcnemar"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let (b, c) = (
            case["only_a"].as_u64().unwrap(),
            case["only_b"].as_u64().unwrap(),
        );
        let expected = case["p_value"].as_f64().unwrap();
        let ours = McNemar::from_counts(b, c).p_value;
        let tolerance = 1e-12 + 1e-9 * expected;
        assert!(
            (ours - expected).abs() <= tolerance,
            "b={b} c={c}: {ours} vs scipy {expected}"
        );
    }
}

#[test]
fn paired_bootstrap_intervals_agree_with_scipy() {
    let fixture = fixture();
    for case in fixture["bootstrap"].as_array().unwrap() {
        let values = |key: &str| -> Vec<f64> {
            case[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        };
        let (a, b) = (values("a"), values("b"));
        let ours = paired_bootstrap(&a, &b, 20_000, 11).unwrap();
        let mean = case["mean_difference"].as_f64().unwrap();
        assert!((ours.mean_difference - mean).abs() < 1e-12);
        // The interval's half-width sets the scale of Monte Carlo error in its bounds.
        let width = case["high"].as_f64().unwrap() - case["low"].as_f64().unwrap();
        for (bound, theirs) in [(ours.low, &case["low"]), (ours.high, &case["high"])] {
            let theirs = theirs.as_f64().unwrap();
            assert!(
                (bound - theirs).abs() < 0.05 * width,
                "{bound} vs scipy {theirs} (width {width})"
            );
        }
        // The verdict follows whether the interval excludes zero.
        let excludes_zero =
            case["low"].as_f64().unwrap() > 0.0 || case["high"].as_f64().unwrap() < 0.0;
        let verdict = Verdict::from_test(ours.mean_difference, ours.p_value, 0.05);
        assert_eq!(
            verdict != Verdict::OnPar,
            excludes_zero,
            "{verdict} for {:?}",
            (ours.low, ours.high)
        );
    }
}
