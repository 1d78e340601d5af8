//! Rows encoded with their NULLs left out, for operators that hold many rows in memory.
//!
//! A join's rows are as wide as the whole query (every relation's columns), and most of
//! their slots are NULL: the relations not joined yet, and the columns no one reads (column
//! pruning leaves them undecoded). A hash join's build table kept them whole, so a few
//! thousand rows of a wide query used up the memory budget and spilled. A sparse row keeps
//! a bit per slot and only the values that are not NULL, and keeps them as bytes (the row
//! codec's value encoding) in one arena rather than as values in an allocation of their
//! own: an accounts row of two integers takes about 20 bytes instead of 130, so a build
//! side of 100,000 rows fits in a few MiB. Rows are decoded again as they are matched.

use super::super::codec::{encode_value_into, get_varint, put_varint, read_value};
use super::super::value::Value;
use super::Row;
use crate::error::{Error, Result};

/// Widest row whose present slots fit in the bitmap; wider rows keep every slot.
const MAX_SPARSE_WIDTH: usize = 64;

/// Appends `row` to `out`: its width, then (up to [`MAX_SPARSE_WIDTH`] slots) a bitmap of
/// the slots that hold a value and those values, or (wider) every value.
pub(super) fn encode_sparse(row: &[Value], out: &mut Vec<u8>) {
    put_varint(row.len() as u64, out);
    if row.len() > MAX_SPARSE_WIDTH {
        row.iter().for_each(|v| encode_value_into(v, out));
        return;
    }
    let present = row
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_null())
        .fold(0u64, |bits, (i, _)| bits | 1 << i);
    put_varint(present, out);
    row.iter()
        .filter(|v| !v.is_null())
        .for_each(|v| encode_value_into(v, out));
}

/// Decodes a row [`encode_sparse`] wrote into `out` (cleared first).
pub(super) fn decode_sparse_into(b: &[u8], out: &mut Row) -> Result<()> {
    let mut pos = 0;
    let width = get_varint(b, &mut pos)? as usize;
    if width > b.len().max(MAX_SPARSE_WIDTH) {
        return Err(Error::Corruption("a join's row buffer is damaged".into()));
    }
    out.clear();
    if width > MAX_SPARSE_WIDTH {
        for _ in 0..width {
            out.push(read_value(b, &mut pos)?);
        }
        return Ok(());
    }
    out.resize(width, Value::Null);
    let mut bits = get_varint(b, &mut pos)?;
    while bits != 0 {
        let slot = bits.trailing_zeros() as usize;
        bits &= bits - 1;
        if let Some(v) = out.get_mut(slot) {
            *v = read_value(b, &mut pos)?;
        }
    }
    Ok(())
}

/// Decodes a row [`encode_sparse`] wrote.
pub(super) fn decode_sparse(b: &[u8]) -> Result<Row> {
    let mut row = Vec::new();
    decode_sparse_into(b, &mut row)?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(row: &Row) -> Row {
        let mut b = Vec::new();
        encode_sparse(row, &mut b);
        decode_sparse(&b).expect("decodes")
    }

    #[test]
    fn a_row_comes_back_as_it_went_in() {
        let row = vec![
            Value::Null,
            Value::Integer(3),
            Value::Null,
            Value::Text("north".into()),
            Value::Null,
            Value::Real(-0.5),
            Value::Blob(vec![0, 1]),
            Value::Decimal(rust_decimal::Decimal::new(1234, 2)),
            Value::Integer(i64::MIN),
        ];
        assert_eq!(round_trip(&row), row);
        let mut b = Vec::new();
        encode_sparse(&row, &mut b);
        let mut out = vec![Value::Integer(9); 12];
        decode_sparse_into(&b, &mut out).expect("decodes");
        assert_eq!(out, row);
        assert!(b.len() < super::super::memory::row_bytes(&row) / 4);
    }

    #[test]
    fn empty_all_null_and_wide_rows() {
        for row in [
            Vec::new(),
            vec![Value::Null; 3],
            (0..100).map(Value::Integer).collect::<Row>(),
            (0..64).map(Value::Integer).collect::<Row>(),
            (0..65)
                .map(|i| {
                    if i % 2 == 0 {
                        Value::Null
                    } else {
                        Value::Integer(i)
                    }
                })
                .collect(),
        ] {
            assert_eq!(round_trip(&row), row);
        }
    }
}
