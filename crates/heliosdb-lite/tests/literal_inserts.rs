//! Scripts of INSERTs that differ only in their literals share one parse from their second
//! statement on (`sql/parser/shape.rs`). These tests run such scripts through
//! `execute_batch` and `execute_script` and check that every stored value, its type and
//! every error are what SQLite gives for the same script, across column affinities, literal
//! forms, schema changes between statements and failing statements.

use heliosdb_lite::Connection;

/// Tables of every affinity (and a STRICT one, and one with constraints).
const SCHEMA: &str = "
CREATE TABLE a(i INTEGER, r REAL, t TEXT, b BLOB, n NUMERIC, x);
CREATE TABLE s(i INTEGER, t TEXT, r REAL, y ANY) STRICT;
CREATE TABLE k(id INTEGER PRIMARY KEY, u TEXT UNIQUE, nn INTEGER NOT NULL);
";

/// Literal forms, each as one row of table `a` (six columns).
const ROWS: &[&str] = &[
    "1, 2, 3, 4, 5, 6",
    "-1, -2, -3, -4, -5, -6",
    "+7, +8.5, +9, 10, -11.0, 12e0",
    "'13', '14.5', '15', '16', ' 17', '1e3'",
    "'abc', 'x''y', '', 'é;ü', '0x10', '-0'",
    "x'00ff', X'', x'41', x'4243', x'ff', x'00'",
    "NULL, TRUE, FALSE, null, true, false",
    "9223372036854775807, -9223372036854775807, 1e400, -1e400, 0.0, -0.0",
    "-9223372036854775808, 9223372036854775808, 1.5e-7, 00123, 123., .5",
    "1.0, 2.50, '3.0', '4e2', 5.0e1, '  6  '",
    "- -1, -+2, +-3, 3.14159265358979, 2.718281828459045, 1e-320",
];

/// The query giving every row of `table` as `typeof(c):quote(c)|...`, in rowid order.
fn dump_query(table: &str) -> String {
    let names: &[&str] = match table {
        "a" => &["i", "r", "t", "b", "n", "x"],
        "s" => &["i", "t", "r", "y"],
        "k" => &["id", "u", "nn"],
        "t" => &["a", "b"],
        _ => &["v"],
    };
    let exprs: Vec<String> = names
        .iter()
        .map(|n| format!("typeof({n}) || ':' || quote({n})"))
        .collect();
    format!(
        "SELECT {} FROM {table} ORDER BY rowid",
        exprs.join(" || '|' || ")
    )
}

fn dump_ours(c: &Connection, table: &str) -> Vec<String> {
    let mut st = c.prepare(&dump_query(table)).unwrap();
    let mut rows = st.query([]).unwrap();
    let mut out = Vec::new();
    while let Some(r) = rows.next().unwrap() {
        out.push(r.get::<_, String>(0).unwrap());
    }
    out
}

fn dump_sqlite(c: &rusqlite::Connection, table: &str) -> Vec<String> {
    c.prepare(&dump_query(table))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Asserts that `table` holds the same rows, types included, in both engines.
fn assert_same(ours: &Connection, theirs: &rusqlite::Connection, table: &str) {
    let (a, b) = (dump_ours(ours, table), dump_sqlite(theirs, table));
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "table {table}, row {i}");
    }
    assert_eq!(a.len(), b.len(), "rows of table {table}");
}

/// Runs `script` statement by statement in both engines (SQLite's own splitting for
/// SQLite), stopping each at its first error; returns whether each failed.
fn run_both(ours: &Connection, theirs: &rusqlite::Connection, script: &str) -> (bool, bool) {
    let a = ours.execute_batch(script).is_err();
    let b = theirs.execute_batch(script).is_err();
    (a, b)
}

