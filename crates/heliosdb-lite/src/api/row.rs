//! Result rows.

use super::types::{FromSql, FromSqlError, Value};
use crate::error::{Error, Result};
use std::sync::Arc;

/// Something that picks a column: a position or a name.
pub trait RowIndex {
    /// The column position in `columns`.
    fn index(&self, columns: &[String]) -> Result<usize>;
}

impl RowIndex for usize {
    fn index(&self, columns: &[String]) -> Result<usize> {
        if *self < columns.len() {
            Ok(*self)
        } else {
            Err(Error::InvalidColumnIndex(*self))
        }
    }
}

impl RowIndex for &str {
    fn index(&self, columns: &[String]) -> Result<usize> {
        columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(self))
            .ok_or_else(|| Error::InvalidColumnName(self.to_string()))
    }
}

/// One row of a result.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    pub(crate) values: &'a [Value],
    pub(crate) columns: &'a [String],
    /// Per column: declared DATE, DATETIME or TIMESTAMP (empty when none is).
    pub(crate) temporal: &'a [bool],
}

impl<'a> Row<'a> {
    /// Reads a column converted to `T`.
    pub fn get<I: RowIndex, T: FromSql>(&self, idx: I) -> Result<T> {
        let i = idx.index(self.columns)?;
        let v = &self.values[i];
        let converted = if self.temporal.get(i).copied().unwrap_or(false) {
            T::temporal_column_result(v)
        } else {
            T::column_result(v)
        };
        converted.map_err(|e| match e {
            FromSqlError::InvalidType => Error::InvalidColumnType {
                index: i,
                name: self.columns[i].clone(),
                found: v.type_name().to_string(),
                wanted: std::any::type_name::<T>().to_string(),
            },
            FromSqlError::OutOfRange(n) => Error::InvalidColumnType {
                index: i,
                name: self.columns[i].clone(),
                found: format!("integer {n} (out of range)"),
                wanted: std::any::type_name::<T>().to_string(),
            },
            FromSqlError::Other(m) => Error::InvalidColumnType {
                index: i,
                name: self.columns[i].clone(),
                found: m,
                wanted: std::any::type_name::<T>().to_string(),
            },
        })
    }

    /// Reads a column as a dynamic value.
    pub fn get_ref<I: RowIndex>(&self, idx: I) -> Result<&'a Value> {
        Ok(&self.values[idx.index(self.columns)?])
    }

    /// All values of the row.
    pub fn values(&self) -> &'a [Value] {
        self.values
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True for a row without columns.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Column names.
    pub fn column_names(&self) -> &'a [String] {
        self.columns
    }
}

/// The rows of a query, read with [`Rows::next`] (or all at once with
/// [`Rows::into_values`]).
///
/// A query outside an explicit transaction streams: each call runs the plan only as far as
/// the next row, on the snapshot the query started at, so memory does not grow with the
/// result and other statements can run on the connection meanwhile. Inside a transaction
/// the rows are computed when the query runs.
#[derive(Debug)]
pub struct Rows {
    pub(crate) columns: Arc<Vec<String>>,
    pub(crate) temporal: Arc<Vec<bool>>,
    pub(crate) source: RowSource,
    pub(crate) current: Option<Vec<Value>>,
    /// Type group per result column (see [`Rows::column_types`]).
    pub(crate) column_types: Vec<Option<&'static str>>,
    /// Rows the statement inserted, updated or deleted.
    pub(crate) changes: u64,
    /// The statement has a result set.
    pub(crate) returns_rows: bool,
    /// The connection's last inserted rowid as the statement left it (`None` for a
    /// streaming query, which inserts nothing).
    pub(crate) last_insert_rowid: Option<i64>,
}

/// Where a [`Rows`] takes its rows from.
#[derive(Debug)]
pub(crate) enum RowSource {
    /// Computed when the statement ran.
    Collected(std::vec::IntoIter<Vec<Value>>),
    /// Pulled from the running plan.
    Streaming(Box<crate::sql::cursor::Cursor>),
}

impl RowSource {
    fn next(&mut self) -> Result<Option<Vec<Value>>> {
        match self {
            RowSource::Collected(rows) => Ok(rows.next()),
            RowSource::Streaming(cursor) => cursor.next(),
        }
    }
}

impl Rows {
    /// Advances to the next row.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Row<'_>>> {
        self.current = self.source.next()?;
        Ok(self.current.as_ref().map(|v| Row {
            values: v,
            columns: &self.columns,
            temporal: &self.temporal,
        }))
    }

    /// Column names of the result.
    pub fn column_names(&self) -> &[String] {
        &self.columns
    }

    /// Per result column: true for a plain reference to a column declared DATE, DATETIME or
    /// TIMESTAMP (bindings use it to convert such values to their date-time type).
    pub fn temporal_columns(&self) -> Vec<bool> {
        let mut t = self.temporal.as_ref().clone();
        t.resize(self.columns.len(), false);
        t
    }

    /// Per result column: the type group of a plain column reference, from its declared
    /// type (`INTEGER`, `REAL`, `NUMERIC`, `TEXT`, `BLOB`, `DECIMAL`, or `TIMESTAMP` for
    /// DATE / DATETIME / TIMESTAMP columns); `None` for a computed column. Bindings report
    /// it as the column's type (a DB-API `description`).
    pub fn column_types(&self) -> Vec<Option<&'static str>> {
        let mut t = self.column_types.clone();
        t.resize(self.columns.len(), None);
        t
    }

    /// Rows the statement inserted, updated or deleted (0 for a query), so that a caller
    /// running any statement through [`Statement::query`](crate::Statement::query) learns
    /// what [`Statement::execute`](crate::Statement::execute) would have returned.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// True when the statement has a result set (a query, `RETURNING`, `EXPLAIN`, `PRAGMA`),
    /// even an empty one; false for other statements.
    pub fn returns_rows(&self) -> bool {
        self.returns_rows
    }

    /// The connection's last inserted rowid right after this statement ran (read under the
    /// connection's lock, so an insert by another thread on the same connection cannot come
    /// between); `None` for a streaming query.
    pub fn last_insert_rowid(&self) -> Option<i64> {
        self.last_insert_rowid
    }

    /// Maps every remaining row.
    pub fn mapped<T, F: FnMut(&Row<'_>) -> Result<T>>(self, f: F) -> MappedRows<F> {
        MappedRows { rows: self, f }
    }

    /// The remaining rows as owned values; fails if the query fails while producing them.
    pub fn into_values(mut self) -> Result<Vec<Vec<Value>>> {
        let mut out = Vec::new();
        while let Some(row) = self.source.next()? {
            out.push(row);
        }
        Ok(out)
    }
}

/// An iterator of rows mapped by a closure.
pub struct MappedRows<F> {
    pub(crate) rows: Rows,
    pub(crate) f: F,
}

impl<T, F: FnMut(&Row<'_>) -> Result<T>> Iterator for MappedRows<F> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        let values = match self.rows.source.next() {
            Ok(v) => v?,
            Err(e) => return Some(Err(e)),
        };
        let row = Row {
            values: &values,
            columns: &self.rows.columns,
            temporal: &self.rows.temporal,
        };
        Some((self.f)(&row))
    }
}
