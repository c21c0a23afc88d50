//! One request and its response. Every decision comes from the core (`exchange`, `block`,
//! `node_cache`); this file reads from the host and applies the answers.
//!
//! Logs carry kinds, counts, codes and lengths only: never a body, an original or a mapping.

use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;

use super::host::Shared;
use super::root::Filter;
use crate::block::{self, BlockReason};
use crate::config::Mode;
use crate::exchange::request::{
    self, BodyKind, BodyPlan, HeadersDecision, RequestHeaders, Verdict,
};
use crate::exchange::response::{
    self, Emit, ResponseBody, ResponseHeaders, ResponsePlan, Restore, RestoreCounts,
};
use crate::mask::{BodyFormat, Masked};
use crate::metrics;
use crate::node_cache;
use crate::placeholder::Mapping;
use crate::restore::{Escape, StreamRestorer};
use crate::sse::SseRestorer;

/// The restorer a response plan picks.
pub(crate) enum Restorer {
    Stream(StreamRestorer),
    Sse(SseRestorer),
}

impl Restore for Restorer {
    fn feed(&mut self, mapping: &Mapping, chunk: &[u8], out: &mut Vec<u8>) {
        match self {
            Restorer::Stream(r) => r.feed(mapping, chunk, out),
            Restorer::Sse(r) => r.feed(mapping, chunk, out),
        }
    }

    fn finish(&mut self, mapping: &Mapping, out: &mut Vec<u8>) {
        match self {
            Restorer::Stream(r) => r.finish(mapping, out),
            Restorer::Sse(r) => r.finish(mapping, out),
        }
    }

    fn counts(&self) -> RestoreCounts {
        let stats = match self {
            Restorer::Stream(r) => r.stats(),
            Restorer::Sse(r) => r.stats(),
        };
        RestoreCounts {
            restored: stats.restored,
            unknown: stats.unknown,
        }
    }
}

pub(crate) struct Exchange {
    id: u32,
    filter: Option<Rc<Filter>>,
    /// What to do with a request body, once the headers were accepted.
    body_plan: Option<BodyPlan>,
    /// Placeholders this exchange issued or learned; the response restores these.
    mapping: Mapping,
    /// A local reply was sent: its response passes through untouched.
    blocked: bool,
    response: Option<ResponseBody<Restorer>>,
}

impl Exchange {
    pub(crate) fn new(id: u32, filter: Option<Rc<Filter>>) -> Self {
        Exchange {
            id,
            filter,
            body_plan: None,
            mapping: Mapping::default(),
            blocked: false,
            response: None,
        }
    }

    /// The one place that blocks. Returns the action for the current request step.
    fn block(&mut self, reason: BlockReason) -> Action {
        // Unconfigured (never in Kong: the plan fails to load) blocks too, with the default status.
        let status = self.filter.as_ref().map_or(400, |f| f.config.block_status);
        let reply = block::reply(reason, status);
        if let Some(filter) = &self.filter {
            filter.metrics.block(reason);
        }
        log::warn!(
            "#{} aws-masker: blocked ({}), status {}",
            self.id,
            reason.code(),
            reply.status
        );
        self.blocked = true;
        self.body_plan = None;
        self.send_http_response(
            u32::from(reply.status),
            reply.headers.to_vec(),
            Some(&reply.body),
        );
        // The local reply is stashed and sent when this step returns; Pause would hang.
        Action::Continue
    }

    /// Blocks, or in detect mode reports and forwards.
    fn refuse(&mut self, filter: &Filter, reason: BlockReason) -> Action {
        match request::verdict(filter.config.mode, reason) {
            Verdict::Block(reason) => self.block(reason),
            Verdict::WouldBlock(reason) => {
                log::warn!(
                    "#{} aws-masker: detect mode: would block ({})",
                    self.id,
                    reason.code()
                );
                filter.metrics.add(metrics::DETECT_MODE_PASSTHROUGHS, 1);
                self.body_plan = None;
                Action::Continue
            }
        }
    }

