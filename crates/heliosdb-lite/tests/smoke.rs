//! Smoke tests of the SQL surface and time travel.
use heliosdb_lite::types::Value;
use heliosdb_lite::Connection;

fn rows(conn: &Connection, sql: &str) -> Vec<Vec<Value>> {
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query([]).unwrap().into_values().unwrap()
}

#[test]
fn basics() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, bal DECIMAL(10,2));
         INSERT INTO t (name, score, bal) VALUES ('a', 1.5, 10.10), ('b', 2, 20), ('c', NULL, 0.3);
         CREATE INDEX t_name ON t(name);",
    )
    .unwrap();
    assert_eq!(conn.last_insert_rowid(), 3);
    let r = rows(&conn, "SELECT id, name, score, bal FROM t ORDER BY id DESC");
    assert_eq!(r.len(), 3);
    assert_eq!(r[0][1], Value::from("c"));
    let r = rows(
        &conn,
        "SELECT sum(bal), count(*), avg(score), max(name) FROM t",
    );
    assert_eq!(r[0][0].to_string(), "30.40");
    assert_eq!(r[0][1], Value::Integer(3));
    let n: i64 = conn
        .query_row("SELECT id FROM t WHERE name = ?", ["b"], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        conn.execute("UPDATE t SET score = score * 2 WHERE id >= 2", [])
            .unwrap(),
        2
    );
    assert_eq!(
        conn.execute("DELETE FROM t WHERE name = 'a'", []).unwrap(),
        1
    );
    let r = rows(&conn, "SELECT name, score FROM t ORDER BY name");
    assert_eq!(
        r,
        vec![
            vec![Value::from("b"), Value::Real(4.0)],
            vec![Value::from("c"), Value::Null]
        ]
    );
    let err = conn
        .execute("INSERT INTO t (id, name) VALUES (2, 'x')", [])
        .unwrap_err();
    assert!(
        err.to_string().contains("UNIQUE constraint failed: t.id"),
        "{err}"
    );
    let err = conn
        .execute("INSERT INTO t (name) VALUES (NULL)", [])
        .unwrap_err();
    assert!(err.to_string().contains("NOT NULL"), "{err}");
    let r = rows(
        &conn,
        "SELECT name, count(*) FROM t GROUP BY name HAVING count(*) > 0 ORDER BY 1",
    );
    assert_eq!(r.len(), 2);
    let r = rows(&conn, "SELECT a.name, b.name FROM t a JOIN t b ON a.id = b.id WHERE a.id IN (SELECT id FROM t WHERE id > 2)");
    assert_eq!(r, vec![vec![Value::from("c"), Value::from("c")]]);
}

#[test]
fn time_travel() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute("CREATE TABLE acc (id INTEGER PRIMARY KEY, bal INTEGER)", [])
        .unwrap();
    conn.execute("INSERT INTO acc VALUES (1, 100)", []).unwrap();
    let scn: i64 = conn
        .query_row("SELECT current_scn()", [], |r| r.get(0))
        .unwrap();
    let txn = conn.last_txn_id().unwrap();
    conn.execute("UPDATE acc SET bal = 50 WHERE id = 1", [])
        .unwrap();
    let old: i64 = conn
        .query_row("SELECT bal FROM acc AS OF SCN ? WHERE id = 1", [scn], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(old, 100);
    let old: i64 = conn
        .query_row(
            &format!("SELECT bal FROM acc AS OF TRANSACTION {txn} WHERE id = 1"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 100);
    let r = rows(
        &conn,
        "SELECT c.bal, h.bal FROM acc c JOIN acc AS OF SCN 2 h ON c.id = h.id",
    );
    assert_eq!(r, vec![vec![Value::Integer(50), Value::Integer(100)]]);
    let e = conn
        .query_row("SELECT * FROM acc AS OF SCN 0", [], |_| Ok(()))
        .unwrap_err();
    assert!(e.to_string().contains("did not exist"), "{e}");
    let e = conn
        .query_row("SELECT * FROM acc AS OF SCN 99", [], |_| Ok(()))
        .unwrap_err();
    assert!(e.to_string().contains("future"), "{e}");
    let r = rows(&conn, "SELECT scn FROM helios_snapshots ORDER BY scn");
    assert_eq!(r.len(), 3);
}

#[test]
fn statement_metadata_before_execution() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE t (a INTEGER, b TEXT)")
        .unwrap();
    let stmt = conn
        .prepare("SELECT a, b AS bee, a + 1 FROM t WHERE a = ?")
        .unwrap();
    assert_eq!(stmt.column_count(), 3);
    assert_eq!(stmt.column_names(), vec!["a", "bee", "a + 1"]);
    assert_eq!(stmt.parameter_count(), 1);
    let stmt = conn.prepare("INSERT INTO t VALUES (1, 'x')").unwrap();
    assert_eq!(stmt.column_count(), 0);
    assert_eq!(
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        0,
        "describing a statement does not run it"
    );
}
