//! Inserts written straight to their heads: a transaction's new rows past its memory budget
//! are stored once, where the commit would have put them, instead of twice (the private
//! range, then the heads); and a transaction's new rows are written ahead by a helper
//! thread while its statements go on ([`super::ahead`]).
//!
//! A pending version qualifies when the key is known to have no live committed version
//! (`Transaction::put_unversioned`: a rowid beyond every one in use, its index entries, the
//! entries of a new index) and the version is live. At a spill such versions are written as
//! heads stamped with the SCN the
//! commit will take, `X` = the newest written SCN + 1: the transaction holds the write lock,
//! so no other commit can take `X` first. Such a head is invisible to every snapshot (they
//! all read at SCNs below `X`, so the head sends them to the history, which the write left
//! untouched and which says what the key held before: nothing, or what a tombstone head
//! replaced here ended with); the transaction itself reads at `X`. The commit record of `X`
//! makes them visible, like the heads a commit writes itself.
//!
//! Each storage batch of such heads carries a record listing its keys, under the
//! transaction's private range (`PRIVATE ‖ txid ‖ 'd' ‖ seq`: value `X` ‖ (length ‖ key)*),
//! so the writes can be taken back: by a rollback, a `ROLLBACK TO` of a savepoint older than
//! the spill, and on open after a crash that left the transaction uncommitted. Taking a head
//! back deletes it, or, where it replaced a tombstone head, writes that tombstone again:
//! a tombstone's begin is the end of the newest history version of its key, so it is found
//! with one seek. A commit removes its records in its final batch (they are then part of the
//! committed state); what is left on open belongs to a transaction that never committed.
//! The entries of an index created in the transaction are not listed: one record names the
//! index's key range instead ([`write_heads_under`]). Nor are new rows in runs with no head
//! between them (the new rows of a load, written ahead or by a spill or the commit): one
//! record per batch names the interval of its keys ([`write_heads_in_runs`]).
//!
//! A tracked table's commits log the keys they write for its packed copy ([`super::pack`]).
//! Heads written directly are logged by the commit from the records ([`log_changes`]), in
//! numbered lists beside those of its other writes. Until then the log does not name them,
//! so the transaction's own scans do not read through a pack once it wrote heads directly.

use super::keys;
use super::pack::ChangeLog;
use super::spill::{txn_prefix, BATCH_BYTES, BATCH_OPS};
use crate::error::{Error, Result};
use crate::storage::{prefix_range, prefix_successor, Bytes, Direction, Storage, WriteBatch};
use std::ops::Bound;

/// Sub-tag of the records of heads written directly, in a transaction's private range.
const DIRECT: u8 = b'd';

/// `PRIVATE ‖ txid ‖ 'd'`: the records of a transaction's direct heads.
pub(super) fn record_prefix(txid: u64) -> Vec<u8> {
    let mut k = txn_prefix(txid);
    k.push(DIRECT);
    k
}

