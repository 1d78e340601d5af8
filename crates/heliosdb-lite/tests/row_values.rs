//! Row values against the bundled SQLite (notation of `sqlite_dialect.rs`): comparisons of
//! every operator with NULLs in every position, BETWEEN, IN lists, IN subqueries (correlated,
//! with NULLs, negated), `UPDATE ... SET (a, b) = (...)`, and the misuses SQLite refuses.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::{check, with};

const PAIRS: &[&str] = &[
    "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL)",
    "INSERT INTO t VALUES (1, 1, 'x', 1.5), (2, 1, 'y', NULL), (3, 2, NULL, 2.5), \
     (4, NULL, 'x', 0), (5, 2, 'x', 2.5), (6, 3, '1', 3)",
    "CREATE TABLE s(p INTEGER, q TEXT)",
    "INSERT INTO s VALUES (1, 'x'), (2, NULL), (NULL, 'y'), (3, 1)",
];

#[test]
fn comparisons() {
    let script = with(
        PAIRS,
        &[
            "SELECT id, (a, b) = (1, 'x'), (a, b) <> (1, 'x'), (a, b) < (2, 'x'), (a, b) <= (2, 'x'), \
             (a, b) > (1, 'x'), (a, b) >= (1, 'y') FROM t ORDER BY id",
            "SELECT id FROM t WHERE (a, b, c) > (1, 'x', 1.5) ORDER BY id",
            "SELECT id FROM t WHERE (a, c) < (2, 2.6) AND (b, id) IS NOT (NULL, 3) ORDER BY id",
            "SELECT id, (a, b) IS (2, NULL), (a, b) IS NOT (NULL, 'x') FROM t ORDER BY id",
            "SELECT id FROM t WHERE (a, b) BETWEEN (1, 'y') AND (2, 'x') ORDER BY id",
            "SELECT id FROM t WHERE (a, b) NOT BETWEEN (1, 'y') AND (2, 'x') ORDER BY id",
            "SELECT (1, 2) = (1, 2), (1, NULL) = (1, 2), (1, NULL) = (2, 2), (NULL, 1) < (2, 0), \
             (1, NULL) < (2, 0), (2, NULL) < (1, 0), ((1, 2)) = (1, 2)",
            // Affinity and collation apply pair by pair, as for scalars.
            "SELECT id FROM t WHERE (b, a) = ('1', '3') ORDER BY id",
            "SELECT id FROM t WHERE (b COLLATE NOCASE, a) = ('X', 1) ORDER BY id",
            "SELECT (?1, 2) = (1, 2)",
        ],
    );
    check(&[("comparisons", &script)]);
}

#[test]
fn in_lists_and_subqueries() {
    let script = with(
        PAIRS,
        &[
            "SELECT id FROM t WHERE (a, b) IN ((1, 'x'), (2, NULL), (2, 'x')) ORDER BY id",
            "SELECT id, (a, b) IN ((1, 'x'), (2, NULL)), (a, b) NOT IN ((1, 'x'), (2, NULL)) FROM t ORDER BY id",
            "SELECT id FROM t WHERE (a, b) IN (SELECT p, q FROM s) ORDER BY id",
            "SELECT id, (a, b) IN (SELECT p, q FROM s), (a, b) NOT IN (SELECT p, q FROM s) FROM t ORDER BY id",
            "SELECT id FROM t WHERE (a, b) NOT IN (SELECT p, q FROM s WHERE p IS NOT NULL AND q IS NOT NULL) ORDER BY id",
            "SELECT id FROM t WHERE (a, b) IN (SELECT p, q FROM s WHERE p = t.a) ORDER BY id",
            "SELECT id FROM t WHERE (a, b) IN (SELECT p, q FROM s WHERE 0) ORDER BY id",
            "SELECT id, (a, b) NOT IN (SELECT p, q FROM s WHERE 0) FROM t ORDER BY id",
            "SELECT id FROM t WHERE (a, b) IN (SELECT 2, 'x' UNION SELECT 1, 'y') ORDER BY id",
            "SELECT count(*) FROM t WHERE (b, a) IN (SELECT q, p FROM s)",
        ],
    );
    check(&[("in", &script)]);
}

#[test]
fn update_set_row_value() {
    let script = with(
        PAIRS,
        &[
            "UPDATE t SET (a, b) = (b, a) WHERE id = 1",
            "UPDATE t SET (c, b) = (c * 2, 'z'), a = 0 WHERE (a, b) = (2, 'x')",
            "SELECT * FROM t ORDER BY id",
            "UPDATE t SET (a, b) = (1, 2, 3)",
            "UPDATE t SET (a, b) = 1",
            "UPDATE t SET (a, nope) = (1, 2)",
            "INSERT INTO t VALUES (1, 9, 'w', 9) ON CONFLICT(id) DO UPDATE SET (a, b) = (excluded.a, excluded.b)",
            "SELECT * FROM t ORDER BY id",
        ],
    );
    check(&[("set", &script)]);
}

#[test]
fn misuses_are_errors() {
    let script = with(
        PAIRS,
        &[
            "SELECT (1, 2)",
            "SELECT (1, 2) + 1",
            "SELECT (1, 2) = (1, 2, 3)",
            "SELECT (1, 2) = 1",
            "SELECT 1 IN ((1, 2))",
            "SELECT (1, 2) IN (1, 2)",
            "SELECT (a, b) IN (SELECT p FROM s) FROM t",
            "SELECT (a, b) IN (SELECT p, q, p FROM s) FROM t",
            "SELECT * FROM t WHERE (a, b) LIKE (1, 2)",
            "SELECT * FROM t ORDER BY (a, b)",
        ],
    );
    check(&[("misuse", &script)]);
}
