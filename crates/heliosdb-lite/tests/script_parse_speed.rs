//! Loading a pretty-printed dump (one value per line) takes time linear in its size.

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

fn load_seconds(script: &str) -> f64 {
    let c = heliosdb_lite::Connection::open_in_memory().unwrap();
    let t = Instant::now();
    c.execute_batch(script).unwrap();
    t.elapsed().as_secs_f64()
}

#[test]
fn pretty_printed_inserts_load_in_linear_time() {
    let small = pretty_insert(5_000);
    let large = pretty_insert(20_000);
    let (ts, tl) = (load_seconds(&small), load_seconds(&large));
    eprintln!("5,000 rows: {ts:.3} s, 20,000 rows: {tl:.3} s");
    // Four times the rows: about four times the time; quadratic growth would be sixteen.
    assert!(tl < 10.0 * ts.max(0.02), "{ts:.3} s then {tl:.3} s");
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
