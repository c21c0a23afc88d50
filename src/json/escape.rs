//! JSON string escapes: validation, decoding, and the map from decoded offsets back to raw ones.
//!
//! ```
//! use aws_masker::json::{decode_into, EscapeMap};
//!
//! let raw = r#"i\u002d0b26\/x"#;
//! let (mut text, mut map) = (String::new(), EscapeMap::default());
//! decode_into(raw, &mut text, &mut map);
//! assert_eq!(text, "i-0b26/x");
//! // "-0b26" in the decoded text covers the whole `\u002d` escape in the raw text.
//! assert_eq!(map.start(1)..map.end(6), 1..11);
//! ```

/// One escape sequence: it is `raw_len` bytes at `raw` in the raw text and decodes to
/// `dec_len` bytes at `dec` in the decoded text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Escape {
    dec: u32,
    raw: u32,
    dec_len: u8,
    raw_len: u8,
}

/// Maps offsets in a decoded string back to its raw (escaped) text. It records only the
/// escapes, so a string with few escapes has a small map.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EscapeMap {
    escapes: Vec<Escape>,
}

impl EscapeMap {
    /// Forgets every escape, keeping the allocation.
    pub fn clear(&mut self) {
        self.escapes.clear();
    }

    /// Number of escapes recorded.
    pub fn len(&self) -> usize {
        self.escapes.len()
    }

    /// True when the string had no escape.
    pub fn is_empty(&self) -> bool {
        self.escapes.is_empty()
    }

    /// The raw offset of a range starting at decoded offset `dec`. A start inside the output
    /// of an escape moves to the start of that escape.
    pub fn start(&self, dec: usize) -> usize {
        self.map(dec, false)
    }

    /// The raw offset of a range ending at decoded offset `dec`. An end inside the output of an
    /// escape moves to the end of that escape.
    pub fn end(&self, dec: usize) -> usize {
        self.map(dec, true)
    }

    fn map(&self, dec: usize, widen_right: bool) -> usize {
        let at = self.escapes.partition_point(|e| e.dec as usize <= dec);
        let Some(e) = at.checked_sub(1).and_then(|i| self.escapes.get(i)) else {
            return dec;
        };
        let (e_dec, e_raw) = (e.dec as usize, e.raw as usize);
        let dec_end = e_dec + usize::from(e.dec_len);
        let raw_end = e_raw + usize::from(e.raw_len);
        if dec == e_dec {
            e_raw
        } else if dec < dec_end {
            if widen_right {
                raw_end
            } else {
                e_raw
            }
        } else {
            raw_end + (dec - dec_end)
        }
    }

    fn push(&mut self, dec: usize, raw: usize, dec_len: usize, raw_len: usize) {
        // Offsets fit: documents are shorter than `tape::MAX_LEN`; an escape is at most 12
        // raw bytes and decodes to at most 4.
        self.escapes.push(Escape {
            dec: dec as u32,
            raw: raw as u32,
            dec_len: dec_len as u8,
            raw_len: raw_len as u8,
        });
    }
}

/// Reads the escape sequence that starts with the backslash at `bytes[at]`. Returns the
/// character and the length of the sequence, or what is wrong with it.
pub(crate) fn read_escape(bytes: &[u8], at: usize) -> Result<(char, usize), &'static str> {
    let simple = match bytes.get(at + 1) {
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'n') => '\n',
        Some(b'r') => '\r',
        Some(b't') => '\t',
        Some(b'u') => return read_unicode(bytes, at),
        Some(_) => return Err("invalid escape"),
        None => return Err("unterminated string"),
    };
    Ok((simple, 2))
}

fn read_unicode(bytes: &[u8], at: usize) -> Result<(char, usize), &'static str> {
    let high = hex4(bytes, at + 2)?;
    match high {
        0xD800..=0xDBFF => {
            let low = match (bytes.get(at + 6), bytes.get(at + 7)) {
                (Some(b'\\'), Some(b'u')) => hex4(bytes, at + 8)?,
                _ => return Err("lone surrogate in \\u escape"),
            };
            if !(0xDC00..=0xDFFF).contains(&low) {
                return Err("lone surrogate in \\u escape");
            }
            let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
            char::from_u32(code)
                .map(|c| (c, 12))
                .ok_or("invalid \\u escape")
        }
        0xDC00..=0xDFFF => Err("lone surrogate in \\u escape"),
        _ => char::from_u32(high)
            .map(|c| (c, 6))
            .ok_or("invalid \\u escape"),
    }
}

