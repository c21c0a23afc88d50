//! The config schema Kong validates with (`kong/aws_masker.meta.json`) and the filter's own parser
//! (`aws_masker::config::parse`) agree: every example config of the repository passes both, every
//! config in the table of invalid ones fails both and both name the same field, and the schema's
//! fields, types, ranges and defaults are those of `docs/CONFIG.md` and of the parser.
// Test helpers outside #[test] functions: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kong_support;

use std::collections::BTreeSet;

use aws_masker::config::parse;
use aws_masker::detect::Detector;
use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use kong_support::{
    config_schema, doc_fields, filter_configs, managed_env, parse_yaml, read, render_yaml,
    templates, SECRET,
};
use serde_json::{json, Value as Json};

fn validator() -> Validator {
    jsonschema::draft4::new(&config_schema()).expect("config_schema compiles as draft-04")
}

/// The fields the schema blames for `config`, in the parser's notation (`custom_patterns[0].kind`);
/// empty when the schema accepts it.
fn schema_fields(validator: &Validator, config: &Json) -> BTreeSet<String> {
    let schema = config_schema();
    validator
        .iter_errors(config)
        .map(|e| field_of(&schema, &e))
        .collect()
}

fn field_of(schema: &Json, e: &ValidationError) -> String {
    let mut path: Vec<String> = e
        .instance_path()
        .as_str()
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    match e.kind() {
        ValidationErrorKind::Required { property } => {
            path.push(property.as_str().expect("property name").to_string())
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            path.push(unexpected[0].clone())
        }
        // A cross-field rule: its description starts with the field it blames, as the parser does.
        ValidationErrorKind::AnyOf { .. } if path.is_empty() => {
            let rule = e
                .schema_path()
                .as_str()
                .trim_end_matches("/anyOf")
                .to_string();
            let description = schema
                .pointer(&rule)
                .and_then(|r| r["description"].as_str());
            let description =
                description.unwrap_or_else(|| panic!("rule {rule} has no description"));
            return description.split(':').next().expect("field").to_string();
        }
        _ => {}
    }
    let Some((top, rest)) = path.split_first() else {
        return "config".to_string();
    };
    rest.iter()
        .fold(top.clone(), |acc, seg| match seg.parse::<usize>() {
            Ok(i) => format!("{acc}[{i}]"),
            Err(_) => format!("{acc}.{seg}"),
        })
}

/// One field named twice: equal, or one names the containing field of the other
/// (`custom_patterns` and `custom_patterns[0].kind`).
fn same_field(a: &str, b: &str) -> bool {
    let top = |s: &str| s.split(['[', '.']).next().unwrap_or("").to_string();
    a == b || (top(a) == top(b) && (top(a) == a || top(b) == b))
}

/// The config as Kong hands it to the filter: re-encoded by lua-cjson, which escapes `/`.
fn as_kong_sends(config: &Json) -> Vec<u8> {
    serde_json::to_string(config)
        .expect("json")
        .replace('/', "\\/")
        .into_bytes()
}

/// Every example config: each template rendered with several environments, and kong/examples/*.json.
fn examples() -> Vec<(String, Json)> {
    let traditional: Vec<(&str, &str)> = vec![("AWS_MASKER_TOKEN_SECRET", SECRET)];
    let with_password = vec![
        ("AWS_MASKER_TOKEN_SECRET", SECRET),
        ("REDIS_HOST", "redis"),
        ("REDIS_PASSWORD", r#"p"a\s/s&w$rd"#),
    ];
    let managed_plain = vec![
        ("KONG_CONFIG_MODE", "managed"),
        ("AWS_MASKER_TOKEN_SECRET", SECRET),
        (
            "ELASTICACHE_HOST",
            "master.x.abc123.use1.cache.amazonaws.com",
        ),
    ];
    let mut out = Vec::new();
    for t in templates() {
        let envs: Vec<Vec<(&str, &str)>> = if t.ends_with("kong-managed.yml") {
            vec![managed_plain.clone(), managed_env()]
        } else {
            vec![traditional.clone(), with_password.clone()]
        };
        for (i, env) in envs.iter().enumerate() {
            let doc = render_yaml(env, &["-t", &t]);
            for config in filter_configs(&doc) {
                out.push((format!("{t} (environment {i})"), config));
            }
        }
    }
    let dir = kong_support::root().join("kong/examples");
    for entry in std::fs::read_dir(dir).expect("kong/examples") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).expect("read");
            out.push((
                path.display().to_string(),
                serde_json::from_str(&text).expect("example json"),
            ));
        }
    }
    out
}

