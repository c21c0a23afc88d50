//! One client connection: requests in order (keep-alive), each read whole, run through the pipeline, sent
//! upstream, and the response streamed back with the framing the client needs; one access log line each.

use std::io::{BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Instant;

use crate::request::{Request, ResponseHead};

use super::count::Counter;
use super::pipeline::{Decision, Pipeline};
use super::upstream::{Incoming, Outgoing};
use super::wire::{self, BodyReader, RequestHead, WireError};
use super::Gateway;

/// Requests served on one connection before it is closed (bounds a connection's lifetime).
const MAX_REQUESTS: usize = 10_000;
const MAX_HEAD: usize = 64 * 1024;

const GATEWAY_TIMEOUT: &[u8] = b"<html>\r\n<head><title>504 Gateway Timeout</title></head>\r\n<body>\r\n<center><h1>504 Gateway Timeout</h1></center>\r\n</body>\r\n</html>\r\n";

/// Answers 503 and closes: too many connections.
pub(super) fn refuse(mut stream: TcpStream) {
    let _ = stream.write_all(
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    );
    let _ = stream.shutdown(Shutdown::Both);
}

pub(super) fn serve_connection(gw: &Gateway, stream: TcpStream) {
    let peer = stream
        .peer_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    let timeout = Some(gw.options.client_timeout);
    let ready = stream.set_nodelay(true).is_ok()
        && stream.set_read_timeout(timeout).is_ok()
        && stream.set_write_timeout(timeout).is_ok();
    let Ok(writer) = stream.try_clone() else {
        return;
    };
    let mut client = Client {
        writer,
        peer,
        chunked: false,
    };
    if ready {
        let mut reader = BufReader::with_capacity(64 * 1024, stream);
        for _ in 0..MAX_REQUESTS {
            if !serve_one(gw, &mut reader, &mut client) {
                break;
            }
        }
    }
    let _ = client.writer.flush();
    let _ = client.writer.shutdown(Shutdown::Both);
}

struct Client {
    writer: TcpStream,
    peer: SocketAddr,
    chunked: bool,
}

impl Client {
    fn send(&mut self, bytes: &[u8]) -> bool {
        self.writer.write_all(bytes).is_ok()
    }

    fn simple(&mut self, status: u16, body: &[u8]) {
        let head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            wire::reason(status),
            body.len()
        );
        let _ = self.send(head.as_bytes()) && self.send(body);
    }

    fn body(&mut self, bytes: &[u8]) -> bool {
        if bytes.is_empty() {
            return true;
        }
        if self.chunked {
            wire::write_chunk(&mut self.writer, bytes).is_ok()
        } else {
            self.send(bytes)
        }
    }
}

/// What happened to one request, for the access log.
#[derive(Default)]
struct Entry {
    method: String,
    path: String,
    status: u16,
    bytes_in: usize,
    bytes_out: u64,
    masked: u64,
    restored: u64,
    filter_us: u128,
    upstream_ms: Option<u128>,
    block: Option<String>,
    notes: Vec<&'static str>,
}

/// Serves one request; false when the connection must close.
fn serve_one(gw: &Gateway, reader: &mut BufReader<TcpStream>, client: &mut Client) -> bool {
    let raw = match wire::read_head(reader, MAX_HEAD) {
        Ok(Some(raw)) => raw,
        Ok(None) | Err(WireError::Io(_) | WireError::Closed) => return false,
        Err(WireError::HeadTooLarge(_)) => {
            client.simple(431, b"request head too large\n");
            return false;
        }
        Err(_) => {
            client.simple(400, b"bad request\n");
            return false;
        }
    };
    let started = Instant::now();
    let Ok(head) = wire::parse_request(&raw) else {
        client.simple(400, b"bad request\n");
        return false;
    };
    let Ok(framing) = BodyReader::request_framing(&head) else {
        client.simple(400, b"bad request framing\n");
        return false;
    };
    if wire::header(&head.headers, "expect").is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
        && framing != wire::Framing::Empty
        && !client.send(b"HTTP/1.1 100 Continue\r\n\r\n")
    {
        return false;
    }
    let body = match BodyReader::new(framing).read_all(reader, gw.options.max_request_body) {
        Ok(body) => body,
        Err(WireError::BodyTooLarge(_)) => {
            client.simple(413, b"request body too large\n");
            return false;
        }
        Err(_) => return false,
    };
    let mut entry = Entry {
        method: head.method.clone(),
        path: head.path.split('?').next().unwrap_or("/").to_string(),
        bytes_in: body.len(),
        ..Entry::default()
    };
    let keep_alive = wire::keep_alive(&head);
    let keep = proxy(gw, &head, body, client, &mut entry) && keep_alive;
    entry.notes.retain(|n| !n.is_empty());
    if gw.options.access_log {
        log_line(client.peer, &entry, started);
    }
    keep
}

