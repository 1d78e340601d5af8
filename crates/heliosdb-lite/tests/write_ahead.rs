//! Rows written ahead of their commit by a helper thread (`mvcc::ahead`), with the hand-over
//! threshold lowered to a few rows so that nearly every statement of a transaction hands
//! rows over: differential against SQLite, inside the transactions (reads of rows in flight,
//! updates and deletes of rows already handed over, duplicate keys, savepoints rolled back
//! across hand-overs, whole transactions rolled back) and after them (now, `AS OF` every
//! earlier commit, through the packed copy of a tracked table whose change log must name the
//! rows written ahead).

use heliosdb_lite::{Config, Connection};
use std::path::Path;

mod support;
use support::{helios_text, private_entries, sqlite_text, Rng};

/// Queries compared after every step, each folded into one text.
const QUERIES: &[&str] = &[
    "SELECT count(*) || '|' || sum(g) || '|' || sum(length(v)) || '|' || max(id) FROM t{AS_OF}",
    "SELECT group_concat(id || ':' || g, ',') FROM \
     (SELECT id, g FROM t{AS_OF} WHERE id + 0 > 5990 ORDER BY id)",
    "SELECT group_concat(id, ',') FROM (SELECT id FROM t{AS_OF} WHERE g = 7 ORDER BY id)",
    "SELECT count(*) || '|' || sum(id) FROM t{AS_OF} WHERE g + 0 >= -1000000",
    "SELECT count(*) || '|' || sum(id) || '|' || sum(length(v)) FROM plain{AS_OF}",
    "SELECT group_concat(id || v, ',') FROM (SELECT id, v FROM plain{AS_OF} WHERE id > 5990)",
];

fn open(dir: &Path, write_ahead: usize) -> Connection {
    let mut c = Config::with_path(dir.join("db"));
    c.database.enable_wal = false;
    c.write_ahead_keys = Some(write_ahead);
    Connection::open(c).unwrap()
}

fn compare(h: &Connection, s: &rusqlite::Connection, at: &str) -> Vec<String> {
    QUERIES
        .iter()
        .map(|q| {
            let sql = q.replace("{AS_OF}", "");
            let want = sqlite_text(s, &sql);
            assert_eq!(helios_text(h, &sql), want, "{at}: {sql}");
            want
        })
        .collect()
}

fn integrity(h: &Connection, at: &str) {
    let check: String = h
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok", "{at}");
}

/// Runs `sql` on both; both must fail alike or succeed alike.
fn both(h: &Connection, s: &rusqlite::Connection, sql: &str) {
    let a = h.execute_batch(sql);
    let b = s.execute_batch(sql);
    assert_eq!(a.is_ok(), b.is_ok(), "{sql}: ours {a:?}, SQLite's {b:?}");
}

