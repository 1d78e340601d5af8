//! Running statements in both engines and comparing their answers.

use heliosdb_lite::types::Value;
use std::cmp::Ordering;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// An engine's answer to a query.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Number of result columns.
    pub ncols: usize,
    /// The rows, in the order the engine returned them.
    pub rows: Vec<Vec<Value>>,
}

/// How two answers may differ and still agree.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Compare rows in order (the query's ORDER BY is total); otherwise as multisets.
    pub ordered: bool,
    /// An integer and a real agree when numerically equal: sum, avg and total may
    /// legitimately differ in result type when engines add in a different order.
    pub lenient_numeric: bool,
}

impl Rules {
    /// The rules for a query compared as a multiset: lenient on numbers only when it uses
    /// sum, avg or total.
    pub fn for_unordered(sql: &str) -> Rules {
        let lower = sql.to_ascii_lowercase();
        Rules {
            ordered: false,
            lenient_numeric: ["sum(", "avg(", "total("].iter().any(|f| lower.contains(f)),
        }
    }
}

/// SQLite's value as ours.
pub fn from_sqlite(v: rusqlite::types::Value) -> Value {
    match v {
        rusqlite::types::Value::Null => Value::Null,
        rusqlite::types::Value::Integer(i) => Value::Integer(i),
        rusqlite::types::Value::Real(r) => Value::Real(r),
        rusqlite::types::Value::Text(s) => Value::Text(s),
        rusqlite::types::Value::Blob(b) => Value::Blob(b),
    }
}

/// A panic's message.
fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(non-string panic)".to_string())
}

/// Runs a script in SQLite.
pub fn setup_sqlite(conn: &rusqlite::Connection, sql: &str) -> Result<(), String> {
    SQLITE_STEPS.with(|s| s.set(0));
    conn.execute_batch(sql).map_err(|e| e.to_string())
}

/// Runs a script in HeliosDB; a panic becomes an error (the caller then drops the
/// connection, whose locks it may have poisoned).
pub fn setup_ours(conn: &heliosdb_lite::Connection, sql: &str) -> Result<(), String> {
    match catch_unwind(AssertUnwindSafe(|| conn.execute_batch(sql))) {
        Ok(r) => r.map_err(|e| format!("error: {e}")),
        Err(p) => Err(format!("PANIC: {}", panic_message(p))),
    }
}

/// Progress callbacks (one per 1,000 virtual-machine steps) a query may take in SQLite
/// before it is interrupted: a generated query can be huge by chance (a recursive CTE with a
/// large computed LIMIT over a cross join), and one filled the disk with SQLite's temporary
/// b-trees. An interrupted query counts as one SQLite rejects (the case is skipped).
const SQLITE_STEP_BUDGET: u64 = 20_000;

thread_local! {
    /// Progress callbacks of the SQLite query running on this thread.
    static SQLITE_STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// An in-memory SQLite database whose queries stop at [`SQLITE_STEP_BUDGET`].
pub fn open_sqlite() -> rusqlite::Connection {
    let conn = rusqlite::Connection::open_in_memory().expect("sqlite opens");
    conn.progress_handler(
        1000,
        Some(|| {
            SQLITE_STEPS.with(|s| {
                s.set(s.get() + 1);
                s.get() > SQLITE_STEP_BUDGET
            })
        }),
    );
    conn
}

/// Runs a query in SQLite.
pub fn query_sqlite(conn: &rusqlite::Connection, sql: &str) -> Result<Answer, String> {
    SQLITE_STEPS.with(|s| s.set(0));
    let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
    let ncols = stmt.column_count();
    let rows = stmt
        .query_map([], |r| {
            (0..ncols)
                .map(|i| r.get::<_, rusqlite::types::Value>(i).map(from_sqlite))
                .collect::<rusqlite::Result<Vec<Value>>>()
        })
        .map_err(|e| e.to_string())?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| e.to_string())?;
    Ok(Answer { ncols, rows })
}

/// Runs a query in HeliosDB; a panic becomes an error starting with `PANIC`.
pub fn query_ours(conn: &heliosdb_lite::Connection, sql: &str) -> Result<Answer, String> {
    let run = || -> heliosdb_lite::Result<Answer> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query([])?;
        let ncols = rows.column_names().len();
        Ok(Answer {
            ncols,
            rows: rows.into_values()?,
        })
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(r) => r.map_err(|e| format!("error: {e}")),
        Err(p) => Err(format!("PANIC: {}", panic_message(p))),
    }
}

/// Reals agree within a relative 1e-9.
fn close(x: f64, y: f64) -> bool {
    x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
}

/// Whether two values agree under `lenient_numeric`.
fn same_value(a: &Value, b: &Value, lenient_numeric: bool) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Integer(x), Value::Integer(y)) => x == y,
        (Value::Real(x), Value::Real(y)) => close(*x, *y),
        (Value::Integer(i), Value::Real(r)) | (Value::Real(r), Value::Integer(i)) => {
            lenient_numeric && close(*i as f64, *r)
        }
        (Value::Text(x), Value::Text(y)) => x == y,
        (Value::Blob(x), Value::Blob(y)) => x == y,
        // Decimal and timestamp values never come from the generated schemas.
        _ => false,
    }
}

