//! Which tables have a rowid. Against the bundled SQLite: a column's `INTEGER PRIMARY KEY
//! DESC` is no rowid alias (SQLite's documented quirk), a WITHOUT ROWID table has no rowid,
//! needs a PRIMARY KEY and refuses AUTOINCREMENT. And where we differ on purpose (README): a
//! rowid table keyed by another PRIMARY KEY has no rowid here, so naming it is an error that
//! says so, never a NULL. Script notation: see `sqlite_dialect.rs`.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::{check, errors};

#[test]
fn integer_primary_key_desc_is_no_rowid_alias() {
    check(&[(
        "pk desc",
        &[
            "CREATE TABLE t(x INTEGER PRIMARY KEY DESC, y)",
            // Not an alias: an INTEGER column that keeps what it cannot convert.
            "INSERT INTO t VALUES ('abc', 1)",
            "INSERT INTO t VALUES (5, 2)",
            "INSERT INTO t VALUES ('5', 3)",
            "SELECT x, typeof(x), y FROM t ORDER BY y",
            "SELECT y FROM t WHERE x = 5",
            "SELECT y FROM t WHERE x = '5'",
            // The table constraint's DESC still makes the alias, as in SQLite.
            "CREATE TABLE u(x INTEGER, y, PRIMARY KEY(x DESC))",
            "INSERT INTO u VALUES (7, 1)",
            "INSERT INTO u VALUES ('abc', 1)",
            "SELECT rowid, x FROM u",
            "CREATE TABLE w(x INTEGER PRIMARY KEY ASC, y)",
            "INSERT INTO w VALUES (3, 3)",
            "INSERT INTO w VALUES ('x', 3)",
            "SELECT rowid, x FROM w",
            "CREATE TABLE bad(x INTEGER PRIMARY KEY DESC AUTOINCREMENT)",
            "CREATE TABLE named(x INTEGER CONSTRAINT k PRIMARY KEY DESC, y)",
            "INSERT INTO named VALUES ('abc', 1)",
            "SELECT x, y FROM named",
        ],
    )]);
}

#[test]
fn a_without_rowid_table_has_no_rowid() {
    check(&[(
        "without rowid",
        &[
            // Its INTEGER PRIMARY KEY is no alias either: NULL is refused, not numbered.
            "CREATE TABLE w(a INTEGER PRIMARY KEY, b) WITHOUT ROWID",
            "INSERT INTO w VALUES (2, 'x'), (1, 'y')",
            "SELECT * FROM w",
            "SELECT rowid FROM w",
            "SELECT w.rowid FROM w",
            "SELECT oid FROM w",
            "SELECT _rowid_ FROM w",
            "SELECT w.* FROM w ORDER BY a",
            "INSERT INTO w VALUES (NULL, 'z')",
            "INSERT INTO w(rowid, a, b) VALUES (9, 9, 'z')",
            "UPDATE w SET rowid = 3",
            "SELECT * FROM w ORDER BY a",
            "PRAGMA table_list(w)",
            "CREATE TABLE w2(a) WITHOUT ROWID",
            "CREATE TABLE w3(a INTEGER PRIMARY KEY AUTOINCREMENT) WITHOUT ROWID",
            "CREATE TABLE w4(a TEXT, b INT, PRIMARY KEY(b, a)) WITHOUT ROWID",
            "INSERT INTO w4 VALUES ('p', 2), ('q', 1)",
            "SELECT * FROM w4",
            "SELECT * FROM w4 WHERE b = 2",
            "INSERT INTO w4 VALUES ('q', 1)",
            "PRAGMA table_list(w4)",
            "PRAGMA table_list",
            // A real column may be called rowid.
            "CREATE TABLE w5(rowid TEXT PRIMARY KEY, v) WITHOUT ROWID",
            "INSERT INTO w5 VALUES ('r', 1)",
            "SELECT rowid, v FROM w5",
            "SELECT w5.* FROM w5",
            "CREATE TABLE t6(rowid TEXT, v)",
            "INSERT INTO t6 VALUES ('r', 1)",
            "SELECT t6.* FROM t6",
            "SELECT rowid, oid FROM t6",
            // With no rowid here, the name resolves to an enclosing query's table.
            "CREATE TABLE r(id INTEGER PRIMARY KEY, z)",
            "INSERT INTO r VALUES (1, 'a'), (2, 'b')",
            "SELECT (SELECT count(*) FROM w WHERE a > 0 AND rowid = 2) FROM r ORDER BY z",
            "SELECT r.id, (SELECT max(a) FROM w WHERE a <= rowid) FROM r ORDER BY r.id",
        ],
    )]);
    // SQLite's words, after our "error: " (the kind of error).
    for sql in [
        "CREATE TABLE w(a) WITHOUT ROWID",
        "CREATE TABLE w(a INTEGER PRIMARY KEY AUTOINCREMENT) WITHOUT ROWID",
    ] {
        let (theirs, ours) = errors(sql);
        let theirs = theirs.expect("SQLite refuses it");
        assert!(
            ours.as_deref().is_some_and(|o| o.ends_with(&theirs)),
            "{sql}: SQLite says {theirs:?}, HeliosDB {ours:?}"
        );
    }
    let db = heliosdb_lite::Connection::open_in_memory().unwrap();
    db.execute_batch(
        "CREATE TABLE w(a INTEGER PRIMARY KEY) WITHOUT ROWID; INSERT INTO w VALUES (1)",
    )
    .unwrap();
    let e = first_error(&db, "SELECT rowid FROM w");
    assert_eq!(e, "no such column: rowid");
}

