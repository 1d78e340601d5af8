//! Result-column aliases in WHERE and ON against the bundled SQLite (notation of
//! `sqlite_dialect.rs`): an alias is usable where no FROM column has its name (a real column
//! wins), from subqueries too, the first of two same-named aliases wins, and aliases of
//! aggregates and window functions are refused; on current data and on tables read `AS OF`.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::check;

const SETUP: &[&str] = &[
    "CREATE TABLE t(a INTEGER, b INTEGER)",
    "INSERT INTO t VALUES (1, 10), (2, 20), (3, 30), (NULL, 40)",
    "CREATE TABLE s(a INTEGER, z TEXT)",
    "INSERT INTO s VALUES (2, 'x'), (4, 'y')",
];

const QUERIES: &[&str] = &[
    // A column of the FROM tables wins over an alias of the same name.
    "SELECT a + 1 AS b FROM {t} WHERE b > 15 ORDER BY 1",
    "SELECT a + 1 AS c FROM {t} WHERE c > 2 ORDER BY 1",
    "SELECT a + 1 AS C FROM {t} WHERE c > 2 ORDER BY 1",
    "SELECT a + 1 AS c FROM {t} WHERE c > 2 GROUP BY c HAVING c < 4 ORDER BY 1",
    "SELECT a + 1 AS c FROM {t} WHERE c IS NULL",
    "SELECT a + 1 AS c FROM {t} WHERE c > 2 ORDER BY c DESC",
    "SELECT a AS c, b AS c FROM {t} WHERE c > 15 ORDER BY 1",
    "SELECT a * 2 AS d, b FROM {t} WHERE d BETWEEN 2 AND 4 AND b < 30 ORDER BY 1",
    "SELECT a + 1 AS c FROM {t} WHERE (SELECT c) > 2 ORDER BY 1",
    "SELECT a + 1 AS c FROM {t} WHERE EXISTS (SELECT 1 FROM {s} WHERE s.a = c) ORDER BY 1",
    "SELECT a + 1 AS c FROM {t} WHERE c IN (SELECT a FROM {s}) ORDER BY 1",
    "SELECT t.a + 1 AS c, s.z FROM {t} JOIN {s} ON c = s.a ORDER BY 1",
    "SELECT t.a + 1 AS c, s.z FROM {t} LEFT JOIN {s} ON c = s.a ORDER BY 1",
    "SELECT (SELECT max(a) FROM {s}) AS m, a FROM {t} WHERE a < m - 1 ORDER BY 2",
    "SELECT (SELECT a + 1 AS q FROM {s} WHERE q > 3) AS r FROM {t} ORDER BY 1",
    "SELECT upper(z) AS u FROM {s} WHERE u = 'Y'",
    "SELECT 1 AS one WHERE one = 1",
    // Refused as in SQLite.
    "SELECT count(*) AS n FROM {t} WHERE n > 1",
    "SELECT row_number() OVER () AS r FROM {t} WHERE r > 1",
    "SELECT a AS x, x + 1 AS y FROM {t}",
    "SELECT a + 1 AS c FROM {t} WHERE t.c > 2",
    "SELECT c + 1 AS c FROM {t} WHERE c > 2",
];

fn current(q: &str) -> String {
    q.replace("{t}", "t").replace("{s}", "s")
}

fn as_of(q: &str) -> String {
    q.replace("{t}", "t AS OF SCN {scn} AS t")
        .replace("{s}", "s AS OF SCN {scn} AS s")
}

#[test]
fn aliases_in_where_match_sqlite() {
    let queries: Vec<String> = QUERIES.iter().map(|q| current(q)).collect();
    let mut script: Vec<&str> = SETUP.to_vec();
    script.extend(queries.iter().map(String::as_str));
    check(&[("current", &script)]);
}

#[test]
fn aliases_in_where_as_of_a_past_scn() {
    let pairs: Vec<String> = QUERIES
        .iter()
        .map(|q| format!("{} @@ {}", current(q), as_of(q)))
        .collect();
    let mut script: Vec<&str> = SETUP.to_vec();
    script.push("@mark");
    script.extend([
        "@ours DELETE FROM t WHERE a = 2",
        "@ours UPDATE s SET a = 3",
        "@ours INSERT INTO t VALUES (5, 50)",
    ]);
    script.extend(pairs.iter().map(String::as_str));
    check(&[("as_of", &script)]);
}
