//! The public API, modelled on rusqlite so that switching is a change of import.
//!
//! A [`Connection`] is `Send + Sync`: one `Arc<Connection>` can serve many threads. Queries
//! outside an explicit transaction run on their own snapshot without holding the connection's
//! lock, so concurrent readers on one connection do not wait for each other; writers are
//! serialised by the engine's write lock.

mod appender;
mod functions;
mod params;
mod row;
pub mod types;

pub use appender::Appender;
pub use functions::FunctionFlags;
pub use params::{params_from_iter, Params, ParamsFromIter};
use row::RowSource;
pub use row::{MappedRows, Row, RowIndex, Rows};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::mvcc::{AsOf, Mvcc, MvccOptions, Retention};
use crate::sql::engine::{Engine, Outcome};
use crate::sql::parser::{self, ParsedStatement};
use crate::sql::session::Session;
use crate::storage::{FjallOptions, FjallStorage, MemoryStorage, PrivateCopy, Storage};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use types::Value;

/// What [`Connection::open`] accepts: a path or a [`Config`].
pub trait OpenTarget {
    /// The configuration to open with.
    fn into_config(self) -> Config;
}

impl<P: AsRef<Path>> OpenTarget for P {
    fn into_config(self) -> Config {
        Config::with_path(self.as_ref())
    }
}

impl OpenTarget for Config {
    fn into_config(self) -> Config {
        self
    }
}

/// Engines by canonical path, so several connections in one process share one database.
fn registry() -> &'static Mutex<HashMap<PathBuf, Weak<Engine>>> {
    static R: OnceLock<Mutex<HashMap<PathBuf, Weak<Engine>>>> = OnceLock::new();
    R.get_or_init(|| Mutex::new(HashMap::new()))
}

fn open_engine(config: &Config) -> Result<Arc<Engine>> {
    config.validate()?;
    let mvcc_options = MvccOptions {
        durable: config.database.enable_wal,
        time_travel: config.storage.time_travel_enabled,
        retention: Retention {
            min_retention_us: (config.snapshot.min_retention_seconds as i64)
                .saturating_mul(1_000_000),
            max_snapshots: config.snapshot.max_snapshots,
        },
        auto_gc: config.snapshot.auto_gc_enabled,
        // An eighth of the memory budget for the in-memory commit index (16 bytes a commit);
        // older retained commits are resolved from storage.
        max_snapshots_in_memory: ((config.database.memory_limit_mb as usize) << 20) / 8 / 16,
        clock: config
            .clock
            .clone()
            .unwrap_or_else(|| Arc::new(crate::time::SystemClock)),
        count_group: Some(crate::sql::codec::row_count_group),
        watched_prefix: Some(crate::sql::codec::CATALOG_PREFIX),
        txn_memory_bytes: usize::try_from(config.txn_memory_bytes()).unwrap_or(usize::MAX),
        ingest_min_keys: config
            .ingest_min_keys
            .unwrap_or(MvccOptions::default().ingest_min_keys)
            .max(1),
        write_ahead_keys: config
            .write_ahead_keys
            .unwrap_or(MvccOptions::default().write_ahead_keys),
        ..MvccOptions::default()
    };
    let path = config.database.path.clone();
    let in_memory = path
        .as_deref()
        .is_none_or(|p| p == Path::new(":memory:") || p.as_os_str().is_empty());
    if in_memory {
        // A quarter of the cache keeps copies of histories read often, as on disk.
        let storage: Arc<dyn Storage> =
            Arc::new(MemoryStorage::with_run_cache(config.cache_bytes() / 4));
        return Ok(Arc::new(Engine::new(Mvcc::open(storage, mvcc_options)?)?));
    }
    let path = path.expect("checked above");
    if !path.exists() {
        std::fs::create_dir_all(&path).map_err(|e| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("cannot create database directory {}: {e}", path.display()),
            ))
        })?;
    }
    let canonical = path.canonicalize()?;
    let mut reg = crate::mvcc::lock(registry());
    if let Some(e) = reg.get(&canonical).and_then(Weak::upgrade) {
        return Ok(e);
    }
    let storage = FjallStorage::open(
        &canonical,
        &FjallOptions {
            cache_bytes: config.cache_bytes(),
            // A quarter of the cache holds recently read values (row lookups skip fjall).
            value_cache_bytes: config.cache_bytes() / 4,
            memtable_bytes: config.write_buffer_bytes(),
            ..FjallOptions::default()
        },
    )?;
    // This process now holds the database: what a crashed query left in its spill folder
    // can go.
    crate::sql::execution::clear_spill_folder(&canonical);
    let engine = Arc::new(
        Engine::new(Mvcc::open(Arc::new(storage), mvcc_options)?)?.at_path(canonical.clone()),
    );
    reg.retain(|_, w| w.strong_count() > 0);
    reg.insert(canonical, Arc::downgrade(&engine));
    Ok(engine)
}

