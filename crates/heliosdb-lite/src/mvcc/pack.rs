//! Packed read copies of large tables.
//!
//! A full scan through the heads pays the LSM's iterator once per row (its merge heap, its own
//! version dedup, a block step): about a thousand instructions, as much as SQLite spends on the
//! whole row. A *pack* is a copy of a table's live rows as of one SCN `M`, stored as pages of
//! about [`PAGE_BYTES`] (`PAGE ‖ pack id ‖ first key`), so a scan pays the LSM per page. The
//! heads and the history are untouched and stay the truth: a pack is derived data, built by
//! maintenance ([`maintain`]: the background thread and checkpoints), replaced at will, and
//! never the only copy of anything.
//!
//! **Which rows a pack no longer shows right.** From the moment a table is *tracked* (SCN
//! `since`), every commit writes, in its own atomic batch, the row keys it writes into the
//! table's change log: entries `CHANGES ‖ table ‖ scn ‖ first key` whose value lists the keys
//! (up to [`LOG_CHUNK_BYTES`] of them per entry, so a commit of many rows writes a few
//! entries, and a reader steps the LSM once per entry, not once per key; stores of format 5
//! and earlier hold one entry per key with an empty value, still read). A row's version at a
//! snapshot `S`
//! equals its version at `M` unless the row changed in between, that is unless the log names
//! it with an SCN in `(min(S, M), max(S, M)]`. So a scan at `S` reads the pages and, for the
//! few keys the log names in that interval, reads the row the ordinary way (head, then
//! history). This serves current reads (`S >= M`) and `AS OF` reads (`S < M`) alike, as long as
//! `S >= since`. The interval ends at or before `S`, whose commits were all written before the
//! snapshot was taken, so commits landing during the scan cannot confuse it.
//!
//! **Lifecycle.** Tracking starts with the commit that brings a table to [`TRACK_ROWS`] live
//! rows (tables that were large before are taken up by maintenance, under the write lock, so
//! no commit runs meanwhile). Maintenance builds a pack for a tracked table that has none, or
//! whose log since its pack has grown past a share of its rows: it reads the table at the
//! newest SCN, writes the pages (past [`INGEST_PAGES_AFTER`] bytes, on disk, as sorted table
//! files rather than through the memtable), syncs, and only then publishes the pack in its
//! manifest
//! (`META ‖ "pack:" ‖ table`). The previous pack's pages are deleted once no running scan
//! holds them. Log entries at or below both the newest pack's SCN and the GC horizon can serve
//! no reader and are deleted. A crash leaves at worst pages no manifest names, which the next
//! open deletes. The GC of a dropped table's key range removes its pack, log and manifest.

use super::counters::{self, CountGroup};
use super::{keys, lock, read, view, write, Mvcc};
use crate::error::{Error, Result};
use crate::storage::{prefix_range, Bytes, Direction, KeyRange, Storage, WriteBatch};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

/// A table is tracked, then packed, once it has this many live rows: below that a scan of
/// the heads is fast enough to need no copy.
pub const TRACK_ROWS: i64 = 4096;
/// After the background thread rebuilds a table's pack in time `d`, it leaves that table's
/// pack alone for `BACKGROUND_PACE * d`, so that under a stream of small commits to a large
/// table (each a few log entries, soon a rebuild's worth) rebuilds take at most about a fifth
/// of one core from the writers, whatever the rates. Scans meanwhile read a few more logged
/// rows the ordinary way. Checkpoints and explicit maintenance are not paced.
const BACKGROUND_PACE: u32 = 4;
/// The background thread starts no build while a transaction has held the write lock this
/// long, and ends (and throws away) a build under way once one has: a long write (a bulk load,
/// a large DELETE or UPDATE, CREATE INDEX) mostly makes the copy obsolete before it is done,
/// and on a small machine the build took the CPU the write was waiting for (a 1M-row 50%
/// DELETE spent 12% longer beside one, CREATE INDEX and INSERT ... SELECT 15-18%). The build
/// is tried again at the next round. Commits release the lock before their sync, and a stream
/// of small transactions holds it for far less, so builds still go on between and beside them.
/// Checkpoints and explicit maintenance never give way.
const YIELD_TO_WRITES_AFTER: Duration = Duration::from_millis(250);
/// Background rounds in a row that put off one table's due build for a long write (skipped or
/// ended early) before the next round builds it anyway, beside the write: a write lock held
/// for long stretches (a stream of large statements, an idle open transaction) delays a copy
/// by at most about this many rounds of the background thread (one a second, or sooner).
const MAX_DEFERRALS_IN_A_ROW: u32 = 8;
/// Target size of one page.
const PAGE_BYTES: usize = 16 * 1024;
/// Bytes of pages per storage batch while a pack is built.
const BUILD_BATCH_BYTES: usize = 1 << 20;
/// Bytes of pages a build writes through ordinary batches before it writes the rest as sorted
/// table files (on a backend that ingests them). Through the memtable, a large table's pages
/// would fill it many times over: a 1M-row table's 60 MB build grew the process by ~77 MB
/// at any `memory_limit_mb`. An ingestion has a cost for everyone else, though: it flushes the
/// memtable and leaves a run whose filter and index blocks fjall does not pin, so point reads
/// of the rows got slower (a Python point select 1.5x -> 2.2x sqlite3's time when every
/// small rebuild ingested). Only large builds take that path.
pub(crate) const INGEST_PAGES_AFTER: usize = 8 << 20;
/// Bytes of listed keys past which a commit starts a new change-log entry for a table.
pub(crate) const LOG_CHUNK_BYTES: usize = 32 * 1024;
/// Name prefix of the manifests in the metadata.
const MANIFEST: &[u8] = b"pack:";
/// Name of the metadata entry holding the next pack id.
const NEXT_ID: &[u8] = b"pack_next_id";

