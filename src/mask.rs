//! Masking a request body: every identifier the scanner finds in a string the rules let
//! change is replaced by its placeholder, in one pass that copies everything else as it was.
//!
//! JSON bodies are walked with [`crate::json`] (Messages API rules, JSON inside strings);
//! text bodies are scanned whole. The original recorded for a placeholder is the decoded
//! value; the replaced span is the raw (possibly escaped) text it came from. A placeholder
//! needs no escaping at any level; a number masked in user data (an account a tool wrote as
//! one) becomes a string, its quotes escaped for the level it is at. So the output is valid
//! JSON whenever the input was.
//!
//! ```
//! use aws_masker::detect::{Finding, KindId, Scan};
//! use aws_masker::mask::{BodyFormat, Masker};
//! use aws_masker::placeholder::Placeholders;
//!
//! /// Finds the word "secret".
//! struct Secrets;
//! impl Scan for Secrets {
//!     fn scan(&self, text: &str, _key: Option<&str>, out: &mut Vec<Finding>) {
//!         out.extend(text.match_indices("secret").map(|(start, s)| Finding {
//!             start,
//!             end: start + s.len(),
//!             kind: KindId(0),
//!         }));
//!     }
//!     fn label(&self, _kind: KindId) -> &str {
//!         "SECRET"
//!     }
//! }
//!
//! let masker = Masker::new(Secrets, Placeholders::new(b"an example secret of 32 bytes or more"), 1 << 20);
//! let body = br#"{"model":"secret","messages":[{"role":"user","content":"my secret"}]}"#;
//! let masked = masker.mask(body, BodyFormat::Json).unwrap();
//! let out = String::from_utf8(masked.body.unwrap()).unwrap();
//! let (placeholder, original) = masked.mapping.iter().next().unwrap();
//! assert_eq!(original, "secret");
//! // `model` is never changed; the message text is.
//! assert_eq!(out, format!(r#"{{"model":"secret","messages":[{{"role":"user","content":"my {placeholder}"}}]}}"#));
//! assert_eq!(masked.counts.get("SECRET"), 1);
//! ```

use std::ops::Range;

use crate::detect::{Detector, Finding, KindId, KnownValues, Scan};
use crate::json::{Document, JsonError, Role, Rules, Site, Visitor, WalkOptions};
use crate::memo::Memo;
use crate::placeholder::{is_placeholder_byte, shaped_len, Mapping, Placeholders, PREFIX};

/// How to read a request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFormat {
    /// A Messages API JSON body (`/v1/messages`, `count_tokens`, `batches`).
    Json,
    /// Anything else that is text: scanned whole.
    Text,
}

/// Why a body cannot be masked. Messages carry numbers only, never body content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskError {
    TooLarge { len: usize, max: usize },
    InvalidJson { offset: usize, what: &'static str },
    InvalidUtf8 { offset: usize },
    TooDeep { offset: usize, max: usize },
}

impl MaskError {
    /// A stable code for replies, logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            MaskError::TooLarge { .. } => "body_too_large",
            MaskError::InvalidJson { .. } => "invalid_json",
            MaskError::InvalidUtf8 { .. } => "invalid_utf8",
            MaskError::TooDeep { .. } => "nesting_too_deep",
        }
    }
}

impl std::fmt::Display for MaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MaskError::TooLarge { len, max } => {
                write!(f, "body of {len} bytes is over the limit of {max} bytes")
            }
            MaskError::InvalidJson { offset, what } => {
                write!(f, "invalid json at byte {offset}: {what}")
            }
            MaskError::InvalidUtf8 { offset } => write!(f, "invalid utf-8 at byte {offset}"),
            MaskError::TooDeep { offset, max } => {
                write!(f, "json nested deeper than {max} levels at byte {offset}")
            }
        }
    }
}

impl std::error::Error for MaskError {}

impl From<JsonError> for MaskError {
    fn from(e: JsonError) -> Self {
        match e {
            JsonError::Syntax { offset, what } => MaskError::InvalidJson { offset, what },
            JsonError::Utf8 { offset } => MaskError::InvalidUtf8 { offset },
            JsonError::TooDeep { offset, max } => MaskError::TooDeep { offset, max },
            JsonError::TooLarge { len, max } => MaskError::TooLarge { len, max },
        }
    }
}

