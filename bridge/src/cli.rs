//! Command line and environment: flags override `AWS_MASKER_BRIDGE_*` variables.
//!
//! ```text
//! aws-masker-bridge [--listen 127.0.0.1:7380] [--allow-redis host:port]... [--redis-ca-file ca.pem]
//! aws-masker-bridge restore --profile-file profile.json --in results.jsonl [--out restored.jsonl]
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: aws-masker-bridge [serve] [options]
       aws-masker-bridge restore --profile-file FILE --in FILE [--out FILE] [--format auto|json|text] [options]

serve options (environment variable in brackets):
  --listen ADDR              IP:PORT or unix:/path.sock to listen on, default 127.0.0.1:7380
                             [AWS_MASKER_BRIDGE_LISTEN]
  --allow-redis HOST:PORT    Redis endpoint profiles may use; repeatable or comma-separated;
                             unset: any endpoint [AWS_MASKER_BRIDGE_ALLOW_REDIS]
  --request-timeout-ms N     limit for reading a request (headers, then body), default 5000
                             [AWS_MASKER_BRIDGE_REQUEST_TIMEOUT_MS]
  --max-body-bytes N         largest request body, default and most 8388608
                             [AWS_MASKER_BRIDGE_MAX_BODY_BYTES]
  --max-profiles N           Redis profiles kept connected at once, default 64 [AWS_MASKER_BRIDGE_MAX_PROFILES]
  --profile-idle-ms N        a profile no request used for this long is dropped (its connection
                             closed, no longer checked by GET /readyz), default 300000, at
                             least five times --redis-timeout-ms and 1000
                             [AWS_MASKER_BRIDGE_PROFILE_IDLE_MS]
  --max-connections N        client connections served at once (more wait to be accepted),
                             default 1024, at most 65536 [AWS_MASKER_BRIDGE_MAX_CONNECTIONS]
  --shutdown-delay-ms N      after SIGTERM/SIGINT, keep serving this long before closing the
                             listener (a sidecar outliving Kong's own drain), default 0; a
                             signal during the delay ends it [AWS_MASKER_BRIDGE_SHUTDOWN_DELAY_MS]
  --drain-timeout-ms N       how long shutdown waits for requests in flight, default 5000; a
                             signal during the drain ends it [AWS_MASKER_BRIDGE_DRAIN_TIMEOUT_MS]
  --quiet                    no per-request log lines [AWS_MASKER_BRIDGE_QUIET=1]
restore options:
  --profile-file FILE        Redis profile JSON (as in the API) or the filter's config (its redis_*
                             fields; with its token_secret, only entries it derives are used)
  --in FILE, --out FILE      input; output (default stdout)
  --format auto|json|text    json escapes originals; auto: .json/.jsonl/.ndjson or text starting with { or [
common options:
  --redis-ca-file PATH       PEM CA bundle trusted for TLS instead of the built-in roots
                             [AWS_MASKER_BRIDGE_REDIS_CA_FILE]
  --redis-timeout-ms N       Redis connect and command timeout, default 200 (serve: a request's
                             Redis work on a connection takes at most twice it, inside the
                             filter's bridge_timeout_ms of 500; a first connect up to three
                             times more) or 1000 (restore)
                             [AWS_MASKER_BRIDGE_REDIS_TIMEOUT_MS]
";

/// What to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Serve(ServeOptions),
    Restore(RestoreOptions),
    Help,
    Version,
}

/// Options shared by both commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisOptions {
    pub ca_file: Option<PathBuf>,
    pub timeout: Duration,
}

