//! Stable keyed placeholders and the per-exchange mapping.
//!
//! A placeholder is `AWS_<KIND>_<H>`: `<KIND>` is the kind label (`EC2`, `ARN_IAM_ROLE`, ...)
//! and `<H>` is [`HASH_LEN`] characters of RFC 4648 base32 (`A-Z2-7`) taken from
//! HMAC-SHA256(secret, kind, original): 65 bits. The same value gives the same placeholder in
//! every request, worker and node that share the secret, which keeps Claude's prompt cache
//! warm and conversation history consistent.
//!
//! `<H>` has a fixed length and never contains `_`, so placeholders of built-in kinds are never
//! prefixes of one another (a custom label could embed a whole placeholder; restorers match the
//! longest known placeholder, so that stays correct).
//!
//! ```
//! use aws_masker::placeholder::{Mapping, Placeholders};
//!
//! let keys = Placeholders::new(b"an example secret of at least 32 bytes");
//! let mut mapping = Mapping::default();
//! let p = keys.issue(&mut mapping, "EC2", "i-0b263919b6498b123");
//! assert!(p.starts_with("AWS_EC2_"));
//! assert_eq!(mapping.original(&p), Some("i-0b263919b6498b123"));
//! assert_eq!(keys.issue(&mut mapping, "EC2", "i-0b263919b6498b123"), p);
//! ```

use std::ops::Range;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::memo::{hash, same, Memo};

mod sha4;

/// Every placeholder starts with this.
pub const PREFIX: &str = "AWS_";
/// Length of the hash part of a placeholder, in base32 characters (5 bits each).
pub const HASH_LEN: usize = 13;
/// Longest kind label accepted (built-in or custom).
pub const MAX_LABEL_LEN: usize = 32;
/// Longest possible placeholder: `AWS_` + label + `_` + hash.
pub const MAX_PLACEHOLDER_LEN: usize = PREFIX.len() + MAX_LABEL_LEN + 1 + HASH_LEN;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Returns true when `label` can be a kind label: `[A-Z][A-Z0-9_]*`, at most
/// [`MAX_LABEL_LEN`] bytes.
pub fn is_valid_label(label: &str) -> bool {
    let b = label.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_LABEL_LEN
        && b[0].is_ascii_uppercase()
        && b.iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_')
}

/// Returns true for bytes that can appear in a placeholder. Branch-free, so a loop of it
/// over a block vectorizes (see [`placeholder_run`]).
#[inline]
pub fn is_placeholder_byte(b: u8) -> bool {
    (b.wrapping_sub(b'A') < 26) | (b.wrapping_sub(b'0') < 10) | (b == b'_')
}

/// How many bytes `text` starts with that can appear in a placeholder, counting at most
/// `max`. Sixteen bytes a step: restorers measure this run at every `AWS_` they find.
pub(crate) fn placeholder_run(text: &[u8], max: usize) -> usize {
    let mut run = 0;
    while let Some(Ok(block)) = text.get(run..run + 16).map(<[u8; 16]>::try_from) {
        let bits = crate::words::block_bits(&block, is_placeholder_byte);
        run += bits.trailing_ones() as usize;
        if bits != 0xffff || run >= max {
            return run.min(max);
        }
    }
    let tail = text.get(run..).unwrap_or_default();
    (run + tail.iter().take_while(|&&c| is_placeholder_byte(c)).count()).min(max)
}

/// If `text` starts with something shaped like a placeholder (`AWS_<LABEL>_<H>`), returns its
/// length. Used to count placeholders nobody issued; it does not say the placeholder is known.
pub fn shaped_len(text: &[u8]) -> Option<usize> {
    if !text.starts_with(PREFIX.as_bytes()) {
        return None;
    }
    let run = placeholder_run(text, text.len());
    // The hash is the last HASH_LEN bytes of the run, after a `_`, and holds no `_`.
    let label_end = run.checked_sub(HASH_LEN + 1)?;
    if label_end <= PREFIX.len() || text[label_end] != b'_' {
        return None;
    }
    let hash = &text[label_end + 1..run];
    if hash.iter().all(|b| BASE32.contains(b)) {
        Some(run)
    } else {
        None
    }
}

/// The keyed placeholder generator: holds the HMAC key derived from `token_secret`, and
/// remembers the placeholders it derived lately: a conversation sends its whole history
/// with every turn, so most identifiers of a request were hashed for an earlier one.
pub struct Placeholders {
    mac: Hmac<Sha256>,
    /// The same key, for hashing four placeholders at once (in the engine; natively the
    /// tests use it, and it costs two compressions when the generator is made).
    keyed: sha4::Keyed,
    recent: Mutex<Recent>,
}

