//! The single left-to-right pass finds the few bytes that can anchor an identifier (`-`,
//! `:`, `.`, `=`, `|`, `>`, `/`, `_`, and `A`/`I`/`F` at a word start), sixteen bytes at a
//! time with comparisons the compiler turns into vector instructions, and a 256-entry table
//! classifies each; each anchor runs a hand-written matcher, and a match resumes the pass
//! after its end, so no rule runs inside an identifier already found. Digits are not anchors (they are too
//! common): addresses anchor on their dots, accounts on the key or label before them.

use super::bytes::{all, at, before, eq_ic, is_alnum, run, run_back, slice};
use super::keyed::{self, KeyInfo, Rule};
use super::kinds::*;
use super::{arn, creds, hosts, ids, ip, Detector, Finding, KindId};
use crate::words::{block_bits, padded};

const NONE: u8 = 0;
const HYPHEN: u8 = 2;
const COLON: u8 = 3;
const DOT: u8 = 4;
const EQUALS: u8 = 5;
const SLASH: u8 = 6;
const UNDERSCORE: u8 = 7;
const UPPER: u8 = 8;

const CLASS: [u8; 256] = {
    let mut t = [NONE; 256];
    t[b'-' as usize] = HYPHEN;
    t[b':' as usize] = COLON;
    t[b'.' as usize] = DOT;
    t[b'=' as usize] = EQUALS;
    t[b'|' as usize] = EQUALS;
    t[b'>' as usize] = EQUALS;
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

/// True for the anchor bytes of [`CLASS`], with comparisons rather than the table: a loop of
/// these over a block compiles to vector instructions (SSE2 natively, simd128 in wasm).
#[inline(always)]
fn is_anchor(c: u8) -> bool {
    // `-`, `.` and `/` are consecutive.
    (c.wrapping_sub(b'-') < 3)
        | (c == b':')
        | (c == b'=')
        | (c == b'|')
        | (c == b'>')
        | (c == b'_')
        | (c == b'A')
        | (c == b'F')
        | (c == b'I')
}

/// The anchor bytes of a 16-byte block, as bits (bit k for byte k).
#[inline(always)]
fn anchor_bits(block: &[u8; 16]) -> u32 {
    block_bits(block, is_anchor)
}

/// Cheap necessary conditions of each matcher, checked before leaving the search loop: most
/// anchors (sentence dots, hyphens between words, JSON colons after unrelated keys) stop
/// here. Each must accept everything its matcher could match.
#[inline(always)]
fn worth(b: &[u8], p: usize) -> bool {
    let prev = before(b, p);
    let next = at(b, p + 1);
    match class(at(b, p)) {
        HYPHEN => {
            ids::may_end_prefix(b, p)
                || (prev.is_ascii_digit() && at(b, p + 5) == b'-')
                || next == b'-'
        }
        DOT => {
            (prev.is_ascii_digit() && next.is_ascii_digit())
                || matches!(next.to_ascii_lowercase(), b'a' | b'c' | b'e' | b'o' | b's')
        }
        COLON => {
            matches!(prev, b'n' | b'N' | b'3' | b':')
                || prev.is_ascii_hexdigit()
                || next.is_ascii_hexdigit()
                || next == b':'
                || keyed::may_follow_key(b, p)
        }
        EQUALS => keyed::may_follow_key(b, p),
        SLASH => matches!(prev, b's' | b'S' | b'e' | b'E'),
        UNDERSCORE => prev.is_ascii_digit(),
        _ => !is_alnum(prev) && (creds::may_start(next) || creds::may_start_marked(b, p)),
    }
}

/// Position of the first anchor byte at or after `from` that is [`worth`] a matcher (or
/// `b.len()`). Sixteen bytes at a time: their anchors as a bit mask, then only those bytes.
#[inline]
fn next_anchor(b: &[u8], from: usize) -> usize {
    // The first anchor of `bits` (byte k at `base + k`) that is worth a matcher.
    let first_worth = |mut bits: u32, base: usize| {
        while bits != 0 {
            let p = base + bits.trailing_zeros() as usize;
            if worth(b, p) {
                return Some(p);
            }
            bits &= bits - 1;
        }
        None
    };
    let mut off = from;
    while let Some(Ok(block)) = b.get(off..off + 16).map(<[u8; 16]>::try_from) {
        if let Some(p) = first_worth(anchor_bits(&block), off) {
            return p;
        }
        off += 16;
    }
    let end = b.len();
    if off >= end {
        return end.max(from);
    }
    match end
        .checked_sub(16)
        .and_then(|last| Some((last, <[u8; 16]>::try_from(b.get(last..)?).ok()?)))
    {
        // The last 16 bytes, without those already looked at.
        Some((last, block)) => first_worth(anchor_bits(&block) >> (off - last), off),
        // A text shorter than 16 bytes: byte by byte.
        None => (off..end).find(|&p| class(at(b, p)) != NONE && worth(b, p)),
    }
    .unwrap_or(end)
}

/// Texts shorter than this are searched with plain loops: most strings of a body are keys,
/// ids and short values, where a vectorised searcher's setup costs more than the search.
pub(crate) const SHORT: usize = 64;

/// Candidates of one text, before overlaps are resolved.
pub(crate) struct Sink<'a> {
    pub out: &'a mut Vec<Finding>,
    pub learned: Vec<(usize, usize, KindId)>,
}

