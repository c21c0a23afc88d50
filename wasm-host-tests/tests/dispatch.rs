//! Dispatches (`proxy_http_call`) and local responses as WasmX handles them (WASMX.md §3, §4).

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

use common::{host, host_with, log_param, statuses};
use wasm_host_tests::codec::encode_map;
use wasm_host_tests::dispatch::{DispatchFailure, DispatchResponse, TcpTransport};
use wasm_host_tests::fixtures::{once, snippet, Callback, WatFilter};
use wasm_host_tests::matrix::HostCall;
use wasm_host_tests::{Filter, Host, HostConfig, Report, Request, UpstreamResponse};

const DISPATCH_STATUS: &str = "(drop (call $proxy_get_header_map_value (i32.const 6) (i32.const 4000) (i32.const 16) (i32.const 256) (i32.const 260))) (call $log_ret (i32.const 0))";

fn dispatching_filter() -> WatFilter {
    WatFilter::new()
        .data(4000, b":dispatch_status")
        .on(
            Callback::RequestHeaders,
            &once(0, &snippet(HostCall::Dispatch)),
        )
        .returns(Callback::RequestHeaders, 1)
        .on(
            Callback::CallResponse,
            &(log_param("b") + &log_param("c") + &log_param("d") + DISPATCH_STATUS),
        )
}

#[test]
fn success_reports_counts_status_and_auto_resumes() {
    let h = host_with(
        &dispatching_filter(),
        HostConfig::default(),
        vec![Ok(DispatchResponse::new(200, b"pong"))],
    );
    let report = h.exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    // the dispatch returned OK (00), then the callback got token 0, 2 headers (:status and :dispatch_status), 4 bytes
    assert_eq!(statuses(&report), ["00", "00", "02", "04"]);
    assert!(report.logged("ok"));
    let d = &report.dispatches[0];
    assert_eq!(
        (
            d.request.method.as_str(),
            d.request.path.as_str(),
            d.request.authority.as_str()
        ),
        ("GET", "/", "svc")
    );
    assert!(
        report.upstream_request.is_some(),
        "auto-resumed after the last callback"
    );
    assert_eq!(report.client().unwrap().status, 200);
}

#[test]
fn late_failure_reports_zero_counts_and_dispatch_status() {
    for (failure, text) in [
        (DispatchFailure::Timeout, "timeout"),
        (DispatchFailure::BrokenConnection, "broken connection"),
        (DispatchFailure::Resolver, "resolver failure"),
    ] {
        let h = host_with(
            &dispatching_filter(),
            HostConfig::default(),
            vec![Err(failure)],
        );
        let report = h.exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
        assert_eq!(statuses(&report), ["00", "00", "00", "00"], "{text}");
        assert!(
            report.logs.iter().any(|l| l.message == text),
            "{text}: {:?}",
            report.logs
        );
        assert!(report.upstream_request.is_some());
    }
}

#[test]
fn tokens_count_per_worker_from_zero() {
    let wat = WatFilter::new()
        .on(Callback::RequestHeaders, &snippet(HostCall::Dispatch))
        .returns(Callback::RequestHeaders, 1)
        .on(Callback::CallResponse, &log_param("b"));
    let script = (0..4)
        .map(|_| Ok(DispatchResponse::new(200, b"")))
        .collect();
    let h = host_with(
        &wat,
        HostConfig {
            workers: 2,
            ..HostConfig::default()
        },
        script,
    );
    let tokens: Vec<String> = (0..4)
        .map(|_| statuses(&h.exchange(Request::get("/"), UpstreamResponse::json(b"{}")))[1].clone())
        .collect();
    assert_eq!(
        tokens,
        ["00", "00", "01", "01"],
        "round robin over two workers, one counter each"
    );
}

#[test]
fn paused_callback_is_not_called_again() {
    let wat = dispatching_filter().on(Callback::RequestHeaders, "(call $status (i32.const 77))");
    let h = host_with(
        &wat,
        HostConfig::default(),
        vec![Ok(DispatchResponse::new(200, b""))],
    );
    let report = h.exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(
        statuses(&report).iter().filter(|s| *s == "77").count(),
        1,
        "{:?}",
        statuses(&report)
    );
    assert!(report.upstream_request.is_some());
    assert_eq!(report.dispatches.len(), 1);
}

#[test]
fn continue_after_dispatch_does_not_wait() {
    let wat = dispatching_filter()
        .returns(Callback::RequestHeaders, 0)
        .on(Callback::CallResponse, "(drop (call $proxy_replace_header_map_value (i32.const 0) (i32.const 1100) (i32.const 6) (i32.const 1110) (i32.const 1)))");
    let h = host_with(
        &wat,
        HostConfig::default(),
        vec![Ok(DispatchResponse::new(200, b""))],
    );
    let report = h.exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    let up = report.upstream_request.unwrap();
    assert_eq!(
        up.header("x-test"),
        None,
        "the request went upstream before the callback ran"
    );
    assert_eq!(report.dispatches.len(), 1, "the callback still ran later");
}

