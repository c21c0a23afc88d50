//! The JSON API between the filter and the bridge (`aws-masker-bridge`).
//!
//! One batched call per exchange: `POST /v1/mappings` with a [`MappingsRequest`] (the Redis
//! [`RedisProfile`] from the filter's config, the TTL, the mappings to store and the
//! placeholders to look up), answered by a [`MappingsResponse`], or by an [`ErrorBody`] with a
//! non-2xx status. Stores follow `SET key original NX EX ttl`: a key that already holds the same
//! original has its TTL refreshed, a key holding another original is a conflict, reported and
//! left alone. Keys are `aws-masker:v1:<placeholder>` ([`redis_key`]).
//!
//! [`encode`] and [`decode`] check sizes and shapes both ways, so neither side trusts the
//! other's bytes; their errors never quote the input (it may hold originals or secrets).
//!
//! ```
//! use aws_masker::protocol::{decode, encode, Entry, MappingsRequest, RedisProfile};
//!
//! let request = MappingsRequest {
//!     profile: RedisProfile::default(),
//!     ttl: 86_400,
//!     store: vec![Entry {
//!         placeholder: "AWS_EC2_ABCDEFGHIJKLM".into(),
//!         original: "i-0b263919b6498b123".into(),
//!     }],
//!     lookup: vec!["AWS_BUCKET_ABCDEFGHIJ234".into()],
//! };
//! let bytes = encode(&request).unwrap();
//! assert_eq!(decode::<MappingsRequest>(&bytes).unwrap(), request);
//! // Debug output never shows originals or secrets.
//! assert!(!format!("{request:?}").contains("i-0b263919b6498b123"));
//! ```

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::placeholder::shaped_len;

/// Path of the batched store-and-lookup call.
pub const MAPPINGS_PATH: &str = "/v1/mappings";
/// Path of the readiness probe (`POST` with a [`ReadyRequest`] checks that profile's Redis).
pub const READY_PATH: &str = "/readyz";
/// Every Redis key the bridge writes starts with this.
pub const KEY_PREFIX: &str = "aws-masker:v1:";
/// Most entries in `store`, in `lookup`, in `found` or in `conflicts`.
pub const MAX_ENTRIES: usize = 10_000;
/// Longest original value, in bytes (an ARN is at most 2048 characters).
pub const MAX_ORIGINAL_LEN: usize = 4096;
/// Largest encoded message, in bytes.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Shortest TTL accepted, in seconds.
pub const MIN_TTL: u32 = 1;
/// Longest TTL accepted, in seconds (30 days, like `mapping_ttl`).
pub const MAX_TTL: u32 = 2_592_000;
/// Longest host name accepted in a profile.
const MAX_HOST_LEN: usize = 253;
/// Longest password, token or user name accepted in a profile.
const MAX_SECRET_LEN: usize = 4096;

/// The Redis key that holds the original of `placeholder`.
pub fn redis_key(placeholder: &str) -> String {
    let mut key = String::with_capacity(KEY_PREFIX.len() + placeholder.len());
    key.push_str(KEY_PREFIX);
    key.push_str(placeholder);
    key
}

/// True when `text` is exactly one placeholder-shaped token.
pub fn is_placeholder(text: &str) -> bool {
    shaped_len(text.as_bytes()) == Some(text.len())
}

/// Redis (`traditional`) or AWS ElastiCache (`managed`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedisType {
    #[default]
    Traditional,
    Managed,
}

/// Redis connection settings, taken from the filter's `redis_*` config fields.
///
/// Traditional mode uses `host`, `port`, `password` and `database`; managed mode uses `host` and
/// `port` (or `cluster_endpoint`), `ssl_enabled`, `ssl_verify`, `auth_token`, `user` and
/// `database`. [`RedisProfile::validate`] refuses a field set for the other mode rather than
/// ignoring it (a silently ignored `ssl_enabled` would send secrets in clear).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisProfile {
    pub redis_type: RedisType,
    pub host: String,
    pub port: u16,
    pub password: Option<String>,
    pub database: u8,
    pub ssl_enabled: bool,
    pub ssl_verify: bool,
    pub auth_token: Option<String>,
    pub user: Option<String>,
    pub cluster_mode: bool,
    pub cluster_endpoint: Option<String>,
}

