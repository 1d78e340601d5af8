//! The executor: evaluates bound expressions and runs plans to rows.
//!
//! Plans are run to materialised row vectors. Each expression is evaluated against a
//! [`Frame`]: the current row plus the chain of enclosing rows that correlated subqueries and
//! the right sides of joins read through `Expr::Outer`.

use super::catalog::TableInfo;
use super::codec;
use super::eval;
use super::functions::FnEnv;
use super::plan::{Access, AggFn, Expr, JoinKind, Plan, ScanNode, SetOp, SortKey, Source};
use super::value::{Affinity, Value};
use crate::error::{Error, Result};
use crate::mvcc::{Snapshot, Transaction};
use crate::storage::{prefix_range, prefix_successor, Direction, KeyRange, KvPair};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::rc::Rc;

/// A result row.
pub type Row = Vec<Value>;

/// The current row and the rows enclosing it.
#[derive(Clone, Copy)]
pub struct Frame<'a> {
    /// Current row.
    pub row: &'a [Value],
    /// Enclosing frame.
    pub parent: Option<&'a Frame<'a>>,
}

impl<'a> Frame<'a> {
    /// A frame with no enclosing rows.
    pub fn root(row: &'a [Value]) -> Self {
        Frame { row, parent: None }
    }
}

/// Where plan scans read.
pub struct Reader<'a> {
    /// The statement's transaction.
    pub txn: &'a Transaction,
    /// Historical snapshots of the statement, indexed by [`Source::Snapshot`].
    pub snapshots: &'a [Snapshot],
}

type KvIter<'a> = Box<dyn Iterator<Item = Result<KvPair>> + 'a>;

impl<'a> Reader<'a> {
    fn get(&self, source: Source, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match source {
            Source::Current => self.txn.get(key),
            Source::Snapshot(i) => self.snapshot(i)?.get(key),
        }
    }

    fn scan(&self, source: Source, range: KeyRange, dir: Direction) -> Result<KvIter<'a>> {
        Ok(match source {
            Source::Current => Box::new(self.txn.scan(range, dir)),
            Source::Snapshot(i) => Box::new(self.snapshot(i)?.scan(range, dir)),
        })
    }

    fn snapshot(&self, i: usize) -> Result<&'a Snapshot> {
        self.snapshots
            .get(i)
            .ok_or_else(|| Error::invalid("internal: unknown snapshot in plan"))
    }
}

/// Runs plans and evaluates expressions for one statement.
pub struct Executor<'a> {
    reader: Option<Reader<'a>>,
    params: &'a [Value],
    env: &'a dyn FnEnv,
    cache: RefCell<HashMap<usize, Rc<Vec<Row>>>>,
    defaults: RefCell<HashMap<(u32, usize), Value>>,
}

/// Evaluates an expression that reads no table (time-travel points, LIMIT, defaults).
pub fn eval_standalone(e: &Expr, params: &[Value], env: &dyn FnEnv) -> Result<Value> {
    Executor::new(None, params, env).eval(e, &Frame::root(&[]))
}

impl<'a> Executor<'a> {
    /// Creates an executor; without a reader, plans and subqueries cannot run.
    pub fn new(reader: Option<Reader<'a>>, params: &'a [Value], env: &'a dyn FnEnv) -> Self {
        Self {
            reader,
            params,
            env,
            cache: RefCell::new(HashMap::new()),
            defaults: RefCell::new(HashMap::new()),
        }
    }

