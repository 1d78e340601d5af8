//! Planning `WITH RECURSIVE` CTEs: `initial UNION [ALL] step`, where the step reads the CTE.
//!
//! The initial part is planned first, without the CTE in scope; its columns (renamed by the
//! CTE's column list) are the CTE's. The step is then planned with the CTE's name bound to a
//! working table: a `Materialize` that the executor's recursive operator fills with one
//! queued row before each run of the step (see `execution::recursive`). A CTE under `WITH
//! RECURSIVE` whose body does not read itself is an ordinary CTE.

use super::super::collation::Collation;
use super::super::plan::Plan;
use super::select::{plan_set_expr, rename, OutputColumn};
use super::{Cte, Planner};
use crate::error::{Error, Result};
use sqlparser::ast::{self, SetExpr, SetOperator, SetQuantifier};
use std::sync::Arc;

/// True if a FROM clause somewhere in `e` names the table `name` (lower case): read from
/// the parsed statement's serde form, which reaches every nested query.
fn reads_table(e: &SetExpr, name: &str) -> bool {
    fn walk(v: &serde_json::Value, name: &str) -> bool {
        match v {
            serde_json::Value::Array(a) => a.iter().any(|x| walk(x, name)),
            serde_json::Value::Object(o) => {
                let named = o
                    .get("Table")
                    .and_then(|t| t.get("name"))
                    .and_then(|n| n.as_array()?.last()?.pointer("/Identifier/value")?.as_str())
                    .is_some_and(|v| v.eq_ignore_ascii_case(name));
                named || o.values().any(|x| walk(x, name))
            }
            _ => false,
        }
    }
    serde_json::to_value(e).is_ok_and(|v| walk(&v, name))
}

/// Plans a recursive CTE, or returns `None` when the CTE does not refer to itself.
pub(super) fn plan_cte(
    p: &mut Planner<'_>,
    cte: &ast::Cte,
) -> Result<Option<(Plan, Vec<OutputColumn>)>> {
    let q = &cte.query;
    let SetExpr::SetOperation {
        left,
        op: SetOperator::Union,
        set_quantifier,
        right,
    } = q.body.as_ref()
    else {
        return Ok(None);
    };
    let name = cte.alias.name.value.to_lowercase();
    if q.with.is_some() || !reads_table(right, &name) {
        return Ok(None);
    }
    let alias_columns: Vec<String> = cte
        .alias
        .columns
        .iter()
        .map(|c| c.name.value.clone())
        .collect();
    let (initial, mut columns) = plan_set_expr(p, left)?;
    rename(&mut columns, &alias_columns)?;
    let working = p.new_id();
    p.shared_ids.insert(working);
    let refs_before = p.working_refs;
    p.ctes.push((
        name.clone(),
        Arc::new(Cte {
            plan: Plan::Materialize {
                id: working,
                input: Box::new(Plan::Values(Vec::new())),
                hint: Default::default(),
            },
            columns: columns.clone(),
            working: Some(working),
        }),
    ));
    let step = plan_set_expr(p, right);
    p.ctes.pop();
    let (step, step_columns) = step?;
    if p.working_refs == refs_before {
        // The name was met only where an inner CTE of the same name hides it.
        return Err(Error::Unsupported(format!(
            "recursive CTE {name} whose recursive SELECT does not read {name} itself"
        )));
    }
    if step_columns.len() != columns.len() {
        return Err(Error::invalid(
            "SELECTs to the left and right of UNION do not have the same number of result columns",
        ));
    }
    if q.order_by.is_some() {
        return Err(Error::Unsupported(format!(
            "ORDER BY in the recursive CTE {name}"
        )));
    }
    let mut plan = Plan::Recursive {
        working,
        initial: Box::new(initial),
        step: Box::new(step),
        distinct: !matches!(set_quantifier, SetQuantifier::All),
        collations: union_collations(&columns, &step_columns),
    };
    // LIMIT / OFFSET of the CTE's own query: the recursion stops once they are met.
    if let Some(clause) = &q.limit_clause {
        let (limit, offset) = super::select::bind_limit_clause(p, clause)?;
        plan = Plan::Limit {
            input: Box::new(plan),
            limit,
            offset,
        };
    }
    Ok(Some((plan, columns)))
}

/// The collations under which a recursive UNION finds duplicates: per column, the first
/// of the initial and recursive SELECTs' columns that has one (empty when all are BINARY).
fn union_collations(initial: &[OutputColumn], step: &[OutputColumn]) -> Vec<Collation> {
    let collations: Vec<Collation> = initial
        .iter()
        .zip(step)
        .map(|(a, b)| a.collation.or(b.collation).unwrap_or_default())
        .collect();
    match collations.iter().all(|c| c.is_binary()) {
        true => Vec::new(),
        false => collations,
    }
}
