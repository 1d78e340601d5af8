//! Moving HAVING conjuncts that read no aggregate below the grouping, as SQLite does.
//!
//! SQLite (`havingToWhere`) moves each conjunct of a GROUP BY query's HAVING that is built
//! from constants and GROUP BY terms only into its WHERE clause. The answer is the same, but
//! the rows of a rejected group never reach the grouping, so its aggregates are never
//! computed: an integer `sum()` that would overflow in such a group raises no error. A GROUP
//! BY term counts only under BINARY (under NOCASE the group's rows differ in case, and the
//! conjunct could tell them apart); a subquery, an aggregate, a window call, a column of an
//! enclosing query or a non-deterministic function keeps the conjunct in HAVING, and so does
//! a literal false, which SQLite leaves there too.
//!
//! The moved conjuncts join the WHERE conjuncts before the join is planned, as in SQLite,
//! where they are then WHERE terms like any other: a conjunct on one table filters that
//! table's rows before the tables after it are read, and may choose its index. (A filter
//! above the join would first run every WHERE term, a correlated subquery included, on rows
//! the moved conjunct rejects.) They come after SQLite has turned LEFT joins into inner ones
//! by the WHERE terms, so they take no part in that.

use super::super::plan::Expr;
use super::super::value::Value;
use super::select::{and_all, split_conjuncts};

/// Splits `having` (bound over the grouping's input row) into the conjuncts to test on the
/// input rows, which join the WHERE clause's, and the rest, which stay in HAVING.
/// `binary_terms` are the GROUP BY terms grouped under BINARY.
pub(super) fn move_below_grouping(
    having: Option<Expr>,
    binary_terms: &[Expr],
) -> (Vec<Expr>, Option<Expr>) {
    let Some(having) = having else {
        return (Vec::new(), None);
    };
    let mut conjuncts = Vec::new();
    split_conjuncts(having, &mut conjuncts);
    let (moved, kept): (Vec<Expr>, Vec<Expr>) = conjuncts
        .into_iter()
        .partition(|c| !is_literal_false(c) && grouped_or_constant(c, binary_terms));
    (moved, and_all(kept))
}

/// SQLite's "always false" mark: an integer literal 0 (FALSE binds to it).
fn is_literal_false(e: &Expr) -> bool {
    matches!(e, Expr::Literal(Value::Integer(0)))
}

/// True if `e` is a GROUP BY term, or is built from constants and such terms only.
fn grouped_or_constant(e: &Expr, terms: &[Expr]) -> bool {
    if terms.contains(e) {
        return true;
    }
    match e {
        Expr::Column(_)
        | Expr::Outer { .. }
        | Expr::Aggregate { .. }
        | Expr::Window(_)
        | Expr::Exists { .. }
        | Expr::InSubquery { .. }
        | Expr::ScalarSubquery(_) => false,
        Expr::Function(f, _) if !f.is_deterministic() => false,
        _ => {
            let mut ok = true;
            e.clone().map_children(&mut |c| {
                ok = ok && grouped_or_constant(&c, terms);
                c
            });
            ok
        }
    }
}
