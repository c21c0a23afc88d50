//! aws-masker: find AWS identifiers in Claude API traffic, replace them with stable keyed
//! placeholders before the request leaves, and restore the originals in the response.
//!
//! The crate has two layers:
//! - a pure core (everything but [`filter`]) that compiles natively and is tested with
//!   `cargo test`: detection ([`detect`]), placeholders ([`placeholder`]), masking of request
//!   bodies ([`mask`], [`json`]), restoring of responses ([`restore`], [`sse`]), the filter
//!   configuration ([`config`]) and the bridge wire types ([`protocol`]);
//! - the proxy-wasm glue (`filter`, only on `wasm32`), which reads bytes from the host, calls
//!   the core and acts on its answer.

pub mod block;
pub mod config;
pub mod detect;
pub mod exchange;
pub mod json;
pub mod mask;
pub(crate) mod memo;
pub mod metrics;
pub mod node_cache;
pub mod placeholder;
pub mod protocol;
pub mod restore;
pub mod sse;
pub mod store;
pub(crate) mod words;

#[cfg(target_arch = "wasm32")]
mod filter;
