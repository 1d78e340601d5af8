//! Fault injection: a storage wrapper fails writes (I/O error, disk full, or "written but
//! reported failed") at chosen points. The failing commit returns an error, the engine refuses
//! further writes instead of risking a reused SCN, reads stay consistent, and after reopening
//! the store holds a prefix of the acknowledged commits (plus at most the one in doubt).

use heliosdb_lite::mvcc::{Mvcc, MvccOptions, TxnMode};
use heliosdb_lite::storage::{
    Bytes, Direction, KeyRange, KvIter, MemoryStorage, Storage, WriteBatch,
};
use heliosdb_lite::Error;
use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    None = 0,
    /// Fail before anything is written.
    IoError = 1,
    /// Fail as a full disk does.
    DiskFull = 2,
    /// Write the batch, then report an error (the outcome is in doubt).
    WrittenButFailed = 3,
    /// Writes succeed, the fsync that makes them durable fails.
    SyncFails = 4,
}

struct Faulty {
    inner: MemoryStorage,
    /// Reports that it ingests sorted writes, so that large direct writes take that path
    /// (the trait's default `write_sorted`: one synced batch through `write`, faults included).
    ingests: bool,
    /// Sorted writes asked for.
    sorted_writes: AtomicU32,
    /// Writes to let through before the fault fires.
    countdown: AtomicU32,
    fault: AtomicU8,
}

impl Faulty {
    /// An empty store with no fault armed.
    fn new(ingests: bool) -> Arc<Self> {
        Arc::new(Faulty {
            inner: MemoryStorage::new(),
            ingests,
            sorted_writes: AtomicU32::new(0),
            countdown: AtomicU32::new(0),
            fault: AtomicU8::new(Fault::None as u8),
        })
    }

    fn arm(&self, after_writes: u32, fault: Fault) {
        self.countdown.store(after_writes, Ordering::SeqCst);
        self.fault.store(fault as u8, Ordering::SeqCst);
    }
}

impl Storage for Faulty {
    fn get(&self, key: &[u8]) -> heliosdb_lite::Result<Option<heliosdb_lite::storage::Bytes>> {
        self.inner.get(key)
    }
    fn scan(&self, range: KeyRange, direction: Direction) -> KvIter<'_> {
        self.inner.scan(range, direction)
    }
    fn write(&self, batch: WriteBatch, durable: bool) -> heliosdb_lite::Result<()> {
        let fault = self.fault.load(Ordering::SeqCst);
        if fault != Fault::None as u8 && fault != Fault::SyncFails as u8 {
            if self.countdown.load(Ordering::SeqCst) == 0 {
                self.fault.store(Fault::None as u8, Ordering::SeqCst);
                return match fault {
                    1 => Err(Error::Io(std::io::Error::other("injected I/O error"))),
                    2 => Err(Error::Io(std::io::Error::new(
                        std::io::ErrorKind::StorageFull,
                        "injected: no space left on device",
                    ))),
                    _ => {
                        self.inner.write(batch, durable)?;
                        Err(Error::Io(std::io::Error::other(
                            "injected: fsync failed after write",
                        )))
                    }
                };
            }
            self.countdown.fetch_sub(1, Ordering::SeqCst);
        }
        self.inner.write(batch, durable)
    }
    fn sync(&self) -> heliosdb_lite::Result<()> {
        if self.fault.load(Ordering::SeqCst) == Fault::SyncFails as u8 {
            if self.countdown.load(Ordering::SeqCst) == 0 {
                self.fault.store(Fault::None as u8, Ordering::SeqCst);
                return Err(Error::Io(std::io::Error::other("injected: fsync failed")));
            }
            self.countdown.fetch_sub(1, Ordering::SeqCst);
        }
        self.inner.sync()
    }
    fn ingests_sorted(&self) -> bool {
        self.ingests
    }
    fn write_sorted(
        &self,
        pairs: &mut dyn Iterator<Item = (Bytes, Bytes)>,
    ) -> heliosdb_lite::Result<()> {
        self.sorted_writes.fetch_add(1, Ordering::SeqCst);
        let mut batch = WriteBatch::new();
        for (k, v) in pairs {
            batch.put(k, v);
        }
        self.write(batch, true)
    }
    fn size_bytes(&self) -> u64 {
        self.inner.size_bytes()
    }
    fn name(&self) -> &'static str {
        "faulty"
    }
}