impl Clone for Placeholders {
    /// The same key; nothing remembered.
    fn clone(&self) -> Self {
        Placeholders {
            mac: self.mac.clone(),
            keyed: self.keyed.clone(),
            recent: Mutex::default(),
        }
    }
}

/// Placeholders derived lately (round 0 only), by `label \0 original`, in a memo of two
/// slots per key: bounded, and a crafted body can only make it forget (then the hash is
/// computed again).
#[derive(Default)]
struct Recent {
    memo: Memo<Stored, { Recent::SLOTS }, { Recent::MAX_KEY }>,
    key: Vec<u8>,
}

/// A placeholder held in place (remembering or recalling one allocates nothing).
#[derive(Clone)]
struct Stored {
    len: u8,
    bytes: [u8; MAX_PLACEHOLDER_LEN],
}

impl Stored {
    fn new(placeholder: &str) -> Option<Stored> {
        let mut bytes = [0; MAX_PLACEHOLDER_LEN];
        bytes
            .get_mut(..placeholder.len())?
            .copy_from_slice(placeholder.as_bytes());
        Some(Stored {
            len: u8::try_from(placeholder.len()).ok()?,
            bytes,
        })
    }

    fn as_str(&self) -> &str {
        let bytes = self.bytes.get(..usize::from(self.len)).unwrap_or_default();
        std::str::from_utf8(bytes).unwrap_or_default()
    }
}

impl Recent {
    /// Placeholders held at most.
    const SLOTS: usize = 4096;
    /// Longer keys (label, NUL, original) are not remembered.
    const MAX_KEY: usize = 128;

    fn get(&mut self, label: &str, original: &str) -> Option<&str> {
        self.key.clear();
        self.key.extend_from_slice(label.as_bytes());
        self.key.push(0);
        self.key.extend_from_slice(original.as_bytes());
        self.memo.get(&self.key).map(Stored::as_str)
    }

    /// Remembers `placeholder` for the key of the last [`Recent::get`].
    fn put_last(&mut self, placeholder: &str) {
        if let Some(stored) = Stored::new(placeholder) {
            self.memo.put(&self.key, stored);
        }
    }
}

impl std::fmt::Debug for Placeholders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Placeholders { key: <redacted> }")
    }
}

