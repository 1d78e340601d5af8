//! On-disk backend on the fjall LSM tree.
//!
//! One fjall keyspace holds every key; the layers above separate their data by key prefix.
//! Batches do not go through fjall's journal and memtable: they are applied to a write buffer
//! of our own ([`super::write_buffer`]: a log file and sorted in-memory layers), which a
//! background thread writes into fjall as sorted table files. fjall holds the tables, their
//! compaction, the block cache and the ingestion of sorted runs. A durable write fsyncs the
//! buffer's logs before it returns; on open the logs an earlier run left are replayed into the
//! tables before anything reads them.

use super::value_cache::{Lookup, ValueCache};
use super::write_buffer::{Layer, WriteBuffer};
use super::{Bytes, Direction, KeyRange, KvIter, KvPair, SettledRun, Storage, WriteBatch, WriteOp};
use crate::error::{Error, Result};
use fjall::config::PartitioningPolicy;
use fjall::{Database, Keyspace, KeyspaceCreateOptions};
use std::path::Path;
use std::sync::Arc;

const KEYSPACE: &str = "heliosdb";

/// Tuning knobs for the fjall backend, derived from the configuration.
#[derive(Debug, Clone)]
pub struct FjallOptions {
    /// Cache size in bytes: fjall's block cache and the cache of recently read values
    /// together.
    pub cache_bytes: u64,
    /// The part of `cache_bytes` that caches recently read values (0: none), in front of
    /// fjall's point reads.
    pub value_cache_bytes: u64,
    /// Memtable size in bytes before it is flushed to a segment.
    pub memtable_bytes: u64,
    /// Upper bound of the journal size before memtables are force-flushed.
    pub journal_bytes: u64,
    /// How long a checkpoint waits for the memtable flush before giving up.
    pub checkpoint_wait: std::time::Duration,
}

impl Default for FjallOptions {
    fn default() -> Self {
        Self {
            cache_bytes: 32 * 1024 * 1024,
            value_cache_bytes: 8 * 1024 * 1024,
            memtable_bytes: 16 * 1024 * 1024,
            journal_bytes: 128 * 1024 * 1024,
            checkpoint_wait: std::time::Duration::from_secs(30),
        }
    }
}

/// A persistent ordered key-value store in a directory.
pub struct FjallStorage {
    db: Database,
    keyspace: Keyspace,
    checkpoint_wait: std::time::Duration,
    path: std::path::PathBuf,
    /// fjall's block cache and the value cache together, as configured.
    cache_bytes: u64,
    /// Values read recently, in front of fjall's point reads (every write goes through it).
    values: Option<ValueCache>,
    /// Recent writes, in front of fjall's tables (see the module documentation).
    buffer: Arc<WriteBuffer>,
    /// The thread that writes frozen buffer layers into the tables.
    flusher: Option<std::thread::JoinHandle<()>>,
    /// Tests set it to close as a crash would leave the store: the buffer not flushed.
    #[cfg(test)]
    unflushed_close: bool,
}

/// Writes the entries `fill` hands to its argument (ascending keys; `None` a deletion) into
/// new sorted table files that one manifest update makes part of the tree, atomically and
/// durably, above every earlier write. After a failed write the rest are skipped and the
/// ingestion is dropped unfinished (its files are never registered).
fn ingest(
    keyspace: &Keyspace,
    fill: impl FnOnce(&mut dyn FnMut(&[u8], &Option<Bytes>)),
) -> Result<()> {
    let mut ingestion = keyspace.start_ingestion().map_err(map_err)?;
    let mut failed = None;
    fill(&mut |k, v| {
        if failed.is_none() {
            let k = fjall::Slice::from(k);
            failed = match v {
                Some(v) => ingestion.write(k, fjall::Slice::from(v.clone())),
                None => ingestion.write_tombstone(k),
            }
            .err();
        }
    });
    match failed {
        Some(e) => Err(map_err(e)),
        None => ingestion.finish().map_err(map_err),
    }
}

/// Writes a frozen buffer layer into the tables.
fn ingest_layer(keyspace: &Keyspace, layer: &Layer) -> Result<()> {
    ingest(keyspace, |put| layer.for_each_entry(put))
}

/// A pair as fjall's iterators yield it, as the layers above take it.
fn pair(g: fjall::Guard) -> Result<KvPair> {
    g.into_inner()
        .map(|(k, v)| (Bytes::from(k), Bytes::from(v)))
        .map_err(map_err)
}

impl std::fmt::Debug for FjallStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallStorage").finish_non_exhaustive()
    }
}

/// What to do about damaged files, said once for every corruption message.
const RESTORE: &str = "restore the database directory from a backup";

