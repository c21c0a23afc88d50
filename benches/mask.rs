//! Mask throughput on a deterministic 1 MiB Messages API body (prose and CLI JSON output in
//! tool results), with about one identifier per 300 bytes ("dense") and with none ("clean"),
//! next to the memchr and copy floors on the same bodies. `cargo bench -p aws-masker --bench
//! mask` prints criterion's figures, then a summary table with MB/s and ratios.
//!
//! TODO(after merge): this uses the fake scanner of `tests/common/fake.rs`; switch to the
//! real `Detector` when it is on main (its cost is then part of the figure).

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_masker::json::{Document, Site, WalkOptions};
use aws_masker::mask::{BodyFormat, Masker};
use aws_masker::placeholder::Placeholders;
use common::fake::FakeScanner;
use criterion::{Criterion, Throughput};

const TARGET: usize = 1 << 20;
/// Content bytes between identifiers; JSON escaping brings the body to about 300 per identifier.
const ID_EVERY: usize = 220;

const WORDS: &[&str] = &[
    "the",
    "instance",
    "is",
    "running",
    "in",
    "subnet",
    "and",
    "its",
    "security",
    "group",
    "allows",
    "traffic",
    "from",
    "load",
    "balancer",
    "we",
    "should",
    "check",
    "logs",
    "for",
    "errors",
    "after",
    "deployment",
    "because",
    "latency",
    "increased",
    "when",
    "autoscaling",
    "launched",
    "new",
    "capacity",
    "región",
    "café",
    "—",
];

/// A deterministic generator: the bodies are the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

struct Gen {
    rng: Lcg,
    dense: bool,
    since_id: usize,
    ids: usize,
}

impl Gen {
    fn id(&mut self) -> String {
        self.ids += 1;
        let n = self.rng.next(200);
        match self.rng.next(3) {
            0 => format!(
                "arn:aws:iam::{:012}:role/service-role-{n}",
                100_000_000_000u64 + n as u64
            ),
            _ => format!("i-{:017x}", 0x0abc_0000_0000_0000u64 + n as u64 * 7919),
        }
    }

    /// An identifier if one is due, else a word of similar length.
    fn maybe_id(&mut self, len_so_far: usize) -> String {
        if len_so_far >= self.since_id + ID_EVERY {
            self.since_id = len_so_far;
            if self.dense {
                return self.id();
            }
            return "instance-nineteen-x".to_owned();
        }
        WORDS[self.rng.next(WORDS.len())].to_owned()
    }

    fn prose(&mut self, base: usize, len: usize) -> String {
        let mut s = String::new();
        while s.len() < len {
            let w = self.maybe_id(base + s.len());
            s.push_str(&w);
            s.push(if self.rng.next(12) == 0 { '.' } else { ' ' });
        }
        s
    }

    fn cli_output(&mut self, base: usize) -> String {
        let mut instances = Vec::new();
        for _ in 0..4 {
            let (id, vpc) = (
                self.maybe_id(base + instances.len() * 200),
                self.maybe_id(base + instances.len() * 200 + 100),
            );
            instances.push(serde_json::json!({
                "InstanceId": id,
                "InstanceType": "t3.nano",
                "State": {"Code": 16, "Name": "running"},
                "VpcId": vpc,
                "Tags": [{"Key": "Name", "Value": "web server"}],
            }));
        }
        serde_json::to_string_pretty(
            &serde_json::json!({"Reservations": [{"Instances": instances}]}),
        )
        .unwrap_or_default()
    }

