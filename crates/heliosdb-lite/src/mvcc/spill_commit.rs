//! Committing a transaction whose write set spilled to its private range, and finishing such
//! a commit after a crash.
//!
//! A commit that fits in memory is one atomic storage batch. A spilled one cannot be: a fjall
//! batch is one journal entry held whole in memory (and applied to one memtable), so a
//! million-row commit in one batch would need the memory the spill saved. Instead the private
//! range serves as the commit's redo log:
//!
//! 1. The *marker batch* holds the commit record, the metadata writes, the GC prefix requests
//!    and a marker (`meta "spilled_commit"`: TXID, SCN, progress, counter changes so far).
//!    From the moment it is in storage the commit is decided: every pending version is in the
//!    private range, and whoever finds the marker completes the commit from it.
//! 2. *Chunk batches* apply the pending versions in key order, a bounded number per batch,
//!    each exactly as a one-batch commit would (the old head moves to the history under the
//!    commit's SCN, the new head is written), together with that chunk's GC work items, the
//!    deletion of the applied private versions and the marker's new progress. A chunk is
//!    atomic, and what it applied leaves the private range with it, so applying the rest is
//!    always right, however often it is interrupted.
//! 3. The *final batch* writes the changed row counters (the counts changed by all chunks,
//!    carried in the marker) and deletes the marker.
//!
//! None of these is synced on its own; the commit is acknowledged once the group-commit sync
//! covers them, and published to readers only then, as every commit. Before that, readers do
//! not read at this SCN, and heads newer than their snapshot send them to the history, where
//! each chunk put the version they need in the same batch as the head: readers are never
//! disturbed by a half-applied commit, exactly as they are not by a written, unpublished one.
//! The write lock is held throughout, so nothing else writes meanwhile.
//!
//! After a crash, the storage journal replays a prefix of the batches. [`recover`] runs on
//! open: if it finds a marker, the marker batch (and the commit record in it) survived, so it
//! applies the remaining chunks and the final batch; then it deletes every private range,
//! of committed, rolled-back and interrupted transactions alike. Without the marker nothing
//! of the commit is visible (the chunks come after it in the journal), so the transaction
//! simply never happened.

use super::counters::{self, CountGroup};
use super::gc::{push_work_item, GcKind};
use super::pack::{ChangeLog, Packs};
use super::spill::{self, KnownHead, BATCH_BYTES, BATCH_OPS};
use super::view::{self, AscendingHeads};
use super::{keys, CommitInfo, Mvcc};
use crate::error::{Error, Result};
use crate::storage::{prefix_successor, Direction, Storage, WriteBatch};
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;
use std::ops::Bound;

/// Metadata name of the marker of a spilled commit being applied.
const MARKER: &[u8] = b"spilled_commit";

/// What the marker records: which commit, how far applied, and the counts changed so far.
#[derive(Debug, Default, PartialEq)]
struct Marker {
    txid: u64,
    scn: u64,
    /// Number of the next GC work list (each chunk writes its own, beside the commit's).
    next_list: u32,
    deltas: Vec<(Vec<u8>, i64)>,
}

impl Marker {
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&self.txid.to_be_bytes());
        v.extend_from_slice(&self.scn.to_be_bytes());
        v.extend_from_slice(&self.next_list.to_be_bytes());
        for (prefix, d) in &self.deltas {
            v.extend_from_slice(&(prefix.len() as u32).to_be_bytes());
            v.extend_from_slice(prefix);
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    fn decode(v: &[u8]) -> Result<Self> {
        let damaged = || Error::corruption("malformed marker of a spilled commit");
        fn take<const N: usize>(rest: &mut &[u8]) -> Option<[u8; N]> {
            let (head, tail) = rest.split_at_checked(N)?;
            *rest = tail;
            head.try_into().ok()
        }
        let mut rest = v;
        let txid = u64::from_be_bytes(take(&mut rest).ok_or_else(damaged)?);
        let scn = u64::from_be_bytes(take(&mut rest).ok_or_else(damaged)?);
        let next_list = u32::from_be_bytes(take(&mut rest).ok_or_else(damaged)?);
        let mut deltas = Vec::new();
        while !rest.is_empty() {
            let len = u32::from_be_bytes(take(&mut rest).ok_or_else(damaged)?) as usize;
            let (prefix, tail) = rest.split_at_checked(len).ok_or_else(damaged)?;
            rest = tail;
            let d = i64::from_be_bytes(take(&mut rest).ok_or_else(damaged)?);
            deltas.push((prefix.to_vec(), d));
        }
        Ok(Self {
            txid,
            scn,
            next_list,
            deltas,
        })
    }
}

