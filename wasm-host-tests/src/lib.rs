//! A wasmtime proxy-wasm host that runs a filter `.wasm` the way Kong's WasmX engine (ngx_wasm_module,
//! Kong 3.4 to 3.10) does, so tests exercise the real artifact under the real engine's rules
//! (`WASMX.md` §7.1, the engine notes kept beside the repository: see docs/WASM-HOST.md): the phase matrix with its exact traps, body setter and getter quirks, dispatch
//! semantics, the request body delivered once whole, per-chunk response bodies with the Content-Length
//! end-of-stream rule, one Pause-buffering window, shared data with WasmX's CAS rule, local responses with the
//! appended newline, NYI functions that trap, and one instance per worker recycled after a trap.
//!
//! All state lives in wasmtime `Store`s owned by [`Host`] values, so tests run in parallel. Compiled
//! modules are shared: per process by content ([`Filter::cached`]) and on disk under
//! `target/wasm-host-cache/` for [`Filter::from_file`] (`WASM_HOST_CACHE=off` disables it, any other value is
//! a directory), because a debug build of Cranelift needs tens of seconds for a real filter.
//! Each callback runs with a fuel budget ([`HostConfig::fuel_per_callback`]) and each instance with a memory
//! cap ([`HostConfig::max_memory`]): a runaway filter traps instead of hanging the test.
//!
//! # Whole exchanges
//!
//! ```
//! use wasm_host_tests::{Filter, Host, HostConfig, Request, UpstreamResponse};
//!
//! // A filter that adds a response header (WAT for the example; real tests load the built .wasm with
//! // `Filter::from_file(&wasm_host_tests::filter_wasm_path()?)`).
//! let wat = wasm_host_tests::fixtures::WatFilter::new()
//!     .on(wasm_host_tests::fixtures::Callback::ResponseHeaders, r#"
//!         (drop (call $proxy_add_header_map_value (i32.const 2) (i32.const 4000) (i32.const 6) (i32.const 4006) (i32.const 2)))"#)
//!     .data(4000, b"x-wasmok")
//!     .build();
//! let filter = Filter::from_bytes("example", wat.as_bytes(), true).unwrap();
//! let host = Host::new(filter, HostConfig::default()).unwrap();
//! let report = host.exchange(Request::post("/v1/messages", b"{}"), UpstreamResponse::json(b"{\"a\":1}"));
//! let client = report.client().unwrap();
//! assert_eq!(client.status, 200);
//! assert_eq!(client.header("x-wasm"), Some("ok"));
//! assert_eq!(report.upstream_request.unwrap().body, b"{}");
//! ```
//!
//! # Streaming (for a real proxy)
//!
//! Lock a worker per step with [`Host::worker`]; several exchanges may interleave on one worker, as request
//! contexts share one instance in nginx (isolation `none`):
//!
//! ```
//! # use wasm_host_tests::{Filter, Host, HostConfig, Request, RequestOutcome};
//! # let wat = wasm_host_tests::fixtures::WatFilter::new().build();
//! # let host = Host::new(Filter::from_bytes("f", wat.as_bytes(), true).unwrap(), HostConfig::default()).unwrap();
//! let w = host.next_worker();
//! let mut ex = host.worker(w).begin(Request::post("/v1/messages", b"{}"));
//! if let RequestOutcome::Forward(req) = ex.outcome().clone() {
//!     // ... send `req` upstream, then:
//!     let head = host.worker(w).response_headers(&mut ex, Some((200, vec![("content-type".into(), "text/event-stream".into())])));
//!     let mut sent = host.worker(w).response_body(&mut ex, b"data: 1\n\n");
//!     sent.extend(host.worker(w).finish(&mut ex));
//!     assert_eq!((head.status, sent.as_slice()), (200, &b"data: 1\n\n"[..]));
//! }
//! ```

//! # Scenario tests against the real filter
//!
//! ```no_run
//! use wasm_host_tests::{echo, filter_wasm_path, Filter, Host, HostConfig, Request, UpstreamResponse};
//!
//! let path = filter_wasm_path().unwrap(); // Err says to run `make build`
//! let config = br#"{"token_secret":"0123456789abcdef0123456789abcdef"}"#;
//! let host = Host::new(Filter::from_file(&path).unwrap(), HostConfig::with_config(&config[..])).unwrap();
//! let body = br#"{"messages":[{"role":"user","content":"i-0123456789abcdef0"}]}"#;
//! // Upstream echoes what it received; the client must get the original back.
//! let report = host.exchange(Request::post("/v1/messages", body), echo);
//! let upstream = report.upstream_request.as_ref().unwrap();
//! assert!(!upstream.body.windows(19).any(|w| w == b"i-0123456789abcdef0"));
//! assert_eq!(report.client().unwrap().body, body);
//! assert!(!report.log_text().contains("i-0123456789abcdef0"));
//! // Split the upstream response at every offset:
//! for cut in 1..body.len() {
//!     let r = host.exchange(Request::post("/v1/messages", body), |req: &wasm_host_tests::ForwardedRequest| {
//!         UpstreamResponse::json(&req.body).split_at(&[cut])
//!     });
//!     assert_eq!(r.client().unwrap().body, body);
//! }
//! ```
//!
//! Dispatches go through a [`dispatch::Transport`]: [`dispatch::ScriptedTransport`] answers from a script,
//! [`dispatch::TcpTransport`] speaks HTTP/1.1 with `Connection: close` (use [`Host::with_transport`]).

pub mod body;
pub mod cli;
pub mod codec;
pub mod cpu;
pub mod dispatch;
pub mod fixtures;
pub mod matrix;
pub mod metrics;
pub mod replay;
pub mod scenario;
pub mod serve;
pub mod shm;

mod abi;
mod error;
mod exchange;
mod filter;
mod headers;
mod host;
mod memory;
mod request;
mod response;
mod state;
mod wasi;
mod worker;

pub use abi::NYI;
pub use error::HostError;
pub use filter::{filter_wasm_path, Filter};
pub use headers::find as find_header;
pub use host::{
    echo, ClientResponse, Framing, Host, HostConfig, Hung, Report, Upstream, UpstreamResponse,
};
pub use memory::HostTrap;
pub use request::{
    DispatchRecord, Exchange, ForwardedRequest, Request, RequestOutcome, ResponseHead,
};
pub use state::{Level, LocalReply, LogLine, Source};
pub use worker::Worker;
