//! Prepared INSERT / UPDATE / DELETE keep their bound form between executions: these tests
//! check that a reused statement follows every schema change, and that an UPDATE which
//! leaves indexed columns alone keeps the indexes right now and in the past.

use heliosdb_lite::types::Value;
use heliosdb_lite::{Connection, Error};

fn all(conn: &Connection, sql: &str) -> Vec<Vec<Value>> {
    conn.prepare(sql)
        .unwrap()
        .query([])
        .unwrap()
        .into_values()
        .unwrap()
}

fn int(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn reused_statements_follow_schema_changes() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
        .unwrap();
    let mut ins = c.prepare("INSERT INTO t VALUES (?1, ?2)").unwrap();
    let mut upd = c.prepare("UPDATE t SET v = v + ?1 WHERE id = ?2").unwrap();
    let mut del = c.prepare("DELETE FROM t WHERE id = ?1").unwrap();
    ins.execute((1, 10)).unwrap();
    ins.execute((2, 20)).unwrap();
    assert_eq!(upd.execute((5, 1)).unwrap(), 1);

    // A new column with a default: the cached INSERT must now fill it.
    c.execute_batch("ALTER TABLE t ADD COLUMN note TEXT DEFAULT 'n/a'")
        .unwrap();
    ins.execute((3, 30)).unwrap_err(); // three columns now, two values: SQLite's error
    let mut ins3 = c.prepare("INSERT INTO t (id, v) VALUES (?1, ?2)").unwrap();
    ins3.execute((3, 30)).unwrap();
    assert_eq!(
        all(&c, "SELECT note FROM t WHERE id = 3"),
        vec![vec![Value::Text("n/a".into())]]
    );

    // A CHECK arriving with a new table of the same name is enforced by the old statement.
    c.execute_batch(
        "DROP TABLE t; CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER CHECK (v < 100))",
    )
    .unwrap();
    assert!(matches!(
        c.execute("INSERT INTO t VALUES (1, 500)", []),
        Err(Error::Constraint { .. })
    ));
    c.execute("INSERT INTO t VALUES (1, 50)", []).unwrap();
    assert!(matches!(
        upd.execute((60, 1)),
        Err(Error::Constraint { .. })
    ));
    assert_eq!(upd.execute((1, 1)).unwrap(), 1);

    // A trigger created after the statement was first run fires for it.
    c.execute_batch(
        "CREATE TABLE log (what TEXT);
         CREATE TRIGGER t_del AFTER DELETE ON t BEGIN INSERT INTO log VALUES ('deleted ' || old.id); END",
    )
    .unwrap();
    assert_eq!(del.execute([1]).unwrap(), 1);
    assert_eq!(
        all(&c, "SELECT what FROM log"),
        vec![vec![Value::Text("deleted 1".into())]]
    );

    // A dropped table is an error, not a write through a stale plan.
    c.execute_batch("DROP TABLE t").unwrap();
    assert!(matches!(del.execute([1]), Err(Error::NoSuchTable(_))));
}

#[test]
fn reused_statements_inside_one_transaction_with_ddl() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
        .unwrap();
    let tx = c.transaction().unwrap();
    let mut ins = tx.prepare("INSERT INTO t (id, v) VALUES (?1, ?2)").unwrap();
    ins.execute((1, 1)).unwrap();
    tx.execute_batch("CREATE UNIQUE INDEX t_v ON t(v)").unwrap();
    // The uncommitted index is enforced at once.
    assert!(matches!(ins.execute((2, 1)), Err(Error::Constraint { .. })));
    ins.execute((2, 2)).unwrap();
    drop(ins);
    tx.commit().unwrap();
    assert_eq!(int(&c, "SELECT count(*) FROM t"), 2);
    c.execute_batch("PRAGMA integrity_check").unwrap();
}

