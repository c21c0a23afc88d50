//! Values found in a context (an account in an ARN, a bucket after `s3://`, a secret after
//! `aws_secret_access_key =`) are masked wherever else they appear bare. [`KnownValues`]
//! carries them within one scan, or across the many scans of one body.

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use memchr::memmem::Finder;

use super::bytes::{at, before, is_alnum, is_base64};
use super::keyed::{key_info, KeyInfo};
use super::kinds::{ACCOUNT, SECRET_KEY, SESSION_TOKEN};
use super::{Finding, KindId};
use crate::memo::Memo;
use crate::words::padded;

/// Values learned from their context, to be masked when they appear bare, and what the
/// scans of one body have worked out so far (per key, per short clean text). Use one
/// `KnownValues` per body and detector.
#[derive(Clone, Default)]
pub struct KnownValues {
    values: Vec<(String, KindId)>,
    seen: HashSet<String>,
    automaton: Option<AhoCorasick>,
    built_for: usize,
    /// Length of the shortest value: shorter texts need no search.
    shortest: usize,
    /// Finds every occurrence, overlapping ones too, with the count it was built for.
    overlapping: Option<(usize, AhoCorasick)>,
    /// What the keys of the texts scanned with these values say, worked out once per key:
    /// the short ones (most keys) by their bytes, the others in a memo.
    short_keys: ShortKeys,
    keys: Memo<KeyInfo>,
    /// The first three bytes of every value, hashed, as a bitmap.
    triples: Triples,
    /// A searcher per value, by value index.
    finders: Vec<Finder<'static>>,
    /// Short texts that held nothing, with their key and how many values were known when
    /// they were scanned: scanned again with as many values, they hold nothing again.
    clean: Memo<(Option<KeyInfo>, usize)>,
}

impl std::fmt::Debug for KnownValues {
    /// The count only: the values are originals.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownValues")
            .field("len", &self.values.len())
            .finish()
    }
}

impl KnownValues {
    /// Number of distinct values learned.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when nothing was learned.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// What `key` says about the values under it.
    #[inline]
    pub(crate) fn key_info(&mut self, key: &str) -> KeyInfo {
        let b = key.as_bytes();
        match padded(b) {
            Some(block) => self.short_keys.get_or_insert(block, b),
            None => self.keys.get_or_insert_with(b, || key_info(b)),
        }
    }

    /// True when `text` under `key` was found to hold nothing with the values known now.
    pub(crate) fn known_clean(&self, text: &str, key: Option<KeyInfo>) -> bool {
        self.clean
            .get(text.as_bytes())
            .is_some_and(|&(k, n)| k == key && n == self.values.len())
    }

    /// Remembers that `text` under `key` holds nothing with the values known now.
    pub(crate) fn remember_clean(&mut self, text: &str, key: Option<KeyInfo>) {
        self.clean.put(text.as_bytes(), (key, self.values.len()));
    }

    pub(crate) fn learn(&mut self, value: &str, kind: KindId) {
        if value.len() >= 3 && !self.seen.contains(value) {
            self.shortest = if self.values.is_empty() {
                value.len()
            } else {
                self.shortest.min(value.len())
            };
            self.seen.insert(value.to_owned());
            self.triples.insert(value.as_bytes());
            self.finders
                .push(Finder::new(value.as_bytes()).into_owned());
            self.values.push((value.to_owned(), kind));
        }
    }

    /// True when `text` contains a value learned after the first `since` ones (bare or not:
    /// a masker uses this to decide which earlier texts to scan again).
    pub fn contains_since(&mut self, text: &str, since: usize) -> bool {
        if self.values.len() <= since {
            return false;
        }
        if text.len() < SHORT {
            return self.scan_triples(text.as_bytes(), since, |_, _| true);
        }
        if self.values.len() - since <= FEW {
            let hay = text.as_bytes();
            return self
                .finders
                .iter()
                .skip(since)
                .any(|f| f.find(hay).is_some());
        }
        if self
            .overlapping
            .as_ref()
            .is_none_or(|(n, _)| *n != self.values.len())
        {
            let ac = AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .match_kind(MatchKind::Standard)
                .build(self.values.iter().map(|(v, _)| v.as_str()))
                .ok();
            self.overlapping = ac.map(|ac| (self.values.len(), ac));
        }
        match &self.overlapping {
            Some((_, ac)) => ac
                .find_overlapping_iter(text)
                .any(|m| m.pattern().as_usize() >= since),
            // No automaton (it could not be built): assume the worst.
            None => true,
        }
    }

