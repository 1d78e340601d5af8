//! RIGHT and FULL OUTER joins in a FROM clause.
//!
//! Joins associate to the left, as SQLite reads them: `a LEFT JOIN b RIGHT JOIN c JOIN d` is
//! `((a LEFT JOIN b) RIGHT JOIN c) JOIN d`. A RIGHT or FULL join pads the rows of every
//! relation before it with NULLs, so nothing may move across it: the relations before the
//! last RIGHT / FULL join are planned (and reordered by cost) on their own, with only their
//! own ON clauses, then joined with its right relation by the outer-join operator
//! (`execution::outer_join`). The result is one relation to the joins that follow, which
//! [`super::join`] orders as usual, and WHERE applies on top, after the padding, as SQL
//! says (a WHERE conjunct never runs below a RIGHT or FULL join).

use super::super::plan::{CmpOp, Expr, HashKey, JoinAlgorithm, JoinKind, JoinNode, Plan};
use super::join::{self, MAX_JOIN_RELATIONS};
use super::select::{and_all, RelKind, Relation};
use super::{access, Planner};
use crate::error::{Error, Result};

/// Plans the join of `rels` (FROM order, columns at `offsets` in rows of `width` columns)
/// under WHERE's conjuncts (`wheres`), HAVING's conjuncts moved below the grouping
/// (`having`, which simplify no outer join) and each relation's ON conjuncts (`ons`),
/// whatever kinds of join they are.
pub(super) fn plan_joins(
    p: &mut Planner<'_>,
    mut rels: Vec<Relation>,
    offsets: &[usize],
    width: usize,
    wheres: Vec<Expr>,
    having: Vec<Expr>,
    mut ons: Vec<Vec<Expr>>,
) -> Result<Plan> {
    // RIGHT and FULL joins whose padding WHERE rejects are less outer, or inner.
    super::left_to_inner::simplify_outer(&mut rels, offsets, &wheres);
    let last_outer = rels
        .iter()
        .rposition(|r| matches!(r.join, JoinKind::Right | JoinKind::Full));
    let Some(k) = last_outer else {
        return join::plan_join(p, rels, offsets, width, wheres, having, ons);
    };
    let n = rels.len();
    if n > MAX_JOIN_RELATIONS {
        return Err(Error::LimitExceeded(format!(
            "at most {MAX_JOIN_RELATIONS} tables in a join; this one has {n}"
        )));
    }
    let group_columns = rels[..=k]
        .iter()
        .flat_map(|r| r.columns.iter().cloned())
        .collect();
    let rest = rels.split_off(k + 1);
    let rest_ons = ons.split_off(k + 1);
    let right = rels.pop().expect("the outer join's right relation");
    let right_on = ons.pop().expect("its ON conjuncts");
    let offset = offsets[k];
    let right_width = right.columns.len();
    // Everything before the join: no WHERE conjunct, which must see the padding.
    let left = plan_joins(p, rels, &offsets[..k], offset, Vec::new(), Vec::new(), ons)?;
    // A RIGHT join never pads its right relation (nor do the inner and LEFT joins after
    // it), so WHERE's conjuncts on that relation alone filter its scan, where they may pick
    // a key or index; the others apply on top.
    let (pushed, wheres): (Vec<Expr>, Vec<Expr>) = wheres.into_iter().partition(|w| {
        right.join == JoinKind::Right
            && !w.has_correlated_subquery()
            && columns_read_anywhere(w).is_some_and(|c| {
                c.iter()
                    .all(|&i| (offset..offset + right_width).contains(&i))
            })
    });
    let pushed: Vec<Expr> = pushed.into_iter().map(|w| shift_left(&w, offset)).collect();
    let right_plan = match right.kind {
        RelKind::Table { info, source } => Plan::Scan(Box::new(access::filtered_scan(
            info,
            right.alias,
            source,
            pushed,
        ))),
        RelKind::Sub(sub) => match and_all(pushed) {
            Some(f) => Plan::Filter(Box::new(sub), f),
            None => sub,
        },
        RelKind::Function { function, args } => {
            // The operator runs its right side once, not once per left row.
            if args.iter().any(|a| !a.columns().is_empty()) {
                return Err(Error::Unsupported(format!(
                    "{}() reading the tables before it as the right side of a RIGHT or FULL JOIN",
                    function.name()
                )));
            }
            let plan = Plan::TableFunction { function, args };
            match and_all(pushed) {
                Some(f) => Plan::Filter(Box::new(plan), f),
                None => plan,
            }
        }
    };
    let mut left_keys = Vec::new();
    let mut right_keys = Vec::new();
    let mut condition = Vec::new();
    for c in right_on {
        match hash_keys(&c, offset, right_width) {
            Some((l, r)) => {
                left_keys.push(l);
                right_keys.push(r);
            }
            None => condition.push(c),
        }
    }
    let algorithm = if left_keys.is_empty() {
        JoinAlgorithm::Loop
    } else {
        JoinAlgorithm::Hash {
            left_keys,
            right_keys,
            build_left: false,
        }
    };
    let joined = Plan::Join(Box::new(JoinNode {
        left,
        right: right_plan,
        kind: right.join,
        offset,
        algorithm,
        condition: and_all(condition),
        estimate: 0.0,
    }));
    // The operator's rows are as long as what they hold; widen them to the group's width.
    let group = Plan::Place {
        input: Box::new(joined),
        offset: 0,
        width: offset + right_width,
    };
    let mut all = vec![Relation::joined(group, group_columns)];
    all.extend(rest);
    let mut all_offsets = vec![0];
    all_offsets.extend_from_slice(&offsets[k + 1..]);
    let mut all_ons = vec![Vec::new()];
    all_ons.extend(rest_ons);
    join::plan_join(p, all, &all_offsets, width, wheres, having, all_ons)
}

