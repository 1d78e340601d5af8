//! Transactions whose write set spills: own reads, savepoints, commit, rollback, and commits
//! interrupted at every storage write.

use super::*;
use crate::storage::{Bytes, KvIter, MemoryStorage};
use crate::time::ManualClock;
use std::sync::atomic::{AtomicBool, AtomicUsize};

/// Counts rows under `r` (one byte) per table byte, like the SQL layer's row groups.
fn group(key: &[u8]) -> Option<usize> {
    (key.first() == Some(&b'r') && key.len() >= 2).then_some(2)
}

pub(super) fn options(clock: &ManualClock, txn_memory_bytes: usize) -> MvccOptions {
    MvccOptions {
        clock: Arc::new(clock.clone()),
        auto_gc: false,
        retention: Retention {
            min_retention_us: 0,
            max_snapshots: 1000,
        },
        count_group: Some(group),
        txn_memory_bytes,
        ..MvccOptions::default()
    }
}

/// The rows (not the counters, which are logical keys too).
fn all() -> KeyRange {
    prefix_range(b"r")
}

/// A key-value pair as the tests compare them.
type Pair = (Vec<u8>, Vec<u8>);

fn owned(kv: Result<KvPair>) -> Pair {
    let (k, v) = kv.unwrap();
    (k.to_vec(), v.to_vec())
}

fn scan_txn(t: &Transaction, dir: Direction) -> Vec<Pair> {
    t.scan(all(), dir).map(owned).collect()
}

fn scan_snap(s: &Snapshot) -> Vec<Pair> {
    s.scan(all(), Direction::Forward).map(owned).collect()
}

fn kv(k: &str, v: &str) -> Pair {
    (k.as_bytes().to_vec(), v.as_bytes().to_vec())
}

fn private(m: &Mvcc) -> usize {
    m.storage()
        .scan(prefix_range(&[keys::PRIVATE]), Direction::Forward)
        .count()
}

fn count(s: &Snapshot) -> Option<i64> {
    s.live_count(b"ra").unwrap()
}

fn start_table(m: &Mvcc) {
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.start_counting(b"ra").unwrap();
    t.put(b"ra1".to_vec(), b"one".to_vec()).unwrap();
    t.put(b"ra2".to_vec(), b"two".to_vec()).unwrap();
    t.commit().unwrap().unwrap();
}

#[test]
fn a_spilled_transaction_reads_its_writes_and_commits_them_with_history() {
    let clock = ManualClock::new(1_000);
    let m = Mvcc::open(Arc::new(MemoryStorage::new()), options(&clock, 1)).unwrap();
    start_table(&m);
    let before = m.latest_scn();
    let mut t = m.begin(TxnMode::Deferred).unwrap();
    t.put(b"ra3".to_vec(), b"three".to_vec()).unwrap();
    assert!(t.has_spilled());
    t.delete(b"ra1".to_vec()).unwrap();
    t.put(b"ra2".to_vec(), b"TWO".to_vec()).unwrap();
    t.put(b"ra4".to_vec(), b"four".to_vec()).unwrap();
    t.delete(b"ra4".to_vec()).unwrap();
    let want = vec![kv("ra2", "TWO"), kv("ra3", "three")];
    assert_eq!(t.get(b"ra1").unwrap().map(|v| v.to_vec()), None);
    assert_eq!(
        t.get(b"ra2").unwrap().map(|v| v.to_vec()),
        Some(b"TWO".to_vec())
    );
    assert_eq!(t.get(b"ra4").unwrap().map(|v| v.to_vec()), None);
    assert_eq!(
        t.live_count(b"ra").unwrap(),
        None,
        "own writes: count by scanning"
    );
    assert_eq!(scan_txn(&t, Direction::Forward), want);
    let mut rev = want.clone();
    rev.reverse();
    assert_eq!(scan_txn(&t, Direction::Reverse), rev);
    // Nobody else sees any of it.
    let other = m.snapshot();
    assert_eq!(scan_snap(&other), vec![kv("ra1", "one"), kv("ra2", "two")]);
    assert!(private(&m) > 0);
    let info = t.commit().unwrap().unwrap();
    assert_eq!(info.scn, before + 1);
    assert_eq!(private(&m), 0, "nothing private is left after the commit");
    assert_eq!(scan_snap(&m.snapshot()), want);
    assert_eq!(count(&m.snapshot()), Some(2));
    let past = m.snapshot_at(before).unwrap();
    assert_eq!(scan_snap(&past), vec![kv("ra1", "one"), kv("ra2", "two")]);
    assert_eq!(
        past.get(b"ra2").unwrap().map(|v| v.to_vec()),
        Some(b"two".to_vec())
    );
    assert_eq!(count(&past), Some(2));
    // The snapshot taken before the commit still reads its own point.
    assert_eq!(scan_snap(&other), vec![kv("ra1", "one"), kv("ra2", "two")]);
}

