//! Time-travel rough edges (issue 15): each gives a meaningful result or a clear error.

use heliosdb_lite::types::ToSql;
use heliosdb_lite::{Config, Connection, Error};

fn db() -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch("CREATE TABLE t(a); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);")
        .unwrap();
    c
}

#[test]
fn helios_snapshots_takes_no_clause_and_its_name_is_reserved() {
    let c = db();
    let e = c
        .prepare("SELECT * FROM helios_snapshots AS OF SCN 2")
        .and_then(|mut s| s.query([]).map(|_| ()))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("helios_snapshots has no history of its own"),
        "{e}"
    );
    for sql in [
        "CREATE TABLE helios_snapshots(x)",
        "CREATE TABLE Helios_Snapshots(x)",
        "CREATE VIEW helios_snapshots AS SELECT 1",
        "ALTER TABLE t RENAME TO helios_snapshots",
    ] {
        let e = c.execute(sql, []).unwrap_err();
        assert!(e.to_string().contains("is reserved"), "{sql}: {e}");
    }
    let n: i64 = c
        .query_row("SELECT count(*) FROM helios_snapshots", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3);
}

#[test]
fn named_and_numbered_parameters_work_bare() {
    let c = db();
    let count = |sql: &str, params: &[(&str, &dyn ToSql)]| -> i64 {
        c.query_row(sql, params, |r| r.get(0)).unwrap()
    };
    assert_eq!(
        count("SELECT count(*) FROM t AS OF SCN :x", &[(":x", &2)]),
        1
    );
    assert_eq!(
        count("SELECT count(*) FROM t AS OF SCN @x", &[("@x", &3)]),
        2
    );
    assert_eq!(
        count("SELECT count(*) FROM t AS OF SCN :x + 1", &[(":x", &2)]),
        2
    );
    let n: i64 = c
        .query_row("SELECT count(*) FROM t AS OF SCN ?1", [2], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn a_clause_on_a_subquery_says_what_is_allowed() {
    let c = db();
    let e = c
        .execute("SELECT * FROM (SELECT * FROM t) s AS OF SCN 2", [])
        .unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("put the clause on each table inside the subquery"),
        "{m}"
    );
    assert!(!m.contains("SYSTEM_TIME"), "{m}");
    let n: i64 = c
        .query_row(
            "SELECT count(*) FROM (SELECT * FROM t AS OF SCN 2) s",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn transaction_zero_is_not_too_old_but_nonexistent() {
    let c = db();
    let e = c
        .query_row("SELECT count(*) FROM t AS OF TRANSACTION 0", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap_err();
    assert!(matches!(e, Error::SnapshotNotAvailable { .. }), "{e}");
    assert!(e.to_string().contains("transaction ids start at 1"), "{e}");
}

#[test]
fn vacuum_history_counts_the_snapshots_it_removed() {
    let mut config = Config::in_memory();
    config.snapshot.min_retention_seconds = 0;
    config.snapshot.max_snapshots = 2;
    config.snapshot.auto_gc_enabled = false;
    let c = Connection::open(config).unwrap();
    c.execute("CREATE TABLE t(a)", []).unwrap();
    for i in 0..7 {
        c.execute("INSERT INTO t VALUES (?)", [i]).unwrap();
    }
    let listed = |c: &Connection| -> i64 {
        c.query_row("SELECT count(*) FROM helios_snapshots", [], |r| r.get(0))
            .unwrap()
    };
    let before = listed(&c);
    let removed: i64 = c.query_row("VACUUM HISTORY", [], |r| r.get(0)).unwrap();
    let after = listed(&c);
    assert_eq!((before, after), (8, 2));
    assert_eq!(removed, before - after);
}

/// A row deleted by a range and inserted again under the same rowid in one transaction: the
/// insert saw no live rowid at or above its own and told the commit the key had no version,
/// so the old version never reached the history and the row vanished from every past point.
#[test]
fn a_row_deleted_by_a_range_and_reinserted_keeps_its_past() {
    for (begin, delete) in [
        ("BEGIN", "DELETE FROM t WHERE k BETWEEN 27 AND 31"),
        ("SAVEPOINT s", "DELETE FROM t WHERE k >= 30"),
        ("BEGIN", "DELETE FROM t"),
    ] {
        for dir in [None, Some(tempfile::tempdir().unwrap())] {
            let c = match &dir {
                None => Connection::open_in_memory().unwrap(),
                Some(d) => Connection::open(d.path().join("db")).unwrap(),
            };
            c.execute_batch(
                "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT); \
                 INSERT INTO t VALUES (30, 'old30'), (31, 'old31');",
            )
            .unwrap();
            let past: i64 = c
                .query_row("SELECT current_scn()", [], |r| r.get(0))
                .unwrap();
            c.execute_batch(&format!(
                "{begin}; {delete}; INSERT INTO t VALUES (31, 'new'); COMMIT"
            ))
            .unwrap();
            let rows = |sql: &str| -> Vec<(i64, String)> {
                c.prepare(sql)
                    .unwrap()
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            };
            let then = vec![(30, "old30".to_string()), (31, "old31".to_string())];
            assert_eq!(
                rows(&format!("SELECT * FROM t AS OF SCN {past} ORDER BY k")),
                then,
                "{delete}"
            );
            assert_eq!(
                rows(&format!("SELECT * FROM t AS OF SCN {past} WHERE k = 31")),
                vec![(31, "old31".to_string())],
                "{delete}"
            );
            assert_eq!(
                rows("SELECT * FROM t WHERE k = 31"),
                vec![(31, "new".to_string())]
            );
            let check: String = c
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(check, "ok");
        }
    }
}

/// A small deterministic random source: `rand(n)` is in `0..n`.
fn xorshift(mut x: u64) -> impl FnMut(u64) -> i64 {
    move |n| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n) as i64
    }
}

/// Scans `AS OF` a point of a table that grew, shrank and changed since: rows added later
/// are proven absent from the walk through the history instead of a seek each, which must
/// not lose a row that existed then (updated, deleted, deleted and inserted again since,
/// including over a tombstone) nor show one that did not. Checked against a model at every
/// point, on the heads and, once the table is large, beside its pack.
#[test]
fn scans_as_of_a_point_of_a_grown_table_see_exactly_its_rows() {
    use std::collections::BTreeMap;
    let dir = tempfile::tempdir().unwrap();
    let c = Connection::open(dir.path().join("db")).unwrap();
    c.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)")
        .unwrap();
    let mut model: BTreeMap<i64, i64> = BTreeMap::new();
    let mut points: Vec<(i64, BTreeMap<i64, i64>)> = Vec::new();
    let mut rand = xorshift(0x2545_F491_4F6C_DD1Du64);
    let mut next_id = 1;
    for round in 0..12 {
        c.execute_batch("BEGIN").unwrap();
        for _ in 0..600 {
            match rand(10) {
                0..=5 => {
                    c.execute("INSERT INTO t VALUES (?1, ?2)", [next_id, round])
                        .unwrap();
                    model.insert(next_id, round);
                    next_id += 1;
                }
                6..=7 => {
                    let id = 1 + rand(next_id as u64);
                    c.execute("UPDATE t SET v = v + 100 WHERE id = ?1", [id])
                        .unwrap();
                    if let Some(v) = model.get_mut(&id) {
                        *v += 100;
                    }
                }
                8 => {
                    let id = 1 + rand(next_id as u64);
                    c.execute("DELETE FROM t WHERE id = ?1", [id]).unwrap();
                    model.remove(&id);
                }
                _ => {
                    // Back over a deleted row's tombstone, or a no-op on a live one.
                    let id = 1 + rand(next_id as u64);
                    if id >= next_id {
                        continue;
                    }
                    c.execute("INSERT OR IGNORE INTO t VALUES (?1, ?2)", [id, -round])
                        .unwrap();
                    model.entry(id).or_insert(-round);
                }
            }
        }
        c.execute_batch("COMMIT").unwrap();
        let scn: i64 = c
            .query_row("SELECT current_scn()", [], |r| r.get(0))
            .unwrap();
        points.push((scn, model.clone()));
        if round % 4 == 3 {
            c.checkpoint().unwrap();
        }
    }
    let other = c.another_connection();
    for (scn, rows) in &points {
        let want = (
            rows.len() as i64,
            rows.values().sum::<i64>(),
            rows.iter()
                .map(|(k, v)| k * 31 + v)
                .fold(0i64, |a, b| a.wrapping_mul(7).wrapping_add(b)),
        );
        for conn in [&c, &other] {
            let got: (i64, i64, i64) = conn
                .query_row(
                    &format!("SELECT count(*), coalesce(sum(v), 0) FROM t AS OF SCN {scn}"),
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, 0)),
                )
                .unwrap();
            assert_eq!((got.0, got.1), (want.0, want.1), "AS OF SCN {scn}");
            let listed: Vec<(i64, i64)> = {
                let mut s = conn
                    .prepare(&format!("SELECT id, v FROM t AS OF SCN {scn} ORDER BY id"))
                    .unwrap();
                let rows = s.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
                rows.map(|r| r.unwrap()).collect()
            };
            let expected: Vec<(i64, i64)> = rows.iter().map(|(k, v)| (*k, *v)).collect();
            assert_eq!(listed, expected, "rows AS OF SCN {scn}");
        }
    }
}