#[test]
fn transactions_writing_ahead_agree_with_sqlite_inside_and_after() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path(), 2);
    let s = rusqlite::Connection::open_in_memory().unwrap();
    let schema = "CREATE TABLE t(id INTEGER PRIMARY KEY, g INTEGER, v TEXT);
                  CREATE INDEX t_g ON t(g);
                  CREATE TABLE plain(id INTEGER PRIMARY KEY, v TEXT)";
    h.execute_batch(schema).unwrap();
    s.execute_batch(schema).unwrap();
    // Past the tracking threshold: `t` keeps a change log and gets a pack at checkpoints.
    let load = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000) \
                INSERT INTO t SELECT i, (i * 7919) % 100, 'row ' || i FROM n";
    let load_plain =
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000) \
                      INSERT INTO plain SELECT i, 'p' || i FROM n";
    for sql in [load, load_plain] {
        h.execute(sql, []).unwrap();
        s.execute(sql, []).unwrap();
    }
    h.checkpoint().unwrap();
    let other = h.another_connection();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut next_id = 6000u64;
    let mut next_plain = 6000u64;
    let mut points = Vec::new();
    for round in 0..40 {
        let before = helios_text(&h, "SELECT count(*) || '' FROM t");
        both(&h, &s, "BEGIN");
        let mut savepoint = false;
        let steps = 5 + rng.below(60);
        for step in 0..steps {
            let at = format!("round {round} step {step}");
            let sql = match rng.below(20) {
                // Rows of a table without an index: they form the run of appended keys.
                0..=4 => {
                    next_plain += 1;
                    format!("INSERT INTO plain VALUES ({next_plain}, 'p{round}')")
                }
                5..=8 => {
                    next_id += 1;
                    let g = rng.below(100);
                    format!("INSERT INTO t VALUES ({next_id}, {g}, 'new {round} {step}')")
                }
                9 => format!(
                    "UPDATE plain SET v = v || '+' WHERE id = {}",
                    next_plain.saturating_sub(rng.below(8))
                ),
                10 => format!(
                    "DELETE FROM plain WHERE id = {}",
                    next_plain.saturating_sub(rng.below(8))
                ),
                11 => format!(
                    "INSERT INTO plain VALUES ({}, 'dup')",
                    next_plain.saturating_sub(rng.below(8))
                ),
                // Rows of this transaction, likely handed over already.
                12 => format!(
                    "UPDATE t SET g = g + 1, v = v || '+' WHERE id = {}",
                    next_id.saturating_sub(rng.below(8))
                ),
                13 => format!(
                    "DELETE FROM t WHERE id = {}",
                    next_id.saturating_sub(rng.below(8))
                ),
                // A key that exists (maybe only as a row written ahead): both refuse it.
                14 => format!(
                    "INSERT INTO t VALUES ({}, 1, 'dup')",
                    next_id.saturating_sub(rng.below(8))
                ),
                15 => format!(
                    "UPDATE t SET g = {} WHERE id = {}",
                    rng.below(100),
                    1 + rng.below(6000)
                ),
                16 if !savepoint => {
                    savepoint = true;
                    "SAVEPOINT sp".to_string()
                }
                16 | 17 if savepoint => {
                    savepoint = false;
                    if rng.below(2) == 0 {
                        "ROLLBACK TO sp; RELEASE sp".to_string()
                    } else {
                        "RELEASE sp".to_string()
                    }
                }
                _ => {
                    compare(&h, &s, &at);
                    let id = next_id.saturating_sub(rng.below(4));
                    let sql =
                        format!("SELECT coalesce((SELECT g || v FROM t WHERE id = {id}), 'none')");
                    assert_eq!(helios_text(&h, &sql), sqlite_text(&s, &sql), "{at}: {sql}");
                    let id = next_plain.saturating_sub(rng.below(4));
                    let sql =
                        format!("SELECT coalesce((SELECT v FROM plain WHERE id = {id}), 'none')");
                    assert_eq!(helios_text(&h, &sql), sqlite_text(&s, &sql), "{at}: {sql}");
                    continue;
                }
            };
            both(&h, &s, &sql);
        }
        // Nobody else sees the rows written ahead before the commit.
        assert_eq!(helios_text(&other, "SELECT count(*) || '' FROM t"), before);
        if rng.below(5) == 0 {
            both(&h, &s, "ROLLBACK");
            next_id = helios_text(&h, "SELECT max(id) || '' FROM t")
                .parse()
                .unwrap();
            next_plain = helios_text(&h, "SELECT coalesce(max(id), 0) || '' FROM plain")
                .parse()
                .unwrap();
        } else {
            both(&h, &s, "COMMIT");
        }
        let at = format!("round {round} after");
        let scn: i64 = h
            .query_row("SELECT current_scn()", [], |r| r.get(0))
            .unwrap();
        points.push((scn, compare(&h, &s, &at)));
        if round % 4 == 3 {
            h.checkpoint().unwrap();
            integrity(&h, &at);
        }
    }
    h.checkpoint().unwrap();
    integrity(&h, "end");
    for (scn, expected) in &points {
        for (q, want) in QUERIES.iter().zip(expected) {
            let sql = q.replace("{AS_OF}", &format!(" AS OF SCN {scn}"));
            assert_eq!(&helios_text(&h, &sql), want, "{sql}");
        }
    }
    // Nothing of any transaction is left in the private range.
    assert_eq!(private_entries(&h), 0);
}

#[test]
fn a_rolled_back_or_dropped_transaction_takes_back_its_rows_written_ahead() {
    let dir = tempfile::tempdir().unwrap();
    {
        let h = open(dir.path(), 2);
        h.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
            .unwrap();
        h.execute_batch("BEGIN").unwrap();
        for i in 1..=500 {
            h.execute("INSERT INTO t VALUES (?1, 'x')", [i]).unwrap();
        }
        assert_eq!(helios_text(&h, "SELECT count(*) || '' FROM t"), "500");
        h.execute_batch("ROLLBACK").unwrap();
        assert_eq!(helios_text(&h, "SELECT count(*) || '' FROM t"), "0");
        // The same keys again, committed this time; then a transaction left open at close.
        h.execute_batch("BEGIN").unwrap();
        for i in 1..=300 {
            h.execute("INSERT INTO t VALUES (?1, 'y')", [i]).unwrap();
        }
        h.execute_batch("COMMIT; BEGIN").unwrap();
        for i in 301..=600 {
            h.execute("INSERT INTO t VALUES (?1, 'z')", [i]).unwrap();
        }
    }
    let h = open(dir.path(), 2);
    assert_eq!(
        helios_text(&h, "SELECT count(*) || '|' || min(v) || max(v) FROM t"),
        "300|yy"
    );
    integrity(&h, "reopened");
}
