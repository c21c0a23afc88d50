//! Filter CPU time per request through the host, for 10 KiB, 100 KiB and 1 MiB request bodies echoed back
//! as JSON responses.
//!
//! `cargo run --release -p wasm-host-tests --example host_bench -- [WASM] [CONFIG_JSON] [ROUNDS]`
//! (defaults: the release `aws_masker.wasm`, a config with a fixed test secret, 50 rounds).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use wasm_host_tests::{echo, filter_wasm_path, Filter, Host, HostConfig, Request};

fn body_of(size: usize) -> Vec<u8> {
    let sentence = "Instance i-0123456789abcdef0 in 10.0.3.17 writes to s3://example-logs-bucket/2024/ and arn:aws:rds:us-east-1:123456789012:db:orders-prod. ";
    let mut text = String::new();
    while text.len() + sentence.len() < size.saturating_sub(80) {
        text.push_str(sentence);
    }
    format!(r#"{{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{{"role":"user","content":"{text}"}}]}}"#)
        .into_bytes()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(rank).copied().unwrap_or_default()
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let wasm = match args
        .next()
        .map(PathBuf::from)
        .map_or_else(filter_wasm_path, Ok)
    {
        Ok(path) => path,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let config = args.next().unwrap_or_else(|| {
        r#"{"token_secret":"bench-secret-bench-secret-bench-secret-0123"}"#.to_string()
    });
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(50);
    let filter = match Filter::from_file_unmetered(&wasm) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let host_config = HostConfig {
        client_body_buffer_size: 8 * 1024 * 1024,
        response_body_buffers: 64 * 16 * 1024,
        fuel_per_callback: None,
        ..HostConfig::with_config(config.into_bytes())
    };
    let host = match Host::new(filter, host_config) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    println!("size      median      p99   (filter time per exchange, {rounds} rounds)");
    for size in [10 * 1024, 100 * 1024, 1024 * 1024] {
        let body = body_of(size);
        let _ = host.exchange(Request::post("/v1/messages", &body), echo);
        let mut times: Vec<Duration> = (0..rounds)
            .map(|_| {
                host.exchange(Request::post("/v1/messages", &body), echo)
                    .filter_time
            })
            .collect();
        times.sort();
        println!(
            "{:>5} KiB {:>9.3?} {:>9.3?}",
            size / 1024,
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }
    ExitCode::SUCCESS
}
