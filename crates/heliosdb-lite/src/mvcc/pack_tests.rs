//! Packs against the heads: every scan through a pack must return exactly what the scan of
//! the heads returns at the same SCN, whatever happened between the pack and the snapshot.

use super::pack::TRACK_ROWS;
use super::view::{HeadsIter, VisibleIter};
use super::*;
use crate::storage::{FjallOptions, FjallStorage, MemoryStorage};
use crate::test_rng::Rng;
use crate::time::ManualClock;

const TABLE: &[u8] = b"r\0\0\0\x07";

fn group(k: &[u8]) -> Option<usize> {
    (k.first() == Some(&b'r') && k.len() > 5).then_some(5)
}

fn options(clock: &ManualClock, max_snapshots: u64) -> MvccOptions {
    MvccOptions {
        clock: Arc::new(clock.clone()),
        auto_gc: false,
        retention: Retention {
            min_retention_us: 0,
            max_snapshots,
        },
        count_group: Some(group),
        ..MvccOptions::default()
    }
}

fn key(i: u64) -> Vec<u8> {
    let mut k = TABLE.to_vec();
    k.extend_from_slice(&i.to_be_bytes());
    k
}

fn create_table(m: &Mvcc) {
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.start_counting(TABLE).unwrap();
    t.commit().unwrap();
}

/// One commit of random writes: inserts and updates of keys below `keys`, and deletions.
fn random_commit(m: &Mvcc, rng: &mut Rng, ops: u64, keys: u64, tag: u64) {
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    for i in 0..ops {
        let k = key(rng.below(keys));
        if rng.below(5) == 0 {
            t.delete(k).unwrap();
        } else {
            t.put(k, format!("v{tag}-{i}").into_bytes()).unwrap();
        }
    }
    t.commit().unwrap();
}

fn load(m: &Mvcc, rows: u64) {
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    for i in 0..rows {
        t.put(key(i), format!("row {i}").into_bytes()).unwrap();
    }
    t.commit().unwrap();
}

/// Scans the table at `scn` both ways and compares; returns whether the pack was used.
fn check_at(m: &Mvcc, scn: u64) -> bool {
    let snapshot = m.snapshot_at(scn).unwrap();
    let range = prefix_range(TABLE);
    let via = VisibleIter::new(&m.0, &range, scn, Direction::Forward);
    let packed = matches!(via, VisibleIter::Packed(_));
    let got: Vec<KvPair> = via.collect::<Result<_>>().unwrap();
    let want: Vec<KvPair> = HeadsIter::new(&**m.storage(), &range, scn, Direction::Forward)
        .collect::<Result<_>>()
        .unwrap();
    assert_eq!(
        got.len(),
        want.len(),
        "row count at SCN {scn} (packed: {packed})"
    );
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((&g.0[..], &g.1[..]), (&w.0[..], &w.1[..]), "at SCN {scn}");
    }
    drop(snapshot);
    packed
}

#[test]
fn packed_scans_equal_head_scans_at_every_scn() {
    let clock = ManualClock::new(1_000_000);
    let m = Mvcc::open(Arc::new(MemoryStorage::new()), options(&clock, 40)).unwrap();
    create_table(&m);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    load(&m, TRACK_ROWS as u64 + 500);
    let mut packed_scans = 0;
    for round in 0..60 {
        clock.advance(10);
        let ops = 1 + rng.below(300);
        random_commit(&m, &mut rng, ops, TRACK_ROWS as u64 + 2000, round);
        if rng.below(4) == 0 {
            m.maintain_packs().unwrap();
        }
        if rng.below(6) == 0 {
            m.gc().unwrap();
        }
        // The newest SCN and a few older ones, each time: packs are replaced under them.
        let (lo, hi) = (m.horizon(), m.latest_scn());
        for scn in [hi, lo, lo + rng.below(hi - lo + 1)] {
            packed_scans += usize::from(check_at(&m, scn));
        }
    }
    for scn in m.horizon()..=m.latest_scn() {
        packed_scans += usize::from(check_at(&m, scn));
    }
    assert!(m.0.packs.pack_of(TABLE).is_some(), "the table was packed");
    assert!(
        packed_scans > 50,
        "only {packed_scans} scans went through a pack"
    );
}

