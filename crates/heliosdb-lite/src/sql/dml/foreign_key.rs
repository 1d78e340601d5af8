//! Foreign keys: the checks on the referencing (child) side and the parent side, and the
//! actions (`ON DELETE` / `ON UPDATE` `CASCADE`, `SET NULL`, `SET DEFAULT`) that change the
//! referencing rows when a parent row goes away or changes its key.
//!
//! As in SQLite, an action runs after the parent row is written and before the parent's
//! AFTER triggers, as ordinary DELETEs and UPDATEs of the child table: they fire the child's
//! triggers, check its constraints and cascade further (a self-referencing table included).
//! The changes are writes of the statement's transaction, so they are versioned with it.

use super::{delete_row, row_key_values, try_load_row, Conflict, DmlContext, Row};
use crate::error::{ConstraintKind, Error, Result};
use crate::mvcc::Transaction;
use crate::sql::catalog::{FkAction, ForeignKeyDef, TableInfo};
use crate::sql::codec;
use crate::sql::collation::Collation;
use crate::sql::parser::trigger::{Event, Timing};
use crate::sql::value::{Affinity, Value};
use crate::storage::{prefix_range, Direction};
use std::sync::Arc;

/// Deepest chain of foreign-key actions (a cascade causing a cascade ...), as SQLite's
/// trigger depth limit bounds its action programs; each level nests Rust calls, so the
/// limit also keeps a long self-referencing chain from exhausting the stack.
pub const MAX_CASCADE_DEPTH: usize = 1000;

/// A foreign key's parent table, its referenced columns and their collations.
pub(super) type ParentKey = (Arc<TableInfo>, Vec<usize>, Vec<Collation>);

