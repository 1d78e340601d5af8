//! The DDL of values computed from a row: a column's `GENERATED ALWAYS AS (expr)` option and
//! the parts of `CREATE INDEX ... ON t(<parts>)`, which may be expressions. How they are bound
//! and checked: `engine::bind_generated` and `engine::bind_index`; how they are computed:
//! `execution::computed`.

use super::super::catalog::{Generated, IndexColumn, TableDef, EXPRESSION_COLUMN};
use super::super::collation::Collation;
use super::super::planner::table_name;
use crate::error::{Error, Result};
use sqlparser::ast::{self, ColumnOption};

/// `GENERATED ALWAYS AS (expr) [VIRTUAL | STORED]` or `AS (expr)`; identity columns (a
/// sequence instead of an expression) are not SQLite's and are refused.
pub fn generated_option(opt: &ColumnOption) -> Result<Option<Generated>> {
    let ColumnOption::Generated {
        generation_expr,
        generation_expr_mode,
        ..
    } = opt
    else {
        return Ok(None);
    };
    let Some(e) = generation_expr else {
        return Err(Error::Unsupported(
            "identity columns; use INTEGER PRIMARY KEY".into(),
        ));
    };
    Ok(Some(Generated {
        expr: e.to_string(),
        stored: matches!(
            generation_expr_mode,
            Some(ast::GeneratedExpressionMode::Stored)
        ),
    }))
}

/// The parts of `CREATE INDEX ... ON t(<parts>)`: a column (with COLLATE and ASC/DESC), or
/// an expression over the table's columns (a parenthesized column is the column, as in
/// SQLite).
pub fn index_parts(cols: &[ast::IndexColumn], def: &TableDef) -> Result<Vec<IndexColumn>> {
    cols.iter()
        .map(|c| {
            let desc = matches!(c.column.options.sort, Some(ast::OrderBySort::Desc));
            let (expr, explicit) = match &c.column.expr {
                ast::Expr::Collate { expr, collation } => (
                    expr.as_ref(),
                    Some(Collation::from_name(&table_name(collation)?)?),
                ),
                other => (other, None),
            };
            let mut inner = expr;
            while let ast::Expr::Nested(e) = inner {
                inner = e;
            }
            if let ast::Expr::Identifier(id) = inner {
                if let Some(column) = def.column_index(&id.value) {
                    return Ok(IndexColumn::on_column(
                        column,
                        desc,
                        explicit.unwrap_or(def.columns[column].collation),
                    ));
                }
            }
            Ok(IndexColumn {
                column: EXPRESSION_COLUMN,
                desc,
                collation: explicit.unwrap_or_default(),
                expr: Some(expr.to_string()),
            })
        })
        .collect()
}
