//! Running statements: transactions, planning with the right schema, and dispatch to the
//! query, DML and DDL executors.
//!
//! A [`Session`] is one connection's state: its explicit transaction (or none: each statement
//! then runs in its own), the savepoints opened in it (`savepoint`), its counters and its
//! default time-travel point. A query is planned against the schema its snapshot sees, from
//! the statement's plan cache while that schema is unchanged; `CREATE TABLE ... AS SELECT`
//! (`ctas`) runs a query and a DDL statement together.

mod ctas;
mod savepoint;
mod vacuum;

pub use vacuum::VACUUM_IN_TRANSACTION;

use super::catalog::Schema;
use super::dml::SchemaKey;
use super::engine::{
    column_type, query_outcome, CachedPlan, Engine, Outcome, StmtEnv, StmtHistory,
};
use super::execution::{Executor, Reader};
use super::functions::FnEnv;
use super::parser::{Parsed, ParsedStatement};
use super::planner::{OutputColumn, Planner};
use super::value::Value;
use crate::error::{Error, RaiseAction, Result};
use crate::mvcc::{AsOf, Transaction, TxnMode};
use sqlparser::ast::{self, Statement};
use std::sync::Arc;

/// Bytes of a query's rows a cursor inside a transaction keeps in memory; the rest wait in a
/// temporary file (see [`Session::open_cursor`]).
const SPOOL_IN_MEMORY: usize = 4 << 20;

/// Per-connection state.
#[derive(Debug, Default)]
pub struct Session {
    /// The explicit transaction, if BEGIN was run. Boxed: each statement takes it out and
    /// puts it back, and a pointer moves for less than the transaction's few hundred bytes.
    pub txn: Option<Box<Transaction>>,
    /// The explicit transaction has changed the catalog.
    pub txn_ddl: bool,
    /// Rowid of the last successful INSERT.
    pub last_insert_rowid: i64,
    /// Rows changed by the last INSERT/UPDATE/DELETE.
    pub changes: i64,
    /// Rows changed since the connection opened.
    pub total_changes: i64,
    /// Transaction id of the last committed write transaction.
    pub last_txn_id: Option<u64>,
    /// Rowid allocation state of the current transaction.
    pub(super) rowids: super::dml::RowidAllocator,
    /// Cancellation and timeout of this connection's statements.
    pub limits: super::execution::StatementLimits,
    /// Where queries read every table that has no `AS OF` clause of its own (`None`: the
    /// current data). Statements that write are refused while it is set: a write always
    /// applies to the current data, so mixing it with reads of the past would mislead.
    pub default_as_of: Option<AsOf>,
    /// `PRAGMA foreign_keys = OFF` is in effect (foreign keys are enforced by default).
    pub foreign_keys_off: bool,
    /// Open savepoints, oldest first.
    pub savepoints: Vec<savepoint::UserSavepoint>,
    /// The connection's application-defined functions.
    pub functions: Arc<super::functions::user::UserFunctions>,
    /// How long this connection's transactions wait for the write lock (`PRAGMA
    /// busy_timeout`; `None`: the database's default).
    pub busy_timeout: Option<std::time::Duration>,
}

/// True for statements that never write.
pub fn is_read_only(stmt: &Parsed) -> bool {
    match stmt {
        Parsed::Sql(s) => matches!(
            s.as_ref(),
            Statement::Query(_) | Statement::Explain { .. } | Statement::Pragma { .. }
        ),
        Parsed::VacuumHistory | Parsed::Reindex(_) | Parsed::Pragma(_) => true,
        // A copy reads the database and writes only the new file.
        Parsed::Vacuum(into) => into.is_some(),
        Parsed::CreateTrigger(_) | Parsed::Analyze(_) => false,
    }
}

/// True for statements a read-only connection may run: reads, and transaction control
/// (a read-only transaction reads one consistent snapshot).
pub fn allowed_read_only(stmt: &Parsed) -> bool {
    match stmt {
        Parsed::VacuumHistory => false,
        // It writes the buffered commits into the tables: a change to the files.
        Parsed::Pragma(p) if p.name == "wal_checkpoint" => false,
        // Setting a header number is a write with the transaction.
        Parsed::Pragma(p)
            if p.arg.is_some() && (p.name == "user_version" || p.name == "application_id") =>
        {
            false
        }
        Parsed::Sql(s) => {
            is_read_only(stmt)
                || matches!(
                    s.as_ref(),
                    Statement::StartTransaction { .. }
                        | Statement::Commit { .. }
                        | Statement::Rollback { .. }
                        | Statement::Savepoint { .. }
                        | Statement::ReleaseSavepoint { .. }
                )
        }
        other => is_read_only(other),
    }
}