#[test]
fn pause_with_nothing_pending_hangs() {
    let wat = WatFilter::new().returns(Callback::RequestHeaders, 1);
    let report = host(&wat, HostConfig::default())
        .exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert!(report.hung);
    assert!(report.response.is_none() && report.upstream_request.is_none());
    assert!(report.client().is_err());
}

#[test]
fn missing_pseudo_headers_fail_immediately() {
    let no_path = encode_map(&[(b":method".to_vec(), b"GET".to_vec())]);
    let call = format!(
        "(call $status (call $proxy_http_call (i32.const 1024) (i32.const 11) (i32.const 4000) (i32.const {}) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 256)))",
        no_path.len()
    );
    let wat = WatFilter::new()
        .data(4000, &no_path)
        .on(Callback::RequestHeaders, &call);
    let report = host(&wat, HostConfig::default())
        .exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(statuses(&report), ["10"]);
    assert!(report.logged("dispatch failed: no :path"));
    assert!(report.dispatches.is_empty());
}

#[test]
fn local_response_in_call_cancels_pending_dispatches() {
    let two = snippet(HostCall::Dispatch) + &snippet(HostCall::Dispatch);
    let wat = WatFilter::new()
        .on(Callback::RequestHeaders, &two)
        .returns(Callback::RequestHeaders, 1)
        .on(
            Callback::CallResponse,
            &snippet(HostCall::SendLocalResponse),
        )
        .on(Callback::ResponseHeaders, "(call $status (i32.const 42))");
    let script = vec![
        Ok(DispatchResponse::new(200, b"")),
        Ok(DispatchResponse::new(200, b"")),
    ];
    let report = host_with(&wat, HostConfig::default(), script)
        .exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(report.dispatches.len(), 1);
    assert!(report.logged("local response produced, cancelling pending dispatch operations"));
    assert!(report.upstream_request.is_none());
    let client = report.client().unwrap();
    assert_eq!(
        (client.status, client.body.as_slice()),
        (403, &b"Wasm\n"[..])
    );
    assert!(
        statuses(&report).contains(&"42".to_string()),
        "response callbacks still run for a local response"
    );
}

#[test]
fn local_response_newline_status_range_and_second_one_traps() {
    let local = |status: i32, len: i32| {
        format!("(call $status (call $proxy_send_local_response (i32.const {status}) (i32.const 0) (i32.const 0) (i32.const 1140) (i32.const {len}) (i32.const 0) (i32.const 0) (i32.const -1)))")
    };
    let report = host(
        &WatFilter::new().on(Callback::RequestHeaders, &local(418, 4)),
        HostConfig::default(),
    )
    .exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    let client = report.client().unwrap();
    assert_eq!(
        (client.status, client.body.as_slice()),
        (418, &b"Wasm\n"[..])
    );
    assert_eq!(report.local_reply.as_ref().unwrap().body, b"Wasm");
    let empty = host(
        &WatFilter::new().on(Callback::RequestHeaders, &local(204, 0)),
        HostConfig::default(),
    )
    .exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(
        empty.client().unwrap().body,
        b"",
        "no newline on an empty body"
    );
    let bad = host(
        &WatFilter::new().on(Callback::RequestHeaders, &local(99, 4)),
        HostConfig::default(),
    )
    .exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(statuses(&bad), ["02"]);
    let twice = host(
        &WatFilter::new().on(Callback::RequestHeaders, &(local(403, 4) + &local(403, 4))),
        HostConfig::default(),
    )
    .exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(
        twice.traps,
        ["host trap (bad usage): local response already stashed"]
    );
    assert_eq!(twice.client().unwrap().status, 500);
}

#[test]
fn local_response_in_response_headers_replaces_the_body() {
    let wat = WatFilter::new().on(
        Callback::ResponseHeaders,
        &snippet(HostCall::SendLocalResponse),
    );
    let report = host(&wat, HostConfig::default())
        .exchange(Request::get("/"), UpstreamResponse::json(b"upstream body"));
    let client = report.client().unwrap();
    assert_eq!(
        (client.status, client.body.as_slice()),
        (403, &b"Wasm\n"[..])
    );
    assert!(report.upstream_request.is_some());
}

#[allow(clippy::unwrap_used)]
/// One GET through `wat`, its dispatches sent over real TCP.
fn over_tcp(wat: &WatFilter) -> Report {
    let filter = Filter::from_bytes("tcp", wat.build().as_bytes(), true).unwrap();
    let h = Host::with_transport(filter, HostConfig::default(), Arc::new(TcpTransport)).unwrap();
    h.exchange(Request::get("/"), UpstreamResponse::json(b"{}"))
}

