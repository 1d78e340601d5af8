//! `x op ANY (SELECT ...)`, `x op SOME (...)` and `x op ALL (...)`: an extension, SQLite has
//! none of them. They mean what standard SQL (and PostgreSQL) says, in three-valued logic:
//!
//! - `ANY` / `SOME` is true if the comparison is true for some row of the subquery, else NULL
//!   if it is NULL for some row, else false (so false over no rows);
//! - `ALL` is false if the comparison is false for some row, else NULL if it is NULL for
//!   some row, else true (so true over no rows).
//!
//! Both become two EXISTS probes of the subquery filtered by the comparison (the deciding
//! rows first, then the NULL ones): `CASE WHEN EXISTS (... WHERE x op v) THEN 1 WHEN EXISTS
//! (... WHERE (x op v) IS NULL) THEN NULL ELSE 0 END` for ANY, with `NOT (x op v)`, 0 and 1
//! for ALL. `x` is read from inside the subquery as an enclosing-row value, so the probes
//! are cached like any correlated subquery, by the values they read. The comparison takes
//! affinities and collations as `x = (SELECT v ...)` would.

use super::super::collation::for_comparison;
use super::super::plan::{CmpOp, Expr, Plan, SubPlan};
use super::super::value::Value;
use super::expr::{affinity_of, collated, collation_of, comparison_affinities};
use super::Planner;
use crate::error::{Error, Result};
use sqlparser::ast;

impl Planner<'_> {
    /// Binds `left op ANY (right)` (`all`: `ALL`).
    pub(super) fn bind_quantified(
        &mut self,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
        all: bool,
    ) -> Result<Expr> {
        let word = if all { "ALL" } else { "ANY" };
        use ast::BinaryOperator as B;
        let op = match op {
            B::Eq => CmpOp::Eq,
            B::NotEq => CmpOp::Ne,
            B::Lt => CmpOp::Lt,
            B::LtEq => CmpOp::Le,
            B::Gt => CmpOp::Gt,
            B::GtEq => CmpOp::Ge,
            other => {
                return Err(Error::Unsupported(format!(
                    "{other} {word}; use =, <>, <, <=, > or >="
                )))
            }
        };
        let mut query = right;
        while let ast::Expr::Nested(inner) = query {
            query = inner;
        }
        let ast::Expr::Subquery(q) = query else {
            return Err(Error::Unsupported(format!(
                "{word} over anything but a subquery: write {word} (SELECT ...)"
            )));
        };
        let x = self.bind_expr(left)?;
        let mut nested = false;
        x.walk(&mut |e| {
            nested |= matches!(
                e,
                Expr::InSubquery { .. }
                    | Expr::Exists { .. }
                    | Expr::ScalarSubquery(_)
                    | Expr::Aggregate { .. }
                    | Expr::Window(_)
            )
        });
        if nested {
            return Err(Error::Unsupported(format!(
                "a subquery, aggregate or window function left of {word} (compute it in a \
                 derived table first)"
            )));
        }
        let (sub, width, sub_collation) = self.subplan(q)?;
        if width != 1 {
            return Err(Error::invalid(format!(
                "sub-select returns {width} columns - expected 1"
            )));
        }
        let (la, ra) = comparison_affinities(affinity_of(self, &x), sub.affinity);
        let collation = for_comparison(collation_of(self, &x), sub_collation);
        // `x` as the subquery sees it: its row is the subquery's enclosing row.
        let mut reads = Vec::new();
        let mut reads_further = false;
        let x = x.transform(&mut |e| match e {
            Expr::Column(index) => {
                reads.push(index);
                Expr::Outer { depth: 1, index }
            }
            Expr::Outer { depth, index } => {
                reads_further = true;
                Expr::Outer {
                    depth: depth + 1,
                    index,
                }
            }
            e => e,
        });
        let compare = if collation.is_binary() {
            Expr::Compare {
                op,
                left: Box::new(x),
                right: Box::new(Expr::Column(0)),
                left_aff: la,
                right_aff: ra,
            }
        } else {
            Expr::Compare {
                op,
                left: Box::new(collated(x, la, collation)),
                right: Box::new(collated(Expr::Column(0), ra, collation)),
                left_aff: None,
                right_aff: None,
            }
        };
        let correlated = sub.correlated || !reads.is_empty() || reads_further;
        let outer_columns = match (&sub.outer_columns, reads_further) {
            (Some(cols), false) => {
                let mut cols = cols.clone();
                cols.extend(reads);
                cols.sort_unstable();
                cols.dedup();
                Some(cols)
            }
            _ => None,
        };
        let probe = |p: &mut Self, predicate: Expr| Expr::Exists {
            plan: Box::new(SubPlan {
                id: p.new_id(),
                plan: Plan::Filter(Box::new(sub.plan.clone()), predicate),
                correlated,
                affinity: None,
                outer_columns: outer_columns.clone(),
            }),
            negated: false,
        };
        let deciding = if all {
            Expr::Not(Box::new(compare.clone()))
        } else {
            compare.clone()
        };
        let unknown = Expr::Is {
            left: Box::new(compare),
            right: Box::new(Expr::Literal(Value::Null)),
            negated: false,
        };
        let first = probe(self, deciding);
        let second = probe(self, unknown);
        Ok(Expr::Case {
            operand: None,
            whens: vec![
                (first, Expr::Literal(Value::Integer(i64::from(!all)))),
                (second, Expr::Literal(Value::Null)),
            ],
            otherwise: Some(Box::new(Expr::Literal(Value::Integer(i64::from(all))))),
        })
    }
}
