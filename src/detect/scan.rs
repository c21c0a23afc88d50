//! The single left-to-right pass: a 256-entry class table finds the few bytes that can
//! anchor an identifier (`-`, `:`, `.`, `=`, `/`, `_`, digits and `A`/`I`/`F` at a word
//! start); each anchor runs a hand-written matcher, and a match resumes the pass after its
//! end, so no rule runs inside an identifier already found.

use super::bytes::{all, at, before, eq_ic, is_alnum, run, run_back, slice};
use super::keyed::{self, Rule};
use super::kinds::*;
use super::{arn, creds, hosts, ids, ip, Detector, Finding, KindId};

const NONE: u8 = 0;
const DIGIT: u8 = 1;
const HYPHEN: u8 = 2;
const COLON: u8 = 3;
const DOT: u8 = 4;
const EQUALS: u8 = 5;
const SLASH: u8 = 6;
const UNDERSCORE: u8 = 7;
const UPPER: u8 = 8;

const CLASS: [u8; 256] = {
    let mut t = [NONE; 256];
    let mut d = b'0';
    while d <= b'9' {
        t[d as usize] = DIGIT;
        d += 1;
    }
    t[b'-' as usize] = HYPHEN;
    t[b':' as usize] = COLON;
    t[b'.' as usize] = DOT;
    t[b'=' as usize] = EQUALS;
    t[b'/' as usize] = SLASH;
    t[b'_' as usize] = UNDERSCORE;
    t[b'A' as usize] = UPPER;
    t[b'I' as usize] = UPPER;
    t[b'F' as usize] = UPPER;
    t
};

#[inline]
fn class(c: u8) -> u8 {
    CLASS[usize::from(c)]
}

/// Candidates of one text, before overlaps are resolved.
pub(crate) struct Sink<'a> {
    pub out: &'a mut Vec<Finding>,
    pub learned: Vec<(usize, usize, KindId)>,
}

impl Sink<'_> {
    fn push(&mut self, start: usize, end: usize, kind: KindId) {
        if start < end {
            self.out.push(Finding { start, end, kind });
        }
    }
}

impl Detector {
    /// Appends the candidates of `text` to `sink` (no percent decoding, no known values).
    pub(crate) fn collect(&self, text: &str, key: Option<&str>, sink: &mut Sink<'_>) {
        let b = text.as_bytes();
        if let Some(key) = key {
            self.keyed_value(b, key.as_bytes(), sink);
        }
        let version_key = key.is_some_and(|k| k.to_ascii_lowercase().contains("version"));
        let mut i = 0;
        while let Some(off) = slice(b, i, b.len()).iter().position(|c| class(*c) != NONE) {
            let p = i + off;
            let c = at(b, p);
            i = match class(c) {
                DIGIT | UPPER if is_alnum(before(b, p)) => p + run(b, p, is_alnum),
                DIGIT => self.at_digit(b, p, version_key, sink),
                UPPER => match creds::credential_at(b, p) {
                    Some((end, kind)) => self.take(sink, p, end, kind),
                    None => p + run(b, p, is_alnum),
                },
                HYPHEN => self.at_hyphen(b, p, sink),
                COLON => self.at_colon(b, p, sink),
                DOT => self.at_dot(b, p, sink),
                EQUALS => self.at_separator(b, p, sink),
                SLASH => self.at_slash(b, p, sink),
                _ => self.at_underscore(b, p, sink),
            }
            .max(p + 1);
        }
        if self.secrets_near_keys {
            let keys: Vec<(usize, usize)> = sink
                .out
                .iter()
                .filter(|f| f.kind == ACCESS_KEY)
                .map(|f| (f.start, f.end))
                .collect();
            let mut found = Vec::new();
            for (s, e) in keys {
                creds::secrets_near(b, s, e, 256, &mut found);
            }
            for (s, e, kind) in found {
                sink.push(s, e, kind);
                sink.learned.push((s, e, kind));
            }
        }
    }

