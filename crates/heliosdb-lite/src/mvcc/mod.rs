//! Multi-version concurrency control with a persistent commit history.
//!
//! # Model
//!
//! Every committed write transaction gets three identifiers: a transaction id (TXID, handed
//! out when the transaction first writes and never reused, even after a rollback), a commit
//! sequence number (SCN, +1 per commit, dense) and a commit time (UTC microseconds, strictly
//! increasing even if the clock steps back). A write never destroys a version: the newest
//! version of a logical key (its head) is replaced and the previous one moves to the history,
//! stamped with the SCNs between which it was visible (see [`keys`]). A snapshot is nothing but
//! an SCN: reading at SCN S means taking, for each logical key, the version visible at S.
//! The commit record, the new versions and the GC work items of one transaction go to storage
//! in a single atomic batch, so after a crash a commit is either wholly there or absent.
//!
//! # Concurrency
//!
//! Readers never block: they pin the SCN they read at and read versions at or before it.
//! Writers are serialised by one write lock, taken at the first write of a transaction (or at
//! BEGIN IMMEDIATE). A transaction that has already read and then finds that another writer
//! committed since its snapshot fails with [`Error::Busy`], like SQLite's WAL mode: its reads
//! would be stale. The SCN becomes visible to new readers only after the batch is durable.
//!
//! # Garbage collection
//!
//! The horizon is the oldest SCN still readable. A superseded version `[begin, end)` is needed
//! only by snapshots before `end`; the commit at `end` records it as a GC work item, so
//! advancing the horizon to H only has to process the work items of commits <= H: no scan of
//! the data. The version visible at H has `end > H` and is never in that set. Tombstone heads
//! at or before H read like no version at all and go too, checked under the write lock. See
//! [`gc`].
//!
//! # Transactions larger than memory
//!
//! A transaction keeps its pending writes, its undo log and the heads it read under the write
//! lock in memory up to [`MvccOptions::txn_memory_bytes`]. Past that it *spills* them to a
//! private key range of the store, `PRIVATE ‖ txid` ([`spill`]), and starts over in memory;
//! its reads lay the in-memory writes over the spilled ones over the snapshot ([`merge`]), so
//! it sees exactly what it would have seen in memory, while no snapshot ever reads that range.
//! Savepoints reach back over spills through the stored undo records.
//!
//! Such a commit cannot be the single atomic batch the model above relies on (a storage batch
//! is built whole in memory), so the private range becomes the commit's redo log
//! ([`spill_commit`]): a first batch holds the commit record and a marker, and decides the
//! commit; bounded chunk batches then apply the pending versions exactly as a one-batch commit
//! would, each deleting what it applied and recording its progress in the marker; a last batch
//! writes the row counters and removes the marker. Readers are not disturbed meanwhile, for the
//! reason they are not disturbed by a written but unpublished commit: they do not read at its
//! SCN yet, and each chunk moves the versions they need to the history in the batch that
//! replaces the heads. After a crash, opening the store completes a commit whose marker
//! survived and deletes every private range: a commit is still either wholly there or absent.
//!
//! Much of a large transaction never needs the detour: new rows ([`direct`]) and rows whose
//! committed head it read (the targets of a DELETE or UPDATE, [`overwrite`]) are written by the
//! spill where the commit would put them, stamped with the SCN the commit will take, so no
//! snapshot sees them before the commit record; records beside them let a rollback, or the next
//! open after a crash, take them back.
//!
//! # Packed read copies
//!
//! A full scan of the heads pays the LSM's iterator once per row. Large tables therefore also
//! get a *pack*: a copy of their rows as of one SCN in pages of ~16 KiB, plus a change log that
//! every commit extends in its own batch, naming the rows it wrote. A scan at any SCN reads the
//! pages and reads the few rows the log names between the pack and the snapshot the ordinary
//! way. Packs are derived data: maintenance builds and replaces them, a crash leaves at worst
//! unreferenced pages, and the heads and history stay the truth ([`pack`]).

mod ahead;
mod backup;
pub mod commit_log;
pub mod counters;
mod direct;
pub mod gc;
mod key_filter;
pub mod keys;
mod merge;
mod overwrite;
pub mod pack;
mod pack_scan;
mod read_heads;
mod rewrite_reads;
mod spill;
mod spill_commit;
mod txn;
mod view;
mod write_set;

pub use backup::BackupReport;
pub use gc::{GcReport, GcTotals, Retention};
pub use txn::{Savepoint, ScannedHead, Transaction, TxnMode};

use crate::error::{Error, HistoryPoint, Result};
use crate::storage::{prefix_range, Direction, KeyRange, KvPair, Storage, WriteBatch};
use crate::time::Clock;
use commit_log::{CommitEntry, CommitIndex};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

