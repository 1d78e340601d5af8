//! Everyday SQLite SQL, statement by statement against SQLite itself (the bundled library
//! through rusqlite): collations, aggregate FILTER, IS with affinity, CAST and round(),
//! CURRENT_TIMESTAMP, PRAGMA foreign_keys, and the catalog after ALTER TABLE renames. Each
//! case is a script run in both engines; a statement must succeed in both or fail in both, and
//! a query must give the same rows (in order when it has ORDER BY, else as multisets) with the
//! same types.
//!
//! Time travel: a statement written `@ours <sql>` runs in HeliosDB only (the changes made
//! after a marked point; `{scn}` in it is the mark), `@mark` remembers HeliosDB's newest SCN,
//! and a statement or query written
//! `<sqlite sql> @@ <heliosdb sql>` runs the first text in SQLite and the second, where
//! `{scn}` is the marked SCN, in HeliosDB: SQLite's current data is HeliosDB's data AS OF the
//! mark.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::check;

const PEOPLE: &str = "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT COLLATE NOCASE, b TEXT, \
                      r TEXT COLLATE RTRIM, n INTEGER)";
const PEOPLE_ROWS: &str = "INSERT INTO t VALUES (1, 'alice', 'Alice', 'x ', 10), \
                           (2, 'ALICE', 'alice ', 'x', 20), (3, 'Bob', 'bob', 'y  ', 30), \
                           (4, 'bob', 'BOB', 'Y', NULL), (5, NULL, NULL, NULL, 5)";

#[test]
fn collations_in_comparisons() {
    check(&[(
        "comparisons",
        &[
            PEOPLE,
            PEOPLE_ROWS,
            "SELECT id FROM t WHERE a = 'Alice' ORDER BY id",
            "SELECT id FROM t WHERE 'Alice' = a ORDER BY id",
            "SELECT id FROM t WHERE a <> 'alice' ORDER BY id",
            "SELECT id FROM t WHERE a < 'B' ORDER BY id",
            "SELECT id FROM t WHERE b = 'alice' COLLATE NOCASE ORDER BY id",
            "SELECT id FROM t WHERE b COLLATE NOCASE = 'ALICE' ORDER BY id",
            "SELECT id FROM t WHERE b = 'BOB' COLLATE BINARY ORDER BY id",
            "SELECT id FROM t WHERE a = 'BOB' COLLATE BINARY ORDER BY id",
            "SELECT id FROM t WHERE a = b ORDER BY id",
            "SELECT id FROM t WHERE b = a ORDER BY id",
            "SELECT id FROM t WHERE r = 'x' ORDER BY id",
            "SELECT id FROM t WHERE r = 'y' ORDER BY id",
            "SELECT id FROM t WHERE a IN ('ALICE', 'BOB') ORDER BY id",
            "SELECT id FROM t WHERE a NOT IN ('ALICE') ORDER BY id",
            "SELECT id FROM t WHERE b COLLATE NOCASE IN ('ALICE', 'BOB') ORDER BY id",
            "SELECT id FROM t WHERE a BETWEEN 'A' AND 'B' ORDER BY id",
            "SELECT id FROM t WHERE a IS 'BOB' ORDER BY id",
            "SELECT id FROM t WHERE a IS NOT 'BOB' ORDER BY id",
            "SELECT id, CASE a WHEN 'ALICE' THEN 1 ELSE 0 END FROM t ORDER BY id",
            "SELECT x.id, y.id FROM t x JOIN t y ON x.a = y.a WHERE x.id < y.id ORDER BY 1, 2",
            "SELECT x.id, y.id FROM t x JOIN t y ON x.b = y.a WHERE x.id <> y.id ORDER BY 1, 2",
            "SELECT id FROM (SELECT id, b COLLATE NOCASE AS bb FROM t) WHERE bb = 'BOB' ORDER BY id",
            "SELECT id FROM (SELECT id, a FROM t) WHERE a = 'bob' ORDER BY id",
            "SELECT 'abc' = 'ABC', 'abc' = 'ABC' COLLATE NOCASE, \
             'abc' COLLATE NOCASE = 'ABC' COLLATE BINARY, 'a ' = 'a' COLLATE RTRIM",
            "SELECT 'a' COLLATE NOCASE < 'B', 'a' < 'B', 'b ' COLLATE RTRIM > 'b'",
            "SELECT 1 FROM t WHERE a = 'x' COLLATE klingon",
            "CREATE TABLE k(x TEXT COLLATE klingon)",
        ],
    )]);
}

#[test]
fn collations_in_order_group_and_distinct() {
    check(&[(
        "order and group",
        &[
            PEOPLE,
            PEOPLE_ROWS,
            "SELECT a, id FROM t ORDER BY a, id",
            "SELECT a, id FROM t ORDER BY a DESC, id",
            "SELECT b, id FROM t ORDER BY b COLLATE NOCASE, id",
            "SELECT b AS bb, id FROM t ORDER BY bb COLLATE NOCASE, id",
            "SELECT id FROM t ORDER BY r DESC, id",
            "SELECT a, count(*) FROM t GROUP BY a ORDER BY 1",
            "SELECT a, count(*), sum(n) FROM t GROUP BY 1 ORDER BY 2, 1",
            "SELECT b, count(*) FROM t GROUP BY b COLLATE NOCASE ORDER BY 2, 1",
            "SELECT count(*) FROM t GROUP BY r ORDER BY 1",
            "SELECT DISTINCT a FROM t ORDER BY 1",
            "SELECT DISTINCT b COLLATE NOCASE FROM t ORDER BY 1",
            "SELECT DISTINCT r FROM t",
            "SELECT count(DISTINCT a), count(DISTINCT b COLLATE NOCASE), count(DISTINCT r) FROM t",
            "SELECT min(a), max(a), min(b), max(b COLLATE NOCASE), min(r), max(r) FROM t",
            "SELECT count(*), min(b COLLATE NOCASE), max(b) FROM t GROUP BY a ORDER BY 1, 2",
            "SELECT min(a) FILTER (WHERE id > 1), max(a) FILTER (WHERE id < 4) FROM t",
            "SELECT a FROM t ORDER BY 1 COLLATE BINARY, id",
            "SELECT b FROM t UNION ALL SELECT a FROM t ORDER BY 1 COLLATE NOCASE, 1",
            "SELECT a FROM t UNION ALL SELECT b FROM t ORDER BY 1",
        ],
    )]);
}