/// Identifiers masked, per kind label.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Sorted by label.
    by_label: Vec<(String, u32)>,
}

impl Counts {
    /// How many identifiers of kind `label` were masked.
    pub fn get(&self, label: &str) -> u32 {
        self.by_label
            .iter()
            .find(|(l, _)| l == label)
            .map_or(0, |(_, n)| *n)
    }

    /// All identifiers masked.
    pub fn total(&self) -> u32 {
        self.by_label.iter().map(|(_, n)| n).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_label.is_empty()
    }

    /// (label, count) pairs, sorted by label.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u32)> {
        self.by_label.iter().map(|(l, n)| (l.as_str(), *n))
    }
}

/// The result of masking one body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Masked {
    /// The masked body, or `None` when nothing was found (send the body as it was).
    pub body: Option<Vec<u8>>,
    /// The placeholders issued for this body.
    pub mapping: Mapping,
    pub counts: Counts,
    /// Placeholder-shaped tokens already in the body (pasted from an earlier answer), sorted
    /// and without duplicates, so their originals can be looked up for the response.
    pub seen_placeholders: Vec<String>,
}

/// Masks request bodies with a scanner (the [`Detector`] unless a test brings its own) and a
/// placeholder generator.
#[derive(Debug)]
pub struct Masker<S = Detector> {
    scanner: S,
    placeholders: Placeholders,
    max_body_bytes: usize,
}

impl<S: Scan> Masker<S> {
    pub fn new(scanner: S, placeholders: Placeholders, max_body_bytes: usize) -> Self {
        Masker {
            scanner,
            placeholders,
            max_body_bytes,
        }
    }

    pub fn scanner(&self) -> &S {
        &self.scanner
    }

    pub fn placeholders(&self) -> &Placeholders {
        &self.placeholders
    }

    /// Masks `body`. An error means the body must not be forwarded.
    ///
    /// A value the scanner learns in one string (an account in an ARN, a bucket after
    /// `s3://`) is masked in every string of the body. Strings are scanned once, in order;
    /// only a string that holds a value learned after it was scanned is scanned again.
    pub fn mask(&self, body: &[u8], format: BodyFormat) -> Result<Masked, MaskError> {
        if body.len() > self.max_body_bytes {
            return Err(MaskError::TooLarge {
                len: body.len(),
                max: self.max_body_bytes,
            });
        }
        let mut issuer = Issuer::new(&self.scanner, &self.placeholders);
        match format {
            BodyFormat::Json => {
                mask_document(&Document::parse(body)?, Rules::MessagesApi, &mut issuer)
            }
            BodyFormat::Text => {
                let text = std::str::from_utf8(body).map_err(|e| MaskError::InvalidUtf8 {
                    offset: e.valid_up_to(),
                })?;
                // A JSON document labelled as text: whoever reads it as JSON decodes escapes
                // a scan of the raw text does not see through (`\ni-...`, `\u0069-...`), so
                // it is masked as the JSON it is; every string of it, as the text scan did (no
                // part of a text body is the API's to keep unchanged). A document too deep
                // to walk is refused as it is under a JSON content type: many parsers accept
                // what the walker does not, and would decode what the text scan missed.
                let opens = text.trim_start().starts_with(['{', '[']);
                match opens.then(|| Document::parse_str(text)) {
                    Some(Ok(doc)) => mask_document(&doc, Rules::None, &mut issuer),
                    Some(Err(e @ (JsonError::TooDeep { .. } | JsonError::TooLarge { .. }))) => {
                        return Err(e.into())
                    }
                    Some(Err(JsonError::Syntax { .. } | JsonError::Utf8 { .. })) | None => {
                        issuer.scan(text, None, |r| r)
                    }
                }
            }
        }
        Ok(issuer.finish(body))
    }
}

/// Walks `doc` with `issuer` under `rules`, and again if a value learned late is in strings
/// walked before.
fn mask_document<S: Scan>(doc: &Document<'_>, rules: Rules, issuer: &mut Issuer<'_, S>) {
    let options = WalkOptions {
        rules,
        numbers: true,
        ..WalkOptions::default()
    };
    issuer.strings = doc.strings_hint();
    doc.walk(options, issuer);
    if issuer.needs_second_pass(doc.text()) {
        let mut again = Rescan::new(issuer);
        doc.walk(options, &mut again);
    }
}

