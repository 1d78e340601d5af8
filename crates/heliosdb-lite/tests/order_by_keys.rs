//! ORDER BY answered from key or index order (no sort) must give exactly what a sort gives:
//! every query here runs on HeliosDB-Lite and on SQLite over the same random data, with
//! NULLs, ties, ascending and descending indexes, ranges, LIMIT and OFFSET, now and AS OF.

use heliosdb_lite::types::Value;
use heliosdb_lite::Connection;

fn sqlite_rows(c: &rusqlite::Connection, sql: &str) -> Vec<Vec<Value>> {
    let mut stmt = c.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| {
                Ok(match r.get::<_, rusqlite::types::Value>(i)? {
                    rusqlite::types::Value::Null => Value::Null,
                    rusqlite::types::Value::Integer(v) => Value::Integer(v),
                    rusqlite::types::Value::Real(v) => Value::Real(v),
                    rusqlite::types::Value::Text(v) => Value::Text(v),
                    rusqlite::types::Value::Blob(v) => Value::Blob(v),
                })
            })
            .collect()
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn ours(c: &Connection, sql: &str) -> Vec<Vec<Value>> {
    c.prepare(sql)
        .unwrap()
        .query([])
        .unwrap()
        .into_values()
        .unwrap()
}

fn plan(c: &Connection, sql: &str) -> String {
    ours(c, &format!("EXPLAIN {sql}"))
        .into_iter()
        .map(|r| r[0].to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

const SCHEMA: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, s TEXT, r REAL);
    CREATE INDEX t_k ON t(k);
    CREATE INDEX t_s_desc ON t(s DESC);
    CREATE TABLE c (a INTEGER, b TEXT, v INTEGER, PRIMARY KEY (a, b));";

#[test]
fn key_order_matches_sorting() {
    let helios = Connection::open_in_memory().unwrap();
    let lite = rusqlite::Connection::open_in_memory().unwrap();
    helios.execute_batch(SCHEMA).unwrap();
    lite.execute_batch(SCHEMA).unwrap();
    // Deterministic pseudo-random rows, with NULLs and ties in every column.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    let mut inserts = Vec::new();
    for id in 1..=300 {
        let k = match next(10) {
            0 => "NULL".to_string(),
            _ => (next(40) as i64 - 20).to_string(),
        };
        let s = match next(8) {
            0 => "NULL".to_string(),
            _ => format!(
                "'{}'",
                ["ant", "bee", "cat", "Dog", "eel", ""][next(6) as usize]
            ),
        };
        let r = if next(5) == 0 {
            "NULL".to_string()
        } else {
            format!("{}.5", next(100))
        };
        inserts.push(format!("INSERT INTO t VALUES ({id}, {k}, {s}, {r});"));
        inserts.push(format!(
            "INSERT OR IGNORE INTO c VALUES ({}, '{}', {id});",
            next(15),
            ["x", "y", "z"][next(3) as usize]
        ));
    }
    let batch = inserts.join("\n");
    helios.execute_batch(&batch).unwrap();
    lite.execute_batch(&batch).unwrap();
    let before: i64 = helios
        .query_row("SELECT current_scn()", [], |r| r.get(0))
        .unwrap();
    // Later changes, so the historical queries see different data than the current ones.
    let later = "UPDATE t SET k = k + 1 WHERE id % 3 = 0; DELETE FROM t WHERE id % 7 = 0;";
    helios.execute_batch(later).unwrap();

    let queries = [
        "SELECT id, k FROM t ORDER BY id LIMIT 7",
        "SELECT id, k FROM t ORDER BY id DESC LIMIT 7",
        "SELECT id, k FROM t ORDER BY id DESC LIMIT 5 OFFSET 11",
        "SELECT id FROM t WHERE id BETWEEN 40 AND 90 ORDER BY id DESC",
        "SELECT id FROM t WHERE id > 250 ORDER BY id LIMIT 3",
        "SELECT id, k FROM t ORDER BY k, id",
        "SELECT id, k FROM t ORDER BY k, id LIMIT 9",
        "SELECT id, k FROM t ORDER BY k DESC, id DESC LIMIT 9",
        "SELECT id, k FROM t ORDER BY k DESC, id LIMIT 9",
        "SELECT id, k FROM t ORDER BY k NULLS LAST, id LIMIT 9",
        "SELECT id, k FROM t WHERE k = 3 ORDER BY id DESC",
        "SELECT id, k FROM t WHERE k > 5 ORDER BY k, id LIMIT 6",
        "SELECT id, k FROM t WHERE k < 0 ORDER BY k DESC, id DESC LIMIT 6 OFFSET 2",
        "SELECT id, s FROM t ORDER BY s DESC, id LIMIT 12",
        "SELECT id, s FROM t ORDER BY s, id DESC LIMIT 12",
        "SELECT id, s FROM t WHERE s >= 'bee' ORDER BY s DESC, id",
        "SELECT id, r FROM t ORDER BY r, id LIMIT 8",
        "SELECT k, count(*) FROM t GROUP BY k ORDER BY k LIMIT 5",
        "SELECT DISTINCT k FROM t ORDER BY k LIMIT 5",
        "SELECT id FROM t LIMIT 0",
        "SELECT a, b, v FROM c ORDER BY a, b LIMIT 10",
        "SELECT a, b, v FROM c ORDER BY a DESC, b DESC LIMIT 10",
        "SELECT a, b FROM c WHERE a = 4 ORDER BY b DESC",
        "SELECT a, b FROM c ORDER BY a, b DESC LIMIT 10",
        "SELECT t.id, c.v FROM t JOIN c ON c.v = t.id ORDER BY t.id DESC LIMIT 4",
    ];
    let mut ordered_plans = 0;
    for q in queries {
        let mut expected = sqlite_rows(&lite, q);
        if q.contains("LIMIT 0") {
            expected.clear();
        }
        // AS OF the point before the later changes: SQLite still holds exactly that data.
        let historical = q
            .replacen("FROM t ", &format!("FROM t AS OF SCN {before} "), 1)
            .replacen("FROM c ", &format!("FROM c AS OF SCN {before} "), 1);
        assert_eq!(
            ours(&helios, &historical),
            expected,
            "{historical}\nplan:\n{}",
            plan(&helios, &historical)
        );
        if plan(&helios, q).contains("(no sort)") {
            ordered_plans += 1;
        }
    }
    lite.execute_batch(later).unwrap();
    for q in queries {
        assert_eq!(
            ours(&helios, q),
            sqlite_rows(&lite, q),
            "{q}\nplan:\n{}",
            plan(&helios, q)
        );
    }
    assert!(
        ordered_plans >= 15,
        "only {ordered_plans} queries used key order"
    );
}

#[test]
fn explain_shows_when_the_sort_is_skipped() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(SCHEMA).unwrap();
    let p = plan(&c, "SELECT * FROM t ORDER BY id DESC LIMIT 3");
    assert!(
        p.contains("IN REVERSE KEY ORDER (no sort) UNTIL LIMIT"),
        "{p}"
    );
    assert!(!p.contains("SORT"), "{p}");
    let p = plan(&c, "SELECT * FROM t ORDER BY k LIMIT 3");
    assert!(p.contains("USING INDEX t_k IN KEY ORDER"), "{p}");
    // Without a LIMIT a sort beats a lookup per index entry.
    let p = plan(&c, "SELECT * FROM t ORDER BY k");
    assert!(p.contains("SORT"), "{p}");
    let p = plan(&c, "SELECT * FROM t ORDER BY r LIMIT 3");
    assert!(p.contains("SORT"), "{p}");
}