/// Where a database's queries spill: a folder in its directory (`None` for an in-memory
/// database, which spills to the system's temporary directory).
fn spill_dir(config: &Config) -> Option<PathBuf> {
    let path = config.database.path.as_deref()?;
    if path == Path::new(":memory:") || path.as_os_str().is_empty() {
        return None;
    }
    Some(path.join(crate::sql::execution::SPILL_FOLDER))
}

/// The engine of a read-only open: the one this process already has open for the path, or
/// one on a private copy of the directory (see [`PrivateCopy`]), so nothing is ever written to
/// the database directory.
fn open_engine_read_only(config: &Config) -> Result<(Arc<Engine>, Option<PrivateCopy>)> {
    config.validate()?;
    let path = match config.database.path.as_deref() {
        Some(p) if p != Path::new(":memory:") && !p.as_os_str().is_empty() => p,
        _ => {
            return Err(Error::invalid(
                "an in-memory database cannot be opened read-only: there is nothing to read; \
                 give the path of a database directory",
            ))
        }
    };
    if let Ok(canonical) = path.canonicalize() {
        if let Some(e) = crate::mvcc::lock(registry())
            .get(&canonical)
            .and_then(Weak::upgrade)
        {
            return Ok((e, None));
        }
    }
    let copy = PrivateCopy::of(path)?;
    let storage = FjallStorage::open(
        copy.path(),
        &FjallOptions {
            cache_bytes: config.cache_bytes(),
            // A quarter of the cache holds recently read values (row lookups skip fjall).
            value_cache_bytes: config.cache_bytes() / 4,
            memtable_bytes: config.write_buffer_bytes(),
            ..FjallOptions::default()
        },
    )?;
    let options = MvccOptions {
        durable: false,
        time_travel: config.storage.time_travel_enabled,
        auto_gc: false,
        clock: config
            .clock
            .clone()
            .unwrap_or_else(|| Arc::new(crate::time::SystemClock)),
        count_group: Some(crate::sql::codec::row_count_group),
        watched_prefix: Some(crate::sql::codec::CATALOG_PREFIX),
        ..MvccOptions::default()
    };
    // Named by the directory the user opened, not by the private copy it reads.
    let named = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let engine = Arc::new(Engine::new(Mvcc::open(Arc::new(storage), options)?)?.at_path(named));
    Ok((engine, Some(copy)))
}

const STATEMENT_CACHE: usize = 32;

/// A connection to a database.
pub struct Connection {
    pub(crate) engine: Arc<Engine>,
    /// Shared with the session's statement limits: set by [`Connection::interrupt`].
    interrupt: Arc<std::sync::atomic::AtomicBool>,
    session: Mutex<Session>,
    cache: Mutex<Vec<(String, Arc<ParsedStatement>)>>,
    /// The shapes of the literal INSERTs scripts ran lately (see [`parser::parse_script`]).
    shapes: Mutex<parser::ShapeCache>,
    config: Config,
    /// Opened with [`Connection::open_read_only`]: statements that write are refused.
    read_only: bool,
    /// The private copy a read-only open reads; declared last so that it is removed after
    /// the engine on it has closed.
    _private_copy: Option<PrivateCopy>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("path", &self.config.database.path)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Opens (creating if needed) the database at a path, or as a [`Config`] describes.
    pub fn open<T: OpenTarget>(target: T) -> Result<Connection> {
        let config = target.into_config();
        let engine = open_engine(&config)?;
        Ok(Self::on_engine(engine, config, None, false))
    }

