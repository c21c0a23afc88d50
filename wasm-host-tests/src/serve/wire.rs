//! HTTP/1.1 on the wire, for both sides of the gateway: reading a head, reading a body chunk by chunk as
//! it arrives (Content-Length, chunked or close-delimited), and writing chunked output.
//!
//! ```
//! use std::io::BufReader;
//! use wasm_host_tests::serve::wire::{read_head, parse_response, BodyReader};
//!
//! let raw = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
//! let mut r = BufReader::new(&raw[..]);
//! let head = parse_response(&read_head(&mut r, 8192).unwrap().unwrap()).unwrap();
//! let mut body = BodyReader::for_response(&head, false);
//! assert_eq!(body.next_chunk(&mut r).unwrap(), Some(b"abc".to_vec()));
//! assert_eq!(body.next_chunk(&mut r).unwrap(), None);
//! ```

use std::fmt;
use std::io::{self, BufRead, Read, Write};

/// Why a message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// The socket failed (timeouts included).
    Io(io::ErrorKind),
    /// The peer closed before the message was complete.
    Closed,
    /// The head is larger than the limit (bytes).
    HeadTooLarge(usize),
    /// The body is larger than the limit (bytes).
    BodyTooLarge(u64),
    /// The message is not valid HTTP/1.1.
    Malformed(&'static str),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(kind) => write!(f, "socket error: {kind}"),
            Self::Closed => f.write_str("connection closed early"),
            Self::HeadTooLarge(n) => write!(f, "head larger than {n} bytes"),
            Self::BodyTooLarge(n) => write!(f, "body larger than {n} bytes"),
            Self::Malformed(what) => write!(f, "malformed message: {what}"),
        }
    }
}

impl std::error::Error for WireError {}

impl From<io::Error> for WireError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => Self::Closed,
            kind => Self::Io(kind),
        }
    }
}

/// Headers as received, in order.
pub type Headers = Vec<(String, String)>;

/// First value of a header, case-insensitively.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A request line and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// Method.
    pub method: String,
    /// Request target (path and query).
    pub path: String,
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub minor: u8,
    /// Headers.
    pub headers: Headers,
}

/// A status line and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// Status code.
    pub status: u16,
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub minor: u8,
    /// Headers.
    pub headers: Headers,
}

/// Reads up to and including the blank line ending a head. `Ok(None)` when the peer closed before sending
/// anything (an idle keep-alive connection going away).
pub fn read_head(r: &mut impl BufRead, limit: usize) -> Result<Option<Vec<u8>>, WireError> {
    let mut head = Vec::new();
    loop {
        let before = head.len();
        let n = Read::take(&mut *r, limit as u64 + 1).read_until(b'\n', &mut head)?;
        if n == 0 {
            return if head.is_empty() {
                Ok(None)
            } else {
                Err(WireError::Closed)
            };
        }
        if head.len() > limit {
            return Err(WireError::HeadTooLarge(limit));
        }
        let line = head.get(before..).unwrap_or_default();
        if line == b"\r\n" || line == b"\n" {
            // Tolerate blank lines before a request line (RFC 9112 §2.2).
            if before == 0 {
                head.clear();
                continue;
            }
            return Ok(Some(head));
        }
    }
}

const MAX_HEADERS: usize = 128;

fn collect(parsed: &[httparse::Header<'_>]) -> Result<Headers, WireError> {
    parsed
        .iter()
        .map(|h| {
            let value = std::str::from_utf8(h.value)
                .map_err(|_| WireError::Malformed("header value is not utf-8"))?;
            Ok((h.name.to_string(), value.trim().to_string()))
        })
        .collect()
}

/// Parses a request head.
pub fn parse_request(raw: &[u8]) -> Result<RequestHead, WireError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut slots);
    match req.parse(raw) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(WireError::Malformed("incomplete head")),
        Err(_) => return Err(WireError::Malformed("bad request head")),
    }
    Ok(RequestHead {
        method: req.method.unwrap_or("GET").to_string(),
        path: req.path.unwrap_or("/").to_string(),
        minor: req.version.unwrap_or(1),
        headers: collect(req.headers)?,
    })
}

