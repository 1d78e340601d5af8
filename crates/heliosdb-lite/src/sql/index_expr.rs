//! Indexes on expressions (`CREATE INDEX i ON t(lower(name))`) and partial indexes
//! (`CREATE INDEX i ON t(a) WHERE b > 0`), with SQLite's rules.
//!
//! An expression part is stored as SQL text over the table's columns and bound, once per
//! schema, against them; an entry holds the expression's value where a column part holds the
//! column's. A partial index has entries only for the rows its condition holds for (true, not
//! NULL), and a partial UNIQUE index therefore enforces uniqueness among those rows only. The
//! planner (`planner/access.rs`) uses an expression part for a comparison of the same
//! expression, and a partial index only for a query whose WHERE contains every conjunct of
//! the index's condition (SQLite's simple implication test).

use super::catalog::{IndexColumn, IndexDef, TableDef, EXPRESSION_COLUMN};
use super::execution::{Executor, Frame};
use super::plan::Expr;
use super::session::ClockOnly;
use super::value::Value;
use crate::error::{Error, Result};
use sqlparser::ast;
use std::sync::{Arc, OnceLock};

/// An index's expressions and condition, bound against its table's columns.
#[derive(Debug, Default, PartialEq)]
pub struct BoundIndex {
    /// The bound expression of each expression part (`None` for a column part).
    pub parts: Vec<Option<Expr>>,
    /// The conjuncts of a partial index's condition (empty: every row has an entry).
    pub predicate: Vec<Expr>,
}

/// The bound form of an index, made when first needed. It is derived from the definition,
/// so two equal definitions are equal whether or not it was made, and a copy (which may be
/// changed, as ALTER TABLE does) starts without it.
#[derive(Debug, Default)]
pub struct BoundCache(OnceLock<std::result::Result<Arc<BoundIndex>, String>>);

impl Clone for BoundCache {
    fn clone(&self) -> Self {
        BoundCache::default()
    }
}

impl PartialEq for BoundCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl IndexDef {
    /// The index's expressions and condition bound against `def` (its table).
    pub fn bound(&self, def: &TableDef) -> Result<Arc<BoundIndex>> {
        self.bound
            .0
            .get_or_init(|| {
                if !self.is_computed() {
                    return Ok(Arc::default());
                }
                bind(def, self).map(Arc::new).map_err(|e| e.to_string())
            })
            .clone()
            .map_err(|e| Error::corruption(format!("index {} unreadable: {e}", self.name)))
    }
}

/// Binds and checks an index's expressions and condition (CREATE INDEX, and every schema
/// that reads the index).
pub fn bind(def: &TableDef, ix: &IndexDef) -> Result<BoundIndex> {
    let mut parts = Vec::with_capacity(ix.columns.len());
    for c in &ix.columns {
        parts.push(match &c.expr {
            Some(text) => Some(bind_checked(def, text, "index expressions")?),
            None => None,
        });
    }
    let mut predicate = Vec::new();
    if let Some(text) = &ix.predicate {
        split_and(
            bind_checked(def, text, "partial index WHERE clauses")?,
            &mut predicate,
        );
    }
    Ok(BoundIndex { parts, predicate })
}

/// Binds `text` over the table's columns, refusing what SQLite refuses in `place`.
fn bind_checked(def: &TableDef, text: &str, place: &str) -> Result<Expr> {
    let e = super::dml::bind_table_expr(def, text)?;
    let mut problem = None;
    e.walk(&mut |x| match x {
        Expr::Exists { .. } | Expr::ScalarSubquery(_) | Expr::InSubquery { .. } => {
            problem = Some(format!("subqueries prohibited in {place}"))
        }
        Expr::Function(f, _) if !f.is_deterministic() => {
            problem = Some(format!("non-deterministic functions prohibited in {place}"))
        }
        Expr::Aggregate { .. } | Expr::Window(_) => {
            problem = Some(format!("misuse of aggregate function in {place}"))
        }
        _ => {}
    });
    match problem {
        Some(p) => Err(Error::invalid(p)),
        None => Ok(e),
    }
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

/// The parts of `CREATE INDEX ... ON t(<parts>)`: a column (with COLLATE and ASC/DESC), or
/// an expression over the table's columns.
pub fn index_parts(cols: &[ast::IndexColumn], def: &TableDef) -> Result<Vec<IndexColumn>> {
    cols.iter()
        .map(|c| {
            let desc = matches!(c.column.options.sort, Some(ast::OrderBySort::Desc));
            let (expr, explicit) = match &c.column.expr {
                ast::Expr::Collate { expr, collation } => (
                    expr.as_ref(),
                    Some(super::collation::Collation::from_name(
                        &super::planner::table_name(collation)?,
                    )?),
                ),
                other => (other, None),
            };
            let mut inner = expr;
            while let ast::Expr::Nested(e) = inner {
                inner = e;
            }
            if let ast::Expr::Identifier(id) = inner {
                if let Some(column) = def.column_index(&id.value) {
                    return Ok(IndexColumn::on_column(
                        column,
                        desc,
                        explicit.unwrap_or(def.columns[column].collation),
                    ));
                }
            }
            Ok(IndexColumn {
                column: EXPRESSION_COLUMN,
                desc,
                collation: explicit.unwrap_or_default(),
                expr: Some(expr.to_string()),
            })
        })
        .collect()
}

/// The values of a row's entry in the index (collation keys), or `None` when the index is
/// partial and the row is not in it. `row` holds the table's columns and then the rowid.
pub fn entry_values(def: &TableDef, ix: &IndexDef, row: &[Value]) -> Result<Option<Vec<Value>>> {
    if !ix.is_computed() {
        return Ok(Some(
            ix.columns
                .iter()
                .map(|c| c.collation.key(row[c.column].clone()))
                .collect(),
        ));
    }
    let bound = ix.bound(def)?;
    let env = ClockOnly(0);
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
