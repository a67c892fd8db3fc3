//! Hub datasets: a task whose `dataset_path` is a hub id reads the split's parquet files
//! from a Hugging Face cache laid out as `huggingface_hub` lays it out, and downloads them
//! over HTTP (here from a local server speaking the hub's API) when they are missing.

use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use yardstick_tasks::{DataDir, HubConfig, Task, TaskRegistry};

const QUESTIONS: [&str; 3] = ["Is ice cold?", "Is fire cold?", "Is snow white?"];
const LABELS: [i64; 3] = [0, 1, 0];

/// A snappy-compressed parquet file with a string column and an integer column.
fn write_parquet(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let schema = Arc::new(
        parse_message_type(
            "message schema { REQUIRED BYTE_ARRAY question (UTF8); REQUIRED INT64 label; }",
        )
        .unwrap(),
    );
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let mut writer =
        SerializedFileWriter::new(std::fs::File::create(path).unwrap(), schema, props).unwrap();
    let mut group = writer.next_row_group().unwrap();
    let questions: Vec<ByteArray> = QUESTIONS.iter().map(|q| ByteArray::from(*q)).collect();
    let mut column = group.next_column().unwrap().unwrap();
    column
        .typed::<ByteArrayType>()
        .write_batch(&questions, None, None)
        .unwrap();
    column.close().unwrap();
    let mut column = group.next_column().unwrap().unwrap();
    column
        .typed::<Int64Type>()
        .write_batch(&LABELS, None, None)
        .unwrap();
    column.close().unwrap();
    group.close().unwrap();
    writer.close().unwrap();
}

fn task_file(dir: &Path) -> PathBuf {
    let path = dir.join("yesno.yaml");
    std::fs::write(
        &path,
        "task: yesno\ndataset_path: probe/yesno\noutput_type: multiple_choice\ntest_split: test\n\
         doc_to_text: \"Q: {{question}}\\nA:\"\ndoc_to_target: \"{{label}}\"\ndoc_to_choice: [\"yes\", \"no\"]\n",
    )
    .unwrap();
    path
}

fn hub(cache: &Path, endpoint: &str, offline: bool) -> HubConfig {
    HubConfig {
        endpoint: endpoint.to_owned(),
        cache_dir: cache.to_owned(),
        offline,
        token: None,
    }
}

fn check_prompts(task: &Task) {
    let docs = task.multiple_choice_docs(None).unwrap();
    assert_eq!(docs.len(), 3);
    for (doc, (question, label)) in docs.iter().zip(QUESTIONS.iter().zip(LABELS)) {
        assert_eq!(doc.prompt(), format!("Q: {question}\nA:"));
        assert_eq!(doc.gold, label as usize);
        assert_eq!(doc.requests[1].continuation, " no");
    }
}

#[test]
fn offline_run_reads_the_hub_cache_layout() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("hub");
    write_parquet(
        &cache.join("datasets--probe--yesno/snapshots/0123abcd/default/test/0000.parquet"),
    );
    let registry = TaskRegistry::builtin().unwrap();
    let data = DataDir::new(None).with_hub(hub(&cache, "http://127.0.0.1:9", true));
    let task = Task::load(
        registry
            .load(task_file(dir.path()).to_str().unwrap())
            .unwrap(),
        &data,
        None,
    )
    .unwrap();
    check_prompts(&task);
}

#[test]
fn offline_run_without_the_files_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let registry = TaskRegistry::builtin().unwrap();
    let data = DataDir::new(Some(dir.path().into())).with_hub(hub(
        &dir.path().join("hub"),
        "http://127.0.0.1:9",
        true,
    ));
    let err = Task::load(
        registry
            .load(task_file(dir.path()).to_str().unwrap())
            .unwrap(),
        &data,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("offline mode"), "{err}");
    assert!(err.contains("hf/probe/yesno/default/test.jsonl"), "{err}");
}

/// Serves the three hub endpoints a download uses, then stops after `requests` requests;
/// returns the endpoint and the paths asked for.
fn serve_hub(parquet: Vec<u8>, requests: usize) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut asked = Vec::new();
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                if header.trim().is_empty() {
                    break;
                }
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_owned();
            let (status, body): (&str, Vec<u8>) = match path.as_str() {
                "/api/datasets/probe/yesno/revision/refs%2Fconvert%2Fparquet" => (
                    "200 OK",
                    br#"{"id": "probe/yesno", "sha": "c0ffee"}"#.to_vec(),
                ),
                "/api/datasets/probe/yesno/tree/c0ffee/default/test" => (
                    "200 OK",
                    br#"[{"type": "file", "path": "default/test/0000.parquet", "size": 1}]"#
                        .to_vec(),
                ),
                "/datasets/probe/yesno/resolve/c0ffee/default/test/0000.parquet" => {
                    ("200 OK", parquet.clone())
                }
                _ => ("404 Not Found", b"{}".to_vec()),
            };
            write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .unwrap();
            stream.write_all(&body).unwrap();
            asked.push(path);
        }
        asked
    });
    (endpoint, handle)
}

#[test]
fn missing_split_is_downloaded_into_the_cache_then_read_offline() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.parquet");
    write_parquet(&source);
    let (endpoint, server) = serve_hub(std::fs::read(&source).unwrap(), 3);
    let cache = dir.path().join("hub");
    let registry = TaskRegistry::builtin().unwrap();
    let config = registry
        .load(task_file(dir.path()).to_str().unwrap())
        .unwrap();

    let online = DataDir::new(None).with_hub(hub(&cache, &endpoint, false));
    check_prompts(&Task::load(config.clone(), &online, None).unwrap());
    let asked = server.join().unwrap();
    assert_eq!(asked.len(), 3, "{asked:?}");
    let dataset = cache.join("datasets--probe--yesno");
    assert!(dataset
        .join("snapshots/c0ffee/default/test/0000.parquet")
        .is_file());
    assert_eq!(
        std::fs::read_to_string(dataset.join("refs/refs/convert/parquet")).unwrap(),
        "c0ffee"
    );

    let offline = DataDir::new(None).with_hub(hub(&cache, "http://127.0.0.1:9", true));
    check_prompts(&Task::load(config, &offline, None).unwrap());
}
