//! Local responses and HTTP dispatches.

use std::time::Duration;

use wasmtime::Linker;

use crate::abi::{check, host_log, http, R};
use crate::codec::decode_map;
use crate::dispatch::{DispatchRequest, Target};
use crate::headers;
use crate::matrix::{trap as msg, HostCall, Phase, Rule};
use crate::memory::{read, status, trap, write_u32, Ctx};
use crate::state::{HostState, Level, LocalReply, PendingCall};

pub(super) fn link(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
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
