//! `UPDATE ... FROM` (SQLite 3.33+) and common table expressions before UPDATE and DELETE,
//! statement by statement against the bundled SQLite (notation of `sqlite_dialect.rs`), plus
//! parameters and a FROM table read `AS OF` a past point through the API.

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::{check, with};
use heliosdb_lite::types::Value;
use heliosdb_lite::{params, Connection};

const SHOP: &[&str] = &[
    "CREATE TABLE inv(item TEXT PRIMARY KEY, qty INTEGER, note TEXT)",
    "CREATE TABLE sales(id INTEGER PRIMARY KEY, item TEXT, n INTEGER)",
    "CREATE TABLE price(item TEXT, p REAL, since INTEGER)",
    "INSERT INTO inv VALUES ('apple', 10, NULL), ('pear', 5, NULL), ('plum', 7, 'x'), ('fig', 1, NULL)",
    "INSERT INTO sales(item, n) VALUES ('apple', 2), ('apple', 3), ('pear', 1), ('kiwi', 9)",
    "INSERT INTO price VALUES ('apple', 1.5, 1), ('pear', 2.25, 1), ('plum', NULL, 2)",
];

#[test]
fn update_from_joins_the_target_with_other_tables() {
    let script = with(
        SHOP,
        &[
            "UPDATE inv SET qty = qty - d.total FROM (SELECT item, sum(n) AS total FROM sales GROUP BY item) AS d \
             WHERE d.item = inv.item",
            "SELECT changes()",
            "SELECT * FROM inv ORDER BY item",
            "UPDATE inv AS i SET note = i.item || ' at ' || price.p FROM price WHERE price.item = i.item AND price.p IS NOT NULL",
            "SELECT * FROM inv ORDER BY item",
            "UPDATE inv SET note = s.item || '/' || p.since FROM sales AS s JOIN price AS p ON p.item = s.item \
             WHERE s.item = inv.item AND s.n = 1",
            "SELECT * FROM inv ORDER BY item",
            "UPDATE inv SET qty = 0 FROM sales WHERE sales.item = 'none'",
            "SELECT changes()",
            "UPDATE inv SET qty = qty + 100 FROM sales, price WHERE sales.item = inv.item AND price.item = sales.item AND price.since = 1",
            "SELECT * FROM inv ORDER BY item",
            "UPDATE inv SET note = coalesce(p.p, 'none') FROM inv AS other LEFT JOIN price AS p ON p.item = other.item \
             WHERE other.item = inv.item",
            "SELECT * FROM inv ORDER BY item",
        ],
    );
    check(&[("shop", &script)]);
}

#[test]
fn update_from_self_joins_composite_keys_triggers_and_errors() {
    check(&[
        (
            "self join",
            &[
                "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)",
                "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')",
                "UPDATE t SET v = t2.v FROM t AS t2 WHERE t2.id = t.id + 1",
                "SELECT * FROM t ORDER BY id",
                "UPDATE t SET v = 1 FROM t WHERE t.id = 1",
                "UPDATE t SET nope = 1 FROM t AS u WHERE u.id = t.id",
                "UPDATE t SET v = u.missing FROM t AS u WHERE u.id = t.id",
                "UPDATE t SET v = 'z' FROM nowhere WHERE 1",
                "SELECT * FROM t ORDER BY id",
            ],
        ),
        (
            "composite key, rowid table, triggers",
            &[
                "CREATE TABLE k(a TEXT, b INTEGER, v, PRIMARY KEY (a, b))",
                "CREATE TABLE r(x, y)",
                "CREATE TABLE src(a, b, v)",
                "CREATE TABLE log(n INTEGER PRIMARY KEY, msg)",
                "CREATE TRIGGER ku AFTER UPDATE ON k BEGIN INSERT INTO log(msg) VALUES (OLD.a || OLD.b || ':' || OLD.v || '->' || NEW.v); END",
                "INSERT INTO k VALUES ('a', 1, 0), ('a', 2, 0), ('b', 1, 0)",
                "INSERT INTO r VALUES (1, 0), (2, 0), (1, 0)",
                "INSERT INTO src VALUES ('a', 2, 'two'), ('b', 1, 'one'), ('c', 1, 'none')",
                "UPDATE k SET v = src.v FROM src WHERE src.a = k.a AND src.b = k.b",
                "SELECT * FROM k ORDER BY a, b",
                "SELECT msg FROM log ORDER BY n",
                "UPDATE r SET y = src.v FROM src WHERE src.b = r.x AND src.a = 'b'",
                "SELECT rowid, * FROM r ORDER BY rowid",
                "UPDATE k SET b = 2 FROM src WHERE src.a = k.a AND k.b = 1 AND src.b = 2",
                "SELECT * FROM k ORDER BY a, b",
                "UPDATE OR IGNORE k SET b = 2 FROM src WHERE src.a = k.a AND k.b = 1 AND src.b = 2",
                "SELECT changes()",
            ],
        ),
        (
            "inside a trigger",
            &[
                "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER)",
                "CREATE TABLE d(id INTEGER, delta INTEGER)",
                "CREATE TRIGGER di AFTER INSERT ON d BEGIN \
                 UPDATE t SET v = v + x.s FROM (SELECT id, sum(delta) AS s FROM d WHERE id = NEW.id GROUP BY id) AS x \
                 WHERE x.id = t.id; END",
                "INSERT INTO t VALUES (1, 0), (2, 0)",
                "INSERT INTO d VALUES (1, 5)",
                "INSERT INTO d VALUES (1, 1), (2, 3)",
                "SELECT * FROM t ORDER BY id",
            ],
        ),
    ]);
}

