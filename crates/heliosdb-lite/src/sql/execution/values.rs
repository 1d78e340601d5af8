//! Literal rows: VALUES lists, and the single empty row of a SELECT without FROM.

use super::super::plan::Expr;
use super::{Executor, Frame, Operator, Row};
use crate::error::Result;

/// Evaluates one row of expressions per call.
pub(super) struct ValuesOp<'e> {
    ex: &'e Executor<'e>,
    rows: &'e [Vec<Expr>],
    pos: usize,
}

impl<'e> ValuesOp<'e> {
    pub(super) fn new(ex: &'e Executor<'e>, rows: &'e [Vec<Expr>]) -> Self {
        Self { ex, rows, pos: 0 }
    }
}

impl Operator for ValuesOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        let Some(exprs) = self.rows.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        let f = Frame {
            row: &[],
            parent: outer,
        };
        exprs
            .iter()
            .map(|e| self.ex.eval(e, &f))
            .collect::<Result<Row>>()
            .map(Some)
    }

    fn rewind(&mut self) {
        self.pos = 0;
    }
}
