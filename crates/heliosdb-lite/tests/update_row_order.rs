//! UPDATE computes each row's new values when the row's turn comes, as SQLite does: a
//! correlated subquery in SET that reads the table being changed sees the rows updated
//! before it, while an uncorrelated subquery runs once, before the first row is written,
//! a relation SQLite materialises (an aggregate view, a DISTINCT derived table) is computed
//! once per statement, and one it flattens (a plain CTE, view or derived table) is read
//! again for each row. Each case is checked against the
//! bundled SQLite (notation of `sqlite_dialect.rs`), on rowid-ordered tables so both
//! engines visit the rows in the same order, with and without the paths that re-read each
//! target row anyway (a trigger, OR REPLACE), and reading `AS OF` a past point.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::{check, with};

const SETUP: &[&str] = &[
    "CREATE TABLE t(id INTEGER PRIMARY KEY, k INT, s TEXT)",
    "INSERT INTO t VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 2, 'c'), (4, 2, 'd'), (5, 3, 'e'), \
     (6, NULL, 'f'), (7, 3, 'g'), (8, 1, 'h')",
    "CREATE TABLE o(id INTEGER PRIMARY KEY, v INT)",
    "INSERT INTO o VALUES (1, 10), (2, 20), (3, 30), (5, 50), (8, 80)",
];

/// Every table's rows after each statement.
const SHOW: &str = "SELECT * FROM t ORDER BY id";

