//! PRAGMA statements: schema introspection and the integrity check.

use super::catalog::Schema;
use super::codec;
use super::dml::{index_entry_key, row_key_values};
use super::execution::Executor;
use super::session::{Engine, Outcome};
use super::value::Value;
use crate::error::{Error, Result};
use crate::mvcc::Transaction;
use crate::storage::{prefix_range, Direction};
use sqlparser::ast;
use std::sync::Arc;

fn rows(columns: &[&str], rows: Vec<Vec<Value>>) -> Outcome {
    Outcome {
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
        changes: 0,
        returns_rows: true,
        temporal: Vec::new(),
        column_types: Vec::new(),
    }
}

/// Runs a PRAGMA.
pub fn run(
    engine: &Engine,
    txn: &Transaction,
    schema: &Arc<Schema>,
    name: &ast::ObjectName,
    value: Option<String>,
) -> Result<Outcome> {
    let pragma = super::planner::table_name(name)?.to_ascii_lowercase();
    let arg = value.map(|v| v.trim_matches(['\'', '"']).to_string());
    match pragma.as_str() {
        "table_info" => {
            let t = arg.ok_or_else(|| Error::invalid("PRAGMA table_info needs a table name"))?;
            let info = schema.table(&t).ok_or(Error::NoSuchTable(t))?;
            let def = &info.def;
            Ok(rows(
                &["cid", "name", "type", "notnull", "dflt_value", "pk"],
                def.columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let pk = def
                            .primary_key
                            .iter()
                            .position(|&p| p == i)
                            .map_or(0, |p| p + 1);
                        vec![
                            Value::Integer(i as i64),
                            Value::Text(c.name.clone()),
                            Value::Text(c.type_name.clone()),
                            Value::Integer(i64::from(c.not_null)),
                            c.default.clone().map_or(Value::Null, Value::Text),
                            Value::Integer(pk as i64),
                        ]
                    })
                    .collect(),
            ))
        }
        "index_list" => {
            let t = arg.ok_or_else(|| Error::invalid("PRAGMA index_list needs a table name"))?;
            let info = schema.table(&t).ok_or(Error::NoSuchTable(t))?;
            Ok(rows(
                &["seq", "name", "unique"],
                info.indexes
                    .iter()
                    .enumerate()
                    .map(|(i, ix)| {
                        vec![
                            Value::Integer(i as i64),
                            Value::Text(ix.name.clone()),
                            Value::Integer(i64::from(ix.unique)),
                        ]
                    })
                    .collect(),
            ))
        }
        "integrity_check" | "quick_check" => {
            let problems = integrity_check(engine, txn, schema)?;
            let out = if problems.is_empty() {
                vec![vec![Value::from("ok")]]
            } else {
                problems.into_iter().map(|p| vec![Value::Text(p)]).collect()
            };
            Ok(rows(&["integrity_check"], out))
        }
        "foreign_keys" => Ok(rows(&["foreign_keys"], vec![vec![Value::Integer(1)]])),
        "journal_mode" => Ok(rows(&["journal_mode"], vec![vec![Value::from("wal")]])),
        _ => Err(Error::Unsupported(format!("PRAGMA {pragma}"))),
    }
}

/// Checks that every row can be decoded, every index entry points to a row with matching
/// values, every row has its index entries, and the maintained row count is the real one. Returns a description of each problem.
pub fn integrity_check(engine: &Engine, txn: &Transaction, schema: &Schema) -> Result<Vec<String>> {
    let _ = engine;
    let mut problems = Vec::new();
    let env = super::session::StmtEnv {
        mvcc: engine.mvcc.clone(),
        now_us: std::cell::OnceCell::from(0),
        last_txn_id: None,
        last_insert_rowid: 0,
        changes: 0,
    };
    let exec = Executor::new(None, &[], &env);
    let mut names: Vec<_> = schema.tables.keys().cloned().collect();
    names.sort();
    for name in names {
        let info = &schema.tables[&name];
        let mut expected = std::collections::HashSet::new();
        let mut rows = 0i64;
        for kv in txn.scan(
            prefix_range(&codec::table_prefix(info.def.id)),
            Direction::Forward,
        ) {
            let (k, v) = kv?;
            rows += 1;
            match exec.decode_row(info, &k, &v) {
                Ok(row) => {
                    let kv = row_key_values(&info.def, &row);
                    for ix in &info.indexes {
                        let ik = index_entry_key(ix, &row, &kv);
                        if txn.get(&ik)?.is_none() {
                            problems.push(format!(
                                "row {} of {} is missing from index {}",
                                kv.iter()
                                    .map(|v| v.to_string())
                                    .collect::<Vec<_>>()
                                    .join(","),
                                info.def.name,
                                ix.name
                            ));
                        }
                        expected.insert(ik);
                    }
                }
                Err(e) => problems.push(format!("table {}: unreadable row: {e}", info.def.name)),
            }
        }
        if let Some(counted) = txn.live_count(&codec::table_prefix(info.def.id))? {
            if counted != rows {
                problems.push(format!(
                    "table {} has {rows} rows but its maintained row count says {counted}",
                    info.def.name
                ));
            }
        }
        for ix in &info.indexes {
            for kv in txn.scan(
                prefix_range(&codec::index_prefix(ix.id)),
                Direction::Forward,
            ) {
                let (k, _) = kv?;
                if !expected.contains(&k) {
                    problems.push(format!("index {} has an entry for a missing row", ix.name));
                }
            }
        }
    }
    Ok(problems)
}