#[test]
fn collations_in_unique_and_indexes() {
    check(&[
        (
            "unique column",
            &[
                "CREATE TABLE u(id INTEGER PRIMARY KEY, name TEXT COLLATE NOCASE UNIQUE)",
                "INSERT INTO u(name) VALUES ('alice')",
                "INSERT INTO u(name) VALUES ('ALICE')",
                "INSERT INTO u(name) VALUES ('Bob')",
                "INSERT OR IGNORE INTO u(name) VALUES ('BOB')",
                "INSERT INTO u(name) VALUES ('carol') ON CONFLICT(name) DO UPDATE SET name = 'x'",
                "INSERT INTO u(name) VALUES ('CAROL') ON CONFLICT(name) DO UPDATE SET name = 'Carol'",
                "UPDATE u SET name = 'bob' WHERE name = 'Carol'",
                "SELECT id, name FROM u ORDER BY id",
                "SELECT id FROM u WHERE name = 'ALICE'",
                "SELECT id FROM u WHERE name = 'ALICE' COLLATE BINARY",
                "SELECT name FROM u ORDER BY name",
            ],
        ),
        (
            "unique index with COLLATE",
            &[
                "CREATE TABLE v(id INTEGER PRIMARY KEY, name TEXT)",
                "CREATE UNIQUE INDEX vn ON v(name COLLATE NOCASE)",
                "INSERT INTO v(name) VALUES ('x')",
                "INSERT INTO v(name) VALUES ('X')",
                "INSERT INTO v(name) VALUES ('y')",
                "SELECT id FROM v WHERE name = 'X'",
                "SELECT id FROM v WHERE name = 'X' COLLATE NOCASE",
                "SELECT name FROM v ORDER BY name DESC",
                "CREATE TABLE w(name TEXT)",
                "INSERT INTO w VALUES ('q'), ('Q')",
                "CREATE UNIQUE INDEX wn ON w(name COLLATE NOCASE)",
                "CREATE UNIQUE INDEX wb ON w(name)",
                "CREATE TABLE z(name TEXT UNIQUE COLLATE RTRIM)",
                "INSERT INTO z VALUES ('a')",
                "INSERT INTO z VALUES ('a  ')",
                "SELECT count(*) FROM z",
            ],
        ),
        (
            "plain index on a NOCASE column",
            &[
                "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT COLLATE NOCASE)",
                "CREATE INDEX pn ON p(name)",
                "INSERT INTO p(name) VALUES ('Ann'), ('ann'), ('BEN'), ('ben'), ('Cy')",
                "SELECT id FROM p WHERE name = 'ANN' ORDER BY id",
                "SELECT id FROM p WHERE name > 'b' ORDER BY id",
                "SELECT name FROM p ORDER BY name, id LIMIT 3",
                "SELECT id FROM p WHERE name = 'Ann' COLLATE BINARY",
            ],
        ),
    ]);
}

#[test]
fn collations_as_of_an_older_point() {
    check(&[(
        "as of",
        &[
            PEOPLE,
            PEOPLE_ROWS,
            "@mark",
            "@ours UPDATE t SET a = 'zed', b = 'zed'",
            "@ours DELETE FROM t WHERE id = 1",
            "SELECT id FROM t WHERE a = 'Alice' ORDER BY id \
             @@ SELECT id FROM t AS OF SCN {scn} WHERE a = 'Alice' ORDER BY id",
            "SELECT a, count(*) FROM t GROUP BY a ORDER BY 1 \
             @@ SELECT a, count(*) FROM t AS OF SCN {scn} GROUP BY a ORDER BY 1",
            "SELECT b, id FROM t ORDER BY b COLLATE NOCASE, id \
             @@ SELECT b, id FROM t AS OF SCN {scn} ORDER BY b COLLATE NOCASE, id",
        ],
    )]);
}

#[test]
fn aggregate_filter() {
    check(&[(
        "filter",
        &[
            "CREATE TABLE f(g TEXT, d TEXT, x INTEGER)",
            "INSERT INTO f VALUES ('a', 'y', 1), ('a', 'n', 2), ('b', 'y', 3), ('b', 'y', NULL), \
             ('c', 'n', 4)",
            "SELECT count(*) FILTER (WHERE d = 'y'), count(*) FROM f",
            "SELECT g, count(*) FILTER (WHERE d = 'y'), sum(x) FILTER (WHERE d = 'y'), \
             count(x) FILTER (WHERE x > 1), avg(x) FILTER (WHERE d = 'n'), \
             min(x) FILTER (WHERE d = 'y'), max(x) FILTER (WHERE d = 'n'), \
             total(x) FILTER (WHERE 0), group_concat(x, '-') FILTER (WHERE x IS NOT NULL) \
             FROM f GROUP BY g ORDER BY g",
            "SELECT count(DISTINCT d) FILTER (WHERE x > 1) FROM f",
            "SELECT g FROM f GROUP BY g HAVING count(*) FILTER (WHERE d = 'y') > 0 ORDER BY g",
            "SELECT abs(x) FILTER (WHERE 1) FROM f",
            "@mark",
            "@ours DELETE FROM f WHERE d = 'y'",
            "SELECT count(*) FILTER (WHERE d = 'y') FROM f \
             @@ SELECT count(*) FILTER (WHERE d = 'y') FROM f AS OF SCN {scn}",
        ],
    )]);
}

