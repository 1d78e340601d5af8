//! The native half of the `heliosdb_lite` Python package: a connection object that runs
//! statements on the engine with the GIL released and streams query results.
//!
//! The DB-API connection, `Row` and the exceptions are Python, in `python/heliosdb_lite`;
//! they call [`NativeConnection`]. The cursor is native ([`cursor::Cursor`]), subclassed in
//! Python only for its documentation: it is on every statement's path.
//!
//! **Threads.** The engine's `Connection` is `Send + Sync`, so one native connection serves
//! any number of Python threads; statements from several threads run one at a time on the
//! connection's session, and queries outside a transaction run side by side. A streaming
//! result (`heliosdb_lite::Rows`) is not `Send` (it owns the running plan, which borrows
//! itself), so it never leaves the thread that opened it: it is kept in that thread's
//! [`STREAMS`] table under a number, and the Python cursor holds only the number. A cursor is
//! therefore read from the thread that ran its query (DB-API `threadsafety = 2`: threads
//! share connections, not cursors). A cursor dropped on another thread leaves its number in
//! [`ORPHANS`]; the owning thread frees the stream the next time it touches its table, or
//! when it ends.

mod convert;
mod cursor;
mod errors;

use convert::{Output, Params};
use errors::{programming_error, raise, to_py_err};
use heliosdb_lite::time::ManualClock;
use heliosdb_lite::types::Value;
use heliosdb_lite::{AsOf, Connection, Error, FunctionFlags, Rows};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// The statements an implicit transaction can begin with (one per `isolation_level`).
const BEGIN_STATEMENTS: [&str; 4] = [
    "BEGIN",
    "BEGIN DEFERRED",
    "BEGIN IMMEDIATE",
    "BEGIN EXCLUSIVE",
];

/// A result set still being read: the engine's row stream.
struct Stream {
    rows: Rows,
}

thread_local! {
    /// This thread's open result streams, by number.
    static STREAMS: RefCell<HashMap<u64, Stream>> = RefCell::new(HashMap::new());
}

/// Numbers of streams closed from a thread that does not hold them.
static ORPHANS: Mutex<Vec<u64>> = Mutex::new(Vec::new());

/// Whether [`ORPHANS`] may hold anything: every statement checks, so without a lock.
static HAS_ORPHANS: AtomicBool = AtomicBool::new(false);

static NEXT_STREAM: AtomicU64 = AtomicU64::new(1);

