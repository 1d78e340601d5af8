//! A transaction's private range: where its write set and undo log go once they outgrow the
//! memory the transaction may hold (`MvccOptions::txn_memory_bytes`).
//!
//! Under the tag [`keys::PRIVATE`], each spilled transaction owns the keys starting with
//! `PRIVATE ‖ txid`:
//!
//! | key | value |
//! |---|---|
//! | `PRIVATE ‖ txid ‖ 'w' ‖ logical` | the pending version: flags ‖ the committed head, if kept ‖ data (see [`encode_pending`]) |
//! | `PRIVATE ‖ txid ‖ 'u' ‖ seq (8 bytes BE)` | a chunk of undo records, the first numbered `seq` (see [`push_undo`]) |
//!
//! Snapshots read heads and history only, so nobody but the owner ever sees these keys; the
//! owner's reads lay its in-memory writes over them, and them over the committed data. TXIDs
//! are never reused, so a range left behind by a crash cannot be mistaken for a live one, and
//! opening the database removes every such range (after finishing an interrupted commit, see
//! [`super::spill_commit`]). Spill writes are not synced: until the commit they are worth
//! nothing after a crash anyway.

use super::keys;
use crate::error::{Error, Result};
use crate::storage::{prefix_successor, Direction, KeyRange, Storage, WriteBatch};
use std::ops::Bound;

const WRITE: u8 = b'w';
const UNDO: u8 = b'u';

/// Bytes one storage batch carries when moving private data: big enough to amortise a batch,
/// small enough that the batch (fjall copies it once more) stays a small part of the budget.
pub(super) const BATCH_BYTES: usize = 1 << 20;
/// Most mutations in one such batch.
pub(super) const BATCH_OPS: usize = 4096;

/// `PRIVATE ‖ txid`: every private key of the transaction.
pub(super) fn txn_prefix(txid: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(10);
    k.push(keys::PRIVATE);
    k.extend_from_slice(&txid.to_be_bytes());
    k
}

/// The prefix of the transaction's pending versions.
pub(super) fn write_prefix(txid: u64) -> Vec<u8> {
    let mut k = txn_prefix(txid);
    k.push(WRITE);
    k
}

fn write_key(txid: u64, logical: &[u8]) -> Vec<u8> {
    let mut k = write_prefix(txid);
    k.extend_from_slice(logical);
    k
}

/// The prefix of the transaction's stored undo log.
pub(super) fn undo_prefix(txid: u64) -> Vec<u8> {
    let mut k = txn_prefix(txid);
    k.push(UNDO);
    k
}

fn undo_key(txid: u64, seq: u64) -> Vec<u8> {
    let mut k = undo_prefix(txid);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

const LIVE: u8 = 1;
/// The committed head was known (read under the write lock, or declared by
/// `put_unversioned`) to hold no live version: the commit need not look it up.
const HEAD_DEAD: u8 = 2;
/// The record carries the committed head the transaction read under the write lock: the
/// commit supersedes it without reading it again.
const HEAD_KEPT: u8 = 4;

/// What a transaction knew, when it spilled a pending version, of its key's committed head.
/// Under the write lock the head cannot change before the commit (nothing else commits, and
/// the transaction's own writes reach the heads only at its commit, or at a spill for keys
/// that never spilled before: new keys, [`super::direct`], and keys written over their heads,
/// [`super::overwrite`], which then never reach the private range with this head), so the
/// commit may take it from the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KnownHead<H> {
    /// Not read: the commit looks it up.
    Unknown,
    /// No live version (no head, a tombstone head, or a key declared new).
    Dead,
    /// This head, holding a live version.
    Live(H),
}

impl<H: AsRef<[u8]>> KnownHead<H> {
    /// The same knowledge, borrowing the head's bytes.
    pub(super) fn as_bytes(&self) -> KnownHead<&[u8]> {
        match self {
            KnownHead::Unknown => KnownHead::Unknown,
            KnownHead::Dead => KnownHead::Dead,
            KnownHead::Live(h) => KnownHead::Live(h.as_ref()),
        }
    }
}

