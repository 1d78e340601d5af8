//! The extended query protocol: parameters the client leaves untyped (typed from the
//! statement), RETURNING rows and their description, prepared statements reused across
//! many executions, and a statement whose table changed after it was prepared.

mod common;

use common::{config, connect, start};
use heliosdb_server::Auth;
use tokio_postgres::types::Type;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untyped_parameters_and_returning() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path()), Auth::new(Some("pw"))).await;
    let c = connect(server.pg, "heliosdb", "pw").await.unwrap();
    c.batch_execute(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price DECIMAL(10,2), \
         weight REAL)",
    )
    .await
    .unwrap();

    // Untyped parameters (type 0 in Parse) are described with the types of the columns
    // they meet.
    let insert = c
        .prepare("INSERT INTO items (id, name, price, weight) VALUES ($1, $2, $3, $4) RETURNING id, name")
        .await
        .unwrap();
    assert_eq!(
        insert.params(),
        &[Type::INT8, Type::TEXT, Type::NUMERIC, Type::FLOAT8]
    );
    // RETURNING columns are described and come back.
    let cols: Vec<(&str, Type)> = insert
        .columns()
        .iter()
        .map(|c| (c.name(), c.type_().clone()))
        .collect();
    assert_eq!(cols, [("id", Type::INT8), ("name", Type::TEXT)]);
    let price = rust_decimal::Decimal::new(1999, 2);
    let rows = c
        .query(&insert, &[&7i64, &"lamp", &price, &1.5f64])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, i64>(0), 7);
    assert_eq!(rows[0].get::<_, &str>(1), "lamp");

    let select = c
        .prepare("SELECT name, price FROM items WHERE id = $1 AND weight < $2")
        .await
        .unwrap();
    assert_eq!(select.params(), &[Type::INT8, Type::FLOAT8]);
    let row = c.query_one(&select, &[&7i64, &2.0f64]).await.unwrap();
    assert_eq!(row.get::<_, rust_decimal::Decimal>(1), price);

    // UPDATE and DELETE ... RETURNING, with their command tags' counts.
    let n = c
        .execute(
            "UPDATE items SET price = $1 WHERE id = $2",
            &[&price, &7i64],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let rows = c
        .query(
            "UPDATE items SET weight = weight * 2 WHERE id = $1 RETURNING weight",
            &[&7i64],
        )
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, f64>(0), 3.0);
    let rows = c
        .query("DELETE FROM items WHERE id = $1 RETURNING name", &[&7i64])
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, &str>(0), "lamp");

    // A parameter that meets no column stays text.
    let row = c.query_one("SELECT $1 || '!'", &[&"hi"]).await.unwrap();
    assert_eq!(row.get::<_, &str>(0), "hi!");
    server.stop().await;
}

/// Untyped parameters sent as text, as psql's `\bind` and psycopg do: text that reads as
/// the column's type binds as that type; text that does not is passed on for the engine's
/// affinity rules instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untyped_text_parameters_follow_affinity() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path()), Auth::new(None)).await;
    let c = connect(server.pg, "heliosdb", "").await.unwrap();
    c.batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT, n INTEGER)")
        .await
        .unwrap();
    // `unknown` is how a client says "untyped" when it names a type at all.
    let stmt = c
        .prepare_typed(
            "INSERT INTO t (id, note, n) VALUES ($1, $2, $3)",
            &[Type::UNKNOWN, Type::UNKNOWN, Type::UNKNOWN],
        )
        .await
        .unwrap();
    // UNKNOWN is replaced by what the statement tells.
    assert_eq!(stmt.params(), &[Type::INT8, Type::TEXT, Type::INT8]);
    c.execute(&stmt, &[&1i64, &"one", &10i64]).await.unwrap();
    let rows = c
        .simple_query("SELECT typeof(id), typeof(n) FROM t")
        .await
        .unwrap();
    let row = rows
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        })
        .unwrap();
    assert_eq!((row.get(0), row.get(1)), (Some("integer"), Some("integer")));
    server.stop().await;
}

