//! Access-path selection: which key or index range a table scan uses for its conjuncts.
//!
//! A conjunct `column op value` (or `column IN (values)`), where the value does not depend on
//! the scanned row, can bound a key. For the table's own key and each index, the longest run
//! of equalities on leading key columns is taken, then an IN list or a range on the next
//! column. Point lookups on a complete unique key win, then longer equality runs. The scan
//! still applies every conjunct as a filter, so a key range only has to contain the answer.
//!
//! An index part that is an expression (`lower(name)`) bounds the key the same way, for a
//! comparison of that very expression (the bound forms are equal): each distinct index
//! expression of the table stands for a key column numbered after the rowid. A partial index
//! is a candidate only when the scan's conjuncts imply every conjunct of its condition (the
//! same conjunct, or a comparison of `x` for `x IS NOT NULL`: SQLite's simple implication
//! test), so its entries hold every row the query can return.
//!
//! After ANALYZE (see `sql::analyze`) an index is also weighed against a full scan: fetching a
//! row through an index costs a few scan rows (a seek for the row), so an index whose key
//! keeps more than [`INDEX_WORTH_SHARE`] of the table loses to reading the table once.

use super::super::catalog::{IndexDef, TableInfo};
use super::super::plan::{Access, CmpOp, Expr, KeyBound, ScanNode, Source};
use std::sync::Arc;

/// Largest share of a table an analyzed index may select and still be preferred to a full
/// scan (each row reached through an index costs about four rows of a scan).
pub(super) const INDEX_WORTH_SHARE: f64 = 0.25;

enum Cond {
    Cmp(CmpOp, Expr),
    In(Vec<Expr>),
}

struct KeyCond {
    column: usize,
    cond: Cond,
}

/// Normalises column references: for rowid tables, the rowid pseudo-column and the
/// INTEGER PRIMARY KEY column are the same key column (`ncols`).
pub(super) fn key_column(info: &TableInfo, c: usize) -> usize {
    let ncols = info.def.columns.len();
    if info.def.has_rowid() && (c == ncols || info.def.rowid_column == Some(c)) {
        ncols
    } else {
        c
    }
}

/// The value side of a comparison as the comparison sees it: with its affinity applied.
fn with_affinity(e: &Expr, aff: Option<super::super::value::Affinity>) -> Expr {
    match aff {
        Some(a) => Expr::ApplyAffinity(Box::new(e.clone()), a),
        None => e.clone(),
    }
}

/// The distinct expressions of the table's expression indexes: the `k`-th is key column
/// `ncols + 1 + k` to the access-path and ORDER BY code.
pub(super) fn index_expressions(info: &TableInfo) -> Vec<Expr> {
    let mut out: Vec<Expr> = Vec::new();
    for ix in info.indexes.iter().filter(|ix| ix.is_computed()) {
        let Ok(bound) = super::super::execution::computed::bound_index(ix) else {
            continue;
        };
        for e in bound.parts.iter().flatten() {
            if !out.contains(e) {
                out.push(e.clone());
            }
        }
    }
    out
}

/// The key column an expression stands for, if an index has it as a part.
pub(super) fn expression_column(info: &TableInfo, exprs: &[Expr], e: &Expr) -> Option<usize> {
    exprs
        .iter()
        .position(|x| x == e)
        .map(|k| info.def.columns.len() + 1 + k)
}

/// The key columns of an index: table columns (the rowid as `ncols`) and expression parts
/// numbered as in `exprs` (`None` if the index cannot be read).
pub(super) fn index_key_columns(
    info: &TableInfo,
    ix: &IndexDef,
    exprs: &[Expr],
) -> Option<Vec<usize>> {
    let bound = super::super::execution::computed::bound_index(ix).ok()?;
    ix.columns
        .iter()
        .enumerate()
        .map(|(k, c)| match bound.parts.get(k).and_then(Option::as_ref) {
            Some(e) => expression_column(info, exprs, e),
            None => Some(key_column(info, c.column)),
        })
        .collect()
}