fn options() -> MvccOptions {
    MvccOptions {
        auto_gc: false,
        ..MvccOptions::default()
    }
}

fn commit(m: &Mvcc, n: u8) -> heliosdb_lite::Result<()> {
    let mut t = m.begin(TxnMode::Immediate)?;
    t.put(vec![n], vec![n])?;
    t.put(b"last".to_vec(), vec![n])?;
    t.commit().map(|_| ())
}

fn keys(m: &Mvcc) -> Vec<u8> {
    m.snapshot()
        .scan(
            (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
            Direction::Forward,
        )
        .map(|r| r.unwrap().0)
        .filter(|k| k.len() == 1)
        .map(|k| k[0])
        .collect()
}

#[test]
fn failed_commits_leave_a_prefix_and_stop_writes() {
    for fault in [
        Fault::IoError,
        Fault::DiskFull,
        Fault::WrittenButFailed,
        Fault::SyncFails,
    ] {
        for fail_at in [0u32, 1, 3, 7] {
            let storage = Faulty::new(false);
            let m = Mvcc::open(storage.clone(), options()).unwrap();
            storage.arm(fail_at, fault);
            let mut acked = Vec::new();
            let mut failed = None;
            for n in 1..=10u8 {
                match commit(&m, n) {
                    Ok(()) => acked.push(n),
                    Err(e) => {
                        assert!(matches!(e, Error::Io(_) | Error::Storage(_)), "{e}");
                        failed = Some(n);
                        break;
                    }
                }
            }
            let failed = failed.expect("the fault fired");
            // The engine stays readable and consistent, and refuses to write on.
            assert_eq!(
                keys(&m),
                acked,
                "reads after the failure show exactly the acknowledged commits"
            );
            let e = commit(&m, 99).unwrap_err();
            assert!(e.to_string().contains("reopen"), "{e}");
            drop(m);
            // Reopen on what reached storage.
            let reopened = Mvcc::open(Arc::new(storage.inner.clone()), options()).unwrap();
            let got = keys(&reopened);
            let mut with_doubtful = acked.clone();
            with_doubtful.push(failed);
            assert!(
                got == acked
                    || (matches!(fault, Fault::WrittenButFailed | Fault::SyncFails)
                        && got == with_doubtful),
                "after reopen: {got:?}, acknowledged {acked:?}"
            );
            // SCNs continue without reuse.
            let latest = reopened.latest_scn();
            commit(&reopened, 50).unwrap();
            assert_eq!(reopened.latest_scn(), latest + 1);
        }
    }
}

/// Entries left in the private range (spilled write sets not yet committed or dropped).
fn private_entries(m: &Mvcc) -> usize {
    m.storage()
        .scan(
            heliosdb_lite::storage::prefix_range(&[heliosdb_lite::mvcc::keys::PRIVATE]),
            Direction::Forward,
        )
        .count()
}

/// A transaction far over its write-set budget spills to storage, and its commit is applied
/// in many batches after the one that decides it. A fault at any of those writes (a full disk
/// included) fails the commit with a clear error, leaves readers on the acknowledged state,
/// stops writes, and after reopening the commit is wholly there or wholly absent, with no
/// private data of the transaction left.
#[test]
fn a_fault_anywhere_in_a_spilled_commit_leaves_all_or_nothing() {
    const ROWS: u16 = 6000;
    let spilled = || MvccOptions {
        auto_gc: false,
        txn_memory_bytes: 64 << 10,
        ..MvccOptions::default()
    };
    for fault in [Fault::DiskFull, Fault::WrittenButFailed, Fault::SyncFails] {
        let mut fail_at = 0;
        loop {
            let storage = Faulty::new(false);
            let m = Mvcc::open(storage.clone(), spilled()).unwrap();
            commit(&m, 1).unwrap();
            storage.arm(fail_at, fault);
            let result = (|| {
                let mut t = m.begin(TxnMode::Immediate)?;
                for i in 0..ROWS {
                    let mut k = b"big".to_vec();
                    k.extend_from_slice(&i.to_be_bytes());
                    t.put(k, vec![7; 20])?;
                }
                t.put(vec![2], vec![2])?;
                assert!(t.has_spilled());
                t.commit().map(|_| ())
            })();
            let fired = storage.fault.load(Ordering::SeqCst) == Fault::None as u8;
            if !fired {
                // Past the last write of the commit: it succeeded.
                result.unwrap();
                storage.arm(0, Fault::None);
                break;
            }
            match &result {
                Err(Error::Io(e)) if fault == Fault::DiskFull => {
                    assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "{e}")
                }
                Err(e) => assert!(matches!(e, Error::Io(_) | Error::Storage(_)), "{e}"),
                Ok(()) => {}
            }
            if result.is_err() {
                assert_eq!(keys(&m), vec![1], "readers see only acknowledged commits");
            }
            drop(m);
            let reopened = Mvcc::open(Arc::new(storage.inner.clone()), spilled()).unwrap();
            assert_eq!(
                private_entries(&reopened),
                0,
                "{fail_at}: private data left"
            );
            let big = reopened.snapshot().scan_prefix(b"big").count();
            let got = keys(&reopened);
            if big == 0 {
                assert!(result.is_err(), "{fail_at}: an acknowledged commit lost");
                assert_eq!(got, vec![1], "{fail_at}");
            } else {
                assert_eq!(big, ROWS as usize, "{fail_at}: a partial commit");
                assert_eq!(got, vec![1, 2], "{fail_at}");
            }
            commit(&reopened, 50).unwrap();
            fail_at += 1;
        }
        // (A sync fault counts syncs: the commit makes one.)
        assert!(
            fail_at > 10 || fault == Fault::SyncFails,
            "the commit took {fail_at} writes"
        );
    }
}

