//! Reading versioned data as of one SCN.
//!
//! Every read starts from the head (see [`keys`]): when the head was written at or before the
//! snapshot, it is the answer, and a current read costs one point lookup. Only when the head is
//! newer than the snapshot does the read look in the history: in the storage's copy of the
//! key's whole history when it keeps one ([`Storage::settled_run`]: a key read often), at the
//! exact key of the version its list of past versions names (one more point lookup,
//! [`keys::Past`]), or by a seek when the head has no list or the version is older than the
//! list. Commits write a new head and the
//! history entry of the old one in one atomic batch, and a later read sees at least what an
//! earlier one saw, so a head read first and a history read second always agree, even while
//! commits land in between. Heads are never removed while a snapshot could need them: deletes
//! write tombstone heads, which GC removes only once they are older than the horizon.

use super::keys;
use super::pack_scan::PackedIter;
use super::Inner;
use crate::error::Result;
use crate::storage::{Bytes, Direction, KeyRange, KvPair, Storage};
use std::ops::Bound;
use std::sync::Arc;

/// Maps a range of logical keys to the range of their head keys.
fn head_range(range: &KeyRange) -> KeyRange {
    let map = |b: &Bound<Vec<u8>>| match b {
        Bound::Included(k) => Bound::Included(keys::head_key(k)),
        Bound::Excluded(k) => Bound::Excluded(keys::head_key(k)),
        Bound::Unbounded => Bound::Unbounded,
    };
    let lo = match &range.0 {
        Bound::Unbounded => Bound::Included(vec![keys::HEAD]),
        b => map(b),
    };
    let hi = match &range.1 {
        Bound::Unbounded => Bound::Excluded(vec![keys::HEAD + 1]),
        b => map(b),
    };
    (lo, hi)
}

/// The stored head value of `logical`, if it has one.
pub(crate) fn head(storage: &dyn Storage, logical: &[u8]) -> Result<Option<Bytes>> {
    storage.get(&keys::head_key(logical))
}

/// [`head`], read by a caller about to write a new head for `logical`: not worth a place in
/// the store's cache ([`Storage::get_to_replace`]).
pub(crate) fn head_to_replace(storage: &dyn Storage, logical: &[u8]) -> Result<Option<Bytes>> {
    storage.get_to_replace(&keys::head_key(logical))
}

/// The data of the stored version value `value`, already decoded as `version` (`None` for a
/// tombstone), as a view of the same bytes.
fn version_data(value: &Bytes, version: &keys::Version<'_>) -> Option<Bytes> {
    version.data.map(|_| value.slice(version.header_len..))
}

/// What the history says about `logical` at `scn`: `None` if no history entry was superseded
/// after `scn` (then the head decides), otherwise the data visible at `scn` (`Some(None)`: the
/// key did not exist then). One seek.
fn from_history(storage: &dyn Storage, logical: &[u8], scn: u64) -> Result<Option<Option<Bytes>>> {
    let Some(after) = scn.checked_add(1) else {
        return Ok(None);
    };
    let range = (
        Bound::Included(keys::history_key(logical, after)),
        Bound::Included(keys::history_key(logical, u64::MAX)),
    );
    // Settled: a superseded version never changes, every later one sorts after it (its end
    // SCN is larger), and GC removes it only once no snapshot before its end can read.
    let Some((_, value)) = storage.first_in_settled_range(range)? else {
        return Ok(None);
    };
    let version = keys::decode_version(&value)?;
    if version.begin > scn {
        return Ok(Some(None));
    }
    Ok(Some(version_data(&value, &version)))
}

/// [`from_history`] answered from the storage's copy of the key's whole history
/// ([`Storage::settled_run`]), when it keeps one that reaches past `scn`: a binary search
/// instead of a read. The history only grows at its end, so the copy's first entry ending
/// after `scn` is the store's too; `None` when there is no such copy. `prefix` is the
/// history's ([`keys::history_prefix`]); `pairs` estimates how
/// long the history is, for a caller about to read it otherwise (`None`: look for a copy
/// already kept, and count nothing).
fn from_run(
    storage: &dyn Storage,
    prefix: &[u8],
    pairs: Option<usize>,
    scn: u64,
) -> Result<Option<Option<Bytes>>> {
    let Some(after) = scn.checked_add(1) else {
        return Ok(None);
    };
    let after = after.to_be_bytes();
    let Some(run) = storage.settled_run(prefix, keys::SCN_LEN, &after, pairs)? else {
        return Ok(None);
    };
    let at = run.seek(&after);
    if at == run.len() {
        return Ok(None);
    }
    #[cfg(test)]
    RUN_READS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let value = run.value(at);
    let version = keys::decode_version(&value)?;
    if version.begin > scn {
        return Ok(Some(None));
    }
    Ok(Some(version_data(&value, &version)))
}

