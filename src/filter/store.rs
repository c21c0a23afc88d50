//! The store step of an exchange (issue 5): one dispatch to the bridge after masking, the
//! request paused until its answer, then resumed or blocked. Decisions come from
//! [`crate::store`]; this file only talks to the host.
//!
//! The dispatch body carries originals and the Redis credentials: it is never logged.

use std::time::{Duration, UNIX_EPOCH};

use proxy_wasm::hostcalls;
use proxy_wasm::traits::Context;
use proxy_wasm::types::{Action, BufferType, MapType};

use super::host::Shared;
use super::http::Exchange;
use super::root::Filter;
use crate::config::BridgeAddress;
use crate::metrics;
use crate::node_cache;
use crate::protocol::MAPPINGS_PATH;
use crate::store::circuit::{self, Breaker};
use crate::store::{self, Decision, Failure};

/// Why a dispatch of this exchange is pending.
pub(crate) enum Purpose {
    /// The mappings call; `lookup` are the placeholders it asked for, `sent` those it
    /// stored.
    Mappings {
        lookup: Vec<String>,
        sent: Vec<String>,
    },
}

fn now_ms() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn upstream(address: &BridgeAddress) -> String {
    match address {
        BridgeAddress::Tcp { host, port } if host.contains(':') => format!("[{host}]:{port}"),
        BridgeAddress::Tcp { host, port } => format!("{host}:{port}"),
        // The config keeps the whole `unix:/path`, as the dispatch wants it.
        BridgeAddress::Unix(address) => address.clone(),
    }
}

/// The breaker this worker acts on: the node's when shared data exists, else its own.
fn breaker(filter: &Filter) -> Breaker {
    if filter.config.node_cache {
        circuit::read_shared(&Shared)
    } else {
        filter.breaker.get()
    }
}

fn record(filter: &Filter, ok: bool) {
    let now = now_ms();
    let c = filter.config.store.circuit;
    let local = filter.breaker.get().record(&c, ok, now);
    let next = if filter.config.node_cache {
        circuit::update_shared(&Shared, |b| b.record(&c, ok, now)).unwrap_or(local)
    } else {
        local
    };
    filter.breaker.set(next);
}

impl Exchange {
    /// After masking: stores the issued mappings and looks up the pasted placeholders.
    /// Returns `Pause` only when a dispatch is pending.
    pub(super) fn store(&mut self, filter: &Filter, seen: &[String]) -> Action {
        let cache = filter.config.node_cache;
        // Stored within half the TTL: Redis still has it (an older entry is sent again, which
        // stores it anew if Redis forgot it and refreshes its TTL if not).
        let fresh_since = (now_ms() / 1000)
            .saturating_sub(u64::from(filter.config.store.mapping_ttl_seconds / 2));
        let known =
            |p: &str, o: &str| cache && node_cache::stored_since(&Shared, p, o, fresh_since);
        let Some(request) = store::build_request(&filter.config.store, &self.mapping, known, seen)
        else {
            return Action::Continue;
        };
        let now = now_ms();
        let state = breaker(filter);
        if !state.allows(now) {
            filter.metrics.add(metrics::CIRCUIT_OPEN_REJECTIONS, 1);
            log::warn!(
                "#{} aws-masker: store: circuit open, not calling the bridge",
                self.id
            );
            return self.after_failure(filter);
        }
        if state != state.admit(now) && !cache {
            filter.breaker.set(state.admit(now));
        }
        let body = match store::encode_request(&request) {
            Ok(body) => body,
            Err(f) => return self.failed(filter, f),
        };
        let address = upstream(&filter.config.store.bridge_address);
        let timeout = Duration::from_millis(u64::from(filter.config.store.bridge_timeout_ms));
        let headers = vec![
            (":method", "POST"),
            (":path", MAPPINGS_PATH),
            (":authority", "aws-masker-bridge"),
            ("content-type", "application/json"),
        ];
        match self.dispatch_http_call(&address, headers, Some(&body), vec![], timeout) {
            Ok(token) => {
                log::debug!(
                    "#{} aws-masker: store: dispatched {} entries, {} lookups (token {token})",
                    self.id,
                    request.store.len(),
                    request.lookup.len()
                );
                self.pending.insert(
                    token,
                    Purpose::Mappings {
                        lookup: request.lookup,
                        sent: request.store.into_iter().map(|e| e.placeholder).collect(),
                    },
                );
                Action::Pause
            }
            Err(status) => {
                log::warn!(
                    "#{} aws-masker: store: dispatch refused ({status:?})",
                    self.id
                );
                self.failed(filter, Failure::Dispatch)
            }
        }
    }

