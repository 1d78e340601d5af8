//! Table and index scans: rows of one table, by key order or through an index, filtered.
//!
//! The access path ([`Access`]) is turned into key ranges when the scan starts (its bound
//! values may come from parameters or, inside an index nested-loop join, from the outer
//! row), then the ranges are read lazily, one storage entry per row. An index entry carries
//! the row key after the indexed values, so an index scan looks the row up by that key.
//!
//! Most rows a filtering scan reads are rejected, so a row is decoded in two steps: the
//! columns the filter reads go into a buffer reused from row to row, and only a row the
//! filter keeps is decoded into a row of its own (the planner marks those columns,
//! `ScanNode::filter_columns`). Under a top-N sort the scan also tests the sort's cutoff on
//! one decoded value before anything else (`sort::TopNCutoff`).

use super::super::catalog::{IndexDef, TableInfo};
use super::super::codec;
use super::super::plan::{Access, Expr, KeyBound, ScanNode};
use super::super::value::{Affinity, Value, INTEGRAL_REAL_LIMIT};
use super::covering::{covering, Covering};
use super::sort::TopNCutoff;
use super::{Executor, Frame, KvIter, Operator, Row};
use crate::error::{Error, Result};
use crate::storage::{prefix_range, prefix_successor, Bytes, Direction, KeyRange, KvPair};
use std::collections::{HashSet, VecDeque};
use std::ops::Bound;
use std::rc::Rc;

/// One piece of a scan: a single key, or a key range.
pub(super) enum KeyLookup {
    Point(Vec<u8>),
    Range(KeyRange),
}

/// The scan operator.
pub(super) struct ScanOp<'e> {
    ex: &'e Executor<'e>,
    node: &'e ScanNode,
    started: bool,
    lookups: VecDeque<KeyLookup>,
    iter: Option<KvIter<'e>>,
    /// Rows still to return before the LIMIT above is satisfied (`None`: no limit).
    remaining: Option<usize>,
    /// Row keys already returned (an IN list over an index can reach a row twice).
    seen: Option<HashSet<Vec<u8>>>,
    /// Set when the index holds every column the scan produces: rows come from the index
    /// entries, with no lookup of the row.
    covering: Option<Covering>,
    visited: usize,
    /// The columns the filter reads, decoded into `scratch` before the rest of a row (see
    /// [`ScanNode::filter_columns`]).
    filter_first: Option<&'e [bool]>,
    /// A row buffer reused from row to row: a row the filter rejects costs no allocation.
    scratch: Row,
    /// The cutoff of the top-N sort above, which rows past it cannot enter.
    cutoff: Option<Rc<TopNCutoff>>,
}

impl<'e> ScanOp<'e> {
    pub(super) fn new(ex: &'e Executor<'e>, node: &'e ScanNode) -> Self {
        Self {
            ex,
            node,
            started: false,
            lookups: VecDeque::new(),
            iter: None,
            remaining: None,
            seen: None,
            covering: match &node.access {
                Access::Key {
                    index: Some(ix), ..
                } => covering(&node.table, ix, node.columns.as_deref()),
                _ => None,
            },
            visited: 0,
            filter_first: filter_first(node),
            scratch: Vec::new(),
            cutoff: None,
        }
    }

    /// Lets the top-N sort above drop rows here, before they are decoded (see
    /// [`TopNCutoff`]).
    pub(super) fn with_cutoff(mut self, cutoff: Rc<TopNCutoff>) -> Self {
        self.cutoff = Some(cutoff);
        self
    }

    fn dir(&self) -> Direction {
        if self.node.reverse {
            Direction::Reverse
        } else {
            Direction::Forward
        }
    }

