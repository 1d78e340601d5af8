//! Maintained row counts: `SELECT count(*) FROM t` answers from a counter every commit keeps
//! (one lookup, current and `AS OF`), so the counter must equal what a scan finds after any
//! mix of statements, rollbacks and savepoints, at every retained point in history.

use heliosdb_lite::Connection;
use proptest::prelude::*;

fn one(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get::<_, i64>(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The counter's answer and a scan's answer (`sum(1)` cannot use the counter).
fn counted_and_scanned(c: &Connection, table: &str, as_of: &str) -> (i64, i64) {
    let counted = one(c, &format!("SELECT count(*) FROM {table}{as_of}"));
    let scanned = one(
        c,
        &format!("SELECT coalesce(sum(1), 0) FROM {table}{as_of}"),
    );
    (counted, scanned)
}

#[test]
fn count_star_reads_the_counter_now_and_as_of() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
         INSERT INTO t(v) VALUES ('a'),('b'),('c');",
    )
    .unwrap();
    let past = one(&c, "SELECT current_scn()");
    c.execute_batch("DELETE FROM t WHERE id = 2; INSERT INTO t(v) VALUES ('d'),('e');")
        .unwrap();
    assert_eq!(counted_and_scanned(&c, "t", ""), (4, 4));
    assert_eq!(
        counted_and_scanned(&c, "t", &format!(" AS OF SCN {past}")),
        (3, 3)
    );
}

#[test]
fn own_uncommitted_writes_are_counted_by_scanning() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch("CREATE TABLE t(a); INSERT INTO t VALUES (1),(2);")
        .unwrap();
    c.execute_batch("BEGIN; INSERT INTO t VALUES (3); DELETE FROM t WHERE a = 1;")
        .unwrap();
    assert_eq!(counted_and_scanned(&c, "t", ""), (2, 2));
    c.execute_batch("INSERT INTO t VALUES (4)").unwrap();
    assert_eq!(counted_and_scanned(&c, "t", ""), (3, 3));
    c.execute_batch("ROLLBACK").unwrap();
    assert_eq!(counted_and_scanned(&c, "t", ""), (2, 2));
    // A table created and filled in one transaction.
    c.execute_batch("BEGIN; CREATE TABLE u(x); INSERT INTO u VALUES (1),(2),(3);")
        .unwrap();
    assert_eq!(counted_and_scanned(&c, "u", ""), (3, 3));
    c.execute_batch("COMMIT").unwrap();
    assert_eq!(counted_and_scanned(&c, "u", ""), (3, 3));
    assert_eq!(one(&c, "SELECT count(*) FROM u"), 3);
}

#[test]
fn replace_upsert_triggers_and_cascading_writes_keep_the_count() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, u TEXT UNIQUE, n INT);
         CREATE TABLE log(x);
         CREATE TRIGGER tr AFTER DELETE ON t BEGIN INSERT INTO log VALUES (old.id); END;
         INSERT INTO t VALUES (1,'a',0),(2,'b',0),(3,'c',0);
         REPLACE INTO t VALUES (4,'a',1);
         INSERT INTO t VALUES (2,'z',0) ON CONFLICT(id) DO UPDATE SET n = n + 1;
         INSERT OR IGNORE INTO t VALUES (3,'q',0);
         UPDATE t SET id = id + 10 WHERE id = 3;
         DELETE FROM t WHERE n > 0;",
    )
    .unwrap();
    for table in ["t", "log"] {
        let (counted, scanned) = counted_and_scanned(&c, table, "");
        assert_eq!(counted, scanned, "{table}");
    }
    let problems: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(problems, "ok");
}

#[test]
fn counts_survive_reopening_a_database_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE t(a); INSERT INTO t VALUES (1),(2),(3);")
            .unwrap();
    }
    let c = Connection::open(&path).unwrap();
    c.execute_batch("DELETE FROM t WHERE a = 3").unwrap();
    assert_eq!(counted_and_scanned(&c, "t", ""), (2, 2));
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u8),
    InsertOrReplace(u8),
    Delete(u8),
    DeleteRange(u8),
    UpdateKey(u8, u8),
    Begin,
    Commit,
    Rollback,
    Savepoint,
    RollbackToSavepoint,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u8>().prop_map(|k| Op::Insert(k % 32)),
        2 => any::<u8>().prop_map(|k| Op::InsertOrReplace(k % 32)),
        2 => any::<u8>().prop_map(|k| Op::Delete(k % 32)),
        1 => any::<u8>().prop_map(|k| Op::DeleteRange(k % 32)),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::UpdateKey(a % 32, b % 32)),
        1 => Just(Op::Begin),
        1 => Just(Op::Commit),
        1 => Just(Op::Rollback),
        1 => Just(Op::Savepoint),
        1 => Just(Op::RollbackToSavepoint),
    ]
}

fn sql_of(op: &Op) -> String {
    match op {
        Op::Insert(k) => format!("INSERT INTO t VALUES ({k}, 'v')"),
        Op::InsertOrReplace(k) => format!("INSERT OR REPLACE INTO t VALUES ({k}, 'r')"),
        Op::Delete(k) => format!("DELETE FROM t WHERE k = {k}"),
        Op::DeleteRange(k) => format!("DELETE FROM t WHERE k BETWEEN {k} AND {}", k + 4),
        Op::UpdateKey(a, b) => format!("UPDATE t SET k = {b} WHERE k = {a}"),
        Op::Begin => "BEGIN".into(),
        Op::Commit => "COMMIT".into(),
        Op::Rollback => "ROLLBACK".into(),
        Op::Savepoint => "SAVEPOINT s".into(),
        Op::RollbackToSavepoint => "ROLLBACK TO s".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// After every statement (errors included: a failed statement changes nothing), the
    /// counted row count equals the scanned one, now and at every earlier point.
    #[test]
    fn counter_equals_scan_at_every_point(ops in proptest::collection::vec(op(), 1..40)) {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT)").unwrap();
        let mut points = vec![one(&c, "SELECT current_scn()")];
        for op in &ops {
            let _ = c.execute_batch(&sql_of(op));
            let (counted, scanned) = counted_and_scanned(&c, "t", "");
            prop_assert_eq!(counted, scanned, "after {:?}", op);
            points.push(one(&c, "SELECT current_scn()"));
        }
        let _ = c.execute_batch("COMMIT");
        points.sort_unstable();
        points.dedup();
        for p in points {
            let (counted, scanned) = counted_and_scanned(&c, "t", &format!(" AS OF SCN {p}"));
            prop_assert_eq!(counted, scanned, "AS OF SCN {}", p);
        }
    }
}
