//! Online backup (`Connection::backup_to`, `VACUUM INTO 'file'`): the copy keeps the whole
//! retained history, is consistent while other threads write, refuses a target that holds
//! anything, leaves nothing behind when it fails, and works from an in-memory database.

use heliosdb_lite::mvcc::Retention;
use heliosdb_lite::{Config, Connection};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Every row of `sql`, each column as its debug text (exact types and values).
fn rows(conn: &Connection, sql: &str) -> Vec<Vec<String>> {
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = stmt.column_count();
    let mut out = Vec::new();
    let mut it = stmt.query([]).unwrap_or_else(|e| panic!("{sql}: {e}"));
    while let Some(r) = it.next().unwrap() {
        out.push(
            (0..n)
                .map(|i| format!("{:?}", r.get::<_, heliosdb_lite::types::Value>(i).unwrap()))
                .collect(),
        );
    }
    out
}

/// The answer to `sql`, or its error text (the copy must fail exactly where the source does).
fn answer(conn: &Connection, sql: &str) -> Result<Vec<Vec<String>>, String> {
    let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
    let n = stmt.column_count();
    let mut it = stmt.query([]).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some(r) = it.next().map_err(|e| e.to_string())? {
        out.push(
            (0..n)
                .map(|i| format!("{:?}", r.get::<_, heliosdb_lite::types::Value>(i).unwrap()))
                .collect(),
        );
    }
    Ok(out)
}

fn integrity(conn: &Connection) -> String {
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

fn latest_scn(conn: &Connection) -> u64 {
    conn.mvcc().latest_scn()
}

/// A history worth copying: small and large tables (the large one gets a packed read copy),
/// an index, updates, deletes, a dropped table, across many commits.
fn build_history(conn: &Connection) {
    conn.execute_batch(
        "CREATE TABLE small (id INTEGER PRIMARY KEY, name TEXT, qty REAL);
         CREATE INDEX small_name ON small(name);
         CREATE TABLE big (id INTEGER PRIMARY KEY, g INTEGER, v TEXT);
         CREATE TABLE doomed (x);
         INSERT INTO doomed VALUES (1), (2);",
    )
    .unwrap();
    conn.execute_batch(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)
         INSERT INTO big SELECT i, i % 97, 'v' || i FROM n;",
    )
    .unwrap();
    conn.checkpoint().unwrap(); // builds the big table's pack
    for i in 0..30i64 {
        conn.execute(
            "INSERT INTO small (name, qty) VALUES (?1, ?2)",
            (format!("n{}", i % 7), i as f64 / 4.0),
        )
        .unwrap();
        if i % 3 == 0 {
            conn.execute(
                "UPDATE small SET qty = qty + 100 WHERE id % 4 = ?1",
                [i % 4],
            )
            .unwrap();
        }
        if i % 5 == 4 {
            conn.execute("DELETE FROM small WHERE id = ?1", [i - 2])
                .unwrap();
        }
        conn.execute("UPDATE big SET g = g + 1 WHERE id % 50 = ?1", [i])
            .unwrap();
        if i == 12 {
            conn.execute_batch("DROP TABLE doomed").unwrap();
        }
    }
}

/// The queries compared between source and copy at a point (`clause` is an AS OF clause).
fn probes(clause: &str) -> Vec<String> {
    vec![
        format!("SELECT * FROM small {clause} ORDER BY id"),
        format!("SELECT name, count(*), sum(qty) FROM small {clause} WHERE name > 'n2' GROUP BY name ORDER BY name"),
        format!("SELECT count(*), sum(g), min(v), max(v) FROM big {clause}"),
        format!("SELECT * FROM big {clause} WHERE id % 500 = 7 ORDER BY id"),
        format!("SELECT * FROM doomed {clause} ORDER BY x"),
    ]
}

