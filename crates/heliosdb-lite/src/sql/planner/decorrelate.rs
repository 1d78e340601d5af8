//! Decorrelation: `[NOT] EXISTS (subquery)` in WHERE as a semi (anti) hash join.
//!
//! A correlated EXISTS runs its subquery for every outer row (or every distinct set of the
//! outer values it reads). When the subquery reaches its rows by a key that the outer row
//! supplies, that is a cheap lookup and stays as it is. When it has to scan its table, the
//! scan would be repeated per outer row: instead the subquery's table is read once into a
//! hash table on the columns its equalities with the outer row name, and each outer row
//! probes it. Its other correlated conditions (`inner.x <> outer.y`) are checked on each
//! candidate, under the outer row, exactly as the subquery would have evaluated them.
//!
//! The subquery may join several tables: its correlated conjuncts are lifted out of the scans,
//! filters and inner-join conditions they sit in, and the rest of its join is the build side.
//! A subquery with grouping, DISTINCT, ORDER BY or LIMIT, one that reads rows further out
//! than the enclosing one, or whose correlation sits in a LEFT JOIN's ON clause keeps its
//! per-row execution, which is correct for all.

use super::super::plan::{
    Access, CmpOp, Expr, HashKey, JoinAlgorithm, JoinKind, JoinNode, Plan, SubPlan,
};
use super::super::value::{Affinity, Value};
use super::select::{and_all, split_conjuncts};

/// What [`extract`] collects, and how.
struct Extraction {
    /// The correlated conjuncts, rewritten to the subquery's combined row.
    out: Vec<Expr>,
    /// Drop key ranges bounded on one side by the enclosing row (see [`decorrelate`]).
    open_ranges: bool,
}

/// A semi or anti join to apply above the rows that a conjunct filters.
pub(super) struct SemiJoin {
    /// The subquery's table, read once (its uncorrelated conditions applied).
    right: Plan,
    left_keys: Vec<HashKey>,
    right_keys: Vec<HashKey>,
    /// The correlated conditions that are not key equalities (subquery's row, outer row as
    /// the enclosing one).
    residual: Option<Expr>,
    anti: bool,
}

impl SemiJoin {
    /// The join above `input`.
    pub(super) fn apply(self, input: Plan, estimate: f64) -> Plan {
        Plan::Join(Box::new(JoinNode {
            left: input,
            right: self.right,
            kind: if self.anti {
                JoinKind::Anti
            } else {
                JoinKind::Semi
            },
            offset: 0,
            algorithm: JoinAlgorithm::Hash {
                left_keys: self.left_keys,
                right_keys: self.right_keys,
                build_left: false,
            },
            condition: self.residual,
            estimate,
        }))
    }
}

/// True if `e` reads the enclosing row (`Outer { depth: 1 }`) or a correlated subquery.
fn reads_outer_row(e: &Expr) -> bool {
    let mut found = false;
    e.walk(&mut |x| match x {
        Expr::Outer { depth: 1, .. } => found = true,
        Expr::InSubquery { plan, .. } | Expr::Exists { plan, .. } | Expr::ScalarSubquery(plan) => {
            found |= plan.correlated
        }
        _ => {}
    });
    found
}

/// Moves references one enclosing level down: the subquery's enclosing row becomes the row
/// itself (`Outer{1,i}` -> `Column(i)`), rows further out come one level closer.
fn lift(e: &Expr) -> Expr {
    e.clone().transform(&mut |x| match x {
        Expr::Outer { depth: 1, index } => Expr::Column(index),
        Expr::Outer { depth, index } => Expr::Outer {
            depth: depth - 1,
            index,
        },
        x => x,
    })
}

/// A relation's conjunct moved to the combined row, where its columns start at `offset`.
fn to_combined(c: Expr, offset: usize) -> Expr {
    c.transform(&mut |x| match x {
        Expr::Column(i) => Expr::Column(i + offset),
        x => x,
    })
}

fn is_inner_only(e: &Expr) -> bool {
    let mut ok = !e.columns().is_empty();
    e.walk(&mut |x| {
        if matches!(x, Expr::Outer { .. })
            || matches!(
                x,
                Expr::InSubquery { .. } | Expr::Exists { .. } | Expr::ScalarSubquery(_)
            )
        {
            ok = false;
        }
    });
    ok
}

