//! INSERT, UPDATE and DELETE: constraint checks, conflict resolution, index maintenance.
//!
//! Every statement first computes all the rows it will write (reading through the
//! transaction), then writes them; so a statement never sees its own changes while choosing
//! rows, and a failure part-way is undone by the statement savepoint in the session.

use super::catalog::{IndexDef, Schema, TableDef, TableInfo};
use super::codec;
use super::engine::{ClockOnly, Outcome, StmtHistory};
use super::execution::{
    BufferedRows, Executor, Frame, Reader, Row, StatementAnswers, StatementLimits,
};
use super::functions::FnEnv;
use super::parser::ParsedStatement;
use super::plan::Expr;
use super::planner::{table_name, OutputColumn, Planner, Scope};
use super::value::{Affinity, Value};
use crate::error::{ConstraintKind, Error, RaiseAction, Result};
use crate::mvcc::{ScannedHead, Transaction};
use crate::storage::{prefix_range, Bytes, Direction};
use sqlparser::ast::{self, Statement};
use std::borrow::Cow;
use std::sync::Arc;

mod foreign_key;
mod foreign_key_check;
mod joined;
mod key_probe;
mod prepared;

use prepared::{DeletePlan, InsertPlan, Prepared, Target, UpdatePlan, Upsert};
pub use prepared::{DmlPlan, SchemaKey};

/// Key values of a row: its rowid (borrowed from the row, where it follows the columns), or
/// its primary-key columns.
pub fn row_key_values<'r>(def: &TableDef, row: &'r [Value]) -> Cow<'r, [Value]> {
    if def.has_rowid() {
        Cow::Borrowed(std::slice::from_ref(&row[def.columns.len()]))
    } else {
        Cow::Owned(def.primary_key.iter().map(|&c| row[c].clone()).collect())
    }
}

/// Logical key of a row's entry in an index, or `None` when the index is partial and the
/// row is not in it (`row` holds the table's columns and then the rowid).
pub fn index_entry_key(
    ix: &IndexDef,
    row: &[Value],
    key_vals: &[Value],
) -> Result<Option<Vec<u8>>> {
    // Sized for the usual entry (a few numbers or short texts), so that building it does not
    // grow the buffer piece by piece: this runs for every index of every row written.
    let mut k = Vec::with_capacity(64);
    Ok(row_entry_key_into(ix, row, key_vals, &mut k)?.then_some(k))
}

/// Writes into `out` (cleared first) the index entry key of `row`, whose key values are
/// `key_vals`; false when the row has no entry (a partial index's condition does not hold).
pub fn row_entry_key_into(
    ix: &IndexDef,
    row: &[Value],
    key_vals: &[Value],
    out: &mut Vec<u8>,
) -> Result<bool> {
    if ix.is_computed() {
        let Some(values) = super::execution::computed::entry_values(ix, row)? else {
            return Ok(false);
        };
        index_entry_key_into(ix, &values, key_vals, out);
        return Ok(true);
    }
    // The row's own values, encoded in place: what `entry_values` would collect, without the
    // copies (a collation changes only texts).
    out.clear();
    codec::push_index_prefix(ix.id, out);
    for c in &ix.columns {
        match &row[c.column] {
            v @ Value::Text(_) if !c.collation.is_binary() => {
                codec::encode_key_value(&c.collation.key(v.clone()), c.desc, out)
            }
            v => codec::encode_key_value(v, c.desc, out),
        }
    }
    codec::encode_key(key_vals, out);
    Ok(true)
}

/// Writes into `out` (cleared first) the index entry key of a row whose indexed values are
/// `values` (as [`super::execution::computed::entry_values`] gives them) and whose key
/// values are `key_vals`: the index prefix, the values, the row key.
pub fn index_entry_key_into(
    ix: &IndexDef,
    values: &[Value],
    key_vals: &[Value],
    out: &mut Vec<u8>,
) {
    out.clear();
    codec::push_index_prefix(ix.id, out);
    for (c, v) in ix.columns.iter().zip(values) {
        codec::encode_key_value(v, c.desc, out);
    }
    codec::encode_key(key_vals, out);
}

pub use super::engine::bind_table_expr;

/// "no such column" for a column an INSERT or UPDATE names: explained for the rowid of a
/// table keyed by its PRIMARY KEY, which has none here.
fn no_target_column(def: &TableDef, name: &str) -> Error {
    let is_rowid_name = ["rowid", "_rowid_", "oid"]
        .iter()
        .any(|r| r.eq_ignore_ascii_case(name));
    let shown = format!("{}.{name}", def.name);
    if is_rowid_name && !def.has_rowid() && !def.without_rowid {
        return super::planner::keyed_rowid_error(&def.name, &shown);
    }
    Error::NoSuchColumn(shown)
}

/// The error for naming a generated column in an INSERT's column list, in SQLite's words.
/// Where a value written to `name` goes when no column has that name: `rowid`, `oid` and
/// `_rowid_` name the rowid of a rowid table, which is its INTEGER PRIMARY KEY column if it
/// has one, and otherwise the position after the columns (the column count).
fn rowid_target(def: &TableDef, name: &str) -> Option<usize> {
    let is_rowid_name = ["rowid", "_rowid_", "oid"]
        .iter()
        .any(|r| r.eq_ignore_ascii_case(name));
    (def.has_rowid() && is_rowid_name).then(|| def.rowid_column.unwrap_or(def.columns.len()))
}

/// A value given for the rowid, with INTEGER affinity applied (`'7'` and `7.0` are the
/// rowid 7, as in SQLite); anything else but NULL is refused.
fn rowid_value(v: Value) -> Result<Value> {
    match v.apply_affinity(crate::sql::value::Affinity::Integer) {
        v @ (Value::Integer(_) | Value::Null) => Ok(v),
        other => Err(Error::TypeMismatch(format!(
            "datatype mismatch: rowid cannot be {}",
            other.type_name()
        ))),
    }
}

fn cannot_insert(column: &str) -> Error {
    Error::invalid(format!("cannot INSERT into generated column \"{column}\""))
}

