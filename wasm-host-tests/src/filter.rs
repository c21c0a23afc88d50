//! A compiled filter module, shareable between hosts (compiling is the slow part).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use wasmtime::{Config, Engine, InstancePre, Linker, Module};

use crate::error::HostError;
use crate::state::HostState;
use crate::{abi, wasi};

/// A filter `.wasm`, compiled and linked against the WasmX host functions. Cheap to clone.
#[derive(Clone)]
pub struct Filter {
    pub(crate) engine: Engine,
    pub(crate) pre: Arc<InstancePre<HostState>>,
    pub(crate) name: String,
    pub(crate) fuel: bool,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter")
            .field("name", &self.name)
            .field("fuel", &self.fuel)
            .finish()
    }
}

/// Name, content hash, fuel.
type CacheKey = (String, u64, bool);

const REQUIRED: [&str; 3] = [
    "proxy_on_context_create",
    "proxy_on_vm_start",
    "proxy_on_configure",
];

impl Filter {
    /// Loads a `.wasm` file; the filter name is the file name without `.wasm`, as in Kong. Compiled modules
    /// are cached per process by content, so many tests can load the same file cheaply (compiling a real
    /// filter takes seconds in a debug build of wasmtime).
    pub fn from_file(path: &Path) -> Result<Self, HostError> {
        let bytes = std::fs::read(path).map_err(|e| HostError::Read {
            path: path.to_path_buf(),
            kind: e.kind(),
        })?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("filter")
            .to_string();
        Self::cached(&name, &bytes, true)
    }

    /// Like [`Filter::from_file`] but without fuel metering, for benchmarks (a runaway filter then hangs).
    pub fn from_file_unmetered(path: &Path) -> Result<Self, HostError> {
        let bytes = std::fs::read(path).map_err(|e| HostError::Read {
            path: path.to_path_buf(),
            kind: e.kind(),
        })?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("filter");
        Self::cached(name, &bytes, false)
    }

    /// [`Filter::from_bytes`] through the per-process cache of compiled modules (keyed by name, content and
    /// fuel). The cache holds only immutable compiled code; every host still gets its own instances.
    pub fn cached(name: &str, bytes: &[u8], fuel: bool) -> Result<Self, HostError> {
        static CACHE: OnceLock<Mutex<HashMap<CacheKey, Filter>>> = OnceLock::new();
        let mut hasher = DefaultHasher::new();
        bytes.hash(&mut hasher);
        let key = (name.to_string(), hasher.finish(), fuel);
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        if let Some(hit) = cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(hit.clone());
        }
        let disk = cache_dir();
        let filter = Self::build(name, bytes, fuel, disk.as_deref())?;
        cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, filter.clone());
        Ok(filter)
    }

    /// Compiles a module (binary or, for tests, WAT text). With `fuel`, every callback runs with a fuel budget
    /// (see [`crate::HostConfig::fuel_per_callback`]); without, callbacks are unmetered (for benchmarks).
    pub fn from_bytes(name: &str, bytes: &[u8], fuel: bool) -> Result<Self, HostError> {
        Self::build(name, bytes, fuel, None)
    }

    fn build(name: &str, bytes: &[u8], fuel: bool, disk: Option<&Path>) -> Result<Self, HostError> {
        let mut config = Config::new();
        config.consume_fuel(fuel);
        if std::env::var_os("WASM_HOST_PERFMAP").is_some() {
            // For `perf record`: JIT code named in /tmp/perf-<pid>.map (docs/WASM-HOST.md).
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(|e| HostError::Compile(e.to_string()))?;
        let module = match disk {
            Some(dir) => compile_with_disk_cache(&engine, bytes, dir)?,
            None => Module::new(&engine, bytes).map_err(|e| HostError::Compile(e.to_string()))?,
        };
        let exports: Vec<&str> = module.exports().map(|e| e.name()).collect();
        if !exports
            .iter()
            .any(|e| *e == "malloc" || *e == "proxy_on_memory_allocate")
        {
            return Err(HostError::MissingExport(
                "filter missing malloc".to_string(),
            ));
        }
        if !REQUIRED.iter().all(|r| exports.contains(r)) {
            return Err(HostError::MissingExport(
                "filter missing one of: on_context_create, on_vm_start, on_plugin_start"
                    .to_string(),
            ));
        }
        let mut linker = Linker::new(&engine);
        abi::link(&mut linker, &module).map_err(|e| HostError::Link(e.to_string()))?;
        wasi::link(&mut linker, &module).map_err(|e| HostError::Link(e.to_string()))?;
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| HostError::Link(e.to_string()))?;
        Ok(Self {
            engine,
            pre: Arc::new(pre),
            name: name.to_string(),
            fuel,
        })
    }

    /// The filter name (file stem).
    pub fn name(&self) -> &str {
        &self.name
    }
}