impl Placeholders {
    /// Creates a generator keyed with `secret`.
    pub fn new(secret: &[u8]) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        let mac = match Hmac::<Sha256>::new_from_slice(secret) {
            Ok(mac) => mac,
            Err(_) => unreachable_hmac(),
        };
        Placeholders {
            mac,
            keyed: sha4::Keyed::new(secret),
            recent: Mutex::default(),
        }
    }

    /// Forgets the placeholders remembered so far (benchmarks use it to measure the work of
    /// a request whose identifiers were never seen).
    pub fn forget_recent(&self) {
        if let Ok(mut recent) = self.recent.lock() {
            recent.memo.clear();
        }
    }

    /// [`Placeholders::derive`] of round 0, remembered, appended to `out`.
    fn derive_first_into(&self, label: &str, original: &str, out: &mut String) {
        let Ok(mut recent) = self.recent.lock() else {
            return self.derive_into(label, original, 0, out);
        };
        if let Some(p) = recent.get(label, original) {
            out.push_str(p);
            return;
        }
        let start = out.len();
        self.derive_into(label, original, 0, out);
        recent.put_last(out.get(start..).unwrap_or_default());
    }

    /// The placeholder for `original` of kind `label`, without consulting any mapping.
    /// `round` is 0 except when resolving a collision.
    pub fn derive(&self, label: &str, original: &str, round: u32) -> String {
        let mut out = String::with_capacity(PREFIX.len() + label.len() + 1 + HASH_LEN);
        self.derive_into(label, original, round, &mut out);
        out
    }

    /// True when `placeholder` is what these keys derive for `original` of the kind the
    /// placeholder names (in one of the first collision rounds). What a store answers (Redis,
    /// the node's shared data) is checked with it before it can put text in a response: an
    /// entry written under another `token_secret`, or by anyone else, is not.
    pub fn derives(&self, placeholder: &str, original: &str) -> bool {
        /// Rounds past 0 are taken only when two originals of one exchange hash alike.
        const ROUNDS: u32 = 4;
        let label = placeholder
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.get(..rest.len().checked_sub(HASH_LEN + 1)?));
        label.is_some_and(|label| {
            (0..ROUNDS).any(|round| self.derive(label, original, round) == placeholder)
        })
    }

    /// [`Placeholders::derive`], appended to `out`.
    fn derive_into(&self, label: &str, original: &str, round: u32, out: &mut String) {
        let mut mac = self.mac.clone();
        mac.update(label.as_bytes());
        mac.update(&[0]);
        mac.update(original.as_bytes());
        if round > 0 {
            mac.update(&[0]);
            mac.update(&round.to_be_bytes());
        }
        push_placeholder(label, &mac.finalize().into_bytes(), out);
    }

    /// Returns the placeholder for `original` and records it in `mapping`. If another original
    /// already holds the derived placeholder in this mapping (a hash collision), a further
    /// round is derived, so two originals never share a placeholder.
    pub fn issue(&self, mapping: &mut Mapping, label: &str, original: &str) -> String {
        let mut out = String::new();
        self.issue_into(mapping, label, original, &mut out);
        out
    }

    /// [`Placeholders::issue`], appending the placeholder to `out` (nothing is allocated per
    /// identifier once the mapping's buffers have grown: a body issues thousands).
    pub(crate) fn issue_into(
        &self,
        mapping: &mut Mapping,
        label: &str,
        original: &str,
        out: &mut String,
    ) {
        // The candidate is written where its entry would go, then claimed or taken back.
        let start = mapping.text.len();
        self.derive_first_into(label, original, &mut mapping.text);
        self.claim_into(mapping, start, label, original, out);
    }

    /// [`Placeholders::issue_into`] for each of `items` (label, original), in order: each
    /// placeholder is appended to `out` and its range pushed to `at`. The hashes the recent
    /// memo lacks are computed first, four at a time where the target has vector instructions
    /// (Wasm SIMD), then the placeholders are claimed in order as one by one.
    pub(crate) fn issue_all_into(
        &self,
        mapping: &mut Mapping,
        items: &[(&str, &str)],
        out: &mut String,
        at: &mut Vec<Range<usize>>,
    ) {
        self.issue_all_with(mapping, items, out, at, BATCHED);
    }

    /// [`Placeholders::issue_all_into`], hashing four at a time or not.
    fn issue_all_with(
        &self,
        mapping: &mut Mapping,
        items: &[(&str, &str)],
        out: &mut String,
        at: &mut Vec<Range<usize>>,
        batched: bool,
    ) {
        let (text, first) = self.first_rounds(items, batched);
        for (&(label, original), span) in items.iter().zip(first) {
            let start = mapping.text.len();
            mapping.text.push_str(text.get(span).unwrap_or_default());
            let from = out.len();
            self.claim_into(mapping, start, label, original, out);
            at.push(from..out.len());
        }
    }

    /// Claims the candidate written at `mapping.text[start..]` for `original`, deriving further
    /// rounds while another original holds it, and appends the placeholder claimed to `out`.
    fn claim_into(
        &self,
        mapping: &mut Mapping,
        start: usize,
        label: &str,
        original: &str,
        out: &mut String,
    ) {
        let mut round = 0;
        loop {
            if round > 0 {
                self.derive_into(label, original, round, &mut mapping.text);
            }
            match mapping.claim(start, original) {
                Some(entry) => {
                    out.push_str(mapping.placeholder(entry));
                    return;
                }
                None => {
                    mapping.collisions += 1;
                    round += 1;
                }
            }
        }
    }

    /// The round-0 placeholder of every item, written one after the other: remembered, else
    /// derived (four at a time when `batched`) and remembered.
    fn first_rounds(&self, items: &[(&str, &str)], batched: bool) -> (String, Vec<Range<usize>>) {
        let mut text = String::with_capacity(items.len() * (PREFIX.len() + 16 + HASH_LEN));
        let mut spans: Vec<Option<Range<usize>>> = vec![None; items.len()];
        if let Ok(mut recent) = self.recent.lock() {
            for (&(label, original), span) in items.iter().zip(&mut spans) {
                if let Some(p) = recent.get(label, original) {
                    let start = text.len();
                    text.push_str(p);
                    *span = Some(start..text.len());
                }
            }
        }
        let misses: Vec<usize> = (0..items.len())
            .filter(|&i| spans.get(i).is_some_and(Option::is_none))
            .collect();
        let message_len = |i: usize| items.get(i).map_or(0, |(l, o)| l.len() + 1 + o.len());
        if batched {
            // Grouped by the blocks their inner hash takes, so no lane idles through another's
            // second block.
            let blocks = |i: usize| sha4::inner_blocks(message_len(i));
            let (one, two): (Vec<usize>, Vec<usize>) = misses
                .iter()
                .filter(|&&i| blocks(i).is_some())
                .partition(|&&i| blocks(i) == Some(1));
            let mut messages = [const { Vec::new() }; 4];
            for chunk in one.chunks(4).chain(two.chunks(4)) {
                // A short chunk repeats its first message in the lanes it leaves free.
                for (lane, m) in messages.iter_mut().enumerate() {
                    let i = chunk.get(lane).or(chunk.first()).copied().unwrap_or(0);
                    let (label, original) = items.get(i).copied().unwrap_or_default();
                    m.clear();
                    m.extend_from_slice(label.as_bytes());
                    m.push(0);
                    m.extend_from_slice(original.as_bytes());
                }
                let Some(digests) = self.keyed.mac4(messages.each_ref().map(Vec::as_slice)) else {
                    continue;
                };
                for (&i, words) in chunk.iter().zip(digests) {
                    let mut digest = [0u8; 32];
                    for (d, w) in digest.chunks_mut(4).zip(words) {
                        d.copy_from_slice(&w.to_be_bytes());
                    }
                    let (label, _) = items.get(i).copied().unwrap_or_default();
                    let start = text.len();
                    push_placeholder(label, &digest, &mut text);
                    if let Some(span) = spans.get_mut(i) {
                        *span = Some(start..text.len());
                    }
                }
            }
        }
        for &i in &misses {
            if let (Some(span @ None), Some(&(label, original))) = (spans.get_mut(i), items.get(i))
            {
                let start = text.len();
                self.derive_into(label, original, 0, &mut text);
                *span = Some(start..text.len());
            }
        }
        if let Ok(mut recent) = self.recent.lock() {
            for &i in &misses {
                if let (Some(Some(span)), Some(&(label, original))) = (spans.get(i), items.get(i)) {
                    recent.get(label, original);
                    recent.put_last(text.get(span.clone()).unwrap_or_default());
                }
            }
        }
        let spans = spans.into_iter().map(Option::unwrap_or_default).collect();
        (text, spans)
    }
}