#[test]
fn scans_inside_a_writing_transaction_see_their_own_writes_over_the_pack() {
    let clock = ManualClock::new(1_000_000);
    let m = Mvcc::open(Arc::new(MemoryStorage::new()), options(&clock, 1000)).unwrap();
    create_table(&m);
    load(&m, TRACK_ROWS as u64 + 10);
    m.maintain_packs().unwrap();
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.delete(key(3)).unwrap();
    t.put(key(5), b"changed".to_vec()).unwrap();
    t.put(key(1 << 40), b"new".to_vec()).unwrap();
    let rows: Vec<KvPair> = t
        .scan(prefix_range(TABLE), Direction::Forward)
        .collect::<Result<_>>()
        .unwrap();
    assert_eq!(rows.len(), TRACK_ROWS as usize + 10);
    assert!(!rows.iter().any(|(k, _)| k[..] == key(3)[..]));
    assert!(rows
        .iter()
        .any(|(k, v)| k[..] == key(5)[..] && &v[..] == b"changed"));
    assert_eq!(&rows.last().unwrap().0[..], &key(1 << 40)[..]);
}

/// The row keys the change log of [`TABLE`] names, over every commit.
fn logged_key_count(m: &Mvcc) -> usize {
    let mut n = 0;
    for kv in m
        .storage()
        .scan(prefix_range(&[keys::CHANGES]), Direction::Forward)
    {
        let (k, v) = kv.unwrap();
        n += crate::mvcc::pack::logged_keys(TABLE, &k, &v, |_| {}).unwrap();
    }
    n
}

#[test]
fn a_commit_of_many_rows_lists_them_in_a_few_log_entries_and_old_entries_still_read() {
    let clock = ManualClock::new(1_000_000);
    let m = Mvcc::open(Arc::new(MemoryStorage::new()), options(&clock, 1000)).unwrap();
    create_table(&m);
    // 24,000 rows: scans keep using the pack up to 3,000 logged keys.
    load(&m, 24_000);
    m.maintain_packs().unwrap();
    let past = m.latest_scn();
    // One commit rewriting 2,500 rows: its keys fill more than one list.
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    for i in 0..2500 {
        t.put(key(i), format!("new{i}").into_bytes()).unwrap();
    }
    t.commit().unwrap();
    let entries = m
        .storage()
        .scan(prefix_range(&[keys::CHANGES]), Direction::Forward)
        .count();
    assert!((2..=10).contains(&entries), "{entries} entries");
    assert_eq!(logged_key_count(&m), 2500);
    assert!(check_at(&m, m.latest_scn()));
    assert!(check_at(&m, past));
    // An entry of one key with an empty value, as format 5 wrote them, still names its key.
    let scn = m.latest_scn();
    let mut b = WriteBatch::new();
    let mut logical = TABLE.to_vec();
    logical.extend_from_slice(b"zz-old");
    b.put(keys::change_key(TABLE, scn, &logical), Vec::new());
    m.storage().write(b, true).unwrap();
    assert_eq!(logged_key_count(&m), 2501);
    // A damaged list is an error, not a silent gap.
    let mut b = WriteBatch::new();
    b.put(keys::change_key(TABLE, scn, &key(1)), vec![200, 1]);
    m.storage().write(b, true).unwrap();
    let (k, v) = m
        .storage()
        .first_in_range((
            std::ops::Bound::Included(keys::change_key(TABLE, scn, &key(1))),
            std::ops::Bound::Unbounded,
        ))
        .unwrap()
        .unwrap();
    assert!(crate::mvcc::pack::logged_keys(TABLE, &k, &v, |_| {}).is_err());
}