#[test]
fn updates_of_unindexed_columns_keep_indexes_right_in_the_past() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE acct (id INTEGER PRIMARY KEY, owner TEXT, balance INTEGER);
         CREATE INDEX acct_owner ON acct(owner);
         INSERT INTO acct VALUES (1, 'ann', 100), (2, 'bob', 200)",
    )
    .unwrap();
    let before = int(&c, "SELECT current_scn()");
    let mut upd = c
        .prepare("UPDATE acct SET balance = balance + ?1 WHERE id = ?2")
        .unwrap();
    for _ in 0..3 {
        upd.execute((10, 1)).unwrap();
    }
    let middle = int(&c, "SELECT current_scn()");
    c.execute("UPDATE acct SET owner = 'cy' WHERE id = 1", [])
        .unwrap();
    upd.execute((1, 1)).unwrap();

    let by_owner = |owner: &str, at: Option<i64>| -> Vec<Vec<Value>> {
        let clause = at.map_or(String::new(), |s| format!(" AS OF SCN {s}"));
        c.prepare(&format!(
            "SELECT id, balance FROM acct{clause} WHERE owner = ?1"
        ))
        .unwrap()
        .query([owner])
        .unwrap()
        .into_values()
        .unwrap()
    };
    let row = |id: i64, b: i64| vec![Value::Integer(id), Value::Integer(b)];
    assert_eq!(by_owner("ann", Some(before)), vec![row(1, 100)]);
    assert_eq!(by_owner("ann", Some(middle)), vec![row(1, 130)]);
    assert_eq!(by_owner("cy", Some(middle)), Vec::<Vec<Value>>::new());
    assert_eq!(by_owner("ann", None), Vec::<Vec<Value>>::new());
    assert_eq!(by_owner("cy", None), vec![row(1, 131)]);
    assert_eq!(
        all(&c, "PRAGMA integrity_check"),
        vec![vec![Value::Text("ok".into())]]
    );
}

#[test]
fn ascending_rowids_skip_the_key_lookup_but_duplicates_are_still_caught() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        .unwrap();
    let dup = |r: Result<usize, Error>| {
        matches!(
            r,
            Err(Error::Constraint {
                kind: heliosdb_lite::ConstraintKind::PrimaryKey,
                ..
            })
        )
    };
    let tx = c.transaction().unwrap();
    let mut ins = tx.prepare("INSERT INTO t VALUES (?1, 'x')").unwrap();
    for id in 1..=5 {
        ins.execute([id]).unwrap();
    }
    assert!(dup(ins.execute([3])));
    // A row moved to a larger rowid by an UPDATE counts as in use.
    tx.execute("UPDATE t SET id = 100 WHERE id = 1", [])
        .unwrap();
    assert!(dup(ins.execute([100])));
    ins.execute([50]).unwrap();
    ins.execute([1]).unwrap();
    assert!(dup(ins.execute([1])));
    // Automatic rowids come after the largest.
    tx.execute("INSERT INTO t (v) VALUES ('auto')", []).unwrap();
    assert_eq!(tx.last_insert_rowid(), 101);
    drop(ins);
    tx.commit().unwrap();
    // A new transaction looks the largest rowid up again.
    assert!(dup(c.execute("INSERT INTO t VALUES (101, 'y')", [])));
    c.execute("DELETE FROM t WHERE id = 101", []).unwrap();
    c.execute("INSERT INTO t VALUES (101, 'again')", [])
        .unwrap();
    assert_eq!(int(&c, "SELECT count(*) FROM t"), 8);
    assert_eq!(
        all(&c, "PRAGMA integrity_check"),
        vec![vec![Value::Text("ok".into())]]
    );
}

/// A rowid beyond every live row may still have history (a deleted row): reinserting it must
/// keep that history and leave the indexes right, now and in the past.
#[test]
fn reinserting_a_deleted_top_rowid_keeps_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let c = Connection::open(dir.path().join("db")).unwrap();
    c.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER); CREATE INDEX t_v ON t(v);
         INSERT INTO t VALUES (1, 10), (2, 20), (3, 30);",
    )
    .unwrap();
    let with_3 = int(&c, "SELECT current_scn()");
    c.execute_batch("DELETE FROM t WHERE id = 3").unwrap();
    let without_3 = int(&c, "SELECT current_scn()");
    c.execute_batch("BEGIN; INSERT INTO t VALUES (3, 33), (4, 40); COMMIT")
        .unwrap();
    c.execute_batch("UPDATE t SET v = 34 WHERE id = 3").unwrap();
    let at = |scn: i64| {
        all(
            &c,
            &format!("SELECT id, v FROM t AS OF SCN {scn} WHERE v >= 30 ORDER BY v"),
        )
    };
    let row = |id: i64, v: i64| vec![Value::Integer(id), Value::Integer(v)];
    assert_eq!(at(with_3), vec![row(3, 30)]);
    assert_eq!(at(without_3), Vec::<Vec<Value>>::new());
    assert_eq!(at(without_3 + 1), vec![row(3, 33), row(4, 40)]);
    assert_eq!(
        all(&c, "SELECT id, v FROM t WHERE v >= 30 ORDER BY v"),
        vec![row(3, 34), row(4, 40)]
    );
    assert_eq!(
        all(&c, "PRAGMA integrity_check"),
        vec![vec![Value::Text("ok".into())]]
    );
}
