//! LIMIT and OFFSET: skips and stops, without pulling more input than it returns.

use super::super::plan::Expr;
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;

/// Skips `offset` rows, then passes on at most `limit`.
pub(super) struct LimitOp<'e> {
    ex: &'e Executor<'e>,
    input: BoxOp<'e>,
    limit: Option<&'e Expr>,
    offset: Option<&'e Expr>,
    /// (rows still to skip, rows still to return), once evaluated.
    state: Option<(usize, Option<usize>)>,
}

impl<'e> LimitOp<'e> {
    pub(super) fn new(
        ex: &'e Executor<'e>,
        input: BoxOp<'e>,
        limit: Option<&'e Expr>,
        offset: Option<&'e Expr>,
    ) -> Self {
        Self {
            ex,
            input,
            limit,
            offset,
            state: None,
        }
    }
}

impl Operator for LimitOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        if self.state.is_none() {
            self.state = Some(super::limit_offset(
                self.ex,
                self.limit,
                self.offset,
                outer,
            )?);
        }
        let Some((skip, left)) = &mut self.state else {
            return Ok(None);
        };
        if *left == Some(0) {
            return Ok(None);
        }
        while *skip > 0 {
            if self.input.next(outer)?.is_none() {
                return Ok(None);
            }
            *skip -= 1;
        }
        let row = self.input.next(outer)?;
        if row.is_some() {
            if let Some(l) = left {
                *l -= 1;
            }
        }
        Ok(row)
    }

    fn rewind(&mut self) {
        self.state = None;
        self.input.rewind();
    }
}
