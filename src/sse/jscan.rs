//! Just enough JSON scanning to find the byte span of a member's value without decoding the
//! rest: SSE events that need a change are re-emitted with only that span replaced.

use std::ops::Range;

pub(super) fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// With `b[i] == '"'`, the index just past the closing quote.
pub(super) fn string_end(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    // Keys and delta texts are short: eight bytes at a time beats a vectorised search's
    // setup here.
    let mut j = i + 1;
    loop {
        j = quote_or_backslash(b, j);
        match b.get(j)? {
            b'"' => return Some(j + 1),
            _ => j += 2,
        }
    }
}

/// The offset of the first `"` or `\` at or after `i` (or `b.len()`).
#[inline]
fn quote_or_backslash(b: &[u8], i: usize) -> usize {
    find2(b, i, b'"', b'\\')
}

/// The offset of the first `x` or `y` at or after `i` (or `b.len()`), eight bytes at a
/// time: the texts of an event stream are a few bytes long, where a vectorised search
/// spends more on its setup than on the search.
#[inline]
pub(super) fn find2(b: &[u8], mut i: usize, x: u8, y: u8) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Zero bytes of `w`, as high bits; the lowest one flagged is always a true zero.
    let zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGHS;
    while let Some(Ok(word)) = b.get(i..i + 8).map(<[u8; 8]>::try_from) {
        let w = u64::from_le_bytes(word);
        let hits = zero(w ^ (ONES * u64::from(x))) | zero(w ^ (ONES * u64::from(y)));
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == x || c == y {
            return i;
        }
        i += 1;
    }
    i
}

/// The index just past the value starting at `i`.
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let n = b
                .get(i..)?
                .iter()
                .take_while(|c| !matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .count();
            (n > 0).then_some(i + n)
        }
    }
}

/// Calls `f(raw key, value span)` for each member of the object starting at `start` (after
/// optional whitespace); returns the index just past the object, or `None` if it is malformed.
/// Keys are compared raw: an escaped key never equals a plain one.
pub(super) fn members(
    b: &[u8],
    start: usize,
    mut f: impl FnMut(&[u8], Range<usize>),
) -> Option<usize> {
    let mut i = skip_ws(b, start);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Some(i + 1);
    }
    loop {
        let key_end = string_end(b, i)?;
        let key = b.get(i + 1..key_end - 1)?;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let end = value_end(b, i)?;
        f(key, i..end);
        i = skip_ws(b, end);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b'}' => return Some(i + 1),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(s: &str) -> Option<Vec<(String, String)>> {
        let mut v = Vec::new();
        let end = members(s.as_bytes(), 0, |k, r| {
            v.push((String::from_utf8(k.to_vec()).unwrap(), s[r].to_owned()))
        })?;
        (skip_ws(s.as_bytes(), end) == s.len()).then_some(v)
    }

    #[test]
    fn spans() {
        let got = collect(r#" { "a" : "x\"}" , "b":{"c":[1,"]"]},"d":12 ,"e":true}"#).unwrap();
        let want = [
            ("a", r#""x\"}""#),
            ("b", r#"{"c":[1,"]"]}"#),
            ("d", "12"),
            ("e", "true"),
        ];
        assert_eq!(got.len(), want.len());
        for ((k, v), (wk, wv)) in got.iter().zip(want) {
            assert_eq!((k.as_str(), v.as_str()), (wk, wv));
        }
        assert_eq!(collect("{}").unwrap().len(), 0);
    }

    #[test]
    fn malformed() {
        for s in [
            r#"{"a":"x"#,
            r#"{"a" "x"}"#,
            r#"{"a":}"#,
            r#"["a"]"#,
            r#"{"a":{"b":1}"#,
            "",
            r#"{"a":1"#,
            r#"{"a":"\"#,
        ] {
            assert!(collect(s).is_none(), "{s}");
        }
    }

    /// `string_end` byte by byte, as it was written before it read words.
    fn naive_end(b: &[u8], i: usize) -> Option<usize> {
        let mut j = i + 1;
        loop {
            match b.get(j)? {
                b'"' => return Some(j + 1),
                b'\\' => j += 2,
                _ => j += 1,
            }
        }
    }

    #[test]
    fn find2_finds_the_first_of_either_byte_wherever_it_is() {
        for len in 0..20 {
            // Bytes next to the ones sought (and high ones) around them.
            let plain: Vec<u8> = (0..len).map(|k| [b'@', b'B', 0xc3, b'['][k % 4]).collect();
            assert_eq!(find2(&plain, 0, b'A', b'\\'), len);
            for at in 0..len {
                for sought in [b'A', b'\\'] {
                    let mut b = plain.clone();
                    b[at] = sought;
                    assert_eq!(find2(&b, 0, b'A', b'\\'), at, "{b:?}");
                    assert_eq!(find2(&b, at, b'A', b'\\'), at);
                    assert_eq!(find2(&b, at + 1, b'A', b'\\'), len);
                    // A second hit after the first does not hide it.
                    b.push(b'A');
                    assert_eq!(find2(&b, 0, b'A', b'\\'), at);
                }
            }
        }
    }

    #[test]
    fn string_end_finds_the_closing_quote_wherever_it_is() {
        // Every placement of a quote, an escaped quote and an escaped backslash in strings
        // of up to 20 bytes, with multi-byte characters and a missing end.
        let pieces: [&[u8]; 6] = [b"a", b"\\\"", b"\\\\", "é".as_bytes(), b"\"", b"x\\"];
        let mut cases: Vec<Vec<u8>> = vec![b"\"".to_vec()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for case in &cases {
                for p in pieces {
                    let mut c = case.clone();
                    c.extend_from_slice(p);
                    c.extend_from_slice(b"bcdefg"[..(c.len() % 5)].as_ref());
                    next.push(c);
                }
            }
            cases.extend(next);
        }
        assert!(cases.len() > 1000);
        for case in &cases {
            assert_eq!(string_end(case, 0), naive_end(case, 0), "{case:?}");
        }
    }
}
