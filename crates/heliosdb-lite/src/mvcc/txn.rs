//! Transactions: a pinned snapshot plus a private write set, published atomically on commit.

use super::counters;
use super::gc::{push_work_item, GcKind};
use super::{keys, view, CommitInfo, Mvcc, Pin, WriteLock};
use crate::error::{Error, Result};
use crate::storage::{Bytes, Direction, KeyRange, KvPair};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};

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

enum Undo {
    Write(Vec<u8>, Option<Option<Vec<u8>>>),
    Meta(Vec<u8>, Option<Vec<u8>>),
    GcRange(usize),
}

/// Marks a point a transaction can roll back to (statement-level atomicity).
#[derive(Debug, Clone, Copy)]
pub struct Savepoint(usize);

/// A transaction. Reads see the pinned snapshot plus the transaction's own writes. Dropping
/// an uncommitted transaction rolls it back.
pub struct Transaction {
    mvcc: Mvcc,
    pin: Pin,
    mode: TxnMode,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    meta: BTreeMap<Vec<u8>, Vec<u8>>,
    gc_ranges: Vec<Vec<u8>>,
    undo: Vec<Undo>,
    txid: Option<u64>,
    lock: Option<WriteLock>,
    has_read: AtomicBool,
    /// Head values of keys read while holding the write lock (then the snapshot is the newest
    /// commit and stays so until this commit): saves the commit a lookup per written key.
    newest: std::cell::RefCell<rustc_hash::FxHashMap<Vec<u8>, Option<Bytes>>>,
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
    pub(super) fn begin(mvcc: Mvcc, mode: TxnMode) -> Result<Self> {
        let lock = match mode {
            TxnMode::Immediate => Some(mvcc.acquire_write_lock()?),
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
            writes: BTreeMap::new(),
            meta: BTreeMap::new(),
            gc_ranges: Vec::new(),
            undo: Vec::new(),
            txid: None,
            lock,
            has_read: AtomicBool::new(false),
            newest: Default::default(),
        };
        if t.lock.is_some() {
            t.txid = Some(t.mvcc.allocate_txid());
        }
        Ok(t)
    }

    /// The SCN this transaction reads at.
    pub fn snapshot_scn(&self) -> u64 {
        self.pin.scn
    }

    /// The transaction id, once the transaction has written.
    pub fn txid(&self) -> Option<u64> {
        self.txid
    }

