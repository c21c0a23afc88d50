//! `kong/render-config.sh`: picks the template from `KONG_CONFIG_MODE`, fills the placeholders
//! from the environment with YAML-safe quoting, and refuses what Kong or the filter would reject.
// Test helpers outside #[test] functions: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod kong_support;

use kong_support::{managed_env, only_config, render, render_yaml, SECRET};
use serde_json::{json, Value as Json};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Renders with `vars` and returns the filter config.
fn config(vars: &[(&str, &str)]) -> Json {
    only_config(&render_yaml(vars, &[]))
}

fn fails(vars: &[(&str, &str)], args: &[&str], names: &str) {
    let out = render(vars, args);
    assert!(
        !out.status.success(),
        "rendered although it should fail ({names})"
    );
    assert!(
        out.stdout.is_empty(),
        "partial output on failure: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr(&out).contains(names),
        "stderr does not name {names}: {}",
        stderr(&out)
    );
}

#[test]
fn secret_with_yaml_and_shell_specials_round_trips() {
    for secret in [
        r#"a"b\c$d&e/f 0123456789abcdef0123456789"#,
        r#"\\"\"&&//$$HOME${X}`id`'single' #hash: colon-padding-padding"#,
        "ünïcødé-sécret-with-enough-characters-0123456789",
    ] {
        let got = config(&[
            ("AWS_MASKER_TOKEN_SECRET", secret),
            ("REDIS_PASSWORD", secret),
        ]);
        assert_eq!(got["token_secret"], secret);
        assert_eq!(got["redis_password"], secret);
    }
}

#[test]
fn missing_or_short_secret_refuses_to_render() {
    for mode in ["", "traditional", "managed"] {
        fails(
            &[("KONG_CONFIG_MODE", mode)],
            &[],
            "AWS_MASKER_TOKEN_SECRET",
        );
        fails(
            &[("KONG_CONFIG_MODE", mode), ("AWS_MASKER_TOKEN_SECRET", "")],
            &[],
            "AWS_MASKER_TOKEN_SECRET",
        );
    }
    fails(
        &[("AWS_MASKER_TOKEN_SECRET", "0123456789abcdef0123456789abcde")],
        &[],
        "at least 32",
    );
}

#[test]
fn control_characters_are_refused_without_echoing_the_value() {
    let bad = format!("{SECRET}\nredis_host: evil");
    for var in ["AWS_MASKER_TOKEN_SECRET", "REDIS_PASSWORD", "REDIS_HOST"] {
        let mut vars = vec![("AWS_MASKER_TOKEN_SECRET", SECRET)];
        vars.retain(|(k, _)| *k != var);
        vars.push((var, &bad));
        let out = render(&vars, &[]);
        assert!(!out.status.success(), "{var} with a newline rendered");
        assert!(stderr(&out).contains(var));
        assert!(!stderr(&out).contains("evil") && !stderr(&out).contains(SECRET));
    }
    let tab = format!("{SECRET}\tx");
    fails(
        &[("AWS_MASKER_TOKEN_SECRET", &tab)],
        &[],
        "control characters",
    );
}

#[test]
fn mode_picks_the_template() {
    let default = config(&[("AWS_MASKER_TOKEN_SECRET", SECRET)]);
    assert_eq!(
        default["mode"], "enforce",
        "kong.yml writes every field out"
    );
    assert_eq!(default["redis_type"], "traditional");
    assert_eq!(default["redis_host"], "127.0.0.1");
    assert_eq!(default["redis_port"], 6379);
    assert_eq!(default["redis_password"], Json::Null);

    let traditional = config(&[
        ("KONG_CONFIG_MODE", "traditional"),
        ("AWS_MASKER_TOKEN_SECRET", SECRET),
        ("REDIS_HOST", "redis"),
        ("REDIS_PORT", "6390"),
        ("REDIS_PASSWORD", "pw"),
    ]);
    assert_eq!(
        traditional,
        json!({"token_secret": SECRET, "node_cache": true, "use_redis": true, "redis_type": "traditional",
               "redis_host": "redis", "redis_port": 6390, "redis_password": "pw"})
    );

    let managed = config(&managed_env());
    assert_eq!(
        managed,
        json!({"token_secret": SECRET, "node_cache": true, "use_redis": true, "redis_type": "managed",
               "redis_host": "master.masker.abc123.use1.cache.amazonaws.com", "redis_port": 6380,
               "redis_ssl_enabled": true, "redis_ssl_verify": true, "redis_auth_token": "tok",
               "redis_user": "masker", "redis_cluster_mode": true,
               "redis_cluster_endpoint": "clustercfg.masker.abc123.use1.cache.amazonaws.com"})
    );

    fails(
        &[
            ("KONG_CONFIG_MODE", "hybrid"),
            ("AWS_MASKER_TOKEN_SECRET", SECRET),
        ],
        &[],
        "KONG_CONFIG_MODE",
    );
}

