//! Task YAMLs taken unchanged from lm-evaluation-harness's own task folder, for tasks
//! yardstick does not ship (`sciq/sciq.yaml` and `piqa/piqa.yaml` of lm-eval 0.4.12),
//! run in yardstick and render the requests lm-eval renders.
//!
//! The YAMLs are byte copies in `tests/fixtures/lm_eval_yamls/` (checked here by their
//! sha256). Their hub datasets (`allenai/sciq`, `baber/piqa`, `dataset_name: null`) are
//! small hand-written files in the hub's schema, which this test writes into a fresh
//! data directory as `hf/<owner>/<name>/default/<split>.jsonl`, where yardstick looks
//! them up. Every document, 0-shot and 3-shot, is compared with
//! `tests/fixtures/lm_eval_yamls/prompts.jsonl`, which `scripts/parity/dump_yaml_prompts.py`
//! made with lm-eval 0.4.12 from the same YAMLs (only their data source pointed at the
//! same files): each context and continuation byte for byte, the gold index and the
//! target.

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use yardstick_core::sha256_hex;
use yardstick_tasks::{DataDir, Task, TaskRegistry};

/// sha256 of lm-eval 0.4.12's `lm_eval/tasks/sciq/sciq.yaml` and
/// `lm_eval/tasks/piqa/piqa.yaml`, computed with the command in
/// `tests/fixtures/lm_eval_yamls/README.md`: the fixture files must be those files.
const LM_EVAL_YAML_SHA256: [(&str, &str); 2] = [
    (
        "sciq.yaml",
        "d0409dc9466fed64e908c45111489a73c4a004d6af9a968dc5d85228823696de",
    ),
    (
        "piqa.yaml",
        "e874f7956ccac325b888d4a5dc600bad867b79fba2bd358fe8761ab8263270fb",
    ),
];

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/lm_eval_yamls")
}

/// The header line and the records of `prompts.jsonl`.
fn fixture() -> (Value, Vec<Value>) {
    let path = fixture_dir().join("prompts.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("prompt fixture {} missing: {e}", path.display()));
    let mut lines = text.lines().map(|l| serde_json::from_str(l).unwrap());
    let header = lines.next().expect("empty prompt fixture");
    (header, lines.collect())
}

/// Copies every file under `from` to the same relative path under `to`; returns the
/// relative paths (with `/`) and the sha256 of each file.
fn copy_tree(from: &Path, to: &Path, rel: &str, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .unwrap_or_else(|e| panic!("{}: {e}", from.display()))
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().into_string().unwrap();
        let rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
            copy_tree(&src, &dst, &rel, out);
        } else {
            let bytes = std::fs::read(&src).unwrap();
            std::fs::write(&dst, &bytes).unwrap();
            out.insert(rel, sha256_hex(&bytes));
        }
    }
}

#[test]
fn fixture_yamls_are_lm_evals_files() {
    for (name, sha) in LM_EVAL_YAML_SHA256 {
        let bytes = std::fs::read(fixture_dir().join(name)).unwrap();
        assert_eq!(
            sha256_hex(&bytes),
            sha,
            "{name} is not lm-eval 0.4.12's file byte for byte"
        );
    }
}

#[test]
fn lm_eval_yamls_run_unchanged_and_render_lm_evals_prompts() {
    let (header, records) = fixture();
    assert_eq!(header["lm_eval"], "0.4.12", "fixture header: {header}");
    for (name, sha) in LM_EVAL_YAML_SHA256 {
        assert_eq!(
            header["yaml_sha256"][name], sha,
            "prompts.jsonl was made from another {name}"
        );
    }

    // The test writes the data: the fixture's hand-written splits, copied into a fresh
    // data directory, and checked to be the files the prompts were made from.
    let dir = tempfile::tempdir().unwrap();
    let mut written = BTreeMap::new();
    copy_tree(&fixture_dir().join("data"), dir.path(), "", &mut written);
    let expected_data: BTreeMap<String, String> = header["data_sha256"]
        .as_object()
        .expect("header without data_sha256")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        written, expected_data,
        "the fixture data differ from those prompts.jsonl was made from; rerun scripts/parity/dump_yaml_prompts.py"
    );
    let data = DataDir::new(Some(dir.path().to_owned()));
    let registry = TaskRegistry::builtin().unwrap();

    let mut groups: BTreeMap<(String, usize), Vec<&Value>> = BTreeMap::new();
    for record in &records {
        let key = (
            record["task"].as_str().unwrap().to_owned(),
            record["num_fewshot"].as_u64().unwrap() as usize,
        );
        groups.entry(key).or_default().push(record);
    }
    let keys: Vec<(String, usize)> = groups.keys().cloned().collect();
    assert_eq!(
        keys,
        [("piqa", 0), ("piqa", 3), ("sciq", 0), ("sciq", 3)]
            .map(|(t, k)| (t.to_owned(), k))
            .to_vec(),
        "fixture coverage"
    );

    let mut mismatches = Vec::new();
    let mut compared = 0;
    for ((name, shots), expected) in &groups {
        // `<path>.yaml` loads that file as it is; nothing here changes it.
        let yaml = fixture_dir().join(format!("{name}.yaml"));
        let config = registry
            .load(yaml.to_str().unwrap())
            .unwrap_or_else(|e| panic!("{name}: loading {}: {e}", yaml.display()));
        let task = Task::load(config, &data, Some(*shots))
            .unwrap_or_else(|e| panic!("{name} {shots}-shot: {e}"));
        assert_eq!(task.name().as_str(), name.as_str());
        assert_eq!(task.num_fewshot(), *shots, "{name}");
        let docs = task
            .multiple_choice_docs(None)
            .unwrap_or_else(|e| panic!("{name} {shots}-shot: {e}"));
        assert_eq!(
            docs.len(),
            expected.len(),
            "{name} {shots}-shot: document count"
        );
        for (doc, record) in docs.iter().zip(expected) {
            compared += 1;
            let doc_id = record["doc_id"].as_u64().unwrap() as usize;
            let arguments: Vec<(String, String)> = record["arguments"]
                .as_array()
                .unwrap()
                .iter()
                .map(common::text_pair)
                .collect();
            let ours: Vec<(String, String)> = doc
                .requests
                .iter()
                .map(|r| (r.context.clone(), r.continuation.clone()))
                .collect();
            let gold = record["gold"].as_u64().unwrap() as usize;
            let target = common::python_str(&record["target"]);
            if doc.doc_id != doc_id || ours != arguments || doc.gold != gold || doc.target != target
            {
                let first_diff = ours
                    .iter()
                    .zip(&arguments)
                    .position(|(a, b)| a != b)
                    .map_or("none (request count differs)".to_owned(), |i| {
                        format!(
                            "request {i}\n    ours:    {:?}\n    lm-eval: {:?}",
                            ours[i], arguments[i]
                        )
                    });
                mismatches.push(format!(
                    "{name} {shots}-shot doc {} (lm-eval doc_id {doc_id}): gold ours {} lm-eval {gold}, \
                     target ours {:?} lm-eval {target:?}, {} vs {} requests; first differing: {first_diff}",
                    doc.doc_id,
                    doc.gold,
                    doc.target,
                    ours.len(),
                    arguments.len(),
                ));
            }
        }
    }
    assert_eq!(compared, records.len());
    assert!(
        mismatches.is_empty(),
        "{} of {} documents differ from lm-eval's requests; first ones:\n{}",
        mismatches.len(),
        compared,
        mismatches
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
