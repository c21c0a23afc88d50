//! One validating pass over a JSON document that records its strings and containers on a
//! flat tape, so the walker can look ahead inside an object (a `type` after `data`).
//!
//! Literals and most numbers are validated but not recorded: nothing is done with them. An
//! integer of 9 to 12 digits is recorded (see [`Tok::is_number`]): it may be an account ID
//! that was written as a number. A tape entry is 8 bytes, so the tape of a document is at
//! most about three times its length.

use super::escape::read_escape;
use super::JsonError;

/// The string's raw text holds escapes (or, for a value, an array of numbers: see
/// [`quoted_value`]).
const ESCAPED: u32 = 1 << 31;
const KEY: u32 = 1 << 30;
const CONTAINER: u32 = 1 << 29;
const NUMBER: u32 = 1 << 28;
const OFFSET: u32 = NUMBER - 1;

/// Documents must be shorter than this (offsets share a `u32` with four flags).
pub const MAX_LEN: usize = NUMBER as usize;

/// The integers recorded on the tape have this many digits: an account ID (12 digits) that
/// a tool wrote as a JSON number, having lost up to three leading zeros.
pub const NUMBER_DIGITS: std::ops::RangeInclusive<usize> = 9..=12;

/// A string (the raw text between its quotes is `start..end`), a number (its text is
/// `start..end`) or a container (`start` is the offset of its `{` or `[`, `end` the tape
/// index just past its contents).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tok {
    start: u32,
    end: u32,
}

