//! SQL values, type affinity and the comparison and arithmetic rules of SQLite's dialect.
//!
//! Values follow SQLite's storage classes (NULL, INTEGER, REAL, TEXT, BLOB) plus DECIMAL, an
//! exact fixed-point class for `DECIMAL(p,s)` columns, because the product stores balances.
//! Ordering across classes is SQLite's: NULL < numbers < text < blob; numbers of any class
//! compare by numeric value.

use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// A dynamically typed SQL value.
#[derive(Debug, Clone, Default)]
pub enum Value {
    /// SQL NULL.
    #[default]
    Null,
    /// 64-bit signed integer.
    Integer(i64),
    /// 64-bit float.
    Real(f64),
    /// UTF-8 text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
    /// Exact decimal (columns declared DECIMAL / NUMERIC(p,s)).
    Decimal(Decimal),
    /// Date and time: what [`crate::Row::get`] returns as a dynamic value for a column declared
    /// DATE, DATETIME or TIMESTAMP that holds a valid date-time. Inside the engine (and as a
    /// parameter) it is the text `YYYY-MM-DD HH:MM:SS[.ffffff]`.
    Timestamp(chrono::NaiveDateTime),
}

/// Column type affinity (SQLite's five, plus exact decimal with a scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Affinity {
    /// Prefers integers.
    Integer,
    /// Prefers reals.
    Real,
    /// Prefers numbers, keeps non-numeric text.
    Numeric,
    /// Prefers text.
    Text,
    /// No conversion.
    Blob,
    /// Exact decimal with this many digits after the point (`None`: as given).
    Decimal(Option<u32>),
}

impl Affinity {
    /// The affinity of a declared column type, by SQLite's rules (section 3.1 of its type
    /// documentation), with DECIMAL / NUMERIC(p,s) mapped to exact decimals.
    pub fn from_type_name(name: &str) -> Affinity {
        let upper = name.to_ascii_uppercase();
        if upper.contains("INT") {
            Affinity::Integer
        } else if upper.contains("CHAR") || upper.contains("CLOB") || upper.contains("TEXT") {
            Affinity::Text
        } else if upper.contains("BLOB") || upper.trim().is_empty() {
            Affinity::Blob
        } else if upper.contains("REAL") || upper.contains("FLOA") || upper.contains("DOUB") {
            Affinity::Real
        } else if upper.starts_with("DEC") || (upper.starts_with("NUMERIC") && upper.contains('('))
        {
            Affinity::Decimal(decimal_scale(&upper))
        } else {
            Affinity::Numeric
        }
    }

    /// True for the affinities that prefer numbers.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Affinity::Integer | Affinity::Real | Affinity::Numeric | Affinity::Decimal(_)
        )
    }
}

fn decimal_scale(upper: &str) -> Option<u32> {
    let inner = upper.split_once('(')?.1.split_once(')')?.0;
    match inner.split_once(',') {
        Some((_, s)) => s.trim().parse().ok(),
        None => Some(0),
    }
}

/// True for declared types whose values the API returns as date-times (DATE, DATETIME,
/// TIMESTAMP, with or without a size or precision).
pub fn is_temporal_type(declared: &str) -> bool {
    let base = declared
        .split(|c: char| c == '(' || c.is_whitespace())
        .next()
        .unwrap_or("");
    ["DATE", "DATETIME", "TIMESTAMP"]
        .iter()
        .any(|t| base.eq_ignore_ascii_case(t))
}

