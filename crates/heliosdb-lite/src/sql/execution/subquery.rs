//! Subqueries inside expressions: EXISTS, IN and scalar subqueries.
//!
//! An uncorrelated subquery runs once per statement. A correlated one runs once per distinct
//! combination of the enclosing-row columns it reads (its correlation values, known from
//! binding), and its answer is kept for the next row with the same values: an EXISTS over a
//! join column runs once per distinct key, not once per row. EXISTS and scalar subqueries
//! pull only the first row. IN builds a hash set of the candidates once, so `x IN (SELECT
//! ...)` costs one probe per row instead of a pass over the subquery's rows.

use super::super::plan::SubPlan;
use super::super::value::{Affinity, Value};
use super::expr::in_candidate;
use super::keys::hash_key;
use super::{Executor, Frame};
use crate::error::Result;
use rustc_hash::{FxHashMap as HashMap, FxHashSet};
use std::collections::HashSet;
use std::rc::Rc;

/// How many answers a statement keeps for correlated subqueries before it stops caching
/// (bounds memory when every row has new correlation values).
const MAX_CACHED_ANSWERS: usize = 100_000;

/// The distinct candidates of an IN subquery.
#[derive(Default)]
pub(super) struct InSet {
    buckets: HashMap<Vec<u8>, Vec<Value>>,
    /// The candidates again when every one is an integer (keys, ids: the common case), so an
    /// integer is tested with one probe of a set of integers, with no key to encode. `None`
    /// once a candidate of another type was added.
    ints: Option<FxHashSet<i64>>,
    has_null: bool,
    empty: bool,
    /// The probe key of the value tested, built here: a new buffer per outer row cost more
    /// than the lookup.
    probe: std::cell::RefCell<Vec<u8>>,
}

impl InSet {
    /// `x IN set` (or NOT IN) by SQL's rules.
    fn test(&self, x: &Value, negated: bool) -> Value {
        if self.empty {
            return Value::Integer(i64::from(negated));
        }
        if x.is_null() {
            return Value::Null;
        }
        if let (Value::Integer(i), Some(ints)) = (x, &self.ints) {
            // Two integers are the same value exactly when they are equal.
            if ints.contains(i) {
                return Value::Integer(i64::from(!negated));
            }
        } else if self.lookup(x) {
            return Value::Integer(i64::from(!negated));
        }
        if self.has_null {
            Value::Null
        } else {
            Value::Integer(i64::from(negated))
        }
    }

    /// True if a candidate is the same value as `x`.
    fn lookup(&self, x: &Value) -> bool {
        let mut k = self.probe.borrow_mut();
        k.clear();
        hash_key(x, &mut k);
        self.buckets
            .get(k.as_slice())
            .is_some_and(|b| b.iter().any(|c| x.same_as(c)))
    }

    /// Adds a candidate (not NULL) unless the set holds the same value; true if it was added.
    fn insert(&mut self, c: Value) -> bool {
        let mut k = Vec::new();
        hash_key(&c, &mut k);
        let bucket = self.buckets.entry(k).or_default();
        if bucket.iter().any(|y| y.same_as(&c)) {
            return false;
        }
        match (&c, &mut self.ints) {
            (Value::Integer(i), Some(ints)) => {
                ints.insert(*i);
            }
            _ => self.ints = None,
        }
        bucket.push(c);
        true
    }
}

#[derive(Clone)]
enum Answer {
    Exists(bool),
    Scalar(Value),
    In(Rc<InSet>),
}

/// Answers of subqueries, by subquery id and correlation values.
#[derive(Default)]
pub(super) struct SubqueryCache {
    answers: HashMap<(usize, Vec<u8>), Answer>,
    /// The set of the uncorrelated IN subquery built last, by subquery id.
    last_in: Option<(usize, Rc<InSet>)>,
}

/// What a statement computes once, carried from one executor to the next when it needs a
/// fresh executor per row (an UPDATE whose SET reads the rows it changes): SQLite runs an
/// uncorrelated subquery once, at its first use, and computes a relation it materialises
/// (an aggregate view, a DISTINCT derived table) once per statement, while answers of
/// correlated subqueries must not outlive the row they were computed for.
#[derive(Default)]
pub struct StatementAnswers {
    subqueries: SubqueryCache,
    relations: std::collections::HashMap<usize, Rc<Vec<super::Row>>>,
}

