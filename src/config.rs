//! The filter configuration: the JSON object Kong passes to `on_configure`, parsed strictly
//! into a validated [`Config`].
//!
//! Two steps: a wire struct (serde, unknown fields rejected, defaults of `docs/CONFIG.md`) is
//! converted with `TryFrom` into [`Config`]. Every error is a [`ConfigError`] that names the
//! field and never repeats the value (it may be a secret).
//!
//! ```
//! use aws_masker::config::{parse, Mode};
//!
//! let config = parse(br#"{"token_secret": "0123456789abcdef0123456789abcdef", "mode": "detect"}"#).unwrap();
//! assert_eq!(config.mode, Mode::Detect);
//! assert_eq!(config.max_body_bytes, 4_194_304);
//!
//! let err = parse(br#"{"token_secret": "short"}"#).unwrap_err();
//! assert_eq!(err.field(), "token_secret");
//! assert!(err.to_string().starts_with("token_secret: must be at least 32 characters"));
//! ```

use std::fmt;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::detect::{CustomPattern, DetectorConfig};
use crate::placeholder::{is_valid_label, MAX_LABEL_LEN};

/// Minimum length of `token_secret`, in characters.
pub const MIN_SECRET_CHARS: usize = 32;

/// What the filter does with what it finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Mask requests, restore responses, block what cannot be masked.
    Enforce,
    /// Count and log kinds only; forward everything unchanged.
    Detect,
}

/// What to do when storing mappings through the bridge fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnStoreFailure {
    Block,
    Continue,
}

/// Which Redis the bridge talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedisType {
    Traditional,
    /// AWS ElastiCache.
    Managed,
}

/// A string that must never be printed: `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the code that uses it (never for logs).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted {} bytes>", self.0.len())
    }
}

/// Where the bridge listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BridgeAddress {
    /// `host:port` (a name, an IPv4 address or `[IPv6]`).
    Tcp { host: String, port: u16 },
    /// `unix:/path`.
    Unix(String),
}

/// Circuit breaker thresholds for the bridge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Circuit {
    pub failure_threshold: u32,
    pub open_seconds: u32,
    pub success_threshold: u32,
}

/// Redis or ElastiCache connection settings, carried to the bridge in each call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redis {
    pub kind: RedisType,
    pub host: String,
    pub port: u16,
    pub password: Option<Secret>,
    pub database: u8,
    pub ssl_enabled: bool,
    pub ssl_verify: bool,
    pub auth_token: Option<Secret>,
    pub user: Option<String>,
    pub cluster_mode: bool,
    pub cluster_endpoint: Option<String>,
}

/// Storage of mappings through the bridge (issue 5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Store {
    pub use_redis: bool,
    pub mapping_ttl_seconds: u32,
    pub bridge_address: BridgeAddress,
    pub bridge_timeout_ms: u32,
    pub on_failure: OnStoreFailure,
    pub circuit: Circuit,
    pub redis: Redis,
}

/// A validated configuration. Build it with [`parse`] or `Config::try_from(&[u8])`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub mode: Mode,
    pub token_secret: Secret,
    /// What to detect, from the kind switches, `disabled_kinds`, `allowlist` and `custom_patterns`.
    pub detector: DetectorConfig,
    pub max_body_bytes: usize,
    /// Status of a block caused by the request.
    pub block_status: u16,
    /// Keep issued mappings in the node's shared data (needs a `shm_kv` zone).
    pub node_cache: bool,
    pub store: Store,
}

/// What is wrong with a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    Required,
    InvalidJson { line: usize, column: usize },
    NotAnObject,
    UnknownField,
    WrongType { expected: &'static str },
    OutOfRange { min: u64, max: u64 },
    OneOf { allowed: &'static [&'static str] },
    SecretTooShort { min: usize },
    SecretPlaceholder,
    Empty,
    BadLabel,
    BadAddress,
    Requires { other: &'static str },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Required => f.write_str("required"),
            Problem::InvalidJson { line, column } => {
                write!(f, "not valid JSON (line {line}, column {column})")
            }
            Problem::NotAnObject => f.write_str("must be a JSON object"),
            Problem::UnknownField => f.write_str("unknown field"),
            Problem::WrongType { expected } => write!(f, "must be {expected}"),
            Problem::OutOfRange { min, max } => write!(f, "must be between {min} and {max}"),
            Problem::OneOf { allowed } => write!(f, "must be one of {}", allowed.join(", ")),
            Problem::SecretTooShort { min } => write!(
                f,
                "must be at least {min} characters (make one with: openssl rand -base64 48)"
            ),
            Problem::SecretPlaceholder => f.write_str(
                "looks like a placeholder value, not a secret (make one with: openssl rand -base64 48)",
            ),
            Problem::Empty => f.write_str("must not be empty"),
            Problem::BadLabel => write!(
                f,
                "must match [A-Z][A-Z0-9_]* and be at most {MAX_LABEL_LEN} characters"
            ),
            Problem::BadAddress => f.write_str("must be host:port or unix:/path"),
            Problem::Requires { other } => write!(f, "requires {other}"),
        }
    }
}

