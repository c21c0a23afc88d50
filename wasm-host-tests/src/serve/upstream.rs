//! The upstream side of the gateway: an `http://` or `https://` base URL, connections (TLS verified against
//! the webpki roots), a small pool of idle keep-alive connections, and sending one request.
//!
//! ```
//! use wasm_host_tests::serve::upstream::UpstreamUrl;
//! let url = UpstreamUrl::parse("https://api.anthropic.com").unwrap();
//! assert_eq!((url.host.as_str(), url.port, url.tls), ("api.anthropic.com", 443, true));
//! assert_eq!(url.authority(), "api.anthropic.com");
//! ```

use std::fmt;
use std::io::{self, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use super::wire::{self, BodyReader, ResponseHead, WireError};

/// A parsed upstream base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamUrl {
    /// `https`.
    pub tls: bool,
    /// Host name or IP (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Path prefix without a trailing `/` (empty for none).
    pub base_path: String,
}

/// Why the upstream URL is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlError {
    /// Not `http://` or `https://`.
    Scheme,
    /// No host, or a bad port.
    Authority,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Scheme => f.write_str("upstream url must start with http:// or https://"),
            Self::Authority => f.write_str("upstream url needs a host and a valid port"),
        }
    }
}

impl std::error::Error for UrlError {}

impl UpstreamUrl {
    /// Parses `http[s]://host[:port][/base]`.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(UrlError::Scheme);
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or(UrlError::Authority)?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| UrlError::Authority)?,
                None => default_port,
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, p.parse().map_err(|_| UrlError::Authority)?),
                None => (authority, default_port),
            }
        };
        if host.is_empty() || port == 0 {
            return Err(UrlError::Authority);
        }
        Ok(Self {
            tls,
            host: host.to_string(),
            port,
            base_path: path.trim_end_matches('/').to_string(),
        })
    }

    /// The `Host` header value for the upstream.
    pub fn authority(&self) -> String {
        let default = if self.tls { 443 } else { 80 };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// Reads the certificates of a PEM file (for `--upstream-ca`).
pub fn load_ca(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .collect();
    match certs {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        Ok(_) => Err(format!("{} holds no certificate", path.display())),
        Err(e) => Err(format!("cannot parse {}: {e}", path.display())),
    }
}

/// A connection to the upstream, plain or TLS.
pub enum Conn {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(s) => s.read(buf),
            Self::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(s) => s.write(buf),
            Self::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(s) => s.flush(),
            Self::Tls(s) => s.flush(),
        }
    }
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Self::Plain(s) => s,
            Self::Tls(s) => s.get_ref(),
        }
    }
}

/// A request to send upstream (hop-by-hop headers already removed, `Host` not included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing<'a> {
    /// Method.
    pub method: &'a str,
    /// Path with query (the base path is prepended).
    pub path: &'a str,
    /// Headers.
    pub headers: &'a [(String, String)],
    /// Body.
    pub body: &'a [u8],
}

/// A response being received: its head, and the connection to read the body from.
pub struct Incoming {
    /// The head.
    pub head: ResponseHead,
    /// The body reader.
    pub body: BodyReader,
    /// The connection (return it with [`Upstream::release`] once the body is done).
    pub conn: BufReader<Conn>,
}

const MAX_IDLE: usize = 64;

/// The upstream: where to connect and the idle connections.
pub struct Upstream {
    url: UpstreamUrl,
    tls: Option<Arc<ClientConfig>>,
    timeout: Duration,
    idle: Mutex<Vec<BufReader<Conn>>>,
}