/// True for statements that change the catalog.
fn is_ddl(stmt: &Statement) -> bool {
    matches!(
        stmt,
        Statement::CreateTable(_)
            | Statement::CreateIndex(_)
            | Statement::CreateView(_)
            | Statement::Drop { .. }
            | Statement::DropTrigger(_)
            | Statement::AlterTable(_)
    )
}

impl Session {
    /// Executes one parsed statement.
    pub fn execute(
        &mut self,
        engine: &Engine,
        stmt: &ParsedStatement,
        params: &[Value],
    ) -> Result<Outcome> {
        check_param_count(stmt, params)?;
        self.limits.mark_start();
        let sql = match &stmt.statement {
            Parsed::VacuumHistory => return vacuum_history(engine),
            Parsed::Vacuum(into) => return self.vacuum(engine, into.as_deref(), params),
            Parsed::Reindex(name) => return self.reindex(engine, name.as_deref()),
            Parsed::CreateTrigger(_) | Parsed::Analyze(_) if self.default_as_of.is_some() => {
                return Err(writes_refused_as_of(self.default_as_of.as_ref()))
            }
            Parsed::CreateTrigger(ct) => {
                return self.in_transaction(engine, true, true, &mut |s, engine, txn, own_ddl| {
                    let _ = s;
                    let schema = engine.schema_for(txn, own_ddl)?;
                    super::ddl::create_trigger(txn, &schema, ct)?;
                    Ok(Outcome::default())
                })
            }
            Parsed::Analyze(target) => {
                return self.in_transaction(engine, true, true, &mut |_, engine, txn, own_ddl| {
                    let schema = engine.schema_for(txn, own_ddl)?;
                    super::ddl::analyze::analyze(txn, &schema, target.as_deref())?;
                    Ok(Outcome::default())
                })
            }
            Parsed::Pragma(p) if p.name == "foreign_keys" => {
                return self.foreign_keys_pragma(p.arg.as_deref())
            }
            Parsed::Pragma(p) if p.name == "busy_timeout" => {
                return Ok(self.busy_timeout_pragma(engine, p.arg.as_deref()))
            }
            Parsed::Pragma(p) if super::pragma_tuning::handles(&p.name) => {
                let in_transaction = self.txn.is_some();
                return super::pragma_tuning::run(
                    engine,
                    &p.name,
                    p.arg.as_deref(),
                    in_transaction,
                );
            }
            Parsed::Pragma(p) if p.name == "foreign_key_check" => {
                let table = p.arg.clone();
                return self.in_transaction(
                    engine,
                    false,
                    false,
                    &mut |s, engine, txn, own_ddl| {
                        s.foreign_key_check(engine, txn, own_ddl, stmt, params, table.as_deref())
                    },
                );
            }
            Parsed::Pragma(p) if p.name == "user_version" || p.name == "application_id" => {
                let set = p.arg.as_deref().map(super::pragma::user_version_value);
                return self.in_transaction(engine, set.is_some(), false, &mut |_, _, txn, _| {
                    super::pragma::header_number(txn, &p.name, set)
                });
            }
            Parsed::Pragma(p) => {
                return self.in_transaction(engine, false, false, &mut |_, engine, txn, own_ddl| {
                    let schema = engine.schema_for(txn, own_ddl)?;
                    super::pragma::run(engine, txn, &schema, p)
                })
            }
            Parsed::Sql(s) => s.as_ref(),
        };
        match sql {
            Statement::StartTransaction { modifier, .. } => {
                if self.txn.is_some() {
                    return Err(Error::Transaction(
                        "cannot start a transaction within a transaction".into(),
                    ));
                }
                let mode = match modifier {
                    Some(
                        ast::TransactionModifier::Immediate | ast::TransactionModifier::Exclusive,
                    ) => TxnMode::Immediate,
                    _ => TxnMode::Deferred,
                };
                self.txn = Some(Box::new(self.begin(engine, mode)?));
                self.txn_ddl = false;
                self.rowids = Default::default();
                Ok(Outcome::default())
            }
            Statement::Commit { .. } => {
                self.savepoints.clear();
                let txn = self.txn.take().ok_or_else(|| {
                    Error::Transaction("cannot commit - no transaction is active".into())
                })?;
                let ddl = std::mem::take(&mut self.txn_ddl);
                self.commit(engine, *txn, ddl)?;
                Ok(Outcome::default())
            }
            Statement::Rollback {
                savepoint: Some(name),
                ..
            } => self.rollback_to(&name.value),
            Statement::Rollback { .. } => {
                self.savepoints.clear();
                let txn = self.txn.take().ok_or_else(|| {
                    Error::Transaction("cannot rollback - no transaction is active".into())
                })?;
                self.txn_ddl = false;
                self.rowids = Default::default();
                txn.rollback();
                Ok(Outcome::default())
            }
            Statement::Savepoint { name } => self.savepoint(engine, &name.value),
            Statement::ReleaseSavepoint { name } => self.release(engine, &name.value),
            _ if self.default_as_of.is_some() && !is_read_only(&stmt.statement) => {
                Err(writes_refused_as_of(self.default_as_of.as_ref()))
            }
            _ => self.in_transaction(
                engine,
                !is_read_only(&stmt.statement),
                is_ddl(sql),
                &mut |s, engine, txn, own_ddl| s.dispatch(engine, txn, own_ddl, stmt, sql, params),
            ),
        }
    }

