//! Planning a FROM clause of several relations: classifying conjuncts, choosing the join
//! order ([`super::join_order`]) and building the join tree.
//!
//! Every expression of the query is bound against one combined row: each relation's columns
//! at a fixed offset, in FROM order. The join tree keeps that layout whatever the join order
//! (the first relation is placed into a row of full width and each join fills its
//! relation's slot), so the conjuncts and the select list need no rewriting across orders.
//! Only expressions that run inside a relation's own scan are remapped: the relation's
//! columns to the scan's row, and, for the inner side of a lookup, the other relations'
//! columns to the enclosing (joined) row.

use super::super::plan::{Access, CmpOp, Expr, HashKey, JoinAlgorithm, JoinKind, JoinNode, Plan};
use super::super::value::Affinity;
use super::join_order::{self, Conjunct, Method, RelInfo};
use super::select::{and_all, RelKind, Relation};
use super::{access, Planner};
use crate::error::{Error, Result};

/// Relations a join may have, as SQLite allows.
pub const MAX_JOIN_RELATIONS: usize = 64;

/// The relations (bit mask) an expression reads in the combined row: its columns, and the
/// enclosing-row columns its correlated subqueries read (all relations when a subquery reads
/// further out and its columns are not known).
pub(super) fn mask_of(e: &Expr, rels: &[RelInfo]) -> u64 {
    let rel_of = |i: usize| rels.iter().rposition(|r| r.offset <= i).unwrap_or(0);
    let all = if rels.len() >= 64 {
        u64::MAX
    } else {
        (1u64 << rels.len()) - 1
    };
    let mut mask = 0u64;
    e.walk(&mut |x| match x {
        Expr::Column(i) => mask |= 1 << rel_of(*i),
        Expr::InSubquery { plan, .. } | Expr::Exists { plan, .. } | Expr::ScalarSubquery(plan)
            if plan.correlated =>
        {
            match &plan.outer_columns {
                Some(cols) => cols.iter().for_each(|&c| mask |= 1 << rel_of(c)),
                None => mask = all,
            }
        }
        _ => {}
    });
    mask
}

/// Rewrites a combined-row expression to run in relation `rel`'s own scan. With `lookup`,
/// the other relations' columns read the enclosing (joined) row and enclosing rows move one
/// level out; without, the expression must read only `rel`.
fn to_local(e: &Expr, rel: &RelInfo, lookup: bool) -> Expr {
    let (lo, hi) = (rel.offset, rel.offset + rel.width);
    e.clone().transform(&mut |x| match x {
        Expr::Column(i) if (lo..hi).contains(&i) => Expr::Column(i - lo),
        Expr::Column(i) if lookup => Expr::Outer { depth: 1, index: i },
        Expr::Outer { depth, index } if lookup => Expr::Outer {
            depth: depth + 1,
            index,
        },
        x => x,
    })
}

/// True if an access path reads the enclosing row (its key comes from the outer side).
fn access_reads_left(a: &Access) -> bool {
    let Access::Key {
        eq,
        in_list,
        lower,
        upper,
        ..
    } = a
    else {
        return false;
    };
    let mut found = false;
    let mut check = |e: &Expr| {
        e.walk(&mut |x| found |= matches!(x, Expr::Outer { depth: 1, .. }));
    };
    eq.iter().for_each(&mut check);
    in_list.iter().flatten().for_each(&mut check);
    lower.iter().chain(upper).for_each(|b| check(&b.value));
    found
}

/// Guessed fraction of rows a conjunct on one relation keeps.
fn selectivity(c: &Expr, rel: &RelInfo) -> f64 {
    match c {
        Expr::Compare {
            op: CmpOp::Eq,
            left,
            right,
            ..
        } => {
            let unique = rel.table.as_ref().is_some_and(|t| {
                [left, right].iter().any(|s| {
                    matches!(***s, Expr::Column(i) if i >= rel.offset
                        && join_order::is_unique_column(t, i - rel.offset))
                })
            });
            if unique {
                return 1.0 / rel.rows.max(1.0);
            }
            // With ANALYZE figures for an index led by the column: their share.
            let analyzed = rel.table.as_ref().and_then(|t| {
                [left, right].iter().find_map(|s| match ***s {
                    Expr::Column(i) if i >= rel.offset => {
                        access::analyzed_eq_fraction(t, i - rel.offset)
                    }
                    _ => None,
                })
            });
            analyzed.unwrap_or(0.1)
        }
        Expr::Compare { op: CmpOp::Ne, .. } => 0.9,
        Expr::Compare {
            op, left, right, ..
        } => rowid_range_fraction(*op, left, right, rel).unwrap_or(0.3),
        Expr::InList { list, .. } => (0.1 * list.len() as f64).min(0.5),
        Expr::Is { .. } => 0.1,
        _ => 0.5,
    }
}

