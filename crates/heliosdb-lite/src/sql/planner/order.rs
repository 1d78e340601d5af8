//! ORDER BY from key order: a sort that a scan's own order already satisfies is dropped.
//!
//! Keys and index entries are stored in the order `ORDER BY` defines on their values (the
//! key encoding is order-preserving, NULLs first), so a scan of the table by its primary key
//! or rowid yields rows sorted by that key, and a scan of an index yields them sorted by the
//! index columns (each ascending or descending as declared), then by the row key. Iterating
//! backwards yields the opposite order. A sort is redundant when its keys, after dropping
//! columns that the access path pins to one value, are a prefix of that order in one
//! direction, with NULLs where that direction puts them.
//!
//! When the sort goes, a LIMIT can stop the scan early: `ORDER BY ts DESC LIMIT 10` reads
//! ten rows instead of the table. With a LIMIT and no usable access path, a full scan is
//! replaced by a scan of the index whose order matches (each row then costs a lookup, which
//! pays off only when few rows are read, hence only with a LIMIT).

use super::super::catalog::TableInfo;
use super::super::plan::{Access, Expr, Plan, SortKey};
use super::super::value::Affinity;
use super::access::{expression_column, index_expressions, index_key_columns, key_column};
use std::sync::Arc;

/// The order a scan produces: table columns (the rowid as `ncols`, indexed expressions
/// numbered after it as in `exprs`) with their direction.
fn scan_order(info: &TableInfo, access: &Access, exprs: &[Expr]) -> (Vec<(usize, bool)>, usize) {
    let ncols = info.def.columns.len();
    let key_order = || -> Vec<(usize, bool)> {
        if info.def.has_rowid() {
            vec![(ncols, false)]
        } else {
            info.def.primary_key.iter().map(|&c| (c, false)).collect()
        }
    };
    match access {
        Access::Full => (key_order(), 0),
        Access::Key {
            index: None, eq, ..
        } => (key_order(), eq.len()),
        Access::Key {
            index: Some(ix),
            eq,
            ..
        } => {
            // An index that cannot be read gives no order (its columns match nothing).
            let keys = index_key_columns(info, ix, exprs)
                .unwrap_or_else(|| vec![usize::MAX; ix.columns.len()]);
            let mut cols: Vec<(usize, bool)> = keys
                .into_iter()
                .zip(&ix.columns)
                .map(|(k, c)| (k, c.desc))
                .collect();
            // Entries with equal index values follow in row-key order.
            cols.extend(key_order());
            (cols, eq.len())
        }
    }
}

/// Whether `order` (after its first `pinned` columns, which hold one value each) delivers
/// `wanted`: `Some(false)` forwards, `Some(true)` backwards.
fn direction(
    info: &TableInfo,
    order: &[(usize, bool)],
    pinned: usize,
    wanted: &[(usize, &SortKey)],
) -> Option<bool> {
    let pinned_cols: Vec<usize> = order[..pinned.min(order.len())]
        .iter()
        .map(|&(c, _)| key_column(info, c))
        .collect();
    let rest = &order[pinned.min(order.len())..];
    // A pinned column that mixes integers and reals holds both 2 and 2.0 (its range is widened
    // to take every numeric tie), each followed by its own run of the later columns.
    let mut broken = order[..pinned.min(order.len())]
        .iter()
        .any(|&(c, _)| mixes_numeric_types(info, c));
    let mut reverse = None;
    let mut i = 0;
    for &(col, key) in wanted {
        let col = key_column(info, col);
        if pinned_cols.contains(&col) {
            continue;
        }
        let &(have, have_desc) = rest.get(i)?;
        if broken || key_column(info, have) != col {
            return None;
        }
        broken = mixes_numeric_types(info, have);
        i += 1;
        let backwards = key.desc != have_desc;
        // NULLs encode lowest, so they come first when an ascending column is read forwards
        // or a descending one backwards.
        if key.nulls_first != (have_desc == backwards) {
            return None;
        }
        match reverse {
            None => reverse = Some(backwards),
            Some(r) if r != backwards => return None,
            _ => {}
        }
    }
    Some(reverse.unwrap_or(false))
}

