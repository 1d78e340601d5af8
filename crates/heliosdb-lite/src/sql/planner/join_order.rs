//! Join ordering: the cheapest left-deep order of a FROM clause's relations, whatever order
//! the query lists them in.
//!
//! Every WHERE and ON conjunct is classified by the relations it reads (a bit mask). A join
//! order is built one relation at a time; adding relation `r` to the set `S` already joined
//! can use one of three algorithms:
//!
//! - **lookup**: equalities (or ranges) between `r`'s key or index columns and values from
//!   `S` make `r` a key lookup per row of `S` (an index nested-loop join);
//! - **hash**: equalities between an expression of `S` and one of `r` let `r` be read once
//!   into a hash table that each row of `S` probes; for an inner join the table may instead
//!   hold the rows of `S`, each row of `r` probing it (**hash on the left**), when `S`
//!   yields fewer rows than `r`: a left-deep order can then start from a small filtered
//!   relation and still stream the big table last;
//! - **loop**: otherwise `r` is read once and paired with every row of `S` (a cross product
//!   filtered by the conjuncts that become complete).
//!
//! Costs count rows touched: a lookup costs a seek plus the rows it finds, per outer row; a
//! hash join reads `r` once and probes once per outer row (or, built on the left, adds every
//! outer row to the table and probes once per row of `r`); a loop pairs every outer row with
//! every row of `r`. Row counts come from the tables (see [`super::History::row_estimate`])
//! and selectivities from fixed guesses in the spirit of SQLite's planner without ANALYZE: an
//! equality on a unique key finds one row, another equality keeps a tenth, a range a third.
//! Up to [`EXHAUSTIVE_LIMIT`] relations every order is considered (dynamic programming over
//! subsets); beyond, a beam search keeps the [`BEAM_WIDTH`] cheapest partial orders of each
//! length, which plans 64 relations in milliseconds.
//!
//! A LEFT JOIN's right relation must come after every relation listed before it (as in
//! SQLite), and a conjunct that reads a LEFT JOIN's right relation is applied only after that
//! relation is joined, never inside it, so NULL-padded rows are filtered as SQL says.

use super::super::catalog::TableInfo;
use super::super::plan::{CmpOp, Expr, JoinKind};
use rustc_hash::FxHashMap as HashMap;

/// Exhaustive search up to this many relations.
pub(super) const EXHAUSTIVE_LIMIT: usize = 8;
/// Cost of one key lookup (a seek), relative to reading one row of a scan.
const LOOKUP_COST: f64 = 2.0;
/// Cost of adding one row to a hash table, relative to reading or probing one.
const BUILD_WEIGHT: f64 = 3.0;
/// Partial orders kept per length by the beam search.
pub(super) const BEAM_WIDTH: usize = 8;

/// What the orderer knows of one relation.
pub(super) struct RelInfo {
    /// The table, for key and index lookups (`None` for derived tables and views).
    pub table: Option<std::sync::Arc<TableInfo>>,
    /// Inner or left outer.
    pub join: JoinKind,
    /// Estimated rows in the relation.
    pub rows: f64,
    /// Estimated rows after its own conjuncts.
    pub filtered: f64,
    /// First column in the combined row.
    pub offset: usize,
    /// Number of columns.
    pub width: usize,
    /// The relations a table-valued function's arguments read: it joins after them, as the
    /// inner side of a lookup run once per joined row.
    pub depends: u64,
}

/// A conjunct and the relations it reads.
pub(super) struct Conjunct {
    /// Bound against the combined row.
    pub expr: Expr,
    /// Relations read.
    pub mask: u64,
    /// For a LEFT JOIN's ON clause, the relation it belongs to.
    pub on_of: Option<usize>,
    /// Contains a correlated subquery (evaluated only on combined rows).
    pub correlated: bool,
    /// Applied inside the relation's own scan.
    pub local: bool,
}

