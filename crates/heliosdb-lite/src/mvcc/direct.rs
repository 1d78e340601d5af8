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

fn record_key(txid: u64, seq: u64) -> Vec<u8> {
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
    let mut entries = entries.peekable();
    if !storage.ingests_sorted() {
        return write_batched(storage, txid, seq, scn, entries, written);
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
        write_ingested(storage, txid, seq, scn, first.chain(entries), written)
    } else {
        write_batched(storage, txid, seq, scn, first.chain(entries), written)
    }
}

/// [`write_heads`] through ordinary batches of about [`BATCH_BYTES`], each with its record.
fn write_batched<K: AsRef<[u8]>, D: AsRef<[u8]>>(
    storage: &dyn Storage,
    txid: u64,
    seq: &mut u64,
    scn: u64,
    entries: impl Iterator<Item = Result<(K, D)>>,
    mut written: impl FnMut(&[u8]),
) -> Result<()> {
    let mut batch = WriteBatch::new();
    let mut record = scn.to_be_bytes().to_vec();
    let mut bytes = 0;
    let flush = |batch: &mut WriteBatch, record: &mut Vec<u8>, seq: &mut u64| {
        if batch.is_empty() {
            return Ok(());
        }
        // The record and the heads it lists land in one atomic batch.
        batch.put(record_key(txid, *seq), std::mem::take(record));
        *seq += 1;
        record.extend_from_slice(&scn.to_be_bytes());
        storage.write(std::mem::take(batch), false)
    };
    for entry in entries {
        let (logical, data) = match entry {
            Ok(e) => e,
            Err(e) => {
                flush(&mut batch, &mut record, seq)?;
                return Err(e);
            }
        };
        let (logical, data) = (logical.as_ref(), data.as_ref());
        record.extend_from_slice(&(logical.len() as u32).to_be_bytes());
        record.extend_from_slice(logical);
        let head = keys::version_bytes(scn, Some(data));
        bytes += 2 * logical.len() + head.len();
        batch.put(keys::head_key_bytes(logical), head);
        written(logical);
        if bytes >= BATCH_BYTES || batch.len() >= BATCH_OPS {
            flush(&mut batch, &mut record, seq)?;
            bytes = 0;
        }
    }
    flush(&mut batch, &mut record, seq)
}

/// [`write_heads`] through sorted ingestions of up to [`INGEST_LIST_BYTES`] of listed keys
/// (or [`INGEST_HEAD_BYTES`] of heads): each writes its heads, then the records listing
/// them (about [`BATCH_BYTES`] each), as one atomic sorted write.
fn write_ingested<K: AsRef<[u8]>, D: AsRef<[u8]>>(
    storage: &dyn Storage,
    txid: u64,
    seq: &mut u64,
    scn: u64,
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
            listed: 0,
            head_bytes: 0,
            out: None,
        };
        storage.write_sorted(&mut chunk)?;
    }
    failed.map_or(Ok(()), Err)
}

/// The pairs of one ingestion of [`write_ingested`]: heads while the chunk has room, then the
/// records that list them.
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
    /// Records being built, each `scn ‖ (length ‖ key)*`.
    records: Vec<Vec<u8>>,
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
    fn next_head(&mut self) -> Option<(Vec<u8>, Vec<u8>)> {
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
        if self.records.last().is_some_and(|r| r.len() >= BATCH_BYTES) {
            self.records.push(self.scn.to_be_bytes().to_vec());
        }
        let record = self.records.last_mut()?;
        record.extend_from_slice(&(logical.len() as u32).to_be_bytes());
        record.extend_from_slice(logical);
        let head = keys::encode_version(self.scn, Some(data));
        self.listed += 4 + logical.len();
        self.head_bytes += 1 + logical.len() + head.len();
        (self.written)(logical);
        Some((keys::head_key(logical), head))
    }
}

