//! `PRAGMA busy_timeout` and `Connection::busy_timeout`: how long a connection waits for
//! another one's write lock, as SQLite's busy timeout; and errors of the moment raised inside
//! a trigger keep their kind.

use heliosdb_lite::{Config, Connection, Error};
use std::time::{Duration, Instant};

#[test]
fn busy_timeout_reads_and_sets_like_sqlite() {
    let c = Connection::open_in_memory().unwrap();
    let get = |c: &Connection| -> i64 {
        c.query_row("PRAGMA busy_timeout", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(get(&c), 5000);
    for (set, now) in [
        ("250", 250),
        ("-5", 0),
        ("'abc'", 0),
        ("'75ms'", 75),
        ("75.9", 75),
        ("0", 0),
    ] {
        let r: i64 = c
            .query_row(&format!("PRAGMA busy_timeout = {set}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!((r, get(&c)), (now, now), "{set}");
    }
    // Per connection.
    assert_eq!(get(&c.another_connection()), 5000);
    c.busy_timeout(Duration::from_millis(1234)).unwrap();
    assert_eq!(get(&c), 1234);
}

#[test]
fn a_writer_gives_up_after_its_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let a = Connection::open(dir.path().join("db")).unwrap();
    a.execute_batch("CREATE TABLE t(x)").unwrap();
    let b = a.another_connection();
    a.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (1)")
        .unwrap();
    for (how, wait_ms) in [("pragma", 150u64), ("api", 0)] {
        match how {
            "pragma" => b
                .execute_batch(&format!("PRAGMA busy_timeout = {wait_ms}"))
                .unwrap(),
            _ => b.busy_timeout(Duration::from_millis(wait_ms)).unwrap(),
        }
        let started = Instant::now();
        let e = b.execute("INSERT INTO t VALUES (2)", []).unwrap_err();
        let waited = started.elapsed();
        assert!(matches!(e, Error::Busy(_)), "{e}");
        assert!(
            waited >= Duration::from_millis(wait_ms),
            "{how}: {waited:?}"
        );
        assert!(
            waited < Duration::from_millis(wait_ms + 2000),
            "{how}: {waited:?}"
        );
        // BEGIN IMMEDIATE waits the same way.
        let e = b.execute_batch("BEGIN IMMEDIATE").unwrap_err();
        assert!(matches!(e, Error::Busy(_)), "{e}");
        assert!(!b.is_in_transaction());
    }
    a.execute_batch("COMMIT").unwrap();
    b.execute("INSERT INTO t VALUES (2)", []).unwrap();
    let n: i64 = b
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
}

#[test]
fn a_statement_timeout_inside_a_trigger_stays_a_timeout() {
    let mut config = Config::in_memory();
    config.database.statement_timeout_ms = Some(100);
    let c = Connection::open(config).unwrap();
    c.execute_batch(
        "CREATE TABLE t(x); CREATE TABLE u(y);
         CREATE TRIGGER endless AFTER INSERT ON t BEGIN
             INSERT INTO u WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n)
             SELECT i FROM n;
         END;",
    )
    .unwrap();
    let e = c.execute("INSERT INTO t VALUES (1)", []).unwrap_err();
    assert!(matches!(e, Error::StatementTimeout(_)), "{e:?}");
    let n: i64 = c
        .query_row("SELECT count(*) FROM u", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}