    /// Opens an existing database for reading only; nothing is ever written to its
    /// directory, which may be read-only or open in another process. Statements that would
    /// write fail with [`Error::ReadOnly`]. Unless this process already has the database
    /// open, the connection reads a private copy made at open time (in the temporary
    /// directory, `TMPDIR`): it sees the commits made before it opened, and none after.
    /// A path that holds no database is an error, never created.
    pub fn open_read_only<T: OpenTarget>(target: T) -> Result<Connection> {
        let config = target.into_config();
        let (engine, copy) = open_engine_read_only(&config)?;
        Ok(Self::on_engine(engine, config, copy, true))
    }

    fn on_engine(
        engine: Arc<Engine>,
        config: Config,
        copy: Option<PrivateCopy>,
        read_only: bool,
    ) -> Connection {
        let mut session = Session::default();
        session.limits.timeout_ms = config.database.statement_timeout_ms;
        session.limits.memory_bytes =
            Some(usize::try_from(config.query_memory_bytes()).unwrap_or(usize::MAX));
        // A read-only connection spills into its private copy, or, sharing this process's
        // engine, into the system's temporary directory: never into the database directory.
        session.limits.spill_dir = match &copy {
            Some(c) => Some(c.path().join(crate::sql::execution::SPILL_FOLDER)),
            None if read_only => None,
            None => spill_dir(&config),
        };
        Connection {
            engine,
            interrupt: session.limits.interrupt.clone(),
            session: Mutex::new(session),
            cache: Mutex::new(Vec::new()),
            shapes: Mutex::default(),
            config,
            read_only,
            _private_copy: copy,
        }
    }

    /// A second connection to the same database (the same engine: it sees this
    /// connection's commits as they happen), with its own session: its own transaction,
    /// default time-travel point, statement cache and interrupt. This is how a server gives
    /// each client its own connection, and the only way to share an in-memory database.
    pub fn another_connection(&self) -> Connection {
        let read_only = self.read_only;
        // A read-only connection on a private copy shares that copy's engine; the copy
        // itself stays owned by the first connection, so spills go to the temporary
        // directory, never into the copy another connection may delete.
        Self::on_engine(self.engine.clone(), self.config.clone(), None, read_only)
    }

