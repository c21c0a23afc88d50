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

use serde_json::Value;

use crate::detect::DetectorConfig;
use crate::placeholder::MAX_LABEL_LEN;
use crate::protocol::RedisProfile;

mod validate;
mod wire;

#[cfg(test)]
mod tests;

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

pub use crate::protocol::RedisType;

/// A string that must never be printed: `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub(crate) String);

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
    /// `host:port`: a name, an IPv4 address or an IPv6 address (written `[IPv6]:port` in the
    /// config, held here without its brackets).
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

impl Redis {
    /// The settings as the bridge protocol carries them.
    pub fn profile(&self) -> RedisProfile {
        RedisProfile {
            redis_type: self.kind,
            host: self.host.clone(),
            port: self.port,
            password: self.password.as_ref().map(|s| s.0.clone()),
            database: self.database,
            ssl_enabled: self.ssl_enabled,
            ssl_verify: self.ssl_verify,
            auth_token: self.auth_token.as_ref().map(|s| s.0.clone()),
            user: self.user.clone(),
            cluster_mode: self.cluster_mode,
            cluster_endpoint: self.cluster_endpoint.clone(),
        }
    }
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
    InvalidJson {
        line: usize,
        column: usize,
    },
    NotAnObject,
    UnknownField,
    WrongType {
        expected: &'static str,
    },
    OutOfRange {
        min: u64,
        max: u64,
    },
    OneOf {
        allowed: &'static [&'static str],
    },
    SecretTooShort {
        min: usize,
    },
    SecretPlaceholder,
    Empty,
    BadLabel,
    BadAddress,
    Requires {
        other: &'static str,
    },
    /// A rule of the bridge's Redis profile (`protocol::RedisProfile::validate`).
    Redis {
        problem: &'static str,
    },
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
            Problem::Redis { problem } => f.write_str(problem),
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
        Config::try_from(wire::from_object(object)?)
    }
}