/// An invalid configuration: which field, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    field: String,
    problem: Problem,
}

impl ConfigError {
    /// An error on `field` (e.g. `custom_patterns[1].regex`).
    pub fn new(field: impl Into<String>, problem: Problem) -> Self {
        ConfigError {
            field: field.into(),
            problem,
        }
    }

    pub fn field(&self) -> &str {
        &self.field
    }

    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl std::error::Error for ConfigError {}

/// Parses and validates the plugin configuration. Empty input (Kong's missing config) is an
/// error on `token_secret`, the one required field.
pub fn parse(bytes: &[u8]) -> Result<Config, ConfigError> {
    Config::try_from(bytes)
}

impl TryFrom<&[u8]> for Config {
    type Error = ConfigError;

    fn try_from(bytes: &[u8]) -> Result<Self, ConfigError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ConfigError::new("token_secret", Problem::Required));
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            ConfigError::new(
                "config",
                Problem::InvalidJson {
                    line: e.line(),
                    column: e.column(),
                },
            )
        })?;
        let Value::Object(object) = value else {
            return Err(ConfigError::new("config", Problem::NotAnObject));
        };
        Config::try_from(wire_from_object(object)?)
    }
}

/// Deserializes the wire struct; on failure, finds the field to blame by deserializing each
/// field alone (every wire field has a default, so a one-field object fails only on that field).
fn wire_from_object(object: Map<String, Value>) -> Result<Wire, ConfigError> {
    let value = Value::Object(object);
    if let Ok(wire) = Wire::deserialize(&value) {
        return Ok(wire);
    }
    if let Value::Object(object) = value {
        for (key, field) in object {
            let single = Value::Object(Map::from_iter([(key.clone(), field)]));
            if Wire::deserialize(&single).is_err() {
                return Err(match expected_type(&key) {
                    Some(expected) => ConfigError::new(key, Problem::WrongType { expected }),
                    None => ConfigError::new(shorten(key), Problem::UnknownField),
                });
            }
        }
    }
    Err(ConfigError::new("config", Problem::NotAnObject))
}

/// Unknown field names are user input: keep log lines short.
fn shorten(mut key: String) -> String {
    if key.len() > 64 {
        let mut end = 64;
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        key.truncate(end);
        key.push_str("...");
    }
    key
}

const STRING: &str = "a string";
const BOOL: &str = "true or false";
const INTEGER: &str = "an integer";
const NULLABLE_STRING: &str = "a string or null";
const STRINGS: &str = "an array of strings";
const PATTERNS: &str =
    "an array of {name, regex, kind} objects with string values and no other fields";

/// The JSON type each field takes, for error messages (never echo the value).
fn expected_type(field: &str) -> Option<&'static str> {
    Some(match field {
        "mode" | "token_secret" | "on_store_failure" | "redis_type" | "redis_host"
        | "bridge_address" => STRING,
        "mask_ec2_instances"
        | "mask_s3_buckets"
        | "mask_rds_instances"
        | "mask_private_ips"
        | "mask_bare_account_ids"
        | "node_cache"
        | "use_redis"
        | "redis_ssl_enabled"
        | "redis_ssl_verify"
        | "redis_cluster_mode" => BOOL,
        "max_body_bytes"
        | "block_status"
        | "mapping_ttl"
        | "bridge_timeout_ms"
        | "circuit_failure_threshold"
        | "circuit_open_seconds"
        | "circuit_success_threshold"
        | "redis_port"
        | "redis_database" => INTEGER,
        "redis_password" | "redis_auth_token" | "redis_user" | "redis_cluster_endpoint" => {
            NULLABLE_STRING
        }
        "disabled_kinds" | "allowlist" => STRINGS,
        "custom_patterns" => PATTERNS,
        _ => return None,
    })
}

