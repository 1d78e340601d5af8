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

/// What a top-level conjunct reads, for the order the filter tests it in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Conjunct {
    /// The row.
    Row,
    /// No row: the same for every row ([`Expr::is_fixed_per_enclosing_row`]), checked by the
    /// gate before any row is read.
    Constant,
    /// No row, but it runs an uncorrelated subquery ([`Expr::is_fixed_with_subqueries`]):
    /// tested at the rows until it has been evaluated once.
    Subquery,
}

/// Passes on the input rows for which the predicate is true (not false, not NULL).
pub(super) struct FilterOp<'e> {
    ex: &'e Executor<'e>,
    input: BoxOp<'e>,
    predicate: &'e Expr,
    /// The conjuncts that read no row.
    constant: Vec<&'e Expr>,
    /// Whether the constant conjuncts all hold, once checked.
    gate: Option<bool>,
    /// Every conjunct in order, when some of them are [`Conjunct::Subquery`] (empty
    /// otherwise): checked one by one at the rows until those are known to hold.
    conjuncts: Vec<(&'e Expr, Conjunct)>,
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
        let mut conjuncts = Vec::new();
        if gated {
            classify(predicate, &mut conjuncts);
        }
        let constant = conjuncts
            .iter()
            .filter(|&&(_, kind)| kind == Conjunct::Constant)
            .map(|&(c, _)| c)
            .collect();
        if !conjuncts
            .iter()
            .any(|&(_, kind)| kind == Conjunct::Subquery)
        {
            conjuncts.clear();
        }
        Self {
            ex,
            input,
            predicate,
            constant,
            gate: None,
            subqueries_held: conjuncts.is_empty(),
            conjuncts,
        }
    }

    /// The predicate on `row` while the conjuncts with subqueries are not known to hold:
    /// conjunct by conjunct, as SQLite tests them (the constant ones held at the gate).
    /// `None` when one with a subquery is false (no row can pass).
    fn check_in_order(&mut self, row: &Row, outer: Option<&Frame<'_>>) -> Result<Option<bool>> {
        for &(c, kind) in &self.conjuncts {
            let held = match kind {
                Conjunct::Constant => continue,
                Conjunct::Subquery => self.ex.predicate(c, &Vec::new(), outer)?,
                Conjunct::Row => self.ex.predicate(c, row, outer)?,
            };
            match (held, kind) {
                (true, _) => {}
                (false, Conjunct::Subquery) => return Ok(None),
                (false, _) => return Ok(Some(false)),
            }
        }
        // Every conjunct with a subquery held once: it holds for every row.
        self.subqueries_held = true;
        Ok(Some(true))
    }
}

/// The top-level conjuncts of `e` in order, each with what it reads.
fn classify<'e>(e: &'e Expr, out: &mut Vec<(&'e Expr, Conjunct)>) {
    if let Expr::And(a, b) = e {
        classify(a, out);
        classify(b, out);
        return;
    }
    let kind = if e.is_fixed_per_enclosing_row() {
        Conjunct::Constant
    } else if e.is_fixed_with_subqueries() {
        Conjunct::Subquery
    } else {
        Conjunct::Row
    };
    out.push((e, kind));
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
        self.subqueries_held = self.conjuncts.is_empty();
        self.input.rewind();
    }
}