fn statements(stmts: &[&'static str]) -> Vec<&'static str> {
    let mut v = Vec::new();
    for s in stmts {
        v.push(*s);
        v.push(SHOW);
    }
    v
}

/// Correlated subqueries reading the table being changed.
const CORRELATED: &[&str] = &[
    "UPDATE t SET k = (SELECT count(*) FROM t u WHERE u.k = t.k)",
    "UPDATE t SET k = (SELECT count(*) FROM t u WHERE u.k = t.k) WHERE id > 2",
    "UPDATE t SET k = coalesce((SELECT u.k FROM t u WHERE u.id = t.id - 1), 0) + 1",
    "UPDATE t SET k = k + 1 WHERE EXISTS (SELECT 1 FROM t u WHERE u.id = t.id + 1)",
    "UPDATE t SET k = CASE WHEN EXISTS (SELECT 1 FROM t u WHERE u.k = t.k + 1) \
     THEN t.k + 1 ELSE t.k END",
    "UPDATE t SET k = (SELECT sum(u.k) FROM t u WHERE u.id <= t.id)",
    "UPDATE t SET s = (SELECT group_concat(u.s, '') FROM t u WHERE u.id IN (t.id, t.id - 1))",
    "UPDATE t SET k = (SELECT count(*) FROM t u WHERE u.k IN (SELECT w.k FROM t w WHERE w.id = t.id))",
    "UPDATE t SET k = (SELECT max(u.k) FROM t u WHERE u.id < t.id) WHERE id % 2 = 0",
];

/// Uncorrelated subqueries run once, before the first row is written, next to correlated
/// ones that see the rows written so far.
const UNCORRELATED: &[&str] = &[
    "UPDATE t SET k = (SELECT max(k) FROM t) + 1",
    "UPDATE t SET k = (SELECT max(k) FROM t) + (SELECT count(*) FROM t u WHERE u.k = t.k)",
    "UPDATE t SET k = k + 1 WHERE k IN (SELECT k FROM t WHERE id < 4)",
    "UPDATE t SET k = (SELECT count(*) FROM t WHERE k > 1) * 10 + \
     (SELECT count(*) FROM t u WHERE u.k > t.k)",
    "UPDATE t SET k = (SELECT k FROM t WHERE id = 1) + id",
];

/// A correlated subquery over another table stays on the fast path; the answers match.
const OTHER_TABLE: &[&str] = &[
    "UPDATE t SET k = (SELECT v FROM o WHERE o.id = t.id)",
    "UPDATE t SET k = k + (SELECT count(*) FROM o WHERE o.v > t.id * 10)",
];

/// Relations inside a correlated subquery: SQLite computes one it cannot flatten (an
/// aggregate view, a DISTINCT derived table) once per statement, and reads a plain CTE,
/// view or derived table afresh for each row. (A CTE read twice is left out: SQLite
/// versions differ on it, 3.40 materialising it and later ones flattening one reference.)
const MATERIALISED: &[&str] = &[
    "CREATE VIEW kc AS SELECT k, count(*) AS c FROM t GROUP BY k",
    "UPDATE t SET k = (SELECT c FROM kc WHERE kc.k = t.k) + 10",
    "UPDATE t SET k = (SELECT count(*) FROM (SELECT DISTINCT k, id FROM t) c WHERE c.k = t.k)",
    "UPDATE t SET k = (WITH c AS (SELECT k FROM t) SELECT count(*) FROM c WHERE c.k = t.k)",
    "UPDATE t SET k = (SELECT count(*) FROM (SELECT k FROM t) c WHERE c.k = t.k)",
    "UPDATE t SET k = (SELECT count(*) FROM (SELECT k FROM t WHERE id > 0) c WHERE c.k = t.k)",
];

#[test]
fn correlated_subqueries_see_the_rows_updated_before() {
    for stmt in CORRELATED {
        check(&[("correlated", &with(SETUP, &statements(&[stmt])))]);
    }
}

#[test]
fn uncorrelated_subqueries_run_once() {
    for stmt in UNCORRELATED {
        check(&[("uncorrelated", &with(SETUP, &statements(&[stmt])))]);
    }
}

#[test]
fn subqueries_over_other_tables() {
    for stmt in OTHER_TABLE {
        check(&[("other table", &with(SETUP, &statements(&[stmt])))]);
    }
}

#[test]
fn materialised_relations_are_computed_once() {
    check(&[("view", &with(SETUP, &statements(&MATERIALISED[..2])))]);
    let plain_view = [
        "CREATE VIEW kv AS SELECT id, k FROM t WHERE id > 0",
        "UPDATE t SET k = (SELECT count(*) FROM kv WHERE kv.k = t.k) + 10",
    ];
    check(&[("plain view", &with(SETUP, &statements(&plain_view)))]);
    for stmt in &MATERIALISED[2..] {
        check(&[("materialised", &with(SETUP, &statements(&[stmt])))]);
    }
}

/// A trigger and OR REPLACE make the update re-read each target row; the same rules hold.
#[test]
fn with_a_trigger_or_replace() {
    let mut setup = SETUP.to_vec();
    setup.push("CREATE TABLE log(x, y)");
    setup.push(
        "CREATE TRIGGER tr AFTER UPDATE ON t BEGIN INSERT INTO log VALUES (old.k, new.k); END",
    );
    for stmt in CORRELATED.iter().chain(UNCORRELATED) {
        let script = with(
            &setup,
            &statements(&[stmt, "SELECT * FROM log ORDER BY rowid"]),
        );
        check(&[("trigger", &script)]);
    }
    for stmt in [
        "UPDATE OR REPLACE t SET k = (SELECT max(k) FROM t) + 1",
        "UPDATE OR REPLACE t SET id = (SELECT count(*) FROM t u WHERE u.id < t.id) + 1",
        "UPDATE OR REPLACE t SET k = (SELECT count(*) FROM t u WHERE u.k = t.k)",
    ] {
        check(&[("or replace", &with(SETUP, &statements(&[stmt])))]);
    }
}

/// Inside a transaction, and with a subquery reading a past point (which the statement's
/// writes cannot change): SQLite's side reads a copy of the table taken at that point.
#[test]
fn own_writes_and_history() {
    let script = with(
        SETUP,
        &[
            "CREATE TABLE past(id INTEGER PRIMARY KEY, k INT, s TEXT)",
            "INSERT INTO past SELECT * FROM t",
            "@mark",
            "BEGIN",
            "UPDATE t SET k = k * 2 WHERE id < 4",
            "UPDATE t SET k = (SELECT count(*) FROM t u WHERE u.k = t.k)",
            SHOW,
            "UPDATE t SET k = (SELECT u.k FROM past u WHERE u.id = t.id) + \
             (SELECT count(*) FROM t u WHERE u.k = t.k) \
             @@ UPDATE t SET k = (SELECT u.k FROM t AS OF SCN {scn} u WHERE u.id = t.id) + \
             (SELECT count(*) FROM t u WHERE u.k = t.k)",
            SHOW,
            "COMMIT",
            SHOW,
        ],
    );
    check(&[("own writes and history", &script)]);
}