/// Point reads `AS OF` every point of rows updated dozens of times, deleted, and inserted
/// again (by key, and as the new highest rowid, the insert path that writes a row without
/// reading its old head): a head lists its row's past versions, and a read older than the
/// head takes the version by its exact key; a list must never claim a row had no past it
/// did not see. Checked against a model, in memory and on disk, across reopens.
#[test]
fn point_reads_as_of_every_point_of_rows_deleted_and_inserted_again() {
    use std::collections::BTreeMap;
    for on_disk in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let open = || match on_disk {
            true => Connection::open(dir.path().join("db")).unwrap(),
            false => Connection::open_in_memory().unwrap(),
        };
        let mut c = open();
        c.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)")
            .unwrap();
        let mut model: BTreeMap<i64, i64> = BTreeMap::new();
        let mut points: Vec<(i64, BTreeMap<i64, i64>)> = Vec::new();
        let mut rand = xorshift(0x9E37_79B9_7F4A_7C15u64);
        for round in 0..160i64 {
            let in_txn = round % 3 == 0;
            if in_txn {
                c.execute_batch("BEGIN").unwrap();
            }
            for _ in 0..if in_txn { 6 } else { 1 } {
                let id = 1 + rand(24);
                match rand(8) {
                    0..=3 => {
                        c.execute("UPDATE t SET v = ?1 WHERE id = ?2", [round, id])
                            .unwrap();
                        if let Some(v) = model.get_mut(&id) {
                            *v = round;
                        }
                    }
                    4 => {
                        c.execute("DELETE FROM t WHERE id = ?1", [id]).unwrap();
                        model.remove(&id);
                    }
                    5 => {
                        // The highest row goes and comes back as the next rowid.
                        if let Some((&top, _)) = model.iter().next_back() {
                            c.execute("DELETE FROM t WHERE id = ?1", [top]).unwrap();
                            model.remove(&top);
                        }
                        c.execute("INSERT INTO t(v) VALUES (?1)", [round]).unwrap();
                        let next = model.keys().next_back().map_or(1, |k| k + 1);
                        // SQLite's next rowid: one past the largest in use now, even when
                        // the transaction deleted the largest after inserting it.
                        let got: i64 = c
                            .query_row("SELECT last_insert_rowid()", [], |r| r.get(0))
                            .unwrap();
                        assert_eq!(got, next, "round {round}");
                        model.insert(next, round);
                    }
                    _ => {
                        if let std::collections::btree_map::Entry::Vacant(row) = model.entry(id) {
                            c.execute("INSERT INTO t VALUES (?1, ?2)", [id, -round])
                                .unwrap();
                            row.insert(-round);
                        }
                    }
                }
            }
            if in_txn {
                c.execute_batch("COMMIT").unwrap();
            }
            let scn: i64 = c
                .query_row("SELECT current_scn()", [], |r| r.get(0))
                .unwrap();
            points.push((scn, model.clone()));
            if on_disk && round % 50 == 49 {
                drop(c);
                c = open();
            }
        }
        let mut read = c
            .prepare("SELECT v FROM t AS OF SCN ?1 WHERE id = ?2")
            .unwrap();
        for (scn, rows) in &points {
            for id in 1..=26 {
                let got: Option<i64> = read
                    .query([*scn, id])
                    .unwrap()
                    .next()
                    .unwrap()
                    .map(|r| r.get(0).unwrap());
                assert_eq!(got, rows.get(&id).copied(), "id {id} at SCN {scn}");
            }
        }
    }
}
