//! Random SELECT statements over a generated [`Schema`].
//!
//! The generator is recursive with explicit budgets: `depth` bounds how deeply subqueries
//! nest and expression depth bounds operator trees. It keeps to constructs whose answer
//! SQLite fully specifies:
//!
//! - every column reference is qualified by a unique alias, so no name is ambiguous;
//! - aggregate queries select only GROUP BY keys and aggregates (no bare columns), and an
//!   aggregate's argument refers only to its own query's tables (SQLite would otherwise make
//!   it an aggregate of the outer query);
//! - LIMIT and scalar subqueries that are not single-row aggregates come with an ORDER BY
//!   on every output column, so the rows kept do not depend on the plan;
//! - expressions that may hold both 2 and 2.0 ([`Class::Mixed`]) never reach a place that
//!   keeps one of several equal values (DISTINCT, set operations, GROUP BY, min/max, ties
//!   under ORDER BY);
//! - no text is made from computed reals (no CAST, `||` or printf), so float formatting is
//!   never part of an answer;
//! - derived tables and CTE bodies are not correlated (that would be LATERAL).

mod aggregate;
mod dml;
mod expr;
mod from;
mod json;
mod recursive;

pub use dml::LOG_TABLE;

use crate::schema::{Class, Schema};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;

/// Rows a query may visit under a naive plan (nested loops, subqueries re-run per row).
/// Larger queries are regenerated so that either engine answers in milliseconds.
const MAX_COST: u64 = 300_000;

/// A FROM item as expressions see it: the alias that qualifies its columns, and the columns.
#[derive(Clone, Debug)]
struct Source {
    /// Alias, unique in the whole query.
    alias: String,
    /// Column names with their classes.
    cols: Vec<(String, Class)>,
}

/// A CTE of the query being generated; its columns are `k0`, `k1`, ...
#[derive(Debug)]
struct Cte {
    /// `w0`, `w1`, ...
    name: String,
    /// Classes of its columns.
    classes: Vec<Class>,
    /// Upper bound of its rows.
    rows: u64,
    /// Cost of computing it once.
    cost: u64,
}

/// A generated scalar expression.
#[derive(Clone, Debug)]
struct Expr {
    /// SQL text, parenthesised where precedence could matter.
    sql: String,
    /// Which numbers it can produce.
    class: Class,
}

/// A compound derived table (or CTE) whose columns carry no affinity: `SELECT coalesce(k0,
/// NULL) AS k0, ... FROM (compound)`.
///
/// SQLite documents the affinity of a compound subquery's column as undefined when its arms
/// differ ("it is undefined which of the component SELECTs are used to determine affinity",
/// datatype3.html, "Column Affinity For Views And Subqueries"), and it really varies: pushing
/// an outer WHERE term down into each arm compares with each arm's own affinity (a TEXT
/// column's `'-0.5' >= 1` becomes `'-0.5' >= '1'`, false), while the same subquery read
/// without the push-down uses no affinity (true) (seed 20261209, case 15939). HeliosDB
/// implements the rule without push-down; the copy through `coalesce` makes the column's
/// affinity defined (none) in both engines, so the comparison is still checked.
fn untyped_compound_columns(compound: &str, ncols: usize) -> String {
    let cols: Vec<String> = (0..ncols)
        .map(|i| format!("coalesce(k{i}, NULL) AS k{i}"))
        .collect();
    format!("SELECT {} FROM ({compound})", cols.join(", "))
}

/// A generated query: a SELECT core or a compound, with ORDER BY / LIMIT when added.
#[derive(Debug)]
struct Select {
    /// SQL text.
    sql: String,
    /// Classes of the output columns (whose names are `k0`, `k1`, ...).
    classes: Vec<Class>,
    /// Upper bound of its rows.
    rows: u64,
    /// Rows visited under a naive plan.
    cost: u64,
    /// True when an ORDER BY fixes the order of the rows completely.
    ordered: bool,
}

/// Where a query is used; this decides which ORDER BY / LIMIT forms are well defined.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ctx {
    /// The statement itself.
    Top,
    /// A derived table or CTE body.
    Derived,
    /// The body of EXISTS.
    Exists,
    /// The right side of IN.
    In,
    /// A scalar subquery: must return at most one row.
    Scalar,
}