fn default_true() -> bool {
    true
}
fn default_mode() -> String {
    "enforce".into()
}
fn default_max_body_bytes() -> i64 {
    4_194_304
}
fn default_block_status() -> i64 {
    400
}
fn default_mapping_ttl() -> i64 {
    86_400
}
fn default_bridge_address() -> String {
    "127.0.0.1:7380".into()
}
fn default_bridge_timeout_ms() -> i64 {
    500
}
fn default_on_store_failure() -> String {
    "block".into()
}
fn default_circuit_failure_threshold() -> i64 {
    5
}
fn default_circuit_open_seconds() -> i64 {
    30
}
fn default_circuit_success_threshold() -> i64 {
    3
}
fn default_redis_type() -> String {
    "traditional".into()
}
fn default_redis_host() -> String {
    "127.0.0.1".into()
}
fn default_redis_port() -> i64 {
    6379
}

/// The configuration as it arrives: defaults of `docs/CONFIG.md`, nothing validated yet.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    #[serde(default = "default_mode")]
    mode: String,
    #[serde(default)]
    token_secret: Option<String>,
    #[serde(default = "default_true")]
    mask_ec2_instances: bool,
    #[serde(default = "default_true")]
    mask_s3_buckets: bool,
    #[serde(default = "default_true")]
    mask_rds_instances: bool,
    #[serde(default = "default_true")]
    mask_private_ips: bool,
    #[serde(default)]
    mask_bare_account_ids: bool,
    #[serde(default)]
    disabled_kinds: Vec<String>,
    #[serde(default)]
    allowlist: Vec<String>,
    #[serde(default)]
    custom_patterns: Vec<WirePattern>,
    #[serde(default = "default_max_body_bytes")]
    max_body_bytes: i64,
    #[serde(default = "default_block_status")]
    block_status: i64,
    #[serde(default)]
    node_cache: bool,
    #[serde(default)]
    use_redis: bool,
    #[serde(default = "default_mapping_ttl")]
    mapping_ttl: i64,
    #[serde(default = "default_bridge_address")]
    bridge_address: String,
    #[serde(default = "default_bridge_timeout_ms")]
    bridge_timeout_ms: i64,
    #[serde(default = "default_on_store_failure")]
    on_store_failure: String,
    #[serde(default = "default_circuit_failure_threshold")]
    circuit_failure_threshold: i64,
    #[serde(default = "default_circuit_open_seconds")]
    circuit_open_seconds: i64,
    #[serde(default = "default_circuit_success_threshold")]
    circuit_success_threshold: i64,
    #[serde(default = "default_redis_type")]
    redis_type: String,
    #[serde(default = "default_redis_host")]
    redis_host: String,
    #[serde(default = "default_redis_port")]
    redis_port: i64,
    #[serde(default)]
    redis_password: Option<String>,
    #[serde(default)]
    redis_database: i64,
    #[serde(default)]
    redis_ssl_enabled: bool,
    #[serde(default = "default_true")]
    redis_ssl_verify: bool,
    #[serde(default)]
    redis_auth_token: Option<String>,
    #[serde(default)]
    redis_user: Option<String>,
    #[serde(default)]
    redis_cluster_mode: bool,
    #[serde(default)]
    redis_cluster_endpoint: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WirePattern {
    name: String,
    regex: String,
    kind: String,
}

fn one_of<T: Copy>(
    field: &'static str,
    value: &str,
    table: &[(&'static str, T)],
    allowed: &'static [&'static str],
) -> Result<T, ConfigError> {
    table
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, v)| *v)
        .ok_or_else(|| ConfigError::new(field, Problem::OneOf { allowed }))
}

fn in_range<T: TryFrom<i64>>(
    field: &'static str,
    value: i64,
    min: u64,
    max: u64,
) -> Result<T, ConfigError> {
    let out_of_range = || ConfigError::new(field, Problem::OutOfRange { min, max });
    let unsigned = u64::try_from(value).map_err(|_| out_of_range())?;
    if unsigned < min || unsigned > max {
        return Err(out_of_range());
    }
    T::try_from(value).map_err(|_| out_of_range())
}

