//! The tuning pragmas an application written for SQLite issues when it opens a database
//! (`synchronous`, `cache_size`, `temp_store`, `mmap_size`, `wal_checkpoint`, `optimize`,
//! `encoding`, `application_id`):
//! accepted where honouring them differently costs nothing, answering what is true of this
//! engine, refused where they would promise a durability the database does not give, and
//! shaped like SQLite's answers (columns, rows or none).

use heliosdb_lite::{Config, Connection, Error};

fn open(dir: &std::path::Path, durable: bool) -> Connection {
    let mut c = Config::with_path(dir);
    c.database.enable_wal = durable;
    c.database.memory_limit_mb = 64;
    Connection::open(c).unwrap()
}

fn int(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Rows and column names a statement answers, as text.
fn answer(c: &Connection, sql: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut stmt = c.prepare(sql).unwrap();
    let mut rows = stmt.query([]).unwrap();
    let columns = rows.column_names().to_vec();
    let n = columns.len();
    let mut out = Vec::new();
    while let Some(r) = rows.next().unwrap() {
        out.push(
            (0..n)
                .map(|i| format!("{:?}", r.get::<_, heliosdb_lite::types::Value>(i).unwrap()))
                .collect(),
        );
    }
    (columns, out)
}

fn sqlite_answer(c: &rusqlite::Connection, sql: &str) -> (Vec<String>, usize) {
    let mut stmt = c.prepare(sql).unwrap();
    let mut rows = stmt.query([]).unwrap();
    let columns = rows
        .as_ref()
        .map(|s| s.column_names().iter().map(|c| c.to_string()).collect())
        .unwrap_or_default();
    let mut n = 0;
    while rows.next().unwrap().is_some() {
        n += 1;
    }
    (columns, n)
}

#[test]
fn an_applications_startup_pragmas_run_and_read_back_what_is_true() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path(), true);
    c.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -64000; \
         PRAGMA temp_store = MEMORY; PRAGMA mmap_size = 268435456; PRAGMA foreign_keys = ON; \
         PRAGMA busy_timeout = 5000; PRAGMA optimize; PRAGMA optimize(0x10002)",
    )
    .unwrap();
    // Commits stay synced as the database was opened: FULL.
    assert_eq!(int(&c, "PRAGMA synchronous"), 2);
    // The cache memory_limit_mb = 64 gives (a quarter), in SQLite's negative KiB form,
    // whatever was asked.
    assert_eq!(int(&c, "PRAGMA cache_size"), -16 * 1024);
    assert_eq!(int(&c, "PRAGMA temp_store"), 0);
    assert_eq!(int(&c, "PRAGMA mmap_size"), 0);
    assert_eq!(int(&c, "PRAGMA mmap_size = 1000000"), 0);
}

#[test]
fn answers_have_sqlites_shape() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path(), true);
    let s = rusqlite::Connection::open(dir.path().join("sqlite.db")).unwrap();
    s.execute_batch("PRAGMA journal_mode = WAL").unwrap();
    for sql in [
        "PRAGMA synchronous",
        "PRAGMA synchronous = NORMAL",
        "PRAGMA cache_size",
        "PRAGMA cache_size = -64000",
        "PRAGMA temp_store",
        "PRAGMA temp_store = FILE",
        "PRAGMA mmap_size",
        "PRAGMA mmap_size = 0",
        "PRAGMA wal_checkpoint",
        "PRAGMA wal_checkpoint(TRUNCATE)",
        "PRAGMA optimize",
        "PRAGMA encoding",
        "PRAGMA encoding = 'UTF-8'",
        "PRAGMA application_id",
        "PRAGMA application_id = 1234",
    ] {
        let (columns, rows) = answer(&c, sql);
        assert_eq!((columns, rows.len()), sqlite_answer(&s, sql), "{sql}");
    }
}

#[test]
fn synchronous_full_is_refused_where_commits_are_not_synced() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path(), false);
    assert_eq!(int(&c, "PRAGMA synchronous"), 1);
    for level in ["FULL", "extra", "2", "3"] {
        let e = c
            .execute_batch(&format!("PRAGMA synchronous = {level}"))
            .unwrap_err();
        assert!(matches!(e, Error::Unsupported(_)), "{level}: {e}");
        assert!(e.to_string().contains("enable_wal = true"), "{e}");
    }
    for level in ["OFF", "normal", "0", "1", "on"] {
        c.execute_batch(&format!("PRAGMA synchronous = {level}"))
            .unwrap();
    }
    assert_eq!(int(&c, "PRAGMA synchronous"), 1);
    // An in-memory database has no disk to wait for: every level is kept.
    let m = Connection::open_in_memory().unwrap();
    m.execute_batch("PRAGMA synchronous = FULL").unwrap();
    assert_eq!(int(&m, "PRAGMA synchronous"), 2);
}

#[test]
fn values_no_spelling_matches_are_errors_naming_them() {
    let c = Connection::open_in_memory().unwrap();
    for (sql, named) in [
        ("PRAGMA synchronous = sometimes", "sometimes"),
        ("PRAGMA temp_store = RAM", "RAM"),
        ("PRAGMA cache_size = lots", "lots"),
        ("PRAGMA mmap_size = 'big'", "big"),
        ("PRAGMA wal_checkpoint(EVENTUALLY)", "EVENTUALLY"),
        ("PRAGMA optimize = soon", "soon"),
        ("PRAGMA encoding = 'UTF-16le'", "UTF-16le"),
    ] {
        let e = c.execute_batch(sql).unwrap_err();
        assert!(e.to_string().contains(named), "{sql}: {e}");
    }
}

