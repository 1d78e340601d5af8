//! The SQL layer: parser, planner, executor and catalog.
//!
//! A statement is parsed (`parser`: sqlparser-rs with our time-travel clauses rewritten at the
//! token level), bound and planned (`planner`: names to positions, time-travel points to pinned
//! snapshots, join order and algorithms, access paths) into a `plan::Plan`, and run by
//! `execution`'s streaming operators; `cursor` lets the API pull a query's rows one at a time.
//! `session` holds a connection's transaction and dispatches statements to queries, `dml`
//! (INSERT/UPDATE/DELETE with constraints, indexes and triggers) and `ddl`. `value` and `eval`
//! hold SQLite's value semantics, `codec` the row and key encodings, `catalog` the schema as of
//! any SCN, `stats` the planner's row estimates.

pub mod analyze;
pub mod catalog;
pub mod codec;
pub mod collation;
pub mod ctas;
pub mod cursor;
pub mod datetime;
pub mod ddl;
pub mod dml;
pub mod drop_column;
pub mod eval;
pub mod execution;
pub mod explain;
pub mod functions;
pub mod generated;
pub mod index_expr;
pub mod json;
pub mod parser;
pub mod plan;
pub mod planner;
pub mod pragma;
pub mod pragma_info;
pub mod rename;
pub mod savepoint;
pub mod session;
pub mod sqlite_master;
pub mod stats;
pub mod strict;
pub mod trigger;
pub mod value;
