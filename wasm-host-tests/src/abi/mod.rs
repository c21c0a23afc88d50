//! The `env` host functions proxy-wasm-rust-sdk 0.2.5 imports, with WasmX's semantics.

use wasmtime::{Linker, Module, Val};

use crate::matrix::{rule, trap as msg, HostCall, Rule};
use crate::memory::{trap, Ctx};
use crate::state::{HostState, HttpState, Level, Source};

mod buffers;
mod http_calls;
mod integration;
mod maps;
mod shared;

pub(crate) type R = wasmtime::Result<i32>;

/// Every host function ngx_wasm_module links but does not implement: calling one traps.
pub const NYI: &[&str] = &[
    "proxy_get_log_level",
    "proxy_context_finalize",
    "proxy_done",
    "proxy_create_timer",
    "proxy_delete_timer",
    "proxy_get_map_values",
    "proxy_set_map_values",
    "proxy_resume_stream",
    "proxy_resume_downstream",
    "proxy_resume_upstream",
    "proxy_close_stream",
    "proxy_resume_http_stream",
    "proxy_continue_response",
    "proxy_dispatch_grpc_call",
    "proxy_grpc_call",
    "proxy_open_grpc_stream",
    "proxy_grpc_stream",
    "proxy_send_grpc_stream_message",
    "proxy_grpc_send",
    "proxy_cancel_grpc_call",
    "proxy_grpc_cancel",
    "proxy_close_grpc_call",
    "proxy_grpc_close",
    "proxy_get_status",
    "proxy_open_shared_kvstore",
    "proxy_get_shared_kvstore_key_values",
    "proxy_set_shared_kvstore_key_values",
    "proxy_add_shared_kvstore_key_values",
    "proxy_remove_shared_kvstore_key",
    "proxy_delete_shared_kvstore",
    "proxy_open_shared_queue",
    "proxy_dequeue_shared_queue_item",
    "proxy_enqueue_shared_queue_item",
    "proxy_delete_shared_queue",
    "proxy_resolve_shared_queue",
    "proxy_create_metric",
    "proxy_get_metric_value",
    "proxy_set_metric_value",
    "proxy_increment_metric_value",
    "proxy_delete_metric",
    "proxy_call_custom_function",
    "proxy_clear_route_cache",
];

/// Applies the phase matrix; `Ok` carries the rule to act on (never `Trap`).
pub(crate) fn check(c: &Ctx<'_>, call: HostCall) -> wasmtime::Result<Rule> {
    let data = c.data();
    match rule(call, data.phase) {
        Rule::Trap(m) => Err(trap(m)),
        Rule::UntilResponseStarts(m) if data.http.as_ref().is_some_and(|h| h.response_started) => {
            Err(trap(m))
        }
        Rule::UntilHeadersSent(m) if data.http.as_ref().is_some_and(|h| h.headers_sent) => {
            Err(trap(m))
        }
        Rule::UntilResponseStarts(_) | Rule::UntilHeadersSent(_) => Ok(Rule::Allow),
        other => Ok(other),
    }
}

pub(crate) fn http<'a>(c: &'a mut Ctx<'_>) -> wasmtime::Result<&'a mut HttpState> {
    c.data_mut()
        .http
        .as_mut()
        .ok_or_else(|| trap("host trap (internal error): no http context"))
}

pub(crate) fn host_log(c: &mut Ctx<'_>, level: Level, message: impl Into<String>) {
    c.data_mut().log(level, Source::Host, message);
}

/// Links every `env` function WasmX provides, plus trapping stand-ins for the NYI names `module` imports.
pub(crate) fn link(linker: &mut Linker<HostState>, module: &Module) -> wasmtime::Result<()> {
    integration::link(linker)?;
    buffers::link(linker)?;
    maps::link(linker)?;
    http_calls::link(linker)?;
    shared::link(linker)?;
    shared::link_metrics(linker)?;
    for import in module.imports() {
        if import.module() != "env" || !NYI.contains(&import.name()) {
            continue;
        }
        if let wasmtime::ExternType::Func(ty) = import.ty() {
            let name = import.name().to_string();
            linker.func_new(
                "env",
                import.name(),
                ty,
                move |_c, _args: &[Val], _rets: &mut [Val]| {
                    Err(trap(format!("{}{name}", msg::NYI_PREFIX)))
                },
            )?;
        }
    }
    Ok(())
}