/// Whether a SELECT core aggregates.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// Either, at random.
    Any,
    /// An aggregate without GROUP BY: exactly one row.
    OneRowAgg,
}

/// A test case: the query and what the comparison may assume about its answer.
#[derive(Debug)]
pub struct Case {
    /// The SELECT statement.
    pub sql: String,
    /// True when its ORDER BY covers every output column, so the order is part of the answer.
    pub ordered: bool,
    /// True when it uses sum, avg or total, whose integer-or-real result type is let go.
    pub lenient_numeric: bool,
}

/// Constructs to leave out, from `HELIOS_DIFF_AVOID` (comma-separated names). Each one is a
/// known class of wrong answers: leaving it out lets a campaign look for other classes
/// instead of finding the same one again and again.
#[derive(Clone, Copy, Debug, Default)]
pub struct Avoid {
    /// `affinity`: every column INTEGER, so no comparison mixes affinities.
    pub affinity: bool,
    /// `is`: no `IS` / `IS NOT` between values.
    pub is: bool,
    /// `on-subqueries`: no subqueries in ON clauses.
    pub on_subqueries: bool,
    /// `correlated-later`: correlated references only to the first FROM item of a query.
    pub correlated_later: bool,
    /// `set-chains`: compound SELECTs of two arms only (no precedence question).
    pub set_chains: bool,
}

impl Avoid {
    /// The set named by `HELIOS_DIFF_AVOID`; unknown names are an error, so a typo does
    /// not silently run the full generator.
    pub fn from_env() -> Avoid {
        let mut a = Avoid::default();
        let list = std::env::var("HELIOS_DIFF_AVOID").unwrap_or_default();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "affinity" => a.affinity = true,
                "is" => a.is = true,
                "on-subqueries" => a.on_subqueries = true,
                "correlated-later" => a.correlated_later = true,
                "set-chains" => a.set_chains = true,
                other => panic!("HELIOS_DIFF_AVOID: unknown construct {other}"),
            }
        }
        a
    }
}

/// The query generator for one case.
pub struct Gen<'a> {
    /// All randomness of the case.
    rng: StdRng,
    /// The tables queries may read.
    schema: &'a Schema,
    /// Sources of the enclosing SELECTs, innermost last: what correlated references reach.
    outer: Vec<Vec<Source>>,
    /// Sources of the SELECT being built, in FROM order, as far as it is built.
    cur: Vec<Source>,
    /// CTEs of the statement; later ones and the main query may use earlier ones.
    ctes: Vec<Cte>,
    /// Counter for unique aliases.
    next_alias: usize,
    /// Cost of the subqueries of the current SELECT, paid once per row it visits.
    per_row: u64,
    /// A small case (fewer tables, shallower expressions and nesting): most bugs show up in
    /// small queries too, and their reports are far easier to read.
    small: bool,
    /// Constructs left out.
    avoid: Avoid,
    /// Building the WHERE of an UPDATE or DELETE: no COLLATE over an operand holding a
    /// subquery (see `comparison`).
    dml_filter: bool,
}

