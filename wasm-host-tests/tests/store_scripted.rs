//! The built filter's store step (issue 5) against a scripted bridge: one dispatch per
//! exchange, pause until the answer, resume or block per `on_store_failure`, lookups of pasted
//! placeholders, and the circuit breaker. Needs `make build` first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use wasm_host_tests::dispatch::{
    DispatchFailure, DispatchRequest, DispatchResponse, DispatchResult, ScriptedTransport,
    Transport,
};
use wasm_host_tests::scenario::{
    assert_masked_upstream, assert_store_failed, ec2_body, messages_body, placeholder_in, EC2,
    SECRET,
};
use wasm_host_tests::*;

const OK: &[u8] = br#"{"stored":1,"refreshed":0}"#;

fn config(extra: &str) -> Vec<u8> {
    format!(r#"{{"token_secret":"{SECRET}","use_redis":true,"bridge_address":"127.0.0.1:7399","redis_password":"pw-not-logged"{extra}}}"#)
        .into_bytes()
}

fn host(cfg: HostConfig, transport: Arc<dyn Transport>) -> Host {
    let filter = Filter::from_file(&filter_wasm_path().unwrap()).unwrap();
    Host::with_transport(filter, cfg, transport).unwrap()
}

fn scripted(extra: &str, script: Vec<DispatchResult>) -> Host {
    host(
        HostConfig::with_config(config(extra)),
        Arc::new(ScriptedTransport::new(script)),
    )
}

#[test]
fn stored_then_forwarded_masked_and_restored() {
    let h = scripted("", vec![Ok(DispatchResponse::new(200, OK))]);
    let r = h.exchange(Request::post("/v1/messages", &ec2_body()), echo);
    assert!(r.traps.is_empty(), "{:?}", r.traps);
    assert_eq!(r.dispatches.len(), 1);
    let d = &r.dispatches[0].request;
    assert_eq!(
        (d.method.as_str(), d.path.as_str(), d.upstream.as_str()),
        ("POST", "/v1/mappings", "127.0.0.1:7399")
    );
    assert_eq!(d.authority, "aws-masker-bridge");
    let sent = String::from_utf8_lossy(&d.body).to_string();
    assert!(
        sent.contains(EC2) && sent.contains(r#""ttl":86400"#) && sent.contains(r#""lookup":[]"#),
        "{sent}"
    );
    assert_masked_upstream(&r);
    assert_eq!(
        r.client().unwrap().as_read_by_client().unwrap(),
        ec2_body().as_slice()
    );
    assert_eq!(r.counter("store_ok"), 1);
    let logs = r.log_text();
    assert!(
        !logs.contains(EC2) && !logs.contains("pw-not-logged"),
        "{logs}"
    );
}

#[test]
fn an_ipv6_bridge_address_is_dispatched_to_with_one_pair_of_brackets() {
    let cfg = format!(
        r#"{{"token_secret":"{SECRET}","use_redis":true,"bridge_address":"[::1]:7399","redis_password":"pw-not-logged"}}"#
    );
    let h = host(
        HostConfig::with_config(cfg.into_bytes()),
        Arc::new(ScriptedTransport::new(vec![Ok(DispatchResponse::new(
            200, OK,
        ))])),
    );
    let r = h.exchange(Request::post("/v1/messages", &ec2_body()), echo);
    assert!(r.traps.is_empty(), "{:?}", r.traps);
    assert_eq!(r.dispatches.len(), 1);
    assert_eq!(r.dispatches[0].request.upstream, "[::1]:7399");
    assert_masked_upstream(&r);
    assert_eq!(r.counter("store_ok"), 1);
}

#[test]
fn nothing_to_store_means_no_dispatch_and_use_redis_off_never_dispatches() {
    let h = scripted("", vec![]);
    let r = h.exchange(Request::post("/v1/messages", &messages_body("hello")), echo);
    assert!(r.dispatches.is_empty());
    assert_eq!(r.client().unwrap().status, 200);
    let off = host(
        HostConfig::with_config(format!(r#"{{"token_secret":"{SECRET}"}}"#)),
        Arc::new(ScriptedTransport::new(vec![])),
    );
    let r = off.exchange(Request::post("/v1/messages", &ec2_body()), echo);
    assert!(r.dispatches.is_empty());
    assert_masked_upstream(&r);
}

fn failures() -> Vec<(&'static str, DispatchResult)> {
    // The one entry `ec2_body` makes the filter send.
    let sent = aws_masker::placeholder::Placeholders::new(SECRET.as_bytes()).derive("EC2", EC2, 0);
    let answer = |body: String| Ok(DispatchResponse::new(200, body.as_bytes()));
    vec![
        ("timeout", Err(DispatchFailure::Timeout)),
        ("unreachable", Err(DispatchFailure::BrokenConnection)),
        ("status", Ok(DispatchResponse::new(500, br#"{"error":{}}"#))),
        ("malformed", Ok(DispatchResponse::new(200, b"garbage"))),
        // A 2xx that does not account for the entry sent (nothing stored, no conflict), or
        // names a conflict that was not sent: not the bridge's answer.
        ("malformed", answer(r#"{"stored":0,"refreshed":0}"#.into())),
        (
            "malformed",
            answer(r#"{"stored":0,"refreshed":0,"conflicts":["AWS_EC2_AAAAAAAAAAAAA"]}"#.into()),
        ),
        (
            "conflict",
            answer(format!(
                r#"{{"stored":0,"refreshed":0,"conflicts":["{sent}"]}}"#
            )),
        ),
    ]
}

#[test]
fn failures_block_with_block_policy() {
    for (code, result) in failures() {
        let h = scripted("", vec![result]);
        let r = h.exchange(Request::post("/v1/messages", &ec2_body()), echo);
        assert!(r.traps.is_empty(), "{code}: {:?}", r.traps);
        assert_store_failed(&r);
        assert_eq!(r.counter(&format!("store_failures_{code}")), 1, "{code}");
        assert_eq!(r.counter("blocks_store_failed"), 1, "{code}");
        assert!(!r.log_text().contains(EC2));
    }
}

#[test]
fn a_refusal_is_logged_with_the_bridge_error_code_and_nothing_of_its_message() {
    let refused = br#"{"error":{"code":"redis_auth","message":"WRONGPASS for pw-not-logged"}}"#;
    let h = scripted("", vec![Ok(DispatchResponse::new(502, refused))]);
    let r = h.exchange(Request::post("/v1/messages", &ec2_body()), echo);
    assert_store_failed(&r);
    assert_eq!(r.counter("store_failures_status"), 1);
    let logs = r.log_text();
    assert!(
        logs.contains("store failed (status 502, bridge error redis_auth)"),
        "{logs}"
    );
    assert!(
        !logs.contains("WRONGPASS") && !logs.contains("pw-not-logged") && !logs.contains(EC2),
        "{logs}"
    );
}

#[test]
fn failures_forward_masked_with_continue_policy() {
    for (code, result) in failures() {
        let h = scripted(r#","on_store_failure":"continue""#, vec![result]);
        let r = h.exchange(Request::post("/v1/messages", &ec2_body()), echo);
        assert!(r.traps.is_empty(), "{code}: {:?}", r.traps);
        assert_masked_upstream(&r);
        // The exchange still knows its own mapping: the response is restored.
        assert_eq!(
            r.client().unwrap().as_read_by_client().unwrap(),
            ec2_body().as_slice(),
            "{code}"
        );
        assert_eq!(r.counter(&format!("store_failures_{code}")), 1, "{code}");
    }
}

#[test]
fn unix_bridge_address_is_dispatched_and_its_failure_blocks() {
    // A valid config cannot make dispatch_http_call fail at once (the host rejects only
    // unparsable upstreams); the unix path is dispatched and the script fails it late.
    let h = scripted(
        r#","bridge_address":"unix:/nonexistent/bridge.sock""#,
        vec![],
    );
    let r = h.exchange(Request::post("/v1/messages", &ec2_body()), echo);
    assert!(r.traps.is_empty(), "{:?}", r.traps);
    assert_eq!(
        r.dispatches[0].request.upstream,
        "unix:/nonexistent/bridge.sock"
    );
    assert_store_failed(&r);
}

#[test]
fn pasted_placeholder_is_looked_up_and_restored() {
    // The placeholder another node issued for EC2: learn it from a first exchange.
    let first = scripted("", vec![Ok(DispatchResponse::new(200, OK))]);
    let r = first.exchange(Request::post("/v1/messages", &ec2_body()), echo);
    let placeholder = placeholder_in(
        &String::from_utf8_lossy(&r.upstream_request.unwrap().body),
        "EC2",
    )
    .unwrap();

    let asked = Arc::new(Mutex::new(String::new()));
    let seen = asked.clone();
    let p = placeholder.clone();
    let bridge = move |req: &DispatchRequest| -> DispatchResult {
        *seen.lock().unwrap() = String::from_utf8_lossy(&req.body).to_string();
        let found = format!(
            r#"{{"stored":0,"refreshed":0,"found":[{{"placeholder":"{p}","original":"{EC2}"}}]}}"#
        );
        Ok(DispatchResponse::new(200, found.as_bytes()))
    };
    let h = host(HostConfig::with_config(config("")), Arc::new(bridge));
    let pasted = messages_body(&format!("what about {placeholder}?"));
    let r = h.exchange(Request::post("/v1/messages", &pasted), echo);
    assert_eq!(r.dispatches.len(), 1);
    let sent = asked.lock().unwrap().clone();
    assert!(
        sent.contains(&format!(r#""lookup":["{placeholder}"]"#)) && sent.contains(r#""store":[]"#),
        "{sent}"
    );
    let up = String::from_utf8_lossy(&r.upstream_request.as_ref().unwrap().body).to_string();
    assert!(up.contains(&placeholder) && !up.contains(EC2));
    let client = r.client().unwrap().text();
    assert!(client.contains(&format!("what about {EC2}?")), "{client}");
}

#[test]
fn refusals_of_one_request_do_not_open_the_breaker() {
    // Threshold 2: two 413s (an exchange too large for the bridge) are that request's
    // problem, not an outage; the next request still dispatches.
    let extra = r#","circuit_failure_threshold":2"#;
    let too_large = br#"{"error":{"code":"payload_too_large","message":"body too large"}}"#;
    let script = vec![
        Ok(DispatchResponse::new(413, too_large)),
        Ok(DispatchResponse::new(413, too_large)),
        Ok(DispatchResponse::new(200, OK)),
    ];
    let h = scripted(extra, script);
    let send = || h.exchange(Request::post("/v1/messages", &ec2_body()), echo);
    assert_store_failed(&send());
    assert_store_failed(&send());
    let r = send();
    assert_eq!(r.dispatches.len(), 1, "the breaker opened");
    assert_masked_upstream(&r);
    assert_eq!(r.counter("store_failures_status"), 2);
    assert_eq!(r.counter("circuit_open_rejections"), 0);
}

#[test]
fn breaker_opens_fails_fast_then_closes_after_probes() {
    // failure threshold 2, success threshold 2, open 1 s; continue so requests flow.
    let extra = r#","on_store_failure":"continue","circuit_failure_threshold":2,"circuit_success_threshold":2,"circuit_open_seconds":1"#;
    let script = vec![
        Err(DispatchFailure::Timeout),
        Err(DispatchFailure::Timeout),
        Ok(DispatchResponse::new(200, OK)),
        Ok(DispatchResponse::new(200, OK)),
        Ok(DispatchResponse::new(200, OK)),
    ];
    let h = scripted(extra, script);
    let send = || h.exchange(Request::post("/v1/messages", &ec2_body()), echo);
    assert_eq!(send().dispatches.len(), 1);
    assert_eq!(send().dispatches.len(), 1);
    // Open: fail fast, no dispatch, counted, forwarded masked (continue).
    let r = send();
    assert!(r.dispatches.is_empty());
    assert_masked_upstream(&r);
    assert_eq!(r.counter("circuit_open_rejections"), 1);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // Half open: probes go through; two successes close it.
    assert_eq!(send().dispatches.len(), 1);
    assert_eq!(send().dispatches.len(), 1);
    let r = send();
    assert_eq!(r.dispatches.len(), 1, "closed again");
    assert_eq!(r.counter("store_ok"), 3);
    assert_eq!(r.counter("store_failures_timeout"), 2);
    assert_eq!(r.counter("circuit_open_rejections"), 1);
}

#[test]
fn node_cache_entries_are_sent_again_once_half_the_ttl_has_passed() {
    // Redis forgets a mapping after mapping_ttl: the node must not believe it stored forever.
    let extra = r#","node_cache":true,"mapping_ttl":60"#;
    let cfg = HostConfig {
        shm_kv: Some(65536),
        ..HostConfig::with_config(config(extra))
    };
    let ok = || Ok(DispatchResponse::new(200, OK));
    let h = host(cfg, Arc::new(ScriptedTransport::new(vec![ok(), ok()])));
    let send = || h.exchange(Request::post("/v1/messages", &ec2_body()), echo);
    let first = send();
    assert_eq!(first.dispatches.len(), 1);
    let sent = String::from_utf8_lossy(&first.dispatches[0].request.body).to_string();
    let p = placeholder_in(&sent, "EC2").unwrap();
    // Stored just now: the next exchange has nothing to store.
    assert!(send().dispatches.is_empty());
    // Stored 40 s ago, over half of 60: sent again (which refreshes it in Redis).
    let key = format!("aws_masker/{p}");
    let (_, cas) = h.shared_data().get(key.as_bytes()).unwrap().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let stale = format!("{p}\u{1}{}\0{EC2}", now - 40);
    h.shared_data()
        .set(key.as_bytes(), Some(stale.as_bytes()), cas)
        .unwrap();
    let third = send();
    assert_eq!(third.dispatches.len(), 1);
    assert!(String::from_utf8_lossy(&third.dispatches[0].request.body).contains(EC2));
    assert_masked_upstream(&third);
    // Its time moved on with that store.
    assert!(send().dispatches.is_empty());
}

#[test]
fn breaker_open_blocks_with_block_policy_and_is_shared_by_workers() {
    let extra = r#","circuit_failure_threshold":1,"node_cache":true"#;
    let cfg = HostConfig {
        workers: 2,
        shm_kv: Some(65536),
        ..HostConfig::with_config(config(extra))
    };
    let h = host(
        cfg,
        Arc::new(ScriptedTransport::new(vec![Err(
            DispatchFailure::BrokenConnection,
        )])),
    );
    let first = h.exchange(Request::post("/v1/messages", &ec2_body()), echo);
    assert_store_failed(&first);
    // The other worker sees the node's open breaker: no dispatch, blocked.
    let second = h.exchange(Request::post("/v1/messages", &ec2_body()), echo);
    assert_ne!(first.worker, second.worker);
    assert!(second.dispatches.is_empty());
    assert_store_failed(&second);
    assert_eq!(second.counter("circuit_open_rejections"), 1);
}
