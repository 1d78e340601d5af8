//! `RAISE()` in triggers against the bundled SQLite: IGNORE skips the row (and the triggers
//! after it), ABORT undoes the statement, FAIL keeps what the statement did before, ROLLBACK
//! ends the transaction; the error is the trigger's own message. Scripts use the notation of
//! `sqlite_dialect.rs`; the messages are compared exactly by `same_errors`.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::check;

/// Runs each statement in both engines; both must succeed, or fail with the same message.
fn same_errors(script: &[&str]) {
    let ours = heliosdb_lite::Connection::open_in_memory().unwrap();
    let theirs = rusqlite::Connection::open_in_memory().unwrap();
    let mut failures = Vec::new();
    for sql in script {
        let a = theirs.execute_batch(sql).map_err(|e| e.to_string());
        let b = ours.execute_batch(sql).map_err(|e| e.to_string());
        if a != b {
            failures.push(format!("{sql}\n    sqlite:   {a:?}\n    heliosdb: {b:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn ignore_skips_the_row_and_the_later_triggers() {
    check(&[
        (
            "before",
            &[
                "CREATE TABLE t(a INTEGER PRIMARY KEY, b)",
                "CREATE TABLE log(n INTEGER PRIMARY KEY, x)",
                "CREATE TRIGGER ig BEFORE INSERT ON t WHEN NEW.b < 0 BEGIN \
                 INSERT INTO log(x) VALUES ('saw ' || NEW.a); SELECT RAISE(IGNORE); \
                 INSERT INTO log(x) VALUES ('never'); END",
                "CREATE TRIGGER ai AFTER INSERT ON t BEGIN INSERT INTO log(x) VALUES ('after ' || NEW.a); END",
                "INSERT INTO t VALUES (1, 5), (2, -1), (3, 7)",
                "SELECT changes()",
                "SELECT * FROM t ORDER BY a",
                "SELECT * FROM log ORDER BY n",
                "CREATE TRIGGER bu BEFORE UPDATE ON t BEGIN SELECT RAISE(IGNORE) WHERE OLD.a = 1; END",
                "UPDATE t SET b = b + 1",
                "SELECT changes()",
                "SELECT * FROM t ORDER BY a",
                "CREATE TRIGGER bd BEFORE DELETE ON t BEGIN \
                 SELECT CASE WHEN OLD.b > 6 THEN RAISE(IGNORE) END; END",
                "DELETE FROM t",
                "SELECT changes()",
                "SELECT * FROM t ORDER BY a",
            ],
        ),
        (
            "after",
            &[
                "CREATE TABLE t(a INTEGER PRIMARY KEY, b)",
                "CREATE TABLE log(n INTEGER PRIMARY KEY, x)",
                "CREATE TRIGGER a1 AFTER INSERT ON t BEGIN INSERT INTO log(x) VALUES ('a' || NEW.a); \
                 SELECT RAISE(IGNORE) WHERE NEW.a = 2; INSERT INTO log(x) VALUES ('b' || NEW.a); END",
                "INSERT INTO t VALUES (1, 1), (2, 2), (3, 3)",
                "SELECT changes()",
                "SELECT * FROM t ORDER BY a",
                "SELECT * FROM log ORDER BY n",
            ],
        ),
        (
            "nested: the inner statement skips its row, the outer trigger goes on",
            &[
                "CREATE TABLE t(a INTEGER PRIMARY KEY)",
                "CREATE TABLE u(x INTEGER)",
                "CREATE TABLE log(n INTEGER PRIMARY KEY, x)",
                "CREATE TRIGGER tu AFTER INSERT ON t BEGIN \
                 INSERT INTO u SELECT NEW.a * 10 + k FROM (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3); \
                 INSERT INTO log(x) VALUES ('done ' || NEW.a); END",
                "CREATE TRIGGER ui BEFORE INSERT ON u WHEN NEW.x % 10 = 2 BEGIN SELECT RAISE(IGNORE); END",
                "INSERT INTO t VALUES (1), (2)",
                "SELECT * FROM u ORDER BY x",
                "SELECT * FROM log ORDER BY n",
            ],
        ),
    ]);
}

#[test]
fn abort_fail_and_rollback() {
    check(&[
        (
            "abort undoes the statement",
            &[
                "CREATE TABLE t(a INTEGER PRIMARY KEY, b)",
                "INSERT INTO t VALUES (1, 1), (2, 2), (3, 3)",
                "CREATE TRIGGER ab BEFORE UPDATE ON t WHEN NEW.b > 20 BEGIN SELECT RAISE(ABORT, 'too big'); END",
                "UPDATE t SET b = b * 10",
                "SELECT * FROM t ORDER BY a",
                "BEGIN",
                "INSERT INTO t VALUES (4, 4)",
                "UPDATE t SET b = b * 10",
                "COMMIT",
                "SELECT * FROM t ORDER BY a",
            ],
        ),
        (
            "fail keeps the rows before",
            &[
                "CREATE TABLE t(a INTEGER PRIMARY KEY, b)",
                "CREATE TABLE log(x)",
                "CREATE TRIGGER fl BEFORE INSERT ON t WHEN NEW.b > 100 BEGIN \
                 INSERT INTO log VALUES (NEW.a); SELECT RAISE(FAIL, 'no big ones'); END",
                "INSERT INTO t VALUES (1, 1), (2, 1000), (3, 3)",
                "SELECT * FROM t ORDER BY a",
                "SELECT * FROM log",
                "BEGIN",
                "INSERT INTO t VALUES (5, 5), (6, 600)",
                "INSERT INTO t VALUES (7, 7)",
                "COMMIT",
                "SELECT * FROM t ORDER BY a",
                "SELECT * FROM log ORDER BY x",
            ],
        ),
        (
            "rollback ends the transaction",
            &[
                "CREATE TABLE t(a INTEGER PRIMARY KEY, b)",
                "CREATE TRIGGER rb BEFORE DELETE ON t WHEN OLD.a = 2 BEGIN SELECT RAISE(ROLLBACK, 'keep 2'); END",
                "INSERT INTO t VALUES (1, 1), (2, 2)",
                "BEGIN",
                "INSERT INTO t VALUES (3, 3)",
                "DELETE FROM t WHERE a = 2",
                "COMMIT",
                "SELECT * FROM t ORDER BY a",
                "DELETE FROM t WHERE a = 2",
                "SELECT * FROM t ORDER BY a",
                "DELETE FROM t WHERE a = 1",
                "SELECT * FROM t ORDER BY a",
            ],
        ),
    ]);
}

#[test]
fn the_error_is_the_triggers_message() {
    same_errors(&[
        "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT)",
        "CREATE TABLE c(id INTEGER PRIMARY KEY, a INTEGER REFERENCES t ON DELETE CASCADE)",
        "CREATE TRIGGER ab BEFORE INSERT ON t WHEN NEW.b = 'x' BEGIN SELECT RAISE(ABORT, 'no x please'); END",
        "CREATE TRIGGER fl AFTER UPDATE ON t BEGIN SELECT RAISE(FAIL, 'row ' || NEW.a || ' is frozen') WHERE OLD.b = 'frozen'; END",
        "CREATE TRIGGER rb BEFORE DELETE ON c BEGIN SELECT RAISE(ROLLBACK, 'children stay'); END",
        "INSERT INTO t VALUES (1, 'x')",
        "INSERT INTO t VALUES (1, 'frozen'), (2, 'y')",
        "UPDATE t SET b = 'z'",
        "INSERT INTO c VALUES (1, 2)",
        "DELETE FROM t WHERE a = 2",
        // Outside a trigger RAISE is refused, even where it would never run.
        "SELECT RAISE(ABORT, 'x')",
        "SELECT 1 WHERE random() = 0 AND RAISE(IGNORE)",
    ]);
    check(&[(
        "misuse",
        &[
            "CREATE TABLE t(a)",
            "SELECT RAISE(IGNORE)",
            "SELECT raise(ABORT, 'm')",
            "INSERT INTO t VALUES (RAISE(FAIL, 'm'))",
            "CREATE TRIGGER bad BEFORE INSERT ON t BEGIN SELECT RAISE(ABORT); END",
            "INSERT INTO t VALUES (1)",
            "CREATE TRIGGER bad2 BEFORE INSERT ON t BEGIN SELECT RAISE(WHATEVER, 'm'); END",
            "INSERT INTO t VALUES (2)",
            "SELECT * FROM t",
        ],
    )]);
}

#[test]
fn ignore_in_a_cascade_leaves_the_reference_and_fails() {
    check(&[(
        "cascade",
        &[
            "CREATE TABLE p(id INTEGER PRIMARY KEY)",
            "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p ON DELETE CASCADE)",
            "CREATE TRIGGER keep BEFORE DELETE ON c WHEN OLD.id = 2 BEGIN SELECT RAISE(IGNORE); END",
            "INSERT INTO p VALUES (1), (2)",
            "INSERT INTO c VALUES (1, 1), (2, 2)",
            "DELETE FROM p WHERE id = 1",
            "DELETE FROM p WHERE id = 2",
            "SELECT * FROM p ORDER BY id",
            "SELECT * FROM c ORDER BY id",
        ],
    )]);
}