impl<'a> Gen<'a> {
    /// A generator drawing from `rng` over `schema`, leaving out `avoid`.
    pub fn new(rng: StdRng, schema: &'a Schema, avoid: Avoid) -> Gen<'a> {
        Gen {
            rng,
            schema,
            outer: Vec::new(),
            cur: Vec::new(),
            ctes: Vec::new(),
            next_alias: 0,
            per_row: 0,
            small: false,
            avoid,
            dml_filter: false,
        }
    }

    /// True with probability `p` percent.
    fn pct(&mut self, p: u32) -> bool {
        self.rng.random_range(0..100) < p
    }

    /// A fresh alias.
    fn alias(&mut self, prefix: &str) -> String {
        self.next_alias += 1;
        format!("{prefix}{}", self.next_alias)
    }

    /// One test case: a statement, optionally with CTEs, under the cost bound.
    pub fn case(&mut self) -> Case {
        loop {
            self.outer.clear();
            self.cur.clear();
            self.ctes.clear();
            self.next_alias = 0;
            self.small = self.pct(50);
            let with = self.with_clause();
            let ncols = self.rng.random_range(1..=3);
            let depth = if self.small { 1 } else { 2 };
            let body = self.query(ncols, Ctx::Top, depth);
            // Unused CTEs count too: an engine may compute them anyway.
            let cost = body.cost + self.ctes.iter().map(|c| c.cost).sum::<u64>();
            if cost > MAX_COST {
                continue;
            }
            let sql = format!("{with}{}", body.sql);
            let lenient_numeric = ["sum(", "avg(", "total("].iter().any(|f| sql.contains(f));
            return Case {
                sql,
                ordered: body.ordered,
                lenient_numeric,
            };
        }
    }

    /// `WITH w0 AS (...), ... ` or nothing.
    fn with_clause(&mut self) -> String {
        if !self.pct(if self.small { 10 } else { 20 }) {
            return String::new();
        }
        let mut parts = Vec::new();
        let mut recursive = false;
        for i in 0..self.rng.random_range(1..=2) {
            if self.pct(15) {
                let (sql, cte) = self.recursive_cte(format!("w{i}"));
                parts.push(sql);
                self.ctes.push(cte);
                recursive = true;
                continue;
            }
            if self.pct(30) {
                // A recursive counter: `start`, `start + 1`, ... up to `stop`, with a running
                // sum as an optional second column.
                let name = format!("w{i}");
                let start = self.rng.random_range(-2..=3);
                let stop = start + self.rng.random_range(0..=6);
                let all = if self.pct(50) { " ALL" } else { "" };
                let (cols, init, step, classes) = if self.pct(50) {
                    (
                        "k0",
                        format!("{start}"),
                        "k0 + 1".to_string(),
                        vec![Class::Int],
                    )
                } else {
                    (
                        "k0, k1",
                        format!("{start}, 0"),
                        "k0 + 1, k1 + k0".to_string(),
                        vec![Class::Int, Class::Int],
                    )
                };
                parts.push(format!(
                    "{name}({cols}) AS (SELECT {init} UNION{all} SELECT {step} FROM {name} WHERE k0 < {stop})"
                ));
                let rows = (stop - start + 1) as u64;
                self.ctes.push(Cte {
                    name,
                    classes,
                    rows,
                    cost: rows,
                });
                recursive = true;
                continue;
            }
            let ncols = self.rng.random_range(1..=3);
            let body = self.detached(|g| g.query(ncols, Ctx::Derived, 1));
            let name = format!("w{i}");
            parts.push(format!("{name} AS ({})", body.sql));
            self.ctes.push(Cte {
                name,
                classes: body.classes,
                rows: body.rows,
                cost: body.cost,
            });
        }
        let keyword = if recursive { "WITH RECURSIVE" } else { "WITH" };
        format!("{keyword} {} ", parts.join(", "))
    }

    /// Runs `f` with no enclosing scope (derived tables and CTEs are not correlated), then
    /// restores the scope.
    fn detached<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let outer = std::mem::take(&mut self.outer);
        let cur = std::mem::take(&mut self.cur);
        let r = f(self);
        self.outer = outer;
        self.cur = cur;
        r
    }

    /// A subquery inside an expression of the current SELECT: it sees the current sources
    /// as outer ones. Its cost is charged per row of the current SELECT.
    fn subquery(&mut self, ncols: usize, ctx: Ctx, depth: u32) -> Select {
        let cur = std::mem::take(&mut self.cur);
        self.outer.push(cur);
        let s = self.query(ncols, ctx, depth);
        self.cur = self.outer.pop().expect("pushed above");
        self.per_row += s.cost;
        s
    }

