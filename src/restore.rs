//! Restoring originals in response text: in one pass ([`restore_into`]) or incrementally over
//! chunks that split the text anywhere ([`StreamRestorer`]).
//!
//! Every known placeholder is replaced by its original, written as it must appear where it
//! lands ([`Escape`]). Placeholder-shaped tokens the mapping does not know are left unchanged
//! and counted ([`RestoreStats::unknown`]).
//!
//! ```
//! use aws_masker::placeholder::{Mapping, Placeholders};
//! use aws_masker::restore::{restore_into, Escape, RestoreStats, StreamRestorer};
//!
//! let keys = Placeholders::new(b"an example secret of at least 32 bytes");
//! let mut mapping = Mapping::default();
//! let p = keys.issue(&mut mapping, "EC2", "i-0b263919b6498b123");
//! let text = format!("stop {p} now");
//!
//! let mut out = Vec::new();
//! let mut stats = RestoreStats::default();
//! restore_into(text.as_bytes(), &mapping, Escape::None, &mut out, &mut stats);
//! assert_eq!(out, b"stop i-0b263919b6498b123 now");
//! assert_eq!(stats.restored, 1);
//!
//! // The same text in two chunks split inside the placeholder.
//! let mut stream = StreamRestorer::new(Escape::None);
//! let mut streamed = Vec::new();
//! let (a, b) = text.as_bytes().split_at(10);
//! stream.feed(&mapping, a, &mut streamed);
//! assert_eq!(streamed, b"stop "); // "AWS_E" is held back
//! stream.feed(&mapping, b, &mut streamed);
//! stream.finish(&mapping, &mut streamed);
//! assert_eq!(streamed, out);
//! ```

mod document;

pub use document::restore_document;

use memchr::memmem::Finder;

use crate::placeholder::{placeholder_run, shaped_len, Mapping, MAX_PLACEHOLDER_LEN, PREFIX};

/// The token that opens a thinking block's text in a JSON answer (`"type":"thinking"`, the
/// `"thinking"` key). Thinking text is signed and never masked in requests, so a placeholder
/// the model wrote there must not be restored: the client sends the block back with its next
/// turn. Where an answer cannot be walked as a document, restoring stops at this token. It
/// can also be a string whose whole text is `thinking`: then restoring stops early, which
/// leaves placeholders, never originals.
pub(crate) const THINKING: &[u8] = b"\"thinking\"";

/// True when `bytes` hold [`THINKING`].
pub(crate) fn has_thinking(bytes: &[u8]) -> bool {
    memchr::memmem::find(bytes, THINKING).is_some()
}

/// Room to reserve for the restored form of `len` bytes: originals are mostly longer than
/// their placeholders (a dense answer grows by 1-2%), and an output that outgrows its reserve
/// doubles, so a 1 MiB answer would take 2 MiB, every byte of it copied once more.
pub(crate) fn restored_capacity(len: usize) -> usize {
    len.saturating_add(len / 8)
}

/// How an original is written where its placeholder was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// Raw: the text is plain text.
    None,
    /// JSON-string-escaped: the text is the inside of a JSON string.
    Json,
    /// Escaped this many times: the text is inside a JSON string that is `n - 1` levels of
    /// JSON inside JSON strings deep (2: JSON text inside a JSON string, as a `tool_result`
    /// holding CLI output). 0 and 1 escape once.
    JsonTimes(u8),
}

/// What a restore did.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestoreStats {
    /// Placeholders replaced by their original.
    pub restored: u64,
    /// Placeholder-shaped tokens the mapping does not know, left unchanged.
    pub unknown: u64,
}

impl RestoreStats {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: RestoreStats) {
        self.restored += other.restored;
        self.unknown += other.unknown;
    }
}

/// Restores every known placeholder of `text` into `out` (appended), in one pass.
pub fn restore_into(
    text: &[u8],
    mapping: &Mapping,
    escape: Escape,
    out: &mut Vec<u8>,
    stats: &mut RestoreStats,
) {
    let finder = Finder::new(PREFIX.as_bytes());
    let consumed = step(&finder, text, mapping, escape, out, stats, true);
    debug_assert_eq!(consumed, text.len());
}

/// Restores text that arrives in chunks, holding back only a tail that could still become a
/// placeholder (at most [`StreamRestorer::holdback_bound`] bytes).
///
/// Its output, over all `feed` calls and `finish`, equals [`restore_into`] on the whole text,
/// for any split, and so do its stats.
#[derive(Clone, Debug)]
pub struct StreamRestorer {
    escape: Escape,
    finder: Finder<'static>,
    pending: Vec<u8>,
    joined: Vec<u8>,
    stats: RestoreStats,
}

impl StreamRestorer {
    /// A restorer writing originals with `escape`.
    pub fn new(escape: Escape) -> Self {
        StreamRestorer {
            escape,
            finder: Finder::new(PREFIX.as_bytes()).into_owned(),
            pending: Vec::new(),
            joined: Vec::new(),
            stats: RestoreStats::default(),
        }
    }

    /// The most this restorer holds back between calls with `mapping`.
    pub fn holdback_bound(mapping: &Mapping) -> usize {
        mapping.max_len().max(MAX_PLACEHOLDER_LEN)
    }