/// JSON Schema keywords whose numbers are bounds, never data: a tool's `input_schema` must
/// keep them numbers to stay a schema.
const SCHEMA_BOUNDS: [&str; 11] = [
    "maximum",
    "minimum",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "multipleOf",
    "maxLength",
    "minLength",
    "maxItems",
    "minItems",
    "maxProperties",
    "minProperties",
];

/// Replace `body[start..end]` with issued placeholder number `placeholder`.
#[derive(Clone, Copy, Debug)]
struct Edit {
    start: usize,
    end: usize,
    placeholder: usize,
    kind: KindId,
    /// For a JSON number replaced by a string: its nesting + 1 (the quotes around the
    /// placeholder are escaped that many times less one). 0 for text in a string.
    quoted: u8,
}

/// What the first pass left for a string scanned while values were known, or whose text is
/// not its raw bytes: how many values were known after it was scanned, and where its text
/// is. Any other string (most of a body: those scanned before the first value was learned)
/// is in the body as it is, with no value known: nothing is kept for it.
///
/// One is kept per string of a dense body, so it is packed in 24 bytes: offsets fit in `u32`
/// (bodies are shorter than [`crate::json::MAX_LEN`]).
#[derive(Clone, Debug)]
struct Visited {
    known: u32,
    /// Its raw bytes in the body, quotes excluded (a string's identity in the second walk).
    start: u32,
    end: u32,
    /// Its decoded text in `Issuer::texts`, when that is not the raw text ([`NOT_COPIED`]
    /// otherwise).
    copied_start: u32,
    copied_end: u32,
    /// Set before the second pass: the string holds a value learned after it.
    again: bool,
}

/// `Visited::copied_start` of a string whose text is its raw bytes.
const NOT_COPIED: u32 = u32::MAX;

