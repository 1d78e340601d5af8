//! Generated columns against the bundled SQLite (notation of `sqlite_dialect.rs`): VIRTUAL
//! and STORED, the short form, references to earlier and later columns, loops and the other
//! refusals, writes that name them, constraints, indexes and UPSERT over them, the PRAGMAs
//! that show them, ALTER TABLE around them, reads `AS OF` a past point (with the definition
//! of that point), and the definition surviving a reopen.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::check;
use heliosdb_lite::types::Value;
use heliosdb_lite::Connection;

const PRICES: &str = "CREATE TABLE p(id INTEGER PRIMARY KEY, qty INT, price REAL, \
                      total REAL GENERATED ALWAYS AS (qty * price) STORED, \
                      label TEXT AS (upper(name) || ':' || total), name TEXT, \
                      doubled GENERATED ALWAYS AS (qty * 2) VIRTUAL)";

#[test]
fn values_are_computed_on_write_and_read() {
    check(&[(
        "compute",
        &[
            PRICES,
            "INSERT INTO p(id, qty, price, name) VALUES (1, 2, 1.5, 'pen'), (2, NULL, 3, 'ink')",
            "INSERT INTO p VALUES (3, 4, 0.25, 'cap')",
            "INSERT INTO p(qty, price, name) SELECT qty + 1, price, name || '2' FROM p WHERE id < 3",
            "SELECT * FROM p ORDER BY id",
            "SELECT id, typeof(total), typeof(label), typeof(doubled) FROM p ORDER BY id",
            "SELECT label FROM p WHERE doubled > 4 ORDER BY label",
            "SELECT sum(total), max(doubled) FROM p",
            "UPDATE p SET qty = qty * 10 WHERE id = 1",
            "UPDATE p SET name = 'nib' WHERE id = 3 RETURNING label, doubled",
            "SELECT * FROM p ORDER BY id",
            "DELETE FROM p WHERE total IS NULL",
            "SELECT id, total, label FROM p ORDER BY id",
            "CREATE TABLE d(a INT, b INT AS (a * 2))",
            "INSERT INTO d VALUES ('3')",
            "INSERT INTO d VALUES (4.0)",
            "SELECT a, typeof(a), b, typeof(b) FROM d ORDER BY a",
            "SELECT * FROM p, d WHERE p.doubled = d.b ORDER BY 1",
        ],
    )]);
}

#[test]
fn writes_that_name_a_generated_column_are_refused() {
    check(&[(
        "refusals",
        &[
            PRICES,
            "INSERT INTO p(id, qty, total) VALUES (9, 1, 5)",
            "INSERT INTO p(id, doubled) VALUES (9, 1)",
            "INSERT INTO p VALUES (9, 1, 1, 1, 'x', 'n', 2)",
            "INSERT INTO p VALUES (9, 1, 1)",
            "INSERT INTO p(id, qty, price, name) VALUES (1, 1, 1, 'a')",
            "UPDATE p SET total = 1",
            "UPDATE p SET doubled = 1, qty = 3",
            "INSERT INTO p(id, qty, price, name) VALUES (1, 5, 5, 'b') \
             ON CONFLICT(id) DO UPDATE SET label = 'x'",
            "INSERT INTO p(id, qty, price, name) VALUES (1, 5, 5, 'b') \
             ON CONFLICT(id) DO UPDATE SET qty = excluded.qty + excluded.doubled",
            "SELECT * FROM p ORDER BY id",
        ],
    )]);
}

