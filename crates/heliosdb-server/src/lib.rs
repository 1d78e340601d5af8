//! HeliosDB-Lite as a service (`heliosdb-lite serve`): the PostgreSQL wire protocol, an
//! HTTP API with health, readiness and Prometheus metrics, authentication, a bounded
//! number of connections, statement timeouts and graceful shutdown, all on one database
//! opened through the public [`heliosdb_lite`] API. Each client gets its own
//! [`heliosdb_lite::Connection`] on the shared database (its own transaction and
//! `SET heliosdb.as_of`); the engine gives them snapshot isolation and serialises writers.
//!
//! ```no_run
//! # async fn example() -> Result<(), heliosdb_server::ServeError> {
//! let config = heliosdb_lite::Config::from_file("heliosdb.toml").unwrap();
//! let server = heliosdb_server::Server::bind(&config, heliosdb_server::Auth::from_env()).await?;
//! println!("PostgreSQL on {}, HTTP on {}", server.pg_addr(), server.http_addr());
//! server.run(async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

mod auth;
mod catalog;
mod errors;
mod http;
mod intercept;
mod metrics;
mod paramtypes;
mod pg;
mod pgconn;
mod session;
mod sqltext;
mod tls;
mod types;
pub mod users;

pub use auth::{Auth, PASSWORD_ENV, USER};
pub use errors::ClientError;

use heliosdb_lite::{Config, Connection};
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// The name the served database answers to in a connection URL.
pub const DATABASE_NAME: &str = "heliosdb";

/// Why the server could not start or stopped with an error.
#[derive(Debug)]
pub struct ServeError(String);

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ServeError {}

impl From<heliosdb_lite::Error> for ServeError {
    fn from(e: heliosdb_lite::Error) -> Self {
        ServeError(e.to_string())
    }
}

/// State every connection shares.
pub(crate) struct Shared {
    /// The server's own connection: opens the others, answers /ready and /metrics.
    pub(crate) db: Connection,
    pub(crate) metrics: metrics::Metrics,
    pub(crate) auth: Auth,
    pub(crate) statement_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_request_bytes: usize,
    pub(crate) metrics_enabled: bool,
    /// Connection slots (PostgreSQL sessions and HTTP requests).
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) shutting_down: AtomicBool,
    /// Statements running now.
    pub(crate) running: AtomicUsize,
    /// The statement timeout is `[server] statement_timeout_secs` (not a shorter
    /// `[database] statement_timeout_ms`): a timed-out statement is reported with it.
    pub(crate) timeout_is_servers: bool,
    /// Every session's handle, to cancel a statement on request or at shutdown.
    sessions: Mutex<HashMap<usize, Arc<session::Handle>>>,
    /// SCN when the database was opened (commits are counted from it).
    start_scn: u64,
}

impl Shared {
    fn key(conn: &Connection) -> usize {
        conn as *const Connection as usize
    }

    pub(crate) fn register(&self, conn: &Connection, handle: &Arc<session::Handle>) {
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        s.insert(Self::key(conn), handle.clone());
    }

    pub(crate) fn unregister(&self, conn: &Connection) {
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        s.remove(&Self::key(conn));
    }

    fn interrupt_all(&self) {
        let s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        for h in s.values() {
            h.interrupt();
        }
    }

    /// A PostgreSQL cancel request: interrupts the statement of the session the process id
    /// and secret key name, if it is running one.
    pub(crate) fn cancel(&self, pid: i32, key: &[u8]) {
        let s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        for h in s.values() {
            h.cancel(pid, key);
        }
    }

    pub(crate) fn open_connections(&self) -> usize {
        self.max_connections
            .saturating_sub(self.permits.available_permits())
    }

    pub(crate) fn render_metrics(&self) -> String {
        self.metrics
            .render(&self.db, self.start_scn, self.open_connections())
    }
}

/// True for 127.0.0.0/8, ::1 and `localhost`.
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A server bound to its ports, ready to run.
pub struct Server {
    shared: Arc<Shared>,
    pg: TcpListener,
    http: TcpListener,
    tls: Option<tls::Tls>,
    shutdown_timeout: Duration,
}

