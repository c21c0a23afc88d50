//! The values an exchange is made of: the client request, what goes upstream, how the request steps ended,
//! dispatch records, the response head, and the caller-owned [`Exchange`].

use std::collections::VecDeque;

use crate::codec::Pair;
use crate::dispatch::{DispatchRequest, DispatchResult};
use crate::headers;
use crate::state::{HttpState, LocalReply, LogLine, PendingCall};

/// A client request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: String,
    /// Path with query.
    pub path: String,
    /// `Host` / `:authority`.
    pub authority: String,
    /// `http` or `https`.
    pub scheme: String,
    /// Regular headers, in order.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Request {
    /// A `POST` with a body and `content-type: application/json`.
    pub fn post(path: &str, body: &[u8]) -> Self {
        Self {
            method: "POST".to_string(),
            path: path.to_string(),
            authority: "localhost".to_string(),
            scheme: "http".to_string(),
            headers: vec![("content-type".to_string(), "application/json".to_string())],
            body: body.to_vec(),
        }
    }

    /// A `GET` without a body.
    pub fn get(path: &str) -> Self {
        Self {
            method: "GET".to_string(),
            headers: Vec::new(),
            ..Self::post(path, b"")
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// What the upstream receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedRequest {
    /// Method (`:method` as the filter left it).
    pub method: String,
    /// Path (`:path` as the filter left it).
    pub path: String,
    /// Headers as the filter left them; `content-length` matches the body.
    pub headers: Vec<(String, String)>,
    /// Body as the filter left it.
    pub body: Vec<u8>,
}

impl ForwardedRequest {
    /// First value of a header, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How the request steps ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestOutcome {
    /// Proxy this request upstream.
    Forward(ForwardedRequest),
    /// Answer without the upstream: a local response, or 500 after a trap or when the filter is not loaded.
    Respond,
    /// The filter returned `Pause` with no dispatch pending: in WasmX the request hangs until the client
    /// times out.
    Hung,
}

/// One dispatch the filter made and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchRecord {
    /// Token returned to the filter.
    pub token: u32,
    /// What was sent.
    pub request: DispatchRequest,
    /// What came back.
    pub result: DispatchResult,
}

/// The response head the client gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// Status.
    pub status: u16,
    /// Headers as the filter left them (a `content-length` is never adjusted).
    pub headers: Vec<(String, String)>,
    /// `content-length` when present; `None` means the body goes chunked to HTTP/1.1 clients.
    pub content_length: Option<u64>,
}

/// One request in flight on a worker. Owned by the caller; pass it back to the worker's methods.
#[derive(Debug)]
pub struct Exchange {
    pub(crate) context_id: u32,
    pub(crate) generation: u64,
    pub(crate) http: HttpState,
    pub(crate) alive: bool,
    pub(crate) created: bool,
    pub(crate) outcome: RequestOutcome,
    pub(crate) late: VecDeque<PendingCall>,
    pub(crate) original_cl: Option<u64>,
    pub(crate) local_body: Option<Vec<u8>>,
    pub(crate) buffering: Option<Vec<u8>>,
    pub(crate) buffering_used: bool,
    pub(crate) finished: bool,
    /// Log lines written while this exchange ran (including root start when it happened for this request).
    pub logs: Vec<LogLine>,
    /// Dispatches made by this exchange, in order.
    pub dispatches: Vec<DispatchRecord>,
    /// Trap messages of this exchange's callbacks.
    pub traps: Vec<String>,
    /// Wall time spent inside this exchange's callbacks (host calls included, dispatch I/O excluded).
    pub filter_time: std::time::Duration,
    /// CPU time of the thread inside this exchange's callbacks (see [`crate::cpu`]).
    pub filter_cpu: std::time::Duration,
    /// The part of `filter_time` spent in body callbacks (`on_http_request_body`,
    /// `on_http_response_body`), where the filter masks and restores.
    pub body_time: std::time::Duration,
}

impl Exchange {
    /// How the request steps ended.
    pub fn outcome(&self) -> &RequestOutcome {
        &self.outcome
    }

    /// The local response the filter stashed, if any.
    pub fn local_reply(&self) -> Option<&LocalReply> {
        self.http.local.as_ref()
    }

    /// The context id WasmX gave this request.
    pub fn context_id(&self) -> u32 {
        self.context_id
    }
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(crate) fn to_pairs(headers: &[(String, String)]) -> Vec<Pair> {
    headers
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

pub(crate) fn to_strings(headers: &[Pair]) -> Vec<(String, String)> {
    headers.iter().map(|(k, v)| (text(k), text(v))).collect()
}

pub(crate) fn content_length(headers: &[Pair]) -> Option<u64> {
    headers::find(headers, b"content-length")
        .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse().ok())
}
