//! `wasm-host serve` end to end, with real sockets on 127.0.0.1 and the real filter: a mock Anthropic
//! upstream, a hand-rolled HTTP/1.1 client. Every test checks that the upstream never saw an original and
//! that the client got the originals back, and that the gateway keeps serving after failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod e2e_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e_support::*;
use wasm_host_tests::serve::wire::WireError;
use wasm_host_tests::serve::ServerHandle;

fn assert_no_originals(mock: &Mock, n: u32) {
    let seen = mock.all_bodies();
    for original in originals(n) {
        assert!(
            !seen.contains(&original),
            "the upstream saw an original identifier"
        );
    }
}

/// A mock upstream and the gateway in front of it: `workers` workers, a 1 MiB client body buffer.
fn mock_and_gateway(workers: usize) -> (Mock, ServerHandle) {
    let mock = Mock::start(0);
    let gw = gateway(mock.addr, Some(host_config(workers, 1 << 20)));
    (mock, gw)
}

#[test]
fn json_responses_in_any_framing_come_back_byte_identical() {
    let (mock, gw) = mock_and_gateway(2);
    let body = messages_body(&prompt(1));
    let mut client = Client::connect(gw.addr());
    for mode in ["json", "json-chunked", "json-drip", "json"] {
        let r = client.post("/v1/messages", mode, &body).unwrap();
        assert_eq!(r.status, 200, "{mode}");
        assert_eq!(
            r.body, body,
            "{mode}: the client must get its originals back byte for byte"
        );
    }
    assert_eq!(
        mock.count(),
        4,
        "all four requests on one keep-alive connection reached the upstream"
    );
    assert_no_originals(&mock, 1);
    let seen = mock.seen.lock().unwrap();
    let masked = user_text(&seen[0].body);
    assert!(masked.contains("AWS_EC2_"), "the upstream got placeholders");
    let up = &seen[0].headers;
    let find = |n: &str| {
        up.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        find("host"),
        Some(mock.addr.to_string().as_str()),
        "Host is the upstream's"
    );
    assert_eq!(find("accept-encoding"), Some("identity"));
    assert_eq!(
        find("content-length"),
        Some(seen[0].body.len().to_string().as_str())
    );
    assert_eq!(
        find("connection"),
        None,
        "hop-by-hop headers are not forwarded"
    );
}

#[test]
fn chunked_request_bodies_are_masked_too() {
    let (mock, gw) = mock_and_gateway(1);
    let body = messages_body(&prompt(2).repeat(40));
    let mut client = Client::connect(gw.addr());
    client.send("/v1/messages", "json", &body, true);
    let r = client.read().unwrap();
    assert_eq!((r.status, r.body == body), (200, true));
    assert_no_originals(&mock, 2);
}

#[test]
fn sse_tokens_split_across_events_and_dripped_bytes_are_restored() {
    let (mock, gw) = mock_and_gateway(2);
    let body = messages_body(&prompt(3));
    let mut client = Client::connect(gw.addr());
    for mode in ["sse", "sse-drip"] {
        let r = client.post("/v1/messages", mode, &body).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("text/event-stream"));
        assert!(r.chunked, "{mode}: a stream goes chunked to the client");
        assert_eq!(
            sse_text(&r.body),
            prompt(3),
            "{mode}: the streamed text has the originals"
        );
    }
    assert_no_originals(&mock, 3);
}

#[test]
fn sse_reaches_the_client_before_the_upstream_ends_the_stream() {
    let (mock, gw) = mock_and_gateway(1);
    let mut client = Client::connect(gw.addr());
    client.send(
        "/v1/messages",
        "sse-held",
        &messages_body(&prompt(4)),
        false,
    );
    let head = client.read_head().unwrap();
    assert_eq!(head.status, 200);
    // The upstream holds the stream after its first event until released.
    let first = read_until(&mut client.reader, b"\n\n\r\n", Duration::from_secs(5));
    assert!(
        String::from_utf8_lossy(&first).contains("message_start"),
        "the first event arrives while the upstream is still streaming"
    );
    mock.release();
    let rest = read_until(
        &mut client.reader,
        b"\r\n0\r\n\r\n",
        Duration::from_secs(10),
    );
    let all = [first, rest].concat();
    assert!(String::from_utf8_lossy(&all).contains("message_stop"));
    assert_no_originals(&mock, 4);
}