#[test]
fn tracking_starts_when_a_table_grows_large_and_the_log_names_later_writes() {
    let clock = ManualClock::new(1_000_000);
    let m = Mvcc::open(Arc::new(MemoryStorage::new()), options(&clock, 1000)).unwrap();
    create_table(&m);
    load(&m, 100);
    random_commit(&m, &mut Rng(7), 50, 100, 1);
    assert_eq!(logged_key_count(&m), 0, "a small table is not tracked");
    load(&m, TRACK_ROWS as u64);
    assert_eq!(
        logged_key_count(&m),
        0,
        "the commit that starts tracking logs nothing"
    );
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.put(key(1), b"x".to_vec()).unwrap();
    t.delete(key(2)).unwrap();
    t.commit().unwrap();
    assert_eq!(logged_key_count(&m), 2);
    // Once packed and past the horizon, the log is trimmed.
    m.maintain_packs().unwrap();
    m.set_retention(Retention {
        min_retention_us: 0,
        max_snapshots: 1,
    });
    m.gc().unwrap();
    m.maintain_packs().unwrap();
    assert_eq!(logged_key_count(&m), 0);
    assert!(check_at(&m, m.latest_scn()));
}

#[test]
fn spilled_commits_are_logged_and_packs_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000_000);
    let open = || {
        let storage = Arc::new(FjallStorage::open(dir.path(), &FjallOptions::default()).unwrap());
        Mvcc::open(
            storage,
            MvccOptions {
                txn_memory_bytes: 64 << 10,
                ..options(&clock, 1000)
            },
        )
        .unwrap()
    };
    let past;
    {
        let m = open();
        create_table(&m);
        load(&m, TRACK_ROWS as u64 + 100);
        m.maintain_packs().unwrap();
        past = m.latest_scn();
        // Big enough to spill (so its chunks must log every write), small enough for scans
        // to keep using the pack (at most 1,024 logged keys).
        random_commit(&m, &mut Rng(11), 1500, 1000, 1);
        assert!(logged_key_count(&m) > 700);
        assert!(check_at(&m, m.latest_scn()));
        assert!(check_at(&m, past));
        // A page of a pack no manifest names, as a crash during a build leaves it.
        let mut b = WriteBatch::new();
        b.put(keys::page_key(999, b"x"), vec![1, 2, 3]);
        m.storage().write(b, true).unwrap();
    }
    let m = open();
    assert!(m.0.packs.pack_of(TABLE).is_some(), "the manifest survived");
    let orphans = m
        .storage()
        .scan(crate::mvcc::pack::page_range(999), Direction::Forward)
        .count();
    assert_eq!(orphans, 0, "open removed the unnamed pack's pages");
    assert!(check_at(&m, m.latest_scn()));
    assert!(check_at(&m, past));
    m.maintain_packs().unwrap();
    assert!(check_at(&m, m.latest_scn()));
    assert!(check_at(&m, past));
}

#[test]
fn a_dropped_table_loses_its_pack_and_log_with_its_versions() {
    let clock = ManualClock::new(1_000_000);
    let m = Mvcc::open(Arc::new(MemoryStorage::new()), options(&clock, 1)).unwrap();
    create_table(&m);
    load(&m, TRACK_ROWS as u64 + 1);
    random_commit(&m, &mut Rng(3), 20, 100, 1);
    m.maintain_packs().unwrap();
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.drop_prefix_on_gc(TABLE.to_vec()).unwrap();
    t.commit().unwrap();
    clock.advance(10);
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.put(b"other".to_vec(), b"1".to_vec()).unwrap();
    t.commit().unwrap();
    m.gc().unwrap();
    assert!(m.0.packs.pack_of(TABLE).is_none());
    for tag in [keys::PAGE, keys::CHANGES] {
        let left = m
            .storage()
            .scan(prefix_range(&[tag]), Direction::Forward)
            .count();
        assert_eq!(left, 0, "entries under tag {tag:#x} left");
    }
}

#[test]
fn sql_tables_are_tracked_packed_and_scanned_through_the_pack() {
    sql_table_is_packed(crate::Connection::open_in_memory().unwrap());
}

#[test]
fn sql_tables_loaded_by_a_spilled_transaction_on_disk_are_packed() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::Config::with_path(dir.path().join("db"));
    config.database.txn_memory_mb = Some(1);
    sql_table_is_packed(crate::Connection::open(config).unwrap());
}

