//! Catalog introspection as SQLite answers it, against the bundled SQLite: `sqlite_master` /
//! `sqlite_schema` (also read `AS OF` a past point, where it shows that point's schema) and
//! the PRAGMAs `table_info`, `table_xinfo`, `index_list`, `index_info`, `index_xinfo`,
//! `foreign_key_list`, and `user_version` (stored with the transaction, kept on disk). Script
//! notation: see `sqlite_dialect.rs`.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::check;

const SCHEMA: &[&str] = &[
    "CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT UNIQUE NOT NULL, n REAL DEFAULT 1.5)",
    "create table if not exists c(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p(id), \
     k TEXT, v INT DEFAULT 'x', UNIQUE(k, v), UNIQUE(v))",
    "CREATE INDEX c_k ON c(k DESC, pid)",
    "create unique index c_v ON c(v COLLATE NOCASE)",
    "CREATE VIEW vv AS SELECT id FROM p",
    "create trigger tr after insert on p begin select 1; end",
];

fn script(extra: &[&'static str]) -> Vec<&'static str> {
    SCHEMA.iter().chain(extra).copied().collect()
}

#[test]
fn sqlite_master_lists_the_catalog() {
    let lines = script(&[
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name",
        "SELECT type, name, tbl_name, typeof(rootpage), sql FROM sqlite_schema \
         WHERE type = 'table' ORDER BY name",
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'c' ORDER BY 1",
        "SELECT count(*) FROM sqlite_master m JOIN sqlite_schema n ON m.name = n.tbl_name",
        "SELECT * FROM main.sqlite_master WHERE name = 'vv'",
        "SELECT name FROM sqlite_master WHERE sql LIKE '%UNIQUE%' ORDER BY 1",
        "SELECT type, count(*) FROM sqlite_master GROUP BY type ORDER BY 1",
        "INSERT INTO sqlite_master VALUES ('table', 'x', 'x', 0, '')",
        "DELETE FROM sqlite_master",
        "DROP VIEW vv",
        "DROP INDEX c_k",
        "SELECT type, name FROM sqlite_master ORDER BY name",
    ]);
    check(&[("sqlite_master", &lines)]);
}

#[test]
fn sqlite_master_as_of_a_past_point() {
    let lines = script(&[
        "@mark",
        "@ours CREATE TABLE later(x)",
        "@ours DROP INDEX c_k",
        "@ours DROP VIEW vv",
        "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name \
         @@ SELECT type, name, tbl_name, sql FROM sqlite_master AS OF SCN {scn} ORDER BY name",
    ]);
    check(&[("as of", &lines)]);
}

#[test]
fn introspection_pragmas() {
    let lines = script(&[
        "CREATE TABLE q(a INT, b INT, PRIMARY KEY(a, b))",
        "CREATE TABLE f(id INTEGER PRIMARY KEY, qa INT, qb INT, pid INT, \
         FOREIGN KEY (qa, qb) REFERENCES q(a, b), FOREIGN KEY (pid) REFERENCES p)",
        "PRAGMA table_info(c)",
        "PRAGMA table_xinfo(c)",
        "PRAGMA table_info('p')",
        "PRAGMA main.table_xinfo(q)",
        "PRAGMA index_list(c)",
        "PRAGMA index_list(p)",
        "PRAGMA index_info(c_k)",
        "PRAGMA index_xinfo(c_k)",
        "PRAGMA index_xinfo(c_v)",
        "PRAGMA index_info(sqlite_autoindex_c_1)",
        "PRAGMA index_info(sqlite_autoindex_c_2)",
        "PRAGMA foreign_key_list(c)",
        "PRAGMA foreign_key_list(f)",
        "PRAGMA foreign_key_list(p)",
        "PRAGMA table_info(nosuch)",
        "PRAGMA table_xinfo(nosuch)",
        "PRAGMA index_list(nosuch)",
        "PRAGMA index_info(nosuch)",
        "PRAGMA foreign_key_list(nosuch)",
    ]);
    check(&[("pragmas", &lines)]);
}

#[test]
fn user_version_is_set_with_the_transaction() {
    check(&[(
        "user_version",
        &[
            "PRAGMA user_version",
            "PRAGMA user_version = 7",
            "PRAGMA user_version",
            "BEGIN",
            "PRAGMA user_version = 9",
            "PRAGMA user_version",
            "ROLLBACK",
            "PRAGMA user_version",
            "PRAGMA user_version = -3",
            "PRAGMA main.user_version",
            "PRAGMA user_version = 4294967297",
            "PRAGMA user_version",
            "PRAGMA user_version('12abc')",
            "PRAGMA user_version",
        ],
    )]);
}

#[test]
fn user_version_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let c = heliosdb_lite::Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA user_version = 42").unwrap();
    }
    let c = heliosdb_lite::Connection::open(&path).unwrap();
    let v: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 42);
}
