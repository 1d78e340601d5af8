//! What every statement runs against: the shared [`Engine`] (the versioned store and the
//! schemas by DDL point), the function environment of one statement ([`StmtEnv`]), the
//! resolution of its time-travel clauses to pinned snapshots ([`StmtHistory`]), the cached
//! form of a bound query ([`CachedPlan`]) and the [`Outcome`] every statement returns.
//!
//! It sits above the planner and the executor (it binds and evaluates stored DEFAULT
//! expressions with them) and below the statement runners (`dml`, `ddl`, `pragma`, `session`),
//! which share these types without depending on each other.

use super::catalog::{load_schema, IndexDef, Schema, SchemaCache, TableDef, TableInfo};
use super::codec;
use super::execution::computed::{split_and, BoundIndex, GeneratedColumns};
use super::execution::Row;
use super::functions::user::{DeterministicCalls, UserFnId, UserFunctions};
use super::functions::FnEnv;
use super::parser::{parse_expr, ParsedStatement};
use super::plan::Source;
use super::planner::{History, OutputColumn, Planner};
use super::value::Value;
use crate::error::{Error, HistoryPoint, Result};
use crate::mvcc::{AsOf, Mvcc, Snapshot, Transaction};
use crate::storage::{prefix_range, Direction};
use std::sync::Arc;

/// The shared engine behind every connection to one database.
#[derive(Debug)]
pub struct Engine {
    /// Versioned storage.
    pub mvcc: Mvcc,
    /// Schemas by DDL point.
    pub schemas: SchemaCache,
    /// The database directory (`None` in memory): what `PRAGMA database_list` names.
    pub path: Option<std::path::PathBuf>,
}

impl Drop for Engine {
    /// The last connection is gone: the background thread stops now, so the storage (and
    /// the database directory's lock) is released when this returns, not when a background
    /// pack build ends.
    fn drop(&mut self) {
        self.mvcc.close_background();
    }
}

impl Engine {
    /// Wraps an opened MVCC store, discovering the SCNs at which the catalog changed.
    pub fn new(mvcc: Mvcc) -> Result<Self> {
        let points = mvcc.change_points(codec::CATALOG_PREFIX)?;
        Ok(Self {
            mvcc,
            schemas: SchemaCache::new(points),
            path: None,
        })
    }

    /// The same engine, naming `path` as its database directory.
    pub fn at_path(mut self, path: std::path::PathBuf) -> Self {
        self.path = Some(path);
        self
    }

    /// The committed schema as of `scn`, read through `scan` on a miss.
    pub(crate) fn schema_at(
        &self,
        scn: u64,
        txn: Option<&Transaction>,
        snap: Option<&Snapshot>,
    ) -> Result<Arc<Schema>> {
        self.schemas.get_or_load(scn, || match (txn, snap) {
            (Some(t), _) => bind_schema(load_schema(
                t.scan(prefix_range(codec::CATALOG_PREFIX), Direction::Forward),
            )?),
            (None, Some(s)) => bind_schema(load_schema(
                s.scan(prefix_range(codec::CATALOG_PREFIX), Direction::Forward),
            )?),
            (None, None) => Ok(Schema::default()),
        })
    }

    /// The schema a transaction sees (its own DDL included).
    pub fn schema_for(&self, txn: &Transaction, own_ddl: bool) -> Result<Arc<Schema>> {
        if own_ddl {
            // Read and parsed again only when the transaction has written a catalog entry
            // (or rolled back a statement) since: a load into a table created in the same
            // transaction otherwise parses the catalog's JSON for every row.
            if let Some(schema) = txn.derived::<Schema>() {
                return Ok(schema);
            }
            let schema = Arc::new(bind_schema(load_schema(
                txn.scan(prefix_range(codec::CATALOG_PREFIX), Direction::Forward),
            )?)?);
            txn.set_derived(schema.clone());
            Ok(schema)
        } else {
            self.schema_at(txn.snapshot_scn(), Some(txn), None)
        }
    }
}