impl Tok {
    pub(crate) fn start(self) -> usize {
        self.start as usize
    }
    /// String or number: raw end offset. Container: the tape index past its contents.
    pub(crate) fn end(self) -> usize {
        (self.end & OFFSET) as usize
    }
    pub(crate) fn is_container(self) -> bool {
        self.end & CONTAINER != 0
    }
    pub(crate) fn is_key(self) -> bool {
        self.end & KEY != 0
    }
    pub(crate) fn is_escaped(self) -> bool {
        self.end & ESCAPED != 0
    }
    /// An integer of [`NUMBER_DIGITS`] digits (no sign or exponent; a fraction of zeros
    /// at most).
    pub(crate) fn is_number(self) -> bool {
        self.end & NUMBER != 0
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Value,
    FirstKey,
    Key,
    FirstElement,
    AfterValue,
}

/// JSON documents found inside string values while tokenizing.
#[derive(Clone, Debug, Default)]
pub(crate) struct Quoted {
    /// By the raw offset where their string starts: (offset, the document's tape, with
    /// offsets in the whole text).
    pub(crate) docs: Vec<(u32, Vec<Tok>)>,
    /// The tape being read, reused from one string to the next.
    scratch: Vec<Tok>,
}

/// How the tokenized text spells whitespace and strings: as JSON does ([`Plain`]), or as the
/// raw content of a JSON string that holds a JSON document ([`Inline`]).
trait Spelling {
    /// The first byte of a string.
    const QUOTE: u8;
    /// The byte the document ends at (`None`: the end of the text).
    const END: Option<u8>;
    /// String values may hold a document read with them (see [`quoted_value`]).
    const NESTS: bool;
    /// The offset of the first byte at or after `i` that is not whitespace.
    fn skip_ws(b: &[u8], i: usize) -> usize;
    /// Records the string that starts at `at`; returns the offset past its end.
    fn string(b: &[u8], at: usize, flags: u32, tape: &mut Vec<Tok>) -> Result<usize, JsonError>;
}

/// JSON as it is.
struct Plain;

impl Spelling for Plain {
    const QUOTE: u8 = b'"';
    const END: Option<u8> = None;
    const NESTS: bool = true;
    #[inline]
    fn skip_ws(b: &[u8], i: usize) -> usize {
        skip_ws(b, i)
    }
    #[inline]
    fn string(b: &[u8], at: usize, flags: u32, tape: &mut Vec<Tok>) -> Result<usize, JsonError> {
        string(b, at, flags, tape)
    }
}

/// Records the string value that starts at `at`. A value that holds a JSON object or array in
/// the simple spelling [`Inline`] reads is tokenized in the same pass, which also validates
/// the string; anything else is read as a string.
fn quoted_value(
    b: &[u8],
    at: usize,
    max_depth: usize,
    tape: &mut Vec<Tok>,
    quoted: &mut Quoted,
) -> Result<usize, JsonError> {
    let start = at + 1;
    let first = Inline::skip_ws(b, start);
    if matches!(b.get(first), Some(b'{' | b'[')) {
        let mut inner = std::mem::take(&mut quoted.scratch);
        let read = tokenize_from::<Inline>(b, first, max_depth, &mut inner, quoted);
        if let Ok(end) = read {
            let content = b.get(start..end).unwrap_or_default();
            // Without a backslash the document has no string (`[123456789012]`): the walker
            // looks inside it only for its numbers, and only when it is marked as escaped.
            let flags = if memchr::memchr(b'\\', content).is_some()
                || inner.iter().any(|t| t.is_number())
            {
                ESCAPED
            } else {
                0
            };
            tape.push(Tok {
                start: start as u32,
                end: end as u32 | flags,
            });
            quoted.docs.push((start as u32, inner.as_slice().to_vec()));
            quoted.scratch = inner;
            return Ok(end + 1);
        }
        quoted.scratch = inner;
    }
    string(b, at, 0, tape)
}

/// A JSON document written inside a JSON string (a `tool_result` holding CLI output), read
/// in its escaped form, in the string: `\n`, `\r` and `\t` are whitespace, `\"` delimits
/// strings, and the string's closing `"` ends it. Only documents whose own strings hold no
/// escape (so no backslash) are read: their text is the same raw and decoded, and needs no
/// decoding to be visited. Anything else (another escape, a control character, a `"` that
/// ends the enclosing string early) is an error, and the string is read as a string (and
/// decoded when walked).
struct Inline;

impl Spelling for Inline {
    const QUOTE: u8 = b'\\';
    const END: Option<u8> = Some(b'"');
    const NESTS: bool = false;
    #[inline]
    fn skip_ws(b: &[u8], mut i: usize) -> usize {
        loop {
            i = skip_spaces(b, i);
            match (b.get(i), b.get(i + 1)) {
                (Some(b'\\'), Some(b'n' | b'r' | b't')) => i += 2,
                _ => return i,
            }
        }
    }
    #[inline]
    fn string(b: &[u8], at: usize, flags: u32, tape: &mut Vec<Tok>) -> Result<usize, JsonError> {
        if b.get(at + 1) != Some(&b'"') {
            return Err(syntax(at, "escape outside a string"));
        }
        let start = at + 2;
        // The first `"`, `\` or control character must be the `\` of the closing `\"`.
        let end = find_special(b, start);
        if b.get(end) != Some(&b'\\') || b.get(end + 1) != Some(&b'"') {
            return Err(syntax(end, "escape inside a string"));
        }
        tape.push(Tok {
            start: start as u32,
            end: end as u32 | flags,
        });
        Ok(end + 2)
    }
}

/// Validates `text` as one JSON value and fills `tape`, and `quoted` with the documents
/// found inside its string values (see [`Inline`]). Nesting deeper than `max_depth` is an
/// error, checked before any recursion can happen.
pub(crate) fn tokenize(
    text: &str,
    max_depth: usize,
    tape: &mut Vec<Tok>,
    quoted: &mut Quoted,
) -> Result<(), JsonError> {
    let b = text.as_bytes();
    if b.len() >= MAX_LEN {
        return Err(JsonError::TooLarge {
            len: b.len(),
            max: MAX_LEN - 1,
        });
    }
    quoted.docs.clear();
    tokenize_from::<Plain>(b, 0, max_depth, tape, quoted).map(|_| ())
}

/// Tokenizes from `start`; returns the offset the document ends at (`S::END` or the end).
fn tokenize_from<S: Spelling>(
    b: &[u8],
    start: usize,
    max_depth: usize,
    tape: &mut Vec<Tok>,
    quoted: &mut Quoted,
) -> Result<usize, JsonError> {
    tape.clear();
    // Open containers: tape index and whether it is an object.
    let mut stack: Vec<(usize, bool)> = Vec::new();
    let mut state = State::Value;
    let mut i = start;
    loop {
        i = S::skip_ws(b, i);
        let c = b.get(i).copied();
        match state {
            State::Value => match c {
                Some(open @ (b'{' | b'[')) => {
                    if stack.len() >= max_depth {
                        return Err(JsonError::TooDeep {
                            offset: i,
                            max: max_depth,
                        });
                    }
                    stack.push((tape.len(), open == b'{'));
                    tape.push(Tok {
                        start: i as u32,
                        end: CONTAINER,
                    });
                    state = if open == b'{' {
                        State::FirstKey
                    } else {
                        State::FirstElement
                    };
                    i += 1;
                }
                Some(q) if q == S::QUOTE => {
                    i = value_string::<S>(b, i, max_depth, tape, quoted)?;
                    state = State::AfterValue;
                }
                Some(b'-' | b'0'..=b'9') => {
                    i = number(b, i, tape)?;
                    state = State::AfterValue;
                }
                Some(b't') => i = literal(b, i, b"true", &mut state)?,
                Some(b'f') => i = literal(b, i, b"false", &mut state)?,
                Some(b'n') => i = literal(b, i, b"null", &mut state)?,
                Some(_) => return Err(syntax(i, "expected a value")),
                None => return Err(syntax(i, "unexpected end of input")),
            },
            State::FirstKey | State::Key => match c {
                Some(b'}') if state == State::FirstKey => {
                    close(&mut stack, tape);
                    state = State::AfterValue;
                    i += 1;
                }
                Some(q) if q == S::QUOTE => {
                    i = S::skip_ws(b, S::string(b, i, KEY, tape)?);
                    if b.get(i) != Some(&b':') {
                        return Err(syntax(i, "expected ':'"));
                    }
                    i += 1;
                    state = State::Value;
                }
                None => return Err(syntax(i, "unexpected end of input")),
                Some(_) if state == State::FirstKey => {
                    return Err(syntax(i, "expected a key or '}'"))
                }
                Some(_) => return Err(syntax(i, "expected a key")),
            },
            State::FirstElement => {
                if c == Some(b']') {
                    close(&mut stack, tape);
                    state = State::AfterValue;
                    i += 1;
                } else {
                    state = State::Value;
                }
            }
            State::AfterValue => {
                let Some(&(_, is_object)) = stack.last() else {
                    return match (c, S::END) {
                        (None, None) => Ok(i),
                        (Some(c), Some(end)) if c == end => Ok(i),
                        (None, Some(_)) => Err(syntax(i, "unexpected end of input")),
                        (Some(_), _) => Err(syntax(i, "trailing characters")),
                    };
                };
                match (c, is_object) {
                    // The next key read here, without a turn of the loop: a member's key
                    // follows most values of a body.
                    (Some(b','), true) => {
                        i = S::skip_ws(b, i + 1);
                        if b.get(i) != Some(&S::QUOTE) {
                            state = State::Key;
                            continue;
                        }
                        i = S::skip_ws(b, S::string(b, i, KEY, tape)?);
                        if b.get(i) != Some(&b':') {
                            return Err(syntax(i, "expected ':'"));
                        }
                        // And its value, when a string (as most are).
                        i = S::skip_ws(b, i + 1);
                        if b.get(i) != Some(&S::QUOTE) {
                            state = State::Value;
                            continue;
                        }
                        i = value_string::<S>(b, i, max_depth, tape, quoted)?;
                        continue;
                    }
                    (Some(b','), false) => state = State::Value,
                    (Some(b'}'), true) | (Some(b']'), false) => close(&mut stack, tape),
                    (None, _) => return Err(syntax(i, "unexpected end of input")),
                    (Some(_), true) => return Err(syntax(i, "expected ',' or '}'")),
                    (Some(_), false) => return Err(syntax(i, "expected ',' or ']'")),
                }
                i += 1;
            }
        }
    }
}

/// Records the string value that starts at `at` (with the document it holds, if `S` nests
/// them); returns the offset past its end.
#[inline]
fn value_string<S: Spelling>(
    b: &[u8],
    at: usize,
    max_depth: usize,
    tape: &mut Vec<Tok>,
    quoted: &mut Quoted,
) -> Result<usize, JsonError> {
    if S::NESTS {
        quoted_value(b, at, max_depth, tape, quoted)
    } else {
        S::string(b, at, 0, tape)
    }
}

fn syntax(offset: usize, what: &'static str) -> JsonError {
    JsonError::Syntax { offset, what }
}

fn close(stack: &mut Vec<(usize, bool)>, tape: &mut [Tok]) {
    let past = tape.len() as u32;
    if let Some((at, _)) = stack.pop() {
        if let Some(tok) = tape.get_mut(at) {
            tok.end = CONTAINER | past;
        }
    }
}

#[inline]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    loop {
        i = skip_spaces(b, i);
        match b.get(i) {
            Some(b'\n' | b'\r' | b'\t') => i += 1,
            _ => return i,
        }
    }
}