/// Where the server listens (the filter's `bridge_address`: `host:port` or `unix:/path`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listen {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Tcp(addr) => addr.fmt(f),
            Listen::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeOptions {
    pub listen: Listen,
    /// Lowercased `(host, port)` pairs; empty allows every endpoint.
    pub allow_redis: Vec<(String, u16)>,
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
    pub max_profiles: usize,
    /// How long an unused profile stays connected.
    pub profile_idle: Duration,
    /// Connections served at once; the next ones wait in the listen backlog.
    pub max_connections: usize,
    /// How long the server keeps accepting after a stop signal (`/readyz` answers
    /// `shutting_down` meanwhile).
    pub shutdown_delay: Duration,
    pub drain_timeout: Duration,
    pub quiet: bool,
    pub redis: RedisOptions,
}

/// How `restore` treats the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// JSON when the name ends in `.json`, `.jsonl` or `.ndjson`, or the text starts with `{`/`[`.
    Auto,
    Json,
    Text,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreOptions {
    pub profile_file: PathBuf,
    pub input: PathBuf,
    pub output: Option<PathBuf>,
    pub format: Format,
    pub redis: RedisOptions,
}

/// A bad flag or variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CliError {
    UnknownFlag(String),
    MissingValue(&'static str),
    BadValue { name: &'static str, value: String },
    Missing(&'static str),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::UnknownFlag(flag) => write!(f, "unknown argument {flag}"),
            CliError::MissingValue(flag) => write!(f, "{flag} needs a value"),
            CliError::BadValue { name, value } => write!(f, "bad value for {name}: {value}"),
            CliError::Missing(flag) => write!(f, "{flag} is required"),
        }
    }
}

impl std::error::Error for CliError {}