    /// Appends to `out` the restored text of `chunk` that can be decided now.
    pub fn feed(&mut self, mapping: &Mapping, chunk: &[u8], out: &mut Vec<u8>) {
        let (e, s) = (self.escape, &mut self.stats);
        if self.pending.is_empty() {
            let consumed = step(&self.finder, chunk, mapping, e, out, s, false);
            self.pending
                .extend_from_slice(chunk.get(consumed..).unwrap_or_default());
        } else {
            // Rare (the previous chunk ended in a placeholder prefix), so a copy is fine.
            self.joined.clear();
            self.joined.extend_from_slice(&self.pending);
            self.joined.extend_from_slice(chunk);
            let consumed = step(&self.finder, &self.joined, mapping, e, out, s, false);
            self.pending.clear();
            self.pending
                .extend_from_slice(self.joined.get(consumed..).unwrap_or_default());
        }
    }

    /// Appends to `out` whatever is still held back, restored; the restorer can then be reused.
    pub fn finish(&mut self, mapping: &Mapping, out: &mut Vec<u8>) {
        step(
            &self.finder,
            &self.pending,
            mapping,
            self.escape,
            out,
            &mut self.stats,
            true,
        );
        self.pending.clear();
    }

    /// Bytes held back now.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Counts so far.
    pub fn stats(&self) -> RestoreStats {
        self.stats
    }
}

/// Restores `text` into `out` as far as it can be decided and returns how many bytes of `text`
/// it consumed. With `last`, everything is decided.
///
/// A hit (`AWS_` at `hit`) is decided when the run of placeholder bytes from it ends inside
/// `text`, or is at least as long as any known placeholder and longer than any shaped one:
/// then more text cannot change the outcome. An undecided hit, or a trailing `A`, `AW`, `AWS`,
/// starts the held-back tail.
fn step(
    finder: &Finder<'_>,
    text: &[u8],
    mapping: &Mapping,
    escape: Escape,
    out: &mut Vec<u8>,
    stats: &mut RestoreStats,
    last: bool,
) -> usize {
    let decided_at = mapping.max_len().max(MAX_PLACEHOLDER_LEN + 1);
    // Escaping changes no original (the usual case: built-in kinds have none of `"`, `\` or a
    // control byte): copy them as they are.
    let escape = if mapping.originals_are_json_safe() {
        Escape::None
    } else {
        escape
    };
    let mut copied = 0;
    let mut from = 0;
    // A shaped token already counted covers text up to here: do not count its inner `AWS_`.
    let mut counted_until = 0;
    while let Some(hit) = text
        .get(from..)
        .and_then(|t| finder.find(t))
        .map(|o| from + o)
    {
        let rest = text.get(hit..).unwrap_or_default();
        let run = placeholder_run(rest, decided_at);
        if !last && run == rest.len() && run < decided_at {
            out.extend_from_slice(text.get(copied..hit).unwrap_or_default());
            return hit;
        }
        // Placeholders are placeholder bytes only: lengths beyond the run need no lookup.
        if let Some((len, original)) = mapping.match_at(rest.get(..run).unwrap_or(rest)) {
            out.extend_from_slice(text.get(copied..hit).unwrap_or_default());
            write_escaped(original.as_bytes(), escape, out);
            stats.restored += 1;
            copied = hit + len;
            from = copied;
            continue;
        }
        if hit >= counted_until {
            // Truncated so a long run costs O(MAX_PLACEHOLDER_LEN), not O(run), per hit.
            let probe = rest.get(..MAX_PLACEHOLDER_LEN + 1).unwrap_or(rest);
            if let Some(n) = shaped_len(probe).filter(|n| *n <= MAX_PLACEHOLDER_LEN) {
                stats.unknown += 1;
                counted_until = hit + n;
            }
        }
        from = hit + 1;
    }
    let keep = if last {
        0
    } else {
        prefix_tail(text).min(text.len() - copied)
    };
    let end = text.len() - keep;
    out.extend_from_slice(text.get(copied..end).unwrap_or_default());
    end
}

/// Length of the longest proper prefix of `AWS_` that `text` ends with.
fn prefix_tail(text: &[u8]) -> usize {
    let p = PREFIX.as_bytes();
    (1..p.len())
        .rev()
        .find(|k| p.get(..*k).is_some_and(|pre| text.ends_with(pre)))
        .unwrap_or(0)
}

/// Appends `original` to `out`, escaped `escape` times.
pub fn write_escaped(original: &[u8], escape: Escape, out: &mut Vec<u8>) {
    match escape {
        Escape::None => out.extend_from_slice(original),
        Escape::Json => json_escape_into(original, out),
        Escape::JsonTimes(times) => {
            if times <= 1 || !original.iter().any(|b| needs_escape(*b)) {
                return json_escape_into(original, out);
            }
            // Each level escapes the backslashes of the one inside it: 2^n - 1 of them before
            // a quote escaped n times.
            let mut text = original.to_vec();
            for _ in 1..times {
                let mut next = Vec::with_capacity(text.len() * 2);
                json_escape_into(&text, &mut next);
                text = next;
            }
            json_escape_into(&text, out);
        }
    }
}

#[inline]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Appends `text` escaped as the inside of a JSON string, as serde_json writes it.
pub fn json_escape_into(text: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut copied = 0;
    for (i, &b) in text.iter().enumerate() {
        if !needs_escape(b) {
            continue;
        }
        out.extend_from_slice(text.get(copied..i).unwrap_or_default());
        copied = i + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
                let lo = HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0');
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hi, lo]);
            }
        }
    }
    out.extend_from_slice(text.get(copied..).unwrap_or_default());
}

#[cfg(test)]
mod tests;
