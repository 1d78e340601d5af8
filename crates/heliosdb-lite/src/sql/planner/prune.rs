//! Column pruning: each scan decodes only the columns its query reads.
//!
//! After a SELECT is planned, its plan is walked from the top with the set of columns each
//! node's consumer needs; a node adds the columns its own expressions read (including those a
//! correlated subquery reads of the row it is evaluated for) and passes the set on in its
//! input's layout. A scan keeps the set as a mask: the other columns are skipped while
//! decoding, so wide rows with text nobody reads cost no allocation. Where a node needs whole
//! rows (DISTINCT, set operations, semi joins, grouping that keeps its input row) the walk
//! passes "everything".

use super::super::plan::{Expr, JoinAlgorithm, JoinKind, Plan, ScanNode};
use std::collections::BTreeSet;

/// Needed columns of a node's output; `None`: all of them.
type Need = Option<BTreeSet<usize>>;

/// Columns of the row an expression is evaluated against that it reads; `None` if a
/// correlated subquery in it reads rows it does not list.
fn reads(e: &Expr) -> Need {
    let mut out: BTreeSet<usize> = e.columns().into_iter().collect();
    let mut all = false;
    e.walk(&mut |x| {
        if let Expr::InSubquery { plan, .. }
        | Expr::Exists { plan, .. }
        | Expr::ScalarSubquery(plan) = x
        {
            if plan.correlated {
                match &plan.outer_columns {
                    Some(cols) => out.extend(cols.iter().copied()),
                    None => all = true,
                }
            }
        }
    });
    (!all).then_some(out)
}

/// The columns a scan decodes before its filter (see [`ScanNode::filter_columns`]): those the
/// filter reads, when the row has others to skip for the rows it rejects.
fn filter_first(node: &ScanNode, filter_reads: Option<BTreeSet<usize>>) -> Option<Vec<bool>> {
    let reads = filter_reads?;
    let def = &node.table.def;
    // A generated column is computed from others when the row is decoded.
    if def.columns.iter().any(|c| c.generated.is_some()) {
        return None;
    }
    let width = def.columns.len();
    let wanted = node
        .columns
        .as_ref()
        .map_or(width + 1, |m| m.iter().filter(|&&b| b).count());
    let read = reads.iter().filter(|&&c| c <= width).count();
    (read < wanted).then(|| (0..=width).map(|c| reads.contains(&c)).collect())
}

/// Lets a scan whose consumer needs whole rows (the targets of an UPDATE or a DELETE) decode
/// the columns its filter reads first, and the rest of a row only for the rows the filter
/// keeps: a `DELETE ... WHERE id % 10 = 0` decodes nothing of the nine rows in ten it skips.
pub(super) fn decode_filter_first(node: &mut ScanNode) {
    let filter_reads = node.filter.as_ref().and_then(reads);
    node.filter_columns = filter_first(node, filter_reads);
}

fn add(need: &mut Need, e: &Expr) {
    match (need.as_mut(), reads(e)) {
        (Some(n), Some(r)) => n.extend(r),
        _ => *need = None,
    }
}

/// Prunes the scans of a SELECT's plan; all its output columns are needed.
pub(super) fn prune(plan: &mut Plan) {
    walk(plan, None);
}

fn walk(plan: &mut Plan, need: Need) {
    match plan {
        Plan::Project(input, exprs) => {
            let mut n: Need = Some(BTreeSet::new());
            exprs.iter().for_each(|e| add(&mut n, e));
            walk(input, n);
        }
        Plan::Filter(input, pred) => {
            let mut n = need;
            add(&mut n, pred);
            walk(input, n);
        }
        Plan::Sort(input, keys) => {
            let mut n = need;
            keys.iter().for_each(|k| add(&mut n, &k.expr));
            walk(input, n);
        }
        Plan::Limit { input, .. } => walk(input, need),
        Plan::Aggregate {
            input,
            group_by,
            aggregates,
            input_row,
        } => {
            let mut n: Need = (!*input_row).then(BTreeSet::new);
            group_by
                .iter()
                .chain(aggregates.iter())
                .for_each(|e| add(&mut n, e));
            walk(input, n);
        }
        Plan::Place {
            input,
            offset,
            width: _,
        } => {
            let local = need.map(|n| {
                n.into_iter()
                    .filter_map(|c| c.checked_sub(*offset))
                    .collect()
            });
            walk(input, local);
        }
        Plan::Join(j) => {
            if matches!(j.kind, JoinKind::Semi | JoinKind::Anti) {
                // A hash semi or anti join tests its condition on the right row itself, with the
                // left row as the enclosing one (see `hash_join.rs`), and returns the left rows
                // alone: its right side needs what the condition and the keys read there.
                walk(&mut j.left, None);
                let right = match &j.algorithm {
                    JoinAlgorithm::Hash { right_keys, .. } => {
                        let mut r: Need = Some(BTreeSet::new());
                        if let Some(c) = &j.condition {
                            add(&mut r, c);
                        }
                        right_keys.iter().for_each(|k| add(&mut r, &k.expr));
                        r
                    }
                    _ => None,
                };
                walk(&mut j.right, right);
                return;
            }
            let mut left = need.clone();
            if let Some(c) = &j.condition {
                add(&mut left, c);
            }
            let mut right: Need = left
                .as_ref()
                .map(|n| n.iter().filter_map(|c| c.checked_sub(j.offset)).collect());
            if let JoinAlgorithm::Hash {
                left_keys,
                right_keys,
                ..
            } = &j.algorithm
            {
                left_keys.iter().for_each(|k| add(&mut left, &k.expr));
                right_keys.iter().for_each(|k| add(&mut right, &k.expr));
            }
            // A lookup's scan reads the joined row through its key and filter: those are
            // `Outer` references, which the left side must keep.
            if j.algorithm == JoinAlgorithm::Lookup {
                outer_reads(&j.right, &mut left);
            }
            walk(&mut j.left, left);
            walk(&mut j.right, right);
        }
        Plan::Scan(node) => {
            let filter_reads = node.filter.as_ref().map(reads);
            let width = node.table.def.columns.len();
            if let Some(mut n) = need {
                match &filter_reads {
                    Some(Some(r)) => n.extend(r),
                    Some(None) => return,
                    None => {}
                }
                // The table's columns, then the rowid (`Column(width)`).
                let mask: Vec<bool> = (0..=width).map(|c| n.contains(&c)).collect();
                if !mask.iter().all(|&b| b) {
                    node.columns = Some(mask);
                }
            }
            node.filter_columns = filter_first(node, filter_reads.flatten());
        }
        // Whole rows compared or kept: everything below is needed.
        Plan::Distinct(input) | Plan::Materialize { input, .. } | Plan::Window { input, .. } => {
            walk(input, None)
        }
        Plan::SetOperation { left, right, .. }
        | Plan::Recursive {
            initial: left,
            step: right,
            ..
        } => {
            walk(left, None);
            walk(right, None);
        }
        Plan::Values(_) | Plan::TableFunction { .. } => {}
    }
}

/// Adds the joined-row columns (`Outer { depth: 1 }`) that a lookup's inner side reads.
fn outer_reads(plan: &Plan, need: &mut Need) {
    let Some(n) = need.as_mut() else { return };
    let mut visit = |e: &Expr| {
        e.walk(&mut |x| {
            if let Expr::Outer { depth: 1, index } = x {
                n.insert(*index);
            }
        })
    };
    // A scan's own expressions include its key bounds.
    plan.visit_own_exprs(&mut visit);
    match plan {
        Plan::Filter(p, _) | Plan::Project(p, _) => outer_reads(p, need),
        _ => {}
    }
}