#[test]
fn definitions_sqlite_refuses() {
    check(&[(
        "create",
        &[
            "CREATE TABLE a(x INT, y AS (y + 1))",
            "CREATE TABLE a(x INT, y AS (z + 1), z AS (y * 2))",
            "CREATE TABLE a(x INT, y AS (nope + 1))",
            "CREATE TABLE a(x INT, y AS (x) PRIMARY KEY)",
            "CREATE TABLE a(x INT, y AS (x), PRIMARY KEY (y))",
            "CREATE TABLE a(x INT, y INT DEFAULT 3 AS (x))",
            "CREATE TABLE a(y AS (1))",
            "CREATE TABLE a(x INT, y AS (random()))",
            "CREATE TABLE a(x INT, y AS ((SELECT 1)))",
            "CREATE TABLE a(x INT, y AS (z + 1), z AS (x * 2))",
            "INSERT INTO a(x) VALUES (5)",
            "SELECT * FROM a",
        ],
    )]);
}

#[test]
fn constraints_indexes_and_upserts_over_generated_columns() {
    check(&[(
        "constraints",
        &[
            "CREATE TABLE u(id INTEGER PRIMARY KEY, email TEXT, \
             norm TEXT AS (lower(trim(email))) UNIQUE, \
             len INT AS (length(email)) STORED NOT NULL CHECK (len < 20))",
            "INSERT INTO u(email) VALUES ('Ann@x.org'), ('bob@x.org')",
            "INSERT INTO u(email) VALUES (' ANN@X.ORG ')",
            "INSERT INTO u(email) VALUES (NULL)",
            "INSERT INTO u(email) VALUES ('much-too-long@example.org')",
            "INSERT INTO u(email) VALUES ('BOB@x.org') ON CONFLICT(norm) DO UPDATE SET email = excluded.email",
            "INSERT OR REPLACE INTO u(email) VALUES ('ann@X.org')",
            "SELECT * FROM u ORDER BY id",
            "CREATE INDEX u_len ON u(len)",
            "CREATE TABLE w(a INT, b AS (a % 3))",
            "CREATE INDEX w_b ON w(b)",
            "INSERT INTO w(a) VALUES (1), (2), (3), (4), (5), (6)",
            "UPDATE w SET a = a + 1 WHERE b = 0",
            "SELECT a, b FROM w WHERE b = 1 ORDER BY a",
            "SELECT b, count(*) FROM w GROUP BY b ORDER BY b",
            "PRAGMA integrity_check",
        ],
    )]);
}

#[test]
fn pragmas_show_generated_columns_as_hidden() {
    check(&[(
        "pragmas",
        &[
            PRICES,
            "PRAGMA table_info(p)",
            "PRAGMA table_xinfo(p)",
            "SELECT sql FROM sqlite_master WHERE name = 'p'",
        ],
    )]);
}

#[test]
fn alter_table_around_generated_columns() {
    check(&[(
        "alter",
        &[
            "CREATE TABLE t(a INT, b INT, c AS (a + b))",
            "INSERT INTO t(a, b) VALUES (1, 2), (3, 4)",
            "ALTER TABLE t ADD COLUMN d AS (c * 10)",
            "ALTER TABLE t ADD COLUMN e AS (a) STORED",
            "SELECT * FROM t ORDER BY a",
            "ALTER TABLE t RENAME COLUMN a TO x",
            "SELECT * FROM t ORDER BY x",
            "INSERT INTO t(x, b) VALUES (10, 20)",
            "SELECT * FROM t ORDER BY x",
            "PRAGMA table_xinfo(t)",
            "ALTER TABLE t DROP COLUMN b",
            "ALTER TABLE t DROP COLUMN d",
            "SELECT * FROM t ORDER BY x",
            "ALTER TABLE t DROP COLUMN c",
            "PRAGMA table_xinfo(t)",
            "ALTER TABLE t ADD COLUMN n AS (x * 2) NOT NULL",
            "ALTER TABLE t ADD COLUMN m AS (CASE WHEN x > 5 THEN NULL ELSE 1 END) NOT NULL",
            "SELECT * FROM t ORDER BY x",
            "CREATE TABLE empty(a INT)",
            "ALTER TABLE empty ADD COLUMN b AS (a * 3) STORED",
            "INSERT INTO empty(a) VALUES (2)",
            "SELECT * FROM empty",
        ],
    )]);
}

