//! Conversions between Rust values and SQL values.

pub use crate::sql::value::Value;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;

/// SQL NULL as a parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct Null;

/// Why a stored value could not be converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FromSqlError {
    /// The value's type does not convert to the requested one.
    InvalidType,
    /// The value is outside the requested type's range.
    OutOfRange(i64),
    /// Other conversion failure.
    Other(String),
}

/// Result of [`FromSql::column_result`].
pub type FromSqlResult<T> = std::result::Result<T, FromSqlError>;

/// Types that can be bound as statement parameters.
pub trait ToSql {
    /// The SQL value.
    fn to_sql(&self) -> crate::Result<Value>;
}

/// Types that can be read from a result column.
pub trait FromSql: Sized {
    /// Converts a stored value.
    fn column_result(value: &Value) -> FromSqlResult<Self>;

    /// Converts a value of a column declared DATE, DATETIME or TIMESTAMP. Only the dynamic
    /// [`Value`] reads these differently (as [`Value::Timestamp`]); typed reads see the
    /// stored value as it is.
    fn temporal_column_result(value: &Value) -> FromSqlResult<Self> {
        Self::column_result(value)
    }
}

impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_sql(&self) -> crate::Result<Value> {
        (**self).to_sql()
    }
}
impl<T: ToSql + ?Sized> ToSql for Box<T> {
    fn to_sql(&self) -> crate::Result<Value> {
        (**self).to_sql()
    }
}
impl<T: ToSql> ToSql for Option<T> {
    fn to_sql(&self) -> crate::Result<Value> {
        match self {
            Some(v) => v.to_sql(),
            None => Ok(Value::Null),
        }
    }
}
impl ToSql for Value {
    fn to_sql(&self) -> crate::Result<Value> {
        // The engine computes on date-times as text (SQLite's convention).
        Ok(self.untimed().into_owned())
    }
}
impl ToSql for Null {
    fn to_sql(&self) -> crate::Result<Value> {
        Ok(Value::Null)
    }
}
macro_rules! to_sql_int {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> crate::Result<Value> {
                Ok(Value::Integer(i64::from(*self)))
            }
        }
    )*};
}
to_sql_int!(i8, i16, i32, i64, u8, u16, u32, bool);
macro_rules! to_sql_wide {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> crate::Result<Value> {
                i64::try_from(*self).map(Value::Integer).map_err(|_| {
                    crate::Error::Parameter(format!("integer {} does not fit in a 64-bit signed integer", self))
                })
            }
        }
    )*};
}
to_sql_wide!(u64, usize, isize);
impl ToSql for f64 {
    fn to_sql(&self) -> crate::Result<Value> {
        Ok(if self.is_nan() {
            Value::Null
        } else {
            Value::Real(*self)
        })
    }
}
impl ToSql for f32 {
    fn to_sql(&self) -> crate::Result<Value> {
        f64::from(*self).to_sql()
    }
}
impl ToSql for str {
    fn to_sql(&self) -> crate::Result<Value> {
        Ok(Value::Text(self.to_string()))
    }
}
impl ToSql for String {
    fn to_sql(&self) -> crate::Result<Value> {
        Ok(Value::Text(self.clone()))
    }
}
impl ToSql for [u8] {
    fn to_sql(&self) -> crate::Result<Value> {
        Ok(Value::Blob(self.to_vec()))
    }
}
impl ToSql for Vec<u8> {
    fn to_sql(&self) -> crate::Result<Value> {
        Ok(Value::Blob(self.clone()))
    }
}
impl ToSql for Decimal {
    fn to_sql(&self) -> crate::Result<Value> {
        Ok(Value::Decimal(*self))
    }
}
impl ToSql for NaiveDateTime {
    fn to_sql(&self) -> crate::Result<Value> {
        Ok(Value::Text(self.format("%Y-%m-%d %H:%M:%S%.f").to_string()))
    }
}
impl ToSql for NaiveDate {
    fn to_sql(&self) -> crate::Result<Value> {
        Ok(Value::Text(self.format("%Y-%m-%d").to_string()))
    }
}
impl ToSql for DateTime<Utc> {
    fn to_sql(&self) -> crate::Result<Value> {
        self.naive_utc().to_sql()
    }
}

impl FromSql for Value {
    fn column_result(value: &Value) -> FromSqlResult<Self> {
        Ok(value.clone())
    }

