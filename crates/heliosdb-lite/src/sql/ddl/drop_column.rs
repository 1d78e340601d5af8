//! `ALTER TABLE t DROP COLUMN c`, with SQLite's rules: the column must not be the primary
//! key, indexed or UNIQUE, referenced by another table's foreign key or part of a
//! multi-column one, or named by a view, a trigger or a CHECK constraint that reads other
//! columns too (a CHECK or REFERENCES on the column alone goes with it); the table must keep
//! a column. The current rows are
//! rewritten without it (their old versions, and the old definition, stay readable `AS OF`
//! a point before the drop), and the stored CREATE TABLE text is regenerated from its
//! parsed form without the column.

use super::rename::{self, Context, Target};
use crate::error::{Error, Result};
use crate::mvcc::Transaction;
use crate::sql::catalog::{IndexDef, Schema, TableDef, TableInfo};
use crate::sql::codec;
use crate::sql::execution::Executor;
use crate::sql::functions::FnEnv;
use crate::storage::{prefix_range, Direction};
use sqlparser::ast::Statement;

/// True if `text` names the column (a rename of it would change the text).
fn mentions(
    text: &str,
    table: &str,
    column: &str,
    schema: &Schema,
    ctx: Context<'_>,
    expr: bool,
) -> Result<bool> {
    let target = Target::Column {
        table,
        old: column,
        new: "helios_dropped_column",
    };
    let rewritten = if expr {
        rename::expression(text, target, schema, ctx)?
    } else {
        rename::statements(text, target, schema, ctx)?
    };
    Ok(rewritten != text)
}

/// Drops column `name` from `def` (the table `info` as stored), rewriting its rows.
pub fn drop_column(
    txn: &mut Transaction,
    schema: &Schema,
    info: &TableInfo,
    def: &mut TableDef,
    indexes: &mut [IndexDef],
    name: &str,
    env: &dyn FnEnv,
) -> Result<()> {
    let i = def
        .column_index(name)
        .ok_or_else(|| Error::NoSuchColumn(format!("{}.{name}", def.name)))?;
    let refuse = |why: String| Err(Error::invalid(format!("cannot drop column {name}: {why}")));
    if def.columns.len() == 1 {
        return refuse("no other columns exist".into());
    }
    if def.primary_key.contains(&i) || def.rowid_column == Some(i) {
        return refuse("it is the PRIMARY KEY".into());
    }
    if let Some(ix) = indexes
        .iter()
        .find(|ix| ix.columns.iter().any(|c| c.column == i))
    {
        return refuse(format!(
            "it is indexed by {} (UNIQUE or CREATE INDEX)",
            ix.name
        ));
    }
    // A foreign key of the column alone goes with it (SQLite drops a column's REFERENCES);
    // one over several columns keeps it.
    if def
        .foreign_keys
        .iter()
        .any(|fk| fk.columns.len() > 1 && fk.columns.contains(&i))
    {
        return refuse("it is part of a foreign key".into());
    }
    for t in schema.tables.values() {
        for fk in &t.def.foreign_keys {
            if fk.parent.eq_ignore_ascii_case(&def.name)
                && fk
                    .parent_columns
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(name))
            {
                return refuse(format!("a foreign key of {} references it", t.def.name));
            }
        }
    }
    let table = def.name.clone();
    // A CHECK on the column alone goes with it (SQLite drops a column's own CHECK); one that
    // also reads other columns keeps the column.
    let mut checks = Vec::new();
    for c in &def.checks {
        let ctx = Context::Table(&table);
        if !mentions(c, &table, name, schema, ctx, true)? {
            checks.push(c.clone());
            continue;
        }
        for other in def
            .columns
            .iter()
            .filter(|o| !o.name.eq_ignore_ascii_case(name))
        {
            if mentions(c, &table, &other.name, schema, ctx, true)? {
                return refuse(format!("the CHECK constraint ({c}) uses it"));
            }
        }
    }
    for v in schema.views.values() {
        if mentions(&v.query, &table, name, schema, Context::None, false)? {
            return refuse(format!("view {} uses it", v.name));
        }
    }
    for tr in schema.triggers.values() {
        let ctx = Context::Trigger(&tr.table);
        let on_it = tr.table.eq_ignore_ascii_case(&table)
            && tr.columns.iter().any(|c| c.eq_ignore_ascii_case(name));
        let in_when = match &tr.when {
            Some(w) => mentions(w, &table, name, schema, ctx, true)?,
            None => false,
        };
        if on_it || in_when || mentions(&tr.body, &table, name, schema, ctx, false)? {
            return refuse(format!("trigger {} uses it", tr.name));
        }
    }
    // The current rows, without the column.
    let prefix = codec::table_prefix(def.id);
    let rows: Vec<crate::storage::KvPair> = txn
        .scan(prefix_range(&prefix), Direction::Forward)
        .collect::<Result<_>>()?;
    let exec = Executor::new(None, &[], env);
    let ncols = def.columns.len();
    for (k, v) in rows {
        let mut row = exec.decode_row(info, &k, &v)?;
        row.truncate(ncols);
        row.remove(i);
        txn.put(k.to_vec(), codec::encode_row(&row))?;
    }
    // Positions after the column move down by one.
    let shift = |c: &mut usize| {
        if *c > i {
            *c -= 1;
        }
    };
    def.columns.remove(i);
    def.checks = checks;
    def.foreign_keys.retain(|fk| fk.columns != [i]);
    def.primary_key.iter_mut().for_each(shift);
    if let Some(r) = &mut def.rowid_column {
        shift(r);
    }
    for fk in &mut def.foreign_keys {
        fk.columns.iter_mut().for_each(shift);
    }
    for ix in indexes.iter_mut() {
        ix.columns.iter_mut().for_each(|c| shift(&mut c.column));
    }
    def.sql = without_column(&def.sql, name)?;
    Ok(())
}

/// The CREATE TABLE text without the column's definition, printed from its parsed form.
fn without_column(sql: &str, name: &str) -> Result<String> {
    let parsed = crate::sql::parser::parse(sql)?;
    let Some(crate::sql::parser::Parsed::Sql(st)) = parsed.into_iter().next().map(|p| p.statement)
    else {
        return Ok(sql.to_string());
    };
    match *st {
        Statement::CreateTable(mut ct) => {
            ct.columns
                .retain(|c| !c.name.value.eq_ignore_ascii_case(name));
            Ok(Statement::CreateTable(ct).to_string())
        }
        _ => Ok(sql.to_string()),
    }
}
