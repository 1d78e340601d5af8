//! How engine errors look to clients: a SQLSTATE for the PostgreSQL protocol and a stable
//! lower-case code for the HTTP API, both derived from the [`Error`] variant (never from
//! the message text, which may change).

use heliosdb_lite::{ConstraintKind, Error};

/// A client-facing error: what the PostgreSQL protocol and the HTTP API report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    /// Five-character SQLSTATE.
    pub sqlstate: &'static str,
    /// Stable code for the HTTP API (`snapshot_too_old`, `syntax_error`...).
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
}

impl ClientError {
    /// An error with the given SQLSTATE, code and message.
    pub fn new(sqlstate: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            sqlstate,
            code,
            message: message.into(),
        }
    }

    /// The statement ran longer than the server's statement timeout.
    pub fn timeout(secs: u64) -> Self {
        Self::new(
            "57014",
            "statement_timeout",
            format!(
                "canceling statement due to statement timeout \
                 (server.statement_timeout_secs = {secs})"
            ),
        )
    }

    /// The server is shutting down.
    pub fn shutting_down() -> Self {
        Self::new(
            "57P01",
            "shutting_down",
            "terminating: the server is shutting down",
        )
    }

    /// A statement other than ROLLBACK after a failed statement in a transaction.
    pub fn transaction_aborted() -> Self {
        Self::new(
            "25P02",
            "transaction_aborted",
            "current transaction is aborted, commands ignored until end of transaction block",
        )
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Error> for ClientError {
    fn from(e: Error) -> Self {
        let (sqlstate, code) = classify(&e);
        ClientError::new(sqlstate, code, e.to_string())
    }
}

/// SQLSTATE and stable code of an engine error. Snapshot-too-old gets PostgreSQL's own
/// `72000` (snapshot_too_old); a point that does not exist yet (or a rolled-back
/// transaction) is "invalid parameter value" with its own code.
fn classify(e: &Error) -> (&'static str, &'static str) {
    match e {
        Error::Syntax { .. } => ("42601", "syntax_error"),
        Error::Constraint { kind, .. } => match kind {
            ConstraintKind::PrimaryKey | ConstraintKind::Unique => ("23505", "unique_violation"),
            ConstraintKind::NotNull => ("23502", "not_null_violation"),
            ConstraintKind::Check => ("23514", "check_violation"),
            ConstraintKind::ForeignKey => ("23503", "foreign_key_violation"),
            ConstraintKind::Datatype => ("42804", "datatype_mismatch"),
        },
        // PostgreSQL's code for an error raised by a trigger or function.
        Error::Raised { .. } => ("P0001", "raise_exception"),
        Error::NoSuchTable(_) | Error::TableNotAtPoint { .. } => ("42P01", "undefined_table"),
        Error::NoSuchColumn(_) => ("42703", "undefined_column"),
        Error::AlreadyExists(_) => ("42P07", "duplicate_object"),
        Error::TypeMismatch(_) => ("42804", "datatype_mismatch"),
        Error::Invalid(_) => ("42000", "invalid_statement"),
        Error::Unsupported(_) => ("0A000", "feature_not_supported"),
        Error::SnapshotTooOld { .. } => ("72000", "snapshot_too_old"),
        Error::SnapshotNotAvailable { .. } => ("22023", "snapshot_not_available"),
        Error::TimeTravelDisabled => ("55000", "time_travel_disabled"),
        Error::Busy(_) => ("40001", "busy"),
        Error::Transaction(_) => ("25000", "invalid_transaction_state"),
        Error::QueryReturnedNoRows => ("02000", "no_data"),
        Error::Parameter(_) => ("08P01", "parameter_error"),
        Error::ReadOnly(_) => ("25006", "read_only"),
        Error::Config(_) => ("F0000", "config_error"),
        Error::Interrupted => ("57014", "canceled"),
        Error::StatementTimeout(_) => ("57014", "statement_timeout"),
        Error::LimitExceeded(_) | Error::MemoryBudget(_) => ("53000", "insufficient_resources"),
        Error::Io(_) | Error::Storage(_) => ("58030", "io_error"),
        Error::Corruption(_) => ("XX001", "data_corrupted"),
        _ => ("XX000", "internal_error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_too_old_has_its_own_sqlstate_and_code() {
        let conn = heliosdb_lite::Connection::open_in_memory().unwrap();
        conn.execute("CREATE TABLE t (a INTEGER)", []).unwrap();
        let e = conn
            .query_row("SELECT * FROM t AS OF SCN 99", [], |_| Ok(()))
            .unwrap_err();
        let c = ClientError::from(e);
        assert_eq!((c.sqlstate, c.code), ("22023", "snapshot_not_available"));
        let e = Error::SnapshotTooOld {
            requested: "SCN 1".into(),
            available: heliosdb_lite::error::AvailableRange {
                oldest: None,
                newest: None,
            },
        };
        let c = ClientError::from(e);
        assert_eq!((c.sqlstate, c.code), ("72000", "snapshot_too_old"));
    }
}
