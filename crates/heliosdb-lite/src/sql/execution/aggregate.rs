//! GROUP BY and aggregates: hash aggregation, and `count(*)` that counts stored entries.
//!
//! Groups are found through a hash table on the group key, one accumulator per aggregate and
//! group; the input streams through and only the groups stay in memory. Groups come out in
//! the order of their keys, as SQLite's sorter-based grouping returns them. A bare
//! `count(*)` over an unfiltered scan counts storage entries without decoding rows.

use super::super::plan::{AggFn, Expr, Plan};
use super::super::value::Value;
use super::accumulator::Accumulator;
use super::keys::row_key;
use super::scan::ScanOp;
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

/// Hash aggregation: output rows are the group values followed by the aggregate values.
struct HashAggregateOp<'e> {
    ex: &'e Executor<'e>,
    input: BoxOp<'e>,
    group_by: &'e [Expr],
    aggregates: &'e [Expr],
    input_row: bool,
    output: Option<std::vec::IntoIter<Group>>,
}

impl HashAggregateOp<'_> {
    fn aggregate(&mut self, outer: Option<&Frame<'_>>) -> Result<Vec<Group>> {
        let mut index: HashMap<Vec<u8>, usize> = HashMap::default();
        let mut groups: Vec<Group> = Vec::new();
        let new_group = |key: Vec<u8>, values: Row| Group {
            key,
            values,
            accumulators: self.aggregates.iter().map(Accumulator::new).collect(),
            last: None,
        };
        let mut n = 0usize;
        while let Some(row) = self.input.next(outer)? {
            self.ex.tick(&mut n)?;
            let f = Frame {
                row: &row,
                parent: outer,
            };
            let slot = if self.group_by.is_empty() {
                if groups.is_empty() {
                    groups.push(new_group(Vec::new(), Vec::new()));
                }
                0
            } else {
                let values = self
                    .group_by
                    .iter()
                    .map(|g| self.ex.eval(g, &f))
                    .collect::<Result<Row>>()?;
                let key = row_key(&values);
                match index.get(&key) {
                    Some(&i) => i,
                    None => {
                        index.insert(key.clone(), groups.len());
                        groups.push(new_group(key, values));
                        groups.len() - 1
                    }
                }
            };
            for (acc, agg) in groups[slot].accumulators.iter_mut().zip(self.aggregates) {
                if let Expr::Aggregate { args, .. } = agg {
                    let vals = args
                        .iter()
                        .map(|a| self.ex.eval(a, &f))
                        .collect::<Result<Vec<_>>>()?;
                    acc.add(vals)?;
                }
            }
            if self.input_row {
                groups[slot].last = Some(row);
            }
        }
        if groups.is_empty() && self.group_by.is_empty() {
            groups.push(new_group(Vec::new(), Vec::new()));
        }
        groups.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(groups)
    }
}

impl Operator for HashAggregateOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        if self.output.is_none() {
            self.output = Some(self.aggregate(outer)?.into_iter());
        }
        Ok(self.output.as_mut().and_then(Iterator::next).map(|g| {
            let mut row = g.values;
            row.extend(g.accumulators.into_iter().map(Accumulator::finish));
            // An empty input's single group has no input row: references past the end of a
            // row read as NULL, as the row's columns would.
            if let Some(last) = g.last {
                row.extend(last);
            }
            row
        }))
    }

    fn rewind(&mut self) {
        self.output = None;
        self.input.rewind();
    }
}
