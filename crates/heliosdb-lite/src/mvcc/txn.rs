//! Transactions: a pinned snapshot plus a private write set, published atomically on commit.
//!
//! The write set, the undo log and the heads cached under the write lock live in memory up to
//! `MvccOptions::txn_memory_bytes`; past it they move to the transaction's private range in
//! storage ([`super::spill`]) and the commit is applied from there
//! ([`super::spill_commit`]). Reads lay the in-memory writes over the spilled ones over the
//! snapshot, so a transaction sees the same thing either way.

use super::ahead::{self, Ahead};
use super::counters;
use super::direct;
use super::gc::{push_work_item, GcKind};
use super::key_filter::KeyFilter;
use super::merge::{MergeIter, Overlay, PendingIter, TxnScan};
use super::read_heads::ReadHeads;
use super::rewrite_reads::RewriteReads;
use super::spill::{self, Undo};
use super::spill_commit::{self, stage_version};
use super::view::AscendingHeads;
use super::write_set::{bounds_empty, Slot, WriteSet};
use super::{keys, view, CommitInfo, Mvcc, Pin, WriteLock};
use crate::error::{Error, Result};
use crate::storage::{Bytes, Direction, KeyRange, KvPair};
use std::borrow::Cow;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What an entry of the write set or of the head cache holds beyond its bytes (the map node's
/// share, two vector headers): an estimate, as the budget only needs the order of magnitude.
const ENTRY_OVERHEAD: usize = 64;

/// A pending version in the write set.
#[derive(Debug)]
pub(super) struct Pending {
    /// The new data; `None` for a deletion.
    pub value: Option<Vec<u8>>,
    /// The key is known to have no live committed version (no head, or a tombstone head), so
    /// the commit need not look up its head: it has nothing to move to the history. A
    /// property of the key, so it stays set when the transaction writes the key again.
    pub unversioned: bool,
}

impl Pending {
    fn new(value: Option<Vec<u8>>) -> Self {
        Pending {
            value,
            unversioned: false,
        }
    }

    /// True if the version may be written straight to its head before the commit (see
    /// [`super::direct`]): a live version of a key with no live committed version.
    fn goes_direct(&self) -> bool {
        self.unversioned && self.value.is_some()
    }
}

/// Where a spill or a spilled commit writes an entry of the write set.
enum Place {
    /// As a new head ([`super::direct`]).
    NewHead,
    /// Over this live committed head ([`super::overwrite`]).
    Over(Bytes),
    /// To the private range, with what was known of the committed head.
    Private(spill::KnownHead<Bytes>),
}

/// What [`Transaction::keep_scanned_head`] did with the committed head of the row a scan
/// just yielded.
#[derive(Debug)]
pub enum ScannedHead {
    /// Nothing to keep: the row was not read from its committed head under the write lock.
    NotRead,
    /// Kept for the commit.
    Kept,
    /// Not kept, the heads kept being at their budget: the caller carries it with the row
    /// and hands it back with [`Transaction::keep_head_for_write`] before writing the row.
    Carry(Bytes),
}

/// When a transaction takes the write lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnMode {
    /// At its first write (SQL `BEGIN` / `BEGIN DEFERRED`).
    Deferred,
    /// Immediately (SQL `BEGIN IMMEDIATE`; used for autocommit writes).
    Immediate,
    /// Never: writes fail.
    ReadOnly,
}

/// Marks a point a transaction can roll back to (statement-level atomicity): the number of
/// undo entries written before it, stored ones included.
#[derive(Debug, Clone, Copy)]
pub struct Savepoint(u64);

/// A transaction. Reads see the pinned snapshot plus the transaction's own writes. Dropping
/// an uncommitted transaction rolls it back.
pub struct Transaction {
    mvcc: Mvcc,
    pin: Pin,
    mode: TxnMode,
    writes: WriteSet,
    meta: BTreeMap<Vec<u8>, Vec<u8>>,
    gc_ranges: Vec<Vec<u8>>,
    undo: Vec<Undo>,
    /// How many entries of `undo` are [`Undo::Appended`]: they stand, in order, for the last
    /// keys of the write set's run of appended keys.
    appended_undo: usize,
    txid: Option<u64>,
    lock: Option<WriteLock>,
    has_read: AtomicBool,
    /// Head values of keys read while holding the write lock (then the snapshot is the newest
    /// commit and stays so until this commit): saves the commit a lookup per written key.
    newest: std::cell::RefCell<ReadHeads>,
    /// Scans under the write lock leave the last row they read from its head here while
    /// [`Transaction::capture_scanned_heads`] is on, for [`Transaction::keep_scanned_head`].
    scanned_head: view::HeadSlot,
    /// Whether scans capture their heads.
    capturing: Cell<bool>,
    /// Whether point reads are of rows about to be rewritten
    /// ([`Transaction::reading_rows_to_replace`]).
    replacing: Cell<bool>,
    /// How those reads are served: by point reads, or by a walk over keys read in order.
    rewrites: std::cell::RefCell<RewriteReads>,
    /// Estimated bytes of `writes` and `undo`.
    pending_bytes: usize,
    /// The write set has spilled: some pending versions are in the private range.
    spilled: bool,
    /// Undo entries stored in the private range (they precede those in `undo`), or, in a
    /// transaction that keeps no undo log, dropped: savepoints count them all the same.
    undo_stored: u64,
    /// False once [`Transaction::forgo_partial_rollback`] said the transaction ends whole:
    /// its writes then record no undo entries, in memory or stored.
    keeps_undo: bool,
    /// The keys spilled: most keys never spilled skip the lookup in the private range.
    spilled_keys: KeyFilter,
    /// Why the transaction can no longer commit (its private range could not be brought
    /// back to a savepoint).
    broken: Option<String>,
    /// The SCN of the heads this transaction wrote directly at its spills
    /// ([`super::direct`]): the one its commit will take. Its own reads are at this SCN.
    direct_scn: Option<u64>,
    /// Number of the next record of direct heads.
    direct_seq: u64,
    /// Direct heads written and not taken back (an upper bound): with none, the commit
    /// need not go through the private range.
    direct_live: u64,
    /// Changes to the row counts made by the direct heads, by count group.
    direct_deltas: rustc_hash::FxHashMap<Vec<u8>, i64>,
    /// Changes with every write under the watched prefix and every rollback to a savepoint.
    generation: u64,
    /// What a layer above derived from the watched keys, and the generation it was derived
    /// at (see [`Transaction::derived`]).
    derived: std::cell::RefCell<Option<(u64, Arc<dyn std::any::Any + Send + Sync>)>>,
    /// The helper writing new rows ahead of the commit ([`super::ahead`]).
    ahead: std::cell::RefCell<Ahead>,
    /// The write set is not looked at for a hand-over before it holds this many keys (more
    /// than it kept at the last look, so that keys that cannot be handed over are not
    /// counted again and again).
    ahead_after: usize,
    /// How long taking the write lock may wait for another transaction.
    busy_timeout: std::time::Duration,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("scn", &self.pin.scn)
            .field("txid", &self.txid)
            .field("writes", &self.writes.len())
            .finish_non_exhaustive()
    }
}

