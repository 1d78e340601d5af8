//! The DB-API cursor, native: `heliosdb_lite.Cursor` is a Python subclass of [`Cursor`]
//! that adds only its documentation.
//!
//! Why native: a statement run through a Python-level `execute` paid about 0.3 µs of
//! interpreter work (the method call, reading the connection's mode, unpacking the native
//! result, setting five attributes) on top of the native call, as much as the engine's own
//! point lookup. Here one native call checks the cursor and the connection, opens the
//! implicit transaction, runs the statement with the GIL released and keeps the first rows,
//! and `fetchone` hands them out without entering Python.
//!
//! Rows: up to [`FIRST_BATCH`] rows are read by `execute` itself (a point query then needs no
//! stream); the rest stay in the engine's row stream (see the crate documentation for why a
//! stream is kept in its thread's table under a number) and are read [`REFILL`] at a time.

use crate::convert::{self, Output, Params};
use crate::errors::{programming_error, to_py_err};
use crate::{close_stream, fetch_rows, retry_busy, run, NativeConnection};
use heliosdb_lite::types::Value;
use heliosdb_lite::{Connection, Error};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use std::sync::Arc;
use std::time::Duration;

/// Rows `execute` reads before it returns: a query with fewer needs no stream.
const FIRST_BATCH: usize = 64;
/// Rows a refill of the buffer reads from the stream.
const REFILL: usize = 512;
/// Rows `fetchall` reads from the stream at a time.
const FETCHALL_CHUNK: usize = 4096;

/// What a statement is, from its first keyword: writes open the implicit transaction of a
/// connection that is not in autocommit mode, and report `rowcount`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// INSERT or REPLACE (also sets `lastrowid`).
    Insert,
    /// UPDATE or DELETE.
    Change,
    /// Anything else.
    Other,
}

impl Kind {
    fn is_write(self) -> bool {
        self != Kind::Other
    }
}

/// The kind of `sql` from its first word after blanks and comments.
fn kind_of(sql: &str) -> Kind {
    let b = sql.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b[i..].starts_with(b"--") {
            i = b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |p| i + p + 1);
        } else if b[i..].starts_with(b"/*") {
            match b[i + 2..].windows(2).position(|w| w == b"*/") {
                Some(p) => i += 2 + p + 2,
                // An unterminated comment: the engine reports the error.
                None => return Kind::Other,
            }
        } else {
            break;
        }
    }
    let word_end = b[i..]
        .iter()
        .position(|c| !c.is_ascii_alphabetic())
        .map_or(b.len(), |p| i + p);
    let word = &b[i..word_end];
    if word.eq_ignore_ascii_case(b"INSERT") || word.eq_ignore_ascii_case(b"REPLACE") {
        Kind::Insert
    } else if word.eq_ignore_ascii_case(b"UPDATE") || word.eq_ignore_ascii_case(b"DELETE") {
        Kind::Change
    } else {
        Kind::Other
    }
}

/// A DB-API cursor (subclassed in Python as `heliosdb_lite.Cursor`).
#[pyclass(module = "heliosdb_lite._native", subclass, weakref)]
pub struct Cursor {
    /// The Python `Connection` this cursor belongs to.
    #[pyo3(get)]
    connection: Py<PyAny>,
    native: Py<NativeConnection>,
    /// Rows `fetchmany()` returns by default.
    #[pyo3(get, set)]
    arraysize: isize,
    /// Seven-item tuples, one per result column (name first); `None` without a result set.
    #[pyo3(get)]
    description: Option<Py<PyTuple>>,
    /// Rows the last INSERT, UPDATE, DELETE or `executemany` changed; -1 otherwise.
    #[pyo3(get)]
    rowcount: i64,
    /// Rowid of the last row inserted by `execute` (INSERT or REPLACE) on this cursor.
    #[pyo3(get)]
    lastrowid: Option<i64>,
    /// Called as `row_factory(cursor, row_tuple)` for each row, if set.
    #[pyo3(get, set)]
    row_factory: Option<Py<PyAny>>,
    /// Rows read from the engine and not yet fetched (fetched ones are replaced by `None`,
    /// so that they are freed as the caller drops them).
    rows: Vec<Py<PyAny>>,
    /// The next row of `rows` to hand out.
    pos: usize,
    /// The number of the engine stream holding the rest of the result.
    stream: Option<u64>,
    /// Which result columns are dates (for rows read later from the stream).
    temporal: Vec<bool>,
    closed: bool,
    /// The name index `Row` uses, built at its first use after each execute.
    names: Option<Py<PyDict>>,
    /// The last statement text `execute` ran, with the Python string it came from and its
    /// kind: a loop that passes the same string object again (the usual case) skips its
    /// conversion to UTF-8 (a bytes object and a copy under the stable ABI) and classification.
    /// Holding a reference keeps the object alive, so its identity cannot be reused.
    last_sql: Option<(Py<PyString>, Arc<str>, Kind)>,
}

