//! Validation: the wire struct into a [`Config`].

use super::wire::Wire;
use super::{
    BridgeAddress, Circuit, Config, ConfigError, Mode, OnStoreFailure, Problem, Redis, RedisType,
    Secret, Store, MIN_SECRET_CHARS,
};
use crate::detect::{CustomPattern, DetectorConfig};
use crate::placeholder::is_valid_label;

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
    // An IPv6 address is held without its brackets: the dispatch puts them back.
    let host = match host.strip_prefix('[') {
        Some(inner) => inner
            .strip_suffix(']')
            .filter(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
            .ok_or_else(bad)?,
        None if !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_') =>
        {
            host
        }
        None => return Err(bad()),
    };
    if port == 0 {
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
                Problem::Redis {
                    problem: "must be 0 in cluster mode (a cluster has only database 0)",
                },
            ));
        }
    }
    let redis = Redis {
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
    };
    // The bridge refuses what its profile rules refuse: check them here, once, at load.
    redis.profile().validate().map_err(|e| {
        ConfigError::new(
            format!("redis_{}", e.field),
            Problem::Redis { problem: e.problem },
        )
    })?;
    Ok(redis)
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