#[test]
fn rolling_back_a_spilled_transaction_leaves_nothing() {
    let clock = ManualClock::new(1_000);
    let m = Mvcc::open(Arc::new(MemoryStorage::new()), options(&clock, 1)).unwrap();
    start_table(&m);
    let before = m.latest_scn();
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    for i in 0..100 {
        t.put(format!("ra{i:03}").into_bytes(), b"x".to_vec())
            .unwrap();
    }
    assert!(t.has_spilled());
    t.rollback();
    assert_eq!(private(&m), 0);
    assert_eq!(m.latest_scn(), before);
    assert_eq!(
        scan_snap(&m.snapshot()),
        vec![kv("ra1", "one"), kv("ra2", "two")]
    );
}

#[test]
fn savepoints_roll_back_across_spills() {
    let clock = ManualClock::new(1_000);
    // Big enough that some savepoints fall between spills, small enough to spill often.
    let m = Mvcc::open(Arc::new(MemoryStorage::new()), options(&clock, 700)).unwrap();
    start_table(&m);
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> =
        [kv("ra1", "one"), kv("ra2", "two")].into_iter().collect();
    let mut saved = Vec::new();
    let mut x = 7u32;
    for step in 0..400u32 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        match x % 10 {
            0 => saved.push((t.savepoint(), model.clone())),
            1 if !saved.is_empty() => {
                let i = (x as usize / 10) % saved.len();
                let (sp, state) = saved[i].clone();
                saved.truncate(i + 1);
                t.rollback_to(sp);
                model = state;
            }
            2 => {
                let k = format!("ra{}", x % 40).into_bytes();
                t.delete(k.clone()).unwrap();
                model.remove(&k);
            }
            _ => {
                let k = format!("ra{}", x % 40).into_bytes();
                let v = format!("v{step}").into_bytes();
                t.put(k.clone(), v.clone()).unwrap();
                model.insert(k, v);
            }
        }
        if step % 37 == 0 {
            let got: BTreeMap<_, _> = scan_txn(&t, Direction::Forward).into_iter().collect();
            assert_eq!(got, model, "step {step}");
            for k in 0..40 {
                let k = format!("ra{k}").into_bytes();
                assert_eq!(
                    t.get(&k).unwrap().map(|v| v.to_vec()),
                    model.get(&k).cloned()
                );
            }
        }
    }
    assert!(t.has_spilled());
    t.commit().unwrap().unwrap();
    let got: BTreeMap<_, _> = scan_snap(&m.snapshot()).into_iter().collect();
    assert_eq!(got, model);
    assert_eq!(count(&m.snapshot()), Some(model.len() as i64));
    assert_eq!(private(&m), 0);
}

/// Undo records of `txid` in its private range.
fn undo_records(m: &Mvcc, txid: u64) -> usize {
    let mut prefix = spill::txn_prefix(txid);
    prefix.push(b'u');
    m.storage()
        .scan(prefix_range(&prefix), Direction::Forward)
        .count()
}

