//! The HTTP/1.1 server: routes, limits, one log line per request, graceful shutdown.
//!
//! WasmX opens a new connection per dispatch (`Connection: close`), so the accept loop only
//! accepts and spawns; every request is answered with JSON (errors as
//! `{"error":{"code","message"}}`).
//!
//! ```text
//! POST /v1/mappings  MappingsRequest -> MappingsResponse
//! GET  /healthz      the process is up
//! GET  /readyz       every profile in use answers PING;  POST /readyz {"profile":..} that one
//! GET  /metrics      Prometheus text
//! ```

use std::convert::Infallible;
use std::io::Write;
use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_masker::protocol::{
    decode, encode, ErrorBody, ErrorCode, MappingsRequest, Message, ProtocolError, ReadyRequest,
    ReadyResponse, RedisProfile, MAPPINGS_PATH, READY_PATH,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::backend::{BackendError as Failure, Pool};
use crate::cli::{Listen, ServeOptions};
use crate::metrics::Metrics;

/// The pause after a failed accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Everything a request handler needs.
pub struct State {
    pub options: ServeOptions,
    pub pool: Pool,
    pub metrics: Metrics,
    /// Set when a stop signal came: `/readyz` answers `shutting_down` while the server
    /// still serves for `shutdown_delay`.
    pub stopping: AtomicBool,
}

/// Counts for the log line; never values.
#[derive(Default)]
struct Counts {
    store: usize,
    lookup: usize,
    stored: u32,
    refreshed: u32,
    conflicts: usize,
    found: usize,
}

struct Outcome {
    status: u16,
    body: Bytes,
    content_type: &'static str,
    code: Option<ErrorCode>,
    counts: Option<Counts>,
    endpoint: Option<String>,
}

impl Outcome {
    fn json<M: Message>(status: u16, message: &M) -> Outcome {
        match encode(message) {
            Ok(bytes) => Outcome {
                status,
                body: Bytes::from(bytes),
                content_type: "application/json",
                code: None,
                counts: None,
                endpoint: None,
            },
            // An answer over the protocol's limit (lookups of many long originals): refused as
            // too large, which the filter does not count as an outage, rather than internal.
            Err(e @ ProtocolError::TooLarge { .. }) => {
                Outcome::error(ErrorCode::PayloadTooLarge, format!("answer: {e}"))
            }
            Err(e) => Outcome::error(ErrorCode::Internal, e.to_string()),
        }
    }

    fn error(code: ErrorCode, message: impl Into<String>) -> Outcome {
        let body = ErrorBody::new(code, message);
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        Outcome {
            status: code.http_status(),
            body: Bytes::from(bytes),
            content_type: "application/json",
            code: Some(code),
            counts: None,
            endpoint: None,
        }
    }

    fn text(body: String, content_type: &'static str) -> Outcome {
        Outcome {
            status: 200,
            body: Bytes::from(body),
            content_type,
            code: None,
            counts: None,
            endpoint: None,
        }
    }
}

impl From<Failure> for Outcome {
    fn from(e: Failure) -> Self {
        Outcome::error(e.code, e.message)
    }
}

fn protocol_error(e: ProtocolError) -> Failure {
    let code = match e {
        ProtocolError::TooLarge { .. } => ErrorCode::PayloadTooLarge,
        _ => ErrorCode::BadRequest,
    };
    Failure::new(code, e.to_string())
}

/// Accepts TCP or Unix-socket connections.
enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Io for T {}

impl Listener {
    async fn bind(listen: &Listen) -> std::io::Result<Listener> {
        match listen {
            Listen::Tcp(addr) => Ok(Listener::Tcp(TcpListener::bind(addr).await?)),
            Listen::Unix(path) => {
                // A socket file left by a previous run blocks bind; anything else is kept, and
                // so is a socket another process still serves on (taking its path would leave
                // it running unreachable).
                if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
                    if tokio::net::UnixStream::connect(path).await.is_ok() {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::AddrInUse,
                            format!("{} is served by another process", path.display()),
                        ));
                    }
                    std::fs::remove_file(path)?;
                }
                Ok(Listener::Unix(UnixListener::bind(path)?, path.clone()))
            }
        }
    }

    async fn accept(&self) -> std::io::Result<Box<dyn Io>> {
        match self {
            Listener::Tcp(l) => {
                let (stream, _) = l.accept().await?;
                let _ = stream.set_nodelay(true);
                Ok(Box::new(stream))
            }
            Listener::Unix(l, _) => Ok(Box::new(l.accept().await?.0)),
        }
    }

    fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| "tcp".into()),
            Listener::Unix(_, path) => format!("unix:{}", path.display()),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Runs the server until SIGTERM or SIGINT, keeps serving for `shutdown_delay` (as a
/// sidecar must while Kong drains its own requests), then drains requests in flight.
pub async fn serve(state: Arc<State>) -> std::io::Result<()> {
    // Handlers first: a signal from now on stops the server cleanly.
    let mut signals = Signals::new();
    let listener = Listener::bind(&state.options.listen).await?;
    log_event("listening", &[("listen", listener.describe())]);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let open = &state.metrics.open_connections;
    // Armed by the signal: the end of the shutdown delay.
    let mut delay = std::pin::pin!(tokio::time::sleep(Duration::MAX));
    let mut signalled = false;
    loop {
        tokio::select! {
            // At the limit, the next connections wait in the listen backlog.
            accepted = listener.accept(), if tasks.len() < state.options.max_connections => {
                match accepted {
                    Ok(stream) => {
                        state.metrics.connections.fetch_add(1, Ordering::Relaxed);
                        open.fetch_add(1, Ordering::Relaxed);
                        tasks.spawn(serve_connection(state.clone(), stream, stop_rx.clone()));
                    }
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // pause instead of retrying at once (EMFILE would spin at full CPU).
                    Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
                }
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {
                open.fetch_sub(1, Ordering::Relaxed);
            }
            name = signals.next() => {
                if signalled {
                    // A second signal: an operator who will not wait for the delay.
                    log_event("delay cut short", &[("signal", name.to_string())]);
                    break;
                }
                signalled = true;
                state.stopping.store(true, Ordering::Relaxed);
                let wait = state.options.shutdown_delay;
                log_event(
                    "shutting down",
                    &[("signal", name.to_string()), ("serving_for_ms", wait.as_millis().to_string())],
                );
                delay.as_mut().reset(tokio::time::Instant::now() + wait);
            }
            () = &mut delay, if signalled => break,
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drain = state.options.drain_timeout;
    let drained = tokio::select! {
        done = tokio::time::timeout(drain, async { while tasks.join_next().await.is_some() {} }) => {
            done.map_err(|_| "drain timed out")
        }
        // One more signal: stop waiting for requests in flight.
        _ = signals.next() => Err("drain cut short"),
    };
    if let Err(why) = drained {
        log_event(why, &[("open", tasks.len().to_string())]);
        tasks.shutdown().await;
    }
    log_event("stopped", &[]);
    Ok(())
}

/// SIGTERM and SIGINT, as they come.
struct Signals {
    /// `None` when a handler could not be installed: then nothing is awaited (the default
    /// action of a signal without a handler still stops the process).
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn new() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        let streams = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(term), Ok(int)) => Some((term, int)),
            _ => None,
        };
        Signals { streams }
    }

    /// The name of the next signal.
    async fn next(&mut self) -> &'static str {
        let Some((term, int)) = &mut self.streams else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        }
    }
}

