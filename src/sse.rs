//! Restoring a Server-Sent Events stream of the Messages API, fed in arbitrary chunks.
//!
//! Events are framed incrementally (lines end with `\n`, `\r\n` or `\r`; `data:` may span
//! lines) and each complete event is emitted at once:
//! - `content_block_delta` with `text_delta` or `input_json_delta`: the text goes through a
//!   [`StreamRestorer`] per content block index, so a placeholder split across deltas is
//!   restored. Held-back text goes out with the block's next delta, or in a synthesized
//!   delta before the block's `content_block_stop`, `message_delta`, `message_stop`, `error`,
//!   or at [`SseRestorer::finish`]. Only the string value of a changed event is rewritten.
//! - `citations_delta`: placeholders in the citation are restored in place.
//! - events that carry whole values (`content_block_start`, `message_start`,
//!   `message_delta`, `error`) and data that is not the JSON expected (an event cut short, a
//!   bad escape): restored as JSON text, unless they hold thinking text.
//! - everything else (`thinking_delta` and `signature_delta`, which the API signs, `ping`,
//!   comments, unknown events) passes byte for byte, in order.
//!
//! ```
//! use aws_masker::placeholder::{Mapping, Placeholders};
//! use aws_masker::sse::SseRestorer;
//!
//! let keys = Placeholders::new(b"an example secret of at least 32 bytes");
//! let mut mapping = Mapping::default();
//! let p = keys.issue(&mut mapping, "VPC", "vpc-a01106c2");
//! let (a, b) = p.split_at(6);
//! let delta = |t: &str| format!(
//!     "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\
//!      \"delta\":{{\"type\":\"text_delta\",\"text\":\"{t}\"}}}}\n\n");
//! let stream = format!("{}{}", delta(&format!("in {a}")), delta(&format!("{b}.")));
//!
//! let mut sse = SseRestorer::new();
//! let mut out = Vec::new();
//! for chunk in stream.as_bytes().chunks(7) {
//!     sse.feed(&mapping, chunk, &mut out);
//! }
//! sse.finish(&mapping, &mut out);
//! let out = String::from_utf8(out).unwrap();
//! assert!(out.contains(r#""text":"in ""#) && out.contains(r#""text":"vpc-a01106c2.""#));
//! assert_eq!(sse.stats().restored, 1);
//! ```

mod jscan;

use std::ops::Range;

use memchr::memchr2;

use crate::json::{decode_literal, is_literal};
use crate::placeholder::{Mapping, PREFIX};
use crate::restore::{
    has_thinking, json_escape_into, restore_into, Escape, RestoreStats, StreamRestorer,
};

/// Incremental SSE restorer; one per response.
#[derive(Clone, Debug)]
pub struct SseRestorer {
    /// Raw bytes of the event being read.
    event: Vec<u8>,
    line_start: usize,
    /// The last byte seen was a `\r` ending a line: a `\n` right after belongs to it.
    cr_pending: bool,
    /// The stream's line ending, for synthesized events.
    eol: &'static [u8],
    blocks: Vec<Block>,
    /// Counts of closed blocks and citations.
    stats: RestoreStats,
    malformed: u64,
    synthesized: u64,
    data: Vec<u8>,
    segments: Vec<Segment>,
    decoded: Vec<u8>,
    restored: Vec<u8>,
    /// The most bytes one event may take in memory ([`SseRestorer::with_event_limit`]).
    event_limit: usize,
    /// Passing an event over the limit through as it comes, until its blank line.
    passing: Option<Passing>,
    oversized: u64,
}

/// Where an event passed through is: at the start of a line (a line end there ends the
/// event), and whether the last byte was a `\r` (a `\n` right after belongs to it).
#[derive(Clone, Copy, Debug)]
struct Passing {
    line_start: bool,
    after_cr: bool,
}

/// The default of [`SseRestorer::with_event_limit`]: the Messages API's largest events (a
/// server tool's result in one `content_block_start`) are far smaller.
pub const MAX_EVENT_BYTES: usize = 4 << 20;

#[derive(Clone, Debug)]
struct Block {
    index: u64,
    kind: Kind,
    restorer: StreamRestorer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Json,
}

