//! ORDER BY: a full sort, or, under a LIMIT, a top-N that keeps only the rows the limit can
//! return.
//!
//! Both run on the external [`Sorter`]: rows gather in memory up to the statement's budget
//! and spill to sorted runs beyond it. Under a LIMIT the sorter keeps a buffer of at most
//! twice the rows it needs; when the buffer is full it is sorted and cut back, so a pass over
//! N input rows costs O(N log k) and holds O(k) rows for `LIMIT k`. Sorting is stable: rows
//! with equal keys keep their input order, in both modes.

use super::super::plan::{Expr, SortKey};
use super::super::value::Value;
use super::spill::{KeyOrder, Sorted, Sorter};
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;
use std::cmp::Ordering;

/// The ORDER BY terms as the sorter's comparator.
#[derive(Clone, Copy)]
pub(super) struct SortKeys<'e>(pub(super) &'e [SortKey]);

impl KeyOrder for SortKeys<'_> {
    fn order(&self, a: &[Value], b: &[Value]) -> Ordering {
        compare_keys(self.0, a, b)
    }
}

/// Sorts its input (on the first call to `next`) and returns it in order.
pub(super) struct SortOp<'e> {
    ex: &'e Executor<'e>,
    input: BoxOp<'e>,
    keys: &'e [SortKey],
    limit: Option<(Option<&'e Expr>, Option<&'e Expr>)>,
    sorted: Option<Sorted<'e, SortKeys<'e>>>,
}

impl<'e> SortOp<'e> {
    /// `limit`: the LIMIT and OFFSET above the sort, if any (the limit operator above still
    /// applies them; the sort only drops rows that cannot be returned).
    pub(super) fn new(
        ex: &'e Executor<'e>,
        input: BoxOp<'e>,
        keys: &'e [SortKey],
        limit: Option<(Option<&'e Expr>, Option<&'e Expr>)>,
    ) -> Self {
        Self {
            ex,
            input,
            keys,
            limit,
            sorted: None,
        }
    }

    fn sort(&mut self, outer: Option<&Frame<'_>>) -> Result<Sorted<'e, SortKeys<'e>>> {
        let keep = match self.limit {
            Some((limit, offset)) => {
                let (off, lim) = super::limit_offset(self.ex, limit, offset, outer)?;
                lim.map(|l| l.saturating_add(off))
            }
            None => None,
        };
        let mut sorter = Sorter::new(self.ex.memory(), SortKeys(self.keys), keep);
        if keep == Some(0) {
            return sorter.finish();
        }
        let mut n = 0usize;
        // Sort keys are computed into one buffer, handed over only with a row the sorter
        // keeps: under a LIMIT most rows fall past the cutoff and cost no allocation.
        let mut key: Vec<Value> = Vec::with_capacity(self.keys.len());
        while let Some(row) = self.input.next(outer)? {
            self.ex.tick(&mut n)?;
            let f = Frame {
                row: &row,
                parent: outer,
            };
            key.clear();
            for k in self.keys {
                key.push(self.ex.eval(&k.expr, &f)?);
            }
            if !sorter.would_keep(&key) {
                continue;
            }
            let k = std::mem::replace(&mut key, Vec::with_capacity(self.keys.len()));
            sorter.push(k, row)?;
        }
        sorter.finish()
    }
}

/// Orders two rows' sort-key values by the ORDER BY terms.
pub(super) fn compare_keys(keys: &[SortKey], a: &[Value], b: &[Value]) -> Ordering {
    for (i, key) in keys.iter().enumerate() {
        let (x, y) = (&a[i], &b[i]);
        let ord = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if key.nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if key.nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            _ => {
                let o = x.total_cmp(y);
                if key.desc {
                    o.reverse()
                } else {
                    o
                }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

impl Operator for SortOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        if self.sorted.is_none() {
            self.sorted = Some(self.sort(outer)?);
        }
        let sorted = self.sorted.as_mut().expect("set above");
        Ok(sorted.next()?.map(|(_, r)| r))
    }

    fn rewind(&mut self) {
        self.sorted = None;
        self.input.rewind();
    }
}