static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The connections whose user-defined functions this thread is running now (nested
    /// calls stack). Such a connection is busy with the statement that called the function.
    static CALLING: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Marks this thread as running a function of connection `id` until dropped.
struct Calling(u64);

impl Calling {
    fn enter(id: u64) -> Self {
        CALLING.with(|c| c.borrow_mut().push(id));
        Calling(id)
    }
}

impl Drop for Calling {
    fn drop(&mut self) {
        CALLING.with(|c| {
            let mut c = c.borrow_mut();
            if let Some(i) = c.iter().rposition(|&x| x == self.0) {
                c.remove(i);
            }
        });
    }
}

/// Calls the Python function `func` with `args` for the engine; an exception becomes the
/// function's error (its type and message).
fn call_python(id: u64, func: &Py<PyAny>, args: &[Value]) -> heliosdb_lite::Result<Value> {
    Python::attach(|py| {
        let _calling = Calling::enter(id);
        let out = Output {
            detect_types: false,
        };
        let result = args
            .iter()
            .map(|v| convert::to_py(py, v, false, out))
            .collect::<PyResult<Vec<_>>>()
            .and_then(|items| func.bind(py).call1(PyTuple::new(py, items)?))
            .and_then(|r| convert::to_value(&r, &|| "the function's result".to_string()));
        result.map_err(|e| Error::invalid(e.to_string()))
    })
}

/// The clock for connections opened from now on, set by tests only
/// ([`_set_test_clock`]); `None` is the system clock.
static TEST_CLOCK: Mutex<Option<ManualClock>> = Mutex::new(None);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Frees this thread's streams that other threads closed.
fn free_orphans(streams: &mut HashMap<u64, Stream>) {
    if !HAS_ORPHANS.load(Ordering::Acquire) {
        return;
    }
    let mut orphans = lock(&ORPHANS);
    orphans.retain(|id| streams.remove(id).is_none());
    HAS_ORPHANS.store(!orphans.is_empty(), Ordering::Release);
}

/// Why a statement run without the GIL failed.
pub(crate) enum Failure {
    Engine(Error),
    Programming(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Engine(e)
    }
}

impl Failure {
    pub(crate) fn into_py(self, py: Python<'_>) -> PyErr {
        match self {
            Failure::Engine(e) => to_py_err(py, e),
            Failure::Programming(m) => programming_error(py, m),
        }
    }
}

/// What one execution produced, before conversion to Python objects.
pub(crate) struct Executed {
    /// The result's column names; `None` for a statement without a result set.
    pub(crate) columns: Option<Vec<String>>,
    /// Each result column's type code (see `Rows::column_types`).
    pub(crate) types: Vec<Option<&'static str>>,
    /// Which result columns are dates.
    pub(crate) temporal: Vec<bool>,
    /// The first rows.
    pub(crate) rows: Vec<Vec<Value>>,
    /// The stream holding the rest of the rows.
    pub(crate) stream: Option<u64>,
    /// Rows changed.
    pub(crate) changes: u64,
    /// The connection's last inserted rowid after the statement.
    pub(crate) last_insert_rowid: Option<i64>,
}

/// Runs `f` again while it fails with `Busy` outside a transaction, until `timeout` has
/// passed since the first attempt failed (the connection's `timeout=`, like sqlite3's busy
/// timeout). The engine waits for the write lock up to the same `timeout` (the
/// connection's busy timeout) in each attempt; the retries cover the other `Busy` cases
/// (a deferred transaction that read before another committed).
pub(crate) fn retry_busy<T>(
    conn: &Connection,
    timeout: Duration,
    mut f: impl FnMut() -> heliosdb_lite::Result<T>,
) -> heliosdb_lite::Result<T> {
    // Read the clock only once busy: most statements never are.
    let mut start = None;
    let mut pause = Duration::from_micros(200);
    loop {
        match f() {
            Err(Error::Busy(_))
                if !conn.is_in_transaction()
                    && start.get_or_insert_with(Instant::now).elapsed() < timeout =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            r => return r,
        }
    }
}

/// Runs one statement and reads up to `batch` rows (all of a non-streaming result).
pub(crate) fn run(
    conn: &Connection,
    timeout: Duration,
    sql: &str,
    params: Params,
    point: Option<AsOf>,
    batch: usize,
) -> Result<Executed, Failure> {
    // Results other threads closed are freed by their own thread: here, at its next
    // statement, so that their snapshots do not hold back garbage collection for long.
    let _ = STREAMS.try_with(|s| free_orphans(&mut s.borrow_mut()));
    let mut stmt = conn.prepare_cached(sql)?;
    let values = params.for_statement(&stmt).map_err(Failure::Programming)?;
    stmt.set_as_of(point);
    let mut rows = retry_busy(conn, timeout, || stmt.query_values(&values))?;
    // A statement without rows (an INSERT in a loop) needs no column names or types.
    let returns_rows = rows.returns_rows();
    let mut out = Executed {
        columns: returns_rows.then(|| rows.column_names().to_vec()),
        types: if returns_rows {
            rows.column_types()
        } else {
            Vec::new()
        },
        temporal: if returns_rows {
            rows.temporal_columns()
        } else {
            Vec::new()
        },
        rows: Vec::new(),
        stream: None,
        changes: rows.changes(),
        last_insert_rowid: rows.last_insert_rowid(),
    };
    if !returns_rows {
        return Ok(out);
    }
    while out.rows.len() < batch {
        match rows.next()? {
            Some(r) => out.rows.push(r.values().to_vec()),
            None => return Ok(out),
        }
    }
    let id = NEXT_STREAM.fetch_add(1, Ordering::Relaxed);
    STREAMS.with(|s| {
        let mut s = s.borrow_mut();
        free_orphans(&mut s);
        s.insert(id, Stream { rows });
    });
    out.stream = Some(id);
    Ok(out)
}

/// Up to `n` more rows of stream `stream`, and whether it is now exhausted (then it is
/// freed). Runs without the GIL.
pub(crate) fn fetch_rows(stream: u64, n: usize) -> Result<(Vec<Vec<Value>>, bool), Failure> {
    STREAMS.with(|s| {
        let mut s = s.borrow_mut();
        free_orphans(&mut s);
        let Some(st) = s.get_mut(&stream) else {
            return Err(Failure::Programming(
                "this cursor's result set was opened in another thread; a cursor is read in \
                 the thread that executed it (threadsafety 2: share connections, not cursors)"
                    .into(),
            ));
        };
        let mut rows = Vec::new();
        while rows.len() < n {
            match st.rows.next() {
                Ok(Some(r)) => rows.push(r.values().to_vec()),
                Ok(None) => {
                    s.remove(&stream);
                    return Ok((rows, true));
                }
                Err(e) => {
                    s.remove(&stream);
                    return Err(Failure::Engine(e));
                }
            }
        }
        Ok((rows, false))
    })
}

/// Frees stream `stream` (from any thread).
pub(crate) fn close_stream(stream: u64) {
    // `try_with`: a cursor can be dropped while its thread is being torn down.
    let here = STREAMS
        .try_with(|s| s.borrow_mut().remove(&stream).is_some())
        .unwrap_or(false);
    if !here {
        let mut orphans = lock(&ORPHANS);
        orphans.push(stream);
        // Under the lock, as `free_orphans` sets it: the flag is never false while the
        // list holds a number.
        HAS_ORPHANS.store(true, Ordering::Release);
    }
}

/// Result columns as the engine names and types them.
type Columns = Vec<(String, Option<&'static str>)>;

/// One connection to a database (see the module documentation for threads).
#[pyclass(module = "heliosdb_lite._native", frozen)]
struct NativeConnection {
    /// This connection's number (see [`CALLING`]).
    id: u64,
    /// `None` once closed.
    conn: RwLock<Option<Arc<Connection>>>,
    /// The DB-API `description` last built for each statement text, reused while its
    /// columns stay the same (most queries run many times; building it is a good part of
    /// a point query's cost).
    descriptions: Mutex<HashMap<String, (Columns, Py<PyTuple>)>>,
    /// How long a statement outside a transaction retries while the database is busy.
    pub(crate) timeout: Duration,
    /// The Python connection's mode, kept here so that a cursor reads it without Python
    /// attribute lookups: autocommit, the BEGIN of an implicit transaction, and whether
    /// date columns become `datetime` objects (see `set_mode`).
    autocommit: AtomicBool,
    /// Index into [`BEGIN_STATEMENTS`].
    begin: AtomicU8,
    detect_types: AtomicBool,
}

impl NativeConnection {
    /// The engine connection, or a `ProgrammingError` once closed (or when a user-defined
    /// function of this connection calls it).
    pub(crate) fn get(&self, py: Python<'_>) -> PyResult<Arc<Connection>> {
        if CALLING.with(|c| c.borrow().contains(&self.id)) {
            return Err(programming_error(
                py,
                "a user-defined function cannot use the connection that calls it",
            ));
        }
        self.conn
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| {
                raise(
                    py,
                    "ProgrammingError",
                    "cannot operate on a closed database",
                )
            })
    }
}

impl NativeConnection {
    /// Runs `sql` once for each parameter set of `seq_of_params`; returns the total of rows
    /// changed. Parameters are converted a thousand sets at a time, so a generator of
    /// millions of rows is never held whole.
    pub(crate) fn run_many(
        &self,
        py: Python<'_>,
        conn: &Connection,
        sql: &str,
        seq_of_params: &Bound<'_, PyAny>,
    ) -> PyResult<u64> {
        let timeout = self.timeout;
        let mut total = 0u64;
        let mut it = seq_of_params.try_iter()?;
        loop {
            let mut chunk = Vec::new();
            for p in it.by_ref().take(1000) {
                chunk.push(Params::from_py(Some(&p?))?);
            }
            if chunk.is_empty() {
                return Ok(total);
            }
            let changed = py
                .detach(|| -> Result<u64, Failure> {
                    let mut stmt = conn.prepare_cached(sql)?;
                    let mut n = 0;
                    for params in chunk {
                        let values = params.for_statement(&stmt).map_err(Failure::Programming)?;
                        let rows = retry_busy(conn, timeout, || stmt.query_values(&values))?;
                        if rows.returns_rows() {
                            return Err(Failure::Programming(
                                "executemany() can only run statements that return no rows \
                                 (INSERT, UPDATE, DELETE)"
                                    .into(),
                            ));
                        }
                        n += rows.changes();
                    }
                    Ok(n)
                })
                .map_err(|f| f.into_py(py))?;
            total += changed;
        }
    }

    /// The statement that opens the implicit transaction a statement needs (`write`: it is
    /// an INSERT, UPDATE, DELETE or REPLACE) when the connection is not in autocommit mode;
    /// read on every statement, so without a lock or a copy.
    pub(crate) fn implicit_begin(&self, write: bool) -> Option<&'static str> {
        let index = usize::from(self.begin.load(Ordering::Relaxed));
        (write && !self.autocommit.load(Ordering::Relaxed)).then(|| BEGIN_STATEMENTS[index])
    }

    /// Whether date columns become `datetime` objects.
    pub(crate) fn detect_types(&self) -> bool {
        self.detect_types.load(Ordering::Relaxed)
    }

    /// The description tuple of `columns`, from the cache when `sql` last had the same.
    pub(crate) fn description(
        &self,
        py: Python<'_>,
        sql: &str,
        columns: Columns,
    ) -> PyResult<Py<PyTuple>> {
        let mut cache = lock(&self.descriptions);
        if let Some((c, d)) = cache.get(sql) {
            if *c == columns {
                return Ok(d.clone_ref(py));
            }
        }
        let items = columns
            .iter()
            .map(|(name, t)| {
                (
                    name.as_str(),
                    *t,
                    py.None(),
                    py.None(),
                    py.None(),
                    py.None(),
                    py.None(),
                )
            })
            .map(|t| t.into_pyobject(py))
            .collect::<PyResult<Vec<_>>>()?;
        let d = PyTuple::new(py, items)?.unbind();
        // Bounded: statements built with literals inside are all different.
        if cache.len() >= 256 {
            cache.clear();
        }
        cache.insert(sql.to_owned(), (columns, d.clone_ref(py)));
        Ok(d)
    }
}

