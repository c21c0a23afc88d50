//! The node-local cache of issued mappings, in the engine's shared data.
//!
//! Keys are `aws_masker/<placeholder>`: with a zone named `aws_masker` (Kong:
//! `nginx_wasm_shm_kv_aws_masker`) they land there, otherwise in the default zone
//! (`nginx_wasm_shm_kv`). WasmX indexes keys by their crc32 alone, so two keys can share an
//! entry: the value repeats the placeholder (`<placeholder>\0<original>`) and a read that
//! finds another placeholder counts as a miss. With `use_redis`, an entry also says when the
//! bridge last stored it (`<placeholder>\x01<unix seconds>\0<original>`): Redis forgets it
//! after `mapping_ttl`, so an entry stored more than half of that ago is sent again.
//!
//! Writes follow WasmX's CAS rule: a missing key has cas 0, an existing key must be written
//! with the cas just read (a plain set on an existing key is a mismatch).
//!
//! ```
//! use aws_masker::node_cache::{recall, remember, Remembered, SharedStore};
//! use std::{cell::RefCell, collections::HashMap};
//!
//! #[derive(Default)]
//! struct Memory(RefCell<HashMap<String, (Vec<u8>, u32)>>);
//! impl SharedStore for Memory {
//!     fn get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
//!         self.0.borrow().get(key).map_or((None, None), |(v, c)| (Some(v.clone()), Some(*c)))
//!     }
//!     fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
//!         let mut map = self.0.borrow_mut();
//!         let current = map.get(key).map_or(0, |(_, c)| *c);
//!         if cas.unwrap_or(0) != current { return false; }
//!         map.insert(key.to_owned(), (value.to_vec(), current + 1));
//!         true
//!     }
//! }
//!
//! let store = Memory::default();
//! assert_eq!(remember(&store, "AWS_EC2_AAAAAAAAAAAAA", "i-0abc"), Remembered::Stored);
//! assert_eq!(remember(&store, "AWS_EC2_AAAAAAAAAAAAA", "i-0abc"), Remembered::Known);
//! assert_eq!(recall(&store, "AWS_EC2_AAAAAAAAAAAAA").as_deref(), Some("i-0abc"));
//! ```

use crate::placeholder::{Mapping, Placeholders};

/// Prefix of every key (also the name of the optional dedicated `shm_kv` zone).
pub const KEY_PREFIX: &str = "aws_masker/";

/// Shared data as the host offers it (the proxy-wasm `get_shared_data`/`set_shared_data`).
pub trait SharedStore {
    /// The value and cas of `key`; `(None, None)` when missing.
    fn get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>);
    /// Writes `value` if `cas` matches the key's current cas (0/None for a missing key).
    /// False on a cas mismatch.
    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool;
}

/// The key of `placeholder`.
pub fn key(placeholder: &str) -> String {
    let mut k = String::with_capacity(KEY_PREFIX.len() + placeholder.len());
    k.push_str(KEY_PREFIX);
    k.push_str(placeholder);
    k
}

fn encode(placeholder: &str, original: &str, stored_at: Option<u64>) -> Vec<u8> {
    let mut v = Vec::with_capacity(placeholder.len() + 22 + original.len());
    v.extend_from_slice(placeholder.as_bytes());
    if let Some(at) = stored_at {
        v.push(1);
        v.extend_from_slice(at.to_string().as_bytes());
    }
    v.push(0);
    v.extend_from_slice(original.as_bytes());
    v
}

/// The original stored in `value` for `placeholder`, and when the bridge stored it (if it
/// did); `None` if the entry belongs to another placeholder (a crc32 neighbour) or is
/// malformed.
fn decode<'v>(placeholder: &str, value: &'v [u8]) -> Option<(&'v str, Option<u64>)> {
    let rest = value.strip_prefix(placeholder.as_bytes())?;
    let (stored_at, original) = match rest.split_first()? {
        (0, original) => (None, original),
        (1, rest) => {
            let end = rest.iter().position(|&b| b == 0)?;
            let digits = std::str::from_utf8(rest.get(..end)?).ok()?;
            (Some(digits.parse().ok()?), rest.get(end + 1..)?)
        }
        _ => return None,
    };
    Some((std::str::from_utf8(original).ok()?, stored_at))
}

