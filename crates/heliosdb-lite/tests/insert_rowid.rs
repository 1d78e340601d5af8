//! `rowid`, `oid` and `_rowid_` as INSERT targets and UPDATE assignments, statement by
//! statement against the bundled SQLite (notation of `sqlite_dialect.rs`: `@mark`, `@ours`,
//! `<sqlite> @@ <heliosdb>`), on plain rowid tables, INTEGER PRIMARY KEY tables, tables with
//! a real column named `rowid`, and WITHOUT ROWID tables; and the rows read `AS OF` after
//! later changes.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::check;

#[test]
fn rowid_names_are_insert_targets_on_rowid_tables() {
    check(&[(
        "plain rowid table",
        &[
            "CREATE TABLE t(a, b)",
            "INSERT INTO t(rowid, a, b) VALUES (5, 'x', 'y')",
            "INSERT INTO t(oid, a) VALUES ('7', 'q')",
            "INSERT INTO t(_rowid_, a) VALUES (NULL, 'n')",
            "INSERT INTO t(a) VALUES ('auto')",
            "INSERT INTO t(a, ROWID) VALUES ('three', 3.0)",
            "SELECT rowid, typeof(rowid), a, b FROM t ORDER BY rowid",
            "SELECT last_insert_rowid()",
            "INSERT INTO t(rowid, a) VALUES (-4, 'negative') RETURNING rowid, a",
            "SELECT rowid, a FROM t WHERE rowid = -4",
            // Values that are not integers are refused, as SQLite does.
            "INSERT INTO t(rowid, a) VALUES (2.5, 'frac')",
            "INSERT INTO t(rowid, a) VALUES ('abc', 'text')",
            "INSERT INTO t(rowid, a) VALUES (x'01', 'blob')",
            "INSERT INTO t(rowid, a) VALUES ('9.5', 'numeric text')",
            // Named twice: the last value wins.
            "INSERT INTO t(rowid, rowid, a) VALUES (1, 2, 'twice')",
            "INSERT INTO t(rowid, oid, a) VALUES (11, 12, 'aliases')",
            "SELECT rowid, a FROM t ORDER BY rowid",
            // The three names read the rowid too, qualified or not.
            "SELECT oid, _rowid_, t.oid, t._rowid_, T.ROWID FROM t WHERE oid > 3 ORDER BY _rowid_",
            "UPDATE t SET b = 'by oid' WHERE oid = 12",
            "DELETE FROM t WHERE _rowid_ = 11",
            // From a SELECT, and the next automatic rowid follows the largest.
            "INSERT INTO t(rowid, a) SELECT rowid + 100, a || '+' FROM t WHERE rowid < 4",
            "INSERT INTO t(a) VALUES ('after')",
            "SELECT rowid, a FROM t ORDER BY rowid",
        ],
    )]);
}

#[test]
fn explicit_rowids_conflict_like_sqlite() {
    check(&[(
        "conflicts",
        &[
            "CREATE TABLE t(a, b UNIQUE)",
            "INSERT INTO t(rowid, a, b) VALUES (5, 'x', 1), (6, 'y', 2)",
            "INSERT INTO t(rowid, a) VALUES (5, 'dup')",
            "SELECT rowid, a, b FROM t ORDER BY rowid",
            "INSERT OR IGNORE INTO t(rowid, a) VALUES (5, 'ignored')",
            "INSERT OR REPLACE INTO t(rowid, a, b) VALUES (5, 'replaced', 9)",
            "SELECT rowid, a, b FROM t ORDER BY rowid",
            // A row that conflicts on the rowid and on b: REPLACE removes both old rows.
            "INSERT OR REPLACE INTO t(rowid, a, b) VALUES (6, 'both', 9)",
            "SELECT rowid, a, b FROM t ORDER BY rowid",
            "INSERT INTO t(rowid, a) VALUES (6, 'ups') ON CONFLICT DO UPDATE SET a = 'updated'",
            "INSERT INTO t(rowid, a) VALUES (6, 'ups') ON CONFLICT DO NOTHING",
            "SELECT rowid, a, b FROM t ORDER BY rowid",
            "SELECT changes(), total_changes()",
            // The statement fails as a whole: the first row is not kept.
            "INSERT INTO t(rowid, a) VALUES (20, 'ok'), (6, 'dup')",
            "SELECT count(*) FROM t WHERE rowid = 20",
        ],
    )]);
}

