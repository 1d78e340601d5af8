use super::*;
use crate::storage::{FjallOptions, FjallStorage, MemoryStorage};
use crate::time::ManualClock;
use std::ops::Bound;

pub(super) fn options(clock: &ManualClock) -> MvccOptions {
    MvccOptions {
        clock: Arc::new(clock.clone()),
        auto_gc: false,
        retention: Retention {
            min_retention_us: 0,
            max_snapshots: 1000,
        },
        ..MvccOptions::default()
    }
}

/// A fresh store: fjall's in `dir` when `disk`, else an in-memory one.
pub(super) fn store(disk: bool, dir: &std::path::Path) -> Arc<dyn Storage> {
    match disk {
        true => Arc::new(FjallStorage::open(dir, &FjallOptions::default()).unwrap()),
        false => Arc::new(MemoryStorage::new()),
    }
}

fn mem(clock: &ManualClock) -> Mvcc {
    Mvcc::open(Arc::new(MemoryStorage::new()), options(clock)).unwrap()
}

fn put(m: &Mvcc, k: &str, v: &str) -> CommitInfo {
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.put(k.as_bytes().to_vec(), v.as_bytes().to_vec()).unwrap();
    t.commit().unwrap().unwrap()
}

fn del(m: &Mvcc, k: &str) -> CommitInfo {
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.delete(k.as_bytes().to_vec()).unwrap();
    t.commit().unwrap().unwrap()
}

/// Raw entries under a tag, for physical checks.
fn stored(m: &Mvcc, tag: u8) -> Vec<KvPair> {
    m.storage()
        .scan(prefix_range(&[tag]), Direction::Forward)
        .collect::<Result<_>>()
        .unwrap()
}

/// Heads plus history entries in storage.
fn stored_versions(m: &Mvcc) -> usize {
    stored(m, keys::HEAD).len() + stored(m, keys::HISTORY).len()
}

pub(super) fn get_at(m: &Mvcc, scn: u64, k: &str) -> Option<String> {
    m.snapshot_at(scn)
        .unwrap()
        .get(k.as_bytes())
        .unwrap()
        .map(|v| String::from_utf8(v.to_vec()).unwrap())
}

#[test]
fn versions_are_readable_at_every_scn() {
    let clock = ManualClock::new(1_000_000);
    let m = mem(&clock);
    let c1 = put(&m, "a", "1");
    clock.advance(10);
    let c2 = put(&m, "a", "2");
    let c3 = del(&m, "a");
    let c4 = put(&m, "a", "4");
    assert_eq!((c1.scn, c2.scn, c3.scn, c4.scn), (1, 2, 3, 4));
    assert_eq!(get_at(&m, 0, "a"), None);
    assert_eq!(get_at(&m, 1, "a").as_deref(), Some("1"));
    assert_eq!(get_at(&m, 2, "a").as_deref(), Some("2"));
    assert_eq!(get_at(&m, 3, "a"), None);
    assert_eq!(get_at(&m, 4, "a").as_deref(), Some("4"));
    assert!(c2.time_us > c1.time_us && c3.time_us > c2.time_us);
    assert_eq!(m.resolve(&AsOf::Transaction(c2.txid)).unwrap(), 2);
    assert_eq!(m.resolve(&AsOf::BeforeTransaction(c2.txid)).unwrap(), 1);
    assert_eq!(m.resolve(&AsOf::Timestamp(c1.time_us + 5)).unwrap(), 1);
    assert!(m.resolve(&AsOf::Scn(9)).is_err());
}

#[test]
fn commit_times_increase_even_when_the_clock_steps_back() {
    let clock = ManualClock::new(5_000_000);
    let m = mem(&clock);
    let a = put(&m, "a", "1");
    clock.set(1_000_000);
    let b = put(&m, "a", "2");
    assert!(b.time_us > a.time_us);
}

