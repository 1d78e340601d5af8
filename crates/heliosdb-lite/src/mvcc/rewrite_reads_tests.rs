//! Tests of the walk a transaction keeps over the rows it rewrites in key order.

use super::super::tests::{options, store};
use super::super::{keys, Mvcc, TxnMode};
use super::*;
use crate::error::Result;
use crate::storage::{MemoryStorage, WriteBatch};
use crate::time::ManualClock;
use std::collections::BTreeMap;

fn key(i: u32) -> Vec<u8> {
    format!("row{i:05}").into_bytes()
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// 600 committed rows, every 7th deleted and every 5th rewritten once (heads with a history
/// and tombstones), moved into the tables for a disk store.
fn loaded(storage: Arc<dyn Storage>, clock: &ManualClock) -> (Mvcc, Model) {
    let m = Mvcc::open(storage, options(clock)).unwrap();
    let mut model = Model::new();
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    for i in 0..600 {
        t.put(key(i), format!("v{i}").into_bytes()).unwrap();
        model.insert(key(i), format!("v{i}").into_bytes());
    }
    t.commit().unwrap();
    clock.advance(10);
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    for i in (0..600).step_by(7) {
        t.delete(key(i)).unwrap();
        model.remove(&key(i));
    }
    for i in (0..600).step_by(5).filter(|i| i % 7 != 0) {
        t.put(key(i), format!("w{i}").into_bytes()).unwrap();
        model.insert(key(i), format!("w{i}").into_bytes());
    }
    t.commit().unwrap();
    clock.advance(10);
    m.storage().checkpoint().unwrap();
    (m, model)
}

/// What `UPDATE ... WHERE key = ?` executions in ascending key order do: read each row to
/// replace, then write it, with a few rows written before they are read, rows that do not
/// exist, and now and then a row read out of order.
fn rewrite_in_key_order(m: &Mvcc, model: &mut Model) -> u64 {
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    for i in (3..600).step_by(11) {
        t.put(key(i), b"own".to_vec()).unwrap();
        model.insert(key(i), b"own".to_vec());
    }
    let mut read = |t: &mut super::super::Transaction, i: u32| {
        let got = t.reading_rows_to_replace(|| t.get(&key(i))).unwrap();
        assert_eq!(
            got.map(|v| v.to_vec()),
            model.get(&key(i)).cloned(),
            "row {i}"
        );
        if i % 3 == 0 && model.contains_key(&key(i)) {
            t.put(key(i), format!("u{i}").into_bytes()).unwrap();
            model.insert(key(i), format!("u{i}").into_bytes());
        }
    };
    for i in 0..650 {
        read(&mut t, i);
        if i % 50 == 49 {
            read(&mut t, i - 30);
        }
    }
    let walked = t.rewrite_reads_walked();
    t.commit().unwrap();
    walked
}

#[test]
fn rows_rewritten_in_key_order_read_what_point_reads_read_and_commit_the_same_history() {
    for disk in [false, true] {
        let clock = ManualClock::new(1_000_000);
        let dir = tempfile::tempdir().unwrap();
        // In memory, a store that reads as a disk store does (an in-memory one never walks).
        let storage = match disk {
            true => store(true, dir.path()),
            false => walking(usize::MAX),
        };
        let (m, mut model) = loaded(storage, &clock);
        let before = model.clone();
        let scn_before = m.snapshot().scn();
        let walked = rewrite_in_key_order(&m, &mut model);
        assert!(walked > 500, "disk {disk}: the walk served {walked} reads");
        // The commit superseded the heads the walk read: the newest state is the model, the
        // one before it what was there before.
        for i in 0..650 {
            let now = m.snapshot().get(&key(i)).unwrap().map(|v| v.to_vec());
            assert_eq!(now, model.get(&key(i)).cloned(), "disk {disk}, row {i} now");
            let then = m.snapshot_at(scn_before).unwrap().get(&key(i)).unwrap();
            let then = then.map(|v| v.to_vec());
            assert_eq!(
                then,
                before.get(&key(i)).cloned(),
                "disk {disk}, row {i} before"
            );
        }
    }
}

fn heads(storage: &Arc<dyn Storage>, rows: u32) {
    let mut b = WriteBatch::new();
    for i in 0..rows {
        b.put(keys::head_key(&key(i)), format!("h{i}").into_bytes());
    }
    storage.write(b, false).unwrap();
}

fn head(reads: &mut RewriteReads, storage: &Arc<dyn Storage>, i: u32, walk: bool) -> String {
    let found = reads.head(storage, &key(i), walk).unwrap();
    String::from_utf8(found.map_or(b"-".to_vec(), |v| v.to_vec())).unwrap()
}

#[test]
fn the_walk_opens_after_a_run_of_ascending_reads_and_ends_when_the_transaction_writes_heads() {
    let storage = walking(usize::MAX);
    heads(&storage, 200);
    let mut reads = RewriteReads::default();
    for i in 0..ASCENDING_BEFORE_WALK - 1 {
        assert_eq!(head(&mut reads, &storage, i, true), format!("h{i}"));
    }
    assert!(reads.walk.is_none());
    for i in ASCENDING_BEFORE_WALK - 1..100 {
        assert_eq!(head(&mut reads, &storage, i, true), format!("h{i}"));
    }
    let walked = u64::from(101 - ASCENDING_BEFORE_WALK);
    assert_eq!(reads.walked, walked);
    // Out of order: a point read; the walk serves the next key after its last one.
    assert_eq!(head(&mut reads, &storage, 10, true), "h10");
    assert_eq!(reads.walked, walked);
    assert_eq!(head(&mut reads, &storage, 120, true), "h120");
    assert_eq!(reads.walked, walked + 1);
    // The transaction writes heads itself, some just ahead of the walk (its iterator holds
    // the next ones already): every read from then on is a point read, which sees them.
    let mut b = WriteBatch::new();
    for i in [121, 122, 130] {
        b.put(keys::head_key(&key(i)), format!("direct{i}").into_bytes());
    }
    storage.write(b, false).unwrap();
    assert_eq!(head(&mut reads, &storage, 121, false), "direct121");
    assert!(reads.walk.is_none());
    assert_eq!(head(&mut reads, &storage, 122, true), "direct122");
    assert_eq!(head(&mut reads, &storage, 130, true), "direct130");
    assert_eq!(head(&mut reads, &storage, 300, true), "-");
    assert_eq!(reads.walked, walked + 1);
}

#[test]
fn a_walk_not_used_by_a_statement_or_released_at_a_spill_is_dropped_and_opened_again() {
    let storage = walking(usize::MAX);
    heads(&storage, 300);
    let mut reads = RewriteReads::default();
    for i in 0..40 {
        head(&mut reads, &storage, i, true);
    }
    assert!(reads.walk.is_some());
    reads.statement_ended();
    assert!(reads.walk.is_some(), "the statement used the walk");
    reads.statement_ended();
    assert!(reads.walk.is_none(), "the statement did not use the walk");
    // The run of ascending reads goes on: the next read opens a walk again.
    assert_eq!(head(&mut reads, &storage, 50, true), "h50");
    assert!(reads.walk.is_some());
    reads.release();
    assert!(reads.walk.is_none());
    assert_eq!(head(&mut reads, &storage, 60, true), "h60");
    assert!(reads.walk.is_some() && !reads.done);
}

/// An in-memory store read as a disk store is: nothing counts as buffered, so reads go to
/// the walk; its held iterators fail at their `fail_at`th pair.
struct Walking {
    memory: MemoryStorage,
    fail_at: usize,
}

fn walking(fail_at: usize) -> Arc<dyn Storage> {
    Arc::new(Walking {
        memory: MemoryStorage::new(),
        fail_at,
    })
}

impl Storage for Walking {
    fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.memory.get(key)
    }
    fn scan(
        &self,
        range: crate::storage::KeyRange,
        direction: crate::storage::Direction,
    ) -> crate::storage::KvIter<'_> {
        self.memory.scan(range, direction)
    }
    fn scan_owned(
        self: Arc<Self>,
        range: crate::storage::KeyRange,
    ) -> Option<crate::storage::KvIter<'static>> {
        let at = self.fail_at;
        let inner = Arc::new(self.memory.clone()).scan_owned(range)?;
        Some(Box::new(inner.enumerate().map(move |(i, kv)| {
            match i == at {
                true => Err(crate::Error::Storage("a read failed".into())),
                false => kv,
            }
        })))
    }
    fn write(&self, batch: WriteBatch, durable: bool) -> Result<()> {
        self.memory.write(batch, durable)
    }
    fn sync(&self) -> Result<()> {
        Ok(())
    }
    fn size_bytes(&self) -> u64 {
        0
    }
    fn name(&self) -> &'static str {
        "walking"
    }
}

