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
    // FNV-1a, folded.
    let h = key.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &c| {
        (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01b3)
    });
    ((h ^ (h >> 29)) as usize) % SLOTS
}

impl<V: Clone> Memo<V> {
    /// What was remembered for `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<&V> {
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
