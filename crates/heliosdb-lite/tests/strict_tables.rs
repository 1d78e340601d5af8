//! STRICT tables against the bundled SQLite (notation of `sqlite_dialect.rs`): the declared
//! types a STRICT table accepts, the values each column type converts or refuses, on INSERT,
//! multi-row and INSERT ... SELECT, UPDATE, UPSERT, REPLACE and foreign-key actions; the
//! exact error texts; reads `AS OF` a past point; and the table staying STRICT across a
//! reopen of the database.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::check;
use heliosdb_lite::types::Value;
use heliosdb_lite::Connection;

const TYPED: &str = "CREATE TABLE t(id INTEGER PRIMARY KEY, i INT, n INTEGER, r REAL, s TEXT, \
                     b BLOB, x ANY) STRICT";

#[test]
fn declared_types_of_a_strict_table() {
    check(&[(
        "types",
        &[
            TYPED,
            "CREATE TABLE u(a VARCHAR(10)) STRICT",
            "CREATE TABLE u(a) STRICT",
            "CREATE TABLE u(a NUMERIC) STRICT",
            "CREATE TABLE u(a int, b Text, c real, d blob, e any) STRICT",
            "INSERT INTO u VALUES ('1', 2, '3.5', x'00', '007')",
            "SELECT a, typeof(a), b, typeof(b), c, typeof(c), typeof(d), e, typeof(e) FROM u",
            "ALTER TABLE u ADD COLUMN f DATE",
            "ALTER TABLE u ADD COLUMN f",
            "ALTER TABLE u ADD COLUMN f INTEGER",
            "INSERT INTO u(f) VALUES ('x')",
            "INSERT INTO u(f) VALUES ('12')",
            "SELECT f, typeof(f) FROM u ORDER BY rowid",
            "SELECT sql FROM sqlite_master WHERE name = 'u'",
            "CREATE TABLE plain(a, b)",
            "CREATE VIEW v AS SELECT id, i, n FROM t",
            "PRAGMA table_list",
            "PRAGMA table_list(t)",
            "PRAGMA table_list(plain)",
            "PRAGMA table_list(v)",
            "PRAGMA table_list(nosuch)",
        ],
    )]);
}

#[test]
fn values_are_converted_or_refused_by_column_type() {
    check(&[(
        "insert",
        &[
            TYPED,
            "INSERT INTO t VALUES (1, 1, 2, 3, 'a', x'01', 'free')",
            "INSERT INTO t VALUES (2, '12', ' 13 ', '1.5', 12, x'02', 12)",
            "INSERT INTO t VALUES (3, 4.0, '1e2', 7, 2.5, NULL, x'ff')",
            "INSERT INTO t VALUES ('4', NULL, NULL, NULL, NULL, NULL, 4.5)",
            "INSERT INTO t VALUES (5, 'abc', 1, 1, 'a', x'00', 1)",
            "INSERT INTO t VALUES (5, 1.5, 1, 1, 'a', x'00', 1)",
            "INSERT INTO t VALUES (5, x'01', 1, 1, 'a', x'00', 1)",
            "INSERT INTO t VALUES (5, 1, '12.5', 1, 'a', x'00', 1)",
            "INSERT INTO t VALUES (5, 1, 1, 'abc', 'a', x'00', 1)",
            "INSERT INTO t VALUES (5, 1, 1, x'00', 'a', x'00', 1)",
            "INSERT INTO t VALUES (5, 1, 1, 1, x'00', x'00', 1)",
            "INSERT INTO t VALUES (5, 1, 1, 1, 'a', 'text', 1)",
            "INSERT INTO t VALUES (5, 1, 1, 1, 'a', 7, 1)",
            "INSERT INTO t VALUES ('five', 1, 1, 1, 'a', x'00', 1)",
            "INSERT INTO t VALUES (NULL, 9, 9, 9, 9, x'09', 9)",
            "INSERT INTO t(i) VALUES (1), ('bad'), (3)",
            "INSERT INTO t(i) SELECT 'x'",
            "INSERT INTO t(i, s) SELECT n, r FROM t WHERE id <= 3",
            "SELECT id, i, typeof(i), n, typeof(n), r, typeof(r), s, typeof(s), hex(b), x, typeof(x) \
             FROM t ORDER BY id",
        ],
    )]);
}

