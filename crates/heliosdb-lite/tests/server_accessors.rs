//! The accessors the server uses: a second connection on the same database, GC totals
//! for metrics, a prepared statement's declared result types.

use heliosdb_lite::{AsOf, Connection};

#[test]
fn another_connection_shares_the_database_not_the_session() {
    let a = Connection::open_in_memory().unwrap();
    let b = a.another_connection();
    a.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", [])
        .unwrap();
    a.execute_batch("BEGIN; INSERT INTO t (v) VALUES ('x')")
        .unwrap();
    // b has its own transaction state: a's open transaction is invisible to it.
    let n: i64 = b
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
    assert!(!b.is_in_transaction());
    a.execute_batch("COMMIT").unwrap();
    let n: i64 = b
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    // Its own default time-travel point too.
    b.set_default_as_of(Some(AsOf::Scn(1)));
    assert_eq!(a.default_as_of(), None);
}

#[test]
fn gc_totals_count_every_run() {
    let mut config = heliosdb_lite::Config::in_memory();
    config.snapshot.min_retention_seconds = 0;
    config.snapshot.max_snapshots = 1;
    config.snapshot.auto_gc_enabled = false;
    let conn = Connection::open(config).unwrap();
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)", [])
        .unwrap();
    conn.execute("INSERT INTO t (v) VALUES (1)", []).unwrap();
    for i in 0..5 {
        conn.execute("UPDATE t SET v = ?", [i]).unwrap();
    }
    let before = conn.mvcc().gc_totals();
    let report = conn.gc().unwrap();
    let after = conn.mvcc().gc_totals();
    assert_eq!(after.runs, before.runs + 1);
    assert_eq!(
        after.versions_removed,
        before.versions_removed + report.versions_removed
    );
    assert!(report.versions_removed > 0);
}

#[test]
fn declared_result_types_before_running() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, price DECIMAL(10,2), at TIMESTAMP)",
        [],
    )
    .unwrap();
    let stmt = conn
        .prepare("SELECT id, name, price, at, count(*) FROM t WHERE id = ?")
        .unwrap();
    assert_eq!(
        stmt.column_decl_types(),
        vec![
            Some("INTEGER"),
            Some("TEXT"),
            Some("DECIMAL"),
            Some("TIMESTAMP"),
            None
        ]
    );
    let stmt = conn.prepare("INSERT INTO t (name) VALUES ('x')").unwrap();
    assert!(stmt.column_decl_types().is_empty());
}
