//! The last of SQLite's built-in functions: `like()` / `glob()` called as functions, the
//! math functions, `soundex`, `subtype` and the build-introspection functions. Values are
//! compared in `functions_vs_sqlite.rs`; here are their error messages, their use on rows
//! read now and `AS OF` (against the bundled SQLite), and the math functions, which the
//! bundled SQLite is built without, against the `sqlite3` shell (3.40 on the build machines,
//! built with `SQLITE_ENABLE_MATH_FUNCTIONS`).

#[path = "dialect/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::{check, errors};
use heliosdb_lite::types::Value;
use heliosdb_lite::Connection;
use std::process::Command;

#[test]
fn errors_have_sqlites_messages() {
    for sql in [
        "SELECT like('a')",
        "SELECT like('a', 'b', 'c', 'd')",
        "SELECT glob('a', 'b', 'c')",
        "SELECT like('a', 'a', 'xy')",
        "SELECT 'a' LIKE 'a' ESCAPE ''",
        "SELECT like(hex(zeroblob(25001)), 'x')",
        "SELECT 'x' GLOB hex(zeroblob(25001))",
        "SELECT likely(1, 2)",
        "SELECT likelihood(1, 2.0)",
        "SELECT likelihood(1, 1)",
        "SELECT soundex()",
        "SELECT sqlite_log(1)",
        "SELECT subtype()",
        "SELECT load_extension('x')",
    ] {
        let (theirs, ours) = errors(sql);
        let theirs = theirs.unwrap_or_else(|| panic!("SQLite accepts {sql}"));
        let ours = ours.unwrap_or_else(|| panic!("we accept {sql}"));
        // rusqlite adds where the error is ("... in SELECT ... at offset 7").
        let message = theirs.split(" in SELECT").next().unwrap_or(&theirs);
        assert!(
            ours.contains(message),
            "{sql}\n    sqlite:   {theirs}\n    heliosdb: {ours}"
        );
    }
}

#[test]
fn pattern_functions_on_rows_now_and_as_of() {
    check(&[(
        "like, glob and soundex over a table",
        &[
            "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, pat TEXT, esc TEXT)",
            "INSERT INTO t VALUES (1, 'Robert', 'r%', NULL), (2, 'a_b', 'a\\_b', '\\'), \
             (3, 'axb', 'a\\_b', '\\'), (4, NULL, '%', NULL), (5, 'Tymczak', '[A-Z]*', NULL), \
             (6, '100%', '100!%', '!'), (7, 12, '1_', NULL)",
            "SELECT id, like(pat, name), glob(pat, name), soundex(name) FROM t ORDER BY id",
            "SELECT id, like(pat, name, esc), name LIKE pat ESCAPE esc FROM t WHERE esc IS NOT NULL ORDER BY id",
            "SELECT id FROM t WHERE like('%T', name) ORDER BY id",
            "SELECT id FROM t WHERE name NOT GLOB '*[0-9]*' ORDER BY id",
            // The table changes in our engine only; SQLite keeps what AS OF reads.
            "@mark",
            "@ours UPDATE t SET name = upper(name) || 'z', pat = pat || '_'",
            "@ours DELETE FROM t WHERE id = 3",
            "SELECT id, like(pat, name), glob(pat, name), soundex(name) FROM t ORDER BY id \
             @@ SELECT id, like(pat, name), glob(pat, name), soundex(name) FROM t AS OF SCN {scn} ORDER BY id",
            "SELECT id, like(pat, name, esc), name LIKE pat ESCAPE esc FROM t WHERE esc IS NOT NULL ORDER BY id \
             @@ SELECT id, like(pat, name, esc), name LIKE pat ESCAPE esc FROM t AS OF SCN {scn} WHERE esc IS NOT NULL ORDER BY id",
            "SELECT group_concat(id) FROM t WHERE glob('[A-Z]*', name) \
             @@ SELECT group_concat(id) FROM t AS OF SCN {scn} WHERE glob('[A-Z]*', name)",
        ],
    )]);
}

/// The `sqlite3` shell, if this machine has one.
fn shell() -> Option<Command> {
    let ok = Command::new("sqlite3")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| Command::new("sqlite3"))
}

