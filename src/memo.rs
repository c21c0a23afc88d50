//! A small bounded memo from short byte strings to what was worked out about them, each key
//! in one of two slots. A body repeats a few dozen keys and short values thousands of times
//! (every object of CLI output has its `InstanceId`, `"State": "running"`), and a
//! conversation resends the identifiers of its earlier turns: remembering them saves redoing
//! the same work. Keys that crowd each other out only cost a recomputation, so a crafted
//! body can make the memo useless but never wrong.

use crate::words::{byte_at, half_at, word_at};

/// A remembered key: its hash, and where its bytes are in the arena.
#[derive(Clone, Copy)]
struct Slot<V> {
    hash: u32,
    at: u32,
    len: u8,
    value: V,
}

/// Keys are copied into one arena and compared after their hashes: no allocation per key,
/// and a miss rarely touches key bytes.
///
/// Keys longer than `MAX` are not remembered (long texts rarely repeat); `SLOTS` (a power
/// of two) is the most slots it grows to, from [`FIRST_SLOTS`], doubling when half are
/// taken (so a small body pays for a small table); keys are kept in an arena of at most
/// `SLOTS * MAX` bytes, past which the memo starts over (a body of many distinct short
/// strings would otherwise keep them all).
// Not Debug: keys may be originals.
#[derive(Clone)]
pub(crate) struct Memo<V, const SLOTS: usize = 512, const MAX: usize = 64> {
    slots: Vec<Option<Slot<V>>>,
    /// Slots taken.
    filled: usize,
    arena: Vec<u8>,
}

/// Slots of a memo at its first entry.
const FIRST_SLOTS: usize = 64;

/// Keys moved at most to make room for one (a full memo would otherwise pay a long walk
/// for every key it is given).
const KICKS: usize = 4;

impl<V, const SLOTS: usize, const MAX: usize> Default for Memo<V, SLOTS, MAX> {
    fn default() -> Self {
        Memo {
            slots: Vec::new(),
            filled: 0,
            arena: Vec::new(),
        }
    }
}

/// The hash of `key`: the slot is its low bits, and the rest tells most other keys apart.
///
/// Every short string of a body is looked up, so this is on the hot path: words are mixed
/// by multiplies that do not wait for each other (only a rotate and a xor carry from word
/// to word), and the last bytes are read as one word, overlapping the one before.
pub(crate) fn hash(key: &[u8]) -> u32 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    const K2: u64 = 0xC2B2_AE3D_27D4_EB4F;
    let word = |at: usize| word_at(key, at);
    let half = |at: usize| half_at(key, at);
    let byte = |at: usize| byte_at(key, at);
    let n = key.len();
    let mut h = (n as u64).wrapping_mul(K2);
    let mut at = 0;
    while at + 8 < n {
        h = h.rotate_left(23) ^ (word(at) ^ K2).wrapping_mul(K);
        at += 8;
    }
    let last = match n {
        8.. => word(n - 8),
        4..=7 => half(0) | half(n - 4) << 32,
        1..=3 => byte(0) | byte(n / 2) << 8 | byte(n - 1) << 16,
        0 => 0,
    };
    h = h.rotate_left(23) ^ (last ^ K2).wrapping_mul(K);
    // A product's high bits depend on all the bits below them, its low bits only on the
    // low input bits: fold the high half down and multiply again, then keep the high half.
    // (Keys that differ only in their last bytes, like ids of one kind, must spread.)
    h = (h ^ (h >> 32)).wrapping_mul(K);
    (h >> 32) as u32
}

/// `a == b` for two short slices of the same length, eight bytes at a time (a call to
/// `memcmp` costs more than the comparison for the keys of a memo).
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let mut at = 0;
    while at + 8 < n {
        if word_at(a, at) != word_at(b, at) {
            return false;
        }
        at += 8;
    }
    word_at(a, n - 8) == word_at(b, n - 8)
}

impl<V: Clone, const SLOTS: usize, const MAX: usize> Memo<V, SLOTS, MAX> {
    const ARENA: usize = SLOTS * MAX;

    /// Slot indexes are hashes masked to the table's size.
    const POWER_OF_TWO: () = assert!(SLOTS.is_power_of_two(), "SLOTS must be a power of two");

    fn index(&self, hash: u32) -> usize {
        hash as usize & self.slots.len().wrapping_sub(1)
    }

    /// The other slot a key of this hash may be in.
    fn alternate(&self, hash: u32) -> usize {
        hash.rotate_right(16) as usize & self.slots.len().wrapping_sub(1)
    }

    /// The slot that holds `key` (of hash `h`), if one does.
    fn find(&self, key: &[u8], h: u32) -> Option<usize> {
        [self.index(h), self.alternate(h)].into_iter().find(|&i| {
            self.slots
                .get(i)
                .and_then(Option::as_ref)
                .is_some_and(|slot| {
                    let at = slot.at as usize;
                    slot.hash == h
                        && usize::from(slot.len) == key.len()
                        && self
                            .arena
                            .get(at..at + key.len())
                            .is_some_and(|held| same(held, key))
                })
        })
    }

