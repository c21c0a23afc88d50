//! Redis connections per profile, and the store/lookup semantics of the mappings API.
//!
//! A [`Pool`] keeps one multiplexed connection per [`RedisProfile`] (a reconnecting
//! `ConnectionManager` for a single node, a cluster connection that follows MOVED/ASK for
//! cluster mode). Every command of a batch is sent at once on that connection, so a batch of
//! 100 costs about one round trip. Stores run a small Lua script per key (single-key, so it
//! works in cluster mode): absent -> `SET EX` (stored), same original -> `EXPIRE` (refreshed),
//! other original -> untouched (conflict).
//!
//! ```text
//! let pool = Pool::new(PoolSettings { ca_pem: None, timeout, max_profiles: 64, idle });
//! let answer = pool.get(&profile).await?.exchange(&store, ttl, &lookup).await?;
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_masker::protocol::{
    redis_key, Entry, ErrorCode, MappingsResponse, RedisProfile, MAX_ORIGINAL_LEN,
};
use futures_util::future::join_all;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClientBuilder, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{
    Client, ConnectionAddr, ErrorKind, IntoConnectionInfo, RedisConnectionInfo, RedisError,
    ServerErrorKind, TlsCertificates, TlsMode, Value,
};
use tokio::sync::OnceCell;

const STORE_SCRIPT: &str = r"
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
if cur == ARGV[1] then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 2
end
return 0
";

/// A failed Redis operation: a wire code and a message safe to log and return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendError {
    pub code: ErrorCode,
    pub message: String,
    /// The node answered, but no longer as a primary (`READONLY`, `MASTERDOWN`): a failover
    /// demoted it while the connection stayed open.
    pub demoted: bool,
}

impl BackendError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        BackendError {
            code,
            message: message.into(),
            demoted: false,
        }
    }

    /// True when the connection the error came from should be dropped, so the next request
    /// connects again (to what the name resolves to now): it timed out (the node may be gone
    /// with the socket open) or it reached a node that is no longer a primary.
    pub fn drops_connection(&self) -> bool {
        self.code == ErrorCode::RedisTimeout || self.demoted
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for BackendError {}

/// How the pool connects.
#[derive(Clone, Debug)]
pub struct PoolSettings {
    /// PEM CA bundle that replaces the built-in roots for TLS profiles.
    pub ca_pem: Option<Vec<u8>>,
    /// Connect and per-command timeout.
    pub timeout: Duration,
    /// Most profiles kept connected at once.
    pub max_profiles: usize,
    /// A profile no request used for this long is dropped, its connection closed: after a
    /// configuration moved to another Redis, `GET /readyz` stops checking the old one.
    pub idle: Duration,
}

#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Conn {
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        match self {
            Conn::Single(c) => cmd.query_async(&mut c.clone()).await,
            Conn::Cluster(c) => cmd.query_async(&mut c.clone()).await,
        }
    }
}

/// A connected profile.
#[derive(Clone)]
pub struct Backend {
    conn: Conn,
    script_sha: String,
    timeout: Duration,
    /// Tells this connection from a later one of the same profile.
    id: u64,
}

/// The id of the next connection made.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A profile's connection, made once; and the last failed attempt, so that requests queued
/// behind it fail at once instead of each trying again in turn (with Redis gone, each
/// attempt takes the connect timeout: the tenth request would wait ten of them).
#[derive(Default)]
struct SlotState {
    backend: OnceCell<Backend>,
    failed: Mutex<Option<(Instant, BackendError)>>,
    /// When a request last asked for it, in milliseconds since the pool was made.
    used_ms: AtomicU64,
}

type Slot = Arc<SlotState>;

/// How long a failed connect answers for its profile before the next attempt.
const RETRY_AFTER: Duration = Duration::from_millis(1000);

/// Connections cached per profile.
pub struct Pool {
    settings: PoolSettings,
    slots: Mutex<HashMap<RedisProfile, Slot>>,
    made: Instant,
}

impl Pool {
    pub fn new(settings: PoolSettings) -> Self {
        Pool {
            settings,
            slots: Mutex::new(HashMap::new()),
            made: Instant::now(),
        }
    }

