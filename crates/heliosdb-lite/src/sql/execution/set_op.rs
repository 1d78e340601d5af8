//! UNION, UNION ALL, INTERSECT and EXCEPT.
//!
//! UNION ALL streams both inputs. The others return distinct rows in the order SQLite's
//! sorter gives them: both inputs go through one external sort (spilling beyond the memory
//! budget) keyed by the row's order key (under the compound's collations) and tagged with
//! their side, and each run of equal rows yields at most one row. Which one matters when
//! equal rows differ (2 and 2.0, 'a' and 'A' under NOCASE): SQLite keeps the last one it
//! wrote into its temporary index, so UNION returns the run's last row, INTERSECT and
//! EXCEPT its last left row.

use super::super::collation::Collation;
use super::super::plan::{Plan, SetOp};
use super::super::value::Value;
use super::keys::{collated, order_key};
use super::spill::{Entry, FirstBlobOrder, KeyOrder, Sorted, Sorter};
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;
use std::cmp::Ordering;

/// Side tags in the sort key: the left input's rows sort before the right's among equals
/// because they go in first (the sort is stable); the tag says which side a row came from.
const LEFT: i64 = 0;
const RIGHT: i64 = 1;

/// A set operation over two inputs.
pub(super) struct SetOpOp<'e> {
    ex: &'e Executor<'e>,
    op: SetOp,
    all: bool,
    /// Per column, empty when all are BINARY.
    collations: &'e [Collation],
    left: &'e Plan,
    right: &'e Plan,
    /// UNION ALL: the input being read (left, then right).
    streaming: Option<(BoxOp<'e>, bool)>,
    /// Other operations: both inputs sorted, and the entry read ahead.
    sorted: Option<(Sorted<'e, FirstBlobOrder>, Option<Entry>)>,
}

impl<'e> SetOpOp<'e> {
    pub(super) fn new(
        ex: &'e Executor<'e>,
        op: SetOp,
        all: bool,
        collations: &'e [Collation],
        left: &'e Plan,
        right: &'e Plan,
    ) -> Self {
        Self {
            ex,
            op,
            all,
            collations,
            left,
            right,
            streaming: None,
            sorted: None,
        }
    }

    fn sort(&self, outer: Option<&Frame<'_>>) -> Result<Sorted<'e, FirstBlobOrder>> {
        let mut sorter = Sorter::new(self.ex.memory(), FirstBlobOrder, None);
        let mut n = 0usize;
        for (plan, side) in [(self.left, LEFT), (self.right, RIGHT)] {
            let mut input = self.ex.open(plan)?;
            while let Some(row) = input.next(outer)? {
                self.ex.tick(&mut n)?;
                let key = order_key(&collated(&row, self.collations));
                sorter.push(vec![Value::Blob(key), Value::Integer(side)], row)?;
            }
        }
        sorter.finish()
    }

    /// The row kept from the next run of equal rows that keeps one.
    fn next_sorted(&mut self) -> Result<Option<Row>> {
        let (sorted, head) = self.sorted.as_mut().expect("sorted");
        loop {
            let Some((key, first)) = head.take() else {
                return Ok(None);
            };
            // Left rows went in first, so a run has a left row only if it starts with one.
            let first_is_left = matches!(key[1], Value::Integer(LEFT));
            let mut any_right = !first_is_left;
            let (mut last, mut last_left) = (None, None);
            loop {
                match sorted.next()? {
                    Some((k, row)) if FirstBlobOrder.order(&k, &key) == Ordering::Equal => {
                        match k[1] {
                            Value::Integer(RIGHT) => any_right = true,
                            _ => last_left = Some(row.clone()),
                        }
                        last = Some(row);
                    }
                    other => {
                        *head = other;
                        break;
                    }
                }
            }
            let keep = match self.op {
                SetOp::Union => last.or(Some(first)),
                SetOp::Intersect if first_is_left && any_right => last_left.or(Some(first)),
                SetOp::Except if first_is_left && !any_right => last_left.or(Some(first)),
                SetOp::Intersect | SetOp::Except => None,
            };
            if keep.is_some() {
                return Ok(keep);
            }
        }
    }
}

impl Operator for SetOpOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        if self.op == SetOp::Union && self.all {
            if self.streaming.is_none() {
                self.streaming = Some((self.ex.open(self.left)?, false));
            }
            loop {
                let (op, on_right) = self.streaming.as_mut().expect("set above");
                if let Some(row) = op.next(outer)? {
                    return Ok(Some(row));
                }
                if *on_right {
                    return Ok(None);
                }
                self.streaming = Some((self.ex.open(self.right)?, true));
            }
        }
        if self.sorted.is_none() {
            let mut sorted = self.sort(outer)?;
            let head = sorted.next()?;
            self.sorted = Some((sorted, head));
        }
        self.next_sorted()
    }

    fn rewind(&mut self) {
        self.streaming = None;
        self.sorted = None;
    }
}