/// GC work list number `n` of commit `scn`: beside the commit's own list, inside the range
/// GC reads for that SCN.
fn work_list_key(scn: u64, n: u32) -> Vec<u8> {
    let mut k = keys::gc_key(scn);
    if n > 0 {
        k.push(0);
        k.extend_from_slice(&n.to_be_bytes());
    }
    k
}

/// Adds to `batch` the write of `value` as the new head of `logical` at `scn`, moving the old
/// head (`old_head`, read under the write lock: `Some(None)` if there was none) to the
/// history if it was live, and records the GC work this creates in `work`. `old_head` is
/// `None` for a key known to have no live head that was not read: then the new head cannot
/// list the key's past versions. Returns whether the old head was live. Shared by the
/// one-batch commit and the chunks of a spilled one, so both write exactly the same versions.
pub(super) fn stage_version(
    batch: &mut WriteBatch,
    work: &mut Vec<u8>,
    changes: &ChangeLog<'_>,
    scn: u64,
    logical: &[u8],
    value: Option<&[u8]>,
    old_head: Option<Option<crate::storage::Bytes>>,
) -> Result<bool> {
    let head_read = old_head.is_some();
    let old_head = old_head.flatten();
    let old = old_head.as_deref().map(keys::decode_version).transpose()?;
    let old_live = old.is_some_and(|v| v.data.is_some());
    if value.is_none() && !old_live {
        return Ok(false); // deleting what is already absent leaves no trace
    }
    // A head already stamped with this commit's SCN was written directly by this transaction
    // (`super::direct`): no snapshot ever saw it, so it is replaced, not kept in the history.
    let superseded = old_head
        .as_ref()
        .zip(old)
        .filter(|(_, v)| old_live && v.begin != scn);
    if let Some((bytes, version)) = superseded {
        // The superseded head moves to the history without its list of past versions:
        // copied, because a value read from the store is a view into the block it was read
        // from, which the memtable would otherwise keep whole until its flush.
        let key = keys::history_key(logical, scn);
        let entry = keys::history_value(bytes, &version);
        push_work_item(work, GcKind::Delete, key.len() + entry.len(), &key);
        batch.put(key, entry);
    }
    changes.record(batch, scn, logical);
    let head_key = keys::head_key_bytes(logical);
    // The new head lists the old one (and the old one's list) in front of its data: a read
    // at an older snapshot finds the version it needs by its exact key.
    let new_head = match head_read {
        true => keys::head_bytes(scn, value, old.as_ref()),
        false => keys::version_bytes(scn, value),
    };
    if value.is_none() {
        let size = head_key.len() + new_head.len();
        push_work_item(work, GcKind::Tombstone, size, &head_key);
    }
    batch.put(head_key, new_head);
    Ok(old_live)
}

/// Commits transaction `txid`, whose pending versions are all in its private range. Called
/// with the write lock held.
///
/// `direct` is the SCN the heads the transaction wrote directly carry (`super::direct`),
/// which must be the one this commit takes, and `deltas` the row-count changes they make.
pub(super) fn commit(
    mvcc: &Mvcc,
    txid: u64,
    meta: BTreeMap<Vec<u8>, Vec<u8>>,
    ranges: Vec<Vec<u8>>,
    direct: Option<u64>,
    deltas: Vec<(Vec<u8>, i64)>,
) -> Result<CommitInfo> {
    let storage = mvcc.0.storage.clone();
    let count_group = mvcc.0.options.count_group;
    let then_deltas = deltas.clone();
    mvcc.write_commit_then(
        txid,
        |scn, batch| {
            if direct.is_some_and(|d| d != scn) {
                return Err(Error::Storage(format!(
                    "a transaction wrote heads for SCN {direct:?}, but its commit got SCN {scn}"
                )));
            }
            let mut work = Vec::new();
            for prefix in &ranges {
                push_work_item(&mut work, GcKind::Prefix, 0, prefix);
            }
            if !work.is_empty() {
                batch.put(work_list_key(scn, 0), work);
            }
            for (k, v) in meta {
                batch.put(keys::meta_key(&k), v);
            }
            let marker = Marker {
                txid,
                scn,
                next_list: 1,
                deltas,
            };
            batch.put(keys::meta_key(MARKER), marker.encode());
            Ok(())
        },
        |scn| {
            let marker = Marker {
                txid,
                scn,
                next_list: 1,
                deltas: then_deltas,
            };
            apply(&*storage, count_group, &mvcc.0.packs, marker)
        },
    )
}