fn sql_table_is_packed(conn: crate::Connection) {
    conn.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); BEGIN")
        .unwrap();
    {
        let mut insert = conn.prepare("INSERT INTO t VALUES (?1, ?2)").unwrap();
        for i in 0..5000 {
            insert.execute((i, format!("row {i}"))).unwrap();
        }
    }
    conn.execute_batch("COMMIT").unwrap();
    let mvcc = conn.engine.mvcc.clone();
    let tracked = mvcc.0.packs.tracked_tables();
    assert_eq!(tracked.len(), 1, "the table is tracked: {tracked:?}");
    conn.checkpoint().unwrap();
    let (scn, rows) = mvcc
        .0
        .packs
        .pack_of(&tracked[0])
        .expect("packed at checkpoint");
    assert_eq!((scn, rows), (mvcc.latest_scn(), 5000));
    let range = prefix_range(&tracked[0]);
    assert!(matches!(
        VisibleIter::new(&mvcc.0, &range, scn, Direction::Forward),
        VisibleIter::Packed(_)
    ));
    conn.execute("UPDATE t SET v = 'changed' WHERE id % 100 = 0", ())
        .unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM t WHERE v = 'changed'", (), |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(n, 50);
}

#[test]
fn a_pack_on_disk_is_written_as_sorted_table_files_and_reads_like_the_heads() {
    use super::spill_tests::CountingSorted;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_000_000);
    let ingestions = Arc::new(AtomicUsize::new(0));
    let fjall = FjallStorage::open(dir.path(), &FjallOptions::default()).unwrap();
    let storage = Arc::new(CountingSorted(fjall, ingestions.clone()));
    let options = MvccOptions {
        pack_ingest_bytes: 64 << 10,
        ..options(&clock, 1000)
    };
    let m = Mvcc::open(storage, options).unwrap();
    create_table(&m);
    // Small commits (no ingestion of their own), then a build of about 300 KB of pages: the
    // first 64 KiB through the memtable, the rest ingested.
    for chunk in 0..5u64 {
        let mut t = m.begin(TxnMode::Immediate).unwrap();
        for i in chunk * 1000..(chunk + 1) * 1000 {
            t.put(key(i), format!("row {i} {}", "x".repeat(40)).into_bytes())
                .unwrap();
        }
        t.commit().unwrap();
    }
    let before = ingestions.load(Ordering::SeqCst);
    m.maintain_packs().unwrap();
    assert!(m.0.packs.pack_of(TABLE).is_some(), "the table was packed");
    assert_eq!(
        ingestions.load(Ordering::SeqCst),
        before + 1,
        "one ingestion"
    );
    assert!(check_at(&m, m.latest_scn()));
    // A rebuild after more changes reads through the first pack and replaces it.
    random_commit(&m, &mut Rng(5), 3000, 6000, 1);
    m.maintain_packs().unwrap();
    assert!(check_at(&m, m.latest_scn()));
    // The replaced pack's pages are gone once no scan holds them: one pack's pages are left.
    m.maintain_packs().unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for kv in m
        .storage()
        .scan(prefix_range(&[keys::PAGE]), Direction::Forward)
    {
        let (k, _) = kv.unwrap();
        ids.insert(k[1..9].to_vec());
    }
    assert_eq!(ids.len(), 1, "pages of replaced packs are deleted");
}