/// A statement executed many times plans once; when another session changes its table's
/// columns, the next execution says so (PostgreSQL's "cached plan must not change result
/// type") instead of sending rows that do not match the description.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_are_reused_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path()), Auth::new(None)).await;
    let c = connect(server.pg, "heliosdb", "").await.unwrap();
    c.batch_execute("CREATE TABLE k (id INTEGER PRIMARY KEY, v TEXT)")
        .await
        .unwrap();
    let insert = c
        .prepare("INSERT INTO k (id, v) VALUES ($1, $2)")
        .await
        .unwrap();
    for i in 0..200i64 {
        c.execute(&insert, &[&i, &format!("v{i}")]).await.unwrap();
    }
    let select = c.prepare("SELECT * FROM k WHERE id = $1").await.unwrap();
    for i in (0..200i64).step_by(7) {
        let row = c.query_one(&select, &[&i]).await.unwrap();
        assert_eq!(row.get::<_, String>(1), format!("v{i}"));
    }
    // Pipelined: several executions before one Sync all answer.
    let ids: Vec<i64> = (0..20).collect();
    let params: Vec<[&(dyn tokio_postgres::types::ToSql + Sync); 1]> =
        ids.iter().map(|i| [i as _]).collect();
    let futures: Vec<_> = params.iter().map(|p| c.query_one(&select, p)).collect();
    for (i, r) in futures::future::join_all(futures)
        .await
        .into_iter()
        .enumerate()
    {
        assert_eq!(r.unwrap().get::<_, i64>(0), i as i64);
    }
    let other = connect(server.pg, "heliosdb", "").await.unwrap();
    other
        .batch_execute("ALTER TABLE k ADD COLUMN extra INTEGER")
        .await
        .unwrap();
    let e = c.query_one(&select, &[&1i64]).await.unwrap_err();
    assert_eq!(e.code().unwrap().code(), "0A000", "{e}");
    // Prepared again, it sees the new column.
    let select = c.prepare("SELECT * FROM k WHERE id = $1").await.unwrap();
    assert_eq!(select.columns().len(), 3);
    server.stop().await;
}

/// A prepared statement the engine runs as written skips the server's text checks at
/// each execution (they were made at Parse), so the session's state must still apply to
/// it: `SET heliosdb.as_of` (reads go to the past, writes are refused), a failed
/// transaction block (refused until ROLLBACK), and statements the server answers itself
/// stay answered by the server when prepared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_follow_the_session_state() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(config(dir.path()), Auth::new(None)).await;
    let c = connect(server.pg, "heliosdb", "").await.unwrap();
    c.batch_execute("CREATE TABLE a (id INTEGER PRIMARY KEY, n INTEGER)")
        .await
        .unwrap();
    c.batch_execute("INSERT INTO a VALUES (1, 10)")
        .await
        .unwrap();
    let point: i64 = c
        .simple_query("SELECT current_scn()")
        .await
        .unwrap()
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(|v| v.parse().unwrap()),
            _ => None,
        })
        .unwrap();
    c.batch_execute("UPDATE a SET n = 20 WHERE id = 1")
        .await
        .unwrap();
    let read = c.prepare("SELECT n FROM a WHERE id = $1").await.unwrap();
    let write = c
        .prepare("UPDATE a SET n = n + 1 WHERE id = $1")
        .await
        .unwrap();
    let show = c.prepare("SHOW heliosdb.as_of").await.unwrap();
    let n = |rows: Vec<tokio_postgres::Row>| rows[0].get::<_, i64>(0);
    assert_eq!(n(c.query(&read, &[&1i64]).await.unwrap()), 20);

    c.batch_execute(&format!("SET heliosdb.as_of = 'SCN {point}'"))
        .await
        .unwrap();
    assert_eq!(n(c.query(&read, &[&1i64]).await.unwrap()), 10);
    let shown: String = c.query_one(&show, &[]).await.unwrap().get(0);
    assert!(shown.contains(&point.to_string()), "{shown}");
    let e = c.execute(&write, &[&1i64]).await.unwrap_err();
    assert_eq!(e.code().unwrap().code(), "25006", "{e}");
    c.batch_execute("RESET heliosdb.as_of").await.unwrap();
    assert_eq!(n(c.query(&read, &[&1i64]).await.unwrap()), 20);

    c.batch_execute("BEGIN").await.unwrap();
    c.execute(&write, &[&1i64]).await.unwrap();
    assert!(c.batch_execute("SELECT * FROM nowhere").await.is_err());
    let e = c.query(&read, &[&1i64]).await.unwrap_err();
    assert_eq!(e.code().unwrap().code(), "25P02", "{e}");
    let e = c.execute(&write, &[&1i64]).await.unwrap_err();
    assert_eq!(e.code().unwrap().code(), "25P02", "{e}");
    c.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(n(c.query(&read, &[&1i64]).await.unwrap()), 20);
    server.stop().await;
}
