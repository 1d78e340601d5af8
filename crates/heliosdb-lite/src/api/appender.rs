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

/// Bytes of the text and blob values of `row`.
fn value_bytes(row: &[Value]) -> usize {
    row.iter()
        .map(|v| match v {
            Value::Text(s) => s.len(),
            Value::Blob(b) => b.len(),
            _ => 0,
        })
        .sum()
}

/// Rows gathered before a chunk is inserted.
const CHUNK_ROWS: usize = 1024;

/// Bytes of text and blob values gathered before a chunk is inserted, whatever its row count:
/// a chunk of large values is held in memory until it is inserted.
const CHUNK_BYTES: usize = 8 << 20;

/// Appends rows to one table, a chunk of rows per `INSERT` statement: the fast way to load
/// many rows from Rust (see `Connection::appender`).
///
/// Each row has a value for every column of the table in table order (generated columns
/// excepted), as `INSERT INTO t VALUES (...)` takes them, and is checked and written as that
/// statement would (affinity, NOT NULL, CHECK, uniqueness, foreign keys, indexes, history).
/// Rows are gathered and inserted when [`Appender::CHUNK_ROWS`] of them are waiting (sooner
/// when their text and blobs pass 8 MiB) and at [`Appender::flush`], each chunk as one
/// statement: all of its rows are inserted, or, when one fails, none (the error is the
/// statement's own; [`Appender::rows_inserted`] counts the rows inserted before). A table
/// with triggers gets a statement per row instead, exactly as one `INSERT` per row (see
/// [`Appender::flush`]).
///
/// Rows join the transaction open when they are *inserted* (at the flush), not the one open
/// when they were appended: flush before `COMMIT` or `ROLLBACK`. With no transaction open,
/// each chunk commits on its own.
///
/// Call [`Appender::flush`] after the last row to insert the rest and see its errors.
/// Dropping an appender flushes it too, but can only log a failure.
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
    /// its error, if any, is returned here. An `append` that fails did not keep its row.
    pub fn append<P: Params>(&mut self, values: P) -> Result<()> {
        let bound = values.bind(&self.insert).map_err(|e| match e {
            Error::Parameter(m) if m.starts_with("statement has ") => Error::Parameter(format!(
                "appending to {}: a row takes a value for each of its {} columns ({m})",
                self.table, self.insert.param_count
            )),
            other => other,
        })?;
        // Room for the rowid the insert places after the columns: growing each row there
        // (a reallocation and a copy) cost a tenth of an appended row.
        let mut row = Vec::with_capacity(bound.len() + 1);
        row.extend(bound);
        let bytes = value_bytes(&row);
        self.rows.push(row);
        self.bytes += bytes;
        if self.rows.len() >= CHUNK_ROWS || self.bytes >= CHUNK_BYTES {
            if let Err(e) = self.flush() {
                // Rows kept for a retry (the write lock was busy): this one is not kept,
                // since its caller sees the error and may append it again.
                if self.rows.pop().is_some() {
                    self.bytes -= bytes;
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// Inserts the rows gathered so far. When the table has triggers, each row is a
    /// statement of its own, as with one `INSERT` per row (functions such as
    /// `last_insert_rowid()` or `changes()` in a trigger body see what they would see then),
    /// and an error leaves the rows before the failing one inserted; otherwise the chunk is
    /// one statement and an error leaves none of it. Either way [`Appender::rows_inserted`]
    /// counts what was inserted, and the rest is dropped, except when the transaction could
    /// not begin (`Error::Busy`): then every row stays, for the next flush.
    pub fn flush(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let has_triggers: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'trigger' \
             AND tbl_name = ?1 COLLATE NOCASE)",
            [&self.table],
            |r| r.get(0),
        )?;
        let result = if has_triggers {
            self.flush_row_by_row()
        } else {
            // The error is the statement's own (a constraint stays a constraint error).
            self.conn
                .insert_rows(&self.insert, &mut self.rows)
                .map(|out| self.inserted += out.changes)
        };
        if self.rows.is_empty() {
            self.bytes = 0;
        } else if result.is_ok() || !matches!(result, Err(Error::Busy(_))) {
            self.rows.clear();
            self.bytes = 0;
        }
        result
    }

    /// [`Appender::flush`] of a table with triggers: a statement per row, in order. Stops
    /// at the first error, leaving the rows from the failing one on in `rows` (taken only
    /// by a statement that ran).
    fn flush_row_by_row(&mut self) -> Result<()> {
        let rows = std::mem::take(&mut self.rows);
        let mut rows = rows.into_iter();
        let mut one = Vec::with_capacity(1);
        while let Some(row) = rows.next() {
            one.push(row);
            match self.conn.insert_rows(&self.insert, &mut one) {
                // A BEFORE trigger's RAISE(IGNORE) skips its row: not counted.
                Ok(out) => self.inserted += out.changes,
                Err(e) => {
                    // A statement that could not begin leaves its row, and the rest, for
                    // later.
                    self.rows.append(&mut one);
                    self.rows.extend(rows);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Rows inserted so far (not counting rows gathered and not yet flushed).
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
    ///
    /// `table` is the table's name as it is stored (no quotes); `main.` before it names the
    /// same table, as in SQL, unless a table or view has that whole name.
    pub fn appender(&self, table: &str) -> Result<Appender<'_>> {
        self.refuse_if_read_only("an appender")?;
        let mut kind = self.kind_of(table)?;
        let mut table = table;
        if kind.is_none() {
            // SQL's `main.t`: the database's one schema.
            let bare = table
                .split_once('.')
                .filter(|(schema, _)| schema.eq_ignore_ascii_case("main"))
                .map(|(_, bare)| bare);
            if let Some(bare) = bare {
                kind = self.kind_of(bare)?;
                if kind.is_some() {
                    table = bare;
                }
            }
        }
        match kind.as_deref() {
            None => return Err(Error::NoSuchTable(table.to_string())),
            Some("view") => {
                return Err(Error::invalid(format!(
                    "cannot modify {table} because it is a view"
                )))
            }
            _ => {}
        }
        // The columns an `INSERT ... VALUES` without a column list takes: all but generated
        // ones (`hidden` 2 and 3).
        let columns: i64 = self.query_row(
            "SELECT count(*) FROM pragma_table_xinfo(?1) WHERE hidden = 0",
            [table],
            |r| r.get(0),
        )?;
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

    /// Whether `name` is a `table` or a `view` (`None`: neither).
    fn kind_of(&self, name: &str) -> Result<Option<String>> {
        self.prepare(
            "SELECT type FROM sqlite_schema WHERE type IN ('table', 'view') \
             AND name = ?1 COLLATE NOCASE",
        )?
        .query_row([name], |r| r.get(0))
        .map(Some)
        .or_else(|e| match e {
            Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
    }

    /// Inserts `rows` with `insert` (an appender's statement) as one statement; `rows` is
    /// left as it was when the statement's transaction could not begin.
    fn insert_rows(
        &self,
        insert: &ParsedStatement,
        rows: &mut Vec<Vec<Value>>,
    ) -> Result<crate::sql::engine::Outcome> {
        self.with_session(None, |session| {
            session.insert_rows(&self.engine, insert, rows)
        })
    }
}
