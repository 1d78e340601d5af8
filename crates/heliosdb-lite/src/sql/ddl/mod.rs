//! CREATE / DROP / ALTER: catalog changes, written through the transaction like rows.
//!
//! The catalog is a set of versioned keys (`'c'` ‖ name), so a schema change commits or rolls
//! back with its transaction and a historical query reads the schema of its point. Here:
//! CREATE and DROP of tables, indexes, views and triggers, `ALTER TABLE` (`rename` rewrites
//! the stored SQL of every object that names a renamed table or column; `drop_column`
//! rewrites the rows), and `ANALYZE` (`analyze`), which stores index statistics in the
//! catalog entries.

pub mod analyze;
pub mod computed;
pub mod drop_column;
pub mod rename;

use super::catalog::{
    CatalogEntry, ColumnDef, FkAction, ForeignKeyDef, IndexColumn, IndexDef, Schema, TableDef,
    TableInfo, ViewDef,
};
use super::codec;
use super::collation::Collation;
use super::dml::{index_entry_key_into, row_entry_key_into, row_key_values};
use super::execution::{ByteSorter, Executor, QueryMemory, StatementLimits};
use super::functions::FnEnv;
use super::parser::ParsedStatement;
use super::planner::table_name;
use rename::Context;

use super::value::Affinity;
use crate::error::{ConstraintKind, Error, Result};
use crate::mvcc::Transaction;
use crate::storage::{prefix_range, Direction};
use sqlparser::ast::{self, ColumnOption, Statement, TableConstraint};
use std::sync::Arc;

/// Executes a DDL statement.
pub fn run(
    engine: &super::engine::Engine,
    txn: &mut Transaction,
    schema: &Arc<Schema>,
    stmt: &ParsedStatement,
    sql: &Statement,
    env: &dyn FnEnv,
    limits: &StatementLimits,
) -> Result<()> {
    let _ = engine;
    match sql {
        Statement::CreateTable(ct) => create_table(txn, schema, stmt, ct, env),
        Statement::CreateIndex(ci) => create_index(txn, schema, stmt, ci, env, limits),
        Statement::CreateView(cv) => create_view(txn, schema, stmt, cv),
        Statement::Drop {
            object_type,
            if_exists,
            names,
            ..
        } => {
            for n in names {
                drop_object(txn, schema, object_type, *if_exists, &table_name(n)?)?;
            }
            Ok(())
        }
        Statement::AlterTable(at) => alter_table(txn, schema, at, env),
        Statement::DropTrigger(dt) => {
            let name = table_name(&dt.trigger_name)?;
            if !schema.triggers.contains_key(&name.to_lowercase()) {
                if dt.if_exists {
                    return Ok(());
                }
                return Err(Error::invalid(format!("no such trigger: {name}")));
            }
            delete_trigger_entry(txn, &name)
        }
        other => Err(Error::Unsupported(format!("{other}"))),
    }
}

fn next_object_id(txn: &mut Transaction) -> Result<u32> {
    let cur = match txn.get_meta(b"next_object_id")? {
        Some(v) => u32::from_be_bytes(
            v.as_slice()
                .try_into()
                .map_err(|_| Error::corruption("object id counter has wrong length"))?,
        ),
        None => 1,
    };
    let next = cur
        .checked_add(1)
        .ok_or_else(|| Error::LimitExceeded("too many tables and indexes created".into()))?;
    txn.put_meta(b"next_object_id".to_vec(), next.to_be_bytes().to_vec())?;
    Ok(cur)
}

/// Stores a catalog entry: a trigger under its own key ([`codec::trigger_catalog_key`]),
/// anything else under its name's. A trigger an older build stored under the name's key
/// moves out of the way first (or, for a trigger written again, goes).
pub(super) fn put_entry(txn: &mut Transaction, entry: &CatalogEntry) -> Result<()> {
    let plain = codec::catalog_key(entry.name());
    let old_trigger = trigger_under_name_key(txn, &plain)?;
    if let CatalogEntry::Trigger(_) = entry {
        if old_trigger.is_some() {
            txn.delete(plain)?;
        }
        return txn.put(codec::trigger_catalog_key(entry.name()), entry.encode());
    }
    if let Some(old) = old_trigger {
        txn.put(codec::trigger_catalog_key(entry.name()), old)?;
    }
    txn.put(plain, entry.encode())
}

/// Deletes the catalog entry of trigger `name`, wherever it is stored.
fn delete_trigger_entry(txn: &mut Transaction, name: &str) -> Result<()> {
    let plain = codec::catalog_key(name);
    if trigger_under_name_key(txn, &plain)?.is_some() {
        txn.delete(plain)?;
    }
    txn.delete(codec::trigger_catalog_key(name))
}

/// The encoded trigger an older build stored under the name's key `plain`, if that is what
/// the key holds.
fn trigger_under_name_key(txn: &Transaction, plain: &[u8]) -> Result<Option<Vec<u8>>> {
    match txn.get(plain)? {
        Some(v) if matches!(CatalogEntry::decode(&v)?, CatalogEntry::Trigger(_)) => {
            Ok(Some(v.to_vec()))
        }
        _ => Ok(None),
    }
}