#[test]
fn a_transaction_that_keeps_no_undo_log_spills_commits_and_rolls_back_whole() {
    let clock = ManualClock::new(1_000);
    let m = Mvcc::open(Arc::new(MemoryStorage::new()), options(&clock, 700)).unwrap();
    start_table(&m);
    let before = scan_snap(&m.snapshot());
    let write_all = |t: &mut Transaction, model: &mut BTreeMap<Vec<u8>, Vec<u8>>| {
        for i in 0..300u32 {
            let k = format!("ra{}", i % 90).into_bytes();
            if i % 7 == 3 {
                t.delete(k.clone()).unwrap();
                model.remove(&k);
            } else {
                let v = format!("v{i}").into_bytes();
                t.put(k.clone(), v.clone()).unwrap();
                model.insert(k, v);
            }
        }
    };
    // Committed: the same result as with an undo log, and nothing private left.
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = before.iter().cloned().collect();
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.forgo_partial_rollback();
    write_all(&mut t, &mut model);
    assert!(t.has_spilled());
    let txid = t.txid().unwrap();
    assert_eq!(undo_records(&m, txid), 0, "no undo record is stored");
    let got: BTreeMap<_, _> = scan_txn(&t, Direction::Forward).into_iter().collect();
    assert_eq!(got, model);
    t.commit().unwrap().unwrap();
    assert_eq!(private(&m), 0);
    let got: BTreeMap<_, _> = scan_snap(&m.snapshot()).into_iter().collect();
    assert_eq!(got, model);
    assert_eq!(count(&m.snapshot()), Some(model.len() as i64));
    // Rolled back whole: nothing visible, nothing private.
    let committed = scan_snap(&m.snapshot());
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.forgo_partial_rollback();
    write_all(&mut t, &mut BTreeMap::new());
    assert!(t.has_spilled());
    t.rollback();
    assert_eq!(private(&m), 0);
    assert_eq!(scan_snap(&m.snapshot()), committed);
    // A savepoint taken before spilled writes cannot be rolled back to: the transaction
    // can then only be rolled back, and nothing of it is committed.
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.forgo_partial_rollback();
    let sp = t.savepoint();
    write_all(&mut t, &mut BTreeMap::new());
    t.rollback_to(sp);
    let err = t.commit().unwrap_err().to_string();
    assert!(err.contains("no undo log"), "{err}");
    assert_eq!(private(&m), 0);
    assert_eq!(scan_snap(&m.snapshot()), committed);
    // Rolling back to the savepoint of the current point undoes nothing and is allowed.
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.forgo_partial_rollback();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = committed.iter().cloned().collect();
    write_all(&mut t, &mut model);
    let sp = t.savepoint();
    t.rollback_to(sp);
    t.commit().unwrap().unwrap();
    let got: BTreeMap<_, _> = scan_snap(&m.snapshot()).into_iter().collect();
    assert_eq!(got, model);
}