#[test]
fn every_example_passes_the_schema_and_the_filter() {
    let validator = validator();
    let examples = examples();
    assert!(examples.len() >= 8, "{}", examples.len());
    for (source, config) in examples {
        let errors: Vec<String> = validator
            .iter_errors(&config)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{source}: schema rejects it: {errors:?}");
        match parse(&as_kong_sends(&config)) {
            Ok(parsed) => {
                if let Err(e) = Detector::new(&parsed.detector) {
                    panic!("{source}: the filter's detector rejects it: {e}");
                }
            }
            Err(e) => panic!("{source}: the filter rejects it: {e}"),
        }
    }
}

#[test]
fn default_template_is_the_traditional_one_written_out() {
    let env = [
        ("AWS_MASKER_TOKEN_SECRET", SECRET),
        ("REDIS_PASSWORD", "pw"),
    ];
    let full = kong_support::only_config(&render_yaml(&env, &["-t", "kong/kong.yml"]));
    let short = kong_support::only_config(&render_yaml(&env, &["-t", "kong/kong-traditional.yml"]));
    assert_ne!(full, short);
    assert_eq!(parse(&as_kong_sends(&full)), parse(&as_kong_sends(&short)));
}

#[test]
fn unrendered_templates_are_rejected_by_both() {
    let validator = validator();
    for t in templates() {
        for config in filter_configs(&parse_yaml(&read(&t))) {
            let fields = schema_fields(&validator, &config);
            assert!(
                fields.contains("redis_port"),
                "{t}: schema accepts a template: {fields:?}"
            );
            let err = parse(&as_kong_sends(&config)).expect_err("the filter accepts a template");
            assert!(
                fields.iter().any(|f| same_field(f, err.field())),
                "{t}: filter names {}",
                err.field()
            );
        }
    }
}

/// A valid minimal config with `changes` applied; `{}` alone is the empty config.
fn with(changes: Json) -> Json {
    let mut config = json!({ "token_secret": SECRET });
    for (k, v) in changes.as_object().expect("object") {
        config[k] = v.clone();
    }
    config
}

