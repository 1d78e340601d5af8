//! The names the engine writes into statements for its own use (the markers that carry
//! `AS OF` and a window's `EXCLUDE` through the SQL parser, the alias of a row-value `IN`
//! rewrite) and its internal functions (COLLATE, RAISE, INTERVAL arithmetic, JSON
//! subtypes) cannot be reached from SQL: written by a user, the names are refused with a
//! clear error or are unknown functions, and the features behind them still work.

use heliosdb_lite::Connection;

fn db() -> Connection {
    let db = Connection::open_in_memory().unwrap();
    db.execute_batch(
        "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT); \
         INSERT INTO t VALUES (1, 'x'), (2, 'y'), (3, 'x')",
    )
    .unwrap();
    db
}

fn error(db: &Connection, sql: &str) -> String {
    match db.execute_batch(sql) {
        Ok(()) => panic!("accepted: {sql}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn marker_names_are_refused_wherever_they_are_written() {
    let db = db();
    for (sql, name) in [
        (
            "SELECT * FROM t FOR SYSTEM_TIME AS OF helios_as_of('scn', 1)",
            "helios_as_of",
        ),
        ("SELECT helios_as_of('scn', 1)", "helios_as_of"),
        ("SELECT HELIOS_AS_OF FROM t", "helios_as_of"),
        ("SELECT \"helios_as_of\" FROM t", "helios_as_of"),
        (
            "SELECT sum(a) OVER (ORDER BY a, helios_frame_exclude('ties') \
             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM t",
            "helios_frame_exclude",
        ),
        (
            "SELECT sum(a) OVER (ORDER BY helios_frame_exclude('current row')) FROM t",
            "helios_frame_exclude",
        ),
        ("CREATE TABLE helios_row_in(x)", "helios_row_in"),
        (
            "SELECT helios_row_in.a FROM t AS helios_row_in",
            "helios_row_in",
        ),
        (
            "CREATE TRIGGER tr AFTER INSERT ON t BEGIN \
             SELECT helios_frame_exclude('ties'); END",
            "helios_frame_exclude",
        ),
        ("CREATE VIEW v AS SELECT 1 AS helios_as_of", "helios_as_of"),
    ] {
        let e = error(&db, sql);
        assert!(
            e.contains(&format!("{name} is a name reserved")),
            "{sql}: {e}"
        );
    }
    // Nothing was created by the refused statements.
    let n: i64 = db
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn internal_functions_are_unknown_by_name() {
    let db = db();
    for name in [
        "helios_raise(2, 'boom')",
        "helios_interval_add('2024-01-01', 1)",
        "helios_collate_nocase('A')",
        "helios_collate_binary('A')",
        "helios_collate_rtrim('A')",
        "helios_nocase_key('A')",
        "helios_rtrim_key('A ')",
        "helios_json_extract_json('[1]', '$[0]')",
        "helios_json_embed(1)",
        "helios_subtype_json(1)",
    ] {
        let e = error(&db, &format!("SELECT {name}"));
        let fname = &name[..name.find('(').unwrap()];
        assert!(
            e.contains(&format!("no such function: {fname}")),
            "{name}: {e}"
        );
    }
}

#[test]
fn the_features_behind_the_names_still_work() {
    let db = db();
    let scn: i64 = db
        .query_row("SELECT current_scn()", [], |r| r.get(0))
        .unwrap();
    db.execute_batch("DELETE FROM t WHERE a = 2").unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count(&format!("SELECT count(*) FROM t AS OF SCN {scn}")), 3);
    assert_eq!(
        count(&format!(
            "SELECT count(*) FROM t FOR SYSTEM_TIME AS OF scn_to_timestamp({scn})"
        )),
        3
    );
    assert_eq!(
        count(
            "SELECT sum(s) FROM (SELECT sum(a) OVER (ORDER BY a ROWS BETWEEN UNBOUNDED \
             PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW) AS s FROM t)"
        ),
        1
    );
    assert_eq!(
        count("SELECT count(*) FROM t WHERE (a, b) IN (SELECT a, b FROM t WHERE b = 'x')"),
        2
    );
    assert_eq!(
        count("SELECT count(*) FROM t WHERE b = 'X' COLLATE NOCASE"),
        2
    );
    assert_eq!(count("SELECT subtype(json('[1]'))"), 74);
    // Names that only start like a reserved one are ordinary.
    db.execute_batch("CREATE TABLE helios_notes(helios_as_of_day INTEGER)")
        .unwrap();
}
