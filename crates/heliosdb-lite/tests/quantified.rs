//! `x op ANY / SOME / ALL (SELECT ...)`, an extension (SQLite has no quantified comparisons),
//! checked against its standard meaning written with EXISTS and run in the bundled SQLite:
//! `ANY` is `CASE WHEN EXISTS (... WHERE x op v) THEN 1 WHEN EXISTS (... WHERE (x op v) IS
//! NULL) THEN NULL ELSE 0 END`, `ALL` the same with `NOT (x op v)`, 0 and 1. Every operator,
//! NULLs on both sides, empty subqueries, correlated subqueries, affinity and collation, in
//! the select list and in WHERE, on current data and on tables read `AS OF` a past SCN.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::check;

const SETUP: &[&str] = &[
    "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c TEXT COLLATE NOCASE)",
    "INSERT INTO t VALUES (1, 1, '1', 'x'), (2, 2, '2', 'Y'), (3, 3, 'z', 'q'), (4, NULL, NULL, NULL), \
     (5, 5, '5', 'X')",
    "CREATE TABLE s(k INTEGER, v INTEGER, w TEXT)",
    "INSERT INTO s VALUES (1, 1, 'x'), (2, 3, 'y'), (2, NULL, NULL), (3, 2, 'X'), (5, 0, 'a')",
];

/// Subqueries of `s` by their WHERE clause (`s.k = t.id`: correlated).
const FILTERS: &[&str] = &[
    "1",
    "s.v IS NOT NULL",
    "0",
    "s.k = t.id",
    "s.k = t.id AND s.v IS NOT NULL",
    "s.v < 3",
];

const OPS: &[&str] = &["=", "<>", "<", "<=", ">", ">="];

/// (HeliosDB's query, SQLite's equivalent) over tables `{t}` and `{s}`.
fn pairs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for filter in FILTERS {
        for op in OPS {
            for (quant, all) in [("ANY", false), ("SOME", false), ("ALL", true)] {
                for (x, v) in [("t.a", "s.v"), ("t.b", "s.v"), ("t.c", "s.w")] {
                    let ours = format!("{x} {op} {quant} (SELECT {v} FROM {{s}} WHERE {filter})");
                    let probe = |cond: &str| {
                        format!("EXISTS (SELECT 1 FROM s WHERE ({filter}) AND {cond})")
                    };
                    let theirs = if all {
                        format!(
                            "CASE WHEN {} THEN 0 WHEN {} THEN NULL ELSE 1 END",
                            probe(&format!("NOT ({x} {op} {v})")),
                            probe(&format!("({x} {op} {v}) IS NULL"))
                        )
                    } else {
                        format!(
                            "CASE WHEN {} THEN 1 WHEN {} THEN NULL ELSE 0 END",
                            probe(&format!("{x} {op} {v}")),
                            probe(&format!("({x} {op} {v}) IS NULL"))
                        )
                    };
                    out.push((
                        format!("SELECT id, {ours} FROM {{t}} ORDER BY id"),
                        format!("SELECT id, {theirs} FROM t ORDER BY id"),
                    ));
                    if *op == "<" || *op == "=" {
                        out.push((
                            format!("SELECT id FROM {{t}} WHERE {ours} ORDER BY id"),
                            format!("SELECT id FROM t WHERE {theirs} ORDER BY id"),
                        ));
                        out.push((
                            format!("SELECT id FROM {{t}} WHERE NOT ({ours}) ORDER BY id"),
                            format!("SELECT id FROM t WHERE NOT ({theirs}) ORDER BY id"),
                        ));
                    }
                }
            }
        }
    }
    out
}

fn tables(q: &str, as_of: bool) -> String {
    if as_of {
        q.replace("{t}", "t AS OF SCN {scn} AS t")
            .replace("{s}", "s AS OF SCN {scn} AS s")
    } else {
        q.replace("{t}", "t").replace("{s}", "s")
    }
}

fn script(as_of: bool) -> Vec<String> {
    let mut lines: Vec<String> = SETUP.iter().map(|s| s.to_string()).collect();
    lines.push("@mark".into());
    if as_of {
        lines.extend(
            [
                "@ours DELETE FROM s WHERE v IS NULL",
                "@ours UPDATE t SET a = a + 10",
                "@ours INSERT INTO s VALUES (9, 9, 'z')",
            ]
            .map(String::from),
        );
    }
    for (ours, theirs) in pairs() {
        lines.push(format!("{theirs} @@ {}", tables(&ours, as_of)));
    }
    lines
}

#[test]
fn quantified_comparisons_mean_their_exists_form() {
    let lines = script(false);
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    check(&[("current", &lines)]);
}

#[test]
fn quantified_comparisons_as_of_a_past_scn() {
    let lines = script(true);
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    check(&[("as_of", &lines)]);
}

#[test]
fn quantified_comparison_errors() {
    let db = heliosdb_lite::Connection::open_in_memory().unwrap();
    for s in SETUP {
        db.execute(s, []).unwrap();
    }
    for (sql, wanted) in [
        (
            "SELECT a = ANY (SELECT v, w FROM s) FROM t",
            "sub-select returns 2 columns - expected 1",
        ),
        (
            "SELECT a LIKE ANY (SELECT w FROM s) FROM t",
            "not supported",
        ),
        (
            "SELECT count(*) > ALL (SELECT v FROM s) FROM t",
            "left of ALL",
        ),
    ] {
        let e = db
            .prepare(sql)
            .and_then(|mut s| s.query([]).and_then(|r| r.into_values()).map(|_| ()))
            .unwrap_err()
            .to_string();
        assert!(e.contains(wanted), "{sql}: {e}");
    }
    // SQLite itself refuses the syntax: this is an extension.
    let sqlite = rusqlite::Connection::open_in_memory().unwrap();
    sqlite.execute_batch("CREATE TABLE s(v)").unwrap();
    assert!(sqlite.prepare("SELECT 1 = ANY (SELECT v FROM s)").is_err());
}
