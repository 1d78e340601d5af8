//! `SAVEPOINT name`, `RELEASE [SAVEPOINT] name` and `ROLLBACK [TRANSACTION] TO [SAVEPOINT]
//! name`, with SQLite's meaning: savepoints nest by name; ROLLBACK TO undoes the writes made
//! since the savepoint and keeps it (and the transaction) open; RELEASE forgets it and the
//! ones after it, and releasing the outermost savepoint of a transaction that `SAVEPOINT`
//! itself began commits it. The undo log of the transaction is kept while a savepoint is
//! open (each statement would otherwise forget it once it succeeds).

use super::Session;
use crate::error::{Error, Result};
use crate::mvcc::{Savepoint, TxnMode};
use crate::sql::engine::{Engine, Outcome};

/// One open savepoint.
#[derive(Debug, Clone)]
pub struct UserSavepoint {
    /// Its name as written.
    pub name: String,
    /// Where the transaction's undo log stood.
    pub at: Savepoint,
    /// `SAVEPOINT` began the transaction (its RELEASE commits).
    pub began: bool,
}

impl Session {
    fn find_savepoint(&self, name: &str) -> Result<usize> {
        self.savepoints
            .iter()
            .rposition(|s| s.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| Error::Transaction(format!("no such savepoint: {name}")))
    }

    /// `SAVEPOINT name`.
    pub(super) fn savepoint(&mut self, engine: &Engine, name: &str) -> Result<Outcome> {
        let began = self.txn.is_none();
        if began {
            self.txn = Some(Box::new(self.begin(engine, TxnMode::Deferred)?));
            self.txn_ddl = false;
            self.rowids = Default::default();
        }
        let at = self.txn.as_ref().expect("begun above").savepoint();
        self.savepoints.push(UserSavepoint {
            name: name.to_string(),
            at,
            began,
        });
        Ok(Outcome::default())
    }

    /// `RELEASE name`.
    pub(super) fn release(&mut self, engine: &Engine, name: &str) -> Result<Outcome> {
        let i = self.find_savepoint(name)?;
        let commits = i == 0 && self.savepoints[0].began;
        self.savepoints.truncate(i);
        if commits {
            let txn = self.txn.take().ok_or_else(|| {
                Error::Transaction("cannot commit - no transaction is active".into())
            })?;
            let ddl = std::mem::take(&mut self.txn_ddl);
            self.commit(engine, *txn, ddl)?;
        } else if self.savepoints.is_empty() {
            if let Some(txn) = &mut self.txn {
                txn.release_savepoints();
            }
        }
        Ok(Outcome::default())
    }

    /// `ROLLBACK TO name`.
    pub(super) fn rollback_to(&mut self, name: &str) -> Result<Outcome> {
        let i = self.find_savepoint(name)?;
        let at = self.savepoints[i].at;
        self.savepoints.truncate(i + 1);
        let txn = self
            .txn
            .as_mut()
            .ok_or_else(|| Error::Transaction("no transaction is active".into()))?;
        txn.rollback_to(at);
        // Rowids handed out after the savepoint are free again.
        self.rowids = Default::default();
        Ok(Outcome::default())
    }
}
