//! RIGHT and FULL outer joins: every right row comes out at least once, NULL-padded on the
//! left when no left row matched it (FULL also keeps unmatched left rows, as LEFT does).
//!
//! The right relation is read once into memory with a flag per row recording whether some
//! left row matched it; each left row is paired with the candidates (all right rows, or,
//! with equality keys, those of its hash chain), and once the left side is exhausted the
//! right rows never matched are returned with NULLs in the left relations' slots.
//!
//! The left rows end where the right relation's slot begins (the planner joins everything
//! listed before a RIGHT or FULL join first, see `planner::outer_join`), so a pair is the
//! left row followed by the right row (and an unmatched left row is the left row alone:
//! the planner places the join's rows into rows of full width). The right side must fit in the statement's memory
//! budget: unlike the hash join it does not spill, because the matched flags of rows moved
//! to a file would have to be written back.

use super::super::plan::{HashKey, JoinKind, JoinNode, Plan};
use super::super::value::Value;
use super::hash_join::{hash_bytes, key_values};
use super::memory::{row_bytes, Reservation};
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;
use rustc_hash::FxHashMap as HashMap;

/// The right relation's rows, read once.
#[derive(Default)]
struct RightRows {
    rows: Vec<Row>,
    /// Join key values per row (`None`: a NULL key, which matches nothing).
    keys: Vec<Option<Vec<Value>>>,
    matched: Vec<bool>,
    /// With keys: the next row of the same hash chain, and each chain's first and last row.
    next: Vec<Option<usize>>,
    heads: HashMap<Vec<u8>, (usize, usize)>,
}

/// The left row being paired and its next candidate.
struct Current {
    left: Row,
    keys: Option<Vec<Value>>,
    candidate: Option<usize>,
    matched: bool,
}

/// A RIGHT or FULL OUTER join (with or without hash keys).
pub(super) struct OuterJoinOp<'e> {
    ex: &'e Executor<'e>,
    left: BoxOp<'e>,
    right: &'e Plan,
    join: &'e JoinNode,
    left_keys: &'e [HashKey],
    right_keys: &'e [HashKey],
    built: Option<RightRows>,
    reservation: Reservation<'e>,
    current: Option<Current>,
    /// Once the left side is exhausted: the next right row to check for no match.
    unmatched_from: Option<usize>,
}

impl<'e> OuterJoinOp<'e> {
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
            built: None,
            reservation: Reservation::new(ex.memory()),
            current: None,
            unmatched_from: None,
        }
    }

    fn hashed(&self) -> bool {
        !self.right_keys.is_empty()
    }

    /// Reads the right relation into memory.
    fn build(&mut self, outer: Option<&Frame<'_>>) -> Result<()> {
        self.reservation.clear();
        let mut built = RightRows::default();
        let mut input = self.ex.open(self.right)?;
        let mut n = 0usize;
        while let Some(row) = input.next(outer)? {
            self.ex.tick(&mut n)?;
            let keys = if self.hashed() {
                key_values(self.ex, self.right_keys, &row, outer)?
            } else {
                None
            };
            let bytes = row_bytes(&row) + keys.as_deref().map_or(0, row_bytes) + 64;
            if !self.reservation.try_grow(bytes) {
                return Err(self
                    .ex
                    .memory()
                    .exceeded("the right side of a RIGHT or FULL join"));
            }
            let i = built.rows.len();
            built.next.push(None);
            if let Some(k) = &keys {
                match built.heads.get_mut(&hash_bytes(k)) {
                    Some((_, last)) => {
                        built.next[*last] = Some(i);
                        *last = i;
                    }
                    None => {
                        built.heads.insert(hash_bytes(k), (i, i));
                    }
                }
            }
            built.rows.push(row);
            built.keys.push(keys);
            built.matched.push(false);
        }
        self.built = Some(built);
        Ok(())
    }

    /// The first candidate for a left row with key values `keys`.
    fn first_candidate(&self, keys: &Option<Vec<Value>>) -> Option<usize> {
        let built = self.built.as_ref().expect("built");
        if !self.hashed() {
            return (!built.rows.is_empty()).then_some(0);
        }
        let k = keys.as_ref()?;
        built.heads.get(&hash_bytes(k)).map(|&(first, _)| first)
    }
}

impl Operator for OuterJoinOp<'_> {
    fn next(&mut self, outer: Option<&Frame<'_>>) -> Result<Option<Row>> {
        if self.built.is_none() {
            self.build(outer)?;
        }
        let offset = self.join.offset;
        while self.unmatched_from.is_none() {
            if self.current.is_none() {
                let Some(mut left) = self.left.next(outer)? else {
                    self.unmatched_from = Some(0);
                    break;
                };
                left.resize(offset, Value::Null);
                let keys = if self.hashed() {
                    key_values(self.ex, self.left_keys, &left, outer)?
                } else {
                    None
                };
                let candidate = self.first_candidate(&keys);
                self.current = Some(Current {
                    left,
                    keys,
                    candidate,
                    matched: false,
                });
            }
            let hashed = self.hashed();
            let built = self.built.as_mut().expect("built above");
            let cur = self.current.as_mut().expect("set above");
            while let Some(i) = cur.candidate {
                cur.candidate = if hashed {
                    built.next[i]
                } else {
                    (i + 1 < built.rows.len()).then_some(i + 1)
                };
                if hashed {
                    let same = match (&built.keys[i], &cur.keys) {
                        (Some(a), Some(b)) => a.iter().zip(b).all(|(x, y)| x.same_as(y)),
                        _ => false,
                    };
                    if !same {
                        continue;
                    }
                }
                let mut row = Vec::with_capacity(offset + built.rows[i].len());
                row.extend_from_slice(&cur.left);
                row.extend_from_slice(&built.rows[i]);
                let ok = match &self.join.condition {
                    Some(c) => self.ex.predicate(c, &row, outer)?,
                    None => true,
                };
                if ok {
                    cur.matched = true;
                    built.matched[i] = true;
                    return Ok(Some(row));
                }
            }
            let cur = self.current.take().expect("set above");
            if self.join.kind == JoinKind::Full && !cur.matched {
                // The left row alone: the planner places the join's rows into a row of full
                // width, which pads the right slot with NULLs.
                return Ok(Some(cur.left));
            }
        }
        let built = self.built.as_ref().expect("built above");
        let from = self.unmatched_from.as_mut().expect("set above");
        while *from < built.rows.len() {
            let i = *from;
            *from += 1;
            if !built.matched[i] {
                let mut row = vec![Value::Null; offset];
                row.extend_from_slice(&built.rows[i]);
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    fn rewind(&mut self) {
        self.left.rewind();
        self.current = None;
        self.unmatched_from = None;
        // The right rows depend only on the enclosing row of the whole join; if they do
        // not read it they are kept, with their matched flags cleared.
        if self.right.reads_outer() {
            self.built = None;
            self.reservation.clear();
        } else if let Some(b) = &mut self.built {
            b.matched.iter_mut().for_each(|m| *m = false);
        }
    }
}
