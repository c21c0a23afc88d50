//! Errors of the host itself (not of the filter, whose failures are reported in the exchange).

use std::fmt;
use std::path::PathBuf;

/// Why the host could not load or run a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// The `.wasm` file could not be read.
    Read {
        path: PathBuf,
        kind: std::io::ErrorKind,
    },
    /// Wasmtime rejected the module.
    Compile(String),
    /// An export WasmX requires is absent (WasmX fails at load with this message).
    MissingExport(String),
    /// An import has no host function (WasmX: "missing host function").
    Link(String),
    /// The host configuration is invalid.
    Config(&'static str),
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, kind } => write!(f, "cannot read {}: {kind}", path.display()),
            Self::Compile(e) => write!(f, "cannot compile filter: {e}"),
            Self::MissingExport(e) => write!(f, "{e}"),
            Self::Link(e) => write!(f, "cannot link filter: {e}"),
            Self::Config(e) => write!(f, "invalid host configuration: {e}"),
        }
    }
}

impl std::error::Error for HostError {}
