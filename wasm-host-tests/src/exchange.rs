//! The HTTP lifecycle of one request through the filter, as WasmX runs it (WASMX.md §2, §4, §5), split in
//! steps so a real proxy can stream: [`Worker::begin`] runs the request steps and dispatches,
//! [`Worker::response_headers`], [`Worker::response_body`] per upstream chunk, then [`Worker::finish`].

use std::collections::VecDeque;

use crate::headers;
use crate::matrix::Phase;
use crate::request::{
    text, to_pairs, to_strings, DispatchRecord, Exchange, ForwardedRequest, Request, RequestOutcome,
};
use crate::state::{CurrentCall, HttpState, Level, PendingCall};
use crate::worker::{call_counts, host_line, Trapped, Worker};

pub(crate) const CONTINUE: i32 = 0;
pub(crate) const PAUSE: i32 = 1;

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
            request_headers: with_length(to_pairs(&request.headers), request.body.len()),
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
            filter_time: std::time::Duration::ZERO,
            filter_cpu: std::time::Duration::ZERO,
            body_time: std::time::Duration::ZERO,
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
        // The CPU clock is a system call: read outside the wall-clock window.
        let cpu = crate::cpu::thread_time();
        let started = std::time::Instant::now();
        let result = self.invoke(
            phase,
            context,
            export,
            args,
            Some(&mut ex.http),
            current,
            &mut ex.logs,
        );
        let wall = started.elapsed();
        ex.filter_time += wall;
        ex.filter_cpu += crate::cpu::thread_time().saturating_sub(cpu);
        if matches!(phase, Phase::RequestBody | Phase::ResponseBody) {
            ex.body_time += wall;
        }
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

    pub(crate) fn run_one(&mut self, ex: &mut Exchange, pending: PendingCall) {
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
}

/// An HTTP/1.1 client announces a body with `content-length` or `transfer-encoding` (nginx reads no body
/// otherwise); add the length when a test request has neither.
fn with_length(mut headers: Vec<crate::codec::Pair>, body_len: usize) -> Vec<crate::codec::Pair> {
    let announced = headers
        .iter()
        .any(|(k, _)| headers::eq(k, b"content-length") || headers::eq(k, b"transfer-encoding"));
    if body_len > 0 && !announced {
        headers.push((
            b"content-length".to_vec(),
            body_len.to_string().into_bytes(),
        ));
    }
    headers
}
