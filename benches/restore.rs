//! Restore throughput on a 1 MiB response, against the machine's memchr/copy floor.
//!
//! Bodies: realistic text with one placeholder per ~300 bytes ("dense") and with none
//! ("clean"). Paths: `restore_into`, `StreamRestorer` fed 16 KiB chunks, `SseRestorer` on the
//! same text as a Messages API stream of ~20-byte `text_delta`s fed 16 KiB chunks, and the
//! floor (memmem search for `AWS_` plus a copy of the body). After criterion's report, a
//! summary prints MB/s and the ratio to the floor for each, measured in the same run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_masker::placeholder::{Mapping, Placeholders};
use aws_masker::restore::{restore_into, Escape, RestoreStats, StreamRestorer};
use aws_masker::sse::SseRestorer;
use criterion::{criterion_group, Criterion, Throughput};
use memchr::memmem;

const BODY: usize = 1 << 20;
const CHUNK: usize = 16 * 1024;

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
    "on",
    "port",
    "443.",
    "I",
    "checked",
    "the",
    "logs,",
    "which",
    "show",
    "that",
    "role",
    "was",
    "assumed",
    "by",
    "Lambda",
    "function",
    "at",
    "10:42",
    "UTC;",
    "consider",
    "rotating",
    "keys",
    "or",
    "tightening",
    "policy.",
    "Next,",
    "run",
    "`aws",
    "ec2",
    "describe-instances`",
    "to",
    "confirm",
    "state",
    "é",
    "—",
    "bucket",
    "volume",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A mapping of 300 identifiers of several kinds, and their placeholders.
fn mapping() -> (Mapping, Vec<String>) {
    let keys = Placeholders::new(b"benchmark secret, 32 bytes or more");
    let mut m = Mapping::default();
    let mut ps = Vec::new();
    for i in 0..100u32 {
        ps.push(keys.issue(&mut m, "EC2", &format!("i-0{i:016x}")));
        ps.push(keys.issue(&mut m, "VPC", &format!("vpc-{i:08x}")));
        ps.push(keys.issue(
            &mut m,
            "ARN_IAM_ROLE",
            &format!("arn:aws:iam::123456789012:role/r{i}"),
        ));
    }
    (m, ps)
}

/// About `BODY` bytes of text; with `dense`, a placeholder every ~300 bytes.
fn body(ps: &[String], dense: bool) -> String {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut text = String::with_capacity(BODY + 512);
    let mut next_placeholder = 300;
    while text.len() < BODY {
        if dense && text.len() >= next_placeholder {
            text.push_str(&ps[rng.below(ps.len())]);
            text.push(' ');
            next_placeholder += 250 + rng.below(100);
        }
        text.push_str(WORDS[rng.below(WORDS.len())]);
        text.push(if rng.below(12) == 0 { '\n' } else { ' ' });
    }
    text
}