#[pymethods]
impl NativeConnection {
    /// Opens the database `path` (a directory, created if needed, or `:memory:`) with
    /// `config` (a dict shaped like `heliosdb.toml`, or the path of such a file).
    #[new]
    #[pyo3(signature = (path=None, config=None, read_only=false, timeout=5.0))]
    fn new(
        py: Python<'_>,
        path: Option<String>,
        config: Option<&Bound<'_, PyAny>>,
        read_only: bool,
        timeout: f64,
    ) -> PyResult<Self> {
        let mut cfg = convert::config(py, path, config)?;
        if let Some(clock) = lock(&TEST_CLOCK).clone() {
            cfg.clock = Some(Arc::new(clock));
        }
        if !(timeout.is_finite() && timeout >= 0.0) {
            return Err(programming_error(py, "timeout must be a number >= 0"));
        }
        let conn = py
            .detach(|| {
                if read_only {
                    Connection::open_read_only(cfg)
                } else {
                    Connection::open(cfg)
                }
            })
            .map_err(|e| to_py_err(py, e))?;
        let timeout = Duration::from_secs_f64(timeout.min(1e9));
        // The engine waits for another connection's write lock no longer than `timeout`.
        conn.busy_timeout(timeout).map_err(|e| to_py_err(py, e))?;
        Ok(NativeConnection {
            id: NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed),
            conn: RwLock::new(Some(Arc::new(conn))),
            descriptions: Mutex::new(HashMap::new()),
            timeout,
            autocommit: AtomicBool::new(true),
            begin: AtomicU8::new(0),
            detect_types: AtomicBool::new(true),
        })
    }

    /// Runs a statement that returns no rows and takes no parameters (the connection's
    /// COMMIT and ROLLBACK).
    fn execute(&self, py: Python<'_>, sql: &str) -> PyResult<()> {
        let conn = self.get(py)?;
        py.detach(|| conn.execute_batch(sql))
            .map_err(|e| to_py_err(py, e))
    }

    /// Sets the Python connection's mode, which its cursors read here: `autocommit`, the
    /// statement that opens an implicit transaction (`BEGIN`, `BEGIN IMMEDIATE`...) and
    /// whether DATE / TIMESTAMP columns become `datetime` objects.
    fn set_mode(
        &self,
        py: Python<'_>,
        autocommit: bool,
        begin: &str,
        detect_types: bool,
    ) -> PyResult<()> {
        let Some(index) = BEGIN_STATEMENTS.iter().position(|b| *b == begin) else {
            return Err(programming_error(
                py,
                format!("unknown BEGIN statement {begin:?}"),
            ));
        };
        self.autocommit.store(autocommit, Ordering::Relaxed);
        self.begin.store(index as u8, Ordering::Relaxed);
        self.detect_types.store(detect_types, Ordering::Relaxed);
        Ok(())
    }

    /// True while an explicit transaction is open.
    #[getter]
    fn in_transaction(&self, py: Python<'_>) -> PyResult<bool> {
        let conn = self.get(py)?;
        // Without the GIL: the session may be busy with a statement calling a Python
        // function, which needs the GIL to finish.
        Ok(py.detach(|| conn.is_in_transaction()))
    }

    /// Rows inserted, updated or deleted since the connection was opened.
    #[getter]
    fn total_changes(&self, py: Python<'_>) -> PyResult<u64> {
        let conn = self.get(py)?;
        Ok(py.detach(|| conn.total_changes()))
    }

    /// Defines the SQL function `name` with `narg` arguments (-1: any) computed by the
    /// Python callable `func`, or removes that definition when `func` is `None`.
    #[pyo3(signature = (name, narg, func, deterministic=false))]
    fn create_function(
        &self,
        py: Python<'_>,
        name: &str,
        narg: i32,
        func: Option<Py<PyAny>>,
        deterministic: bool,
    ) -> PyResult<()> {
        let conn = self.get(py)?;
        let Some(func) = func else {
            return py
                .detach(|| conn.remove_function(name, narg))
                .map(|_| ())
                .map_err(|e| to_py_err(py, e));
        };
        if !func.bind(py).is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "func must be a callable or None",
            ));
        }
        let flags = if deterministic {
            FunctionFlags::DETERMINISTIC
        } else {
            FunctionFlags::NONE
        };
        let id = self.id;
        py.detach(|| {
            conn.create_scalar_function(name, narg, flags, move |args| call_python(id, &func, args))
        })
        .map_err(|e| to_py_err(py, e))
    }

    /// The newest commit sequence number.
    fn current_scn(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(self.get(py)?.mvcc().latest_scn())
    }

    /// Transaction id of the last write transaction this connection committed.
    fn last_txn_id(&self, py: Python<'_>) -> PyResult<Option<u64>> {
        let conn = self.get(py)?;
        Ok(py.detach(|| conn.last_txn_id()))
    }

    /// Retained snapshots as `(scn, txn_id, committed_at)`, oldest first, committed after
    /// `since_scn` / `since_us` (microseconds since the epoch), at most `limit`.
    #[pyo3(signature = (since_scn=None, since_us=None, limit=None))]
    fn snapshots<'py>(
        &self,
        py: Python<'py>,
        since_scn: Option<u64>,
        since_us: Option<i64>,
        limit: Option<usize>,
    ) -> PyResult<Bound<'py, PyList>> {
        let conn = self.get(py)?;
        let points = py.detach(|| conn.mvcc().snapshots());
        let list = PyList::empty(py);
        let wanted = points
            .iter()
            .filter(|p| p.scn > 0)
            .filter(|p| since_scn.is_none_or(|s| p.scn > s))
            .filter(|p| since_us.is_none_or(|t| p.commit_time_us > t))
            .take(limit.unwrap_or(usize::MAX));
        for p in wanted {
            let t = convert::micros_to_py(py, p.commit_time_us)?;
            list.append((p.scn, p.txid, t))?;
        }
        Ok(list)
    }

    /// Runs history garbage collection now; returns what it removed.
    fn gc<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let conn = self.get(py)?;
        let r = py.detach(|| conn.gc()).map_err(|e| to_py_err(py, e))?;
        let d = PyDict::new(py);
        d.set_item("snapshots_removed", r.snapshots_removed)?;
        d.set_item("versions_removed", r.versions_removed)?;
        d.set_item("bytes_removed", r.bytes_removed)?;
        d.set_item("oldest_scn", r.new_horizon)?;
        d.set_item("elapsed_ms", r.elapsed_us as f64 / 1000.0)?;
        Ok(d)
    }

    /// Copies the whole database, history included, into the new database directory
    /// `target` (see `Connection::backup_to`); returns `(scn, entries, bytes)`: the newest
    /// commit in the copy, and the storage entries and bytes copied.
    fn backup(&self, py: Python<'_>, target: std::path::PathBuf) -> PyResult<(u64, u64, u64)> {
        let conn = self.get(py)?;
        let r = py
            .detach(|| conn.backup_to(&target))
            .map_err(|e| to_py_err(py, e))?;
        Ok((r.scn, r.entries, r.bytes))
    }

    /// Cancels the statement running on this connection (from any thread).
    fn interrupt(&self, py: Python<'_>) -> PyResult<()> {
        self.get(py)?.interrupt();
        Ok(())
    }

    /// Closes the connection: an open transaction is rolled back, and the database is
    /// released once no other connection of this process uses it. Closing twice is allowed.
    fn close(&self, py: Python<'_>) {
        let conn = self.conn.write().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(c) = conn {
            py.detach(move || {
                if c.is_in_transaction() {
                    let _ = c.execute_batch("ROLLBACK");
                }
                drop(c);
            });
        }
    }
}