    /// True when opened with [`Connection::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    fn refuse_if_read_only(&self, what: &str) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly(what.to_string()));
        }
        Ok(())
    }

    /// Opens a fresh in-memory database.
    pub fn open_in_memory() -> Result<Connection> {
        Self::open(Config::in_memory())
    }

    /// Opens the database a `heliosdb.toml` file describes.
    pub fn open_with_config(toml_path: impl AsRef<Path>) -> Result<Connection> {
        Self::open(Config::from_file(toml_path)?)
    }

    /// The configuration this connection was opened with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The versioned store (snapshots, history, GC).
    pub fn mvcc(&self) -> &Mvcc {
        &self.engine.mvcc
    }

    fn parse(&self, sql: &str) -> Result<Vec<ParsedStatement>> {
        parser::parse(sql)
    }

    fn parse_one(&self, sql: &str) -> Result<Arc<ParsedStatement>> {
        let mut v = self.parse(sql)?;
        match v.len() {
            0 => Err(Error::invalid("no SQL statement given")),
            1 => Ok(Arc::new(v.remove(0))),
            _ => Err(Error::invalid(
                "multiple statements given; use execute_batch for several statements",
            )),
        }
    }

    /// The parse of `sql` from the statement cache, or parsed now and cached. An INSERT of
    /// literals whose shape was seen before (`parser::shaped_insert`) is its shape's
    /// template instead, with the literals as preset values (an application writing its
    /// values into the text gets a prepared statement's cost without the cache filling up
    /// with texts that never come back).
    fn cached(&self, sql: &str) -> Result<Cached> {
        {
            let mut c = crate::mvcc::lock(&self.cache);
            // Most recently used last: a statement run in a loop is found at once and stays
            // in place.
            if let Some(i) = c.iter().rposition(|(s, _)| s == sql) {
                let p = c[i].1.clone();
                if i + 1 < c.len() {
                    let e = c.remove(i);
                    c.push(e);
                }
                return Ok(Cached::parsed(p));
            }
        }
        if let Some((template, literals, range)) = parser::shaped_insert(sql, &self.shapes) {
            return Ok(Cached {
                parsed: template,
                literals,
                text: Some(sql[range].into()),
            });
        }
        let p = self.parse_one(sql)?;
        let mut c = crate::mvcc::lock(&self.cache);
        if c.len() >= STATEMENT_CACHE {
            c.remove(0);
        }
        c.push((sql.to_string(), p.clone()));
        Ok(Cached::parsed(p))
    }

    /// Runs a parsed statement with bound values.
    pub(crate) fn run(&self, stmt: &ParsedStatement, params: &[Value]) -> Result<Outcome> {
        Ok(self.run_at(stmt, params, None)?.0)
    }

    /// Runs a parsed statement, reading at `as_of` (when given) instead of the connection's
    /// default point; also returns the connection's last inserted rowid as the statement
    /// left it (read under the same lock, so another thread's insert cannot come between).
    fn run_at(
        &self,
        stmt: &ParsedStatement,
        params: &[Value],
        as_of: Option<&AsOf>,
    ) -> Result<(Outcome, i64)> {
        if self.read_only && !crate::sql::session::allowed_read_only(&stmt.statement) {
            self.refuse_if_read_only(stmt.text.split_whitespace().next().unwrap_or("it"))?;
        }
        self.with_session(as_of, |session| {
            let outcome = session.execute(&self.engine, stmt, params)?;
            Ok((outcome, session.last_insert_rowid))
        })
    }

    /// Runs `f` on the locked session, for one statement: a pending interrupt is cleared
    /// (it cancels the statement running when it comes, not later ones), and `as_of`, if
    /// given, is the default time-travel point for this statement only.
    fn with_session<T>(
        &self,
        as_of: Option<&AsOf>,
        f: impl FnOnce(&mut crate::sql::session::Session) -> Result<T>,
    ) -> Result<T> {
        let mut session = self.lock_session()?;
        self.interrupt
            .store(false, std::sync::atomic::Ordering::Relaxed);
        let saved = as_of.map(|p| session.default_as_of.replace(p.clone()));
        let r = f(&mut session);
        if let Some(previous) = saved {
            session.default_as_of = previous;
        }
        r
    }

    /// Opens a query as a streaming cursor (see [`Rows`]; inside an explicit transaction it
    /// runs to its end first and its rows are read back from memory and a temporary file);
    /// `None` when the statement must run with [`Connection::run`].
    fn open_cursor(
        &self,
        stmt: &ParsedStatement,
        params: &[Value],
        as_of: Option<&AsOf>,
    ) -> Result<Option<(crate::sql::cursor::Cursor, Outcome)>> {
        self.with_session(as_of, |session| {
            session.open_cursor(&self.engine, stmt, params)
        })
    }

    /// Sets the point in history where this connection's queries read every table that has
    /// no `AS OF` clause of its own; `None` returns to the current data.
    ///
    /// The effect is exactly that of writing `AS OF <point>` after each such table in every
    /// query (views included: a view is read at the point, and the tables inside it with it),
    /// so `conn.set_default_as_of(Some(AsOf::Scn(5)))` followed by `SELECT * FROM t` reads
    /// what `SELECT * FROM t AS OF SCN 5` reads. The point is resolved for each statement
    /// when it first reads a table, with the same errors as the clause (too old, in the
    /// future, time travel disabled). Statements that write (INSERT, UPDATE, DELETE, DDL)
    /// fail while a default is set, because a write always applies to the current data.
    /// Transaction control and `PRAGMA` still work. This is the library side of a session
    /// setting such as a server's `SET heliosdb.as_of`.
    pub fn set_default_as_of(&self, point: Option<AsOf>) {
        crate::mvcc::lock(&self.session).default_as_of = point;
    }

    /// The point set with [`Connection::set_default_as_of`], if any.
    pub fn default_as_of(&self) -> Option<AsOf> {
        crate::mvcc::lock(&self.session).default_as_of.clone()
    }

    /// Cancels the statement this connection is running, from any thread (the connection is
    /// `Sync`; share it with an `Arc`, or take an [`InterruptHandle`]). The statement fails
    /// with [`Error::Interrupted`]; an open transaction stays open, and so does the
    /// connection. Without a running statement it does nothing.
    pub fn interrupt(&self) {
        self.interrupt
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// A handle that can cancel this connection's running statement from another thread,
    /// as rusqlite's `get_interrupt_handle`.
    pub fn get_interrupt_handle(&self) -> InterruptHandle {
        InterruptHandle {
            flag: self.interrupt.clone(),
        }
    }

    /// Executes one statement; returns the number of rows it changed.
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        let stmt = self.cached(sql)?;
        let values = stmt.bind(params)?;
        Ok(self.run(&stmt.parsed, &values)?.changes as usize)
    }

    /// Executes several `;`-separated statements without parameters.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        for stmt in parser::parse_script(sql, &self.shapes)? {
            let stmt = stmt?;
            self.run(stmt.statement(), stmt.params())?;
        }
        Ok(())
    }

    /// Executes several statements, returning each statement's outcome (for shells and
    /// tools that print every result).
    pub fn execute_script(&self, sql: &str, mut each: impl FnMut(&str, Outcome)) -> Result<()> {
        for stmt in parser::parse_script(sql, &self.shapes)? {
            let stmt = stmt?;
            let out = self.run(stmt.statement(), stmt.params())?;
            each(stmt.text(), out);
        }
        Ok(())
    }

    /// Prepares a statement. The parsed form comes from the connection's statement cache
    /// (the last 32 texts prepared or executed), so preparing a text again skips parsing and,
    /// while the schema is unchanged, planning: the plan is kept with the parsed statement.
    /// Sharing it is safe: a plan is rebound when the schema changes, and statements
    /// prepared from the same text keep their own parameters and results.
    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        self.prepare_cached(sql)
    }

    /// Prepares a statement through the connection's statement cache (the same as
    /// [`Connection::prepare`], kept for code written against rusqlite).
    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'_>> {
        Ok(Statement {
            conn: self,
            parsed: self.cached(sql)?,
            columns: Mutex::new(None),
            as_of: None,
        })
    }

    /// Runs a query and maps its first row.
    pub fn query_row<T, P: Params, F: FnOnce(&Row<'_>) -> Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    /// Sets how long this connection's transactions wait for another connection's write
    /// lock before failing with [`Error::Busy`] (SQLite's `sqlite3_busy_timeout`; the same
    /// as `PRAGMA busy_timeout`). The default is the database's, 5 seconds.
    pub fn busy_timeout(&self, timeout: std::time::Duration) -> Result<()> {
        crate::mvcc::lock(&self.session).busy_timeout = Some(timeout);
        Ok(())
    }

    /// Rowid of the last row inserted on this connection.
    pub fn last_insert_rowid(&self) -> i64 {
        crate::mvcc::lock(&self.session).last_insert_rowid
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE on this connection.
    pub fn changes(&self) -> u64 {
        crate::mvcc::lock(&self.session).changes as u64
    }

    /// Transaction id of the last write transaction this connection committed.
    pub fn last_txn_id(&self) -> Option<u64> {
        crate::mvcc::lock(&self.session).last_txn_id
    }

    /// True while an explicit transaction is open.
    pub fn is_in_transaction(&self) -> bool {
        crate::mvcc::lock(&self.session).txn.is_some()
    }

    /// Starts a transaction; it rolls back when dropped unless committed.
    pub fn transaction(&self) -> Result<Transaction<'_>> {
        self.execute_batch("BEGIN")?;
        Ok(Transaction {
            conn: self,
            done: false,
        })
    }

    /// Runs history garbage collection now.
    pub fn gc(&self) -> Result<crate::mvcc::GcReport> {
        self.refuse_if_read_only("garbage collection")?;
        self.engine.mvcc.gc()
    }

    /// Flushes everything to stable storage.
    pub fn sync(&self) -> Result<()> {
        self.engine.mvcc.sync()
    }

    /// Flushes everything to stable storage and the storage engine's write buffers into its
    /// data files (smaller journal, faster reopen).
    pub fn checkpoint(&self) -> Result<()> {
        self.refuse_if_read_only("a checkpoint")?;
        self.engine.mvcc.checkpoint()
    }

    /// Copies the whole database, its retained history included, into a new database
    /// directory `target` while other connections keep reading and writing: the library
    /// side of `VACUUM INTO 'target'`. The copy holds exactly the commits up to the newest
    /// one published when it started ([`BackupReport::scn`](crate::mvcc::BackupReport)), and
    /// answers every `AS OF` point the source retains as the source does. `target` must not
    /// exist (an empty directory or an empty file is replaced), and its parent directory
    /// must; nothing is left at `target` if the copy fails. An in-memory database is copied
    /// to disk the same way. Refused inside an explicit transaction, as SQLite refuses
    /// `VACUUM` there.
    pub fn backup_to(&self, target: impl AsRef<Path>) -> Result<crate::mvcc::BackupReport> {
        if self.is_in_transaction() {
            return Err(Error::Transaction(
                crate::sql::session::VACUUM_IN_TRANSACTION.to_string(),
            ));
        }
        self.engine.mvcc.backup_to(target.as_ref())
    }

    /// Names of the tables, views, indexes and triggers, with their CREATE text, ordered by
    /// name.
    pub fn schema_objects(&self) -> Result<Vec<SchemaObject>> {
        let txn = self.engine.mvcc.begin(crate::mvcc::TxnMode::ReadOnly)?;
        let own_ddl = false;
        let schema = self.engine.schema_for(&txn, own_ddl)?;
        let mut out: Vec<SchemaObject> = Vec::new();
        for t in schema.tables.values() {
            out.push(SchemaObject {
                kind: "table",
                name: t.def.name.clone(),
                table: t.def.name.clone(),
                sql: Some(t.def.sql.clone()),
            });
        }
        for i in schema.indexes.values() {
            out.push(SchemaObject {
                kind: "index",
                name: i.name.clone(),
                table: i.table.clone(),
                sql: i.sql.clone(),
            });
        }
        for t in schema.triggers.values() {
            out.push(SchemaObject {
                kind: "trigger",
                name: t.name.clone(),
                table: t.table.clone(),
                sql: Some(t.sql.clone()),
            });
        }
        for v in schema.views.values() {
            out.push(SchemaObject {
                kind: "view",
                name: v.name.clone(),
                table: v.name.clone(),
                sql: Some(v.sql.clone()),
            });
        }
        out.sort_by_key(|o| o.name.to_lowercase());
        Ok(out)
    }
}

