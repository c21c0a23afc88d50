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

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::memo::Memo;

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

/// Returns true for bytes that can appear in a placeholder.
#[inline]
pub fn is_placeholder_byte(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'
}

/// If `text` starts with something shaped like a placeholder (`AWS_<LABEL>_<H>`), returns its
/// length. Used to count placeholders nobody issued; it does not say the placeholder is known.
pub fn shaped_len(text: &[u8]) -> Option<usize> {
    if !text.starts_with(PREFIX.as_bytes()) {
        return None;
    }
    let run = text.iter().take_while(|b| is_placeholder_byte(**b)).count();
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
    recent: Mutex<Recent>,
}

impl Clone for Placeholders {
    /// The same key; nothing remembered.
    fn clone(&self) -> Self {
        Placeholders {
            mac: self.mac.clone(),
            recent: Mutex::default(),
        }
    }
}

/// Placeholders derived lately (round 0 only), by `label \0 original`, in a memo of two
/// slots per key: bounded, and a crafted body can only make it forget (then the hash is
/// computed again).
#[derive(Default)]
struct Recent {
    memo: Memo<String, { Recent::SLOTS }, { Recent::MAX_KEY }>,
    key: Vec<u8>,
}

impl Recent {
    /// Placeholders held at most.
    const SLOTS: usize = 4096;
    /// Longer keys (label, NUL, original) are not remembered.
    const MAX_KEY: usize = 128;

    fn get(&mut self, label: &str, original: &str) -> Option<String> {
        self.key.clear();
        self.key.extend_from_slice(label.as_bytes());
        self.key.push(0);
        self.key.extend_from_slice(original.as_bytes());
        self.memo.get(&self.key).cloned()
    }

    /// Remembers `placeholder` for the key of the last [`Recent::get`].
    fn put_last(&mut self, placeholder: &str) {
        self.memo.put(&self.key, placeholder.to_owned());
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

    /// [`Placeholders::derive`] of round 0, remembered.
    fn derive_first(&self, label: &str, original: &str) -> String {
        let Ok(mut recent) = self.recent.lock() else {
            return self.derive(label, original, 0);
        };
        if let Some(p) = recent.get(label, original) {
            return p;
        }
        let p = self.derive(label, original, 0);
        recent.put_last(&p);
        p
    }

    /// The placeholder for `original` of kind `label`, without consulting any mapping.
    /// `round` is 0 except when resolving a collision.
    pub fn derive(&self, label: &str, original: &str, round: u32) -> String {
        let mut mac = self.mac.clone();
        mac.update(label.as_bytes());
        mac.update(&[0]);
        mac.update(original.as_bytes());
        if round > 0 {
            mac.update(&[0]);
            mac.update(&round.to_be_bytes());
        }
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(PREFIX.len() + label.len() + 1 + HASH_LEN);
        out.push_str(PREFIX);
        out.push_str(label);
        out.push('_');
        // Take HASH_LEN * 5 = 65 bits from the front of the digest.
        let mut acc: u128 = 0;
        for b in &digest[..9] {
            acc = (acc << 8) | u128::from(*b);
        }
        // 72 bits in acc; use the top 65.
        for i in 0..HASH_LEN {
            let shift = 72 - 5 * (i + 1);
            let idx = ((acc >> shift) & 31) as usize;
            out.push(char::from(BASE32[idx]));
        }
        out
    }

    /// Returns the placeholder for `original` and records it in `mapping`. If another original
    /// already holds the derived placeholder in this mapping (a hash collision), a further
    /// round is derived, so two originals never share a placeholder.
    pub fn issue(&self, mapping: &mut Mapping, label: &str, original: &str) -> String {
        let mut out = String::new();
        self.issue_into(mapping, label, original, &mut out);
        out
    }

    /// [`Placeholders::issue`], appending the placeholder to `out` (one allocation less per
    /// identifier: a body issues thousands).
    pub(crate) fn issue_into(
        &self,
        mapping: &mut Mapping,
        label: &str,
        original: &str,
        out: &mut String,
    ) {
        let mut round = 0;
        loop {
            let candidate = if round == 0 {
                self.derive_first(label, original)
            } else {
                self.derive(label, original, round)
            };
            // One lookup decides and inserts: this runs once per identifier of a body.
            match mapping.entries.entry(candidate) {
                Entry::Vacant(slot) => {
                    note_new(
                        &mut mapping.lengths,
                        &mut mapping.escaped_originals,
                        slot.key().len(),
                        original,
                    );
                    out.push_str(slot.key());
                    slot.insert(original.to_owned());
                    return;
                }
                Entry::Occupied(held) if held.get() == original => {
                    out.push_str(held.key());
                    return;
                }
                Entry::Occupied(_) => {
                    mapping.collisions += 1;
                    round += 1;
                }
            }
        }
    }
}

/// Keeps a mapping's summaries up to date for a new entry: the distinct placeholder lengths
/// (longest first) and the count of originals that JSON escapes.
fn note_new(lengths: &mut Vec<usize>, escaped: &mut usize, len: usize, original: &str) {
    if let Err(pos) = lengths.binary_search_by(|probe| len.cmp(probe)) {
        lengths.insert(pos, len);
    }
    if original
        .bytes()
        .any(|b| b < 0x20 || b == b'"' || b == b'\\')
    {
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mapping {
    entries: HashMap<String, String>,
    /// Distinct placeholder lengths, longest first.
    lengths: Vec<usize>,
    /// Hash collisions resolved while issuing.
    pub collisions: u32,
    /// Originals holding a byte that JSON escapes (`"`, `\`, control characters): only
    /// custom patterns can issue such originals.
    escaped_originals: usize,
}

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
        self.entries.get(placeholder).map(String::as_str)
    }

    /// Adds an entry learned elsewhere (the bridge, the node-local cache). Adding the same
    /// pair twice is fine; a different original for a known placeholder is a [`Conflict`].
    pub fn insert(&mut self, placeholder: String, original: String) -> Result<(), Conflict> {
        match self.entries.get(&placeholder) {
            Some(existing) if *existing == original => Ok(()),
            Some(_) => Err(Conflict { placeholder }),
            None => {
                self.insert_new(placeholder, original);
                Ok(())
            }
        }
    }

    fn insert_new(&mut self, placeholder: String, original: String) {
        note_new(
            &mut self.lengths,
            &mut self.escaped_originals,
            placeholder.len(),
            &original,
        );
        self.entries.insert(placeholder, original);
    }

    /// Makes room for `additional` more entries.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
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
                // Placeholders are ASCII; a non-UTF-8 slice cannot be one.
                if let Ok(candidate) = std::str::from_utf8(candidate) {
                    if let Some(original) = self.entries.get(candidate) {
                        return Some((len, original));
                    }
                }
            }
        }
        None
    }

    /// Iterates over (placeholder, original) pairs in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(p, o)| (p.as_str(), o.as_str()))
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
