//! Storing mappings through the bridge (issue 5): the one batched call per exchange, how its
//! answer is read, what the filter does on failure, and the circuit breaker ([`circuit`]).
//!
//! ```
//! use aws_masker::protocol::ErrorCode;
//! use aws_masker::store::{interpret, Failure};
//!
//! let sent = ["AWS_EC2_AAAAAAAAAAAAA".to_owned()];
//! // A dispatch that never reached the bridge: no `:status`, a `:dispatch_status` instead.
//! assert_eq!(interpret(None, Some(b"timeout"), b"", &sent), Err(Failure::Timeout));
//! assert_eq!(interpret(Some(b"500"), None, b"{}", &sent), Err(Failure::Status(500, None)));
//! // The bridge names what failed in its error body: the filter logs that code.
//! let refused = br#"{"error":{"code":"redis_auth","message":"WRONGPASS"}}"#;
//! assert_eq!(
//!     interpret(Some(b"502"), None, refused, &sent),
//!     Err(Failure::Status(502, Some(ErrorCode::RedisAuth)))
//! );
//! let ok = interpret(Some(b"200"), None, br#"{"stored":1,"refreshed":0}"#, &sent).unwrap();
//! assert_eq!(ok.stored, 1);
//! // An answer that does not account for the entry sent is not the bridge's.
//! let none = interpret(Some(b"200"), None, br#"{"stored":0,"refreshed":0}"#, &sent);
//! assert_eq!(none, Err(Failure::Malformed));
//! ```

pub mod circuit;

use crate::block::BlockReason;
use crate::config::{OnStoreFailure, Store};
use crate::placeholder::{Mapping, Placeholders};
use crate::protocol::{
    self, Entry, ErrorBody, ErrorCode, MappingsRequest, MappingsResponse, ProtocolError,
};

/// Why a store step failed. Each has a counter `store_failures_<code>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The dispatch could not be started (`dispatch_http_call` returned an error).
    Dispatch,
    /// The bridge did not answer within `bridge_timeout_ms`.
    Timeout,
    /// The bridge could not be reached or answered something that is not HTTP.
    Unreachable,
    /// The bridge answered with a non-2xx status, and the error code of its body if it has
    /// one (`redis_auth`, `endpoint_not_allowed`, ...: from a fixed set, safe to log).
    Status(u16, Option<ErrorCode>),
    /// The bridge's 2xx body is not a valid answer.
    Malformed,
    /// Redis holds another original under some of our placeholders (the count).
    Conflict(u32),
    /// The request to the bridge could not be built (too many entries, too large).
    Encode,
}

/// Every failure code, for defining one counter each.
pub const FAILURE_CODES: &[&str] = &[
    "dispatch",
    "timeout",
    "unreachable",
    "status",
    "malformed",
    "conflict",
    "encode",
];

impl Failure {
    /// True when the failure says the bridge or Redis is down or broken, which the circuit
    /// breaker counts. Not so a request the bridge refused for what it is (too large,
    /// malformed: 400, 413, or one that could not be encoded) or a conflict (Redis answered):
    /// one oversized exchange must not open the circuit for every request.
    pub fn is_outage(self) -> bool {
        !matches!(
            self,
            Failure::Encode | Failure::Conflict(_) | Failure::Status(400 | 413, _)
        )
    }

    /// The stable code (counter name suffix, log lines).
    pub fn code(self) -> &'static str {
        match self {
            Failure::Dispatch => "dispatch",
            Failure::Timeout => "timeout",
            Failure::Unreachable => "unreachable",
            Failure::Status(..) => "status",
            Failure::Malformed => "malformed",
            Failure::Conflict(_) => "conflict",
            Failure::Encode => "encode",
        }
    }
}

/// What the glue does after the store step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Forward the (already masked) request.
    Resume,
    /// Send the block reply instead.
    Block(BlockReason),
}

/// The policy for a failed store (or a fail-fast rejection of an open circuit).
pub fn on_failure(policy: OnStoreFailure) -> Decision {
    match policy {
        OnStoreFailure::Block => Decision::Block(BlockReason::StoreFailed),
        OnStoreFailure::Continue => Decision::Resume,
    }
}

