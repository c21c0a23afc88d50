//! Shared data, shared queues (no `shm_queue` zone: they trap) and metrics.

use wasmtime::Linker;

use crate::abi::R;
use crate::memory::{read, return_bytes, status, trap, write_u32, write_u64, Ctx};
use crate::metrics::MetricKind;
use crate::shm::SetOutcome;
use crate::state::HostState;

pub(super) fn link(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
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

pub(super) fn link_metrics(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
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