/// About how many versions the history of the key whose head is `head` holds. A list of
/// past versions with room left was not cut for space: it misses at most the versions
/// before it started (a row inserted without a list: one). A full list says only that
/// there are more than it lists, and no list (a head of an earlier format) that there may
/// be many.
fn history_size(head: &keys::Version<'_>) -> usize {
    // Its bytes count its entries closely enough (one byte each while versions are fewer
    // than 64 commits apart) without walking it; an entry takes at most 10 bytes.
    match head.past {
        Some(past) if past.listed_bytes() + 10 < keys::PAST_MAX_BYTES => past.listed_bytes() + 1,
        _ => 2 * keys::PAST_MAX_BYTES,
    }
}

/// Reads answered by a copy of a key's history, for tests.
#[cfg(test)]
pub(crate) static RUN_READS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// What the list of past versions of a head that began after some SCN says about the key
/// at that SCN ([`listed_at`]).
enum Listed {
    /// The key had no version then (a row inserted later, or deleted then): no read needed.
    Absent,
    /// The version that began at `begin` and was superseded at `end` was visible then.
    Version { begin: u64, end: u64 },
    /// The list cannot tell (the version is older than the listed ones), or there is none.
    Unknown,
}

/// What the list `past` of a head that began at `head_begin`, after `scn`, says about the
/// key at `scn`; no I/O.
fn listed_at(past: keys::Past<'_>, head_begin: u64, scn: u64) -> Result<Listed> {
    if let Some(listed) = past.version_at(head_begin, scn)? {
        if listed.deleted {
            return Ok(Listed::Absent);
        }
        return Ok(Listed::Version {
            begin: listed.begin,
            end: listed.end,
        });
    }
    // Older than every listed version: a complete list goes back to the key's first one.
    Ok(match past.is_truncated() {
        true => Listed::Unknown,
        false => Listed::Absent,
    })
}

/// The data of the version of `logical` a head's list names ([`Listed::Version`]), read with
/// one point lookup of its exact history key; `None` when it is not where the list says
/// (then the history is sought).
fn from_listed(
    storage: &dyn Storage,
    logical: &[u8],
    begin: u64,
    end: u64,
) -> Result<Option<Option<Bytes>>> {
    let Some(value) = storage.get(&keys::history_key(logical, end))? else {
        return Ok(None);
    };
    let version = keys::decode_version(&value)?;
    if version.begin != begin {
        return Ok(None);
    }
    #[cfg(test)]
    PAST_READS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(Some(version_data(&value, &version)))
}

/// Reads answered by a head's list of past versions, for tests.
#[cfg(test)]
pub(crate) static PAST_READS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The data of `logical` visible at `scn`, given its head value as read just before.
pub(crate) fn resolve_with_head(
    storage: &dyn Storage,
    logical: &[u8],
    head: Option<Bytes>,
    scn: u64,
) -> Result<Option<Bytes>> {
    // No head: the key never existed, or its tombstone fell behind the horizon (and with it
    // every older version).
    let Some(value) = head else {
        return Ok(None);
    };
    let version = keys::decode_version(&value)?;
    if version.begin <= scn {
        return Ok(version_data(&value, &version));
    }
    // A copy of the history already kept answers at once, without walking the list.
    let prefix = keys::history_prefix(logical);
    if let Some(found) = from_run(storage, &prefix, None, scn)? {
        return Ok(found);
    }
    let listed = match version.past {
        Some(past) => listed_at(past, version.begin, scn)?,
        None => Listed::Unknown,
    };
    if let Listed::Absent = listed {
        return Ok(None);
    }
    // A read or a seek follows: ask for a copy (counted only here, so that reads the list
    // answers alone do not lead to one).
    if let Some(found) = from_run(storage, &prefix, Some(history_size(&version)), scn)? {
        return Ok(found);
    }
    if let Listed::Version { begin, end } = listed {
        if let Some(found) = from_listed(storage, logical, begin, end)? {
            return Ok(found);
        }
    }
    Ok(from_history(storage, logical, scn)?.flatten())
}

