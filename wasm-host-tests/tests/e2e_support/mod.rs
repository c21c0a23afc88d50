//! Real sockets on 127.0.0.1 for the `wasm-host serve` end-to-end tests: a mock Anthropic upstream, an
//! HTTP/1.1 client, and a gateway running the real filter. Every socket has a timeout and every loop a
//! bound, so a broken gateway fails a test instead of hanging it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wasm_host_tests::serve::wire::{self, BodyReader, WireError};
use wasm_host_tests::serve::{Gateway, ServeOptions, Server, ServerHandle};
use wasm_host_tests::{filter_wasm_path, Filter, HostConfig};

pub const IO_TIMEOUT: Duration = Duration::from_secs(20);
pub const SECRET: &str = "e2e-secret-0123456789abcdef0123456789abcdef";

/// Identifiers that must never reach the upstream; `n` makes them unique per client.
pub fn originals(n: u32) -> Vec<String> {
    vec![
        format!("i-0123456789a{n:06x}"),
        format!("arn:aws:iam::123456789012:role/Deploy{n}"),
        format!("10.0.{}.{}", n / 250, n % 250 + 1),
        format!("vpc-0a1b2c3d{n:08x}"),
    ]
}

/// A user prompt naming the identifiers.
pub fn prompt(n: u32) -> String {
    let o = originals(n);
    format!(
        "Instance {} cannot assume {} from {} in {}; why? Also check {} again.",
        o[0], o[1], o[2], o[3], o[0]
    )
}

/// An Anthropic Messages request body carrying `text` as the user message.
pub fn messages_body(text: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 256,
        "stream": false,
        "messages": [{"role": "user", "content": text}],
    }))
    .unwrap()
}

/// The filter, or a failure naming the build command.
pub fn filter() -> Filter {
    let path =
        filter_wasm_path().unwrap_or_else(|e| panic!("{e} (the e2e tests run the real filter)"));
    Filter::from_file_unmetered(&path).unwrap()
}

