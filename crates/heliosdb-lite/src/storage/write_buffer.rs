//! An ordered write buffer of our own in front of fjall's tables.
//!
//! fjall keeps recent writes in a skiplist memtable behind a journal. Every insert and every
//! point read of a recent key walks about twenty levels of pointers: measured on this
//! workload, 0.4-1.2 µs per insert (ascending / random keys) and 0.75-3 µs per point read,
//! a third of a small transaction's insert or update and most of a first `AS OF` read of a
//! recently superseded version. A sorted map of ours ([`super::layer_map`]: a `BTreeMap` plus
//! runs of ascending keys) answers both in a fraction of that.
//!
//! So a batch is applied here instead: appended to a log file of ours (one `write` per
//! batch, checksummed, fsynced when the batch must be durable), then inserted into the
//! active layer's map. Past the memtable size the active layer is frozen (immutable from
//! then on) and a new one takes the writes; a background thread writes frozen layers, oldest
//! first, into fjall as sorted table files (one ingestion each, deletions as tombstones),
//! then drops the layer and deletes its log. Reads look at the active layer, the frozen ones
//! newest first, then fjall: a layer's entry, a deletion included, hides everything older.
//!
//! # Crash safety
//!
//! A batch is in its log before it is in a map, and a log is deleted only after its layer's
//! ingestion has made the same entries durable in fjall. On open, the logs left behind are
//! replayed in order (a torn record at the end of the newest log is a batch that was never
//! acknowledged) and ingested before anything else reads the store. Replaying a log whose
//! layer had already been ingested writes the same values again: harmless, and later logs
//! replay after it. Every other write into fjall (a sorted ingestion of thousands of keys)
//! freezes the buffer first and, if a frozen layer holds one of its keys, waits for the
//! frozen layers to reach the tables before registering its own, so an older buffered value
//! can never land above it (the layers' logs, replayed after a crash, hold none of its keys
//! otherwise).
//!
//! # Reads during a flush
//!
//! A reader takes the layers it needs (reference-counted) under a short read lock; a layer is
//! removed from the list only after its ingestion finished, so a key is always either in a
//! layer the reader sees or in fjall. A scan keeps the layers it started with, reading them
//! in chunks, so a layer flushed under it is still read from memory (its fjall iterator,
//! opened earlier, does not see the new tables).

use super::bloom;
use super::layer_map::{Entry, LayerMap, MapKey};
use super::{Bytes, Direction, KeyRange, KvIter, KvPair, WriteBatch, WriteOp};
use crate::error::{Error, Result};
use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{Read, Write};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};

/// One operation of a logged batch: a key and what it was set to.
type Op = (Bytes, Entry);

/// Bytes an entry costs beyond its key and value (the map's node share, two byte views).
const ENTRY_OVERHEAD: u64 = 64;

/// Frozen layers waiting for their flush beyond which writers wait: the buffer's memory is
/// bounded by this many layers plus the active one.
const MAX_FROZEN: usize = 2;

/// Entries a scan copies out of a layer per visit of its map.
const CHUNK: usize = 64;

/// Per-record header: payload length (u32) and its xxh3 checksum (u64).
const HEADER: usize = 12;

/// The folder, inside the database directory, that holds the logs.
pub(crate) const FOLDER: &str = "buffer";

/// The file, in the folder, naming the newest layer whose entries are durable in the tables.
/// A log is deleted only after this names its layer: if a power cut loses the deletion, the
/// log comes back, and replaying it above the newer layers ingested since would bring old
/// values back.
const FLUSHED: &str = "flushed";