/// For `rowid < n` (and the like) on a rowid table: the share of rowids on the kept side of
/// `n`, rowids being dense from 1 to about the row count.
fn rowid_range_fraction(op: CmpOp, left: &Expr, right: &Expr, rel: &RelInfo) -> Option<f64> {
    let t = rel.table.as_ref()?;
    if !t.def.has_rowid() {
        return None;
    }
    let is_rowid = |e: &Expr| {
        matches!(e, Expr::Column(i) if *i >= rel.offset
            && access::key_column(t, i - rel.offset) == t.def.columns.len())
    };
    let (op, bound) = if is_rowid(left) {
        (op, right)
    } else if is_rowid(right) {
        (op.flip(), left)
    } else {
        return None;
    };
    let n = match bound {
        Expr::Literal(v) => v.as_f64(),
        _ => return None,
    };
    let below = (n / rel.rows.max(1.0)).clamp(0.0, 1.0);
    Some(match op {
        CmpOp::Lt | CmpOp::Le => below,
        _ => 1.0 - below,
    })
}

/// Plans the join of `rels` (FROM order, columns at `offsets`) under the conjuncts of WHERE
/// (`wheres`), of HAVING moved below the grouping (`having`: WHERE terms that do not take
/// part in turning LEFT joins into inner ones) and of each relation's ON clause (`ons`).
pub(super) fn plan_join(
    p: &mut Planner<'_>,
    mut rels: Vec<Relation>,
    offsets: &[usize],
    width: usize,
    wheres: Vec<Expr>,
    having: Vec<Expr>,
    ons: Vec<Vec<Expr>>,
) -> Result<Plan> {
    let n = rels.len();
    if n > MAX_JOIN_RELATIONS {
        return Err(Error::LimitExceeded(format!(
            "at most {MAX_JOIN_RELATIONS} tables in a join; this one has {n}"
        )));
    }
    let mut infos: Vec<RelInfo> = Vec::with_capacity(n);
    for (k, r) in rels.iter().enumerate() {
        let (table, rows) = match &r.kind {
            RelKind::Table { info, source } => (
                Some(info.clone()),
                p.history.row_estimate(info, *source).max(1.0),
            ),
            RelKind::Sub(Plan::Values(v)) => (None, v.len().max(1) as f64),
            RelKind::Sub(_) => (None, 1000.0),
            // SQLite's guess for a table-valued function with its arguments given.
            RelKind::Function { .. } => (None, 25.0),
        };
        infos.push(RelInfo {
            table,
            join: r.join,
            rows,
            filtered: rows,
            offset: offsets[k],
            width: r.columns.len(),
            depends: 0,
        });
    }
    for (k, r) in rels.iter().enumerate() {
        if let RelKind::Function { args, .. } = &r.kind {
            let depends = args.iter().fold(0, |m, a| m | mask_of(a, &infos));
            infos[k].depends = depends & !(1u64 << k);
        }
    }
    // EXISTS that become semi joins, with the relations they read.
    let mut semis = Vec::new();
    let mut rest = Vec::new();
    for w in wheres {
        match super::decorrelate::semi_join(&w) {
            Some(s) => semis.push((Some(s), mask_of(&w, &infos))),
            None => rest.push(w),
        }
    }
    let mut wheres = rest;
    super::left_to_inner::simplify(&mut rels, &mut infos, &wheres);
    // HAVING's moved conjuncts (no subquery in them) are WHERE terms from here on.
    wheres.extend(having);
    // Classify the conjuncts.
    let mut conjuncts: Vec<Conjunct> = Vec::new();
    let mut add = |expr: Expr, on_of: Option<usize>, infos: &[RelInfo]| {
        // A LEFT JOIN's ON conjunct decides that join's matches, whatever it reads: it is
        // evaluated when its relation joins, never earlier, and never later either (then it
        // would filter the padded rows as WHERE does). It can read only the relations up to
        // its own (SQL's scoping), so a subquery in it that reads further out, whose columns
        // `mask_of` takes to be every relation's, reads none after it.
        let mask = match on_of {
            Some(r) => (mask_of(&expr, infos) & (u64::MAX >> (63 - r))) | (1u64 << r),
            None => mask_of(&expr, infos),
        };
        let correlated = expr.has_correlated_subquery();
        let single = mask.count_ones() == 1;
        let r = mask.trailing_zeros() as usize;
        // A conjunct on one relation runs inside its scan, unless it must see the relation's
        // NULL padding (a WHERE conjunct on a LEFT JOIN's right side).
        let local = single
            && !correlated
            && match on_of {
                Some(o) => o == r,
                None => infos[r].join == JoinKind::Inner,
            };
        conjuncts.push(Conjunct {
            expr,
            mask,
            on_of,
            correlated,
            local,
        });
    };
    for w in wheres {
        add(w, None, &infos);
    }
    for (k, on) in ons.into_iter().enumerate() {
        let of = (rels[k].join == JoinKind::Left).then_some(k);
        for c in on {
            add(c, of, &infos);
        }
    }
    // Conjuncts completing at the same step are tested in this order: those holding a
    // correlated subquery last, as SQLite codes them (`select::correlated_last`).
    conjuncts.sort_by_key(|c| c.correlated);
    for (k, info) in infos.iter_mut().enumerate() {
        let mut f = info.rows;
        for c in conjuncts.iter().filter(|c| c.local && c.mask == 1 << k) {
            f *= selectivity(&c.expr, info);
        }
        info.filtered = f.max(1.0);
    }
    // Lookups: which relations can be reached by key from a set of others.
    let order = {
        let infos_ref = &infos;
        let conj_ref = &conjuncts;
        let mut lookup = |r: usize, mask: u64| -> Option<f64> {
            let info = infos_ref[r].table.as_ref()?;
            let scan_conj = scan_conjuncts(conj_ref, infos_ref, r, mask);
            let local: Vec<Expr> = scan_conj
                .iter()
                .map(|c| to_local(c, &infos_ref[r], true))
                .collect();
            let a = access::choose(info, &local);
            if !access_reads_left(&a) {
                return None;
            }
            Some(lookup_rows(&a, info, &infos_ref[r]))
        };
        join_order::choose(&infos, &conjuncts, &mut lookup)
    };
    build(p, rels, &infos, &conjuncts, &order, width, semis)
}