impl Kind {
    /// Text is decoded from the event's JSON, so a `partial_json` original needs one escape
    /// here and gets its second when the value is re-encoded.
    fn escape(self) -> Escape {
        match self {
            Kind::Text => Escape::None,
            Kind::Json => Escape::Json,
        }
    }

    fn delta_head(self) -> &'static [u8] {
        match self {
            Kind::Text => br#""delta":{"type":"text_delta","text":"#,
            Kind::Json => br#""delta":{"type":"input_json_delta","partial_json":"#,
        }
    }
}

/// A `data:` line's value: at `joined` in the joined data, at `raw` in the raw event.
#[derive(Clone, Copy, Debug)]
struct Segment {
    joined: usize,
    raw: usize,
    len: usize,
}

#[derive(Debug, PartialEq, Eq)]
enum Action {
    Pass,
    Malformed,
    Delta {
        index: u64,
        kind: Kind,
        value: Range<usize>,
    },
    /// An event restored as it is, as JSON text: citations, a block's start (server tool
    /// and MCP results), the message's start. Never one with thinking text in it.
    Restore,
    Stop {
        index: u64,
    },
    FlushAll,
    /// [`Action::FlushAll`], then [`Action::Restore`] (`message_delta`'s stop sequence,
    /// an `error`'s message).
    FlushRestore,
}

impl Default for SseRestorer {
    fn default() -> Self {
        Self::new()
    }
}

impl SseRestorer {
    pub fn new() -> Self {
        Self::with_event_limit(MAX_EVENT_BYTES)
    }

    /// A restorer that keeps at most about `limit` bytes of one event: past that, the held
    /// text of open blocks goes out, then the event passes through unchanged (its
    /// placeholders stay) until its blank line, and reading resumes with the next event. A
    /// stream that never ends an event cannot grow the restorer's memory without bound.
    pub fn with_event_limit(limit: usize) -> Self {
        SseRestorer {
            event: Vec::new(),
            line_start: 0,
            cr_pending: false,
            eol: b"\n",
            blocks: Vec::new(),
            stats: RestoreStats::default(),
            malformed: 0,
            synthesized: 0,
            data: Vec::new(),
            segments: Vec::new(),
            decoded: Vec::new(),
            restored: Vec::new(),
            event_limit: limit.max(1),
            passing: None,
            oversized: 0,
        }
    }

    /// Appends to `out` every event of `chunk` that is complete, restored.
    pub fn feed(&mut self, mapping: &Mapping, chunk: &[u8], out: &mut Vec<u8>) {
        let mut rest = chunk;
        if rest.is_empty() {
            return;
        }
        if self.passing.is_some() {
            rest = self.pass(rest, out);
            if rest.is_empty() {
                return;
            }
        }
        if std::mem::take(&mut self.cr_pending) {
            if let Some((b'\n', tail)) = rest.split_first() {
                self.eol = b"\r\n";
                if self.event.is_empty() {
                    // The `\r` ended an event that is already out.
                    out.push(b'\n');
                } else {
                    self.event.push(b'\n');
                    self.line_start = self.event.len();
                }
                rest = tail;
            }
        }
        loop {
            if self.event.is_empty() && !self.cr_pending {
                // The usual case: whole events in the chunk, dispatched where they are.
                let whole = match compact_delta_event(rest) {
                    Some((len, segment, action)) => Some((len, segment, Some(action))),
                    None => whole_event(rest).map(|(len, segment)| (len, segment, None)),
                };
                if let Some((len, segment, action)) = whole {
                    let (event, tail) = rest.split_at(len);
                    let data = event
                        .get(segment.raw..segment.raw + segment.len)
                        .unwrap_or_default();
                    self.eol = b"\n";
                    let classified = Classified { data, action };
                    self.dispatch(mapping, event, classified, &[segment], true, out);
                    rest = tail;
                    continue;
                }
            }
            let Some(k) = memchr2(b'\n', b'\r', rest) else {
                break;
            };
            let (line, after) = rest.split_at(k);
            let term = match after {
                [b'\r', b'\n', ..] => 2,
                [b'\r'] => {
                    self.cr_pending = true;
                    1
                }
                _ => 1,
            };
            self.eol = match (after.first(), term) {
                (_, 2) => b"\r\n",
                (Some(b'\r'), _) => b"\r",
                _ => b"\n",
            };
            let blank = line.is_empty() && self.event.len() == self.line_start;
            self.event.extend_from_slice(line);
            if !blank {
                record_field(
                    &self.event,
                    self.line_start,
                    &mut self.data,
                    &mut self.segments,
                );
            }
            self.event
                .extend_from_slice(after.get(..term).unwrap_or_default());
            rest = after.get(term..).unwrap_or_default();
            if blank {
                self.dispatch_held(mapping, true, out);
            }
            self.line_start = self.event.len();
            if self.event.len() > self.event_limit {
                self.spill(mapping, out);
                rest = self.pass(rest, out);
            }
        }
        self.event.extend_from_slice(rest);
        if self.event.len() > self.event_limit {
            self.spill(mapping, out);
        }
    }

