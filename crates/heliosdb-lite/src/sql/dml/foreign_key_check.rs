//! `PRAGMA foreign_key_check`: the rows whose foreign keys point at no parent row.
//!
//! Such rows exist when they were written while enforcement was off (`PRAGMA foreign_keys =
//! OFF`, SQLite's default), or before the parent rows went away with enforcement off; tools
//! and ORMs run the check after a migration. A row is listed once per foreign key it
//! violates, in SQLite's columns: the table, the row's rowid (NULL for a WITHOUT ROWID table),
//! the parent table and the key's id (as `PRAGMA foreign_key_list` numbers them). A key with a
//! NULL in any of its columns points at nothing and is not checked; a missing parent table
//! makes every other row a violation, as in SQLite. Parents are looked up exactly as the
//! enforcement does (the parent columns' affinities and collations).

use super::foreign_key::rows_matching;
use super::DmlContext;
use crate::error::Result;
use crate::mvcc::Transaction;
use crate::sql::catalog::TableInfo;
use crate::sql::codec;
use crate::sql::value::Value;
use crate::storage::{prefix_range, Direction};
use std::sync::Arc;

impl DmlContext<'_, '_> {
    /// The violations of the foreign keys of `tables` (see the module documentation), table
    /// by table, row by row in key order, and for each row key by key (by id), as SQLite
    /// lists them.
    pub fn foreign_key_check(
        &self,
        txn: &Transaction,
        tables: &[Arc<TableInfo>],
    ) -> Result<Vec<Vec<Value>>> {
        let mut out = Vec::new();
        for info in tables {
            let def = &info.def;
            if def.foreign_keys.is_empty() {
                continue;
            }
            // Ids as `foreign_key_list` gives them: the last declared is 0. Each key's
            // parent, its columns and their collations (`None`: no such parent table).
            let mut keys = Vec::new();
            for (id, fk) in def.foreign_keys.iter().rev().enumerate() {
                keys.push((id, fk, self.parent_key(info, fk)?));
            }
            let exec = self.exec(txn);
            let range = prefix_range(&codec::table_prefix(def.id));
            for kv in txn.scan(range, Direction::Forward) {
                let (k, v) = kv?;
                let row = exec.decode_row(info, &k, &v)?;
                for (id, fk, lookup) in &keys {
                    let vals: Vec<Value> = fk.columns.iter().map(|&c| row[c].clone()).collect();
                    if vals.iter().any(Value::is_null) {
                        continue;
                    }
                    let found = match lookup {
                        Some((p, pcols, collations)) => {
                            !rows_matching(txn, self, p, pcols, &vals, collations, 1)?.is_empty()
                        }
                        None => false,
                    };
                    if found {
                        continue;
                    }
                    let rowid = if def.has_rowid() {
                        row.get(def.rowid_column.unwrap_or(def.columns.len()))
                            .cloned()
                            .unwrap_or(Value::Null)
                    } else {
                        Value::Null
                    };
                    out.push(vec![
                        Value::Text(def.name.clone()),
                        rowid,
                        Value::Text(fk.parent.clone()),
                        Value::Integer(*id as i64),
                    ]);
                }
            }
        }
        Ok(out)
    }
}
