//! STRICT tables (SQLite 3.37): every column declares one of six types, and a value that
//! cannot be stored losslessly as its column's type is refused instead of being kept as it
//! came, which is what an ordinary table does.
//!
//! The conversion is SQLite's: the column's affinity is applied first (text `'12'` becomes
//! the integer 12 in an INTEGER column, 3.0 becomes 3), and only then is the value's type
//! checked, so the error names the type the value had after that conversion.

use super::catalog::{ColumnDef, TableDef};
use super::value::{Affinity, Value};
use crate::error::{ConstraintKind, Error, Result};

/// The column types a STRICT table accepts, as SQLite names them in its errors.
const STRICT_TYPES: [&str; 6] = ["INT", "INTEGER", "REAL", "TEXT", "BLOB", "ANY"];

/// Checks the declared type of a column of a STRICT table (CREATE TABLE, ADD COLUMN) and
/// returns the affinity the column takes: ANY keeps values as they are given (where an
/// ordinary table's ANY column prefers numbers).
pub fn column_affinity(table: &str, col: &ColumnDef) -> Result<Affinity> {
    if col.type_name.trim().is_empty() {
        return Err(Error::invalid(format!(
            "missing datatype for {table}.{}",
            col.name
        )));
    }
    let upper = col.type_name.to_ascii_uppercase();
    if !STRICT_TYPES.contains(&upper.as_str()) {
        return Err(Error::invalid(format!(
            "unknown datatype for {table}.{}: \"{}\"",
            col.name, col.type_name
        )));
    }
    Ok(if upper == "ANY" {
        Affinity::Blob
    } else {
        Affinity::from_type_name(&upper)
    })
}

/// The value as column `col` of the STRICT table `def` stores it, or SQLite's
/// "cannot store TEXT value in INTEGER column t.a".
pub fn coerce(def: &TableDef, col: usize, v: Value) -> Result<Value> {
    let column = &def.columns[col];
    let v = v.apply_affinity(column.affinity);
    if def.rowid_column == Some(col) {
        // The rowid's own check ("datatype mismatch") applies, as in SQLite.
        return Ok(v);
    }
    let upper = column.type_name.to_ascii_uppercase();
    let fits = matches!(
        (&v, upper.as_str()),
        (Value::Null, _)
            | (_, "ANY")
            | (Value::Integer(_), "INT" | "INTEGER")
            | (Value::Real(_), "REAL")
            | (Value::Text(_) | Value::Timestamp(_), "TEXT")
            | (Value::Blob(_), "BLOB")
    );
    if fits {
        return Ok(v);
    }
    Err(Error::Constraint {
        kind: ConstraintKind::Datatype,
        table: def.name.clone(),
        column: Some(column.name.clone()),
        detail: Some(format!("{} value in {upper} column", stored_type(&v))),
    })
}

/// A value's type as SQLite's datatype errors name it.
fn stored_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NULL",
        Value::Integer(_) => "INT",
        Value::Real(_) | Value::Decimal(_) => "REAL",
        Value::Text(_) | Value::Timestamp(_) => "TEXT",
        Value::Blob(_) => "BLOB",
    }
}

/// The value as column `col` of `def` stores it: converted by the column's affinity, and in a
/// STRICT table refused when it does not fit the declared type.
pub fn column_value(def: &TableDef, col: usize, v: Value) -> Result<Value> {
    if def.strict {
        coerce(def, col, v)
    } else {
        Ok(v.apply_affinity(def.columns[col].affinity))
    }
}
