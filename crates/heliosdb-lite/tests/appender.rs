//! The appender (`Connection::appender`): rows it loads must be exactly the rows a prepared
//! `INSERT INTO t VALUES (...)` per row would have written (affinity, defaults of the rowid,
//! constraints, triggers, indexes, history), chunk by chunk, and a chunk that fails must
//! leave nothing of itself behind.

use heliosdb_lite::types::Value;
use heliosdb_lite::{params_from_iter, Appender, Config, Connection, Error};

fn one(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get::<_, i64>(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn dump(c: &Connection, sql: &str) -> Vec<String> {
    let mut st = c.prepare(sql).unwrap();
    let n = st.column_count();
    let mut rows = st.query([]).unwrap();
    let mut out = Vec::new();
    while let Some(r) = rows.next().unwrap() {
        let cells: Vec<String> = (0..n)
            .map(|i| format!("{:?}", r.get::<_, Value>(i).unwrap()))
            .collect();
        out.push(cells.join("|"));
    }
    out
}

const SCHEMA: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, \
                      tag TEXT UNIQUE, CHECK (score >= 0)); CREATE INDEX t_name ON t(name)";

#[test]
fn appended_rows_are_the_rows_an_insert_per_row_writes() {
    let a = Connection::open_in_memory().unwrap();
    let b = Connection::open_in_memory().unwrap();
    for c in [&a, &b] {
        c.execute_batch(SCHEMA).unwrap();
    }
    // Values that exercise affinity (text into REAL, integer into TEXT), NULL rowids
    // (chosen automatically), explicit rowids out of order, and enough rows for several
    // chunks.
    let row = |i: i64| -> Vec<Value> {
        vec![
            if i % 7 == 0 {
                Value::Null
            } else {
                Value::Integer(10_000 - i)
            },
            Value::Text(format!("n{}", i % 97)),
            if i % 5 == 0 {
                Value::Text(format!("{}.5", i))
            } else {
                Value::Integer(i)
            },
            if i % 3 == 0 {
                Value::Null
            } else {
                Value::Integer(i)
            },
        ]
    };
    let n = 3 * Appender::CHUNK_ROWS as i64 + 17;
    {
        let mut app = a.appender("t").unwrap();
        for i in 0..n {
            app.append(params_from_iter(row(i))).unwrap();
        }
        app.flush().unwrap();
        assert_eq!(app.rows_inserted(), n as u64);
        assert_eq!(app.pending_rows(), 0);
    }
    {
        let tx = b.transaction().unwrap();
        let mut st = tx.prepare("INSERT INTO t VALUES (?1, ?2, ?3, ?4)").unwrap();
        for i in 0..n {
            st.execute(params_from_iter(row(i))).unwrap();
        }
        drop(st);
        tx.commit().unwrap();
    }
    let q = "SELECT id, name, score, typeof(score), tag, typeof(tag) FROM t ORDER BY id";
    assert_eq!(dump(&a, q), dump(&b, q));
    assert_eq!(one(&a, "SELECT count(*) FROM t"), n);
    // The index was kept: a lookup through it finds every row of its name.
    assert_eq!(
        dump(
            &a,
            "SELECT id FROM t INDEXED BY t_name WHERE name = 'n5' ORDER BY id"
        ),
        dump(&b, "SELECT id FROM t WHERE name = 'n5' ORDER BY id")
    );
    let ok: String = a
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

#[test]
fn a_failing_chunk_leaves_nothing_and_earlier_chunks_stay() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(SCHEMA).unwrap();
    let mut app = c.appender("t").unwrap();
    for i in 0..10 {
        app.append((i, "a", 1.0, format!("tag{i}"))).unwrap();
    }
    app.flush().unwrap();
    // The second chunk: good rows, then one breaking the CHECK constraint.
    app.append((100, "b", 1.0, "x")).unwrap();
    app.append((101, "b", -1.0, "y")).unwrap();
    let e = app.flush().unwrap_err();
    assert!(matches!(e, Error::Constraint { .. }), "{e}");
    assert_eq!(app.rows_inserted(), 10);
    assert_eq!(app.pending_rows(), 0);
    assert_eq!(one(&c, "SELECT count(*) FROM t"), 10);
    // A duplicate of a committed row's unique tag, and a NULL name.
    app.append((102, "c", 1.0, "tag3")).unwrap();
    assert!(matches!(app.flush(), Err(Error::Constraint { .. })));
    app.append((103, Value::Null, 1.0, "z")).unwrap();
    assert!(matches!(app.flush(), Err(Error::Constraint { .. })));
    // The appender goes on after errors.
    app.append((104, "d", 2.0, "w")).unwrap();
    app.flush().unwrap();
    assert_eq!(app.rows_inserted(), 11);
    drop(app);
    assert_eq!(
        dump(&c, "SELECT id FROM t WHERE id >= 100"),
        vec!["Integer(104)".to_string()]
    );
}

#[test]
fn a_row_with_the_wrong_number_of_values_is_refused_when_appended() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(SCHEMA).unwrap();
    let mut app = c.appender("t").unwrap();
    let e = app.append((1, "a")).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("appending to t") && text.contains("4 columns"),
        "{text}"
    );
    assert_eq!(app.pending_rows(), 0);
    app.append((1, "a", 1.0, "t")).unwrap();
    app.flush().unwrap();
    assert_eq!(one(&c, "SELECT count(*) FROM t"), 1);
}