impl Default for RedisProfile {
    fn default() -> Self {
        RedisProfile {
            redis_type: RedisType::Traditional,
            host: "127.0.0.1".into(),
            port: 6379,
            password: None,
            database: 0,
            ssl_enabled: false,
            ssl_verify: true,
            auth_token: None,
            user: None,
            cluster_mode: false,
            cluster_endpoint: None,
        }
    }
}

impl fmt::Debug for RedisProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("RedisProfile")
            .field("redis_type", &self.redis_type)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("password", &redact(&self.password))
            .field("database", &self.database)
            .field("ssl_enabled", &self.ssl_enabled)
            .field("ssl_verify", &self.ssl_verify)
            .field("auth_token", &redact(&self.auth_token))
            .field("user", &self.user)
            .field("cluster_mode", &self.cluster_mode)
            .field("cluster_endpoint", &self.cluster_endpoint)
            .finish()
    }
}

/// A profile field that cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileError {
    pub field: &'static str,
    pub problem: &'static str,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "profile field `{}`: {}", self.field, self.problem)
    }
}

impl std::error::Error for ProfileError {}

fn profile_err(field: &'static str, problem: &'static str) -> ProfileError {
    ProfileError { field, problem }
}

impl RedisProfile {
    /// Checks the rules between fields (the same rules the filter applies to its config).
    pub fn validate(&self) -> Result<(), ProfileError> {
        check_host("host", &self.host)?;
        if self.port == 0 {
            return Err(profile_err("port", "must be 1..=65535"));
        }
        if self.database > 15 {
            return Err(profile_err("database", "must be 0..=15"));
        }
        for (field, value) in [
            ("password", &self.password),
            ("auth_token", &self.auth_token),
            ("user", &self.user),
        ] {
            if let Some(v) = value {
                if v.is_empty() || v.len() > MAX_SECRET_LEN {
                    return Err(profile_err(field, "must be 1..=4096 bytes"));
                }
            }
        }
        match self.redis_type {
            RedisType::Traditional => {
                let managed_only = [
                    ("ssl_enabled", self.ssl_enabled),
                    ("auth_token", self.auth_token.is_some()),
                    ("user", self.user.is_some()),
                    ("cluster_mode", self.cluster_mode),
                    ("cluster_endpoint", self.cluster_endpoint.is_some()),
                ];
                if let Some((field, _)) = managed_only.iter().find(|(_, set)| *set) {
                    return Err(profile_err(field, "is for managed mode only"));
                }
            }
            RedisType::Managed => {
                if self.password.is_some() {
                    return Err(profile_err(
                        "password",
                        "is for traditional mode; managed mode authenticates with the auth token",
                    ));
                }
                if self.user.is_some() && self.auth_token.is_none() {
                    return Err(profile_err("user", "requires auth_token"));
                }
                match (&self.cluster_endpoint, self.cluster_mode) {
                    (Some(_), false) => {
                        return Err(profile_err("cluster_endpoint", "requires cluster_mode"))
                    }
                    (None, true) => {
                        return Err(profile_err("cluster_mode", "requires cluster_endpoint"))
                    }
                    _ => {}
                }
                if self.cluster_mode && self.database != 0 {
                    return Err(profile_err("database", "must be 0 in cluster mode"));
                }
                self.endpoint()?;
            }
        }
        Ok(())
    }

    /// The `(host, port)` the bridge connects to first: the cluster configuration endpoint
    /// (`host` or `host:port`, port defaulting to `port`) in cluster mode, else `host`/`port`.
    pub fn endpoint(&self) -> Result<(&str, u16), ProfileError> {
        let Some(endpoint) = self
            .cluster_endpoint
            .as_deref()
            .filter(|_| self.cluster_mode)
        else {
            return Ok((&self.host, self.port));
        };
        let (host, port) = split_host_port(endpoint)
            .ok_or_else(|| profile_err("cluster_endpoint", "must be host or host:port"))?;
        check_host("cluster_endpoint", host)?;
        Ok((host, port.unwrap_or(self.port)))
    }

