//! HeliosDB-Lite: an embedded SQL database whose every committed state stays queryable.
//!
//! ```
//! use heliosdb_lite::Connection;
//! let conn = Connection::open_in_memory()?;
//! conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", [])?;
//! conn.execute("INSERT INTO t (v) VALUES (?)", ["first"])?;
//! let scn: i64 = conn.query_row("SELECT current_scn()", [], |r| r.get(0))?;
//! conn.execute("UPDATE t SET v = 'second' WHERE id = 1", [])?;
//! let old: String = conn.query_row(
//!     "SELECT v FROM t AS OF SCN ? WHERE id = 1", [scn], |r| r.get(0))?;
//! assert_eq!(old, "first");
//! # Ok::<(), heliosdb_lite::Error>(())
//! ```
//!
//! Layers, bottom up (each a module with a narrow interface):
//! - [`storage`]: an ordered key-value store (fjall on disk, or memory);
//! - [`mvcc`]: versions, transactions, the commit log, snapshots and GC;
//! - `sql`: parser, planner, executor and catalog;
//! - the API: [`Connection`], [`Statement`], [`Row`].

mod api;
pub mod config;
pub mod error;
pub mod mvcc;
#[doc(hidden)]
pub mod sql;
pub mod storage;
#[cfg(test)]
mod test_rng;
pub mod time;

pub use api::types;
pub use api::Connection;
pub use api::{
    params_from_iter, Appender, FunctionFlags, InterruptHandle, MappedRows, OpenTarget, Params,
    ParamsFromIter, Row, RowIndex, Rows, SchemaObject, Statement, Transaction,
};
pub use config::Config;
pub use error::{ConstraintKind, Error, RaiseAction, Result};
pub use mvcc::AsOf;
pub use sql::engine::Outcome;
