//! A validating JSON scanner that visits every string (keys and values) of a document with
//! its site: where it is in the raw bytes, the key it belongs to, the `type` of its object,
//! and whether it must pass unchanged. Masking (requests) and restoring (JSON responses)
//! both walk bodies with it.
//!
//! [`Document::parse`] validates the whole body in one pass (UTF-8, syntax, nesting depth)
//! and records strings and containers on a flat tape; [`Document::walk`] then visits the
//! strings in document order, applying [`Rules`] (and, when asked, the integers that may be
//! account IDs, see [`WalkOptions::numbers`]). Strings without escapes are handed out in
//! place; strings with escapes are decoded, and [`Site::raw_span`] maps a range of the
//! decoded text back to raw bytes (a boundary inside an escape widens to the whole escape).
//! A string value that is itself a JSON object or array (a `tool_result` carrying CLI JSON
//! output) is walked as a document of its own, up to [`WalkOptions::max_nesting`] levels,
//! instead of being visited as text; its sites map back through every level. The usual case,
//! a document whose own strings hold no escape (only its quotes and line breaks are escaped),
//! is tokenized in its escaped form by the same pass that validates the enclosing string, and
//! walked where it is: nothing is decoded. Any other is decoded, then parsed.
//!
//! Restoring a JSON response with it: walk with [`Rules::MessagesApi`], leave frozen sites
//! (thinking, signatures) alone, and in the raw bytes of every other site's [`Site::span`]
//! write each original JSON-escaped `site.nesting + 1` times (once for the body, once more
//! per level of JSON inside a string).
//!
//! ```
//! use aws_masker::json::{Document, Role, WalkOptions};
//!
//! let body = br#"{"model":"claude-x","messages":[{"role":"user",
//!     "content":"{\"Bucket\": \"my-bucket\"}"}]}"#;
//! let doc = Document::parse(body).unwrap();
//! let mut seen = Vec::new();
//! doc.walk(WalkOptions::default(), &mut |site: &aws_masker::json::Site<'_>| {
//!     if site.role == Role::Value && !site.frozen() {
//!         let span = site.raw_span(0..site.text.len());
//!         seen.push((site.key.map(str::to_owned), site.text.to_owned(), span));
//!     }
//! });
//! // `model` and `role` are frozen; the content string is JSON, so its inner value is
//! // visited with its inner key, and its span covers the raw (escaped) bytes.
//! assert_eq!(seen.len(), 1);
//! let (key, text, span) = &seen[0];
//! assert_eq!((key.as_deref(), text.as_str()), (Some("Bucket"), "my-bucket"));
//! assert_eq!(&body[span.clone()], b"my-bucket");
//! ```

mod escape;
mod rules;
mod tape;

use std::borrow::Cow;
use std::ops::Range;

pub use escape::{decode_into, decode_literal, decode_text_into, is_literal, EscapeMap};
pub use rules::{member_mode, Mode, Rules};
pub use tape::{MAX_LEN, NUMBER_DIGITS};

use tape::Tok;

/// Deepest nesting of objects and arrays accepted in one document.
pub const MAX_DEPTH: usize = 128;

/// Why a body is not a JSON document we can walk. Offsets are byte offsets in the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonError {
    Syntax { offset: usize, what: &'static str },
    Utf8 { offset: usize },
    TooDeep { offset: usize, max: usize },
    TooLarge { len: usize, max: usize },
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JsonError::Syntax { offset, what } => {
                write!(f, "invalid json at byte {offset}: {what}")
            }
            JsonError::Utf8 { offset } => write!(f, "invalid utf-8 at byte {offset}"),
            JsonError::TooDeep { offset, max } => {
                write!(f, "json nested deeper than {max} levels at byte {offset}")
            }
            JsonError::TooLarge { len, max } => {
                write!(f, "json of {len} bytes is over {max} bytes")
            }
        }
    }
}

impl std::error::Error for JsonError {}

/// Whether a string is an object key or a value (an array element is a value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Key,
    Value,
}

/// How to walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalkOptions {
    pub rules: Rules,
    /// How many levels of JSON inside strings are walked as documents (0: none).
    pub max_nesting: usize,
    /// Visit the integers of [`NUMBER_DIGITS`] digits in user data ([`Mode::Free`]) too, as
    /// sites with [`Site::number`] set: an account ID written as a JSON number. Other
    /// numbers, and numbers in the API's own structure, are never visited.
    pub numbers: bool,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            rules: Rules::MessagesApi,
            max_nesting: 4,
            numbers: false,
        }
    }
}

