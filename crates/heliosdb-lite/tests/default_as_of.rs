//! A default time-travel point for a connection or a statement: every table reference
//! without its own `AS OF` clause reads as if the clause were written after it.

use heliosdb_lite::types::Value;
use heliosdb_lite::{AsOf, Config, Connection, Error};

/// Three commits on `t` (SCN 2 to 4 after the CREATE at SCN 1) and one on `u`.
fn db() -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
         INSERT INTO t VALUES (1, 'one');
         INSERT INTO t VALUES (2, 'two');
         UPDATE t SET v = 'uno' WHERE id = 1;
         CREATE TABLE u(id INTEGER PRIMARY KEY, w TEXT);
         INSERT INTO u VALUES (1, 'u-one');",
    )
    .unwrap();
    c
}

fn all(c: &Connection, sql: &str) -> Vec<Vec<Value>> {
    c.prepare(sql)
        .and_then(|mut s| s.query([]))
        .and_then(|r| r.into_values())
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[test]
fn the_default_reads_like_the_clause_after_every_table() {
    let c = db();
    let ts: i64 = c
        .query_row(
            "SELECT committed_at FROM helios_snapshots WHERE scn = 3",
            [],
            |r| r.get::<_, String>(0),
        )
        .map(|t| heliosdb_lite::time::parse_timestamp(&t).unwrap())
        .unwrap();
    let txn3 = all(&c, "SELECT txn_id FROM helios_snapshots WHERE scn = 3");
    let Value::Integer(txn3) = txn3[0][0] else {
        panic!()
    };
    let cases = [
        (AsOf::Scn(3), "SCN 3".to_string()),
        (AsOf::Timestamp(ts), format!("TIMESTAMP {ts} / 1000000.0")),
        (
            AsOf::Transaction(txn3 as u64),
            format!("TRANSACTION {txn3}"),
        ),
        (
            AsOf::BeforeTransaction(txn3 as u64 + 1),
            format!("BEFORE TRANSACTION {}", txn3 + 1),
        ),
    ];
    for (point, clause) in cases {
        let explicit = all(
            &c,
            &format!("SELECT id, v FROM t AS OF {clause} ORDER BY id"),
        );
        assert_eq!(explicit.len(), 2, "{clause}");
        c.set_default_as_of(Some(point.clone()));
        assert_eq!(c.default_as_of(), Some(point.clone()));
        let by_default = all(&c, "SELECT id, v FROM t ORDER BY id");
        c.set_default_as_of(None);
        assert_eq!(by_default, explicit, "{point}");
    }
}

#[test]
fn an_own_clause_wins_and_every_other_table_reads_at_the_default() {
    let c = db();
    let newest = all(&c, "SELECT max(scn) FROM helios_snapshots");
    let Value::Integer(newest) = newest[0][0] else {
        panic!()
    };
    c.set_default_as_of(Some(AsOf::Scn(2)));
    // t at SCN 2 has only row 1 ('one'); t AS OF newest has 'uno'; u did not exist at SCN 2.
    let sql = format!(
        "SELECT a.v, b.v FROM t a JOIN t AS OF SCN {newest} b ON a.id = b.id ORDER BY a.id"
    );
    assert_eq!(
        all(&c, &sql),
        vec![vec![Value::Text("one".into()), Value::Text("uno".into())]]
    );
    let e = c
        .prepare("SELECT * FROM u")
        .and_then(|mut s| s.query([]).map(|_| ()))
        .unwrap_err();
    assert!(
        matches!(e, Error::NoSuchTable(_) | Error::TableNotAtPoint { .. }),
        "{e}"
    );
    // Subqueries and CTEs read at the default too; a CTE name is not a table.
    assert_eq!(
        all(
            &c,
            "WITH x AS (SELECT v FROM t) SELECT (SELECT count(*) FROM t), v FROM x"
        ),
        vec![vec![Value::Integer(1), Value::Text("one".into())]]
    );
}

#[test]
fn views_read_at_the_default() {
    let c = db();
    c.execute("CREATE VIEW tv AS SELECT v FROM t", []).unwrap();
    let at_view = all(&c, "SELECT max(scn) FROM helios_snapshots");
    let Value::Integer(at_view) = at_view[0][0] else {
        panic!()
    };
    c.execute("INSERT INTO t VALUES (3, 'three')", []).unwrap();
    c.set_default_as_of(Some(AsOf::Scn(at_view as u64)));
    assert_eq!(
        all(&c, "SELECT count(*) FROM tv"),
        all(&c, &format!("SELECT count(*) FROM tv AS OF SCN {at_view}"))
    );
    assert_eq!(
        all(&c, "SELECT count(*) FROM tv"),
        vec![vec![Value::Integer(2)]]
    );
    // The view did not exist at SCN 2: the same error as the explicit clause.
    c.set_default_as_of(Some(AsOf::Scn(2)));
    assert!(c
        .prepare("SELECT * FROM tv")
        .and_then(|mut s| s.query([]).map(|_| ()))
        .is_err());
}

#[test]
fn writes_are_refused_while_a_default_is_set_and_transactions_still_work() {
    let c = db();
    c.set_default_as_of(Some(AsOf::Scn(2)));
    for sql in [
        "INSERT INTO t VALUES (9, 'x')",
        "UPDATE t SET v = 'x'",
        "DELETE FROM t",
        "CREATE TABLE z(a)",
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END",
    ] {
        let e = c.execute(sql, []).unwrap_err();
        assert!(
            e.to_string()
                .contains("cannot write while queries read AS OF SCN 2"),
            "{sql}: {e}"
        );
    }
    c.execute_batch("BEGIN").unwrap();
    assert_eq!(
        all(&c, "SELECT count(*) FROM t"),
        vec![vec![Value::Integer(1)]]
    );
    c.execute_batch("COMMIT").unwrap();
    c.set_default_as_of(None);
    c.execute("INSERT INTO t VALUES (9, 'x')", []).unwrap();
}

#[test]
fn a_statement_point_overrides_the_connection_and_does_not_leak() {
    let c = db();
    let mut s = c.prepare("SELECT count(*) FROM t").unwrap();
    s.set_as_of(Some(AsOf::Scn(2)));
    assert_eq!(s.as_of(), Some(&AsOf::Scn(2)));
    let n = s.query([]).unwrap().into_values().unwrap();
    assert_eq!(n, vec![vec![Value::Integer(1)]]);
    // The connection and other statements still read current data; so does the same SQL
    // through the statement cache (a plan made for a point is never cached).
    assert_eq!(c.default_as_of(), None);
    assert_eq!(
        all(&c, "SELECT count(*) FROM t"),
        vec![vec![Value::Integer(2)]]
    );
    let n: i64 = c
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
    // Over a connection default, the statement's point wins; None falls back to it.
    c.set_default_as_of(Some(AsOf::Scn(1)));
    assert_eq!(
        s.query([]).unwrap().into_values().unwrap(),
        vec![vec![Value::Integer(1)]]
    );
    s.set_as_of(None);
    assert_eq!(
        s.query([]).unwrap().into_values().unwrap(),
        vec![vec![Value::Integer(0)]]
    );
    // Inside an explicit transaction (rows computed, not streamed) as well.
    c.set_default_as_of(None);
    c.execute_batch("BEGIN").unwrap();
    s.set_as_of(Some(AsOf::Scn(2)));
    assert_eq!(
        s.query([]).unwrap().into_values().unwrap(),
        vec![vec![Value::Integer(1)]]
    );
    c.execute_batch("COMMIT").unwrap();
}

#[test]
fn the_point_is_resolved_only_when_a_table_is_read() {
    let c = db();
    c.set_default_as_of(Some(AsOf::Scn(999)));
    assert_eq!(all(&c, "SELECT 1 + 1"), vec![vec![Value::Integer(2)]]);
    let e = c
        .prepare("SELECT * FROM t")
        .and_then(|mut s| s.query([]).map(|_| ()))
        .unwrap_err();
    assert!(matches!(e, Error::SnapshotNotAvailable { .. }), "{e}");
    // helios_snapshots has no history: the default leaves it alone.
    assert!(!all(&c, "SELECT scn FROM helios_snapshots").is_empty());

    let off = Connection::open({
        let mut cfg = Config::in_memory();
        cfg.storage.time_travel_enabled = false;
        cfg
    })
    .unwrap();
    off.execute_batch("CREATE TABLE t(a); INSERT INTO t VALUES (1)")
        .unwrap();
    off.set_default_as_of(Some(AsOf::Scn(1)));
    let e = off
        .prepare("SELECT * FROM t")
        .and_then(|mut s| s.query([]).map(|_| ()))
        .unwrap_err();
    assert!(matches!(e, Error::TimeTravelDisabled), "{e}");
}

#[test]
fn too_old_points_fail_as_the_clause_does() {
    let cfg = {
        let mut c = Config::in_memory();
        c.snapshot.min_retention_seconds = 0;
        c.snapshot.max_snapshots = 1;
        c.snapshot.auto_gc_enabled = false;
        c
    };
    let c = Connection::open(cfg).unwrap();
    c.execute_batch(
        "CREATE TABLE t(a); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); \
         INSERT INTO t VALUES (3)",
    )
    .unwrap();
    c.gc().unwrap();
    let mut s = c.prepare("SELECT * FROM t").unwrap();
    s.set_as_of(Some(AsOf::Scn(1)));
    let e = s.query([]).map(|_| ()).unwrap_err();
    assert!(matches!(e, Error::SnapshotTooOld { .. }), "{e}");
}

#[test]
fn rows_report_changes_result_sets_and_the_inserted_rowid() {
    let c = db();
    let mut ins = c.prepare("INSERT INTO t(v) VALUES ('new')").unwrap();
    let rows = ins.query([]).unwrap();
    assert_eq!(rows.changes(), 1);
    assert!(!rows.returns_rows());
    assert_eq!(rows.last_insert_rowid(), Some(3));
    let mut upd = c.prepare("UPDATE t SET v = v || '!'").unwrap();
    assert_eq!(upd.query([]).unwrap().changes(), 3);
    let mut sel = c.prepare("SELECT * FROM t WHERE id < 0").unwrap();
    let rows = sel.query([]).unwrap();
    assert!(rows.returns_rows());
    assert_eq!(rows.changes(), 0);
    assert_eq!(rows.last_insert_rowid(), None);
    assert_eq!(rows.temporal_columns(), vec![false, false]);
    assert_eq!(rows.column_types(), vec![Some("INTEGER"), Some("TEXT")]);
    c.execute(
        "CREATE TABLE d(a DECIMAL(10,2), b TIMESTAMP, c BLOB, e REAL)",
        [],
    )
    .unwrap();
    let mut s = c.prepare("SELECT a, b, c, e, a + 1 FROM d").unwrap();
    assert_eq!(
        s.query([]).unwrap().column_types(),
        vec![
            Some("DECIMAL"),
            Some("TIMESTAMP"),
            Some("BLOB"),
            Some("REAL"),
            None
        ]
    );
}

#[test]
fn parameter_names_are_reported_in_order() {
    let c = db();
    let s = c
        .prepare("SELECT * FROM t WHERE id = :id OR v = @v OR id = ?3")
        .unwrap();
    assert_eq!(s.parameter_count(), 3);
    assert_eq!(s.parameter_name(1), Some(":id"));
    assert_eq!(s.parameter_name(2), Some("@v"));
    assert_eq!(s.parameter_name(3), None);
    assert_eq!(s.parameter_name(0), None);
    assert_eq!(s.parameter_name(4), None);
}

#[test]
fn explain_shows_the_default_point() {
    let c = db();
    c.set_default_as_of(Some(AsOf::Scn(2)));
    let plan = all(&c, "EXPLAIN SELECT * FROM t");
    assert_eq!(plan, vec![vec![Value::Text("SCAN t AS OF SCN 2".into())]]);
    c.set_default_as_of(None);
    let plan = all(&c, "EXPLAIN SELECT * FROM t");
    assert_eq!(plan, vec![vec![Value::Text("SCAN t".into())]]);
}

#[test]
fn threads_with_their_own_statement_points_do_not_mix() {
    let c = std::sync::Arc::new(db());
    let handles: Vec<_> = (0..4)
        .map(|n| {
            let c = c.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let mut s = c.prepare_cached("SELECT count(*) FROM t").unwrap();
                    if n % 2 == 0 {
                        s.set_as_of(Some(AsOf::Scn(2)));
                    }
                    let v = s.query([]).unwrap().into_values().unwrap();
                    let want = if n % 2 == 0 { 1 } else { 2 };
                    assert_eq!(v, vec![vec![Value::Integer(want)]]);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(c.default_as_of(), None);
}
