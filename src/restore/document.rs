//! Restoring a whole JSON response (a non-streamed Messages API answer).
//!
//! The body is walked with the request side's rules ([`Rules::MessagesApi`]): `thinking` text,
//! signatures and other frozen strings are signed or opaque, so they keep their placeholders;
//! every other string gets its originals back, JSON-escaped once per level of JSON it sits in.

use crate::json::{Document, JsonError, Rules, WalkOptions};
use crate::placeholder::{Mapping, PREFIX};

use super::{restore_into, Escape, RestoreStats};

/// Restores the placeholders of `mapping` in the JSON document `body` into `out`.
///
/// Bytes outside restored placeholders are copied unchanged. An invalid document is an error
/// and writes nothing: the caller decides what to send instead (the filter falls back to a
/// plain JSON-escaped restore of the text, which is safe for valid JSON strings).
///
/// ```
/// use aws_masker::placeholder::{Mapping, Placeholders};
/// use aws_masker::restore::{restore_document, RestoreStats};
///
/// let keys = Placeholders::new(b"an example secret of at least 32 bytes");
/// let mut mapping = Mapping::default();
/// let p = keys.issue(&mut mapping, "EC2", "i-0b263919b6498b123");
/// let body = format!(
///     r#"{{"content":[{{"type":"thinking","thinking":"{p}","signature":"s"}},{{"type":"text","text":"see {p}"}}]}}"#
/// );
/// let mut out = Vec::new();
/// let mut stats = RestoreStats::default();
/// restore_document(body.as_bytes(), &mapping, &mut out, &mut stats).unwrap();
/// let expected = body.replacen(&format!("see {p}"), "see i-0b263919b6498b123", 1);
/// assert_eq!(String::from_utf8(out).unwrap(), expected); // the thinking text is untouched
/// assert_eq!(stats.restored, 1);
/// ```
pub fn restore_document(
    body: &[u8],
    mapping: &Mapping,
    out: &mut Vec<u8>,
    stats: &mut RestoreStats,
) -> Result<(), JsonError> {
    let doc = Document::parse(body)?;
    if mapping.originals_are_json_safe() {
        restore_outside_frozen(body, &doc, mapping, out, stats);
    } else {
        restore_sites(body, &doc, mapping, out, stats);
    }
    Ok(())
}

/// The general case: each string is restored with the escaping of its level of JSON.
fn restore_sites(
    body: &[u8],
    doc: &Document<'_>,
    mapping: &Mapping,
    out: &mut Vec<u8>,
    stats: &mut RestoreStats,
) {
    let mut sites: Vec<(std::ops::Range<usize>, usize)> = Vec::new();
    let options = WalkOptions {
        rules: Rules::MessagesApi,
        ..WalkOptions::default()
    };
    doc.walk(options, &mut |site: &crate::json::Site<'_>| {
        if !site.frozen() && site.text.contains(PREFIX) {
            sites.push((site.span(), site.nesting));
        }
    });
    out.reserve(super::restored_capacity(body.len()));
    let mut copied = 0;
    for (span, nesting) in sites {
        // Nested sites lie inside their enclosing string and are visited in document order.
        let (Some(before), Some(text)) = (body.get(copied..span.start), body.get(span.clone()))
        else {
            continue;
        };
        out.extend_from_slice(before);
        // Once for the body, once more per level of JSON inside strings: identifiers hold no
        // characters that JSON escapes, so this only matters for custom patterns.
        let escape = match nesting {
            0 => Escape::Json,
            n => Escape::JsonTimes(u8::try_from(n + 1).unwrap_or(u8::MAX)),
        };
        restore_into(text, mapping, escape, out, stats);
        copied = span.end;
    }
    out.extend_from_slice(body.get(copied..).unwrap_or_default());
}

