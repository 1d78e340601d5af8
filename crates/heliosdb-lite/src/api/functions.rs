//! Application-defined scalar functions on a [`Connection`], as rusqlite's
//! `create_scalar_function` (see `sql/functions/user.rs` for how calls are resolved).

use super::Connection;
use crate::error::{Error, Result};
use crate::sql::functions::user::UserFnImpl;
use crate::sql::value::Value;
use std::sync::Arc;

/// How a function behaves, for [`Connection::create_scalar_function`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FunctionFlags {
    deterministic: bool,
}

impl FunctionFlags {
    /// No promise: the function is called for every row.
    pub const NONE: FunctionFlags = FunctionFlags {
        deterministic: false,
    };
    /// The same arguments always give the same result (SQLite's `SQLITE_DETERMINISTIC`): a
    /// statement calls it once per distinct argument list and reuses the result.
    pub const DETERMINISTIC: FunctionFlags = FunctionFlags {
        deterministic: true,
    };

    /// True for [`FunctionFlags::DETERMINISTIC`].
    pub fn is_deterministic(self) -> bool {
        self.deterministic
    }
}

/// `n_arg` as SQLite takes it: -1 for any number of arguments, else 0 to 127.
fn arg_count(n_arg: i32) -> Result<Option<usize>> {
    match n_arg {
        -1 => Ok(None),
        n if n >= 0 => Ok(Some(n as usize)),
        n => Err(Error::invalid(format!(
            "bad argument count {n}: give -1 (any) or 0 to {}",
            crate::sql::functions::user::MAX_ARGS
        ))),
    }
}

impl Connection {
    /// Defines (or replaces) the SQL scalar function `name` taking `n_arg` arguments (-1:
    /// any number) on this connection, computed by `f` from the argument values.
    ///
    /// As in SQLite, a name may be defined once per argument count (a call uses the
    /// definition for its exact count, else the one for any count), names are
    /// case-insensitive, and a definition overrides a built-in function of the same name.
    /// An error `f` returns fails the statement as [`Error::UserFunction`]. The function
    /// is this connection's only (not [`Connection::another_connection`]'s), and cannot be
    /// used in stored expressions (CHECK, DEFAULT, generated columns, indexes), so that
    /// the database never needs the application to be read. `f` may run queries on this
    /// connection while the calling statement is a query streaming its rows; while the
    /// connection is busy with the calling statement (a write, or any statement inside a
    /// transaction) a statement `f` runs on it fails instead of waiting forever.
    ///
    /// ```
    /// use heliosdb_lite::{Connection, FunctionFlags, types::Value};
    /// let conn = Connection::open_in_memory()?;
    /// conn.create_scalar_function("double_it", 1, FunctionFlags::DETERMINISTIC, |args| {
    ///     Ok(match &args[0] {
    ///         Value::Integer(i) => Value::Integer(i * 2),
    ///         other => other.clone(),
    ///     })
    /// })?;
    /// let n: i64 = conn.query_row("SELECT double_it(21)", [], |r| r.get(0))?;
    /// assert_eq!(n, 42);
    /// # Ok::<(), heliosdb_lite::Error>(())
    /// ```
    pub fn create_scalar_function<F>(
        &self,
        name: &str,
        n_arg: i32,
        flags: FunctionFlags,
        f: F,
    ) -> Result<()>
    where
        F: Fn(&[Value]) -> Result<Value> + Send + Sync + 'static,
    {
        let args = arg_count(n_arg)?;
        let func: Arc<UserFnImpl> = Arc::new(f);
        self.functions()?
            .register(name, args, flags.is_deterministic(), func)?;
        self.forget_plans();
        Ok(())
    }

    /// Removes the definition of `name` for `n_arg` arguments made by
    /// [`Connection::create_scalar_function`]; false if there was none. Statements that
    /// call it fail with "no such function" from then on.
    pub fn remove_function(&self, name: &str, n_arg: i32) -> Result<bool> {
        let removed = self.functions()?.remove(name, arg_count(n_arg)?)?;
        self.forget_plans();
        Ok(removed)
    }

    /// Rows inserted, updated or deleted by this connection since it was opened (SQL's
    /// `total_changes()`, SQLite's `sqlite3_total_changes`).
    pub fn total_changes(&self) -> u64 {
        crate::mvcc::lock(&self.session).total_changes.max(0) as u64
    }

    fn functions(&self) -> Result<Arc<crate::sql::functions::user::UserFunctions>> {
        Ok(self.lock_session()?.functions.clone())
    }

    /// Locks the session for a statement. Inside a user-defined function a session that is
    /// already locked is refused rather than waited for: it is most likely the one running
    /// the statement that called the function, and waiting would never end.
    pub(super) fn lock_session(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, crate::sql::session::Session>> {
        if !crate::sql::functions::user::in_user_function() {
            return Ok(crate::mvcc::lock(&self.session));
        }
        match self.session.try_lock() {
            Ok(s) => Ok(s),
            Err(std::sync::TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => Err(busy_in_function()),
        }
    }

    /// Drops the cached statements (and their plans): a call planned before may have
    /// resolved to a built-in function a new definition overrides.
    fn forget_plans(&self) {
        crate::mvcc::lock(&self.cache).clear();
    }
}

/// The error for a statement run from inside a function on the connection running it.
fn busy_in_function() -> Error {
    Error::invalid(
        "a user-defined function cannot run statements on the connection that is calling it",
    )
}