/// The error for assigning a generated column in an UPDATE or upsert, in SQLite's words.
fn cannot_update(column: &str) -> Error {
    Error::invalid(format!("cannot UPDATE generated column \"{column}\""))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Conflict {
    Abort,
    Ignore,
    Replace,
}

fn conflict_of(or: &Option<ast::SqliteOnConflict>) -> Conflict {
    match or {
        Some(ast::SqliteOnConflict::Ignore) => Conflict::Ignore,
        Some(ast::SqliteOnConflict::Replace) => Conflict::Replace,
        _ => Conflict::Abort,
    }
}

/// Per-table state bound once per statement.
#[derive(Clone)]
struct Bound {
    info: Arc<TableInfo>,
    checks: Vec<(String, Expr)>,
}

/// Runs one DML statement.
pub(crate) struct DmlContext<'a, 'b> {
    /// Schema of the transaction.
    pub schema: Arc<Schema>,
    /// Parameters.
    pub params: &'a [Value],
    /// Function environment.
    pub env: &'a dyn FnEnv,
    /// The statement.
    pub stmt: &'a ParsedStatement,
    /// Time-travel snapshots of the statement (INSERT ... SELECT ... AS OF).
    pub history: &'a mut StmtHistory<'b>,
    /// Rowid of the last row inserted by this statement.
    pub last_insert_rowid: Option<i64>,
    /// Rowid allocation state of the transaction.
    pub rowids: &'a mut RowidAllocator,
    /// Triggers running now (a trigger does not fire itself recursively).
    pub trigger_stack: &'a mut Vec<String>,
    /// Inside a trigger body: the OLD/NEW scope and row, visible as the enclosing row.
    pub outer: Option<(Scope, Row)>,
    /// The schema the statement's bound form may be cached under (`None`: bound anew on
    /// every execution).
    pub plan_key: Option<SchemaKey>,
    /// The connection's interrupt flag, timeout and memory budget, which the statement's
    /// reads (target rows, INSERT ... SELECT, subqueries) honour.
    pub limits: &'a StatementLimits,
    /// Foreign keys are enforced (`PRAGMA foreign_keys`).
    pub foreign_keys: bool,
    /// How many foreign-key actions enclose this statement (a cascade inside a cascade).
    pub cascade_depth: usize,
    /// Rows changed by the triggers and foreign-key actions this statement set off, which
    /// `total_changes()` counts and `changes()` does not (as in SQLite).
    pub nested_changes: u64,
}

/// Upsert assignments (column, value) and optional WHERE.
type UpsertAction = (Vec<(usize, Expr)>, Option<Expr>);

/// A uniqueness conflict: the constraint as its error names it (kind, table, columns), and
/// the conflicting row's key.
type ConflictHit = ((ConstraintKind, String, Option<String>), Vec<u8>);

#[derive(Clone)]
struct Returning {
    exprs: Vec<Expr>,
    columns: Vec<OutputColumn>,
    rows: Vec<Row>,
}

impl<'a, 'b> DmlContext<'a, 'b> {
    /// A planner for this statement, with no scope yet.
    fn bare_planner(&mut self) -> Planner<'_> {
        Planner::new(
            self.schema.clone(),
            self.history,
            self.params,
            self.env,
            self.stmt,
        )
    }

    /// A planner for this statement, over the trigger row it runs for, if any.
    fn planner(&mut self) -> Planner<'_> {
        let outer = self.outer.as_ref().map(|(scope, _)| scope.clone());
        let mut p = self.bare_planner();
        if let Some(scope) = outer {
            p.push_scope(scope);
            p.in_trigger();
        }
        p
    }

    /// Runs `f` with a frame for `row` whose parent is the trigger's OLD/NEW row, if any.
    fn framed<R>(&self, row: &[Value], f: impl FnOnce(&Frame<'_>) -> R) -> R {
        match &self.outer {
            Some((_, outer)) => {
                let parent = Frame::root(outer);
                f(&Frame {
                    row,
                    parent: Some(&parent),
                })
            }
            None => f(&Frame::root(row)),
        }
    }

    fn run_plan(&self, txn: &Transaction, plan: &super::plan::Plan) -> Result<Vec<Row>> {
        let exec = self.exec(txn);
        match &self.outer {
            Some((_, outer)) => exec.run(plan, Some(&Frame::root(outer))),
            None => exec.run(plan, None),
        }
    }

    /// Runs `plan` to the end, its rows (each with what `derive` makes of it) held within
    /// the statement's memory budget, the rest spilled: the rows a statement decides on
    /// before it writes.
    fn run_buffered(
        &self,
        txn: &Transaction,
        plan: &super::plan::Plan,
        derive: impl FnMut(&Executor<'_>, &Row) -> Result<Row>,
    ) -> Result<BufferedRows> {
        let exec = self.exec(txn);
        match &self.outer {
            Some((_, outer)) => exec.run_buffered(plan, Some(&Frame::root(outer)), derive),
            None => exec.run_buffered(plan, None, derive),
        }
    }

    /// [`Self::run_buffered`] for the target rows of an UPDATE or DELETE of `def`: each row's
    /// committed version, when the scan read it from its head, is handed to the transaction
    /// as the row is gathered, so the commit does not look it up again
    /// ([`Transaction::keep_scanned_head`]). A head the transaction has no room for follows
    /// what `derive` made of the row, as a blob: the caller hands it back with
    /// [`hand_back_head`] before it writes the row.
    ///
    /// A lookup of one row by the table's key (an UPDATE or DELETE by primary key) reads the
    /// row directly ([`Executor::point_row`]): no operator tree, nothing to buffer, and the
    /// point read leaves the head for the commit by itself.
    fn run_targets(
        &self,
        txn: &Transaction,
        def: &TableDef,
        plan: &super::plan::Plan,
        mut derive: impl FnMut(&Executor<'_>, &Row) -> Result<Row>,
    ) -> Result<BufferedRows> {
        if let super::plan::Plan::Scan(node) = plan {
            let exec = self.exec(txn);
            let root = self.outer.as_ref().map(|(_, outer)| Frame::root(outer));
            if let Some(found) = exec.point_row(node, root.as_ref())? {
                let pairs = match found {
                    Some(row) => {
                        let derived = derive(&exec, &row)?;
                        vec![(row, derived)]
                    }
                    None => Vec::new(),
                };
                return Ok(BufferedRows::from_pairs(pairs));
            }
        }
        txn.capture_scanned_heads(true);
        let rows = self.run_buffered(txn, plan, |exec, row| {
            // Before `derive`, whose subqueries may scan other rows.
            let scanned = txn.keep_scanned_head(|| def.row_key_of_row(row));
            let mut derived = derive(exec, row)?;
            if let ScannedHead::Carry(head) = scanned {
                derived.push(Value::Blob(head.to_vec()));
            }
            Ok(derived)
        });
        txn.capture_scanned_heads(false);
        rows
    }

    /// The rows of a VALUES list, each expression evaluated directly (no operator tree):
    /// the common `INSERT ... VALUES (?, ?, ?)` of a batch load. Each row gets room for
    /// `capacity` values (the rowid is appended to it later).
    fn eval_values(
        &self,
        txn: &Transaction,
        rows: &[Vec<Expr>],
        capacity: usize,
    ) -> Result<Vec<Row>> {
        // Values that are parameters or literals (a batch load's `VALUES (?, ?, ?)`) need no
        // executor: setting one up and dropping it costs more than the row's values.
        let direct = |e: &Expr| match e {
            Expr::Literal(v) => Some(Ok(v.clone())),
            Expr::Param(i) => Some(super::execution::expr::param(self.params, *i)),
            _ => None,
        };
        if rows
            .iter()
            .flatten()
            .all(|e| matches!(e, Expr::Literal(_) | Expr::Param(_)))
        {
            return rows
                .iter()
                .map(|exprs| {
                    let mut row = Vec::with_capacity(capacity.max(exprs.len()));
                    for e in exprs {
                        row.push(direct(e).expect("checked")?);
                    }
                    Ok(row)
                })
                .collect();
        }
        let exec = self.exec(txn);
        let outer = self.outer.as_ref().map(|(_, row)| Frame::root(row));
        let f = Frame {
            row: &[],
            parent: outer.as_ref(),
        };
        let mut out = Vec::with_capacity(rows.len());
        for exprs in rows {
            let mut row = Vec::with_capacity(capacity.max(exprs.len()));
            for e in exprs {
                row.push(exec.eval(e, &f)?);
            }
            out.push(row);
        }
        Ok(out)
    }

    /// Fires the table's triggers for one row change. Returns false if one of them called
    /// `RAISE(IGNORE)`: the triggers after it do not run, and a BEFORE trigger's row change is
    /// skipped. `assigned` holds the columns an UPDATE's SET names: an `UPDATE OF` trigger
    /// fires when it names one of them, whether or not the value changes (SQLite's rule).
    /// Triggers fire newest first, as SQLite's do.
    #[allow(clippy::too_many_arguments)]
    fn fire(
        &mut self,
        txn: &mut Transaction,
        info: &TableInfo,
        timing: super::parser::trigger::Timing,
        event: super::parser::trigger::Event,
        old: Option<&[Value]>,
        new: Option<&[Value]>,
        assigned: &[usize],
    ) -> Result<bool> {
        use super::parser::trigger::{body_statements, Event, MAX_TRIGGER_DEPTH};
        if info.triggers.is_empty() {
            return Ok(true);
        }
        let width = info.def.columns.len() + 1;
        for trig in info
            .triggers
            .iter()
            .rev()
            .filter(|t| t.timing == timing && t.event == event)
        {
            if event == Event::Update && !trig.columns.is_empty() {
                let named = trig.columns.iter().any(|c| {
                    info.def
                        .column_index(c)
                        .is_some_and(|i| assigned.contains(&i))
                });
                if !named {
                    continue;
                }
            }
            if self
                .trigger_stack
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&trig.name))
            {
                continue;
            }
            if self.trigger_stack.len() >= MAX_TRIGGER_DEPTH {
                return Err(Error::LimitExceeded(format!(
                    "triggers nested deeper than {MAX_TRIGGER_DEPTH} (at {})",
                    trig.name
                )));
            }
            let mut row: Row = old.map_or_else(|| vec![Value::Null; width], <[Value]>::to_vec);
            row.extend(new.map_or_else(|| vec![Value::Null; width], <[Value]>::to_vec));
            let mut scope = super::planner::table_scope(info, "old");
            scope
                .columns
                .extend(super::planner::table_scope(info, "new").columns);
            // OLD.x and NEW.x keep their column's collation but, as in SQLite, no affinity:
            // `NEW.n = '5'` compares an INTEGER 5 with the text '5' as they are (false).
            for c in &mut scope.columns {
                c.hidden = true;
                c.affinity = None;
            }
            if let Some(w) = &trig.when {
                let e = super::parser::parse_expr(w)?;
                // Bound over this trigger's OLD / NEW row alone (level 0), not under the row of
                // a trigger whose statement fired this one: it sees its own row only.
                let bound = {
                    let mut p = self.bare_planner();
                    p.in_trigger();
                    p.bind_in_scope(scope.clone(), &e)?
                };
                let exec = self.exec(txn);
                match exec.eval(&bound, &Frame::root(&row)) {
                    Ok(v) if v.truthy() == Some(true) => {}
                    Ok(_) => continue,
                    Err(Error::Raised {
                        action: RaiseAction::Ignore,
                        ..
                    }) => return Ok(false),
                    Err(e) => return Err(e),
                }
            }
            self.trigger_stack.push(trig.name.clone());
            let result = (|| -> Result<()> {
                for body in body_statements(trig)? {
                    let super::parser::Parsed::Sql(sql) = &body.statement else {
                        continue;
                    };
                    let mut inner = DmlContext {
                        schema: self.schema.clone(),
                        params: &[],
                        env: self.env,
                        stmt: &body,
                        history: &mut *self.history,
                        last_insert_rowid: None,
                        rowids: &mut *self.rowids,
                        trigger_stack: &mut *self.trigger_stack,
                        outer: Some((scope.clone(), row.clone())),
                        plan_key: None,
                        limits: self.limits,
                        foreign_keys: self.foreign_keys,
                        cascade_depth: self.cascade_depth,
                        nested_changes: 0,
                    };
                    match sql.as_ref() {
                        Statement::Query(q) => {
                            let plan = {
                                let mut p = inner.planner();
                                p.plan_query(q)?.0
                            };
                            inner.run_plan(txn, &plan)?;
                        }
                        other => {
                            let out = inner.run(txn, other);
                            let nested = inner.nested_changes;
                            self.nested_changes += nested + out?.changes;
                        }
                    }
                }
                Ok(())
            })();
            self.trigger_stack.pop();
            match result {
                Ok(()) => {}
                Err(Error::Raised {
                    action: RaiseAction::Ignore,
                    ..
                }) => return Ok(false),
                // What is about the data or the moment, not the trigger's SQL, keeps its kind
                // (a caller retries a busy or interrupted statement, not fixes its trigger).
                Err(
                    e @ (Error::Constraint { .. }
                    | Error::LimitExceeded(_)
                    | Error::Raised { .. }
                    | Error::Busy(_)
                    | Error::Interrupted
                    | Error::StatementTimeout(_)
                    | Error::MemoryBudget(_)
                    | Error::Io(_)
                    | Error::Storage(_)
                    | Error::Corruption(_)
                    | Error::ReadOnly(_)
                    | Error::SnapshotTooOld { .. }
                    | Error::SnapshotNotAvailable { .. }),
                ) => return Err(e),
                Err(other) => {
                    return Err(Error::invalid(format!("in trigger {}: {other}", trig.name)))
                }
            }
        }
        Ok(true)
    }

    fn table(&self, name: &ast::ObjectName) -> Result<Arc<TableInfo>> {
        let n = table_name(name)?;
        if n.eq_ignore_ascii_case("helios_snapshots") {
            return Err(Error::invalid("helios_snapshots is read-only"));
        }
        match self.schema.table(&n) {
            Some(t) => Ok(t.clone()),
            None if self.schema.view(&n).is_some() => Err(Error::invalid(format!(
                "cannot modify {n} because it is a view"
            ))),
            None => Err(Error::NoSuchTable(n)),
        }
    }

    fn bind(&self, info: &Arc<TableInfo>) -> Result<Bound> {
        let checks = info
            .def
            .checks
            .iter()
            .map(|c| Ok((c.clone(), bind_table_expr(&info.def, c)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Bound {
            info: info.clone(),
            checks,
        })
    }

    /// Executes the statement.
    pub fn run(&mut self, txn: &mut Transaction, sql: &Statement) -> Result<Outcome> {
        let plan = self.prepared(sql)?;
        let (changes, returning) = match &plan.0 {
            Prepared::Insert(p) => self.insert(txn, p)?,
            Prepared::Update(p) => self.update(txn, p)?,
            Prepared::Delete(p) => self.delete(txn, p)?,
        };
        Ok(match returning {
            Some(r) => Outcome {
                changes,
                ..super::engine::query_outcome(r.columns, r.rows)
            },
            None => Outcome {
                changes,
                ..Outcome::default()
            },
        })
    }

    /// Runs `sql`, an `INSERT INTO t VALUES (?1, ..., ?n)` with a placeholder per column,
    /// once per row of `rows` as one statement: a bulk path ([`crate::Appender`]) that skips
    /// evaluating the placeholders and setting up a statement per row. Every row is checked
    /// and written as the statement would write it (affinity, constraints, triggers,
    /// foreign keys).
    pub fn run_rows(
        &mut self,
        txn: &mut Transaction,
        sql: &Statement,
        rows: Vec<Row>,
    ) -> Result<Outcome> {
        let plan = self.prepared(sql)?;
        let Prepared::Insert(p) = &plan.0 else {
            return Err(Error::invalid(
                "a row source for a statement other than INSERT",
            ));
        };
        let Some(super::plan::Plan::Values(values)) = &p.source else {
            return Err(Error::invalid("a row source for an INSERT without VALUES"));
        };
        let one_param_each = values.len() == 1
            && values[0]
                .iter()
                .enumerate()
                .all(|(i, e)| matches!(e, Expr::Param(n) if *n == i));
        if !one_param_each {
            return Err(Error::invalid(
                "a row source for an INSERT other than VALUES (?1, ..., ?n)",
            ));
        }
        let (changes, _) = self.insert_rows(txn, p, BufferedRows::from_rows(rows))?;
        Ok(Outcome {
            changes,
            ..Outcome::default()
        })
    }

    fn exec<'t>(&'t self, txn: &'t Transaction) -> Executor<'t> {
        Executor::new(
            Some(Reader {
                txn,
                snapshots: &self.history.snapshots,
            }),
            self.params,
            self.env,
        )
        .with_limits(self.limits)
    }

    fn insert(
        &mut self,
        txn: &mut Transaction,
        p: &InsertPlan,
    ) -> Result<(u64, Option<Returning>)> {
        // Source rows: a VALUES list in memory (checked whole before the first row is
        // written), or a query's rows gathered within the memory budget (they may spill).
        let source_rows = match &p.source {
            None => BufferedRows::from_rows(vec![Vec::new()]),
            Some(super::plan::Plan::Values(rows)) => {
                let rows = self.eval_values(txn, rows, p.info.def.columns.len() + 1)?;
                rows.iter().try_for_each(|r| check_width(p, r))?;
                BufferedRows::from_rows(rows)
            }
            Some(plan) => self.run_buffered(txn, plan, |_, _| Ok(Vec::new()))?,
        };
        self.insert_rows(txn, p, source_rows)
    }

    /// Inserts `source_rows`, the values of `p`'s target columns, row by row.
    fn insert_rows(
        &mut self,
        txn: &mut Transaction,
        p: &InsertPlan,
        source_rows: BufferedRows,
    ) -> Result<(u64, Option<Returning>)> {
        let info = &p.info;
        let def = &info.def;
        let ncols = def.columns.len();
        let targets = &p.targets;
        let defaults = &p.defaults;
        let bound = &p.bound;
        let mut returning = p.returning.clone();
        let conflict = p.conflict;
        let mut changes = 0;
        // Every column supplied in table order (`INSERT INTO t VALUES (...)` with a value per
        // column): the source row is the row, with no defaults to evaluate.
        let in_order = targets.len() == ncols && targets.iter().enumerate().all(|(i, &t)| i == t);
        // Whether a trigger may run between choosing a row's rowid and checking its keys.
        let before_insert = info.triggers.iter().any(|t| {
            t.timing == super::parser::trigger::Timing::Before
                && t.event == super::parser::trigger::Event::Insert
        });
        let mut ticks = 0;
        for src in source_rows {
            self.limits.tick(&mut ticks)?;
            let (src, _) = src?;
            check_width(p, &src)?;
            let row = if in_order && src.len() == ncols {
                src
            } else {
                // Room for the rowid too: a value for it goes after the columns.
                let mut row = Vec::with_capacity(ncols + 1);
                row.resize(ncols + 1, Value::Null);
                let mut given = vec![false; ncols + 1];
                for (i, &t) in targets.iter().enumerate().take(src.len()) {
                    row[t] = src[i].clone();
                    given[t] = true;
                }
                if (0..ncols).any(|c| !given[c] && defaults[c].is_some()) {
                    let exec = self.exec(txn);
                    for c in 0..ncols {
                        if !given[c] {
                            if let Some(d) = &defaults[c] {
                                row[c] = exec.eval(d, &Frame::root(&[]))?;
                            }
                        }
                    }
                }
                row
            };
            let rowids_before = self.rowids.known(info);
            let (mut row, new_rowid, auto_rowid) = self.prepare_row(txn, info, row)?;
            self.compute_generated(txn, info, &mut row)?;
            let key_vals = row_key_values(def, &row);
            let row_key = def.row_key(&key_vals);
            // BEFORE INSERT triggers fire first, before any constraint is checked (as SQLite
            // does: a row that INSERT OR IGNORE then skips has fired them), and before SQLite
            // chooses an automatic rowid: they see -1 there (its own test tkt3832 pins it).
            let before_row;
            let seen: &[Value] = match auto_rowid && before_insert {
                true => {
                    let mut r = row.clone();
                    r[ncols] = Value::Integer(-1);
                    if let Some(rc) = def.rowid_column {
                        r[rc] = Value::Integer(-1);
                    }
                    before_row = r;
                    &before_row
                }
                false => &row,
            };
            if !self.fire(
                txn,
                info,
                super::parser::trigger::Timing::Before,
                super::parser::trigger::Event::Insert,
                None,
                Some(seen),
                &[],
            )? {
                self.rowids.restore(info, rowids_before);
                continue; // RAISE(IGNORE): the row is not inserted
            }
            // A rowid beyond every one in use: no row has it (no conflict to look for), and
            // no live row (nor index entry) is superseded, so the commit need not look up
            // their heads (`write_row`). Not after BEFORE triggers, which may have written rows.
            let new_rowid = new_rowid && !before_insert;
            let skip_key = new_rowid.then_some(KeyCheck::KnownAbsent);
            let conflicts = find_conflicts(txn, info, &row, &row_key, skip_key)?;
            if !conflicts.is_empty() {
                match (&p.upsert, conflict) {
                    (Upsert::DoNothing, _) | (Upsert::None, Conflict::Ignore) => {
                        // SQLite chooses the next rowid afresh for the next row: an ignored
                        // row does not use one up (except under AUTOINCREMENT, whose
                        // sequence SQLite advances all the same).
                        self.rowids.restore(info, rowids_before);
                        continue;
                    }
                    (Upsert::DoUpdate((assign, filter)), _) => {
                        let existing_key = conflicts[0].1.clone();
                        // Rewritten below (unless its filter says no): not worth caching.
                        let existing =
                            txn.reading_rows_to_replace(|| load_row(txn, info, &existing_key))?;
                        let mut both = existing.clone();
                        both.extend(row.iter().cloned());
                        let exec = self.exec(txn);
                        let new_row = self.framed(&both, |f| -> Result<Option<Row>> {
                            if let Some(w) = filter {
                                if exec.eval(w, f)?.truthy() != Some(true) {
                                    return Ok(None);
                                }
                            }
                            let mut new_row = existing.clone();
                            for (c, e) in assign {
                                new_row[*c] = exec.eval(e, f)?;
                            }
                            Ok(Some(new_row))
                        })?;
                        drop(exec);
                        let Some(new_row) = new_row else { continue };
                        let set: Vec<usize> = assign.iter().map(|(c, _)| *c).collect();
                        let final_row =
                            self.update_row(txn, bound, &existing, new_row, Conflict::Abort, &set)?;
                        if let Some(final_row) = final_row {
                            changes += 1;
                            self.push_returning(&mut returning, txn, &final_row)?;
                        }
                        continue;
                    }
                    (Upsert::None, Conflict::Replace) => {
                        for (_, key) in &conflicts {
                            let old = txn.reading_rows_to_replace(|| try_load_row(txn, info, key));
                            if let Some(old) = old? {
                                self.replace_delete(txn, info, &old)?;
                            }
                        }
                    }
                    (Upsert::None, Conflict::Abort) => {
                        return Err(conflict_error(&conflicts));
                    }
                }
            }
            self.check_row(txn, bound, &row)?;
            self.check_fk_child(txn, info, &row)?;
            write_row(txn, info, &row, &key_vals, row_key, new_rowid)?;
            self.fire(
                txn,
                info,
                super::parser::trigger::Timing::After,
                super::parser::trigger::Event::Insert,
                None,
                Some(&row),
                &[],
            )?;
            if def.has_rowid() {
                self.last_insert_rowid = Some(row[ncols].as_i64());
            }
            changes += 1;
            self.push_returning(&mut returning, txn, &row)?;
        }
        self.rowids.persist(txn, info)?;
        Ok((changes, returning))
    }

    fn assignment_targets<'x>(
        &self,
        info: &TableInfo,
        assignments: &'x [ast::Assignment],
    ) -> Result<Vec<(usize, &'x ast::Expr)>> {
        let mut out = Vec::new();
        let column = |n: &ast::ObjectName| -> Result<usize> {
            let name = table_name(n)?;
            info.def
                .column_index(&name)
                .or_else(|| rowid_target(&info.def, &name))
                .ok_or_else(|| no_target_column(&info.def, &name))
        };
        let column = |n: &ast::ObjectName| -> Result<usize> {
            let i = column(n)?;
            match info.def.columns.get(i) {
                Some(c) if c.generated.is_some() => Err(cannot_update(&c.name)),
                _ => Ok(i),
            }
        };
        for a in assignments {
            match &a.target {
                ast::AssignmentTarget::ColumnName(n) => out.push((column(n)?, &a.value)),
                // `SET (a, b) = (1, 2)`: a row value, one item per column.
                ast::AssignmentTarget::Tuple(names) => {
                    let values: Vec<&ast::Expr> = match &a.value {
                        ast::Expr::Tuple(items) => items.iter().collect(),
                        ast::Expr::Nested(inner) => vec![inner.as_ref()],
                        ast::Expr::Subquery(_) => {
                            return Err(Error::Unsupported(
                                "SET (...) = (SELECT ...); assign each column".into(),
                            ))
                        }
                        other => vec![other],
                    };
                    if values.len() != names.len() {
                        return Err(Error::invalid(format!(
                            "{} columns assigned {} values",
                            names.len(),
                            values.len()
                        )));
                    }
                    for (n, v) in names.iter().zip(values) {
                        out.push((column(n)?, v));
                    }
                }
            }
        }
        Ok(out)
    }

    fn push_returning(
        &self,
        r: &mut Option<Returning>,
        txn: &Transaction,
        row: &[Value],
    ) -> Result<()> {
        if let Some(r) = r {
            let exec = self.exec(txn);
            let f = Frame::root(row);
            let out = r
                .exprs
                .iter()
                .map(|e| exec.eval(e, &f))
                .collect::<Result<Row>>()?;
            r.rows.push(out);
        }
        Ok(())
    }

    /// Applies affinities and assigns the rowid; returns the row with its rowid appended,
    /// whether that rowid is larger than every rowid in use (then no row can have it), and
    /// whether it was chosen automatically (no value was given for it).
    fn prepare_row(
        &mut self,
        txn: &mut Transaction,
        info: &TableInfo,
        mut row: Row,
    ) -> Result<(Row, bool, bool)> {
        let def = &info.def;
        // A value for a rowid no column names comes after the columns.
        let explicit_rowid = row.get(def.columns.len()).cloned().unwrap_or(Value::Null);
        row.truncate(def.columns.len());
        apply_column_types(def, &mut row)?;
        if def.has_rowid() {
            let explicit = match def.rowid_column {
                Some(rc) => row[rc].clone(),
                None => rowid_value(explicit_rowid)?,
            };
            let auto = explicit.is_null();
            let (id, beyond) = match explicit {
                Value::Null => self.rowids.next(txn, info)?,
                Value::Integer(i) => (i, self.rowids.saw_explicit(txn, info, i)?),
                other => {
                    return Err(Error::TypeMismatch(format!(
                        "datatype mismatch: {}.{} is an INTEGER PRIMARY KEY and cannot hold {}",
                        def.name,
                        def.columns[def.rowid_column.unwrap_or(0)].name,
                        other.type_name()
                    )))
                }
            };
            if let Some(rc) = def.rowid_column {
                row[rc] = Value::Integer(id);
            }
            row.push(Value::Integer(id));
            Ok((row, beyond, auto))
        } else {
            row.push(Value::Null);
            Ok((row, false, false))
        }
    }

    /// Computes the generated columns of a row about to be written.
    fn compute_generated(
        &self,
        txn: &Transaction,
        info: &TableInfo,
        row: &mut [Value],
    ) -> Result<()> {
        if info.def.columns.iter().all(|c| c.generated.is_none()) {
            return Ok(());
        }
        let generated = super::execution::computed::generated(info)?;
        if generated.is_empty() {
            return Ok(());
        }
        generated.compute_for_write(&self.exec(txn), &info.def, row)
    }

    fn check_row(&self, txn: &Transaction, b: &Bound, row: &[Value]) -> Result<()> {
        let def = &b.info.def;
        for (i, c) in def.columns.iter().enumerate() {
            let pk_null = !def.has_rowid() && def.primary_key.contains(&i);
            if (c.not_null || pk_null) && row[i].is_null() {
                return Err(Error::Constraint {
                    kind: ConstraintKind::NotNull,
                    table: def.name.clone(),
                    column: Some(c.name.clone()),
                    detail: None,
                });
            }
        }
        if !b.checks.is_empty() {
            let exec = self.exec(txn);
            for (text, e) in &b.checks {
                if exec.eval(e, &Frame::root(row))?.truthy() == Some(false) {
                    return Err(Error::Constraint {
                        kind: ConstraintKind::Check,
                        table: def.name.clone(),
                        column: None,
                        detail: Some(text.clone()),
                    });
                }
            }
        }
        Ok(())
    }

    /// Writes an updated row; returns it, or `None` if ignored by the conflict policy.
    #[allow(clippy::too_many_arguments)]
    fn update_row(
        &mut self,
        txn: &mut Transaction,
        b: &Bound,
        old: &[Value],
        new: Row,
        conflict: Conflict,
        assigned: &[usize],
    ) -> Result<Option<Row>> {
        let info = &b.info;
        let def = &info.def;
        let ncols = def.columns.len();
        let mut row: Row = new;
        apply_column_types(def, &mut row)?;
        if def.has_rowid() {
            // The rowid follows the INTEGER PRIMARY KEY column, or an explicit rowid assignment.
            let id = match def.rowid_column {
                Some(rc) if !row[rc].same_as(&old[rc]) => row[rc].clone(),
                _ => rowid_value(std::mem::take(&mut row[ncols]))?,
            };
            let id = match id {
                Value::Integer(i) => i,
                other => {
                    return Err(Error::TypeMismatch(format!(
                        "datatype mismatch: rowid cannot be {}",
                        other.type_name()
                    )))
                }
            };
            if let Some(rc) = def.rowid_column {
                row[rc] = Value::Integer(id);
            }
            if !old[ncols].same_as(&Value::Integer(id)) {
                // The row leaves its rowid, which may have been the largest.
                self.rowids.forget(info);
            }
            row[ncols] = Value::Integer(id);
            self.rowids.saw(info, id);
        }
        self.compute_generated(txn, info, &mut row)?;
        let old_key_vals = row_key_values(def, old);
        let new_key_vals = row_key_values(def, &row);
        let old_key = def.row_key(&old_key_vals);
        let new_key = def.row_key(&new_key_vals);
        // BEFORE UPDATE triggers fire before any constraint is checked, as SQLite's do.
        if !self.fire(
            txn,
            info,
            super::parser::trigger::Timing::Before,
            super::parser::trigger::Event::Update,
            Some(old),
            Some(&row),
            assigned,
        )? {
            return Ok(None); // RAISE(IGNORE): the row is left as it is
        }
        let conflicts = find_conflicts(txn, info, &row, &new_key, Some(KeyCheck::Own(&old_key)))?;
        if !conflicts.is_empty() {
            match conflict {
                Conflict::Ignore => return Ok(None),
                Conflict::Replace => {
                    for (_, key) in &conflicts {
                        if let Some(other) = try_load_row(txn, info, key)? {
                            self.replace_delete(txn, info, &other)?;
                        }
                    }
                }
                Conflict::Abort => {
                    return Err(conflict_error(&conflicts));
                }
            }
        }
        self.check_row(txn, b, &row)?;
        self.check_fk_child(txn, info, &row)?;
        self.check_fk_parent(txn, info, old, Some(&row))?;
        let keys = RowKeys {
            old: old_key,
            new: new_key,
            old_vals: &old_key_vals,
            new_vals: &new_key_vals,
        };
        rewrite_row(txn, info, old, &row, keys)?;
        self.fk_actions(txn, info, old, Some(&row))?;
        self.fire(
            txn,
            info,
            super::parser::trigger::Timing::After,
            super::parser::trigger::Event::Update,
            Some(old),
            Some(&row),
            assigned,
        )?;
        Ok(Some(row))
    }

    fn update(
        &mut self,
        txn: &mut Transaction,
        p: &UpdatePlan,
    ) -> Result<(u64, Option<Returning>)> {
        let info = &p.bound.info;
        // SQLite computes each row's new values when the row's turn comes, after the rows
        // before it were written. That is visible only when a REPLACE, a trigger or a
        // foreign-key action can change rows other than the one being updated (the target
        // rows are then read again), or when SET holds a correlated subquery that reads the
        // table being changed (`SET k = (SELECT count(*) FROM t u WHERE u.k = t.k)`).
        // Otherwise each new row is computed as the targets are gathered.
        let may_change_targets = p.conflict == Conflict::Replace
            || !info.triggers.is_empty()
            || self.has_fk_actions(info);
        let per_row = may_change_targets
            || p.assigns
                .iter()
                .any(|(_, e)| e.has_correlated_subquery() && e.reads_current_table(info.def.id));
        let assign = |ctx: &Self, exec: &Executor<'_>, old: &Row| -> Result<Row> {
            ctx.framed(old, |f| -> Result<Row> {
                let mut new = old.clone();
                for (c, e) in &p.assigns {
                    new[*c] = exec.eval(e, f)?;
                }
                Ok(new)
            })
        };
        let pairs = match &p.target {
            // One executor computes every new row: an uncorrelated subquery in SET runs once.
            Target::Scan(plan) => self.run_targets(txn, &info.def, plan, |exec, old| {
                if per_row {
                    Ok(Vec::new())
                } else {
                    assign(self, exec, old)
                }
            })?,
            Target::Joined(joined) => return self.update_joined(txn, p, joined),
        };
        let bound = &p.bound;
        let assigned = assigned_columns(info, p);
        let mut returning = p.returning.clone();
        let conflict = p.conflict;
        let mut changes = 0;
        // Each row gets a new executor (the transaction changes between rows), which starts
        // from the answers of the uncorrelated subqueries already run: SQLite runs those once.
        let mut answers = StatementAnswers::default();
        let computed_once = match per_row {
            true => {
                let exprs: Vec<&Expr> = p.assigns.iter().map(|(_, e)| e).collect();
                super::plan::relations_computed_once(&exprs)
            }
            false => Default::default(),
        };
        let mut ticks = 0;
        for pair in pairs {
            self.limits.tick(&mut ticks)?;
            let (old, mut new) = pair?;
            let width = if per_row { 0 } else { old.len() };
            hand_back_head(txn, &info.def, &old, &mut new, width);
            let (current, new) = match per_row {
                false => (old, new),
                true => {
                    let key = info.def.row_key(&row_key_values(&info.def, &old));
                    let current = txn.reading_rows_to_replace(|| try_load_row(txn, info, &key));
                    let Some(current) = current? else {
                        continue; // removed by an earlier REPLACE, trigger or action
                    };
                    let exec = self.exec(txn).with_statement_answers(answers);
                    let new = assign(self, &exec, &current);
                    answers = exec.take_statement_answers(&computed_once);
                    (current, new?)
                }
            };
            if let Some(row) = self.update_row(txn, bound, &current, new, conflict, &assigned)? {
                changes += 1;
                self.push_returning(&mut returning, txn, &row)?;
            }
        }
        Ok((changes, returning))
    }

    fn delete(
        &mut self,
        txn: &mut Transaction,
        p: &DeletePlan,
    ) -> Result<(u64, Option<Returning>)> {
        let info = &p.info;
        let rows = match &p.target {
            Target::Scan(plan) => self.run_targets(txn, &info.def, plan, |_, _| Ok(Vec::new()))?,
            Target::Joined(joined) => {
                let mut rows = Vec::new();
                for (key, _) in self.joined_targets(txn, info, joined)? {
                    rows.extend(try_load_row(txn, info, &key)?);
                }
                BufferedRows::from_rows(rows)
            }
        };
        let mut returning = p.returning.clone();
        let mut changes = 0;
        let may_change_targets = !info.triggers.is_empty() || self.has_fk_actions(info);
        let mut ticks = 0;
        for pair in rows {
            self.limits.tick(&mut ticks)?;
            let (old, mut derived) = pair?;
            hand_back_head(txn, &info.def, &old, &mut derived, 0);
            // An earlier trigger or foreign-key action of this statement may have changed or
            // removed the row.
            let old = if may_change_targets {
                let key = info.def.row_key(&row_key_values(&info.def, &old));
                match try_load_row(txn, info, &key)? {
                    Some(current) => current,
                    None => continue,
                }
            } else {
                old
            };
            // The row is only needed again for RETURNING.
            let kept = returning.is_some().then(|| old.clone());
            if self.delete_one(txn, info, old)? {
                changes += 1;
                if let Some(old) = kept {
                    self.push_returning(&mut returning, txn, &old)?;
                }
            }
        }
        Ok((changes, returning))
    }

    /// UPDATE with target rows from a query (`dml/joined.rs`): each row, read when its turn
    /// comes, takes the values the query computed for it.
    fn update_joined(
        &mut self,
        txn: &mut Transaction,
        p: &UpdatePlan,
        joined: &joined::JoinedTarget,
    ) -> Result<(u64, Option<Returning>)> {
        let info = &p.bound.info;
        let targets = self.joined_targets(txn, info, joined)?;
        let assigned = assigned_columns(info, p);
        let mut returning = p.returning.clone();
        let mut changes = 0;
        for (key, values) in targets {
            let Some(current) = try_load_row(txn, info, &key)? else {
                continue; // removed by an earlier REPLACE, trigger or action
            };
            let mut new = current.clone();
            for ((c, _), v) in p.assigns.iter().zip(values) {
                new[*c] = v;
            }
            if let Some(row) =
                self.update_row(txn, &p.bound, &current, new, p.conflict, &assigned)?
            {
                changes += 1;
                self.push_returning(&mut returning, txn, &row)?;
            }
        }
        Ok((changes, returning))
    }

    /// Deletes a row that a REPLACE conflict removes: as SQLite does without recursive
    /// triggers, no DELETE trigger fires, but the foreign keys referencing it are checked
    /// and their actions run.
    fn replace_delete(
        &mut self,
        txn: &mut Transaction,
        info: &TableInfo,
        old: &[Value],
    ) -> Result<()> {
        self.check_fk_parent(txn, info, old, None)?;
        delete_row(txn, info, old)?;
        self.rowids.forget(info);
        self.fk_actions(txn, info, old, None)
    }
}

