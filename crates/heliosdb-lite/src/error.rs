//! The single error type of the engine.
//!
//! Every fallible call in the crate returns [`Result`]. The variants are grouped by what a caller
//! can do about them: fix the statement (syntax, no such table/column, type mismatch), fix the
//! data (constraint), pick another point in time (snapshot too old / not available), retry
//! (busy), or give up and alert someone (I/O, corruption).

use std::fmt;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A point in the commit history, used in time-travel error messages so the caller learns
/// which range of points it may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryPoint {
    /// Commit sequence number.
    pub scn: u64,
    /// Transaction id of the commit (0 for the empty database before the first commit).
    pub txid: u64,
    /// Commit time, microseconds since the Unix epoch (UTC).
    pub commit_time_us: i64,
}

impl fmt::Display for HistoryPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scn == 0 {
            return write!(f, "SCN 0 (the empty database before the first commit)");
        }
        write!(
            f,
            "SCN {} (transaction {}, {})",
            self.scn,
            self.txid,
            crate::time::format_micros(self.commit_time_us)
        )
    }
}

/// Describes the range of history that can be read, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvailableRange {
    /// The oldest point still readable, if any commit is retained.
    pub oldest: Option<HistoryPoint>,
    /// The newest committed point, if any.
    pub newest: Option<HistoryPoint>,
}

impl fmt::Display for AvailableRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.oldest, &self.newest) {
            (Some(o), Some(n)) => write!(f, "available history: oldest {o}, newest {n}"),
            _ => write!(
                f,
                "no history is available yet (nothing has been committed)"
            ),
        }
    }
}

/// Which constraint a write violated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    /// PRIMARY KEY uniqueness.
    PrimaryKey,
    /// UNIQUE column or index.
    Unique,
    /// NOT NULL column.
    NotNull,
    /// CHECK expression.
    Check,
    /// FOREIGN KEY reference.
    ForeignKey,
    /// The declared type of a column of a STRICT table (SQLite's
    /// `SQLITE_CONSTRAINT_DATATYPE`).
    Datatype,
}

impl ConstraintKind {
    /// The constraint's own name ("PRIMARY KEY", "UNIQUE", ...), as SQLite's extended
    /// result codes tell them apart; the message words a primary key as UNIQUE (see
    /// [`fmt::Display`]).
    pub fn name(self) -> &'static str {
        match self {
            ConstraintKind::PrimaryKey => "PRIMARY KEY",
            ConstraintKind::Unique => "UNIQUE",
            ConstraintKind::NotNull => "NOT NULL",
            ConstraintKind::Check => "CHECK",
            ConstraintKind::ForeignKey => "FOREIGN KEY",
            ConstraintKind::Datatype => "DATATYPE",
        }
    }
}

impl fmt::Display for ConstraintKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            // SQLite words a duplicate primary key as a UNIQUE failure too ("UNIQUE
            // constraint failed: t.id"); only its extended result code tells them apart.
            ConstraintKind::PrimaryKey => "UNIQUE",
            other => other.name(),
        })
    }
}

/// A constraint error as SQLite words it: "NOT NULL constraint failed: t.a", and for a STRICT
/// table's column type "cannot store TEXT value in INTEGER column t.a".
fn fmt_constraint(
    kind: ConstraintKind,
    table: &str,
    column: Option<&str>,
    detail: Option<&str>,
) -> String {
    let column = column.map(|c| format!(".{c}")).unwrap_or_default();
    match kind {
        ConstraintKind::Datatype => {
            format!(
                "cannot store {} {table}{column}",
                detail.unwrap_or_default()
            )
        }
        _ => format!(
            "{kind} constraint failed: {table}{column}{}",
            detail.map(|d| format!(" ({d})")).unwrap_or_default()
        ),
    }
}

/// What `RAISE()` in a trigger does, besides stopping the trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaiseAction {
    /// `RAISE(IGNORE)`: the row that fired the trigger is skipped; no error.
    Ignore,
    /// `RAISE(ROLLBACK, msg)`: the whole transaction is rolled back.
    Rollback,
    /// `RAISE(ABORT, msg)`: the statement's changes are undone.
    Abort,
    /// `RAISE(FAIL, msg)`: the statement stops; its changes so far are kept.
    Fail,
}