#[test]
fn scans_merge_own_writes_and_skip_tombstones() {
    let clock = ManualClock::new(1);
    let m = mem(&clock);
    for k in ["a", "b", "c", "d"] {
        put(&m, k, k);
    }
    del(&m, "b");
    let mut t = m.begin(TxnMode::Deferred).unwrap();
    t.put(b"e".to_vec(), b"e".to_vec()).unwrap();
    t.delete(b"c".to_vec()).unwrap();
    t.put(b"a".to_vec(), b"A".to_vec()).unwrap();
    let fwd: Vec<_> = t
        .scan((Bound::Unbounded, Bound::Unbounded), Direction::Forward)
        .map(|r| r.unwrap())
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    assert_eq!(
        fwd,
        vec![
            (b"a".to_vec(), b"A".to_vec()),
            (b"d".to_vec(), b"d".to_vec()),
            (b"e".to_vec(), b"e".to_vec())
        ]
    );
    let rev: Vec<_> = t
        .scan((Bound::Unbounded, Bound::Unbounded), Direction::Reverse)
        .map(|r| r.unwrap().0.to_vec())
        .collect();
    assert_eq!(rev, vec![b"e".to_vec(), b"d".to_vec(), b"a".to_vec()]);
    // Historical reverse scan picks the right version in each group.
    let snap = m.snapshot_at(2).unwrap();
    let rev: Vec<_> = snap
        .scan((Bound::Unbounded, Bound::Unbounded), Direction::Reverse)
        .map(|r| r.unwrap().0.to_vec())
        .collect();
    assert_eq!(rev, vec![b"b".to_vec(), b"a".to_vec()]);
}

#[test]
fn rollback_leaves_no_trace_and_ids_are_not_reused() {
    let clock = ManualClock::new(1);
    let m = mem(&clock);
    let c1 = put(&m, "a", "1");
    let mut t = m.begin(TxnMode::Deferred).unwrap();
    t.put(b"a".to_vec(), b"x".to_vec()).unwrap();
    let rolled = t.txid().unwrap();
    t.rollback();
    assert_eq!(m.latest_scn(), 1);
    assert_eq!(get_at(&m, 1, "a").as_deref(), Some("1"));
    let c2 = put(&m, "a", "2");
    assert_eq!(c2.scn, c1.scn + 1);
    assert!(c2.txid > rolled);
    assert!(matches!(
        m.resolve(&AsOf::Transaction(rolled)),
        Err(Error::SnapshotNotAvailable { .. })
    ));
}

#[test]
fn statement_savepoints_undo_partial_work() {
    let clock = ManualClock::new(1);
    let m = mem(&clock);
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.put(b"a".to_vec(), b"1".to_vec()).unwrap();
    let sp = t.savepoint();
    t.put(b"a".to_vec(), b"2".to_vec()).unwrap();
    t.put(b"b".to_vec(), b"2".to_vec()).unwrap();
    t.rollback_to(sp);
    assert_eq!(
        t.get(b"a").unwrap().map(|v| v.to_vec()),
        Some(b"1".to_vec())
    );
    assert_eq!(t.get(b"b").unwrap(), None);
}

#[test]
fn stale_reader_cannot_write_but_fresh_one_can() {
    let clock = ManualClock::new(1);
    let m = mem(&clock);
    put(&m, "a", "1");
    let mut stale = m.begin(TxnMode::Deferred).unwrap();
    assert_eq!(
        stale.get(b"a").unwrap().map(|v| v.to_vec()),
        Some(b"1".to_vec())
    );
    let mut fresh = m.begin(TxnMode::Deferred).unwrap();
    put(&m, "a", "2");
    assert!(matches!(
        stale.put(b"a".to_vec(), b"3".to_vec()),
        Err(Error::Busy(_))
    ));
    drop(stale);
    // Not read yet: moves to the newest snapshot when it starts writing.
    fresh.put(b"b".to_vec(), b"1".to_vec()).unwrap();
    assert_eq!(
        fresh.get(b"a").unwrap().map(|v| v.to_vec()),
        Some(b"2".to_vec())
    );
    fresh.commit().unwrap();
}

