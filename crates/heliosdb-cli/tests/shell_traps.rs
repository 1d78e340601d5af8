//! End-to-end tests of the shell's behaviour where a newcomer trips: arguments, scripts,
//! Ctrl-C, imports, output modes, closed pipes and read-only opens (issue 15).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_heliosdb-lite");

fn run_in(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn heliosdb-lite");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn run(args: &[&str], stdin: &str) -> Output {
    run_in(&std::env::temp_dir(), args, stdin.as_bytes())
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Every file under `dir` with its size and modification time.
fn fingerprint(dir: &Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                v.push((
                    e.path().display().to_string(),
                    m.len(),
                    m.modified().unwrap(),
                ));
            }
        }
    }
    v.sort();
    v
}

#[test]
fn sql_where_a_path_belongs_is_refused_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for sql in ["SELECT 1", "select * from t", "CREATE TABLE t(a)", "x; y"] {
        let o = run_in(dir.path(), &[sql], b"");
        assert_eq!(o.status.code(), Some(2), "{sql}: {}", err(&o));
        assert!(err(&o).contains("looks like SQL"), "{}", err(&o));
    }
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn sql_after_config_runs_on_the_configured_database() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("heliosdb.toml");
    let db = dir.path().join("db");
    std::fs::write(&cfg, format!("[database]\npath = \"{}\"\n", db.display())).unwrap();
    let cfg = cfg.to_str().unwrap();
    let o = run_in(
        dir.path(),
        &[
            "--config",
            cfg,
            "CREATE TABLE t(a); INSERT INTO t VALUES (42)",
        ],
        b"",
    );
    assert!(o.status.success(), "{}", err(&o));
    let o = run_in(dir.path(), &["--config", cfg, "SELECT a FROM t"], b"");
    assert_eq!(out(&o), "42\n", "{}", err(&o));
    assert_eq!(entries(dir.path()), ["db", "heliosdb.toml"]);
}

#[test]
fn check_never_creates() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nonexistent");
    let o = run(&["check", missing.to_str().unwrap()], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("does not exist"), "{}", err(&o));
    assert!(!out(&o).contains("ok"));
    assert!(!missing.exists());
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = run(&["check", empty.to_str().unwrap()], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(entries(&empty).is_empty());
}

