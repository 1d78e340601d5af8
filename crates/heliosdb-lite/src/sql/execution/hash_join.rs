//! Hash join: the right relation is read once into a hash table on its join keys, then each
//! left row looks up its matches by its own keys.
//!
//! Keys are compared as `=` compares them: each side's comparison affinity is applied first,
//! a NULL key matches nothing, and equal hash keys are confirmed by comparing the values
//! (distinct numbers can share a hash key). The table chains rows with equal keys through
//! indices, so probing holds no borrow between calls.

use super::super::plan::{HashKey, JoinKind, JoinNode, Plan};
use super::super::value::Value;
use super::keys::hash_key;
use super::place::pair;
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;
use rustc_hash::FxHashMap as HashMap;

/// The build side: rows, their key values, and chains of rows with equal hash keys.
#[derive(Default)]
struct Table {
    rows: Vec<(Vec<Value>, Row)>,
    /// Next row with the same hash key (chains keep build order).
    next: Vec<Option<usize>>,
    /// First and last row of each chain.
    heads: HashMap<Vec<u8>, (usize, usize)>,
}

/// The left row being probed and the next candidate of its chain.
struct Current {
    left: Row,
    keys: Vec<Value>,
    candidate: Option<usize>,
    matched: bool,
}

/// A hash join: inner, left outer, semi (EXISTS) or anti (NOT EXISTS).
pub(super) struct HashJoinOp<'e> {
    ex: &'e Executor<'e>,
    left: BoxOp<'e>,
    right: &'e Plan,
    join: &'e JoinNode,
    left_keys: &'e [HashKey],
    right_keys: &'e [HashKey],
    table: Option<Table>,
    current: Option<Current>,
}

impl<'e> HashJoinOp<'e> {
    pub(super) fn new(
        ex: &'e Executor<'e>,
        left: BoxOp<'e>,
        right: &'e Plan,
        join: &'e JoinNode,
        left_keys: &'e [HashKey],
        right_keys: &'e [HashKey],
    ) -> Self {
        Self {
            ex,
            left,
            right,
            join,
            left_keys,
            right_keys,
            table: None,
            current: None,
        }
    }

    fn build(&self, outer: Option<&Frame<'_>>) -> Result<Table> {
        let mut table = Table::default();
        let mut input = self.ex.open(self.right)?;
        let mut n = 0usize;
        while let Some(row) = input.next(outer)? {
            self.ex.tick(&mut n)?;
            let Some(keys) = key_values(self.ex, self.right_keys, &row, outer)? else {
                continue;
            };
            let mut k = Vec::new();
            keys.iter().for_each(|v| hash_key(v, &mut k));
            let i = table.rows.len();
            table.next.push(None);
            table.rows.push((keys, row));
            match table.heads.get_mut(&k) {
                Some((_, last)) => {
                    table.next[*last] = Some(i);
                    *last = i;
                }
                None => {
                    table.heads.insert(k, (i, i));
                }
            }
        }
        Ok(table)
    }
}

/// Evaluates join keys with their affinities; `None` if one is NULL (no match possible).
fn key_values(
    ex: &Executor<'_>,
    keys: &[HashKey],
    row: &[Value],
    outer: Option<&Frame<'_>>,
) -> Result<Option<Vec<Value>>> {
    let f = Frame { row, parent: outer };
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        let v = ex.eval(&k.expr, &f)?;
        if v.is_null() {
            return Ok(None);
        }
        out.push(match k.affinity {
            Some(a) => v.apply_affinity(a),
            None => v,
        });
    }
    Ok(Some(out))
}

impl Operator for HashJoinOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        if self.table.is_none() {
            self.table = Some(self.build(outer)?);
        }
        loop {
            if self.current.is_none() {
                let Some(left) = self.left.next(outer)? else {
                    return Ok(None);
                };
                let table = self.table.as_ref().expect("built above");
                let (keys, candidate) = match key_values(self.ex, self.left_keys, &left, outer)? {
                    Some(keys) => {
                        let mut k = Vec::new();
                        keys.iter().for_each(|v| hash_key(v, &mut k));
                        let head = table.heads.get(&k).map(|&(first, _)| first);
                        (keys, head)
                    }
                    None => (Vec::new(), None),
                };
                self.current = Some(Current {
                    left,
                    keys,
                    candidate,
                    matched: false,
                });
            }
            let table = self.table.as_ref().expect("built above");
            let cur = self.current.as_mut().expect("set above");
            let semi = matches!(self.join.kind, JoinKind::Semi | JoinKind::Anti);
            while let Some(i) = cur.candidate {
                cur.candidate = table.next[i];
                let (keys, right) = &table.rows[i];
                if !keys.iter().zip(&cur.keys).all(|(a, b)| a.same_as(b)) {
                    continue;
                }
                if semi {
                    // The subquery's own condition: the right row, under the left row.
                    let ok = match &self.join.condition {
                        Some(c) => {
                            let f = Frame {
                                row: &cur.left,
                                parent: outer,
                            };
                            self.ex.predicate(c, right, Some(&f))?
                        }
                        None => true,
                    };
                    if ok {
                        cur.matched = true;
                        break;
                    }
                    continue;
                }
                // The last candidate can take the left row instead of copying it.
                let last = cur.candidate.is_none() && self.join.condition.is_none();
                let row = if last {
                    std::mem::take(&mut cur.left)
                } else {
                    cur.left.clone()
                };
                if let Some(row) = pair(self.ex, self.join, row, right.clone(), outer)? {
                    if last {
                        // Inner or left: a match was found, so nothing more comes of this row.
                        self.current = None;
                    } else {
                        cur.matched = true;
                    }
                    return Ok(Some(row));
                }
            }
            let cur = self.current.take().expect("set above");
            if self.join.kind.keeps_left(cur.matched) {
                return Ok(Some(cur.left));
            }
        }
    }

    fn rewind(&mut self) {
        self.left.rewind();
        self.current = None;
        // The build side reads only the enclosing row of the whole join, which changes on a
        // rewind only if the right side reads it.
        if self.right.reads_outer() {
            self.table = None;
        }
    }
}
