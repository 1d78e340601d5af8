//! Foreign-key actions (`ON DELETE` / `ON UPDATE` `CASCADE`, `SET NULL`, `SET DEFAULT`,
//! `RESTRICT`, `NO ACTION`) statement by statement against the bundled SQLite, with
//! `PRAGMA foreign_keys = ON` there (HeliosDB enforces foreign keys by default). The script
//! notation is `sqlite_dialect.rs`'s: `@mark`, `@ours`, `<sqlite> @@ <heliosdb>`.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::{check, with};
use heliosdb_lite::types::Value;
use heliosdb_lite::Connection;

/// A three-level hierarchy with a log of what the child tables' triggers saw.
const FAMILY: &[&str] = &[
    "CREATE TABLE log(n INTEGER PRIMARY KEY, msg TEXT)",
    "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT)",
    "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p(id) ON DELETE CASCADE \
     ON UPDATE CASCADE, note TEXT)",
    "CREATE TABLE g(id INTEGER PRIMARY KEY, cid INTEGER REFERENCES c ON DELETE CASCADE, x TEXT)",
    "CREATE TRIGGER p_bd BEFORE DELETE ON p BEGIN INSERT INTO log(msg) VALUES ('before p ' || OLD.id); END",
    "CREATE TRIGGER p_ad AFTER DELETE ON p BEGIN INSERT INTO log(msg) VALUES ('after p ' || OLD.id); END",
    "CREATE TRIGGER c_ad AFTER DELETE ON c BEGIN INSERT INTO log(msg) VALUES ('c ' || OLD.id); END",
    "CREATE TRIGGER c_au AFTER UPDATE ON c BEGIN INSERT INTO log(msg) VALUES ('c ' || OLD.pid || '->' || NEW.pid); END",
    "CREATE TRIGGER g_bd BEFORE DELETE ON g BEGIN INSERT INTO log(msg) VALUES ('g ' || OLD.id); END",
    "INSERT INTO p VALUES (1, 'a'), (2, 'b'), (3, 'c')",
    "INSERT INTO c VALUES (10, 1, 'x'), (11, 1, 'y'), (12, 2, 'z'), (13, NULL, 'w')",
    "INSERT INTO g VALUES (100, 10, 'g1'), (101, 11, 'g2'), (102, 12, 'g3')",
];

#[test]
fn delete_cascades_through_levels_and_fires_the_childrens_triggers() {
    let script = with(
        FAMILY,
        &[
            "DELETE FROM p WHERE id = 1",
            "SELECT changes()",
            "SELECT * FROM p ORDER BY id",
            "SELECT * FROM c ORDER BY id",
            "SELECT * FROM g ORDER BY id",
            "SELECT * FROM log ORDER BY n",
            "DELETE FROM p",
            "SELECT * FROM c ORDER BY id",
            "SELECT * FROM g ORDER BY id",
            "SELECT * FROM log ORDER BY n",
            "DELETE FROM c",
            "SELECT count(*) FROM g",
            "SELECT total_changes()",
        ],
    );
    check(&[("cascade", &script)]);
}

#[test]
fn update_cascades_the_new_key() {
    let script = with(
        FAMILY,
        &[
            "UPDATE p SET id = 7 WHERE id = 1",
            "SELECT * FROM c ORDER BY id",
            "SELECT * FROM log ORDER BY n",
            // Not a key change: nothing happens to the children.
            "UPDATE p SET name = 'q', id = 7 WHERE id = 7",
            "SELECT * FROM log ORDER BY n",
            "UPDATE p SET id = id + 100",
            "SELECT * FROM c ORDER BY id",
            "SELECT * FROM g ORDER BY id",
            // g's key is c's rowid: changing it has no ON UPDATE action, so it is refused.
            "UPDATE c SET id = 50 WHERE id = 10",
            "SELECT * FROM c ORDER BY id",
            "UPDATE c SET id = 50 WHERE id = 13",
            "SELECT * FROM c ORDER BY id",
        ],
    );
    check(&[("update cascade", &script)]);
}

