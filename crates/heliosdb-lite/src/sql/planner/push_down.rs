//! Pushing a derived table's filters into its query, as SQLite does (`pushDownWhereTerms`).
//!
//! A derived table (a subquery or a view in FROM) that SQLite cannot flatten into the outer
//! query (it groups, is DISTINCT, or is a UNION ALL) gets a copy of each outer WHERE term that
//! reads only its columns (or each ON term of the LEFT JOIN it is the right side of), with the
//! columns replaced by the expressions that compute them. In an aggregate query the term goes
//! to HAVING, and from there, when it reads only GROUP BY terms, to WHERE (`havingToWhere`).
//! The rows of a group the term rejects are then never read into the grouping: besides the
//! time saved, an aggregate of that group is never computed, so an integer `sum()` that would
//! overflow there raises no error in SQLite, and must not here.
//!
//! Here the same happens on the plan: a filter over the derived table's rows moves below the
//! projection that computes its columns (substituting them), into a scan's filter (where it
//! may pick a key or an index), below sorts, DISTINCT over BINARY-compared rows and a
//! grouping whose keys it reads alone (each grouped under BINARY: under NOCASE or RTRIM a
//! group's rows differ, and the term could tell them apart), and into both arms of a UNION
//! ALL. It is tested after the derived table's own WHERE and HAVING terms (SQLite appends it
//! to them) but before their correlated subqueries (which SQLite tests last). It stops at a
//! LIMIT (which would count other rows), window functions (their frames would change), a
//! recursive CTE or one other references share, a join, and any grouping without GROUP BY
//! (which returns a row even when no row comes in). Terms that hold a subquery, a column of
//! an enclosing query or a function whose value may change are not moved, nor through a
//! column computed that way: they stay above the derived table. SQLite goes further in
//! places we do not: into a DISTINCT or the arms of a UNION compared under NOCASE, into a
//! CTE declared NOT MATERIALIZED and read twice, and through joins inside the derived table.
//! Comparisons carry the affinities and collations they were bound with, so a term computes
//! the same on the expressions as on the columns they fill.

use super::super::functions::ScalarFn;
use super::super::plan::{Access, Expr, Plan, ScanNode, SetOp};
use super::access;
use super::select::split_conjuncts;
use std::collections::HashSet;

/// `plan` (a derived table's rows) filtered by `conjuncts` (over its columns), each pushed as
/// far into it as it may go. `shared` holds the ids of stored relations other references
/// read too (CTEs): a filter stops above them.
pub(super) fn filtered(plan: Plan, conjuncts: Vec<Expr>, shared: &HashSet<usize>) -> Plan {
    conjuncts.into_iter().fold(plan, |plan, c| {
        let mut parts = Vec::new();
        split_conjuncts(c, &mut parts);
        parts.into_iter().fold(plan, |plan, c| match movable(&c) {
            true => push(plan, c, shared),
            false => Plan::Filter(Box::new(plan), c),
        })
    })
}

/// `plan` filtered by `term`, the filter below every node it can pass.
fn push(plan: Plan, term: Expr, shared: &HashSet<usize>) -> Plan {
    let push = |plan: Plan, term: Expr| Box::new(push(plan, term, shared));
    match plan {
        // A derived table's or a view's own store: its rows are this reference's alone.
        Plan::Materialize { id, input, hint } if !shared.contains(&id) => Plan::Materialize {
            id,
            input: push(*input, term),
            hint,
        },
        Plan::Project(input, exprs) => match substituted(&term, &exprs) {
            Some(inner) => Plan::Project(push(*input, inner), exprs),
            None => Plan::Filter(Box::new(Plan::Project(input, exprs)), term),
        },
        // A HAVING: SQLite adds the term to it, and moves it below the grouping when it
        // reads only BINARY group keys; otherwise it is tested after the HAVING.
        Plan::Filter(input, p) if matches!(*input, Plan::Aggregate { .. }) => match &*input {
            Plan::Aggregate { group_by, .. } if grouped_only(&term, group_by) => {
                Plan::Filter(push(*input, term), p)
            }
            _ => Plan::Filter(Box::new(Plan::Filter(input, p)), term),
        },
        // The subquery's own WHERE, left above a node it could not go into: the term joins
        // it, and is tested after it (SQLite appends it), but before a correlated subquery,
        // which SQLite tests last.
        Plan::Filter(input, p) if p.has_correlated_subquery() => {
            Plan::Filter(push(*input, term), p)
        }
        Plan::Filter(input, p) => Plan::Filter(Box::new(Plan::Filter(input, p)), term),
        Plan::Sort(input, keys) => Plan::Sort(push(*input, term), keys),
        // A scan in no particular order takes the term into its filter, where it may choose
        // a key or an index (a view filtered by its GROUP BY key reads that key's rows only).
        Plan::Scan(node)
            if !node.ordered
                && !node.reverse
                && node.stop_after.is_none()
                && matches!(node.access, Access::Full) =>
        {
            let ScanNode {
                table,
                alias,
                source,
                filter,
                estimate,
                ..
            } = *node;
            let mut conjuncts = Vec::new();
            if let Some(f) = filter {
                split_conjuncts(f, &mut conjuncts);
            }
            conjuncts.push(term);
            // After the scan's own terms, before its correlated subqueries, as SQLite tests.
            super::select::correlated_last(&mut conjuncts);
            // Every column decoded, the filter on the whole row: the query's pruning, run
            // once its plan is complete, narrows them again.
            let mut scan = access::filtered_scan(table, alias, source, conjuncts);
            scan.estimate = estimate;
            Plan::Scan(Box::new(scan))
        }
        Plan::Distinct(input) => Plan::Distinct(push(*input, term)),
        Plan::Aggregate {
            input,
            group_by,
            aggregates,
            input_row,
        } if grouped_only(&term, &group_by) => {
            let inner = substituted(&term, &group_by).expect("group keys checked");
            Plan::Aggregate {
                input: push(*input, inner),
                group_by,
                aggregates,
                input_row,
            }
        }
        Plan::SetOperation {
            op: SetOp::Union,
            all: true,
            collations,
            left,
            right,
        } => Plan::SetOperation {
            op: SetOp::Union,
            all: true,
            collations,
            left: push(*left, term.clone()),
            right: push(*right, term),
        },
        other => Plan::Filter(Box::new(other), term),
    }
}