    /// Gives up on the event being read, which is over the limit: the held text of open
    /// blocks goes out first (in order), then the event's bytes so far, unchanged; the rest
    /// of it is passed through by [`SseRestorer::pass`].
    #[cold]
    fn spill(&mut self, mapping: &Mapping, out: &mut Vec<u8>) {
        self.oversized += 1;
        self.flush_blocks(mapping, None, out);
        out.extend_from_slice(&self.event);
        let line_start = self.line_start == self.event.len();
        self.passing = Some(Passing {
            line_start,
            after_cr: std::mem::take(&mut self.cr_pending),
        });
        // Given back: an event this long is no reason to keep its memory.
        self.event = Vec::new();
        self.data = Vec::new();
        self.segments.clear();
        self.line_start = 0;
    }

    /// Passes `chunk` through while an oversized event lasts; returns what follows its end
    /// (the blank line's terminator included in what was passed).
    fn pass<'c>(&mut self, chunk: &'c [u8], out: &mut Vec<u8>) -> &'c [u8] {
        let Some(mut state) = self.passing else {
            return chunk;
        };
        let mut i = 0;
        while let Some(k) = memchr2(b'\n', b'\r', chunk.get(i..).unwrap_or_default()) {
            let at = i + k;
            let c = chunk.get(at).copied().unwrap_or(b'\n');
            if at > i {
                state.line_start = false;
                state.after_cr = false;
            }
            i = at + 1;
            if c == b'\n' && state.after_cr {
                // The `\n` of a `\r\n` whose `\r` ended the line.
                state.after_cr = false;
                continue;
            }
            state.after_cr = c == b'\r';
            if state.line_start {
                // A blank line: the event ends here.
                if c == b'\r' && chunk.get(i) == Some(&b'\n') {
                    i += 1;
                } else if c == b'\r' && i == chunk.len() {
                    self.cr_pending = true;
                }
                let (passed, rest) = chunk.split_at(i);
                out.extend_from_slice(passed);
                self.passing = None;
                return rest;
            }
            state.line_start = true;
        }
        if i < chunk.len() {
            state.line_start = false;
            state.after_cr = false;
        }
        out.extend_from_slice(chunk);
        self.passing = Some(state);
        &[]
    }

    /// Appends to `out` what is still held: an event cut short (restored where it can be)
    /// and held-back text of open blocks. The restorer can then be reused.
    pub fn finish(&mut self, mapping: &Mapping, out: &mut Vec<u8>) {
        self.passing = None;
        if self.event.len() > self.line_start {
            record_field(
                &self.event,
                self.line_start,
                &mut self.data,
                &mut self.segments,
            );
        }
        if !self.event.is_empty() {
            self.dispatch_held(mapping, false, out);
        }
        self.flush_blocks(mapping, None, out);
        self.line_start = 0;
        self.cr_pending = false;
    }

    /// Counts so far, over all blocks.
    pub fn stats(&self) -> RestoreStats {
        let mut s = self.stats;
        for b in &self.blocks {
            s.add(b.restorer.stats());
        }
        s
    }

    /// Events whose data was not the JSON expected (restored as JSON text).
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Deltas added to carry held-back text before a block stop or the end.
    pub fn synthesized(&self) -> u64 {
        self.synthesized
    }

    /// Events over the limit, passed through unchanged.
    pub fn oversized(&self) -> u64 {
        self.oversized
    }

    /// Handles one raw event; `complete` is false for an event cut short at the end.
    /// Dispatches the event gathered in `self.event` and empties it.
    fn dispatch_held(&mut self, mapping: &Mapping, complete: bool, out: &mut Vec<u8>) {
        let event = std::mem::take(&mut self.event);
        let data = std::mem::take(&mut self.data);
        let segments = std::mem::take(&mut self.segments);
        let classified = Classified {
            data: &data,
            action: None,
        };
        self.dispatch(mapping, &event, classified, &segments, complete, out);
        (self.event, self.data, self.segments) = (event, data, segments);
        self.event.clear();
        self.data.clear();
        self.segments.clear();
    }

    /// Restores one event: `raw` as it came, its `data:` values joined (and what they call
    /// for, when already known), `segments` where they are in `raw`.
    fn dispatch(
        &mut self,
        mapping: &Mapping,
        raw: &[u8],
        classified: Classified<'_>,
        segments: &[Segment],
        complete: bool,
        out: &mut Vec<u8>,
    ) {
        if segments.is_empty() {
            if !complete {
                self.flush_blocks(mapping, None, out);
            }
            out.extend_from_slice(raw);
            return;
        }
        let data = classified.data;
        let action = classified.action.unwrap_or_else(|| classify(data));
        if !complete {
            // An event cut short is dropped by SSE readers: held text of earlier, complete
            // events goes out in events of its own first, not merged into this one.
            self.flush_blocks(mapping, None, out);
        }
        match action {
            Action::Pass => out.extend_from_slice(raw),
            Action::Malformed => {
                // Not the JSON expected (an event cut short by the upstream, a proxy's text):
                // restored as JSON text, as a whole body that is not JSON is, so no issued
                // placeholder reaches the client in it.
                self.malformed += 1;
                self.restore_raw(mapping, raw, out);
            }
            Action::Restore => self.restore_raw(mapping, raw, out),
            Action::Stop { index } => {
                self.flush_block(mapping, index, out);
                out.extend_from_slice(raw);
            }
            Action::FlushAll => {
                self.flush_blocks(mapping, None, out);
                out.extend_from_slice(raw);
            }
            Action::FlushRestore => {
                self.flush_blocks(mapping, None, out);
                self.restore_raw(mapping, raw, out);
            }
            Action::Delta { index, kind, value } => {
                let delta = Delta {
                    raw,
                    data,
                    segments,
                    index,
                    kind,
                    value,
                };
                self.delta(mapping, delta, complete, out);
            }
        }
    }

    /// Restores an event as JSON text, unless it holds thinking text (the token
    /// `crate::restore::THINKING`), which passes as it is.
    fn restore_raw(&mut self, mapping: &Mapping, raw: &[u8], out: &mut Vec<u8>) {
        if has_thinking(raw) {
            out.extend_from_slice(raw);
        } else {
            restore_into(raw, mapping, Escape::Json, out, &mut self.stats);
        }
    }

    /// Restores the text of a `text_delta` / `input_json_delta` through its block's restorer.
    fn delta(&mut self, mapping: &Mapping, delta: Delta<'_>, complete: bool, out: &mut Vec<u8>) {
        let (raw, index, kind) = (delta.raw, delta.index, delta.kind);
        let Some(encoded) = delta.data.get(delta.value.clone()) else {
            self.malformed += 1;
            out.extend_from_slice(raw);
            return;
        };
        let inner = encoded
            .get(1..encoded.len().saturating_sub(1))
            .unwrap_or_default();
        let held = self
            .blocks
            .iter()
            .any(|b| b.index == index && b.restorer.pending() > 0);
        self.decoded.clear();
        let (escaped, may_hold) = scan_delta(inner);
        if !held && !may_hold {
            // Nothing to restore or hold back: the common case, kept cheap (checked, not
            // decoded).
            if escaped && !is_literal(encoded) {
                self.malformed += 1;
            }
            out.extend_from_slice(raw);
            return;
        }
        // A delta that cannot be read is restored as JSON text, after the block's held text
        // (which came before it).
        if !escaped {
            self.decoded.extend_from_slice(inner);
        } else if decode_literal(encoded, &mut self.decoded).is_none() {
            self.malformed += 1;
            self.flush_block(mapping, index, out);
            self.restore_raw(mapping, raw, out);
            return;
        }
        // A string value never holds a raw line break, so it lies within one data line.
        let Some(span) = raw_span(delta.segments, &delta.value) else {
            self.malformed += 1;
            self.flush_block(mapping, index, out);
            self.restore_raw(mapping, raw, out);
            return;
        };
        let pos = match self.blocks.iter().position(|b| b.index == index) {
            Some(p) if self.blocks.get(p).is_some_and(|b| b.kind == kind) => p,
            found => {
                if found.is_some() {
                    self.flush_block(mapping, index, out);
                }
                self.blocks.push(Block {
                    index,
                    kind,
                    restorer: StreamRestorer::new(kind.escape()),
                });
                self.blocks.len() - 1
            }
        };
        self.restored.clear();
        if let Some(block) = self.blocks.get_mut(pos) {
            block
                .restorer
                .feed(mapping, &self.decoded, &mut self.restored);
            if !complete {
                block.restorer.finish(mapping, &mut self.restored);
                self.stats.add(block.restorer.stats());
                self.blocks.remove(pos);
            }
        }
        if self.restored == self.decoded {
            out.extend_from_slice(raw);
            return;
        }
        out.extend_from_slice(raw.get(..span.start).unwrap_or_default());
        out.push(b'"');
        json_escape_into(&self.restored, out);
        out.push(b'"');
        out.extend_from_slice(raw.get(span.end..).unwrap_or_default());
    }

    fn flush_block(&mut self, mapping: &Mapping, index: u64, out: &mut Vec<u8>) {
        if let Some(pos) = self.blocks.iter().position(|b| b.index == index) {
            let block = self.blocks.remove(pos);
            self.close(mapping, block, out);
        }
    }

    /// Flushes every open block but `keep`.
    fn flush_blocks(&mut self, mapping: &Mapping, keep: Option<u64>, out: &mut Vec<u8>) {
        let mut blocks = std::mem::take(&mut self.blocks);
        for block in blocks.drain(..) {
            if Some(block.index) == keep {
                self.blocks.push(block);
            } else {
                self.close(mapping, block, out);
            }
        }
    }

    /// Emits a block's held-back text, if any, as a synthesized delta.
    fn close(&mut self, mapping: &Mapping, mut block: Block, out: &mut Vec<u8>) {
        self.restored.clear();
        block.restorer.finish(mapping, &mut self.restored);
        self.stats.add(block.restorer.stats());
        if self.restored.is_empty() {
            return;
        }
        self.synthesized += 1;
        let eol = self.eol;
        out.extend_from_slice(b"event: content_block_delta");
        out.extend_from_slice(eol);
        out.extend_from_slice(br#"data: {"type":"content_block_delta","index":"#);
        out.extend_from_slice(block.index.to_string().as_bytes());
        out.push(b',');
        out.extend_from_slice(block.kind.delta_head());
        out.push(b'"');
        json_escape_into(&self.restored, out);
        out.extend_from_slice(b"\"}}");
        out.extend_from_slice(eol);
        out.extend_from_slice(eol);
    }
}