/// Four placeholders are hashed at once where the target has 128-bit vectors (the filter);
/// natively SHA-256 has hardware help, and one at a time is faster.
const BATCHED: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));

/// Appends `AWS_<label>_<H>`, `<H>` the first [`HASH_LEN`] * 5 = 65 bits of `digest` in base32.
fn push_placeholder(label: &str, digest: &[u8], out: &mut String) {
    out.push_str(PREFIX);
    out.push_str(label);
    out.push('_');
    let mut acc: u128 = 0;
    for b in digest.iter().take(9) {
        acc = (acc << 8) | u128::from(*b);
    }
    // 72 bits in acc; use the top 65.
    for i in 0..HASH_LEN {
        let shift = 72 - 5 * (i + 1);
        let idx = ((acc >> shift) & 31) as usize;
        out.push(char::from(BASE32[idx]));
    }
}

/// Keeps a mapping's summaries up to date for a new entry: the distinct placeholder lengths
/// (longest first) and the count of originals that JSON escapes.
fn note_new(lengths: &mut Vec<usize>, escaped: &mut usize, len: usize, original: &str) {
    if let Err(pos) = lengths.binary_search_by(|probe| len.cmp(probe)) {
        lengths.insert(pos, len);
    }
    // Without an early exit, so the compiler vectorizes it: originals are short.
    if original.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    }) {
        *escaped += 1;
    }
}

#[cold]
fn unreachable_hmac() -> ! {
    // `Hmac::new_from_slice` only fails for fixed-size-key MACs; SHA-256 HMAC takes any length.
    #[allow(clippy::panic)]
    {
        panic!("hmac rejected a key")
    }
}

/// The placeholders issued (or learned) for one exchange: placeholder -> original.
///
/// The entries are written back to back in one string (a placeholder, then its original) and
/// found through an open-addressing table of entry numbers, at most half full: issuing an
/// identifier allocates nothing once the buffers have grown, and a lookup hashes a few
/// words. The table's hash is not keyed: the placeholders put in it end in an HMAC nobody
/// without the secret can steer, so they spread evenly, and a lookup of any text (a
/// response may hold anything) ends at the first empty slot after a short run.
#[derive(Clone, Default)]
pub struct Mapping {
    /// Placeholder and original of every entry, one after the other.
    text: String,
    /// Per entry: its placeholder is `text[start..mid]`, its original `text[mid..end]`.
    entries: Vec<Span>,
    /// Entry number + 1 per slot, 0 when empty; a power of two long (or empty).
    slots: Vec<u32>,
    /// Distinct placeholder lengths, longest first.
    lengths: Vec<usize>,
    /// Hash collisions resolved while issuing.
    pub collisions: u32,
    /// Originals holding a byte that JSON escapes (`"`, `\`, control characters): only
    /// custom patterns can issue such originals.
    escaped_originals: usize,
}

#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    mid: usize,
    end: usize,
}

/// Where a placeholder is, or would go, in a mapping's table.
enum Slot {
    Held(usize),
    Free(usize),
}

impl std::fmt::Debug for Mapping {
    /// Counts only: a mapping holds originals, which must not reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping")
            .field("entries", &self.len())
            .field("collisions", &self.collisions)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Mapping {
    /// The same pairs, in any order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self.collisions == other.collisions
            && self.iter().all(|(p, o)| other.original(p) == Some(o))
    }
}