pub(super) fn record_key(txid: u64, seq: u64) -> Vec<u8> {
    let mut k = record_prefix(txid);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Bytes of listed keys one ingestion carries at most: the records listing the heads sort
/// after them (tag `PRIVATE` after `HEAD`), so the list is held in memory until the heads are
/// written.
const INGEST_LIST_BYTES: usize = 4 << 20;
/// Bytes of heads one ingestion carries at most (about fjall's own table size).
const INGEST_HEAD_BYTES: usize = 64 << 20;

/// Writes `entries` (logical key, data; ascending) as heads at `scn`, with the records that
/// list them, in bounded batches (not synced), or, for many entries on a backend that
/// ingests sorted writes, in bounded ingestions (synced, each with its records: a crash
/// leaves all of an ingestion's heads listed, or none of them written). `seq` numbers the
/// records and `written` hears of each key. An entry that is an error ends the writing: what
/// came before it is written and listed (so that a rollback takes all of it back), and the
/// error is returned. `ingest_min` is the fewest entries worth an ingestion
/// (`MvccOptions::ingest_min_keys`).
pub(super) fn write_heads<K: AsRef<[u8]>, D: AsRef<[u8]>>(
    storage: &dyn Storage,
    (txid, seq): (u64, &mut u64),
    scn: u64,
    ingest_min: usize,
    entries: impl Iterator<Item = Result<(K, D)>>,
    written: impl FnMut(&[u8]),
) -> Result<()> {
    write_listed_or_not(
        storage,
        (txid, seq),
        scn,
        ingest_min,
        Naming::List,
        entries,
        written,
    )
}

/// Fewest heads in a run worth an interval record: fewer are listed (a list of a few keys is
/// about as small, and each run costs a seek to find).
const INTERVAL_MIN: usize = 16;
/// The most rows skipped (listed) after a short run before the next seek: rows among keys
/// already in storage (index entries) are found with a seek per doubling, not per row.
const INTERVAL_MAX_SKIP: usize = 1 << 16;

/// [`write_heads`] for rows known up front (ascending): runs of at least [`INTERVAL_MIN`] rows
/// with no head at all between their first and last key (checked in storage before the
/// write: the new rows of a load, appended beyond every key in use) are written with one
/// record per batch naming the interval of its keys instead of listing them; the other rows
/// are listed. A take-back walks the interval and takes every head stamped `scn` there: the
/// interval held no head before this write, so those are this write's, or a later write's
/// of the same transaction (taken back before or with it). Without the check, a head an
/// earlier write of the transaction left inside the interval (a row deleted since, or an
/// explicit rowid in a gap) would go too when a `ROLLBACK TO` undoes only the later write.
pub(super) fn write_heads_in_runs<K: AsRef<[u8]>, D: AsRef<[u8]>>(
    storage: &dyn Storage,
    (txid, seq): (u64, &mut u64),
    scn: u64,
    ingest_min: usize,
    rows: &[(K, D)],
) -> Result<()> {
    let mut runs = interval_runs(storage, rows)?;
    // Listed rows and runs go in writes of their own: when both would be ingestions (a
    // spill of a table with an index), everything is listed in one instead, as before
    // intervals, since each ingestion has fixed costs (an fsync, the value cache dropped)
    // that the lists saved might not pay for (not measured).
    let in_runs: usize = runs.iter().map(ExactSizeIterator::len).sum();
    if storage.ingests_sorted() && in_runs >= ingest_min && rows.len() - in_runs >= ingest_min {
        runs.clear();
    }
    // The rows between the runs, in order.
    let gaps = std::iter::once(0).chain(runs.iter().map(|r| r.end)).zip(
        runs.iter()
            .map(|r| r.start)
            .chain(std::iter::once(rows.len())),
    );
    let listed = gaps
        .flat_map(|(from, to)| rows[from..to].iter())
        .map(|(k, v)| Ok((k.as_ref(), v.as_ref())));
    write_listed_or_not(
        storage,
        (txid, &mut *seq),
        scn,
        ingest_min,
        Naming::List,
        listed,
        |_| {},
    )?;
    for run in runs {
        let entries = rows[run].iter().map(|(k, v)| Ok((k.as_ref(), v.as_ref())));
        write_listed_or_not(
            storage,
            (txid, &mut *seq),
            scn,
            ingest_min,
            Naming::Interval,
            entries,
            |_| {},
        )?;
    }
    Ok(())
}

/// The runs of [`write_heads_in_runs`]: maximal ranges of `rows` (by position) of at least
/// [`INTERVAL_MIN`] rows such that storage holds no head from the first row's key to the
/// last's. One seek per run; after a short one, the next seek comes after twice as many
/// rows (at most [`INTERVAL_MAX_SKIP`]).
fn interval_runs<K: AsRef<[u8]>, D>(
    storage: &dyn Storage,
    rows: &[(K, D)],
) -> Result<Vec<std::ops::Range<usize>>> {
    let Some((last, _)) = rows.last() else {
        return Ok(Vec::new());
    };
    // Bounded by the last row: beyond it, deleted heads (a rolled-back load's) would be
    // stepped over by every seek.
    let end = Bound::Included(keys::head_key(last.as_ref()));
    let mut runs = Vec::new();
    let (mut i, mut skip) = (0, 1);
    while i < rows.len() {
        let from = Bound::Included(keys::head_key(rows[i].0.as_ref()));
        let j = match storage.first_in_range((from, end.clone()))? {
            None => rows.len(),
            Some((head, _)) => {
                let next = head.get(1..).unwrap_or_default();
                i + rows[i..].partition_point(|(k, _)| k.as_ref() < next)
            }
        };
        if j - i >= INTERVAL_MIN {
            runs.push(i..j);
            i = j;
            skip = 1;
        } else {
            i = j.max(i + skip);
            skip = (skip * 2).min(INTERVAL_MAX_SKIP);
        }
    }
    Ok(runs)
}

/// How the records written with a batch of heads name them, for a take-back.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Naming {
    /// Each batch's keys listed in a record.
    List,
    /// Each batch named by one record of its first and last key: the batch's heads are all
    /// the heads stamped with its SCN in that interval ([`write_heads_in_runs`]).
    Interval,
    /// Not named: a record of its own names their whole key range ([`write_heads_under`]).
    Unnamed,
}

