//! RIGHT and FULL OUTER joins against the bundled SQLite (notation of `sqlite_dialect.rs`):
//! NULL padding on either side, NULL and duplicate join keys, ON conditions that are not
//! equalities or read several tables, USING and NATURAL (the merged column), chains mixing
//! LEFT, RIGHT, FULL and inner joins, aggregates, WHERE on padded columns, subqueries and
//! views; every query on current data and on the tables read `AS OF` a past SCN.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::check;

const SETUP: &[&str] = &[
    "CREATE TABLE a(id INTEGER PRIMARY KEY, x INTEGER, y TEXT)",
    "CREATE TABLE b(id INTEGER PRIMARY KEY, x INTEGER, z TEXT)",
    "CREATE TABLE c(k INTEGER, x INTEGER, w REAL)",
    "CREATE INDEX c_x ON c(x)",
    "INSERT INTO a VALUES (1, 1, 'a1'), (2, 2, 'a2'), (3, 2, 'a3'), (4, NULL, 'an'), (5, 7, NULL)",
    "INSERT INTO b VALUES (1, 2, 'b2'), (2, 3, 'b3'), (3, NULL, 'bn'), (4, 3, 'b3x'), (6, 1, 'b1')",
    "INSERT INTO c VALUES (1, 3, 0.5), (2, 9, 1.5), (NULL, 2, NULL), (4, 1, 2.5)",
    "CREATE TABLE e(id INTEGER PRIMARY KEY, x INTEGER)",
    "CREATE VIEW bv AS SELECT x, z FROM b WHERE id < 4",
];