/// The one call of an exchange: the mappings it issued that are not known stored, and the
/// placeholders the request carried that `mapping` does not know. `None`: nothing to do.
///
/// `known_stored(placeholder, original)` is true when an earlier exchange stored that entry
/// (the node cache, when on); without it, every issued entry is sent (the bridge refreshes
/// the TTL of the ones Redis has).
pub fn build_request(
    store: &Store,
    mapping: &Mapping,
    known_stored: impl Fn(&str, &str) -> bool,
    seen: &[String],
) -> Option<MappingsRequest> {
    let entries: Vec<Entry> = mapping
        .iter()
        .filter(|(p, o)| !known_stored(p, o))
        .map(|(p, o)| Entry {
            placeholder: p.to_owned(),
            original: o.to_owned(),
        })
        .collect();
    let mut lookup: Vec<String> = seen
        .iter()
        .filter(|p| mapping.original(p).is_none() && protocol::is_placeholder(p))
        .cloned()
        .collect();
    lookup.sort_unstable();
    lookup.dedup();
    if entries.is_empty() && lookup.is_empty() {
        return None;
    }
    Some(MappingsRequest {
        profile: store.redis.profile(),
        ttl: store.mapping_ttl_seconds,
        store: entries,
        lookup,
    })
}

/// The body of the dispatch. Never log it: it carries the originals and the Redis credentials.
pub fn encode_request(request: &MappingsRequest) -> Result<Vec<u8>, Failure> {
    protocol::encode(request).map_err(|_: ProtocolError| Failure::Encode)
}

/// Reads the bridge's answer: `status` is the `:status` header (absent when the dispatch
/// failed), `dispatch_status` the WasmX `:dispatch_status` header, `sent` the placeholders
/// the call asked to store. An answer that does not account for each of them once (stored,
/// refreshed or in conflict) is not one the bridge gives: malformed, not a success that
/// would mark unstored entries stored.
pub fn interpret(
    status: Option<&[u8]>,
    dispatch_status: Option<&[u8]>,
    body: &[u8],
    sent: &[String],
) -> Result<MappingsResponse, Failure> {
    let Some(status) = status else {
        return Err(match dispatch_status {
            Some(b"timeout") => Failure::Timeout,
            _ => Failure::Unreachable,
        });
    };
    let code = std::str::from_utf8(status)
        .ok()
        .and_then(|s| s.trim().parse::<u16>().ok())
        .ok_or(Failure::Unreachable)?;
    if !(200..300).contains(&code) {
        let bridge_code = protocol::decode::<ErrorBody>(body)
            .ok()
            .map(|e| e.error.code);
        return Err(Failure::Status(code, bridge_code));
    }
    let answer: MappingsResponse = protocol::decode(body).map_err(|_| Failure::Malformed)?;
    let accounted = u64::from(answer.stored) + u64::from(answer.refreshed);
    let mut conflicts: Vec<&str> = answer.conflicts.iter().map(String::as_str).collect();
    conflicts.sort_unstable();
    conflicts.dedup();
    let conflicts_sent = conflicts.len() == answer.conflicts.len()
        && conflicts.iter().all(|c| sent.iter().any(|p| p == c));
    if !conflicts_sent || accounted + conflicts.len() as u64 != sent.len() as u64 {
        return Err(Failure::Malformed);
    }
    if !answer.conflicts.is_empty() {
        let n = u32::try_from(answer.conflicts.len()).unwrap_or(u32::MAX);
        return Err(Failure::Conflict(n));
    }
    Ok(answer)
}

/// What [`merge_found`] did with the looked-up entries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// Entries added to the mapping.
    pub added: u32,
    /// Entries whose placeholder is not what this `token_secret` derives for their original:
    /// another deployment's, or a Redis someone wrote into. Left out.
    pub foreign: u32,
}

/// Adds the looked-up entries to `mapping` so the response restores them; only those the
/// exchange asked for and does not know, and only if `keys` derives their placeholder from
/// their original: what Redis answers is not trusted to put text in a response.
pub fn merge_found(
    answer: &MappingsResponse,
    asked: &[String],
    keys: &Placeholders,
    mapping: &mut Mapping,
) -> Merged {
    let mut merged = Merged::default();
    for entry in &answer.found {
        if !asked.contains(&entry.placeholder) {
            continue;
        }
        if !keys.derives(&entry.placeholder, &entry.original) {
            merged.foreign += 1;
            continue;
        }
        if mapping
            .insert(entry.placeholder.clone(), entry.original.clone())
            .is_ok()
        {
            merged.added += 1;
        }
    }
    merged
}

#[cfg(test)]
mod tests;