/// A query plan bound against the schema of one DDL point (kept in the statement's
/// `plan_cache`).
#[derive(Debug, Clone)]
pub struct CachedPlan {
    /// SCN of the catalog change the plan's schema reflects.
    pub ddl_point: u64,
    /// The plan.
    pub plan: Arc<super::plan::Plan>,
    /// Its output columns.
    pub columns: Vec<OutputColumn>,
    /// Time-travel clauses (mode, point expression), one per snapshot of the plan.
    pub time_travel: Vec<(super::parser::TimeTravelMode, super::plan::Expr)>,
    /// The DDL point of each of those snapshots when the plan was bound.
    pub time_travel_points: Vec<u64>,
}

/// The result of one statement.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Result column names (empty for statements without a result set).
    pub columns: Vec<String>,
    /// Per result column: a plain reference to a DATE, DATETIME or TIMESTAMP column (empty
    /// when no column is).
    pub temporal: Vec<bool>,
    /// Result rows.
    pub rows: Vec<Row>,
    /// Rows inserted, updated or deleted.
    pub changes: u64,
    /// The statement returns rows (a query, RETURNING, EXPLAIN, PRAGMA).
    pub returns_rows: bool,
    /// Per result column: the type group of a plain column reference, by its declared
    /// type's affinity (`INTEGER`, `REAL`, `NUMERIC`, `TEXT`, `BLOB`, `DECIMAL`, or
    /// `TIMESTAMP` for DATE / DATETIME / TIMESTAMP columns); `None` for computed columns
    /// (empty when no column is a plain reference).
    pub column_types: Vec<Option<&'static str>>,
}

/// Function environment of one statement.
pub(crate) struct StmtEnv {
    /// The store (a shared handle: an open cursor keeps its own).
    pub mvcc: Mvcc,
    /// Statement time, read from the clock on first use (most statements never ask).
    pub now_us: std::cell::OnceCell<i64>,
    pub last_txn_id: Option<u64>,
    pub last_insert_rowid: i64,
    pub changes: i64,
    pub total_changes: i64,
    /// The connection's application-defined functions.
    pub functions: Arc<UserFunctions>,
    /// Results of deterministic ones already called in this statement.
    pub deterministic_calls: DeterministicCalls,
}

impl FnEnv for StmtEnv {
    fn now_micros(&self) -> i64 {
        *self
            .now_us
            .get_or_init(|| self.mvcc.options().clock.now_micros())
    }
    fn current_scn(&self) -> u64 {
        self.mvcc.latest_scn()
    }
    fn last_txn_id(&self) -> Option<u64> {
        self.last_txn_id
    }
    fn scn_to_timestamp(&self, scn: u64) -> Result<i64> {
        self.mvcc.resolve(&AsOf::Scn(scn))?;
        self.mvcc
            .point(scn)
            .map(|p| p.commit_time_us)
            .filter(|_| scn > 0)
            .ok_or_else(|| Error::invalid(format!("SCN {scn} has no commit time")))
    }
    fn timestamp_to_scn(&self, ts: i64) -> Result<u64> {
        self.mvcc.resolve(&AsOf::Timestamp(ts))
    }
    fn last_insert_rowid(&self) -> i64 {
        self.last_insert_rowid
    }
    fn changes(&self) -> i64 {
        self.changes
    }
    fn total_changes(&self) -> i64 {
        self.total_changes
    }
    fn stored_default(&self, text: &str) -> Result<Value> {
        eval_default_text(text, self)
    }
    fn user_function(&self, name: &str, nargs: usize) -> Result<Option<UserFnId>> {
        if self.functions.is_empty() {
            return Ok(None);
        }
        match self.functions.resolve(name, nargs) {
            Some(id) => Ok(Some(id)),
            // Defined for other counts only, and not a built-in either: say so, as SQLite.
            None if self.functions.has_name(name)
                && super::functions::ScalarFn::from_name(name).is_none() =>
            {
                Err(Error::invalid(format!(
                    "wrong number of arguments to function {name}()"
                )))
            }
            None => Ok(None),
        }
    }
    fn call_user_function(&self, id: UserFnId, args: &[Value]) -> Result<Value> {
        self.deterministic_calls.call(&self.functions, id, args)
    }
}