impl Executor<'_> {
    /// Starts from what an earlier executor of the same statement computed once.
    pub fn with_statement_answers(self, answers: StatementAnswers) -> Self {
        *self.subquery_cache.borrow_mut() = answers.subqueries;
        *self.cache.borrow_mut() = answers.relations;
        self
    }

    /// What this executor computed once for the statement: the answers of uncorrelated
    /// subqueries, and the rows of the relations (by `Materialize` id) in `keep` (see
    /// [`crate::sql::plan::relations_computed_once`]); answers of correlated subqueries and
    /// other relations are dropped.
    pub fn take_statement_answers(&self, keep: &HashSet<usize>) -> StatementAnswers {
        let mut subqueries = std::mem::take(&mut *self.subquery_cache.borrow_mut());
        // An uncorrelated subquery's key holds no correlation values.
        subqueries.answers.retain(|(_, key), _| key.is_empty());
        let mut relations = std::mem::take(&mut *self.cache.borrow_mut());
        relations.retain(|id, _| keep.contains(id));
        StatementAnswers {
            subqueries,
            relations,
        }
    }
}

impl Executor<'_> {
    /// The cache key of a subquery in frame `f`: its correlation values, or `None` when its
    /// answer cannot be reused (it reads rows further out than the enclosing one).
    fn correlation_key(&self, sp: &SubPlan, f: &Frame<'_>) -> Option<Vec<u8>> {
        if !sp.correlated {
            return Some(Vec::new());
        }
        let cols = sp.outer_columns.as_ref()?;
        let mut k = Vec::new();
        for &c in cols {
            super::super::codec::encode_key_value(
                f.row.get(c).unwrap_or(&Value::Null),
                false,
                &mut k,
            );
        }
        Some(k)
    }

    fn cached(&self, sp: &SubPlan, key: &Option<Vec<u8>>) -> Option<Answer> {
        let key = key.as_ref()?;
        self.subquery_cache
            .borrow()
            .answers
            .get(&(sp.id, key.clone()))
            .cloned()
    }

    fn remember(&self, sp: &SubPlan, key: Option<Vec<u8>>, answer: Answer) {
        let Some(key) = key else { return };
        let mut cache = self.subquery_cache.borrow_mut();
        if cache.answers.len() < MAX_CACHED_ANSWERS {
            cache.answers.insert((sp.id, key), answer);
        }
    }

    /// `EXISTS (subquery)` for the row of `f`: true if the subquery returns a row.
    pub(super) fn exists(&self, sp: &SubPlan, f: &Frame<'_>) -> Result<bool> {
        let key = self.correlation_key(sp, f);
        if let Some(Answer::Exists(b)) = self.cached(sp, &key) {
            return Ok(b);
        }
        let mut op = self.open(&sp.plan)?;
        let found = op.next(Some(f))?.is_some();
        self.remember(sp, key, Answer::Exists(found));
        Ok(found)
    }

    /// A scalar subquery: the first column of its first row, or NULL without rows.
    pub(super) fn scalar_subquery(&self, sp: &SubPlan, f: &Frame<'_>) -> Result<Value> {
        let key = self.correlation_key(sp, f);
        if let Some(Answer::Scalar(v)) = self.cached(sp, &key) {
            return Ok(v);
        }
        let mut op = self.open(&sp.plan)?;
        let v = op
            .next(Some(f))?
            .and_then(|r| r.into_iter().next())
            .unwrap_or(Value::Null);
        self.remember(sp, key, Answer::Scalar(v.clone()));
        Ok(v)
    }

    /// `x [NOT] IN (subquery)`.
    pub(super) fn in_subquery(
        &self,
        x: Value,
        sp: &SubPlan,
        negated: bool,
        affinity: Option<Affinity>,
        f: &Frame<'_>,
    ) -> Result<Value> {
        if !sp.correlated {
            // The set of an uncorrelated subquery probed row after row: no cache lookup.
            let cache = self.subquery_cache.borrow();
            if let Some((id, set)) = &cache.last_in {
                if *id == sp.id {
                    return Ok(set.test(&x, negated));
                }
            }
        }
        let key = self.correlation_key(sp, f);
        let set = match self.cached(sp, &key) {
            Some(Answer::In(s)) => s,
            _ => {
                let mut set = InSet {
                    empty: true,
                    ints: Some(FxHashSet::default()),
                    ..InSet::default()
                };
                let mut op = self.open(&sp.plan)?;
                let mut n = 0usize;
                while let Some(row) = op.next(Some(f))? {
                    self.tick(&mut n)?;
                    set.empty = false;
                    let c = row.into_iter().next().unwrap_or(Value::Null);
                    if c.is_null() {
                        set.has_null = true;
                        continue;
                    }
                    let c = in_candidate(c, affinity);
                    let bytes = 2 * super::memory::value_bytes(&c) + 56;
                    if set.insert(c) {
                        self.memory()
                            .take_for_statement(bytes, "the values of an IN (subquery)")?;
                    }
                }
                let set = Rc::new(set);
                if !sp.correlated {
                    self.subquery_cache.borrow_mut().last_in = Some((sp.id, set.clone()));
                }
                self.remember(sp, key, Answer::In(set.clone()));
                set
            }
        };
        Ok(set.test(&x, negated))
    }
}
