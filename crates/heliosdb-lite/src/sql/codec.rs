//! Byte encodings of SQL values: order-preserving keys and compact rows.
//!
//! Logical keys (below the MVCC layer's version suffix):
//! - row: `'r'` ‖ table id (u32 BE) ‖ key values
//! - index entry: `'i'` ‖ index id (u32 BE) ‖ indexed values ‖ row key values
//! - catalog entry: `'c'` ‖ escaped lower-case name
//!
//! Key values are self-delimiting and compare bytewise in SQL order (NULL < numbers < text <
//! blob), so a row key is never a prefix of another and index ranges are key ranges. A number
//! sorts by its f64 image, then integers by exact value, so every i64 keeps its identity.
//! Descending index columns store the bitwise complement.

use super::value::Value;
use crate::error::{Error, Result};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

const TAG_NULL: u8 = 0x05;
const TAG_NUM: u8 = 0x10;
const TAG_TEXT: u8 = 0x20;
const TAG_BLOB: u8 = 0x30;

/// Key prefix of a table's rows.
pub fn table_prefix(table_id: u32) -> Vec<u8> {
    // Room for the prefix and a one-column integer key (the common row key) without regrowth.
    let mut k = Vec::with_capacity(24);
    k.push(b'r');
    k.extend_from_slice(&table_id.to_be_bytes());
    k
}

/// Length of a table prefix: `'r'` and the table id.
pub const TABLE_PREFIX_LEN: usize = 5;

/// The counting group of a logical key (see `mvcc::counters`): a row counts under its
/// table's prefix; index and catalog entries are not counted.
pub fn row_count_group(key: &[u8]) -> Option<usize> {
    (key.first() == Some(&b'r') && key.len() > TABLE_PREFIX_LEN).then_some(TABLE_PREFIX_LEN)
}

/// Key prefix of an index's entries.
pub fn index_prefix(index_id: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(48);
    push_index_prefix(index_id, &mut k);
    k
}

/// Appends [`index_prefix`] to `out`, for a caller building a whole entry key in one buffer.
pub fn push_index_prefix(index_id: u32, out: &mut Vec<u8>) {
    out.push(b'i');
    out.extend_from_slice(&index_id.to_be_bytes());
}

/// Length of an index prefix: `'i'` and the index id.
pub const INDEX_PREFIX_LEN: usize = 5;

/// Prefix of all catalog entries.
pub const CATALOG_PREFIX: &[u8] = b"c";

/// Key of the catalog entry named `name` (case-insensitive).
pub fn catalog_key(name: &str) -> Vec<u8> {
    let mut k = b"c".to_vec();
    escape_bytes(name.to_lowercase().as_bytes(), &mut k);
    k
}

/// Key of the catalog entry of trigger `name` (case-insensitive). Triggers have a namespace
/// of their own, as in SQLite (`CREATE TRIGGER t ... ON t` is common), so their key follows
/// the escaped name's terminator with `t`; under [`catalog_key`] a trigger replaced the table,
/// index or view of its name. Builds before session 52 stored triggers there.
pub fn trigger_catalog_key(name: &str) -> Vec<u8> {
    let mut k = catalog_key(name);
    k.push(b't');
    k
}

/// Eight bytes that order as the float does (bytewise), with -0.0 equal to 0.0.
pub(crate) fn f64_key(f: f64) -> [u8; 8] {
    let f = if f == 0.0 { 0.0 } else { f }; // -0.0 sorts with 0.0
    let bits = f.to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits ^ (1 << 63)
    };
    ordered.to_be_bytes()
}