fn column_names(cols: &[ast::IndexColumn], def: &TableDef, what: &str) -> Result<Vec<IndexColumn>> {
    cols.iter()
        .map(|c| {
            // `column [COLLATE name]`: the explicit collation, else the column's declared one.
            let (name, explicit) = match &c.column.expr {
                ast::Expr::Identifier(id) => (id.value.clone(), None),
                ast::Expr::Collate { expr, collation } => match expr.as_ref() {
                    ast::Expr::Identifier(id) => (
                        id.value.clone(),
                        Some(Collation::from_name(&table_name(collation)?)?),
                    ),
                    other => {
                        return Err(Error::Unsupported(format!("{what} on expression {other}")))
                    }
                },
                other => return Err(Error::Unsupported(format!("{what} on expression {other}"))),
            };
            let column = def
                .column_index(&name)
                .ok_or_else(|| Error::NoSuchColumn(format!("{}.{name}", def.name)))?;
            Ok(IndexColumn::on_column(
                column,
                matches!(c.column.options.sort, Some(ast::OrderBySort::Desc)),
                explicit.unwrap_or(def.columns[column].collation),
            ))
        })
        .collect()
}

fn create_table(
    txn: &mut Transaction,
    schema: &Schema,
    stmt: &ParsedStatement,
    ct: &ast::CreateTable,
    env: &dyn FnEnv,
) -> Result<()> {
    let name = table_name(&ct.name)?;
    check_not_reserved(&name)?;
    if !schema.check_new_relation(&name, ct.if_not_exists)? {
        // SQLite still parses the columns: a misplaced ASC / DESC is a syntax error.
        for c in &ct.columns {
            column_order(c)?;
        }
        return Ok(());
    }
    if ct.query.is_some() {
        return Err(Error::Unsupported("CREATE TABLE ... AS SELECT".into()));
    }
    if ct.columns.is_empty() {
        return Err(Error::invalid(format!("table {name} has no columns")));
    }
    let mut def = TableDef {
        id: 0,
        name: name.clone(),
        columns: Vec::new(),
        primary_key: Vec::new(),
        rowid_column: None,
        autoincrement: false,
        checks: Vec::new(),
        foreign_keys: Vec::new(),
        sql: stmt.text.clone(),
        strict: ct
            .sqlite_table_options
            .options
            .contains(&ast::SqliteTableOption::Strict),
        without_rowid: ct
            .sqlite_table_options
            .options
            .contains(&ast::SqliteTableOption::WithoutRowid),
    };
    let mut uniques: Vec<Vec<IndexColumn>> = Vec::new();
    let mut pk: Option<Vec<IndexColumn>> = None;
    // Whether the key is a column's `PRIMARY KEY DESC`: SQLite makes no rowid alias of that
    // one (a documented quirk it keeps for old databases).
    let mut pk_desc = false;
    for (i, c) in ct.columns.iter().enumerate() {
        if def.column_index(&c.name.value).is_some() {
            return Err(duplicate_column(c));
        }
        // Read column by column, as SQLite's parser reads them: an error of an earlier
        // column comes first.
        let order = column_order(c)?;
        let mut col = bare_column(c);
        order.apply_to_type(&mut col);
        for opt in &c.options {
            match &opt.option {
                ColumnOption::NotNull => col.not_null = true,
                ColumnOption::Null => {}
                ColumnOption::Default(e) => {
                    // Validate now so a bad default fails the CREATE, not every INSERT.
                    super::engine::eval_default_text(&e.to_string(), env)?;
                    col.default = Some(e.to_string());
                }
                ColumnOption::PrimaryKey(_) => {
                    if pk.is_some() {
                        return Err(Error::invalid(format!(
                            "table {name} has more than one primary key"
                        )));
                    }
                    pk = Some(vec![IndexColumn::on_column(
                        i,
                        order.pk_desc,
                        Collation::Binary,
                    )]);
                    pk_desc = order.pk_desc;
                }
                // Type words or the key's order: read by `column_order` above.
                ColumnOption::DialectSpecific(tokens) if order_words(tokens).is_some() => {}
                ColumnOption::Unique(_) => {
                    uniques.push(vec![IndexColumn::on_column(i, false, Collation::Binary)])
                }
                ColumnOption::Check(ch) => def.checks.push(ch.expr.to_string()),
                ColumnOption::ForeignKey(fk) => def.foreign_keys.push(ForeignKeyDef {
                    columns: vec![i],
                    parent: table_name(&fk.foreign_table)?,
                    parent_columns: fk
                        .referred_columns
                        .iter()
                        .map(|c| c.value.clone())
                        .collect(),
                    on_delete: FkAction::from_ast(fk.on_delete.as_ref()),
                    on_update: FkAction::from_ast(fk.on_update.as_ref()),
                }),
                ColumnOption::DialectSpecific(tokens) => {
                    if tokens
                        .iter()
                        .any(|t| t.to_string().eq_ignore_ascii_case("AUTOINCREMENT"))
                    {
                        def.autoincrement = true;
                    }
                }
                ColumnOption::Collation(c) => {
                    col.collation = Collation::from_name(&table_name(c)?)?
                }
                ColumnOption::Comment(_) => {}
                g @ ColumnOption::Generated { .. } => {
                    // SQLite words a DEFAULT written before the expression differently.
                    if col.default.is_some() {
                        return Err(Error::invalid(format!(
                            "error in generated column \"{}\"",
                            col.name
                        )));
                    }
                    col.generated = computed::generated_option(g)?
                }
                other => return Err(Error::Unsupported(format!("column option {other}"))),
            }
        }
        if col.generated.is_some() {
            if col.default.is_some() {
                return Err(Error::invalid("cannot use DEFAULT on a generated column"));
            }
            if pk.as_ref().is_some_and(|p| p.iter().any(|c| c.column == i)) {
                return Err(Error::invalid(
                    "generated columns cannot be part of the PRIMARY KEY",
                ));
            }
        }
        if def.strict {
            col.affinity = super::strict::column_affinity(&name, &col)?;
        }
        // The column's UNIQUE and PRIMARY KEY use its collation, whichever option came first.
        for ic in uniques.iter_mut().chain(pk.iter_mut()).flatten() {
            if ic.column == i {
                ic.collation = col.collation;
            }
        }
        def.columns.push(col);
    }
    for tc in &ct.constraints {
        match tc {
            TableConstraint::PrimaryKey(p) => {
                if pk.is_some() {
                    return Err(Error::invalid(format!(
                        "table {name} has more than one primary key"
                    )));
                }
                pk = Some(column_names(&p.columns, &def, "PRIMARY KEY")?);
            }
            TableConstraint::Unique(u) => uniques.push(column_names(&u.columns, &def, "UNIQUE")?),
            TableConstraint::ForeignKey(fk) => {
                let columns = fk
                    .columns
                    .iter()
                    .map(|c| {
                        def.column_index(&c.value)
                            .ok_or_else(|| Error::NoSuchColumn(format!("{name}.{}", c.value)))
                    })
                    .collect::<Result<Vec<_>>>()?;
                def.foreign_keys.push(ForeignKeyDef {
                    columns,
                    parent: table_name(&fk.foreign_table)?,
                    parent_columns: fk
                        .referred_columns
                        .iter()
                        .map(|c| c.value.clone())
                        .collect(),
                    on_delete: FkAction::from_ast(fk.on_delete.as_ref()),
                    on_update: FkAction::from_ast(fk.on_update.as_ref()),
                });
            }
            TableConstraint::Check(c) => def.checks.push(c.expr.to_string()),
            other => return Err(Error::Unsupported(format!("table constraint {other}"))),
        }
    }
    if def.without_rowid && def.autoincrement {
        return Err(Error::invalid(
            "AUTOINCREMENT not allowed on WITHOUT ROWID tables",
        ));
    }
    if let Some(pk) = pk {
        let cols: Vec<usize> = pk.iter().map(|c| c.column).collect();
        if cols.len() == 1
            && !def.without_rowid
            && !pk_desc
            && def.columns[cols[0]]
                .type_name
                .eq_ignore_ascii_case("INTEGER")
        {
            def.rowid_column = Some(cols[0]);
        } else if let Some(ic) = pk.iter().find(|c| !c.collation.is_binary()) {
            // Rows are keyed by their primary key's plain values.
            return Err(Error::Unsupported(format!(
                "PRIMARY KEY on column {} with COLLATE {}; declare it UNIQUE (with NOT NULL) instead",
                def.columns[ic.column].name,
                ic.collation.name()
            )));
        } else if def.autoincrement {
            return Err(Error::invalid(
                "AUTOINCREMENT is only allowed on an INTEGER PRIMARY KEY",
            ));
        }
        if cols.iter().any(|&c| def.columns[c].generated.is_some()) {
            return Err(Error::invalid(
                "generated columns cannot be part of the PRIMARY KEY",
            ));
        }
        def.primary_key = cols;
    } else if def.without_rowid {
        return Err(Error::invalid(format!(
            "PRIMARY KEY missing on table {name}"
        )));
    } else if def.autoincrement {
        return Err(Error::invalid(
            "AUTOINCREMENT is only allowed on an INTEGER PRIMARY KEY",
        ));
    }
    // Validate CHECK expressions and generated columns against the table's columns now.
    for c in &def.checks {
        super::dml::bind_table_expr(&def, c)?;
    }
    if def.columns.iter().all(|c| c.generated.is_some()) {
        return Err(Error::invalid(
            "must have at least one non-generated column",
        ));
    }
    super::engine::bind_generated(&def)?;
    def.id = next_object_id(txn)?;
    let table = CatalogEntry::Table(def.clone());
    put_entry(txn, &table)?;
    // The table is empty: its row count starts at zero and every commit keeps it.
    txn.start_counting(&codec::table_prefix(def.id))?;
    for (n, cols) in uniques.into_iter().enumerate() {
        let ix = IndexDef {
            id: next_object_id(txn)?,
            name: format!("sqlite_autoindex_{}_{}", name, n + 1),
            table: name.clone(),
            columns: cols,
            unique: true,
            sql: None,
            stats: None,
            predicate: None,
            bound: Default::default(),
        };
        put_entry(txn, &CatalogEntry::Index(ix))?;
    }
    Ok(())
}

