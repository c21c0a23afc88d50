//! IPv4 and IPv6 addresses. IPv4 is anchored on its first digit, IPv6 on a `:`, and both
//! are parsed strictly: four octets in 0-255 without leading zeros, or `std::net::Ipv6Addr`.
//! A CIDR suffix `/n` is never part of the span, so an address masks the same way with or
//! without it.

use std::net::Ipv6Addr;

use super::bytes::{any, at, before, is_alnum, is_hex, run, run_back, slice};
use super::kinds::{IPV6, PRIVATE_IP, PUBLIC_IP};
use super::KindId;

/// The IPv4 address starting at `d` (a digit not preceded by an alphanumeric), if any.
pub(crate) fn ipv4_at(b: &[u8], d: usize, version_context: bool) -> Option<(usize, KindId)> {
    let prev = before(b, d);
    if is_alnum(prev) || (prev == b'.' && before(b, d.saturating_sub(1)).is_ascii_digit()) {
        return None;
    }
    let mut octets = [0u32; 4];
    let mut p = d;
    for (k, octet) in octets.iter_mut().enumerate() {
        if k > 0 {
            if at(b, p) != b'.' {
                return None;
            }
            p += 1;
        }
        let n = run(b, p, |c| c.is_ascii_digit());
        if n == 0 || n > 3 || (n > 1 && at(b, p) == b'0') {
            return None;
        }
        *octet = slice(b, p, p + n)
            .iter()
            .fold(0, |acc, c| acc * 10 + u32::from(c - b'0'));
        if *octet > 255 {
            return None;
        }
        p += n;
    }
    // A fifth dotted number makes it a version string, not an address.
    if is_alnum(at(b, p)) || (at(b, p) == b'.' && at(b, p + 1).is_ascii_digit()) {
        return None;
    }
    let [a, b1, _, _] = octets;
    let private = a == 10
        || (a == 172 && (16..32).contains(&b1))
        || (a == 192 && b1 == 168)
        || (a == 100 && (64..128).contains(&b1));
    if private {
        return Some((p, PRIVATE_IP));
    }
    let reserved = a == 0 || a == 127 || (a == 169 && b1 == 254) || a >= 224;
    // `1.2.3.4`-like strings are versions far more often than addresses.
    // So is a value that starts with one under a key that names a version (the walker's key
    // of a JSON string, or a textual `"version_name": "1.0.2.94"`).
    let versionish = octets.iter().all(|o| *o < 10)
        || (version_context && d == 0)
        || version_key_before(b, d)
        || preceded_by_version(b, d)
        || glued_to_a_name(b, d);
    (!reserved && !versionish).then_some((p, PUBLIC_IP))
}

/// A public-looking dotted quad written as a product's version: glued to its name
/// (`Chrome/124.0.0.0`, `linux-2.6.35.4`, `jdk-17.0.10.7`) or pinned (`Django==4.2.11.1`,
/// `pkg>=3.21.12.1`). The name is a word that starts with a letter and is no part of a host,
/// a path or a dotted name: `ipinfo.io/54.239.28.85`, `/api/hosts/52.1.2.3` and Wireshark's
/// `ip.addr==54.239.28.85` hold addresses. (After a letter, as in `v4.2.77.13`, no address is
/// read at all.)
fn glued_to_a_name(b: &[u8], d: usize) -> bool {
    let op = match before(b, d) {
        b'/' | b'-' | b'_' => d.checked_sub(1),
        b'=' if matches!(before(b, d.saturating_sub(1)), b'=' | b'~' | b'>' | b'<') => {
            d.checked_sub(2)
        }
        _ => None,
    };
    let Some(op) = op else {
        return false;
    };
    let ws = run_back(b, op, 40, |c| is_alnum(c) || c == b'-' || c == b'_');
    ws < op
        && at(b, ws).is_ascii_alphabetic()
        && !matches!(before(b, ws), b'.' | b'/' | b':' | b'@' | b'=')
}