/// A column without affinity keeps 2 and 2.0 apart, and the key encoding sorts numbers by
/// value, then by type: in key order the later columns restart after each type of a tie,
/// where SQLite (2 = 2.0) orders them across it. Such orders take a sort. Found by the DML
/// differential campaign (seed 17): `INSERT OR REPLACE ... SELECT ... ORDER BY a, b` kept
/// the wrong one of two rows.
#[test]
fn integer_and_real_ties_are_ordered_by_the_next_column_as_sqlite_orders_them() {
    let schema = "CREATE TABLE t1 (a, b, c, PRIMARY KEY (a, b));
        CREATE TABLE t2 (a, b, c); CREATE INDEX t2_ab ON t2(a, b);
        CREATE TABLE t3 (a INTEGER, b, c); CREATE INDEX t3_ab ON t3(a, b);
        CREATE TABLE t4 (a, b, c); CREATE INDEX t4_e ON t4(a + 0, b);";
    let helios = Connection::open_in_memory().unwrap();
    let lite = rusqlite::Connection::open_in_memory().unwrap();
    helios.execute_batch(schema).unwrap();
    lite.execute_batch(schema).unwrap();
    for t in ["t1", "t2", "t3", "t4"] {
        let rows = format!(
            "INSERT INTO {t} VALUES (2, -2, 'i'), (2.0, 2, 'r'), (2, 7, 'i'), (2.0, 1, 'r'),
             (1, 9, 'i'), (3.0, 0, 'r'), (3, 5, 'i'), (2.5, 4, 'r'), ('x', 1, 't')"
        );
        helios.execute_batch(&rows).unwrap();
        lite.execute_batch(&rows).unwrap();
        for q in [
            format!("SELECT a, b, c FROM {t} ORDER BY a, b"),
            format!("SELECT a, b, c FROM {t} ORDER BY a DESC, b DESC"),
            format!("SELECT a, b, c FROM {t} WHERE a = 2 ORDER BY b"),
            format!("SELECT a, b, c FROM {t} WHERE a >= 2 ORDER BY a, b LIMIT 4"),
            format!("SELECT a, b, c FROM {t} ORDER BY a + 0, b"),
        ] {
            assert_eq!(ours(&helios, &q), sqlite_rows(&lite, &q), "{q}");
        }
    }
    // With integer affinity 2.0 is stored as 2: the index order still answers.
    let p = plan(&helios, "SELECT a, b FROM t3 ORDER BY a, b LIMIT 3");
    assert!(p.contains("INDEX t3_ab IN KEY ORDER (no sort)"), "{p}");
    let p = plan(&helios, "SELECT a, b FROM t2 ORDER BY a, b LIMIT 3");
    assert!(p.contains("SORT"), "{p}");
}