fn create_index(
    txn: &mut Transaction,
    schema: &Schema,
    stmt: &ParsedStatement,
    ci: &ast::CreateIndex,
    env: &dyn FnEnv,
    limits: &StatementLimits,
) -> Result<()> {
    let name = match &ci.name {
        Some(n) => table_name(n)?,
        None => return Err(Error::invalid("CREATE INDEX needs a name")),
    };
    match schema.taken_by(&name) {
        None => {}
        Some("index") if ci.if_not_exists => return Ok(()),
        Some("index") => return Err(Error::AlreadyExists(format!("index {name} already exists"))),
        // A table or a view, whatever IF NOT EXISTS says (as SQLite).
        Some(_) => {
            return Err(Error::AlreadyExists(format!(
                "there is already a table named {name}"
            )))
        }
    }
    let tname = table_name(&ci.table_name)?;
    let info = schema
        .table(&tname)
        .ok_or_else(|| Error::NoSuchTable(tname.clone()))?
        .clone();
    let columns = computed::index_parts(&ci.columns, &info.def)?;
    let ix = IndexDef {
        id: next_object_id(txn)?,
        name: name.clone(),
        table: info.def.name.clone(),
        columns,
        unique: ci.unique,
        sql: Some(stmt.text.clone()),
        stats: None,
        predicate: ci.predicate.as_ref().map(|p| p.to_string()),
        bound: Default::default(),
    };
    // Refuses unknown columns, subqueries and non-deterministic functions.
    ix.bound
        .set(Arc::new(super::engine::bind_index(&info.def, &ix)?));
    backfill_index(txn, &info, &ix, env, limits)?;
    put_entry(txn, &CatalogEntry::Index(ix))
}

