//! One request and its response. Every decision comes from the core (`exchange`, `block`,
//! `node_cache`); this file reads from the host and applies the answers.
//!
//! Logs carry kinds, counts, codes and lengths only: never a body, an original or a mapping.

use std::collections::HashMap;
use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::Action;

use super::host::Shared;
use super::root::Filter;
use super::store::Purpose;
use crate::block::{self, BlockReason};
use crate::config::Mode;
use crate::exchange;
use crate::exchange::request::{BodyKind, RequestFlow, RequestHeaders, Step};
use crate::exchange::response::{
    self, Emit, ResponseBody, ResponseHeaders, ResponsePlan, Restorer,
};
use crate::mask::{BodyFormat, Masked};
use crate::metrics;
use crate::node_cache;
use crate::placeholder::Mapping;

pub(crate) struct Exchange {
    pub(super) id: u32,
    pub(super) filter: Option<Rc<Filter>>,
    request: RequestFlow,
    /// Placeholders this exchange issued or learned; the response restores these.
    pub(super) mapping: Mapping,
    /// A local reply was sent: its response passes through untouched.
    pub(super) blocked: bool,
    /// Dispatches waiting for an answer, by token.
    pub(super) pending: HashMap<u32, Purpose>,
    /// A HEAD request: the response has no body.
    head_request: bool,
    response: Option<ResponseBody<Restorer>>,
}

impl Exchange {
    pub(crate) fn new(id: u32, filter: Option<Rc<Filter>>) -> Self {
        let request = match &filter {
            Some(f) => RequestFlow::new(f.config.mode, f.config.max_body_bytes),
            None => RequestFlow::new(Mode::Enforce, 0),
        };
        Exchange {
            id,
            filter,
            request,
            mapping: Mapping::default(),
            blocked: false,
            pending: HashMap::new(),
            head_request: false,
            response: None,
        }
    }

    /// Acts on a request step's decision; `Mask` is handled by the caller.
    fn act(&mut self, step: Step) -> Action {
        match step {
            Step::Continue | Step::Mask(_) => {}
            Step::Block(reason) => self.block(reason),
            Step::WouldBlock(reason) => {
                log::warn!(
                    "#{} aws-masker: detect mode: would block ({})",
                    self.id,
                    reason.code()
                );
                self.count(metrics::DETECT_MODE_PASSTHROUGHS, 1);
            }
        }
        // Never Pause here: no dispatch is pending, and a Pause without one hangs the request.
        Action::Continue
    }

    /// The one place that blocks: a local reply, stashed by WasmX until the step returns.
    pub(super) fn block(&mut self, reason: BlockReason) {
        // Unconfigured (never in Kong: the plan fails to load) uses the default status.
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
        self.send_http_response(
            u32::from(reply.status),
            reply.headers.to_vec(),
            Some(&reply.body),
        );
    }

    fn count(&self, name: &str, n: u64) {
        if let Some(filter) = &self.filter {
            filter.metrics.add(name, n);
        }
    }

    /// Masks the body read in this step, sets it, and records the mapping.
    fn mask(&mut self, filter: &Filter, kind: BodyKind, body: &[u8]) -> Action {
        let format = match kind {
            BodyKind::Json => BodyFormat::Json,
            BodyKind::Text => BodyFormat::Text,
        };
        let masked = match filter.masker.mask(body, format) {
            Ok(masked) => masked,
            Err(e) => {
                let step = self.request.on_mask_error(e.code());
                return self.act(step);
            }
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
            self.set_http_request_body(0, body.len().max(new_body.len()), &new_body);
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
                "#{} aws-masker: masked {total} identifiers ({kinds}), body {} -> {} bytes",
                self.id,
                body.len(),
                new_body.len()
            );
        }
        self.mapping = mapping;
        let use_redis = filter.config.store.use_redis;
        if filter.config.node_cache {
            self.use_node_cache(filter, &seen_placeholders, !use_redis);
        }
        if use_redis {
            return self.store(filter, &seen_placeholders);
        }
        Action::Continue
    }

    /// Learns the originals of placeholders the request carried in (pasted from an earlier
    /// answer) and, when `share`, shares the issued mappings with the node's other workers
    /// (with `use_redis` they are shared once the bridge has stored them).
    fn use_node_cache(&mut self, filter: &Filter, seen: &[String], share: bool) {
        let stats = if share {
            node_cache::remember_all(&Shared, &self.mapping)
        } else {
            node_cache::RememberStats::default()
        };
        let recalled = node_cache::recall_into(
            &Shared,
            filter.masker.placeholders(),
            seen.iter().map(String::as_str),
            &mut self.mapping,
        );
        let conflicts = stats.conflicts + recalled.foreign;
        filter
            .metrics
            .add(metrics::NODE_CACHE_CONFLICTS, u64::from(conflicts));
        if stats.conflicts > 0 {
            log::warn!(
                "#{} aws-masker: node_cache: {} placeholders hold another original (another token_secret?)",
                self.id,
                stats.conflicts
            );
        }
        if recalled.foreign > 0 {
            log::warn!(
                "#{} aws-masker: node_cache: {} cached placeholders do not derive from their original with this token_secret: ignored",
                self.id,
                recalled.foreign
            );
        }
        log::debug!(
            "#{} aws-masker: node_cache: stored {}, known {}, occupied {}, learned {}",
            self.id,
            stats.stored,
            stats.known,
            stats.occupied,
            recalled.added
        );
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

impl Context for Exchange {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        self.on_store_answer(token_id, num_headers, body_size);
    }
}