/// An environment without the connection's application-defined functions (the trait's
/// default), for stored expressions.
struct WithoutUserFunctions<'a>(&'a dyn FnEnv);

impl FnEnv for WithoutUserFunctions<'_> {
    fn now_micros(&self) -> i64 {
        self.0.now_micros()
    }
    fn current_scn(&self) -> u64 {
        self.0.current_scn()
    }
    fn last_txn_id(&self) -> Option<u64> {
        self.0.last_txn_id()
    }
    fn scn_to_timestamp(&self, scn: u64) -> Result<i64> {
        self.0.scn_to_timestamp(scn)
    }
    fn timestamp_to_scn(&self, ts: i64) -> Result<u64> {
        self.0.timestamp_to_scn(ts)
    }
    fn last_insert_rowid(&self) -> i64 {
        self.0.last_insert_rowid()
    }
    fn changes(&self) -> i64 {
        self.0.changes()
    }
    fn total_changes(&self) -> i64 {
        self.0.total_changes()
    }
    fn stored_default(&self, text: &str) -> Result<Value> {
        self.0.stored_default(text)
    }
}

/// A do-nothing environment for evaluating stored defaults and constraints outside statements.
pub(crate) struct ClockOnly(pub i64);

impl FnEnv for ClockOnly {
    fn now_micros(&self) -> i64 {
        self.0
    }
    fn current_scn(&self) -> u64 {
        0
    }
    fn last_txn_id(&self) -> Option<u64> {
        None
    }
    fn scn_to_timestamp(&self, _: u64) -> Result<i64> {
        Err(Error::invalid("scn_to_timestamp() is not allowed here"))
    }
    fn timestamp_to_scn(&self, _: i64) -> Result<u64> {
        Err(Error::invalid("timestamp_to_scn() is not allowed here"))
    }
    fn last_insert_rowid(&self) -> i64 {
        0
    }
    fn changes(&self) -> i64 {
        0
    }
    fn stored_default(&self, text: &str) -> Result<Value> {
        eval_default_text(text, self)
    }
}

/// Binds SQL text (a CHECK, a generated column, an index expression) against a table's
/// columns.
pub fn bind_table_expr(def: &TableDef, text: &str) -> Result<super::plan::Expr> {
    let e = parse_expr(text)?;
    let info = TableInfo {
        def: def.clone(),
        indexes: Vec::new(),
        triggers: Vec::new(),
        derived: Default::default(),
    };
    let env = ClockOnly(0);
    let stmt = ParsedStatement::placeholder();
    let mut none = NoHistory;
    let mut p = Planner::new(Arc::new(Schema::default()), &mut none, &[], &env, &stmt);
    p.bind_in_scope(super::planner::table_scope(&info, &def.name), &e)
}

/// Binds what the schema's definitions compute (generated columns, index expressions and
/// conditions) into their `Derived` slots, which the executor reads (`execution::computed`).
pub fn bind_schema(schema: Schema) -> Result<Schema> {
    for info in schema.tables.values() {
        if info.def.columns.iter().any(|c| c.generated.is_some()) {
            info.derived.set(Arc::new(bind_generated(&info.def)?));
        }
        for ix in info.indexes.iter().filter(|ix| ix.is_computed()) {
            ix.bound.set(Arc::new(bind_index(&info.def, ix)?));
        }
    }
    Ok(schema)
}

