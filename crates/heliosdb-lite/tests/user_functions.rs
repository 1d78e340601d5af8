//! Application-defined scalar functions (`Connection::create_scalar_function`): resolution
//! by name and argument count, the deterministic flag, errors, replacement and removal,
//! overriding a built-in, and the places they may not be used.

use heliosdb_lite::types::Value;
use heliosdb_lite::{Connection, Error, FunctionFlags};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn int(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn text(conn: &Connection, sql: &str) -> String {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn table(conn: &Connection, rows: i64) {
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
        .unwrap();
    for i in 1..=rows {
        conn.execute("INSERT INTO t (v) VALUES (?)", [i]).unwrap();
    }
}

#[test]
fn a_function_is_called_in_every_clause() {
    let conn = Connection::open_in_memory().unwrap();
    table(&conn, 5);
    conn.create_scalar_function("twice", 1, FunctionFlags::NONE, |args| {
        Ok(match &args[0] {
            Value::Integer(i) => Value::Integer(i * 2),
            Value::Null => Value::Null,
            other => Value::Text(format!("{other}{other}")),
        })
    })
    .unwrap();
    assert_eq!(int(&conn, "SELECT twice(21)"), 42);
    assert_eq!(int(&conn, "SELECT TWICE(21)"), 42, "names ignore case");
    assert_eq!(text(&conn, "SELECT twice('ab')"), "abab");
    assert_eq!(
        int(&conn, "SELECT sum(twice(v)) FROM t WHERE twice(v) > 4"),
        24
    );
    conn.execute("UPDATE t SET v = twice(v) WHERE id = ?", [1])
        .unwrap();
    conn.execute("INSERT INTO t (v) VALUES (twice(?))", [50])
        .unwrap();
    assert_eq!(int(&conn, "SELECT v FROM t WHERE id = 1"), 2);
    assert_eq!(int(&conn, "SELECT v FROM t WHERE id = 6"), 100);
    assert_eq!(
        int(&conn, "SELECT id FROM t ORDER BY twice(-v) LIMIT 1"),
        6,
        "ORDER BY"
    );
    let e = conn
        .query_row("SELECT twice(1, 2)", [], |r| r.get::<_, i64>(0))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("wrong number of arguments to function twice()"),
        "{e}"
    );
}

#[test]
fn exact_argument_count_wins_over_any_count() {
    let conn = Connection::open_in_memory().unwrap();
    conn.create_scalar_function("pick", -1, FunctionFlags::NONE, |args| {
        Ok(Value::Text(format!("any:{}", args.len())))
    })
    .unwrap();
    conn.create_scalar_function("pick", 2, FunctionFlags::NONE, |_| {
        Ok(Value::Text("two".into()))
    })
    .unwrap();
    assert_eq!(text(&conn, "SELECT pick()"), "any:0");
    assert_eq!(text(&conn, "SELECT pick(1, 2)"), "two");
    assert_eq!(text(&conn, "SELECT pick(1, 2, 3)"), "any:3");
    assert!(conn.remove_function("pick", 2).unwrap());
    assert!(!conn.remove_function("pick", 2).unwrap());
    assert_eq!(text(&conn, "SELECT pick(1, 2)"), "any:2");
}

#[test]
fn deterministic_functions_are_called_once_per_argument_list() {
    let conn = Connection::open_in_memory().unwrap();
    table(&conn, 10);
    let calls = Arc::new(AtomicUsize::new(0));
    for (name, flags) in [
        ("det", FunctionFlags::DETERMINISTIC),
        ("vol", FunctionFlags::NONE),
    ] {
        let calls = calls.clone();
        conn.create_scalar_function(name, 1, flags, move |args| {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(args[0].clone())
        })
        .unwrap();
    }
    assert_eq!(int(&conn, "SELECT sum(det(7)) FROM t"), 70);
    assert_eq!(calls.swap(0, Ordering::SeqCst), 1);
    assert_eq!(int(&conn, "SELECT sum(vol(7)) FROM t"), 70);
    assert_eq!(calls.swap(0, Ordering::SeqCst), 10);
    // Different arguments are different calls; each statement starts afresh.
    assert_eq!(int(&conn, "SELECT sum(det(v % 3)) FROM t"), 10);
    assert_eq!(calls.swap(0, Ordering::SeqCst), 3);
    assert_eq!(int(&conn, "SELECT sum(det(v % 3)) FROM t"), 10);
    assert_eq!(calls.swap(0, Ordering::SeqCst), 3);
}

#[test]
fn errors_name_the_function_and_replacing_or_removing_reaches_cached_statements() {
    let conn = Connection::open_in_memory().unwrap();
    conn.create_scalar_function("checked", 1, FunctionFlags::NONE, |args| match &args[0] {
        Value::Integer(i) if *i >= 0 => Ok(Value::Integer(*i)),
        _ => Err(Error::invalid("negative input")),
    })
    .unwrap();
    let e = conn
        .query_row("SELECT checked(-1)", [], |r| r.get::<_, i64>(0))
        .unwrap_err();
    match &e {
        Error::UserFunction { name, message } => {
            assert_eq!(name, "checked");
            assert!(message.contains("negative input"), "{message}");
        }
        other => panic!("expected UserFunction, got {other:?}"),
    }
    assert!(e
        .to_string()
        .starts_with("user-defined function checked() raised an error"));

    let mut stmt = conn.prepare("SELECT checked(?)").unwrap();
    assert_eq!(stmt.query_row([5], |r| r.get::<_, i64>(0)).unwrap(), 5);
    conn.create_scalar_function("checked", 1, FunctionFlags::NONE, |_| {
        Ok(Value::Integer(-7))
    })
    .unwrap();
    assert_eq!(stmt.query_row([5], |r| r.get::<_, i64>(0)).unwrap(), -7);
    assert!(conn.remove_function("CHECKED", 1).unwrap());
    let e = stmt.query_row([5], |r| r.get::<_, i64>(0)).unwrap_err();
    assert!(e.to_string().contains("no such function: checked"), "{e}");
    let e = conn
        .query_row("SELECT checked(1)", [], |r| r.get::<_, i64>(0))
        .unwrap_err();
    assert!(e.to_string().contains("no such function: checked"), "{e}");
}

#[test]
fn a_definition_overrides_a_built_in_even_in_cached_statements() {
    let conn = Connection::open_in_memory().unwrap();
    assert_eq!(text(&conn, "SELECT upper('a')"), "A");
    conn.create_scalar_function("upper", 1, FunctionFlags::DETERMINISTIC, |_| {
        Ok(Value::Text("mine".into()))
    })
    .unwrap();
    assert_eq!(text(&conn, "SELECT upper('a')"), "mine");
    // Other counts still reach the built-in's own check.
    let e = conn
        .query_row("SELECT upper('a', 'b')", [], |r| r.get::<_, String>(0))
        .unwrap_err();
    assert!(e.to_string().contains("wrong number of arguments"), "{e}");
    conn.remove_function("upper", 1).unwrap();
    assert_eq!(text(&conn, "SELECT upper('a')"), "A");
}

#[test]
fn functions_stay_out_of_stored_expressions_and_other_connections() {
    let conn = Connection::open_in_memory().unwrap();
    conn.create_scalar_function("positive", 1, FunctionFlags::DETERMINISTIC, |args| {
        Ok(Value::Integer((args[0].as_i64() > 0) as i64))
    })
    .unwrap();
    for ddl in [
        "CREATE TABLE c (a INTEGER CHECK (positive(a)))",
        "CREATE TABLE g (a INTEGER, b INTEGER GENERATED ALWAYS AS (positive(a)))",
        "CREATE TABLE d (a INTEGER DEFAULT (positive(1)))",
    ] {
        let r = conn.execute_batch(ddl);
        // Refused when created, or at the latest when the expression is first used.
        let used = r.and_then(|_| {
            conn.execute_batch(&format!("INSERT INTO {} (a) VALUES (1)", &ddl[13..14]))
        });
        match used {
            Err(e) => assert!(e.to_string().contains("positive"), "{ddl}: {e}"),
            Ok(()) => panic!("{ddl}: accepted"),
        }
    }
    let other = conn.another_connection();
    let e = other
        .query_row("SELECT positive(1)", [], |r| r.get::<_, i64>(0))
        .unwrap_err();
    assert!(e.to_string().contains("no such function: positive"), "{e}");
}

#[test]
fn a_function_cannot_run_statements_on_its_own_connection() {
    let conn = Arc::new(Connection::open_in_memory().unwrap());
    let weak = Arc::downgrade(&conn);
    conn.create_scalar_function("reenter", 0, FunctionFlags::NONE, move |_| {
        let conn = weak.upgrade().expect("the connection is alive");
        conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
            .map(Value::Integer)
    })
    .unwrap();
    // A query streams outside the connection's lock: the function may query.
    assert_eq!(int(&conn, "SELECT reenter()"), 1);
    // A write holds it while it runs: refused, not a deadlock.
    conn.execute_batch("CREATE TABLE t (a INTEGER)").unwrap();
    let e = conn
        .execute("INSERT INTO t VALUES (reenter())", [])
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("cannot run statements on the connection that is calling it"),
        "{e}"
    );
    // The connection is usable afterwards.
    assert_eq!(int(&conn, "SELECT 2"), 2);
}

#[test]
fn bad_definitions_are_refused() {
    let conn = Connection::open_in_memory().unwrap();
    let f = |_: &[Value]| Ok(Value::Null);
    for (name, n) in [("", 1), ("f(x)", 1), ("ok", -2), ("ok", 128)] {
        let e = conn
            .create_scalar_function(name, n, FunctionFlags::NONE, f)
            .unwrap_err();
        assert!(matches!(e, Error::Invalid(_)), "{name} {n}: {e}");
    }
    conn.create_scalar_function("ok", 127, FunctionFlags::NONE, f)
        .unwrap();
}

#[test]
fn total_changes_counts_every_row_changed() {
    let conn = Connection::open_in_memory().unwrap();
    assert_eq!(conn.total_changes(), 0);
    table(&conn, 3);
    conn.execute("UPDATE t SET v = v + 1", []).unwrap();
    conn.execute("DELETE FROM t WHERE id = 1", []).unwrap();
    assert_eq!(conn.total_changes(), 3 + 3 + 1);
    assert_eq!(int(&conn, "SELECT total_changes()"), 7);
}