#[test]
fn an_appender_needs_a_table_that_exists_and_a_writable_connection() {
    let c = Connection::open_in_memory().unwrap();
    assert!(matches!(c.appender("nope"), Err(Error::NoSuchTable(_))));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let w = Connection::open(Config::with_path(&path)).unwrap();
        w.execute_batch("CREATE TABLE t (a)").unwrap();
    }
    let r = Connection::open_read_only(&path).unwrap();
    assert!(matches!(r.appender("t"), Err(Error::ReadOnly(_))));
}

#[test]
fn main_before_the_name_names_the_same_table_unless_a_table_has_the_whole_name() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch("CREATE TABLE t (a); CREATE TABLE \"main.u\" (b); CREATE TABLE u (c)")
        .unwrap();
    let mut app = c.appender("MAIN.t").unwrap();
    app.append([1]).unwrap();
    app.flush().unwrap();
    drop(app);
    assert_eq!(one(&c, "SELECT count(*) FROM main.t"), 1);
    // A table named `main.u` is that table, not `u`.
    let mut app = c.appender("main.u").unwrap();
    app.append([2]).unwrap();
    app.flush().unwrap();
    drop(app);
    assert_eq!(one(&c, "SELECT count(*) FROM \"main.u\""), 1);
    assert_eq!(one(&c, "SELECT count(*) FROM u"), 0);
    assert!(matches!(
        c.appender("main.nope"),
        Err(Error::NoSuchTable(_))
    ));
    assert!(matches!(c.appender("other.t"), Err(Error::NoSuchTable(_))));
}

#[test]
fn generated_columns_are_computed_and_take_no_value() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE g (a INTEGER, b INTEGER AS (a * 2), c TEXT, d AS (c || '!') STORED)",
    )
    .unwrap();
    let mut app = c.appender("g").unwrap();
    app.append((3, "x")).unwrap();
    app.flush().unwrap();
    assert_eq!(
        dump(&c, "SELECT a, b, c, d FROM g"),
        vec!["Integer(3)|Integer(6)|Text(\"x\")|Text(\"x!\")".to_string()]
    );
}

#[test]
fn inside_a_transaction_the_chunks_join_it_and_a_rollback_takes_them_back() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch("CREATE TABLE t (a INTEGER, b TEXT)")
        .unwrap();
    {
        let tx = c.transaction().unwrap();
        let mut app = tx.appender("t").unwrap();
        for i in 0..(2 * Appender::CHUNK_ROWS as i64) {
            app.append((i, "r")).unwrap();
        }
        app.flush().unwrap();
        drop(app);
        assert_eq!(one(&tx, "SELECT count(*) FROM t"), 2048);
        tx.rollback().unwrap();
    }
    assert_eq!(one(&c, "SELECT count(*) FROM t"), 0);
    // Dropped without a flush: the rest is inserted all the same.
    {
        let mut app = c.appender("t").unwrap();
        app.append((1, "kept")).unwrap();
    }
    assert_eq!(one(&c, "SELECT count(*) FROM t"), 1);
}

#[test]
fn triggers_fire_for_appended_rows_and_history_is_kept() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER);
         CREATE TABLE audit (id INTEGER, v INTEGER);
         CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO audit VALUES (new.id, new.v); END;",
    )
    .unwrap();
    let before: i64 = one(&c, "SELECT current_scn()");
    let mut app = c.appender("t").unwrap();
    for i in 1..=50 {
        app.append((i, i * 10)).unwrap();
    }
    app.flush().unwrap();
    drop(app);
    assert_eq!(one(&c, "SELECT count(*) FROM audit"), 50);
    assert_eq!(one(&c, "SELECT sum(v) FROM audit"), 12_750);
    assert_eq!(
        one(&c, &format!("SELECT count(*) FROM t AS OF SCN {before}")),
        0
    );
    assert_eq!(c.last_insert_rowid(), 50);
}

