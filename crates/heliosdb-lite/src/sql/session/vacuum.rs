//! `VACUUM` and `VACUUM INTO 'file'`.
//!
//! `VACUUM INTO` writes a consistent copy of the whole database, retained history included,
//! to a new database directory (see `mvcc/backup.rs`), like SQLite's, which writes a copy of
//! the database file. Plain `VACUUM` has nothing to rebuild here (an LSM store compacts
//! itself): it checkpoints, which flushes the write buffers into the data files and rebuilds
//! the packed read copies that need it. Neither removes history; `VACUUM HISTORY` does.

use super::Session;
use crate::error::{Error, Result};
use crate::sql::engine::{Engine, Outcome};
use crate::sql::parser::ParsedStatement;
use crate::sql::value::Value;

/// SQLite's message for `VACUUM` inside a transaction, also used by
/// `Connection::backup_to`.
pub const VACUUM_IN_TRANSACTION: &str = "cannot VACUUM from within a transaction";

impl Session {
    /// Runs `VACUUM` (`into` is `None`) or `VACUUM INTO` (`into` computes the file name).
    pub(super) fn vacuum(
        &mut self,
        engine: &Engine,
        into: Option<&ParsedStatement>,
        params: &[Value],
    ) -> Result<Outcome> {
        if self.txn.is_some() {
            return Err(Error::Transaction(VACUUM_IN_TRANSACTION.to_string()));
        }
        let Some(file_name) = into else {
            engine.mvcc.checkpoint()?;
            return Ok(Outcome::default());
        };
        let computed = self.execute(engine, file_name, params)?;
        let path = match computed.rows.first().and_then(|r| r.first()) {
            Some(Value::Text(t)) => t.to_string(),
            _ => return Err(Error::invalid("non-text filename")),
        };
        engine.mvcc.backup_to(std::path::Path::new(&path))?;
        Ok(Outcome::default())
    }
}