/// The background thread starts no pack build while a transaction has held the write lock
/// past `YIELD_TO_WRITES_AFTER`, and a background build under way then ends, publishing
/// nothing; after `MAX_DEFERRALS_IN_A_ROW` such rounds it builds anyway, and a build for a
/// checkpoint or on request never gives way. The next round after the write builds the pack.
#[test]
fn background_pack_builds_give_way_to_a_long_write_for_a_few_rounds() {
    let clock = ManualClock::new(1_000_000);
    let m = Mvcc::open(Arc::new(MemoryStorage::new()), options(&clock, 1000)).unwrap();
    create_table(&m);
    let rows = TRACK_ROWS as u64 + 500;
    load(&m, rows);
    assert_eq!(m.0.packs.tracked_tables(), vec![TABLE.to_vec()]);

    let writer = m.acquire_write_lock(Duration::from_secs(1)).unwrap();
    // A write that has just begun does not stop a build.
    assert_eq!(
        pack::build(&m, TABLE, 0, true).unwrap(),
        pack::Built::Rows(rows)
    );
    std::thread::sleep(Duration::from_millis(300));
    // A build under way gives way once the write has held the lock long enough ...
    assert_eq!(
        pack::build(&m, TABLE, 0, true).unwrap(),
        pack::Built::GaveWay
    );
    // ... unless it is not a background build.
    assert_eq!(
        pack::build(&m, TABLE, 0, false).unwrap(),
        pack::Built::Rows(rows)
    );
    drop(writer);

    // Enough changes for a rebuild, then a long write: the background rounds put it off.
    random_commit(&m, &mut Rng(3), 2_000, rows, 1);
    let (packed_at, _) = m.0.packs.pack_of(TABLE).unwrap();
    let writer = m.acquire_write_lock(Duration::from_secs(1)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    for round in 0..8 {
        let report = pack::maintain_in_background(&m).unwrap();
        assert_eq!(report.built, 0, "round {round} builds beside a long write");
    }
    assert_eq!(m.0.packs.pack_of(TABLE).unwrap().0, packed_at);
    let report = pack::maintain_in_background(&m).unwrap();
    assert_eq!(report.built, 1, "put off for at most eight rounds");
    drop(writer);
    assert_eq!(m.0.packs.pack_of(TABLE).unwrap().0, m.latest_scn());
    assert!(check_at(&m, m.latest_scn()));

    // With no long write, a due rebuild runs at the next round its pace allows.
    random_commit(&m, &mut Rng(5), 2_000, rows, 2);
    std::thread::sleep(Duration::from_millis(200));
    let report = pack::maintain_in_background(&m).unwrap();
    assert_eq!(report.built, 1);
    assert_eq!(m.0.packs.pack_of(TABLE).unwrap().0, m.latest_scn());
    assert!(check_at(&m, m.latest_scn()));
}

/// Rows a large transaction appends to a packed table leave memory before the commit (spills,
/// the write-ahead helper) as heads named by interval records; the commit logs them for the
/// table's pack by walking the intervals (an untracked table's are not walked), so a scan
/// through the pack sees every one of them.
#[test]
fn rows_appended_to_a_packed_table_by_a_large_transaction_reach_its_pack() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::Config::with_path(dir.path().join("db"));
    config.database.txn_memory_mb = Some(1);
    let conn = crate::Connection::open(config).unwrap();
    let load = |table: &str, from: i64, to: i64| {
        conn.execute_batch("BEGIN").unwrap();
        let mut insert = conn
            .prepare(&format!("INSERT INTO {table} VALUES (?1, ?2)"))
            .unwrap();
        for i in from..to {
            insert.execute((i, format!("row {i}"))).unwrap();
        }
        drop(insert);
        conn.execute_batch("COMMIT").unwrap();
    };
    conn.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        .unwrap();
    load("t", 0, 100_000);
    let mvcc = conn.engine.mvcc.clone();
    let tracked = mvcc.0.packs.tracked_tables();
    assert_eq!(tracked.len(), 1, "the table is tracked: {tracked:?}");
    conn.checkpoint().unwrap();
    assert!(mvcc.0.packs.pack_of(&tracked[0]).is_some());
    conn.execute_batch("CREATE TABLE u(id INTEGER PRIMARY KEY, v TEXT)")
        .unwrap();
    load("u", 0, 30_000);
    // Fewer than an eighth of the pack's rows, so that scans still read through it.
    load("t", 100_000, 110_000);
    let range = prefix_range(&tracked[0]);
    assert!(matches!(
        VisibleIter::new(&mvcc.0, &range, mvcc.latest_scn(), Direction::Forward),
        VisibleIter::Packed(_)
    ));
    let (n, sum): (i64, i64) = conn
        .query_row("SELECT count(*), sum(id) FROM t", (), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((n, sum), (110_000, (0..110_000).sum()));
    let n: i64 = conn
        .query_row("SELECT count(*) FROM u", (), |r| r.get(0))
        .unwrap();
    assert_eq!(n, 30_000);
}
