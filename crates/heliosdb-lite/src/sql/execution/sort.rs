//! ORDER BY: a full sort, or, under a LIMIT, a top-N that keeps only the rows the limit can
//! return.
//!
//! The top-N keeps a buffer of at most twice the rows it needs; when the buffer is full it is
//! sorted and cut back, so a pass over N input rows costs O(N log k) and holds O(k) rows for
//! `LIMIT k`. Sorting is stable: rows with equal keys keep their input order, in both modes.

use super::super::plan::{Expr, SortKey};
use super::super::value::Value;
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;
use std::cmp::Ordering;

/// Sorts its input (on the first call to `next`) and returns it in order.
pub(super) struct SortOp<'e> {
    ex: &'e Executor<'e>,
    input: BoxOp<'e>,
    keys: &'e [SortKey],
    limit: Option<(Option<&'e Expr>, Option<&'e Expr>)>,
    sorted: Option<std::vec::IntoIter<(Vec<Value>, Row)>>,
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

    fn sort(&mut self, outer: Option<&Frame<'_>>) -> Result<Vec<(Vec<Value>, Row)>> {
        let keep = match self.limit {
            Some((limit, offset)) => {
                let (off, lim) = super::limit_offset(self.ex, limit, offset, outer)?;
                lim.map(|l| l.saturating_add(off))
            }
            None => None,
        };
        let keys = self.keys;
        let cmp = |a: &(Vec<Value>, Row), b: &(Vec<Value>, Row)| compare_keys(keys, &a.0, &b.0);
        let mut buf: Vec<(Vec<Value>, Row)> = Vec::new();
        if keep == Some(0) {
            return Ok(buf);
        }
        let mut n = 0usize;
        // Once the buffer has been cut back to the `keep` best rows, the worst of them: a row
        // that does not sort before it can never be returned (a tie loses too, as the earlier
        // row comes first), so it is dropped without being stored.
        let mut cutoff: Option<Vec<Value>> = None;
        while let Some(row) = self.input.next(outer)? {
            self.ex.tick(&mut n)?;
            let f = Frame {
                row: &row,
                parent: outer,
            };
            let k = keys
                .iter()
                .map(|k| self.ex.eval(&k.expr, &f))
                .collect::<Result<Vec<_>>>()?;
            if let Some(c) = &cutoff {
                if compare_keys(keys, &k, c) != Ordering::Less {
                    continue;
                }
            }
            buf.push((k, row));
            if let Some(k) = keep {
                if buf.len() >= k.saturating_mul(2).max(64) {
                    buf.sort_by(cmp);
                    buf.truncate(k);
                    cutoff = buf.last().map(|(key, _)| key.clone());
                }
            }
        }
        buf.sort_by(cmp);
        if let Some(k) = keep {
            buf.truncate(k);
        }
        Ok(buf)
    }
}

/// Orders two rows' sort-key values by the ORDER BY terms.
fn compare_keys(keys: &[SortKey], a: &[Value], b: &[Value]) -> Ordering {
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
            self.sorted = Some(self.sort(outer)?.into_iter());
        }
        Ok(self
            .sorted
            .as_mut()
            .and_then(Iterator::next)
            .map(|(_, r)| r))
    }

    fn rewind(&mut self) {
        self.sorted = None;
        self.input.rewind();
    }
}