impl Value {
    /// SQLite's `typeof()` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Integer(_) => "integer",
            Value::Real(_) => "real",
            Value::Text(_) => "text",
            Value::Blob(_) => "blob",
            Value::Decimal(_) => "decimal",
            Value::Timestamp(_) => "text",
        }
    }

    /// True for NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    fn class_rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Integer(_) | Value::Real(_) | Value::Decimal(_) => 1,
            Value::Text(_) | Value::Timestamp(_) => 2,
            Value::Blob(_) => 3,
        }
    }

    /// Total order used for ORDER BY, DISTINCT, GROUP BY, MIN/MAX and index keys.
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        let (a, b) = (self.class_rank(), other.class_rank());
        if a != b {
            return a.cmp(&b);
        }
        match (self, other) {
            (Value::Timestamp(_), _) | (_, Value::Timestamp(_)) => {
                self.untimed().total_cmp(&other.untimed())
            }
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Text(x), Value::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
            (Value::Blob(x), Value::Blob(y)) => x.cmp(y),
            _ => numeric_cmp(self, other),
        }
    }

    /// Equality under [`Value::total_cmp`].
    pub fn same_as(&self, other: &Value) -> bool {
        self.total_cmp(other) == Ordering::Equal
    }

    /// Truth value for WHERE / CASE / AND / OR: `None` for NULL.
    pub fn truthy(&self) -> Option<bool> {
        match self {
            Value::Null => None,
            Value::Integer(i) => Some(*i != 0),
            Value::Real(r) => Some(*r != 0.0),
            Value::Decimal(d) => Some(!d.is_zero()),
            Value::Text(s) => Some(text_to_number(s).as_f64() != 0.0),
            Value::Timestamp(_) => self.untimed().truthy(),
            Value::Blob(b) => Some(text_to_number(&String::from_utf8_lossy(b)).as_f64() != 0.0),
        }
    }

    /// Numeric view of the value for arithmetic (text is read by its numeric prefix).
    pub fn to_number(&self) -> Value {
        match self {
            Value::Integer(_) | Value::Real(_) | Value::Decimal(_) | Value::Null => self.clone(),
            Value::Text(s) => text_to_number(s),
            Value::Blob(b) => text_to_number(&String::from_utf8_lossy(b)),
            Value::Timestamp(_) => self.untimed().to_number(),
        }
    }

    /// As f64 (numeric view).
    pub fn as_f64(&self) -> f64 {
        match self.to_number() {
            Value::Integer(i) => i as f64,
            Value::Real(r) => r,
            Value::Decimal(d) => d.to_f64().unwrap_or(0.0),
            _ => 0.0,
        }
    }

    /// As i64 (numeric view, reals truncated toward zero, saturating).
    pub fn as_i64(&self) -> i64 {
        match self.to_number() {
            Value::Integer(i) => i,
            Value::Real(r) => real_to_i64(r),
            Value::Decimal(d) => d.trunc().to_i64().unwrap_or(if d.is_sign_negative() {
                i64::MIN
            } else {
                i64::MAX
            }),
            _ => 0,
        }
    }

    /// Text rendering as SQLite's CAST(x AS TEXT) gives it (NULL gives `None`).
    pub fn to_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Integer(i) => Some(i.to_string()),
            Value::Real(r) => Some(format_real(*r)),
            Value::Text(s) => Some(s.clone()),
            Value::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
            Value::Decimal(d) => Some(d.to_string()),
            Value::Timestamp(t) => Some(crate::time::format_datetime(t)),
        }
    }

    /// The value with a date-time replaced by its text. The engine stores and computes on
    /// date-times as text, as SQLite does; [`Value::Timestamp`] exists only at the API.
    pub fn untimed(&self) -> std::borrow::Cow<'_, Value> {
        match self {
            Value::Timestamp(t) => {
                std::borrow::Cow::Owned(Value::Text(crate::time::format_datetime(t)))
            }
            v => std::borrow::Cow::Borrowed(v),
        }
    }

    /// [`Value::apply_affinity`] without taking the value: borrowed where the affinity
    /// leaves it as it is (a comparison of a column with a literal then copies neither).
    pub fn with_affinity(&self, affinity: Affinity) -> std::borrow::Cow<'_, Value> {
        use Affinity as A;
        let unchanged = match (affinity, self) {
            (A::Blob, _) => true,
            (A::Text, Value::Integer(_) | Value::Real(_) | Value::Decimal(_)) => false,
            (A::Text, _) => true,
            (A::Numeric | A::Integer | A::Real, Value::Text(s)) => parse_numeric_text(s).is_none(),
            (A::Numeric | A::Integer, Value::Real(_)) => false,
            (A::Integer, Value::Decimal(_)) => false,
            (A::Numeric | A::Integer, _) => true,
            (A::Real, Value::Integer(_) | Value::Decimal(_)) => false,
            (A::Real, _) => true,
            (A::Decimal(_), _) => false,
        };
        if unchanged {
            std::borrow::Cow::Borrowed(self)
        } else {
            std::borrow::Cow::Owned(self.clone().apply_affinity(affinity))
        }
    }

    /// Applies a column affinity (on storing a value, or comparing with a column).
    pub fn apply_affinity(self, affinity: Affinity) -> Value {
        match affinity {
            Affinity::Blob => self,
            Affinity::Text => match self {
                Value::Integer(_) | Value::Real(_) | Value::Decimal(_) => {
                    Value::Text(self.to_text().unwrap_or_default())
                }
                v => v,
            },
            Affinity::Numeric | Affinity::Integer => match self {
                Value::Text(ref s) => match parse_numeric_text(s) {
                    Some(n) => integral_if_exact(n),
                    None => self,
                },
                Value::Real(r) => integral_if_exact(Value::Real(r)),
                Value::Decimal(d) if affinity == Affinity::Integer => {
                    integral_if_exact(Value::Real(d.to_f64().unwrap_or(0.0)))
                }
                v => v,
            },
            Affinity::Real => match self {
                Value::Text(ref s) => match parse_numeric_text(s) {
                    Some(n) => Value::Real(n.as_f64()),
                    None => self,
                },
                Value::Integer(i) => Value::Real(i as f64),
                Value::Decimal(d) => Value::Real(d.to_f64().unwrap_or(0.0)),
                v => v,
            },
            Affinity::Decimal(scale) => {
                let d = match &self {
                    Value::Integer(i) => Some(Decimal::from(*i)),
                    Value::Real(r) => Decimal::from_f64(*r),
                    Value::Decimal(d) => Some(*d),
                    Value::Text(s) => s.trim().parse::<Decimal>().ok().or_else(|| {
                        parse_numeric_text(s).and_then(|n| Decimal::from_f64(n.as_f64()))
                    }),
                    _ => None,
                };
                match (d, scale) {
                    (Some(d), Some(s)) => Value::Decimal(rescale(d, s)),
                    (Some(d), None) => Value::Decimal(d),
                    (None, _) => self,
                }
            }
        }
    }
}