#[test]
fn set_null_and_set_default() {
    check(&[
        (
            "set null",
            &[
                "CREATE TABLE p(a INTEGER, b TEXT, PRIMARY KEY (a, b))",
                "CREATE TABLE c(id INTEGER PRIMARY KEY, x INTEGER, y TEXT, z TEXT DEFAULT 'k', \
                 FOREIGN KEY (x, y) REFERENCES p(a, b) ON DELETE SET NULL ON UPDATE SET NULL)",
                "CREATE TRIGGER cu AFTER UPDATE ON c BEGIN UPDATE c SET z = 'touched' WHERE id = NEW.id; END",
                "INSERT INTO p VALUES (1, 'a'), (2, 'b'), (3, 'c')",
                "INSERT INTO c(id, x, y) VALUES (1, 1, 'a'), (2, 1, 'a'), (3, 2, 'b'), (4, 3, 'c')",
                "DELETE FROM p WHERE a = 1",
                "SELECT * FROM c ORDER BY id",
                "UPDATE p SET b = 'B' WHERE a = 2",
                "SELECT * FROM c ORDER BY id",
                "UPDATE p SET b = 'c' WHERE a = 3",
                "SELECT * FROM c ORDER BY id",
                "PRAGMA foreign_key_list(c)",
            ],
        ),
        (
            "set null into NOT NULL fails",
            &[
                "CREATE TABLE p(id INTEGER PRIMARY KEY)",
                "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER NOT NULL REFERENCES p ON DELETE SET NULL)",
                "INSERT INTO p VALUES (1), (2)",
                "INSERT INTO c VALUES (1, 1), (2, 2)",
                "DELETE FROM p WHERE id = 1",
                "SELECT * FROM p ORDER BY id",
                "SELECT * FROM c ORDER BY id",
            ],
        ),
        (
            "set default",
            &[
                "CREATE TABLE p(id INTEGER PRIMARY KEY)",
                "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER DEFAULT 0 REFERENCES p \
                 ON DELETE SET DEFAULT ON UPDATE SET DEFAULT)",
                "CREATE TABLE d(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p ON DELETE SET DEFAULT)",
                "INSERT INTO p VALUES (0), (1), (2), (3)",
                "INSERT INTO c VALUES (1, 1), (2, 2), (3, 3)",
                "DELETE FROM p WHERE id = 1",
                "SELECT * FROM c ORDER BY id",
                "UPDATE p SET id = 20 WHERE id = 2",
                "SELECT * FROM c ORDER BY id",
                // The default names no parent: the delete fails and changes nothing.
                "DELETE FROM p WHERE id = 0",
                "SELECT * FROM p ORDER BY id",
                "SELECT * FROM c ORDER BY id",
                // No DEFAULT: the column becomes NULL.
                "INSERT INTO d VALUES (1, 3)",
                "DELETE FROM p WHERE id = 3",
                "SELECT * FROM c ORDER BY id",
                "SELECT * FROM d ORDER BY id",
                "PRAGMA foreign_key_list(c)",
            ],
        ),
    ]);
}

#[test]
fn restrict_and_no_action_refuse() {
    check(&[(
        "refusals",
        &[
            "CREATE TABLE p(id INTEGER PRIMARY KEY, k TEXT UNIQUE)",
            "CREATE TABLE r(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p ON DELETE RESTRICT ON UPDATE RESTRICT)",
            "CREATE TABLE n(id INTEGER PRIMARY KEY, pk TEXT REFERENCES p(k) ON DELETE NO ACTION ON UPDATE CASCADE)",
            "INSERT INTO p VALUES (1, 'a'), (2, 'b'), (3, 'c')",
            "INSERT INTO r VALUES (1, 1)",
            "INSERT INTO n VALUES (1, 'b')",
            "DELETE FROM p WHERE id = 1",
            "UPDATE p SET id = 10 WHERE id = 1",
            "DELETE FROM p WHERE id = 2",
            "UPDATE p SET k = 'B' WHERE id = 2",
            "SELECT * FROM n",
            "DELETE FROM p WHERE id = 3",
            "SELECT * FROM p ORDER BY id",
            "PRAGMA foreign_key_list(r)",
            "PRAGMA foreign_key_list(n)",
        ],
    )]);
}

