//! UPDATE ... FROM, and UPDATE or DELETE after `WITH`: the target rows come from a query.
//!
//! SQLite (3.33+) runs `UPDATE t SET c = e FROM f WHERE w` as the join
//! `SELECT <t's key>, e FROM t, f WHERE w`, keeps one result per target row (the last one the
//! join produces, as its ephemeral table keyed by rowid does), then updates each target row in
//! key order with the values computed by the join. Common table expressions before an UPDATE
//! or DELETE are visible in its WHERE, SET and FROM; the same query form gives them that scope.
//! Building the query from the statement's own syntax nodes keeps each `?` where it was
//! written, so parameters number as in the text.

use super::{DmlContext, Row};
use crate::error::{Error, Result};
use crate::mvcc::Transaction;
use crate::sql::catalog::TableInfo;
use crate::sql::plan::Plan;
use crate::sql::value::Value;
use sqlparser::ast::{self, Ident};
use std::collections::BTreeMap;

/// A target scan that is a query: its rows are the target row's key values, then the
/// values of the assignments (none for DELETE).
pub(super) struct JoinedTarget {
    /// The query.
    pub plan: Plan,
    /// How many leading columns are the key.
    pub key_width: usize,
}

/// The parts of an UPDATE or DELETE that the query is built from.
pub(super) struct JoinedParts<'x> {
    /// `WITH` before the statement.
    pub with: Option<&'x ast::With>,
    /// The target table as written (with its alias).
    pub target: &'x ast::TableFactor,
    /// The target's name in expressions (its alias, or its name).
    pub alias: &'x str,
    /// UPDATE ... FROM's tables.
    pub from: &'x [ast::TableWithJoins],
    /// WHERE.
    pub selection: Option<&'x ast::Expr>,
    /// The assigned values, in the order of the plan's assignments.
    pub values: Vec<&'x ast::Expr>,
}

/// The expressions that read a target row's key: its rowid, or its primary-key columns.
fn key_items(info: &TableInfo, alias: &str) -> Result<Vec<ast::Expr>> {
    let def = &info.def;
    let column =
        |name: &str| ast::Expr::CompoundIdentifier(vec![Ident::new(alias), Ident::new(name)]);
    if !def.has_rowid() {
        return Ok(def
            .primary_key
            .iter()
            .map(|&c| column(&def.columns[c].name))
            .collect());
    }
    if let Some(c) = def.rowid_column {
        return Ok(vec![column(&def.columns[c].name)]);
    }
    // The hidden rowid, under a name no column has taken.
    match ["rowid", "_rowid_", "oid"]
        .into_iter()
        .find(|n| def.column_index(n).is_none())
    {
        Some(n) => Ok(vec![column(n)]),
        None => Err(Error::Unsupported(format!(
            "UPDATE ... FROM or WITH on {}: its columns rowid, _rowid_ and oid hide the rowid",
            def.name
        ))),
    }
}

impl DmlContext<'_, '_> {
    /// Plans the query that finds the target rows (and computes the new values).
    pub(super) fn plan_joined(
        &mut self,
        info: &TableInfo,
        parts: JoinedParts<'_>,
        cacheable: &mut bool,
    ) -> Result<JoinedTarget> {
        // SQLite's rule: the FROM clause may not name the target again (a self-join
        // gives the second copy another name).
        for twj in parts.from {
            for factor in
                std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation))
            {
                let exposed = match factor {
                    ast::TableFactor::Table { alias: Some(a), .. }
                    | ast::TableFactor::Derived { alias: Some(a), .. } => {
                        Some(a.name.value.clone())
                    }
                    ast::TableFactor::Table { name, .. } => {
                        crate::sql::planner::table_name(name).ok()
                    }
                    _ => None,
                };
                if exposed.is_some_and(|n| n.eq_ignore_ascii_case(parts.alias)) {
                    return Err(Error::invalid(format!(
                        "target object/alias may not appear in FROM clause: {}",
                        parts.alias
                    )));
                }
            }
        }
        let keys = key_items(info, parts.alias)?;
        let key_width = keys.len();
        let dialect = crate::sql::parser::HeliosDialect::default();
        let mut query = sqlparser::parser::Parser::new(&dialect)
            .try_with_sql("SELECT 1")
            .and_then(|mut p| p.parse_query())
            .map_err(|e| Error::invalid(format!("building the UPDATE/DELETE query: {e}")))?;
        let ast::SetExpr::Select(select) = query.body.as_mut() else {
            return Err(Error::invalid("building the UPDATE/DELETE query"));
        };
        select.projection = keys
            .into_iter()
            .chain(parts.values.into_iter().cloned())
            .map(ast::SelectItem::UnnamedExpr)
            .collect();
        select.from = std::iter::once(ast::TableWithJoins {
            relation: parts.target.clone(),
            joins: Vec::new(),
        })
        .chain(parts.from.iter().cloned())
        .collect();
        select.selection = parts.selection.cloned();
        query.with = parts.with.cloned();
        let plan = self.with_planner(cacheable, |p| Ok(p.plan_query(&query)?.0))?;
        Ok(JoinedTarget { plan, key_width })
    }

    /// Runs the query: for each target row, in key order, its row key and the values of the
    /// last result row that named it.
    pub(super) fn joined_targets(
        &self,
        txn: &Transaction,
        info: &TableInfo,
        target: &JoinedTarget,
    ) -> Result<Vec<(Vec<u8>, Vec<Value>)>> {
        let rows: Vec<Row> = self.run_plan(txn, &target.plan)?;
        let mut by_key = BTreeMap::new();
        for mut row in rows {
            let values = row.split_off(target.key_width);
            if row.iter().any(Value::is_null) {
                continue; // a LEFT JOIN's missing side cannot name a target row
            }
            let key = info.def.row_key(&row);
            by_key.insert(key, values);
        }
        Ok(by_key.into_iter().collect())
    }
}