/// Rounds (half away from zero) or pads a decimal to exactly `scale` digits.
pub fn rescale(d: Decimal, scale: u32) -> Decimal {
    let mut r =
        d.round_dp_with_strategy(scale, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    r.rescale(scale);
    r
}

fn real_to_i64(r: f64) -> i64 {
    if r.is_nan() {
        0
    } else if r >= 9.223_372_036_854_776e18 {
        i64::MAX
    } else if r <= -9.223_372_036_854_776e18 {
        i64::MIN
    } else {
        r as i64
    }
}

/// Magnitude from which an integral real stays a real under numeric affinity (SQLite's
/// limit: below it the real converts to an integer without loss). A column of INTEGER or
/// NUMERIC affinity can therefore hold an integer and an equal real only from here up.
pub(crate) const INTEGRAL_REAL_LIMIT: f64 = 9.2e18;

fn integral_if_exact(v: Value) -> Value {
    match v {
        Value::Real(r) if r.fract() == 0.0 && r.abs() < INTEGRAL_REAL_LIMIT => {
            Value::Integer(r as i64)
        }
        v => v,
    }
}

/// Parses text that is entirely a number (surrounding spaces allowed), as SQLite's numeric
/// affinity does. Returns `None` when the text is not a well-formed number.
pub fn parse_numeric_text(s: &str) -> Option<Value> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(i) = t.parse::<i64>() {
        return Some(Value::Integer(i));
    }
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let valid = body
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || c == '.')
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    if !valid {
        return None;
    }
    t.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Value::Real)
}

