//! Percent-encoded runs (`arn%3Aaws%3Aiam...`, presigned URL query values): each run is
//! decoded, scanned, and every match is mapped back to the encoded span that covers it.
//! Only escapes of ASCII bytes are decoded, so the decoded text is valid UTF-8 whenever the
//! input is, and every mapped boundary falls on a character boundary of the input.

use super::bytes::{at, is_hex, slice};

/// A decoded run: `text`, and for each decoded byte (plus one past the end) its offset in
/// the encoded run.
pub(crate) struct Decoded {
    pub start: usize,
    pub text: String,
    pub map: Vec<usize>,
}

impl Decoded {
    /// The encoded span of the decoded span `start..end`.
    pub(crate) fn encoded(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        Some((
            self.start + *self.map.get(start)?,
            self.start + *self.map.get(end)?,
        ))
    }
}

fn is_url_byte(c: u8) -> bool {
    c > b' '
        && !matches!(
            c,
            b'"' | b'\'' | b'<' | b'>' | b'\\' | b'`' | b'{' | b'}' | b'|' | b'^' | 0x7f
        )
}

fn hex_value(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// True when `%` at `p` starts an escape of an ASCII byte.
fn ascii_escape(b: &[u8], p: usize) -> bool {
    at(b, p) == b'%' && is_hex(at(b, p + 1)) && is_hex(at(b, p + 2)) && at(b, p + 1) <= b'7'
}

/// Every run of URL bytes holding at least one ASCII escape, decoded.
pub(crate) fn decoded_runs(text: &str) -> Vec<Decoded> {
    let b = text.as_bytes();
    let mut runs = Vec::new();
    let mut from = 0;
    for p in memchr::memchr_iter(b'%', b) {
        if p < from || !ascii_escape(b, p) {
            continue;
        }
        let lo = slice(b, 0, p)
            .iter()
            .rev()
            .take_while(|c| is_url_byte(**c))
            .count();
        let start = p - lo;
        let end = p + slice(b, p, b.len())
            .iter()
            .take_while(|c| is_url_byte(**c))
            .count();
        let enc = slice(b, start, end);
        let mut out = Vec::with_capacity(enc.len());
        let mut map = Vec::with_capacity(enc.len() + 1);
        let mut q = 0;
        while q < enc.len() {
            map.push(q);
            if ascii_escape(enc, q) {
                out.push(hex_value(at(enc, q + 1)) * 16 + hex_value(at(enc, q + 2)));
                q += 3;
            } else {
                out.push(at(enc, q));
                q += 1;
            }
        }
        map.push(enc.len());
        if let Ok(text) = String::from_utf8(out) {
            runs.push(Decoded { start, text, map });
        }
        from = end;
    }
    runs
}
