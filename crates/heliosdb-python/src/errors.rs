//! Engine errors as the DB-API exceptions of `heliosdb_lite.exceptions`.
//!
//! The exception classes are defined in Python (so that users can read, subclass and
//! document them like any other); this module looks them up by name when it raises one.

use heliosdb_lite::error::{AvailableRange, HistoryPoint};
use heliosdb_lite::Error;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// An instance of the exception class `name` of `heliosdb_lite.exceptions` with `message`.
pub fn raise(py: Python<'_>, name: &str, message: impl Into<String>) -> PyErr {
    let message = message.into();
    match py
        .import("heliosdb_lite.exceptions")
        .and_then(|m| m.getattr(name))
    {
        Ok(class) => match class.call1((message,)) {
            Ok(instance) => PyErr::from_value(instance),
            Err(e) => e,
        },
        // Only if the package's Python half is missing (a broken install).
        Err(_) => PyRuntimeError::new_err(message),
    }
}

/// A `ProgrammingError`: the caller passed something the API does not accept.
pub fn programming_error(py: Python<'_>, message: impl Into<String>) -> PyErr {
    raise(py, "ProgrammingError", message)
}

/// The DB-API class for an engine error, modelled on what `sqlite3` raises for the same
/// condition.
fn class_of(e: &Error) -> &'static str {
    match e {
        Error::Syntax { .. } | Error::Parameter(_) | Error::Invalid(_) | Error::Config(_) => {
            "ProgrammingError"
        }
        // sqlite3 raises IntegrityError for a trigger's RAISE (SQLITE_CONSTRAINT_TRIGGER).
        Error::Constraint { .. } | Error::Raised { .. } => "IntegrityError",
        Error::TypeMismatch(_) => "DataError",
        Error::Unsupported(_) => "NotSupportedError",
        Error::SnapshotTooOld { .. } => "SnapshotTooOldError",
        Error::SnapshotNotAvailable { .. } => "SnapshotNotAvailableError",
        Error::InvalidColumnIndex(_)
        | Error::InvalidColumnName(_)
        | Error::InvalidColumnType { .. }
        | Error::QueryReturnedNoRows => "InterfaceError",
        Error::Corruption(_) => "DatabaseError",
        Error::NoSuchTable(_)
        | Error::TableNotAtPoint { .. }
        | Error::NoSuchColumn(_)
        | Error::AlreadyExists(_)
        | Error::TimeTravelDisabled
        | Error::Busy(_)
        | Error::Transaction(_)
        | Error::ReadOnly(_)
        | Error::Io(_)
        | Error::Storage(_)
        | Error::Interrupted
        | Error::StatementTimeout(_)
        | Error::LimitExceeded(_)
        | Error::MemoryBudget(_)
        // sqlite3: "user-defined function raised exception".
        | Error::UserFunction { .. } => "OperationalError",
        _ => "DatabaseError",
    }
}

fn point_attrs(
    py: Python<'_>,
    d: &Bound<'_, PyDict>,
    prefix: &str,
    p: Option<&HistoryPoint>,
) -> PyResult<()> {
    d.set_item(format!("{prefix}_scn"), p.map(|p| p.scn))?;
    d.set_item(format!("{prefix}_txn_id"), p.map(|p| p.txid))?;
    let time = match p {
        Some(p) if p.scn > 0 => Some(crate::convert::micros_to_py(py, p.commit_time_us)?),
        _ => None,
    };
    d.set_item(format!("{prefix}_time"), time)?;
    Ok(())
}

/// Attributes the exception carries besides its message.
fn attributes<'py>(py: Python<'py>, e: &Error) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("kind", format!("{e:?}").split(['(', ' ', '{']).next())?;
    match e {
        Error::Syntax {
            line,
            column,
            token,
            ..
        } => {
            d.set_item("line", (*line > 0).then_some(*line))?;
            d.set_item("column", (*column > 0).then_some(*column))?;
            d.set_item("token", token.clone())?;
        }
        Error::SnapshotTooOld {
            requested,
            available,
        }
        | Error::SnapshotNotAvailable {
            requested,
            available,
        } => {
            let AvailableRange { oldest, newest } = available;
            d.set_item("requested", requested.clone())?;
            point_attrs(py, &d, "oldest", oldest.as_ref())?;
            point_attrs(py, &d, "newest", newest.as_ref())?;
        }
        Error::Constraint {
            kind,
            table,
            column,
            ..
        } => {
            d.set_item("constraint", kind.name())?;
            d.set_item("table", table.clone())?;
            d.set_item("column", column.clone())?;
        }
        _ => {}
    }
    Ok(d)
}

/// Converts an engine error to the matching DB-API exception, with its details as
/// attributes (a syntax error's `line`, `column` and `token`; a time-travel error's
/// `oldest_scn`, `newest_scn`, `oldest_time`...).
pub fn to_py_err(py: Python<'_>, e: Error) -> PyErr {
    let err = raise(py, class_of(&e), e.to_string());
    if let Ok(attrs) = attributes(py, &e) {
        let value = err.value(py);
        for (k, v) in attrs.iter() {
            // Best effort: the message already says everything.
            let _ = value.setattr(k.cast::<pyo3::types::PyString>().expect("str keys"), v);
        }
    }
    err
}