/// True if the scan's conjuncts imply every conjunct of a partial index's condition, so
/// that every row the scan may return has an entry in the index.
pub(super) fn index_usable(ix: &IndexDef, conjuncts: &[Expr]) -> bool {
    match super::super::execution::computed::bound_index(ix) {
        Ok(bound) => bound.predicate.iter().all(|p| implied(p, conjuncts)),
        Err(_) => false,
    }
}

/// SQLite's implication test for a partial index's conjunct: the same conjunct is in the
/// query, or the conjunct is `x IS NOT NULL` and the query compares `x` with `=`, `<`,
/// `<=`, `>` or `>=` (which is never true for a NULL `x`).
fn implied(p: &Expr, conjuncts: &[Expr]) -> bool {
    if conjuncts.contains(p) {
        return true;
    }
    let Expr::Is {
        left: x,
        right,
        negated: true,
    } = p
    else {
        return false;
    };
    if **right != Expr::Literal(super::super::value::Value::Null) {
        return false;
    }
    conjuncts.iter().any(|c| match c {
        Expr::Compare {
            op, left, right, ..
        } if *op != CmpOp::Ne => strip_affinity(left) == &**x || strip_affinity(right) == &**x,
        _ => false,
    })
}

fn strip_affinity(e: &Expr) -> &Expr {
    match e {
        Expr::ApplyAffinity(inner, _) => inner,
        other => other,
    }
}

