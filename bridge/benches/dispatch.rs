//! Bridge latency per dispatch and stores per second against local `redis-server`s: plain and
//! TLS, single node and 3-master cluster, batches of 1, 10 and 100 new mappings.
//!
//! Each dispatch is one new TCP connection with `Connection: close`, like WasmX. Latency is
//! measured with one client; throughput also with 4 concurrent clients.
//!
//! ```text
//! cargo bench -p aws-masker-bridge --bench dispatch
//! ```
// A benchmark that cannot set up must stop, like a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

static NEXT: AtomicUsize = AtomicUsize::new(1_000_000);

fn body(profile: &serde_json::Value, batch: usize) -> String {
    let store: Vec<(String, String)> = (0..batch)
        .map(|_| {
            let i = NEXT.fetch_add(1, Ordering::Relaxed);
            (placeholder("EC2", i), format!("i-{i:017x}"))
        })
        .collect();
    mappings_body(profile, 3600, &store, &[])
}

fn dispatch(port: u16, profile: &serde_json::Value, batch: usize) -> Duration {
    let body = body(profile, batch);
    let start = Instant::now();
    let (status, answer) = http(port, "POST", "/v1/mappings", &body);
    let took = start.elapsed();
    assert_eq!(status, 200, "{answer}");
    took
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn run(name: &str, port: u16, profile: &serde_json::Value) {
    for batch in [1usize, 10, 100] {
        let n = match batch {
            1 => 1000,
            10 => 500,
            _ => 200,
        };
        for _ in 0..20 {
            dispatch(port, profile, batch);
        }
        let start = Instant::now();
        let mut lat: Vec<Duration> = (0..n).map(|_| dispatch(port, profile, batch)).collect();
        let serial = start.elapsed();
        lat.sort();

        let threads = 4;
        let start = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for _ in 0..n / threads {
                        dispatch(port, profile, batch);
                    }
                });
            }
        });
        let parallel = start.elapsed();
        let stores = |count: usize, took: Duration| (count * batch) as f64 / took.as_secs_f64();
        println!(
            "{name:<14} batch {batch:>3}  p50 {:>7.0} us  p99 {:>7.0} us  stores/s 1 client {:>8.0}  4 clients {:>8.0}",
            percentile(&lat, 0.50).as_secs_f64() * 1e6,
            percentile(&lat, 0.99).as_secs_f64() * 1e6,
            stores(n, serial),
            stores(n / threads * threads, parallel),
        );
    }
}

fn main() {
    let certs = Certs::generate();
    let bridge = Bridge::start(&["--redis-ca-file", &certs.file("ca.pem"), "--quiet"]);

    let mut lat: Vec<Duration> = (0..1000)
        .map(|_| {
            let start = Instant::now();
            assert_eq!(bridge.get("/healthz").0, 200);
            start.elapsed()
        })
        .collect();
    lat.sort();
    println!(
        "{:<14} (no redis)  p50 {:>7.0} us  p99 {:>7.0} us",
        "GET /healthz",
        percentile(&lat, 0.50).as_secs_f64() * 1e6,
        percentile(&lat, 0.99).as_secs_f64() * 1e6
    );

    {
        let redis = Redis::start(&["--requirepass", "bench-pw"]);
        let profile = json!({"host": "127.0.0.1", "port": redis.port, "password": "bench-pw"});
        run("single plain", bridge.port, &profile);
    }
    {
        let mut args = certs.redis_args();
        args.extend(["--requirepass".into(), "bench-token".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let redis = Redis::start(&args);
        let profile = json!({"redis_type": "managed", "host": "127.0.0.1", "port": redis.port,
                             "ssl_enabled": true, "auth_token": "bench-token"});
        run("single tls", bridge.port, &profile);
    }
    for (name, tls) in [("cluster plain", false), ("cluster tls", true)] {
        let cluster = Cluster::start("bench-token", tls.then_some(&certs));
        let seed = cluster.ports()[0];
        let profile = json!({"redis_type": "managed", "host": "127.0.0.1", "port": seed,
                             "ssl_enabled": tls, "auth_token": "bench-token", "cluster_mode": true,
                             "cluster_endpoint": format!("127.0.0.1:{seed}")});
        run(name, bridge.port, &profile);
    }
}
