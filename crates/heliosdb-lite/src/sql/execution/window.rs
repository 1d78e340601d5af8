//! Window functions over the rows of a query, as SQLite computes them.
//!
//! The operator keeps its input rows (they count against the statement's memory budget), and
//! for each call sorts the row numbers by PARTITION BY and then ORDER BY, walks each partition
//! and computes one value per row: ranking functions from positions and ORDER BY peers, `lag`
//! and `lead` from neighbours, value and aggregate functions over the row's frame. A frame is
//! `ROWS` (positions), `RANGE` (the current row's peers count as the current row) or `GROUPS`
//! (offsets count peer groups, each group as a whole); an
//! aggregate whose frame starts at the partition's first row is computed incrementally. A
//! frame's EXCLUDE clause (the current row, its peers, or both) leaves rows out of it; such a
//! frame is gathered row by row, never incrementally. Rows
//! come out in the order of the last call's sort, as in SQLite, each followed by its values.
//! The calls sharing the last call's window are computed one partition at a time as its rows
//! are pulled (SQLite's order of work): a LIMIT or an EXISTS above that stops early never
//! computes, nor fails on, the later partitions.

use super::super::plan::{AggFn, Expr, FrameBound, FrameExclude, FrameUnits, WinFn, WindowCall};
use super::super::value::Value;
use super::accumulator::Accumulator;
use super::sliding_extreme::SlidingExtreme;
use super::sort::compare_keys;
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::{Error, Result};
use std::cmp::Ordering;

/// Computes window function values for its input rows.
pub(super) struct WindowOp<'e> {
    ex: &'e Executor<'e>,
    input: BoxOp<'e>,
    calls: &'e [WindowCall],
    out: Option<Output>,
}

/// One call's inputs, evaluated for every row, and the rows in its window's order.
struct Sorted {
    /// Row numbers by PARTITION BY, then ORDER BY.
    idx: Vec<usize>,
    /// Each row's PARTITION BY values.
    parts: Vec<Vec<Value>>,
    /// Each row's ORDER BY values.
    keys: Vec<Vec<Value>>,
    /// Each row's arguments.
    args: Vec<Vec<Value>>,
}

impl Sorted {
    /// True if rows `a` and `b` are in the same partition.
    fn same_partition(&self, a: usize, b: usize) -> bool {
        self.parts[a]
            .iter()
            .zip(&self.parts[b])
            .all(|(x, y)| x.total_cmp(y).is_eq())
    }
}

/// The rows on their way out, in the last call's order. The calls that share the last
/// call's window (its PARTITION BY and ORDER BY) are computed a partition at a time, when
/// its first row is asked for, as SQLite does: a LIMIT (or an EXISTS, which needs one row)
/// stops before later partitions are computed, and an error there (an overflowing sum) is
/// never raised. The other calls are computed for every row before the first comes out.
struct Output {
    rows: Vec<Option<Row>>,
    /// Per row, one value per call (the lazy calls' filled in per partition).
    values: Vec<Vec<Value>>,
    /// The last call's inputs and order.
    order: Sorted,
    /// The lazy calls: (call index, its arguments per row).
    lazy: Vec<(usize, Vec<Vec<Value>>)>,
    /// Next position in `order.idx`, and the end of the partition computed last.
    pos: usize,
    computed_to: usize,
}

impl<'e> WindowOp<'e> {
    pub(super) fn new(ex: &'e Executor<'e>, input: BoxOp<'e>, calls: &'e [WindowCall]) -> Self {
        Self {
            ex,
            input,
            calls,
            out: None,
        }
    }

