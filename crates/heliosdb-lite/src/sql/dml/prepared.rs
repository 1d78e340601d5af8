//! The bound form of an INSERT, UPDATE or DELETE.
//!
//! Resolving the target table, binding assignments, defaults, CHECK constraints and
//! RETURNING, and planning the scan that finds target rows depend only on the statement and
//! the schema, not on parameters or data. A prepared statement executed a thousand times in
//! one transaction (the common batch-load pattern) binds once: the bound form is cached on
//! the statement under the schema's DDL point, like query plans, and rebuilt when the
//! catalog changes. After uncommitted DDL of its own, a transaction keeps the schema it
//! built until its next catalog write or rollback to a savepoint (`Transaction::derived`),
//! and the bound form is cached under that kept schema instead: a load into a table created
//! in the same transaction (every `.import` into a new table) binds its INSERT once.
//! Statements that read history (`INSERT ... SELECT ... AS OF`) or the snapshot list, and
//! trigger bodies, are bound anew on every execution.

use super::joined::{JoinedParts, JoinedTarget};
use super::{conflict_of, Bound, Conflict, DmlContext, Returning, UpsertAction};
use crate::error::{Error, Result};
use crate::sql::catalog::{Schema, TableInfo};
use crate::sql::plan::{Expr, Plan};
use crate::sql::planner::{table_name, Planner};
use sqlparser::ast::{self, Statement};
use std::sync::Arc;

/// A bound DML statement.
pub struct DmlPlan(pub(super) Prepared);

impl std::fmt::Debug for DmlPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.0 {
            Prepared::Insert(p) => ("INSERT", &p.info.def.name),
            Prepared::Update(p) => ("UPDATE", &p.bound.info.def.name),
            Prepared::Delete(p) => ("DELETE", &p.info.def.name),
        };
        write!(f, "DmlPlan({} {})", kind.0, kind.1)
    }
}

pub(super) enum Prepared {
    Insert(InsertPlan),
    Update(UpdatePlan),
    Delete(DeletePlan),
}

/// What an INSERT does on a uniqueness conflict besides its OR clause.
pub(super) enum Upsert {
    None,
    DoNothing,
    DoUpdate(UpsertAction),
}

pub(super) struct InsertPlan {
    pub info: Arc<TableInfo>,
    /// Table column of each supplied value; the column count stands for the rowid
    /// (`INSERT INTO t(rowid, ...)` on a table whose rowid no column names).
    pub targets: Vec<usize>,
    /// No column list was written (the error for a wrong value count says so).
    pub all_columns: bool,
    /// `None` for DEFAULT VALUES.
    pub source: Option<Plan>,
    /// Bound DEFAULT expression of each column.
    pub defaults: Vec<Option<Expr>>,
    pub bound: Bound,
    pub returning: Option<Returning>,
    pub conflict: Conflict,
    pub upsert: Upsert,
}

pub(super) struct UpdatePlan {
    pub bound: Bound,
    pub assigns: Vec<(usize, Expr)>,
    pub target: Target,
    pub returning: Option<Returning>,
    pub conflict: Conflict,
}

pub(super) struct DeletePlan {
    pub info: Arc<TableInfo>,
    pub target: Target,
    pub returning: Option<Returning>,
}

/// How an UPDATE or DELETE finds its rows.
pub(super) enum Target {
    /// A scan of the table with the WHERE clause: the rows themselves.
    Scan(Plan),
    /// A query (UPDATE ... FROM, or a WITH before the statement): keys and new values.
    Joined(JoinedTarget),
}

/// The schema a bound DML statement was bound against, which a later execution must match
/// to reuse it.
#[derive(Debug, Clone)]
pub enum SchemaKey {
    /// A committed schema: the SCN of the catalog change it reflects.
    Committed(u64),
    /// The schema a transaction built after its own DDL and keeps until its next catalog
    /// write or rollback to a savepoint. Compared by identity: a rebuilt schema is a new
    /// allocation, and the key holds this one, so its address is not reused meanwhile.
    Kept(Arc<Schema>),
}