/// The shape the API writes nearly every event in, recognised without a general scan:
/// `{"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":"..."}}`
/// (or `input_json_delta` with `partial_json`), compact, in this member order. `None` means
/// "not this shape": [`classify`] then reads the data member by member, so any other
/// spelling of the same event is handled the same way, only slower.
fn classify_compact_delta(data: &[u8]) -> Option<Action> {
    compact_delta(data).and_then(|(action, len)| (len == data.len()).then_some(action))
}

/// [`classify_compact_delta`] of the data at the start of `data`, which may go on: the
/// action and the length of the data.
fn compact_delta(data: &[u8]) -> Option<(Action, usize)> {
    const HEAD: &[u8] = br#"{"type":"content_block_delta","index":"#;
    let rest = data.strip_prefix(HEAD)?;
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    // A JSON number has no leading zero; longer indexes take the general path.
    if !(1..=9).contains(&digits) || (digits > 1 && rest.first() == Some(&b'0')) {
        return None;
    }
    // At most nine digits: no overflow.
    let index = rest
        .get(..digits)?
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    let rest = rest.get(digits..)?.strip_prefix(b",")?;
    let (kind, value) = if let Some(v) = rest.strip_prefix(Kind::Text.delta_head()) {
        (Kind::Text, v)
    } else {
        (Kind::Json, rest.strip_prefix(Kind::Json.delta_head())?)
    };
    let start = data.len() - value.len();
    let end = start + jscan::string_end(value, 0)?;
    let action = Action::Delta {
        index,
        kind,
        value: start..end,
    };
    (data.get(end..end + 2)? == b"}}").then_some((action, end + 2))
}

