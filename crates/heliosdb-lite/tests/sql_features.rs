//! SQL surface: constraints, conflict handling, views, schema changes and time-travel
//! introspection, each with its success and error cases.

use heliosdb_lite::types::Value;
use heliosdb_lite::{Connection, Error};

fn rows(conn: &Connection, sql: &str) -> Vec<Vec<Value>> {
    conn.prepare(sql)
        .unwrap()
        .query([])
        .unwrap()
        .into_values()
        .unwrap()
}

fn one(conn: &Connection, sql: &str) -> Value {
    rows(conn, sql).remove(0).remove(0)
}

#[test]
fn conflicts_upsert_and_returning() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL, n INTEGER DEFAULT 0)",
    )
    .unwrap();
    c.execute("INSERT INTO kv (k, v) VALUES ('a', 1)", [])
        .unwrap();
    assert!(matches!(
        c.execute("INSERT INTO kv (k, v) VALUES ('a', 2)", []),
        Err(Error::Constraint { .. })
    ));
    assert_eq!(
        c.execute("INSERT OR IGNORE INTO kv (k, v) VALUES ('a', 2)", [])
            .unwrap(),
        0
    );
    c.execute("INSERT OR REPLACE INTO kv (k, v) VALUES ('a', 3)", [])
        .unwrap();
    assert_eq!(one(&c, "SELECT v FROM kv WHERE k = 'a'"), Value::Integer(3));
    c.execute("INSERT INTO kv (k, v) VALUES ('a', 10) ON CONFLICT (k) DO UPDATE SET v = v + excluded.v, n = n + 1", []).unwrap();
    assert_eq!(
        rows(&c, "SELECT v, n FROM kv"),
        vec![vec![Value::Integer(13), Value::Integer(1)]]
    );
    c.execute(
        "INSERT INTO kv (k, v) VALUES ('a', 1) ON CONFLICT DO NOTHING",
        [],
    )
    .unwrap();
    let r = rows(&c, "UPDATE kv SET v = v * 2 RETURNING k, v");
    assert_eq!(r, vec![vec![Value::from("a"), Value::Integer(26)]]);
    let r = rows(&c, "DELETE FROM kv WHERE k = 'a' RETURNING v");
    assert_eq!(r, vec![vec![Value::Integer(26)]]);
    c.execute_batch("CREATE TABLE d (id INTEGER PRIMARY KEY, x INTEGER DEFAULT 42)")
        .unwrap();
    c.execute("INSERT INTO d DEFAULT VALUES", []).unwrap();
    assert_eq!(
        rows(&c, "SELECT id, x FROM d"),
        vec![vec![Value::Integer(1), Value::Integer(42)]]
    );
}

#[test]
fn check_unique_and_foreign_keys() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE p (id INTEGER PRIMARY KEY, email TEXT UNIQUE, age INTEGER CHECK (age >= 0));
         CREATE TABLE ch (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p(id));
         INSERT INTO p VALUES (1, 'a@x', 30);",
    )
    .unwrap();
    let e = c
        .execute("INSERT INTO p VALUES (2, 'b@x', -1)", [])
        .unwrap_err();
    assert!(e.to_string().contains("CHECK constraint failed: p"), "{e}");
    let e = c
        .execute("INSERT INTO p VALUES (2, 'a@x', 5)", [])
        .unwrap_err();
    assert!(
        e.to_string().contains("UNIQUE constraint failed: p.email"),
        "{e}"
    );
    let e = c.execute("INSERT INTO ch VALUES (1, 99)", []).unwrap_err();
    assert!(e.to_string().contains("FOREIGN KEY"), "{e}");
    c.execute("INSERT INTO ch VALUES (1, 1)", []).unwrap();
    let e = c.execute("DELETE FROM p WHERE id = 1", []).unwrap_err();
    assert!(e.to_string().contains("FOREIGN KEY"), "{e}");
    let e = c
        .execute("UPDATE p SET id = 5 WHERE id = 1", [])
        .unwrap_err();
    assert!(e.to_string().contains("FOREIGN KEY"), "{e}");
    c.execute("DELETE FROM ch", []).unwrap();
    c.execute("DELETE FROM p WHERE id = 1", []).unwrap();
}

