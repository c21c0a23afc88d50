//! The bridge against real `redis-server` processes, over real HTTP on 127.0.0.1.
// Helpers of this test crate fail loudly like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use redis::Commands;
use serde_json::json;

const ORIGINAL: &str = "i-0b263919b6498b123";
const PASSWORD: &str = "pw-Plain-7f3a";

fn plain_profile(port: u16, password: &str) -> serde_json::Value {
    json!({"redis_type": "traditional", "host": "127.0.0.1", "port": port, "password": password})
}

/// A Redis that wants [`PASSWORD`], a bridge started with `args`, and the profile for that Redis.
fn protected(args: &[&str]) -> (Redis, Bridge, serde_json::Value) {
    let redis = Redis::start(&["--requirepass", PASSWORD]);
    let bridge = Bridge::start(args);
    let profile = plain_profile(redis.port, PASSWORD);
    (redis, bridge, profile)
}

#[test]
fn store_semantics_lookup_and_http_surface() {
    let (redis, bridge, profile) = protected(&[]);
    let p1 = placeholder("EC2", 1);
    let p2 = placeholder("BUCKET", 2);
    let unknown = placeholder("EC2", 3);

    // New key: stored, with the TTL asked for.
    let v = bridge.mappings_ok(&mappings_body(
        &profile,
        600,
        &[(p1.clone(), ORIGINAL.into())],
        &[],
    ));
    assert_eq!(
        v,
        json!({"stored":1,"refreshed":0,"conflicts":[],"found":[]})
    );
    let mut conn = redis.conn(Some(PASSWORD));
    let key = format!("aws-masker:v1:{p1}");
    assert_eq!(conn.get::<_, String>(&key).unwrap(), ORIGINAL);
    let ttl: i64 = conn.ttl(&key).unwrap();
    assert!((590..=600).contains(&ttl), "ttl {ttl}");

    // Same original again: refreshed (TTL reset), not rewritten.
    let _: bool = conn.expire(&key, 5).unwrap();
    let v = bridge.mappings_ok(&mappings_body(
        &profile,
        600,
        &[
            (p1.clone(), ORIGINAL.into()),
            (p2.clone(), "my-bucket \"q\"".into()),
        ],
        &[p1.clone(), unknown.clone()],
    ));
    assert_eq!(v["stored"], 1);
    assert_eq!(v["refreshed"], 1);
    assert_eq!(
        v["found"],
        json!([{"placeholder": p1, "original": ORIGINAL}])
    );
    assert!(conn.ttl::<_, i64>(&key).unwrap() > 500);

    // A different original is a conflict and leaves the key alone.
    let v = bridge.mappings_ok(&mappings_body(
        &profile,
        600,
        &[(p1.clone(), "i-0ffffffffffffffff".into())],
        std::slice::from_ref(&p2),
    ));
    assert_eq!(v["conflicts"], json!([p1]));
    assert_eq!(v["stored"], 0);
    assert_eq!(
        v["found"],
        json!([{"placeholder": p2, "original": "my-bucket \"q\""}])
    );
    assert_eq!(conn.get::<_, String>(&key).unwrap(), ORIGINAL);

    // A batch of 100 in one call.
    let batch: Vec<(String, String)> = (100..200)
        .map(|i| (placeholder("EC2", i), format!("i-{i:017x}")))
        .collect();
    let lookup: Vec<String> = batch.iter().map(|(p, _)| p.clone()).collect();
    let v = bridge.mappings_ok(&mappings_body(&profile, 60, &batch, &lookup));
    assert_eq!(v["stored"], 100, "{v}");
    assert_eq!(v["found"].as_array().unwrap().len(), 100);

    // Wrong password: a clear code, no connection cached. Unknown host, closed port.
    let mut unknown_host = plain_profile(redis.port, PASSWORD);
    unknown_host["host"] = json!("no-such-host.invalid");
    let unreachable: [(serde_json::Value, &[String], &str); 3] = [
        (
            plain_profile(redis.port, "wrong"),
            std::slice::from_ref(&p1),
            "redis_auth",
        ),
        (unknown_host, &[], "redis_unknown_host"),
        (
            plain_profile(free_port(), PASSWORD),
            &[],
            "redis_unreachable",
        ),
    ];
    for (bad, lookup, code) in unreachable {
        bridge.mappings_refused(&mappings_body(&bad, 60, &[], lookup), 502, code);
    }

    // Malformed, invalid, oversized, wrong method, unknown path.
    let invalid = mappings_body(&profile, 60, &[], &["AWS_REGION".into()]);
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(9 * 1024 * 1024));
    let refused = [
        ("{not json", 400, "bad_request"),
        (invalid.as_str(), 400, "bad_request"),
        (big.as_str(), 413, "payload_too_large"),
    ];
    for (body, status, code) in refused {
        bridge.mappings_refused(body, status, code);
    }
    assert_refused(bridge.get("/v1/mappings"), 405, "method_not_allowed");
    assert_eq!(bridge.get("/nope").0, 404);

    // Health, readiness, metrics.
    assert_eq!(bridge.get("/healthz"), (200, "ok\n".to_string()));
    let (status, body) = bridge.get("/readyz");
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["checked"], 1);
    let (status, body) = bridge.post("/readyz", &json!({"profile": profile}).to_string());
    assert_eq!(status, 200, "{body}");
    assert_refused(
        bridge.post(
            "/readyz",
            &json!({"profile": plain_profile(redis.port, "wrong")}).to_string(),
        ),
        502,
        "redis_auth",
    );
    let (_, metrics) = bridge.get("/metrics");
    assert!(
        metrics.contains("aws_masker_bridge_stored_total 102"),
        "{metrics}"
    );
    assert!(
        metrics.contains("aws_masker_bridge_conflicts_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("aws_masker_bridge_errors_total{code=\"redis_auth\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("aws_masker_bridge_mappings_duration_seconds_count"),
        "{metrics}"
    );

    // Logs: one JSON line per request, with counts and never values or secrets.
    let logs = bridge.logs();
    for secret in [ORIGINAL, PASSWORD, "my-bucket", "wrong"] {
        assert!(!logs.contains(secret), "{secret} leaked into logs:\n{logs}");
    }
    let requests: Vec<serde_json::Value> = logs
        .lines()
        .map(json)
        .filter(|l| l["msg"] == "request")
        .collect();
    assert!(requests.len() >= 15, "{logs}");
    assert!(requests
        .iter()
        .any(|l| l["stored"] == 100 && l["status"] == 200));
}

#[test]
fn allow_list_refuses_other_endpoints() {
    let allowed = Redis::start(&[]);
    let other = Redis::start(&[]);
    let bridge = Bridge::start(&["--allow-redis", &format!("127.0.0.1:{}", allowed.port)]);
    let p = placeholder("EC2", 7);
    let store = [(p.clone(), ORIGINAL.to_string())];
    let profile = |port: u16| json!({"host": "127.0.0.1", "port": port});

    bridge.mappings_ok(&mappings_body(&profile(allowed.port), 60, &store, &[]));
    bridge.mappings_refused(
        &mappings_body(&profile(other.port), 60, &store, &[]),
        403,
        "endpoint_not_allowed",
    );
    let (status, _) = bridge.post(
        "/readyz",
        &json!({"profile": profile(other.port)}).to_string(),
    );
    assert_eq!(status, 403);
    let mut conn = other.conn(None);
    let keys: Vec<String> = conn.keys("*").unwrap();
    assert!(
        keys.is_empty(),
        "the refused endpoint was written: {keys:?}"
    );
    // The same port under another host name is not the allowed endpoint either.
    let mut by_name = profile(allowed.port);
    by_name["host"] = json!("localhost");
    let (status, _) = bridge.post("/v1/mappings", &mappings_body(&by_name, 60, &store, &[]));
    assert_eq!(status, 403);
}

#[test]
fn tls_verification_on_off_and_wrong_ca() {
    let certs = Certs::generate();
    let mut args: Vec<String> = certs.redis_args();
    args.extend(["--requirepass".into(), "tls-token".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let redis = Redis::start(&args);
    let good = Bridge::start(&["--redis-ca-file", &certs.file("ca.pem")]);
    let wrong = Bridge::start(&["--redis-ca-file", &certs.file("other-ca.pem")]);
    let builtin_roots = Bridge::start(&[]);
    let p = placeholder("EC2", 11);
    let profile = |verify: bool| {
        json!({"redis_type": "managed", "host": "127.0.0.1", "port": redis.port,
               "ssl_enabled": true, "ssl_verify": verify, "auth_token": "tls-token"})
    };
    let store = [(p.clone(), ORIGINAL.to_string())];

    let v = good.mappings_ok(&mappings_body(
        &profile(true),
        60,
        &store,
        std::slice::from_ref(&p),
    ));
    assert_eq!(v["stored"], 1);

    for bridge in [&wrong, &builtin_roots] {
        bridge.mappings_refused(
            &mappings_body(&profile(true), 60, &store, &[]),
            502,
            "redis_tls",
        );
        // Verification off: the same server is accepted (explicit opt-out).
        let v = bridge.mappings_ok(&mappings_body(
            &profile(false),
            60,
            &store,
            std::slice::from_ref(&p),
        ));
        assert_eq!(v["found"][0]["original"], ORIGINAL);
    }

    let mut bad_token = profile(true);
    bad_token["auth_token"] = json!("nope");
    good.mappings_refused(
        &mappings_body(&bad_token, 60, &store, &[]),
        502,
        "redis_auth",
    );
    // Plain TCP to a TLS port fails rather than hangs.
    let plain = json!({"host": "127.0.0.1", "port": redis.port, "password": "tls-token"});
    let (status, body) = good.post("/v1/mappings", &mappings_body(&plain, 60, &store, &[]));
    assert!(status >= 500, "{status} {body}");
}

#[test]
fn acl_user_with_token_like_elasticache_rbac() {
    let redis = Redis::start(&[]);
    let mut admin = redis.conn(None);
    let _: () = redis::cmd("ACL")
        .arg(&[
            "SETUSER",
            "masker",
            "on",
            ">rbac-token",
            "~aws-masker:v1:*",
            "resetchannels",
        ])
        .arg(&["+get", "+set", "+expire", "+eval", "+evalsha", "+ping"])
        .query(&mut admin)
        .unwrap();
    let _: () = redis::cmd("ACL")
        .arg(&[
            "SETUSER",
            "reader",
            "on",
            ">read-token",
            "~*",
            "+get",
            "+ping",
        ])
        .query(&mut admin)
        .unwrap();
    let bridge = Bridge::start(&[]);
    let profile = |user: &str, token: &str| {
        json!({"redis_type": "managed", "host": "127.0.0.1", "port": redis.port,
               "user": user, "auth_token": token})
    };
    let p = placeholder("ARN_IAM_ROLE", 5);
    let store = [(
        p.clone(),
        "arn:aws:iam::123456789012:role/deploy".to_string(),
    )];

    let v = bridge.mappings_ok(&mappings_body(
        &profile("masker", "rbac-token"),
        60,
        &store,
        std::slice::from_ref(&p),
    ));
    assert_eq!(
        (v["stored"].clone(), v["found"].as_array().unwrap().len()),
        (json!(1), 1)
    );

    let refused = [
        ("masker", "bad", "redis_auth"),
        ("nobody", "rbac-token", "redis_auth"),
        ("reader", "read-token", "redis_permission"),
    ];
    for (user, token, code) in refused {
        bridge.mappings_refused(
            &mappings_body(&profile(user, token), 60, &store, &[]),
            502,
            code,
        );
    }
}

fn cluster_profile(seed: u16, token: &str, tls: bool) -> serde_json::Value {
    json!({"redis_type": "managed", "host": "127.0.0.1", "port": seed, "auth_token": token,
           "ssl_enabled": tls, "cluster_mode": true,
           "cluster_endpoint": format!("127.0.0.1:{seed}")})
}

fn check_cluster(cluster: &Cluster, certs: Option<&Certs>, bridge: &Bridge) {
    let ports = cluster.ports();
    let tls = certs.is_some();
    let batch: Vec<(String, String)> = (0..300)
        .map(|i| (placeholder("EC2", 1000 + i), format!("i-{i:017x}")))
        .collect();
    let lookup: Vec<String> = batch.iter().map(|(p, _)| p.clone()).collect();
    // The configuration endpoint is one node; the client discovers the others.
    let profile = cluster_profile(ports[0], &cluster.token, tls);
    let v = bridge.mappings_ok(&mappings_body(&profile, 60, &batch, &[]));
    assert_eq!(v["stored"], 300);
    let sizes = cluster.sizes(certs);
    assert_eq!(sizes.iter().sum::<usize>(), 300, "{sizes:?}");
    assert!(
        sizes.iter().all(|n| *n > 50),
        "keys not spread over slots: {sizes:?}"
    );

    // Seeding from another node gives the same view; refreshes and lookups cross slots.
    let profile = cluster_profile(ports[2], &cluster.token, tls);
    let v = bridge.mappings_ok(&mappings_body(&profile, 60, &batch, &lookup));
    assert_eq!(v["refreshed"], 300);
    assert_eq!(v["found"].as_array().unwrap().len(), 300);
    let bad = cluster_profile(ports[1], "wrong", tls);
    bridge.mappings_refused(&mappings_body(&bad, 60, &batch, &[]), 502, "redis_auth");
}

#[test]
fn three_master_cluster_spreads_keys_and_follows_redirects() {
    let cluster = Cluster::start("cluster-token", None);
    let bridge = Bridge::start(&[]);
    check_cluster(&cluster, None, &bridge);

    // A slot migrated under the client: ASK while migrating, MOVED after; both followed.
    let p = placeholder("EC2", 1000);
    let key = format!("aws-masker:v1:{p}");
    let mut admin = cluster.nodes[0].conn(Some("cluster-token"));
    let slot: u16 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(&key)
        .query(&mut admin)
        .unwrap();
    let owner = cluster
        .nodes
        .iter()
        .find(|n| {
            let count: usize = redis::cmd("CLUSTER")
                .arg("COUNTKEYSINSLOT")
                .arg(slot)
                .query(&mut n.conn(Some("cluster-token")))
                .unwrap();
            count > 0
        })
        .unwrap();
    let target = cluster.nodes.iter().find(|n| n.port != owner.port).unwrap();
    let (owner_id, target_id) = (node_id(owner), node_id(target));
    let setslot = |node: &Redis, state: &str, id: &str| {
        let _: () = redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg(state)
            .arg(id)
            .query(&mut node.conn(Some("cluster-token")))
            .unwrap();
    };
    setslot(target, "IMPORTING", &owner_id);
    setslot(owner, "MIGRATING", &target_id);
    let mut owner_conn = owner.conn(Some("cluster-token"));
    let keys: Vec<String> = redis::cmd("CLUSTER")
        .arg("GETKEYSINSLOT")
        .arg(slot)
        .arg(1000)
        .query(&mut owner_conn)
        .unwrap();
    let _: () = redis::cmd("MIGRATE")
        .arg("127.0.0.1")
        .arg(target.port)
        .arg("")
        .arg(0)
        .arg(5000)
        .arg("AUTH")
        .arg("cluster-token")
        .arg("KEYS")
        .arg(&keys)
        .query(&mut owner_conn)
        .unwrap();
    // Mid-migration the owner answers ASK for keys it no longer holds.
    let profile = cluster_profile(cluster.ports()[0], "cluster-token", false);
    let look_up = || {
        let v = bridge.mappings_ok(&mappings_body(&profile, 60, &[], std::slice::from_ref(&p)));
        assert_eq!(v["found"][0]["original"], format!("i-{:017x}", 0));
    };
    look_up();
    for node in &cluster.nodes {
        setslot(node, "NODE", &target_id);
    }
    look_up();
}

fn node_id(node: &Redis) -> String {
    redis::cmd("CLUSTER")
        .arg("MYID")
        .query(&mut node.conn(Some("cluster-token")))
        .unwrap()
}

#[test]
fn three_master_cluster_over_tls() {
    let certs = Certs::generate();
    let cluster = Cluster::start("tls-cluster-token", Some(&certs));
    let bridge = Bridge::start(&["--redis-ca-file", &certs.file("ca.pem")]);
    check_cluster(&cluster, Some(&certs), &bridge);
}

#[test]
fn redis_killed_and_restarted_under_load() {
    let (mut redis, bridge, profile) = protected(&["--redis-timeout-ms", "300"]);
    let port = bridge.port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let worker = {
        let stop = stop.clone();
        let served = served.clone();
        let profile = profile.clone();
        std::thread::spawn(move || {
            let mut outcomes = Vec::new();
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let p = placeholder("EC2", 5000 + i);
                let body = mappings_body(&profile, 60, &[(p, format!("i-{i:017x}"))], &[]);
                let (status, body) = http(port, "POST", "/v1/mappings", &body);
                let code = if status == 200 {
                    served.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    String::new()
                } else {
                    error_code(&body)
                };
                outcomes.push((Instant::now(), status, code));
                i += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            outcomes
        })
    };
    // Kill only once traffic flows (a busy machine may take a while for the first connections).
    let deadline = Instant::now() + Duration::from_secs(20);
    while served.load(std::sync::atomic::Ordering::Relaxed) < 10 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Taken before the signal: a request that fails while the kill is under way counts as after it.
    let killed = Instant::now();
    redis.kill();
    std::thread::sleep(Duration::from_millis(700));
    redis.restart();
    let restarted = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let outcomes = worker.join().unwrap();

    let before = outcomes.iter().filter(|o| o.0 < killed).count();
    let failed: Vec<_> = outcomes.iter().filter(|o| o.1 != 200).collect();
    assert!(before >= 10, "only {before} requests before the kill");
    assert!(
        outcomes.iter().filter(|o| o.0 < killed).all(|o| o.1 == 200),
        "{:?}",
        outcomes
            .iter()
            .filter(|o| o.0 < killed)
            .map(|o| (o.1, &o.2))
            .collect::<Vec<_>>()
    );
    assert!(!failed.is_empty(), "no failure seen while redis was down");
    for (_, status, code) in &failed {
        assert!(
            matches!(
                code.as_str(),
                "redis_unreachable" | "redis_timeout" | "redis_error"
            ),
            "{status} {code}"
        );
    }
    // Traffic recovers: everything from one second after the restart succeeds.
    let late: Vec<_> = outcomes
        .iter()
        .filter(|o| o.0 > restarted + Duration::from_millis(1000))
        .collect();
    assert!(!late.is_empty());
    assert!(
        late.iter().all(|o| o.1 == 200),
        "{:?}",
        late.iter().map(|o| (o.1, &o.2)).collect::<Vec<_>>()
    );
}

/// Runs `aws-masker-bridge restore` on `input` with `profile`, writing to `out` (or stdout).
fn restore_cli(
    profile: &std::path::Path,
    input: &std::path::Path,
    out: Option<&std::path::Path>,
) -> std::process::Output {
    let mut cmd = std::process::Command::new(BRIDGE);
    cmd.args(["restore", "--profile-file"])
        .arg(profile)
        .arg("--in")
        .arg(input);
    if let Some(out) = out {
        cmd.arg("--out").arg(out);
    }
    cmd.output().unwrap()
}

#[test]
fn restore_subcommand_rewrites_a_results_file() {
    let (redis, bridge, profile) = protected(&[]);
    let p1 = placeholder("EC2", 21);
    let p2 = placeholder("S3_URI", 22);
    let unknown = placeholder("EC2", 23);
    let tricky = "s3://bucket/key with \"quotes\" and \\ slash";
    bridge.mappings_ok(&mappings_body(
        &profile,
        600,
        &[(p1.clone(), ORIGINAL.into()), (p2.clone(), tricky.into())],
        &[],
    ));

    let dir = TempDir::new("restore");
    let results = [
        json!({"custom_id": "a", "result": {"message": {"content": [{"type": "text", "text": format!("{p1} reads {p2}")}]}}}),
        json!({"custom_id": "b", "result": {"message": {"content": [{"type": "text", "text": format!("{unknown} and {p1}")}]}}}),
    ];
    let input: String = results.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(dir.path("results.jsonl"), &input).unwrap();
    std::fs::write(dir.path("profile.json"), profile.to_string()).unwrap();
    let out = restore_cli(
        &dir.path("profile.json"),
        &dir.path("results.jsonl"),
        Some(&dir.path("restored.jsonl")),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("restored 3 occurrences of 2 known placeholders; 1 unknown"),
        "{stderr}"
    );
    // A profile without the filter's secret cannot check what Redis answers: it says so.
    assert!(stderr.contains("not checked"), "{stderr}");
    let restored = std::fs::read_to_string(dir.path("restored.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = restored.lines().map(json).collect();
    let text = |i: usize| {
        lines[i]["result"]["message"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(text(0), format!("{ORIGINAL} reads {tricky}"));
    assert_eq!(text(1), format!("{unknown} and {ORIGINAL}"));

    // A wrong password is an error, not an unchanged copy.
    std::fs::write(
        dir.path("bad.json"),
        plain_profile(redis.port, "wrong").to_string(),
    )
    .unwrap();
    let out = restore_cli(&dir.path("bad.json"), &dir.path("results.jsonl"), None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("redis_auth"));
}

#[test]
fn restore_with_the_filter_config_uses_only_entries_its_secret_derives() {
    let (redis, bridge, profile) = protected(&[]);
    let secret = "restore-test-secret-restore-test-secret-01";
    let keys = aws_masker::placeholder::Placeholders::new(secret.as_bytes());
    let genuine = keys.derive("EC2", ORIGINAL, 0);
    // Written by someone without the secret: a placeholder of this deployment's shape whose
    // original it does not derive.
    let forged = keys.derive("EC2", "i-0aaaaaaaaaaaaaaaa", 0);
    bridge.mappings_ok(&mappings_body(
        &profile,
        600,
        &[
            (genuine.clone(), ORIGINAL.into()),
            (forged.clone(), "attacker text".into()),
        ],
        &[],
    ));
    let dir = TempDir::new("restore-verified");
    let input = format!("{{\"text\":\"{genuine} {forged}\"}}\n");
    std::fs::write(dir.path("results.jsonl"), &input).unwrap();
    let config = json!({"token_secret": secret, "use_redis": true, "redis_host": "127.0.0.1",
                        "redis_port": redis.port, "redis_password": PASSWORD});
    std::fs::write(dir.path("kong-filter.json"), config.to_string()).unwrap();
    let out = restore_cli(
        &dir.path("kong-filter.json"),
        &dir.path("results.jsonl"),
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("1 entries rejected"), "{stderr}");
    assert!(!stderr.contains("not checked"), "{stderr}");
    let restored: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(restored["text"], format!("{ORIGINAL} {forged}"));

    // Another secret rejects everything: an error, not a file left as it was.
    let mut wrong = config.clone();
    wrong["token_secret"] = json!("another-secret-another-secret-another-se");
    std::fs::write(dir.path("wrong.json"), wrong.to_string()).unwrap();
    let out = restore_cli(&dir.path("wrong.json"), &dir.path("results.jsonl"), None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("no entry passed the check (2 rejected)"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(secret) && !stderr.contains(ORIGINAL),
        "{stderr}"
    );
}

#[test]
fn a_profile_left_unused_is_dropped_and_no_longer_checked() {
    // A filter moved to another Redis: the old profile must not keep /readyz red.
    let args = ["--profile-idle-ms", "3000", "--redis-timeout-ms", "500"];
    let (mut redis, bridge, profile) = protected(&args);
    bridge.mappings_ok(&mappings_body(
        &profile,
        600,
        &[(placeholder("EC2", 31), ORIGINAL.into())],
        &[],
    ));
    let used = Instant::now();
    redis.kill();
    let (status, _) = bridge.get("/readyz");
    // Unless the machine was so slow that the profile went idle already.
    if used.elapsed() < Duration::from_millis(2500) {
        assert_ne!(status, 200, "a dead Redis in use must be reported");
    }
    std::thread::sleep(Duration::from_millis(3200).saturating_sub(used.elapsed()));
    let (status, body) = bridge.get("/readyz");
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["checked"], 0);
    let (_, metrics) = bridge.get("/metrics");
    assert!(
        metrics.contains("aws_masker_bridge_redis_profiles 0\n"),
        "{metrics}"
    );
}

#[test]
fn a_second_signal_ends_the_shutdown_delay() {
    let mut bridge = Bridge::start(&["--shutdown-delay-ms", "60000"]);
    bridge.send_term();
    std::thread::sleep(Duration::from_millis(300));
    let (status, body) = bridge.get("/readyz");
    assert_eq!((status, error_code(&body).as_str()), (503, "shutting_down"));
    exits_on_the_next_signal(&mut bridge, "delay cut short");
}

#[test]
fn a_signal_during_the_drain_ends_it() {
    use std::io::Write;
    let mut bridge = Bridge::start(&[
        "--drain-timeout-ms",
        "60000",
        "--request-timeout-ms",
        "60000",
    ]);
    // A request in flight for as long as the test wants: its body never arrives whole.
    let mut slow = std::net::TcpStream::connect(("127.0.0.1", bridge.port)).unwrap();
    slow.write_all(
        b"POST /v1/mappings HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    bridge.send_term();
    std::thread::sleep(Duration::from_millis(500));
    exits_on_the_next_signal(&mut bridge, "drain cut short");
    drop(slow);
}

/// Sends one more signal to a bridge that is shutting down: it must exit 0 within 8 s and
/// log `event`.
fn exits_on_the_next_signal(bridge: &mut Bridge, event: &str) {
    let signalled = Instant::now();
    assert!(
        bridge.terminate(Duration::from_secs(8)),
        "bridge did not exit 0 on the next signal ({event})"
    );
    assert!(signalled.elapsed() < Duration::from_secs(8));
    assert!(bridge.logs().contains(event), "{}", bridge.logs());
}

#[test]
fn past_max_connections_a_connection_waits_to_be_accepted() {
    use std::io::{Read, Write};
    let bridge = Bridge::start(&["--max-connections", "1", "--request-timeout-ms", "20000"]);
    // Holds the one slot: connected, sending nothing.
    let idle = std::net::TcpStream::connect(("127.0.0.1", bridge.port)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let mut waiting = std::net::TcpStream::connect(("127.0.0.1", bridge.port)).unwrap();
    waiting
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut first = [0u8; 1];
    assert!(
        waiting.read(&mut first).is_err(),
        "answered while the only slot was taken"
    );
    drop(idle);
    waiting
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut raw = Vec::new();
    waiting.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    // Itself, served once the idle one closed.
    assert!(
        text.contains("aws_masker_bridge_open_connections 1\n"),
        "{text}"
    );
}

#[test]
fn sigterm_stops_the_bridge_cleanly() {
    let mut bridge = Bridge::start(&[]);
    assert_eq!(bridge.get("/healthz").0, 200);
    assert!(
        bridge.terminate(Duration::from_secs(5)),
        "bridge did not exit 0 on SIGTERM"
    );
    let logs = bridge.logs();
    assert!(
        logs.contains("\"signal\":\"SIGTERM\"") && logs.contains("\"stopped\""),
        "{logs}"
    );
}

#[test]
fn requests_queued_behind_a_failed_connect_fail_with_it_not_after_it() {
    // A Redis that accepts connections and never answers: each connect attempt takes the
    // timeout. Five concurrent stores for it must not wait five attempts in turn.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hole.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in hole.incoming() {
            held.push(conn);
        }
    });
    let bridge = Bridge::start(&["--redis-timeout-ms", "300"]);
    // With a password the connect itself waits for an answer (AUTH).
    let profile = plain_profile(port, PASSWORD);
    let body = mappings_body(
        &profile,
        600,
        &[(placeholder("EC2", 9), ORIGINAL.into())],
        &[],
    );
    let started = Instant::now();
    let answers: Vec<(u16, String, Duration)> = std::thread::scope(|s| {
        let calls: Vec<_> = (0..5)
            .map(|_| {
                s.spawn(|| {
                    let (status, answer) = http(bridge.port, "POST", "/v1/mappings", &body);
                    (status, error_code(&answer), started.elapsed())
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    for (status, code, _) in &answers {
        assert!(*status >= 500, "{status} {code}");
        assert!(code.starts_with("redis_"), "{code}");
    }
    let slowest = answers.iter().map(|a| a.2).max().unwrap();
    // One attempt is about 600 ms (connect, then the handshake's timeout); five in turn
    // would be 3 s.
    assert!(
        slowest < Duration::from_millis(1800),
        "slowest answer after {slowest:?}"
    );
    // A request right after gets the failure remembered for the profile, at once.
    let again = Instant::now();
    let (status, answer) = http(bridge.port, "POST", "/v1/mappings", &body);
    assert!(
        status >= 500 && error_code(&answer).starts_with("redis_"),
        "{answer}"
    );
    assert!(
        again.elapsed() < Duration::from_millis(300),
        "the failure was not remembered: {:?}",
        again.elapsed()
    );
}

/// The bridge's `aws_masker_bridge_redis_profiles` gauge: profiles with a connection.
fn connected_profiles(bridge: &Bridge) -> Option<String> {
    let (_, metrics) = bridge.get("/metrics");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("aws_masker_bridge_redis_profiles "))
        .map(str::to_owned)
}

/// A mappings call that stores placeholder number `n` for [`ORIGINAL`].
fn store_one(profile: &serde_json::Value, n: usize) -> String {
    mappings_body(
        profile,
        600,
        &[(placeholder("EC2", n), ORIGINAL.into())],
        &[],
    )
}

#[test]
fn a_command_that_times_out_drops_the_connection_and_the_next_store_reconnects() {
    // After a failover the old primary may hold the socket open and answer nothing: only
    // a new connection (to what DNS names now) helps. Here Redis pauses its clients.
    let (redis, bridge, profile) = protected(&["--redis-timeout-ms", "300"]);
    let profiles = || connected_profiles(&bridge);
    let store = |n: usize| store_one(&profile, n);
    bridge.mappings_ok(&store(11));
    assert_eq!(profiles().as_deref(), Some("1"));
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1500)
        .arg("ALL")
        .query(&mut redis.conn(Some(PASSWORD)))
        .unwrap();
    bridge.mappings_refused(&store(12), 504, "redis_timeout");
    assert_eq!(
        profiles().as_deref(),
        Some("0"),
        "the timed-out connection is kept"
    );
    std::thread::sleep(Duration::from_millis(1600));
    bridge.mappings_ok(&store(13));
    assert_eq!(profiles().as_deref(), Some("1"));
}

#[test]
fn a_node_demoted_to_replica_drops_the_connection() {
    // A failover demotes the node the bridge is connected to while the socket stays open:
    // every write fails with READONLY, lookups and PING still answer. Only a new connection
    // (to what the endpoint names now) helps.
    let (redis, bridge, profile) = protected(&[]);
    let profiles = || connected_profiles(&bridge);
    let store = |n: usize| store_one(&profile, n);
    bridge.mappings_ok(&store(21));
    assert_eq!(profiles().as_deref(), Some("1"));
    let mut admin = redis.conn(Some(PASSWORD));
    // A primary that does not exist: the node stays a read-only replica.
    let gone = free_port();
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(gone)
        .query(&mut admin)
        .unwrap();
    let (status, answer) = bridge.post("/v1/mappings", &store(22));
    assert_refused((status, answer.clone()), 502, "redis_error");
    assert!(answer.contains("not a primary (READONLY)"), "{answer}");
    assert_eq!(
        profiles().as_deref(),
        Some("0"),
        "the connection to the demoted node is kept"
    );
    // Promoted again (as the endpoint's new primary would be): the next store connects.
    let _: () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query(&mut admin)
        .unwrap();
    bridge.mappings_ok(&store(23));
    assert_eq!(profiles().as_deref(), Some("1"));
}

#[test]
fn a_key_of_another_type_fails_only_its_own_entry() {
    // Another client wrote a list under one placeholder's key: that placeholder cannot be
    // stored (a conflict) or found (absent); the rest of the batch is answered as usual.
    let (redis, bridge, profile) = protected(&[]);
    let (odd, fine) = (placeholder("EC2", 31), placeholder("EC2", 32));
    let mut conn = redis.conn(Some(PASSWORD));
    let _: () = conn.rpush(format!("aws-masker:v1:{odd}"), "x").unwrap();
    let v = bridge.mappings_ok(&mappings_body(
        &profile,
        600,
        &[
            (odd.clone(), ORIGINAL.into()),
            (fine.clone(), ORIGINAL.into()),
        ],
        &[],
    ));
    assert_eq!(
        v,
        json!({"stored":1,"refreshed":0,"conflicts":[odd],"found":[]})
    );
    let v = bridge.mappings_ok(&mappings_body(
        &profile,
        600,
        &[],
        &[odd.clone(), fine.clone()],
    ));
    assert_eq!(
        v,
        json!({"stored":0,"refreshed":0,"conflicts":[],"found":[{"placeholder": fine, "original": ORIGINAL}]})
    );
}

#[test]
fn an_answer_over_the_size_limit_is_refused_as_too_large() {
    // Lookups of many long originals can make an answer longer than the protocol allows:
    // a refusal the filter does not count as an outage (413), not an internal error.
    let (redis, bridge, profile) = protected(&[]);
    let original = "o".repeat(aws_masker::protocol::MAX_ORIGINAL_LEN);
    let count = aws_masker::protocol::MAX_BODY_BYTES / original.len() + 10;
    let lookup: Vec<String> = (0..count)
        .map(|i| placeholder("CUSTOM", 1000 + i))
        .collect();
    let mut pipe = redis::pipe();
    for p in &lookup {
        pipe.set(format!("aws-masker:v1:{p}"), &original).ignore();
    }
    let _: () = pipe.query(&mut redis.conn(Some(PASSWORD))).unwrap();
    bridge.mappings_refused(
        &mappings_body(&profile, 600, &[], &lookup),
        413,
        "payload_too_large",
    );
    // Fewer fit.
    let v = bridge.mappings_ok(&mappings_body(&profile, 600, &[], &lookup[..100]));
    assert_eq!(v["found"].as_array().map(Vec::len), Some(100));
}

#[test]
fn after_sigterm_it_serves_for_the_shutdown_delay_then_stops() {
    // A sidecar next to Kong: Kong drains its requests after the same SIGTERM, and their
    // stores must still find the bridge.
    let (_redis, mut bridge, profile) = protected(&["--shutdown-delay-ms", "1500"]);
    let signalled = Instant::now();
    bridge.send_term();
    std::thread::sleep(Duration::from_millis(300));
    let (status, body) = bridge.get("/readyz");
    assert_eq!((status, error_code(&body).as_str()), (503, "shutting_down"));
    let v = bridge.mappings_ok(&mappings_body(
        &profile,
        600,
        &[(placeholder("EC2", 7), ORIGINAL.into())],
        &[],
    ));
    assert_eq!(v["stored"], 1);
    assert!(
        signalled.elapsed() < Duration::from_millis(1500),
        "the checks took the whole delay: the test proves nothing"
    );
    assert!(
        bridge.wait_exit(Duration::from_secs(8)),
        "bridge did not exit 0 after the delay"
    );
    assert!(signalled.elapsed() >= Duration::from_millis(1500));
    let logs = bridge.logs();
    assert!(
        logs.contains("\"serving_for_ms\":\"1500\"") && logs.contains("\"stopped\""),
        "{logs}"
    );
}

#[test]
fn listens_on_a_unix_socket_like_bridge_address_unix() {
    let redis = Redis::start(&[]);
    let dir = TempDir::new("unix");
    let socket = dir.path("bridge.sock");
    // A stale socket file from an earlier run must not block startup.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let mut child = std::process::Command::new(BRIDGE)
        .arg("--listen")
        .arg(format!("unix:{}", socket.display()))
        .args(["--redis-timeout-ms", "2000"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let stream = loop {
        if let Ok(s) = std::os::unix::net::UnixStream::connect(&socket) {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no unix socket");
        std::thread::sleep(Duration::from_millis(20));
    };
    let p = placeholder("EC2", 77);
    let body = mappings_body(
        &json!({"port": redis.port}),
        60,
        &[(p.clone(), ORIGINAL.into())],
        &[],
    );
    let (status, answer) = http_on(stream, "POST", "/v1/mappings", &body);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(json(&answer)["stored"], 1);
    // A second bridge on the same path must not take it from the one serving there.
    let second = std::process::Command::new(BRIDGE)
        .arg("--listen")
        .arg(format!("unix:{}", socket.display()))
        .output()
        .unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("served by another process"), "{stderr}");
    let stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    assert_eq!(http_on(stream, "GET", "/healthz", "").0, 200);
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
    assert!(!socket.exists(), "socket file left behind");
}

#[test]
fn a_frozen_redis_is_a_timeout_not_a_hang() {
    let redis = Redis::start(&[]);
    let bridge = Bridge::start(&["--redis-timeout-ms", "200"]);
    let profile = json!({"port": redis.port});
    let p = placeholder("EC2", 88);
    let store = [(p.clone(), ORIGINAL.to_string())];
    let body = mappings_body(&profile, 60, &store, &[]);
    bridge.mappings_ok(&body);

    redis.signal("STOP");
    let start = Instant::now();
    let answer = bridge.post("/v1/mappings", &body);
    let took = start.elapsed();
    redis.signal("CONT");
    assert_refused(answer, 504, "redis_timeout");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(bridge.mappings_ok(&body)["refreshed"], 1);
}
