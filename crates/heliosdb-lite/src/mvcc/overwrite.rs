//! Rows a large DELETE or UPDATE changes, written straight to their heads at a spill.
//!
//! A spilled pending version used to be stored three times: in the transaction's private
//! range at the spill, then, by the commit, as the new head and the old head's history entry,
//! and once more as the deletion of the private copy; the commit also read the private range
//! back. For a version whose key's live committed head the transaction read under the write
//! lock (the rows a DELETE or UPDATE gathered), the spill can do the commit's work itself,
//! the way [`super::direct`] writes new rows: the new head stamped with the SCN the commit
//! will take, `X`, and the superseded head in the history under `X`, exactly what the commit
//! would write ([`super::spill_commit::stage_version`]), with the commit's GC work items for
//! them. Snapshots (all below `X`) find a head newer than they are and read the version the
//! history holds, which is the head they read before: nothing they see changes. The
//! transaction reads at `X`, its own writes.
//!
//! Each batch carries a record of its keys (`X ‖ FFFFFFFD ‖ (length ‖ key)*`, beside the
//! records of [`super::direct`]) so that a rollback, or the next open after a crash that left
//! the transaction uncommitted, takes the writes back: the history entry under `X` is the old
//! head's version, and the list of past versions the new head carries after its first entry
//! is the old head's own ([`keys::restored_head`]); the old head is written back. The entry
//! stays (see [`take_back`]) until GC removes it with the batch's work list. The commit makes
//! the writes committed data by deleting the records (its final batch), and logs the keys for
//! tracked tables from them.
//!
//! Many such rows on a backend that ingests sorted writes go in ingestions instead of
//! batches: history entries, heads, work lists and records sort in that order (by tag), so a
//! part's pairs are produced in four passes over it and written as one atomic sorted run,
//! past the write buffer, the journal and the memtable.
//!
//! Only keys the transaction never spilled before are written this way: a key is overwritten
//! at most once, and its record is the first to name it, so a take-back of the whole
//! transaction, which walks the records in order, restores the committed head before any
//! later write of the key is looked at. A `ROLLBACK TO` a savepoint before the spill undoes
//! the key's first write (its stored undo record says the key had no pending version), so
//! the head at `X` is that write's own and the history entry under `X` tells an overwrite
//! from a new head; later writes of the key reach the private range and are undone there as
//! before (the spill's undo records take the head at `X` as the key's pending version).
//! Older builds refuse a store holding such a record (their take-back would write a
//! tombstone where the row was) with the corruption error of an unknown record.

use super::gc::{push_work_item, GcKind};
use super::keys;
use super::spill::{BATCH_BYTES, BATCH_OPS};
use crate::error::{Error, Result};
use crate::storage::{Bytes, Storage, WriteBatch};

/// The length field that, first after a record's SCN, says the record lists keys whose live
/// committed head a head at the SCN superseded in place (no key is 4 GiB long).
pub(super) const OVERWRITTEN: u32 = u32::MAX - 2;

/// The GC work list written with record `seq` of transaction `txid`: beside the commit's own
/// lists (`SCN ‖ 00 ‖ n`, [`super::spill_commit`]) and GC's requeued ones (`SCN ‖ FF ‖ n`),
/// inside the range GC reads for the SCN, and named by the transaction: a list a rolled-back
/// transaction left must not be overwritten by the next one to write at the same SCN (it is
/// what removes the history entries its take-back leaves).
fn work_list_key(scn: u64, txid: u64, seq: u64) -> Vec<u8> {
    let mut k = keys::gc_key(scn);
    k.push(1);
    k.extend_from_slice(&txid.to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// One version written over a live committed head: the logical key, the new data (`None`:
/// a deletion) and the committed head it supersedes.
pub(super) type Overwrite<'a> = (&'a [u8], Option<&'a [u8]>, &'a [u8]);

/// Writes `entries` (ascending keys, each with a live committed head older than `scn`) as
/// heads at `scn` with their superseded heads in the history and their GC work items, each
/// part of the writing with its record (numbered from `*seq`): in bounded batches (not
/// synced), or, for at least `ingest_min` entries on a backend that ingests sorted writes
/// (`MvccOptions::ingest_min_keys`), in bounded ingestions (synced; each holds its records,
/// so a crash leaves all of it named or none of it written). Returns the row-count changes
/// through `counted` (key, whether the new version is live).
pub(super) fn write_overwrites<'a>(
    storage: &dyn Storage,
    (txid, seq): (u64, &mut u64),
    scn: u64,
    ingest_min: usize,
    mut entries: impl Iterator<Item = Overwrite<'a>>,
    counted: impl FnMut(&[u8], bool),
) -> Result<()> {
    if !storage.ingests_sorted() {
        return write_batched(storage, (txid, seq), scn, entries, counted);
    }
    let first: Vec<Overwrite<'a>> = entries.by_ref().take(ingest_min).collect();
    let many = first.len() >= ingest_min.max(1);
    let all = first.into_iter().chain(entries);
    if many {
        write_ingested(storage, (txid, seq), scn, all, counted)
    } else {
        write_batched(storage, (txid, seq), scn, all, counted)
    }
}