/// How one relation joins the ones before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Method {
    /// The first relation.
    First,
    /// Key lookup into the relation per outer row.
    Lookup,
    /// Hash join on equality conjuncts, the table built on the added relation.
    Hash,
    /// Hash join on equality conjuncts, the table built on the rows joined so far (inner
    /// joins only).
    HashLeft,
    /// Read once, pair with every outer row.
    Loop,
}

/// A partial join order.
#[derive(Clone)]
struct Path {
    mask: u64,
    /// (relation, method, estimated rows after the step).
    order: Vec<(usize, Method, f64)>,
    rows: f64,
    cost: f64,
}

/// The cheapest way found to join one subset of the relations: its last step and totals.
#[derive(Clone, Copy)]
struct Best {
    rows: f64,
    cost: f64,
    last: usize,
    method: Method,
}

/// The chosen order: relations with their join methods, and estimated rows after each step.
pub(super) struct Order {
    /// (relation, method) in join order.
    pub steps: Vec<(usize, Method)>,
    /// Estimated rows after each step.
    pub rows: Vec<f64>,
}

/// Columns of relation `r` that an equality with the relations of `mask` pins, for a
/// lookup: returns the selectivity of the best key it can use, if any.
pub(super) type LookupFn<'a> = dyn FnMut(usize, u64) -> Option<f64> + 'a;