impl Server {
    /// Opens the database `config` names and binds `[server] host`, `pg_port` and `port`
    /// (port 0 picks a free port), with TLS when `tls_cert` and `tls_key` are set. Refuses
    /// a host other than loopback when no password is configured.
    pub async fn bind(config: &Config, auth: Auth) -> Result<Server, ServeError> {
        let s = &config.server;
        let tls = match (&s.tls_cert, &s.tls_key) {
            (Some(cert), Some(key)) => Some(tls::Tls::load(cert, key)?),
            (None, None) => None,
            _ => {
                return Err(ServeError(
                    "server.tls_cert and server.tls_key go together: give both or neither".into(),
                ))
            }
        };
        if !auth.required() && !is_loopback(&s.host) {
            return Err(ServeError(format!(
                "refusing to listen on {} without a password: set {} (clients log in as \
                 user \"{}\"), or listen on 127.0.0.1",
                s.host, PASSWORD_ENV, USER
            )));
        }
        let host = s.host.trim_matches(|c| c == '[' || c == ']').to_string();
        let pg = TcpListener::bind((host.as_str(), s.pg_port))
            .await
            .map_err(|e| {
                ServeError(format!(
                    "cannot listen on {host}:{} (pg_port): {e}",
                    s.pg_port
                ))
            })?;
        let http = TcpListener::bind((host.as_str(), s.port))
            .await
            .map_err(|e| ServeError(format!("cannot listen on {host}:{} (port): {e}", s.port)))?;
        // Every client connection is opened from this one and inherits its statement
        // timeout: the engine stops a statement past it wherever it checks for interrupts,
        // on whichever thread it runs, with no timer of the server's involved.
        let mut open_config = config.clone();
        let server_ms = s.statement_timeout_secs.saturating_mul(1000);
        let own_ms = config.database.statement_timeout_ms;
        let timeout_is_servers = own_ms.is_none_or(|ms| ms >= server_ms);
        open_config.database.statement_timeout_ms =
            Some(own_ms.map_or(server_ms, |ms| ms.min(server_ms)));
        let db = tokio::task::spawn_blocking(move || Connection::open(open_config))
            .await
            .map_err(|e| ServeError(format!("opening the database failed: {e}")))??;
        let start_scn = db.mvcc().latest_scn();
        let max = s.max_connections as usize;
        let shared = Arc::new(Shared {
            db,
            metrics: metrics::Metrics::default(),
            auth,
            statement_timeout: Duration::from_secs(s.statement_timeout_secs),
            max_connections: max,
            max_request_bytes: s.max_request_bytes as usize,
            metrics_enabled: config.monitoring.metrics_enabled
                || !config_mentions_monitoring(config),
            permits: Arc::new(Semaphore::new(max)),
            shutting_down: AtomicBool::new(false),
            running: AtomicUsize::new(0),
            timeout_is_servers,
            sessions: Mutex::new(HashMap::new()),
            start_scn,
        });
        Ok(Server {
            shared,
            pg,
            http,
            tls,
            shutdown_timeout: Duration::from_secs(config.container.graceful_shutdown_timeout_secs),
        })
    }