/// Encodes a pending version: a flags byte, the length (4 bytes BE) and bytes of a kept head,
/// then the data of a put.
pub(super) fn encode_pending(value: Option<&[u8]>, head: KnownHead<&[u8]>) -> Vec<u8> {
    let (flags, kept) = match head {
        KnownHead::Unknown => (0, 0),
        KnownHead::Dead => (HEAD_DEAD, 0),
        KnownHead::Live(h) => (HEAD_KEPT, h.len() + 4),
    };
    let mut v = Vec::with_capacity(1 + kept + value.map_or(0, <[u8]>::len));
    v.push((u8::from(value.is_some()) * LIVE) | flags);
    if let KnownHead::Live(h) = head {
        v.extend_from_slice(&(h.len() as u32).to_be_bytes());
        v.extend_from_slice(h);
    }
    if let Some(d) = value {
        v.extend_from_slice(d);
    }
    v
}

/// A decoded pending version: its data (`None`: a delete) and what was known of the
/// committed head.
pub(super) type DecodedPending<'a> = (Option<&'a [u8]>, KnownHead<&'a [u8]>);

/// Decodes a pending version (see [`DecodedPending`]).
pub(super) fn decode_pending(v: &[u8]) -> Result<DecodedPending<'_>> {
    let damaged = || Error::corruption("malformed pending version of a transaction");
    let (&flags, rest) = v.split_first().ok_or_else(damaged)?;
    if flags & !(LIVE | HEAD_DEAD | HEAD_KEPT) != 0
        || flags & (HEAD_DEAD | HEAD_KEPT) == HEAD_DEAD | HEAD_KEPT
    {
        return Err(damaged());
    }
    let (head, data) = if flags & HEAD_KEPT != 0 {
        let (len, rest) = rest.split_first_chunk::<4>().ok_or_else(damaged)?;
        let (head, data) = rest
            .split_at_checked(u32::from_be_bytes(*len) as usize)
            .ok_or_else(damaged)?;
        (KnownHead::Live(head), data)
    } else if flags & HEAD_DEAD != 0 {
        (KnownHead::Dead, rest)
    } else {
        (KnownHead::Unknown, rest)
    };
    if flags & LIVE == 0 && !data.is_empty() {
        return Err(damaged());
    }
    Ok(((flags & LIVE != 0).then_some(data), head))
}

/// The transaction's spilled pending version of `logical`: `None` if it has none, `Some(None)`
/// for a pending delete.
pub(super) fn get(
    storage: &dyn Storage,
    txid: u64,
    logical: &[u8],
) -> Result<Option<Option<Vec<u8>>>> {
    match storage.get(&write_key(txid, logical))? {
        None => Ok(None),
        Some(v) => Ok(Some(decode_pending(&v)?.0.map(<[u8]>::to_vec))),
    }
}

/// True if the transaction spilled a pending version of some key starting with `prefix`.
pub(super) fn has_prefix(storage: &dyn Storage, txid: u64, prefix: &[u8]) -> Result<bool> {
    let range = crate::storage::prefix_range(&write_key(txid, prefix));
    Ok(storage.first_in_range(range)?.is_some())
}

/// The private-key range of the logical range `range`.
fn private_range(txid: u64, range: &KeyRange) -> KeyRange {
    let prefix = write_prefix(txid);
    let map = |b: &Bound<Vec<u8>>| match b {
        Bound::Included(k) => Bound::Included(write_key(txid, k)),
        Bound::Excluded(k) => Bound::Excluded(write_key(txid, k)),
        Bound::Unbounded => Bound::Unbounded,
    };
    let lo = match &range.0 {
        Bound::Unbounded => Bound::Included(prefix.clone()),
        b => map(b),
    };
    let hi = match &range.1 {
        Bound::Unbounded => match prefix_successor(&prefix) {
            Some(s) => Bound::Excluded(s),
            None => Bound::Unbounded,
        },
        b => map(b),
    };
    (lo, hi)
}

/// A pending write: logical key and data (`None`: a delete).
pub(super) type Pending = (Vec<u8>, Option<Vec<u8>>);

/// The transaction's spilled pending versions in the logical range `range`, in key order.
pub(super) fn scan<'a>(
    storage: &'a dyn Storage,
    txid: u64,
    range: &KeyRange,
    direction: Direction,
) -> impl Iterator<Item = Result<Pending>> + 'a {
    let skip = write_prefix(txid).len();
    storage
        .scan(private_range(txid, range), direction)
        .map(move |kv| {
            let (k, v) = kv?;
            let data = decode_pending(&v)?.0.map(<[u8]>::to_vec);
            Ok((k[skip.min(k.len())..].to_vec(), data))
        })
}

/// Collects mutations into batches of bounded size and writes them (not synced).
pub(super) struct Batcher<'a> {
    storage: &'a dyn Storage,
    batch: WriteBatch,
    bytes: usize,
}