/// Parses `args` (without the program name); `env` looks up environment variables.
pub fn parse(args: &[String], env: impl Fn(&str) -> Option<String>) -> Result<Command, CliError> {
    let mut args = args.iter().peekable();
    let restore = match args.peek().map(|s| s.as_str()) {
        Some("restore") => {
            args.next();
            true
        }
        Some("serve") => {
            args.next();
            false
        }
        _ => false,
    };

    let mut listen = env("AWS_MASKER_BRIDGE_LISTEN");
    let mut allow_env = env("AWS_MASKER_BRIDGE_ALLOW_REDIS");
    let mut allow_flags: Vec<String> = Vec::new();
    let mut ca_file = env("AWS_MASKER_BRIDGE_REDIS_CA_FILE");
    let mut redis_timeout = env("AWS_MASKER_BRIDGE_REDIS_TIMEOUT_MS");
    let mut request_timeout = env("AWS_MASKER_BRIDGE_REQUEST_TIMEOUT_MS");
    let mut max_body = env("AWS_MASKER_BRIDGE_MAX_BODY_BYTES");
    let mut max_profiles = env("AWS_MASKER_BRIDGE_MAX_PROFILES");
    let mut max_connections = env("AWS_MASKER_BRIDGE_MAX_CONNECTIONS");
    let mut profile_idle = env("AWS_MASKER_BRIDGE_PROFILE_IDLE_MS");
    let mut drain = env("AWS_MASKER_BRIDGE_DRAIN_TIMEOUT_MS");
    let mut delay = env("AWS_MASKER_BRIDGE_SHUTDOWN_DELAY_MS");
    let mut quiet = env("AWS_MASKER_BRIDGE_QUIET").is_some_and(|v| v == "1" || v == "true");
    let (mut profile_file, mut input, mut output, mut format) = (None, None, None, None);

    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &'static str| -> Result<String, CliError> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => args.next().cloned().ok_or(CliError::MissingValue(name)),
            }
        };
        match flag {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--redis-ca-file" => ca_file = Some(value("--redis-ca-file")?),
            "--redis-timeout-ms" => redis_timeout = Some(value("--redis-timeout-ms")?),
            "--listen" if !restore => listen = Some(value("--listen")?),
            "--allow-redis" if !restore => {
                allow_env = None;
                allow_flags.push(value("--allow-redis")?);
            }
            "--request-timeout-ms" if !restore => {
                request_timeout = Some(value("--request-timeout-ms")?)
            }
            "--max-body-bytes" if !restore => max_body = Some(value("--max-body-bytes")?),
            "--max-profiles" if !restore => max_profiles = Some(value("--max-profiles")?),
            "--max-connections" if !restore => max_connections = Some(value("--max-connections")?),
            "--profile-idle-ms" if !restore => profile_idle = Some(value("--profile-idle-ms")?),
            "--drain-timeout-ms" if !restore => drain = Some(value("--drain-timeout-ms")?),
            "--shutdown-delay-ms" if !restore => delay = Some(value("--shutdown-delay-ms")?),
            "--quiet" if !restore => quiet = true,
            "--profile-file" if restore => profile_file = Some(value("--profile-file")?),
            "--in" if restore => input = Some(value("--in")?),
            "--out" if restore => output = Some(value("--out")?),
            "--format" if restore => format = Some(value("--format")?),
            _ => return Err(CliError::UnknownFlag(arg.clone())),
        }
    }

    let redis = RedisOptions {
        ca_file: ca_file.filter(|s| !s.is_empty()).map(PathBuf::from),
        // Serving, a slow Redis must be answered (504 redis_timeout) before the filter's
        // own timeout (bridge_timeout_ms, 500 by default) gives up on the bridge.
        timeout: millis(
            "--redis-timeout-ms",
            redis_timeout,
            if restore { 1000 } else { 200 },
        )?,
    };
    if restore {
        let format = match format.as_deref() {
            None | Some("auto") => Format::Auto,
            Some("json") => Format::Json,
            Some("text") => Format::Text,
            Some(other) => {
                return Err(CliError::BadValue {
                    name: "--format",
                    value: other.into(),
                })
            }
        };
        return Ok(Command::Restore(RestoreOptions {
            profile_file: profile_file
                .map(PathBuf::from)
                .ok_or(CliError::Missing("--profile-file"))?,
            input: input.map(PathBuf::from).ok_or(CliError::Missing("--in"))?,
            output: output.map(PathBuf::from),
            format,
            redis,
        }));
    }

    let listen_text = listen.unwrap_or_else(|| "127.0.0.1:7380".into());
    let listen = match listen_text.strip_prefix("unix:") {
        Some(path) if path.starts_with('/') => Listen::Unix(PathBuf::from(path)),
        Some(_) => None.ok_or_else(|| CliError::BadValue {
            name: "--listen",
            value: listen_text.clone(),
        })?,
        None => Listen::Tcp(listen_text.parse().map_err(|_| CliError::BadValue {
            name: "--listen",
            value: listen_text.clone(),
        })?),
    };
    let mut allow_redis = Vec::new();
    for item in allow_flags
        .iter()
        .chain(allow_env.iter())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let endpoint = parse_endpoint(item).ok_or_else(|| CliError::BadValue {
            name: "--allow-redis",
            value: item.into(),
        })?;
        allow_redis.push(endpoint);
    }
    Ok(Command::Serve(ServeOptions {
        listen,
        allow_redis,
        request_timeout: millis("--request-timeout-ms", request_timeout, 5000)?,
        max_body_bytes: at_most(
            "--max-body-bytes",
            number(
                "--max-body-bytes",
                max_body,
                aws_masker::protocol::MAX_BODY_BYTES,
            )?,
            // The protocol decodes no larger message: a higher limit would only move the
            // refusal from 413 to 400.
            aws_masker::protocol::MAX_BODY_BYTES,
        )?,
        max_profiles: number("--max-profiles", max_profiles, 64)?,
        profile_idle: idle_millis(profile_idle, redis.timeout)?,
        max_connections: at_most(
            "--max-connections",
            number("--max-connections", max_connections, 1024)?,
            65536,
        )?,
        shutdown_delay: delay_millis(delay)?,
        drain_timeout: millis("--drain-timeout-ms", drain, 5000)?,
        quiet,
        redis,
    }))
}