/// The data of `logical` visible at `scn`: the head first, then (for a head newer than
/// `scn`) the version its list of past versions names, or a seek into the history.
pub(crate) fn read_at(storage: &dyn Storage, logical: &[u8], scn: u64) -> Result<Option<Bytes>> {
    resolve_with_head(storage, logical, head(storage, logical)?, scn)
}

/// Every SCN at which a logical key starting with `prefix` got or lost a version, ascending,
/// as far back as the history goes.
pub(crate) fn change_points(storage: &dyn Storage, prefix: &[u8]) -> Result<Vec<u64>> {
    let mut points = Vec::new();
    for kv in storage.scan(
        crate::storage::prefix_range(&keys::head_key(prefix)),
        Direction::Forward,
    ) {
        let (_, v) = kv?;
        points.push(keys::decode_version(&v)?.begin);
    }
    for kv in storage.scan(
        crate::storage::prefix_range(&keys::history_prefix(prefix)),
        Direction::Forward,
    ) {
        let (k, v) = kv?;
        let (_, end) = keys::split_history_key(&k)
            .ok_or_else(|| crate::Error::corruption("malformed history key"))?;
        points.push(keys::decode_version(&v)?.begin);
        points.push(end);
    }
    points.sort_unstable();
    points.dedup();
    Ok(points)
}

/// Scans that went through a pack, for tests.
#[cfg(test)]
pub(crate) static PACKED_SCANS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Iterates the live logical keys visible at an SCN, with their data: through the table's
/// pack when it has one that serves the scan ([`super::pack_scan`]), otherwise through the
/// heads ([`HeadsIter`]).
pub(crate) enum VisibleIter<'a> {
    /// A scan of the heads.
    Heads(HeadsIter<'a>),
    /// A scan of a packed table.
    Packed(Box<PackedIter<'a>>),
}

impl<'a> VisibleIter<'a> {
    pub(crate) fn new(inner: &'a Inner, range: &KeyRange, scn: u64, dir: Direction) -> Self {
        let storage = &*inner.storage;
        match PackedIter::open(storage, &inner.packs, range, scn, dir) {
            Ok(Some(packed)) => {
                #[cfg(test)]
                PACKED_SCANS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Self::Packed(Box::new(packed));
            }
            Ok(None) => {}
            // The heads are the truth: a pack that cannot be read is only a lost shortcut.
            Err(e) => tracing::warn!(error = %e, "scanning through the heads: the pack failed"),
        }
        Self::Heads(HeadsIter::new(storage, range, scn, dir).published(inner.published()))
    }

    /// A scan of the heads even where a pack could serve it: for a transaction that wrote
    /// heads directly, which the change logs do not name before its commit.
    pub(crate) fn heads(inner: &'a Inner, range: &KeyRange, scn: u64, dir: Direction) -> Self {
        Self::Heads(HeadsIter::new(&*inner.storage, range, scn, dir).published(inner.published()))
    }

    /// Makes a scan of the heads leave each live row it yields, with its head, in `slot`
    /// (see [`HeadSlot`]). A scan through a pack reads no heads and leaves nothing.
    pub(crate) fn capture_heads(&mut self, slot: &'a HeadSlot) {
        if let Self::Heads(it) = self {
            it.capture = Some(slot);
        }
    }
}

/// The last row a capturing scan yielded, as its logical key and its stored head value (the
/// whole version, header included): what a commit superseding the row moves to the history.
pub(crate) type HeadSlot = std::cell::RefCell<Option<KvPair>>;

impl Iterator for VisibleIter<'_> {
    type Item = Result<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Heads(it) => it.next(),
            Self::Packed(it) => it.next(),
        }
    }
}

/// Iterates the live logical keys visible at an SCN, with their data: a scan of the heads,
/// with a history seek for each key changed after the SCN.
pub(crate) struct HeadsIter<'a> {
    storage: &'a dyn Storage,
    heads: crate::storage::KvIter<'a>,
    scn: u64,
    /// Forward scans read the history of the range in step with the heads.
    history: Option<HistoryCursor<'a>>,
    /// Where each row yielded from its head is left (see [`VisibleIter::capture_heads`]).
    capture: Option<&'a HeadSlot>,
}