#[test]
fn managed_defaults_are_secure_and_unset_options_are_null() {
    let got = config(&[
        ("KONG_CONFIG_MODE", "managed"),
        ("AWS_MASKER_TOKEN_SECRET", SECRET),
        ("ELASTICACHE_HOST", "h.cache.amazonaws.com"),
    ]);
    assert_eq!(got["redis_port"], 6379);
    assert_eq!(got["redis_ssl_enabled"], true);
    assert_eq!(got["redis_ssl_verify"], true);
    assert_eq!(got["redis_cluster_mode"], false);
    for field in ["redis_auth_token", "redis_user", "redis_cluster_endpoint"] {
        assert_eq!(got[field], Json::Null, "{field}");
    }
    let upper = config(&[
        ("KONG_CONFIG_MODE", "managed"),
        ("AWS_MASKER_TOKEN_SECRET", SECRET),
        ("ELASTICACHE_HOST", "h.cache.amazonaws.com"),
        ("ELASTICACHE_SSL_ENABLED", "FALSE"),
    ]);
    assert_eq!(upper["redis_ssl_enabled"], false);
}

#[test]
fn managed_rules_are_checked_before_kong_sees_the_file() {
    let with = |changes: &[(&'static str, &'static str)]| {
        let mut vars = managed_env();
        vars.retain(|(k, _)| !changes.iter().any(|(c, _)| c == k));
        vars.extend(changes.iter().filter(|(_, v)| !v.is_empty()));
        vars
    };
    fails(
        &with(&[("ELASTICACHE_HOST", "")]),
        &[],
        "ELASTICACHE_HOST is required",
    );
    fails(
        &with(&[("ELASTICACHE_CLUSTER_ENDPOINT", "")]),
        &[],
        "requires ELASTICACHE_CLUSTER_ENDPOINT",
    );
    fails(
        &with(&[("ELASTICACHE_CLUSTER_MODE", "false")]),
        &[],
        "requires ELASTICACHE_CLUSTER_MODE=true",
    );
    fails(
        &with(&[("ELASTICACHE_AUTH_TOKEN", "")]),
        &[],
        "ELASTICACHE_USER requires ELASTICACHE_AUTH_TOKEN",
    );
    // Cluster variables left in the environment do not stop a traditional deployment.
    let mut traditional = with(&[("ELASTICACHE_CLUSTER_ENDPOINT", "")]);
    traditional.retain(|(k, _)| *k != "KONG_CONFIG_MODE");
    traditional.push(("KONG_CONFIG_MODE", "traditional"));
    assert_eq!(config(&traditional)["redis_type"], "traditional");
}

#[test]
fn ports_and_booleans_are_validated() {
    for port in ["0", "65536", "abc", "6379 ", "-1", "99999999", "63.5"] {
        fails(
            &[("AWS_MASKER_TOKEN_SECRET", SECRET), ("REDIS_PORT", port)],
            &[],
            "REDIS_PORT must be an integer 1..65535",
        );
    }
    assert_eq!(
        config(&[("AWS_MASKER_TOKEN_SECRET", SECRET), ("REDIS_PORT", "00080")])["redis_port"],
        80
    );
    for flag in ["yes", "1", "on", ""] {
        let mut vars = managed_env();
        vars.retain(|(k, _)| *k != "ELASTICACHE_SSL_ENABLED");
        if !flag.is_empty() {
            vars.push(("ELASTICACHE_SSL_ENABLED", flag));
            fails(&vars, &[], "ELASTICACHE_SSL_ENABLED must be true or false");
        } else {
            assert_eq!(config(&vars)["redis_ssl_enabled"], true);
        }
    }
}

