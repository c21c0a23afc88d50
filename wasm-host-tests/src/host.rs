//! The host: configuration, workers, and whole exchanges against a scripted or programmable upstream.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::dispatch::{ScriptedTransport, Transport};
use crate::error::HostError;
use crate::filter::Filter;
use crate::metrics::{MetricValue, Metrics};
use crate::request::{DispatchRecord, ForwardedRequest, Request, RequestOutcome, ResponseHead};
use crate::shm::SharedKv;
use crate::state::{LocalReply, LogLine, Settings};
use crate::worker::{Limits, Worker};

/// How the host runs a filter: the WasmX knobs that matter.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Bytes given to `on_configure` (Kong's `config`; empty = no config).
    pub config: Vec<u8>,
    /// Bytes given to `on_vm_start`.
    pub vm_config: Vec<u8>,
    /// Simulated nginx workers, each with its own instance.
    pub workers: usize,
    /// Size of the `shm_kv *` zone; `None` = no zone (shared data traps).
    pub shm_kv: Option<usize>,
    /// `client_body_buffer_size`: larger request bodies are spooled and unreadable (Kong default 8k).
    pub client_body_buffer_size: usize,
    /// Total size of `wasm_response_body_buffers` (default `4 4096` = 16 KiB).
    pub response_body_buffers: usize,
    /// Fuel per callback when the filter was compiled with fuel; exhausting it traps.
    pub fuel_per_callback: Option<u64>,
    /// Linear memory cap per instance.
    pub max_memory: usize,
    /// The environment WASI `environ_get` shows (WasmX shows the nginx worker's).
    pub environment: Vec<(String, String)>,
    /// Dispatch timeout when the filter passes 0 (WasmX's socket timeouts, 60s).
    pub default_dispatch_timeout: Duration,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            config: Vec::new(),
            vm_config: Vec::new(),
            workers: 1,
            shm_kv: None,
            client_body_buffer_size: 8 * 1024,
            response_body_buffers: 4 * 4096,
            fuel_per_callback: Some(2_000_000_000),
            max_memory: 256 * 1024 * 1024,
            environment: Vec::new(),
            default_dispatch_timeout: Duration::from_secs(60),
        }
    }
}

impl HostConfig {
    /// Default WasmX settings with this filter configuration.
    pub fn with_config(config: impl Into<Vec<u8>>) -> Self {
        Self {
            config: config.into(),
            ..Self::default()
        }
    }
}

/// How an upstream delimits its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length` set to the total (added unless the headers already carry one).
    ContentLength,
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Close-delimited.
    Close,
}

/// A scripted upstream response, delivered in the given chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamResponse {
    /// Status.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body chunks, each one nginx body-filter call.
    pub chunks: Vec<Vec<u8>>,
    /// Framing.
    pub framing: Framing,
}

impl UpstreamResponse {
    /// A 200 JSON response in one chunk with `Content-Length`.
    pub fn json(body: &[u8]) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".to_string(), "application/json".to_string())],
            chunks: vec![body.to_vec()],
            framing: Framing::ContentLength,
        }
    }

    /// A 200 `text/event-stream` response, chunked, in the given chunks.
    pub fn sse(chunks: Vec<Vec<u8>>) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".to_string(), "text/event-stream".to_string())],
            chunks,
            framing: Framing::Chunked,
        }
    }

    /// The same body split after each of `cuts` (byte offsets).
    pub fn split_at(mut self, cuts: &[usize]) -> Self {
        let body: Vec<u8> = self.chunks.concat();
        let mut chunks = Vec::new();
        let mut from = 0;
        for &cut in cuts {
            let cut = cut.clamp(from, body.len());
            chunks.push(body.get(from..cut).unwrap_or_default().to_vec());
            from = cut;
        }
        chunks.push(body.get(from..).unwrap_or_default().to_vec());
        self.chunks = chunks.into_iter().filter(|c| !c.is_empty()).collect();
        self
    }

    /// Sets the framing.
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    fn head(&self) -> (u16, Vec<(String, String)>) {
        let mut headers = self.headers.clone();
        let has_length = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
        match self.framing {
            Framing::ContentLength if !has_length => {
                headers.push((
                    "content-length".to_string(),
                    self.chunks.iter().map(Vec::len).sum::<usize>().to_string(),
                ));
            }
            Framing::Chunked => {
                headers.push(("transfer-encoding".to_string(), "chunked".to_string()))
            }
            _ => {}
        }
        (self.status, headers)
    }
}

/// An upstream for [`Host::exchange`]: given what the filter forwards, produce the response.
pub trait Upstream {
    /// The response to `request`.
    fn respond(&mut self, request: &ForwardedRequest) -> UpstreamResponse;
}