/// A built pack: the pages of one table as of one SCN.
#[derive(Debug)]
pub(crate) struct Pack {
    /// The id in the page keys.
    pub(crate) id: u64,
    /// The SCN whose state the pages hold.
    pub(crate) scn: u64,
    /// Rows in the pages.
    pub(crate) rows: u64,
}

/// The state of one tracked table.
#[derive(Debug, Clone)]
struct Tracked {
    /// The log holds every write of every commit after this SCN.
    since: u64,
    /// The newest pack, if one was built.
    pack: Option<Arc<Pack>>,
}

/// Everything the engine knows about tracked tables, shared by commits, scans and maintenance.
#[derive(Debug)]
pub(crate) struct Packs {
    /// Tracked tables by key prefix (the count group of their rows).
    tables: RwLock<BTreeMap<Vec<u8>, Tracked>>,
    /// Replaced packs whose pages a running scan may still read.
    retired: Mutex<Vec<Arc<Pack>>>,
    /// The next pack id (also persisted, so a crashed build's id is not handed out again).
    next_id: Mutex<u64>,
    /// Serialises maintenance runs and the removal of dropped tables.
    maintaining: Mutex<()>,
    /// Whether new tables are tracked (`MvccOptions::pack_tables`).
    enabled: bool,
    /// Per table, the SCN up to which its log was last trimmed in this process, so that
    /// maintenance does not walk the same deleted range on every run.
    trimmed: Mutex<BTreeMap<Vec<u8>, u64>>,
    /// Per table, the earliest moment the background thread may rebuild its pack again
    /// (see [`BACKGROUND_PACE`]).
    not_before: Mutex<BTreeMap<Vec<u8>, Instant>>,
    /// Per table, the background rounds in a row that put its due build off for a write (see
    /// [`MAX_DEFERRALS_IN_A_ROW`]).
    deferred: Mutex<BTreeMap<Vec<u8>, u32>>,
}

/// How a pack build ended.
#[derive(Debug, PartialEq)]
pub(super) enum Built {
    /// Published, with this many rows.
    Rows(u64),
    /// Nothing published: the newest SCN is still before the table's tracking began (or the
    /// table stopped being tracked meanwhile).
    NotYet,
    /// A background build gave way to a long write (see [`YIELD_TO_WRITES_AFTER`]); nothing
    /// published.
    GaveWay,
}

fn encode_manifest(t: &Tracked) -> Vec<u8> {
    let mut v = t.since.to_be_bytes().to_vec();
    if let Some(p) = &t.pack {
        for n in [p.id, p.scn, p.rows] {
            v.extend_from_slice(&n.to_be_bytes());
        }
    }
    v
}

fn decode_manifest(v: &[u8]) -> Result<Tracked> {
    let n =
        |i: usize| -> Option<u64> { Some(u64::from_be_bytes(v.get(i..i + 8)?.try_into().ok()?)) };
    let damaged = || Error::corruption("malformed pack manifest");
    match v.len() {
        8 => Ok(Tracked {
            since: n(0).ok_or_else(damaged)?,
            pack: None,
        }),
        32 => Ok(Tracked {
            since: n(0).ok_or_else(damaged)?,
            pack: Some(Arc::new(Pack {
                id: n(8).ok_or_else(damaged)?,
                scn: n(16).ok_or_else(damaged)?,
                rows: n(24).ok_or_else(damaged)?,
            })),
        }),
        _ => Err(damaged()),
    }
}

fn manifest_key(prefix: &[u8]) -> Vec<u8> {
    let mut name = MANIFEST.to_vec();
    name.extend_from_slice(prefix);
    keys::meta_key(&name)
}

