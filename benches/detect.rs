//! Detection throughput on 1 MiB of realistic text: prose mixed with JSON-ish AWS CLI output,
//! with no identifiers ("clean") and with about one identifier per 300 bytes ("dense").
//! Prints MB/s for each body next to the `memchr` floor (one pass looking for a byte that is
//! absent) on the same body, then runs the criterion groups. Wall-clock figures: on a shared
//! machine, compare the ratio to the floor rather than the absolute numbers.

#![allow(clippy::expect_used)]

mod common;

use std::hint::black_box;
use std::time::Instant;

use aws_masker::detect::{Detector, DetectorConfig, Scan};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use common::{Lcg, PROSE, SIZE};

const JSON_CLEAN: &[&str] = &[
    "{\n    \"Reservations\": [\n        {\n            \"Groups\": [],\n            \"Instances\": [\n",
    "                {\n                    \"AmiLaunchIndex\": 0,\n                    \"InstanceType\": \"t3.micro\",\n",
    "                    \"LaunchTime\": \"2024-08-14T01:13:23+00:00\",\n                    \"Monitoring\": {\n                        \"State\": \"disabled\"\n                    },\n",
    "                    \"Placement\": {\n                        \"AvailabilityZone\": \"us-east-1a\",\n                        \"Tenancy\": \"default\"\n                    },\n",
    "                    \"State\": {\n                        \"Code\": 16,\n                        \"Name\": \"running\"\n                    },\n",
    "                    \"Architecture\": \"x86_64\",\n                    \"RootDeviceType\": \"ebs\",\n                    \"EbsOptimized\": false,\n",
    "                    \"Tags\": [\n                        {\n                            \"Key\": \"Name\",\n                            \"Value\": \"web-server\"\n                        }\n                    ]\n",
    "    \"ResponseMetadata\": {\"HTTPStatusCode\": 200, \"RetryAttempts\": 0, \"Timestamp\": 1472499213109},\n",
];

const IDS: &[&str] = &[
    "i-0b263919b6498b123",
    "vpc-a01106c2",
    "subnet-04ccf456919e69055",
    "sg-03b388029b0a285ea",
    "arn:aws:iam::123456789012:role/Admin",
    "arn:aws:s3:::amzn-s3-demo-bucket/logs/2024/08/14",
    "10.0.1.17",
    "203.0.113.12",
    "ip-10-0-0-157.us-east-2.compute.internal",
    "mydb.cx1llnox7iyx.us-west-2.rds.amazonaws.com",
    "AKIAIOSFODNN7EXAMPLE",
    "s3://amzn-s3-demo-bucket/test.txt",
    "2001:db8:1234:1a00::",
    "eni-e5aa89a3",
    "ami-0528a5175983e7f28",
];

const JSON_DENSE: &[&str] = &[
    "                    \"OwnerId\": \"111122223333\",\n",
    "                    \"PrivateDnsName\": \"ip-10-0-1-17.ec2.internal\",\n",
    "                    \"VpcId\": \"vpc-05a1fa8e00c325226\",\n",
    "                    \"Bucket\": \"prod-us-west-2-uploads\",\n",
];

/// About `SIZE` bytes; with `dense`, one identifier every ~300 bytes.
fn body(dense: bool) -> String {
    let mut rng = Lcg(42);
    let mut s = String::with_capacity(SIZE + 1024);
    let mut next_id = 0;
    while s.len() < SIZE {
        if rng.pick(&["p", "p", "j"]) == "p" {
            s.push_str(rng.pick(PROSE));
        } else {
            s.push_str(rng.pick(JSON_CLEAN));
        }
        if dense && s.len() >= next_id {
            if rng.pick(&["t", "j"]) == "t" {
                s.push_str("Check ");
                s.push_str(rng.pick(IDS));
                s.push_str(" next. ");
            } else {
                s.push_str(rng.pick(JSON_DENSE));
            }
            next_id = s.len() + 300;
        }
    }
    s
}

fn mbps(bytes: usize, secs: f64) -> f64 {
    bytes as f64 / secs / 1e6
}

/// Seconds per call, over at least two seconds.
fn time<F: FnMut()>(mut f: F) -> f64 {
    f();
    let start = Instant::now();
    let mut n = 0u32;
    while n < 10 || start.elapsed().as_secs_f64() < 2.0 {
        f();
        n += 1;
    }
    start.elapsed().as_secs_f64() / f64::from(n)
}

fn report(detector: &Detector) {
    for (name, text) in [("clean", body(false)), ("dense", body(true))] {
        let mut out = Vec::new();
        detector.scan(&text, None, &mut out);
        let found = out.len();
        let scan = time(|| {
            out.clear();
            detector.scan(black_box(&text), None, &mut out);
        });
        let floor = time(|| {
            black_box(memchr::memchr(0xff, black_box(text.as_bytes())));
        });
        eprintln!(
            "detect {name}: {} bytes, {found} findings; scan {:.0} MB/s, memchr floor {:.0} MB/s, scan/floor {:.4}",
            text.len(),
            mbps(text.len(), scan),
            mbps(text.len(), floor),
            floor / scan
        );
    }
}

fn bench(c: &mut Criterion) {
    let detector = Detector::new(&DetectorConfig::default()).expect("default config compiles");
    report(&detector);
    let mut group = c.benchmark_group("detect");
    for (name, text) in [("clean", body(false)), ("dense", body(true))] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        let mut out = Vec::new();
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                detector.scan(black_box(&text), None, &mut out);
            })
        });
        group.bench_function(format!("{name}_memchr_floor"), |b| {
            b.iter(|| memchr::memchr(0xff, black_box(text.as_bytes())))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