impl Upstream for UpstreamResponse {
    fn respond(&mut self, _request: &ForwardedRequest) -> UpstreamResponse {
        self.clone()
    }
}

impl<F: FnMut(&ForwardedRequest) -> UpstreamResponse> Upstream for F {
    fn respond(&mut self, request: &ForwardedRequest) -> UpstreamResponse {
        self(request)
    }
}

/// An upstream that echoes the (masked) request body back as a JSON response.
pub fn echo(request: &ForwardedRequest) -> UpstreamResponse {
    UpstreamResponse::json(&request.body)
}

/// What the client received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientResponse {
    /// Status.
    pub status: u16,
    /// Headers (never adjusted by the host: a stale `content-length` stays).
    pub headers: Vec<(String, String)>,
    /// Every byte the proxy emitted, in order.
    pub body: Vec<u8>,
    /// The non-empty pieces the proxy emitted, one per body-filter call that produced output.
    pub chunks: Vec<Vec<u8>>,
    /// `content-length` when the response kept one (`None`: chunked).
    pub content_length: Option<u64>,
}

impl ClientResponse {
    /// First value of a header, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// What an HTTP/1.1 client reads: with a `content-length`, exactly that many bytes (`None` when the proxy
    /// sent fewer: the client would wait and fail); otherwise the whole body.
    pub fn as_read_by_client(&self) -> Option<&[u8]> {
        match self.content_length {
            Some(n) => self.body.get(..usize::try_from(n).ok()?),
            None => Some(&self.body),
        }
    }
}

/// Everything one exchange produced.
#[derive(Debug, Clone)]
pub struct Report {
    /// The worker that ran it.
    pub worker: usize,
    /// What the upstream received; `None` when the request never went upstream.
    pub upstream_request: Option<ForwardedRequest>,
    /// What the client received; `None` when the request hung (Pause with nothing pending).
    pub response: Option<ClientResponse>,
    /// The local response the filter stashed in a request step, if any.
    pub local_reply: Option<LocalReply>,
    /// Captured log lines.
    pub logs: Vec<LogLine>,
    /// Trap messages of this exchange's callbacks.
    pub traps: Vec<String>,
    /// Dispatches made.
    pub dispatches: Vec<DispatchRecord>,
    /// Wall time spent inside the filter's callbacks for this exchange (root start excluded).
    pub filter_time: std::time::Duration,
    /// CPU time of the thread inside the callbacks (see [`crate::cpu`]).
    pub filter_cpu: std::time::Duration,
    /// The filter's metrics after the exchange (shared by all workers).
    pub metrics: BTreeMap<String, MetricValue>,
    /// True when the filter returned Pause with nothing pending (WasmX hangs; the client times out).
    pub hung: bool,
}

impl Report {
    /// The response, or `Err(Hung)` when the request hung.
    pub fn client(&self) -> Result<&ClientResponse, Hung> {
        self.response.as_ref().ok_or(Hung)
    }

    /// All log messages joined with newlines, for "never logs X" assertions.
    pub fn log_text(&self) -> String {
        self.logs
            .iter()
            .map(|l| l.message.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// True when some log line contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.logs.iter().any(|l| l.message.contains(needle))
    }

    /// The first counter whose name ends with `suffix` (names carry WasmX's filter prefix); 0 when there is
    /// none, as for a counter the filter never defined or never incremented.
    pub fn counter(&self, suffix: &str) -> u64 {
        self.metrics
            .iter()
            .find(|(name, _)| name.ends_with(suffix))
            .map_or(0, |(_, value)| match value {
                MetricValue::Counter(n) => *n,
                _ => 0,
            })
    }
}

/// The request hung: the filter paused with nothing pending, so WasmX never answers (the client times out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hung;

impl std::fmt::Display for Hung {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request hung: the filter paused with no dispatch pending")
    }
}

impl std::error::Error for Hung {}

/// A filter running in simulated WasmX workers.
pub struct Host {
    first: Mutex<Worker>,
    others: Vec<Mutex<Worker>>,
    next: AtomicUsize,
    shm: SharedKv,
    metrics: Metrics,
}

impl Host {
    /// Loads `path` and starts `config.workers` workers (instances start lazily, on first use).
    pub fn from_file(path: &Path, config: HostConfig) -> Result<Self, HostError> {
        Self::new(Filter::from_file(path)?, config)
    }

    /// Starts workers for an already compiled filter, with a transport that fails every dispatch.
    pub fn new(filter: Filter, config: HostConfig) -> Result<Self, HostError> {
        Self::with_transport(filter, config, Arc::new(ScriptedTransport::default()))
    }