fn escape_bytes(b: &[u8], out: &mut Vec<u8>) {
    for &c in b {
        if c == 0 {
            out.extend_from_slice(&[0, 0xFF]);
        } else {
            out.push(c);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// Appends the order-preserving encoding of `v`; `desc` inverts the order.
pub fn encode_key_value(v: &Value, desc: bool, out: &mut Vec<u8>) {
    let start = out.len();
    // One reservation instead of a regrowth per piece: keys are built on every lookup.
    out.reserve(match v {
        Value::Null => 1,
        Value::Integer(_) => 18,
        Value::Real(_) => 10,
        Value::Decimal(_) => 26,
        Value::Text(s) => s.len() + 3,
        Value::Timestamp(_) => 32,
        Value::Blob(b) => b.len() + 3,
    });
    match v {
        Value::Null => out.push(TAG_NULL),
        Value::Integer(i) => {
            out.push(TAG_NUM);
            out.extend_from_slice(&f64_key(*i as f64));
            out.push(1);
            out.extend_from_slice(&((*i as u64) ^ (1 << 63)).to_be_bytes());
        }
        Value::Real(r) => {
            out.push(TAG_NUM);
            out.extend_from_slice(&f64_key(*r));
            out.push(0);
        }
        Value::Decimal(d) => {
            out.push(TAG_NUM);
            out.extend_from_slice(&f64_key(d.to_f64().unwrap_or(0.0)));
            out.push(2);
            out.extend_from_slice(&d.serialize());
        }
        Value::Text(s) => {
            out.push(TAG_TEXT);
            escape_bytes(s.as_bytes(), out);
        }
        Value::Timestamp(t) => {
            out.push(TAG_TEXT);
            escape_bytes(crate::time::format_datetime(t).as_bytes(), out);
        }
        Value::Blob(b) => {
            out.push(TAG_BLOB);
            escape_bytes(b, out);
        }
    }
    if desc {
        for b in &mut out[start..] {
            *b = !*b;
        }
    }
}

/// The smallest encoding prefix shared by every numeric value equal to `v` (used to widen
/// index range bounds so integer/real ties are never excluded).
pub fn encode_key_bound(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Integer(_) | Value::Real(_) | Value::Decimal(_) => {
            out.push(TAG_NUM);
            out.extend_from_slice(&f64_key(v.as_f64()));
        }
        other => encode_key_value(other, false, out),
    }
}

/// Encodes several key values.
pub fn encode_key(values: &[Value], out: &mut Vec<u8>) {
    for v in values {
        encode_key_value(v, false, out);
    }
}

/// Decodes one key value at `pos` (ascending encoding), advancing `pos`.
pub fn decode_key_value(b: &[u8], pos: &mut usize, desc: bool) -> Result<Value> {
    let byte = |p: usize| -> Result<u8> {
        b.get(p)
            .map(|x| if desc { !*x } else { *x })
            .ok_or_else(|| Error::corruption("truncated key"))
    };
    let tag = byte(*pos)?;
    *pos += 1;
    // Eight bytes at `at` as a big-endian number, the descending inversion undone.
    let word = |at: usize| -> Result<u64> {
        let raw: [u8; 8] = at
            .checked_add(8)
            .and_then(|end| b.get(at..end))
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| Error::corruption("truncated key"))?;
        let w = u64::from_be_bytes(raw);
        Ok(if desc { !w } else { w })
    };
    match tag {
        TAG_NULL => Ok(Value::Null),
        TAG_NUM => {
            *pos += 8;
            let sub = byte(*pos)?;
            *pos += 1;
            match sub {
                0 => {
                    let bits = word(*pos - 9)?;
                    let bits = if bits >> 63 == 1 {
                        bits ^ (1 << 63)
                    } else {
                        !bits
                    };
                    Ok(Value::Real(f64::from_bits(bits)))
                }
                1 => {
                    let w = word(*pos)?;
                    *pos += 8;
                    Ok(Value::Integer((w ^ (1 << 63)) as i64))
                }
                2 => {
                    let mut raw = [0u8; 16];
                    for (i, r) in raw.iter_mut().enumerate() {
                        *r = byte(*pos + i)?;
                    }
                    *pos += 16;
                    Ok(Value::Decimal(Decimal::deserialize(raw)))
                }
                _ => Err(Error::corruption("bad numeric key")),
            }
        }
        TAG_TEXT | TAG_BLOB => {
            let mut bytes = Vec::new();
            loop {
                let c = byte(*pos)?;
                *pos += 1;
                if c == 0 {
                    let n = byte(*pos)?;
                    *pos += 1;
                    match n {
                        0 => break,
                        0xFF => bytes.push(0),
                        _ => return Err(Error::corruption("bad escape in key")),
                    }
                } else {
                    bytes.push(c);
                }
            }
            if tag == TAG_TEXT {
                String::from_utf8(bytes)
                    .map(Value::Text)
                    .map_err(|_| Error::corruption("invalid UTF-8 in key"))
            } else {
                Ok(Value::Blob(bytes))
            }
        }
        _ => Err(Error::corruption("bad key tag")),
    }
}

pub(crate) fn put_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[inline]
pub(crate) fn get_varint(b: &[u8], pos: &mut usize) -> Result<u64> {
    // Most stored numbers (lengths, small integers) fit in one byte.
    if let Some(&byte) = b.get(*pos) {
        if byte < 0x80 {
            *pos += 1;
            return Ok(u64::from(byte));
        }
    }
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let byte = *b
            .get(*pos)
            .ok_or_else(|| Error::corruption("truncated row"))?;
        *pos += 1;
        if shift >= 64 {
            return Err(Error::corruption("varint too long"));
        }
        v |= u64::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
        shift += 7;
    }
}