/// Refuses in a stored expression what SQLite refuses there (`place`: "generated columns",
/// "index expressions", "partial index WHERE clauses"): subqueries, non-deterministic
/// functions, aggregates.
fn check_stored_expr(e: &super::plan::Expr, place: &str) -> Result<()> {
    use super::plan::Expr;
    let mut problem = None;
    e.walk(&mut |x| match x {
        Expr::Exists { .. } | Expr::ScalarSubquery(_) | Expr::InSubquery { .. } => {
            problem = Some(format!("subqueries prohibited in {place}"))
        }
        Expr::Function(f, _) if !f.is_deterministic() => {
            problem = Some(format!("non-deterministic functions prohibited in {place}"))
        }
        Expr::Aggregate { .. } | Expr::Window(_) => {
            problem = Some(format!("misuse of aggregate function in {place}"))
        }
        _ => {}
    });
    match problem {
        Some(p) => Err(Error::invalid(p)),
        None => Ok(()),
    }
}

/// Binds the generated columns of `def` against its columns, refusing what SQLite refuses:
/// unknown columns, a column that reads itself (directly or through others), subqueries and
/// non-deterministic functions. The result lists them in the order they are computed.
pub fn bind_generated(def: &TableDef) -> Result<GeneratedColumns> {
    use super::plan::Expr;
    let ncols = def.columns.len();
    let mut bound: Vec<Option<(Expr, Vec<usize>)>> = vec![None; ncols];
    for (i, c) in def.columns.iter().enumerate() {
        let Some(g) = &c.generated else { continue };
        let e = bind_table_expr(def, &g.expr)?;
        check_stored_expr(&e, "generated columns")?;
        let mut reads = Vec::new();
        e.walk(&mut |x| {
            if let Expr::Column(j) = x {
                if *j < ncols && def.columns[*j].generated.is_some() {
                    reads.push(*j);
                }
            }
        });
        bound[i] = Some((e, reads));
    }
    // Depth-first order; meeting a column still being visited is a loop.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Visiting,
        Done,
    }
    fn visit(
        i: usize,
        def: &TableDef,
        bound: &[Option<(Expr, Vec<usize>)>],
        marks: &mut [Mark],
        order: &mut Vec<(usize, Expr, bool)>,
    ) -> Result<()> {
        match marks[i] {
            Mark::Done => return Ok(()),
            Mark::Visiting => {
                return Err(Error::invalid(format!(
                    "generated column loop on \"{}\"",
                    def.columns[i].name
                )))
            }
            Mark::New => {}
        }
        let Some((e, reads)) = &bound[i] else {
            return Ok(());
        };
        marks[i] = Mark::Visiting;
        for &j in reads {
            visit(j, def, bound, marks, order)?;
        }
        marks[i] = Mark::Done;
        let stored = def.columns[i].generated.as_ref().is_some_and(|g| g.stored);
        order.push((i, e.clone(), stored));
        Ok(())
    }
    let mut marks = vec![Mark::New; ncols];
    let mut order = Vec::new();
    for i in 0..ncols {
        visit(i, def, &bound, &mut marks, &mut order)?;
    }
    Ok(GeneratedColumns { order })
}

/// Binds and checks an index's expressions and partial-index condition against its table.
pub fn bind_index(def: &TableDef, ix: &IndexDef) -> Result<BoundIndex> {
    let mut parts = Vec::with_capacity(ix.columns.len());
    for c in &ix.columns {
        parts.push(match &c.expr {
            Some(text) => {
                let e = bind_table_expr(def, text)?;
                check_stored_expr(&e, "index expressions")?;
                Some(e)
            }
            None => None,
        });
    }
    let mut predicate = Vec::new();
    if let Some(text) = &ix.predicate {
        let e = bind_table_expr(def, text)?;
        check_stored_expr(&e, "partial index WHERE clauses")?;
        split_and(e, &mut predicate);
    }
    Ok(BoundIndex { parts, predicate })
}

/// Parses and evaluates a stored DEFAULT expression.
pub fn eval_default_text(text: &str, env: &dyn FnEnv) -> Result<Value> {
    let e = parse_expr(text)?;
    let stmt = ParsedStatement::placeholder();
    let mut none = NoHistory;
    // A stored DEFAULT is also what old rows read in a column added later: it must not
    // depend on the application's functions, or the table could not be read without it.
    let env = &WithoutUserFunctions(env);
    let mut p = Planner::new(Arc::new(Schema::default()), &mut none, &[], env, &stmt);
    let bound = p.bind_constant(&e)?;
    super::execution::eval_standalone(&bound, &[], env)
}

