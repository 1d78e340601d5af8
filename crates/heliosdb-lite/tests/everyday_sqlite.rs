//! Small everyday behaviours, statement by statement against the bundled SQLite: the rowid
//! an ignored `INSERT OR IGNORE` row leaves for the next row, `PRAGMA journal_mode`, `iif()`,
//! `format()` / `printf()`, and keywords used as aliases. Script notation: see
//! `sqlite_dialect.rs`.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::check;

#[test]
fn journal_mode_answers() {
    // Always "wal": the engine has one journal, whatever mode is asked for (README).
    let c = heliosdb_lite::Connection::open_in_memory().unwrap();
    for sql in ["PRAGMA journal_mode", "PRAGMA journal_mode = DELETE"] {
        let mode: String = c.query_row(sql, [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal", "{sql}");
    }
}

#[test]
fn an_ignored_insert_uses_no_rowid() {
    check(&[(
        "insert or ignore",
        &[
            "CREATE TABLE t(a TEXT UNIQUE, b INT)",
            "INSERT INTO t(a, b) VALUES ('x', 1)",
            "INSERT OR IGNORE INTO t(a, b) VALUES ('x', 2)",
            "INSERT INTO t(a, b) VALUES ('y', 3)",
            "SELECT rowid, a, b FROM t ORDER BY rowid",
            "INSERT OR IGNORE INTO t(a, b) VALUES ('z', 4), ('x', 5), ('w', 6), ('y', 7)",
            "SELECT rowid, a, b FROM t ORDER BY rowid",
            "INSERT INTO t(a, b) VALUES ('v', 8) ON CONFLICT DO NOTHING",
            "INSERT INTO t(a, b) VALUES ('v', 9) ON CONFLICT DO NOTHING",
            "INSERT INTO t(a, b) VALUES ('u', 10)",
            "SELECT rowid, a, b FROM t ORDER BY rowid",
            "CREATE TABLE k(id INTEGER PRIMARY KEY, a TEXT UNIQUE)",
            "INSERT INTO k(a) VALUES ('p')",
            "INSERT OR IGNORE INTO k(a) VALUES ('p')",
            "INSERT INTO k(a) VALUES ('q')",
            "SELECT id, a FROM k ORDER BY id",
            "INSERT OR IGNORE INTO k(id, a) VALUES (100, 'p')",
            "INSERT INTO k(a) VALUES ('t')",
            "SELECT id, a FROM k ORDER BY id",
            "BEGIN",
            "INSERT OR IGNORE INTO k(a) SELECT 'p' UNION ALL SELECT 'r'",
            "INSERT INTO k(a) VALUES ('s')",
            "COMMIT",
            "SELECT id, a FROM k ORDER BY id",
            "CREATE TABLE ai(id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT UNIQUE)",
            "INSERT INTO ai(a) VALUES ('p')",
            "INSERT OR IGNORE INTO ai(a) VALUES ('p')",
            "INSERT INTO ai(a) VALUES ('q')",
            "SELECT id, a FROM ai ORDER BY id",
        ],
    )]);
}

#[test]
fn journal_mode_iif_format_and_keyword_aliases() {
    check(&[(
        "small things",
        &[
            "SELECT iif(1, 'a', 'b'), iif(0, 'a', 'b'), iif(NULL, 'a', 'b'), iif(1 > 2, 1, 2.5)",
            "SELECT iif(1, 'a')",
            "SELECT printf('%d %5.2f %s %%', 42, 3.14159, 'x'), format('%05d|%-4s|', 7, 'ab')",
            "SELECT format('%x %X %o %e %g', 255, 255, 8, 12345.678, 0.0001)",
            "SELECT printf('%q %Q %w', 'it''s', 'it''s', 'a\"b'), printf('%Q', NULL)",
            "SELECT printf('%c', 'hello'), printf('%.3s', 'abcdef'), printf('%,d', 1234567)",
            "SELECT printf(NULL), printf('%d', '12abc'), printf('%s'), printf('%i', 3.9)",
            "SELECT 1 AS before, 2 AS after, 3 AS key, 4 AS action, 5 AS row",
            "CREATE TABLE t(x INT)",
            "INSERT INTO t VALUES (1), (2)",
            "SELECT before.x FROM t AS before ORDER BY before.x",
            "SELECT x AS before FROM t ORDER BY before",
            "SELECT x AS filter, x AS window FROM t ORDER BY 1",
        ],
    )]);
}