    fn start(&mut self, outer: Option<&Frame<'_>>) -> Result<()> {
        self.started = true;
        let node = self.node;
        if let Some((limit, offset)) = &node.stop_after {
            let (off, lim) = super::limit_offset(self.ex, Some(limit), offset.as_ref(), outer)?;
            self.remaining = lim.map(|l| l.saturating_add(off));
        }
        let info = &node.table;
        let f = Frame {
            row: &[],
            parent: outer,
        };
        self.lookups = match &node.access {
            Access::Full => VecDeque::from([KeyLookup::Range(prefix_range(&codec::table_prefix(
                info.def.id,
            )))]),
            Access::Key {
                index,
                eq,
                in_list,
                lower,
                upper,
            } => {
                let (prefix, key_cols) = match index {
                    None => (codec::table_prefix(info.def.id), table_key_columns(info)),
                    Some(ix) => (
                        codec::index_prefix(ix.id),
                        ix.columns
                            .iter()
                            .map(|c| match c.expr {
                                // An expression's value has no affinity.
                                Some(_) => (Affinity::Blob, c.desc),
                                None => (info.def.columns[c.column].affinity, c.desc),
                            })
                            .collect(),
                    ),
                };
                if index.is_some() && in_list.is_some() {
                    self.seen = Some(HashSet::new());
                }
                self.ex
                    .key_ranges(
                        &prefix,
                        &key_cols,
                        (index.is_none(), index.is_none() && info.def.has_rowid()),
                        eq,
                        in_list,
                        lower,
                        upper,
                        &f,
                    )?
                    .into()
            }
        };
        Ok(())
    }

    /// The next stored entry of the scan's ranges: (key, value).
    fn next_entry(&mut self) -> Result<Option<KvPair>> {
        let reader = self.ex.reader()?;
        loop {
            if let Some(it) = &mut self.iter {
                match it.next() {
                    Some(kv) => return kv.map(Some),
                    None => self.iter = None,
                }
            }
            match self.lookups.pop_front() {
                None => return Ok(None),
                Some(KeyLookup::Point(key)) => {
                    if let Some(v) = reader.get(self.node.source, &key)? {
                        return Ok(Some((Bytes::from(key), v)));
                    }
                }
                Some(KeyLookup::Range(r)) => {
                    self.iter = Some(reader.scan(self.node.source, r, self.dir())?);
                }
            }
        }
    }

    /// The next row of a covering index scan, built from the entry alone.
    fn next_covered(&mut self) -> Result<Option<Row>> {
        loop {
            let Some((k, _)) = self.next_entry()? else {
                return Ok(None);
            };
            if let (
                Some(seen),
                Access::Key {
                    index: Some(ix), ..
                },
            ) = (&mut self.seen, &self.node.access)
            {
                if !seen.insert(index_entry_row_key(&self.node.table, ix, &k)?) {
                    continue;
                }
            }
            let covering = self.covering.as_ref().expect("called for covering scans");
            return covering.row(&k).map(Some);
        }
    }

    /// The next row of the table (key, stored value), following index entries to their
    /// rows.
    fn next_stored(&mut self) -> Result<Option<KvPair>> {
        loop {
            let Some((k, v)) = self.next_entry()? else {
                return Ok(None);
            };
            let Access::Key {
                index: Some(ix), ..
            } = &self.node.access
            else {
                return Ok(Some((k, v)));
            };
            let row_key = index_entry_row_key(&self.node.table, ix, &k)?;
            if let Some(seen) = &mut self.seen {
                if !seen.insert(row_key.clone()) {
                    continue;
                }
            }
            let reader = self.ex.reader()?;
            return match reader.get(self.node.source, &row_key)? {
                Some(v) => Ok(Some((Bytes::from(row_key), v))),
                None => Err(Error::corruption(format!(
                    "index {} points to a missing row of {}",
                    ix.name, self.node.table.def.name
                ))),
            };
        }
    }

