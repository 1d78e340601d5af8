//! Values computed from a row rather than read from it: generated columns and the entries of
//! expression and partial indexes (the SQLite rules and how the DDL checks them: `ddl/computed.rs`;
//! how they are bound: `engine::bind_generated`, `engine::bind_index`).
//!
//! Writes compute every generated column from the row's other values (in an order where each
//! follows the generated columns it reads), so constraints, index entries, triggers and
//! RETURNING see them. A STORED column's value is written with the row; a VIRTUAL column is
//! written as NULL and computed again whenever the row is read, from the definition of the
//! schema the read uses: a read `AS OF` a past point computes it as the table was defined then.
//!
//! An index's expression part holds the expression's value where a column part holds the
//! column's; a partial index has entries only for the rows its condition holds for (true,
//! not NULL), so a partial UNIQUE index enforces uniqueness among those rows only.
//!
//! The bound forms are made once per loaded schema and kept in the definitions' `Derived`
//! slots; a definition whose slot was not filled is an error, never a silently wrong value.

use super::super::catalog::{IndexColumn, IndexDef, TableDef, TableInfo};
use super::super::functions::FnEnv;
use super::super::plan::Expr;
use super::super::value::Value;
use super::{Executor, Frame};
use crate::error::{Error, Result};
use std::sync::Arc;

/// A table's generated columns, bound, in the order they are computed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeneratedColumns {
    /// (column, expression, stored), each after the generated columns its expression reads.
    pub order: Vec<(usize, Expr, bool)>,
}

impl GeneratedColumns {
    /// True if the table has no generated column.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// True if some column is computed when read.
    pub fn has_virtual(&self) -> bool {
        self.order.iter().any(|(_, _, stored)| !stored)
    }

    /// Computes every generated column of a row being written (`row` holds the table's
    /// columns and then its rowid). Each value takes its column's affinity; as in SQLite, a
    /// STRICT table does not check a generated value against the declared type.
    pub fn compute_for_write(
        &self,
        exec: &Executor<'_>,
        def: &TableDef,
        row: &mut [Value],
    ) -> Result<()> {
        for (i, e, _) in &self.order {
            let v = exec.eval(e, &Frame::root(row))?;
            row[*i] = v.apply_affinity(def.columns[*i].affinity);
        }
        Ok(())
    }

    /// Computes the virtual columns of a row read from storage (`row` holds the table's
    /// columns and then its rowid).
    pub fn compute_on_read(
        &self,
        exec: &Executor<'_>,
        def: &TableDef,
        row: &mut [Value],
    ) -> Result<()> {
        for (i, e, stored) in &self.order {
            if !stored {
                let v = exec.eval(e, &Frame::root(row))?;
                row[*i] = v.apply_affinity(def.columns[*i].affinity);
            }
        }
        Ok(())
    }

    /// The row as stored: virtual columns hold NULL (they are computed when read).
    pub fn stored_image(&self, row: &[Value]) -> Vec<Value> {
        let mut out = row.to_vec();
        for (i, _, stored) in &self.order {
            if !stored {
                out[*i] = Value::Null;
            }
        }
        out
    }
}

/// The generated columns of a table of a loaded schema.
pub fn generated(info: &TableInfo) -> Result<Arc<GeneratedColumns>> {
    if info.def.columns.iter().all(|c| c.generated.is_none()) {
        // Shared, not allocated: writes ask for every row.
        static NONE: std::sync::LazyLock<Arc<GeneratedColumns>> =
            std::sync::LazyLock::new(Arc::default);
        return Ok(Arc::clone(&NONE));
    }
    info.derived.get::<GeneratedColumns>().ok_or_else(|| {
        Error::invalid(format!(
            "internal error: the generated columns of {} were not bound",
            info.def.name
        ))
    })
}

/// An index's expressions and condition, bound against its table's columns.
#[derive(Debug, Default, PartialEq)]
pub struct BoundIndex {
    /// The bound expression of each expression part (`None` for a column part).
    pub parts: Vec<Option<Expr>>,
    /// The conjuncts of a partial index's condition (empty: every row has an entry).
    pub predicate: Vec<Expr>,
}

/// The bound expressions and condition of an index of a loaded schema.
pub fn bound_index(ix: &IndexDef) -> Result<Arc<BoundIndex>> {
    if !ix.is_computed() {
        return Ok(Arc::default());
    }
    ix.bound.get::<BoundIndex>().ok_or_else(|| {
        Error::invalid(format!(
            "internal error: the expressions of index {} were not bound",
            ix.name
        ))
    })
}

/// The conjuncts of `e` (its AND operands, recursively).
pub fn split_and(e: Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::And(a, b) => {
            split_and(*a, out);
            split_and(*b, out);
        }
        other => out.push(other),
    }
}

/// The values of a row's entry in the index (collation keys), or `None` when the index is
/// partial and the row is not in it. `row` holds the table's columns and then the rowid.
pub fn entry_values(ix: &IndexDef, row: &[Value]) -> Result<Option<Vec<Value>>> {
    if !ix.is_computed() {
        return Ok(Some(
            ix.columns
                .iter()
                .map(|c| c.collation.key(row[c.column].clone()))
                .collect(),
        ));
    }
    let bound = bound_index(ix)?;
    let env = NoEnvironment;
    let exec = Executor::new(None, &[], &env);
    let frame = Frame::root(row);
    for p in &bound.predicate {
        if exec.eval(p, &frame)?.truthy() != Some(true) {
            return Ok(None);
        }
    }
    let mut out = Vec::with_capacity(ix.columns.len());
    for (c, part) in ix.columns.iter().zip(&bound.parts) {
        let v = match part {
            Some(e) => exec.eval(e, &frame)?,
            None => row[c.column].clone(),
        };
        out.push(c.collation.key(v));
    }
    Ok(Some(out))
}

/// How a part of the index is named in errors, EXPLAIN and PRAGMAs: its column, or its
/// expression text.
pub fn part_name(def: &TableDef, c: &IndexColumn) -> String {
    match &c.expr {
        Some(e) => e.clone(),
        None => def.columns[c.column].name.clone(),
    }
}

/// The environment of an index expression or condition: they may call only deterministic
/// functions (checked when bound), so none of this is ever asked for.
struct NoEnvironment;

impl FnEnv for NoEnvironment {
    fn now_micros(&self) -> i64 {
        0
    }
    fn current_scn(&self) -> u64 {
        0
    }
    fn last_txn_id(&self) -> Option<u64> {
        None
    }
    fn scn_to_timestamp(&self, _: u64) -> Result<i64> {
        Err(Error::invalid(
            "scn_to_timestamp() is not allowed in an index",
        ))
    }
    fn timestamp_to_scn(&self, _: i64) -> Result<u64> {
        Err(Error::invalid(
            "timestamp_to_scn() is not allowed in an index",
        ))
    }
    fn last_insert_rowid(&self) -> i64 {
        0
    }
    fn changes(&self) -> i64 {
        0
    }
    fn stored_default(&self, _: &str) -> Result<Value> {
        Err(Error::invalid("DEFAULT is not allowed in an index"))
    }
}
