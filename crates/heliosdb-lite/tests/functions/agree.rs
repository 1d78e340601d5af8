//! Runs `SELECT <expr>` through HeliosDB and the bundled SQLite (rusqlite) and compares the
//! value and its type.

#[path = "../differential/compare.rs"]
#[allow(dead_code)]
mod compare;

use heliosdb_lite::types::Value;
use heliosdb_lite::Connection;

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Real(x), Value::Real(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
        _ => a == b,
    }
}

/// Fails listing every expression (grouped by function) whose value differs; both engines
/// refusing an expression counts as agreement.
pub fn assert_agree(cases: &[(&str, &[&str])]) {
    let ours = Connection::open_in_memory().unwrap();
    let theirs = rusqlite::Connection::open_in_memory().unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (function, exprs) in cases {
        for expr in *exprs {
            let sql = format!("SELECT {expr}");
            let expected = theirs
                .query_row(&sql, [], |r| r.get::<_, rusqlite::types::Value>(0))
                .map(compare::from_sqlite);
            let got = ours.query_row(&sql, [], |r| r.get::<_, Value>(0));
            checked += 1;
            match (&expected, &got) {
                (Ok(e), Ok(g)) if same(e, g) => {}
                (Err(_), Err(_)) => {}
                _ => failures.push(format!(
                    "{function}: {sql}\n  sqlite: {expected:?}\n  heliosdb: {got:?}"
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} expressions differ from SQLite:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
