//! The query engine's plans and controls: join order independent of FROM order, the join
//! algorithm each situation gets, time travel inside joins, decorrelated EXISTS, and the
//! cancellation of running statements (interrupt and timeout).

use heliosdb_lite::{Config, Connection, Error};
use std::sync::Arc;
use std::time::Duration;

fn explain(conn: &Connection, sql: &str) -> String {
    let mut stmt = conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows.join("\n")
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// customers (500), accounts (2,000, no index on customer_id), txns (20,000).
fn bank() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE customers(id INTEGER PRIMARY KEY, region TEXT);
         CREATE TABLE accounts(id INTEGER PRIMARY KEY, customer_id INTEGER, kind TEXT);
         CREATE TABLE txns(id INTEGER PRIMARY KEY, account_id INTEGER, amount INTEGER);",
    )
    .unwrap();
    conn.execute_batch("BEGIN").unwrap();
    for i in 1..=500 {
        let region = ["north", "south", "east", "west"][i % 4];
        conn.execute("INSERT INTO customers VALUES (?, ?)", (i as i64, region))
            .unwrap();
    }
    for i in 1..=2000i64 {
        let kind = if i % 3 == 0 { "loan" } else { "savings" };
        conn.execute(
            "INSERT INTO accounts VALUES (?, ?, ?)",
            (i, (i * 7) % 500 + 1, kind),
        )
        .unwrap();
    }
    for i in 1..=20_000i64 {
        conn.execute(
            "INSERT INTO txns VALUES (?, ?, ?)",
            (i, (i * 13) % 2000 + 1, i % 1000),
        )
        .unwrap();
    }
    conn.execute_batch("COMMIT").unwrap();
    conn
}

#[test]
fn join_order_does_not_depend_on_from_order() {
    let conn = bank();
    let orders = [
        "txns t, accounts a, customers c",
        "customers c, accounts a, txns t",
        "accounts a, txns t, customers c",
    ];
    let mut answers = Vec::new();
    for from in orders {
        let sql = format!(
            "SELECT count(*) FROM {from} WHERE c.region = 'north' \
             AND a.customer_id = c.id AND t.account_id = a.id"
        );
        answers.push(count(&conn, &sql));
        let plan = explain(&conn, &sql);
        // No cross product: every join step uses a key, a hash table or a lookup.
        assert!(!plan.contains("nested loop"), "{from}:\n{plan}");
    }
    assert!(answers[0] > 0);
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
}

#[test]
fn unindexed_equi_join_is_a_hash_join() {
    let conn = bank();
    let sql = "SELECT count(*) FROM txns t JOIN accounts a ON t.amount = a.customer_id";
    assert!(explain(&conn, sql).contains("hash on 1 key"));
    // Checked against a nested-loop formulation the engine cannot hash (an OR).
    let expected = count(
        &conn,
        "SELECT count(*) FROM txns t JOIN accounts a ON t.amount = a.customer_id OR 0",
    );
    assert_eq!(count(&conn, sql), expected);
}

#[test]
fn key_join_uses_a_lookup() {
    let conn = bank();
    let sql = "SELECT count(*) FROM txns t JOIN accounts a ON a.id = t.account_id WHERE t.id < 10";
    let plan = explain(&conn, sql);
    assert!(plan.contains("lookup"), "{plan}");
    assert_eq!(count(&conn, sql), 9);
}

#[test]
fn exists_and_not_exists_become_semi_and_anti_joins() {
    let conn = bank();
    let exists = "SELECT count(*) FROM customers c WHERE EXISTS \
                  (SELECT 1 FROM accounts a WHERE a.customer_id = c.id AND a.kind = 'loan')";
    let not_exists = "SELECT count(*) FROM customers c WHERE NOT EXISTS \
                      (SELECT 1 FROM accounts a WHERE a.customer_id = c.id AND a.kind = 'loan')";
    assert!(explain(&conn, exists).contains("SEMI JOIN"));
    assert!(explain(&conn, not_exists).contains("ANTI JOIN"));
    let with = count(&conn, exists);
    let without = count(&conn, not_exists);
    assert_eq!(with + without, 500);
    // The same through IN, which runs as a hashed subquery.
    let via_in = count(
        &conn,
        "SELECT count(*) FROM customers c WHERE c.id IN \
         (SELECT customer_id FROM accounts WHERE kind = 'loan')",
    );
    assert_eq!(with, via_in);
}