#[test]
fn every_literal_form_is_stored_as_sqlite_stores_it() {
    let ours = Connection::open_in_memory().unwrap();
    let theirs = rusqlite::Connection::open_in_memory().unwrap();
    run_both(&ours, &theirs, SCHEMA);
    // Each row three times: parsed as written, then made the shape's template, then run
    // through the template; with the rows interleaved so that shapes alternate.
    let mut script = String::new();
    for round in 0..3 {
        for row in ROWS {
            script.push_str(&format!("INSERT INTO a VALUES ({row});\n"));
            script.push_str(&format!(
                "insert into a(i, r, t, b, n, x) values ({row}) ;\n"
            ));
            script.push_str(&format!("INSERT INTO a VALUES ({row}), ({row});\n"));
        }
        // The same shapes on STRICT columns: the ones that fail fail alike.
        for (i, row) in [
            "1, 'a', 1.5, x'01'",
            "2, 'b', 2, NULL",
            "'3', 'c', 3.0, 'd'",
        ]
        .iter()
        .enumerate()
        {
            let stmt = format!("INSERT INTO s VALUES ({row});");
            let (a, b) = run_both(&ours, &theirs, &format!("{script}{stmt}"));
            script.clear();
            assert_eq!(a, b, "round {round} row {i}: {stmt}");
        }
    }
    run_both(&ours, &theirs, &script);
    assert_same(&ours, &theirs, "a");
    assert_same(&ours, &theirs, "s");
    assert!(dump_ours(&ours, "a").len() >= ROWS.len() * 12);
}

#[test]
fn failing_statements_stop_the_script_where_sqlite_stops() {
    let ours = Connection::open_in_memory().unwrap();
    let theirs = rusqlite::Connection::open_in_memory().unwrap();
    run_both(&ours, &theirs, SCHEMA);
    for script in [
        // The third statement runs the template and breaks UNIQUE: the first two stay.
        "INSERT INTO k VALUES (1, 'a', 1); INSERT INTO k VALUES (2, 'b', 2); \
         INSERT INTO k VALUES (3, 'a', 3); INSERT INTO k VALUES (4, 'd', 4);",
        // NOT NULL through a template.
        "INSERT INTO k VALUES (5, 'e', 5); INSERT INTO k VALUES (6, 'f', NULL);",
        "INSERT INTO k VALUES (7, 'g', 7); INSERT INTO k VALUES (8, 'h', 8); \
         INSERT INTO k VALUES (9, 'i', NULL);",
        // A duplicate primary key through a template.
        "INSERT INTO k VALUES (10, 'j', 10); INSERT INTO k VALUES (10, 'k', 11);",
        // Too many values for the table.
        "INSERT INTO k VALUES (11, 'l', 11, 1); INSERT INTO k VALUES (12, 'm', 12, 1);",
        // A table that does not exist yet, then does: the template binds when it runs.
        "INSERT INTO later VALUES (1); INSERT INTO later VALUES (2);",
        "CREATE TABLE later(v); INSERT INTO later VALUES (3); INSERT INTO later VALUES (4);",
    ] {
        let (a, b) = run_both(&ours, &theirs, script);
        assert_eq!(a, b, "{script}");
    }
    assert_same(&ours, &theirs, "k");
    assert_same(&ours, &theirs, "later");
}

#[test]
fn a_shape_follows_the_schema_it_runs_against() {
    let ours = Connection::open_in_memory().unwrap();
    let theirs = rusqlite::Connection::open_in_memory().unwrap();
    let mut script = String::from("CREATE TABLE t(a INTEGER, b TEXT);\n");
    for i in 0..4 {
        script.push_str(&format!("INSERT INTO t VALUES ('{i}', {i});\n"));
    }
    // The same shape against a new table of other affinities, and with a trigger.
    script.push_str("DROP TABLE t; CREATE TABLE t(a TEXT, b REAL);\n");
    script.push_str(
        "CREATE TABLE log(v); CREATE TRIGGER tr AFTER INSERT ON t BEGIN \
                     INSERT INTO log VALUES (new.b); INSERT INTO log VALUES (1); END;\n",
    );
    for i in 4..8 {
        script.push_str(&format!("INSERT INTO t VALUES ('{i}', {i});\n"));
    }
    run_both(&ours, &theirs, &script);
    assert_same(&ours, &theirs, "t");
    assert_same(&ours, &theirs, "log");
}