    fn reader(&self) -> Result<&Reader<'a>> {
        self.reader
            .as_ref()
            .ok_or_else(|| Error::invalid("subqueries are not allowed here"))
    }

    /// Evaluates an expression in a frame.
    pub fn eval(&self, e: &Expr, f: &Frame<'_>) -> Result<Value> {
        Ok(match e {
            Expr::Literal(v) => v.clone(),
            Expr::Column(i) => f.row.get(*i).cloned().unwrap_or(Value::Null),
            Expr::Outer { depth, index } => {
                let mut fr = f;
                for _ in 0..*depth {
                    fr = fr
                        .parent
                        .ok_or_else(|| Error::invalid("internal: missing outer row"))?;
                }
                fr.row.get(*index).cloned().unwrap_or(Value::Null)
            }
            Expr::Param(i) => self.params.get(*i).cloned().ok_or_else(|| {
                Error::Parameter(format!("no value bound for parameter {}", i + 1))
            })?,
            Expr::Not(x) => eval::bool_value(self.eval(x, f)?.truthy().map(|b| !b)),
            Expr::Neg(x) => match self.eval(x, f)?.to_number() {
                Value::Null => Value::Null,
                Value::Integer(i) => i
                    .checked_neg()
                    .map_or(Value::Real(-(i as f64)), Value::Integer),
                Value::Real(r) => Value::Real(-r),
                Value::Decimal(d) => Value::Decimal(-d),
                other => other,
            },
            Expr::BitNot(x) => match self.eval(x, f)? {
                Value::Null => Value::Null,
                v => Value::Integer(!v.as_i64()),
            },
            Expr::Binary(op, a, b) => eval::binary(*op, self.eval(a, f)?, self.eval(b, f)?)?,
            Expr::Compare {
                op,
                left,
                right,
                left_aff,
                right_aff,
            } => eval::bool_value(eval::compare(
                *op,
                self.eval(left, f)?,
                self.eval(right, f)?,
                *left_aff,
                *right_aff,
            )),
            Expr::And(a, b) => {
                let x = self.eval(a, f)?.truthy();
                if x == Some(false) {
                    return Ok(Value::Integer(0));
                }
                let y = self.eval(b, f)?.truthy();
                eval::bool_value(match (x, y) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                })
            }
            Expr::Or(a, b) => {
                let x = self.eval(a, f)?.truthy();
                if x == Some(true) {
                    return Ok(Value::Integer(1));
                }
                let y = self.eval(b, f)?.truthy();
                eval::bool_value(match (x, y) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                })
            }
            Expr::Is {
                left,
                right,
                negated,
            } => {
                let (a, b) = (self.eval(left, f)?, self.eval(right, f)?);
                let same = match (a.is_null(), b.is_null()) {
                    (true, true) => true,
                    (false, false) => a.same_as(&b),
                    _ => false,
                };
                Value::Integer(i64::from(same != *negated))
            }
            Expr::InList {
                expr,
                list,
                negated,
                affinity,
            } => {
                if list.is_empty() {
                    return Ok(Value::Integer(i64::from(*negated)));
                }
                let x = self.eval(expr, f)?;
                let mut candidates = Vec::with_capacity(list.len());
                for item in list {
                    candidates.push(self.eval(item, f)?);
                }
                in_values(x, candidates.into_iter(), *negated, *affinity)?
            }
            Expr::InSubquery {
                expr,
                plan,
                negated,
                affinity,
            } => {
                let x = self.eval(expr, f)?;
                let rows = self.subquery(plan, f)?;
                if rows.is_empty() {
                    return Ok(Value::Integer(i64::from(*negated)));
                }
                in_values(
                    x,
                    rows.iter()
                        .map(|r| r.first().cloned().unwrap_or(Value::Null)),
                    *negated,
                    *affinity,
                )?
            }
            Expr::Exists { plan, negated } => {
                let rows = self.subquery(plan, f)?;
                Value::Integer(i64::from(rows.is_empty() == *negated))
            }
            Expr::ScalarSubquery(plan) => {
                let rows = self.subquery(plan, f)?;
                rows.first()
                    .and_then(|r| r.first().cloned())
                    .unwrap_or(Value::Null)
            }
            Expr::Case {
                operand: _,
                whens,
                otherwise,
            } => {
                for (w, t) in whens {
                    if self.eval(w, f)?.truthy() == Some(true) {
                        return self.eval(t, f);
                    }
                }
                match otherwise {
                    Some(o) => self.eval(o, f)?,
                    None => Value::Null,
                }
            }
            Expr::Cast(x, to) => eval::cast(self.eval(x, f)?, *to),
            Expr::Like {
                expr,
                pattern,
                escape,
                negated,
                glob,
            } => {
                let (x, p) = (self.eval(expr, f)?, self.eval(pattern, f)?);
                let esc = match escape {
                    Some(e) => eval::escape_char(&self.eval(e, f)?)?,
                    None => None,
                };
                match (x.to_text(), p.to_text()) {
                    (Some(t), Some(pat)) => {
                        Value::Integer(i64::from(eval::like(&t, &pat, esc, *glob) != *negated))
                    }
                    _ => Value::Null,
                }
            }
            Expr::Function(func, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a, f)?);
                }
                func.call(&vals, self.env)?
            }
            Expr::Aggregate { .. } => {
                return Err(Error::invalid("misuse of aggregate function"));
            }
        })
    }

    fn subquery(&self, sp: &super::plan::SubPlan, f: &Frame<'_>) -> Result<Rc<Vec<Row>>> {
        if !sp.correlated {
            if let Some(r) = self.cache.borrow().get(&sp.id) {
                return Ok(r.clone());
            }
        }
        let rows = Rc::new(self.run(&sp.plan, Some(f))?);
        if !sp.correlated {
            self.cache.borrow_mut().insert(sp.id, rows.clone());
        }
        Ok(rows)
    }

    fn predicate(&self, e: &Expr, row: &[Value], parent: Option<&Frame<'_>>) -> Result<bool> {
        Ok(self.eval(e, &Frame { row, parent })?.truthy() == Some(true))
    }

    /// Runs a plan; `parent` is the enclosing row (for correlated subqueries and joins).
    pub fn run(&self, plan: &Plan, parent: Option<&Frame<'_>>) -> Result<Vec<Row>> {
        match plan {
            Plan::Scan(node) => self.scan(node, parent),
            Plan::Values(rows) => {
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    let f = Frame { row: &[], parent };
                    out.push(
                        r.iter()
                            .map(|e| self.eval(e, &f))
                            .collect::<Result<Row>>()?,
                    );
                }
                Ok(out)
            }
            Plan::Filter(input, pred) => {
                let rows = self.run(input, parent)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    if self.predicate(pred, &r, parent)? {
                        out.push(r);
                    }
                }
                Ok(out)
            }
            Plan::Project(input, exprs) => {
                let rows = self.run(input, parent)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let f = Frame { row: r, parent };
                    out.push(
                        exprs
                            .iter()
                            .map(|e| self.eval(e, &f))
                            .collect::<Result<Row>>()?,
                    );
                }
                Ok(out)
            }
            Plan::Join {
                left,
                right,
                kind,
                right_width,
            } => {
                let lrows = self.run(left, parent)?;
                let uncorrelated = !plan_reads_outer(right);
                let shared = if uncorrelated {
                    Some(self.run(right, parent)?)
                } else {
                    None
                };
                let mut out = Vec::new();
                for l in &lrows {
                    let f = Frame { row: l, parent };
                    let owned;
                    let rrows = match &shared {
                        Some(r) => r,
                        None => {
                            owned = self.run(right, Some(&f))?;
                            &owned
                        }
                    };
                    if rrows.is_empty() {
                        if *kind == JoinKind::Left {
                            let mut row = l.clone();
                            row.extend(std::iter::repeat_n(Value::Null, *right_width));
                            out.push(row);
                        }
                        continue;
                    }
                    for r in rrows {
                        let mut row = Vec::with_capacity(l.len() + r.len());
                        row.extend_from_slice(l);
                        row.extend_from_slice(r);
                        out.push(row);
                    }
                }
                Ok(out)
            }
            Plan::Aggregate {
                input,
                group_by,
                aggregates,
            } => self.aggregate(input, group_by, aggregates, parent),
            Plan::Sort(input, keys) => {
                let rows = self.run(input, parent)?;
                self.sort(rows, keys, parent)
            }
            Plan::Limit {
                input,
                limit,
                offset,
            } => {
                let f = Frame { row: &[], parent };
                let lim = match limit {
                    Some(e) => limit_value(&self.eval(e, &f)?, "LIMIT")?,
                    None => -1,
                };
                let off = match offset {
                    Some(e) => limit_value(&self.eval(e, &f)?, "OFFSET")?.max(0),
                    None => 0,
                };
                let rows = self.run(input, parent)?;
                let it = rows.into_iter().skip(off as usize);
                Ok(if lim < 0 {
                    it.collect()
                } else {
                    it.take(lim as usize).collect()
                })
            }
            Plan::Distinct(input) => {
                let rows = self.run(input, parent)?;
                let mut seen = HashSet::new();
                Ok(rows
                    .into_iter()
                    .filter(|r| seen.insert(row_key(r)))
                    .collect())
            }
            Plan::SetOperation {
                op,
                all,
                left,
                right,
            } => {
                let l = self.run(left, parent)?;
                let r = self.run(right, parent)?;
                Ok(set_operation(*op, *all, l, r))
            }
            Plan::Materialize { id, input } => {
                if let Some(r) = self.cache.borrow().get(id) {
                    return Ok(r.as_ref().clone());
                }
                let rows = self.run(input, parent)?;
                self.cache.borrow_mut().insert(*id, Rc::new(rows.clone()));
                Ok(rows)
            }
        }
    }

    fn sort(
        &self,
        rows: Vec<Row>,
        keys: &[SortKey],
        parent: Option<&Frame<'_>>,
    ) -> Result<Vec<Row>> {
        let mut keyed = Vec::with_capacity(rows.len());
        for r in rows {
            let f = Frame { row: &r, parent };
            let k = keys
                .iter()
                .map(|k| self.eval(&k.expr, &f))
                .collect::<Result<Vec<_>>>()?;
            keyed.push((k, r));
        }
        keyed.sort_by(|(a, _), (b, _)| {
            for (i, key) in keys.iter().enumerate() {
                let (x, y) = (&a[i], &b[i]);
                let ord = match (x.is_null(), y.is_null()) {
                    (true, true) => std::cmp::Ordering::Equal,
                    (true, false) => {
                        if key.nulls_first {
                            std::cmp::Ordering::Less
                        } else {
                            std::cmp::Ordering::Greater
                        }
                    }
                    (false, true) => {
                        if key.nulls_first {
                            std::cmp::Ordering::Greater
                        } else {
                            std::cmp::Ordering::Less
                        }
                    }
                    _ => {
                        let o = x.total_cmp(y);
                        if key.desc {
                            o.reverse()
                        } else {
                            o
                        }
                    }
                };
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
            }
            std::cmp::Ordering::Equal
        });
        Ok(keyed.into_iter().map(|(_, r)| r).collect())
    }

    fn aggregate(
        &self,
        input: &Plan,
        group_by: &[Expr],
        aggregates: &[Expr],
        parent: Option<&Frame<'_>>,
    ) -> Result<Vec<Row>> {
        let rows = self.run(input, parent)?;
        let mut groups: BTreeMap<Vec<u8>, (Row, Vec<Accumulator>)> = BTreeMap::new();
        let new_accs = || -> Vec<Accumulator> { aggregates.iter().map(Accumulator::new).collect() };
        for r in &rows {
            let f = Frame { row: r, parent };
            let key_vals = group_by
                .iter()
                .map(|g| self.eval(g, &f))
                .collect::<Result<Row>>()?;
            let key = row_key(&key_vals);
            let entry = groups.entry(key).or_insert_with(|| (key_vals, new_accs()));
            for (acc, agg) in entry.1.iter_mut().zip(aggregates) {
                if let Expr::Aggregate { args, .. } = agg {
                    let vals = args
                        .iter()
                        .map(|a| self.eval(a, &f))
                        .collect::<Result<Vec<_>>>()?;
                    acc.add(vals)?;
                }
            }
        }
        if groups.is_empty() && group_by.is_empty() {
            groups.insert(Vec::new(), (Vec::new(), new_accs()));
        }
        let mut out = Vec::with_capacity(groups.len());
        for (_, (mut key_vals, accs)) in groups {
            for a in accs {
                key_vals.push(a.finish());
            }
            out.push(key_vals);
        }
        Ok(out)
    }

    /// Decodes a stored row, padding columns added after it was written.
    pub fn decode_row(&self, info: &TableInfo, key: &[u8], value: &[u8]) -> Result<Row> {
        let def = &info.def;
        let ncols = def.columns.len();
        let mut row = codec::decode_row(value)?;
        if row.len() > ncols {
            row.truncate(ncols);
        }
        while row.len() < ncols {
            let i = row.len();
            row.push(self.column_default(info, i)?);
        }
        let rowid = if def.has_rowid() {
            let mut pos = 5;
            codec::decode_key_value(key, &mut pos, false)?
        } else {
            Value::Null
        };
        row.push(rowid);
        Ok(row)
    }

    fn column_default(&self, info: &TableInfo, col: usize) -> Result<Value> {
        let k = (info.def.id, col);
        if let Some(v) = self.defaults.borrow().get(&k) {
            return Ok(v.clone());
        }
        let v = match &info.def.columns[col].default {
            None => Value::Null,
            Some(text) => super::session::eval_default_text(text, self.env)?
                .apply_affinity(info.def.columns[col].affinity),
        };
        self.defaults.borrow_mut().insert(k, v.clone());
        Ok(v)
    }

    /// How many kept rows satisfy the LIMIT above the scan (`None`: all of them).
    fn scan_cap(&self, node: &ScanNode, parent: Option<&Frame<'_>>) -> Result<Option<usize>> {
        let Some((limit, offset)) = &node.stop_after else {
            return Ok(None);
        };
        let f = Frame { row: &[], parent };
        let lim = limit_value(&self.eval(limit, &f)?, "LIMIT")?;
        if lim < 0 {
            return Ok(None);
        }
        let off = match offset {
            Some(e) => limit_value(&self.eval(e, &f)?, "OFFSET")?.max(0),
            None => 0,
        };
        Ok(Some(
            usize::try_from(lim.saturating_add(off)).unwrap_or(usize::MAX),
        ))
    }

    fn scan(&self, node: &ScanNode, parent: Option<&Frame<'_>>) -> Result<Vec<Row>> {
        let reader = self.reader()?;
        let info = &node.table;
        let mut out = Vec::new();
        let cap = self.scan_cap(node, parent)?;
        if cap == Some(0) {
            return Ok(out);
        }
        let full = |out: &Vec<Row>| cap.is_some_and(|c| out.len() >= c);
        let mut emit = |k: &[u8], v: &[u8], out: &mut Vec<Row>| -> Result<()> {
            let row = self.decode_row(info, k, v)?;
            let keep = match &node.filter {
                Some(pred) => self.predicate(pred, &row, parent)?,
                None => true,
            };
            if keep {
                out.push(row);
            }
            Ok(())
        };
        let dir = if node.reverse {
            Direction::Reverse
        } else {
            Direction::Forward
        };
        match &node.access {
            Access::Full => {
                let prefix = codec::table_prefix(info.def.id);
                for kv in reader.scan(node.source, prefix_range(&prefix), dir)? {
                    let (k, v) = kv?;
                    emit(&k, &v, &mut out)?;
                    if full(&out) {
                        break;
                    }
                }
            }
            Access::Key {
                index,
                eq,
                in_list,
                lower,
                upper,
            } => {
                let f = Frame { row: &[], parent };
                let (prefix, key_cols) = match index {
                    None => (codec::table_prefix(info.def.id), table_key_columns(info)),
                    Some(ix) => (
                        codec::index_prefix(ix.id),
                        ix.columns
                            .iter()
                            .map(|c| (info.def.columns[c.column].affinity, c.desc))
                            .collect(),
                    ),
                };
                let ranges = self.key_ranges(
                    &prefix,
                    &key_cols,
                    index.is_none(),
                    eq,
                    in_list,
                    lower,
                    upper,
                    &f,
                )?;
                let mut seen_rows: HashSet<Vec<u8>> = HashSet::new();
                for range in ranges {
                    match range {
                        KeyLookup::Point(key) => {
                            if full(&out) {
                                break;
                            }
                            if let Some(v) = reader.get(node.source, &key)? {
                                if index.is_none() {
                                    emit(&key, &v, &mut out)?;
                                } else {
                                    self.emit_index_entry(
                                        info,
                                        index.as_deref(),
                                        &key,
                                        node,
                                        &mut seen_rows,
                                        &mut emit,
                                        &mut out,
                                    )?;
                                }
                            }
                        }
                        KeyLookup::Range(r) => {
                            for kv in reader.scan(node.source, r, dir)? {
                                if full(&out) {
                                    break;
                                }
                                let (k, v) = kv?;
                                if index.is_none() {
                                    emit(&k, &v, &mut out)?;
                                } else {
                                    self.emit_index_entry(
                                        info,
                                        index.as_deref(),
                                        &k,
                                        node,
                                        &mut seen_rows,
                                        &mut emit,
                                        &mut out,
                                    )?;
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn emit_index_entry(
        &self,
        info: &TableInfo,
        index: Option<&super::catalog::IndexDef>,
        entry_key: &[u8],
        node: &ScanNode,
        seen: &mut HashSet<Vec<u8>>,
        emit: &mut EmitFn<'_>,
        out: &mut Vec<Row>,
    ) -> Result<()> {
        let Some(ix) = index else { return Ok(()) };
        let mut pos = 5;
        for c in &ix.columns {
            codec::decode_key_value(entry_key, &mut pos, c.desc)?;
        }
        let mut row_key = codec::table_prefix(info.def.id);
        row_key.extend_from_slice(&entry_key[pos..]);
        if !seen.insert(row_key.clone()) {
            return Ok(());
        }
        let reader = self.reader()?;
        match reader.get(node.source, &row_key)? {
            Some(v) => emit(&row_key, &v, out),
            None => Err(Error::corruption(format!(
                "index {} points to a missing row of {}",
                ix.name, info.def.name
            ))),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn key_ranges(
        &self,
        prefix: &[u8],
        key_cols: &[(Affinity, bool)],
        unique_key: bool,
        eq: &[Expr],
        in_list: &Option<Vec<Expr>>,
        lower: &Option<super::plan::KeyBound>,
        upper: &Option<super::plan::KeyBound>,
        f: &Frame<'_>,
    ) -> Result<Vec<KeyLookup>> {
        let mut base = prefix.to_vec();
        let mut exact = true;
        for (i, e) in eq.iter().enumerate() {
            let (aff, desc) = key_cols[i];
            let v = self.eval(e, f)?;
            if v.is_null() {
                return Ok(Vec::new());
            }
            let v = v.apply_affinity(aff);
            if aff == Affinity::Blob
                && matches!(v, Value::Integer(_) | Value::Real(_) | Value::Decimal(_))
            {
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
            let mut keys: Vec<Vec<u8>> = Vec::new();
            for e in list {
                let v = self.eval(e, f)?;
                if v.is_null() {
                    continue;
                }
                let v = v.apply_affinity(aff);
                let mut k = base.clone();
                if aff == Affinity::Blob
                    && matches!(v, Value::Integer(_) | Value::Real(_) | Value::Decimal(_))
                {
                    let mut b = Vec::new();
                    codec::encode_key_bound(&v, &mut b);
                    if desc {
                        b.iter_mut().for_each(|x| *x = !*x);
                    }
                    k.extend_from_slice(&b);
                    keys.push(k);
                    continue;
                }
                codec::encode_key_value(&v, desc, &mut k);
                keys.push(k);
            }
            keys.sort();
            keys.dedup();
            let point = unique_key && next + 1 == key_cols.len();
            return Ok(keys
                .into_iter()
                .map(|k| {
                    if point && aff_is_exact(key_cols[next].0) {
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
        let bound = |b: &Option<super::plan::KeyBound>| -> Result<Option<Option<Vec<u8>>>> {
            match b {
                None => Ok(None),
                Some(kb) => {
                    let v = self.eval(&kb.value, f)?;
                    if v.is_null() {
                        return Ok(Some(None));
                    }
                    let v = v.apply_affinity(aff);
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
}

fn aff_is_exact(a: Affinity) -> bool {
    a != Affinity::Blob
}

/// Receives a stored row (key, value) and appends it to the output if it qualifies.
type EmitFn<'e> = dyn FnMut(&[u8], &[u8], &mut Vec<Row>) -> Result<()> + 'e;

enum KeyLookup {
    Point(Vec<u8>),
    Range(KeyRange),
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

fn limit_value(v: &Value, what: &str) -> Result<i64> {
    match v.clone().apply_affinity(Affinity::Numeric) {
        Value::Integer(i) => Ok(i),
        Value::Null => Ok(-1),
        other => Err(Error::TypeMismatch(format!(
            "{what} must be an integer, got {other}"
        ))),
    }
}

fn in_values(
    x: Value,
    candidates: impl Iterator<Item = Value>,
    negated: bool,
    affinity: Option<Affinity>,
) -> Result<Value> {
    if x.is_null() {
        return Ok(Value::Null);
    }
    let mut saw_null = false;
    for c in candidates {
        if c.is_null() {
            saw_null = true;
            continue;
        }
        let c = match affinity {
            Some(a) if a.is_numeric() || a == Affinity::Text => c.apply_affinity(match a {
                Affinity::Text => Affinity::Text,
                _ => Affinity::Numeric,
            }),
            _ => c,
        };
        if x.same_as(&c) {
            return Ok(Value::Integer(i64::from(!negated)));
        }
    }
    Ok(if saw_null {
        Value::Null
    } else {
        Value::Integer(i64::from(negated))
    })
}

/// Byte key identifying a row's values (for DISTINCT, grouping and set operations).
pub fn row_key(r: &[Value]) -> Vec<u8> {
    let mut k = Vec::new();
    for v in r {
        // Numbers that compare equal must group together: use the numeric prefix plus the
        // value only for non-numbers.
        match v {
            Value::Integer(_) | Value::Real(_) | Value::Decimal(_) => {
                codec::encode_key_bound(v, &mut k);
                if let Value::Integer(i) = v {
                    // Distinguish large integers sharing an f64 image.
                    k.extend_from_slice(&i.to_be_bytes());
                } else {
                    let f = v.as_f64();
                    if f.abs() < 9.0e15 && f.fract() == 0.0 {
                        k.extend_from_slice(&(f as i64).to_be_bytes());
                    } else {
                        k.extend_from_slice(&[0xFF; 8]);
                    }
                }
            }
            other => codec::encode_key_value(other, false, &mut k),
        }
    }
    k
}

fn set_operation(op: SetOp, all: bool, l: Vec<Row>, r: Vec<Row>) -> Vec<Row> {
    match (op, all) {
        (SetOp::Union, true) => l.into_iter().chain(r).collect(),
        (SetOp::Union, false) => {
            let mut m = BTreeMap::new();
            for row in l.into_iter().chain(r) {
                m.entry(order_key(&row)).or_insert(row);
            }
            m.into_values().collect()
        }
        (SetOp::Intersect, _) => {
            let right: HashSet<Vec<u8>> = r.iter().map(|x| row_key(x)).collect();
            let mut m = BTreeMap::new();
            for row in l {
                if right.contains(&row_key(&row)) {
                    m.entry(order_key(&row)).or_insert(row);
                }
            }
            m.into_values().collect()
        }
        (SetOp::Except, _) => {
            let right: HashSet<Vec<u8>> = r.iter().map(|x| row_key(x)).collect();
            let mut m = BTreeMap::new();
            for row in l {
                if !right.contains(&row_key(&row)) {
                    m.entry(order_key(&row)).or_insert(row);
                }
            }
            m.into_values().collect()
        }
    }
}

/// Key that orders rows as SQLite's sorter would and identifies equal rows.
fn order_key(r: &[Value]) -> Vec<u8> {
    let mut k = Vec::new();
    for v in r {
        codec::encode_key_bound(v, &mut k);
        k.push(0);
    }
    k.extend_from_slice(&row_key(r));
    k
}

/// True if any expression in the plan reads an enclosing row.
fn plan_reads_outer(plan: &Plan) -> bool {
    let mut found = false;
    let mut check = |e: &Expr| {
        e.walk(&mut |x| match x {
            Expr::Outer { .. } => found = true,
            Expr::InSubquery { plan, .. }
            | Expr::Exists { plan, .. }
            | Expr::ScalarSubquery(plan) => found |= plan.correlated,
            _ => {}
        })
    };
    visit_plan_exprs(plan, &mut check);
    found
}

fn visit_plan_exprs(plan: &Plan, f: &mut dyn FnMut(&Expr)) {
    match plan {
        Plan::Scan(n) => {
            if let Some(e) = &n.filter {
                f(e);
            }
            if let Some((limit, offset)) = &n.stop_after {
                f(limit);
                if let Some(o) = offset {
                    f(o);
                }
            }
            if let Access::Key {
                eq,
                in_list,
                lower,
                upper,
                ..
            } = &n.access
            {
                eq.iter().for_each(&mut *f);
                if let Some(l) = in_list {
                    l.iter().for_each(&mut *f);
                }
                if let Some(b) = lower {
                    f(&b.value);
                }
                if let Some(b) = upper {
                    f(&b.value);
                }
            }
        }
        Plan::Values(rows) => rows.iter().flatten().for_each(f),
        Plan::Filter(p, e) => {
            visit_plan_exprs(p, f);
            f(e);
        }
        Plan::Project(p, es) => {
            visit_plan_exprs(p, f);
            es.iter().for_each(f);
        }
        Plan::Join { left, right, .. } => {
            visit_plan_exprs(left, f);
            // The right side's depth-1 references are to the left row, not beyond; but
            // deeper ones reach out of this plan. Conservatively report any.
            visit_plan_exprs(right, f);
        }
        Plan::Aggregate {
            input,
            group_by,
            aggregates,
        } => {
            visit_plan_exprs(input, f);
            group_by.iter().for_each(&mut *f);
            aggregates.iter().for_each(f);
        }
        Plan::Sort(p, keys) => {
            visit_plan_exprs(p, f);
            keys.iter().for_each(|k| f(&k.expr));
        }
        Plan::Limit {
            input,
            limit,
            offset,
        } => {
            visit_plan_exprs(input, f);
            if let Some(e) = limit {
                f(e);
            }
            if let Some(e) = offset {
                f(e);
            }
        }
        Plan::Distinct(p) | Plan::Materialize { input: p, .. } => visit_plan_exprs(p, f),
        Plan::SetOperation { left, right, .. } => {
            visit_plan_exprs(left, f);
            visit_plan_exprs(right, f);
        }
    }
}

/// Running state of one aggregate.
struct Accumulator {
    func: AggFn,
    distinct: Option<HashSet<Vec<u8>>>,
    count: i64,
    int_sum: Option<i64>,
    real_sum: f64,
    dec_sum: Option<rust_decimal::Decimal>,
    any_real: bool,
    overflow: bool,
    best: Option<Value>,
    text: Option<String>,
}

impl Accumulator {
    fn new(agg: &Expr) -> Self {
        let (func, distinct) = match agg {
            Expr::Aggregate { func, distinct, .. } => (*func, *distinct),
            _ => (AggFn::AnyValue, false),
        };
        Self {
            func,
            distinct: distinct.then(HashSet::new),
            count: 0,
            int_sum: Some(0),
            real_sum: 0.0,
            dec_sum: None,
            any_real: false,
            overflow: false,
            best: None,
            text: None,
        }
    }

    fn add(&mut self, args: Vec<Value>) -> Result<()> {
        if self.func == AggFn::CountStar {
            self.count += 1;
            return Ok(());
        }
        let mut args = args.into_iter();
        let v = args.next().unwrap_or(Value::Null);
        if self.func == AggFn::AnyValue {
            self.best = Some(v);
            return Ok(());
        }
        if v.is_null() {
            return Ok(());
        }
        if let Some(seen) = &mut self.distinct {
            if !seen.insert(row_key(std::slice::from_ref(&v))) {
                return Ok(());
            }
        }
        self.count += 1;
        match self.func {
            AggFn::Sum | AggFn::Total | AggFn::Avg => match v.to_number() {
                Value::Integer(i) => {
                    self.real_sum += i as f64;
                    if let Some(d) = &mut self.dec_sum {
                        *d += rust_decimal::Decimal::from(i);
                    }
                    self.int_sum = match self.int_sum.map(|s| s.checked_add(i)) {
                        Some(Some(s)) => Some(s),
                        Some(None) => {
                            self.overflow = true;
                            None
                        }
                        None => None,
                    };
                    // SUM of integers fails on overflow (TOTAL never does).
                    if self.overflow
                        && self.func == AggFn::Sum
                        && !self.any_real
                        && self.dec_sum.is_none()
                    {
                        return Err(Error::LimitExceeded("integer overflow in sum()".into()));
                    }
                }
                Value::Decimal(d) => {
                    self.real_sum += super::functions::decimal_to_f64(&d);
                    let base = self
                        .dec_sum
                        .unwrap_or_else(|| rust_decimal::Decimal::from(self.int_sum.unwrap_or(0)));
                    self.dec_sum = base.checked_add(d).or(Some(base));
                }
                n => {
                    self.real_sum += n.as_f64();
                    self.any_real = true;
                }
            },
            AggFn::Min | AggFn::Max => {
                let replace = match &self.best {
                    None => true,
                    Some(b) => {
                        let o = v.total_cmp(b);
                        (self.func == AggFn::Min && o.is_lt())
                            || (self.func == AggFn::Max && o.is_gt())
                    }
                };
                if replace {
                    self.best = Some(v);
                }
            }
            AggFn::GroupConcat => {
                let sep = match args.next() {
                    None => ",".to_string(),
                    Some(s) => s.to_text().unwrap_or_default(),
                };
                let t = v.to_text().unwrap_or_default();
                match &mut self.text {
                    None => self.text = Some(t),
                    Some(acc) => {
                        acc.push_str(&sep);
                        acc.push_str(&t);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Value {
        match self.func {
            AggFn::CountStar | AggFn::Count => Value::Integer(self.count),
            AggFn::Sum => {
                if self.count == 0 {
                    Value::Null
                } else if self.any_real || self.overflow {
                    Value::Real(self.real_sum)
                } else if let Some(d) = self.dec_sum {
                    Value::Decimal(d)
                } else {
                    Value::Integer(self.int_sum.unwrap_or(0))
                }
            }
            AggFn::Total => Value::Real(self.real_sum),
            AggFn::Avg => {
                if self.count == 0 {
                    Value::Null
                } else if let (Some(d), false) = (self.dec_sum, self.any_real) {
                    d.checked_div(rust_decimal::Decimal::from(self.count))
                        .map_or(
                            Value::Real(self.real_sum / self.count as f64),
                            Value::Decimal,
                        )
                } else {
                    Value::Real(self.real_sum / self.count as f64)
                }
            }
            AggFn::Min | AggFn::Max | AggFn::AnyValue => self.best.unwrap_or(Value::Null),
            AggFn::GroupConcat => self.text.map_or(Value::Null, Value::Text),
        }
    }
}
