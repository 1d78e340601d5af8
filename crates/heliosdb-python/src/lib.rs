//! The native half of the `heliosdb_lite` Python package: a connection object that runs
//! statements on the engine with the GIL released and streams query results.
//!
//! The DB-API surface (`connect`, `Cursor`, `Row`, the exceptions) is Python, in
//! `python/heliosdb_lite`; it calls [`NativeConnection`].
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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// A result set still being read: the engine's row stream and which columns are dates.
struct Stream {
    rows: Rows,
    temporal: Vec<bool>,
}

thread_local! {
    /// This thread's open result streams, by number.
    static STREAMS: RefCell<HashMap<u64, Stream>> = RefCell::new(HashMap::new());
}

/// Numbers of streams closed from a thread that does not hold them.
static ORPHANS: Mutex<Vec<u64>> = Mutex::new(Vec::new());

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
    let mut orphans = lock(&ORPHANS);
    if !orphans.is_empty() {
        orphans.retain(|id| streams.remove(id).is_none());
    }
}

/// Why a statement run without the GIL failed.
enum Failure {
    Engine(Error),
    Programming(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Engine(e)
    }
}

impl Failure {
    fn into_py(self, py: Python<'_>) -> PyErr {
        match self {
            Failure::Engine(e) => to_py_err(py, e),
            Failure::Programming(m) => programming_error(py, m),
        }
    }
}

/// What one execution produced, before conversion to Python objects.
struct Executed {
    columns: Option<Vec<String>>,
    types: Vec<Option<&'static str>>,
    temporal: Vec<bool>,
    rows: Vec<Vec<Value>>,
    stream: Option<u64>,
    changes: u64,
    last_insert_rowid: Option<i64>,
}

/// Runs `f` again while it fails with `Busy` outside a transaction, until `timeout` has
/// passed since the first attempt (the connection's `timeout=`, like sqlite3's busy
/// timeout). The engine itself waits up to its own busy timeout (5 s) for the write lock
/// in each attempt, so a shorter `timeout` still waits that long once.
fn retry_busy<T>(
    conn: &Connection,
    timeout: Duration,
    mut f: impl FnMut() -> heliosdb_lite::Result<T>,
) -> heliosdb_lite::Result<T> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(200);
    loop {
        match f() {
            Err(Error::Busy(_)) if !conn.is_in_transaction() && start.elapsed() < timeout => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            r => return r,
        }
    }
}

/// Runs one statement and reads up to `batch` rows (all of a non-streaming result).
fn run(
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
    let mut out = Executed {
        columns: rows.returns_rows().then(|| rows.column_names().to_vec()),
        types: rows.column_types(),
        temporal: rows.temporal_columns(),
        rows: Vec::new(),
        stream: None,
        changes: rows.changes(),
        last_insert_rowid: rows.last_insert_rowid(),
    };
    if !rows.returns_rows() {
        return Ok(out);
    }
    while out.rows.len() < batch {
        match rows.next()? {
            Some(r) => out.rows.push(r.values().to_vec()),
            None => return Ok(out),
        }
    }
    let id = NEXT_STREAM.fetch_add(1, Ordering::Relaxed);
    let temporal = out.temporal.clone();
    STREAMS.with(|s| {
        let mut s = s.borrow_mut();
        free_orphans(&mut s);
        s.insert(id, Stream { rows, temporal });
    });
    out.stream = Some(id);
    Ok(out)
}

fn rows_to_py<'py>(
    py: Python<'py>,
    rows: &[Vec<Value>],
    temporal: &[bool],
    out: Output,
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for row in rows {
        let items = row
            .iter()
            .enumerate()
            .map(|(i, v)| convert::to_py(py, v, temporal.get(i).copied().unwrap_or(false), out))
            .collect::<PyResult<Vec<_>>>()?;
        list.append(PyTuple::new(py, items)?)?;
    }
    Ok(list)
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
    timeout: Duration,
}

impl NativeConnection {
    fn get(&self, py: Python<'_>) -> PyResult<Arc<Connection>> {
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
    /// The description tuple of `columns`, from the cache when `sql` last had the same.
    fn description(&self, py: Python<'_>, sql: &str, columns: Columns) -> PyResult<Py<PyTuple>> {
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
        Ok(NativeConnection {
            id: NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed),
            conn: RwLock::new(Some(Arc::new(conn))),
            descriptions: Mutex::new(HashMap::new()),
            timeout: Duration::from_secs_f64(timeout.min(1e9)),
        })
    }