/// Applies the pending versions left in the private range of the marker's transaction, then
/// the counters, and removes the marker (steps 2 and 3 of the module documentation).
fn apply(
    storage: &dyn Storage,
    count_group: Option<CountGroup>,
    packs: &Packs,
    mut marker: Marker,
) -> Result<()> {
    let prefix = spill::write_prefix(marker.txid);
    let scn = marker.scn;
    // Counters the transaction wrote itself (a table created or dropped) are written last,
    // with the counts, so each counter gets one version from this commit.
    let mut own_counters = BTreeMap::new();
    let mut lo = Bound::Included(prefix.clone());
    if count_group.is_some() {
        let mut counter_prefix = prefix.clone();
        counter_prefix.push(counters::COUNTER_TAG);
        let range = crate::storage::prefix_range(&counter_prefix);
        for kv in storage.scan(range, Direction::Forward) {
            let (k, v) = kv?;
            let data = spill::decode_pending(&v)?.0.map(<[u8]>::to_vec);
            own_counters.insert(k[prefix.len()..].to_vec(), data);
        }
        if let Some(after) = prefix_successor(&counter_prefix) {
            lo = Bound::Included(after);
        }
    }
    let hi = match prefix_successor(&prefix) {
        Some(s) => Bound::Excluded(s),
        None => Bound::Unbounded,
    };
    let mut deltas: HashMap<Vec<u8>, i64> = marker.deltas.drain(..).collect();
    loop {
        let mut chunk = Vec::new();
        let mut bytes = 0;
        for kv in storage.scan((lo.clone(), hi.clone()), Direction::Forward) {
            let (k, v) = kv?;
            bytes += k.len() + v.len();
            chunk.push((k, v));
            if bytes >= BATCH_BYTES || chunk.len() >= BATCH_OPS / 2 {
                break;
            }
        }
        let Some((last, _)) = chunk.last() else {
            break;
        };
        lo = Bound::Excluded(last.to_vec());
        let mut batch = WriteBatch::new();
        let mut work = Vec::new();
        let changes = packs.change_log(count_group);
        // The records of rows a DELETE or UPDATE read through their heads carry the head it
        // read. For the others (index entries, rows read through a pack, heads the
        // transaction did not keep) the chunk's keys ascend, so one forward walk over
        // the heads reads them while they lie close together: a point read per key reloads
        // its block (and, once a large table churns the block cache, the table's index and
        // filter blocks) each time. A new walk per chunk, so that no iterator holds on to
        // memtables for the whole commit; started only if a record needs it.
        let mut heads = None;
        for (k, v) in chunk {
            let logical = &k[prefix.len()..];
            let (value, known) = spill::decode_pending(&v)?;
            let old_head = match known {
                KnownHead::Dead => None,
                KnownHead::Live(head) => Some(Some(crate::storage::Bytes::from(head))),
                KnownHead::Unknown => Some(
                    heads
                        .get_or_insert_with(|| AscendingHeads::new(storage, true))
                        .lookup(logical)?,
                ),
            };
            let old_live = stage_version(
                &mut batch, &mut work, &changes, scn, logical, value, old_head,
            )?;
            if let Some(group) = count_group {
                counters::add_delta(group, logical, old_live, value.is_some(), &mut deltas);
            }
            batch.delete(k.to_vec());
        }
        changes.finish(&mut batch, scn);
        if !work.is_empty() {
            batch.put(work_list_key(scn, marker.next_list), work);
            marker.next_list += 1;
        }
        marker.deltas = deltas.iter().map(|(p, d)| (p.clone(), *d)).collect();
        batch.put(keys::meta_key(MARKER), marker.encode());
        storage.write(batch, false)?;
    }
    let mut writes = own_counters;
    let mut private = Vec::with_capacity(writes.len());
    for logical in writes.keys() {
        let mut k = prefix.clone();
        k.extend_from_slice(logical);
        private.push(k);
    }
    counters::apply_deltas(storage, &deltas, &mut writes, &mut HashMap::default())?;
    let mut batch = WriteBatch::new();
    let mut work = Vec::new();
    let changes = packs.change_log(count_group);
    for (logical, value) in &writes {
        let old_head = Some(view::head_to_replace(storage, logical)?);
        stage_version(
            &mut batch,
            &mut work,
            &changes,
            scn,
            logical,
            value.as_deref(),
            old_head,
        )?;
    }
    changes.finish(&mut batch, scn);
    // Tracked tables log the heads written directly (from the records dropped below), with
    // the tables tracked before this commit, as its other writes.
    super::direct::log_changes(
        storage,
        marker.txid,
        scn,
        packs.numbered_change_log(count_group),
        &mut batch,
    )?;
    packs.track_crossed(
        writes.iter().map(|(k, v)| (k.as_slice(), v.as_deref())),
        scn,
        &mut batch,
    );
    if !work.is_empty() {
        batch.put(work_list_key(scn, marker.next_list), work);
    }
    for k in private {
        batch.delete(k);
    }
    // The direct heads are committed now: nothing may take them back.
    super::direct::drop_records(storage, marker.txid, &mut batch)?;
    batch.delete(keys::meta_key(MARKER));
    storage.write(batch, false)
}

