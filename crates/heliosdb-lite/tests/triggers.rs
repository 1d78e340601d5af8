//! Triggers: timing, events, OLD/NEW, WHEN, UPDATE OF, cascades, recursion guard, DROP, and
//! their history (a trigger's effects are part of the firing statement's commit).

use heliosdb_lite::types::Value;
use heliosdb_lite::Connection;

fn rows(c: &Connection, sql: &str) -> Vec<Vec<Value>> {
    c.prepare(sql)
        .unwrap()
        .query([])
        .unwrap()
        .into_values()
        .unwrap()
}

#[test]
fn audit_log_by_trigger() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE acc (id INTEGER PRIMARY KEY, bal INTEGER);
         CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT, acc INTEGER, old_bal INTEGER, new_bal INTEGER);
         CREATE TRIGGER acc_ins AFTER INSERT ON acc BEGIN
           INSERT INTO audit (what, acc, new_bal) VALUES ('insert', new.id, new.bal);
         END;
         CREATE TRIGGER acc_upd AFTER UPDATE OF bal ON acc WHEN new.bal <> old.bal BEGIN
           INSERT INTO audit (what, acc, old_bal, new_bal) VALUES ('update', new.id, old.bal, new.bal);
         END;
         CREATE TRIGGER acc_del BEFORE DELETE ON acc BEGIN
           INSERT INTO audit (what, acc, old_bal) VALUES ('delete', old.id, old.bal);
         END;",
    )
    .unwrap();
    c.execute("INSERT INTO acc VALUES (1, 100), (2, 50)", [])
        .unwrap();
    let scn: i64 = c
        .query_row("SELECT current_scn()", [], |r| r.get(0))
        .unwrap();
    c.execute("UPDATE acc SET bal = bal + 10", []).unwrap();
    c.execute("UPDATE acc SET bal = bal WHERE id = 1", [])
        .unwrap(); // WHEN is false
    c.execute("DELETE FROM acc WHERE id = 2", []).unwrap();
    assert_eq!(c.changes(), 1, "trigger writes are not counted");
    let log = rows(
        &c,
        "SELECT what, acc, old_bal, new_bal FROM audit ORDER BY id",
    );
    let n = Value::Null;
    let i = Value::Integer;
    let t = |s: &str| Value::from(s);
    assert_eq!(
        log,
        vec![
            vec![t("insert"), i(1), n.clone(), i(100)],
            vec![t("insert"), i(2), n.clone(), i(50)],
            vec![t("update"), i(1), i(100), i(110)],
            vec![t("update"), i(2), i(50), i(60)],
            vec![t("delete"), i(2), i(60), n.clone()],
        ]
    );
    // The audit rows committed with the inserts that fired them.
    assert_eq!(
        rows(&c, &format!("SELECT count(*) FROM audit AS OF SCN {scn}")),
        vec![vec![i(2)]]
    );
}

#[test]
fn before_trigger_can_veto_and_errors_roll_back_the_statement() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER);
         CREATE TABLE guard (x INTEGER CHECK (x > 0));
         CREATE TRIGGER no_neg BEFORE INSERT ON t WHEN new.v < 0 BEGIN INSERT INTO guard VALUES (0); END;",
    )
    .unwrap();
    c.execute("INSERT INTO t VALUES (1, 5)", []).unwrap();
    let e = c.execute("INSERT INTO t VALUES (2, -5)", []).unwrap_err();
    assert!(e.to_string().contains("CHECK"), "{e}");
    assert_eq!(
        rows(&c, "SELECT count(*) FROM t"),
        vec![vec![Value::Integer(1)]]
    );
}