async fn serve_connection(state: Arc<State>, stream: Box<dyn Io>, mut stop: watch::Receiver<bool>) {
    let svc_state = state.clone();
    let service = service_fn(move |req| handle(svc_state.clone(), req));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(state.options.request_timeout)
        .serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let start = Instant::now();
    let method = req.method().clone();
    // The query is left out of logs: it is the one place a client could put anything.
    let path = req.uri().path().to_string();
    let (route, outcome) = route(&state, req).await;
    let took = start.elapsed();

    state.metrics.request(route, outcome.status);
    if let Some(code) = outcome.code {
        state.metrics.error(code.as_str());
    }
    if route == "mappings" {
        state.metrics.observe(took);
    }
    if !state.options.quiet {
        log_request(&method, &path, &outcome, took);
    }

    let mut response = Response::new(Full::new(outcome.body));
    *response.status_mut() =
        StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(outcome.content_type));
    Ok(response)
}

async fn route(state: &State, req: Request<Incoming>) -> (&'static str, Outcome) {
    let method = req.method().clone();
    match (req.uri().path(), method) {
        (MAPPINGS_PATH, Method::POST) => ("mappings", mappings(state, req).await),
        (MAPPINGS_PATH, _) => ("mappings", not_allowed()),
        ("/healthz", Method::GET) => ("healthz", Outcome::text("ok\n".into(), "text/plain")),
        (READY_PATH, Method::GET) => ("readyz", ready_all(state).await),
        (READY_PATH, Method::POST) => ("readyz", ready_one(state, req).await),
        ("/metrics", Method::GET) => (
            "metrics",
            Outcome::text(
                state.metrics.render(state.pool.connected()),
                "text/plain; version=0.0.4",
            ),
        ),
        ("/healthz" | READY_PATH | "/metrics", _) => ("other", not_allowed()),
        _ => ("other", Outcome::error(ErrorCode::NotFound, "no such path")),
    }
}

