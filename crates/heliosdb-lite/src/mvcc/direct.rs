//! Spilled inserts written straight to their heads: a transaction's new rows past its memory
//! budget are stored once, where the commit would have put them, instead of twice (the
//! private range, then the heads).
//!
//! A pending version qualifies when the key is known to have no live committed version
//! (`Transaction::put_unversioned`: a rowid beyond every one in use, its index entries, the
//! entries of a new index), the version is live, and the key's table keeps no change log for
//! a packed copy. At a spill such versions are written as heads stamped with the SCN the
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

use super::keys;
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

/// Writes `entries` (logical key, data; ascending) as heads at `scn`, with the records that
/// list them, in bounded batches (not synced); `seq` numbers the records and `written` hears
/// of each key. An entry that is an error ends the writing: what came before it is written
/// and listed (so that a rollback takes all of it back), and the error is returned.
pub(super) fn write_heads<K: AsRef<[u8]>, D: AsRef<[u8]>>(
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
        let head = keys::encode_version(scn, Some(data));
        bytes += 2 * logical.len() + head.len();
        batch.put(keys::head_key(logical), head);
        written(logical);
        if bytes >= BATCH_BYTES || batch.len() >= BATCH_OPS {
            flush(&mut batch, &mut record, seq)?;
            bytes = 0;
        }
    }
    flush(&mut batch, &mut record, seq)
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
        write_heads(&s, 7, &mut seq, 9, entries.into_iter().map(Ok), |_| {}).unwrap();
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