/// True if order column `c` (numbered as in [`scan_order`]) may hold an integer and a real of
/// equal value, such as 2 and 2.0. The key encoding sorts numbers by value, then by type, so
/// such a column's ties are not adjacent in key order: the columns after it are in order
/// only within each type, where a sort orders them across the tie (SQLite compares 2 = 2.0).
/// Only a column without affinity (BLOB, or ANY in a strict table) keeps both kinds; an
/// indexed expression may yield either.
fn mixes_numeric_types(info: &TableInfo, c: usize) -> bool {
    if key_column(info, c) == info.def.columns.len() {
        return false; // the rowid
    }
    info.def
        .columns
        .get(c)
        .is_none_or(|col| col.affinity == Affinity::Blob)
}

/// The sort keys as table columns (or indexed expressions, numbered as in `indexed`) of the
/// scan under `Project(Scan, exprs)`, if all are.
fn sort_columns<'k>(
    info: &TableInfo,
    indexed: &[Expr],
    exprs: &[Expr],
    keys: &'k [SortKey],
) -> Option<Vec<(usize, &'k SortKey)>> {
    keys.iter()
        .map(|k| match &k.expr {
            Expr::Column(i) => match exprs.get(*i)? {
                Expr::Column(c) => Some((*c, k)),
                e => Some((expression_column(info, indexed, e)?, k)),
            },
            _ => None,
        })
        .collect()
}

/// Builds `Sort(Project(input, exprs), keys)`, leaving the sort out when the scan below
/// already produces that order (possibly by reading backwards, or, with `limited`, by
/// switching a full scan to an index).
pub(super) fn sorted(input: Plan, exprs: Vec<Expr>, keys: Vec<SortKey>, limited: bool) -> Plan {
    let Plan::Scan(mut node) = input else {
        return Plan::Sort(Box::new(Plan::Project(Box::new(input), exprs)), keys);
    };
    let info = node.table.clone();
    let indexed = index_expressions(&info);
    let Some(wanted) = sort_columns(&info, &indexed, &exprs, &keys) else {
        return Plan::Sort(
            Box::new(Plan::Project(Box::new(Plan::Scan(node)), exprs)),
            keys,
        );
    };
    let (order, pinned) = scan_order(&info, &node.access, &indexed);
    let in_list = matches!(
        &node.access,
        Access::Key {
            in_list: Some(_),
            ..
        }
    );
    let mut reverse = if in_list {
        None
    } else {
        direction(&info, &order, pinned, &wanted)
    };
    if reverse.is_none() && limited && node.access == Access::Full {
        // Only an index with an entry for every row can replace a full scan.
        for ix in info
            .indexes
            .iter()
            .filter(|ix| ix.is_binary() && ix.covers_all_rows())
        {
            let access = Access::Key {
                index: Some(Arc::clone(ix)),
                eq: Vec::new(),
                in_list: None,
                lower: None,
                upper: None,
            };
            let (order, pinned) = scan_order(&info, &access, &indexed);
            if let Some(r) = direction(&info, &order, pinned, &wanted) {
                node.access = access;
                reverse = Some(r);
                break;
            }
        }
    }
    match reverse {
        Some(r) => {
            node.reverse = r;
            node.ordered = true;
            Plan::Project(Box::new(Plan::Scan(node)), exprs)
        }
        None => Plan::Sort(
            Box::new(Plan::Project(Box::new(Plan::Scan(node)), exprs)),
            keys,
        ),
    }
}

/// Lets the scan under a LIMIT stop once it has the rows the LIMIT and OFFSET keep, when
/// nothing between them changes which rows those are.
pub(super) fn push_limit(plan: &mut Plan, limit: &Option<Expr>, offset: &Option<Expr>) {
    let Some(limit) = limit else { return };
    let mut node: &mut Plan = plan;
    loop {
        match node {
            Plan::Project(input, _) => node = input,
            // Reached only through projections: no sort, grouping, DISTINCT or join sits
            // between, so the first rows the scan keeps are the ones the LIMIT wants.
            Plan::Scan(scan) => {
                scan.stop_after = Some((limit.clone(), offset.clone()));
                return;
            }
            _ => return,
        }
    }
}
