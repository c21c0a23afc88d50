//! A compiled filter module, shareable between hosts (compiling is the slow part).

use std::path::{Path, PathBuf};
use std::sync::Arc;

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

const REQUIRED: [&str; 3] = [
    "proxy_on_context_create",
    "proxy_on_vm_start",
    "proxy_on_configure",
];

impl Filter {
    /// Loads a `.wasm` file; the filter name is the file name without `.wasm`, as in Kong.
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
        Self::from_bytes(&name, &bytes, true)
    }

    /// Compiles a module (binary or, for tests, WAT text). With `fuel`, every callback runs with a fuel budget
    /// (see [`crate::HostConfig::fuel_per_callback`]); without, callbacks are unmetered (for benchmarks).
    pub fn from_bytes(name: &str, bytes: &[u8], fuel: bool) -> Result<Self, HostError> {
        let mut config = Config::new();
        config.consume_fuel(fuel);
        let engine = Engine::new(&config).map_err(|e| HostError::Compile(e.to_string()))?;
        let module = Module::new(&engine, bytes).map_err(|e| HostError::Compile(e.to_string()))?;
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

/// Locates the release build of the aws-masker filter,
/// `target/wasm32-wasip1/release/aws_masker.wasm` under the workspace root.
pub fn filter_wasm_path() -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let path = target
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