fn assert_same_everywhere(src: &Connection, copy: &Connection, last: u64) {
    assert_eq!(latest_scn(copy), last);
    assert_eq!(
        rows(src, "SELECT * FROM helios_snapshots ORDER BY 1"),
        rows(copy, "SELECT * FROM helios_snapshots ORDER BY 1")
    );
    for sql in probes("") {
        assert_eq!(answer(src, &sql), answer(copy, &sql), "{sql}");
    }
    let snapshots = rows(
        src,
        "SELECT scn, txn_id, committed_at FROM helios_snapshots WHERE scn <= 1000000 ORDER BY scn",
    );
    assert!(snapshots.len() > 20, "a long history: {}", snapshots.len());
    let mut answered = 0;
    for s in &snapshots {
        let (scn, txn) = (&s[0], &s[1]);
        let scn = scn.trim_start_matches("Integer(").trim_end_matches(')');
        let txn = txn.trim_start_matches("Integer(").trim_end_matches(')');
        for clause in [
            format!("AS OF SCN {scn}"),
            format!("AS OF TRANSACTION {txn}"),
            format!("AS OF BEFORE TRANSACTION {txn}"),
        ] {
            for sql in probes(&clause) {
                let a = answer(src, &sql);
                answered += a.as_ref().is_ok_and(|r| !r.is_empty()) as usize;
                assert_eq!(a, answer(copy, &sql), "{sql}");
            }
        }
    }
    // Most points answer with rows (not only errors on both sides).
    assert!(answered > snapshots.len() * 6, "{answered}");
    // By timestamp: the commit times came along too.
    let times = rows(
        src,
        "SELECT CAST(committed_at AS TEXT) FROM helios_snapshots ORDER BY scn",
    );
    for t in times.iter().step_by(5) {
        let t = t[0].trim_start_matches("Text(\"").trim_end_matches("\")");
        for sql in probes(&format!("AS OF TIMESTAMP '{t}'")) {
            assert_eq!(answer(src, &sql), answer(copy, &sql), "{sql}");
        }
    }
}

#[test]
fn the_copy_answers_as_the_source_now_and_at_every_retained_point() {
    let dir = tempfile::tempdir().unwrap();
    let src = Connection::open(dir.path().join("src")).unwrap();
    build_history(&src);
    let report = src.backup_to(dir.path().join("copy")).unwrap();
    assert_eq!(report.scn, latest_scn(&src));
    assert!(report.entries > 6000 && report.bytes > 0, "{report:?}");
    let copy = Connection::open(dir.path().join("copy")).unwrap();
    assert_eq!(integrity(&copy), "ok");
    assert_same_everywhere(&src, &copy, report.scn);
    // The copy is a database of its own: it takes commits, and keeps them across a reopen.
    copy.execute("INSERT INTO small (name) VALUES ('after')", [])
        .unwrap();
    drop(copy);
    let copy = Connection::open(dir.path().join("copy")).unwrap();
    assert_eq!(latest_scn(&copy), report.scn + 1);
    assert_eq!(
        rows(&copy, "SELECT count(*) FROM small WHERE name = 'after'"),
        vec![vec!["Integer(1)".to_string()]]
    );
    assert_eq!(integrity(&copy), "ok");
    // Nothing but the copy was created beside it.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn the_copy_keeps_the_gc_horizon_and_refuses_what_the_source_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::with_path(dir.path().join("src"));
    config.snapshot.auto_gc_enabled = false;
    let src = Connection::open(config).unwrap();
    build_history(&src);
    src.mvcc().set_retention(Retention {
        min_retention_us: 0,
        max_snapshots: 25,
    });
    let gc = src.gc().unwrap();
    assert!(gc.new_horizon > 1, "{gc:?}");
    src.backup_to(dir.path().join("copy")).unwrap();
    let copy = Connection::open(dir.path().join("copy")).unwrap();
    assert_eq!(copy.mvcc().horizon(), src.mvcc().horizon());
    assert_eq!(integrity(&copy), "ok");
    let too_old = format!("SELECT * FROM small AS OF SCN {}", gc.new_horizon - 1);
    let e = answer(&copy, &too_old).unwrap_err();
    assert_eq!(Err(e), answer(&src, &too_old));
    assert_same_everywhere(&src, &copy, latest_scn(&src));
}

