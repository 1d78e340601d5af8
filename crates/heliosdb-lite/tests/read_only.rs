//! `Connection::open_read_only`: reads, never writes, never creates.

use heliosdb_lite::{Connection, Error};

fn files(dir: &std::path::Path) -> Vec<(String, u64, std::time::SystemTime)> {
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
fn reads_without_writing_and_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE t(a); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2);")
            .unwrap();
    }
    let before = files(&path);
    {
        let ro = Connection::open_read_only(&path).unwrap();
        assert!(ro.is_read_only());
        let n: i64 = ro
            .query_row("SELECT sum(a) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 3);
        let old: i64 = ro
            .query_row("SELECT count(*) FROM t AS OF SCN 2", [], |r| r.get(0))
            .unwrap();
        assert_eq!(old, 1);
        ro.execute_batch("BEGIN; SELECT 1; COMMIT;").unwrap();
        for w in [
            "INSERT INTO t VALUES (3)",
            "UPDATE t SET a = 0",
            "DELETE FROM t",
            "CREATE TABLE u(a)",
            "DROP TABLE t",
            "VACUUM HISTORY",
        ] {
            match ro.execute(w, []) {
                Err(Error::ReadOnly(_)) => {}
                other => panic!("{w}: {other:?}"),
            }
        }
        assert!(matches!(ro.gc(), Err(Error::ReadOnly(_))));
        assert!(matches!(ro.checkpoint(), Err(Error::ReadOnly(_))));
    }
    assert_eq!(before, files(&path));
}

#[test]
fn never_creates_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let e = Connection::open_read_only(&missing).unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    assert!(!missing.exists());
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let e = Connection::open_read_only(&empty).unwrap_err();
    assert!(
        e.to_string().contains("holds no HeliosDB-Lite database"),
        "{e}"
    );
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    assert!(Connection::open_read_only(":memory:").is_err());
}

#[test]
fn shares_the_engine_this_process_has_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let rw = Connection::open(&path).unwrap();
    rw.execute_batch("CREATE TABLE t(a); INSERT INTO t VALUES (1);")
        .unwrap();
    let ro = Connection::open_read_only(&path).unwrap();
    rw.execute("INSERT INTO t VALUES (2)", []).unwrap();
    let n: i64 = ro
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        n, 2,
        "the read-only connection sees this process's later commits"
    );
    assert!(matches!(
        ro.execute("INSERT INTO t VALUES (3)", []),
        Err(Error::ReadOnly(_))
    ));
}