/// Makes the directory's entries (a file created, renamed) durable.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The layer [`FLUSHED`] names, if any.
fn read_flushed(dir: &Path) -> Result<Option<u64>> {
    match std::fs::read(dir.join(FLUSHED)) {
        Ok(bytes) => {
            let id: [u8; 8] = bytes.as_slice().try_into().map_err(|_| {
                Error::Corruption(format!(
                    "{} is not a write buffer marker",
                    dir.join(FLUSHED).display()
                ))
            })?;
            Ok(Some(u64::from_le_bytes(id)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Durably records that every layer up to `id` is in the tables (written aside, then renamed
/// over the old marker).
fn write_flushed(dir: &Path, id: u64) -> Result<()> {
    let tmp = dir.join("flushed.tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(&id.to_le_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(FLUSHED))?;
    sync_dir(dir)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding it leaves the state as consistent as between two writes.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

/// One layer: a sorted map of the batches applied to it, and the log that makes them durable.
pub(crate) struct Layer {
    id: u64,
    map: RwLock<LayerMap>,
    bytes: AtomicU64,
    log: Mutex<Log>,
}

/// A layer's log file.
struct Log {
    path: PathBuf,
    file: File,
    /// Bytes written, and bytes known to be on stable storage.
    len: u64,
    synced: u64,
}

impl Layer {
    /// A new layer with its log, sized for `limit` bytes of entries.
    fn create(dir: &Path, id: u64, limit: u64) -> Result<Self> {
        let path = log_path(dir, id);
        let file = std::fs::OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)?;
        // A durable write in this log must not vanish with the log's directory entry.
        sync_dir(dir)?;
        Ok(Self {
            id,
            map: RwLock::new(LayerMap::with_filter((limit / ENTRY_OVERHEAD) as usize)),
            bytes: AtomicU64::new(0),
            log: Mutex::new(Log {
                path,
                file,
                len: 0,
                synced: 0,
            }),
        })
    }

    /// True when the layer holds no entry.
    pub(crate) fn is_empty(&self) -> bool {
        read(&self.map).is_empty()
    }

    /// Makes every record appended to the log so far durable.
    fn sync(&self) -> Result<()> {
        let (file, len) = {
            let log = lock(&self.log);
            if log.synced >= log.len {
                return Ok(());
            }
            (log.file.try_clone()?, log.len)
        };
        // Outside the lock: the next writer appends while this one waits for the disk.
        file.sync_data()?;
        let mut log = lock(&self.log);
        log.synced = log.synced.max(len);
        Ok(())
    }
}

fn log_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:016}.log"))
}

/// The encoded record of a batch: header, then per operation a tag (1 put, 0 delete), the
/// key and, for a put, the value, each behind its u32 length.
fn encode(batch: &WriteBatch, rec: &mut Vec<u8>) {
    let size: usize = batch
        .ops()
        .iter()
        .map(|op| match op {
            WriteOp::Put(k, v) => 9 + k.len() + v.len(),
            WriteOp::Delete(k) => 5 + k.len(),
        })
        .sum();
    rec.clear();
    rec.reserve(HEADER + size);
    rec.extend_from_slice(&[0; HEADER]);
    for op in batch.ops() {
        let (tag, key, value) = match op {
            WriteOp::Put(k, v) => (1u8, k, Some(v)),
            WriteOp::Delete(k) => (0u8, k, None),
        };
        rec.push(tag);
        rec.extend_from_slice(&(key.len() as u32).to_le_bytes());
        rec.extend_from_slice(key);
        if let Some(v) = value {
            rec.extend_from_slice(&(v.len() as u32).to_le_bytes());
            rec.extend_from_slice(v);
        }
    }
    let payload_len = (rec.len() - HEADER) as u32;
    let sum = xxhash_rust::xxh3::xxh3_64(&rec[HEADER..]);
    rec[..4].copy_from_slice(&payload_len.to_le_bytes());
    rec[4..HEADER].copy_from_slice(&sum.to_le_bytes());
}

/// Decodes a record's payload into its operations.
fn decode(payload: &[u8], path: &Path) -> Result<Vec<Op>> {
    let corrupt = || {
        Error::Corruption(format!(
            "the write buffer log {} holds a malformed record",
            path.display()
        ))
    };
    let mut ops = Vec::new();
    let mut pos = 0;
    let take = |pos: &mut usize| -> Result<Bytes> {
        let len = payload
            .get(*pos..*pos + 4)
            .ok_or_else(corrupt)?
            .try_into()
            .map(u32::from_le_bytes)
            .map_err(|_| corrupt())? as usize;
        *pos += 4;
        let bytes = payload.get(*pos..*pos + len).ok_or_else(corrupt)?;
        *pos += len;
        Ok(Bytes::from(bytes))
    };
    while pos < payload.len() {
        let tag = payload[pos];
        pos += 1;
        let key = take(&mut pos)?;
        match tag {
            1 => ops.push((key, Some(take(&mut pos)?))),
            0 => ops.push((key, None)),
            _ => return Err(corrupt()),
        }
    }
    Ok(ops)
}

/// Reads the records of a log: the operations of each whole record, stopping at a torn or
/// damaged one. Returns the length of the whole records when one is torn or damaged (`None`
/// when the log ended cleanly).
fn read_log(path: &Path) -> Result<(Vec<Op>, Option<u64>)> {
    let mut data = Vec::new();
    File::open(path)?.read_to_end(&mut data)?;
    let mut ops = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let Some(payload) = whole_record(&data[pos..]) else {
            return Ok((ops, Some(pos as u64)));
        };
        ops.extend(decode(payload, path)?);
        pos += HEADER + payload.len();
    }
    Ok((ops, None))
}

/// The payload of the record `data` starts with, if it is whole and its checksum matches.
fn whole_record(data: &[u8]) -> Option<&[u8]> {
    let header = data.get(..HEADER)?;
    let len = u32::from_le_bytes(header[..4].try_into().ok()?) as usize;
    let sum = u64::from_le_bytes(header[4..].try_into().ok()?);
    let payload = data.get(HEADER..HEADER + len)?;
    (xxhash_rust::xxh3::xxh3_64(payload) == sum).then_some(payload)
}

/// The active layer and the frozen ones (oldest first).
struct Layers {
    active: Arc<Layer>,
    frozen: Vec<Arc<Layer>>,
}

/// The write buffer (see the module documentation).
pub(crate) struct WriteBuffer {
    dir: PathBuf,
    limit: u64,
    layers: RwLock<Layers>,
    next_id: AtomicU64,
    /// Held while a layer is being flushed: flushes run one at a time, oldest layer first.
    flushing: Mutex<()>,
    /// Wakes the flusher (a layer was frozen, or the buffer closes) and the writers waiting
    /// for room (a layer was flushed).
    signal: Mutex<Signal>,
    wake: Condvar,
    /// A failed log write whose bytes could not be taken back: no further write is accepted.
    broken: Mutex<Option<String>>,
    /// The vectors of the last [`WriteBuffer::apply`], kept for the next one (see [`Scratch`]).
    scratch: Mutex<Scratch>,
}

/// A batch's log record and its entries as the map takes them, built before the layer is
/// locked. They are kept from one batch to the next: a commit of a few thousand rows builds a
/// few hundred kilobytes of each, and memory that size freshly allocated for every commit is
/// memory the allocator returns to the system and the next commit faults in again, page by
/// page (a tenth of a batched update's commit went to page faults).
#[derive(Default)]
struct Scratch {
    record: Vec<u8>,
    entries: Vec<(MapKey, Entry, u128)>,
}

/// Bytes of scratch vectors kept past a batch; a larger batch's vectors are let go.
const SCRATCH_KEPT: usize = 4 << 20;

#[derive(Default)]
struct Signal {
    closing: bool,
    /// The last flush failure, cleared by the next success.
    failure: Option<String>,
}

/// What [`WriteBuffer::open`] found left by an earlier run: the operations of every log, in
/// order, to be written into the tables before anything reads them, and the logs that hold
/// them (deleted once that is done).
pub(crate) struct Recovered {
    pub(crate) ops: BTreeMap<MapKey, Entry>,
    logs: Vec<PathBuf>,
    /// The newest layer among them.
    newest: Option<u64>,
}

impl Recovered {
    /// Once the operations are durable in the tables: records it, then deletes the logs.
    pub(crate) fn done(self, buffer: &WriteBuffer) -> Result<()> {
        if let Some(id) = self.newest {
            write_flushed(&buffer.dir, id)?;
        }
        for log in self.logs {
            std::fs::remove_file(log)?;
        }
        Ok(())
    }
}

impl WriteBuffer {
    /// Opens the buffer of the database in `db_dir`, flushing layers past `limit` bytes.
    pub(crate) fn open(db_dir: &Path, limit: u64) -> Result<(Self, Recovered)> {
        let dir = db_dir.join(FOLDER);
        if !dir.is_dir() {
            std::fs::create_dir_all(&dir)?;
            sync_dir(db_dir)?;
        }
        let flushed = read_flushed(&dir)?;
        let mut logs: Vec<(u64, PathBuf)> = std::fs::read_dir(&dir)?
            .flatten()
            .map(|e| e.path())
            .filter_map(|p| {
                let id = p.file_stem()?.to_str()?.parse::<u64>().ok()?;
                (p.extension()? == "log").then_some((id, p))
            })
            .collect();
        logs.sort();
        let next = logs
            .last()
            .map(|(id, _)| id + 1)
            .max(flushed.map(|f| f + 1))
            .unwrap_or(0);
        // Logs whose layers the tables already hold (their deletion was interrupted).
        let (done, logs): (Vec<_>, Vec<_>) = logs
            .into_iter()
            .partition(|(id, _)| flushed.is_some_and(|f| *id <= f));
        for (_, path) in done {
            std::fs::remove_file(path)?;
        }
        let mut ops = BTreeMap::new();
        let last = logs.len().saturating_sub(1);
        for (i, (_, path)) in logs.iter().enumerate() {
            let (found, torn) = read_log(path)?;
            if let Some(whole) = torn {
                if i != last {
                    // Only the newest log can end in a batch being written when the process
                    // stopped; an older one was complete before the next was started.
                    return Err(Error::Corruption(format!(
                        "the write buffer log {} is damaged before its end",
                        path.display()
                    )));
                }
                // Cut the unacknowledged batch off now: the next log starts after this one,
                // which then must end cleanly if the process stops again before it is gone.
                let f = std::fs::OpenOptions::new().write(true).open(path)?;
                f.set_len(whole)?;
                f.sync_all()?;
            }
            ops.extend(found.into_iter().map(|(k, v)| (MapKey::from_slice(&k), v)));
        }
        let limit = limit.max(64 * 1024);
        let active = Arc::new(Layer::create(&dir, next, limit)?);
        let buffer = Self {
            dir,
            limit,
            layers: RwLock::new(Layers {
                active,
                frozen: Vec::new(),
            }),
            next_id: AtomicU64::new(next + 1),
            flushing: Mutex::new(()),
            signal: Mutex::new(Signal::default()),
            wake: Condvar::new(),
            broken: Mutex::new(None),
            scratch: Mutex::new(Scratch::default()),
        };
        let recovered = Recovered {
            ops,
            newest: logs.last().map(|(id, _)| *id),
            logs: logs.into_iter().map(|(_, p)| p).collect(),
        };
        Ok((buffer, recovered))
    }

    /// Applies `batch`: to the active layer's log (fsynced with every unflushed log when
    /// `durable`), then to its map. Returns true when the layer outgrew the limit and was
    /// frozen (the caller wakes the flusher).
    pub(crate) fn apply(&self, batch: &WriteBatch, durable: bool) -> Result<bool> {
        if batch.is_empty() {
            return Ok(false);
        }
        if let Some(why) = lock(&self.broken).as_ref() {
            return Err(Error::Storage(format!(
                "the write buffer refuses writes after a failed log write: {why}"
            )));
        }
        self.wait_for_room()?;
        // Another batch being applied beside this one has the kept vectors: use new ones.
        let mut kept = self.scratch.try_lock().ok();
        let mut own = Scratch::default();
        let scratch = kept.as_deref_mut().unwrap_or(&mut own);
        let Scratch { record, entries } = scratch;
        encode(batch, record);
        // Built (and hashed for the layer's filter) before the map is locked: readers wait
        // for the insertions alone.
        let mut added = 0u64;
        entries.clear();
        entries.extend(batch.ops().iter().map(|op| {
            let (k, v) = match op {
                WriteOp::Put(k, v) => (k, Some(v.clone())),
                WriteOp::Delete(k) => (k, None),
            };
            added += (k.len() + v.as_ref().map_or(0, |v| v.len())) as u64 + ENTRY_OVERHEAD;
            (MapKey::from_slice(k), v, bloom::hash(k))
        }));
        let layers = read(&self.layers);
        let layer = layers.active.clone();
        {
            let mut log = lock(&layer.log);
            let start = log.len;
            if let Err(e) = log.file.write_all(record) {
                // Take back what part of the record reached the file, so that the records
                // after it stay readable; if that fails too, stop accepting writes.
                if let Err(e2) = log.file.set_len(start) {
                    *lock(&self.broken) = Some(format!("{e}; then {e2}"));
                }
                // A refused batch's vectors are not kept (they hold its values, at any size).
                *scratch = Scratch::default();
                return Err(Error::Io(e));
            }
            log.len += record.len() as u64;
            let mut map = write(&layer.map);
            map.insert_batch(entries);
            drop(map);
            layer.bytes.fetch_add(added, Ordering::Relaxed);
        }
        if record.capacity() + entries.capacity() * std::mem::size_of::<(MapKey, Entry, u128)>()
            > SCRATCH_KEPT
        {
            *scratch = Scratch::default();
        }
        drop(kept);
        drop(layers);
        if durable {
            self.sync()?;
        }
        if layer.bytes.load(Ordering::Relaxed) > self.limit {
            // The batch is applied: a failure to start the next layer is not its failure. The
            // layer stays active, and the next write past the limit tries again.
            return Ok(self.freeze(layer.id).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "the write buffer could not start a new layer");
                false
            }));
        }
        Ok(false)
    }

    /// Waits while [`MAX_FROZEN`] layers wait for their flush; fails if flushing fails.
    fn wait_for_room(&self) -> Result<()> {
        let mut signal = lock(&self.signal);
        while read(&self.layers).frozen.len() >= MAX_FROZEN {
            if let Some(why) = &signal.failure {
                return Err(Error::Storage(format!(
                    "the write buffer cannot be written to the tables: {why}"
                )));
            }
            signal = self
                .wake
                .wait_timeout(signal, std::time::Duration::from_millis(50))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        Ok(())
    }

    /// Freezes the active layer if it is still layer `id` (and holds anything), starting a new
    /// one. Returns whether a layer was frozen.
    fn freeze(&self, id: u64) -> Result<bool> {
        // Most of the log's unsynced bytes reach the disk before the lock is taken.
        read(&self.layers).active.sync()?;
        let mut layers = write(&self.layers);
        if layers.active.id != id {
            return Ok(false);
        }
        self.swap_active(&mut layers)
    }

    /// Freezes the active layer of `layers` (held locked) unless it is empty. Its log is
    /// fsynced first, whatever the writes' durability: after a power cut the logs must hold
    /// a prefix of the batches in order, and a newer log whose records survived beside an
    /// older one whose tail was lost would replay later batches without earlier ones.
    fn swap_active(&self, layers: &mut Layers) -> Result<bool> {
        if layers.active.is_empty() {
            return Ok(false);
        }
        layers.active.sync()?;
        let next = self.next_id.fetch_add(1, Ordering::Relaxed);
        let fresh = Arc::new(Layer::create(&self.dir, next, self.limit)?);
        let old = std::mem::replace(&mut layers.active, fresh);
        layers.frozen.push(old);
        Ok(true)
    }

    /// Freezes whatever the active layer holds.
    pub(crate) fn freeze_active(&self) -> Result<bool> {
        let id = read(&self.layers).active.id;
        self.freeze(id)
    }

    /// Makes every write applied so far durable: the logs of every unflushed layer.
    pub(crate) fn sync(&self) -> Result<()> {
        let layers: Vec<Arc<Layer>> = {
            let l = read(&self.layers);
            l.frozen.iter().chain([&l.active]).cloned().collect()
        };
        for layer in layers {
            layer.sync()?;
        }
        Ok(())
    }

    /// The buffered entry of `key`: `Some(None)` for a deletion, `None` if not buffered.
    pub(crate) fn get(&self, key: &[u8]) -> Option<Entry> {
        let hash = bloom::hash(key);
        let layers = read(&self.layers);
        for layer in std::iter::once(&layers.active).chain(layers.frozen.iter().rev()) {
            if let Some(e) = read(&layer.map).get_hashed(key, hash) {
                return Some(e.clone());
            }
        }
        None
    }

    /// The layers a reader must see, newest first.
    fn snapshot(&self) -> Vec<Arc<Layer>> {
        let layers = read(&self.layers);
        std::iter::once(&layers.active)
            .chain(layers.frozen.iter().rev())
            .cloned()
            .collect()
    }

    /// True when nothing is buffered.
    pub(crate) fn is_empty(&self) -> bool {
        let layers = read(&self.layers);
        layers.frozen.is_empty() && layers.active.is_empty()
    }

    /// Bytes of the logs of unflushed layers.
    pub(crate) fn log_bytes(&self) -> u64 {
        self.snapshot().iter().map(|l| lock(&l.log).len).sum()
    }

    /// Iterates `range` over the store behind the buffer, opened by `tables`, with the
    /// buffered entries merged in. The layers are taken before the tables' iterator is
    /// opened: a layer flushed in between is then in both (the layer's copy wins, the same
    /// value), never in neither.
    pub(crate) fn merge<'a>(
        &self,
        tables: impl FnOnce() -> KvIter<'a>,
        range: &KeyRange,
        direction: Direction,
    ) -> KvIter<'a> {
        let layers = self.snapshot();
        merged(layers, tables(), range, direction)
    }

    /// Freezes the active layer and returns every frozen layer, newest first, under one lock:
    /// together they hold every write applied before the call and none applied after, for a
    /// consistent snapshot ([`WriteBuffer::merge_frozen`]; open the tables' snapshot after
    /// this returns) or for an ingestion that must not land below them.
    pub(crate) fn freeze_for_snapshot(&self) -> Result<Vec<Arc<Layer>>> {
        read(&self.layers).active.sync()?;
        let mut layers = write(&self.layers);
        self.swap_active(&mut layers)?;
        Ok(layers.frozen.iter().rev().cloned().collect())
    }

    /// Iterates everything over `tables` (a snapshot of the whole store behind the buffer)
    /// merged with `layers` from [`WriteBuffer::freeze_for_snapshot`].
    pub(crate) fn merge_frozen<'a>(layers: Vec<Arc<Layer>>, tables: KvIter<'a>) -> KvIter<'a> {
        let all = (Bound::Unbounded, Bound::Unbounded);
        merged(layers, tables, &all, Direction::Forward)
    }

    /// Freezes the active layer and flushes every frozen one into the tables with `ingest`,
    /// oldest first, waiting for a flush the background thread is running.
    pub(crate) fn flush_all(&self, ingest: &dyn Fn(&Layer) -> Result<()>) -> Result<()> {
        self.freeze_active()?;
        while self.flush_oldest(ingest)? {}
        Ok(())
    }

    /// Flushes frozen layers, oldest first, until none older than layer `id` or layer `id`
    /// itself is left (waiting for a flush the background thread is running).
    pub(crate) fn flush_through(
        &self,
        id: u64,
        ingest: &dyn Fn(&Layer) -> Result<()>,
    ) -> Result<()> {
        while read(&self.layers)
            .frozen
            .first()
            .is_some_and(|layer| layer.id <= id)
        {
            self.flush_oldest(ingest)?;
        }
        Ok(())
    }

    /// Flushes the oldest frozen layer, if any: `ingest` writes its entries into the tables,
    /// then the layer leaves the list and its log is deleted. Returns whether there was one.
    pub(crate) fn flush_oldest(&self, ingest: &dyn Fn(&Layer) -> Result<()>) -> Result<bool> {
        let _one_at_a_time = lock(&self.flushing);
        let Some(layer) = read(&self.layers).frozen.first().cloned() else {
            return Ok(false);
        };
        let result = ingest(&layer);
        let mut signal = lock(&self.signal);
        if let Err(e) = result {
            signal.failure = Some(e.to_string());
            self.wake.notify_all();
            return Err(e);
        }
        signal.failure = None;
        {
            let mut layers = write(&self.layers);
            if layers.frozen.first().is_some_and(|l| l.id == layer.id) {
                layers.frozen.remove(0);
            }
        }
        self.wake.notify_all();
        drop(signal);
        // The entries are durable in the tables: the log has done its job, once the marker
        // says so. Without the marker the log would be replayed on open above every table
        // registered since, which is harmless for batches (they are newer) but not for an
        // ingestion of the same keys that waited for this flush
        // ([`WriteBuffer::flush_through`]): the failure is the caller's, and the next marker
        // written covers this log too.
        let path = lock(&layer.log).path.clone();
        if let Err(e) = write_flushed(&self.dir, layer.id) {
            tracing::warn!(error = %e, path = %path.display(), "a flushed write buffer log was kept");
            return Err(e);
        }
        if let Err(e) = std::fs::remove_file(&path) {
            tracing::warn!(error = %e, path = %path.display(), "a flushed write buffer log was kept");
        }
        Ok(true)
    }

    /// Runs the background flusher until [`WriteBuffer::close`]: flushes frozen layers as
    /// they appear; a failure is kept for waiting writers and retried.
    pub(crate) fn run_flusher(&self, ingest: &dyn Fn(&Layer) -> Result<()>) {
        loop {
            {
                let mut signal = lock(&self.signal);
                while !signal.closing && read(&self.layers).frozen.is_empty() {
                    signal = self.wake.wait(signal).unwrap_or_else(|e| e.into_inner());
                }
                if signal.closing {
                    return;
                }
            }
            if let Err(e) = self.flush_oldest(ingest) {
                tracing::warn!(error = %e, "flushing the write buffer failed; retrying");
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }

    /// Wakes the flusher: a layer was frozen.
    pub(crate) fn wake_flusher(&self) {
        let _signal = lock(&self.signal);
        self.wake.notify_all();
    }

    /// Stops the background flusher (it returns from [`WriteBuffer::run_flusher`]).
    pub(crate) fn close(&self) {
        lock(&self.signal).closing = true;
        self.wake.notify_all();
    }
}

impl Layer {
    /// The layer's id: layers created later have larger ones.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// A test of whether the layer holds an entry (a value or a deletion) for each of keys
    /// asked in strictly ascending order. It walks the layer's keys in step, searching only
    /// when the asked keys pass the next one it holds: an ingestion beside a layer of other
    /// keys searches once, where a lookup per key (its bloom probe a cache miss) cost a
    /// twentieth of a `CREATE INDEX`. The map stays read-locked while the test lives: for a
    /// frozen layer, which never changes and whose flush only reads it, that costs nobody
    /// anything.
    pub(crate) fn holds(&self) -> impl FnMut(&[u8]) -> bool + '_ {
        let map = read(&self.map);
        // The first key the layer holds at or after the last key asked (`None` before the
        // first ask; `Some(None)` past the layer's last key).
        let mut next: Option<Option<Bytes>> = None;
        let mut found = Vec::with_capacity(1);
        move |key| {
            if next
                .as_ref()
                .is_none_or(|n| n.as_ref().is_some_and(|n| n[..] < *key))
            {
                found.clear();
                map.copy_range(
                    (Bound::Included(key), Bound::Unbounded),
                    false,
                    1,
                    &mut found,
                );
                next = Some(found.pop().map(|(k, _)| k));
            }
            next.as_ref()
                .is_some_and(|n| n.as_ref().is_some_and(|n| n[..] == *key))
        }
    }

    /// Calls `f` with each of the layer's entries in ascending key order (for its flush; a
    /// frozen layer does not change, and readers share the lock meanwhile).
    pub(crate) fn for_each_entry(&self, f: impl FnMut(&[u8], &Entry)) {
        read(&self.map).for_each(f);
    }
}