/// The conjuncts that can run inside relation `r`'s scan when it is looked up from the
/// relations of `mask`: its own, and those completing at this step that may filter it.
fn scan_conjuncts<'c>(
    conjuncts: &'c [Conjunct],
    infos: &[RelInfo],
    r: usize,
    mask: u64,
) -> Vec<&'c Expr> {
    let bit = 1u64 << r;
    conjuncts
        .iter()
        .filter(|c| {
            if c.local {
                return c.mask == bit;
            }
            if c.correlated || c.mask & bit == 0 || c.mask & !(mask | bit) != 0 {
                return false;
            }
            match infos[r].join {
                JoinKind::Left => c.on_of == Some(r),
                _ => c.on_of.is_none(),
            }
        })
        .map(|c| &c.expr)
        .collect()
}

/// Rows a lookup with access path `a` finds per outer row.
fn lookup_rows(a: &Access, info: &super::super::catalog::TableInfo, rel: &RelInfo) -> f64 {
    let Access::Key {
        index,
        eq,
        in_list,
        lower,
        upper,
    } = a
    else {
        return rel.rows;
    };
    let ncols = match index {
        None if info.def.has_rowid() => 1,
        None => info.def.primary_key.len(),
        Some(ix) => ix.columns.len(),
    };
    let unique = index.as_ref().is_none_or(|ix| ix.unique);
    if unique && eq.len() == ncols {
        return 1.0;
    }
    let analyzed = index.as_ref().and_then(|ix| {
        let pinned = eq.len() + usize::from(in_list.is_some());
        ix.eq_fraction(pinned)
    });
    let mut rows = match analyzed {
        Some(f) => rel.rows * f * in_list.as_ref().map_or(1.0, |l| l.len() as f64),
        None => {
            let mut rows = rel.rows * 0.1f64.powi(eq.len() as i32);
            if let Some(l) = in_list {
                rows *= (0.1 * l.len() as f64).min(1.0);
            }
            rows
        }
    };
    if lower.is_some() || upper.is_some() {
        rows *= 0.3;
    }
    rows.max(1.0)
}