#[test]
fn a_large_undo_log_is_stored_in_chunks_and_rolls_back_to_any_record() {
    let clock = ManualClock::new(1_000);
    // Spills of thousands of writes each: their undo logs span several chunks.
    let m = Mvcc::open(Arc::new(MemoryStorage::new()), options(&clock, 400_000)).unwrap();
    start_table(&m);
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    let txid = t.txid().unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> =
        [kv("ra1", "one"), kv("ra2", "two")].into_iter().collect();
    let mut saved = Vec::new();
    for i in 0..20_000u32 {
        if [1, 2_047, 2_048, 5_000, 9_999, 13_001, 17_500].contains(&i) {
            saved.push((t.savepoint(), model.clone()));
        }
        // New keys, then rewrites and deletions of earlier ones (undo records with the
        // version they replaced).
        let k = format!("ra{:05}", if i < 12_000 { i } else { (i * 7) % 12_000 }).into_bytes();
        if i % 11 == 5 {
            t.delete(k.clone()).unwrap();
            model.remove(&k);
        } else {
            let v = format!("v{i}").into_bytes();
            t.put(k.clone(), v.clone()).unwrap();
            model.insert(k, v);
        }
    }
    assert!(t.has_spilled());
    let chunks = undo_records(&m, txid);
    assert!(
        (2..=40).contains(&chunks),
        "20,000 undo records in {chunks} stored keys"
    );
    // Back to each savepoint, newest first, with writes in between that a later rollback
    // undoes too.
    while let Some((sp, state)) = saved.pop() {
        t.rollback_to(sp);
        model = state;
        let got: BTreeMap<_, _> = scan_txn(&t, Direction::Forward).into_iter().collect();
        assert_eq!(got, model, "after rolling back to a savepoint");
        for j in 0..300u32 {
            let k = format!("ra{:05}", (j * 37) % 12_000).into_bytes();
            let v = format!("again{j}").into_bytes();
            t.put(k.clone(), v.clone()).unwrap();
            model.insert(k, v);
        }
    }
    t.commit().unwrap().unwrap();
    let got: BTreeMap<_, _> = scan_snap(&m.snapshot()).into_iter().collect();
    assert_eq!(got, model);
    assert_eq!(count(&m.snapshot()), Some(model.len() as i64));
    assert_eq!(private(&m), 0);
}

/// Memory storage that refuses batches storing a spilled write set while `fail` is set: a
/// spill then fails after storing its undo log.
#[derive(Debug)]
struct NoWriteSets {
    inner: MemoryStorage,
    fail: Arc<AtomicBool>,
}

impl Storage for NoWriteSets {
    fn get(&self, key: &[u8]) -> Result<Option<crate::storage::Bytes>> {
        self.inner.get(key)
    }
    fn scan(&self, range: KeyRange, direction: Direction) -> KvIter<'_> {
        self.inner.scan(range, direction)
    }
    fn write(&self, batch: WriteBatch, durable: bool) -> Result<()> {
        let stores_write_set = batch.ops().iter().any(|op| {
            matches!(op, crate::storage::WriteOp::Put(k, _)
                if k.first() == Some(&keys::PRIVATE) && k.get(9) == Some(&b'w'))
        });
        if stores_write_set && self.fail.load(Ordering::SeqCst) {
            return Err(Error::Storage("injected failure".into()));
        }
        self.inner.write(batch, durable)
    }
    fn sync(&self) -> Result<()> {
        Ok(())
    }
    fn size_bytes(&self) -> u64 {
        0
    }
    fn name(&self) -> &'static str {
        "no-write-sets"
    }
}

#[test]
fn undo_chunks_left_by_a_failed_spill_are_not_taken_for_later_ones() {
    let clock = ManualClock::new(1_000);
    let fail = Arc::new(AtomicBool::new(false));
    let storage = NoWriteSets {
        inner: MemoryStorage::new(),
        fail: fail.clone(),
    };
    let m = Mvcc::open(Arc::new(storage), options(&clock, 400_000)).unwrap();
    start_table(&m);
    let committed: BTreeMap<_, _> = scan_snap(&m.snapshot()).into_iter().collect();
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    let start = t.savepoint();
    let mut model = committed.clone();
    let put = |t: &mut Transaction, model: &mut BTreeMap<_, _>, i: u32, v: &[u8]| {
        let k = format!("ra{i:05}").into_bytes();
        model.insert(k.clone(), v.to_vec());
        t.put(k, v.to_vec())
    };
    // A first spill, then writes held in memory up to a statement's savepoint.
    for i in 0..4_000 {
        put(&mut t, &mut model, i, b"first").unwrap();
    }
    assert!(t.has_spilled());
    for i in 4_000..5_000 {
        put(&mut t, &mut model, i, b"kept").unwrap();
    }
    // The statement's spill fails once its undo log (several chunks) is stored; the
    // statement is rolled back (in memory: nothing of it counts as stored).
    let statement = t.savepoint();
    let before_statement = model.clone();
    fail.store(true, Ordering::SeqCst);
    let mut failed = false;
    for i in 5_000..12_000 {
        if put(&mut t, &mut model, i, b"lost").is_err() {
            failed = true;
            break;
        }
    }
    assert!(failed, "the spill was refused");
    fail.store(false, Ordering::SeqCst);
    t.rollback_to(statement);
    model = before_statement;
    // Large values spill after fewer records, so the next chunks start elsewhere than the
    // failed spill's did; then many small ones.
    let big = vec![b'b'; 1_000];
    for i in 20_000..20_400 {
        put(&mut t, &mut model, i, &big).unwrap();
    }
    for i in 30_000..36_000 {
        put(&mut t, &mut model, i, b"small").unwrap();
    }
    // (Compared without printing: the values are large.)
    let got: BTreeMap<_, _> = scan_txn(&t, Direction::Forward).into_iter().collect();
    assert!(got == model, "{} keys, {} expected", got.len(), model.len());
    t.rollback_to(start);
    let got: BTreeMap<_, _> = scan_txn(&t, Direction::Forward).into_iter().collect();
    assert!(
        got == committed,
        "rolled back to the start: {} keys",
        got.len()
    );
    t.commit().unwrap();
    let got: BTreeMap<_, _> = scan_snap(&m.snapshot()).into_iter().collect();
    assert!(got == committed, "committed: {} keys", got.len());
}