#[test]
fn a_key_changed_only_under_its_collation_is_not_changed() {
    check(&[(
        "nocase key",
        &[
            "CREATE TABLE p(id INTEGER PRIMARY KEY, k TEXT COLLATE NOCASE UNIQUE)",
            "CREATE TABLE c(id INTEGER PRIMARY KEY, pk TEXT REFERENCES p(k) ON UPDATE CASCADE)",
            "CREATE TABLE n(id INTEGER PRIMARY KEY, pk TEXT REFERENCES p(k))",
            "INSERT INTO p VALUES (1, 'abc'), (2, 'def')",
            "INSERT INTO c VALUES (1, 'abc'), (2, 'Abc')",
            "INSERT INTO n VALUES (1, 'def'), (2, 'DeF')",
            "UPDATE p SET k = 'ABC' WHERE id = 1",
            "UPDATE p SET k = 'DEF' WHERE id = 2",
            "SELECT * FROM p ORDER BY id",
            "SELECT * FROM c ORDER BY id",
            "UPDATE p SET k = 'xyz' WHERE id = 1",
            "SELECT * FROM c ORDER BY id",
            "DELETE FROM p WHERE id = 2",
            "DELETE FROM n WHERE id = 1",
            "DELETE FROM p WHERE id = 2",
            "DELETE FROM n",
            "DELETE FROM p WHERE id = 2",
            "SELECT * FROM p ORDER BY id",
        ],
    )]);
}

#[test]
fn self_references_cascade_to_any_depth() {
    let mut tree = vec![
        "CREATE TABLE t(id INTEGER PRIMARY KEY, up INTEGER REFERENCES t(id) ON DELETE CASCADE ON UPDATE CASCADE)",
        "CREATE TABLE gone(id INTEGER)",
        "CREATE TRIGGER td AFTER DELETE ON t BEGIN INSERT INTO gone VALUES (OLD.id); END",
        "INSERT INTO t VALUES (1, NULL), (2, 1), (3, 1), (4, 2), (5, 4), (6, 6), (7, 6)",
        // A chain 60 deep under row 1.
        "WITH RECURSIVE n(i) AS (SELECT 100 UNION ALL SELECT i + 1 FROM n WHERE i < 160) \
         INSERT INTO t SELECT i, CASE i WHEN 100 THEN 5 ELSE i - 1 END FROM n",
        "UPDATE t SET id = 40 WHERE id = 4",
        "SELECT * FROM t ORDER BY id",
        "UPDATE t SET id = 60 WHERE id = 6",
        "SELECT * FROM t ORDER BY id",
        "DELETE FROM t WHERE id = 2",
        "SELECT * FROM t ORDER BY id",
        "SELECT * FROM gone ORDER BY id",
        "DELETE FROM t",
        "SELECT count(*) FROM t",
    ];
    tree.push("SELECT count(*) FROM gone");
    check(&[("tree", &tree)]);
}