/// The storage engine's errors as sentences: fjall's own `Display` prints its internal
/// structure (`Storage(ChecksumMismatch { got: Checksum(..) })`), which tells a user nothing.
pub(crate) fn map_err(e: fjall::Error) -> Error {
    match e {
        fjall::Error::Io(io) => Error::Io(io),
        fjall::Error::Storage(lsm) => map_lsm_err(lsm),
        fjall::Error::Locked => Error::Busy(
            "the database directory is in use by another process; close that process, or \
             open the database read-only (heliosdb-lite --readonly, Connection::open_read_only) \
             to inspect it"
                .to_string(),
        ),
        fjall::Error::InvalidVersion(v) => Error::Corruption(format!(
            "the storage format version ({}) is not one this version of HeliosDB-Lite reads; \
             open it with the version that wrote it",
            v.map_or_else(|| "unreadable".to_string(), |v| (v as u8).to_string())
        )),
        fjall::Error::JournalRecovery(_) => Error::Corruption(format!(
            "the journal (the *.jnl files) is damaged and cannot be replayed; {RESTORE}"
        )),
        fjall::Error::Decompress(_) => Error::Corruption(format!(
            "a compressed block of a data file cannot be decompressed; {RESTORE}"
        )),
        fjall::Error::InvalidTrailer | fjall::Error::InvalidTag(_) => Error::Corruption(format!(
            "a data or journal file has an invalid block; {RESTORE}"
        )),
        fjall::Error::Unrecoverable => Error::Corruption(format!(
            "required data files are missing or unreadable; {RESTORE}"
        )),
        fjall::Error::Poisoned => Error::Storage(
            "an earlier write failed (disk full or a hardware error), so the storage engine \
             refuses further writes; free space or fix the disk, then reopen the database"
                .to_string(),
        ),
        fjall::Error::KeyspaceDeleted => Error::Storage(
            "the storage keyspace was deleted while in use; reopen the database".into(),
        ),
        _ => Error::Storage(
            "the storage engine failed with an error this version does not describe; reopen \
             the database, and run `heliosdb-lite check` on it"
                .to_string(),
        ),
    }
}

fn map_lsm_err(e: fjall::LsmError) -> Error {
    match e {
        fjall::LsmError::Io(io) => Error::Io(io),
        fjall::LsmError::ChecksumMismatch { .. } => Error::Corruption(format!(
            "a data file failed its checksum (the bytes on disk changed after they were \
             written); {RESTORE}"
        )),
        fjall::LsmError::Decompress(_) => Error::Corruption(format!(
            "a compressed block of a data file cannot be decompressed; {RESTORE}"
        )),
        fjall::LsmError::InvalidVersion(v) => Error::Corruption(format!(
            "a data file has format version {v}, which this version of HeliosDB-Lite does not \
             read; open it with the version that wrote it"
        )),
        fjall::LsmError::Utf8(_) => {
            Error::Corruption(format!("a data file holds a malformed name; {RESTORE}"))
        }
        _ => Error::Corruption(format!(
            "a data file is damaged (invalid block header or trailer); {RESTORE}"
        )),
    }
}

impl FjallStorage {
    /// Opens (creating if needed) the store in directory `path`.
    pub fn open(path: &Path, options: &FjallOptions) -> Result<Self> {
        if path.is_file() {
            return Err(Error::Corruption(format!(
                "{} is a file, but a HeliosDB-Lite database is a directory",
                path.display()
            )));
        }
        // fjall panics on some damaged manifests instead of returning an error.
        super::fjall_check::verify_manifests(path)?;
        let db = Database::builder(path)
            // One background worker for flushes and compactions. With more (fjall's default
            // is one per core), worker 0 hands every compaction request back to the queue
            // and takes it again while another worker compacts: a busy loop for as long as
            // a compaction runs, a fifth of all CPU in a 1M-row CREATE INDEX on two cores.
            .worker_threads(1)
            .cache_size(
                options
                    .cache_bytes
                    .saturating_sub(options.value_cache_bytes)
                    .max(1024 * 1024),
            )
            .max_journaling_size(options.journal_bytes.max(64 * 1024 * 1024))
            .open()
            .map_err(map_err)?;
        let memtable = options.memtable_bytes.max(1024 * 1024);
        let keyspace = db
            .keyspace(KEYSPACE, || {
                KeyspaceCreateOptions::default()
                    .max_memtable_size(memtable)
                    // Filters and block indexes in 4 KiB partitions at every level, behind a
                    // small pinned top-level index. Whole, they grow with the table file (2 MB
                    // of filter for a 1M-row table): fjall pins them only in the first levels,
                    // and the block cache, split in one shard per 1/4 core, refuses a block
                    // larger than a shard's share, so every point read of a deeper table
                    // re-read its whole filter from disk (400 µs per primary-key lookup at 1M
                    // rows with `memory_limit_mb = 64`). Partitions are cached like data blocks.
                    // Stored in fjall's keyspace metadata: applies to databases created since
                    // (also when they compact); older ones keep whole filters.
                    .filter_block_partitioning_policy(PartitioningPolicy::all(true))
                    .index_block_partitioning_policy(PartitioningPolicy::all(true))
                    .data_block_compression_policy(fjall::config::CompressionPolicy::all(
                        fjall::CompressionType::Lz4,
                    ))
            })
            .map_err(map_err)?;
        // What an earlier run left in the buffer's logs goes into the tables first.
        let (buffer, recovered) = WriteBuffer::open(path, memtable)?;
        if !recovered.ops.is_empty() {
            ingest(&keyspace, |put| {
                for (k, v) in &recovered.ops {
                    put(&k[..], v);
                }
            })?;
        }
        recovered.done(&buffer)?;
        let buffer = Arc::new(buffer);
        let flusher = {
            let (buffer, keyspace) = (buffer.clone(), keyspace.clone());
            std::thread::Builder::new()
                .name("heliosdb-flush".into())
                .spawn(move || buffer.run_flusher(&|layer| ingest_layer(&keyspace, layer)))?
        };
        Ok(Self {
            db,
            keyspace,
            checkpoint_wait: options.checkpoint_wait,
            path: path.to_path_buf(),
            cache_bytes: options.cache_bytes,
            values: ValueCache::new(options.value_cache_bytes.min(options.cache_bytes / 2)),
            buffer,
            flusher: Some(flusher),
            #[cfg(test)]
            unflushed_close: false,
        })
    }