#[test]
fn is_applies_affinity() {
    check(&[(
        "is",
        &[
            "CREATE TABLE i(id INTEGER PRIMARY KEY, n INTEGER, s TEXT, r REAL)",
            "CREATE INDEX i_n ON i(n)",
            "INSERT INTO i VALUES (10, 10, '10', 1.5), (11, NULL, 'x', NULL)",
            "SELECT id FROM i WHERE id IS '10'",
            "SELECT id FROM i WHERE id IS NOT '10' ORDER BY id",
            "SELECT id FROM i WHERE n IS '10'",
            "SELECT id FROM i WHERE '10' IS n",
            "SELECT id FROM i WHERE s IS 10",
            "SELECT id FROM i WHERE r IS '1.5'",
            "SELECT id FROM i WHERE n IS NULL",
            "SELECT id FROM (SELECT id, n FROM i) WHERE n IS '10'",
            "CREATE TABLE k(a TEXT PRIMARY KEY, b)",
            "INSERT INTO k VALUES ('10', 1)",
            "SELECT b FROM k WHERE a IS 10",
        ],
    )]);
}

#[test]
fn casts_round_and_time() {
    check(&[(
        "values",
        &[
            "SELECT CAST(2.0 AS NUMERIC), typeof(CAST(2.0 AS NUMERIC)), CAST(2.5 AS NUMERIC)",
            "SELECT CAST('2.0' AS NUMERIC), typeof(CAST('2.0' AS NUMERIC)), \
             CAST('1e3' AS NUMERIC), CAST('1e20' AS NUMERIC), CAST(' 3 ' AS NUMERIC), \
             CAST(x'3132' AS NUMERIC), CAST('abc' AS NUMERIC)",
            "SELECT round(1.005, 2), round(2.675, 2), round(-1.005, 2), round(0.285, 2), \
             round(5.015, 2)",
            "SELECT CAST(x'616263' AS TEXT), typeof(CAST(x'616263' AS TEXT))",
            "SELECT length(CURRENT_TIMESTAMP), length(CURRENT_DATE), length(CURRENT_TIME), \
             CURRENT_TIMESTAMP = datetime('now')",
            "CREATE TABLE d(id INTEGER PRIMARY KEY, at TEXT DEFAULT CURRENT_TIMESTAMP)",
            "INSERT INTO d(id) VALUES (1)",
            "SELECT length(at), at = datetime(at) FROM d",
        ],
    )]);
}

#[test]
fn cast_of_invalid_utf8_blob_to_text_is_refused() {
    // SQLite keeps the bytes; TEXT is UTF-8 here, so this is an error rather than a
    // silently different value.
    let c = heliosdb_lite::Connection::open_in_memory().unwrap();
    let e = c
        .query_row("SELECT CAST(x'61ff62' AS TEXT)", [], |r| {
            r.get::<_, String>(0)
        })
        .unwrap_err();
    assert!(e.to_string().contains("not valid UTF-8"), "{e}");
}

#[test]
fn pragma_foreign_keys() {
    check(&[(
        "foreign keys",
        &[
            "CREATE TABLE p(id INTEGER PRIMARY KEY)",
            "CREATE TABLE c(x INTEGER REFERENCES p(id))",
            "PRAGMA foreign_keys",
            "INSERT INTO c VALUES (1)",
            "PRAGMA foreign_keys = OFF",
            "PRAGMA foreign_keys",
            "INSERT INTO c VALUES (2)",
            "PRAGMA foreign_keys=ON",
            "PRAGMA foreign_keys",
            "INSERT INTO c VALUES (3)",
            "PRAGMA foreign_keys = 0",
            "PRAGMA foreign_keys",
            "INSERT INTO c VALUES (4)",
            "PRAGMA foreign_keys = 1",
            "INSERT INTO c VALUES (5)",
            "PRAGMA main.foreign_keys = false",
            "INSERT INTO c VALUES (6)",
            "PRAGMA foreign_keys = true",
            "BEGIN",
            "PRAGMA foreign_keys = OFF",
            "INSERT INTO c VALUES (7)",
            "COMMIT",
            "PRAGMA foreign_keys",
            "SELECT x FROM c ORDER BY x",
            "PRAGMA table_info(c)",
        ],
    )]);
}

/// Tables, views and triggers shared by the rename cases.
const RENAME_SETUP: &[&str] = &[
    "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT CHECK (length(name) < 10))",
    "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p(id), note TEXT)",
    "CREATE TABLE log(msg TEXT)",
    "CREATE INDEX p_name ON p(name)",
    "CREATE VIEW v AS SELECT p.name, c.note FROM p JOIN c ON c.pid = p.id WHERE p.name <> 'x'",
    "CREATE VIEW w AS SELECT q.nm AS n, (SELECT count(*) FROM c WHERE c.pid = q.ident) AS k \
     FROM (SELECT id AS ident, name AS nm FROM p) AS q ORDER BY nm",
    "CREATE VIEW z AS SELECT x.name AS name FROM p AS x WHERE 'name' <> x.name",
    "CREATE TRIGGER tr AFTER INSERT ON p WHEN NEW.name <> '' \
     BEGIN INSERT INTO log VALUES ('p ' || NEW.name); END",
    "CREATE TRIGGER tc AFTER UPDATE OF note ON c \
     BEGIN UPDATE p SET name = NEW.note WHERE p.id = NEW.pid; INSERT INTO log SELECT name FROM p WHERE id = NEW.pid; END",
    "INSERT INTO p VALUES (1, 'ann')",
    "INSERT INTO c VALUES (1, 1, 'n1')",
];