/// Format 3 is format 2 plus live-key counters ([`counters`]). A format 2 store is upgraded
/// on open by rewriting the marker: its existing groups simply have no counters. The marker
/// changes so that a build that does not maintain counters refuses the store instead of
/// leaving them stale.
///
/// Format 4 adds packs and change logs; format 5 adds the lists of heads a spilled
/// transaction wrote directly (`direct`), which an earlier build would drop on open without
/// taking the heads back; format 6 writes change-log entries that list many keys
/// ([`pack`]), which an earlier build would read as naming only their first key; format 7
/// writes heads that list their key's past versions ([`keys::Past`]), which an earlier build
/// cannot decode; format 8 stores SQL triggers' catalog entries under keys of their own
/// (`sql::codec::trigger_catalog_key`), where an earlier build's DROP TRIGGER would delete
/// the table, index or view of the trigger's name instead.
const FORMAT_MARKER: &[u8] = b"heliosdb-lite storage format 8";
const FORMAT_7_MARKER: &[u8] = b"heliosdb-lite storage format 7";
const FORMAT_6_MARKER: &[u8] = b"heliosdb-lite storage format 6";
const FORMAT_5_MARKER: &[u8] = b"heliosdb-lite storage format 5";
const FORMAT_4_MARKER: &[u8] = b"heliosdb-lite storage format 4";
const FORMAT_3_MARKER: &[u8] = b"heliosdb-lite storage format 3";
/// Format 2: heads and history, no counters.
const FORMAT_2_MARKER: &[u8] = b"heliosdb-lite storage format 2";
/// Format 1 kept every version under `logical ‖ !scn` (no heads); it is not read any more.
const FORMAT_1_MARKER: &[u8] = b"heliosdb-lite storage format 1";

/// How the engine behaves; built from [`crate::Config`].
#[derive(Debug, Clone)]
pub struct MvccOptions {
    /// fsync every commit (the `enable_wal` setting).
    pub durable: bool,
    /// Keep history for time travel. When false, superseded versions are collected as soon as
    /// no reader needs them and historical reads fail.
    pub time_travel: bool,
    /// Retention rule for GC.
    pub retention: Retention,
    /// Run GC automatically in a background thread.
    pub auto_gc: bool,
    /// Commit clock.
    pub clock: Arc<dyn Clock>,
    /// How long a writer waits for the write lock before failing with [`Error::Busy`].
    pub busy_timeout: Duration,
    /// Most commits whose index entry (16 bytes) is kept in memory; older retained commits
    /// are resolved from their records in storage.
    pub max_snapshots_in_memory: usize,
    /// Which logical keys are counted, and in which group (see [`counters`]); `None` keeps
    /// no counters. A database must always be opened with the same function.
    pub count_group: Option<counters::CountGroup>,
    /// Bytes a transaction's pending writes, undo log and cached heads may hold in memory
    /// before they spill to its private range in storage (see [`spill`]).
    pub txn_memory_bytes: usize,
    /// Keep packed read copies of large tables ([`pack`]); needs `count_group`. Off, scans
    /// read the heads, and no change logs are started (existing ones are still kept up).
    pub pack_tables: bool,
    /// Logical keys from which a layer above derives something it caches per transaction
    /// ([`Transaction::derived`]; the SQL layer's catalog): writes under this prefix change
    /// the transaction's generation. `None` counts every write.
    pub watched_prefix: Option<&'static [u8]>,
    /// Heads a transaction writes directly (see [`direct`]) go into sorted table files
    /// (`Storage::write_sorted`) from this many keys at a time on, and a commit writes its new
    /// keys that way from four times this many: below that, an ingestion's fixed costs (a
    /// memtable flush, a table file, its fsyncs) exceed what it saves. Tests lower it.
    pub ingest_min_keys: usize,
    /// A pack build writes this many bytes of pages through ordinary batches, then the rest
    /// as sorted table files (see [`pack`]'s `INGEST_PAGES_AFTER`, the default). Tests lower
    /// it.
    pub pack_ingest_bytes: usize,
    /// At the end of a statement, a transaction whose write set holds this many new live keys
    /// hands them to a helper thread that writes them to their heads while the next
    /// statements run (see [`ahead`]); 0 never does. Tests lower it.
    pub write_ahead_keys: usize,
}

/// [`MvccOptions::write_ahead_keys`] by default: 4,096 keys, none on a single core, where the
/// helper would only take turns with the statements. A transaction that wrote ahead commits
/// the spilled way (a marker batch, the rest, a final batch): about a fifth of a microsecond a
/// row more for a transaction of 1,000 rows with an index, measured; from a few thousand keys
/// on, the helper's overlap pays for it.
fn default_write_ahead_keys() -> usize {
    match std::thread::available_parallelism() {
        Ok(n) if n.get() > 1 => 4096,
        _ => 0,
    }
}

