//! The WasmX phase matrix (WASMX.md §3) as data: which host call may run in which callback, and the exact
//! trap message otherwise.
//!
//! ```
//! use wasm_host_tests::matrix::{rule, HostCall, Phase, Rule};
//! assert_eq!(rule(HostCall::Dispatch, Phase::RequestBody), Rule::Allow);
//! assert!(matches!(rule(HostCall::Dispatch, Phase::ResponseBody), Rule::Trap(m) if m.contains("can only send HTTP dispatch")));
//! ```

/// The callback a host call runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// `on_vm_start`, `on_configure` (and the root's `on_context_create`).
    Vm,
    /// `on_tick`.
    Tick,
    /// `on_http_request_headers` (and the HTTP context's `on_context_create`).
    RequestHeaders,
    /// `on_http_request_body`.
    RequestBody,
    /// `on_http_call_response`.
    CallResponse,
    /// `on_http_response_headers`.
    ResponseHeaders,
    /// `on_http_response_body`.
    ResponseBody,
    /// `on_done`, `on_log`, `on_delete`.
    Log,
}

impl Phase {
    /// Every phase, in matrix column order.
    pub const ALL: [Phase; 8] = [
        Phase::Vm,
        Phase::Tick,
        Phase::RequestHeaders,
        Phase::RequestBody,
        Phase::CallResponse,
        Phase::ResponseHeaders,
        Phase::ResponseBody,
        Phase::Log,
    ];

    /// True for the root-context phases.
    pub fn is_root(self) -> bool {
        matches!(self, Phase::Vm | Phase::Tick)
    }
}

/// The host calls whose availability depends on the phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostCall {
    /// `proxy_http_call`.
    Dispatch,
    /// `proxy_get_buffer_bytes(HttpRequestBody)`.
    GetRequestBody,
    /// `proxy_set_buffer_bytes(HttpRequestBody)`.
    SetRequestBody,
    /// `proxy_get_buffer_bytes(HttpResponseBody)`.
    GetResponseBody,
    /// `proxy_set_buffer_bytes(HttpResponseBody)`.
    SetResponseBody,
    /// `proxy_get_buffer_bytes(HttpCallResponseBody)`.
    GetCallResponseBody,
    /// set/add/replace/remove of a request header, and `proxy_set_header_map_pairs` on request headers.
    SetRequestHeader,
    /// set/add/replace/remove of a response header (`:status` included).
    SetResponseHeader,
    /// `proxy_set_tick_period_milliseconds`.
    SetTickPeriod,
    /// `proxy_send_local_response`.
    SendLocalResponse,
    /// `proxy_log`.
    Log,
    /// `proxy_get_shared_data`, `proxy_set_shared_data`.
    SharedData,
}

impl HostCall {
    /// Every row of the matrix.
    pub const ALL: [HostCall; 12] = [
        HostCall::Dispatch,
        HostCall::GetRequestBody,
        HostCall::SetRequestBody,
        HostCall::GetResponseBody,
        HostCall::SetResponseBody,
        HostCall::GetCallResponseBody,
        HostCall::SetRequestHeader,
        HostCall::SetResponseHeader,
        HostCall::SetTickPeriod,
        HostCall::SendLocalResponse,
        HostCall::Log,
        HostCall::SharedData,
    ];
}

