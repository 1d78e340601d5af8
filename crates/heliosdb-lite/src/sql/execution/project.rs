//! Computes output columns from input rows.

use super::super::plan::Expr;
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;

/// Evaluates one expression per output column for each input row.
pub(super) struct ProjectOp<'e> {
    ex: &'e Executor<'e>,
    input: BoxOp<'e>,
    exprs: &'e [Expr],
}

impl<'e> ProjectOp<'e> {
    pub(super) fn new(ex: &'e Executor<'e>, input: BoxOp<'e>, exprs: &'e [Expr]) -> Self {
        Self { ex, input, exprs }
    }
}

impl Operator for ProjectOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        let Some(row) = self.input.next(outer)? else {
            return Ok(None);
        };
        let f = Frame {
            row: &row,
            parent: outer,
        };
        let mut out = Vec::with_capacity(self.exprs.len());
        for e in self.exprs {
            // A projection that only reorders or drops columns needs no evaluation.
            out.push(match e {
                Expr::Column(i) => row.get(*i).cloned().unwrap_or_default(),
                e => self.ex.eval(e, &f)?,
            });
        }
        Ok(Some(out))
    }

    fn rewind(&mut self) {
        self.input.rewind();
    }
}