    /// The PostgreSQL protocol's address.
    pub fn pg_addr(&self) -> SocketAddr {
        self.pg
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The HTTP API's address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` completes, then shuts down gracefully: stops accepting,
    /// lets running statements finish within `graceful_shutdown_timeout_secs` (then
    /// cancels them), rolls back open transactions, checkpoints the database.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), ServeError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        // Tells the PostgreSQL connections to close, once running statements are done.
        let (close_tx, close_rx) = watch::channel(false);
        let shared = self.shared.clone();
        let pg_tls = self.tls.as_ref().map(|t| t.pg.clone());
        let pg_task = tokio::spawn(pg_accept_loop(
            self.pg,
            pg_tls,
            shared.clone(),
            stop_rx.clone(),
            close_rx,
        ));
        let watcher = shared
            .auth
            .users_file()
            .is_some()
            .then(|| tokio::spawn(watch_users_file(shared.clone(), stop_rx.clone())));
        let mut http_stop = stop_rx.clone();
        let stopped = async move {
            let _ = http_stop.wait_for(|s| *s).await;
        };
        let app = http::router(shared.clone());
        let http_task = match &self.tls {
            None => tokio::spawn(async move {
                axum::serve(self.http, app)
                    .with_graceful_shutdown(stopped)
                    .await
            }),
            Some(t) => {
                let listener = tls::TlsListener::new(self.http, t.http.clone())
                    .map_err(|e| ServeError(format!("cannot serve HTTPS: {e}")))?;
                tokio::spawn(async move {
                    axum::serve(listener, app)
                        .with_graceful_shutdown(stopped)
                        .await
                })
            }
        };
        shutdown.await;
        tracing::info!("shutting down");
        shared.shutting_down.store(true, Ordering::SeqCst);
        let _ = stop_tx.send(true);
        let deadline = Instant::now() + self.shutdown_timeout;
        while shared.running.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if shared.running.load(Ordering::SeqCst) > 0 {
            tracing::warn!("cancelling statements still running after the shutdown timeout");
            shared.interrupt_all();
            let grace = Instant::now() + Duration::from_secs(2);
            while shared.running.load(Ordering::SeqCst) > 0 && Instant::now() < grace {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        // Closing the client connections drops their sessions (open transactions roll
        // back). Each connection's thread closes at its next message or at once when idle;
        // one still inside a statement that ignored the interrupt is not waited for long.
        let _ = close_tx.send(true);
        if let Ok(mut connections) = pg_task.await {
            let closed = async { while connections.join_next().await.is_some() {} };
            if tokio::time::timeout(Duration::from_secs(2), closed)
                .await
                .is_err()
            {
                tracing::warn!("a client connection did not close within 2 s of shutdown");
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), http_task).await;
        if let Some(w) = watcher {
            let _ = w.await;
        }
        let db = shared.clone();
        tokio::task::spawn_blocking(move || db.db.checkpoint())
            .await
            .map_err(|e| ServeError(format!("checkpoint failed: {e}")))??;
        Ok(())
    }
}

/// `[monitoring]` absent from the file: metrics default to on for a server.
fn config_mentions_monitoring(config: &Config) -> bool {
    config.monitoring != heliosdb_lite::config::MonitoringConfig::default()
}

async fn pg_accept_loop(
    listener: TcpListener,
    tls: Option<pgwire::tokio::TlsAcceptor>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    close: watch::Receiver<bool>,
) -> tokio::task::JoinSet<()> {
    let manager = Arc::new(pgwire::api::ConnectionManager::new());
    // One task per connection, ending when the connection's thread does.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            accepted = listener.accept() => {
                let Ok((socket, _)) = accepted else { continue };
                let permit = shared.permits.clone().try_acquire_owned().ok();
                if permit.is_none() {
                    shared.metrics.refused();
                }
                let handlers = pg::Handlers::new(&shared, &manager, permit.is_none());
                let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
                let tls = tls.clone();
                let close = close.clone();
                let started = socket.into_std().and_then(|socket| {
                    std::thread::Builder::new()
                        .name("heliosdb-pg".into())
                        .spawn(move || {
                            let _done = done_tx;
                            let _permit = permit;
                            if let Err(e) = pgconn::serve_on_own_thread(socket, tls, handlers, close) {
                                tracing::debug!(error = %e, "PostgreSQL connection ended with an error");
                            }
                        })
                });
                match started {
                    Ok(_) => {
                        connections.spawn(async move {
                            let _ = done_rx.await;
                        });
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot serve a PostgreSQL connection"),
                }
            }
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections
}

/// How often the users file's modification time and size are compared with the last read.
const USERS_FILE_POLL: Duration = Duration::from_secs(2);

/// Reads the users file again on SIGHUP (as PostgreSQL re-reads pg_hba.conf) and when it
/// changes, until the server stops. A file that does not read is logged and ignored.
async fn watch_users_file(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut hangup = hangup_signal();
    loop {
        let forced = tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            _ = tokio::time::sleep(USERS_FILE_POLL) => false,
            Some(()) = next_hangup(&mut hangup) => true,
        };
        let auth = &shared.auth;
        let result = if forced {
            auth.reload()
        } else {
            auth.reload_if_changed()
        };
        let file = auth.users_file().map(|p| p.display().to_string());
        let file = file.unwrap_or_default();
        match result {
            Ok(Some(n)) => tracing::info!("users file {file} read again: {n} users"),
            Ok(None) => {}
            Err(e) => tracing::warn!("users file not reloaded, the users before stay: {e}"),
        }
    }
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

#[cfg(unix)]
fn hangup_signal() -> Hangup {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}

#[cfg(not(unix))]
fn hangup_signal() -> Hangup {
    None
}

/// The next SIGHUP; never, where there is none.
async fn next_hangup(hangup: &mut Hangup) -> Option<()> {
    #[cfg(unix)]
    if let Some(signal) = hangup {
        return signal.recv().await;
    }
    let _ = hangup;
    std::future::pending().await
}

/// Runs the server for `heliosdb-lite serve`: the password from `HELIOSDB_PASSWORD`,
/// SIGTERM / SIGINT shutdown per `[container] enable_shutdown_on_signal`. Blocks until
/// the server has shut down.
pub fn serve(config: Config) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let auth = Auth::for_server(&config.server).map_err(ServeError)?;
        let server = Server::bind(&config, auth).await?;
        eprintln!(
            "heliosdb-lite serving {} on postgresql://{}@{}/{} and {}://{} (authentication {}{})",
            config
                .database
                .path
                .as_deref()
                .map_or_else(|| ":memory:".into(), |p| p.display().to_string()),
            if config.server.users_file.is_some() {
                "USER"
            } else {
                USER
            },
            server.pg_addr(),
            DATABASE_NAME,
            if server.tls.is_some() {
                "https"
            } else {
                "http"
            },
            server.http_addr(),
            if server.shared.auth.required() {
                "SCRAM-SHA-256"
            } else {
                "off: loopback only"
            },
            if server.tls.is_some() { ", TLS on" } else { "" }
        );
        let on_signal = config.container.enable_shutdown_on_signal;
        server
            .run(async move {
                if on_signal {
                    wait_for_signal().await;
                } else {
                    std::future::pending::<()>().await;
                }
            })
            .await?;
        eprintln!("heliosdb-lite server stopped cleanly");
        Ok(())
    })
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
