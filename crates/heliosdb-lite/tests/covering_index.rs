//! Covering index scans: when an index holds every column a query reads from its table, the
//! rows come from the index entries with no lookup of the row. Checked against the bundled
//! SQLite (notation of `sqlite_dialect.rs`) on the cases where an entry could say something
//! different from the row (types through the key encoding, NULLs, descending parts, the rowid
//! alias, WITHOUT ROWID keys, IN lists reaching a row twice, collations and expressions that
//! hold keys rather than values, columns added later), current and `AS OF`, and through
//! EXPLAIN, which names the covering index as SQLite does.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::check;
use heliosdb_lite::types::Value;
use heliosdb_lite::Connection;

const SETUP: &[&str] = &[
    "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, b TEXT, r REAL, d, n NUMERIC)",
    "INSERT INTO t VALUES (1, 10, 'x', 1.5, 'text', 1.0), (2, NULL, 'Y', 2, 7, 2.5), \
     (3, 10, NULL, -0.0, x'00ff', NULL), (4, -3, 'x', NULL, 2.5, '12'), \
     (5, 7, 'z', 1e300, NULL, 9223372036854775807), (6, 10, 'X', 3, '', -1)",
    "CREATE INDEX t_a ON t(a)",
    "CREATE INDEX t_b_r ON t(b DESC, r)",
    "CREATE INDEX t_d ON t(d)",
    "CREATE INDEX t_n ON t(n DESC)",
    "CREATE INDEX t_nocase ON t(b COLLATE NOCASE)",
    "CREATE INDEX t_expr ON t(a * 2)",
];

fn with(setup: &[&'static str], rest: &[&'static str]) -> Vec<&'static str> {
    setup.iter().chain(rest).copied().collect()
}

const QUERIES: &[&str] = &[
    "SELECT a FROM t WHERE a = 10",
    "SELECT id, a FROM t WHERE a > 0 ORDER BY a, id",
    "SELECT rowid, a FROM t WHERE a >= -3 ORDER BY a DESC, id",
    "SELECT count(*) FROM t WHERE a = 10",
    "SELECT a, typeof(a) FROM t WHERE a IN (10, 7, 10) ORDER BY id",
    "SELECT id FROM t WHERE a IN (10, 7) ORDER BY id",
    "SELECT count(*) FROM t WHERE a IN (10, 10, 7)",
    "SELECT b, r, typeof(r), id FROM t WHERE b = 'x' ORDER BY r",
    "SELECT b, r FROM t WHERE b > 'X' ORDER BY b DESC, r",
    "SELECT b FROM t WHERE b IS NULL",
    "SELECT d, typeof(d), hex(d) FROM t WHERE d > 0 ORDER BY d",
    "SELECT d, typeof(d) FROM t WHERE d >= '' ORDER BY d",
    "SELECT n, typeof(n) FROM t WHERE n > 0 ORDER BY n DESC",
    "SELECT n FROM t WHERE n = 12",
    "SELECT a FROM t ORDER BY a LIMIT 3",
    "SELECT max(a), min(a) FROM t WHERE a > -100",
    "SELECT b FROM t WHERE b = 'x' COLLATE NOCASE ORDER BY b, id",
    "SELECT a * 2 FROM t WHERE a * 2 = 20",
    "SELECT a, b FROM t WHERE a = 10 ORDER BY id",
    "SELECT x.a, y.b FROM t x JOIN t y ON x.a = y.id WHERE x.a = 7",
    "SELECT id FROM t WHERE a = (SELECT max(a) FROM t WHERE a < 10)",
];

#[test]
fn covering_scans_return_what_the_rows_hold() {
    check(&[("covering", &with(SETUP, QUERIES))]);
}

#[test]
fn without_rowid_tables_and_columns_added_later() {
    let script = [
        "CREATE TABLE w(k TEXT, j INT, v REAL, PRIMARY KEY(k, j)) WITHOUT ROWID",
        "INSERT INTO w VALUES ('b', 2, 1.0), ('a', 1, 2.0), ('a', 3, NULL), ('c', -1, 2.0)",
        "CREATE INDEX w_v ON w(v)",
        "SELECT k, j, v FROM w WHERE v = 2 ORDER BY k",
        "SELECT v, k FROM w WHERE v IS NULL",
        "SELECT count(*) FROM w WHERE v > 0",
        "CREATE TABLE e(id INTEGER PRIMARY KEY, a INT)",
        "INSERT INTO e VALUES (1, 1), (2, 2)",
        "ALTER TABLE e ADD COLUMN c INT DEFAULT 5",
        "CREATE INDEX e_c ON e(c, a)",
        "INSERT INTO e VALUES (3, 3, 6)",
        "SELECT c, a FROM e WHERE c = 5 ORDER BY a",
        "SELECT c, a, id FROM e WHERE c > 4 ORDER BY c, a",
    ];
    check(&[("without rowid", &script)]);
}

