//! Relations computed once per statement and reused: CTEs, views, derived tables.
//!
//! A relation that reads no enclosing row has the same rows wherever it is used, so it runs
//! once and later uses replay the stored rows. One that does read an enclosing row (a derived
//! table inside a correlated subquery) is run afresh each time instead.

use super::super::plan::Plan;
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;
use std::rc::Rc;

/// Replays the stored rows of a relation, computing them on first use.
pub(super) struct MaterializeOp<'e> {
    ex: &'e Executor<'e>,
    id: usize,
    input: &'e Plan,
    rows: Option<Rc<Vec<Row>>>,
    /// The input read through directly, when it reads enclosing rows.
    direct: Option<BoxOp<'e>>,
    pos: usize,
}

impl<'e> MaterializeOp<'e> {
    pub(super) fn new(ex: &'e Executor<'e>, id: usize, input: &'e Plan) -> Self {
        Self {
            ex,
            id,
            input,
            rows: None,
            direct: None,
            pos: 0,
        }
    }
}

impl Operator for MaterializeOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        if let Some(op) = &mut self.direct {
            return op.next(outer);
        }
        if self.rows.is_none() {
            if self.input.reads_outer() {
                let mut op = self.ex.open(self.input)?;
                let row = op.next(outer)?;
                self.direct = Some(op);
                return Ok(row);
            }
            let cached = self.ex.cache.borrow().get(&self.id).cloned();
            let rows = match cached {
                Some(r) => r,
                None => {
                    // Kept for the whole statement: the rows count against its budget.
                    let mut op = self.ex.open(self.input)?;
                    let mut rows = Vec::new();
                    while let Some(row) = op.next(outer)? {
                        self.ex.memory().take_for_statement(
                            super::memory::row_bytes(&row),
                            "the rows of a view, CTE or derived table kept for reuse",
                        )?;
                        rows.push(row);
                    }
                    let r = Rc::new(rows);
                    self.ex.cache.borrow_mut().insert(self.id, r.clone());
                    r
                }
            };
            self.rows = Some(rows);
        }
        let rows = self.rows.as_ref().expect("set above");
        let row = rows.get(self.pos).cloned();
        self.pos += 1;
        Ok(row)
    }

    fn rewind(&mut self) {
        self.pos = 0;
        self.direct = None;
    }
}
