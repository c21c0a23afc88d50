//! Instances, traps, limits, NYI functions, WASI, logging, shared data, metrics and headers through the ABI.

mod common;

use common::{host, log_param, statuses};
use wasm_host_tests::fixtures::{snippet, Callback, WatFilter};
use wasm_host_tests::matrix::HostCall;
use wasm_host_tests::metrics::MetricValue;
use wasm_host_tests::{HostConfig, Level, Request, RequestOutcome, Source, UpstreamResponse, NYI};

const TRAP_IF_X_TEST: &str = "(if (i32.eqz (call $proxy_get_header_map_value (i32.const 0) (i32.const 1100) (i32.const 6) (i32.const 256) (i32.const 260))) (then unreachable))";
const COUNT: &str =
    "(global.set $g3 (i32.add (global.get $g3) (i32.const 1))) (call $status (global.get $g3))";

#[test]
fn trap_in_request_step_answers_500_and_recycles_the_instance() {
    let wat = WatFilter::new()
        .on(Callback::VmStart, "(call $status (i32.const 90))")
        .on(
            Callback::RequestHeaders,
            &(COUNT.to_string() + TRAP_IF_X_TEST),
        );
    let h = host(&wat, HostConfig::default());
    let first = h.exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(statuses(&first), ["90", "01"]);
    let second = h.exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(
        statuses(&second),
        ["02"],
        "instance state is kept between requests"
    );
    let trapped = h.exchange(
        Request::get("/").header("x-test", "1"),
        UpstreamResponse::json(b"{}"),
    );
    assert_eq!(trapped.client().unwrap().status, 500);
    assert!(trapped.upstream_request.is_none());
    assert_eq!(trapped.traps.len(), 1);
    assert!(
        trapped.traps[0].contains("unreachable"),
        "{:?}",
        trapped.traps
    );
    let after = h.exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(
        statuses(&after),
        ["90", "01"],
        "a fresh instance re-runs on_vm_start and starts from zero"
    );
    assert_eq!(h.worker(0).starts(), 2);
}

#[test]
fn trap_in_response_step_delivers_upstream_response_and_skips_the_rest() {
    let wat = WatFilter::new()
        .on(Callback::ResponseHeaders, "(drop (call $proxy_add_header_map_value (i32.const 2) (i32.const 1100) (i32.const 6) (i32.const 1110) (i32.const 1)))")
        .on(Callback::ResponseBody, "unreachable")
        .on(Callback::Log, "(call $status (i32.const 55))");
    let report = host(&wat, HostConfig::default())
        .exchange(Request::get("/"), UpstreamResponse::json(b"upstream"));
    let client = report.client().unwrap();
    assert_eq!(
        (client.status, client.body.as_slice()),
        (200, &b"upstream"[..])
    );
    assert_eq!(
        client.header("x-test"),
        Some("1"),
        "headers already added stay"
    );
    assert!(
        !statuses(&report).contains(&"55".to_string()),
        "on_log is skipped"
    );
    assert_eq!(report.traps.len(), 1);
}

#[test]
fn trap_in_call_response_still_proxies() {
    let wat = WatFilter::new()
        .on(Callback::RequestHeaders, &snippet(HostCall::Dispatch))
        .returns(Callback::RequestHeaders, 1)
        .on(Callback::CallResponse, "unreachable");
    let h = common::host_with(
        &wat,
        HostConfig::default(),
        vec![Ok(wasm_host_tests::dispatch::DispatchResponse::new(
            200, b"",
        ))],
    );
    let report = h.exchange(Request::get("/"), UpstreamResponse::json(b"up"));
    assert!(report.upstream_request.is_some());
    assert_eq!(report.client().unwrap().body, b"up");
}

#[test]
fn interleaved_exchange_fails_after_another_one_trapped_the_instance() {
    let wat = WatFilter::new()
        .on(Callback::RequestHeaders, TRAP_IF_X_TEST)
        .on(Callback::ResponseBody, "(call $status (i32.const 33))");
    let h = host(&wat, HostConfig::default());
    let mut a = h.worker(0).begin(Request::get("/a"));
    assert!(matches!(a.outcome(), RequestOutcome::Forward(_)));
    let b = h.exchange_on(
        0,
        Request::get("/b").header("x-test", "1"),
        UpstreamResponse::json(b"{}"),
    );
    assert_eq!(b.client().unwrap().status, 500);
    let head = h.worker(0).response_headers(&mut a, Some((200, vec![])));
    assert_eq!(head.status, 200);
    let out = h.worker(0).response_body(&mut a, b"tail");
    assert_eq!(out, b"tail", "the upstream response is still delivered");
    assert!(a
        .logs
        .iter()
        .any(|l| l.message.contains("instance trapped")));
    assert!(!common::statuses_of(&a.logs).contains(&"33".to_string()));
}

