//! Prepared INSERT / UPDATE / DELETE keep their bound form between executions: these tests
//! check that a reused statement follows every schema change, and that an UPDATE which
//! leaves indexed columns alone keeps the indexes right now and in the past.

mod support;

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

/// Runs one prepared INSERT in both engines, returning `"ok"` or the error text.
fn insert_both(
    ours: &mut heliosdb_lite::Statement<'_>,
    theirs: &mut rusqlite::Statement<'_>,
    id: i64,
    v: i64,
) -> (String, String) {
    let o = match ours.execute((id, v)) {
        Ok(n) => format!("ok {n}"),
        Err(e) => e.to_string(),
    };
    let t = match theirs.execute((id, v)) {
        Ok(n) => format!("ok {n}"),
        Err(e) => e.to_string(),
    };
    (o, t)
}

/// Runs a script in both engines; either failing fails the test.
fn batch_both(h: &Connection, s: &rusqlite::Connection, sql: &str) {
    h.execute_batch(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    s.execute_batch(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The table's rows as text, from both engines.
fn table_both(h: &Connection, s: &rusqlite::Connection) -> (Vec<String>, Vec<String>) {
    let sql = "SELECT * FROM t ORDER BY id";
    let ours = all(h, sql)
        .into_iter()
        .map(|r| {
            r.iter()
                .map(|v| match v {
                    Value::Null => "NULL".to_string(),
                    Value::Integer(i) => i.to_string(),
                    Value::Text(t) => t.clone(),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    let mut st = s.prepare(sql).unwrap();
    let n = st.column_count();
    let theirs = st
        .query_map([], |r| {
            Ok((0..n)
                .map(|i| match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Null => "NULL".to_string(),
                    rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
                .join("|"))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (ours, theirs)
}

/// A transaction that creates its table and loads it with one prepared INSERT reuses the
/// INSERT's bound form under the schema it keeps; every DDL of the same transaction, and a
/// ROLLBACK TO across one, must make the statement bind again. Checked against SQLite,
/// constraint errors (and their text) included.
#[test]
fn reused_inserts_after_ddl_in_the_same_transaction_answer_like_sqlite() {
    let h = Connection::open_in_memory().unwrap();
    let s = rusqlite::Connection::open_in_memory().unwrap();
    let both = |sql: &str| batch_both(&h, &s, sql);
    both("BEGIN; CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER CHECK (v < 1000))");
    let sql = "INSERT INTO t (id, v) VALUES (?1, ?2)";
    let mut ours = h.prepare(sql).unwrap();
    let mut theirs = s.prepare(sql).unwrap();
    let mut step = |id: i64, v: i64| {
        let (o, t) = insert_both(&mut ours, &mut theirs, id, v);
        // A CHECK failure names the table before the expression here ("t (v < 1000)"),
        // where SQLite gives the expression's text alone: only the kind is compared.
        const CHECK: &str = "CHECK constraint failed";
        if t.starts_with(CHECK) {
            assert!(o.starts_with(CHECK), "INSERT ({id}, {v}): {o} / {t}");
        } else {
            assert_eq!(o, t, "INSERT ({id}, {v})");
        }
    };
    for i in 1..=50 {
        step(i, i);
    }
    step(51, 5000); // CHECK, through the reused bound form
    step(50, 1); // duplicate rowid
    step(51, 51); // after a failed statement (its statement rollback) the insert works

    // A new column with a default: the INSERT names two columns and must now fill the third.
    both("ALTER TABLE t ADD COLUMN note TEXT DEFAULT 'n/a'");
    step(52, 52);
    // A unique index created in the transaction is enforced by the reused statement.
    both("CREATE UNIQUE INDEX t_v ON t(v)");
    step(53, 52);
    step(53, 53);

    // DDL after a savepoint, undone by ROLLBACK TO: the statement must not keep the
    // bound form of the schema that was rolled back.
    both("SAVEPOINT a; ALTER TABLE t ADD COLUMN extra INTEGER DEFAULT 7; DROP INDEX t_v");
    step(54, 53); // no unique index here
    step(55, 55);
    both("ROLLBACK TO a");
    step(56, 53); // the index is back
    step(56, 56);
    // ... and a rollback to a savepoint with no DDL after it keeps the schema.
    both("SAVEPOINT b");
    step(57, 57);
    both("ROLLBACK TO b; RELEASE a");
    step(58, 58);

    // The table dropped and created again with another CHECK, in the same transaction.
    both("DROP TABLE t; CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER CHECK (v > 0))");
    step(1, 0);
    step(1, 10);
    both("COMMIT");
    let (o, t) = table_both(&h, &s);
    assert_eq!(o, t);
    // Outside the transaction, under the committed schema, it still answers the same.
    step(2, -1);
    step(2, 2);
    drop((ours, theirs));
    let (o, t) = table_both(&h, &s);
    assert_eq!(o, t);
    h.execute_batch("PRAGMA integrity_check").unwrap();
}

/// A prepared INSERT of increasing ids inside one transaction (the write set appends such
/// keys without a search, and undoes them by position): savepoints rolled back after a run of
/// inserts, out-of-order ids between the run's keys, duplicates failing mid-run (each failed
/// statement is rolled back), reads of the transaction's own rows, and, with a 1 MiB
/// write-set budget, spills in the middle of a run. Checked against SQLite.
#[test]
fn ascending_inserts_with_savepoints_and_out_of_order_ids_answer_like_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    for (budget, rows) in [(None, 3_000i64), (Some(1), 12_000)] {
        let mut c = heliosdb_lite::Config::with_path(dir.path().join(format!("db{rows}")));
        c.database.txn_memory_mb = budget;
        c.database.enable_wal = false;
        let h = Connection::open(c).unwrap();
        let s = rusqlite::Connection::open_in_memory().unwrap();
        let both = |sql: &str| batch_both(&h, &s, sql);
        let same = |sql: &str| {
            let ours = int(&h, sql);
            let theirs: i64 = s.query_row(sql, [], |r| r.get(0)).unwrap();
            assert_eq!(ours, theirs, "{sql}");
        };
        both("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER); BEGIN");
        let sql = "INSERT INTO t (id, v) VALUES (?1, ?2)";
        let mut ours = h.prepare(sql).unwrap();
        let mut theirs = s.prepare(sql).unwrap();
        let mut step = |id: i64, v: i64| {
            let (o, t) = insert_both(&mut ours, &mut theirs, id, v);
            assert_eq!(o, t, "INSERT ({id}, {v})");
        };
        // Even ids ascending; every so often a savepoint, an odd id inside the run, a
        // duplicate, and a rollback to the savepoint.
        let mut saved = 0;
        for i in 1..=rows {
            step(2 * i, i);
            if i % 500 == 0 {
                both(&format!("SAVEPOINT s{i}"));
                saved = i;
            }
            if i % 500 == 250 && saved > 0 {
                step(2 * i - 301, -i); // inside the run, below its last key
                step(2 * i - 2, 0); // a duplicate: the statement fails and is undone
                step(2 * i + 2, i + 1); // the next even id, now out of turn
                same("SELECT count(*) FROM t");
                same(&format!("SELECT v FROM t WHERE id = {}", 2 * i - 301));
                both(&format!("ROLLBACK TO s{saved}"));
                same("SELECT count(*) FROM t");
                same("SELECT coalesce(max(id), 0) FROM t");
            }
            if i % 700 == 0 {
                same("SELECT count(*) FROM t");
                same("SELECT sum(v) FROM t WHERE id > 1000");
                same("SELECT coalesce(max(id), 0) FROM t WHERE id < 5000");
            }
        }
        drop(ours);
        drop(theirs);
        same("SELECT count(*) FROM t");
        both("COMMIT");
        let (o, t) = table_both(&h, &s);
        assert_eq!(o, t, "budget {budget:?}");
        assert_eq!(
            all(&h, "PRAGMA integrity_check"),
            vec![vec![Value::Text("ok".into())]]
        );
    }
}

#[test]
fn values_already_converted_run_as_they_are_with_the_count_checked() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        .unwrap();
    let mut ins = c.prepare("INSERT INTO t VALUES (?, ?)").unwrap();
    let values = [Value::Integer(1), Value::Text("one".into())];
    let rows = ins.query_values(&values).unwrap();
    assert!(!rows.returns_rows());
    assert_eq!(rows.changes(), 1);
    // The values are the caller's still: a retry runs them again.
    let dup = ins.query_values(&values).unwrap_err();
    assert!(dup.to_string().contains("UNIQUE"), "{dup}");
    let short = ins.query_values(&values[..1]).unwrap_err();
    assert!(matches!(short, Error::Parameter(_)), "{short}");
    assert!(
        short.to_string().contains("2 parameter(s) but 1 value(s)"),
        "{short}"
    );
    // A statement of literals (run through its shape's template) takes no values.
    let mut lit = c.prepare("INSERT INTO t VALUES (2, 'two')").unwrap();
    lit.query_values(&[]).unwrap();
    lit.query_values(&values[..1]).unwrap_err();
    let mut sel = c.prepare("SELECT name FROM t WHERE id = ?").unwrap();
    let got = sel
        .query_values(&[Value::Integer(2)])
        .unwrap()
        .into_values()
        .unwrap();
    assert_eq!(got, vec![vec![Value::Text("two".into())]]);
}

/// An UPDATE leaves an index entry alone only when the indexed values are the same bits:
/// a value equal in SQL but stored differently (5 and 5.0 in an untyped column, 0.0 and
/// -0.0, 'a' and 'A' under NOCASE) still rewrites the entry, and lookups by the index agree
/// with the rows.
#[test]
fn an_update_rewrites_entries_whose_values_change_representation() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, k, s TEXT COLLATE NOCASE, v);
         CREATE INDEX t_k ON t(k); CREATE INDEX t_s ON t(s);
         INSERT INTO t VALUES (1, 5, 'a', 0), (2, 0.0, 'b', 0), (3, 7, 'c', 0);",
    )
    .unwrap();
    let mut upd = c
        .prepare("UPDATE t SET k = ?1, s = ?2, v = v + 1 WHERE id = ?3")
        .unwrap();
    upd.execute((Value::Real(5.0), "A", 1)).unwrap();
    upd.execute((Value::Real(-0.0), "b", 2)).unwrap();
    upd.execute((7, "c", 3)).unwrap(); // same bits: entries kept
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    assert_eq!(
        all(&c, "SELECT id, typeof(k) FROM t WHERE k = 5"),
        vec![vec![Value::Integer(1), Value::Text("real".into())]]
    );
    assert_eq!(int(&c, "SELECT id FROM t WHERE k = 0"), 2);
    assert_eq!(
        all(&c, "SELECT id, s FROM t WHERE s = 'a'"),
        vec![vec![Value::Integer(1), Value::Text("A".into())]]
    );
    assert_eq!(int(&c, "SELECT id FROM t WHERE k = 7 AND s = 'C'"), 3);
    assert_eq!(int(&c, "SELECT sum(v) FROM t"), 3);
}

/// An UPDATE or DELETE by the whole primary key reads its one row directly, without a scan
/// operator: every kind of key value (integers, integral and fractional reals, numeric and
/// other text, NULL, blobs), extra conditions, composite keys of WITHOUT ROWID tables,
/// RETURNING and trigger bodies must give SQLite's answers, changes and rows.
#[test]
fn updates_and_deletes_by_key_match_sqlite() {
    let schema = "CREATE TABLE r (id INTEGER PRIMARY KEY, v INTEGER, w TEXT);
         CREATE TABLE c (a TEXT, b INTEGER, v INTEGER, PRIMARY KEY (a, b)) WITHOUT ROWID;
         CREATE TABLE n (k NUMERIC PRIMARY KEY, v INTEGER);
         CREATE TABLE log (what TEXT);
         CREATE TRIGGER r_up AFTER UPDATE OF w ON r BEGIN
           UPDATE c SET v = v + 100 WHERE a = NEW.w AND b = NEW.id;
           DELETE FROM n WHERE k = NEW.id;
         END;
         INSERT INTO r VALUES (1, 10, 'x'), (2, 20, 'y'), (5, 50, 'z'), (-3, 0, NULL);
         INSERT INTO c VALUES ('x', 1, 1), ('y', 2, 2), ('5', 5, 5), ('z', 5, 9);
         INSERT INTO n VALUES (1, 1), (2.5, 2), ('7', 3), (5, 4);";
    let h = Connection::open_in_memory().unwrap();
    let s = rusqlite::Connection::open_in_memory().unwrap();
    h.execute_batch(schema).unwrap();
    s.execute_batch(schema).unwrap();
    let keys: Vec<Value> = vec![
        Value::Integer(1),
        Value::Integer(5),
        Value::Integer(404),
        Value::Real(2.0),
        Value::Real(2.5),
        Value::Real(-3.0),
        Value::Text("5".into()),
        Value::Text(" 5".into()),
        Value::Text("5.0".into()),
        Value::Text("x".into()),
        Value::Text("7".into()),
        Value::Null,
        Value::Blob(b"5".to_vec()),
    ];
    let to_sqlite = |v: &Value| -> rusqlite::types::Value {
        match v {
            Value::Integer(i) => rusqlite::types::Value::Integer(*i),
            Value::Real(r) => rusqlite::types::Value::Real(*r),
            Value::Text(t) => rusqlite::types::Value::Text(t.clone()),
            Value::Blob(b) => rusqlite::types::Value::Blob(b.clone()),
            _ => rusqlite::types::Value::Null,
        }
    };
    let statements = [
        "UPDATE r SET v = v + 1 WHERE id = ?1",
        "UPDATE r SET v = v + 1 WHERE id = ?1 AND v > 15",
        "UPDATE r SET w = 'x' WHERE id = ?1",
        "UPDATE n SET v = v * 10 WHERE k = ?1",
        "UPDATE c SET v = v + 1 WHERE a = ?1 AND b = 5",
        "UPDATE c SET v = v + 1 WHERE a = 'x' AND b = ?1",
        "DELETE FROM n WHERE k = ?1",
        "DELETE FROM c WHERE a = ?1 AND b = ?1",
        "DELETE FROM r WHERE id = ?1 AND w IS NOT NULL",
    ];
    let dump = "SELECT (SELECT group_concat(x, ',') FROM
           (SELECT id || ':' || v || ':' || ifnull(w, '-') AS x FROM r ORDER BY id))
         || '|' || (SELECT group_concat(x, ',') FROM
           (SELECT a || ':' || b || ':' || v AS x FROM c ORDER BY a, b))
         || '|' || (SELECT group_concat(x, ',') FROM
           (SELECT k || ':' || typeof(k) || ':' || v AS x FROM n ORDER BY k))";
    for sql in statements {
        for key in &keys {
            let got = h.execute(sql, (key.clone(),)).map_err(|e| e.to_string());
            let want = s.execute(sql, [to_sqlite(key)]).map_err(|e| e.to_string());
            assert_eq!(
                got.is_ok(),
                want.is_ok(),
                "{sql} with {key:?}: {got:?} / {want:?}"
            );
            if let (Ok(g), Ok(w)) = (&got, &want) {
                assert_eq!(*g, *w, "changes of {sql} with {key:?}");
            }
            assert_eq!(
                support::helios_text(&h, dump),
                support::sqlite_text(&s, dump),
                "after {sql} with {key:?}"
            );
        }
    }
    // RETURNING through the direct read.
    let fresh = "INSERT INTO r VALUES (77, 7, 'fresh')";
    h.execute(fresh, []).unwrap();
    s.execute(fresh, []).unwrap();
    let mut ret = h
        .prepare("UPDATE r SET v = v + 1000 WHERE id = ?1 RETURNING id, v")
        .unwrap();
    let rows = ret.query((77,)).unwrap().into_values().unwrap();
    let want: (i64, i64) = s
        .query_row(
            "UPDATE r SET v = v + 1000 WHERE id = ?1 RETURNING id, v",
            [77],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        rows,
        vec![vec![Value::Integer(want.0), Value::Integer(want.1)]]
    );
    let ok: String = h
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}
