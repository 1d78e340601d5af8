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

use super::super::plan::{Expr, FrameBound, FrameExclude, FrameUnits, WinFn, WindowCall};
use super::super::value::Value;
use super::accumulator::Accumulator;
use super::sort::compare_keys;
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::{Error, Result};
use std::cmp::Ordering;

/// Computes window function values for its input rows.
pub(super) struct WindowOp<'e> {
    ex: &'e Executor<'e>,
    input: BoxOp<'e>,
    calls: &'e [WindowCall],
    out: Option<std::vec::IntoIter<Row>>,
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

    fn compute(&mut self, outer: Option<&Frame<'_>>) -> Result<Vec<Row>> {
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
        let mut values: Vec<Vec<Value>> = vec![Vec::with_capacity(self.calls.len()); rows.len()];
        let mut order: Vec<usize> = (0..rows.len()).collect();
        for call in self.calls {
            let (sorted, results) = self.call(call, &rows, outer)?;
            for (i, v) in results.into_iter().enumerate() {
                values[i].push(v);
            }
            order = sorted;
        }
        let mut rows: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
        Ok(order
            .into_iter()
            .map(|i| {
                let mut r = rows[i].take().unwrap_or_default();
                r.append(&mut values[i]);
                r
            })
            .collect())
    }

    /// One call's values, by input row, and the row order its window sorted them in.
    fn call(
        &self,
        call: &WindowCall,
        rows: &[Row],
        outer: Option<&Frame<'_>>,
    ) -> Result<(Vec<usize>, Vec<Value>)> {
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
        let mut results = vec![Value::Null; rows.len()];
        let mut start = 0;
        while start < idx.len() {
            let mut end = start + 1;
            while end < idx.len() && by_partition(&idx[start], &idx[end]).is_eq() {
                end += 1;
            }
            let members = &idx[start..end];
            let peer = |a: usize, b: usize| {
                compare_keys(&call.order_by, &keys[members[a]], &keys[members[b]]).is_eq()
            };
            let vals = self.partition(call, members.len(), &peer, &|p| &args[members[p]], outer)?;
            for (p, v) in vals.into_iter().enumerate() {
                results[members[p]] = v;
            }
            start = end;
        }
        Ok((idx, results))
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

impl Operator for WindowOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        if self.out.is_none() {
            let rows = self.compute(outer)?;
            self.out = Some(rows.into_iter());
        }
        Ok(self.out.as_mut().and_then(Iterator::next))
    }

    fn rewind(&mut self) {
        self.input.rewind();
        self.out = None;
    }
}
