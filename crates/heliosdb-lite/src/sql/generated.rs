//! Generated columns (`b INT GENERATED ALWAYS AS (a * 2) [VIRTUAL | STORED]`, or the short
//! form `b AS (a * 2)`), with SQLite's rules.
//!
//! Writes compute every generated column from the row's other values (in an order where each
//! follows the generated columns it reads), so constraints, index entries, triggers and
//! RETURNING see them. A STORED column's value is written with the row; a VIRTUAL column is
//! written as NULL and computed again whenever the row is read, from the definition of the
//! schema the read uses: a read `AS OF` a past point computes it as the table was defined
//! then.

use super::catalog::TableDef;
use super::execution::{Executor, Frame};
use super::plan::Expr;
use super::value::Value;
use crate::error::{Error, Result};

/// A table's generated columns, bound, in the order they are computed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeneratedColumns {
    /// (column, expression, stored), each after the generated columns its expression reads.
    order: Vec<(usize, Expr, bool)>,
}

impl GeneratedColumns {
    /// Binds the generated columns of `def` against its columns, refusing what SQLite
    /// refuses: unknown columns, a column that reads itself (directly or through others),
    /// subqueries and non-deterministic functions.
    pub fn bind(def: &TableDef) -> Result<Self> {
        let ncols = def.columns.len();
        let mut bound: Vec<Option<(Expr, Vec<usize>)>> = vec![None; ncols];
        for (i, c) in def.columns.iter().enumerate() {
            let Some(g) = &c.generated else { continue };
            let e = super::dml::bind_table_expr(def, &g.expr)?;
            let mut reads = Vec::new();
            let mut problem = None;
            e.walk(&mut |x| match x {
                Expr::Column(j) if *j < ncols && def.columns[*j].generated.is_some() => {
                    reads.push(*j)
                }
                Expr::Exists { .. } | Expr::ScalarSubquery(_) | Expr::InSubquery { .. } => {
                    problem = Some("subqueries prohibited in generated columns")
                }
                Expr::Function(f, _) if !f.is_deterministic() => {
                    problem = Some("non-deterministic functions prohibited in generated columns")
                }
                Expr::Aggregate { .. } | Expr::Window(_) => {
                    problem = Some("misuse of aggregate function in a generated column")
                }
                _ => {}
            });
            if let Some(p) = problem {
                return Err(Error::invalid(p));
            }
            bound[i] = Some((e, reads));
        }
        // Depth-first order; meeting a column still being visited is a loop.
        let mut state = vec![0u8; ncols]; // 0 new, 1 visiting, 2 done
        let mut order = Vec::new();
        fn visit(
            i: usize,
            def: &TableDef,
            bound: &[Option<(Expr, Vec<usize>)>],
            state: &mut [u8],
            order: &mut Vec<(usize, Expr, bool)>,
        ) -> Result<()> {
            match state[i] {
                2 => return Ok(()),
                1 => {
                    return Err(Error::invalid(format!(
                        "generated column loop on \"{}\"",
                        def.columns[i].name
                    )))
                }
                _ => {}
            }
            let Some((e, reads)) = &bound[i] else {
                return Ok(());
            };
            state[i] = 1;
            for &j in reads {
                visit(j, def, bound, state, order)?;
            }
            state[i] = 2;
            let stored = def.columns[i].generated.as_ref().is_some_and(|g| g.stored);
            order.push((i, e.clone(), stored));
            Ok(())
        }
        for i in 0..ncols {
            visit(i, def, &bound, &mut state, &mut order)?;
        }
        Ok(GeneratedColumns { order })
    }

    /// True if the table has no generated column.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// True if some column is computed when read.
    pub fn has_virtual(&self) -> bool {
        self.order.iter().any(|(_, _, stored)| !stored)
    }

    /// Computes every generated column of a row being written (`row` holds the table's
    /// columns and then its rowid). Each value takes its column's affinity; as in SQLite, a
    /// STRICT table does not check a generated value against the declared type.
    pub fn compute_for_write(
        &self,
        exec: &Executor<'_>,
        def: &TableDef,
        row: &mut [Value],
    ) -> Result<()> {
        for (i, e, _) in &self.order {
            let v = exec.eval(e, &Frame::root(row))?;
            row[*i] = v.apply_affinity(def.columns[*i].affinity);
        }
        Ok(())
    }

    /// Computes the virtual columns of a row read from storage (`row` holds the table's
    /// columns and then its rowid).
    pub fn compute_on_read(
        &self,
        exec: &Executor<'_>,
        def: &TableDef,
        row: &mut [Value],
    ) -> Result<()> {
        for (i, e, stored) in &self.order {
            if !stored {
                let v = exec.eval(e, &Frame::root(row))?;
                row[*i] = v.apply_affinity(def.columns[*i].affinity);
            }
        }
        Ok(())
    }

    /// The row as stored: virtual columns hold NULL (they are computed when read).
    pub fn stored_image(&self, row: &[Value]) -> Vec<Value> {
        let mut out = row.to_vec();
        for (i, _, stored) in &self.order {
            if !stored {
                out[*i] = Value::Null;
            }
        }
        out
    }
}

/// The error for naming a generated column in an INSERT's column list, in SQLite's words.
pub fn cannot_insert(column: &str) -> Error {
    Error::invalid(format!("cannot INSERT into generated column \"{column}\""))
}

/// The error for assigning a generated column in an UPDATE or upsert, in SQLite's words.
pub fn cannot_update(column: &str) -> Error {
    Error::invalid(format!("cannot UPDATE generated column \"{column}\""))
}