#[test]
fn invalid_configs_are_rejected_by_both_naming_the_same_field() {
    let managed = |extra: Json| {
        let mut c = with(json!({"redis_type": "managed", "redis_host": "h.cache.amazonaws.com"}));
        for (k, v) in extra.as_object().expect("object") {
            c[k] = v.clone();
        }
        c
    };
    let short_secret = "a1".repeat(15) + "b";
    let cases: Vec<(&str, Json)> = vec![
        ("token_secret", json!({})),
        ("token_secret", with(json!({"token_secret": null}))),
        ("token_secret", with(json!({"token_secret": short_secret}))),
        ("token_secret", with(json!({"token_secret": 12345}))),
        (
            "token_secret",
            with(json!({"token_secret": "change-me-change-me-change-me-change-me"})),
        ),
        (
            "token_secret",
            with(json!({"token_secret": "CHANGEME_please_0123456789abcdef0123"})),
        ),
        (
            "token_secret",
            with(json!({"token_secret": "x".repeat(40)})),
        ),
        ("nonsense", with(json!({"nonsense": true}))),
        ("redis_tls", with(json!({"redis_tls": true}))),
        ("mode", with(json!({"mode": "block"}))),
        ("mode", with(json!({"mode": null}))),
        (
            "mask_ec2_instances",
            with(json!({"mask_ec2_instances": "yes"})),
        ),
        (
            "mask_bare_account_ids",
            with(json!({"mask_bare_account_ids": 1})),
        ),
        ("disabled_kinds", with(json!({"disabled_kinds": "EC2"}))),
        ("disabled_kinds", with(json!({"disabled_kinds": [1]}))),
        ("allowlist", with(json!({"allowlist": [""]}))),
        ("allowlist", with(json!({"allowlist": {"a": 1}}))),
        (
            "custom_patterns",
            with(json!({"custom_patterns": [{"name": "x", "regex": "y"}]})),
        ),
        (
            "custom_patterns",
            with(
                json!({"custom_patterns": [{"name": "x", "regex": "y", "kind": "K", "extra": 1}]}),
            ),
        ),
        (
            "custom_patterns[0].kind",
            with(json!({"custom_patterns": [{"name": "x", "regex": "y", "kind": "lower"}]})),
        ),
        (
            "custom_patterns[0].kind",
            with(json!({"custom_patterns": [{"name": "x", "regex": "y", "kind": "K".repeat(33)}]})),
        ),
        (
            "custom_patterns[1].name",
            with(
                json!({"custom_patterns": [{"name": "a", "regex": "b", "kind": "K"}, {"name": " ", "regex": "y", "kind": "K"}]}),
            ),
        ),
        (
            "custom_patterns[0].regex",
            with(json!({"custom_patterns": [{"name": "x", "regex": "", "kind": "K"}]})),
        ),
        ("max_body_bytes", with(json!({"max_body_bytes": 0}))),
        (
            "max_body_bytes",
            with(json!({"max_body_bytes": 67_108_865})),
        ),
        ("max_body_bytes", with(json!({"max_body_bytes": "4m"}))),
        ("max_body_bytes", with(json!({"max_body_bytes": 1.5}))),
        ("block_status", with(json!({"block_status": 399}))),
        ("block_status", with(json!({"block_status": 600}))),
        ("node_cache", with(json!({"node_cache": "true"}))),
        ("use_redis", with(json!({"use_redis": null}))),
        ("mapping_ttl", with(json!({"mapping_ttl": 59}))),
        ("mapping_ttl", with(json!({"mapping_ttl": 2_592_001}))),
        (
            "bridge_address",
            with(json!({"bridge_address": "127.0.0.1"})),
        ),
        (
            "bridge_address",
            with(json!({"bridge_address": "127.0.0.1:0"})),
        ),
        (
            "bridge_address",
            with(json!({"bridge_address": "127.0.0.1:65536"})),
        ),
        ("bridge_address", with(json!({"bridge_address": "unix:"}))),
        (
            "bridge_address",
            with(json!({"bridge_address": "unix:relative.sock"})),
        ),
        (
            "bridge_address",
            with(json!({"bridge_address": "http://127.0.0.1:7380"})),
        ),
        (
            "bridge_address",
            with(json!({"bridge_address": "bad host:7380"})),
        ),
        ("bridge_timeout_ms", with(json!({"bridge_timeout_ms": 0}))),
        (
            "bridge_timeout_ms",
            with(json!({"bridge_timeout_ms": 60_001})),
        ),
        (
            "on_store_failure",
            with(json!({"on_store_failure": "ignore"})),
        ),
        (
            "circuit_failure_threshold",
            with(json!({"circuit_failure_threshold": 0})),
        ),
        (
            "circuit_open_seconds",
            with(json!({"circuit_open_seconds": 3601})),
        ),
        (
            "circuit_success_threshold",
            with(json!({"circuit_success_threshold": 1001})),
        ),
        ("redis_type", with(json!({"redis_type": "cluster"}))),
        ("redis_host", with(json!({"redis_host": ""}))),
        ("redis_host", with(json!({"redis_host": "  "}))),
        ("redis_host", with(json!({"redis_host": null}))),
        ("redis_port", with(json!({"redis_port": 0}))),
        ("redis_port", with(json!({"redis_port": 65_536}))),
        ("redis_port", with(json!({"redis_port": "6379"}))),
        ("redis_password", with(json!({"redis_password": ""}))),
        ("redis_password", with(json!({"redis_password": 5}))),
        ("redis_database", with(json!({"redis_database": 16}))),
        ("redis_database", with(json!({"redis_database": -1}))),
        (
            "redis_ssl_enabled",
            with(json!({"redis_ssl_enabled": "false"})),
        ),
        ("redis_ssl_verify", with(json!({"redis_ssl_verify": null}))),
        ("redis_auth_token", with(json!({"redis_auth_token": ""}))),
        ("redis_user", with(json!({"redis_user": []}))),
        (
            "redis_cluster_mode",
            with(json!({"redis_cluster_mode": "on"})),
        ),
        (
            "redis_cluster_endpoint",
            with(json!({"redis_cluster_endpoint": " "})),
        ),
        // The managed-mode rules.
        (
            "redis_cluster_mode",
            managed(json!({"redis_cluster_mode": true})),
        ),
        (
            "redis_cluster_mode",
            managed(json!({"redis_cluster_mode": true, "redis_cluster_endpoint": null})),
        ),
        (
            "redis_cluster_endpoint",
            managed(json!({"redis_cluster_endpoint": "clustercfg.x.cache.amazonaws.com"})),
        ),
        (
            "redis_cluster_endpoint",
            managed(json!({"redis_cluster_mode": false, "redis_cluster_endpoint": "c.x"})),
        ),
        ("redis_user", managed(json!({"redis_user": "masker"}))),
        (
            "redis_user",
            managed(json!({"redis_user": "masker", "redis_auth_token": null})),
        ),
        (
            "redis_database",
            managed(
                json!({"redis_cluster_mode": true, "redis_cluster_endpoint": "c.x", "redis_database": 1}),
            ),
        ),
        // Mode-only fields (the bridge's profile rules).
        (
            "redis_ssl_enabled",
            with(json!({"redis_ssl_enabled": true})),
        ),
        ("redis_auth_token", with(json!({"redis_auth_token": "t"}))),
        ("redis_user", with(json!({"redis_user": "u"}))),
        (
            "redis_cluster_mode",
            with(json!({"redis_cluster_mode": true})),
        ),
        (
            "redis_cluster_endpoint",
            with(json!({"redis_cluster_endpoint": "c.x"})),
        ),
        (
            "redis_cluster_mode",
            with(json!({"redis_type": "traditional", "redis_cluster_mode": true})),
        ),
        ("redis_password", managed(json!({"redis_password": "pw"}))),
        ("redis_host", with(json!({"redis_host": "bad host"}))),
        ("redis_host", with(json!({"redis_host": "h/x"}))),
        ("redis_host", with(json!({"redis_host": "h".repeat(254)}))),
        (
            "redis_password",
            with(json!({"redis_password": "p".repeat(4097)})),
        ),
        (
            "redis_auth_token",
            managed(json!({"redis_auth_token": "t".repeat(4097)})),
        ),
        (
            "redis_cluster_endpoint",
            managed(json!({"redis_cluster_mode": true, "redis_cluster_endpoint": "c.x:abc"})),
        ),
        (
            "redis_cluster_endpoint",
            managed(json!({"redis_cluster_mode": true, "redis_cluster_endpoint": "c.x:0"})),
        ),
        (
            "redis_cluster_endpoint",
            managed(json!({"redis_cluster_mode": true, "redis_cluster_endpoint": "c x"})),
        ),
        ("config", json!([])),
        ("config", json!("token_secret")),
    ];
    let validator = validator();
    for (field, config) in cases {
        let fields = schema_fields(&validator, &config);
        assert!(
            !fields.is_empty(),
            "schema accepts {config} (expected an error on {field})"
        );
        let err = match parse(&as_kong_sends(&config)) {
            Ok(_) => panic!("the filter accepts {config} (expected an error on {field})"),
            Err(e) => e,
        };
        assert!(
            same_field(err.field(), field),
            "{config}: the filter names {}, not {field}",
            err.field()
        );
        assert!(
            fields.iter().any(|f| same_field(f, field)),
            "{config}: the schema names {fields:?}, not {field}"
        );
    }
}

