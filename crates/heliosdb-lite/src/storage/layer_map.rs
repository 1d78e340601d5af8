//! The sorted map of one write buffer layer: `BTreeMap`s plus runs of ascending keys.
//!
//! Most keys reach a layer in ascending runs: a bulk load's row heads, an index on a growing
//! column, the commit and write-ahead records, each a stream of its own and the streams
//! interleaved. A `BTreeMap` pays a full descent for each of them, scanning every key of the
//! rightmost node of each level (about fifty comparisons of 20-byte keys at a few hundred
//! thousand entries), which made a single-transaction bulk load slower through the buffer
//! than through fjall's skiplist. So a key above everything the map holds starts a *tail*: a
//! plain vector that owns a key range from its first key up to a limit, and takes the next
//! keys of its range by a push when they come in order. Keys that fall nowhere go to the
//! map, as before.
//!
//! The invariants that keep reads exact: a tail's entries are strictly ascending and inside
//! its range; tails' ranges are disjoint and kept in key order; no map key lies inside a
//! tail's range. So a key is in exactly one place: its owning tail if one owns it, else the
//! map. A key that lands inside a tail out of order is inserted in place when few entries
//! follow it, splits the tail when a run of keys of another stream follows it (each half then
//! takes its own stream's appends), and otherwise, or when the tail was split and took no
//! key in order since (random keys, not a stream), moves the tail's entries into the map
//! (each entry moves at most once, paid for by the push that placed it).
//!
//! A tail starts only at a key above (or below) every key of the map, since finding the map
//! keys around any other key would cost the descent the tail saves. So one map key of a
//! record type sorting high (a commit record, a page of row counts) would keep every stream
//! below it out of the tails: for the layer's life, every row head of a load and every
//! superseded version went to the map. The keys are therefore kept in one such map and tails
//! per first byte (heads, history, commit records, ... each start with their own byte).

use super::bloom::BlockedBloom;
use super::Bytes;
use std::collections::BTreeMap;
use std::ops::Bound;

/// A key as a layer holds it: inside the map's node up to 32 bytes (every key of ours but
/// long text keys), so that a search compares keys without visiting a heap block per key.
pub(crate) type MapKey = smallvec::SmallVec<[u8; 32]>;

/// A buffered value: `None` is a deletion, which hides the key's value in older layers and
/// in the tables.
pub(crate) type Entry = Option<Bytes>;

/// Entries after an out-of-order key up to which it is inserted in place (a short move).
const SHIFT_MAX: usize = 32;

/// Entries after an out-of-order key up to which the tail is split there; past it the tail
/// goes into the map (a random key in a long run: the run is not a stream any more).
const SPLIT_MAX: usize = 4096;

/// Tails a map keeps at most; a split beyond it first moves the shortest tail into the map.
const MAX_TAILS: usize = 16;

/// Entries per block of a tail: a search finds the block through the tail's fences, then
/// the entry inside the block.
const BLOCK: usize = 16;

/// Entries after the last insertion's that an insertion scans before it searches the tail
/// from the top (see [`Tail::find_after`]).
const FINGER_REACH: usize = 8;

/// A run of ascending keys owning `[entries[0].0, limit)` (no limit: everything above).
struct Tail {
    entries: Vec<(MapKey, Entry)>,
    /// The key of every `BLOCK`th entry (`fences[i] == entries[i * BLOCK].0`). A binary search
    /// of a long tail's entries made cold point reads of a load's rows slower than the map's
    /// descent (5% at 20,000 rows, 15% at 100,000): each probe a cache line of its own (an
    /// entry is 64 bytes) and a branch mispredicted half the time, where a map node's keys
    /// lie side by side and are scanned. So a search goes through two levels of fences to a
    /// block of `BLOCK` entries, scanning the fences of one group and then the block.
    fences: Vec<MapKey>,
    /// Every `BLOCK`th fence (`top[j] == fences[j * BLOCK]`): the fences of a long tail do not
    /// fit the first-level cache either.
    top: Vec<MapKey>,
    limit: Option<MapKey>,
    /// Set by a split, cleared by a push: a second split before the next push means the
    /// tail takes random keys, not a stream, and it goes to the map instead.
    split: bool,
}

impl Tail {
    /// A tail holding `entries` (ascending, not empty).
    fn new(entries: Vec<(MapKey, Entry)>, limit: Option<MapKey>, split: bool) -> Self {
        let mut tail = Self {
            entries,
            fences: Vec::new(),
            top: Vec::new(),
            limit,
            split,
        };
        tail.refence(0);
        tail
    }

