//! The query memory budget (`[database] query_memory_mb`): sorts, hash aggregation, DISTINCT,
//! set operations and hash joins that outgrow it spill to temporary files and still give
//! SQLite's answers; what cannot spill fails with a memory-budget error; nothing is left
//! behind in the database directory.

use heliosdb_lite::{Config, Connection, Error};

const ROWS: i64 = 30_000;

/// A padded text column makes each row about 150 bytes: 30,000 rows are several times the
/// 1 MiB budget of the tight connection.
fn setup_sql() -> Vec<String> {
    let mut v = vec![
        "CREATE TABLE t(id INTEGER PRIMARY KEY, g INTEGER, k INTEGER, s TEXT)".to_string(),
        "CREATE TABLE u(id INTEGER PRIMARY KEY, k INTEGER, s TEXT)".to_string(),
    ];
    for i in 0..ROWS {
        v.push(format!(
            "INSERT INTO t VALUES ({i}, {}, {}, '{}-{:0>80}')",
            (i * 7919) % 5003,
            (i * 31) % 20011,
            i % 97,
            i
        ));
        if i % 2 == 0 {
            v.push(format!(
                "INSERT INTO u VALUES ({i}, {}, 'u{:0>60}')",
                (i * 17) % 20011,
                i
            ));
        }
    }
    v
}

fn open(dir: &std::path::Path, query_mb: u64) -> Connection {
    let mut config = Config::with_path(dir);
    config.database.query_memory_mb = Some(query_mb);
    config.database.enable_wal = false;
    let conn = Connection::open(config).unwrap();
    conn.execute_batch("BEGIN").unwrap();
    for s in setup_sql() {
        conn.execute(&s, []).unwrap();
    }
    conn.execute_batch("COMMIT").unwrap();
    conn
}

fn sqlite() -> rusqlite::Connection {
    let c = rusqlite::Connection::open_in_memory().unwrap();
    c.execute_batch("BEGIN").unwrap();
    for s in setup_sql() {
        c.execute(&s, []).unwrap();
    }
    c.execute_batch("COMMIT").unwrap();
    c
}

fn ours(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    let rows = stmt
        .query_map([], |r| {
            let mut cells = Vec::new();
            for i in 0..n {
                let v: heliosdb_lite::types::Value = r.get(i)?;
                cells.push(match v {
                    heliosdb_lite::types::Value::Null => "NULL".to_string(),
                    heliosdb_lite::types::Value::Integer(i) => i.to_string(),
                    heliosdb_lite::types::Value::Text(t) => t,
                    other => format!("{other:?}"),
                });
            }
            Ok(cells.join("|"))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows
}

fn theirs(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        let mut cells = Vec::new();
        for i in 0..n {
            cells.push(match r.get_ref(i)? {
                rusqlite::types::ValueRef::Null => "NULL".to_string(),
                rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                other => format!("{other:?}"),
            });
        }
        Ok(cells.join("|"))
    })
    .unwrap()
    .collect::<Result<Vec<_>, _>>()
    .unwrap()
}

fn spill_files(conn: &Connection, sql: &str) -> usize {
    let mut stmt = conn.prepare(&format!("EXPLAIN ANALYZE {sql}")).unwrap();
    let lines = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let last = lines.last().unwrap();
    let n = last.rsplit("spill files: ").next().unwrap();
    n.trim()
        .parse()
        .unwrap_or_else(|_| panic!("no spill count in {last:?}"))
}

