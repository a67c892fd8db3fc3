//! Issue 10: the results store in a real PostgreSQL server (a throwaway cluster made
//! with Debian's initdb) shared by sharded workers, read by compare, ui and status, and
//! never showing its password.

mod common;

use common::{demo_model, results_of, run_demo_json, text, yardstick, KillOnDrop};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use yardstick_store::{Durability, ItemKey, Store, StoreLocation, StoredItem, ThrowawayCluster};

fn cluster() -> ThrowawayCluster {
    ThrowawayCluster::start(Durability::Off)
        .expect("a throwaway PostgreSQL server (run scripts/setup.sh to install it)")
}

/// `yardstick run` on the demo model into `db`, JSON summary out, one llama.cpp thread
/// (workers share the two cores).
fn run_command(out: &Path, db: &str, args: &[&str]) -> Command {
    let mut command = yardstick();
    command
        .args([
            "run",
            "--model",
            &demo_model(),
            "--threads",
            "1",
            "--output",
            "json",
        ])
        .args(args)
        .arg("--output-dir")
        .arg(out)
        .args(["--db", db]);
    command
}

fn run_json(out: &Path, db: &str, args: &[&str]) -> Value {
    run_demo_json(out, &[args, &["--threads", "1", "--db", db]].concat())
}

/// Every item of every task of every run in the database, by task hash and document.
fn all_items(location: &StoreLocation) -> Vec<(String, StoredItem)> {
    let store = Store::open_read_only(location).unwrap();
    let mut keys = Vec::new();
    for run_id in store.run_ids().unwrap() {
        let run = store.run(&run_id).unwrap().unwrap();
        for task in run.manifest["tasks"].as_array().unwrap() {
            let key = ItemKey::new(run.model.clone(), task["config_hash"].as_str().unwrap());
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys.sort_by(|a, b| a.task_hash.cmp(&b.task_hash));
    keys.iter()
        .flat_map(|key| {
            store
                .load_items(key, None)
                .unwrap()
                .into_iter()
                .map(|item| (key.task_hash.clone(), item))
        })
        .collect()
}

fn status(db: &str, run_id: &str) -> Value {
    let output = yardstick()
        .args(["status", run_id, "--output", "json", "--db", db])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// Four shard workers on the demo model write into one PostgreSQL database at once; two
/// are SIGKILLed partway and restarted. The run finishes with every item written once,
/// item for item equal to a single-process SQLite run, and `yardstick status` names the
/// unfinished shards while they are unfinished.
#[test]
fn four_workers_two_killed_equal_one_sqlite_run() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--tasks", "arc_easy", "--limit", "40", "--chunk-docs", "2"];
    let sqlite = dir.path().join("single/yardstick.db");
    let reference = run_json(&dir.path().join("single"), sqlite.to_str().unwrap(), &args);
    let whole_run = reference["run_id"].as_str().unwrap().to_owned();
    let sqlite_items = all_items(&StoreLocation::File(sqlite.clone()));
    assert_eq!(sqlite_items.len(), 40);
    let key = {
        let store = Store::open_read_only(&sqlite).unwrap();
        let run = store.run(&whole_run).unwrap().unwrap();
        ItemKey::new(
            run.model,
            run.manifest["tasks"][0]["config_hash"].as_str().unwrap(),
        )
    };

    let cluster = cluster();
    let location = cluster.create_database("team").unwrap();
    let url = cluster.url_with_password("team");
    let shard_items = |shard: usize| -> usize {
        match Store::open_read_only(&location) {
            Ok(store) => store
                .stored_doc_ids(&key)
                .unwrap()
                .iter()
                .filter(|doc| *doc % 4 == shard)
                .count(),
            Err(_) => 0, // not migrated yet
        }
    };
    let worker = |shard: usize| {
        let spec = format!("{shard}/4");
        run_command(
            &dir.path().join(format!("worker{shard}")),
            &url,
            &[&args[..], &["--shard", &spec]].concat(),
        )
    };
    let mut workers: Vec<KillOnDrop> = (0..4)
        .map(|shard| {
            KillOnDrop(
                worker(shard)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            )
        })
        .collect();
    for shard in [1, 3] {
        let deadline = Instant::now() + Duration::from_secs(300);
        while shard_items(shard) < 2 {
            assert!(
                Instant::now() < deadline,
                "shard {shard} stored nothing in time"
            );
            assert!(
                workers[shard].0.try_wait().unwrap().is_none(),
                "shard {shard} ended before it could be killed"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        workers[shard].0.kill().unwrap(); // SIGKILL
        workers[shard].0.wait().unwrap();
        let stored = shard_items(shard);
        assert!(
            stored < 10,
            "shard {shard} killed partway: {stored} of 10 stored"
        );
    }
    for shard in [0, 2] {
        assert!(workers[shard].0.wait().unwrap().success(), "shard {shard}");
    }
    let halfway = status(&url, &whole_run);
    assert_eq!(halfway["complete"], false);
    assert_eq!(halfway["shards"][0]["count"], 4);
    assert_eq!(halfway["shards"][0]["finished"], serde_json::json!([0, 2]));
    assert_eq!(
        halfway["shards"][0]["unfinished"],
        serde_json::json!([1, 3])
    );
    let table = yardstick()
        .args(["status", &whole_run, "--db", &url])
        .output()
        .unwrap();
    assert!(
        text(&table)
            .0
            .contains("shards 1, 3 of 4 have not finished"),
        "{}",
        text(&table).0
    );

    for shard in [1, 3] {
        let before = shard_items(shard);
        let output = worker(shard).output().unwrap();
        assert!(output.status.success(), "{}", text(&output).1);
        let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(summary["whole_run"], whole_run.as_str());
        assert_eq!(
            summary["tasks"][0]["computed"].as_u64().unwrap() as usize,
            10 - before,
            "the restarted shard {shard} computes only what it had not stored"
        );
    }
    let done = status(&url, &whole_run);
    assert_eq!(done["complete"], true, "{done}");
    assert_eq!(done["tasks"][0]["items"], 40);

    let store = Store::open_read_only(&location).unwrap();
    assert_eq!(store.item_count().unwrap(), 40, "every item written once");
    drop(store);
    assert_eq!(all_items(&location), sqlite_items, "item for item");
    let combined = run_json(&dir.path().join("combined"), &url, &args);
    assert_eq!(combined["tasks"][0]["computed"], 0);
    assert_eq!(results_of(&combined), results_of(&reference));
}

/// A GET on the leaderboard: the status line and the body.
fn get(address: &str, path: &str) -> (String, String) {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

/// `yardstick ui --db DB` on a free port; its address.
fn start_ui(db: &str) -> (KillOnDrop, String) {
    let mut child = KillOnDrop(
        yardstick()
            .args([
                "ui",
                "--port",
                "0",
                "--reference",
                "gpt-3.5-turbo",
                "--db",
                db,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    let stdout = child.0.stdout.as_mut().unwrap();
    let mut byte = [0u8; 1];
    while !line.ends_with('\n') {
        assert_eq!(stdout.read(&mut byte).unwrap(), 1, "ui printed no address");
        line.push(byte[0] as char);
    }
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    (child, address)
}

/// A run copied from SQLite into PostgreSQL (`yardstick merge`) reads back the same:
/// `compare` prints the same tables and JSON, `yardstick ui` serves the same leaderboard
/// and drill-down pages, and the URL's password shows nowhere — not in the run's
/// output, its files, compare's, status's or the leaderboard's.
#[test]
fn compare_and_ui_read_postgres_as_they_read_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = cluster();
    cluster.create_database("evals").unwrap();
    let url = cluster.url_with_password("evals");
    let password = cluster.password().to_owned();

    // One run straight into PostgreSQL, looking for the password in all it shows.
    let out = dir.path().join("pg-run");
    let output = yardstick()
        .args(["run", "--model", &demo_model(), "--threads", "2"])
        .args([
            "--tasks",
            "arc_challenge,hellaswag",
            "--limit",
            "6",
            "--db",
            &url,
        ])
        .arg("--output-dir")
        .arg(&out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains("database: postgres://yardstick:***@127.0.0.1"),
        "{stdout}"
    );
    assert!(!stdout.contains(&password) && !stderr.contains(&password));
    for entry in walk(&out) {
        let content = std::fs::read_to_string(&entry).unwrap_or_default();
        assert!(
            !content.contains(&password),
            "{} shows the password",
            entry.display()
        );
    }

    // The same run in SQLite, copied into a second PostgreSQL database.
    let sqlite = dir.path().join("sqlite/yardstick.db");
    let output = yardstick()
        .args(["run", "--model", &demo_model(), "--threads", "2"])
        .args(["--tasks", "arc_challenge,hellaswag", "--limit", "6", "--db"])
        .arg(&sqlite)
        .arg("--output-dir")
        .arg(dir.path().join("sqlite"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output).1);
    cluster.create_database("copy").unwrap();
    let copy = cluster.url_with_password("copy");
    let merged = yardstick()
        .args(["merge", "--db", &copy])
        .arg(&sqlite)
        .output()
        .unwrap();
    assert!(merged.status.success(), "{}", text(&merged).1);
    assert!(text(&merged).0.contains("merged 12 items from 1 databases"));
    assert!(!text(&merged).0.contains(&password));

    let sqlite_text = sqlite.to_str().unwrap();
    let compare = |db: &str, format: &str| -> String {
        let output = yardstick()
            .args([
                "compare",
                "--reference",
                "gpt-3.5-turbo",
                "--output",
                format,
                "--db",
                db,
            ])
            .output()
            .unwrap();
        let (stdout, stderr) = text(&output);
        assert!(output.status.success(), "{stderr}");
        assert!(!stdout.contains(&password) && !stderr.contains(&password));
        stdout
    };
    for format in ["table", "json"] {
        let from_sqlite = compare(sqlite_text, format);
        assert_eq!(compare(&copy, format), from_sqlite, "{format}");
        assert_eq!(
            compare(&url, format),
            from_sqlite,
            "{format}: the direct run"
        );
    }

    let (_sqlite_ui, sqlite_address) = start_ui(sqlite_text);
    let (_pg_ui, pg_address) = start_ui(&copy);
    let (status_line, board) = get(&pg_address, "/");
    assert!(status_line.contains("200"), "{status_line}: {board}");
    assert_eq!(board, get(&sqlite_address, "/").1);
    assert!(!board.contains(&password));
    let drill = board
        .split("href=\"/items?")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(|query| format!("/items?{}", query.replace("&amp;", "&")))
        .expect("a drill-down link");
    let (status_line, items) = get(&pg_address, &drill);
    assert!(status_line.contains("200"), "{status_line}: {items}");
    assert!(items.contains("<details class=\"item\""), "{items}");
    assert_eq!(items, get(&sqlite_address, &drill).1);

    // The password may also come from PGPASSWORD or a password file, and a wrong one
    // is refused with a message that still hides it.
    let bare = cluster.url_without_password("evals");
    let runs = Store::open_read_only(cluster.location("evals"))
        .unwrap()
        .run_ids()
        .unwrap();
    let status_with = |env: &[(&str, &str)]| {
        let mut command = yardstick();
        command
            .args(["status", &runs[0], "--output", "json", "--db", &bare])
            .env_remove("PGPASSWORD")
            .env_remove("PGPASSFILE");
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    let from_env = status_with(&[("PGPASSWORD", &password)]);
    assert!(from_env.status.success(), "{}", text(&from_env).1);
    let pgpass = dir.path().join("pgpass");
    std::fs::write(
        &pgpass,
        format!("127.0.0.1:{}:evals:yardstick:{password}\n", cluster.port()),
    )
    .unwrap();
    let from_file = status_with(&[("PGPASSFILE", pgpass.to_str().unwrap())]);
    assert!(from_file.status.success(), "{}", text(&from_file).1);
    let wrong = yardstick()
        .args(["status", &runs[0], "--db"])
        .arg(url.replace(&password, "not-the-password"))
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    let message = text(&wrong).1;
    assert!(
        message.contains("cannot connect")
            && message.contains("yardstick:***@")
            && message.contains("password authentication failed"),
        "{message}"
    );
    assert!(!message.contains("not-the-password"), "{message}");
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
