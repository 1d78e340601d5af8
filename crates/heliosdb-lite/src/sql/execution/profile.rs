//! EXPLAIN ANALYZE: rows and time per plan node, gathered by wrapping each operator.

use super::super::plan::Plan;
use super::{BoxOp, Frame, Operator, Row};
use crate::error::Result;
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Instant;

/// What one plan node did while the statement ran.
#[derive(Debug, Default, Clone, Copy)]
pub struct NodeStats {
    /// Rows it returned.
    pub rows: u64,
    /// Times it was started (a lookup's inner side or a subquery runs once per outer row).
    pub loops: u64,
    /// Time spent in it, its inputs included, in nanoseconds.
    pub nanos: u64,
}

/// Statistics of a statement's plan nodes, by node.
#[derive(Debug, Default)]
pub struct Profile {
    nodes: RefCell<HashMap<usize, NodeStats>>,
}

impl Profile {
    /// The statistics of `plan`'s node, if it ran.
    pub fn stats(&self, plan: &Plan) -> Option<NodeStats> {
        self.nodes.borrow().get(&key(plan)).copied()
    }

    fn update(&self, k: usize, f: impl FnOnce(&mut NodeStats)) {
        f(self.nodes.borrow_mut().entry(k).or_default());
    }
}

/// Plan nodes are identified by address: the plan does not move while it runs.
fn key(plan: &Plan) -> usize {
    plan as *const Plan as usize
}

/// Counts the rows and time of the operator it wraps.
pub(super) struct ProfileOp<'e> {
    inner: BoxOp<'e>,
    profile: &'e Profile,
    key: usize,
    started: bool,
}

impl<'e> ProfileOp<'e> {
    pub(super) fn wrap(inner: BoxOp<'e>, profile: &'e Profile, plan: &Plan) -> BoxOp<'e> {
        Box::new(Self {
            inner,
            profile,
            key: key(plan),
            started: false,
        })
    }
}

impl Operator for ProfileOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        let t0 = Instant::now();
        let row = self.inner.next(outer);
        let nanos = t0.elapsed().as_nanos() as u64;
        let first = !self.started;
        self.started = true;
        let produced = matches!(row, Ok(Some(_)));
        self.profile.update(self.key, |s| {
            s.nanos += nanos;
            s.loops += u64::from(first);
            s.rows += u64::from(produced);
        });
        row
    }

    fn rewind(&mut self) {
        self.started = false;
        self.inner.rewind();
    }
}