/// Reads the longest numeric prefix of text, as SQLite does in arithmetic ('12abc' is 12,
/// 'abc' is 0).
pub fn text_to_number(s: &str) -> Value {
    let t = s.trim_start();
    let bytes = t.as_bytes();
    let mut end = 0;
    if end < bytes.len() && (bytes[end] == b'+' || bytes[end] == b'-') {
        end += 1;
    }
    let digits_start = end;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    let mut is_real = false;
    if end < bytes.len() && bytes[end] == b'.' {
        is_real = true;
        end += 1;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
    }
    if end == digits_start || (is_real && end == digits_start + 1) {
        return Value::Integer(0);
    }
    if end < bytes.len() && (bytes[end] == b'e' || bytes[end] == b'E') {
        let mut e = end + 1;
        if e < bytes.len() && (bytes[e] == b'+' || bytes[e] == b'-') {
            e += 1;
        }
        if e < bytes.len() && bytes[e].is_ascii_digit() {
            while e < bytes.len() && bytes[e].is_ascii_digit() {
                e += 1;
            }
            is_real = true;
            end = e;
        }
    }
    let num = &t[..end];
    if !is_real {
        if let Ok(i) = num.parse::<i64>() {
            return Value::Integer(i);
        }
    }
    Value::Real(num.parse::<f64>().unwrap_or(0.0))
}