    /// What was remembered for `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<&V> {
        if key.len() > MAX || self.slots.is_empty() {
            return None;
        }
        let i = self.find(key, hash(key))?;
        Some(&self.slots.get(i)?.as_ref()?.value)
    }

    /// Forgets everything, keeping the memory.
    pub(crate) fn clear(&mut self) {
        self.slots.iter_mut().for_each(|slot| *slot = None);
        self.filled = 0;
        self.arena.clear();
    }

    /// Twice the slots, every key moved to one of its new two.
    fn grow(&mut self) {
        let () = Self::POWER_OF_TWO;
        let len = (self.slots.len() * 2).clamp(FIRST_SLOTS.min(SLOTS), SLOTS);
        let old = std::mem::replace(&mut self.slots, vec![None; len]);
        self.filled = 0;
        for slot in old.into_iter().flatten() {
            self.place(slot);
        }
    }

    /// Puts `slot` (a key not in the memo) in one of its two slots. When both are taken, it
    /// takes its first and the key there moves to its own other slot, and so on a few times
    /// (a bounded cuckoo walk that never moves the new key); the key left over is forgotten.
    fn place(&mut self, slot: Slot<V>) {
        let home = self.index(slot.hash);
        let mut moving = slot;
        let mut from = usize::MAX;
        for _ in 0..KICKS {
            let (first, second) = (self.index(moving.hash), self.alternate(moving.hash));
            let free = [first, second]
                .into_iter()
                .find(|&i| self.slots.get(i).is_some_and(Option::is_none));
            if let Some(entry) = free.and_then(|i| self.slots.get_mut(i)) {
                *entry = Some(moving);
                self.filled += 1;
                return;
            }
            let to = if from == usize::MAX {
                home
            } else {
                match [first, second]
                    .into_iter()
                    .find(|&i| i != from && i != home)
                {
                    Some(to) => to,
                    None => return,
                }
            };
            let Some(Some(held)) = self.slots.get_mut(to) else {
                return;
            };
            moving = std::mem::replace(held, moving);
            from = to;
        }
    }

    /// Remembers `value` for `key`, unless `key` is longer than `MAX`.
    pub(crate) fn put(&mut self, key: &[u8], value: V) {
        let Ok(len) = u8::try_from(key.len()) else {
            return;
        };
        if key.len() > MAX {
            return;
        }
        if self.arena.len() + key.len() > Self::ARENA {
            self.clear();
        }
        if self.slots.len() < SLOTS && 2 * self.filled >= self.slots.len() {
            self.grow();
        }
        let h = hash(key);
        let at = self.arena.len() as u32;
        self.arena.extend_from_slice(key);
        let slot = Slot {
            hash: h,
            at,
            len,
            value,
        };
        match self.find(key, h).and_then(|i| self.slots.get_mut(i)) {
            Some(entry) => *entry = Some(slot),
            None => self.place(slot),
        }
    }

    /// The remembered value for `key`, or `make()`, remembered now.
    pub(crate) fn get_or_insert_with(&mut self, key: &[u8], make: impl FnOnce() -> V) -> V {
        if let Some(v) = self.get(key) {
            return v.clone();
        }
        let v = make();
        self.put(key, v.clone());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_right_or_absent_as_keys_crowd_out_slots_and_arena() {
        let key = |i: usize| format!("{i:040}").into_bytes();
        let mut memo: Memo<usize> = Memo::default();
        // 400 KB of keys: slots are shared and the arena starts over several times.
        for i in 0..10_000 {
            memo.put(&key(i), i);
            assert_eq!(memo.get(&key(i)), Some(&i), "just put {i}");
        }
        let mut found = 0;
        for i in 0..10_000 {
            if let Some(&v) = memo.get(&key(i)) {
                assert_eq!(v, i);
                found += 1;
            }
        }
        // The last keys put are still there (at most one arena's worth of them).
        assert!(found > 100 && found <= Memo::<usize>::ARENA / 40, "{found}");
        // Too long to remember; the empty key is a key.
        let long = vec![b'x'; 65];
        memo.put(&long, 1);
        assert_eq!(memo.get(&long), None);
        memo.put(b"", 7);
        assert_eq!(memo.get(b""), Some(&7));
        // Cleared, nothing is found; it remembers again after.
        memo.clear();
        assert_eq!(memo.get(b""), None);
        assert_eq!(memo.get(&key(9_999)), None);
        memo.put(&key(1), 1);
        assert_eq!(memo.get(&key(1)), Some(&1));
        // A key that shares a slot and a hash prefix but not its bytes is not found.
        assert_eq!(memo.get(b"0000000000000000000000000000000000009999x"), None);
    }

    #[test]
    fn same_compares_every_byte() {
        for n in 0..40 {
            let a: Vec<u8> = (0..n).map(|i| i as u8).collect();
            assert!(same(&a, &a.clone()));
            for i in 0..n {
                let mut b = a.clone();
                b[i] ^= 0x80;
                assert!(!same(&a, &b), "{n} {i}");
            }
            assert!(!same(&a, &[a.as_slice(), &[0]].concat()));
        }
    }

    #[test]
    fn keys_that_differ_in_their_last_bytes_spread_over_the_slots() {
        for (len, key) in [
            (
                23,
                (|i: usize| format!("EC2\0i-{i:017x}")) as fn(usize) -> String,
            ),
            (9, |i| format!("{i:09}")),
            (3, |i| format!("{i:03}")),
            (6, |i| format!("id{i:04}")),
            (8, |i| format!("key{i:05}")),
            (39, |i| format!("arn:aws:iam::123456789012:role/r{i:07}")),
        ] {
            let mut slots: Vec<usize> = (0..256)
                .map(|i| {
                    let k = key(i);
                    assert_eq!(k.len(), len);
                    (hash(k.as_bytes()) & 511) as usize
                })
                .collect();
            slots.sort_unstable();
            slots.dedup();
            // 256 random keys in 512 slots take about 202 of them.
            assert!(slots.len() > 180, "{len}: {}", slots.len());
            // With two slots per key and a cuckoo walk, over 94% are held (one slot: ~80%).
            let mut memo: Memo<usize, 512, 64> = Memo::default();
            (0..256).for_each(|i| memo.put(key(i).as_bytes(), i));
            let held = (0..256)
                .filter(|&i| memo.get(key(i).as_bytes()) == Some(&i))
                .count();
            assert!(held > 240, "{len}: {held}");
        }
    }
}
