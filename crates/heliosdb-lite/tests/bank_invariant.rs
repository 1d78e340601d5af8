//! Concurrency with history: writers move money between accounts while readers check that the
//! total never changes — on current data and AS OF random past SCNs and timestamps — and GC
//! keeps collecting old snapshots. Any difference fails.

use heliosdb_lite::mvcc::Retention;
use heliosdb_lite::{Config, Connection, Error};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ACCOUNTS: i64 = 20;
const TOTAL: i64 = ACCOUNTS * 1000;

fn total(conn: &Connection, clause: &str) -> Result<i64, Error> {
    // Before the accounts were inserted the sum is NULL: report 0.
    conn.query_row(
        &format!("SELECT coalesce(sum(balance), 0) FROM accounts {clause}"),
        [],
        |r| r.get(0),
    )
}

#[test]
fn totals_hold_now_and_in_the_past_while_gc_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::with_path(dir.path().join("bank"));
    config.database.enable_wal = false;
    config.snapshot.min_retention_seconds = 0;
    config.snapshot.max_snapshots = 50;
    config.snapshot.auto_gc_enabled = false; // the test runs GC itself, often
    let setup = Connection::open(config.clone()).unwrap();
    setup
        .execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0))")
        .unwrap();
    let tx = setup.transaction().unwrap();
    for i in 1..=ACCOUNTS {
        tx.execute("INSERT INTO accounts VALUES (?1, 1000)", [i])
            .unwrap();
    }
    tx.commit().unwrap();
    setup.mvcc().set_retention(Retention {
        min_retention_us: 0,
        max_snapshots: 50,
    });

    let stop = Arc::new(AtomicBool::new(false));
    let checks = Arc::new(AtomicU64::new(0));
    let transfers = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(3);
    std::thread::scope(|s| {
        for w in 0..2u64 {
            let (config, stop, transfers) = (config.clone(), stop.clone(), transfers.clone());
            s.spawn(move || {
                let conn = Connection::open(config).unwrap();
                let mut seed = 0x9E37_79B9u64 + w;
                while !stop.load(Ordering::Relaxed) {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let from = 1 + (seed % ACCOUNTS as u64) as i64;
                    let to = 1 + ((seed >> 20) % ACCOUNTS as u64) as i64;
                    let amount = 1 + (seed >> 40) as i64 % 50;
                    let r = (|| -> Result<(), Error> {
                        conn.execute_batch("BEGIN IMMEDIATE")?;
                        let r = (|| {
                            conn.execute(
                                "UPDATE accounts SET balance = balance - ?1 WHERE id = ?2",
                                (amount, from),
                            )?;
                            conn.execute(
                                "UPDATE accounts SET balance = balance + ?1 WHERE id = ?2",
                                (amount, to),
                            )?;
                            conn.execute_batch("COMMIT")
                        })();
                        if r.is_err() {
                            let _ = conn.execute_batch("ROLLBACK");
                        }
                        r
                    })();
                    match r {
                        Ok(()) => {
                            transfers.fetch_add(1, Ordering::Relaxed);
                        }
                        // Insufficient funds (CHECK) or a busy writer: the transfer did not happen.
                        Err(Error::Constraint { .. }) | Err(Error::Busy(_)) => {}
                        Err(e) => panic!("transfer failed: {e}"),
                    }
                }
            });
        }
        for r in 0..2u64 {
            let (config, stop, checks) = (config.clone(), stop.clone(), checks.clone());
            s.spawn(move || {
                let conn = Connection::open(config).unwrap();
                let mut seed = 77 + r;
                while !stop.load(Ordering::Relaxed) {
                    assert_eq!(total(&conn, "").unwrap(), TOTAL, "current total");
                    let latest = conn.mvcc().latest_scn();
                    let oldest = conn.mvcc().horizon();
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    let scn = oldest + seed % (latest - oldest + 1).max(1);
                    match total(&conn, &format!("AS OF SCN {scn}")) {
                        Ok(t) if scn >= 2 => assert_eq!(t, TOTAL, "total AS OF SCN {scn}"),
                        Ok(t) => assert_eq!(t, 0),
                        Err(Error::SnapshotTooOld { .. }) => {}
                        Err(Error::TableNotAtPoint { .. }) => assert!(scn < 1),
                        Err(e) => panic!("AS OF SCN {scn}: {e}"),
                    }
                    if let Some(p) = conn.mvcc().point(scn.max(2)) {
                        let ts = heliosdb_lite::time::format_micros(p.commit_time_us);
                        match total(&conn, &format!("AS OF TIMESTAMP '{ts}'")) {
                            Ok(t) => assert_eq!(t, TOTAL, "total AS OF TIMESTAMP {ts}"),
                            Err(Error::SnapshotTooOld { .. }) => {}
                            Err(e) => panic!("AS OF TIMESTAMP {ts}: {e}"),
                        }
                    }
                    checks.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        // GC, and a reader holding one snapshot across many GC runs.
        let conn = Connection::open(config.clone()).unwrap();
        conn.execute_batch("BEGIN").unwrap();
        let pinned = total(&conn, "").unwrap();
        let count_before: i64 = conn
            .query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))
            .unwrap();
        let gc = Connection::open(config.clone()).unwrap();
        while Instant::now() < deadline {
            gc.gc().unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            total(&conn, "").unwrap(),
            pinned,
            "a pinned snapshot survives GC"
        );
        let count_after: i64 = conn
            .query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count_before, count_after);
        conn.execute_batch("COMMIT").unwrap();
        stop.store(true, Ordering::Relaxed);
    });
    assert!(
        transfers.load(Ordering::Relaxed) > 10,
        "writers made progress"
    );
    assert!(checks.load(Ordering::Relaxed) > 10, "readers made progress");
    assert_eq!(total(&setup, "").unwrap(), TOTAL);
    assert!(setup.mvcc().horizon() > 0, "GC collected history");
}