/// Entries from which a new index is written straight to its heads
/// (`Transaction::put_new_sorted`) rather than through the write set: a storage batch's
/// worth, below which the one-batch commit of a small transaction is cheaper (unless the
/// entries would take half the write set's budget, which a small device may set low).
const BULK_ENTRIES: usize = 4096;
/// What one entry in the write set holds besides its key: map node, undo entry.
const ENTRY_HELD: usize = 128;

/// Writes the entries of a new index for the table's existing rows, as a sort: one scan of
/// the table computes every entry into an external sort (bounded by the statement's memory
/// budget, spilling sorted runs to temporary files past it), and the entries are then
/// written in key order. A UNIQUE index sorts by its values under SQL equality (1 and 1.0
/// are equal), so duplicates come out next to each other and are found without a set of
/// every key seen. Past [`BULK_ENTRIES`] the entries skip the write set: nothing but this
/// transaction can see the new index before the commit.
fn backfill_index(
    txn: &mut Transaction,
    info: &TableInfo,
    ix: &IndexDef,
    env: &dyn FnEnv,
    limits: &StatementLimits,
) -> Result<()> {
    let prefix = codec::table_prefix(info.def.id);
    let memory = QueryMemory::new(
        limits.memory_bytes.unwrap_or(usize::MAX),
        limits.spill_dir.clone(),
    );
    let mut sorter = ByteSorter::new(&memory);
    let (mut entries, mut held) = (0usize, 0usize);
    let mut entry = Vec::new();
    {
        let exec = Executor::new(None, &[], env);
        for kv in txn.scan(prefix_range(&prefix), Direction::Forward) {
            let (k, v) = kv?;
            let row = exec.decode_row(info, &k, &v)?;
            let key_vals = row_key_values(&info.def, &row);
            if !ix.unique {
                // A partial index holds only the rows its condition holds for.
                if !row_entry_key_into(ix, &row, &key_vals, &mut entry)? {
                    continue;
                }
                entries += 1;
                held += 2 * entry.len() + ENTRY_HELD;
                // Sorted without the index prefix every entry shares, so that the sort's key
                // prefix (its first eight bytes) holds the indexed value, and most
                // comparisons end there instead of in a full byte comparison.
                sorter.push_slices(&entry[codec::INDEX_PREFIX_LEN..], &[])?;
                continue;
            }
            let Some(vals) = super::execution::computed::entry_values(ix, &row)? else {
                continue;
            };
            // From the values just computed, which the uniqueness check needs too (a partial
            // index's condition and an expression index's expressions are computed once).
            index_entry_key_into(ix, &vals, &key_vals, &mut entry);
            entries += 1;
            held += 2 * entry.len() + ENTRY_HELD;
            // NULLs are distinct: such an entry is never compared (flag 0), and its sort key
            // (made unique by the entry, which holds the row key) never equals another's.
            let checked = !vals.iter().any(|v| v.is_null());
            let mut sort_key = super::execution::row_key(&vals);
            if !checked {
                sort_key.extend_from_slice(&entry);
            }
            let mut payload = Vec::with_capacity(entry.len() + 1);
            payload.push(u8::from(checked));
            payload.extend_from_slice(&entry);
            sorter.push_slices(&sort_key, &payload)?;
        }
    }
    let mut sorted = sorter.finish()?;
    let index_prefix = codec::index_prefix(ix.id);
    let mut last_checked: Option<Vec<u8>> = None;
    let mut next_entry = || -> Result<Option<Vec<u8>>> {
        let Some((key, payload)) = sorted.next_pair()? else {
            return Ok(None);
        };
        if !ix.unique {
            let mut entry = Vec::with_capacity(codec::INDEX_PREFIX_LEN + key.len());
            entry.extend_from_slice(&index_prefix);
            entry.extend_from_slice(&key);
            return Ok(Some(entry));
        }
        let Some((&checked, entry)) = payload.split_first() else {
            return Err(Error::corruption("a sorted index entry lost its bytes"));
        };
        if checked == 1 {
            if last_checked.as_deref() == Some(key.as_slice()) {
                return Err(unique_violation(info, ix));
            }
            last_checked = Some(key);
        }
        Ok(Some(entry.to_vec()))
    };
    // The index id is new (ids are never reused): no entry of it has a committed version.
    if entries < BULK_ENTRIES && held < txn.write_budget() / 2 {
        // Few entries: the write set, as any write (the commit stays one batch).
        while let Some(entry) = next_entry()? {
            txn.put_unversioned(entry, Vec::new())?;
        }
    } else if !ix.unique {
        // Many: straight to their heads, in key order, no write set.
        let stream = std::iter::from_fn(|| next_entry().transpose());
        txn.put_new_sorted(
            Some(&index_prefix),
            stream.map(|e| e.map(|k| (k, [0u8; 0]))),
        )?;
    } else {
        // A UNIQUE index's entries came out in the order of SQL equality, which is not their
        // keys' byte order (a DESC column's bytes are inverted; 1 and 1.0 are equal values
        // but different keys): sorted again by key, once every one is known unique, before
        // they are written in key order.
        let mut by_key = ByteSorter::new(&memory);
        while let Some(entry) = next_entry()? {
            by_key.push_slices(&entry[codec::INDEX_PREFIX_LEN..], &[])?;
        }
        let mut by_key = by_key.finish()?;
        let stream = std::iter::from_fn(|| {
            by_key
                .next_pair()
                .map(|pair| {
                    pair.map(|(key, _)| {
                        let mut entry = index_prefix.clone();
                        entry.extend_from_slice(&key);
                        (entry, [0u8; 0])
                    })
                })
                .transpose()
        });
        txn.put_new_sorted(Some(&index_prefix), stream)?;
    }
    Ok(())
}

