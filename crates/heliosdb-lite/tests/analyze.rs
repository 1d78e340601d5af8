//! ANALYZE: accepted in every form SQLite accepts, gathers index statistics that survive a
//! reopen and roll back with their transaction, and turns the planner away from indexes that
//! select a large share of a table, without ever changing an answer.

use heliosdb_lite::types::Value;
use heliosdb_lite::Connection;

fn explain(conn: &Connection, sql: &str) -> String {
    let mut stmt = conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows.join("\n")
}

fn values(conn: &Connection, sql: &str) -> Vec<Vec<Value>> {
    conn.prepare(sql)
        .unwrap()
        .query([])
        .unwrap()
        .into_values()
        .unwrap()
}

/// 2,000 orders: `status` takes 2 values, `customer` 400.
const SETUP: &str = "
    CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT, customer INTEGER, total REAL);
    CREATE INDEX orders_status ON orders(status);
    CREATE INDEX orders_customer ON orders(customer, status);
    INSERT INTO orders
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
    SELECT i, CASE WHEN i % 2 = 0 THEN 'open' ELSE 'closed' END,
        i % 400, i * 1.5 FROM n;";

const QUERIES: &[&str] = &[
    "SELECT count(*), sum(total) FROM orders WHERE status = 'open'",
    "SELECT count(*), sum(total) FROM orders WHERE customer = 7",
    "SELECT count(*) FROM orders WHERE customer = 7 AND status = 'closed'",
    "SELECT count(*) FROM orders WHERE status IN ('open', 'closed')",
    "SELECT count(*) FROM orders o JOIN orders p ON p.customer = o.customer WHERE o.id = 5",
];

fn sqlite() -> rusqlite::Connection {
    let s = rusqlite::Connection::open_in_memory().unwrap();
    s.execute_batch(SETUP).unwrap();
    s
}

fn sqlite_values(s: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut st = s.prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map([], |r| {
        Ok((0..n)
            .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
            .collect::<Vec<_>>()
            .join(","))
    })
    .unwrap()
    .collect::<Result<Vec<_>, _>>()
    .unwrap()
}

fn ours_as_text(conn: &Connection, sql: &str) -> Vec<String> {
    values(conn, sql)
        .into_iter()
        .map(|row| {
            row.iter()
                .map(|v| match v {
                    Value::Null => "Null".to_string(),
                    Value::Integer(i) => format!("Integer({i})"),
                    Value::Real(f) => format!("Real({f:?})"),
                    Value::Text(t) => format!("Text({:?})", t.as_bytes()),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

#[test]
fn every_form_sqlite_accepts_runs_and_an_unknown_name_is_an_error() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(SETUP).unwrap();
    for form in [
        "ANALYZE",
        "ANALYZE;",
        "analyze orders",
        "ANALYZE orders_status",
        "ANALYZE main",
        "ANALYZE main.orders",
        "ANALYZE \"orders\"",
    ] {
        conn.execute_batch(form)
            .unwrap_or_else(|e| panic!("{form}: {e}"));
    }
    let e = conn.execute_batch("ANALYZE nosuch").unwrap_err();
    assert_eq!(e.to_string(), "no such table: nosuch");
    let e = conn.execute_batch("ANALYZE a b").unwrap_err();
    assert!(
        e.to_string().contains("ANALYZE takes at most one name"),
        "{e}"
    );
    // A table without indexes has nothing to measure: still fine.
    conn.execute_batch("CREATE TABLE plain(x); ANALYZE plain")
        .unwrap();
}

#[test]
fn an_index_on_a_column_with_few_values_loses_to_a_scan_once_analyzed() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(SETUP).unwrap();
    let broad = "SELECT count(*) FROM orders WHERE status = 'open'";
    let narrow = "SELECT count(*) FROM orders WHERE customer = 7";
    // Without statistics any usable index wins, as in SQLite.
    assert!(
        explain(&conn, broad).contains("orders_status"),
        "{}",
        explain(&conn, broad)
    );
    conn.execute_batch("ANALYZE").unwrap();
    let plan = explain(&conn, broad);
    assert!(
        !plan.contains("orders_status"),
        "a scan reads half the table once: {plan}"
    );
    assert!(plan.contains("SCAN orders"), "{plan}");
    // A selective index (5 rows of 2,000 per customer) is still used.
    let plan = explain(&conn, narrow);
    assert!(plan.contains("orders_customer"), "{plan}");
    // A join on the customer: 50 lookups of 5 rows each beat hashing the whole table, which
    // the planner sees only with the figures.
    let join = "SELECT * FROM orders o JOIN orders p ON p.customer = o.customer WHERE o.id < 50";
    let plan = explain(&conn, join);
    assert!(plan.contains("INNER JOIN (lookup)"), "{plan}");
    // A list of values covering the whole table: a scan.
    let plan = explain(
        &conn,
        "SELECT count(*) FROM orders WHERE status IN ('open', 'closed')",
    );
    assert!(!plan.contains("orders_status"), "{plan}");
}

#[test]
fn answers_are_sqlite_s_with_and_without_statistics() {
    let s = sqlite();
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(SETUP).unwrap();
    for q in QUERIES {
        assert_eq!(ours_as_text(&conn, q), sqlite_values(&s, q), "{q}");
    }
    conn.execute_batch("ANALYZE").unwrap();
    s.execute_batch("ANALYZE").unwrap();
    for q in QUERIES {
        assert_eq!(
            ours_as_text(&conn, q),
            sqlite_values(&s, q),
            "after ANALYZE: {q}"
        );
    }
    // Stale statistics (the table changed a lot since) still give the right answers.
    let more = "UPDATE orders SET status = 'open' WHERE id % 3 = 0; \
                DELETE FROM orders WHERE customer < 100";
    conn.execute_batch(more).unwrap();
    s.execute_batch(more).unwrap();
    for q in QUERIES {
        assert_eq!(ours_as_text(&conn, q), sqlite_values(&s, q), "stale: {q}");
    }
}

#[test]
fn statistics_survive_a_reopen_and_roll_back_with_their_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let broad = "SELECT count(*) FROM orders WHERE status = 'open'";
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(SETUP).unwrap();
        conn.execute_batch("BEGIN; ANALYZE; ROLLBACK").unwrap();
        assert!(
            explain(&conn, broad).contains("orders_status"),
            "rolled back"
        );
        conn.execute_batch("ANALYZE orders").unwrap();
        assert!(!explain(&conn, broad).contains("orders_status"));
    }
    let conn = Connection::open(&path).unwrap();
    assert!(
        !explain(&conn, broad).contains("orders_status"),
        "kept on disk"
    );
    assert_eq!(values(&conn, broad), vec![vec![Value::Integer(1000)]]);
}

#[test]
fn a_read_only_connection_refuses_analyze() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(SETUP).unwrap();
    }
    let ro = Connection::open_read_only(&path).unwrap();
    let e = ro.execute_batch("ANALYZE").unwrap_err();
    assert!(e.to_string().to_lowercase().contains("read"), "{e}");
}