#[test]
fn rename_column_rewrites_views_triggers_and_keys() {
    let after: &[&str] = &[
        "@mark",
        "ALTER TABLE p RENAME COLUMN name TO title",
        "ALTER TABLE p RENAME COLUMN id TO pk",
        "SELECT pk, title FROM p @@ SELECT id, name FROM p AS OF SCN {scn}",
        "SELECT * FROM v",
        "SELECT * FROM w",
        "SELECT * FROM z",
        "INSERT INTO p VALUES (2, 'bob')",
        "INSERT INTO p VALUES (3, 'much too long a name')",
        "INSERT INTO c VALUES (2, 2, 'n2')",
        "INSERT INTO c VALUES (3, 9, 'bad')",
        "UPDATE c SET note = 'renamed' WHERE id = 1",
        "SELECT * FROM p ORDER BY 1",
        "SELECT * FROM log ORDER BY 1",
        "ALTER TABLE c RENAME COLUMN note TO remark",
        "UPDATE c SET remark = 'again' WHERE id = 2",
        "SELECT * FROM p ORDER BY 1",
        "SELECT * FROM log ORDER BY 1",
        "SELECT * FROM v ORDER BY 1",
        "DELETE FROM p WHERE pk = 1",
        "SELECT pk FROM p WHERE title = 'renamed'",
        "ALTER TABLE p RENAME COLUMN title TO pk",
        "ALTER TABLE p RENAME COLUMN nosuch TO other",
    ];
    let script: Vec<&str> = RENAME_SETUP.iter().chain(after).copied().collect();
    check(&[("rename column", &script)]);
}

#[test]
fn rename_table_rewrites_views_triggers_and_keys() {
    let after: &[&str] = &[
        "@mark",
        "ALTER TABLE p RENAME TO people",
        "SELECT id, name FROM people @@ SELECT id, name FROM p AS OF SCN {scn}",
        "SELECT * FROM v",
        "SELECT * FROM w",
        "SELECT * FROM z",
        "SELECT * FROM p",
        "INSERT INTO people VALUES (2, 'bob')",
        "INSERT INTO c VALUES (2, 2, 'n2')",
        "INSERT INTO c VALUES (3, 9, 'bad')",
        "UPDATE c SET note = 'renamed' WHERE id = 1",
        "SELECT * FROM people ORDER BY 1",
        "SELECT * FROM log ORDER BY 1",
        "DELETE FROM people WHERE id = 1",
        "ALTER TABLE c RENAME TO children",
        "UPDATE children SET note = 'again' WHERE id = 2",
        "SELECT * FROM v ORDER BY 1",
        "SELECT * FROM log ORDER BY 1",
        "ALTER TABLE people RENAME TO log",
    ];
    let script: Vec<&str> = RENAME_SETUP.iter().chain(after).copied().collect();
    check(&[("rename table", &script)]);
}

/// Compound SELECT column affinity, IN with collations, and expressions whose answers
/// depend on SQLite's conversion rules.
#[test]
fn compound_affinity_and_other_corners() {
    check(&[(
        "corners",
        &[
            "CREATE TABLE a(i INTEGER, t TEXT, r REAL, b BLOB, n NUMERIC, u)",
            "INSERT INTO a VALUES (1, '1', 1.0, x'31', '1', '1'), (2, '02', 2.5, '2', 2, 2)",
            "SELECT x FROM (SELECT i AS x FROM a UNION SELECT t FROM a) WHERE x = '1'",
            "SELECT x FROM (SELECT t AS x FROM a UNION ALL SELECT i FROM a) WHERE x = 1",
            "SELECT x FROM (SELECT u AS x FROM a UNION ALL SELECT i FROM a) WHERE x = '2'",
            "SELECT count(*) FROM (SELECT i FROM a UNION SELECT t FROM a)",
            "SELECT typeof(x) FROM (SELECT i AS x FROM a UNION ALL SELECT t FROM a)",
            "SELECT x FROM (SELECT t AS x FROM a) WHERE x = 1",
            "WITH c(x) AS (SELECT t FROM a) SELECT x FROM c WHERE x = 1",
            "SELECT -9223372036854775808, typeof(-(9223372036854775808)), \
             -9223372036854775808.0, -(-9223372036854775808), -9223372036854775809",
            "CREATE VIEW va AS SELECT t AS x, i AS y FROM a",
            "SELECT x FROM va WHERE x = 1",
            "SELECT y FROM va WHERE y = '1'",
            "SELECT i FROM a WHERE i IN (SELECT t FROM a)",
            "SELECT t FROM a WHERE t IN (SELECT i FROM a)",
            "SELECT i FROM a WHERE i = (SELECT t FROM a WHERE i = 1)",
            "SELECT 1 WHERE '1' = (SELECT i FROM a WHERE i = 1)",
            "SELECT t FROM a INTERSECT SELECT i FROM a",
            "SELECT i FROM a INTERSECT SELECT t FROM a",
            "SELECT i FROM a EXCEPT SELECT t FROM a",
            "SELECT max(t), min(i), max(u) FROM a",
            "SELECT t + 0, t || i, i / 2, r / 2, 5 % 2.5, -'3', '3' * '4'",
            "SELECT typeof(n), n FROM a ORDER BY i",
            "SELECT b = '1', b = 1, u = 1, u = '1', n = '1', n = 1 FROM a ORDER BY i",
            "SELECT CASE WHEN i = 1 THEN t ELSE r END FROM a ORDER BY 1",
            "SELECT coalesce(NULL, t) = 1 FROM a",
            "SELECT substr('abc', 2) COLLATE NOCASE = 'BC'",
            "SELECT 'a' IN ('A' COLLATE NOCASE)",
            "SELECT 'A' COLLATE NOCASE IN (SELECT 'a')",
            "SELECT t FROM a WHERE t COLLATE NOCASE IN (SELECT t FROM a) ORDER BY 1",
            "SELECT nullif('a', 'A' COLLATE NOCASE), instr('ABC' COLLATE NOCASE, 'b')",
            "SELECT 'abc' LIKE 'ABC', 'abc' GLOB 'ABC' COLLATE NOCASE",
            "SELECT group_concat(DISTINCT t) FROM a",
            "SELECT i, t FROM a ORDER BY t COLLATE RTRIM DESC",
            "SELECT printf('%.2f', 1.005), printf('%5.1f|%-4d|%s', 3.14159, 7, 'x'), format('%d', 3)",
            "SELECT iif(1, 'a', 'b'), typeof(randomblob(4)), length(randomblob(8))",
            "SELECT total_changes()",
            "UPDATE a SET u = u",
            "SELECT total_changes(), changes()",
            "SELECT 10 / 3.0, 1e308 * 10, -0.0, 9223372036854775807 + 1",
            "SELECT CAST('  12  ' AS INTEGER), CAST('0x10' AS INTEGER), CAST(1e19 AS INTEGER), CAST(-1e19 AS INTEGER)",
            "SELECT hex(CAST('abc' AS BLOB)), CAST(123 AS BLOB) = '123'",
            "SELECT time('12:34:56.789'), datetime('2024-01-01 10:00:00.123'), strftime('%f', '2024-01-01 10:00:01.5')",
        ],
    )]);
}

