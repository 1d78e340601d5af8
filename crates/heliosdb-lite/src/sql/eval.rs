//! Scalar expression semantics: arithmetic, comparison and CAST as SQLite has them (LIKE and
//! GLOB are in `functions/pattern.rs`).

use super::plan::{BinOp, CmpOp};
use super::value::{format_real, text_to_number, Affinity, Value};
use crate::error::{Error, Result};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;
use std::cmp::Ordering;

/// Applies an arithmetic or string operator.
pub fn binary(op: BinOp, a: Value, b: Value) -> Result<Value> {
    if a.is_null() || b.is_null() {
        return Ok(Value::Null);
    }
    if op == BinOp::Concat {
        let mut s = a.to_text().unwrap_or_default();
        s.push_str(&b.to_text().unwrap_or_default());
        return Ok(Value::Text(s));
    }
    if matches!(op, BinOp::BitAnd | BinOp::BitOr | BinOp::Shl | BinOp::Shr) {
        let (x, y) = (a.as_i64(), b.as_i64());
        return Ok(Value::Integer(match op {
            BinOp::BitAnd => x & y,
            BinOp::BitOr => x | y,
            BinOp::Shl => shift(x, y),
            _ => shift(x, y.saturating_neg()),
        }));
    }
    let (a, b) = (a.to_number(), b.to_number());
    match (&a, &b) {
        (Value::Integer(x), Value::Integer(y)) => Ok(int_op(op, *x, *y)),
        (Value::Decimal(_), Value::Real(_)) | (Value::Real(_), Value::Decimal(_)) => {
            Ok(real_op(op, a.as_f64(), b.as_f64()))
        }
        (Value::Decimal(_), _) | (_, Value::Decimal(_)) => decimal_op(op, &a, &b),
        _ => Ok(real_op(op, a.as_f64(), b.as_f64())),
    }
}

/// `a op b` for two integers and an arithmetic operator (what [`binary`] computes for
/// them), reading the operands in place; `None` for other operands or operators.
pub fn integer_arithmetic(op: BinOp, a: &Value, b: &Value) -> Option<Value> {
    match (a, b) {
        (Value::Integer(x), Value::Integer(y))
            if matches!(
                op,
                BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod
            ) =>
        {
            Some(int_op(op, *x, *y))
        }
        _ => None,
    }
}

fn shift(x: i64, by: i64) -> i64 {
    if by >= 64 {
        0
    } else if by >= 0 {
        x.wrapping_shl(by as u32)
    } else if by <= -64 {
        if x < 0 {
            -1
        } else {
            0
        }
    } else {
        x >> (-by)
    }
}

fn int_op(op: BinOp, x: i64, y: i64) -> Value {
    let overflow = || real_op(op, x as f64, y as f64);
    match op {
        BinOp::Add => x.checked_add(y).map_or_else(overflow, Value::Integer),
        BinOp::Sub => x.checked_sub(y).map_or_else(overflow, Value::Integer),
        BinOp::Mul => x.checked_mul(y).map_or_else(overflow, Value::Integer),
        BinOp::Div => {
            if y == 0 {
                Value::Null
            } else {
                x.checked_div(y).map_or_else(overflow, Value::Integer)
            }
        }
        BinOp::Mod => {
            if y == 0 {
                Value::Null
            } else {
                Value::Integer(x.checked_rem(y).unwrap_or(0))
            }
        }
        _ => Value::Null,
    }
}

fn real_op(op: BinOp, x: f64, y: f64) -> Value {
    let r = match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => {
            if y == 0.0 {
                return Value::Null;
            }
            x / y
        }
        BinOp::Mod => {
            // SQLite computes % on integers, then returns a real if an operand was real.
            let (xi, yi) = (x as i64, y as i64);
            if yi == 0 {
                return Value::Null;
            }
            (xi.checked_rem(yi).unwrap_or(0)) as f64
        }
        _ => return Value::Null,
    };
    if r.is_nan() {
        Value::Null
    } else {
        Value::Real(r)
    }
}

fn to_decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Decimal(d) => Some(*d),
        Value::Integer(i) => Some(Decimal::from(*i)),
        Value::Real(r) => Decimal::from_f64(*r),
        _ => None,
    }
}

fn decimal_op(op: BinOp, a: &Value, b: &Value) -> Result<Value> {
    let (Some(x), Some(y)) = (to_decimal(a), to_decimal(b)) else {
        return Ok(real_op(op, a.as_f64(), b.as_f64()));
    };
    let r = match op {
        BinOp::Add => x.checked_add(y),
        BinOp::Sub => x.checked_sub(y),
        BinOp::Mul => x.checked_mul(y),
        BinOp::Div => {
            if y.is_zero() {
                return Ok(Value::Null);
            }
            x.checked_div(y)
        }
        BinOp::Mod => {
            if y.is_zero() {
                return Ok(Value::Null);
            }
            x.checked_rem(y)
        }
        _ => None,
    };
    match r {
        Some(d) => Ok(Value::Decimal(d)),
        // Beyond 28 digits: fall back to floating point rather than fail a report.
        None => Ok(real_op(
            op,
            x.to_f64().unwrap_or(0.0),
            y.to_f64().unwrap_or(0.0),
        )),
    }
}

