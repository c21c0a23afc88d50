//! The circuit breaker in front of the bridge: a pure state machine, time passed in.
//!
//! Closed counts consecutive failures; at `failure_threshold` it opens and rejects every
//! call (fail fast, the store-failure policy applies) for `open_seconds`; then it is half
//! open: calls go through as probes, a failure reopens it, `success_threshold` successes
//! close it. The state lives per worker, and in shared data when a zone exists
//! ([`update_shared`]), so the workers of a node open and close together.
//!
//! ```
//! use aws_masker::config::Circuit;
//! use aws_masker::store::circuit::Breaker;
//!
//! let c = Circuit { failure_threshold: 2, open_seconds: 10, success_threshold: 1 };
//! let mut b = Breaker::default();
//! b = b.record(&c, false, 0).record(&c, false, 0);
//! assert!(!b.allows(5_000));
//! assert!(b.allows(10_000));
//! b = b.admit(10_000).record(&c, true, 10_000);
//! assert_eq!(b, Breaker::default());
//! ```

use crate::config::Circuit;
use crate::node_cache::SharedStore;

/// The breaker's state. Times are milliseconds since the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breaker {
    Closed { failures: u32 },
    Open { until_ms: u64 },
    HalfOpen { successes: u32 },
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker::Closed { failures: 0 }
    }
}

impl Breaker {
    /// True when a call may go to the bridge at `now_ms`.
    pub fn allows(self, now_ms: u64) -> bool {
        match self {
            Breaker::Open { until_ms } => now_ms >= until_ms,
            _ => true,
        }
    }

    /// The state once a call is let through at `now_ms`: an expired open turns half open.
    pub fn admit(self, now_ms: u64) -> Breaker {
        match self {
            Breaker::Open { until_ms } if now_ms >= until_ms => Breaker::HalfOpen { successes: 0 },
            other => other,
        }
    }

    /// The state after a call's outcome.
    pub fn record(self, circuit: &Circuit, ok: bool, now_ms: u64) -> Breaker {
        let open = Breaker::Open {
            until_ms: now_ms.saturating_add(u64::from(circuit.open_seconds) * 1000),
        };
        match (self.admit(now_ms), ok) {
            (Breaker::Closed { .. }, true) => Breaker::default(),
            (Breaker::Closed { failures }, false) => {
                let failures = failures.saturating_add(1);
                if failures >= circuit.failure_threshold {
                    open
                } else {
                    Breaker::Closed { failures }
                }
            }
            (Breaker::HalfOpen { successes }, true) => {
                let successes = successes.saturating_add(1);
                if successes >= circuit.success_threshold {
                    Breaker::default()
                } else {
                    Breaker::HalfOpen { successes }
                }
            }
            (Breaker::HalfOpen { .. }, false) => open,
            // A late outcome of a call let through before the breaker opened: it stays open.
            (state @ Breaker::Open { .. }, _) => state,
        }
    }

    /// `c:<failures>`, `o:<until_ms>` or `h:<successes>`.
    pub fn encode(self) -> Vec<u8> {
        match self {
            Breaker::Closed { failures } => format!("c:{failures}"),
            Breaker::Open { until_ms } => format!("o:{until_ms}"),
            Breaker::HalfOpen { successes } => format!("h:{successes}"),
        }
        .into_bytes()
    }

    /// The state in `bytes`; `None` when malformed.
    pub fn decode(bytes: &[u8]) -> Option<Breaker> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (tag, n) = text.split_once(':')?;
        match tag {
            "c" => Some(Breaker::Closed {
                failures: n.parse().ok()?,
            }),
            "o" => Some(Breaker::Open {
                until_ms: n.parse().ok()?,
            }),
            "h" => Some(Breaker::HalfOpen {
                successes: n.parse().ok()?,
            }),
            _ => None,
        }
    }
}

/// The shared-data key of the node's breaker.
pub const SHARED_KEY: &str = "aws_masker/circuit";

/// Rounds of get-cas-then-set before giving up on a contended key.
const CAS_ROUNDS: usize = 4;

/// The node's breaker as shared data holds it (missing or malformed: closed).
pub fn read_shared(store: &impl SharedStore) -> Breaker {
    let (value, _) = store.get(SHARED_KEY);
    value
        .as_deref()
        .and_then(Breaker::decode)
        .unwrap_or_default()
}