#[test]
fn exists_over_a_range_the_outer_row_opens_is_a_semi_join() {
    let conn = bank();
    // Every account has exactly 10 transactions: all but its last have a later one.
    let later = "SELECT count(*) FROM txns t WHERE EXISTS (SELECT 1 FROM txns u \
                 WHERE u.account_id = t.account_id AND u.id > t.id)";
    let last = "SELECT count(*) FROM txns t WHERE NOT EXISTS (SELECT 1 FROM txns u \
                WHERE u.account_id = t.account_id AND u.id > t.id)";
    assert!(
        explain(&conn, later).contains("SEMI JOIN"),
        "{}",
        explain(&conn, later)
    );
    assert!(
        explain(&conn, last).contains("ANTI JOIN"),
        "{}",
        explain(&conn, last)
    );
    assert_eq!(count(&conn, later), 18_000);
    assert_eq!(count(&conn, last), 2_000);
    // Bounded on both sides, the range is a short lookup per row and stays one.
    let near = "SELECT count(*) FROM txns t WHERE EXISTS (SELECT 1 FROM txns u \
                WHERE u.account_id = t.account_id AND u.id > t.id AND u.id <= t.id + 2000)";
    assert!(
        !explain(&conn, near).contains("SEMI JOIN"),
        "{}",
        explain(&conn, near)
    );
    assert_eq!(count(&conn, near), 18_000);
}