#[test]
fn cascades_stop_at_self_recursion_and_drop_works() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE a (id INTEGER PRIMARY KEY, n INTEGER);
         CREATE TABLE b (id INTEGER PRIMARY KEY, n INTEGER);
         CREATE TRIGGER a_to_b AFTER INSERT ON a BEGIN INSERT INTO b VALUES (new.id, new.n * 2); END;
         CREATE TRIGGER b_to_a AFTER INSERT ON b BEGIN INSERT INTO a VALUES (new.id + 100, new.n); END;
         CREATE TRIGGER a_self AFTER UPDATE ON a BEGIN UPDATE a SET n = n + 1 WHERE id = new.id; END;",
    )
    .unwrap();
    c.execute("INSERT INTO a VALUES (1, 1)", []).unwrap();
    // a(1) -> b(1) -> a(101) -> (a_to_b is already running: stops)
    assert_eq!(
        rows(&c, "SELECT id, n FROM a ORDER BY id"),
        vec![
            vec![Value::Integer(1), Value::Integer(1)],
            vec![Value::Integer(101), Value::Integer(2)]
        ]
    );
    c.execute("UPDATE a SET n = 10 WHERE id = 1", []).unwrap();
    assert_eq!(
        rows(&c, "SELECT n FROM a WHERE id = 1"),
        vec![vec![Value::Integer(11)]],
        "fires once, not recursively"
    );
    assert!(c
        .execute_batch("CREATE TRIGGER a_self AFTER UPDATE ON a BEGIN SELECT 1; END;")
        .is_err());
    c.execute_batch("DROP TRIGGER a_self").unwrap();
    assert!(c.execute_batch("DROP TRIGGER a_self").is_err());
    c.execute_batch("DROP TRIGGER IF EXISTS a_self").unwrap();
    assert!(c
        .execute_batch("CREATE TRIGGER x AFTER INSERT ON nope BEGIN SELECT 1; END;")
        .is_err());
    assert!(c
        .execute_batch("CREATE TRIGGER x AFTER INSERT ON a BEGIN DROP TABLE a; END;")
        .is_err());
    c.execute_batch("DROP TABLE b").unwrap();
    assert_eq!(
        rows(&c, "SELECT count(*) FROM a"),
        vec![vec![Value::Integer(2)]]
    );
}

/// `UPDATE OF` triggers fire when the UPDATE's SET names one of their columns, whether or
/// not the value changes, and not when a column changes without being named (SQLite's
/// rule); several triggers of one event fire newest first, as SQLite's do. Upserts and
/// foreign-key actions name the columns they set.
#[test]
fn update_of_triggers_follow_the_set_list_and_fire_newest_first_like_sqlite() {
    let script = "PRAGMA foreign_keys = ON;
        CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT UNIQUE);
        CREATE TABLE c (id INTEGER PRIMARY KEY, pcode TEXT REFERENCES p(code) ON UPDATE CASCADE, n INT);
        CREATE TABLE log (seq INTEGER PRIMARY KEY, what TEXT);
        CREATE TRIGGER c_code AFTER UPDATE OF pcode ON c BEGIN
          INSERT INTO log (what) VALUES ('c.pcode ' || NEW.id || ' ' || NEW.pcode);
        END;
        CREATE TRIGGER p_code AFTER UPDATE OF code ON p BEGIN
          INSERT INTO log (what) VALUES ('p.code ' || NEW.id);
        END;
        CREATE TRIGGER p_any AFTER UPDATE ON p BEGIN
          INSERT INTO log (what) VALUES ('p.any ' || NEW.id);
        END;
        CREATE TRIGGER p_before BEFORE UPDATE OF code, id ON p BEGIN
          INSERT INTO log (what) VALUES ('p.before ' || OLD.id);
        END;
        INSERT INTO p VALUES (1, 'a'), (2, 'b');
        INSERT INTO c VALUES (10, 'a', 0), (11, 'b', 0);
        UPDATE p SET code = code WHERE id = 1;
        UPDATE p SET code = 'bb' WHERE id = 2;
        UPDATE p SET id = id WHERE id = 1;
        UPDATE c SET n = n + 1;
        INSERT INTO p VALUES (3, 'a') ON CONFLICT (code) DO UPDATE SET code = excluded.code;
        INSERT INTO p VALUES (4, 'bb') ON CONFLICT (code) DO UPDATE SET id = id;";
    let h = Connection::open_in_memory().unwrap();
    let s = rusqlite::Connection::open_in_memory().unwrap();
    h.execute_batch(script).unwrap();
    s.execute_batch(script).unwrap();
    let log = "SELECT group_concat(what, '; ') FROM (SELECT what FROM log ORDER BY seq)";
    let got: String = h.query_row(log, [], |r| r.get(0)).unwrap();
    let want: String = s.query_row(log, [], |r| r.get(0)).unwrap();
    assert_eq!(got, want);
    assert!(want.contains("p.code 1"), "{want}");
}