/// `n` as a `u32` (every offset and count of a body fits).
fn small(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Visited {
    fn new(known: usize, span: Range<usize>, copied: Option<Range<usize>>) -> Self {
        let (copied_start, copied_end) = match copied {
            Some(at) => (small(at.start), small(at.end)),
            None => (NOT_COPIED, NOT_COPIED),
        };
        Visited {
            known: small(known),
            start: small(span.start),
            end: small(span.end),
            copied_start,
            copied_end,
            again: false,
        }
    }

    fn span(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    fn copied(&self) -> Option<Range<usize>> {
        (self.copied_start != NOT_COPIED)
            .then_some(self.copied_start as usize..self.copied_end as usize)
    }
}

/// Scans texts, issues placeholders and records the edits, in body order.
struct Issuer<'m, S> {
    scanner: &'m S,
    placeholders: &'m Placeholders,
    mapping: Mapping,
    findings: Vec<Finding>,
    spans: Vec<(usize, usize, KindId)>,
    /// The identifiers to issue placeholders for, in order: kind, and where the original is
    /// in `originals`.
    pending: Vec<(KindId, Range<usize>)>,
    originals: String,
    /// The placeholders issued (numbered as `pending`), one after the other, and where each is.
    issued: String,
    issued_at: Vec<Range<usize>>,
    /// Original -> (kind, index in `pending`): an identifier repeated in a body is issued once
    /// (unless another took its slot, or it is over 128 bytes: then it is hashed again and
    /// claims the entry it has already).
    cache: Memo<(KindId, usize), 1024, 128>,
    edits: Vec<Edit>,
    known: KnownValues,
    visited: Vec<Visited>,
    texts: String,
    /// Where the string that taught the first value starts in the body: the strings without
    /// a [`Visited`] record, visited or skipped while nothing was known, end before it.
    learned_at: Option<usize>,
    /// About how many strings the walk visits (to size `visited` once, at its first record:
    /// most records are pushed in a row, and growing a list this long costs copies).
    strings: usize,
}

impl<'m, S: Scan> Issuer<'m, S> {
    fn new(scanner: &'m S, placeholders: &'m Placeholders) -> Self {
        Issuer {
            scanner,
            placeholders,
            mapping: Mapping::default(),
            pending: Vec::new(),
            originals: String::new(),
            findings: Vec::new(),
            spans: Vec::new(),
            issued: String::new(),
            issued_at: Vec::new(),
            cache: Memo::default(),
            edits: Vec::new(),
            known: KnownValues::default(),
            visited: Vec::new(),
            texts: String::new(),
            learned_at: None,
            strings: 0,
        }
    }

    /// Marks the strings that hold a value learned after they were scanned, and tells
    /// whether there may be any. The strings without a record were scanned (or skipped)
    /// with nothing known, and their texts are body bytes before `learned_at`: if no value
    /// is in those bytes, none is in them (the second walk checks each when one is).
    fn needs_second_pass(&mut self, body: &str) -> bool {
        let total = self.known.len();
        if total == 0 {
            return false;
        }
        let mut any = false;
        for v in self
            .visited
            .iter_mut()
            .filter(|v| (v.known as usize) < total)
        {
            let text = match v.copied() {
                Some(at) => self.texts.get(at),
                None => body.get(v.span()),
            };
            v.again = self
                .known
                .contains_since(text.unwrap_or_default(), v.known as usize);
            any |= v.again;
        }
        // Not a char boundary only if the walk went wrong: then look at all of it.
        let before = self.learned_at.and_then(|end| body.get(..end));
        any |= self.known.contains_since(before.unwrap_or(body), 0);
        any
    }

    /// Scans `text`; `to_raw` maps a range of it to the body bytes it came from.
    fn scan(
        &mut self,
        text: &str,
        key: Option<&str>,
        to_raw: impl Fn(Range<usize>) -> Range<usize>,
    ) {
        self.findings.clear();
        self.scanner
            .scan_known(text, key, &mut self.known, &mut self.findings);
        if self.findings.is_empty() {
            return;
        }
        let mut spans = std::mem::take(&mut self.spans);
        sanitize(text, &self.findings, &mut spans);
        for &(start, end, kind) in &spans {
            let Some(original) = text.get(start..end) else {
                continue;
            };
            let placeholder = self.placeholder(kind, original);
            let raw = to_raw(start..end);
            self.edits.push(Edit {
                start: raw.start,
                end: raw.end,
                placeholder,
                kind,
                quoted: 0,
            });
        }
        self.spans = spans;
    }

    /// Scans the text of `site`: a string, or a number (see [`Issuer::scan_number`]).
    #[inline]
    fn scan_site(&mut self, site: &Site<'_>) {
        if site.number {
            self.scan_number(site);
        } else {
            self.scan(site.text, key_of(site), |r| site.raw_span(r));
        }
    }

    /// Scans a number, which is masked whole (as a string) when anything is found in it.
    #[cold]
    #[inline(never)]
    fn scan_number(&mut self, site: &Site<'_>) {
        if site.key.is_some_and(|k| SCHEMA_BOUNDS.contains(&k)) {
            return;
        }
        self.findings.clear();
        // An account written as a number only where the key says so (`AccountId`,
        // `OwnerId`), or one the body names elsewhere: `userId` or `owner` numbers are an
        // application's own far more often. Other keys give no context to a number.
        let key = site
            .key
            .filter(|k| crate::detect::number_key_names_an_account(k));
        // The integer itself: one written as a float (`123456789012.0`) gets its placeholder.
        let integer = site.text.split('.').next().unwrap_or(site.text);
        self.scanner
            .scan_known(integer, key, &mut self.known, &mut self.findings);
        // Whatever was found, the number is one value: it is replaced whole.
        let Some(kind) = self.findings.first().map(|f| f.kind) else {
            return;
        };

        let placeholder = self.placeholder(kind, integer);
        let raw = site.span();
        self.edits.push(Edit {
            start: raw.start,
            end: raw.end,
            placeholder,
            kind,
            quoted: u8::try_from(site.nesting + 1).unwrap_or(u8::MAX),
        });
    }

    /// The number of the placeholder `original` gets: issued together with every other at
    /// the end (see [`Issuer::issue_all`]).
    fn placeholder(&mut self, kind: KindId, original: &str) -> usize {
        if let Some(&(k, index)) = self.cache.get(original.as_bytes()) {
            if k == kind {
                return index;
            }
        }
        let index = self.pending.len();
        let start = self.originals.len();
        self.originals.push_str(original);
        self.pending.push((kind, start..self.originals.len()));
        self.cache.put(original.as_bytes(), (kind, index));
        index
    }

    /// Issues the placeholders of the body, in the order they were first asked for (as one
    /// by one, with the hashes computed together).
    fn issue_all(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        // Grown once: growing a map of thousands rehashes every entry several times.
        self.mapping.reserve(self.pending.len());
        let items: Vec<(&str, &str)> = self
            .pending
            .iter()
            .map(|(kind, at)| {
                let original = self.originals.get(at.clone()).unwrap_or_default();
                (self.scanner.label(*kind), original)
            })
            .collect();
        self.placeholders.issue_all_into(
            &mut self.mapping,
            &items,
            &mut self.issued,
            &mut self.issued_at,
        );
    }

    fn finish(mut self, body: &[u8]) -> Masked {
        self.issue_all();
        let seen_placeholders = placeholders_in(body);
        let mut counts: Vec<(KindId, u32)> = Vec::new();
        for e in &self.edits {
            match counts.iter_mut().find(|(k, _)| *k == e.kind) {
                Some((_, n)) => *n += 1,
                None => counts.push((e.kind, 1)),
            }
        }
        let mut by_label: Vec<(String, u32)> = counts
            .iter()
            .map(|&(kind, n)| (self.scanner.label(kind).to_owned(), n))
            .collect();
        by_label.sort_unstable();
        // Two kinds with one label (custom patterns may share one) count together.
        by_label.dedup_by(|b, a| {
            let same = a.0 == b.0;
            if same {
                a.1 += b.1;
            }
            same
        });
        let body = if self.edits.is_empty() {
            None
        } else {
            Some(apply(body, &self.edits, &self.issued, &self.issued_at))
        };
        Masked {
            body,
            mapping: self.mapping,
            counts: Counts { by_label },
            seen_placeholders,
        }
    }
}

fn key_of<'a>(site: &Site<'a>) -> Option<&'a str> {
    match site.role {
        Role::Key => None,
        Role::Value => site.key,
    }
}

