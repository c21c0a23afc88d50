//! Header map host calls.

use wasmtime::Linker;

use crate::abi::{check, host_log, http, R};
use crate::codec::{decode_map, encode_map};
use crate::headers::{self, MapKind, Op};
use crate::matrix::HostCall;
use crate::memory::{read, return_bytes, status, Ctx};
use crate::state::{HostState, HttpState, Level};

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

pub(super) fn link(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
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
