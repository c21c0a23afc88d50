//! The HTTP lifecycle of one request through the filter, as WasmX runs it (WASMX.md §2, §4, §5), split in
//! steps so a real proxy can stream: [`Worker::begin`] runs the request steps and dispatches,
//! [`Worker::response_headers`], [`Worker::response_body`] per upstream chunk, then [`Worker::finish`].

use std::collections::VecDeque;

use crate::codec::Pair;
use crate::dispatch::{DispatchRequest, DispatchResult};
use crate::headers;
use crate::matrix::Phase;
use crate::state::{CurrentCall, HttpState, Level, LocalReply, LogLine, PendingCall};
use crate::worker::{call_counts, host_line, Trapped, Worker};

const CONTINUE: i32 = 0;
const PAUSE: i32 = 1;

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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn to_pairs(headers: &[(String, String)]) -> Vec<Pair> {
    headers
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

fn to_strings(headers: &[Pair]) -> Vec<(String, String)> {
    headers.iter().map(|(k, v)| (text(k), text(v))).collect()
}

fn content_length(headers: &[Pair]) -> Option<u64> {
    headers::find(headers, b"content-length")
        .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse().ok())
}

const HOP_BY_HOP: [&str; 4] = ["transfer-encoding", "connection", "keep-alive", "upgrade"];

const ERROR_500: &[u8] = b"<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n<center><h1>500 Internal Server Error</h1></center>\r\n</body>\r\n</html>\r\n";

