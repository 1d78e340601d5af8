//! Places the rows of the first relation of a join order into the query's full row layout.

use super::super::plan::JoinNode;
use super::super::value::Value;
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;

/// Widens each input row to `width` columns, the input's at `offset`, NULL elsewhere (the
/// slots the joins above fill).
pub(super) struct PlaceOp<'e> {
    input: BoxOp<'e>,
    offset: usize,
    width: usize,
}

impl<'e> PlaceOp<'e> {
    pub(super) fn new(input: BoxOp<'e>, offset: usize, width: usize) -> Self {
        Self {
            input,
            offset,
            width,
        }
    }
}

/// Copies `part` into `row` at `offset`.
pub(super) fn fill(row: &mut [Value], offset: usize, part: Row) {
    for (slot, v) in row[offset..].iter_mut().zip(part) {
        *slot = v;
    }
}

/// A join's candidate pair: the right row placed into (a copy of) the left row, kept if the
/// join's condition holds on it.
pub(super) fn pair(
    ex: &Executor<'_>,
    join: &JoinNode,
    mut row: Row,
    right: Row,
    outer: Option<&Frame<'_>>,
) -> Result<Option<Row>> {
    fill(&mut row, join.offset, right);
    let ok = match &join.condition {
        Some(c) => ex.predicate(c, &row, outer)?,
        None => true,
    };
    Ok(ok.then_some(row))
}

impl Operator for PlaceOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        let Some(part) = self.input.next(outer)? else {
            return Ok(None);
        };
        let mut row = vec![Value::Null; self.width];
        fill(&mut row, self.offset, part);
        Ok(Some(row))
    }

    fn rewind(&mut self) {
        self.input.rewind();
    }
}