/// A writer thread commits rows 1, 2, 3, ... one a commit while the copy is made: the copy
/// holds exactly rows 1..=k for some k, and its newest commit is the one that wrote row k.
#[test]
fn a_copy_made_while_a_thread_commits_holds_exactly_a_prefix_of_its_commits() {
    let dir = tempfile::tempdir().unwrap();
    let src = Connection::open(dir.path().join("src")).unwrap();
    build_history(&src);
    src.execute_batch("CREATE TABLE seq (n INTEGER PRIMARY KEY, at_scn INTEGER)")
        .unwrap();
    let writer = src.another_connection();
    let stop = Arc::new(AtomicBool::new(false));
    let written = std::thread::scope(|s| {
        let stop2 = stop.clone();
        let handle = s.spawn(move || {
            let mut n = 0i64;
            while !stop2.load(Ordering::Relaxed) || n < 50 {
                n += 1;
                writer
                    .execute("INSERT INTO seq VALUES (?1, NULL)", [n])
                    .unwrap();
            }
            n
        });
        // Let the writer get going, then copy twice while it runs.
        while rows(&src, "SELECT count(*) FROM seq")[0][0] == "Integer(0)" {
            std::thread::yield_now();
        }
        let mut reports = Vec::new();
        for name in ["copy1", "copy2"] {
            reports.push((name, src.backup_to(dir.path().join(name)).unwrap()));
        }
        stop.store(true, Ordering::Relaxed);
        (handle.join().unwrap(), reports)
    });
    let (last_n, reports) = written;
    let seq_created = latest_scn(&src) - last_n as u64;
    for (name, report) in reports {
        let copy = Connection::open(dir.path().join(name)).unwrap();
        assert_eq!(integrity(&copy), "ok");
        let got = rows(&copy, "SELECT n FROM seq ORDER BY n");
        let k = got.len() as u64;
        assert!(k >= 1 && k <= last_n as u64, "{name}: {k} of {last_n}");
        for (i, r) in got.iter().enumerate() {
            assert_eq!(r[0], format!("Integer({})", i + 1), "{name}: not a prefix");
        }
        // One commit per row: the copy's newest commit wrote row k.
        assert_eq!(report.scn, seq_created + k, "{name}");
        assert_eq!(latest_scn(&copy), report.scn, "{name}");
        for sql in probes(&format!("AS OF SCN {}", report.scn - k)) {
            assert_eq!(answer(&src, &sql), answer(&copy, &sql), "{sql}");
        }
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_target_holding_anything_is_refused_and_a_failed_copy_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = Connection::open(dir.path().join("src")).unwrap();
    src.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1)")
        .unwrap();
    // A database directory, a non-empty file, a directory with a file in it.
    src.backup_to(dir.path().join("first")).unwrap();
    std::fs::write(dir.path().join("file"), b"data").unwrap();
    std::fs::create_dir(dir.path().join("full")).unwrap();
    std::fs::write(dir.path().join("full/x"), b"").unwrap();
    let before = entries(dir.path());
    for name in ["first", "file", "full", "src"] {
        let e = src.backup_to(dir.path().join(name)).unwrap_err();
        assert!(
            e.to_string().contains("output file already exists"),
            "{name}: {e}"
        );
        let e = src
            .execute(
                &format!("VACUUM INTO '{}'", dir.path().join(name).display()),
                [],
            )
            .unwrap_err();
        assert!(e.to_string().contains("output file already exists"), "{e}");
    }
    // A parent directory that does not exist: an error, and no staging directory anywhere.
    let e = src
        .backup_to(dir.path().join("missing/deeper/copy"))
        .unwrap_err();
    assert!(e.to_string().contains("unable to open database"), "{e}");
    assert_eq!(entries(dir.path()), before);
    assert_eq!(entries(&dir.path().join("full")), vec!["x".to_string()]);
    // An empty directory and an empty file are replaced, as SQLite replaces an empty file.
    std::fs::create_dir(dir.path().join("empty_dir")).unwrap();
    std::fs::write(dir.path().join("empty_file"), b"").unwrap();
    for name in ["empty_dir", "empty_file"] {
        src.backup_to(dir.path().join(name)).unwrap();
        let copy = Connection::open(dir.path().join(name)).unwrap();
        assert_eq!(
            rows(&copy, "SELECT x FROM t"),
            vec![vec!["Integer(1)".to_string()]]
        );
    }
}

#[test]
fn an_in_memory_database_is_copied_to_disk() {
    let dir = tempfile::tempdir().unwrap();
    let src = Connection::open_in_memory().unwrap();
    build_history(&src);
    let report = src.backup_to(dir.path().join("copy")).unwrap();
    let copy = Connection::open(dir.path().join("copy")).unwrap();
    assert_eq!(integrity(&copy), "ok");
    assert_same_everywhere(&src, &copy, report.scn);
}