/// SQLite's next rowid is one past the largest in use at the insert: a largest row deleted
/// (or moved lower) earlier in the same transaction gives its rowid back, whether the
/// transaction inserted it or found it; an AUTOINCREMENT table never reuses one.
#[test]
fn a_deleted_largest_rowid_is_handed_out_again_within_the_transaction() {
    check(&[
        (
            "rowid table",
            &[
                "CREATE TABLE t(id INTEGER PRIMARY KEY, v)",
                "INSERT INTO t VALUES (1, 'a'), (2, 'b')",
                "BEGIN",
                "DELETE FROM t WHERE id = 2",
                "INSERT INTO t(v) VALUES ('c')",
                "DELETE FROM t WHERE id = 2",
                "INSERT INTO t(v) VALUES ('d')",
                "INSERT INTO t(v) VALUES ('e')",
                "UPDATE t SET id = 10 WHERE id = 3",
                "INSERT INTO t(v) VALUES ('f')",
                "UPDATE t SET id = 5 WHERE id = 11",
                "INSERT INTO t(v) VALUES ('g')",
                "INSERT OR REPLACE INTO t VALUES (11, 'h')",
                "INSERT INTO t(id, v) VALUES (30, 'i')",
                "DELETE FROM t WHERE id >= 11",
                "INSERT INTO t(v) VALUES ('j')",
                "COMMIT",
                "SELECT id, v FROM t ORDER BY id",
            ],
        ),
        (
            "autoincrement",
            &[
                "CREATE TABLE a(id INTEGER PRIMARY KEY AUTOINCREMENT, v)",
                "BEGIN",
                "INSERT INTO a(v) VALUES ('x'), ('y')",
                "DELETE FROM a WHERE id = 2",
                "INSERT INTO a(v) VALUES ('z')",
                "COMMIT",
                "SELECT id, v FROM a ORDER BY id",
            ],
        ),
        (
            "foreign-key cascade",
            &[
                "PRAGMA foreign_keys = ON",
                "CREATE TABLE p(id INTEGER PRIMARY KEY)",
                "CREATE TABLE c(id INTEGER PRIMARY KEY, p REFERENCES p ON DELETE CASCADE)",
                "INSERT INTO p VALUES (1), (2)",
                "BEGIN",
                "INSERT INTO c(p) VALUES (1), (2)",
                "DELETE FROM p WHERE id = 2",
                "INSERT INTO c(p) VALUES (1)",
                "COMMIT",
                "SELECT id, p FROM c ORDER BY id",
            ],
        ),
    ]);
}

#[test]
fn rowid_on_integer_primary_key_tables_is_the_key_column() {
    check(&[
        (
            "INTEGER PRIMARY KEY",
            &[
                "CREATE TABLE k(id INTEGER PRIMARY KEY, v)",
                "INSERT INTO k(rowid, v) VALUES (10, 'a')",
                "INSERT INTO k(id, rowid, v) VALUES (20, 21, 'b')",
                "INSERT INTO k(rowid, id, v) VALUES (30, 31, 'c')",
                "INSERT INTO k(oid, v) VALUES ('40', 'd')",
                "INSERT INTO k(rowid, v) VALUES (10, 'dup')",
                "INSERT INTO k(_rowid_, v) VALUES ('x', 'bad')",
                "INSERT INTO k(v) VALUES ('auto')",
                "SELECT rowid, id, v FROM k ORDER BY id",
                "UPDATE k SET rowid = 50 WHERE v = 'a'",
                "UPDATE k SET oid = '60' WHERE v = 'b'",
                "UPDATE k SET rowid = 31 WHERE v = 'd'",
                "UPDATE OR REPLACE k SET rowid = 31 WHERE v = 'd'",
                "SELECT rowid, id, v FROM k ORDER BY id",
            ],
        ),
        (
            "a real column named rowid",
            &[
                "CREATE TABLE r(rowid, a)",
                "INSERT INTO r(rowid, a) VALUES ('text', 1)",
                "INSERT INTO r(oid, a) VALUES (7, 2)",
                "SELECT rowid, oid, _rowid_, a FROM r ORDER BY a",
                "UPDATE r SET rowid = 'changed' WHERE a = 1",
                "UPDATE r SET _rowid_ = 9 WHERE a = 2",
                "SELECT rowid, oid, _rowid_, a FROM r ORDER BY a",
            ],
        ),
        (
            "WITHOUT ROWID",
            &[
                "CREATE TABLE w(a PRIMARY KEY, b) WITHOUT ROWID",
                "INSERT INTO w(rowid, a, b) VALUES (1, 2, 3)",
                "INSERT INTO w(oid, a) VALUES (1, 2)",
                "INSERT INTO w(a, b) VALUES (2, 3)",
                "UPDATE w SET rowid = 5",
                "SELECT * FROM w",
            ],
        ),
    ]);
}

