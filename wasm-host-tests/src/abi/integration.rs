//! Logging, time, ticks, streams, properties and foreign functions.

use std::time::{SystemTime, UNIX_EPOCH};

use wasmtime::Linker;

use crate::abi::{check, host_log, R};
use crate::headers;
use crate::matrix::{trap as msg, HostCall};
use crate::memory::{read, return_bytes, status, trap, write_u64, Ctx};
use crate::state::{HostState, Level, Source};

pub(super) fn link(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
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