/// Converts each value as its column stores it: by affinity, and in a STRICT table refusing
/// what does not fit the declared type.
fn apply_column_types(def: &TableDef, row: &mut [Value]) -> Result<()> {
    for (i, c) in def.columns.iter().enumerate() {
        // Generated columns are computed (and converted) afterwards.
        if c.generated.is_none() {
            let v = std::mem::take(&mut row[i]);
            row[i] = super::strict::column_value(def, i, v)?;
        }
    }
    Ok(())
}

/// The encoded row as stored: virtual generated columns are left out (as NULL).
fn encode_stored(info: &TableInfo, row: &[Value]) -> Result<Vec<u8>> {
    let row = &row[..info.def.columns.len()];
    if info.def.columns.iter().all(|c| c.generated.is_none()) {
        return Ok(codec::encode_row(row));
    }
    let generated = super::execution::computed::generated(info)?;
    Ok(if generated.has_virtual() {
        codec::encode_row(&generated.stored_image(row))
    } else {
        codec::encode_row(row)
    })
}

fn load_row(txn: &Transaction, info: &TableInfo, key: &[u8]) -> Result<Row> {
    try_load_row(txn, info, key)?.ok_or_else(|| Error::corruption("conflicting row vanished"))
}

fn try_load_row(txn: &Transaction, info: &TableInfo, key: &[u8]) -> Result<Option<Row>> {
    let env = ClockOnly(0);
    let exec = Executor::new(None, &[], &env);
    match txn.get(key)? {
        Some(v) => Ok(Some(exec.decode_row(info, key, &v)?)),
        None => Ok(None),
    }
}