    fn take(&self, sink: &mut Sink<'_>, start: usize, end: usize, kind: KindId) -> usize {
        sink.push(start, end, kind);
        end
    }

    fn keyed_value(&self, b: &[u8], key: &[u8], sink: &mut Sink<'_>) {
        let Some(rule) = keyed::rule_for_key(key) else {
            return;
        };
        let v = run(b, 0, |c| c == b' ');
        if rule == Rule::Account {
            let n = run(b, v, |c| c.is_ascii_digit());
            if v + n == b.len() && keyed::integer_account(slice(b, v, v + n)) {
                sink.push(v, v + n, ACCOUNT);
                sink.learned.push((v, v + n, ACCOUNT));
                return;
            }
        }
        if let Some((end, kind)) = keyed::value_at(b, v, rule) {
            sink.push(v, end, kind);
            sink.learned.push((v, end, kind));
        }
    }

    fn at_digit(&self, b: &[u8], d: usize, version_key: bool, sink: &mut Sink<'_>) -> usize {
        let n = run(b, d, |c| c.is_ascii_digit());
        if n <= 3 && at(b, d + n) == b'.' {
            if let Some((end, kind)) = ip::ipv4_at(b, d, version_key) {
                return self.take(sink, d, end, kind);
            }
        }
        if let Some(end) = keyed::account_at(b, d) {
            if keyed::account_context(b, d) {
                sink.learned.push((d, end, ACCOUNT));
                return self.take(sink, d, end, ACCOUNT);
            }
            if self.bare_account_ids && end == d + 12 {
                return self.take(sink, d, end, ACCOUNT);
            }
            return end;
        }
        // An account written as a JSON number that lost its leading zeros.
        if (9..12).contains(&n) && !is_alnum(at(b, d + n)) {
            let sep = run_back(b, d, 4, |c| c == b' ');
            if before(b, sep) == b':' && keyed::account_context(b, d) {
                sink.learned.push((d, d + n, ACCOUNT));
                return self.take(sink, d, d + n, ACCOUNT);
            }
        }
        d + run(b, d, is_alnum)
    }

    fn at_hyphen(&self, b: &[u8], h: usize, sink: &mut Sink<'_>) -> usize {
        if let Some((start, end, kind)) = ids::at_hyphen(b, h) {
            return self.take(sink, start, end, kind);
        }
        // `--bucket name` on a command line.
        if at(b, h + 1) == b'-' && eq_ic(b, h + 2, b"bucket") && !is_alnum(before(b, h)) {
            let mut v = h + 8;
            let gap = run(b, v, |c| c == b' ' || c == b'=');
            if gap > 0 {
                v += gap;
                if let Some((end, kind)) = keyed::value_at(b, v, Rule::Bucket) {
                    sink.learned.push((v, end, kind));
                    return self.take(sink, v, end, kind);
                }
            }
        }
        h + 1
    }

    fn at_colon(&self, b: &[u8], i: usize, sink: &mut Sink<'_>) -> usize {
        let prev = before(b, i);
        if (prev == b'n' || prev == b'N') && i >= 3 {
            if let Some(found) = arn::arn_at(b, i - 3) {
                for (s, e, kind) in found.learned.into_iter().flatten() {
                    sink.learned.push((s, e, kind));
                }
                if let Some(kind) = found.kind {
                    sink.push(i - 3, found.end, kind);
                }
                return found.end;
            }
        }
        if prev == b'3' && i >= 2 && eq_ic(b, i - 2, b"s3://") && !is_alnum(before(b, i - 2)) {
            if let Some(end) = self.s3_uri(b, i - 2, sink) {
                return end;
            }
        }
        let next = at(b, i + 1);
        if prev.is_ascii_hexdigit() || prev == b':' || next.is_ascii_hexdigit() || next == b':' {
            if let Some((start, end, kind)) = ip::ipv6_around(b, i) {
                return self.take(sink, start, end, kind);
            }
        }
        self.at_separator(b, i, sink)
    }