/// Encodes a row's values.
pub fn encode_row(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 9 + 2);
    put_varint(values.len() as u64, &mut out);
    for v in values {
        encode_value_into(v, &mut out);
    }
    out
}

/// Appends one value as a row stores it (see [`encode_row`]).
pub(crate) fn encode_value_into(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(0),
        Value::Integer(i) => {
            out.push(1);
            put_varint(((*i << 1) ^ (*i >> 63)) as u64, out);
        }
        Value::Real(r) => {
            out.push(2);
            out.extend_from_slice(&r.to_le_bytes());
        }
        Value::Text(s) => {
            out.push(3);
            put_varint(s.len() as u64, out);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Timestamp(t) => {
            let s = crate::time::format_datetime(t);
            out.push(3);
            put_varint(s.len() as u64, out);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Blob(b) => {
            out.push(4);
            put_varint(b.len() as u64, out);
            out.extend_from_slice(b);
        }
        Value::Decimal(d) => {
            out.push(5);
            out.extend_from_slice(&d.serialize());
        }
    }
}

/// Decodes a row's values.
pub fn decode_row(b: &[u8]) -> Result<Vec<Value>> {
    decode_row_columns(b, None)
}

/// Decodes a row's values, only those `wanted` marks (the others read as NULL: their bytes
/// are skipped, text and blobs are not copied).
pub fn decode_row_columns(b: &[u8], wanted: Option<&[bool]>) -> Result<Vec<Value>> {
    // One spare slot: a table scan appends the rowid, and a reallocation per row costs more
    // than the decoding.
    let mut values = Vec::with_capacity(b.first().map_or(0, |&n| usize::from(n & 0x7f)) + 1);
    decode_row_into(b, wanted, &mut values)?;
    Ok(values)
}

/// [`decode_row_columns`] into `values` (cleared first), so that a scan can decode row after
/// row into one buffer.
pub fn decode_row_into(b: &[u8], wanted: Option<&[bool]>, values: &mut Vec<Value>) -> Result<()> {
    values.clear();
    let mut pos = 0;
    let n = get_varint(b, &mut pos)? as usize;
    if n > b.len() {
        return Err(Error::corruption("row value count exceeds row size"));
    }
    values.reserve(n + 1);
    // Columns after the last wanted one are not even parsed (and a row written before ADD
    // COLUMN stores fewer values than the table now has).
    let stop = match wanted {
        Some(w) if w.len() >= n => w
            .iter()
            .rposition(|&x| x)
            .map_or(0, |last| (last + 1).min(n)),
        _ => n,
    };
    for i in 0..stop {
        if wanted.is_some_and(|w| !w.get(i).copied().unwrap_or(true)) {
            skip_value(b, &mut pos)?;
            values.push(Value::Null);
            continue;
        }
        values.push(read_value(b, &mut pos)?);
    }
    values.resize(n, Value::Null);
    Ok(())
}

/// The stored value of column `col` of a row, without decoding the others; `None` if the
/// row stores fewer values (it was written before an ADD COLUMN: the column's default
/// applies).
pub fn decode_row_column(b: &[u8], col: usize) -> Result<Option<Value>> {
    let mut pos = 0;
    let n = get_varint(b, &mut pos)? as usize;
    if col >= n {
        return Ok(None);
    }
    for _ in 0..col {
        skip_value(b, &mut pos)?;
    }
    read_value(b, &mut pos).map(Some)
}

/// `len` bytes of `b` from `pos`, which moves past them.
fn take_bytes<'b>(b: &'b [u8], pos: &mut usize, len: usize) -> Result<&'b [u8]> {
    let end = pos
        .checked_add(len)
        .filter(|&e| e <= b.len())
        .ok_or_else(|| Error::corruption("truncated row"))?;
    let s = &b[*pos..end];
    *pos = end;
    Ok(s)
}