#[test]
fn gc_keeps_newest_version_at_horizon_and_reports_too_old() {
    let clock = ManualClock::new(1_000_000);
    let m = mem(&clock);
    put(&m, "a", "1"); // 1
    put(&m, "a", "2"); // 2
    put(&m, "b", "1"); // 3  a's newest at-or-before 3 is version 2
    put(&m, "c", "1"); // 4
    del(&m, "c"); // 5
    m.set_retention(Retention {
        min_retention_us: 0,
        max_snapshots: 3,
    });
    let r = m.gc().unwrap();
    assert_eq!((r.old_horizon, r.new_horizon), (0, 3));
    assert_eq!(r.snapshots_removed, 2); // commits 1 and 2; SCN 0 was no commit
    assert_eq!(r.versions_removed, 1); // a@1
    assert_eq!(get_at(&m, 3, "a").as_deref(), Some("2"));
    assert_eq!(get_at(&m, 4, "c").as_deref(), Some("1"));
    let err = m.snapshot_at(2).unwrap_err();
    assert!(matches!(err, Error::SnapshotTooOld { .. }), "{err}");
    // Collect everything but the newest: c's tombstone and its older version go too.
    m.set_retention(Retention {
        min_retention_us: 0,
        max_snapshots: 1,
    });
    let r = m.gc().unwrap();
    assert_eq!(r.new_horizon, 5);
    assert_eq!(r.versions_removed, 2);
    assert_eq!(get_at(&m, 5, "c"), None);
    assert_eq!(get_at(&m, 5, "a").as_deref(), Some("2"));
    // Physical check: only the live versions remain.
    let n = stored_versions(&m);
    assert_eq!(n, 2);
}

#[test]
fn retention_floor_is_never_overridden() {
    let clock = ManualClock::new(0);
    let m = mem(&clock);
    m.set_retention(Retention {
        min_retention_us: 100,
        max_snapshots: 0,
    });
    for i in 0..10 {
        clock.set(i * 20);
        put(&m, "k", &i.to_string());
    }
    clock.set(200);
    // Commits at t=100..180 (SCN 6..10) are younger than 100 µs.
    let r = m.gc().unwrap();
    assert_eq!(r.new_horizon, 6);
    assert_eq!(get_at(&m, 6, "k").as_deref(), Some("5"));
}

#[test]
fn pinned_reader_survives_gc() {
    let clock = ManualClock::new(1);
    let m = mem(&clock);
    put(&m, "a", "1");
    let snap = m.snapshot();
    put(&m, "a", "2");
    put(&m, "a", "3");
    m.set_retention(Retention {
        min_retention_us: 0,
        max_snapshots: 1,
    });
    let r = m.gc().unwrap();
    assert_eq!(r.new_horizon, 1, "the pin holds the horizon");
    assert_eq!(
        snap.get(b"a").unwrap().map(|v| v.to_vec()),
        Some(b"1".to_vec())
    );
    drop(snap);
    assert_eq!(m.gc().unwrap().new_horizon, 3);
}

#[test]
fn time_travel_disabled_keeps_no_history() {
    let clock = ManualClock::new(1);
    let mut o = options(&clock);
    o.time_travel = false;
    let m = Mvcc::open(Arc::new(MemoryStorage::new()), o).unwrap();
    put(&m, "a", "1");
    put(&m, "a", "2");
    m.gc().unwrap();
    assert!(matches!(
        m.resolve(&AsOf::Scn(1)),
        Err(Error::TimeTravelDisabled)
    ));
    let n = stored_versions(&m);
    assert_eq!(n, 1);
}