/// A rowid table keyed by a PRIMARY KEY other than an INTEGER PRIMARY KEY has no rowid here
/// (a documented difference): every name of the rowid is an error that explains it, where a
/// NULL would be a silently different answer.
#[test]
fn the_rowid_of_a_table_keyed_by_its_primary_key_is_an_explained_error() {
    let db = heliosdb_lite::Connection::open_in_memory().unwrap();
    db.execute_batch(
        "CREATE TABLE v(a TEXT PRIMARY KEY, b); INSERT INTO v VALUES ('q', 1);
         CREATE TABLE r(id INTEGER PRIMARY KEY, z); INSERT INTO r VALUES (3, 'k');",
    )
    .unwrap();
    for sql in [
        "SELECT rowid FROM v",
        "SELECT v.oid FROM v",
        "SELECT x._rowid_ FROM v x",
        "SELECT _rowid_, * FROM v",
        "SELECT count(*) FROM v WHERE rowid > 0",
        "DELETE FROM v WHERE rowid = 1",
        "SELECT v.rowid FROM r, v",
        // Not an enclosing query's rowid: the name stops at v.
        "DELETE FROM r WHERE EXISTS (SELECT 1 FROM v WHERE rowid = r.id)",
        "INSERT INTO v(rowid, a) VALUES (5, 'x')",
        "UPDATE v SET rowid = 5",
    ] {
        let e = first_error(&db, sql);
        assert!(
            e.contains("no such column: ") && e.contains("table v is keyed by its PRIMARY KEY"),
            "{sql}: {e}"
        );
    }
    // Beside another table, unqualified, it is as ambiguous as in SQLite (where v has a
    // rowid too), never the other table's.
    for sql in [
        "SELECT rowid FROM r, v",
        "SELECT rowid FROM v, r",
        "UPDATE v SET b = 0 FROM r WHERE rowid = 3",
    ] {
        assert_eq!(
            first_error(&db, sql),
            "ambiguous column name: rowid",
            "{sql}"
        );
    }
    // In a trigger body too, rather than the trigger's OLD row.
    db.execute_batch(
        "CREATE TRIGGER tr AFTER DELETE ON r BEGIN DELETE FROM v WHERE rowid = 3; END",
    )
    .unwrap();
    let e = first_error(&db, "DELETE FROM r WHERE id = 3");
    assert!(e.contains("table v is keyed by its PRIMARY KEY"), "{e}");
    db.execute_batch("DROP TRIGGER tr").unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        (
            count("SELECT count(*) FROM r"),
            count("SELECT count(*) FROM v")
        ),
        (1, 1)
    );
    // The other table's rowid is still there, and `v.*` shows only the columns.
    let (rowid, b): (i64, i64) = db
        .query_row("SELECT r.rowid, v.b FROM r, v", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((rowid, b), (3, 1));
    let width = db.prepare("SELECT v.* FROM v").unwrap().column_count();
    assert_eq!(width, 2);
    // An insert into it gives no rowid, so the last one stays.
    db.execute_batch("INSERT INTO r VALUES (42, 'm'); INSERT INTO v VALUES ('w', 2)")
        .unwrap();
    let last: i64 = db
        .query_row("SELECT last_insert_rowid()", [], |r| r.get(0))
        .unwrap();
    assert_eq!(last, 42);
}

