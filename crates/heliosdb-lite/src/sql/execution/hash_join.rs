//! Hash join: the right relation is read once into a hash table on its join keys, then each
//! left row looks up its matches by its own keys. An inner join may build on the left instead
//! (`build_left`): the rows joined so far go into the table and each right row probes it,
//! which is what a small filtered join followed by a big table needs (`customers` filtered to
//! a few thousand rows, joined to `accounts`, then to a million `transactions`).
//!
//! Keys are compared as `=` compares them: each side's comparison affinity is applied first,
//! a NULL key matches nothing, and equal hash keys are confirmed by comparing the values
//! (distinct numbers can share a hash key). The table chains rows with equal keys through
//! indices, so probing holds no borrow between calls. The right side is read at the first
//! left row with no NULL key, as a nested loop would first reach it: when no left row can
//! match it is never read, and its filters (an uncorrelated subquery in them, which may be
//! slow or fail) never run, as in SQLite.
//!
//! # Beyond the memory budget
//!
//! If the build side outgrows the statement's memory budget, the join becomes a partitioned
//! ("grace") hash join: the build rows are split by a hash of their keys into
//! [`PARTITIONS`] spill files, then so are the left rows, and each pair of files is joined
//! in memory in turn, since rows with equal keys land in the same pair. A pair still too big
//! is split again with another hash, up to [`MAX_LEVEL`] times; past that (one key with more
//! rows than the budget holds) the statement fails with a memory-budget error. Left rows
//! with a NULL key match nothing and are settled at once. The output order differs from the
//! in-memory join's, which no plan relies on (ORDER BY is only ever satisfied by a scan).

use super::super::plan::{HashKey, JoinKind, JoinNode, Plan};
use super::super::value::Value;
use super::keys::hash_key;
use super::memory::{value_bytes, QueryMemory, Reservation};
use super::place::pair;
use super::sparse_row::{decode_sparse, decode_sparse_into, encode_sparse};
use super::spill::{SpillReader, SpillWriter};
use super::{BoxOp, Executor, Frame, Operator, Row};
use crate::error::Result;
use rustc_hash::FxHashMap as HashMap;

/// Spill files a too-big build side is split into (each open file holds a write buffer).
const PARTITIONS: usize = 16;

/// How many times a partition may be split again before the join gives up.
const MAX_LEVEL: u64 = 4;

/// No next row in a chain.
const END: u32 = u32::MAX;

/// The build side: rows (NULL slots left out, encoded in one arena), their key values, and
/// chains of rows with equal hashes of their keys.
#[derive(Default)]
struct Table {
    /// Each row's key values, `width` to a row.
    keys: Vec<Value>,
    width: usize,
    /// Every row, encoded by [`encode_sparse`], back to back.
    arena: Vec<u8>,
    /// Where each row ends in the arena.
    ends: Vec<usize>,
    /// Next row with the same key hash ([`END`]: none; chains keep build order).
    next: Vec<u32>,
    /// First and last row of each chain, by key hash: rows whose keys only share a hash are
    /// told apart by comparing the key values, as rows with equal hash keys already were.
    heads: HashMap<u64, (u32, u32)>,
    /// A reused buffer for the hash key bytes.
    scratch: Vec<u8>,
}

impl Table {
    /// Rows held.
    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether another row can be numbered (rows are numbered in 32 bits).
    fn has_room(&self) -> bool {
        self.len() < END as usize
    }

    /// Adds a row whose encoding is `encoded` (the table [`Self::has_room`]).
    fn insert(&mut self, keys: Vec<Value>, encoded: &[u8]) {
        debug_assert!(self.has_room());
        self.width = keys.len();
        let k = key_hash(&keys, &mut self.scratch);
        let i = self.len() as u32;
        self.keys.extend(keys);
        self.arena.extend_from_slice(encoded);
        self.ends.push(self.arena.len());
        self.next.push(END);
        match self.heads.get_mut(&k) {
            Some((_, last)) => {
                self.next[*last as usize] = i;
                *last = i;
            }
            None => {
                self.heads.insert(k, (i, i));
            }
        }
    }