    /// Counts a failure, feeds the breaker, applies `on_store_failure`.
    fn failed(&mut self, filter: &Filter, failure: Failure) -> Action {
        filter
            .metrics
            .add(&metrics::store_failures(failure.code()), 1);
        if failure.is_outage() {
            record(filter, false);
        }
        match failure {
            Failure::Status(status, Some(code)) => log::warn!(
                "#{} aws-masker: store failed (status {status}, bridge error {})",
                self.id,
                code.as_str()
            ),
            Failure::Status(status, None) => {
                log::warn!("#{} aws-masker: store failed (status {status})", self.id)
            }
            Failure::Conflict(n) => log::warn!(
                "#{} aws-masker: store failed ({n} placeholders hold another original in Redis: another token_secret?)",
                self.id
            ),
            f => log::warn!("#{} aws-masker: store failed ({})", self.id, f.code()),
        }
        self.after_failure(filter)
    }

    fn after_failure(&mut self, filter: &Filter) -> Action {
        match store::on_failure(filter.config.store.on_failure) {
            Decision::Block(reason) => self.block(reason),
            Decision::Resume => log::warn!(
                "#{} aws-masker: store: on_store_failure continue: forwarding the masked request",
                self.id
            ),
        }
        Action::Continue
    }

    fn resume(&self) {
        // The SDK's resume unwraps (a trap); a failed resume is logged and WasmX resumes anyway.
        if let Err(status) = hostcalls::resume_http_request() {
            log::warn!("#{} aws-masker: store: resume failed ({status:?})", self.id);
        }
    }

    /// The bridge answered (or the dispatch failed late). Never touches the request body.
    pub(super) fn on_store_answer(&mut self, token: u32, num_headers: usize, body_size: usize) {
        let Some(Purpose::Mappings { lookup, sent }) = self.pending.remove(&token) else {
            return;
        };
        let Some(filter) = self.filter.clone() else {
            return;
        };
        let header = |name: &str| {
            hostcalls::get_map_value_bytes(MapType::HttpCallResponseHeaders, name)
                .ok()
                .flatten()
        };
        let status = if num_headers == 0 {
            None
        } else {
            header(":status")
        };
        let dispatch_status = header(":dispatch_status");
        let body = if body_size == 0 {
            None
        } else {
            hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size)
                .ok()
                .flatten()
        };
        let answer = store::interpret(
            status.as_deref(),
            dispatch_status.as_deref(),
            body.as_deref().unwrap_or_default(),
            &sent,
        );
        match answer {
            Ok(answer) => {
                let merged = store::merge_found(
                    &answer,
                    &lookup,
                    filter.masker.placeholders(),
                    &mut self.mapping,
                );
                if merged.foreign > 0 {
                    log::warn!(
                        "#{} aws-masker: store: {} looked-up placeholders do not derive from their original with this token_secret: ignored",
                        self.id,
                        merged.foreign
                    );
                }
                let learned = merged.added;
                filter.metrics.add(metrics::STORE_OK, 1);
                record(&filter, true);
                if filter.config.node_cache {
                    // Only now: a node-cache entry's time says "stored in Redis then" to
                    // later exchanges; the rest of the mapping is shared without one.
                    let now = now_ms() / 1000;
                    for placeholder in &sent {
                        if let Some(original) = self.mapping.original(placeholder) {
                            node_cache::remember_stored(&Shared, placeholder, original, now);
                        }
                    }
                    node_cache::remember_all(&Shared, &self.mapping);
                }
                log::info!(
                    "#{} aws-masker: store: stored {}, refreshed {}, learned {learned} of {}",
                    self.id,
                    answer.stored,
                    answer.refreshed,
                    lookup.len()
                );
                self.resume();
            }
            Err(failure) => {
                self.failed(&filter, failure);
                if !self.blocked {
                    self.resume();
                }
            }
        }
    }
}