/// A whole delta event at the start of `rest` exactly as the API writes it (`event:` line,
/// one compact `data:` line, `\n` line ends): its length, its data, and its action, found
/// without searching for line ends.
fn compact_delta_event(rest: &[u8]) -> Option<(usize, Segment, Action)> {
    const EVENT: &[u8] = b"event: content_block_delta\ndata: ";
    let data = rest.strip_prefix(EVENT)?;
    let (action, len) = compact_delta(data)?;
    // A line end inside the string would have ended the line: not this shape. (The rest of
    // the line is the fixed text `compact_delta` matched.)
    let Action::Delta { value, .. } = &action else {
        return None;
    };
    let text = data.get(value.clone())?;
    if data.get(len..len + 2)? != b"\n\n" || jscan::find2(text, 0, b'\n', b'\r') < text.len() {
        return None;
    }
    let segment = Segment {
        joined: 0,
        raw: EVENT.len(),
        len,
    };
    Some((EVENT.len() + len + 2, segment, action))
}

/// Whether the raw (still escaped) text of a delta holds an escape, and whether it may hold
/// a placeholder or end with the start of one (else its block's restorer would pass it
/// unchanged), in one pass. Placeholder bytes are never escaped by JSON encoders; a `\u`
/// escape could still spell one, so it counts.
fn scan_delta(raw: &[u8]) -> (bool, bool) {
    let (mut escaped, mut may_hold) = (false, false);
    let mut i = 0;
    loop {
        i = jscan::find2(raw, i, b'A', b'\\');
        if i >= raw.len() {
            break;
        }
        let next = raw.get(i + 1..).unwrap_or_default();
        may_hold |= match raw.get(i) {
            // `AWS_` here, or the start of it at the very end.
            Some(b'A') => PREFIX.as_bytes().get(1..).is_some_and(|p| {
                let n = next.len().min(p.len());
                p.get(..n) == next.get(..n)
            }),
            _ => {
                escaped = true;
                next.first() == Some(&b'u')
            }
        };
        if escaped && may_hold {
            break;
        }
        i += 1;
    }
    (escaped, may_hold)
}