impl<S: Scan> Visitor for Issuer<'_, S> {
    /// A key the scanner can tell at a glance holds nothing, while nothing is known: its
    /// visit would find nothing and record nothing.
    #[inline]
    fn skips_key(&mut self, text: &str) -> bool {
        self.known.is_empty() && self.scanner.nothing_in(text)
    }

    fn visit(&mut self, site: &Site<'_>) {
        if site.frozen() {
            return;
        }
        self.scan_site(site);
        let in_place = site.in_place();
        if in_place && self.known.is_empty() {
            // Nothing known, text in the body: the second pass needs no record of it.
            return;
        }
        let span = site.span();
        if !self.known.is_empty() && self.learned_at.is_none() {
            self.learned_at = Some(span.start);
        }
        // What the second pass needs to decide about this string without scanning it
        // again: its text (a copy when that is not its raw bytes, cheaper than mapping it
        // back) and how many values it was scanned with.
        let copied = (!in_place).then(|| {
            let start = self.texts.len();
            self.texts.push_str(site.text);
            start..self.texts.len()
        });
        if self.visited.capacity() == 0 {
            self.visited.reserve(self.strings);
        }
        self.visited
            .push(Visited::new(self.known.len(), span, copied));
    }
}

/// The second walk: the same strings in the same order. A string that holds a value
/// learned after its first scan is scanned again (with everything known now); every other
/// string keeps the edits of the first pass (those inside its raw bytes).
struct Rescan<'i, 'm, S> {
    issuer: &'i mut Issuer<'m, S>,
    first: Vec<Edit>,
    /// The first pass's edits before this one belong to strings already walked.
    next_edit: usize,
    visited: Vec<Visited>,
    /// The first record not yet met.
    next_record: usize,
}

impl<'i, 'm, S: Scan> Rescan<'i, 'm, S> {
    fn new(issuer: &'i mut Issuer<'m, S>) -> Self {
        let first = std::mem::take(&mut issuer.edits);
        let visited = std::mem::take(&mut issuer.visited);
        issuer.edits.reserve(first.len());
        Rescan {
            issuer,
            first,
            next_edit: 0,
            visited,
            next_record: 0,
        }
    }
}

