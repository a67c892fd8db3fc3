//! The leaderboard and the report in a real headless Chromium (Debian's `chromium`,
//! installed by scripts/setup.sh), driven over the DevTools protocol: the page loads,
//! sorting reorders rows, the drill-down opens, hostile model output stays text, and
//! the report file needs no network. Screenshots go to the test artifacts folder.

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use yardstick_compare::{compare, CompareOptions, PublishedScores};
use yardstick_core::ModelFingerprint;
use yardstick_report::{write_report, Leaderboard, LeaderboardOptions};
use yardstick_store::{ItemKey, Store, StoredItem, TaskRecord};

const HOSTILE: &str = "<script>alert(1)</script> and <img src=x onerror=\"window.__xss=1\">";

/// Where screenshots are kept after the test (under cargo's target folder).
fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
        .expect("chromium not found on PATH: run scripts/setup.sh (it installs Debian's chromium)")
}

fn browser() -> Browser {
    let args: Vec<&OsStr> = vec![OsStr::new("--disable-dev-shm-usage")];
    let options = LaunchOptions::default_builder()
        .path(Some(chromium()))
        .headless(true)
        .sandbox(false)
        .window_size(Some((1400, 1000)))
        // Every request that is not to loopback goes to a dead proxy: a page that needed
        // the network would visibly fail.
        .proxy_server(Some("127.0.0.1:9"))
        .args(args)
        .build()
        .unwrap();
    Browser::new(options).expect("launch headless chromium")
}

fn eval(tab: &Tab, script: &str) -> Value {
    let result = tab.evaluate(script, false).unwrap();
    result.value.unwrap_or(Value::Null)
}

fn store_model(store: &mut Store, model: &str, arc_right: usize, answer: &str) {
    let fingerprint = ModelFingerprint::from_raw(format!("sha256:{model}"));
    store.upsert_model(&fingerprint, model, "test").unwrap();
    let tasks = [("arc_easy", "hash-arc"), ("gsm8k", "hash-gsm8k")];
    for (task, hash) in tasks {
        store
            .upsert_task(&TaskRecord {
                config_hash: hash.into(),
                name: task.into(),
                num_fewshot: 0,
                config: "{}".into(),
                dataset_hash: "data".into(),
            })
            .unwrap();
    }
    let arc: Vec<StoredItem> = (0..20)
        .map(|i| {
            let right = if i < arc_right { 1.0 } else { 0.0 };
            StoredItem::new(
                i,
                json!({
                    "doc_id": i, "target": "A",
                    "arguments": {"gen_args_0": {"arg_0": format!("Question {i}?"), "arg_1": " A"},
                                  "gen_args_1": {"arg_0": format!("Question {i}?"), "arg_1": " B"}},
                    "filtered_resps": [["-1.0", "False"], ["-2.0", "False"]],
                    "metrics": ["acc", "acc_norm"], "acc": right, "acc_norm": right
                }),
            )
        })
        .collect();
    store
        .insert_items(&ItemKey::new(fingerprint.clone(), "hash-arc"), &arc)
        .unwrap();
    let gsm: Vec<StoredItem> = (0..3)
        .map(|i| {
            StoredItem::new(
                i,
                json!({
                    "doc_id": i, "target": "4",
                    "arguments": {"gen_args_0": {"arg_0": "What is 2+2?", "arg_1": {"until": ["\n"]}}},
                    "resps": [[answer]],
                    "filters": {"strict-match": {"filtered_resps": [answer], "exact_match": 0.0}}
                }),
            )
        })
        .collect();
    store
        .insert_items(&ItemKey::new(fingerprint.clone(), "hash-gsm8k"), &gsm)
        .unwrap();
    let manifest = json!({
        "model": {"name": model, "source": "test", "fingerprint": fingerprint},
        "tasks": [
            {"task": "arc_easy", "config_hash": "hash-arc", "num_fewshot": 0},
            {"task": "gsm8k", "config_hash": "hash-gsm8k", "num_fewshot": 0}
        ]
    });
    store
        .begin_run(
            &format!("run-{model}"),
            &fingerprint,
            &["hash-arc".into(), "hash-gsm8k".into()],
            &manifest,
        )
        .unwrap();
}