pub fn config_json(extra: &str) -> Vec<u8> {
    format!(r#"{{"token_secret":"{SECRET}"{extra}}}"#).into_bytes()
}

/// A gateway in front of `upstream`, with the filter (`Some(config)`) or without.
pub fn gateway(upstream: SocketAddr, config: Option<HostConfig>) -> ServerHandle {
    let mut options = ServeOptions::new(&format!("http://{upstream}")).unwrap();
    options.upstream_timeout = IO_TIMEOUT;
    options.client_timeout = IO_TIMEOUT;
    options.access_log = std::env::var_os("E2E_ACCESS_LOG").is_some();
    let gateway = Gateway::new(config.map(|c| (filter(), c)), options).unwrap();
    Server::bind("127.0.0.1:0", gateway).unwrap().spawn()
}

pub fn host_config(workers: usize, client_body_buffer: usize) -> HostConfig {
    HostConfig {
        workers,
        client_body_buffer_size: client_body_buffer,
        ..HostConfig::with_config(config_json(""))
    }
}

// ---------------------------------------------------------------- the mock upstream

/// What the mock upstream saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A mock Anthropic API on 127.0.0.1. The `x-mock` request header picks the behaviour:
/// `json` (echo, Content-Length), `json-chunked`, `json-drip` (one byte per write), `sse` (the prompt as
/// text deltas of 3 characters), `sse-drip`, `sse-held` (first event, then waits for [`Mock::release`]),
/// `close-early` (half the announced body, then close), `500`, `gather` (waits until `gather` requests are
/// in, then echoes).
pub struct Mock {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    released: Arc<AtomicBool>,
    gathered: Arc<AtomicUsize>,
    pub gather_timeouts: Arc<AtomicUsize>,
    pub gather: usize,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Mock {
    pub fn start(gather: usize) -> Mock {
        Self::start_with(gather, true)
    }

    /// `record: false` keeps no bodies (for benchmarks).
    pub fn start_with(gather: usize, record: bool) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let released = Arc::new(AtomicBool::new(false));
        let gathered = Arc::new(AtomicUsize::new(0));
        let gather_timeouts = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let shared = (
            seen.clone(),
            released.clone(),
            gathered.clone(),
            gather_timeouts.clone(),
            stop.clone(),
        );
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if shared.4.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let s = (
                    shared.0.clone(),
                    shared.1.clone(),
                    shared.2.clone(),
                    shared.3.clone(),
                );
                std::thread::spawn(move || {
                    let _ = mock_connection(stream, &s.0, &s.1, &s.2, &s.3, gather, record);
                });
            }
        });
        Mock {
            addr,
            seen,
            released,
            gathered,
            gather_timeouts,
            gather,
            stop,
            thread: Some(thread),
        }
    }

    pub fn release(&self) {
        self.released.store(true, Ordering::SeqCst);
    }

    /// Every body the upstream received, as text.
    pub fn all_bodies(&self) -> String {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .map(|s| String::from_utf8_lossy(&s.body).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.released.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn wait_for(flag: impl Fn() -> bool, limit: Duration) -> bool {
    let start = Instant::now();
    while !flag() {
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}

fn mock_connection(
    stream: TcpStream,
    seen: &Mutex<Vec<Seen>>,
    released: &AtomicBool,
    gathered: &AtomicUsize,
    gather_timeouts: &AtomicUsize,
    gather: usize,
    record: bool,
) -> Result<(), WireError> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    stream.set_nodelay(true)?;
    let mut out = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    for _ in 0..10_000_000 {
        let Some(raw) = wire::read_head(&mut r, 65536)? else {
            return Ok(());
        };
        let head = wire::parse_request(&raw)?;
        let body =
            BodyReader::new(BodyReader::request_framing(&head)?).read_all(&mut r, 1 << 26)?;
        if record {
            seen.lock().unwrap().push(Seen {
                path: head.path.clone(),
                headers: head.headers.clone(),
                body: body.clone(),
            });
        }
        let mode = wire::header(&head.headers, "x-mock")
            .unwrap_or("json")
            .to_string();
        match mode.as_str() {
            "json" => send_json(&mut out, 200, &body)?,
            "gather" => {
                gathered.fetch_add(1, Ordering::SeqCst);
                if !wait_for(
                    || gathered.load(Ordering::SeqCst) >= gather,
                    Duration::from_secs(15),
                ) {
                    gather_timeouts.fetch_add(1, Ordering::SeqCst);
                }
                send_json(&mut out, 200, &body)?
            }
            "500" => {
                let err =
                    br#"{"type":"error","error":{"type":"api_error","message":"overloaded"}}"#;
                send_json(&mut out, 500, err)?
            }
            "json-chunked" => {
                out.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")?;
                for piece in body.chunks(7) {
                    wire::write_chunk(&mut out, piece)?;
                }
                out.write_all(b"0\r\n\r\n")?;
            }
            "json-drip" => {
                json_head(&mut out, body.len())?;
                for b in &body {
                    out.write_all(std::slice::from_ref(b))?;
                }
            }
            "close-early" => {
                json_head(&mut out, body.len())?;
                out.write_all(&body[..body.len() / 2])?;
                return Ok(());
            }
            "sse" | "sse-drip" | "sse-held" => {
                out.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n")?;
                let events = sse_events(&body);
                for (i, event) in events.iter().enumerate() {
                    if mode == "sse-drip" {
                        for b in event.as_bytes() {
                            wire::write_chunk(&mut out, std::slice::from_ref(b))?;
                        }
                    } else {
                        wire::write_chunk(&mut out, event.as_bytes())?;
                    }
                    if mode == "sse-held"
                        && i == 0
                        && !wait_for(|| released.load(Ordering::SeqCst), IO_TIMEOUT)
                    {
                        return Ok(());
                    }
                }
                out.write_all(b"0\r\n\r\n")?;
            }
            _ => send_json(&mut out, 400, b"{}")?,
        }
    }
    Ok(())
}

/// A 200 JSON response head announcing `len` body bytes.
fn json_head(out: &mut TcpStream, len: usize) -> Result<(), WireError> {
    out.write_all(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n\r\n"
        )
        .as_bytes(),
    )?;
    Ok(())
}

fn send_json(out: &mut TcpStream, status: u16, body: &[u8]) -> Result<(), WireError> {
    out.write_all(
        format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )?;
    out.write_all(body)?;
    Ok(())
}

/// The user message text of a (masked) request body.
pub fn user_text(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    v["messages"][0]["content"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// An Anthropic stream that says the request's user text back in text deltas of 3 characters, so every
/// placeholder is split across events.
pub fn sse_events(request: &[u8]) -> Vec<String> {
    let text: Vec<char> = user_text(request).chars().collect();
    let mut events = vec![
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[]}}\n\n".to_string(),
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n".to_string(),
    ];
    for piece in text.chunks(3) {
        let s: String = piece.iter().collect();
        let delta = serde_json::json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":s}});
        events.push(format!("event: content_block_delta\ndata: {delta}\n\n"));
    }
    events.push(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
            .to_string(),
    );
    events.push("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".to_string());
    events
}

/// The text of the `text_delta` events of an SSE body, concatenated.
pub fn sse_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    for line in text.lines() {
        if let Some(data) = line.strip_prefix("data: ") {
            let v: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
            if v["delta"]["type"] == "text_delta" {
                out.push_str(v["delta"]["text"].as_str().unwrap_or(""));
            }
        }
    }
    out
}

