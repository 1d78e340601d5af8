//! Keeps the rows that satisfy a predicate.

use super::super::plan::Expr;
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;

/// Passes on the input rows for which the predicate is true (not false, not NULL).
pub(super) struct FilterOp<'e> {
    ex: &'e Executor<'e>,
    input: BoxOp<'e>,
    predicate: &'e Expr,
}

impl<'e> FilterOp<'e> {
    pub(super) fn new(ex: &'e Executor<'e>, input: BoxOp<'e>, predicate: &'e Expr) -> Self {
        Self {
            ex,
            input,
            predicate,
        }
    }
}

impl Operator for FilterOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        while let Some(row) = self.input.next(outer)? {
            if self.ex.predicate(self.predicate, &row, outer)? {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    fn rewind(&mut self) {
        self.input.rewind();
    }
}