    /// `PRAGMA foreign_keys [= value]`: reads or sets enforcement for this connection. As in
    /// SQLite, setting it inside a transaction does nothing.
    fn foreign_keys_pragma(&mut self, arg: Option<&str>) -> Result<Outcome> {
        match arg {
            Some(v) => {
                let on = super::parser::pragma::boolean(v)?;
                if self.txn.is_none() {
                    self.foreign_keys_off = !on;
                }
                Ok(Outcome::default())
            }
            None => Ok(super::pragma::rows(
                &["foreign_keys"],
                vec![vec![Value::Integer(i64::from(!self.foreign_keys_off))]],
            )),
        }
    }

    /// `PRAGMA busy_timeout [= ms]`: how long this connection's transactions wait for
    /// another one's write lock before failing with `Busy`. As in SQLite, the value is read
    /// like `atoi`, a negative one means no wait, and the pragma returns the value in effect
    /// (as column `timeout`).
    fn busy_timeout_pragma(&mut self, engine: &Engine, arg: Option<&str>) -> Outcome {
        if let Some(v) = arg {
            let ms = super::pragma::user_version_value(v).max(0);
            self.busy_timeout = Some(std::time::Duration::from_millis(ms as u64));
        }
        let wait = self
            .busy_timeout
            .unwrap_or_else(|| engine.mvcc.busy_timeout());
        let ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
        super::pragma::rows(&["timeout"], vec![vec![Value::Integer(ms)]])
    }