#[test]
fn replace_cascades_and_pragma_off_disables_actions() {
    check(&[
        (
            "replace",
            &[
                "CREATE TABLE p(id INTEGER PRIMARY KEY, v TEXT)",
                "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p ON DELETE CASCADE)",
                "INSERT INTO p VALUES (1, 'a'), (2, 'b')",
                "INSERT INTO c VALUES (1, 1), (2, 2)",
                "INSERT OR REPLACE INTO p VALUES (1, 'new')",
                "SELECT * FROM c ORDER BY id",
                "SELECT * FROM p ORDER BY id",
            ],
        ),
        (
            "pragma off",
            &[
                "CREATE TABLE p(id INTEGER PRIMARY KEY)",
                "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p ON DELETE CASCADE)",
                "INSERT INTO p VALUES (1)",
                "INSERT INTO c VALUES (1, 1)",
                "PRAGMA foreign_keys = OFF",
                "DELETE FROM p",
                "SELECT * FROM c",
            ],
        ),
        (
            "rolled back with the statement",
            &[
                "CREATE TABLE p(id INTEGER PRIMARY KEY)",
                "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p ON DELETE CASCADE)",
                "CREATE TABLE d(id INTEGER PRIMARY KEY, cid INTEGER REFERENCES c)",
                "INSERT INTO p VALUES (1), (2)",
                "INSERT INTO c VALUES (1, 1), (2, 2)",
                "INSERT INTO d VALUES (1, 2)",
                "BEGIN",
                "DELETE FROM p",
                "SELECT * FROM p ORDER BY id",
                "SELECT * FROM c ORDER BY id",
                "DELETE FROM p WHERE id = 1",
                "COMMIT",
                "SELECT * FROM p ORDER BY id",
                "SELECT * FROM c ORDER BY id",
            ],
        ),
    ]);
}

#[test]
fn drop_table_deletes_its_rows_first() {
    check(&[
        (
            "drop acts",
            &[
                "CREATE TABLE p(id INTEGER PRIMARY KEY)",
                "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p ON DELETE CASCADE)",
                "CREATE TABLE d(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p ON DELETE SET NULL)",
                "CREATE TRIGGER pd AFTER DELETE ON p BEGIN INSERT INTO d VALUES (100 + OLD.id, NULL); END",
                "INSERT INTO p VALUES (1), (2)",
                "INSERT INTO c VALUES (1, 1), (2, NULL)",
                "INSERT INTO d VALUES (1, 2)",
                "DROP TABLE p",
                "SELECT * FROM c ORDER BY id",
                "SELECT * FROM d ORDER BY id",
                "SELECT total_changes()",
            ],
        ),
        (
            "drop refused",
            &[
                "CREATE TABLE p(id INTEGER PRIMARY KEY)",
                "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p ON DELETE CASCADE)",
                "CREATE TABLE r(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p)",
                "INSERT INTO p VALUES (1), (2)",
                "INSERT INTO c VALUES (1, 1)",
                "INSERT INTO r VALUES (1, 2)",
                "DROP TABLE p",
                "SELECT * FROM p ORDER BY id",
                "SELECT * FROM c ORDER BY id",
                "DELETE FROM r",
                "DROP TABLE p",
                "SELECT * FROM c ORDER BY id",
            ],
        ),
    ]);
}