    fn body(dense: bool) -> (Vec<u8>, usize) {
        let mut g = Gen {
            rng: Lcg(42),
            dense,
            since_id: 0,
            ids: 0,
        };
        let mut messages = Vec::new();
        let mut size = 0;
        let mut turn = 0;
        while size < TARGET {
            let (msg, len) = match turn % 3 {
                0 => {
                    let text = g.prose(size, 1500);
                    (
                        serde_json::json!({"role": "user", "content": text}),
                        text.len(),
                    )
                }
                1 => {
                    let text = g.prose(size, 600);
                    let len = text.len();
                    let block = serde_json::json!([{"type": "text", "text": text},
                        {"type": "tool_use", "id": format!("toolu_{turn:08}"), "name": "aws_cli",
                         "input": {"command": "aws ec2 describe-instances"}}]);
                    (
                        serde_json::json!({"role": "assistant", "content": block}),
                        len,
                    )
                }
                _ => {
                    let out = g.cli_output(size);
                    let len = out.len();
                    let block = serde_json::json!([{"type": "tool_result", "tool_use_id": format!("toolu_{:08}", turn - 1), "content": out}]);
                    (serde_json::json!({"role": "user", "content": block}), len)
                }
            };
            size += len + 40;
            messages.push(msg);
            turn += 1;
        }
        let body = serde_json::json!({
            "model": "claude-sonnet-4-5-20250929", "max_tokens": 4096,
            "system": "You are an AWS operations assistant.", "messages": messages,
        });
        (serde_json::to_vec(&body).unwrap_or_default(), g.ids)
    }
}

fn masker() -> Masker<FakeScanner> {
    Masker::new(
        FakeScanner::default(),
        Placeholders::new(b"benchmark secret of at least 32 bytes"),
        64 << 20,
    )
}

fn walk_only(body: &[u8]) -> usize {
    let mut n = 0;
    if let Ok(doc) = Document::parse(body) {
        doc.walk(WalkOptions::default(), &mut |s: &Site<'_>| {
            n += s.text.len()
        });
    }
    n
}

fn bench(c: &mut Criterion, bodies: &[(&str, Vec<u8>)]) {
    let masker = masker();
    let mut group = c.benchmark_group("mask");
    for (name, body) in bodies {
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(format!("mask/{name}"), |b| {
            b.iter(|| masker.mask(black_box(body), BodyFormat::Json))
        });
        group.bench_function(format!("parse_walk/{name}"), |b| {
            b.iter(|| walk_only(black_box(body)))
        });
        group.bench_function(format!("memchr/{name}"), |b| {
            b.iter(|| memchr::memchr(0, black_box(body)))
        });
        group.bench_function(format!("copy/{name}"), |b| {
            b.iter(|| black_box(body).to_vec())
        });
    }
    group.finish();
}

/// MB/s of `f` on `len` bytes: the best of the runs in about half a second, so that a busy
/// machine (other processes taking the CPU mid-run) skews the figure as little as possible.
fn rate(len: usize, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut best = Duration::MAX;
    while start.elapsed() < Duration::from_millis(500) {
        let run = Instant::now();
        f();
        best = best.min(run.elapsed());
    }
    len as f64 / best.as_secs_f64() / 1e6
}

fn main() {
    let (dense, ids) = Gen::body(true);
    let (clean, none) = Gen::body(false);
    let masked = masker()
        .mask(&dense, BodyFormat::Json)
        .map(|m| m.counts.total())
        .unwrap_or(0);
    println!(
        "dense body: {} bytes, {ids} identifiers generated ({} bytes each), {masked} masked; clean body: {} bytes, {none} identifiers",
        dense.len(),
        dense.len() / ids.max(1),
        clean.len()
    );
    let bodies = [("dense", dense), ("clean", clean)];
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &bodies);
    c.final_summary();

    let masker = masker();
    println!(
        "\n{:<8} {:>12} {:>12} {:>12} {:>12} {:>10} {:>10}",
        "body", "mask MB/s", "walk MB/s", "memchr MB/s", "copy MB/s", "mask/memchr", "mask/copy"
    );
    for (name, body) in &bodies {
        let mask = rate(body.len(), || {
            black_box(masker.mask(black_box(body), BodyFormat::Json).ok());
        });
        let walk = rate(body.len(), || {
            black_box(walk_only(black_box(body)));
        });
        let scan = rate(body.len(), || {
            black_box(memchr::memchr(0, black_box(body)));
        });
        let copy = rate(body.len(), || {
            black_box(black_box(body).to_vec());
        });
        println!(
            "{name:<8} {mask:>12.0} {walk:>12.0} {scan:>12.0} {copy:>12.0} {:>10.3} {:>10.3}",
            mask / scan,
            mask / copy
        );
    }
}