/// History entries skipped before a cursor gives up walking and seeks instead: stepping over
/// an entry costs a fraction of a seek (a new LSM range iterator), so walking wins while the
/// keys the scan needs lie close together, and the walk is cut off where they do not.
const SKIP_BEFORE_SEEK: usize = 32;

/// A forward walk over one key range that serves lookups of ascending keys: it steps while
/// the next key wanted lies close ahead and seeks (a new LSM range iterator) past
/// [`SKIP_BEFORE_SEEK`] entries. Lookups of many keys of a range, in order, then read each
/// block once, where a point read per key reloads its block (and, once the block cache churns,
/// the table's index and filter blocks) every time.
struct ForwardCursor<'a> {
    source: WalkSource<'a>,
    /// Upper bound of the walked range.
    end: Bound<Vec<u8>>,
    iter: Option<crate::storage::KvIter<'a>>,
    /// The entry the iterator stands on (read, not yet passed).
    current: Option<KvPair>,
    /// Entries stepped over and seeks made so far (what the walk cost).
    steps: u64,
    seeks: u64,
}

/// The store a walk reads: borrowed for a walk inside one call, held for a walk a
/// transaction keeps across statements ([`AscendingHeads::kept`]).
enum WalkSource<'a> {
    Borrowed(&'a dyn Storage),
    Held(Arc<dyn Storage>),
}

impl<'a> WalkSource<'a> {
    fn storage(&self) -> &dyn Storage {
        match self {
            WalkSource::Borrowed(s) => *s,
            WalkSource::Held(s) => &**s,
        }
    }

    /// A forward iterator over `range`; `None` when a held store has none to give
    /// ([`Storage::scan_owned`]).
    fn scan(&self, range: KeyRange) -> Option<crate::storage::KvIter<'a>> {
        match self {
            WalkSource::Borrowed(s) => Some(s.scan(range, Direction::Forward)),
            WalkSource::Held(s) => Arc::clone(s).scan_owned(range),
        }
    }
}

impl<'a> ForwardCursor<'a> {
    fn new(source: WalkSource<'a>, end: Bound<Vec<u8>>) -> Self {
        Self {
            source,
            end,
            iter: None,
            current: None,
            steps: 0,
            seeks: 0,
        }
    }

    fn seek(&mut self, target: Vec<u8>) -> Result<()> {
        self.seeks += 1;
        let range = (Bound::Included(target), self.end.clone());
        match self.source.scan(range.clone()) {
            Some(mut iter) => {
                self.current = iter.next().transpose()?;
                self.iter = Some(iter);
            }
            // No iterator to keep: every later target is sought again (`iter` stays None).
            None => self.current = self.source.storage().first_in_range(range)?,
        }
        Ok(())
    }

    /// The first entry at or after `target`, which is at or after every target asked before.
    fn advance_to(&mut self, target: Vec<u8>) -> Result<Option<&KvPair>> {
        if self.iter.is_none() {
            self.seek(target)?;
        } else {
            let mut skipped = 0;
            while self
                .current
                .as_ref()
                .is_some_and(|(k, _)| k[..] < target[..])
            {
                skipped += 1;
                self.steps += 1;
                if skipped > SKIP_BEFORE_SEEK {
                    self.seek(target)?;
                    break;
                }
                let iter = self
                    .iter
                    .as_mut()
                    .expect("a cursor with an entry has an iterator");
                self.current = iter.next().transpose()?;
            }
        }
        Ok(self.current.as_ref())
    }
}

/// A forward walk through the history entries of a scanned range, for the keys whose head is
/// newer than the snapshot. History keys are `logical ‖ end`, in the same order as the heads,
/// so the entries a forward scan needs come in order: one iterator serves them all, and a
/// historical scan costs a step per history entry of the range instead of a seek per
/// changed row. (Reverse scans keep one seek per changed row.)
pub(super) struct HistoryCursor<'a> {
    walk: ForwardCursor<'a>,
    /// An SCN published before the walk's first seek (0: none known): every history entry of
    /// a commit up to it is in storage before the walk reads anything.
    published: u64,
}

