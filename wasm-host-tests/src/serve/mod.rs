//! `wasm-host serve`: a local HTTP/1.1 gateway that runs every request through the filter as Kong's WasmX
//! engine would, then proxies it to an upstream (`https://` verified against the webpki roots, or plain
//! `http://`), and streams the response back through the filter piece by piece as it arrives.
//!
//! One thread per client connection (keep-alive), one filter instance per simulated worker; dispatches
//! the filter makes go over real HTTP ([`crate::dispatch::TcpTransport`]).
//!
//! ```no_run
//! use wasm_host_tests::serve::{Gateway, ServeOptions, Server};
//! use wasm_host_tests::{Filter, HostConfig};
//!
//! let filter = Filter::from_file(&wasm_host_tests::filter_wasm_path()?)?;
//! let config = HostConfig::with_config(&br#"{"token_secret":"0123456789abcdef0123456789abcdef"}"#[..]);
//! let gateway = Gateway::new(Some((filter, config)), ServeOptions::new("http://127.0.0.1:9000")?)?;
//! let server = Server::bind("127.0.0.1:0", gateway)?;
//! println!("listening on {}", server.local_addr());
//! let handle = server.spawn();
//! // ... send requests ...
//! handle.stop();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod count;
pub mod pipeline;
mod proxy;
pub mod upstream;
pub mod wire;

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::dispatch::TcpTransport;
use crate::error::HostError;
use crate::filter::Filter;
use crate::host::{Host, HostConfig};
use crate::metrics::Metrics;
use crate::state::{Level, LogLine};

use upstream::{Upstream, UpstreamUrl, UrlError};

/// Gateway settings that are not WasmX's.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where requests go.
    pub upstream: UpstreamUrl,
    /// Connect, send and read timeout toward the upstream.
    pub upstream_timeout: Duration,
    /// How long an idle client connection stays open, and the read timeout for a request.
    pub client_timeout: Duration,
    /// Largest request body read from a client (nginx `client_max_body_size`); larger gets 413.
    pub max_request_body: u64,
    /// Client connections served at once; more get 503.
    pub max_connections: usize,
    /// Write an access log line per request to stderr.
    pub access_log: bool,
    /// Filter log lines at or above this level go to stderr (`None`: none).
    pub filter_log: Option<Level>,
    /// Extra trusted CA certificates (PEM file) for an `https://` upstream, besides the webpki roots.
    pub upstream_ca: Option<std::path::PathBuf>,
}

impl ServeOptions {
    /// Defaults in front of `upstream`.
    pub fn new(upstream: &str) -> Result<Self, UrlError> {
        Ok(Self {
            upstream: UpstreamUrl::parse(upstream)?,
            upstream_timeout: Duration::from_secs(600),
            client_timeout: Duration::from_secs(75),
            max_request_body: 64 * 1024 * 1024,
            max_connections: 1024,
            access_log: true,
            filter_log: Some(Level::Warn),
            upstream_ca: None,
        })
    }
}

/// Why the gateway could not start.
#[derive(Debug)]
pub enum ServeError {
    /// The filter could not be loaded or configured.
    Host(HostError),
    /// The filter rejected its configuration (its log lines say why).
    NotLoaded(Vec<String>),
    /// The listen address could not be bound.
    Bind(io::Error),
    /// The `--upstream-ca` file is unusable.
    Ca(String),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Host(e) => write!(f, "{e}"),
            Self::NotLoaded(lines) => write!(
                f,
                "the filter did not load (on_vm_start or on_configure failed):\n  {}",
                lines.join("\n  ")
            ),
            Self::Bind(e) => write!(f, "cannot listen: {e}"),
            Self::Ca(e) => write!(f, "upstream ca: {e}"),
        }
    }
}

impl std::error::Error for ServeError {}

impl From<HostError> for ServeError {
    fn from(e: HostError) -> Self {
        Self::Host(e)
    }
}

impl From<io::Error> for ServeError {
    fn from(e: io::Error) -> Self {
        Self::Bind(e)
    }
}