    /// The user and secret to authenticate with, if any.
    pub fn credentials(&self) -> (Option<&str>, Option<&str>) {
        match self.redis_type {
            RedisType::Traditional => (None, self.password.as_deref()),
            RedisType::Managed => (self.user.as_deref(), self.auth_token.as_deref()),
        }
    }

    /// True when the connection uses TLS.
    pub fn uses_tls(&self) -> bool {
        self.redis_type == RedisType::Managed && self.ssl_enabled
    }
}

fn check_host(field: &'static str, host: &str) -> Result<(), ProfileError> {
    let ok = !host.is_empty()
        && host.len() <= MAX_HOST_LEN
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'));
    if ok {
        Ok(())
    } else {
        Err(profile_err(field, "must be a host name or IP address"))
    }
}

/// Splits `host`, `host:port`, `[v6]` or `[v6]:port`; `None` when the port is not a number.
fn split_host_port(text: &str) -> Option<(&str, Option<u16>)> {
    let parse_port = |p: &str| p.parse::<u16>().ok().filter(|p| *p != 0);
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(p) => Some((host, Some(parse_port(p)?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match text.rsplit_once(':') {
        Some((host, p)) if !host.contains(':') => Some((host, Some(parse_port(p)?))),
        Some(_) => Some((text, None)),
        None => Some((text, None)),
    }
}

/// A placeholder and its original.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub placeholder: String,
    pub original: String,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Entry {{ placeholder: {:?}, original: <{} bytes> }}",
            self.placeholder,
            self.original.len()
        )
    }
}

/// `POST /v1/mappings`: store `store`, look up `lookup`, both under `profile`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingsRequest {
    pub profile: RedisProfile,
    /// Seconds each stored (or refreshed) key lives.
    pub ttl: u32,
    #[serde(default)]
    pub store: Vec<Entry>,
    #[serde(default)]
    pub lookup: Vec<String>,
}

/// The answer to a [`MappingsRequest`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingsResponse {
    /// Keys newly written.
    pub stored: u32,
    /// Keys that already held the same original; their TTL was reset.
    pub refreshed: u32,
    /// Placeholders whose key holds a different original (left unchanged).
    #[serde(default)]
    pub conflicts: Vec<String>,
    /// Looked-up placeholders that Redis knows; unknown ones are absent.
    #[serde(default)]
    pub found: Vec<Entry>,
}

/// `POST /readyz`: is Redis reachable with this profile?
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadyRequest {
    pub profile: RedisProfile,
}

/// The answer to a successful readiness probe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadyResponse {
    pub ready: bool,
    /// Profiles checked (for `GET /readyz`, every profile in use).
    pub checked: u32,
}

/// What went wrong, for the filter's counters and decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not a valid message (shape, sizes, profile rules).
    BadRequest,
    PayloadTooLarge,
    NotFound,
    MethodNotAllowed,
    /// The profile's endpoint is not in the bridge's `--allow-redis` list.
    EndpointNotAllowed,
    /// Wrong password, token or user.
    RedisAuth,
    /// The user may not run a command (ACL `NOPERM`).
    RedisPermission,
    /// TLS handshake or certificate verification failed.
    RedisTls,
    /// The host name does not resolve.
    RedisUnknownHost,
    /// Connection refused or dropped.
    RedisUnreachable,
    /// Connecting or answering took too long.
    RedisTimeout,
    /// Any other Redis error.
    RedisError,
    /// The bridge is shutting down.
    ShuttingDown,
    Internal,
    /// A code this version does not know (sent by a newer bridge).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The HTTP status the bridge answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::EndpointNotAllowed => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::RedisTimeout => 504,
            ErrorCode::ShuttingDown => 503,
            ErrorCode::Internal | ErrorCode::Unknown => 500,
            ErrorCode::RedisAuth
            | ErrorCode::RedisPermission
            | ErrorCode::RedisTls
            | ErrorCode::RedisUnknownHost
            | ErrorCode::RedisUnreachable
            | ErrorCode::RedisError => 502,
        }
    }

    /// The code as it appears on the wire and in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::EndpointNotAllowed => "endpoint_not_allowed",
            ErrorCode::RedisAuth => "redis_auth",
            ErrorCode::RedisPermission => "redis_permission",
            ErrorCode::RedisTls => "redis_tls",
            ErrorCode::RedisUnknownHost => "redis_unknown_host",
            ErrorCode::RedisUnreachable => "redis_unreachable",
            ErrorCode::RedisTimeout => "redis_timeout",
            ErrorCode::RedisError => "redis_error",
            ErrorCode::ShuttingDown => "shutting_down",
            ErrorCode::Internal => "internal",
            ErrorCode::Unknown => "unknown",
        }
    }
}

