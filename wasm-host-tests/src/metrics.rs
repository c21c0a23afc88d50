//! Metrics (`proxy_define_metric` and friends) as WasmX implements them: names are prefixed
//! `pw:<filter>:`, counters only increment, gauges and histograms only record, and a bad id traps.
//!
//! ```
//! use wasm_host_tests::metrics::{MetricKind, MetricValue, Metrics};
//! let metrics = Metrics::new("aws_masker");
//! let id = metrics.define(MetricKind::Counter, "requests_masked").unwrap();
//! metrics.increment(id, 2).unwrap();
//! assert_eq!(metrics.snapshot().get("requests_masked"), Some(&MetricValue::Counter(2)));
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// WasmX's default `max_metric_name_length`.
pub const MAX_NAME_LEN: usize = 256;

/// The proxy-wasm metric type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Type 0.
    Counter,
    /// Type 1.
    Gauge,
    /// Type 2.
    Histogram,
}

/// A metric's current value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricValue {
    /// Sum of increments.
    Counter(u64),
    /// Last recorded value.
    Gauge(u64),
    /// Every recorded value, in order.
    Histogram(Vec<u64>),
}

#[derive(Debug)]
struct Metric {
    name: String,
    value: MetricValue,
}

/// Metrics of one filter, shared by all simulated workers (clone it to share).
#[derive(Debug, Clone)]
pub struct Metrics {
    filter: String,
    metrics: Arc<Mutex<Vec<Metric>>>,
}

impl Metrics {
    /// An empty registry for the filter named `filter`.
    pub fn new(filter: &str) -> Self {
        Self {
            filter: filter.to_string(),
            metrics: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Defines (or finds) a metric; the id is stable for a name. `Err` is the trap message.
    pub fn define(&self, kind: MetricKind, name: &str) -> Result<u32, String> {
        if 4 + self.filter.len() + name.len() > MAX_NAME_LEN {
            return Err(format!(
                "host trap (internal error): could not define metric: name \"{name}\" too long"
            ));
        }
        let mut metrics = self.lock();
        if let Some(i) = metrics.iter().position(|m| m.name == name) {
            return Ok(id_of(i));
        }
        let value = match kind {
            MetricKind::Counter => MetricValue::Counter(0),
            MetricKind::Gauge => MetricValue::Gauge(0),
            MetricKind::Histogram => MetricValue::Histogram(Vec::new()),
        };
        metrics.push(Metric {
            name: name.to_string(),
            value,
        });
        Ok(id_of(metrics.len() - 1))
    }

    /// Adds `offset` to a counter. `Err` is the trap message.
    pub fn increment(&self, id: u32, offset: i64) -> Result<(), String> {
        let mut metrics = self.lock();
        let prefix =
            format!("host trap (internal error): could not increment metric id \"{id}\": ");
        match slot(&mut metrics, id).map(|m| &mut m.value) {
            Some(MetricValue::Counter(v)) => {
                *v = v.wrapping_add_signed(offset);
                Ok(())
            }
            Some(_) => Err(prefix + "metric not a counter"),
            None => Err(prefix + "metric not found"),
        }
    }

    /// Records a gauge value or a histogram sample. `Err` is the trap message.
    pub fn record(&self, id: u32, value: u64) -> Result<(), String> {
        let mut metrics = self.lock();
        let prefix =
            format!("host trap (internal error): could not record value in metric id \"{id}\": ");
        match slot(&mut metrics, id).map(|m| &mut m.value) {
            Some(MetricValue::Gauge(v)) => {
                *v = value;
                Ok(())
            }
            Some(MetricValue::Histogram(values)) => {
                values.push(value);
                Ok(())
            }
            Some(MetricValue::Counter(_)) => Err(prefix + "metric is a counter"),
            None => Err(prefix + "metric not found"),
        }
    }

    /// A counter's or gauge's value. `Err` is the trap message.
    pub fn get(&self, id: u32) -> Result<u64, String> {
        let mut metrics = self.lock();
        let prefix = format!("host trap (internal error): could not retrieve metric id \"{id}\"");
        match slot(&mut metrics, id).map(|m| &m.value) {
            Some(MetricValue::Counter(v) | MetricValue::Gauge(v)) => Ok(*v),
            Some(MetricValue::Histogram(_)) => Err(prefix + ": metric is a histogram"),
            None => Err(prefix + ": metric not found"),
        }
    }

    /// Every metric by the name the filter defined it with.
    pub fn snapshot(&self) -> BTreeMap<String, MetricValue> {
        self.lock()
            .iter()
            .map(|m| (m.name.clone(), m.value.clone()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Metric>> {
        self.metrics.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn id_of(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX).wrapping_add(1)
}

fn slot(metrics: &mut [Metric], id: u32) -> Option<&mut Metric> {
    let index = usize::try_from(id.checked_sub(1)?).ok()?;
    metrics.get_mut(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_gauges_histograms() {
        let m = Metrics::new("f");
        let c = m.define(MetricKind::Counter, "c").unwrap();
        let g = m.define(MetricKind::Gauge, "g").unwrap();
        let h = m.define(MetricKind::Histogram, "h").unwrap();
        assert_eq!(m.define(MetricKind::Counter, "c").unwrap(), c);
        m.increment(c, 3).unwrap();
        m.increment(c, 4).unwrap();
        m.record(g, 9).unwrap();
        m.record(h, 1).unwrap();
        m.record(h, 5).unwrap();
        assert_eq!(m.get(c), Ok(7));
        assert_eq!(m.get(g), Ok(9));
        assert!(m.get(h).unwrap_err().ends_with("metric is a histogram"));
        assert!(m.record(c, 1).unwrap_err().ends_with("metric is a counter"));
        assert!(m
            .increment(g, 1)
            .unwrap_err()
            .ends_with("metric not a counter"));
        assert!(m.get(99).unwrap_err().ends_with("metric not found"));
        assert_eq!(m.snapshot()["h"], MetricValue::Histogram(vec![1, 5]));
        assert!(m.define(MetricKind::Counter, &"x".repeat(300)).is_err());
    }
}
