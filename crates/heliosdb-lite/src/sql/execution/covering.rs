//! Covering index scans: rows built from index entries alone, with no lookup of the row.
//!
//! An index entry's key holds the indexed values and then the row's key (its rowid, or the
//! primary-key values of a WITHOUT ROWID table). When every column a scan must produce (the
//! ones its query reads, as column pruning computed them, its filter included) is among
//! those, the entry says all the scan needs, and the point lookup of the row per entry, which
//! costs more than reading the entry itself, is skipped. SQLite does the same ("USING
//! COVERING INDEX").
//!
//! A part of the index can stand for its column only when the entry holds the column's value
//! as stored: a plain column (not an expression) under the BINARY collation (other
//! collations store a collation key, see `catalog::IndexColumn`). Values keep their type
//! through the key encoding (integer, real, decimal, text, blob), so the rows are the same as
//! a lookup would decode. Tables with virtual generated columns are left out: such a column
//! is computed from others when a row is decoded.

use super::super::catalog::{IndexDef, TableInfo};
use super::super::codec;
use super::super::collation::Collation;
use super::super::value::Value;
use super::Row;
use crate::error::Result;

/// How rows are built from the entries of one index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Covering {
    /// Per index part, in key order: whether it is descending, and the table column it fills
    /// (`None`: decoded only to step over it, because the query does not read it or the part
    /// does not hold the column's value).
    parts: Vec<(bool, Option<usize>)>,
    /// Columns of the table.
    width: usize,
    /// The rowid alias column (`INTEGER PRIMARY KEY`), filled from the rowid.
    rowid_column: Option<usize>,
    /// True for a table keyed by a rowid; otherwise the key is the primary-key columns.
    has_rowid: bool,
    /// WITHOUT ROWID tables: the primary-key columns, in key order.
    primary_key: Vec<usize>,
}

/// The covering layout of `ix` for a scan of `info` that reads the columns marked in
/// `wanted` (`None`: all), if the index covers them.
pub fn covering(info: &TableInfo, ix: &IndexDef, wanted: Option<&[bool]>) -> Option<Covering> {
    let def = &info.def;
    if def.columns.iter().any(|c| c.generated.is_some()) {
        // A virtual column is computed from the others on decode; a stored one could be
        // covered, but generated tables are rare enough not to warrant the case.
        return None;
    }
    let wants = |c: usize| wanted.is_none_or(|w| w.get(c).copied().unwrap_or(true));
    let parts: Vec<(bool, Option<usize>)> = ix
        .columns
        .iter()
        .map(|p| {
            let holds_value = p.expr.is_none() && p.collation == Collation::Binary;
            (p.desc, (holds_value && wants(p.column)).then_some(p.column))
        })
        .collect();
    let has_rowid = def.has_rowid();
    let covered = |c: usize| {
        parts.iter().any(|&(_, col)| col == Some(c))
            || (has_rowid && def.rowid_column == Some(c))
            || (!has_rowid && def.primary_key.contains(&c))
    };
    if !(0..def.columns.len()).all(|c| !wants(c) || covered(c)) {
        return None;
    }
    Some(Covering {
        parts,
        width: def.columns.len(),
        rowid_column: def.rowid_column,
        has_rowid,
        primary_key: if has_rowid {
            Vec::new()
        } else {
            def.primary_key.clone()
        },
    })
}

impl Covering {
    /// The row of the index entry whose logical key is `entry_key`: the covered columns and
    /// the rowid slot filled, every other column NULL (the query does not read them).
    pub fn row(&self, entry_key: &[u8]) -> Result<Row> {
        let mut row = vec![Value::Null; self.width + 1];
        let mut pos = codec::INDEX_PREFIX_LEN;
        for &(desc, column) in &self.parts {
            let v = codec::decode_key_value(entry_key, &mut pos, desc)?;
            if let Some(c) = column {
                row[c] = v;
            }
        }
        if self.has_rowid {
            let rowid = codec::decode_key_value(entry_key, &mut pos, false)?;
            if let Some(c) = self.rowid_column {
                row[c] = rowid.clone();
            }
            row[self.width] = rowid;
        } else {
            for &c in &self.primary_key {
                row[c] = codec::decode_key_value(entry_key, &mut pos, false)?;
            }
        }
        Ok(row)
    }
}
