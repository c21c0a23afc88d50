//! Prometheus counters and one latency histogram, rendered as text for `GET /metrics`.
//!
//! ```text
//! aws_masker_bridge_requests_total{route="mappings",status="200"} 42
//! aws_masker_bridge_mappings_duration_seconds_bucket{le="0.001"} 40
//! ```

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    errors: Mutex<BTreeMap<&'static str, u64>>,
    pub connections: AtomicU64,
    /// Connections being served now.
    pub open_connections: AtomicU64,
    pub stored: AtomicU64,
    pub refreshed: AtomicU64,
    pub conflicts: AtomicU64,
    pub lookups: AtomicU64,
    pub found: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    *map.entry(key).or_insert(0) += 1;
}

impl Metrics {
    pub fn request(&self, route: &'static str, status: u16) {
        bump(&self.requests, (route, status));
    }

    pub fn error(&self, code: &'static str) {
        bump(&self.errors, code);
    }

    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Records the duration of one `POST /v1/mappings`.
    pub fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        for (bucket, le) in self.buckets.iter().zip(BUCKETS) {
            if secs <= le {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn render(&self, profiles: usize) -> String {
        let mut out = String::with_capacity(2048);
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let _ = writeln!(out, "# TYPE aws_masker_bridge_requests_total counter");
        for ((route, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "aws_masker_bridge_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(out, "# TYPE aws_masker_bridge_errors_total counter");
        for (code, n) in self.errors.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(out, "aws_masker_bridge_errors_total{{code=\"{code}\"}} {n}");
        }
        for (name, counter) in [
            ("connections_total", &self.connections),
            ("stored_total", &self.stored),
            ("refreshed_total", &self.refreshed),
            ("conflicts_total", &self.conflicts),
            ("lookups_total", &self.lookups),
            ("found_total", &self.found),
        ] {
            let _ = writeln!(out, "# TYPE aws_masker_bridge_{name} counter");
            let _ = writeln!(out, "aws_masker_bridge_{name} {}", load(counter));
        }
        let _ = writeln!(out, "# TYPE aws_masker_bridge_open_connections gauge");
        let _ = writeln!(
            out,
            "aws_masker_bridge_open_connections {}",
            load(&self.open_connections)
        );
        let _ = writeln!(out, "# TYPE aws_masker_bridge_redis_profiles gauge");
        let _ = writeln!(out, "aws_masker_bridge_redis_profiles {profiles}");
        let name = "aws_masker_bridge_mappings_duration_seconds";
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (bucket, le) in self.buckets.iter().zip(BUCKETS) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {}", load(bucket));
        }
        let count = load(&self.count);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = load(&self.sum_micros) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {count}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_counters_render() {
        let m = Metrics::default();
        m.observe(Duration::from_micros(300));
        m.observe(Duration::from_millis(30));
        m.request("mappings", 200);
        m.request("mappings", 200);
        m.error("redis_auth");
        Metrics::add(&m.stored, 5);
        let text = m.render(2);
        assert!(
            text.contains("aws_masker_bridge_mappings_duration_seconds_bucket{le=\"0.0005\"} 1")
        );
        assert!(text.contains("aws_masker_bridge_mappings_duration_seconds_bucket{le=\"0.05\"} 2"));
        assert!(text.contains("aws_masker_bridge_mappings_duration_seconds_bucket{le=\"+Inf\"} 2"));
        assert!(
            text.contains("aws_masker_bridge_requests_total{route=\"mappings\",status=\"200\"} 2")
        );
        assert!(text.contains("aws_masker_bridge_errors_total{code=\"redis_auth\"} 1"));
        assert!(text.contains("aws_masker_bridge_stored_total 5"));
        assert!(text.contains("aws_masker_bridge_redis_profiles 2"));
    }
}
