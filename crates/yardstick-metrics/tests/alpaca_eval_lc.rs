//! AlpacaEval's metrics against alpaca-eval 0.6.6 itself (tests/fixtures/alpaca_eval/, made
//! by scripts/fixtures/make_alpaca_eval_fixture.py): the length-controlled win rate and its
//! standard error for every fixture model (fitted on the synthetic df_gamed), and the plain
//! `get_winrate` fields for those models and for hand-written edge cases.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::Value;
use yardstick_metrics::{
    alpaca_win_rate, length_controlled_win_rate, GamedAnnotations, LcAnnotation, WinRate, LC_C_GRID,
};

/// The fixtures are generated from alpaca_eval's own output, so the LC numbers should agree
/// to rounding; this bound is the task's contract, in percentage points.
const LC_TOLERANCE: f64 = 1e-3;
/// Plain win-rate fields are simple means; any difference beyond this is a real mismatch.
const WIN_RATE_TOLERANCE: f64 = 1e-9;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/alpaca_eval")
        .join(name)
}

fn read_fixture(name: &str) -> String {
    let path = fixture_path(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("missing fixture {}: {e}", path.display()))
}

fn json_fixture(name: &str) -> Value {
    serde_json::from_str(&read_fixture(name))
        .unwrap_or_else(|e| panic!("bad JSON in {}: {e}", fixture_path(name).display()))
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("expected an array, got {value}"))
        .iter()
        .map(|v| v.as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn indices(value: &Value) -> Vec<usize> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("expected an array, got {value}"))
        .iter()
        .map(|v| v.as_u64().expect("a non-negative integer") as usize)
        .collect()
}

/// |ours - theirs|, where a JSON null stands for NaN (pandas' sem of one value).
fn difference(ours: f64, theirs: &Value) -> f64 {
    match theirs.as_f64() {
        Some(theirs) => (ours - theirs).abs(),
        None if theirs.is_null() && ours.is_nan() => 0.0,
        None => f64::INFINITY,
    }
}

fn assert_win_rate_matches(context: &str, ours: &WinRate, expected: &Value) {
    for (field, value) in [
        ("win_rate", ours.win_rate),
        ("standard_error", ours.standard_error),
        ("discrete_win_rate", ours.discrete_win_rate),
    ] {
        let diff = difference(value, &expected[field]);
        eprintln!("{context}: {field} differs by {diff:e}");
        assert!(
            diff <= WIN_RATE_TOLERANCE,
            "{context}: {field} {value} vs alpaca_eval {}",
            expected[field]
        );
    }
    for (field, value) in [
        ("n_wins", ours.n_wins),
        ("n_wins_base", ours.n_wins_base),
        ("n_draws", ours.n_draws),
        ("n_total", ours.n_total),
    ] {
        assert_eq!(
            Some(value as u64),
            expected[field].as_u64(),
            "{context}: {field}"
        );
    }
}

#[test]
fn length_controlled_win_rates_equal_alpaca_eval() {
    let annotations = json_fixture("annotations.json");
    let expected = json_fixture("expected.json");
    let gamed = GamedAnnotations::from_csv_text(&read_fixture("df_gamed_synthetic.csv"))
        .unwrap_or_else(|e| panic!("{}: {e}", fixture_path("df_gamed_synthetic.csv").display()));
    assert_eq!(
        Some(gamed.rows().len() as u64),
        expected["df_gamed"]["rows"].as_u64()
    );

    let models = annotations["models"].as_array().expect("a models array");
    assert_eq!(models.len(), 4);
    let started = Instant::now();
    for model in models {
        let name = model["generator_2"].as_str().expect("generator_2");
        let is_baseline = model["generator_1"] == model["generator_2"];
        let reference = &expected["models"][name];
        let metrics = &reference["metrics"];
        let preferences = numbers(&model["preference"]);
        let rows: Vec<LcAnnotation> = preferences
            .iter()
            .zip(indices(&model["len_1"]))
            .zip(indices(&model["len_2"]))
            .zip(indices(&model["index"]))
            .map(|(((&p, output_1_len), output_2_len), index)| LcAnnotation {
                preference: (!p.is_nan()).then_some(p),
                output_1_len,
                output_2_len,
                index,
            })
            .collect();
        assert_eq!(
            Some(rows.len() as u64),
            reference["n_rows"].as_u64(),
            "{name}"
        );

        let lc = length_controlled_win_rate(&rows, &gamed, is_baseline)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let lc_diff = difference(lc.win_rate, &metrics["length_controlled_winrate"]);
        let se_diff = difference(lc.standard_error, &metrics["lc_standard_error"]);
        eprintln!(
            "{name}: LC {} (differs by {lc_diff:e}), LC se {} (differs by {se_diff:e})",
            lc.win_rate, lc.standard_error
        );
        assert!(
            lc_diff <= LC_TOLERANCE,
            "{name}: LC {} vs alpaca_eval {}",
            lc.win_rate,
            metrics["length_controlled_winrate"]
        );
        assert!(
            se_diff <= LC_TOLERANCE,
            "{name}: LC se {} vs alpaca_eval {}",
            lc.standard_error,
            metrics["lc_standard_error"]
        );

        // The fit itself, so that a drift shows where it starts.
        let fit_reference = &reference["fit"];
        match &lc.fit {
            None => assert_eq!(fit_reference["is_baseline"], Value::Bool(true), "{name}"),
            Some(fit) => {
                assert_eq!(numbers(&fit_reference["Cs"]), LC_C_GRID, "{name}: C grid");
                assert_eq!(Some(fit.c), fit_reference["C"].as_f64(), "{name}: chosen C");
                assert_eq!(
                    Some(fit.n_train_rows as u64),
                    fit_reference["n_train_rows"].as_u64(),
                    "{name}"
                );
                let std_diff = difference(fit.delta_len_std, &fit_reference["delta_len_std"]);
                assert!(
                    std_diff <= 1e-9,
                    "{name}: delta_len_std off by {std_diff:e}"
                );
                let coefficients = [
                    fit.coefficients.tanh_std_delta_len,
                    fit.coefficients.instruction_difficulty,
                    fit.coefficients.not_gamed_baseline,
                ];
                let coef_diff = coefficients
                    .iter()
                    .zip(numbers(&fit_reference["coef"]))
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                let cv_diff = fit
                    .cv_score_sums
                    .iter()
                    .zip(numbers(&fit_reference["cv_score_sum"]))
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                eprintln!("{name}: coef differ by {coef_diff:e}, CV scores by {cv_diff:e}");
                assert!(coef_diff <= 1e-9, "{name}: coefficients {coefficients:?}");
                assert!(cv_diff <= 1e-9, "{name}: CV scores {:?}", fit.cv_score_sums);
            }
        }

        let plain = alpaca_win_rate(&preferences);
        assert_win_rate_matches(name, &plain, metrics);
    }
    eprintln!("LC for all models took {:?}", started.elapsed());
}

#[test]
fn win_rate_edge_cases_equal_alpaca_eval() {
    let expected = json_fixture("expected.json");
    let cases = expected["winrate_cases"].as_array().expect("winrate_cases");
    assert_eq!(cases.len(), 8);
    for case in cases {
        let name = case["name"].as_str().expect("a case name");
        let ours = alpaca_win_rate(&numbers(&case["preferences"]));
        assert_win_rate_matches(name, &ours, &case["metrics"]);
    }
}