fn hex4(bytes: &[u8], at: usize) -> Result<u32, &'static str> {
    let digits = bytes.get(at..at + 4).ok_or("unterminated string")?;
    digits.iter().try_fold(0u32, |acc, b| {
        let d = char::from(*b).to_digit(16).ok_or("invalid \\u escape")?;
        Ok(acc * 16 + d)
    })
}

/// The length of `bytes` up to its first backslash. Escapes cluster, so the first four words
/// are looked at directly before memchr takes over.
#[inline]
fn run_to_backslash(bytes: &[u8]) -> usize {
    for (k, chunk) in bytes.chunks_exact(8).take(4).enumerate() {
        if let Ok(word) = <[u8; 8]>::try_from(chunk) {
            let w = u64::from_le_bytes(word) ^ 0x5c5c_5c5c_5c5c_5c5c;
            let zeros = w.wrapping_sub(0x0101_0101_0101_0101) & !w & 0x8080_8080_8080_8080;
            if zeros != 0 {
                return 8 * k + (zeros.trailing_zeros() / 8) as usize;
            }
        }
    }
    let skipped = (bytes.len() / 8).min(4) * 8;
    let rest = bytes.get(skipped..).unwrap_or_default();
    skipped + memchr::memchr(b'\\', rest).unwrap_or(rest.len())
}

/// Decodes the raw text of a JSON string (between the quotes) into `out`, recording each
/// escape in `map`. Both are cleared first. The raw text must have been validated by the
/// tokenizer; an invalid escape (which validation rules out) decodes to U+FFFD.
pub fn decode_into(raw: &str, out: &mut String, map: &mut EscapeMap) {
    decode(raw, out, map, BadEscape::Replace);
}

/// Like [`decode_into`], for text nobody validated (text that still holds escapes after its
/// string was decoded): a backslash that starts no valid escape (`\É`, `\d`, a lone one at
/// the end) is kept as it is, with no map entry, so offsets after it map back exactly.
pub fn decode_text_into(raw: &str, out: &mut String, map: &mut EscapeMap) {
    decode(raw, out, map, BadEscape::Keep);
}

/// What [`decode`] does with a backslash that starts no valid escape.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BadEscape {
    /// U+FFFD for it and the byte after it (validated input never has one).
    Replace,
    /// The backslash stays, as text.
    Keep,
}

fn decode(raw: &str, out: &mut String, map: &mut EscapeMap, bad: BadEscape) {
    map.clear();
    let bytes = raw.as_bytes();
    // Work on bytes: CLI output carried in a string has an escape every few bytes, and
    // per-escape `push_str` calls cost more than the copying.
    let mut buf = std::mem::take(out).into_bytes();
    buf.clear();
    buf.reserve(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'\\' {
            let run = bytes.get(i..).map_or(0, run_to_backslash).max(1);
            buf.extend_from_slice(bytes.get(i..i + run).unwrap_or_default());
            i += run;
            continue;
        }
        let dec = buf.len();
        let simple = match bytes.get(i + 1) {
            Some(b'"') => Some(b'"'),
            Some(b'\\') => Some(b'\\'),
            Some(b'/') => Some(b'/'),
            Some(b'n') => Some(b'\n'),
            Some(b't') => Some(b'\t'),
            Some(b'r') => Some(b'\r'),
            Some(b'b') => Some(8),
            Some(b'f') => Some(12),
            _ => None,
        };
        let (dec_len, raw_len) = match simple {
            Some(c) => {
                buf.push(c);
                (1, 2)
            }
            None => match read_escape(bytes, i) {
                Err(_) if bad == BadEscape::Keep => {
                    buf.push(b'\\');
                    i += 1;
                    continue;
                }
                read => {
                    let (c, len) = read.unwrap_or(('\u{FFFD}', 2));
                    let mut utf8 = [0; 4];
                    buf.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                    (c.len_utf8(), len)
                }
            },
        };
        map.push(dec, i, dec_len, raw_len);
        i += raw_len;
    }
    // Valid by construction (UTF-8 runs and encoded chars); the fallback never runs.
    *out = String::from_utf8(buf)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
}