impl Default for MvccOptions {
    fn default() -> Self {
        Self {
            durable: true,
            time_travel: true,
            retention: Retention::default(),
            auto_gc: true,
            clock: Arc::new(crate::time::SystemClock),
            busy_timeout: Duration::from_secs(5),
            max_snapshots_in_memory: 2_000_000,
            count_group: None,
            txn_memory_bytes: 32 << 20,
            pack_tables: true,
            watched_prefix: None,
            ingest_min_keys: 4096,
            pack_ingest_bytes: pack::INGEST_PAGES_AFTER,
            write_ahead_keys: default_write_ahead_keys(),
        }
    }
}

/// What a successful commit was stamped with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitInfo {
    /// Commit sequence number.
    pub scn: u64,
    /// Transaction id.
    pub txid: u64,
    /// Commit time, microseconds since the epoch.
    pub time_us: i64,
}

/// A point in history as a caller names it.
#[derive(Debug, Clone, PartialEq)]
pub enum AsOf {
    /// The state after the newest commit with commit time <= the given microseconds.
    Timestamp(i64),
    /// The state after the commit of the given transaction.
    Transaction(u64),
    /// The state just before the commit of the given transaction.
    BeforeTransaction(u64),
    /// The state after the given commit.
    Scn(u64),
}

impl std::fmt::Display for AsOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AsOf::Timestamp(t) => write!(f, "TIMESTAMP '{}'", crate::time::format_micros(*t)),
            AsOf::Transaction(t) => write!(f, "TRANSACTION {t}"),
            AsOf::BeforeTransaction(t) => write!(f, "BEFORE TRANSACTION {t}"),
            AsOf::Scn(s) => write!(f, "SCN {s}"),
        }
    }
}

pub(crate) struct Inner {
    storage: Arc<dyn Storage>,
    options: MvccOptions,
    retention: RwLock<Retention>,
    index: RwLock<CommitIndex>,
    /// Pinned snapshot SCNs with reference counts. Lock order: `pins` before `index`.
    pins: Mutex<BTreeMap<u64, usize>>,
    /// Since when the write lock is held; `None` while it is free.
    writer_busy: Mutex<Option<Instant>>,
    writer_cv: Condvar,
    next_txid: AtomicU64,
    gc_lock: Mutex<()>,
    /// What GC removed since open (see [`gc::GcTotals`]).
    gc_totals: Mutex<gc::GcTotals>,
    poisoned: AtomicBool,
    /// Wakes the background GC thread; `true` asks it to exit. Shared by `Arc` so the thread
    /// can wait on it without keeping the database alive.
    gc_signal: Arc<(Mutex<bool>, Condvar)>,
    /// The background thread, joined by [`Mvcc::close_background`].
    background: Mutex<Option<std::thread::JoinHandle<()>>>,
    commits_since_gc: AtomicU64,
    /// Commits written but not yet durable and published (group commit).
    pipeline: Mutex<Pipeline>,
    pipeline_cv: Condvar,
    /// Tracked tables and their packed read copies ([`pack`]).
    packs: pack::Packs,
}

/// Group commit: a writer writes its batch under the write lock, releases the lock, then
/// waits until its SCN is durable. One waiter at a time syncs the storage for every commit
/// written so far, then publishes them, in SCN order, to readers. Later writers read the
/// newest *written* state (their commits depend on it and are acknowledged after it).
#[derive(Debug)]
struct Pipeline {
    /// Newest SCN written.
    assigned: u64,
    /// Commit time of `assigned`.
    last_time: i64,
    /// Written, not yet published.
    pending: VecDeque<(u64, CommitEntry)>,
    /// A waiter is syncing now.
    syncing: bool,
    /// A sync failed: nothing more becomes durable.
    failed: bool,
}

/// The versioned store: entry point for transactions, snapshots, history and GC.
#[derive(Clone)]
pub struct Mvcc(Arc<Inner>);

impl std::fmt::Debug for Mvcc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mvcc")
            .field("storage", &self.0.storage.name())
            .finish_non_exhaustive()
    }
}

/// A pinned snapshot: while it lives, GC keeps everything visible at its SCN.
#[derive(Debug)]
pub struct Pin {
    mvcc: Mvcc,
    scn: u64,
}

impl Pin {
    /// The pinned SCN.
    pub fn scn(&self) -> u64 {
        self.scn
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        let mut pins = lock(&self.mvcc.0.pins);
        if let Some(c) = pins.get_mut(&self.scn) {
            *c -= 1;
            if *c == 0 {
                pins.remove(&self.scn);
            }
        }
    }
}

/// Holding this means holding the database's single write lock.
#[derive(Debug)]
pub(crate) struct WriteLock {
    mvcc: Mvcc,
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        *lock(&self.mvcc.0.writer_busy) = None;
        self.mvcc.0.writer_cv.notify_one();
    }
}

