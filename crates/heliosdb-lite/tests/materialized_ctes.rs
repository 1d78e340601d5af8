//! `WITH c AS MATERIALIZED (...)` and `AS NOT MATERIALIZED (...)` (SQLite 3.35+), checked
//! against the bundled SQLite (notation of `sqlite_dialect.rs`). The hint changes no answer of
//! a SELECT; it decides when an UPDATE that computes each row's new values in turn (see
//! `update_row_order.rs`) reads the CTE: a MATERIALIZED one once per statement, before the
//! first row is written, a NOT MATERIALIZED one afresh for each row where SQLite can
//! flatten it. Current rows and rows read `AS OF` a past point.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::{check, with};

const SETUP: &[&str] = &[
    "CREATE TABLE t(id INTEGER PRIMARY KEY, k INT, s TEXT)",
    "INSERT INTO t VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 2, 'c'), (4, 2, 'd'), (5, 3, 'e'), \
     (6, NULL, 'f'), (7, 3, 'g'), (8, 1, 'h')",
];

const SHOW: &str = "SELECT * FROM t ORDER BY id";

/// Queries: the same answers with either hint and without one.
const QUERIES: &[&str] = &[
    "WITH c AS MATERIALIZED (SELECT k, s FROM t WHERE id > 2) SELECT * FROM c ORDER BY s",
    "WITH c AS NOT MATERIALIZED (SELECT k, s FROM t WHERE id > 2) SELECT * FROM c ORDER BY s",
    "WITH c(a, b) AS MATERIALIZED (SELECT k, count(*) FROM t GROUP BY k) \
     SELECT a, b FROM c ORDER BY a",
    // Referenced twice.
    "WITH c AS MATERIALIZED (SELECT id, k FROM t) \
     SELECT x.id, y.id FROM c x JOIN c y ON x.k = y.k AND x.id < y.id ORDER BY 1, 2",
    "WITH c AS NOT MATERIALIZED (SELECT id, k FROM t) \
     SELECT x.id, y.id FROM c x JOIN c y ON x.k = y.k AND x.id < y.id ORDER BY 1, 2",
    "WITH c AS MATERIALIZED (SELECT random() AS r) SELECT (SELECT r FROM c) = (SELECT r FROM c)",
    // In a correlated subquery.
    "WITH c AS MATERIALIZED (SELECT k FROM t WHERE k IS NOT NULL) \
     SELECT id, (SELECT count(*) FROM c WHERE c.k = t.k) FROM t ORDER BY id",
    "WITH c AS NOT MATERIALIZED (SELECT k FROM t) \
     SELECT id FROM t WHERE EXISTS (SELECT 1 FROM c WHERE c.k = t.k + 1) ORDER BY id",
    "SELECT id, (WITH c AS MATERIALIZED (SELECT max(id) AS m FROM t) SELECT m - t.id FROM c) \
     FROM t ORDER BY id",
    // Several CTEs, one reading another; recursive.
    "WITH a AS MATERIALIZED (SELECT k FROM t), b AS NOT MATERIALIZED (SELECT k * 2 AS d FROM a) \
     SELECT sum(d), count(*) FROM b",
    "WITH RECURSIVE r(n) AS MATERIALIZED (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) \
     SELECT group_concat(n) FROM r",
    "WITH c AS MATERIALIZED (SELECT 1 AS x UNION SELECT 2) SELECT * FROM c ORDER BY x",
];

#[test]
fn queries_agree_with_sqlite() {
    check(&[("queries", &with(SETUP, QUERIES))]);
    // Views keep the hint in their stored SQL.
    let view = [
        "CREATE VIEW v AS WITH c AS MATERIALIZED (SELECT k FROM t) SELECT k, count(*) AS n \
         FROM c GROUP BY k",
        "SELECT * FROM v ORDER BY k",
    ];
    check(&[("view", &with(SETUP, &view))]);
}

#[test]
fn syntax_errors_agree_with_sqlite() {
    let bad = [
        "WITH c AS MATERIALIZED SELECT 1",
        "WITH c AS NOT (SELECT 1) SELECT * FROM c",
        "WITH c MATERIALIZED (SELECT 1) SELECT * FROM c",
    ];
    check(&[("errors", &bad)]);
}