/// Parses a response head.
pub fn parse_response(raw: &[u8]) -> Result<ResponseHead, WireError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut slots);
    match res.parse(raw) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(WireError::Malformed("incomplete head")),
        Err(_) => return Err(WireError::Malformed("bad response head")),
    }
    Ok(ResponseHead {
        status: res.code.unwrap_or(502),
        minor: res.version.unwrap_or(1),
        headers: collect(res.headers)?,
    })
}

fn is_chunked(headers: &[(String, String)]) -> bool {
    header(headers, "transfer-encoding").is_some_and(|te| {
        te.rsplit(',')
            .next()
            .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
    })
}

fn content_length(headers: &[(String, String)]) -> Result<Option<u64>, WireError> {
    match header(headers, "content-length") {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| WireError::Malformed("bad content-length")),
    }
}

/// How a body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Until the peer closes.
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailers,
}

/// Reads a body piece by piece, returning each piece as soon as the socket has it.
#[derive(Debug)]
pub struct BodyReader {
    framing: Framing,
    remaining: u64,
    chunk: Chunk,
    done: bool,
    /// Bytes of body delivered so far.
    pub received: u64,
}

/// Largest piece returned at once.
const PIECE: usize = 64 * 1024;

impl BodyReader {
    /// A reader for a body delimited by `framing`.
    pub fn new(framing: Framing) -> Self {
        let remaining = match framing {
            Framing::Length(n) => n,
            _ => 0,
        };
        Self {
            framing,
            remaining,
            chunk: Chunk::Size,
            done: matches!(framing, Framing::Empty | Framing::Length(0)),
            received: 0,
        }
    }

    /// The request body framing (RFC 9112 §6.3: chunked wins over Content-Length; none means empty).
    pub fn request_framing(head: &RequestHead) -> Result<Framing, WireError> {
        if is_chunked(&head.headers) {
            return Ok(Framing::Chunked);
        }
        if header(&head.headers, "transfer-encoding").is_some() {
            return Err(WireError::Malformed("unsupported transfer-encoding"));
        }
        Ok(content_length(&head.headers)?.map_or(Framing::Empty, Framing::Length))
    }

    /// The response body framing; `head_request` is true for a response to `HEAD`.
    pub fn response_framing(head: &ResponseHead, head_request: bool) -> Result<Framing, WireError> {
        if head_request || head.status < 200 || head.status == 204 || head.status == 304 {
            return Ok(Framing::Empty);
        }
        if is_chunked(&head.headers) {
            return Ok(Framing::Chunked);
        }
        Ok(content_length(&head.headers)?.map_or(Framing::Close, Framing::Length))
    }

    /// A reader for a response, falling back to close-delimited on a bad Content-Length.
    pub fn for_response(head: &ResponseHead, head_request: bool) -> Self {
        Self::new(Self::response_framing(head, head_request).unwrap_or(Framing::Close))
    }

    /// The framing.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// True once the whole body was read (never for a close-delimited body before the peer closed).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The next piece of body, `Ok(None)` at the end.
    pub fn next_chunk(&mut self, r: &mut impl BufRead) -> Result<Option<Vec<u8>>, WireError> {
        while !self.done {
            let piece = match self.framing {
                Framing::Empty => {
                    self.done = true;
                    None
                }
                Framing::Length(_) => {
                    let piece = take(r, self.remaining)?;
                    if piece.is_empty() {
                        return Err(WireError::Closed);
                    }
                    self.remaining -= piece.len() as u64;
                    self.done = self.remaining == 0;
                    Some(piece)
                }
                Framing::Close => {
                    let piece = take(r, PIECE as u64)?;
                    if piece.is_empty() {
                        self.done = true;
                        None
                    } else {
                        Some(piece)
                    }
                }
                Framing::Chunked => self.chunked(r)?,
            };
            if let Some(piece) = piece {
                self.received += piece.len() as u64;
                return Ok(Some(piece));
            }
        }
        Ok(None)
    }