/// The body of every non-2xx answer: `{"error": {"code", "message"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// An error code and a human-readable message (never an original or a secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            error: ErrorDetail {
                code,
                message: message.into(),
            },
        }
    }
}

/// Which part of JSON decoding failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonProblem {
    /// Not JSON.
    Syntax,
    /// JSON, but not the expected fields or types.
    Data,
    /// Cut short.
    Eof,
}

/// Why a message could not be encoded or decoded. Never quotes the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    TooLarge {
        len: usize,
        max: usize,
    },
    Malformed {
        problem: JsonProblem,
        line: usize,
        column: usize,
    },
    TooManyEntries {
        field: &'static str,
        count: usize,
        max: usize,
    },
    NotAPlaceholder {
        field: &'static str,
        index: usize,
    },
    EmptyOriginal {
        field: &'static str,
        index: usize,
    },
    OriginalTooLong {
        field: &'static str,
        index: usize,
        len: usize,
        max: usize,
    },
    BadTtl {
        ttl: u32,
        min: u32,
        max: u32,
    },
    Profile(ProfileError),
    Encode,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::TooLarge { len, max } => {
                write!(f, "message of {len} bytes exceeds {max} bytes")
            }
            ProtocolError::Malformed {
                problem,
                line,
                column,
            } => {
                let what = match problem {
                    JsonProblem::Syntax => "invalid json",
                    JsonProblem::Data => "unexpected fields or types",
                    JsonProblem::Eof => "truncated json",
                };
                write!(f, "{what} at line {line} column {column}")
            }
            ProtocolError::TooManyEntries { field, count, max } => {
                write!(f, "`{field}` has {count} entries, more than {max}")
            }
            ProtocolError::NotAPlaceholder { field, index } => {
                write!(f, "`{field}` entry {index} is not a placeholder")
            }
            ProtocolError::EmptyOriginal { field, index } => {
                write!(f, "`{field}` entry {index} has an empty original")
            }
            ProtocolError::OriginalTooLong {
                field,
                index,
                len,
                max,
            } => write!(
                f,
                "`{field}` entry {index} has an original of {len} bytes, more than {max}"
            ),
            ProtocolError::BadTtl { ttl, min, max } => {
                write!(f, "ttl {ttl} is outside {min}..={max}")
            }
            ProtocolError::Profile(e) => e.fmt(f),
            ProtocolError::Encode => f.write_str("message could not be encoded"),
        }
    }
}

impl std::error::Error for ProtocolError {}

impl From<ProfileError> for ProtocolError {
    fn from(e: ProfileError) -> Self {
        ProtocolError::Profile(e)
    }
}

/// A message of this API: it knows which limits it must respect.
pub trait Message: Serialize + DeserializeOwned {
    /// Checks sizes and shapes beyond what serde checks.
    fn check(&self) -> Result<(), ProtocolError>;
}

