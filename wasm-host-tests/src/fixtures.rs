//! Small hand-written filters (WAT) for the host's own tests: every proxy-wasm import is declared, each
//! callback runs an optional snippet, and `$status` logs a host call's result as `status=NN`.
//!
//! ```
//! use wasm_host_tests::fixtures::{snippet, Callback, WatFilter};
//! use wasm_host_tests::matrix::HostCall;
//! let wat = WatFilter::new().on(Callback::RequestHeaders, &snippet(HostCall::Log)).build();
//! assert!(wat.contains("proxy_on_request_headers"));
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::codec::encode_map;
use crate::matrix::{HostCall, Phase};

/// The exported callbacks a fixture defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Callback {
    /// `proxy_on_context_create(id, root)`.
    ContextCreate,
    /// `proxy_on_vm_start(root, len) -> bool`.
    VmStart,
    /// `proxy_on_configure(root, len) -> bool`.
    Configure,
    /// `proxy_on_tick(root)`.
    Tick,
    /// `proxy_on_request_headers(id, n, eos) -> action`.
    RequestHeaders,
    /// `proxy_on_request_body(id, len, eos) -> action`.
    RequestBody,
    /// `proxy_on_http_call_response(root, token, n, len, trailers)`.
    CallResponse,
    /// `proxy_on_response_headers(id, n, eos) -> action`.
    ResponseHeaders,
    /// `proxy_on_response_body(id, len, eos) -> action`.
    ResponseBody,
    /// `proxy_on_done(id) -> bool`.
    Done,
    /// `proxy_on_log(id)`.
    Log,
    /// `proxy_on_delete(id)`.
    Delete,
}

impl Callback {
    /// The callback that runs in `phase` (LOG uses `on_log`, VM uses `on_configure`).
    pub fn of(phase: Phase) -> Self {
        match phase {
            Phase::Vm => Self::Configure,
            Phase::Tick => Self::Tick,
            Phase::RequestHeaders => Self::RequestHeaders,
            Phase::RequestBody => Self::RequestBody,
            Phase::CallResponse => Self::CallResponse,
            Phase::ResponseHeaders => Self::ResponseHeaders,
            Phase::ResponseBody => Self::ResponseBody,
            Phase::Log => Self::Log,
        }
    }

    fn signature(self) -> (&'static str, &'static str, Option<i32>) {
        match self {
            Self::ContextCreate => (
                "proxy_on_context_create",
                "(param $id i32) (param $b i32)",
                None,
            ),
            Self::VmStart => (
                "proxy_on_vm_start",
                "(param $id i32) (param $b i32) (result i32)",
                Some(1),
            ),
            Self::Configure => (
                "proxy_on_configure",
                "(param $id i32) (param $b i32) (result i32)",
                Some(1),
            ),
            Self::Tick => ("proxy_on_tick", "(param $id i32)", None),
            Self::RequestHeaders => (
                "proxy_on_request_headers",
                "(param $id i32) (param $b i32) (param $c i32) (result i32)",
                Some(0),
            ),
            Self::RequestBody => (
                "proxy_on_request_body",
                "(param $id i32) (param $b i32) (param $c i32) (result i32)",
                Some(0),
            ),
            Self::CallResponse => (
                "proxy_on_http_call_response",
                "(param $id i32) (param $b i32) (param $c i32) (param $d i32) (param $e i32)",
                None,
            ),
            Self::ResponseHeaders => (
                "proxy_on_response_headers",
                "(param $id i32) (param $b i32) (param $c i32) (result i32)",
                Some(0),
            ),
            Self::ResponseBody => (
                "proxy_on_response_body",
                "(param $id i32) (param $b i32) (param $c i32) (result i32)",
                Some(0),
            ),
            Self::Done => ("proxy_on_done", "(param $id i32) (result i32)", Some(1)),
            Self::Log => ("proxy_on_log", "(param $id i32)", None),
            Self::Delete => ("proxy_on_delete", "(param $id i32)", None),
        }
    }

    const ALL: [Callback; 12] = [
        Self::ContextCreate,
        Self::VmStart,
        Self::Configure,
        Self::Tick,
        Self::RequestHeaders,
        Self::RequestBody,
        Self::CallResponse,
        Self::ResponseHeaders,
        Self::ResponseBody,
        Self::Done,
        Self::Log,
        Self::Delete,
    ];
}

