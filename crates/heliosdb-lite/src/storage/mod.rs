//! The storage layer: an ordered key-value store with atomic batches.
//!
//! Everything above this layer (versions, catalog, commit log) is encoded into plain byte keys,
//! so a backend only has to provide five operations: point get, ordered range iteration in either
//! direction, an atomic multi-key write batch, and a durability barrier. Keeping the trait this
//! small is deliberate: the `fjall` LSM is the default on-disk backend, `memory` serves in-memory
//! databases and tests, and another engine (RocksDB, say) could be added behind a cargo feature
//! without touching the layers above.

pub(crate) mod bloom;
mod fjall_backend;
mod fjall_check;
mod layer_map;
mod memory;
mod private_copy;
mod settled_run;
mod value_cache;
mod write_buffer;

pub use fjall_backend::{FjallOptions, FjallStorage};
pub use memory::MemoryStorage;
pub use private_copy::PrivateCopy;
pub use settled_run::{RunBuilder, SettledRun};

use crate::error::Result;
use std::ops::Bound;
use std::sync::Arc;

/// An immutable byte string that is cheap to clone and to slice: a reference-counted view
/// (short strings are stored inline). Keys and values come out of the backends in this form
/// so that a scan hands the bytes it read up the layers without copying them: fjall's own
/// values are such views of its cached blocks, and the in-memory backend stores them too.
pub type Bytes = byteview::ByteView;

/// A key-value pair as read from a backend.
pub type KvPair = (Bytes, Bytes);

/// An iterator over key-value pairs in key order (or reverse key order).
pub type KvIter<'a> = Box<dyn Iterator<Item = Result<KvPair>> + Send + 'a>;

/// One mutation inside a [`WriteBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    /// Set `key` to `value`.
    Put(Bytes, Bytes),
    /// Remove `key` (a no-op if absent).
    Delete(Bytes),
}

/// A set of mutations applied atomically: after a crash either all or none are visible.
#[derive(Debug, Default, Clone)]
pub struct WriteBatch {
    ops: Vec<WriteOp>,
}

impl WriteBatch {
    /// Creates an empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a put. The batch holds its bytes as the backends store them: a key or value built
    /// as [`Bytes`] (for instance with [`Bytes::fused`]) reaches the storage without a copy.
    /// Bytes read from a backend may be a view into a larger block: put a copy of them
    /// (`Bytes::from(&value[..])`), or the backend's write buffer keeps the whole block.
    pub fn put(&mut self, key: impl Into<Bytes>, value: impl Into<Bytes>) {
        self.ops.push(WriteOp::Put(key.into(), value.into()));
    }

    /// Makes room for `additional` more mutations (a large commit knows how many it adds).
    pub fn reserve(&mut self, additional: usize) {
        self.ops.reserve(additional);
    }

    /// Adds a delete.
    pub fn delete(&mut self, key: impl Into<Bytes>) {
        self.ops.push(WriteOp::Delete(key.into()));
    }

    /// Number of mutations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when the batch holds no mutation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The mutations in insertion order (later ones win on equal keys).
    pub fn ops(&self) -> &[WriteOp] {
        &self.ops
    }

    /// Consumes the batch, returning its mutations.
    pub fn into_ops(self) -> Vec<WriteOp> {
        self.ops
    }
}

/// Iteration direction for [`Storage::scan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Ascending key order.
    Forward,
    /// Descending key order.
    Reverse,
}

/// A key range with owned bounds.
pub type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// Returns the range of all keys starting with `prefix`.
pub fn prefix_range(prefix: &[u8]) -> KeyRange {
    let start = Bound::Included(prefix.to_vec());
    let end = match prefix_successor(prefix) {
        Some(s) => Bound::Excluded(s),
        None => Bound::Unbounded,
    };
    (start, end)
}