impl Upstream {
    /// An upstream at `url`; `timeout` is the connect, send and read timeout. TLS trusts the webpki roots
    /// plus `extra_roots` (a private CA, or a test CA).
    pub fn new(
        url: UpstreamUrl,
        timeout: Duration,
        extra_roots: &[CertificateDer<'static>],
    ) -> Self {
        let tls = url.tls.then(|| {
            let mut roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let (_added, _ignored) = roots.add_parsable_certificates(extra_roots.iter().cloned());
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| b.with_root_certificates(roots).with_no_client_auth());
            config.ok().map(Arc::new)
        });
        Self {
            url,
            tls: tls.flatten(),
            timeout,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The URL.
    pub fn url(&self) -> &UpstreamUrl {
        &self.url
    }

    fn connect(&self) -> io::Result<BufReader<Conn>> {
        let addrs: Vec<_> = (self.url.host.as_str(), self.url.port)
            .to_socket_addrs()?
            .collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.timeout) {
                Ok(tcp) => {
                    tcp.set_read_timeout(Some(self.timeout))?;
                    tcp.set_write_timeout(Some(self.timeout))?;
                    tcp.set_nodelay(true)?;
                    return self.wrap(tcp);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn wrap(&self, tcp: TcpStream) -> io::Result<BufReader<Conn>> {
        let conn = if self.url.tls {
            let config = self.tls.clone().ok_or_else(|| {
                io::Error::new(io::ErrorKind::Unsupported, "tls configuration failed")
            })?;
            let name = ServerName::try_from(self.url.host.clone())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "bad tls server name"))?;
            let session = ClientConnection::new(config, name).map_err(io::Error::other)?;
            Conn::Tls(Box::new(StreamOwned::new(session, tcp)))
        } else {
            Conn::Plain(tcp)
        };
        Ok(BufReader::with_capacity(64 * 1024, conn))
    }

    /// Sends `request` and reads the response head. A pooled connection that turns out closed is replaced
    /// by a new one once (nothing was received on it, so resending is safe).
    pub fn send(&self, request: &Outgoing<'_>, head_request: bool) -> Result<Incoming, WireError> {
        let bytes = self.serialize(request);
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        if let Some(conn) = pooled {
            match exchange(conn, &bytes, head_request) {
                Ok(incoming) => return Ok(incoming),
                Err(WireError::Closed) => {}
                Err(WireError::Io(kind)) if stale(kind) => {}
                Err(e) => return Err(e),
            }
        }
        let conn = self.connect()?;
        exchange(conn, &bytes, head_request)
    }

    fn serialize(&self, request: &Outgoing<'_>) -> Vec<u8> {
        let mut out = format!(
            "{} {}{} HTTP/1.1\r\nHost: {}\r\n",
            request.method,
            self.url.base_path,
            request.path,
            self.url.authority()
        )
        .into_bytes();
        for (name, value) in request.headers {
            if name.eq_ignore_ascii_case("host") {
                continue;
            }
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(request.body);
        out
    }

    /// Returns a connection whose response body was read to its end, for reuse.
    pub fn release(&self, incoming: Incoming) {
        let reusable = incoming.body.is_done()
            && incoming.body.framing() != wire::Framing::Close
            && incoming.head.minor == 1
            && !wire::header(&incoming.head.headers, "connection")
                .is_some_and(|c| c.eq_ignore_ascii_case("close"))
            && incoming.conn.buffer().is_empty();
        if reusable {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < MAX_IDLE {
                idle.push(incoming.conn);
            }
        } else {
            let _ = incoming
                .conn
                .get_ref()
                .tcp()
                .shutdown(std::net::Shutdown::Both);
        }
    }
}

/// Errors that mean an idle pooled connection was closed by the upstream meanwhile.
fn stale(kind: io::ErrorKind) -> bool {
    matches!(
        kind,
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

fn exchange(
    mut conn: BufReader<Conn>,
    bytes: &[u8],
    head_request: bool,
) -> Result<Incoming, WireError> {
    conn.get_mut().write_all(bytes)?;
    conn.get_mut().flush()?;
    loop {
        let raw = wire::read_head(&mut conn, 64 * 1024)?.ok_or(WireError::Closed)?;
        let head = wire::parse_response(&raw)?;
        // Interim responses (100 Continue, 103 Early Hints) are not forwarded.
        if (100..200).contains(&head.status) && head.status != 101 {
            continue;
        }
        let body = BodyReader::new(BodyReader::response_framing(&head, head_request)?);
        return Ok(Incoming { head, body, conn });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_ports_paths_and_ipv6() {
        let u = UpstreamUrl::parse("http://127.0.0.1:8080/base/").unwrap();
        assert_eq!(
            (u.tls, u.host.as_str(), u.port, u.base_path.as_str()),
            (false, "127.0.0.1", 8080, "/base")
        );
        assert_eq!(u.authority(), "127.0.0.1:8080");
        let v6 = UpstreamUrl::parse("https://[::1]:8443").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", 8443));
        assert_eq!(v6.authority(), "[::1]:8443");
        assert_eq!(UpstreamUrl::parse("ftp://x"), Err(UrlError::Scheme));
        assert_eq!(UpstreamUrl::parse("http://:80"), Err(UrlError::Authority));
        assert_eq!(UpstreamUrl::parse("http://h:0"), Err(UrlError::Authority));
    }

    #[test]
    fn tls_config_builds_with_the_webpki_roots() {
        let up = Upstream::new(
            UpstreamUrl::parse("https://api.anthropic.com").unwrap(),
            Duration::from_secs(1),
            &[],
        );
        assert!(up.tls.is_some());
    }
}