/// The committed head `old_head` decoded, checked to be one a version at `scn` may be written
/// over: live and older.
fn superseded(old_head: &[u8], scn: u64) -> Result<keys::Version<'_>> {
    let old = keys::decode_version(old_head)?;
    if old.data.is_none() || old.begin >= scn {
        return Err(Error::Transaction(
            "internal error: a version written over its head needs a live committed head".into(),
        ));
    }
    Ok(old)
}

/// [`write_overwrites`] through ordinary batches of about [`BATCH_BYTES`], each with its
/// record and work list.
fn write_batched<'a>(
    storage: &dyn Storage,
    (txid, seq): (u64, &mut u64),
    scn: u64,
    entries: impl Iterator<Item = Overwrite<'a>>,
    mut counted: impl FnMut(&[u8], bool),
) -> Result<()> {
    let mut batch = WriteBatch::new();
    let mut record = record_start(scn);
    let mut work = Vec::new();
    let mut bytes = 0;
    let mut flush = |batch: &mut WriteBatch, record: &mut Vec<u8>, work: &mut Vec<u8>| {
        if batch.is_empty() {
            return Ok(());
        }
        // The record names what the batch writes, in the same atomic batch.
        batch.put(
            super::direct::record_key(txid, *seq),
            std::mem::replace(record, record_start(scn)),
        );
        if !work.is_empty() {
            batch.put(work_list_key(scn, txid, *seq), std::mem::take(work));
        }
        *seq += 1;
        storage.write(std::mem::take(batch), false)
    };
    for (logical, value, old_head) in entries {
        let old = superseded(old_head, scn)?;
        let (history_key, entry) = history_pair(logical, scn, old_head, &old, &mut work);
        let (head_key, head) = head_pair(logical, value, scn, &old, &mut work);
        bytes += history_key.len() + entry.len() + head_key.len() + head.len() + logical.len();
        batch.put(history_key, entry);
        batch.put(head_key, head);
        push_listed(&mut record, logical);
        counted(logical, value.is_some());
        if bytes >= BATCH_BYTES || batch.len() >= BATCH_OPS {
            flush(&mut batch, &mut record, &mut work)?;
            bytes = 0;
        }
    }
    flush(&mut batch, &mut record, &mut work)
}

/// The history entry of `old_head` (decoded as `old`) under `scn`, its GC work item added to
/// `work`.
fn history_pair(
    logical: &[u8],
    scn: u64,
    old_head: &[u8],
    old: &keys::Version<'_>,
    work: &mut Vec<u8>,
) -> (Vec<u8>, Bytes) {
    let key = keys::history_key(logical, scn);
    let entry = keys::history_value(old_head, old);
    push_work_item(work, GcKind::Delete, key.len() + entry.len(), &key);
    (key, entry)
}

/// The new head of `logical` at `scn` over `old`; a deletion's GC work item (the tombstone
/// goes once no snapshot needs it) added to `work`.
fn head_pair(
    logical: &[u8],
    value: Option<&[u8]>,
    scn: u64,
    old: &keys::Version<'_>,
    work: &mut Vec<u8>,
) -> (Bytes, Bytes) {
    let key = keys::head_key_bytes(logical);
    let head = keys::head_bytes(scn, value, Some(old));
    if value.is_none() {
        push_work_item(work, GcKind::Tombstone, key.len() + head.len(), &key);
    }
    (key, head)
}

fn push_listed(record: &mut Vec<u8>, logical: &[u8]) {
    record.extend_from_slice(&(logical.len() as u32).to_be_bytes());
    record.extend_from_slice(logical);
}

/// Entries one ingestion of [`write_ingested`] holds at most: they are held (as references,
/// with their decoded old heads, about 100 bytes each) while its history entries, then its
/// heads are written.
const INGEST_ENTRIES: usize = 1 << 16;

/// Bytes of listed keys one ingestion carries at most (as [`super::direct`]'s): its records
/// and work lists (about twice the keys' bytes) are held until its heads are written.
const INGEST_LIST_BYTES: usize = 4 << 20;