    /// The first row whose keys may equal `keys` (`scratch` is a reused buffer).
    fn first(&self, keys: &[Value], scratch: &mut Vec<u8>) -> Option<u32> {
        self.heads
            .get(&key_hash(keys, scratch))
            .map(|&(first, _)| first)
    }

    /// The row after `i` in its chain.
    fn next(&self, i: u32) -> Option<u32> {
        Some(self.next[i as usize]).filter(|&n| n != END)
    }

    /// Row `i`'s key values.
    fn keys(&self, i: u32) -> &[Value] {
        let i = i as usize;
        &self.keys[i * self.width..(i + 1) * self.width]
    }

    /// Row `i`'s encoding.
    fn encoded(&self, i: u32) -> &[u8] {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.arena[start..self.ends[i]]
    }

    /// Row `i`, decoded into `out`.
    fn row_into(&self, i: u32, out: &mut Row) -> Result<()> {
        decode_sparse_into(self.encoded(i), out)
    }

    /// Row `i`, decoded.
    fn row(&self, i: u32) -> Result<Row> {
        decode_sparse(self.encoded(i))
    }
}

/// The hash-table key of a row's join key values.
pub(super) fn hash_bytes(keys: &[Value]) -> Vec<u8> {
    // A number's key takes 9 bytes: sized so that the common keys never regrow.
    let mut k = Vec::with_capacity(16 * keys.len());
    hash_bytes_into(keys, &mut k);
    k
}

/// [`hash_bytes`] into a reused buffer.
fn hash_bytes_into(keys: &[Value], out: &mut Vec<u8>) {
    out.clear();
    keys.iter().for_each(|v| hash_key(v, out));
}

/// The 64-bit hash a table chains rows by (`scratch` holds the key bytes).
fn key_hash(keys: &[Value], scratch: &mut Vec<u8>) -> u64 {
    hash_bytes_into(keys, scratch);
    xxhash_rust::xxh3::xxh3_64(scratch)
}

/// Bytes a build row holds in the table: key values, encoded row, its end and chain
/// link, and a share of the hash index (with the slack of growing vectors).
fn entry_bytes(keys: &[Value], encoded: &[u8]) -> usize {
    let bytes = keys.iter().map(value_bytes).sum::<usize>() + encoded.len() + 8 + 4 + 32;
    bytes + bytes / 4
}

/// The partition of a key at a splitting level (each level hashes differently).
fn partition(keys: &[Value], level: u64) -> usize {
    (xxhash_rust::xxh3::xxh3_64_with_seed(&hash_bytes(keys), level) % PARTITIONS as u64) as usize
}

/// Files of one partition level being written: build rows, then probe rows.
struct PartitionWriters {
    level: u64,
    build: Vec<SpillWriter>,
    probe: Vec<SpillWriter>,
}

impl PartitionWriters {
    fn new(memory: &QueryMemory, level: u64) -> Result<Self> {
        let files = |_| SpillWriter::create(memory);
        Ok(Self {
            level,
            build: (0..PARTITIONS).map(files).collect::<Result<_>>()?,
            probe: (0..PARTITIONS).map(files).collect::<Result<_>>()?,
        })
    }

    /// The finished pairs of files, as work for the probe phase (empty pairs left out).
    fn finish(self, work: &mut Vec<Pending>) -> Result<()> {
        for (b, p) in self.build.into_iter().zip(self.probe) {
            if p.len() > 0 {
                work.push(Pending {
                    build: b.finish()?,
                    probe: p.finish()?,
                    level: self.level,
                });
            }
        }
        Ok(())
    }
}

/// One partition waiting to be joined: its build rows and probe rows (key values first).
struct Pending {
    build: SpillReader,
    probe: SpillReader,
    level: u64,
}

