//! Throughput and latency of `wasm-host serve` on loopback with a mock upstream that echoes the request
//! body: requests/s and latency (p50, p99) for 10 KiB and 100 KiB bodies, straight to the upstream, through
//! the gateway with the filter off, and with the filter on (ratios in the same run); then time to first
//! byte of an SSE stream with and without the filter.
//!
//! `cargo run --release -p wasm-host-tests --example serve_bench` (needs `make build`; `SERVE_BENCH_SECS`
//! sets the time per case, `SERVE_BENCH_CLIENTS` the concurrent keep-alive clients).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/e2e_support/mod.rs"]
mod e2e_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use e2e_support::*;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A Messages body of about `size` bytes, with one identifier (rotating kinds) every ~300 bytes.
fn body_of(size: usize) -> Vec<u8> {
    let mut text = String::new();
    let mut n = 0u32;
    while text.len() + 100 < size {
        let o = originals(n % 64);
        text.push_str(&format!(
            "Step {n}: the deployment on {} failed; the logs were quiet and the health checks kept passing for \
             a while before the rollback happened, so the on-call engineer opened a ticket, paged the owning \
             team and asked for the release notes of the last three changes to that service. ",
            o[(n % 4) as usize]
        ));
        n += 1;
    }
    messages_body(&text)
}

struct Run {
    rps: f64,
    p50: Duration,
    p99: Duration,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn load(addr: SocketAddr, body: &[u8], clients: u64, secs: u64) -> Run {
    // Warm up: connections, pooled upstream connections, instances.
    for _ in 0..5 {
        assert!(post(addr, "json", body).unwrap().status == 200);
    }
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let body = body.to_vec();
            std::thread::spawn(move || {
                let mut client = Client::connect(addr);
                let mut lat = Vec::new();
                while Instant::now() < deadline && lat.len() < 1_000_000 {
                    let t = Instant::now();
                    let r = client.post("/v1/messages", "json", &body).unwrap();
                    lat.push(t.elapsed());
                    assert!(r.status == 200 && r.body.len() == body.len());
                }
                lat
            })
        })
        .collect();
    let mut all: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let elapsed = start.elapsed();
    all.sort();
    Run {
        rps: all.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&all, 0.50),
        p99: percentile(&all, 0.99),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Median time from sending the request to the first byte of the first SSE event, over `n` requests.
fn ttfb(addr: SocketAddr, n: usize) -> Duration {
    let body = messages_body(&prompt(1));
    let mut times = Vec::new();
    for _ in 0..n {
        let mut client = Client::connect(addr);
        let t = Instant::now();
        client.send("/v1/messages", "sse", &body, false);
        let head = client.read_head().unwrap();
        assert_eq!(head.status, 200);
        let first = read_until(&mut client.reader, b"\n\n", Duration::from_secs(10));
        assert!(!first.is_empty());
        times.push(t.elapsed());
    }
    times.sort();
    percentile(&times, 0.5)
}

fn main() {
    let secs = env_or("SERVE_BENCH_SECS", 3);
    let clients = env_or("SERVE_BENCH_CLIENTS", 4);
    let mock = Mock::start_with(0, false);
    let off = gateway(mock.addr, None);
    let on = gateway(mock.addr, Some(host_config(2, 1 << 20)));
    println!(
        "wasm-host serve on loopback, {clients} keep-alive clients, {secs}s per case, echo upstream, 2 workers"
    );
    println!(
        "{:<9} {:<11} {:>9} {:>9} {:>9}   vs filter off",
        "body", "path", "req/s", "p50 ms", "p99 ms"
    );
    for size in [10 * 1024, 100 * 1024] {
        let body = body_of(size);
        let direct = load(mock.addr, &body, clients, secs);
        let plain = load(off.addr(), &body, clients, secs);
        let filtered = load(on.addr(), &body, clients, secs);
        for (name, run) in [
            ("direct", &direct),
            ("filter off", &plain),
            ("filter on", &filtered),
        ] {
            println!(
                "{:<9} {:<11} {:>9.0} {:>9.3} {:>9.3}   {}",
                format!("{} KiB", body.len() / 1024),
                name,
                run.rps,
                ms(run.p50),
                ms(run.p99),
                if name == "filter on" {
                    format!(
                        "x{:.2} req/s, +{:.3} ms p50, +{:.3} ms p99",
                        run.rps / plain.rps,
                        ms(run.p50) - ms(plain.p50),
                        ms(run.p99) - ms(plain.p99)
                    )
                } else {
                    String::new()
                }
            );
        }
    }
    let n = 50;
    let t_off = ttfb(off.addr(), n);
    let t_on = ttfb(on.addr(), n);
    println!(
        "SSE time to first event (median of {n}): filter off {:.3} ms, filter on {:.3} ms (+{:.3} ms)",
        ms(t_off),
        ms(t_on),
        ms(t_on) - ms(t_off)
    );
}