/// Memory storage whose writes fail from the `fail_at`-th on, like a process dying there.
#[derive(Debug)]
struct Dying {
    inner: MemoryStorage,
    writes: AtomicUsize,
    fail_at: usize,
}

impl Storage for Dying {
    fn get(&self, key: &[u8]) -> Result<Option<crate::storage::Bytes>> {
        self.inner.get(key)
    }
    fn scan(&self, range: KeyRange, direction: Direction) -> KvIter<'_> {
        self.inner.scan(range, direction)
    }
    fn write(&self, batch: WriteBatch, durable: bool) -> Result<()> {
        if self.writes.fetch_add(1, Ordering::SeqCst) >= self.fail_at {
            return Err(Error::Storage("injected crash".into()));
        }
        self.inner.write(batch, durable)
    }
    fn sync(&self) -> Result<()> {
        Ok(())
    }
    fn checkpoint(&self) -> Result<()> {
        Ok(())
    }
    fn size_bytes(&self) -> u64 {
        0
    }
    fn name(&self) -> &'static str {
        "dying"
    }
}

#[test]
fn a_spilled_commit_cut_at_any_write_is_all_or_nothing_after_reopen() {
    let clock = ManualClock::new(1_000);
    let rows = 3 * spill::BATCH_OPS; // several chunks
    let mut outcomes = [0usize; 2];
    for fail_at in 0.. {
        let inner = MemoryStorage::new();
        let base = Mvcc::open(Arc::new(inner.clone()), options(&clock, 1 << 20)).unwrap();
        start_table(&base);
        drop(base);
        let dying = Arc::new(Dying {
            inner: inner.clone(),
            writes: AtomicUsize::new(0),
            fail_at,
        });
        let m = Mvcc::open(dying.clone(), options(&clock, 1 << 20)).unwrap();
        let mut t = m.begin(TxnMode::Immediate).unwrap();
        let mut result = Ok(());
        for i in 0..rows {
            result = t.put(format!("rb{i:06}").into_bytes(), b"v".to_vec());
            if result.is_err() {
                break;
            }
        }
        t.delete(b"ra1".to_vec()).ok();
        t.put(b"ra3".to_vec(), b"three".to_vec()).ok();
        let committed = result.and_then(|()| t.commit().map(|_| ()));
        // A failure after the commit (removing its undo records) leaves it committed.
        let failed = dying.writes.load(Ordering::SeqCst) > fail_at;
        drop(m);
        let m = Mvcc::open(Arc::new(inner), options(&clock, 1 << 20)).unwrap();
        assert_eq!(private(&m), 0, "fail_at {fail_at}: private data left");
        let s = m.snapshot();
        let new = s.scan_prefix(b"rb").count();
        let ra = scan_snap(&s)
            .into_iter()
            .filter(|(k, _)| k.starts_with(b"ra"))
            .collect::<Vec<_>>();
        if new == 0 {
            assert!(
                committed.is_err(),
                "fail_at {fail_at}: an acknowledged commit lost"
            );
            assert_eq!(ra, vec![kv("ra1", "one"), kv("ra2", "two")], "{fail_at}");
            assert_eq!(m.latest_scn(), 1);
            outcomes[0] += 1;
        } else {
            assert_eq!(new, rows, "fail_at {fail_at}: a partial commit");
            assert_eq!(ra, vec![kv("ra2", "two"), kv("ra3", "three")], "{fail_at}");
            assert_eq!(m.latest_scn(), 2);
            let past = m.snapshot_at(1).unwrap();
            assert_eq!(
                past.get(b"ra1").unwrap().map(|v| v.to_vec()),
                Some(b"one".to_vec())
            );
            assert_eq!(past.scan_prefix(b"rb").count(), 0);
            outcomes[1] += 1;
        }
        assert_eq!(count(&s), Some(2), "fail_at {fail_at}");
        // GC finds the commit's work lists and collects them once they fall behind.
        put_and_collect(&m);
        if !failed {
            break;
        }
    }
    assert!(outcomes[0] > 0 && outcomes[1] > 1, "{outcomes:?}");
}