/// The filter host (if the filter is on), the upstream and the options: everything a connection needs.
pub struct Gateway {
    pub(crate) host: Option<Host>,
    pub(crate) upstream: Upstream,
    pub(crate) options: ServeOptions,
}

impl Gateway {
    /// A gateway running `filter` with `config` (or no filter: a plain proxy, for comparisons). Every worker
    /// is started now, so a bad configuration fails here rather than on the first request.
    pub fn new(
        filter: Option<(Filter, HostConfig)>,
        options: ServeOptions,
    ) -> Result<Self, ServeError> {
        let host = match filter {
            Some((filter, config)) => {
                let name = filter.name().to_string();
                let host = Host::with_transport(filter, config, Arc::new(TcpTransport))?;
                for index in 0..host.workers() {
                    let mut logs = Vec::new();
                    let mut worker = host.worker(index);
                    // A registry per worker (WasmX shares one) lets every request's counter increments be
                    // read exactly, for the access log.
                    worker.metrics = Metrics::new(&name);
                    let started = worker.ensure_started(&mut logs);
                    drop(worker);
                    if !started {
                        return Err(ServeError::NotLoaded(
                            logs.iter().map(|l| l.message.clone()).collect(),
                        ));
                    }
                    let shown: Vec<&LogLine> = logs
                        .iter()
                        .filter(|l| options.filter_log.is_some_and(|min| l.level >= min))
                        .collect();
                    for line in shown {
                        eprintln!(
                            "wasm-host: [{:?}] worker {index}: {}",
                            line.level, line.message
                        );
                    }
                }
                Some(host)
            }
            None => None,
        };
        let roots = match &options.upstream_ca {
            Some(path) => upstream::load_ca(path).map_err(ServeError::Ca)?,
            None => Vec::new(),
        };
        let upstream = Upstream::new(options.upstream.clone(), options.upstream_timeout, &roots);
        Ok(Self {
            host,
            upstream,
            options,
        })
    }

    /// The filter host, when the filter is on.
    pub fn host(&self) -> Option<&Host> {
        self.host.as_ref()
    }
}

/// A bound listener with its gateway.
pub struct Server {
    listener: TcpListener,
    gateway: Arc<Gateway>,
}

/// A server running on a background thread.
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    gateway: Arc<Gateway>,
}

impl Server {
    /// Binds `listen` (e.g. `127.0.0.1:8000`, port 0 for any).
    pub fn bind(listen: &str, gateway: Gateway) -> Result<Self, ServeError> {
        Ok(Self {
            listener: TcpListener::bind(listen)?,
            gateway: Arc::new(gateway),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until the process ends.
    pub fn run(self) {
        let stop = Arc::new(AtomicBool::new(false));
        accept_loop(&self.listener, &self.gateway, &stop);
    }

    /// Serves on a background thread until [`ServerHandle::stop`].
    pub fn spawn(self) -> ServerHandle {
        let addr = self.local_addr();
        let stop = Arc::new(AtomicBool::new(false));
        let gateway = Arc::clone(&self.gateway);
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || accept_loop(&self.listener, &self.gateway, &flag));
        ServerHandle {
            addr,
            stop,
            thread: Some(thread),
            gateway,
        }
    }
}

impl ServerHandle {
    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The gateway (for its host's metrics).
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// Stops accepting connections (connections in progress finish on their own threads).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept call.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn accept_loop(listener: &TcpListener, gateway: &Arc<Gateway>, stop: &AtomicBool) {
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else {
            // Out of file descriptors and the like: back off instead of spinning.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let busy = active.fetch_add(1, Ordering::SeqCst) >= gateway.options.max_connections;
        let gateway = Arc::clone(gateway);
        let active = Arc::clone(&active);
        let spawned = std::thread::Builder::new()
            .name("wasm-host-conn".to_string())
            .spawn(move || {
                if busy {
                    proxy::refuse(stream);
                } else {
                    proxy::serve_connection(&gateway, stream);
                }
                active.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            eprintln!("wasm-host: cannot start a connection thread");
        }
    }
}