/// The range of the change-log entries of `prefix` with SCNs in `(after, upto]`.
pub(crate) fn log_range(prefix: &[u8], after: u64, upto: u64) -> KeyRange {
    let lo = Bound::Included(keys::change_key(prefix, after.saturating_add(1), &[]));
    let hi = match upto.checked_add(1) {
        Some(end) => Bound::Excluded(keys::change_key(prefix, end, &[])),
        None => match crate::storage::prefix_successor(
            &keys::change_key(prefix, 0, &[])[..1 + prefix.len()],
        ) {
            Some(s) => Bound::Excluded(s),
            None => Bound::Unbounded,
        },
    };
    (lo, hi)
}

/// Calls `each` with every row key the change-log entry `(key, value)` of the table `prefix`
/// names: the listed keys of an entry written as a list, or the key suffix of an entry of
/// one key (format 5 and earlier: empty value). Returns how many it named.
pub(crate) fn logged_keys(
    prefix: &[u8],
    key: &Bytes,
    value: &Bytes,
    mut each: impl FnMut(Bytes),
) -> Result<usize> {
    let damaged = || Error::corruption("malformed change-log entry");
    let skip = 1 + prefix.len() + 8;
    if key.len() <= skip {
        return Err(damaged());
    }
    if value.is_empty() {
        each(key.slice(skip..));
        return Ok(1);
    }
    let mut at = 0;
    let mut n = 0;
    while at < value.len() {
        let len = get_varint(value, &mut at).ok_or_else(damaged)?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| at.checked_add(l))
            .filter(|&e| e <= value.len() && e > at)
            .ok_or_else(damaged)?;
        each(value.slice(at..end));
        at = end;
        n += 1;
    }
    Ok(n)
}

/// The range of every page of pack `id`.
pub(crate) fn page_range(id: u64) -> KeyRange {
    prefix_range(&keys::page_key(id, &[]))
}

/// Appends `n` as an LEB128 varint.
fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads an LEB128 varint at `*at`, advancing it.
pub(crate) fn get_varint(buf: &[u8], at: &mut usize) -> Option<u64> {
    let mut n = 0u64;
    let mut shift = 0;
    loop {
        let b = *buf.get(*at)?;
        *at += 1;
        if shift > 63 {
            return None;
        }
        n |= u64::from(b & 0x7F) << shift;
        if b < 0x80 {
            return Some(n);
        }
        shift += 7;
    }
}

/// Appends one row to a page: `len ‖ key ‖ len ‖ data`.
fn put_row(page: &mut Vec<u8>, key: &[u8], data: &[u8]) {
    put_varint(page, key.len() as u64);
    page.extend_from_slice(key);
    put_varint(page, data.len() as u64);
    page.extend_from_slice(data);
}

/// Deletes every key in `range`, in bounded batches.
fn delete_range(storage: &dyn Storage, range: KeyRange) -> Result<u64> {
    let mut removed = 0;
    let mut batch = WriteBatch::new();
    for kv in storage.scan(range, Direction::Forward) {
        let (k, _) = kv?;
        batch.delete(k.to_vec());
        removed += 1;
        if batch.len() >= 16 * 1024 {
            storage.write(std::mem::take(&mut batch), false)?;
        }
    }
    if !batch.is_empty() {
        storage.write(batch, false)?;
    }
    Ok(removed)
}

impl Packs {
    /// Reads the manifests and deletes pages no manifest names (left by a crash during a
    /// build or before an old pack's pages were removed). Runs on open, before any commit.
    pub(crate) fn load(storage: &dyn Storage, enabled: bool) -> Result<Self> {
        let mut tables = BTreeMap::new();
        for kv in storage.scan(prefix_range(&keys::meta_key(MANIFEST)), Direction::Forward) {
            let (k, v) = kv?;
            let prefix = k[1 + MANIFEST.len()..].to_vec();
            tables.insert(prefix, decode_manifest(&v)?);
        }
        let named: Vec<u64> = tables
            .values()
            .filter_map(|t: &Tracked| t.pack.as_ref().map(|p| p.id))
            .collect();
        let mut next_id = match storage.get(&keys::meta_key(NEXT_ID))? {
            Some(v) => u64::from_be_bytes(
                v[..]
                    .try_into()
                    .map_err(|_| Error::corruption("malformed pack id counter"))?,
            ),
            None => 1,
        };
        // One seek per distinct pack id in the store: pages of one pack are adjacent.
        let mut from = vec![keys::PAGE];
        loop {
            let range = (
                Bound::Included(from.clone()),
                Bound::Excluded(vec![keys::PAGE + 1]),
            );
            let Some((k, _)) = storage.first_in_range(range)? else {
                break;
            };
            let id = keys::number_after_tag(&k)
                .ok_or_else(|| Error::corruption("malformed page key"))?;
            next_id = next_id.max(id + 1);
            if !named.contains(&id) {
                let n = delete_range(storage, page_range(id))?;
                tracing::info!(
                    pack = id,
                    pages = n,
                    "removed the pages of an unpublished or replaced pack"
                );
            }
            match id.checked_add(1) {
                Some(next) => from = keys::page_key(next, &[]),
                None => break,
            }
        }
        for id in &named {
            next_id = next_id.max(id + 1);
        }
        Ok(Self {
            tables: RwLock::new(tables),
            retired: Mutex::new(Vec::new()),
            next_id: Mutex::new(next_id),
            maintaining: Mutex::new(()),
            trimmed: Mutex::new(BTreeMap::new()),
            not_before: Mutex::new(BTreeMap::new()),
            deferred: Mutex::new(BTreeMap::new()),
            enabled,
        })
    }