/// An event's joined data, and what it calls for if that is already known.
struct Classified<'a> {
    data: &'a [u8],
    action: Option<Action>,
}

/// A delta event to restore: the event, its data, and the delta's string value in it.
struct Delta<'a> {
    raw: &'a [u8],
    data: &'a [u8],
    segments: &'a [Segment],
    index: u64,
    kind: Kind,
    value: Range<usize>,
}

/// Where `value` (a range of the joined data) lies in the raw event.
fn raw_span(segments: &[Segment], value: &Range<usize>) -> Option<Range<usize>> {
    let seg = segments.iter().rev().find(|s| s.joined <= value.start)?;
    (value.end <= seg.joined + seg.len).then(|| {
        let start = seg.raw + (value.start - seg.joined);
        start..start + value.len()
    })
}

/// The event at the start of `rest`, if it is whole and spelled the usual way: lines ended
/// by `\n` alone, exactly one `data:` line. Returns its length (blank line included) and
/// where its data is. Anything else (`\r`, several data lines, no data, cut short) is left
/// to the general path, line by line.
fn whole_event(rest: &[u8]) -> Option<(usize, Segment)> {
    let mut at = 0;
    let mut data = None;
    loop {
        let nl = at + memchr2(b'\n', b'\r', rest.get(at..)?)?;
        if rest.get(nl) == Some(&b'\r') {
            return None;
        }
        if nl == at {
            return data.filter(|_| at > 0).map(|segment| (nl + 1, segment));
        }
        let line = rest.get(at..nl)?;
        if let Some(value_at) = data_value_at(line) {
            if data.is_some() {
                return None;
            }
            data = Some(Segment {
                joined: 0,
                raw: at + value_at,
                len: line.len() - value_at,
            });
        }
        at = nl + 1;
    }
}