#[test]
fn views_ctes_and_set_operations_with_time_travel() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER);
         INSERT INTO t VALUES (1, 10), (2, 20);
         CREATE VIEW big AS SELECT id, v FROM t WHERE v > 15;",
    )
    .unwrap();
    let before: i64 = c
        .query_row("SELECT current_scn()", [], |r| r.get(0))
        .unwrap();
    c.execute("UPDATE t SET v = 100 WHERE id = 1", []).unwrap();
    assert_eq!(one(&c, "SELECT count(*) FROM big"), Value::Integer(2));
    assert_eq!(
        one(&c, &format!("SELECT count(*) FROM big AS OF SCN {before}")),
        Value::Integer(1)
    );
    let r = rows(&c, &format!(
        "WITH old AS (SELECT * FROM t AS OF SCN {before}) SELECT t.id, old.v, t.v FROM t JOIN old USING (id) ORDER BY 1"
    ));
    assert_eq!(
        r[0],
        vec![Value::Integer(1), Value::Integer(10), Value::Integer(100)]
    );
    let r = rows(
        &c,
        &format!("SELECT v FROM t UNION SELECT v FROM t AS OF SCN {before} ORDER BY 1"),
    );
    assert_eq!(r.len(), 3);
    // Restore a row from the past with INSERT ... SELECT ... AS OF.
    c.execute("DELETE FROM t WHERE id = 2", []).unwrap();
    c.execute(
        &format!("INSERT INTO t SELECT * FROM t AS OF SCN {before} WHERE id = 2"),
        [],
    )
    .unwrap();
    assert_eq!(one(&c, "SELECT v FROM t WHERE id = 2"), Value::Integer(20));
    // History is read-only.
    for sql in [
        format!("UPDATE t AS OF SCN {before} SET v = 0"),
        format!("DELETE FROM t AS OF SCN {before}"),
        format!("INSERT INTO t AS OF SCN {before} VALUES (9, 9)"),
    ] {
        assert!(c.execute(&sql, []).is_err(), "{sql}");
    }
    assert_eq!(one(&c, "SELECT count(*) FROM t"), Value::Integer(2));
    let plan = rows(&c, "EXPLAIN SELECT v FROM t WHERE id = 2");
    assert!(
        plan.iter()
            .any(|l| l[0].to_string().contains("SEARCH t USING PRIMARY KEY")),
        "{plan:?}"
    );
}

#[test]
fn schema_changes_are_versioned() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT); INSERT INTO t VALUES (1, 'x');",
    )
    .unwrap();
    let s1: i64 = c
        .query_row("SELECT current_scn()", [], |r| r.get(0))
        .unwrap();
    c.execute("ALTER TABLE t ADD COLUMN b INTEGER DEFAULT 7", [])
        .unwrap();
    assert_eq!(
        rows(&c, "SELECT id, a, b FROM t"),
        vec![vec![Value::Integer(1), Value::from("x"), Value::Integer(7)]]
    );
    // The past has the past's columns.
    assert_eq!(
        rows(&c, &format!("SELECT * FROM t AS OF SCN {s1}")),
        vec![vec![Value::Integer(1), Value::from("x")]]
    );
    assert!(matches!(
        c.query_row(&format!("SELECT b FROM t AS OF SCN {s1}"), [], |_| Ok(())),
        Err(Error::NoSuchColumn(_))
    ));
    c.execute("ALTER TABLE t RENAME TO u", []).unwrap();
    assert_eq!(one(&c, "SELECT count(*) FROM u"), Value::Integer(1));
    assert!(matches!(
        c.query_row("SELECT * FROM t", [], |_| Ok(())),
        Err(Error::NoSuchTable(_))
    ));
    c.execute("DROP TABLE u", []).unwrap();
    assert_eq!(
        one(&c, &format!("SELECT a FROM t AS OF SCN {s1}")),
        Value::from("x"),
        "dropped tables stay readable in the past"
    );
}