    /// The change log a commit writes to: holds the set of tracked tables for the commit's
    /// duration (commits run under the write lock; maintenance changes the set only there).
    pub(crate) fn change_log(&self, group: Option<CountGroup>) -> ChangeLog<'_> {
        ChangeLog {
            group,
            tracked: read(&self.tables),
            lists: RefCell::new(BTreeMap::new()),
            numbered: None,
        }
    }

    /// A change log whose lists are named by number instead of by their first key (see
    /// [`numbered_list_name`]): for the keys a transaction wrote directly, which its commit
    /// logs beside the lists of its other writes.
    pub(crate) fn numbered_change_log(&self, group: Option<CountGroup>) -> ChangeLog<'_> {
        ChangeLog {
            numbered: Some(std::cell::Cell::new(0)),
            ..self.change_log(group)
        }
    }

    /// Starts tracking every table whose counter this commit brings to [`TRACK_ROWS`] rows or
    /// more. `counters` are the counter writes of commit `scn` (logical key, new value); the
    /// manifests join the commit's batch. Called under the write lock, after the commit's
    /// [`ChangeLog`] is dropped.
    pub(crate) fn track_crossed<'k>(
        &self,
        counters: impl Iterator<Item = (&'k [u8], Option<&'k [u8]>)>,
        scn: u64,
        batch: &mut WriteBatch,
    ) {
        if !self.enabled {
            return;
        }
        let mut tables = None;
        for (key, value) in counters {
            let Some(prefix) = key.strip_prefix(&[counters::COUNTER_TAG]) else {
                continue;
            };
            let Some(n) = value.and_then(counters::decode_count) else {
                continue;
            };
            if n < TRACK_ROWS {
                continue;
            }
            let tables = tables.get_or_insert_with(|| write(&self.tables));
            if tables.contains_key(prefix) {
                continue;
            }
            let t = Tracked {
                since: scn,
                pack: None,
            };
            batch.put(manifest_key(prefix), encode_manifest(&t));
            tables.insert(prefix.to_vec(), t);
        }
    }

    /// The pack a forward scan of exactly the table `range` at `scn` can read, if any.
    pub(crate) fn for_scan(&self, range: &KeyRange, scn: u64) -> Option<Arc<Pack>> {
        let tables = read(&self.tables);
        if tables.is_empty() {
            return None;
        }
        let Bound::Included(lo) = &range.0 else {
            return None;
        };
        let t = tables.get(lo.as_slice())?;
        if prefix_range(lo) != *range || scn < t.since {
            return None;
        }
        let pack = t.pack.clone()?;
        (pack.scn >= t.since).then_some(pack)
    }

    /// Forgets the tracked tables under `prefix` (dropped, and past the horizon) and deletes
    /// their packs, logs and manifests. Called by GC.
    pub(crate) fn forget(&self, storage: &dyn Storage, prefix: &[u8]) -> Result<()> {
        let _running = lock(&self.maintaining);
        let gone: Vec<(Vec<u8>, Tracked)> = {
            let mut tables = write(&self.tables);
            let names: Vec<Vec<u8>> = tables
                .keys()
                .filter(|k| k.starts_with(prefix))
                .cloned()
                .collect();
            names
                .into_iter()
                .filter_map(|k| tables.remove(&k).map(|t| (k, t)))
                .collect()
        };
        for (table, t) in gone {
            if let Some(p) = t.pack {
                lock(&self.retired).push(p);
            }
            let mut b = WriteBatch::new();
            b.delete(manifest_key(&table));
            storage.write(b, false)?;
            delete_range(storage, log_range(&table, 0, u64::MAX))?;
        }
        self.sweep(storage)
    }

    /// Deletes the pages of replaced packs no scan holds any more.
    fn sweep(&self, storage: &dyn Storage) -> Result<()> {
        let free: Vec<Arc<Pack>> = {
            let mut retired = lock(&self.retired);
            let (free, held) = retired.drain(..).partition(|p| Arc::strong_count(p) == 1);
            *retired = held;
            free
        };
        for p in free {
            delete_range(storage, page_range(p.id))?;
        }
        Ok(())
    }

    /// The SCN of the oldest pack a scan may still read (the current ones and retired ones
    /// still held), for the log's truncation.
    fn oldest_held(&self) -> Option<u64> {
        lock(&self.retired).iter().map(|p| p.scn).min()
    }

    /// Test hook: the tracked tables.
    #[cfg(test)]
    pub(crate) fn tracked_tables(&self) -> Vec<Vec<u8>> {
        read(&self.tables).keys().cloned().collect()
    }

    /// Test hook: the SCN and row count of the pack of `prefix`, if it has one.
    #[cfg(test)]
    pub(crate) fn pack_of(&self, prefix: &[u8]) -> Option<(u64, u64)> {
        read(&self.tables)
            .get(prefix)?
            .pack
            .as_ref()
            .map(|p| (p.scn, p.rows))
    }
}