fn slice_bound(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    b.as_ref().map(Vec::as_slice)
}

/// A scan's position in one layer: entries copied out a chunk at a time.
struct LayerCursor {
    layer: Arc<Layer>,
    chunk: VecDeque<(Bytes, Entry)>,
    /// The last key copied out: the next chunk starts after it.
    last: Option<Bytes>,
    done: bool,
}

impl LayerCursor {
    /// Copies the next chunk of the layer's keys in the range when the last one is used up.
    fn fill(&mut self, range: &KeyRange, direction: Direction) {
        if self.chunk.is_empty() && !self.done {
            let map = read(&self.layer.map);
            let (mut lower, mut upper) = (slice_bound(&range.0), slice_bound(&range.1));
            if let Some(last) = &self.last {
                match direction {
                    Direction::Forward => lower = Bound::Excluded(&last[..]),
                    Direction::Reverse => upper = Bound::Excluded(&last[..]),
                }
            }
            let reverse = matches!(direction, Direction::Reverse);
            map.copy_range((lower, upper), reverse, CHUNK, &mut self.chunk);
            self.done = self.chunk.len() < CHUNK;
            self.last = self.chunk.back().map(|(k, _)| k.clone());
        }
    }
}

/// The merge of buffered layers (newest first) and the tables' iterator.
struct Merged<'a> {
    tables: std::iter::Peekable<KvIter<'a>>,
    layers: Vec<LayerCursor>,
    range: KeyRange,
    direction: Direction,
}

