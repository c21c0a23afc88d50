//! The configuration as it arrives: serde wire struct with the defaults of `docs/CONFIG.md`.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{ConfigError, Problem};

/// Deserializes the wire struct; on failure, finds the field to blame by deserializing each
/// field alone (every wire field has a default, so a one-field object fails only on that field).
pub(super) fn from_object(object: Map<String, Value>) -> Result<Wire, ConfigError> {
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

/// A list that may arrive as `{}`: Kong re-encodes filter configs with lua-cjson, which writes
/// an empty Lua table (an empty YAML list) as an empty object.
fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Empty {}

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrEmpty<T> {
        List(Vec<T>),
        Empty(Empty),
    }

    match ListOrEmpty::deserialize(deserializer)? {
        ListOrEmpty::List(items) => Ok(items),
        ListOrEmpty::Empty(Empty {}) => Ok(Vec::new()),
    }
}

/// The configuration as it arrives: defaults of `docs/CONFIG.md`, nothing validated yet.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Wire {
    #[serde(default = "default_mode")]
    pub(super) mode: String,
    #[serde(default)]
    pub(super) token_secret: Option<String>,
    #[serde(default = "default_true")]
    pub(super) mask_ec2_instances: bool,
    #[serde(default = "default_true")]
    pub(super) mask_s3_buckets: bool,
    #[serde(default = "default_true")]
    pub(super) mask_rds_instances: bool,
    #[serde(default = "default_true")]
    pub(super) mask_private_ips: bool,
    #[serde(default)]
    pub(super) mask_bare_account_ids: bool,
    #[serde(default, deserialize_with = "list")]
    pub(super) disabled_kinds: Vec<String>,
    #[serde(default, deserialize_with = "list")]
    pub(super) allowlist: Vec<String>,
    #[serde(default, deserialize_with = "list")]
    pub(super) custom_patterns: Vec<WirePattern>,
    #[serde(default = "default_max_body_bytes")]
    pub(super) max_body_bytes: i64,
    #[serde(default = "default_block_status")]
    pub(super) block_status: i64,
    #[serde(default)]
    pub(super) node_cache: bool,
    #[serde(default)]
    pub(super) use_redis: bool,
    #[serde(default = "default_mapping_ttl")]
    pub(super) mapping_ttl: i64,
    #[serde(default = "default_bridge_address")]
    pub(super) bridge_address: String,
    #[serde(default = "default_bridge_timeout_ms")]
    pub(super) bridge_timeout_ms: i64,
    #[serde(default = "default_on_store_failure")]
    pub(super) on_store_failure: String,
    #[serde(default = "default_circuit_failure_threshold")]
    pub(super) circuit_failure_threshold: i64,
    #[serde(default = "default_circuit_open_seconds")]
    pub(super) circuit_open_seconds: i64,
    #[serde(default = "default_circuit_success_threshold")]
    pub(super) circuit_success_threshold: i64,
    #[serde(default = "default_redis_type")]
    pub(super) redis_type: String,
    #[serde(default = "default_redis_host")]
    pub(super) redis_host: String,
    #[serde(default = "default_redis_port")]
    pub(super) redis_port: i64,
    #[serde(default)]
    pub(super) redis_password: Option<String>,
    #[serde(default)]
    pub(super) redis_database: i64,
    #[serde(default)]
    pub(super) redis_ssl_enabled: bool,
    #[serde(default = "default_true")]
    pub(super) redis_ssl_verify: bool,
    #[serde(default)]
    pub(super) redis_auth_token: Option<String>,
    #[serde(default)]
    pub(super) redis_user: Option<String>,
    #[serde(default)]
    pub(super) redis_cluster_mode: bool,
    #[serde(default)]
    pub(super) redis_cluster_endpoint: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WirePattern {
    pub(super) name: String,
    pub(super) regex: String,
    pub(super) kind: String,
}