    fn request_body(&mut self, filter: &Filter, body_size: usize) -> Action {
        let Some(plan) = self.body_plan.take() else {
            return Action::Continue;
        };
        let max = filter.config.max_body_bytes;
        // WasmX ignores `start`; read from 0. A body spooled to a file reads as None.
        let body = if body_size > max {
            None
        } else {
            self.get_http_request_body(0, body_size)
        };
        let kind = match request::check_body(plan, body_size, body.as_deref(), max) {
            Ok(kind) => kind,
            Err(reason) => return self.refuse(filter, reason),
        };
        let body = body.unwrap_or_default();
        let format = match kind {
            BodyKind::Json => BodyFormat::Json,
            BodyKind::Text => BodyFormat::Text,
        };
        let masked = match filter.masker.mask(&body, format) {
            Ok(masked) => masked,
            Err(e) => return self.refuse(filter, BlockReason::from_mask_code(e.code(), max)),
        };
        let kinds = kinds_summary(&masked);
        let total = masked.counts.total();
        let Masked {
            body: new_body,
            mapping,
            counts,
            seen_placeholders,
        } = masked;
        if filter.config.mode == Mode::Detect {
            if total > 0 {
                log::warn!(
                    "#{} aws-masker: detect mode: {total} identifiers found ({kinds}), forwarded unchanged",
                    self.id
                );
                filter.metrics.add(metrics::DETECT_MODE_PASSTHROUGHS, 1);
            }
            return Action::Continue;
        }
        if let Some(new_body) = new_body {
            // WasmX truncates to `size` and drops everything past `start`: replace it all.
            self.set_http_request_body(0, body_size.max(new_body.len()), &new_body);
            filter.metrics.add(metrics::REQUESTS_MASKED, 1);
            filter
                .metrics
                .add(metrics::IDENTIFIERS_MASKED, u64::from(total));
            for (label, n) in counts.iter() {
                filter
                    .metrics
                    .add(&metrics::identifiers(label), u64::from(n));
            }
            log::info!(
                "#{} aws-masker: masked {total} identifiers ({kinds}), body {body_size} -> {} bytes",
                self.id,
                new_body.len()
            );
        }
        self.mapping = mapping;
        if filter.config.node_cache {
            let stats = node_cache::remember_all(&Shared, &self.mapping);
            let learned = node_cache::recall_into(
                &Shared,
                seen_placeholders.iter().map(String::as_str),
                &mut self.mapping,
            );
            filter
                .metrics
                .add(metrics::NODE_CACHE_CONFLICTS, u64::from(stats.conflicts));
            if stats.conflicts > 0 {
                log::warn!(
                    "#{} aws-masker: node_cache: {} placeholders hold another original (another token_secret?)",
                    self.id,
                    stats.conflicts
                );
            }
            log::debug!(
                "#{} aws-masker: node_cache: stored {}, known {}, occupied {}, learned {learned}",
                self.id,
                stats.stored,
                stats.known,
                stats.occupied
            );
        }
        Action::Continue
    }
}

/// `EC2=2, VPC=1`: kinds and counts only.
fn kinds_summary(masked: &Masked) -> String {
    let mut out = String::new();
    for (label, n) in masked.counts.iter() {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(label);
        out.push('=');
        out.push_str(&n.to_string());
    }
    out
}

impl Context for Exchange {}