/// Counts rows under `r` per table byte, like the SQL layer's row groups.
fn table_group(key: &[u8]) -> Option<usize> {
    (key.first() == Some(&b'r') && key.len() >= 2).then_some(2)
}

fn big_key(i: u16) -> Vec<u8> {
    format!("rb{i:05}").into_bytes()
}

/// A load past its write-set budget writes its new rows straight to their heads at each
/// spill (`mvcc::direct`), among them one over a deleted row's tombstone, besides an update
/// and a delete of committed rows that go through the private range. A full disk (or a write
/// reported failed) at any storage write, while it spills or while it commits, fails with the
/// storage's error; readers keep seeing the earlier commits; after reopening the load is
/// wholly there or wholly absent (the direct heads taken back, the tombstone restored, the
/// row count as committed), no private data is left, and the database takes new commits.
#[test]
fn a_full_disk_while_a_load_writes_heads_directly_leaves_nothing_half_visible() {
    full_disk_during_a_direct_load(false, false);
}

/// The same with the load's rows written ahead of its commit by the helper thread
/// (`mvcc::ahead`: 100 rows a statement, 64 keys a hand-over), within the write-set budget:
/// the fault hits the helper's writes, and the storage's error reaches the caller.
#[test]
fn a_full_disk_while_rows_are_written_ahead_leaves_nothing_half_visible() {
    full_disk_during_a_direct_load(false, true);
}

/// The same with the direct writes ingested as sorted writes (a fault there fails the
/// whole sorted write: nothing of it is stored).
#[test]
fn a_full_disk_while_a_load_ingests_its_heads_leaves_nothing_half_visible() {
    full_disk_during_a_direct_load(true, false);
}