    fn temporal_column_result(value: &Value) -> FromSqlResult<Self> {
        Ok(match value {
            Value::Text(s) => match crate::time::parse_datetime(s) {
                Some(t) => Value::Timestamp(t),
                None => value.clone(),
            },
            other => other.clone(),
        })
    }
}
impl<T: FromSql> FromSql for Option<T> {
    fn column_result(value: &Value) -> FromSqlResult<Self> {
        match value {
            Value::Null => Ok(None),
            v => T::column_result(v).map(Some),
        }
    }

    fn temporal_column_result(value: &Value) -> FromSqlResult<Self> {
        match value {
            Value::Null => Ok(None),
            v => T::temporal_column_result(v).map(Some),
        }
    }
}
impl FromSql for i64 {
    fn column_result(value: &Value) -> FromSqlResult<Self> {
        match value {
            Value::Integer(i) => Ok(*i),
            Value::Decimal(d) if d.fract().is_zero() => {
                d.to_i64().ok_or(FromSqlError::OutOfRange(0))
            }
            _ => Err(FromSqlError::InvalidType),
        }
    }
}
macro_rules! from_sql_narrow {
    ($($t:ty),*) => {$(
        impl FromSql for $t {
            fn column_result(value: &Value) -> FromSqlResult<Self> {
                let i = i64::column_result(value)?;
                <$t>::try_from(i).map_err(|_| FromSqlError::OutOfRange(i))
            }
        }
    )*};
}
from_sql_narrow!(i8, i16, i32, u8, u16, u32, u64, usize, isize);
impl FromSql for bool {
    fn column_result(value: &Value) -> FromSqlResult<Self> {
        match value {
            Value::Integer(i) => Ok(*i != 0),
            Value::Real(r) => Ok(*r != 0.0),
            Value::Decimal(d) => Ok(!d.is_zero()),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}
impl FromSql for f64 {
    fn column_result(value: &Value) -> FromSqlResult<Self> {
        match value {
            Value::Integer(i) => Ok(*i as f64),
            Value::Real(r) => Ok(*r),
            Value::Decimal(d) => d.to_f64().ok_or(FromSqlError::InvalidType),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}
impl FromSql for f32 {
    fn column_result(value: &Value) -> FromSqlResult<Self> {
        f64::column_result(value).map(|f| f as f32)
    }
}
impl FromSql for String {
    fn column_result(value: &Value) -> FromSqlResult<Self> {
        match value {
            Value::Text(s) => Ok(s.clone()),
            Value::Decimal(d) => Ok(d.to_string()),
            Value::Timestamp(t) => Ok(crate::time::format_datetime(t)),
            Value::Blob(b) => String::from_utf8(b.clone()).map_err(|_| FromSqlError::InvalidType),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}
impl FromSql for Vec<u8> {
    fn column_result(value: &Value) -> FromSqlResult<Self> {
        match value {
            Value::Blob(b) => Ok(b.clone()),
            Value::Text(s) => Ok(s.as_bytes().to_vec()),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}
impl FromSql for Decimal {
    fn column_result(value: &Value) -> FromSqlResult<Self> {
        match value {
            Value::Decimal(d) => Ok(*d),
            Value::Integer(i) => Ok(Decimal::from(*i)),
            Value::Real(r) => Decimal::from_f64(*r).ok_or(FromSqlError::InvalidType),
            Value::Text(s) => s
                .trim()
                .parse()
                .map_err(|e| FromSqlError::Other(format!("{e}"))),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}
impl FromSql for NaiveDateTime {
    fn column_result(value: &Value) -> FromSqlResult<Self> {
        match value {
            Value::Timestamp(t) => Ok(*t),
            Value::Text(s) => crate::time::parse_datetime(s).ok_or(FromSqlError::InvalidType),
            Value::Integer(i) => DateTime::from_timestamp(*i, 0)
                .map(|d| d.naive_utc())
                .ok_or(FromSqlError::OutOfRange(*i)),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}
impl FromSql for DateTime<Utc> {
    fn column_result(value: &Value) -> FromSqlResult<Self> {
        NaiveDateTime::column_result(value).map(|n| n.and_utc())
    }
}
impl FromSql for NaiveDate {
    fn column_result(value: &Value) -> FromSqlResult<Self> {
        NaiveDateTime::column_result(value).map(|n| n.date())
    }
}
