//! `proxy_get_buffer_bytes` and `proxy_set_buffer_bytes` with the phase matrix and WasmX body semantics.

use wasmtime::Linker;

use crate::abi::{check, host_log, http, R};
use crate::body;
use crate::matrix::{HostCall, Rule};
use crate::memory::{guest_span, return_bytes, status, with_guest_bytes, Ctx};
use crate::state::{HostState, Level};

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
            // The bytes leave the state while the filter allocates room for them (it makes no
            // host call meanwhile) and come back after: one copy into the filter, as WasmX makes.
            let data = source.take(&mut c)?;
            let slice = body::get(&data, start as u32 as usize, max as u32 as usize);
            let result = if slice.is_empty() {
                Ok(status::OK)
            } else {
                return_bytes(&mut c, slice, ret, ret_len)
            };
            source.put_back(&mut c, data)?;
            result
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
                    let h = http(&mut c)?;
                    let spooled = h.request_body_spooled;
                    let mut target = std::mem::take(&mut h.request_body);
                    let copied = with_guest_bytes(&mut c, span.clone(), |data| {
                        if spooled {
                            body::append_to_spooled(&mut target, start, size, data);
                        } else {
                            body::set(&mut target, start, size, data);
                        }
                    });
                    let h = http(&mut c)?;
                    h.request_body = target;
                    h.request_body_changed = true;
                    copied?;
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
                    let mut chunk = http(&mut c)?.chunk.take().unwrap_or_default();
                    let copied = with_guest_bytes(&mut c, span.clone(), |data| {
                        body::set(&mut chunk, start, size, data);
                    });
                    http(&mut c)?.chunk = Some(chunk);
                    copied?;
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

impl Source {
    /// The bytes, taken out of the state (the configurations are shared, so copied).
    fn take(self, c: &mut Ctx<'_>) -> wasmtime::Result<Vec<u8>> {
        Ok(match self {
            Source::VmConfig => c.data().settings.vm_config.clone(),
            Source::PluginConfig => c.data().settings.plugin_config.clone(),
            Source::RequestBody => std::mem::take(&mut http(c)?.request_body),
            Source::Chunk => http(c)?.chunk.take().unwrap_or_default(),
            Source::CallBody => match c.data_mut().call.as_mut().map(|call| &mut call.result) {
                Some(Ok(resp)) => std::mem::take(&mut resp.body),
                _ => Vec::new(),
            },
        })
    }

    /// Puts back what [`Source::take`] took.
    fn put_back(self, c: &mut Ctx<'_>, data: Vec<u8>) -> wasmtime::Result<()> {
        match self {
            Source::VmConfig | Source::PluginConfig => {}
            Source::RequestBody => http(c)?.request_body = data,
            Source::Chunk => http(c)?.chunk = Some(data),
            Source::CallBody => {
                if let Some(Ok(resp)) = c.data_mut().call.as_mut().map(|call| &mut call.result) {
                    resp.body = data;
                }
            }
        }
        Ok(())
    }
}
