//! `wasi_snapshot_preview1` as WasmX provides it (WASMX.md §6.6): no args, an explicit environment, stdout and
//! stderr into the log, no files, `proc_exit` traps.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use wasmtime::{Linker, Module, Val};

use crate::matrix::trap::NYI_PREFIX;
use crate::memory::{read, trap, write, write_u32, write_u64, Ctx};
use crate::state::{HostState, Level, Source};

const WASI: &str = "wasi_snapshot_preview1";
const SUCCESS: i32 = 0;
const EBADF: i32 = 8;
const ENOTDIR: i32 = 54;
const ENOTSUP: i32 = 58;

type R = wasmtime::Result<i32>;

const DEFINED: &[&str] = &[
    "fd_write",
    "environ_sizes_get",
    "environ_get",
    "args_sizes_get",
    "args_get",
    "clock_time_get",
    "random_get",
    "proc_exit",
    "fd_prestat_dir_name",
];

pub(crate) fn link(l: &mut Linker<HostState>, module: &Module) -> wasmtime::Result<()> {
    l.func_wrap(
        WASI,
        "fd_write",
        |mut c: Ctx<'_>, fd: i32, iovs: i32, n: i32, written: i32| -> R {
            if fd != 1 && fd != 2 {
                return Ok(EBADF);
            }
            let mut bytes = Vec::new();
            for i in 0..n.max(0) {
                let iov = read(&mut c, iovs.wrapping_add(i.wrapping_mul(8)), 8)?;
                let word = |at: usize| {
                    iov.get(at..at + 4)
                        .and_then(|s| <[u8; 4]>::try_from(s).ok())
                        .map(u32::from_le_bytes)
                };
                let (Some(ptr), Some(len)) = (word(0), word(4)) else {
                    return Err(trap("host trap (bad argument): invalid memory access"));
                };
                bytes.extend(read(&mut c, ptr as i32, len as i32)?);
            }
            let level = if fd == 1 { Level::Info } else { Level::Err };
            let text = String::from_utf8_lossy(&bytes);
            c.data_mut()
                .log(level, Source::Stdio, text.trim_end_matches('\n'));
            write_u32(
                &mut c,
                written,
                u32::try_from(bytes.len()).unwrap_or(u32::MAX),
            )?;
            Ok(SUCCESS)
        },
    )?;
    l.func_wrap(
        WASI,
        "environ_sizes_get",
        |mut c: Ctx<'_>, count: i32, size: i32| -> R {
            let env = &c.data().settings.environment;
            let n = env.len();
            let total: usize = env.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
            write_u32(&mut c, count, u32::try_from(n).unwrap_or(u32::MAX))?;
            write_u32(&mut c, size, u32::try_from(total).unwrap_or(u32::MAX))?;
            Ok(SUCCESS)
        },
    )?;
    l.func_wrap(
        WASI,
        "environ_get",
        |mut c: Ctx<'_>, ptrs: i32, buf: i32| -> R {
            let env = c.data().settings.environment.clone();
            let mut at = buf as u32;
            for (i, (k, v)) in env.iter().enumerate() {
                let entry = format!("{k}={v}\0");
                write_u32(&mut c, ptrs.wrapping_add((i as i32).wrapping_mul(4)), at)?;
                write(&mut c, at, entry.as_bytes())?;
                at = at.wrapping_add(entry.len() as u32);
            }
            Ok(SUCCESS)
        },
    )?;
    l.func_wrap(
        WASI,
        "args_sizes_get",
        |mut c: Ctx<'_>, count: i32, size: i32| -> R {
            write_u32(&mut c, count, 0)?;
            write_u32(&mut c, size, 0)?;
            Ok(SUCCESS)
        },
    )?;
    l.func_wrap(WASI, "args_get", |_c: Ctx<'_>, _a: i32, _b: i32| -> R {
        Ok(SUCCESS)
    })?;
    l.func_wrap(
        WASI,
        "clock_time_get",
        |mut c: Ctx<'_>, id: i32, _precision: i64, ret: i32| -> R {
            let nanos = match id {
                0 => SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos(),
                1 => c.data().started.elapsed().as_nanos(),
                _ => return Ok(ENOTSUP),
            };
            write_u64(&mut c, ret, u64::try_from(nanos).unwrap_or(u64::MAX))?;
            Ok(SUCCESS)
        },
    )?;
    l.func_wrap(
        WASI,
        "random_get",
        |mut c: Ctx<'_>, buf: i32, len: i32| -> R {
            let mut bytes = Vec::with_capacity(len.max(0) as usize);
            while bytes.len() < len.max(0) as usize {
                let state = &mut c.data_mut().rng;
                *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = *state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                bytes.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
            }
            bytes.truncate(len.max(0) as usize);
            write(&mut c, buf as u32, &bytes)?;
            Ok(SUCCESS)
        },
    )?;
    l.func_wrap(
        WASI,
        "proc_exit",
        |_c: Ctx<'_>, _code: i32| -> wasmtime::Result<()> {
            Err(trap(format!("{NYI_PREFIX}proc_exit")))
        },
    )?;
    l.func_wrap(
        WASI,
        "fd_prestat_dir_name",
        |_c: Ctx<'_>, _fd: i32, _p: i32, _n: i32| -> R { Ok(ENOTSUP) },
    )?;
    for import in module.imports() {
        if import.module() != WASI || DEFINED.contains(&import.name()) {
            continue;
        }
        let errno = if import.name() == "path_open" {
            ENOTDIR
        } else {
            EBADF
        };
        if let wasmtime::ExternType::Func(ty) = import.ty() {
            let single_i32 = ty.results().len() == 1;
            let name = import.name().to_string();
            l.func_new(
                WASI,
                import.name(),
                ty,
                move |_c, _args: &[Val], rets: &mut [Val]| {
                    if !single_i32 {
                        return Err(trap(format!("{NYI_PREFIX}{name}")));
                    }
                    if let Some(slot) = rets.first_mut() {
                        *slot = Val::I32(errno);
                    }
                    Ok(())
                },
            )?;
        }
    }
    Ok(())
}

/// Seeds the weak generator WasmX uses for `random_get` (it is not a CSPRNG there either).
pub(crate) fn seed() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(now.as_nanos() & u128::from(u64::MAX)).unwrap_or(0)
        ^ (Instant::now().elapsed().as_nanos() as u64)
}
