//! Which tables a plan reads: an UPDATE whose SET reads the table it changes must compute
//! each new row after the rows before it were written (see `dml::update`).

use super::{Expr, Materialization, Plan, Source};
use std::collections::HashSet;

impl Plan {
    /// The plans this node reads rows from (not the subqueries inside its expressions).
    pub fn inputs(&self) -> Vec<&Plan> {
        match self {
            Plan::Scan(_) | Plan::Values(_) | Plan::TableFunction { .. } => Vec::new(),
            Plan::Filter(p, _)
            | Plan::Project(p, _)
            | Plan::Place { input: p, .. }
            | Plan::Aggregate { input: p, .. }
            | Plan::Sort(p, _)
            | Plan::Limit { input: p, .. }
            | Plan::Distinct(p)
            | Plan::Window { input: p, .. }
            | Plan::Materialize { input: p, .. } => vec![p],
            Plan::Join(j) => vec![&j.left, &j.right],
            Plan::SetOperation { left, right, .. }
            | Plan::Recursive {
                initial: left,
                step: right,
                ..
            } => vec![left, right],
        }
    }

    /// True if running the plan reads the current rows of the table with id `table`: a scan
    /// of it anywhere in the plan or in its subqueries. Reads of a past snapshot do not
    /// count (a statement's writes cannot change them).
    pub fn reads_current_table(&self, table: u32) -> bool {
        if let Plan::Scan(n) = self {
            if n.table.def.id == table && n.source == Source::Current {
                return true;
            }
        }
        let mut found = false;
        self.visit_own_exprs(&mut |e| found |= e.reads_current_table(table));
        found || self.inputs().iter().any(|p| p.reads_current_table(table))
    }
}

impl Expr {
    /// True if a subquery in the expression reads the current rows of the table with id
    /// `table` ([`Plan::reads_current_table`]).
    pub fn reads_current_table(&self, table: u32) -> bool {
        let mut found = false;
        self.walk(&mut |x| {
            if let Expr::InSubquery { plan, .. }
            | Expr::Exists { plan, .. }
            | Expr::ScalarSubquery(plan) = x
            {
                found |= plan.plan.reads_current_table(table);
            }
        });
        found
    }
}

/// The relations of `exprs`' subqueries that SQLite computes once per statement rather than
/// reading again wherever they are used: a view, CTE or derived table with an aggregate,
/// DISTINCT, a window, LIMIT or a compound SELECT, which its query flattener cannot merge
/// into the query that reads it. Of every other relation SQLite reads the rows afresh (it
/// flattens it; recent versions also flatten a CTE read twice), which an UPDATE computing
/// new rows one at a time must match (`dml::update`). A CTE declared `AS MATERIALIZED` is
/// computed once whatever it holds; `AS NOT MATERIALIZED` only allows flattening, so one
/// SQLite cannot flatten is still computed once.
pub fn relations_computed_once(exprs: &[&Expr]) -> HashSet<usize> {
    let mut once = HashSet::new();
    for e in exprs {
        visit_expr(e, &mut once);
    }
    once
}

fn visit_plan(p: &Plan, once: &mut HashSet<usize>) {
    if let Plan::Materialize { id, input, hint } = p {
        let computed_once = match hint {
            Materialization::Materialized => true,
            Materialization::Auto => !flattenable(input),
            Materialization::NotMaterialized => !flattenable(input),
        };
        if computed_once {
            once.insert(*id);
        }
    }
    p.visit_own_exprs(&mut |e| visit_expr(e, once));
    for i in p.inputs() {
        visit_plan(i, once);
    }
}

fn visit_expr(e: &Expr, once: &mut HashSet<usize>) {
    e.walk(&mut |x| {
        if let Expr::InSubquery { plan, .. }
        | Expr::Exists { plan, .. }
        | Expr::ScalarSubquery(plan) = x
        {
            visit_plan(&plan.plan, once);
        }
    });
}
/// True if SQLite's flattener could merge the relation into the query reading it: a plain
/// selection and projection of its input, with no grouping, DISTINCT, window, LIMIT or set
/// operation on top.
fn flattenable(p: &Plan) -> bool {
    match p {
        Plan::Project(i, _) | Plan::Filter(i, _) | Plan::Sort(i, _) => flattenable(i),
        Plan::Aggregate { .. }
        | Plan::Distinct(_)
        | Plan::Window { .. }
        | Plan::Limit { .. }
        | Plan::SetOperation { .. }
        | Plan::Recursive { .. }
        | Plan::Materialize { .. } => false,
        Plan::Scan(_)
        | Plan::Values(_)
        | Plan::Place { .. }
        | Plan::Join(_)
        | Plan::TableFunction { .. } => true,
    }
}