/// [`write_heads`] for keys that all start with `prefix`, the key range of an index created
/// in this transaction: one record names the whole range instead of each key
/// (`scn ‖ FFFFFFFF ‖ prefix`), written and synced before the first head. Taking the heads
/// back (a rollback, a `ROLLBACK TO` before the index existed, or the next open after a
/// crash) removes every head under `prefix` stamped `scn`: these, and the transaction's own
/// later direct heads there (entries of rows it inserted after creating the index), which
/// each of those take-backs removes anyway. No list of keys is built, held or written, nor
/// deleted by the commit: for a 1M-entry CREATE INDEX the lists were almost as many bytes
/// again as the heads, and split the ingestions into runs that each spanned from their heads
/// to the private range. A key outside `prefix` is an error (it could not be taken back).
pub(super) fn write_heads_under<K: AsRef<[u8]>, D: AsRef<[u8]>>(
    storage: &dyn Storage,
    (txid, seq): (u64, &mut u64),
    scn: u64,
    ingest_min: usize,
    prefix: &[u8],
    entries: impl Iterator<Item = Result<(K, D)>>,
    written: impl FnMut(&[u8]),
) -> Result<()> {
    let mut record = scn.to_be_bytes().to_vec();
    record.extend_from_slice(&UNDER.to_be_bytes());
    record.extend_from_slice(prefix);
    let mut batch = WriteBatch::new();
    batch.put(record_key(txid, *seq), record);
    *seq += 1;
    storage.write(batch, true)?;
    let entries = entries.map(|e| match e {
        Ok((k, _)) if !k.as_ref().starts_with(prefix) => Err(Error::Transaction(
            "internal error: a key written as part of a new index's key range lies outside it"
                .into(),
        )),
        other => other,
    });
    write_listed_or_not(
        storage,
        (txid, seq),
        scn,
        ingest_min,
        Naming::Unnamed,
        entries,
        written,
    )
}

/// [`write_heads`], with each batch's heads named by its records as `naming` says.
fn write_listed_or_not<K: AsRef<[u8]>, D: AsRef<[u8]>>(
    storage: &dyn Storage,
    (txid, seq): (u64, &mut u64),
    scn: u64,
    ingest_min: usize,
    naming: Naming,
    entries: impl Iterator<Item = Result<(K, D)>>,
    written: impl FnMut(&[u8]),
) -> Result<()> {
    let mut entries = entries.peekable();
    if !storage.ingests_sorted() {
        return write_batched(storage, (txid, seq), scn, naming, entries, written);
    }
    let mut first = Vec::new();
    while first.len() < ingest_min {
        match entries.next_if(Result::is_ok) {
            Some(Ok(e)) => first.push(e),
            _ => break,
        }
    }
    let first = first.into_iter().map(Ok);
    if entries.peek().is_some_and(Result::is_ok) {
        write_ingested(
            storage,
            (txid, seq),
            scn,
            naming,
            first.chain(entries),
            written,
        )
    } else {
        write_batched(
            storage,
            (txid, seq),
            scn,
            naming,
            first.chain(entries),
            written,
        )
    }
}