fn full_disk_during_a_direct_load(ingests: bool, ahead: bool) {
    const ROWS: u16 = 3000;
    let options = || MvccOptions {
        auto_gc: false,
        txn_memory_bytes: if ahead { 32 << 20 } else { 64 << 10 },
        count_group: Some(table_group),
        ingest_min_keys: if ingests { 64 } else { 4096 },
        write_ahead_keys: if ahead { 64 } else { 0 },
        ..MvccOptions::default()
    };
    let value = |s: &heliosdb_lite::mvcc::Snapshot, k: &[u8]| {
        s.get(k)
            .unwrap()
            .map(|v| String::from_utf8(v.to_vec()).unwrap())
    };
    let load = |m: &Mvcc, direct_seen: &mut bool| -> heliosdb_lite::Result<()> {
        let mut t = m.begin(TxnMode::Immediate)?;
        for i in 0..ROWS {
            t.put_unversioned(big_key(i), vec![7; 20])?;
            if ahead && i % 100 == 99 {
                // A statement ends: its rows may go to the helper.
                t.release_savepoints();
            }
        }
        // Deleted at the second commit: its head is a tombstone the load writes over.
        t.put_unversioned(b"rx1".to_vec(), b"again".to_vec())?;
        t.put(b"ra1".to_vec(), b"changed".to_vec())?;
        t.delete(b"ra2".to_vec())?;
        assert!(t.has_spilled());
        if m.storage()
            .get(&heliosdb_lite::mvcc::keys::head_key(&big_key(0)))?
            .is_some()
        {
            *direct_seen = true;
        }
        t.commit().map(|_| ())
    };
    let mut direct_seen = false;
    let mut sorted_seen = false;
    for fault in [Fault::DiskFull, Fault::WrittenButFailed] {
        let mut outcomes = [0usize; 2];
        for fail_at in 0u32.. {
            let storage = Faulty::new(ingests);
            let m = Mvcc::open(storage.clone(), options()).unwrap();
            let mut t = m.begin(TxnMode::Immediate).unwrap();
            t.start_counting(b"ra").unwrap();
            t.start_counting(b"rb").unwrap();
            t.start_counting(b"rx").unwrap();
            for (k, v) in [("ra1", "one"), ("ra2", "two"), ("rx1", "gone")] {
                t.put(k.into(), v.into()).unwrap();
            }
            t.commit().unwrap();
            let mut t = m.begin(TxnMode::Immediate).unwrap();
            t.delete(b"rx1".to_vec()).unwrap();
            t.commit().unwrap();
            let before = m.latest_scn();
            storage.arm(fail_at, fault);
            let result = load(&m, &mut direct_seen);
            sorted_seen |= storage.sorted_writes.load(Ordering::SeqCst) > 0;
            let fired = storage.fault.load(Ordering::SeqCst) == Fault::None as u8;
            if !fired {
                result.unwrap();
                break;
            }
            match &result {
                Err(Error::Io(e)) if fault == Fault::DiskFull => {
                    assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "{e}");
                    assert!(e.to_string().contains("no space left"), "{e}");
                }
                Err(e) => assert!(matches!(e, Error::Io(_) | Error::Storage(_)), "{e}"),
                Ok(()) => {}
            }
            if result.is_err() {
                let s = m.snapshot();
                assert_eq!(s.scan_prefix(b"rb").count(), 0, "{fail_at}: half visible");
                assert_eq!(value(&s, b"ra1").as_deref(), Some("one"));
                assert_eq!(value(&s, b"rx1"), None);
            }
            drop(m);
            let m = Mvcc::open(Arc::new(storage.inner.clone()), options()).unwrap();
            assert_eq!(private_entries(&m), 0, "{fail_at}: private data left");
            let s = m.snapshot();
            let big = s.scan_prefix(b"rb").count();
            if big == 0 {
                assert!(result.is_err(), "{fail_at}: an acknowledged commit lost");
                assert_eq!(m.latest_scn(), before, "{fail_at}");
                assert_eq!(value(&s, b"ra1").as_deref(), Some("one"), "{fail_at}");
                assert_eq!(value(&s, b"ra2").as_deref(), Some("two"), "{fail_at}");
                assert_eq!(value(&s, b"rx1"), None, "{fail_at}: the tombstone lost");
                assert_eq!(s.live_count(b"rb").unwrap(), Some(0), "{fail_at}");
                assert_eq!(s.live_count(b"rx").unwrap(), Some(0), "{fail_at}");
                outcomes[0] += 1;
            } else {
                assert_eq!(big, ROWS as usize, "{fail_at}: a partial commit");
                assert_eq!(value(&s, b"ra1").as_deref(), Some("changed"), "{fail_at}");
                assert_eq!(value(&s, b"ra2"), None, "{fail_at}");
                assert_eq!(value(&s, b"rx1").as_deref(), Some("again"), "{fail_at}");
                assert_eq!(s.live_count(b"rb").unwrap(), Some(ROWS as i64), "{fail_at}");
                outcomes[1] += 1;
            }
            assert_eq!(
                s.live_count(b"ra").unwrap(),
                Some(if big == 0 { 2 } else { 1 })
            );
            // The earlier commits read as they were, AS OF included.
            let first = m.snapshot_at(before - 1).unwrap();
            assert_eq!(value(&first, b"rx1").as_deref(), Some("gone"), "{fail_at}");
            assert_eq!(value(&first, b"ra1").as_deref(), Some("one"), "{fail_at}");
            assert_eq!(first.scan_prefix(b"rb").count(), 0, "{fail_at}");
            // The database is usable: a load that was lost can be run again.
            if big == 0 {
                load(&m, &mut direct_seen).unwrap();
                assert_eq!(m.snapshot().scan_prefix(b"rb").count(), ROWS as usize);
            } else {
                commit(&m, 50).unwrap();
            }
        }
        assert!(
            outcomes[0] > 10,
            "{outcomes:?}: the fault never hit the load"
        );
    }
    assert!(direct_seen, "the load never wrote a head directly");
    assert_eq!(sorted_seen, ingests, "sorted writes");
}