/// The foreign-key error for `fk` of the (child) table `child`, naming its columns.
fn fk_violation(child: &TableInfo, fk: &ForeignKeyDef, detail: String) -> Error {
    Error::Constraint {
        kind: ConstraintKind::ForeignKey,
        table: child.def.name.clone(),
        column: Some(
            fk.columns
                .iter()
                .map(|&c| child.def.columns[c].name.clone())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        detail: Some(detail),
    }
}

/// One foreign key whose action applies to a parent row change.
struct PendingAction {
    child: Arc<TableInfo>,
    fk: ForeignKeyDef,
    action: FkAction,
    old_vals: Vec<Value>,
    new_vals: Option<Vec<Value>>,
    /// The parent key's collations, under which child values match it.
    collations: Vec<Collation>,
}

/// True if the parent key `pcols` is the same in `old` and `new`, compared as SQLite's
/// `OLD.k IS NEW.k` compares: under each column's collation (a NOCASE key changed only in
/// case is not a new key).
fn key_unchanged(parent: &TableInfo, pcols: &[usize], old: &[Value], new: &[Value]) -> bool {
    pcols.iter().all(|&c| {
        let collation = parent
            .def
            .columns
            .get(c)
            .map(|col| col.collation)
            .unwrap_or_default();
        collation
            .key(old[c].clone())
            .same_as(&collation.key(new[c].clone()))
    })
}

impl DmlContext<'_, '_> {
    /// The referenced columns of `fk` in `parent`.
    fn parent_columns(parent: &TableInfo, fk: &ForeignKeyDef) -> Result<Vec<usize>> {
        if fk.parent_columns.is_empty() {
            if parent.def.has_rowid() {
                return Ok(vec![parent
                    .def
                    .rowid_column
                    .unwrap_or(parent.def.columns.len())]);
            }
            return Ok(parent.def.primary_key.clone());
        }
        fk.parent_columns
            .iter()
            .map(|n| {
                parent
                    .def
                    .column_index(n)
                    .ok_or_else(|| Error::NoSuchColumn(format!("{}.{n}", parent.def.name)))
            })
            .collect()
    }

    /// The table `fk` of `info` references, the referenced columns and their collations:
    /// what a lookup of a parent row needs. `None` when the parent table does not exist.
    pub(super) fn parent_key(
        &self,
        info: &TableInfo,
        fk: &ForeignKeyDef,
    ) -> Result<Option<ParentKey>> {
        let parent = if fk.parent.eq_ignore_ascii_case(&info.def.name) {
            Arc::new(info.clone())
        } else {
            match self.schema.table(&fk.parent) {
                Some(p) => p.clone(),
                None => return Ok(None),
            }
        };
        let pcols = Self::parent_columns(&parent, fk)?;
        if pcols.len() != fk.columns.len() {
            return Err(fk_violation(
                info,
                fk,
                "foreign key column count mismatch".into(),
            ));
        }
        let collations = key_collations(&parent, &pcols);
        Ok(Some((parent, pcols, collations)))
    }

    pub(super) fn check_fk_child(
        &self,
        txn: &Transaction,
        info: &TableInfo,
        row: &[Value],
    ) -> Result<()> {
        if !self.foreign_keys {
            return Ok(());
        }
        for fk in &info.def.foreign_keys {
            let vals: Vec<Value> = fk.columns.iter().map(|&c| row[c].clone()).collect();
            if vals.iter().any(Value::is_null) {
                continue;
            }
            let violation = |detail: String| fk_violation(info, fk, detail);
            let Some((parent, pcols, collations)) = self.parent_key(info, fk)? else {
                return Err(violation(format!(
                    "parent table {} does not exist",
                    fk.parent
                )));
            };
            if !rows_matching(txn, self, &parent, &pcols, &vals, &collations, 1)?.is_empty() {
                continue;
            }
            // A self-reference may point at the row being written.
            if Arc::ptr_eq(&parent, &parent)
                && fk.parent.eq_ignore_ascii_case(&info.def.name)
                && pcols.iter().zip(&vals).all(|(&c, v)| row[c].same_as(v))
            {
                continue;
            }
            return Err(violation(format!(
                "no row in {} has ({}) = ({})",
                parent.def.name,
                pcols
                    .iter()
                    .map(|&c| parent_col_name(&parent, c))
                    .collect::<Vec<_>>()
                    .join(", "),
                vals.iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(())
    }

    /// Fails if rows reference `old` through columns that change, under a foreign key whose
    /// action (`NO ACTION` or `RESTRICT`) refuses the change. Checked row by row, before the
    /// write, like `RESTRICT`: SQLite waits for the end of the statement for `NO ACTION`.
    pub(super) fn check_fk_parent(
        &self,
        txn: &Transaction,
        info: &TableInfo,
        old: &[Value],
        new: Option<&[Value]>,
    ) -> Result<()> {
        if !self.foreign_keys {
            return Ok(());
        }
        for (child, fk, action) in self.referencing(info, new.is_some()) {
            if action.changes_children() {
                continue; // carried out after the write, by `fk_actions`
            }
            let pcols = Self::parent_columns(info, fk)?;
            let old_vals: Vec<Value> = pcols.iter().map(|&c| old[c].clone()).collect();
            if old_vals.iter().any(Value::is_null) {
                continue;
            }
            if let Some(new) = new {
                if key_unchanged(info, &pcols, old, new) {
                    continue;
                }
            }
            let collations = key_collations(info, &pcols);
            let refs = rows_matching(txn, self, child, &fk.columns, &old_vals, &collations, 2)?;
            // A row referencing itself does not block its own deletion, nor a change of
            // its key that moves the reference along; one still naming the old key would
            // be left without a parent.
            let blocking = refs.iter().any(|r| {
                let itself = child.def.id == info.def.id
                    && row_key_values(&child.def, r) == row_key_values(&info.def, old);
                !itself
                    || new.is_some_and(|n| {
                        fk.columns
                            .iter()
                            .zip(&old_vals)
                            .all(|(&c, v)| n[c].same_as(v))
                    })
            });
            if blocking {
                return Err(fk_violation(
                    child,
                    fk,
                    format!("rows still reference {}", info.def.name),
                ));
            }
        }
        Ok(())
    }

    /// The foreign keys of every table that reference `parent`, each with its action for the
    /// change at hand (`ON UPDATE` when `update`, else `ON DELETE`).
    fn referencing<'s>(
        &'s self,
        parent: &'s TableInfo,
        update: bool,
    ) -> impl Iterator<Item = (&'s Arc<TableInfo>, &'s ForeignKeyDef, FkAction)> + 's {
        self.schema.tables.values().flat_map(move |child| {
            child
                .def
                .foreign_keys
                .iter()
                .filter(|fk| fk.parent.eq_ignore_ascii_case(&parent.def.name))
                .map(move |fk| {
                    let action = if update { fk.on_update } else { fk.on_delete };
                    (child, fk, action)
                })
        })
    }

    /// True if deleting or updating rows of `info` may run foreign-key actions, which can
    /// change rows of any table (this one included) while the statement runs.
    pub(super) fn has_fk_actions(&self, info: &TableInfo) -> bool {
        self.foreign_keys
            && self.schema.tables.values().any(|t| {
                t.def.foreign_keys.iter().any(|fk| {
                    fk.parent.eq_ignore_ascii_case(&info.def.name)
                        && (fk.on_delete.changes_children() || fk.on_update.changes_children())
                })
            })
    }

    /// Carries out the actions of the foreign keys that reference `info`, after its row `old`
    /// was deleted (`new` is `None`) or rewritten as `new`.
    pub(super) fn fk_actions(
        &mut self,
        txn: &mut Transaction,
        info: &TableInfo,
        old: &[Value],
        new: Option<&[Value]>,
    ) -> Result<()> {
        if !self.foreign_keys {
            return Ok(());
        }
        let mut pending = Vec::new();
        for (child, fk, action) in self.referencing(info, new.is_some()) {
            if !action.changes_children() {
                continue;
            }
            let pcols = Self::parent_columns(info, fk)?;
            let old_vals: Vec<Value> = pcols.iter().map(|&c| old[c].clone()).collect();
            if old_vals.iter().any(Value::is_null) {
                continue; // no row references a key with a NULL in it
            }
            let new_vals = match new {
                Some(n) => {
                    // SQLite acts only when the key changes (`OLD.k IS NOT NEW.k`).
                    if key_unchanged(info, &pcols, old, n) {
                        continue;
                    }
                    Some(pcols.iter().map(|&c| n[c].clone()).collect())
                }
                None => None,
            };
            pending.push(PendingAction {
                collations: key_collations(info, &pcols),
                child: child.clone(),
                fk: fk.clone(),
                action,
                old_vals,
                new_vals,
            });
        }
        if pending.is_empty() {
            return Ok(());
        }
        if self.cascade_depth >= MAX_CASCADE_DEPTH {
            return Err(Error::LimitExceeded(
                "too many levels of trigger recursion (foreign key actions)".into(),
            ));
        }
        self.cascade_depth += 1;
        let result = pending.iter().try_for_each(|p| self.run_action(txn, p));
        self.cascade_depth -= 1;
        result
    }

    /// One foreign key's action on every row that references the old key.
    fn run_action(&mut self, txn: &mut Transaction, p: &PendingAction) -> Result<()> {
        let child = &p.child;
        let rows = rows_matching(
            txn,
            self,
            child,
            &p.fk.columns,
            &p.old_vals,
            &p.collations,
            usize::MAX,
        )?;
        if rows.is_empty() {
            return Ok(());
        }
        let bound = self.bind(child)?;
        let defaults = if p.action == FkAction::SetDefault {
            p.fk.columns
                .iter()
                .map(|&c| match &child.def.columns[c].default {
                    Some(text) => crate::sql::engine::eval_default_text(text, self.env),
                    None => Ok(Value::Null),
                })
                .collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        for row in rows {
            // An earlier action or trigger of this statement may have changed or removed it.
            let key = child.def.row_key(&row_key_values(&child.def, &row));
            let Some(current) = try_load_row(txn, child, &key)? else {
                continue;
            };
            // A child trigger's RAISE(IGNORE) leaves the row referencing a key that is gone:
            // SQLite's end-of-statement check then fails the statement.
            let ignored = || Error::Constraint {
                kind: ConstraintKind::ForeignKey,
                table: child.def.name.clone(),
                column: None,
                detail: Some("a trigger kept a row the foreign key action had to change".into()),
            };
            match (p.action, &p.new_vals) {
                (FkAction::Cascade, None) => {
                    if !self.delete_one(txn, child, current)? {
                        return Err(ignored());
                    }
                    self.nested_changes += 1;
                }
                (action, new_vals) => {
                    let mut changed = current.clone();
                    for (i, &c) in p.fk.columns.iter().enumerate() {
                        changed[c] = match (action, new_vals) {
                            (FkAction::Cascade, Some(n)) => n[i].clone(),
                            (FkAction::SetDefault, _) => defaults[i].clone(),
                            _ => Value::Null,
                        };
                    }
                    if self
                        .update_row(
                            txn,
                            &bound,
                            &current,
                            changed,
                            Conflict::Abort,
                            &p.fk.columns,
                        )?
                        .is_none()
                    {
                        return Err(ignored());
                    }
                    self.nested_changes += 1;
                }
            }
        }
        Ok(())
    }

    /// The implicit `DELETE FROM` of `DROP TABLE` while foreign keys are enforced: every row
    /// goes, with the actions of the foreign keys that reference the table (the table's own
    /// triggers are dropped first in SQLite, so none fires here). Then, as SQLite's check at
    /// the end of that statement, a row of another table still referencing it fails the drop.
    pub(crate) fn empty_for_drop(&mut self, txn: &mut Transaction, info: &TableInfo) -> Result<()> {
        let referencing: Vec<(Arc<TableInfo>, ForeignKeyDef)> = self
            .schema
            .tables
            .values()
            .flat_map(|t| {
                t.def
                    .foreign_keys
                    .iter()
                    .filter(|fk| fk.parent.eq_ignore_ascii_case(&info.def.name))
                    .map(move |fk| (t.clone(), fk.clone()))
            })
            .collect();
        if !self.foreign_keys || referencing.is_empty() {
            return Ok(());
        }
        let rows = rows_matching(txn, self, info, &[], &[], &[], usize::MAX)?;
        for row in rows {
            let key = info.def.row_key(&row_key_values(&info.def, &row));
            // A cascade through a self-reference may have taken it already.
            let Some(current) = try_load_row(txn, info, &key)? else {
                continue;
            };
            delete_row(txn, info, &current)?;
            self.rowids.forget(info);
            self.nested_changes += 1;
            self.fk_actions(txn, info, &current, None)?;
        }
        for (child, fk) in referencing {
            if child.def.id == info.def.id {
                continue; // goes with the table
            }
            let all = rows_matching(txn, self, &child, &[], &[], &[], usize::MAX)?;
            if all
                .iter()
                .any(|r| fk.columns.iter().all(|&c| !r[c].is_null()))
            {
                return Err(Error::Constraint {
                    kind: ConstraintKind::ForeignKey,
                    table: child.def.name.clone(),
                    column: None,
                    detail: Some(format!(
                        "rows of {} still reference {}",
                        child.def.name, info.def.name
                    )),
                });
            }
        }
        Ok(())
    }

    /// Deletes one row as a DELETE statement does: BEFORE triggers, the foreign keys that
    /// refuse the delete, the row and its index entries, the foreign-key actions, AFTER
    /// triggers. Returns false if a BEFORE trigger already removed the row.
    pub(super) fn delete_one(
        &mut self,
        txn: &mut Transaction,
        info: &Arc<TableInfo>,
        old: Row,
    ) -> Result<bool> {
        if !self.fire(
            txn,
            info,
            Timing::Before,
            Event::Delete,
            Some(&old),
            None,
            &[],
        )? {
            return Ok(false); // RAISE(IGNORE)
        }
        // A BEFORE trigger may have changed or removed the row: SQLite deletes what is there
        // now (and skips a row that is gone), while OLD stays the row as first read.
        let reloaded;
        let current: &[Value] = if info.triggers.is_empty() {
            &old
        } else {
            let key = info.def.row_key(&row_key_values(&info.def, &old));
            match try_load_row(txn, info, &key)? {
                Some(r) => {
                    reloaded = r;
                    &reloaded
                }
                None => return Ok(false),
            }
        };
        self.check_fk_parent(txn, info, &old, None)?;
        delete_row(txn, info, current)?;
        self.rowids.forget(info);
        self.fk_actions(txn, info, &old, None)?;
        self.fire(
            txn,
            info,
            Timing::After,
            Event::Delete,
            Some(&old),
            None,
            &[],
        )?;
        Ok(true)
    }
}

fn parent_col_name(t: &TableInfo, c: usize) -> String {
    t.def
        .columns
        .get(c)
        .map_or_else(|| "rowid".to_string(), |col| col.name.clone())
}

/// The collations of a parent key's columns: SQLite compares parent and child values under
/// them, both when it looks for a parent and when it looks for the rows referencing one.
fn key_collations(parent: &TableInfo, pcols: &[usize]) -> Vec<Collation> {
    pcols
        .iter()
        .map(|&c| {
            parent
                .def
                .columns
                .get(c)
                .map(|col| col.collation)
                .unwrap_or_default()
        })
        .collect()
}

/// Rows of `t` whose columns `cols` equal `vals` under `collations` (at most `limit`).
pub(super) fn rows_matching(
    txn: &Transaction,
    ctx: &DmlContext<'_, '_>,
    t: &TableInfo,
    cols: &[usize],
    vals: &[Value],
    collations: &[Collation],
    limit: usize,
) -> Result<Vec<Row>> {
    let binary = collations.iter().all(|c| c.is_binary());
    let def = &t.def;
    let ncols = def.columns.len();
    let exec = ctx.exec(txn);
    let vals: Vec<Value> = cols
        .iter()
        .zip(vals)
        .map(|(&c, v)| {
            let aff = def
                .columns
                .get(c)
                .map_or(Affinity::Integer, |col| col.affinity);
            v.clone().apply_affinity(aff)
        })
        .collect();
    // The table's own key.
    let is_key = if def.has_rowid() {
        cols.len() == 1 && (cols[0] == ncols || def.rowid_column == Some(cols[0]))
    } else {
        cols == def.primary_key.as_slice()
    };
    // Row keys hold the plain values: a lookup by key finds only binary-equal ones.
    if is_key && binary {
        let key = def.row_key(&vals);
        return Ok(match txn.get(&key)? {
            Some(v) => vec![exec.decode_row(t, &key, &v)?],
            None => Vec::new(),
        });
    }
    let matches = |row: &Row| {
        cols.iter()
            .zip(&vals)
            .zip(collations)
            .all(|((&c, v), coll)| coll.key(row[c].clone()).same_as(&coll.key(v.clone())))
    };
    let mut out = Vec::new();
    // An index whose leading columns are exactly `cols`, under the same collations.
    if let Some(ix) = t.indexes.iter().find(|ix| {
        ix.covers_all_rows()
            && ix.columns.len() >= cols.len()
            && ix
                .columns
                .iter()
                .zip(cols)
                .zip(collations)
                .all(|((ic, &c), coll)| ic.column == c && ic.collation == *coll)
    }) {
        let mut prefix = codec::index_prefix(ix.id);
        for (ic, v) in ix.columns.iter().zip(&vals) {
            codec::encode_key_value(&ic.collation.key(v.clone()), ic.desc, &mut prefix);
        }
        for kv in txn.scan(prefix_range(&prefix), Direction::Forward) {
            let (k, _) = kv?;
            let mut pos = 5;
            for c in &ix.columns {
                codec::decode_key_value(&k, &mut pos, c.desc)?;
            }
            let mut rk = codec::table_prefix(def.id);
            rk.extend_from_slice(&k[pos..]);
            if let Some(v) = txn.get(&rk)? {
                let row = exec.decode_row(t, &rk, &v)?;
                if matches(&row) {
                    out.push(row);
                    if out.len() >= limit {
                        break;
                    }
                }
            }
        }
        return Ok(out);
    }
    for kv in txn.scan(
        prefix_range(&codec::table_prefix(def.id)),
        Direction::Forward,
    ) {
        let (k, v) = kv?;
        let row = exec.decode_row(t, &k, &v)?;
        if matches(&row) {
            out.push(row);
            if out.len() >= limit {
                break;
            }
        }
    }
    Ok(out)
}