    /// Counts the rows the scan would return without decoding them (no filter, no limit).
    pub(super) fn count(&mut self, outer: Option<&Frame<'_>>) -> Result<i64> {
        debug_assert!(self.node.filter.is_none() && self.node.stop_after.is_none());
        if matches!(self.node.access, Access::Full) {
            // Every commit keeps the table's row count (see `mvcc::counters`), at every SCN.
            let prefix = codec::table_prefix(self.node.table.def.id);
            if let Some(n) = self.ex.reader()?.live_count(self.node.source, &prefix)? {
                return Ok(n);
            }
        }
        self.start(outer)?;
        let mut n = 0i64;
        loop {
            let more = if matches!(self.node.access, Access::Key { index: Some(_), .. })
                && self.seen.is_some()
            {
                // The rows are deduplicated by key, which the entry holds when it covers.
                if self.covering.is_some() {
                    self.next_covered()?.is_some()
                } else {
                    self.next_stored()?.is_some()
                }
            } else {
                self.next_entry()?.is_some()
            };
            if !more {
                return Ok(n);
            }
            n += 1;
            if n % 4096 == 0 {
                self.ex.check_interrupt()?;
            }
        }
    }
}

impl Operator for ScanOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        if !self.started {
            self.start(outer)?;
        }
        if self.remaining == Some(0) {
            return Ok(None);
        }
        loop {
            let row = if self.covering.is_some() {
                let Some(row) = self.next_covered()? else {
                    return Ok(None);
                };
                self.ex.tick(&mut self.visited)?;
                if let Some(pred) = &self.node.filter {
                    if !self.ex.predicate(pred, &row, outer)? {
                        continue;
                    }
                }
                row
            } else {
                let Some((k, v)) = self.next_stored()? else {
                    return Ok(None);
                };
                self.ex.tick(&mut self.visited)?;
                if let Some(cutoff) = &self.cutoff {
                    if cutoff.excludes(&v)? {
                        continue;
                    }
                }
                let table = &self.node.table;
                let wanted = self.node.columns.as_deref();
                match (&self.node.filter, self.filter_first) {
                    (Some(pred), first) => {
                        // The filter first, on a reused buffer: only the columns it reads
                        // when they are fewer, and only a kept row gets a buffer of its own.
                        let mask = first.or(wanted);
                        self.ex
                            .decode_row_into(table, &k, &v, mask, &mut self.scratch)?;
                        if !self.ex.predicate(pred, &self.scratch, outer)? {
                            continue;
                        }
                        if first.is_some() {
                            self.ex.decode_row_columns(table, &k, &v, wanted)?
                        } else {
                            std::mem::take(&mut self.scratch)
                        }
                    }
                    (None, _) => self.ex.decode_row_columns(table, &k, &v, wanted)?,
                }
            };
            if let Some(r) = &mut self.remaining {
                *r -= 1;
            }
            return Ok(Some(row));
        }
    }

    fn rewind(&mut self) {
        self.started = false;
        self.lookups.clear();
        self.iter = None;
        self.remaining = None;
        self.seen = None;
    }
}

/// The filter columns the scan decodes first, if the planner chose them and they hold every
/// column the filter reads (checked here too: a plan rewritten after pruning must not make
/// the filter read a column that was not decoded).
fn filter_first(node: &ScanNode) -> Option<&[bool]> {
    let mask = node.filter_columns.as_deref()?;
    let filter = node.filter.as_ref()?;
    filter
        .columns()
        .iter()
        .all(|&c| mask.get(c).copied().unwrap_or(false))
        .then_some(mask)
}

/// The row key an index entry points to (the bytes after the indexed values).
pub(crate) fn index_entry_row_key(
    info: &TableInfo,
    ix: &IndexDef,
    entry_key: &[u8],
) -> Result<Vec<u8>> {
    let mut pos = codec::INDEX_PREFIX_LEN;
    for c in &ix.columns {
        codec::decode_key_value(entry_key, &mut pos, c.desc)?;
    }
    let mut row_key = codec::table_prefix(info.def.id);
    row_key.extend_from_slice(&entry_key[pos..]);
    Ok(row_key)
}

/// The table's own key columns: the rowid, or the primary-key columns.
fn table_key_columns(info: &TableInfo) -> Vec<(Affinity, bool)> {
    if info.def.has_rowid() {
        vec![(Affinity::Integer, false)]
    } else {
        info.def
            .primary_key
            .iter()
            .map(|&c| (info.def.columns[c].affinity, false))
            .collect()
    }
}