#[test]
fn contexts_interleave_on_one_instance() {
    let wat = WatFilter::new()
        .on(Callback::RequestHeaders, COUNT)
        .on(Callback::ResponseBody, COUNT);
    let h = host(&wat, HostConfig::default());
    let mut a = h.worker(0).begin(Request::get("/a"));
    let mut b = h.worker(0).begin(Request::get("/b"));
    assert_ne!(a.context_id(), b.context_id());
    let cl = || vec![("content-length".to_string(), "1".to_string())];
    h.worker(0).response_headers(&mut b, Some((200, cl())));
    h.worker(0).response_headers(&mut a, Some((200, cl())));
    assert_eq!(h.worker(0).response_body(&mut a, b"x"), b"x");
    assert_eq!(h.worker(0).response_body(&mut b, b"y"), b"y");
    h.worker(0).finish(&mut a);
    h.worker(0).finish(&mut b);
    assert_eq!(common::statuses_of(&a.logs), ["01", "03"]);
    assert_eq!(
        common::statuses_of(&b.logs),
        ["02", "04"],
        "one instance's globals are shared by both contexts"
    );
}

#[test]
fn fuel_exhaustion_is_an_error_not_a_hang() {
    let wat = WatFilter::new().on(Callback::RequestBody, "(call $loop_forever)");
    let config = HostConfig {
        fuel_per_callback: Some(5_000_000),
        ..HostConfig::default()
    };
    let started = std::time::Instant::now();
    let report =
        host(&wat, config).exchange(Request::post("/", b"x"), UpstreamResponse::json(b"{}"));
    assert!(started.elapsed().as_secs() < 20);
    assert_eq!(report.client().unwrap().status, 500);
    assert!(report.traps[0].contains("fuel"), "{:?}", report.traps);
}

#[test]
fn memory_limit_denies_growth() {
    let grow = "(call $status (i32.add (i32.const 1) (memory.grow (i32.const 100))))";
    let wat = WatFilter::new().on(Callback::RequestHeaders, grow);
    let limited = HostConfig {
        max_memory: 2 * 1024 * 1024,
        ..HostConfig::default()
    };
    assert_eq!(
        statuses(&host(&wat, limited).exchange(Request::get("/"), UpstreamResponse::json(b"{}"))),
        ["00"]
    );
    let roomy = HostConfig::default();
    assert_eq!(
        statuses(&host(&wat, roomy).exchange(Request::get("/"), UpstreamResponse::json(b"{}"))),
        ["17"]
    );
}

#[test]
fn on_configure_false_means_not_loaded_and_500() {
    let wat = WatFilter::new()
        .returns(Callback::Configure, 0)
        .on(Callback::RequestHeaders, "(call $status (i32.const 1))");
    let report = host(&wat, HostConfig::default())
        .exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(report.client().unwrap().status, 500);
    assert!(statuses(&report).is_empty());
    assert!(report.upstream_request.is_none());
}

#[test]
fn plugin_and_vm_configuration_reach_the_root() {
    let get = |kind: u32| {
        format!("(call $status (call $proxy_get_buffer_bytes (i32.const {kind}) (i32.const 0) (i32.const 1000) (i32.const 256) (i32.const 260))) (call $log_ret (i32.const 0))")
    };
    let wat = WatFilter::new()
        .on(Callback::VmStart, &get(6))
        .on(Callback::Configure, &(log_param("b") + &get(7)));
    let config = HostConfig {
        config: b"{\"mode\":\"detect\"}".to_vec(),
        vm_config: b"vm".to_vec(),
        ..HostConfig::default()
    };
    let report = host(&wat, config).exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(statuses(&report), ["00", "17", "00"]);
    assert!(report.logged("vm") && report.logged("{\"mode\":\"detect\"}"));
    let none = host(
        &WatFilter::new().on(Callback::Configure, &(log_param("b") + &get(7))),
        HostConfig::default(),
    )
    .exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(
        statuses(&none)[..2],
        ["00", "00"],
        "missing config: zero length, OK with no data"
    );
}

#[test]
fn nyi_functions_trap_with_their_name() {
    let calls = [
        ("proxy_get_log_level", "(drop (call $proxy_get_log_level (i32.const 256)))"),
        ("proxy_done", "(drop (call $proxy_done))"),
        ("proxy_close_stream", "(drop (call $proxy_close_stream (i32.const 0)))"),
        ("proxy_get_status", "(drop (call $proxy_get_status (i32.const 256) (i32.const 260) (i32.const 264)))"),
        (
            "proxy_resolve_shared_queue",
            "(drop (call $proxy_resolve_shared_queue (i32.const 0) (i32.const 0) (i32.const 1120) (i32.const 3) (i32.const 256)))",
        ),
    ];
    for (name, call) in calls {
        assert!(NYI.contains(&name));
        let report = host(
            &WatFilter::new().on(Callback::RequestHeaders, call),
            HostConfig::default(),
        )
        .exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
        assert_eq!(
            report.traps,
            [format!("host trap (function not yet implemented): {name}")]
        );
        assert_eq!(report.client().unwrap().status, 500);
    }
}