    fn start(&mut self, outer: Option<&Frame<'_>>) -> Result<Output> {
        let mut rows = Vec::new();
        let mut ticks = 0;
        while let Some(r) = self.input.next(outer)? {
            self.ex.tick(&mut ticks)?;
            self.ex.memory().take_for_statement(
                super::memory::row_bytes(&r),
                "the rows a window function is computed over",
            )?;
            rows.push(r);
        }
        let mut values: Vec<Vec<Value>> = vec![vec![Value::Null; self.calls.len()]; rows.len()];
        let Some(last) = self.calls.last() else {
            return Ok(Output {
                order: Sorted {
                    idx: (0..rows.len()).collect(),
                    parts: vec![Vec::new(); rows.len()],
                    keys: vec![Vec::new(); rows.len()],
                    args: Vec::new(),
                },
                rows: rows.into_iter().map(Some).collect(),
                values,
                lazy: Vec::new(),
                pos: 0,
                computed_to: 0,
            });
        };
        let same_window =
            |c: &WindowCall| c.partition_by == last.partition_by && c.order_by == last.order_by;
        let mut lazy = Vec::new();
        let mut order = None;
        for (k, call) in self.calls.iter().enumerate() {
            let mut sorted = self.sort(call, &rows, outer)?;
            if !same_window(call) {
                let results = self.call(call, &sorted, outer)?;
                for (i, v) in results.into_iter().enumerate() {
                    values[i][k] = v;
                }
                continue;
            }
            lazy.push((k, std::mem::take(&mut sorted.args)));
            if k + 1 == self.calls.len() {
                order = Some(sorted);
            }
        }
        Ok(Output {
            rows: rows.into_iter().map(Some).collect(),
            values,
            order: order.expect("the last call shares its own window"),
            lazy,
            pos: 0,
            computed_to: 0,
        })
    }

    /// Evaluates one call's partition, order and argument values for every row and sorts
    /// the rows by its window.
    fn sort(&self, call: &WindowCall, rows: &[Row], outer: Option<&Frame<'_>>) -> Result<Sorted> {
        let eval_all = |es: &[&Expr], row: &Row| -> Result<Vec<Value>> {
            let f = Frame { row, parent: outer };
            es.iter().map(|e| self.ex.eval(e, &f)).collect()
        };
        let part_exprs: Vec<&Expr> = call.partition_by.iter().collect();
        let order_exprs: Vec<&Expr> = call.order_by.iter().map(|k| &k.expr).collect();
        let arg_exprs: Vec<&Expr> = call.args.iter().collect();
        let mut parts = Vec::with_capacity(rows.len());
        let mut keys = Vec::with_capacity(rows.len());
        let mut args = Vec::with_capacity(rows.len());
        for r in rows {
            parts.push(eval_all(&part_exprs, r)?);
            keys.push(eval_all(&order_exprs, r)?);
            args.push(eval_all(&arg_exprs, r)?);
        }
        let mut idx: Vec<usize> = (0..rows.len()).collect();
        let by_partition = |a: &usize, b: &usize| -> Ordering {
            parts[*a]
                .iter()
                .zip(&parts[*b])
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        };
        idx.sort_by(|a, b| {
            by_partition(a, b).then_with(|| compare_keys(&call.order_by, &keys[*a], &keys[*b]))
        });
        Ok(Sorted {
            idx,
            parts,
            keys,
            args,
        })
    }

    /// One call's values for every row (by input row).
    fn call(
        &self,
        call: &WindowCall,
        sorted: &Sorted,
        outer: Option<&Frame<'_>>,
    ) -> Result<Vec<Value>> {
        let mut results = vec![Value::Null; sorted.idx.len()];
        let mut start = 0;
        while start < sorted.idx.len() {
            let end = partition_end(sorted, start);
            let vals = self.partition_of(call, sorted, &sorted.args, start..end, outer)?;
            for (p, v) in vals.into_iter().enumerate() {
                results[sorted.idx[start + p]] = v;
            }
            start = end;
        }
        Ok(results)
    }

    /// The values of the partition at `range` of `sorted.idx`, with the call's `args`.
    fn partition_of(
        &self,
        call: &WindowCall,
        sorted: &Sorted,
        args: &[Vec<Value>],
        range: std::ops::Range<usize>,
        outer: Option<&Frame<'_>>,
    ) -> Result<Vec<Value>> {
        let members = &sorted.idx[range];
        let peer = |a: usize, b: usize| {
            compare_keys(
                &call.order_by,
                &sorted.keys[members[a]],
                &sorted.keys[members[b]],
            )
            .is_eq()
        };
        self.partition(call, members.len(), &peer, &|p| &args[members[p]], outer)
    }