/// Run on open, before anything reads: completes a spilled commit interrupted by a crash
/// (its marker survived) and removes every transaction's private range.
pub(super) fn recover(
    storage: &dyn Storage,
    count_group: Option<CountGroup>,
    packs: &Packs,
) -> Result<()> {
    let mut changed = false;
    if let Some(v) = storage.get(&keys::meta_key(MARKER))? {
        let marker = Marker::decode(&v)?;
        if storage.get(&keys::commit_key(marker.scn))?.is_none() {
            return Err(Error::corruption(format!(
                "a spilled commit (SCN {}) is marked as decided but its commit record is missing",
                marker.scn
            )));
        }
        tracing::info!(
            scn = marker.scn,
            "completing a spilled commit interrupted by a crash"
        );
        apply(storage, count_group, packs, marker)?;
        changed = true;
    }
    // A transaction that never committed may leave GC work lists named by its id
    // (`super::overwrite`, beside the history entries its take-back keeps): the id must not
    // be handed out again, and the counter, stored when a transaction ends, may not know it.
    // Stored before the private ranges go, which are what tells the id.
    changed |= reserve_private_txids(storage)?;
    // Heads written directly by transactions that never committed go before their records.
    let taken = super::direct::take_back_uncommitted(storage)?;
    let removed = spill::discard(storage, &[keys::PRIVATE])?;
    if changed || taken > 0 || removed > 0 {
        storage.sync()?;
    }
    Ok(())
}

/// Raises the stored transaction-id counter past the largest id with a private range (the
/// last private key: one seek). Returns whether it wrote.
fn reserve_private_txids(storage: &dyn Storage) -> Result<bool> {
    let private = crate::storage::prefix_range(&[keys::PRIVATE]);
    let Some(kv) = storage.scan(private, Direction::Reverse).next() else {
        return Ok(false);
    };
    let (k, _) = kv?;
    let txid =
        keys::number_after_tag(&k).ok_or_else(|| Error::corruption("malformed private key"))?;
    let stored = super::read_u64_meta(storage, b"next_txid")?.unwrap_or(1);
    if stored > txid {
        return Ok(false);
    }
    let mut batch = WriteBatch::new();
    batch.put(
        keys::meta_key(b"next_txid"),
        txid.saturating_add(1).to_be_bytes().to_vec(),
    );
    storage.write(batch, false)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_with_a_private_range_are_never_handed_out_again() {
        let s = crate::storage::MemoryStorage::new();
        assert!(!reserve_private_txids(&s).unwrap());
        let mut b = WriteBatch::new();
        let mut k = spill::txn_prefix(40);
        k.extend_from_slice(b"w-key");
        b.put(k, b"v".to_vec());
        b.put(spill::txn_prefix(7), b"v".to_vec());
        s.write(b, false).unwrap();
        assert!(reserve_private_txids(&s).unwrap());
        let stored = s.get(&keys::meta_key(b"next_txid")).unwrap().unwrap();
        assert_eq!(u64::from_be_bytes(stored[..].try_into().unwrap()), 41);
        // A counter already past them stays.
        assert!(!reserve_private_txids(&s).unwrap());
    }

    #[test]
    fn markers_round_trip_and_damage_is_an_error() {
        let m = Marker {
            txid: 9,
            scn: 1 << 40,
            next_list: 3,
            deltas: vec![(b"rT".to_vec(), -5), (Vec::new(), 7)],
        };
        assert_eq!(Marker::decode(&m.encode()).unwrap(), m);
        let bytes = m.encode();
        for cut in [0, 7, 19, bytes.len() - 1] {
            assert!(Marker::decode(&bytes[..cut]).is_err(), "{cut}");
        }
    }

    #[test]
    fn work_lists_of_one_commit_sort_together() {
        assert_eq!(work_list_key(5, 0), keys::gc_key(5));
        assert!(work_list_key(5, 1) > keys::gc_key(5));
        assert!(work_list_key(5, u32::MAX) < keys::gc_key(6));
    }
}
