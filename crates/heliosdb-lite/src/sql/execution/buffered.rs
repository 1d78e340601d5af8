//! Rows a statement gathers before it acts on them: the target rows of an UPDATE or DELETE
//! (SQLite decides every target before changing the first), the rows an
//! `INSERT ... SELECT` adds. They are held within the statement's memory budget; past it
//! the rest go to a spill file, read back in the order they came, so a statement changing
//! millions of rows holds a bounded amount of them in memory.

use super::memory::{row_bytes, Reservation};
use super::spill::{SpillReader, SpillWriter};
use super::{Executor, Frame, Row};
use crate::error::Result;
use crate::sql::plan::Plan;

/// The gathered rows, in the order the plan produced them (those kept in memory first, then
/// those spilled), each with what the statement derived from it when gathering (an UPDATE's
/// new row; an empty row when nothing was derived).
pub struct BufferedRows {
    /// Rows gathered some other way, with nothing derived (see [`BufferedRows::from_rows`]).
    plain: std::vec::IntoIter<Row>,
    memory: std::vec::IntoIter<(Row, Row)>,
    spilled: Option<SpillReader>,
    len: usize,
}

impl BufferedRows {
    /// How many rows were gathered.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the plan produced no row.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Rows kept in memory, gathered some other way (nothing spilled).
    pub fn from_rows(rows: Vec<Row>) -> Self {
        // Kept as they are: pairing each with an empty row here would copy the list (an
        // allocation per statement on the single-row INSERT of a batch load).
        BufferedRows {
            len: rows.len(),
            plain: rows.into_iter(),
            memory: Vec::new().into_iter(),
            spilled: None,
        }
    }
}

impl BufferedRows {
    /// Rows kept in memory, each with what the statement derived from it.
    pub fn from_pairs(pairs: Vec<(Row, Row)>) -> Self {
        BufferedRows {
            len: pairs.len(),
            plain: Vec::new().into_iter(),
            memory: pairs.into_iter(),
            spilled: None,
        }
    }
}

impl Iterator for BufferedRows {
    type Item = Result<(Row, Row)>;

    fn next(&mut self) -> Option<Result<(Row, Row)>> {
        if let Some(row) = self.plain.next() {
            return Some(Ok((row, Vec::new())));
        }
        if let Some(pair) = self.memory.next() {
            return Some(Ok(pair));
        }
        match self.spilled.as_mut()?.next() {
            Ok(Some(pair)) => Some(Ok(pair)),
            Ok(None) => {
                self.spilled = None;
                None
            }
            Err(e) => {
                self.spilled = None;
                Some(Err(e))
            }
        }
    }
}

impl Executor<'_> {
    /// Runs `plan` to the end, keeping its rows, each with what `derive` makes of it, within
    /// the statement's memory budget (the rest spills) to be acted on after the plan's reads
    /// are over. `derive` evaluates with this executor, so an uncorrelated subquery it runs
    /// is computed once for all the rows, not once a row.
    pub fn run_buffered(
        &self,
        plan: &Plan,
        parent: Option<&Frame<'_>>,
        mut derive: impl FnMut(&Self, &Row) -> Result<Row>,
    ) -> Result<BufferedRows> {
        let mut op = self.open(plan)?;
        let mut reservation = Reservation::new(self.memory());
        let mut kept = Vec::new();
        let mut spill: Option<SpillWriter> = None;
        let mut len = 0;
        while let Some(row) = op.next(parent)? {
            len += 1;
            let derived = derive(self, &row)?;
            match &mut spill {
                Some(w) => w.write(&row, &derived)?,
                // Once one row spills, every later one does: the order is kept.
                None if reservation.try_grow(row_bytes(&row) + row_bytes(&derived)) => {
                    kept.push((row, derived))
                }
                None => {
                    let mut w = SpillWriter::create(self.memory())?;
                    w.write(&row, &derived)?;
                    spill = Some(w);
                }
            }
        }
        drop(op);
        // The caller holds the rows from here on, outside any operator: what stays in memory
        // is bounded by the budget this reservation could take.
        drop(reservation);
        Ok(BufferedRows {
            plain: Vec::new().into_iter(),
            memory: kept.into_iter(),
            spilled: spill.map(SpillWriter::finish).transpose()?,
            len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::engine::ClockOnly;
    use crate::sql::execution::StatementLimits;
    use crate::sql::plan::Expr;
    use crate::sql::value::Value;

    /// Rows `(i, 'row i padded')` for `i` in `0..n`, as a VALUES plan.
    fn values(n: i64) -> Plan {
        Plan::Values(
            (0..n)
                .map(|i| {
                    vec![
                        Expr::Literal(Value::Integer(i)),
                        Expr::Literal(Value::Text(format!("row {i:0>100}"))),
                    ]
                })
                .collect(),
        )
    }

    fn gather(budget: Option<usize>, n: i64) -> (Vec<(Row, Row)>, usize) {
        let env = ClockOnly(0);
        let limits = StatementLimits {
            memory_bytes: budget,
            ..Default::default()
        };
        let ex = Executor::new(None, &[], &env).with_limits(&limits);
        let plan = values(n);
        let rows = ex
            .run_buffered(&plan, None, |_, r| Ok(vec![r[0].clone()]))
            .unwrap();
        assert_eq!(rows.len(), n as usize);
        let all: Vec<(Row, Row)> = rows.map(Result::unwrap).collect();
        (all, ex.memory().spill_files())
    }

    #[test]
    fn rows_past_the_budget_spill_and_come_back_in_order_with_what_was_derived() {
        let (roomy, roomy_files) = gather(None, 5_000);
        let (tight, tight_files) = gather(Some(64 * 1024), 5_000);
        assert_eq!(roomy_files, 0);
        assert_eq!(tight_files, 1, "5,000 rows of ~150 bytes exceed 64 KiB");
        assert_eq!(roomy, tight);
        for (i, (row, derived)) in tight.iter().enumerate() {
            assert_eq!(row[0], Value::Integer(i as i64));
            assert_eq!(derived, &vec![Value::Integer(i as i64)]);
        }
    }

    #[test]
    fn no_rows_gives_an_empty_buffer() {
        let (rows, files) = gather(Some(1024), 0);
        assert!(rows.is_empty());
        assert_eq!(files, 0);
    }
}
