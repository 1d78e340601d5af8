//! Expressions cut short are syntax errors, as in SQLite: an operator with nothing after it
//! (`SELECT 1 + FROM t`, `WHERE a = AND b`, `SELECT -`), before a comma, a closing
//! parenthesis, a semicolon or the end of the text. sqlparser reads an unquoted keyword
//! where it expects an operand as a column name, so `SELECT 1 + FROM t` ran as
//! `SELECT 1 + "FROM" AS t`. Each statement is also given to the bundled SQLite, which must
//! refuse it too; and statements that use the same keywords where they belong must still
//! run and agree with SQLite.

#[path = "differential/compare.rs"]
#[allow(dead_code)]
mod compare;

use compare::{difference, query_ours, query_sqlite, setup_ours, setup_sqlite, Rules};

const SETUP: &str = "CREATE TABLE t(a INTEGER, b TEXT, \"from\" INTEGER); \
                     INSERT INTO t VALUES (1, 'x', 10), (2, 'y', 20);";

fn engines() -> (rusqlite::Connection, heliosdb_lite::Connection) {
    let theirs = rusqlite::Connection::open_in_memory().unwrap();
    let ours = heliosdb_lite::Connection::open_in_memory().unwrap();
    setup_sqlite(&theirs, SETUP).unwrap();
    setup_ours(&ours, SETUP).unwrap();
    (theirs, ours)
}