/// [`write_heads`] through ordinary batches of about [`BATCH_BYTES`], each with its record
/// (unless [`Naming::Unnamed`]).
fn write_batched<K: AsRef<[u8]>, D: AsRef<[u8]>>(
    storage: &dyn Storage,
    (txid, seq): (u64, &mut u64),
    scn: u64,
    naming: Naming,
    entries: impl Iterator<Item = Result<(K, D)>>,
    mut written: impl FnMut(&[u8]),
) -> Result<()> {
    let mut batch = WriteBatch::new();
    // A list record being built, or the first and last key of the batch for an interval.
    let mut record = scn.to_be_bytes().to_vec();
    let mut interval: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut bytes = 0;
    let flush = |batch: &mut WriteBatch,
                 record: &mut Vec<u8>,
                 interval: &mut Option<(Vec<u8>, Vec<u8>)>,
                 seq: &mut u64| {
        if batch.is_empty() {
            return Ok(());
        }
        // The record and the heads it names land in one atomic batch.
        match naming {
            Naming::List => {
                batch.put(record_key(txid, *seq), std::mem::take(record));
                *seq += 1;
                record.extend_from_slice(&scn.to_be_bytes());
            }
            Naming::Interval => {
                if let Some((first, last)) = interval.take() {
                    batch.put(record_key(txid, *seq), interval_record(scn, &first, &last));
                    *seq += 1;
                }
            }
            Naming::Unnamed => {}
        }
        storage.write(std::mem::take(batch), false)
    };
    for entry in entries {
        let (logical, data) = match entry {
            Ok(e) => e,
            Err(e) => {
                flush(&mut batch, &mut record, &mut interval, seq)?;
                return Err(e);
            }
        };
        let (logical, data) = (logical.as_ref(), data.as_ref());
        match naming {
            Naming::List => {
                record.extend_from_slice(&(logical.len() as u32).to_be_bytes());
                record.extend_from_slice(logical);
            }
            Naming::Interval => match &mut interval {
                Some((_, last)) => {
                    last.clear();
                    last.extend_from_slice(logical);
                }
                None => interval = Some((logical.to_vec(), logical.to_vec())),
            },
            Naming::Unnamed => {}
        }
        let head = keys::version_bytes(scn, Some(data));
        bytes += 2 * logical.len() + head.len();
        batch.put(keys::head_key_bytes(logical), head);
        written(logical);
        if bytes >= BATCH_BYTES || batch.len() >= BATCH_OPS {
            flush(&mut batch, &mut record, &mut interval, seq)?;
            bytes = 0;
        }
    }
    flush(&mut batch, &mut record, &mut interval, seq)
}

/// [`write_heads`] through sorted ingestions of up to [`INGEST_LIST_BYTES`] of listed keys
/// (or [`INGEST_HEAD_BYTES`] of heads): each writes its heads, then the records naming them
/// (lists of about [`BATCH_BYTES`] each, or one interval), as one atomic sorted write.
fn write_ingested<K: AsRef<[u8]>, D: AsRef<[u8]>>(
    storage: &dyn Storage,
    (txid, seq): (u64, &mut u64),
    scn: u64,
    naming: Naming,
    entries: impl Iterator<Item = Result<(K, D)>>,
    mut written: impl FnMut(&[u8]),
) -> Result<()> {
    let mut entries = entries.peekable();
    let mut failed = None;
    let mut last = Vec::new();
    while failed.is_none() && entries.peek().is_some() {
        let mut chunk = IngestChunk {
            entries: &mut entries,
            written: &mut written,
            failed: &mut failed,
            last: &mut last,
            txid,
            scn,
            seq: &mut *seq,
            records: vec![scn.to_be_bytes().to_vec()],
            naming,
            interval: None,
            listed: 0,
            head_bytes: 0,
            out: None,
        };
        storage.write_sorted(&mut chunk)?;
    }
    failed.map_or(Ok(()), Err)
}

/// The pairs of one ingestion of [`write_ingested`]: heads while the chunk has room, then the
/// records that name them (lists, or one interval; none for [`Naming::Unnamed`]).
struct IngestChunk<'a, I: Iterator, W> {
    entries: &'a mut std::iter::Peekable<I>,
    written: &'a mut W,
    /// Where an error entry, or a key out of order, is left.
    failed: &'a mut Option<Error>,
    /// The previous logical key (across chunks): ingested keys must ascend.
    last: &'a mut Vec<u8>,
    txid: u64,
    scn: u64,
    /// The number of the next record.
    seq: &'a mut u64,
    /// List records being built, each `scn ‖ (length ‖ key)*`.
    records: Vec<Vec<u8>>,
    /// How the records name the heads.
    naming: Naming,
    /// The chunk's first and last key, for [`Naming::Interval`].
    interval: Option<(Vec<u8>, Vec<u8>)>,
    listed: usize,
    head_bytes: usize,
    /// The records, once the heads are done.
    out: Option<std::vec::IntoIter<Vec<u8>>>,
}