fn merged<'a>(
    layers: Vec<Arc<Layer>>,
    tables: KvIter<'a>,
    range: &KeyRange,
    direction: Direction,
) -> KvIter<'a> {
    let layers: Vec<LayerCursor> = layers
        .into_iter()
        .filter(|l| !l.is_empty())
        .map(|layer| LayerCursor {
            layer,
            chunk: VecDeque::new(),
            last: None,
            done: false,
        })
        .collect();
    if layers.is_empty() {
        return tables;
    }
    Box::new(Merged {
        tables: tables.peekable(),
        layers,
        range: range.clone(),
        direction,
    })
}

/// How `a` compares with `b` in a scan's direction (`Less`: `a` comes first).
fn order(direction: Direction, a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    match direction {
        Direction::Forward => a.cmp(b),
        Direction::Reverse => b.cmp(a),
    }
}

impl Iterator for Merged<'_> {
    type Item = Result<KvPair>;

    /// Compares keys in place (no copies of them): this runs once for every entry a scan
    /// over buffered keys reads.
    fn next(&mut self) -> Option<Self::Item> {
        use std::cmp::Ordering::{Equal, Less};
        loop {
            for cursor in &mut self.layers {
                cursor.fill(&self.range, self.direction);
            }
            // The first key among the layers; the newest layer wins a tie.
            let mut best: Option<usize> = None;
            for (i, cursor) in self.layers.iter().enumerate() {
                let Some((k, _)) = cursor.chunk.front() else {
                    continue;
                };
                let first = match best.and_then(|b| self.layers[b].chunk.front()) {
                    Some((b, _)) => order(self.direction, k, b) == Less,
                    None => true,
                };
                if first {
                    best = Some(i);
                }
            }
            let Some(winner) = best else {
                return self.tables.next();
            };
            let key = &self.layers[winner]
                .chunk
                .front()
                .expect("the winner has a key")
                .0;
            let from_tables = match self.tables.peek() {
                Some(Ok((t, _))) => Some(order(self.direction, t, key)),
                Some(Err(_)) => return self.tables.next(),
                None => None,
            };
            match from_tables {
                Some(Less) => return self.tables.next(),
                // The tables' copy is older than the layer's: hidden.
                Some(Equal) => drop(self.tables.next()),
                _ => {}
            }
            let (key, entry) = self.layers[winner].chunk.pop_front().expect("peeked");
            // Older layers' copies of the key are hidden too.
            for (i, cursor) in self.layers.iter_mut().enumerate() {
                if i != winner && cursor.chunk.front().is_some_and(|(k, _)| *k == key) {
                    cursor.chunk.pop_front();
                }
            }
            if let Some(value) = entry {
                return Some(Ok((key, value)));
            }
            // A deletion: nothing to return for this key.
        }
    }
}

#[path = "write_buffer_visit.rs"]
mod visit;

#[cfg(test)]
#[path = "write_buffer_tests.rs"]
mod tests;
