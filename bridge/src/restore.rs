//! `aws-masker-bridge restore`: put originals back into a file that never went through the
//! response path (for example Message Batches results downloaded later).
//!
//! Every placeholder-shaped token (`AWS_<LABEL>_<13 chars A-Z2-7>`) is looked up in Redis;
//! known ones are replaced, unknown ones stay. In JSON input the original is JSON-escaped, so
//! a value holding `"` or `\` keeps the document valid. Given the filter's config (with its
//! `token_secret`), an entry is used only if the secret derives its placeholder from its
//! original, as the filter checks what it looks up: what Redis answers is not trusted to put
//! text in the file.
//!
//! ```text
//! aws-masker-bridge restore --profile-file profile.json --in results.jsonl --out restored.jsonl
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use aws_masker::placeholder::Placeholders;
use aws_masker::placeholder::{
    is_placeholder_byte, shaped_len, Mapping, HASH_LEN, MAX_PLACEHOLDER_LEN, PREFIX,
};
use aws_masker::protocol::{RedisProfile, MAX_ENTRIES};
use aws_masker::restore::{restore_into, Escape, RestoreStats};
use aws_masker::store::merge_found;

use crate::backend::{Backend, BackendError};
use crate::cli::Format;

/// What a restore did, for the summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Distinct placeholders Redis knew.
    pub known: usize,
    /// Occurrences replaced.
    pub replaced: usize,
    /// Placeholder-shaped occurrences left unchanged (unknown to Redis, or rejected).
    pub unknown: usize,
    /// Entries Redis answered whose placeholder the `token_secret` does not derive from their
    /// original (another deployment's, or written by someone else): not used.
    pub rejected: usize,
}

/// What a profile file gives: where Redis is, and the filter's `token_secret` if the file is
/// the filter's config.
#[derive(Debug)]
pub struct ProfileFile {
    pub profile: RedisProfile,
    pub token_secret: Option<String>,
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
/// filter's own config, whose `redis_*` fields and `token_secret` are used and other fields
/// ignored.
pub fn read_profile(path: &Path) -> Result<ProfileFile, RestoreError> {
    let bytes = std::fs::read(path).map_err(|source| RestoreError::Read {
        what: "profile file",
        source,
    })?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        RestoreError::Profile(format!("line {} column {}: not json", e.line(), e.column()))
    })?;
    let token_secret = match value.get("token_secret") {
        None => None,
        Some(serde_json::Value::String(s)) if s.chars().count() >= 32 => Some(s.clone()),
        Some(_) => {
            return Err(RestoreError::Profile(
                "token_secret: not a string of at least 32 characters".into(),
            ))
        }
    };
    let profile = profile_from_json(value)?;
    profile
        .validate()
        .map_err(|e| RestoreError::Profile(e.to_string()))?;
    Ok(ProfileFile {
        profile,
        token_secret,
    })
}

