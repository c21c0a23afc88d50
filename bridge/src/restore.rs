//! `aws-masker-bridge restore`: put originals back into a file that never went through the
//! response path (for example Message Batches results downloaded later).
//!
//! Every placeholder-shaped token (`AWS_<LABEL>_<13 chars A-Z2-7>`) is looked up in Redis;
//! known ones are replaced, unknown ones stay. In JSON input the original is JSON-escaped, so
//! a value holding `"` or `\` keeps the document valid.
//!
//! ```text
//! aws-masker-bridge restore --profile-file profile.json --in results.jsonl --out restored.jsonl
//! ```

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

use aws_masker::placeholder::{shaped_len, PREFIX};
use aws_masker::protocol::{RedisProfile, MAX_ENTRIES};

use crate::backend::{Backend, BackendError};
use crate::cli::Format;

/// What a restore did, for the summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Distinct placeholder-shaped tokens seen.
    pub distinct: usize,
    /// Distinct tokens Redis knew.
    pub known: usize,
    /// Occurrences replaced.
    pub replaced: usize,
}

#[derive(Debug)]
pub enum RestoreError {
    Read {
        what: &'static str,
        source: std::io::Error,
    },
    Write(std::io::Error),
    Profile(String),
    Redis(BackendError),
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestoreError::Read { what, source } => write!(f, "cannot read the {what}: {source}"),
            RestoreError::Write(e) => write!(f, "cannot write the output: {e}"),
            RestoreError::Profile(e) => write!(f, "bad profile file: {e}"),
            RestoreError::Redis(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for RestoreError {}

/// Reads a profile file: either a JSON [`RedisProfile`] (the wire form, e.g.
/// `{"redis_type":"managed","host":"...","ssl_enabled":true,"auth_token":"..."}`) or the
/// filter's own config, whose `redis_*` fields are used and other fields ignored.
pub fn read_profile(path: &Path) -> Result<RedisProfile, RestoreError> {
    let bytes = std::fs::read(path).map_err(|source| RestoreError::Read {
        what: "profile file",
        source,
    })?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        RestoreError::Profile(format!("line {} column {}: not json", e.line(), e.column()))
    })?;
    let profile = profile_from_json(value)?;
    profile
        .validate()
        .map_err(|e| RestoreError::Profile(e.to_string()))?;
    Ok(profile)
}

fn profile_from_json(value: serde_json::Value) -> Result<RedisProfile, RestoreError> {
    let is_filter_config = value
        .as_object()
        .is_some_and(|m| m.keys().any(|k| k.starts_with("redis_")));
    let value = match value {
        serde_json::Value::Object(map) if is_filter_config => serde_json::Value::Object(
            map.into_iter()
                .filter_map(|(k, v)| {
                    let field = match k.as_str() {
                        "redis_type" => k,
                        other => other.strip_prefix("redis_")?.to_string(),
                    };
                    Some((field, v))
                })
                .collect(),
        ),
        other => other,
    };
    serde_json::from_value(value)
        .map_err(|_| RestoreError::Profile("fields do not make a redis profile".into()))
}

/// True when `format` (or, for `Auto`, the file name or first byte) says JSON.
pub fn is_json(format: Format, name: &Path, text: &[u8]) -> bool {
    match format {
        Format::Json => true,
        Format::Text => false,
        Format::Auto => {
            let ext = name.extension().and_then(|e| e.to_str()).unwrap_or("");
            matches!(ext, "json" | "jsonl" | "ndjson")
                || matches!(
                    text.iter().find(|b| !b.is_ascii_whitespace()),
                    Some(b'{' | b'[')
                )
        }
    }
}

/// Byte ranges of placeholder-shaped tokens in `text`, in order.
pub fn find_placeholders(text: &[u8]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut at = 0;
    let prefix = PREFIX.as_bytes();
    while let Some(rel) = text
        .get(at..)
        .and_then(|rest| rest.windows(prefix.len()).position(|w| w == prefix))
    {
        let start = at + rel;
        match text.get(start..).and_then(shaped_len) {
            Some(len) => {
                found.push((start, start + len));
                at = start + len;
            }
            None => at = start + 1,
        }
    }
    found
}