fn put_and_collect(m: &Mvcc) {
    m.set_retention(Retention {
        min_retention_us: 0,
        max_snapshots: 1,
    });
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.put(b"z".to_vec(), b"z".to_vec()).unwrap();
    t.commit().unwrap().unwrap();
    m.gc().unwrap();
    let history = m
        .storage()
        .scan(prefix_range(&[keys::HISTORY]), Direction::Forward)
        .count();
    assert_eq!(history, 0, "GC left history behind");
}

/// A store that counts the sorted writes it passes on.
pub(super) struct CountingSorted(
    pub(super) crate::storage::FjallStorage,
    pub(super) Arc<AtomicUsize>,
);

impl Storage for CountingSorted {
    fn get(&self, key: &[u8]) -> Result<Option<crate::storage::Bytes>> {
        self.0.get(key)
    }
    fn scan(&self, range: KeyRange, direction: Direction) -> KvIter<'_> {
        self.0.scan(range, direction)
    }
    fn write(&self, batch: WriteBatch, durable: bool) -> Result<()> {
        self.0.write(batch, durable)
    }
    fn sync(&self) -> Result<()> {
        self.0.sync()
    }
    fn checkpoint(&self) -> Result<()> {
        self.0.checkpoint()
    }
    fn ingests_sorted(&self) -> bool {
        self.0.ingests_sorted()
    }
    fn write_sorted(&self, pairs: &mut dyn Iterator<Item = (Bytes, Bytes)>) -> Result<()> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.write_sorted(pairs)
    }
    fn size_bytes(&self) -> u64 {
        self.0.size_bytes()
    }
    fn name(&self) -> &'static str {
        "counting"
    }
}

/// The heads of `prefix`'s keys stamped `scn`.
fn heads_stamped(m: &Mvcc, prefix: &[u8], scn: u64) -> usize {
    let mut head_prefix = vec![keys::HEAD];
    head_prefix.extend_from_slice(prefix);
    m.storage()
        .scan(prefix_range(&head_prefix), Direction::Forward)
        .filter(|kv| keys::decode_version(&kv.as_ref().unwrap().1).unwrap().begin == scn)
        .count()
}