impl<'a> Batcher<'a> {
    pub(super) fn new(storage: &'a dyn Storage) -> Self {
        Self {
            storage,
            batch: WriteBatch::new(),
            bytes: 0,
        }
    }

    pub(super) fn put(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        self.bytes += key.len() + value.len();
        self.batch.put(key, value);
        self.maybe_flush()
    }

    pub(super) fn delete(&mut self, key: Vec<u8>) -> Result<()> {
        self.bytes += key.len();
        self.batch.delete(key);
        self.maybe_flush()
    }

    fn maybe_flush(&mut self) -> Result<()> {
        if self.bytes >= BATCH_BYTES || self.batch.len() >= BATCH_OPS {
            self.flush()?;
        }
        Ok(())
    }

    pub(super) fn flush(&mut self) -> Result<()> {
        if !self.batch.is_empty() {
            self.storage.write(std::mem::take(&mut self.batch), false)?;
        }
        self.bytes = 0;
        Ok(())
    }
}

/// Writes the in-memory write set into the private range, each version with what `head`
/// says of its key's committed head (asked in key order). The caller empties its map only
/// once this succeeds: a failure part way leaves private versions equal to what the map
/// still holds over them, so the transaction's view is unchanged.
pub(super) fn write_set<'a, H: AsRef<[u8]>>(
    storage: &dyn Storage,
    txid: u64,
    writes: impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)>,
    mut head: impl FnMut(&[u8]) -> KnownHead<H>,
) -> Result<()> {
    let mut out = Batcher::new(storage);
    for (logical, value) in writes {
        let head = head(logical);
        out.put(
            write_key(txid, logical),
            encode_pending(value, head.as_bytes()),
        )?;
    }
    out.flush()
}

/// One entry of a transaction's undo log: what to restore to roll a write back.
#[derive(Debug)]
pub(super) enum Undo {
    /// A pending version and the one it replaced (`None`: the key had none).
    Write(Vec<u8>, Option<Option<Vec<u8>>>),
    /// A metadata value and the one it replaced.
    Meta(Vec<u8>, Option<Vec<u8>>),
    /// A GC prefix request; the list is cut back to this length.
    GcRange(usize),
    /// Heads written in bulk ([`super::direct`]), named by the records numbered from this
    /// one on. Only ever stored: the bulk write spills the write set first.
    Direct(u64),
    /// A key that had no pending version, appended to the write set's run of ascending keys
    /// ([`super::write_set`]): undone by removing the run's last key, so the entry needs no
    /// copy of the key. Only ever in memory: the transaction turns these into `Write` entries
    /// before anything moves keys out of the run (a spill, or a key inside the run).
    Appended,
}

impl Undo {
    /// Approximately what the entry holds in memory.
    pub(super) fn footprint(&self) -> usize {
        56 + match self {
            Undo::Write(k, v) => k.len() + v.as_ref().and_then(|v| v.as_ref()).map_or(0, Vec::len),
            Undo::Meta(k, v) => k.len() + v.as_ref().map_or(0, Vec::len),
            Undo::GcRange(_) | Undo::Direct(_) | Undo::Appended => 0,
        }
    }
}

/// `kind ‖ [key length (u32 BE) ‖ key ‖ data]`, or `kind ‖ n (u64 BE)` for a GC range
/// (the list's length) and for bulk heads (the first record's number).
fn encode_undo(u: &Undo) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut keyed = |kind: u8, key: &[u8], data: Option<&[u8]>| {
        out.push(kind);
        out.extend_from_slice(&(key.len() as u32).to_be_bytes());
        out.extend_from_slice(key);
        if let Some(d) = data {
            out.extend_from_slice(d);
        }
    };
    match u {
        Undo::Write(k, None) => keyed(0, k, None),
        Undo::Write(k, Some(None)) => keyed(1, k, None),
        Undo::Write(k, Some(Some(v))) => keyed(2, k, Some(v)),
        Undo::Meta(k, None) => keyed(3, k, None),
        Undo::Meta(k, Some(v)) => keyed(4, k, Some(v)),
        Undo::GcRange(n) => {
            out.push(5);
            out.extend_from_slice(&(*n as u64).to_be_bytes());
        }
        Undo::Direct(first) => {
            out.push(6);
            out.extend_from_slice(&first.to_be_bytes());
        }
        Undo::Appended => {
            return Err(Error::Transaction(
                "an undo entry without its key reached storage".into(),
            ))
        }
    }
    Ok(out)
}