impl Transaction {
    pub(super) fn begin(
        mvcc: Mvcc,
        mode: TxnMode,
        busy_timeout: Option<std::time::Duration>,
    ) -> Result<Self> {
        let busy_timeout = busy_timeout.unwrap_or(mvcc.0.options.busy_timeout);
        let lock = match mode {
            TxnMode::Immediate => Some(mvcc.acquire_write_lock(busy_timeout)?),
            _ => None,
        };
        // Pin after locking so an immediate transaction's snapshot is the newest commit
        // (written, perhaps not yet durable: its own commit will be acknowledged after it).
        let pin = if lock.is_some() {
            mvcc.pin_assigned()
        } else {
            mvcc.pin_latest()
        };
        let mut t = Self {
            mvcc,
            pin,
            mode,
            writes: WriteSet::default(),
            meta: BTreeMap::new(),
            gc_ranges: Vec::new(),
            undo: Vec::new(),
            appended_undo: 0,
            txid: None,
            lock,
            has_read: AtomicBool::new(false),
            newest: Default::default(),
            scanned_head: Default::default(),
            capturing: Cell::new(false),
            replacing: Cell::new(false),
            rewrites: Default::default(),
            pending_bytes: 0,
            spilled: false,
            undo_stored: 0,
            keeps_undo: true,
            spilled_keys: KeyFilter::new(0, None),
            broken: None,
            direct_scn: None,
            direct_seq: 0,
            direct_live: 0,
            direct_deltas: Default::default(),
            generation: 0,
            derived: Default::default(),
            ahead: Default::default(),
            ahead_after: 0,
            busy_timeout,
        };
        // A quarter of the budget at most: past it the filter answers "maybe" for every key.
        t.spilled_keys = KeyFilter::new(
            t.mvcc.0.options.txn_memory_bytes / 4,
            t.mvcc.0.options.count_group,
        );
        if t.lock.is_some() {
            t.txid = Some(t.mvcc.allocate_txid());
        }
        Ok(t)
    }

    /// The SCN this transaction reads at.
    pub fn snapshot_scn(&self) -> u64 {
        self.pin.scn
    }

    /// The SCN the transaction's base reads use: its snapshot, or, once it wrote heads
    /// directly, the SCN they carry. Those are the same data plus its own heads: holding the
    /// write lock, the snapshot is the newest commit and the direct heads' SCN the next.
    fn read_scn(&self) -> u64 {
        self.direct_scn.unwrap_or(self.pin.scn)
    }

    /// True if `key` may have a head this transaction wrote directly (errors say yes).
    fn may_have_direct_head(&self, key: &[u8]) -> bool {
        match self.direct_scn {
            Some(scn) if self.spilled_keys.may_contain(key) => {
                self.wait_for(key).is_err()
                    || !matches!(direct::own_head(self.storage(), key, scn), Ok(None))
            }
            _ => false,
        }
    }

    /// The SCN of the heads this transaction writes directly: the one its commit will take,
    /// fixed at its first such write (it holds the write lock, so no other commit takes it).
    fn take_direct_scn(&mut self) -> u64 {
        *self
            .direct_scn
            .get_or_insert_with(|| self.mvcc.assigned_scn() + 1)
    }

    /// Waits for the helper writing rows ahead if it is writing `key`.
    fn wait_for(&self, key: &[u8]) -> Result<()> {
        let mut ahead = self.ahead.borrow_mut();
        if ahead.writes_key(key) {
            ahead.settle()?;
        }
        Ok(())
    }

    /// Waits for the helper writing rows ahead, if one runs (before anything else that reads
    /// or writes the transaction's storage).
    fn settle(&self) -> Result<()> {
        self.ahead.borrow_mut().settle()
    }

    /// The transaction id, once the transaction has written.
    pub fn txid(&self) -> Option<u64> {
        self.txid
    }

    /// True if the transaction has buffered writes.
    pub fn has_writes(&self) -> bool {
        !self.writes.is_empty() || !self.gc_ranges.is_empty() || self.spilled
    }

    /// True once the write set has spilled to storage (for tests and diagnostics).
    pub fn has_spilled(&self) -> bool {
        self.spilled
    }

    fn storage(&self) -> &dyn crate::storage::Storage {
        &*self.mvcc.0.storage
    }

    /// The transaction's spilled pending version of `key`, if it has spilled one.
    fn spilled_version(&self, key: &[u8]) -> Result<Option<Option<Vec<u8>>>> {
        match self.txid.filter(|_| self.spilled) {
            Some(txid) if self.spilled_keys.may_contain(key) => {
                self.wait_for(key)?;
                spill::get(self.storage(), txid, key)
            }
            _ => Ok(None),
        }
    }

    /// The engine this transaction belongs to.
    pub fn mvcc(&self) -> &Mvcc {
        &self.mvcc
    }

    /// Takes the write lock if not yet held. Fails if another writer committed after this
    /// transaction started reading (its reads would be stale).
    pub fn ensure_writable(&mut self) -> Result<()> {
        if self.lock.is_some() {
            return Ok(());
        }
        if self.mode == TxnMode::ReadOnly {
            return Err(Error::Transaction(
                "cannot write in a read-only transaction".into(),
            ));
        }
        let lock = self.mvcc.acquire_write_lock(self.busy_timeout)?;
        let latest = self.mvcc.assigned_scn();
        if latest != self.pin.scn {
            if self.has_read.load(Ordering::Relaxed) {
                return Err(Error::Busy(format!(
                    "another transaction committed (SCN {latest}) after this transaction read \
                     at SCN {}; roll back and retry (use BEGIN IMMEDIATE to avoid this)",
                    self.pin.scn
                )));
            }
            self.pin = self.mvcc.pin_assigned();
            // A newer snapshot may hold another catalog.
            self.generation += 1;
        }
        self.lock = Some(lock);
        self.txid = Some(self.mvcc.allocate_txid());
        Ok(())
    }

    fn note_read(&self) {
        if self.lock.is_none() {
            self.has_read.store(true, Ordering::Relaxed);
        }
    }