/// A GC run cut short (a full disk, or a write reported failed after it landed) at any of its
/// writes leaves a store whose every readable snapshot reads exactly what it read before:
/// nothing a reader at or above the horizon after reopening needs may be gone.
#[test]
fn a_gc_run_cut_short_at_any_write_leaves_every_readable_snapshot_whole() {
    const KEYS: u16 = 400;
    const COMMITS: u16 = 100;
    let key = |k: u16| [b"k".as_slice(), &k.to_be_bytes()].concat();
    for fault in [Fault::DiskFull, Fault::WrittenButFailed] {
        for fail_at in 0..4u32 {
            let storage = Faulty::new(false);
            let m = Mvcc::open(storage.clone(), options()).unwrap();
            // Commit j sets every key to j: 40,000 superseded versions, several GC batches.
            let mut scn_of = vec![0u64];
            for j in 1..=COMMITS {
                let mut t = m.begin(TxnMode::Immediate).unwrap();
                for k in 0..KEYS {
                    t.put(key(k), j.to_be_bytes().to_vec()).unwrap();
                }
                t.commit().unwrap();
                scn_of.push(m.latest_scn());
            }
            m.set_retention(heliosdb_lite::mvcc::Retention {
                min_retention_us: 0,
                max_snapshots: 30,
            });
            storage.arm(fail_at, fault);
            let outcome = m.gc();
            storage.arm(0, Fault::None);
            drop(m);
            let reopened = Mvcc::open(Arc::new(storage.inner.clone()), options()).unwrap();
            let check = |m: &Mvcc, when: &str| {
                let horizon = m.horizon();
                for j in 1..=COMMITS {
                    let scn = scn_of[j as usize];
                    let Ok(snap) = m.snapshot_at(scn) else {
                        assert!(scn < horizon, "{when}: SCN {scn} refused above the horizon");
                        continue;
                    };
                    for k in 0..KEYS {
                        let v = snap.get(&key(k)).unwrap();
                        assert_eq!(
                            v.as_deref(),
                            Some(&j.to_be_bytes()[..]),
                            "{when} ({outcome:?}, fault at write {fail_at}): key {k} at SCN {scn} \
                             (horizon {horizon})"
                        );
                    }
                }
            };
            check(&reopened, "after reopening");
            reopened.gc().unwrap();
            check(&reopened, "after the next GC run");
        }
    }
}