    /// A context for DML the session runs on its own account rather than as a user's
    /// statement (no cached plan, no trigger running, no enclosing row): the INSERT of
    /// `CREATE TABLE ... AS`, the foreign-key actions of a DROP TABLE,
    /// `PRAGMA foreign_key_check`.
    fn internal_dml<'a, 'b>(
        &'a mut self,
        schema: Arc<Schema>,
        (params, env, stmt): (&'a [Value], &'a dyn FnEnv, &'a ParsedStatement),
        history: &'a mut StmtHistory<'b>,
        trigger_stack: &'a mut Vec<String>,
        foreign_keys: bool,
    ) -> super::dml::DmlContext<'a, 'b> {
        super::dml::DmlContext {
            schema,
            params,
            env,
            stmt,
            history,
            last_insert_rowid: None,
            rowids: &mut self.rowids,
            trigger_stack,
            outer: None,
            plan_key: None,
            limits: &self.limits,
            foreign_keys,
            cascade_depth: 0,
            nested_changes: 0,
        }
    }

    /// `PRAGMA foreign_key_check [(table)]`: the rows of `table` (of every table) whose
    /// foreign keys find no parent row (see `dml::foreign_key_check`).
    fn foreign_key_check(
        &mut self,
        engine: &Engine,
        txn: &mut Transaction,
        own_ddl: bool,
        stmt: &ParsedStatement,
        params: &[Value],
        table: Option<&str>,
    ) -> Result<Outcome> {
        let schema = engine.schema_for(txn, own_ddl)?;
        let tables: Vec<Arc<super::catalog::TableInfo>> = match table {
            Some(name) => vec![schema
                .table(name)
                .cloned()
                .ok_or_else(|| Error::NoSuchTable(name.to_string()))?],
            None => {
                let mut all: Vec<_> = schema.tables.values().cloned().collect();
                all.sort_by_key(|t| t.def.id);
                all
            }
        };
        let env = self.env(engine);
        let mut history = StmtHistory::new(engine);
        let mut stack = Vec::new();
        let parts = (params, &env as &dyn FnEnv, stmt);
        let ctx = self.internal_dml(schema, parts, &mut history, &mut stack, true);
        let rows = ctx.foreign_key_check(txn, &tables)?;
        Ok(super::pragma::rows(
            &["table", "rowid", "parent", "fkid"],
            rows,
        ))
    }

    /// Starts a transaction that waits for the write lock as this connection's busy timeout
    /// says.
    pub(super) fn begin(&self, engine: &Engine, mode: TxnMode) -> Result<Transaction> {
        match self.busy_timeout {
            Some(wait) => engine.mvcc.begin_waiting(mode, wait),
            None => engine.mvcc.begin(mode),
        }
    }

    /// Runs `f` in the explicit transaction, or in an autocommit one, with statement-level
    /// atomicity.
    fn in_transaction(
        &mut self,
        engine: &Engine,
        writes: bool,
        ddl: bool,
        f: &mut dyn FnMut(&mut Self, &Engine, &mut Transaction, bool) -> Result<Outcome>,
    ) -> Result<Outcome> {
        if let Some(mut txn) = self.txn.take() {
            let own_ddl = self.txn_ddl;
            let r = self.run_in(engine, &mut txn, own_ddl, writes, f);
            if r.is_err() {
                // The statement's rows were taken back: so are the rowids it handed out (the
                // next automatic rowid is again one past the largest in the table).
                self.rowids = Default::default();
            }
            if raised(&r, RaiseAction::Rollback) {
                // RAISE(ROLLBACK) ends the transaction, as ROLLBACK would.
                self.savepoints.clear();
                self.txn_ddl = false;
                self.rowids = Default::default();
                txn.rollback();
                return r;
            }
            if (r.is_ok() || raised(&r, RaiseAction::Fail)) && ddl {
                self.txn_ddl = true;
            }
            self.txn = Some(txn);
            r
        } else {
            let mode = if writes {
                TxnMode::Immediate
            } else {
                TxnMode::ReadOnly
            };
            let mut txn = self.begin(engine, mode)?;
            // The statement's failure ends its transaction: no undo log to keep.
            txn.forgo_partial_rollback();
            self.rowids = Default::default();
            let out = self.run_in(engine, &mut txn, false, writes, f);
            self.rowids = Default::default();
            if raised(&out, RaiseAction::Fail) {
                // The statement's changes before RAISE(FAIL) stay, so they are committed.
                self.commit(engine, txn, ddl)?;
                return out;
            }
            let out = out?;
            self.commit(engine, txn, ddl)?;
            Ok(out)
        }
    }

    /// The result columns a query would have, found by planning it (nothing is executed).
    pub fn describe(
        &self,
        engine: &Engine,
        stmt: &ParsedStatement,
        params: &[Value],
    ) -> Result<Vec<String>> {
        let cols = self.planned_columns(engine, stmt, params)?;
        Ok(cols.into_iter().map(|c| c.name).collect())
    }

    /// The output columns of a query, planned at the newest point and never run; empty for
    /// other statements.
    fn planned_columns(
        &self,
        engine: &Engine,
        stmt: &ParsedStatement,
        params: &[Value],
    ) -> Result<Vec<OutputColumn>> {
        let Parsed::Sql(sql) = &stmt.statement else {
            return Ok(Vec::new());
        };
        let Statement::Query(q) = sql.as_ref() else {
            return Ok(Vec::new());
        };
        let txn = engine.mvcc.begin(TxnMode::ReadOnly)?;
        let schema = engine.schema_for(&txn, false)?;
        let env = self.env(engine);
        let mut history = StmtHistory::new(engine);
        let mut planner = Planner::new(schema, &mut history, params, &env, stmt);
        Ok(planner.plan_query(q)?.1)
    }

    /// The type group of each result column of a query, planned and never run (see
    /// [`Outcome::column_types`]); empty for other statements.
    pub fn describe_types(
        &self,
        engine: &Engine,
        stmt: &ParsedStatement,
        params: &[Value],
    ) -> Result<Vec<Option<&'static str>>> {
        let cols = self.planned_columns(engine, stmt, params)?;
        Ok(cols.iter().map(column_type).collect())
    }

