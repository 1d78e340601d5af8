//! Scalar expressions and conditions, with subqueries (EXISTS, IN, scalar) that may be
//! correlated with any enclosing query.

use super::{Ctx, Expr, Gen};
use crate::schema::Class;
use rand::seq::IndexedRandom;
use rand::Rng;

/// Comparison operators for predicates.
const CMP: [&str; 9] = ["=", "=", "<>", "!=", "<", "<=", ">", ">=", "IS"];

/// LIKE patterns; SQLite's LIKE ignores ASCII case, so 'a%' also matches 'A'.
const PATTERNS: [&str; 8] = ["a%", "%a", "A", "_", "1%", "%0", "-%", "%"];

impl Gen<'_> {
    /// A column of the current sources.
    pub(super) fn local_column(&mut self) -> Expr {
        let s = self.cur.choose(&mut self.rng).expect("a current source");
        let (n, c) = s.cols.choose(&mut self.rng).expect("has columns");
        Expr {
            sql: format!("{}.{n}", s.alias),
            class: *c,
        }
    }

    /// A column of the current sources or, when `outer` allows and now and then, of an
    /// enclosing query (a correlated reference).
    pub(super) fn column(&mut self, outer: bool) -> Expr {
        if outer && !self.outer.is_empty() && self.pct(30) {
            let level = self.rng.random_range(0..self.outer.len());
            let pick = if self.avoid.correlated_later {
                self.outer[level].first()
            } else {
                self.outer[level].choose(&mut self.rng)
            };
            if let Some(s) = pick {
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
    pub(super) fn literal(&mut self) -> Expr {
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
    pub(super) fn pred_literal(&mut self) -> String {
        match self.rng.random_range(0..12) {
            0..7 => self.rng.random_range(-3..=10).to_string(),
            7..9 => ["1.5", "-0.5", "2.0"]
                .choose(&mut self.rng)
                .expect("x")
                .to_string(),
            9..11 => ["'a'", "'b'", "'A'", "'10'", "'a '", "'B'", "' 4'"]
                .choose(&mut self.rng)
                .expect("x")
                .to_string(),
            _ => "NULL".to_string(),
        }
    }

    /// A scalar expression (no aggregates) over the current and outer sources; `sub` bounds
    /// the nesting of subqueries in it.
    pub(super) fn scalar(&mut self, depth: u32, sub: u32) -> Expr {
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
            70..74 => {
                let cond = self.pred(depth - 1, sub);
                let a = self.scalar(depth - 1, sub);
                let b = self.scalar(depth - 1, sub);
                Expr {
                    sql: format!("CASE WHEN {cond} THEN {} ELSE {} END", a.sql, b.sql),
                    class: a.class.join(b.class),
                }
            }
            74..77 => {
                // The simple form compares the base with each WHEN value as `=` would
                // (affinity and collation included); results of mixed types, no ELSE at times.
                let base = self.scalar(depth - 1, sub).sql;
                let w1 = self.pred_literal();
                let w2 = self.scalar(depth - 1, sub).sql;
                let a = self.scalar(depth - 1, sub);
                let b = self.literal();
                let (els, c) = if self.pct(50) {
                    let c = self.scalar(depth - 1, sub);
                    (format!(" ELSE {}", c.sql), c.class)
                } else {
                    (String::new(), Class::NonNumeric)
                };
                Expr {
                    sql: format!(
                        "CASE {base} WHEN {w1} THEN {} WHEN {w2} THEN {}{els} END",
                        a.sql, b.sql
                    ),
                    class: a.class.join(b.class).join(c),
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
    pub(super) fn pred(&mut self, depth: u32, sub: u32) -> String {
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
                let e = in_subquery_operand(self.scalar(1, sub - 1).sql);
                let s = self.subquery(1, Ctx::In, sub - 1);
                format!("{e} {not}IN ({})", s.sql)
            }
            96..100 if sub > 0 => {
                let e = self.scalar(1, sub - 1).sql;
                let op = self.cmp_op();
                let s = self.subquery(1, Ctx::Scalar, sub - 1);
                format!("{e} {op} ({})", s.sql)
            }
            _ => self.comparison(sub),
        }
    }

    /// A comparison operator (`IS` only when not avoided).
    pub(super) fn cmp_op(&mut self) -> &'static str {
        let op = *CMP.choose(&mut self.rng).expect("not empty");
        if self.avoid.is && op == "IS" {
            "="
        } else {
            op
        }
    }

    /// `expr op literal` or `expr op expr`.
    pub(super) fn comparison(&mut self, sub: u32) -> String {
        let mut l = self.scalar(1, sub).sql;
        // An explicit collation on the left operand overrides any column's. Not over a
        // subquery in an UPDATE's or DELETE's WHERE: SQLite's COLLATE node does not carry
        // the "has a subquery" mark of its operand up the expression, so SQLite then
        // changes each row as its scan reaches it, and a later row's subquery sees the rows
        // changed before it (DML seed 28: `WHERE (SELECT count(*) ... FROM t1 x2 WHERE
        // ... t1.e ...) COLLATE RTRIM IS 0` changed 1 row of 6; without the COLLATE it
        // gathers first and changes all 6, as HeliosDB-Lite does). A quirk we do not imitate.
        if self.pct(8) && !(self.dml_filter && l.contains("SELECT")) {
            let k = ["NOCASE", "RTRIM", "BINARY"]
                .choose(&mut self.rng)
                .expect("not empty");
            l = format!("{l} COLLATE {k}");
        }
        let op = self.cmp_op();
        let r = if self.pct(50) {
            self.pred_literal()
        } else {
            self.scalar(1, sub).sql
        };
        if op == "IS" && self.pct(40) {
            return format!("{l} IS NOT {r}");
        }
        format!("{l} {op} {r}")
    }
}

/// The left operand of `IN (SELECT ...)`, kept out of a SQLite quirk we do not imitate.
///
/// SQLite applies the comparison affinity of `x IN (SELECT ...)` to the register that holds
/// `x`, in place. When `x` is a bare column of a derived table or CTE (`k0`, `k1`, ...), that
/// register is the subquery's output row itself, so the conversion leaks into every later use
/// of the column in the same row: with a TEXT subquery column, an integer `k0` is then output
/// as the text `'1'` and compares as text (seed 20261203, case 51615). That is an artefact of
/// SQLite's register allocation, not of its documented semantics; a copy of the column
/// (`coalesce(k0, NULL)`, a fresh register holding the same value) keeps both engines on the
/// documented rules.
fn in_subquery_operand(sql: String) -> String {
    let bare_derived_column = sql.split_once('.').is_some_and(|(alias, col)| {
        !alias.is_empty()
            && alias.chars().all(|c| c.is_ascii_alphanumeric())
            && col.starts_with('k')
            && col.len() > 1
            && col[1..].chars().all(|c| c.is_ascii_digit())
    });
    if bare_derived_column {
        format!("coalesce({sql}, NULL)")
    } else {
        sql
    }
}