/// The outcome of remembering one mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remembered {
    /// Written now.
    Stored,
    /// Already there with the same original.
    Known,
    /// Another original holds this placeholder (a different secret on another filter, or a
    /// hash collision): left alone.
    Conflict,
    /// The entry belongs to another key with the same crc32, or kept changing under
    /// concurrent writers: left alone.
    Occupied,
}

/// Records `placeholder -> original` unless it is there already.
pub fn remember(store: &impl SharedStore, placeholder: &str, original: &str) -> Remembered {
    remember_at(store, placeholder, original, None)
}

/// [`remember`], noting that the bridge stored the entry at `now` (unix seconds): an entry
/// already there gets that time.
pub fn remember_stored(
    store: &impl SharedStore,
    placeholder: &str,
    original: &str,
    now: u64,
) -> Remembered {
    remember_at(store, placeholder, original, Some(now))
}

fn remember_at(
    store: &impl SharedStore,
    placeholder: &str,
    original: &str,
    stored_at: Option<u64>,
) -> Remembered {
    let key = key(placeholder);
    // Two rounds: a concurrent writer between our get and set makes the set fail once.
    for _ in 0..2 {
        let (value, cas) = store.get(&key);
        match value.as_deref().map(|v| decode(placeholder, v)) {
            Some(Some((existing, at)))
                if existing == original && (stored_at.is_none() || at >= stored_at) =>
            {
                return Remembered::Known
            }
            // The same original, stored earlier than `stored_at`: its time is rewritten.
            Some(Some((existing, _))) if existing == original => {}
            Some(Some(_)) => return Remembered::Conflict,
            Some(None) if !value.as_deref().is_some_and(<[u8]>::is_empty) => {
                return Remembered::Occupied
            }
            // Missing, or an empty value (a deleted entry): write with the cas just read.
            _ => {}
        }
        if store.set(&key, &encode(placeholder, original, stored_at), cas) {
            return Remembered::Stored;
        }
    }
    Remembered::Occupied
}

/// The original of `placeholder`, if the cache has it.
pub fn recall(store: &impl SharedStore, placeholder: &str) -> Option<String> {
    let (value, _) = store.get(&key(placeholder));
    decode(placeholder, &value?).map(|(original, _)| original.to_owned())
}

/// True when the bridge stored `placeholder -> original` at or after `since` (unix seconds),
/// as far as the cache knows.
pub fn stored_since(
    store: &impl SharedStore,
    placeholder: &str,
    original: &str,
    since: u64,
) -> bool {
    let (value, _) = store.get(&key(placeholder));
    value
        .as_deref()
        .and_then(|v| decode(placeholder, v))
        .is_some_and(|(o, at)| o == original && at.is_some_and(|at| at >= since))
}

/// Counts of one [`remember_all`] pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RememberStats {
    pub stored: u32,
    pub known: u32,
    pub conflicts: u32,
    pub occupied: u32,
}

/// Remembers every entry of `mapping`.
pub fn remember_all(store: &impl SharedStore, mapping: &Mapping) -> RememberStats {
    let mut stats = RememberStats::default();
    for (placeholder, original) in mapping.iter() {
        match remember(store, placeholder, original) {
            Remembered::Stored => stats.stored += 1,
            Remembered::Known => stats.known += 1,
            Remembered::Conflict => stats.conflicts += 1,
            Remembered::Occupied => stats.occupied += 1,
        }
    }
    stats
}

/// What [`recall_into`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recalled {
    /// Entries added to the mapping.
    pub added: u32,
    /// Entries whose placeholder `keys` does not derive from their original (another
    /// `token_secret` sharing the zone, or another filter writing under this prefix): left out.
    pub foreign: u32,
}