    /// The next row out, computing its partition's lazy values first if it starts one.
    fn next_row(&self, out: &mut Output, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        let Some(&i) = out.order.idx.get(out.pos) else {
            return Ok(None);
        };
        if out.pos >= out.computed_to {
            let end = partition_end(&out.order, out.pos);
            for (k, args) in &out.lazy {
                let vals =
                    self.partition_of(&self.calls[*k], &out.order, args, out.pos..end, outer)?;
                for (p, v) in vals.into_iter().enumerate() {
                    out.values[out.order.idx[out.pos + p]][*k] = v;
                }
            }
            out.computed_to = end;
        }
        out.pos += 1;
        let mut r = out.rows[i].take().unwrap_or_default();
        r.append(&mut out.values[i]);
        Ok(Some(r))
    }

    /// The values of one partition of `n` rows, in its sorted order.
    fn partition<'a>(
        &self,
        call: &WindowCall,
        n: usize,
        peer: &dyn Fn(usize, usize) -> bool,
        arg: &dyn Fn(usize) -> &'a Vec<Value>,
        outer: Option<&Frame<'_>>,
    ) -> Result<Vec<Value>> {
        // First and last position of each row's peer group.
        let mut first_peer = Vec::with_capacity(n);
        let mut g = 0;
        for i in 0..n {
            if i > 0 && !peer(i - 1, i) {
                g = i;
            }
            first_peer.push(g);
        }
        let mut last_peer = vec![0; n];
        let mut g = n.saturating_sub(1);
        for (i, last) in last_peer.iter_mut().enumerate().rev() {
            if i + 1 < n && !peer(i, i + 1) {
                g = i;
            }
            *last = g;
        }
        // Peer groups (GROUPS frames): each row's group number and each group's first row.
        let mut group_of = Vec::with_capacity(n);
        let mut group_starts = Vec::new();
        for (i, &first) in first_peer.iter().enumerate() {
            if first == i {
                group_starts.push(i);
            }
            group_of.push(group_starts.len() - 1);
        }
        let peers = Peers {
            first: &first_peer,
            last: &last_peer,
            group_of: &group_of,
            group_starts: &group_starts,
        };
        let a = |i: usize, k: usize| arg(i).get(k).cloned().unwrap_or(Value::Null);
        let int = |v: Value, what: &str| -> Result<i64> {
            match v
                .clone()
                .apply_affinity(super::super::value::Affinity::Integer)
            {
                Value::Integer(i) => Ok(i),
                _ => Err(Error::invalid(format!(
                    "{what} must be an integer, got {v}"
                ))),
            }
        };
        let mut out = Vec::with_capacity(n);
        match call.func {
            WinFn::RowNumber => out.extend((1..=n).map(|i| Value::Integer(i as i64))),
            WinFn::Rank => out.extend((0..n).map(|i| Value::Integer(first_peer[i] as i64 + 1))),
            WinFn::DenseRank => {
                let mut rank = 0;
                for (i, &first) in first_peer.iter().enumerate() {
                    if first == i {
                        rank += 1;
                    }
                    out.push(Value::Integer(rank));
                }
            }
            WinFn::PercentRank => out.extend((0..n).map(|i| {
                Value::Real(if n > 1 {
                    first_peer[i] as f64 / (n - 1) as f64
                } else {
                    0.0
                })
            })),
            WinFn::CumeDist => {
                out.extend((0..n).map(|i| Value::Real((last_peer[i] + 1) as f64 / n as f64)))
            }
            WinFn::Ntile => {
                for i in 0..n {
                    let buckets = int(a(i, 0), "the argument of ntile()")?;
                    if buckets <= 0 {
                        return Err(Error::invalid(
                            "argument of ntile must be a positive integer",
                        ));
                    }
                    let buckets = buckets as usize;
                    // The first n % buckets buckets have one row more than the others.
                    let size = n / buckets;
                    let large = n % buckets;
                    let bucket = if size == 0 {
                        i
                    } else if i < large * (size + 1) {
                        i / (size + 1)
                    } else {
                        large + (i - large * (size + 1)) / size
                    };
                    out.push(Value::Integer(bucket as i64 + 1));
                }
            }
            WinFn::Lag | WinFn::Lead => {
                for i in 0..n {
                    let offset = match arg(i).get(1) {
                        Some(v) => int(v.clone(), "the offset of lag() / lead()")?,
                        None => 1,
                    };
                    let target = if call.func == WinFn::Lag {
                        i as i64 - offset
                    } else {
                        i as i64 + offset
                    };
                    out.push(if (0..n as i64).contains(&target) {
                        a(target as usize, 0)
                    } else {
                        a(i, 2)
                    });
                }
            }
            WinFn::FirstValue | WinFn::LastValue | WinFn::NthValue | WinFn::Agg(_) => {
                let mut running: Option<(Accumulator, usize)> = None;
                let mut sliding: Option<SlidingExtreme> = None;
                for i in 0..n {
                    let (lo, hi) = self.frame(call, i, n, &peers, outer)?;
                    // With an EXCLUDE clause, the frame's rows one by one (`None`: lo..=hi).
                    let members: Option<Vec<usize>> = (call.exclude != FrameExclude::NoOthers)
                        .then(|| {
                            (lo..=hi)
                                .filter(|&j| {
                                    !call.exclude.leaves_out(i, j, first_peer[i], last_peer[i])
                                })
                                .collect()
                        });
                    let first = members
                        .as_ref()
                        .map_or((lo <= hi).then_some(lo), |m| m.first().copied());
                    let last = members
                        .as_ref()
                        .map_or((lo <= hi).then_some(hi), |m| m.last().copied());
                    let v = match call.func {
                        WinFn::FirstValue => first.map_or(Value::Null, |j| a(j, 0)),
                        WinFn::LastValue => last.map_or(Value::Null, |j| a(j, 0)),
                        WinFn::NthValue => {
                            let k = int(a(i, 1), "the second argument of nth_value()")?;
                            if k <= 0 {
                                return Err(Error::invalid(
                                    "second argument to nth_value must be a positive integer",
                                ));
                            }
                            let at = match &members {
                                Some(m) => m.get(k as usize - 1).copied(),
                                None => {
                                    Some(lo + (k as usize - 1)).filter(|&at| lo <= hi && at <= hi)
                                }
                            };
                            at.map_or(Value::Null, |j| a(j, 0))
                        }
                        WinFn::Agg(func) => {
                            let agg = Expr::Aggregate {
                                func,
                                args: Vec::new(),
                                distinct: false,
                            };
                            let add = |acc: &mut Accumulator, j: usize| acc.add(arg(j).clone());
                            if let Some(m) = &members {
                                let mut acc = Accumulator::new(&agg);
                                for &j in m {
                                    add(&mut acc, j)?;
                                }
                                acc.finish()?
                            } else if lo == 0
                                && matches!(call.start, FrameBound::UnboundedPreceding)
                            {
                                // Frames that grow from the partition's start: one running state.
                                let (acc, done) =
                                    running.get_or_insert_with(|| (Accumulator::new(&agg), 0));
                                while *done <= hi && hi < n && lo <= hi {
                                    add(acc, *done)?;
                                    *done += 1;
                                }
                                acc.clone().finish()?
                            } else if matches!(func, AggFn::Min | AggFn::Max)
                                && !matches!(call.start, FrameBound::UnboundedPreceding)
                            {
                                // SQLite's own bookkeeping, which decides among equal values.
                                let frame = sliding
                                    .get_or_insert_with(|| SlidingExtreme::new(func == AggFn::Max));
                                frame.frame(lo, hi, &|j| arg(j).as_slice())
                            } else {
                                let mut acc = Accumulator::new(&agg);
                                if lo <= hi {
                                    for j in lo..=hi {
                                        add(&mut acc, j)?;
                                    }
                                }
                                acc.finish()?
                            }
                        }
                        _ => Value::Null,
                    };
                    out.push(v);
                }
            }
        }
        Ok(out)
    }

    /// The frame of row `i` as positions `lo..=hi` of the partition (`lo > hi`: empty).
    fn frame(
        &self,
        call: &WindowCall,
        i: usize,
        n: usize,
        peers: &Peers<'_>,
        outer: Option<&Frame<'_>>,
    ) -> Result<(usize, usize)> {
        let offset = |e: &Expr| -> Result<i64> {
            let v = self.ex.eval(
                e,
                &Frame {
                    row: &[],
                    parent: outer,
                },
            )?;
            match v
                .clone()
                .apply_affinity(super::super::value::Affinity::Integer)
            {
                Value::Integer(k) if k >= 0 => Ok(k),
                _ => Err(Error::invalid(format!(
                    "frame starting or ending offset must be a non-negative integer, got {v}"
                ))),
            }
        };
        let groups = peers.group_starts.len() as i64;
        // The first (start) or last (end) row of the group `k` groups from the row's, past
        // either end of the partition when there is no such group.
        let group_edge = |k: i64, is_start: bool| -> i64 {
            let g = peers.group_of[i] as i64 + k;
            if g < 0 {
                -1
            } else if g >= groups {
                n as i64
            } else if is_start {
                peers.group_starts[g as usize] as i64
            } else {
                peers.group_starts.get(g as usize + 1).map_or(n, |&s| s) as i64 - 1
            }
        };
        let at = |b: &FrameBound, is_start: bool| -> Result<i64> {
            Ok(match b {
                FrameBound::UnboundedPreceding => 0,
                FrameBound::UnboundedFollowing => n as i64 - 1,
                FrameBound::CurrentRow if call.units == FrameUnits::Rows => i as i64,
                FrameBound::CurrentRow if is_start => peers.first[i] as i64,
                FrameBound::CurrentRow => peers.last[i] as i64,
                FrameBound::Preceding(e) if call.units == FrameUnits::Groups => {
                    group_edge(-offset(e)?, is_start)
                }
                FrameBound::Following(e) if call.units == FrameUnits::Groups => {
                    group_edge(offset(e)?, is_start)
                }
                FrameBound::Preceding(e) => i as i64 - offset(e)?,
                FrameBound::Following(e) => i as i64 + offset(e)?,
            })
        };
        let lo = at(&call.start, true)?.max(0);
        let hi = at(&call.end, false)?.min(n as i64 - 1);
        if lo > hi || hi < 0 {
            return Ok((1, 0));
        }
        Ok((lo as usize, hi as usize))
    }
}

/// The ORDER BY peers of a partition's rows (by position in its sorted order).
struct Peers<'a> {
    /// First row of each row's peer group.
    first: &'a [usize],
    /// Last row of each row's peer group.
    last: &'a [usize],
    /// Each row's peer group, numbered from 0.
    group_of: &'a [usize],
    /// Each peer group's first row.
    group_starts: &'a [usize],
}

/// The end (exclusive) in `sorted.idx` of the partition that starts at `start`.
fn partition_end(sorted: &Sorted, start: usize) -> usize {
    let first = sorted.idx[start];
    let mut end = start + 1;
    while end < sorted.idx.len() && sorted.same_partition(first, sorted.idx[end]) {
        end += 1;
    }
    end
}

impl Operator for WindowOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        if self.out.is_none() {
            self.out = Some(self.start(outer)?);
        }
        let mut out = self.out.take().expect("started above");
        let r = self.next_row(&mut out, outer);
        self.out = Some(out);
        r
    }

    fn rewind(&mut self) {
        self.input.rewind();
        self.out = None;
    }
}