fn key_conditions(info: &TableInfo, conjuncts: &[Expr], exprs: &[Expr]) -> Vec<KeyCond> {
    // A column, or an indexed expression, as a key column.
    let key_of = |e: &Expr| match e {
        Expr::Column(col) => Some(key_column(info, *col)),
        other if !exprs.is_empty() => expression_column(info, exprs, other),
        _ => None,
    };
    let mut out = Vec::new();
    for c in conjuncts {
        match c {
            Expr::Compare {
                op,
                left,
                right,
                left_aff,
                right_aff,
            } if *op != CmpOp::Ne => {
                if let (Some(column), None) = (key_of(left), left_aff) {
                    if right.is_row_independent() {
                        out.push(KeyCond {
                            column,
                            cond: Cond::Cmp(*op, with_affinity(right, *right_aff)),
                        });
                        continue;
                    }
                }
                if let (Some(column), None) = (key_of(right), right_aff) {
                    if left.is_row_independent() {
                        out.push(KeyCond {
                            column,
                            cond: Cond::Cmp(op.flip(), with_affinity(left, *left_aff)),
                        });
                    }
                }
            }
            Expr::InList {
                expr,
                list,
                negated: false,
                ..
            } => {
                if let Some(column) = key_of(expr) {
                    if list.iter().all(Expr::is_row_independent) {
                        out.push(KeyCond {
                            column,
                            cond: Cond::In(list.clone()),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    out
}

struct Candidate {
    access: Access,
    score: u32,
}

fn candidate(
    columns: &[usize],
    unique: bool,
    conds: &[KeyCond],
    index: Option<Arc<super::super::catalog::IndexDef>>,
) -> Option<Candidate> {
    let mut eq = Vec::new();
    for &col in columns {
        let e = conds.iter().find_map(|k| match &k.cond {
            Cond::Cmp(CmpOp::Eq, v) if k.column == col => Some(v.clone()),
            _ => None,
        });
        match e {
            Some(v) => eq.push(v),
            None => break,
        }
    }
    let mut in_list = None;
    let mut lower = None;
    let mut upper = None;
    if let Some(&next) = columns.get(eq.len()) {
        in_list = conds.iter().find_map(|k| match &k.cond {
            Cond::In(list) if k.column == next => Some(list.clone()),
            _ => None,
        });
        if in_list.is_none() {
            for k in conds.iter().filter(|k| k.column == next) {
                if let Cond::Cmp(op, v) = &k.cond {
                    let b = |inclusive| {
                        Some(KeyBound {
                            value: v.clone(),
                            inclusive,
                        })
                    };
                    match op {
                        CmpOp::Gt if lower.is_none() => lower = b(false),
                        CmpOp::Ge if lower.is_none() => lower = b(true),
                        CmpOp::Lt if upper.is_none() => upper = b(false),
                        CmpOp::Le if upper.is_none() => upper = b(true),
                        _ => {}
                    }
                }
            }
        }
    }
    let complete = eq.len() == columns.len();
    let score = if complete && unique {
        1000
    } else if complete && in_list.is_none() {
        100 + eq.len() as u32 * 10
    } else {
        eq.len() as u32 * 10
            + if in_list.is_some() { 8 } else { 0 }
            + if lower.is_some() || upper.is_some() {
                4
            } else {
                0
            }
    };
    if score == 0 {
        return None;
    }
    Some(Candidate {
        access: Access::Key {
            index,
            eq,
            in_list,
            lower,
            upper,
        },
        score,
    })
}

/// Picks the access path for a scan of `info` filtered by `conjuncts`.
/// A scan of `table` that keeps the rows `conjuncts` (over its columns) hold for, through the
/// key or index they choose; order, limit, estimate and column pruning are left to later
/// steps.
pub(super) fn filtered_scan(
    table: Arc<TableInfo>,
    alias: String,
    source: Source,
    conjuncts: Vec<Expr>,
) -> ScanNode {
    ScanNode {
        access: choose(&table, &conjuncts),
        table,
        alias,
        source,
        filter: super::select::and_all(conjuncts),
        reverse: false,
        ordered: false,
        stop_after: None,
        estimate: None,
        columns: None,
        filter_columns: None,
    }
}

pub(super) fn choose(info: &TableInfo, conjuncts: &[Expr]) -> Access {
    let exprs = index_expressions(info);
    let conds = key_conditions(info, conjuncts, &exprs);
    if conds.is_empty() {
        return Access::Full;
    }
    let ncols = info.def.columns.len();
    let pk_cols: Vec<usize> = if info.def.has_rowid() {
        vec![ncols]
    } else {
        info.def.primary_key.clone()
    };
    let mut best = candidate(&pk_cols, true, &conds, None);
    // An index under NOCASE or RTRIM holds collation keys, which plain comparisons cannot use.
    for ix in info.indexes.iter().filter(|ix| ix.is_binary()) {
        if ix.is_computed() && !index_usable(ix, conjuncts) {
            continue;
        }
        let Some(cols) = index_key_columns(info, ix, &exprs) else {
            continue;
        };
        if let Some(c) = candidate(&cols, ix.unique, &conds, Some(ix.clone())) {
            // The table's own key needs no second lookup, so it wins ties.
            if best.as_ref().is_none_or(|b| c.score > b.score) {
                best = Some(c);
            }
        }
    }
    let access = best.map_or(Access::Full, |c| c.access);
    if too_broad(&access) {
        return Access::Full;
    }
    access
}

/// True for an access through an analyzed index, bounded by values known before the scan
/// (not by an outer row: the join orderer weighs those), that selects so much of the table
/// that a full scan is cheaper.
fn too_broad(access: &Access) -> bool {
    let Access::Key {
        index: Some(ix),
        eq,
        in_list,
        lower,
        upper,
    } = access
    else {
        return false;
    };
    if lower.is_some() || upper.is_some() {
        return false;
    }
    let mut outer = false;
    for e in eq.iter().chain(in_list.iter().flatten()) {
        e.walk(&mut |x| outer |= matches!(x, Expr::Outer { .. }));
    }
    if outer {
        return false;
    }
    let pinned = eq.len() + usize::from(in_list.is_some());
    let values = in_list.as_ref().map_or(1, Vec::len) as f64;
    ix.eq_fraction(pinned)
        .is_some_and(|f| f * values > INDEX_WORTH_SHARE)
}

/// Share of `info`'s rows that `column = value` keeps, from an analyzed index led by the
/// column (`None` without one).
pub(super) fn analyzed_eq_fraction(info: &TableInfo, column: usize) -> Option<f64> {
    let column = key_column(info, column);
    info.indexes
        .iter()
        .filter(|ix| ix.is_binary() && !ix.is_computed())
        .filter(|ix| {
            ix.columns
                .first()
                .is_some_and(|c| key_column(info, c.column) == column)
        })
        .find_map(|ix| ix.eq_fraction(1))
}
