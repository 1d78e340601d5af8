//! ORDER BY: a full sort, or, under a LIMIT, a top-N that keeps only the rows the limit can
//! return.
//!
//! Both run on the external [`Sorter`]: rows gather in memory up to the statement's budget
//! and spill to sorted runs beyond it. Under a LIMIT the sorter keeps a buffer of at most
//! twice the rows it needs; when the buffer is full it is sorted and cut back, so a pass over
//! N input rows costs O(N log k) and holds O(k) rows for `LIMIT k`. Sorting is stable: rows
//! with equal keys keep their input order, in both modes.

use super::super::codec;
use super::super::plan::{Expr, Plan, SortKey};
use super::super::value::Value;
use super::keys::abbreviate;
use super::project::ProjectOp;
use super::scan::ScanOp;
use super::spill::{KeyOrder, Sorted, Sorter};
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::rc::Rc;

/// The top-N cutoff a sort under a LIMIT shares with the table scan that feeds it, when its
/// first ORDER BY term is a stored column of that scan: once the sorter holds enough rows,
/// a row whose value of that column sorts after the cutoff's cannot be returned, and the
/// scan drops it after decoding that one value, before the rest of the row is decoded,
/// projected and offered to the sort (`ORDER BY amount DESC LIMIT 5` over a large table
/// decodes one value of most rows). Rows equal to the cutoff on that term still go to the
/// sorter, which compares them on every term.
pub(super) struct TopNCutoff {
    /// The column's position among the table's stored columns.
    column: usize,
    key: SortKey,
    /// The first term's value of the last row the sorter keeps; `None` until it is full.
    value: RefCell<Option<Value>>,
}

impl TopNCutoff {
    /// True if the stored row `data` sorts after the cutoff on the first term.
    pub(super) fn excludes(&self, data: &[u8]) -> Result<bool> {
        let cut = self.value.borrow();
        let Some(cut) = cut.as_ref() else {
            return Ok(false);
        };
        // A row stored before ADD COLUMN has the column's default: left to the sorter.
        let Some(v) = codec::decode_row_column(data, self.column)? else {
            return Ok(false);
        };
        Ok(compare_keys(
            std::slice::from_ref(&self.key),
            &[v],
            std::slice::from_ref(cut),
        ) == Ordering::Greater)
    }
}

/// Opens the input of a sort under a LIMIT, sharing a cutoff with the table scan below it when
/// the first ORDER BY term is one of the scan's stored columns, directly or through a
/// projection (see [`TopNCutoff`]).
pub(super) fn open_top_n_input<'e>(
    ex: &'e Executor<'e>,
    input: &'e Plan,
    keys: &'e [SortKey],
) -> Result<(BoxOp<'e>, Option<Rc<TopNCutoff>>)> {
    let Some(first) = keys.first() else {
        return Ok((ex.open(input)?, None));
    };
    let Expr::Column(c) = first.expr else {
        return Ok((ex.open(input)?, None));
    };
    let (scan_plan, node, project, column) = match input {
        Plan::Scan(node) => (input, node, None, c),
        Plan::Project(inner, exprs) => match (inner.as_ref(), exprs.get(c)) {
            (Plan::Scan(node), Some(Expr::Column(j))) => (inner.as_ref(), node, Some(exprs), *j),
            _ => return Ok((ex.open(input)?, None)),
        },
        _ => return Ok((ex.open(input)?, None)),
    };
    let def = &node.table.def;
    let stored = column < def.columns.len()
        && def.rowid_column != Some(column)
        && def.columns.iter().all(|col| col.generated.is_none());
    if !stored {
        return Ok((ex.open(input)?, None));
    }
    let cutoff = Rc::new(TopNCutoff {
        column,
        key: SortKey {
            expr: Expr::Column(0),
            desc: first.desc,
            nulls_first: first.nulls_first,
        },
        value: RefCell::new(None),
    });
    let scan = ScanOp::new(ex, node).with_cutoff(cutoff.clone());
    let mut op = ex.profiled(scan_plan, Box::new(scan));
    if let Some(exprs) = project {
        op = ex.profiled(input, Box::new(ProjectOp::new(ex, op, exprs)));
    }
    Ok((op, Some(cutoff)))
}

/// The ORDER BY terms as the sorter's comparator.
#[derive(Clone, Copy)]
pub(super) struct SortKeys<'e>(pub(super) &'e [SortKey]);

impl KeyOrder for SortKeys<'_> {
    fn order(&self, a: &[Value], b: &[Value]) -> Ordering {
        compare_keys(self.0, a, b)
    }

    /// The first term's value abbreviated, placed as [`compare_keys`] places it: NULLs at
    /// the very start or end, the order of the others reversed for DESC.
    fn abbreviate(&self, key: &[Value]) -> Option<u64> {
        let (term, v) = (self.0.first()?, key.first()?);
        if v.is_null() {
            return Some(if term.nulls_first { 0 } else { u64::MAX });
        }
        // Non-NULL abbreviations have a class of 1 to 3 in their top byte, so they stay
        // clear of 0 and u64::MAX either way round.
        let a = abbreviate(v)?;
        Some(if term.desc { u64::MAX - a } else { a })
    }
}