    fn first(&self) -> &[u8] {
        &self.entries[0].0
    }

    fn last(&self) -> &[u8] {
        &self.entries[self.entries.len() - 1].0
    }

    fn owns(&self, key: &[u8]) -> bool {
        key >= self.first() && self.limit.as_ref().is_none_or(|l| key < &l[..])
    }

    /// Rebuilds the fences of the entries from `pos` on (those before it are unchanged).
    fn refence(&mut self, pos: usize) {
        let entries = &self.entries;
        resample(&mut self.fences, entries.len(), pos, |i| {
            entries[i].0.clone()
        });
        let fences = &self.fences;
        resample(&mut self.top, fences.len(), pos.div_ceil(BLOCK), |i| {
            fences[i].clone()
        });
    }

    /// Appends `key`, which sorts after every entry.
    fn push(&mut self, key: MapKey, entry: Entry) {
        if self.entries.len() % BLOCK == 0 {
            if self.fences.len() % BLOCK == 0 {
                self.top.push(key.clone());
            }
            self.fences.push(key.clone());
        }
        self.entries.push((key, entry));
    }

    /// Inserts `key` at `pos` (where [`Tail::find`] placed it).
    fn insert_at(&mut self, pos: usize, key: MapKey, entry: Entry) {
        self.entries.insert(pos, (key, entry));
        self.refence(pos);
    }

    /// Takes the entries from `pos` on out of the tail.
    fn split_off(&mut self, pos: usize) -> Vec<(MapKey, Entry)> {
        let upper = self.entries.split_off(pos);
        self.refence(pos);
        upper
    }

    /// [`Tail::find`] for a key a little after entry `after`, which sorts before it: a
    /// scan of the next [`FINGER_REACH`] entries, or `None` when the key lies further on. The
    /// keys of a commit arrive in ascending order, and those of a bulk `UPDATE` or `DELETE`
    /// land one or a few entries after the previous one; a search from the top cost 7% of
    /// a 50,000-row `DELETE` in key comparisons.
    fn find_after(&self, after: usize, key: &[u8]) -> Option<std::result::Result<usize, usize>> {
        let from = after + 1;
        let to = (from + FINGER_REACH).min(self.entries.len());
        for (i, (k, _)) in self.entries.get(from..to)?.iter().enumerate() {
            match k[..].cmp(key) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return Some(Ok(from + i)),
                std::cmp::Ordering::Greater => return Some(Err(from + i)),
            }
        }
        (to == self.entries.len()).then_some(Err(to))
    }

    fn find(&self, key: &[u8]) -> std::result::Result<usize, usize> {
        // At each level, the block whose first key is the last at or below `key` (before the
        // first: not here).
        let group = match self.top.partition_point(|f| f[..] <= *key) {
            0 => return Err(0),
            g => g - 1,
        };
        // Inside a group and a block, a scan: the keys lie side by side, and a scan's branches
        // are predictable where a binary search mispredicts every other probe.
        let from = group * BLOCK;
        let to = (from + BLOCK).min(self.fences.len());
        let block = from
            + self.fences[from + 1..to]
                .iter()
                .take_while(|f| f[..] <= *key)
                .count();
        let from = block * BLOCK;
        let to = (from + BLOCK).min(self.entries.len());
        for (i, (k, _)) in self.entries[from..to].iter().enumerate() {
            match k[..].cmp(key) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return Ok(from + i),
                std::cmp::Ordering::Greater => return Err(from + i),
            }
        }
        Err(to)
    }
}

/// Keeps the samples taken before item `pos` of `len` items and samples again from there:
/// `samples[i]` is `key(i * BLOCK)`.
fn resample(samples: &mut Vec<MapKey>, len: usize, pos: usize, key: impl Fn(usize) -> MapKey) {
    samples.truncate(pos.div_ceil(BLOCK));
    let from = samples.len() * BLOCK;
    samples.extend((from..len).step_by(BLOCK).map(key));
}

/// The sorted map of a layer: one [`Part`] per first key byte, and the filter (see the module
/// documentation).
#[derive(Default)]
pub(crate) struct LayerMap {
    /// By first key byte, ascending (an empty key counts as byte 0): a handful at most.
    parts: Vec<(u8, Part)>,
    /// Every key inserted, approximately: a point read of a key the layer does not hold (most
    /// reads of a large table, in every layer) is answered by one cache line instead of a
    /// descent of the map.
    filter: Option<BlockedBloom>,
}

