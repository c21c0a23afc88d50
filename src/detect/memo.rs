//! A small direct-mapped memo from short byte strings to what was worked out about them. A
//! body repeats a few dozen keys and short values thousands of times (every object of CLI
//! output has its `InstanceId`, `"State": "running"`); remembering them per body saves
//! redoing the same work. Two strings that share a slot only cost a recomputation, so a
//! crafted body can make the memo useless but never wrong.

/// Strings longer than this are not remembered: long texts rarely repeat.
pub(crate) const MAX_LEN: usize = 64;

const SLOTS: usize = 512;

#[derive(Clone, Debug)]
pub(crate) struct Memo<V> {
    slots: Vec<Option<(Box<[u8]>, V)>>,
}

impl<V> Default for Memo<V> {
    fn default() -> Self {
        Memo { slots: Vec::new() }
    }
}

fn slot(key: &[u8]) -> usize {
    // Eight bytes per multiply: a byte-at-a-time hash is a chain of multiplies as long as
    // the string, and every short string of a body is looked up.
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = key.len() as u64;
    let mut words = key.chunks_exact(8);
    for word in &mut words {
        let w = <[u8; 8]>::try_from(word).map_or(0, u64::from_le_bytes);
        h = (h ^ w).wrapping_mul(K).rotate_left(31);
    }
    let mut tail = [0u8; 8];
    for (slot, byte) in tail.iter_mut().zip(words.remainder()) {
        *slot = *byte;
    }
    h = (h ^ u64::from_le_bytes(tail)).wrapping_mul(K);
    ((h ^ (h >> 32)) as usize) % SLOTS
}

impl<V: Clone> Memo<V> {
    /// What was remembered for `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<&V> {
        if key.len() > MAX_LEN || self.slots.is_empty() {
            return None;
        }
        match self.slots.get(slot(key)) {
            Some(Some((k, v))) if **k == *key => Some(v),
            _ => None,
        }
    }

    /// Remembers `value` for `key` (replacing whatever shared its slot), unless `key` is
    /// longer than [`MAX_LEN`].
    pub(crate) fn put(&mut self, key: &[u8], value: V) {
        if key.len() > MAX_LEN {
            return;
        }
        if self.slots.is_empty() {
            self.slots.resize(SLOTS, None);
        }
        if let Some(entry) = self.slots.get_mut(slot(key)) {
            *entry = Some((key.into(), value));
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
