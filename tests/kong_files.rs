//! What can be checked of the Kong deployment files without a Docker engine or a Kong: they parse,
//! they name only fields the filter knows, images are pinned, and the compose file, kong.conf,
//! the templates and the docs agree with each other.
// Test helpers outside #[test] functions: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kong_support;

use std::collections::BTreeSet;

use kong_support::{
    config_schema, doc_fields, filter_configs, kong_conf, parse_yaml, read, render_vars, root,
    templates, SECRET,
};
use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;

fn doc_field_names() -> BTreeSet<String> {
    doc_fields().into_iter().map(|f| f.name).collect()
}

#[test]
fn config_doc_table_is_complete() {
    // Guards the parser of the table: a reformatted CONFIG.md must not make the other tests vacuous.
    let names = doc_field_names();
    assert_eq!(names.len(), 32, "{names:?}");
    for f in [
        "mode",
        "token_secret",
        "max_body_bytes",
        "redis_cluster_endpoint",
    ] {
        assert!(names.contains(f), "{f}");
    }
}

#[test]
fn templates_parse_and_embed_only_documented_fields() {
    let known = doc_field_names();
    let all = templates();
    assert!(all.len() >= 4, "{all:?}");
    for t in &all {
        let raw = parse_yaml(&read(t));
        let configs = filter_configs(&raw);
        assert_eq!(configs.len(), 1, "{t}: one aws_masker config expected");
        for config in configs {
            let fields = config
                .as_object()
                .unwrap_or_else(|| panic!("{t}: config is not a map"));
            for field in fields.keys() {
                assert!(
                    known.contains(field),
                    "{t}: field {field} is not in docs/CONFIG.md"
                );
            }
            assert!(fields.contains_key("token_secret"), "{t}");
        }
    }
}

#[test]
fn default_template_spells_out_every_field() {
    // Written out, or shown in a comment where an empty value cannot be written (lists).
    let text = read("kong/kong.yml");
    let config = &filter_configs(&parse_yaml(&text))[0];
    let mut shown: BTreeSet<String> = config.as_object().expect("map").keys().cloned().collect();
    for line in text.lines() {
        if let Some(field) = line
            .trim()
            .strip_prefix("# ")
            .and_then(|l| l.split_once(": "))
        {
            if field.0.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                shown.insert(field.0.to_string());
            }
        }
    }
    assert_eq!(shown, doc_field_names());
}

#[test]
fn templates_hold_no_empty_lists() {
    // lua-cjson encodes an empty Lua table as `{}`: an empty YAML list would reach the filter as an
    // object, which its parser rejects (every request would get 500).
    fn check(t: &str, path: &str, v: &Yaml) {
        match v {
            Yaml::Sequence(s) if s.is_empty() => panic!("{t}: empty list at {path}"),
            Yaml::Mapping(m) if m.is_empty() => panic!("{t}: empty map at {path}"),
            Yaml::Sequence(s) => s
                .iter()
                .enumerate()
                .for_each(|(i, x)| check(t, &format!("{path}[{i}]"), x)),
            Yaml::Mapping(m) => m
                .iter()
                .for_each(|(k, x)| check(t, &format!("{path}.{}", k.as_str().unwrap_or("?")), x)),
            _ => {}
        }
    }
    for t in templates() {
        check(&t, "", &parse_yaml(&read(&t)));
    }
}

