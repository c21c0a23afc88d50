//! Table-driven tests of parsing and validation.

use super::*;
use crate::detect::CustomPattern;

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
                    host: "::1".into(),
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
                r.kind == RedisType::Managed && r.cluster_mode && r.user.as_deref() == Some("app")
            },
        ),
        (
            r#""redis_type":"managed","redis_host":"primary.cache.amazonaws.com","redis_ssl_enabled":true,"redis_auth_token":"tok""#,
            |c| {
                let p = c.store.redis.profile();
                p.validate().is_ok() && p.uses_tls() && p.credentials() == (None, Some("tok"))
            },
        ),
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
        (
            r#"{"token_secret":null}"#.into(),
            "token_secret",
            "token_secret: required",
        ),
        (
            r#"{"token_secret":"short"}"#.into(),
            "token_secret",
            "token_secret: must be at least 32 characters (make one with: openssl rand -base64 48)",
        ),
        (
            format!(r#"{{"token_secret":"{}"}}"#, "a".repeat(40)),
            "token_secret",
            "token_secret: looks like",
        ),
        (
            r#"{"token_secret":"change-me-change-me-change-me-change-me"}"#.into(),
            "token_secret",
            "token_secret: looks like",
        ),
        (
            r#"{"token_secret":12345}"#.into(),
            "token_secret",
            "token_secret: must be a string",
        ),
        ("[1]".into(), "config", "config: must be a JSON object"),
        ("{".into(), "config", "config: not valid JSON"),
        (
            with(r#""colour":"blue""#),
            "colour",
            "colour: unknown field",
        ),
        (with(&unknown), "xxxx", "unknown field"),
        (
            with(r#""mode":"block""#),
            "mode",
            "mode: must be one of enforce, detect",
        ),
        (with(r#""mode":1"#), "mode", "mode: must be a string"),
        (
            with(r#""mask_s3_buckets":"no""#),
            "mask_s3_buckets",
            "mask_s3_buckets: must be true or false",
        ),
        (
            with(r#""max_body_bytes":0"#),
            "max_body_bytes",
            "max_body_bytes: must be between 1 and 67108864",
        ),
        (
            with(r#""max_body_bytes":67108865"#),
            "max_body_bytes",
            "between 1 and 67108864",
        ),
        (with(r#""max_body_bytes":-5"#), "max_body_bytes", "between"),
        (
            with(r#""max_body_bytes":1.5"#),
            "max_body_bytes",
            "max_body_bytes: must be an integer",
        ),
        (
            with(r#""block_status":200"#),
            "block_status",
            "block_status: must be between 400 and 599",
        ),
        (
            with(r#""block_status":600"#),
            "block_status",
            "between 400 and 599",
        ),
        (
            with(r#""node_cache":1"#),
            "node_cache",
            "must be true or false",
        ),
        (
            with(r#""mapping_ttl":59"#),
            "mapping_ttl",
            "between 60 and 2592000",
        ),
        (
            with(r#""mapping_ttl":2592001"#),
            "mapping_ttl",
            "between 60 and 2592000",
        ),
        (
            with(r#""bridge_timeout_ms":0"#),
            "bridge_timeout_ms",
            "between 1 and 60000",
        ),
        (
            with(r#""bridge_timeout_ms":60001"#),
            "bridge_timeout_ms",
            "between 1 and 60000",
        ),
        (
            with(r#""circuit_failure_threshold":0"#),
            "circuit_failure_threshold",
            "between 1 and 1000",
        ),
        (
            with(r#""circuit_open_seconds":3601"#),
            "circuit_open_seconds",
            "between 1 and 3600",
        ),
        (
            with(r#""circuit_success_threshold":1001"#),
            "circuit_success_threshold",
            "between 1 and 1000",
        ),
        (
            with(r#""on_store_failure":"retry""#),
            "on_store_failure",
            "must be one of block, continue",
        ),
        (
            with(r#""bridge_address":"localhost""#),
            "bridge_address",
            "must be host:port or unix:/path",
        ),
        (
            with(r#""bridge_address":"localhost:0""#),
            "bridge_address",
            "host:port",
        ),
        (
            with(r#""bridge_address":"localhost:70000""#),
            "bridge_address",
            "host:port",
        ),
        (
            with(r#""bridge_address":":7380""#),
            "bridge_address",
            "host:port",
        ),
        (
            with(r#""bridge_address":"unix:relative.sock""#),
            "bridge_address",
            "host:port",
        ),
        (
            with(r#""bridge_address":"[zz]:1""#),
            "bridge_address",
            "host:port",
        ),
        (
            with(r#""redis_type":"cluster""#),
            "redis_type",
            "must be one of traditional, managed",
        ),
        (
            with(r#""redis_host":"""#),
            "redis_host",
            "must not be empty",
        ),
        (
            with(r#""redis_port":0"#),
            "redis_port",
            "between 1 and 65535",
        ),
        (
            with(r#""redis_port":65536"#),
            "redis_port",
            "between 1 and 65535",
        ),
        (
            with(r#""redis_database":16"#),
            "redis_database",
            "between 0 and 15",
        ),
        (
            with(r#""redis_password":5"#),
            "redis_password",
            "must be a string or null",
        ),
        (
            with(r#""redis_type":"managed","redis_cluster_mode":true"#),
            "redis_cluster_mode",
            "redis_cluster_mode: requires redis_cluster_endpoint",
        ),
        (
            with(r#""redis_type":"managed","redis_cluster_endpoint":"cfg.example""#),
            "redis_cluster_endpoint",
            "requires redis_cluster_mode: true",
        ),
        (
            with(r#""redis_type":"managed","redis_user":"app""#),
            "redis_user",
            "redis_user: requires redis_auth_token",
        ),
        // The bridge's profile rules: nothing set for the other mode is silently ignored.
        (
            with(r#""redis_user":"app""#),
            "redis_user",
            "redis_user: is for managed mode only",
        ),
        (
            with(r#""redis_ssl_enabled":true"#),
            "redis_ssl_enabled",
            "managed mode only",
        ),
        (
            with(r#""redis_type":"managed","redis_password":"pw""#),
            "redis_password",
            "redis_password: is for traditional mode; managed mode authenticates with the auth token",
        ),
        (
            with(r#""redis_host":"bad host""#),
            "redis_host",
            "must be a host name or IP address",
        ),
        (
            with(
                r#""redis_type":"managed","redis_cluster_mode":true,"redis_cluster_endpoint":"c","redis_database":3"#,
            ),
            "redis_database",
            "redis_database: must be 0 in cluster mode",
        ),
        (
            with(r#""disabled_kinds":"EC2""#),
            "disabled_kinds",
            "must be an array of strings",
        ),
        (
            with(r#""allowlist":[""]"#),
            "allowlist",
            "allowlist: must not be empty",
        ),
        (
            with(r#""custom_patterns":[{"name":"x","regex":"a"}]"#),
            "custom_patterns",
            "must be an array of {name",
        ),
        (
            with(r#""custom_patterns":[{"name":"x","regex":"a","kind":"K","extra":1}]"#),
            "custom_patterns",
            "array of",
        ),
        (
            with(r#""custom_patterns":[{"name":"","regex":"a","kind":"K"}]"#),
            "custom_patterns[0].name",
            "must not be empty",
        ),
        (
            with(
                r#""custom_patterns":[{"name":"a","regex":"b","kind":"K"},{"name":"x","regex":"","kind":"K"}]"#,
            ),
            "custom_patterns[1].regex",
            "custom_patterns[1].regex: must not be empty",
        ),
        (
            with(r#""custom_patterns":[{"name":"x","regex":"a","kind":"lower"}]"#),
            "custom_patterns[0].kind",
            "must match [A-Z][A-Z0-9_]* and be at most 32 characters",
        ),
        (
            with(&format!(
                r#""custom_patterns":[{{"name":"x","regex":"a","kind":"{}"}}]"#,
                "K".repeat(33)
            )),
            "custom_patterns[0].kind",
            "at most 32",
        ),
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
    let json = format!(r#"{{"token_secret":"{SECRET}\/x","allowlist":["a\/b"]}}"#);
    let c = ok(&json);
    assert_eq!(c.token_secret.expose(), format!("{SECRET}/x"));
    assert_eq!(c.detector.allowlist, ["a/b"]);
}

#[test]
fn unknown_field_name_is_shortened() {
    let err = parse(with(&format!(r#""{}":1"#, "y".repeat(500))).as_bytes()).unwrap_err();
    assert_eq!(err.problem(), &Problem::UnknownField);
    assert!(err.field().len() <= 67);
}

#[test]
fn debug_redacts_secrets() {
    let traditional = ok(&with(r#""redis_password":"pw-hunter2""#));
    let managed = ok(&with(
        r#""redis_type":"managed","redis_auth_token":"tok-hunter2""#,
    ));
    for c in [traditional, managed] {
        let shown = format!("{c:?}");
        assert!(!shown.contains(SECRET));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("redacted"));
        assert!(!format!("{:?}", c.store.redis.profile()).contains("hunter2"));
    }
}

#[test]
fn every_kind_switch_names_built_in_labels() {
    use crate::detect::Detector;
    let all_off = ok(&with(
        r#""mask_ec2_instances":false,"mask_s3_buckets":false,"mask_rds_instances":false,"mask_private_ips":false"#,
    ));
    for label in &all_off.detector.disabled {
        assert!(
            Detector::builtin_labels().contains(&label.as_str()),
            "{label}"
        );
    }
    assert!(Detector::new(&all_off.detector).is_ok());
    assert!(Detector::new(&ok(&with("")).detector).is_ok());
}

#[test]
fn detector_errors_name_their_field() {
    use crate::detect::Detector;
    let unknown = ok(&with(r#""disabled_kinds":["NOT_A_KIND"]"#));
    let err = Detector::new(&unknown.detector).err().unwrap();
    assert!(err.to_string().starts_with("disabled_kinds: "), "{err}");
    let builtin = ok(&with(
        r#""custom_patterns":[{"name":"x","regex":"a+","kind":"EC2"}]"#,
    ));
    let err = Detector::new(&builtin.detector).err().unwrap();
    assert!(err.to_string().starts_with("custom_patterns: "), "{err}");
}

#[test]
fn empty_lists_may_arrive_as_empty_objects() {
    // lua-cjson writes an empty Lua table as `{}`; Kong hands `allowlist: []` over that way.
    let c = ok(&with(
        r#""allowlist":{},"disabled_kinds":{},"custom_patterns":{}"#,
    ));
    assert!(c.detector.allowlist.is_empty());
    assert!(c.detector.custom_patterns.is_empty());
    for field in ["allowlist", "disabled_kinds", "custom_patterns"] {
        let err = parse(with(&format!(r#""{field}":{{"a":1}}"#)).as_bytes()).unwrap_err();
        assert_eq!(err.field(), field);
        let err = parse(with(&format!(r#""{field}":"x""#)).as_bytes()).unwrap_err();
        assert_eq!(err.field(), field);
    }
}