impl Worker {
    /// Runs the request steps: context creation, request headers, the request body (once, whole, skipped when
    /// empty), and every dispatch with its callback, auto-resuming after the last one.
    pub fn begin(&mut self, request: Request) -> Exchange {
        let mut logs = std::mem::take(&mut self.orphan_logs);
        let loaded = self.ensure_started(&mut logs);
        let http = HttpState {
            method: request.method.into_bytes(),
            path: request.path.into_bytes(),
            scheme: request.scheme.into_bytes(),
            authority: request
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("host"))
                .map_or(request.authority, |(_, v)| v.clone())
                .into_bytes(),
            request_headers: to_pairs(&request.headers),
            request_body: request.body,
            ..HttpState::default()
        };
        let mut ex = Exchange {
            context_id: 0,
            generation: self.generation,
            http,
            alive: loaded,
            created: false,
            outcome: RequestOutcome::Respond,
            late: VecDeque::new(),
            original_cl: None,
            local_body: None,
            buffering: None,
            buffering_used: false,
            finished: false,
            logs,
            dispatches: Vec::new(),
            traps: Vec::new(),
        };
        if !loaded {
            return self.fail(ex);
        }
        ex.context_id = self.alloc_context_id();
        let args = [ex.context_id as i32, self.root_id as i32];
        if self
            .call(
                &mut ex,
                Phase::RequestHeaders,
                "proxy_on_context_create",
                &args,
            )
            .is_err()
        {
            return self.fail(ex);
        }
        ex.created = true;
        let steps = [
            (Phase::RequestHeaders, "proxy_on_request_headers"),
            (Phase::RequestBody, "proxy_on_request_body"),
        ];
        for (phase, export) in steps {
            let args = if phase == Phase::RequestHeaders {
                [
                    ex.context_id as i32,
                    ex.http.request_headers.len() as i32,
                    0,
                ]
            } else {
                if ex.http.request_body.is_empty() {
                    continue;
                }
                ex.http.request_body_read = true;
                ex.http.request_body_spooled =
                    ex.http.request_body.len() > self.settings.client_body_buffer_size;
                [ex.context_id as i32, ex.http.request_body.len() as i32, 1]
            };
            let action = match self.call(&mut ex, phase, export, &args) {
                Ok(action) => action.unwrap_or(CONTINUE),
                Err(_) => return self.fail(ex),
            };
            if ex.http.local.is_some() {
                return ex;
            }
            if action == PAUSE {
                if ex.http.pending.is_empty() {
                    ex.logs.push(host_line(
                        Level::Err,
                        ex.context_id,
                        "request hangs: filter returned Pause with no pending dispatch (the client would time out)"
                            .to_string(),
                    ));
                    ex.outcome = RequestOutcome::Hung;
                    return ex;
                }
                self.run_dispatches(&mut ex);
                if ex.http.local.is_some() {
                    return ex;
                }
                if !ex.alive {
                    break;
                }
            } else {
                let pending = std::mem::take(&mut ex.http.pending);
                ex.late.extend(pending);
            }
        }
        ex.outcome = RequestOutcome::Forward(self.forwarded(&ex));
        ex
    }

    fn forwarded(&self, ex: &Exchange) -> ForwardedRequest {
        let h = &ex.http;
        let mut headers: Vec<(String, String)> = to_strings(&h.request_headers)
            .into_iter()
            .filter(|(k, _)| {
                !k.eq_ignore_ascii_case("transfer-encoding")
                    && !k.eq_ignore_ascii_case("content-length")
            })
            .collect();
        if !h.request_body.is_empty()
            || headers::find(&h.request_headers, b"content-length").is_some()
        {
            headers.push((
                "content-length".to_string(),
                h.request_body.len().to_string(),
            ));
        }
        ForwardedRequest {
            method: text(&h.method),
            path: text(&h.path),
            headers,
            body: h.request_body.clone(),
        }
    }

    fn fail(&mut self, mut ex: Exchange) -> Exchange {
        ex.alive = false;
        ex.outcome = RequestOutcome::Respond;
        ex.http.local = None;
        ex
    }

    /// Runs a callback for this exchange, unless the filter already failed for it or the instance was
    /// recycled since it began.
    pub(crate) fn call(
        &mut self,
        ex: &mut Exchange,
        phase: Phase,
        export: &str,
        args: &[i32],
    ) -> Result<Option<i32>, Trapped> {
        self.call_with(ex, phase, export, args, None)
    }

    fn call_with(
        &mut self,
        ex: &mut Exchange,
        phase: Phase,
        export: &str,
        args: &[i32],
        current: Option<CurrentCall>,
    ) -> Result<Option<i32>, Trapped> {
        if ex.alive && (ex.generation != self.generation || self.live.is_none()) {
            ex.alive = false;
            ex.logs.push(host_line(
                Level::Err,
                ex.context_id,
                "filter chain failed resuming: previous error (instance trapped)".to_string(),
            ));
        }
        if !ex.alive {
            return Err(Trapped("instance trapped".to_string()));
        }
        let context = ex.context_id;
        let result = self.invoke(
            phase,
            context,
            export,
            args,
            Some(&mut ex.http),
            current,
            &mut ex.logs,
        );
        if let Err(Trapped(message)) = &result {
            ex.alive = false;
            ex.traps.push(message.clone());
        }
        result
    }

    fn run_dispatches(&mut self, ex: &mut Exchange) {
        while let Some(pending) = ex.http.pending.pop_front() {
            self.run_one(ex, pending);
            if ex.http.local.is_some() || !ex.alive {
                ex.http.pending.clear();
                break;
            }
        }
    }

    fn run_one(&mut self, ex: &mut Exchange, pending: PendingCall) {
        let result = self.transport.send(&pending.request);
        if let Err(failure) = &result {
            ex.logs.push(host_line(
                Level::Err,
                ex.context_id,
                format!("dispatch failed: {}", failure.status_text()),
            ));
        }
        ex.dispatches.push(DispatchRecord {
            token: pending.token,
            request: pending.request,
            result: result.clone(),
        });
        let (n, len) = call_counts(&result);
        let args = [self.root_id as i32, pending.token as i32, n, len, 0];
        let _ = self.call_with(
            ex,
            Phase::CallResponse,
            "proxy_on_http_call_response",
            &args,
            Some(CurrentCall { result }),
        );
    }

    /// Runs the response-headers step on the upstream response head (`None` when the request was answered
    /// locally, failed or hung) and returns the head the client gets.
    pub fn response_headers(
        &mut self,
        ex: &mut Exchange,
        upstream: Option<(u16, Vec<(String, String)>)>,
    ) -> ResponseHead {
        while let Some(pending) = ex.late.pop_front() {
            self.run_one(ex, pending);
        }
        let (status, headers) = if let Some(local) = &ex.http.local {
            let mut body = local.body.clone();
            if !body.is_empty() {
                body.push(b'\n');
            }
            let mut headers = local.headers.clone();
            headers.retain(|(k, _)| !headers::eq(k, b"content-length"));
            headers.push((
                b"content-length".to_vec(),
                body.len().to_string().into_bytes(),
            ));
            ex.local_body = Some(body);
            (local.status, headers)
        } else {
            match (upstream, &ex.outcome) {
                (Some((status, headers)), RequestOutcome::Forward(_)) => {
                    let headers: Vec<Pair> = to_pairs(&headers)
                        .into_iter()
                        .filter(|(k, _)| !HOP_BY_HOP.iter().any(|h| headers::eq(k, h.as_bytes())))
                        .collect();
                    (status, headers)
                }
                _ => {
                    ex.local_body = Some(ERROR_500.to_vec());
                    let headers = vec![
                        (b"content-type".to_vec(), b"text/html".to_vec()),
                        (
                            b"content-length".to_vec(),
                            ERROR_500.len().to_string().into_bytes(),
                        ),
                    ];
                    (500, headers)
                }
            }
        };
        ex.original_cl = content_length(&headers);
        ex.http.response_status = status;
        ex.http.response_headers = headers;
        ex.http.response_started = true;
        let args = [
            ex.context_id as i32,
            ex.http.response_headers.len() as i32,
            0,
        ];
        if let Ok(action) = self.call(
            ex,
            Phase::ResponseHeaders,
            "proxy_on_response_headers",
            &args,
        ) {
            if let Some(body) = ex.http.local_replaced_body.take() {
                ex.http
                    .response_headers
                    .retain(|(k, _)| !headers::eq(k, b"content-length"));
                ex.original_cl = None;
                ex.local_body = Some(body);
            } else if action == Some(PAUSE) {
                ex.logs.push(host_line(
                    Level::Warn,
                    ex.context_id,
                    "\"ResponseHeaders\" returned \"PAUSE\": local response expected but none produced".to_string(),
                ));
            }
        }
        ex.http.headers_sent = true;
        let content_length = content_length(&ex.http.response_headers);
        ex.http.content_length_sent = content_length.is_some();
        ResponseHead {
            status: ex.http.response_status,
            headers: to_strings(&ex.http.response_headers),
            content_length,
        }
    }

    /// Runs the response-body step on one upstream chunk and returns the bytes to send to the client now
    /// (possibly none while the filter buffers). Chunks of a local or error response are ignored: that body
    /// is produced by [`Worker::finish`].
    pub fn response_body(&mut self, ex: &mut Exchange, chunk: &[u8]) -> Vec<u8> {
        if ex.local_body.is_some() || ex.finished {
            return Vec::new();
        }
        self.body_step(ex, chunk.to_vec(), false)
    }

    fn eos(ex: &Exchange, len: usize, last: bool) -> bool {
        match ex.original_cl {
            Some(cl) if cl > 0 => len as u64 == cl,
            _ => last,
        }
    }

    fn body_step(&mut self, ex: &mut Exchange, data: Vec<u8>, last: bool) -> Vec<u8> {
        if !ex.alive {
            return data;
        }
        if let Some(held) = ex.buffering.as_mut() {
            held.extend_from_slice(&data);
            let full = held.len() > self.settings.response_body_buffers;
            if !full && !last {
                return Vec::new();
            }
            let held = ex.buffering.take().unwrap_or_default();
            ex.buffering_used = true;
            let eos = Self::eos(ex, held.len(), last);
            return self.body_call(ex, held, eos);
        }
        let eos = Self::eos(ex, data.len(), last);
        if data.is_empty() && !eos {
            return Vec::new();
        }
        self.body_call(ex, data, eos)
    }

    fn body_call(&mut self, ex: &mut Exchange, data: Vec<u8>, eos: bool) -> Vec<u8> {
        ex.http.chunk = Some(data.clone());
        ex.http.in_body_filter = true;
        let args = [ex.context_id as i32, data.len() as i32, i32::from(eos)];
        let action = match self.call(ex, Phase::ResponseBody, "proxy_on_response_body", &args) {
            Ok(action) => action.unwrap_or(CONTINUE),
            Err(_) => return data,
        };
        let out = ex.http.chunk.take().unwrap_or_default();
        if action != PAUSE {
            return out;
        }
        if ex.buffering_used {
            ex.logs.push(host_line(
                Level::Err,
                ex.context_id,
                "invalid \"on_response_body\" return action (PAUSE): response body buffering already requested"
                    .to_string(),
            ));
            return out;
        }
        if eos {
            ex.buffering_used = true;
            return self.body_call(ex, out, eos);
        }
        ex.buffering = Some(out);
        Vec::new()
    }

    /// Ends the response: the local or error body, a buffered window, or the final empty end-of-stream call
    /// (none for a response with a non-zero Content-Length), then `on_done`, `on_log` and `on_delete`.
    /// Returns the last bytes for the client.
    pub fn finish(&mut self, ex: &mut Exchange) -> Vec<u8> {
        if ex.finished {
            return Vec::new();
        }
        let out = if ex.outcome == RequestOutcome::Hung {
            Vec::new()
        } else if let Some(body) = ex.local_body.take() {
            let out = if ex.alive {
                self.body_step(ex, body, true)
            } else {
                body
            };
            ex.local_body = Some(Vec::new());
            out
        } else if ex.buffering.is_some() {
            self.body_step(ex, Vec::new(), true)
        } else if matches!(ex.original_cl, Some(cl) if cl > 0) {
            Vec::new()
        } else {
            self.body_step(ex, Vec::new(), true)
        };
        ex.finished = true;
        if ex.alive && ex.created {
            let id = ex.context_id as i32;
            for export in ["proxy_on_done", "proxy_on_log", "proxy_on_delete"] {
                if self.call(ex, Phase::Log, export, &[id]).is_err() {
                    break;
                }
            }
        }
        out
    }
}