#[test]
fn metric_label_patterns_are_kong_shaped() {
    // Kong 3.9's Prometheus plugin: each pattern runs on `pw:<filter>:<metric>`; group 1 is cut from
    // the name, group 2 is the label's value (kong/plugins/prometheus/wasmx.lua).
    let meta: Json = serde_json::from_str(&read("kong/aws_masker.meta.json")).expect("meta.json");
    let patterns = meta["metrics"]["label_patterns"]
        .as_array()
        .expect("label_patterns");
    let parse = |key: &str| -> (String, Vec<(String, String)>) {
        let mut name_end = key.len();
        let mut labels = Vec::new();
        for p in patterns {
            let re =
                regex_lite::Regex::new(p["pattern"].as_str().expect("pattern")).expect("compiles");
            if let Some(c) = re.captures(key) {
                let (whole, value) = (c.get(1).expect("group 1"), c.get(2).expect("group 2"));
                labels.push((
                    p["label"].as_str().expect("label").to_string(),
                    value.as_str().to_string(),
                ));
                name_end = name_end.min(whole.start());
            }
        }
        (key[..name_end].replace(':', "_"), labels)
    };
    let kv = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    assert_eq!(
        parse("pw:aws_masker:blocks_invalid_json"),
        ("pw_aws_masker_blocks".into(), kv("reason", "invalid_json"))
    );
    assert_eq!(
        parse("pw:aws_masker:blocks_store_failed"),
        ("pw_aws_masker_blocks".into(), kv("reason", "store_failed"))
    );
    assert_eq!(
        parse("pw:aws_masker:identifiers_masked_ARN_IAM_ROLE"),
        (
            "pw_aws_masker_identifiers_masked".into(),
            kv("kind", "ARN_IAM_ROLE")
        )
    );
    for plain in [
        "identifiers_masked",
        "requests_masked",
        "placeholders_restored",
        "placeholders_unknown",
    ] {
        assert_eq!(
            parse(&format!("pw:aws_masker:{plain}")),
            (format!("pw_aws_masker_{plain}"), vec![])
        );
    }
}

/// Routes, service and attachment every template must have, whatever the form.
fn check_gateway(t: &str, doc: &Yaml) {
    assert_eq!(doc["_format_version"].as_str(), Some("3.0"), "{t}");
    let services: Vec<&Yaml> = kong_support::seq(doc, "services").collect();
    assert_eq!(services.len(), 1, "{t}");
    let svc = services[0];
    assert_eq!(
        svc["url"].as_str(),
        Some("https://api.anthropic.com"),
        "{t}"
    );
    assert_eq!(
        svc["tls_verify"].as_bool(),
        Some(true),
        "{t}: upstream TLS must be verified"
    );
    let mut paths = BTreeSet::new();
    for route in kong_support::seq(svc, "routes") {
        assert_eq!(
            route["strip_path"].as_bool(),
            Some(false),
            "{t}: Anthropic needs the full path"
        );
        // Every route runs the filter (it is on the service): SSE must stream, and a buffered
        // response whose chunks the filter rewrites leaks nginx's proxy buffers until the
        // worker hangs (found on the real engine; docs/deploy/README.md).
        assert_eq!(
            route["response_buffering"].as_bool(),
            Some(false),
            "{t}: route {:?} must not buffer responses",
            route["name"].as_str()
        );
        for p in kong_support::seq(route, "paths") {
            let p = p.as_str().expect("path");
            paths.insert(p.to_string());
        }
    }
    let want: BTreeSet<String> = [
        "/v1/messages",
        "/v1/messages/count_tokens",
        "/v1/messages/batches",
    ]
    .map(String::from)
    .into();
    assert_eq!(paths, want, "{t}");
}

#[test]
fn every_template_is_a_complete_gateway() {
    for t in templates() {
        let doc = parse_yaml(&read(&t));
        check_gateway(&t, &doc);
        let svc = &doc["services"][0];
        if t.ends_with("kong-filter-plugin.yml") {
            assert_eq!(svc["plugins"][0]["name"].as_str(), Some("aws_masker"));
            assert!(svc.get("filter_chains").is_none(), "{t}: one form only");
        } else {
            // Last in its chain: a filter after it would read the request body at its
            // original length (the engine keeps that of the body before masking), and the
            // end-of-stream rule the filter relies on holds for the chain's last filter.
            let filters: Vec<&Yaml> =
                kong_support::seq(&svc["filter_chains"][0], "filters").collect();
            assert_eq!(
                filters.last().and_then(|f| f["name"].as_str()),
                Some("aws_masker"),
                "{t}"
            );
            assert!(svc.get("plugins").is_none(), "{t}");
        }
    }
}

#[test]
fn meta_json_is_a_draft04_schema_kong_can_load() {
    let meta: Json =
        serde_json::from_str(&read("kong/aws_masker.meta.json")).expect("meta.json is JSON");
    let keys: Vec<&String> = meta.as_object().expect("object").keys().collect();
    assert!(
        keys.iter()
            .all(|k| *k == "config_schema" || *k == "metrics"),
        "{keys:?}"
    );
    let schema = config_schema();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-04/schema#");
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["required"], serde_json::json!(["token_secret"]));
    assert_eq!(schema["properties"]["token_secret"]["minLength"], 32);
    assert_eq!(
        schema["properties"]["custom_patterns"]["items"]["additionalProperties"],
        false
    );
    jsonschema::draft4::meta::validate(&schema).expect("valid against the draft-04 meta-schema");
    keywords_are_draft04(&schema, "");
}