    /// The plan of a query: the statement's cached plan while its schema and time-travel
    /// points still hold, or a new one (cached when it can be).
    #[allow(clippy::too_many_arguments)]
    fn query_plan(
        &self,
        engine: &Engine,
        txn: &Transaction,
        own_ddl: bool,
        stmt: &ParsedStatement,
        q: &ast::Query,
        params: &[Value],
        env: &StmtEnv,
        history: &mut StmtHistory<'_>,
    ) -> Result<(Arc<super::plan::Plan>, Vec<OutputColumn>)> {
        let point = (!own_ddl).then(|| engine.schemas.ddl_point(txn.snapshot_scn()));
        // A plan made under a default time-travel point reads at that point: never cached,
        // and a cached plan (which reads current data) is not used for it.
        let cached = stmt
            .plan_cache
            .get::<CachedPlan>()
            .filter(|c| Some(c.ddl_point) == point && self.default_as_of.is_none());
        let reuse = match &cached {
            Some(c) => history.replay(c, params, env)?,
            None => false,
        };
        if let (Some(c), true) = (&cached, reuse) {
            return Ok((c.plan.clone(), c.columns.clone()));
        }
        let schema = engine.schema_for(txn, own_ddl)?;
        let mut planner = Planner::new(schema, history, params, env, stmt);
        if let Some(p) = &self.default_as_of {
            planner.read_tables_at(p.clone());
        }
        let (plan, cols) = planner.plan_query(q)?;
        let plan = Arc::new(plan);
        let time_travel = std::mem::take(&mut planner.time_travel);
        let cacheable = planner.cacheable;
        drop(planner);
        if let (Some(ddl_point), true) = (point, cacheable) {
            let time_travel_points = history
                .snapshots
                .iter()
                .map(|s| engine.schemas.ddl_point(s.scn()))
                .collect();
            stmt.plan_cache.set(Arc::new(CachedPlan {
                ddl_point,
                plan: plan.clone(),
                columns: cols.clone(),
                time_travel,
                time_travel_points,
            }));
        }
        Ok((plan, cols))
    }

    /// Whether [`Session::open_cursor`] may stream `stmt` (a query); callers skip it, and
    /// the session lock it needs, for everything else.
    pub fn may_stream(stmt: &ParsedStatement) -> bool {
        matches!(&stmt.statement, Parsed::Sql(sql) if matches!(sql.as_ref(), Statement::Query(_)))
    }

    /// Opens a query as a cursor that streams its rows, with its result columns as
    /// [`Outcome`] describes them (no rows). `None` for anything else: run those with
    /// [`Session::execute`]. A query inside an explicit transaction (which reads the
    /// transaction's own writes) runs to its end now and the cursor reads its spooled rows.
    pub fn open_cursor(
        &mut self,
        engine: &Engine,
        stmt: &ParsedStatement,
        params: &[Value],
    ) -> Result<Option<(super::cursor::Cursor, Outcome)>> {
        let Parsed::Sql(sql) = &stmt.statement else {
            return Ok(None);
        };
        let Statement::Query(q) = sql.as_ref() else {
            return Ok(None);
        };
        check_param_count(stmt, params)?;
        self.limits.mark_start();
        if self.txn.is_some() {
            return self.spooled_query(engine, stmt, q, params).map(Some);
        }
        let txn = engine.mvcc.begin(TxnMode::ReadOnly)?;
        let env = self.env(engine);
        let mut history = StmtHistory::new(engine);
        let (plan, cols) =
            self.query_plan(engine, &txn, false, stmt, q, params, &env, &mut history)?;
        let cursor = super::cursor::Cursor::open(super::cursor::QueryParts {
            txn,
            snapshots: std::mem::take(&mut history.snapshots),
            params: params.to_vec(),
            env,
            plan,
            limits: self.limits.clone(),
        })?;
        Ok(Some((cursor, query_outcome(cols, Vec::new()))))
    }

