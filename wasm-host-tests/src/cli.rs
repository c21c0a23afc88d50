//! The `wasm-host` command line: `serve` and `replay`, with the WasmX knobs as flags.
//!
//! ```
//! use wasm_host_tests::cli::parse_size;
//! assert_eq!(parse_size("8k"), Some(8192));
//! assert_eq!(parse_size("4m"), Some(4 * 1024 * 1024));
//! assert_eq!(parse_size("12"), Some(12));
//! assert_eq!(parse_size("x"), None);
//! ```

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::filter::Filter;
use crate::host::HostConfig;
use crate::replay::{replay, Canned};
use crate::serve::{Gateway, ServeOptions, Server};
use crate::state::Level;

/// Usage text.
pub const USAGE: &str = "\
usage:
  wasm-host serve --wasm PATH --config FILE|JSON --upstream URL [--listen 127.0.0.1:8000]
                  [--workers N] [--shm-kv SIZE|none] [--client-body-buffer SIZE]
                  [--response-body-buffers \"N SIZE\"] [--upstream-timeout SECS]
                  [--max-connections N] [--filter-log debug|info|warn|err|off] [--no-access-log]
                  [--upstream-ca PEM_FILE] [--no-filter]
  wasm-host replay --wasm PATH --config FILE|JSON --request BODY_FILE [--path /v1/messages]
                  [--header 'name: value']... [--response FILE --response-type json|sse]
                  [--chunk BYTES] [--client-body-buffer SIZE] [--response-body-buffers \"N SIZE\"]

SIZE is bytes with an optional k, m or g suffix (Kong style: 8k, 16m).
--config takes a file, or the JSON itself when it starts with '{'.
--no-filter serves the same gateway without the filter (for comparisons).";

/// A command-line error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// No or unknown subcommand.
    Command,
    /// An unknown flag.
    Flag(String),
    /// A flag without its value.
    Missing(&'static str),
    /// A flag with a bad value.
    Value(&'static str),
    /// A file that could not be read.
    Read(PathBuf, std::io::ErrorKind),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Command => f.write_str("expected `serve` or `replay`"),
            Self::Flag(flag) => write!(f, "unknown flag {flag}"),
            Self::Missing(flag) => write!(f, "{flag} is required"),
            Self::Value(flag) => write!(f, "bad value for {flag}"),
            Self::Read(path, kind) => write!(f, "cannot read {}: {kind}", path.display()),
        }
    }
}

impl std::error::Error for CliError {}

/// Parses `8k`, `16m`, `1g` or plain bytes.
pub fn parse_size(text: &str) -> Option<usize> {
    let t = text.trim().to_ascii_lowercase();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, 'k')) => (t.get(..i)?, 1024),
        Some((i, 'm')) => (t.get(..i)?, 1024 * 1024),
        Some((i, 'g')) => (t.get(..i)?, 1024 * 1024 * 1024),
        _ => (t.as_str(), 1),
    };
    digits.parse::<usize>().ok()?.checked_mul(unit)
}

/// Parses `"N SIZE"` (nginx's `wasm_response_body_buffers`) into the total size.
pub fn parse_buffers(text: &str) -> Option<usize> {
    let mut parts = text.split_whitespace();
    let n: usize = parts.next()?.parse().ok()?;
    let size = parse_size(parts.next()?)?;
    parts.next().is_none().then_some(())?;
    n.checked_mul(size)
}

/// Flags as `(name, value)` pairs, in order; `switches` take no value.
fn flags(args: &[String], switches: &[&str]) -> Result<Vec<(String, String)>, CliError> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if !arg.starts_with("--") {
            return Err(CliError::Flag(arg.clone()));
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let value = if switches.contains(&name.as_str()) {
            String::new()
        } else if let Some(v) = inline {
            v
        } else {
            it.next().cloned().unwrap_or_default()
        };
        out.push((name, value));
    }
    Ok(out)
}

fn last<'a>(flags: &'a [(String, String)], name: &str) -> Option<&'a str> {
    flags
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn read(path: &str) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::Read(PathBuf::from(path), e.kind()))
}

/// The filter configuration: the JSON itself when it starts with `{`, else a file.
fn config_bytes(value: &str) -> Result<Vec<u8>, CliError> {
    if value.trim_start().starts_with('{') {
        Ok(value.as_bytes().to_vec())
    } else {
        read(value)
    }
}

