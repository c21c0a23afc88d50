//! Request and response bodies as WasmX delivers them (WASMX.md §5).

mod common;

use common::{host, log_param, statuses};
use wasm_host_tests::fixtures::{Callback, WatFilter};
use wasm_host_tests::{Framing, HostConfig, Report, Request, UpstreamResponse};

/// One GET through `wat` with the default host configuration.
fn get_through(wat: &WatFilter, upstream: UpstreamResponse) -> Report {
    host(wat, HostConfig::default()).exchange(Request::get("/"), upstream)
}

fn set_body(kind: u32, start: u32, size: u32, data_at: u32, len: u32) -> String {
    format!(
        "(drop (call $proxy_set_buffer_bytes (i32.const {kind}) (i32.const {start}) (i32.const {size}) (i32.const {data_at}) (i32.const {len})))"
    )
}

#[test]
fn response_setter_follows_wasmx_examples() {
    type Case<'a> = (&'a [u8], u32, u32, &'a [u8], &'a [u8]);
    let cases: [Case; 4] = [
        (b"HelloWorld", 5, 3, b"Wasm", b"HelloWas"),
        (b"hello", 5, 0, b"LAST", b"helloLAST"),
        (b"hello", 0, 0, b"pre-", b"pre-hello"),
        (b"hello", 0, 5, b"longer", b"longe"),
    ];
    for (upstream, start, size, data, want) in cases {
        let wat = WatFilter::new().data(4000, data).on(
            Callback::ResponseBody,
            &set_body(1, start, size, 4000, data.len() as u32),
        );
        let report = get_through(&wat, UpstreamResponse::json(upstream));
        assert_eq!(
            report.client().unwrap().body,
            want,
            "set({start}, {size}, {data:?}) on {upstream:?}"
        );
    }
}

#[test]
fn getter_ignores_start_and_empty_read_is_ok_without_data() {
    let get = "(call $status (call $proxy_get_buffer_bytes (i32.const 1) (i32.const 5) (i32.const 3) (i32.const 256) (i32.const 260))) (call $log_ret (i32.const 0))";
    let wat = WatFilter::new().on(Callback::ResponseBody, get);
    let report = get_through(&wat, UpstreamResponse::json(b"HelloWorld"));
    assert_eq!(statuses(&report), ["00"]);
    assert!(
        report.logs.iter().any(|l| l.message == "Hel"),
        "{:?}",
        report.logs
    );
    let report = get_through(&wat, UpstreamResponse::json(b"").framing(Framing::Chunked));
    assert_eq!(
        statuses(&report),
        ["00"],
        "the final empty chunk reads OK with no data"
    );
}

#[test]
fn request_body_once_whole_with_eos_and_skipped_when_empty() {
    let wat = WatFilter::new()
        .on(Callback::RequestHeaders, &log_param("c"))
        .on(Callback::RequestBody, &(log_param("b") + &log_param("c")));
    let h = host(&wat, HostConfig::default());
    let report = h.exchange(
        Request::post("/", b"0123456789abc"),
        UpstreamResponse::json(b"{}"),
    );
    assert_eq!(
        statuses(&report),
        ["00", "13", "01"],
        "headers eos=false, then 13 bytes eos=true once"
    );
    let report = h.exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(
        statuses(&report),
        ["00"],
        "no body callback for an empty body"
    );
}

#[test]
fn request_body_set_updates_content_length_upstream() {
    let wat = WatFilter::new()
        .data(4000, b"{\"masked\":true}")
        .on(Callback::RequestBody, &set_body(0, 0, 100, 4000, 15));
    let report = host(&wat, HostConfig::default()).exchange(
        Request::post("/", b"{\"secret\":1}"),
        UpstreamResponse::json(b"{}"),
    );
    let up = report.upstream_request.unwrap();
    assert_eq!(up.body, b"{\"masked\":true}");
    assert_eq!(up.header("content-length"), Some("15"));
}

#[test]
fn spooled_request_body_is_unreadable_and_set_appends() {
    let get = "(call $status (call $proxy_get_buffer_bytes (i32.const 0) (i32.const 0) (i32.const 100000) (i32.const 256) (i32.const 260)))";
    let wat = WatFilter::new().on(
        Callback::RequestBody,
        &(get.to_string() + &set_body(0, 0, 4, 1140, 4)),
    );
    let config = HostConfig {
        client_body_buffer_size: 8 * 1024,
        ..HostConfig::default()
    };
    let big = vec![b'x'; 9000];
    let report = host(&wat, config.clone())
        .exchange(Request::post("/", &big), UpstreamResponse::json(b"{}"));
    assert_eq!(statuses(&report), ["01"]);
    assert!(report.logged("cannot read request body buffered to file"));
    let up = report.upstream_request.unwrap();
    assert_eq!(up.body.len(), 9004);
    assert!(up.body.ends_with(b"xWasm"));
    let small = vec![b'x'; 8192];
    let report =
        host(&wat, config).exchange(Request::post("/", &small), UpstreamResponse::json(b"{}"));
    assert_eq!(statuses(&report), ["00"]);
    assert_eq!(
        report.upstream_request.unwrap().body,
        b"Wasm",
        "a buffered body is replaced"
    );
}

fn chunk_log() -> String {
    log_param("b") + &log_param("c")
}

/// Logs each response body call's length and eos, and returns Pause from every one.
fn pausing() -> WatFilter {
    WatFilter::new()
        .on(Callback::ResponseBody, &chunk_log())
        .returns(Callback::ResponseBody, 1)
}

/// An event stream of four chunks, `ab` to `jklmn` (14 bytes).
fn four_chunks() -> UpstreamResponse {
    UpstreamResponse::sse(
        ["ab", "cde", "fghi", "jklmn"]
            .map(|c| c.as_bytes().to_vec())
            .to_vec(),
    )
}

