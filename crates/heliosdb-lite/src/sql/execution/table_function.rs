//! Table-valued functions (`json_each`, `json_tree`, the schema PRAGMAs as
//! `pragma_table_info(...)`): the function's rows for its arguments,
//! evaluated against the enclosing row, so that the inner side of a lookup join
//! (`FROM t, json_each(t.doc)`) gives each row of `t` its own rows.

use super::super::functions::json::each;
use super::super::plan::{Expr, TableFunction};
use super::{Executor, Frame, Operator, Row};
use crate::error::{Error, Result};
use crate::sql::pragma_info::PragmaTable;
use crate::sql::value::Value;

/// Computes the rows at the first `next` after a rewind and hands them out one by one.
pub(super) struct TableFunctionOp<'e> {
    ex: &'e Executor<'e>,
    function: TableFunction,
    args: &'e [Expr],
    rows: Option<std::vec::IntoIter<Row>>,
}

impl<'e> TableFunctionOp<'e> {
    pub(super) fn new(ex: &'e Executor<'e>, function: TableFunction, args: &'e [Expr]) -> Self {
        Self {
            ex,
            function,
            args,
            rows: None,
        }
    }
}

impl Operator for TableFunctionOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        if self.rows.is_none() {
            let f = Frame {
                row: &[],
                parent: outer,
            };
            let values = self
                .args
                .iter()
                .map(|e| self.ex.eval(e, &f))
                .collect::<Result<Vec<_>>>()?;
            let rows = match &self.function {
                TableFunction::Pragma(table) => pragma_rows(table, &values)?,
                json => {
                    let recursive = *json == TableFunction::JsonTree;
                    let mut rows = match values.as_slice() {
                        [json] => each::rows(json, None, recursive)?,
                        [json, root] => each::rows(json, Some(root), recursive)?,
                        _ => Vec::new(),
                    };
                    // The hidden rowid after the columns (the planner's scope has it last),
                    // from 0 as SQLite numbers them.
                    for (i, row) in rows.iter_mut().enumerate() {
                        row.push(Value::Integer(i as i64));
                    }
                    rows
                }
            };
            self.rows = Some(rows.into_iter());
        }
        Ok(self.rows.as_mut().and_then(Iterator::next))
    }

    fn rewind(&mut self) {
        self.rows = None;
    }
}

/// The rows of a schema PRAGMA read as a function for its arguments (`arg`, and `schema` but
/// for `table_list`), each followed by its hidden columns: the arguments given, as text (as
/// SQLite keeps them), then the rowid (from 1).
fn pragma_rows(table: &PragmaTable, values: &[Value]) -> Result<Vec<Row>> {
    let text = |v: Option<&Value>| -> Option<String> {
        v.filter(|v| !v.is_null())
            .map(|v| v.to_text().unwrap_or_default())
    };
    let arg = text(values.first());
    let schema = text(values.get(1));
    if let Some(name) = &schema {
        if name.eq_ignore_ascii_case("temp") {
            // The empty `temp` schema: no table of it has rows to describe.
            return Ok(Vec::new());
        }
        if !name.eq_ignore_ascii_case("main") {
            return Err(Error::invalid(format!("unknown database '{name}'")));
        }
    }
    let hidden: Vec<Value> = [&arg, &schema]
        .into_iter()
        .take(table.arguments().len())
        .map(|v| v.clone().map_or(Value::Null, Value::Text))
        .collect();
    Ok(table
        .rows(arg.as_deref())
        .into_iter()
        .zip(1..)
        .map(|(mut row, rowid)| {
            row.extend(hidden.iter().cloned());
            row.push(Value::Integer(rowid));
            row
        })
        .collect())
}