    /// Plans query `q` and runs it in `txn` with `run` (which collects or spools the rows);
    /// returns what `run` made of the rows and the result columns.
    #[allow(clippy::too_many_arguments)]
    fn run_query<T>(
        &self,
        engine: &Engine,
        txn: &Transaction,
        own_ddl: bool,
        stmt: &ParsedStatement,
        q: &ast::Query,
        params: &[Value],
        run: impl FnOnce(&Executor<'_>, &super::plan::Plan) -> Result<T>,
    ) -> Result<(T, Vec<OutputColumn>)> {
        let env = self.env(engine);
        let mut history = StmtHistory::new(engine);
        let (plan, cols) =
            self.query_plan(engine, txn, own_ddl, stmt, q, params, &env, &mut history)?;
        let reader = Reader {
            txn,
            snapshots: &history.snapshots,
        };
        let ex = Executor::new(Some(reader), params, &env).with_limits(&self.limits);
        Ok((run(&ex, &plan)?, cols))
    }

    /// Runs query `q` in the explicit transaction, its rows past [`SPOOL_IN_MEMORY`] bytes
    /// going to a temporary file, and returns a cursor over them.
    fn spooled_query(
        &mut self,
        engine: &Engine,
        stmt: &ParsedStatement,
        q: &ast::Query,
        params: &[Value],
    ) -> Result<(super::cursor::Cursor, Outcome)> {
        let mut spool = None;
        let out = self.in_transaction(engine, false, false, &mut |s, engine, txn, own_ddl| {
            let (rows, cols) = s.run_query(engine, txn, own_ddl, stmt, q, params, |ex, plan| {
                ex.run_spooled(plan, SPOOL_IN_MEMORY)
            })?;
            spool = Some(rows);
            Ok(query_outcome(cols, Vec::new()))
        })?;
        let spool = spool.ok_or_else(|| Error::invalid("the query produced no result"))?;
        Ok((super::cursor::Cursor::spooled(spool), out))
    }

    fn reindex(&mut self, engine: &Engine, name: Option<&str>) -> Result<Outcome> {
        if let Some(n) = name {
            let txn = engine.mvcc.begin(TxnMode::ReadOnly)?;
            let schema = match &self.txn {
                Some(t) => engine.schema_for(t, self.txn_ddl)?,
                None => engine.schema_for(&txn, false)?,
            };
            if schema.table(n).is_none() && !schema.indexes.contains_key(&n.to_lowercase()) {
                return Err(Error::invalid(format!(
                    "unable to identify the object to be reindexed: {n}"
                )));
            }
        }
        Ok(Outcome::default())
    }

    pub(super) fn commit(&mut self, engine: &Engine, txn: Transaction, ddl: bool) -> Result<()> {
        if ddl && txn.has_writes() {
            // The commit will get the next SCN (we hold the write lock); register it as a
            // schema change before any reader can see it.
            engine.schemas.add_ddl_point(engine.mvcc.assigned_scn() + 1);
        }
        if let Some(info) = txn.commit()? {
            self.last_txn_id = Some(info.txid);
        }
        Ok(())
    }

    fn env(&self, engine: &Engine) -> StmtEnv {
        StmtEnv {
            mvcc: engine.mvcc.clone(),
            now_us: std::cell::OnceCell::new(),
            last_txn_id: self.last_txn_id,
            last_insert_rowid: self.last_insert_rowid,
            changes: self.changes,
            total_changes: self.total_changes,
            functions: self.functions.clone(),
            deterministic_calls: Default::default(),
        }
    }

    /// Runs a statement inside `txn` with statement-level atomicity.
    fn run_in(
        &mut self,
        engine: &Engine,
        txn: &mut Transaction,
        own_ddl: bool,
        writes: bool,
        f: &mut dyn FnMut(&mut Self, &Engine, &mut Transaction, bool) -> Result<Outcome>,
    ) -> Result<Outcome> {
        if writes {
            txn.ensure_writable()?;
        }
        let sp = txn.savepoint();
        let r = f(self, engine, txn, own_ddl);
        // RAISE(FAIL) stops the statement but keeps what it changed before, as SQLite does.
        let keep = r.is_ok() || raised(&r, RaiseAction::Fail);
        match keep {
            // An open SAVEPOINT needs the undo log of the statements after it.
            true if self.savepoints.is_empty() => txn.release_savepoints(),
            true => {}
            false => txn.rollback_to(sp),
        }
        txn.statement_ended();
        r
    }

    fn dispatch(
        &mut self,
        engine: &Engine,
        txn: &mut Transaction,
        own_ddl: bool,
        stmt: &ParsedStatement,
        sql: &Statement,
        params: &[Value],
    ) -> Result<Outcome> {
        if let Statement::Query(q) = sql {
            let (rows, cols) =
                self.run_query(engine, txn, own_ddl, stmt, q, params, |ex, plan| {
                    ex.run(plan, None)
                })?;
            return Ok(query_outcome(cols, rows));
        }
        let schema = engine.schema_for(txn, own_ddl)?;
        let env = self.env(engine);
        let mut history = StmtHistory::new(engine);
        match sql {
            Statement::Explain {
                statement, analyze, ..
            } => {
                let Statement::Query(q) = statement.as_ref() else {
                    return Err(Error::Unsupported(
                        "EXPLAIN of statements other than queries".into(),
                    ));
                };
                let mut planner = Planner::new(schema, &mut history, params, &env, stmt);
                if let Some(p) = &self.default_as_of {
                    planner.read_tables_at(p.clone());
                }
                let (plan, _) = planner.plan_query(q)?;
                let lines = if *analyze {
                    // Run it (rows read and dropped), then describe what each node did.
                    let profile = super::execution::Profile::default();
                    let reader = Reader {
                        txn,
                        snapshots: &history.snapshots,
                    };
                    let started = std::time::Instant::now();
                    let ex = Executor::new(Some(reader), params, &env)
                        .with_limits(&self.limits)
                        .with_profile(&profile);
                    let rows = ex.run(&plan, None)?;
                    let mut lines =
                        super::explain::explain_analyzed(&plan, &history.snapshots, &profile);
                    lines.push(format!(
                        "-- {} rows in {:.3} ms; operators held at most {} KiB, spill files: {}",
                        rows.len(),
                        started.elapsed().as_secs_f64() * 1e3,
                        ex.memory().peak().div_ceil(1024),
                        ex.memory().spill_files(),
                    ));
                    lines
                } else {
                    super::explain::explain(&plan, &history.snapshots)
                };
                Ok(Outcome {
                    columns: vec!["plan".into()],
                    rows: lines.into_iter().map(|l| vec![Value::Text(l)]).collect(),
                    changes: 0,
                    returns_rows: true,
                    temporal: Vec::new(),
                    column_types: Vec::new(),
                })
            }
            Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) => {
                let parts = DmlParts {
                    schema,
                    env: &env,
                    history: &mut history,
                };
                self.run_dml(engine, txn, own_ddl, stmt, params, parts, |ctx, txn| {
                    ctx.run(txn, sql)
                })
            }
            Statement::CreateTable(ct) if ct.query.is_some() => {
                let query = ct.query.as_deref().expect("checked");
                self.create_table_as(engine, txn, &schema, stmt, ct, query, params, &env)
            }
            s if is_ddl(s) => {
                if let Statement::Drop {
                    object_type: ast::ObjectType::Table,
                    names,
                    ..
                } = s
                {
                    let deleted =
                        self.empty_for_drop(engine, txn, &schema, stmt, names, params, &env)?;
                    super::ddl::run(engine, txn, &schema, stmt, s, &env, &self.limits)?;
                    self.total_changes += deleted as i64;
                    return Ok(Outcome::default());
                }
                super::ddl::run(engine, txn, &schema, stmt, s, &env, &self.limits)?;
                Ok(Outcome::default())
            }
            other => Err(Error::Unsupported(format!(
                "statement {}",
                statement_kind(other)
            ))),
        }
    }
}