fn at_most(name: &'static str, value: usize, max: usize) -> Result<usize, CliError> {
    if value > max {
        return Err(CliError::BadValue {
            name,
            value: format!("{value} (at most {max})"),
        });
    }
    Ok(value)
}

fn number(name: &'static str, value: Option<String>, default: usize) -> Result<usize, CliError> {
    match value {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or(CliError::BadValue { name, value: v }),
    }
}

/// `--profile-idle-ms`: at least five Redis timeouts (the longest a connect takes, with room),
/// so no profile is dropped while its connection is being made.
fn idle_millis(value: Option<String>, redis_timeout: Duration) -> Result<Duration, CliError> {
    const NAME: &str = "--profile-idle-ms";
    let idle = millis(NAME, value, 300_000)?;
    let least = (redis_timeout * 5).max(Duration::from_secs(1));
    if idle < least {
        return Err(CliError::BadValue {
            name: NAME,
            value: format!(
                "{} (at least {} ms: five times --redis-timeout-ms, and 1000)",
                idle.as_millis(),
                least.as_millis()
            ),
        });
    }
    Ok(idle)
}

/// `--shutdown-delay-ms`: 0 (the default) or more, at most an hour.
fn delay_millis(value: Option<String>) -> Result<Duration, CliError> {
    const NAME: &str = "--shutdown-delay-ms";
    let Some(v) = value else {
        return Ok(Duration::ZERO);
    };
    match v.parse::<u64>() {
        Ok(ms) if ms <= 3_600_000 => Ok(Duration::from_millis(ms)),
        _ => Err(CliError::BadValue {
            name: NAME,
            value: format!("{v} (0 to 3600000)"),
        }),
    }
}

fn millis(name: &'static str, value: Option<String>, default: u64) -> Result<Duration, CliError> {
    let n = number(name, value, usize::try_from(default).unwrap_or(usize::MAX))?;
    Ok(Duration::from_millis(u64::try_from(n).unwrap_or(u64::MAX)))
}