/// Runs `sql` as a query if it reads rows, else as a statement.
fn run_ours(ours: &heliosdb_lite::Connection, sql: &str) -> Result<(), String> {
    match ours.prepare(sql) {
        Ok(_) => setup_ours(ours, sql),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn truncated_expressions_are_syntax_errors() {
    let statements = [
        "SELECT 1 + FROM t",
        "SELECT 1 * FROM t",
        "SELECT a - FROM t",
        "SELECT 1 || FROM t",
        "SELECT a = FROM t",
        "SELECT NOT FROM t",
        "SELECT NOT",
        "SELECT a FROM t WHERE NOT AND a = 1",
        "SELECT abs(NOT)",
        "SELECT NOT, 1",
        "SELECT - FROM t",
        "SELECT -",
        "SELECT 1 +",
        "SELECT 1 +;",
        "SELECT 1 + , 2",
        "SELECT (1 +)",
        "SELECT abs(1 +)",
        "SELECT abs(1 +, 2)",
        "SELECT a FROM t WHERE a = AND b = 'x'",
        "SELECT a FROM t WHERE a = OR b = 'x'",
        "SELECT a FROM t WHERE a > GROUP BY a",
        "SELECT a FROM t WHERE a < ORDER BY a",
        "SELECT a FROM t WHERE a = LIMIT 1",
        "SELECT a FROM t WHERE a = UNION SELECT 1",
        "SELECT a FROM t WHERE a = AND",
        "SELECT a FROM t WHERE",
        "SELECT a FROM t WHERE a IN (1, )",
        "SELECT a FROM t GROUP BY a HAVING count(*) > ORDER BY a",
        "SELECT a FROM t ORDER BY a + LIMIT 1",
        "SELECT a FROM t LIMIT 1 + OFFSET 1",
        "SELECT a FROM t x JOIN t y ON x.a = WHERE 1",
        "SELECT a FROM t x JOIN t y ON WHERE 1",
        "SELECT CASE WHEN a = THEN 1 END FROM t",
        "SELECT CASE WHEN a THEN ELSE 2 END FROM t",
        "SELECT CASE WHEN a THEN 1 ELSE END FROM t",
        "SELECT a BETWEEN AND 2 FROM t",
        "SELECT a BETWEEN 1 AND FROM t",
        "SELECT b LIKE ESCAPE 'x' FROM t",
        "SELECT a IS FROM t",
        "SELECT FROM t",
        "SELECT a, FROM t",
        "UPDATE t SET a = WHERE b = 'x'",
        "UPDATE t SET a = 1 + WHERE b = 'x'",
        "DELETE FROM t WHERE a = AND b = 'x'",
        "INSERT INTO t VALUES (1 +, 'z', 0)",
        "INSERT INTO t(a) SELECT 1 + FROM t",
        "INSERT INTO t VALUES (1, 'z', 0) RETURNING a +",
        "SELECT a FROM t WHERE a = (SELECT 1 + FROM t)",
    ];
    let mut failures = Vec::new();
    for sql in statements {
        let (theirs, ours) = engines();
        let sqlite = theirs.prepare(sql).map(|_| ()).map_err(|e| e.to_string());
        let mine = run_ours(&ours, sql);
        match (&sqlite, &mine) {
            (Err(s), Err(o)) => {
                let sqlite_syntax = s.contains("syntax error") || s.contains("incomplete input");
                if !sqlite_syntax {
                    failures.push(format!("{sql}\n    SQLite's error is not syntax: {s}"));
                } else if !o.contains("syntax error") {
                    failures.push(format!("{sql}\n    ours is not a syntax error: {o}"));
                }
            }
            (Err(s), Ok(())) => failures.push(format!("{sql}\n    accepted; SQLite: {s}")),
            (Ok(()), _) => failures.push(format!("{sql}\n    SQLite accepts it")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The error names the keyword where the operand should be, and where it is.
#[test]
fn the_error_points_at_the_keyword() {
    let (_, ours) = engines();
    let Err(e) = ours.prepare("SELECT 1 + FROM t") else {
        panic!("SELECT 1 + FROM t is accepted");
    };
    let text = e.to_string();
    assert!(
        text.contains("line 1, column 12") && text.contains("FROM"),
        "{text}"
    );
}

/// The same keywords where SQLite's grammar has them, and as quoted names, still run.
#[test]
fn keywords_in_their_places_still_parse() {
    let queries = [
        "SELECT a FROM t WHERE a = 1 AND b = 'x' OR a IS NOT NULL ORDER BY a",
        "SELECT a FROM t WHERE a IN (1, 2) AND a BETWEEN 1 AND 2 AND b NOT IN ('z')",
        "SELECT a, count(*) FROM t GROUP BY a HAVING count(*) > 0 ORDER BY a LIMIT 1 OFFSET 0",
        "SELECT CASE WHEN a = 1 THEN 'one' WHEN a = 2 THEN 'two' ELSE 'many' END FROM t",
        "SELECT CASE a WHEN 1 THEN 'one' ELSE 'other' END FROM t ORDER BY 1",
        "SELECT \"from\", t.\"from\" + 1 AS \"where\" FROM t ORDER BY 1",
        "SELECT b LIKE 'x%' ESCAPE '\\', b COLLATE NOCASE = 'X' FROM t ORDER BY a",
        "SELECT x.a FROM t x JOIN t y USING (a) JOIN t z ON z.a = y.a ORDER BY 1",
        "SELECT a FROM t UNION SELECT a + 10 FROM t INTERSECT SELECT 11 EXCEPT SELECT 99",
        "SELECT a IS 1, a IS NOT 1, a IS NOT DISTINCT FROM 1 FROM t ORDER BY a",
        "SELECT CAST(a AS TEXT), a AS x FROM t ORDER BY 1",
        "SELECT key, value FROM json_each('[1, 2]') ORDER BY key",
        "SELECT count(*) FILTER (WHERE a > 1), sum(a) OVER (ORDER BY a) FROM t GROUP BY a",
        "SELECT replace(b, 'x', 'y'), upper(b) FROM t ORDER BY a",
        "SELECT -a, - a, NOT a, +a, ~a FROM t ORDER BY a",
        "SELECT EXISTS (SELECT 1 FROM t WHERE a = 1), NOT EXISTS (SELECT 1)",
    ];
    let (theirs, ours) = engines();
    let mut failures = Vec::new();
    for sql in queries {
        let expected = query_sqlite(&theirs, sql);
        let got = query_ours(&ours, sql);
        match (&expected, &got) {
            (Ok(e), Ok(g)) => {
                if let Some(d) = difference(e, g, Rules::for_unordered(sql)) {
                    failures.push(format!("{sql}\n    {d}"));
                }
            }
            _ => failures.push(format!(
                "{sql}\n    sqlite: {expected:?}\n    ours: {got:?}"
            )),
        }
    }
    let statements = [
        "UPDATE t SET a = a + 1 WHERE b = 'x' AND a IN (1, 2)",
        "INSERT INTO t(a, b) SELECT a + 100, b FROM t WHERE a = 2 RETURNING a",
        "DELETE FROM t WHERE a > 100 OR b IS NULL",
        "INSERT INTO t(a, b) VALUES (5, 'q') ON CONFLICT DO NOTHING",
    ];
    for sql in statements {
        let s = setup_sqlite(&theirs, sql);
        let o = setup_ours(&ours, sql);
        if s.is_err() || o.is_err() {
            failures.push(format!("{sql}\n    sqlite: {s:?}\n    ours: {o:?}"));
        }
    }
    let sql = "SELECT a, b FROM t ORDER BY a, b";
    if let (Ok(e), Ok(g)) = (query_sqlite(&theirs, sql), query_ours(&ours, sql)) {
        if let Some(d) = difference(&e, &g, Rules::for_unordered(sql)) {
            failures.push(format!("after the writes\n    {d}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
