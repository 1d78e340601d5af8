//! Places the rows of the first relation of a join order into the query's full row layout.

use super::super::value::Value;
use super::{BoxOp, Frame, Operator, Row};
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