#[test]
fn a_read_through_the_walk_that_fails_ends_the_walk_for_the_transaction() {
    let storage = walking(20);
    heads(&storage, 200);
    let mut reads = RewriteReads::default();
    let mut failed = None;
    for i in 0..100 {
        match reads.head(&storage, &key(i), true) {
            Ok(found) => assert_eq!(
                found.map(|v| v.to_vec()),
                Some(format!("h{i}").into_bytes())
            ),
            Err(_) => {
                failed = Some(i);
                break;
            }
        }
    }
    let failed = failed.expect("the walk's iterator fails at its 21st pair");
    assert!(reads.done && reads.walk.is_none());
    // The statement failed; the transaction goes on, reading every row by point.
    for i in failed..200 {
        assert_eq!(head(&mut reads, &storage, i, true), format!("h{i}"));
    }
}

#[test]
fn a_long_walk_is_opened_again_and_a_walk_over_keys_far_apart_gives_way() {
    let storage = walking(usize::MAX);
    let rows = LOOKUPS_BEFORE_REOPEN + 2_000;
    heads(&storage, rows * 4);
    let mut reads = RewriteReads::default();
    for i in 0..rows {
        assert_eq!(head(&mut reads, &storage, i, true), format!("h{i}"));
    }
    assert_eq!(reads.walked, u64::from(rows + 1 - ASCENDING_BEFORE_WALK));
    assert!(reads.walk.as_ref().is_some_and(|w| w.lookups < 2_000));
    // A hundred heads apart, the steps over them cost more than point reads would.
    let mut reads = RewriteReads::default();
    for i in (0..rows * 4).step_by(100) {
        assert_eq!(head(&mut reads, &storage, i, true), format!("h{i}"));
    }
    assert!(reads.done && reads.walk.is_none());
}