/// Evaluates a stored DEFAULT with only a clock available.
pub fn eval_default_with_clock(text: &str, now_us: i64) -> Result<Value> {
    eval_default_text(text, &ClockOnly(now_us))
}

/// A view's columns: names (its declared ones, if given) and declared types (a column's
/// as written where the view selects a column as it is, '' otherwise), its SELECT planned
/// against the schema. `None` for a view whose SELECT cannot be planned without a statement's
/// history (one reading `AS OF` a point), or while a view is being planned here.
pub(crate) fn view_columns(
    schema: &Arc<Schema>,
    view: &super::catalog::ViewDef,
) -> Option<ViewColumns> {
    thread_local! {
        /// Set while a view is planned here: a view that reads `pragma_table_list` would
        /// otherwise plan itself again, for ever.
        static PLANNING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if PLANNING.with(std::cell::Cell::get) {
        return None;
    }
    /// Clears the flag however the planning ends (an error, a panic).
    struct Planning;
    impl Drop for Planning {
        fn drop(&mut self) {
            PLANNING.with(|p| p.set(false));
        }
    }
    PLANNING.with(|p| p.set(true));
    let _planning = Planning;
    let planned = (|| -> Result<Vec<OutputColumn>> {
        let parsed = super::parser::parse(&view.query)?;
        let Some(super::parser::Parsed::Sql(stmt)) = parsed.first().map(|s| &s.statement) else {
            return Err(Error::invalid("view has no query"));
        };
        let sqlparser::ast::Statement::Query(q) = stmt.as_ref() else {
            return Err(Error::invalid("view is not a query"));
        };
        let env = ClockOnly(0);
        let placeholder = super::parser::ParsedStatement::placeholder();
        let mut none = NoHistory;
        let mut p =
            super::planner::Planner::new(schema.clone(), &mut none, &[], &env, &placeholder);
        Ok(p.plan_query(q)?.1)
    })();
    let columns = planned.ok()?;
    Some(
        columns
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let ty = view_column_type(c.decl_type, c.affinity);
                (view.columns.get(i).cloned().unwrap_or(c.name), ty)
            })
            .collect(),
    )
}

/// The type SQLite (3.45 on) reports for a view's column: the declared type of the column it
/// selects as it is, when that type gives the column's affinity (a compound's arms can change
/// it); else the standard name of the affinity (`NUM` for NUMERIC); '' for an expression's
/// "no affinity".
fn view_column_type(decl: Option<String>, affinity: Option<super::value::Affinity>) -> String {
    use super::value::Affinity;
    let Some(affinity) = affinity else {
        return String::new();
    };
    match decl {
        Some(t) if Affinity::from_type_name(&t) == affinity => t,
        _ => match affinity {
            Affinity::Numeric | Affinity::Decimal(_) => "NUM",
            Affinity::Blob => "BLOB",
            Affinity::Integer => "INT",
            Affinity::Real => "REAL",
            Affinity::Text => "TEXT",
        }
        .to_string(),
    }
}

/// A view's column names and declared types (see [`view_columns`]).
pub type ViewColumns = Vec<(String, String)>;

/// Evaluates nothing at a past point: stored defaults and constraints have no history.
pub(crate) struct NoHistory;

impl History for NoHistory {
    fn resolve(&mut self, _: AsOf) -> Result<(Source, Arc<Schema>)> {
        Err(Error::invalid("time travel is not allowed here"))
    }
    fn snapshots(&self) -> Vec<HistoryPoint> {
        Vec::new()
    }
    fn row_estimate(&mut self, _: &super::catalog::TableInfo, _: Source) -> f64 {
        1000.0
    }
    fn view_columns(
        &self,
        schema: &Arc<Schema>,
        view: &super::catalog::ViewDef,
    ) -> Option<ViewColumns> {
        view_columns(schema, view)
    }
}