#[test]
fn updates_upserts_and_actions_are_checked() {
    check(&[
        (
            "update",
            &[
                TYPED,
                "INSERT INTO t(id, i, s) VALUES (1, 1, 'a'), (2, 2, 'b')",
                "UPDATE t SET i = '42' WHERE id = 1",
                "UPDATE t SET i = 'forty-two' WHERE id = 1",
                "UPDATE t SET i = i + 0.5",
                "UPDATE t SET r = i, s = i * 10",
                "UPDATE t SET id = 'x' WHERE id = 2",
                "UPDATE t SET id = '7' WHERE id = 2",
                "UPDATE OR IGNORE t SET b = 5",
                "SELECT id, i, typeof(i), r, typeof(r), s, typeof(s) FROM t ORDER BY id",
            ],
        ),
        (
            "upsert and replace",
            &[
                "CREATE TABLE k(name TEXT PRIMARY KEY, qty INTEGER NOT NULL) STRICT",
                "INSERT INTO k VALUES ('a', 1)",
                "INSERT INTO k VALUES ('a', 5) ON CONFLICT(name) DO UPDATE SET qty = qty + excluded.qty",
                "INSERT INTO k VALUES ('a', 5) ON CONFLICT(name) DO UPDATE SET qty = 'many'",
                "INSERT INTO k VALUES ('a', 'x') ON CONFLICT(name) DO NOTHING",
                "INSERT OR REPLACE INTO k VALUES ('a', '9')",
                "INSERT OR REPLACE INTO k VALUES ('a', 'nine')",
                "INSERT OR IGNORE INTO k VALUES ('b', 'nine')",
                "INSERT INTO k VALUES (NULL, 1)",
                "INSERT INTO k VALUES (1, 1)",
                "SELECT name, typeof(name), qty, typeof(qty) FROM k ORDER BY name",
            ],
        ),
        (
            "foreign-key action",
            &[
                "CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT UNIQUE)",
                "CREATE TABLE c(id INTEGER PRIMARY KEY, code INTEGER REFERENCES p(code) \
                 ON UPDATE CASCADE ON DELETE SET DEFAULT DEFAULT 'none') STRICT",
                "INSERT INTO p VALUES (1, '10'), (2, 'abc')",
                "INSERT INTO c VALUES (1, '10')",
                "UPDATE p SET code = '20' WHERE id = 1",
                "SELECT id, code, typeof(code) FROM c",
                "UPDATE p SET code = 'twenty' WHERE id = 1",
                "SELECT id, code, typeof(code) FROM c",
            ],
        ),
        (
            "generated columns",
            &[
                "CREATE TABLE g(a INT, s INTEGER AS (a || 'x') STORED, v INTEGER AS (a || '') VIRTUAL, \
                 w TEXT AS (a * 2) STORED) STRICT",
                "CREATE TABLE g2(a INT, s INTEGER AS (a || '') STORED, v INTEGER AS (a || 'x')) STRICT",
                "INSERT INTO g(a) VALUES (1)",
                "SELECT a, s, typeof(s), v, typeof(v), w, typeof(w) FROM g",
                "INSERT INTO g2(a) VALUES (1), (2)",
                "UPDATE g2 SET a = a + 10",
                "SELECT a, s, typeof(s), v, typeof(v) FROM g2 ORDER BY a",
            ],
        ),
        (
            "trigger",
            &[
                "CREATE TABLE src(v)",
                "CREATE TABLE dst(v INTEGER) STRICT",
                "CREATE TRIGGER tr AFTER INSERT ON src BEGIN INSERT INTO dst VALUES (NEW.v); END",
                "INSERT INTO src VALUES ('5')",
                "INSERT INTO src VALUES ('five')",
                "SELECT v, typeof(v) FROM dst",
                "SELECT count(*) FROM src",
            ],
        ),
    ]);
}

#[test]
fn strict_tables_read_as_of_a_past_point() {
    check(&[(
        "as of",
        &[
            TYPED,
            "INSERT INTO t(id, i, r, s, x) VALUES (1, '1', 1, 1, '1'), (2, 2, '2.5', 'two', 2)",
            "@mark",
            "@ours UPDATE t SET i = i * 100, s = 'changed'",
            "@ours DELETE FROM t WHERE id = 2",
            "SELECT id, i, typeof(i), r, typeof(r), s, x, typeof(x) FROM t ORDER BY id \
             @@ SELECT id, i, typeof(i), r, typeof(r), s, x, typeof(x) FROM t AS OF SCN {scn} ORDER BY id",
            "SELECT sum(i), sum(r) FROM t @@ SELECT sum(i), sum(r) FROM t AS OF SCN {scn}",
        ],
    )]);
}