/// The part of a key space the keys starting with one byte share.
fn class(key: &[u8]) -> u8 {
    key.first().copied().unwrap_or(0)
}

impl LayerMap {
    /// An empty map with a filter sized for `keys` keys.
    pub(crate) fn with_filter(keys: usize) -> Self {
        Self {
            filter: Some(BlockedBloom::new(keys)),
            ..Self::default()
        }
    }

    /// True when the map holds no entry (a part exists only once it holds one).
    pub(crate) fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The part of `key`'s first byte, if any key of it is held.
    fn part(&self, key: &[u8]) -> Option<&Part> {
        let c = class(key);
        self.parts.iter().find(|(b, _)| *b == c).map(|(_, p)| p)
    }

    /// The part of `key`'s first byte, made if needed.
    fn part_mut(&mut self, key: &[u8]) -> &mut Part {
        let c = class(key);
        let at = match self.parts.iter().position(|(b, _)| *b >= c) {
            Some(i) if self.parts[i].0 == c => i,
            Some(i) => {
                self.parts.insert(i, (c, Part::default()));
                i
            }
            None => {
                self.parts.push((c, Part::default()));
                self.parts.len() - 1
            }
        };
        &mut self.parts[at].1
    }

    /// The entry of `key`, if the map holds one.
    #[cfg(test)]
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.get_hashed(key, super::bloom::hash(key))
    }

    /// The entry of `key`, whose [`super::bloom::hash`] is `hash`, if the map holds one.
    pub(crate) fn get_hashed(&self, key: &[u8], hash: u128) -> Option<&Entry> {
        if self.filter.as_ref().is_some_and(|f| !f.contains(hash)) {
            return None;
        }
        self.part(key)?.get(key)
    }

    /// Sets `key` to `entry`, replacing what the map held for it.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, key: MapKey, entry: Entry) {
        let hash = super::bloom::hash(&key);
        self.insert_hashed(key, entry, hash);
    }

    /// Sets each key of `entries` to its entry, in order; each comes with its
    /// [`super::bloom::hash`] (computed before the layer is locked). `entries` is left empty
    /// (its capacity kept).
    ///
    /// The filter's bits are set for the whole batch first: each is a random cache line, and
    /// a loop of nothing but independent writes lets the processor wait for many of them at
    /// once, where one write between two map insertions waits alone.
    pub(crate) fn insert_batch(&mut self, entries: &mut Vec<(MapKey, Entry, u128)>) {
        if let Some(f) = &mut self.filter {
            for (_, _, hash) in entries.iter() {
                f.insert(*hash);
            }
        }
        for (key, entry, _) in entries.drain(..) {
            self.part_mut(&key).insert(key, entry);
        }
    }

    /// Sets `key`, whose [`super::bloom::hash`] is `hash` (computed before the layer is locked), to
    /// `entry`.
    #[cfg(test)]
    pub(crate) fn insert_hashed(&mut self, key: MapKey, entry: Entry, hash: u128) {
        if let Some(f) = &mut self.filter {
            f.insert(hash);
        }
        self.part_mut(&key).insert(key, entry);
    }

    /// Calls `f` with every entry in ascending key order.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&[u8], &Entry)) {
        for (_, part) in &self.parts {
            part.for_each(&mut f);
        }
    }

    /// Appends to `out`, cloned, the first `n` entries between `lower` and `upper` in key
    /// order (`reverse`: the last `n`, in descending order).
    pub(crate) fn copy_range(
        &self,
        (lower, upper): (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
        n: usize,
        out: &mut impl Extend<(Bytes, Entry)>,
    ) {
        let found = self.range_refs((lower, upper), reverse, n);
        out.extend(found.into_iter().map(|(k, e)| (Bytes::from(k), e.clone())));
    }

    /// The first `n` entries between `lower` and `upper` in key order (`reverse`: the last
    /// `n`, in descending order), borrowed from the map.
    pub(crate) fn range_refs(
        &self,
        (lower, upper): (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
        n: usize,
    ) -> Vec<(&[u8], &Entry)> {
        if bounds_empty(lower, upper) {
            return Vec::new();
        }
        // Each source's first `n` in the scan's order, then the first `n` of their merge (the
        // sources hold disjoint keys).
        let mut found: Vec<(&[u8], &Entry)> = Vec::with_capacity(n);
        for (c, part) in &self.parts {
            // A part holds keys in `[c]` up to (not including) `[c + 1]`.
            let below_lower = match lower {
                Bound::Included(k) | Bound::Excluded(k) => class(k) > *c,
                Bound::Unbounded => false,
            };
            let above_upper = match upper {
                Bound::Included(k) | Bound::Excluded(k) => k < &[*c][..],
                Bound::Unbounded => false,
            };
            if !below_lower && !above_upper {
                part.collect_range((lower, upper), reverse, n, &mut found);
            }
        }
        if reverse {
            found.sort_unstable_by(|a, b| b.0.cmp(a.0));
        } else {
            found.sort_unstable_by(|a, b| a.0.cmp(b.0));
        }
        found.truncate(n);
        found
    }
}

/// The keys of a layer that start with one byte: a `BTreeMap` plus tails (see the module
/// documentation). Kept apart per first byte because a tail starts only at a key above (or
/// below) every key of the map: one record type's key in the map (a commit record, a page
/// of counters) would otherwise keep every stream below it out of the tails for the layer's
/// life.
#[derive(Default)]
struct Part {
    map: BTreeMap<MapKey, Entry>,
    /// In key order, with disjoint ranges that hold no map key.
    tails: Vec<Tail>,
    /// The tail the last insertion went to: the next key of a stream usually goes there too.
    hint: usize,
    /// Where in tail `hint` the last insertion put its key, while no other change moved it.
    finger: Option<usize>,
}

impl Part {
    /// The index of the tail owning `key`, if any.
    fn owner(&self, key: &[u8]) -> Option<usize> {
        if self.tails.get(self.hint).is_some_and(|t| t.owns(key)) {
            return Some(self.hint);
        }
        let after = self.tails.partition_point(|t| t.first() <= key);
        let i = after.checked_sub(1)?;
        self.tails[i].owns(key).then_some(i)
    }

    /// The entry of `key`, if the part holds one.
    fn get(&self, key: &[u8]) -> Option<&Entry> {
        match self.owner(key) {
            Some(i) => {
                let tail = &self.tails[i];
                tail.find(key).ok().map(|p| &tail.entries[p].1)
            }
            None => self.map.get(key),
        }
    }

    /// Sets `key` to `entry` in the map or a tail.
    fn insert(&mut self, key: MapKey, entry: Entry) {
        // Taken first: every path that moves entries or tails leaves it unset.
        let finger = self.finger.take();
        let Some(i) = self.owner(&key) else {
            return self.insert_unowned(key, entry);
        };
        let finger = finger.filter(|_| self.hint == i);
        self.hint = i;
        let tail = &mut self.tails[i];
        if key[..] > *tail.last() {
            tail.push(key, entry);
            tail.split = false;
            self.finger = Some(tail.entries.len() - 1);
            return;
        }
        // Any position whose key sorts before `key` is a correct start for the scan; a
        // finger gone stale only costs the search it was meant to save.
        let near = finger
            .filter(|&f| tail.entries.get(f).is_some_and(|(k, _)| k[..] < key[..]))
            .and_then(|f| tail.find_after(f, &key));
        let pos = match near.unwrap_or_else(|| tail.find(&key)) {
            Ok(p) => {
                tail.entries[p].1 = entry;
                self.finger = Some(p);
                return;
            }
            Err(p) => p,
        };
        let following = tail.entries.len() - pos;
        if following <= SHIFT_MAX {
            tail.insert_at(pos, key, entry);
            self.finger = Some(pos);
        } else if following <= SPLIT_MAX && !tail.split {
            let lower = self.split(i, pos);
            self.tails[lower].push(key, entry);
        } else {
            self.retire(i);
            self.map.insert(key, entry);
        }
    }

    /// Inserts a key no tail owns: into a new tail when nothing in the map lies at or above
    /// it, or when everything in the map lies above it (the head of an ascending stream, found
    /// without a search: the map's first and last keys are on paths a descent keeps cached),
    /// else into the map.
    ///
    /// The second case is a stream under keys the map took first: the rows of one table
    /// loaded after random keys of a table created later (which sort above them).
    fn insert_unowned(&mut self, key: MapKey, entry: Entry) {
        let above_map = self.map.last_key_value().is_none_or(|(k, _)| key > *k);
        let below_map = match self.map.first_key_value() {
            Some((first, _)) if !above_map && key < *first => Some(first),
            _ => None,
        };
        if !above_map && below_map.is_none() {
            self.map.insert(key, entry);
            return;
        }
        if self.tails.len() >= MAX_TAILS {
            // Too many streams: this one goes to the map (no tail owns it, so the map stays
            // clear of every tail's range).
            self.map.insert(key, entry);
            return;
        }
        // Tails lie below or above `key`; the new one owns up to the next one, and below
        // the map at most up to the map's first key.
        let at = self.tails.partition_point(|t| t.first() < &key[..]);
        let next = self.tails.get(at).map(|t| t.first());
        let limit = match (next, below_map) {
            (Some(t), Some(m)) => Some(t.min(&m[..])),
            (t, m) => t.or(m.map(|m| &m[..])),
        }
        .map(MapKey::from_slice);
        self.tails
            .insert(at, Tail::new(vec![(key, entry)], limit, false));
        self.hint = at;
    }

    /// Splits tail `i` before its entry `pos`: the entries from `pos` on become a tail of
    /// their own, and tail `i` owns up to them. Returns where tail `i` is now (making room
    /// can move it).
    fn split(&mut self, i: usize, pos: usize) -> usize {
        if self.tails.len() >= MAX_TAILS {
            // Make room: the shortest other tail goes to the map.
            let shortest = (0..self.tails.len())
                .filter(|&j| j != i)
                .min_by_key(|&j| self.tails[j].entries.len())
                .expect("more than one tail");
            self.retire(shortest);
            return self.split(if shortest < i { i - 1 } else { i }, pos);
        }
        let tail = &mut self.tails[i];
        let upper = tail.split_off(pos);
        let limit = tail.limit.replace(upper[0].0.clone());
        tail.split = true;
        self.tails.insert(i + 1, Tail::new(upper, limit, true));
        self.hint = i;
        i
    }

    /// Moves tail `i`'s entries into the map; its range is owned by nobody from then on.
    fn retire(&mut self, i: usize) {
        let tail = self.tails.remove(i);
        self.map.extend(tail.entries);
        self.hint = 0;
    }

    /// Calls `f` with every entry in ascending key order.
    fn for_each(&self, f: &mut impl FnMut(&[u8], &Entry)) {
        let mut map = self.map.iter().peekable();
        for tail in &self.tails {
            // Map keys lie between tails' ranges, never inside one.
            while let Some((k, e)) = map.next_if(|(k, _)| k[..] < *tail.first()) {
                f(k, e);
            }
            for (k, e) in &tail.entries {
                f(k, e);
            }
        }
        for (k, e) in map {
            f(k, e);
        }
    }

    /// Adds to `found` the first `n` entries between `lower` and `upper` in key order
    /// (`reverse`: the last `n`) of the map and of each tail, unsorted (the caller merges).
    fn collect_range<'a>(
        &'a self,
        (lower, upper): (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
        n: usize,
        found: &mut Vec<(&'a [u8], &'a Entry)>,
    ) {
        let it = self
            .map
            .range::<[u8], _>((lower, upper))
            .map(|(k, e)| (&k[..], e));
        if reverse {
            found.extend(it.rev().take(n));
        } else {
            found.extend(it.take(n));
        }
        for tail in &self.tails {
            let from = match lower {
                Bound::Included(k) => tail.entries.partition_point(|(t, _)| t[..] < *k),
                Bound::Excluded(k) => tail.entries.partition_point(|(t, _)| t[..] <= *k),
                Bound::Unbounded => 0,
            };
            let to = match upper {
                Bound::Included(k) => tail.entries.partition_point(|(t, _)| t[..] <= *k),
                Bound::Excluded(k) => tail.entries.partition_point(|(t, _)| t[..] < *k),
                Bound::Unbounded => tail.entries.len(),
            };
            if from >= to {
                continue;
            }
            let slice = tail.entries[from..to].iter().map(|(k, e)| (&k[..], e));
            if reverse {
                found.extend(slice.rev().take(n));
            } else {
                found.extend(slice.take(n));
            }
        }
    }
}

/// True when no key can lie between the bounds (which `BTreeMap::range` would refuse).
pub(crate) fn bounds_empty(lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> bool {
    use Bound::{Excluded, Included};
    match (lower, upper) {
        (Included(a), Included(b)) => a > b,
        (Included(a), Excluded(b)) | (Excluded(a), Included(b)) | (Excluded(a), Excluded(b)) => {
            a >= b
        }
        _ => false,
    }
}

#[cfg(test)]
#[path = "layer_map_tests.rs"]
mod tests;