    /// Writes everything buffered into the tables, waiting for a flush in progress.
    fn flush_buffer(&self) -> Result<()> {
        self.buffer
            .flush_all(&|layer| ingest_layer(&self.keyspace, layer))
    }

    /// Loads `pairs`, which must come in strictly ascending key order, into this store, which
    /// must be empty: fjall writes them straight into sorted table files (no journal, no
    /// memtable), about as fast as the disk takes them. Nothing is visible until all are
    /// written; then a checkpoint makes the tables and the manifest naming them durable.
    /// Returns the number of pairs and their bytes (keys and values).
    pub fn load_sorted<'a>(
        &self,
        pairs: impl Iterator<Item = Result<super::KvPair>> + 'a,
    ) -> Result<(u64, u64)> {
        if self.keyspace.first_key_value().is_some() || !self.buffer.is_empty() {
            return Err(Error::invalid(format!(
                "cannot load into {}: it is not empty",
                self.path.display()
            )));
        }
        let (mut count, mut bytes) = (0u64, 0u64);
        let mut pairs = pairs.inspect(|pair| {
            if let Ok((k, v)) = pair {
                count += 1;
                bytes += (k.len() + v.len()) as u64;
            }
        });
        self.ingest(&mut pairs)?;
        self.checkpoint()?;
        Ok((count, bytes))
    }

    /// Writes `pairs` (keys strictly ascending) into new sorted table files that one manifest
    /// update makes part of the tree, atomically, with a sequence number above every earlier
    /// write (fjall flushes the memtable first). Table files and manifest are fsynced before
    /// it returns. An error item or an out-of-order key stops it before anything is
    /// registered (fjall's own order check panics). Its sequence number is taken when it
    /// registers its tables: a layer flushed before then lies below it.
    ///
    /// What the write buffer held before must not land above these keys: its layers, flushed
    /// after the ingestion, get larger sequence numbers. They are frozen and handed to the
    /// background flusher, which writes them beside the ingestion on another core; each
    /// ingested key is looked for in them (a walk of each in step with the keys), and only
    /// if one of them holds one of the keys does the ingestion wait for them to reach the
    /// tables before it registers its own. (It used to flush them first, always: a seventh
    /// of a `CREATE INDEX` right after a load, whose rows were still buffered, spent on one
    /// core.)
    fn ingest<K: Into<fjall::Slice>, V: Into<fjall::Slice>>(
        &self,
        pairs: &mut dyn Iterator<Item = Result<(K, V)>>,
    ) -> Result<()> {
        let earlier = self.buffer.freeze_for_snapshot()?;
        self.buffer.wake_flusher();
        let mut held: Vec<_> = earlier
            .iter()
            .filter(|layer| !layer.is_empty())
            .map(|layer| layer.holds())
            .collect();
        // Its keys are not known in advance: every cached value goes.
        let _write = self.values.as_ref().map(|c| c.begin_write(None));
        let mut ingestion = self.keyspace.start_ingestion().map_err(map_err)?;
        let mut last: Option<fjall::Slice> = None;
        let mut clash = false;
        for pair in pairs {
            // An early return drops the ingestion unfinished: its files are never registered.
            let (k, v) = pair?;
            let k: fjall::Slice = k.into();
            if last.as_ref().is_some_and(|l| *l >= k) {
                return Err(super::out_of_order());
            }
            // Every test sees every key: each walks its layer in step with them.
            for holds in &mut held {
                clash |= holds(&k);
            }
            ingestion.write(k.clone(), v).map_err(map_err)?;
            last = Some(k);
        }
        // The flush below reads the layers too; nothing writes them.
        drop(held);
        if let Some(newest) = earlier.first().filter(|_| clash) {
            self.buffer
                .flush_through(newest.id(), &|layer| ingest_layer(&self.keyspace, layer))?;
        }
        ingestion.finish().map_err(map_err)
    }

    /// True when every write is in the LSM's tables: no memtable holds anything, so the
    /// journal holds nothing that is not also in a table.
    fn fully_flushed(&self) -> bool {
        // `rotate_memtable` seals the active memtable only if it holds something.
        self.db.keyspace_count() == 1
            && self.buffer.is_empty()
            && matches!(self.keyspace.rotate_memtable(), Ok(false))
            && self.keyspace.sealed_memtable_count() == 0
    }
}

