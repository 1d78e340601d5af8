//! DISTINCT: passes on the first of each set of equal rows, as it streams.
//!
//! The keys of the rows returned are kept in a hash set, which may take half the statement's
//! memory budget. Once it is full, a row whose key is in the set is still dropped at once,
//! and any other row goes to an external sort by key; after the input ends, the first row of
//! each run of equal keys there is returned. (No spilled key is in the set, which stopped
//! growing when spilling began, so nothing is returned twice.)

use super::super::value::Value;
use super::keys::row_key;
use super::memory::Reservation;
use super::spill::{FirstBlobOrder, Sorted, Sorter};
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;
use rustc_hash::FxHashSet as HashSet;

/// Remembers the key of every row returned and drops repeats.
pub(super) struct DistinctOp<'e> {
    ex: &'e Executor<'e>,
    input: BoxOp<'e>,
    seen: HashSet<Vec<u8>>,
    reservation: Reservation<'e>,
    spill: Option<Sorter<'e, FirstBlobOrder>>,
    /// After the input: the spilled rows in key order, and the key last returned.
    spilled: Option<(Sorted<'e, FirstBlobOrder>, Option<Vec<u8>>)>,
}

impl<'e> DistinctOp<'e> {
    pub(super) fn new(ex: &'e Executor<'e>, input: BoxOp<'e>) -> Self {
        let memory = ex.memory();
        Self {
            ex,
            input,
            seen: HashSet::default(),
            reservation: Reservation::with_cap(memory, memory.limit() / 2),
            spill: None,
            spilled: None,
        }
    }

    /// The next spilled row with a key not returned yet.
    fn next_spilled(&mut self) -> Result<Option<Row>> {
        let Some((sorted, last)) = &mut self.spilled else {
            return Ok(None);
        };
        while let Some((key, row)) = sorted.next()? {
            let Some(Value::Blob(key)) = key.into_iter().next() else {
                continue;
            };
            if last.as_ref() != Some(&key) {
                *last = Some(key);
                return Ok(Some(row));
            }
        }
        Ok(None)
    }
}

impl Operator for DistinctOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        if self.spilled.is_some() {
            return self.next_spilled();
        }
        while let Some(row) = self.input.next(outer)? {
            let key = row_key(&row);
            if self.seen.contains(&key) {
                continue;
            }
            // The key is stored twice over (the set's slot and its heap bytes).
            if self.spill.is_none() && self.reservation.try_grow(key.len() + 48) {
                self.seen.insert(key);
                return Ok(Some(row));
            }
            let memory = self.ex.memory();
            self.spill
                .get_or_insert_with(|| {
                    Sorter::with_cap(memory, FirstBlobOrder, None, memory.limit() / 4)
                })
                .push(vec![Value::Blob(key)], row)?;
        }
        match self.spill.take() {
            Some(sorter) => {
                self.spilled = Some((sorter.finish()?, None));
                self.next_spilled()
            }
            None => Ok(None),
        }
    }

    fn rewind(&mut self) {
        self.seen.clear();
        self.reservation.clear();
        self.spill = None;
        self.spilled = None;
        self.input.rewind();
    }
}
