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
//! Only a subquery over a single table (no grouping, DISTINCT, ORDER BY or LIMIT) that reads
//! no row beyond the immediately enclosing one is rewritten; any other keeps its per-row
//! execution, which is correct for all.

use super::super::plan::{
    Access, CmpOp, Expr, HashKey, JoinAlgorithm, JoinKind, JoinNode, Plan, ScanNode, SubPlan,
};
use super::super::value::Affinity;
use super::access;
use super::select::{and_all, split_conjuncts};

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

/// Drops one enclosing level from an expression that does not read the enclosing row: it
/// runs where that row's own enclosing row is the first.
fn unnest(e: &Expr) -> Expr {
    e.clone().transform(&mut |x| match x {
        Expr::Outer { depth, index } if depth > 1 => Expr::Outer {
            depth: depth - 1,
            index,
        },
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
    if !sp.correlated || sp.outer_columns.is_none() {
        return None;
    }
    let scan = match &sp.plan {
        Plan::Project(input, _) => match input.as_ref() {
            Plan::Scan(s) => s,
            _ => return None,
        },
        Plan::Scan(s) => s,
        _ => return None,
    };
    if scan.stop_after.is_some() || scan.reverse {
        return None;
    }
    // A key the outer row supplies makes the subquery a lookup already.
    if let Access::Key {
        eq,
        in_list,
        lower,
        upper,
        ..
    } = &scan.access
    {
        let keyed_by_outer = eq
            .iter()
            .chain(in_list.iter().flatten())
            .chain(lower.iter().chain(upper).map(|b| &b.value))
            .any(reads_outer_row);
        if keyed_by_outer {
            return None;
        }
    }
    let mut conjuncts = Vec::new();
    if let Some(f) = &scan.filter {
        split_conjuncts(f.clone(), &mut conjuncts);
    }
    let mut local = Vec::new();
    let mut residual = Vec::new();
    let mut left_keys = Vec::new();
    let mut right_keys = Vec::new();
    for c in conjuncts {
        if !reads_outer_row(&c) {
            local.push(unnest(&c));
            continue;
        }
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
                right_keys.push(key(left, left_aff, unnest));
                left_keys.push(key(right, right_aff, lift));
                continue;
            }
            if is_inner_only(right) && is_outer_only(left) {
                right_keys.push(key(right, right_aff, unnest));
                left_keys.push(key(left, left_aff, lift));
                continue;
            }
        }
        residual.push(c);
    }
    let access = access::choose(&scan.table, &local);
    let right = Plan::Scan(Box::new(ScanNode {
        table: scan.table.clone(),
        alias: scan.alias.clone(),
        source: scan.source,
        access,
        filter: and_all(local),
        reverse: false,
        ordered: false,
        stop_after: None,
        estimate: None,
        columns: None,
    }));
    Some(SemiJoin {
        right,
        left_keys,
        right_keys,
        residual: and_all(residual),
        anti,
    })
}