    fn chunked(&mut self, r: &mut impl BufRead) -> Result<Option<Vec<u8>>, WireError> {
        match self.chunk {
            Chunk::Size => {
                let line = read_line(r)?;
                let hex = line.split(|b| *b == b';').next().unwrap_or_default();
                let hex = std::str::from_utf8(hex)
                    .map_err(|_| WireError::Malformed("bad chunk size"))?
                    .trim();
                let size = u64::from_str_radix(hex, 16)
                    .map_err(|_| WireError::Malformed("bad chunk size"))?;
                self.chunk = if size == 0 {
                    Chunk::Trailers
                } else {
                    Chunk::Data(size)
                };
                Ok(None)
            }
            Chunk::Data(left) => {
                let piece = take(r, left)?;
                if piece.is_empty() {
                    return Err(WireError::Closed);
                }
                let left = left - piece.len() as u64;
                self.chunk = if left == 0 {
                    Chunk::DataEnd
                } else {
                    Chunk::Data(left)
                };
                Ok(Some(piece))
            }
            Chunk::DataEnd => {
                if !read_line(r)?.is_empty() {
                    return Err(WireError::Malformed("chunk data longer than its size"));
                }
                self.chunk = Chunk::Size;
                Ok(None)
            }
            Chunk::Trailers => {
                if read_line(r)?.is_empty() {
                    self.done = true;
                }
                Ok(None)
            }
        }
    }

    /// Reads the whole body, failing past `limit` bytes.
    pub fn read_all(&mut self, r: &mut impl BufRead, limit: u64) -> Result<Vec<u8>, WireError> {
        if let Framing::Length(n) = self.framing {
            if n > limit {
                return Err(WireError::BodyTooLarge(limit));
            }
        }
        let mut body = Vec::new();
        while let Some(piece) = self.next_chunk(r)? {
            body.extend_from_slice(&piece);
            if body.len() as u64 > limit {
                return Err(WireError::BodyTooLarge(limit));
            }
        }
        Ok(body)
    }
}

/// Up to `max` bytes that are available now (blocking only when none are).
fn take(r: &mut impl BufRead, max: u64) -> Result<Vec<u8>, WireError> {
    let available = r.fill_buf()?;
    let n = available
        .len()
        .min(usize::try_from(max).unwrap_or(usize::MAX))
        .min(PIECE);
    let piece = available.get(..n).unwrap_or_default().to_vec();
    r.consume(n);
    Ok(piece)
}

/// One CRLF-terminated line without its terminator (at most 4 KiB).
fn read_line(r: &mut impl BufRead) -> Result<Vec<u8>, WireError> {
    let mut line = Vec::new();
    let n = Read::take(&mut *r, 4096).read_until(b'\n', &mut line)?;
    if n == 0 || line.last() != Some(&b'\n') {
        return Err(if n >= 4096 {
            WireError::Malformed("line too long")
        } else {
            WireError::Closed
        });
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(line)
}

/// Writes one chunk of a chunked body (nothing for empty data, which would end the body).
pub fn write_chunk(w: &mut impl Write, data: &[u8]) -> io::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    let mut out = Vec::with_capacity(data.len() + 12);
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    w.write_all(&out)
}

/// Headers a proxy never forwards (RFC 9110 §7.6.1), plus those the `Connection` header names.
pub fn is_hop_by_hop(name: &str, headers: &[(String, String)]) -> bool {
    const HOP: [&str; 8] = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authorization",
    ];
    HOP.iter().any(|h| name.eq_ignore_ascii_case(h))
        || header(headers, "connection").is_some_and(|c| {
            c.split(',')
                .any(|token| token.trim().eq_ignore_ascii_case(name))
        })
}