    /// Profiles currently connected.
    pub fn connected(&self) -> usize {
        self.lock()
            .values()
            .filter(|s| s.backend.initialized())
            .count()
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.made.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The slots, those idle for [`PoolSettings::idle`] dropped first.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RedisProfile, Slot>> {
        // A poisoned map only means a panic elsewhere; the cache itself stays consistent.
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.now_ms();
        let idle = u64::try_from(self.settings.idle.as_millis()).unwrap_or(u64::MAX);
        slots.retain(|_, s| now.saturating_sub(s.used_ms.load(Ordering::Relaxed)) < idle);
        slots
    }

    /// The connection for `profile`, connecting on first use. A failed connect answers for
    /// the profile for [`RETRY_AFTER`], then the next request tries again.
    pub async fn get(&self, profile: &RedisProfile) -> Result<Backend, BackendError> {
        let slot = {
            let mut slots = self.lock();
            if !slots.contains_key(profile) && slots.len() >= self.settings.max_profiles {
                slots.retain(|_, s| s.backend.initialized());
                if slots.len() >= self.settings.max_profiles {
                    if let Some(victim) = slots.keys().next().cloned() {
                        slots.remove(&victim);
                    }
                }
            }
            let slot = slots.entry(profile.clone()).or_default().clone();
            slot.used_ms.store(self.now_ms(), Ordering::Relaxed);
            slot
        };
        let recent_failure = || {
            let failed = slot.failed.lock().unwrap_or_else(|e| e.into_inner());
            failed
                .as_ref()
                .filter(|(at, _)| at.elapsed() < RETRY_AFTER)
                .map(|(_, e)| e.clone())
        };
        if let Some(e) = recent_failure() {
            return Err(e);
        }
        slot.backend
            .get_or_try_init(|| async {
                // Queued behind an attempt that just failed: its answer is ours.
                if let Some(e) = recent_failure() {
                    return Err(e);
                }
                let connected = connect(profile, &self.settings).await;
                if let Err(e) = &connected {
                    let mut failed = slot.failed.lock().unwrap_or_else(|e| e.into_inner());
                    *failed = Some((Instant::now(), e.clone()));
                }
                connected
            })
            .await
            .cloned()
    }

    /// Drops `profile`'s connection `used` after `error`, when it says the connection itself
    /// may be the problem ([`BackendError::drops_connection`]: the node may be gone, or
    /// demoted by a failover, while the socket stays open); the next request connects again.
    /// A newer connection of the profile (made since `used` failed) is kept.
    pub fn forget_after(&self, profile: &RedisProfile, used: &Backend, error: &BackendError) {
        if !error.drops_connection() {
            return;
        }
        let mut slots = self.lock();
        if slots
            .get(profile)
            .and_then(|s| s.backend.get())
            .is_some_and(|b| b.id == used.id)
        {
            slots.remove(profile);
        }
    }

    /// Every connected backend (for `GET /readyz`).
    pub fn backends(&self) -> Vec<Backend> {
        self.lock()
            .values()
            .filter_map(|s| s.backend.get().cloned())
            .collect()
    }
}

async fn connect(profile: &RedisProfile, settings: &PoolSettings) -> Result<Backend, BackendError> {
    let (host, port) = profile
        .endpoint()
        .map_err(|e| BackendError::new(ErrorCode::BadRequest, e.to_string()))?;
    resolve(host, port, settings.timeout).await?;
    let (user, secret) = profile.credentials();
    let mut redis_info = RedisConnectionInfo::default()
        .set_db(i64::from(profile.database))
        .set_skip_set_lib_name();
    if let Some(user) = user {
        redis_info = redis_info.set_username(user);
    }
    if let Some(secret) = secret {
        redis_info = redis_info.set_password(secret);
    }
    let addr = if profile.uses_tls() {
        ConnectionAddr::TcpTls {
            host: host.to_string(),
            port,
            insecure: !profile.ssl_verify,
            tls_params: None,
        }
    } else {
        ConnectionAddr::Tcp(host.to_string(), port)
    };
    let info = addr
        .into_connection_info()
        .map_err(|e| classify(&e))?
        .set_redis_settings(redis_info);
    let certs = match (&settings.ca_pem, profile.uses_tls() && profile.ssl_verify) {
        (Some(pem), true) => Some(TlsCertificates {
            client_tls: None,
            root_cert: Some(pem.clone()),
        }),
        _ => None,
    };
    let timeout = settings.timeout;
    let conn = if profile.cluster_mode {
        let mut builder = ClusterClientBuilder::new(vec![info]).retries(2);
        if profile.uses_tls() {
            let mode = if profile.ssl_verify {
                TlsMode::Secure
            } else {
                TlsMode::Insecure
            };
            builder = builder.tls(mode);
        }
        if let Some(certs) = certs {
            builder = builder.certs(certs);
        }
        let client = builder.build().map_err(|e| classify(&e))?;
        let config = ClusterConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout);
        let fut = client.get_async_connection_with_config(config);
        Conn::Cluster(with_timeout(timeout * 2, fut).await?)
    } else {
        let client = match certs {
            Some(certs) => Client::build_with_tls(info, certs),
            None => Client::open(info),
        }
        .map_err(|e| classify(&e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(500));
        let fut = ConnectionManager::new_with_config(client, config);
        Conn::Single(with_timeout(timeout * 2, fut).await?)
    };
    Ok(Backend {
        conn,
        script_sha: redis::Script::new(STORE_SCRIPT).get_hash().to_string(),
        timeout,
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
    })
}

async fn resolve(host: &str, port: u16, timeout: Duration) -> Result<(), BackendError> {
    match tokio::time::timeout(timeout, tokio::net::lookup_host((host, port))).await {
        Err(_) => Err(BackendError::new(
            ErrorCode::RedisTimeout,
            format!("resolving {host} took more than {} ms", timeout.as_millis()),
        )),
        Ok(Err(_)) => Err(BackendError::new(
            ErrorCode::RedisUnknownHost,
            format!("host {host} does not resolve"),
        )),
        Ok(Ok(mut addrs)) => match addrs.next() {
            Some(_) => Ok(()),
            None => Err(BackendError::new(
                ErrorCode::RedisUnknownHost,
                format!("host {host} has no address"),
            )),
        },
    }
}

async fn with_timeout<T>(
    limit: Duration,
    fut: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, BackendError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result.map_err(|e| classify(&e)),
        Err(_) => Err(timed_out(limit)),
    }
}