fn not_allowed() -> Outcome {
    Outcome::error(ErrorCode::MethodNotAllowed, "method not allowed")
}

async fn read_body(state: &State, req: Request<Incoming>) -> Result<Bytes, Failure> {
    let max = state.options.max_body_bytes;
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(len) = declared.filter(|len| *len > max) {
        return Err(Failure::new(
            ErrorCode::PayloadTooLarge,
            format!("body of {len} bytes exceeds {max} bytes"),
        ));
    }
    let limit = state.options.request_timeout;
    match tokio::time::timeout(limit, Limited::new(req.into_body(), max).collect()).await {
        Err(_) => Err(Failure::new(
            ErrorCode::BadRequest,
            format!("body not received within {} ms", limit.as_millis()),
        )),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(Failure::new(
            ErrorCode::PayloadTooLarge,
            format!("body exceeds {max} bytes"),
        )),
        Ok(Err(_)) => Err(Failure::new(
            ErrorCode::BadRequest,
            "body could not be read",
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

fn endpoint_text(profile: &RedisProfile) -> String {
    match profile.endpoint() {
        Ok((host, port)) if host.contains(':') => format!("[{host}]:{port}"),
        Ok((host, port)) => format!("{host}:{port}"),
        Err(_) => "invalid".into(),
    }
}

fn check_allowed(state: &State, profile: &RedisProfile) -> Result<(), Failure> {
    let allow = &state.options.allow_redis;
    if allow.is_empty() {
        return Ok(());
    }
    let permitted = profile.endpoint().is_ok_and(|(host, port)| {
        allow
            .iter()
            .any(|(h, p)| *p == port && h.eq_ignore_ascii_case(host))
    });
    if permitted {
        Ok(())
    } else {
        Err(Failure::new(
            ErrorCode::EndpointNotAllowed,
            format!(
                "redis endpoint {} is not in the bridge's allow list",
                endpoint_text(profile)
            ),
        ))
    }
}

async fn mappings(state: &State, req: Request<Incoming>) -> Outcome {
    let body = match read_body(state, req).await {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    let request: MappingsRequest = match decode(&body) {
        Ok(r) => r,
        Err(e) => return protocol_error(e).into(),
    };
    let endpoint = endpoint_text(&request.profile);
    let mut counts = Counts {
        store: request.store.len(),
        lookup: request.lookup.len(),
        ..Counts::default()
    };
    let result = async {
        check_allowed(state, &request.profile)?;
        let backend = state.pool.get(&request.profile).await?;
        backend
            .exchange(&request.store, request.ttl, &request.lookup)
            .await
            .inspect_err(|e| state.pool.forget_after(&request.profile, &backend, e))
    }
    .await;
    let mut outcome = match result {
        Ok(answer) => {
            let m = &state.metrics;
            Metrics::add(&m.stored, answer.stored as usize);
            Metrics::add(&m.refreshed, answer.refreshed as usize);
            Metrics::add(&m.conflicts, answer.conflicts.len());
            Metrics::add(&m.lookups, counts.lookup);
            Metrics::add(&m.found, answer.found.len());
            counts.stored = answer.stored;
            counts.refreshed = answer.refreshed;
            counts.conflicts = answer.conflicts.len();
            counts.found = answer.found.len();
            Outcome::json(200, &answer)
        }
        Err(e) => e.into(),
    };
    outcome.counts = Some(counts);
    outcome.endpoint = Some(endpoint);
    outcome
}

async fn ready_one(state: &State, req: Request<Incoming>) -> Outcome {
    let body = match read_body(state, req).await {
        Ok(b) => b,
        Err(e) => return e.into(),
    };
    let request: ReadyRequest = match decode(&body) {
        Ok(r) => r,
        Err(e) => return protocol_error(e).into(),
    };
    let endpoint = endpoint_text(&request.profile);
    let result = async {
        check_allowed(state, &request.profile)?;
        state.pool.get(&request.profile).await?.ping().await?;
        Ok::<_, Failure>(())
    }
    .await;
    let mut outcome = match result {
        Ok(()) => Outcome::json(
            200,
            &ReadyResponse {
                ready: true,
                checked: 1,
            },
        ),
        Err(e) => e.into(),
    };
    outcome.endpoint = Some(endpoint);
    outcome
}

async fn ready_all(state: &State) -> Outcome {
    if state.stopping.load(Ordering::Relaxed) {
        return Outcome::error(ErrorCode::ShuttingDown, "shutting down");
    }
    let backends = state.pool.backends();
    let checks = futures_util::future::join_all(backends.iter().map(|b| b.ping())).await;
    if let Some(Err(e)) = checks.into_iter().find(Result::is_err) {
        return e.into();
    }
    let checked = u32::try_from(backends.len()).unwrap_or(u32::MAX);
    Outcome::json(
        200,
        &ReadyResponse {
            ready: true,
            checked,
        },
    )
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

fn log_request(method: &Method, path: &str, o: &Outcome, took: Duration) {
    let mut line = serde_json::json!({
        "ts_ms": now_ms() as u64,
        "msg": "request",
        "method": method.as_str(),
        "path": path,
        "status": o.status,
        "latency_us": u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
    });
    if let Some(map) = line.as_object_mut() {
        if let Some(code) = o.code {
            map.insert("code".into(), code.as_str().into());
        }
        if let Some(endpoint) = &o.endpoint {
            map.insert("redis".into(), endpoint.clone().into());
        }
        if let Some(c) = &o.counts {
            for (k, v) in [
                ("store", c.store),
                ("lookup", c.lookup),
                ("stored", c.stored as usize),
                ("refreshed", c.refreshed as usize),
                ("conflicts", c.conflicts),
                ("found", c.found),
            ] {
                map.insert(k.into(), v.into());
            }
        }
    }
    write_line(&line);
}

/// A lifecycle log line (startup, shutdown).
pub fn log_event(msg: &str, fields: &[(&str, String)]) {
    let mut line = serde_json::json!({ "ts_ms": now_ms() as u64, "msg": msg });
    if let Some(map) = line.as_object_mut() {
        for (k, v) in fields {
            map.insert((*k).into(), v.clone().into());
        }
    }
    write_line(&line);
}

fn write_line(line: &serde_json::Value) {
    let mut err = std::io::stderr().lock();
    let _ = serde_json::to_writer(&mut err, line);
    let _ = err.write_all(b"\n");
}