impl<I, K, D, W> IngestChunk<'_, I, W>
where
    I: Iterator<Item = Result<(K, D)>>,
    K: AsRef<[u8]>,
    D: AsRef<[u8]>,
    W: FnMut(&[u8]),
{
    fn next_head(&mut self) -> Option<(Bytes, Bytes)> {
        if self.failed.is_some()
            || self.listed >= INGEST_LIST_BYTES
            || self.head_bytes >= INGEST_HEAD_BYTES
        {
            return None;
        }
        let (logical, data) = match self.entries.next()? {
            Ok(e) => e,
            Err(e) => {
                *self.failed = Some(e);
                return None;
            }
        };
        let (logical, data) = (logical.as_ref(), data.as_ref());
        // Checked here: the backend's own check would fail the whole ingestion, and the
        // heads before this one are worth keeping (listed) for the caller's rollback.
        if !self.last.is_empty() && logical <= self.last.as_slice() {
            *self.failed = Some(crate::storage::out_of_order());
            return None;
        }
        self.last.clear();
        self.last.extend_from_slice(logical);
        match self.naming {
            Naming::List => {
                if self.records.last().is_some_and(|r| r.len() >= BATCH_BYTES) {
                    self.records.push(self.scn.to_be_bytes().to_vec());
                }
                let record = self.records.last_mut()?;
                record.extend_from_slice(&(logical.len() as u32).to_be_bytes());
                record.extend_from_slice(logical);
                self.listed += 4 + logical.len();
            }
            Naming::Interval => match &mut self.interval {
                Some((_, last)) => last.clone_from(self.last),
                None => self.interval = Some((logical.to_vec(), logical.to_vec())),
            },
            Naming::Unnamed => {}
        }
        // Built straight into the storage's byte views: no vector per key and value to copy
        // again (a short key or value is held inline).
        let head = keys::version_bytes(self.scn, Some(data));
        self.head_bytes += 1 + logical.len() + head.len();
        (self.written)(logical);
        Some((keys::head_key_bytes(logical), head))
    }
}

impl<I, K, D, W> Iterator for IngestChunk<'_, I, W>
where
    I: Iterator<Item = Result<(K, D)>>,
    K: AsRef<[u8]>,
    D: AsRef<[u8]>,
    W: FnMut(&[u8]),
{
    type Item = (Bytes, Bytes);

    fn next(&mut self) -> Option<Self::Item> {
        if self.out.is_none() {
            if let Some(head) = self.next_head() {
                return Some(head);
            }
            let records = match self.naming {
                // A record holding only its SCN lists nothing (no head was written).
                Naming::List => std::mem::take(&mut self.records)
                    .into_iter()
                    .filter(|r| r.len() > 8)
                    .collect::<Vec<_>>(),
                Naming::Interval => self
                    .interval
                    .take()
                    .map(|(first, last)| interval_record(self.scn, &first, &last))
                    .into_iter()
                    .collect(),
                Naming::Unnamed => Vec::new(),
            };
            self.out = Some(records.into_iter());
        }
        let record = self.out.as_mut()?.next()?;
        let key = record_key(self.txid, *self.seq);
        *self.seq += 1;
        Some((Bytes::from(key), Bytes::from(record)))
    }
}

/// The head of `logical` if it was written at `scn` (directly, by the transaction that will
/// commit at `scn`).
pub(super) fn own_head(storage: &dyn Storage, logical: &[u8], scn: u64) -> Result<Option<Bytes>> {
    match storage.get(&keys::head_key(logical))? {
        Some(h) if keys::decode_version(&h)?.begin == scn => Ok(Some(h)),
        _ => Ok(None),
    }
}

