//! The proxy-wasm glue (being written).