    /// Reads a logical key.
    pub fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.note_read();
        if let Some(p) = self.writes.get(key) {
            return Ok(p.value.as_deref().map(Bytes::from));
        }
        if let Some(v) = self.spilled_version(key)? {
            return Ok(v.map(Bytes::from));
        }
        let storage = &*self.mvcc.0.storage;
        if self.lock.is_none() {
            return view::read_at(storage, key, self.pin.scn);
        }
        let head = match self.replacing.get() {
            // Its own heads written (`direct_scn` set), a walk opened before could miss them.
            true => self.rewrites.borrow_mut().head(
                &self.mvcc.0.storage,
                key,
                self.direct_scn.is_none(),
            )?,
            false => view::head(storage, key)?,
        };
        self.cache_head(key.to_vec(), head.clone());
        view::resolve_with_head(storage, key, head, self.read_scn())
    }

    /// Remembers a head read under the write lock, within the memory budget: past it the
    /// cache starts over (it only saves lookups; the commit reads what it lacks).
    fn cache_head(&self, key: Vec<u8>, head: Option<Bytes>) {
        let budget = self.heads_budget();
        self.newest.borrow_mut().insert(key, head, budget);
    }

    /// The bytes the heads read under the write lock may take.
    fn heads_budget(&self) -> usize {
        self.mvcc.0.options.txn_memory_bytes / 2
    }

    /// Iterates live logical keys in `range`, own writes included.
    pub fn scan(
        &self,
        range: KeyRange,
        direction: Direction,
    ) -> impl Iterator<Item = Result<KvPair>> + '_ {
        self.note_read();
        // The own-write iterator borrows the write set: nothing is copied up front, so a
        // scan inside a large transaction costs what it reads.
        let no_memory = range_is_empty(&range) || self.writes.is_empty();
        let spilled = self.txid.is_some() && self.spilled && !range_is_empty(&range);
        if self.ahead.borrow().writes_in(&range) {
            if let Err(e) = self.settle() {
                return TxnScan::Failed(Some(e));
            }
        }
        if no_memory && !spilled {
            return TxnScan::Snapshot(self.base_scan(&range, direction));
        }
        let memory: PendingIter<'_> = if no_memory {
            Box::new(std::iter::empty())
        } else {
            let r = self
                .writes
                .range(bound_slice(&range.0), bound_slice(&range.1))
                .map(|(k, p)| {
                    Ok((
                        Cow::Borrowed(k.as_slice()),
                        p.value.as_deref().map(Cow::Borrowed),
                    ))
                });
            match direction {
                Direction::Forward => Box::new(r),
                Direction::Reverse => Box::new(r.rev()),
            }
        };
        let storage = &*self.mvcc.0.storage;
        let own = match self
            .txid
            .filter(|_| self.spilled && !range_is_empty(&range))
        {
            None => memory,
            Some(txid) => {
                let spilled: PendingIter<'_> = Box::new(
                    spill::scan(storage, txid, &range, direction)
                        .map(|r| r.map(|(k, v)| (Cow::Owned(k), v.map(Cow::Owned)))),
                );
                Box::new(Overlay {
                    top: memory.peekable(),
                    bottom: spilled.peekable(),
                    direction,
                })
            }
        };
        let base = self.base_scan(&range, direction);
        TxnScan::Merged(Box::new(MergeIter {
            base: base.peekable(),
            own: own.peekable(),
            direction,
        }))
    }

    /// The committed rows of `range` at the snapshot; while capturing under the write lock,
    /// the scan leaves the heads it reads in `scanned_head`.
    fn base_scan(&self, range: &KeyRange, direction: Direction) -> view::VisibleIter<'_> {
        let mut base = match self.direct_scn {
            // The change logs name the heads written directly only from the commit on.
            Some(scn) => view::VisibleIter::heads(&self.mvcc.0, range, scn, direction),
            None => view::VisibleIter::new(&self.mvcc.0, range, self.pin.scn, direction),
        };
        if self.capturing.get() && self.lock.is_some() {
            base.capture_heads(&self.scanned_head);
        }
        base
    }

    /// Reads of rows to replace that a kept walk served ([`super::rewrite_reads`]), for tests.
    #[cfg(test)]
    pub(super) fn rewrite_reads_walked(&self) -> u64 {
        self.rewrites.borrow().walked
    }

    /// Runs `read`, whose point reads are of rows this transaction is about to rewrite (an
    /// UPDATE or DELETE finding its row by key): the store need not keep their values in a
    /// cache of recent reads, which the commit's writes would empty again (see
    /// [`crate::storage::Storage::get_to_replace`]). Read in ascending key order, they are
    /// served by one forward walk the transaction keeps ([`super::rewrite_reads`]).
    pub fn reading_rows_to_replace<T>(&self, read: impl FnOnce() -> T) -> T {
        /// Sets the flag back however `read` ends (a panic caught above included).
        struct Restore<'a>(&'a Cell<bool>, bool);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.set(self.1);
            }
        }
        let _restore = Restore(&self.replacing, self.replacing.replace(true));
        read()
    }

    /// Turns on or off the capture of heads by this transaction's scans, for
    /// [`Transaction::keep_scanned_head`]: a statement turns it on while it gathers the rows
    /// it is about to change. Costs a reference count per row scanned while on.
    pub fn capture_scanned_heads(&self, on: bool) {
        self.capturing.set(on);
        if !on {
            self.scanned_head.borrow_mut().take();
        }
    }

    /// Tells the transaction that the row a scan just yielded is about to be written, its
    /// key being what `logical` builds: if that row was read from its committed head under
    /// the write lock (the last one a capturing scan read, checked by key), the head is kept
    /// for the commit, which then need not look it up again. Past the memory the kept heads
    /// may take, the head is returned instead: the caller carries it with the row (spilling
    /// with it) and hands it back with [`Transaction::keep_head_for_write`] just before it
    /// writes the row.
    ///
    /// Holding the write lock makes this exact: the snapshot is the newest commit and stays
    /// so until this transaction commits, so the head read is the one the commit supersedes,
    /// whatever this transaction writes meanwhile (its own writes never reach the heads
    /// before its commit). A row yielded from the transaction's own writes, from the history
    /// or through a pack, or any other row read after it, leaves no matching head, and the
    /// commit looks the key up as before.
    pub fn keep_scanned_head(&self, logical: impl FnOnce() -> Vec<u8>) -> ScannedHead {
        if self.lock.is_none() || self.scanned_head.borrow().is_none() {
            return ScannedHead::NotRead;
        }
        let logical = logical();
        let head = match self.scanned_head.borrow_mut().take() {
            Some((key, head)) if key[..] == logical[..] => head,
            _ => return ScannedHead::NotRead,
        };
        let budget = self.heads_budget();
        match self.newest.borrow_mut().keep(logical, head, budget) {
            Some(head) => ScannedHead::Carry(head),
            None => ScannedHead::Kept,
        }
    }

    /// Takes back a head [`Transaction::keep_scanned_head`] returned, for the row of key
    /// `logical` about to be written: kept past the heads' own budget (the write set's
    /// budget counts it, and a spill takes it into the row's pending version).
    pub fn keep_head_for_write(&self, logical: Vec<u8>, head: Bytes) {
        if self.lock.is_some() {
            let limit = self.mvcc.0.options.txn_memory_bytes;
            self.newest
                .borrow_mut()
                .keep_for_write(logical, head, limit);
        }
    }

    /// True if `key` was read under the write lock and has no live committed version (no head,
    /// or a tombstone head), or was written by [`Transaction::put_unversioned`].
    pub fn known_unversioned(&self, key: &[u8]) -> bool {
        self.writes.get(key).is_some_and(|p| p.unversioned) || self.head_read_dead(key)
    }

    /// True if the committed head of `key` was read under the write lock (since the last
    /// spill or hand-over, which forget what was read) and holds no live version.
    fn head_read_dead(&self, key: &[u8]) -> bool {
        self.newest.borrow().read_dead(key)
    }

    /// Sets a logical key.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        self.write(key, Some(value))
    }

    /// Sets a logical key that the caller derived, from what it read under the write lock,
    /// to have no live committed version (a rowid beyond every one in use, or an index entry
    /// of such a row), so the commit need not look up its head: there is nothing to move to
    /// the history, and a tombstone head is simply replaced. The assumption is kept in the
    /// write set's entry. Returns whether the key is known to have no live committed
    /// version.
    ///
    /// A key this transaction already wrote keeps what was known of it and gains nothing:
    /// the caller's view includes those writes, so "no live row" may only mean "deleted
    /// here", while the committed head still holds a version the history must keep (a range
    /// DELETE followed by an INSERT of a rowid above the remaining ones lost that version).
    /// Without the write lock, or for a key that may have spilled, nothing is assumed.
    pub fn put_unversioned(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<bool> {
        self.ensure_writable()?;
        self.check_usable()?;
        self.note_write(&key);
        let size = key.len() + value.len() + ENTRY_OVERHEAD;
        // A spilled write counts as written; if the private range cannot be read, assume
        // nothing. The filter answers for most keys (every new row of an import) at once.
        let assumable = self.lock.is_some()
            && (!self.spilled_keys.may_contain(&key)
                || (matches!(self.spilled_version(&key), Ok(None))
                    && !self.may_have_direct_head(&key)));
        let pending = |value| Pending {
            value: Some(value),
            unversioned: assumable,
        };
        // One search of the write set for both the lookup and the insertion (index entries,
        // whose keys come in no order, go to its map).
        let (undo, known) = match self.writes.slot(key) {
            Slot::InRun(key, p) => {
                let prev = p.value.replace(value);
                (Undo::Write(key, Some(prev)), p.unversioned)
            }
            Slot::Occupied(mut e) => {
                let p = e.get_mut();
                let prev = p.value.replace(value);
                let known = p.unversioned;
                (Undo::Write(e.key().clone(), Some(prev)), known)
            }
            Slot::Vacant(v) => {
                let undo = Undo::Write(v.key().clone(), None);
                v.insert(pending(value));
                self.pending_bytes += size;
                (undo, assumable)
            }
            Slot::New(key) => {
                self.pending_bytes += size;
                (self.insert_new(key, pending(value)), assumable)
            }
        };
        self.push_undo(undo)?;
        Ok(known)
    }

    /// Writes keys that no snapshot can hold a version of (the entries of an index created in
    /// this transaction: object ids are never reused), given in ascending order, straight to
    /// their heads at the SCN the commit will take, in large batches: no write set, no undo
    /// entry per key, no private copy, no head lookup (see [`super::direct`]). Snapshots do
    /// not see them before the commit, a rollback (of the transaction or to a savepoint taken
    /// before) takes them back, and the next open does if the transaction never committed.
    /// An error entry stops the writing and is returned; the caller rolls the statement
    /// back. Returns the number of keys written.
    ///
    /// With `under` (the key range of an index created in this transaction), every key
    /// starts with that prefix: one record then names the range instead of a list of every
    /// key (a key outside it is an error entry); see [`direct::write_heads_under`].
    pub fn put_new_sorted<K: AsRef<[u8]>, D: AsRef<[u8]>>(
        &mut self,
        under: Option<&[u8]>,
        entries: impl Iterator<Item = Result<(K, D)>>,
    ) -> Result<u64> {
        self.ensure_writable()?;
        self.check_usable()?;
        let Some(txid) = self.txid else {
            return Err(Error::Transaction("a writing transaction has no id".into()));
        };
        // Stored undo records follow the in-memory ones: those go to storage first.
        self.spill()?;
        let mvcc = self.mvcc.clone();
        let storage = &*mvcc.0.storage;
        if self.keeps_undo {
            spill::push_undo(
                storage,
                txid,
                self.undo_stored,
                &[Undo::Direct(self.direct_seq)],
            )?;
        }
        self.undo_stored += 1;
        // The watched keys (the catalog) are not new; a derived view is rebuilt anyway.
        self.generation += 1;
        let scn = self.take_direct_scn();
        let group = mvcc.0.options.count_group;
        let mut seq = self.direct_seq;
        let mut n = 0u64;
        let deltas = &mut self.direct_deltas;
        let ingest_min = mvcc.0.options.ingest_min_keys;
        let count = |k: &[u8]| {
            n += 1;
            if let Some(group) = group {
                counters::add_delta(group, k, false, true, deltas);
            }
        };
        let written = match under {
            Some(prefix) => direct::write_heads_under(
                storage,
                (txid, &mut seq),
                scn,
                ingest_min,
                prefix,
                entries,
                count,
            ),
            None => direct::write_heads(storage, (txid, &mut seq), scn, ingest_min, entries, count),
        };
        self.direct_seq = seq;
        self.direct_live += n;
        written.map(|()| n)
    }

    /// The bytes of writes this transaction holds in memory before it spills them
    /// (`[database] txn_memory_mb`).
    pub fn write_budget(&self) -> usize {
        self.mvcc.0.options.txn_memory_bytes
    }

    /// Deletes a logical key.
    pub fn delete(&mut self, key: Vec<u8>) -> Result<()> {
        self.write(key, None)
    }

    fn write(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) -> Result<()> {
        self.ensure_writable()?;
        self.check_usable()?;
        self.note_write(&key);
        let size = key.len() + value.as_ref().map_or(0, Vec::len) + ENTRY_OVERHEAD;
        let undo = match self.writes.get_mut(&key) {
            Some(p) => Undo::Write(key, Some(std::mem::replace(&mut p.value, value))),
            None => {
                self.pending_bytes += size;
                // A new key whose head was just read dead (an INSERT's uniqueness check) is
                // as new as one `put_unversioned` writes: its commit need not read the head
                // again, and it may be written ahead or directly.
                let pending = Pending {
                    value,
                    unversioned: self.lock.is_some() && self.head_read_dead(&key),
                };
                self.insert_new(key, pending)
            }
        };
        self.push_undo(undo)
    }

    /// Adds a key the write set does not hold; returns its undo entry. "Not in memory" is
    /// what the entry restores: a spilled version below shows through again when it is
    /// undone (it cannot change before the next spill, which looks it up for the undo
    /// entries it stores). A key appended to the run of ascending keys is undone by
    /// position, without a copy of the key.
    fn insert_new(&mut self, key: Vec<u8>, pending: Pending) -> Undo {
        let Err((key, pending)) = self.writes.try_append(key, pending) else {
            self.appended_undo += 1;
            return Undo::Appended;
        };
        if self.writes.splits_run(&key) {
            // The run moves into the map: its keys can no longer be undone by position.
            self.name_appended_undo();
            self.writes.merge_run();
        }
        let undo = Undo::Write(key.clone(), None);
        self.writes.insert_new(key, pending);
        undo
    }

    /// Gives each [`Undo::Appended`] entry its key again (before keys leave the run, or the
    /// undo log goes to storage). The entries stand, in order, for the run's last keys.
    fn name_appended_undo(&mut self) {
        if self.appended_undo == 0 {
            return;
        }
        let mut keys = self.writes.run_keys().rev();
        for u in self.undo.iter_mut().rev() {
            if matches!(u, Undo::Appended) {
                match keys.next() {
                    Some(k) => *u = Undo::Write(k.clone(), None),
                    None => break,
                }
            }
        }
        self.appended_undo = 0;
    }

    /// Moves the generation on for a write of a watched key.
    fn note_write(&mut self, key: &[u8]) {
        if self
            .mvcc
            .0
            .options
            .watched_prefix
            .is_none_or(|p| key.starts_with(p))
        {
            self.generation += 1;
        }
    }

    /// What a layer above derived from the watched keys as this transaction sees them (its
    /// own writes included), if it was stored by [`Transaction::set_derived`] as a `T` and
    /// no watched key was written, nor a savepoint rolled back to, since. The SQL layer keeps
    /// the schema of a transaction that changed the catalog here, so that each statement
    /// does not read and parse every catalog entry again.
    pub fn derived<T: std::any::Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let d = self.derived.borrow();
        let (generation, value) = d.as_ref()?;
        if *generation != self.generation {
            return None;
        }
        value.clone().downcast::<T>().ok()
    }

    /// Stores what was derived from the watched keys at the current generation.
    pub fn set_derived<T: std::any::Any + Send + Sync>(&self, value: Arc<T>) {
        *self.derived.borrow_mut() = Some((self.generation, value));
    }

    fn push_undo(&mut self, u: Undo) -> Result<()> {
        if self.keeps_undo {
            self.pending_bytes += u.footprint();
            self.undo.push(u);
        } else {
            if matches!(u, Undo::Appended) {
                self.appended_undo = self.appended_undo.saturating_sub(1);
            }
            self.undo_stored += 1;
        }
        let held = self.pending_bytes + self.newest.borrow().bytes() + self.spilled_keys.bytes();
        if held > self.mvcc.0.options.txn_memory_bytes {
            self.spill()?;
        }
        Ok(())
    }

    fn check_usable(&self) -> Result<()> {
        self.ahead.borrow_mut().report()?;
        match &self.broken {
            Some(why) => Err(Error::Transaction(format!(
                "this transaction can only be rolled back: {why}"
            ))),
            None => Ok(()),
        }
    }

    /// True if the committed head of `key` is known to hold no live version.
    fn head_known_dead(&self, key: &[u8]) -> bool {
        self.known_unversioned(key)
    }

    /// What this transaction knows of the committed head of `key`, for the pending version a
    /// spill writes: a live head it read under the write lock is taken out of the cache
    /// into the record, so the commit need not read it again (keys asked in ascending order).
    fn known_head(&self, key: &[u8]) -> spill::KnownHead<Bytes> {
        if self.head_known_dead(key) {
            return spill::KnownHead::Dead;
        }
        match self.newest.borrow_mut().take_ascending(key) {
            Some(Some(head)) => spill::KnownHead::Live(head),
            _ => spill::KnownHead::Unknown,
        }
    }

    /// The write set as (key, data) pairs, in key order.
    fn pending_iter(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> + '_ {
        self.writes
            .iter()
            .map(|(k, p)| (k.as_slice(), p.value.as_deref()))
    }

    /// Moves the write set and the undo log to the private range. On failure nothing in
    /// memory is dropped, so the transaction's view is unchanged (see [`spill::write_set`]).
    fn spill(&mut self) -> Result<()> {
        let Some(txid) = self.txid else {
            return Ok(());
        };
        self.settle()?;
        self.rewrites.get_mut().release();
        let storage = self.mvcc.0.storage.clone();
        // Stored undo records name their keys.
        self.name_appended_undo();
        if self.spilled && self.keeps_undo {
            // Undo entries of keys first written since the last spill: what they replaced is
            // what the private range holds now, before this spill overwrites it.
            for u in &mut self.undo {
                if let Undo::Write(k, prev @ None) = u {
                    if self.spilled_keys.may_contain(k) {
                        *prev = spill::get(&*storage, txid, k)?;
                        // A head written directly is the key's pending version too.
                        if let (None, Some(scn)) = (&prev, self.direct_scn) {
                            if let Some(head) = direct::own_head(&*storage, k, scn)? {
                                *prev = Some(direct::head_data(&head)?);
                            }
                        }
                    }
                }
            }
        }
        // Which keys may be written over their heads is asked before they join the filter.
        let fresh = self.never_spilled();
        for k in self.writes.keys() {
            self.spilled_keys.insert(k);
        }
        spill::push_undo(&*storage, txid, self.undo_stored, &self.undo)?;
        self.store_write_set(txid, &fresh)?;
        self.spilled = true;
        self.undo_stored += self.undo.len() as u64;
        self.undo.clear();
        // The kept heads of keys after the last one written stay for the next spill or the
        // commit.
        let last = self.writes.iter().next_back().map(|(k, _)| k.clone());
        let budget = self.heads_budget();
        self.newest
            .borrow_mut()
            .keep_run_after(last.as_deref().unwrap_or_default(), budget);
        self.writes.clear();
        self.pending_bytes = 0;
        Ok(())
    }

    /// Which entries of the write set (in its order) the transaction never spilled, directly
    /// or to its private range: the keys that may be written over their committed heads (see
    /// [`super::overwrite`]). Empty without the write lock.
    fn never_spilled(&self) -> Vec<bool> {
        if self.lock.is_none() {
            return Vec::new();
        }
        self.writes
            .iter()
            .map(|(k, _)| !self.spilled_keys.may_contain(k))
            .collect()
    }

    /// Writes the write set to storage: new live keys as heads ([`super::direct`]), versions
    /// of keys in `fresh` (see [`Transaction::never_spilled`]) whose live committed head was
    /// read under the write lock over those heads ([`super::overwrite`]), the rest to the
    /// private range. If heads were written and something then fails, the transaction can
    /// only be rolled back (its view would no longer match what memory holds).
    fn store_write_set(&mut self, txid: u64, fresh: &[bool]) -> Result<()> {
        let storage = self.mvcc.0.storage.clone();
        let group = self.mvcc.0.options.count_group;
        // Where each entry goes, with what the transaction knew of its committed head.
        let next_scn = self
            .direct_scn
            .unwrap_or_else(|| self.mvcc.assigned_scn() + 1);
        let places: Vec<Place> = self
            .writes
            .iter()
            .enumerate()
            .map(|(i, (k, p))| {
                if p.goes_direct() {
                    return Place::NewHead;
                }
                let head = self.known_head(k);
                match head {
                    spill::KnownHead::Live(h)
                        if fresh.get(i) == Some(&true)
                            && k.first() != Some(&counters::COUNTER_TAG)
                            && keys::decode_version(&h)
                                .is_ok_and(|v| v.data.is_some() && v.begin < next_scn) =>
                    {
                        Place::Over(h)
                    }
                    head => Place::Private(head),
                }
            })
            .collect();
        let (new, over) = places.iter().fold((0u64, 0u64), |(n, o), p| match p {
            Place::NewHead => (n + 1, o),
            Place::Over(_) => (n, o + 1),
            Place::Private(_) => (n, o),
        });
        if new == 0 && over == 0 {
            let mut heads = places.into_iter();
            return spill::write_set(&*storage, txid, self.pending_iter(), |_| {
                match heads.next() {
                    Some(Place::Private(h)) => h,
                    _ => spill::KnownHead::Unknown,
                }
            });
        }
        let scn = self.take_direct_scn();
        let mut seq = self.direct_seq;
        let mut deltas = std::mem::take(&mut self.direct_deltas);
        let written = self.write_places(&*storage, txid, scn, places, &mut seq, |k, live| {
            if let Some(group) = group {
                counters::add_delta(group, k, true, live, &mut deltas);
            }
        });
        self.direct_deltas = deltas;
        self.direct_seq = seq;
        if let Err(e) = written {
            self.broken = Some(format!("writing its rows to storage failed: {e}"));
            return Err(e);
        }
        self.direct_live += new + over;
        if let Some(group) = group {
            for (k, p) in self.writes.iter() {
                if p.goes_direct() {
                    counters::add_delta(group, k, false, true, &mut self.direct_deltas);
                }
            }
        }
        Ok(())
    }

    /// Which entries of the write set (in its order) may be written directly to their heads:
    /// new live keys (see [`super::direct`]).
    fn direct_eligible(&self) -> impl Iterator<Item = bool> + '_ {
        self.writes.iter().map(|(_, p)| p.goes_direct())
    }

    /// True when the commit should write its new keys as sorted table files (see
    /// [`super::direct`]) instead of one batch through the memtable: the backend ingests, and
    /// thousands of the writes are new keys.
    fn commits_by_ingestion(&self) -> bool {
        // Four times a spill's threshold: the commit's batch is cheaper per key than a
        // spill's two writes, so the ingestion's fixed costs take more keys to pay back.
        let min = self.mvcc.0.options.ingest_min_keys.saturating_mul(4);
        if self.writes.len() < min || !self.mvcc.0.storage.ingests_sorted() {
            return false;
        }
        let direct = self.direct_eligible().filter(|&e| e).count();
        // The rest goes through the private range, written twice: only a small rest.
        direct >= min && self.writes.len() - direct <= direct / 4
    }

    /// The writes of [`Transaction::store_write_set`]: new keys as heads at `scn`, then the
    /// versions written over their heads, then the others to the private range.
    fn write_places(
        &self,
        storage: &dyn crate::storage::Storage,
        txid: u64,
        scn: u64,
        places: Vec<Place>,
        seq: &mut u64,
        counted: impl FnMut(&[u8], bool),
    ) -> Result<()> {
        // Pointers to the keys and values, so that runs of new keys can be named by
        // intervals (a spill holds at most the write-set budget's worth of keys).
        let heads: Vec<(&[u8], &[u8])> = self
            .writes
            .iter()
            .zip(&places)
            .filter(|(_, p)| matches!(p, Place::NewHead))
            .map(|((k, p), _)| (k.as_slice(), p.value.as_deref().unwrap_or(&[])))
            .collect();
        let ingest_min = self.mvcc.0.options.ingest_min_keys;
        direct::write_heads_in_runs(storage, (txid, &mut *seq), scn, ingest_min, &heads)?;
        let over = self
            .writes
            .iter()
            .zip(&places)
            .filter_map(|((k, p), place)| match place {
                Place::Over(h) => Some((k.as_slice(), p.value.as_deref(), h.as_ref())),
                _ => None,
            });
        super::overwrite::write_overwrites(
            storage,
            (txid, &mut *seq),
            scn,
            ingest_min,
            over,
            counted,
        )?;
        let mut rest_heads = places.iter().filter_map(|p| match p {
            Place::Private(h) => Some(h.as_bytes()),
            _ => None,
        });
        let rest = self
            .writes
            .iter()
            .zip(&places)
            .filter(|(_, p)| matches!(p, Place::Private(_)))
            .map(|((k, p), _)| (k.as_slice(), p.value.as_deref()));
        spill::write_set(storage, txid, rest, |_| {
            rest_heads.next().unwrap_or(spill::KnownHead::Unknown)
        })
    }

    /// Starts counting the live keys of the group `prefix` (see [`super::counters`]). Call it
    /// when the group is created, empty: the count starts at zero, and every later commit,
    /// this one included, keeps it.
    pub fn start_counting(&mut self, prefix: &[u8]) -> Result<()> {
        if self.mvcc.0.options.count_group.is_none() {
            return Ok(());
        }
        self.put(counters::counter_key(prefix), counters::encode_count(0))
    }

    /// The number of live keys of the group `prefix` this transaction sees, when a counter
    /// answers it: `None` if the group has no counter, or if this transaction wrote under
    /// the prefix (its own changes are counted only when it commits).
    pub fn live_count(&self, prefix: &[u8]) -> Result<Option<i64>> {
        if self.mvcc.0.options.count_group.is_none() {
            return Ok(None);
        }
        let range = crate::storage::prefix_range(prefix);
        // Heads written directly are not in the committed count either.
        if self.direct_scn.is_some()
            || self
                .writes
                .range(bound_slice(&range.0), bound_slice(&range.1))
                .next()
                .is_some()
        {
            return Ok(None);
        }
        if let Some(txid) = self.txid.filter(|_| self.spilled) {
            if spill::has_prefix(self.storage(), txid, prefix)? {
                return Ok(None);
            }
        }
        Ok(self
            .get(&counters::counter_key(prefix))?
            .and_then(|v| counters::decode_count(&v)))
    }

    /// Compares the scan of the table `prefix` through its packed copy with the scan of its
    /// stored rows at this transaction's snapshot (for `PRAGMA integrity_check`); describes
    /// the first difference. `None` when they agree or the table has no usable pack.
    pub fn verify_pack(&self, prefix: &[u8]) -> Result<Option<String>> {
        super::pack::verify(&self.mvcc.0, prefix, self.pin.scn)
    }

    /// Asks GC to remove every version of every logical key starting with `prefix` once this
    /// commit falls behind the horizon (used when a table or index is dropped: its data stays
    /// readable in the past, and goes when that past is collected).
    pub fn drop_prefix_on_gc(&mut self, prefix: Vec<u8>) -> Result<()> {
        self.ensure_writable()?;
        self.check_usable()?;
        self.gc_ranges.push(prefix);
        self.push_undo(Undo::GcRange(self.gc_ranges.len() - 1))
    }

    /// Reads an unversioned metadata value (counters such as sequences).
    pub fn get_meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(v) = self.meta.get(key) {
            return Ok(Some(v.clone()));
        }
        Ok(self
            .mvcc
            .0
            .storage
            .get(&keys::meta_key(key))?
            .map(|v| v.to_vec()))
    }

    /// Writes an unversioned metadata value, applied with the commit.
    pub fn put_meta(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        self.ensure_writable()?;
        self.check_usable()?;
        let prev = self.meta.insert(key.clone(), value);
        self.push_undo(Undo::Meta(key, prev))
    }

    /// Declares that this transaction will be committed or rolled back whole, never rolled
    /// back to a savepoint taken after a write (a single statement in autocommit mode, whose
    /// failure ends its transaction). From then on its writes record no undo entries: no
    /// copy of each written key in memory and, past the memory budget, no undo record per
    /// key written to the private range at each spill and deleted after the commit (about a
    /// fifth of a million-row DELETE's time). Rolling back the whole transaction needs no
    /// undo log (the private range is dropped, direct heads are taken back from their
    /// records); a [`Transaction::rollback_to`] that would need one leaves the transaction
    /// able only to roll back.
    pub fn forgo_partial_rollback(&mut self) {
        self.release_savepoints();
        self.keeps_undo = false;
    }

    /// Marks a point to roll back to.
    pub fn savepoint(&self) -> Savepoint {
        Savepoint(self.undo_stored + self.undo.len() as u64)
    }

    /// Undoes every write made after `sp`. If the private range cannot be brought back (a
    /// storage error), the transaction can afterwards only be rolled back.
    pub fn rollback_to(&mut self, sp: Savepoint) {
        // The undone writes may include watched keys.
        self.generation += 1;
        // A failure of the helper is kept: the transaction can then only roll back.
        let _ = self.settle();
        while self.undo_stored + self.undo.len() as u64 > sp.0 {
            let Some(u) = self.undo.pop() else {
                break;
            };
            self.pending_bytes = self.pending_bytes.saturating_sub(u.footprint());
            self.undo_one(u);
        }
        if sp.0 >= self.undo_stored {
            return;
        }
        if !self.keeps_undo {
            self.broken = Some(
                "it keeps no undo log, so part of it cannot be rolled back (a failed \
                 statement of an autocommit transaction ends the transaction)"
                    .into(),
            );
            return;
        }
        // Everything written since the last spill is undone, so what the write set still
        // holds are copies of spilled versions; the stored undo records restore the rest.
        self.writes.clear();
        self.appended_undo = 0;
        self.pending_bytes = 0;
        let Some(txid) = self.txid else {
            return;
        };
        let storage = self.mvcc.0.storage.clone();
        let mut other = Vec::new();
        let group = self.mvcc.0.options.count_group;
        let deltas = &mut self.direct_deltas;
        let live = &mut self.direct_live;
        let undone = spill::roll_back(
            &*storage,
            txid,
            sp.0,
            &mut self.undo_stored,
            self.direct_scn,
            |u| other.push(u),
            |k, was_live, left_live| {
                *live = live.saturating_sub(1);
                if let Some(group) = group {
                    counters::add_delta(group, k, was_live, left_live, deltas);
                }
            },
        );
        for u in other {
            self.undo_one(u);
        }
        if self.direct_scn.is_some() {
            // Heads read under the lock may be direct heads just taken back.
            self.newest.borrow_mut().clear();
        }
        if let Err(e) = undone {
            self.broken = Some(format!("rolling back to a savepoint failed: {e}"));
        }
    }

    fn undo_one(&mut self, u: Undo) {
        match u {
            Undo::Write(k, prev) => match prev {
                // What was known of the key's committed head stays known: it does not
                // depend on this transaction's writes.
                Some(v) => match self.writes.get_mut(&k) {
                    Some(p) => p.value = v,
                    None => {
                        // Not reached while the entry's own write is in memory; kept exact
                        // all the same: the run's keys are named before any other key
                        // could join it.
                        self.name_appended_undo();
                        self.writes.merge_run();
                        self.writes.insert_new(k, Pending::new(v));
                    }
                },
                None => {
                    self.writes.remove(&k);
                }
            },
            Undo::Appended => {
                self.writes.pop_appended();
                self.appended_undo = self.appended_undo.saturating_sub(1);
            }
            Undo::Meta(k, prev) => match prev {
                Some(v) => {
                    self.meta.insert(k, v);
                }
                None => {
                    self.meta.remove(&k);
                }
            },
            Undo::GcRange(i) => self.gc_ranges.truncate(i),
            // Only ever stored; `spill::roll_back` takes the heads back.
            Undo::Direct(_) => {}
        }
    }

    /// Tells the transaction that a statement ended, whatever its outcome: a walk over the
    /// rows it rewrites that the statement did not use is dropped
    /// ([`super::rewrite_reads`]).
    pub fn statement_ended(&mut self) {
        self.rewrites.get_mut().statement_ended();
    }

    /// Forgets undo information before this point (the statement succeeded). Stored undo
    /// records stay until the transaction ends: no savepoint reaches them any more.
    pub fn release_savepoints(&mut self) {
        for u in self.undo.drain(..) {
            self.pending_bytes = self.pending_bytes.saturating_sub(u.footprint());
        }
        self.appended_undo = 0;
        self.write_ahead();
    }

    /// Hands the new live keys of the write set to the helper that writes them ahead, if
    /// there are enough ([`super::ahead`]). Called with an empty undo log.
    fn write_ahead(&mut self) {
        let min = self.mvcc.0.options.write_ahead_keys;
        // Without an undo log the statement is its own transaction, about to commit: nothing
        // would run beside the helper.
        if min == 0
            || !self.keeps_undo
            || self.writes.len() < min.max(self.ahead_after)
            || self.broken.is_some()
            || self.lock.is_none()
        {
            return;
        }
        let Some(txid) = self.txid else {
            return;
        };
        // One job at a time; a failure is kept, and reported by the next write.
        let ahead = self.ahead.get_mut();
        ahead.join();
        if ahead.failed() {
            return;
        }
        let n = self.writes.count_where(Pending::goes_direct);
        if n < min {
            // Mostly keys that must stay: look again once the write set has doubled.
            self.ahead_after = self.writes.len().saturating_mul(2);
            return;
        }
        let storage = self.mvcc.0.storage.clone();
        // A rollback to a savepoint taken before this point takes the heads back.
        let undo = [Undo::Direct(self.direct_seq)];
        if let Err(e) = spill::push_undo(&*storage, txid, self.undo_stored, &undo) {
            // Reported, as the storage's own error, by the next write or the commit.
            *self.ahead.get_mut() = Ahead::Failed {
                why: format!("storing an undo record failed: {e}"),
                first: Some(e),
            };
            return;
        }
        self.undo_stored += 1;
        let scn = self.take_direct_scn();
        let group = self.mvcc.0.options.count_group;
        let mut entries = Vec::with_capacity(n);
        for (k, p) in self.writes.take_where(Pending::goes_direct) {
            let value = p.value.unwrap_or_default();
            let size = k.len() + value.len() + ENTRY_OVERHEAD;
            self.pending_bytes = self.pending_bytes.saturating_sub(size);
            self.spilled_keys.insert(&k);
            if let Some(group) = group {
                counters::add_delta(group, &k, false, true, &mut self.direct_deltas);
            }
            entries.push((k, value));
        }
        // What was read of those keys' heads is no longer what this transaction sees (a
        // key read dead is now a live head of its own): as at a spill, forget it all.
        self.newest.borrow_mut().clear();
        self.spilled = true;
        self.direct_live += n as u64;
        let kept = self.writes.len();
        self.ahead_after = kept + min.max(kept / 4);
        // A job writes at most one record per row: its numbers are reserved up front.
        let seq = self.direct_seq;
        self.direct_seq += n as u64;
        self.ahead.get_mut().start(ahead::Job {
            storage,
            txid,
            seq,
            scn,
            // Sorted table files (a memtable flush and fsyncs each) only for a large
            // statement's rows, as for a commit's new keys.
            ingest_min: self.mvcc.0.options.ingest_min_keys.saturating_mul(4),
            rows: Arc::new(entries),
        });
    }

    /// Commits. Returns `None` for a transaction that wrote nothing (it consumes no SCN).
    pub fn commit(mut self) -> Result<Option<CommitInfo>> {
        let Some(txid) = self.txid else {
            return Ok(None);
        };
        self.settle()?;
        self.check_usable()?;
        if self.spilled {
            let storage = self.mvcc.0.storage.clone();
            if self.direct_live > 0
                || spill::has_prefix(&*storage, txid, &[])?
                || !self.writes.is_empty()
            {
                return self.commit_spilled(txid);
            }
            // Everything spilled was rolled back: what is left is undo records.
            spill::discard(&*storage, &spill::txn_prefix(txid))?;
            self.spilled = false;
        }
        if self.commits_by_ingestion() {
            // The new keys go to their heads in sorted tables, the rest through the private
            // range: the spilled commit's path, with nothing spilled before.
            self.spilled = true;
            return self.commit_spilled(txid);
        }
        if self.writes.is_empty() && self.gc_ranges.is_empty() {
            if !self.meta.is_empty() {
                let mut b = crate::storage::WriteBatch::new();
                for (k, v) in std::mem::take(&mut self.meta) {
                    b.put(keys::meta_key(&k), v);
                }
                self.mvcc.0.storage.write(b, self.mvcc.0.options.durable)?;
            }
            self.mvcc.persist_txid_counter();
            self.lock = None;
            return Ok(None);
        }
        let writes = std::mem::take(&mut self.writes);
        let meta = std::mem::take(&mut self.meta);
        let ranges = std::mem::take(&mut self.gc_ranges);
        let mut newest = std::mem::take(&mut *self.newest.borrow_mut());
        let storage = self.mvcc.0.storage.clone();
        let count_group = self.mvcc.0.options.count_group;
        let mvcc = self.mvcc.clone();
        let info = self.mvcc.write_commit(txid, |scn, batch| {
            let mut writes = writes;
            let superseded = superseded_heads(&*storage, &writes, &mut newest)?;
            // A head per write, a history entry per head it supersedes, the change log's
            // lists (a full one per `LOG_CHUNK_BYTES` of listed keys, then one per tracked
            // table) and the commit's own few records: reserved at once, so that a large
            // batch is not copied as it grows (without the lists, a 50,000-row DELETE
            // doubled its 5.6 MB batch for their 36 entries).
            let replaced = superseded
                .iter()
                .filter(|h| matches!(h, Some(Some(_))))
                .count();
            // A key and its length's varint (two bytes up to 16 KiB).
            let listed: usize = writes.keys().map(|k| k.len() + 2).sum();
            let lists = listed / super::pack::LOG_CHUNK_BYTES + 8;
            batch.reserve(writes.len() + replaced + lists + 4);
            let mut counted = Vec::new();
            if let Some(group) = count_group {
                counters::update(&*storage, group, &mut writes, &superseded, &mut newest.map)?;
                // Counter keys sort first (their tag is 0x00).
                counted.extend(
                    writes
                        .range(
                            Bound::Unbounded,
                            Bound::Excluded(&[counters::COUNTER_TAG + 1][..]),
                        )
                        .map(|(k, p)| (k.clone(), p.value.clone())),
                );
            }
            let changes = mvcc.0.packs.change_log(count_group);
            // All of the commit's GC work items go in one entry: one storage write instead of
            // one per superseded version.
            let mut work = Vec::new();
            let mut superseded = superseded.into_iter();
            for (logical, pending) in writes {
                let old_head = if counters::is_counter(&logical) {
                    // Counters were read, or written, after the other heads.
                    superseded_head(&pending, newest.map.remove(&logical), || {
                        view::head_to_replace(&*storage, &logical)
                    })?
                } else {
                    superseded.next().ok_or_else(|| {
                        Error::corruption("a commit's write set changed beyond its counters")
                    })?
                };
                stage_version(
                    batch,
                    &mut work,
                    &changes,
                    scn,
                    &logical,
                    pending.value.as_deref(),
                    old_head,
                )?;
            }
            changes.finish(batch, scn);
            // This commit's own writes need no log entries: tracking starts after it.
            mvcc.0.packs.track_crossed(
                counted.iter().map(|(k, v)| (k.as_slice(), v.as_deref())),
                scn,
                batch,
            );
            for prefix in ranges {
                push_work_item(&mut work, GcKind::Prefix, 0, &prefix);
            }
            if !work.is_empty() {
                batch.put(keys::gc_key(scn), work);
            }
            for (k, v) in meta {
                batch.put(keys::meta_key(&k), v);
            }
            Ok(())
        });
        // Release the write lock before waiting for durability: the next writer proceeds
        // while this commit's sync runs, and shares it if it can (group commit).
        self.lock = None;
        let info = info?;
        self.mvcc.await_durable(info.scn)?;
        Ok(Some(info))
    }

    /// Commits a transaction whose write set spilled: the rest of it joins the private
    /// range, from which [`spill_commit`] applies the commit.
    fn commit_spilled(mut self, txid: u64) -> Result<Option<CommitInfo>> {
        let storage = self.mvcc.0.storage.clone();
        let fresh = self.never_spilled();
        self.store_write_set(txid, &fresh)?;
        self.writes.clear();
        self.newest.borrow_mut().clear();
        let meta = std::mem::take(&mut self.meta);
        let ranges = std::mem::take(&mut self.gc_ranges);
        let deltas = self.direct_deltas.drain().collect();
        let info = spill_commit::commit(&self.mvcc, txid, meta, ranges, self.direct_scn, deltas);
        self.lock = None;
        let info = info?;
        self.mvcc.await_durable(info.scn)?;
        // Only stored undo records are left (none if it kept no undo log). Their own range
        // only: the commit's deletions of its pending versions lie beside them, and a walk
        // over the whole private range would step over each. Best effort: the next open
        // removes leftovers.
        if !self.keeps_undo {
            return Ok(Some(info));
        }
        if let Err(e) = spill::discard(&*storage, &spill::undo_prefix(txid)) {
            tracing::warn!(error = %e, "removing a committed transaction's undo records failed");
        }
        Ok(Some(info))
    }

    /// Rolls back (same as dropping).
    pub fn rollback(self) {}
}