/// The queries, written over `{a}`, `{b}`, `{c}`, `{e}` and the view `{bv}`: the table itself for current data,
/// or the table read AS OF the marked SCN (under its own name).
const QUERIES: &[&str] = &[
    "SELECT a.id, b.id FROM {a} RIGHT JOIN {b} ON a.x = b.x ORDER BY 2, 1",
    "SELECT a.id, b.id FROM {a} FULL JOIN {b} ON a.x = b.x ORDER BY 1, 2",
    "SELECT a.id, b.id FROM {a} FULL OUTER JOIN {b} ON a.x = b.x ORDER BY 2, 1",
    "SELECT a.id, b.id FROM {a} RIGHT OUTER JOIN {b} ON a.x < b.x ORDER BY 2, 1",
    "SELECT * FROM {a} FULL JOIN {b} ON a.x = b.x AND b.z <> 'b3' ORDER BY a.id, b.id",
    "SELECT * FROM {a} FULL JOIN {b} ON 0 ORDER BY a.id, b.id",
    "SELECT * FROM {a} RIGHT JOIN {b} ON 1 ORDER BY a.id, b.id",
    "SELECT a.id, b.id FROM {a} FULL JOIN {b} ON a.x = b.x AND a.y > 'a1' ORDER BY 1, 2",
    "SELECT a.id, b.id FROM {a} FULL JOIN {b} ON a.x + 1 = b.x ORDER BY 1, 2",
    "SELECT a.id, b.id FROM {a} FULL JOIN {b} ON a.x = b.x OR a.id = b.id ORDER BY 1, 2",
    // NULL padding seen by WHERE, and WHERE on either side.
    "SELECT a.id, b.id FROM {a} FULL JOIN {b} ON a.x = b.x WHERE a.id IS NULL ORDER BY 2",
    "SELECT a.id, b.id FROM {a} FULL JOIN {b} ON a.x = b.x WHERE b.id IS NULL ORDER BY 1",
    "SELECT a.id, b.id FROM {a} RIGHT JOIN {b} ON a.x = b.x WHERE a.y IS NOT 'a2' ORDER BY 2, 1",
    "SELECT a.id, b.id FROM {a} FULL JOIN {b} ON a.x = b.x WHERE coalesce(a.x, b.x) > 1 ORDER BY 1, 2",
    // WHERE on a RIGHT join's right relation alone filters its scan (SQL's meaning kept).
    "SELECT a.id, b.id FROM {a} RIGHT JOIN {b} ON a.x = b.x WHERE b.id = 4 ORDER BY 1",
    "SELECT a.id, b.id FROM {a} RIGHT JOIN {b} ON a.x = b.x WHERE b.z LIKE 'b3%' AND a.id IS NULL ORDER BY 2",
    "SELECT a.id, b.id, c.k FROM {a} RIGHT JOIN {b} ON a.x = b.x LEFT JOIN {c} ON c.x = b.x WHERE b.id > 2 AND c.k IS NULL ORDER BY 2, 1",
    "SELECT a.id, b.id FROM {a} FULL JOIN {b} ON a.x = b.x WHERE b.id = 4 ORDER BY 1",
    "SELECT a.id, b.id FROM {a} FULL JOIN {b} ON a.x = b.x WHERE b.id IS NULL OR b.id = 4 ORDER BY 1",
    // Aggregates over outer joins.
    "SELECT count(*), count(a.id), count(b.id), sum(a.x), sum(b.x) FROM {a} FULL JOIN {b} ON a.x = b.x",
    "SELECT count(*), count(a.id) FROM {a} RIGHT JOIN {b} ON a.x = b.x",
    "SELECT b.z, count(a.id) FROM {a} RIGHT JOIN {b} ON a.x = b.x GROUP BY b.z ORDER BY 1",
    "SELECT coalesce(a.x, b.x) AS k, count(*) FROM {a} FULL JOIN {b} ON a.x = b.x GROUP BY k ORDER BY k",
    "SELECT DISTINCT a.x, b.x FROM {a} FULL JOIN {b} ON a.x = b.x ORDER BY 1, 2",
    // USING and NATURAL: the merged column.
    "SELECT * FROM {a} RIGHT JOIN {b} USING (x) ORDER BY b.id, a.id",
    "SELECT x, a.x, b.x FROM {a} RIGHT JOIN {b} USING (x) ORDER BY b.id, a.id",
    "SELECT * FROM {a} FULL JOIN {b} USING (x) ORDER BY a.id, b.id",
    "SELECT x, a.x, b.x FROM {a} FULL JOIN {b} USING (x) ORDER BY x, a.id, b.id",
    "SELECT x, count(*) FROM {a} FULL JOIN {b} USING (x) GROUP BY x ORDER BY x",
    "SELECT a.id, b.id FROM {a} FULL JOIN {b} USING (x) WHERE x IS NULL ORDER BY 1, 2",
    "SELECT * FROM {a} NATURAL FULL JOIN {b} ORDER BY 1, 2, 3",
    "SELECT * FROM {a} NATURAL RIGHT JOIN {b} ORDER BY 1, 2, 3",
    "SELECT x, c.k FROM {a} FULL JOIN {b} USING (x) FULL JOIN {c} USING (x) ORDER BY 1, 2",
    "SELECT * FROM {a} FULL JOIN {b} USING (id, x) ORDER BY 1, 2",
    // Chains: left to right, whatever the cost-based order would like.
    "SELECT a.id, b.id, c.k FROM {a} LEFT JOIN {b} ON a.x = b.x RIGHT JOIN {c} ON c.x = b.x ORDER BY 3, 1, 2",
    "SELECT a.id, b.id, c.k FROM {a} JOIN {b} ON a.x = b.x FULL JOIN {c} ON c.x = a.x ORDER BY 1, 2, 3",
    "SELECT a.id, b.id, c.k FROM {a} FULL JOIN {b} ON a.x = b.x JOIN {c} ON c.x = b.x ORDER BY 1, 2, 3",
    "SELECT a.id, b.id, c.k FROM {a} FULL JOIN {b} ON a.x = b.x LEFT JOIN {c} ON c.x = a.x ORDER BY 1, 2, 3",
    "SELECT a.id, b.id, c.k FROM {a} RIGHT JOIN {b} ON a.x = b.x RIGHT JOIN {c} ON c.x = b.x ORDER BY 3, 1, 2",
    "SELECT a.id, b.id, c.k FROM {a} FULL JOIN {b} ON a.x = b.x FULL JOIN {c} ON c.x = coalesce(a.x, b.x) ORDER BY 1, 2, 3",
    "SELECT a.id, b.id, c.k FROM {a} CROSS JOIN {b} RIGHT JOIN {c} ON c.x = a.x AND c.k = b.id ORDER BY 1, 2, 3",
    "SELECT a.id, b.id, c.k FROM {a} FULL JOIN {b} ON a.x = b.x, {c} WHERE c.x = b.x ORDER BY 1, 2, 3",
    "SELECT a.id, b.id, c.k FROM {c} LEFT JOIN {a} ON a.x = c.x FULL JOIN {b} ON b.x = a.x AND c.w > 1 ORDER BY 1, 2, 3",
    "SELECT a.id, b.id, c.k, e.id FROM {a} RIGHT JOIN {b} ON a.x = b.x FULL JOIN {c} ON c.x = b.x LEFT JOIN {e} ON e.x = c.k ORDER BY 1, 2, 3, 4",
    "SELECT a.id, e.id FROM {a} FULL JOIN {e} ON a.x = e.x ORDER BY 1, 2",
    "SELECT a.id, e.id FROM {e} RIGHT JOIN {a} ON a.x = e.x ORDER BY 1, 2",
    "SELECT count(*) FROM {a} FULL JOIN {b} ON a.x = b.x FULL JOIN {c} ON c.x = b.x",
    // Subqueries, derived tables, views, NULL keys under affinity.
    "SELECT a.id, s.x FROM {a} FULL JOIN (SELECT DISTINCT x FROM {b}) AS s ON s.x = a.x ORDER BY 1, 2",
    "SELECT a.id, bv.z FROM {a} RIGHT JOIN {bv} ON bv.x = a.x ORDER BY 1, 2",
    "SELECT a.id, b.id FROM {a} FULL JOIN {b} ON a.y = 'a' || b.x ORDER BY 1, 2",
    "SELECT a.id, b.id FROM {a} FULL JOIN {b} ON CAST(a.x AS TEXT) = b.x ORDER BY 1, 2",
    "SELECT a.id, b.id FROM {a} FULL JOIN {b} ON a.x = b.x AND b.id IN (SELECT k FROM {c}) ORDER BY 1, 2",
    "SELECT a.id, (SELECT count(*) FROM {c} WHERE c.x = b.x) FROM {a} RIGHT JOIN {b} ON a.x = b.x ORDER BY b.id, 1",
    "SELECT id FROM {e} WHERE EXISTS (SELECT 1 FROM {a} FULL JOIN {b} ON a.x = b.x WHERE b.id = e.id) ORDER BY 1",
    "SELECT a.id, b.id FROM {a} FULL JOIN {b} ON a.x = b.x ORDER BY 1 LIMIT 3 OFFSET 1",
    "SELECT a.id, b.id FROM {a} FULL JOIN {b} ON a.x = b.x UNION SELECT 0, 0 ORDER BY 1, 2",
    // Parenthesised joins: one relation, not flattened into the chain.
    "SELECT a.id, b.id, c.k FROM {a} RIGHT JOIN ({b} JOIN {c} ON b.x = c.x) ON a.x = b.x ORDER BY 1, 2, 3",
    "SELECT a.id, b.id, c.k FROM {a} LEFT JOIN ({b} FULL JOIN {c} ON b.x = c.x) ON a.x = coalesce(b.x, c.x) ORDER BY 1, 2, 3",
    "SELECT e.id, a.id, b.id FROM {e} JOIN ({a} RIGHT JOIN {b} ON a.x = b.x) ON e.x = b.x ORDER BY 1, 2, 3",
    "SELECT e.id, a.id, b.id FROM {e} CROSS JOIN ({a} FULL JOIN {b} ON a.x = b.x) WHERE e.id = 1 ORDER BY 1, 2, 3",
    "SELECT e.id, a.id, b.id FROM {e}, ({a} RIGHT JOIN {b} ON a.x = b.x) ORDER BY 1, 2, 3",
    "SELECT e.id, a.id, b.id FROM {e}, {a} RIGHT JOIN {b} ON a.x = b.x ORDER BY 1, 2, 3",
    "SELECT a.id, b.id, c.k FROM ({a} RIGHT JOIN {b} ON a.x = b.x) FULL JOIN {c} ON c.x = a.x ORDER BY 1, 2, 3",
    // Inside correlated subqueries, the enclosing row in ON and in a hash key.
    "SELECT c.k, (SELECT count(*) FROM {a} RIGHT JOIN {b} ON a.x = b.x AND b.x = c.x) FROM {c} ORDER BY 1, 2",
    "SELECT c.k, (SELECT count(*) || '/' || count(a.id) || '/' || \
     total(coalesce(a.id, 0) * 10 + coalesce(b.id, 0)) \
     FROM {a} FULL JOIN {b} ON a.x = b.x + c.k - 1) FROM {c} ORDER BY 1, 2",
    "SELECT c.k FROM {c} WHERE EXISTS (SELECT 1 FROM {a} FULL JOIN {b} ON a.x = b.x WHERE a.id IS NULL AND b.x = c.x) ORDER BY 1",
    // A LEFT JOIN's ON clause holding a subquery that reads a row further out, with a join
    // after it: the ON term decides the LEFT JOIN's matches, it must not filter the padded
    // rows after the next join (it did: every row of the subquery's join was lost).
    "SELECT c.k, (SELECT count(*) FROM {a} LEFT JOIN {b} ON b.x = a.x AND b.id IN \
     (SELECT e.id FROM {e} WHERE e.id >= c.k - 3) LEFT JOIN {bv} ON bv.x = a.x) FROM {c} ORDER BY 1, 2",
    "SELECT c.k, (SELECT count(*) || '/' || count(b.id) FROM {a} LEFT JOIN {b} ON b.x = a.x \
     AND b.id > (SELECT min(e.id) FROM {e} WHERE e.x <= c.x) JOIN {bv} ON bv.x <> a.id) FROM {c} ORDER BY 1, 2",
];

