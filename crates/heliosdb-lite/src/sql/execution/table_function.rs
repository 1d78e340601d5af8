//! Table-valued functions (`json_each`, `json_tree`): the function's rows for its arguments,
//! evaluated against the enclosing row, so that the inner side of a lookup join
//! (`FROM t, json_each(t.doc)`) gives each row of `t` its own rows.

use super::super::functions::json::each;
use super::super::plan::{Expr, TableFunction};
use super::{Executor, Frame, Operator, Row};
use crate::error::Result;
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
            let recursive = self.function == TableFunction::JsonTree;
            let mut rows = match values.as_slice() {
                [json] => each::rows(json, None, recursive)?,
                [json, root] => each::rows(json, Some(root), recursive)?,
                _ => Vec::new(),
            };
            // The hidden rowid after the columns (the planner's scope has it last).
            for (i, row) in rows.iter_mut().enumerate() {
                row.push(Value::Integer(i as i64));
            }
            self.rows = Some(rows.into_iter());
        }
        Ok(self.rows.as_mut().and_then(Iterator::next))
    }

    fn rewind(&mut self) {
        self.rows = None;
    }
}
