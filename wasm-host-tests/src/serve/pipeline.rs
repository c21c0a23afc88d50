//! One request through the filter (or straight through when the filter is off): the request steps, then the
//! response head and body pieces as the upstream delivers them. The worker is locked for each step only, so
//! requests on the same worker interleave while they wait on sockets, as request contexts share an instance
//! in nginx.

use std::collections::BTreeMap;

use crate::host::Host;
use crate::metrics::MetricValue;
use crate::request::{Exchange, ForwardedRequest, Request, RequestOutcome, ResponseHead};
use crate::state::{Level, LogLine};

use super::wire;

/// What the request steps decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send this upstream.
    Forward(ForwardedRequest),
    /// Answer from the gateway (a local reply, or an error page); the body comes from [`Pipeline::finish`].
    Respond,
    /// The filter paused with nothing pending: WasmX would hang until the client gives up.
    Hung,
}

/// One request's way through the gateway.
pub enum Pipeline<'h> {
    /// Through the filter on worker `worker`.
    Filter {
        /// The host.
        host: &'h Host,
        /// The worker running this request.
        worker: usize,
        /// The exchange.
        ex: Box<Exchange>,
        /// Counter increments this request caused, by metric name.
        deltas: BTreeMap<String, u64>,
    },
    /// Filter switched off: headers and bodies pass unchanged (hop-by-hop headers aside).
    Off {
        /// An error page to send, if any.
        page: Option<Vec<u8>>,
    },
}

const ERROR_502: &[u8] = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n";

impl<'h> Pipeline<'h> {
    /// Runs the request steps (the filter's, when there is one).
    pub fn begin(host: Option<&'h Host>, request: Request) -> (Self, Decision) {
        let Some(host) = host else {
            let forwarded = ForwardedRequest {
                method: request.method,
                path: request.path,
                headers: passthrough_headers(&request.headers, request.body.len()),
                body: request.body,
            };
            return (Self::Off { page: None }, Decision::Forward(forwarded));
        };
        let worker = host.next_worker();
        let mut deltas = BTreeMap::new();
        let ex = {
            let mut w = host.worker(worker);
            let before = w.metrics.snapshot();
            let ex = w.begin(request);
            add_deltas(&mut deltas, &before, &w.metrics.snapshot());
            ex
        };
        let decision = match ex.outcome() {
            RequestOutcome::Forward(f) => Decision::Forward(f.clone()),
            RequestOutcome::Respond => Decision::Respond,
            RequestOutcome::Hung => Decision::Hung,
        };
        let pipeline = Self::Filter {
            host,
            worker,
            ex: Box::new(ex),
            deltas,
        };
        (pipeline, decision)
    }

    /// Runs the response-headers step on the upstream head (`None`: no upstream response, so a local reply or
    /// an error page) and returns the head for the client.
    pub fn response_headers(
        &mut self,
        upstream: Option<(u16, Vec<(String, String)>)>,
    ) -> ResponseHead {
        match self {
            Self::Filter {
                host, worker, ex, ..
            } => host.worker(*worker).response_headers(ex, upstream),
            Self::Off { page } => match upstream {
                Some((status, headers)) => {
                    let headers: Vec<(String, String)> = headers
                        .iter()
                        .filter(|(k, _)| !wire::is_hop_by_hop(k, &headers))
                        .cloned()
                        .collect();
                    let content_length = wire::header(&headers, "content-length")
                        .and_then(|v| v.trim().parse().ok());
                    ResponseHead {
                        status,
                        headers,
                        content_length,
                    }
                }
                None => {
                    *page = Some(ERROR_502.to_vec());
                    ResponseHead {
                        status: 502,
                        headers: vec![
                            ("content-type".to_string(), "text/html".to_string()),
                            ("content-length".to_string(), ERROR_502.len().to_string()),
                        ],
                        content_length: Some(ERROR_502.len() as u64),
                    }
                }
            },
        }
    }

    /// Runs the response-body step on one upstream piece; returns what the client gets now.
    pub fn response_body(&mut self, piece: &[u8]) -> Vec<u8> {
        match self {
            Self::Filter {
                host, worker, ex, ..
            } => host.worker(*worker).response_body(ex, piece),
            Self::Off { .. } => piece.to_vec(),
        }
    }

    /// Ends the response (final body call, log phase); returns the last bytes for the client.
    pub fn finish(&mut self) -> Vec<u8> {
        match self {
            Self::Filter {
                host,
                worker,
                ex,
                deltas,
            } => {
                let mut w = host.worker(*worker);
                let before = w.metrics.snapshot();
                let out = w.finish(ex);
                add_deltas(deltas, &before, &w.metrics.snapshot());
                out
            }
            Self::Off { page } => page.take().unwrap_or_default(),
        }
    }

    /// The filter's time so far, in microseconds.
    pub fn filter_micros(&self) -> u128 {
        match self {
            Self::Filter { ex, .. } => ex.filter_time.as_micros(),
            Self::Off { .. } => 0,
        }
    }

    /// Counter increments this request caused (the request steps and the log phase, where the filter
    /// counts), by metric name; `None` with the filter off. Exact because each worker keeps its own
    /// registry in the gateway and is locked while a step runs.
    pub fn metric_deltas(&self) -> Option<&BTreeMap<String, u64>> {
        match self {
            Self::Filter { deltas, .. } => Some(deltas),
            Self::Off { .. } => None,
        }
    }

    /// Takes the log lines the filter wrote so far, and the number of traps.
    pub fn take_logs(&mut self) -> (Vec<LogLine>, usize) {
        match self {
            Self::Filter { ex, .. } => (std::mem::take(&mut ex.logs), ex.traps.len()),
            Self::Off { .. } => (Vec::new(), 0),
        }
    }
}

/// Headers forwarded unchanged when the filter is off: hop-by-hop removed, `content-length` set.
fn passthrough_headers(headers: &[(String, String)], body_len: usize) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| {
            !wire::is_hop_by_hop(k, headers) && !k.eq_ignore_ascii_case("content-length")
        })
        .cloned()
        .collect();
    if body_len > 0 || wire::header(headers, "content-length").is_some() {
        out.push(("content-length".to_string(), body_len.to_string()));
    }
    out
}

fn add_deltas(
    into: &mut BTreeMap<String, u64>,
    before: &BTreeMap<String, MetricValue>,
    after: &BTreeMap<String, MetricValue>,
) {
    for (name, value) in after {
        let MetricValue::Counter(now) = value else {
            continue;
        };
        let was = match before.get(name) {
            Some(MetricValue::Counter(v)) => *v,
            _ => 0,
        };
        *into.entry(name.clone()).or_default() += now.saturating_sub(was);
    }
}

/// True for log lines worth showing on the gateway's stderr.
pub fn shown(line: &LogLine, min: Level) -> bool {
    line.level >= min
}