/// A table, index, view or trigger, as `.schema` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaObject {
    /// `table`, `index`, `view` or `trigger`.
    pub kind: &'static str,
    /// Name.
    pub name: String,
    /// Table the object belongs to.
    pub table: String,
    /// CREATE statement (`None` for indexes made by constraints).
    pub sql: Option<String>,
}

/// A statement as the statement cache gives it.
struct Cached {
    /// What runs: the statement's parse, or its shape's template.
    parsed: Arc<ParsedStatement>,
    /// The values of a template's parameters (the statement's literals); empty otherwise.
    literals: Vec<Value>,
    /// The statement's own text when `parsed` is a template (whose text has placeholders).
    text: Option<Box<str>>,
}

impl Cached {
    fn parsed(parsed: Arc<ParsedStatement>) -> Self {
        Cached {
            parsed,
            literals: Vec::new(),
            text: None,
        }
    }

    /// True for a shape's template run with preset literals.
    fn is_template(&self) -> bool {
        self.text.is_some()
    }

    /// The values to run with: the caller's, bound to the statement's placeholders; for a
    /// template, the literals, after checking that the caller gave none (the statement as
    /// written has no placeholders).
    fn bind<P: Params>(&self, params: P) -> Result<Vec<Value>> {
        if !self.is_template() {
            return params.bind(&self.parsed);
        }
        static NONE: std::sync::OnceLock<ParsedStatement> = std::sync::OnceLock::new();
        params.bind(NONE.get_or_init(ParsedStatement::placeholder))?;
        Ok(self.literals.clone())
    }

