//! Rows kept with their NULLs left out, for operators that hold many rows in memory.
//!
//! A join's rows are as wide as the whole query (every relation's columns), and most of
//! their slots are NULL: the relations not joined yet, and the columns no one reads (column
//! pruning leaves them undecoded). A hash join's build table kept them whole, so a few
//! thousand rows of a wide query used up the memory budget and spilled. A sparse row keeps
//! a bit per slot and only the values that are not NULL, which is what the budget counts.

use super::super::value::Value;
use super::memory::{value_bytes, ROW_OVERHEAD};
use super::Row;

/// Widest row stored sparsely (one bit per slot in a `u64`); wider rows are kept whole.
const MAX_SPARSE_WIDTH: usize = 64;

/// A row without its NULL slots.
pub(super) enum SparseRow {
    /// Bit `i` of `present` is set when slot `i` holds the next of `values`.
    Sparse {
        width: u8,
        present: u64,
        values: Box<[Value]>,
    },
    /// A row too wide for the bit set.
    Whole(Row),
}

impl SparseRow {
    /// Packs a row, moving its values.
    pub(super) fn new(row: Row) -> Self {
        if row.len() > MAX_SPARSE_WIDTH {
            return Self::Whole(row);
        }
        let width = row.len() as u8;
        let mut present = 0u64;
        let values: Vec<Value> = row
            .into_iter()
            .enumerate()
            .filter(|(_, v)| !v.is_null())
            .map(|(i, v)| {
                present |= 1 << i;
                v
            })
            .collect();
        Self::Sparse {
            width,
            present,
            values: values.into_boxed_slice(),
        }
    }

    /// The whole row again, in a new vector.
    pub(super) fn to_row(&self) -> Row {
        let mut row = Vec::new();
        self.write_into(&mut row);
        row
    }

    /// The whole row again, written over `out` (which is cleared first): a reused buffer
    /// for rows only looked at.
    pub(super) fn write_into(&self, out: &mut Row) {
        out.clear();
        match self {
            Self::Whole(row) => out.extend_from_slice(row),
            Self::Sparse {
                width,
                present,
                values,
            } => {
                out.resize(*width as usize, Value::Null);
                let mut bits = *present;
                for v in values.iter() {
                    let slot = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    out[slot] = v.clone();
                }
            }
        }
    }

    /// Bytes the stored row holds, for the memory budget.
    pub(super) fn bytes(&self) -> usize {
        match self {
            Self::Whole(row) => super::memory::row_bytes(row),
            Self::Sparse { values, .. } => {
                ROW_OVERHEAD + 16 + values.iter().map(value_bytes).sum::<usize>()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_comes_back_as_it_went_in() {
        let row = vec![
            Value::Null,
            Value::Integer(3),
            Value::Null,
            Value::Text("north".into()),
            Value::Null,
        ];
        let sparse = SparseRow::new(row.clone());
        assert_eq!(sparse.to_row(), row);
        let mut out = vec![Value::Integer(9); 8];
        sparse.write_into(&mut out);
        assert_eq!(out, row);
        assert!(sparse.bytes() < super::super::memory::row_bytes(&row));
    }

    #[test]
    fn empty_all_null_and_wide_rows() {
        for row in [
            Vec::new(),
            vec![Value::Null; 3],
            (0..100).map(Value::Integer).collect::<Row>(),
            (0..64).map(Value::Integer).collect::<Row>(),
        ] {
            assert_eq!(SparseRow::new(row.clone()).to_row(), row);
        }
    }
}