#[test]
fn generated_columns_read_as_of_a_past_point() {
    check(&[(
        "as of",
        &[
            "CREATE TABLE t(a INT, b INT, s AS (a + b) STORED, v AS (a * b))",
            "INSERT INTO t(a, b) VALUES (1, 2), (3, 4)",
            "@mark",
            "@ours UPDATE t SET a = a * 100",
            "@ours ALTER TABLE t RENAME COLUMN a TO z",
            "@ours ALTER TABLE t ADD COLUMN w AS (z - 1)",
            "@ours DELETE FROM t WHERE b = 2",
            "SELECT * FROM t ORDER BY a @@ SELECT * FROM t AS OF SCN {scn} ORDER BY a",
            "SELECT v, s FROM t WHERE v > 2 @@ SELECT v, s FROM t AS OF SCN {scn} WHERE v > 2",
            "SELECT sql FROM sqlite_master WHERE name = 't' \
             @@ SELECT sql FROM sqlite_master AS OF SCN {scn} WHERE name = 't'",
        ],
    )]);
}

/// The messages of the refusals are SQLite's, word for word.
#[test]
fn errors_are_sqlites() {
    let cases: &[(&str, &str)] = &[
        (PRICES, "INSERT INTO p(id, total) VALUES (1, 2)"),
        (PRICES, "UPDATE p SET doubled = 1"),
        (PRICES, "INSERT INTO p VALUES (1, 2)"),
        ("SELECT 1", "CREATE TABLE a(x INT, y AS (y + 1))"),
        ("SELECT 1", "CREATE TABLE a(x INT, y AS (x) PRIMARY KEY)"),
        ("SELECT 1", "CREATE TABLE a(y AS (1))"),
        ("SELECT 1", "CREATE TABLE a(x, y DEFAULT 1 AS (x))"),
        ("SELECT 1", "CREATE TABLE a(x, y AS (x) DEFAULT 1)"),
        (
            "CREATE TABLE t(a INT); INSERT INTO t VALUES (1)",
            "ALTER TABLE t ADD COLUMN b AS (a) STORED",
        ),
    ];
    let mut failures = Vec::new();
    for (setup, sql) in cases {
        let theirs = rusqlite::Connection::open_in_memory().unwrap();
        let ours = Connection::open_in_memory().unwrap();
        theirs.execute_batch(setup).unwrap();
        ours.execute_batch(setup).unwrap();
        let expected = theirs.execute_batch(sql).err().map(|e| e.to_string());
        let got = ours.execute_batch(sql).err().map(|e| e.to_string());
        if expected.is_none() || expected != got {
            failures.push(format!(
                "{sql}\n    sqlite:   {expected:?}\n    heliosdb: {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The definition is in the catalog: after a reopen the columns are still computed and
/// still refused as targets, and the stored column's value was written with the row.
#[test]
fn generated_columns_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let db = Connection::open(&path).unwrap();
        db.execute_batch(
            "CREATE TABLE t(a INT, s AS (a * 2) STORED, v AS (s + 1));
             INSERT INTO t(a) VALUES (1), (2);",
        )
        .unwrap();
    }
    let db = Connection::open(&path).unwrap();
    db.execute("INSERT INTO t(a) VALUES (3)", []).unwrap();
    assert!(db.execute("UPDATE t SET v = 0", []).is_err());
    let rows: Vec<Vec<Value>> = db
        .prepare("SELECT a, s, v FROM t ORDER BY a")
        .unwrap()
        .query([])
        .unwrap()
        .into_values()
        .unwrap();
    let ints = |r: [i64; 3]| r.iter().map(|&i| Value::Integer(i)).collect::<Vec<_>>();
    assert_eq!(
        rows,
        vec![ints([1, 2, 3]), ints([2, 4, 5]), ints([3, 6, 7])]
    );
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
