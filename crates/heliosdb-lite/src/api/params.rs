//! Statement parameters: arrays, slices, tuples, named lists and the `params!` macro.

use super::types::{ToSql, Value};
use crate::error::{Error, Result};
use crate::sql::parser::ParsedStatement;

/// Values to bind to a statement's placeholders.
pub trait Params {
    /// Produces the values in parameter order.
    fn bind(self, stmt: &ParsedStatement) -> Result<Vec<Value>>;
}

fn positional(values: Vec<Value>, stmt: &ParsedStatement) -> Result<Vec<Value>> {
    check_count(values.len(), stmt)?;
    Ok(values)
}

/// Fails unless `supplied` values fill the placeholders of `stmt`.
pub(super) fn check_count(supplied: usize, stmt: &ParsedStatement) -> Result<()> {
    if supplied != stmt.param_count {
        return Err(Error::Parameter(format!(
            "statement has {} parameter(s) but {} value(s) were supplied",
            stmt.param_count, supplied
        )));
    }
    Ok(())
}

impl Params for [&(dyn ToSql + Send + Sync); 0] {
    fn bind(self, stmt: &ParsedStatement) -> Result<Vec<Value>> {
        positional(Vec::new(), stmt)
    }
}

impl Params for () {
    fn bind(self, stmt: &ParsedStatement) -> Result<Vec<Value>> {
        positional(Vec::new(), stmt)
    }
}

impl<T: ToSql> Params for &[T] {
    fn bind(self, stmt: &ParsedStatement) -> Result<Vec<Value>> {
        positional(self.iter().map(ToSql::to_sql).collect::<Result<_>>()?, stmt)
    }
}

impl<T: ToSql> Params for &Vec<T> {
    fn bind(self, stmt: &ParsedStatement) -> Result<Vec<Value>> {
        self.as_slice().bind(stmt)
    }
}

impl<T: ToSql> Params for Vec<T> {
    fn bind(self, stmt: &ParsedStatement) -> Result<Vec<Value>> {
        self.as_slice().bind(stmt)
    }
}

impl Params for &[(&str, &dyn ToSql)] {
    fn bind(self, stmt: &ParsedStatement) -> Result<Vec<Value>> {
        let mut out = vec![None; stmt.param_count];
        for (name, v) in self {
            let pos = stmt
                .param_names
                .iter()
                .position(|n| n.as_deref() == Some(*name))
                .ok_or_else(|| Error::Parameter(format!("no parameter named {name}")))?;
            out[pos] = Some(v.to_sql()?);
        }
        out.into_iter()
            .enumerate()
            .map(|(i, v)| {
                v.ok_or_else(|| {
                    Error::Parameter(format!(
                        "no value for parameter {}",
                        stmt.param_names[i]
                            .clone()
                            .unwrap_or_else(|| format!("?{}", i + 1))
                    ))
                })
            })
            .collect()
    }
}

macro_rules! array_params {
    ($($n:literal)*) => {$(
        impl<T: ToSql> Params for [T; $n] {
            fn bind(self, stmt: &ParsedStatement) -> Result<Vec<Value>> {
                self.as_slice().bind(stmt)
            }
        }
        impl<T: ToSql> Params for &[T; $n] {
            fn bind(self, stmt: &ParsedStatement) -> Result<Vec<Value>> {
                self.as_slice().bind(stmt)
            }
        }
    )*};
}
array_params!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32);

macro_rules! tuple_params {
    ($(($($t:ident $i:tt),+))*) => {$(
        impl<$($t: ToSql),+> Params for ($($t,)+) {
            fn bind(self, stmt: &ParsedStatement) -> Result<Vec<Value>> {
                positional(vec![$(self.$i.to_sql()?),+], stmt)
            }
        }
    )*};
}
tuple_params! {
    (A 0)
    (A 0, B 1)
    (A 0, B 1, C 2)
    (A 0, B 1, C 2, D 3)
    (A 0, B 1, C 2, D 3, E 4)
    (A 0, B 1, C 2, D 3, E 4, F 5)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8)
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9)
}

/// Parameters from any iterator of values.
pub struct ParamsFromIter<I>(I);

/// Binds the items of an iterator, in order.
pub fn params_from_iter<I>(iter: I) -> ParamsFromIter<I>
where
    I: IntoIterator,
    I::Item: ToSql,
{
    ParamsFromIter(iter)
}

impl<I> Params for ParamsFromIter<I>
where
    I: IntoIterator,
    I::Item: ToSql,
{
    fn bind(self, stmt: &ParsedStatement) -> Result<Vec<Value>> {
        positional(
            self.0
                .into_iter()
                .map(|v| v.to_sql())
                .collect::<Result<_>>()?,
            stmt,
        )
    }
}

/// Builds a parameter slice from expressions of different types:
/// `conn.execute("INSERT INTO t VALUES (?, ?)", params![1, "a"])`.
#[macro_export]
macro_rules! params {
    () => {
        &[] as &[&dyn $crate::types::ToSql]
    };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::types::ToSql),+] as &[&dyn $crate::types::ToSql]
    };
}

/// Builds a named parameter list: `named_params! { ":id": 1, ":name": "a" }`.
#[macro_export]
macro_rules! named_params {
    () => {
        &[] as &[(&str, &dyn $crate::types::ToSql)]
    };
    ($($name:literal: $p:expr),+ $(,)?) => {
        &[$(($name, &$p as &dyn $crate::types::ToSql)),+] as &[(&str, &dyn $crate::types::ToSql)]
    };
}