/// Appends to `out` the text of the JSON string literal `quoted` (quotes included), or
/// returns `None` (having appended part of it) when `quoted` is not exactly one valid JSON
/// string: bad quotes, an invalid escape, a control character, invalid UTF-8.
pub fn decode_literal(quoted: &[u8], out: &mut Vec<u8>) -> Option<()> {
    read_literal(quoted, |piece| out.extend_from_slice(piece))
}

/// True when `quoted` is exactly one valid JSON string literal (what [`decode_literal`]
/// accepts), without decoding it.
///
/// Streamed text deltas are checked with this one by one: ASCII text with the short escapes
/// (`\n`, `\"`, ...) is checked eight bytes at a time; a `\u` escape or a byte past ASCII
/// sends the literal to the exact reader.
pub fn is_literal(quoted: &[u8]) -> bool {
    let Some(inner) = quoted
        .strip_prefix(b"\"")
        .and_then(|q| q.strip_suffix(b"\""))
    else {
        return false;
    };
    let mut i = 0;
    loop {
        while let Some(Ok(word)) = inner.get(i..i + 8).map(<[u8; 8]>::try_from) {
            let hits = unusual_bytes(u64::from_le_bytes(word));
            if hits != 0 {
                i += (hits.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        match inner.get(i) {
            None => return true,
            Some(b'\\') => match inner.get(i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                _ => break,
            },
            Some(&c) if c == b'"' || c < 0x20 => return false,
            Some(&c) if c >= 0x80 => break,
            Some(_) => i += 1,
        }
    }
    read_literal(quoted, |_| {}).is_some()
}

/// Bytes of `w` that are `"`, `\`, below 0x20 (the tokenizer's special bytes) or past
/// ASCII, as high bits; the lowest one flagged is exact.
#[inline(always)]
fn unusual_bytes(w: u64) -> u64 {
    super::tape::special_bytes(w) | (w & 0x8080_8080_8080_8080)
}

/// Reads the literal `quoted`, handing its decoded text to `out` piece by piece.
fn read_literal(quoted: &[u8], mut out: impl FnMut(&[u8])) -> Option<()> {
    let inner = quoted.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    let b = std::str::from_utf8(inner).ok()?.as_bytes();
    let mut i = 0;
    loop {
        let rest = b.get(i..).unwrap_or_default();
        let run = rest
            .iter()
            .position(|&c| c == b'\\' || c == b'"' || c < 0x20)
            .unwrap_or(rest.len());
        out(rest.get(..run).unwrap_or_default());
        i += run;
        match b.get(i) {
            None => return Some(()),
            Some(b'\\') => {
                let (c, len) = read_escape(b, i).ok()?;
                out(c.encode_utf8(&mut [0; 4]).as_bytes());
                i += len;
            }
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(raw: &str) -> (String, EscapeMap) {
        let (mut s, mut m) = (String::new(), EscapeMap::default());
        decode_into(raw, &mut s, &mut m);
        (s, m)
    }

    #[test]
    fn literals_decode_as_serde_json_does() {
        let good = [
            r#""""#,
            r#""plain""#,
            r#""a\"b\\c\/d\n\t\u00e9\ud83d\ude00 é""#,
            r#""ends with \\""#,
        ];
        for quoted in good {
            let mut out = Vec::new();
            assert_eq!(
                decode_literal(quoted.as_bytes(), &mut out),
                Some(()),
                "{quoted}"
            );
            let want: String = serde_json::from_str(quoted).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), want);
            assert!(is_literal(quoted.as_bytes()), "{quoted}");
        }
        let bad: [&[u8]; 10] = [
            b"",
            b"\"",
            b"plain",
            b"\"open",
            b"\"a\"b\"",
            b"\"bad \\x escape\"",
            b"\"cut \\\"",
            b"\"tab\there\"",
            b"\"\xff\"",
            b"\"\\ud800 lone\"",
        ];
        for quoted in bad {
            assert!(serde_json::from_slice::<String>(quoted).is_err());
            assert_eq!(decode_literal(quoted, &mut Vec::new()), None, "{quoted:?}");
            assert!(!is_literal(quoted), "{quoted:?}");
        }
    }

    proptest::proptest! {
        /// The word-at-a-time check accepts exactly what the exact reader does, on literals
        /// of quotes, backslashes, escape letters, hex digits, control and multi-byte
        /// characters in any order and at any offset from a word boundary.
        #[test]
        fn is_literal_agrees_with_the_exact_reader(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "a", "Z", " ", "\"", "\\", "n", "u", "0", "0041", "d83d", "de00", "\t", "\u{1}",
                "\u{7f}", "é", "😀", "\\n", "\\\"", "\\u", "\\x",
            ]), 0..24),
            quote_first in proptest::bool::ANY,
            quote_last in proptest::bool::ANY,
        ) {
            let mut quoted = Vec::new();
            if quote_first {
                quoted.push(b'"');
            }
            quoted.extend(pieces.concat().bytes());
            if quote_last {
                quoted.push(b'"');
            }
            proptest::prop_assert_eq!(
                is_literal(&quoted),
                read_literal(&quoted, |_| {}).is_some(),
                "{:?}",
                String::from_utf8_lossy(&quoted)
            );
        }
    }

    #[test]
    fn is_literal_checks_every_byte_of_long_ascii_text() {
        let text = "a".repeat(40);
        for at in 0..40 {
            for bad in [b'"', b'\n', 0x01, 0x1f] {
                let mut quoted = format!("\"{text}\"").into_bytes();
                quoted[1 + at] = bad;
                assert!(!is_literal(&quoted), "{bad:#x} at {at}");
            }
            let mut quoted = format!("\"{text}\"").into_bytes();
            quoted[1 + at] = 0xff;
            assert!(!is_literal(&quoted), "0xff at {at}");
            quoted[1 + at] = b'\\';
            assert!(!is_literal(&quoted), "lone backslash at {at}");
        }
        assert!(is_literal(format!("\"{text}\\n{text}\"").as_bytes()));
    }

    #[test]
    fn decodes_every_escape() {
        let table = [
            (r#"plain"#, "plain"),
            (r#"a\"b"#, "a\"b"),
            (r#"a\\b"#, "a\\b"),
            (r#"a\\\\"#, "a\\\\"),
            (r#"\/\b\f\n\r\t"#, "/\u{8}\u{c}\n\r\t"),
            (r#"\u0041\u00e9\u20ac"#, "Aé€"),
            (r#"\ud83d\ude00!"#, "😀!"),
            (r#"\\u0041"#, "\\u0041"),
        ];
        for (raw, want) in table {
            assert_eq!(decode(raw).0, want, "raw {raw}");
        }
    }

    #[test]
    fn offsets_map_back_to_whole_escapes() {
        let raw = r#"ab\ud83d\ude00c\u00e9d"#;
        let (text, m) = decode(raw);
        assert_eq!(text, "ab😀céd");
        assert_eq!(m.len(), 2);
        // Before any escape the offsets are equal.
        assert_eq!((m.start(0), m.end(2)), (0, 2));
        // The emoji (decoded 2..6) is the 12-byte pair at raw 2..14.
        assert_eq!((m.start(2), m.end(6)), (2, 14));
        // 'c' after it.
        assert_eq!((m.start(6), m.end(7)), (14, 15));
        // 'é' (decoded 7..9) is `\u00e9` (raw 15..21); 'd' follows.
        assert_eq!((m.start(7), m.end(9)), (15, 21));
        assert_eq!((m.start(9), m.end(10)), (21, 22));
        // A boundary inside an escape's output widens to the whole escape.
        assert_eq!(m.start(3), 2);
        assert_eq!(m.end(3), 14);
    }

    #[test]
    fn rejects_bad_escapes() {
        let table: [(&str, &str); 7] = [
            (r"\x", "invalid escape"),
            (r"\u12", "unterminated string"),
            (r"\u12g4", "invalid \\u escape"),
            (r"\ud800", "lone surrogate in \\u escape"),
            (r"\ud800\u0041", "lone surrogate in \\u escape"),
            (r"\udc00", "lone surrogate in \\u escape"),
            (r"\", "unterminated string"),
        ];
        for (raw, what) in table {
            assert_eq!(read_escape(raw.as_bytes(), 0), Err(what), "raw {raw}");
        }
    }
}