fn profile_from_json(value: serde_json::Value) -> Result<RedisProfile, RestoreError> {
    // `redis_type` is named alike in both forms; any other `redis_*` key means a filter config.
    let is_filter_config = value.as_object().is_some_and(|m| {
        m.keys()
            .any(|k| k.starts_with("redis_") && k != "redis_type")
    });
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

/// Every placeholder-shaped string that could be restored in `text`: each prefix of a run of
/// placeholder bytes starting at `AWS_` that is shaped like a placeholder (a known placeholder
/// may be followed by more placeholder bytes, as the core's restore accepts).
pub fn candidates(text: &[u8]) -> BTreeSet<String> {
    let prefix = PREFIX.as_bytes();
    let mut found = BTreeSet::new();
    let mut at = 0;
    while let Some(rel) = text
        .get(at..)
        .and_then(|rest| rest.windows(prefix.len()).position(|w| w == prefix))
    {
        let start = at + rel;
        let run: &[u8] = text
            .get(start..)
            .map(|rest| {
                let n = rest
                    .iter()
                    .take(MAX_PLACEHOLDER_LEN)
                    .take_while(|b| is_placeholder_byte(**b))
                    .count();
                rest.get(..n).unwrap_or_default()
            })
            .unwrap_or_default();
        for end in HASH_LEN..=run.len() {
            let token = run.get(..end).unwrap_or_default();
            if shaped_len(token) == Some(end) {
                if let Ok(t) = std::str::from_utf8(token) {
                    found.insert(t.to_string());
                }
            }
        }
        at = start + 1;
    }
    found
}

/// Restores `text` with originals from `backend`, through the same code as the filter's
/// response path. With `keys` (the filter's `token_secret`), only entries it derives are used.
pub async fn restore(
    backend: &Backend,
    text: &[u8],
    json: bool,
    keys: Option<&Placeholders>,
) -> Result<(Vec<u8>, Summary), RestoreError> {
    let wanted: Vec<String> = candidates(text).into_iter().collect();
    let mut mapping = Mapping::default();
    let mut rejected = 0;
    for chunk in wanted.chunks(MAX_ENTRIES) {
        let answer = backend
            .exchange(&[], 1, chunk)
            .await
            .map_err(RestoreError::Redis)?;
        match keys {
            Some(keys) => {
                let merged = merge_found(&answer, chunk, keys, &mut mapping);
                rejected += usize::try_from(merged.foreign).unwrap_or(usize::MAX);
            }
            None => {
                for entry in answer.found {
                    // One key holds one original, so a conflict cannot happen; skip it.
                    let _ = mapping.insert(entry.placeholder, entry.original);
                }
            }
        }
    }
    let escape = if json { Escape::Json } else { Escape::None };
    let mut out = Vec::with_capacity(text.len());
    let mut stats = RestoreStats::default();
    restore_into(text, &mapping, escape, &mut out, &mut stats);
    Ok((
        out,
        Summary {
            known: mapping.len(),
            replaced: usize::try_from(stats.restored).unwrap_or(usize::MAX),
            unknown: usize::try_from(stats.unknown).unwrap_or(usize::MAX),
            rejected,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const P1: &str = "AWS_EC2_ABCDEFGHIJKLM";
    const P2: &str = "AWS_ARN_IAM_ROLE_ABCDEFGHIJ234";

    #[test]
    fn candidates_cover_tokens_anywhere_and_skip_lookalikes() {
        let text = format!("x {P1}, \"{P2}\" AWS_REGION AWS_EC2_ABCDEFGHIJKL1 ({P1})");
        let found: Vec<String> = candidates(text.as_bytes()).into_iter().collect();
        assert_eq!(found, vec![P2.to_string(), P1.to_string()]);
        assert!(candidates(b"AWS_").is_empty());
        // A placeholder followed by more placeholder bytes is still a candidate.
        let glued = format!("{P1}_SUFFIX");
        assert!(candidates(glued.as_bytes()).contains(P1));
    }

    #[test]
    fn restores_like_the_core_with_json_escaping() {
        let text = format!(r#"{{"text":"{P1} and {P2}"}}"#);
        let mut mapping = Mapping::default();
        mapping
            .insert(P1.into(), "i-0abc \"quoted\" \\ path".into())
            .unwrap();
        let mut out = Vec::new();
        let mut stats = RestoreStats::default();
        restore_into(
            text.as_bytes(),
            &mapping,
            Escape::Json,
            &mut out,
            &mut stats,
        );
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["text"], format!("i-0abc \"quoted\" \\ path and {P2}"));
        assert_eq!((stats.restored, stats.unknown), (1, 1));
    }

    #[test]
    fn profile_from_wire_form_or_filter_config() {
        let wire = serde_json::json!({"redis_type": "traditional", "host": "10.0.0.5",
                                      "port": 6390, "password": "pw"});
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
        let dir = std::env::temp_dir().join(format!("restore-profile-{}", std::process::id()));
        std::fs::write(&dir, config.to_string()).unwrap();
        let read = read_profile(&dir).unwrap();
        assert_eq!(read.token_secret, Some("x".repeat(40)));
        let short = serde_json::json!({"token_secret": "short", "redis_host": "h"});
        std::fs::write(&dir, short.to_string()).unwrap();
        match read_profile(&dir) {
            Err(RestoreError::Profile(m)) => assert!(m.starts_with("token_secret"), "{m}"),
            other => panic!("{other:?}"),
        }
        std::fs::write(&dir, wire_again().to_string()).unwrap();
        assert_eq!(read_profile(&dir).unwrap().token_secret, None);
        let _ = std::fs::remove_file(&dir);
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

    fn wire_again() -> serde_json::Value {
        serde_json::json!({"redis_type": "traditional", "host": "10.0.0.5", "port": 6390})
    }

    #[test]
    fn detects_json() {
        assert!(is_json(Format::Auto, Path::new("a.jsonl"), b"x"));
        assert!(is_json(Format::Auto, Path::new("a.txt"), b"  {\"a\":1}"));
        assert!(!is_json(Format::Auto, Path::new("a.txt"), b"hello"));
        assert!(!is_json(Format::Text, Path::new("a.json"), b"{}"));
    }
}