#[test]
fn vacuum_into_takes_sqlite_forms_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let src = Connection::open(dir.path().join("src")).unwrap();
    src.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2)")
        .unwrap();
    let path = |n: &str| dir.path().join(n).display().to_string();
    src.execute(&format!("VACUUM INTO '{}'", path("lit")), [])
        .unwrap();
    src.execute("VACUUM INTO ?1", [path("param")]).unwrap();
    let dir_text = dir.path().display().to_string();
    let named: &[(&str, &dyn heliosdb_lite::types::ToSql)] =
        &[(":dir", &dir_text), (":name", &"expr")];
    src.execute("VACUUM main INTO :dir || '/' || :name", named)
        .unwrap();
    src.execute(&format!("vacuum Main into '{}'", path("it''s")), [])
        .unwrap();
    for name in ["lit", "param", "expr", "it's"] {
        let copy = Connection::open(dir.path().join(name)).unwrap();
        assert_eq!(
            rows(&copy, "SELECT sum(x) FROM t"),
            vec![vec!["Integer(3)".to_string()]],
            "{name}"
        );
    }
    // Plain VACUUM (a checkpoint here) and VACUUM main run and change nothing.
    src.execute_batch("VACUUM; VACUUM main;").unwrap();
    assert_eq!(
        rows(&src, "SELECT sum(x) FROM t"),
        vec![vec!["Integer(3)".to_string()]]
    );
    let err = |sql: &str| src.execute(sql, []).unwrap_err().to_string();
    assert!(err("VACUUM INTO NULL").contains("non-text filename"));
    assert!(err("VACUUM INTO 5").contains("non-text filename"));
    assert!(err("VACUUM other INTO 'x'").contains("unknown database other"));
    assert!(err("VACUUM INTO").contains("syntax error"));
    src.execute_batch("BEGIN").unwrap();
    assert!(err(&format!("VACUUM INTO '{}'", path("in_txn")))
        .contains("cannot VACUUM from within a transaction"));
    assert!(err("VACUUM").contains("cannot VACUUM from within a transaction"));
    assert!(src
        .backup_to(path("in_txn"))
        .unwrap_err()
        .to_string()
        .contains("cannot VACUUM from within a transaction"));
    src.execute_batch("ROLLBACK").unwrap();
    assert!(!dir.path().join("in_txn").exists());
    // A read-only connection may copy (it writes only the new directory), not checkpoint.
    drop(src);
    let ro = Connection::open_read_only(dir.path().join("src")).unwrap();
    ro.execute("VACUUM INTO ?1", [path("from_ro")]).unwrap();
    assert!(ro.execute("VACUUM", []).is_err());
    let copy = Connection::open(dir.path().join("from_ro")).unwrap();
    assert_eq!(
        rows(&copy, "SELECT count(*) FROM t"),
        vec![vec!["Integer(2)".to_string()]]
    );
}

/// SQLite and HeliosDB-Lite run the same script and `VACUUM INTO`: the copies hold the same
/// data, and the same errors come back for the same misuse.
#[test]
fn vacuum_into_agrees_with_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let script = "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b REAL, c BLOB);
                  INSERT INTO t VALUES (1, 'x', 1.5, x'00ff'), (2, NULL, -2, NULL), (3, 'z', 3, x'');
                  UPDATE t SET a = a || '!' WHERE id = 3;
                  DELETE FROM t WHERE id = 2;";
    let lite = Connection::open(dir.path().join("lite")).unwrap();
    lite.execute_batch(script).unwrap();
    let sqlite = rusqlite::Connection::open(dir.path().join("sqlite.db")).unwrap();
    sqlite.execute_batch(script).unwrap();
    let lite_copy = dir.path().join("lite_copy").display().to_string();
    let sqlite_copy = dir.path().join("sqlite_copy.db").display().to_string();
    lite.execute("VACUUM INTO ?1", [&lite_copy]).unwrap();
    sqlite.execute("VACUUM INTO ?1", [&sqlite_copy]).unwrap();
    let q = "SELECT id, typeof(a), a, typeof(b), b, hex(c) FROM t ORDER BY id";
    let from_lite = rows(&Connection::open(&lite_copy).unwrap(), q);
    let sqlite_copy = rusqlite::Connection::open(&sqlite_copy).unwrap();
    let mut stmt = sqlite_copy.prepare(q).unwrap();
    let from_sqlite: Vec<Vec<String>> = stmt
        .query_map([], |r| {
            Ok((0..6)
                .map(|i| match r.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Null => "Null".to_string(),
                    rusqlite::types::ValueRef::Integer(v) => format!("Integer({v})"),
                    rusqlite::types::ValueRef::Real(v) => format!("Real({v:?})"),
                    rusqlite::types::ValueRef::Text(t) => {
                        format!("Text({:?})", String::from_utf8_lossy(t))
                    }
                    rusqlite::types::ValueRef::Blob(b) => format!("Blob({b:?})"),
                })
                .collect())
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(from_lite, from_sqlite);
    for (sql, what) in [
        (
            format!("VACUUM INTO '{lite_copy}'"),
            "output file already exists",
        ),
        ("VACUUM INTO NULL".to_string(), "non-text filename"),
        ("VACUUM nope INTO 'x'".to_string(), "unknown database nope"),
    ] {
        let sqlite_sql = sql.replace(
            &lite_copy,
            &dir.path().join("sqlite_copy.db").display().to_string(),
        );
        let s = sqlite.execute(&sqlite_sql, []).unwrap_err().to_string();
        let l = lite.execute(&sql, []).unwrap_err().to_string();
        assert!(
            s.contains(what) && l.contains(what),
            "{sql}: sqlite {s}; lite {l}"
        );
    }
}