    /// Values for planning without running: the literals of a template, NULLs otherwise.
    fn describe_values(&self) -> Vec<Value> {
        if self.is_template() {
            self.literals.clone()
        } else {
            vec![Value::Null; self.parsed.param_count]
        }
    }
}

/// The result columns of every statement without any (an INSERT, UPDATE or DELETE without
/// RETURNING), shared: a batch load's statements allocate no empty lists.
static NO_COLUMNS: std::sync::OnceLock<Arc<Vec<String>>> = std::sync::OnceLock::new();
/// The per-column temporal flags of those statements, shared likewise.
static NO_TEMPORAL: std::sync::OnceLock<Arc<Vec<bool>>> = std::sync::OnceLock::new();

/// `v` behind an `Arc`; the shared `empty` one when `v` is empty.
fn shared_vec<T>(v: Vec<T>, empty: &std::sync::OnceLock<Arc<Vec<T>>>) -> Arc<Vec<T>> {
    if v.is_empty() {
        empty.get_or_init(|| Arc::new(Vec::new())).clone()
    } else {
        Arc::new(v)
    }
}

/// A prepared statement.
pub struct Statement<'conn> {
    conn: &'conn Connection,
    parsed: Cached,
    columns: Mutex<Option<Arc<Vec<String>>>>,
    /// Overrides the connection's default time-travel point ([`Statement::set_as_of`]).
    as_of: Option<AsOf>,
}