fn decode_undo(v: &[u8]) -> Result<Undo> {
    let damaged = || Error::corruption("malformed undo record of a transaction");
    let (&kind, rest) = v.split_first().ok_or_else(damaged)?;
    if kind == 5 || kind == 6 {
        let n: [u8; 8] = rest.try_into().map_err(|_| damaged())?;
        let n = u64::from_be_bytes(n);
        return Ok(if kind == 6 {
            Undo::Direct(n)
        } else {
            Undo::GcRange(usize::try_from(n).map_err(|_| damaged())?)
        });
    }
    let len: [u8; 4] = rest
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(damaged)?;
    let len = u32::from_be_bytes(len) as usize;
    let key = rest.get(4..4 + len).ok_or_else(damaged)?.to_vec();
    let data = &rest[4 + len..];
    let none = || {
        if data.is_empty() {
            Ok(())
        } else {
            Err(damaged())
        }
    };
    Ok(match kind {
        0 => none().map(|_| Undo::Write(key, None))?,
        1 => none().map(|_| Undo::Write(key, Some(None)))?,
        2 => Undo::Write(key, Some(Some(data.to_vec()))),
        3 => none().map(|_| Undo::Meta(key, None))?,
        4 => Undo::Meta(key, Some(data.to_vec())),
        _ => return Err(damaged()),
    })
}

/// Most undo records one stored chunk holds.
const UNDO_CHUNK_RECORDS: usize = BATCH_OPS / 2;
/// Bytes of undo records after which a chunk is closed (by the record that crosses it, so a
/// chunk may hold one record larger than this).
const UNDO_CHUNK_BYTES: usize = BATCH_BYTES / 4;

/// Appends `undo` to the stored undo log, numbering from `first`.
///
/// The records are stored in chunks (`length (u32 BE) ‖ record` each), keyed by the number
/// of their first: a large statement's undo log is a few hundred keys rather than one per
/// row, so storing it, and removing it after the commit, costs little beside the rows
/// themselves (one key per record made a 500,000-row DELETE in an explicit transaction
/// take half as long again). A rollback reads the chunks newest first.
pub(super) fn push_undo(storage: &dyn Storage, txid: u64, first: u64, undo: &[Undo]) -> Result<()> {
    let mut out = Batcher::new(storage);
    // Chunks numbered from `first` on are left over from a spill that failed after storing
    // its undo log (the transaction went on, its numbering did not): this log's chunks need
    // not fall on their boundaries, so they go first, or a rollback would take them for
    // its own.
    let stale = (
        Bound::Included(undo_key(txid, first)),
        match prefix_successor(&undo_prefix(txid)) {
            Some(s) => Bound::Excluded(s),
            None => Bound::Unbounded,
        },
    );
    for kv in storage.scan(stale, Direction::Forward) {
        let (k, _) = kv?;
        out.delete(k.to_vec())?;
    }
    let mut chunk_first = first;
    let mut chunk = Vec::new();
    let mut records = 0;
    for (seq, u) in (first..).zip(undo) {
        if records == 0 {
            chunk_first = seq;
        }
        push_chunk_record(&mut chunk, u)?;
        records += 1;
        if records >= UNDO_CHUNK_RECORDS || chunk.len() >= UNDO_CHUNK_BYTES {
            out.put(undo_key(txid, chunk_first), std::mem::take(&mut chunk))?;
            records = 0;
        }
    }
    if records > 0 {
        out.put(undo_key(txid, chunk_first), chunk)?;
    }
    out.flush()
}

/// Appends `u` to a chunk: its length (4 bytes BE), then the record.
fn push_chunk_record(chunk: &mut Vec<u8>, u: &Undo) -> Result<()> {
    let record = encode_undo(u)?;
    let len = u32::try_from(record.len())
        .map_err(|_| Error::Transaction("an undo record exceeds 4 GiB".into()))?;
    chunk.extend_from_slice(&len.to_be_bytes());
    chunk.extend_from_slice(&record);
    Ok(())
}

/// The records of a stored chunk, in order.
fn decode_undo_chunk(mut v: &[u8]) -> Result<Vec<Undo>> {
    let damaged = || Error::corruption("malformed chunk of undo records of a transaction");
    let mut records = Vec::new();
    while !v.is_empty() {
        let (len, rest) = v.split_at_checked(4).ok_or_else(damaged)?;
        let len = u32::from_be_bytes(len.try_into().map_err(|_| damaged())?) as usize;
        let (record, rest) = rest.split_at_checked(len).ok_or_else(damaged)?;
        records.push(decode_undo(record)?);
        v = rest;
    }
    Ok(records)
}