#[test]
fn history_and_counters_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000);
    let open = || {
        let s = FjallStorage::open(dir.path(), &FjallOptions::default()).unwrap();
        Mvcc::open(Arc::new(s), options(&clock)).unwrap()
    };
    let (t1, t2) = {
        let m = open();
        let a = put(&m, "a", "1");
        let b = put(&m, "a", "2");
        let mut t = m.begin(TxnMode::Immediate).unwrap();
        t.put(b"z".to_vec(), b"z".to_vec()).unwrap();
        drop(t); // rolled back id is not reused
        m.set_retention(Retention {
            min_retention_us: 0,
            max_snapshots: 2,
        });
        put(&m, "a", "3");
        m.gc().unwrap();
        (a, b)
    };
    let m = open();
    assert_eq!(m.latest_scn(), 3);
    assert_eq!(m.horizon(), 2);
    assert_eq!(get_at(&m, 2, "a").as_deref(), Some("2"));
    assert!(matches!(
        m.resolve(&AsOf::Transaction(t1.txid)),
        Err(Error::SnapshotTooOld { .. })
    ));
    assert_eq!(m.resolve(&AsOf::Transaction(t2.txid)).unwrap(), 2);
    let c = put(&m, "a", "4");
    assert_eq!(c.scn, 4);
    assert_eq!(c.txid, 5);
}

#[test]
fn foreign_stores_are_rejected() {
    let s = MemoryStorage::new();
    let mut b = WriteBatch::new();
    b.put(b"random".to_vec(), b"data".to_vec());
    s.write(b, false).unwrap();
    let err = Mvcc::open(Arc::new(s), MvccOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Corruption(_)));
}

#[test]
fn concurrent_writers_serialise_and_readers_stay_consistent() {
    let clock = ManualClock::new(1);
    let m = mem(&clock);
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    for i in 0..10u8 {
        t.put(vec![i], 100u64.to_be_bytes().to_vec()).unwrap();
    }
    t.commit().unwrap();
    let total = |s: &Snapshot| -> u64 {
        s.scan((Bound::Unbounded, Bound::Unbounded), Direction::Forward)
            .map(|r| u64::from_be_bytes(r.unwrap().1[..].try_into().unwrap()))
            .sum()
    };
    std::thread::scope(|sc| {
        for w in 0..2u8 {
            let m = m.clone();
            sc.spawn(move || {
                for i in 0..200u64 {
                    let mut t = m.begin(TxnMode::Immediate).unwrap();
                    let (a, b) = (
                        ((i + w as u64) % 10) as u8,
                        ((i * 3 + 1 + w as u64) % 10) as u8,
                    );
                    if a == b {
                        continue;
                    }
                    let va =
                        u64::from_be_bytes(t.get(&[a]).unwrap().unwrap()[..].try_into().unwrap());
                    let vb =
                        u64::from_be_bytes(t.get(&[b]).unwrap().unwrap()[..].try_into().unwrap());
                    if va == 0 {
                        continue;
                    }
                    t.put(vec![a], (va - 1).to_be_bytes().to_vec()).unwrap();
                    t.put(vec![b], (vb + 1).to_be_bytes().to_vec()).unwrap();
                    t.commit().unwrap();
                }
            });
        }
        for _ in 0..2 {
            let m = m.clone();
            sc.spawn(move || {
                for _ in 0..200 {
                    let s = m.snapshot();
                    assert_eq!(total(&s), 1000);
                    let past = s.scn() / 2;
                    if let Ok(h) = m.snapshot_at(past.max(1)) {
                        assert_eq!(total(&h), 1000);
                    }
                }
            });
        }
    });
}