#[test]
fn real_tcp_dispatch_with_connection_close() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 1024];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).unwrap();
            req.extend_from_slice(&buf[..n]);
        }
        s.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-From: mock\r\n\r\nhello")
            .unwrap();
        String::from_utf8(req).unwrap()
    });
    let call = format!(
        "(call $status (call $proxy_http_call (i32.const 4000) (i32.const {}) (i32.const 2048) (i32.const {}) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 2000) (i32.const 256)))",
        addr.len(),
        wasm_host_tests::fixtures::dispatch_headers_len()
    );
    let body = "(call $status (call $proxy_get_buffer_bytes (i32.const 4) (i32.const 0) (i32.const 100) (i32.const 256) (i32.const 260))) (call $log_ret (i32.const 0))";
    let wat = WatFilter::new()
        .data(4000, addr.as_bytes())
        .on(Callback::RequestHeaders, &call)
        .returns(Callback::RequestHeaders, 1)
        .on(Callback::CallResponse, body);
    let report = over_tcp(&wat);
    let raw = server.join().unwrap();
    assert!(raw.starts_with("GET / HTTP/1.1\r\nHost: svc\r\n"), "{raw}");
    assert!(raw.contains("Connection: close\r\n"));
    assert!(report.logged("hello"), "{:?}", report.logs);
    assert_eq!(report.dispatches[0].result.as_ref().unwrap().status, 201);

    // a closed port is a late failure
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let addr = format!("127.0.0.1:{port}");
    let call = snippet(HostCall::Dispatch).replace(
        "(i32.const 1024) (i32.const 11)",
        &format!("(i32.const 5000) (i32.const {})", addr.len()),
    );
    let wat = WatFilter::new()
        .data(4000, b":dispatch_status")
        .data(5000, addr.as_bytes())
        .on(Callback::RequestHeaders, &call)
        .returns(Callback::RequestHeaders, 1)
        .on(Callback::CallResponse, DISPATCH_STATUS);
    let report = over_tcp(&wat);
    assert!(
        report.logs.iter().any(|l| l.message == "broken connection"),
        "{:?}",
        report.logs
    );
    assert!(matches!(
        report.dispatches[0].result,
        Err(DispatchFailure::BrokenConnection)
    ));
}

#[test]
fn dispatch_from_tick_goes_to_the_root_context() {
    let wat = WatFilter::new()
        .on(
            Callback::VmStart,
            "(drop (call $proxy_set_tick_period_milliseconds (i32.const 5)))",
        )
        .on(Callback::Tick, &snippet(HostCall::Dispatch))
        .on(Callback::CallResponse, &log_param("id"));
    let filter = Filter::from_bytes("tick", wat.build().as_bytes(), true).unwrap();
    let h = Host::with_transport(
        filter,
        HostConfig::default(),
        Arc::new(wasm_host_tests::dispatch::ScriptedTransport::new(vec![Ok(
            DispatchResponse::new(200, b""),
        )])),
    )
    .unwrap();
    let logs = h.worker(0).tick();
    assert_eq!(h.worker(0).tick_period(), 5);
    assert_eq!(
        common::statuses_of(&logs),
        ["00", "01"],
        "dispatch OK, then the callback with root id 1"
    );
}

#[allow(clippy::unwrap_used)]
fn tcp_request(addr: &str, timeout_ms: u64) -> wasm_host_tests::dispatch::DispatchRequest {
    let (host, port) = addr.rsplit_once(':').unwrap();
    wasm_host_tests::dispatch::DispatchRequest {
        upstream: addr.to_string(),
        target: wasm_host_tests::dispatch::Target::Tcp {
            host: host.to_string(),
            port: port.parse().unwrap(),
        },
        method: "POST".to_string(),
        path: "/q".to_string(),
        authority: "svc".to_string(),
        scheme: "http".to_string(),
        headers: vec![(b"x-k".to_vec(), b"v".to_vec())],
        body: b"body".to_vec(),
        timeout: std::time::Duration::from_millis(timeout_ms),
    }
}

#[test]
fn tcp_transport_timeout_and_oversized_head() {
    use wasm_host_tests::dispatch::Transport;
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let hold = std::thread::spawn(move || {
        let (s, _) = silent.accept().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(600));
        drop(s);
    });
    assert_eq!(
        TcpTransport.send(&tcp_request(&addr, 150)),
        Err(DispatchFailure::Timeout)
    );
    hold.join().unwrap();

    let big = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = big.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (mut s, _) = big.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).unwrap();
        let filler = "a".repeat(9000);
        s.write_all(
            format!("HTTP/1.1 200 OK\r\nX-Big: {filler}\r\nContent-Length: 0\r\n\r\n").as_bytes(),
        )
        .unwrap();
    });
    assert_eq!(
        TcpTransport.send(&tcp_request(&addr, 2000)),
        Err(DispatchFailure::Reader)
    );
    server.join().unwrap();
}