/// On fjall, a load's new rows go into ingested table files: at its spills, and at a commit
/// of many new keys that never spilled. Readers do not see them before the commit (an older
/// snapshot not after it either); the commit survives a reopen; a load left uncommitted in a
/// copy of the directory taken mid-way (what a crash leaves: ingested tables are on disk
/// when the ingestion returns) is taken back when the copy is opened.
#[test]
fn ingested_loads_commit_whole_and_are_taken_back_when_left_uncommitted() {
    let clock = ManualClock::new(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let opts = |budget| MvccOptions {
        ingest_min_keys: 64,
        ..options(&clock, budget)
    };
    let sorted_writes = Arc::new(AtomicUsize::new(0));
    let sorted = || sorted_writes.load(std::sync::atomic::Ordering::SeqCst);
    let open = |p: &std::path::Path, budget| {
        let storage = crate::storage::FjallStorage::open(p, &Default::default()).unwrap();
        let storage = CountingSorted(storage, sorted_writes.clone());
        Mvcc::open(Arc::new(storage), opts(budget)).unwrap()
    };
    let big_key = |i: u32| format!("rb{i:06}").into_bytes();
    let m = open(&path, 32 << 20);
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.start_counting(b"ra").unwrap();
    t.start_counting(b"rb").unwrap();
    t.put(b"ra1".to_vec(), b"one".to_vec()).unwrap();
    t.commit().unwrap();

    // A commit of 2,000 new keys that never spilled: ingested at the commit.
    let before = m.snapshot();
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    for i in 0..2_000 {
        t.put_unversioned(big_key(i), vec![b'v'; 30]).unwrap();
    }
    t.put(b"ra1".to_vec(), b"changed".to_vec()).unwrap();
    assert!(!t.has_spilled());
    assert_eq!(sorted(), 0);
    let scn = t.commit().unwrap().unwrap().scn;
    assert_eq!(sorted(), 1, "the commit did not ingest its new keys");
    assert_eq!(heads_stamped(&m, b"rb", scn), 2_000);
    assert_eq!(
        before.scan_prefix(b"rb").count(),
        0,
        "an older snapshot sees the load"
    );
    let now = m.snapshot();
    assert_eq!(now.scan_prefix(b"rb").count(), 2_000);
    assert_eq!(now.live_count(b"rb").unwrap(), Some(2_000));
    assert_eq!(now.get(b"ra1").unwrap().as_deref(), Some(&b"changed"[..]));
    assert_eq!(private(&m), 0);
    drop((before, now, m));

    let m = open(&path, 64 << 10);
    assert_eq!(m.snapshot().scan_prefix(b"rb").count(), 2_000);
    // A load that spills (64 KiB budget) and is still open when the directory is copied.
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    for i in 2_000..8_000 {
        t.put_unversioned(big_key(i), vec![b'w'; 30]).unwrap();
    }
    assert!(t.has_spilled());
    assert!(sorted() > 1, "the spills did not ingest");
    let pending = m.latest_scn() + 1;
    assert!(
        heads_stamped(&m, b"rb", pending) > 0,
        "no head was written directly"
    );
    let copy = crate::storage::PrivateCopy::of(&path).unwrap();
    drop(t);
    assert_eq!(
        heads_stamped(&m, b"rb", pending),
        0,
        "the rollback took them back"
    );
    let latest = m.latest_scn();
    drop(m);
    let crashed = open(copy.path(), 32 << 20);
    assert_eq!(crashed.latest_scn(), latest);
    assert_eq!(heads_stamped(&crashed, b"rb", pending), 0);
    assert_eq!(private(&crashed), 0);
    let s = crashed.snapshot();
    assert_eq!(s.scan_prefix(b"rb").count(), 2_000);
    assert_eq!(s.live_count(b"rb").unwrap(), Some(2_000));
    // The next commit takes the SCN the load would have had, and shows only its own key.
    let mut t = crashed.begin(TxnMode::Immediate).unwrap();
    t.put(b"ra2".to_vec(), b"two".to_vec()).unwrap();
    assert_eq!(t.commit().unwrap().unwrap().scn, pending);
    assert_eq!(crashed.snapshot().scan_prefix(b"rb").count(), 2_000);
}
