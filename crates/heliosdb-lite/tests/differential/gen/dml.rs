//! Statements for the DML campaign (`differential_dml`): INSERT (literal rows or another
//! table's rows; OR IGNORE, OR REPLACE, ON CONFLICT DO NOTHING), UPDATE and DELETE whose
//! conditions and new values come from the query generator, and triggers that log, in
//! order, what they saw into `dlog`.
//!
//! Left out because SQLite's answer depends on the order it visits rows, which its plan
//! chooses and ours need not share: UPDATE OR REPLACE, UPDATEs of key columns (a plain
//! UPDATE of a unique column may fail half-way in one order and not in another), so SET
//! never names a primary-key or UNIQUE column, and subqueries in SET. NULL never goes
//! into a composite primary key (SQLite accepts it in a rowid table, HeliosDB does not).

use super::{Gen, Source};
use crate::schema::Class;
use rand::seq::IndexedRandom;
use rand::Rng;

/// The table the triggers log into: `seq` numbers the entries in firing order.
pub const LOG_TABLE: &str = "CREATE TABLE dlog(seq INTEGER PRIMARY KEY, what TEXT, v)";

impl Gen<'_> {
    /// Makes `table` the only current source, under its own name (how UPDATE and DELETE
    /// refer to their target); returns its columns.
    fn target(&mut self, table: usize) -> (String, Vec<(String, Class)>) {
        self.outer.clear();
        self.ctes.clear();
        self.next_alias = 0;
        self.per_row = 0;
        self.small = true;
        let t = &self.schema.tables[table];
        let cols: Vec<(String, Class)> = t
            .columns
            .iter()
            .map(|c| (c.name.to_string(), c.class()))
            .collect();
        self.cur = vec![Source {
            alias: t.name.clone(),
            cols: cols.clone(),
        }];
        (t.name.clone(), cols)
    }

    /// One INSERT, UPDATE or DELETE on a table of the schema, or now and then a transaction
    /// statement (BEGIN, COMMIT, ROLLBACK, savepoints), which both engines must take or
    /// refuse alike.
    pub fn dml(&mut self) -> String {
        if self.pct(8) {
            return [
                "BEGIN",
                "COMMIT",
                "ROLLBACK",
                "SAVEPOINT s1",
                "SAVEPOINT s2",
                "RELEASE s1",
                "ROLLBACK TO s1",
                "ROLLBACK TO s2",
            ]
            .choose(&mut self.rng)
            .expect("not empty")
            .to_string();
        }
        let table = self.rng.random_range(0..self.schema.tables.len());
        let (name, cols) = self.target(table);
        let keyed = self.schema.tables[table].keyed.clone();
        let filter = |g: &mut Self| {
            if g.pct(85) {
                g.dml_filter = true;
                let pred = g.pred(1, 1);
                g.dml_filter = false;
                format!(" WHERE {pred}")
            } else {
                String::new()
            }
        };
        match self.rng.random_range(0..100) {
            0..40 => self.insert(table, &name, &cols),
            40..75 if keyed.len() < cols.len() => {
                // Never a key column: see the module documentation.
                let settable: Vec<&(String, Class)> = (0..cols.len())
                    .filter(|c| !keyed.contains(c))
                    .map(|c| &cols[c])
                    .collect();
                let n = self.rng.random_range(1..=settable.len().min(2));
                let mut sets = Vec::new();
                for (c, _) in settable.choose_multiple(&mut self.rng, n) {
                    // No subquery in SET: one reading the table being changed sees the rows
                    // updated before its row, so its answer depends on the visiting order
                    // (a documented difference when the plans differ).
                    let value = if self.pct(30) {
                        self.pred_literal()
                    } else {
                        self.scalar(1, 0).sql
                    };
                    sets.push(format!("{c} = {value}"));
                }
                let or = if self.pct(10) { " OR IGNORE" } else { "" };
                let filter = filter(self);
                format!("UPDATE{or} {name} SET {}{filter}", sets.join(", "))
            }
            _ => {
                let filter = filter(self);
                format!("DELETE FROM {name}{filter}")
            }
        }
    }

    /// INSERT into `table` of literal rows, or of another table's rows.
    fn insert(&mut self, table: usize, name: &str, cols: &[(String, Class)]) -> String {
        let (or, upsert) = match self.rng.random_range(0..100) {
            0..15 => (" OR IGNORE", ""),
            15..30 => (" OR REPLACE", ""),
            30..40 => ("", " ON CONFLICT DO NOTHING"),
            _ => ("", ""),
        };
        // No NULL into a composite primary key (see [`crate::schema::Table::composite_key`]):
        // its columns are always given, never NULL.
        let not_null = self.schema.tables[table].composite_key;
        let n = self.rng.random_range(not_null.max(1)..=cols.len());
        let names: Vec<&str> = cols[..n].iter().map(|(c, _)| c.as_str()).collect();
        let others: Vec<usize> = (0..self.schema.tables.len())
            .filter(|&i| i != table && self.schema.tables[i].columns.len() >= n)
            .collect();
        let source = match others.choose(&mut self.rng) {
            Some(&other) if self.pct(25) => {
                let o = &self.schema.tables[other];
                let picked: Vec<String> = o.columns[..n]
                    .iter()
                    .enumerate()
                    .map(|(i, c)| match i < not_null {
                        true => format!("coalesce({}, 0)", c.name),
                        false => c.name.to_string(),
                    })
                    .collect();
                // Ordered, so that OR REPLACE keeps the same row of two that collide.
                format!(
                    "SELECT {} FROM {} WHERE true ORDER BY {}",
                    picked.join(", "),
                    o.name,
                    picked.join(", ")
                )
            }
            _ => {
                let rows: Vec<String> = (0..self.rng.random_range(1..=3))
                    .map(|_| {
                        let values: Vec<String> = (0..n)
                            .map(|i| loop {
                                let v = self.pred_literal();
                                if i >= not_null || v != "NULL" {
                                    break v;
                                }
                            })
                            .collect();
                        format!("({})", values.join(", "))
                    })
                    .collect();
                format!("VALUES {}", rows.join(", "))
            }
        };
        format!(
            "INSERT{or} INTO {name} ({}) {source}{upsert}",
            names.join(", ")
        )
    }

    /// A trigger numbered `i` on a table of the schema that logs a column of the row it
    /// fires for (and, now and then, only when a condition holds).
    pub fn trigger(&mut self, i: usize) -> String {
        let table = self.rng.random_range(0..self.schema.tables.len());
        let (name, cols) = self.target(table);
        let timing = if self.pct(50) { "BEFORE" } else { "AFTER" };
        let (col, _) = cols.choose(&mut self.rng).expect("has columns").clone();
        let (event, row) = match self.rng.random_range(0..4) {
            0 => ("INSERT".to_string(), "NEW"),
            1 => ("DELETE".to_string(), "OLD"),
            2 => ("UPDATE".to_string(), "NEW"),
            _ => {
                let (of, _) = cols.choose(&mut self.rng).expect("has columns");
                (format!("UPDATE OF {of}"), "OLD")
            }
        };
        let when = if self.pct(25) {
            let lo = self.rng.random_range(-3..=6);
            format!(" WHEN {row}.{col} >= {lo}")
        } else {
            String::new()
        };
        format!(
            "CREATE TRIGGER tg{i} {timing} {event} ON {name}{when} BEGIN \
             INSERT INTO dlog(what, v) VALUES ('tg{i}', {row}.{col}); END"
        )
    }
}