/// True when the value at `d` follows a textual key that names a version: `key": "`,
/// `key: `, `key = "` (blanks and a quote on either side of the separator).
fn version_key_before(b: &[u8], d: usize) -> bool {
    let quote_or_blank = |c: u8| matches!(c, b' ' | b'\t' | b'"' | b'\'');
    let s = run_back(b, d, 8, quote_or_blank);
    if !matches!(before(b, s), b':' | b'=') {
        return false;
    }
    let ke = run_back(b, s - 1, 8, quote_or_blank);
    let ks = run_back(b, ke, 40, |c| is_alnum(c) || c == b'_' || c == b'-');
    super::keyed::names_a_version(slice(b, ks, ke))
}

/// The word `version` ends at most 12 bytes before `d` (`version 4.5.63.2`).
fn preceded_by_version(b: &[u8], d: usize) -> bool {
    (d.saturating_sub(12)..d).any(|i| super::keyed::version_word_at(b, i))
}

/// Code and byte strings that parse as IPv6 but are not written as addresses: compressed
/// forms of one or two groups (`c::B0`, `arr[10::2]`, passwd's `100:102::`, Rust's `F32::`)
/// and eight groups of two hex digits (EUI-64, certificate serials, `keyid:5E:2F:...`).
/// An address written compressed names at least three groups (`2600:1f18::1`), or is a
/// prefix (`2600:1f18::/32`, `cidr`), link-local (`fe80::1`) or ends in IPv4
/// (`::ffff:10.0.0.1`).
fn address_shaped(s: &[u8], compressed: bool, cidr: bool) -> bool {
    let groups = || {
        s.split(|c| *c == b':')
            .filter(|g| !g.is_empty() && !g.contains(&b'.'))
    };
    if compressed {
        let dotted = s.contains(&b'.');
        let lead = s.split(|c| *c == b':').next().unwrap_or_default();
        let named = groups().count();
        dotted || named >= 3 || (cidr && named == 2) || lead.eq_ignore_ascii_case(b"fe80")
    } else {
        !groups().all(|g| g.len() == 2)
    }
}

/// The IPv6 address around the `:` at `i`: its start, end and kind.
pub(crate) fn ipv6_around(b: &[u8], i: usize) -> Option<(usize, usize, KindId)> {
    let is_v6 = |c: u8| is_hex(c) || c == b':';
    let lo = i.saturating_sub(40);
    let left = slice(b, lo, i)
        .iter()
        .rev()
        .take_while(|c| is_v6(**c))
        .count();
    let mut start = i - left;
    if is_alnum(before(b, start)) {
        // A label glued to the address by a colon (`ip6:2600:1f18::/32`, `addr:fe80::1`):
        // the run back took the label's last hex letters and its colon; the address starts
        // after that colon.
        let colon = slice(b, start, i).iter().position(|c| *c == b':')?;
        start += colon + 1;
        if at(b, start) == b':' {
            return None;
        }
    }
    let prev = before(b, start);
    let label_colon = prev == b':' && is_alnum(before(b, start - 1));
    if (is_alnum(prev) || matches!(prev, b'.' | b'_' | b'-' | b'/')) && !label_colon {
        return None;
    }
    // The longest IPv6 text is 45 bytes; looking further would make runs of colons quadratic.
    let mut end = i + run(slice(b, 0, (i + 46).min(b.len())), i, |c| {
        is_v6(c) || c == b'.'
    });
    while end > i + 1
        && matches!(at(b, end - 1), b'.' | b':')
        && !(at(b, end - 1) == b':' && at(b, end - 2) == b':')
    {
        end -= 1;
    }
    if is_alnum(at(b, end)) || at(b, end) == b'_' {
        return None;
    }
    let s = slice(b, start, end);
    let colons = s.iter().filter(|c| **c == b':').count();
    let compressed = s.windows(2).any(|w| w == b"::");
    if !(compressed || colons == 7)
        || !any(s, |c| c.is_ascii_digit())
        || s.iter().filter(|c| is_hex(**c)).count() < 3
        || !address_shaped(
            s,
            compressed,
            at(b, end) == b'/' && at(b, end + 1).is_ascii_digit(),
        )
    {
        return None;
    }
    let addr: Ipv6Addr = std::str::from_utf8(s).ok()?.parse().ok()?;
    let fixed = addr.is_loopback()
        || addr.is_unspecified()
        || [0x254u16, 0x253, 0x123]
            .iter()
            .any(|last| addr.segments() == [0xfd00, 0xec2, 0, 0, 0, 0, 0, *last]);
    (!fixed).then_some((start, end, IPV6))
}