/// The first key of a change-log list being gathered, and the encoded keys.
type KeyList = (Vec<u8>, Vec<u8>);

/// The change log of one commit, or of one batch of a spilled commit (see the module
/// documentation): keys are gathered per table as they are recorded and written as list
/// entries when a list is full and by [`ChangeLog::finish`], which every user must call
/// before writing its batch.
pub(crate) struct ChangeLog<'a> {
    group: Option<CountGroup>,
    tracked: RwLockReadGuard<'a, BTreeMap<Vec<u8>, Tracked>>,
    /// Per tracked table written (by prefix): the list being gathered.
    lists: RefCell<BTreeMap<Vec<u8>, KeyList>>,
    /// For a numbered log, the number of its next list.
    numbered: Option<std::cell::Cell<u64>>,
}

/// The name (in place of a first key) of list `n` of a numbered change log of the table
/// `prefix`. Two lists of one commit named alike would be one entry, the second replacing the
/// first: the lists of a commit's ordinary writes are named by their first key, which starts
/// with `prefix`, and these names never do.
fn numbered_list_name(prefix: &[u8], n: u64) -> Vec<u8> {
    let mut name = vec![prefix.first().map_or(0, |b| !b)];
    name.extend_from_slice(&n.to_be_bytes());
    name
}

impl ChangeLog<'_> {
    /// Records a write of `logical` by commit `scn`, if its table is tracked; adds a list
    /// entry to `batch` when the table's list is full.
    pub(crate) fn record(&self, batch: &mut WriteBatch, scn: u64, logical: &[u8]) {
        let Some(prefix) = self.tracked_prefix(logical) else {
            return;
        };
        let mut lists = self.lists.borrow_mut();
        let (first, list) = match lists.get_mut(prefix) {
            Some(l) => l,
            None => lists.entry(prefix.to_vec()).or_default(),
        };
        // A new list (or one just written out) starts at this key.
        if list.is_empty() {
            first.clear();
            first.extend_from_slice(logical);
        }
        put_varint(list, logical.len() as u64);
        list.extend_from_slice(logical);
        if list.len() >= LOG_CHUNK_BYTES {
            batch.put(self.list_key(prefix, scn, first), std::mem::take(list));
        }
    }

    /// Adds the lists still gathering to `batch`, as entries of commit `scn`.
    pub(crate) fn finish(self, batch: &mut WriteBatch, scn: u64) {
        for (prefix, (first, list)) in self.lists.take() {
            if !list.is_empty() {
                batch.put(self.list_key(&prefix, scn, &first), list);
            }
        }
    }

    /// The key of a list of the table `prefix` by commit `scn` starting at `first`.
    fn list_key(&self, prefix: &[u8], scn: u64, first: &[u8]) -> Vec<u8> {
        match &self.numbered {
            None => keys::change_key(prefix, scn, first),
            Some(next) => {
                let n = next.get();
                next.set(n + 1);
                keys::change_key(prefix, scn, &numbered_list_name(prefix, n))
            }
        }
    }

    /// True if no table is tracked (nothing is ever logged).
    pub(crate) fn tracks_nothing(&self) -> bool {
        self.tracked.is_empty()
    }

    /// False if no key starting with `prefix` can belong to a tracked table: no tracked
    /// table's prefix starts with `prefix` or is a prefix of it.
    pub(crate) fn may_track_under(&self, prefix: &[u8]) -> bool {
        let within = self
            .tracked
            .range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded))
            .next()
            .is_some_and(|(t, _)| t.starts_with(prefix));
        within || (0..=prefix.len()).any(|n| self.tracked.contains_key(&prefix[..n]))
    }

    /// False if no key from `first` to `last` (inclusive) can belong to a tracked table: no
    /// tracked table's prefix sorts between them or is a prefix of `first`.
    pub(crate) fn may_track_in(&self, first: &[u8], last: &[u8]) -> bool {
        let within = self
            .tracked
            .range::<[u8], _>((Bound::Included(first), Bound::Included(last)))
            .next()
            .is_some();
        within || (0..=first.len()).any(|n| self.tracked.contains_key(&first[..n]))
    }

    /// The tracked table `logical` belongs to, if any.
    fn tracked_prefix<'k>(&self, logical: &'k [u8]) -> Option<&'k [u8]> {
        if self.tracked.is_empty() {
            return None;
        }
        let len = self.group.and_then(|g| g(logical))?;
        let prefix = logical.get(..len)?;
        self.tracked.contains_key(prefix).then_some(prefix)
    }
}

