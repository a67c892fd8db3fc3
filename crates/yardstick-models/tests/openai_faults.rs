//! The OpenAI-compatible backend against a local server that misbehaves on purpose
//! (the one place a stand-in server is the point: real endpoints fail at random): 429
//! with Retry-After, 500s, a hang past the timeout, a truncated body and a dropped
//! connection are retried until the answer comes; an endpoint that never recovers ends
//! in an error, counted as failed, never as an answer.

use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use yardstick_core::{GenerateRequest, Sampling};
use yardstick_models::{Backend, OpenAiBackend, OpenAiConfig};

#[derive(Debug, Clone, Copy)]
enum Fault {
    TooMany,
    ServerError,
    Hang,
    Truncated,
    Dropped,
    Answer,
}

/// Reads one HTTP request (headers and a Content-Length body); returns the body.
fn read_request(stream: &mut TcpStream) -> String {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    String::from_utf8_lossy(&body).into_owned()
}

fn respond(stream: &mut TcpStream, status: &str, extra: &str, body: &str, declared: usize) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\nConnection: close\r\n{extra}\r\n{body}"
    );
    let _ = stream.flush();
}

/// Serves `script` in order (then answers), one connection per request; records the
/// request bodies.
fn fault_server(script: Vec<Fault>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        let mut script = script.into_iter();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let body = read_request(&mut stream);
            log.lock().unwrap().push(body);
            let answer = json!({"choices": [{"text": " 42", "finish_reason": "stop"}],
                                "usage": {"prompt_tokens": 3, "completion_tokens": 2}})
            .to_string();
            match script.next().unwrap_or(Fault::Answer) {
                Fault::TooMany => respond(
                    &mut stream,
                    "429 Too Many Requests",
                    "Retry-After: 1\r\n",
                    "{}",
                    2,
                ),
                Fault::ServerError => {
                    respond(&mut stream, "500 Internal Server Error", "", "{}", 2)
                }
                Fault::Hang => {
                    std::thread::sleep(Duration::from_secs(3));
                    respond(&mut stream, "200 OK", "", &answer, answer.len());
                }
                Fault::Truncated => {
                    let half = &answer[..answer.len() / 2];
                    respond(&mut stream, "200 OK", "", half, half.len());
                }
                Fault::Dropped => drop(stream),
                Fault::Answer => respond(&mut stream, "200 OK", "", &answer, answer.len()),
            }
        }
    });
    (format!("http://{address}/v1"), seen)
}

fn backend(base_url: &str, retries: u32) -> OpenAiBackend {
    let mut config = OpenAiConfig::new(base_url, "test-model");
    config.api_key = Some("sk-test-secret".into());
    config.timeout = Duration::from_millis(1500);
    config.backoff = Duration::from_millis(50);
    config.max_retries = retries;
    config.concurrency = 1;
    OpenAiBackend::new(config)
}

fn request() -> GenerateRequest {
    GenerateRequest {
        prompt: "Q: 6 x 7?\nA:".into(),
        until: vec!["\n".into()],
        max_gen_toks: 8,
        sampling: Sampling::Greedy,
    }
}

#[test]
fn every_transient_fault_is_retried_until_the_answer_comes() {
    let (url, seen) = fault_server(vec![
        Fault::TooMany,
        Fault::ServerError,
        Fault::Hang,
        Fault::Truncated,
        Fault::Dropped,
    ]);
    let mut backend = backend(&url, 6);
    let started = Instant::now();
    let responses = backend.generate(&[request()]).unwrap();
    assert_eq!(responses[0].text, " 42");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        6,
        "five faults, then the answer"
    );
    let counts = backend.counts();
    assert_eq!((counts.sent, counts.retried, counts.failed), (1, 1, 0));
    let body: serde_json::Value = serde_json::from_str(&seen.lock().unwrap()[0]).unwrap();
    assert_eq!(body["temperature"], 0);
    assert_eq!(body["stop"], json!(["\n"]));
}

#[test]
fn an_endpoint_that_never_recovers_is_an_error_counted_as_failed() {
    let (url, seen) = fault_server(vec![Fault::ServerError; 10]);
    let mut backend = backend(&url, 2);
    let error = backend.generate(&[request()]).unwrap_err().to_string();
    assert!(
        error.contains("HTTP 500") && error.contains("gave up after 3 attempts"),
        "{error}"
    );
    assert!(
        !error.contains("sk-test-secret"),
        "the key never shows: {error}"
    );
    assert_eq!(seen.lock().unwrap().len(), 3);
    assert_eq!(backend.counts().failed, 1);
}