impl Drop for Cursor {
    fn drop(&mut self) {
        if let Some(s) = self.stream.take() {
            close_stream(s);
        }
    }
}

/// Borrows the cursor for a method; a second use while one runs (another thread, or a
/// user-defined function called by the statement) is a `ProgrammingError`.
fn borrow<'py>(slf: &Bound<'py, Cursor>) -> PyResult<PyRefMut<'py, Cursor>> {
    slf.try_borrow_mut().map_err(|_| {
        programming_error(
            slf.py(),
            "recursive use of a cursor: it is busy with another call (a cursor belongs to one \
             thread at a time)",
        )
    })
}

impl Cursor {
    /// The connection's engine, or a `ProgrammingError` when this cursor or its connection
    /// is closed.
    fn check(&self, py: Python<'_>) -> PyResult<Arc<Connection>> {
        if self.closed {
            return Err(programming_error(py, "cannot operate on a closed cursor"));
        }
        self.native.get().get(py)
    }

    /// The text and kind of `sql`, reused when it is the string object of the last call.
    fn statement_text(&mut self, sql: &Bound<'_, PyString>) -> PyResult<(Arc<str>, Kind)> {
        if let Some((obj, text, kind)) = &self.last_sql {
            if obj.is(sql) {
                return Ok((text.clone(), *kind));
            }
        }
        let text: Arc<str> = Arc::from(&*sql.to_cow()?);
        let kind = kind_of(&text);
        self.last_sql = Some((sql.clone().unbind(), text.clone(), kind));
        Ok((text, kind))
    }

    /// Frees the current result.
    fn end_result(&mut self) {
        if let Some(s) = self.stream.take() {
            close_stream(s);
        }
        self.rows.clear();
        self.pos = 0;
        self.names = None;
    }

    /// Fetching needs a result set.
    fn need_result(&self, py: Python<'_>) -> PyResult<()> {
        self.check(py)?;
        if self.description.is_none() {
            return Err(programming_error(
                py,
                "no result set: execute a query (SELECT, RETURNING, PRAGMA...) before fetching",
            ));
        }
        Ok(())
    }

    /// Reads up to `n` more rows from the stream into the buffer; false at the end.
    fn refill(&mut self, py: Python<'_>, n: usize) -> PyResult<bool> {
        let Some(stream) = self.stream else {
            return Ok(false);
        };
        let detect_types = self.native.get().detect_types();
        let (rows, done) = py
            .detach(|| fetch_rows(stream, n))
            .map_err(|f| f.into_py(py))?;
        if done {
            self.stream = None;
        }
        self.rows = tuples(py, &rows, &self.temporal, Output { detect_types })?;
        self.pos = 0;
        Ok(!self.rows.is_empty())
    }

    /// The next buffered row, refilling the buffer from the stream when it is used up.
    fn next_row(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        if self.pos >= self.rows.len() {
            self.need_result(py)?;
            if !self.refill(py, REFILL)? {
                return Ok(None);
            }
        }
        let row = std::mem::replace(&mut self.rows[self.pos], py.None());
        self.pos += 1;
        Ok(Some(row))
    }