/// Finds the cheapest order.
pub(super) fn choose(rels: &[RelInfo], conjuncts: &[Conjunct], lookup: &mut LookupFn<'_>) -> Order {
    let n = rels.len();
    let mut step_cache: HashMap<(usize, u64), (Option<f64>, bool, f64)> = HashMap::default();
    // The relations each relation shares a conjunct with.
    let neighbours: Vec<u64> = (0..n)
        .map(|r| {
            conjuncts
                .iter()
                .filter(|c| !c.local && c.mask & (1 << r) != 0)
                .fold(0u64, |m, c| m | c.mask)
                & !(1u64 << r)
        })
        .collect();
    // Adding `r` after the relations of `mask` (which produce `left` rows): how, the rows
    // after the step, and its cost; `None` where `r` cannot come next.
    let mut step_after = |mask: u64, left: f64, r: usize| -> Option<(Method, f64, f64)> {
        if mask & (1 << r) != 0 {
            return None;
        }
        // A LEFT JOIN's right relation comes after everything listed before it.
        if rels[r].join == JoinKind::Left && (0..r).any(|i| mask & (1 << i) == 0) {
            return None;
        }
        if rels[r].depends & !mask != 0 {
            return None;
        }
        if mask == 0 {
            return Some((Method::First, rels[r].filtered, rels[r].rows));
        }
        // What a step can use depends only on which of `r`'s neighbours are joined.
        let joined = mask & neighbours[r];
        let (lookup_rows, has_equality, sel) = *step_cache
            .entry((r, joined))
            .or_insert_with(|| step(rels, conjuncts, joined, r, lookup));
        let left = left.max(1.0);
        let loop_cost = rels[r].rows + left * rels[r].filtered.max(1.0);
        // Building keeps every row of `r` in memory and costs more per row than probing:
        // the cheaper plan builds on the smaller side.
        let hash_cost = rels[r].rows + BUILD_WEIGHT * rels[r].filtered + left;
        // With an equality a hash join is used even where a loop looks cheaper (tiny or empty
        // tables): plans are cached, and a loop chosen for an empty table would turn
        // quadratic as the table grows.
        let (mut method, mut cost) = if has_equality {
            (Method::Hash, hash_cost.min(loop_cost))
        } else {
            (Method::Loop, loop_cost)
        };
        if has_equality && rels[r].join == JoinKind::Inner {
            let build_left_cost = rels[r].rows + rels[r].filtered + BUILD_WEIGHT * left;
            if build_left_cost < cost {
                (method, cost) = (Method::HashLeft, build_left_cost);
            }
        }
        if let Some(found) = lookup_rows {
            let lookup_cost = left * (LOOKUP_COST + found);
            if lookup_cost <= cost {
                (method, cost) = (Method::Lookup, lookup_cost);
            }
        }
        if rels[r].depends != 0 {
            (method, cost) = (Method::Lookup, left * (LOOKUP_COST + rels[r].filtered));
        }
        let mut rows = left * rels[r].filtered * sel;
        if rels[r].join == JoinKind::Left {
            rows = rows.max(left);
        }
        Some((method, rows, cost))
    };
    let best = if n <= EXHAUSTIVE_LIMIT {
        // Dynamic programming over subsets, in numeric order: every subset's predecessors
        // (the subset less one relation) are smaller numbers, so they are final when it is
        // reached. One entry per subset, the path rebuilt from the last steps at the end:
        // no partial order is ever copied.
        let full = (1usize << n) - 1;
        let mut best: Vec<Option<Best>> = vec![None; full + 1];
        best[0] = Some(Best {
            rows: 1.0,
            cost: 0.0,
            last: 0,
            method: Method::First,
        });
        for mask in 1..=full {
            let mut found: Option<Best> = None;
            for r in (0..n).filter(|r| mask & (1 << r) != 0) {
                let prev = mask ^ (1 << r);
                let Some(p) = best[prev] else { continue };
                let Some((method, rows, cost)) = step_after(prev as u64, p.rows, r) else {
                    continue;
                };
                let q = Best {
                    rows: rows.max(1.0),
                    cost: p.cost + cost,
                    last: r,
                    method,
                };
                if found.is_none_or(|f| q.cost < f.cost || (q.cost == f.cost && q.rows < f.rows)) {
                    found = Some(q);
                }
            }
            best[mask] = found;
        }
        let mut steps = Vec::with_capacity(n);
        let mut mask = full;
        while mask != 0 {
            let Some(b) = best[mask] else {
                steps.clear();
                break;
            };
            steps.push((b.last, b.method, b.rows));
            mask ^= 1 << b.last;
        }
        steps.reverse();
        (steps.len() == n).then_some(Path {
            mask: full as u64,
            order: steps,
            rows: 0.0,
            cost: 0.0,
        })
    } else {
        let mut frontier = vec![Path {
            mask: 0,
            order: Vec::new(),
            rows: 1.0,
            cost: 0.0,
        }];
        for _ in 0..n {
            let mut next: Vec<Path> = Vec::new();
            for p in &frontier {
                for r in 0..n {
                    let Some((method, rows, cost)) = step_after(p.mask, p.rows, r) else {
                        continue;
                    };
                    let mut order = p.order.clone();
                    order.push((r, method, rows.max(1.0)));
                    let q = Path {
                        mask: p.mask | (1 << r),
                        order,
                        rows: rows.max(1.0),
                        cost: p.cost + cost,
                    };
                    match next.iter_mut().find(|x| x.mask == q.mask) {
                        Some(x) if better(&q, x) => *x = q,
                        Some(_) => {}
                        None => next.push(q),
                    }
                }
            }
            next.sort_by(|a, b| a.cost.total_cmp(&b.cost));
            next.truncate(BEAM_WIDTH);
            frontier = next;
        }
        frontier.into_iter().next()
    };
    // Every relation can always be added (LEFT JOINs in FROM order at the latest), so a
    // complete path exists; FROM order is the fallback all the same.
    let best = best.unwrap_or_else(|| Path {
        mask: 0,
        order: (0..n)
            .map(|r| (r, if r == 0 { Method::First } else { Method::Loop }, 1.0))
            .collect(),
        rows: 1.0,
        cost: 0.0,
    });
    Order {
        rows: best.order.iter().map(|s| s.2).collect(),
        steps: best.order.iter().map(|s| (s.0, s.1)).collect(),
    }
}

fn better(a: &Path, b: &Path) -> bool {
    a.cost < b.cost || (a.cost == b.cost && a.rows < b.rows)
}

