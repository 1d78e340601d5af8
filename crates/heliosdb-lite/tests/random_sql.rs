//! Random statements (built from SQL fragments, plus raw noise) against a small database:
//! every one must return a result or an error — never panic — and the database must stay
//! consistent afterwards. A cheap, always-on complement to coverage-guided fuzzing.

use heliosdb_lite::Connection;
use proptest::prelude::*;

const FRAGMENTS: &[&str] = &[
    "SELECT",
    "*",
    "FROM",
    "t",
    "u",
    "WHERE",
    "a",
    "b",
    "c",
    "=",
    "<",
    ">=",
    "<>",
    "AND",
    "OR",
    "NOT",
    "NULL",
    "IS",
    "IN",
    "(",
    ")",
    ",",
    "1",
    "-1",
    "2.5",
    "'x'",
    "x'00'",
    "+",
    "-",
    "*",
    "/",
    "%",
    "||",
    "LIKE",
    "'%a%'",
    "GLOB",
    "BETWEEN",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "AS",
    "INTEGER",
    "TEXT",
    "ORDER",
    "BY",
    "DESC",
    "LIMIT",
    "OFFSET",
    "GROUP",
    "HAVING",
    "count(*)",
    "sum(a)",
    "max(b)",
    "min(c)",
    "avg(a)",
    "group_concat(b)",
    "JOIN",
    "LEFT",
    "ON",
    "UNION",
    "ALL",
    "EXCEPT",
    "INTERSECT",
    "DISTINCT",
    "EXISTS",
    "AS OF SCN",
    "AS OF TIMESTAMP",
    "AS OF TRANSACTION",
    "BEFORE TRANSACTION",
    "'2024-01-01'",
    "now()",
    "INSERT",
    "INTO",
    "VALUES",
    "UPDATE",
    "SET",
    "DELETE",
    "RETURNING",
    "DEFAULT",
    "WITH",
    "abs(a)",
    "substr(b, 2)",
    "coalesce(a, b)",
    "strftime('%s', 'now')",
    "random()",
    "current_scn()",
    "helios_snapshots",
    "rowid",
    ";",
    "?",
    "9223372036854775807",
];

fn statement() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::collection::vec(proptest::sample::select(FRAGMENTS), 1..24)
            .prop_map(|v| v.join(" ")),
        1 => ".{0,64}",
    ]
}

fn db() -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c REAL);
         CREATE INDEX t_b ON t(b);
         CREATE TABLE u (a INTEGER, b TEXT UNIQUE);
         INSERT INTO t VALUES (1, 'one', 1.5), (2, 'two', NULL), (3, NULL, -2);
         INSERT INTO u VALUES (1, 'x'), (NULL, 'y');",
    )
    .unwrap();
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_statements_never_panic(stmts in proptest::collection::vec(statement(), 1..6)) {
        let c = db();
        for s in &stmts {
            // Either outcome is fine; a panic fails the test.
            if let Ok(mut st) = c.prepare(s) {
                let n = st.parameter_count();
                let params: Vec<i64> = (0..n as i64).collect();
                let _ = st.query(heliosdb_lite::params_from_iter(params));
            }
            let _ = c.execute_batch(s);
        }
        let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        prop_assert_eq!(check, "ok");
    }
}
