//! Credentials with a known prefix: access key IDs, IAM unique IDs (with an optional
//! `:session-name`), Bedrock API keys and STS session tokens; and secret access keys found
//! next to an access key ID.

use super::bytes::{any, at, before, is_alnum, is_base64, is_hex, run, slice};
use super::kinds::{ACCESS_KEY, BEDROCK_KEY, IAM_ID, SECRET_KEY, SESSION_TOKEN};
use super::KindId;

const IAM_PREFIXES: &[&[u8; 4]] = &[
    b"ABIA", b"ACCA", b"AGPA", b"AIDA", b"AIPA", b"ANPA", b"ANVA", b"APKA", b"AROA", b"ASCA",
];

/// Start of STS session tokens (trufflehog, botocore examples, older SDK docs).
const TOKEN_PREFIXES: &[&[u8]] = &[
    b"IQoJb3JpZ2luX2Vj",
    b"FwoGZXIvYXdzE",
    b"FQoGZXIvYXdzE",
    b"AQoDYXdzE",
    b"AQoEXAMPLE",
];

fn upper_alnum(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit()
}

/// What follows the first two bytes of an STS session token, whatever they are (its header's
/// first bytes vary: `IQoJ`, `IgoJ`, `IwoJ`, `AgoJ`; `FQoD`, `FwoG`, `AQoD`): the markers
/// trufflehog checks, `Jb3JpZ2luX2Vj` (`origin_ec`) and `YXdz` (`aws`), where they stand.
const TOKEN_MARKERS: &[&[u8]] = &[b"oJb3JpZ2luX2Vj", b"oDYXdzE", b"oGZXIvYXdzE"];

/// A token found by its marker alone must be this long (the catalog's 100 base64 bytes).
const MARKED_TOKEN_MIN: usize = 100;

/// True when `c` can be the second byte of a credential prefix below: most capitals in
/// prose stop here.
#[inline]
pub(crate) fn may_start(c: u8) -> bool {
    matches!(
        c,
        b'K' | b'S' | b'3' | b'B' | b'C' | b'G' | b'I' | b'N' | b'P' | b'R' | b'Q' | b'w'
    )
}

/// True when the bytes at `i` may start a session token found by its marker: every marker
/// starts `oJ`, `oD` or `oG` (checked before leaving the search loop, see `scan::worth`,
/// where capitals starting words are many: `From`, `For`, `If`).
#[inline]
pub(crate) fn may_start_marked(b: &[u8], i: usize) -> bool {
    at(b, i + 2) == b'o' && matches!(at(b, i + 3), b'J' | b'D' | b'G')
}

/// The credential starting at `i` (an `A`, `I` or `F` not preceded by an alphanumeric).
pub(crate) fn credential_at(b: &[u8], i: usize) -> Option<(usize, KindId)> {
    let head = slice(b, i, i + 4);
    if head.len() < 4 {
        return None;
    }
    if let Some(prefix) = TOKEN_PREFIXES
        .iter()
        .find(|p| slice(b, i, i + p.len()) == **p)
    {
        let n = run(b, i, |c| is_base64(c) || c == b'=' || c == b'%');
        return (n >= prefix.len() + 16).then_some((i + n, SESSION_TOKEN));
    }
    if is_base64(at(b, i + 1))
        && TOKEN_MARKERS
            .iter()
            .any(|m| slice(b, i + 2, i + 2 + m.len()) == *m)
    {
        let n = run(b, i, |c| is_base64(c) || c == b'=' || c == b'%');
        return (n >= MARKED_TOKEN_MIN).then_some((i + n, SESSION_TOKEN));
    }
    if !head.get(1).is_some_and(|c| may_start(*c)) {
        return None;
    }
    if head == b"ABSK" {
        let n = run(b, i + 4, is_base64);
        let pad = run(b, i + 4 + n, |c| c == b'=').min(2);
        let ok = (109..=269).contains(&n) && !is_base64(at(b, i + 4 + n + pad));
        return ok.then_some((i + 4 + n + pad, BEDROCK_KEY));
    }
    let access = head == b"AKIA"
        || head == b"ASIA"
        || (slice(b, i, i + 3) == b"A3T" && upper_alnum(at(b, i + 3)));
    let iam = IAM_PREFIXES.iter().any(|p| head == *p);
    if !access && !iam {
        return None;
    }
    let n = run(b, i + 4, upper_alnum);
    let ok = if access { n == 16 } else { n == 16 || n == 17 };
    if !ok || is_alnum(at(b, i + 4 + n)) {
        return None;
    }
    let end = i + 4 + n;
    // `AROA...:session-name` is one user ID.
    if at(b, end) == b':' {
        let s = run(b, end + 1, |c| {
            is_alnum(c) || matches!(c, b'_' | b'+' | b'=' | b',' | b'.' | b'@' | b'-')
        });
        let mut e = end + 1 + s;
        while e > end + 1 && matches!(at(b, e - 1), b'.' | b',') {
            e -= 1;
        }
        if e > end + 1 {
            return Some((e, IAM_ID));
        }
    }
    Some((end, if access { ACCESS_KEY } else { IAM_ID }))
}

/// A 40-character secret access key within `window` bytes of an access key at `start..end`.
pub(crate) fn secrets_near(
    b: &[u8],
    start: usize,
    end: usize,
    window: usize,
    out: &mut Vec<(usize, usize, KindId)>,
) {
    let lo = start.saturating_sub(window);
    let hi = end.saturating_add(window).min(b.len());
    let mut p = lo;
    while p < hi {
        let c = at(b, p);
        if !is_base64(c) {
            p += 1;
            continue;
        }
        let n = run(b, p, is_base64);
        let tok = slice(b, p, p + n);
        // After `=` only as a value (`secret=...`): `==` or a base64 byte before it means
        // the tail of a longer, padded token.
        let after_equals = before(b, p) == b'=';
        let valued = after_equals && p >= 1 && {
            let k = before(b, p - 1);
            is_alnum(k) || k == b'_'
        };
        let bounded = !is_base64(before(b, p)) && (!after_equals || valued) && at(b, p + n) != b'=';
        let mixed = any(tok, |c| c.is_ascii_uppercase()) && any(tok, |c| c.is_ascii_lowercase());
        if n == 40 && bounded && mixed && !tok.iter().all(|c| is_hex(*c)) {
            out.push((p, p + n, SECRET_KEY));
        }
        p += n.max(1);
    }
}