    /// False when no known value fits in a text of `len` bytes.
    pub(crate) fn may_fit(&self, len: usize) -> bool {
        !self.values.is_empty() && len >= self.shortest
    }

    /// Appends every bare occurrence of a known value in `text`.
    pub(crate) fn find_bare(&mut self, text: &str, out: &mut Vec<Finding>) {
        if !self.may_fit(text.len()) {
            return;
        }
        if text.len() < SHORT {
            self.find_bare_by_triples(text.as_bytes(), out);
        } else if self.values.len() <= FEW {
            self.find_bare_by_finders(text.as_bytes(), out);
        } else {
            self.find_bare_by_automaton(text, out);
        }
    }

    /// [`KnownValues::find_bare`] with an Aho-Corasick automaton, rebuilt when stale.
    fn find_bare_by_automaton(&mut self, text: &str, out: &mut Vec<Finding>) {
        if self.automaton.is_none() || self.built_for != self.values.len() {
            // Rebuilt each time a value is learned: a DFA costs more to build than it saves
            // on a few values, which the prefilter finds anyway.
            self.automaton = AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .match_kind(MatchKind::LeftmostLongest)
                .build(self.values.iter().map(|(v, _)| v.as_str()))
                .ok();
            self.built_for = self.values.len();
        }
        let Some(ac) = &self.automaton else {
            return;
        };
        let b = text.as_bytes();
        for m in ac.find_iter(text) {
            let Some((_, kind)) = self.values.get(m.pattern().as_usize()) else {
                continue;
            };
            let (s, e) = (m.start(), m.end());
            if bounded(b, s, e, *kind) {
                out.push(Finding {
                    start: s,
                    end: e,
                    kind: *kind,
                });
            }
        }
    }
}

/// What keys of at most 16 bytes say, by their bytes (zero-padded) and length: every value
/// of a body is scanned under its key, and a body has a few dozen keys. A key has two slots
/// side by side and a slot holds its key whole, so a lookup is a multiply and a compare or
/// two (no hash of the bytes, no arena); keys that crowd each other out only cost working
/// one out again.
#[derive(Clone, Default)]
struct ShortKeys {
    slots: Vec<Option<(u128, u8, KeyInfo)>>,
}

/// Slots of [`ShortKeys`] (a power of two).
const SHORT_KEY_SLOTS: usize = 256;

impl ShortKeys {
    /// The info of `key`, whose bytes zero-padded are `block`.
    #[inline]
    fn get_or_insert(&mut self, block: [u8; 16], key: &[u8]) -> KeyInfo {
        let bytes = u128::from_le_bytes(block);
        let len = key.len() as u8;
        let mixed = (bytes as u64 ^ (bytes >> 64) as u64 ^ u64::from(len))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let first = (mixed >> 56) as usize & (SHORT_KEY_SLOTS - 2);
        if self.slots.is_empty() {
            self.slots.resize(SHORT_KEY_SLOTS, None);
        }
        let pair = self.slots.get_mut(first..first + 2).unwrap_or_default();
        for slot in pair.iter() {
            match slot {
                Some((held, n, info)) if *held == bytes && *n == len => return *info,
                _ => {}
            }
        }
        let info = key_info(key);
        // The first slot is for the key just seen, the second for the one it moved.
        if let [a, b] = pair {
            *b = a.take();
            *a = Some((bytes, len, info));
        }
        info
    }
}

/// Up to this many values, a long text is searched with one vectorised searcher per value
/// rather than with an automaton (which costs more to build than such a search).
const FEW: usize = 16;

/// Texts shorter than this (most strings of a body: keys, ids, short values) are searched
/// without an automaton: a position costs a hash and a bit test, and an automaton would be
/// rebuilt for every value learned between two such texts.
const SHORT: usize = super::scan::SHORT;