/// What one maintenance run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PackReport {
    /// Tables whose tracking maintenance started (they were large before tracking existed).
    pub tracked: u64,
    /// Packs built.
    pub built: u64,
    /// Rows written into pages.
    pub rows_packed: u64,
    /// Change-log entries deleted.
    pub log_entries_removed: u64,
}

/// Counts the keys the log of `prefix` names after `scn` (a key written by several commits
/// counts once per commit), stopping at `limit`.
fn log_entries_after(storage: &dyn Storage, prefix: &[u8], scn: u64, limit: u64) -> Result<u64> {
    let mut n = 0;
    for kv in storage.scan(log_range(prefix, scn, u64::MAX), Direction::Forward) {
        let (k, v) = kv?;
        n += logged_keys(prefix, &k, &v, |_| {})? as u64;
        if n >= limit {
            break;
        }
    }
    Ok(n)
}

/// Log entries since its pack past which a table is packed again: past them a scan would
/// spend more on reading logged rows the ordinary way than a new pack costs.
fn rebuild_threshold(rows: u64) -> u64 {
    (rows / 32).max(512)
}

/// Builds, replaces and trims packs (see the module documentation) now. Run by checkpoints
/// and on request.
pub(crate) fn maintain(mvcc: &Mvcc) -> Result<PackReport> {
    maintain_paced(mvcc, false)
}

/// [`maintain`] for the background thread: a rebuild of a table whose pack was rebuilt
/// recently waits (see [`BACKGROUND_PACE`]).
pub(crate) fn maintain_in_background(mvcc: &Mvcc) -> Result<PackReport> {
    maintain_paced(mvcc, true)
}

fn maintain_paced(mvcc: &Mvcc, paced: bool) -> Result<PackReport> {
    let inner = &mvcc.0;
    let packs = &inner.packs;
    let mut report = PackReport::default();
    if !inner.options.pack_tables || inner.options.count_group.is_none() {
        return Ok(report);
    }
    let _running = lock(&packs.maintaining);
    let storage = &*inner.storage;
    // Row counts at the newest SCN, from the counters.
    let snapshot = mvcc.snapshot();
    let mut counts = BTreeMap::new();
    for kv in snapshot.scan_prefix(&[counters::COUNTER_TAG]) {
        let (k, v) = kv?;
        if let Some(n) = counters::decode_count(&v) {
            counts.insert(k[1..].to_vec(), n);
        }
    }
    drop(snapshot);
    // Tables that were large before they could be tracked.
    let untracked: Vec<&Vec<u8>> = {
        let tables = read(&packs.tables);
        counts
            .iter()
            .filter(|(p, n)| **n >= TRACK_ROWS && !tables.contains_key(p.as_slice()))
            .map(|(p, _)| p)
            .collect()
    };
    if !untracked.is_empty() {
        // Under the write lock no commit is being built, and every assigned SCN is written.
        if let Some(_writer) = mvcc.try_write_lock() {
            let since = lock(&inner.pipeline).assigned;
            let mut batch = WriteBatch::new();
            let mut tables = write(&packs.tables);
            for p in untracked {
                let t = Tracked { since, pack: None };
                batch.put(manifest_key(p), encode_manifest(&t));
                tables.insert(p.clone(), t);
                report.tracked += 1;
            }
            storage.write(batch, true)?;
        }
    }
    let tracked: Vec<(Vec<u8>, Tracked)> = read(&packs.tables)
        .iter()
        .map(|(k, t)| (k.clone(), t.clone()))
        .collect();
    for (prefix, t) in tracked {
        if mvcc.closing() {
            return Err(Mvcc::closing_error());
        }
        let rows = counts.get(&prefix).copied().unwrap_or(0).max(0) as u64;
        // A table starts being tracked inside its commit, before that commit is published:
        // its pack must wait until the newest published SCN has caught up.
        if mvcc.latest_scn() < t.since {
            continue;
        }
        let yields = paced
            && lock(&packs.deferred).get(&prefix).copied().unwrap_or(0) < MAX_DEFERRALS_IN_A_ROW;
        let due = match &t.pack {
            None => true,
            Some(p) if p.scn < t.since => true,
            Some(_) if paced && lock(&packs.not_before).get(&prefix) > Some(&Instant::now()) => {
                false
            }
            Some(p) => {
                let limit = rebuild_threshold(rows);
                log_entries_after(storage, &prefix, p.scn, limit)? >= limit
            }
        };
        if due && yields && writes_hold_on(mvcc) {
            // Tried again at the next round (see `YIELD_TO_WRITES_AFTER`).
            *lock(&packs.deferred).entry(prefix).or_insert(0) += 1;
            continue;
        }
        if due {
            let started = Instant::now();
            match build(mvcc, &prefix, t.since, yields)? {
                Built::Rows(rows) => {
                    report.rows_packed += rows;
                    report.built += 1;
                }
                Built::NotYet => {}
                Built::GaveWay => {
                    // Not paced: the next round tries again.
                    *lock(&packs.deferred).entry(prefix).or_insert(0) += 1;
                    continue;
                }
            }
            lock(&packs.deferred).remove(&prefix);
            let next = Instant::now() + started.elapsed() * BACKGROUND_PACE;
            lock(&packs.not_before).insert(prefix, next);
        }
    }
    packs.sweep(storage)?;
    // Log entries at or below every pack a scan may use and below the horizon serve nobody.
    let horizon = mvcc.horizon();
    let held = packs.oldest_held();
    let tracked: Vec<(Vec<u8>, Tracked)> = read(&packs.tables)
        .iter()
        .map(|(k, t)| (k.clone(), t.clone()))
        .collect();
    for (prefix, t) in tracked {
        let Some(p) = &t.pack else { continue };
        let upto = p.scn.min(horizon).min(held.unwrap_or(u64::MAX));
        let from = lock(&packs.trimmed)
            .get(&prefix)
            .copied()
            .unwrap_or(t.since);
        if upto > from {
            report.log_entries_removed += delete_range(storage, log_range(&prefix, from, upto))?;
            lock(&packs.trimmed).insert(prefix, upto);
        }
    }
    Ok(report)
}