#[test]
fn group_commit_publishes_every_commit_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1);
    let s = FjallStorage::open(dir.path(), &FjallOptions::default()).unwrap();
    let m = Mvcc::open(
        Arc::new(s),
        MvccOptions {
            durable: true,
            ..options(&clock)
        },
    )
    .unwrap();
    std::thread::scope(|sc| {
        for w in 0..4u8 {
            let m = m.clone();
            sc.spawn(move || {
                for i in 0..25u8 {
                    let mut t = m.begin(TxnMode::Immediate).unwrap();
                    let n = t
                        .get(b"n")
                        .unwrap()
                        .map_or(0, |v| u64::from_be_bytes(v[..].try_into().unwrap()));
                    t.put(b"n".to_vec(), (n + 1).to_be_bytes().to_vec())
                        .unwrap();
                    t.put(vec![w, i], vec![1]).unwrap();
                    let info = t.commit().unwrap().unwrap();
                    // Acknowledged means visible to every new reader.
                    assert!(m.latest_scn() >= info.scn);
                }
            });
        }
    });
    assert_eq!(m.latest_scn(), 100);
    let snap = m.snapshot();
    assert_eq!(
        snap.get(b"n").unwrap().map(|v| v.to_vec()),
        Some(100u64.to_be_bytes().to_vec()),
        "no lost update"
    );
    let times: Vec<i64> = m.snapshots().iter().map(|p| p.commit_time_us).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn a_tombstone_head_waits_while_a_writer_holds_the_lock() {
    let clock = ManualClock::new(1);
    let m = mem(&clock);
    m.set_retention(Retention {
        min_retention_us: 0,
        max_snapshots: 1,
    });
    put(&m, "a", "1");
    del(&m, "a");
    put(&m, "b", "1");
    let writer = m.begin(TxnMode::Immediate).unwrap();
    let r = m.gc().unwrap();
    assert_eq!(r.new_horizon, 3);
    // a's old version went; its tombstone head waits for the lock, queued again.
    assert_eq!(r.versions_removed, 1);
    assert_eq!(stored(&m, keys::HEAD).len(), 2);
    assert!(stored(&m, keys::HISTORY).is_empty());
    assert_eq!(stored(&m, keys::GC_QUEUE).len(), 1);
    drop(writer);
    assert_eq!(get_at(&m, 3, "a"), None);
    // The next run that advances the horizon removes it.
    put(&m, "c", "1");
    let r = m.gc().unwrap();
    assert_eq!(r.versions_removed, 1);
    assert_eq!(stored(&m, keys::HEAD).len(), 2);
    assert!(stored(&m, keys::GC_QUEUE).is_empty());
}

#[test]
fn a_tombstone_replaced_before_gc_keeps_the_new_head() {
    let clock = ManualClock::new(1);
    let m = mem(&clock);
    put(&m, "a", "1");
    del(&m, "a");
    put(&m, "a", "3");
    m.set_retention(Retention {
        min_retention_us: 0,
        max_snapshots: 1,
    });
    let r = m.gc().unwrap();
    assert_eq!(r.new_horizon, 3);
    assert_eq!(r.versions_removed, 1, "only the first version");
    assert_eq!(get_at(&m, 3, "a").as_deref(), Some("3"));
    assert_eq!(stored(&m, keys::HEAD).len(), 1);
}

#[test]
fn scans_at_old_snapshots_see_deleted_and_reinserted_keys() {
    let clock = ManualClock::new(1);
    let m = mem(&clock);
    put(&m, "a", "1"); // 1
    put(&m, "b", "1"); // 2
    del(&m, "a"); // 3
    put(&m, "b", "2"); // 4
    put(&m, "a", "5"); // 5
    put(&m, "c", "1"); // 6
    let scan = |scn: u64, dir: Direction| -> Vec<(String, String)> {
        let s = m.snapshot_at(scn).unwrap();
        let all: Vec<_> = s
            .scan((Bound::Unbounded, Bound::Unbounded), dir)
            .map(|kv| {
                let (k, v) = kv.unwrap();
                (
                    String::from_utf8(k.to_vec()).unwrap(),
                    String::from_utf8(v.to_vec()).unwrap(),
                )
            })
            .collect();
        all
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        scan(2, Direction::Forward),
        pairs(&[("a", "1"), ("b", "1")])
    );
    assert_eq!(scan(3, Direction::Forward), pairs(&[("b", "1")]));
    assert_eq!(scan(4, Direction::Reverse), pairs(&[("b", "2")]));
    assert_eq!(
        scan(6, Direction::Reverse),
        pairs(&[("c", "1"), ("b", "2"), ("a", "5")])
    );
    assert_eq!(m.change_points(b"").unwrap(), vec![1, 2, 3, 4, 5, 6]);
}