    /// A query for context `ctx` with `ncols` output columns.
    fn query(&mut self, ncols: usize, ctx: Ctx, depth: u32) -> Select {
        if ctx == Ctx::Scalar && self.pct(55) {
            return self.core(1, Mode::OneRowAgg, depth);
        }
        let compound_pct = if ctx == Ctx::Top { 20 } else { 10 };
        let is_compound = depth > 0 && self.pct(compound_pct);
        let mut s = if is_compound {
            self.compound(ncols, depth)
        } else {
            self.core(ncols, Mode::Any, depth)
        };
        let safe = s.classes.iter().all(|c| c.is_safe());
        match ctx {
            Ctx::Scalar => {
                if !safe {
                    // No ORDER BY makes the first row well defined; fall back to an aggregate.
                    return self.core(1, Mode::OneRowAgg, depth);
                }
                // No OFFSET: SQLite (3.40 to 3.50 at least) ignores it in a scalar subquery
                // `SELECT DISTINCT pk ... ORDER BY 1 DESC LIMIT 1 OFFSET 1`, so its answer
                // would be the wrong one.
                s.sql = format!("{}{} LIMIT 1", s.sql, self.order_by(ncols));
                s.rows = 1;
            }
            Ctx::Top => {
                if self.pct(45) {
                    s.sql += &self.order_by(ncols);
                    // Without a total order the rows are still compared, as a multiset.
                    s.ordered = safe;
                    if safe && self.pct(50) {
                        self.limit(&mut s);
                    }
                }
            }
            Ctx::Derived | Ctx::In => {
                if safe && self.pct(12) {
                    s.sql += &self.order_by(ncols);
                    self.limit(&mut s);
                }
                if is_compound && ctx == Ctx::Derived {
                    s.sql = untyped_compound_columns(&s.sql, ncols);
                }
            }
            Ctx::Exists => {
                // Which rows LIMIT keeps does not matter to EXISTS, only whether any remain.
                if self.pct(10) {
                    s.sql += " LIMIT 1";
                }
            }
        }
        s
    }

    /// ` ORDER BY` over every output column (by position or name) in random order and
    /// directions: a total order on rows of safe classes.
    fn order_by(&mut self, ncols: usize) -> String {
        let mut cols: Vec<usize> = (0..ncols).collect();
        cols.shuffle(&mut self.rng);
        let terms: Vec<String> = cols
            .into_iter()
            .map(|c| {
                let name = if self.pct(25) {
                    format!("k{c}")
                } else {
                    (c + 1).to_string()
                };
                let dir = ["", " ASC", " DESC"]
                    .choose(&mut self.rng)
                    .expect("not empty");
                let nulls = match self.rng.random_range(0..10) {
                    0 => " NULLS FIRST",
                    1 => " NULLS LAST",
                    _ => "",
                };
                format!("{name}{dir}{nulls}")
            })
            .collect();
        format!(" ORDER BY {}", terms.join(", "))
    }

    /// Appends ` LIMIT n [OFFSET m]` to an ordered query.
    fn limit(&mut self, s: &mut Select) {
        let n = self.rng.random_range(0..=5u64);
        let count = self.count_expr(n as i64);
        if self.pct(30) {
            let m = self.rng.random_range(0..=3);
            let offset = self.count_expr(m);
            if self.pct(20) {
                s.sql += &format!(" LIMIT {offset}, {count}");
            } else {
                s.sql += &format!(" LIMIT {count} OFFSET {offset}");
            }
        } else {
            s.sql += &format!(" LIMIT {count}");
        }
        s.rows = s.rows.min(n);
    }

    /// `n` for LIMIT or OFFSET, mostly as a literal, sometimes as an expression with that
    /// value: arithmetic, numeric text, an integral real, a scalar subquery, a CASE.
    fn count_expr(&mut self, n: i64) -> String {
        match self.rng.random_range(0..14) {
            0 => format!("{} + 1", n - 1),
            1 => format!("'{n}'"),
            2 => format!("{n}.0"),
            3 => format!("(SELECT {n})"),
            4 => format!("abs(-{n})"),
            5 => format!("CASE WHEN 1 THEN {n} END"),
            6 => format!("(SELECT count(*) FROM (SELECT 1 UNION ALL SELECT 2)) * {n} / 2"),
            _ => n.to_string(),
        }
    }

    /// Two or three SELECT cores joined by set operators.
    fn compound(&mut self, ncols: usize, depth: u32) -> Select {
        let narms = if self.avoid.set_chains {
            2
        } else {
            self.rng.random_range(2..=3)
        };
        let arms: Vec<Select> = (0..narms)
            .map(|_| self.core(ncols, Mode::Any, depth))
            .collect();
        let mut classes = arms[0].classes.clone();
        for arm in &arms[1..] {
            for (c, a) in classes.iter_mut().zip(&arm.classes) {
                *c = c.join(*a);
            }
        }
        let mut ops: Vec<&str> = (1..arms.len())
            .map(|_| {
                *["UNION", "UNION ALL", "INTERSECT", "EXCEPT"]
                    .choose(&mut self.rng)
                    .expect("not empty")
            })
            .collect();
        // Deduplication would keep either of 2 and 2.0.
        if !classes.iter().all(|c| c.is_safe()) {
            ops.iter_mut().for_each(|o| *o = "UNION ALL");
        }
        let mut sql = arms[0].sql.clone();
        for (op, arm) in ops.iter().zip(&arms[1..]) {
            sql += &format!(" {op} {}", arm.sql);
        }
        Select {
            sql,
            classes,
            rows: arms.iter().map(|a| a.rows).sum(),
            cost: arms.iter().map(|a| a.cost).sum(),
            ordered: false,
        }
    }