/// Builds the join tree for the chosen order.
fn build(
    p: &mut Planner<'_>,
    rels: Vec<Relation>,
    infos: &[RelInfo],
    conjuncts: &[Conjunct],
    order: &join_order::Order,
    width: usize,
    mut semis: Vec<(Option<super::decorrelate::SemiJoin>, u64)>,
) -> Result<Plan> {
    let mut kinds: Vec<Option<(RelKind, String)>> =
        rels.into_iter().map(|r| Some((r.kind, r.alias))).collect();
    let mut applied = vec![false; conjuncts.len()];
    let mut mask = 0u64;
    let mut plan: Option<Plan> = None;
    for (step_no, &(r, method)) in order.steps.iter().enumerate() {
        let bit = 1u64 << r;
        let info = &infos[r];
        let (kind, alias) = kinds[r].take().expect("each relation once");
        let estimate = order.rows[step_no];
        // Conjuncts that complete at this step.
        let completing: Vec<usize> = (0..conjuncts.len())
            .filter(|&i| {
                !applied[i]
                    && !conjuncts[i].local
                    && conjuncts[i].mask & bit != 0
                    && conjuncts[i].mask & !(mask | bit) == 0
            })
            .collect();
        // Also constants (no relation) at the first step, but for the WHERE terms that
        // gate the whole join (below).
        let constants: Vec<usize> = if step_no == 0 {
            (0..conjuncts.len())
                .filter(|&i| conjuncts[i].mask == 0 && !gates_join(&conjuncts[i]))
                .collect()
        } else {
            Vec::new()
        };
        let is_left = info.join == JoinKind::Left && step_no > 0;
        // Which completing conjuncts belong to the join's match condition, which filter after.
        let (matching, post): (Vec<usize>, Vec<usize>) =
            completing.iter().partition(|&&i| match info.join {
                JoinKind::Left => conjuncts[i].on_of == Some(r),
                _ => true,
            });
        let local: Vec<Expr> = conjuncts
            .iter()
            .filter(|c| c.local && c.mask == bit)
            .map(|c| to_local(&c.expr, info, false))
            .collect();
        let mut in_scan: Vec<Expr> = local;
        let mut condition: Vec<Expr> = Vec::new();
        let mut post_filter: Vec<Expr> = Vec::new();
        let mut algorithm = JoinAlgorithm::Loop;
        match method {
            Method::First => {
                for &i in completing.iter().chain(&constants) {
                    post_filter.push(conjuncts[i].expr.clone());
                }
            }
            Method::Lookup => {
                algorithm = JoinAlgorithm::Lookup;
                // The same conjuncts, in the same order, as the orderer gave the access-path
                // chooser, so the scan gets the key it was costed with. Inside the lookup the
                // joined row is the enclosing row.
                in_scan = scan_conjuncts(conjuncts, infos, r, mask)
                    .into_iter()
                    .map(|c| to_local(c, info, true))
                    .collect();
                for &i in &matching {
                    if conjuncts[i].correlated {
                        condition.push(conjuncts[i].expr.clone());
                    }
                }
                post.iter()
                    .for_each(|&i| post_filter.push(conjuncts[i].expr.clone()));
            }
            Method::Hash | Method::HashLeft | Method::Loop => {
                let mut left_keys = Vec::new();
                let mut right_keys = Vec::new();
                for &i in &matching {
                    let c = &conjuncts[i];
                    if method != Method::Loop && !c.correlated {
                        if let Some((lk, rk)) = hash_keys(&c.expr, infos, mask, r) {
                            left_keys.push(lk);
                            right_keys.push(HashKey {
                                expr: to_local(&rk.expr, info, false),
                                affinity: rk.affinity,
                            });
                            continue;
                        }
                    }
                    condition.push(c.expr.clone());
                }
                post.iter()
                    .for_each(|&i| post_filter.push(conjuncts[i].expr.clone()));
                if !left_keys.is_empty() {
                    algorithm = JoinAlgorithm::Hash {
                        left_keys,
                        right_keys,
                        build_left: method == Method::HashLeft,
                    };
                }
            }
        }
        completing.iter().for_each(|&i| applied[i] = true);
        let rel_plan = match kind {
            RelKind::Table {
                info: table,
                source,
            } => {
                // (A lookup whose key ends up not reading the joined row is still correct: its
                // scan simply runs again for every joined row.)
                let mut node = access::filtered_scan(table, alias, source, in_scan);
                node.estimate = Some(info.filtered);
                Plan::Scan(Box::new(node))
            }
            RelKind::Sub(sub) => super::push_down::filtered(sub, in_scan, &p.shared_ids),
            RelKind::Function { function, args } => {
                let lookup = method == Method::Lookup;
                let args = args.iter().map(|a| to_local(a, info, lookup)).collect();
                let plan = Plan::TableFunction { function, args };
                match and_all(in_scan) {
                    Some(f) => Plan::Filter(Box::new(plan), f),
                    None => plan,
                }
            }
        };
        let mut joined = match plan {
            None => Plan::Place {
                input: Box::new(rel_plan),
                offset: info.offset,
                width,
            },
            Some(left) => Plan::Join(Box::new(JoinNode {
                left,
                right: rel_plan,
                kind: if is_left {
                    JoinKind::Left
                } else {
                    JoinKind::Inner
                },
                offset: info.offset,
                algorithm,
                condition: and_all(condition),
                estimate,
            })),
        };
        if let Some(f) = and_all(post_filter) {
            joined = Plan::Filter(Box::new(joined), f);
        }
        mask |= bit;
        // Semi and anti joins apply once every relation they read is joined.
        for (semi, needs) in &mut semis {
            if *needs & !mask == 0 {
                if let Some(s) = semi.take() {
                    joined = s.apply(joined, estimate);
                }
            }
        }
        plan = Some(joined);
    }
    let plan = plan.expect("at least one relation");
    // WHERE terms that read no relation (literals, parameters, the enclosing row's columns)
    // are checked once above the whole join, before any relation is read: when one is
    // false, no relation is opened at all, as in SQLite, where such a term is coded before
    // the loops. Under the first relation alone, a hash join would still build its other
    // side (a recursive CTE that never ends, say).
    let gates: Vec<Expr> = conjuncts
        .iter()
        .filter(|c| gates_join(c))
        .map(|c| c.expr.clone())
        .collect();
    Ok(match and_all(gates) {
        Some(gate) => Plan::Filter(Box::new(plan), gate),
        None => plan,
    })
}

/// True for a WHERE term that reads no relation of the join and is fixed while the
/// enclosing row is ([`Expr::is_fixed_per_enclosing_row`]): it gates the whole join.
fn gates_join(c: &Conjunct) -> bool {
    c.mask == 0 && c.on_of.is_none() && c.expr.is_fixed_per_enclosing_row()
}

/// Splits `a = b` into a probe key over the joined relations and a build key over `r`.
fn hash_keys(e: &Expr, infos: &[RelInfo], mask: u64, r: usize) -> Option<(HashKey, HashKey)> {
    let Expr::Compare {
        op: CmpOp::Eq,
        left,
        right,
        left_aff,
        right_aff,
    } = e
    else {
        return None;
    };
    let (lm, rm) = (mask_of(left, infos), mask_of(right, infos));
    let bit = 1u64 << r;
    let key = |e: &Expr, a: &Option<Affinity>| HashKey {
        expr: e.clone(),
        affinity: *a,
    };
    if lm != 0 && lm & !mask == 0 && rm == bit {
        Some((key(left, left_aff), key(right, right_aff)))
    } else if rm != 0 && rm & !mask == 0 && lm == bit {
        Some((key(right, right_aff), key(left, left_aff)))
    } else {
        None
    }
}