/// Looks up the placeholders a request contained that `mapping` does not know, and adds the
/// ones the cache has, so the response restores them too: only those `keys` derives from
/// their original, as with what Redis answers (shared data is not trusted to put text in a
/// response either).
pub fn recall_into<'p>(
    store: &impl SharedStore,
    keys: &Placeholders,
    placeholders: impl IntoIterator<Item = &'p str>,
    mapping: &mut Mapping,
) -> Recalled {
    let mut recalled = Recalled::default();
    for placeholder in placeholders {
        if mapping.original(placeholder).is_some() {
            continue;
        }
        let Some(original) = recall(store, placeholder) else {
            continue;
        };
        if !keys.derives(placeholder, &original) {
            recalled.foreign += 1;
        } else if mapping.insert(placeholder.to_owned(), original).is_ok() {
            recalled.added += 1;
        }
    }
    recalled
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// WasmX's store: cas always compared (missing = 0), cas from 1, optional forced crc
    /// collisions (every key maps to one entry) and a concurrent writer.
    #[derive(Default)]
    struct Wasmx {
        entries: RefCell<HashMap<String, (Vec<u8>, u32)>>,
        one_slot: bool,
        /// Writes this value before each of our sets, like another worker would.
        racer: RefCell<Vec<Vec<u8>>>,
    }

    impl Wasmx {
        fn slot(&self, key: &str) -> String {
            if self.one_slot {
                "slot".into()
            } else {
                key.into()
            }
        }
    }

    impl SharedStore for Wasmx {
        fn get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
            match self.entries.borrow().get(&self.slot(key)) {
                Some((v, c)) => (Some(v.clone()), Some(*c)),
                None => (None, None),
            }
        }
        fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
            let slot = self.slot(key);
            let mut entries = self.entries.borrow_mut();
            if let Some(racing) = self.racer.borrow_mut().pop() {
                let c = entries.get(&slot).map_or(0, |(_, c)| *c);
                entries.insert(slot.clone(), (racing, c + 1));
            }
            let current = entries.get(&slot).map_or(0, |(_, c)| *c);
            if cas.unwrap_or(0) != current {
                return false;
            }
            entries.insert(slot, (value.to_vec(), current + 1));
            true
        }
    }

    const P: &str = "AWS_EC2_AAAAAAAAAAAAA";
    const Q: &str = "AWS_EC2_BBBBBBBBBBBBB";

    #[test]
    fn stores_then_knows() {
        let s = Wasmx::default();
        assert_eq!(remember(&s, P, "i-1"), Remembered::Stored);
        assert_eq!(remember(&s, P, "i-1"), Remembered::Known);
        assert_eq!(remember(&s, P, "i-2"), Remembered::Conflict);
        assert_eq!(recall(&s, P).as_deref(), Some("i-1"));
        assert_eq!(recall(&s, Q), None);
        let (value, cas) = s.get(&key(P));
        assert_eq!(value.unwrap(), b"AWS_EC2_AAAAAAAAAAAAA\0i-1");
        assert_eq!(cas, Some(1));
    }

    #[test]
    fn crc_neighbours_never_leak_into_each_other() {
        let s = Wasmx {
            one_slot: true,
            ..Default::default()
        };
        assert_eq!(remember(&s, P, "i-1"), Remembered::Stored);
        assert_eq!(recall(&s, Q), None);
        assert_eq!(remember(&s, Q, "i-2"), Remembered::Occupied);
        assert_eq!(recall(&s, P).as_deref(), Some("i-1"));
    }

    #[test]
    fn a_concurrent_writer_is_handled() {
        // Another worker stores the same mapping between our get and set.
        let s = Wasmx::default();
        s.racer.borrow_mut().push(encode(P, "i-1", None));
        assert_eq!(remember(&s, P, "i-1"), Remembered::Known);
        // ... or a different original.
        let s = Wasmx::default();
        s.racer.borrow_mut().push(encode(P, "i-9", None));
        assert_eq!(remember(&s, P, "i-1"), Remembered::Conflict);
        // ... or keeps writing something unreadable.
        let s = Wasmx::default();
        s.racer.borrow_mut().extend([b"x".to_vec(), b"y".to_vec()]);
        assert_eq!(remember(&s, P, "i-1"), Remembered::Occupied);
    }

    #[test]
    fn an_emptied_entry_is_overwritten_with_its_cas() {
        let s = Wasmx::default();
        assert!(s.set(&key(P), b"", None));
        assert_eq!(remember(&s, P, "i-1"), Remembered::Stored);
        assert_eq!(s.get(&key(P)).1, Some(2));
    }

    #[test]
    fn the_time_the_bridge_stored_an_entry_is_kept_and_refreshed() {
        let s = Wasmx::default();
        // Shared without Redis: no time, so never "stored".
        assert_eq!(remember(&s, P, "i-1"), Remembered::Stored);
        assert!(!stored_since(&s, P, "i-1", 0));
        // Stored by the bridge at 1000: known since 1000, not since 1001.
        assert_eq!(remember_stored(&s, P, "i-1", 1000), Remembered::Stored);
        assert!(stored_since(&s, P, "i-1", 1000) && !stored_since(&s, P, "i-1", 1001));
        assert!(!stored_since(&s, P, "i-2", 0), "another original");
        // Sharing again keeps the time; a later store moves it on.
        assert_eq!(remember(&s, P, "i-1"), Remembered::Known);
        assert!(stored_since(&s, P, "i-1", 1000));
        assert_eq!(remember_stored(&s, P, "i-1", 900), Remembered::Known);
        assert_eq!(remember_stored(&s, P, "i-1", 5000), Remembered::Stored);
        assert!(stored_since(&s, P, "i-1", 5000));
        assert_eq!(recall(&s, P).as_deref(), Some("i-1"));
        assert_eq!(remember_stored(&s, P, "i-9", 6000), Remembered::Conflict);
        // An entry written before times were kept reads as never stored.
        s.entries
            .borrow_mut()
            .insert(key(Q), (format!("{Q}\0i-7").into_bytes(), 1));
        assert_eq!(recall(&s, Q).as_deref(), Some("i-7"));
        assert!(!stored_since(&s, Q, "i-7", 0));
        // Malformed times are misses, not panics.
        for bad in [&b"\x01\0i-7"[..], b"\x0112x\0i-7", b"\x0112", b"\x02i-7"] {
            let mut v = Q.as_bytes().to_vec();
            v.extend_from_slice(bad);
            s.entries.borrow_mut().insert(key(Q), (v, 1));
            assert_eq!(recall(&s, Q), None, "{bad:?}");
        }
    }

    #[test]
    fn mappings_round_trip_through_the_cache() {
        let keys = crate::placeholder::Placeholders::new(b"0123456789abcdef0123456789abcdef");
        let mut issued = Mapping::default();
        let a = keys.issue(&mut issued, "EC2", "i-0abc");
        let b = keys.issue(&mut issued, "VPC", "vpc-123");
        let s = Wasmx::default();
        assert_eq!(
            remember_all(&s, &issued),
            RememberStats {
                stored: 2,
                ..Default::default()
            }
        );
        assert_eq!(
            remember_all(&s, &issued),
            RememberStats {
                known: 2,
                ..Default::default()
            }
        );

        let mut later = Mapping::default();
        let unknown = "AWS_EC2_CCCCCCCCCCCCC";
        let recalled = recall_into(&s, &keys, [a.as_str(), b.as_str(), unknown], &mut later);
        assert_eq!(
            recalled,
            Recalled {
                added: 2,
                foreign: 0
            }
        );
        assert_eq!(later.original(&a), Some("i-0abc"));
        assert_eq!(later.original(&b), Some("vpc-123"));
        assert_eq!(later.original(unknown), None);
        assert_eq!(recall_into(&s, &keys, [a.as_str()], &mut later).added, 0);
    }

    #[test]
    fn entries_another_secret_wrote_are_not_recalled() {
        // Two filters with different secrets share the node's zone: what one wrote must not
        // decide what a placeholder restores to in the other's responses.
        let ours = Placeholders::new(b"0123456789abcdef0123456789abcdef");
        let theirs = Placeholders::new(b"another secret of thirty-two bytes!");
        let mut issued = Mapping::default();
        let their_placeholder = theirs.issue(&mut issued, "EC2", "i-0abc");
        let s = Wasmx::default();
        remember_all(&s, &issued);
        // Anyone who can write the zone can also pair our placeholder with any text.
        let mut ours_issued = Mapping::default();
        let our_placeholder = ours.issue(&mut ours_issued, "EC2", "i-0def");
        s.entries.borrow_mut().insert(
            key(&our_placeholder),
            (format!("{our_placeholder}\0i-0evil").into_bytes(), 1),
        );

        let mut mapping = Mapping::default();
        let asked = [their_placeholder.as_str(), our_placeholder.as_str()];
        let recalled = recall_into(&s, &ours, asked, &mut mapping);
        assert_eq!(
            recalled,
            Recalled {
                added: 0,
                foreign: 2
            }
        );
        assert!(mapping.is_empty());
        // The filter that wrote it still recalls its own.
        let mut theirs_mapping = Mapping::default();
        let recalled = recall_into(
            &s,
            &theirs,
            [their_placeholder.as_str()],
            &mut theirs_mapping,
        );
        assert_eq!(
            recalled,
            Recalled {
                added: 1,
                foreign: 0
            }
        );
        assert_eq!(theirs_mapping.original(&their_placeholder), Some("i-0abc"));
    }
}