/// Every keyword is one draft-04 defines (resty.ljsonschema knows nothing newer: no `const`,
/// `if`, `$defs`, numeric `exclusiveMinimum`).
fn keywords_are_draft04(schema: &Json, at: &str) {
    const DRAFT04: &[&str] = &[
        "$schema",
        "title",
        "description",
        "default",
        "type",
        "enum",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "items",
        "additionalItems",
        "minItems",
        "maxItems",
        "uniqueItems",
        "properties",
        "patternProperties",
        "additionalProperties",
        "required",
        "dependencies",
        "minProperties",
        "maxProperties",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
    ];
    let Some(obj) = schema.as_object() else {
        return;
    };
    for (k, v) in obj {
        assert!(
            DRAFT04.contains(&k.as_str()),
            "{at}/{k}: not a draft-04 keyword"
        );
        match k.as_str() {
            "exclusiveMinimum" | "exclusiveMaximum" => assert!(v.is_boolean(), "{at}/{k}"),
            "properties" | "patternProperties" | "dependencies" => {
                for (name, sub) in v.as_object().expect("map") {
                    keywords_are_draft04(sub, &format!("{at}/{k}/{name}"));
                }
            }
            "items" | "not" | "additionalProperties" | "additionalItems" => {
                keywords_are_draft04(v, &format!("{at}/{k}"))
            }
            "allOf" | "anyOf" | "oneOf" => {
                for (i, sub) in v.as_array().expect("list").iter().enumerate() {
                    keywords_are_draft04(sub, &format!("{at}/{k}/{i}"));
                }
            }
            _ => {}
        }
    }
}

fn compose() -> Yaml {
    parse_yaml(&read("kong/docker-compose.yml"))
}

fn env_of(service: &Yaml) -> Vec<(String, String)> {
    service["environment"]
        .as_mapping()
        .expect("environment as a map")
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Yaml::String(s) => s.clone(),
                other => serde_yaml_ng::to_string(other)
                    .expect("scalar")
                    .trim()
                    .to_string(),
            };
            (k.as_str().expect("key").to_string(), v)
        })
        .collect()
}

#[test]
fn compose_services_are_production_shaped() {
    let doc = compose();
    let services = doc["services"].as_mapping().expect("services");
    let names: BTreeSet<&str> = services.keys().filter_map(Yaml::as_str).collect();
    assert_eq!(names, BTreeSet::from(["kong", "bridge", "redis"]));
    for (name, svc) in services {
        let name = name.as_str().expect("name");
        assert!(
            svc["healthcheck"]["test"]
                .as_sequence()
                .is_some_and(|t| !t.is_empty()),
            "{name}"
        );
        assert_eq!(svc["restart"].as_str(), Some("unless-stopped"), "{name}");
        let limits = &svc["deploy"]["resources"]["limits"];
        assert!(
            limits["cpus"].as_str().is_some() && limits["memory"].as_str().is_some(),
            "{name}"
        );
        assert_eq!(
            svc["logging"]["options"]["max-size"].as_str(),
            Some("10m"),
            "{name}"
        );
        for port in kong_support::seq(svc, "ports") {
            assert!(
                port.as_str().is_some_and(|p| p.starts_with("127.0.0.1:")),
                "{name}: {port:?}"
            );
        }
    }
    let bridge = &doc["services"]["bridge"];
    assert_eq!(
        bridge["network_mode"].as_str(),
        Some("service:kong"),
        "the bridge is a sidecar"
    );
    let listen = env_of(bridge);
    let default_address = config_schema()["properties"]["bridge_address"]["default"].clone();
    assert_eq!(
        listen,
        vec![(
            "AWS_MASKER_BRIDGE_LISTEN".to_string(),
            default_address.as_str().expect("str").to_string()
        )],
        "the bridge listens where the filter dispatches by default"
    );
}