#[test]
fn a_format_1_database_is_refused_with_a_clear_error() {
    let clock = ManualClock::new(1);
    let storage = MemoryStorage::new();
    let mut b = crate::storage::WriteBatch::new();
    b.put(
        keys::meta_key(b"format"),
        b"heliosdb-lite storage format 1".to_vec(),
    );
    storage.write(b, true).unwrap();
    let err = Mvcc::open(Arc::new(storage), options(&clock)).unwrap_err();
    assert!(matches!(err, Error::Corruption(_)), "{err:?}");
    assert!(err.to_string().contains("storage format 1"), "{err}");
}

/// Groups are the first byte of a key; keys starting with `x` are not counted.
fn first_byte_group(key: &[u8]) -> Option<usize> {
    (key.len() > 1 && key[0] != b'x').then_some(1)
}

#[test]
fn counters_follow_every_commit_and_read_at_every_scn() {
    let clock = ManualClock::new(1);
    let m = Mvcc::open(
        Arc::new(MemoryStorage::new()),
        MvccOptions {
            count_group: Some(first_byte_group),
            ..options(&clock)
        },
    )
    .unwrap();
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.start_counting(b"a").unwrap();
    t.put(b"a1".to_vec(), b"v".to_vec()).unwrap();
    assert_eq!(
        t.live_count(b"a").unwrap(),
        None,
        "own writes: not answered"
    );
    let first = t.commit().unwrap().unwrap().scn;
    put(&m, "a2", "v");
    put(&m, "a2", "w"); // an update changes nothing
    put(&m, "b1", "v"); // group b has no counter
    del(&m, "a3"); // deleting what is absent changes nothing
    let before_delete = del(&m, "a1").scn - 1;
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.put(b"a3".to_vec(), b"v".to_vec()).unwrap();
    let sp = t.savepoint();
    t.put(b"a4".to_vec(), b"v".to_vec()).unwrap();
    t.rollback_to(sp);
    t.commit().unwrap();
    let now = m.snapshot();
    assert_eq!(now.live_count(b"a").unwrap(), Some(2));
    assert_eq!(now.live_count(b"b").unwrap(), None);
    assert_eq!(
        m.snapshot_at(first).unwrap().live_count(b"a").unwrap(),
        Some(1)
    );
    assert_eq!(
        m.snapshot_at(before_delete)
            .unwrap()
            .live_count(b"a")
            .unwrap(),
        Some(2)
    );
    assert_eq!(
        m.begin(TxnMode::ReadOnly)
            .unwrap()
            .live_count(b"a")
            .unwrap(),
        Some(2)
    );
}

#[test]
fn a_format_2_database_is_upgraded_and_its_groups_stay_uncounted() {
    let clock = ManualClock::new(1);
    let storage = Arc::new(MemoryStorage::new());
    let mut b = crate::storage::WriteBatch::new();
    b.put(
        keys::meta_key(b"format"),
        b"heliosdb-lite storage format 2".to_vec(),
    );
    storage.write(b, true).unwrap();
    let m = Mvcc::open(
        storage.clone(),
        MvccOptions {
            count_group: Some(first_byte_group),
            ..options(&clock)
        },
    )
    .unwrap();
    put(&m, "a1", "v");
    assert_eq!(m.snapshot().live_count(b"a").unwrap(), None);
    assert_eq!(
        &storage.get(&keys::meta_key(b"format")).unwrap().unwrap()[..],
        FORMAT_MARKER
    );
}

#[test]
fn format_4_to_7_databases_are_upgraded_to_format_8() {
    for old in [
        FORMAT_4_MARKER,
        FORMAT_5_MARKER,
        FORMAT_6_MARKER,
        FORMAT_7_MARKER,
    ] {
        let clock = ManualClock::new(1);
        let storage = Arc::new(MemoryStorage::new());
        let mut b = crate::storage::WriteBatch::new();
        b.put(keys::meta_key(b"format"), old.to_vec());
        storage.write(b, true).unwrap();
        let m = Mvcc::open(storage.clone(), options(&clock)).unwrap();
        put(&m, "a1", "v");
        assert_eq!(
            &storage.get(&keys::meta_key(b"format")).unwrap().unwrap()[..],
            FORMAT_MARKER
        );
    }
    assert_eq!(FORMAT_MARKER, b"heliosdb-lite storage format 8");
}

