//! Byte-level helpers shared by the matchers. Out-of-range reads give 0, which every
//! matcher treats as a boundary, so no matcher indexes past the text.

/// The byte at `i`, or 0 past the end.
#[inline]
pub(crate) fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// The byte before `i`, or 0 at the start.
#[inline]
pub(crate) fn before(b: &[u8], i: usize) -> u8 {
    match i.checked_sub(1) {
        Some(j) => at(b, j),
        None => 0,
    }
}

#[inline]
pub(crate) fn is_alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

#[inline]
pub(crate) fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

#[inline]
pub(crate) fn is_base64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

/// Length of the run of bytes from `i` that satisfy `pred`.
#[inline]
pub(crate) fn run(b: &[u8], i: usize, pred: impl Fn(u8) -> bool) -> usize {
    b.get(i..)
        .map_or(0, |s| s.iter().take_while(|c| pred(**c)).count())
}

/// Start of the run of bytes ending at `end` (exclusive) that satisfy `pred`, looking back
/// at most `limit` bytes.
#[inline]
pub(crate) fn run_back(b: &[u8], end: usize, limit: usize, pred: impl Fn(u8) -> bool) -> usize {
    let lo = end.saturating_sub(limit);
    let n = b
        .get(lo..end)
        .map_or(0, |s| s.iter().rev().take_while(|c| pred(**c)).count());
    end - n
}

/// True when `b[i..]` starts with `lit` (lowercase ASCII), ignoring ASCII case.
#[inline]
pub(crate) fn eq_ic(b: &[u8], i: usize, lit: &[u8]) -> bool {
    b.get(i..i.saturating_add(lit.len()))
        .is_some_and(|s| s.eq_ignore_ascii_case(lit))
}

/// `b[start..end]`, or empty when out of range.
#[inline]
pub(crate) fn slice(b: &[u8], start: usize, end: usize) -> &[u8] {
    b.get(start..end).unwrap_or(&[])
}

/// True when every byte of `s` satisfies `pred` and there is at least one.
#[inline]
pub(crate) fn all(s: &[u8], pred: impl Fn(u8) -> bool) -> bool {
    !s.is_empty() && s.iter().all(|c| pred(*c))
}

#[inline]
pub(crate) fn any(s: &[u8], pred: impl Fn(u8) -> bool) -> bool {
    s.iter().any(|c| pred(*c))
}

/// Region names of every partition: `(us|eu|ap|sa|ca|me|af|il|mx|cn)-\w+-\d+`, `us-gov-`,
/// `us-iso-`, `us-isob-`, `eu-isoe-`, `us-isof-`, `eusc-de-` (botocore partitions.json).
pub(crate) fn is_region(s: &[u8]) -> bool {
    let mut parts = s.split(|c| *c == b'-');
    let (Some(first), Some(second)) = (parts.next(), parts.next()) else {
        return false;
    };
    let ic = |a: &[u8], lit: &[u8]| a.eq_ignore_ascii_case(lit);
    let (word, number) = match parts.next() {
        Some(third) if ["us", "eu", "eusc"].iter().any(|p| ic(first, p.as_bytes())) => {
            let inner = ["gov", "iso", "isob", "isoe", "isof", "de"]
                .iter()
                .any(|p| ic(second, p.as_bytes()));
            match parts.next() {
                Some(fourth) if inner => (third, fourth),
                None if !ic(first, b"eusc") => (second, third),
                _ => return false,
            }
        }
        Some(third) => {
            let known = ["ap", "sa", "ca", "me", "af", "il", "mx", "cn"]
                .iter()
                .any(|p| ic(first, p.as_bytes()));
            if !known {
                return false;
            }
            (second, third)
        }
        None => return false,
    };
    parts.next().is_none()
        && all(word, |c| c.is_ascii_alphabetic())
        && all(number, |c| c.is_ascii_digit())
}

/// Lowercase ASCII copy of `s` with `_` and `-` removed, for comparing JSON keys and labels.
pub(crate) fn normalize_key(s: &[u8], out: &mut [u8; 48]) -> usize {
    let mut n = 0;
    for c in s.iter().filter(|c| **c != b'_' && **c != b'-') {
        if let Some(slot) = out.get_mut(n) {
            *slot = c.to_ascii_lowercase();
            n += 1;
        } else {
            return 0;
        }
    }
    n
}
