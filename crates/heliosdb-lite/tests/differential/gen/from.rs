//! FROM clauses: base tables (self-joins included), CTEs and derived tables, joined by
//! comma, [INNER | LEFT | RIGHT | FULL | CROSS] JOIN ... ON, USING and NATURAL in random
//! order.

use super::{Ctx, Gen, Source};
use crate::schema::Class;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use std::collections::HashSet;

impl Gen<'_> {
    /// The FROM clause: 1 to 5 sources at the top, fewer in subqueries, joined in random
    /// ways. Returns its text, WHERE conjuncts for comma joins, the product of the sources'
    /// row bounds and the cost of computing derived sources.
    pub(super) fn join_tree(&mut self, depth: u32) -> (String, Vec<String>, u64, u64) {
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
            let before = product;
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
                    0..3 => "LEFT JOIN",
                    3 if r < 50 => "RIGHT JOIN",
                    3 => "RIGHT OUTER JOIN",
                    4 if r < 50 => "FULL JOIN",
                    4 => "FULL OUTER JOIN",
                    5 => "LEFT OUTER JOIN",
                    6 => "INNER JOIN",
                    7 if r >= 88 => "CROSS JOIN",
                    _ => "JOIN",
                };
                self.cur.push(source);
                if kind.starts_with("RIGHT") || kind.starts_with("FULL") {
                    // Unmatched rows of both sides: at most (left + 1) * (right + 1) rows.
                    product = (before.saturating_add(1)).saturating_mul(rows.saturating_add(1));
                }
                if kind == "CROSS JOIN" {
                    sql += &format!(" CROSS JOIN {item}");
                    conds.push(self.join_eq());
                } else {
                    let mut on = self.join_eq();
                    if self.pct(30) {
                        // Subqueries in ON now and then only: HeliosDB rejects correlated
                        // ones under LEFT JOIN, which would otherwise drown other findings.
                        let sub = if self.pct(20) && !self.avoid.on_subqueries {
                            depth.min(1)
                        } else {
                            0
                        };
                        on = format!("{on} AND {}", self.pred(1, sub));
                    }
                    sql += &format!(" {kind} {item} ON {on}");
                }
            } else if r < 95 || usable.len() != all_common.len() {
                let left = self.using_kind(&mut product, before, rows);
                let mut names = usable.clone();
                names.shuffle(&mut self.rng);
                names.truncate(self.rng.random_range(1..=names.len().min(2)));
                sql += &format!(" {left}JOIN {item} USING ({})", names.join(", "));
                merged.extend(names);
                self.cur.push(source);
            } else {
                let left = self.using_kind(&mut product, before, rows);
                sql += &format!(" NATURAL {left}JOIN {item}");
                merged.extend(all_common);
                self.cur.push(source);
            }
        }
        (sql, conds, product, fixed)
    }

    /// The kind of a USING / NATURAL join ("" for inner), adjusting the row bound for the
    /// unmatched rows a RIGHT or FULL join adds (`before`: the bound of the sources before
    /// it, `rows`: the new source's).
    fn using_kind(&mut self, product: &mut u64, before: u64, rows: u64) -> &'static str {
        let kind = match self.rng.random_range(0..10) {
            0..4 => "LEFT ",
            4 => "RIGHT ",
            5 => "FULL ",
            _ => "",
        };
        if kind == "RIGHT " || kind == "FULL " {
            *product = (before.saturating_add(1)).saturating_mul(rows.saturating_add(1));
        }
        kind
    }

    /// Column names of `source` that exactly one current source also has and that no
    /// USING / NATURAL join has merged yet.
    pub(super) fn unambiguous_common(
        &self,
        source: &Source,
        merged: &HashSet<String>,
    ) -> Vec<String> {
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
    pub(super) fn join_eq(&mut self) -> String {
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
    pub(super) fn source_item(&mut self, depth: u32) -> (String, Source, u64, u64) {
        let alias = self.alias("x");
        if self.pct(6) {
            return self.json_source(alias);
        }
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
                .map(|c| (c.name.to_string(), c.class()))
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
}

/// Columns `k0`, `k1`, ... of a derived table or CTE with the given classes.
pub(super) fn numbered_columns(classes: &[Class]) -> Vec<(String, Class)> {
    classes
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("k{i}"), *c))
        .collect()
}
