//! Transactions larger than their write-set budget (`txn_memory_mb = 1`) through SQL: the
//! write set spills to storage, and reads inside the transaction, savepoints, commit,
//! rollback, row counts, indexes, AS OF reads and reopening must behave exactly as they do
//! for a transaction that fits in memory.

use heliosdb_lite::{Config, Connection};
use std::path::Path;

mod support;
use support::private_entries;

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

/// New rows past the budget are written straight to their heads, stamped with the SCN the
/// commit will take: other connections must not see them before the commit, the transaction
/// must see them everywhere, a failed statement, a `ROLLBACK TO` and a rollback must take
/// them back (bringing back the tombstone head one of them replaced, and with it the
/// history behind it), and the commit must publish them.
#[test]
fn rows_written_straight_to_their_heads_stay_private_until_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    c.execute_batch(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
         CREATE INDEX t_v ON t(v);
         INSERT INTO t VALUES (1, 'a'), (2, 'b');",
    )
    .unwrap();
    let with_two = one(&c, "SELECT current_scn()");
    // Rowid 2 gets a tombstone head; the inserts below reuse it as a new rowid.
    c.execute_batch("DELETE FROM t WHERE id = 2").unwrap();
    let with_one = one(&c, "SELECT current_scn()");
    let other = c.another_connection();
    let insert_range = |from: i64, to: i64| {
        c.execute(
            "WITH RECURSIVE s(x) AS (SELECT ?1 UNION ALL SELECT x + 1 FROM s WHERE x < ?2) \
             INSERT INTO t SELECT x, 'row ' || x FROM s",
            [from, to],
        )
    };
    for end in ["ROLLBACK", "COMMIT"] {
        c.execute_batch("BEGIN").unwrap();
        for i in 2..=N / 2 {
            c.execute("INSERT INTO t VALUES (?1, 'row ' || ?1)", [i])
                .unwrap();
        }
        // A statement that spills and then fails takes its rows back.
        assert!(insert_range(N / 2 + 1, N + 1).is_ok());
        c.execute("DELETE FROM t WHERE id = ?1", [N + 1]).unwrap();
        let failing =
            "WITH RECURSIVE s(x) AS (SELECT ?1 UNION ALL SELECT x + 1 FROM s WHERE x < ?2) \
             INSERT INTO t SELECT x, 'dup' FROM s UNION ALL SELECT 1, 'dup'";
        assert!(c.execute(failing, [N + 1, 2 * N]).is_err());
        c.execute_batch("SAVEPOINT s").unwrap();
        insert_range(N + 1, 2 * N).unwrap();
        assert_eq!(one(&c, "SELECT count(*) FROM t"), 2 * N);
        c.execute_batch("ROLLBACK TO s; RELEASE s").unwrap();
        assert!(private_entries(&c) > 0, "the write set did not spill");
        // The transaction sees its rows, by key, by scan and through the index.
        assert_eq!(one(&c, "SELECT count(*) FROM t"), N);
        assert_eq!(one(&c, "SELECT max(id) FROM t"), N);
        assert_eq!(one(&c, "SELECT count(*) FROM t WHERE v = 'dup'"), 0);
        assert_eq!(one(&c, "SELECT count(*) FROM t WHERE v >= 'row'"), N - 1);
        assert_eq!(one(&c, "SELECT length(v) FROM t WHERE id = 2"), 5);
        // Its own later changes to them.
        c.execute_batch(
            "UPDATE t SET v = 'x' || v WHERE id % 3 = 0; DELETE FROM t WHERE id % 5 = 0",
        )
        .unwrap();
        let kept = (1..=N).filter(|i| i % 5 != 0).count() as i64;
        let changed = (2..=N).filter(|i| i % 5 != 0 && i % 3 == 0).count() as i64;
        assert_eq!(one(&c, "SELECT count(*) FROM t"), kept);
        assert_eq!(one(&c, "SELECT count(*) FROM t WHERE v >= 'xrow'"), changed);
        // Nobody else does.
        assert_eq!(one(&other, "SELECT count(*) FROM t"), 1);
        assert_eq!(one(&other, "SELECT count(*) FROM t WHERE id = 2"), 0);
        assert_eq!(one(&other, "SELECT count(*) FROM t WHERE v >= 'row'"), 0);
        let at_two = format!("SELECT v FROM t AS OF SCN {with_two} WHERE id = 2");
        let b: String = other.query_row(&at_two, [], |r| r.get(0)).unwrap();
        assert_eq!(b, "b");
        c.execute_batch(end).unwrap();
        assert_eq!(private_entries(&c), 0, "private data left after {end}");
        let b: String = c.query_row(&at_two, [], |r| r.get(0)).unwrap();
        assert_eq!(b, "b");
        let rows = if end == "COMMIT" { kept } else { 1 };
        for conn in [&c, &other] {
            assert_eq!(one(conn, "SELECT count(*) FROM t"), rows);
            assert_eq!(
                one(conn, "SELECT count(*) FROM t WHERE v >= 'row'"),
                rows - 1
            );
            assert_eq!(
                one(
                    conn,
                    &format!("SELECT count(*) FROM t AS OF SCN {with_one}")
                ),
                1
            );
            check(conn);
        }
    }
    drop(other);
    drop(c);
    let c = open(dir.path());
    let kept = (1..=N).filter(|i| i % 5 != 0).count() as i64;
    assert_eq!(one(&c, "SELECT count(*) FROM t"), kept);
    assert_eq!(
        one(&c, "SELECT coalesce(sum(1), 0) FROM t WHERE v >= 'row'"),
        kept - 1
    );
    let b: String = c
        .query_row(
            &format!("SELECT v FROM t AS OF SCN {with_two} WHERE id = 2"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(b, "b");
    check(&c);
}

/// An autocommit statement keeps no undo log (its failure ends its transaction): one far
/// over the budget must still commit exactly, and, failing after it spilled, leave nothing
/// behind, visible or private.
#[test]
fn autocommit_statements_over_the_budget_commit_or_vanish_whole() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path());
    c.execute_batch(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER UNIQUE, v TEXT);
         CREATE INDEX t_v ON t(v);",
    )
    .unwrap();
    c.execute(
        "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < ?1) \
         INSERT INTO t SELECT x, x, 'row ' || x FROM s",
        [N],
    )
    .unwrap();
    let loaded = one(&c, "SELECT current_scn()");
    // The UPDATE below moves each k up by N: it collides with nothing until its last row
    // (id = N, new k = 2N), which meets this planted row.
    c.execute("INSERT INTO t VALUES (?1, ?2, 'planted')", [N + 1, 2 * N])
        .unwrap();
    let planted = one(&c, "SELECT current_scn()");
    let err = c
        .execute("UPDATE t SET k = k + ?1 WHERE id <= ?1", [N])
        .unwrap_err()
        .to_string();
    assert!(err.contains("UNIQUE"), "{err}");
    assert_eq!(
        one(&c, "SELECT current_scn()"),
        planted,
        "nothing committed"
    );
    assert_eq!(private_entries(&c), 0, "private data left by the failure");
    assert_eq!(one(&c, "SELECT count(*) FROM t WHERE k = id"), N);
    assert_eq!(
        c.query_row("SELECT count(*) FROM t WHERE k > ?1", [N], |r| r
            .get::<_, i64>(0))
            .unwrap(),
        1
    );
    check(&c);
    // A DELETE of half the rows, far over the budget, commits exactly.
    c.execute_batch("DELETE FROM t WHERE id % 2 = 0").unwrap();
    assert_eq!(private_entries(&c), 0, "private data left after the commit");
    assert_eq!(one(&c, "SELECT count(*) FROM t"), N / 2 + 1);
    assert_eq!(
        one(&c, "SELECT count(*) FROM t WHERE v LIKE 'row %'"),
        N / 2
    );
    assert_eq!(
        one(&c, &format!("SELECT count(*) FROM t AS OF SCN {loaded}")),
        N
    );
    check(&c);
    drop(c);
    let c = open(dir.path());
    assert_eq!(one(&c, "SELECT count(*) FROM t"), N / 2 + 1);
    check(&c);
}