fn non_empty(field: &'static str, value: Option<String>) -> Result<Option<String>, ConfigError> {
    match value {
        Some(v) if v.trim().is_empty() => Err(ConfigError::new(field, Problem::Empty)),
        other => Ok(other),
    }
}

fn check_secret(secret: Option<String>) -> Result<Secret, ConfigError> {
    const FIELD: &str = "token_secret";
    let secret = secret.ok_or_else(|| ConfigError::new(FIELD, Problem::Required))?;
    if secret.chars().count() < MIN_SECRET_CHARS {
        return Err(ConfigError::new(
            FIELD,
            Problem::SecretTooShort {
                min: MIN_SECRET_CHARS,
            },
        ));
    }
    let lower = secret.to_ascii_lowercase();
    let mut chars = secret.chars();
    let first = chars.next();
    let all_same = chars.all(|c| Some(c) == first);
    if all_same
        || lower.starts_with("change-me")
        || lower.starts_with("changeme")
        || lower.starts_with("change_me")
    {
        return Err(ConfigError::new(FIELD, Problem::SecretPlaceholder));
    }
    Ok(Secret(secret))
}

fn parse_address(value: &str) -> Result<BridgeAddress, ConfigError> {
    let bad = || ConfigError::new("bridge_address", Problem::BadAddress);
    if let Some(path) = value.strip_prefix("unix:") {
        if path.len() > 1 && path.starts_with('/') && !path.contains(char::is_whitespace) {
            return Ok(BridgeAddress::Unix(value.to_owned()));
        }
        return Err(bad());
    }
    let (host, port) = value.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host_ok = if let Some(inner) = host.strip_prefix('[') {
        inner
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
    };
    if port == 0 || !host_ok {
        return Err(bad());
    }
    Ok(BridgeAddress::Tcp {
        host: host.to_owned(),
        port,
    })
}

/// Kinds switched off by the legacy switches of the original plugin.
const EC2_KINDS: &[&str] = &["EC2", "EC2_HOST"];
const S3_KINDS: &[&str] = &["BUCKET", "S3_HOST", "S3_URI", "ARN_S3"];
const RDS_KINDS: &[&str] = &["RDS_HOST", "ARN_RDS"];
const PRIVATE_IP_KINDS: &[&str] = &["PRIVATE_IP"];

fn detector_config(w: &mut Wire) -> Result<DetectorConfig, ConfigError> {
    let mut disabled: Vec<String> = Vec::new();
    let switches = [
        (w.mask_ec2_instances, EC2_KINDS),
        (w.mask_s3_buckets, S3_KINDS),
        (w.mask_rds_instances, RDS_KINDS),
        (w.mask_private_ips, PRIVATE_IP_KINDS),
    ];
    for (on, kinds) in switches {
        if !on {
            disabled.extend(kinds.iter().map(|k| (*k).to_owned()));
        }
    }
    for kind in std::mem::take(&mut w.disabled_kinds) {
        if !disabled.contains(&kind) {
            disabled.push(kind);
        }
    }
    if w.allowlist.iter().any(|v| v.is_empty()) {
        return Err(ConfigError::new("allowlist", Problem::Empty));
    }
    let mut custom_patterns = Vec::with_capacity(w.custom_patterns.len());
    for (i, p) in std::mem::take(&mut w.custom_patterns)
        .into_iter()
        .enumerate()
    {
        if p.name.trim().is_empty() {
            return Err(ConfigError::new(
                format!("custom_patterns[{i}].name"),
                Problem::Empty,
            ));
        }
        if p.regex.is_empty() {
            return Err(ConfigError::new(
                format!("custom_patterns[{i}].regex"),
                Problem::Empty,
            ));
        }
        if !is_valid_label(&p.kind) {
            return Err(ConfigError::new(
                format!("custom_patterns[{i}].kind"),
                Problem::BadLabel,
            ));
        }
        custom_patterns.push(CustomPattern {
            name: p.name,
            regex: p.regex,
            kind: p.kind,
        });
    }
    Ok(DetectorConfig {
        disabled,
        allowlist: std::mem::take(&mut w.allowlist),
        custom_patterns,
        bare_account_ids: w.mask_bare_account_ids,
    })
}