/// Applies `change` to the shared breaker with WasmX's CAS rule (read the cas, set with it,
/// reread on a mismatch). Returns the state written, or `None` when every round lost the
/// race (the caller keeps its worker-local state).
pub fn update_shared(
    store: &impl SharedStore,
    change: impl Fn(Breaker) -> Breaker,
) -> Option<Breaker> {
    for _ in 0..CAS_ROUNDS {
        let (value, cas) = store.get(SHARED_KEY);
        let current = value
            .as_deref()
            .and_then(Breaker::decode)
            .unwrap_or_default();
        let next = change(current);
        if next == current && value.is_some() {
            return Some(next);
        }
        if store.set(SHARED_KEY, &next.encode(), cas) {
            return Some(next);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    const C: Circuit = Circuit {
        failure_threshold: 3,
        open_seconds: 30,
        success_threshold: 2,
    };

    #[test]
    fn opens_after_consecutive_failures_only() {
        let mut b = Breaker::default();
        b = b.record(&C, false, 0).record(&C, false, 0);
        assert_eq!(b, Breaker::Closed { failures: 2 });
        b = b.record(&C, true, 0);
        assert_eq!(b, Breaker::default(), "a success resets the count");
        for _ in 0..3 {
            b = b.record(&C, false, 1_000);
        }
        assert_eq!(b, Breaker::Open { until_ms: 31_000 });
        assert!(!b.allows(30_999));
        assert!(b.allows(31_000));
    }

    #[test]
    fn half_open_closes_after_successes_and_reopens_on_failure() {
        let open = Breaker::Open { until_ms: 10 };
        let probing = open.admit(10);
        assert_eq!(probing, Breaker::HalfOpen { successes: 0 });
        let one = probing.record(&C, true, 11);
        assert_eq!(one, Breaker::HalfOpen { successes: 1 });
        assert_eq!(one.record(&C, true, 12), Breaker::default());
        assert_eq!(
            one.record(&C, false, 12),
            Breaker::Open { until_ms: 30_012 }
        );
        // An outcome that arrives while open (a call let through earlier) changes nothing.
        let still = Breaker::Open { until_ms: 500 };
        assert_eq!(still.record(&C, true, 100), still);
    }

    #[test]
    fn encodes_and_rejects_garbage() {
        for b in [
            Breaker::default(),
            Breaker::Closed { failures: 7 },
            Breaker::Open { until_ms: u64::MAX },
            Breaker::HalfOpen { successes: 2 },
        ] {
            assert_eq!(Breaker::decode(&b.encode()), Some(b));
        }
        for bad in [&b""[..], b"x:1", b"c:", b"o:-1", b"c1", b"\xff"] {
            assert_eq!(Breaker::decode(bad), None);
        }
    }

    /// WasmX shared data: cas 0 for a missing key; `races` sets fail before the real one.
    #[derive(Default)]
    struct Kv {
        map: RefCell<HashMap<String, (Vec<u8>, u32)>>,
        races: RefCell<usize>,
    }

    impl SharedStore for Kv {
        fn get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
            self.map
                .borrow()
                .get(key)
                .map_or((None, Some(0)), |(v, c)| (Some(v.clone()), Some(*c)))
        }
        fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
            let mut races = self.races.borrow_mut();
            let mut map = self.map.borrow_mut();
            let current = map.get(key).map_or(0, |(_, c)| *c);
            if *races > 0 {
                *races -= 1;
                // Another worker wrote in between: the cas moves on.
                map.insert(key.to_owned(), (b"c:1".to_vec(), current + 1));
                return false;
            }
            if cas.unwrap_or(0) != current {
                return false;
            }
            map.insert(key.to_owned(), (value.to_vec(), current + 1));
            true
        }
    }

    #[test]
    fn shared_updates_follow_cas_and_retry() {
        let kv = Kv::default();
        assert_eq!(read_shared(&kv), Breaker::default());
        let fail = |b: Breaker| b.record(&C, false, 0);
        assert_eq!(
            update_shared(&kv, fail),
            Some(Breaker::Closed { failures: 1 })
        );
        // Two lost races: reread each time, the third round applies to the other writer's value.
        *kv.races.borrow_mut() = 2;
        assert_eq!(
            update_shared(&kv, fail),
            Some(Breaker::Closed { failures: 2 })
        );
        assert_eq!(read_shared(&kv), Breaker::Closed { failures: 2 });
        *kv.races.borrow_mut() = CAS_ROUNDS;
        assert_eq!(update_shared(&kv, fail), None, "bounded retries");
    }
}