#[test]
fn cascaded_changes_are_versioned_with_their_statement() {
    check(&[(
        "as of before the cascade",
        &[
            "CREATE TABLE p(id INTEGER PRIMARY KEY)",
            "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p ON DELETE CASCADE ON UPDATE SET NULL)",
            "INSERT INTO p VALUES (1), (2)",
            "INSERT INTO c VALUES (1, 1), (2, 1), (3, 2)",
            "@mark",
            "@ours DELETE FROM p WHERE id = 1",
            "@ours UPDATE p SET id = 9 WHERE id = 2",
            "SELECT * FROM c ORDER BY id @@ SELECT * FROM c AS OF SCN {scn} ORDER BY id",
            "SELECT * FROM p ORDER BY id @@ SELECT * FROM p AS OF SCN {scn} ORDER BY id",
        ],
    )]);
    // And AS OF the points after each statement, the cascade's results.
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(
        "CREATE TABLE p(id INTEGER PRIMARY KEY);
         CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p ON DELETE CASCADE ON UPDATE SET NULL);
         INSERT INTO p VALUES (1), (2);
         INSERT INTO c VALUES (1, 1), (2, 1), (3, 2);",
    )
    .unwrap();
    let scn = |db: &Connection| -> i64 {
        db.query_row("SELECT current_scn()", [], |r| r.get(0))
            .unwrap()
    };
    let rows = |db: &Connection, sql: &str| -> Vec<Vec<Value>> {
        db.prepare(sql)
            .unwrap()
            .query([])
            .unwrap()
            .into_values()
            .unwrap()
    };
    let before = scn(&db);
    db.execute("DELETE FROM p WHERE id = 1", []).unwrap();
    let after_delete = scn(&db);
    db.execute("UPDATE p SET id = 9 WHERE id = 2", []).unwrap();
    let after_update = scn(&db);
    let at = |point: i64| {
        rows(
            &db,
            &format!("SELECT id, pid FROM c AS OF SCN {point} ORDER BY id"),
        )
    };
    let int = Value::Integer;
    assert_eq!(
        at(before),
        vec![
            vec![int(1), int(1)],
            vec![int(2), int(1)],
            vec![int(3), int(2)]
        ]
    );
    assert_eq!(at(after_delete), vec![vec![int(3), int(2)]]);
    assert_eq!(at(after_update), vec![vec![int(3), Value::Null]]);
    assert_eq!(
        at(after_update),
        rows(&db, "SELECT id, pid FROM c ORDER BY id")
    );
}

#[test]
fn actions_survive_reopen_and_rename() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = Connection::open(&path).unwrap();
        db.execute_batch(
            "CREATE TABLE p(id INTEGER PRIMARY KEY);
             CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p ON DELETE CASCADE ON UPDATE SET DEFAULT);
             ALTER TABLE p RENAME TO parent;
             INSERT INTO parent VALUES (1);
             INSERT INTO c VALUES (1, 1);",
        )
        .unwrap();
    }
    let db = Connection::open(&path).unwrap();
    let actions: Vec<Vec<Value>> = db
        .prepare("PRAGMA foreign_key_list(c)")
        .unwrap()
        .query([])
        .unwrap()
        .into_values()
        .unwrap()
        .into_iter()
        .map(|r| vec![r[2].clone(), r[5].clone(), r[6].clone()])
        .collect();
    let text = |s: &str| Value::Text(s.to_string());
    assert_eq!(
        actions,
        vec![vec![text("parent"), text("SET DEFAULT"), text("CASCADE")]]
    );
    db.execute("DELETE FROM parent", []).unwrap();
    let n: i64 = db
        .query_row("SELECT count(*) FROM c", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

/// A chain of cascades as deep as SQLite allows (1000 levels) works; one level more fails
/// as in SQLite, with nothing deleted.
#[test]
fn cascade_depth_limit_is_sqlites() {
    for (n, ok) in [(1000, true), (1001, false)] {
        let script = format!(
            "CREATE TABLE t(id INTEGER PRIMARY KEY, up INTEGER REFERENCES t ON DELETE CASCADE);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
             INSERT INTO t SELECT i, CASE i WHEN 1 THEN NULL ELSE i - 1 END FROM n;"
        );
        let ours = Connection::open_in_memory().unwrap();
        ours.execute_batch(&script).unwrap();
        let theirs = rusqlite::Connection::open_in_memory().unwrap();
        theirs.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        theirs.execute_batch(&script).unwrap();
        let a = theirs.execute_batch("DELETE FROM t WHERE id = 1");
        let b = ours.execute_batch("DELETE FROM t WHERE id = 1");
        assert_eq!(a.is_ok(), ok, "{a:?}");
        assert_eq!(b.is_ok(), ok, "{b:?}");
        if let Err(e) = b {
            assert!(
                e.to_string()
                    .contains("too many levels of trigger recursion"),
                "{e}"
            );
        }
        let left: i64 = ours
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, if ok { 0 } else { n });
    }
}