#[test]
fn many_small_tables_in_a_bad_order() {
    // A chain t0 - t1 - ... - t63 written backwards, each table 10 rows: planned without a
    // cross product and answered at once.
    let conn = Connection::open_in_memory().unwrap();
    let n = 64;
    for i in 0..n {
        conn.execute_batch(&format!(
            "CREATE TABLE t{i}(id INTEGER PRIMARY KEY, next INTEGER);"
        ))
        .unwrap();
        for r in 0..10 {
            conn.execute(
                &format!("INSERT INTO t{i} VALUES (?, ?)"),
                (r, (r + 1) % 10),
            )
            .unwrap();
        }
    }
    let from: Vec<String> = (0..n).rev().map(|i| format!("t{i}")).collect();
    let conds: Vec<String> = (0..n - 1)
        .map(|i| format!("t{i}.next = t{}.id", i + 1))
        .collect();
    let sql = format!(
        "SELECT count(*) FROM {} WHERE {} AND t0.id = 3",
        from.join(", "),
        conds.join(" AND ")
    );
    assert_eq!(count(&conn, &sql), 1);
    // More than 64 tables is refused with a clear error, as in SQLite.
    let too_many: Vec<String> = (0..65).map(|i| format!("t{} x{i}", i % n)).collect();
    let err = conn
        .query_row(
            &format!("SELECT count(*) FROM {}", too_many.join(", ")),
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap_err();
    assert!(err.to_string().contains("at most 64 tables"), "{err}");
}

/// The few rows of a filtered join go into the hash table and the big table streams past
/// it: customers of one region (125) join accounts (500 of 2,000), then txns (20,000) probes
/// the table of those 500 instead of becoming one itself. The answer is checked against a
/// formulation whose equalities cannot be hashed (an OR in each).
#[test]
fn a_small_filtered_join_builds_its_hash_table_on_the_left() {
    let conn = bank();
    let sql = "SELECT count(*), sum(t.amount) FROM txns t, accounts a, customers c \
               WHERE c.region = 'north' AND a.customer_id = c.id AND t.account_id = a.id";
    let plan = explain(&conn, sql);
    assert!(plan.contains("built on the rows joined so far"), "{plan}");
    let got: (i64, i64) = conn
        .query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    let slow = "SELECT count(*), sum(t.amount) FROM txns t, accounts a, customers c \
                WHERE c.region = 'north' AND (a.customer_id = c.id OR 0) \
                AND (t.account_id = a.id OR 0)";
    let want: (i64, i64) = conn
        .query_row(slow, [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert!(want.0 > 1000, "{want:?}");
    assert_eq!(got, want);
    // The same AS OF a point before a change, and with the swapped join inside a subquery
    // run once per outer row (the table is rebuilt from the left rows each time).
    let scn = count(&conn, "SELECT current_scn()");
    conn.execute("UPDATE txns SET amount = amount + 1 WHERE id % 2 = 0", [])
        .unwrap();
    let past = sql
        .replace("txns t", &format!("txns AS OF SCN {scn} t"))
        .replace("accounts a", &format!("accounts AS OF SCN {scn} a"));
    let got_past: (i64, i64) = conn
        .query_row(&past, [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(got_past, want);
    let per_region = "SELECT c0.region, (SELECT count(*) FROM txns t, accounts a, customers c \
                      WHERE c.region = c0.region AND a.customer_id = c.id \
                      AND t.account_id = a.id) FROM customers c0 WHERE c0.id <= 4 ORDER BY 1";
    let mut stmt = conn.prepare(per_region).unwrap();
    let rows: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 4);
    let north = rows.iter().find(|(r, _)| r == "north").unwrap();
    assert_eq!(north.1, want.0);
    assert_eq!(rows.iter().map(|(_, n)| n).sum::<i64>(), 20_000);
}

#[test]
fn join_of_a_table_now_and_then_uses_a_hash_join() {
    let conn = bank();
    let scn: i64 = count(&conn, "SELECT current_scn()");
    conn.execute("UPDATE txns SET amount = amount + 1 WHERE id % 2 = 0", [])
        .unwrap();
    let sql = format!(
        "SELECT count(*) FROM txns t JOIN txns AS OF SCN {scn} h \
         ON t.amount = h.amount + 1 AND t.account_id = h.account_id"
    );
    let plan = explain(&conn, &sql);
    assert!(plan.contains("hash on 2 keys"), "{plan}");
    assert!(plan.contains(&format!("AS OF SCN {scn}")), "{plan}");
    assert!(count(&conn, &sql) >= 10_000);
}

#[test]
fn interrupt_cancels_the_running_statement_only() {
    let conn = Arc::new(bank());
    conn.execute_batch("BEGIN; INSERT INTO customers VALUES (1000, 'x');")
        .unwrap();
    let handle = conn.get_interrupt_handle();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        handle.interrupt();
    });
    // A cross product of 20,000 x 20,000 rows: far longer than the interrupt takes to come.
    let err = conn
        .query_row(
            "SELECT count(*) FROM txns a, txns b WHERE a.amount + b.amount = -1",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap_err();
    stopper.join().unwrap();
    assert!(matches!(err, Error::Interrupted), "{err}");
    // The transaction and the connection carry on.
    assert!(conn.is_in_transaction());
    assert_eq!(
        count(&conn, "SELECT count(*) FROM customers WHERE id = 1000"),
        1
    );
    conn.execute_batch("COMMIT").unwrap();
}

#[test]
fn statement_timeout_from_the_config() {
    let mut config = Config::in_memory();
    config.database.statement_timeout_ms = Some(100);
    let conn = Connection::open(config).unwrap();
    conn.execute_batch("CREATE TABLE t(x INTEGER)").unwrap();
    conn.execute_batch("BEGIN").unwrap();
    for i in 0..3000 {
        conn.execute("INSERT INTO t VALUES (?)", [i]).unwrap();
    }
    conn.execute_batch("COMMIT").unwrap();
    let err = conn
        .query_row(
            "SELECT count(*) FROM t a, t b, t c WHERE a.x + b.x + c.x = -1",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap_err();
    assert!(matches!(err, Error::StatementTimeout(100)), "{err}");
    assert!(err.to_string().contains("statement_timeout_ms"));
    // Quick statements are unaffected.
    assert_eq!(count(&conn, "SELECT count(*) FROM t"), 3000);
}

/// The timeout also stops the writes of an UPDATE, DELETE or INSERT once their rows are
/// gathered (each row's index entries and checks, a long loop outside any operator), and the
/// statement then changes nothing.
#[test]
fn statement_timeout_stops_the_writes_of_a_large_statement() {
    let mut config = Config::in_memory();
    config.database.statement_timeout_ms = Some(300);
    let conn = Connection::open(config).unwrap();
    conn.execute_batch(
        "CREATE TABLE t(x INTEGER PRIMARY KEY, a, b, c);
         CREATE INDEX ta ON t(a); CREATE INDEX tb ON t(b); CREATE INDEX tc ON t(c);",
    )
    .unwrap();
    // Loaded in statements well within the timeout.
    for chunk in 0..20 {
        conn.execute(
            "WITH RECURSIVE s(x) AS (SELECT ?1 UNION ALL SELECT x + 1 FROM s WHERE x < ?1 + 9999) \
             INSERT INTO t SELECT x, x, -x, x % 97 FROM s",
            [chunk * 10_000 + 1],
        )
        .unwrap();
    }
    assert_eq!(count(&conn, "SELECT count(*) FROM t"), 200_000);
    for sql in [
        "DELETE FROM t WHERE x > 0",
        "UPDATE t SET a = a + 1, b = b - 1, c = c + 1 WHERE x > 0",
        "INSERT INTO t SELECT x + 1000000, a, b, c FROM t",
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        assert!(matches!(err, Error::StatementTimeout(300)), "{sql}: {err}");
        assert_eq!(count(&conn, "SELECT count(*) FROM t"), 200_000, "{sql}");
        assert_eq!(
            count(&conn, "SELECT count(*) FROM t WHERE a = x"),
            200_000,
            "{sql}"
        );
    }
}

#[test]
fn statement_timeout_zero_is_refused() {
    let err = Config::from_toml_str("[database]\nstatement_timeout_ms = 0\n").unwrap_err();
    assert!(err.to_string().contains("statement_timeout_ms"), "{err}");
}

#[test]
fn explain_analyze_reports_actual_rows_per_operator() {
    let conn = bank();
    let plan = explain(
        &conn,
        "ANALYZE SELECT count(*) FROM txns t JOIN accounts a ON a.id = t.account_id \
         WHERE t.id <= 100",
    );
    // The lookup into accounts ran once per transaction row and found one row each time.
    assert!(plan.contains("(actual 100 rows, 100 loops"), "{plan}");
    assert!(plan.contains("SEARCH txns AS t"), "{plan}");
    assert!(
        plan.lines().last().unwrap().starts_with("-- 1 rows in"),
        "{plan}"
    );
}

#[test]
fn empty_tables_still_get_hash_joins() {
    // Plans are cached with the statement: one made while the tables are empty must not be a
    // nested loop that turns quadratic once they fill up.
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(
        "CREATE TABLE a(x INTEGER, y INTEGER); CREATE TABLE b(x INTEGER, z INTEGER);",
    )
    .unwrap();
    let sql = "SELECT count(*) FROM a JOIN b ON a.x = b.x";
    let plan = explain(&conn, sql);
    assert!(plan.contains("hash on 1 key"), "{plan}");
    let mut stmt = conn.prepare(sql).unwrap();
    assert_eq!(stmt.query_row([], |r| r.get::<_, i64>(0)).unwrap(), 0);
    conn.execute_batch("INSERT INTO a VALUES (1, 1), (2, 2); INSERT INTO b VALUES (1, 5), (1, 6);")
        .unwrap();
    assert_eq!(stmt.query_row([], |r| r.get::<_, i64>(0)).unwrap(), 2);
}

#[test]
fn query_rows_stream_on_their_own_snapshot() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE s(id INTEGER PRIMARY KEY, v TEXT)")
        .unwrap();
    conn.execute_batch("BEGIN").unwrap();
    for i in 0..5000 {
        conn.execute("INSERT INTO s VALUES (?, 'x')", [i]).unwrap();
    }
    conn.execute_batch("COMMIT").unwrap();
    let mut stmt = conn.prepare("SELECT id FROM s ORDER BY id").unwrap();
    let mut rows = stmt.query([]).unwrap();
    let first: i64 = rows.next().unwrap().unwrap().get(0).unwrap();
    assert_eq!(first, 0);
    // The connection stays usable while the cursor is open, writes included; the cursor
    // keeps reading the state it started at.
    conn.execute("DELETE FROM s WHERE id >= 10", []).unwrap();
    conn.execute("INSERT INTO s VALUES (100000, 'late')", [])
        .unwrap();
    let mut n = 1;
    let mut last = 0i64;
    while let Some(r) = rows.next().unwrap() {
        last = r.get(0).unwrap();
        n += 1;
    }
    assert_eq!((n, last), (5000, 4999));
    drop(rows);
    assert_eq!(count(&conn, "SELECT count(*) FROM s"), 11);
}

#[test]
fn an_interrupt_stops_a_streaming_query_between_rows() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE s(id INTEGER PRIMARY KEY)")
        .unwrap();
    conn.execute_batch("BEGIN").unwrap();
    for i in 0..5000 {
        conn.execute("INSERT INTO s VALUES (?)", [i]).unwrap();
    }
    conn.execute_batch("COMMIT").unwrap();
    let mut stmt = conn.prepare("SELECT a.id FROM s a, s b").unwrap();
    let mut rows = stmt.query([]).unwrap();
    assert!(rows.next().unwrap().is_some());
    conn.interrupt();
    let err = loop {
        match rows.next() {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("25M rows ended before the interrupt was seen"),
            Err(e) => break e,
        }
    };
    assert!(matches!(err, Error::Interrupted), "{err}");
    assert!(rows.next().unwrap().is_none(), "nothing after an error");
    // A failed stream is an error for into_values, never a short result.
    let mut stmt = conn.prepare("SELECT a.id FROM s a, s b").unwrap();
    let rows = stmt.query([]).unwrap();
    let handle = conn.get_interrupt_handle();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        handle.interrupt();
    });
    assert!(matches!(rows.into_values(), Err(Error::Interrupted)));
    t.join().unwrap();
}