/// What WasmX does with a host call in a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The call runs.
    Allow,
    /// The call traps with this full message.
    Trap(&'static str),
    /// The call returns NotFound (the request body before it is read).
    NotFound,
    /// Allowed until the response is produced (request headers from `on_http_call_response`), then traps.
    UntilResponseStarts(&'static str),
    /// Allowed until the response headers are sent (response headers from `on_http_call_response`), then traps.
    UntilHeadersSent(&'static str),
    /// The local response is stashed and sent instead of proxying.
    Stash,
    /// The local response replaces the upstream response (its headers argument is ignored).
    Replace,
    /// Not an HTTP context: the call fails with InternalFailure.
    NoHttpContext,
}

/// T1..T10 of WASMX.md §3, with the prefix `ngx_wavm_host.c` adds.
pub mod trap {
    /// T1.
    pub const DISPATCH: &str = "host trap (bad usage): can only send HTTP dispatch during \"on_request_headers\", \"on_request_body\", \"on_tick\", \"on_dispatch_response\", \"on_foreign_function\"";
    /// T2.
    pub const GET_REQUEST_BODY: &str =
        "host trap (bad usage): can only get request body during \"on_request_body\", \"on_log\"";
    /// T3.
    pub const SET_REQUEST_BODY: &str =
        "host trap (bad usage): can only set request body during \"on_request_body\"";
    /// T4.
    pub const GET_RESPONSE_BODY: &str =
        "host trap (bad usage): can only get response body during \"on_response_body\"";
    /// T5.
    pub const SET_RESPONSE_BODY: &str =
        "host trap (bad usage): can only set response body during \"on_response_body\"";
    /// T6.
    pub const GET_CALL_BODY: &str =
        "host trap (bad usage): can only get dispatch response body during \"on_http_dispatch_response\"";
    /// T7.
    pub const SET_REQUEST_HEADER: &str =
        "host trap (bad usage): can only set request headers before response is produced";
    /// T8.
    pub const SET_RESPONSE_HEADER: &str =
        "host trap (bad usage): can only set response headers before \"on_response_body\"";
    /// T9 (no prefix).
    pub const TICK_ROOT_ONLY: &str = "can only set tick_period in root context";
    /// T9, second non-zero period (no prefix).
    pub const TICK_ALREADY_SET: &str = "tick_period already set";
    /// T10a.
    pub const LOCAL_ALREADY_STASHED: &str = "host trap (bad usage): local response already stashed";
    /// T10b.
    pub const RESPONSE_ALREADY_SENT: &str = "host trap (bad usage): response already sent";
    /// Prefix of every not-yet-implemented host function's trap; the function name follows.
    pub const NYI_PREFIX: &str = "host trap (function not yet implemented): ";
}

/// The matrix: WasmX's rule for `call` in `phase`.
pub fn rule(call: HostCall, phase: Phase) -> Rule {
    use HostCall as H;
    use Phase as P;
    match (call, phase) {
        (H::Log | H::SharedData, _) => Rule::Allow,
        (H::Dispatch, P::Tick | P::RequestHeaders | P::RequestBody | P::CallResponse) => {
            Rule::Allow
        }
        (H::Dispatch, _) => Rule::Trap(trap::DISPATCH),
        (H::GetRequestBody, P::RequestHeaders) => Rule::NotFound,
        (H::GetRequestBody, P::RequestBody | P::Log) => Rule::Allow,
        (H::GetRequestBody, _) => Rule::Trap(trap::GET_REQUEST_BODY),
        (H::SetRequestBody, P::RequestHeaders | P::RequestBody) => Rule::Allow,
        (H::SetRequestBody, _) => Rule::Trap(trap::SET_REQUEST_BODY),
        (H::GetResponseBody, P::ResponseBody) => Rule::Allow,
        (H::GetResponseBody, _) => Rule::Trap(trap::GET_RESPONSE_BODY),
        (H::SetResponseBody, P::ResponseBody) => Rule::Allow,
        (H::SetResponseBody, _) => Rule::Trap(trap::SET_RESPONSE_BODY),
        (H::GetCallResponseBody, P::CallResponse | P::Log) => Rule::Allow,
        (H::GetCallResponseBody, _) => Rule::Trap(trap::GET_CALL_BODY),
        (H::SetRequestHeader, P::RequestHeaders | P::RequestBody) => Rule::Allow,
        (H::SetRequestHeader, P::CallResponse) => {
            Rule::UntilResponseStarts(trap::SET_REQUEST_HEADER)
        }
        (H::SetRequestHeader, _) => Rule::Trap(trap::SET_REQUEST_HEADER),
        (H::SetResponseHeader, P::RequestHeaders | P::RequestBody | P::ResponseHeaders) => {
            Rule::Allow
        }
        (H::SetResponseHeader, P::CallResponse) => {
            Rule::UntilHeadersSent(trap::SET_RESPONSE_HEADER)
        }
        (H::SetResponseHeader, _) => Rule::Trap(trap::SET_RESPONSE_HEADER),
        (H::SetTickPeriod, P::Vm | P::Tick) => Rule::Allow,
        (H::SetTickPeriod, _) => Rule::Trap(trap::TICK_ROOT_ONLY),
        (H::SendLocalResponse, P::Vm | P::Tick) => Rule::NoHttpContext,
        (H::SendLocalResponse, P::RequestHeaders | P::RequestBody | P::CallResponse) => Rule::Stash,
        (H::SendLocalResponse, P::ResponseHeaders) => Rule::Replace,
        (H::SendLocalResponse, P::ResponseBody | P::Log) => Rule::Trap(trap::RESPONSE_ALREADY_SENT),
    }
}