/// Updates whose SET reads the table being changed through a CTE.
const UPDATES: &[&str] = &[
    "UPDATE t SET k = (WITH c AS MATERIALIZED (SELECT k FROM t) \
     SELECT count(*) FROM c WHERE c.k = t.k)",
    "UPDATE t SET k = (WITH c AS NOT MATERIALIZED (SELECT k FROM t) \
     SELECT count(*) FROM c WHERE c.k = t.k)",
    "UPDATE t SET k = (WITH c AS (SELECT k FROM t) SELECT count(*) FROM c WHERE c.k = t.k)",
    // Referenced twice in the subquery.
    "UPDATE t SET k = (WITH c AS MATERIALIZED (SELECT id, k FROM t) \
     SELECT count(*) FROM c x JOIN c y ON x.k = y.k WHERE x.id = t.id)",
    // An aggregate cannot be flattened: computed once even when NOT MATERIALIZED.
    "UPDATE t SET k = (WITH c AS NOT MATERIALIZED (SELECT k, count(*) AS n FROM t GROUP BY k) \
     SELECT n FROM c WHERE c.k = t.k) + 10",
    "UPDATE t SET k = (WITH c AS MATERIALIZED (SELECT k, count(*) AS n FROM t GROUP BY k) \
     SELECT n FROM c WHERE c.k = t.k) + 10",
    "UPDATE t SET k = k + 1 WHERE EXISTS (WITH c AS MATERIALIZED (SELECT k FROM t) \
     SELECT 1 FROM c WHERE c.k = t.k + 1)",
    "UPDATE t SET s = (WITH c AS MATERIALIZED (SELECT s FROM t WHERE id <= 4) \
     SELECT group_concat(s, '') FROM c) || id",
];

#[test]
fn update_reads_a_materialized_cte_once() {
    for stmt in UPDATES {
        check(&[("update", &with(SETUP, &[stmt, SHOW]))]);
    }
    let mut setup = SETUP.to_vec();
    setup.push("CREATE TABLE log(x, y)");
    setup.push(
        "CREATE TRIGGER tr AFTER UPDATE ON t BEGIN INSERT INTO log VALUES (old.k, new.k); END",
    );
    for stmt in &UPDATES[..3] {
        let script = with(&setup, &[stmt, SHOW, "SELECT * FROM log ORDER BY rowid"]);
        check(&[("update with a trigger", &script)]);
    }
}

/// A CTE over rows read `AS OF` a past point; SQLite's side reads a copy of the table taken
/// at that point.
#[test]
fn with_history() {
    let script = with(
        SETUP,
        &[
            "CREATE TABLE past(id INTEGER PRIMARY KEY, k INT, s TEXT)",
            "INSERT INTO past SELECT * FROM t",
            "@mark",
            "UPDATE t SET k = k * 2 WHERE id < 4",
            "WITH c AS MATERIALIZED (SELECT * FROM past WHERE k > 1) \
             SELECT x.id, y.id FROM c x JOIN c y ON x.k = y.k AND x.id < y.id ORDER BY 1, 2 \
             @@ WITH c AS MATERIALIZED (SELECT * FROM t AS OF SCN {scn} WHERE k > 1) \
             SELECT x.id, y.id FROM c x JOIN c y ON x.k = y.k AND x.id < y.id ORDER BY 1, 2",
            "WITH c AS NOT MATERIALIZED (SELECT k FROM past) \
             SELECT id, (SELECT count(*) FROM c WHERE c.k = t.k) FROM t ORDER BY id \
             @@ WITH c AS NOT MATERIALIZED (SELECT k FROM t AS OF SCN {scn}) \
             SELECT id, (SELECT count(*) FROM c WHERE c.k = t.k) FROM t ORDER BY id",
            "UPDATE t SET k = (WITH c AS MATERIALIZED (SELECT k FROM past) \
             SELECT count(*) FROM c WHERE c.k = t.k) + \
             (WITH d AS MATERIALIZED (SELECT k FROM t) SELECT count(*) FROM d WHERE d.k = t.k) \
             @@ UPDATE t SET k = (WITH c AS MATERIALIZED (SELECT k FROM t AS OF SCN {scn}) \
             SELECT count(*) FROM c WHERE c.k = t.k) + \
             (WITH d AS MATERIALIZED (SELECT k FROM t) SELECT count(*) FROM d WHERE d.k = t.k)",
            SHOW,
        ],
    );
    check(&[("history", &script)]);
}
