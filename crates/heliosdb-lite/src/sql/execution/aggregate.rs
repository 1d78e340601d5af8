//! GROUP BY and aggregates: hash aggregation, and `count(*)` that counts stored entries.
//!
//! Groups are found through a hash table on the group key, one accumulator per aggregate and
//! group; the input streams through and only the groups stay in memory. Groups come out in
//! the order of their keys, as SQLite's sorter-based grouping returns them. A bare
//! `count(*)` over an unfiltered scan counts storage entries without decoding rows.
//!
//! # Beyond the memory budget
//!
//! The table of groups ([`GroupTable`]) may take half the statement's budget, the spill's
//! sort buffer a quarter; the rest is room for the groups' state to grow (DISTINCT sets,
//! group_concat text), which cannot be spilled and fails the statement if it outgrows the
//! budget. When no group holds state that grows (only counts and sums), the table takes
//! three quarters. Once the table is full, rows of groups it already holds still update them in
//! place, and rows of any other group go to an external sort by group key, carrying only
//! what aggregating them needs: the group values and the aggregates' evaluated arguments
//! (and the row itself only when the plan reads the group's last row). So every group is
//! complete in exactly one place: the table, or a run of equal keys in the sorted spill,
//! which is aggregated one group at a time as it is read back. Both are in key order, and
//! the output merges them.