impl std::fmt::Debug for Statement<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Statement")
            .field("sql", &self.sql())
            .finish()
    }
}

impl Statement<'_> {
    /// Makes this statement's queries read every table that has no `AS OF` clause of its own
    /// at `point`, for its executions from now on, whatever the connection's default
    /// ([`Connection::set_default_as_of`], which describes the semantics); `None` returns to
    /// the connection's default. Set on a statement that writes, its executions fail.
    pub fn set_as_of(&mut self, point: Option<AsOf>) {
        self.as_of = point;
    }

    /// The point set with [`Statement::set_as_of`], if any.
    pub fn as_of(&self) -> Option<&AsOf> {
        self.as_of.as_ref()
    }

    fn outcome<P: Params>(&self, params: P) -> Result<Outcome> {
        let values = self.parsed.bind(params)?;
        let (out, _) = self
            .conn
            .run_at(&self.parsed.parsed, &values, self.as_of.as_ref())?;
        let mut columns = crate::mvcc::lock(&self.columns);
        // Usually the same names as the last execution's: no new list to allocate.
        if columns.as_deref() != Some(&out.columns) {
            *columns = Some(Arc::new(out.columns.clone()));
        }
        drop(columns);
        Ok(out)
    }

    /// Executes the statement; returns the number of rows changed.
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        Ok(self.outcome(params)?.changes as usize)
    }

    /// Runs the statement and returns its rows.
    pub fn query<P: Params>(&mut self, params: P) -> Result<Rows> {
        let values = self.parsed.bind(params)?;
        self.query_bound(&values)
    }

    /// [`Statement::query`] with values already in engine form, one per placeholder in
    /// order, used where they are and not copied: a binding that converts its host
    /// language's values itself (and may run them again, after a busy retry) hands them
    /// over this way.
    pub fn query_values(&mut self, values: &[Value]) -> Result<Rows> {
        if self.parsed.is_template() {
            let values = self.parsed.bind(values)?;
            return self.query_bound(&values);
        }
        params::check_count(values.len(), &self.parsed.parsed)?;
        self.query_bound(values)
    }

    fn query_bound(&mut self, values: &[Value]) -> Result<Rows> {
        let as_of = self.as_of.as_ref();
        let streamed = if crate::sql::session::Session::may_stream(&self.parsed.parsed) {
            self.conn.open_cursor(&self.parsed.parsed, values, as_of)?
        } else {
            None
        };
        let (source, out, last_insert_rowid) = match streamed {
            Some((cursor, out)) => (RowSource::Streaming(Box::new(cursor)), out, None),
            None => {
                let (mut out, rowid) = self.conn.run_at(&self.parsed.parsed, values, as_of)?;
                let rows = std::mem::take(&mut out.rows);
                (RowSource::Collected(rows.into_iter()), out, Some(rowid))
            }
        };
        let columns = shared_vec(out.columns, &NO_COLUMNS);
        *crate::mvcc::lock(&self.columns) = Some(columns.clone());
        Ok(Rows {
            columns,
            temporal: shared_vec(out.temporal, &NO_TEMPORAL),
            source,
            current: None,
            column_types: out.column_types,
            changes: out.changes,
            returns_rows: out.returns_rows,
            last_insert_rowid,
        })
    }

    /// Runs the statement and maps each row.
    pub fn query_map<T, P: Params, F: FnMut(&Row<'_>) -> Result<T>>(
        &mut self,
        params: P,
        f: F,
    ) -> Result<MappedRows<F>> {
        Ok(self.query(params)?.mapped(f))
    }

    /// Runs the statement and maps its first row; fails with
    /// [`Error::QueryReturnedNoRows`] when there is none.
    pub fn query_row<T, P: Params, F: FnOnce(&Row<'_>) -> Result<T>>(
        &mut self,
        params: P,
        f: F,
    ) -> Result<T> {
        let mut rows = self.query(params)?;
        match rows.next()? {
            Some(r) => f(&r),
            None => Err(Error::QueryReturnedNoRows),
        }
    }

    /// True if the statement returns at least one row.
    pub fn exists<P: Params>(&mut self, params: P) -> Result<bool> {
        Ok(!self.outcome(params)?.rows.is_empty())
    }

    /// Number of placeholders.
    pub fn parameter_count(&self) -> usize {
        if self.parsed.is_template() {
            return 0;
        }
        self.parsed.parsed.param_count
    }

    /// The name of the placeholder at 1-based `index`, with its prefix (`:id`, `@id`,
    /// `$id`); `None` for `?` and `?N` placeholders and for an index out of range. Bindings
    /// that take named values from a mapping use it to put them in order.
    pub fn parameter_name(&self, index: usize) -> Option<&str> {
        if self.parsed.is_template() {
            return None;
        }
        index
            .checked_sub(1)
            .and_then(|i| self.parsed.parsed.param_names.get(i))
            .and_then(|n| n.as_deref())
    }

    /// Result column names (known after the first execution for statements whose columns
    /// depend on a time-travel point).
    pub fn column_names(&self) -> Vec<String> {
        if let Some(c) = crate::mvcc::lock(&self.columns).as_ref() {
            return c.as_ref().clone();
        }
        self.describe().unwrap_or_default()
    }

    /// Per result column, before the statement runs: the type group of a plain column
    /// reference (as [`Rows::column_types`] reports it), `None` for a computed column; empty
    /// for a statement without a result set or one whose columns depend on a parameter. A
    /// protocol server describes a prepared statement's result with it.
    pub fn column_decl_types(&self) -> Vec<Option<&'static str>> {
        let values = self.parsed.describe_values();
        Session::default()
            .describe_types(&self.conn.engine, &self.parsed.parsed, &values)
            .unwrap_or_default()
    }

    /// Number of result columns.
    pub fn column_count(&self) -> usize {
        self.column_names().len()
    }

    fn describe(&self) -> Option<Vec<String>> {
        // Plan (never run) with NULL parameters; time-travel points that need a parameter make
        // this fail, and the names are known after the first execution instead.
        let values = self.parsed.describe_values();
        Session::default()
            .describe(&self.conn.engine, &self.parsed.parsed, &values)
            .ok()
    }

    /// The SQL text.
    pub fn sql(&self) -> &str {
        self.parsed
            .text
            .as_deref()
            .unwrap_or(&self.parsed.parsed.text)
    }
}

/// Cancels a connection's running statement from another thread
/// ([`Connection::get_interrupt_handle`]).
#[derive(Debug, Clone)]
pub struct InterruptHandle {
    flag: Arc<std::sync::atomic::AtomicBool>,
}

impl InterruptHandle {
    /// Cancels the statement the connection is running, if any.
    pub fn interrupt(&self) {
        self.flag.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// An explicit transaction; rolls back on drop unless committed.
pub struct Transaction<'conn> {
    conn: &'conn Connection,
    done: bool,
}

impl Transaction<'_> {
    /// Commits.
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        self.conn.execute_batch("COMMIT")
    }

    /// Rolls back.
    pub fn rollback(mut self) -> Result<()> {
        self.done = true;
        self.conn.execute_batch("ROLLBACK")
    }
}

impl std::ops::Deref for Transaction<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}