/// The smallest key greater than every key that starts with `prefix`, if any.
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xFF {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

/// The error of a sorted write whose keys do not ascend.
pub(crate) fn out_of_order() -> crate::error::Error {
    crate::error::Error::invalid(
        "a sorted write's keys are out of order (the source is not sorted)",
    )
}

/// An ordered key-value store. Implementations must be safe to share between threads.
pub trait Storage: Send + Sync + 'static {
    /// Returns the value stored under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>>;

    /// Returns the value stored under `key`, for a reader that holds the write lock and is
    /// likely to replace it (a row an UPDATE or DELETE is about to rewrite): a backend that
    /// caches values may leave this one out, since the write would drop it again at once.
    fn get_to_replace(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.get(key)
    }

    /// Iterates over the keys in `range` in the given direction. The iterator observes a
    /// consistent view of the store for at least the keys it has not yet returned; callers above
    /// this layer never depend on seeing or not seeing writes made after the call.
    fn scan(&self, range: KeyRange, direction: Direction) -> KvIter<'_>;

    /// What [`Storage::get`] would return for `key`, if the backend can tell without reading
    /// its long-term structures (from a cache of recent reads or a write buffer: cheap);
    /// `None` when only such a read would tell. For a reader with a cheaper way than a point
    /// read to reach those (a walk it keeps). The default tells nothing.
    fn get_buffered(&self, key: &[u8]) -> Option<Option<Bytes>> {
        let _ = key;
        None
    }

    /// [`Storage::get_to_replace`] of a key that [`Storage::get_buffered`] just could not
    /// answer, and that nobody writes in between (the caller holds the write lock): a backend
    /// may read only its long-term structures, where a write buffer's flush puts a key before
    /// the buffer lets go of it. The default reads as `get_to_replace` does.
    fn get_unbuffered(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.get_to_replace(key)
    }

    /// Calls `visit` with each pair in `range`, ascending, until it returns `false`: a
    /// forward [`Storage::scan`] that may lend its pairs instead of copying them, for a
    /// reader that only looks at each one (a [`SettledRun`] being read). A backend may hold
    /// writers back while it runs (and readers queued behind them), so the range should be
    /// short, and `visit` must not read or write the store. The default scans.
    fn visit_range(
        &self,
        range: KeyRange,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        for pair in self.scan(range, Direction::Forward) {
            let (k, v) = pair?;
            if !visit(&k, &v) {
                break;
            }
        }
        Ok(())
    }

    /// [`Storage::scan`] forward, as an iterator that holds the store instead of borrowing
    /// it, for a reader that keeps its place across many calls (a transaction reading the
    /// rows it rewrites in key order, statement after statement). `None` when the backend
    /// has no such iterator (the default): the reader then reads key by key.
    fn scan_owned(self: Arc<Self>, range: KeyRange) -> Option<KvIter<'static>> {
        let _ = range;
        None
    }

    /// The first pair in `range` (one seek). Backends may do this cheaper than `scan`.
    fn first_in_range(&self, range: KeyRange) -> Result<Option<KvPair>> {
        self.scan(range, Direction::Forward).next().transpose()
    }

    /// [`Storage::first_in_range`] for a range whose answer is settled: the caller guarantees
    /// that once a pair is found there, no write will add a key before it in the range, or
    /// change or remove it, while anyone may still ask (the MVCC layer's history seeks: a
    /// superseded version, once written, never changes, and later ones sort after it). A
    /// backend may therefore remember the answer; the default seeks every time.
    fn first_in_settled_range(&self, range: KeyRange) -> Result<Option<KvPair>> {
        self.first_in_range(range)
    }

    /// The pairs of a settled *group*, every key that is `prefix` followed by exactly
    /// `suffix_len` bytes, if the backend keeps a copy of them at hand ([`SettledRun`]) and
    /// the copy holds a pair whose suffix is at least `reaching` (the one the caller is
    /// after); `None` otherwise (the caller reads the ordinary way). The caller guarantees
    /// that the group only ever changes by pairs added after every pair it holds, and by
    /// pairs removed once nobody will ask about them (the MVCC layer's history of a key: a
    /// version superseded later ends later, and GC removes only versions no snapshot can
    /// read). The run may therefore be a copy taken earlier: it holds the group's pairs up
    /// to some point (and perhaps pairs removed since, which nobody asks about), and its
    /// first pair at or after a suffix it reaches is the group's first pair there among
    /// those anyone may ask about. `pairs` is the caller's estimate of the group's size, given
    /// when it will read the group's pairs otherwise: a backend copies a group once it has
    /// been asked for it often enough to pay for reading it whole, up to
    /// [`SettledRun::MAX_BYTES`], and copies it again once a copy that ends too early has
    /// been asked for as often. `None` asks only for a copy already kept and counts nothing
    /// (a caller that may not need to read at all looks first). The default keeps none.
    fn settled_run(
        &self,
        prefix: &[u8],
        suffix_len: usize,
        reaching: &[u8],
        pairs: Option<usize>,
    ) -> Result<Option<SettledRun>> {
        let _ = (prefix, suffix_len, reaching, pairs);
        Ok(None)
    }

    /// Applies `batch` atomically. When `durable` is true the call returns only after the batch
    /// is on stable storage.
    fn write(&self, batch: WriteBatch, durable: bool) -> Result<()>;

    /// Makes every write so far durable.
    fn sync(&self) -> Result<()>;

    /// True when [`Storage::write_sorted`] bypasses the backend's write buffers. Such a write
    /// has a fixed cost (for fjall: a memtable flush, a table file and its fsyncs), so callers
    /// use it for thousands of keys at a time, and ordinary batches below that.
    fn ingests_sorted(&self) -> bool {
        false
    }

    /// Writes `pairs`, whose keys must ascend strictly, atomically (after a crash all of them
    /// or none are there) and durably (they are on stable storage when the call returns, and
    /// so is every write made before it). A key out of order is an error, and nothing is
    /// written. fjall writes the pairs straight into sorted table files (no journal, no
    /// memtable); the default collects them into one synced batch.
    fn write_sorted(&self, pairs: &mut dyn Iterator<Item = (Bytes, Bytes)>) -> Result<()> {
        let mut batch = WriteBatch::new();
        for (k, v) in pairs {
            if let Some(WriteOp::Put(last, _)) = batch.ops.last() {
                if *last >= k {
                    return Err(out_of_order());
                }
            }
            batch.put(k, v);
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.write(batch, true)
    }

    /// Moves buffered writes into the backend's long-term structures (for an LSM: flushes
    /// the memtable, so the journal can be recycled). The default only syncs.
    fn checkpoint(&self) -> Result<()> {
        self.sync()
    }

    /// Every pair in the store as it was at the call, in key order: writes made afterwards,
    /// by any thread, are not seen however long the iteration takes. This is what an online
    /// backup reads. Backends that cannot freeze a view refuse (the default).
    fn snapshot_iter(&self) -> Result<KvIter<'_>> {
        Err(crate::error::Error::Unsupported(format!(
            "the {} storage backend cannot take a consistent snapshot, so it cannot be backed up",
            self.name()
        )))
    }

    /// Approximate bytes the store occupies (on disk for persistent backends).
    fn size_bytes(&self) -> u64;

    /// Bytes of memory the backend's caches of read data may hold (0: it keeps no cache,
    /// everything is in memory already).
    fn cache_bytes(&self) -> u64 {
        0
    }

    /// Short name of the backend, for diagnostics.
    fn name(&self) -> &'static str;
}

#[cfg(test)]
pub(crate) mod tests;