/// Checks `message` and encodes it as JSON.
pub fn encode<M: Message>(message: &M) -> Result<Vec<u8>, ProtocolError> {
    message.check()?;
    let bytes = serde_json::to_vec(message).map_err(|_| ProtocolError::Encode)?;
    check_len(bytes.len())?;
    Ok(bytes)
}

/// Decodes a JSON message and checks it.
pub fn decode<M: Message>(bytes: &[u8]) -> Result<M, ProtocolError> {
    check_len(bytes.len())?;
    let message: M = serde_json::from_slice(bytes).map_err(|e| {
        let problem = match e.classify() {
            serde_json::error::Category::Data => JsonProblem::Data,
            serde_json::error::Category::Eof => JsonProblem::Eof,
            _ => JsonProblem::Syntax,
        };
        ProtocolError::Malformed {
            problem,
            line: e.line(),
            column: e.column(),
        }
    })?;
    message.check()?;
    Ok(message)
}

fn check_len(len: usize) -> Result<(), ProtocolError> {
    if len > MAX_BODY_BYTES {
        return Err(ProtocolError::TooLarge {
            len,
            max: MAX_BODY_BYTES,
        });
    }
    Ok(())
}

fn check_count(field: &'static str, count: usize) -> Result<(), ProtocolError> {
    if count > MAX_ENTRIES {
        return Err(ProtocolError::TooManyEntries {
            field,
            count,
            max: MAX_ENTRIES,
        });
    }
    Ok(())
}

fn check_placeholders<'a>(
    field: &'static str,
    placeholders: impl Iterator<Item = &'a str>,
) -> Result<(), ProtocolError> {
    for (index, p) in placeholders.enumerate() {
        if !is_placeholder(p) {
            return Err(ProtocolError::NotAPlaceholder { field, index });
        }
    }
    Ok(())
}

fn check_entries(field: &'static str, entries: &[Entry]) -> Result<(), ProtocolError> {
    check_count(field, entries.len())?;
    check_placeholders(field, entries.iter().map(|e| e.placeholder.as_str()))?;
    for (index, e) in entries.iter().enumerate() {
        let len = e.original.len();
        if len == 0 {
            return Err(ProtocolError::EmptyOriginal { field, index });
        }
        if len > MAX_ORIGINAL_LEN {
            return Err(ProtocolError::OriginalTooLong {
                field,
                index,
                len,
                max: MAX_ORIGINAL_LEN,
            });
        }
    }
    Ok(())
}

impl Message for MappingsRequest {
    fn check(&self) -> Result<(), ProtocolError> {
        self.profile.validate()?;
        if !(MIN_TTL..=MAX_TTL).contains(&self.ttl) {
            return Err(ProtocolError::BadTtl {
                ttl: self.ttl,
                min: MIN_TTL,
                max: MAX_TTL,
            });
        }
        check_entries("store", &self.store)?;
        check_count("lookup", self.lookup.len())?;
        check_placeholders("lookup", self.lookup.iter().map(String::as_str))
    }
}

impl Message for MappingsResponse {
    fn check(&self) -> Result<(), ProtocolError> {
        check_count("conflicts", self.conflicts.len())?;
        check_placeholders("conflicts", self.conflicts.iter().map(String::as_str))?;
        check_entries("found", &self.found)
    }
}

impl Message for ReadyRequest {
    fn check(&self) -> Result<(), ProtocolError> {
        Ok(self.profile.validate()?)
    }
}

impl Message for ReadyResponse {
    fn check(&self) -> Result<(), ProtocolError> {
        Ok(())
    }
}

impl Message for ErrorBody {
    fn check(&self) -> Result<(), ProtocolError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P1: &str = "AWS_EC2_ABCDEFGHIJKLM";
    const P2: &str = "AWS_ARN_IAM_ROLE_ABCDEFGHIJ234";

    fn entry(p: &str, o: &str) -> Entry {
        Entry {
            placeholder: p.into(),
            original: o.into(),
        }
    }

