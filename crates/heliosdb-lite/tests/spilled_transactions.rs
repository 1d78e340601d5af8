//! Transactions larger than their write-set budget (`txn_memory_mb = 1`) through SQL: the
//! write set spills to storage, and reads inside the transaction, savepoints, commit,
//! rollback, row counts, indexes, AS OF reads and reopening must behave exactly as they do
//! for a transaction that fits in memory.

use heliosdb_lite::{Config, Connection};
use std::path::Path;

fn open(dir: &Path) -> Connection {
    let mut c = Config::with_path(dir.join("db"));
    c.database.txn_memory_mb = Some(1);
    c.database.enable_wal = false;
    Connection::open(c).unwrap()
}

fn one(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get::<_, i64>(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn private_entries(c: &Connection) -> usize {
    c.mvcc()
        .storage()
        .scan(
            heliosdb_lite::storage::prefix_range(&[heliosdb_lite::mvcc::keys::PRIVATE]),
            heliosdb_lite::storage::Direction::Forward,
        )
        .count()
}

fn check(c: &Connection) {
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

const N: i64 = 20_000;

#[test]
fn a_transaction_far_over_its_budget_reads_commits_and_time_travels() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    c.execute_batch(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);
         CREATE INDEX t_k ON t(k);
         INSERT INTO t VALUES (-1, -1, 'old'), (-2, -2, 'old');",
    )
    .unwrap();
    let before = one(&c, "SELECT current_scn()");
    c.execute_batch("BEGIN").unwrap();
    // One statement of N/2 rows (its undo log spills too), then single-row statements.
    c.execute(
        "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < ?1) \
         INSERT INTO t SELECT x, x % 100, 'row ' || x FROM s",
        [N / 2],
    )
    .unwrap();
    for i in N / 2 + 1..=N {
        c.execute("INSERT INTO t VALUES (?1, ?1 % 100, 'row ' || ?1)", [i])
            .unwrap();
    }
    assert!(private_entries(&c) > 0, "the write set did not spill");
    // Reads inside the transaction see everything, through scans, keys and the index.
    assert_eq!(one(&c, "SELECT count(*) FROM t"), N + 2);
    assert_eq!(one(&c, "SELECT max(id) FROM t"), N);
    assert_eq!(one(&c, "SELECT id FROM t ORDER BY id DESC LIMIT 1"), N);
    assert_eq!(one(&c, "SELECT k FROM t WHERE id = 12345"), 45);
    assert_eq!(one(&c, "SELECT count(*) FROM t WHERE k = 7"), N / 100);
    // A failing statement rolls back only itself, over spilled data.
    assert!(c
        .execute_batch("UPDATE t SET v = 'x' || v; INSERT INTO t VALUES (5, 0, 'dup')")
        .is_err());
    assert_eq!(one(&c, "SELECT count(*) FROM t WHERE v LIKE 'x%'"), N + 2);
    c.execute_batch("SAVEPOINT a").unwrap();
    c.execute_batch(
        "DELETE FROM t WHERE id % 2 = 0 AND id > 0; UPDATE t SET k = k + 1000 WHERE id > 0",
    )
    .unwrap();
    assert_eq!(one(&c, "SELECT count(*) FROM t"), N / 2 + 2);
    assert_eq!(one(&c, "SELECT count(*) FROM t WHERE k = 1007"), N / 100);
    c.execute_batch("ROLLBACK TO a").unwrap();
    assert_eq!(one(&c, "SELECT count(*) FROM t"), N + 2);
    assert_eq!(one(&c, "SELECT count(*) FROM t WHERE k = 7"), N / 100);
    c.execute_batch("DELETE FROM t WHERE id < 0; RELEASE a; COMMIT")
        .unwrap();
    assert_eq!(private_entries(&c), 0, "private data left after the commit");
    let after = one(&c, "SELECT current_scn()");
    for c in [c, {
        // Again after reopening.
        open(dir.path())
    }] {
        assert_eq!(one(&c, "SELECT count(*) FROM t"), N);
        assert_eq!(one(&c, "SELECT coalesce(sum(1), 0) FROM t"), N);
        assert_eq!(one(&c, "SELECT count(*) FROM t WHERE k = 7"), N / 100);
        assert_eq!(one(&c, "SELECT count(*) FROM t WHERE v LIKE 'xrow %'"), N);
        let past = format!(" AS OF SCN {before}");
        assert_eq!(one(&c, &format!("SELECT count(*) FROM t{past}")), 2);
        assert_eq!(
            one(&c, &format!("SELECT count(*) FROM t{past} WHERE k < 0")),
            2
        );
        assert_eq!(
            one(&c, &format!("SELECT count(*) FROM t AS OF SCN {after}")),
            N
        );
        check(&c);
        drop(c);
    }
}

#[test]
fn rolling_back_a_spilled_transaction_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    c.execute_batch(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a')",
    )
    .unwrap();
    let scn = one(&c, "SELECT current_scn()");
    c.execute_batch("BEGIN").unwrap();
    c.execute(
        "WITH RECURSIVE s(x) AS (SELECT 2 UNION ALL SELECT x + 1 FROM s WHERE x < ?1) \
         INSERT INTO t SELECT x, 'row ' || x FROM s",
        [N],
    )
    .unwrap();
    c.execute_batch("CREATE INDEX t_v ON t(v); DELETE FROM t WHERE id = 1")
        .unwrap();
    assert!(private_entries(&c) > 0);
    c.execute_batch("ROLLBACK").unwrap();
    assert_eq!(private_entries(&c), 0);
    assert_eq!(one(&c, "SELECT current_scn()"), scn);
    assert_eq!(one(&c, "SELECT count(*) FROM t"), 1);
    check(&c);
    // A transaction whose every write was rolled back to a savepoint commits nothing.
    c.execute_batch("BEGIN; SAVEPOINT s").unwrap();
    c.execute(
        "WITH RECURSIVE s(x) AS (SELECT 2 UNION ALL SELECT x + 1 FROM s WHERE x < ?1) \
         INSERT INTO t SELECT x, 'row ' || x FROM s",
        [N],
    )
    .unwrap();
    c.execute_batch("ROLLBACK TO s; RELEASE s; COMMIT").unwrap();
    assert_eq!(one(&c, "SELECT current_scn()"), scn);
    assert_eq!(private_entries(&c), 0);
    drop(c);
    let c = open(dir.path());
    assert_eq!(one(&c, "SELECT count(*) FROM t"), 1);
    check(&c);
}