fn current(q: &str) -> String {
    ["a", "b", "c", "e", "bv"]
        .iter()
        .fold(q.to_string(), |s, t| s.replace(&format!("{{{t}}}"), t))
}

fn as_of(q: &str) -> String {
    ["a", "b", "c", "e", "bv"]
        .iter()
        .fold(q.to_string(), |s, t| {
            s.replace(
                &format!("{{{t}}}"),
                &format!("{t} AS OF SCN {{scn}} AS {t}"),
            )
        })
}

#[test]
fn right_and_full_joins_match_sqlite() {
    let queries: Vec<String> = QUERIES.iter().map(|q| current(q)).collect();
    let mut script: Vec<&str> = SETUP.to_vec();
    script.extend(queries.iter().map(String::as_str));
    // e empty, then with rows.
    script.push("INSERT INTO e VALUES (1, 2), (2, NULL), (3, 8)");
    script.extend(queries.iter().map(String::as_str));
    check(&[("current", &script)]);
}

#[test]
fn right_and_full_joins_as_of_a_past_scn() {
    // SQLite holds the data of the mark; HeliosDB changes every table after it and reads
    // them AS OF the mark.
    let pairs: Vec<String> = QUERIES
        .iter()
        .map(|q| format!("{} @@ {}", current(q), as_of(q)))
        .collect();
    let mut script: Vec<&str> = SETUP.to_vec();
    script.push("INSERT INTO e VALUES (1, 2), (2, NULL), (3, 8)");
    script.push("@mark");
    script.extend([
        "@ours DELETE FROM a WHERE id IN (2, 4)",
        "@ours UPDATE b SET x = 1 WHERE x IS NULL",
        "@ours INSERT INTO b VALUES (10, 7, 'b7')",
        "@ours DELETE FROM c",
        "@ours DELETE FROM e WHERE id = 1",
    ]);
    script.extend(pairs.iter().map(String::as_str));
    check(&[("as_of", &script)]);
}

