//! UNION, UNION ALL, INTERSECT and EXCEPT.
//!
//! UNION ALL streams both inputs. The others return distinct rows in the order SQLite's
//! sorter gives them, so they collect their input first.

use super::super::plan::{Plan, SetOp};
use super::keys::{order_key, row_key};
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;
use std::collections::{BTreeMap, HashSet};

/// A set operation over two inputs.
pub(super) struct SetOpOp<'e> {
    ex: &'e Executor<'e>,
    op: SetOp,
    all: bool,
    left: &'e Plan,
    right: &'e Plan,
    /// UNION ALL: the input being read (left, then right).
    streaming: Option<(BoxOp<'e>, bool)>,
    /// Other operations: the result, in order.
    result: Option<std::vec::IntoIter<Row>>,
}

impl<'e> SetOpOp<'e> {
    pub(super) fn new(
        ex: &'e Executor<'e>,
        op: SetOp,
        all: bool,
        left: &'e Plan,
        right: &'e Plan,
    ) -> Self {
        Self {
            ex,
            op,
            all,
            left,
            right,
            streaming: None,
            result: None,
        }
    }

    fn compute(&self, outer: Option<&Frame<'_>>) -> Result<Vec<Row>> {
        let l = self.ex.run(self.left, outer)?;
        let r = self.ex.run(self.right, outer)?;
        let mut m = BTreeMap::new();
        match self.op {
            SetOp::Union => {
                for row in l.into_iter().chain(r) {
                    m.entry(order_key(&row)).or_insert(row);
                }
            }
            SetOp::Intersect | SetOp::Except => {
                let right: HashSet<Vec<u8>> = r.iter().map(|x| row_key(x)).collect();
                let keep_if = self.op == SetOp::Intersect;
                for row in l {
                    if right.contains(&row_key(&row)) == keep_if {
                        m.entry(order_key(&row)).or_insert(row);
                    }
                }
            }
        }
        Ok(m.into_values().collect())
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
        if self.result.is_none() {
            self.result = Some(self.compute(outer)?.into_iter());
        }
        Ok(self.result.as_mut().and_then(Iterator::next))
    }

    fn rewind(&mut self) {
        self.streaming = None;
        self.result = None;
    }
}