/// Receives every string of a walked document, in document order (but the keys it skips,
/// see [`Visitor::skips_key`]), and the numbers [`WalkOptions::numbers`] asks for.
pub trait Visitor {
    fn visit(&mut self, site: &Site<'_>);

    /// Asked first about an object key that is not frozen and whose text is its raw bytes
    /// (no escape at any level): `true` skips it, unvisited. Most keys of a body are a few
    /// names repeated (`InstanceId`, `State`): a visitor that can tell from a glance that
    /// one needs nothing saves building its site. The default visits every key.
    #[inline]
    fn skips_key(&mut self, text: &str) -> bool {
        let _ = text;
        false
    }
}

impl<F: FnMut(&Site<'_>)> Visitor for F {
    fn visit(&mut self, site: &Site<'_>) {
        self(site)
    }
}

/// One string of the document and its context.
#[derive(Clone, Copy, Debug)]
pub struct Site<'a> {
    /// The decoded text. For a frozen site, or in [`Document::walk_raw`], it is the raw text.
    pub text: &'a str,
    pub role: Role,
    /// For a value: the (decoded) key of the member it is, or of the array it is in. Inside
    /// JSON found in a string, the outer key until an inner one takes over.
    pub key: Option<&'a str>,
    /// The `type` of the object this string is a key or member value of (API mode only).
    pub object_type: Option<&'a str>,
    pub mode: Mode,
    /// 0 for the body itself, n for JSON found inside a string n levels deep.
    pub nesting: usize,
    /// True when the raw text holds escapes (then `text` differs from it, unless frozen), or
    /// is an array of numbers (JSON inside a string with no string of its own).
    pub escaped: bool,
    /// True for a number (see [`WalkOptions::numbers`]): its span is the number, no quotes
    /// around it, so a replacement must bring its own.
    pub number: bool,
    start: usize,
    map: Option<&'a EscapeMap>,
    level: Option<&'a Level<'a>>,
}

/// A JSON document decoded from a string of an enclosing document.
#[derive(Debug)]
struct Level<'a> {
    parent: Option<&'a Level<'a>>,
    /// Where the enclosing string's raw text starts in its own document.
    base: usize,
    map: &'a EscapeMap,
}

impl Site<'_> {
    /// True when the string must pass unchanged.
    pub fn frozen(&self) -> bool {
        self.mode == Mode::Frozen
    }

    /// The raw bytes of the body that `text[range]` comes from, through every level of
    /// escaping. Boundaries inside an escape widen to cover it.
    #[inline]
    pub fn raw_span(&self, range: Range<usize>) -> Range<usize> {
        if self.in_place() {
            return self.start + range.start..self.start + range.end;
        }
        self.mapped_span(range)
    }

    /// [`Site::raw_span`] through escape maps.
    fn mapped_span(&self, range: Range<usize>) -> Range<usize> {
        let (mut start, mut end) = match self.map {
            Some(map) => (map.start(range.start), map.end(range.end)),
            None => (range.start, range.end),
        };
        start += self.start;
        end += self.start;
        let mut level = self.level;
        while let Some(l) = level {
            start = l.base + l.map.start(start);
            end = l.base + l.map.end(end);
            level = l.parent;
        }
        start..end
    }

    /// True when `text` is the body's bytes at [`Site::span`] (no escape at any level, or a
    /// raw walk).
    #[inline]
    pub fn in_place(&self) -> bool {
        self.map.is_none() && self.level.is_none()
    }

    /// The raw bytes of the whole string in the body, quotes excluded.
    #[inline]
    pub fn span(&self) -> Range<usize> {
        self.raw_span(0..self.text.len())
    }
}

/// A validated JSON document and its tape.
#[derive(Clone, Debug)]
pub struct Document<'a> {
    text: &'a str,
    tape: Vec<Tok>,
    /// The JSON documents its string values hold, already tokenized (see `tape::Inline`).
    quoted: tape::Quoted,
}

