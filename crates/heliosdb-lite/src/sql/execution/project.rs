//! Computes output columns from input rows.

use super::super::plan::Expr;
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;

/// Evaluates one expression per output column for each input row.
pub(super) struct ProjectOp<'e> {
    ex: &'e Executor<'e>,
    input: BoxOp<'e>,
    exprs: &'e [Expr],
    /// When every output column is an input column, in increasing input order (the shape
    /// column pruning leaves), those columns: the output is the input row itself, its
    /// values moved down in place, with no new row allocated.
    in_place: Option<Vec<usize>>,
}

impl<'e> ProjectOp<'e> {
    pub(super) fn new(ex: &'e Executor<'e>, input: BoxOp<'e>, exprs: &'e [Expr]) -> Self {
        let columns: Option<Vec<usize>> = exprs
            .iter()
            .map(|e| match e {
                Expr::Column(i) => Some(*i),
                _ => None,
            })
            .collect();
        let in_place = columns.filter(|c| c.windows(2).all(|w| w[0] < w[1]));
        Self {
            ex,
            input,
            exprs,
            in_place,
        }
    }
}

impl Operator for ProjectOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        let Some(mut row) = self.input.next(outer)? else {
            return Ok(None);
        };
        if let Some(columns) = &self.in_place {
            if columns.last().is_none_or(|&c| c < row.len()) {
                // Strictly increasing sources: position i takes column c >= i, and no later
                // output reads position i (its source is beyond c).
                for (i, &c) in columns.iter().enumerate() {
                    row.swap(i, c);
                }
                row.truncate(columns.len());
                return Ok(Some(row));
            }
        }
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
