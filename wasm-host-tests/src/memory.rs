//! Reading and writing the filter's linear memory from host calls, and host traps.

use std::fmt;
use std::ops::Range;

use wasmtime::{Caller, Extern, Memory, Val};

use crate::state::HostState;

/// proxy-wasm statuses WasmX returns (SDK 0.2.5 knows all of these but 6).
pub(crate) mod status {
    pub const OK: i32 = 0;
    pub const NOT_FOUND: i32 = 1;
    pub const BAD_ARGUMENT: i32 = 2;
    pub const CAS_MISMATCH: i32 = 8;
    pub const INTERNAL_FAILURE: i32 = 10;
}

/// A trap raised by a host call, with WasmX's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTrap(pub String);

impl fmt::Display for HostTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HostTrap {}

/// Builds the error a host function returns to trap.
pub(crate) fn trap(message: impl Into<String>) -> wasmtime::Error {
    wasmtime::Error::new(HostTrap(message.into()))
}

pub(crate) type Ctx<'a> = Caller<'a, HostState>;

pub(crate) fn memory(c: &mut Ctx<'_>) -> wasmtime::Result<Memory> {
    match c.get_export("memory") {
        Some(Extern::Memory(m)) => Ok(m),
        _ => Err(trap("host trap (internal error): filter exports no memory")),
    }
}

fn range(ptr: i32, len: i32) -> Option<(usize, usize)> {
    let start = usize::try_from(ptr as u32).ok()?;
    let end = start.checked_add(usize::try_from(len as u32).ok()?)?;
    Some((start, end))
}

/// Copies `len` bytes at `ptr` out of the filter.
pub(crate) fn read(c: &mut Ctx<'_>, ptr: i32, len: i32) -> wasmtime::Result<Vec<u8>> {
    let mem = memory(c)?;
    let (start, end) =
        range(ptr, len).ok_or_else(|| trap("host trap (bad argument): invalid memory access"))?;
    mem.data(&*c)
        .get(start..end)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| trap("host trap (bad argument): invalid memory access"))
}

/// The range of the filter's memory at `ptr`, `len` bytes long (a trap if it is not all there).
pub(crate) fn guest_span(c: &mut Ctx<'_>, ptr: i32, len: i32) -> wasmtime::Result<Range<usize>> {
    let mem = memory(c)?;
    match range(ptr, len) {
        Some((start, end)) if end <= mem.data_size(&*c) => Ok(start..end),
        _ => Err(trap("host trap (bad argument): invalid memory access")),
    }
}

/// Runs `f` on the filter's bytes at `span` (from [`guest_span`]) where they are, and the
/// host state: no copy.
pub(crate) fn with_guest_bytes<T>(
    c: &mut Ctx<'_>,
    span: Range<usize>,
    f: impl FnOnce(&[u8], &mut HostState) -> wasmtime::Result<T>,
) -> wasmtime::Result<T> {
    let mem = memory(c)?;
    let (guest, state) = mem.data_and_store_mut(&mut *c);
    let bytes = guest
        .get(span)
        .ok_or_else(|| trap("host trap (bad argument): invalid memory access"))?;
    f(bytes, state)
}

/// Writes bytes at `ptr`.
pub(crate) fn write(c: &mut Ctx<'_>, ptr: u32, bytes: &[u8]) -> wasmtime::Result<()> {
    let mem = memory(c)?;
    let at = usize::try_from(ptr)
        .map_err(|_| trap("host trap (bad argument): invalid memory access"))?;
    mem.write(&mut *c, at, bytes)
        .map_err(|_| trap("host trap (bad argument): invalid memory access"))
}

pub(crate) fn write_u32(c: &mut Ctx<'_>, ptr: i32, value: u32) -> wasmtime::Result<()> {
    write(c, ptr as u32, &value.to_le_bytes())
}

pub(crate) fn write_u64(c: &mut Ctx<'_>, ptr: i32, value: u64) -> wasmtime::Result<()> {
    write(c, ptr as u32, &value.to_le_bytes())
}

/// Allocates `len` bytes with the filter's `malloc`, else `proxy_on_memory_allocate` (WasmX's order).
pub(crate) fn alloc(c: &mut Ctx<'_>, len: usize) -> wasmtime::Result<u32> {
    let func = ["malloc", "proxy_on_memory_allocate"]
        .iter()
        .find_map(|name| c.get_export(name).and_then(Extern::into_func))
        .ok_or_else(|| trap("host trap (internal error): filter missing malloc"))?;
    let len =
        i32::try_from(len).map_err(|_| trap("host trap (internal error): allocation too large"))?;
    // Typed when it has the usual signature: the host allocates for every value it returns.
    if let Ok(typed) = func.typed::<i32, i32>(&*c) {
        return Ok(typed.call(&mut *c, len)? as u32);
    }
    let mut out = [Val::I32(0)];
    func.call(&mut *c, &[Val::I32(len)], &mut out)?;
    Ok(out.first().and_then(Val::i32).unwrap_or(0) as u32)
}

/// Allocates, copies `data` in, and stores the pointer and length at `ret_ptr`/`ret_len`.
/// Returns the status to give the filter.
pub(crate) fn return_bytes(
    c: &mut Ctx<'_>,
    data: &[u8],
    ret_ptr: i32,
    ret_len: i32,
) -> wasmtime::Result<i32> {
    let p = alloc(c, data.len())?;
    if p == 0 {
        return Ok(status::INTERNAL_FAILURE);
    }
    write(c, p, data)?;
    write_u32(c, ret_ptr, p)?;
    write_u32(c, ret_len, u32::try_from(data.len()).unwrap_or(u32::MAX))?;
    Ok(status::OK)
}