#[test]
fn compose_passes_every_render_variable_and_kong_conf_setting() {
    let env = env_of(&compose()["services"]["kong"]);
    let names: BTreeSet<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    let vars = render_vars();
    assert_eq!(vars.len(), 11, "{vars:?}");
    for var in vars.iter().map(String::as_str).chain(["KONG_CONFIG_MODE"]) {
        assert!(names.contains(var), "compose does not pass {var}");
    }
    let secret = &env
        .iter()
        .find(|(k, _)| k == "AWS_MASKER_TOKEN_SECRET")
        .expect("secret")
        .1;
    assert!(
        secret.starts_with("${AWS_MASKER_TOKEN_SECRET:?"),
        "the secret must be required: {secret}"
    );
    let conf = kong_conf();
    assert!(conf.len() >= 8, "{conf:?}");
    for (key, value) in conf {
        let var = format!("KONG_{}", key.to_uppercase());
        let got = env.iter().find(|(k, _)| *k == var).map(|(_, v)| v.clone());
        assert_eq!(
            got.as_deref(),
            Some(value.as_str()),
            "{var} differs from kong.conf {key}"
        );
    }
}

#[test]
fn kong_conf_has_what_the_filter_needs() {
    let conf: std::collections::BTreeMap<String, String> = kong_conf().into_iter().collect();
    assert_eq!(conf["wasm"], "on");
    assert_eq!(conf["wasm_filters_path"], "/opt/aws-masker/wasm");
    assert!(
        conf.contains_key("nginx_wasm_shm_kv_aws_masker"),
        "node_cache: true needs it"
    );
    assert!(
        !conf.contains_key("nginx_http_wasm_response_body_buffers"),
        "the filter never pauses a response: a response-buffering window would be unused"
    );
    let max_body = config_schema()["properties"]["max_body_bytes"]["default"]
        .as_u64()
        .expect("default");
    assert!(
        nginx_size(&conf["nginx_http_client_body_buffer_size"]) >= max_body,
        "the body buffer must hold max_body_bytes, or bodies spool to a file the filter cannot read"
    );
}

fn nginx_size(s: &str) -> u64 {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().expect("size");
    match unit {
        "" => n,
        "k" | "K" => n << 10,
        "m" | "M" => n << 20,
        other => panic!("unit {other}"),
    }
}

/// Every image a deployment file names: compose `image:` of services that are not built here,
/// build args, Dockerfile `FROM` and `ARG *_IMAGE=` lines, and `image` fields in docs/deploy.
fn image_refs() -> Vec<(String, String)> {
    let mut refs = Vec::new();
    let doc = compose();
    for (name, svc) in doc["services"].as_mapping().expect("services") {
        let name = name.as_str().expect("name");
        if svc.get("build").is_none() {
            refs.push((
                format!("compose {name}"),
                svc["image"].as_str().expect("image").to_string(),
            ));
        }
        if let Some(args) = svc["build"]["args"].as_mapping() {
            for (k, v) in args {
                if k.as_str().is_some_and(|k| k.ends_with("_IMAGE")) {
                    refs.push((
                        format!("compose {name} build arg"),
                        v.as_str().expect("arg").to_string(),
                    ));
                }
            }
        }
    }
    for file in ["kong/Dockerfile", "bridge/Dockerfile"] {
        for line in read(file).lines() {
            if let Some(from) = line.strip_prefix("FROM ") {
                let image = from.split_whitespace().next().expect("image");
                if !image.starts_with("${") {
                    refs.push((file.to_string(), image.to_string()));
                }
            }
            if let Some(arg) = line.strip_prefix("ARG ") {
                if let Some((k, v)) = arg.split_once('=') {
                    if k.ends_with("_IMAGE") {
                        refs.push((file.to_string(), v.to_string()));
                    }
                }
            }
        }
    }
    for entry in walk(&root().join("docs/deploy")) {
        let text = std::fs::read_to_string(&entry).expect("read");
        for line in text.lines() {
            let line = line.trim().trim_start_matches("- ");
            for key in ["image: ", "\"image\": "] {
                if let Some(v) = line.strip_prefix(key) {
                    let v = v.trim_matches(|c| c == '"' || c == ',' || c == ' ');
                    refs.push((entry.display().to_string(), v.to_string()));
                }
            }
        }
    }
    refs
}

pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn images_are_pinned() {
    let refs = image_refs();
    assert!(refs.len() >= 6, "{refs:?}");
    for (source, image) in refs {
        let last = image.rsplit('/').next().expect("name");
        let tag = last.split_once(':').map(|(_, t)| t);
        assert!(
            tag.is_some_and(|t| t != "latest" && t.chars().any(|c| c.is_ascii_digit())),
            "{source}: image {image} is not pinned to a version"
        );
    }
}

