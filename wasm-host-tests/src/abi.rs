//! The `env` host functions proxy-wasm-rust-sdk 0.2.5 imports, with WasmX's semantics.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasmtime::{Linker, Module, Val};

use crate::body;
use crate::codec::{decode_map, encode_map};
use crate::dispatch::{DispatchRequest, Target};
use crate::headers::{self, MapKind, Op};
use crate::matrix::{rule, trap as msg, HostCall, Phase, Rule};
use crate::memory::{read, return_bytes, status, trap, write_u32, write_u64, Ctx};
use crate::metrics::MetricKind;
use crate::shm::SetOutcome;
use crate::state::{HostState, HttpState, Level, LocalReply, PendingCall, Source};

type R = wasmtime::Result<i32>;

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
fn check(c: &Ctx<'_>, call: HostCall) -> wasmtime::Result<Rule> {
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

fn http<'a>(c: &'a mut Ctx<'_>) -> wasmtime::Result<&'a mut HttpState> {
    c.data_mut()
        .http
        .as_mut()
        .ok_or_else(|| trap("host trap (internal error): no http context"))
}

fn host_log(c: &mut Ctx<'_>, level: Level, message: impl Into<String>) {
    c.data_mut().log(level, Source::Host, message);
}

/// Links every `env` function WasmX provides, plus trapping stand-ins for the NYI names `module` imports.
pub(crate) fn link(linker: &mut Linker<HostState>, module: &Module) -> wasmtime::Result<()> {
    link_integration(linker)?;
    link_buffers(linker)?;
    link_maps(linker)?;
    link_http(linker)?;
    link_shared(linker)?;
    link_metrics(linker)?;
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

fn link_integration(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_log",
        |mut c: Ctx<'_>, level: i32, ptr: i32, len: i32| -> R {
            let text = String::from_utf8_lossy(&read(&mut c, ptr, len)?).into_owned();
            let level = match level {
                0 | 1 => Level::Debug,
                2 => Level::Info,
                3 => Level::Warn,
                4 => Level::Err,
                5 => Level::Crit,
                other => {
                    host_log(
                        &mut c,
                        Level::Crit,
                        format!("NYI - proxy_log bad log_level: {other}"),
                    );
                    return Ok(status::BAD_ARGUMENT);
                }
            };
            c.data_mut().log(level, Source::Filter, text);
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_get_current_time_nanoseconds",
        |mut c: Ctx<'_>, ret: i32| -> R {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            write_u64(
                &mut c,
                ret,
                u64::try_from(now.as_nanos()).unwrap_or(u64::MAX),
            )?;
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_tick_period_milliseconds",
        |mut c: Ctx<'_>, period: i32| -> R {
            check(&c, HostCall::SetTickPeriod)?;
            let period = period as u32;
            if period != 0 && c.data().tick_period != 0 {
                return Err(trap(msg::TICK_ALREADY_SET));
            }
            c.data_mut().tick_period = period;
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_effective_context",
        |_c: Ctx<'_>, _id: i32| -> R { Ok(status::OK) },
    )?;
    l.func_wrap(
        "env",
        "proxy_continue_stream",
        |mut c: Ctx<'_>, stream: i32| -> R {
            if stream == 0 || stream == 1 {
                return Ok(status::OK);
            }
            host_log(
                &mut c,
                Level::Crit,
                format!("NYI - continue stream type: {stream}"),
            );
            Ok(status::INTERNAL_FAILURE)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_get_property",
        |mut c: Ctx<'_>, p: i32, n: i32, ret: i32, ret_len: i32| -> R {
            let raw = read(&mut c, p, n)?;
            let path: String = String::from_utf8_lossy(&raw)
                .trim_end_matches('\0')
                .split('\0')
                .collect::<Vec<_>>()
                .join(".");
            let data = c.data();
            match headers::property(
                data.http.as_ref(),
                &data.settings.filter_name,
                data.root_id,
                &path,
            ) {
                Some(value) => return_bytes(&mut c, &value, ret, ret_len),
                None => Ok(status::NOT_FOUND),
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_property",
        |_c: Ctx<'_>, _p: i32, _n: i32, _v: i32, _vn: i32| -> R { Ok(status::NOT_FOUND) },
    )?;
    l.func_wrap(
        "env",
        "proxy_call_foreign_function",
        |_c: Ctx<'_>, _n: i32, _nl: i32, _a: i32, _al: i32, _r: i32, _rl: i32| -> R {
            Err(trap("host trap (internal error): unknown foreign function"))
        },
    )?;
    Ok(())
}