#[test]
fn ctrl_c_cancels_only_the_running_statement() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let db = db.to_str().unwrap();
    let mut setup =
        String::from("CREATE TABLE t(a); CREATE TABLE n(i INTEGER PRIMARY KEY); BEGIN;\n");
    for i in 1..=1000 {
        setup.push_str(&format!("INSERT INTO n VALUES ({i});\n"));
    }
    setup.push_str("COMMIT;\n");
    let o = run(&[db], &setup);
    assert!(o.status.success(), "{}", err(&o));

    let mut child = Command::new(BIN)
        .arg(db)
        .env("RUST_LOG", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // A billion-row join: minutes unless cancelled.
    stdin
        .write_all(b"BEGIN;\nINSERT INTO t VALUES (1);\nSELECT count(*) FROM n a, n b, n c WHERE a.i + b.i + c.i = -1;\n")
        .unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    std::thread::sleep(Duration::from_millis(300));
    stdin
        .write_all(b"INSERT INTO t VALUES (2);\nCOMMIT;\nSELECT count(*) FROM t;\n")
        .unwrap();
    drop(stdin);
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("Ctrl-C did not cancel the statement");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(out(&o), "2\n", "the transaction survived: {}", err(&o));
    assert!(err(&o).contains("near line 3: interrupted"), "{}", err(&o));
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn scripts_report_lines_continue_and_fail_the_exit_status() {
    let script = "SELECT 1;\nSELEC 2;\nSELECT 3;\n\nSELECT *\n  FROM nosuch;\nSELECT 4;\n";
    let o = run(&[":memory:"], script);
    assert_eq!(out(&o), "1\n3\n4\n");
    assert_eq!(o.status.code(), Some(1));
    let e = err(&o);
    assert!(
        e.contains("Error near line 2: syntax error near \"SELEC\""),
        "{e}"
    );
    assert!(
        e.contains("Error near line 6: no such table: nosuch"),
        "{e}"
    );
    assert!(e.contains("    FROM nosuch;\n         ^--- here"), "{e}");

    for bail in [&["-bail", ":memory:"][..], &["--bail", ":memory:"][..]] {
        let o = run(bail, script);
        assert_eq!(out(&o), "1\n");
        assert_eq!(o.status.code(), Some(1));
    }
    let o = run(&[":memory:"], &format!(".bail on\n{script}"));
    assert_eq!(out(&o), "1\n");

    let o = run(&[":memory:"], "SELECT 1;\n");
    assert!(o.status.success());

    // `.read` names its file; a failing line inside does not stop the outer script.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("inner.sql");
    std::fs::write(&f, "SELECT 'a';\n\nSELECT nope;\nSELECT 'b';\n").unwrap();
    let o = run(
        &[":memory:"],
        &format!(".read {}\nSELECT 'c';\n", f.display()),
    );
    assert_eq!(out(&o), "a\nb\nc\n");
    assert!(
        err(&o).contains(&format!(
            "Error in {} near line 3: no such column: nope",
            f.display()
        )),
        "{}",
        err(&o)
    );
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn invalid_utf8_fails_only_its_statement() {
    let o = run_in(
        &std::env::temp_dir(),
        &[":memory:"],
        b"SELECT 1;\nSELECT 'caf\xe9';\nSELECT 3;\n",
    );
    assert_eq!(out(&o), "1\n3\n");
    assert!(
        err(&o).contains("near line 2: invalid UTF-8 at line 2, column 12"),
        "{}",
        err(&o)
    );
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn csv_import_errors_name_the_line_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let latin = dir.path().join("latin.csv");
    std::fs::write(&latin, b"name,age\nAnn,41\nJos\xe9,7\n").unwrap();
    let open = dir.path().join("open.csv");
    std::fs::write(&open, "name,age\nAnn,41\n\"Bob,7\nCarl,9\n").unwrap();
    let short = dir.path().join("short.csv");
    std::fs::write(&short, "name,age\nAnn,41\nBob\n").unwrap();
    let good = dir.path().join("good.csv");
    std::fs::write(&good, "name,age\nEve,30\n").unwrap();
    let script = format!(
        ".import {} p\n.import {} p\n.import {} p\n.tables\n.import {} p\n.import {} p\nSELECT name FROM p;\n",
        latin.display(),
        open.display(),
        short.display(),
        good.display(),
        latin.display(),
    );
    let o = run(&[":memory:"], &script);
    let e = err(&o);
    assert!(
        e.contains("latin.csv line 3: field 1 is not valid UTF-8"),
        "{e}"
    );
    assert!(
        e.contains("open.csv line 3: a quoted field is never closed"),
        "{e}"
    );
    assert!(
        e.contains("short.csv line 3: has 1 fields, but the header has 2"),
        "{e}"
    );
    assert!(e.contains("nothing was imported"), "{e}");
    // `.tables` printed an empty list: no half-made table. The second Latin-1 import into
    // an existing table added no rows either.
    assert_eq!(out(&o), "\nEve\n");
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn json_keeps_column_order_and_duplicate_names() {
    let o = run(
        &["--json", ":memory:"],
        "CREATE TABLE a(z, x); CREATE TABLE b(x, y);\nINSERT INTO a VALUES (1, 2); INSERT INTO b VALUES (2, 3);\nSELECT * FROM a JOIN b ON a.x = b.x;\nSELECT 1 AS a, 2 AS a;\n",
    );
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        out(&o),
        "[{\"z\":1,\"x\":2,\"x\":2,\"y\":3}]\n[{\"a\":1,\"a\":2}]\n"
    );
}

#[test]
fn csv_and_list_output_match_sqlite3() {
    let o = run(
        &["--csv", ":memory:"],
        "SELECT NULL AS n, '' AS e, 'a b' AS s, 'x\"y' AS q, 7 AS i;\n",
    );
    assert_eq!(out(&o), "n,e,s,q,i\n,\"\",\"a b\",\"x\"\"y\",7\n");
    let o = run(&[":memory:"], "SELECT x'41ff', NULL, x'420043';\n");
    assert_eq!(o.stdout, b"A\xff||B\n");
}

#[test]
fn schema_shows_triggers() {
    let o = run(
        &[":memory:"],
        "CREATE TABLE t(a);\nCREATE TABLE log(b);\nCREATE TRIGGER t_log AFTER INSERT ON t\nBEGIN\n  INSERT INTO log VALUES (new.a);\nEND;\nINSERT INTO t VALUES (5);\nSELECT b FROM log;\n.schema t\n",
    );
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        out(&o),
        "5\nCREATE TABLE t(a);\nCREATE TRIGGER t_log AFTER INSERT ON t\nBEGIN\n  INSERT INTO log VALUES (new.a);\nEND;\n"
    );
}

#[test]
fn closed_or_full_outputs_never_panic() {
    // stderr closed: the error cannot be printed, but the exit status still says so.
    let o = Command::new("sh")
        .args(["-c", &format!("exec 2>&-; '{BIN}' :memory: 'SELEC 1'")])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    // stdout on a full device.
    let o = Command::new("sh")
        .args(["-c", &format!("'{BIN}' :memory: 'SELECT 1' > /dev/full")])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("cannot write output"), "{}", err(&o));
    assert!(!err(&o).contains("panicked"));
    // stdout a pipe whose reader leaves after one line.
    let script: String = (0..20000).map(|i| format!("SELECT {i};\n")).collect();
    let mut child = Command::new(BIN)
        .arg(":memory:")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(script.as_bytes());
    });
    let mut first = [0u8; 2];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(&first, b"0\n");
    assert!(!err(&o).contains("panicked"), "{}", err(&o));
    assert_ne!(o.status.code(), Some(101));
    // The demo prints a lot; a reader that leaves early ends it quietly.
    let o = Command::new("sh")
        .args(["-c", &format!("'{BIN}' demo | head -c 10 >/dev/null")])
        .output()
        .unwrap();
    assert!(!err(&o).contains("panicked"), "{}", err(&o));
}