/// An unqualified name in a trigger's statements never reads the OLD / NEW row, as in SQLite:
/// a name no table of the statement has is "no such column" (it read the trigger row's value,
/// NULL for the missing OLD row of an INSERT, and wrote it silently).
#[test]
fn unqualified_names_do_not_read_the_trigger_row() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE r(id INTEGER PRIMARY KEY, z);
         CREATE TABLE log(x);
         CREATE TRIGGER t1 AFTER INSERT ON r BEGIN INSERT INTO log VALUES (z); END;",
    )
    .unwrap();
    let e = c.execute("INSERT INTO r VALUES (1, 'a')", []).unwrap_err();
    assert!(e.to_string().contains("no such column: z"), "{e}");
    c.execute_batch(
        "DROP TRIGGER t1;
         CREATE TRIGGER t2 AFTER INSERT ON r BEGIN INSERT INTO log SELECT rowid FROM (SELECT 5); END;",
    )
    .unwrap();
    let e = c.execute("INSERT INTO r VALUES (2, 'b')", []).unwrap_err();
    assert!(e.to_string().contains("no such column: rowid"), "{e}");
    c.execute_batch(
        "DROP TRIGGER t2;
         CREATE TRIGGER t3 AFTER INSERT ON r WHEN z IS NULL BEGIN INSERT INTO log VALUES (1); END;",
    )
    .unwrap();
    let e = c.execute("INSERT INTO r VALUES (3, 'c')", []).unwrap_err();
    assert!(e.to_string().contains("no such column: z"), "{e}");
    // Qualified, and the statement's own tables (the rowid too), as before.
    c.execute_batch(
        "DROP TRIGGER t3;
         CREATE TRIGGER t4 AFTER INSERT ON r WHEN new.z IS NOT NULL BEGIN
           INSERT INTO log VALUES (new.z || new.rowid);
           INSERT INTO log SELECT rowid FROM r WHERE id = new.id;
         END;
         INSERT INTO r VALUES (4, 'd');",
    )
    .unwrap();
    assert_eq!(
        rows(&c, "SELECT x FROM log ORDER BY rowid"),
        vec![vec![Value::Text("d4".into())], vec![Value::Integer(4)]]
    );
    assert_eq!(
        rows(&c, "SELECT count(*) FROM r"),
        vec![vec![Value::Integer(1)]]
    );
    // A trigger fired by another trigger's statement: its WHEN sees its own row only, and an
    // UPDATE trigger's unqualified name does not read OLD either.
    c.execute_batch(
        "CREATE TABLE b(q);
         CREATE TRIGGER t5 AFTER INSERT ON b WHEN z IS NULL BEGIN INSERT INTO log VALUES (2); END;
         CREATE TRIGGER t6 AFTER UPDATE ON r BEGIN INSERT INTO b VALUES (1); END;",
    )
    .unwrap();
    let e = c.execute("UPDATE r SET z = 'e'", []).unwrap_err();
    assert!(e.to_string().contains("no such column: z"), "{e}");
    c.execute_batch(
        "DROP TRIGGER t5; DROP TRIGGER t6;
         CREATE TRIGGER t7 AFTER UPDATE ON r BEGIN INSERT INTO log VALUES (z); END;",
    )
    .unwrap();
    let e = c.execute("UPDATE r SET z = 'f'", []).unwrap_err();
    assert!(e.to_string().contains("no such column: z"), "{e}");
}