#[test]
fn content_length_eos_rule() {
    let wat = WatFilter::new().on(Callback::ResponseBody, &chunk_log());
    let h = host(&wat, HostConfig::default());
    let body = b"0123456789".to_vec();
    let one = h.exchange(Request::get("/"), UpstreamResponse::json(&body));
    assert_eq!(
        statuses(&one),
        ["10", "01"],
        "one chunk equal to Content-Length: eos=true, no final call"
    );
    let split = h.exchange(
        Request::get("/"),
        UpstreamResponse::json(&body).split_at(&[3, 7]),
    );
    assert_eq!(
        statuses(&split),
        ["03", "00", "04", "00", "03", "00"],
        "split: never eos, no final empty call"
    );
    assert_eq!(split.client().unwrap().body, body);
    let chunked = h.exchange(
        Request::get("/"),
        UpstreamResponse::json(&body)
            .split_at(&[3, 7])
            .framing(Framing::Chunked),
    );
    assert_eq!(
        statuses(&chunked),
        ["03", "00", "04", "00", "03", "00", "00", "01"],
        "chunked: final empty eos call"
    );
}

#[test]
fn pause_window_holds_chunks_until_eos() {
    let report = get_through(&pausing(), four_chunks());
    assert_eq!(
        statuses(&report),
        ["02", "00", "14", "01"],
        "2 bytes then the 14 buffered bytes with eos"
    );
    let client = report.client().unwrap();
    assert_eq!(client.body, b"abcdefghijklmn");
    assert_eq!(client.chunks.len(), 1);
    assert!(
        report.logged("response body buffering already requested"),
        "the second Pause is ignored with an error"
    );
}

#[test]
fn pause_window_is_capped_by_response_body_buffers() {
    let config = HostConfig {
        response_body_buffers: 8,
        ..HostConfig::default()
    };
    let report = host(&pausing(), config).exchange(Request::get("/"), four_chunks());
    assert_eq!(
        statuses(&report),
        ["02", "00", "09", "00", "05", "00", "00", "01"]
    );
    assert_eq!(report.client().unwrap().body, b"abcdefghijklmn");
}

#[test]
fn pause_buffering_of_a_content_length_body_ends_with_eos() {
    let report = get_through(
        &pausing(),
        UpstreamResponse::json(b"0123456789").split_at(&[4]),
    );
    assert_eq!(statuses(&report), ["04", "00", "10", "01"]);
}

#[test]
fn content_length_is_never_adjusted_and_override_warns() {
    let wat = WatFilter::new()
        .on(Callback::ResponseBody, &set_body(1, 0, 0, 1140, 0))
        .on(Callback::ResponseBody, &set_body(1, 0, 10, 1140, 4));
    let report = get_through(&wat, UpstreamResponse::json(b"0123456789"));
    let client = report.client().unwrap();
    assert_eq!(client.header("content-length"), Some("10"));
    assert_eq!(client.body, b"Wasm");
    assert_eq!(
        client.as_read_by_client(),
        None,
        "the client waits for 10 bytes and gets 4"
    );
    assert!(
        report.logged("overriding response body chunk while Content-Length header already sent")
    );

    let remove_cl = "(drop (call $proxy_remove_header_map_value (i32.const 2) (i32.const 4000) (i32.const 14)))";
    let wat = WatFilter::new()
        .data(4000, b"content-length")
        .on(Callback::ResponseHeaders, remove_cl)
        .on(Callback::ResponseBody, &set_body(1, 0, 10, 1140, 4));
    let report = get_through(&wat, UpstreamResponse::json(b"0123456789"));
    let client = report.client().unwrap();
    assert_eq!(
        (client.content_length, client.body.as_slice()),
        (None, &b"Wasm"[..]),
        "chunked to the client"
    );
    assert!(!report.logged("overriding"));
}

#[test]
fn emptied_chunk_is_dropped_and_final_call_can_emit_held_bytes() {
    // Every chunk is emptied; on the final empty eos call the filter writes "Wasm".
    let wat = WatFilter::new().on(
        Callback::ResponseBody,
        &format!(
            "(if (local.get $c) (then {}) (else {}))",
            set_body(1, 0, 4, 1140, 4),
            set_body(1, 0, 0, 1140, 0)
        ),
    );
    let report = get_through(
        &wat,
        UpstreamResponse::sse(vec![b"abc".to_vec(), b"def".to_vec()]),
    );
    let client = report.client().unwrap();
    assert_eq!(client.body, b"Wasm");
    assert_eq!(client.chunks, [b"Wasm".to_vec()]);
}

#[test]
fn a_body_comes_with_a_content_length_like_a_real_client() {
    let get = "(call $status (call $proxy_get_header_map_value (i32.const 0) (i32.const 4000) (i32.const 14) (i32.const 256) (i32.const 260))) (call $log_ret (i32.const 0))";
    let wat = WatFilter::new()
        .data(4000, b"content-length")
        .on(Callback::RequestHeaders, get);
    let h = host(&wat, HostConfig::default());
    let report = h.exchange(Request::post("/", b"12345"), UpstreamResponse::json(b"{}"));
    assert_eq!(statuses(&report), ["00"]);
    assert!(report.logs.iter().any(|l| l.message == "5"));
    let chunked = Request::post("/", b"12345").header("transfer-encoding", "chunked");
    let report = h.exchange(chunked, UpstreamResponse::json(b"{}"));
    assert_eq!(
        statuses(&report),
        ["01"],
        "a chunked request keeps no content-length"
    );
    assert_eq!(
        report.upstream_request.unwrap().header("content-length"),
        Some("5"),
        "nginx forwards the read body with a length"
    );
}