/// The error an aborting INSERT or UPDATE reports: the first conflict found.
fn conflict_error(conflicts: &[ConflictHit]) -> Error {
    let (kind, table, column) = &conflicts[0].0;
    Error::Constraint {
        kind: *kind,
        table: table.clone(),
        column: column.clone(),
        detail: None,
    }
}

/// What is known about a row's own key before looking for conflicts.
enum KeyCheck<'a> {
    /// The key of the row being updated: keeping it is no conflict.
    Own(&'a [u8]),
    /// A rowid larger than every rowid in use: no row has it.
    KnownAbsent,
}

/// Checks that a source row of `p` has a value for each target column.
fn check_width(p: &InsertPlan, r: &Row) -> Result<()> {
    // DEFAULT VALUES (no source) supplies nothing, so there is nothing to check.
    if p.source.is_some() && r.len() != p.targets.len() {
        return Err(Error::invalid(if p.all_columns {
            format!(
                "table {} has {} columns but {} values were supplied",
                p.info.def.name,
                p.targets.len(),
                r.len()
            )
        } else {
            format!("{} values for {} columns", r.len(), p.targets.len())
        }));
    }
    Ok(())
}

/// Uniqueness conflicts of `row` (primary key, then unique indexes), excluding the row being
/// updated. Each names the constraint and the conflicting row's key.
fn find_conflicts(
    txn: &Transaction,
    info: &TableInfo,
    row: &[Value],
    key: &[u8],
    key_check: Option<KeyCheck<'_>>,
) -> Result<Vec<ConflictHit>> {
    let def = &info.def;
    let mut out = Vec::new();
    let exclude = match key_check {
        Some(KeyCheck::Own(own)) => Some(own),
        _ => None,
    };
    let check_key = match key_check {
        Some(KeyCheck::Own(own)) => own != key,
        Some(KeyCheck::KnownAbsent) => false,
        None => true,
    };
    // The stored row whose key equals this one, if any (1 and 1.0 are equal keys; see
    // `key_probe`).
    let taken = match check_key {
        false => None,
        true if def.has_rowid() => txn.get(key)?.map(|_| key.to_vec()),
        true => key_probe::taken_row_key(txn, def, row, key, exclude)?,
    };
    if let Some(taken) = taken {
        let cols = if def.has_rowid() {
            def.rowid_column
                .map_or_else(|| "rowid".to_string(), |c| def.columns[c].name.clone())
        } else {
            def.primary_key
                .iter()
                .map(|&c| def.columns[c].name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push((
            (ConstraintKind::PrimaryKey, def.name.clone(), Some(cols)),
            taken,
        ));
    }
    for ix in info.indexes.iter().filter(|i| i.unique) {
        // NULLs are distinct; a partial index constrains only the rows it holds.
        let Some(values) = super::execution::computed::entry_values(ix, row)? else {
            continue;
        };
        if values.iter().any(Value::is_null) {
            continue;
        }
        let kinds = ix.columns.iter().map(|c| match c.expr {
            // An expression's value has no affinity.
            Some(_) => (Affinity::Blob, c.desc),
            None => (def.columns[c.column].affinity, c.desc),
        });
        let (prefix, exact) = key_probe::prefix(codec::index_prefix(ix.id), &values, kinds);
        for kv in txn.scan(prefix_range(&prefix), Direction::Forward) {
            let (k, _) = kv?;
            let end = match exact {
                true => prefix.len(),
                false => {
                    let descs = ix.columns.iter().map(|c| c.desc);
                    match key_probe::holds(&k, codec::INDEX_PREFIX_LEN, &values, descs)? {
                        Some(end) => end,
                        None => continue,
                    }
                }
            };
            let mut rk = codec::table_prefix(def.id);
            rk.extend_from_slice(&k[end..]);
            if exclude == Some(rk.as_slice()) || out.iter().any(|(_, k)| *k == rk) {
                continue;
            }
            out.push((unique_target(def, ix), rk));
            break;
        }
    }
    Ok(out)
}

/// How a UNIQUE index's violation is reported, as SQLite does: by the table's columns
/// ("t.a, t.b"), or by the index's name when a part is an expression.
fn unique_target(def: &TableDef, ix: &IndexDef) -> (ConstraintKind, String, Option<String>) {
    if ix.columns.iter().any(|c| c.expr.is_some()) {
        return (ConstraintKind::Unique, format!("index '{}'", ix.name), None);
    }
    let cols = ix
        .columns
        .iter()
        .map(|c| def.columns[c.column].name.clone())
        .collect::<Vec<_>>()
        .join(", ");
    (ConstraintKind::Unique, def.name.clone(), Some(cols))
}

/// The columns an UPDATE's SET names, which only `UPDATE OF` triggers read (none without
/// triggers: no allocation per statement).
fn assigned_columns(info: &TableInfo, p: &UpdatePlan) -> Vec<usize> {
    match info.triggers.is_empty() {
        true => Vec::new(),
        false => p.assigns.iter().map(|(c, _)| *c).collect(),
    }
}

/// Writes a new row under `row_key` (the key of `key_vals`) and its index entries.
/// `new_rowid`: the rowid is beyond every one in use, so the key has no live committed
/// version (see [`Transaction::put_unversioned`]).
fn write_row(
    txn: &mut Transaction,
    info: &TableInfo,
    row: &[Value],
    key_vals: &[Value],
    row_key: Vec<u8>,
    new_rowid: bool,
) -> Result<()> {
    let data = encode_stored(info, row)?;
    // A row key that never had a version cannot have had index entries either (they embed
    // the row key): spare the commit a lookup for each.
    let fresh = if new_rowid {
        txn.put_unversioned(row_key, data)?
    } else {
        let fresh = txn.known_unversioned(&row_key);
        txn.put(row_key, data)?;
        fresh
    };
    for ix in &info.indexes {
        let Some(k) = index_entry_key(ix, row, key_vals)? else {
            continue;
        };
        if fresh {
            txn.put_unversioned(k, Vec::new())?;
        } else {
            txn.put(k, Vec::new())?;
        }
    }
    Ok(())
}

/// The keys of a row an UPDATE rewrites, before and after, and the values they encode:
/// built once per row (the conflict check needs them too).
struct RowKeys<'k> {
    old: Vec<u8>,
    new: Vec<u8>,
    old_vals: &'k [Value],
    new_vals: &'k [Value],
}

/// Replaces `old` by `new`, touching only the index entries that change: an entry that
/// stays the same keeps its version, so an UPDATE of unindexed columns writes one row
/// version and nothing else (no new index versions to store, look up at commit, or collect).
fn rewrite_row(
    txn: &mut Transaction,
    info: &TableInfo,
    old: &[Value],
    new: &[Value],
    keys: RowKeys<'_>,
) -> Result<()> {
    let RowKeys {
        old: old_key,
        new: new_key,
        old_vals: old_key_vals,
        new_vals: new_key_vals,
    } = keys;
    let same_key = old_key == new_key;
    let fresh = !same_key && txn.known_unversioned(&new_key);
    if !same_key {
        txn.delete(old_key)?;
    }
    txn.put(new_key, encode_stored(info, new)?)?;
    for ix in &info.indexes {
        // Entries built from the same row key and the same column values, bit for bit, are
        // the same entry: an UPDATE of unindexed columns (the common case) need not encode
        // two keys per index and row to find that out.
        if same_key
            && !ix.is_computed()
            && ix
                .columns
                .iter()
                .all(|c| identical(&old[c.column], &new[c.column]))
        {
            continue;
        }
        let before = index_entry_key(ix, old, old_key_vals)?;
        let after = index_entry_key(ix, new, new_key_vals)?;
        if before == after {
            continue;
        }
        if let Some(before) = before {
            txn.delete(before)?;
        }
        if let Some(after) = after {
            if fresh {
                txn.put_unversioned(after, Vec::new())?;
            } else {
                txn.put(after, Vec::new())?;
            }
        }
    }
    Ok(())
}

/// True when `a` and `b` are the same value in the same representation (a conservative test:
/// decimals and timestamps, and reals differing only in their sign of zero, are not).
fn identical(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Integer(x), Value::Integer(y)) => x == y,
        (Value::Real(x), Value::Real(y)) => x.to_bits() == y.to_bits(),
        (Value::Text(x), Value::Text(y)) => x == y,
        (Value::Blob(x), Value::Blob(y)) => x == y,
        _ => false,
    }
}