/// The data of a head written directly (see [`own_head`]).
pub(super) fn head_data(head: &Bytes) -> Result<Option<Vec<u8>>> {
    Ok(keys::decode_version(head)?.data.map(<[u8]>::to_vec))
}

/// Adds to `batch` the removal of the head of `logical` written at `scn`, bringing back the
/// tombstone head it replaced, if any. Returns false (and adds nothing) if the head was not
/// written at `scn`.
pub(super) fn take_back(
    storage: &dyn Storage,
    batch: &mut WriteBatch,
    logical: &[u8],
    scn: u64,
) -> Result<bool> {
    if own_head(storage, logical, scn)?.is_none() {
        return Ok(false);
    }
    let history = (
        Bound::Included(keys::history_key(logical, 0)),
        Bound::Included(keys::history_key(logical, u64::MAX)),
    );
    let newest_end = match storage.scan(history, Direction::Reverse).next() {
        Some(kv) => keys::split_history_key(&kv?.0).map(|(_, end)| end),
        None => None,
    };
    match newest_end {
        // A deletion at `end` left this tombstone; what it deleted is in the history.
        Some(end) => batch.put(keys::head_key(logical), keys::encode_version(end, None)),
        None => batch.delete(keys::head_key(logical)),
    }
    Ok(true)
}

/// The length field that, first after a record's SCN, says the record names a key range
/// (the bytes after it: the prefix) instead of listing keys (no key is 4 GiB long).
const UNDER: u32 = u32::MAX;
/// The length field that, first after a record's SCN, says the record names an interval of
/// keys: then the first key's length, the first key and the last key.
const INTERVAL: u32 = u32::MAX - 1;

/// The record naming the heads from `first` to `last` (inclusive) stamped `scn`.
fn interval_record(scn: u64, first: &[u8], last: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(16 + first.len() + last.len());
    r.extend_from_slice(&scn.to_be_bytes());
    r.extend_from_slice(&INTERVAL.to_be_bytes());
    r.extend_from_slice(&(first.len() as u32).to_be_bytes());
    r.extend_from_slice(first);
    r.extend_from_slice(last);
    r
}

