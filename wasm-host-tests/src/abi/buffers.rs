//! `proxy_get_buffer_bytes` and `proxy_set_buffer_bytes` with the phase matrix and WasmX body semantics.

use wasmtime::Linker;

use crate::abi::{check, host_log, http, R};
use crate::body;
use crate::matrix::{HostCall, Rule};
use crate::memory::{alloc, guest_span, memory, status, trap, with_guest_bytes, write_u32, Ctx};
use crate::state::{HostState, HttpState, Level};

pub(super) fn link(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_get_buffer_bytes",
        |mut c: Ctx<'_>, kind: i32, start: i32, max: i32, ret: i32, ret_len: i32| -> R {
            let source = match kind {
                6 => Source::VmConfig,
                7 => Source::PluginConfig,
                0 => {
                    if check(&c, HostCall::GetRequestBody)? == Rule::NotFound {
                        return Ok(status::NOT_FOUND);
                    }
                    let h = http(&mut c)?;
                    if h.request_body.is_empty() || !h.request_body_read {
                        return Ok(status::NOT_FOUND);
                    }
                    if h.request_body_spooled {
                        host_log(
                            &mut c,
                            Level::Err,
                            "cannot read request body buffered to file at \"/tmp/client_body_temp/0000000001\"",
                        );
                        return Ok(status::NOT_FOUND);
                    }
                    Source::RequestBody
                }
                1 => {
                    check(&c, HostCall::GetResponseBody)?;
                    if http(&mut c)?.chunk.is_none() {
                        return Ok(status::NOT_FOUND);
                    }
                    Source::Chunk
                }
                4 => {
                    check(&c, HostCall::GetCallResponseBody)?;
                    match c.data().call.as_ref().map(|call| &call.result) {
                        None => return Ok(status::BAD_ARGUMENT),
                        Some(Ok(resp)) if !resp.body.is_empty() => Source::CallBody,
                        Some(_) => return Ok(status::NOT_FOUND),
                    }
                }
                other => {
                    host_log(&mut c, Level::Crit, format!("NYI - get_buffer bad buf_type: {other}"));
                    return Ok(status::BAD_ARGUMENT);
                }
            };
            // Room in the filter first (its allocator runs, and sees the state unchanged), then
            // one copy from the state into it, as WasmX makes.
            let len = body::get(source.bytes(c.data_mut())?, start as u32 as usize, max as u32 as usize).len();
            if len == 0 {
                return Ok(status::OK);
            }
            let p = alloc(&mut c, len)?;
            if p == 0 {
                return Ok(status::INTERNAL_FAILURE);
            }
            let mem = memory(&mut c)?;
            let (guest, state) = mem.data_and_store_mut(&mut c);
            let from = source.bytes(state)?.get(..len);
            let to = (p as usize).checked_add(len).and_then(|end| guest.get_mut(p as usize..end));
            match (from, to) {
                (Some(from), Some(to)) => to.copy_from_slice(from),
                _ => return Err(trap("host trap (bad argument): invalid memory access")),
            }
            write_u32(&mut c, ret, p)?;
            write_u32(&mut c, ret_len, len as u32)?;
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_buffer_bytes",
        |mut c: Ctx<'_>, kind: i32, start: i32, size: i32, ptr: i32, len: i32| -> R {
            // A bad pointer traps before anything else, as the copy out of the filter did.
            let span = guest_span(&mut c, ptr, len)?;
            let (start, size) = (start as u32 as usize, size as u32 as usize);
            match kind {
                0 => {
                    check(&c, HostCall::SetRequestBody)?;
                    with_guest_bytes(&mut c, span, |data, state| {
                        let h = state_http(state)?;
                        if h.request_body_spooled {
                            body::append_to_spooled(&mut h.request_body, start, size, data);
                        } else {
                            body::set(&mut h.request_body, start, size, data);
                        }
                        h.request_body_changed = true;
                        Ok(())
                    })?;
                }
                1 => {
                    check(&c, HostCall::SetResponseBody)?;
                    if http(&mut c)?.content_length_sent {
                        host_log(
                            &mut c,
                            Level::Warn,
                            "overriding response body chunk while Content-Length header already sent",
                        );
                    }
                    with_guest_bytes(&mut c, span, |data, state| {
                        let chunk = state_http(state)?.chunk.get_or_insert_with(Vec::new);
                        body::set(chunk, start, size, data);
                        Ok(())
                    })?;
                }
                other => {
                    host_log(&mut c, Level::Crit, format!("NYI - set_buffer bad buf_type: {other}"));
                    return Ok(status::BAD_ARGUMENT);
                }
            }
            Ok(status::OK)
        },
    )?;
    Ok(())
}

/// Where `proxy_get_buffer_bytes` reads from.
#[derive(Clone, Copy)]
enum Source {
    VmConfig,
    PluginConfig,
    RequestBody,
    Chunk,
    CallBody,
}

/// The exchange's state, from the host state itself (where [`http`] needs the caller).
fn state_http(state: &mut HostState) -> wasmtime::Result<&mut HttpState> {
    state
        .http
        .as_mut()
        .ok_or_else(|| trap("host trap (internal error): no http context"))
}

impl Source {
    /// The bytes, where they are in the state.
    fn bytes(self, state: &mut HostState) -> wasmtime::Result<&[u8]> {
        Ok(match self {
            Source::VmConfig => &state.settings.vm_config,
            Source::PluginConfig => &state.settings.plugin_config,
            Source::RequestBody => &state_http(state)?.request_body,
            Source::Chunk => state_http(state)?.chunk.as_deref().unwrap_or_default(),
            Source::CallBody => match state.call.as_ref().map(|call| &call.result) {
                Some(Ok(resp)) => &resp.body,
                _ => &[],
            },
        })
    }
}
