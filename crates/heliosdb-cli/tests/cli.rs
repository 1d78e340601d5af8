//! End-to-end tests of the real `heliosdb-lite` binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_heliosdb-lite"))
}

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut c = bin();
    c.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn heliosdb-lite");
    {
        let mut i = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            i.write_all(s.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn one_shot_persists_and_prints_each_mode() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = db.to_str().unwrap();
    let o = run(
        &[
            db,
            "CREATE TABLE t(a INTEGER, b TEXT); INSERT INTO t VALUES (1, 'x,y'), (2, NULL);",
        ],
        None,
    );
    assert!(o.status.success(), "{}", err(&o));
    let o = run(&["--csv", db, "SELECT a, b FROM t ORDER BY a"], None);
    assert_eq!(out(&o), "a,b\n1,\"x,y\"\n2,\n");
    let o = run(&["--json", db, "SELECT a, b FROM t ORDER BY a"], None);
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v[0]["a"], 1);
    assert_eq!(v[1]["b"], serde_json::Value::Null);
    let o = run(&["--line", db, "SELECT a, b FROM t WHERE a = 1"], None);
    assert_eq!(out(&o), "a = 1\nb = x,y\n");
    let o = run(&["--table", db, "SELECT a, b FROM t ORDER BY a"], None);
    let t = out(&o);
    assert!(
        t.contains("NULL") && t.contains("x,y") && t.contains("(2 rows)"),
        "{t}"
    );
}

#[test]
fn piped_stdin_with_dot_commands() {
    let script = "CREATE TABLE acc(id INTEGER PRIMARY KEY, bal INTEGER);\nINSERT INTO acc VALUES (1, 10);\nUPDATE acc SET bal = 20;\n.mode csv\n.headers on\nSELECT bal FROM acc AS OF SCN 2;\nSELECT bal FROM acc;\n.tables\n";
    let o = run(&[":memory:"], Some(script));
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "bal\n10\nbal\n20\nacc\n");
}

#[test]
fn databases_names_the_directory_as_sqlite3_names_its_file() {
    let o = run(&[":memory:"], Some(".databases\n"));
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "main: \"\" r/w\n");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = db.to_str().unwrap();
    let o = run(
        &[db],
        Some("CREATE TABLE t(a);\n.databases\nPRAGMA database_list;\n"),
    );
    assert!(o.status.success(), "{}", err(&o));
    let path = std::fs::canonicalize(db).unwrap().display().to_string();
    assert_eq!(out(&o), format!("main: {path} r/w\n0|main|{path}\n"));
    let o = run(&["--readonly", db], Some(".databases\n"));
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), format!("main: {path} r/o\n"));
}

#[test]
fn errors_go_to_stderr_with_position_and_exit_nonzero() {
    let o = run(&[":memory:", "SELECT 1; SELEC 2; SELECT 3"], None);
    assert!(!o.status.success());
    assert_eq!(
        out(&o),
        "1\n",
        "statements before the error ran, none after"
    );
    let e = err(&o);
    assert!(
        e.contains("syntax error at line 1, column 1") && e.contains('^'),
        "{e}"
    );
    let o = run(&[":memory:"], Some("SELECT * FROM missing;"));
    assert!(!o.status.success());
    assert!(err(&o).contains("no such table: missing"));
    let o = run(&[":memory:", "SELECT * FROM t AS OF SCN 5"], None);
    assert!(!o.status.success());
}

#[test]
fn config_errors_name_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("heliosdb.toml");
    std::fs::write(&cfg, "[database]\nmemory_limit_mb = 256\ncache_mbb = 3\n").unwrap();
    let o = run(&["--config", cfg.to_str().unwrap(), "SELECT 1"], None);
    assert_eq!(o.status.code(), Some(2));
    let e = err(&o);
    assert!(e.contains("line 3") && e.contains("cache_mbb"), "{e}");
    std::fs::write(
        &cfg,
        format!(
            "[database]\npath = \"{}\"\n[snapshot]\nmax_snapshots = 5\n",
            dir.path().join("d").display()
        ),
    )
    .unwrap();
    let o = run(
        &["--config", cfg.to_str().unwrap()],
        Some("CREATE TABLE t(a); INSERT INTO t VALUES (7); SELECT a FROM t;"),
    );
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "7\n");
}

#[test]
fn demo_tells_the_story() {
    let o = run(&["demo"], None);
    assert!(o.status.success(), "{}", err(&o));
    let t = out(&o);
    for needle in [
        "AS OF TIMESTAMP",
        "AS OF TRANSACTION",
        "BEFORE TRANSACTION",
        "helios_snapshots",
        "snapshot too old",
        "9825.50",
    ] {
        assert!(t.contains(needle), "demo output lacks {needle}:\n{t}");
    }
}