/// [`write_overwrites`] through sorted ingestions, one per part of the entries: each writes
/// the part's history entries (tag `HISTORY`), then its heads (`HEAD`), then its GC work
/// lists (`GC_QUEUE`), then the records naming its keys (`PRIVATE`), the order the keys sort
/// in, as one atomic write that skips the write buffer, the journal and the memtable. A
/// part's entries are checked before its ingestion starts (an ingestion cannot stop half-way);
/// an error in a later part leaves the earlier ones written and named, for the rollback.
fn write_ingested<'a>(
    storage: &dyn Storage,
    (txid, seq): (u64, &mut u64),
    scn: u64,
    entries: impl Iterator<Item = Overwrite<'a>>,
    mut counted: impl FnMut(&[u8], bool),
) -> Result<()> {
    let mut entries = entries.peekable();
    while entries.peek().is_some() {
        let mut part = Vec::new();
        // Where each record's keys start (a record lists about `BATCH_BYTES` of keys).
        let mut starts = vec![0];
        let (mut listed, mut part_listed) = (0, 0);
        while part.len() < INGEST_ENTRIES && part_listed < INGEST_LIST_BYTES {
            let Some((logical, value, old_head)) = entries.next() else {
                break;
            };
            if listed >= BATCH_BYTES {
                starts.push(part.len());
                listed = 0;
            }
            listed += 4 + logical.len();
            part_listed += 4 + logical.len();
            part.push(((logical, value, old_head), superseded(old_head, scn)?));
        }
        let records = starts.len();
        let mut run = IngestRun {
            part: &part,
            starts: &starts,
            txid,
            scn,
            first_seq: *seq,
            step: Step::History(0),
            work: vec![Vec::new(); records],
        };
        storage.write_sorted(&mut run)?;
        *seq += records as u64;
        for ((logical, value, _), _) in &part {
            counted(logical, value.is_some());
        }
    }
    Ok(())
}

/// Where an [`IngestRun`] is: the entry (or record) it writes next.
#[derive(Clone, Copy)]
enum Step {
    History(usize),
    Heads(usize),
    WorkLists(usize),
    Records(usize),
}

/// The pairs of one ingestion of [`write_ingested`], in key order.
struct IngestRun<'p, 'a> {
    part: &'p [(Overwrite<'a>, keys::Version<'a>)],
    /// The first entry of each record.
    starts: &'p [usize],
    txid: u64,
    scn: u64,
    /// The number of the part's first record.
    first_seq: u64,
    step: Step,
    /// Each record's GC work list, filled while its entries are written.
    work: Vec<Vec<u8>>,
}

impl IngestRun<'_, '_> {
    /// The record whose keys include entry `i`.
    fn record_of(&self, i: usize) -> usize {
        self.starts.partition_point(|&s| s <= i) - 1
    }

    /// The keys of record `r`.
    fn listed(&self, r: usize) -> &[(Overwrite<'_>, keys::Version<'_>)] {
        let end = self.starts.get(r + 1).copied().unwrap_or(self.part.len());
        &self.part[self.starts[r]..end]
    }
}

impl Iterator for IngestRun<'_, '_> {
    type Item = (Bytes, Bytes);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.step {
                Step::History(i) => {
                    let Some(((logical, _, old_head), old)) = self.part.get(i) else {
                        self.step = Step::Heads(0);
                        continue;
                    };
                    self.step = Step::History(i + 1);
                    let r = self.record_of(i);
                    let (key, entry) =
                        history_pair(logical, self.scn, old_head, old, &mut self.work[r]);
                    return Some((Bytes::from(key), entry));
                }
                Step::Heads(i) => {
                    let Some(((logical, value, _), old)) = self.part.get(i) else {
                        self.step = Step::WorkLists(0);
                        continue;
                    };
                    self.step = Step::Heads(i + 1);
                    let r = self.record_of(i);
                    return Some(head_pair(logical, *value, self.scn, old, &mut self.work[r]));
                }
                Step::WorkLists(r) => {
                    let Some(work) = self.work.get_mut(r) else {
                        self.step = Step::Records(0);
                        continue;
                    };
                    self.step = Step::WorkLists(r + 1);
                    if work.is_empty() {
                        continue;
                    }
                    let key = work_list_key(self.scn, self.txid, self.first_seq + r as u64);
                    return Some((Bytes::from(key), Bytes::from(std::mem::take(work))));
                }
                Step::Records(r) => {
                    if r >= self.starts.len() {
                        return None;
                    }
                    self.step = Step::Records(r + 1);
                    let mut record = record_start(self.scn);
                    for ((logical, _, _), _) in self.listed(r) {
                        push_listed(&mut record, logical);
                    }
                    let key = super::direct::record_key(self.txid, self.first_seq + r as u64);
                    return Some((Bytes::from(key), Bytes::from(record)));
                }
            }
        }
    }
}

fn record_start(scn: u64) -> Vec<u8> {
    let mut r = scn.to_be_bytes().to_vec();
    r.extend_from_slice(&OVERWRITTEN.to_be_bytes());
    r
}