/// The partitioned join's state.
struct Spilled {
    /// While the build and left inputs are being split.
    writers: Option<PartitionWriters>,
    /// Partitions not joined yet.
    work: Vec<Pending>,
    /// Probe rows of the partition whose build rows are in the table.
    probing: Option<SpillReader>,
}

/// The row being probed and the next candidate of its chain.
struct Current {
    probe: Row,
    keys: Vec<Value>,
    candidate: Option<u32>,
    matched: bool,
}

/// A hash join: inner, left outer, semi (EXISTS) or anti (NOT EXISTS).
pub(super) struct HashJoinOp<'e> {
    ex: &'e Executor<'e>,
    left: BoxOp<'e>,
    right: &'e Plan,
    join: &'e JoinNode,
    /// The table holds left rows, and right rows probe it.
    build_left: bool,
    /// Keys of the rows that go into the table, and of the rows that probe it.
    build_keys: &'e [HashKey],
    probe_keys: &'e [HashKey],
    /// With `build_left`: the right side, opened once the table is built.
    right_input: Option<BoxOp<'e>>,
    table: Option<Table>,
    /// The table's share of the memory budget.
    reservation: Reservation<'e>,
    /// Set when the build side did not fit: the partitioned join.
    spilled: Option<Spilled>,
    current: Option<Current>,
    /// The hash key of the row being probed, built in place: one buffer for the whole join
    /// instead of an allocation per probing row.
    probe_key: Vec<u8>,
    /// A build row made whole for a semi join's condition, reused between candidates.
    built_row: Row,
}

impl<'e> HashJoinOp<'e> {
    pub(super) fn new(
        ex: &'e Executor<'e>,
        left: BoxOp<'e>,
        right: &'e Plan,
        join: &'e JoinNode,
        (left_keys, right_keys): (&'e [HashKey], &'e [HashKey]),
        build_left: bool,
    ) -> Self {
        // Only an inner join may swap: the others keep or drop each left row by its matches.
        let build_left = build_left && join.kind == JoinKind::Inner;
        let (build_keys, probe_keys) = match build_left {
            true => (left_keys, right_keys),
            false => (right_keys, left_keys),
        };
        Self {
            ex,
            left,
            right,
            join,
            build_left,
            build_keys,
            probe_keys,
            right_input: None,
            table: None,
            reservation: Reservation::new(ex.memory()),
            spilled: None,
            current: None,
            probe_key: Vec::new(),
            built_row: Vec::new(),
        }
    }

    /// Reads the build side into the table, or, if it does not fit, into partition files.
    fn build(&mut self, outer: Option<&Frame<'_>>) -> Result<()> {
        let mut table = Table::default();
        self.reservation.clear();
        let mut writers: Option<PartitionWriters> = None;
        let mut encoded = Vec::new();
        let mut right = None;
        let input = match self.build_left {
            true => &mut self.left,
            false => right.insert(self.ex.open(self.right)?),
        };
        let mut n = 0usize;
        while let Some(row) = input.next(outer)? {
            self.ex.tick(&mut n)?;
            let Some(keys) = key_values(self.ex, self.build_keys, &row, outer)? else {
                continue;
            };
            encoded.clear();
            encode_sparse(&row, &mut encoded);
            if writers.is_none()
                && table.has_room()
                && self.reservation.try_grow(entry_bytes(&keys, &encoded))
            {
                table.insert(keys, &encoded);
                continue;
            }
            let w = match &mut writers {
                Some(w) => w,
                None => {
                    // Out of memory: everything built so far moves to the partition files.
                    let mut w = PartitionWriters::new(self.ex.memory(), 0)?;
                    let table = std::mem::take(&mut table);
                    for i in 0..table.len() as u32 {
                        let k = table.keys(i);
                        w.build[partition(k, 0)].write(k, &table.row(i)?)?;
                    }
                    self.reservation.clear();
                    writers.insert(w)
                }
            };
            w.build[partition(&keys, 0)].write(&keys, &row)?;
        }
        match writers {
            None => self.table = Some(table),
            Some(w) => {
                self.table = None;
                self.spilled = Some(Spilled {
                    writers: Some(w),
                    work: Vec::new(),
                    probing: None,
                });
            }
        }
        Ok(())
    }