/// True when `term` may be evaluated on other rows than the ones it was written over (fewer
/// or earlier ones): it reads only the current row, and gives the same value each time.
fn movable(term: &Expr) -> bool {
    term.is_deterministic_reading(&|c| matches!(c, Expr::Column(_)))
}

/// True when `term` reads only grouping keys of `group_by` (non-empty) that group under
/// BINARY, computed by movable expressions.
fn grouped_only(term: &Expr, group_by: &[Expr]) -> bool {
    !group_by.is_empty()
        && term.columns().iter().all(|&c| {
            group_by.get(c).is_some_and(|g| {
                let collated = matches!(g, Expr::Function(f, _)
                    if *f == ScalarFn::NocaseKey || *f == ScalarFn::RtrimKey);
                !collated && movable(g)
            })
        })
}

/// `term` with each column replaced by the expression computing it, if all of those are
/// movable (`None` otherwise, or for a column `exprs` does not have).
fn substituted(term: &Expr, exprs: &[Expr]) -> Option<Expr> {
    let ok = term
        .columns()
        .iter()
        .all(|&c| exprs.get(c).is_some_and(movable));
    ok.then(|| replace(term.clone(), exprs))
}

fn replace(e: Expr, exprs: &[Expr]) -> Expr {
    match e {
        Expr::Column(i) => exprs[i].clone(),
        other => other.map_children(&mut |c| replace(c, exprs)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::plan::CmpOp;
    use crate::sql::value::Value;

    fn gt(col: usize, v: i64) -> Expr {
        Expr::Compare {
            op: CmpOp::Gt,
            left: Box::new(Expr::Column(col)),
            right: Box::new(Expr::Literal(Value::Integer(v))),
            left_aff: None,
            right_aff: None,
        }
    }

    fn values() -> Plan {
        Plan::Values(vec![vec![Expr::Literal(Value::Integer(1))]])
    }

    #[test]
    fn a_term_on_a_group_key_goes_below_the_grouping_and_others_stay_above() {
        let plan = Plan::Project(
            Box::new(Plan::Aggregate {
                input: Box::new(values()),
                group_by: vec![Expr::Column(0)],
                aggregates: Vec::new(),
                input_row: false,
            }),
            vec![Expr::Column(0), Expr::Column(1)],
        );
        let and = Expr::And(Box::new(gt(0, 2)), Box::new(gt(1, 3)));
        let out = filtered(plan, vec![and], &HashSet::new());
        let Plan::Project(input, _) = out else {
            panic!("the projection stays on top: {out:?}")
        };
        let Plan::Filter(agg, kept) = *input else {
            panic!("the term on the aggregate stays above the grouping: {input:?}")
        };
        assert_eq!(kept, gt(1, 3));
        let Plan::Aggregate { input, .. } = *agg else {
            panic!("{agg:?}")
        };
        assert_eq!(*input, Plan::Filter(Box::new(values()), gt(0, 2)));
    }

    #[test]
    fn limits_groupings_without_keys_and_collated_keys_stop_the_term() {
        let limited = Plan::Limit {
            input: Box::new(values()),
            limit: Some(Expr::Literal(Value::Integer(1))),
            offset: None,
        };
        let out = filtered(limited.clone(), vec![gt(0, 2)], &HashSet::new());
        assert_eq!(out, Plan::Filter(Box::new(limited), gt(0, 2)));
        for group_by in [
            Vec::new(),
            vec![Expr::Function(ScalarFn::NocaseKey, vec![Expr::Column(0)])],
        ] {
            let agg = Plan::Aggregate {
                input: Box::new(values()),
                group_by,
                aggregates: Vec::new(),
                input_row: false,
            };
            let out = filtered(agg.clone(), vec![gt(0, 2)], &HashSet::new());
            assert_eq!(out, Plan::Filter(Box::new(agg), gt(0, 2)));
        }
    }
}
