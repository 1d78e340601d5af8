//! In-memory backend: a `BTreeMap` behind a read-write lock.

use super::value_cache::ValueCache;
use super::{Bytes, Direction, KeyRange, KvIter, KvPair, SettledRun, Storage, WriteBatch, WriteOp};
use crate::error::Result;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, RwLock};

/// Iterators copy at most this many entries per lock acquisition, so a long scan never holds
/// the lock across user code while still amortising the locking cost.
const CHUNK: usize = 128;
/// The first copy is this small: many scans stop after one entry (the largest rowid, the
/// newest commit), and copying a full chunk for them cost more than the lookup.
const FIRST_CHUNK: usize = 4;

/// Keys and values are stored as [`Bytes`], so that handing them to a scan is a reference
/// count, not a copy.
type Map = BTreeMap<Bytes, Bytes>;

/// A volatile ordered key-value store. Data lives as long as the value (and its clones).
#[derive(Default, Clone)]
pub struct MemoryStorage {
    map: Arc<RwLock<Map>>,
    /// Copies of settled groups read often ([`Storage::settled_run`]): a key's history,
    /// searched in one block instead of a descent of the whole map per version read.
    runs: Option<Arc<ValueCache>>,
}

impl std::fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never waits for a writer: a Debug print must not block or deadlock.
        let keys = self.map.try_read().ok().map(|map| map.len());
        f.debug_struct("MemoryStorage")
            .field("keys", &keys)
            .field("keeps_runs", &self.runs.is_some())
            .finish()
    }
}

impl MemoryStorage {
    /// Creates an empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates an empty store that keeps copies of settled groups read often, in up to
    /// about `bytes` ([`Storage::settled_run`]; 0 keeps none).
    pub fn with_run_cache(bytes: u64) -> Self {
        Self {
            map: Arc::default(),
            runs: ValueCache::runs_only(bytes).map(Arc::new),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Map> {
        // A poisoned lock means a panic happened while holding it; the map itself is never left
        // half-updated (batches are applied from a prepared list), so reading on is safe.
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }
}

impl Storage for MemoryStorage {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(self.read().get(key).cloned())
    }

    fn scan(&self, range: KeyRange, direction: Direction) -> KvIter<'_> {
        Box::new(ChunkedIter::new(self, range, direction))
    }

    fn get_buffered(&self, key: &[u8]) -> Option<Option<Bytes>> {
        // Every read is a lookup in memory: nothing is cheaper.
        Some(self.read().get(key).cloned())
    }

    fn scan_owned(self: Arc<Self>, range: KeyRange) -> Option<KvIter<'static>> {
        Some(Box::new(ChunkedIter::new(self, range, Direction::Forward)))
    }

    fn settled_run(
        &self,
        prefix: &[u8],
        suffix_len: usize,
        reaching: &[u8],
        pairs: Option<usize>,
    ) -> Result<Option<SettledRun>> {
        match &self.runs {
            Some(cache) => cache.settled_run(self, prefix, suffix_len, reaching, pairs),
            None => Ok(None),
        }
    }

    fn first_in_range(&self, range: KeyRange) -> Result<Option<KvPair>> {
        let r = (range.0.as_ref(), range.1.as_ref());
        if range_is_empty(&r) {
            return Ok(None);
        }
        let map = self.read();
        Ok(map
            .range::<[u8], _>((r.0.map(|v| v.as_slice()), r.1.map(|v| v.as_slice())))
            .next()
            .map(|(k, v)| (k.clone(), v.clone())))
    }

    fn write(&self, batch: WriteBatch, _durable: bool) -> Result<()> {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        for op in batch.into_ops() {
            match op {
                WriteOp::Put(k, v) => {
                    map.insert(k, v);
                }
                WriteOp::Delete(k) => {
                    map.remove(&*k);
                }
            }
        }
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    /// A copy of the map's entries (reference counts, not bytes), taken under the read lock.
    fn snapshot_iter(&self) -> Result<KvIter<'_>> {
        let entries: Vec<KvPair> = self
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Box::new(entries.into_iter().map(Ok)))
    }

    fn cache_bytes(&self) -> u64 {
        self.runs.as_ref().map_or(0, |c| c.capacity())
    }

    fn size_bytes(&self) -> u64 {
        self.read()
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum()
    }

    fn name(&self) -> &'static str {
        "memory"
    }
}

/// A scan that copies the map's pairs out a chunk at a time, holding the store (`S`: a
/// reference, or an `Arc` for [`Storage::scan_owned`]) between chunks, not its lock.
struct ChunkedIter<S> {
    store: S,
    range: KeyRange,
    direction: Direction,
    buffer: std::vec::IntoIter<KvPair>,
    /// Entries to copy at the next refill; grows to [`CHUNK`].
    chunk: usize,
    done: bool,
}

impl<S: std::ops::Deref<Target = MemoryStorage>> ChunkedIter<S> {
    fn new(store: S, range: KeyRange, direction: Direction) -> Self {
        Self {
            store,
            range,
            direction,
            buffer: Vec::new().into_iter(),
            chunk: FIRST_CHUNK,
            done: false,
        }
    }

    fn refill(&mut self) {
        let map = self.store.read();
        let range = (self.range.0.as_ref(), self.range.1.as_ref());
        let chunk: Vec<KvPair> = if range_is_empty(&range) {
            Vec::new()
        } else {
            let r = map
                .range::<[u8], _>((range.0.map(|v| v.as_slice()), range.1.map(|v| v.as_slice())));
            match self.direction {
                Direction::Forward => r
                    .take(self.chunk)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                Direction::Reverse => r
                    .rev()
                    .take(self.chunk)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            }
        };
        drop(map);
        if chunk.len() < self.chunk {
            self.done = true;
        }
        self.chunk = (self.chunk * 4).min(CHUNK);
        if let Some((last, _)) = chunk.last() {
            match self.direction {
                Direction::Forward => self.range.0 = Bound::Excluded(last.to_vec()),
                Direction::Reverse => self.range.1 = Bound::Excluded(last.to_vec()),
            }
        }
        self.buffer = chunk.into_iter();
    }
}

/// `BTreeMap::range` panics on inverted ranges; callers may legitimately build empty ones.
fn range_is_empty(range: &(Bound<&Vec<u8>>, Bound<&Vec<u8>>)) -> bool {
    match range {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b))
        | (Bound::Excluded(a), Bound::Excluded(b)) => a >= b,
        _ => false,
    }
}

impl<S: std::ops::Deref<Target = MemoryStorage>> Iterator for ChunkedIter<S> {
    type Item = Result<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(kv) = self.buffer.next() {
                return Some(Ok(kv));
            }
            if self.done {
                return None;
            }
            self.refill();
        }
    }
}
