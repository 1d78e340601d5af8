//! Aggregate queries: GROUP BY keys, aggregate calls and HAVING, keeping to what SQLite
//! specifies (no bare columns, min/max and DISTINCT only over safe classes).

use super::{Expr, Gen, Mode};
use crate::schema::Class;
use rand::seq::IndexedRandom;
use rand::Rng;

impl Gen<'_> {
    /// The select list, GROUP BY and HAVING of an aggregate query over the current sources,
    /// and its row bound. No subqueries here: they could see non-grouped columns.
    pub(super) fn aggregate_items(
        &mut self,
        ncols: usize,
        mode: Mode,
        product: u64,
    ) -> (Vec<Expr>, String, u64) {
        let nkeys = if mode == Mode::OneRowAgg {
            0
        } else {
            self.rng.random_range(0..=2)
        };
        let keys: Vec<Expr> = (0..nkeys).filter_map(|_| self.group_key()).collect();
        let items: Vec<Expr> = (0..ncols)
            .map(|_| {
                if !keys.is_empty() && self.pct(35) {
                    folded_output(keys.choose(&mut self.rng).expect("not empty").clone())
                } else {
                    self.agg_call()
                }
            })
            .collect();
        if keys.is_empty() {
            return (items, String::new(), 1);
        }
        let mut tail = format!(
            " GROUP BY {}",
            keys.iter()
                .map(|k| k.sql.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if self.pct(35) {
            tail += &format!(" HAVING {}", self.having(&keys, 1));
        }
        (items, tail, product)
    }

    /// A GROUP BY key: a column of the current sources whose class is safe (the key's value
    /// is read from one row of its group) or [`Class::Folded`] (output through
    /// [`folded_output`]), or an integer column plus or minus an integer.
    pub(super) fn group_key(&mut self) -> Option<Expr> {
        let col = self.column_where(|c| c.is_safe() || c == Class::Folded)?;
        if self.pct(20) && col.class == Class::Int {
            let op = ["+", "-"].choose(&mut self.rng).expect("not empty");
            let n = self.rng.random_range(1..=3);
            return Some(Expr {
                sql: format!("({} {op} {n})", col.sql),
                class: Class::Int,
            });
        }
        Some(col)
    }

    /// A random column of the current sources whose class passes `keep`, if there is one.
    fn column_where(&mut self, keep: impl Fn(Class) -> bool) -> Option<Expr> {
        let cols: Vec<Expr> = self
            .cur
            .iter()
            .flat_map(|s| {
                s.cols.iter().filter(|(_, c)| keep(*c)).map(|(n, c)| Expr {
                    sql: format!("{}.{n}", s.alias),
                    class: *c,
                })
            })
            .collect();
        cols.choose(&mut self.rng).cloned()
    }

    /// An argument for an aggregate: from the current sources only.
    pub(super) fn agg_arg(&mut self) -> Expr {
        let col = self.local_column();
        if self.pct(20) {
            let other = self.local_column();
            let op = ["+", "-", "*"].choose(&mut self.rng).expect("not empty");
            return Expr {
                sql: format!("({} {op} {})", col.sql, other.sql),
                class: Class::Mixed,
            };
        }
        col
    }

    /// An aggregate call over the current sources.
    pub(super) fn agg_call(&mut self) -> Expr {
        let r = self.rng.random_range(0..100);
        // min, max and DISTINCT keep one of several equal values: safe arguments only, or
        // folded ones whose result is output folded.
        let safe_arg = |g: &mut Self| g.column_where(|c| c.is_safe() || c == Class::Folded);
        let (sql, class) = match r {
            0..15 => ("count(*)".to_string(), Class::Int),
            15..28 => (format!("count({})", self.agg_arg().sql), Class::Int),
            28..36 => match safe_arg(self) {
                Some(e) => (format!("count(DISTINCT {})", e.sql), Class::Int),
                None => ("count(*)".to_string(), Class::Int),
            },
            36..50 => (format!("sum({})", self.agg_arg().sql), Class::Mixed),
            50..54 => match safe_arg(self) {
                Some(e) => (format!("sum(DISTINCT {})", e.sql), Class::Mixed),
                None => ("count(*)".to_string(), Class::Int),
            },
            54..64 => (format!("avg({})", self.agg_arg().sql), Class::Real),
            64..72 => (format!("total({})", self.agg_arg().sql), Class::Real),
            _ => {
                let f = if r < 86 { "min" } else { "max" };
                match safe_arg(self) {
                    Some(e) => (format!("{f}({})", e.sql), e.class),
                    None => ("count(*)".to_string(), Class::Int),
                }
            }
        };
        // FILTER (WHERE ...) keeps only some rows of the group for this aggregate.
        let sql = if self.pct(15) {
            let col = self.local_column().sql;
            let op = self.cmp_op();
            format!("{sql} FILTER (WHERE {col} {op} {})", self.pred_literal())
        } else {
            sql
        };
        // count(DISTINCT folded) and sum(DISTINCT folded) are numbers; min / max are not.
        if class == Class::Folded {
            return folded_output(Expr { sql, class });
        }
        Expr { sql, class }
    }

    /// A HAVING condition over aggregates and GROUP BY keys.
    pub(super) fn having(&mut self, keys: &[Expr], depth: u32) -> String {
        match self.rng.random_range(0..if depth == 0 { 6 } else { 10 }) {
            0..3 => {
                let a = self.agg_call();
                let op = self.cmp_op();
                format!("{} {op} {}", a.sql, self.rng.random_range(-1..=6))
            }
            3 => format!("{} IS NULL", self.agg_call().sql),
            4..6 => {
                let k = keys.choose(&mut self.rng).expect("keys exist").sql.clone();
                let op = self.cmp_op();
                format!("{k} {op} {}", self.pred_literal())
            }
            6 => format!("NOT ({})", self.having(keys, depth - 1)),
            7 | 8 => format!(
                "({} AND {})",
                self.having(keys, depth - 1),
                self.having(keys, depth - 1)
            ),
            _ => format!(
                "({} OR {})",
                self.having(keys, depth - 1),
                self.having(keys, depth - 1)
            ),
        }
    }
}

/// An expression as output: one of [`Class::Folded`] goes through `upper(rtrim(...))`, the
/// same text for every value equal to it under NOCASE or RTRIM, so which of the equal values
/// a group key or min / max holds does not show.
pub(super) fn folded_output(e: Expr) -> Expr {
    if e.class != Class::Folded {
        return e;
    }
    Expr {
        sql: format!("upper(rtrim({}))", e.sql),
        class: Class::NonNumeric,
    }
}
