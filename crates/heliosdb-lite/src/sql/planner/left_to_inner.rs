//! Outer joins that WHERE makes less outer.
//!
//! A LEFT JOIN adds a NULL-padded row for each left row its right side does not match. When
//! a WHERE conjunct can never be true on such a row (`WHERE r.x = 1`, `WHERE r.x IS NOT
//! NULL`), the padded rows are all filtered out again, and the join returns exactly what an
//! inner join returns. SQLite rewrites such a join as an inner one before it plans
//! (`sqlite3ExprImpliesNonNullRow`), and so do we: an inner join may be reordered, its ON
//! terms and that WHERE term filter the right side's scan, and a hash join may build either
//! side. Beyond speed this matters for what is evaluated at all: with the right side first
//! and empty, SQLite never reads the left side (a recursive CTE counting from i64::MIN, say),
//! and neither does our plan once the join is inner.
//!
//! RIGHT and FULL joins likewise ([`simplify_outer`]): a RIGHT join pads every relation before
//! it for the right rows nothing matched; when WHERE rejects such rows the join is inner. A
//! FULL join becomes LEFT when WHERE rejects those rows, RIGHT when it rejects the rows whose
//! right relation is padded, and inner when it rejects both (SQLite's `sqlite3ExprImpliesNonNullRow`
//! again, in its join simplification). Nothing may move across a RIGHT or FULL join, so
//! dropping one lets the planner reorder the relations around it, and with the outer side
//! empty a never-ending relation on the other side (a recursive CTE) is never read.
//!
//! The test is conservative: a conjunct qualifies only if its structure guarantees a NULL or
//! false result when every column of the padded relations is NULL.

use super::super::plan::{Expr, JoinKind};
use super::super::value::Value;
use super::join_order::RelInfo;
use super::select::Relation;
use std::ops::Range;

/// Makes inner every LEFT JOIN of `rels` whose padded rows some conjunct of `wheres` rejects
/// (`infos` says where each relation's columns are in the combined row).
pub(super) fn simplify(rels: &mut [Relation], infos: &mut [RelInfo], wheres: &[Expr]) {
    for (rel, info) in rels.iter_mut().zip(infos.iter_mut()) {
        if rel.join != JoinKind::Left {
            continue;
        }
        let columns = info.offset..info.offset + info.width;
        if wheres.iter().any(|w| rejects_padding(w, &columns)) {
            rel.join = JoinKind::Inner;
            info.join = JoinKind::Inner;
        }
    }
}

/// Makes less outer every RIGHT and FULL join of `rels` (FROM order, columns at `offsets`)
/// whose padding some conjunct of `wheres` rejects (see the module documentation). Joins
/// associate to the left, so a RIGHT or FULL join's left side is every relation before it,
/// and its padded rows hold NULL in all of their columns.
pub(super) fn simplify_outer(rels: &mut [Relation], offsets: &[usize], wheres: &[Expr]) {
    let rejected = |columns: Range<usize>| wheres.iter().any(|w| rejects_padding(w, &columns));
    for k in 1..rels.len().min(offsets.len()) {
        let kind = rels[k].join;
        if !matches!(kind, JoinKind::Right | JoinKind::Full) {
            continue;
        }
        let left_padding = rejected(offsets[0]..offsets[k]);
        let right_padding =
            kind == JoinKind::Full && rejected(offsets[k]..offsets[k] + rels[k].columns.len());
        rels[k].join = match (kind, left_padding, right_padding) {
            (JoinKind::Right, true, _) | (JoinKind::Full, true, true) => JoinKind::Inner,
            (JoinKind::Full, true, false) => JoinKind::Left,
            (JoinKind::Full, false, true) => JoinKind::Right,
            (kind, ..) => kind,
        };
    }
}

/// True if `e`, as a filter, never holds for a row whose `columns` are all NULL.
fn rejects_padding(e: &Expr, columns: &Range<usize>) -> bool {
    match e {
        Expr::And(a, b) => rejects_padding(a, columns) || rejects_padding(b, columns),
        Expr::Or(a, b) => rejects_padding(a, columns) && rejects_padding(b, columns),
        // `x IS NOT NULL`.
        Expr::Is {
            left,
            right,
            negated: true,
        } if matches!(**right, Expr::Literal(Value::Null)) => null_when_padded(left, columns),
        // `x IS v` for a value v that is not NULL: false when x is NULL (`IS` is `=` that
        // gives false, not NULL, for NULL operands). SQLite does not count `IS` as rejecting
        // NULL (`sqlite3ExprImpliesNonNullRow` stops at it) and keeps such a join LEFT; the
        // rewrite is sound all the same, and it is what lets a plan with an empty right side
        // skip a left side that never ends (see the regression of fuzzer case 5068, where
        // SQLite skips it for another reason: a constant WHERE term after flattening).
        Expr::Is {
            left,
            right,
            negated: false,
        } if never_null(right) => null_when_padded(left, columns),
        Expr::Is {
            left,
            right,
            negated: false,
        } if never_null(left) => null_when_padded(right, columns),
        // `NULL [NOT] IN (...)` is NULL, unless the list is empty (then it is false / true).
        Expr::InList { expr, list, .. } if !list.is_empty() => null_when_padded(expr, columns),
        // A comparison, or any other value used as a condition, that is NULL.
        _ => null_when_padded(e, columns),
    }
}