/// Three models; the reference is the weakest on arc_easy, so sorting that column
/// must move it.
fn database(dir: &Path) -> PathBuf {
    let path = dir.join("yardstick.db");
    let mut store = Store::open(&path).unwrap();
    store_model(&mut store, "reference-model", 8, "The answer is 4.");
    store_model(&mut store, "evil-model", 18, HOSTILE);
    store_model(&mut store, "middle-model", 12, "4");
    path
}

fn row_order(tab: &Tab) -> String {
    eval(
        tab,
        "Array.from(document.querySelectorAll('#leaderboard tbody tr')).map(r => r.dataset.model).join('|')",
    )
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

#[test]
fn leaderboard_sorts_drills_down_and_escapes_model_text() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let board = Leaderboard::bind(
        "127.0.0.1:0",
        LeaderboardOptions {
            db: db.into(),
            published: PublishedScores::default(),
            compare: CompareOptions::new("reference-model"),
        },
    )
    .unwrap();
    let address = board.address().unwrap();
    assert!(address.ip().is_loopback());
    let board = Arc::new(board);
    let serving = Arc::clone(&board);
    std::thread::spawn(move || serving.serve());

    let browser = browser();
    let tab = browser.new_tab().unwrap();
    tab.navigate_to(&format!("http://{address}/"))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    tab.wait_for_element("#leaderboard").unwrap();
    assert_eq!(
        row_order(&tab),
        "reference-model|evil-model|middle-model",
        "reference first, then the stored order"
    );
    assert_eq!(
        eval(&tab, "document.querySelectorAll('svg.radar').length"),
        json!(1)
    );
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    let shot = artifacts().join("leaderboard.png");
    std::fs::write(&shot, png).unwrap();
    println!("screenshot: {}", shot.display());

    // Column 1 is arc_easy (general comes before reasoning): best first, then reversed.
    tab.find_element("th.sortable[data-column=\"1\"]")
        .unwrap()
        .click()
        .unwrap();
    assert_eq!(row_order(&tab), "evil-model|middle-model|reference-model");
    tab.find_element("th.sortable[data-column=\"1\"]")
        .unwrap()
        .click()
        .unwrap();
    assert_eq!(row_order(&tab), "reference-model|middle-model|evil-model");

    // Drill into the hostile model's gsm8k answers.
    tab.find_element("tr[data-model=\"evil-model\"] td:nth-child(3) a.drill")
        .unwrap()
        .click()
        .unwrap();
    tab.wait_until_navigated().unwrap();
    let summary = tab.wait_for_element("details.item summary").unwrap();
    assert_eq!(
        eval(&tab, "document.querySelector('details.item').open"),
        json!(false)
    );
    summary.click().unwrap();
    assert_eq!(
        eval(&tab, "document.querySelector('details.item').open"),
        json!(true)
    );
    let shown = eval(
        &tab,
        "document.querySelector('details.item .response').textContent",
    );
    assert_eq!(
        shown,
        json!(HOSTILE),
        "model output is shown as text, verbatim"
    );
    assert_eq!(
        eval(&tab, "document.querySelectorAll('#items img').length"),
        json!(0)
    );
    assert_eq!(
        eval(&tab, "document.querySelectorAll('#items script').length"),
        json!(0)
    );
    assert_eq!(eval(&tab, "typeof window.__xss"), json!("undefined"));
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    std::fs::write(artifacts().join("drill-down.png"), png).unwrap();
}

#[test]
fn the_report_file_opens_offline() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path());
    let store = Store::open_read_only(&db).unwrap();
    let comparison = compare(
        &store,
        &PublishedScores::default(),
        &CompareOptions::new("reference-model"),
    )
    .unwrap();
    let files = write_report(&comparison, &dir.path().join("report")).unwrap();
    let browser = browser();
    let tab = browser.new_tab().unwrap();
    tab.navigate_to(&format!("file://{}", files.html.display()))
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    tab.wait_for_element("#leaderboard").unwrap();
    assert_eq!(
        eval(
            &tab,
            "document.querySelectorAll('#leaderboard tbody tr').length"
        ),
        json!(3)
    );
    assert_eq!(
        eval(&tab, "document.querySelectorAll('svg.chart').length"),
        json!(3)
    );
    assert_eq!(
        eval(&tab, "performance.getEntriesByType('resource').length"),
        json!(0),
        "the report fetches nothing"
    );
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    std::fs::write(artifacts().join("report.png"), png).unwrap();
}