/// [`with_timeout`] of a command on one placeholder's key, with a `WRONGTYPE` reply read as
/// `wrong_type`: the key holds what the bridge never writes (another client's list or hash),
/// which says nothing about the other keys of the batch.
async fn on_key_with_timeout<T>(
    limit: Duration,
    fut: impl std::future::Future<Output = redis::RedisResult<T>>,
    wrong_type: T,
) -> Result<T, BackendError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Err(e)) if e.code() == Some("WRONGTYPE") => Ok(wrong_type),
        Ok(result) => result.map_err(|e| classify(&e)),
        Err(_) => Err(timed_out(limit)),
    }
}

fn timed_out(limit: Duration) -> BackendError {
    BackendError::new(
        ErrorCode::RedisTimeout,
        format!("redis did not answer within {} ms", limit.as_millis()),
    )
}

/// Maps a Redis client error to a wire code. The message holds the error's category, never
/// its detail (a server reply may echo arguments).
pub fn classify(e: &RedisError) -> BackendError {
    if let Some(tls) = find_source::<rustls::Error>(e) {
        return BackendError::new(ErrorCode::RedisTls, format!("tls failure: {tls}"));
    }
    let code = e.code().unwrap_or("");
    if matches!(code, "WRONGPASS" | "NOAUTH") || e.kind() == ErrorKind::AuthenticationFailed {
        return BackendError::new(
            ErrorCode::RedisAuth,
            "redis refused the credentials (wrong password, token or user)",
        );
    }
    if e.kind() == ErrorKind::Server(ServerErrorKind::NoPerm) || code == "NOPERM" {
        return BackendError::new(
            ErrorCode::RedisPermission,
            "the redis user may not run a command the bridge needs",
        );
    }
    if e.is_timeout() {
        return BackendError::new(ErrorCode::RedisTimeout, "redis timed out");
    }
    if matches!(code, "READONLY" | "MASTERDOWN")
        || e.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly)
    {
        return BackendError {
            demoted: true,
            ..BackendError::new(
                ErrorCode::RedisError,
                format!("redis error: the node is not a primary ({code})"),
            )
        };
    }
    if e.is_connection_refusal() {
        return BackendError::new(ErrorCode::RedisUnreachable, "redis refused the connection");
    }
    if let Some(io) = find_source::<std::io::Error>(e) {
        if let Some(tls) = io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return BackendError::new(ErrorCode::RedisTls, format!("tls failure: {tls}"));
        }
        if io.kind() == std::io::ErrorKind::TimedOut {
            return BackendError::new(ErrorCode::RedisTimeout, "redis timed out");
        }
        return BackendError::new(
            ErrorCode::RedisUnreachable,
            format!("redis connection failed: {}", io.kind()),
        );
    }
    // Cluster setup errors carry the node errors only as text.
    let text = e.to_string();
    let fold = text.to_ascii_lowercase();
    if fold.contains("wrongpass")
        || fold.contains("noauth")
        || fold.contains("authenticationfailed")
    {
        return BackendError::new(
            ErrorCode::RedisAuth,
            "redis refused the credentials (wrong password, token or user)",
        );
    }
    if fold.contains("certificate") || fold.contains("tls") || fold.contains("handshake") {
        return BackendError::new(ErrorCode::RedisTls, "tls failure");
    }
    if fold.contains("timed out") || fold.contains("timeout") {
        return BackendError::new(ErrorCode::RedisTimeout, "redis timed out");
    }
    if e.is_io_error()
        || fold.contains("connection refused")
        || fold.contains("failed to create initial connections")
        || e.kind() == ErrorKind::ClusterConnectionNotFound
    {
        return BackendError::new(
            ErrorCode::RedisUnreachable,
            format!("redis connection failed: {}", e.category()),
        );
    }
    BackendError::new(
        ErrorCode::RedisError,
        format!("redis error: {} {}", e.category(), code),
    )
}