/// Where the value of a `data:` line starts, or `None` for another line.
fn data_value_at(line: &[u8]) -> Option<usize> {
    match line.strip_prefix(b"data")? {
        [] => Some(4),
        [b':', b' ', ..] => Some(6),
        [b':', ..] => Some(5),
        _ => None,
    }
}

/// Records the line starting at `start` of `event` (up to its end) if it is a `data:` field:
/// its value is appended to `data`, joined with `\n` to earlier ones.
fn record_field(event: &[u8], start: usize, data: &mut Vec<u8>, segments: &mut Vec<Segment>) {
    let line = event.get(start..).unwrap_or_default();
    let Some(value_at) = data_value_at(line) else {
        return;
    };
    if !segments.is_empty() {
        data.push(b'\n');
    }
    let value = line.get(value_at..).unwrap_or_default();
    segments.push(Segment {
        joined: data.len(),
        raw: start + value_at,
        len: value.len(),
    });
    data.extend_from_slice(value);
}

/// Decides what an event's data calls for.
fn classify(data: &[u8]) -> Action {
    classify_compact_delta(data).unwrap_or_else(|| classify_members(data))
}

/// [`classify`] for any spelling of the data: member by member.
fn classify_members(data: &[u8]) -> Action {
    let (mut ty, mut index, mut delta) = (None, None, None);
    let end = jscan::members(data, 0, |key, value| match key {
        b"type" => ty = Some(value),
        b"index" => index = Some(value),
        b"delta" => delta = Some(value),
        _ => {}
    });
    if end.map(|e| jscan::skip_ws(data, e)) != Some(data.len()) {
        return Action::Malformed;
    }
    let field = |r: Option<Range<usize>>| r.and_then(|r| data.get(r));
    let index = field(index)
        .and_then(|d| std::str::from_utf8(d).ok())
        .and_then(|d| d.parse::<u64>().ok());
    match field(ty) {
        Some(br#""content_block_delta""#) => {
            let (Some(index), Some(delta)) = (index, delta) else {
                return Action::Malformed;
            };
            let (mut dtype, mut text, mut partial) = (None, None, None);
            let parsed = jscan::members(data, delta.start, |key, value| match key {
                b"type" => dtype = Some(value),
                b"text" => text = Some(value),
                b"partial_json" => partial = Some(value),
                _ => {}
            });
            if parsed.is_none() {
                return Action::Malformed;
            }
            let string = |r: Option<Range<usize>>| r.filter(|r| data.get(r.start) == Some(&b'"'));
            let (kind, value) = match field(dtype) {
                Some(br#""text_delta""#) => (Kind::Text, string(text)),
                Some(br#""input_json_delta""#) => (Kind::Json, string(partial)),
                Some(br#""citations_delta""#) => return Action::Restore,
                _ => return Action::Pass,
            };
            match value {
                Some(value) => Action::Delta { index, kind, value },
                None => Action::Malformed,
            }
        }
        Some(br#""content_block_stop""#) => match index {
            Some(index) => Action::Stop { index },
            None => Action::Malformed,
        },
        Some(br#""content_block_start""# | br#""message_start""#) => Action::Restore,
        Some(br#""message_delta""# | br#""error""#) => Action::FlushRestore,
        Some(br#""message_stop""#) => Action::FlushAll,
        _ => Action::Pass,
    }
}

#[cfg(test)]
mod tests;
