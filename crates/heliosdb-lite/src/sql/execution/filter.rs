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
//!
//! A conjunct that reads no row but holds an uncorrelated subquery (`(SELECT count(*) FROM
//! u) > 5`) is also the same for every row, but SQLite evaluates it only when a row reaches
//! it (a subquery may fail, and with no row SQLite never runs it). It is therefore checked at
//! the rows, in its place among the conjuncts, until it has been evaluated once: when false,
//! no row can pass, and the input is read no further.

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
    /// Every conjunct, when some read no row but hold an uncorrelated subquery (the flag):
    /// checked one by one at the rows until those are known to hold.
    conjuncts: Vec<(&'e Expr, bool)>,
    /// Whether the conjuncts with subqueries were all evaluated and held.
    subqueries_held: bool,
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
        let mut conjuncts = Vec::new();
        if gated {
            constant_conjuncts(predicate, &mut constant);
            flat_conjuncts(predicate, &mut conjuncts);
        }
        let subqueries_held = !conjuncts.iter().any(|&(_, subquery)| subquery);
        if subqueries_held {
            conjuncts.clear();
        }
        Self {
            ex,
            input,
            predicate,
            constant,
            gate: None,
            conjuncts,
            subqueries_held,
        }
    }

    /// The predicate on `row` while the conjuncts with subqueries are not known to hold:
    /// conjunct by conjunct, as SQLite tests them. `None` when one of those is false (no
    /// row can pass).
    fn check_in_order(&mut self, row: &Row, outer: Option<&Frame<'_>>) -> Result<Option<bool>> {
        let mut evaluated_all = true;
        for &(c, subquery) in &self.conjuncts {
            let held = match subquery {
                true => self.ex.predicate(c, &Vec::new(), outer)?,
                false => self.ex.predicate(c, row, outer)?,
            };
            if !held {
                if subquery {
                    return Ok(None);
                }
                evaluated_all = false;
                break;
            }
        }
        if evaluated_all {
            // Every conjunct with a subquery held once: it holds for every row.
            self.subqueries_held = true;
        }
        Ok(Some(evaluated_all))
    }
}

/// The top-level conjuncts of `e` in order, each flagged when it reads no row of this query
/// but holds an uncorrelated subquery ([`Expr::is_fixed_with_subqueries`]).
fn flat_conjuncts<'e>(e: &'e Expr, out: &mut Vec<(&'e Expr, bool)>) {
    if let Expr::And(a, b) = e {
        flat_conjuncts(a, out);
        flat_conjuncts(b, out);
        return;
    }
    out.push((
        e,
        !e.is_fixed_per_enclosing_row() && e.is_fixed_with_subqueries(),
    ));
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
            if !self.subqueries_held {
                match self.check_in_order(&row, outer)? {
                    None => {
                        self.gate = Some(false);
                        return Ok(None);
                    }
                    Some(true) => return Ok(Some(row)),
                    Some(false) => continue,
                }
            }
            if self.ex.predicate(self.predicate, &row, outer)? {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    fn rewind(&mut self) {
        // A new enclosing row: terms that read it may say otherwise now.
        self.gate = None;
        self.subqueries_held = !self.conjuncts.iter().any(|&(_, subquery)| subquery);
        self.input.rewind();
    }
}