#[test]
fn errors_point_at_the_token_and_cut_long_statements() {
    let long = "x".repeat(1 << 20);
    let o = run(&[":memory:"], &format!("SELECT '{long}' FROM nosuch;\n"));
    let e = err(&o);
    assert!(e.len() < 2000, "{} bytes of error", e.len());
    assert!(
        e.contains("no such table: nosuch"),
        "{}",
        &e[..e.len().min(500)]
    );
    let mut lines = e.lines().skip(1);
    let (text, caret) = (lines.next().unwrap(), lines.next().unwrap());
    let at = caret.find('^').unwrap();
    assert_eq!(&text[at..at + 6], "nosuch", "{e}");
    // A syntax error in a long statement is cut too, and still points at its token.
    let o = run(&[":memory:"], &format!("SELECT '{long}' FROM WHERE;\n"));
    let e = err(&o);
    assert!(e.len() < 2000, "{} bytes of error", e.len());
    assert!(e.contains("near \"WHERE\""), "{e}");
    let o = run(&[":memory:"], &format!("SELECT {long}(;\n"));
    let e = err(&o);
    assert!(e.len() < 2000, "{} bytes of error", e.len());
}

#[test]
fn readonly_never_writes_and_reads_a_database_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let dbs = db.to_str().unwrap();
    let o = run(
        &[dbs, "CREATE TABLE t(a); INSERT INTO t VALUES (1), (2);"],
        "",
    );
    assert!(o.status.success(), "{}", err(&o));
    let before = fingerprint(&db);

    let o = run(&["--readonly", dbs, "SELECT count(*) FROM t"], "");
    assert_eq!(out(&o), "2\n", "{}", err(&o));
    let o = run(&["-readonly", dbs], "BEGIN;\nSELECT a FROM t AS OF SCN 2;\nCOMMIT;\nINSERT INTO t VALUES (3);\nDROP TABLE t;\n.gc\n");
    assert_eq!(out(&o), "1\n2\n");
    let e = err(&o);
    assert!(
        e.contains("near line 4: attempt to write a read-only database: INSERT"),
        "{e}"
    );
    assert!(
        e.contains("near line 5: attempt to write a read-only database: DROP"),
        "{e}"
    );
    assert!(
        e.contains("near line 6: attempt to write a read-only database"),
        "{e}"
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        before,
        fingerprint(&db),
        "a read-only open changed the directory"
    );

    // While another process has the database open (and locked), a read-only open still reads.
    let mut holder = Command::new(BIN)
        .arg(dbs)
        .env("RUST_LOG", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut hin = holder.stdin.take().unwrap();
    hin.write_all(b"SELECT 'ready';\n").unwrap();
    hin.flush().unwrap();
    let mut ready = [0u8; 6];
    std::io::Read::read_exact(holder.stdout.as_mut().unwrap(), &mut ready).unwrap();
    let o = run(&[dbs, "SELECT 1"], "");
    assert!(
        err(&o).contains("--readonly"),
        "a second writer is told what to do: {}",
        err(&o)
    );
    let held = fingerprint(&db);
    let o = run(&["--readonly", dbs, "SELECT sum(a) FROM t"], "");
    assert_eq!(out(&o), "3\n", "{}", err(&o));
    assert_eq!(
        held,
        fingerprint(&db),
        "a read-only open changed the directory"
    );
    drop(hin);
    holder.wait().unwrap();

    let missing = dir.path().join("missing");
    let o = run(&["--readonly", missing.to_str().unwrap(), "SELECT 1"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(!missing.exists());
}

#[test]
fn readonly_leaves_a_write_protected_directory_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let dbs = db.to_str().unwrap();
    let o = run(&[dbs, "CREATE TABLE t(a); INSERT INTO t VALUES (7);"], "");
    assert!(o.status.success(), "{}", err(&o));
    let before = fingerprint(&db);
    let set_mode = |mode: &str| {
        assert!(Command::new("chmod")
            .args(["-R", mode, dbs])
            .status()
            .unwrap()
            .success());
    };
    set_mode("a-w");
    let o = run(&["--readonly", dbs, "SELECT a FROM t"], "");
    set_mode("u+w");
    assert_eq!(out(&o), "7\n", "{}", err(&o));
    assert_eq!(before, fingerprint(&db));
}

#[test]
fn errors_are_sentences_not_internal_dumps() {
    let o = run(
        &[":memory:"],
        "CREATE TABLE t(a);\nCREATE TABLE u(a, b);\nSELECT (1, 2) = (SELECT a, b FROM u);\nSELECT * FROM\n",
    );
    let e = err(&o);
    assert!(
        e.contains("near line 3: not supported: a row value compared with a subquery"),
        "{e}"
    );
    assert!(
        e.contains("near line 4: syntax error: the statement ends early; expected identifier next"),
        "{e}"
    );
    assert!(!e.contains("Ident {") && !e.contains("EOF"), "{e}");

    // A damaged data file: a sentence that says what to do, not `ChecksumMismatch { .. }`.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let dbs = db.to_str().unwrap();
    let o = run(
        &[
            dbs,
            "CREATE TABLE t(a); INSERT INTO t VALUES ('hello world');",
        ],
        "",
    );
    assert!(o.status.success(), "{}", err(&o));
    let mut damaged = 0;
    for ks in std::fs::read_dir(db.join("keyspaces")).unwrap() {
        let tables = ks.unwrap().path().join("tables");
        for f in std::fs::read_dir(&tables).into_iter().flatten() {
            let f = f.unwrap().path();
            let mut b = std::fs::read(&f).unwrap();
            for x in b.iter_mut().skip(40).take(20) {
                *x ^= 0xff;
            }
            std::fs::write(&f, b).unwrap();
            damaged += 1;
        }
    }
    assert!(damaged > 0);
    let o = run(&[dbs, "SELECT * FROM t"], "");
    let e = err(&o);
    assert!(!o.status.success());
    assert!(
        e.contains("restore the database directory from a backup"),
        "{e}"
    );
    assert!(!e.contains("Checksum("), "{e}");
}

#[test]
fn time_travel_rough_edges() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("heliosdb.toml");
    std::fs::write(
        &cfg,
        format!(
            "[database]\npath = \"{}\"\n[snapshot]\nmin_retention_seconds = 0\nmax_snapshots = 2\nauto_gc_enabled = false\n",
            dir.path().join("db").display()
        ),
    )
    .unwrap();
    let mut script = String::from("CREATE TABLE t(a);\n");
    for i in 0..7 {
        script.push_str(&format!("INSERT INTO t VALUES ({i});\n"));
    }
    script.push_str(
        "SELECT * FROM helios_snapshots AS OF SCN 2;\n\
         CREATE TABLE helios_snapshots(x);\n\
         SELECT * FROM (SELECT * FROM t) s AS OF SCN 5;\n\
         SELECT * FROM t AS OF TRANSACTION 0;\n\
         SELECT count(*) FROM helios_snapshots;\n\
         VACUUM HISTORY;\n\
         SELECT count(*) FROM helios_snapshots;\n",
    );
    let o = run(&["--config", cfg.to_str().unwrap()], &script);
    let e = err(&o);
    assert!(
        e.contains("near line 9: helios_snapshots has no history of its own"),
        "{e}"
    );
    assert!(
        e.contains("near line 10: helios_snapshots is reserved"),
        "{e}"
    );
    assert!(e.contains("near line 11: syntax error near \"AS\": a time-travel clause must follow a table name, and a subquery is not one"), "{e}");
    assert!(!e.contains("SYSTEM_TIME"), "{e}");
    assert!(
        e.contains("near line 12: snapshot not available: transaction 0 does not exist"),
        "{e}"
    );
    let stdout = out(&o);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "8");
    assert!(
        lines[1].starts_with("6|"),
        "VACUUM HISTORY reports the 6 it removed: {}",
        lines[1]
    );
    assert_eq!(lines[2], "2");
}