/// Each query, with whether its row order is fixed (ORDER BY) and whether it must spill
/// under the tight budget.
const QUERIES: &[(&str, bool, bool)] = &[
    ("SELECT id, s FROM t ORDER BY s DESC, id", true, true),
    (
        "SELECT id, g FROM t ORDER BY g, id LIMIT 20 OFFSET 100",
        true,
        false,
    ),
    (
        "SELECT g, count(*), sum(k), min(s), max(id) FROM t GROUP BY g",
        true,
        true,
    ),
    (
        "SELECT g % 7, count(DISTINCT k % 300), count(*) FROM t GROUP BY g % 7",
        true,
        false,
    ),
    (
        "SELECT k, group_concat(id) FROM t WHERE id < 3000 GROUP BY k",
        true,
        false,
    ),
    ("SELECT DISTINCT k, g % 3 FROM t", false, true),
    ("SELECT k, s FROM t UNION SELECT k, s FROM u", true, true),
    ("SELECT k FROM t INTERSECT SELECT k FROM u", true, true),
    ("SELECT k FROM t EXCEPT SELECT k FROM u", true, true),
    // The build rows carry t.s: without it, 6,000 encoded build rows fit in 1 MiB.
    (
        "SELECT t.id, u.id, t.s FROM t JOIN u ON t.k = u.k WHERE t.id % 5 = 0",
        false,
        true,
    ),
    // The filtered u is the smaller side: the hash table holds it (built on the left).
    (
        "SELECT t.id, u.id, u.s FROM u JOIN t ON t.k = u.k WHERE u.id % 3 <> 1",
        false,
        true,
    ),
    (
        "SELECT t.id, u.s FROM t LEFT JOIN u ON t.k = u.k WHERE t.id % 3 = 0",
        false,
        true,
    ),
    (
        "SELECT count(*) FROM t WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.k = t.k)",
        true,
        true,
    ),
    (
        "SELECT count(*) FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.k = t.k AND u.s <> t.s)",
        true,
        true,
    ),
];

#[test]
fn spilled_operators_give_sqlites_answers() {
    let dir = tempfile::tempdir().unwrap();
    let tight = open(dir.path(), 1);
    let lite = sqlite();
    for &(sql, ordered, must_spill) in QUERIES {
        let mut got = ours(&tight, sql);
        let mut want = theirs(&lite, sql);
        assert!(!want.is_empty(), "{sql}: no rows to compare");
        if !ordered {
            got.sort();
            want.sort();
        }
        assert_eq!(got.len(), want.len(), "{sql}: row count");
        assert!(got == want, "{sql}: rows differ from SQLite's");
        let files = spill_files(&tight, sql);
        if must_spill {
            assert!(files > 0, "{sql}: expected to spill under a 1 MiB budget");
        }
    }
    // The files are unlinked when created: the spill folder holds nothing afterwards.
    let tmp = dir.path().join("tmp");
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "spill folder not empty: {left:?}");
}

#[test]
fn a_roomy_budget_does_not_spill() {
    let dir = tempfile::tempdir().unwrap();
    let roomy = open(dir.path(), 200);
    for &(sql, _, _) in QUERIES {
        assert_eq!(spill_files(&roomy, sql), 0, "{sql}");
    }
}

#[test]
fn what_cannot_spill_fails_with_a_memory_budget_error() {
    let dir = tempfile::tempdir().unwrap();
    let tight = open(dir.path(), 1);
    // Every row of t joins every row of u on one key value: no hash split can divide it.
    for sql in [
        "SELECT count(*) FROM t JOIN u ON t.id % 1 = u.id % 1",
        // An IN list is kept whole in memory.
        "SELECT count(*) FROM t WHERE s IN (SELECT s FROM t)",
        // So is one group's DISTINCT set (30,000 texts of 90 bytes).
        "SELECT count(DISTINCT s) FROM t",
    ] {
        let err = tight
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .unwrap_err();
        assert!(matches!(err, Error::MemoryBudget(_)), "{sql}: {err}");
        let text = err.to_string();
        assert!(
            text.contains("query exceeds the memory budget") && text.contains("query_memory_mb"),
            "{text}"
        );
    }
    // The connection and its data are fine afterwards.
    let n: i64 = tight
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, ROWS);
}

#[test]
fn the_budget_is_validated() {
    let mut config = Config::default();
    config.database.query_memory_mb = Some(0);
    let err = Connection::open(config).unwrap_err().to_string();
    assert!(err.contains("query_memory_mb"), "{err}");
    let mut config = Config::default();
    config.database.query_memory_mb = Some(config.database.memory_limit_mb + 1);
    let err = Connection::open(config).unwrap_err().to_string();
    assert!(err.contains("query_memory_mb"), "{err}");
}

#[test]
fn stray_spill_files_are_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path(), 1));
    // As if a process had died with a spill file it could not unlink.
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("stray"), b"left by a crash").unwrap();
    let conn = Connection::open(dir.path()).unwrap();
    assert!(!tmp.join("stray").exists());
    let n: i64 = conn
        .query_row("SELECT count(*) FROM u", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, ROWS / 2);
}