    /// True once the table is built, empty and in memory, for a join that then outputs
    /// nothing: an inner or semi join (every build row had a NULL key, or there was none).
    fn nothing_can_match(&self) -> bool {
        let empty = self.spilled.is_none() && self.table.as_ref().is_some_and(|t| t.len() == 0);
        empty && matches!(self.join.kind, JoinKind::Inner | JoinKind::Semi)
    }

    /// The next row to probe with its key values (`None`: a NULL key, which matches
    /// nothing): from the probing input, or, in a partitioned join, from the partition files.
    #[allow(clippy::type_complexity)]
    fn next_probe(
        &mut self,
        outer: Option<&Frame<'_>>,
    ) -> Result<Option<(Row, Option<Vec<Value>>)>> {
        let input = match self.build_left {
            true => match &mut self.right_input {
                Some(input) => input,
                None => self.right_input.insert(self.ex.open(self.right)?),
            },
            false => &mut self.left,
        };
        let Some(spilled) = &mut self.spilled else {
            let Some(row) = input.next(outer)? else {
                return Ok(None);
            };
            let keys = key_values(self.ex, self.probe_keys, &row, outer)?;
            return Ok(Some((row, keys)));
        };
        if let Some(w) = &mut spilled.writers {
            let mut n = 0usize;
            while let Some(row) = input.next(outer)? {
                self.ex.tick(&mut n)?;
                match key_values(self.ex, self.probe_keys, &row, outer)? {
                    Some(keys) => w.probe[partition(&keys, 0)].write(&keys, &row)?,
                    None => return Ok(Some((row, None))),
                }
            }
            let w = spilled.writers.take().expect("set above");
            w.finish(&mut spilled.work)?;
        }
        loop {
            if let Some(probe) = &mut spilled.probing {
                if let Some((keys, row)) = probe.next()? {
                    return Ok(Some((row, Some(keys))));
                }
            }
            spilled.probing = None;
            self.table = None;
            self.reservation.clear();
            let Some(mut next) = spilled.work.pop() else {
                return Ok(None);
            };
            match load(&mut next.build, &mut self.reservation)? {
                Some(table) => {
                    self.table = Some(table);
                    spilled.probing = Some(next.probe);
                }
                None => split(self.ex.memory(), next, &mut spilled.work)?,
            }
        }
    }
}

/// Reads a partition's build rows into a table; `None` if they do not fit.
fn load(build: &mut SpillReader, reservation: &mut Reservation<'_>) -> Result<Option<Table>> {
    let mut table = Table::default();
    let mut encoded = Vec::new();
    while let Some((keys, row)) = build.next()? {
        encoded.clear();
        encode_sparse(&row, &mut encoded);
        if !table.has_room() || !reservation.try_grow(entry_bytes(&keys, &encoded)) {
            reservation.clear();
            return Ok(None);
        }
        table.insert(keys, &encoded);
    }
    Ok(Some(table))
}

/// Splits a partition that does not fit into smaller ones, hashing with the next level.
fn split(memory: &QueryMemory, mut part: Pending, work: &mut Vec<Pending>) -> Result<()> {
    let level = part.level + 1;
    if level > MAX_LEVEL {
        return Err(memory.exceeded("the rows of one join key value"));
    }
    let mut w = PartitionWriters::new(memory, level)?;
    part.build.rewind()?;
    while let Some((k, r)) = part.build.next()? {
        w.build[partition(&k, level)].write(&k, &r)?;
    }
    while let Some((k, r)) = part.probe.next()? {
        w.probe[partition(&k, level)].write(&k, &r)?;
    }
    w.finish(work)
}

