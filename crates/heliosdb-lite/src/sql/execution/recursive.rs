//! `WITH RECURSIVE`, the way SQLite runs it: the initial SELECT's rows go into a queue; each
//! row taken from the queue is returned and the recursive SELECT runs once with that row as
//! the whole working table, its rows joining the queue. Under UNION (not UNION ALL) a row that
//! was queued before is dropped. Rows leave as they are produced, so `LIMIT` above the CTE
//! ends an unbounded recursion, and the statement's interrupt and timeout stop one without.

use super::super::collation::Collation;
use super::super::plan::Plan;
use super::keys::{collated, row_key};
use super::{Executor, Frame, Operator, Row};
use crate::error::Result;
use std::collections::{HashSet, VecDeque};
use std::rc::Rc;

/// Streams a recursive CTE's rows.
pub(super) struct RecursiveOp<'e> {
    ex: &'e Executor<'e>,
    working: usize,
    initial: &'e Plan,
    step: &'e Plan,
    /// Rows queued so far (UNION only).
    seen: Option<HashSet<Vec<u8>>>,
    /// Per column, the collation UNION compares under (empty: all BINARY).
    collations: &'e [Collation],
    queue: VecDeque<Row>,
    started: bool,
    ticks: usize,
}

impl<'e> RecursiveOp<'e> {
    pub(super) fn new(
        ex: &'e Executor<'e>,
        working: usize,
        initial: &'e Plan,
        step: &'e Plan,
        distinct: bool,
        collations: &'e [Collation],
    ) -> Self {
        Self {
            ex,
            working,
            initial,
            step,
            seen: distinct.then(HashSet::new),
            collations,
            queue: VecDeque::new(),
            started: false,
            ticks: 0,
        }
    }

    /// Queues a row unless UNION has queued the same row before.
    fn enqueue(&mut self, row: Row) {
        if let Some(seen) = &mut self.seen {
            // Rows equal under the columns' collations are the same row to UNION.
            let key = row_key(&collated(&row, self.collations));
            if !seen.insert(key) {
                return;
            }
        }
        self.queue.push_back(row);
    }
}

impl Operator for RecursiveOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        if !self.started {
            self.started = true;
            // The initial rows are all queued before any step runs, as in SQLite.
            let mut first = self.ex.open(self.initial)?;
            while let Some(row) = first.next(outer)? {
                self.enqueue(row);
            }
        }
        let Some(row) = self.queue.pop_front() else {
            return Ok(None);
        };
        self.ex.tick(&mut self.ticks)?;
        // Answers cached during the last step may have read the old working row (a derived
        // table or subquery over the CTE): the step starts from an empty cache.
        let mut cache = self.ex.cache.borrow_mut();
        cache.clear();
        cache.insert(self.working, Rc::new(vec![row.clone()]));
        drop(cache);
        *self.ex.subquery_cache.borrow_mut() = Default::default();
        let mut step = self.ex.open(self.step)?;
        while let Some(r) = step.next(outer)? {
            self.enqueue(r);
        }
        Ok(Some(row))
    }

    fn rewind(&mut self) {
        self.started = false;
        self.queue.clear();
        if let Some(seen) = &mut self.seen {
            seen.clear();
        }
    }
}
