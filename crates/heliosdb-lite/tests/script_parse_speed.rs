//! Parsing takes time linear in the script's size, however it is laid out: one value per line,
//! a statement padded with a megabyte of whitespace or comments, or thousands of statements on
//! one line. Each test compares a script with one ten or four times smaller; linear growth
//! gives about that factor, quadratic growth its square, and the bound sits well between.

use heliosdb_lite::{Connection, Error};
use std::time::Instant;

/// A multi-row INSERT with one value per line, indented, `rows` rows long.
fn pretty_insert(rows: usize) -> String {
    let mut s = String::from("CREATE TABLE t(a INTEGER, b TEXT);\nINSERT INTO t (a, b)\nVALUES\n");
    for i in 0..rows {
        let sep = if i + 1 == rows { ";" } else { "," };
        s.push_str(&format!(
            "    (\n        {i},\n        'row {i}'\n    ){sep}\n"
        ));
    }
    s
}

/// The fastest of three runs of the script, each on a fresh database, so a scheduling hiccup
/// on a busy machine does not decide the comparison.
fn load_seconds(script: &str) -> f64 {
    (0..3)
        .map(|_| {
            let c = Connection::open_in_memory().unwrap();
            let t = Instant::now();
            c.execute_batch(script).unwrap();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Asserts that a script `factor` times larger takes less than `5 * factor` times as long
/// (quadratic growth would take `factor * factor` times as long: with `factor` 10, twice the
/// bound). The margin is wide because the two sizes may run under different loads on a
/// shared machine (a run at load 8 measured 32x for 10x the size).
fn assert_linear(what: &str, factor: f64, small: &str, large: &str) {
    let (ts, tl) = (load_seconds(small), load_seconds(large));
    eprintln!("{what}: {ts:.3} s, {factor}x larger: {tl:.3} s");
    assert!(
        tl < 5.0 * factor * ts.max(0.01),
        "{what}: {ts:.3} s, then {tl:.3} s for {factor}x the size"
    );
}

#[test]
fn pretty_printed_inserts_load_in_linear_time() {
    assert_linear(
        "pretty-printed INSERT",
        4.0,
        &pretty_insert(5_000),
        &pretty_insert(20_000),
    );
}

/// One statement with `padding` inside it, before it, and after its semicolon.
fn padded_statements(padding: &str) -> String {
    format!(
        "CREATE TABLE p(a INTEGER, b TEXT);{padding}INSERT INTO p VALUES{padding}(1,{padding}'x');\
         {padding}SELECT a,{padding}b FROM p WHERE a ={padding}1{padding};{padding}"
    )
}

#[test]
fn a_statement_padded_with_a_megabyte_of_spaces_parses_in_linear_time() {
    // Each padding is a quarter of the script: 100 KB, then 1 MB in all.
    assert_linear(
        "spaces",
        10.0,
        &padded_statements(&" ".repeat(25_000)),
        &padded_statements(&" ".repeat(250_000)),
    );
    assert_linear(
        "newlines",
        10.0,
        &padded_statements(&"\n".repeat(25_000)),
        &padded_statements(&"\n".repeat(250_000)),
    );
    assert_linear(
        "comments",
        10.0,
        &padded_statements(&"-- note\n/* block */ ".repeat(1_250)),
        &padded_statements(&"-- note\n/* block */ ".repeat(12_500)),
    );
}

#[test]
fn thousands_of_statements_on_one_line_parse_in_linear_time() {
    let script = |n: usize| {
        let mut s = String::from("CREATE TABLE o(a INTEGER, b TEXT);");
        for i in 0..n {
            s.push_str(&format!("INSERT INTO o VALUES ({i}, 'é{i}'); "));
        }
        s
    };
    assert_linear("one line", 4.0, &script(5_000), &script(20_000));
}

#[test]
fn statement_text_and_error_positions_survive_padding() {
    let c = Connection::open_in_memory().unwrap();
    // Statements found on one line after multi-byte text keep their exact text.
    c.execute_batch(
        "CREATE TABLE x(a); SELECT 'ünïcödé';   CREATE VIEW v AS SELECT   a FROM x  ;  \
         CREATE VIEW w AS SELECT 'é' || a FROM x;",
    )
    .unwrap();
    let sql: Vec<String> = c
        .prepare("SELECT sql FROM sqlite_schema WHERE type = 'view' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        sql,
        [
            "CREATE VIEW v AS SELECT   a FROM x",
            "CREATE VIEW w AS SELECT 'é' || a FROM x"
        ]
    );
    // An error after a run of whitespace and comments names the line and column of the token.
    let err = c
        .execute_batch("SELECT (1 +\n  -- why\n\n     /* no */ ) FROM x")
        .unwrap_err();
    match err {
        Error::Syntax {
            line,
            column,
            token,
            ..
        } => assert_eq!((line, column, token.as_deref()), (4, 15, Some(")"))),
        other => panic!("expected a syntax error, got {other:?}"),
    }
    // A named parameter is one token: `: name` with a space is not one.
    assert!(c.prepare("SELECT :name").is_ok());
    assert!(matches!(
        c.prepare("SELECT : name"),
        Err(Error::Syntax { .. })
    ));
}

/// Scripts are tokenized a statement at a time: quotes, comments, brackets and trigger
/// bodies holding `;` still keep their statement whole, errors name the script's line, and
/// (as in SQLite) the statements before a malformed one have run.
#[test]
fn scripts_split_like_sqlite_and_errors_name_the_scripts_line() {
    let script = "CREATE TABLE [a;b](x TEXT, y TEXT);
        INSERT INTO [a;b] VALUES ('1;2', \"y;\"); -- a comment; with a semicolon
        /* a block; comment */ CREATE TRIGGER tr AFTER INSERT ON [a;b] BEGIN
            INSERT INTO log VALUES (new.x || ';'); INSERT INTO log VALUES ('two');
        END;
        CREATE TABLE log(m TEXT);
        INSERT INTO [a;b] VALUES ('it''s;', NULL);";
    let h = heliosdb_lite::Connection::open_in_memory().unwrap();
    let s = rusqlite::Connection::open_in_memory().unwrap();
    h.execute_batch(script).unwrap();
    s.execute_batch(script).unwrap();
    let q = "SELECT group_concat(m, '|') FROM (SELECT m FROM log ORDER BY rowid)";
    let ours: String = h.query_row(q, [], |r| r.get(0)).unwrap();
    let theirs: String = s.query_row(q, [], |r| r.get(0)).unwrap();
    assert_eq!(ours, theirs);
    assert_eq!(ours, "it's;;|two");
    let q = "SELECT group_concat(x, '|') FROM [a;b]";
    let ours: String = h.query_row(q, [], |r| r.get(0)).unwrap();
    assert_eq!(ours, "1;2|it's;");

    // A syntax error on the script's fourth line is reported there; the statements before
    // it ran, as in SQLite.
    let bad = "CREATE TABLE u(a);\nINSERT INTO u VALUES (1);\n\nINSERT INTO u VALUES (2,,);\nINSERT INTO u VALUES (3);";
    let h = heliosdb_lite::Connection::open_in_memory().unwrap();
    let s = rusqlite::Connection::open_in_memory().unwrap();
    let err = h.execute_batch(bad).unwrap_err();
    assert!(s.execute_batch(bad).is_err());
    match err {
        heliosdb_lite::Error::Syntax { line, .. } => assert_eq!(line, 4, "{err}"),
        other => panic!("expected a syntax error, got {other}"),
    }
    let count = "SELECT count(*) FROM u";
    let ours: i64 = h.query_row(count, [], |r| r.get(0)).unwrap();
    let theirs: i64 = s.query_row(count, [], |r| r.get(0)).unwrap();
    assert_eq!((ours, theirs), (1, 1));

    // An unterminated quote: the error names where it opened; earlier statements ran.
    let open = "CREATE TABLE w(a);\nINSERT INTO w VALUES (1);\nINSERT INTO w VALUES ('x);";
    let h = heliosdb_lite::Connection::open_in_memory().unwrap();
    let err = h.execute_batch(open).unwrap_err();
    match &err {
        heliosdb_lite::Error::Syntax { line, .. } => assert_eq!(*line, 3, "{err}"),
        other => panic!("expected a syntax error, got {other}"),
    }
    let ours: i64 = h
        .query_row("SELECT count(*) FROM w", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ours, 1);
}
