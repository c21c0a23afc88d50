//! The root context: configuration, masker and counters, shared by the exchanges via `Rc`.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::ContextType;

use super::host::{Metrics, Shared};
use super::http::Exchange;
use crate::config::{self, Config, ConfigError};
use crate::detect::{DetectError, Detector};
use crate::mask::Masker;
use crate::node_cache::{self, SharedStore};
use crate::placeholder::Placeholders;
use crate::store::circuit::Breaker;

/// Everything an exchange needs, built once per configuration.
pub(crate) struct Filter {
    pub(crate) config: Config,
    pub(crate) masker: Masker<Detector>,
    pub(crate) metrics: Metrics,
    /// This worker's circuit breaker (the node's lives in shared data when a zone exists).
    pub(crate) breaker: Cell<Breaker>,
}

enum SetupError {
    Config(ConfigError),
    Detector(DetectError),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Config(e) => e.fmt(f),
            // The detector validates labels and regexes; its messages start with the field.
            SetupError::Detector(e) => e.fmt(f),
        }
    }
}

fn build(bytes: &[u8]) -> Result<Filter, SetupError> {
    let config = config::parse(bytes).map_err(SetupError::Config)?;
    let detector = Detector::new(&config.detector).map_err(SetupError::Detector)?;
    let labels = Detector::builtin_labels().iter().copied().chain(
        config
            .detector
            .custom_patterns
            .iter()
            .map(|p| p.kind.as_str()),
    );
    let metrics = Metrics::define(labels);
    let placeholders = Placeholders::new(config.token_secret.expose().as_bytes());
    let masker = Masker::new(detector, placeholders, config.max_body_bytes);
    Ok(Filter {
        config,
        masker,
        metrics,
        breaker: Cell::new(Breaker::default()),
    })
}

#[derive(Default)]
pub(crate) struct MaskerRoot {
    filter: Option<Rc<Filter>>,
}

impl Context for MaskerRoot {}

impl RootContext for MaskerRoot {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let filter = match build(&bytes) {
            Ok(filter) => filter,
            Err(e) => {
                log::error!("aws-masker: invalid config: {e}");
                self.filter = None;
                return false;
            }
        };
        if filter.config.node_cache {
            // No way to ask WasmX whether a zone exists: a missing one traps on first use.
            // Probe here so the failure is a load failure named in the log, not a request.
            log::warn!(
                "aws-masker: node_cache: probing the shm_kv zone; a trap right after this line means \
                 none is configured: set nginx_wasm_shm_kv_aws_masker (or nginx_wasm_shm_kv) in kong.conf, \
                 or node_cache: false"
            );
            let _ = Shared.get(&node_cache::key("probe"));
        }
        log::info!(
            "aws-masker {} configured: mode {:?}, max_body_bytes {}, node_cache {}, use_redis {}",
            env!("CARGO_PKG_VERSION"),
            filter.config.mode,
            filter.config.max_body_bytes,
            filter.config.node_cache,
            filter.config.store.use_redis,
        );
        self.filter = Some(Rc::new(filter));
        true
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        // Never None: the SDK panics on it. Without a filter the exchange fails closed.
        Some(Box::new(Exchange::new(context_id, self.filter.clone())))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