#[test]
fn a_script_reports_each_statement_as_written() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch("CREATE TABLE t(a, b)").unwrap();
    let mut seen = Vec::new();
    c.execute_script(
        "INSERT INTO t VALUES (1, 'x');\nINSERT INTO t VALUES (2, 'y') ;\n  INSERT INTO t VALUES (3, 'z''s');",
        |text, outcome| seen.push((text.to_string(), outcome.changes)),
    )
    .unwrap();
    assert_eq!(
        seen,
        vec![
            ("INSERT INTO t VALUES (1, 'x')".to_string(), 1),
            ("INSERT INTO t VALUES (2, 'y')".to_string(), 1),
            ("INSERT INTO t VALUES (3, 'z''s')".to_string(), 1),
        ]
    );
    // Parameters of the caller's own are not literals: a statement with one still fails.
    assert!(c.execute_batch("INSERT INTO t VALUES (?, 1)").is_err());
    assert!(c.execute_batch("INSERT INTO t VALUES (?, 1)").is_err());
    assert!(c.execute_batch("INSERT INTO t VALUES (?, 1)").is_err());
    let n: i64 = c
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3);
}

#[test]
fn literal_statements_run_one_at_a_time_store_what_sqlite_stores() {
    let ours = Connection::open_in_memory().unwrap();
    let theirs = rusqlite::Connection::open_in_memory().unwrap();
    run_both(&ours, &theirs, SCHEMA);
    // `Connection::execute` one text at a time, as an application formatting its values
    // into SQL does: from the second text of a shape on, its template runs.
    for _round in 0..3 {
        for row in ROWS {
            let sql = format!("INSERT INTO a VALUES ({row})");
            let a = ours.execute(&sql, []).is_err();
            let b = theirs.execute(&sql, []).is_err();
            assert_eq!(a, b, "{sql}");
        }
        for row in [
            "1, 'a', 1.5, x'01'",
            "'2', 'b', 2, NULL",
            "'x', 'c', 3.0, 'd'",
        ] {
            let sql = format!("INSERT INTO s VALUES ({row})");
            let a = ours.execute(&sql, []).is_err();
            let b = theirs.execute(&sql, []).is_err();
            assert_eq!(a, b, "{sql}");
        }
    }
    assert_same(&ours, &theirs, "a");
    assert_same(&ours, &theirs, "s");
}

#[test]
fn a_templated_statement_looks_like_the_statement_as_written() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch("CREATE TABLE t(a, b)").unwrap();
    for i in 0..4 {
        let sql = format!("INSERT INTO t VALUES ({i}, 'x{i}')");
        let mut st = c.prepare(&sql).unwrap();
        assert_eq!(st.parameter_count(), 0, "{sql}");
        assert_eq!(st.parameter_name(1), None);
        assert_eq!(st.sql(), sql);
        // Values for placeholders the text does not have are refused, as for any such text.
        assert!(st.execute([1]).is_err(), "{sql}");
        assert_eq!(st.execute([]).unwrap(), 1);
        assert!(c
            .execute(&format!("INSERT INTO t VALUES ({}, 'y')", i + 10), [7])
            .is_err());
    }
    let rows: Vec<(i64, String)> = {
        let mut st = c.prepare("SELECT a, b FROM t ORDER BY a").unwrap();
        let mut rows = st.query([]).unwrap();
        let mut out = Vec::new();
        while let Some(r) = rows.next().unwrap() {
            out.push((r.get(0).unwrap(), r.get(1).unwrap()));
        }
        out
    };
    assert_eq!(
        rows,
        (0..4).map(|i| (i, format!("x{i}"))).collect::<Vec<_>>()
    );
}