/// A read-only view of the database at one SCN.
#[derive(Debug)]
pub struct Snapshot {
    pin: Pin,
}

impl Snapshot {
    /// The SCN this snapshot reads at.
    pub fn scn(&self) -> u64 {
        self.pin.scn
    }

    /// Reads a logical key.
    pub fn get(&self, key: &[u8]) -> Result<Option<crate::storage::Bytes>> {
        view::read_at(&*self.pin.mvcc.0.storage, key, self.pin.scn)
    }

    /// Iterates live logical keys in `range`.
    pub fn scan(
        &self,
        range: KeyRange,
        direction: Direction,
    ) -> impl Iterator<Item = Result<KvPair>> + '_ {
        view::VisibleIter::new(&self.pin.mvcc.0, &range, self.pin.scn, direction)
    }

    /// Iterates live logical keys starting with `prefix`.
    pub fn scan_prefix(&self, prefix: &[u8]) -> impl Iterator<Item = Result<KvPair>> + '_ {
        self.scan(prefix_range(prefix), Direction::Forward)
    }

    /// The number of live keys of the group `prefix` at this snapshot, if a counter was kept
    /// for it then (see [`counters`]).
    pub fn live_count(&self, prefix: &[u8]) -> Result<Option<i64>> {
        if self.pin.mvcc.0.options.count_group.is_none() {
            return Ok(None);
        }
        Ok(self
            .get(&counters::counter_key(prefix))?
            .and_then(|v| counters::decode_count(&v)))
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The engine's shared state is updated only after fallible work is done, so state behind
    // a poisoned lock is still consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}

impl Mvcc {
    /// Opens the versioned store on `storage`, recovering the commit history.
    pub fn open(storage: Arc<dyn Storage>, options: MvccOptions) -> Result<Self> {
        let marker = storage.get(&keys::meta_key(b"format"))?;
        match marker {
            Some(m) if &m[..] == FORMAT_MARKER => {}
            // Format 4 adds packs (derived data a format-3 store simply has none of yet) and
            // change logs; a format-4 store must not be written by a version that does not
            // keep the logs, hence the new marker. Format 5 adds the direct-write lists of
            // spilled transactions, which an older store has none of; a build that does not
            // take their heads back on open must refuse a format-5 store. Format 6 reads the
            // one-key log entries of earlier formats as they are; a build that cannot read
            // list entries must refuse a format-6 store. Format 7 heads may list their
            // past versions; earlier heads read as they are (a seek finds their history).
            // Format 8 keys triggers apart; earlier ones read where they are.
            Some(m)
                if &m[..] == FORMAT_2_MARKER
                    || &m[..] == FORMAT_3_MARKER
                    || &m[..] == FORMAT_4_MARKER
                    || &m[..] == FORMAT_5_MARKER
                    || &m[..] == FORMAT_6_MARKER
                    || &m[..] == FORMAT_7_MARKER =>
            {
                let mut b = WriteBatch::new();
                b.put(keys::meta_key(b"format"), FORMAT_MARKER.to_vec());
                storage.write(b, true)?;
            }
            Some(m) if &m[..] == FORMAT_1_MARKER => {
                return Err(Error::corruption(
                    "this database uses storage format 1, written by an earlier development \
                     version of HeliosDB-Lite; this version reads formats 2 to 7 only (export the data \
                     with the earlier version and import it)",
                ))
            }
            Some(_) => {
                return Err(Error::corruption(
                    "unknown storage format marker (written by another program or version)",
                ))
            }
            None => {
                let mut any = storage.scan(
                    (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
                    Direction::Forward,
                );
                if any.next().transpose()?.is_some() {
                    return Err(Error::corruption(
                        "the store holds data but no HeliosDB-Lite format marker",
                    ));
                }
                let mut b = WriteBatch::new();
                b.put(keys::meta_key(b"format"), FORMAT_MARKER.to_vec());
                storage.write(b, true)?;
            }
        }
        // Before anything reads: finish a spilled commit a crash interrupted, drop the
        // private ranges of transactions that never committed.
        // The tracked tables first: completing a spilled commit writes their change logs.
        let packs = pack::Packs::load(
            &*storage,
            options.pack_tables && options.count_group.is_some(),
        )?;
        spill_commit::recover(&*storage, options.count_group, &packs)?;
        let horizon = read_u64_meta(&*storage, b"horizon")?.unwrap_or(0);
        let mut next_txid = read_u64_meta(&*storage, b"next_txid")?.unwrap_or(1);
        let (base, entries) =
            recover_commit_log(&*storage, horizon, options.max_snapshots_in_memory.max(1))?;
        if let Some(last) = entries.back() {
            next_txid = next_txid.max(last.txid + 1);
        }
        let index = CommitIndex::new(
            horizon,
            base,
            entries,
            options.max_snapshots_in_memory,
            Some(storage.clone()),
        );
        let pipeline = Pipeline {
            assigned: index.latest(),
            last_time: index.latest_time().unwrap_or(i64::MIN),
            pending: VecDeque::new(),
            syncing: false,
            failed: false,
        };
        let retention = options.retention.clone();
        let inner = Arc::new(Inner {
            storage,
            retention: RwLock::new(retention),
            index: RwLock::new(index),
            pins: Mutex::new(BTreeMap::new()),
            writer_busy: Mutex::new(None),
            writer_cv: Condvar::new(),
            next_txid: AtomicU64::new(next_txid),
            gc_lock: Mutex::new(()),
            gc_totals: Mutex::new(gc::GcTotals::default()),
            poisoned: AtomicBool::new(false),
            gc_signal: Arc::new((Mutex::new(false), Condvar::new())),
            background: Mutex::new(None),
            commits_since_gc: AtomicU64::new(0),
            pipeline: Mutex::new(pipeline),
            pipeline_cv: Condvar::new(),
            packs,
            options,
        });
        let mvcc = Mvcc(inner);
        if mvcc.0.options.auto_gc || !mvcc.0.options.time_travel {
            let thread = gc::spawn_background(Arc::downgrade(&mvcc.0), mvcc.0.gc_signal.clone());
            *lock(&mvcc.0.background) = thread;
        }
        Ok(mvcc)
    }

    /// Stops the background GC and pack thread and waits for it, so that once the caller
    /// drops its handles the storage closes at once. Without the wait, a close that lands
    /// while the thread builds a pack leaves the database open (and its directory locked)
    /// on that thread until the build ends, and an immediate reopen finds it busy. Work in
    /// progress stops at its next step as a crash would stop it (the next open cleans up).
    pub fn close_background(&self) {
        *lock(&self.0.gc_signal.0) = true;
        self.0.gc_signal.1.notify_all();
        let thread = lock(&self.0.background).take();
        if let Some(thread) = thread {
            // A thread cannot wait for itself (the background thread holds no engine, so it
            // should never get here; a deadlock would be the price of being wrong).
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }

    /// True once [`Mvcc::close_background`] was called (or the database is being dropped):
    /// the background thread's stop signal.
    pub(crate) fn closing(&self) -> bool {
        *lock(&self.0.gc_signal.0)
    }

    /// The error that ends background work cut short by a close.
    pub(crate) fn closing_error() -> Error {
        Error::Busy("the database is closing".into())
    }

    pub(crate) fn from_weak(w: &Weak<Inner>) -> Option<Self> {
        w.upgrade().map(Mvcc)
    }

    /// Every SCN at which a logical key starting with `prefix` got or lost a version,
    /// ascending, as far back as the retained history goes.
    pub fn change_points(&self, prefix: &[u8]) -> Result<Vec<u64>> {
        view::change_points(&*self.0.storage, prefix)
    }

    /// The underlying store.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.0.storage
    }

    /// The options the engine runs with.
    pub fn options(&self) -> &MvccOptions {
        &self.0.options
    }

    /// The newest committed SCN.
    pub fn latest_scn(&self) -> u64 {
        read(&self.0.index).latest()
    }

    /// The oldest readable SCN.
    pub fn horizon(&self) -> u64 {
        read(&self.0.index).horizon()
    }

    /// The point of a retained SCN.
    pub fn point(&self, scn: u64) -> Option<HistoryPoint> {
        read(&self.0.index).point(scn)
    }

    /// The newest `limit` snapshots, newest first.
    pub fn recent_snapshots(&self, limit: usize) -> Vec<HistoryPoint> {
        read(&self.0.index).recent(limit)
    }

    /// Every retained snapshot, oldest first.
    pub fn snapshots(&self) -> Vec<HistoryPoint> {
        read(&self.0.index).all()
    }

    /// Number of retained snapshots and the bytes their in-memory index uses.
    pub fn snapshot_memory(&self) -> (usize, usize) {
        let ix = read(&self.0.index);
        (ix.len(), ix.memory_bytes())
    }

    /// The current time according to the engine's clock (never before the newest commit).
    pub fn now_micros(&self) -> i64 {
        let now = self.0.options.clock.now_micros();
        read(&self.0.index)
            .latest_time()
            .map_or(now, |t| t.max(now))
    }

    /// Resolves a time-travel point to an SCN, or explains why it cannot be read.
    pub fn resolve(&self, point: &AsOf) -> Result<u64> {
        if !self.0.options.time_travel {
            return Err(Error::TimeTravelDisabled);
        }
        let ix = read(&self.0.index);
        match *point {
            AsOf::Scn(s) => ix.resolve_scn(s),
            AsOf::Transaction(t) => ix.resolve_txid(t),
            AsOf::BeforeTransaction(t) => ix.resolve_before_txid(t),
            AsOf::Timestamp(ts) => ix.resolve_time(ts, || self.0.options.clock.now_micros()),
        }
    }

    /// The newest SCN written (possibly not yet durable): what a writer must read.
    pub fn assigned_scn(&self) -> u64 {
        lock(&self.0.pipeline).assigned
    }

    /// Pins the newest written SCN (for a transaction that holds the write lock).
    pub(crate) fn pin_assigned(&self) -> Pin {
        let mut pins = lock(&self.0.pins);
        let scn = lock(&self.0.pipeline).assigned;
        *pins.entry(scn).or_insert(0) += 1;
        Pin {
            mvcc: self.clone(),
            scn,
        }
    }

    pub(crate) fn pin_latest(&self) -> Pin {
        let mut pins = lock(&self.0.pins);
        let scn = read(&self.0.index).latest();
        *pins.entry(scn).or_insert(0) += 1;
        Pin {
            mvcc: self.clone(),
            scn,
        }
    }

    fn pin_at(&self, scn: u64) -> Result<Pin> {
        let mut pins = lock(&self.0.pins);
        let ix = read(&self.0.index);
        ix.resolve_scn(scn)?;
        drop(ix);
        *pins.entry(scn).or_insert(0) += 1;
        Ok(Pin {
            mvcc: self.clone(),
            scn,
        })
    }

    /// A read-only snapshot of the newest committed state.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            pin: self.pin_latest(),
        }
    }

    /// A read-only snapshot at a historical point.
    pub fn snapshot_as_of(&self, point: &AsOf) -> Result<Snapshot> {
        let scn = self.resolve(point)?;
        self.snapshot_at(scn)
    }

    /// A read-only snapshot at an SCN (checked against the horizon while pinning, so a
    /// concurrent GC cannot collect it in between).
    pub fn snapshot_at(&self, scn: u64) -> Result<Snapshot> {
        Ok(Snapshot {
            pin: self.pin_at(scn)?,
        })
    }

    /// Starts a transaction.
    pub fn begin(&self, mode: TxnMode) -> Result<Transaction> {
        Transaction::begin(self.clone(), mode, None)
    }

    /// Starts a transaction that waits at most `busy_timeout` for the write lock, instead of
    /// the store's [`MvccOptions::busy_timeout`] (a connection's `PRAGMA busy_timeout`).
    pub fn begin_waiting(&self, mode: TxnMode, busy_timeout: Duration) -> Result<Transaction> {
        Transaction::begin(self.clone(), mode, Some(busy_timeout))
    }

    /// How long a transaction waits for the write lock unless told otherwise.
    pub fn busy_timeout(&self) -> Duration {
        self.0.options.busy_timeout
    }

    /// Takes the write lock, waiting at most `wait` while another transaction holds it.
    pub(crate) fn acquire_write_lock(&self, wait: Duration) -> Result<WriteLock> {
        if self.0.poisoned.load(Ordering::SeqCst) {
            return Err(Error::Storage(
                "an earlier commit failed to reach storage; reopen the database".into(),
            ));
        }
        // A wait too long to add to the clock is no limit at all.
        let deadline = Instant::now().checked_add(wait);
        let mut busy = lock(&self.0.writer_busy);
        while busy.is_some() {
            let now = Instant::now();
            let left = match deadline {
                Some(d) if now >= d => {
                    return Err(Error::Busy(
                        "another transaction holds the write lock".to_string(),
                    ))
                }
                Some(d) => d - now,
                None => Duration::from_secs(3600),
            };
            busy = self
                .0
                .writer_cv
                .wait_timeout(busy, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *busy = Some(Instant::now());
        Ok(WriteLock { mvcc: self.clone() })
    }

    /// Takes the write lock if no one holds it, without waiting.
    pub(crate) fn try_write_lock(&self) -> Option<WriteLock> {
        let mut busy = lock(&self.0.writer_busy);
        if busy.is_some() {
            return None;
        }
        *busy = Some(Instant::now());
        Some(WriteLock { mvcc: self.clone() })
    }

    /// How long the write lock has been held, if it is: background work that a large write
    /// would make obsolete (a pack build) gives way to it.
    pub(crate) fn writer_busy_for(&self) -> Option<Duration> {
        lock(&self.0.writer_busy).map(|since| since.elapsed())
    }

    pub(crate) fn allocate_txid(&self) -> u64 {
        self.0.next_txid.fetch_add(1, Ordering::SeqCst)
    }

    pub(crate) fn next_txid(&self) -> u64 {
        self.0.next_txid.load(Ordering::SeqCst)
    }

    /// Stamps and writes a commit. Called with the write lock held; the commit becomes
    /// visible to readers once [`Mvcc::await_durable`] has made it durable.
    pub(crate) fn write_commit(
        &self,
        txid: u64,
        build: impl FnOnce(u64, &mut WriteBatch) -> Result<()>,
    ) -> Result<CommitInfo> {
        self.write_commit_then(txid, build, |_| Ok(()))
    }

    /// [`Mvcc::write_commit`], with more writes after the commit's batch (`then`, given the
    /// SCN) that must all reach storage before the commit counts as written: the chunks of a
    /// spilled commit ([`spill_commit`]).
    pub(crate) fn write_commit_then(
        &self,
        txid: u64,
        build: impl FnOnce(u64, &mut WriteBatch) -> Result<()>,
        then: impl FnOnce(u64) -> Result<()>,
    ) -> Result<CommitInfo> {
        let (scn, time_us) = {
            let p = lock(&self.0.pipeline);
            if p.failed {
                return Err(Error::Storage(
                    "an earlier commit failed to reach storage; reopen the database".into(),
                ));
            }
            let now = self.0.options.clock.now_micros();
            (
                p.assigned + 1,
                if now <= p.last_time {
                    p.last_time + 1
                } else {
                    now
                },
            )
        };
        let mut batch = WriteBatch::new();
        build(scn, &mut batch)?;
        let entry = CommitEntry { txid, time_us };
        // No TXID counter write: the newest commit record, which GC never deletes, carries the
        // TXID, and open resumes after it. The counter is saved only for transactions that end
        // without a commit record (rollbacks), so their ids are not handed out again.
        batch.put(keys::commit_key(scn), commit_log::encode_entry(&entry));
        if let Err(e) = self.0.storage.write(batch, false).and_then(|()| then(scn)) {
            // The batch may or may not have reached the journal; publishing another commit
            // under the same SCN could then corrupt history. Refuse further writes.
            self.0.poisoned.store(true, Ordering::SeqCst);
            lock(&self.0.pipeline).failed = true;
            return Err(e);
        }
        let mut p = lock(&self.0.pipeline);
        p.assigned = scn;
        p.last_time = time_us;
        p.pending.push_back((scn, entry));
        Ok(CommitInfo { scn, txid, time_us })
    }

    /// Refuses every further write until the database is reopened: storage may hold writes
    /// that only the recovery on open can put right (heads a rolled-back transaction wrote
    /// for an SCN the next commit would take, see [`direct`]).
    pub(crate) fn poison(&self) {
        self.0.poisoned.store(true, Ordering::SeqCst);
        lock(&self.0.pipeline).failed = true;
    }

    /// Waits until commit `scn` is durable (syncing for everyone waiting, if nobody is) and
    /// published to readers.
    pub(crate) fn await_durable(&self, scn: u64) -> Result<()> {
        let mut p = lock(&self.0.pipeline);
        loop {
            if p.pending.front().is_none_or(|&(s, _)| s > scn) {
                return if p.failed && p.assigned >= scn && read(&self.0.index).latest() < scn {
                    Err(Error::Storage("commit could not be made durable".into()))
                } else {
                    Ok(())
                };
            }
            if p.failed {
                return Err(Error::Storage(
                    "an earlier commit failed to reach storage; reopen the database".into(),
                ));
            }
            if p.syncing {
                p = self
                    .0
                    .pipeline_cv
                    .wait(p)
                    .unwrap_or_else(|e| e.into_inner());
                continue;
            }
            p.syncing = true;
            let target = p.assigned;
            drop(p);
            let synced = if self.0.options.durable {
                self.0.storage.sync()
            } else {
                Ok(())
            };
            p = lock(&self.0.pipeline);
            p.syncing = false;
            match synced {
                Ok(()) => {
                    let mut ix = write(&self.0.index);
                    let mut published = 0u64;
                    while let Some(&(s, e)) = p.pending.front() {
                        if s > target {
                            break;
                        }
                        ix.push(s, e);
                        p.pending.pop_front();
                        published += 1;
                    }
                    drop(ix);
                    let n = self
                        .0
                        .commits_since_gc
                        .fetch_add(published, Ordering::Relaxed)
                        + published;
                    if !self.0.options.time_travel || n >= gc::COMMITS_PER_WAKEUP {
                        self.wake_gc();
                    }
                }
                Err(e) => {
                    p.failed = true;
                    self.0.poisoned.store(true, Ordering::SeqCst);
                    self.0.pipeline_cv.notify_all();
                    return Err(e);
                }
            }
            self.0.pipeline_cv.notify_all();
        }
    }

    /// Persists the transaction-id counter without a commit (after a rollback), so ids handed
    /// out are not handed out again after a restart.
    pub(crate) fn persist_txid_counter(&self) {
        let mut b = WriteBatch::new();
        b.put(
            keys::meta_key(b"next_txid"),
            self.next_txid().to_be_bytes().to_vec(),
        );
        // Best effort: losing this only matters if the process also crashes before the next
        // commit, and then no id handed out was ever visible in any commit.
        let _ = self.0.storage.write(b, false);
    }

    fn wake_gc(&self) {
        self.0.gc_signal.1.notify_one();
    }

    /// The retention rule in force.
    pub fn retention(&self) -> Retention {
        read(&self.0.retention).clone()
    }

    /// Changes the retention rule at run time.
    pub fn set_retention(&self, r: Retention) {
        *write(&self.0.retention) = r;
    }

    /// Runs garbage collection now, returning what it removed.
    pub fn gc(&self) -> Result<GcReport> {
        gc::run(self)
    }

    /// What every GC run since this database was opened removed, background runs included
    /// (monitoring: the server exports it as metrics).
    pub fn gc_totals(&self) -> gc::GcTotals {
        *lock(&self.0.gc_totals)
    }

    /// Makes all commits durable (useful when `durable` is off).
    pub fn sync(&self) -> Result<()> {
        self.0.storage.sync()
    }

    /// Makes all commits durable and flushes the storage engine's write buffers.
    pub fn checkpoint(&self) -> Result<()> {
        // Packs first, so their pages go to sorted files with everything else.
        pack::maintain(self)?;
        self.0.storage.checkpoint()
    }

    /// Builds, replaces and trims the packed read copies of large tables now (the background
    /// thread and checkpoints do it too).
    pub fn maintain_packs(&self) -> Result<pack::PackReport> {
        pack::maintain(self)
    }
}

impl Inner {
    /// The newest published SCN: every write of the commits up to it is in storage.
    pub(crate) fn published(&self) -> u64 {
        read(&self.index).latest()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        *lock(&self.gc_signal.0) = true;
        self.gc_signal.1.notify_all();
        // A clean close flushes the storage engine's buffers, so the next open reads the
        // commit log from data files instead of replaying the journal.
        if !self.poisoned.load(Ordering::SeqCst) {
            if let Err(e) = self.storage.checkpoint() {
                tracing::warn!(error = %e, "checkpoint on close failed");
            }
        }
    }
}

fn read_u64_meta(storage: &dyn Storage, name: &[u8]) -> Result<Option<u64>> {
    match storage.get(&keys::meta_key(name))? {
        None => Ok(None),
        Some(v) => {
            let b: [u8; 8] = v[..].try_into().map_err(|_| {
                Error::corruption(format!(
                    "metadata entry {} has the wrong length",
                    String::from_utf8_lossy(name)
                ))
            })?;
            Ok(Some(u64::from_be_bytes(b)))
        }
    }
}

/// Reads the newest `max_hot` commit records (older ones stay on disk, resolved on demand),
/// checking that they are consecutive, that their times increase, and that the record of the
/// horizon is there.
fn recover_commit_log(
    storage: &dyn Storage,
    horizon: u64,
    max_hot: usize,
) -> Result<(u64, VecDeque<CommitEntry>)> {
    let mut rev: Vec<(u64, CommitEntry)> = Vec::new();
    for kv in storage.scan(prefix_range(&[keys::COMMIT_LOG]), Direction::Reverse) {
        let (k, v) = kv?;
        let scn = keys::number_after_tag(&k)
            .ok_or_else(|| Error::corruption("malformed commit record key"))?;
        if scn < horizon {
            // Left over from a GC interrupted before it removed the record; unreadable anyway.
            break;
        }
        rev.push((scn, commit_log::decode_entry(&v)?));
        if rev.len() >= max_hot {
            break;
        }
    }
    rev.reverse();
    for w in rev.windows(2) {
        let ((a, ea), (b, eb)) = (&w[0], &w[1]);
        if *b != a + 1 {
            return Err(Error::corruption(format!(
                "commit history has a gap: expected SCN {}, found {b}",
                a + 1
            )));
        }
        if eb.time_us <= ea.time_us || eb.txid <= ea.txid {
            return Err(Error::corruption(format!(
                "commit times or transaction ids are not increasing at SCN {b}"
            )));
        }
    }
    match rev.first() {
        Some(&(first, _)) => {
            if horizon > 0 && first > horizon && storage.get(&keys::commit_key(horizon))?.is_none()
            {
                return Err(Error::corruption(format!(
                    "the commit record of the horizon (SCN {horizon}) is missing"
                )));
            }
            if horizon > 0 && first < horizon {
                return Err(Error::corruption("commit history starts below the horizon"));
            }
            Ok((first, rev.into_iter().map(|(_, e)| e).collect()))
        }
        None => Ok((horizon.max(1), VecDeque::new())),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod head_capture_tests;
#[cfg(test)]
mod pack_tests;
#[cfg(test)]
mod past_tests;
#[cfg(test)]
mod spill_tests;
#[cfg(test)]
mod write_set_tests;