/// The offset of the first byte at or after `i` that is not a space.
#[inline]
fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    if b.get(i) != Some(&b' ') {
        return i;
    }
    // Pretty-printed JSON (CLI output) indents with runs of spaces, mostly shorter than 16:
    // a step covers 16 bytes (a space XOR 0x20 is a zero byte), so the branch that ends
    // the run is taken at the first step and predicted, whatever the indentation.
    while let Some(Ok(block)) = b.get(i..i + 16).map(<[u8; 16]>::try_from) {
        let other = u128::from_le_bytes(block) ^ u128::from_ne_bytes([b' '; 16]);
        if other != 0 {
            return i + (other.trailing_zeros() / 8) as usize;
        }
        i += 16;
    }
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    i
}

fn literal(b: &[u8], i: usize, word: &[u8], state: &mut State) -> Result<usize, JsonError> {
    if b.get(i..i + word.len()) == Some(word) {
        *state = State::AfterValue;
        Ok(i + word.len())
    } else {
        Err(syntax(i, "invalid literal"))
    }
}

/// Reads the number at `start`; records it if it is an integer of [`NUMBER_DIGITS`] digits,
/// with or without a fraction of zeros.
fn number(b: &[u8], start: usize, tape: &mut Vec<Tok>) -> Result<usize, JsonError> {
    let digits = |mut i: usize| {
        while let Some(b'0'..=b'9') = b.get(i) {
            i += 1;
        }
        i
    };
    let mut i = start;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    i = match b.get(i) {
        Some(b'0') => i + 1,
        Some(b'1'..=b'9') => digits(i + 1),
        _ => return Err(syntax(i, "invalid number")),
    };
    if !matches!(b.get(i), Some(b'.' | b'e' | b'E')) {
        if NUMBER_DIGITS.contains(&(i - start)) && b.get(start) != Some(&b'-') {
            tape.push(Tok {
                start: start as u32,
                end: i as u32 | NUMBER,
            });
        }
        return Ok(i);
    }
    let integer = i;
    if b.get(i) == Some(&b'.') {
        let end = digits(i + 1);
        if end == i + 1 {
            return Err(syntax(end, "invalid number"));
        }
        i = end;
        // An integer written as a float (`123456789012.0`, as data frames print one) is
        // recorded as that integer would be.
        let zeros = b
            .get(integer + 1..end)
            .is_some_and(|f| f.iter().all(|c| *c == b'0'));
        if zeros
            && !matches!(b.get(i), Some(b'e' | b'E'))
            && NUMBER_DIGITS.contains(&(integer - start))
            && b.get(start) != Some(&b'-')
        {
            tape.push(Tok {
                start: start as u32,
                end: i as u32 | NUMBER,
            });
            return Ok(i);
        }
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        let end = digits(i);
        if end == i {
            return Err(syntax(end, "invalid number"));
        }
        i = end;
    }
    Ok(i)
}