    /// True if the transaction has buffered writes.
    pub fn has_writes(&self) -> bool {
        !self.writes.is_empty() || !self.gc_ranges.is_empty()
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
        let lock = self.mvcc.acquire_write_lock()?;
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
        if let Some(v) = self.writes.get(key) {
            return Ok(v.as_deref().map(Bytes::from));
        }
        let storage = &*self.mvcc.0.storage;
        if self.lock.is_none() {
            return view::read_at(storage, key, self.pin.scn, false);
        }
        let head = view::head(storage, key)?;
        self.newest.borrow_mut().insert(key.to_vec(), head.clone());
        view::resolve_with_head(storage, key, head, self.pin.scn)
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
        let own: OwnIter<'_> = if range_is_empty(&range) || self.writes.is_empty() {
            Box::new(std::iter::empty())
        } else {
            let r = self
                .writes
                .range::<Vec<u8>, _>((range.0.clone(), range.1.clone()));
            match direction {
                Direction::Forward => Box::new(r),
                Direction::Reverse => Box::new(r.rev()),
            }
        };
        let base = view::VisibleIter::new(&*self.mvcc.0.storage, &range, self.pin.scn, direction);
        MergeIter {
            base: base.peekable(),
            own: own.peekable(),
            direction,
        }
    }

    /// True if `key` was read under the write lock and has no live committed version (no head,
    /// or a tombstone head), or was declared so by [`Transaction::assume_unversioned`].
    pub fn known_unversioned(&self, key: &[u8]) -> bool {
        match self.newest.borrow().get(key) {
            Some(None) => true,
            Some(Some(head)) => keys::decode_version(head).is_ok_and(|v| v.data.is_none()),
            None => false,
        }
    }

    /// Records that `key` has no live committed version (the caller derived it from what it
    /// read under the write lock), so the commit need not look up its head: there is nothing
    /// to move to the history, and a tombstone head is simply replaced.
    ///
    /// A key this transaction itself wrote or deleted is never assumed: the caller's view
    /// includes those writes, so "no live row" may only mean "deleted here", while the
    /// committed head still holds a version the history must keep (a range DELETE followed by
    /// an INSERT of a rowid above the remaining ones lost that version).
    pub fn assume_unversioned(&mut self, key: Vec<u8>) {
        if self.lock.is_some() && !self.writes.contains_key(&key) {
            self.newest.borrow_mut().entry(key).or_insert(None);
        }
    }

    /// Sets a logical key.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        self.ensure_writable()?;
        let prev = self.writes.insert(key.clone(), Some(value));
        self.undo.push(Undo::Write(key, prev));
        Ok(())
    }

    /// Deletes a logical key.
    pub fn delete(&mut self, key: Vec<u8>) -> Result<()> {
        self.ensure_writable()?;
        let prev = self.writes.insert(key.clone(), None);
        self.undo.push(Undo::Write(key, prev));
        Ok(())
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
        if self.writes.range::<Vec<u8>, _>(range).next().is_some() {
            return Ok(None);
        }
        Ok(self
            .get(&counters::counter_key(prefix))?
            .and_then(|v| counters::decode_count(&v)))
    }

    /// Asks GC to remove every version of every logical key starting with `prefix` once this
    /// commit falls behind the horizon (used when a table or index is dropped: its data stays
    /// readable in the past, and goes when that past is collected).
    pub fn drop_prefix_on_gc(&mut self, prefix: Vec<u8>) -> Result<()> {
        self.ensure_writable()?;
        self.gc_ranges.push(prefix);
        self.undo.push(Undo::GcRange(self.gc_ranges.len() - 1));
        Ok(())
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
        let prev = self.meta.insert(key.clone(), value);
        self.undo.push(Undo::Meta(key, prev));
        Ok(())
    }

    /// Marks a point to roll back to.
    pub fn savepoint(&self) -> Savepoint {
        Savepoint(self.undo.len())
    }

    /// Undoes every write made after `sp`.
    pub fn rollback_to(&mut self, sp: Savepoint) {
        while self.undo.len() > sp.0 {
            match self.undo.pop() {
                Some(Undo::Write(k, prev)) => match prev {
                    Some(v) => {
                        self.writes.insert(k, v);
                    }
                    None => {
                        self.writes.remove(&k);
                    }
                },
                Some(Undo::Meta(k, prev)) => match prev {
                    Some(v) => {
                        self.meta.insert(k, v);
                    }
                    None => {
                        self.meta.remove(&k);
                    }
                },
                Some(Undo::GcRange(i)) => self.gc_ranges.truncate(i),
                None => break,
            }
        }
    }

    /// Forgets undo information before this point (the statement succeeded).
    pub fn release_savepoints(&mut self) {
        self.undo.clear();
    }

    /// Commits. Returns `None` for a transaction that wrote nothing (it consumes no SCN).
    pub fn commit(mut self) -> Result<Option<CommitInfo>> {
        let Some(txid) = self.txid else {
            return Ok(None);
        };
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
        let info = self.mvcc.write_commit(txid, |scn, batch| {
            let mut writes = writes;
            if let Some(group) = count_group {
                counters::update(&*storage, group, &mut writes, &mut newest)?;
            }
            // All of the commit's GC work items go in one entry: one storage write instead of
            // one per superseded version.
            let mut work = Vec::new();
            for (logical, value) in writes {
                let head_key = keys::head_key(&logical);
                let old_head = match newest.remove(&logical) {
                    Some(known) => known,
                    None => storage.get(&head_key)?,
                };
                let old_live = match &old_head {
                    Some(v) => keys::decode_version(v)?.data.is_some(),
                    None => false,
                };
                if value.is_none() && !old_live {
                    continue; // deleting what is already absent leaves no trace
                }
                if let (true, Some(old)) = (old_live, old_head) {
                    // The superseded head moves to the history as it is: same bytes.
                    let key = keys::history_key(&logical, scn);
                    push_work_item(&mut work, GcKind::Delete, key.len() + old.len(), &key);
                    batch.put(key, old.to_vec());
                }
                let new_head = keys::encode_version(scn, value.as_deref());
                if value.is_none() {
                    let size = head_key.len() + new_head.len();
                    push_work_item(&mut work, GcKind::Tombstone, size, &head_key);
                }
                batch.put(head_key, new_head);
            }
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

    /// Rolls back (same as dropping).
    pub fn rollback(self) {}
}

impl Drop for Transaction {
    fn drop(&mut self) {
        if self.lock.is_some() && self.txid.is_some() {
            self.mvcc.persist_txid_counter();
        }
    }
}

fn range_is_empty(range: &KeyRange) -> bool {
    match (&range.0, &range.1) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b)) => a >= b,
        _ => false,
    }
}

/// The transaction's own writes in a key range, borrowed.
type OwnIter<'a> = Box<dyn Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)> + 'a>;

/// Merges the snapshot's keys with the transaction's own writes (which win on equal keys).
struct MergeIter<'a, I: Iterator<Item = Result<KvPair>>> {
    base: std::iter::Peekable<I>,
    own: std::iter::Peekable<OwnIter<'a>>,
    direction: Direction,
}

impl<I: Iterator<Item = Result<KvPair>>> Iterator for MergeIter<'_, I> {
    type Item = Result<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let take_own = match (self.base.peek(), self.own.peek()) {
                (None, None) => return None,
                (Some(Err(_)), _) => return self.base.next(),
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(Ok((bk, _))), Some((ok, _))) => {
                    let ord = ok.as_slice().cmp(bk);
                    if ord == std::cmp::Ordering::Equal {
                        self.base.next(); // shadowed by own write
                        true
                    } else {
                        (ord == std::cmp::Ordering::Less) == (self.direction == Direction::Forward)
                    }
                }
            };
            if take_own {
                let (k, v) = self.own.next()?;
                match v {
                    Some(v) => {
                        return Some(Ok((Bytes::from(k.as_slice()), Bytes::from(v.as_slice()))))
                    }
                    None => continue,
                }
            }
            return self.base.next();
        }
    }
}
