//! Collating sequences: BINARY, NOCASE and RTRIM, as SQLite defines them.
//!
//! A collation decides when two texts are equal and how they order. Every collation here is
//! "binary comparison of a key": NOCASE compares texts with ASCII letters folded to lower case,
//! RTRIM with trailing spaces removed. So a comparison, a sort, a group or an index entry under
//! a collation works on [`Collation::key`] of its values with the ordinary value order, and
//! the engine needs no collation-aware comparator anywhere else. Non-text values are their own
//! key (collations only affect text).

use super::value::Value;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// A collating sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Collation {
    /// Byte-wise comparison (the default).
    #[default]
    Binary,
    /// ASCII letters compare without case (SQLite folds ASCII only).
    NoCase,
    /// Trailing spaces are ignored.
    Rtrim,
}

impl Collation {
    /// Looks up a collation by name (case-insensitive), as `COLLATE name` writes it.
    pub fn from_name(name: &str) -> Result<Collation> {
        match name.to_ascii_lowercase().as_str() {
            "binary" => Ok(Collation::Binary),
            "nocase" => Ok(Collation::NoCase),
            "rtrim" => Ok(Collation::Rtrim),
            _ => Err(Error::invalid(format!(
                "no such collation sequence: {name}"
            ))),
        }
    }

    /// The collation's SQL name.
    pub fn name(self) -> &'static str {
        match self {
            Collation::Binary => "BINARY",
            Collation::NoCase => "NOCASE",
            Collation::Rtrim => "RTRIM",
        }
    }

    /// True for BINARY, whose key is the value itself.
    pub fn is_binary(self) -> bool {
        self == Collation::Binary
    }

    /// The value that compares, under the plain value order, as `v` does under this collation.
    pub fn key(self, v: Value) -> Value {
        match (self, v) {
            (Collation::NoCase, Value::Text(s)) => Value::Text(s.to_ascii_lowercase()),
            (Collation::Rtrim, Value::Text(s)) => Value::Text(s.trim_end_matches(' ').to_string()),
            (_, v) => v,
        }
    }
}

/// How an expression carries a collation into a comparison, by SQLite's precedence: an
/// explicit `COLLATE` beats a column's declared collation, which beats none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollationSource {
    /// Written with the postfix `COLLATE` operator.
    Explicit(Collation),
    /// The declared collation of the column the expression reads.
    Column(Collation),
}

impl CollationSource {
    /// The collation itself.
    pub fn collation(self) -> Collation {
        match self {
            CollationSource::Explicit(c) | CollationSource::Column(c) => c,
        }
    }
}

/// The collation a binary comparison uses: the left operand's explicit collation, else the
/// right's, else the left column's, else the right column's, else BINARY.
pub fn for_comparison(left: Option<CollationSource>, right: Option<CollationSource>) -> Collation {
    match (left, right) {
        (Some(CollationSource::Explicit(c)), _) | (_, Some(CollationSource::Explicit(c))) => c,
        (Some(CollationSource::Column(c)), _) | (_, Some(CollationSource::Column(c))) => c,
        _ => Collation::Binary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_precedence() {
        assert_eq!(Collation::NoCase.key("AbC".into()), Value::from("abc"));
        assert_eq!(Collation::Rtrim.key("a  ".into()), Value::from("a"));
        assert_eq!(Collation::NoCase.key(Value::Integer(1)), Value::Integer(1));
        assert!(Collation::from_name("klingon").is_err());
        let col = Some(CollationSource::Column(Collation::Binary));
        let exp = Some(CollationSource::Explicit(Collation::NoCase));
        assert_eq!(for_comparison(col, exp), Collation::NoCase);
        assert_eq!(
            for_comparison(col, Some(CollationSource::Column(Collation::Rtrim))),
            Collation::Binary
        );
    }
}