impl<'a> Document<'a> {
    /// Validates `bytes` (UTF-8, JSON syntax, at most [`MAX_DEPTH`] levels).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, JsonError> {
        let text = std::str::from_utf8(bytes).map_err(|e| JsonError::Utf8 {
            offset: e.valid_up_to(),
        })?;
        Self::parse_str(text)
    }

    /// Validates `text` (JSON syntax, at most [`MAX_DEPTH`] levels).
    pub fn parse_str(text: &'a str) -> Result<Self, JsonError> {
        Self::parse_with(text, Vec::new()).map_err(|(e, _)| e)
    }

    /// Like [`Document::parse_str`], reusing `tape`'s allocation (given back on error).
    fn parse_with(text: &'a str, mut tape: Vec<Tok>) -> Result<Self, (JsonError, Vec<Tok>)> {
        let mut quoted = tape::Quoted::default();
        match tape::tokenize(text, MAX_DEPTH, &mut tape, &mut quoted) {
            Ok(()) => Ok(Document { text, tape, quoted }),
            Err(e) => Err((e, tape)),
        }
    }

    /// The document's text.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// About how many strings a walk visits (exactly, unless strings hold JSON that must be
    /// decoded to be read): to size what a visitor keeps per string.
    pub fn strings_hint(&self) -> usize {
        let count = |tape: &[Tok]| tape.iter().filter(|t| !t.is_container()).count();
        count(&self.tape)
            + self
                .quoted
                .docs
                .iter()
                .map(|(_, t)| count(t))
                .sum::<usize>()
    }

    /// Visits every string in document order (keys the visitor skips are passed over).
    pub fn walk<V: Visitor + ?Sized>(&self, options: WalkOptions, visitor: &mut V) {
        self.walk_with(options, true, true, visitor);
    }

    /// Like [`Document::walk`], decoding every string that holds JSON before walking it.
    #[cfg(test)]
    fn walk_decoding<V: Visitor + ?Sized>(&self, options: WalkOptions, visitor: &mut V) {
        self.walk_with(options, true, false, visitor);
    }

    /// Visits every string in document order with its raw text: nothing is decoded and JSON
    /// inside strings is not walked (`max_nesting` is ignored). Modes follow `rules` as in
    /// [`Document::walk`], so this finds the frozen strings of a body at the cost of the
    /// tape alone.
    pub fn walk_raw<V: Visitor + ?Sized>(&self, rules: Rules, visitor: &mut V) {
        let options = WalkOptions {
            rules,
            max_nesting: 0,
            numbers: false,
        };
        self.walk_with(options, false, false, visitor);
    }

    fn walk_with<V: Visitor + ?Sized>(
        &self,
        options: WalkOptions,
        decode: bool,
        quoted: bool,
        visitor: &mut V,
    ) {
        let mode = match options.rules {
            Rules::MessagesApi => Mode::Api,
            Rules::None => Mode::Free,
        };
        let mut walker = Walker {
            visitor,
            options,
            decode,
            quoted,
            bufs: Vec::new(),
            tapes: Vec::new(),
        };
        walker.document(
            self,
            None,
            0,
            None,
            Ctx {
                mode,
                object_type: &None,
            },
        );
    }

    fn raw(&self, tok: Tok) -> &'a str {
        self.text.get(tok.start()..tok.end()).unwrap_or_default()
    }

    /// The decoded text of a string token.
    #[inline]
    fn decoded(&self, tok: Tok) -> Cow<'a, str> {
        let raw = self.raw(tok);
        if tok.is_escaped() {
            Cow::Owned(decode(raw))
        } else {
            Cow::Borrowed(raw)
        }
    }

    /// The `type` of the object whose members are on the tape at `first..past`, if it is a
    /// string given once (or always the same).
    fn object_type(&self, first: usize, past: usize) -> Option<Cow<'a, str>> {
        let mut found: Option<Cow<'a, str>> = None;
        let mut j = first;
        while let Some(&key) = self.tape.get(j).filter(|_| j < past) {
            let value = self
                .tape
                .get(j + 1)
                .copied()
                .filter(|t| j + 1 < past && !t.is_key());
            j = match value {
                Some(v) if v.is_container() => v.end(),
                Some(_) => j + 2,
                None => j + 1,
            };
            if self.raw(key) != "type" && !(key.is_escaped() && self.decoded(key) == "type") {
                continue;
            }
            let v = value.filter(|v| !v.is_container() && !v.is_number())?;
            let ty = self.decoded(v);
            match &found {
                Some(prev) if *prev != ty => return None,
                _ => found = Some(ty),
            }
        }
        found
    }
}

