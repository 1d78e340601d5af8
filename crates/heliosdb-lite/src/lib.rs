//! HeliosDB-Lite: an embedded SQL database whose every committed state stays queryable.
//!
//! Layers, bottom up (each a module with a narrow interface):
//! - [`storage`]: an ordered key-value store (fjall on disk, or memory);
//! - [`mvcc`]: versions, transactions, the commit log, snapshots and GC;
//! - `sql`: parser, planner, executor and catalog;
//! - `api`: `Connection`, `Statement`, `Row`.

pub mod error;
pub mod mvcc;
pub mod storage;
pub mod time;

pub use error::{Error, Result};
pub mod sql;