/// Every row of `t` at every SCN from 1 to the newest, as text.
fn every_past(c: &Connection) -> Vec<String> {
    let newest = one(c, "SELECT current_scn()");
    let mut out = Vec::new();
    for scn in 1..=newest {
        let sql = format!("SELECT id, k, v FROM t AS OF SCN {scn} ORDER BY id");
        let mut stmt = c.prepare(&sql).unwrap();
        let rows = stmt
            .query_map([], |r| {
                Ok(format!(
                    "{scn}: {} {} {}",
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?
                ))
            })
            .unwrap();
        out.extend(rows.map(Result::unwrap));
    }
    out
}

#[test]
fn updates_and_deletes_far_over_the_budget_keep_every_past_version() {
    // The statements gather far more rows than the heads a transaction keeps for its commit
    // (half the write-set budget): the rest travel with the gathered rows into the spilled
    // pending versions. The store must read, now and at every past SCN, exactly as one
    // whose transactions fit in memory.
    let script = |c: &Connection| {
        c.execute_batch(
            "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);
             CREATE INDEX t_k ON t(k);",
        )
        .unwrap();
        c.execute(
            "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < ?1) \
             INSERT INTO t SELECT x, x % 97, printf('%060d', x) FROM s",
            [N],
        )
        .unwrap();
        c.execute_batch(
            "BEGIN;
             UPDATE t SET v = 'u' || v, k = k + 1 WHERE id % 2 = 0;
             DELETE FROM t WHERE id % 3 = 0;
             COMMIT;
             DELETE FROM t WHERE id % 5 = 0;
             UPDATE t SET v = 'again' WHERE id % 7 = 0;",
        )
        .unwrap();
        assert_eq!(private_entries(c), 0, "private data left after the commits");
        check(c);
    };
    let dir = tempfile::tempdir().unwrap();
    let tight = open(dir.path());
    script(&tight);
    let roomy_dir = tempfile::tempdir().unwrap();
    let roomy = Connection::open({
        let mut c = Config::with_path(roomy_dir.path().join("db"));
        c.database.enable_wal = false;
        c
    })
    .unwrap();
    script(&roomy);
    let expected = every_past(&roomy);
    assert_eq!(every_past(&tight), expected);
    // N rows after the load, two thirds after the transaction, fewer after each statement.
    assert!(expected.len() > 2 * N as usize);
    drop(tight);
    let tight = open(dir.path());
    assert_eq!(every_past(&tight), expected);
}