/// An unqualified rowid name over two tables that both have one is ambiguous, as in SQLite,
/// where it used to read the first table's silently; a WITHOUT ROWID table, a view or a
/// subquery offers none, so the name is the other table's. `json_each` / `json_tree` rows
/// have one (they had none here).
#[test]
fn an_unqualified_rowid_over_two_rowid_tables_is_ambiguous() {
    check(&[(
        "ambiguous rowid",
        &[
            "CREATE TABLE a(x)",
            "CREATE TABLE b(y)",
            "CREATE TABLE w(k PRIMARY KEY, z) WITHOUT ROWID",
            "CREATE VIEW v AS SELECT x FROM a",
            "INSERT INTO a VALUES (1), (2)",
            "INSERT INTO b VALUES (5)",
            "INSERT INTO w VALUES (7, 8)",
            "SELECT rowid FROM a, b",
            "SELECT oid FROM a JOIN b ON 1",
            "SELECT _rowid_ FROM a LEFT JOIN b ON 1",
            "SELECT rowid FROM a, a AS a2",
            "SELECT rowid FROM a NATURAL JOIN a AS a2",
            "SELECT (SELECT rowid FROM b, a) FROM a",
            "SELECT a.rowid, b.rowid FROM a, b ORDER BY 1",
            "SELECT rowid, x FROM a, w ORDER BY 1",
            "SELECT rowid, x FROM w, a ORDER BY 1",
            "SELECT rowid, x FROM a, v ORDER BY 1",
            "SELECT rowid, x FROM a, (SELECT 1) ORDER BY 1",
            "SELECT (SELECT rowid FROM b) FROM a",
            "SELECT x FROM a WHERE rowid IN (SELECT rowid FROM b)",
            "UPDATE a SET x = 0 FROM b WHERE rowid = 1",
            "SELECT * FROM a ORDER BY x",
            "SELECT key FROM json_each('[1]'), json_each('[2]')",
            // A table-valued function's rows have a rowid (numbered from 0), as a virtual
            // table's do in SQLite.
            "SELECT rowid FROM a, json_each('[1]')",
            "SELECT rowid FROM json_each('[5]') j1, json_each('[6]') j2",
            "SELECT rowid, key, id FROM json_each('[5,6]')",
            "SELECT j.oid, j._rowid_, j.* FROM json_each('[5,6]') j",
            "SELECT rowid, key, id FROM json_tree('{\"a\":[5,6]}')",
            "SELECT a.x, j.rowid FROM a LEFT JOIN json_each('[]') j ORDER BY 1",
            "SELECT a.x, j.rowid, j.value FROM a, json_each('[7,8]') j ORDER BY 1, 2",
            // An upsert's bare rowid is its target's, never ambiguous with `excluded`'s.
            "CREATE TABLE up(k UNIQUE, n)",
            "INSERT INTO up VALUES (1, 0)",
            "INSERT INTO up VALUES (1, 0) ON CONFLICT(k) DO UPDATE SET n = rowid",
            "INSERT INTO up VALUES (1, 0) ON CONFLICT(k) DO UPDATE SET n = n + excluded.rowid",
            "INSERT INTO up VALUES (1, 0) ON CONFLICT(k) DO UPDATE SET n = oid + 10 WHERE _rowid_ = 1",
            "SELECT rowid, * FROM up",
            "CREATE TABLE upk(id INTEGER PRIMARY KEY, n)",
            "INSERT INTO upk VALUES (5, 0)",
            "INSERT INTO upk VALUES (5, 1) ON CONFLICT(id) DO UPDATE SET n = rowid + excluded.n",
            "SELECT * FROM upk",
            // sqlite_schema has a rowid in SQLite: beside a table, the name is ambiguous.
            "SELECT rowid FROM a, sqlite_schema",
        ],
    )]);
    let db = heliosdb_lite::Connection::open_in_memory().unwrap();
    db.execute_batch("CREATE TABLE a(x); CREATE TABLE b(y)")
        .unwrap();
    for sql in [
        "SELECT rowid FROM a, b",
        "DELETE FROM a WHERE rowid IN (SELECT rowid FROM a, b)",
        "SELECT rowid FROM a, sqlite_schema",
    ] {
        assert_eq!(
            first_error(&db, sql),
            "ambiguous column name: rowid",
            "{sql}"
        );
    }
    // sqlite_schema's rows have no rowid here (SQLite numbers them in the order it wrote
    // them, which the catalog does not keep): naming it is an error, never the rowid of an
    // enclosing query's table.
    db.execute_batch("INSERT INTO a VALUES (1)").unwrap();
    for sql in [
        "SELECT rowid, name FROM sqlite_schema",
        "SELECT s.oid FROM sqlite_master s",
        "SELECT (SELECT name FROM sqlite_schema WHERE rowid = 1) FROM a",
    ] {
        let e = first_error(&db, sql);
        assert!(e.contains("has no rowid in HeliosDB-Lite"), "{sql}: {e}");
    }
    let width = db
        .prepare("SELECT * FROM sqlite_schema")
        .unwrap()
        .column_count();
    assert_eq!(width, 5);
}

