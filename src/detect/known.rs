//! Values found in a context (an account in an ARN, a bucket after `s3://`, a secret after
//! `aws_secret_access_key =`) are masked wherever else they appear bare. [`KnownValues`]
//! carries them within one scan, or across the many scans of one body.

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::bytes::{at, before, is_alnum, is_base64};
use super::keyed::{key_info, KeyInfo};
use super::kinds::{ACCOUNT, SECRET_KEY, SESSION_TOKEN};
use super::memo::Memo;
use super::{Finding, KindId};

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
    /// What the keys of the texts scanned with these values say, worked out once per key.
    keys: Memo<KeyInfo>,
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
    pub(crate) fn key_info(&mut self, key: &str) -> KeyInfo {
        self.keys
            .get_or_insert_with(key.as_bytes(), || key_info(key.as_bytes()))
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
            self.values.push((value.to_owned(), kind));
        }
    }

    /// True when `text` contains a value learned after the first `since` ones (bare or not:
    /// a masker uses this to decide which earlier texts to scan again).
    pub fn contains_since(&mut self, text: &str, since: usize) -> bool {
        if self.values.len() <= since {
            return false;
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

    /// Appends every bare occurrence of a known value in `text`.
    pub(crate) fn find_bare(&mut self, text: &str, out: &mut Vec<Finding>) {
        if self.values.is_empty() || text.len() < self.shortest {
            return;
        }
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
            let bounded = if *kind == ACCOUNT {
                !is_alnum(before(b, s)) && !is_alnum(at(b, e))
            } else if *kind == SECRET_KEY || *kind == SESSION_TOKEN {
                !is_base64(before(b, s)) && !is_base64(at(b, e))
            } else {
                let inner = |c: u8| is_alnum(c) || c == b'_' || c == b'-';
                let dotted_before =
                    before(b, s) == b'.' && is_alnum(before(b, s.saturating_sub(1)));
                let dotted_after = at(b, e) == b'.' && is_alnum(at(b, e + 1));
                !(inner(before(b, s)) || inner(at(b, e)) || dotted_before || dotted_after)
            };
            if bounded {
                out.push(Finding {
                    start: s,
                    end: e,
                    kind: *kind,
                });
            }
        }
    }
}