/// The number a chunk's key gives its first record.
fn chunk_first(key: &[u8]) -> Result<u64> {
    key.len()
        .checked_sub(8)
        .and_then(|at| key.get(at..))
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| Error::corruption("malformed undo record key"))
}

/// Undoes the stored undo records from `*top` down to `to`, newest first: write records are
/// applied to the private range, the others are handed to `other` (metadata and GC requests
/// live in memory). With `direct` (the SCN of the heads the transaction wrote directly, see
/// [`super::direct`]), undoing a key's first write also takes back its direct head, and
/// `taken` hears of each, with whether the head taken back and the head left are live. `*top`
/// follows each chunk undone, so after a failure it still says which chunks remain (a chunk holding bulk heads may be partly applied: the caller then
/// only lets the transaction roll back whole). Bulk heads ([`Undo::Direct`]) are taken back whatever `direct`
/// says (they were written at the transaction's direct SCN, which `direct` then holds).
pub(super) fn roll_back(
    storage: &dyn Storage,
    txid: u64,
    to: u64,
    top: &mut u64,
    direct: Option<u64>,
    mut other: impl FnMut(Undo),
    mut taken: impl FnMut(&[u8], bool, bool),
) -> Result<()> {
    while *top > to {
        // The newest chunk below `top`: it holds record `top - 1`, and may begin before `to`.
        let range = (
            Bound::Included(undo_prefix(txid)),
            Bound::Excluded(undo_key(txid, *top)),
        );
        let Some((key, chunk)) = storage.scan(range, Direction::Reverse).next().transpose()? else {
            break; // nothing stored in between
        };
        let first = chunk_first(&key)?;
        let mut records = decode_undo_chunk(&chunk)?;
        // Records at `top` or above were undone already; those below `to` stay. A chunk
        // ending below `top` would leave records unaccounted for: never undo past a gap.
        if first + (records.len() as u64) < *top {
            return Err(Error::corruption(format!(
                "the stored undo log of transaction {txid} lacks records {} to {}",
                first + records.len() as u64,
                *top - 1
            )));
        }
        records.truncate(usize::try_from(top.saturating_sub(first)).unwrap_or(usize::MAX));
        let kept = usize::try_from(to.saturating_sub(first)).unwrap_or(usize::MAX);
        let undone = records.split_off(kept.min(records.len()));
        let mut batch = WriteBatch::new();
        // Newest first; a later put of the same key in the batch wins, as it must.
        for u in undone.into_iter().rev() {
            match u {
                Undo::Write(logical, None) => {
                    batch.delete(write_key(txid, &logical));
                    // The key's first write, so a head at `scn` is this write's own: written
                    // over the committed head (its history entry under `scn` says so) or as
                    // a new head.
                    if let Some(scn) = direct {
                        match super::overwrite::take_back(storage, &mut batch, &logical, scn)? {
                            Some(was_live) => taken(&logical, was_live, true),
                            None => {
                                if super::direct::take_back(storage, &mut batch, &logical, scn)? {
                                    taken(&logical, true, false);
                                }
                            }
                        }
                    }
                }
                Undo::Write(logical, Some(prev)) => batch.put(
                    write_key(txid, &logical),
                    encode_pending(prev.as_deref(), KnownHead::Unknown),
                ),
                Undo::Direct(first_list) => {
                    // What the newer records undid lands first, as it would have.
                    if !batch.is_empty() {
                        storage.write(std::mem::take(&mut batch), false)?;
                    }
                    super::direct::take_back_from(storage, txid, first_list, &mut taken)?;
                }
                u => other(u),
            }
        }
        if records.is_empty() {
            batch.delete(key.to_vec());
        } else {
            // The chunk began before `to`: its older records stay, as a shorter chunk.
            let mut rest = Vec::new();
            for u in &records {
                push_chunk_record(&mut rest, u)?;
            }
            batch.put(key.to_vec(), rest);
        }
        storage.write(batch, false)?;
        *top = first.max(to);
    }
    *top = to;
    Ok(())
}