/// The WasmX knobs shared by both commands.
fn host_config(flags: &[(String, String)]) -> Result<HostConfig, CliError> {
    let config = config_bytes(last(flags, "--config").ok_or(CliError::Missing("--config"))?)?;
    let mut hc = HostConfig::with_config(config);
    if let Some(v) = last(flags, "--workers") {
        hc.workers = v
            .parse()
            .ok()
            .filter(|n| (1..=256).contains(n))
            .ok_or(CliError::Value("--workers"))?;
    }
    if let Some(v) = last(flags, "--shm-kv") {
        hc.shm_kv = if v == "none" {
            None
        } else {
            Some(parse_size(v).ok_or(CliError::Value("--shm-kv"))?)
        };
    }
    if let Some(v) = last(flags, "--client-body-buffer") {
        hc.client_body_buffer_size =
            parse_size(v).ok_or(CliError::Value("--client-body-buffer"))?;
    }
    if let Some(v) = last(flags, "--response-body-buffers") {
        hc.response_body_buffers =
            parse_buffers(v).ok_or(CliError::Value("--response-body-buffers"))?;
    }
    Ok(hc)
}

fn known(flags: &[(String, String)], allowed: &[&str]) -> Result<(), CliError> {
    match flags.iter().find(|(n, _)| !allowed.contains(&n.as_str())) {
        Some((n, _)) => Err(CliError::Flag(n.clone())),
        None => Ok(()),
    }
}

fn load(flags: &[(String, String)]) -> Result<Filter, Box<dyn std::error::Error>> {
    let wasm = last(flags, "--wasm").ok_or(CliError::Missing("--wasm"))?;
    // Serving and replaying want speed, not a fuel budget per callback.
    Ok(Filter::from_file_unmetered(std::path::Path::new(wasm))?)
}

/// Runs `wasm-host` with `args` (without the program name); returns the exit code.
pub fn run(args: &[String]) -> i32 {
    let result = match args.split_first() {
        Some((cmd, rest)) if cmd == "serve" => serve(rest),
        Some((cmd, rest)) if cmd == "replay" => run_replay(rest),
        Some((cmd, _)) if cmd == "--help" || cmd == "-h" || cmd == "help" => {
            println!("{USAGE}");
            return 0;
        }
        _ => Err(CliError::Command.into()),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("wasm-host: {e}\n\n{USAGE}");
            2
        }
    }
}

fn serve(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let flags = flags(args, &["--no-filter", "--no-access-log"])?;
    known(
        &flags,
        &[
            "--wasm",
            "--config",
            "--listen",
            "--upstream",
            "--workers",
            "--shm-kv",
            "--client-body-buffer",
            "--response-body-buffers",
            "--upstream-timeout",
            "--max-connections",
            "--filter-log",
            "--no-access-log",
            "--no-filter",
            "--upstream-ca",
        ],
    )?;
    let upstream = last(&flags, "--upstream").ok_or(CliError::Missing("--upstream"))?;
    let mut options = ServeOptions::new(upstream)?;
    if let Some(v) = last(&flags, "--upstream-timeout") {
        let secs: u64 = v
            .parse()
            .map_err(|_| CliError::Value("--upstream-timeout"))?;
        options.upstream_timeout = Duration::from_secs(secs.max(1));
    }
    if let Some(v) = last(&flags, "--max-connections") {
        options.max_connections = v
            .parse()
            .map_err(|_| CliError::Value("--max-connections"))?;
    }
    if let Some(v) = last(&flags, "--filter-log") {
        options.filter_log = match v {
            "debug" => Some(Level::Debug),
            "info" => Some(Level::Info),
            "warn" => Some(Level::Warn),
            "err" | "error" => Some(Level::Err),
            "off" => None,
            _ => return Err(CliError::Value("--filter-log").into()),
        };
    }
    options.access_log = last(&flags, "--no-access-log").is_none();
    options.upstream_ca = last(&flags, "--upstream-ca").map(PathBuf::from);
    let filter = if last(&flags, "--no-filter").is_some() {
        None
    } else {
        Some((load(&flags)?, host_config(&flags)?))
    };
    let workers = filter.as_ref().map_or(0, |(_, c)| c.workers);
    let gateway = Gateway::new(filter, options)?;
    let listen = last(&flags, "--listen").unwrap_or("127.0.0.1:8000");
    let server = Server::bind(listen, gateway)?;
    eprintln!(
        "wasm-host: listening on http://{} -> {} ({})",
        server.local_addr(),
        upstream,
        if workers == 0 {
            "filter off".to_string()
        } else {
            format!("{workers} worker(s)")
        }
    );
    server.run();
    Ok(())
}