/// A trigger named like its table keeps the table whole across a reopen; triggers that an
/// older build stored under the catalog key of their name (where one replaced a table of that
/// name) still fire, are dropped where they are (by DROP TRIGGER and DROP TABLE), move out of
/// the way of a table created with their name, and are written under their own key when a
/// rename rewrites them, never twice.
#[test]
fn a_trigger_named_like_a_table_survives_a_reopen_and_the_old_catalog_key_still_reads() {
    use heliosdb_lite::mvcc::{Mvcc, MvccOptions, TxnMode};
    use heliosdb_lite::sql::codec::{catalog_key, trigger_catalog_key};
    use heliosdb_lite::storage::{FjallOptions, FjallStorage};
    use heliosdb_lite::Config;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let open = || Connection::open(Config::with_path(&path)).unwrap();
    let count = |c: &Connection, sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    let fired =
        |c: &Connection, x: i64| count(c, &format!("SELECT count(*) FROM log WHERE x = {x}"));
    {
        let c = open();
        c.execute_batch(
            "CREATE TABLE t(a); CREATE TABLE log(x); CREATE TABLE u(b); INSERT INTO t VALUES (1);
             CREATE TRIGGER t AFTER INSERT ON t BEGIN INSERT INTO log VALUES (1); END;
             CREATE TRIGGER old AFTER INSERT ON t BEGIN INSERT INTO log VALUES (2); END;
             CREATE TRIGGER old2 AFTER INSERT ON t BEGIN INSERT INTO log VALUES (3); END;
             CREATE TRIGGER old3 AFTER INSERT ON t BEGIN INSERT INTO log VALUES (4); END;
             CREATE TRIGGER u_old AFTER INSERT ON u BEGIN INSERT INTO log VALUES (5); END;
             INSERT INTO t VALUES (2);",
        )
        .unwrap();
    }
    {
        let c = open();
        assert_eq!(count(&c, "SELECT count(*) FROM t"), 2);
        c.execute("INSERT INTO t VALUES (3)", []).unwrap();
        assert_eq!(fired(&c, 1), 2);
    }
    // What an older build left: these triggers under their names' keys.
    {
        let storage = FjallStorage::open(&path, &FjallOptions::default()).unwrap();
        let m = Mvcc::open(std::sync::Arc::new(storage), MvccOptions::default()).unwrap();
        let mut txn = m.begin(TxnMode::Immediate).unwrap();
        for name in ["old", "old2", "old3", "u_old"] {
            let entry = txn.get(&trigger_catalog_key(name)).unwrap().unwrap();
            txn.delete(trigger_catalog_key(name)).unwrap();
            txn.put(catalog_key(name), entry.to_vec()).unwrap();
        }
        txn.commit().unwrap();
    }
    let c = open();
    c.execute("INSERT INTO t VALUES (4)", []).unwrap();
    assert_eq!((fired(&c, 2), fired(&c, 3), fired(&c, 4)), (3, 3, 3));
    // A table named like one: the trigger moves to its own key and keeps firing.
    c.execute_batch("CREATE TABLE old(y); INSERT INTO old VALUES (1); INSERT INTO t VALUES (5)")
        .unwrap();
    assert_eq!(fired(&c, 2), 4);
    // Dropped where an older build stored them.
    c.execute_batch("DROP TRIGGER old2; DROP TABLE u").unwrap();
    // A rename rewrites the table's triggers under their own keys.
    c.execute_batch("ALTER TABLE t RENAME TO t2; INSERT INTO t2 VALUES (6)")
        .unwrap();
    drop(c);
    let c = open();
    c.execute("INSERT INTO t2 VALUES (7)", []).unwrap();
    assert_eq!((fired(&c, 2), fired(&c, 3), fired(&c, 4)), (6, 4, 6));
    assert_eq!(count(&c, "SELECT count(*) FROM old"), 1);
    let names = |c: &Connection| -> Vec<String> {
        let mut s = c
            .prepare("SELECT type || ' ' || name FROM sqlite_schema ORDER BY 1")
            .unwrap();
        let rows = s.query_map([], |r| r.get::<_, String>(0)).unwrap();
        rows.map(|r| r.unwrap()).collect()
    };
    assert_eq!(
        names(&c),
        [
            "table log",
            "table old",
            "table t2",
            "trigger old",
            "trigger old3",
            "trigger t"
        ]
    );
    c.execute_batch("DROP TRIGGER old; INSERT INTO t2 VALUES (8)")
        .unwrap();
    assert_eq!((fired(&c, 2), fired(&c, 4)), (6, 7));
    assert_eq!(count(&c, "SELECT count(*) FROM old"), 1);
    let e = c.execute("DROP TRIGGER old", []).unwrap_err();
    assert!(e.to_string().contains("no such trigger: old"), "{e}");
    let e = c.execute("CREATE INDEX old ON t2(a)", []).unwrap_err();
    assert_eq!(e.to_string(), "there is already a table named old");
    assert!(matches!(e, heliosdb_lite::Error::AlreadyExists(_)), "{e:?}");
}
