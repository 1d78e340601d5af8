//! `PRAGMA foreign_key_check` against the bundled SQLite: the rows written with enforcement
//! off whose foreign keys find no parent, in SQLite's columns and order, for one table and
//! for all; parents found under the parent column's collation and affinity; WITHOUT ROWID
//! tables (NULL rowid), missing parent tables, self-references, NULL keys; and after the
//! violations are repaired, nothing.

use heliosdb_lite::types::Value;
use heliosdb_lite::Connection;

const SETUP: &str = "
PRAGMA foreign_keys = OFF;
CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT COLLATE NOCASE UNIQUE);
CREATE TABLE c(x, pid INTEGER REFERENCES p(id), pcode TEXT REFERENCES p(code));
CREATE TABLE w(k TEXT PRIMARY KEY, pid REFERENCES p) WITHOUT ROWID;
CREATE TABLE orphan(a, b REFERENCES missing(z));
CREATE TABLE s(id INTEGER PRIMARY KEY, up REFERENCES s(id));
CREATE TABLE two(a, b, FOREIGN KEY (a, b) REFERENCES pair(x, y));
CREATE TABLE pair(x, y, PRIMARY KEY (x, y));
INSERT INTO p VALUES (1, 'abc'), (2, 'Def');
INSERT INTO c VALUES ('ok', 1, 'ABC'), ('bad pid', 9, 'abc'), ('bad both', 7, 'zzz'),
    ('nulls', NULL, NULL), ('text pid', '2', 'def');
INSERT INTO w VALUES ('a', 1), ('b', 5);
INSERT INTO orphan VALUES (1, 2), (3, NULL);
INSERT INTO s VALUES (1, NULL), (2, 1), (3, 4);
INSERT INTO pair VALUES (1, 2);
INSERT INTO two VALUES (1, 2), (1, 3), (NULL, 3);
";

fn ours(c: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = c.prepare(sql).unwrap();
    let mut rows = stmt.query([]).unwrap();
    let mut out = vec![rows.column_names().join("|")];
    while let Some(r) = rows.next().unwrap() {
        let cells: Vec<String> = (0..4)
            .map(|i| match r.get::<_, Value>(i).unwrap() {
                Value::Null => String::new(),
                Value::Integer(n) => n.to_string(),
                Value::Text(t) => t,
                other => format!("{other:?}"),
            })
            .collect();
        out.push(cells.join("|"));
    }
    out
}

fn sqlite(s: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut stmt = s.prepare(sql).unwrap();
    let mut out = vec![stmt.column_names().join("|")];
    let mut rows = stmt.query([]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let cells: Vec<String> = (0..4)
            .map(|i| match r.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Null => String::new(),
                rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                other => format!("{other:?}"),
            })
            .collect();
        out.push(cells.join("|"));
    }
    out
}

#[test]
fn violations_are_listed_as_sqlite_lists_them() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(SETUP).unwrap();
    let s = rusqlite::Connection::open_in_memory().unwrap();
    s.execute_batch(SETUP).unwrap();
    for table in ["c", "w", "orphan", "s", "two", "p", "pair"] {
        let sql = format!("PRAGMA foreign_key_check({table})");
        assert_eq!(ours(&c, &sql), sqlite(&s, &sql), "{sql}");
    }
    // Every table: SQLite visits them in its hash order, so compare as sets.
    let sql = "PRAGMA foreign_key_check";
    let (mut a, mut b) = (ours(&c, sql), sqlite(&s, sql));
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert_eq!(a.len(), 1 + 7, "{a:?}");
}

#[test]
fn a_repaired_database_has_no_violation_and_unknown_tables_are_errors() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(SETUP).unwrap();
    let e = c
        .execute_batch("PRAGMA foreign_key_check(nosuch)")
        .unwrap_err();
    assert!(e.to_string().contains("nosuch"), "{e}");
    c.execute_batch(
        "DELETE FROM c WHERE x IN ('bad pid', 'bad both'); DELETE FROM w WHERE k = 'b';
         DROP TABLE orphan; UPDATE s SET up = 1 WHERE id = 3; DELETE FROM two WHERE b = 3",
    )
    .unwrap();
    assert_eq!(
        ours(&c, "PRAGMA foreign_key_check"),
        ["table|rowid|parent|fkid"]
    );
}
