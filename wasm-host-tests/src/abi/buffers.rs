//! `proxy_get_buffer_bytes` and `proxy_set_buffer_bytes` with the phase matrix and WasmX body semantics.

use wasmtime::Linker;

use crate::abi::{check, host_log, http, R};
use crate::body;
use crate::matrix::{HostCall, Rule};
use crate::memory::{read, return_bytes, status, Ctx};
use crate::state::{HostState, Level};

pub(super) fn link(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_get_buffer_bytes",
        |mut c: Ctx<'_>, kind: i32, start: i32, max: i32, ret: i32, ret_len: i32| -> R {
            let data: Vec<u8> = match kind {
                6 => c.data().settings.vm_config.clone(),
                7 => c.data().settings.plugin_config.clone(),
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
                    h.request_body.clone()
                }
                1 => {
                    check(&c, HostCall::GetResponseBody)?;
                    match &http(&mut c)?.chunk {
                        Some(chunk) => chunk.clone(),
                        None => return Ok(status::NOT_FOUND),
                    }
                }
                4 => {
                    check(&c, HostCall::GetCallResponseBody)?;
                    match c.data().call.as_ref().map(|call| &call.result) {
                        None => return Ok(status::BAD_ARGUMENT),
                        Some(Ok(resp)) if !resp.body.is_empty() => resp.body.clone(),
                        Some(_) => return Ok(status::NOT_FOUND),
                    }
                }
                other => {
                    host_log(&mut c, Level::Crit, format!("NYI - get_buffer bad buf_type: {other}"));
                    return Ok(status::BAD_ARGUMENT);
                }
            };
            let slice = body::get(&data, start as u32 as usize, max as u32 as usize);
            if slice.is_empty() {
                return Ok(status::OK);
            }
            let slice = slice.to_vec();
            return_bytes(&mut c, &slice, ret, ret_len)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_buffer_bytes",
        |mut c: Ctx<'_>, kind: i32, start: i32, size: i32, ptr: i32, len: i32| -> R {
            let data = read(&mut c, ptr, len)?;
            let (start, size) = (start as u32 as usize, size as u32 as usize);
            match kind {
                0 => {
                    check(&c, HostCall::SetRequestBody)?;
                    let h = http(&mut c)?;
                    if h.request_body_spooled {
                        body::append_to_spooled(&mut h.request_body, start, size, &data);
                    } else {
                        body::set(&mut h.request_body, start, size, &data);
                    }
                    h.request_body_changed = true;
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
                    let chunk = http(&mut c)?.chunk.get_or_insert_with(Vec::new);
                    body::set(chunk, start, size, &data);
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