#[test]
fn update_assigns_the_rowid() {
    check(&[(
        "UPDATE SET rowid",
        &[
            "CREATE TABLE t(a, b UNIQUE)",
            "INSERT INTO t(a, b) VALUES ('x', 1), ('y', 2), ('z', 3)",
            "UPDATE t SET rowid = 100 WHERE a = 'x'",
            "UPDATE t SET oid = '200' WHERE a = 'y'",
            "UPDATE t SET _rowid_ = 3.0 WHERE a = 'z'",
            "SELECT rowid, a, b FROM t ORDER BY rowid",
            "UPDATE t SET rowid = 'abc' WHERE a = 'x'",
            "UPDATE t SET rowid = NULL WHERE a = 'x'",
            "UPDATE t SET rowid = 2.5 WHERE a = 'x'",
            "UPDATE t SET rowid = 200 WHERE a = 'x'",
            "UPDATE OR IGNORE t SET rowid = 200 WHERE a = 'x'",
            "SELECT rowid, a, b FROM t ORDER BY rowid",
            "UPDATE OR REPLACE t SET rowid = 200 WHERE a = 'x'",
            "UPDATE t SET rowid = rowid + 1000",
            "SELECT rowid, a, b FROM t ORDER BY rowid",
            "INSERT INTO t(a) VALUES ('next')",
            "SELECT rowid, a FROM t ORDER BY rowid",
        ],
    )]);
}

#[test]
fn rows_inserted_with_explicit_rowids_read_as_of_after_later_changes() {
    check(&[
        (
            "plain rowid table",
            &[
                "CREATE TABLE t(a, b)",
                "INSERT INTO t(rowid, a, b) VALUES (5, 'x', 1), (9, 'y', 2)",
                "INSERT INTO t(oid, a) VALUES (7, 'z')",
                "@mark",
                "@ours UPDATE t SET rowid = 50 WHERE rowid = 5",
                "@ours INSERT OR REPLACE INTO t(rowid, a) VALUES (9, 'replaced')",
                "@ours DELETE FROM t WHERE rowid = 7",
                "@ours INSERT INTO t(rowid, a) VALUES (7, 'new')",
                "SELECT rowid, a, b FROM t ORDER BY rowid @@ SELECT rowid, a, b FROM t AS OF SCN {scn} ORDER BY rowid",
                "SELECT a FROM t WHERE rowid = 7 @@ SELECT a FROM t AS OF SCN {scn} WHERE rowid = 7",
                "SELECT count(*) FROM t @@ SELECT count(*) FROM t AS OF SCN {scn}",
            ],
        ),
        (
            "INTEGER PRIMARY KEY",
            &[
                "CREATE TABLE k(id INTEGER PRIMARY KEY, v)",
                "INSERT INTO k(rowid, v) VALUES (3, 'a'), (4, 'b')",
                "@mark",
                "@ours UPDATE k SET rowid = 30 WHERE id = 3",
                "@ours INSERT INTO k(_rowid_, v) VALUES (5, 'c')",
                "SELECT rowid, id, v FROM k ORDER BY id @@ SELECT rowid, id, v FROM k AS OF SCN {scn} ORDER BY id",
            ],
        ),
    ]);
}

/// Once the largest rowid is 2^63 - 1, SQLite draws unused positive rowids at random (and an
/// AUTOINCREMENT table is full); an insert without a rowid must not fail.
#[test]
fn past_the_largest_rowid_an_unused_one_is_drawn_at_random() {
    let c = heliosdb_lite::Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE t1(d INTEGER PRIMARY KEY, c INTEGER);
         INSERT INTO t1 VALUES (9223372036854775807, 0), (5, 1);
         INSERT INTO t1 (d, c) VALUES (NULL, 2), (NULL, 3), (6, 4), (NULL, 5);",
    )
    .unwrap();
    let ids: Vec<i64> = {
        let mut st = c.prepare("SELECT d FROM t1 ORDER BY c").unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(ids.len(), 6);
    assert!(ids.iter().all(|&d| d > 0), "{ids:?}");
    let distinct: std::collections::BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), 6, "{ids:?}");
    assert_eq!(c.last_insert_rowid(), ids[5]);
    c.execute_batch(
        "CREATE TABLE t2(d INTEGER PRIMARY KEY AUTOINCREMENT, c);
         INSERT INTO t2 VALUES (9223372036854775807, 0);",
    )
    .unwrap();
    let e = c
        .execute("INSERT INTO t2 (c) VALUES (1)", [])
        .unwrap_err()
        .to_string();
    assert!(e.contains("database or disk is full"), "{e}");
    assert_eq!(
        c.query_row("SELECT count(*) FROM t2", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        1
    );
}
