//! Catalog introspection as SQLite answers it, against the bundled SQLite: `sqlite_master` /
//! `sqlite_schema` (also read `AS OF` a past point, where it shows that point's schema) and
//! the PRAGMAs `table_info`, `table_xinfo`, `index_list`, `index_info`, `index_xinfo`,
//! `foreign_key_list`, and `user_version` (stored with the transaction, kept on disk); those
//! PRAGMAs and `table_list` read as table-valued functions (`pragma_table_info('t')`). Script
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
        "PRAGMA table_info(sqlite_schema)",
        "PRAGMA table_xinfo(SQLITE_MASTER)",
        "PRAGMA table_info(sqlite_temp_master)",
        "SELECT name, type FROM pragma_table_info('sqlite_master') ORDER BY cid DESC",
        "PRAGMA table_info(sqlite_nothing)",
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

/// The schema PRAGMAs as table-valued functions, the form tools use to read a schema in one
/// query: result columns, then the hidden `arg` and `schema`, and a rowid from 1; a correlated
/// argument (`FROM sqlite_schema s, pragma_table_info(s.name)`); the bare name without
/// arguments (`FROM pragma_table_list`).
#[test]
fn pragmas_as_table_valued_functions() {
    check(&[(
        "pragma functions",
        &script(&[
            "SELECT * FROM pragma_table_info('c')",
            "SELECT rowid, cid, name FROM pragma_table_info('P')",
            "SELECT name, arg, schema FROM pragma_table_info('p', 'main')",
            "SELECT * FROM pragma_table_info('p', 'temp')",
            "SELECT * FROM pragma_table_info('p', 'nosuch')",
            "SELECT * FROM pragma_table_info()",
            "SELECT * FROM pragma_table_info(NULL)",
            "SELECT * FROM pragma_table_info('nosuch')",
            "SELECT * FROM pragma_table_info('p', 'main', 3)",
            "SELECT * FROM pragma_table_xinfo('c')",
            "SELECT * FROM pragma_index_list('c')",
            "SELECT * FROM pragma_index_info('c_k')",
            "SELECT * FROM pragma_index_xinfo('c_v')",
            "SELECT * FROM pragma_foreign_key_list('c')",
            "SELECT * FROM pragma_table_list",
            "SELECT * FROM pragma_table_list('p')",
            "SELECT name, ncol FROM pragma_table_list() WHERE type = 'view'",
            "SELECT p.* FROM pragma_table_info('c') AS p WHERE p.pk = 1",
            "SELECT s.name, c.name, c.type FROM sqlite_schema s, pragma_table_info(s.name) c \
             WHERE s.type = 'table' ORDER BY 1, 2",
            "SELECT m.name, i.name, i.\"unique\" FROM sqlite_master m \
             JOIN pragma_index_list(m.name) i ORDER BY 1, 2",
            "SELECT count(*) FROM pragma_index_list('c') l, pragma_index_info(l.name) i",
            "SELECT (SELECT count(*) FROM pragma_table_info(s.name)) FROM sqlite_schema s \
             WHERE s.type = 'table' ORDER BY s.name",
            "SELECT * FROM pragma_nosuch('p')",
            "CREATE VIEW lv AS SELECT name FROM pragma_table_list",
            "SELECT * FROM lv ORDER BY 1",
            "SELECT ncol FROM pragma_table_list WHERE name = 'lv'",
            "SELECT typeof(arg), arg FROM pragma_table_info(1)",
            "SELECT name, arg FROM pragma_table_list('sqlite_master')",
            "SELECT * FROM pragma_table_list('p', 'main')",
            "SELECT * FROM pragma_table_info",
            "BEGIN",
            "CREATE TABLE nn(q)",
            "SELECT name FROM pragma_table_info('nn')",
            "SELECT name, ncol FROM pragma_table_list WHERE name = 'nn'",
            "ROLLBACK",
            "SELECT name FROM pragma_table_info('nn')",
            "CREATE TABLE pragma_table_list(x)",
            "INSERT INTO pragma_table_list VALUES (7)",
            "SELECT * FROM pragma_table_list",
        ]),
    )]);
}