/// Adds to `batch` the take-back of the head of `logical` written over its committed head at
/// `scn`: the committed head, rebuilt from the history entry the write left, is written back.
/// Returns whether the head taken back was live, or `None` (adding nothing) if the head is
/// not stamped `scn` (taken back already) or the history holds no entry under `scn` (the
/// head was written as a new one, [`super::direct::take_back`]'s case): only the overwrites
/// of this module write such entries before the commit.
///
/// The history entry stays. A reader at an older snapshot that read the head stamped `scn`
/// just before may be about to look for it (history entries never go away under a snapshot
/// that needs them), and it is harmless after: it holds the version the restored head
/// holds, which is what any commit at `scn` superseding the key writes there too, and no
/// snapshot needs it otherwise (those below its begin pass over it, those at or above it
/// read the head). GC removes it with the batch's work list.
pub(super) fn take_back(
    storage: &dyn Storage,
    batch: &mut WriteBatch,
    logical: &[u8],
    scn: u64,
) -> Result<Option<bool>> {
    let Some(head) = super::direct::own_head(storage, logical, scn)? else {
        return Ok(None);
    };
    let Some(entry) = storage.get(&keys::history_key(logical, scn))? else {
        return Ok(None);
    };
    let newer = keys::decode_version(&head)?;
    let old = keys::decode_version(&entry)?;
    batch.put(keys::head_key(logical), keys::restored_head(&newer, &old)?);
    Ok(Some(newer.data.is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    fn key(i: usize) -> Vec<u8> {
        format!("t{i:030}").into_bytes()
    }

    /// More entries than one part holds, and more listed bytes than one record lists: every
    /// key is written over its head and named by exactly one record, in order, with its GC
    /// work; the take-back restores every committed head.
    #[test]
    fn ingested_parts_and_records_name_every_key_once_and_are_taken_back() {
        let storage = MemoryStorage::new();
        let n = INGEST_ENTRIES + 5_000;
        let logical: Vec<Vec<u8>> = (0..n).map(key).collect();
        let old: Vec<Bytes> = (0..n)
            .map(|i| keys::version_bytes(3, Some(format!("v{i}").as_bytes())))
            .collect();
        let mut batch = WriteBatch::new();
        for (k, h) in logical.iter().zip(&old) {
            batch.put(keys::head_key(k), h.to_vec());
        }
        storage.write(batch, false).unwrap();
        let (txid, scn, mut seq) = (7, 9, 0);
        let entries = logical.iter().zip(&old).enumerate().map(|(i, (k, h))| {
            let value = (i % 3 != 0).then_some(&b"new"[..]);
            (k.as_slice(), value, h.as_ref())
        });
        let mut counted = 0;
        // The default sorted write refuses keys out of order.
        write_ingested(&storage, (txid, &mut seq), scn, entries, |_, _| {
            counted += 1
        })
        .unwrap();
        assert_eq!(counted, n);
        let all = |prefix: &[u8]| -> Vec<(Bytes, Bytes)> {
            storage
                .scan(
                    crate::storage::prefix_range(prefix),
                    crate::storage::Direction::Forward,
                )
                .map(|kv| kv.unwrap())
                .collect()
        };
        let records = all(&super::super::direct::record_prefix(txid));
        assert_eq!(records.len() as u64, seq);
        assert!(records.len() >= 3, "{} records", records.len());
        let mut named = Vec::new();
        for (_, r) in &records {
            assert_eq!(&r[..8], &scn.to_be_bytes());
            assert_eq!(&r[8..12], &OVERWRITTEN.to_be_bytes());
            let mut rest = &r[12..];
            while !rest.is_empty() {
                let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
                named.push(rest[4..4 + len].to_vec());
                rest = &rest[4 + len..];
            }
        }
        assert_eq!(named, logical);
        let work: usize = all(&keys::gc_key(scn))
            .iter()
            .map(|(_, list)| super::super::gc::work_items(list).count())
            .sum();
        assert_eq!(
            work,
            n + n.div_ceil(3),
            "a history item each, a tombstone per deletion"
        );
        for (i, k) in logical.iter().enumerate() {
            let head = storage.get(&keys::head_key(k)).unwrap().unwrap();
            let v = keys::decode_version(&head).unwrap();
            assert_eq!(v.begin, scn);
            assert_eq!(v.data.is_some(), i % 3 != 0);
            let entry = storage.get(&keys::history_key(k, scn)).unwrap().unwrap();
            assert_eq!(entry, old[i]);
        }
        let mut taken = 0;
        super::super::direct::take_back_from(&storage, txid, 0, |_, _, _| taken += 1).unwrap();
        assert_eq!(taken, n);
        for (k, h) in logical.iter().zip(&old) {
            assert_eq!(storage.get(&keys::head_key(k)).unwrap().unwrap(), *h);
        }
    }
}
