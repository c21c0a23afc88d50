//! What the host keeps in the wasmtime `Store`: the worker's view (phase, logs, pending dispatches) and, while
//! an HTTP callback runs, the exchange's state swapped in.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::StoreLimits;

use crate::codec::Pair;
use crate::dispatch::{DispatchRequest, DispatchResult};
use crate::matrix::Phase;
use crate::metrics::Metrics;
use crate::shm::SharedKv;

/// An nginx log level, as proxy-wasm levels map to it (WASMX.md §6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// proxy-wasm trace and debug.
    Debug,
    /// proxy-wasm info, and WASI stdout.
    Info,
    /// nginx notice (host messages only).
    Notice,
    /// proxy-wasm warn.
    Warn,
    /// proxy-wasm error, and WASI stderr.
    Err,
    /// proxy-wasm critical (the SDK's panic hook).
    Crit,
}

impl Level {
    /// Whether Kong shows it with its default `log_level = notice`.
    pub fn visible_in_kong(self) -> bool {
        self >= Level::Notice
    }
}

/// Where a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `proxy_log` from the filter.
    Filter,
    /// WASI `fd_write` to stdout or stderr.
    Stdio,
    /// The host itself (traps, dispatch failures, WasmX warnings).
    Host,
}

/// One captured log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Level.
    pub level: Level,
    /// Who wrote it.
    pub source: Source,
    /// Context id the line belongs to (0 for the host outside any callback).
    pub context_id: u32,
    /// The message (lossy UTF-8).
    pub message: String,
}

/// Settings every instance of a host shares.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub filter_name: String,
    pub plugin_config: Vec<u8>,
    pub vm_config: Vec<u8>,
    pub environment: Vec<(String, String)>,
    pub client_body_buffer_size: usize,
    pub response_body_buffers: usize,
    pub default_dispatch_timeout: Duration,
}

/// A dispatch accepted by `proxy_http_call`, waiting for the transport.
#[derive(Debug, Clone)]
pub(crate) struct PendingCall {
    pub token: u32,
    pub request: DispatchRequest,
}

/// The local response a filter produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalReply {
    /// Status code.
    pub status: u16,
    /// The `status_code_details` argument.
    pub details: String,
    /// Headers (not applied when the reply replaces a response in `on_http_response_headers`).
    pub headers: Vec<Pair>,
    /// Body as the filter gave it (the client gets it with `\n` appended when non-empty).
    pub body: Vec<u8>,
}

/// Per-exchange state the host calls read and write.
#[derive(Debug, Default)]
pub(crate) struct HttpState {
    pub method: Vec<u8>,
    pub path: Vec<u8>,
    pub scheme: Vec<u8>,
    pub authority: Vec<u8>,
    pub request_headers: Vec<Pair>,
    pub request_body: Vec<u8>,
    pub request_body_read: bool,
    pub request_body_spooled: bool,
    pub request_body_changed: bool,
    pub response_started: bool,
    pub headers_sent: bool,
    pub in_body_filter: bool,
    pub response_status: u16,
    pub response_headers: Vec<Pair>,
    pub content_length_sent: bool,
    pub chunk: Option<Vec<u8>>,
    pub local: Option<LocalReply>,
    pub local_replaced_body: Option<Vec<u8>>,
    pub pending: VecDeque<PendingCall>,
}

/// The dispatch whose response a CALL callback is handling.
#[derive(Debug, Clone)]
pub(crate) struct CurrentCall {
    pub result: DispatchResult,
}

/// Everything in the `Store`.
pub(crate) struct HostState {
    pub limits: StoreLimits,
    pub settings: Arc<Settings>,
    pub shm: SharedKv,
    pub metrics: Metrics,
    pub logs: Vec<LogLine>,
    pub phase: Phase,
    pub context_id: u32,
    pub root_id: u32,
    pub tick_period: u32,
    pub next_token: u32,
    pub http: Option<HttpState>,
    pub call: Option<CurrentCall>,
    pub tick_pending: VecDeque<PendingCall>,
    pub started: std::time::Instant,
    pub rng: u64,
}

impl HostState {
    pub fn log(&mut self, level: Level, source: Source, message: impl Into<String>) {
        let context_id = self.context_id;
        self.logs.push(LogLine {
            level,
            source,
            context_id,
            message: message.into(),
        });
    }
}