#[test]
fn secrets_are_never_committed() {
    // The only secret-looking values allowed are placeholders and the tests' own constant.
    for t in templates() {
        let text = read(&t);
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            for field in ["token_secret:", "redis_password:", "redis_auth_token:"] {
                if let Some(v) = line.trim().strip_prefix(field) {
                    let v = v.trim();
                    assert!(
                        v == "null" || v.starts_with("${{ env \"DECK_"),
                        "{t}: {line}"
                    );
                }
            }
        }
        assert!(!text.contains(SECRET));
    }
}

fn deploy_docs() -> Vec<(String, String)> {
    let mut docs: Vec<(String, String)> = walk(&root().join("docs/deploy"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| {
            let rel = p
                .strip_prefix(root())
                .expect("under root")
                .display()
                .to_string();
            let text = std::fs::read_to_string(&p).expect("read");
            (rel, text)
        })
        .collect();
    docs.push((
        "docs/failure-behaviour.md".into(),
        read("docs/failure-behaviour.md"),
    ));
    docs
}

#[test]
fn deploy_docs_name_only_files_and_targets_that_exist() {
    let docs = deploy_docs();
    assert!(docs.len() >= 8, "{docs:?}");
    let makefile = read("Makefile");
    for (doc, text) in &docs {
        // Repository paths in backticks or links, e.g. `kong/kong.conf`, (eks/aws-masker-fargate.yaml).
        for token in text.split(|c: char| c == '`' || c == '(' || c == ')' || c.is_whitespace()) {
            let token = token
                .trim_start_matches("file://")
                .trim_end_matches(['.', ',', ':']);
            let token = token.split('#').next().unwrap_or("");
            let repo_rooted = ["kong/", "bridge/", "scripts/", "docs/"]
                .iter()
                .any(|p| token.starts_with(p));
            if repo_rooted && !token.contains(['<', '*', ':']) {
                assert!(root().join(token).exists(), "{doc}: {token} does not exist");
            }
        }
        for link in text.split("](").skip(1) {
            let target = link
                .split(')')
                .next()
                .unwrap_or("")
                .split('#')
                .next()
                .unwrap_or("");
            if !target.is_empty() && !target.contains("://") {
                let base = std::path::Path::new(doc).parent().expect("dir");
                assert!(
                    root().join(base).join(target).exists(),
                    "{doc}: link {target} is broken"
                );
            }
        }
        for line in text.lines() {
            if let Some(rest) = line.split("make ").nth(1) {
                let target = rest
                    .split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
                    .next()
                    .unwrap_or("");
                if !target.is_empty() && line.contains(&format!("`make {target}")) {
                    assert!(
                        makefile.contains(&format!("\n{target}:")),
                        "{doc}: make {target} is no target"
                    );
                }
            }
        }
    }
}

#[test]
fn deploy_docs_cover_every_variable() {
    let all: String = deploy_docs().into_iter().map(|(_, t)| t).collect();
    for var in render_vars()
        .iter()
        .map(String::as_str)
        .chain(["KONG_CONFIG_MODE"])
    {
        assert!(
            all.contains(&format!("`{var}`")),
            "no deployment guide documents {var}"
        );
    }
}

/// Environment names a deployment example may set: the renderer's, Kong's own, the bridge's.
fn check_env_names(source: &str, names: &[String]) {
    let vars = render_vars();
    for name in names {
        let known = vars.contains(name)
            || name == "KONG_CONFIG_MODE"
            || name.starts_with("AWS_MASKER_BRIDGE_")
            || name.starts_with("KONG_");
        assert!(known, "{source}: unknown variable {name}");
    }
}

#[test]
fn kubernetes_manifests_take_secrets_from_secrets() {
    for path in walk(&root().join("docs/deploy/eks")) {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(&path).expect("read");
        let docs: Vec<Yaml> = serde_yaml_ng::Deserializer::from_str(&text)
            .map(|d| serde::Deserialize::deserialize(d).unwrap_or_else(|e| panic!("{source}: {e}")))
            .collect();
        let deployment = docs
            .iter()
            .find(|d| d["kind"].as_str() == Some("Deployment"))
            .expect("a Deployment");
        let containers: Vec<&Yaml> =
            kong_support::seq(&deployment["spec"]["template"]["spec"], "containers").collect();
        let names: Vec<&str> = containers
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names, ["kong", "bridge"], "{source}");
        for c in containers {
            let env: Vec<&Yaml> = kong_support::seq(c, "env").collect();
            let env_names: Vec<String> = env
                .iter()
                .filter_map(|e| e["name"].as_str())
                .map(String::from)
                .collect();
            check_env_names(&source, &env_names);
            for e in env {
                let name = e["name"].as_str().expect("name");
                if name.contains("SECRET")
                    || name.contains("PASSWORD")
                    || name.contains("AUTH_TOKEN")
                {
                    assert!(
                        e.get("value").is_none(),
                        "{source}: {name} must come from a Secret"
                    );
                    assert!(
                        e["valueFrom"]["secretKeyRef"].is_mapping(),
                        "{source}: {name}"
                    );
                }
            }
        }
        let mode = &deployment["spec"]["template"]["spec"]["containers"][0]["env"][0];
        assert_eq!(mode["name"].as_str(), Some("KONG_CONFIG_MODE"), "{source}");
    }
}

