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

use crate::schema::{Class, Schema};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use std::collections::HashSet;

/// Rows a query may visit under a naive plan (nested loops, subqueries re-run per row).
/// Larger queries are regenerated so that either engine answers in milliseconds.
const MAX_COST: u64 = 300_000;

/// Comparison operators for predicates.
const CMP: [&str; 9] = ["=", "=", "<>", "!=", "<", "<=", ">", ">=", "IS"];

/// LIKE patterns; SQLite's LIKE ignores ASCII case, so 'a%' also matches 'A'.
const PATTERNS: [&str; 8] = ["a%", "%a", "A", "_", "1%", "%0", "-%", "%"];

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
}

impl<'a> Gen<'a> {
    /// A generator drawing from `rng` over `schema`.
    pub fn new(rng: StdRng, schema: &'a Schema) -> Gen<'a> {
        Gen {
            rng,
            schema,
            outer: Vec::new(),
            cur: Vec::new(),
            ctes: Vec::new(),
            next_alias: 0,
            per_row: 0,
            small: false,
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
        for i in 0..self.rng.random_range(1..=2) {
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
        format!("WITH {} ", parts.join(", "))
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
        let mut s = if depth > 0 && self.pct(compound_pct) {
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
                let offset = if self.pct(20) { " OFFSET 1" } else { "" };
                s.sql = format!("{}{} LIMIT 1{offset}", s.sql, self.order_by(ncols));
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
        s.sql += &format!(" LIMIT {n}");
        if self.pct(30) {
            s.sql += &format!(" OFFSET {}", self.rng.random_range(0..=3));
        }
        s.rows = s.rows.min(n);
    }

    /// Two or three SELECT cores joined by set operators.
    fn compound(&mut self, ncols: usize, depth: u32) -> Select {
        let arms: Vec<Select> = (0..self.rng.random_range(2..=3))
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
            let items: Vec<Expr> = (0..ncols).map(|_| self.scalar(expr_depth, depth)).collect();
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

    /// The select list, GROUP BY and HAVING of an aggregate query over the current sources,
    /// and its row bound. No subqueries here: they could see non-grouped columns.
    fn aggregate_items(
        &mut self,
        ncols: usize,
        mode: Mode,
        product: u64,
    ) -> (Vec<Expr>, String, u64) {
        let nkeys = if mode == Mode::OneRowAgg {
            0
        } else {
            self.rng.random_range(0..=2)
        };
        let keys: Vec<Expr> = (0..nkeys).filter_map(|_| self.group_key()).collect();
        let items: Vec<Expr> = (0..ncols)
            .map(|_| {
                if !keys.is_empty() && self.pct(35) {
                    keys.choose(&mut self.rng).expect("not empty").clone()
                } else {
                    self.agg_call()
                }
            })
            .collect();
        if keys.is_empty() {
            return (items, String::new(), 1);
        }
        let mut tail = format!(
            " GROUP BY {}",
            keys.iter()
                .map(|k| k.sql.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if self.pct(35) {
            tail += &format!(" HAVING {}", self.having(&keys, 1));
        }
        (items, tail, product)
    }

    /// A GROUP BY key: a column of the current sources whose class is safe (the key's value
    /// is read from one row of its group), or that column plus or minus an integer.
    fn group_key(&mut self) -> Option<Expr> {
        let col = self.safe_column()?;
        if self.pct(20) && col.class == Class::Int {
            let op = ["+", "-"].choose(&mut self.rng).expect("not empty");
            let n = self.rng.random_range(1..=3);
            return Some(Expr {
                sql: format!("({} {op} {n})", col.sql),
                class: Class::Int,
            });
        }
        Some(col)
    }

    /// A random column of the current sources with a safe class, if there is one.
    fn safe_column(&mut self) -> Option<Expr> {
        let cols: Vec<Expr> = self
            .cur
            .iter()
            .flat_map(|s| {
                s.cols
                    .iter()
                    .filter(|(_, c)| c.is_safe())
                    .map(|(n, c)| Expr {
                        sql: format!("{}.{n}", s.alias),
                        class: *c,
                    })
            })
            .collect();
        cols.choose(&mut self.rng).cloned()
    }

    /// An argument for an aggregate: from the current sources only.
    fn agg_arg(&mut self) -> Expr {
        let col = self.local_column();
        if self.pct(20) {
            let other = self.local_column();
            let op = ["+", "-", "*"].choose(&mut self.rng).expect("not empty");
            return Expr {
                sql: format!("({} {op} {})", col.sql, other.sql),
                class: Class::Mixed,
            };
        }
        col
    }

    /// An aggregate call over the current sources.
    fn agg_call(&mut self) -> Expr {
        let r = self.rng.random_range(0..100);
        // min, max and DISTINCT keep one of several equal values: safe arguments only.
        let safe_arg = |g: &mut Self| g.safe_column();
        let (sql, class) = match r {
            0..15 => ("count(*)".to_string(), Class::Int),
            15..28 => (format!("count({})", self.agg_arg().sql), Class::Int),
            28..36 => match safe_arg(self) {
                Some(e) => (format!("count(DISTINCT {})", e.sql), Class::Int),
                None => ("count(*)".to_string(), Class::Int),
            },
            36..50 => (format!("sum({})", self.agg_arg().sql), Class::Mixed),
            50..54 => match safe_arg(self) {
                Some(e) => (format!("sum(DISTINCT {})", e.sql), Class::Mixed),
                None => ("count(*)".to_string(), Class::Int),
            },
            54..64 => (format!("avg({})", self.agg_arg().sql), Class::Real),
            64..72 => (format!("total({})", self.agg_arg().sql), Class::Real),
            _ => {
                let f = if r < 86 { "min" } else { "max" };
                match safe_arg(self) {
                    Some(e) => (format!("{f}({})", e.sql), e.class),
                    None => ("count(*)".to_string(), Class::Int),
                }
            }
        };
        Expr { sql, class }
    }

    /// A HAVING condition over aggregates and GROUP BY keys.
    fn having(&mut self, keys: &[Expr], depth: u32) -> String {
        match self.rng.random_range(0..if depth == 0 { 6 } else { 10 }) {
            0..3 => {
                let a = self.agg_call();
                let op = CMP.choose(&mut self.rng).expect("not empty");
                format!("{} {op} {}", a.sql, self.rng.random_range(-1..=6))
            }
            3 => format!("{} IS NULL", self.agg_call().sql),
            4..6 => {
                let k = keys.choose(&mut self.rng).expect("keys exist").sql.clone();
                let op = CMP.choose(&mut self.rng).expect("not empty");
                format!("{k} {op} {}", self.pred_literal())
            }
            6 => format!("NOT ({})", self.having(keys, depth - 1)),
            7 | 8 => format!(
                "({} AND {})",
                self.having(keys, depth - 1),
                self.having(keys, depth - 1)
            ),
            _ => format!(
                "({} OR {})",
                self.having(keys, depth - 1),
                self.having(keys, depth - 1)
            ),
        }
    }

    /// The FROM clause: 1 to 5 sources at the top, fewer in subqueries, joined in random
    /// ways. Returns its text, WHERE conjuncts for comma joins, the product of the sources'
    /// row bounds and the cost of computing derived sources.
    fn join_tree(&mut self, depth: u32) -> (String, Vec<String>, u64, u64) {
        let n = if self.small {
            *[1, 1, 2, 2, 2, 3].choose(&mut self.rng).expect("not empty")
        } else if self.outer.is_empty() {
            *[1, 2, 2, 2, 3, 3, 3, 4, 4, 5]
                .choose(&mut self.rng)
                .expect("not empty")
        } else {
            *[1, 1, 1, 2, 2, 3].choose(&mut self.rng).expect("not empty")
        };
        let mut sql = String::new();
        let mut conds = Vec::new();
        let mut product: u64 = 1;
        let mut fixed: u64 = 0;
        // Names already merged by USING / NATURAL: using them again would be ambiguous.
        let mut merged: HashSet<String> = HashSet::new();
        for i in 0..n {
            let (item, source, rows, cost) = self.source_item(depth);
            product = product.saturating_mul(rows.max(1));
            fixed = fixed.saturating_add(cost);
            if i == 0 {
                sql = item;
                self.cur.push(source);
                continue;
            }
            let usable = self.unambiguous_common(&source, &merged);
            let all_common: Vec<String> = source
                .cols
                .iter()
                .map(|(n, _)| n.clone())
                .filter(|n| self.cur.iter().any(|s| s.cols.iter().any(|(m, _)| m == n)))
                .collect();
            let r = self.rng.random_range(0..100);
            if r < 28 {
                self.cur.push(source);
                sql += &format!(", {item}");
                if self.pct(85) {
                    conds.push(self.join_eq());
                }
            } else if r < 88 || usable.is_empty() {
                let kind = match r % 10 {
                    0..5 => "LEFT JOIN",
                    5 => "LEFT OUTER JOIN",
                    6 => "INNER JOIN",
                    7 if r >= 88 => "CROSS JOIN",
                    _ => "JOIN",
                };
                self.cur.push(source);
                if kind == "CROSS JOIN" {
                    sql += &format!(" CROSS JOIN {item}");
                    conds.push(self.join_eq());
                } else {
                    let mut on = self.join_eq();
                    if self.pct(30) {
                        // Subqueries in ON now and then only: HeliosDB rejects correlated
                        // ones under LEFT JOIN, which would otherwise drown other findings.
                        let sub = if self.pct(20) { depth.min(1) } else { 0 };
                        on = format!("{on} AND {}", self.pred(1, sub));
                    }
                    sql += &format!(" {kind} {item} ON {on}");
                }
            } else if r < 95 || usable.len() != all_common.len() {
                let left = if self.pct(40) { "LEFT " } else { "" };
                let mut names = usable.clone();
                names.shuffle(&mut self.rng);
                names.truncate(self.rng.random_range(1..=names.len().min(2)));
                sql += &format!(" {left}JOIN {item} USING ({})", names.join(", "));
                merged.extend(names);
                self.cur.push(source);
            } else {
                let left = if self.pct(40) { "LEFT " } else { "" };
                sql += &format!(" NATURAL {left}JOIN {item}");
                merged.extend(all_common);
                self.cur.push(source);
            }
        }
        (sql, conds, product, fixed)
    }

    /// Column names of `source` that exactly one current source also has and that no
    /// USING / NATURAL join has merged yet.
    fn unambiguous_common(&self, source: &Source, merged: &HashSet<String>) -> Vec<String> {
        source
            .cols
            .iter()
            .map(|(n, _)| n.clone())
            .filter(|n| {
                !merged.contains(n)
                    && self
                        .cur
                        .iter()
                        .filter(|s| s.cols.iter().any(|(m, _)| m == n))
                        .count()
                        == 1
            })
            .collect()
    }

    /// A join condition between the newest source and an earlier one (sometimes an outer
    /// one): mostly an equality, preferring columns of the same name.
    fn join_eq(&mut self) -> String {
        let new = self.cur.last().expect("a source was pushed").clone();
        let (ln, _) = new.cols.choose(&mut self.rng).expect("has columns").clone();
        let left = format!("{}.{ln}", new.alias);
        let right = if self.cur.len() > 1 && !self.pct(10) {
            let prev_i = self.rng.random_range(0..self.cur.len() - 1);
            let prev = &self.cur[prev_i];
            let same = prev.cols.iter().find(|(n, _)| *n == ln).cloned();
            let (rn, _) = match same {
                Some(c) if self.rng.random_bool(0.4) => c,
                _ => prev
                    .cols
                    .choose(&mut self.rng)
                    .expect("has columns")
                    .clone(),
            };
            format!("{}.{rn}", prev.alias)
        } else {
            self.column(true).sql
        };
        let op = if self.pct(90) {
            "="
        } else {
            *["<", "<=", ">", "<>"]
                .choose(&mut self.rng)
                .expect("not empty")
        };
        if self.pct(50) {
            format!("{left} {op} {right}")
        } else {
            let flipped = match op {
                "<" => ">",
                "<=" => ">=",
                ">" => "<",
                o => o,
            };
            format!("{right} {flipped} {left}")
        }
    }

    /// One FROM item: a base table (self-joins included), a CTE or a derived table. Returns
    /// its text, its source, its row bound and the cost of computing it.
    fn source_item(&mut self, depth: u32) -> (String, Source, u64, u64) {
        let alias = self.alias("x");
        let r = self.rng.random_range(0..100);
        if !self.ctes.is_empty() && r < 15 {
            let cte = self.ctes.choose(&mut self.rng).expect("not empty");
            let source = Source {
                alias: alias.clone(),
                cols: numbered_columns(&cte.classes),
            };
            return (
                format!("{} AS {alias}", cte.name),
                source,
                cte.rows,
                cte.cost,
            );
        }
        if depth > 0 && r >= 85 {
            let ncols = self.rng.random_range(1..=3);
            let body = self.detached(|g| g.query(ncols, Ctx::Derived, depth - 1));
            let source = Source {
                alias: alias.clone(),
                cols: numbered_columns(&body.classes),
            };
            return (
                format!("({}) AS {alias}", body.sql),
                source,
                body.rows,
                body.cost,
            );
        }
        let table = self
            .schema
            .tables
            .choose(&mut self.rng)
            .expect("tables exist");
        let source = Source {
            alias: alias.clone(),
            cols: table
                .columns
                .iter()
                .map(|c| (c.name.to_string(), c.ty.class()))
                .collect(),
        };
        let as_kw = if self.pct(80) { " AS" } else { "" };
        (
            format!("{}{as_kw} {alias}", table.name),
            source,
            table.rows as u64,
            0,
        )
    }

    /// A column of the current sources.
    fn local_column(&mut self) -> Expr {
        let s = self.cur.choose(&mut self.rng).expect("a current source");
        let (n, c) = s.cols.choose(&mut self.rng).expect("has columns");
        Expr {
            sql: format!("{}.{n}", s.alias),
            class: *c,
        }
    }

    /// A column of the current sources or, when `outer` allows and now and then, of an
    /// enclosing query (a correlated reference).
    fn column(&mut self, outer: bool) -> Expr {
        if outer && !self.outer.is_empty() && self.pct(30) {
            let level = self.rng.random_range(0..self.outer.len());
            if let Some(s) = self.outer[level].choose(&mut self.rng) {
                let (n, c) = s.cols.choose(&mut self.rng).expect("has columns");
                return Expr {
                    sql: format!("{}.{n}", s.alias),
                    class: *c,
                };
            }
        }
        self.local_column()
    }

    /// A literal for an expression that may be output: no integral reals (see [`Class`]).
    fn literal(&mut self) -> Expr {
        match self.rng.random_range(0..10) {
            0..5 => Expr {
                sql: self.rng.random_range(-3..=10).to_string(),
                class: Class::Int,
            },
            5 => Expr {
                sql: ["1.5", "-0.5"]
                    .choose(&mut self.rng)
                    .expect("x")
                    .to_string(),
                class: Class::Int,
            },
            6..8 => Expr {
                sql: ["'a'", "'b'", "'A'", "'10'"]
                    .choose(&mut self.rng)
                    .expect("x")
                    .to_string(),
                class: Class::NonNumeric,
            },
            _ => Expr {
                sql: "NULL".to_string(),
                class: Class::NonNumeric,
            },
        }
    }

    /// A literal to compare with: anything the data may hold.
    fn pred_literal(&mut self) -> String {
        match self.rng.random_range(0..12) {
            0..7 => self.rng.random_range(-3..=10).to_string(),
            7..9 => ["1.5", "-0.5", "2.0"]
                .choose(&mut self.rng)
                .expect("x")
                .to_string(),
            9..11 => ["'a'", "'b'", "'A'", "'10'"]
                .choose(&mut self.rng)
                .expect("x")
                .to_string(),
            _ => "NULL".to_string(),
        }
    }

    /// A scalar expression (no aggregates) over the current and outer sources; `sub` bounds
    /// the nesting of subqueries in it.
    fn scalar(&mut self, depth: u32, sub: u32) -> Expr {
        let r = self.rng.random_range(0..100);
        if depth == 0 || r < 55 {
            return if self.pct(80) {
                self.column(true)
            } else {
                self.literal()
            };
        }
        match r {
            55..70 => {
                let l = self.scalar(depth - 1, sub);
                let op = *["+", "-", "*"].choose(&mut self.rng).expect("x");
                let (rhs, int_lit) = if self.pct(50) {
                    (self.rng.random_range(-2..=3).to_string(), true)
                } else {
                    (self.scalar(depth - 1, sub).sql, false)
                };
                // An Int plus or minus an integer stays Int (1.5 + 1 = 2.5); anything else can
                // turn a fraction or a text into an integral real.
                let class = if op != "*" && int_lit && l.class == Class::Int {
                    Class::Int
                } else {
                    Class::Mixed
                };
                Expr {
                    sql: format!("({} {op} {rhs})", l.sql),
                    class,
                }
            }
            70..77 => {
                let cond = self.pred(depth - 1, sub);
                let a = self.scalar(depth - 1, sub);
                let b = self.scalar(depth - 1, sub);
                Expr {
                    sql: format!("CASE WHEN {cond} THEN {} ELSE {} END", a.sql, b.sql),
                    class: a.class.join(b.class),
                }
            }
            77..84 => {
                let f = ["coalesce", "ifnull"].choose(&mut self.rng).expect("x");
                let a = self.scalar(depth - 1, sub);
                let b = self.scalar(depth - 1, sub);
                Expr {
                    sql: format!("{f}({}, {})", a.sql, b.sql),
                    class: a.class.join(b.class),
                }
            }
            84..91 if sub > 0 => {
                let s = self.subquery(1, Ctx::Scalar, sub - 1);
                Expr {
                    sql: format!("({})", s.sql),
                    class: s.classes[0],
                }
            }
            84..96 => Expr {
                sql: format!("({})", self.pred(depth - 1, sub)),
                class: Class::Int,
            },
            _ => {
                let e = self.scalar(depth - 1, sub);
                // Negating text gives a number, possibly an integral real ('2.0').
                let class = if e.class == Class::Int {
                    Class::Int
                } else {
                    Class::Mixed
                };
                Expr {
                    // The space keeps `- -3` from becoming a `--` comment.
                    sql: format!("(- {})", e.sql),
                    class,
                }
            }
        }
    }

    /// A condition over the current and outer sources; `sub` bounds subquery nesting.
    fn pred(&mut self, depth: u32, sub: u32) -> String {
        let top = if depth == 0 { 52 } else { 100 };
        let not = if self.pct(30) { "NOT " } else { "" };
        match self.rng.random_range(0..top) {
            0..30 => self.comparison(sub),
            30..38 => format!("{} IS {not}NULL", self.scalar(1, sub).sql),
            38..44 => {
                let e = self.scalar(1, sub).sql;
                let lo = self.rng.random_range(-3..=6);
                let hi = lo + self.rng.random_range(-1..=5);
                format!("{e} {not}BETWEEN {lo} AND {hi}")
            }
            44..50 => {
                let e = self.scalar(1, sub).sql;
                let items: Vec<String> = (0..self.rng.random_range(1..=4))
                    .map(|_| self.pred_literal())
                    .collect();
                format!("{e} {not}IN ({})", items.join(", "))
            }
            50..52 => {
                let e = self.column(true).sql;
                let p = PATTERNS.choose(&mut self.rng).expect("x");
                format!("{e} {not}LIKE '{p}'")
            }
            52..60 => format!("NOT ({})", self.pred(depth - 1, sub)),
            60..74 => format!(
                "({} AND {})",
                self.pred(depth - 1, sub),
                self.pred(depth - 1, sub)
            ),
            74..84 => format!(
                "({} OR {})",
                self.pred(depth - 1, sub),
                self.pred(depth - 1, sub)
            ),
            84..90 if sub > 0 => {
                let ncols = self.rng.random_range(1..=2);
                let s = self.subquery(ncols, Ctx::Exists, sub - 1);
                format!("{not}EXISTS ({})", s.sql)
            }
            90..96 if sub > 0 => {
                let e = self.scalar(1, sub - 1).sql;
                let s = self.subquery(1, Ctx::In, sub - 1);
                format!("{e} {not}IN ({})", s.sql)
            }
            96..100 if sub > 0 => {
                let e = self.scalar(1, sub - 1).sql;
                let op = CMP.choose(&mut self.rng).expect("x");
                let s = self.subquery(1, Ctx::Scalar, sub - 1);
                format!("{e} {op} ({})", s.sql)
            }
            _ => self.comparison(sub),
        }
    }

    /// `expr op literal` or `expr op expr`.
    fn comparison(&mut self, sub: u32) -> String {
        let l = self.scalar(1, sub).sql;
        let op = CMP.choose(&mut self.rng).expect("x");
        let r = if self.pct(50) {
            self.pred_literal()
        } else {
            self.scalar(1, sub).sql
        };
        if *op == "IS" && self.pct(40) {
            return format!("{l} IS NOT {r}");
        }
        format!("{l} {op} {r}")
    }
}

/// Columns `k0`, `k1`, ... of a derived table or CTE with the given classes.
fn numbered_columns(classes: &[Class]) -> Vec<(String, Class)> {
    classes
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("k{i}"), *c))
        .collect()
}
