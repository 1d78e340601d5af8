//! The rows of a query that ran to its end, kept in memory up to a size and in a temporary
//! file beyond it ([`super::Executor::run_spooled`]).
//!
//! A query inside an explicit transaction reads the transaction's own writes, so it cannot
//! keep running while the connection goes on with other statements of the transaction (a
//! cursor outside a transaction owns a read-only snapshot instead, see `sql::cursor`). It
//! therefore runs to the end when it is executed, as SQLite's answer to the same statement
//! would be fixed then, and its rows are handed out from the spool: a result of millions of
//! rows costs disk space in the database's `tmp/` folder, not memory.

use super::spill::SpillReader;
use super::Row;
use crate::error::Result;

/// The rows of a finished query, read once in order.
pub(crate) struct Spool {
    rows: std::vec::IntoIter<Row>,
    rest: Option<SpillReader>,
}

impl Spool {
    pub(super) fn new(rows: Vec<Row>, rest: Option<SpillReader>) -> Self {
        Self {
            rows: rows.into_iter(),
            rest,
        }
    }

    /// The next row; `None` after the last.
    pub(crate) fn next_row(&mut self) -> Result<Option<Row>> {
        if let Some(row) = self.rows.next() {
            return Ok(Some(row));
        }
        match &mut self.rest {
            Some(file) => Ok(file.next()?.map(|(_, row)| row)),
            None => Ok(None),
        }
    }
}
