//! Shared helpers of the `kong_*` integration tests: rendering the declarative templates with
//! `kong/render-config.sh`, finding the filter configs in a declarative document, and the
//! filter's `config_schema` from `kong/aws_masker.meta.json`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;

/// A secret that passes every rule: long, not a placeholder, not one repeated character.
pub const SECRET: &str = "tests-only-9f2c41d7a0b35e86c1d4f7a2b9e03c58";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn read(rel: &str) -> String {
    let path = root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Runs `sh kong/render-config.sh ARGS` with exactly `vars` in its environment (plus `PATH`).
pub fn render(vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new("sh");
    cmd.arg(root().join("kong/render-config.sh"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(root());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("run sh")
}

/// Renders successfully and parses the YAML, or fails the test with the script's stderr.
pub fn render_yaml(vars: &[(&str, &str)], args: &[&str]) -> Yaml {
    let out = render(vars, args);
    assert!(
        out.status.success(),
        "render-config.sh {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8 output");
    assert!(
        text.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .all(|l| !l.contains("${{")),
        "placeholder left in the output:\n{text}"
    );
    parse_yaml(&text)
}

pub fn parse_yaml(text: &str) -> Yaml {
    let mut doc: Yaml =
        serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("yaml: {e}\n{text}"));
    doc.apply_merge().expect("yaml merge keys");
    doc
}

/// The environment of a managed deployment with every variable set.
pub fn managed_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("KONG_CONFIG_MODE", "managed"),
        ("AWS_MASKER_TOKEN_SECRET", SECRET),
        (
            "ELASTICACHE_HOST",
            "master.masker.abc123.use1.cache.amazonaws.com",
        ),
        ("ELASTICACHE_PORT", "6380"),
        ("ELASTICACHE_AUTH_TOKEN", "tok"),
        ("ELASTICACHE_USER", "masker"),
        ("ELASTICACHE_CLUSTER_MODE", "true"),
        (
            "ELASTICACHE_CLUSTER_ENDPOINT",
            "clustercfg.masker.abc123.use1.cache.amazonaws.com",
        ),
        ("ELASTICACHE_SSL_ENABLED", "true"),
    ]
}

/// Every `aws_masker` filter or filter-plugin config in a declarative document, wherever Kong
/// accepts one: top level, nested in services or routes, as `filter_chains` or as 3.9+ plugins.
pub fn filter_configs(doc: &Yaml) -> Vec<Json> {
    let mut found = Vec::new();
    collect(doc, &mut found);
    found
        .into_iter()
        .map(|y| serde_json::to_value(y).expect("yaml config as json"))
        .collect()
}

fn collect<'a>(entity: &'a Yaml, found: &mut Vec<&'a Yaml>) {
    for chain in seq(entity, "filter_chains") {
        for filter in seq(chain, "filters") {
            if filter.get("name").and_then(Yaml::as_str) == Some("aws_masker") {
                found.push(filter.get("config").unwrap_or(&Yaml::Null));
            }
        }
    }
    for plugin in seq(entity, "plugins") {
        if plugin.get("name").and_then(Yaml::as_str) == Some("aws_masker") {
            found.push(plugin.get("config").unwrap_or(&Yaml::Null));
        }
    }
    for child in seq(entity, "services").chain(seq(entity, "routes")) {
        collect(child, found);
    }
}

pub fn seq<'a>(v: &'a Yaml, key: &str) -> impl Iterator<Item = &'a Yaml> {
    v.get(key).and_then(Yaml::as_sequence).into_iter().flatten()
}

/// The one filter config of a rendered document.
pub fn only_config(doc: &Yaml) -> Json {
    let configs = filter_configs(doc);
    assert_eq!(configs.len(), 1, "expected one aws_masker config");
    configs.into_iter().next().expect("one config")
}

/// `config_schema` of `kong/aws_masker.meta.json`.
pub fn config_schema() -> Json {
    let meta: Json = serde_json::from_str(&read("kong/aws_masker.meta.json")).expect("meta.json");
    meta["config_schema"].clone()
}

/// Every `kong/*.yml` and `kong/examples/*.yml` template, relative to the repository root.
pub fn templates() -> Vec<String> {
    let mut all = Vec::new();
    for dir in ["kong", "kong/examples"] {
        for entry in std::fs::read_dir(root().join(dir)).expect("read kong dir") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "yml") && !is_compose(&path) {
                all.push(format!(
                    "{dir}/{}",
                    path.file_name().expect("name").to_string_lossy()
                ));
            }
        }
    }
    all.sort();
    all
}

fn is_compose(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("docker-compose"))
}

/// One row of the field table of `docs/CONFIG.md`: the field, its type column, its default column.
#[derive(Debug)]
pub struct DocField {
    pub name: String,
    pub ty: String,
    pub default: String,
}

/// The field table of `docs/CONFIG.md`, in order.
pub fn doc_fields() -> Vec<DocField> {
    read("docs/CONFIG.md")
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            let name = cells.first()?.strip_prefix("| `")?.strip_suffix('`')?;
            Some(DocField {
                name: name.to_string(),
                ty: cells.get(1)?.trim().to_string(),
                default: cells.get(2)?.trim().trim_matches('`').to_string(),
            })
        })
        .collect()
}

/// The variables `kong/render-config.sh` reads, from its type table.
pub fn render_vars() -> Vec<String> {
    read("kong/render-config.sh")
        .lines()
        .flat_map(|l| l.split(';'))
        .filter_map(|part| {
            let rest = part.trim().strip_prefix("type[\"")?;
            Some(rest.split('"').next()?.to_string())
        })
        .collect()
}

/// `key = value` settings of `kong/kong.conf`.
pub fn kong_conf() -> Vec<(String, String)> {
    read("kong/kong.conf")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}