    fn s3_uri(&self, b: &[u8], s: usize, sink: &mut Sink<'_>) -> Option<usize> {
        let v = s + 5;
        let n = run(b, v, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-'
        });
        let bucket = slice(b, v, v + n);
        let next = at(b, v + n);
        if !keyed::is_bucket_name(bucket) || is_alnum(next) || next == b'_' {
            return None;
        }
        let mut end = v + n;
        if next == b'/' {
            end += b.get(end..).map_or(0, |r| {
                r.iter()
                    .take_while(|c| {
                        **c > b' '
                            && !matches!(**c, b'"' | b'\'' | b'`' | b'\\' | b'<' | b'>' | 0x7f)
                    })
                    .count()
            });
            while end > v + n && matches!(at(b, end - 1), b'.' | b',' | b';' | b')') {
                end -= 1;
            }
        }
        sink.learned.push((v, v + n, BUCKET));
        sink.push(s, end, S3_URI);
        Some(end)
    }

    fn at_separator(&self, b: &[u8], s: usize, sink: &mut Sink<'_>) -> usize {
        match keyed::keyed_after_separator(b, s) {
            Some((v, end, kind, _)) => {
                sink.learned.push((v, end, kind));
                self.take(sink, v, end, kind)
            }
            None => s + 1,
        }
    }

    fn at_dot(&self, b: &[u8], dot: usize, sink: &mut Sink<'_>) -> usize {
        let Some(host) = hosts::host_at_dot(b, dot) else {
            return dot + 1;
        };
        if let Some((s, e, kind)) = host.learned {
            sink.learned.push((s, e, kind));
        }
        if let Some(kind) = host.kind {
            sink.push(host.start, host.end, kind);
        }
        host.end
    }

    fn at_slash(&self, b: &[u8], s: usize, sink: &mut Sink<'_>) -> usize {
        let word_start = run_back(b, s, 10, |c| c.is_ascii_alphanumeric());
        if is_alnum(before(b, word_start)) {
            return s + 1;
        }
        let word = slice(b, word_start, s);
        if word.eq_ignore_ascii_case(b"alias") {
            if let Some(end) = keyed::alias_at(b, word_start) {
                return self.take(sink, word_start, end, KMS_ALIAS);
            }
        } else if word.eq_ignore_ascii_case(b"hostedzone") {
            if let Some((end, kind)) = keyed::value_at(b, s + 1, Rule::HostedZone) {
                sink.learned.push((s + 1, end, kind));
                return self.take(sink, s + 1, end, kind);
            }
        } else if word.eq_ignore_ascii_case(b"restapis") {
            let n = run(b, s + 1, |c| c.is_ascii_lowercase() || c.is_ascii_digit());
            if n == 10 && !is_alnum(at(b, s + 11)) {
                sink.learned.push((s + 1, s + 11, APIGW));
                return self.take(sink, s + 1, s + 11, APIGW);
            }
        }
        s + 1
    }

    /// Cognito user pool: `<region>_<id>`.
    fn at_underscore(&self, b: &[u8], u: usize, sink: &mut Sink<'_>) -> usize {
        if !before(b, u).is_ascii_digit() {
            return u + 1;
        }
        let start = run_back(b, u, 20, |c| is_alnum(c) || c == b'-');
        let n = run(b, u + 1, is_alnum);
        let ok = !is_alnum(before(b, start))
            && ip_free(slice(b, start, u))
            && (1..=55).contains(&n)
            && at(b, u + 1 + n) != b'_'
            && super::bytes::is_region(slice(b, start, u));
        if ok {
            return self.take(sink, start, u + 1 + n, COGNITO_POOL);
        }
        u + 1
    }
}

fn ip_free(s: &[u8]) -> bool {
    !all(s, |c| c.is_ascii_digit())
}