impl Sink<'_> {
    pub(crate) fn push(&mut self, start: usize, end: usize, kind: KindId) {
        if start < end {
            self.out.push(Finding { start, end, kind });
        }
    }
}

impl Detector {
    /// True when [`Detector::collect`] and the percent-decoding, escape-decoding and
    /// custom-pattern passes find nothing in `text` under `key`, decided without them: a text
    /// of at most 16 bytes without a `%`, a backslash or an anchor worth a matcher, under a
    /// key without a rule, and no pass that needs none of them (bare accounts, custom
    /// patterns). Known values are the caller's
    /// to check. Most strings of a body (keys, names, states) are such texts: this answers
    /// for them in one vector step, cheaper than the memo.
    #[inline]
    pub(crate) fn plainly_clean(&self, text: &str, key: Option<KeyInfo>) -> bool {
        if key.is_some_and(|k| k.rule.is_some()) || !self.custom.is_empty() || self.bare_account_ids
        {
            return false;
        }
        let b = text.as_bytes();
        let Some(block) = padded(b) else {
            return false;
        };
        // The anchors, `%`s and backslashes of the text, zero-padded (zero is none of them).
        let mut bits = block_bits(&block, |c| is_anchor(c) | (c == b'%') | (c == b'\\'));
        while bits != 0 {
            let p = bits.trailing_zeros() as usize;
            if matches!(at(b, p), b'%' | b'\\') || worth(b, p) {
                return false;
            }
            bits &= bits - 1;
        }
        true
    }