#[test]
fn log_levels_map_to_nginx_levels() {
    let log = |level: u32| {
        format!(
            "(call $status (call $proxy_log (i32.const {level}) (i32.const 1140) (i32.const 4)))"
        )
    };
    let code: String = (0..=6).map(log).collect();
    let report = host(
        &WatFilter::new().on(Callback::RequestHeaders, &code),
        HostConfig::default(),
    )
    .exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    let levels: Vec<Level> = report
        .logs
        .iter()
        .filter(|l| l.source == Source::Filter && l.message == "Wasm")
        .map(|l| l.level)
        .collect();
    assert_eq!(
        levels,
        [
            Level::Debug,
            Level::Debug,
            Level::Info,
            Level::Warn,
            Level::Err,
            Level::Crit
        ]
    );
    assert_eq!(
        statuses(&report).last().map(String::as_str),
        Some("02"),
        "level 6 is a bad argument"
    );
    assert!(!Level::Info.visible_in_kong() && Level::Warn.visible_in_kong());
}

#[test]
fn wasi_stdio_environment_and_proc_exit() {
    let write = |fd: u32| {
        format!("(i32.store (i32.const 300) (i32.const 1140)) (i32.store (i32.const 304) (i32.const 4)) (call $status (call $fd_write (i32.const {fd}) (i32.const 300) (i32.const 1) (i32.const 308)))")
    };
    let env = "(drop (call $environ_sizes_get (i32.const 256) (i32.const 260))) (call $status (i32.load (i32.const 256))) (call $status (i32.load (i32.const 260))) (drop (call $environ_get (i32.const 400) (i32.const 5000))) (drop (call $proxy_log (i32.const 2) (i32.const 5000) (i32.const 7)))";
    let read = "(call $status (call $fd_read (i32.const 0) (i32.const 300) (i32.const 1) (i32.const 308)))";
    let code = write(1) + &write(2) + &write(3) + env + read;
    let config = HostConfig {
        environment: vec![("A".into(), "bc".into()), ("K".into(), "v".into())],
        ..HostConfig::default()
    };
    let report = host(
        &WatFilter::new().on(Callback::RequestHeaders, &code),
        config,
    )
    .exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    let stdio: Vec<(Level, &str)> = report
        .logs
        .iter()
        .filter(|l| l.source == Source::Stdio)
        .map(|l| (l.level, l.message.as_str()))
        .collect();
    assert_eq!(stdio, [(Level::Info, "Wasm"), (Level::Err, "Wasm")]);
    assert_eq!(statuses(&report), ["00", "00", "08", "02", "09", "08"]);
    assert!(report
        .logs
        .iter()
        .any(|l| l.message == "A=bc\0K=v" || l.message.starts_with("A=bc")));
    let exit = host(
        &WatFilter::new().on(Callback::RequestHeaders, "(call $proc_exit (i32.const 0))"),
        HostConfig::default(),
    )
    .exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(
        exit.traps,
        ["host trap (function not yet implemented): proc_exit"]
    );
}