/// Resolves the statement's time-travel points to pinned snapshots.
pub(crate) struct StmtHistory<'a> {
    pub engine: &'a Engine,
    pub snapshots: Vec<Snapshot>,
}

impl<'a> StmtHistory<'a> {
    pub fn new(engine: &'a Engine) -> Self {
        Self {
            engine,
            snapshots: Vec::new(),
        }
    }

    /// Re-resolves a cached plan's time-travel clauses; `false` if any point now has a
    /// different schema than when the plan was bound (then the plan must be rebuilt).
    pub(crate) fn replay(
        &mut self,
        cached: &CachedPlan,
        params: &[Value],
        env: &dyn FnEnv,
    ) -> Result<bool> {
        for ((mode, expr), want) in cached.time_travel.iter().zip(&cached.time_travel_points) {
            let value = super::execution::eval_standalone(expr, params, env)?;
            let point = super::planner::as_of_from_value(*mode, &value)?;
            let scn = self.engine.mvcc.resolve(&point)?;
            if self.engine.schemas.ddl_point(scn) != *want {
                self.snapshots.clear();
                return Ok(false);
            }
            self.snapshots.push(self.engine.mvcc.snapshot_at(scn)?);
        }
        Ok(true)
    }
}

impl History for StmtHistory<'_> {
    fn resolve(&mut self, point: AsOf) -> Result<(Source, Arc<Schema>)> {
        // One snapshot per clause, in clause order, so a cached plan's sources line up with
        // the snapshots of a later execution.
        let scn = self.engine.mvcc.resolve(&point)?;
        let snap = self.engine.mvcc.snapshot_at(scn)?;
        self.snapshots.push(snap);
        let idx = self.snapshots.len() - 1;
        let schema = self
            .engine
            .schema_at(scn, None, Some(&self.snapshots[idx]))?;
        Ok((Source::Snapshot(idx), schema))
    }

    fn snapshots(&self) -> Vec<HistoryPoint> {
        self.engine.mvcc.snapshots()
    }

    fn row_estimate(&mut self, table: &super::catalog::TableInfo, source: Source) -> f64 {
        let current;
        let snap = match source {
            Source::Snapshot(i) => match self.snapshots.get(i) {
                Some(s) => s,
                None => return 1000.0,
            },
            Source::Current => {
                current = self.engine.mvcc.snapshot();
                &current
            }
        };
        super::stats::estimate_rows(snap, table)
    }
    fn view_columns(
        &self,
        schema: &Arc<Schema>,
        view: &super::catalog::ViewDef,
    ) -> Option<ViewColumns> {
        view_columns(schema, view)
    }
}

/// The type group reported for a result column (see [`Outcome::column_types`]).
pub(crate) fn column_type(c: &OutputColumn) -> Option<&'static str> {
    use super::value::Affinity;
    if c.temporal {
        return Some("TIMESTAMP");
    }
    Some(match c.affinity? {
        Affinity::Integer => "INTEGER",
        Affinity::Real => "REAL",
        Affinity::Numeric => "NUMERIC",
        Affinity::Text => "TEXT",
        Affinity::Blob => "BLOB",
        Affinity::Decimal(_) => "DECIMAL",
    })
}

/// Builds a query outcome.
pub fn query_outcome(cols: Vec<OutputColumn>, rows: Vec<Row>) -> Outcome {
    let temporal = if cols.iter().any(|c| c.temporal) {
        cols.iter().map(|c| c.temporal).collect()
    } else {
        Vec::new()
    };
    let column_types = if cols.iter().any(|c| c.affinity.is_some() || c.temporal) {
        cols.iter().map(column_type).collect()
    } else {
        Vec::new()
    };
    Outcome {
        temporal,
        column_types,
        columns: cols.into_iter().map(|c| c.name).collect(),
        rows,
        changes: 0,
        returns_rows: true,
    }
}