    /// Appends the candidates of `text` to `sink` (no percent decoding, no known values).
    pub(crate) fn collect(&self, text: &str, key: Option<KeyInfo>, sink: &mut Sink<'_>) {
        let b = text.as_bytes();
        let base = sink.out.len();
        if let Some(rule) = key.and_then(|k| k.rule) {
            self.keyed_value(b, rule, sink);
        }
        let version_key = key.is_some_and(|k| k.version);
        let mut i = 0;
        loop {
            let p = next_anchor(b, i);
            if p >= b.len() {
                break;
            }
            let c = at(b, p);
            i = match class(c) {
                UPPER if is_alnum(before(b, p)) => p + run(b, p, is_alnum),
                UPPER => match creds::credential_at(b, p) {
                    Some((end, kind)) => self.take(sink, p, end, kind),
                    None => self.at_capital_word(b, p, sink),
                },
                HYPHEN => self.at_hyphen(b, p, sink),
                COLON => self.at_colon(b, p, sink),
                DOT => self.at_dot(b, p, version_key, sink),
                EQUALS => self.at_separator(b, p, sink),
                SLASH => self.at_slash(b, p, sink),
                _ => self.at_underscore(b, p, sink),
            }
            .max(p + 1);
        }
        if self.bare_account_ids {
            self.bare_accounts(b, sink);
        }
        self.accounts_in_prose(b, sink);
        if self.secrets_near_keys {
            // This text's findings only: `out` may hold those of earlier texts.
            let keys: Vec<(usize, usize)> = sink
                .out
                .get(base..)
                .unwrap_or_default()
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

    fn keyed_value(&self, b: &[u8], rule: Rule, sink: &mut Sink<'_>) {
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

    /// A word starting with a capital anchor that is no credential: `ACCOUNT` may be
    /// followed by accounts (the lowercase `ccount` search of [`Self::accounts_in_prose`]
    /// finds `account` and `Account`).
    fn at_capital_word(&self, b: &[u8], p: usize, sink: &mut Sink<'_>) -> usize {
        let end = p + run(b, p, is_alnum);
        if slice(b, p, p + 7) == b"ACCOUNT" {
            let mut found = Vec::new();
            keyed::accounts_after_word(b, p + 1, &mut found);
            if !found.is_empty() {
                return self.take_all(sink, found);
            }
        }
        end
    }

    /// Accounts after the word `account` in prose, found with one `memmem` pass.
    fn accounts_in_prose(&self, b: &[u8], sink: &mut Sink<'_>) {
        // `account` + a separator + 12 digits: most strings of a body (keys, ids, names)
        // are shorter, and skipping them saves a search setup per string.
        if b.len() < 20 {
            return;
        }
        let mut found = Vec::new();
        if b.len() >= SHORT {
            for p in self.account_word.find_iter(b) {
                keyed::accounts_after_word(b, p, &mut found);
            }
        } else {
            // A searcher's setup costs more than this loop on a short text.
            for (p, w) in b.windows(6).enumerate() {
                if w.first() == Some(&b'c') && w == b"ccount" {
                    keyed::accounts_after_word(b, p, &mut found);
                }
            }
        }
        if !found.is_empty() {
            self.take_all(sink, found);
        }
    }

    /// 12-digit numbers outside any context (opt-in).
    fn bare_accounts(&self, b: &[u8], sink: &mut Sink<'_>) {
        let mut p = 0;
        while let Some(off) = b
            .get(p..)
            .and_then(|r| r.iter().position(u8::is_ascii_digit))
        {
            let d = p + off;
            let n = run(b, d, |c| c.is_ascii_digit());
            if n == 12 && !is_alnum(before(b, d)) && !is_alnum(at(b, d + n)) {
                sink.push(d, d + n, ACCOUNT);
            }
            p = d + n;
        }
    }

    /// Pushes context finds and learns them.
    fn take_all(&self, sink: &mut Sink<'_>, found: Vec<(usize, usize, KindId)>) -> usize {
        let mut end = 0;
        for (s, e, kind) in found {
            sink.push(s, e, kind);
            sink.learned.push((s, e, kind));
            end = e;
        }
        end
    }

    fn at_hyphen(&self, b: &[u8], h: usize, sink: &mut Sink<'_>) -> usize {
        let prev = before(b, h);
        if is_alnum(prev) {
            if let Some((start, end, kind)) = ids::at_hyphen(b, h) {
                if kind == ENI {
                    flow_log_account(b, start, sink);
                }
                return self.take(sink, start, end, kind);
            }
        }
        if prev.is_ascii_digit() {
            // `1234-5678-9012` after an account label.
            let d = h.saturating_sub(4);
            if keyed::account_at(b, d) == Some(d + 14) && keyed::account_context(b, d) {
                return self.take_all(sink, vec![(d, d + 14, ACCOUNT)]);
            }
        } else if at(b, h + 1) == b'-' && !is_alnum(prev) {
            // `--bucket name`, `--owner-ids 111122223333`: the flag is the key.
            let flag_end = h
                + 2
                + run(slice(b, 0, (h + 42).min(b.len())), h + 2, |c| {
                    is_alnum(c) || c == b'-'
                });
            if matches!(at(b, flag_end), b' ' | b'=') {
                let mut found = Vec::new();
                if let Some(end) = keyed::keyed_after_separator(b, flag_end, &mut found) {
                    self.take_all(sink, found);
                    return end;
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
        let mut found = Vec::new();
        match keyed::keyed_after_separator(b, s, &mut found) {
            Some(end) => {
                self.take_all(sink, found);
                end
            }
            None => s + 1,
        }
    }

    fn at_dot(&self, b: &[u8], dot: usize, version_key: bool, sink: &mut Sink<'_>) -> usize {
        if !is_alnum(at(b, dot + 1)) {
            return dot + 1;
        }
        if before(b, dot).is_ascii_digit() && at(b, dot + 1).is_ascii_digit() {
            let d = run_back(b, dot, 4, |c| c.is_ascii_digit());
            if let Some((end, kind)) = ip::ipv4_at(b, d, version_key) {
                return self.take(sink, d, end, kind);
            }
            return dot + 1;
        }
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
        // A word of its own: not the end of a longer name (`lambda_alias/`, `my-alias/`).
        if is_alnum(before(b, word_start)) || matches!(before(b, word_start), b'_' | b'-' | b'.') {
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
        } else if word.eq_ignore_ascii_case(b"awslogs") {
            // The prefix AWS services write logs under (CloudTrail, ELB, VPC flow logs):
            // `AWSLogs/<account>/...`.
            let v = s + 1;
            if keyed::account_at(b, v) == Some(v + 12) && at(b, v + 12) == b'/' {
                return self.take_all(sink, vec![(v, v + 12, ACCOUNT)]);
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

/// A VPC flow log record in the default format names the account before the interface:
/// `2 123456789012 eni-0a1b2c3d4e5f67890 10.0.1.17 ...` (version 2, the account, the ENI at
/// `eni`). The account is pushed and learned.
fn flow_log_account(b: &[u8], eni: usize, sink: &mut Sink<'_>) {
    let Some(a) = eni.checked_sub(13) else {
        return;
    };
    let version = a.checked_sub(2);
    let framed = at(b, eni - 1) == b' '
        && keyed::account_at(b, a) == Some(a + 12)
        && version.is_some_and(|v| {
            slice(b, v, a) == b"2 " && !is_alnum(before(b, v)) && before(b, v) != b'.'
        });
    if framed {
        sink.push(a, a + 12, ACCOUNT);
        sink.learned.push((a, a + 12, ACCOUNT));
    }
}

fn ip_free(s: &[u8]) -> bool {
    !all(s, |c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What [`next_anchor`] must find: the first byte of [`CLASS`] worth a matcher.
    fn next_anchor_bytewise(b: &[u8], from: usize) -> usize {
        (from..b.len())
            .find(|&p| class(at(b, p)) != NONE && worth(b, p))
            .unwrap_or(b.len().max(from))
    }

    #[test]
    fn the_vector_test_of_anchors_is_the_class_table() {
        for c in 0..=u8::MAX {
            assert_eq!(is_anchor(c), class(c) != NONE, "byte {c:#04x}");
            let mut block = [b' '; 16];
            for k in 0..16 {
                block[k] = c;
                let want = if class(c) != NONE { 1 << k } else { 0 };
                assert_eq!(anchor_bits(&block), want, "byte {c:#04x} at {k}");
                block[k] = b' ';
            }
        }
    }

    fn plain(text: &str, key: Option<&str>) -> bool {
        let d = Detector::new(&crate::detect::DetectorConfig::default()).unwrap();
        d.plainly_clean(text, key.map(|k| keyed::key_info(k.as_bytes())))
    }

    #[test]
    fn short_texts_without_worthy_anchors_are_plainly_clean() {
        for text in [
            "",
            "running",
            "InstanceId",
            "t3.micro",
            "us-west-2b",
            "web-server",
        ] {
            assert!(plain(text, None), "{text:?}");
            assert!(plain(text, Some("Name")), "{text:?} under Name");
        }
        let not = [
            ("i-0123456789abcdef", None),
            ("10.0.0.1", None),
            ("50%", None),
            ("x86_64", None),
            ("v2.15.3", None),
            ("AKIAIOSFODNN7EX", None),
            ("seventeen bytes!!", None),
            ("mybucket", Some("Bucket")),
            ("123456789012", Some("AccountId")),
        ];
        for (text, key) in not {
            assert!(!plain(text, key), "{text:?} under {key:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// What the shortcut clears, the passes it skips find nothing in, and learn nothing from.
        #[test]
        fn a_plainly_clean_text_holds_nothing(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "i-", "0123", "abcdef", "vpc-", "10.", "0.1", ".", ":", "-", "%", "%3A", "AK",
                "IA", "arn:", "aws", "s3://", "b", "_", "=", "/", "ec2", ".internal", " ", "é",
                "i%2D", "01234567",
            ]), 0..8),
            key in proptest::sample::select(vec![None, Some("Bucket"), Some("AccountId"),
                Some("Name"), Some("EngineVersion"), Some("aws_secret_access_key")]),
        ) {
            let text: String = pieces.concat();
            let d = Detector::new(&crate::detect::DetectorConfig::default()).unwrap();
            let info = key.map(|k| keyed::key_info(k.as_bytes()));
            if d.plainly_clean(&text, info) {
                let mut known = crate::detect::KnownValues::default();
                let mut out = Vec::new();
                // The whole scan, without the shortcut.
                d.scan_unknown(&text, info, &mut known, &mut out);
                prop_assert!(out.is_empty() && known.is_empty(), "{:?} under {:?}", text, key);
            }
        }

        /// Texts of anchors, near misses and filler, of every length around the block size,
        /// searched from every offset.
        #[test]
        fn next_anchor_finds_what_a_bytewise_search_finds(
            text in proptest::collection::vec(
                proptest::sample::select(b"-.:=|>/_AIFKS3aes0123 xc\xc3\xa9".to_vec()), 0..70),
        ) {
            for from in 0..=text.len() + 1 {
                prop_assert_eq!(next_anchor(&text, from), next_anchor_bytewise(&text, from));
            }
        }
    }
}
