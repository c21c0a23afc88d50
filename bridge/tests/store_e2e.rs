//! The full store path with real parts: the built filter in the WasmX host (real HTTP
//! dispatches) -> this bridge binary -> a real `redis-server`. Needs `make build` first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Bridge, Redis};
use wasm_host_tests::dispatch::TcpTransport;
use wasm_host_tests::scenario::{
    assert_masked_upstream, assert_store_failed, ec2_body, messages_body, placeholder_in, EC2,
    SECRET,
};
use wasm_host_tests::{echo, filter_wasm_path, Filter, Host, HostConfig, Report, Request};

fn config(bridge_port: u16, redis_port: u16, extra: &str) -> Vec<u8> {
    format!(
        r#"{{"token_secret":"{SECRET}","use_redis":true,"bridge_address":"127.0.0.1:{bridge_port}","redis_port":{redis_port},"bridge_timeout_ms":3000{extra}}}"#
    )
    .into_bytes()
}

fn host(config: Vec<u8>) -> Host {
    let filter = Filter::from_file(&filter_wasm_path().unwrap()).unwrap();
    Host::with_transport(
        filter,
        HostConfig::with_config(config),
        Arc::new(TcpTransport),
    )
    .unwrap()
}

fn upstream_text(r: &Report) -> String {
    String::from_utf8_lossy(&r.upstream_request.as_ref().expect("forwarded").body).to_string()
}

#[test]
fn stored_in_redis_and_restored_on_another_node() {
    let redis = Redis::start(&[]);
    let bridge = Bridge::start(&[]);
    let node_a = host(config(bridge.port, redis.port, ""));
    let r = node_a.exchange(Request::post("/v1/messages", &ec2_body()), echo);
    assert!(r.traps.is_empty(), "{:?}", r.traps);
    let up = upstream_text(&r);
    assert!(!up.contains(EC2), "{up}");
    assert_eq!(r.counter("store_ok"), 1, "{}", r.log_text());
    let placeholder = placeholder_in(&up, "EC2").unwrap();
    let mut conn = redis.conn(None);
    let stored: Option<String> = redis::cmd("GET")
        .arg(format!("aws-masker:v1:{placeholder}"))
        .query(&mut conn)
        .unwrap();
    assert_eq!(stored.as_deref(), Some(EC2));
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("aws-masker:v1:{placeholder}"))
        .query(&mut conn)
        .unwrap();
    assert!(ttl > 86_000 && ttl <= 86_400, "{ttl}");

    // Another node never issued it; the user pastes the placeholder from an earlier answer.
    let node_b = host(config(bridge.port, redis.port, ""));
    let pasted = messages_body(&format!("and {placeholder}?"));
    let r = node_b.exchange(Request::post("/v1/messages", &pasted), echo);
    assert!(upstream_text(&r).contains(&placeholder));
    let client = r.client().unwrap().text();
    assert!(client.contains(&format!("and {EC2}?")), "{client}");
    assert!(!r.log_text().contains(EC2));
}

#[test]
fn redis_down_blocks_and_bridge_down_follows_the_policy() {
    let mut redis = Redis::start(&[]);
    let mut bridge = Bridge::start(&[]);
    let block = host(config(bridge.port, redis.port, ""));
    let cont = host(config(
        bridge.port,
        redis.port,
        r#","on_store_failure":"continue""#,
    ));
    let r = block.exchange(Request::post("/v1/messages", &ec2_body()), echo);
    assert_eq!(r.counter("store_ok"), 1);

    redis.kill();
    let r = block.exchange(Request::post("/v1/messages", &ec2_body()), echo);
    assert_store_failed(&r);
    assert_eq!(r.counter("store_failures_status"), 1, "{}", r.log_text());

    assert!(bridge.terminate(Duration::from_secs(5)));
    let r = block.exchange(Request::post("/v1/messages", &ec2_body()), echo);
    assert_store_failed(&r);
    assert_eq!(r.counter("store_failures_unreachable"), 1);
    let r = cont.exchange(Request::post("/v1/messages", &ec2_body()), echo);
    assert_masked_upstream(&r);
    assert_eq!(
        r.client().unwrap().as_read_by_client().unwrap(),
        ec2_body().as_slice()
    );
    assert_eq!(r.counter("store_failures_unreachable"), 1);
}

/// The added latency of the store step: the same exchange with `use_redis` on (real bridge
/// and Redis) and off, medians over the same number of runs. Prints the ratio.
#[test]
fn store_step_latency_ratio() {
    let redis = Redis::start(&[]);
    let bridge = Bridge::start(&[]);
    let on = host(config(bridge.port, redis.port, ""));
    let off = host(format!(r#"{{"token_secret":"{SECRET}"}}"#).into_bytes());
    let median = |h: &Host| {
        let mut times: Vec<Duration> = (0..40)
            .map(|_| {
                let start = Instant::now();
                let r = h.exchange(Request::post("/v1/messages", &ec2_body()), echo);
                assert_eq!(r.client().unwrap().status, 200);
                start.elapsed()
            })
            .collect();
        times.sort();
        times[times.len() / 2]
    };
    let (t_off, t_on) = (median(&off), median(&on));
    eprintln!(
        "store step: use_redis off {t_off:?}, on {t_on:?}, ratio {:.2}",
        t_on.as_secs_f64() / t_off.as_secs_f64()
    );
    assert!(t_on > Duration::ZERO && t_off > Duration::ZERO);
}