impl PartialEq for SchemaKey {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Committed(a), Self::Committed(b)) => a == b,
            (Self::Kept(a), Self::Kept(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// A DML statement bound against one schema (kept in the statement's `dml_cache`).
#[derive(Debug, Clone)]
pub struct CachedDml {
    /// The schema the bound form reflects.
    pub schema: SchemaKey,
    /// The bound statement.
    pub plan: Arc<DmlPlan>,
}

impl DmlContext<'_, '_> {
    /// The statement's bound form: from the statement's cache when bound against this
    /// schema before, else bound now (and cached when nothing in it depends on more than
    /// the schema).
    pub(super) fn prepared(&mut self, sql: &Statement) -> Result<Arc<DmlPlan>> {
        let key = self.plan_key.clone().filter(|_| self.outer.is_none());
        if let Some(key) = &key {
            let cached = self.stmt.dml_cache.get::<CachedDml>();
            if let Some(c) = cached.filter(|c| c.schema == *key) {
                return Ok(c.plan.clone());
            }
        }
        let mut cacheable = true;
        let plan = Arc::new(DmlPlan(match sql {
            Statement::Insert(ins) => Prepared::Insert(self.prepare_insert(ins, &mut cacheable)?),
            Statement::Update(up) => Prepared::Update(self.prepare_update(up, &mut cacheable)?),
            Statement::Delete(del) => Prepared::Delete(self.prepare_delete(del, &mut cacheable)?),
            other => return Err(Error::Unsupported(format!("{other}"))),
        }));
        if let (Some(schema), true) = (key, cacheable && self.history.snapshots.is_empty()) {
            self.stmt.dml_cache.set(Arc::new(CachedDml {
                schema,
                plan: plan.clone(),
            }));
        }
        Ok(plan)
    }

    /// Runs `f` with a planner, noting in `cacheable` whether what it bound may be reused.
    pub(super) fn with_planner<R>(
        &mut self,
        cacheable: &mut bool,
        f: impl FnOnce(&mut Planner<'_>) -> Result<R>,
    ) -> Result<R> {
        let mut p = self.planner();
        let r = f(&mut p);
        *cacheable &= p.cacheable && p.time_travel.is_empty();
        r
    }

    fn prepare_insert(&mut self, ins: &ast::Insert, cacheable: &mut bool) -> Result<InsertPlan> {
        let ast::TableObject::TableName(name) = &ins.table else {
            return Err(Error::Unsupported("INSERT INTO a table function".into()));
        };
        let info = self.table(name)?;
        let def = &info.def;
        // Generated columns take no values: without a column list, the values go to the
        // other columns.
        let targets: Vec<usize> = if ins.columns.is_empty() {
            (0..def.columns.len())
                .filter(|&i| def.columns[i].generated.is_none())
                .collect()
        } else {
            ins.columns
                .iter()
                .map(|c| {
                    let n = table_name(c)?;
                    let i = def
                        .column_index(&n)
                        .or_else(|| super::rowid_target(def, &n))
                        .ok_or_else(|| super::no_target_column(def, &n))?;
                    if i == def.columns.len() {
                        return Ok(i);
                    }
                    if def.columns[i].generated.is_some() {
                        return Err(super::cannot_insert(&def.columns[i].name));
                    }
                    Ok(i)
                })
                .collect::<Result<_>>()?
        };
        let source = match &ins.source {
            None => None,
            Some(q) => Some(self.with_planner(cacheable, |p| Ok(p.plan_query(q)?.0))?),
        };
        let mut defaults: Vec<Option<Expr>> = Vec::with_capacity(def.columns.len());
        for c in &def.columns {
            defaults.push(match &c.default {
                Some(text) => {
                    let e = crate::sql::parser::parse_expr(text)?;
                    Some(self.with_planner(cacheable, |p| p.bind_constant(&e))?)
                }
                None => None,
            });
        }
        let bound = self.bind(&info)?;
        let returning = self.returning(&info, &ins.returning, cacheable)?;
        let conflict = if ins.replace_into {
            Conflict::Replace
        } else {
            conflict_of(&ins.or)
        };
        let upsert = match &ins.on {
            Some(ast::OnInsert::OnConflict(oc)) => match &oc.action {
                ast::OnConflictAction::DoNothing => Upsert::DoNothing,
                ast::OnConflictAction::DoUpdate(du) => {
                    Upsert::DoUpdate(self.bind_upsert(&info, du, cacheable)?)
                }
            },
            Some(_) => return Err(Error::Unsupported("ON DUPLICATE KEY UPDATE".into())),
            None => Upsert::None,
        };
        Ok(InsertPlan {
            all_columns: ins.columns.is_empty(),
            info,
            targets,
            source,
            defaults,
            bound,
            returning,
            conflict,
            upsert,
        })
    }

    fn prepare_update(&mut self, up: &ast::Update, cacheable: &mut bool) -> Result<UpdatePlan> {
        let from = match &up.from {
            None => None,
            Some(ast::UpdateTableFromKind::AfterSet(f)) => Some(f.as_slice()),
            Some(ast::UpdateTableFromKind::BeforeSet(_)) => {
                return Err(Error::invalid("UPDATE ... FROM: FROM goes after SET"))
            }
        };
        if !up.table.joins.is_empty() {
            return Err(Error::Unsupported("UPDATE with joins".into()));
        }
        let (info, alias) = self.target_table(&up.table.relation, "UPDATE", "UPDATE of")?;
        let targets = self.assignment_targets(&info, &up.assignments)?;
        if from.is_some() || self.stmt.dml_with.is_some() {
            let with = self.stmt.dml_with.clone();
            let joined = self.plan_joined(
                &info,
                JoinedParts {
                    with: with.as_ref(),
                    target: &up.table.relation,
                    alias: &alias,
                    from: from.unwrap_or_default(),
                    selection: up.selection.as_ref(),
                    values: targets.iter().map(|(_, e)| *e).collect(),
                },
                cacheable,
            )?;
            return Ok(UpdatePlan {
                bound: self.bind(&info)?,
                // Values come from the query, in this order.
                assigns: targets
                    .iter()
                    .map(|(c, _)| (*c, Expr::Literal(crate::sql::value::Value::Null)))
                    .collect(),
                target: Target::Joined(joined),
                returning: self.returning(&info, &up.returning, cacheable)?,
                conflict: conflict_of(&up.or),
            });
        }
        let scope = crate::sql::planner::table_scope(&info, &alias);
        // One planner for SET and WHERE: the executor that gathers the targets evaluates
        // both, and it tells uncorrelated subqueries apart by the ids one planner numbers
        // (two planners would both start at 1, and SET would get WHERE's answer).
        let (assigns, target) = self.with_planner(cacheable, |p| {
            p.push_scope(scope);
            let r = targets
                .iter()
                .map(|(c, e)| Ok((*c, p.bind(e)?)))
                .collect::<Result<Vec<_>>>();
            p.pop_scope();
            let target = p.plan_table_scan(info.clone(), &alias, up.selection.as_ref())?;
            Ok((r?, target))
        })?;
        Ok(UpdatePlan {
            bound: self.bind(&info)?,
            assigns,
            target: Target::Scan(target),
            returning: self.returning(&info, &up.returning, cacheable)?,
            conflict: conflict_of(&up.or),
        })
    }

    /// The table an UPDATE or DELETE (`verb`) changes, and the name its rows go by;
    /// `verb_prep` words the refusal of a derived table ("UPDATE of", "DELETE from").
    fn target_table(
        &self,
        relation: &ast::TableFactor,
        verb: &str,
        verb_prep: &str,
    ) -> Result<(Arc<TableInfo>, String)> {
        let ast::TableFactor::Table {
            name,
            alias,
            version,
            ..
        } = relation
        else {
            return Err(Error::Unsupported(format!("{verb_prep} a derived table")));
        };
        if version.is_some() {
            return Err(Error::invalid(format!(
                "history is read-only: {verb} changes the current data, so its target cannot have a time-travel clause"
            )));
        }
        let info = self.table(name)?;
        let alias = alias
            .as_ref()
            .map_or_else(|| info.def.name.clone(), |a| a.name.value.clone());
        Ok((info, alias))
    }

    fn prepare_delete(&mut self, del: &ast::Delete, cacheable: &mut bool) -> Result<DeletePlan> {
        let from = match &del.from {
            ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
        };
        if from.len() != 1 || !from[0].joins.is_empty() || del.using.is_some() {
            return Err(Error::Unsupported("DELETE from several tables".into()));
        }
        let (info, alias) = self.target_table(&from[0].relation, "DELETE", "DELETE from")?;
        let target = if self.stmt.dml_with.is_some() {
            let with = self.stmt.dml_with.clone();
            Target::Joined(self.plan_joined(
                &info,
                JoinedParts {
                    with: with.as_ref(),
                    target: &from[0].relation,
                    alias: &alias,
                    from: &[],
                    selection: del.selection.as_ref(),
                    values: Vec::new(),
                },
                cacheable,
            )?)
        } else {
            Target::Scan(self.with_planner(cacheable, |p| {
                p.plan_table_scan(info.clone(), &alias, del.selection.as_ref())
            })?)
        };
        Ok(DeletePlan {
            returning: self.returning(&info, &del.returning, cacheable)?,
            info,
            target,
        })
    }

    fn returning(
        &mut self,
        info: &TableInfo,
        items: &Option<Vec<ast::SelectItem>>,
        cacheable: &mut bool,
    ) -> Result<Option<Returning>> {
        let Some(items) = items else { return Ok(None) };
        let scope = crate::sql::planner::table_scope(info, &info.def.name);
        let (exprs, columns) = self.with_planner(cacheable, |p| {
            p.push_scope(scope);
            let r = p.bind_select_items(items);
            p.pop_scope();
            r
        })?;
        Ok(Some(Returning {
            exprs,
            columns,
            rows: Vec::new(),
        }))
    }

    fn bind_upsert(
        &mut self,
        info: &Arc<TableInfo>,
        du: &ast::DoUpdate,
        cacheable: &mut bool,
    ) -> Result<UpsertAction> {
        let mut scope = crate::sql::planner::table_scope(info, &info.def.name);
        // `excluded.x` must be qualified; bare names mean the target table, as in SQLite
        // (also a bare `rowid`).
        scope.qualified_only_from = Some(scope.columns.len());
        scope.columns.extend(
            crate::sql::planner::table_scope(info, "excluded")
                .columns
                .into_iter()
                .map(|mut c| {
                    c.hidden = true;
                    c
                }),
        );
        let assignments = self.assignment_targets(info, &du.assignments)?;
        self.with_planner(cacheable, |p| {
            p.push_scope(scope);
            let r = (|| {
                let mut out = Vec::new();
                for (c, e) in assignments {
                    out.push((c, p.bind(e)?));
                }
                let w = du.selection.as_ref().map(|w| p.bind(w)).transpose()?;
                Ok((out, w))
            })();
            p.pop_scope();
            r
        })
    }
}
