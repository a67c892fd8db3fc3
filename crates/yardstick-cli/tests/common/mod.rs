//! What the binary's integration tests share: the binary with the shared data, the
//! demo model, loopback helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use yardstick_models::{cached_model, DEMO_MODEL};

pub fn yardstick() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_yardstick"));
    cmd.env("YARDSTICK_DATA_DIR", data_dir());
    cmd
}

pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("YARDSTICK_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    assert!(
        dir.join("arc").exists(),
        "benchmark data not found at {}; set YARDSTICK_DATA_DIR",
        dir.display()
    );
    dir
}

/// The demo model's name as `yardstick serve` and llama-cpp-python's server call it.
pub const SMOL: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

pub fn demo_model() -> String {
    let path = cached_model(DEMO_MODEL);
    assert!(
        path.exists(),
        "demo model missing at {}: run scripts/setup.sh",
        path.display()
    );
    format!("gguf:{}", path.display())
}

pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Kills the child process when the test ends, however it ends.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A stand-in OpenAI-compatible endpoint on loopback: `answer` maps each request body
/// to a status and a body. Returns the API root.
pub fn stub_endpoint(answer: impl Fn(&str) -> (u16, String) + Send + 'static) -> String {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", server.server_addr().to_ip().unwrap());
    std::thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let mut body = String::new();
            let _ = std::io::Read::read_to_string(request.as_reader(), &mut body);
            let (status, text) = answer(&body);
            let _ =
                request.respond(tiny_http::Response::from_string(text).with_status_code(status));
        }
    });
    url
}

/// A chat completion carrying `content`, with token counts.
pub fn chat_answer(content: &str) -> (u16, String) {
    let body = serde_json::json!({
        "id": "chatcmpl-judge", "object": "chat.completion", "created": 0, "model": "gpt-4",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
    });
    (200, body.to_string())
}

/// `yardstick run` on the demo model with `args`, JSON summary out; must succeed.
pub fn run_demo_json(out: &Path, args: &[&str]) -> serde_json::Value {
    let output = yardstick()
        .args(["run", "--model", &demo_model(), "--output", "json"])
        .args(args)
        .arg("--output-dir")
        .arg(out)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// The `results` section of the results file a run's JSON summary names.
pub fn results_of(summary: &serde_json::Value) -> serde_json::Value {
    let path = summary["results_path"].as_str().unwrap();
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    results["results"].clone()
}
