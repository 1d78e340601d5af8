//! GROUP BY and aggregates: hash aggregation, and `count(*)` that counts stored entries.
//!
//! Groups are found through a hash table on the group key, one accumulator per aggregate and
//! group; the input streams through and only the groups stay in memory. Groups come out in
//! the order of their keys, as SQLite's sorter-based grouping returns them. A bare
//! `count(*)` over an unfiltered scan counts storage entries without decoding rows.
//!
//! # Beyond the memory budget
//!
//! The hash table may take half the statement's budget, the spill's sort buffer a quarter;
//! the rest is room for the groups' state to grow (DISTINCT sets, group_concat text), which
//! cannot be spilled and fails the statement if it outgrows the budget. Once the table is full, rows of groups it
//! already holds still update them in place, and rows of any other group go to an external
//! sort by group key. So every group is complete in exactly one place: the table, or a run
//! of equal keys in the sorted spill, which is aggregated one group at a time as it is read
//! back. Both are in key order, and the output merges them.

use super::super::plan::{AggFn, Expr, Plan};
use super::super::value::Value;
use super::accumulator::Accumulator;
use super::keys::row_key;
use super::memory::{row_bytes, Reservation};
use super::scan::ScanOp;
use super::spill::{FirstBlobOrder, Sorted, Sorter};
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;
use rustc_hash::FxHashMap as HashMap;

/// Opens an aggregation over `input`.
pub(super) fn open<'e>(
    ex: &'e Executor<'e>,
    input: &'e Plan,
    group_by: &'e [Expr],
    aggregates: &'e [Expr],
    input_row: bool,
) -> Result<BoxOp<'e>> {
    if let Plan::Scan(node) = input {
        let only_count_star = !aggregates.is_empty()
            && aggregates.iter().all(|a| {
                matches!(
                    a,
                    Expr::Aggregate {
                        func: AggFn::CountStar,
                        ..
                    }
                )
            });
        if group_by.is_empty()
            && !input_row
            && only_count_star
            && node.filter.is_none()
            && node.stop_after.is_none()
        {
            return Ok(Box::new(CountOp {
                scan: ScanOp::new(ex, node),
                width: aggregates.len(),
                done: false,
            }));
        }
    }
    Ok(Box::new(HashAggregateOp {
        ex,
        input: ex.open(input)?,
        group_by,
        aggregates,
        input_row,
        output: None,
    }))
}

/// `SELECT count(*) FROM t` (possibly several times over): counts without decoding.
struct CountOp<'e> {
    scan: ScanOp<'e>,
    width: usize,
    done: bool,
}

impl Operator for CountOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        if self.done {
            return Ok(None);
        }
        self.done = true;
        let n = self.scan.count(outer)?;
        Ok(Some(vec![Value::Integer(n); self.width]))
    }

    fn rewind(&mut self) {
        self.done = false;
        self.scan.rewind();
    }
}

/// One group: its key values and the running aggregates.
struct Group {
    key: Vec<u8>,
    values: Row,
    accumulators: Vec<Accumulator>,
    /// The group's last input row, when the plan asks for it.
    last: Option<Row>,
}

impl Group {
    fn into_row(self) -> Result<Row> {
        let mut row = self.values;
        for acc in self.accumulators {
            row.push(acc.finish()?);
        }
        // An empty input's single group has no input row: references past the end of a
        // row read as NULL, as the row's columns would.
        if let Some(last) = self.last {
            row.extend(last);
        }
        Ok(row)
    }
}

/// Fixed bytes of a group in the table, besides its key and values: the index entry and
/// the accumulators' own state.
fn group_overhead(aggregates: usize) -> usize {
    64 + aggregates * std::mem::size_of::<Accumulator>()
}

/// The finished aggregation: the table's groups and the spilled groups, both in key order.
struct Output<'e> {
    groups: std::iter::Peekable<std::vec::IntoIter<Group>>,
    spilled: Option<Sorted<'e, FirstBlobOrder>>,
    /// The first entry of the next spilled group, read ahead.
    spilled_head: Option<(Vec<Value>, Row)>,
    /// Holds the table's share of the budget until the output is read.
    _reservation: Reservation<'e>,
}

/// Hash aggregation: output rows are the group values followed by the aggregate values.
struct HashAggregateOp<'e> {
    ex: &'e Executor<'e>,
    input: BoxOp<'e>,
    group_by: &'e [Expr],
    aggregates: &'e [Expr],
    input_row: bool,
    output: Option<Output<'e>>,
}

impl<'e> HashAggregateOp<'e> {
    fn new_group(&self, key: Vec<u8>, values: Row) -> Group {
        Group {
            key,
            values,
            accumulators: self.aggregates.iter().map(Accumulator::new).collect(),
            last: None,
        }
    }