/// `ASC` / `DESC` right after a column's type words are part of its type name in SQLite
/// (`x INTEGER DESC PRIMARY KEY` is no rowid alias, the type is "INTEGER DESC"); anywhere but
/// there and right after PRIMARY KEY, they are a syntax error.
#[test]
fn order_words_after_a_type_are_part_of_its_name() {
    check(&[(
        "type order words",
        &[
            "CREATE TABLE d(x INTEGER DESC PRIMARY KEY, y)",
            "INSERT INTO d VALUES ('abc', 1)",
            "INSERT INTO d VALUES (5, 2)",
            "SELECT x, typeof(x), y FROM d ORDER BY y",
            "PRAGMA table_info(d)",
            "CREATE TABLE e(x DESC, y TEXT ASC, z INTEGER ASC DESC)",
            "INSERT INTO e VALUES ('1', 2, '3')",
            "SELECT typeof(x), typeof(y), typeof(z) FROM e",
            "CREATE TABLE f(x INTEGER ASC PRIMARY KEY)",
            "INSERT INTO f VALUES ('q')",
            "SELECT x FROM f",
            "CREATE TABLE bad1(x INTEGER NOT NULL DESC)",
            "CREATE TABLE bad2(x INTEGER UNIQUE ASC)",
            "CREATE TABLE bad3(x INTEGER PRIMARY KEY DESC ASC)",
            "CREATE TABLE bad4(x INTEGER(5) DESC)",
            "CREATE TABLE bad5(x INTEGER CONSTRAINT c DESC)",
            "CREATE TABLE bad6(x INTEGER PRIMARY KEY CONSTRAINT c DESC)",
            "SELECT name FROM sqlite_schema WHERE name LIKE 'bad%'",
            "CREATE TABLE named(x INTEGER CONSTRAINT k PRIMARY KEY DESC, y)",
            "INSERT INTO named VALUES ('a', 1)",
            "SELECT * FROM named",
            "ALTER TABLE f ADD COLUMN y INTEGER DESC",
            "INSERT INTO f VALUES ('r', '5')",
            "SELECT x, y, typeof(y) FROM f ORDER BY x",
            "ALTER TABLE f ADD COLUMN z TEXT NOT NULL DEFAULT 1 DESC",
            "PRAGMA table_info(f)",
        ],
    )]);
    let db = heliosdb_lite::Connection::open_in_memory().unwrap();
    db.execute_batch("CREATE TABLE t(x)").unwrap();
    for (sql, word) in [
        ("CREATE TABLE bad1(x INTEGER NOT NULL DESC)", "DESC"),
        ("CREATE TABLE bad3(x INTEGER PRIMARY KEY DESC ASC)", "ASC"),
        // A syntax error even where the table exists.
        ("CREATE TABLE IF NOT EXISTS t(x INT NOT NULL DESC)", "DESC"),
        ("ALTER TABLE t ADD COLUMN y INT UNIQUE DESC", "DESC"),
    ] {
        assert_eq!(
            first_error(&db, sql),
            format!("near \"{word}\": syntax error"),
            "{sql}"
        );
    }
    // Columns are read in order, as SQLite's parser reads them: a duplicate name first, and
    // an existing table before any column.
    assert_eq!(
        first_error(&db, "CREATE TABLE u(x, x INT NOT NULL DESC)"),
        "duplicate column name: x"
    );
    let e = first_error(&db, "CREATE TABLE t(x INT NOT NULL DESC)");
    assert!(e.contains("already exists"), "{e}");
}

fn first_error(db: &heliosdb_lite::Connection, sql: &str) -> String {
    let run = || -> heliosdb_lite::Result<()> {
        let mut st = db.prepare(sql)?;
        let mut rows = st.query([])?;
        while rows.next()?.is_some() {}
        Ok(())
    };
    match run() {
        Ok(()) => panic!("{sql} succeeded"),
        Err(e) => e.to_string(),
    }
}
