//! [`Appender`]: the bulk path for loading rows into one table from Rust.
//!
//! A prepared `INSERT` executed once per row pays, for every row, what a statement costs
//! around its one row: taking the session, a statement savepoint, binding the placeholders
//! into a `VALUES` row, the statement's bookkeeping. An appender gathers rows and inserts
//! them a chunk at a time, each chunk one `INSERT` statement whose rows are handed to the
//! insert loop as they are. Each row is still checked and written exactly as
//! `INSERT INTO t VALUES (...)` would (type affinity, NOT NULL, CHECK, uniqueness, foreign
//! keys, triggers), so the only difference a caller sees is when errors surface: at the
//! `append` that fills a chunk, or at `flush`.

use super::{Connection, Params};
use crate::error::{Error, Result};
use crate::sql::parser::ParsedStatement;
use crate::sql::value::Value;
use std::sync::Arc;

/// Rows gathered before a chunk is inserted.
const CHUNK_ROWS: usize = 1024;

/// Bytes of text and blob values gathered before a chunk is inserted, whatever its row count:
/// a chunk of large values is held in memory until it is inserted.
const CHUNK_BYTES: usize = 8 << 20;

/// Appends rows to one table, a chunk of rows per `INSERT` statement: the fast way to load
/// many rows from Rust (see `Connection::appender`).
///
/// Each row has a value for every column of the table in table order (generated columns
/// excepted), as `INSERT INTO t VALUES (...)` takes them. Rows are gathered and inserted
/// [`Appender::CHUNK_ROWS`] at a time (sooner when their text and blobs pass 8 MiB), each
/// chunk as one statement: all of its rows are inserted or, when one of them fails a
/// constraint or a trigger, none of them (the error is the statement's, and
/// [`Appender::rows_inserted`] says where the failed chunk began). Inside a transaction (`BEGIN`, or an appender made from
/// a [`crate::Transaction`]) the chunks join it; otherwise each chunk commits on its own.
///
/// Call [`Appender::flush`] after the last row to insert the rest and see its errors.
/// Dropping an appender flushes it too, but can only log a failure (the rows since the last
/// flush are then not inserted).
///
/// ```
/// # fn main() -> heliosdb_lite::Result<()> {
/// let conn = heliosdb_lite::Connection::open_in_memory()?;
/// conn.execute_batch("CREATE TABLE readings (sensor TEXT, at INTEGER, value REAL)")?;
/// let mut app = conn.appender("readings")?;
/// for i in 0..10_000 {
///     app.append(("s1", i, 20.5))?;
/// }
/// app.flush()?;
/// let n: i64 = conn.query_row("SELECT count(*) FROM readings", [], |r| r.get(0))?;
/// assert_eq!(n, 10_000);
/// # Ok(())
/// # }
/// ```
pub struct Appender<'c> {
    conn: &'c Connection,
    table: String,
    /// `INSERT INTO "table" VALUES (?1, ..., ?n)`, one placeholder per column.
    insert: Arc<ParsedStatement>,
    /// Rows gathered since the last chunk was inserted.
    rows: Vec<Vec<Value>>,
    /// Bytes of text and blobs in `rows`.
    bytes: usize,
    /// Rows inserted by earlier chunks.
    inserted: u64,
}

impl Appender<'_> {
    /// Rows gathered before they are inserted as one statement.
    pub const CHUNK_ROWS: usize = CHUNK_ROWS;

    /// Appends one row: a value per column, in table order (a tuple, an array, or
    /// [`crate::params_from_iter`]). When the row fills a chunk, the chunk is inserted, and
    /// its error, if any, is returned here.
    pub fn append<P: Params>(&mut self, values: P) -> Result<()> {
        let bound = values.bind(&self.insert).map_err(|e| match e {
            Error::Parameter(_) => Error::Parameter(format!(
                "appending to {}: {} columns take a value each, {e}",
                self.table, self.insert.param_count
            )),
            other => other,
        })?;
        // Room for the rowid the insert places after the columns: growing each row there
        // (a reallocation and a copy) cost a tenth of an appended row.
        let mut row = Vec::with_capacity(bound.len() + 1);
        row.extend(bound);
        self.bytes += row
            .iter()
            .map(|v| match v {
                Value::Text(s) => s.len(),
                Value::Blob(b) => b.len(),
                _ => 0,
            })
            .sum::<usize>();
        self.rows.push(row);
        if self.rows.len() >= CHUNK_ROWS || self.bytes >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Inserts the rows gathered so far. On an error none of them is inserted (the rows
    /// of earlier chunks stay), and the appender is empty again, ready for more rows.
    pub fn flush(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        self.bytes = 0;
        // The error is the statement's own (a constraint stays a constraint error): the
        // caller knows from `rows_inserted` where the chunk that failed began.
        let out = self.conn.insert_rows(&self.insert, rows)?;
        self.inserted += out.changes;
        Ok(())
    }

    /// Rows inserted so far (not counting rows gathered and not yet flushed, nor rows an
    /// `OR IGNORE`-like trigger skipped).
    pub fn rows_inserted(&self) -> u64 {
        self.inserted
    }

    /// Rows gathered and not yet inserted.
    pub fn pending_rows(&self) -> usize {
        self.rows.len()
    }
}

impl Drop for Appender<'_> {
    fn drop(&mut self) {
        // Unwinding from a panic: do not run statements (a second panic would abort).
        if std::thread::panicking() {
            return;
        }
        if let Err(e) = self.flush() {
            tracing::error!(table = %self.table, error = %e, "an appender dropped without a flush failed to insert its last rows");
        }
    }
}

impl Connection {
    /// An [`Appender`] for `table`: the bulk path for loading many rows from Rust, faster
    /// than a prepared `INSERT` per row.
    pub fn appender(&self, table: &str) -> Result<Appender<'_>> {
        self.refuse_if_read_only("an appender")?;
        // The columns an `INSERT ... VALUES` without a column list takes: all but generated
        // ones (`hidden` 2 and 3).
        let columns: i64 = self.query_row(
            "SELECT count(*) FROM pragma_table_xinfo(?1) WHERE hidden = 0",
            [table],
            |r| r.get(0),
        )?;
        if columns == 0 {
            return Err(Error::NoSuchTable(table.to_string()));
        }
        let placeholders: Vec<String> = (1..=columns).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO \"{}\" VALUES ({})",
            table.replace('"', "\"\""),
            placeholders.join(", ")
        );
        let insert = self.parse_one(&sql)?;
        Ok(Appender {
            conn: self,
            table: table.to_string(),
            insert,
            rows: Vec::with_capacity(CHUNK_ROWS),
            bytes: 0,
            inserted: 0,
        })
    }

    /// Inserts `rows` with `insert` (an appender's statement) as one statement.
    fn insert_rows(
        &self,
        insert: &ParsedStatement,
        rows: Vec<Vec<Value>>,
    ) -> Result<crate::sql::engine::Outcome> {
        self.with_session(None, |session| {
            session.insert_rows(&self.engine, insert, rows)
        })
    }
}