/// Sorts its input (on the first call to `next`) and returns it in order.
pub(super) struct SortOp<'e> {
    ex: &'e Executor<'e>,
    input: BoxOp<'e>,
    keys: &'e [SortKey],
    limit: Option<(Option<&'e Expr>, Option<&'e Expr>)>,
    sorted: Option<Sorted<'e, SortKeys<'e>>>,
    /// Shared with the scan below (top-N only).
    cutoff: Option<Rc<TopNCutoff>>,
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
            cutoff: None,
        }
    }

    /// Keeps `cutoff` up to date while sorting (see [`TopNCutoff`]).
    pub(super) fn with_cutoff(mut self, cutoff: Option<Rc<TopNCutoff>>) -> Self {
        self.cutoff = cutoff;
        self
    }

    fn sort(&mut self, outer: Option<&Frame<'_>>) -> Result<Sorted<'e, SortKeys<'e>>> {
        let keep = match self.limit {
            Some((limit, offset)) => {
                let (off, lim) = super::limit_offset(self.ex, limit, offset, outer)?;
                lim.map(|l| l.saturating_add(off))
            }
            None => None,
        };
        if let Some(shared) = &self.cutoff {
            // Set by an earlier pass, for another enclosing row.
            *shared.value.borrow_mut() = None;
        }
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
            if let (Some(shared), Some(cut)) = (&self.cutoff, sorter.cutoff()) {
                *shared.value.borrow_mut() = cut.first().cloned();
            }
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

#[cfg(test)]
mod tests {
    use super::super::memory::QueryMemory;
    use super::*;
    use proptest::prelude::*;

    /// Values that stress the abbreviations: integers around the float precision limits,
    /// reals equal to integers, texts and blobs sharing long prefixes, NULLs, decimals.
    fn arb_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            (-3i64..3).prop_map(Value::Integer),
            any::<i64>().prop_map(Value::Integer),
            (-4i64..4).prop_map(|d| Value::Integer((1 << 53) + d)),
            (-4i64..4).prop_map(|d| Value::Integer(i64::MAX - d)),
            (-4i64..4).prop_map(|d| Value::Real(((1i64 << 53) + d) as f64)),
            Just(Value::Real(9.223_372_036_854_776e18)),
            (-3i64..3).prop_map(|i| Value::Real(i as f64 / 2.0)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::Real),
            "[ab]{0,10}".prop_map(|s| Value::Text(format!("prefix_{s}"))),
            "[a-c\u{e9}]{0,4}".prop_map(Value::Text),
            proptest::collection::vec(0u8..3, 0..10).prop_map(Value::Blob),
            (-5i64..5).prop_map(|i| Value::Decimal(rust_decimal::Decimal::new(i, 1))),
        ]
    }

    fn terms(flags: &[(bool, bool)]) -> Vec<SortKey> {
        flags
            .iter()
            .enumerate()
            .map(|(i, &(desc, nulls_first))| SortKey {
                expr: Expr::Column(i),
                desc,
                nulls_first,
            })
            .collect()
    }

    proptest! {
        #[test]
        fn abbreviations_never_contradict_the_order(
            a in arb_value(),
            b in arb_value(),
            desc in any::<bool>(),
            nulls_first in any::<bool>(),
        ) {
            if let (Some(x), Some(y)) = (abbreviate(&a), abbreviate(&b)) {
                if x < y {
                    prop_assert_eq!(a.total_cmp(&b), Ordering::Less, "{:?} {:?}", a, b);
                }
            }
            let keys = terms(&[(desc, nulls_first)]);
            let order = SortKeys(&keys);
            let (ka, kb) = (vec![a.clone()], vec![b.clone()]);
            if let (Some(x), Some(y)) = (order.abbreviate(&ka), order.abbreviate(&kb)) {
                if x != y {
                    prop_assert_eq!(x.cmp(&y), order.order(&ka, &kb), "{:?} {:?}", a, b);
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// With the small budget, rows of 4 KB overflow the sorter's 1 MiB floor: the
        /// entries go through spilled runs and a merge.
        #[test]
        fn sorts_as_a_stable_sort_of_the_terms(
            rows in proptest::collection::vec((arb_value(), arb_value()), 0..600),
            flags in proptest::collection::vec((any::<bool>(), any::<bool>()), 2),
            budget in prop_oneof![Just(2_000usize), Just(usize::MAX)],
            keep in proptest::option::of(0usize..40),
        ) {
            let keys = terms(&flags);
            let order = SortKeys(&keys);
            let memory = QueryMemory::new(budget, None);
            let mut sorter = Sorter::new(&memory, order, keep);
            let pad = Value::Text("x".repeat(4000));
            for (seq, (a, b)) in rows.iter().enumerate() {
                sorter
                    .push(vec![a.clone(), b.clone()], vec![Value::Integer(seq as i64), pad.clone()])
                    .unwrap();
            }
            let mut sorted = sorter.finish().unwrap();
            let mut got = Vec::new();
            while let Some((_, row)) = sorted.next().unwrap() {
                got.push(row[0].clone());
            }
            let mut want: Vec<(Vec<Value>, i64)> = rows
                .iter()
                .enumerate()
                .map(|(seq, (a, b))| (vec![a.clone(), b.clone()], seq as i64))
                .collect();
            want.sort_by(|x, y| compare_keys(&keys, &x.0, &y.0));
            want.truncate(keep.unwrap_or(usize::MAX));
            let want: Vec<Value> = want.into_iter().map(|(_, s)| Value::Integer(s)).collect();
            prop_assert_eq!(format!("{got:?}"), format!("{want:?}"));
        }
    }
}
