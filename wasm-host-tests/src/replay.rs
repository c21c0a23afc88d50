//! `wasm-host replay`: one exchange through the filter without a network. The upstream either echoes the
//! masked body back or answers with a given JSON or SSE body; the result says what the upstream would
//! receive, what the client would get, the local reply if any, and counts per kind.
//!
//! ```no_run
//! use wasm_host_tests::replay::{replay, Canned};
//! use wasm_host_tests::{Filter, HostConfig};
//!
//! let filter = Filter::from_file(&wasm_host_tests::filter_wasm_path()?)?;
//! let config = HostConfig::with_config(&br#"{"token_secret":"0123456789abcdef0123456789abcdef"}"#[..]);
//! let body = br#"{"messages":[{"role":"user","content":"i-0123456789abcdef0"}]}"#;
//! let out = replay(filter, config, "/v1/messages", &[], body, None)?;
//! println!("{}", serde_json::to_string_pretty(&out)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde_json::{json, Map, Value};

use crate::error::HostError;
use crate::filter::Filter;
use crate::host::{echo, Framing, Host, HostConfig, UpstreamResponse};
use crate::metrics::MetricValue;
use crate::request::{ForwardedRequest, Request};
use crate::serve::count::Counter;

/// A canned upstream response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Canned {
    /// `application/json` with Content-Length.
    Json(Vec<u8>),
    /// `text/event-stream`, chunked.
    Sse(Vec<u8>),
}

/// How the canned response is cut into upstream reads (`None`: one piece).
pub type Chunking = Option<usize>;

fn text(bytes: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(bytes).into_owned())
}

fn pairs(headers: &[(String, String)]) -> Value {
    Value::Array(headers.iter().map(|(k, v)| json!([k, v])).collect())
}

fn metric(value: &MetricValue) -> Value {
    match value {
        MetricValue::Counter(n) | MetricValue::Gauge(n) => json!(n),
        MetricValue::Histogram(values) => json!(values),
    }
}

/// Runs one exchange: `body` POSTed to `path` with `headers` (plus `content-type: application/json` unless
/// given); `canned` is the upstream's answer, `None` to echo the masked body back.
pub fn replay(
    filter: Filter,
    config: HostConfig,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
    canned: Option<(Canned, Chunking)>,
) -> Result<Value, HostError> {
    let echoed = canned.is_none();
    let host = Host::new(filter, config)?;
    let mut request = Request::post(path, body);
    if !headers.is_empty() {
        if headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            request.headers.clear();
        }
        request.headers.extend(headers.iter().cloned());
    }
    let upstream = |forwarded: &ForwardedRequest| {
        let response = match &canned {
            None => return echo(forwarded),
            Some((Canned::Json(b), _)) => UpstreamResponse::json(b),
            Some((Canned::Sse(b), _)) => {
                UpstreamResponse::sse(vec![b.clone()]).framing(Framing::Chunked)
            }
        };
        match canned.as_ref().and_then(|(_, c)| *c) {
            Some(step) if step > 0 => {
                let len = response.chunks.iter().map(Vec::len).sum::<usize>();
                let cuts: Vec<usize> = (step..len).step_by(step).collect();
                response.split_at(&cuts)
            }
            _ => response,
        }
    };
    let upstream_body: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::new());
    let report = host.exchange(request, |f: &ForwardedRequest| {
        let r = upstream(f);
        *upstream_body.borrow_mut() = r.chunks.concat();
        r
    });
    let counter = |name: &str| match report.metrics.get(name) {
        Some(MetricValue::Counter(n)) => Some(*n),
        _ => None,
    };
    // The filter's own counters (a fresh host ran this one exchange) when it keeps them; otherwise
    // placeholders counted in the bodies, which misses placeholders split across SSE events.
    let by_metrics: std::collections::BTreeMap<String, u64> = report
        .metrics
        .iter()
        .filter_map(
            |(name, v)| match (name.strip_prefix("identifiers_masked_"), v) {
                (Some(kind), MetricValue::Counter(n)) if *n > 0 => Some((kind.to_string(), *n)),
                _ => None,
            },
        )
        .collect();
    let (masked, source) = if counter("identifiers_masked").is_some() {
        (by_metrics, "metrics")
    } else {
        let original = Counter::of(body);
        let diffed = report
            .upstream_request
            .as_ref()
            .map(|f| Counter::of(&f.body).surplus_over(&original))
            .unwrap_or_default();
        (diffed, "bodies")
    };
    let restored = counter("placeholders_restored").unwrap_or_else(|| {
        report.response.as_ref().map_or(0, |client| {
            Counter::of(&upstream_body.borrow())
                .total()
                .saturating_sub(Counter::of(&client.body).total())
        })
    });
    let metrics: Map<String, Value> = report
        .metrics
        .iter()
        .map(|(name, value)| (name.clone(), metric(value)))
        .collect();
    Ok(json!({
        "upstream_request": report.upstream_request.as_ref().map(|f| json!({
            "method": f.method,
            "path": f.path,
            "headers": pairs(&f.headers),
            "body": text(&f.body),
        })),
        "upstream_response_body": report.upstream_request.as_ref().map(|_| text(&upstream_body.borrow())),
        "client_response": report.response.as_ref().map(|c| json!({
            "status": c.status,
            "headers": pairs(&c.headers),
            "body": text(&c.body),
            "echo_round_trip": echoed.then(|| c.body == body),
        })),
        "local_reply": report.local_reply.as_ref().map(|l| json!({
            "status": l.status,
            "body": text(&l.body),
        })),
        "counts": {
            "masked": masked,
            "masked_total": masked.values().sum::<u64>(),
            "restored": restored,
            "source": source,
        },
        "metrics": metrics,
        "logs": report.logs.iter().map(|l| format!("[{:?}] {}", l.level, l.message)).collect::<Vec<_>>(),
        "traps": report.traps,
        "filter_time_us": report.filter_time.as_micros() as u64,
    }))
}