#[test]
fn with_triggers_each_row_is_a_statement_as_with_one_insert_per_row() {
    let schema = "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER);
         CREATE TABLE log (id INTEGER, last INTEGER, ch INTEGER, total INTEGER);
         CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN
           INSERT INTO log VALUES (new.id, last_insert_rowid(), changes(), total_changes());
         END;
         CREATE TRIGGER t_neg BEFORE INSERT ON t WHEN new.v < 0 BEGIN
           SELECT RAISE(FAIL, 'negative');
         END;
         CREATE TRIGGER t_skip BEFORE INSERT ON t WHEN new.v = 0 BEGIN
           SELECT RAISE(IGNORE);
         END;";
    let a = Connection::open_in_memory().unwrap();
    let b = Connection::open_in_memory().unwrap();
    for c in [&a, &b] {
        c.execute_batch(schema).unwrap();
    }
    let mut app = a.appender("t").unwrap();
    for i in 1..=20 {
        app.append((i, i)).unwrap();
    }
    app.flush().unwrap();
    let mut st = b.prepare("INSERT INTO t VALUES (?1, ?2)").unwrap();
    for i in 1..=20 {
        st.execute((i, i)).unwrap();
    }
    let q = "SELECT * FROM log ORDER BY rowid";
    assert_eq!(dump(&a, q), dump(&b, q));
    // RAISE(FAIL) at the third row: the rows before it stay, and are counted.
    for (i, v) in [(21, 1), (22, 1), (23, -1), (24, 1)] {
        app.append((i, v)).unwrap();
    }
    let e = app.flush().unwrap_err();
    assert!(e.to_string().contains("negative"), "{e}");
    assert_eq!(app.rows_inserted(), 22);
    assert_eq!(app.pending_rows(), 0);
    assert_eq!(one(&a, "SELECT count(*) FROM t"), 22);
    // A row a trigger skips is not counted as inserted.
    app.append((30, 0)).unwrap();
    app.append((31, 1)).unwrap();
    app.flush().unwrap();
    assert_eq!(app.rows_inserted(), 23);
    assert_eq!(one(&a, "SELECT count(*) FROM t"), 23);
}

#[test]
fn rows_wait_while_the_write_lock_is_busy_and_go_in_at_the_next_flush() {
    let a = Connection::open_in_memory().unwrap();
    a.execute_batch("CREATE TABLE t (a INTEGER)").unwrap();
    let b = a.another_connection();
    b.busy_timeout(std::time::Duration::ZERO).unwrap();
    a.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut app = b.appender("t").unwrap();
    for i in 0..10 {
        app.append([i]).unwrap();
    }
    assert!(matches!(app.flush(), Err(Error::Busy(_))));
    assert_eq!(app.pending_rows(), 10);
    // A chunk filled while the lock is busy: the row whose append failed is not kept.
    let last = Appender::CHUNK_ROWS as i64 - 1;
    for i in 10..last {
        app.append([i]).unwrap();
    }
    assert!(matches!(app.append([last]), Err(Error::Busy(_))));
    assert_eq!(app.pending_rows(), Appender::CHUNK_ROWS - 1);
    a.execute_batch("COMMIT").unwrap();
    app.append([last]).unwrap();
    app.flush().unwrap();
    assert_eq!(app.rows_inserted(), Appender::CHUNK_ROWS as u64);
    assert_eq!(
        one(&a, "SELECT count(DISTINCT a) FROM t"),
        Appender::CHUNK_ROWS as i64
    );
}

#[test]
fn a_view_cannot_take_appended_rows() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch("CREATE TABLE t (a); CREATE VIEW v AS SELECT a FROM t")
        .unwrap();
    let e = c.appender("v").err().expect("a view is refused");
    assert!(e.to_string().contains("because it is a view"), "{e}");
    // Names are matched as SQL matches them, whatever their case.
    let mut app = c.appender("T").unwrap();
    app.append([1]).unwrap();
    app.flush().unwrap();
    assert_eq!(one(&c, "SELECT count(*) FROM t"), 1);
}
