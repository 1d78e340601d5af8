//! The SQL layer: parser, planner, executor and catalog.

pub mod catalog;
pub mod codec;
pub mod datetime;
pub mod ddl;
pub mod dml;
pub mod eval;
pub mod execution;
pub mod explain;
pub mod functions;
pub mod parser;
pub mod plan;
pub mod planner;
pub mod pragma;
pub mod session;
pub mod stats;
pub mod trigger;
pub mod value;