fn link_buffers(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
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

fn map_kind_for_set(c: &mut Ctx<'_>, map_type: i32) -> wasmtime::Result<Option<MapKind>> {
    let kind = match MapKind::from_abi(map_type) {
        Some(k @ (MapKind::Request | MapKind::Response)) => k,
        _ => {
            host_log(
                c,
                Level::Crit,
                format!("NYI - set_map bad map_type: {map_type}"),
            );
            return Ok(None);
        }
    };
    let call = if kind == MapKind::Request {
        HostCall::SetRequestHeader
    } else {
        HostCall::SetResponseHeader
    };
    check(c, call)?;
    if c.data().http.is_none() {
        return Ok(None);
    }
    Ok(Some(kind))
}

fn set_one(c: &mut Ctx<'_>, map_type: i32, key: &[u8], value: &[u8], op: Op) -> R {
    let Some(kind) = map_kind_for_set(c, map_type)? else {
        return Ok(status::BAD_ARGUMENT);
    };
    let logs = headers::apply(http(c)?, kind, key, value, op);
    for (level, line) in logs {
        host_log(c, level, line);
    }
    Ok(status::OK)
}

fn link_maps(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_get_header_map_pairs",
        |mut c: Ctx<'_>, map_type: i32, ret: i32, ret_len: i32| -> R {
            let data = c.data();
            let call = data.call.as_ref().map(|call| &call.result);
            let pairs = match (MapKind::from_abi(map_type), data.http.as_ref()) {
                (Some(kind), Some(h)) => headers::pairs(h, kind, call),
                (Some(MapKind::CallResponse), None) => {
                    headers::pairs(&HttpState::default(), MapKind::CallResponse, call)
                }
                _ => None,
            };
            match pairs {
                Some(pairs) => return_bytes(&mut c, &encode_map(&pairs), ret, ret_len),
                None => Ok(status::BAD_ARGUMENT),
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_get_header_map_value",
        |mut c: Ctx<'_>, map_type: i32, kp: i32, kl: i32, ret: i32, ret_len: i32| -> R {
            let key = read(&mut c, kp, kl)?;
            let data = c.data();
            let call = data.call.as_ref().map(|call| &call.result);
            let empty = HttpState::default();
            let h = data.http.as_ref().unwrap_or(&empty);
            let value =
                MapKind::from_abi(map_type).and_then(|kind| headers::value(h, kind, &key, call));
            match value {
                Some(v) => return_bytes(&mut c, &v, ret, ret_len),
                None => Ok(status::NOT_FOUND),
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_header_map_pairs",
        |mut c: Ctx<'_>, map_type: i32, p: i32, n: i32| -> R {
            let Ok(pairs) = decode_map(&read(&mut c, p, n)?) else {
                return Ok(status::INTERNAL_FAILURE);
            };
            let Some(kind) = map_kind_for_set(&mut c, map_type)? else {
                return Ok(status::BAD_ARGUMENT);
            };
            headers::clear(http(&mut c)?, kind);
            for (k, v) in pairs {
                let logs = headers::apply(http(&mut c)?, kind, &k, &v, Op::Replace);
                for (level, line) in logs {
                    host_log(&mut c, level, line);
                }
            }
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_add_header_map_value",
        |mut c: Ctx<'_>, map_type: i32, kp: i32, kl: i32, vp: i32, vl: i32| -> R {
            let (key, value) = (read(&mut c, kp, kl)?, read(&mut c, vp, vl)?);
            set_one(&mut c, map_type, &key, &value, Op::Add)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_replace_header_map_value",
        |mut c: Ctx<'_>, map_type: i32, kp: i32, kl: i32, vp: i32, vl: i32| -> R {
            let (key, value) = (read(&mut c, kp, kl)?, read(&mut c, vp, vl)?);
            set_one(&mut c, map_type, &key, &value, Op::Replace)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_remove_header_map_value",
        |mut c: Ctx<'_>, map_type: i32, kp: i32, kl: i32| -> R {
            let key = read(&mut c, kp, kl)?;
            set_one(&mut c, map_type, &key, &[], Op::Remove)
        },
    )?;
    Ok(())
}

fn link_http(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_send_local_response",
        |mut c: Ctx<'_>,
         code: i32,
         dp: i32,
         dl: i32,
         bp: i32,
         bl: i32,
         hp: i32,
         hl: i32,
         _grpc: i32|
         -> R {
            let details = String::from_utf8_lossy(&read(&mut c, dp, dl)?).into_owned();
            let body = read(&mut c, bp, bl)?;
            let Ok(headers) = decode_map(&read(&mut c, hp, hl)?) else {
                return Ok(status::INTERNAL_FAILURE);
            };
            match check(&c, HostCall::SendLocalResponse)? {
                Rule::Replace => {
                    let h = http(&mut c)?;
                    let mut sent = body.clone();
                    if !sent.is_empty() {
                        sent.push(b'\n');
                    }
                    h.local_replaced_body = Some(sent);
                    h.response_status = u16::try_from(code).unwrap_or(500);
                    Ok(status::OK)
                }
                Rule::Stash => {
                    let h = http(&mut c)?;
                    if h.local.is_some() {
                        return Err(trap(msg::LOCAL_ALREADY_STASHED));
                    }
                    let Some(status_code) =
                        u16::try_from(code).ok().filter(|s| (100..=999).contains(s))
                    else {
                        return Ok(status::BAD_ARGUMENT);
                    };
                    h.local = Some(LocalReply {
                        status: status_code,
                        details,
                        headers,
                        body,
                    });
                    if !h.pending.is_empty() {
                        h.pending.clear();
                        host_log(
                            &mut c,
                            Level::Notice,
                            "local response produced, cancelling pending dispatch operations",
                        );
                    }
                    Ok(status::OK)
                }
                _ => Ok(status::INTERNAL_FAILURE),
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_http_call",
        |mut c: Ctx<'_>,
         up: i32,
         upl: i32,
         hp: i32,
         hl: i32,
         bp: i32,
         bl: i32,
         _tp: i32,
         _tl: i32,
         timeout: i32,
         ret_token: i32|
         -> R {
            check(&c, HostCall::Dispatch)?;
            let upstream = String::from_utf8_lossy(&read(&mut c, up, upl)?).into_owned();
            let body = read(&mut c, bp, bl)?;
            let Ok(pairs) = decode_map(&read(&mut c, hp, hl)?) else {
                return Ok(status::INTERNAL_FAILURE);
            };
            let pseudo = |name: &[u8]| {
                headers::find(&pairs, name).map(|v| String::from_utf8_lossy(v).into_owned())
            };
            let Some(method) = pseudo(b":method") else {
                host_log(&mut c, Level::Err, "dispatch failed: no :method");
                return Ok(status::INTERNAL_FAILURE);
            };
            let Some(path) = pseudo(b":path") else {
                host_log(&mut c, Level::Err, "dispatch failed: no :path");
                return Ok(status::INTERNAL_FAILURE);
            };
            let scheme = pseudo(b":scheme").unwrap_or_else(|| "http".to_string());
            let Some(target) = Target::parse(&upstream, scheme == "https") else {
                host_log(
                    &mut c,
                    Level::Err,
                    format!("dispatch failed: invalid host \"{upstream}\""),
                );
                return Ok(status::INTERNAL_FAILURE);
            };
            let authority =
                pseudo(b":authority").unwrap_or_else(|| target.default_authority(&upstream));
            let headers = pairs
                .iter()
                .filter(|(k, _)| {
                    !k.starts_with(b":")
                        && !headers::eq(k, b"host")
                        && !headers::eq(k, b"connection")
                })
                .cloned()
                .collect();
            let timeout = match timeout as u32 {
                0 => c.data().settings.default_dispatch_timeout,
                ms => Duration::from_millis(u64::from(ms)),
            };
            let request = DispatchRequest {
                upstream,
                target,
                method,
                path,
                authority,
                scheme,
                headers,
                body,
                timeout,
            };
            let data = c.data_mut();
            let token = data.next_token;
            data.next_token = token.wrapping_add(1);
            let call = PendingCall { token, request };
            match (data.phase, data.http.as_mut()) {
                (Phase::Tick, _) | (_, None) => data.tick_pending.push_back(call),
                (_, Some(h)) => h.pending.push_back(call),
            }
            write_u32(&mut c, ret_token, token)?;
            Ok(status::OK)
        },
    )?;
    Ok(())
}

fn link_shared(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap(
        "env",
        "proxy_get_shared_data",
        |mut c: Ctx<'_>, kp: i32, kl: i32, ret: i32, ret_len: i32, ret_cas: i32| -> R {
            let key = read(&mut c, kp, kl)?;
            match c.data().shm.get(&key) {
                Err(no_zone) => Err(trap(no_zone.0)),
                Ok(None) => Ok(status::NOT_FOUND),
                Ok(Some((value, cas))) => {
                    let rc = return_bytes(&mut c, &value, ret, ret_len)?;
                    if rc != status::OK {
                        return Err(trap(
                            "host trap (internal error): failed getting value from shm (no memory)",
                        ));
                    }
                    write_u32(&mut c, ret_cas, cas)?;
                    Ok(status::OK)
                }
            }
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_set_shared_data",
        |mut c: Ctx<'_>, kp: i32, kl: i32, vp: i32, vl: i32, cas: i32| -> R {
            let key = read(&mut c, kp, kl)?;
            let value = if vp == 0 {
                None
            } else {
                Some(read(&mut c, vp, vl)?)
            };
            match c.data().shm.set(&key, value.as_deref(), cas as u32) {
                Err(no_zone) => Err(trap(no_zone.0)),
                Ok(SetOutcome::Written) => Ok(status::OK),
                Ok(SetOutcome::CasMismatch) => Ok(status::CAS_MISMATCH),
            }
        },
    )?;
    let no_queue = || Err(trap("host trap (bad usage): could not find queue"));
    l.func_wrap(
        "env",
        "proxy_register_shared_queue",
        move |_c: Ctx<'_>, _p: i32, _n: i32, _r: i32| -> R { no_queue() },
    )?;
    l.func_wrap(
        "env",
        "proxy_enqueue_shared_queue",
        move |_c: Ctx<'_>, _q: i32, _p: i32, _n: i32| -> R { no_queue() },
    )?;
    l.func_wrap(
        "env",
        "proxy_dequeue_shared_queue",
        move |_c: Ctx<'_>, _q: i32, _p: i32, _n: i32| -> R { no_queue() },
    )?;
    Ok(())
}

fn link_metrics(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap("env", "proxy_define_metric", |mut c: Ctx<'_>, kind: i32, np: i32, nl: i32, ret: i32| -> R {
        let name = String::from_utf8_lossy(&read(&mut c, np, nl)?).into_owned();
        let kind = match kind {
            0 => MetricKind::Counter,
            1 => MetricKind::Gauge,
            2 => MetricKind::Histogram,
            other => {
                return Err(trap(format!(
                    "host trap (internal error): could not define metric \"{name}\": unknown type \"{other}\""
                )))
            }
        };
        let id = c.data().metrics.define(kind, &name).map_err(trap)?;
        write_u32(&mut c, ret, id)?;
        Ok(status::OK)
    })?;
    l.func_wrap(
        "env",
        "proxy_get_metric",
        |mut c: Ctx<'_>, id: i32, ret: i32| -> R {
            let value = c.data().metrics.get(id as u32).map_err(trap)?;
            write_u64(&mut c, ret, value)?;
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_record_metric",
        |c: Ctx<'_>, id: i32, value: i64| -> R {
            c.data()
                .metrics
                .record(id as u32, value as u64)
                .map_err(trap)?;
            Ok(status::OK)
        },
    )?;
    l.func_wrap(
        "env",
        "proxy_increment_metric",
        |c: Ctx<'_>, id: i32, offset: i64| -> R {
            c.data()
                .metrics
                .increment(id as u32, offset)
                .map_err(trap)?;
            Ok(status::OK)
        },
    )?;
    Ok(())
}