/// Records the string whose opening quote is at `quote`; returns the offset past its closing quote.
fn string(b: &[u8], quote: usize, flags: u32, tape: &mut Vec<Tok>) -> Result<usize, JsonError> {
    let start = quote + 1;
    let mut flags = flags;
    let mut i = start;
    // Fast path: jump from special byte to special byte. Any problem goes to the exact
    // byte-by-byte scan, which finds the first error and its offset.
    let end = loop {
        let Some(j) = find_quote_or_backslash(b, i) else {
            return exact_string(b, quote);
        };
        match b.get(j) {
            Some(b'"') => break j,
            Some(b'\\') => {}
            _ => return exact_string(b, quote),
        }
        flags |= ESCAPED;
        i = j + match b.get(j + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => 2,
            _ => match read_escape(b, j) {
                Ok((_, len)) => len,
                Err(_) => return exact_string(b, quote),
            },
        };
    };
    tape.push(Tok {
        start: start as u32,
        end: end as u32 | flags,
    });
    Ok(end + 1)
}

/// The next `"` or `\` at or after `i`, or a control character before it (which the
/// caller rejects). Escapes come in clusters (CLI output in a string escapes every few
/// bytes), so the first 16 bytes are looked at a word at a time (control characters
/// included) before memchr takes the rest and the bytes it skipped are checked for control
/// characters.
#[inline]
fn find_quote_or_backslash(b: &[u8], mut i: usize) -> Option<usize> {
    for _ in 0..2 {
        let Some(Ok(word)) = b.get(i..i + 8).map(<[u8; 8]>::try_from) else {
            break;
        };
        let hits = special_bytes(u64::from_le_bytes(word));
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let rest = b.get(i..)?;
    let j = memchr::memchr2(b'"', b'\\', rest)?;
    match rest.get(..j) {
        Some(skipped) if has_control(skipped) => Some(i + find_special(skipped, 0)),
        _ => Some(i + j),
    }
}

/// True when `bytes` holds a byte below 0x20. The minimum of a block has no early exit, so
/// the compiler vectorizes it.
fn has_control(bytes: &[u8]) -> bool {
    bytes
        .chunks(256)
        .any(|block| block.iter().fold(u8::MAX, |m, &c| m.min(c)) < 0x20)
}

/// The error of the invalid string whose opening quote is at `quote`, found byte by byte.
#[cold]
fn exact_string(b: &[u8], quote: usize) -> Result<usize, JsonError> {
    let mut i = quote + 1;
    loop {
        i = find_special(b, i);
        match b.get(i) {
            Some(b'"') => return Err(syntax(i, "invalid string")),
            Some(b'\\') => i += read_escape(b, i).map_err(|what| syntax(i, what))?.1,
            Some(_) => return Err(syntax(i, "control character in string")),
            None => return Err(syntax(quote, "unterminated string")),
        }
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Bytes of `w` that are zero, as high bits. The lowest flagged byte is always a true zero
/// (higher ones can be false positives from the borrow), which is all [`find_special`] needs.
#[inline(always)]
fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(ONES) & !w & HIGHS
}

/// Bytes of `w` that are `"`, `\` or below 0x20, as high bits (lowest one exact).
#[inline(always)]
pub(super) fn special_bytes(w: u64) -> u64 {
    zero_bytes(w ^ (ONES * u64::from(b'"')))
        | zero_bytes(w ^ (ONES * u64::from(b'\\')))
        // Bytes below 0x20: the same borrow trick with 0x20 instead of 1.
        | (w.wrapping_sub(ONES * 0x20) & !w & HIGHS)
}

/// The offset of the first `"`, `\` or control character at or after `i` (or `b.len()`),
/// eight bytes at a time.
#[inline]
fn find_special(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let hits = special_bytes(u64::from_le_bytes(word));
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_special_finds_the_first() {
        let cases: [(&[u8], usize); 7] = [
            (b"abcdefghijklmnop\"", 16),
            (b"abc\"defghijk\\", 3),
            (b"abcdefgh\\ijk", 8),
            (b"abcdefg\x01", 7),
            (b"\x1f", 0),
            ("héllo wörld ünïcode\"".as_bytes(), 23),
            (b"no special at all", 17),
        ];
        for (bytes, want) in cases {
            assert_eq!(find_special(bytes, 0), want, "{bytes:?}");
        }
        // Bytes just above the control range and the quote are not special.
        let plain: &[u8] = b" !#$%&'()*+,-./[]^_`{}~\x7f\x80\xff";
        assert_eq!(find_special(plain, 0), plain.len());
    }
}