/// A constraint on a PRAGMA function's argument column that was not given is the argument in
/// SQLite (`FROM pragma_table_info WHERE arg = 't'`); here naming that column is an error that
/// says so, never an empty answer.
#[test]
fn a_pragma_argument_not_given_is_an_explained_error() {
    let db = heliosdb_lite::Connection::open_in_memory().unwrap();
    db.execute_batch("CREATE TABLE t(a, b)").unwrap();
    for sql in [
        "SELECT count(*) FROM pragma_table_info WHERE arg = 't'",
        "SELECT count(*) FROM pragma_table_info('t') WHERE schema = 'main'",
        "SELECT p.schema FROM pragma_index_list('t') p",
    ] {
        let e = db
            .prepare(sql)
            .and_then(|mut s| s.query([]).map(|_| ()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("argument of pragma_"), "{sql}: {e}");
    }
    // Given, it reads back as text, as in SQLite.
    let schema: String = db
        .query_row(
            "SELECT schema FROM pragma_table_info('t', 'main') LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(schema, "main");
}

/// Planning `pragma_table_list` plans each view once (for its column count), also a view
/// that reads `pragma_table_list` itself, which must not plan itself for ever.
#[test]
fn a_view_over_pragma_table_list_is_listed() {
    let db = heliosdb_lite::Connection::open_in_memory().unwrap();
    db.execute_batch(
        "CREATE VIEW lv AS SELECT name, ncol FROM pragma_table_list;
         CREATE VIEW lv2 AS SELECT * FROM lv",
    )
    .unwrap();
    let ncol: i64 = db
        .query_row(
            "SELECT ncol FROM pragma_table_list WHERE name = 'lv2'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(ncol, 2);
    let rows: i64 = db
        .query_row("SELECT count(*) FROM lv2", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 4);
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

/// Tables, indexes and views share one namespace, triggers have their own (`CREATE TRIGGER t
/// ... ON t` is common): a trigger named like a table, an index or a view used to replace it
/// in the catalog (the table's rows unreachable, the index gone). An index name refuses a new
/// table or view even with IF NOT EXISTS, a table or view name a new index.
#[test]
fn triggers_have_a_namespace_of_their_own() {
    let lines = &[
        "CREATE TABLE t(a)",
        "INSERT INTO t VALUES (1)",
        "CREATE INDEX i ON t(a)",
        "CREATE VIEW v AS SELECT a FROM t",
        "CREATE TRIGGER t AFTER INSERT ON t BEGIN SELECT 1; END",
        "CREATE TRIGGER i AFTER INSERT ON t BEGIN SELECT 1; END",
        "CREATE TRIGGER v AFTER INSERT ON t BEGIN SELECT 1; END",
        "CREATE TRIGGER v AFTER INSERT ON t BEGIN SELECT 1; END",
        "CREATE TRIGGER IF NOT EXISTS v AFTER INSERT ON t BEGIN SELECT 1; END",
        "SELECT type, name, tbl_name FROM sqlite_schema ORDER BY 1, 2",
        "INSERT INTO t VALUES (2)",
        "SELECT a FROM t INDEXED BY i WHERE a > 0 ORDER BY a",
        "SELECT * FROM v ORDER BY a",
        "CREATE TABLE v(x)",
        "CREATE TABLE i(x)",
        "CREATE TABLE IF NOT EXISTS i(x)",
        "CREATE TABLE IF NOT EXISTS v(x)",
        "CREATE VIEW t AS SELECT 1",
        "CREATE VIEW IF NOT EXISTS i AS SELECT 1",
        "CREATE INDEX t ON t(a)",
        "CREATE INDEX IF NOT EXISTS v ON t(a)",
        "CREATE INDEX IF NOT EXISTS i ON t(a)",
        "CREATE TABLE tr(x)",
        "CREATE TRIGGER tr AFTER DELETE ON tr BEGIN SELECT 1; END",
        "ALTER TABLE tr RENAME TO i",
        "ALTER TABLE tr RENAME TO tr2",
        "SELECT type, name, tbl_name FROM sqlite_schema ORDER BY 1, 2",
        "DROP TRIGGER t",
        "DROP INDEX i",
        "SELECT count(*) FROM t",
        "DROP TABLE t",
        "SELECT type, name, tbl_name FROM sqlite_schema ORDER BY 1, 2",
    ];
    check(&[("namespaces", lines)]);
}

/// `PRAGMA table_info` of a view lists its columns as SQLite 3.50 does: the declared type of a
/// column selected as it is (through subqueries, CTEs, joins), the standard name of its
/// affinity where a compound's arms change it or it has no declared type, '' for an
/// expression; never NOT NULL, no default, no key. Declared column names win. (A view whose
/// table was dropped gives no rows here, an error in SQLite.)
#[test]
fn table_info_of_a_view_lists_its_columns() {
    let lines = &[
        "CREATE TABLE t(a VARCHAR(20) NOT NULL DEFAULT 5, b INT PRIMARY KEY, c, d DATE, e REAL, \
         f TEXT)",
        "CREATE VIEW v AS SELECT a, b + 1 AS bb, c, upper(a) u, 3 AS lit, d, t.b, e, f, \
         CAST(a AS INT) ci, a COLLATE NOCASE an, (SELECT max(b) FROM t) sq FROM t",
        "CREATE VIEW w(x, y, z, q) AS SELECT a, b, d, e FROM t UNION SELECT 1, 2, 'a', f FROM t",
        "CREATE VIEW s AS SELECT * FROM (SELECT a AS q, c FROM t) WHERE q > 1",
        "CREATE VIEW j AS SELECT x.a, y.d FROM t x JOIN t y USING (b)",
        "CREATE VIEW k AS WITH c1 AS (SELECT a FROM t) SELECT * FROM c1",
        "CREATE VIEW n AS SELECT b AS r FROM t UNION ALL SELECT f FROM t",
        "CREATE TABLE r(x)",
        "CREATE VIEW ri AS SELECT rowid AS id, oid AS o, x FROM r",
        "SELECT * FROM ri",
        "PRAGMA table_info(ri)",
        "PRAGMA table_info(v)",
        "PRAGMA table_xinfo(w)",
        "SELECT * FROM pragma_table_info('s')",
        "SELECT m.name, p.* FROM sqlite_schema m, pragma_table_xinfo(m.name) p \
         WHERE m.type = 'view' ORDER BY 1, p.cid",
        "SELECT name, ncol FROM pragma_table_list WHERE type = 'view' ORDER BY 1",
    ];
    check(&[("view columns", lines)]);
}