impl Eq for Mapping {}

/// Two different originals claimed the same placeholder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The placeholder in question (safe to log: it reveals nothing about the originals).
    pub placeholder: String,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "placeholder {} maps to two different originals",
            self.placeholder
        )
    }
}

impl std::error::Error for Conflict {}

impl Mapping {
    /// The original behind `placeholder`, if this mapping knows it.
    pub fn original(&self, placeholder: &str) -> Option<&str> {
        match self.find(placeholder.as_bytes()) {
            Slot::Held(entry) => Some(self.original_at(entry)),
            Slot::Free(_) => None,
        }
    }

    /// Adds an entry learned elsewhere (the bridge, the node-local cache). Adding the same
    /// pair twice is fine; a different original for a known placeholder is a [`Conflict`].
    pub fn insert(&mut self, placeholder: String, original: String) -> Result<(), Conflict> {
        let start = self.text.len();
        self.text.push_str(&placeholder);
        match self.claim(start, &original) {
            Some(_) => Ok(()),
            None => Err(Conflict { placeholder }),
        }
    }

    /// Makes `text[start..]` (a placeholder just written there) the entry for `original`,
    /// unless the placeholder is known: then the text is taken back, and the known entry is
    /// returned if it holds `original`, `None` if another one.
    fn claim(&mut self, start: usize, original: &str) -> Option<usize> {
        self.reserve(1);
        let placeholder = self.text.get(start..).unwrap_or_default().as_bytes();
        match self.find(placeholder) {
            Slot::Held(entry) => {
                self.text.truncate(start);
                (self.original_at(entry) == original).then_some(entry)
            }
            Slot::Free(slot) => {
                let mid = self.text.len();
                note_new(
                    &mut self.lengths,
                    &mut self.escaped_originals,
                    mid - start,
                    original,
                );
                self.text.push_str(original);
                let entry = self.entries.len();
                self.entries.push(Span {
                    start,
                    mid,
                    end: self.text.len(),
                });
                self.set_slot(slot, entry);
                Some(entry)
            }
        }
    }

    /// The slot of `placeholder`'s entry, or the free slot where it would go (the table is
    /// never full, so the probe ends).
    fn find(&self, placeholder: &[u8]) -> Slot {
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = hash(placeholder) as usize & mask;
        loop {
            let Some(entry) = self.slots.get(i).and_then(|&n| (n as usize).checked_sub(1)) else {
                return Slot::Free(i);
            };
            if same(self.placeholder(entry).as_bytes(), placeholder) {
                return Slot::Held(entry);
            }
            i = (i + 1) & mask;
        }
    }

    fn set_slot(&mut self, slot: usize, entry: usize) {
        if let Some(s) = self.slots.get_mut(slot) {
            *s = u32::try_from(entry + 1).unwrap_or(0);
        }
    }

    fn span(&self, entry: usize) -> Span {
        self.entries.get(entry).copied().unwrap_or(Span {
            start: 0,
            mid: 0,
            end: 0,
        })
    }

    fn placeholder(&self, entry: usize) -> &str {
        let Span { start, mid, .. } = self.span(entry);
        self.text.get(start..mid).unwrap_or_default()
    }

    fn original_at(&self, entry: usize) -> &str {
        let Span { mid, end, .. } = self.span(entry);
        self.text.get(mid..end).unwrap_or_default()
    }

