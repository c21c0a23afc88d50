//! The built filter in the WasmX-faithful host: masking, restore (JSON and SSE, split at every
//! offset, Content-Length and chunked), every request-side block, detect mode, invalid configs,
//! the node cache with and without a zone. Needs `make build` first.

// Helpers outside #[test] functions unwrap too: a failure is a failed test.
#![allow(clippy::unwrap_used)]

use wasm_host_tests::scenario::{messages_body, placeholder_in, EC2, SECRET};
use wasm_host_tests::*;

fn config(extra: &str) -> Vec<u8> {
    if extra.is_empty() {
        format!(r#"{{"token_secret":"{SECRET}"}}"#).into_bytes()
    } else {
        format!(r#"{{"token_secret":"{SECRET}",{extra}}}"#).into_bytes()
    }
}

fn host(cfg: HostConfig) -> Host {
    Host::from_file(&filter_wasm_path().unwrap(), cfg).unwrap()
}

fn body() -> Vec<u8> {
    messages_body(&format!("why is {EC2} down? also vpc-1a2b3c4d"))
}

/// The placeholder the filter of `h` gives [`EC2`] in `request` (its upstream answers `{}`).
fn ec2_placeholder(h: &Host, request: &[u8]) -> String {
    let mut placeholder = String::new();
    h.exchange(
        Request::post("/v1/messages", request),
        |req: &ForwardedRequest| {
            placeholder = placeholder_in(&String::from_utf8_lossy(&req.body), "EC2").unwrap();
            UpstreamResponse::json(b"{}")
        },
    );
    placeholder
}

/// One `content_block_delta` event of block 0 with `text` (already JSON-safe).
fn text_delta(text: &str) -> String {
    format!(
        "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{text}\"}}}}\n\n"
    )
}

/// The filter (wasm32, SHA-256 in software) masks a body exactly as the native core does
/// with the same configuration: every worker, node and the bridge share its placeholders.
/// Forty-odd identifiers of several kinds, some repeated, so the mapping's table grows and
/// the generator's memo of recent placeholders answers.
#[test]
fn the_filter_masks_exactly_as_the_native_core_does() {
    use aws_masker::detect::Detector;
    use aws_masker::mask::{BodyFormat, Masker};
    use aws_masker::placeholder::Placeholders;

    let mut text = String::new();
    for i in 0..40u32 {
        text.push_str(&format!(
            "i-{:017x} in vpc-{:08x} and 10.0.{}.{} (arn:aws:iam::1111222233{:02}:role/r{}). ",
            u64::from(i) * 0x9e37_79b9,
            i % 7,
            i % 5,
            i + 1,
            i % 3,
            i % 4
        ));
    }
    let body = messages_body(&text);
    let h = host(HostConfig::with_config(config("")));
    let r = h.exchange(Request::post("/v1/messages", &body), echo);
    assert!(r.traps.is_empty(), "{:?}", r.traps);
    let upstream = String::from_utf8(r.upstream_request.unwrap().body).unwrap();

    let parsed = aws_masker::config::parse(&config("")).unwrap();
    let masker = Masker::new(
        Detector::new(&parsed.detector).unwrap(),
        Placeholders::new(parsed.token_secret.expose().as_bytes()),
        parsed.max_body_bytes,
    );
    let native = masker.mask(&body, BodyFormat::Json).unwrap();
    assert!(native.mapping.len() > 40, "{}", native.mapping.len());
    assert_eq!(upstream, String::from_utf8(native.body.unwrap()).unwrap());
    let first = Placeholders::new(SECRET.as_bytes()).derive("EC2", "i-00000000000000000", 0);
    assert!(upstream.contains(&first), "{upstream}");
}

/// An account a tool wrote as a JSON number goes upstream as a placeholder string (the body
/// still JSON), and comes back as the digits.
#[test]
fn an_account_number_in_a_tool_input_is_masked() {
    let body = br#"{"model":"claude-x","max_tokens":123456789012,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"n","input":{"OwnerId":123456789012,"Count":7}}]}]}"#;
    let h = host(HostConfig::with_config(config("")));
    let r = h.exchange(Request::post("/v1/messages", body), echo);
    assert!(r.traps.is_empty(), "{:?}", r.traps);
    let up = String::from_utf8(r.upstream_request.clone().unwrap().body).unwrap();
    let v: serde_json::Value = serde_json::from_str(&up).expect("upstream body is JSON");
    let input = &v["messages"][0]["content"][0]["input"];
    let placeholder = input["OwnerId"].as_str().unwrap_or_default();
    assert!(placeholder.starts_with("AWS_ACCOUNT_"), "{up}");
    assert_eq!(input["Count"], 7);
    assert_eq!(v["max_tokens"], 123456789012u64, "API numbers stay numbers");
    assert_eq!(r.counter("identifiers_masked_ACCOUNT"), 1);
    let restored = r.client().unwrap().as_read_by_client().unwrap();
    let restored = String::from_utf8(restored.to_vec()).unwrap();
    assert_eq!(
        restored,
        String::from_utf8_lossy(body)
            .replace(r#""OwnerId":123456789012"#, r#""OwnerId":"123456789012""#)
    );
}

#[test]
fn masks_request_and_restores_json_echo() {
    let h = host(HostConfig::with_config(config("")));
    let r = h.exchange(Request::post("/v1/messages", &body()), echo);
    assert!(r.traps.is_empty(), "{:?}", r.traps);
    let up = r.upstream_request.as_ref().unwrap();
    let up_text = String::from_utf8_lossy(&up.body).to_string();
    assert!(!up_text.contains(EC2), "{up_text}");
    assert!(up_text.contains("AWS_EC2_"));
    assert_eq!(up.header("accept-encoding"), Some("identity"));
    let c = r.client().unwrap();
    assert_eq!(c.status, 200);
    assert_eq!(
        c.as_read_by_client().unwrap(),
        body().as_slice(),
        "{}",
        c.text()
    );
    assert!(!r.log_text().contains(EC2));
    assert_eq!(r.counter("requests_masked"), 1);
    assert_eq!(r.counter("identifiers_masked_EC2"), 1);
    assert_eq!(r.counter("placeholders_restored"), 2);
}

#[test]
fn restores_json_split_everywhere_with_content_length_and_chunked() {
    let h = host(HostConfig::with_config(config("")));
    let mut placeholder = String::new();
    let r = h.exchange(
        Request::post("/v1/messages", &body()),
        |req: &ForwardedRequest| {
            placeholder = placeholder_in(&String::from_utf8_lossy(&req.body), "EC2").unwrap();
            UpstreamResponse::json(b"{}")
        },
    );
    assert!(r.client().is_ok());
    let answer =
        format!(r#"{{"content":[{{"type":"text","text":"instance {placeholder} is fine"}}]}}"#);
    let expected = format!(r#"{{"content":[{{"type":"text","text":"instance {EC2} is fine"}}]}}"#);
    for framing in [Framing::ContentLength, Framing::Chunked] {
        for cut in 0..answer.len() {
            let up = UpstreamResponse::json(answer.as_bytes())
                .split_at(&[cut])
                .framing(framing);
            let r = h.exchange(Request::post("/v1/messages", &body()), up);
            let c = r.client().unwrap();
            assert_eq!(
                c.as_read_by_client().unwrap(),
                expected.as_bytes(),
                "cut {cut} {framing:?}: {}",
                c.text()
            );
            assert!(r.traps.is_empty());
        }
    }
}

#[test]
fn restores_sse_split_everywhere() {
    let h = host(HostConfig::with_config(config("")));
    let placeholder = ec2_placeholder(&h, &body());
    let stream = text_delta(&format!("see {placeholder} now"));
    let expected = stream.replace(&placeholder, EC2);
    for cut in 0..stream.len() {
        let up = UpstreamResponse::sse(vec![stream.clone().into_bytes()]).split_at(&[cut]);
        let r = h.exchange(Request::post("/v1/messages", &body()), up);
        let c = r.client().unwrap();
        assert_eq!(c.text(), expected, "cut {cut}");
    }
}

/// An event longer than the event limit (`max_body_bytes`, at least 1 MiB) passes as it
/// came, its placeholder left: the operator learns it from a counter and one log line, which
/// names neither the placeholder nor its original. The events around it are restored.
#[test]
fn an_oversized_sse_event_is_counted_and_logged() {
    let h = host(HostConfig::with_config(config(
        r#""max_body_bytes":100000"#,
    )));
    let placeholder = ec2_placeholder(&h, &body());
    let big = text_delta(&format!("{placeholder} {}", "x".repeat(3 << 19)));
    let small = |id: &str| text_delta(&format!("see {id} now"));
    let stream = [small(&placeholder), big.clone(), small(&placeholder)].concat();
    let chunks: Vec<Vec<u8>> = stream
        .as_bytes()
        .chunks(16 * 1024)
        .map(<[u8]>::to_vec)
        .collect();
    let r = h.exchange(
        Request::post("/v1/messages", &body()),
        UpstreamResponse::sse(chunks),
    );
    assert!(r.traps.is_empty(), "{:?}", r.traps);
    let want = [small(EC2), big, small(EC2)].concat();
    assert!(r.client().unwrap().text() == want, "client stream differs");
    assert_eq!(r.counter("restore_skipped_oversized"), 1);
    assert_eq!(r.counter("placeholders_restored"), 2);
    let log = r.log_text();
    assert!(
        r.logged("1 event(s) of the response stream over 1048576 bytes passed without restore"),
        "{log}"
    );
    assert!(!log.contains(EC2) && !log.contains(&placeholder), "{log}");
}

#[test]
fn blocks() {
    let h = host(HostConfig::with_config(config(
        r#""block_status":422,"max_body_bytes":100000"#,
    )));
    let cases: Vec<(Request, u16, &str)> = vec![
        (
            Request::post("/v1/messages", &body()).header("content-encoding", "gzip"),
            422,
            "unsupported_content_encoding",
        ),
        (
            Request::post("/v1/messages", b"{not json"),
            422,
            "invalid_json",
        ),
        (
            Request {
                headers: vec![("content-type".into(), "application/octet-stream".into())],
                ..Request::post("/v1/messages", b"abc")
            },
            422,
            "unsupported_content_type",
        ),
        (
            Request::post(
                "/v1/messages",
                format!(r#"{{"a":"{}"}}"#, "x".repeat(20000)).as_bytes(),
            ),
            422,
            "body_unreadable",
        ),
        (
            Request::post(
                "/v1/messages",
                format!(r#"{{"a":"{}"}}"#, "x".repeat(200000)).as_bytes(),
            ),
            422,
            "body_too_large",
        ),
    ];
    for (req, status, code) in cases {
        let r = h.exchange(req, echo);
        assert!(r.upstream_request.is_none(), "{code}: forwarded");
        let c = r.client().unwrap();
        assert_eq!(c.status, status, "{code}");
        assert!(
            c.text().contains(&format!("\"code\":\"{code}\"")),
            "{}",
            c.text()
        );
        assert!(c.text().starts_with("{\"type\":\"error\""), "{}", c.text());
        assert_eq!(c.header("x-aws-masker-block"), Some(code));
        assert_eq!(r.counter(&format!("blocks_{code}")), 1);
        assert!(r.traps.is_empty(), "{:?}", r.traps);
    }
    let r = h.exchange(Request::get("/v1/models"), UpstreamResponse::json(b"{}"));
    assert_eq!(r.client().unwrap().status, 200);
}

#[test]
fn repeated_header_lines_are_read_whole() {
    // WasmX's one-header getter gives the first line of a repeated header; nginx forwards
    // them all. A `gzip` after an `identity` is a compressed body, and two content types
    // leave the body's type to the upstream: both are refused, not masked as plain JSON.
    let h = host(HostConfig::with_config(config("")));
    let cases = [
        (
            Request::post("/v1/messages", &body())
                .header("content-encoding", "identity")
                .header("content-encoding", "gzip"),
            "unsupported_content_encoding",
        ),
        (
            Request::post("/v1/messages", &body()).header("content-type", "text/plain"),
            "unsupported_content_type",
        ),
    ];
    for (req, code) in cases {
        let r = h.exchange(req, echo);
        assert!(r.upstream_request.is_none(), "{code}: forwarded");
        assert_eq!(r.client().unwrap().header("x-aws-masker-block"), Some(code));
    }
    // One line each: masked as usual.
    let r = h.exchange(
        Request::post("/v1/messages", &body()).header("content-encoding", "identity"),
        echo,
    );
    assert!(r.upstream_request.is_some());

    // A response compressed after an `identity` line passes unrestored, as any compressed one.
    let mut up = UpstreamResponse::json(b"{\"t\":\"AWS_EC2_AAAAAAAAAAAAA\"}");
    up.headers
        .push(("content-encoding".into(), "identity".into()));
    up.headers.push(("content-encoding".into(), "gzip".into()));
    let r = h.exchange(Request::post("/v1/messages", &body()), up);
    assert_eq!(r.counter("restore_skipped_encoded"), 1);
    assert!(r.traps.is_empty(), "{:?}", r.traps);
}

#[test]
fn detect_mode_forwards_unchanged() {
    let h = host(HostConfig::with_config(config(r#""mode":"detect""#)));
    let r = h.exchange(Request::post("/v1/messages", &body()), echo);
    assert_eq!(r.upstream_request.as_ref().unwrap().body, body());
    assert!(
        r.logged("detect mode: 2 identifiers found (EC2=1, VPC=1)"),
        "{}",
        r.log_text()
    );
    let r = h.exchange(Request::post("/v1/messages", b"{bad"), echo);
    assert_eq!(r.upstream_request.as_ref().unwrap().body, b"{bad");
    assert!(r.logged("would block (invalid_json)"));
}

#[test]
fn invalid_config_is_rejected_with_field() {
    for (cfg, needle) in [
        (Vec::new(), "token_secret: required"),
        (config(r#""mode":"x""#), "mode: must be one of"),
        (config(r#""nope":1"#), "nope: unknown field"),
    ] {
        let h = Host::from_file(&filter_wasm_path().unwrap(), HostConfig::with_config(cfg));
        let r = h
            .unwrap()
            .exchange(Request::post("/v1/messages", &body()), echo);
        assert_eq!(r.client().unwrap().status, 500);
        assert!(r.upstream_request.is_none());
        assert!(r.logged(needle), "{}", r.log_text());
    }
}

#[test]
fn node_cache_with_and_without_zone() {
    let h = host(HostConfig {
        shm_kv: Some(1 << 20),
        ..HostConfig::with_config(config(r#""node_cache":true"#))
    });
    let r = h.exchange(Request::post("/v1/messages", &body()), echo);
    assert!(r.traps.is_empty(), "{:?}", r.traps);
    let up = String::from_utf8_lossy(&r.upstream_request.as_ref().unwrap().body).to_string();
    let p = placeholder_in(&up, "EC2").unwrap();
    // A later request carries the placeholder only; the answer names it: restored from the cache.
    let later = format!(r#"{{"model":"m","messages":[{{"role":"user","content":"and {p}?"}}]}}"#);
    let r = h.exchange(Request::post("/v1/messages", later.as_bytes()), echo);
    assert!(
        r.client().unwrap().text().contains(EC2),
        "{}",
        r.client().unwrap().text()
    );

    let h = Host::from_file(
        &filter_wasm_path().unwrap(),
        HostConfig::with_config(config(r#""node_cache":true"#)),
    );
    // No zone: the configure-time probe traps, the filter is not loaded, requests get 500.
    let r = h
        .unwrap()
        .exchange(Request::post("/v1/messages", &body()), echo);
    assert_eq!(r.client().unwrap().status, 500);
    assert!(r.upstream_request.is_none());
    assert!(
        r.logged("set nginx_wasm_shm_kv_aws_masker"),
        "{}",
        r.log_text()
    );
}

#[test]
fn node_cache_entries_this_secret_does_not_derive_restore_nothing() {
    let h = host(HostConfig {
        shm_kv: Some(1 << 20),
        ..HostConfig::with_config(config(r#""node_cache":true"#))
    });
    let r = h.exchange(Request::post("/v1/messages", &body()), echo);
    let up = String::from_utf8_lossy(&r.upstream_request.as_ref().unwrap().body).to_string();
    let p = placeholder_in(&up, "EC2").unwrap();
    // Another filter of the node (another secret, or anything that writes the zone) pairs
    // the placeholder with other text.
    let key = format!("aws_masker/{p}");
    let (_, cas) = h.shared_data().get(key.as_bytes()).unwrap().unwrap();
    let forged = format!("{p}\0i-0ffffffffffffffff");
    h.shared_data()
        .set(key.as_bytes(), Some(forged.as_bytes()), cas)
        .unwrap();

    let later = format!(r#"{{"model":"m","messages":[{{"role":"user","content":"and {p}?"}}]}}"#);
    let r = h.exchange(Request::post("/v1/messages", later.as_bytes()), echo);
    let answer = r.client().unwrap().text();
    assert!(!answer.contains("i-0ffffffffffffffff"), "{answer}");
    assert!(answer.contains(&p), "left as it is: {answer}");
    assert_eq!(r.counter("node_cache_conflicts"), 1);
    assert!(
        r.logged("do not derive from their original"),
        "{}",
        r.log_text()
    );
    assert!(!r.log_text().contains("i-0ffffffffffffffff"));
}

#[test]
fn more_response_cases() {
    let h = host(HostConfig::with_config(config(r#""max_body_bytes":1000"#)));
    // Nothing masked: the response is untouched, Content-Length kept.
    let r = h.exchange(
        Request::post("/v1/messages", br#"{"a":"nothing here"}"#),
        UpstreamResponse::json(b"{\"x\":1}"),
    );
    let c = r.client().unwrap();
    assert_eq!(c.content_length, Some(7));
    assert_eq!(c.body, b"{\"x\":1}");

    let req = format!(r#"{{"a":"{EC2}"}}"#);
    let placeholder = ec2_placeholder(&h, req.as_bytes());
    // Compressed: passed as is and counted.
    let mut up = UpstreamResponse::json(format!("{{\"t\":\"{placeholder}\"}}").as_bytes());
    up.headers.push(("content-encoding".into(), "gzip".into()));
    let r = h.exchange(Request::post("/v1/messages", req.as_bytes()), up);
    assert!(r.client().unwrap().text().contains(&placeholder));
    assert_eq!(r.counter("restore_skipped_encoded"), 1);

    // A JSON answer larger than the hold limit, in many chunks with Content-Length.
    let big = format!(
        "{{\"t\":\"{}{placeholder}{}\"}}",
        "a".repeat(3000),
        "b".repeat(3000)
    );
    let cuts: Vec<usize> = (1..big.len()).step_by(997).collect();
    let r = h.exchange(
        Request::post("/v1/messages", req.as_bytes()),
        UpstreamResponse::json(big.as_bytes()).split_at(&cuts),
    );
    let c = r.client().unwrap();
    assert_eq!(
        c.as_read_by_client().unwrap(),
        big.replace(&placeholder, EC2).as_bytes()
    );
    assert_eq!(c.content_length, None);

    // An error answer is restored too.
    let mut up = UpstreamResponse::json(
        format!("{{\"type\":\"error\",\"error\":{{\"message\":\"{placeholder}\"}}}}").as_bytes(),
    );
    up.status = 400;
    let r = h.exchange(Request::post("/v1/messages", req.as_bytes()), up);
    assert!(r.client().unwrap().text().contains(EC2));
    assert!(!r.log_text().contains(EC2));
}