#[test]
fn common_table_expressions_before_update_and_delete() {
    check(&[(
        "with",
        &[
            "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, tag TEXT)",
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10) \
             INSERT INTO t SELECT i, i * i, NULL FROM n",
            "WITH big(m) AS (SELECT max(v) FROM t) UPDATE t SET tag = 'max' WHERE v = (SELECT m FROM big)",
            "WITH odd(i) AS (SELECT id FROM t WHERE id % 2 = 1) UPDATE t SET v = -v WHERE id IN (SELECT i FROM odd)",
            "SELECT * FROM t ORDER BY id",
            "WITH s(id, label) AS (VALUES (2, 'two'), (4, 'four')) UPDATE t SET tag = s.label FROM s WHERE s.id = t.id",
            "SELECT * FROM t ORDER BY id",
            "WITH RECURSIVE evens(i) AS (SELECT 2 UNION ALL SELECT i + 2 FROM evens WHERE i < 6) \
             DELETE FROM t WHERE id IN (SELECT i FROM evens)",
            "SELECT changes()",
            "SELECT * FROM t ORDER BY id",
            "WITH c(x) AS (SELECT 1) DELETE FROM t WHERE id = (SELECT x FROM c) RETURNING id",
            "SELECT * FROM t ORDER BY id",
            "WITH c(x) AS (SELECT 1) UPDATE c SET x = 2",
            "WITH c(x) AS (SELECT 1) DELETE FROM c",
            "WITH c(x) AS (SELECT 1) UPDATE t SET v = c.nope FROM c",
            "SELECT * FROM t ORDER BY id",
        ],
    )]);
}

/// Parameters keep their positions; a FROM table read AS OF a past point restores values.
#[test]
fn parameters_and_history_in_from() {
    let ours = Connection::open_in_memory().unwrap();
    let theirs = rusqlite::Connection::open_in_memory().unwrap();
    let setup = "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
                 CREATE TABLE s(id INTEGER, v TEXT);
                 INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');
                 INSERT INTO s VALUES (1, 'x'), (2, 'y'), (3, 'z');";
    ours.execute_batch(setup).unwrap();
    theirs.execute_batch(setup).unwrap();
    let sql = "UPDATE t SET v = ? || s.v FROM s WHERE s.id = t.id AND s.id >= ?2 AND t.v <> ?";
    let n_ours = ours.execute(sql, params!["new ", 2, "c"]).unwrap();
    let n_theirs = theirs
        .execute(sql, rusqlite::params!["new ", 2, "c"])
        .unwrap();
    assert_eq!(n_ours, n_theirs);
    let read = |sql: &str| -> Vec<Vec<Value>> {
        ours.prepare(sql)
            .unwrap()
            .query([])
            .unwrap()
            .into_values()
            .unwrap()
    };
    let expected: Vec<(i64, String)> = theirs
        .prepare("SELECT id, v FROM t ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let got: Vec<(i64, String)> = read("SELECT id, v FROM t ORDER BY id")
        .into_iter()
        .map(|r| match (&r[0], &r[1]) {
            (Value::Integer(i), Value::Text(s)) => (*i, s.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, expected);
    // Put back the values of a point before the change, from history.
    let before: i64 = ours
        .query_row("SELECT current_scn()", [], |r| r.get(0))
        .unwrap();
    ours.execute("UPDATE t SET v = 'gone'", []).unwrap();
    let restored = ours
        .execute(
            "UPDATE t SET v = h.v FROM t AS OF SCN ? AS h WHERE h.id = t.id AND h.id <> 1",
            params![before],
        )
        .unwrap();
    assert_eq!(restored, 2);
    let text = |s: &str| Value::Text(s.to_string());
    assert_eq!(
        read("SELECT v FROM t ORDER BY id"),
        vec![vec![text("gone")], vec![text("new y")], vec![text("c")]]
    );
    // The target itself cannot be read AS OF.
    assert!(ours
        .execute("UPDATE t AS OF SCN 1 SET v = 1 FROM s", [])
        .is_err());
}