    /// Adds one input row to its group.
    fn accumulate(&self, group: &mut Group, row: Row, outer: Option<&Frame<'_>>) -> Result<()> {
        let f = Frame {
            row: &row,
            parent: outer,
        };
        for (acc, agg) in group.accumulators.iter_mut().zip(self.aggregates) {
            if let Expr::Aggregate { args, .. } = agg {
                let vals = args
                    .iter()
                    .map(|a| self.ex.eval(a, &f))
                    .collect::<Result<Vec<_>>>()?;
                acc.add(vals)?;
            }
        }
        if self.input_row {
            group.last = Some(row);
        }
        Ok(())
    }

    fn retained(group: &Group) -> usize {
        group
            .accumulators
            .iter()
            .map(Accumulator::retained)
            .sum::<usize>()
            + group.last.as_ref().map_or(0, |r| row_bytes(r))
    }

    fn group_values(&self, row: &[Value], outer: Option<&Frame<'_>>) -> Result<Row> {
        let f = Frame { row, parent: outer };
        self.group_by.iter().map(|g| self.ex.eval(g, &f)).collect()
    }

    fn aggregate(&mut self, outer: Option<&Frame<'_>>) -> Result<Output<'e>> {
        let memory = self.ex.memory();
        let mut reservation = Reservation::with_cap(memory, memory.limit() / 2);
        let mut index: HashMap<Vec<u8>, usize> = HashMap::default();
        let mut groups: Vec<Group> = Vec::new();
        let mut spill: Option<Sorter<'e, FirstBlobOrder>> = None;
        let overhead = group_overhead(self.aggregates.len());
        let mut n = 0usize;
        while let Some(row) = self.input.next(outer)? {
            self.ex.tick(&mut n)?;
            let slot = if self.group_by.is_empty() {
                if groups.is_empty() {
                    groups.push(self.new_group(Vec::new(), Vec::new()));
                }
                0
            } else {
                let values = self.group_values(&row, outer)?;
                let key = row_key(&values);
                match index.get(&key) {
                    Some(&i) => i,
                    None => {
                        let bytes = 2 * key.len() + row_bytes(&values) + overhead;
                        if spill.is_some() || !reservation.try_grow(bytes) {
                            // The table is full: this group is aggregated from the spill.
                            spill
                                .get_or_insert_with(|| {
                                    Sorter::with_cap(
                                        memory,
                                        FirstBlobOrder,
                                        None,
                                        memory.limit() / 4,
                                    )
                                })
                                .push(vec![Value::Blob(key)], row)?;
                            continue;
                        }
                        index.insert(key.clone(), groups.len());
                        groups.push(self.new_group(key, values));
                        groups.len() - 1
                    }
                }
            };
            let before = Self::retained(&groups[slot]);
            self.accumulate(&mut groups[slot], row, outer)?;
            let after = Self::retained(&groups[slot]);
            if after > before {
                // A group's own state cannot be spilled: it may only fail past the budget.
                reservation.grow_beyond_cap(after - before, "one group's aggregate state")?;
            }
        }
        if groups.is_empty() && self.group_by.is_empty() {
            groups.push(self.new_group(Vec::new(), Vec::new()));
        }
        drop(index);
        groups.sort_by(|a, b| a.key.cmp(&b.key));
        let mut spilled = spill.map(Sorter::finish).transpose()?;
        let spilled_head = match &mut spilled {
            Some(s) => s.next()?,
            None => None,
        };
        Ok(Output {
            groups: groups.into_iter().peekable(),
            spilled,
            spilled_head,
            _reservation: reservation,
        })
    }

    /// Aggregates the next group of the sorted spill (all entries with the key of the one
    /// read ahead).
    fn next_spilled_group(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Group>> {
        let out = self.output.as_mut().expect("aggregated");
        let Some((key, row)) = out.spilled_head.take() else {
            return Ok(None);
        };
        let Some(Value::Blob(key)) = key.into_iter().next() else {
            return Ok(None);
        };
        let values = self.group_values(&row, outer)?;
        let mut group = self.new_group(key, values);
        self.accumulate(&mut group, row, outer)?;
        let mut n = 0usize;
        loop {
            let out = self.output.as_mut().expect("aggregated");
            let next = out.spilled.as_mut().expect("spilled").next()?;
            match next {
                Some((k, r)) if matches!(&k[0], Value::Blob(b) if *b == group.key) => {
                    self.ex.tick(&mut n)?;
                    self.accumulate(&mut group, r, outer)?;
                }
                other => {
                    self.output.as_mut().expect("aggregated").spilled_head = other;
                    return Ok(Some(group));
                }
            }
        }
    }
}

impl Operator for HashAggregateOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        if self.output.is_none() {
            self.output = Some(self.aggregate(outer)?);
        }
        let out = self.output.as_mut().expect("set above");
        // The table's groups and the spilled ones have different keys: take the smaller.
        let spilled_first = match (&out.spilled_head, out.groups.peek()) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some((k, _)), Some(g)) => matches!(&k[0], Value::Blob(b) if *b < g.key),
        };
        let group = if spilled_first {
            self.next_spilled_group(outer)?
        } else {
            out.groups.next()
        };
        group.map(Group::into_row).transpose()
    }

    fn rewind(&mut self) {
        self.output = None;
        self.input.rewind();
    }
}