#[test]
fn outer_join_errors_match_sqlite() {
    let script: Vec<&str> = SETUP
        .iter()
        .copied()
        .chain([
            "SELECT x FROM a FULL JOIN b ON a.x = b.x",
            "SELECT * FROM a FULL JOIN b USING (nope)",
            "SELECT * FROM a RIGHT JOIN b ON nope = 1",
            "SELECT * FROM a FULL JOIN b ON count(*) > 0",
            "SELECT * FROM a RIGHT JOIN b ON c.x = b.x JOIN c ON 1",
            "SELECT * FROM a LEFT JOIN b ON c.x = b.x JOIN c ON 1",
            "SELECT * FROM a FULL JOIN b ON a.x = (SELECT max(x) FROM c WHERE c.x = b.x) ORDER BY 1, 3",
        ])
        .collect();
    check(&[("errors", &script)]);
}

/// The plan shows the join and, with an equality, that it hashes.
#[test]
fn explain_names_the_outer_join() {
    let db = heliosdb_lite::Connection::open_in_memory().unwrap();
    for s in SETUP {
        db.execute(s, []).unwrap();
    }
    let plan = |sql: &str| -> String {
        let mut stmt = db.prepare(sql).unwrap();
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        rows.join("\n")
    };
    let full = plan("EXPLAIN SELECT * FROM a FULL JOIN b ON a.x = b.x");
    assert!(full.contains("FULL JOIN (hash on 1 key)"), "{full}");
    let right = plan("EXPLAIN SELECT * FROM a RIGHT JOIN b ON a.x < b.x");
    assert!(right.contains("RIGHT JOIN (nested loop)"), "{right}");
    // WHERE on the right relation alone reaches its scan: a key lookup, not a scan.
    let pushed = plan("EXPLAIN SELECT * FROM a RIGHT JOIN b ON a.x = b.x WHERE b.id = 4");
    assert!(
        pushed.contains("SEARCH b USING PRIMARY KEY (id=?)"),
        "{pushed}"
    );
}