/// The error for existing rows that a new UNIQUE index would hold twice.
fn unique_violation(info: &TableInfo, ix: &IndexDef) -> Error {
    Error::Constraint {
        kind: ConstraintKind::Unique,
        table: info.def.name.clone(),
        column: Some(
            ix.columns
                .iter()
                .map(|c| super::execution::computed::part_name(&info.def, c))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        detail: Some(format!("existing rows violate unique index {}", ix.name)),
    }
}

fn create_view(
    txn: &mut Transaction,
    schema: &Schema,
    stmt: &ParsedStatement,
    cv: &ast::CreateView,
) -> Result<()> {
    let name = table_name(&cv.name)?;
    check_not_reserved(&name)?;
    let replaces = cv.or_replace && schema.view(&name).is_some();
    if !replaces && !schema.check_new_relation(&name, cv.if_not_exists)? {
        return Ok(());
    }
    if cv.materialized {
        return Err(Error::Unsupported("materialized views".into()));
    }
    let view = ViewDef {
        name,
        columns: cv.columns.iter().map(|c| c.name.value.clone()).collect(),
        query: cv.query.to_string(),
        sql: stmt.text.clone(),
    };
    put_entry(txn, &CatalogEntry::View(view))
}

fn drop_object(
    txn: &mut Transaction,
    schema: &Schema,
    kind: &ast::ObjectType,
    if_exists: bool,
    name: &str,
) -> Result<()> {
    match kind {
        ast::ObjectType::Table => {
            let Some(info) = schema.table(name) else {
                if if_exists {
                    return Ok(());
                }
                if schema.view(name).is_some() {
                    return Err(Error::invalid(format!(
                        "use DROP VIEW to delete view {name}"
                    )));
                }
                return Err(Error::NoSuchTable(name.to_string()));
            };
            // With foreign keys enforced the session has already deleted the rows (acting on
            // the referencing rows); an empty table leaves nothing to reference.
            let has_rows = txn
                .scan(
                    prefix_range(&codec::table_prefix(info.def.id)),
                    Direction::Forward,
                )
                .next()
                .is_some();
            for t in schema.tables.values() {
                if !has_rows || t.def.name.eq_ignore_ascii_case(name) {
                    continue;
                }
                if t.def
                    .foreign_keys
                    .iter()
                    .any(|fk| fk.parent.eq_ignore_ascii_case(name))
                {
                    let child_prefix = codec::table_prefix(t.def.id);
                    if txn
                        .scan(prefix_range(&child_prefix), Direction::Forward)
                        .next()
                        .is_some()
                    {
                        return Err(Error::Constraint {
                            kind: ConstraintKind::ForeignKey,
                            table: t.def.name.clone(),
                            column: None,
                            detail: Some(format!("rows of {} still reference {name}", t.def.name)),
                        });
                    }
                }
            }
            txn.delete(codec::catalog_key(name))?;
            for t in &info.triggers {
                delete_trigger_entry(txn, &t.name)?;
            }
            // The rows stay readable in the past; GC removes them once that past is collected.
            txn.drop_prefix_on_gc(codec::table_prefix(info.def.id))?;
            for ix in &info.indexes {
                txn.delete(codec::catalog_key(&ix.name))?;
                txn.drop_prefix_on_gc(codec::index_prefix(ix.id))?;
            }
            Ok(())
        }
        ast::ObjectType::Index => {
            let Some(ix) = schema.indexes.get(&name.to_lowercase()) else {
                if if_exists {
                    return Ok(());
                }
                return Err(Error::invalid(format!("no such index: {name}")));
            };
            if ix.sql.is_none() {
                return Err(Error::invalid(format!(
                    "index associated with UNIQUE or PRIMARY KEY constraint cannot be dropped: {name}"
                )));
            }
            txn.delete(codec::catalog_key(name))?;
            txn.drop_prefix_on_gc(codec::index_prefix(ix.id))
        }
        ast::ObjectType::View => {
            if schema.view(name).is_none() {
                if if_exists {
                    return Ok(());
                }
                return Err(Error::invalid(format!("no such view: {name}")));
            }
            txn.delete(codec::catalog_key(name))
        }
        other => Err(Error::Unsupported(format!("DROP {other}"))),
    }
}

fn alter_table(
    txn: &mut Transaction,
    schema: &Schema,
    at: &ast::AlterTable,
    env: &dyn FnEnv,
) -> Result<()> {
    let name = table_name(&at.name)?;
    let Some(info) = schema.table(&name) else {
        if at.if_exists {
            return Ok(());
        }
        return Err(Error::NoSuchTable(name));
    };
    let mut def = info.def.clone();
    let mut indexes: Vec<IndexDef> = info.indexes.iter().map(|i| (**i).clone()).collect();
    if at.operations.len() > 1 {
        return Err(Error::invalid(
            "ALTER TABLE makes one change at a time; use one statement per change",
        ));
    }
    for op in &at.operations {
        match op {
            ast::AlterTableOperation::AddColumn {
                column_def,
                if_not_exists,
                ..
            } => {
                if def.column_index(&column_def.name.value).is_some() {
                    if *if_not_exists {
                        continue;
                    }
                    return Err(duplicate_column(column_def));
                }
                let mut col = bare_column(column_def);
                column_order(column_def)?.apply_to_type(&mut col);
                for opt in &column_def.options {
                    match &opt.option {
                        // Type words: read by `column_order` above.
                        ColumnOption::DialectSpecific(tokens) if order_words(tokens).is_some() => {}
                        ColumnOption::NotNull => col.not_null = true,
                        ColumnOption::Null => {}
                        ColumnOption::Default(e) => {
                            col.default = Some(e.to_string());
                        }
                        ColumnOption::PrimaryKey(_) | ColumnOption::Unique(_) => {
                            return Err(Error::invalid("cannot add a PRIMARY KEY or UNIQUE column"))
                        }
                        ColumnOption::Check(c) => def.checks.push(c.expr.to_string()),
                        ColumnOption::Collation(c) => {
                            col.collation = Collation::from_name(&table_name(c)?)?
                        }
                        g @ ColumnOption::Generated { .. } => {
                            col.generated = computed::generated_option(g)?;
                            // Existing rows would need the value written into them.
                            if col.generated.as_ref().is_some_and(|g| g.stored)
                                && table_has_rows(txn, &def)
                            {
                                return Err(Error::invalid("cannot add a STORED column"));
                            }
                        }
                        other => return Err(Error::Unsupported(format!("column option {other}"))),
                    }
                }
                if def.strict {
                    col.affinity = super::strict::column_affinity(&def.name, &col)?;
                }
                if col.not_null && col.default.is_none() && col.generated.is_none() {
                    return Err(Error::invalid(
                        "cannot add a NOT NULL column with default value NULL",
                    ));
                }
                if let Some(d) = &col.default {
                    // Rows written before the column existed read this value, so it must not
                    // depend on when it is evaluated.
                    let early = super::engine::eval_default_with_clock(d, 0)?;
                    let late = super::engine::eval_default_with_clock(d, 86_400_000_000_000)?;
                    if early != late {
                        return Err(Error::invalid(
                            "cannot add a column with non-constant default",
                        ));
                    }
                }
                if col.generated.is_some() && col.default.is_some() {
                    return Err(Error::invalid("cannot use DEFAULT on a generated column"));
                }
                def.sql = append_column_sql(&def.sql, &column_def.to_string());
                let not_null_generated = col.not_null && col.generated.is_some();
                def.columns.push(col);
                super::engine::bind_generated(&def)?;
                if not_null_generated {
                    check_new_generated_not_null(txn, info, &def, env)?;
                }
            }
            ast::AlterTableOperation::RenameTable { table_name: new } => {
                let new = match new {
                    ast::RenameTableNameKind::As(n) | ast::RenameTableNameKind::To(n) => {
                        table_name(n)?
                    }
                };
                check_not_reserved(&new)?;
                if schema.taken_by(&new).is_some() && !new.eq_ignore_ascii_case(&def.name) {
                    return Err(Error::AlreadyExists(format!(
                        "there is already another table or index with this name: {new}"
                    )));
                }
                let target = rename::Target::Table {
                    old: &def.name,
                    new: &new,
                };
                def.sql = rename::statements(&def.sql, target, schema, Context::None)?;
                for fk in &mut def.foreign_keys {
                    if fk.parent.eq_ignore_ascii_case(&def.name) {
                        fk.parent = new.clone();
                    }
                }
                for ix in &mut indexes {
                    ix.table = new.clone();
                    if let Some(sql) = &ix.sql {
                        ix.sql = Some(rename::statements(sql, target, schema, Context::None)?);
                    }
                }
                rewrite_dependents(txn, schema, target, &def.name)?;
                txn.delete(codec::catalog_key(&def.name))?;
                def.name = new.clone();
            }
            ast::AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => {
                let i = def
                    .column_index(&old_column_name.value)
                    .ok_or_else(|| Error::NoSuchColumn(old_column_name.value.clone()))?;
                let new = &new_column_name.value;
                if def.column_index(new).is_some() {
                    return Err(Error::invalid(format!("duplicate column name: {new}")));
                }
                let old = def.columns[i].name.clone();
                let table = def.name.clone();
                let target = rename::Target::Column {
                    table: &table,
                    old: &old,
                    new,
                };
                def.checks = def
                    .checks
                    .iter()
                    .map(|c| rename::expression(c, target, schema, Context::Table(&table)))
                    .collect::<Result<_>>()?;
                for g in def.columns.iter_mut().filter_map(|c| c.generated.as_mut()) {
                    g.expr = rename::expression(&g.expr, target, schema, Context::Table(&table))?;
                }
                def.sql = rename::statements(&def.sql, target, schema, Context::None)?;
                for fk in &mut def.foreign_keys {
                    if fk.parent.eq_ignore_ascii_case(&table) {
                        rename_in(&mut fk.parent_columns, &old, new);
                    }
                }
                for ix in &mut indexes {
                    if let Some(sql) = &ix.sql {
                        ix.sql = Some(rename::statements(sql, target, schema, Context::None)?);
                    }
                    // Expressions and a partial index's condition name columns too.
                    let ctx = Context::Table(&table);
                    for c in ix.columns.iter_mut() {
                        if let Some(e) = &c.expr {
                            c.expr = Some(rename::expression(e, target, schema, ctx)?);
                        }
                    }
                    if let Some(p) = &ix.predicate {
                        ix.predicate = Some(rename::expression(p, target, schema, ctx)?);
                    }
                }
                rewrite_dependents(txn, schema, target, &table)?;
                def.columns[i].name = new.clone();
            }
            ast::AlterTableOperation::DropColumn {
                column_names,
                if_exists,
                ..
            } => {
                let [column] = column_names.as_slice() else {
                    return Err(Error::invalid("DROP COLUMN drops one column at a time"));
                };
                if *if_exists && def.column_index(&column.value).is_none() {
                    continue;
                }
                drop_column::drop_column(
                    txn,
                    schema,
                    info,
                    &mut def,
                    &mut indexes,
                    &column.value,
                    env,
                )?;
            }
            other => return Err(Error::Unsupported(format!("ALTER TABLE {other}"))),
        }
    }
    put_entry(txn, &CatalogEntry::Table(def))?;
    for ix in indexes {
        put_entry(txn, &CatalogEntry::Index(ix))?;
    }
    Ok(())
}

/// True if the table has a current row.
fn table_has_rows(txn: &Transaction, def: &TableDef) -> bool {
    txn.scan(
        prefix_range(&codec::table_prefix(def.id)),
        Direction::Forward,
    )
    .next()
    .is_some()
}

/// ADD COLUMN of a NOT NULL generated column: every existing row must give it a value, as
/// SQLite checks (the column is virtual: nothing is written).
fn check_new_generated_not_null(
    txn: &Transaction,
    info: &TableInfo,
    def: &TableDef,
    env: &dyn FnEnv,
) -> Result<()> {
    let new = TableInfo {
        def: def.clone(),
        indexes: Vec::new(),
        triggers: Vec::new(),
        derived: Default::default(),
    };
    new.derived
        .set(Arc::new(super::engine::bind_generated(def)?));
    let exec = Executor::new(None, &[], env);
    let col = def.columns.len() - 1;
    for kv in txn.scan(
        prefix_range(&codec::table_prefix(info.def.id)),
        Direction::Forward,
    ) {
        let (k, v) = kv?;
        if exec.decode_row(&new, &k, &v)?[col].is_null() {
            return Err(Error::Constraint {
                kind: ConstraintKind::NotNull,
                table: def.name.clone(),
                column: Some(def.columns[col].name.clone()),
                detail: None,
            });
        }
    }
    Ok(())
}

/// Replaces `old` by `new` in a list of column names.
fn rename_in(names: &mut [String], old: &str, new: &str) {
    for n in names.iter_mut().filter(|n| n.eq_ignore_ascii_case(old)) {
        *n = new.to_string();
    }
}

/// After a rename of (a column of) `table`: the other tables' foreign keys into it, and every
/// view and trigger, rewritten to use the new name (see `rename`).
fn rewrite_dependents(
    txn: &mut Transaction,
    schema: &Schema,
    target: rename::Target<'_>,
    table: &str,
) -> Result<()> {
    for t in schema.tables.values() {
        if t.def.name.eq_ignore_ascii_case(table) {
            continue;
        }
        let mut d = t.def.clone();
        for fk in d
            .foreign_keys
            .iter_mut()
            .filter(|fk| fk.parent.eq_ignore_ascii_case(table))
        {
            match target {
                rename::Target::Table { new, .. } => fk.parent = new.to_string(),
                rename::Target::Column { old, new, .. } => {
                    rename_in(&mut fk.parent_columns, old, new)
                }
            }
        }
        if d != t.def {
            d.sql = rename::statements(&d.sql, target, schema, Context::None)?;
            put_entry(txn, &CatalogEntry::Table(d))?;
        }
    }
    for v in schema.views.values() {
        let mut d = (**v).clone();
        d.query = rename::statements(&d.query, target, schema, Context::None)?;
        d.sql = rename::statements(&d.sql, target, schema, Context::None)?;
        if d != **v {
            put_entry(txn, &CatalogEntry::View(d))?;
        }
    }
    for tr in schema.triggers.values() {
        let mut d = (**tr).clone();
        let ctx = Context::Trigger(&tr.table);
        d.body = rename::statements(&d.body, target, schema, ctx)?;
        d.when = d
            .when
            .as_deref()
            .map(|w| rename::expression(w, target, schema, ctx))
            .transpose()?;
        if tr.table.eq_ignore_ascii_case(table) {
            match target {
                rename::Target::Table { new, .. } => d.table = new.to_string(),
                rename::Target::Column { old, new, .. } => rename_in(&mut d.columns, old, new),
            }
        }
        if d != **tr {
            put_entry(txn, &CatalogEntry::Trigger(d))?;
        }
    }
    Ok(())
}

fn append_column_sql(sql: &str, coldef: &str) -> String {
    match sql.rfind(')') {
        Some(i) => format!("{}, {coldef}{}", &sql[..i], &sql[i..]),
        None => sql.to_string(),
    }
}

/// Refuses the system table's name for a new table or view: one by that name would hide the
/// system table from every read.
fn check_not_reserved(name: &str) -> Result<()> {
    if name.eq_ignore_ascii_case(super::catalog::SNAPSHOTS_TABLE) {
        return Err(Error::invalid(format!(
            "{name} is reserved for the system table of snapshots; choose another name"
        )));
    }
    Ok(())
}

/// Executes `CREATE TRIGGER`.
pub fn create_trigger(
    txn: &mut Transaction,
    schema: &Schema,
    ct: &super::parser::trigger::CreateTrigger,
) -> Result<()> {
    let def = &ct.def;
    if schema.triggers.contains_key(&def.name.to_lowercase()) {
        if ct.if_not_exists {
            return Ok(());
        }
        return Err(Error::AlreadyExists(format!(
            "trigger {} already exists",
            def.name
        )));
    }
    let info = match schema.table(&def.table) {
        Some(t) => t,
        None if schema.view(&def.table).is_some() => {
            return Err(Error::Unsupported("triggers on views (INSTEAD OF)".into()))
        }
        None => return Err(Error::NoSuchTable(def.table.clone())),
    };
    for c in &def.columns {
        if info.def.column_index(c).is_none() {
            return Err(Error::NoSuchColumn(format!("{}.{c}", info.def.name)));
        }
    }
    let mut def = def.clone();
    def.table = info.def.name.clone();
    def.created = 1 + schema
        .triggers
        .values()
        .map(|t| t.created)
        .max()
        .unwrap_or(0);
    put_entry(txn, &CatalogEntry::Trigger(def))
}

/// The column as declared by its name and type alone; the caller applies its options, which
/// CREATE TABLE and ALTER TABLE ADD COLUMN accept differently.
fn bare_column(c: &ast::ColumnDef) -> ColumnDef {
    let type_name = match c.data_type {
        ast::DataType::Unspecified => String::new(),
        ref t => t.to_string(),
    };
    ColumnDef {
        name: c.name.value.clone(),
        affinity: Affinity::from_type_name(&type_name),
        type_name,
        not_null: false,
        default: None,
        collation: Collation::Binary,
        generated: None,
    }
}

/// The words of a column option that is only `ASC` / `DESC` words (upper case), else `None`.
fn order_words(tokens: &[sqlparser::tokenizer::Token]) -> Option<Vec<&'static str>> {
    tokens
        .iter()
        .map(|t| match t.to_string().to_ascii_uppercase().as_str() {
            "ASC" => Some("ASC"),
            "DESC" => Some("DESC"),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .filter(|w| !w.is_empty())
}

/// What `ASC` / `DESC` words say in a column definition. SQLite reads those written right
/// after the type's words as more of its name (`x INTEGER DESC`: type "INTEGER DESC", so no
/// rowid alias), one right after PRIMARY KEY as the key's order, and any other as a syntax
/// error; the parser gives each as an option of its own.
#[derive(Debug, Default)]
struct ColumnOrder {
    /// Words that continue the declared type.
    type_words: Vec<&'static str>,
    /// `PRIMARY KEY DESC`: SQLite makes no rowid alias of that key (a documented quirk it
    /// keeps for old databases).
    pk_desc: bool,
}

impl ColumnOrder {
    /// Appends the type words to `col`'s declared type (and takes its affinity again).
    fn apply_to_type(&self, col: &mut ColumnDef) {
        if self.type_words.is_empty() {
            return;
        }
        for word in &self.type_words {
            if !col.type_name.is_empty() {
                col.type_name.push(' ');
            }
            col.type_name.push_str(word);
        }
        col.affinity = Affinity::from_type_name(&col.type_name);
    }
}

/// Reads the `ASC` / `DESC` words of column `c` ([`ColumnOrder`]), or SQLite's syntax error
/// for one where its grammar has no place for it: after another constraint, after a sized
/// type (`INTEGER(5) DESC`), a second one after PRIMARY KEY, or after `CONSTRAINT name`.
fn column_order(c: &ast::ColumnDef) -> Result<ColumnOrder> {
    let mut order = ColumnOrder::default();
    // A sized type ends at its parenthesis.
    let mut type_open = !bare_column(c).type_name.contains('(');
    let mut after_pk = false;
    for opt in &c.options {
        let follows_pk = std::mem::take(&mut after_pk);
        let words = match &opt.option {
            ColumnOption::DialectSpecific(tokens) => order_words(tokens),
            _ => None,
        };
        let Some(words) = words else {
            type_open = false;
            after_pk = matches!(opt.option, ColumnOption::PrimaryKey(_));
            continue;
        };
        let misplaced = |word: &str| Error::invalid(format!("near \"{word}\": syntax error"));
        if opt.name.is_some() {
            return Err(misplaced(words[0]));
        }
        if type_open {
            order.type_words.extend(words);
        } else if follows_pk {
            if let Some(second) = words.get(1) {
                return Err(misplaced(second));
            }
            order.pk_desc = words[0] == "DESC";
        } else {
            return Err(misplaced(words[0]));
        }
    }
    Ok(order)
}

fn duplicate_column(c: &ast::ColumnDef) -> Error {
    Error::invalid(format!("duplicate column name: {}", c.name.value))
}