/// A canonical order of values for sorting multisets: NULL, numbers by value, text, blobs,
/// anything else. Integers come before equal reals unless `lenient_numeric`, where 2 and 2.0
/// must sort together because either engine may return either.
fn canonical(a: &Value, b: &Value, lenient_numeric: bool) -> Ordering {
    /// Rank of the storage class, with integers and reals together.
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Integer(_) | Value::Real(_) => 1,
            Value::Text(_) => 2,
            Value::Blob(_) => 3,
            _ => 4,
        }
    }
    /// A number as a float, and whether it is a real.
    fn num(v: &Value) -> (f64, bool) {
        match v {
            Value::Integer(i) => (*i as f64, false),
            Value::Real(r) => (*r, true),
            _ => (0.0, false),
        }
    }
    /// A number's exact value where it is an integer (an integral real included).
    fn exact(v: &Value) -> Option<i128> {
        match v {
            Value::Integer(i) => Some(i128::from(*i)),
            // Reals of magnitude past 2^126 would not fit; none are integers' doubles.
            Value::Real(r) if r.fract() == 0.0 && r.abs() < 1e38 => Some(*r as i128),
            _ => None,
        }
    }
    rank(a).cmp(&rank(b)).then_with(|| match (a, b) {
        // Exactly: near 2^63 distinct integers are one double, and a sort that finds them
        // equal may order two equal multisets differently (seed 20261601, case 5007).
        (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        (Value::Blob(x), Value::Blob(y)) => x.cmp(y),
        _ if rank(a) == 1 => {
            let (x, xr) = num(a);
            let (y, yr) = num(b);
            // partial_cmp, not total_cmp: -0.0 and 0.0 are one number (and never NaN here).
            let by_value = x.partial_cmp(&y).unwrap_or(Ordering::Equal);
            if lenient_numeric {
                // Numbers one double apart may still be distinct integers (near 2^63): ties
                // are broken by exact value, an integral real counting as its integer, so
                // that the order stays transitive (MIN + 4 < MIN + 10, both equal to the real
                // -2^63 as doubles: seed 33, case 207404) and 2 still sorts with 2.0.
                by_value.then_with(|| exact(a).cmp(&exact(b)))
            } else {
                by_value.then(xr.cmp(&yr))
            }
        }
        _ => format!("{a:?}").cmp(&format!("{b:?}")),
    })
}

/// Rows in canonical order.
fn sorted(rows: &[Vec<Value>], lenient_numeric: bool) -> Vec<Vec<Value>> {
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| {
        a.iter()
            .zip(b)
            .map(|(x, y)| canonical(x, y, lenient_numeric))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    rows
}

/// `None` when `got` agrees with `expected` under `rules`, otherwise what differs.
pub fn difference(expected: &Answer, got: &Answer, rules: Rules) -> Option<String> {
    if expected.ncols != got.ncols {
        return Some(format!(
            "column count: sqlite {}, heliosdb {}",
            expected.ncols, got.ncols
        ));
    }
    if expected.rows.len() != got.rows.len() {
        return Some(format!(
            "row count: sqlite {}, heliosdb {}",
            expected.rows.len(),
            got.rows.len()
        ));
    }
    let (e, g) = if rules.ordered {
        (expected.rows.clone(), got.rows.clone())
    } else {
        (
            sorted(&expected.rows, rules.lenient_numeric),
            sorted(&got.rows, rules.lenient_numeric),
        )
    };
    for (i, (er, gr)) in e.iter().zip(&g).enumerate() {
        let same = er.len() == gr.len()
            && er
                .iter()
                .zip(gr)
                .all(|(x, y)| same_value(x, y, rules.lenient_numeric));
        if !same {
            let how = if rules.ordered { "row" } else { "sorted row" };
            return Some(format!(
                "{how} {i}: sqlite {}, heliosdb {}",
                show_row(er),
                show_row(gr)
            ));
        }
    }
    None
}

/// A value as SQL would write it (reals always with a point, so 2.0 is not 2).
pub fn show_value(v: &Value) -> String {
    match v {
        Value::Null => "NULL".to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) => format!("{r:?}"),
        Value::Text(s) => format!("'{s}'"),
        other => format!("{other:?}"),
    }
}

/// A row as `(v1, v2, ...)`.
pub fn show_row(row: &[Value]) -> String {
    let parts: Vec<String> = row.iter().map(show_value).collect();
    format!("({})", parts.join(", "))
}

/// An answer for a report: row count and the first rows.
pub fn show_answer(a: &Result<Answer, String>) -> String {
    /// Rows shown before eliding the rest.
    const SHOWN: usize = 30;
    match a {
        Err(e) => e.clone(),
        Ok(a) => {
            let mut s = format!("{} rows x {} columns:", a.rows.len(), a.ncols);
            for r in a.rows.iter().take(SHOWN) {
                s += &format!(" {}", show_row(r));
            }
            if a.rows.len() > SHOWN {
                s += " ...";
            }
            s
        }
    }
}
