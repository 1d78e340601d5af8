//! Full scans of large tables read their packed copy and its change log (`mvcc::pack`).
//! Differential against SQLite: after every round of random changes the same full-scan
//! queries must agree, now, and later `AS OF` every earlier round, while checkpoints build and
//! replace the packs in between.

use heliosdb_lite::Connection;

mod support;
use support::{helios_text, sqlite_text, Rng};

/// Full scans (the `+ 0` keeps any access path away), folded into one text per query.
const QUERIES: &[&str] = &[
    "SELECT count(*) || '|' || sum(g) || '|' || sum(length(v)) || '|' || min(v) || '|' || max(v) \
     || '|' || sum(id * g) FROM t{AS_OF} WHERE g + 0 >= -1000000",
    "SELECT group_concat(id || ':' || g, ',') FROM \
     (SELECT id, g FROM t{AS_OF} WHERE id + 0 > 0 ORDER BY g DESC, id LIMIT 7)",
    "SELECT group_concat(id, ',') FROM (SELECT id FROM t{AS_OF} WHERE v LIKE '%7' ORDER BY id)",
];

#[test]
fn full_scans_agree_with_sqlite_now_and_as_of_while_packs_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let h = Connection::open(dir.path().join("db")).unwrap();
    let s = rusqlite::Connection::open_in_memory().unwrap();
    let schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, g INTEGER, v TEXT)";
    h.execute_batch(schema).unwrap();
    s.execute_batch(schema).unwrap();
    let load = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000) \
                INSERT INTO t SELECT i, (i * 7919) % 1000, 'row ' || i FROM n";
    h.execute(load, []).unwrap();
    s.execute(load, []).unwrap();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut next_id = 6001;
    let mut points = Vec::new();
    for round in 0..30 {
        let changes = 1 + rng.below(if round % 5 == 4 { 1500 } else { 200 });
        h.execute_batch("BEGIN").unwrap();
        s.execute_batch("BEGIN").unwrap();
        for _ in 0..changes {
            let id = 1 + rng.below(next_id);
            let g = rng.below(2000) as i64 - 500;
            let sql = match rng.below(10) {
                0..=4 => format!("UPDATE t SET g = {g}, v = 'upd {round} {g}' WHERE id = {id}"),
                5..=6 => format!("DELETE FROM t WHERE id = {id}"),
                _ => {
                    next_id += 1;
                    format!("INSERT INTO t VALUES ({next_id}, {g}, 'new {round}')")
                }
            };
            h.execute(&sql, []).unwrap();
            s.execute(&sql, []).unwrap();
        }
        h.execute_batch("COMMIT").unwrap();
        s.execute_batch("COMMIT").unwrap();
        if round % 3 == 0 {
            // Builds a pack when the log since the last one has grown (or there is none),
            // reading the rows through the previous pack: each rebuild must equal the heads.
            h.checkpoint().unwrap();
            let check: String = h
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(check, "ok", "round {round}");
        }
        let scn: i64 = h
            .query_row("SELECT current_scn()", [], |r| r.get(0))
            .unwrap();
        let mut expected = Vec::new();
        for q in QUERIES {
            let want = sqlite_text(&s, &q.replace("{AS_OF}", ""));
            let got = helios_text(&h, &q.replace("{AS_OF}", ""));
            assert_eq!(got, want, "round {round}: {q}");
            expected.push(want);
        }
        points.push((scn, expected));
    }
    h.checkpoint().unwrap();
    for (scn, expected) in &points {
        for (q, want) in QUERIES.iter().zip(expected) {
            let sql = q.replace("{AS_OF}", &format!(" AS OF SCN {scn}"));
            assert_eq!(&helios_text(&h, &sql), want, "{sql}");
        }
    }
    let check: String = h
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // The table really has a pack: its pages exist.
    let pages = h
        .mvcc()
        .storage()
        .scan(
            heliosdb_lite::storage::prefix_range(&[heliosdb_lite::mvcc::keys::PAGE]),
            heliosdb_lite::storage::Direction::Forward,
        )
        .count();
    assert!(pages > 0, "no pack was built");
}

/// Closing the last connection while the background thread builds a pack must release the
/// database at once: an application that closes and reopens (or a second process that
/// opens after this one closed) must not find it busy. The thread wakes every second, so
/// closes at spread-out moments after large commits land inside its builds.
#[test]
fn closing_while_a_pack_is_built_in_the_background_releases_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let c = Connection::open(&path).unwrap();
    c.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        .unwrap();
    drop(c);
    let mut rows = 0;
    for round in 0..6u64 {
        let c = Connection::open(&path)
            .unwrap_or_else(|e| panic!("reopening before round {round}: {e}"));
        c.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000) \
             INSERT INTO t SELECT ?1 + i, printf('%.40d', i) FROM n",
            [rows],
        )
        .unwrap();
        rows += 60_000;
        std::thread::sleep(std::time::Duration::from_millis(200 * round + 50));
        drop(c);
    }
    let c = Connection::open(&path).unwrap();
    let n: i64 = c
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, rows);
}
