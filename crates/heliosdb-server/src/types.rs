//! Mapping of the engine's dynamically typed values to PostgreSQL column types.
//!
//! A HeliosDB column may hold values of several storage classes (as in SQLite), while a
//! PostgreSQL result column has one type. A result computed before it is sent (the simple
//! query protocol) is typed from its values: integers are `int8`, integers with reals
//! `float8`, decimals `numeric`, date-times `timestamp`, blobs `bytea`, and a column that
//! mixes other classes `text`; a column with no values takes its declared type. A prepared
//! statement's columns are described before it runs, from their declared types (computed
//! columns are `text`), and its values are converted to those types when sent.

use heliosdb_lite::types::Value;
use pgwire::api::Type;
use rust_decimal::Decimal;

/// The PostgreSQL type a result column is sent as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// `int8`
    Int8,
    /// `float8`
    Float8,
    /// `numeric`
    Numeric,
    /// `text`
    Text,
    /// `bytea`
    Bytea,
    /// `timestamp`
    Timestamp,
}

impl ColumnType {
    /// The protocol type.
    pub fn pg_type(self) -> Type {
        match self {
            ColumnType::Int8 => Type::INT8,
            ColumnType::Float8 => Type::FLOAT8,
            ColumnType::Numeric => Type::NUMERIC,
            ColumnType::Text => Type::TEXT,
            ColumnType::Bytea => Type::BYTEA,
            ColumnType::Timestamp => Type::TIMESTAMP,
        }
    }

    /// The type of a declared type group (`Rows::column_types`), if it has a fixed one.
    pub fn from_declared(group: Option<&str>) -> Option<ColumnType> {
        Some(match group? {
            "INTEGER" => ColumnType::Int8,
            "REAL" => ColumnType::Float8,
            "DECIMAL" => ColumnType::Numeric,
            "TEXT" => ColumnType::Text,
            "BLOB" => ColumnType::Bytea,
            "TIMESTAMP" => ColumnType::Timestamp,
            _ => return None,
        })
    }

    /// The type of a column from the values it holds, or its declared type when it holds
    /// none (`text` when neither tells).
    pub fn infer<'a>(values: impl Iterator<Item = &'a Value>, declared: Option<&str>) -> Self {
        // Bits: 1 integer, 2 real, 4 decimal, 8 text, 16 blob, 32 timestamp.
        let mut seen = 0u8;
        for v in values {
            seen |= match v {
                Value::Null => 0,
                Value::Integer(_) => 1,
                Value::Real(_) => 2,
                Value::Decimal(_) => 4,
                Value::Text(_) => 8,
                Value::Blob(_) => 16,
                Value::Timestamp(_) => 32,
            };
        }
        match seen {
            0 => Self::from_declared(declared).unwrap_or(ColumnType::Text),
            1 => ColumnType::Int8,
            2 | 3 => ColumnType::Float8,
            4 | 5 => ColumnType::Numeric,
            16 => ColumnType::Bytea,
            32 => ColumnType::Timestamp,
            _ => ColumnType::Text,
        }
    }
}

/// A value converted for a column of type `ty`; `Err` names what did not fit.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// `int8`
    Int(i64),
    /// `float8`
    Float(f64),
    /// `numeric`
    Numeric(Decimal),
    /// `text`
    Text(String),
    /// `bytea`
    Bytes(Vec<u8>),
    /// `timestamp`
    Timestamp(chrono::NaiveDateTime),
}

/// Converts `v` to `ty`, or explains why it cannot be.
pub fn convert(v: &Value, ty: ColumnType) -> Result<Cell, String> {
    let mismatch = || {
        format!(
            "a value {} cannot be sent as {}: the column holds values of several types \
             (CAST it in the query)",
            text_of(v),
            ty.pg_type().name()
        )
    };
    Ok(match (ty, v) {
        (_, Value::Null) => Cell::Null,
        (ColumnType::Text, v) => Cell::Text(text_of(v)),
        (ColumnType::Int8, Value::Integer(i)) => Cell::Int(*i),
        (ColumnType::Int8, Value::Real(f)) if f.fract() == 0.0 && f.abs() < 9.2e18 => {
            Cell::Int(*f as i64)
        }
        (ColumnType::Int8, Value::Text(t)) => Cell::Int(t.trim().parse().map_err(|_| mismatch())?),
        (ColumnType::Float8, Value::Integer(i)) => Cell::Float(*i as f64),
        (ColumnType::Float8, Value::Real(f)) => Cell::Float(*f),
        (ColumnType::Float8, Value::Decimal(d)) => {
            Cell::Float(d.to_string().parse().map_err(|_| mismatch())?)
        }
        (ColumnType::Float8, Value::Text(t)) => {
            Cell::Float(t.trim().parse().map_err(|_| mismatch())?)
        }
        (ColumnType::Numeric, Value::Decimal(d)) => Cell::Numeric(*d),
        (ColumnType::Numeric, Value::Integer(i)) => Cell::Numeric(Decimal::from(*i)),
        (ColumnType::Numeric, Value::Real(f)) => {
            Cell::Numeric(Decimal::try_from(*f).map_err(|_| mismatch())?)
        }
        (ColumnType::Numeric, Value::Text(t)) => {
            Cell::Numeric(t.trim().parse().map_err(|_| mismatch())?)
        }
        (ColumnType::Bytea, Value::Blob(b)) => Cell::Bytes(b.clone()),
        (ColumnType::Bytea, Value::Text(t)) => Cell::Bytes(t.as_bytes().to_vec()),
        (ColumnType::Timestamp, Value::Timestamp(t)) => Cell::Timestamp(*t),
        (ColumnType::Timestamp, Value::Text(t)) => {
            Cell::Timestamp(parse_timestamp(t).ok_or_else(mismatch)?)
        }
        _ => return Err(mismatch()),
    })
}

/// Text of a value as PostgreSQL prints it (blobs as `\x` hex, as `bytea` output does).
pub fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => format_float(*f),
        Value::Decimal(d) => d.to_string(),
        Value::Text(t) => t.clone(),
        Value::Blob(b) => {
            let mut s = String::from("\\x");
            for byte in b {
                s.push_str(&format!("{byte:02x}"));
            }
            s
        }
        Value::Timestamp(t) => t.format("%Y-%m-%d %H:%M:%S%.f").to_string(),
    }
}

fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        f.to_string()
    }
}

/// Parses `YYYY-MM-DD[ HH:MM:SS[.f]]` (also with `T`).
pub fn parse_timestamp(t: &str) -> Option<chrono::NaiveDateTime> {
    let t = t.trim();
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(v) = chrono::NaiveDateTime::parse_from_str(t, fmt) {
            return Some(v);
        }
    }
    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_one_type_per_column() {
        let v = [Value::Integer(1), Value::Null, Value::Real(2.5)];
        assert_eq!(ColumnType::infer(v.iter(), None), ColumnType::Float8);
        let v = [Value::Integer(1), Value::Text("x".into())];
        assert_eq!(
            ColumnType::infer(v.iter(), Some("INTEGER")),
            ColumnType::Text
        );
        assert_eq!(
            ColumnType::infer([].iter(), Some("INTEGER")),
            ColumnType::Int8
        );
    }

    #[test]
    fn converts_or_explains() {
        assert_eq!(
            convert(&Value::Text("42".into()), ColumnType::Int8),
            Ok(Cell::Int(42))
        );
        assert!(convert(&Value::Text("x".into()), ColumnType::Int8).is_err());
        assert_eq!(
            convert(&Value::Blob(vec![1, 255]), ColumnType::Text),
            Ok(Cell::Text("\\x01ff".into()))
        );
    }
}