/// True when the value of `kind` at `b[s..e]` stands alone: not part of a longer word, hex
/// run, base64 run or dotted name.
fn bounded(b: &[u8], s: usize, e: usize, kind: KindId) -> bool {
    if kind == ACCOUNT {
        !is_alnum(before(b, s)) && !is_alnum(at(b, e))
    } else if kind == SECRET_KEY || kind == SESSION_TOKEN {
        !is_base64(before(b, s)) && !is_base64(at(b, e))
    } else {
        let inner = |c: u8| is_alnum(c) || c == b'_' || c == b'-';
        let dotted_before = before(b, s) == b'.' && is_alnum(before(b, s.saturating_sub(1)));
        let dotted_after = at(b, e) == b'.' && is_alnum(at(b, e + 1));
        !(inner(before(b, s)) || inner(at(b, e)) || dotted_before || dotted_after)
    }
}

/// A bitmap of the first three bytes of every known value (values have three at least),
/// hashed to 16 bits. A position of a text whose three bytes are not in it starts no value.
#[derive(Clone, Default)]
struct Triples {
    bits: Vec<u64>,
    /// The hash of each value's first three bytes, by value index.
    of_value: Vec<u16>,
}

impl Triples {
    fn hash(b: &[u8], i: usize) -> u16 {
        let h = u32::from(at(b, i)).wrapping_mul(0x9E37_79B1)
            ^ u32::from(at(b, i + 1)).wrapping_mul(0x85EB_CA77)
            ^ u32::from(at(b, i + 2)).wrapping_mul(0xC2B2_AE3D);
        (h >> 16) as u16
    }

    fn insert(&mut self, value: &[u8]) {
        if self.bits.is_empty() {
            self.bits.resize(1024, 0);
        }
        let h = Self::hash(value, 0);
        if let Some(word) = self.bits.get_mut(usize::from(h) / 64) {
            *word |= 1 << (h % 64);
        }
        self.of_value.push(h);
    }

    fn contains(&self, h: u16) -> bool {
        self.bits
            .get(usize::from(h) / 64)
            .is_some_and(|word| word & (1 << (h % 64)) != 0)
    }
}

impl KnownValues {
    /// Calls `f(start, value index)` for every occurrence (overlapping ones too) of a value
    /// learned after the first `since`, in text order, until `f` returns true; tells whether
    /// it did.
    fn scan_triples(
        &self,
        b: &[u8],
        since: usize,
        mut f: impl FnMut(usize, usize) -> bool,
    ) -> bool {
        let Some(last) = b.len().checked_sub(self.shortest) else {
            return false;
        };
        for i in 0..=last {
            let h = Triples::hash(b, i);
            if !self.triples.contains(h) {
                continue;
            }
            let rest = b.get(i..).unwrap_or_default();
            let candidates = self.values.iter().zip(&self.triples.of_value);
            for (k, ((v, _), hv)) in candidates.enumerate().skip(since) {
                if *hv == h && rest.starts_with(v.as_bytes()) && f(i, k) {
                    return true;
                }
            }
        }
        false
    }