#[test]
fn time_travel_functions_and_errors() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
        .unwrap();
    let scn: i64 = c
        .query_row("SELECT current_scn()", [], |r| r.get(0))
        .unwrap();
    let ts: String = c
        .query_row("SELECT scn_to_timestamp(?)", [scn], |r| r.get(0))
        .unwrap();
    let back: i64 = c
        .query_row("SELECT timestamp_to_scn(?)", [&ts], |r| r.get(0))
        .unwrap();
    assert_eq!(back, scn);
    let txn: i64 = c
        .query_row("SELECT last_txn_id()", [], |r| r.get(0))
        .unwrap();
    assert_eq!(txn as u64, c.last_txn_id().unwrap());
    for bad in [
        "SELECT * FROM t AS OF SCN -1",
        "SELECT * FROM t AS OF SCN 'abc'",
        "SELECT * FROM t AS OF TIMESTAMP 'not a time'",
        "SELECT * FROM t AS OF TRANSACTION 999",
        "SELECT * FROM t AS OF TIMESTAMP '2999-01-01'",
    ] {
        assert!(c.query_row(bad, [], |_| Ok(())).is_err(), "{bad}");
    }
    let r = rows(
        &c,
        "SELECT * FROM t AS OF TIMESTAMP now() - INTERVAL '0 seconds'",
    );
    assert_eq!(r.len(), 1);
    let gc = rows(&c, "VACUUM HISTORY");
    assert_eq!(gc[0].len(), 5);
    let e = c
        .prepare("SELECT * FROM t WHERE x = ?")
        .unwrap()
        .query([1, 2])
        .unwrap_err();
    assert!(matches!(e, Error::Parameter(_)), "{e}");
    // Parameters are values, never SQL.
    let n: i64 = c
        .query_row("SELECT count(*) FROM t WHERE x = ?", ["1 OR 1=1"], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn date_time_columns_read_as_timestamp_values() {
    use chrono::{NaiveDate, NaiveDateTime};
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE ev (id INTEGER PRIMARY KEY, at TIMESTAMP, day DATE, note TEXT, n INTEGER)",
    )
    .unwrap();
    let at = NaiveDate::from_ymd_opt(2024, 12, 31)
        .unwrap()
        .and_hms_micro_opt(23, 59, 59, 250_000)
        .unwrap();
    // A Timestamp parameter is stored as its text, as SQLite stores date-times.
    c.execute(
        "INSERT INTO ev VALUES (1, ?1, '2024-06-01', '2024-06-01 10:00:00', 5)",
        [Value::Timestamp(at)],
    )
    .unwrap();
    c.execute("INSERT INTO ev VALUES (2, 'not a date', NULL, 'x', 6)", [])
        .unwrap();
    assert_eq!(
        one(&c, "SELECT typeof(at) FROM ev WHERE id = 1"),
        Value::Text("text".into())
    );
    let mut stmt = c
        .prepare("SELECT at, day, note, n, at AS renamed, upper(at) FROM ev ORDER BY id")
        .unwrap();
    let got: Vec<Vec<Value>> = stmt
        .query_map([], |r| (0..6).map(|i| r.get::<_, Value>(i)).collect())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let midnight = NaiveDate::from_ymd_opt(2024, 6, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    assert_eq!(
        got[0],
        vec![
            Value::Timestamp(at),
            Value::Timestamp(midnight),
            // Text columns stay text even when they hold a date.
            Value::Text("2024-06-01 10:00:00".into()),
            Value::Integer(5),
            Value::Timestamp(at),
            // An expression over the column is no longer the column.
            Value::Text("2024-12-31 23:59:59.250000".into()),
        ]
    );
    // Text that is not a date-time stays text; NULL stays NULL.
    assert_eq!(got[1][0], Value::Text("not a date".into()));
    assert_eq!(got[1][1], Value::Null);
    // Typed reads are unchanged.
    let (s, t, d): (String, NaiveDateTime, Option<NaiveDate>) = c
        .query_row("SELECT at, at, day FROM ev WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(s, "2024-12-31 23:59:59.250000");
    assert_eq!(t, at);
    assert_eq!(d, Some(NaiveDate::from_ymd_opt(2024, 6, 1).unwrap()));
    // A Timestamp parameter compares with the stored text.
    let n: i64 = c
        .query_row(
            "SELECT n FROM ev WHERE at = ?1",
            [Value::Timestamp(at)],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 5);
    // The snapshot list's commit times are date-times too.
    let committed: Value = c
        .query_row(
            "SELECT committed_at FROM helios_snapshots ORDER BY scn DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(matches!(committed, Value::Timestamp(_)), "{committed:?}");
}