#[test]
fn shared_data_needs_a_zone_and_compares_cas_across_workers() {
    let set = |cas: u32| {
        format!("(call $status (call $proxy_set_shared_data (i32.const 1120) (i32.const 3) (i32.const 1130) (i32.const 3) (i32.const {cas})))")
    };
    let wat = WatFilter::new().on(Callback::RequestHeaders, &set(0));
    let no_zone = host(&wat, HostConfig::default())
        .exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(
        no_zone.traps,
        ["host trap (bad usage): failed setting value to shm (could not resolve namespace)"]
    );
    let h = host(
        &wat,
        HostConfig {
            workers: 2,
            shm_kv: Some(64 * 1024),
            ..HostConfig::default()
        },
    );
    let first = h.exchange_on(0, Request::get("/"), UpstreamResponse::json(b"{}"));
    let second = h.exchange_on(1, Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(
        (statuses(&first), statuses(&second)),
        (vec!["00".to_string()], vec!["08".to_string()])
    );
    assert_eq!(h.shared_data().get(b"key"), Ok(Some((b"val".to_vec(), 1))));
    let get = "(call $status (call $proxy_get_shared_data (i32.const 1120) (i32.const 3) (i32.const 256) (i32.const 260) (i32.const 264))) (call $status (i32.load (i32.const 264))) (call $log_ret (i32.const 0))";
    let reader = host(
        &WatFilter::new().on(Callback::RequestHeaders, get),
        HostConfig {
            shm_kv: Some(1 << 16),
            ..HostConfig::default()
        },
    );
    reader
        .shared_data()
        .set(b"key", Some(b"stored"), 0)
        .unwrap();
    let report = reader.exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(statuses(&report), ["00", "01"]);
    assert!(report.logged("stored"));
}

#[test]
fn metrics_through_the_abi() {
    let code = "(drop (call $proxy_define_metric (i32.const 0) (i32.const 1150) (i32.const 6) (i32.const 256))) (drop (call $proxy_increment_metric (i32.load (i32.const 256)) (i64.const 3))) (drop (call $proxy_get_metric (i32.load (i32.const 256)) (i32.const 264))) (call $status (i32.load (i32.const 264)))";
    let h = host(
        &WatFilter::new().on(Callback::RequestHeaders, code),
        HostConfig::default(),
    );
    h.exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    let report = h.exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(statuses(&report), ["06"]);
    assert_eq!(report.metrics.get("metric"), Some(&MetricValue::Counter(6)));
    let bad = host(
        &WatFilter::new().on(
            Callback::RequestHeaders,
            "(drop (call $proxy_record_metric (i32.const 9) (i64.const 1)))",
        ),
        HostConfig::default(),
    )
    .exchange(Request::get("/"), UpstreamResponse::json(b"{}"));
    assert_eq!(bad.traps, ["host trap (internal error): could not record value in metric id \"9\": metric not found"]);
}

#[test]
fn header_map_round_trips_through_the_abi_and_pseudo_headers() {
    let code = "(drop (call $proxy_get_header_map_pairs (i32.const 0) (i32.const 256) (i32.const 260))) (call $status (call $proxy_set_header_map_pairs (i32.const 0) (i32.load (i32.const 256)) (i32.load (i32.const 260)))) (drop (call $proxy_replace_header_map_value (i32.const 0) (i32.const 4000) (i32.const 5) (i32.const 4005) (i32.const 4))) (drop (call $proxy_replace_header_map_value (i32.const 0) (i32.const 4009) (i32.const 10) (i32.const 4019) (i32.const 1)))";
    let wat = WatFilter::new()
        .data(4000, b":path/new:authorityx")
        .on(Callback::RequestHeaders, code);
    let request = Request::post("/old?q=1", b"{}")
        .header("x-a", "1")
        .header("X-B", "two");
    let report = host(&wat, HostConfig::default()).exchange(request, UpstreamResponse::json(b"{}"));
    assert_eq!(statuses(&report), ["00"]);
    let up = report.upstream_request.clone().unwrap();
    assert_eq!(up.path, "/new");
    assert_eq!(
        (
            up.header("x-a"),
            up.header("x-b"),
            up.header("content-type")
        ),
        (Some("1"), Some("two"), Some("application/json"))
    );
    assert!(report.logged("cannot set read-only \":authority\" header"));
}

#[test]
fn properties_subset() {
    let path = "request\0path";
    let code = format!("(call $status (call $proxy_get_property (i32.const 4000) (i32.const {}) (i32.const 256) (i32.const 260))) (call $log_ret (i32.const 0))", path.len());
    let wat = WatFilter::new()
        .data(4000, path.as_bytes())
        .on(Callback::RequestHeaders, &code);
    let report = host(&wat, HostConfig::default()).exchange(
        Request::get("/v1/messages?beta=true"),
        UpstreamResponse::json(b"{}"),
    );
    assert_eq!(statuses(&report), ["00"]);
    assert!(report.logged("/v1/messages?beta=true"));
}

#[test]
fn pause_in_response_headers_without_local_response_warns_and_continues() {
    let wat = WatFilter::new().returns(Callback::ResponseHeaders, 1);
    let report = host(&wat, HostConfig::default())
        .exchange(Request::get("/"), UpstreamResponse::json(b"body"));
    assert!(report.logs.iter().any(|l| l.level == Level::Warn
        && l.message
            .contains("local response expected but none produced")));
    assert_eq!(report.client().unwrap().body, b"body");
}

#[test]
fn unreachable_upstream_gives_502_through_the_response_steps() {
    let wat = WatFilter::new().on(Callback::ResponseHeaders, "(call $status (i32.const 44))");
    let h = host(&wat, HostConfig::default());
    let mut ex = h.worker(0).begin(Request::get("/"));
    assert!(matches!(ex.outcome(), RequestOutcome::Forward(_)));
    let head = h.worker(0).response_headers(&mut ex, None);
    let body = h.worker(0).finish(&mut ex);
    assert_eq!(head.status, 502);
    assert!(String::from_utf8_lossy(&body).contains("502 Bad Gateway"));
    assert_eq!(common::statuses_of(&ex.logs), ["44"]);
    assert!(ex.filter_time > std::time::Duration::ZERO);
}