impl<'a> HistoryCursor<'a> {
    /// A walk through the history of `range`. `published` is an SCN already published when
    /// this is called (0 if none is known): see [`HistoryCursor::lookup`].
    pub(super) fn new(storage: &'a dyn Storage, range: &KeyRange, published: u64) -> Self {
        let end = match &range.1 {
            Bound::Unbounded => Bound::Excluded(vec![keys::HISTORY + 1]),
            Bound::Included(k) => Bound::Included(keys::history_key(k, u64::MAX)),
            Bound::Excluded(k) => Bound::Excluded(keys::history_prefix(k)),
        };
        Self {
            walk: ForwardCursor::new(WalkSource::Borrowed(storage), end),
            published,
        }
    }

    /// [`from_history`] for `logical`, which is after every key asked before, whose head
    /// (read just before) began at `head_begin`; `storage` is the walk's (for a seek).
    pub(super) fn lookup(
        &mut self,
        storage: &dyn Storage,
        logical: &[u8],
        scn: u64,
        head_begin: u64,
    ) -> Result<Option<Option<Bytes>>> {
        let Some(after) = scn.checked_add(1) else {
            return Ok(None);
        };
        // The cursor may have read this part of the history before the head was read (a
        // backend's iterator need not be a snapshot: the in-memory one refills in chunks),
        // and a commit in between may have moved the version the snapshot needs into the
        // history. An entry found is still right: new entries end later than every existing
        // one, so the first one ending after `scn` never changes. Finding none is what a
        // stale view can get wrong, so that answer comes from a fresh seek, made after the
        // head was read, as `resolve_with_head` does.
        //
        // Unless the head's commit was published before the walk began: the entry the
        // snapshot needs, if there is one, ends after `scn` and at or before the head's
        // begin (the head superseded it), so a commit no later than the head's wrote it, and
        // the walk sees every such entry. Finding none then means the key had no version at
        // `scn`: the rows of a table added after the snapshot cost no seek each.
        let settled = head_begin <= self.published;
        let Some((key, value)) = self.walk.advance_to(keys::history_key(logical, after))? else {
            return match settled {
                true => Ok(Some(None)),
                false => from_history(storage, logical, scn),
            };
        };
        match keys::split_history_key(key) {
            Some((l, _)) if l == logical => {}
            Some(_) if settled => return Ok(Some(None)),
            Some(_) => return from_history(storage, logical, scn),
            None => return Err(crate::Error::corruption("malformed history key")),
        }
        let version = keys::decode_version(value)?;
        if version.begin > scn {
            return Ok(Some(None));
        }
        Ok(Some(version_data(value, &version)))
    }
}

/// A forward walk through the heads of a scanned range, for reading many keys of it in
/// ascending order (the keys a packed table's change log names).
pub(super) struct HeadCursor<'a>(ForwardCursor<'a>);

impl<'a> HeadCursor<'a> {
    pub(super) fn new(storage: &'a dyn Storage, range: &KeyRange) -> Self {
        Self(ForwardCursor::new(
            WalkSource::Borrowed(storage),
            head_range(range).1,
        ))
    }

    /// [`head`] of `logical`, which is after every key asked before. The cursor opens after
    /// the reading snapshot was taken, so it sees every head committed at or before it; a
    /// head that lands later has a newer begin, which [`resolve_with_head`] takes to the
    /// history, as it would a head read by a point lookup.
    pub(super) fn lookup(&mut self, logical: &[u8]) -> Result<Option<Bytes>> {
        let target = keys::head_key(logical);
        Ok(match self.0.advance_to(target.clone())? {
            Some((k, v)) if k[..] == target[..] => Some(v.clone()),
            _ => None,
        })
    }
}

/// Reads the committed heads of many keys asked in ascending order (the keys a commit
/// supersedes without having read their heads: rows a DML statement read through a pack,
/// index entries of changed rows, a spilled commit's chunk), through one forward walk
/// ([`HeadCursor`]) while the keys lie close together, and by point reads once the walk
/// proves to cost more than they would: a walk steps over about four heads in the time of
/// one point read through the memtable and every run's bloom filter, and a point read is
/// what a walk over sparse keys degrades to after its seek.
pub(super) struct AscendingHeads<'a> {
    source: WalkSource<'a>,
    cursor: Option<HeadCursor<'a>>,
    lookups: u64,
}