/// A bound value in the key column's encoding. A numeric column's affinity is always safe to
/// apply (a comparison with a numeric column converts the other side). TEXT is not: whether a
/// number compared with a TEXT column becomes text depends on the comparison, and the access
/// path wraps the value in that comparison's affinity when it applies one.
fn key_affinity(v: Value, aff: Affinity) -> Value {
    if aff == Affinity::Text {
        v
    } else {
        v.apply_affinity(aff)
    }
}

fn aff_is_exact(a: Affinity) -> bool {
    a != Affinity::Blob
}

/// True when an equality on the number `v` must match every key with its numeric prefix (the
/// numbers whose float image is `v`'s, the scan's filter then deciding) instead of `v`'s exact
/// encoding, which tells integers from reals: a BLOB-affinity column stores each number as
/// it came, and an INTEGER or NUMERIC one keeps an integral real as a real from
/// [`INTEGRAL_REAL_LIMIT`] in magnitude up, where an equal integer (-9223372036854775808 = -9223372036854775808.0) is
/// stored as an integer.
fn matches_numeric_prefix(aff: Affinity, v: &Value) -> bool {
    match v {
        Value::Integer(_) | Value::Real(_) | Value::Decimal(_) => match aff {
            Affinity::Blob => true,
            Affinity::Integer | Affinity::Numeric => v.as_f64().abs() >= INTEGRAL_REAL_LIMIT,
            _ => false,
        },
        _ => false,
    }
}