    /// Makes room for `additional` more entries.
    pub(crate) fn reserve(&mut self, additional: usize) {
        // More than twice as many slots as entries: probes stay short, and end.
        let wanted = 2 * (self.entries.len() + additional);
        if self.slots.len() > wanted {
            return;
        }
        self.entries.reserve(additional);
        self.slots.clear();
        self.slots
            .resize((wanted + 1).next_power_of_two().max(16), 0);
        for entry in 0..self.entries.len() {
            if let Slot::Free(i) = self.find(self.placeholder(entry).as_bytes()) {
                self.set_slot(i, entry);
            }
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing was issued.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Distinct placeholder lengths, longest first: a restorer tries these at each `AWS_`.
    pub fn lengths(&self) -> &[usize] {
        &self.lengths
    }

    /// True when no original holds a byte that JSON escapes: then an original is written the
    /// same way at every level of JSON escaping, and restorers may skip finding the level.
    pub fn originals_are_json_safe(&self) -> bool {
        self.escaped_originals == 0
    }

    /// The longest placeholder in the mapping (0 when empty).
    pub fn max_len(&self) -> usize {
        self.lengths.first().copied().unwrap_or(0)
    }

    /// Looks for a known placeholder at the start of `text`, longest first. Returns its length
    /// and original.
    pub fn match_at(&self, text: &[u8]) -> Option<(usize, &str)> {
        for &len in &self.lengths {
            if let Some(candidate) = text.get(..len) {
                if let Slot::Held(entry) = self.find(candidate) {
                    return Some((len, self.original_at(entry)));
                }
            }
        }
        None
    }

    /// Iterates over (placeholder, original) pairs, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        (0..self.entries.len()).map(|e| (self.placeholder(e), self.original_at(e)))
    }

    /// Adds every entry of `other`; stops at the first conflict.
    pub fn extend_from(&mut self, other: &Mapping) -> Result<(), Conflict> {
        for (p, o) in other.iter() {
            self.insert(p.to_owned(), o.to_owned())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Placeholders {
        Placeholders::new(b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn placeholder_shape_is_fixed() {
        let p = keys().derive("EC2", "i-0b263919b6498b123", 0);
        assert_eq!(p.len(), "AWS_EC2_".len() + HASH_LEN);
        assert!(p.bytes().all(is_placeholder_byte));
        assert_eq!(shaped_len(p.as_bytes()), Some(p.len()));
    }

    /// Items of every length class: one inner block, two, and too long for four at a time;
    /// some repeated, and more than a multiple of four.
    fn batch_items() -> Vec<(String, String)> {
        let mut items = Vec::new();
        for n in 0..23 {
            let original = "x".repeat(n * 7) + &n.to_string();
            let label = ["EC2", "ARN_IAM_ROLE", "S3_BUCKET"][n % 3];
            items.push((label.to_owned(), original));
        }
        items.push(items[4].clone());
        items.push(("EC2".to_owned(), "i-0b263919b6498b123".to_owned()));
        items
    }

    #[test]
    fn hashing_four_at_a_time_gives_the_placeholders_of_one_at_a_time() {
        let items = batch_items();
        let items: Vec<(&str, &str)> = items.iter().map(|(l, o)| (&l[..], &o[..])).collect();
        let keys = keys();
        let firsts = |batched| {
            let (text, spans) = keys.first_rounds(&items, batched);
            spans
                .into_iter()
                .map(|r| text[r].to_owned())
                .collect::<Vec<_>>()
        };
        let four = firsts(true);
        keys.forget_recent();
        let one = firsts(false);
        assert_eq!(four.len(), items.len());
        for ((&(label, original), p), q) in items.iter().zip(&four).zip(&one) {
            assert_eq!(p, q, "{label} of {} bytes", original.len());
            assert_eq!(*p, keys.derive(label, original, 0));
        }
        // Remembered now: a second call hashes nothing and answers the same.
        assert_eq!(firsts(true), one);
    }

    #[test]
    fn issuing_all_at_once_is_issuing_one_by_one() {
        let items = batch_items();
        let items: Vec<(&str, &str)> = items.iter().map(|(l, o)| (&l[..], &o[..])).collect();
        let keys = keys();
        let mut one = Mapping::default();
        let singly: Vec<String> = items
            .iter()
            .map(|(l, o)| keys.issue(&mut one, l, o))
            .collect();
        let entries = |m: &Mapping| {
            m.iter()
                .map(|(p, o)| (p.to_owned(), o.to_owned()))
                .collect::<Vec<_>>()
        };
        // Four at a time and one at a time; with nothing remembered, and with every other
        // item remembered (hits and misses in one call).
        for batched in [true, false] {
            for warm in [false, true] {
                keys.forget_recent();
                if warm {
                    for (l, o) in items.iter().step_by(2) {
                        keys.derive_first_into(l, o, &mut String::new());
                    }
                }
                let (mut all, mut out, mut at) = (Mapping::default(), String::new(), Vec::new());
                keys.issue_all_with(&mut all, &items, &mut out, &mut at, batched);
                let together: Vec<&str> = at.into_iter().map(|r| &out[r]).collect();
                assert_eq!(together, singly, "batched {batched}, warm {warm}");
                assert_eq!(entries(&all), entries(&one), "entries in the same order");
                assert_eq!(all.len(), items.len() - 1, "the repeated item is one entry");
            }
        }
    }

    #[test]
    fn stable_across_generators_with_the_same_secret() {
        let a = keys().derive("VPC", "vpc-a01106c2", 0);
        let b = keys().derive("VPC", "vpc-a01106c2", 0);
        assert_eq!(a, b);
    }

    #[test]
    fn different_secret_kind_or_value_give_different_placeholders() {
        let base = keys().derive("VPC", "vpc-a01106c2", 0);
        let other_secret = Placeholders::new(b"another secret, also 32 bytes long").derive(
            "VPC",
            "vpc-a01106c2",
            0,
        );
        let other_kind = keys().derive("SUBNET", "vpc-a01106c2", 0);
        let other_value = keys().derive("VPC", "vpc-a01106c3", 0);
        assert_ne!(base, other_secret);
        assert_ne!(base[8..], other_kind["AWS_SUBNET_".len()..]);
        assert_ne!(base, other_value);
    }

    #[test]
    fn remembered_placeholders_are_the_derived_ones_and_bounded() {
        let keys = keys();
        let original = |i: usize| format!("i-{i:017x}");
        let n = 3 * Recent::SLOTS;
        for pass in 0..2 {
            let mut mapping = Mapping::default();
            for i in 0..n {
                let p = keys.issue(&mut mapping, "EC2", &original(i));
                assert_eq!(p, keys.derive("EC2", &original(i), 0), "pass {pass}");
            }
        }
        // Bounded: not all of them are held. Remembered: most of a conversation's worth are.
        let held = |keys: &Placeholders, n: usize| {
            (0..n)
                .filter(|&i| {
                    keys.recent
                        .lock()
                        .unwrap()
                        .get("EC2", &original(i))
                        .is_some()
                })
                .count()
        };
        assert!(held(&keys, n) <= Recent::SLOTS);
        let fresh = Placeholders::new(b"another secret of at least 32 bytes!!");
        let mut mapping = Mapping::default();
        for i in 0..Recent::SLOTS / 4 {
            fresh.issue(&mut mapping, "EC2", &original(i));
        }
        let h = held(&fresh, Recent::SLOTS / 4);
        assert!(h > Recent::SLOTS / 5, "{h}");
        // Too long to remember, and still right.
        let long = "x".repeat(Recent::MAX_KEY);
        let mut mapping = Mapping::default();
        assert_eq!(
            keys.issue(&mut mapping, "EC2", &long),
            keys.derive("EC2", &long, 0)
        );
        assert_eq!(keys.recent.lock().unwrap().get("EC2", &long), None);
        // The same original under another label is another placeholder.
        let mut mapping = Mapping::default();
        let a = keys.issue(&mut mapping, "EC2", "x-1");
        let b = keys.issue(&mut mapping, "AMI", "x-1");
        assert_ne!(a, b);
        assert_eq!(b, keys.derive("AMI", "x-1", 0));
        keys.forget_recent();
        assert_eq!(keys.recent.lock().unwrap().get("AMI", "x-1"), None);
        assert_eq!(keys.clone().recent.lock().unwrap().get("EC2", "x-1"), None);
    }

    #[test]
    fn collision_is_resolved_with_another_round() {
        let k = keys();
        let mut m = Mapping::default();
        // Pretend another original already holds the placeholder of this one.
        let taken = k.derive("EC2", "i-11111111", 0);
        m.insert(taken.clone(), "i-22222222".into()).unwrap();
        let p = k.issue(&mut m, "EC2", "i-11111111");
        assert_ne!(p, taken);
        assert_eq!(m.collisions, 1);
        assert_eq!(m.original(&p), Some("i-11111111"));
        assert_eq!(m.original(&taken), Some("i-22222222"));
    }

    #[test]
    fn conflicting_insert_is_an_error() {
        let mut m = Mapping::default();
        m.insert("AWS_EC2_AAAAAAAAAAAAA".into(), "i-1".into())
            .unwrap();
        m.insert("AWS_EC2_AAAAAAAAAAAAA".into(), "i-1".into())
            .unwrap();
        let err = m
            .insert("AWS_EC2_AAAAAAAAAAAAA".into(), "i-2".into())
            .unwrap_err();
        assert_eq!(err.placeholder, "AWS_EC2_AAAAAAAAAAAAA");
    }

    #[test]
    fn match_at_prefers_the_longest() {
        let k = keys();
        let mut m = Mapping::default();
        let short = k.issue(&mut m, "EC2", "i-1");
        let long = k.issue(&mut m, "EC2_HOST", "ip-10-0-0-1.ec2.internal");
        let text = format!("{long} and {short}");
        assert_eq!(
            m.match_at(text.as_bytes()).map(|(n, _)| n),
            Some(long.len())
        );
        assert_eq!(m.match_at(b"AWS_EC2_"), None);
        assert_eq!(m.lengths(), &[long.len(), short.len()]);
    }

    #[test]
    fn mapping_finds_every_entry_and_nothing_else_as_it_grows() {
        let k = keys();
        let mut m = Mapping::default();
        assert_eq!(m.original("AWS_EC2_AAAAAAAAAAAAA"), None);
        let originals: Vec<String> = (0..3000).map(|i| format!("i-{i:017x}")).collect();
        let mut issued = Vec::new();
        for (n, original) in originals.iter().enumerate() {
            issued.push(k.issue(&mut m, "EC2", original));
            // Every entry so far, after each growth of the table (and a few steps between).
            if (n + 1).is_power_of_two() || n % 500 == 0 {
                for (p, o) in issued.iter().zip(&originals) {
                    assert_eq!(m.original(p), Some(o.as_str()), "after {} entries", n + 1);
                }
            }
        }
        assert_eq!(m.len(), originals.len());
        // Issuing again finds the entry; nothing is added.
        assert_eq!(k.issue(&mut m, "EC2", &originals[7]), issued[7]);
        assert_eq!(m.len(), originals.len());
        // Texts that are not placeholders of this mapping: shaped ones, prefixes, empty.
        let other = Placeholders::new(b"another secret, also 32 bytes long");
        for original in &originals {
            let unknown = other.derive("EC2", original, 0);
            assert_eq!(m.original(&unknown), None);
            assert_eq!(m.match_at(unknown.as_bytes()), None);
        }
        assert_eq!(m.original(&issued[0][..issued[0].len() - 1]), None);
        assert_eq!(m.original(""), None);
        let text = format!("{} rest", issued[42]);
        assert_eq!(
            m.match_at(text.as_bytes()),
            Some((issued[42].len(), originals[42].as_str()))
        );
    }

    #[test]
    fn mapping_lists_in_order_compares_as_a_set_and_never_shows_originals() {
        let k = keys();
        let (mut a, mut b) = (Mapping::default(), Mapping::default());
        let pa = k.issue(&mut a, "EC2", "i-0aaaaaaaaaaaaaaaa");
        let pb = k.issue(&mut a, "VPC", "vpc-0bbbbbbbbbbbbbbbb");
        k.issue(&mut b, "VPC", "vpc-0bbbbbbbbbbbbbbbb");
        assert_ne!(a, b);
        k.issue(&mut b, "EC2", "i-0aaaaaaaaaaaaaaaa");
        assert_eq!(a, b);
        let listed: Vec<(&str, &str)> = a.iter().collect();
        assert_eq!(
            listed,
            [
                (pa.as_str(), "i-0aaaaaaaaaaaaaaaa"),
                (pb.as_str(), "vpc-0bbbbbbbbbbbbbbbb")
            ]
        );
        let shown = format!("{a:?}");
        assert!(!shown.contains("i-0a") && !shown.contains(&pa), "{shown}");
        // A conflicting insert leaves the mapping as it was.
        let before = a.clone();
        assert!(a.insert(pa.clone(), "i-0cccccccccccccccc".into()).is_err());
        assert_eq!(a, before);
        assert_eq!(a.iter().count(), 2);
    }

    #[test]
    fn placeholder_run_counts_what_a_bytewise_count_does() {
        let bytewise = |t: &[u8], max: usize| {
            t.iter()
                .take(max)
                .take_while(|c| is_placeholder_byte(**c))
                .count()
        };
        // Runs of every length up to 50 ended by each kind of byte next to the classes (and
        // by the end of the text), counted with several limits.
        for len in 0..50 {
            let run: Vec<u8> = (0..len).map(|k| b"AZ09_QM7"[k % 8]).collect();
            for end in [
                None,
                Some(b'@'),
                Some(b'['),
                Some(b'/'),
                Some(b':'),
                Some(b'^'),
                Some(b'`'),
                Some(b'a'),
                Some(0xc3),
            ] {
                let mut text = run.clone();
                text.extend(end);
                text.extend(b"AWS_MORE");
                let text = if end.is_none() {
                    &text[..len]
                } else {
                    &text[..]
                };
                for max in [0, 1, 15, 16, 17, 50, 64] {
                    assert_eq!(
                        placeholder_run(text, max).min(max),
                        bytewise(text, max),
                        "{text:?} max {max}"
                    );
                }
            }
        }
    }

    #[test]
    fn labels() {
        assert!(is_valid_label("EC2"));
        assert!(is_valid_label("ARN_IAM_ROLE"));
        assert!(!is_valid_label("ec2"));
        assert!(!is_valid_label("1EC2"));
        assert!(!is_valid_label(""));
        assert!(!is_valid_label(&"A".repeat(33)));
    }

    #[test]
    fn shaped_len_rejects_non_placeholders() {
        assert_eq!(shaped_len(b"AWS_REGION"), None);
        assert_eq!(shaped_len(b"AWS_SECRET_ACCESS_KEY"), None);
        assert_eq!(shaped_len(b"AWS__AAAAAAAAAAAAA"), None);
        assert_eq!(shaped_len(b"AWS_EC2_AAAAAAAAAAAA1"), None);
        assert_eq!(shaped_len(b"AWS_EC2_AAAAAAAAAAAAA rest"), Some(21));
    }
}