#[test]
fn edge_cases_both_accept() {
    let validator = validator();
    let managed = |extra: Json| {
        let mut c = with(json!({"redis_type": "managed", "redis_host": "h.cache.amazonaws.com"}));
        for (k, v) in extra.as_object().expect("object") {
            c[k] = v.clone();
        }
        c
    };
    for config in [
        // Managed-only fields at their defaults are fine in traditional mode (kong.yml writes them).
        with(
            json!({"redis_ssl_enabled": false, "redis_auth_token": null, "redis_user": null,
                    "redis_cluster_mode": false, "redis_cluster_endpoint": null, "redis_password": "pw"}),
        ),
        managed(json!({"redis_user": "u", "redis_auth_token": "t", "redis_password": null})),
        managed(json!({"redis_cluster_mode": true, "redis_cluster_endpoint": "c.x"})),
        managed(json!({"redis_cluster_mode": true, "redis_cluster_endpoint": "c.x:6380"})),
        managed(json!({"redis_cluster_mode": true, "redis_cluster_endpoint": "[fd00::1]:6380"})),
        managed(json!({"redis_ssl_enabled": true, "redis_ssl_verify": false})),
        with(json!({"redis_host": "10.0.0.5"})),
        with(json!({"redis_host": "fd00::5"})),
        with(json!({"redis_password": "p".repeat(4096)})),
        with(json!({"bridge_address": "unix:/run/aws-masker/bridge.sock"})),
        with(json!({"bridge_address": "[::1]:7380"})),
        with(json!({"bridge_address": "bridge.internal:07380"})),
        with(json!({"token_secret": "please-change-me-is-not-a-prefix-0123456789"})),
    ] {
        let fields = schema_fields(&validator, &config);
        assert!(fields.is_empty(), "schema rejects {config}: {fields:?}");
        if let Err(e) = parse(&as_kong_sends(&config)) {
            panic!("the filter rejects {config}: {e}");
        }
    }
}