    /// Runs one statement. Returns `(description, rows, stream, changes, lastrowid)`: the
    /// DB-API description, a 7-tuple per result column with its name and type code (the
    /// declared type group of a plain column reference, else `None`), or `None` without a
    /// result set; up to `batch` rows as tuples; the number
    /// of the stream holding the rest (`None` when all rows are there), rows changed, and
    /// the connection's last inserted rowid after the statement (`None` for a streamed
    /// query).
    #[pyo3(signature = (sql, params=None, as_of=None, batch=64, detect_types=true))]
    #[allow(clippy::type_complexity)]
    fn execute<'py>(
        &self,
        py: Python<'py>,
        sql: &str,
        params: Option<&Bound<'py, PyAny>>,
        as_of: Option<&Bound<'py, PyAny>>,
        batch: usize,
        detect_types: bool,
    ) -> PyResult<(
        Option<Py<PyTuple>>,
        Bound<'py, PyList>,
        Option<u64>,
        u64,
        Option<i64>,
    )> {
        let conn = self.get(py)?;
        let params = Params::from_py(params)?;
        let point = match as_of.filter(|a| !a.is_none()) {
            Some(a) => Some(convert::as_of(a)?),
            None => None,
        };
        let timeout = self.timeout;
        let ex = py
            .detach(|| run(&conn, timeout, sql, params, point, batch.max(1)))
            .map_err(|f| f.into_py(py))?;
        let rows = rows_to_py(py, &ex.rows, &ex.temporal, Output { detect_types })?;
        let description = match ex.columns {
            None => None,
            Some(names) => {
                let types = ex.types;
                let columns: Columns = names
                    .into_iter()
                    .enumerate()
                    .map(|(i, name)| (name, types.get(i).copied().flatten()))
                    .collect();
                Some(self.description(py, sql, columns)?)
            }
        };
        Ok((
            description,
            rows,
            ex.stream,
            ex.changes,
            ex.last_insert_rowid,
        ))
    }

    /// Runs one statement once for each parameter set of `seq_of_params`; returns the total
    /// of rows changed. Parameters are converted a thousand sets at a time, so a generator
    /// of millions of rows is never held whole.
    fn executemany(
        &self,
        py: Python<'_>,
        sql: &str,
        seq_of_params: &Bound<'_, PyAny>,
    ) -> PyResult<u64> {
        let conn = self.get(py)?;
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
                        let rows = retry_busy(&conn, timeout, || stmt.query_values(&values))?;
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

    /// Runs several `;`-separated statements without parameters.
    fn executescript(&self, py: Python<'_>, sql: &str) -> PyResult<()> {
        let conn = self.get(py)?;
        py.detach(|| conn.execute_batch(sql))
            .map_err(|e| to_py_err(py, e))
    }

    /// Up to `n` more rows of stream `stream`, and whether it is now exhausted (then it is
    /// freed).
    fn fetch<'py>(
        &self,
        py: Python<'py>,
        stream: u64,
        n: usize,
        detect_types: bool,
    ) -> PyResult<(Bound<'py, PyList>, bool)> {
        let r = py.detach(|| {
            STREAMS.with(|s| {
                let mut s = s.borrow_mut();
                free_orphans(&mut s);
                let Some(st) = s.get_mut(&stream) else {
                    return Err(Failure::Programming(
                        "this cursor's result set was opened in another thread; a cursor is \
                         read in the thread that executed it (threadsafety 2: share \
                         connections, not cursors)"
                            .into(),
                    ));
                };
                let mut rows = Vec::new();
                let mut done = false;
                while rows.len() < n {
                    match st.rows.next() {
                        Ok(Some(r)) => rows.push(r.values().to_vec()),
                        Ok(None) => {
                            done = true;
                            break;
                        }
                        Err(e) => {
                            s.remove(&stream);
                            return Err(Failure::Engine(e));
                        }
                    }
                }
                let temporal = st.temporal.clone();
                if done {
                    s.remove(&stream);
                }
                Ok((rows, temporal, done))
            })
        });
        let (rows, temporal, done) = r.map_err(|f| f.into_py(py))?;
        Ok((
            rows_to_py(py, &rows, &temporal, Output { detect_types })?,
            done,
        ))
    }

    /// Frees stream `stream` (from any thread).
    #[staticmethod]
    fn close_stream(stream: u64) {
        // `try_with`: a cursor can be dropped while its thread is being torn down.
        let here = STREAMS
            .try_with(|s| s.borrow_mut().remove(&stream).is_some())
            .unwrap_or(false);
        if !here {
            lock(&ORPHANS).push(stream);
        }
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
    m.add_function(wrap_pyfunction!(_set_test_clock, m)?)?;
    m.add_function(wrap_pyfunction!(_advance_test_clock, m)?)?;
    m.add("ENGINE_VERSION", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
