//! The proxy-wasm glue (wasm32 only): reads bytes from the host, asks the core, acts on the
//! answer. [`root::MaskerRoot`] parses the configuration and builds the masker once per root
//! context; [`http::Exchange`] handles one request and its response.
//!
//! WasmX rules this glue relies on (see `docs/` and the shared WASMX notes): the request body
//! arrives once, whole, with end-of-stream; `Pause` in a request step hangs unless a dispatch
//! is pending, so this filter returns it only right after dispatching to the bridge
//! (`use_redis`, [`store`]); response steps cannot wait, so responses are
//! restored with what the exchange already holds.

mod host;
mod http;
mod root;
mod store;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(proxy_wasm::types::LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn proxy_wasm::traits::RootContext> {
        Box::new(root::MaskerRoot::default())
    });
}}