    /// Returns rows taken from the buffer in front of the ones still in it, for a fetch that
    /// failed part way (another thread's cursor, an interrupt, an engine error): the next
    /// fetch hands them out again instead of losing them.
    fn put_back(&mut self, mut taken: Vec<Py<PyAny>>) {
        taken.extend(self.rows.drain(self.pos..));
        self.rows = taken;
        self.pos = 0;
    }

    /// The rows not fetched yet from the buffer, which is emptied.
    fn take_buffered(&mut self, py: Python<'_>, out: &mut Vec<Py<PyAny>>, max: usize) {
        let end = self.rows.len().min(self.pos.saturating_add(max));
        for row in &mut self.rows[self.pos..end] {
            out.push(std::mem::replace(row, py.None()));
        }
        self.pos = end;
    }
}

/// The start of every statement a cursor runs: the cursor borrowed, checked and its last
/// result freed, the engine connection, and the native connection (for its mode).
fn start_statement<'py>(
    slf: &Bound<'py, Cursor>,
) -> PyResult<(PyRefMut<'py, Cursor>, Arc<Connection>, Py<NativeConnection>)> {
    let py = slf.py();
    let mut this = borrow(slf)?;
    let conn = this.check(py)?;
    this.end_result();
    this.description = None;
    this.rowcount = -1;
    let native = this.native.clone_ref(py);
    Ok((this, conn, native))
}

/// Runs `begin` (the implicit transaction's BEGIN, see `NativeConnection::implicit_begin`)
/// unless a transaction is open. Runs without the GIL.
fn open_implicit(conn: &Connection, timeout: Duration, begin: Option<&str>) -> Result<(), Error> {
    match begin {
        Some(begin) if !conn.is_in_transaction() => {
            retry_busy(conn, timeout, || conn.execute_batch(begin))
        }
        _ => Ok(()),
    }
}

/// Result rows as Python tuples.
fn tuples(
    py: Python<'_>,
    rows: &[Vec<Value>],
    temporal: &[bool],
    out: Output,
) -> PyResult<Vec<Py<PyAny>>> {
    rows.iter()
        .map(|row| {
            let items = row
                .iter()
                .enumerate()
                .map(|(i, v)| convert::to_py(py, v, temporal.get(i).copied().unwrap_or(false), out))
                .collect::<PyResult<Vec<_>>>()?;
            Ok(PyTuple::new(py, items)?.into_any().unbind())
        })
        .collect()
}

/// Applies the cursor's row factory (if any) to `rows`, as a list.
fn with_factory<'py>(
    slf: &Bound<'py, Cursor>,
    factory: Option<Py<PyAny>>,
    rows: Vec<Py<PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let py = slf.py();
    match factory {
        None => PyList::new(py, rows),
        Some(f) => {
            let f = f.bind(py);
            let made = rows
                .into_iter()
                .map(|r| f.call1((slf, r)))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, made)
        }
    }
}