/// A compound SELECT read as a table (subquery, CTE, view) turns integers into reals under a
/// REAL column, and converts nothing under INTEGER or NUMERIC (2.0 stays a real): SQLite
/// applies only its REAL affinity when it reads such a table back (fuzzer seed 20261402,
/// case 28053).
#[test]
fn compound_read_as_a_table_converts_only_under_real() {
    check(&[(
        "compound reads",
        &[
            "CREATE TABLE t1(b INTEGER PRIMARY KEY, a REAL)",
            "CREATE TABLE t2(c INTEGER, f NUMERIC, g TEXT)",
            "INSERT INTO t1 VALUES (14, 1), (11, 2.5), (13, 'b')",
            "INSERT INTO t2 VALUES (3, 3, '4'), (NULL, 2.0, 'x')",
            "CREATE VIEW v1 AS SELECT a AS k FROM t1 UNION ALL SELECT 3",
            "SELECT k, typeof(k) FROM (SELECT c AS k FROM t2 UNION ALL SELECT a FROM t1)",
            "SELECT k, typeof(k) FROM (SELECT c AS k FROM t2 UNION ALL SELECT 2.0)",
            "SELECT k, typeof(k) FROM (SELECT f AS k FROM t2 UNION SELECT 2.0)",
            "SELECT k, typeof(k) FROM (SELECT a AS k FROM t1 UNION ALL SELECT 3)",
            "SELECT k, typeof(k) FROM (SELECT 5 AS k UNION ALL SELECT a FROM t1)",
            "SELECT k, typeof(k) FROM (SELECT g AS k FROM t2 UNION ALL SELECT g FROM t2)",
            "WITH w AS (SELECT a AS k FROM t1 UNION ALL SELECT 3) SELECT k, typeof(k) FROM w",
            "WITH w AS MATERIALIZED (SELECT a AS k FROM t1 UNION ALL SELECT 3) \
             SELECT k, typeof(k) FROM w",
            "WITH w(k) AS (SELECT c FROM t2 UNION ALL SELECT a FROM t1) SELECT k, typeof(k) FROM w",
            "SELECT k, typeof(k) FROM v1",
            "SELECT x1.b, x2.k, typeof(x2.k) FROM t1 x1 LEFT JOIN \
             (SELECT c AS k FROM t2 UNION ALL SELECT a FROM t1) x2 ON x2.k = x1.a",
            "SELECT k, typeof(k) FROM (SELECT c AS k FROM t2 UNION ALL SELECT 2.0) WHERE k = 2",
        ],
    )]);
}

/// Duplicates in UNION, INTERSECT and EXCEPT are found under the compound's collation (the
/// leftmost operand's that has one; a subquery's column has BINARY at least), and of equal
/// rows that differ (2 and 2.0, 'a' and 'A') SQLite keeps the last one written.
#[test]
fn compound_duplicates_follow_collations_and_keep_the_last() {
    check(&[(
        "compound duplicates",
        &[
            "CREATE TABLE t(a TEXT COLLATE NOCASE, b TEXT)",
            "INSERT INTO t VALUES ('a', 'a'), ('A', 'A')",
            "SELECT 2 UNION SELECT 2.0",
            "SELECT 2.0 UNION SELECT 2",
            "SELECT 2 UNION SELECT 2.0 UNION SELECT 2",
            "SELECT k, typeof(k) FROM (SELECT 2 AS k UNION SELECT 2.0)",
            "SELECT 2 INTERSECT SELECT 2.0",
            "SELECT 2.0 INTERSECT SELECT 2",
            "SELECT 'a' COLLATE NOCASE UNION SELECT 'A'",
            "SELECT a FROM t UNION SELECT 'a'",
            "SELECT 'a' UNION SELECT a FROM t",
            "SELECT b FROM t UNION SELECT 'a' COLLATE NOCASE",
            "SELECT a FROM t INTERSECT SELECT 'a'",
            "SELECT b COLLATE NOCASE FROM t EXCEPT SELECT 'A'",
            "SELECT x FROM (SELECT a AS x FROM t UNION SELECT b FROM t) WHERE x = 'a'",
            "SELECT x FROM (SELECT 'A' AS x) UNION SELECT a FROM t",
            "SELECT count(*) FROM (SELECT 'a' AS x) JOIN t ON x = a",
            "SELECT count(*) FROM (SELECT 'a' AS x) JOIN t ON a = x",
            "WITH w(x) AS (SELECT 'a') SELECT count(*) FROM w JOIN t ON x = a",
            "SELECT 2 UNION SELECT 2.0 ORDER BY 1",
        ],
    )]);
}