fn workspace_target() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// Where compiled modules are kept between test processes (`WASM_HOST_CACHE=off` disables it).
fn cache_dir() -> Option<PathBuf> {
    match std::env::var("WASM_HOST_CACHE") {
        Ok(v) if v == "off" => None,
        Ok(v) if !v.is_empty() => Some(PathBuf::from(v)),
        _ => Some(workspace_target().join("wasm-host-cache")),
    }
}

/// Compiling a real filter with a debug build of Cranelift takes tens of seconds, so the machine code is
/// kept on disk keyed by the module bytes and the engine's compatibility hash.
fn compile_with_disk_cache(engine: &Engine, bytes: &[u8], dir: &Path) -> Result<Module, HostError> {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let path = dir.join(format!("{:016x}.cwasm", hasher.finish()));
    if path.is_file() {
        // SAFETY: the file was written by `Module::serialize` below for an engine with the same
        // compatibility hash, in this build's own target directory; wasmtime still checks its header.
        if let Ok(module) = unsafe { Module::deserialize_file(engine, &path) } {
            return Ok(module);
        }
    }
    let module = Module::new(engine, bytes).map_err(|e| HostError::Compile(e.to_string()))?;
    if let Ok(serialized) = module.serialize() {
        let tmp = dir.join(format!("{}.{}.tmp", path.display(), std::process::id()));
        let stored = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&tmp, &serialized))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if stored.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    Ok(module)
}

/// Locates the release build of the aws-masker filter,
/// `target/wasm32-wasip1/release/aws_masker.wasm` under the workspace root.
pub fn filter_wasm_path() -> Result<PathBuf, String> {
    let path = workspace_target()
        .join("wasm32-wasip1")
        .join("release")
        .join("aws_masker.wasm");
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing: run `make build` first",
            path.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_types_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<crate::Host>();
        shareable::<Filter>();
        fn sendable<T: Send>() {}
        sendable::<crate::Exchange>();
    }

    #[test]
    fn filter_path_points_at_the_release_build_or_says_how_to_make_it() {
        match filter_wasm_path() {
            Ok(path) => {
                assert!(path.ends_with("wasm32-wasip1/release/aws_masker.wasm") && path.is_file())
            }
            Err(message) => {
                assert!(message.contains("aws_masker.wasm") && message.contains("make build"))
            }
        }
    }

    #[test]
    fn disk_cache_stores_and_reuses_compiled_code() {
        let dir = std::env::temp_dir().join(format!("wasm-host-cache-test-{}", std::process::id()));
        let wat = crate::fixtures::WatFilter::new().build();
        let bytes = wat.as_bytes();
        let engine = Engine::default();
        let first = compile_with_disk_cache(&engine, bytes, &dir).unwrap();
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(files.len(), 1);
        let second = compile_with_disk_cache(&engine, bytes, &dir).unwrap();
        assert_eq!(first.exports().count(), second.exports().count());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_exports_fail_like_wasmx() {
        let no_malloc = r#"(module (func (export "proxy_on_vm_start")))"#;
        assert_eq!(
            Filter::from_bytes("f", no_malloc.as_bytes(), true).unwrap_err(),
            HostError::MissingExport("filter missing malloc".to_string())
        );
        let no_configure = r#"(module (memory (export "memory") 1) (func (export "malloc") (param i32) (result i32) i32.const 0))"#;
        assert!(matches!(
            Filter::from_bytes("f", no_configure.as_bytes(), true),
            Err(HostError::MissingExport(m)) if m.contains("on_context_create")
        ));
        let unknown_import = r#"(module (import "env" "proxy_nonexistent" (func)) (memory (export "memory") 1)
            (func (export "malloc") (param i32) (result i32) i32.const 0)
            (func (export "proxy_on_context_create") (param i32 i32))
            (func (export "proxy_on_vm_start") (param i32 i32) (result i32) i32.const 1)
            (func (export "proxy_on_configure") (param i32 i32) (result i32) i32.const 1))"#;
        assert!(matches!(
            Filter::from_bytes("f", unknown_import.as_bytes(), true),
            Err(HostError::Link(_))
        ));
    }
}