impl Drop for FjallStorage {
    /// Empties the journal once it is redundant. fjall replays its whole active journal on
    /// open, even the part already flushed (about a microsecond per entry), and starts a new
    /// journal only after 64 MB, so after many small commits a clean reopen would take up to
    /// a second and a half. After a clean close (the checkpoint flushed every memtable) the
    /// journal holds nothing the tables do not: the sealed journals are deleted and the active
    /// one is truncated. It must stay, empty: fjall recovers its sequence numbers from the
    /// tables only when it finds an active journal, and a new one would restart them at zero
    /// (the crash test caught this). This runs while fjall still holds its directory lock, so
    /// no other process can be using the journal; where open files cannot be changed, it
    /// stays and the next open replays it as before.
    fn drop(&mut self) {
        self.buffer.close();
        if let Some(flusher) = self.flusher.take() {
            let _ = flusher.join();
        }
        #[cfg(test)]
        if self.unflushed_close {
            return;
        }
        // A clean close leaves no buffer log to replay; if this fails the next open does it.
        if let Err(e) = self.flush_buffer() {
            tracing::warn!(error = %e, "the write buffer was left to the next open");
            return;
        }
        if !self.fully_flushed() {
            return;
        }
        let Ok(entries) = std::fs::read_dir(&self.path) else {
            return;
        };
        let mut journals: Vec<(u64, std::path::PathBuf)> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jnl") && p.is_file())
            .filter_map(|p| {
                let id = p.file_stem()?.to_str()?.parse().ok()?;
                Some((id, p))
            })
            .collect();
        journals.sort();
        let Some((_, active)) = journals.pop() else {
            return;
        };
        let emptied = std::fs::OpenOptions::new()
            .write(true)
            .open(&active)
            .and_then(|f| {
                f.set_len(0)?;
                f.sync_all()
            });
        if let Err(e) = emptied {
            tracing::debug!(error = %e, "journal kept");
            return;
        }
        for (_, sealed) in journals {
            let _ = std::fs::remove_file(sealed);
        }
    }
}