/// True if `e` is a constant that is not NULL (a literal, perhaps given an affinity, which
/// changes the storage class of a value but never makes it NULL).
fn never_null(e: &Expr) -> bool {
    match e {
        Expr::Literal(v) => !matches!(v, Value::Null),
        Expr::ApplyAffinity(x, _) => never_null(x),
        _ => false,
    }
}

/// True if `e` is NULL whenever `columns` are all NULL.
fn null_when_padded(e: &Expr, columns: &Range<usize>) -> bool {
    match e {
        Expr::Column(i) => columns.contains(i),
        // Every operator gives NULL for a NULL operand (`||` included).
        Expr::Binary(_, a, b) => null_when_padded(a, columns) || null_when_padded(b, columns),
        Expr::Compare { left, right, .. } => {
            null_when_padded(left, columns) || null_when_padded(right, columns)
        }
        Expr::Neg(x) | Expr::BitNot(x) | Expr::Cast(x, _) | Expr::ApplyAffinity(x, _) => {
            null_when_padded(x, columns)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::plan::{BinOp, CmpOp};
    use super::super::super::value::Affinity;
    use super::*;

    fn col(i: usize) -> Box<Expr> {
        Box::new(Expr::Column(i))
    }

    fn lit(v: Value) -> Box<Expr> {
        Box::new(Expr::Literal(v))
    }

    fn eq(a: Box<Expr>, b: Box<Expr>) -> Expr {
        Expr::Compare {
            op: CmpOp::Eq,
            left: a,
            right: b,
            left_aff: None,
            right_aff: None,
        }
    }

    #[test]
    fn conditions_that_padding_cannot_satisfy() {
        let right = 2..4;
        // r.x = 1, r.x + 1 > 0, CAST(r.y AS INTEGER) = l.a
        assert!(rejects_padding(&eq(col(2), lit(Value::Integer(1))), &right));
        let sum = Box::new(Expr::Binary(BinOp::Add, col(3), lit(Value::Integer(1))));
        assert!(rejects_padding(&eq(sum, lit(Value::Integer(0))), &right));
        // r.x IS NOT NULL; r.x IN (1, 2); (r.x = 1) AND anything; r.x = 1 OR r.y = 2
        let not_null = Expr::Is {
            left: col(2),
            right: lit(Value::Null),
            negated: true,
        };
        assert!(rejects_padding(&not_null, &right));
        // r.x IS 1.5, 1.5 IS r.x, r.x IS '1.5' (the literal given the column's affinity):
        // false for NULL.
        let text = Box::new(Expr::ApplyAffinity(lit(Value::Real(1.5)), Affinity::Text));
        for (left, value) in [
            (col(2), lit(Value::Real(1.5))),
            (lit(Value::Real(1.5)), col(2)),
            (col(2), text),
        ] {
            let is_value = Expr::Is {
                left,
                right: value,
                negated: false,
            };
            assert!(rejects_padding(&is_value, &right));
        }
        let in_list = Expr::InList {
            expr: col(2),
            list: vec![Expr::Literal(Value::Integer(1))],
            negated: true,
            affinity: None,
        };
        assert!(rejects_padding(&in_list, &right));
        let other = eq(col(0), lit(Value::Integer(1)));
        let and = Expr::And(Box::new(other.clone()), Box::new(eq(col(2), col(0))));
        assert!(rejects_padding(&and, &right));
        let or = Expr::Or(
            Box::new(eq(col(2), lit(Value::Integer(1)))),
            Box::new(eq(col(3), lit(Value::Integer(2)))),
        );
        assert!(rejects_padding(&or, &right));
    }

    #[test]
    fn conditions_left_alone() {
        let right = 2..4;
        // Padded rows may pass: l.a = 1; r.x IS NULL; r.x = 1 OR l.a = 1; r.x NOT IN () (true
        // for every row). Not analysed (conservatively kept): NOT (r.x = 1).
        assert!(!rejects_padding(
            &eq(col(0), lit(Value::Integer(1))),
            &right
        ));
        let is_null = Expr::Is {
            left: col(2),
            right: lit(Value::Null),
            negated: false,
        };
        assert!(!rejects_padding(&is_null, &right));
        // r.x IS NOT 1 holds for NULL; r.x IS l.a may (when l.a is NULL).
        let is_not_value = Expr::Is {
            left: col(2),
            right: lit(Value::Integer(1)),
            negated: true,
        };
        assert!(!rejects_padding(&is_not_value, &right));
        let is_column = Expr::Is {
            left: col(2),
            right: col(0),
            negated: false,
        };
        assert!(!rejects_padding(&is_column, &right));
        let or = Expr::Or(
            Box::new(eq(col(2), lit(Value::Integer(1)))),
            Box::new(eq(col(0), lit(Value::Integer(1)))),
        );
        assert!(!rejects_padding(&or, &right));
        let not = Expr::Not(Box::new(eq(col(2), lit(Value::Integer(1)))));
        assert!(!rejects_padding(&not, &right));
        let empty_not_in = Expr::InList {
            expr: col(2),
            list: Vec::new(),
            negated: true,
            affinity: None,
        };
        assert!(!rejects_padding(&empty_not_in, &right));
    }
}