/// Compares after applying comparison affinities; `None` when either side is NULL. A value
/// is copied only where an affinity changes it.
pub fn compare(
    op: CmpOp,
    a: &Value,
    b: &Value,
    left_aff: Option<Affinity>,
    right_aff: Option<Affinity>,
) -> Option<bool> {
    if a.is_null() || b.is_null() {
        return None;
    }
    // As in SQLite's comparison, TEXT affinity turns a number into text only when the other
    // operand is text: 5 = 5.0 stays a numeric comparison even under TEXT.
    let text = |v: &Value| matches!(v, Value::Text(_) | Value::Timestamp(_));
    let (a_text, b_text) = (text(a), text(b));
    let a = match left_aff {
        Some(af) if af != Affinity::Text || b_text => a.with_affinity(af),
        _ => std::borrow::Cow::Borrowed(a),
    };
    let b = match right_aff {
        Some(af) if af != Affinity::Text || a_text => b.with_affinity(af),
        _ => std::borrow::Cow::Borrowed(b),
    };
    let ord = a.total_cmp(&b);
    Some(match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    })
}

/// Truth value to SQL integer / NULL.
pub fn bool_value(b: Option<bool>) -> Value {
    match b {
        None => Value::Null,
        Some(b) => Value::Integer(i64::from(b)),
    }
}

/// CAST(v AS <affinity>). Fails only for a blob cast to TEXT that is not UTF-8.
pub fn cast(v: Value, to: Affinity) -> Result<Value> {
    if v.is_null() {
        return Ok(v);
    }
    Ok(match to {
        Affinity::Integer => match v {
            Value::Integer(_) => v,
            Value::Real(r) => Value::Integer(Value::Real(r).as_i64()),
            Value::Decimal(_) => Value::Integer(v.as_i64()),
            other => match text_to_number(&other.to_text().unwrap_or_default()) {
                Value::Real(r) => Value::Integer(Value::Real(r).as_i64()),
                n => n,
            },
        },
        Affinity::Real => Value::Real(v.as_f64()),
        Affinity::Text => match v {
            // TEXT is UTF-8 here; SQLite would keep the invalid bytes, so refuse rather than
            // silently replace them.
            Value::Blob(b) => match String::from_utf8(b) {
                Ok(s) => Value::Text(s),
                Err(e) => {
                    return Err(Error::invalid(format!(
                    "CAST of a blob to TEXT: byte {} is not valid UTF-8 (TEXT values are UTF-8)",
                    e.utf8_error().valid_up_to()
                )))
                }
            },
            other => Value::Text(other.to_text().unwrap_or_default()),
        },
        Affinity::Blob => match v {
            Value::Blob(_) => v,
            other => Value::Blob(other.to_text().unwrap_or_default().into_bytes()),
        },
        // A real stays a real (CAST(2.0 AS NUMERIC) is 2.0); only text and blobs that read as
        // an integral number become integers.
        Affinity::Numeric => match v {
            Value::Integer(_) | Value::Decimal(_) | Value::Real(_) => v,
            other => match text_to_number(&other.to_text().unwrap_or_default()) {
                Value::Real(r)
                    if r.fract() == 0.0 && r.abs() < super::value::INTEGRAL_REAL_LIMIT =>
                {
                    Value::Integer(r as i64)
                }
                n => n,
            },
        },
        Affinity::Decimal(scale) => {
            let n = match v {
                Value::Text(ref t) => t.trim().parse::<Decimal>().ok().map(Value::Decimal),
                _ => None,
            }
            .map_or_else(|| cast(v, Affinity::Numeric), Ok)?;
            n.apply_affinity(Affinity::Decimal(scale))
        }
    })
}

/// Formats a real result of AVG and similar the way the engine prints reals.
pub fn real_text(r: f64) -> String {
    format_real(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_follows_sqlite() {
        assert_eq!(
            binary(BinOp::Div, 7.into(), 2.into()).unwrap(),
            Value::Integer(3)
        );
        assert_eq!(binary(BinOp::Div, 7.into(), 0.into()).unwrap(), Value::Null);
        assert_eq!(
            binary(BinOp::Add, i64::MAX.into(), 1.into()).unwrap(),
            Value::Real(9.223372036854776e18)
        );
        assert_eq!(
            binary(BinOp::Add, "3".into(), 4.into()).unwrap(),
            Value::Integer(7)
        );
        assert_eq!(
            binary(BinOp::Mod, Value::Real(5.5), 2.into()).unwrap(),
            Value::Real(1.0)
        );
        let d = |s: &str| Value::Decimal(s.parse().unwrap());
        assert_eq!(binary(BinOp::Add, d("0.10"), d("0.20")).unwrap(), d("0.30"));
    }

    #[test]
    fn casts() {
        let cast = |v: Value, a: Affinity| cast(v, a).unwrap();
        assert_eq!(cast("12abc".into(), Affinity::Integer), Value::Integer(12));
        assert_eq!(cast(Value::Real(3.7), Affinity::Integer), Value::Integer(3));
        assert_eq!(cast("abc".into(), Affinity::Real), Value::Real(0.0));
        assert_eq!(cast(Value::Integer(5), Affinity::Text), Value::from("5"));
        assert_eq!(cast(Value::Real(2.0), Affinity::Numeric), Value::Real(2.0));
        assert_eq!(cast("2.0".into(), Affinity::Numeric), Value::Integer(2));
        assert!(super::cast(Value::Blob(vec![0x61, 0xff]), Affinity::Text).is_err());
    }
}