#[test]
fn with_recursive() {
    check(&[(
        "recursive",
        &[
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) \
             SELECT x FROM c",
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c LIMIT 4",
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION SELECT x % 3 + 1 FROM c) SELECT x FROM c",
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 3 OFFSET 1) \
             SELECT * FROM c",
            "WITH RECURSIVE fib(a, b) AS (SELECT 0, 1 UNION ALL SELECT b, a + b FROM fib \
             WHERE b < 50) SELECT a FROM fib",
            "WITH RECURSIVE c(x) AS (SELECT 5) SELECT * FROM c",
            "WITH RECURSIVE a(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM a WHERE x < 3), \
             b(y) AS (SELECT x * 10 FROM a UNION ALL SELECT y + 1 FROM b WHERE y % 10 < 2) \
             SELECT y FROM b ORDER BY y",
            "WITH RECURSIVE c(x, s) AS (SELECT 1, 'a' UNION ALL SELECT x + 1, s || 'b' FROM c \
             WHERE x < 4) SELECT s, length(s) FROM c WHERE x > 1",
            "SELECT (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10) \
             SELECT sum(x) FROM c)",
            "CREATE TABLE emp(id INTEGER PRIMARY KEY, boss INTEGER, name TEXT)",
            "INSERT INTO emp VALUES (1, NULL, 'ceo'), (2, 1, 'a'), (3, 1, 'b'), (4, 2, 'c'), \
             (5, 4, 'd')",
            "WITH RECURSIVE chain(id, name, depth) AS (SELECT id, name, 0 FROM emp \
             WHERE boss IS NULL UNION ALL SELECT e.id, e.name, chain.depth + 1 FROM emp e \
             JOIN chain ON e.boss = chain.id) SELECT * FROM chain ORDER BY depth, id",
            "WITH RECURSIVE up(id) AS (SELECT 5 UNION SELECT boss FROM emp, up \
             WHERE emp.id = up.id AND boss IS NOT NULL) SELECT group_concat(id) FROM up",
            "WITH RECURSIVE bad(x) AS (SELECT 1, 2 UNION ALL SELECT x FROM bad) SELECT * FROM bad",
            "@mark",
            "@ours UPDATE emp SET boss = 3 WHERE id = 4",
            "@ours DELETE FROM emp WHERE id = 2",
            "WITH RECURSIVE chain(id, depth) AS (SELECT id, 0 FROM emp WHERE boss IS NULL \
             UNION ALL SELECT e.id, chain.depth + 1 FROM emp e JOIN chain ON e.boss = chain.id) \
             SELECT * FROM chain ORDER BY id \
             @@ WITH RECURSIVE chain(id, depth) AS (SELECT id, 0 FROM emp AS OF SCN {scn} \
             WHERE boss IS NULL UNION ALL SELECT e.id, chain.depth + 1 FROM emp AS OF SCN {scn} e \
             JOIN chain ON e.boss = chain.id) SELECT * FROM chain ORDER BY id",
        ],
    )]);
}

#[test]
fn window_functions() {
    check(&[(
        "windows",
        &[
            "CREATE TABLE s(id INTEGER PRIMARY KEY, g TEXT, v INTEGER, r REAL)",
            "INSERT INTO s VALUES (1, 'a', 10, 1.5), (2, 'a', 20, 2.5), (3, 'a', 20, NULL), \
             (4, 'b', 5, 0.5), (5, 'b', NULL, 3.0), (6, 'c', 7, 7.0), (7, 'A', 1, 1.0)",
            "SELECT id, row_number() OVER (ORDER BY id), rank() OVER (ORDER BY v), \
             dense_rank() OVER (ORDER BY v) FROM s ORDER BY id",
            "SELECT id, sum(v) OVER (PARTITION BY g ORDER BY id), count(*) OVER (PARTITION BY g), \
             avg(v) OVER (), total(r) OVER (ORDER BY r DESC NULLS LAST) FROM s ORDER BY id",
            "SELECT id, lag(v) OVER (ORDER BY id), lead(v, 2, -1) OVER (ORDER BY id), \
             first_value(v) OVER (PARTITION BY g ORDER BY id), \
             last_value(v) OVER (PARTITION BY g ORDER BY id), \
             nth_value(v, 2) OVER (PARTITION BY g ORDER BY id \
             ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) FROM s ORDER BY id",
            "SELECT id, ntile(4) OVER (ORDER BY id), ntile(10) OVER (ORDER BY id), \
             percent_rank() OVER (ORDER BY v), cume_dist() OVER (ORDER BY v) FROM s ORDER BY id",
            "SELECT id, sum(v) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING), \
             sum(v) OVER (ORDER BY id ROWS 2 PRECEDING), \
             count(v) OVER (ORDER BY id ROWS BETWEEN 2 FOLLOWING AND 3 FOLLOWING), \
             min(v) OVER w, max(v) OVER w, group_concat(id, '-') OVER w \
             FROM s WINDOW w AS (PARTITION BY g ORDER BY v DESC) ORDER BY id",
            "SELECT id, sum(v) OVER (w ORDER BY id), count(*) OVER w FROM s \
             WINDOW w AS (PARTITION BY g) ORDER BY id",
            "SELECT g, sum(v), rank() OVER (ORDER BY sum(v) DESC) FROM s GROUP BY g ORDER BY g",
            "SELECT id, count(*) FILTER (WHERE v > 6) OVER (ORDER BY id) FROM s ORDER BY id",
            "SELECT id, sum(v) OVER (ORDER BY v RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) \
             FROM s ORDER BY id",
            "SELECT id, row_number() OVER (ORDER BY g DESC, id) AS rn FROM s ORDER BY rn LIMIT 3",
            "SELECT id, rank() OVER (ORDER BY g COLLATE NOCASE) FROM s ORDER BY id",
            "SELECT DISTINCT g, count(*) OVER (PARTITION BY g) FROM s ORDER BY 1",
            "SELECT id FROM s ORDER BY row_number() OVER (ORDER BY v DESC, id)",
            "SELECT * FROM (SELECT id, rank() OVER (PARTITION BY g ORDER BY v) AS rk FROM s) \
             WHERE rk = 1 ORDER BY id",
            "SELECT ntile(0) OVER (ORDER BY id) FROM s",
            "SELECT count(DISTINCT v) OVER () FROM s",
            "SELECT id FROM s GROUP BY id HAVING row_number() OVER () > 1",
            "SELECT sum(v) OVER nosuch FROM s",
            "SELECT abs(v) OVER () FROM s",
            "@mark",
            "@ours UPDATE s SET v = v * 100",
            "@ours DELETE FROM s WHERE id = 1",
            "SELECT id, rank() OVER (PARTITION BY g ORDER BY v), sum(v) OVER (ORDER BY id) \
             FROM s ORDER BY id \
             @@ SELECT id, rank() OVER (PARTITION BY g ORDER BY v), sum(v) OVER (ORDER BY id) \
             FROM s AS OF SCN {scn} ORDER BY id",
        ],
    )]);
}