fn is_outer_only(e: &Expr) -> bool {
    let mut ok = e.columns().is_empty() && reads_outer_row(e);
    e.walk(&mut |x| {
        if matches!(
            x,
            Expr::InSubquery { .. } | Expr::Exists { .. } | Expr::ScalarSubquery(_)
        ) {
            ok = false;
        }
    });
    ok
}

/// The semi or anti join for a WHERE conjunct, if it is a decorrelatable `[NOT] EXISTS`.
pub(super) fn semi_join(conjunct: &Expr) -> Option<SemiJoin> {
    let (sp, anti) = match conjunct {
        Expr::Exists { plan, negated } => (plan.as_ref(), *negated),
        Expr::Not(inner) => match inner.as_ref() {
            Expr::Exists { plan, negated } => (plan.as_ref(), !*negated),
            _ => return None,
        },
        _ => return None,
    };
    decorrelate(sp, anti)
}

fn decorrelate(sp: &SubPlan, anti: bool) -> Option<SemiJoin> {
    decorrelate_with(sp, anti, false).or_else(|| {
        // A range the enclosing row opens on one side (`u.id > t.id`) reads, per outer row,
        // everything from that bound to the end of the table: quadratic. With an equality to
        // hash on, reading the table once is cheaper; the scan's filter still checks the
        // comparison (a key range only narrows what the filter sees).
        decorrelate_with(sp, anti, true).filter(|j| !j.left_keys.is_empty())
    })
}

/// [`decorrelate`]; `open_ranges`: forget key ranges bounded on one side by the enclosing
/// row instead of keeping the subquery as a per-row range scan.
fn decorrelate_with(sp: &SubPlan, anti: bool, open_ranges: bool) -> Option<SemiJoin> {
    if !sp.correlated || sp.outer_columns.is_none() {
        return None;
    }
    // EXISTS ignores the select list.
    let mut body = match &sp.plan {
        Plan::Project(input, _) => input.as_ref().clone(),
        other => other.clone(),
    };
    let mut x = Extraction {
        out: Vec::new(),
        open_ranges,
    };
    if !extract(&mut body, Some(0), false, &mut x) || body.reads_outer() {
        return None;
    }
    let correlated = x.out;
    let mut residual = Vec::new();
    let mut left_keys = Vec::new();
    let mut right_keys = Vec::new();
    for c in correlated {
        if let Expr::Compare {
            op: CmpOp::Eq,
            left,
            right,
            left_aff,
            right_aff,
        } = &c
        {
            let key = |e: &Expr, a: &Option<Affinity>, f: fn(&Expr) -> Expr| HashKey {
                expr: f(e),
                affinity: *a,
            };
            if is_inner_only(left) && is_outer_only(right) {
                right_keys.push(key(left, left_aff, Expr::clone));
                left_keys.push(key(right, right_aff, lift));
                continue;
            }
            if is_inner_only(right) && is_outer_only(left) {
                right_keys.push(key(right, right_aff, Expr::clone));
                left_keys.push(key(left, left_aff, lift));
                continue;
            }
        }
        residual.push(c);
    }
    Some(SemiJoin {
        right: body,
        left_keys,
        right_keys,
        residual: and_all(residual),
        anti,
    })
}

/// Takes the conjuncts that read the enclosing row (`Outer { depth: 1 }`) out of a
/// subquery's FROM plan, rewritten to its combined row, into `out`. `offset`: where a scan
/// reached here places its columns in the combined row; `lookup`: the node is the inner side
/// of a lookup join (where depth 1 is the joined row). False if the plan reads the enclosing
/// row somewhere a conjunct cannot simply be lifted out of.
fn extract(plan: &mut Plan, offset: Option<usize>, lookup: bool, x: &mut Extraction) -> bool {
    extract_at(plan, offset, lookup, false, x)
}

