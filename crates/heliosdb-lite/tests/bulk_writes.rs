//! The bulk write paths against SQLite: CREATE INDEX on existing rows (built as an external
//! sort of its entries, spilling under a small budget), and batch inserts whose rowids lie
//! beyond every rowid in use (the commit skips looking up their heads, so a key this
//! transaction deleted first must still move its old version to the history), and UPDATE /
//! DELETE of many rows, whose commit takes the superseded heads from the statement's scan
//! instead of looking them up (every past version must still be there). A large CREATE
//! INDEX writes its entries straight to their heads, ahead of its commit: nothing of them may
//! be seen before it, nor be left after a failure, a rollback or a connection dropped
//! mid-transaction.

use heliosdb_lite::{Config, Connection};
use std::path::Path;

/// A disk database with a 1 MiB query budget (sorts spill) and a 1 MiB write-set budget
/// (large transactions spill).
fn open(dir: &Path) -> Connection {
    let mut c = Config::with_path(dir.join("db"));
    c.database.query_memory_mb = Some(1);
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

/// The rows of `sql` as text, from both engines.
fn rows(h: &Connection, s: &rusqlite::Connection, sql: &str) -> (Vec<String>, Vec<String>) {
    let mut hs = h.prepare(sql).unwrap();
    let ours: Vec<String> = hs
        .query_map([], |r| {
            Ok(format!(
                "{:?}|{:?}",
                r.get::<_, Option<i64>>(0)?,
                r.get::<_, Option<i64>>(1)?
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut ss = s.prepare(sql).unwrap();
    let theirs: Vec<String> = ss
        .query_map([], |r| {
            Ok(format!(
                "{:?}|{:?}",
                r.get::<_, Option<i64>>(0)?,
                r.get::<_, Option<i64>>(1)?
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (ours, theirs)
}

/// Runs `sql` on both engines; they must report the same number of rows changed.
fn run_both(h: &Connection, s: &rusqlite::Connection, sql: &str, when: &str) {
    let changed = h.execute(sql, []).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let expected = s.execute(sql, []).unwrap();
    assert_eq!(changed, expected, "{when}{sql}: rows changed");
}

const N: i64 = 30_000;

#[test]
fn create_index_on_a_table_larger_than_the_sort_budget_answers_like_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    let s = rusqlite::Connection::open_in_memory().unwrap();
    let setup = format!(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {N})
         INSERT INTO t SELECT x, (x * 7919) % 1009, CASE WHEN x % 13 = 0 THEN NULL ELSE 'v' || (x % 97) END FROM s;"
    );
    h.execute_batch(&setup).unwrap();
    s.execute_batch(&setup).unwrap();
    let before = one(&h, "SELECT current_scn()");
    for sql in [
        "CREATE INDEX t_k ON t(k)",
        "CREATE INDEX t_vk ON t(v DESC, k)",
        "CREATE INDEX t_part ON t(k) WHERE k % 2 = 0",
    ] {
        h.execute_batch(sql).unwrap();
        s.execute_batch(sql).unwrap();
    }
    check(&h);
    for sql in [
        "SELECT id, k FROM t WHERE k = 17 ORDER BY id",
        "SELECT id, k FROM t WHERE k BETWEEN 100 AND 103 ORDER BY k, id",
        "SELECT count(*), count(v) FROM t WHERE v = 'v5'",
        "SELECT k, count(*) FROM t WHERE k % 2 = 0 AND k < 40 GROUP BY k ORDER BY k",
        "SELECT id, k FROM t WHERE v IS NULL AND k < 50 ORDER BY id",
    ] {
        let (ours, theirs) = rows(&h, &s, sql);
        assert_eq!(ours, theirs, "{sql}");
    }
    // Every row has its entry in the full indexes, and the partial one has the even keys.
    assert_eq!(one(&h, "SELECT count(*) FROM t WHERE k >= 0"), N);
    assert_eq!(
        one(&h, "SELECT count(*) FROM t WHERE k % 2 = 0"),
        s.query_row("SELECT count(*) FROM t WHERE k % 2 = 0", [], |r| r
            .get::<_, i64>(0))
            .unwrap()
    );
    // The index did not exist before: a query of the past still reads the table alone.
    assert_eq!(
        one(
            &h,
            &format!("SELECT count(*) FROM t AS OF SCN {before} WHERE k = 17")
        ),
        one(&h, "SELECT count(*) FROM t WHERE k = 17")
    );
}

#[test]
fn create_unique_index_finds_duplicates_among_many_rows_as_sqlite_does() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    let s = rusqlite::Connection::open_in_memory().unwrap();
    // `u` is unique but for NULLs (which never conflict); `w` has one duplicate far apart;
    // `b` (no affinity) holds 5 and 5.0, equal in SQL.
    let setup = format!(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, u INTEGER, w INTEGER, b);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {N})
         INSERT INTO t SELECT x, CASE WHEN x % 10 = 0 THEN NULL ELSE x END,
             CASE WHEN x = {N} THEN 3 ELSE x END, x + 10 FROM s;
         UPDATE t SET b = 5.0 WHERE id = 7;
         UPDATE t SET b = 5 WHERE id = 20000;"
    );
    h.execute_batch(&setup).unwrap();
    s.execute_batch(&setup).unwrap();
    for (sql, fails) in [
        ("CREATE UNIQUE INDEX t_u ON t(u)", false),
        ("CREATE UNIQUE INDEX t_w ON t(w)", true),
        ("CREATE UNIQUE INDEX t_b ON t(b)", true),
        ("CREATE UNIQUE INDEX t_uw ON t(u, w)", false),
        // Descending: the entries' keys are in the opposite order to the values' (they were
        // written in the values' order, and refused as out of order).
        ("CREATE UNIQUE INDEX t_ud ON t(u DESC)", false),
        ("CREATE UNIQUE INDEX t_wd ON t(w DESC)", true),
        ("CREATE UNIQUE INDEX t_bud ON t(b DESC, u)", false),
    ] {
        let ours = h.execute_batch(sql);
        let theirs = s.execute_batch(sql);
        assert_eq!(ours.is_err(), fails, "{sql}: {ours:?}");
        assert_eq!(theirs.is_err(), fails, "{sql} in SQLite: {theirs:?}");
        if let Err(e) = ours {
            let text = e.to_string();
            assert!(text.contains("UNIQUE"), "{sql}: {text}");
        }
    }
    // A failed CREATE UNIQUE INDEX leaves no index behind; the good ones work.
    assert_eq!(
        one(
            &h,
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('t_w', 't_b')"
        ),
        0
    );
    let dup = h.execute("INSERT INTO t(id, u, w) VALUES (?1, 11, 0)", [N + 1]);
    assert!(dup.is_err(), "the unique index on u let a duplicate in");
    h.execute("INSERT INTO t(id, u, w) VALUES (?1, NULL, 0)", [N + 2])
        .unwrap();
    s.execute("INSERT INTO t(id, u, w) VALUES (?1, NULL, 0)", [N + 2])
        .unwrap();
    check(&h);
    for sql in [
        "SELECT id, u FROM t WHERE u > 19990 ORDER BY u DESC",
        "SELECT id, u FROM t WHERE b BETWEEN 4 AND 30 ORDER BY b DESC, u",
        "SELECT count(*), count(u) FROM t WHERE u >= 0 OR u IS NULL",
    ] {
        let (ours, theirs) = rows(&h, &s, sql);
        assert_eq!(ours, theirs, "{sql}");
    }
}

#[test]
fn rowids_reused_after_a_delete_in_the_same_transaction_keep_the_old_versions() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    h.execute_batch(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);
         CREATE INDEX t_k ON t(k);",
    )
    .unwrap();
    {
        let tx = h.transaction().unwrap();
        let mut ins = tx.prepare("INSERT INTO t VALUES (?1, ?2, ?3)").unwrap();
        for i in 1..=1000i64 {
            ins.execute((i, i % 10, format!("old {i}"))).unwrap();
        }
        drop(ins);
        tx.commit().unwrap();
    }
    let before = one(&h, "SELECT current_scn()");
    {
        // The rows above 500 are deleted, then inserted again with explicit and with
        // automatic rowids: both are "beyond every rowid in use" in the transaction's view,
        // yet their keys have live committed versions the history must keep.
        let tx = h.transaction().unwrap();
        tx.execute("DELETE FROM t WHERE id > 500", []).unwrap();
        let mut ins = tx.prepare("INSERT INTO t VALUES (?1, ?2, ?3)").unwrap();
        for i in 501..=750i64 {
            ins.execute((i, i % 10 + 100, format!("new {i}"))).unwrap();
        }
        drop(ins);
        let mut auto = tx.prepare("INSERT INTO t(k, v) VALUES (?1, ?2)").unwrap();
        for i in 751..=1200i64 {
            auto.execute((i % 10 + 100, format!("new {i}"))).unwrap();
        }
        drop(auto);
        tx.commit().unwrap();
    }
    check(&h);
    assert_eq!(one(&h, "SELECT count(*) FROM t"), 1200);
    assert_eq!(one(&h, "SELECT max(id) FROM t"), 1200);
    assert_eq!(one(&h, "SELECT count(*) FROM t WHERE k >= 100"), 700);
    // The past is intact: every old row, by key and through the index.
    let past = format!("SELECT count(*) FROM t AS OF SCN {before}");
    assert_eq!(one(&h, &past), 1000);
    assert_eq!(
        one(
            &h,
            &format!("SELECT count(*) FROM t AS OF SCN {before} WHERE v LIKE 'old %'")
        ),
        1000
    );
    assert_eq!(
        one(
            &h,
            &format!("SELECT count(*) FROM t AS OF SCN {before} WHERE k = 3")
        ),
        100
    );
    let v: String = h
        .query_row(
            &format!("SELECT v FROM t AS OF SCN {before} WHERE id = 600"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(v, "old 600");
}

#[test]
fn update_delete_and_insert_select_of_more_rows_than_the_statement_budget_answer_like_sqlite() {
    // 30,000 rows of about 200 bytes: the target rows of each statement below are several
    // times the 1 MiB statement budget, so they are gathered in a spill file and read back.
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    let s = rusqlite::Connection::open_in_memory().unwrap();
    let setup = format!(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);
         CREATE INDEX t_k ON t(k);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {N})
         INSERT INTO t SELECT x, (x * 7919) % 1009, printf('%0200d', x) FROM s;"
    );
    h.execute_batch(&setup).unwrap();
    s.execute_batch(&setup).unwrap();
    let before = one(&h, "SELECT current_scn()");
    let summary = "SELECT count(*), sum(k), sum(length(v)), sum(id % 1000) FROM t";
    let past_summary: (i64, i64, i64, i64) = h
        .query_row(summary, [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap();
    for sql in [
        // New values computed from the rows as they were, an index key changed.
        "UPDATE t SET k = k + 1, v = v || 'x' WHERE id % 3 = 0",
        // A subquery over the table being changed sees it as it was before the statement
        // (and runs once, not once per row: 30,000 runs took minutes).
        "UPDATE t SET k = (SELECT max(k) FROM t) - k WHERE id % 7 = 0",
        "DELETE FROM t WHERE id % 5 = 0",
        // Reads the table it writes: only the rows there before the statement are copied.
        "INSERT INTO t(id, k, v) SELECT id + 100000, k, v FROM t WHERE id % 2 = 0",
        // Moves rows to new rowids past every other one.
        "UPDATE t SET id = id + 1000000 WHERE id > 25000 AND id < 100000",
    ] {
        run_both(&h, &s, sql, "");
    }
    check(&h);
    for sql in [
        "SELECT id, k FROM t ORDER BY id",
        "SELECT id, length(v) FROM t WHERE k BETWEEN 10 AND 20 ORDER BY k, id",
        "SELECT k, count(*) FROM t GROUP BY k ORDER BY k",
    ] {
        let (ours, theirs) = rows(&h, &s, sql);
        assert!(ours == theirs, "{sql}: rows differ from SQLite's");
    }
    let mut stmt = h
        .prepare("DELETE FROM t WHERE id % 11 = 0 RETURNING id")
        .unwrap();
    let returned: Vec<i64> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(stmt);
    let deleted = s.execute("DELETE FROM t WHERE id % 11 = 0", []).unwrap();
    assert_eq!(returned.len(), deleted);
    assert!(returned.iter().all(|id| id % 11 == 0));
    let (ours, theirs) = rows(&h, &s, "SELECT id, k FROM t ORDER BY id");
    assert!(
        ours == theirs,
        "after DELETE ... RETURNING: rows differ from SQLite's"
    );
    // The past is intact.
    let past: (i64, i64, i64, i64) = h
        .query_row(
            &format!(
                "SELECT count(*), sum(k), sum(length(v)), sum(id % 1000) FROM t AS OF SCN {before}"
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(past, past_summary);
}

/// Every row of `t` as text, ordered by id.
fn all_rows(h: &Connection, from: &str) -> Vec<String> {
    let mut stmt = h
        .prepare(&format!("SELECT id, k, v FROM {from} ORDER BY id"))
        .unwrap();
    stmt.query_map([], |r| {
        Ok(format!(
            "{:?}|{:?}|{:?}",
            r.get::<_, i64>(0)?,
            r.get::<_, Option<i64>>(1)?,
            r.get::<_, Option<String>>(2)?
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn sqlite_rows(s: &rusqlite::Connection) -> Vec<String> {
    let mut stmt = s.prepare("SELECT id, k, v FROM t ORDER BY id").unwrap();
    stmt.query_map([], |r| {
        Ok(format!(
            "{:?}|{:?}|{:?}",
            r.get::<_, i64>(0)?,
            r.get::<_, Option<i64>>(1)?,
            r.get::<_, Option<String>>(2)?
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[test]
fn updates_and_deletes_rewriting_rows_in_one_transaction_keep_every_past_version() {
    // The default write-set budget: the transactions below stay in memory, where the commit
    // takes the heads the statements' scans read. Rows are changed several times per
    // transaction, by later statements of a deferred and of an immediate transaction, with
    // subqueries reading the table being changed, and checked against SQLite now and at
    // every past SCN.
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::with_path(dir.path().join("db"));
    c.database.enable_wal = false;
    let h = Connection::open(c).unwrap();
    let s = rusqlite::Connection::open_in_memory().unwrap();
    let setup = "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);
         CREATE INDEX t_k ON t(k);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 6000)
         INSERT INTO t SELECT x, x % 97, 'v' || x FROM s;";
    h.execute_batch(setup).unwrap();
    s.execute_batch(setup).unwrap();
    let mut past = vec![(one(&h, "SELECT current_scn()"), sqlite_rows(&s))];
    let transactions: [&[&str]; 4] = [
        &[
            "BEGIN",
            "UPDATE t SET v = v || '+a' WHERE id % 2 = 0",
            "UPDATE t SET v = v || '+b', k = k + 1 WHERE id % 3 = 0",
            "DELETE FROM t WHERE id % 10 = 0",
            // A correlated subquery over the table being changed (of a column the statement
            // leaves alone: with `k` itself, SQLite's later rows see the earlier rows' new
            // values, which this engine does not; see the README's dialect section).
            "UPDATE t SET v = v || (SELECT count(*) FROM t AS u WHERE u.k = t.k) WHERE id % 7 = 0",
            "COMMIT",
        ],
        &[
            "BEGIN IMMEDIATE",
            "DELETE FROM t WHERE id % 4 = 1",
            "INSERT INTO t(id, k, v) SELECT id + 1, k, 'back' FROM t WHERE id % 4 = 0 AND id < 3000",
            "UPDATE t SET v = 'again ' || v WHERE id % 4 = 1 OR id % 6 = 0",
            "COMMIT",
        ],
        &["UPDATE t SET v = v || '+c' WHERE id > 1000 AND id < 5000"],
        &["DELETE FROM t WHERE k = 5 OR id % 9 = 0"],
    ];
    for statements in transactions {
        for sql in statements {
            let changed = h.execute(sql, []).unwrap_or_else(|e| panic!("{sql}: {e}"));
            let expected = s.execute(sql, []).unwrap();
            // SQLite reports the previous statement's count for BEGIN and COMMIT.
            if !sql.starts_with("BEGIN") && *sql != "COMMIT" {
                assert_eq!(changed, expected, "{sql}: rows changed");
            }
        }
        check(&h);
        assert!(
            all_rows(&h, "t") == sqlite_rows(&s),
            "{statements:?}: rows differ"
        );
        past.push((one(&h, "SELECT current_scn()"), sqlite_rows(&s)));
    }
    assert_past(&h, &past, 3..=40, "");
}

/// Prepared UPDATEs and DELETEs by primary key, executed in ascending key order in one
/// transaction, read each row to rewrite through a walk the transaction keeps over the heads
/// (after a checkpoint the heads are in the tables): rows missing, rows already changed by
/// the transaction, an indexed column changed, keys out of order and an INSERT that writes
/// many new rows mid-transaction must all answer as SQLite does, now and at every past SCN.
#[test]
fn updates_and_deletes_by_key_in_ascending_order_answer_like_sqlite_and_keep_the_past() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    let s = rusqlite::Connection::open_in_memory().unwrap();
    let setup = "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);
         CREATE INDEX t_k ON t(k);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 5000)
         INSERT INTO t SELECT x, x % 97, 'v' || x FROM s;
         DELETE FROM t WHERE id % 13 = 0;";
    h.execute_batch(setup).unwrap();
    s.execute_batch(setup).unwrap();
    h.execute_batch("PRAGMA wal_checkpoint").unwrap();
    let mut past = vec![(one(&h, "SELECT current_scn()"), sqlite_rows(&s))];
    for round in 0..3i64 {
        for sql in ["BEGIN", "UPDATE t SET v = 'own' WHERE id % 50 = 7"] {
            h.execute(sql, []).unwrap();
            s.execute(sql, []).unwrap();
        }
        let statements = [
            "UPDATE t SET v = v || '+' || ?2 WHERE id = ?1",
            "UPDATE t SET k = k + ?2 WHERE id = ?1",
            "DELETE FROM t WHERE id = ?1 AND ?2 >= 0",
        ];
        let mut hs: Vec<_> = statements.iter().map(|q| h.prepare(q).unwrap()).collect();
        let mut ss: Vec<_> = statements.iter().map(|q| s.prepare(q).unwrap()).collect();
        let mut id = 1 + round;
        let mut loaded = false;
        while id < 5600 {
            // Now and then a row far behind (read by point), and a load of rows past the
            // budget, whose heads the transaction writes itself: the deleted rows ahead come
            // back, and the statements after must find them.
            let ids = match id % 400 {
                0 => vec![id, id / 3],
                _ if round == 1 && id > 1200 && !loaded => {
                    loaded = true;
                    let ahead = format!(
                        "INSERT INTO t SELECT x, x % 97, 'n' FROM (WITH RECURSIVE s(x) AS \
                         (SELECT {id} + 1 UNION ALL SELECT x + 1 FROM s WHERE x < 5600) \
                         SELECT x FROM s) WHERE x % 13 = 0"
                    );
                    for load in [
                        "INSERT INTO t SELECT id + 10000, k, 'n' FROM t WHERE id < 6000",
                        "INSERT INTO t SELECT id + 20000, k, 'n' FROM t WHERE id < 6000",
                        &ahead,
                    ] {
                        h.execute(load, []).unwrap();
                        s.execute(load, []).unwrap();
                    }
                    vec![id]
                }
                _ => vec![id],
            };
            for id in ids {
                let which = (id as usize / 7 + round as usize) % statements.len();
                let ours = hs[which].execute((id, round)).unwrap();
                let theirs = ss[which].execute((id, round)).unwrap();
                assert_eq!(ours, theirs, "{} with id {id}", statements[which]);
            }
            id += 1 + id % 3;
        }
        drop(hs);
        drop(ss);
        h.execute("COMMIT", []).unwrap();
        s.execute("COMMIT", []).unwrap();
        check(&h);
        assert!(
            all_rows(&h, "t") == sqlite_rows(&s),
            "round {round}: rows differ"
        );
        past.push((one(&h, "SELECT current_scn()"), sqlite_rows(&s)));
        h.execute_batch("PRAGMA wal_checkpoint").unwrap();
    }
    assert_past(&h, &past, 3..=40, "");
}

/// How many of `rows` (as [`all_rows`] gives them) have `k` in `range`.
fn rows_with_k_in(rows: &[String], range: &std::ops::RangeInclusive<i64>) -> i64 {
    rows.iter()
        .filter(|r| {
            let k: &str = r.split('|').nth(1).unwrap();
            let k: Option<i64> = k
                .strip_prefix("Some(")
                .and_then(|k| k[..k.len() - 1].parse().ok());
            k.is_some_and(|k| range.contains(&k))
        })
        .count() as i64
}

/// Every past point of `t` reads as it was (`points`: an SCN and SQLite's rows then), by a
/// scan of the table and through the index on `k` (a count over `range`).
fn assert_past(
    h: &Connection,
    points: &[(i64, Vec<String>)],
    range: std::ops::RangeInclusive<i64>,
    when: &str,
) {
    for (scn, rows) in points {
        assert!(
            all_rows(h, &format!("t AS OF SCN {scn}")) == *rows,
            "{when}AS OF SCN {scn}: rows differ from SQLite's at that point"
        );
        let by_index = one(
            h,
            &format!(
                "SELECT count(*) FROM t AS OF SCN {scn} WHERE k BETWEEN {} AND {}",
                range.start(),
                range.end()
            ),
        );
        let expected = rows_with_k_in(rows, &range);
        assert_eq!(
            by_index, expected,
            "{when}AS OF SCN {scn} through the index"
        );
    }
}

/// A transaction that changes the catalog keeps its own schema between statements, read
/// again only when a catalog entry is written or a savepoint is rolled back to: every
/// statement must see the columns, tables and indexes the transaction's DDL left at that
/// point, exactly as SQLite does (a failed statement, an undone ALTER, a table dropped and
/// created again, a load into a table made in the same transaction that spills).
#[test]
fn statements_after_ddl_in_the_same_transaction_see_the_schema_as_sqlite_does() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path());
    let s = rusqlite::Connection::open_in_memory().unwrap();
    let load = "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 20000)
                INSERT INTO a(id, k) SELECT x, x % 97 FROM s";
    let steps = [
        "BEGIN",
        "CREATE TABLE a(id INTEGER PRIMARY KEY, k INTEGER)",
        load,
        "INSERT INTO a(id, k, c) VALUES (-1, 1, 1)",
        "ALTER TABLE a ADD COLUMN c INTEGER DEFAULT 5",
        "INSERT INTO a(id, k, c) VALUES (-2, 2, 2)",
        "SELECT count(*), sum(c) FROM a",
        "SAVEPOINT sp",
        "ALTER TABLE a RENAME COLUMN c TO d",
        "CREATE INDEX a_k ON a(k)",
        "INSERT INTO a(id, k, d) VALUES (-3, 3, 3)",
        "SELECT count(*), sum(d) FROM a WHERE k = 3",
        // Fails: the column is d now.
        "INSERT INTO a(id, k, c) VALUES (-4, 4, 4)",
        "ROLLBACK TO sp",
        "INSERT INTO a(id, k, d) VALUES (-5, 5, 5)",
        "INSERT INTO a(id, k, c) VALUES (-6, 6, 6)",
        "SELECT count(*), sum(c) FROM a WHERE k = 6",
        "CREATE INDEX a_k ON a(k)",
        // Fails on existing duplicates, rolling the statement back.
        "CREATE UNIQUE INDEX a_u ON a(k)",
        "SELECT count(*), sum(c) FROM a WHERE k = 5",
        "DROP TABLE a",
        "SELECT count(*), 0 FROM a",
        "CREATE TABLE a(id INTEGER PRIMARY KEY, k TEXT, z INTEGER)",
        "INSERT INTO a(id, k, c) VALUES (1, 1, 1)",
        "INSERT INTO a(id, k, z) VALUES (1, 'one', 7)",
        "SELECT count(*), sum(z) FROM a",
        "COMMIT",
        "SELECT count(*), sum(z) FROM a",
    ];
    for sql in steps {
        if sql.starts_with("SELECT") {
            let ours = h.query_row(sql, [], |r| {
                Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?))
            });
            let theirs = s.query_row(sql, [], |r| {
                Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?))
            });
            assert_eq!(ours.is_ok(), theirs.is_ok(), "{sql}: {ours:?} / {theirs:?}");
            if let (Ok(o), Ok(t)) = (ours, theirs) {
                assert_eq!(o, t, "{sql}");
            }
            continue;
        }
        let ours = h.execute(sql, []);
        let theirs = s.execute(sql, []);
        assert_eq!(ours.is_ok(), theirs.is_ok(), "{sql}: {ours:?} / {theirs:?}");
        // (SQLite's count after DDL is that of the last DML statement.)
        if let (Ok(o), Ok(t), true) = (ours, theirs, sql.starts_with("INSERT")) {
            assert_eq!(o, t, "{sql}: rows changed");
        }
    }
    check(&h);
}

/// What storage holds: live index entries stored as heads, heads carrying an SCN beyond the
/// newest commit (written ahead of a commit that has not happened), and private entries.
fn stored(c: &Connection) -> (i64, usize, usize) {
    use heliosdb_lite::mvcc::keys;
    let latest = one(c, "SELECT current_scn()") as u64;
    let (mut live, mut ahead, mut private) = (0, 0, 0);
    let all = (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded);
    for kv in c
        .mvcc()
        .storage()
        .scan(all, heliosdb_lite::storage::Direction::Forward)
    {
        let (k, v) = kv.unwrap();
        match k.first() {
            Some(&keys::HEAD) => {
                let v = keys::decode_version(&v).unwrap();
                ahead += usize::from(v.begin > latest);
                live += i64::from(k.get(1) == Some(&b'i') && v.data.is_some());
            }
            Some(&keys::PRIVATE) => private += 1,
            _ => {}
        }
    }
    (live, ahead, private)
}

#[test]
fn a_large_create_index_stays_private_until_its_commit_and_leaves_nothing_when_undone() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = open(dir.path());
    let s = rusqlite::Connection::open_in_memory().unwrap();
    let setup = format!(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, u INTEGER, d INTEGER);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {N})
         INSERT INTO t SELECT x, (x * 7919) % 1009, x, x % 5000 FROM s;"
    );
    h.execute_batch(&setup).unwrap();
    s.execute_batch(&setup).unwrap();
    let before = one(&h, "SELECT current_scn()");
    assert_eq!(stored(&h), (0, 0, 0));
    let both = |h: &Connection, sql: &str, fails: bool| {
        let ours = h.execute_batch(sql);
        let theirs = s.execute_batch(sql);
        assert_eq!(ours.is_err(), fails, "{sql}: {ours:?}");
        assert_eq!(theirs.is_err(), fails, "{sql} in SQLite: {theirs:?}");
        if let Err(e) = ours {
            assert!(e.to_string().contains("UNIQUE"), "{sql}: {e}");
        }
    };
    both(&h, "BEGIN; CREATE INDEX t_k ON t(k)", false);
    // Written ahead of the commit: there, but at an SCN no snapshot reads yet.
    let (live, ahead, _) = stored(&h);
    assert_eq!((live, ahead), (N, N as usize));
    assert_eq!(one(&h, "SELECT count(*) FROM t WHERE k = 17"), {
        s.query_row("SELECT count(*) FROM t WHERE k = 17", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
    });
    both(&h, "SAVEPOINT a; CREATE UNIQUE INDEX t_u ON t(u)", false);
    // Duplicates found part way through the entries: the statement leaves nothing.
    both(&h, "CREATE UNIQUE INDEX t_d ON t(d)", true);
    assert_eq!(stored(&h).0, 2 * N);
    both(&h, "ROLLBACK TO a; RELEASE a", false);
    assert_eq!(stored(&h).0, N);
    both(&h, "COMMIT", false);
    assert_eq!(stored(&h), (N, 0, 0));
    check(&h);
    // The index answers queries as SQLite does; the past had no index and reads the table.
    for sql in [
        "SELECT id, k FROM t WHERE k = 17 ORDER BY id",
        "SELECT k, count(*) FROM t WHERE k BETWEEN 100 AND 110 GROUP BY k ORDER BY k",
    ] {
        let (ours, theirs) = rows(&h, &s, sql);
        assert_eq!(ours, theirs, "{sql}");
    }
    let plan: Vec<String> = h
        .prepare("EXPLAIN SELECT id FROM t WHERE k = 17")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(plan.iter().any(|l| l.contains("t_k")), "{plan:?}");
    assert_eq!(
        one(
            &h,
            &format!("SELECT count(*) FROM t AS OF SCN {before} WHERE k = 17")
        ),
        one(&h, "SELECT count(*) FROM t WHERE k = 17")
    );
    assert_eq!(
        one(
            &h,
            &format!("SELECT count(*) FROM sqlite_master AS OF SCN {before} WHERE type = 'index'")
        ),
        0
    );
    // A rolled-back transaction, and one whose connection went away, leave nothing.
    both(&h, "BEGIN; CREATE INDEX t_ku ON t(k, u); ROLLBACK", false);
    assert_eq!(stored(&h), (N, 0, 0));
    h.execute_batch("BEGIN; CREATE INDEX t_ku ON t(k, u)")
        .unwrap();
    drop(h);
    h = open(dir.path());
    assert_eq!(stored(&h), (N, 0, 0));
    assert_eq!(
        one(
            &h,
            "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
        ),
        1
    );
    check(&h);
}

/// An index lookup against SQLite's: the rows of `k` in a range, and how many rows each `k`
/// value has, through the index on `k`.
fn assert_index_like_sqlite(h: &Connection, s: &rusqlite::Connection, from: &str, when: &str) {
    for sql in [
        format!("SELECT id, k FROM {from} WHERE k BETWEEN 100 AND 400 ORDER BY k, id"),
        format!("SELECT k, count(*) FROM {from} WHERE k >= 0 GROUP BY k ORDER BY k"),
    ] {
        let (ours, theirs) = rows(h, s, &sql);
        assert!(ours == theirs, "{when}: {sql}: rows differ from SQLite's");
    }
}

#[test]
fn large_deletes_and_updates_of_an_indexed_column_through_a_packed_table_keep_the_past() {
    // 20,000 rows, read by the statements below through the table's packed copy (so the
    // commit reads the superseded heads itself, in key order, as it does for the index
    // entries of the changed rows), once with the write set in memory and once spilling.
    for spill in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let h = if spill {
            open(dir.path())
        } else {
            let mut c = Config::with_path(dir.path().join("db"));
            c.database.enable_wal = false;
            Connection::open(c).unwrap()
        };
        let s = rusqlite::Connection::open_in_memory().unwrap();
        let setup = "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);
             CREATE INDEX t_k ON t(k);
             WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 20000)
             INSERT INTO t SELECT x, (x * 7919) % 1009, 'v' || x FROM s;";
        h.execute_batch(setup).unwrap();
        s.execute_batch(setup).unwrap();
        // Builds the packed copy the statements' scans read.
        h.checkpoint().unwrap();
        let before = one(&h, "SELECT current_scn()");
        let past = all_rows(&h, "t");
        assert!(past == sqlite_rows(&s));
        // A rolled-back transaction leaves nothing: no row, no index entry, no commit.
        h.execute_batch(
            "BEGIN;
             UPDATE t SET k = k + 2000 WHERE id % 2 = 0;
             DELETE FROM t WHERE id % 3 = 0;
             ROLLBACK;",
        )
        .unwrap();
        assert_eq!(one(&h, "SELECT current_scn()"), before, "spill {spill}");
        assert!(
            all_rows(&h, "t") == past,
            "spill {spill}: rows after ROLLBACK"
        );
        assert_index_like_sqlite(&h, &s, "t", "after ROLLBACK");
        check(&h);
        let mut points = vec![(before, past)];
        for sql in [
            // Half the rows move in the index.
            "UPDATE t SET k = k + 2000 WHERE id % 2 = 0",
            "DELETE FROM t WHERE id % 3 = 0",
            "UPDATE t SET v = v || 'x', k = k - 1 WHERE id % 5 = 0",
            "DELETE FROM t WHERE k > 2500",
        ] {
            run_both(&h, &s, sql, &format!("spill {spill}: "));
            check(&h);
            assert!(
                all_rows(&h, "t") == sqlite_rows(&s),
                "spill {spill}: {sql}: rows differ"
            );
            assert_index_like_sqlite(&h, &s, "t", sql);
            points.push((one(&h, "SELECT current_scn()"), sqlite_rows(&s)));
        }
        // Every point before reads as it was, the deleted and the updated rows (and their
        // index entries, which the first UPDATE moved out of the range) included.
        assert_past(&h, &points, 100..=400, &format!("spill {spill}: "));
        let range = 100..=400;
        assert!(rows_with_k_in(&points[0].1, &range) > rows_with_k_in(&sqlite_rows(&s), &range));
    }
}