#[test]
fn ecs_task_definition_takes_secrets_from_secrets_manager() {
    let task: Json =
        serde_json::from_str(&read("docs/deploy/ecs-task-definition.json")).expect("json");
    assert_eq!(
        task["networkMode"], "awsvpc",
        "containers share 127.0.0.1 only with awsvpc"
    );
    let containers = task["containerDefinitions"].as_array().expect("containers");
    let kong = containers
        .iter()
        .find(|c| c["name"] == "kong")
        .expect("kong");
    let bridge = containers
        .iter()
        .find(|c| c["name"] == "bridge")
        .expect("bridge");
    assert_eq!(kong["dependsOn"][0]["containerName"], "bridge");
    assert_eq!(kong["dependsOn"][0]["condition"], "HEALTHY");
    assert!(bridge["healthCheck"]["command"].is_array());
    for c in containers {
        assert_eq!(c["essential"], true);
        let names = |key: &str| -> Vec<String> {
            c[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["name"].as_str())
                .map(String::from)
                .collect()
        };
        let plain = names("environment");
        check_env_names("ecs-task-definition.json", &plain);
        for name in &plain {
            assert!(
                !name.contains("SECRET")
                    && !name.contains("AUTH_TOKEN")
                    && !name.contains("PASSWORD"),
                "{name}"
            );
        }
        check_env_names("ecs-task-definition.json", &names("secrets"));
    }
    let secrets: Vec<&str> = kong["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        secrets,
        ["AWS_MASKER_TOKEN_SECRET", "ELASTICACHE_AUTH_TOKEN"]
    );
    let env = kong["environment"].as_array().expect("env");
    let get = |n: &str| {
        env.iter()
            .find(|e| e["name"] == n)
            .map(|e| e["value"].clone())
    };
    assert_eq!(get("KONG_CONFIG_MODE"), Some(Json::from("managed")));
    assert_eq!(get("ELASTICACHE_CLUSTER_MODE"), Some(Json::from("true")));
    assert!(get("ELASTICACHE_CLUSTER_ENDPOINT").is_some());
}

#[test]
fn systemd_units_use_the_release_layout() {
    // scripts/dist.sh puts these under the archive's top directory, unpacked into /opt/aws-masker.
    let layout = [
        "bin/aws-masker-bridge",
        "kong/render-config.sh",
        "kong/kong.conf",
        "wasm",
    ];
    let mut seen = 0;
    for path in walk(&root().join("kong/systemd")) {
        let text = std::fs::read_to_string(&path).expect("read");
        for part in text.split_whitespace() {
            if let Some(rel) = part.strip_prefix("/opt/aws-masker/") {
                assert!(
                    layout.contains(&rel),
                    "{}: /opt/aws-masker/{rel} is not in the release",
                    path.display()
                );
                seen += 1;
            }
        }
    }
    assert!(seen >= 4);
    // scripts/check-dist.sh fails a release that lacks one of them.
    let check = read("scripts/check-dist.sh");
    for rel in layout {
        assert!(
            check.contains(&format!(" {rel}")),
            "check-dist.sh does not require {rel}"
        );
    }
    let conf: std::collections::BTreeMap<String, String> = kong_conf().into_iter().collect();
    assert_eq!(conf["wasm_filters_path"], "/opt/aws-masker/wasm");
}