// ---------------------------------------------------------------- the client

/// A response as the client read it.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub chunked: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        wire::header(&self.headers, name)
    }
}

/// A keep-alive HTTP/1.1 client connection.
pub struct Client {
    pub reader: BufReader<TcpStream>,
    pub writer: TcpStream,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).unwrap();
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        let writer = stream.try_clone().unwrap();
        Client {
            reader: BufReader::new(stream),
            writer,
        }
    }

    /// Sends a POST (chunked when `chunked`); does not read the response.
    pub fn send(&mut self, path: &str, mode: &str, body: &[u8], chunked: bool) {
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: gateway.test\r\ncontent-type: application/json\r\nx-mock: {mode}\r\nanthropic-version: 2023-06-01\r\n"
        );
        if chunked {
            head.push_str("transfer-encoding: chunked\r\n\r\n");
            self.writer.write_all(head.as_bytes()).unwrap();
            for piece in body.chunks(1000) {
                wire::write_chunk(&mut self.writer, piece).unwrap();
            }
            self.writer.write_all(b"0\r\n\r\n").unwrap();
        } else {
            head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
            self.writer.write_all(head.as_bytes()).unwrap();
            self.writer.write_all(body).unwrap();
        }
    }

    pub fn read_head(&mut self) -> Result<wire::ResponseHead, WireError> {
        let raw = wire::read_head(&mut self.reader, 65536)?.ok_or(WireError::Closed)?;
        wire::parse_response(&raw)
    }

    pub fn read(&mut self) -> Result<Response, WireError> {
        let head = self.read_head()?;
        let mut body = BodyReader::for_response(&head, false);
        let chunked = body.framing() == wire::Framing::Chunked;
        let bytes = body.read_all(&mut self.reader, 1 << 26)?;
        Ok(Response {
            status: head.status,
            headers: head.headers,
            body: bytes,
            chunked,
        })
    }

    pub fn post(&mut self, path: &str, mode: &str, body: &[u8]) -> Result<Response, WireError> {
        self.send(path, mode, body, false);
        self.read()
    }
}

/// One request on a fresh connection.
pub fn post(addr: SocketAddr, mode: &str, body: &[u8]) -> Result<Response, WireError> {
    Client::connect(addr).post("/v1/messages", mode, body)
}

/// Reads until `until` arrives, the peer closes, or `limit` passes (for partial-stream checks).
pub fn read_until(r: &mut impl Read, until: &[u8], limit: Duration) -> Vec<u8> {
    let start = Instant::now();
    let mut buf = vec![0u8; 65536];
    let mut got = Vec::new();
    while start.elapsed() < limit {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.windows(until.len()).any(|w| w == until) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    got
}
