//! The SQL layer: parser, planner, executor and catalog.

pub mod codec;
pub mod parser;
pub mod value;
pub mod catalog;
pub mod datetime;
pub mod functions;
pub mod plan;