/// Replaces known placeholders in `text`; `originals` maps placeholder to original.
pub fn substitute(
    text: &[u8],
    spans: &[(usize, usize)],
    originals: &HashMap<String, String>,
    json: bool,
) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(text.len());
    let mut last = 0;
    let mut replaced = 0;
    for &(start, end) in spans {
        let token = text
            .get(start..end)
            .and_then(|t| std::str::from_utf8(t).ok());
        let Some(original) = token.and_then(|t| originals.get(t)) else {
            continue;
        };
        out.extend_from_slice(text.get(last..start).unwrap_or_default());
        if json {
            let quoted = serde_json::to_string(original).unwrap_or_default();
            let inner = quoted
                .strip_prefix('"')
                .and_then(|q| q.strip_suffix('"'))
                .unwrap_or_default();
            out.extend_from_slice(inner.as_bytes());
        } else {
            out.extend_from_slice(original.as_bytes());
        }
        last = end;
        replaced += 1;
    }
    out.extend_from_slice(text.get(last..).unwrap_or_default());
    (out, replaced)
}

/// Restores `text` with originals from `backend`.
pub async fn restore(
    backend: &Backend,
    text: &[u8],
    json: bool,
) -> Result<(Vec<u8>, Summary), RestoreError> {
    let spans = find_placeholders(text);
    let distinct: BTreeSet<String> = spans
        .iter()
        .filter_map(|&(s, e)| text.get(s..e))
        .filter_map(|t| std::str::from_utf8(t).ok())
        .map(str::to_string)
        .collect();
    let distinct: Vec<String> = distinct.into_iter().collect();
    let mut originals = HashMap::new();
    for chunk in distinct.chunks(MAX_ENTRIES) {
        let answer = backend
            .exchange(&[], 1, chunk)
            .await
            .map_err(RestoreError::Redis)?;
        for entry in answer.found {
            originals.insert(entry.placeholder, entry.original);
        }
    }
    let (out, replaced) = substitute(text, &spans, &originals, json);
    Ok((
        out,
        Summary {
            distinct: distinct.len(),
            known: originals.len(),
            replaced,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const P1: &str = "AWS_EC2_ABCDEFGHIJKLM";
    const P2: &str = "AWS_ARN_IAM_ROLE_ABCDEFGHIJ234";

    #[test]
    fn finds_tokens_anywhere_and_skips_lookalikes() {
        let text = format!("x {P1}, \"{P2}\" AWS_REGION AWS_EC2_ABCDEFGHIJKL1 ({P1})");
        let spans = find_placeholders(text.as_bytes());
        let tokens: Vec<&str> = spans.iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(tokens, vec![P1, P2, P1]);
        assert!(find_placeholders(b"AWS_").is_empty());
    }

    #[test]
    fn substitutes_known_ones_and_escapes_in_json() {
        let text = format!(r#"{{"text":"{P1} and {P2}"}}"#);
        let spans = find_placeholders(text.as_bytes());
        let originals: HashMap<String, String> =
            [(P1.to_string(), "i-0abc \"quoted\" \\ path".to_string())].into();
        let (out, n) = substitute(text.as_bytes(), &spans, &originals, true);
        assert_eq!(n, 1);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["text"], format!("i-0abc \"quoted\" \\ path and {P2}"));
        let (raw, _) = substitute(text.as_bytes(), &spans, &originals, false);
        assert!(String::from_utf8(raw)
            .unwrap()
            .contains("i-0abc \"quoted\" \\ path"));
    }

    #[test]
    fn profile_from_wire_form_or_filter_config() {
        let wire = serde_json::json!({"host": "10.0.0.5", "port": 6390, "password": "pw"});
        let p = profile_from_json(wire).unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.password.as_deref()),
            ("10.0.0.5", 6390, Some("pw"))
        );
        let config = serde_json::json!({
            "token_secret": "x".repeat(40), "use_redis": true, "mapping_ttl": 600,
            "redis_type": "managed", "redis_host": "master.example", "redis_port": 6380,
            "redis_ssl_enabled": true, "redis_auth_token": "tok", "redis_user": "masker"
        });
        let p = profile_from_json(config).unwrap();
        assert_eq!(p.redis_type, aws_masker::protocol::RedisType::Managed);
        assert_eq!((p.host.as_str(), p.port), ("master.example", 6380));
        assert_eq!(
            (p.user.as_deref(), p.auth_token.as_deref()),
            (Some("masker"), Some("tok"))
        );
        assert!(p.ssl_enabled && p.ssl_verify);
        assert!(profile_from_json(serde_json::json!({"hostname": "x"})).is_err());
    }

    #[test]
    fn detects_json() {
        assert!(is_json(Format::Auto, Path::new("a.jsonl"), b"x"));
        assert!(is_json(Format::Auto, Path::new("a.txt"), b"  {\"a\":1}"));
        assert!(!is_json(Format::Auto, Path::new("a.txt"), b"hello"));
        assert!(!is_json(Format::Text, Path::new("a.json"), b"{}"));
    }
}