#[pymethods]
impl Cursor {
    /// A cursor of `connection` (a `heliosdb_lite.Connection`).
    #[new]
    #[pyo3(signature = (connection, *_args, **_kwargs))]
    fn new(
        py: Python<'_>,
        connection: Bound<'_, PyAny>,
        _args: &Bound<'_, PyTuple>,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let not_a_connection = || {
            pyo3::exceptions::PyTypeError::new_err(format!(
                "a cursor needs a heliosdb_lite.Connection, not {}",
                connection
                    .get_type()
                    .name()
                    .map_or("?".into(), |n| n.to_string())
            ))
        };
        let native = connection
            .getattr("_native")
            .map_err(|_| not_a_connection())?;
        if native.is_none() {
            return Err(programming_error(py, "cannot operate on a closed database"));
        }
        let native: Py<NativeConnection> = native.extract().map_err(|_| not_a_connection())?;
        let row_factory = connection.getattr("row_factory")?;
        Ok(Cursor {
            native,
            arraysize: 1,
            description: None,
            rowcount: -1,
            lastrowid: None,
            row_factory: (!row_factory.is_none()).then(|| row_factory.unbind()),
            rows: Vec::new(),
            pos: 0,
            stream: None,
            temporal: Vec::new(),
            closed: false,
            names: None,
            last_sql: None,
            connection: connection.unbind(),
        })
    }

    /// Accepts the constructor's arguments (the work is done when the object is made), so
    /// that subclasses can call `super().__init__(connection)`.
    #[pyo3(signature = (*_args, **_kwargs))]
    fn __init__(&self, _args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) {}

    /// Runs one statement with `?` (sequence) or `:name` (mapping) parameters.
    ///
    /// `as_of` reads every table that has no `AS OF` clause of its own at a past point: a
    /// `datetime` (naive means UTC), `{"scn": n}`, `{"transaction": n}` or
    /// `{"before_transaction": n}`. Returns the cursor.
    #[pyo3(signature = (sql, parameters=None, *, as_of=None))]
    fn execute<'py>(
        slf: &Bound<'py, Self>,
        sql: &Bound<'py, PyString>,
        parameters: Option<&Bound<'py, PyAny>>,
        as_of: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, Self>> {
        let py = slf.py();
        let (mut this, conn, native) = start_statement(slf)?;
        let native = native.get();
        let (sql, kind) = this.statement_text(sql)?;
        let sql = &*sql;
        let params = Params::from_py(parameters)?;
        let point = match as_of.filter(|a| !a.is_none()) {
            Some(a) => Some(convert::as_of(a)?),
            None => None,
        };
        // A write with `as_of` is refused by the engine: it opens no transaction first.
        let begin = native.implicit_begin(kind.is_write() && point.is_none());
        let timeout = native.timeout;
        let ex = py
            .detach(|| {
                open_implicit(&conn, timeout, begin)?;
                run(&conn, timeout, sql, params, point, FIRST_BATCH)
            })
            .map_err(|f| f.into_py(py))?;
        let detect_types = native.detect_types();
        match ex.columns {
            None => {
                this.rowcount = if kind.is_write() {
                    ex.changes as i64
                } else {
                    -1
                };
            }
            Some(names) => {
                this.rows = tuples(py, &ex.rows, &ex.temporal, Output { detect_types })?;
                let types = ex.types;
                let columns = names
                    .into_iter()
                    .enumerate()
                    .map(|(i, name)| (name, types.get(i).copied().flatten()))
                    .collect();
                this.description = Some(native.description(py, sql, columns)?);
                this.stream = ex.stream;
                this.temporal = ex.temporal;
            }
        }
        if kind == Kind::Insert && ex.changes > 0 {
            if let Some(id) = ex.last_insert_rowid {
                this.lastrowid = Some(id);
            }
        }
        drop(this);
        Ok(slf.clone())
    }

    /// Runs a statement that returns no rows once per parameter set; `rowcount` is the
    /// total of rows changed.
    fn executemany<'py>(
        slf: &Bound<'py, Self>,
        sql: &str,
        seq_of_parameters: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, Self>> {
        let py = slf.py();
        let (mut this, conn, native) = start_statement(slf)?;
        let native = native.get();
        let begin = native.implicit_begin(kind_of(sql).is_write());
        let timeout = native.timeout;
        py.detach(|| open_implicit(&conn, timeout, begin))
            .map_err(|e| to_py_err(py, e))?;
        // A failure leaves -1: how many sets ran before it is not reported.
        this.rowcount = native.run_many(py, &conn, sql, seq_of_parameters)? as i64;
        drop(this);
        Ok(slf.clone())
    }

    /// Commits any open transaction, then runs several `;`-separated statements (without
    /// parameters), each in its own transaction unless the script has BEGIN.
    fn executescript<'py>(
        slf: &Bound<'py, Self>,
        sql_script: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, Self>> {
        let py = slf.py();
        let (this, conn, _) = start_statement(slf)?;
        let script = sql_script
            .cast::<PyString>()
            .map_err(|_| programming_error(py, "executescript() takes a str"))?
            .to_cow()?;
        py.detach(|| {
            if conn.is_in_transaction() {
                conn.execute_batch("COMMIT")?;
            }
            conn.execute_batch(&script)
        })
        .map_err(|e| to_py_err(py, e))?;
        drop(this);
        Ok(slf.clone())
    }

    /// The next row, or `None` at the end.
    fn fetchone(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        let py = slf.py();
        let mut this = borrow(slf)?;
        let Some(row) = this.next_row(py)? else {
            return Ok(None);
        };
        let Some(f) = this.row_factory.as_ref().map(|f| f.clone_ref(py)) else {
            return Ok(Some(row));
        };
        drop(this);
        Ok(Some(f.bind(py).call1((slf, row))?.unbind()))
    }

    /// Up to `size` (default `arraysize`) more rows.
    #[pyo3(signature = (size=None))]
    fn fetchmany<'py>(slf: &Bound<'py, Self>, size: Option<isize>) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        let mut this = borrow(slf)?;
        this.need_result(py)?;
        let size = usize::try_from(size.unwrap_or(this.arraysize)).unwrap_or(0);
        let mut out = Vec::new();
        while out.len() < size {
            if this.pos >= this.rows.len() {
                match this.refill(py, REFILL.max(size - out.len())) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        this.put_back(out);
                        return Err(e);
                    }
                }
            }
            let want = size - out.len();
            this.take_buffered(py, &mut out, want);
        }
        let factory = this.row_factory.as_ref().map(|f| f.clone_ref(py));
        drop(this);
        with_factory(slf, factory, out)
    }

    /// All remaining rows.
    fn fetchall<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        let mut this = borrow(slf)?;
        this.need_result(py)?;
        let mut out = Vec::new();
        this.take_buffered(py, &mut out, usize::MAX);
        while this.stream.is_some() {
            if let Err(e) = this.refill(py, FETCHALL_CHUNK) {
                this.put_back(out);
                return Err(e);
            }
            this.take_buffered(py, &mut out, usize::MAX);
        }
        this.rows.clear();
        this.pos = 0;
        let factory = this.row_factory.as_ref().map(|f| f.clone_ref(py));
        drop(this);
        with_factory(slf, factory, out)
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    fn __next__(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        Self::fetchone(slf)
    }

    /// Frees the result; the cursor can no longer be used.
    fn close(slf: &Bound<'_, Self>) -> PyResult<()> {
        let mut this = borrow(slf)?;
        this.end_result();
        this.closed = true;
        Ok(())
    }

    /// Frees the result (the connection calls it when it closes). A cursor busy in another thread keeps its result until that call ends.
    fn _end_result(slf: &Bound<'_, Self>) {
        if let Ok(mut this) = slf.try_borrow_mut() {
            this.end_result();
        }
    }

    /// The column names and a map from each lower-cased name to its first position, for
    /// `heliosdb_lite.Row` (under the key `"\0names"`: the names in order).
    fn _name_index<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyDict>> {
        let py = slf.py();
        let mut this = borrow(slf)?;
        if let Some(n) = &this.names {
            return Ok(n.bind(py).clone());
        }
        let index = PyDict::new(py);
        let names = PyList::empty(py);
        if let Some(d) = &this.description {
            for (i, column) in d.bind(py).iter().enumerate() {
                let name = column.get_item(0)?;
                names.append(&name)?;
                let key = name.call_method0("lower")?;
                if !index.contains(&key)? {
                    index.set_item(key, i)?;
                }
            }
        }
        index.set_item("\0names", names)?;
        this.names = Some(index.clone().unbind());
        Ok(index)
    }

    /// The number of the engine stream still open for this cursor's result, if any (for
    /// tests: a closed connection frees its cursors' streams).
    #[getter(_stream)]
    fn open_stream(&self) -> Option<u64> {
        self.stream
    }

    /// Does nothing (PEP 249 allows it).
    fn setinputsizes(&self, _sizes: &Bound<'_, PyAny>) {}

    /// Does nothing (PEP 249 allows it).
    #[pyo3(signature = (_size, _column=None))]
    fn setoutputsize(&self, _size: &Bound<'_, PyAny>, _column: Option<&Bound<'_, PyAny>>) {}
}