/// A grouped view (or derived table, or CTE read once) filtered by its GROUP BY key reads
/// only that key's rows, through the index, as SQLite's push-down of WHERE terms does; a
/// filter on an aggregate stays above the grouping; the answers match the whole-view ones.
#[test]
fn a_grouped_view_filtered_by_its_key_reads_only_that_key_through_the_index() {
    let conn = bank();
    conn.execute_batch(
        "CREATE INDEX txns_account ON txns(account_id);
         CREATE VIEW per_account AS
           SELECT account_id, sum(amount) AS total, count(*) AS n FROM txns GROUP BY account_id;",
    )
    .unwrap();
    for sql in [
        "SELECT * FROM per_account WHERE account_id = 7",
        "SELECT * FROM (SELECT account_id, max(amount) AS m FROM txns GROUP BY account_id) \
         WHERE account_id = 7",
        "WITH c AS (SELECT account_id, min(amount) AS m FROM txns GROUP BY account_id) \
         SELECT * FROM c WHERE account_id = 7",
    ] {
        let plan = explain(&conn, sql);
        assert!(
            plan.contains("USING INDEX txns_account (account_id=?)"),
            "{sql}\n{plan}"
        );
    }
    let plan = explain(&conn, "SELECT * FROM per_account WHERE total > 100");
    assert!(!plan.contains("USING INDEX"), "{plan}");
    let one = |sql: &str| -> (i64, i64) {
        conn.query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
    };
    assert_eq!(
        one("SELECT total, n FROM per_account WHERE account_id = 7"),
        one(
            "SELECT total, n FROM (SELECT * FROM per_account ORDER BY account_id LIMIT 100000) \
             WHERE account_id = 7"
        )
    );
    assert_eq!(
        one("SELECT total, n FROM per_account WHERE account_id = 7").1,
        10
    );
}
