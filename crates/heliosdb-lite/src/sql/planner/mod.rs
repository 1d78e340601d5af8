//! The planner: binds sqlparser's AST to the engine's own expressions and plans.
//!
//! Names are resolved against a stack of scopes (one per query level), so a subquery can read
//! columns of enclosing rows (`Expr::Outer`); each subquery records which columns of its
//! enclosing row it reads, which lets the executor cache its answers and the join planner know
//! which relations a conjunct with a subquery depends on. In GROUP BY, HAVING and ORDER BY a
//! bare name is looked up in the level's own columns, then in its result aliases, and only then
//! further out (SQLite's order). Time-travel clauses are resolved while
//! binding: the point is evaluated (it may use parameters), turned into an SCN by the MVCC
//! layer, and the table is bound with the schema of that SCN.
//!
//! The relations of a FROM clause share one row layout, fixed by the FROM order; WHERE and ON
//! are bound against it once. A LEFT JOIN whose padded rows a WHERE conjunct rejects is made
//! inner first, and RIGHT and FULL joins less outer likewise ([`left_to_inner`]). [`join`] classifies the conjuncts by the relations they read,
//! [`join_order`] picks the cheapest join order and algorithm per step (key lookup, hash join,
//! loop) and [`join`] builds the tree; conjuncts on one relation go into its scan, where
//! [`access`] picks a key or index range for them. [`decorrelate`] turns a correlated `[NOT]
//! EXISTS` (its subquery may join several tables) into a semi (anti) hash join. [`order`] drops sorts that a
//! scan's key order already gives; [`aggregate`] rewrites grouped expressions. HAVING's
//! conjuncts on GROUP BY terms become WHERE terms ([`having`]), and filters on a derived
//! table, view or CTE read once go into its query ([`push_down`]), as in SQLite.

mod access;
mod aggregate;
mod decorrelate;
mod expr;
mod having;
mod join;
mod join_order;
mod json_subtype;
mod left_to_inner;
mod order;
mod outer_join;
mod prune;
mod push_down;
mod quantified;
mod recursive;
mod row_value;
mod select;
mod window;

use super::catalog::Schema;
use super::functions::FnEnv;
use super::parser::ParsedStatement;
use super::plan::{Plan, Source};
use super::value::{Affinity, Value};
use crate::error::{Error, Result};
use crate::mvcc::AsOf;
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) use select::keyed_rowid_error;
pub use select::{as_of_from_value, OutputColumn};

/// Resolves time-travel points for the planner.
pub trait History {
    /// Resolves a point to a snapshot of the statement; returns its source and schema.
    fn resolve(&mut self, point: AsOf) -> Result<(Source, Arc<Schema>)>;
    /// Every retained snapshot (for the `helios_snapshots` system table).
    fn snapshots(&self) -> Vec<crate::error::HistoryPoint>;
    /// Estimated rows in a table read from `source` (join ordering).
    fn row_estimate(&mut self, table: &super::catalog::TableInfo, source: Source) -> f64;
    /// A view's column names and declared types (`pragma_table_list`'s `ncol`,
    /// `pragma_table_info` of a view): its SELECT planned; `None` when it cannot be.
    fn view_columns(
        &self,
        schema: &Arc<Schema>,
        view: &super::catalog::ViewDef,
    ) -> Option<Vec<(String, String)>>;
}

/// The scope of a table's rows under `alias`.
pub fn table_scope(info: &super::catalog::TableInfo, alias: &str) -> Scope {
    Scope {
        columns: select::table_scope_columns(info, alias),
        ..Scope::default()
    }
}

/// A column visible to name resolution.
#[derive(Debug, Clone)]
pub struct ScopeColumn {
    /// Table alias (lower case), if the column comes from a named relation.
    pub table: Option<String>,
    /// Column name (as declared).
    pub name: String,
    /// Not matched by unqualified names or `*` (rowid, the right side of USING).
    pub hidden: bool,
    /// A table-valued function's argument column (`json`, `root` of `json_each`): hidden,
    /// and not in `alias.*` either.
    pub argument: bool,
    /// Affinity for comparisons.
    pub affinity: Option<Affinity>,
    /// Declared DATE, DATETIME or TIMESTAMP (read through the API as a date-time).
    pub temporal: bool,
    /// The type the column was declared with, as written, for a table's column (and a column
    /// of a subquery, view or CTE that selects one as it is): `PRAGMA table_info` of a view.
    pub decl_type: Option<String>,
    /// The column's collating sequence (`None`: a computed value, which has none).
    pub collation: Option<super::collation::Collation>,
    /// The rowid, or the `INTEGER PRIMARY KEY` column that names it. Comparisons read it
    /// under its BINARY collation (it only ever holds integers, on which collations agree);
    /// selected, it has none, as in SQLite (column -1), so a compound operator's search for a
    /// collation moves on to the next operand.
    pub rowid: bool,
}