fn redis(w: &mut Wire) -> Result<Redis, ConfigError> {
    let kind = one_of(
        "redis_type",
        &w.redis_type,
        &[
            ("traditional", RedisType::Traditional),
            ("managed", RedisType::Managed),
        ],
        &["traditional", "managed"],
    )?;
    if w.redis_host.trim().is_empty() {
        return Err(ConfigError::new("redis_host", Problem::Empty));
    }
    let port = in_range("redis_port", w.redis_port, 1, 65_535)?;
    let database = in_range("redis_database", w.redis_database, 0, 15)?;
    let user = non_empty("redis_user", w.redis_user.take())?;
    let auth_token = non_empty("redis_auth_token", w.redis_auth_token.take())?;
    let cluster_endpoint = non_empty("redis_cluster_endpoint", w.redis_cluster_endpoint.take())?;
    let password = non_empty("redis_password", w.redis_password.take())?;
    if kind == RedisType::Managed {
        if w.redis_cluster_mode && cluster_endpoint.is_none() {
            return Err(ConfigError::new(
                "redis_cluster_mode",
                Problem::Requires {
                    other: "redis_cluster_endpoint",
                },
            ));
        }
        if cluster_endpoint.is_some() && !w.redis_cluster_mode {
            return Err(ConfigError::new(
                "redis_cluster_endpoint",
                Problem::Requires {
                    other: "redis_cluster_mode: true",
                },
            ));
        }
        if user.is_some() && auth_token.is_none() {
            return Err(ConfigError::new(
                "redis_user",
                Problem::Requires {
                    other: "redis_auth_token",
                },
            ));
        }
        if w.redis_cluster_mode && database != 0 {
            return Err(ConfigError::new(
                "redis_database",
                Problem::OutOfRange { min: 0, max: 0 },
            ));
        }
    }
    Ok(Redis {
        kind,
        host: std::mem::take(&mut w.redis_host),
        port,
        password: password.map(Secret),
        database,
        ssl_enabled: w.redis_ssl_enabled,
        ssl_verify: w.redis_ssl_verify,
        auth_token: auth_token.map(Secret),
        user,
        cluster_mode: w.redis_cluster_mode,
        cluster_endpoint,
    })
}

impl TryFrom<Wire> for Config {
    type Error = ConfigError;