/// The rows a script's last statement prints in the shell, each column `quote()`d by the
/// query itself; `Err` with the shell's message if it fails.
fn shell_rows(script: &str) -> Result<Vec<String>, String> {
    let mut cmd = shell().expect("checked by the caller");
    let out = cmd
        .args(["-batch", "-list", "-separator", "|", ":memory:", script])
        .output()
        .map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if !stderr.is_empty() {
        return Err(stderr);
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// Our value as the shell prints `typeof(x)|quote(x)`.
fn show(v: &Value) -> String {
    match v {
        Value::Null => "null|NULL".into(),
        Value::Integer(i) => format!("integer|{i}"),
        Value::Real(r) => format!("real|{r:e}"),
        Value::Text(s) => format!("text|'{}'", s.replace('\'', "''")),
        other => format!("other|{other:?}"),
    }
}

/// True when our `typeof|value` and the shell's `typeof|quote` agree (reals to 1e-13, as
/// the shell prints 15 significant digits).
fn agree(ours: &str, theirs: &str) -> bool {
    let (Some((ot, ov)), Some((tt, tv))) = (ours.split_once('|'), theirs.split_once('|')) else {
        return false;
    };
    if ot != tt {
        return false;
    }
    if ot != "real" {
        return ov == tv;
    }
    match (ov.parse::<f64>(), tv.parse::<f64>()) {
        (Ok(a), Ok(b)) if a.is_infinite() || b.is_infinite() => a == b,
        (Ok(a), Ok(b)) => (a - b).abs() <= 1e-13 * a.abs().max(b.abs()).max(1e-300),
        _ => false,
    }
}

/// Math function calls: ordinary values, domain edges, text that is or is not a number,
/// blobs, NULLs and the wrong number of arguments.
const MATH: &[&str] = &[
    "pi()",
    "acos(0.5)",
    "acos(2)",
    "acosh(1)",
    "acosh(0.5)",
    "asin(1)",
    "asinh(-2)",
    "atan(1)",
    "atan2(1, -1)",
    "atan2(0, 0)",
    "atan2('1', '2')",
    "atan2(1, 'x')",
    "atanh(0.5)",
    "atanh(1)",
    "ceil(1.2)",
    "ceil(-1.2)",
    "ceil(5)",
    "ceil('5')",
    "ceil('5.0')",
    "ceil(' 7 ')",
    "ceil('5x')",
    "ceiling(2.5)",
    "ceil(-0.5)",
    "cos(0)",
    "cosh(1)",
    "degrees(pi())",
    "exp(1)",
    "exp(1000)",
    "exp(-1000)",
    "floor(-1.5)",
    "floor(9223372036854775807)",
    "floor(x'35')",
    "floor(NULL)",
    "ln(1)",
    "ln(0)",
    "ln(-1)",
    "ln(2.718281828459045)",
    "log(100)",
    "log(0)",
    "log(2, 8)",
    "log(10, 1000)",
    "log(1, 8)",
    "log(0.5, 8)",
    "log(2, 0)",
    "log(2, -8)",
    "log(2, '8abc')",
    "log(2, NULL)",
    "log(NULL, 8)",
    "log('x', 8)",
    "log10(1000)",
    "log10(-1)",
    "log2(1024)",
    "log2(0.5)",
    "mod(7, 3)",
    "mod(-7, 3)",
    "mod(7.5, 2)",
    "mod(7, 0)",
    "mod(7, -2.5)",
    "mod('7', '3')",
    "mod(NULL, 3)",
    "pow(2, 10)",
    "pow(2, 0.5)",
    "pow(-8, 1.0/3)",
    "pow(0, -1)",
    "pow(0, 0)",
    "power(10, -2)",
    "radians(180)",
    "sin(pi()/2)",
    "sinh(1)",
    "sqrt(16)",
    "sqrt(2)",
    "sqrt(-1)",
    "sqrt('9')",
    "sqrt('nine')",
    "sqrt(x'39')",
    "tan(0.5)",
    "tanh(10)",
    "trunc(2.7)",
    "trunc(-2.7)",
    "trunc(3)",
    "trunc('-3')",
    "trunc(1e300)",
    "sqrt()",
    "pi(1)",
    "log(1, 2, 3)",
    "mod(1)",
];

#[test]
fn math_functions_agree_with_the_sqlite3_shell() {
    if shell().is_none() {
        eprintln!("skipped: no sqlite3 shell on this machine");
        return;
    }
    let ours = Connection::open_in_memory().unwrap();
    let mut failures = Vec::new();
    for expr in MATH {
        let theirs = shell_rows(&format!("SELECT typeof({expr}), quote({expr});"));
        let got = ours
            .query_row(&format!("SELECT {expr}"), [], |r| r.get::<_, Value>(0))
            .map(|v| show(&v));
        match (&theirs, &got) {
            (Ok(t), Ok(g)) if t.len() == 1 && agree(g, &t[0]) => {}
            (Err(_), Err(_)) => {}
            _ => failures.push(format!(
                "{expr}\n    sqlite3:  {theirs:?}\n    heliosdb: {got:?}"
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        MATH.len(),
        failures.join("\n")
    );
}

/// Math calls over a table's columns, for [`math_functions_on_rows_now_and_as_of`].
const ROW_MATH: &[&str] = &[
    "sqrt(x)",
    "ceil(x)",
    "floor(x)",
    "trunc(x)",
    "ln(x)",
    "log(b, x)",
    "pow(x, 2)",
    "mod(x, 3)",
    "exp(x / 10)",
    "atan2(x, b)",
    "degrees(x)",
    "sign(x)",
];

/// The query of [`ROW_MATH`] over `from`; for the shell each value is `typeof|quote`.
fn row_math_query(from: &str, for_shell: bool) -> String {
    let columns: Vec<String> = ROW_MATH
        .iter()
        .map(|e| match for_shell {
            true => format!("typeof({e}) || '|' || quote({e})"),
            false => e.to_string(),
        })
        .collect();
    format!("SELECT {} FROM {from} ORDER BY id", columns.join(", "))
}

#[test]
fn math_functions_on_rows_now_and_as_of() {
    if shell().is_none() {
        eprintln!("skipped: no sqlite3 shell on this machine");
        return;
    }
    let setup = "CREATE TABLE t(id INTEGER PRIMARY KEY, x, b REAL); \
                 INSERT INTO t VALUES (1, 4, 2), (2, -2.5, 10), (3, '9', 3), (4, NULL, 2), \
                 (5, 'abc', 2), (6, 0, 0.5), (7, 1e10, 10)";
    let change = "UPDATE t SET x = x * 3 + 1, b = 3; DELETE FROM t WHERE id = 2";
    let before = shell_rows(&format!("{setup}; {}", row_math_query("t", true))).unwrap();
    let after = shell_rows(&format!("{setup}; {change}; {}", row_math_query("t", true))).unwrap();
    let ours = Connection::open_in_memory().unwrap();
    ours.execute_batch(setup).unwrap();
    let scn: i64 = ours
        .query_row("SELECT current_scn()", [], |r| r.get(0))
        .unwrap();
    ours.execute_batch(change).unwrap();
    let mut failures = Vec::new();
    for (label, from, theirs) in [
        ("as of", format!("t AS OF SCN {scn}"), &before),
        ("now", "t".to_string(), &after),
    ] {
        let mut stmt = ours.prepare(&row_math_query(&from, false)).unwrap();
        let rows = stmt.query([]).unwrap().into_values().unwrap();
        if rows.len() != theirs.len() {
            failures.push(format!(
                "{label}: {} rows, sqlite3 {}",
                rows.len(),
                theirs.len()
            ));
            continue;
        }
        for (row, line) in rows.iter().zip(theirs) {
            let cells: Vec<&str> = line.split('|').collect();
            for (k, pair) in cells.chunks(2).enumerate() {
                let (theirs, got) = (pair.join("|"), show(&row[k]));
                if !agree(&got, &theirs) {
                    failures.push(format!(
                        "{label}: {}: sqlite3 {theirs}, heliosdb {got}",
                        ROW_MATH[k]
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
