//! DISTINCT: passes on the first of each set of equal rows, as it streams.

use super::keys::row_key;
use super::{BoxOp, Frame, Operator, Row};
use crate::error::Result;
use rustc_hash::FxHashSet as HashSet;

/// Remembers the key of every row returned and drops repeats.
pub(super) struct DistinctOp<'e> {
    input: BoxOp<'e>,
    seen: HashSet<Vec<u8>>,
}

impl<'e> DistinctOp<'e> {
    pub(super) fn new(input: BoxOp<'e>) -> Self {
        Self {
            input,
            seen: HashSet::default(),
        }
    }
}

impl Operator for DistinctOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        while let Some(row) = self.input.next(outer)? {
            if self.seen.insert(row_key(&row)) {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    fn rewind(&mut self) {
        self.seen.clear();
        self.input.rewind();
    }
}