#[test]
fn schema_defaults_are_the_parsers() {
    let schema = config_schema();
    let mut full = json!({ "token_secret": SECRET });
    for (name, property) in schema["properties"].as_object().expect("properties") {
        if let Some(default) = property.get("default") {
            full[name] = default.clone();
        } else {
            assert_eq!(name, "token_secret", "{name} has no default");
        }
    }
    let minimal =
        parse(&as_kong_sends(&json!({ "token_secret": SECRET }))).expect("minimal config");
    assert_eq!(
        parse(&as_kong_sends(&full)).expect("defaults written out"),
        minimal
    );
}

#[test]
fn schema_is_the_table_of_config_md() {
    let schema = config_schema();
    let properties = schema["properties"].as_object().expect("properties");
    let fields = doc_fields();
    let documented: BTreeSet<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let in_schema: BTreeSet<&str> = properties.keys().map(String::as_str).collect();
    assert_eq!(documented, in_schema);
    for f in &fields {
        let p = &properties[&f.name];
        if f.default == "required" {
            assert_eq!(schema["required"], json!([f.name]), "{}", f.name);
        } else {
            let doc_default: Json = serde_json::from_str(&f.default)
                .unwrap_or_else(|e| panic!("{}: default {} is not JSON: {e}", f.name, f.default));
            assert_eq!(p["default"], doc_default, "{}: default", f.name);
        }
        let ty = f.ty.as_str();
        let want_type = if ty.starts_with("bool") {
            json!("boolean")
        } else if ty.starts_with("integer") {
            json!("integer")
        } else if ty.starts_with("array") {
            json!("array")
        } else if ty.contains("\\| null") {
            json!(["string", "null"])
        } else {
            json!("string")
        };
        assert_eq!(p["type"], want_type, "{}: type of {ty:?}", f.name);
        if let Some((min, max)) = ty.split_whitespace().find_map(|w| w.split_once("..=")) {
            assert_eq!(
                p["minimum"],
                json!(min.parse::<u64>().expect("min")),
                "{}",
                f.name
            );
            assert_eq!(
                p["maximum"],
                json!(max.parse::<u64>().expect("max")),
                "{}",
                f.name
            );
        }
        if ty.starts_with('`') && ty.contains("\\|") {
            let choices: Vec<Json> = ty
                .split("\\|")
                .map(|c| serde_json::from_str(c.trim().trim_matches('`')).expect("enum value"))
                .collect();
            assert_eq!(p["enum"], Json::Array(choices), "{}", f.name);
        }
    }
}

