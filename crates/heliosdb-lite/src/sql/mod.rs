//! The SQL layer: parser, planner, executor and catalog.
//!
//! A statement is parsed (`parser`: sqlparser-rs with our time-travel clauses rewritten at the
//! token level, each clause's kind typed as [`parser::TimeTravelMode`]), bound and planned
//! (`planner`: names to positions, time-travel points to pinned snapshots, join order and
//! algorithms, access paths) into a `plan::Plan`, and run by `execution`'s streaming
//! operators; `cursor` lets the API pull a query's rows one at a time. `session` holds a
//! connection's transaction and dispatches statements to queries, `dml` (INSERT/UPDATE/DELETE
//! with constraints, indexes and triggers), `ddl` and `pragma`. `value` and `eval` hold
//! SQLite's value semantics, `functions` the scalar functions (dates and JSON included),
//! `codec` the row and key encodings, `catalog` the schema as of any SCN, `stats` the
//! planner's row estimates, `engine` what every statement runs against.
//!
//! The modules form layers, and a module imports only from layers below its own (checked by
//! the `layering` test, which lists them), so each can be read, tested and changed knowing
//! only what lies beneath it:
//!
//! ```text
//! session                       transactions, dispatch, CREATE TABLE AS, savepoints
//! ddl  pragma                   catalog changes; PRAGMA and the integrity check
//! dml  cursor                   INSERT / UPDATE / DELETE; streaming a query to the API
//! engine                        the shared store and schemas, statement environment, plan cache
//! planner  explain              binding and planning; showing plans
//! execution                     the operators (the planner folds constants with its evaluator)
//! eval                          expression semantics
//! plan  stats  sqlite_master  pragma_info  strict
//! catalog  functions
//! codec  collation
//! parser                        SQL text to statements (an INSERT's literals as values)
//! value
//! ```
//!
//! The parser knows nothing of plans: a statement's cached plan sits in an untyped slot
//! ([`parser::CacheSlot`]) that `session` and `dml` fill with their own types.

pub mod catalog;
pub mod codec;
pub mod collation;
pub mod cursor;
pub mod ddl;
pub mod dml;
pub mod engine;
pub mod eval;
pub mod execution;
pub mod explain;
pub mod functions;
pub mod parser;
pub mod plan;
pub mod planner;
pub mod pragma;
pub mod pragma_info;
pub mod pragma_tuning;
pub mod session;
pub mod sqlite_master;
pub mod stats;
pub mod strict;
pub mod value;

#[cfg(test)]
mod layering;