    /// Starts workers whose dispatches go through `transport`.
    pub fn with_transport(
        filter: Filter,
        config: HostConfig,
        transport: Arc<dyn Transport>,
    ) -> Result<Self, HostError> {
        if config.workers == 0 {
            return Err(HostError::Config("workers must be at least 1"));
        }
        let settings = Arc::new(Settings {
            filter_name: filter.name().to_string(),
            plugin_config: config.config.clone(),
            vm_config: config.vm_config.clone(),
            environment: config.environment.clone(),
            client_body_buffer_size: config.client_body_buffer_size,
            response_body_buffers: config.response_body_buffers,
            default_dispatch_timeout: config.default_dispatch_timeout,
        });
        let shm = SharedKv::new(config.shm_kv);
        let metrics = Metrics::new(filter.name());
        let limits = Limits {
            fuel_per_callback: config.fuel_per_callback,
            max_memory: config.max_memory,
        };
        let mut workers = (0..config.workers).map(|index| {
            Mutex::new(Worker {
                index,
                filter: filter.clone(),
                settings: Arc::clone(&settings),
                shm: shm.clone(),
                metrics: metrics.clone(),
                transport: Arc::clone(&transport),
                limits,
                live: None,
                generation: 0,
                next_context_id: 0,
                next_token: 0,
                root_id: 0,
                starts: 0,
                orphan_logs: Vec::new(),
            })
        });
        let first = workers
            .next()
            .ok_or(HostError::Config("workers must be at least 1"))?;
        let others = workers.collect();
        Ok(Self {
            first,
            others,
            next: AtomicUsize::new(0),
            shm,
            metrics,
        })
    }

    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.others.len() + 1
    }

    /// Locks worker `index` (modulo the worker count) for step-by-step driving.
    pub fn worker(&self, index: usize) -> MutexGuard<'_, Worker> {
        let slot = match index % self.workers() {
            0 => &self.first,
            i => self.others.get(i - 1).unwrap_or(&self.first),
        };
        slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next worker in round-robin order.
    pub fn next_worker(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % self.workers()
    }

    /// The shared data store (shared by all workers).
    pub fn shared_data(&self) -> &SharedKv {
        &self.shm
    }

    /// The metrics (shared by all workers).
    pub fn metrics(&self) -> BTreeMap<String, MetricValue> {
        self.metrics.snapshot()
    }

    /// Runs one whole exchange on the next worker (round robin).
    pub fn exchange(&self, request: Request, upstream: impl Upstream) -> Report {
        self.exchange_on(self.next_worker(), request, upstream)
    }

    /// Runs one whole exchange on worker `index`; the worker is locked for the whole exchange.
    pub fn exchange_on(
        &self,
        index: usize,
        request: Request,
        mut upstream: impl Upstream,
    ) -> Report {
        let mut worker = self.worker(index);
        let mut ex = worker.begin(request);
        let (upstream_request, scripted) = match ex.outcome() {
            RequestOutcome::Forward(forwarded) => {
                let response = upstream.respond(forwarded);
                (Some(forwarded.clone()), Some(response))
            }
            _ => (None, None),
        };
        let hung = *ex.outcome() == RequestOutcome::Hung;
        let response = if hung {
            worker.finish(&mut ex);
            None
        } else {
            let head =
                worker.response_headers(&mut ex, scripted.as_ref().map(UpstreamResponse::head));
            let mut collector = Collector::new(head);
            for chunk in scripted.iter().flat_map(|s| s.chunks.iter()) {
                collector.push(worker.response_body(&mut ex, chunk));
            }
            collector.push(worker.finish(&mut ex));
            Some(collector.done())
        };
        Report {
            worker: worker.index(),
            upstream_request,
            response,
            local_reply: ex.local_reply().cloned(),
            logs: std::mem::take(&mut ex.logs),
            traps: std::mem::take(&mut ex.traps),
            dispatches: std::mem::take(&mut ex.dispatches),
            metrics: self.metrics.snapshot(),
            hung,
            filter_time: ex.filter_time,
            filter_cpu: ex.filter_cpu,
        }
    }
}

struct Collector {
    head: ResponseHead,
    body: Vec<u8>,
    chunks: Vec<Vec<u8>>,
}

impl Collector {
    fn new(head: ResponseHead) -> Self {
        Self {
            head,
            body: Vec::new(),
            chunks: Vec::new(),
        }
    }

    fn push(&mut self, out: Vec<u8>) {
        if !out.is_empty() {
            self.body.extend_from_slice(&out);
            self.chunks.push(out);
        }
    }

    fn done(self) -> ClientResponse {
        ClientResponse {
            status: self.head.status,
            headers: self.head.headers,
            body: self.body,
            chunks: self.chunks,
            content_length: self.head.content_length,
        }
    }
}
