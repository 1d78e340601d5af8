//! Configuration: the `heliosdb.toml` file, also buildable in code.
//!
//! Every key of the product brief's example files is accepted. Keys under `[database]`,
//! `[storage]`, `[snapshot]` and `[logging]` take effect in the embedded engine; `[server]`,
//! `[container]`, `[sync]` and `[monitoring]` are validated and kept for the server and sync
//! components that read them. Unknown keys, wrong types and out-of-range values are errors
//! naming the key and its line.

use crate::error::{Error, Result};
use crate::time::Clock;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `[database]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Database directory; `:memory:` for an in-memory database.
    pub path: Option<PathBuf>,
    /// Memory budget in MiB; bounds the storage engine's caches and write buffers.
    pub memory_limit_mb: u64,
    /// Sync every commit to disk (durable against power loss).
    pub enable_wal: bool,
    /// Accepted for compatibility (the LSM storage has no pages); must be a power of two.
    pub page_size: u32,
    /// Block cache size in MiB (default: a quarter of `memory_limit_mb`).
    pub cache_mb: Option<u64>,
    /// Longest a query may run, in milliseconds, before it is cancelled with an error
    /// (default: no limit). INSERT, UPDATE and DELETE are not limited yet.
    pub statement_timeout_ms: Option<u64>,
    /// Memory one query's sorts, hash joins, hash aggregates and DISTINCTs may hold, in MiB,
    /// before they spill to temporary files in the database directory (default: a quarter
    /// of `memory_limit_mb`).
    pub query_memory_mb: Option<u64>,
    /// Memory one write transaction's pending writes may hold, in MiB, before they spill to
    /// a private range of the storage (default: an eighth of `memory_limit_mb`); commit and
    /// rollback work the same either way.
    pub txn_memory_mb: Option<u64>,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            path: None,
            memory_limit_mb: 256,
            enable_wal: true,
            page_size: 4096,
            cache_mb: None,
            statement_timeout_ms: None,
            query_memory_mb: None,
            txn_memory_mb: None,
        }
    }
}

/// `[storage]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Keep history for AS OF queries.
    pub time_travel_enabled: bool,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            time_travel_enabled: true,
        }
    }
}

/// `[snapshot]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SnapshotConfig {
    /// History younger than this is never collected.
    pub min_retention_seconds: u64,
    /// Of older snapshots, keep this many of the newest.
    pub max_snapshots: u64,
    /// Collect history in the background.
    pub auto_gc_enabled: bool,
}

impl Default for SnapshotConfig {
    fn default() -> Self {
        Self {
            min_retention_seconds: 2_592_000,
            max_snapshots: 1000,
            auto_gc_enabled: true,
        }
    }
}

/// `[monitoring]` (read by the server component).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MonitoringConfig {
    /// Export metrics.
    pub metrics_enabled: bool,
    /// Log every statement at debug level.
    pub verbose_logging: bool,
}

/// `[logging]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// Filter: `error`, `warn`, `info`, `debug`, `trace`, or a RUST_LOG-style directive list.
    pub level: String,
    /// `stderr`, `stdout` or `syslog`.
    pub output: String,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            level: "warn".into(),
            output: "stderr".into(),
        }
    }
}

/// `[server]` (read by the server component, `heliosdb-lite serve`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Listen address (both protocols).
    pub host: String,
    /// HTTP port (health, readiness, metrics, `/v1/query`).
    pub port: u16,
    /// PostgreSQL wire protocol port.
    pub pg_port: u16,
    /// Most client connections open at once (PostgreSQL sessions plus HTTP requests being
    /// served); more are refused with a clear error.
    pub max_connections: u32,
    /// Longest a statement may run, in seconds, before the server cancels it.
    pub statement_timeout_secs: u64,
    /// Largest HTTP request body accepted, in bytes.
    pub max_request_bytes: u64,
    /// File of users and their password verifiers (`heliosdb-lite passwd FILE USER` writes
    /// it); `None`: the one user `heliosdb` with the password in `HELIOSDB_PASSWORD`.
    pub users_file: Option<PathBuf>,
    /// PEM certificate chain: with `tls_key`, the server offers TLS on both protocols.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            pg_port: 5432,
            max_connections: 100,
            statement_timeout_secs: 30,
            max_request_bytes: 1024 * 1024,
            users_file: None,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// `[container]` (read by the server component).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ContainerConfig {
    /// Shut down cleanly on SIGTERM.
    pub enable_shutdown_on_signal: bool,
    /// Time allowed for a clean shutdown.
    pub graceful_shutdown_timeout_secs: u64,
}