impl<I, K, D, W> Iterator for IngestChunk<'_, I, W>
where
    I: Iterator<Item = Result<(K, D)>>,
    K: AsRef<[u8]>,
    D: AsRef<[u8]>,
    W: FnMut(&[u8]),
{
    type Item = (Vec<u8>, Vec<u8>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.out.is_none() {
            if let Some(head) = self.next_head() {
                return Some(head);
            }
            // A record holding only its SCN lists nothing (no head was written).
            let records = std::mem::take(&mut self.records);
            self.out = Some(
                records
                    .into_iter()
                    .filter(|r| r.len() > 8)
                    .collect::<Vec<_>>()
                    .into_iter(),
            );
        }
        let record = self.out.as_mut()?.next()?;
        let key = record_key(self.txid, *self.seq);
        *self.seq += 1;
        Some((key, record))
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

/// Decodes a record: the SCN of its heads and their logical keys.
fn decode_record(v: &[u8]) -> Result<(u64, Vec<&[u8]>)> {
    let damaged = || Error::corruption("malformed record of a transaction's direct writes");
    let (scn, mut rest) = v.split_at_checked(8).ok_or_else(damaged)?;
    let scn = u64::from_be_bytes(scn.try_into().map_err(|_| damaged())?);
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest.split_at_checked(4).ok_or_else(damaged)?;
        let len = u32::from_be_bytes(len.try_into().map_err(|_| damaged())?) as usize;
        let (key, tail) = tail.split_at_checked(len).ok_or_else(damaged)?;
        out.push(key);
        rest = tail;
    }
    Ok((scn, out))
}

/// Takes back every head listed by the records of transaction `txid` (its rollback), in
/// bounded batches, then deletes the records. Returns the heads taken back.
pub(super) fn take_back_txn(storage: &dyn Storage, txid: u64) -> Result<u64> {
    let mut taken = 0;
    take_back_from(storage, txid, 0, |_| taken += 1)?;
    Ok(taken)
}

/// Takes back the heads listed by the records of transaction `txid` numbered `first` and
/// later, then deletes those records; `taken` hears of each head taken back.
pub(super) fn take_back_from(
    storage: &dyn Storage,
    txid: u64,
    first: u64,
    mut taken: impl FnMut(&[u8]),
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
        let (scn, logical) = decode_record(&v)?;
        for key in logical {
            if take_back(storage, &mut batch, key, scn)? {
                taken(key);
            }
            if batch.len() >= BATCH_OPS {
                storage.write(std::mem::take(&mut batch), false)?;
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
        let Some(txid) = k
            .get(1..9)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
        else {
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
/// directly (listed by its records) in the tables' change logs (see [`super::pack`]): these
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
        for key in decode_record(&v)?.1 {
            changes.record(&mut lists, scn, key);
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
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    fn head(s: &MemoryStorage, k: &[u8]) -> Option<(u64, Option<Vec<u8>>)> {
        s.get(&keys::head_key(k)).unwrap().map(|h| {
            let v = keys::decode_version(&h).unwrap();
            (v.begin, v.data.map(<[u8]>::to_vec))
        })
    }

    /// A memory store that takes the ingestion path, counting its sorted writes (each one
    /// synced batch, as the trait's default).
    #[derive(Default)]
    struct Ingesting(MemoryStorage, std::sync::atomic::AtomicUsize);

    impl Storage for Ingesting {
        fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
            self.0.get(key)
        }
        fn scan(
            &self,
            range: crate::storage::KeyRange,
            d: Direction,
        ) -> crate::storage::KvIter<'_> {
            self.0.scan(range, d)
        }
        fn write(&self, batch: WriteBatch, durable: bool) -> Result<()> {
            self.0.write(batch, durable)
        }
        fn sync(&self) -> Result<()> {
            Ok(())
        }
        fn ingests_sorted(&self) -> bool {
            true
        }
        fn write_sorted(&self, pairs: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Result<()> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut batch = WriteBatch::new();
            let mut last: Option<Vec<u8>> = None;
            for (k, v) in pairs {
                assert!(
                    last.as_ref().is_none_or(|l| *l < k),
                    "ingested out of order"
                );
                last = Some(k.clone());
                batch.put(k, v);
            }
            self.0.write(batch, true)
        }
        fn size_bytes(&self) -> u64 {
            0
        }
        fn name(&self) -> &'static str {
            "ingesting"
        }
    }

    fn records(s: &dyn Storage, txid: u64) -> usize {
        s.scan(prefix_range(&record_prefix(txid)), Direction::Forward)
            .count()
    }

    fn heads_at(s: &dyn Storage, scn: u64) -> usize {
        s.scan(prefix_range(&[keys::HEAD]), Direction::Forward)
            .filter(|kv| keys::decode_version(&kv.as_ref().unwrap().1).unwrap().begin == scn)
            .count()
    }

    fn key(i: usize, width: usize) -> Vec<u8> {
        let mut k = format!("k{i:08}").into_bytes();
        k.resize(width.max(k.len()), b'.');
        k
    }

    /// Many heads go through sorted writes, each with the records listing its heads written
    /// in it (after the heads); few go through batches; an error entry or a key out of order
    /// stops the writing with everything before it listed, so a take-back removes it all.
    #[test]
    fn many_heads_are_ingested_with_their_records() {
        let write = |s: &Ingesting, entries: Vec<Result<(Vec<u8>, Vec<u8>)>>| {
            let mut seq = 0;
            let r = write_heads(s, (3, &mut seq), 11, 1000, entries.into_iter(), |_| {});
            (r, seq)
        };
        // Few: batches, no sorted write.
        let s = Ingesting::default();
        let few = (0..999).map(|i| Ok((key(i, 0), b"v".to_vec()))).collect();
        assert!(write(&s, few).0.is_ok());
        assert_eq!(s.1.load(std::sync::atomic::Ordering::SeqCst), 0);
        assert_eq!(heads_at(&s, 11), 999);
        assert_eq!(take_back_uncommitted(&s).unwrap(), 999);
        assert_eq!(heads_at(&s, 11), 0);

        // Many: one sorted write, one record.
        let s = Ingesting::default();
        let many = (0..10_000)
            .map(|i| Ok((key(i, 0), b"v".to_vec())))
            .collect();
        let (r, seq) = write(&s, many);
        r.unwrap();
        assert_eq!((s.1.load(std::sync::atomic::Ordering::SeqCst), seq), (1, 1));
        assert_eq!(records(&s, 3), 1);
        assert_eq!(heads_at(&s, 11), 10_000);
        assert_eq!(take_back_uncommitted(&s).unwrap(), 10_000);
        assert_eq!((heads_at(&s, 11), records(&s, 3)), (0, 0));

        // Long keys: 6 MB of them, two ingestions of several records each.
        let s = Ingesting::default();
        let long = (0..6_000).map(|i| Ok((key(i, 1000), Vec::new()))).collect();
        let (r, seq) = write(&s, long);
        r.unwrap();
        assert_eq!(s.1.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert!(seq >= 6, "{seq} records");
        assert_eq!(records(&s, 3), seq as usize);
        assert_eq!(take_back_uncommitted(&s).unwrap(), 6_000);
        assert_eq!(heads_at(&s, 11), 0);

        // An error entry after 5,000: those are written and listed, the error returned.
        let s = Ingesting::default();
        let failing = (0..8_000)
            .map(|i| match i {
                5_000 => Err(Error::invalid("the source failed")),
                i => Ok((key(i, 0), b"v".to_vec())),
            })
            .collect();
        let (r, _) = write(&s, failing);
        assert!(r.unwrap_err().to_string().contains("the source failed"));
        assert_eq!(heads_at(&s, 11), 5_000);
        assert_eq!(take_back_uncommitted(&s).unwrap(), 5_000);

        // A key out of order after 2,000: an error, the 2,000 before it listed.
        let s = Ingesting::default();
        let unsorted = (0..3_000)
            .map(|i| Ok((key(if i == 2_000 { 5 } else { i }, 0), Vec::new())))
            .collect();
        let (r, _) = write(&s, unsorted);
        assert!(r.unwrap_err().to_string().contains("out of order"));
        assert_eq!(heads_at(&s, 11), 2_000);
        assert_eq!(take_back_uncommitted(&s).unwrap(), 2_000);
    }

    #[test]
    fn heads_are_listed_and_taken_back_restoring_tombstones() {
        let s = MemoryStorage::new();
        // "t" had a version [3, 5) and a tombstone head since 5.
        let mut b = WriteBatch::new();
        b.put(
            keys::history_key(b"t", 5),
            keys::encode_version(3, Some(b"old")),
        );
        b.put(keys::head_key(b"t"), keys::encode_version(5, None));
        // "c" has a committed live head, which a direct write never touches.
        b.put(keys::head_key(b"c"), keys::encode_version(4, Some(b"c")));
        s.write(b, false).unwrap();
        let entries: Vec<(&[u8], &[u8])> = vec![(b"a", b"1"), (b"t", b"2")];
        let mut seq = 0;
        write_heads(
            &s,
            (7, &mut seq),
            9,
            4096,
            entries.into_iter().map(Ok),
            |_| {},
        )
        .unwrap();
        assert_eq!(seq, 1);
        assert_eq!(head(&s, b"a"), Some((9, Some(b"1".to_vec()))));
        assert_eq!(head(&s, b"t"), Some((9, Some(b"2".to_vec()))));
        assert!(own_head(&s, b"c", 9).unwrap().is_none());
        assert_eq!(take_back_uncommitted(&s).unwrap(), 2);
        assert_eq!(head(&s, b"a"), None);
        assert_eq!(head(&s, b"t"), Some((5, None)));
        assert_eq!(head(&s, b"c"), Some((4, Some(b"c".to_vec()))));
        assert!(s
            .first_in_range(prefix_range(&record_prefix(7)))
            .unwrap()
            .is_none());
        assert!(decode_record(&[0; 7]).is_err());
        assert!(decode_record(&[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, b'k']).is_err());
    }
}