/// True when a transaction has held the write lock for [`YIELD_TO_WRITES_AFTER`].
fn writes_hold_on(mvcc: &Mvcc) -> bool {
    mvcc.writer_busy_for()
        .is_some_and(|held| held >= YIELD_TO_WRITES_AFTER)
}

/// The pages of a pack being built, as `(page key, page)` pairs in key order, from the table's
/// rows at the build's SCN. A read error ends the pages and is kept in `failed`.
struct Pages<'a> {
    id: u64,
    /// Stops the build when the database is being closed ([`Mvcc::close_background`]).
    mvcc: &'a Mvcc,
    rows_at_scn: Box<dyn Iterator<Item = Result<crate::storage::KvPair>> + 'a>,
    failed: Option<Error>,
    rows: u64,
    /// A background build, which ends early for a long write (see [`YIELD_TO_WRITES_AFTER`]).
    yields: bool,
    /// It ended early for one.
    yielded: bool,
}

impl Iterator for Pages<'_> {
    type Item = (Vec<u8>, Vec<u8>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed.is_some() {
            return None;
        }
        if self.mvcc.closing() {
            self.failed = Some(Mvcc::closing_error());
            return None;
        }
        if self.yields && writes_hold_on(self.mvcc) {
            self.yielded = true;
            return None;
        }
        let mut page = Vec::with_capacity(PAGE_BYTES + 1024);
        let mut first: Option<Bytes> = None;
        while page.len() < PAGE_BYTES {
            match self.rows_at_scn.next() {
                None => break,
                Some(Err(e)) => {
                    self.failed = Some(e);
                    return None;
                }
                Some(Ok((k, data))) => {
                    put_row(&mut page, &k, &data);
                    self.rows += 1;
                    if first.is_none() {
                        first = Some(k);
                    }
                }
            }
        }
        let first = first?;
        Some((keys::page_key(self.id, &first), page))
    }
}

/// Writes `pages` through ordinary batches of about [`BUILD_BATCH_BYTES`], until `limit`
/// bytes are written; returns true if it stopped there (pages may be left).
fn write_in_batches(storage: &dyn Storage, pages: &mut Pages<'_>, limit: usize) -> Result<bool> {
    let mut batch = WriteBatch::new();
    let mut batch_bytes = 0;
    let mut written = 0;
    for (k, page) in pages.by_ref() {
        batch_bytes += page.len();
        batch.put(k, page);
        if batch_bytes >= BUILD_BATCH_BYTES.min(limit) {
            written += batch_bytes;
            storage.write(std::mem::take(&mut batch), false)?;
            batch_bytes = 0;
            if written >= limit {
                return Ok(true);
            }
        }
    }
    storage.write(batch, false)?;
    Ok(false)
}