#[test]
fn version_help_and_check() {
    let o = run(&["--version"], None);
    assert!(out(&o).starts_with("heliosdb-lite "));
    let o = run(&["--help"], None);
    assert!(out(&o).contains("--csv"));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = db.to_str().unwrap();
    let o = run(&[db, "CREATE TABLE t(a INTEGER UNIQUE, b); CREATE INDEX tb ON t(b); INSERT INTO t VALUES (1,2),(3,4);"], None);
    assert!(o.status.success(), "{}", err(&o));
    let o = run(&["check", db], None);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "ok\n");
}

#[test]
fn import_csv_creates_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("people.csv");
    std::fs::write(&csv, "name,age\n\"Smith, Ann\",41\nBob,7\n").unwrap();
    let script = format!(
        ".import {} people\nSELECT name FROM people WHERE CAST(age AS INTEGER) > 10;\n",
        csv.display()
    );
    let o = run(&[":memory:"], Some(&script));
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "Smith, Ann\n");
}

/// The same `.import` script through our shell and, where it is installed, sqlite3's.
fn import_script(csv: &std::path::Path) -> String {
    let f = csv.display();
    format!(
        ".import --csv {f} fresh\n\
         CREATE TABLE kept(x INTEGER, y TEXT);\n\
         .import --csv {f} kept\n\
         CREATE TABLE skipped(x INTEGER, y TEXT);\n\
         .import --csv --skip 1 {f} skipped\n\
         SELECT * FROM fresh;\n\
         SELECT x, typeof(x), y FROM kept;\n\
         SELECT x, typeof(x), y FROM skipped;\n"
    )
}

#[test]
fn import_reads_the_header_only_for_a_new_table_as_sqlite3() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("in.csv");
    std::fs::write(&csv, "a,b\n1,\"x, y\"\n2,\n").unwrap();
    let script = import_script(&csv);
    let o = run(&[":memory:"], Some(&script));
    assert!(o.status.success(), "{}", err(&o));
    let expected = "1|x, y\n2|\n\
                    a|text|b\n1|integer|x, y\n2|integer|\n\
                    1|integer|x, y\n2|integer|\n";
    assert_eq!(out(&o), expected);
    // The same script through sqlite3's shell gives the same rows.
    let sqlite = Command::new("sqlite3")
        .arg(dir.path().join("s.db"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    match sqlite {
        Err(e) => eprintln!("sqlite3 not found ({e}): the comparison with it is skipped"),
        Ok(mut child) => {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(script.as_bytes())
                .unwrap();
            let s = child.wait_with_output().unwrap();
            assert!(s.status.success(), "{}", err(&s));
            assert_eq!(out(&s), expected);
        }
    }
}

#[test]
fn import_options_report_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("in.csv");
    std::fs::write(&csv, "a,b\n1,x\n").unwrap();
    let f = csv.display();
    let script = format!(
        ".import -v {f} t\n\
         .import --schema aux {f} u\n\
         .import --ascii {f} u\n\
         .import --frobnicate {f} u\n\
         .import {f}\n\
         CREATE TABLE w(a, b, c);\n\
         .import {f} w\n\
         SELECT count(*) FROM w;\n"
    );
    let o = run(&[":memory:"], Some(&script));
    assert_eq!(
        out(&o),
        "CREATE TABLE \"t\" (\"a\" TEXT, \"b\" TEXT)\n\
         Added 1 rows with 0 errors using 2 lines of input\n0\n"
    );
    let e = err(&o);
    for message in [
        "unknown database \"aux\"",
        "--ascii is not supported",
        "unknown option \"--frobnicate\"",
        "usage: .import",
        "in.csv line 1: has 2 fields, but table w has 3 columns; nothing was imported",
    ] {
        assert!(e.contains(message), "{message}: {e}");
    }
}

#[test]
fn backup_and_save_copy_the_database_with_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = db.to_str().unwrap();
    let copy = dir.path().join("copy");
    let saved = dir.path().join("saved");
    let script = format!(
        "CREATE TABLE t(a);\nINSERT INTO t VALUES (1);\nUPDATE t SET a = 2;\n.backup {}\n.save main '{}'\n.backup {}\n.backup other {}\n",
        copy.display(),
        saved.display(),
        copy.display(),
        dir.path().join("x").display()
    );
    let o = run(&[db], Some(&script));
    let e = err(&o);
    assert!(e.contains("output file already exists"), "{e}");
    assert!(e.contains("unknown database other"), "{e}");
    assert!(!dir.path().join("x").exists());
    for c in [&copy, &saved] {
        let c = c.to_str().unwrap();
        let o = run(
            &[
                "--csv",
                c,
                "SELECT a FROM t AS OF SCN 2; SELECT a FROM t; PRAGMA integrity_check;",
            ],
            None,
        );
        assert_eq!(out(&o), "a\n1\na\n2\nintegrity_check\nok\n", "{}", err(&o));
    }
}