impl HttpContext for Exchange {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(filter) = self.filter.clone() else {
            // Not configured: nothing can be masked, so nothing may pass.
            log::error!("#{} aws-masker: not configured", self.id);
            return self.block(BlockReason::Internal);
        };
        let content_type = self.get_http_request_header_bytes("content-type");
        let content_encoding = self.get_http_request_header_bytes("content-encoding");
        let content_length = self.get_http_request_header_bytes("content-length");
        let transfer_encoding = self.get_http_request_header_bytes("transfer-encoding");
        let headers = RequestHeaders {
            content_type: content_type.as_deref(),
            content_encoding: content_encoding.as_deref(),
            content_length: content_length.as_deref(),
            transfer_encoding: transfer_encoding.as_deref(),
        };
        match request::plan_request(&headers, filter.config.max_body_bytes) {
            HeadersDecision::Block(reason) => return self.refuse(&filter, reason),
            HeadersDecision::Expect(plan) => self.body_plan = Some(plan),
        }
        if filter.config.mode == Mode::Enforce {
            // The response must come back readable to be restored: no compression.
            self.set_http_request_header("accept-encoding", Some("identity"));
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let Some(filter) = self.filter.clone() else {
            return Action::Continue;
        };
        if !end_of_stream {
            // WasmX always delivers the whole body at once. A host that streams it would
            // forward this part before it could be masked: refuse instead of waiting.
            if self.body_plan.is_some() {
                return self.refuse(&filter, BlockReason::Internal);
            }
            return Action::Continue;
        }
        self.request_body(&filter, body_size)
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(filter) = self.filter.clone() else {
            return Action::Continue;
        };
        if self.blocked || filter.config.mode == Mode::Detect {
            return Action::Continue;
        }
        let content_type = self.get_http_response_header_bytes("content-type");
        let content_encoding = self.get_http_response_header_bytes("content-encoding");
        let content_length = self.get_http_response_header_bytes("content-length");
        let headers = ResponseHeaders {
            content_type: content_type.as_deref(),
            content_encoding: content_encoding.as_deref(),
            content_length: content_length.as_deref(),
        };
        let plan = response::plan_response(&headers, !self.mapping.is_empty());
        let length = response::announced_length(&headers);
        self.response = match plan {
            ResponsePlan::Pass => None,
            ResponsePlan::SkipEncoded => {
                filter.metrics.add(metrics::RESTORE_SKIPPED_ENCODED, 1);
                log::warn!(
                    "#{} aws-masker: compressed response passed without restore",
                    self.id
                );
                None
            }
            ResponsePlan::Whole => Some(ResponseBody::whole(
                Restorer::Stream(StreamRestorer::new(Escape::Json)),
                length,
                filter.config.max_body_bytes,
            )),
            ResponsePlan::Sse => Some(ResponseBody::streaming(
                Restorer::Sse(SseRestorer::new()),
                length,
            )),
            ResponsePlan::Text => Some(ResponseBody::streaming(
                Restorer::Stream(StreamRestorer::new(Escape::None)),
                length,
            )),
        };
        if plan.changes_body() {
            // WasmX never fixes Content-Length; a changed body under the old length breaks clients.
            self.set_http_response_header("content-length", None);
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.response.is_none() {
            return Action::Continue;
        }
        let chunk = if body_size == 0 {
            None
        } else {
            self.get_http_response_body(0, body_size)
        };
        let chunk = chunk.unwrap_or_default();
        let emit = match self.response.as_mut() {
            Some(body) => body.on_chunk(&self.mapping, &chunk, end_of_stream),
            None => Emit::Keep,
        };
        if let Emit::Replace(bytes) = emit {
            self.set_http_response_body(0, chunk.len().max(bytes.len()), &bytes);
        }
        // Never Pause: one buffering window only, and none at all on a stream.
        Action::Continue
    }

    fn on_log(&mut self) {
        let (Some(filter), Some(body)) = (self.filter.as_ref(), self.response.as_ref()) else {
            return;
        };
        let counts = body.counts();
        filter
            .metrics
            .add(metrics::PLACEHOLDERS_RESTORED, counts.restored);
        filter
            .metrics
            .add(metrics::PLACEHOLDERS_UNKNOWN, counts.unknown);
        if !body.is_done() {
            log::warn!(
                "#{} aws-masker: response ended before its announced length",
                self.id
            );
        }
    }
}
