//! The math functions SQLite builds with `SQLITE_ENABLE_MATH_FUNCTIONS` (on in the sqlite3
//! shell and most distributions): trigonometry, `exp`, `ln`, `log`, `pow`, `mod`, `ceil`,
//! `floor`, `trunc`, `sqrt`, `degrees`, `radians`, `pi`.
//!
//! SQLite's rules: an argument counts only if it is a number or text that is wholly one
//! (`'4'`, `' 2.5 '`); anything else (other text, a blob, NULL) makes the result NULL. The
//! result is a real, and a result that is not a number (`sqrt(-1)`, `mod(1, 0)`) is NULL;
//! infinities stay. `ceil`, `floor` and `trunc` return an integer argument unchanged.

use super::ScalarFn;
use crate::sql::value::{parse_numeric_text, Value};

/// The number an argument is, as SQLite's `sqlite3_value_numeric_type` sees it: numbers as
/// they are, text that is wholly a number converted, nothing for anything else.
fn numeric(v: &Value) -> Option<Value> {
    match v {
        Value::Integer(_) | Value::Real(_) => Some(v.clone()),
        Value::Decimal(d) => Some(Value::Real(super::decimal_to_f64(d))),
        Value::Text(s) => parse_numeric_text(s),
        Value::Null | Value::Blob(_) | Value::Timestamp(_) => None,
    }
}

fn real(x: f64) -> Value {
    if x.is_nan() {
        Value::Null
    } else {
        Value::Real(x)
    }
}

/// Computes math function `f` (a math function; the caller dispatches only those).
pub fn call(f: ScalarFn, args: &[Value]) -> Value {
    use ScalarFn::*;
    match f {
        Pi => return Value::Real(std::f64::consts::PI),
        Log => return log(args),
        Atan2 | Pow | Mod => {
            let (Some(a), Some(b)) = (numeric(&args[0]), numeric(&args[1])) else {
                return Value::Null;
            };
            let (a, b) = (a.as_f64(), b.as_f64());
            return real(match f {
                Atan2 => a.atan2(b),
                Pow => a.powf(b),
                // C's fmod: the sign of the dividend, as Rust's `%` on floats.
                _ => a % b,
            });
        }
        _ => {}
    }
    let Some(n) = args.first().and_then(numeric) else {
        return Value::Null;
    };
    if matches!(f, Ceil | Floor | Trunc) {
        if let Value::Integer(_) = n {
            return n;
        }
    }
    let x = n.as_f64();
    real(match f {
        Acos => x.acos(),
        Acosh => x.acosh(),
        Asin => x.asin(),
        Asinh => x.asinh(),
        Atan => x.atan(),
        Atanh => x.atanh(),
        Ceil => x.ceil(),
        Cos => x.cos(),
        Cosh => x.cosh(),
        Degrees => x * (180.0 / std::f64::consts::PI),
        Exp => x.exp(),
        Floor => x.floor(),
        Ln => return logarithm(x, f64::ln),
        Log10 => return logarithm(x, f64::log10),
        Log2 => return logarithm(x, f64::log2),
        Radians => x * (std::f64::consts::PI / 180.0),
        Sin => x.sin(),
        Sinh => x.sinh(),
        Sqrt => x.sqrt(),
        Tan => x.tan(),
        Tanh => x.tanh(),
        _ => x.trunc(),
    })
}

/// A logarithm of a positive number; NULL for zero and negatives (SQLite checks first).
fn logarithm(x: f64, f: fn(f64) -> f64) -> Value {
    if x > 0.0 {
        real(f(x))
    } else {
        Value::Null
    }
}

/// `log(x)` (base 10) and `log(b, x)`: NULL unless `b` and `x` are positive and `b` is
/// not 1. As in SQLite, only the base must be a number; `x` is read as a real whatever it
/// is (`log(2, '8abc')` is 3.0).
fn log(args: &[Value]) -> Value {
    let Some(first) = args.first().and_then(numeric) else {
        return Value::Null;
    };
    let first = first.as_f64();
    if first <= 0.0 {
        return Value::Null;
    }
    let Some(x) = args.get(1) else {
        return real(first.log10());
    };
    let base = first.ln();
    let x = x.as_f64();
    if base <= 0.0 || x <= 0.0 {
        return Value::Null;
    }
    real(x.ln() / base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_rules() {
        assert_eq!(call(ScalarFn::Sqrt, &[Value::Integer(4)]), Value::Real(2.0));
        assert_eq!(call(ScalarFn::Sqrt, &[Value::Integer(-1)]), Value::Null);
        assert_eq!(call(ScalarFn::Sqrt, &[Value::from("x")]), Value::Null);
        assert_eq!(call(ScalarFn::Ceil, &[Value::from("5")]), Value::Integer(5));
        assert_eq!(
            call(ScalarFn::Floor, &[Value::Real(-1.5)]),
            Value::Real(-2.0)
        );
        assert_eq!(
            call(ScalarFn::Mod, &[Value::Integer(1), Value::Integer(0)]),
            Value::Null
        );
        assert_eq!(
            call(ScalarFn::Log, &[Value::Integer(2), Value::Integer(8)]),
            Value::Real(3.0)
        );
        assert_eq!(call(ScalarFn::Ln, &[Value::Integer(0)]), Value::Null);
    }
}