/// The columns of one query level.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Columns in row order.
    pub columns: Vec<ScopeColumn>,
    /// USING / NATURAL columns of RIGHT and FULL joins: what the unqualified name (and `*`)
    /// means for the visible column at the index: the right table's column after a RIGHT
    /// JOIN, `coalesce(left, right)` after a FULL JOIN, as in SQLite.
    pub merged: Vec<(usize, super::plan::Expr)>,
    /// Columns from this index on are read only when qualified, also the rowid's names (an
    /// upsert's `excluded` row beside its target: a bare `rowid` is the target's).
    pub qualified_only_from: Option<usize>,
}

impl Scope {
    /// The expression an unqualified reference to column `i` stands for.
    pub fn merged_column(&self, i: usize) -> Option<&super::plan::Expr> {
        self.merged.iter().find(|(c, _)| *c == i).map(|(_, e)| e)
    }
}

#[derive(Debug, Clone)]
struct Cte {
    plan: Plan,
    columns: Vec<OutputColumn>,
    /// The working table of a recursive CTE being planned: references are counted, and
    /// allowed only in the FROM clause of its recursive SELECT.
    working: Option<usize>,
}

/// A statement's default time-travel point: as given, then as resolved.
enum StatementPoint {
    Pending(AsOf),
    Resolved(Source, Arc<Schema>),
}

/// Statement-wide planning state.
pub struct Planner<'a> {
    schema: Arc<Schema>,
    history: &'a mut dyn History,
    params: &'a [Value],
    env: &'a dyn FnEnv,
    param_positions: &'a HashMap<(u64, u64), usize>,
    param_names: &'a [Option<String>],
    scopes: Vec<Scope>,
    /// Lowest scope index referenced while binding the current subquery.
    lowest_scope_ref: usize,
    /// Every reference to a column of an enclosing scope: (scope index, column).
    outer_refs: Vec<(usize, usize)>,
    /// Result-column aliases (`expr AS name`) visible to bare names, with the scope index of
    /// the query level they belong to. SQLite looks a bare name up in a level's FROM columns,
    /// then in that level's aliases (in GROUP BY, HAVING and ORDER BY), and only then in the
    /// enclosing levels, so an alias must shadow an outer column of the same name.
    aliases: Vec<(usize, Vec<(String, super::plan::Expr)>)>,
    /// Result-column aliases WHERE and ON may use (SQLite lets them, when no FROM column has
    /// the name), with the scope index of their level: bound on first use (then moved to
    /// `aliases`), so that an alias nothing reads is never bound twice.
    where_aliases: Vec<(usize, Vec<(String, sqlparser::ast::Expr)>)>,
    ctes: Vec<(String, Arc<Cte>)>,
    /// Ids of the stored relations every reference of a CTE shares: a filter of one
    /// reference must not go into them (see `push_down`).
    shared_ids: std::collections::HashSet<usize>,
    next_id: usize,
    depth: usize,
    /// Views being expanded (guards against a view that refers to itself).
    expanding_views: Vec<String>,
    /// Where tables without their own time-travel clause read (inside a view read AS OF).
    default_point: Option<(Source, Arc<Schema>)>,
    /// The statement's default time-travel point ([`Planner::read_tables_at`]), resolved to
    /// a snapshot at the first table that needs it, so that a statement reading no table
    /// does not resolve (or fail on) a point it never uses.
    statement_point: Option<StatementPoint>,
    /// False once the plan depends on more than the schema (time-travel points, snapshot
    /// listings): such plans are rebuilt for every execution.
    pub cacheable: bool,
    /// The time-travel clauses met, in the order their snapshots were resolved: (mode,
    /// point expression). A cached plan re-evaluates them for each execution.
    pub time_travel: Vec<(super::parser::TimeTravelMode, super::plan::Expr)>,
    /// References to a recursive CTE's working table (see `Cte::working`).
    working_refs: usize,
    /// `WINDOW name AS (...)` definitions of the SELECTs being planned.
    named_windows: Vec<(String, sqlparser::ast::WindowSpec)>,
    /// The statement belongs to a trigger (its body or WHEN), where `RAISE()` may be used.
    in_trigger: bool,
    /// The query about to be planned is an EXISTS subquery's: only whether it returns a row
    /// matters. Taken (reset) by the first query level that reads it, so no nested query
    /// sees it. See `select::plan_query`.
    existence: bool,
}