    /// [`KnownValues::find_bare`] with a searcher per value: every occurrence (overlapping
    /// ones too), then the leftmost-longest non-overlapping ones, as the automaton finds them.
    fn find_bare_by_finders(&self, b: &[u8], out: &mut Vec<Finding>) {
        let mut hits: Vec<(usize, usize)> = Vec::new();
        for (k, finder) in self.finders.iter().enumerate() {
            let mut from = 0;
            while let Some(at) = b.get(from..).and_then(|hay| finder.find(hay)) {
                hits.push((from + at, k));
                from += at + 1;
            }
        }
        let len = |k: usize| self.values.get(k).map_or(0, |(v, _)| v.len());
        hits.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(len(b.1).cmp(&len(a.1))));
        let mut next = 0;
        for (s, k) in hits {
            let Some((_, kind)) = self.values.get(k).filter(|_| s >= next) else {
                continue;
            };
            let e = s + len(k);
            if bounded(b, s, e, *kind) {
                out.push(Finding {
                    start: s,
                    end: e,
                    kind: *kind,
                });
            }
            next = e;
        }
    }

    /// [`KnownValues::find_bare`] without an automaton: the leftmost-longest value at each
    /// position, non-overlapping, as the automaton finds them.
    fn find_bare_by_triples(&self, b: &[u8], out: &mut Vec<Finding>) {
        let mut next = 0;
        let mut longest: Option<(usize, usize)> = None;
        let take = |longest: &mut Option<(usize, usize)>, out: &mut Vec<Finding>| {
            if let Some((s, k)) = longest.take() {
                if let Some((v, kind)) = self.values.get(k) {
                    let e = s + v.len();
                    if bounded(b, s, e, *kind) {
                        out.push(Finding {
                            start: s,
                            end: e,
                            kind: *kind,
                        });
                    }
                    return e;
                }
            }
            0
        };
        self.scan_triples(b, 0, |i, k| {
            if i < next {
                return false;
            }
            match longest {
                Some((s, _)) if s != i => next = take(&mut longest, out),
                _ => {}
            }
            if i >= next {
                let len = |k: usize| self.values.get(k).map_or(0, |(v, _)| v.len());
                if longest.is_none_or(|(_, best)| len(k) > len(best)) {
                    longest = Some((i, k));
                }
            }
            false
        });
        take(&mut longest, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Texts and values over a small alphabet, so that values overlap, nest and repeat.
    fn cases() -> impl Iterator<Item = (Vec<String>, String)> {
        let mut seed = 7u64;
        let mut next = move |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        (0..3000).map(move |_| {
            let alphabet = b"ab1.-_x";
            let count = 1 + next(6);
            let lens: Vec<usize> = (0..=count).map(|_| next(90)).collect();
            let mut word = |len: usize| -> String {
                (0..len)
                    .map(|_| char::from(alphabet[next(alphabet.len())]))
                    .collect()
            };
            let mut values: Vec<String> = lens[..count].iter().map(|n| word(3 + n % 4)).collect();
            // Values that extend others: the longest must win where both start.
            if count % 2 == 0 {
                values.push(format!("{}{}", values[0], word(1 + count / 2)));
                values.push(values[0][..3].to_owned());
            }
            let text = word(lens[count]) + &values.concat();
            (values, text)
        })
    }

    #[test]
    fn searching_by_triples_finds_what_the_automaton_finds() {
        for (values, text) in cases() {
            let mut known = KnownValues::default();
            for (i, v) in values.iter().enumerate() {
                let kind = if i % 2 == 0 { ACCOUNT } else { KindId(0) };
                known.learn(v, kind);
            }
            let ac = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(known.values.iter().map(|(v, _)| v.as_str()))
                .unwrap();
            let b = text.as_bytes();
            let want: Vec<Finding> = ac
                .find_iter(&text)
                .filter_map(|m| {
                    let kind = known.values[m.pattern().as_usize()].1;
                    bounded(b, m.start(), m.end(), kind).then_some(Finding {
                        start: m.start(),
                        end: m.end(),
                        kind,
                    })
                })
                .collect();
            let mut got = Vec::new();
            known.find_bare_by_triples(b, &mut got);
            assert_eq!(got, want, "triples: {values:?} in {text:?}");
            got.clear();
            known.find_bare_by_finders(b, &mut got);
            assert_eq!(got, want, "finders: {values:?} in {text:?}");
            got.clear();
            known.find_bare_by_automaton(&text, &mut got);
            assert_eq!(got, want, "automaton: {values:?} in {text:?}");

            let overlapping =
                AhoCorasick::new(known.values.iter().map(|(v, _)| v.as_str())).unwrap();
            for since in 0..=known.len() {
                let want = overlapping
                    .find_overlapping_iter(&text)
                    .any(|m| m.pattern().as_usize() >= since);
                let got = known.scan_triples(b, since, |_, _| true);
                assert_eq!(got, want, "{values:?} since {since} in {text:?}");
                // The public entry, whichever way it takes for this text.
                assert_eq!(known.contains_since(&text, since), want);
            }
        }
    }
}