/// Deletes every key starting with `prefix` (a transaction's private range, or all of them),
/// in bounded batches. Walks with a cursor, so the deletions already made are not walked
/// again.
pub(super) fn discard(storage: &dyn Storage, prefix: &[u8]) -> Result<u64> {
    let mut lo = Bound::Included(prefix.to_vec());
    let hi = match prefix_successor(prefix) {
        Some(s) => Bound::Excluded(s),
        None => Bound::Unbounded,
    };
    let mut removed = 0;
    loop {
        let mut batch = WriteBatch::new();
        let mut last = None;
        for kv in storage
            .scan((lo.clone(), hi.clone()), Direction::Forward)
            .take(BATCH_OPS)
        {
            let (k, _) = kv?;
            batch.delete(k.to_vec());
            last = Some(k.to_vec());
        }
        let Some(last) = last else {
            return Ok(removed);
        };
        removed += batch.len() as u64;
        storage.write(batch, false)?;
        lo = Bound::Excluded(last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn pending_versions_and_undo_records_round_trip() {
        for (data, head) in [
            (None, KnownHead::Unknown),
            (Some(&b""[..]), KnownHead::Dead),
            (Some(&b"row"[..]), KnownHead::Unknown),
            (None, KnownHead::Live(&b"head"[..])),
            (Some(&b"row"[..]), KnownHead::Live(&b"h"[..])),
            (Some(&b""[..]), KnownHead::Live(&b""[..])),
        ] {
            let v = encode_pending(data, head);
            assert_eq!(decode_pending(&v).unwrap(), (data, head));
        }
        // Records written before heads were kept decode as they always did.
        assert_eq!(
            decode_pending(&[1, b'x']).unwrap(),
            (Some(&b"x"[..]), KnownHead::Unknown)
        );
        assert_eq!(decode_pending(&[2]).unwrap(), (None, KnownHead::Dead));
        for bad in [
            &[][..],
            &[0, 1][..],
            &[9][..],
            &[6, 0, 0, 0, 0][..],
            &[4, 0, 0][..],
            &[4, 0, 0, 0, 3, b'h'][..],
            &[4, 0, 0, 0, 1, b'h', b'x'][..],
            &[8][..],
        ] {
            assert!(decode_pending(bad).is_err(), "{bad:?}");
        }
        let records = [
            Undo::Write(b"k".to_vec(), None),
            Undo::Write(b"k".to_vec(), Some(None)),
            Undo::Write(b"k".to_vec(), Some(Some(b"v".to_vec()))),
            Undo::Meta(b"m".to_vec(), None),
            Undo::Meta(b"m".to_vec(), Some(b"".to_vec())),
            Undo::GcRange(7),
            Undo::Direct(3),
        ];
        for u in records {
            let back = decode_undo(&encode_undo(&u).unwrap()).unwrap();
            assert_eq!(format!("{back:?}"), format!("{u:?}"));
        }
        for bad in [
            &[][..],
            &[0, 0, 0, 0, 9][..],
            &[9, 0, 0, 0, 0][..],
            &[0, 0, 0, 0, 1, b'k', 1][..],
        ] {
            assert!(decode_undo(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn private_ranges_are_per_transaction_and_discarded_whole() {
        let s = crate::storage::MemoryStorage::new();
        let mut w = BTreeMap::new();
        w.insert(b"a".to_vec(), Some(b"1".to_vec()));
        w.insert(b"b".to_vec(), None);
        let pairs = || {
            w.iter()
                .map(|(k, v): (&Vec<u8>, &Option<Vec<u8>>)| (k.as_slice(), v.as_deref()))
        };
        write_set(&s, 7, pairs(), |_| KnownHead::<&[u8]>::Unknown).unwrap();
        write_set(&s, 8, pairs(), |_| KnownHead::<&[u8]>::Dead).unwrap();
        assert_eq!(get(&s, 7, b"a").unwrap(), Some(Some(b"1".to_vec())));
        assert_eq!(get(&s, 7, b"b").unwrap(), Some(None));
        assert_eq!(get(&s, 7, b"c").unwrap(), None);
        let all = (Bound::Unbounded, Bound::Unbounded);
        let got: Vec<_> = scan(&s, 7, &all, Direction::Reverse)
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(
            got,
            vec![(b"b".to_vec(), None), (b"a".to_vec(), Some(b"1".to_vec()))]
        );
        assert!(has_prefix(&s, 7, b"a").unwrap());
        assert_eq!(discard(&s, &txn_prefix(7)).unwrap(), 2);
        assert_eq!(get(&s, 7, b"a").unwrap(), None);
        assert_eq!(get(&s, 8, b"a").unwrap(), Some(Some(b"1".to_vec())));
    }
}
