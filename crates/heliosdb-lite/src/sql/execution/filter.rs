//! Keeps the rows that satisfy a predicate.
//!
//! A conjunct of the predicate that reads no row (`(6 * 2) = 0`, `?1 > 5`, `outer.c > 0` in
//! a correlated subquery: literals, parameters, columns of the enclosing row and
//! deterministic functions of them) is the same for every row, so it is checked once, before
//! the input is read (again after each rewind, for a new enclosing row): when it is false
//! nothing is read at all, as SQLite does with a constant WHERE term. The input may be
//! costly, or never end (a recursive CTE that counts without a bound), and SQLite returns at
//! once. A HAVING filter is not gated: SQLite computes its groups whatever a constant term
//! there says.

use super::super::plan::Expr;
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;

/// Passes on the input rows for which the predicate is true (not false, not NULL).
pub(super) struct FilterOp<'e> {
    ex: &'e Executor<'e>,
    input: BoxOp<'e>,
    predicate: &'e Expr,
    /// The conjuncts that read no row.
    constant: Vec<&'e Expr>,
    /// Whether the constant conjuncts all hold, once checked.
    gate: Option<bool>,
}

impl<'e> FilterOp<'e> {
    /// `gated`: check the conjuncts that read no row first (a WHERE; not a HAVING, whose
    /// groups SQLite computes whatever its constant terms say).
    pub(super) fn new(
        ex: &'e Executor<'e>,
        input: BoxOp<'e>,
        predicate: &'e Expr,
        gated: bool,
    ) -> Self {
        let mut constant = Vec::new();
        if gated {
            constant_conjuncts(predicate, &mut constant);
        }
        Self {
            ex,
            input,
            predicate,
            constant,
            gate: None,
        }
    }
}

/// Collects the top-level conjuncts of `e` that read no row of this query and give the same
/// value each time for the same enclosing row ([`Expr::is_fixed_per_enclosing_row`]).
fn constant_conjuncts<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    if let Expr::And(a, b) = e {
        constant_conjuncts(a, out);
        constant_conjuncts(b, out);
        return;
    }
    if e.is_fixed_per_enclosing_row() {
        out.push(e);
    }
}

impl Operator for FilterOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        let open = match self.gate {
            Some(open) => open,
            None => {
                let mut open = true;
                for c in &self.constant {
                    if !self.ex.predicate(c, &Vec::new(), outer)? {
                        open = false;
                        break;
                    }
                }
                *self.gate.insert(open)
            }
        };
        if !open {
            return Ok(None);
        }
        while let Some(row) = self.input.next(outer)? {
            if self.ex.predicate(self.predicate, &row, outer)? {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    fn rewind(&mut self) {
        // A new enclosing row: terms that read it may say otherwise now.
        self.gate = None;
        self.input.rewind();
    }
}