/// Moves `pos` past one stored value.
#[inline]
fn skip_value(b: &[u8], pos: &mut usize) -> Result<()> {
    let tag = *b
        .get(*pos)
        .ok_or_else(|| Error::corruption("truncated row"))?;
    *pos += 1;
    match tag {
        0 => {}
        1 => {
            get_varint(b, pos)?;
        }
        2 => {
            take_bytes(b, pos, 8)?;
        }
        3 | 4 => {
            let len = get_varint(b, pos)? as usize;
            take_bytes(b, pos, len)?;
        }
        5 => {
            take_bytes(b, pos, 16)?;
        }
        _ => return Err(Error::corruption("bad value tag in row")),
    }
    Ok(())
}

/// Reads one stored value at `pos`, which moves past it.
pub(crate) fn read_value(b: &[u8], pos: &mut usize) -> Result<Value> {
    let tag = *b
        .get(*pos)
        .ok_or_else(|| Error::corruption("truncated row"))?;
    *pos += 1;
    Ok(match tag {
        0 => Value::Null,
        1 => {
            let z = get_varint(b, pos)?;
            Value::Integer(((z >> 1) as i64) ^ -((z & 1) as i64))
        }
        2 => Value::Real(f64::from_le_bytes(
            take_bytes(b, pos, 8)?.try_into().expect("8"),
        )),
        3 => {
            let len = get_varint(b, pos)? as usize;
            let s = take_bytes(b, pos, len)?;
            Value::Text(
                String::from_utf8(s.to_vec())
                    .map_err(|_| Error::corruption("invalid UTF-8 in row"))?,
            )
        }
        4 => {
            let len = get_varint(b, pos)? as usize;
            Value::Blob(take_bytes(b, pos, len)?.to_vec())
        }
        5 => Value::Decimal(Decimal::deserialize(
            take_bytes(b, pos, 16)?.try_into().expect("16"),
        )),
        _ => return Err(Error::corruption("bad value tag in row")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::Integer),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::Real),
            ".*".prop_map(Value::Text),
            proptest::collection::vec(any::<u8>(), 0..8).prop_map(Value::Blob),
        ]
    }

    proptest! {
        #[test]
        fn key_order_matches_sql_order(a in arb_value(), b in arb_value()) {
            let (mut ka, mut kb) = (Vec::new(), Vec::new());
            encode_key_value(&a, false, &mut ka);
            encode_key_value(&b, false, &mut kb);
            let sql = a.total_cmp(&b);
            if sql != std::cmp::Ordering::Equal {
                prop_assert_eq!(ka.cmp(&kb), sql);
            }
            let mut pos = 0;
            prop_assert_eq!(decode_key_value(&ka, &mut pos, false).unwrap(), a.clone());
            prop_assert_eq!(pos, ka.len());
            let (mut da, mut db) = (Vec::new(), Vec::new());
            encode_key_value(&a, true, &mut da);
            encode_key_value(&b, true, &mut db);
            if sql != std::cmp::Ordering::Equal {
                prop_assert_eq!(da.cmp(&db), sql.reverse());
            }
            let mut pos = 0;
            prop_assert_eq!(decode_key_value(&da, &mut pos, true).unwrap(), a);
        }

        #[test]
        fn rows_round_trip(vals in proptest::collection::vec(arb_value(), 0..6)) {
            prop_assert_eq!(decode_row(&encode_row(&vals)).unwrap(), vals);
        }

        #[test]
        fn partial_decodes_agree_with_the_whole_row(
            vals in proptest::collection::vec(arb_value(), 0..6),
            wanted in proptest::collection::vec(any::<bool>(), 0..8),
        ) {
            let bytes = encode_row(&vals);
            for (i, v) in vals.iter().enumerate() {
                prop_assert_eq!(decode_row_column(&bytes, i).unwrap(), Some(v.clone()));
            }
            prop_assert_eq!(decode_row_column(&bytes, vals.len()).unwrap(), None);
            // A buffer holding another row's values is cleared first.
            let mut buf = vec![Value::Integer(7); 9];
            decode_row_into(&bytes, Some(&wanted), &mut buf).unwrap();
            prop_assert_eq!(&buf, &decode_row_columns(&bytes, Some(&wanted)).unwrap());
            prop_assert_eq!(buf.len(), vals.len());
            for (i, v) in buf.iter().enumerate() {
                let expect = if wanted.get(i).copied().unwrap_or(true) { vals[i].clone() } else { Value::Null };
                prop_assert_eq!(v, &expect);
            }
        }

        #[test]
        fn garbage_rows_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = decode_row(&bytes);
            let _ = decode_row_column(&bytes, 3);
            let mut pos = 0;
            let _ = decode_key_value(&bytes, &mut pos, false);
        }
    }
}
