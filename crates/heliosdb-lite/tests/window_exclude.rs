//! Window frames with `EXCLUDE NO OTHERS | CURRENT ROW | GROUP | TIES`, statement by
//! statement against the bundled SQLite: ROWS, RANGE and GROUPS frames, aggregates and
//! `first_value` / `last_value` / `nth_value`, named windows, and the same on rows read
//! `AS OF` a past SCN. Script notation: see `sqlite_dialect.rs`.
//!
//! Where ORDER BY has ties, a ROWS frame (and the first or last row of any frame) depends on
//! how the peers happen to be ordered, which both engines may do differently and rightly:
//! over tied keys the queries use aggregates that do not depend on order, and value
//! functions only of the ORDER BY key itself; order-sensitive ones order by the unique `id`.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::{check, errors};

const EXCLUSIONS: [&str; 5] = [
    "",
    " EXCLUDE NO OTHERS",
    " EXCLUDE CURRENT ROW",
    " EXCLUDE GROUP",
    " EXCLUDE TIES",
];

const SETUP: [&str; 2] = [
    "CREATE TABLE t(id INTEGER PRIMARY KEY, p TEXT, g INTEGER, x INTEGER)",
    "INSERT INTO t VALUES (1, 'a', 1, 10), (2, 'a', 1, 20), (3, 'a', 2, 30), (4, 'a', 3, 40), \
     (5, 'a', 3, 50), (6, 'a', 3, 60), (7, 'b', 1, 5), (8, 'b', 2, NULL), (9, 'b', 2, 7), \
     (10, 'b', 4, 8)",
];

/// Every query, with `TBL` for the table read and `EXC` for the exclusion.
fn queries() -> Vec<String> {
    let mut frames_over_ties = Vec::new();
    for units in ["ROWS", "RANGE", "GROUPS"] {
        for bounds in [
            "BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW",
            "BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING",
            "BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING",
            "UNBOUNDED PRECEDING",
            "CURRENT ROW",
        ] {
            frames_over_ties.push(format!("{units} {bounds}"));
        }
    }
    for units in ["ROWS", "GROUPS"] {
        for bounds in [
            "BETWEEN 1 PRECEDING AND 1 FOLLOWING",
            "BETWEEN 2 PRECEDING AND CURRENT ROW",
            "BETWEEN 1 FOLLOWING AND 2 FOLLOWING",
            "1 PRECEDING",
        ] {
            frames_over_ties.push(format!("{units} {bounds}"));
        }
    }
    let mut out = Vec::new();
    for frame in &frames_over_ties {
        // Peers are tied on g: order-free aggregates, and value functions of g (a ROWS frame
        // over ties would depend on the order of the peers).
        let tied = frame.starts_with("RANGE") || frame.starts_with("GROUPS");
        if tied {
            let w = format!("PARTITION BY p ORDER BY g {frame}EXC");
            let cols = [
                format!("sum(x) OVER ({w})"),
                format!("count(*) OVER ({w})"),
                format!("count(x) OVER ({w})"),
                format!("min(x) OVER ({w})"),
                format!("max(x) OVER ({w})"),
                format!("total(x) OVER ({w})"),
                format!("first_value(g) OVER ({w})"),
                format!("last_value(g) OVER ({w})"),
                format!("nth_value(g, 2) OVER ({w})"),
            ];
            out.push(format!(
                "SELECT id, {} FROM TBL ORDER BY id",
                cols.join(", ")
            ));
        }
        // A unique ORDER BY: every function, with frames of any units.
        let w = format!("PARTITION BY p ORDER BY id {frame}EXC");
        out.push(format!(
            "SELECT id, sum(x) OVER ({w}), count(*) OVER ({w}), first_value(x) OVER ({w}), \
             last_value(x) OVER ({w}), nth_value(x, 2) OVER ({w}), \
             group_concat(x, '.') OVER ({w}) FROM TBL ORDER BY id"
        ));
        // Ordered by g then id: peers under RANGE / GROUPS are still the rows with equal g,
        // but the rows' order is fixed.
        let w = format!("ORDER BY g, id {frame}EXC");
        out.push(format!(
            "SELECT id, sum(x) OVER ({w}), first_value(id) OVER ({w}), last_value(id) OVER ({w}), \
             nth_value(id, 3) OVER ({w}) FROM TBL ORDER BY id"
        ));
    }
    // No ORDER BY: every row is a peer of every other.
    for frame in [
        "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING",
        "RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING",
        "GROUPS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING",
    ] {
        let w = format!("PARTITION BY p {frame}EXC");
        out.push(format!(
            "SELECT id, sum(x) OVER ({w}), count(*) OVER ({w}) FROM TBL ORDER BY id"
        ));
    }
    // Named windows: the frame and its exclusion in the definition, or added to a base.
    out.push(
        "SELECT id, sum(x) OVER w, first_value(g) OVER w FROM TBL \
         WINDOW w AS (PARTITION BY p ORDER BY g GROUPS BETWEEN 1 PRECEDING AND 1 FOLLOWING EXC) \
         ORDER BY id"
            .to_string(),
    );
    out.push(
        "SELECT id, sum(x) OVER (w RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXC), \
         count(x) OVER (w GROUPS CURRENT ROW EXC) FROM TBL \
         WINDOW w AS (PARTITION BY p ORDER BY g) ORDER BY id"
            .to_string(),
    );
    out
}

#[test]
fn frame_exclusions_match_sqlite() {
    let mut script: Vec<String> = SETUP.iter().map(|s| s.to_string()).collect();
    let mut as_of: Vec<String> = Vec::new();
    for q in queries() {
        for exc in EXCLUSIONS {
            let q = q.replace("EXC", exc);
            script.push(q.replace("TBL", "t"));
            as_of.push(format!(
                "{} @@ {}",
                q.replace("TBL", "t"),
                q.replace("TBL", "t AS OF SCN {scn}")
            ));
        }
    }
    // The same on the rows as they were before changes SQLite never sees.
    script.push("@mark".into());
    script.push("@ours UPDATE t SET x = x * 100, g = 9 WHERE id % 2 = 0".into());
    script.push("@ours DELETE FROM t WHERE id = 3".into());
    script.extend(as_of);
    let lines: Vec<&str> = script.iter().map(String::as_str).collect();
    check(&[("frame exclusions", &lines)]);
}

/// `EXCLUDE` where SQLite's grammar has none (or with another mode) is a syntax error in
/// both engines.
#[test]
fn misplaced_exclude_is_a_syntax_error() {
    for sql in [
        "SELECT sum(1) OVER (ORDER BY 1 EXCLUDE TIES)",
        "SELECT sum(1) OVER (EXCLUDE CURRENT ROW)",
        "SELECT sum(1) OVER (ORDER BY 1 ROWS CURRENT ROW EXCLUDE OTHERS)",
        "SELECT sum(1) OVER (ORDER BY 1 ROWS CURRENT ROW EXCLUDE)",
        "SELECT sum(1) OVER (ORDER BY 1 ROWS CURRENT ROW EXCLUDE TIES EXCLUDE GROUP)",
        "SELECT sum(1) EXCLUDE TIES",
        "SELECT 1 EXCLUDE CURRENT ROW",
    ] {
        let (theirs, ours) = errors(sql);
        assert!(theirs.is_some(), "SQLite accepts {sql}");
        let ours = ours.unwrap_or_else(|| panic!("HeliosDB accepts {sql}"));
        assert!(ours.contains("syntax error"), "{sql}: {ours}");
    }
}