fn proxy(
    gw: &Gateway,
    head: &RequestHead,
    body: Vec<u8>,
    client: &mut Client,
    entry: &mut Entry,
) -> bool {
    let request = Request {
        method: head.method.clone(),
        path: head.path.clone(),
        authority: wire::header(&head.headers, "host")
            .unwrap_or("localhost")
            .to_string(),
        scheme: "http".to_string(),
        headers: head.headers.clone(),
        body,
    };
    let original = gw.host.is_some().then(|| Counter::of(&request.body));
    let head_request = head.method.eq_ignore_ascii_case("HEAD");
    let (mut pipeline, decision) = Pipeline::begin(gw.host.as_ref(), request);
    let mut incoming = None;
    let mut keep = true;
    match &decision {
        Decision::Forward(forwarded) => {
            if let Some(original) = &original {
                entry.masked = Counter::of(&forwarded.body)
                    .surplus_over(original)
                    .values()
                    .sum();
            }
            let headers: Vec<(String, String)> = forwarded
                .headers
                .iter()
                .filter(|(k, _)| !wire::is_hop_by_hop(k, &forwarded.headers))
                .cloned()
                .collect();
            let outgoing = Outgoing {
                method: &forwarded.method,
                path: &forwarded.path,
                headers: &headers,
                body: &forwarded.body,
            };
            let asked = Instant::now();
            match gw.upstream.send(&outgoing, head_request) {
                Ok(reply) => incoming = Some(reply),
                Err(_) => entry.notes.push("upstream_unreachable"),
            }
            entry.upstream_ms = Some(asked.elapsed().as_millis());
        }
        Decision::Respond => {}
        Decision::Hung => {
            entry.notes.push("filter_paused_with_nothing_pending");
            pipeline.finish();
            client.chunked = false;
            let head = format!(
                "HTTP/1.1 504 {}\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                wire::reason(504),
                GATEWAY_TIMEOUT.len()
            );
            entry.status = 504;
            let _ = client.send(head.as_bytes()) && client.send(GATEWAY_TIMEOUT);
            finish_entry(gw, &mut pipeline, entry);
            return false;
        }
    }
    let upstream_head = incoming
        .as_ref()
        .map(|i: &Incoming| (i.head.status, i.head.headers.clone()));
    let response = pipeline.response_headers(upstream_head);
    entry.status = response.status;
    entry.block = wire::header(&response.headers, "x-aws-masker-block").map(str::to_string);
    let bodiless = head_request || response.status < 200 || matches!(response.status, 204 | 304);
    client.chunked = !bodiless && response.content_length.is_none() && head.minor == 1;
    if !bodiless && response.content_length.is_none() && head.minor == 0 {
        keep = false;
    }
    let mut alive = client.send(&response_head(&response, client.chunked, keep));
    let mut from_upstream = Counter::default();
    let mut to_client = Counter::default();
    let mut sent: u64 = 0;
    let limit = response.content_length;
    let mut emit = |client: &mut Client, bytes: &[u8], sent: &mut u64| -> bool {
        to_client.feed(bytes);
        let allowed = match limit {
            Some(n) => bytes
                .get(
                    ..usize::try_from(n.saturating_sub(*sent))
                        .unwrap_or(usize::MAX)
                        .min(bytes.len()),
                )
                .unwrap_or(bytes),
            None => bytes,
        };
        *sent += allowed.len() as u64;
        bodiless || client.body(allowed)
    };
    let mut upstream_ok = true;
    if let Some(reply) = incoming.as_mut() {
        loop {
            match reply.body.next_chunk(&mut reply.conn) {
                Ok(Some(piece)) => {
                    from_upstream.feed(&piece);
                    let out = pipeline.response_body(&piece);
                    if alive && !emit(client, &out, &mut sent) {
                        alive = false;
                        // The client left: stop reading the upstream (its connection is dropped).
                        upstream_ok = false;
                        break;
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    upstream_ok = false;
                    break;
                }
            }
        }
    }
    let last = pipeline.finish();
    if alive && !emit(client, &last, &mut sent) {
        alive = false;
    }
    from_upstream.finish();
    to_client.finish();
    entry.restored = from_upstream.total().saturating_sub(to_client.total());
    if let Some(deltas) = pipeline.metric_deltas() {
        // The filter's own counts when it keeps them (placeholders split across SSE events included).
        if let Some(n) = deltas.get("identifiers_masked") {
            entry.masked = *n;
        }
        if let Some(n) = deltas.get("placeholders_restored") {
            entry.restored = *n;
        }
    }
    if !alive {
        entry.notes.push("client_gone");
        keep = false;
    } else if !upstream_ok {
        // The client must see an incomplete response, as from nginx: no final chunk, connection closed.
        entry.notes.push("upstream_closed_early");
        keep = false;
    } else if client.chunked && !client.send(b"0\r\n\r\n") {
        keep = false;
    }
    if let Some(n) = limit {
        if alive && upstream_ok && !bodiless && sent != n {
            entry.notes.push("length_mismatch");
            keep = false;
        }
    }
    entry.bytes_out = sent;
    if let Some(reply) = incoming {
        if upstream_ok {
            gw.upstream.release(reply);
        }
    }
    finish_entry(gw, &mut pipeline, entry);
    keep
}

fn finish_entry(gw: &Gateway, pipeline: &mut Pipeline<'_>, entry: &mut Entry) {
    entry.filter_us = pipeline.filter_micros();
    let (logs, traps) = pipeline.take_logs();
    if traps > 0 {
        entry.notes.push("filter_trapped");
    }
    if let Some(min) = gw.options.filter_log {
        for line in logs.iter().filter(|l| l.level >= min) {
            eprintln!(
                "wasm-host: [{:?}] #{} {}",
                line.level, line.context_id, line.message
            );
        }
    }
}

fn response_head(response: &ResponseHead, chunked: bool, keep: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        wire::reason(response.status)
    );
    for (name, value) in &response.headers {
        let framing = ["transfer-encoding", "connection", "keep-alive"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h));
        if !framing {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    if chunked {
        out.push_str("transfer-encoding: chunked\r\n");
    }
    if !keep {
        out.push_str("connection: close\r\n");
    }
    out.push_str("\r\n");
    out.into_bytes()
}

fn log_line(peer: SocketAddr, e: &Entry, started: Instant) {
    let mut line = format!(
        "wasm-host: {peer} \"{} {}\" {} in={} out={} masked={} restored={} filter={:.3}ms",
        e.method,
        e.path,
        e.status,
        e.bytes_in,
        e.bytes_out,
        e.masked,
        e.restored,
        e.filter_us as f64 / 1000.0,
    );
    if let Some(ms) = e.upstream_ms {
        line.push_str(&format!(" upstream={ms}ms"));
    }
    line.push_str(&format!(" total={}ms", started.elapsed().as_millis()));
    if let Some(block) = &e.block {
        line.push_str(&format!(" block={block}"));
    }
    for note in &e.notes {
        line.push(' ');
        line.push_str(note);
    }
    eprintln!("{line}");
}
