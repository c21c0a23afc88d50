//! Shared data (`shm_kv`) as WasmX implements it (WASMX.md §6.1): one store for every worker, only with a
//! zone, entries indexed by the crc32 of the key, and a CAS that is always compared.
//!
//! ```
//! use wasm_host_tests::shm::{SetOutcome, SharedKv};
//! let kv = SharedKv::new(Some(64 * 1024));
//! assert_eq!(kv.set(b"k", Some(b"v1"), 0), Ok(SetOutcome::Written));
//! assert_eq!(kv.get(b"k"), Ok(Some((b"v1".to_vec(), 1))));
//! assert_eq!(kv.set(b"k", Some(b"v2"), 0), Ok(SetOutcome::CasMismatch)); // a plain set does not overwrite
//! assert_eq!(kv.set(b"k", Some(b"v2"), 1), Ok(SetOutcome::Written));
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The trap when no `shm_kv` zone exists, for get.
pub const TRAP_GET_NO_ZONE: &str =
    "host trap (bad usage): failed getting value from shm (could not resolve namespace)";
/// The trap when no `shm_kv` zone exists, for set.
pub const TRAP_SET_NO_ZONE: &str =
    "host trap (bad usage): failed setting value to shm (could not resolve namespace)";

/// The result of a set that did not trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOutcome {
    /// Stored (or deleted).
    Written,
    /// The cas argument did not equal the entry's cas (0 for a missing key).
    CasMismatch,
}

/// Why a shared-data call traps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoZone(pub &'static str);

#[derive(Debug, Clone)]
struct Entry {
    value: Vec<u8>,
    cas: u32,
}

/// The `shm_kv *` zone, shared by all simulated workers (clone it to share).
#[derive(Debug, Clone)]
pub struct SharedKv {
    zone: Option<usize>,
    entries: Arc<Mutex<HashMap<u32, Entry>>>,
}

impl SharedKv {
    /// A store; `None` means no `shm_kv` zone is configured, so every call traps.
    pub fn new(zone_size: Option<usize>) -> Self {
        Self {
            zone: zone_size,
            entries: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The value and cas for `key`, `None` when absent.
    pub fn get(&self, key: &[u8]) -> Result<Option<(Vec<u8>, u32)>, NoZone> {
        if self.zone.is_none() {
            return Err(NoZone(TRAP_GET_NO_ZONE));
        }
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(entries.get(&crc32(key)).map(|e| (e.value.clone(), e.cas)))
    }

    /// Stores `value` (or deletes on `None`) when `cas` equals the current cas (0 when missing).
    pub fn set(&self, key: &[u8], value: Option<&[u8]>, cas: u32) -> Result<SetOutcome, NoZone> {
        if self.zone.is_none() {
            return Err(NoZone(TRAP_SET_NO_ZONE));
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = crc32(key);
        let current = entries.get(&slot).map_or(0, |e| e.cas);
        if cas != current {
            return Ok(SetOutcome::CasMismatch);
        }
        match value {
            Some(value) => {
                entries.insert(
                    slot,
                    Entry {
                        value: value.to_vec(),
                        cas: current.wrapping_add(1),
                    },
                );
            }
            None => {
                entries.remove(&slot);
            }
        }
        Ok(SetOutcome::Written)
    }

    /// Number of entries stored.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// CRC-32 (IEEE), the index WasmX uses for keys.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_known_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn cas_rule_of_wasmx() {
        let kv = SharedKv::new(Some(15 * 1024));
        assert_eq!(kv.get(b"k"), Ok(None));
        assert_eq!(kv.set(b"k", Some(b"a"), 5), Ok(SetOutcome::CasMismatch));
        assert_eq!(kv.set(b"k", Some(b"a"), 0), Ok(SetOutcome::Written));
        assert_eq!(kv.get(b"k"), Ok(Some((b"a".to_vec(), 1))));
        assert_eq!(kv.set(b"k", Some(b"b"), 0), Ok(SetOutcome::CasMismatch));
        assert_eq!(kv.set(b"k", Some(b"b"), 1), Ok(SetOutcome::Written));
        assert_eq!(kv.get(b"k"), Ok(Some((b"b".to_vec(), 2))));
        assert_eq!(kv.set(b"k", Some(b""), 2), Ok(SetOutcome::Written));
        assert_eq!(kv.get(b"k"), Ok(Some((vec![], 3))));
        assert_eq!(kv.set(b"k", None, 1), Ok(SetOutcome::CasMismatch));
        assert_eq!(kv.set(b"k", None, 3), Ok(SetOutcome::Written));
        assert_eq!(kv.get(b"k"), Ok(None));
    }

    #[test]
    fn shared_between_clones_and_traps_without_zone() {
        let kv = SharedKv::new(Some(15 * 1024));
        let other_worker = kv.clone();
        kv.set(b"x", Some(b"1"), 0).unwrap();
        assert_eq!(other_worker.get(b"x"), Ok(Some((b"1".to_vec(), 1))));
        let none = SharedKv::new(None);
        assert_eq!(none.get(b"x"), Err(NoZone(TRAP_GET_NO_ZONE)));
        assert_eq!(none.set(b"x", Some(b"1"), 0), Err(NoZone(TRAP_SET_NO_ZONE)));
    }
}
