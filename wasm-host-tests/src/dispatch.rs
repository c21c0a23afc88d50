//! HTTP dispatches (`proxy_http_call`, WASMX.md §4): the request a filter makes, the pluggable transport
//! that carries it, and how the outcome is reported back.
//!
//! ```
//! use wasm_host_tests::dispatch::{DispatchResponse, ScriptedTransport, Transport, DispatchFailure};
//! let transport = ScriptedTransport::new(vec![
//!     Ok(DispatchResponse::new(200, b"{\"ok\":true}")),
//!     Err(DispatchFailure::BrokenConnection),
//! ]);
//! # let _ = &transport;
//! ```

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::codec::Pair;

/// Where a dispatch goes, parsed from the `upstream` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A host name or IP (IPv6 without brackets) and a port.
    Tcp { host: String, port: u16 },
    /// A unix socket path.
    Unix(String),
}

impl Target {
    /// Parses `IP`, `IP:port`, `host`, `host:port`, `[IPv6]:port` or `unix:/path`; the port defaults to 80,
    /// or 443 for `https`. `None` is an immediate failure (INTERNAL_FAILURE).
    pub fn parse(upstream: &str, https: bool) -> Option<Target> {
        let default_port = if https { 443 } else { 80 };
        if let Some(path) = upstream.strip_prefix("unix:") {
            return (!path.is_empty()).then(|| Target::Unix(path.to_string()));
        }
        if let Some(rest) = upstream.strip_prefix('[') {
            let (host, after) = rest.split_once(']')?;
            let port = match after.strip_prefix(':') {
                Some(p) => parse_port(p)?,
                None if after.is_empty() => default_port,
                None => return None,
            };
            return (!host.is_empty()).then(|| Target::Tcp {
                host: host.to_string(),
                port,
            });
        }
        let (host, port) = match upstream.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, parse_port(p)?),
            Some(_) => (upstream, default_port),
            None => (upstream, default_port),
        };
        let valid = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b));
        valid.then(|| Target::Tcp {
            host: host.to_string(),
            port,
        })
    }

    /// The default `:authority` (the host argument, `localhost` for unix sockets).
    pub fn default_authority(&self, upstream: &str) -> String {
        match self {
            Target::Unix(_) => "localhost".to_string(),
            Target::Tcp { .. } => upstream.to_string(),
        }
    }
}

fn parse_port(p: &str) -> Option<u16> {
    p.parse::<u16>().ok().filter(|&port| port > 0)
}

/// A dispatch as it goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchRequest {
    /// The `upstream` argument as given by the filter.
    pub upstream: String,
    /// Parsed target.
    pub target: Target,
    /// `:method`.
    pub method: String,
    /// `:path` (may carry a query).
    pub path: String,
    /// `:authority`, sent as `Host`.
    pub authority: String,
    /// `:scheme` (`http` unless the filter said `https`).
    pub scheme: String,
    /// Regular headers (pseudo-headers, `Host` and `Connection` removed).
    pub headers: Vec<Pair>,
    /// The body.
    pub body: Vec<u8>,
    /// Used separately as connect, send and read timeout.
    pub timeout: Duration,
}

/// A completed dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchResponse {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<Pair>,
    /// Response body (de-chunked).
    pub body: Vec<u8>,
}

impl DispatchResponse {
    /// A response with a status and a body and no headers.
    pub fn new(status: u16, body: &[u8]) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.to_vec(),
        }
    }
}

/// A late failure, reported to `on_http_call_response` with zero counts and `:dispatch_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispatchFailure {
    /// `timeout`.
    Timeout,
    /// `broken connection` (also a refused connection).
    BrokenConnection,
    /// `tls handshake failure`.
    TlsHandshake,
    /// `resolver failure`.
    Resolver,
    /// `reader failure` (a malformed response).
    Reader,
}

impl DispatchFailure {
    /// The `:dispatch_status` value.
    pub fn status_text(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::BrokenConnection => "broken connection",
            Self::TlsHandshake => "tls handshake failure",
            Self::Resolver => "resolver failure",
            Self::Reader => "reader failure",
        }
    }
}

/// What a transport returns for one dispatch.
pub type DispatchResult = Result<DispatchResponse, DispatchFailure>;

/// Carries dispatches. Implementations must be shareable between workers.
pub trait Transport: Send + Sync {
    /// Performs one call (blocking).
    fn send(&self, request: &DispatchRequest) -> DispatchResult;
}

/// Answers dispatches from a script, in order; when the script is exhausted, every call fails with
/// `broken connection`.
#[derive(Debug, Default)]
pub struct ScriptedTransport {
    script: Mutex<VecDeque<DispatchResult>>,
}

impl ScriptedTransport {
    /// A transport that answers with `script`, one entry per call.
    pub fn new(script: Vec<DispatchResult>) -> Self {
        Self {
            script: Mutex::new(script.into()),
        }
    }
}

impl Transport for ScriptedTransport {
    fn send(&self, _request: &DispatchRequest) -> DispatchResult {
        let mut script = self.script.lock().unwrap_or_else(PoisonError::into_inner);
        script
            .pop_front()
            .unwrap_or(Err(DispatchFailure::BrokenConnection))
    }
}

impl<F> Transport for F
where
    F: Fn(&DispatchRequest) -> DispatchResult + Send + Sync,
{
    fn send(&self, request: &DispatchRequest) -> DispatchResult {
        self(request)
    }
}