/// Hands the committed head a target row carried (see [`DmlContext::run_targets`]) back to the
/// transaction before the row is written: present when `derived` is longer than the `width`
/// the statement derives.
fn hand_back_head(
    txn: &Transaction,
    def: &TableDef,
    old: &[Value],
    derived: &mut Row,
    width: usize,
) {
    if derived.len() > width {
        if let Some(Value::Blob(head)) = derived.pop() {
            txn.keep_head_for_write(def.row_key_of_row(old), Bytes::from(head.as_slice()));
        }
    }
}

fn delete_row(txn: &mut Transaction, info: &TableInfo, row: &[Value]) -> Result<()> {
    let def = &info.def;
    txn.delete(def.row_key_of_row(row))?;
    if info.indexes.is_empty() {
        return Ok(());
    }
    let key_vals = row_key_values(def, row);
    for ix in &info.indexes {
        if let Some(k) = index_entry_key(ix, row, &key_vals)? {
            txn.delete(k)?;
        }
    }
    Ok(())
}

/// Hands out rowids: one past the largest in use (or ever used, with AUTOINCREMENT).
///
/// Lives as long as the transaction (the session keeps it), so the largest rowid is looked
/// up in storage once per table and transaction, and only when a rowid must be chosen.
#[derive(Debug, Default)]
pub struct RowidAllocator {
    // Keyed by table id, looked up several times per inserted row: a fast hash (the ids
    // come from the catalog, not from outside).
    /// Largest rowid in use, including this transaction's inserts.
    known_max: rustc_hash::FxHashMap<u32, i64>,
    /// Largest explicit rowid inserted before `known_max` was looked up.
    seen_max: rustc_hash::FxHashMap<u32, i64>,
    /// Tables whose AUTOINCREMENT sequence must be saved.
    dirty: rustc_hash::FxHashMap<u32, i64>,
}