/// What a DML statement runs with besides the session: the schema it was bound against,
/// its functions and its time-travel points.
struct DmlParts<'a, 'e> {
    schema: Arc<Schema>,
    env: &'a StmtEnv,
    history: &'a mut StmtHistory<'e>,
}

impl Session {
    /// Runs an INSERT, UPDATE or DELETE through `run` with a context over this session's
    /// rowids, limits and foreign-key setting, then records its changes and last rowid.
    #[allow(clippy::too_many_arguments)]
    fn run_dml(
        &mut self,
        engine: &Engine,
        txn: &mut Transaction,
        own_ddl: bool,
        stmt: &ParsedStatement,
        params: &[Value],
        parts: DmlParts<'_, '_>,
        run: impl FnOnce(&mut super::dml::DmlContext<'_, '_>, &mut Transaction) -> Result<Outcome>,
    ) -> Result<Outcome> {
        let plan_key = Some(if own_ddl {
            SchemaKey::Kept(parts.schema.clone())
        } else {
            SchemaKey::Committed(engine.schemas.ddl_point(txn.snapshot_scn()))
        });
        let mut ctx = super::dml::DmlContext {
            schema: parts.schema,
            params,
            env: parts.env,
            stmt,
            history: parts.history,
            last_insert_rowid: None,
            rowids: &mut self.rowids,
            trigger_stack: &mut Vec::new(),
            outer: None,
            plan_key,
            limits: &self.limits,
            foreign_keys: !self.foreign_keys_off,
            cascade_depth: 0,
            nested_changes: 0,
        };
        let out = run(&mut ctx, txn)?;
        let last = ctx.last_insert_rowid;
        let nested = ctx.nested_changes;
        if let Some(r) = last {
            self.last_insert_rowid = r;
        }
        self.changes = out.changes as i64;
        self.total_changes += (out.changes + nested) as i64;
        Ok(out)
    }