use super::super::plan::{AggFn, Expr, Plan};
use super::super::value::Value;
use super::accumulator::Accumulator;
use super::group_table::{Group, GroupTable, SortedGroups};
use super::keys::row_key_into;
use super::memory::Reservation;
use super::scan::ScanOp;
use super::spill::{FirstBlobOrder, Sorted, Sorter};
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;

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
    let arg_counts = aggregates
        .iter()
        .map(|a| match a {
            Expr::Aggregate { args, .. } => args.len(),
            _ => 0,
        })
        .collect();
    Ok(Box::new(HashAggregateOp {
        ex,
        input: ex.open(input)?,
        group_by,
        aggregates,
        arg_counts,
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

/// Whether an aggregate's state holds heap that grows as rows arrive (a DISTINCT set, text
/// being built, a kept min/max value), which the budget must follow row by row and for
/// which the table must leave room.
fn holds_heap(agg: &Expr) -> bool {
    match agg {
        Expr::Aggregate { func, distinct, .. } => {
            *distinct
                || matches!(
                    func,
                    AggFn::GroupConcat
                        | AggFn::JsonGroupArray
                        | AggFn::JsonGroupObject
                        | AggFn::Min
                        | AggFn::Max
                        | AggFn::AnyValue
                        | AggFn::First
                )
        }
        _ => false,
    }
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

/// The finished aggregation: the table's groups and the spilled groups, both in key order.
struct Output<'e> {
    groups: SortedGroups,
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
    /// How many arguments each aggregate takes.
    arg_counts: Vec<usize>,
    input_row: bool,
    output: Option<Output<'e>>,
}

impl<'e> HashAggregateOp<'e> {
    fn new_accumulators(&self) -> impl Iterator<Item = Accumulator> + 'e {
        self.aggregates.iter().map(Accumulator::new)
    }

    /// Evaluates every aggregate's arguments on `row`, appending them to `out`.
    fn eval_args(&self, row: &[Value], outer: Option<&Frame<'_>>, out: &mut Row) -> Result<()> {
        let f = Frame { row, parent: outer };
        for agg in self.aggregates {
            if let Expr::Aggregate { args, .. } = agg {
                for a in args {
                    out.push(self.ex.eval(a, &f)?);
                }
            }
        }
        Ok(())
    }

    /// Feeds evaluated arguments (as [`Self::eval_args`] lays them out) to accumulators.
    fn add_args(&self, accumulators: &mut [Accumulator], args: &mut [Value]) -> Result<()> {
        let mut at = 0;
        for (acc, &n) in accumulators.iter_mut().zip(&self.arg_counts) {
            acc.add(args[at..at + n].iter_mut().map(std::mem::take))?;
            at += n;
        }
        Ok(())
    }

    fn group_values(&self, row: &[Value], outer: Option<&Frame<'_>>, out: &mut Row) -> Result<()> {
        let f = Frame { row, parent: outer };
        out.clear();
        for g in self.group_by {
            out.push(self.ex.eval(g, &f)?);
        }
        Ok(())
    }

    fn aggregate(&mut self, outer: Option<&Frame<'_>>) -> Result<Output<'e>> {
        let memory = self.ex.memory();
        let track_heap = self.aggregates.iter().any(holds_heap);
        let share = if track_heap || self.input_row {
            memory.limit() / 2
        } else {
            memory.limit() / 4 * 3
        };
        let mut reservation = Reservation::with_cap(memory, share);
        let mut table = GroupTable::new(self.group_by.len(), self.aggregates.len(), self.input_row);
        let mut spill: Option<Sorter<'e, FirstBlobOrder>> = None;
        let mut values: Row = Vec::with_capacity(self.group_by.len());
        let mut key: Vec<u8> = Vec::new();
        let mut args: Row = Vec::new();
        // The group of the previous row: ordered input and no GROUP BY find it again
        // without hashing.
        let mut previous: Option<usize> = None;
        let mut n = 0usize;
        while let Some(row) = self.input.next(outer)? {
            self.ex.tick(&mut n)?;
            self.group_values(&row, outer, &mut values)?;
            row_key_into(&values, &mut key);
            let found = match previous {
                // Without GROUP BY every row is in the one group. Not a comparison of the
                // two empty keys: their slices point nowhere (empty vectors never allocate),
                // and the AVX-512 `memcmp` reads such an address with a masked load whose
                // fault suppression costs a microcode assist, ~60 ns a row.
                Some(g) if self.group_by.is_empty() || table.key(g) == key.as_slice() => Some(g),
                _ => table.find(&key),
            };
            let group = match found {
                Some(g) => g,
                None => {
                    let inserted = match spill {
                        None => {
                            table.insert(&mut reservation, &key, &values, self.new_accumulators())
                        }
                        Some(_) => None,
                    };
                    match inserted {
                        Some(g) => g,
                        None => {
                            // The table is full: this group is aggregated from the spill.
                            let mut entry = std::mem::take(&mut values);
                            self.eval_args(&row, outer, &mut entry)?;
                            if self.input_row {
                                entry.extend(row);
                            }
                            values = Vec::with_capacity(self.group_by.len());
                            spill
                                .get_or_insert_with(|| {
                                    Sorter::with_cap(
                                        memory,
                                        FirstBlobOrder,
                                        None,
                                        memory.limit() / 4,
                                    )
                                })
                                .push(vec![Value::Blob(key.clone())], entry)?;
                            continue;
                        }
                    }
                }
            };
            previous = Some(group);
            args.clear();
            self.eval_args(&row, outer, &mut args)?;
            let accumulators = table.accumulators_mut(group);
            let before: usize = if track_heap {
                accumulators.iter().map(Accumulator::retained).sum()
            } else {
                0
            };
            self.add_args(accumulators, &mut args)?;
            if track_heap {
                let after: usize = accumulators.iter().map(Accumulator::retained).sum();
                if after > before {
                    // A group's own state cannot be spilled: it may only fail past the budget.
                    reservation.grow_beyond_cap(after - before, "one group's aggregate state")?;
                }
            }
            if self.input_row {
                let bytes = super::memory::row_bytes(&row);
                let old = table.last(group).map_or(0, |r| super::memory::row_bytes(r));
                if bytes > old {
                    reservation.grow_beyond_cap(bytes - old, "one group's last row")?;
                }
                table.set_last(group, row);
            }
        }
        if table.len() == 0 && self.group_by.is_empty() && spill.is_none() {
            // No input: one group of nothing.
            let inserted = table.insert(&mut reservation, &[], &[], self.new_accumulators());
            if inserted.is_none() {
                return Err(memory.exceeded("an aggregate"));
            }
        }
        let mut spilled = spill.map(Sorter::finish).transpose()?;
        let spilled_head = match &mut spilled {
            Some(s) => s.next()?,
            None => None,
        };
        Ok(Output {
            groups: table.into_sorted(),
            spilled,
            spilled_head,
            _reservation: reservation,
        })
    }

    /// Adds one spilled entry (group values, evaluated arguments, maybe the row) to `group`.
    fn add_spilled(&self, group: &mut Group, mut entry: Row) -> Result<()> {
        let width = self.group_by.len();
        let nargs: usize = self.arg_counts.iter().sum();
        self.add_args(&mut group.accumulators, &mut entry[width..width + nargs])?;
        if self.input_row {
            group.last = Some(entry.split_off(width + nargs));
        }
        Ok(())
    }

    /// Aggregates the next group of the sorted spill (all entries with the key of the one
    /// read ahead).
    fn next_spilled_group(&mut self) -> Result<Option<Group>> {
        let out = self.output.as_mut().expect("aggregated");
        let Some((key, entry)) = out.spilled_head.take() else {
            return Ok(None);
        };
        let Some(Value::Blob(key)) = key.into_iter().next() else {
            return Ok(None);
        };
        let mut group = Group {
            values: entry[..self.group_by.len()].to_vec(),
            accumulators: self.new_accumulators().collect(),
            last: None,
        };
        self.add_spilled(&mut group, entry)?;
        let mut n = 0usize;
        loop {
            let out = self.output.as_mut().expect("aggregated");
            let next = out.spilled.as_mut().expect("spilled").next()?;
            match next {
                Some((k, e)) if matches!(&k[0], Value::Blob(b) if *b == key) => {
                    self.ex.tick(&mut n)?;
                    self.add_spilled(&mut group, e)?;
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
        let spilled_first = match (&out.spilled_head, out.groups.peek_key()) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some((k, _)), Some(g)) => matches!(&k[0], Value::Blob(b) if b.as_slice() < g),
        };
        let group = if spilled_first {
            self.next_spilled_group()?
        } else {
            out.groups.next_group()
        };
        group.map(Group::into_row).transpose()
    }

    fn rewind(&mut self) {
        self.output = None;
        self.input.rewind();
    }
}