#[test]
fn history_reads_cover_from_the_index_of_their_point() {
    let script = with(
        SETUP,
        &[
            "@mark",
            "@ours UPDATE t SET a = a + 1 WHERE id < 4",
            "@ours DELETE FROM t WHERE id = 5",
            "@ours INSERT INTO t(id, a) VALUES (9, 10)",
            "SELECT id, a FROM t WHERE a = 10 ORDER BY id \
             @@ SELECT id, a FROM t AS OF SCN {scn} WHERE a = 10 ORDER BY id",
            "SELECT a FROM t WHERE a > 0 ORDER BY a \
             @@ SELECT a FROM t AS OF SCN {scn} WHERE a > 0 ORDER BY a",
            "SELECT count(*) FROM t WHERE a IN (7, 10) \
             @@ SELECT count(*) FROM t AS OF SCN {scn} WHERE a IN (7, 10)",
        ],
    );
    check(&[("as of", &script)]);
}

fn explain(db: &Connection, sql: &str) -> String {
    let mut stmt = db.prepare(&format!("EXPLAIN {sql}")).unwrap();
    let rows = stmt.query([]).unwrap().into_values().unwrap();
    rows.iter()
        .map(|r| match &r[r.len() - 1] {
            Value::Text(s) => s.clone(),
            other => format!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// EXPLAIN says which scans read only the index, and the others keep their lookups.
#[test]
fn explain_names_covering_indexes() {
    let db = Connection::open_in_memory().unwrap();
    for s in SETUP {
        db.execute_batch(s).unwrap();
    }
    let plan = explain(&db, "SELECT id, a FROM t WHERE a = 10");
    assert!(
        plan.contains("SEARCH t USING COVERING INDEX t_a (a=?)"),
        "{plan}"
    );
    let plan = explain(&db, "SELECT count(*) FROM t WHERE a > 5");
    assert!(plan.contains("USING COVERING INDEX t_a"), "{plan}");
    // The differential queries above do read through the covering paths: types through
    // the key encoding, descending parts, the rowid.
    for (sql, index) in [
        (
            "SELECT d, typeof(d), hex(d) FROM t WHERE d > 0 ORDER BY d",
            "t_d",
        ),
        (
            "SELECT n, typeof(n) FROM t WHERE n > 0 ORDER BY n DESC",
            "t_n",
        ),
        (
            "SELECT b, r, typeof(r), id FROM t WHERE b = 'x' ORDER BY r",
            "t_b_r",
        ),
        ("SELECT id FROM t WHERE a IN (10, 7) ORDER BY id", "t_a"),
        (
            "SELECT rowid, a FROM t WHERE a >= -3 ORDER BY a DESC, id",
            "t_a",
        ),
    ] {
        let plan = explain(&db, sql);
        assert!(
            plan.contains(&format!("USING COVERING INDEX {index}")),
            "{sql}: {plan}"
        );
    }
    db.execute_batch(
        "CREATE TABLE w(k TEXT, j INT, v REAL, PRIMARY KEY(k, j)) WITHOUT ROWID;
         CREATE INDEX w_v ON w(v)",
    )
    .unwrap();
    let plan = explain(&db, "SELECT k, j, v FROM w WHERE v = 2 ORDER BY k");
    assert!(plan.contains("USING COVERING INDEX w_v"), "{plan}");
    // A column the index lacks needs the row.
    let plan = explain(&db, "SELECT id, b FROM t WHERE a = 10");
    assert!(
        plan.contains("USING INDEX t_a") && !plan.contains("COVERING"),
        "{plan}"
    );
    // A filter on a column the index lacks needs the row too.
    let plan = explain(&db, "SELECT a FROM t WHERE a = 10 AND b = 'x'");
    assert!(!plan.contains("COVERING INDEX t_a"), "{plan}");
    // NOCASE entries hold a collation key and expression entries a computed value: neither
    // stands for the column itself.
    let plan = explain(&db, "SELECT b FROM t WHERE b = 'x' COLLATE NOCASE");
    assert!(!plan.contains("COVERING"), "{plan}");
    let plan = explain(&db, "SELECT a FROM t WHERE a * 2 = 20");
    assert!(!plan.contains("COVERING"), "{plan}");
}