#[test]
fn historical_scans_agree_with_point_reads_in_every_range() {
    // 40 keys, 60 commits changing a few of them each (updates, deletes, re-inserts): some
    // keys gather long histories, so a forward scan's history cursor both walks and seeks.
    let clock = ManualClock::new(1);
    let m = mem(&clock);
    let key = |i: usize| format!("k{i:03}");
    for i in 0..40 {
        put(&m, &key(i), "0");
    }
    for round in 1..60usize {
        let mut t = m.begin(TxnMode::Immediate).unwrap();
        for i in (0..40usize).filter(|&i| (i * 7 + round) % 11 == 0 || i < 3) {
            if (i + round) % 5 == 0 {
                t.delete(key(i).into_bytes()).unwrap();
            } else {
                t.put(key(i).into_bytes(), round.to_string().into_bytes())
                    .unwrap();
            }
        }
        t.commit().unwrap();
    }
    let ranges: Vec<KeyRange> = vec![
        (Bound::Unbounded, Bound::Unbounded),
        (
            Bound::Included(key(10).into_bytes()),
            Bound::Excluded(key(30).into_bytes()),
        ),
        (
            Bound::Excluded(key(5).into_bytes()),
            Bound::Included(key(39).into_bytes()),
        ),
        (Bound::Included(key(1).into_bytes()), Bound::Unbounded),
    ];
    for scn in 1..=m.latest_scn() {
        let snap = m.snapshot_at(scn).unwrap();
        for range in &ranges {
            let expected: Vec<KvPair> = (0..40)
                .map(|i| key(i).into_bytes())
                .filter(|k| std::ops::RangeBounds::contains(range, k))
                .filter_map(|k| snap.get(&k).unwrap().map(|v| (k.into(), v)))
                .collect();
            let forward: Vec<KvPair> = snap
                .scan(range.clone(), Direction::Forward)
                .collect::<Result<_>>()
                .unwrap();
            assert_eq!(forward, expected, "forward scan at {scn} of {range:?}");
            let mut reverse: Vec<KvPair> = snap
                .scan(range.clone(), Direction::Reverse)
                .collect::<Result<_>>()
                .unwrap();
            reverse.reverse();
            assert_eq!(reverse, expected, "reverse scan at {scn} of {range:?}");
        }
    }
}

/// A historical scan reads the history with a cursor that runs ahead of the heads. On a
/// backend whose iterators see later writes (the in-memory one refills in chunks), a commit
/// landing mid-scan can move a key's old version into the history after the cursor read
/// that part of it: the head then says "newer than the snapshot" and the cursor, stale, says
/// "nothing superseded", which dropped the row (the concurrent-readers test caught it).
#[test]
fn a_historical_scan_keeps_rows_changed_while_it_runs() {
    let clock = ManualClock::new(1);
    let m = mem(&clock);
    let key = |i: usize| format!("k{i:02}");
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    for i in 0..40 {
        t.put(key(i).into_bytes(), b"v1".to_vec()).unwrap();
    }
    let past = t.commit().unwrap().unwrap().scn;
    put(&m, &key(0), "v2");
    let snap = m.snapshot_at(past).unwrap();
    let mut scan = snap.scan((Bound::Unbounded, Bound::Unbounded), Direction::Forward);
    let mut seen = vec![scan.next().unwrap().unwrap()];
    // Every later key changes while the scan is under way.
    for i in 1..40 {
        put(&m, &key(i), "v2");
    }
    seen.extend(scan.map(|r| r.unwrap()));
    assert_eq!(seen.len(), 40, "every row of the snapshot, once");
    assert!(
        seen.iter().all(|(_, v)| &v[..] == b"v1"),
        "as they were at the snapshot"
    );
}
