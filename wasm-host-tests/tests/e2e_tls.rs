//! An `https://` upstream: certificates are verified (an unknown CA means 502 and nothing sent), and with the
//! CA trusted the exchange is masked over TLS. The fixture CA and `localhost` certificate are test-only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod e2e_support;

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use e2e_support::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use wasm_host_tests::serve::wire::{self, BodyReader};
use wasm_host_tests::serve::{Gateway, ServeOptions, Server, ServerHandle};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// A TLS echo server for `localhost`; records the bodies it received. Serves `connections` connections.
fn tls_upstream(connections: usize) -> (SocketAddr, Arc<Mutex<Vec<Vec<u8>>>>) {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(fixture("localhost.pem"))
            .unwrap()
            .map(Result::unwrap)
            .collect();
    let key = PrivateKeyDer::from_pem_file(fixture("localhost.key")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(tcp) = stream else { continue };
            tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            let conn = ServerConnection::new(config.clone()).unwrap();
            let mut tls = BufReader::new(StreamOwned::new(conn, tcp));
            let Ok(Some(raw)) = wire::read_head(&mut tls, 65536) else {
                continue;
            };
            let head = wire::parse_request(&raw).unwrap();
            let mut reader = BodyReader::new(BodyReader::request_framing(&head).unwrap());
            let body = reader.read_all(&mut tls, 1 << 24).unwrap();
            record.lock().unwrap().push(body.clone());
            let host = wire::header(&head.headers, "host")
                .unwrap_or("")
                .to_string();
            let out = tls.get_mut();
            let _ = out.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-seen-host: {host}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            let _ = out.write_all(&body);
            out.conn.send_close_notify();
            let _ = out.flush();
        }
    });
    (addr, seen)
}

fn https_gateway(port: u16, ca: Option<PathBuf>) -> ServerHandle {
    let mut options = ServeOptions::new(&format!("https://localhost:{port}")).unwrap();
    options.upstream_ca = ca;
    options.access_log = false;
    options.upstream_timeout = IO_TIMEOUT;
    let gateway = Gateway::new(Some((filter(), host_config(1, 1 << 20))), options).unwrap();
    Server::bind("127.0.0.1:0", gateway).unwrap().spawn()
}

#[test]
fn an_upstream_certificate_from_an_unknown_ca_is_refused() {
    let (addr, seen) = tls_upstream(1);
    let gw = https_gateway(addr.port(), None);
    let r = post(gw.addr(), "json", &messages_body(&prompt(30))).unwrap();
    assert_eq!(r.status, 502, "the webpki roots do not know the test CA");
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing was sent over an unverified connection"
    );
}

#[test]
fn with_the_ca_trusted_the_exchange_is_masked_over_tls() {
    let (addr, seen) = tls_upstream(2);
    let gw = https_gateway(addr.port(), Some(fixture("ca.pem")));
    let body = messages_body(&prompt(31));
    for _ in 0..2 {
        let r = post(gw.addr(), "json", &body).unwrap();
        assert_eq!(r.status, 200);
        assert!(r.body == body, "originals restored");
        assert_eq!(
            r.header("x-seen-host"),
            Some(format!("localhost:{}", addr.port()).as_str())
        );
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    for original in originals(31) {
        assert!(!seen
            .iter()
            .any(|b| String::from_utf8_lossy(b).contains(&original)));
    }
}