/// The messages are SQLite's, word for word.
#[test]
fn errors_are_sqlites() {
    let cases: &[(&str, &str)] = &[
        (TYPED, "INSERT INTO t(i) VALUES ('abc')"),
        (TYPED, "INSERT INTO t(n) VALUES (1.5)"),
        (TYPED, "INSERT INTO t(r) VALUES ('x')"),
        (TYPED, "INSERT INTO t(s) VALUES (x'00')"),
        (TYPED, "INSERT INTO t(b) VALUES (1)"),
        (TYPED, "INSERT INTO t(b) VALUES (1.25)"),
        (TYPED, "UPDATE t SET i = 'x'"),
        ("SELECT 1", "CREATE TABLE u(a VARCHAR) STRICT"),
        ("SELECT 1", "CREATE TABLE u(a INT, b) STRICT"),
    ];
    let mut failures = Vec::new();
    for (setup, sql) in cases {
        let theirs = rusqlite::Connection::open_in_memory().unwrap();
        let ours = Connection::open_in_memory().unwrap();
        theirs.execute_batch(setup).unwrap();
        ours.execute_batch(setup).unwrap();
        // The UPDATE needs a row to fail on.
        theirs.execute_batch("INSERT INTO t(id) VALUES (1)").ok();
        ours.execute_batch("INSERT INTO t(id) VALUES (1)").ok();
        let expected = theirs.execute_batch(sql).err().map(|e| e.to_string());
        let got = ours.execute_batch(sql).err().map(|e| e.to_string());
        if expected.is_none() || expected != got {
            failures.push(format!(
                "{sql}\n    sqlite:   {expected:?}\n    heliosdb: {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The rowid column's own check comes first, as in SQLite ("datatype mismatch").
    let ours = Connection::open_in_memory().unwrap();
    ours.execute_batch(TYPED).unwrap();
    let err = ours
        .execute_batch("INSERT INTO t(id) VALUES ('one')")
        .unwrap_err()
        .to_string();
    assert!(err.contains("datatype mismatch"), "{err}");
}

/// The STRICT flag lives in the catalog: after a reopen the table still refuses what does
/// not fit, and a point before a value was stored still reads as it was.
#[test]
fn strict_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let before;
    {
        let db = Connection::open(&path).unwrap();
        db.execute_batch(
            "CREATE TABLE t(id INTEGER PRIMARY KEY, n INTEGER, s TEXT) STRICT;
             INSERT INTO t VALUES (1, '10', 5);",
        )
        .unwrap();
        before = db
            .query_row("SELECT current_scn()", [], |r| r.get::<_, i64>(0))
            .unwrap();
        db.execute_batch("UPDATE t SET n = 11").unwrap();
    }
    let db = Connection::open(&path).unwrap();
    let err = db
        .execute("INSERT INTO t VALUES (2, 'x', 'y')", [])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot store TEXT value in INTEGER column t.n"
    );
    db.execute("INSERT INTO t VALUES (2, '20', 6)", []).unwrap();
    let rows: Vec<Vec<Value>> = db
        .prepare("SELECT n, typeof(n), s, typeof(s) FROM t ORDER BY id")
        .unwrap()
        .query([])
        .unwrap()
        .into_values()
        .unwrap();
    let text = |s: &str| Value::Text(s.to_string());
    assert_eq!(
        rows,
        vec![
            vec![Value::Integer(11), text("integer"), text("5"), text("text")],
            vec![Value::Integer(20), text("integer"), text("6"), text("text")],
        ]
    );
    let old: i64 = db
        .query_row(
            &format!("SELECT n FROM t AS OF SCN {before} WHERE id = 1"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 10);
}

/// A prepared INSERT run many times with parameters (the batch-load path, whose bound form
/// is cached) converts and refuses exactly as SQLite does, row by row.
#[test]
fn prepared_batch_loads_are_checked() {
    let ours = Connection::open_in_memory().unwrap();
    let theirs = rusqlite::Connection::open_in_memory().unwrap();
    let create = "CREATE TABLE b(id INTEGER PRIMARY KEY, n INTEGER, r REAL, s TEXT) STRICT";
    ours.execute_batch(create).unwrap();
    theirs.execute_batch(create).unwrap();
    let sql = "INSERT INTO b(n, r, s) VALUES (?, ?, ?)";
    let mut mine = ours.prepare(sql).unwrap();
    let mut sqlite = theirs.prepare(sql).unwrap();
    for i in 0..200i64 {
        let n = if i % 7 == 0 {
            format!("n{i}")
        } else {
            i.to_string()
        };
        let r = format!("{i}.5");
        let got = mine
            .execute(heliosdb_lite::params![n.as_str(), r.as_str(), i])
            .map_err(|e| e.to_string());
        let expected = sqlite
            .execute(rusqlite::params![n.as_str(), r.as_str(), i])
            .map_err(|e| e.to_string());
        assert_eq!(got, expected, "row {i}");
    }
    let sum = |sql: &str| -> (i64, f64) {
        let a = ours
            .query_row(sql, [], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?)))
            .unwrap();
        let b = theirs
            .query_row(sql, [], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?)))
            .unwrap();
        assert_eq!(a, b, "{sql}");
        a
    };
    let (count, _) = sum("SELECT count(*), sum(r) FROM b");
    assert_eq!(count, 200 - 29);
    sum("SELECT sum(n), sum(length(s)) FROM b WHERE typeof(n) = 'integer' AND typeof(s) = 'text'");
}