fn find_source<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(found) = err.downcast_ref::<T>() {
            return Some(found);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(found) = io.get_ref().and_then(|inner| inner.downcast_ref::<T>()) {
                return Some(found);
            }
        }
        cur = err.source();
    }
    None
}

impl Backend {
    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, BackendError> {
        with_timeout(self.timeout, self.conn.query(cmd)).await
    }

    /// `PING`.
    pub async fn ping(&self) -> Result<(), BackendError> {
        let pong: String = self.run(&redis::cmd("PING")).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(BackendError::new(
                ErrorCode::RedisError,
                "unexpected ping answer",
            ))
        }
    }

    async fn store_one(&self, entry: &Entry, ttl: u32) -> Result<i64, BackendError> {
        let key = redis_key(&entry.placeholder);
        let mut evalsha = redis::cmd("EVALSHA");
        evalsha
            .arg(&self.script_sha)
            .arg(1)
            .arg(&key)
            .arg(&entry.original)
            .arg(ttl);
        // A key holding what the bridge never writes cannot be claimed: 0, as when it holds
        // another original (a conflict).
        match self.conn.query::<i64>(&evalsha).await {
            Ok(v) => Ok(v),
            Err(e) if e.code() == Some("WRONGTYPE") => Ok(0),
            // EVAL routes by key like EVALSHA and caches the script on that node.
            Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                let mut eval = redis::cmd("EVAL");
                eval.arg(STORE_SCRIPT)
                    .arg(1)
                    .arg(&key)
                    .arg(&entry.original)
                    .arg(ttl);
                on_key_with_timeout(self.timeout, self.conn.query(&eval), 0).await
            }
            Err(e) => Err(classify(&e)),
        }
    }

    /// `GET` of a placeholder's key; a key holding what the bridge never writes reads as
    /// absent (like a value it would never write), not as a failure of the whole batch.
    async fn get_one(&self, placeholder: &str) -> Result<Value, BackendError> {
        let mut get = redis::cmd("GET");
        get.arg(redis_key(placeholder));
        on_key_with_timeout(self.timeout, self.conn.query(&get), Value::Nil).await
    }

    /// Stores `entries` and looks up `lookup`. Lookups see this call's stores: when the two
    /// share a placeholder the lookups wait for the stores, otherwise everything is in flight
    /// together.
    pub async fn exchange(
        &self,
        entries: &[Entry],
        ttl: u32,
        lookup: &[String],
    ) -> Result<MappingsResponse, BackendError> {
        let stores = join_all(entries.iter().map(|e| self.store_one(e, ttl)));
        let gets = || join_all(lookup.iter().map(|p| self.get_one(p)));
        let stored_set: HashSet<&str> = entries.iter().map(|e| e.placeholder.as_str()).collect();
        let overlap = lookup.iter().any(|p| stored_set.contains(p.as_str()));
        let overall = self.timeout * 2;
        let both = async {
            if overlap {
                let stored = stores.await;
                (stored, gets().await)
            } else {
                futures_util::future::join(stores, gets()).await
            }
        };
        let (stored, got) = tokio::time::timeout(overall, both).await.map_err(|_| {
            BackendError::new(
                ErrorCode::RedisTimeout,
                format!("batch did not finish within {} ms", overall.as_millis()),
            )
        })?;
        let mut out = MappingsResponse::default();
        for (entry, result) in entries.iter().zip(stored) {
            match result? {
                1 => out.stored += 1,
                2 => out.refreshed += 1,
                _ => out.conflicts.push(entry.placeholder.clone()),
            }
        }
        for (placeholder, result) in lookup.iter().zip(got) {
            let original = match result? {
                Value::BulkString(bytes) => String::from_utf8(bytes).ok(),
                Value::SimpleString(s) => Some(s),
                _ => None,
            };
            // A value the bridge would never write is treated as absent, not trusted.
            if let Some(original) =
                original.filter(|o| !o.is_empty() && o.len() <= MAX_ORIGINAL_LEN)
            {
                out.found.push(Entry {
                    placeholder: placeholder.clone(),
                    original,
                });
            }
        }
        Ok(out)
    }
}