impl<S: Scan> Visitor for Rescan<'_, '_, S> {
    fn visit(&mut self, site: &Site<'_>) {
        if site.frozen() {
            return;
        }
        let span = site.span();
        let again = match self.visited.get(self.next_record) {
            Some(v) if v.span() == span => {
                self.next_record += 1;
                v.again
            }
            // No record: scanned with nothing known.
            _ => self.issuer.known.contains_since(site.text, 0),
        };
        let from = self.next_edit;
        while self
            .first
            .get(self.next_edit)
            .is_some_and(|e| e.start < span.end)
        {
            self.next_edit += 1;
        }
        let issuer = &mut *self.issuer;
        if again {
            issuer.scan_site(site);
        } else {
            let edits = self.first.get(from..self.next_edit).unwrap_or_default();
            issuer.edits.extend_from_slice(edits);
        }
    }
}

/// Turns scanner findings into sorted, disjoint spans on character boundaries. Overlaps are
/// merged rather than dropped: a dropped span could leak.
fn sanitize(text: &str, findings: &[Finding], spans: &mut Vec<(usize, usize, KindId)>) {
    spans.clear();
    for f in findings {
        let (mut start, mut end) = (f.start.min(text.len()), f.end.min(text.len()));
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        while !text.is_char_boundary(end) {
            end += 1;
        }
        if start < end {
            spans.push((start, end, f.kind));
        }
    }
    if !spans.windows(2).all(|w| matches!(w, [a, b] if a.0 <= b.0)) {
        spans.sort_unstable_by_key(|s| s.0);
    }
    let mut kept: usize = 0;
    for i in 0..spans.len() {
        let Some(&(start, end, kind)) = spans.get(i) else {
            break;
        };
        match kept.checked_sub(1).and_then(|k| spans.get_mut(k)) {
            Some(last) if start < last.1 => last.1 = last.1.max(end),
            _ => {
                if let Some(slot) = spans.get_mut(kept) {
                    *slot = (start, end, kind);
                }
                kept += 1;
            }
        }
    }
    spans.truncate(kept);
}

/// Copies `body` with each edit's span replaced by its placeholder, in one pass.
fn apply(body: &[u8], edits: &[Edit], issued: &str, issued_at: &[Range<usize>]) -> Vec<u8> {
    let placeholder = |e: &Edit| {
        issued_at
            .get(e.placeholder)
            .and_then(|at| issued.get(at.clone()))
            .unwrap_or_default()
    };
    let grow: usize = edits
        .iter()
        .map(|e| placeholder(e).len() + 2 * quote_len(e.quoted))
        .sum();
    let mut out = Vec::with_capacity(body.len() + grow);
    let mut done = 0;
    for e in edits {
        // Edits come in body order and never overlap; if one did, the bytes already replaced
        // stay replaced rather than being copied again.
        let start = e.start.max(done);
        out.extend_from_slice(body.get(done..start).unwrap_or_default());
        push_quote(&mut out, e.quoted);
        out.extend_from_slice(placeholder(e).as_bytes());
        push_quote(&mut out, e.quoted);
        done = e.end.max(done);
    }
    out.extend_from_slice(body.get(done..).unwrap_or_default());
    out
}

/// Writes the quote that makes a number a string `quoted - 1` levels of JSON inside strings
/// deep: `"` in the body, `\"` one level in, `\\\"` two (a quote JSON-escaped once per
/// level: 2^level - 1 backslashes). Nothing for 0.
fn push_quote(out: &mut Vec<u8>, quoted: u8) {
    if let Some(backslashes) = quote_len(quoted).checked_sub(1) {
        out.resize(out.len() + backslashes, b'\\');
        out.push(b'"');
    }
}

/// The length of the quote [`push_quote`] writes.
fn quote_len(quoted: u8) -> usize {
    match quoted.checked_sub(1) {
        Some(level) => 1 << level.min(16),
        None => 0,
    }
}

/// Placeholder-shaped tokens in `body`, sorted, without duplicates.
fn placeholders_in(body: &[u8]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for at in memchr::memmem::find_iter(body, PREFIX.as_bytes()) {
        let joined = at
            .checked_sub(1)
            .and_then(|p| body.get(p))
            .is_some_and(|&b| is_placeholder_byte(b));
        let Some(rest) = body.get(at..) else { continue };
        if let (false, Some(len)) = (joined, shaped_len(rest)) {
            if let Some(token) = rest.get(..len).and_then(|t| std::str::from_utf8(t).ok()) {
                found.push(token.to_owned());
            }
        }
    }
    found.sort_unstable();
    found.dedup();
    found
}

#[cfg(test)]
mod tests;
