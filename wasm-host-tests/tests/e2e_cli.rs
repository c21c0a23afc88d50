//! The `wasm-host` binary itself: `replay` output, and `serve` started as a process on 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod e2e_support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use e2e_support::*;
use serde_json::Value;
use wasm_host_tests::filter_wasm_path;

const BIN: &str = env!("CARGO_BIN_EXE_wasm-host");

fn wasm() -> String {
    filter_wasm_path()
        .unwrap_or_else(|e| panic!("{e} (the e2e tests run the real filter)"))
        .display()
        .to_string()
}

fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wasm-host-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `wasm-host replay` of the built filter with `config` (JSON or a file) and `request`, plus `more`.
fn replay(config: &str, request: &Path, more: &[&str]) -> Value {
    let out = Command::new(BIN)
        .arg("replay")
        .args(["--wasm", &wasm(), "--config", config, "--request"])
        .arg(request)
        .args(more)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn replay_echo_shows_the_masked_upstream_body_the_restored_client_body_and_counts() {
    let body = messages_body(&prompt(20));
    let request = scratch("echo.json", &body);
    let config = String::from_utf8(config_json("")).unwrap();
    let v = replay(&config, &request, &[]);
    let upstream = v["upstream_request"]["body"].as_str().unwrap();
    for original in originals(20) {
        assert!(!upstream.contains(&original));
    }
    assert_eq!(
        v["client_response"]["body"].as_str().unwrap().as_bytes(),
        &body[..]
    );
    assert_eq!(v["client_response"]["echo_round_trip"], true);
    assert_eq!(v["counts"]["masked_total"], 5, "{}", v["counts"]);
    assert_eq!(
        v["counts"]["masked"]["EC2"], 2,
        "the instance id appears twice"
    );
    assert_eq!(v["counts"]["restored"], 5);
    assert!(v["local_reply"].is_null());
    assert!(!v["logs"].to_string().contains(&originals(20)[0]));
}

#[test]
fn replay_restores_a_given_sse_response_cut_in_small_reads() {
    let body = messages_body(&prompt(21));
    let request = scratch("sse-req.json", &body);
    let config_path = scratch("config.json", &config_json(""));
    let config = config_path.to_str().unwrap();
    let first = replay(config, &request, &[]);
    let masked = first["upstream_request"]["body"]
        .as_str()
        .unwrap()
        .as_bytes()
        .to_vec();
    let stream = sse_events(&masked).concat();
    let response = scratch("stream.sse", stream.as_bytes());
    let v = replay(
        config,
        &request,
        &[
            "--response",
            response.to_str().unwrap(),
            "--response-type",
            "sse",
            "--chunk",
            "7",
        ],
    );
    let client = v["client_response"]["body"].as_str().unwrap();
    assert_eq!(sse_text(client.as_bytes()), prompt(21));
    assert_eq!(v["counts"]["restored"], 5);
}

#[test]
fn replay_of_a_bad_body_shows_the_local_reply() {
    let request = scratch("bad.json", b"{\"messages\": [");
    let config = String::from_utf8(config_json("")).unwrap();
    let v = replay(&config, &request, &[]);
    assert!(v["upstream_request"].is_null(), "nothing goes upstream");
    assert!(v["local_reply"]["body"]
        .as_str()
        .unwrap()
        .contains("invalid_json"));
    assert_eq!(v["client_response"]["status"], v["local_reply"]["status"]);
}

struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(args: &[&str]) -> (Served, String, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(BIN)
        .arg("serve")
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let served = Served(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(1)) else {
            continue;
        };
        if let Some(rest) = line.split("listening on http://").nth(1) {
            let addr = rest.split_whitespace().next().unwrap().to_string();
            return (served, addr, rx);
        }
    }
    panic!("wasm-host serve did not start");
}

#[test]
fn serve_as_a_process_masks_and_restores() {
    let mock = Mock::start(0);
    let config = String::from_utf8(config_json("")).unwrap();
    let upstream = format!("http://{}", mock.addr);
    let (_served, addr, log) = serve(&[
        "--wasm",
        &wasm(),
        "--config",
        &config,
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &upstream,
        "--workers",
        "2",
        "--client-body-buffer",
        "1m",
        "--response-body-buffers",
        "4 4k",
        "--shm-kv",
        "none",
    ]);
    let body = messages_body(&prompt(22));
    let r = post(addr.parse().unwrap(), "sse", &body).unwrap();
    assert_eq!(sse_text(&r.body), prompt(22));
    let r = post(addr.parse().unwrap(), "json", &body).unwrap();
    assert!(r.body == body);
    for original in originals(22) {
        assert!(!mock.all_bodies().contains(&original));
    }
    let mut lines = Vec::new();
    while lines.len() < 2 {
        let line = log
            .recv_timeout(Duration::from_secs(10))
            .expect("an access log line per request");
        for original in originals(22) {
            assert!(!line.contains(&original), "the log shows no original");
        }
        if line.contains("\"POST /v1/messages\"") {
            lines.push(line);
        }
    }
    for line in &lines {
        assert!(
            line.contains(" 200 in=") && line.contains("masked=5 restored=5"),
            "{line}"
        );
        assert!(line.contains("filter=") && line.contains("ms"), "{line}");
    }
}

#[test]
fn serve_refuses_to_start_with_an_invalid_config() {
    let out = Command::new(BIN)
        .args([
            "serve",
            "--wasm",
            &wasm(),
            "--config",
            r#"{"token_secret":"short"}"#,
        ])
        .args([
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            "http://127.0.0.1:9",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("did not load") && err.contains("token_secret"),
        "{err}"
    );
}