/// Builds a pack of the table `prefix`, tracked since `since`, as of the newest SCN and
/// publishes it. When it `yields` (a background build) it ends early, publishing nothing, for
/// a long write (see [`YIELD_TO_WRITES_AFTER`]).
///
/// The rows are read through the table's current pack when it has one (its pages, plus the
/// rows its log names since, read the ordinary way: what every scan at that SCN reads), which
/// costs a tenth of walking the heads; the first pack is read from the heads.
pub(super) fn build(mvcc: &Mvcc, prefix: &[u8], since: u64, yields: bool) -> Result<Built> {
    let inner = &mvcc.0;
    let storage = &*inner.storage;
    // The pin keeps GC from removing versions the build reads.
    let pin = mvcc.pin_latest();
    let scn = pin.scn();
    if scn < since {
        return Ok(Built::NotYet);
    }
    let id = {
        let mut next = lock(&inner.packs.next_id);
        let id = *next;
        *next += 1;
        let mut b = WriteBatch::new();
        b.put(keys::meta_key(NEXT_ID), (id + 1).to_be_bytes().to_vec());
        storage.write(b, false)?;
        id
    };
    let range = prefix_range(prefix);
    let rows_at_scn: Box<dyn Iterator<Item = Result<crate::storage::KvPair>>> =
        match super::pack_scan::PackedIter::open_with_share(
            storage,
            &inner.packs,
            &range,
            scn,
            Direction::Forward,
            1,
        )? {
            Some(packed) => Box::new(packed),
            None => Box::new(
                view::HeadsIter::new(storage, &range, scn, Direction::Forward)
                    .published(inner.published()),
            ),
        };
    let mut pages = Pages {
        id,
        mvcc,
        rows_at_scn,
        failed: None,
        rows: 0,
        yields,
        yielded: false,
    };
    // The first pages go through the memtable like any write; past `pack_ingest_bytes`
    // (INGEST_PAGES_AFTER), the rest (the page keys are new and ascend) straight into sorted
    // table files.
    let limit = match storage.ingests_sorted() {
        true => inner.options.pack_ingest_bytes,
        false => usize::MAX,
    };
    let written = write_in_batches(storage, &mut pages, limit).and_then(|more| match more {
        true => {
            storage.write_sorted(&mut (&mut pages).map(|(k, v)| (Bytes::from(k), Bytes::from(v))))
        }
        false => Ok(()),
    });
    let ended_early = pages.yielded;
    if let Some(e) = written.err().or(pages.failed) {
        // Pages may have been written: they go with the retired packs (no scan reads them).
        lock(&inner.packs.retired).push(Arc::new(Pack { id, scn, rows: 0 }));
        return Err(e);
    }
    if ended_early {
        // Given way to a long write: its pages go the same way, and no pack is published.
        lock(&inner.packs.retired).push(Arc::new(Pack { id, scn, rows: 0 }));
        return Ok(Built::GaveWay);
    }
    let rows = pages.rows;
    // The pages must be durable before a manifest names them.
    storage.sync()?;
    drop(pin);
    let pack = Arc::new(Pack { id, scn, rows });
    let mut tables = write(&inner.packs.tables);
    let Some(t) = tables.get_mut(prefix) else {
        // Forgotten meanwhile (cannot happen while `maintaining` is held; kept for safety).
        drop(tables);
        lock(&inner.packs.retired).push(pack);
        return Ok(Built::NotYet);
    };
    let old = t.pack.replace(pack);
    let mut b = WriteBatch::new();
    b.put(manifest_key(prefix), encode_manifest(t));
    drop(tables);
    storage.write(b, true)?;
    if let Some(old) = old {
        lock(&inner.packs.retired).push(old);
    }
    Ok(Built::Rows(rows))
}

/// Compares a scan of the table `prefix` at `scn` through its pack with a scan of the heads,
/// for `PRAGMA integrity_check`. Describes the first difference; `None` when they agree or
/// when no pack serves the scan.
pub(crate) fn verify(inner: &super::Inner, prefix: &[u8], scn: u64) -> Result<Option<String>> {
    let range = prefix_range(prefix);
    let Some(packed) = super::pack_scan::PackedIter::open(
        &*inner.storage,
        &inner.packs,
        &range,
        scn,
        Direction::Forward,
    )?
    else {
        return Ok(None);
    };
    let mut heads = view::HeadsIter::new(&*inner.storage, &range, scn, Direction::Forward);
    let mut rows = 0u64;
    for p in packed {
        let (pk, pv) = p?;
        match heads.next().transpose()? {
            Some((hk, hv)) if hk[..] == pk[..] && hv[..] == pv[..] => rows += 1,
            Some(_) => {
                return Ok(Some(format!(
                    "its packed copy differs from the stored rows after {rows} rows"
                )))
            }
            None => {
                return Ok(Some(format!(
                    "its packed copy has more than its {rows} rows"
                )))
            }
        }
    }
    Ok(heads
        .next()
        .transpose()?
        .map(|_| format!("its packed copy misses rows after {rows} rows")))
}