impl HttpContext for Exchange {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(filter) = self.filter.clone() else {
            // Not configured: nothing can be masked, so nothing may pass.
            log::error!("#{} aws-masker: not configured", self.id);
            return self.act(Step::Block(BlockReason::Internal));
        };
        self.head_request = self
            .get_http_request_header_bytes(":method")
            .is_some_and(|m| m.eq_ignore_ascii_case(b"HEAD"));
        // Every line: the one-header getter gives the first of repeated lines only.
        let all = self.get_http_request_headers_bytes();
        let lines = |name| exchange::header_lines(&all, name);
        let content_encoding = exchange::joined_header(lines("content-encoding"));
        let transfer_encoding = exchange::joined_header(lines("transfer-encoding"));
        let headers = RequestHeaders {
            content_type: lines("content-type").next(),
            content_type_repeated: lines("content-type").nth(1).is_some(),
            content_encoding: content_encoding.as_deref(),
            content_length: lines("content-length").next(),
            transfer_encoding: transfer_encoding.as_deref(),
        };
        let step = self.request.on_headers(&headers);
        if step == Step::Continue && filter.config.mode == Mode::Enforce {
            // The response must come back uncompressed to be restored.
            self.set_http_request_header("accept-encoding", Some("identity"));
        }
        self.act(step)
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let Some(filter) = self.filter.clone() else {
            return Action::Continue;
        };
        // WasmX ignores `start`; read from 0. A body spooled to a file reads as None.
        let body = if self.request.wants_body(body_size) {
            self.get_http_request_body(0, body_size)
        } else {
            None
        };
        match self
            .request
            .on_body(body_size, end_of_stream, body.as_deref())
        {
            Step::Mask(kind) => self.mask(&filter, kind, body.as_deref().unwrap_or_default()),
            step => self.act(step),
        }
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let Some(filter) = self.filter.clone() else {
            return Action::Continue;
        };
        if self.blocked || filter.config.mode == Mode::Detect {
            return Action::Continue;
        }
        let status = self.get_http_response_header_bytes(":status");
        // Every line: a `gzip` after an `identity` must not be read as plain text.
        let all = self.get_http_response_headers_bytes();
        let lines = |name| exchange::header_lines(&all, name);
        let content_encoding = exchange::joined_header(lines("content-encoding"));
        let headers = ResponseHeaders {
            status: status.as_deref(),
            content_type: lines("content-type").next(),
            content_encoding: content_encoding.as_deref(),
            content_length: lines("content-length").next(),
            head_request: self.head_request,
        };
        let plan = response::plan_response(&headers, !self.mapping.is_empty());
        let length = response::announced_length(&headers);
        if plan == ResponsePlan::SkipEncoded {
            filter.metrics.add(metrics::RESTORE_SKIPPED_ENCODED, 1);
            log::warn!(
                "#{} aws-masker: compressed response passed without restore",
                self.id
            );
        }
        self.response = response::body_for(plan, length, filter.config.max_body_bytes);
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
            Vec::new()
        } else {
            match self.get_http_response_body(0, body_size) {
                Some(chunk) => chunk,
                None => {
                    // Never seen in WasmX; setting a body now would drop the unread chunk.
                    log::error!(
                        "#{} aws-masker: response chunk unreadable, left as is",
                        self.id
                    );
                    return Action::Continue;
                }
            }
        };
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
        if counts.oversized_events > 0 {
            filter
                .metrics
                .add(metrics::RESTORE_SKIPPED_OVERSIZED, counts.oversized_events);
            log::warn!(
                "#{} aws-masker: {} event(s) of the response stream over {} bytes passed without restore",
                self.id,
                counts.oversized_events,
                response::event_limit(filter.config.max_body_bytes)
            );
        }
        if !body.is_done() {
            log::warn!(
                "#{} aws-masker: response ended before its announced length",
                self.id
            );
        }
    }
}