/// For tests only: connections opened from now on stamp commits and read `now()` from a
/// clock fixed at `start` (UTC text such as `2025-11-30 09:00:00`); `None` restores the
/// system clock. Commit times still increase by at least a microsecond per commit. Never
/// use it in an application: history would carry made-up times.
#[pyfunction]
#[pyo3(signature = (start))]
fn _set_test_clock(py: Python<'_>, start: Option<&str>) -> PyResult<()> {
    let clock = match start {
        Some(s) => Some(ManualClock::at(s).map_err(|e| to_py_err(py, e))?),
        None => None,
    };
    *lock(&TEST_CLOCK) = clock;
    Ok(())
}

/// For tests only: moves the clock set with [`_set_test_clock`] forward by `seconds`.
#[pyfunction]
fn _advance_test_clock(py: Python<'_>, seconds: f64) -> PyResult<()> {
    match lock(&TEST_CLOCK).as_ref() {
        Some(c) => {
            c.advance((seconds * 1e6) as i64);
            Ok(())
        }
        None => Err(programming_error(py, "no test clock is set")),
    }
}

/// The native module `heliosdb_lite._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeConnection>()?;
    m.add_class::<cursor::Cursor>()?;
    m.add_function(wrap_pyfunction!(_set_test_clock, m)?)?;
    m.add_function(wrap_pyfunction!(_advance_test_clock, m)?)?;
    m.add("ENGINE_VERSION", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