#[test]
fn builtin_kind_labels_are_the_detectors() {
    let schema = config_schema();
    let kind = &schema["properties"]["custom_patterns"]["items"]["properties"]["kind"];
    let in_schema: BTreeSet<&str> = kind["not"]["enum"]
        .as_array()
        .expect("not.enum")
        .iter()
        .map(|v| v.as_str().expect("label"))
        .collect();
    let builtin: BTreeSet<&str> = Detector::builtin_labels().iter().copied().collect();
    assert_eq!(
        in_schema, builtin,
        "custom_patterns kind must exclude exactly the built-in labels"
    );
}

#[test]
fn the_readme_counts_the_built_in_kinds() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let claim = format!("{} kinds:", Detector::builtin_labels().len());
    assert!(
        readme.contains(&claim),
        "README.md must say {claim:?} (the detector's built-in labels)"
    );
}

#[test]
fn what_only_the_filter_can_check() {
    // draft-04 cannot express these; Kong accepts them and the filter refuses to load (500 on the
    // chain, docs/failure-behaviour.md). Listed so that a change on either side is noticed.
    let validator = validator();
    let pattern = |name: &str, regex: &str| json!({"name": name, "regex": regex, "kind": "TICKET"});
    for (what, config) in [
        (
            "unknown kind label",
            with(json!({"disabled_kinds": ["NOT_A_KIND"]})),
        ),
        (
            "regex that does not compile",
            with(json!({"custom_patterns": [pattern("t", "(")]})),
        ),
        (
            "regex that matches the empty string",
            with(json!({"custom_patterns": [pattern("t", "a*")]})),
        ),
        (
            "pattern name used twice",
            with(json!({"custom_patterns": [pattern("t", "T-[0-9]+"), pattern("t", "U-[0-9]+")]})),
        ),
    ] {
        assert!(
            schema_fields(&validator, &config).is_empty(),
            "{what}: the schema now rejects it"
        );
        let parsed = parse(&as_kong_sends(&config)).expect("the parser accepts it");
        assert!(
            Detector::new(&parsed.detector).is_err(),
            "{what}: the filter accepts it"
        );
    }
    // A custom kind may be switched off like a built-in one.
    let custom_off =
        with(json!({"custom_patterns": [pattern("t", "T-[0-9]+")], "disabled_kinds": ["TICKET"]}));
    assert!(schema_fields(&validator, &custom_off).is_empty());
    let parsed = parse(&as_kong_sends(&custom_off)).expect("parses");
    assert!(Detector::new(&parsed.detector).is_ok());
}