#[test]
fn window_groups_frames() {
    let q = |from: &str| -> Vec<String> {
        [
            "SELECT id, v, sum(r) OVER (ORDER BY v GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW) \
             FROM {f} ORDER BY id",
            "SELECT id, sum(r) OVER (GROUPS BETWEEN 1 PRECEDING AND 1 FOLLOWING) FROM {f} ORDER BY id",
            "SELECT id, total(r) OVER (ORDER BY v GROUPS BETWEEN 1 FOLLOWING AND 2 FOLLOWING), \
             count(*) OVER (ORDER BY v GROUPS BETWEEN 2 PRECEDING AND 1 PRECEDING) FROM {f} ORDER BY id",
            "SELECT id, count(*) OVER (PARTITION BY g ORDER BY v GROUPS 1 PRECEDING), \
             first_value(id) OVER (ORDER BY v, id GROUPS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), \
             last_value(id) OVER (ORDER BY v DESC GROUPS BETWEEN CURRENT ROW AND 1 FOLLOWING) \
             FROM {f} ORDER BY id",
            "SELECT id, nth_value(id, 2) OVER (ORDER BY g COLLATE NOCASE \
             GROUPS BETWEEN UNBOUNDED PRECEDING AND 1 FOLLOWING) FROM {f} ORDER BY id",
            "SELECT id, max(v) OVER (ORDER BY r GROUPS BETWEEN 0 PRECEDING AND 0 FOLLOWING) \
             FROM {f} ORDER BY id",
            "SELECT id, sum(v) OVER (ORDER BY v GROUPS BETWEEN -1 PRECEDING AND CURRENT ROW) FROM {f}",
            "SELECT id, sum(v) OVER (ORDER BY v GROUPS BETWEEN 1 FOLLOWING AND 1 PRECEDING) FROM {f}",
            "SELECT id, sum(v) OVER (ORDER BY v ROWS BETWEEN CURRENT ROW AND 1 PRECEDING) FROM {f}",
            "SELECT id, sum(v) OVER (ORDER BY v GROUPS BETWEEN 'x' PRECEDING AND CURRENT ROW) FROM {f}",
        ]
        .iter()
        .map(|s| s.replace("{f}", from))
        .collect()
    };
    let current = q("s");
    let past = q("s AS OF SCN {scn}");
    let pairs: Vec<String> = current
        .iter()
        .zip(&past)
        .map(|(c, p)| format!("{c} @@ {p}"))
        .collect();
    let mut script = vec![
        "CREATE TABLE s(id INTEGER PRIMARY KEY, g TEXT, v INTEGER, r REAL)",
        "INSERT INTO s VALUES (1, 'a', 10, 1.5), (2, 'a', 20, 2.5), (3, 'a', 20, NULL), \
         (4, 'b', 5, 0.5), (5, 'b', NULL, 3.0), (6, 'c', 7, 7.0), (7, 'A', 1, 1.0), (8, 'c', 7, 0.5)",
    ];
    script.extend(current.iter().map(String::as_str));
    script.extend([
        "@mark",
        "@ours UPDATE s SET v = v * 3, r = -r",
        "@ours DELETE FROM s WHERE id = 2",
    ]);
    script.extend(pairs.iter().map(String::as_str));
    check(&[("groups", &script)]);
}

#[test]
fn create_table_as_select() {
    check(&[(
        "ctas",
        &[
            "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT COLLATE NOCASE, v REAL, n NUMERIC, b)",
            "INSERT INTO t VALUES (1, 'a', 1.5, 2, x'00'), (2, 'b', NULL, '3', 'x')",
            "CREATE TABLE t2 AS SELECT * FROM t",
            "SELECT * FROM t2 ORDER BY id",
            "SELECT typeof(id), typeof(v), typeof(n), typeof(b) FROM t2 ORDER BY id",
            "PRAGMA table_info(t2)",
            "SELECT id FROM t2 WHERE name = 'A'",
            "CREATE TABLE t3 AS SELECT id, id, name || 'x' AS nm, count(*) c FROM t GROUP BY id",
            "SELECT * FROM t3 ORDER BY 1",
            "PRAGMA table_info(t3)",
            "CREATE TABLE t2 AS SELECT 1",
            "CREATE TABLE IF NOT EXISTS t2 AS SELECT 1",
            "CREATE TABLE t4 AS SELECT id FROM t WHERE 0",
            "SELECT count(*) FROM t4",
            "CREATE TABLE t5 AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
             WHERE x < 3) SELECT x, x * x AS sq FROM c",
            "SELECT * FROM t5 ORDER BY x",
            "INSERT INTO t2 VALUES (3, 'c', 0.5, 1, NULL)",
            "SELECT count(*) FROM t2",
            "@mark",
            "@ours UPDATE t SET name = 'changed'",
            "@ours DROP TABLE t",
            "CREATE TABLE r AS SELECT * FROM t @@ CREATE TABLE r AS SELECT * FROM t AS OF SCN {scn}",
            "SELECT * FROM r ORDER BY id",
            "@ours CREATE TABLE t AS SELECT * FROM t AS OF SCN {scn}",
            "SELECT id, name, v FROM t ORDER BY id",
        ],
    )]);
}