/// Formats a real the way SQLite prints it (up to 15 significant digits, always with a
/// decimal point or exponent).
pub fn format_real(r: f64) -> String {
    if r.is_nan() {
        return "NaN".into();
    }
    if r.is_infinite() {
        return if r > 0.0 { "Inf".into() } else { "-Inf".into() };
    }
    if r == 0.0 {
        return "0.0".into();
    }
    let exp = r.abs().log10().floor() as i32;
    if !(-5..15).contains(&exp) {
        let s = format!("{:.14e}", r);
        // Trim trailing zeros of the mantissa: 1.50000000000000e20 -> 1.5e+20
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = m.trim_end_matches('0');
        let m = if m.ends_with('.') {
            format!("{m}0")
        } else {
            m.to_string()
        };
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let decimals = (14 - exp).max(0) as usize;
    let s = format!("{:.*}", decimals, r);
    let s = if s.contains('.') {
        let t = s.trim_end_matches('0');
        if t.ends_with('.') {
            format!("{t}0")
        } else {
            t.to_string()
        }
    } else {
        format!("{s}.0")
    };
    s
}

/// Compares two numeric values exactly (integers against reals without precision loss).
fn numeric_cmp(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
        (Value::Real(x), Value::Real(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Value::Integer(i), Value::Real(r)) => int_real_cmp(*i, *r),
        (Value::Real(r), Value::Integer(i)) => int_real_cmp(*i, *r).reverse(),
        (Value::Decimal(x), Value::Decimal(y)) => x.cmp(y),
        (Value::Decimal(d), Value::Integer(i)) => d.cmp(&Decimal::from(*i)),
        (Value::Integer(i), Value::Decimal(d)) => Decimal::from(*i).cmp(d),
        (Value::Decimal(d), Value::Real(r)) => decimal_real_cmp(d, *r),
        (Value::Real(_), Value::Decimal(_)) => numeric_cmp(b, a).reverse(),
        _ => Ordering::Equal,
    }
}

/// Orders a decimal and a real consistently with how each orders against integers and
/// reals (a sort needs one total order: rounding the real to a decimal first made 0.0 equal
/// to 1e-88, while the integer 0 is less than it). The nearest float to the decimal
/// decides whenever it differs from the real; only when they are the same float is the real
/// turned into a decimal to compare the digits.
fn decimal_real_cmp(d: &Decimal, r: f64) -> Ordering {
    if r.is_nan() {
        // As `int_real_cmp`: NaN sorts before every number.
        return Ordering::Greater;
    }
    let near = d.to_f64().unwrap_or(0.0);
    match near.partial_cmp(&r) {
        // The shortest decimal that reads back as this float: a DECIMAL 0.1 equals the
        // real 0.1, as it always has.
        Some(Ordering::Equal) | None => match Decimal::from_f64(r) {
            Some(x) => d.cmp(&x),
            None => Ordering::Equal,
        },
        Some(o) => o,
    }
}

fn int_real_cmp(i: i64, r: f64) -> Ordering {
    if r.is_nan() {
        return Ordering::Greater;
    }
    if r >= 9.223_372_036_854_776e18 {
        return Ordering::Less;
    }
    if r < -9.223_372_036_854_776e18 {
        return Ordering::Greater;
    }
    let t = r.trunc() as i64;
    match i.cmp(&t) {
        Ordering::Equal => {
            let frac = r - r.trunc();
            if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        o => o,
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Real(a), Value::Real(b)) => a.to_bits() == b.to_bits() || a == b,
            _ => {
                std::mem::discriminant(self) == std::mem::discriminant(other)
                    && self.total_cmp(other) == Ordering::Equal
            }
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Blob(b) => {
                for byte in b {
                    write!(f, "{byte:02X}")?;
                }
                Ok(())
            }
            v => f.write_str(&v.to_text().unwrap_or_default()),
        }
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Integer(i)
    }
}
impl From<f64> for Value {
    fn from(r: f64) -> Self {
        Value::Real(r)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Integer(i64::from(b))
    }
}
impl From<Decimal> for Value {
    fn from(d: Decimal) -> Self {
        Value::Decimal(d)
    }
}
impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Value::Blob(b)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Self {
        o.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_affinity_borrows_only_what_apply_affinity_leaves_alone() {
        let values = [
            Value::Null,
            Value::Integer(7),
            Value::Integer(i64::MAX),
            Value::Real(2.0),
            Value::Real(2.5),
            Value::Real(9.3e18),
            Value::Text("12".into()),
            Value::Text(" 12.0 ".into()),
            Value::Text("1e3".into()),
            Value::Text("abc".into()),
            Value::Blob(vec![1, 2]),
            Value::Decimal(Decimal::new(1250, 2)),
            Value::Decimal(Decimal::new(3, 0)),
            Value::Timestamp(
                chrono::NaiveDate::from_ymd_opt(2024, 12, 31)
                    .and_then(|d| d.and_hms_opt(23, 59, 59))
                    .expect("a valid date"),
            ),
        ];
        let affinities = [
            Affinity::Blob,
            Affinity::Text,
            Affinity::Numeric,
            Affinity::Integer,
            Affinity::Real,
            Affinity::Decimal(None),
            Affinity::Decimal(Some(1)),
        ];
        for v in &values {
            for &a in &affinities {
                let expected = v.clone().apply_affinity(a);
                let got = v.with_affinity(a);
                // Same variant and same value (`Debug` shows both, NaN aside).
                assert_eq!(
                    format!("{:?}", got),
                    format!("{expected:?}"),
                    "{v:?} under {a:?}"
                );
                if let std::borrow::Cow::Borrowed(b) = got {
                    assert!(std::ptr::eq(b, v));
                }
            }
        }
    }

    #[test]
    fn affinity_from_declared_types() {
        assert_eq!(Affinity::from_type_name("INTEGER"), Affinity::Integer);
        assert_eq!(Affinity::from_type_name("BIGINT"), Affinity::Integer);
        assert_eq!(Affinity::from_type_name("VARCHAR(20)"), Affinity::Text);
        assert_eq!(Affinity::from_type_name("DOUBLE"), Affinity::Real);
        assert_eq!(Affinity::from_type_name(""), Affinity::Blob);
        assert_eq!(Affinity::from_type_name("BOOLEAN"), Affinity::Numeric);
        assert_eq!(Affinity::from_type_name("TIMESTAMP"), Affinity::Numeric);
        assert_eq!(
            Affinity::from_type_name("DECIMAL(15,2)"),
            Affinity::Decimal(Some(2))
        );
        assert_eq!(Affinity::from_type_name("NUMERIC"), Affinity::Numeric);
    }

    #[test]
    fn conversions_follow_sqlite() {
        assert_eq!(
            Value::from("12").apply_affinity(Affinity::Integer),
            Value::Integer(12)
        );
        assert_eq!(
            Value::from("1.5").apply_affinity(Affinity::Integer),
            Value::Real(1.5)
        );
        assert_eq!(
            Value::from("abc").apply_affinity(Affinity::Integer),
            Value::from("abc")
        );
        assert_eq!(
            Value::Real(3.0).apply_affinity(Affinity::Integer),
            Value::Integer(3)
        );
        assert_eq!(
            Value::Integer(3).apply_affinity(Affinity::Text),
            Value::from("3")
        );
        assert_eq!(
            Value::from("15750.00").apply_affinity(Affinity::Decimal(Some(2))),
            Value::Decimal("15750.00".parse().unwrap())
        );
        assert_eq!(text_to_number("12abc"), Value::Integer(12));
        assert_eq!(text_to_number("abc"), Value::Integer(0));
        assert_eq!(text_to_number("1.5e3x"), Value::Real(1500.0));
    }

    #[test]
    fn decimals_reals_and_integers_share_one_order() {
        // 0.0 as a decimal equalled 1e-88 (the real rounded to a decimal is 0), while the
        // integer 0, equal to the decimal, is less than it: no total order, and the
        // standard sort panics on such a comparator.
        let zero = Value::Decimal(Decimal::ZERO);
        let tiny = Value::Real(1.490_980_046_477_511_7e-88);
        assert_eq!(zero.total_cmp(&Value::Integer(0)), Ordering::Equal);
        assert_eq!(Value::Integer(0).total_cmp(&tiny), Ordering::Less);
        assert_eq!(zero.total_cmp(&tiny), Ordering::Less);
        assert_eq!(tiny.total_cmp(&zero), Ordering::Greater);
        let tenth = Value::Decimal(Decimal::new(1, 1));
        assert_eq!(tenth.total_cmp(&Value::Real(0.1)), Ordering::Equal);
        assert_eq!(
            tenth.total_cmp(&Value::Real(0.099_999_999)),
            Ordering::Greater
        );
        assert_eq!(
            Value::Decimal(Decimal::new(25, 1)).total_cmp(&Value::Real(2.5)),
            Ordering::Equal
        );
    }

    #[test]
    fn ordering_across_classes() {
        let mut v = [
            Value::from("a"),
            Value::Integer(2),
            Value::Null,
            Value::Real(1.5),
            Value::Blob(vec![0]),
        ];
        v.sort_by(|a, b| a.total_cmp(b));
        assert_eq!(v[0], Value::Null);
        assert_eq!(v[1], Value::Real(1.5));
        assert_eq!(v[2], Value::Integer(2));
        assert_eq!(v[3], Value::from("a"));
        assert_eq!(int_real_cmp(i64::MAX, 9.3e18), Ordering::Less);
    }

    #[test]
    fn real_formatting() {
        assert_eq!(format_real(1.0), "1.0");
        assert_eq!(format_real(0.1), "0.1");
        assert_eq!(format_real(-2.5), "-2.5");
        assert_eq!(format_real(1e20), "1.0e+20");
        assert_eq!(format_real(123456.789), "123456.789");
    }
}