fn seq_key(id: u32) -> Vec<u8> {
    let mut k = b"seq/".to_vec();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

impl RowidAllocator {
    fn current_max(txn: &Transaction, info: &TableInfo) -> Result<i64> {
        let prefix = codec::table_prefix(info.def.id);
        let mut max = 0;
        if let Some(kv) = txn.scan(prefix_range(&prefix), Direction::Reverse).next() {
            let (k, _) = kv?;
            let mut pos = 5;
            max = codec::decode_key_value(&k, &mut pos, false)?.as_i64();
        }
        if info.def.autoincrement {
            if let Some(v) = txn.get_meta(&seq_key(info.def.id))? {
                let seq = i64::from_be_bytes(
                    v.as_slice()
                        .try_into()
                        .map_err(|_| Error::corruption("sequence has wrong length"))?,
                );
                max = max.max(seq);
            }
        }
        Ok(max)
    }

    /// The rowid of a row inserted without one, and whether it lies beyond every rowid in
    /// use (then no row has it). One past the largest; once the largest is 2^63 - 1, as in
    /// SQLite, an unused one drawn at random (not beyond: the caller checks it), or, for an
    /// AUTOINCREMENT table, none.
    fn next(&mut self, txn: &Transaction, info: &TableInfo) -> Result<(i64, bool)> {
        let id = info.def.id;
        let cur = match self.known_max.get(&id) {
            Some(&n) => n,
            None => Self::current_max(txn, info)?
                .max(self.seen_max.get(&id).copied().unwrap_or(i64::MIN)),
        };
        let Some(n) = cur.checked_add(1) else {
            return Ok((Self::unused_at_random(txn, info)?, false));
        };
        self.known_max.insert(id, n);
        if info.def.autoincrement {
            self.dirty.insert(id, n);
        }
        Ok((n, true))
    }

    /// SQLite's way once the largest rowid is taken: positive rowids drawn at random until
    /// one is unused; "database or disk is full" after 100 draws, and at once for an
    /// AUTOINCREMENT table (whose rowids never go back).
    fn unused_at_random(txn: &Transaction, info: &TableInfo) -> Result<i64> {
        let full = || {
            Error::LimitExceeded(format!(
                "database or disk is full: table {} has no rowids left",
                info.def.name
            ))
        };
        if info.def.autoincrement {
            return Err(full());
        }
        for _ in 0..100 {
            let candidate = 1 + (super::functions::next_random() as u64 % (i64::MAX as u64)) as i64;
            let key = info.def.row_key(&[Value::Integer(candidate)]);
            if txn.get(&key)?.is_none() {
                return Ok(candidate);
            }
        }
        Err(full())
    }

    /// Notes an explicit rowid; true if it is larger than every rowid in use. A batch load
    /// with ascending keys then needs no lookup per row to rule out a duplicate key: the
    /// largest rowid is looked up once per table and transaction, from the second explicit
    /// rowid on. The first one answers false (the caller looks the key up), because finding
    /// the largest rowid costs a reverse seek, several times a point lookup, and a
    /// transaction of one insert (autocommit) would pay it for nothing.
    fn saw_explicit(&mut self, txn: &Transaction, info: &TableInfo, rowid: i64) -> Result<bool> {
        let id = info.def.id;
        let max = match self.known_max.get(&id) {
            Some(&n) => n,
            None if !self.seen_max.contains_key(&id) => {
                self.saw(info, rowid);
                return Ok(false);
            }
            None => {
                let n = Self::current_max(txn, info)?
                    .max(self.seen_max.get(&id).copied().unwrap_or(i64::MIN));
                self.known_max.insert(id, n);
                n
            }
        };
        self.saw(info, rowid);
        Ok(rowid > max)
    }

    /// What the allocator knows of a table's rowids, to [`RowidAllocator::restore`] later.
    fn known(&self, info: &TableInfo) -> (Option<i64>, Option<i64>) {
        let id = info.def.id;
        (
            self.known_max.get(&id).copied(),
            self.seen_max.get(&id).copied(),
        )
    }

    /// Forgets the rowids handed out or seen since [`RowidAllocator::known`], for a row that
    /// was not inserted after all (`INSERT OR IGNORE`): SQLite chooses the next rowid from
    /// the rows that exist, so an ignored row uses none up. An AUTOINCREMENT table keeps
    /// them, as SQLite's sequence does.
    fn restore(&mut self, info: &TableInfo, (known, seen): (Option<i64>, Option<i64>)) {
        if info.def.autoincrement {
            return;
        }
        let id = info.def.id;
        match known {
            Some(k) => self.known_max.insert(id, k),
            None => self.known_max.remove(&id),
        };
        match seen {
            Some(s) => self.seen_max.insert(id, s),
            None => self.seen_max.remove(&id),
        };
    }

    /// Forgets what is known of the largest rowid of a table after one of its rows was
    /// deleted or moved: SQLite's next rowid is one past the largest *in use*, so a largest
    /// rowid deleted earlier in the transaction is handed out again (the next insert looks
    /// the largest up anew). An AUTOINCREMENT table keeps it: its sequence never goes back.
    pub(super) fn forget(&mut self, info: &TableInfo) {
        if info.def.autoincrement {
            return;
        }
        self.known_max.remove(&info.def.id);
        self.seen_max.remove(&info.def.id);
    }

    /// Notes a rowid now in use (an explicit insert, or an UPDATE that moved a row).
    fn saw(&mut self, info: &TableInfo, rowid: i64) {
        let id = info.def.id;
        match self.known_max.get_mut(&id) {
            Some(k) => *k = (*k).max(rowid),
            None => {
                let s = self.seen_max.entry(id).or_insert(rowid);
                *s = (*s).max(rowid);
            }
        }
        if info.def.autoincrement {
            let d = self.dirty.entry(id).or_insert(rowid);
            *d = (*d).max(rowid);
        }
    }

    fn persist(&mut self, txn: &mut Transaction, info: &TableInfo) -> Result<()> {
        if !info.def.autoincrement {
            return Ok(()); // only an AUTOINCREMENT table is ever dirty
        }
        let Some(hw) = self.dirty.remove(&info.def.id) else {
            return Ok(());
        };
        let old = match txn.get_meta(&seq_key(info.def.id))? {
            Some(v) => i64::from_be_bytes(
                v.as_slice()
                    .try_into()
                    .map_err(|_| Error::corruption("sequence has wrong length"))?,
            ),
            None => 0,
        };
        if hw > old {
            txn.put_meta(seq_key(info.def.id), hw.to_be_bytes().to_vec())?;
        }
        Ok(())
    }
}

/// Scope for binding expressions over a table's rows (re-exported for DDL validation).
pub fn scope_for(info: &TableInfo) -> Scope {
    super::planner::table_scope(info, &info.def.name)
}

#[cfg(test)]
mod entry_key_tests {
    use super::*;
    use crate::sql::catalog::IndexColumn;
    use crate::sql::collation::Collation;

    /// The entry key built from the row in place is the one built from the collected
    /// entry values, whatever the collation, order and value class.
    #[test]
    fn an_entry_key_from_the_row_is_the_one_from_its_entry_values() {
        let values = [
            Value::Null,
            Value::Integer(-7),
            Value::Real(2.5),
            Value::Text("Ab  ".into()),
            Value::Blob(vec![0, 1, 0xFF]),
        ];
        for collation in [Collation::Binary, Collation::NoCase, Collation::Rtrim] {
            for desc in [false, true] {
                for (i, v) in values.iter().enumerate() {
                    let row = vec![Value::Integer(1), v.clone(), Value::Text("x".into())];
                    let ix = IndexDef {
                        id: 9,
                        name: "i".into(),
                        table: "t".into(),
                        columns: vec![
                            IndexColumn::on_column(1, desc, collation),
                            IndexColumn::on_column(2, !desc, Collation::NoCase),
                        ],
                        unique: false,
                        sql: None,
                        stats: None,
                        predicate: None,
                        bound: Default::default(),
                    };
                    let key_vals = [Value::Integer(i as i64)];
                    let mut expected = Vec::new();
                    let collected = crate::sql::execution::computed::entry_values(&ix, &row)
                        .unwrap()
                        .unwrap();
                    index_entry_key_into(&ix, &collected, &key_vals, &mut expected);
                    let built = index_entry_key(&ix, &row, &key_vals).unwrap().unwrap();
                    assert_eq!(built, expected, "{v:?} {collation:?} desc {desc}");
                }
            }
        }
    }
}
