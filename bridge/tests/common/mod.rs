//! Test fixtures: real `redis-server` processes on free loopback ports, certificates made with
//! the `openssl` CLI, the bridge binary, and a raw HTTP/1.1 client that speaks like WasmX
//! (one connection per call, `Connection: close`). Everything is killed on drop.
// Fixtures fail loudly: a test that cannot set up must stop, not limp on.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const BRIDGE: &str = env!("CARGO_BIN_EXE_aws-masker-bridge");

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "aws-masker-bridge-{tag}-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A free port on 127.0.0.1 (never 6379: that one runs a shared instance).
pub fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if port != 6379 {
            return port;
        }
    }
}

pub fn wait_for_port(port: u16, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A `redis-server` child process.
pub struct Redis {
    pub port: u16,
    child: Option<Child>,
    args: Vec<String>,
    pub dir: TempDir,
}

impl Redis {
    /// Starts `redis-server` on a free port with extra `args` (config directives).
    pub fn start(args: &[&str]) -> Redis {
        Self::start_on(free_port(), args)
    }

    pub fn start_on(port: u16, args: &[&str]) -> Redis {
        let dir = TempDir::new("redis");
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut redis = Redis {
            port,
            child: None,
            args,
            dir,
        };
        redis.spawn();
        redis
    }

    fn spawn(&mut self) {
        let tls = self.args.iter().any(|a| a == "--tls-port");
        let mut cmd = Command::new("redis-server");
        if tls {
            cmd.args(["--port", "0", "--tls-port", &self.port.to_string()]);
        } else {
            cmd.args(["--port", &self.port.to_string()]);
        }
        cmd.args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", self.dir.0.to_str().unwrap()])
            .args(self.args.iter().filter(|a| *a != "--tls-port"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("redis-server");
        let up = wait_for_port(self.port, Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(30));
        // Exited already: the port was taken by someone else; fail rather than share it.
        let exited = child.try_wait().ok().flatten().is_some();
        self.child = Some(child);
        assert!(up && !exited, "redis-server did not start on {}", self.port);
    }

    /// Kills the server at once (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (`STOP`, `CONT`, ...) to the server.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        assert!(Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap()
            .success());
    }

    /// Starts it again on the same port with the same arguments.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// A plain connection for assertions (no TLS).
    pub fn conn(&self, password: Option<&str>) -> redis::Connection {
        let url = match password {
            Some(pw) => format!("redis://:{pw}@127.0.0.1:{}/", self.port),
            None => format!("redis://127.0.0.1:{}/", self.port),
        };
        redis::Client::open(url).unwrap().get_connection().unwrap()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A CA and a server certificate for 127.0.0.1/localhost, plus an unrelated CA.
pub struct Certs {
    pub dir: TempDir,
}

/// `openssl req` with a new P-256 key written to `key` and the request (or with `-x509` the
/// certificate) to `out`.
fn new_key(dir: &Path, key: &str, out: &str, args: &[&str]) {
    let new_key = [
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key,
        "-out",
        out,
    ];
    openssl(dir, &[&new_key[..], args].concat());
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Certs {
    pub fn generate() -> Certs {
        let dir = TempDir::new("certs");
        let d = &dir.0;
        for ca in ["ca", "other-ca"] {
            new_key(
                d,
                &format!("{ca}.key"),
                &format!("{ca}.pem"),
                &[
                    "-x509",
                    "-days",
                    "2",
                    "-subj",
                    &format!("/CN=aws-masker test {ca}"),
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ],
            );
        }
        new_key(d, "server.key", "server.csr", &["-subj", "/CN=localhost"]);
        std::fs::write(
            d.join("ext.cnf"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n",
        )
        .unwrap();
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
            ],
        );
        Certs { dir }
    }

    pub fn file(&self, name: &str) -> String {
        self.dir.path(name).to_str().unwrap().to_string()
    }

    /// `redis-server` arguments for TLS on its port, clients not asked for certificates.
    pub fn redis_args(&self) -> Vec<String> {
        vec![
            "--tls-port".into(),
            "--tls-cert-file".into(),
            self.file("server.pem"),
            "--tls-key-file".into(),
            self.file("server.key"),
            "--tls-ca-cert-file".into(),
            self.file("ca.pem"),
            "--tls-auth-clients".into(),
            "no".into(),
        ]
    }
}

/// The bridge binary, stopped with SIGTERM on drop.
pub struct Bridge {
    pub port: u16,
    child: Option<Child>,
    pub log: PathBuf,
    _dir: TempDir,
}

impl Bridge {
    pub fn start(args: &[&str]) -> Bridge {
        let dir = TempDir::new("bridge");
        let port = free_port();
        let log = dir.path("stderr.log");
        let child = Command::new(BRIDGE)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .env_remove("AWS_MASKER_BRIDGE_ALLOW_REDIS")
            // The default (200 ms) is for a Redis next door; a loaded CI machine doing TLS
            // handshakes is slower. Tests of timeouts pass their own.
            .env("AWS_MASKER_BRIDGE_REDIS_TIMEOUT_MS", "2000")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("bridge binary");
        assert!(
            wait_for_port(port, Duration::from_secs(10)),
            "bridge did not start"
        );
        Bridge {
            port,
            child: Some(child),
            log,
            _dir: dir,
        }
    }

    pub fn post(&self, path: &str, body: &str) -> (u16, String) {
        http(self.port, "POST", path, body)
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        http(self.port, "GET", path, "")
    }

    /// `POST /v1/mappings` of `body`, asserting a 200; the answer as JSON.
    pub fn mappings_ok(&self, body: &str) -> serde_json::Value {
        let (status, answer) = self.post("/v1/mappings", body);
        assert_eq!(status, 200, "{answer}");
        json(&answer)
    }

    /// `POST /v1/mappings` of `body`, asserting the refusal: `status` with error `code`.
    pub fn mappings_refused(&self, body: &str, status: u16, code: &str) {
        assert_refused(self.post("/v1/mappings", body), status, code);
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM without waiting.
    pub fn send_term(&self) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
    }

    /// Sends SIGTERM and returns whether the process exited successfully within `limit`.
    pub fn terminate(&mut self, limit: Duration) -> bool {
        self.send_term();
        self.wait_exit(limit)
    }

    /// Whether the process exits successfully within `limit` (killed if not).
    pub fn wait_exit(&mut self, limit: Duration) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One HTTP/1.1 exchange on a fresh connection, like a WasmX dispatch.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    http_on(stream, method, path, body)
}

/// One HTTP/1.1 exchange on `stream`, which is then closed.
pub fn http_on(
    mut stream: impl Read + Write,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    // The server may answer (413) and close before reading everything we send.
    let _ = stream.write_all(request.as_bytes());
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A placeholder with a distinct hash for `i` (A-Z2-7 only).
pub fn placeholder(label: &str, i: usize) -> String {
    const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut hash = String::new();
    // Scrambled so that keys spread over cluster slots like real HMAC-derived ones.
    let mut n = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) as usize;
    for _ in 0..13 {
        hash.push(B32[n % 32] as char);
        n /= 32;
    }
    format!("AWS_{label}_{hash}")
}

/// A `POST /v1/mappings` body.
pub fn mappings_body(
    profile: &serde_json::Value,
    ttl: u32,
    store: &[(String, String)],
    lookup: &[String],
) -> String {
    let store: Vec<_> = store
        .iter()
        .map(|(p, o)| serde_json::json!({"placeholder": p, "original": o}))
        .collect();
    serde_json::json!({"profile": profile, "ttl": ttl, "store": store, "lookup": lookup})
        .to_string()
}

pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not json ({e}): {body}"))
}

pub fn error_code(body: &str) -> String {
    json(body)["error"]["code"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// Asserts that an answer is `status` with error `code`.
pub fn assert_refused((got, body): (u16, String), status: u16, code: &str) {
    assert_eq!((got, error_code(&body).as_str()), (status, code), "{body}");
}

/// A 3-master Redis cluster on loopback ports, password `token`, optionally over TLS.
pub struct Cluster {
    pub nodes: Vec<Redis>,
    pub token: String,
}

impl Cluster {
    pub fn start(token: &str, certs: Option<&Certs>) -> Cluster {
        let nodes: Vec<Redis> = (0..3)
            .map(|_| {
                let mut args: Vec<String> = [
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--requirepass",
                    token,
                    "--masterauth",
                    token,
                ]
                .iter()
                .map(|s| s.to_string())
                .collect();
                // The bus port is explicit: port + 10000 may not exist.
                args.extend(["--cluster-port".into(), free_port().to_string()]);
                if let Some(certs) = certs {
                    args.extend(certs.redis_args());
                    args.extend(["--tls-cluster".into(), "yes".into()]);
                }
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                Redis::start(&args)
            })
            .collect();
        // Bounded: a cluster that cannot join makes redis-cli wait forever.
        let mut create = Command::new("timeout");
        create.args(["30", "redis-cli", "-a", token, "--no-auth-warning"]);
        if let Some(certs) = certs {
            create.args(["--tls", "--cacert", &certs.file("ca.pem")]);
        }
        create.args(["--cluster", "create"]);
        for node in &nodes {
            create.arg(format!("127.0.0.1:{}", node.port));
        }
        let out = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cluster create: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let cluster = Cluster {
            nodes,
            token: token.into(),
        };
        let start = Instant::now();
        while !cluster.all_ok(certs) {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "cluster never became ok"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        cluster
    }

    /// `redis-cli` for `node`, with the cluster's token (and TLS with `certs`).
    fn cli(&self, node: &Redis, certs: Option<&Certs>) -> Command {
        let mut cli = Command::new("redis-cli");
        cli.args([
            "-a",
            &self.token,
            "--no-auth-warning",
            "-p",
            &node.port.to_string(),
        ]);
        if let Some(certs) = certs {
            cli.args(["--tls", "--cacert", &certs.file("ca.pem")]);
        }
        cli
    }

    fn all_ok(&self, certs: Option<&Certs>) -> bool {
        self.nodes.iter().all(|node| {
            self.cli(node, certs)
                .args(["CLUSTER", "INFO"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("cluster_state:ok"))
        })
    }

    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// Keys held by each node, via `redis-cli DBSIZE`.
    pub fn sizes(&self, certs: Option<&Certs>) -> Vec<usize> {
        self.nodes
            .iter()
            .map(|node| {
                let out = self.cli(node, certs).arg("DBSIZE").output().unwrap();
                String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
            })
            .collect()
    }
}
