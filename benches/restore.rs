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

/// Time of one pass over `body` in 16 KiB chunks: for each chunk (and the final `finish`), the
/// best of `reps` runs, summed. Best-of per short step filters out preemption on a busy machine,
/// where a whole 50 ms pass is almost never left alone.
fn chunked<R>(
    reps: usize,
    body: &[u8],
    mut make: impl FnMut() -> R,
    mut feed: impl FnMut(&mut R, &[u8], &mut Vec<u8>),
    mut finish: impl FnMut(&mut R, &mut Vec<u8>),
) -> Duration {
    let chunks: Vec<&[u8]> = body.chunks(CHUNK).collect();
    let mut best = vec![Duration::MAX; chunks.len() + 1];
    let mut out = Vec::with_capacity(2 * body.len());
    for _ in 0..reps {
        out.clear();
        let mut r = make();
        for (i, c) in chunks.iter().enumerate() {
            let t = Instant::now();
            feed(&mut r, black_box(c), &mut out);
            best[i] = best[i].min(t.elapsed());
        }
        let t = Instant::now();
        finish(&mut r, &mut out);
        best[chunks.len()] = best[chunks.len()].min(t.elapsed());
        black_box(&out);
    }
    best.iter().sum()
}

fn best_of(reps: usize, mut f: impl FnMut()) -> Duration {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn summary() {
    let (m, ps) = mapping();
    let mut out = Vec::with_capacity(8 * BODY);
    let mbps = |bytes: usize, d: Duration| bytes as f64 / d.as_secs_f64() / 1e6;
    let reps = 30;
    println!(
        "\nsummary: best of {reps} per 16 KiB step, summed; MB/s = 10^6 input bytes/s; \
         ratio = floor time / path time"
    );
    for case in cases(&ps) {
        let (t, s) = (case.text.as_slice(), case.sse.as_slice());
        let stats = whole(&m, t, &mut out);
        assert_eq!(stream(&m, t, &mut out), stats);
        assert_eq!(sse_stream(&m, s, &mut out), stats);
        let floor_of = |body: &[u8]| {
            chunked(
                reps,
                body,
                || (),
                |_, c, out| {
                    black_box(memmem::find_iter(c, b"AWS_").count());
                    out.extend_from_slice(c);
                },
                |_, _| {},
            )
        };
        let (f, fs) = (floor_of(t), floor_of(s));
        let whole_t = best_of(reps, || {
            black_box(whole(&m, black_box(t), &mut out));
        });
        let stream_t = chunked(
            reps,
            t,
            || StreamRestorer::new(Escape::None),
            |r, c, out| r.feed(&m, c, out),
            |r, out| r.finish(&m, out),
        );
        let sse_t = chunked(
            reps,
            s,
            SseRestorer::new,
            |r, c, out| r.feed(&m, c, out),
            |r, out| r.finish(&m, out),
        );
        let rows = [
            ("floor memchr+copy (text)", t.len(), f, f),
            ("restore_into", t.len(), whole_t, f),
            ("StreamRestorer 16 KiB", t.len(), stream_t, f),
            ("floor memchr+copy (sse)", s.len(), fs, fs),
            ("SseRestorer 16 KiB", s.len(), sse_t, fs),
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
                "  {name:<26} {:>9.1} MB/s  {:>7.3} ms  ratio {:.2}  ({:.1} MB/s of text)",
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