    fn try_from(mut w: Wire) -> Result<Self, ConfigError> {
        let token_secret = check_secret(w.token_secret.take())?;
        let mode = one_of(
            "mode",
            &w.mode,
            &[("enforce", Mode::Enforce), ("detect", Mode::Detect)],
            &["enforce", "detect"],
        )?;
        let detector = detector_config(&mut w)?;
        let max_body_bytes = in_range("max_body_bytes", w.max_body_bytes, 1, 67_108_864)?;
        let block_status = in_range("block_status", w.block_status, 400, 599)?;
        let on_failure = one_of(
            "on_store_failure",
            &w.on_store_failure,
            &[
                ("block", OnStoreFailure::Block),
                ("continue", OnStoreFailure::Continue),
            ],
            &["block", "continue"],
        )?;
        let store = Store {
            use_redis: w.use_redis,
            mapping_ttl_seconds: in_range("mapping_ttl", w.mapping_ttl, 60, 2_592_000)?,
            bridge_address: parse_address(&w.bridge_address)?,
            bridge_timeout_ms: in_range("bridge_timeout_ms", w.bridge_timeout_ms, 1, 60_000)?,
            on_failure,
            circuit: Circuit {
                failure_threshold: in_range(
                    "circuit_failure_threshold",
                    w.circuit_failure_threshold,
                    1,
                    1000,
                )?,
                open_seconds: in_range("circuit_open_seconds", w.circuit_open_seconds, 1, 3600)?,
                success_threshold: in_range(
                    "circuit_success_threshold",
                    w.circuit_success_threshold,
                    1,
                    1000,
                )?,
            },
            redis: redis(&mut w)?,
        };
        Ok(Config {
            mode,
            token_secret,
            detector,
            max_body_bytes,
            block_status,
            node_cache: w.node_cache,
            store,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "Xq3v9Jk2Lm8Np4Rs7Tu1Wy6Za5Bc0DeF";

    fn with(extra: &str) -> String {
        if extra.is_empty() {
            format!(r#"{{"token_secret":"{SECRET}"}}"#)
        } else {
            format!(r#"{{"token_secret":"{SECRET}",{extra}}}"#)
        }
    }

    fn ok(json: &str) -> Config {
        match parse(json.as_bytes()) {
            Ok(c) => c,
            Err(e) => panic!("{json}: {e}"),
        }
    }

    #[test]
    fn defaults_match_the_docs() {
        let c = ok(&with(""));
        assert_eq!(c.mode, Mode::Enforce);
        assert_eq!(c.token_secret.expose(), SECRET);
        assert_eq!(c.detector, DetectorConfig::default());
        assert_eq!(c.max_body_bytes, 4_194_304);
        assert_eq!(c.block_status, 400);
        assert!(!c.node_cache);
        let s = &c.store;
        assert!(!s.use_redis);
        assert_eq!(s.mapping_ttl_seconds, 86_400);
        assert_eq!(
            s.bridge_address,
            BridgeAddress::Tcp {
                host: "127.0.0.1".into(),
                port: 7380
            }
        );
        assert_eq!(s.bridge_timeout_ms, 500);
        assert_eq!(s.on_failure, OnStoreFailure::Block);
        assert_eq!(
            s.circuit,
            Circuit {
                failure_threshold: 5,
                open_seconds: 30,
                success_threshold: 3
            }
        );
        let r = &s.redis;
        assert_eq!(r.kind, RedisType::Traditional);
        assert_eq!(
            (r.host.as_str(), r.port, r.database),
            ("127.0.0.1", 6379, 0)
        );
        assert!(r.password.is_none() && r.auth_token.is_none() && r.user.is_none());
        assert!(!r.ssl_enabled && r.ssl_verify && !r.cluster_mode && r.cluster_endpoint.is_none());
    }

    #[test]
    fn valid_configs() {
        type Check = fn(&Config) -> bool;
        let cases: &[(&str, Check)] = &[
            (r#""mode":"detect""#, |c| c.mode == Mode::Detect),
            (r#""max_body_bytes":1"#, |c| c.max_body_bytes == 1),
            (r#""max_body_bytes":67108864"#, |c| {
                c.max_body_bytes == 67_108_864
            }),
            (r#""block_status":599"#, |c| c.block_status == 599),
            (r#""node_cache":true"#, |c| c.node_cache),
            (r#""mapping_ttl":60"#, |c| c.store.mapping_ttl_seconds == 60),
            (r#""bridge_address":"unix:\/run\/bridge.sock""#, |c| {
                c.store.bridge_address == BridgeAddress::Unix("unix:/run/bridge.sock".into())
            }),
            (r#""bridge_address":"[::1]:7380""#, |c| {
                c.store.bridge_address
                    == BridgeAddress::Tcp {
                        host: "[::1]".into(),
                        port: 7380,
                    }
            }),
            (r#""bridge_address":"bridge.internal:80""#, |c| {
                c.store.bridge_address
                    == BridgeAddress::Tcp {
                        host: "bridge.internal".into(),
                        port: 80,
                    }
            }),
            (r#""on_store_failure":"continue""#, |c| {
                c.store.on_failure == OnStoreFailure::Continue
            }),
            (r#""mask_bare_account_ids":true"#, |c| {
                c.detector.bare_account_ids
            }),
            (r#""allowlist":["10.0.0.1"]"#, |c| {
                c.detector.allowlist == ["10.0.0.1"]
            }),
            (r#""redis_password":null"#, |c| {
                c.store.redis.password.is_none()
            }),
            (r#""redis_password":"pw""#, |c| {
                c.store.redis.password.as_ref().map(Secret::expose) == Some("pw")
            }),
            (
                r#""redis_type":"managed","redis_cluster_mode":true,"redis_cluster_endpoint":"cfg.cache.amazonaws.com","redis_user":"app","redis_auth_token":"tok""#,
                |c| {
                    let r = &c.store.redis;
                    r.kind == RedisType::Managed
                        && r.cluster_mode
                        && r.user.as_deref() == Some("app")
                },
            ),
            // Traditional mode ignores the managed-only pairing rules.
            (r#""redis_user":"app""#, |c| {
                c.store.redis.user.as_deref() == Some("app")
            }),
            (
                r#""custom_patterns":[{"name":"ticket","regex":"TCK-[0-9]+","kind":"TICKET"}]"#,
                |c| {
                    c.detector.custom_patterns
                        == [CustomPattern {
                            name: "ticket".into(),
                            regex: "TCK-[0-9]+".into(),
                            kind: "TICKET".into(),
                        }]
                },
            ),
        ];
        for (extra, check) in cases {
            let json = with(extra);
            assert!(check(&ok(&json)), "{json}");
        }
    }