/// The heads a record stands for.
#[derive(Debug, PartialEq)]
enum Heads<'a> {
    /// These keys.
    Listed(Vec<&'a [u8]>),
    /// Every key starting with this prefix that has a head stamped with the record's SCN.
    Under(&'a [u8]),
    /// Every key from the first to the last (inclusive) with a head stamped with the
    /// record's SCN.
    Interval(&'a [u8], &'a [u8]),
    /// These keys, each written over its live committed head ([`super::overwrite`]).
    Overwritten(Vec<&'a [u8]>),
}

/// Decodes a record: the SCN of its heads, and which they are.
fn decode_record(v: &[u8]) -> Result<(u64, Heads<'_>)> {
    let damaged = || Error::corruption("malformed record of a transaction's direct writes");
    let (scn, mut rest) = v.split_at_checked(8).ok_or_else(damaged)?;
    let scn = u64::from_be_bytes(scn.try_into().map_err(|_| damaged())?);
    if let Some(prefix) = rest.strip_prefix(&UNDER.to_be_bytes()[..]) {
        return Ok((scn, Heads::Under(prefix)));
    }
    if let Some(interval) = rest.strip_prefix(&INTERVAL.to_be_bytes()[..]) {
        let (len, keys) = interval.split_at_checked(4).ok_or_else(damaged)?;
        let len = u32::from_be_bytes(len.try_into().map_err(|_| damaged())?) as usize;
        let (first, last) = keys.split_at_checked(len).ok_or_else(damaged)?;
        if first > last {
            return Err(damaged());
        }
        return Ok((scn, Heads::Interval(first, last)));
    }
    let overwritten = rest.strip_prefix(&super::overwrite::OVERWRITTEN.to_be_bytes()[..]);
    if let Some(listed) = overwritten {
        rest = listed;
    }
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest.split_at_checked(4).ok_or_else(damaged)?;
        let len = u32::from_be_bytes(len.try_into().map_err(|_| damaged())?) as usize;
        let (key, tail) = tail.split_at_checked(len).ok_or_else(damaged)?;
        out.push(key);
        rest = tail;
    }
    match overwritten {
        Some(_) => Ok((scn, Heads::Overwritten(out))),
        None => Ok((scn, Heads::Listed(out))),
    }
}

/// The heads a range or interval record names, as a range of storage keys.
fn named_range(heads: &Heads<'_>) -> Option<crate::storage::KeyRange> {
    match heads {
        Heads::Listed(_) | Heads::Overwritten(_) => None,
        Heads::Under(prefix) => Some(prefix_range(&keys::head_key(prefix))),
        Heads::Interval(first, last) => Some((
            Bound::Included(keys::head_key(first)),
            Bound::Included(keys::head_key(last)),
        )),
    }
}

/// Calls `each` with the logical key of every head in `range` (of storage keys) stamped
/// `scn`, in key order. Walks in steps of [`BATCH_OPS`] heads with a cursor, and calls `each`
/// between steps, when no scan is open: it may write.
fn each_stamped_in(
    storage: &dyn Storage,
    (mut lo, hi): crate::storage::KeyRange,
    scn: u64,
    mut each: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    loop {
        let mut stamped = Vec::new();
        let mut last = None;
        for kv in storage
            .scan((lo, hi.clone()), Direction::Forward)
            .take(BATCH_OPS)
        {
            let (k, v) = kv?;
            if keys::decode_version(&v)?.begin == scn {
                stamped.push(k.get(1..).unwrap_or_default().to_vec());
            }
            last = Some(k.to_vec());
        }
        for key in &stamped {
            each(key)?;
        }
        let Some(last) = last else {
            return Ok(());
        };
        lo = Bound::Excluded(last);
    }
}

/// Takes back every head named by the records of transaction `txid` (its rollback), in
/// bounded batches, then deletes the records. Returns the heads taken back.
pub(super) fn take_back_txn(storage: &dyn Storage, txid: u64) -> Result<u64> {
    let mut taken = 0;
    take_back_from(storage, txid, 0, |_, _, _| taken += 1)?;
    Ok(taken)
}

/// Takes back the heads named by the records of transaction `txid` numbered `first` and
/// later, then deletes those records; `taken` hears of each head taken back, with whether it
/// was live and whether the head left is.
pub(super) fn take_back_from(
    storage: &dyn Storage,
    txid: u64,
    first: u64,
    mut taken: impl FnMut(&[u8], bool, bool),
) -> Result<()> {
    let mut batch = WriteBatch::new();
    let mut records = Vec::new();
    let prefix = record_prefix(txid);
    let hi = match prefix_successor(&prefix) {
        Some(s) => Bound::Excluded(s),
        None => Bound::Unbounded,
    };
    let mut lo = Bound::Included(record_key(txid, first));
    // One record at a time (each lists up to a batch of keys), nothing held across writes.
    while let Some((k, v)) = storage.first_in_range((lo.clone(), hi.clone()))? {
        let (scn, heads) = decode_record(&v)?;
        let mut take = |key: &[u8], batch: &mut WriteBatch| -> Result<()> {
            if take_back(storage, batch, key, scn)? {
                taken(key, true, false);
            }
            if batch.len() >= BATCH_OPS {
                storage.write(std::mem::take(batch), false)?;
            }
            Ok(())
        };
        match heads {
            Heads::Listed(keys) => {
                for key in keys {
                    take(key, &mut batch)?;
                }
            }
            Heads::Overwritten(keys) => {
                // Written before and after: a later record naming one of these keys (a row
                // inserted again after its deletion) must find the committed head back.
                if !batch.is_empty() {
                    storage.write(std::mem::take(&mut batch), false)?;
                }
                for key in keys {
                    if let Some(was_live) =
                        super::overwrite::take_back(storage, &mut batch, key, scn)?
                    {
                        taken(key, was_live, true);
                    }
                    if batch.len() >= BATCH_OPS {
                        storage.write(std::mem::take(&mut batch), false)?;
                    }
                }
                if !batch.is_empty() {
                    storage.write(std::mem::take(&mut batch), false)?;
                }
            }
            named => {
                // What earlier records took back is written first, so that the walk finds
                // it gone and counts each head once.
                if !batch.is_empty() {
                    storage.write(std::mem::take(&mut batch), false)?;
                }
                if let Some(range) = named_range(&named) {
                    each_stamped_in(storage, range, scn, |key| take(key, &mut batch))?;
                }
                // Written now, so that a newer record listing one of these keys (a row
                // inserted after the index was created) finds it gone and counts it once.
                if !batch.is_empty() {
                    storage.write(std::mem::take(&mut batch), false)?;
                }
            }
        }
        lo = Bound::Excluded(k.to_vec());
        records.push(k);
    }
    // The heads first: a record outlives its heads only until this batch.
    for k in records {
        batch.delete(k.to_vec());
    }
    if !batch.is_empty() {
        storage.write(batch, false)?;
    }
    Ok(())
}

/// Run on open, after a decided spilled commit was completed (which removed its records):
/// takes back the heads of every transaction whose records are left, that is, that never
/// committed. Returns the heads taken back.
pub(super) fn take_back_uncommitted(storage: &dyn Storage) -> Result<u64> {
    let mut taken = 0;
    let mut from = vec![keys::PRIVATE];
    // One seek per transaction with a private range.
    loop {
        let hi = Bound::Excluded(vec![keys::PRIVATE + 1]);
        let Some((k, _)) = storage.first_in_range((Bound::Included(from.clone()), hi))? else {
            return Ok(taken);
        };
        let Some(txid) = keys::number_after_tag(&k) else {
            return Err(Error::corruption("malformed private key"));
        };
        taken += take_back_txn(storage, txid)?;
        match prefix_successor(&txn_prefix(txid)) {
            Some(next) => from = next,
            None => return Ok(taken),
        }
    }
}

/// Logs, for commit `scn`, the keys of tracked tables among the heads transaction `txid` wrote
/// directly (listed by its records, or in a range or interval one names: walked only if a
/// tracked table could lie there, which no index does) in the tables' change logs (see
/// [`super::pack`]): these
/// heads bypassed the commit's own logging. Large logs go in batches of their own, the rest
/// joins `batch` (the commit's final batch, which also drops the records). Run before that
/// batch, and again, alike, if a crash interrupts the commit: the lists are numbered, so a
/// second run writes the same entries under the same keys.
pub(super) fn log_changes(
    storage: &dyn Storage,
    txid: u64,
    scn: u64,
    changes: ChangeLog<'_>,
    batch: &mut WriteBatch,
) -> Result<()> {
    if changes.tracks_nothing() {
        return Ok(());
    }
    // Full lists (32 KiB each) go out this many at a time.
    const LISTS_PER_BATCH: usize = 16;
    let mut lists = WriteBatch::new();
    for kv in storage.scan(prefix_range(&record_prefix(txid)), Direction::Forward) {
        let (_, v) = kv?;
        match decode_record(&v)?.1 {
            Heads::Listed(keys) | Heads::Overwritten(keys) => {
                for key in keys {
                    changes.record(&mut lists, scn, key);
                }
            }
            // A new index's entries belong to no tracked table: nothing to walk; nor do the
            // rows of an untracked table.
            Heads::Under(prefix) if !changes.may_track_under(prefix) => {}
            Heads::Interval(first, last) if !changes.may_track_in(first, last) => {}
            named => {
                if let Some(range) = named_range(&named) {
                    each_stamped_in(storage, range, scn, |key| {
                        changes.record(&mut lists, scn, key);
                        if lists.len() >= LISTS_PER_BATCH {
                            storage.write(std::mem::take(&mut lists), false)?;
                        }
                        Ok(())
                    })?;
                }
            }
        }
        if lists.len() >= LISTS_PER_BATCH {
            storage.write(std::mem::take(&mut lists), false)?;
        }
    }
    if !lists.is_empty() {
        storage.write(lists, false)?;
    }
    changes.finish(batch, scn);
    Ok(())
}

/// Deletes the records of transaction `txid` into `batch` (its commit's final batch).
pub(super) fn drop_records(storage: &dyn Storage, txid: u64, batch: &mut WriteBatch) -> Result<()> {
    for kv in storage.scan(prefix_range(&record_prefix(txid)), Direction::Forward) {
        batch.delete(kv?.0.to_vec());
    }
    Ok(())
}

#[cfg(test)]
#[path = "direct_tests.rs"]
mod tests;