impl Storage for FjallStorage {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        // The buffer, then the tables.
        let read = || match self.buffer.get(key) {
            Some(buffered) => Ok(buffered),
            None => Ok(self.keyspace.get(key).map_err(map_err)?.map(Bytes::from)),
        };
        let Some(cache) = &self.values else {
            return read();
        };
        // The cache first, then the buffer, then the tables. A value read from either is
        // offered only if no write began since the ticket was taken (whatever the source,
        // the value read after the ticket is the key's latest unless a write began since),
        // and a write puts its keys in the buffer before it ends. A layer's flush changes no
        // key's value, so it leaves the cache alone.
        match cache.lookup(key) {
            Lookup::Hit(v) => Ok(Some(v)),
            Lookup::Bypass => read(),
            Lookup::Miss(ticket) => {
                let value = read()?;
                if let Some(v) = &value {
                    cache.offer(ticket, key, v);
                }
                Ok(value)
            }
        }
    }

    fn get_to_replace(&self, key: &[u8]) -> Result<Option<Bytes>> {
        // A cached value still answers; a value read from the buffer or the tables is not
        // offered: copying it in, and dropping it again when the caller's commit writes the
        // key, was a tenth of a batched UPDATE by primary key.
        match self.get_buffered(key) {
            Some(found) => Ok(found),
            None => self.get_unbuffered(key),
        }
    }

    fn get_buffered(&self, key: &[u8]) -> Option<Option<Bytes>> {
        if let Some(Lookup::Hit(v)) = self.values.as_ref().map(|cache| cache.lookup(key)) {
            return Some(Some(v));
        }
        self.buffer.get(key)
    }

    fn get_unbuffered(&self, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(self.keyspace.get(key).map_err(map_err)?.map(Bytes::from))
    }

    fn first_in_settled_range(&self, range: KeyRange) -> Result<Option<KvPair>> {
        let Some(cache) = &self.values else {
            return self.first_in_range(range);
        };
        let id = ValueCache::range_id(&range);
        if let Some(found) = cache.settled(&id) {
            return Ok(Some(found));
        }
        let found = self.first_in_range(range)?;
        if let Some(pair) = &found {
            cache.settle(&id, pair);
        }
        Ok(found)
    }

    fn settled_run(
        &self,
        prefix: &[u8],
        suffix_len: usize,
        reaching: &[u8],
        pairs: Option<usize>,
    ) -> Result<Option<SettledRun>> {
        match &self.values {
            Some(cache) => cache.settled_run(self, prefix, suffix_len, reaching, pairs),
            None => Ok(None),
        }
    }

    fn scan(&self, range: KeyRange, direction: Direction) -> KvIter<'_> {
        let tables = || -> KvIter<'_> {
            let iter = self.keyspace.range(range.clone());
            match direction {
                Direction::Forward => Box::new(iter.map(pair)),
                Direction::Reverse => Box::new(iter.rev().map(pair)),
            }
        };
        self.buffer.merge(tables, &range, direction)
    }

    fn visit_range(
        &self,
        range: KeyRange,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        let tables = || -> KvIter<'_> { Box::new(self.keyspace.range(range.clone()).map(pair)) };
        self.buffer.visit(tables, &range, visit)
    }

    fn scan_owned(self: Arc<Self>, range: KeyRange) -> Option<KvIter<'static>> {
        // fjall's iterator holds the tables' version it reads, and the buffer's merge holds
        // its layers: neither borrows the store (nor is a snapshot: the active layer and the
        // memtable are read as they are when the iterator gets to them).
        let tables =
            || -> KvIter<'static> { Box::new(self.keyspace.range(range.clone()).map(pair)) };
        Some(self.buffer.merge(tables, &range, Direction::Forward))
    }

    /// The frozen buffer layers and a fjall snapshot, merged: every write applied before the
    /// call and none after.
    fn snapshot_iter(&self) -> Result<KvIter<'_>> {
        use fjall::Readable;
        let layers = self.buffer.freeze_for_snapshot()?;
        self.buffer.wake_flusher();
        let snapshot = self.db.snapshot();
        let iter = snapshot.iter(&self.keyspace);
        let tables: KvIter<'_> = Box::new(iter.map(pair));
        Ok(WriteBuffer::merge_frozen(layers, tables))
    }

    fn write(&self, batch: WriteBatch, durable: bool) -> Result<()> {
        let _write = self.values.as_ref().map(|c| {
            c.begin_write(Some(&mut batch.ops().iter().map(|op| match op {
                WriteOp::Put(k, _) | WriteOp::Delete(k) => &k[..],
            })))
        });
        if self.buffer.apply(&batch, durable)? {
            self.buffer.wake_flusher();
        }
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        self.buffer.sync()
    }

    fn ingests_sorted(&self) -> bool {
        true
    }

    fn write_sorted(&self, pairs: &mut dyn Iterator<Item = (Bytes, Bytes)>) -> Result<()> {
        self.ingest(&mut pairs.map(Ok))
    }

    fn checkpoint(&self) -> Result<()> {
        self.flush_buffer()?;
        // fjall's `rotate_memtable_and_wait` waits forever if the flush fails (a vanished
        // directory, a failing disk), which would hang a `Drop`. Everything is already in the
        // synced journal, so giving up on the flush loses nothing but a faster next open.
        self.keyspace.rotate_memtable().map_err(map_err)?;
        let deadline = std::time::Instant::now() + self.checkpoint_wait;
        while self.keyspace.sealed_memtable_count() > 0 {
            if std::time::Instant::now() > deadline {
                return Err(Error::Storage(format!(
                    "checkpoint: the memtable was not flushed within {} s (the data is safe in the journal)",
                    self.checkpoint_wait.as_secs()
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        Ok(())
    }

    fn size_bytes(&self) -> u64 {
        self.db.disk_space().unwrap_or(0) + self.buffer.log_bytes()
    }

    fn cache_bytes(&self) -> u64 {
        self.cache_bytes
    }

    fn name(&self) -> &'static str {
        "fjall"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ops::Bound;

    #[test]
    fn a_failing_flush_fails_the_checkpoint_instead_of_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let options = FjallOptions {
            checkpoint_wait: std::time::Duration::from_millis(500),
            ..FjallOptions::default()
        };
        let s = FjallStorage::open(&path, &options).unwrap();
        let mut b = WriteBatch::new();
        b.put(b"k".to_vec(), b"v".to_vec());
        s.write(b, true).unwrap();
        std::fs::remove_dir_all(&path).unwrap();
        let started = std::time::Instant::now();
        assert!(s.checkpoint().is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn a_read_of_a_value_about_to_be_replaced_leaves_the_cache_alone() {
        let dir = tempfile::tempdir().unwrap();
        let s = FjallStorage::open(dir.path(), &FjallOptions::default()).unwrap();
        let mut b = WriteBatch::new();
        b.put(b"row".to_vec(), b"old".to_vec());
        b.put(b"other".to_vec(), b"kept".to_vec());
        s.write(b, false).unwrap();
        let cache = s.values.as_ref().expect("a cache by default");
        // Read often enough for a plain read to cache it: the value is right, and not kept.
        for _ in 0..3 {
            assert_eq!(
                s.get_to_replace(b"row").unwrap().as_deref(),
                Some(&b"old"[..])
            );
        }
        assert_eq!(cache.values_held(), 0);
        // A plain read caches at its key's second miss; a read to replace leaves it there.
        for _ in 0..2 {
            assert_eq!(s.get(b"other").unwrap().as_deref(), Some(&b"kept"[..]));
        }
        assert_eq!(cache.values_held(), 1);
        assert_eq!(
            s.get_to_replace(b"other").unwrap().as_deref(),
            Some(&b"kept"[..])
        );
        assert_eq!(cache.values_held(), 1);
        // And after the write, the new value, from the buffer.
        let mut b = WriteBatch::new();
        b.put(b"row".to_vec(), b"new".to_vec());
        b.delete(b"other".to_vec());
        s.write(b, false).unwrap();
        assert_eq!(
            s.get_to_replace(b"row").unwrap().as_deref(),
            Some(&b"new"[..])
        );
        assert_eq!(s.get_to_replace(b"other").unwrap(), None);
        assert_eq!(s.get_to_replace(b"never").unwrap(), None);
    }

    /// Buffer logs in the database's buffer folder.
    fn buffer_logs(path: &Path) -> usize {
        std::fs::read_dir(path.join(super::super::write_buffer::FOLDER))
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
            .filter(|e| e.metadata().unwrap().len() > 0)
            .count()
    }

    #[test]
    fn the_buffer_flushes_in_the_background_past_its_size_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let options = FjallOptions {
            memtable_bytes: 1024 * 1024,
            ..FjallOptions::default()
        };
        let s = FjallStorage::open(&path, &options).unwrap();
        let value = vec![7u8; 1000];
        for n in 0..5_000u32 {
            let mut b = WriteBatch::new();
            b.put(n.to_be_bytes().to_vec(), value.clone());
            if n % 3 == 0 && n > 0 {
                b.delete((n - 1).to_be_bytes().to_vec());
            }
            s.write(b, false).unwrap();
        }
        // About 5 MB written through a 1 MB buffer: some layers reached the tables.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while s.keyspace.first_key_value().is_none() {
            assert!(std::time::Instant::now() < deadline, "nothing was flushed");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let live = |n: u32| n % 3 != 2 || n == 4_999;
        for n in (0..5_000u32).step_by(7) {
            let got = s.get(&n.to_be_bytes()).unwrap();
            assert_eq!(got.as_deref(), live(n).then_some(&value[..]), "key {n}");
        }
        let expect: Vec<u32> = (0..5_000).filter(|&n| live(n)).collect();
        let keys = |s: &FjallStorage, dir| -> Vec<u32> {
            s.scan((Bound::Unbounded, Bound::Unbounded), dir)
                .map(|kv| u32::from_be_bytes(kv.unwrap().0[..].try_into().unwrap()))
                .collect()
        };
        assert_eq!(keys(&s, Direction::Forward), expect);
        let mut reversed = expect.clone();
        reversed.reverse();
        assert_eq!(keys(&s, Direction::Reverse), reversed);
        drop(s);
        assert_eq!(buffer_logs(&path), 0, "a clean close flushes the buffer");
        let s = FjallStorage::open(&path, &options).unwrap();
        assert_eq!(keys(&s, Direction::Forward), expect);
    }

    /// Bytes in the journal files.
    fn journals(path: &Path) -> u64 {
        std::fs::read_dir(path)
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "jnl"))
            .map(|e| e.metadata().unwrap().len())
            .sum()
    }

    fn put(s: &FjallStorage, k: &[u8], v: &[u8]) {
        let mut b = WriteBatch::new();
        b.put(k.to_vec(), v.to_vec());
        s.write(b, true).unwrap();
    }

    fn value(s: &FjallStorage, k: &[u8]) -> Option<Vec<u8>> {
        s.get(k).unwrap().map(|v| v.to_vec())
    }

    /// Key `i` of the numbered keys under prefix `p` (`p00042`).
    fn numbered(p: &str, i: u32) -> Vec<u8> {
        format!("{p}{i:05}").into_bytes()
    }

    /// Ingests keys 0 to 999 under prefix `p`, each with the value `ingested`.
    fn ingest_numbered(s: &FjallStorage, p: &str) {
        let mut pairs =
            (0..1_000).map(|i| (Bytes::from(numbered(p, i)), Bytes::from(&b"ingested"[..])));
        s.write_sorted(&mut pairs).unwrap();
    }

    /// A sorted write lands in table files, over earlier writes of the same keys and under
    /// later ones, whole or (keys out of order) not at all, and survives a reopen without
    /// a checkpoint (it is durable when it returns; the journal never held it).
    #[test]
    fn sorted_writes_are_ingested_in_order_atomically_and_durably() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let open = || FjallStorage::open(&path, &FjallOptions::default()).unwrap();
        let s = open();
        assert!(s.ingests_sorted());
        put(&s, b"b", b"old");
        put(&s, b"z", b"journal");
        let mut pairs = vec![(b"b".to_vec(), b"new".to_vec())];
        pairs.extend(
            (0..5_000u32).map(|i| (format!("b{i:05}").into_bytes(), i.to_be_bytes().to_vec())),
        );
        s.write_sorted(&mut pairs.into_iter().map(|(k, v)| (k.into(), v.into())))
            .unwrap();
        assert_eq!(value(&s, b"b").as_deref(), Some(&b"new"[..]));
        assert_eq!(value(&s, b"b04999"), Some(4999u32.to_be_bytes().to_vec()));
        // Out of order: an error, and nothing of it is visible.
        let unsorted = vec![
            (b"c1".to_vec(), b"x".to_vec()),
            (b"c3".to_vec(), b"x".to_vec()),
            (b"c2".to_vec(), b"x".to_vec()),
        ];
        let e = s
            .write_sorted(&mut unsorted.into_iter().map(|(k, v)| (k.into(), v.into())))
            .unwrap_err();
        assert!(e.to_string().contains("out of order"), "{e}");
        assert_eq!(value(&s, b"c1"), None);
        // Later batches win over the ingested tables.
        let mut b = WriteBatch::new();
        b.delete(b"b00001".to_vec());
        b.put(b"b00002".to_vec(), b"later".to_vec());
        s.write(b, false).unwrap();
        s.sync().unwrap();
        drop(s);
        let s = open();
        assert_eq!(value(&s, b"b").as_deref(), Some(&b"new"[..]));
        assert_eq!(value(&s, b"b00001"), None);
        assert_eq!(value(&s, b"b00002").as_deref(), Some(&b"later"[..]));
        assert_eq!(value(&s, b"b03000"), Some(3000u32.to_be_bytes().to_vec()));
        assert_eq!(value(&s, b"z").as_deref(), Some(&b"journal"[..]));
        assert_eq!(value(&s, b"c1"), None);
        let n = s
            .scan((Bound::Unbounded, Bound::Unbounded), Direction::Forward)
            .count();
        assert_eq!(n, 1 + 4_999 + 1);
    }

    /// An ingestion no longer flushes the buffer first: its earlier layers go to the tables
    /// beside it (after it, when none holds an ingested key). Either way each key reads its
    /// newest value, before and after a reopen.
    #[test]
    fn ingestions_beside_buffered_layers_keep_every_key_at_its_newest_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let open = || FjallStorage::open(&path, &FjallOptions::default()).unwrap();
        let s = open();
        let k = numbered;
        // Buffered: keys the ingestions never write, and (in the first ingestion's range) a
        // deletion and a value of keys it writes.
        let mut b = WriteBatch::new();
        for i in 0..2_000 {
            b.put(k("a", i), b"buffered".to_vec());
        }
        b.delete(k("k", 500));
        b.put(k("k", 700), b"old".to_vec());
        s.write(b, false).unwrap();
        let ingest = |p: &str| ingest_numbered(&s, p);
        // Clashes: waits for the earlier layers before it registers its tables.
        ingest("k");
        // Clashes with nothing: the earlier layers are flushed after it.
        put(&s, &k("k", 1), b"later");
        put(&s, &k("b", 3), b"buffered");
        ingest("m");
        let check = |s: &FjallStorage| {
            assert_eq!(value(s, &k("a", 1_999)).as_deref(), Some(&b"buffered"[..]));
            assert_eq!(value(s, &k("b", 3)).as_deref(), Some(&b"buffered"[..]));
            assert_eq!(value(s, &k("k", 500)).as_deref(), Some(&b"ingested"[..]));
            assert_eq!(value(s, &k("k", 700)).as_deref(), Some(&b"ingested"[..]));
            assert_eq!(value(s, &k("k", 1)).as_deref(), Some(&b"later"[..]));
            assert_eq!(value(s, &k("m", 999)).as_deref(), Some(&b"ingested"[..]));
            let n = s
                .scan((Bound::Unbounded, Bound::Unbounded), Direction::Forward)
                .count();
            assert_eq!(n, 2_000 + 1 + 1_000 + 1_000);
        };
        check(&s);
        s.checkpoint().unwrap();
        check(&s);
        drop(s);
        check(&open());
    }

    /// The same with the flusher stopped, so that frozen layers stay until someone flushes
    /// them: an ingestion whose keys the older of two frozen layers holds flushes both
    /// before it registers; one whose keys none holds (a buffered key between two of its
    /// keys included) leaves them frozen, and their logs, replayed above its tables after a
    /// close that flushes nothing (a crash), change none of its keys.
    #[test]
    fn an_ingestion_waits_for_earlier_layers_only_when_one_holds_its_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let open = || FjallStorage::open(&path, &FjallOptions::default()).unwrap();
        let mut s = open();
        s.buffer.close();
        s.flusher.take().unwrap().join().unwrap();
        let batch = |s: &FjallStorage, pairs: &[(&[u8], &[u8])]| {
            let mut b = WriteBatch::new();
            for (k, v) in pairs {
                b.put(k.to_vec(), v.to_vec());
            }
            s.write(b, false).unwrap();
            assert!(s.buffer.freeze_active().unwrap());
        };
        let (k, ingest) = (numbered, ingest_numbered);
        batch(&s, &[(&k("k", 500), b"old"), (b"a", b"older layer")]);
        batch(&s, &[(b"b", b"newer layer")]);
        ingest(&s, "k");
        assert!(
            s.buffer.is_empty(),
            "a clash flushes every earlier layer first"
        );
        batch(&s, &[(b"m00005x", b"between"), (b"c", b"buffered")]);
        batch(&s, &[(b"d", b"buffered")]);
        ingest(&s, "m");
        assert!(
            !s.buffer.is_empty(),
            "no clash: the earlier layers wait for the flusher"
        );
        let check = |s: &FjallStorage| {
            assert_eq!(value(s, &k("k", 500)).as_deref(), Some(&b"ingested"[..]));
            assert_eq!(value(s, &k("m", 5)).as_deref(), Some(&b"ingested"[..]));
            assert_eq!(value(s, b"m00005x").as_deref(), Some(&b"between"[..]));
            assert_eq!(value(s, b"a").as_deref(), Some(&b"older layer"[..]));
            assert_eq!(value(s, b"d").as_deref(), Some(&b"buffered"[..]));
        };
        check(&s);
        s.unflushed_close = true;
        drop(s);
        assert!(
            buffer_logs(&path) >= 2,
            "the unflushed layers' logs are left to replay"
        );
        check(&open());
    }

    #[test]
    fn a_clean_close_empties_the_redundant_journal_and_keeps_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let open = || FjallStorage::open(&path, &FjallOptions::default()).unwrap();
        {
            let s = open();
            for i in 0..100u32 {
                put(&s, b"k", &i.to_be_bytes());
            }
            s.checkpoint().unwrap();
        }
        assert_eq!(journals(&path), 0, "flushed: the journal was emptied");
        {
            let s = open();
            assert_eq!(
                s.get(b"k").unwrap().map(|v| v.to_vec()),
                Some(99u32.to_be_bytes().to_vec())
            );
            // Newer writes must win over the tables' versions: sequence numbers went on.
            put(&s, b"k", b"after");
            // As after a crash: the buffer's log holds the write.
            let mut s = s;
            s.unflushed_close = true;
        }
        assert!(buffer_logs(&path) > 0, "unflushed writes keep their log");
        {
            let s = open();
            assert_eq!(
                s.get(b"k").unwrap().map(|v| v.to_vec()),
                Some(b"after".to_vec())
            );
            s.checkpoint().unwrap();
        }
        assert_eq!(journals(&path), 0);
        let s = open();
        assert_eq!(
            s.get(b"k").unwrap().map(|v| v.to_vec()),
            Some(b"after".to_vec())
        );
        put(&s, b"k", b"last");
        s.checkpoint().unwrap();
        drop(s);
        assert_eq!(
            open().get(b"k").unwrap().map(|v| v.to_vec()),
            Some(b"last".to_vec())
        );
    }
}