    fn request() -> MappingsRequest {
        MappingsRequest {
            profile: RedisProfile {
                password: Some("s3cret-pw".into()),
                ..RedisProfile::default()
            },
            ttl: 60,
            store: vec![entry(P1, "i-0b263919b6498b123")],
            lookup: vec![P2.into()],
        }
    }

    fn managed() -> RedisProfile {
        RedisProfile {
            redis_type: RedisType::Managed,
            host: "master.example.cache.amazonaws.com".into(),
            ssl_enabled: true,
            auth_token: Some("tok-123".into()),
            ..RedisProfile::default()
        }
    }

    #[test]
    fn request_round_trips() {
        let r = request();
        let bytes = encode(&r).unwrap();
        assert_eq!(decode::<MappingsRequest>(&bytes).unwrap(), r);
    }

    #[test]
    fn response_round_trips() {
        let r = MappingsResponse {
            stored: 3,
            refreshed: 1,
            conflicts: vec![P1.into()],
            found: vec![entry(P2, "arn:aws:iam::123456789012:role/x \"quoted\"")],
        };
        let bytes = encode(&r).unwrap();
        assert_eq!(decode::<MappingsResponse>(&bytes).unwrap(), r);
    }

    #[test]
    fn error_body_round_trips_with_wire_names() {
        let e = ErrorBody::new(
            ErrorCode::EndpointNotAllowed,
            "endpoint 10.0.0.1:6379 is not allowed",
        );
        let bytes = encode(&e).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains(r#""code":"endpoint_not_allowed""#), "{text}");
        assert_eq!(decode::<ErrorBody>(&bytes).unwrap(), e);
        assert_eq!(ErrorCode::EndpointNotAllowed.http_status(), 403);
    }

    #[test]
    fn unknown_error_code_decodes_as_unknown() {
        let body = br#"{"error":{"code":"brand_new","message":"m"}}"#;
        let e = decode::<ErrorBody>(body).unwrap();
        assert_eq!(e.error.code, ErrorCode::Unknown);
    }

    #[test]
    fn every_code_names_itself_as_serde_does() {
        for code in [
            ErrorCode::BadRequest,
            ErrorCode::PayloadTooLarge,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::EndpointNotAllowed,
            ErrorCode::RedisAuth,
            ErrorCode::RedisPermission,
            ErrorCode::RedisTls,
            ErrorCode::RedisUnknownHost,
            ErrorCode::RedisUnreachable,
            ErrorCode::RedisTimeout,
            ErrorCode::RedisError,
            ErrorCode::ShuttingDown,
            ErrorCode::Internal,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert!((400..600).contains(&code.http_status()));
        }
    }

    #[test]
    fn profile_defaults_fill_missing_fields() {
        let r: MappingsRequest =
            decode(format!(r#"{{"profile":{{}},"ttl":60,"lookup":["{P1}"]}}"#).as_bytes()).unwrap();
        assert_eq!(r.profile, RedisProfile::default());
        assert!(r.profile.ssl_verify);
        assert!(r.store.is_empty());
    }

    #[test]
    fn rejects_unknown_fields_everywhere() {
        for body in [
            r#"{"profile":{},"ttl":60,"extra":1}"#.to_string(),
            r#"{"profile":{"redis_hostname":"x"},"ttl":60}"#.to_string(),
            format!(
                r#"{{"profile":{{}},"ttl":60,"store":[{{"placeholder":"{P1}","original":"x","kind":"EC2"}}]}}"#
            ),
        ] {
            let err = decode::<MappingsRequest>(body.as_bytes()).unwrap_err();
            assert!(
                matches!(
                    err,
                    ProtocolError::Malformed {
                        problem: JsonProblem::Data,
                        ..
                    }
                ),
                "{body}: {err:?}"
            );
        }
    }

    #[test]
    fn rejects_malformed_json_without_quoting_it() {
        let err = decode::<MappingsRequest>(br#"{"profile":{},"ttl":"i-0b263919b6498b123"}"#)
            .unwrap_err();
        assert!(!err.to_string().contains("i-0b263919b6498b123"), "{err}");
        assert!(matches!(err, ProtocolError::Malformed { .. }));
        let err = decode::<MappingsRequest>(br#"{"profile":{},"ttl":6"#).unwrap_err();
        assert!(
            matches!(
                err,
                ProtocolError::Malformed {
                    problem: JsonProblem::Eof,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = decode::<MappingsRequest>(b"not json").unwrap_err();
        assert!(
            matches!(
                err,
                ProtocolError::Malformed {
                    problem: JsonProblem::Syntax,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn rejects_oversized_bodies_before_parsing() {
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(
            decode::<MappingsRequest>(&big).unwrap_err(),
            ProtocolError::TooLarge {
                len: MAX_BODY_BYTES + 1,
                max: MAX_BODY_BYTES
            }
        );
    }

    #[test]
    fn rejects_too_many_entries_both_ways() {
        let mut r = request();
        r.lookup = vec![P1.to_string(); MAX_ENTRIES + 1];
        assert_eq!(
            encode(&r).unwrap_err(),
            ProtocolError::TooManyEntries {
                field: "lookup",
                count: MAX_ENTRIES + 1,
                max: MAX_ENTRIES
            }
        );
        let json = serde_json::to_vec(&r).unwrap();
        assert!(matches!(
            decode::<MappingsRequest>(&json),
            Err(ProtocolError::TooManyEntries {
                field: "lookup",
                ..
            })
        ));
        r.lookup = vec![P1.to_string(); MAX_ENTRIES];
        assert!(encode(&r).is_ok());

        let resp = MappingsResponse {
            found: vec![entry(P1, "x"); MAX_ENTRIES + 1],
            ..MappingsResponse::default()
        };
        let json = serde_json::to_vec(&resp).unwrap();
        assert!(matches!(
            decode::<MappingsResponse>(&json),
            Err(ProtocolError::TooManyEntries { field: "found", .. })
        ));
    }

    #[test]
    fn rejects_bad_originals_and_placeholders() {
        let mut r = request();
        r.store = vec![
            entry(P1, "ok"),
            entry(P2, &"a".repeat(MAX_ORIGINAL_LEN + 1)),
        ];
        assert_eq!(
            encode(&r).unwrap_err(),
            ProtocolError::OriginalTooLong {
                field: "store",
                index: 1,
                len: MAX_ORIGINAL_LEN + 1,
                max: MAX_ORIGINAL_LEN
            }
        );
        r.store = vec![entry(P1, "")];
        assert_eq!(
            encode(&r).unwrap_err(),
            ProtocolError::EmptyOriginal {
                field: "store",
                index: 0
            }
        );
        for bad in [
            "AWS_REGION",
            "AWS_EC2_ABCDEFGHIJKLM ",
            "aws_ec2_abcdefghijklm",
            "AWS_EC2_ABCDEFGHIJKL1",
            "",
        ] {
            let mut r = request();
            r.lookup = vec![P1.into(), bad.into()];
            assert_eq!(
                encode(&r).unwrap_err(),
                ProtocolError::NotAPlaceholder {
                    field: "lookup",
                    index: 1
                },
                "{bad:?}"
            );
        }
        let resp = MappingsResponse {
            conflicts: vec!["i-0b263919b6498b123".into()],
            ..MappingsResponse::default()
        };
        assert!(matches!(
            encode(&resp),
            Err(ProtocolError::NotAPlaceholder {
                field: "conflicts",
                index: 0
            })
        ));
    }

    #[test]
    fn rejects_ttl_outside_range() {
        for ttl in [0, MAX_TTL + 1] {
            let mut r = request();
            r.ttl = ttl;
            assert!(
                matches!(encode(&r), Err(ProtocolError::BadTtl { .. })),
                "{ttl}"
            );
        }
    }

    #[test]
    fn profile_rules() {
        let ok = [
            RedisProfile::default(),
            managed(),
            RedisProfile {
                user: Some("masker".into()),
                ..managed()
            },
            RedisProfile {
                cluster_mode: true,
                cluster_endpoint: Some("cfg.example.cache.amazonaws.com:7000".into()),
                ..managed()
            },
        ];
        for p in ok {
            assert_eq!(p.validate(), Ok(()), "{p:?}");
        }
        let bad = [
            (
                RedisProfile {
                    ssl_enabled: true,
                    ..RedisProfile::default()
                },
                "ssl_enabled",
            ),
            (
                RedisProfile {
                    auth_token: Some("t".into()),
                    ..RedisProfile::default()
                },
                "auth_token",
            ),
            (
                RedisProfile {
                    cluster_mode: true,
                    ..RedisProfile::default()
                },
                "cluster_mode",
            ),
            (
                RedisProfile {
                    password: Some("p".into()),
                    ..managed()
                },
                "password",
            ),
            (
                RedisProfile {
                    user: Some("u".into()),
                    auth_token: None,
                    ..managed()
                },
                "user",
            ),
            (
                RedisProfile {
                    cluster_mode: true,
                    ..managed()
                },
                "cluster_mode",
            ),
            (
                RedisProfile {
                    cluster_endpoint: Some("cfg:6379".into()),
                    ..managed()
                },
                "cluster_endpoint",
            ),
            (
                RedisProfile {
                    cluster_mode: true,
                    cluster_endpoint: Some("cfg:notaport".into()),
                    ..managed()
                },
                "cluster_endpoint",
            ),
            (
                RedisProfile {
                    cluster_mode: true,
                    cluster_endpoint: Some("cfg".into()),
                    database: 2,
                    ..managed()
                },
                "database",
            ),
            (
                RedisProfile {
                    database: 16,
                    ..RedisProfile::default()
                },
                "database",
            ),
            (
                RedisProfile {
                    port: 0,
                    ..RedisProfile::default()
                },
                "port",
            ),
            (
                RedisProfile {
                    host: String::new(),
                    ..RedisProfile::default()
                },
                "host",
            ),
            (
                RedisProfile {
                    host: "a b".into(),
                    ..RedisProfile::default()
                },
                "host",
            ),
            (
                RedisProfile {
                    password: Some(String::new()),
                    ..RedisProfile::default()
                },
                "password",
            ),
        ];
        for (p, field) in bad {
            assert_eq!(p.validate().map_err(|e| e.field), Err(field), "{p:?}");
        }
    }

    #[test]
    fn endpoint_and_credentials_follow_the_mode() {
        let p = RedisProfile {
            cluster_mode: true,
            cluster_endpoint: Some("cfg.example:7000".into()),
            user: Some("u".into()),
            ..managed()
        };
        assert_eq!(p.endpoint(), Ok(("cfg.example", 7000)));
        assert_eq!(p.credentials(), (Some("u"), Some("tok-123")));
        assert!(p.uses_tls());
        let p = RedisProfile {
            cluster_endpoint: Some("[::1]".into()),
            port: 6380,
            ..p
        };
        assert_eq!(p.endpoint(), Ok(("::1", 6380)));
        let t = RedisProfile {
            host: "10.0.0.5".into(),
            port: 6390,
            password: Some("pw".into()),
            ..RedisProfile::default()
        };
        assert_eq!(t.endpoint(), Ok(("10.0.0.5", 6390)));
        assert_eq!(t.credentials(), (None, Some("pw")));
        assert!(!t.uses_tls());
    }

    #[test]
    fn debug_redacts_secrets_and_originals() {
        let mut r = request();
        r.profile = RedisProfile {
            auth_token: Some("tok-very-secret".into()),
            ..managed()
        };
        let resp = MappingsResponse {
            found: vec![entry(P1, "i-0b263919b6498b123")],
            ..MappingsResponse::default()
        };
        let text = format!("{r:?} {resp:?} {:?}", request());
        for secret in ["tok-very-secret", "s3cret-pw", "i-0b263919b6498b123"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("<redacted>"));
        assert!(text.contains(P1));
    }

    #[test]
    fn keys_are_prefixed() {
        assert_eq!(redis_key(P1), format!("aws-masker:v1:{P1}"));
    }
}