fn run_replay(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let flags = flags(args, &[])?;
    known(
        &flags,
        &[
            "--wasm",
            "--config",
            "--request",
            "--path",
            "--header",
            "--response",
            "--response-type",
            "--chunk",
            "--client-body-buffer",
            "--response-body-buffers",
            "--shm-kv",
            "--workers",
        ],
    )?;
    let body = read(last(&flags, "--request").ok_or(CliError::Missing("--request"))?)?;
    let path = last(&flags, "--path").unwrap_or("/v1/messages");
    let headers: Vec<(String, String)> = flags
        .iter()
        .filter(|(n, _)| n == "--header")
        .map(|(_, v)| {
            v.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or(CliError::Value("--header"))
        })
        .collect::<Result<_, _>>()?;
    let chunk = last(&flags, "--chunk")
        .map(|v| v.parse::<usize>().map_err(|_| CliError::Value("--chunk")))
        .transpose()?;
    let canned = match last(&flags, "--response") {
        None => None,
        Some(file) => {
            let bytes = read(file)?;
            let canned = match last(&flags, "--response-type").unwrap_or("json") {
                "json" => Canned::Json(bytes),
                "sse" => Canned::Sse(bytes),
                _ => return Err(CliError::Value("--response-type").into()),
            };
            Some((canned, chunk))
        }
    };
    let out = replay(
        load(&flags)?,
        host_config(&flags)?,
        path,
        &headers,
        &body,
        canned,
    )?;
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn sizes_and_buffers() {
        assert_eq!(parse_size("16K"), Some(16384));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_buffers("4 4096"), Some(16384));
        assert_eq!(parse_buffers("64 16k"), Some(64 * 16384));
        assert_eq!(parse_buffers("4"), None);
        assert_eq!(parse_buffers("4 4k 1"), None);
    }

    #[test]
    fn flags_take_values_inline_or_next_and_switches_alone() {
        let f = flags(
            &args(&[
                "--workers",
                "2",
                "--shm-kv=1m",
                "--no-filter",
                "--listen",
                "x",
            ]),
            &["--no-filter"],
        )
        .unwrap();
        assert_eq!(last(&f, "--workers"), Some("2"));
        assert_eq!(last(&f, "--shm-kv"), Some("1m"));
        assert_eq!(last(&f, "--no-filter"), Some(""));
        assert_eq!(last(&f, "--listen"), Some("x"));
        assert!(flags(&args(&["serve"]), &[]).is_err());
    }

    #[test]
    fn host_config_reads_the_knobs() {
        let f = flags(
            &args(&[
                "--config",
                r#"{"token_secret":"x"}"#,
                "--workers",
                "3",
                "--shm-kv",
                "none",
                "--client-body-buffer",
                "4m",
                "--response-body-buffers",
                "64 16k",
            ]),
            &[],
        )
        .unwrap();
        let hc = host_config(&f).unwrap();
        assert_eq!(hc.config, br#"{"token_secret":"x"}"#);
        assert_eq!(
            (
                hc.workers,
                hc.shm_kv,
                hc.client_body_buffer_size,
                hc.response_body_buffers
            ),
            (3, None, 4 << 20, 64 * 16384)
        );
        let bad = flags(&args(&["--config", "{}", "--workers", "0"]), &[]).unwrap();
        assert_eq!(host_config(&bad).err(), Some(CliError::Value("--workers")));
        assert_eq!(host_config(&[]).err(), Some(CliError::Missing("--config")));
    }

    #[test]
    fn unknown_commands_and_flags_fail_with_usage_code() {
        assert_eq!(run(&args(&["bogus"])), 2);
        assert_eq!(run(&args(&["serve", "--bogus", "1"])), 2);
        assert_eq!(run(&args(&["replay", "--wasm", "x"])), 2);
    }
}