    /// Inserts `rows` with `stmt`, an `INSERT INTO t VALUES (?1, ..., ?n)` with a placeholder
    /// per column, as one statement: the bulk path of [`crate::Appender`]. Inside the
    /// session's transaction if one is open, else in a transaction of its own. The rows are
    /// taken only once the statement runs: when its transaction cannot begin (the write lock
    /// stays busy), they are still in `rows`.
    pub fn insert_rows(
        &mut self,
        engine: &Engine,
        stmt: &ParsedStatement,
        rows: &mut Vec<Vec<Value>>,
    ) -> Result<Outcome> {
        self.limits.mark_start();
        if self.default_as_of.is_some() {
            return Err(writes_refused_as_of(self.default_as_of.as_ref()));
        }
        let Parsed::Sql(sql) = &stmt.statement else {
            return Err(Error::invalid(
                "a row source for a statement other than INSERT",
            ));
        };
        let sql = sql.as_ref();
        self.in_transaction(engine, true, false, &mut |s, engine, txn, own_ddl| {
            let rows = std::mem::take(rows);
            let schema = engine.schema_for(txn, own_ddl)?;
            let env = s.env(engine);
            let mut history = StmtHistory::new(engine);
            let parts = DmlParts {
                schema,
                env: &env,
                history: &mut history,
            };
            s.run_dml(engine, txn, own_ddl, stmt, &[], parts, |ctx, txn| {
                ctx.run_rows(txn, sql, rows)
            })
        })
    }

    /// `DROP TABLE` deletes the rows of each table first when foreign keys are enforced, so
    /// that the foreign keys referencing it act (cascade, set null...) or refuse, as in SQLite.
    /// Returns the rows changed, which `total_changes()` counts.
    #[allow(clippy::too_many_arguments)]
    fn empty_for_drop(
        &mut self,
        engine: &Engine,
        txn: &mut Transaction,
        schema: &Arc<Schema>,
        stmt: &ParsedStatement,
        names: &[ast::ObjectName],
        params: &[Value],
        env: &StmtEnv,
    ) -> Result<u64> {
        if self.foreign_keys_off {
            return Ok(0);
        }
        let mut deleted = 0;
        let mut history = StmtHistory::new(engine);
        for n in names {
            let Some(info) = schema.table(&super::planner::table_name(n)?).cloned() else {
                continue; // the drop reports it
            };
            let mut stack = Vec::new();
            let parts = (params, env as &dyn FnEnv, stmt);
            let mut ctx = self.internal_dml(schema.clone(), parts, &mut history, &mut stack, true);
            ctx.empty_for_drop(txn, &info)?;
            deleted += ctx.nested_changes;
        }
        Ok(deleted)
    }
}

/// True if `r` is the error of a trigger's `RAISE(action, ...)`.
fn raised<T>(r: &Result<T>, action: RaiseAction) -> bool {
    matches!(r, Err(Error::Raised { action: a, .. }) if *a == action)
}

/// The error for a write while a default time-travel point is set.
fn writes_refused_as_of(point: Option<&AsOf>) -> Error {
    let point = point.map(|p| p.to_string()).unwrap_or_default();
    Error::invalid(format!(
        "cannot write while queries read AS OF {point} by default: writes apply to the \
         current data; clear the default time-travel point first"
    ))
}

fn statement_kind(s: &Statement) -> String {
    let text = s.to_string();
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn check_param_count(stmt: &ParsedStatement, params: &[Value]) -> Result<()> {
    if params.len() != stmt.param_count {
        return Err(Error::Parameter(format!(
            "statement has {} parameter(s) but {} value(s) were supplied",
            stmt.param_count,
            params.len()
        )));
    }
    Ok(())
}

fn vacuum_history(engine: &Engine) -> Result<Outcome> {
    let r = engine.mvcc.gc()?;
    Ok(Outcome {
        columns: vec![
            "snapshots_removed".into(),
            "versions_removed".into(),
            "bytes_removed".into(),
            "oldest_scn".into(),
            "elapsed_ms".into(),
        ],
        rows: vec![vec![
            Value::Integer(r.snapshots_removed as i64),
            Value::Integer(r.versions_removed as i64),
            Value::Integer(r.bytes_removed as i64),
            Value::Integer(r.new_horizon as i64),
            Value::Real(r.elapsed_us as f64 / 1000.0),
        ]],
        changes: 0,
        returns_rows: true,
        temporal: Vec::new(),
        column_types: Vec::new(),
    })
}