/// The common case: no original needs escaping, so an original is written the same in any
/// string at any level of JSON inside strings, and placeholders (`[A-Z0-9_]`, never escaped)
/// appear verbatim in the raw bytes. Everything outside frozen strings is restored in one
/// pass; nothing is decoded and no JSON inside strings is parsed.
fn restore_outside_frozen(
    body: &[u8],
    doc: &Document<'_>,
    mapping: &Mapping,
    out: &mut Vec<u8>,
    stats: &mut RestoreStats,
) {
    let mut frozen: Vec<std::ops::Range<usize>> = Vec::new();
    doc.walk_raw(Rules::MessagesApi, &mut |site: &crate::json::Site<'_>| {
        if site.frozen() {
            frozen.push(site.span());
        }
    });
    out.reserve(super::restored_capacity(body.len()));
    let mut copied = 0;
    for span in frozen {
        let (Some(before), Some(kept)) = (body.get(copied..span.start), body.get(span.clone()))
        else {
            continue;
        };
        restore_into(before, mapping, Escape::None, out, stats);
        out.extend_from_slice(kept);
        copied = span.end;
    }
    restore_into(
        body.get(copied..).unwrap_or_default(),
        mapping,
        Escape::None,
        out,
        stats,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::placeholder::Placeholders;

    fn mapping() -> (Mapping, String, String) {
        let keys = Placeholders::new(b"0123456789abcdef0123456789abcdef");
        let mut m = Mapping::default();
        let ec2 = keys.issue(&mut m, "EC2", "i-0b263919b6498b123");
        let odd = keys.issue(&mut m, "CUSTOM", "a\"quoted\\value");
        (m, ec2, odd)
    }

    fn restore(body: &str, m: &Mapping) -> (String, RestoreStats) {
        let mut out = Vec::new();
        let mut stats = RestoreStats::default();
        restore_document(body.as_bytes(), m, &mut out, &mut stats).unwrap();
        (String::from_utf8(out).unwrap(), stats)
    }

    #[test]
    fn text_and_tool_input_are_restored() {
        let (m, p, _) = mapping();
        let body = format!(
            r#"{{"id":"msg_1","type":"message","content":[{{"type":"text","text":"stop {p}"}},{{"type":"tool_use","id":"toolu_1","name":"stop","input":{{"instance":"{p}"}}}}]}}"#
        );
        let (out, stats) = restore(&body, &m);
        assert_eq!(out, body.replace(&p, "i-0b263919b6498b123"));
        assert_eq!(stats.restored, 2);
    }

    #[test]
    fn thinking_and_signatures_keep_their_placeholders() {
        let (m, p, _) = mapping();
        let body = format!(
            r#"{{"content":[{{"signature":"{p}","thinking":"about {p}","type":"thinking"}},{{"type":"redacted_thinking","data":"{p}"}}]}}"#
        );
        let (out, stats) = restore(&body, &m);
        assert_eq!(out, body);
        assert_eq!(stats.restored, 0);
    }

    #[test]
    fn originals_are_escaped_once_per_level() {
        let (m, _, odd) = mapping();
        let body = format!(r#"{{"content":[{{"type":"text","text":"v={odd}"}}]}}"#);
        let (out, _) = restore(&body, &m);
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed["content"][0]["text"], "v=a\"quoted\\value");

        // The same placeholder inside a string that is itself JSON.
        let inner = format!(r#"{{"k":"{odd}"}}"#);
        let body = serde_json::json!({"content":[{"type":"text","text": inner}]}).to_string();
        let (out, stats) = restore(&body, &m);
        assert_eq!(stats.restored, 1);
        let outer: serde_json::Value = serde_json::from_str(&out).unwrap();
        let inner: serde_json::Value =
            serde_json::from_str(outer["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(inner["k"], "a\"quoted\\value");
    }

    #[test]
    fn unknown_placeholders_are_counted_and_kept() {
        let (m, _, _) = mapping();
        let body = r#"{"content":[{"type":"text","text":"AWS_EC2_AAAAAAAAAAAAA"}]}"#;
        let (out, stats) = restore(body, &m);
        assert_eq!(out, body);
        assert_eq!(stats.unknown, 1);
    }

    #[test]
    fn the_fast_path_restores_as_the_walk_does() {
        let (full, p, _) = mapping();
        let mut safe = Mapping::default();
        safe.insert(p.clone(), "i-0b263919b6498b123".to_owned())
            .unwrap();
        assert!(safe.originals_are_json_safe() && !full.originals_are_json_safe());
        let inner = format!(r#"{{"InstanceId": "{p}", "{p}": ["{p}"]}}"#);
        let bodies = [
            format!(r#"{{"content":[{{"type":"text","text":"a {p} b\n{p}"}}]}}"#),
            serde_json::json!({"content":[{"type":"tool_result","content": inner}]}).to_string(),
            format!(
                r#"{{"content":[{{"type":"thinking","thinking":"{p}","signature":"{p}"}},{{"type":"text","text":"{p}"}}],"{p}":1}}"#
            ),
            format!(r#"["{p}AWS_EC2_UNKNOWNUNKNOWN", "x{p}", "\u0041WS_"]"#),
        ];
        for body in &bodies {
            let doc = Document::parse(body.as_bytes()).unwrap();
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            let (mut fast_stats, mut slow_stats) =
                (RestoreStats::default(), RestoreStats::default());
            restore_outside_frozen(body.as_bytes(), &doc, &safe, &mut fast, &mut fast_stats);
            restore_sites(body.as_bytes(), &doc, &safe, &mut slow, &mut slow_stats);
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(slow).unwrap()
            );
            assert_eq!(fast_stats, slow_stats, "{body}");
            assert!(fast_stats.restored > 0, "{body}");
        }
    }

    #[test]
    fn invalid_json_is_an_error_and_writes_nothing() {
        let (m, p, _) = mapping();
        let mut out = Vec::new();
        let mut stats = RestoreStats::default();
        let body = format!(r#"{{"text":"{p}""#);
        assert!(restore_document(body.as_bytes(), &m, &mut out, &mut stats).is_err());
        assert!(out.is_empty());
    }
}