/// Whether the client wants the connection kept open after this request.
pub fn keep_alive(head: &RequestHead) -> bool {
    let connection = header(&head.headers, "connection").unwrap_or("");
    let has = |token: &str| {
        connection
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    if head.minor == 0 {
        has("keep-alive")
    } else {
        !has("close")
    }
}

/// The reason phrase for a status.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        529 => "Overloaded",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufReader;

    fn pieces(raw: &[u8], framing: Framing, buf: usize) -> Result<Vec<u8>, WireError> {
        let mut r = BufReader::with_capacity(buf, raw);
        BodyReader::new(framing).read_all(&mut r, 1 << 20)
    }

    #[test]
    fn chunked_bodies_decode_with_extensions_and_trailers_at_any_buffer_size() {
        let raw = b"3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nx-t: 1\r\n\r\n";
        for buf in 1..raw.len() {
            assert_eq!(
                pieces(raw, Framing::Chunked, buf).unwrap(),
                b"abc0123456789abcdef"
            );
        }
    }

    #[test]
    fn truncated_bodies_are_errors() {
        assert_eq!(
            pieces(b"5\r\nab", Framing::Chunked, 64),
            Err(WireError::Closed)
        );
        assert_eq!(
            pieces(b"ab", Framing::Length(5), 64),
            Err(WireError::Closed)
        );
        assert_eq!(pieces(b"ab", Framing::Close, 64).unwrap(), b"ab");
    }

    #[test]
    fn heads_parse_and_limits_hold() {
        let mut r = BufReader::new(
            &b"\r\nPOST /v1/messages HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"[..],
        );
        let head = parse_request(&read_head(&mut r, 1024).unwrap().unwrap()).unwrap();
        assert_eq!(
            (head.method.as_str(), head.path.as_str(), head.minor),
            ("POST", "/v1/messages", 1)
        );
        assert_eq!(BodyReader::request_framing(&head), Ok(Framing::Length(2)));
        let mut big = BufReader::new(&b"GET / HTTP/1.1\r\nX: aaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"[..]);
        assert_eq!(read_head(&mut big, 16), Err(WireError::HeadTooLarge(16)));
        let mut empty = BufReader::new(&b""[..]);
        assert_eq!(read_head(&mut empty, 16), Ok(None));
    }

    #[test]
    fn body_limits_and_response_framing() {
        assert_eq!(
            BodyReader::new(Framing::Length(10)).read_all(&mut BufReader::new(&b""[..]), 5),
            Err(WireError::BodyTooLarge(5))
        );
        let head = |status, h: &[(&str, &str)]| ResponseHead {
            status,
            minor: 1,
            headers: h
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        };
        assert_eq!(
            BodyReader::response_framing(&head(204, &[("content-length", "5")]), false),
            Ok(Framing::Empty)
        );
        assert_eq!(
            BodyReader::response_framing(&head(200, &[]), false),
            Ok(Framing::Close)
        );
        assert_eq!(
            BodyReader::response_framing(&head(200, &[("content-length", "5")]), true),
            Ok(Framing::Empty)
        );
    }

    #[test]
    fn hop_by_hop_and_keep_alive() {
        let headers = vec![("Connection".to_string(), "close, X-Custom".to_string())];
        assert!(is_hop_by_hop("x-custom", &headers));
        assert!(is_hop_by_hop("Transfer-Encoding", &[]));
        assert!(!is_hop_by_hop("content-type", &headers));
        let head = RequestHead {
            method: "GET".into(),
            path: "/".into(),
            minor: 1,
            headers,
        };
        assert!(!keep_alive(&head));
        assert!(!keep_alive(&RequestHead {
            minor: 0,
            headers: vec![],
            ..head.clone()
        }));
        assert!(keep_alive(&RequestHead {
            headers: vec![],
            ..head
        }));
    }
}