/// Every head and every history entry of the store, as stored.
fn versions(c: &Connection) -> [Vec<(Vec<u8>, Vec<u8>)>; 2] {
    use heliosdb_lite::mvcc::keys::{HEAD, HISTORY};
    use heliosdb_lite::storage::{prefix_range, Direction};
    [HEAD, HISTORY].map(|tag| {
        c.mvcc()
            .storage()
            .scan(prefix_range(&[tag]), Direction::Forward)
            .map(|kv| {
                let (k, v) = kv.unwrap();
                (k.to_vec(), v.to_vec())
            })
            .collect()
    })
}

/// `count(*)` (answered by the row counter) and a count by a scan of `t`.
fn counts(c: &Connection) -> (i64, i64) {
    (
        one(c, "SELECT count(*) FROM t"),
        one(c, "SELECT count(*) FROM t WHERE id + 0 > 0"),
    )
}

/// A large autocommit UPDATE or DELETE writes its rows over their committed heads at its
/// spills (`mvcc::overwrite`), long before its commit: readers on other connections must see
/// none of it until the commit, then all of it; a statement that fails after its spills must
/// leave every head and history entry exactly as it was, and its commit must survive a
/// reopen.
#[test]
fn rows_written_over_their_heads_stay_invisible_until_the_commit() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::with_path(dir.path().join("db"));
    config.database.txn_memory_mb = Some(1);
    config.database.enable_wal = false;
    let c = Connection::open(config.clone()).unwrap();
    c.execute_batch(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER NOT NULL, pad TEXT NOT NULL)",
    )
    .unwrap();
    c.execute(
        "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < ?1) \
         INSERT INTO t SELECT x, 0, printf('%0100d', x) FROM s",
        [N],
    )
    .unwrap();
    let loaded = one(&c, "SELECT current_scn()");
    // Fails at its last row (rowid order), long after its first spill.
    let fail = "UPDATE t SET v = v + 1, pad = CASE WHEN id = ?1 THEN NULL ELSE pad || 'x' END";
    let done = AtomicBool::new(false);
    let seen = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let r = Connection::open(config.clone()).unwrap();
            let mut seen = std::collections::BTreeSet::new();
            let mut id = 1;
            while !done.load(Ordering::Acquire) {
                // One snapshot for both reads: the scan and a point read must agree.
                r.execute_batch("BEGIN").unwrap();
                let (rows, sum): (i64, i64) = r
                    .query_row("SELECT count(*), sum(v) FROM t", [], |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })
                    .unwrap();
                let point: Option<i64> = r
                    .query_row("SELECT v FROM t WHERE id = ?1", [id], |row| row.get(0))
                    .ok();
                r.execute_batch("COMMIT").unwrap();
                let expected_point = match (rows, sum) {
                    (n, 0) if n == N => Some(0),
                    (n, s) if n == N && s == N => Some(1),
                    _ if id % 2 == 0 => None,
                    _ => Some(1),
                };
                assert_eq!(
                    point, expected_point,
                    "row {id} beside {rows} rows, sum {sum}"
                );
                seen.insert((rows, sum));
                id = id % N + 7;
            }
            seen
        });
        c.execute("UPDATE t SET v = 1", []).unwrap();
        c.execute("DELETE FROM t WHERE id % 2 = 0", []).unwrap();
        // Statements failing after their spills: their take-backs too are invisible.
        for _ in 0..2 {
            assert!(c.execute(fail, [N - 1]).is_err());
        }
        done.store(true, Ordering::Release);
        reader.join().unwrap()
    });
    let states = [(N, 0), (N, N), (N / 2, N / 2)];
    assert!(
        seen.iter().all(|s| states.contains(s)),
        "a reader saw part of a statement: {seen:?}"
    );
    assert_eq!(private_entries(&c), 0);
    let before = versions(&c);
    let failed_at = one(&c, "SELECT current_scn()") + 1;
    let err = c.execute(fail, [N - 1]).unwrap_err().to_string();
    assert!(err.contains("NOT NULL"), "{err}");
    assert_eq!(private_entries(&c), 0, "private data left by the failure");
    // The heads are back byte for byte. The history keeps the entries the statement wrote
    // (a reader that read one of its heads may still look for them): each holds what its
    // key's head holds, and GC removes them.
    let after = versions(&c);
    assert!(after[0] == before[0], "the failed statement changed heads");
    let heads: std::collections::BTreeMap<_, _> = after[0].iter().cloned().collect();
    let mut kept = 0;
    for (k, v) in &after[1] {
        let (logical, end) = heliosdb_lite::mvcc::keys::split_history_key(k).unwrap();
        if end != failed_at as u64 {
            assert!(
                before[1].iter().any(|(bk, bv)| bk == k && bv == v),
                "history changed"
            );
            continue;
        }
        let head = &heads[&heliosdb_lite::mvcc::keys::head_key(logical)];
        let head = heliosdb_lite::mvcc::keys::decode_version(head).unwrap();
        let entry = heliosdb_lite::mvcc::keys::decode_version(v).unwrap();
        assert_eq!((entry.begin, entry.data), (head.begin, head.data));
        kept += 1;
    }
    assert!(kept > 0);
    assert!(
        before[1].iter().all(|e| after[1].contains(e)),
        "history lost an entry"
    );
    assert_eq!(
        one(&c, &format!("SELECT sum(v) FROM t AS OF SCN {loaded}")),
        0
    );
    check(&c);
    // Inside a transaction, a statement failing after its spills and a ROLLBACK TO a
    // savepoint before a spilled DELETE undo their writes over the heads, and the row count
    // the commit stores agrees with the rows.
    c.execute_batch("CREATE TABLE other(x); BEGIN; INSERT INTO other VALUES (1)")
        .unwrap();
    assert!(c.execute(fail, [N - 1]).is_err());
    c.execute_batch("SAVEPOINT s; DELETE FROM t WHERE id % 3 = 1; ROLLBACK TO s; RELEASE s")
        .unwrap();
    c.execute("UPDATE t SET v = 2 WHERE id % 4 = 1", [])
        .unwrap();
    c.execute_batch("DELETE FROM t WHERE id % 5 = 1; COMMIT")
        .unwrap();
    assert_eq!(private_entries(&c), 0);
    let left = counts(&c);
    assert_eq!(left.0, left.1);
    let expected = (1..=N).filter(|i| i % 2 == 1 && i % 5 != 1).count() as i64;
    assert_eq!(left.0, expected);
    check(&c);
    drop(c);
    let c = open(dir.path());
    assert_eq!(counts(&c), (expected, expected));
    let sum: i64 = (1..=N)
        .filter(|i| i % 2 == 1 && i % 5 != 1)
        .map(|i| if i % 4 == 1 { 2 } else { 1 })
        .sum();
    assert_eq!(one(&c, "SELECT sum(v) FROM t"), sum);
    assert_eq!(
        one(
            &c,
            &format!("SELECT count(*) FROM t AS OF SCN {}", loaded + 1)
        ),
        N
    );
    check(&c);
}