/// Largest dispatch response head WasmX accepts (one 8k `wasm_socket_large_buffers` buffer).
pub const MAX_RESPONSE_HEAD: usize = 8192;

/// Real HTTP/1.1 over TCP with `Connection: close`, one connection per call, as WasmX does. No TLS: an
/// `https` dispatch fails with `tls handshake failure`.
#[derive(Debug, Default, Clone, Copy)]
pub struct TcpTransport;

impl Transport for TcpTransport {
    fn send(&self, request: &DispatchRequest) -> DispatchResult {
        let Target::Tcp { host, port } = &request.target else {
            return Err(DispatchFailure::BrokenConnection);
        };
        if request.scheme == "https" {
            return Err(DispatchFailure::TlsHandshake);
        }
        let addrs: Vec<_> = (host.as_str(), *port)
            .to_socket_addrs()
            .map_err(|_| DispatchFailure::Resolver)?
            .collect();
        let addr = addrs.first().ok_or(DispatchFailure::Resolver)?;
        let timeout = request.timeout.max(Duration::from_millis(1));
        let mut stream = TcpStream::connect_timeout(addr, timeout).map_err(|e| io_failure(&e))?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| io_failure(&e))?;
        stream
            .set_write_timeout(Some(timeout))
            .map_err(|e| io_failure(&e))?;
        stream
            .write_all(&serialize_request(request))
            .map_err(|e| io_failure(&e))?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).map_err(|e| io_failure(&e))?;
        let _ = stream.shutdown(Shutdown::Both);
        // WasmX reads the response head into one `wasm_socket_large_buffers` buffer (default 8k).
        if find(&raw, b"\r\n\r\n").is_none_or(|end| end + 4 > MAX_RESPONSE_HEAD) {
            return Err(DispatchFailure::Reader);
        }
        parse_response(&raw).ok_or(DispatchFailure::Reader)
    }
}

fn io_failure(e: &std::io::Error) -> DispatchFailure {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => DispatchFailure::Timeout,
        _ => DispatchFailure::BrokenConnection,
    }
}

/// The bytes WasmX writes for a dispatch.
pub fn serialize_request(request: &DispatchRequest) -> Vec<u8> {
    let mut out = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\n",
        request.method, request.path, request.authority
    )
    .into_bytes();
    let mut has_length = false;
    for (k, v) in &request.headers {
        has_length |= k.eq_ignore_ascii_case(b"content-length");
        out.extend_from_slice(k);
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    if !has_length {
        out.extend_from_slice(format!("Content-Length: {}\r\n", request.body.len()).as_bytes());
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(&request.body);
    out
}

/// Parses a complete HTTP/1.1 response (Content-Length, chunked, or close-delimited).
pub fn parse_response(raw: &[u8]) -> Option<DispatchResponse> {
    let head_end = find(raw, b"\r\n\r\n")?;
    let head = std::str::from_utf8(raw.get(..head_end)?).ok()?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let status = parts.next()?.parse::<u16>().ok()?;
    let mut headers = Vec::new();
    for line in lines {
        let (k, v) = line.split_once(':')?;
        headers.push((
            k.trim().to_ascii_lowercase().into_bytes(),
            v.trim().as_bytes().to_vec(),
        ));
    }
    let rest = raw.get(head_end + 4..)?;
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name.as_bytes())
            .map(|(_, v)| v.clone())
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case(b"chunked")) {
        dechunk(rest)?
    } else if let Some(len) = header("content-length") {
        let len = std::str::from_utf8(&len).ok()?.parse::<usize>().ok()?;
        rest.get(..len)?.to_vec()
    } else {
        rest.to_vec()
    };
    Some(DispatchResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = find(data, b"\r\n")?;
        let size_text = std::str::from_utf8(data.get(..line_end)?).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = data.get(line_end + 2..)?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let tcp = |h: &str, p| {
            Some(Target::Tcp {
                host: h.to_string(),
                port: p,
            })
        };
        assert_eq!(Target::parse("127.0.0.1", false), tcp("127.0.0.1", 80));
        assert_eq!(
            Target::parse("127.0.0.1:8080", false),
            tcp("127.0.0.1", 8080)
        );
        assert_eq!(Target::parse("example.com", true), tcp("example.com", 443));
        assert_eq!(Target::parse("[::1]:9000", false), tcp("::1", 9000));
        assert_eq!(
            Target::parse("unix:/tmp/s.sock", false),
            Some(Target::Unix("/tmp/s.sock".into()))
        );
        for bad in [
            "",
            "unix:",
            "host:notaport",
            "host:0",
            "host:70000",
            "bad host",
            "[::1",
            "[]:80",
        ] {
            assert_eq!(Target::parse(bad, false), None, "{bad:?} accepted");
        }
    }

    #[test]
    fn parses_responses() {
        let cl = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-A: b\r\n\r\nabcdef")
            .unwrap();
        assert_eq!((cl.status, cl.body.as_slice()), (200, &b"abc"[..]));
        assert!(cl.headers.contains(&(b"x-a".to_vec(), b"b".to_vec())));
        let chunked = parse_response(
            b"HTTP/1.1 201 C\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(chunked.body, b"abcde");
        let close = parse_response(b"HTTP/1.0 500 X\r\n\r\nall of it").unwrap();
        assert_eq!(close.body, b"all of it");
        assert_eq!(parse_response(b"garbage"), None);
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort"),
            None
        );
    }
}
