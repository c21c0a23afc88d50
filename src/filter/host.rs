//! Host services the exchanges share: counters and the node cache over shared data.

use std::collections::HashMap;

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;

use crate::block::{BlockReason, ALL_REASONS};
use crate::metrics;
use crate::node_cache::SharedStore;

/// Counter ids, defined once per root context (WasmX keys metrics by name, so every root
/// context of the filter shares the same counters).
#[derive(Default)]
pub(crate) struct Metrics {
    ids: HashMap<String, u32>,
}

impl Metrics {
    /// Defines the fixed counters, one per block reason and one per kind label.
    pub(crate) fn define<'a>(labels: impl IntoIterator<Item = &'a str>) -> Metrics {
        let mut m = Metrics::default();
        let mut names: Vec<String> = metrics::FIXED.iter().map(|n| (*n).to_owned()).collect();
        names.extend(ALL_REASONS.iter().map(|r| metrics::blocks(*r)));
        names.extend(
            crate::store::FAILURE_CODES
                .iter()
                .map(|c| metrics::store_failures(c)),
        );
        names.extend(labels.into_iter().map(metrics::identifiers));
        for name in names {
            if let Ok(id) = hostcalls::define_metric(MetricType::Counter, &name) {
                m.ids.insert(name, id);
            }
        }
        m
    }

    pub(crate) fn add(&self, name: &str, n: u64) {
        if n == 0 {
            return;
        }
        if let Some(id) = self.ids.get(name) {
            // A failed increment loses a count, never a request.
            let _ = hostcalls::increment_metric(*id, i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    pub(crate) fn block(&self, reason: BlockReason) {
        self.add(&metrics::blocks(reason), 1);
    }
}

/// The engine's shared data. Every call traps when no `shm_kv` zone exists: the root
/// probes it once at configure time, so a missing zone fails the load, not a request.
pub(crate) struct Shared;

impl SharedStore for Shared {
    fn get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        hostcalls::get_shared_data(key).unwrap_or((None, None))
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        hostcalls::set_shared_data(key, Some(value), cas).is_ok()
    }
}