impl Drop for Transaction {
    fn drop(&mut self) {
        // The helper's rows are taken back with the rest.
        let _ = self.ahead.get_mut().settle();
        if self.lock.is_some() {
            if let Some(txid) = self.txid {
                self.mvcc.persist_txid_counter();
                // Heads written for the SCN the next commit takes must go before the write
                // lock does; if they cannot, only the recovery on open can remove them.
                if self.direct_scn.is_some() {
                    if let Err(e) = direct::take_back_txn(self.storage(), txid) {
                        tracing::error!(error = %e, "taking back a rolled-back transaction's rows failed");
                        self.mvcc.poison();
                    }
                }
                if self.spilled {
                    // Best effort: what is left is invisible, and the next open removes it.
                    let _ = spill::discard(self.storage(), &spill::txn_prefix(txid));
                }
            }
        }
    }
}

/// The committed head each key of `writes` supersedes, for every key but the counters, in
/// the write set's order: `Some(head)` for a versioned write, and for a write without versions
/// the head a statement read under the write lock if there is one (an INSERT's uniqueness
/// check: the new head then starts its list of past versions, `keys::Past`, complete when
/// there was none), `None` otherwise. Heads read under the write lock are taken out of
/// `newest`; the others, when there are many (rows a DML statement read through a pack,
/// index entries of changed rows), come from one forward walk over the heads in key order
/// ([`AscendingHeads`]), otherwise from point reads. A vector beside the write set rather
/// than more entries in `newest`: the commit of a large DELETE cloned, hashed, inserted and
/// removed every key once more for them.
fn superseded_heads(
    storage: &dyn crate::storage::Storage,
    writes: &WriteSet,
    newest: &mut ReadHeads,
) -> Result<Vec<Option<Option<Bytes>>>> {
    const MANY: usize = 256;
    let walk = {
        let mut held = newest.ascending_probe();
        writes
            .iter()
            .filter(|(k, p)| !p.unversioned && !held(k))
            .take(MANY)
            .count()
            >= MANY
    };
    let mut heads = AscendingHeads::new(storage, walk);
    let mut out = Vec::with_capacity(writes.len());
    for (logical, pending) in writes.iter() {
        if counters::is_counter(logical) {
            continue;
        }
        let known = newest.take_ascending(logical);
        out.push(superseded_head(pending, known, || heads.lookup(logical))?);
    }
    Ok(out)
}

/// [`superseded_heads`] of one key, given the head a statement read under the write lock
/// (`known`) and how to read it otherwise: a versioned write supersedes a head, found or
/// not; a write without versions keeps the one a statement read, if any.
fn superseded_head(
    pending: &Pending,
    known: Option<Option<Bytes>>,
    read: impl FnOnce() -> Result<Option<Bytes>>,
) -> Result<Option<Option<Bytes>>> {
    Ok(match known {
        None if !pending.unversioned => Some(read()?),
        known => known,
    })
}

fn range_is_empty(range: &KeyRange) -> bool {
    bounds_empty(bound_slice(&range.0), bound_slice(&range.1))
}

fn bound_slice(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    b.as_ref().map(Vec::as_slice)
}