#[test]
fn output_file_is_private_and_the_command_runs_after_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("kong-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let file = dir.join("kong.yml");
    let file_arg = file.to_str().expect("utf-8 path");

    let out = render(
        &[("AWS_MASKER_TOKEN_SECRET", SECRET)],
        &[
            "-o",
            file_arg,
            "--",
            "sh",
            "-c",
            "echo ran with \"$0\" \"$KONG_DECLARATIVE_CONFIG\"",
            "arg",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("ran with arg {file_arg}\n")
    );
    let mode = std::fs::metadata(&file)
        .expect("rendered file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(std::fs::read_to_string(&file)
        .expect("read")
        .contains(SECRET));

    // A failed render leaves the previous file alone, runs nothing and leaves no temporary file.
    let out = render(
        &[("REDIS_PORT", "0"), ("AWS_MASKER_TOKEN_SECRET", SECRET)],
        &["-o", file_arg, "--", "echo", "ran"],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(std::fs::read_to_string(&file)
        .expect("read")
        .contains(SECRET));
    let left: Vec<_> = std::fs::read_dir(&dir).expect("ls").collect();
    assert_eq!(left.len(), 1, "temporary file left behind");
    std::fs::remove_dir_all(&dir).expect("cleanup");

    fails(
        &[("AWS_MASKER_TOKEN_SECRET", SECRET)],
        &["--", "echo"],
        "needs -o",
    );
}

#[test]
fn explicit_template_renders_the_filter_plugin_form() {
    let doc = render_yaml(
        &[("AWS_MASKER_TOKEN_SECRET", SECRET)],
        &["-t", "kong/examples/kong-filter-plugin.yml"],
    );
    let plugin = &doc["services"][0]["plugins"][0];
    assert_eq!(plugin["name"].as_str(), Some("aws_masker"));
    assert_eq!(plugin["config"]["token_secret"].as_str(), Some(SECRET));
    fails(
        &[("AWS_MASKER_TOKEN_SECRET", SECRET)],
        &["-t", "kong/nope.yml"],
        "cannot read template",
    );
}

#[test]
fn unknown_placeholder_is_an_error() {
    let dir = std::env::temp_dir().join(format!("kong-render-unknown-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let t = dir.join("t.yml");
    std::fs::write(
        &t,
        "a: ${{ env \"DECK_HOME\" }}\nb: ${{ env \"DECK_REDIS_PORT\"\n",
    )
    .expect("write");
    fails(
        &[("AWS_MASKER_TOKEN_SECRET", SECRET)],
        &["-t", t.to_str().expect("path")],
        "unknown variable HOME",
    );
    std::fs::write(&t, "b: ${{ env \"DECK_REDIS_PORT\"\n").expect("write");
    fails(
        &[("AWS_MASKER_TOKEN_SECRET", SECRET)],
        &["-t", t.to_str().expect("path")],
        "unterminated",
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn every_awk_on_the_machine_renders_the_same_bytes() {
    // Kong's images ship mawk or gawk as awk; the script must not depend on which.
    let awks: Vec<_> = [
        "/usr/bin/gawk",
        "/usr/bin/mawk",
        "/usr/bin/original-awk",
        "/bin/busybox",
    ]
    .into_iter()
    .filter(|p| std::path::Path::new(p).exists())
    .collect();
    let secret = r#"a"b\c$d&e/f-é-0123456789abcdef0123456789"#;
    let mut outputs = Vec::new();
    for awk in &awks {
        let dir =
            std::env::temp_dir().join(format!("kong-awk-{}-{}", std::process::id(), outputs.len()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        std::os::unix::fs::symlink(awk, dir.join("awk")).expect("symlink");
        let path = format!(
            "{}:{}",
            dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut vars = managed_env();
        vars.retain(|(k, _)| *k != "AWS_MASKER_TOKEN_SECRET");
        vars.push(("AWS_MASKER_TOKEN_SECRET", secret));
        vars.push(("PATH", &path));
        let out = render(&vars, &[]);
        assert!(out.status.success(), "{awk}: {}", stderr(&out));
        outputs.push(out.stdout);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
    assert!(!outputs.is_empty());
    assert!(
        outputs.windows(2).all(|w| w[0] == w[1]),
        "awks disagree: {awks:?}"
    );
}