/// Lookups an [`AscendingHeads`] walk makes before it judges its cost.
const WALK_TRIAL: u64 = 64;

impl<'a> AscendingHeads<'a> {
    /// A reader of the heads of `storage`; `walk` chooses whether to try the forward walk
    /// (worth it only for many keys).
    pub(super) fn new(storage: &'a dyn Storage, walk: bool) -> Self {
        Self {
            source: WalkSource::Borrowed(storage),
            cursor: walk.then(|| HeadCursor::new(storage, &(Bound::Unbounded, Bound::Unbounded))),
            lookups: 0,
        }
    }

    /// A walking reader that holds `storage`, for a transaction to keep across statements
    /// ([`super::rewrite_reads`]). The caller must see to it that no head changes while the
    /// walk is kept, as it does while it holds the write lock and writes no head itself: the
    /// walk's iterator may not see a head written after it opened.
    pub(super) fn kept(storage: Arc<dyn Storage>) -> AscendingHeads<'static> {
        let all = head_range(&(Bound::Unbounded, Bound::Unbounded));
        AscendingHeads {
            cursor: Some(HeadCursor(ForwardCursor::new(
                WalkSource::Held(Arc::clone(&storage)),
                all.1,
            ))),
            source: WalkSource::Held(storage),
            lookups: 0,
        }
    }

    /// True while the reader walks (it has not fallen back to point reads).
    pub(super) fn walking(&self) -> bool {
        self.cursor.is_some()
    }

    /// [`head`] of `logical`, which is after every key asked before ([`head_to_replace`] once
    /// the walk gave way to point reads).
    pub(super) fn lookup(&mut self, logical: &[u8]) -> Result<Option<Bytes>> {
        // The commit asking writes every key it asks for: a cached copy would only be
        // dropped again.
        let Some(cursor) = &mut self.cursor else {
            return head_to_replace(self.source.storage(), logical);
        };
        let found = cursor.lookup(logical)?;
        self.lookups += 1;
        let walk = &cursor.0;
        if self.lookups >= WALK_TRIAL
            && (walk.steps > 4 * self.lookups || walk.seeks * 8 > self.lookups)
        {
            self.cursor = None;
        }
        Ok(found)
    }
}

impl<'a> HeadsIter<'a> {
    /// Tells the scan that `scn` was published before it read anything, so that rows whose
    /// head began at or before it need no seek of their own to prove they did not exist at
    /// the snapshot ([`HistoryCursor::lookup`]).
    pub(crate) fn published(mut self, scn: u64) -> Self {
        if let Some(history) = &mut self.history {
            history.published = scn;
        }
        self
    }

    pub(crate) fn new(
        storage: &'a dyn Storage,
        range: &KeyRange,
        scn: u64,
        dir: Direction,
    ) -> Self {
        Self {
            storage,
            heads: storage.scan(head_range(range), dir),
            scn,
            history: (dir == Direction::Forward).then(|| HistoryCursor::new(storage, range, 0)),
            capture: None,
        }
    }

    fn visible(&mut self, key: Bytes, value: Bytes) -> Result<Option<KvPair>> {
        let Some(logical) = keys::split_head_key(&key) else {
            return Err(crate::Error::corruption("malformed head key"));
        };
        let version = keys::decode_version(&value)?;
        let from_head = version.begin <= self.scn;
        let data = if from_head {
            // The head is the answer, as in `resolve_with_head`.
            version_data(&value, &version)
        } else {
            match &mut self.history {
                Some(history) => history
                    .lookup(self.storage, logical, self.scn, version.begin)?
                    .flatten(),
                None => from_history(self.storage, logical, self.scn)?.flatten(),
            }
        };
        let Some(data) = data else {
            return Ok(None);
        };
        // The head key is the tag and the logical key: a view past the tag, no copy.
        let logical = key.slice(1..);
        if let Some(slot) = self.capture.filter(|_| from_head) {
            *slot.borrow_mut() = Some((logical.clone(), value));
        }
        Ok(Some((logical, data)))
    }
}

impl Iterator for HeadsIter<'_> {
    type Item = Result<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (k, v) = match self.heads.next()? {
                Ok(kv) => kv,
                Err(e) => return Some(Err(e)),
            };
            match self.visible(k, v) {
                Ok(None) => continue,
                other => return other.transpose(),
            }
        }
    }
}