/// `host:port` or `[v6]:port`, host lowercased.
pub fn parse_endpoint(text: &str) -> Option<(String, u16)> {
    let (host, port) = match text.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest.split_once(']')?;
            (host, after.strip_prefix(':')?)
        }
        None => {
            let (host, port) = text.rsplit_once(':')?;
            if host.contains(':') {
                return None;
            }
            (host, port)
        }
    };
    let port = port.parse::<u16>().ok().filter(|p| *p != 0)?;
    if host.is_empty() {
        return None;
    }
    Some((host.to_ascii_lowercase(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn serve(list: &[&str], env: &[(&str, &str)]) -> Result<ServeOptions, CliError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match parse(&args(list), |k| {
            env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })? {
            Command::Serve(s) => Ok(s),
            other => panic!("not serve: {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let s = serve(&[], &[]).unwrap();
        assert_eq!(s.listen, Listen::Tcp("127.0.0.1:7380".parse().unwrap()));
        assert!(s.allow_redis.is_empty());
        assert_eq!(s.redis.timeout, Duration::from_millis(200));
        assert_eq!(s.max_body_bytes, aws_masker::protocol::MAX_BODY_BYTES);
        assert_eq!(s.shutdown_delay, Duration::ZERO);
        assert_eq!(s.drain_timeout, Duration::from_millis(5000));
        assert_eq!(s.max_connections, 1024);
        assert_eq!(s.profile_idle, Duration::from_secs(300));
        assert!(serve(&["--profile-idle-ms", "999"], &[]).is_err());
        assert!(serve(&["--profile-idle-ms", "1000"], &[]).is_ok());
        let slow = ["--redis-timeout-ms", "2000", "--profile-idle-ms"];
        assert!(serve(&[&slow[..], &["9999"]].concat(), &[]).is_err());
        assert!(serve(&[&slow[..], &["10000"]].concat(), &[]).is_ok());
        let env = [("AWS_MASKER_BRIDGE_MAX_CONNECTIONS", "8")];
        assert_eq!(serve(&[], &env).unwrap().max_connections, 8);
        assert_eq!(
            serve(&["--max-connections", "2"], &env)
                .unwrap()
                .max_connections,
            2
        );
        for bad in ["0", "65537", "x"] {
            assert!(serve(&["--max-connections", bad], &[]).is_err(), "{bad}");
        }
        let env = [("AWS_MASKER_BRIDGE_SHUTDOWN_DELAY_MS", "15000")];
        assert_eq!(
            serve(&[], &env).unwrap().shutdown_delay,
            Duration::from_secs(15)
        );
        assert_eq!(
            serve(&["--shutdown-delay-ms=250"], &env)
                .unwrap()
                .shutdown_delay,
            Duration::from_millis(250)
        );
        let zero = [("AWS_MASKER_BRIDGE_SHUTDOWN_DELAY_MS", "0")];
        assert_eq!(serve(&[], &zero).unwrap().shutdown_delay, Duration::ZERO);
        for bad in ["-1", "x", "3600001", "18446744073709551615"] {
            assert!(serve(&["--shutdown-delay-ms", bad], &[]).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_override_environment() {
        let env = [
            ("AWS_MASKER_BRIDGE_LISTEN", "127.0.0.1:9000"),
            ("AWS_MASKER_BRIDGE_ALLOW_REDIS", "a:1,b:2"),
        ];
        let s = serve(&[], &env).unwrap();
        assert_eq!(s.listen, Listen::Tcp("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(s.allow_redis, vec![("a".into(), 1), ("b".into(), 2)]);
        let s = serve(
            &[
                "--listen",
                "127.0.0.1:9001",
                "--allow-redis",
                "C:3",
                "--allow-redis=[::1]:4,d:5",
            ],
            &env,
        )
        .unwrap();
        assert_eq!(s.listen, Listen::Tcp("127.0.0.1:9001".parse().unwrap()));
        let unix = serve(&["--listen", "unix:/run/aws-masker.sock"], &env).unwrap();
        assert_eq!(unix.listen, Listen::Unix("/run/aws-masker.sock".into()));
        assert!(serve(&["--listen", "unix:relative.sock"], &env).is_err());
        assert_eq!(
            s.allow_redis,
            vec![("c".into(), 3), ("::1".into(), 4), ("d".into(), 5)]
        );
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(
            serve(&["--allow-redis", "nohost"], &[]).unwrap_err(),
            CliError::BadValue {
                name: "--allow-redis",
                value: "nohost".into()
            }
        );
        assert!(serve(&["--listen", "localhost"], &[]).is_err());
        assert!(serve(&["--listen"], &[]).is_err());
        assert!(serve(&["--bogus"], &[]).is_err());
        assert!(serve(&["--redis-timeout-ms", "0"], &[]).is_err());
        let max = aws_masker::protocol::MAX_BODY_BYTES;
        assert_eq!(
            serve(&["--max-body-bytes", &max.to_string()], &[])
                .unwrap()
                .max_body_bytes,
            max
        );
        assert!(serve(&["--max-body-bytes", &(max + 1).to_string()], &[]).is_err());
    }

    #[test]
    fn restore_needs_its_files() {
        let cmd = parse(
            &args(&[
                "restore",
                "--profile-file",
                "p.json",
                "--in",
                "x.jsonl",
                "--format",
                "json",
            ]),
            |_| None,
        )
        .unwrap();
        match cmd {
            Command::Restore(r) => {
                assert_eq!(r.redis.timeout, Duration::from_millis(1000));
                assert_eq!(r.input, PathBuf::from("x.jsonl"));
                assert_eq!(r.output, None);
                assert_eq!(r.format, Format::Json);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse(&args(&["restore", "--in", "x"]), |_| None).unwrap_err(),
            CliError::Missing("--profile-file")
        );
        assert!(parse(&args(&["restore", "--listen", "x"]), |_| None).is_err());
    }
}