impl Default for ContainerConfig {
    fn default() -> Self {
        Self {
            enable_shutdown_on_signal: true,
            graceful_shutdown_timeout_secs: 30,
        }
    }
}

/// `[sync]` (read by the sync component).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SyncConfig {
    /// Push data to a remote endpoint.
    pub enable_remote_sync: bool,
    /// Seconds between attempts.
    pub sync_interval_secs: u64,
    /// Endpoint URL.
    pub sync_endpoint: Option<String>,
    /// Rows per batch.
    pub batch_size: u64,
    /// Retry failed attempts.
    pub retry_on_failure: bool,
    /// Attempts before giving up.
    pub max_retry_attempts: u32,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            enable_remote_sync: false,
            sync_interval_secs: 3600,
            sync_endpoint: None,
            batch_size: 5000,
            retry_on_failure: true,
            max_retry_attempts: 10,
        }
    }
}

/// The whole configuration.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `[database]`
    pub database: DatabaseConfig,
    /// `[storage]`
    pub storage: StorageConfig,
    /// `[snapshot]`
    pub snapshot: SnapshotConfig,
    /// `[monitoring]`
    pub monitoring: MonitoringConfig,
    /// `[logging]`
    pub logging: LoggingConfig,
    /// `[server]`
    pub server: ServerConfig,
    /// `[container]`
    pub container: ContainerConfig,
    /// `[sync]`
    pub sync: SyncConfig,
    /// Commit clock (the system clock when `None`). Not read from files.
    #[serde(skip)]
    pub clock: Option<Arc<dyn Clock>>,
    /// The fewest new keys a transaction writes into sorted table files at once instead of
    /// through the storage's memtable (`MvccOptions::ingest_min_keys`; 4,096 when `None`).
    /// Not read from files: tests lower it so that small transactions take that path.
    #[serde(skip)]
    pub ingest_min_keys: Option<usize>,
    /// How many new live keys a transaction hands, at the end of a statement, to a helper
    /// thread that writes them ahead of its commit (`MvccOptions::write_ahead_keys`; 4,096
    /// when `None` on a machine with more than one core, else off; 0 turns it off). Not read
    /// from files: tests lower it so that small transactions take that path.
    #[serde(skip)]
    pub write_ahead_keys: Option<usize>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database", &self.database)
            .field("storage", &self.storage)
            .field("snapshot", &self.snapshot)
            .field("logging", &self.logging)
            .field("server", &self.server)
            .field("monitoring", &self.monitoring)
            .field("container", &self.container)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Config {
    /// A configuration for a database in `path` with default settings.
    pub fn with_path(path: impl Into<PathBuf>) -> Self {
        let mut c = Config::default();
        c.database.path = Some(path.into());
        c
    }

    /// A configuration for an in-memory database.
    pub fn in_memory() -> Self {
        Self::with_path(":memory:")
    }

    /// Uses `clock` for commit times (tests, historical imports).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Reads a `heliosdb.toml` file. `HELIOSDB_DATA_DIR`, when set, replaces the directory of
    /// `database.path`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!(
                "cannot read configuration file {}: {e}",
                path.display()
            ))
        })?;
        let mut c = Self::from_toml_str(&text).map_err(|e| match e {
            Error::Config(m) => Error::Config(format!("{}: {m}", path.display())),
            other => other,
        })?;
        c.apply_env();
        Ok(c)
    }

    /// Parses configuration text.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let c: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            let msg = e.message().to_string();
            Error::Config(match line {
                Some(l) => format!("line {l}: {msg}"),
                None => msg,
            })
        })?;
        c.validate_with(text)?;
        Ok(c)
    }

    /// Applies environment overrides (`HELIOSDB_DATA_DIR`).
    pub fn apply_env(&mut self) {
        if let Ok(dir) = std::env::var("HELIOSDB_DATA_DIR") {
            if dir.is_empty() {
                return;
            }
            let name = self
                .database
                .path
                .as_ref()
                .and_then(|p| p.file_name().map(|n| n.to_owned()))
                .unwrap_or_else(|| "heliosdb.db".into());
            if self.database.path.as_deref() != Some(Path::new(":memory:")) {
                self.database.path = Some(PathBuf::from(dir).join(name));
            }
        }
    }

    /// Checks ranges; errors name the key (and its line when the text is known).
    pub fn validate(&self) -> Result<()> {
        self.validate_with("")
    }

    fn validate_with(&self, text: &str) -> Result<()> {
        let fail = |section: &str, key: &str, msg: String| {
            let needle = key.to_string();
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with(&needle))
                .map(|i| format!("line {}: ", i + 1))
                .unwrap_or_default();
            Err(Error::Config(format!("{line}{section}.{key}: {msg}")))
        };
        let d = &self.database;
        if !(16..=1_048_576).contains(&d.memory_limit_mb) {
            return fail(
                "database",
                "memory_limit_mb",
                format!(
                    "{} is out of range; allowed 16..=1048576",
                    d.memory_limit_mb
                ),
            );
        }
        if !d.page_size.is_power_of_two() || !(512..=65536).contains(&d.page_size) {
            return fail(
                "database",
                "page_size",
                format!(
                    "{} is not allowed; use a power of two from 512 to 65536",
                    d.page_size
                ),
            );
        }
        if d.statement_timeout_ms == Some(0) {
            return fail(
                "database",
                "statement_timeout_ms",
                "0 is not allowed; leave the key out for no limit, or give 1 or more".into(),
            );
        }
        // Shares of the memory budget: at least 1 MiB, at most all of it.
        for (key, share) in [
            ("query_memory_mb", d.query_memory_mb),
            ("cache_mb", d.cache_mb),
            ("txn_memory_mb", d.txn_memory_mb),
        ] {
            if let Some(n) = share.filter(|&n| n == 0 || n > d.memory_limit_mb) {
                return fail(
                    "database",
                    key,
                    format!(
                        "{n} is out of range; allowed 1..=memory_limit_mb ({})",
                        d.memory_limit_mb
                    ),
                );
            }
        }
        if self.snapshot.min_retention_seconds > 100 * 365 * 86_400 {
            return fail(
                "snapshot",
                "min_retention_seconds",
                "more than 100 years is not allowed".into(),
            );
        }
        let lvl = self.logging.level.to_ascii_lowercase();
        let simple = ["error", "warn", "info", "debug", "trace", "off"];
        if !simple.contains(&lvl.as_str()) && !lvl.contains('=') {
            return fail("logging", "level", format!("'{}' is not a level; allowed: error, warn, info, debug, trace, off, or target=level directives", self.logging.level));
        }
        if !["stderr", "stdout", "syslog"].contains(&self.logging.output.as_str()) {
            return fail(
                "logging",
                "output",
                format!(
                    "'{}' is not allowed; use stderr, stdout or syslog",
                    self.logging.output
                ),
            );
        }
        if self.server.host.trim().is_empty() {
            return fail("server", "host", "must not be empty".into());
        }
        match (&self.server.tls_cert, &self.server.tls_key) {
            (Some(_), None) => {
                return fail(
                    "server",
                    "tls_cert",
                    "is set without tls_key; give both".into(),
                )
            }
            (None, Some(_)) => {
                return fail(
                    "server",
                    "tls_key",
                    "is set without tls_cert; give both".into(),
                )
            }
            _ => {}
        }
        if self.server.port != 0 && self.server.port == self.server.pg_port {
            return fail(
                "server",
                "pg_port",
                format!(
                    "{} is also server.port; the HTTP and PostgreSQL ports must differ",
                    self.server.pg_port
                ),
            );
        }
        if !(1..=100_000).contains(&self.server.max_connections) {
            return fail(
                "server",
                "max_connections",
                format!(
                    "{} is out of range; allowed 1..=100000",
                    self.server.max_connections
                ),
            );
        }
        if !(1..=86_400).contains(&self.server.statement_timeout_secs) {
            return fail(
                "server",
                "statement_timeout_secs",
                format!(
                    "{} is out of range; allowed 1..=86400",
                    self.server.statement_timeout_secs
                ),
            );
        }
        if !(1024..=1024 * 1024 * 1024).contains(&self.server.max_request_bytes) {
            return fail(
                "server",
                "max_request_bytes",
                format!(
                    "{} is out of range; allowed 1024..=1073741824",
                    self.server.max_request_bytes
                ),
            );
        }
        if !(1..=3600).contains(&self.container.graceful_shutdown_timeout_secs) {
            return fail(
                "container",
                "graceful_shutdown_timeout_secs",
                format!(
                    "{} is out of range; allowed 1..=3600",
                    self.container.graceful_shutdown_timeout_secs
                ),
            );
        }
        if self.sync.enable_remote_sync && self.sync.sync_endpoint.is_none() {
            return fail(
                "sync",
                "sync_endpoint",
                "is required when enable_remote_sync = true".into(),
            );
        }
        if self.sync.batch_size == 0 {
            return fail("sync", "batch_size", "must be at least 1".into());
        }
        Ok(())
    }

    /// Block cache bytes for the storage engine.
    pub fn cache_bytes(&self) -> u64 {
        self.database
            .cache_mb
            .unwrap_or(self.database.memory_limit_mb / 4)
            .max(1)
            * 1024
            * 1024
    }

    /// Bytes one query may hold in memory before it spills.
    pub fn query_memory_bytes(&self) -> u64 {
        self.database
            .query_memory_mb
            .unwrap_or(self.database.memory_limit_mb / 4)
            .max(1)
            * 1024
            * 1024
    }

    /// Bytes one write transaction's pending writes may hold in memory before they spill.
    pub fn txn_memory_bytes(&self) -> u64 {
        self.database
            .txn_memory_mb
            .unwrap_or(self.database.memory_limit_mb / 8)
            .max(1)
            * 1024
            * 1024
    }

    /// Memtable bytes for the storage engine.
    pub fn write_buffer_bytes(&self) -> u64 {
        (self.database.memory_limit_mb * 1024 * 1024 / 8).clamp(1024 * 1024, 64 * 1024 * 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brief_example_files_parse() {
        let c = Config::from_toml_str(
            r#"
# HeliosDB-Lite configuration for financial compliance
[database]
path = "/data/banking.db"
memory_limit_mb = 256
enable_wal = true
page_size = 4096

[storage]
time_travel_enabled = true

[snapshot]
min_retention_seconds = 7776000  # 90 days
max_snapshots = 10000
auto_gc_enabled = true

[monitoring]
metrics_enabled = true
verbose_logging = false
"#,
        )
        .unwrap();
        assert_eq!(c.snapshot.min_retention_seconds, 7_776_000);
        assert_eq!(
            c.database.path.as_deref(),
            Some(Path::new("/data/banking.db"))
        );
    }

    #[test]
    fn server_sections_of_the_brief_parse_and_are_checked() {
        let c = Config::from_toml_str(
            "[server]\nhost = \"0.0.0.0\"\nport = 8080\n\n[container]\n\
             enable_shutdown_on_signal = true\ngraceful_shutdown_timeout_secs = 30\n",
        )
        .unwrap();
        assert_eq!((c.server.port, c.server.pg_port), (8080, 5432));
        assert_eq!(c.container.graceful_shutdown_timeout_secs, 30);
        let e = Config::from_toml_str("[server]\nport = 5432\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("server.pg_port"), "{e}");
        let e = Config::from_toml_str("[server]\nmax_connections = 0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("max_connections"), "{e}");
    }

    #[test]
    fn errors_name_the_key_and_line() {
        let e = Config::from_toml_str("[database]\nmemory_limt_mb = 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("memory_limt_mb"), "{e}");
        let e = Config::from_toml_str("[database]\npage_size = \"big\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2"), "{e}");
        let e = Config::from_toml_str("[database]\npage_size = 1000\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("database.page_size") && e.contains("line 2"),
            "{e}"
        );
    }
}