/// [`extract`]; `padded`: the node is the right side of a LEFT JOIN, whose conjuncts decide
/// its matches and cannot move above the join.
fn extract_at(
    plan: &mut Plan,
    offset: Option<usize>,
    lookup: bool,
    padded: bool,
    x: &mut Extraction,
) -> bool {
    if padded {
        return !plan.reads_outer_beyond(usize::from(lookup));
    }
    match plan {
        Plan::Scan(node) => {
            if lookup {
                // Depth 1 is the joined row here; the enclosing row would be depth 2.
                return !Plan::Scan(node.clone()).reads_outer_beyond(1);
            }
            let Some(offset) = offset else {
                return !Plan::Scan(node.clone()).reads_outer();
            };
            if let Access::Key {
                index,
                eq,
                in_list,
                lower,
                upper,
            } = &mut node.access
            {
                // A key the enclosing row supplies makes the subquery a lookup already.
                if eq
                    .iter()
                    .chain(in_list.iter().flatten())
                    .any(reads_outer_row)
                {
                    return false;
                }
                let outer_lower = lower.as_ref().is_some_and(|b| reads_outer_row(&b.value));
                let outer_upper = upper.as_ref().is_some_and(|b| reads_outer_row(&b.value));
                if outer_lower || outer_upper {
                    // Bounded on both sides, the range is a lookup of a slice.
                    if !x.open_ranges || (outer_lower && outer_upper) {
                        return false;
                    }
                    if outer_lower {
                        *lower = None;
                    }
                    if outer_upper {
                        *upper = None;
                    }
                    if index.is_some()
                        && eq.is_empty()
                        && in_list.is_none()
                        && lower.is_none()
                        && upper.is_none()
                    {
                        // A whole index read and a row lookup per entry: the table is cheaper.
                        node.access = Access::Full;
                    }
                }
            }
            let Some(filter) = node.filter.take() else {
                return true;
            };
            let mut conjuncts = Vec::new();
            split_conjuncts(filter, &mut conjuncts);
            let (outer, local): (Vec<Expr>, Vec<Expr>) =
                conjuncts.into_iter().partition(reads_outer_row);
            node.filter = and_all(local);
            x.out
                .extend(outer.into_iter().map(|c| to_combined(c, offset)));
            true
        }
        Plan::Filter(input, pred) => {
            let mut conjuncts = Vec::new();
            split_conjuncts(pred.clone(), &mut conjuncts);
            let (outer, local): (Vec<Expr>, Vec<Expr>) =
                conjuncts.into_iter().partition(reads_outer_row);
            // A relation's own filter (a derived table's) is in its columns: move it to the
            // combined row as a scan's conjuncts are.
            let shift = offset.unwrap_or(0);
            x.out
                .extend(outer.into_iter().map(|c| to_combined(c, shift)));
            if !extract_at(input, offset, lookup, false, x) {
                return false;
            }
            *pred = and_all(local).unwrap_or(Expr::Literal(Value::Integer(1)));
            true
        }
        Plan::Place { input, offset, .. } => extract_at(input, Some(*offset), false, false, x),
        // A RIGHT or FULL join pads its left side too, and its left rows are not of full
        // width: such a subquery stays correlated.
        Plan::Join(j) if matches!(j.kind, JoinKind::Right | JoinKind::Full) => false,
        Plan::Join(j) => {
            if let JoinAlgorithm::Hash {
                left_keys,
                right_keys,
                ..
            } = &j.algorithm
            {
                if left_keys
                    .iter()
                    .chain(right_keys)
                    .any(|k| reads_outer_row(&k.expr))
                {
                    return false;
                }
            }
            if let Some(c) = j.condition.take() {
                let mut conjuncts = Vec::new();
                split_conjuncts(c, &mut conjuncts);
                let (outer, local): (Vec<Expr>, Vec<Expr>) =
                    conjuncts.into_iter().partition(reads_outer_row);
                if !outer.is_empty() && j.kind != JoinKind::Inner {
                    return false;
                }
                x.out.extend(outer);
                j.condition = and_all(local);
            }
            let inner_lookup = j.algorithm == JoinAlgorithm::Lookup;
            let padded = j.kind != JoinKind::Inner;
            extract_at(&mut j.left, None, false, false, x)
                && extract_at(&mut j.right, Some(j.offset), inner_lookup, padded, x)
        }
        // Other shapes are left alone; they must not read the enclosing row.
        other => !other.reads_outer(),
    }
}
