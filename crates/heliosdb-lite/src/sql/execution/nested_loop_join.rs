//! Nested-loop joins: key lookups into the right relation per left row, or a plain loop over
//! the right relation's rows kept in memory.
//!
//! With [`JoinAlgorithm::Lookup`] the right side is an index or key scan whose bounds read
//! the left row as their enclosing row; it is rewound and run again for every left row, so
//! it reads only the matching entries. With [`JoinAlgorithm::Loop`] the right side does not
//! depend on the left row: it runs once (per enclosing row of the whole join), at the first
//! left row, and every left row is paired with each of its rows. With no left row it never
//! runs, as SQLite's inner loop never does: its errors (an overflowing `sum()` in a derived
//! table) are then never raised.

use super::super::plan::{JoinAlgorithm, JoinNode};
use super::place::pair;
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;

/// The left row being joined and how far its pairing has got.
struct Current {
    left: Row,
    /// Loop: position in the kept right rows.
    pos: usize,
    matched: bool,
}

/// A nested-loop join (lookup or loop).
pub(super) struct NestedLoopJoinOp<'e> {
    ex: &'e Executor<'e>,
    left: BoxOp<'e>,
    right: BoxOp<'e>,
    join: &'e JoinNode,
    /// Loop: the right rows, read once.
    kept: Option<Vec<Row>>,
    current: Option<Current>,
    rows_seen: usize,
}

impl<'e> NestedLoopJoinOp<'e> {
    pub(super) fn new(
        ex: &'e Executor<'e>,
        left: BoxOp<'e>,
        right: BoxOp<'e>,
        join: &'e JoinNode,
    ) -> Self {
        Self {
            ex,
            left,
            right,
            join,
            kept: None,
            current: None,
            rows_seen: 0,
        }
    }

    /// The next right row for the current left row, if any.
    fn next_right(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        let cur = self.current.as_mut().expect("a current left row");
        if self.join.algorithm == JoinAlgorithm::Lookup {
            let f = Frame {
                row: &cur.left,
                parent: outer,
            };
            return self.right.next(Some(&f));
        }
        let kept = self.kept.as_ref().expect("kept rows read");
        let row = kept.get(cur.pos).cloned();
        cur.pos += 1;
        Ok(row)
    }
}

impl Operator for NestedLoopJoinOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        loop {
            if self.current.is_none() {
                let Some(left) = self.left.next(outer)? else {
                    return Ok(None);
                };
                if self.join.algorithm == JoinAlgorithm::Lookup {
                    self.right.rewind();
                } else if self.kept.is_none() {
                    // Read at the first left row, as SQLite's inner loop first runs there:
                    // with no left row the right side is never computed (an aggregate that
                    // would overflow, a subquery that would fail or never end).
                    let mut rows = Vec::new();
                    while let Some(r) = self.right.next(outer)? {
                        rows.push(r);
                    }
                    self.kept = Some(rows);
                }
                self.current = Some(Current {
                    left,
                    pos: 0,
                    matched: false,
                });
            }
            while let Some(r) = self.next_right(outer)? {
                self.ex.tick(&mut self.rows_seen)?;
                let cur = self.current.as_mut().expect("set above");
                if let Some(row) = pair(self.ex, self.join, cur.left.clone(), r, outer)? {
                    cur.matched = true;
                    return Ok(Some(row));
                }
            }
            let cur = self.current.take().expect("set above");
            if self.join.kind.keeps_left(cur.matched) {
                // The right slot of the left row is still NULL: the row padded with NULLs.
                return Ok(Some(cur.left));
            }
        }
    }

    fn rewind(&mut self) {
        self.left.rewind();
        self.right.rewind();
        self.kept = None;
        self.current = None;
    }
}