    /// A window function call whose value does not depend on the order rows come in: over
    /// whole partitions, or ordered with frames that take ORDER BY peers together (RANGE,
    /// GROUPS, ranks), never ROWS or `row_number()`, which split peers arbitrarily.
    fn window_item(&mut self) -> Expr {
        let part = self.local_column().sql;
        let arg = self.local_column();
        let ord = self.local_column().sql;
        let (sql, class) = match self.rng.random_range(0..9) {
            0 => ("count(*) OVER ()".to_string(), Class::Int),
            1 => (
                format!("count({}) OVER (PARTITION BY {part})", arg.sql),
                Class::Int,
            ),
            2 => (
                format!("sum({}) OVER (PARTITION BY {part})", arg.sql),
                Class::Mixed,
            ),
            3 => (
                format!("rank() OVER (PARTITION BY {part} ORDER BY {ord})"),
                Class::Int,
            ),
            4 => (
                format!("dense_rank() OVER (ORDER BY {ord} DESC)"),
                Class::Int,
            ),
            5 => (
                format!(
                    "count({}) OVER (PARTITION BY {part} ORDER BY {ord})",
                    arg.sql
                ),
                Class::Int,
            ),
            6 => (
                format!(
                    "max({}) OVER (ORDER BY {ord} GROUPS BETWEEN 1 PRECEDING AND 1 FOLLOWING)",
                    arg.sql
                ),
                arg.class,
            ),
            7 => (
                format!(
                    "min({}) OVER (PARTITION BY {part} ORDER BY {ord} \
                     RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)",
                    arg.sql
                ),
                arg.class,
            ),
            _ => (
                format!(
                    "first_value({}) OVER (ORDER BY {ord}, {} GROUPS 2 PRECEDING)",
                    arg.sql, arg.sql
                ),
                arg.class,
            ),
        };
        Expr { sql, class }
    }

    /// One SELECT core (no ORDER BY / LIMIT) with `ncols` columns named `k0`, `k1`, ...
    fn core(&mut self, ncols: usize, mode: Mode, depth: u32) -> Select {
        let saved_per_row = std::mem::replace(&mut self.per_row, 0);
        debug_assert!(self.cur.is_empty());
        let (from, mut conds, product, fixed) = self.join_tree(depth);
        let expr_depth = if self.small { 1 } else { 2 };
        if self.pct(65) {
            conds.push(self.pred(expr_depth, depth));
        }
        let where_sql = if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        };
        let aggregate = mode == Mode::OneRowAgg || self.pct(25);
        let (items, tail, rows) = if aggregate {
            self.aggregate_items(ncols, mode, product)
        } else {
            let mut items: Vec<Expr> = (0..ncols).map(|_| self.scalar(expr_depth, depth)).collect();
            if self.pct(10) {
                let k = self.rng.random_range(0..items.len());
                items[k] = self.window_item();
            }
            (items, String::new(), product)
        };
        let distinct = if items.iter().all(|e| e.class.is_safe()) && self.pct(15) {
            "DISTINCT "
        } else {
            ""
        };
        let list: Vec<String> = items
            .iter()
            .enumerate()
            .map(|(i, e)| format!("{} AS k{i}", e.sql))
            .collect();
        let sql = format!(
            "SELECT {distinct}{} FROM {from}{where_sql}{tail}",
            list.join(", ")
        );
        self.cur.clear();
        let per_row = std::mem::replace(&mut self.per_row, saved_per_row);
        Select {
            sql,
            classes: items.iter().map(|e| e.class).collect(),
            rows,
            cost: product.saturating_mul(per_row + 1).saturating_add(fixed),
            ordered: false,
        }
    }
}