impl Executor<'_> {
    /// The row a scan of `node` yields when it looks one row up by the table's whole key
    /// with parameters or literals (an UPDATE or DELETE by primary key), read without an
    /// operator: `Some(None)` when no row matches, `None` when `node` is another kind of scan
    /// (an index, a range, a LIMIT, a key value that must be computed) or its key value only
    /// bounds a numeric prefix. What it reads, decodes and filters is what [`ScanOp`] does
    /// for such a scan.
    pub fn point_row(
        &self,
        node: &ScanNode,
        parent: Option<&Frame<'_>>,
    ) -> Result<Option<Option<Row>>> {
        let Access::Key {
            index: None,
            eq,
            in_list: None,
            lower: None,
            upper: None,
        } = &node.access
        else {
            return Ok(None);
        };
        // Values evaluated here are evaluated again by the scan when this gives up: only
        // those that cannot change between the two.
        fn fixed(e: &Expr) -> bool {
            match e {
                Expr::Literal(_) | Expr::Param(_) => true,
                Expr::ApplyAffinity(inner, _) => fixed(inner),
                _ => false,
            }
        }
        let info = &node.table;
        let key_cols = table_key_columns(info);
        if node.stop_after.is_some() || eq.len() != key_cols.len() || !eq.iter().all(fixed) {
            return Ok(None);
        }
        let f = Frame { row: &[], parent };
        let lookups = self.key_ranges(
            &codec::table_prefix(info.def.id),
            &key_cols,
            (true, info.def.has_rowid()),
            eq,
            &None,
            &None,
            &None,
            &f,
        )?;
        let key = match lookups.as_slice() {
            [] => return Ok(Some(None)),
            [KeyLookup::Point(key)] => key,
            _ => return Ok(None),
        };
        // The row of an UPDATE or DELETE by key (the only callers): the transaction is about
        // to rewrite it, so the store need not cache what it reads. Only this read: the
        // filter's subqueries below read rows that stay.
        let reader = self.reader()?;
        let value = reader
            .txn
            .reading_rows_to_replace(|| reader.get(node.source, key))?;
        let Some(value) = value else {
            return Ok(Some(None));
        };
        let row = self.decode_row_columns(info, key, &value, node.columns.as_deref())?;
        if let Some(pred) = &node.filter {
            if !self.predicate(pred, &row, parent)? {
                return Ok(Some(None));
            }
        }
        Ok(Some(Some(row)))
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn key_ranges(
        &self,
        prefix: &[u8],
        key_cols: &[(Affinity, bool)],
        (unique_key, rowid_key): (bool, bool),
        eq: &[Expr],
        in_list: &Option<Vec<Expr>>,
        lower: &Option<KeyBound>,
        upper: &Option<KeyBound>,
        f: &Frame<'_>,
    ) -> Result<Vec<KeyLookup>> {
        // A rowid is always an integer: a real that did not convert to one (-2^63 as a real
        // included, as SQLite's rowid seek has it) matches no row.
        let widen = |aff: Affinity, v: &Value| !rowid_key && matches_numeric_prefix(aff, v);
        let mut base = prefix.to_vec();
        let mut exact = true;
        for (i, e) in eq.iter().enumerate() {
            let (aff, desc) = key_cols[i];
            let v = self.eval(e, f)?;
            if v.is_null() {
                return Ok(Vec::new());
            }
            let v = key_affinity(v, aff);
            if widen(aff, &v) {
                // Mixed integer/real storage: match on the numeric prefix and stop here.
                let mut b = Vec::new();
                codec::encode_key_bound(&v, &mut b);
                if desc {
                    b.iter_mut().for_each(|x| *x = !*x);
                }
                base.extend_from_slice(&b);
                exact = false;
                break;
            }
            codec::encode_key_value(&v, desc, &mut base);
        }
        // Index entries carry the row key after the indexed values: never a point.
        let complete = unique_key && exact && eq.len() == key_cols.len();
        if complete {
            return Ok(vec![KeyLookup::Point(base)]);
        }
        if !exact {
            return Ok(vec![KeyLookup::Range(prefix_range(&base))]);
        }
        let next = eq.len();
        if let Some(list) = in_list {
            let (aff, desc) = key_cols[next];
            // Each key with whether it is a value's exact encoding (else a numeric prefix).
            let mut keys: Vec<(Vec<u8>, bool)> = Vec::new();
            for e in list {
                let v = self.eval(e, f)?;
                if v.is_null() {
                    continue;
                }
                let v = v.apply_affinity(aff);
                let mut k = base.clone();
                if widen(aff, &v) {
                    let mut b = Vec::new();
                    codec::encode_key_bound(&v, &mut b);
                    if desc {
                        b.iter_mut().for_each(|x| *x = !*x);
                    }
                    k.extend_from_slice(&b);
                    keys.push((k, false));
                    continue;
                }
                codec::encode_key_value(&v, desc, &mut k);
                keys.push((k, true));
            }
            keys.sort();
            keys.dedup();
            let point = unique_key && next + 1 == key_cols.len();
            return Ok(keys
                .into_iter()
                .map(|(k, exact)| {
                    if point && exact && aff_is_exact(key_cols[next].0) {
                        KeyLookup::Point(k)
                    } else {
                        KeyLookup::Range(prefix_range(&k))
                    }
                })
                .collect());
        }
        let Some(&(aff, desc)) = key_cols.get(next) else {
            return Ok(vec![KeyLookup::Range(prefix_range(&base))]);
        };
        let bound = |b: &Option<KeyBound>| -> Result<Option<Option<Vec<u8>>>> {
            match b {
                None => Ok(None),
                Some(kb) => {
                    let v = self.eval(&kb.value, f)?;
                    if v.is_null() {
                        return Ok(Some(None));
                    }
                    let v = key_affinity(v, aff);
                    let mut enc = Vec::new();
                    codec::encode_key_bound(&v, &mut enc);
                    Ok(Some(Some(enc)))
                }
            }
        };
        let lo = bound(lower)?;
        let hi = bound(upper)?;
        if matches!(lo, Some(None)) || matches!(hi, Some(None)) {
            return Ok(Vec::new()); // comparison with NULL matches nothing
        }
        let (lo, hi) = (lo.flatten(), hi.flatten());
        // In key order (ascending encoding): values >= lo and <= hi, widened to whole
        // numeric-prefix groups; the scan filter applies the exact comparison.
        let (mut start, mut end) = (None, None);
        let apply = |enc: Vec<u8>| {
            let mut k = base.clone();
            if desc {
                k.extend(enc.iter().map(|b| !b));
            } else {
                k.extend_from_slice(&enc);
            }
            k
        };
        if let Some(l) = lo {
            let k = apply(l);
            if desc {
                end = prefix_successor(&k).map(Bound::Excluded);
            } else {
                start = Some(Bound::Included(k));
            }
        }
        if let Some(h) = hi {
            let k = apply(h);
            if desc {
                start = Some(Bound::Included(k));
            } else {
                end = prefix_successor(&k).map(Bound::Excluded);
            }
        }
        let (pstart, pend) = prefix_range(&base);
        Ok(vec![KeyLookup::Range((
            start.unwrap_or(pstart),
            end.unwrap_or(pend),
        ))])
    }

    /// Decodes a stored row, padding columns added after it was written.
    pub fn decode_row(&self, info: &TableInfo, key: &[u8], value: &[u8]) -> Result<Row> {
        self.decode_row_columns(info, key, value, None)
    }

    /// Decodes a stored row, only the columns `wanted` marks (the others read as NULL).
    pub fn decode_row_columns(
        &self,
        info: &TableInfo,
        key: &[u8],
        value: &[u8],
        wanted: Option<&[bool]>,
    ) -> Result<Row> {
        let mut row = Vec::new();
        self.decode_row_into(info, key, value, wanted, &mut row)?;
        Ok(row)
    }

    /// [`Executor::decode_row_columns`] into `row`, whose previous values it replaces: a scan
    /// decodes row after row into one buffer. `wanted` may mark the rowid too (its last
    /// entry, past the table's columns); the rowid is decoded unless it says no.
    pub(super) fn decode_row_into(
        &self,
        info: &TableInfo,
        key: &[u8],
        value: &[u8],
        wanted: Option<&[bool]>,
        row: &mut Row,
    ) -> Result<()> {
        let def = &info.def;
        let ncols = def.columns.len();
        // Looked up only for tables that have generated columns: this runs for every row.
        let generated = if def.columns.iter().any(|c| c.generated.is_some()) {
            Some(super::computed::generated(info)?)
        } else {
            None
        };
        let has_virtual = generated.as_ref().is_some_and(|g| g.has_virtual());
        // A virtual column may read any other column.
        let wanted = if has_virtual { None } else { wanted };
        // The stored values only: a mark for the rowid would make the codec parse them all.
        codec::decode_row_into(value, wanted.map(|w| &w[..w.len().min(ncols)]), row)?;
        if row.len() > ncols {
            row.truncate(ncols);
        }
        while row.len() < ncols {
            let i = row.len();
            if wanted.is_some_and(|w| !w.get(i).copied().unwrap_or(true)) {
                row.push(Value::Null);
                continue;
            }
            row.push(self.column_default(info, i)?);
        }
        let rowid_wanted = wanted.is_none_or(|w| w.get(ncols).copied().unwrap_or(true));
        let rowid = if def.has_rowid() && rowid_wanted {
            let mut pos = codec::TABLE_PREFIX_LEN;
            codec::decode_key_value(key, &mut pos, false)?
        } else {
            Value::Null
        };
        row.push(rowid);
        if let Some(generated) = generated.filter(|_| has_virtual) {
            generated.compute_on_read(self, def, row)?;
        }
        Ok(())
    }

    fn column_default(&self, info: &TableInfo, col: usize) -> Result<Value> {
        let k = (info.def.id, col);
        if let Some(v) = self.defaults.borrow().get(&k) {
            return Ok(v.clone());
        }
        let v = match &info.def.columns[col].default {
            None => Value::Null,
            Some(text) => self
                .env
                .stored_default(text)?
                .apply_affinity(info.def.columns[col].affinity),
        };
        self.defaults.borrow_mut().insert(k, v.clone());
        Ok(v)
    }
}