#[test]
fn sixty_four_clients_in_flight_each_get_their_own_originals() {
    const CLIENTS: u32 = 64;
    let mock = Arc::new(Mock::start(CLIENTS as usize));
    let gw = gateway(mock.addr, Some(host_config(4, 1 << 20)));
    let addr = gw.addr();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|n| {
            std::thread::spawn(move || {
                let body = messages_body(&prompt(100 + n));
                let mut client = Client::connect(addr);
                // All 64 are held by the upstream until every one has arrived: they are in flight at once.
                let first = client.post("/v1/messages", "gather", &body).unwrap();
                let second = client.post("/v1/messages", "sse", &body).unwrap();
                (n, first, second, body)
            })
        })
        .collect();
    for t in threads {
        let (n, first, second, body) = t.join().unwrap();
        assert_eq!(first.status, 200);
        assert!(
            first.body == body,
            "client {n} got someone else's or a masked body"
        );
        assert_eq!(sse_text(&second.body), prompt(100 + n), "client {n} stream");
    }
    assert_eq!(
        mock.gather_timeouts
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the gateway served the 64 requests concurrently"
    );
    for n in 0..CLIENTS {
        assert_no_originals(&mock, 100 + n);
    }
}

#[test]
fn a_client_leaving_mid_stream_does_not_hurt_the_gateway() {
    let (mock, gw) = mock_and_gateway(1);
    for round in 0..3 {
        let mut client = Client::connect(gw.addr());
        client.send(
            "/v1/messages",
            "sse-held",
            &messages_body(&prompt(5)),
            false,
        );
        assert_eq!(client.read_head().unwrap().status, 200);
        let first = read_until(&mut client.reader, b"\n\n\r\n", Duration::from_secs(5));
        assert!(!first.is_empty(), "round {round}");
        drop(client);
        mock.release();
        let body = messages_body(&prompt(6));
        let r = post(gw.addr(), "json", &body).unwrap();
        assert_eq!(
            (r.status, r.body == body),
            (200, true),
            "round {round}: next request served"
        );
    }
    assert_no_originals(&mock, 5);
}

#[test]
fn an_upstream_closing_early_cuts_the_response_and_the_next_request_works() {
    let (mock, gw) = mock_and_gateway(1);
    let body = messages_body(&prompt(7));
    let mut client = Client::connect(gw.addr());
    let cut = client.post("/v1/messages", "close-early", &body);
    assert!(
        matches!(cut, Err(WireError::Closed)),
        "the client must see an incomplete response, not a complete short one: {cut:?}"
    );
    let r = post(gw.addr(), "json", &body).unwrap();
    assert_eq!((r.status, r.body == body), (200, true));
    assert_no_originals(&mock, 7);
}

#[test]
fn upstream_errors_pass_through_and_an_unreachable_upstream_is_a_502() {
    let (_mock, gw) = mock_and_gateway(1);
    let body = messages_body(&prompt(8));
    let mut client = Client::connect(gw.addr());
    let r = client.post("/v1/messages", "500", &body).unwrap();
    assert_eq!(r.status, 500);
    assert!(String::from_utf8_lossy(&r.body).contains("api_error"));
    let ok = client.post("/v1/messages", "json", &body).unwrap();
    assert_eq!((ok.status, ok.body == body), (200, true));

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let down = gateway(closed, Some(host_config(1, 1 << 20)));
    let r = post(down.addr(), "json", &body).unwrap();
    assert_eq!(r.status, 502);
    assert_eq!(
        post(down.addr(), "json", &body).unwrap().status,
        502,
        "still up"
    );
}

#[test]
fn a_body_larger_than_the_client_body_buffer_is_blocked_unless_the_buffer_is_raised() {
    let mock = Mock::start(0);
    let body = messages_body(&prompt(9).repeat(200));
    assert!(body.len() > 16 * 1024);
    let small = gateway(mock.addr, Some(host_config(1, 8 * 1024)));
    let r = post(small.addr(), "json", &body).unwrap();
    assert!(r.status >= 400, "spooled body is blocked, got {}", r.status);
    assert_eq!(r.header("x-aws-masker-block"), Some("body_unreadable"));
    assert_eq!(mock.count(), 0, "nothing went upstream");

    let big = gateway(mock.addr, Some(host_config(1, 1 << 20)));
    let r = post(big.addr(), "json", &body).unwrap();
    assert_eq!((r.status, r.body == body), (200, true));
    assert_no_originals(&mock, 9);
    let r = post(small.addr(), "json", &messages_body(&prompt(9))).unwrap();
    assert_eq!(
        r.status, 200,
        "the small-buffer gateway still serves small bodies"
    );
}

#[test]
fn without_the_filter_the_upstream_sees_originals() {
    // The control for every "never sees an original" check above.
    let mock = Mock::start(0);
    let gw = gateway(mock.addr, None);
    let body = messages_body(&prompt(10));
    let r = post(gw.addr(), "sse", &body).unwrap();
    assert_eq!(sse_text(&r.body), prompt(10));
    assert!(mock.all_bodies().contains(&originals(10)[0]));
}

#[test]
fn the_whole_suite_of_requests_stays_within_time() {
    // A keep-alive connection serving many requests in a row stays fast (no per-request stalls).
    let (_mock, gw) = mock_and_gateway(1);
    let body = messages_body(&prompt(11));
    let mut client = Client::connect(gw.addr());
    let start = Instant::now();
    for _ in 0..50 {
        let r = client.post("/v1/messages", "json", &body).unwrap();
        assert!(r.body == body);
    }
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
}