    #[test]
    fn legacy_switches_and_disabled_kinds_build_the_disabled_list() {
        let c = ok(&with(
            r#""mask_ec2_instances":false,"mask_s3_buckets":false,"mask_rds_instances":false,"mask_private_ips":false,"disabled_kinds":["VPC","EC2"]"#,
        ));
        assert_eq!(
            c.detector.disabled,
            [
                "EC2",
                "EC2_HOST",
                "BUCKET",
                "S3_HOST",
                "S3_URI",
                "ARN_S3",
                "RDS_HOST",
                "ARN_RDS",
                "PRIVATE_IP",
                "VPC"
            ]
        );
        let c = ok(&with(r#""mask_private_ips":false"#));
        assert_eq!(c.detector.disabled, ["PRIVATE_IP"]);
    }

    #[test]
    fn invalid_configs_name_the_field() {
        let long = "x".repeat(80);
        let unknown = format!(r#""{long}":1"#);
        let cases: &[(String, &str, &str)] = &[
            (String::new(), "token_secret", "token_secret: required"),
            ("  \n".into(), "token_secret", "token_secret: required"),
            ("{}".into(), "token_secret", "token_secret: required"),
            (r#"{"token_secret":null}"#.into(), "token_secret", "token_secret: required"),
            (r#"{"token_secret":"short"}"#.into(), "token_secret",
                "token_secret: must be at least 32 characters (make one with: openssl rand -base64 48)"),
            (format!(r#"{{"token_secret":"{}"}}"#, "a".repeat(40)), "token_secret", "token_secret: looks like"),
            (r#"{"token_secret":"change-me-change-me-change-me-change-me"}"#.into(), "token_secret", "token_secret: looks like"),
            (r#"{"token_secret":12345}"#.into(), "token_secret", "token_secret: must be a string"),
            ("[1]".into(), "config", "config: must be a JSON object"),
            ("{".into(), "config", "config: not valid JSON"),
            (with(r#""colour":"blue""#), "colour", "colour: unknown field"),
            (with(&unknown), "xxxx", "unknown field"),
            (with(r#""mode":"block""#), "mode", "mode: must be one of enforce, detect"),
            (with(r#""mode":1"#), "mode", "mode: must be a string"),
            (with(r#""mask_s3_buckets":"no""#), "mask_s3_buckets", "mask_s3_buckets: must be true or false"),
            (with(r#""max_body_bytes":0"#), "max_body_bytes", "max_body_bytes: must be between 1 and 67108864"),
            (with(r#""max_body_bytes":67108865"#), "max_body_bytes", "between 1 and 67108864"),
            (with(r#""max_body_bytes":-5"#), "max_body_bytes", "between"),
            (with(r#""max_body_bytes":1.5"#), "max_body_bytes", "max_body_bytes: must be an integer"),
            (with(r#""block_status":200"#), "block_status", "block_status: must be between 400 and 599"),
            (with(r#""block_status":600"#), "block_status", "between 400 and 599"),
            (with(r#""node_cache":1"#), "node_cache", "must be true or false"),
            (with(r#""mapping_ttl":59"#), "mapping_ttl", "between 60 and 2592000"),
            (with(r#""mapping_ttl":2592001"#), "mapping_ttl", "between 60 and 2592000"),
            (with(r#""bridge_timeout_ms":0"#), "bridge_timeout_ms", "between 1 and 60000"),
            (with(r#""bridge_timeout_ms":60001"#), "bridge_timeout_ms", "between 1 and 60000"),
            (with(r#""circuit_failure_threshold":0"#), "circuit_failure_threshold", "between 1 and 1000"),
            (with(r#""circuit_open_seconds":3601"#), "circuit_open_seconds", "between 1 and 3600"),
            (with(r#""circuit_success_threshold":1001"#), "circuit_success_threshold", "between 1 and 1000"),
            (with(r#""on_store_failure":"retry""#), "on_store_failure", "must be one of block, continue"),
            (with(r#""bridge_address":"localhost""#), "bridge_address", "must be host:port or unix:/path"),
            (with(r#""bridge_address":"localhost:0""#), "bridge_address", "host:port"),
            (with(r#""bridge_address":"localhost:70000""#), "bridge_address", "host:port"),
            (with(r#""bridge_address":":7380""#), "bridge_address", "host:port"),
            (with(r#""bridge_address":"unix:relative.sock""#), "bridge_address", "host:port"),
            (with(r#""bridge_address":"[zz]:1""#), "bridge_address", "host:port"),
            (with(r#""redis_type":"cluster""#), "redis_type", "must be one of traditional, managed"),
            (with(r#""redis_host":"""#), "redis_host", "must not be empty"),
            (with(r#""redis_port":0"#), "redis_port", "between 1 and 65535"),
            (with(r#""redis_port":65536"#), "redis_port", "between 1 and 65535"),
            (with(r#""redis_database":16"#), "redis_database", "between 0 and 15"),
            (with(r#""redis_password":5"#), "redis_password", "must be a string or null"),
            (with(r#""redis_type":"managed","redis_cluster_mode":true"#), "redis_cluster_mode",
                "redis_cluster_mode: requires redis_cluster_endpoint"),
            (with(r#""redis_type":"managed","redis_cluster_endpoint":"cfg.example""#), "redis_cluster_endpoint",
                "requires redis_cluster_mode: true"),
            (with(r#""redis_type":"managed","redis_user":"app""#), "redis_user", "redis_user: requires redis_auth_token"),
            (with(r#""redis_type":"managed","redis_cluster_mode":true,"redis_cluster_endpoint":"c","redis_database":3"#),
                "redis_database", "redis_database"),
            (with(r#""disabled_kinds":"EC2""#), "disabled_kinds", "must be an array of strings"),
            (with(r#""allowlist":[""]"#), "allowlist", "allowlist: must not be empty"),
            (with(r#""custom_patterns":[{"name":"x","regex":"a"}]"#), "custom_patterns", "must be an array of {name"),
            (with(r#""custom_patterns":[{"name":"x","regex":"a","kind":"K","extra":1}]"#), "custom_patterns", "array of"),
            (with(r#""custom_patterns":[{"name":"","regex":"a","kind":"K"}]"#), "custom_patterns[0].name", "must not be empty"),
            (with(r#""custom_patterns":[{"name":"a","regex":"b","kind":"K"},{"name":"x","regex":"","kind":"K"}]"#),
                "custom_patterns[1].regex", "custom_patterns[1].regex: must not be empty"),
            (with(r#""custom_patterns":[{"name":"x","regex":"a","kind":"lower"}]"#), "custom_patterns[0].kind",
                "must match [A-Z][A-Z0-9_]* and be at most 32 characters"),
            (with(&format!(r#""custom_patterns":[{{"name":"x","regex":"a","kind":"{}"}}]"#, "K".repeat(33))),
                "custom_patterns[0].kind", "at most 32"),
        ];
        for (json, field, message) in cases {
            let err = match parse(json.as_bytes()) {
                Ok(_) => panic!("accepted: {json}"),
                Err(e) => e,
            };
            assert!(
                err.field().starts_with(field),
                "{json}: field {} != {field}",
                err.field()
            );
            assert!(
                err.to_string().contains(message),
                "{json}: {err} lacks {message:?}"
            );
        }
    }

    #[test]
    fn errors_never_echo_values() {
        let cases = [
            with(r#""redis_password":["hunter2-secret"]"#),
            with(r#""mode":"hunter2-secret""#),
            r#"{"token_secret":"hunter2-secret"}"#.to_owned(),
            with(r#""mask_ec2_instances":"hunter2-secret""#),
        ];
        for json in cases {
            let err = parse(json.as_bytes()).unwrap_err();
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn accepts_lua_cjson_escapes() {
        let json = format!(r#"{{"token_secret":"{SECRET}\/x","redis_host":"cache\/a"}}"#);
        let c = ok(&json);
        assert_eq!(c.token_secret.expose(), format!("{SECRET}/x"));
        assert_eq!(c.store.redis.host, "cache/a");
    }

    #[test]
    fn unknown_field_name_is_shortened() {
        let err = parse(with(&format!(r#""{}":1"#, "y".repeat(500))).as_bytes()).unwrap_err();
        assert_eq!(err.problem(), &Problem::UnknownField);
        assert!(err.field().len() <= 67);
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = ok(&with(
            r#""redis_password":"pw-hunter2","redis_type":"managed","redis_auth_token":"tok-hunter2""#,
        ));
        let shown = format!("{c:?}");
        assert!(!shown.contains(SECRET));
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("redacted"));
    }
}