/// What a value's walk needs from where it is, besides its key (passed on its own, in
/// registers: a context in memory, built for every member just before its walk, was read
/// back with wider loads than it was stored with, which stalled on every string).
#[derive(Clone, Copy)]
struct Ctx<'k> {
    mode: Mode,
    /// Held where the object's walk keeps it, for the same reason.
    object_type: &'k Option<&'k str>,
}

struct Walker<'v, V: ?Sized> {
    visitor: &'v mut V,
    options: WalkOptions,
    /// False for [`Document::walk_raw`]: every site gets its raw text.
    decode: bool,
    /// Walk JSON inside strings in its escaped form when it allows (false in tests only,
    /// to compare with decoding it).
    quoted: bool,
    /// Decoding buffers, reused; one is taken per level of JSON inside strings.
    bufs: Vec<(String, EscapeMap)>,
    /// Tapes of JSON documents found inside strings, reused.
    tapes: Vec<Vec<Tok>>,
}

impl<V: Visitor + ?Sized> Walker<'_, V> {
    fn document(
        &mut self,
        doc: &Document<'_>,
        level: Option<&Level<'_>>,
        nesting: usize,
        key: Option<&str>,
        ctx: Ctx<'_>,
    ) {
        if !doc.tape.is_empty() {
            self.value(doc, level, nesting, 0, key, ctx);
        }
    }

    /// Walks the value at tape index `idx`; returns the index past it.
    fn value(
        &mut self,
        doc: &Document<'_>,
        level: Option<&Level<'_>>,
        nesting: usize,
        idx: usize,
        key: Option<&str>,
        ctx: Ctx<'_>,
    ) -> usize {
        let Some(&tok) = doc.tape.get(idx) else {
            return idx + 1;
        };
        if !tok.is_container() {
            if tok.is_number() {
                self.number(doc, level, nesting, tok, key, ctx);
            } else {
                self.string(doc, level, nesting, tok, Role::Value, key, ctx);
            }
            return idx + 1;
        }
        let past = tok.end();
        if doc.text.as_bytes().get(tok.start()) == Some(&b'{') {
            self.object(doc, level, nesting, idx + 1, past, ctx);
        } else {
            let mut j = idx + 1;
            while j < past {
                j = self.value(doc, level, nesting, j, key, ctx);
            }
        }
        past.max(idx + 1)
    }

    fn object(
        &mut self,
        doc: &Document<'_>,
        level: Option<&Level<'_>>,
        nesting: usize,
        first: usize,
        past: usize,
        ctx: Ctx<'_>,
    ) {
        let object_type = match ctx.mode {
            Mode::Api => doc.object_type(first, past),
            Mode::Free | Mode::Frozen => None,
        };
        let object_type = object_type.as_deref();
        let object_type = &object_type;
        let mut j = first;
        while let Some(&key_tok) = doc.tape.get(j).filter(|_| j < past) {
            let key_ctx = Ctx {
                mode: ctx.mode,
                object_type,
            };
            self.string(doc, level, nesting, key_tok, Role::Key, None, key_ctx);
            j += 1;
            if doc.tape.get(j).is_some_and(|t| j < past && !t.is_key()) {
                let key = doc.decoded(key_tok);
                let mode = rules::member_mode(ctx.mode, &key, *object_type);
                j = self.value(
                    doc,
                    level,
                    nesting,
                    j,
                    Some(&key),
                    Ctx { mode, object_type },
                );
            }
        }
    }

    // The key is an argument of its own, not a field of `Ctx` (see there).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn string(
        &mut self,
        doc: &Document<'_>,
        level: Option<&Level<'_>>,
        nesting: usize,
        tok: Tok,
        role: Role,
        key: Option<&str>,
        ctx: Ctx<'_>,
    ) {
        let raw = doc.raw(tok);
        let in_place = !tok.is_escaped() && level.is_none();
        if role == Role::Key && in_place && ctx.mode != Mode::Frozen && self.visitor.skips_key(raw)
        {
            return;
        }
        let site = Site {
            text: raw,
            role,
            key,
            object_type: *ctx.object_type,
            mode: ctx.mode,
            nesting,
            escaped: tok.is_escaped(),
            number: false,
            start: tok.start(),
            map: None,
            level,
        };
        // Unescaped text cannot hold JSON with strings in it: nothing to recurse into. Nor,
        // below the body, can a string the tokenizer marked for the array of numbers it holds
        // (JSON inside strings read in place marks none: both ways see the same).
        let plain = |raw: &str| nesting > 0 && !raw.contains('\\');
        if site.frozen() || !tok.is_escaped() || !self.decode || plain(raw) {
            self.visitor.visit(&site);
            return;
        }
        self.escaped_string(doc, site, tok);
    }

    #[cold]
    #[inline(never)]
    fn number(
        &mut self,
        doc: &Document<'_>,
        level: Option<&Level<'_>>,
        nesting: usize,
        tok: Tok,
        key: Option<&str>,
        ctx: Ctx<'_>,
    ) {
        // In the API's own structure numbers are its parameters (`max_tokens`), which must
        // stay numbers; user data is where an account can be one.
        if !self.options.numbers || ctx.mode != Mode::Free {
            return;
        }
        self.visitor.visit(&Site {
            text: doc.raw(tok),
            role: Role::Value,
            key,
            object_type: *ctx.object_type,
            mode: ctx.mode,
            nesting,
            escaped: false,
            number: true,
            start: tok.start(),
            map: None,
            level,
        });
    }

    /// A string with escapes (or an array of numbers, which the tokenizer marks as one):
    /// JSON inside it is walked, any other text is decoded.
    #[inline(never)]
    fn escaped_string(&mut self, doc: &Document<'_>, site: Site<'_>, tok: Tok) {
        let (raw, role, level, nesting) = (site.text, site.role, site.level, site.nesting);
        let inner_ctx = Ctx {
            mode: Mode::Free,
            object_type: &None,
        };
        let nested = role == Role::Value && nesting < self.options.max_nesting;
        if nested && self.quoted {
            // Most JSON inside strings (CLI output) escapes only its quotes and line breaks:
            // it is walked where it is, with raw offsets, and nothing is decoded.
            // The tokenizer read it already (see `tape::Inline`).
            let start = tok.start() as u32;
            let docs = &doc.quoted.docs;
            if let Ok(k) = docs.binary_search_by_key(&start, |(s, _)| *s) {
                let mut tape = self.tapes.pop().unwrap_or_default();
                tape.clear();
                tape.extend_from_slice(docs.get(k).map_or(&[][..], |(_, t)| t));
                let inner = Document {
                    text: doc.text,
                    tape,
                    quoted: tape::Quoted::default(),
                };
                self.document(&inner, level, nesting + 1, site.key, inner_ctx);
                self.tapes.push(inner.tape);
                return;
            }
        }
        let (mut text, mut map) = self.bufs.pop().unwrap_or_default();
        decode_into(raw, &mut text, &mut map);
        let inner = match role {
            Role::Value if nested && looks_like_json(&text) => {
                match Document::parse_with(&text, self.tapes.pop().unwrap_or_default()) {
                    Ok(doc) => Some(doc),
                    Err((_, tape)) => {
                        self.tapes.push(tape);
                        None
                    }
                }
            }
            _ => None,
        };
        if let Some(inner) = inner {
            let inner_level = Level {
                parent: level,
                base: tok.start(),
                map: &map,
            };
            self.document(&inner, Some(&inner_level), nesting + 1, site.key, inner_ctx);
            self.tapes.push(inner.tape);
        } else {
            self.visitor.visit(&Site {
                text: &text,
                map: Some(&map),
                ..site
            });
        }
        self.bufs.push((text, map));
    }
}

/// `raw` decoded (out of line: most strings hold no escape).
#[cold]
#[inline(never)]
fn decode(raw: &str) -> String {
    let (mut text, mut map) = (String::new(), EscapeMap::default());
    decode_into(raw, &mut text, &mut map);
    text
}

/// A cheap test before trying to parse a string as JSON: an object or an array.
fn looks_like_json(text: &str) -> bool {
    let t = text.trim_matches([' ', '\n', '\r', '\t']);
    (t.starts_with('{') && t.ends_with('}')) || (t.starts_with('[') && t.ends_with(']'))
}

#[cfg(test)]
mod tests;