/// The text as a Messages API stream of ~20-byte text deltas.
fn sse(text: &str) -> Vec<u8> {
    let mut out = String::new();
    out.push_str("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[]}}\n\n");
    out.push_str("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
    let mut at = 0;
    while at < text.len() {
        let mut end = (at + 20).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        let piece = serde_json::to_string(&text[at..end]).unwrap_or_default();
        out.push_str("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":");
        out.push_str(&piece);
        out.push_str("}}\n\n");
        at = end;
    }
    out.push_str(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    );
    out.push_str("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    out.into_bytes()
}

fn floor(body: &[u8], out: &mut Vec<u8>) -> usize {
    out.clear();
    let hits = memmem::find_iter(body, b"AWS_").count();
    out.extend_from_slice(body);
    hits
}

fn whole(m: &Mapping, body: &[u8], out: &mut Vec<u8>) -> RestoreStats {
    out.clear();
    let mut stats = RestoreStats::default();
    restore_into(body, m, Escape::None, out, &mut stats);
    stats
}

fn stream(m: &Mapping, body: &[u8], out: &mut Vec<u8>) -> RestoreStats {
    out.clear();
    let mut r = StreamRestorer::new(Escape::None);
    for chunk in body.chunks(CHUNK) {
        r.feed(m, chunk, out);
    }
    r.finish(m, out);
    r.stats()
}

fn sse_stream(m: &Mapping, body: &[u8], out: &mut Vec<u8>) -> RestoreStats {
    out.clear();
    let mut r = SseRestorer::new();
    for chunk in body.chunks(CHUNK) {
        r.feed(m, chunk, out);
    }
    r.finish(m, out);
    r.stats()
}

struct Case {
    name: &'static str,
    text: Vec<u8>,
    sse: Vec<u8>,
}

fn cases(ps: &[String]) -> Vec<Case> {
    [("dense", true), ("clean", false)]
        .into_iter()
        .map(|(name, dense)| {
            let t = body(ps, dense);
            Case {
                name,
                sse: sse(&t),
                text: t.into_bytes(),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let (m, ps) = mapping();
    let mut out = Vec::with_capacity(8 * BODY);
    for case in cases(&ps) {
        let mut g = c.benchmark_group(case.name);
        g.throughput(Throughput::Bytes(case.text.len() as u64));
        g.bench_function("floor_memchr_copy", |b| {
            b.iter(|| floor(black_box(&case.text), &mut out))
        });
        g.bench_function("restore_into", |b| {
            b.iter(|| whole(&m, black_box(&case.text), &mut out))
        });
        g.bench_function("stream_16k", |b| {
            b.iter(|| stream(&m, black_box(&case.text), &mut out))
        });
        g.throughput(Throughput::Bytes(case.sse.len() as u64));
        g.bench_function("sse_16k", |b| {
            b.iter(|| sse_stream(&m, black_box(&case.sse), &mut out))
        });
        g.bench_function("sse_floor_memchr_copy", |b| {
            b.iter(|| floor(black_box(&case.sse), &mut out))
        });
        g.finish();
    }
}

/// Median time of `f` over repeated runs of about `budget`.
fn median(budget: Duration, mut f: impl FnMut()) -> Duration {
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 5 || (start.elapsed() < budget && times.len() < 1000) {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    times.sort_unstable();
    times[times.len() / 2]
}

fn summary() {
    let (m, ps) = mapping();
    let mut out = Vec::with_capacity(8 * BODY);
    let mbps = |bytes: usize, d: Duration| bytes as f64 / d.as_secs_f64() / 1e6;
    let budget = Duration::from_millis(700);
    println!("\nsummary (MB/s = 10^6 bytes/s of the input; ratio = floor time / path time)");
    for case in cases(&ps) {
        let (t, s) = (case.text.as_slice(), case.sse.as_slice());
        let stats = whole(&m, t, &mut out);
        assert_eq!(stream(&m, t, &mut out), stats);
        assert_eq!(sse_stream(&m, s, &mut out), stats);
        let f = median(budget, || {
            black_box(floor(black_box(t), &mut out));
        });
        let fs = median(budget, || {
            black_box(floor(black_box(s), &mut out));
        });
        let rows = [
            ("floor memchr+copy (text)", t.len(), f, f),
            (
                "restore_into",
                t.len(),
                median(budget, || {
                    black_box(whole(&m, black_box(t), &mut out));
                }),
                f,
            ),
            (
                "StreamRestorer 16 KiB",
                t.len(),
                median(budget, || {
                    black_box(stream(&m, black_box(t), &mut out));
                }),
                f,
            ),
            ("floor memchr+copy (sse)", s.len(), fs, fs),
            (
                "SseRestorer 16 KiB",
                s.len(),
                median(budget, || {
                    black_box(sse_stream(&m, black_box(s), &mut out));
                }),
                fs,
            ),
        ];
        println!(
            "{}: text {} bytes, sse {} bytes ({} events), {} restored",
            case.name,
            t.len(),
            s.len(),
            memmem::find_iter(s, b"\n\n").count(),
            stats.restored
        );
        for (name, bytes, d, floor_d) in rows {
            println!(
                "  {name:<26} {:>9.1} MB/s  {:>6.3} ms  ratio {:.2}  (text MB/s {:.1})",
                mbps(bytes, d),
                d.as_secs_f64() * 1e3,
                floor_d.as_secs_f64() / d.as_secs_f64(),
                mbps(t.len(), d)
            );
        }
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    summary();
}