#[test]
fn wal_checkpoint_writes_the_buffer_into_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path(), true);
    c.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
        .unwrap();
    let mut ins = c.prepare("INSERT INTO t VALUES (?1, ?2)").unwrap();
    for i in 0..1000 {
        ins.execute((i, format!("row {i}"))).unwrap();
    }
    drop(ins);
    let logs = || -> u64 {
        std::fs::read_dir(dir.path().join("buffer"))
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
            .map(|e| e.metadata().unwrap().len())
            .sum()
    };
    assert!(logs() > 0, "the commits are in the buffer's log first");
    let (columns, rows) = answer(&c, "PRAGMA wal_checkpoint(TRUNCATE)");
    assert_eq!(columns, ["busy", "log", "checkpointed"]);
    assert_eq!(rows, [["Integer(0)", "Integer(0)", "Integer(0)"]]);
    assert_eq!(logs(), 0, "nothing left to replay");
    assert_eq!(int(&c, "SELECT count(*) FROM t"), 1000);
    drop(c);
    let c = open(dir.path(), true);
    assert_eq!(int(&c, "SELECT count(*) FROM t"), 1000);
}

#[test]
fn wal_checkpoint_cannot_run_inside_a_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path(), true);
    c.execute_batch("BEGIN").unwrap();
    let e = c.execute_batch("PRAGMA wal_checkpoint").unwrap_err();
    assert!(matches!(e, Error::Transaction(_)), "{e}");
    // The transaction is still open and usable.
    c.execute_batch("CREATE TABLE t(x); COMMIT").unwrap();
    // In memory there is no log: SQLite's answer for that.
    let m = Connection::open_in_memory().unwrap();
    let (_, rows) = answer(&m, "PRAGMA wal_checkpoint");
    assert_eq!(rows, [["Integer(0)", "Integer(-1)", "Integer(-1)"]]);
}

#[test]
fn a_read_only_connection_refuses_the_pragmas_that_write() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path(), true)
        .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1)")
        .unwrap();
    let r = Connection::open_read_only(dir.path()).unwrap();
    let e = r.execute_batch("PRAGMA wal_checkpoint").unwrap_err();
    assert!(e.to_string().contains("read-only"), "{e}");
    assert_eq!(int(&r, "SELECT count(*) FROM t"), 1);
    // Nor may it set the numbers kept in the database (it read them back before).
    for set in ["PRAGMA user_version = 5", "PRAGMA application_id = 5"] {
        let e = r.execute_batch(set).unwrap_err();
        assert!(e.to_string().contains("read-only"), "{set}: {e}");
    }
    assert_eq!(int(&r, "PRAGMA user_version"), 0);
    assert_eq!(int(&r, "PRAGMA application_id"), 0);
    // Opened with the default budget (256 MiB): a 64 MiB cache.
    assert_eq!(int(&r, "PRAGMA cache_size"), -64 * 1024);
}

#[test]
fn application_id_is_kept_beside_user_version() {
    let dir = tempfile::tempdir().unwrap();
    let c = open(dir.path(), true);
    assert_eq!(int(&c, "PRAGMA application_id"), 0);
    c.execute_batch("PRAGMA application_id = 0x4845; PRAGMA user_version = 3")
        .unwrap();
    // Hexadecimal, as SQLite reads it.
    assert_eq!(int(&c, "PRAGMA application_id"), 0x4845);
    c.execute_batch("PRAGMA application_id = 1213484364")
        .unwrap();
    // Rolled back with its transaction, as a header write is in SQLite.
    c.execute_batch("BEGIN; PRAGMA application_id = 5; ROLLBACK")
        .unwrap();
    drop(c);
    let c = open(dir.path(), true);
    assert_eq!(int(&c, "PRAGMA application_id"), 1_213_484_364);
    assert_eq!(int(&c, "PRAGMA user_version"), 3);
    let enc: String = c.query_row("PRAGMA encoding", [], |r| r.get(0)).unwrap();
    assert_eq!(enc, "UTF-8");
}

#[test]
fn header_numbers_and_timeouts_read_hexadecimal_as_sqlite_does() {
    let c = Connection::open_in_memory().unwrap();
    let s = rusqlite::Connection::open_in_memory().unwrap();
    for (set, read) in [
        ("PRAGMA user_version = 0x10", "PRAGMA user_version"),
        ("PRAGMA user_version = 0X7fffffff", "PRAGMA user_version"),
        ("PRAGMA user_version = 0xFFFFFFFF", "PRAGMA user_version"),
        ("PRAGMA user_version = 0x1FFFFFFFF", "PRAGMA user_version"),
        ("PRAGMA user_version = '0x20'", "PRAGMA user_version"),
        ("PRAGMA user_version = '0x20zz'", "PRAGMA user_version"),
        ("PRAGMA user_version = '0x'", "PRAGMA user_version"),
        ("PRAGMA user_version = 12", "PRAGMA user_version"),
        ("PRAGMA application_id = 0xABC", "PRAGMA application_id"),
        ("PRAGMA busy_timeout = 0x10", "PRAGMA busy_timeout"),
    ] {
        c.execute_batch(set).unwrap();
        s.execute_batch(set).unwrap();
        let ours = int(&c, read);
        let theirs: i64 = s.query_row(read, [], |r| r.get(0)).unwrap();
        assert_eq!(ours, theirs, "{set}");
    }
}