#[test]
fn savepoints() {
    check(&[(
        "savepoints",
        &[
            "CREATE TABLE sp(id INTEGER PRIMARY KEY, v TEXT)",
            "BEGIN",
            "INSERT INTO sp(v) VALUES ('a')",
            "SAVEPOINT one",
            "INSERT INTO sp(v) VALUES ('b')",
            "SAVEPOINT two",
            "INSERT INTO sp(v) VALUES ('c')",
            "SELECT * FROM sp ORDER BY id",
            "ROLLBACK TO two",
            "SELECT * FROM sp ORDER BY id",
            "INSERT INTO sp(v) VALUES ('d')",
            "SELECT * FROM sp ORDER BY id",
            "ROLLBACK TRANSACTION TO SAVEPOINT one",
            "SELECT * FROM sp ORDER BY id",
            "ROLLBACK TO two",
            "INSERT INTO sp(v) VALUES ('e')",
            "RELEASE one",
            "ROLLBACK TO one",
            "COMMIT",
            "SELECT * FROM sp ORDER BY id",
            "SAVEPOINT outer_sp",
            "INSERT INTO sp(v) VALUES ('f')",
            "SAVEPOINT inner_sp",
            "UPDATE sp SET v = 'g' WHERE v = 'f'",
            "RELEASE inner_sp",
            "ROLLBACK TO outer_sp",
            "SELECT * FROM sp ORDER BY id",
            "INSERT INTO sp(v) VALUES ('h')",
            "RELEASE SAVEPOINT outer_sp",
            "SELECT * FROM sp ORDER BY id",
            "ROLLBACK",
            "RELEASE nosuch",
            "SAVEPOINT x",
            "CREATE TABLE made_in_sp(a)",
            "SAVEPOINT y",
            "DROP TABLE made_in_sp",
            "ROLLBACK TO y",
            "INSERT INTO made_in_sp VALUES (1)",
            "RELEASE x",
            "SELECT * FROM made_in_sp",
            "SAVEPOINT z",
            "DELETE FROM sp",
            "RELEASE z",
            "@mark",
            "@ours INSERT INTO sp(v) VALUES ('late')",
            "SELECT count(*) FROM sp @@ SELECT count(*) FROM sp AS OF SCN {scn}",
        ],
    )]);
}

#[test]
fn alter_table_drop_column() {
    check(&[(
        "drop column",
        &[
            "CREATE TABLE d(id INTEGER PRIMARY KEY, a TEXT, b INTEGER DEFAULT 7, c REAL, \
             u TEXT UNIQUE, k INTEGER CHECK (k > 0))",
            "CREATE INDEX d_c ON d(c)",
            "CREATE TABLE child(x INTEGER REFERENCES d(id), y)",
            "CREATE VIEW dv AS SELECT id, a FROM d",
            "INSERT INTO d VALUES (1, 'one', 10, 1.5, 'u1', 1), (2, 'two', NULL, 2.5, 'u2', 2)",
            "@mark",
            "ALTER TABLE d DROP COLUMN b",
            "SELECT * FROM d ORDER BY id",
            "SELECT 1, 'one', 10 @@ SELECT id, a, b FROM d AS OF SCN {scn} WHERE id = 1",
            "INSERT INTO d(id, a, c, u, k) VALUES (3, 'three', 3.5, 'u3', 3)",
            "SELECT * FROM d WHERE c > 2 ORDER BY id",
            "ALTER TABLE d DROP COLUMN id",
            "ALTER TABLE d DROP COLUMN u",
            "ALTER TABLE d DROP COLUMN c",
            "ALTER TABLE d DROP COLUMN k",
            "ALTER TABLE d DROP COLUMN a",
            "ALTER TABLE d DROP COLUMN nosuch",
            "ALTER TABLE child DROP COLUMN x",
            "ALTER TABLE child DROP COLUMN y",
            "SELECT * FROM child",
            "PRAGMA table_info(d)",
            "SELECT * FROM dv ORDER BY id",
        ],
    )]);
}

#[test]
fn common_table_expressions_before_insert_feed_its_select() {
    let script = "CREATE TABLE t(i INTEGER PRIMARY KEY, sq INTEGER);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5)
        INSERT INTO t SELECT i, i * i FROM n;
        WITH big(x) AS (SELECT max(i) FROM t), more(y) AS (SELECT x + 1 FROM big)
        INSERT INTO t WITH inner_cte(z) AS (SELECT y FROM more) SELECT z, z * z FROM inner_cte;
        WITH v(a) AS (SELECT 100) INSERT INTO t VALUES ((SELECT a FROM v), 0);";
    let ours = heliosdb_lite::Connection::open_in_memory().unwrap();
    ours.execute_batch(script).unwrap();
    let theirs = rusqlite::Connection::open_in_memory().unwrap();
    theirs.execute_batch(script).unwrap();
    let q = "SELECT i, sq FROM t ORDER BY i";
    let mine: Vec<(i64, i64)> = ours
        .prepare(q)
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let sqlite: Vec<(i64, i64)> = theirs
        .prepare(q)
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(mine, sqlite);
    assert_eq!(mine.len(), 7);
    // Before UPDATE or DELETE too (tests/update_from.rs has more).
    ours.execute_batch("WITH d(i) AS (SELECT 1) DELETE FROM t WHERE i IN (SELECT i FROM d)")
        .unwrap();
    let left: i64 = ours
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 6);
}