/// What adding `r` to `mask` can use: the rows a key lookup would find per outer row (if
/// one is possible), whether an equality allows a hash join, and the selectivity of the
/// conjuncts that complete.
fn step(
    rels: &[RelInfo],
    conjuncts: &[Conjunct],
    mask: u64,
    r: usize,
    lookup: &mut LookupFn<'_>,
) -> (Option<f64>, bool, f64) {
    let bit = 1u64 << r;
    let mut sel = 1.0f64;
    let mut has_equality = false;
    for c in conjuncts {
        if c.local || c.mask & bit == 0 || c.mask & !(mask | bit) != 0 {
            continue;
        }
        // Conjuncts that complete here.
        match equality_sides(c, rels, mask, r) {
            Some((left_rel, unique_r, unique_left)) => {
                has_equality = true;
                // |L join R| = |L| |R| / max(V(L.a), V(R.b)), V the distinct values: a unique
                // column has one per row, and a foreign key usually takes the values of the
                // key it refers to; otherwise guess a tenth of the rows.
                let distinct = |rows: f64, unique: bool| {
                    if unique {
                        rows
                    } else {
                        (rows / 10.0).max(1.0)
                    }
                };
                let mine = distinct(rels[r].rows, unique_r);
                let other = left_rel.map_or(1.0, |l| distinct(rels[l].rows, unique_left));
                sel /= match (unique_r, unique_left) {
                    (true, false) => mine,
                    (false, true) => other,
                    _ => mine.max(other),
                };
            }
            None => sel *= 0.5,
        }
    }
    (lookup(r, mask), has_equality, sel)
}

/// If `c` is `expr(S) = expr(r)` usable as a hash key when adding `r` to `mask`: the
/// relation of the `S` side (when it is one column), and whether `r`'s side and the `S` side
/// are unique keys.
fn equality_sides(
    c: &Conjunct,
    rels: &[RelInfo],
    mask: u64,
    r: usize,
) -> Option<(Option<usize>, bool, bool)> {
    if c.correlated {
        return None;
    }
    if rels[r].join == JoinKind::Left && c.on_of != Some(r) {
        return None;
    }
    let Expr::Compare {
        op: CmpOp::Eq,
        left,
        right,
        ..
    } = &c.expr
    else {
        return None;
    };
    let lm = super::join::mask_of(left, rels);
    let rm = super::join::mask_of(right, rels);
    let bit = 1u64 << r;
    let (s_side, r_side) = if lm != 0 && lm & !mask == 0 && rm == bit {
        (left, right)
    } else if rm != 0 && rm & !mask == 0 && lm == bit {
        (right, left)
    } else {
        return None;
    };
    let s_rel = match **s_side {
        Expr::Column(i) => rels.iter().rposition(|x| x.offset <= i),
        _ => None,
    };
    let unique = match (&**r_side, &rels[r].table) {
        (Expr::Column(i), Some(t)) => is_unique_column(t, i - rels[r].offset),
        _ => false,
    };
    let unique_left = match (&**s_side, s_rel) {
        (Expr::Column(i), Some(l)) => rels[l]
            .table
            .as_ref()
            .is_some_and(|t| is_unique_column(t, i - rels[l].offset)),
        _ => false,
    };
    Some((s_rel, unique, unique_left))
}

/// True if column `c` of the table (the rowid as `ncols`) alone is a unique key.
pub(super) fn is_unique_column(t: &TableInfo, c: usize) -> bool {
    let ncols = t.def.columns.len();
    let c = super::access::key_column(t, c);
    if t.def.has_rowid() && c == ncols {
        return true;
    }
    (!t.def.has_rowid() && t.def.primary_key == [c])
        || t.indexes.iter().any(|ix| {
            // A partial UNIQUE index leaves the other rows free to repeat values.
            ix.unique && ix.covers_all_rows() && ix.columns.len() == 1 && ix.columns[0].column == c
        })
}