const IMPORTS: &str = r#"
  (import "env" "proxy_log" (func $proxy_log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_current_time_nanoseconds" (func $proxy_get_current_time_nanoseconds (param i32) (result i32)))
  (import "env" "proxy_set_tick_period_milliseconds" (func $proxy_set_tick_period_milliseconds (param i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $proxy_set_effective_context (param i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $proxy_continue_stream (param i32) (result i32)))
  (import "env" "proxy_get_property" (func $proxy_get_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $proxy_get_buffer_bytes (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_buffer_bytes" (func $proxy_set_buffer_bytes (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_pairs" (func $proxy_get_header_map_pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $proxy_get_header_map_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_header_map_pairs" (func $proxy_set_header_map_pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $proxy_add_header_map_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $proxy_replace_header_map_value (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_remove_header_map_value" (func $proxy_remove_header_map_value (param i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $proxy_send_local_response (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_http_call" (func $proxy_http_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_shared_data" (func $proxy_get_shared_data (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_shared_data" (func $proxy_set_shared_data (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_define_metric" (func $proxy_define_metric (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_metric" (func $proxy_get_metric (param i32 i32) (result i32)))
  (import "env" "proxy_record_metric" (func $proxy_record_metric (param i32 i64) (result i32)))
  (import "env" "proxy_increment_metric" (func $proxy_increment_metric (param i32 i64) (result i32)))
  (import "env" "proxy_get_log_level" (func $proxy_get_log_level (param i32) (result i32)))
  (import "env" "proxy_done" (func $proxy_done (result i32)))
  (import "env" "proxy_close_stream" (func $proxy_close_stream (param i32) (result i32)))
  (import "env" "proxy_get_status" (func $proxy_get_status (param i32 i32 i32) (result i32)))
  (import "env" "proxy_resolve_shared_queue" (func $proxy_resolve_shared_queue (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
"#;

const RUNTIME: &str = r#"
  (memory (export "memory") 16)
  (global $heap (mut i32) (i32.const 131072))
  (global $g0 (mut i32) (i32.const 0))
  (global $g1 (mut i32) (i32.const 0))
  (global $g2 (mut i32) (i32.const 0))
  (global $g3 (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func $malloc (export "malloc") (param $n i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (local.get $p))
  (func $status (param $s i32)
    (i32.store8 (i32.const 519) (i32.add (i32.const 48) (i32.div_u (local.get $s) (i32.const 10))))
    (i32.store8 (i32.const 520) (i32.add (i32.const 48) (i32.rem_u (local.get $s) (i32.const 10))))
    (drop (call $proxy_log (i32.const 2) (i32.const 512) (i32.const 9))))
  (func $log_ret (param $prefix i32)
    ;; logs "ret=" then the bytes whose pointer and length the host stored at 256 and 260
    (drop (call $proxy_log (i32.const 2) (i32.load (i32.const 256)) (i32.load (i32.const 260)))))
  (func $loop_forever (loop $l (br $l)))
  (data (i32.const 512) "status=00")
"#;

/// Fixed data every fixture carries (addresses used by [`snippet`]).
pub mod addr {
    /// `127.0.0.1:9` (11 bytes): a dispatch target.
    pub const UPSTREAM: u32 = 1024;
    /// `x-test` (6 bytes).
    pub const HEADER_NAME: u32 = 1100;
    /// `1` (1 byte).
    pub const HEADER_VALUE: u32 = 1110;
    /// `key` (3 bytes).
    pub const KEY: u32 = 1120;
    /// `val` (3 bytes).
    pub const VALUE: u32 = 1130;
    /// `Wasm` (4 bytes).
    pub const WORD: u32 = 1140;
    /// `metric` (6 bytes).
    pub const METRIC: u32 = 1150;
    /// Dispatch headers `:method GET`, `:path /`, `:authority svc` (length in [`super::dispatch_headers_len`]).
    pub const DISPATCH_HEADERS: u32 = 2048;
    /// Return slot for a pointer (then a length at +4, a cas at +8).
    pub const RET: u32 = 256;
}

/// The encoded dispatch headers at [`addr::DISPATCH_HEADERS`].
pub fn dispatch_headers() -> Vec<u8> {
    encode_map(&[
        (b":method".to_vec(), b"GET".to_vec()),
        (b":path".to_vec(), b"/".to_vec()),
        (b":authority".to_vec(), b"svc".to_vec()),
    ])
}

/// Length of [`dispatch_headers`].
pub fn dispatch_headers_len() -> usize {
    dispatch_headers().len()
}

/// A WAT instruction sequence that performs `call` with harmless arguments and logs its status as
/// `status=NN` (a trap stops it first).
pub fn snippet(call: HostCall) -> String {
    let hl = dispatch_headers_len();
    let body = match call {
        HostCall::Dispatch => format!(
            "(call $proxy_http_call (i32.const 1024) (i32.const 11) (i32.const 2048) (i32.const {hl}) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const 256))"
        ),
        HostCall::GetRequestBody => get_buffer(0),
        HostCall::SetRequestBody => set_buffer(0),
        HostCall::GetResponseBody => get_buffer(1),
        HostCall::SetResponseBody => set_buffer(1),
        HostCall::GetCallResponseBody => get_buffer(4),
        HostCall::SetRequestHeader => replace_header(0),
        HostCall::SetResponseHeader => replace_header(2),
        HostCall::SetTickPeriod => "(call $proxy_set_tick_period_milliseconds (i32.const 0))".to_string(),
        HostCall::SendLocalResponse => "(call $proxy_send_local_response (i32.const 403) (i32.const 0) (i32.const 0) (i32.const 1140) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const -1))".to_string(),
        HostCall::Log => "(call $proxy_log (i32.const 2) (i32.const 1140) (i32.const 4))".to_string(),
        HostCall::SharedData => "(call $proxy_get_shared_data (i32.const 1120) (i32.const 3) (i32.const 256) (i32.const 260) (i32.const 264))".to_string(),
    };
    format!("(call $status {body})")
}

fn get_buffer(kind: u32) -> String {
    format!("(call $proxy_get_buffer_bytes (i32.const {kind}) (i32.const 0) (i32.const 1000000) (i32.const 256) (i32.const 260))")
}

fn set_buffer(kind: u32) -> String {
    format!("(call $proxy_set_buffer_bytes (i32.const {kind}) (i32.const 0) (i32.const 4) (i32.const 1140) (i32.const 4))")
}

fn replace_header(kind: u32) -> String {
    format!("(call $proxy_replace_header_map_value (i32.const {kind}) (i32.const 1100) (i32.const 6) (i32.const 1110) (i32.const 1))")
}

/// Wraps `code` so it runs only the first time (uses global `$g<slot>`, slot 0..=3).
pub fn once(slot: u8, code: &str) -> String {
    format!(
        "(if (i32.eqz (global.get $g{slot})) (then (global.set $g{slot} (i32.const 1)) {code}))"
    )
}

/// Builds a fixture filter.
#[derive(Debug, Clone, Default)]
pub struct WatFilter {
    code: BTreeMap<Callback, String>,
    returns: BTreeMap<Callback, i32>,
    data: Vec<(u32, Vec<u8>)>,
    extra: String,
}

impl WatFilter {
    /// A filter whose callbacks do nothing and return Continue / true.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends WAT instructions to a callback (they run before it returns).
    pub fn on(mut self, callback: Callback, code: &str) -> Self {
        self.code.entry(callback).or_default().push_str(code);
        self
    }

    /// Sets a callback's return value (0 Continue / 1 Pause for actions; 1 true / 0 false for bools).
    pub fn returns(mut self, callback: Callback, value: i32) -> Self {
        self.returns.insert(callback, value);
        self
    }

    /// Places bytes at a fixed address (use 3000..130000).
    pub fn data(mut self, at: u32, bytes: &[u8]) -> Self {
        self.data.push((at, bytes.to_vec()));
        self
    }

    /// Adds module-level WAT (extra functions or exports).
    pub fn extra(mut self, wat: &str) -> Self {
        self.extra.push_str(wat);
        self
    }

    /// The module text.
    pub fn build(&self) -> String {
        let mut wat = String::from("(module\n");
        wat.push_str(IMPORTS);
        wat.push_str(RUNTIME);
        let fixed: [(u32, Vec<u8>); 8] = [
            (addr::UPSTREAM, b"127.0.0.1:9".to_vec()),
            (addr::HEADER_NAME, b"x-test".to_vec()),
            (addr::HEADER_VALUE, b"1".to_vec()),
            (addr::KEY, b"key".to_vec()),
            (addr::VALUE, b"val".to_vec()),
            (addr::WORD, b"Wasm".to_vec()),
            (addr::METRIC, b"metric".to_vec()),
            (addr::DISPATCH_HEADERS, dispatch_headers()),
        ];
        for (at, bytes) in fixed.iter().chain(self.data.iter()) {
            let _ = writeln!(wat, "  (data (i32.const {at}) \"{}\")", escape(bytes));
        }
        for callback in Callback::ALL {
            let (name, sig, default) = callback.signature();
            let code = self.code.get(&callback).map_or("", String::as_str);
            let ret = match default {
                Some(d) => format!(
                    "(i32.const {})",
                    self.returns.get(&callback).copied().unwrap_or(d)
                ),
                None => String::new(),
            };
            let _ = writeln!(
                wat,
                "  (func (export \"{name}\") {sig}\n    {code}\n    {ret})"
            );
        }
        wat.push_str(&self.extra);
        wat.push(')');
        wat
    }
}

/// Escapes bytes for a WAT string literal.
pub fn escape(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "\\{b:02x}");
        s
    })
}