/// Evaluates join keys with their affinities; `None` if one is NULL (no match possible).
pub(super) fn key_values(
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
        let unbuilt = |op: &Self| op.table.is_none() && op.spilled.is_none();
        if self.build_left && unbuilt(self) {
            self.build(outer)?;
        }
        if self.nothing_can_match() {
            // Stops before the probing side is opened (or read further): it may be costly,
            // or, like a recursive CTE that never ends, never finish, and SQLite does not
            // read it either when the side it loops over first has no row to match.
            return Ok(None);
        }
        loop {
            if self.current.is_none() {
                let Some((probe, keys)) = self.next_probe(outer)? else {
                    return Ok(None);
                };
                let (keys, candidate) = match keys {
                    Some(keys) => {
                        if unbuilt(self) {
                            // Built at the first left row that can match, as a nested loop
                            // would first read the right side: with no such row it is never
                            // read, nor are its filters (and their subqueries) evaluated.
                            self.build(outer)?;
                            if self.nothing_can_match() {
                                return Ok(None);
                            }
                            if let Some(w) = self.spilled.as_mut().and_then(|s| s.writers.as_mut())
                            {
                                w.probe[partition(&keys, 0)].write(&keys, &probe)?;
                                continue;
                            }
                        }
                        let table = self.table.as_ref().expect("built above");
                        let head = table.first(&keys, &mut self.probe_key);
                        (keys, head)
                    }
                    None => (Vec::new(), None),
                };
                self.current = Some(Current {
                    probe,
                    keys,
                    candidate,
                    matched: false,
                });
            }
            let table = self.table.as_ref();
            let cur = self.current.as_mut().expect("set above");
            let semi = matches!(self.join.kind, JoinKind::Semi | JoinKind::Anti);
            while let Some(i) = cur.candidate {
                // A candidate comes from the table, so it is built.
                let table = table.expect("built before a candidate");
                cur.candidate = table.next(i);
                if !table
                    .keys(i)
                    .iter()
                    .zip(&cur.keys)
                    .all(|(a, b)| a.same_as(b))
                {
                    continue;
                }
                if semi {
                    // The subquery's own condition: the right row, under the left row.
                    let ok = match &self.join.condition {
                        Some(c) => {
                            let f = Frame {
                                row: &cur.probe,
                                parent: outer,
                            };
                            table.row_into(i, &mut self.built_row)?;
                            self.ex.predicate(c, &self.built_row, Some(&f))?
                        }
                        None => true,
                    };
                    if ok {
                        cur.matched = true;
                        break;
                    }
                    continue;
                }
                // The last candidate can take the probing row instead of copying it.
                let last = cur.candidate.is_none() && self.join.condition.is_none();
                let probe = if last {
                    std::mem::take(&mut cur.probe)
                } else {
                    cur.probe.clone()
                };
                let (left, right) = match self.build_left {
                    true => (table.row(i)?, probe),
                    false => (probe, table.row(i)?),
                };
                if let Some(row) = pair(self.ex, self.join, left, right, outer)? {
                    if last {
                        // A match was found, so nothing more comes of this row.
                        self.current = None;
                    } else {
                        cur.matched = true;
                    }
                    return Ok(Some(row));
                }
            }
            let cur = self.current.take().expect("set above");
            if !self.build_left && self.join.kind.keeps_left(cur.matched) {
                return Ok(Some(cur.probe));
            }
        }
    }

    fn rewind(&mut self) {
        self.left.rewind();
        self.current = None;
        self.right_input = None;
        // The build side reads only the enclosing row of the whole join, which changes on a
        // rewind only if the right side reads it. A partitioned join, or one built on the
        // left rows (read again from the start), starts over.
        if self.build_left || self.right.reads_outer() || self.spilled.is_some() {
            self.table = None;
            self.spilled = None;
            self.reservation.clear();
        }
    }
}