/// The engine's error type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SQL text could not be parsed.
    #[error("syntax error{}: {message}", fmt_position(*line, *column, token))]
    Syntax {
        /// What the parser expected or found.
        message: String,
        /// 1-based line of the offending token (0 when unknown).
        line: u64,
        /// 1-based column of the offending token (0 when unknown).
        column: u64,
        /// The offending token, when known.
        token: Option<String>,
    },
    /// A write violated a constraint.
    #[error("{}", fmt_constraint(*kind, table, column.as_deref(), detail.as_deref()))]
    Constraint {
        /// Which constraint.
        kind: ConstraintKind,
        /// Table the write was on.
        table: String,
        /// Column(s) involved, when one can be named.
        column: Option<String>,
        /// Extra detail (the CHECK expression, the referenced table...).
        detail: Option<String>,
    },
    /// A trigger called `RAISE(ROLLBACK | ABORT | FAIL, message)`: the error is the trigger's
    /// message, as in SQLite; `action` says how much of the work was undone.
    #[error("{message}")]
    Raised {
        /// ROLLBACK, ABORT or FAIL (IGNORE never reaches the caller).
        action: RaiseAction,
        /// The trigger's message.
        message: String,
    },
    /// The statement names a table (or view/index) that does not exist.
    #[error("no such table: {0}")]
    NoSuchTable(String),
    /// The table existed at no point the statement asked about (time travel before creation).
    #[error("table {table} did not exist at {point}")]
    TableNotAtPoint {
        /// Table name.
        table: String,
        /// Description of the requested point.
        point: String,
    },
    /// The statement names a column that does not exist.
    #[error("no such column: {0}")]
    NoSuchColumn(String),
    /// An object with that name already exists (the message says which, in SQLite's words).
    #[error("{0}")]
    AlreadyExists(String),
    /// A value has the wrong type for where it is used.
    #[error("type mismatch: {0}")]
    TypeMismatch(String),
    /// The statement is well formed but not valid (wrong argument count, misuse of aggregate...).
    #[error("{0}")]
    Invalid(String),
    /// A feature the engine does not support.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// A historical read asked for a point older than the retained history (collected by GC).
    #[error("snapshot too old: {requested} is before the oldest retained snapshot; {available}")]
    SnapshotTooOld {
        /// The requested point, as written by the caller.
        requested: String,
        /// What can be read.
        available: AvailableRange,
    },
    /// A historical read asked for a point that does not exist (future, unknown transaction).
    #[error("snapshot not available: {requested}; {available}")]
    SnapshotNotAvailable {
        /// The requested point and why it is not available.
        requested: String,
        /// What can be read.
        available: AvailableRange,
    },
    /// Time travel is switched off in the configuration.
    #[error("time travel is disabled (storage.time_travel_enabled = false): historical reads are not available")]
    TimeTravelDisabled,
    /// Another writer holds the write lock, or the transaction's snapshot went stale.
    #[error("database is busy: {0}")]
    Busy(String),
    /// Misuse of the transaction API (COMMIT without BEGIN, nested BEGIN...).
    #[error("transaction error: {0}")]
    Transaction(String),
    /// A query expected to return a row returned none.
    #[error("query returned no rows")]
    QueryReturnedNoRows,
    /// A column index outside the row.
    #[error("invalid column index: {0}")]
    InvalidColumnIndex(usize),
    /// A column name not in the result.
    #[error("invalid column name: {0}")]
    InvalidColumnName(String),
    /// A value could not be converted to the requested Rust type.
    #[error("invalid column type at index {index} ({name}): cannot read {found} as {wanted}")]
    InvalidColumnType {
        /// Column index.
        index: usize,
        /// Column name.
        name: String,
        /// Stored SQL type.
        found: String,
        /// Requested Rust type.
        wanted: String,
    },
    /// A write on a connection opened with [`crate::Connection::open_read_only`].
    #[error("attempt to write a read-only database: {0} is not allowed on a connection opened read-only (open the database without --readonly / open_read_only to change it)")]
    ReadOnly(String),
    /// Wrong number of parameters or unknown parameter name.
    #[error("parameter error: {0}")]
    Parameter(String),
    /// An application-defined function ([`crate::Connection::create_scalar_function`])
    /// returned an error.
    #[error("user-defined function {name}() raised an error: {message}")]
    UserFunction {
        /// The function's name (lower case).
        name: String,
        /// What it reported.
        message: String,
    },
    /// Invalid configuration.
    #[error("configuration error: {0}")]
    Config(String),
    /// An operating-system I/O error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The storage engine failed.
    #[error("storage error: {0}")]
    Storage(String),
    /// Stored data is not in the expected format (damaged or foreign file).
    #[error("database corrupt or not a HeliosDB-Lite database: {0}")]
    Corruption(String),
    /// The statement was cancelled through [`crate::Connection::interrupt`].
    #[error("interrupted: the statement was cancelled")]
    Interrupted,
    /// The statement ran longer than `statement_timeout_ms` and was cancelled.
    #[error("interrupted: the statement ran longer than statement_timeout_ms ({0} ms)")]
    StatementTimeout(u64),
    /// A statement was interrupted because a resource limit was hit.
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// A query needed more memory than `query_memory_mb`, even after spilling what it could
    /// to temporary files.
    #[error("query exceeds the memory budget: {0}")]
    MemoryBudget(String),
}

fn fmt_position(line: u64, column: u64, token: &Option<String>) -> String {
    let mut s = String::new();
    if line > 0 {
        s.push_str(&format!(" at line {line}, column {column}"));
    }
    if let Some(t) = token {
        s.push_str(&format!(" near \"{t}\""));
    }
    s
}

impl Error {
    /// Builds an [`Error::Invalid`] from anything printable.
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }

    /// Builds an [`Error::Corruption`] from anything printable.
    pub fn corruption(msg: impl Into<String>) -> Self {
        Error::Corruption(msg.into())
    }
}