impl<'a> Planner<'a> {
    /// Creates a planner for one statement.
    pub fn new(
        schema: Arc<Schema>,
        history: &'a mut dyn History,
        params: &'a [Value],
        env: &'a dyn FnEnv,
        stmt: &'a ParsedStatement,
    ) -> Self {
        Self {
            schema,
            history,
            params,
            env,
            param_positions: &stmt.param_positions,
            param_names: &stmt.param_names,
            scopes: Vec::new(),
            lowest_scope_ref: usize::MAX,
            outer_refs: Vec::new(),
            aliases: Vec::new(),
            where_aliases: Vec::new(),
            ctes: Vec::new(),
            shared_ids: Default::default(),
            next_id: 0,
            depth: 0,
            expanding_views: Vec::new(),
            default_point: None,
            statement_point: None,
            cacheable: true,
            time_travel: Vec::new(),
            working_refs: 0,
            named_windows: Vec::new(),
            in_trigger: false,
            existence: false,
        }
    }

    /// Plans a trigger's statement or WHEN condition, where `RAISE()` is allowed.
    pub fn in_trigger(&mut self) {
        self.in_trigger = true;
    }

    /// Reads every table that has no `AS OF` clause of its own at `point`, exactly as if the
    /// clause were written after it (a clause inside a view read this way still wins, as it
    /// does for an explicit clause on the view). The plan depends on the point, so it is not
    /// cacheable.
    pub fn read_tables_at(&mut self, point: AsOf) {
        self.statement_point = Some(StatementPoint::Pending(point));
        self.cacheable = false;
    }

    /// The source and schema of the statement's default point, resolving it on first use;
    /// `None` without one.
    fn statement_source(&mut self) -> Result<Option<(Source, Arc<Schema>)>> {
        match self.statement_point.take() {
            None => Ok(None),
            Some(StatementPoint::Resolved(source, schema)) => {
                self.statement_point = Some(StatementPoint::Resolved(source, schema.clone()));
                Ok(Some((source, schema)))
            }
            Some(StatementPoint::Pending(point)) => {
                let r = self.history.resolve(point.clone());
                match r {
                    Ok((source, schema)) => {
                        self.statement_point =
                            Some(StatementPoint::Resolved(source, schema.clone()));
                        Ok(Some((source, schema)))
                    }
                    Err(e) => {
                        self.statement_point = Some(StatementPoint::Pending(point));
                        Err(e)
                    }
                }
            }
        }
    }

    /// The schema of the statement's current view.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    fn new_id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > super::parser::MAX_DEPTH {
            return Err(Error::LimitExceeded(format!(
                "expression or subquery nesting deeper than {}",
                super::parser::MAX_DEPTH
            )));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Plans a query, returning the plan and its output columns.
    pub fn plan_query(&mut self, q: &sqlparser::ast::Query) -> Result<(Plan, Vec<OutputColumn>)> {
        self.enter()?;
        let r = select::plan_query(self, q);
        self.leave();
        r
    }

    /// Binds a standalone expression against the given scope (for DML).
    pub fn bind_in_scope(
        &mut self,
        scope: Scope,
        e: &sqlparser::ast::Expr,
    ) -> Result<super::plan::Expr> {
        self.scopes.push(scope);
        let r = self.bind_expr(e);
        self.scopes.pop();
        r
    }

    /// Binds an expression with no columns in scope.
    pub fn bind_constant(&mut self, e: &sqlparser::ast::Expr) -> Result<super::plan::Expr> {
        self.bind_in_scope(Scope::default(), e)
    }

    /// Pushes a scope for binding several expressions.
    pub fn push_scope(&mut self, scope: Scope) {
        self.scopes.push(scope);
    }

    /// Pops the scope pushed last.
    pub fn pop_scope(&mut self) {
        self.scopes.pop();
    }

    /// Binds an expression against the current scope stack.
    pub fn bind(&mut self, e: &sqlparser::ast::Expr) -> Result<super::plan::Expr> {
        self.bind_expr(e)
    }

    /// Binds a list of SELECT items against the current scope (for RETURNING).
    pub fn bind_select_items(
        &mut self,
        items: &[sqlparser::ast::SelectItem],
    ) -> Result<(Vec<super::plan::Expr>, Vec<OutputColumn>)> {
        select::bind_projection(self, items)
    }

    /// Evaluates a row-independent expression now (time-travel points, LIMIT).
    pub fn eval_constant(&self, e: &super::plan::Expr) -> Result<Value> {
        super::execution::eval_standalone(e, self.params, self.env)
    }
}

/// Resolves table names to the statement's schema, as the binder does (for DML targets).
pub fn table_name(name: &sqlparser::ast::ObjectName) -> Result<String> {
    let last = name
        .0
        .last()
        .and_then(|p| p.as_ident())
        .ok_or_else(|| Error::invalid(format!("invalid object name {name}")))?;
    Ok(last.value.clone())
}