/// `e` with its combined-row columns moved `by` to the left (into a relation's own row).
fn shift_left(e: &Expr, by: usize) -> Expr {
    e.clone().transform(&mut |x| match x {
        Expr::Column(i) => Expr::Column(i - by),
        x => x,
    })
}

/// Columns a WHERE conjunct reads in the combined row (its subqueries' own columns aside);
/// `None` if it reads none, which leaves a constant where it was.
fn columns_read_anywhere(e: &Expr) -> Option<Vec<usize>> {
    let cols = e.columns();
    (!cols.is_empty()).then_some(cols)
}

/// Columns an expression reads in the combined row; `None` if it has a subquery (whose
/// columns are its own rows') or reads an enclosing row (a build key must not: the right
/// rows are hashed once, whatever the enclosing row).
fn columns_read(e: &Expr) -> Option<Vec<usize>> {
    let mut cols = Vec::new();
    let mut plain = true;
    e.walk(&mut |x| match x {
        Expr::Column(i) => cols.push(*i),
        Expr::InSubquery { .. }
        | Expr::Exists { .. }
        | Expr::ScalarSubquery(_)
        | Expr::Outer { .. } => plain = false,
        _ => {}
    });
    plain.then_some(cols)
}

/// Splits an ON conjunct `l = r`, one side over the left rows (columns before `offset`) and
/// the other over the right relation only, into a probe key and a build key (the build key
/// rewritten to the right relation's own row).
fn hash_keys(e: &Expr, offset: usize, right_width: usize) -> Option<(HashKey, HashKey)> {
    let Expr::Compare {
        op: CmpOp::Eq,
        left,
        right,
        left_aff,
        right_aff,
    } = e
    else {
        return None;
    };
    let on_left =
        |x: &Expr| columns_read(x).is_some_and(|c| !c.is_empty() && c.iter().all(|&i| i < offset));
    let on_right = |x: &Expr| {
        columns_read(x).is_some_and(|c| {
            !c.is_empty()
                && c.iter()
                    .all(|&i| (offset..offset + right_width).contains(&i))
        })
    };
    let local = |x: &Expr| shift_left(x, offset);
    let (probe, probe_aff, build, build_aff) = if on_left(left) && on_right(right) {
        (left, left_aff, right, right_aff)
    } else if on_left(right) && on_right(left) {
        (right, right_aff, left, left_aff)
    } else {
        return None;
    };
    Some((
        HashKey {
            expr: (**probe).clone(),
            affinity: *probe_aff,
        },
        HashKey {
            expr: local(build),
            affinity: *build_aff,
        },
    ))
}
