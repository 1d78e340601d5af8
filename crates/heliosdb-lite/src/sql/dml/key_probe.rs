//! Where a uniqueness check looks for rows or index entries equal to a new row's key values.
//!
//! Keys encode a number as its float image followed by whether it is an integer (and then
//! its exact value), so that a column can keep what it was given: an untyped column stores
//! 1 and 1.0 as an integer and a real, and an INTEGER or NUMERIC column keeps an integral
//! real as a real from [`INTEGRAL_REAL_LIMIT`] in magnitude up. Those are different keys, yet
//! SQL calls them equal, so a PRIMARY KEY or UNIQUE constraint must refuse the second. Where
//! the column's storage can mix them, the check reads every key with the same float image
//! (the numeric prefix the scans use for equality lookups, see `execution::scan`) and keeps
//! those whose values are equal; elsewhere the exact encoding is the whole answer.

use super::super::catalog::TableDef;
use super::super::codec;
use super::super::value::{Affinity, Value, INTEGRAL_REAL_LIMIT};
use crate::error::Result;
use crate::mvcc::Transaction;
use crate::storage::{prefix_range, Direction};
use std::cmp::Ordering;

/// The key of a stored row of `def` (a table keyed by its primary key) whose key values equal
/// those of `row`, other than `exclude`; `key` is `row`'s own key. One point read when the
/// key columns cannot hold these values under another encoding (the common case, no copy);
/// otherwise a one-column key's two encodings ([`twins`]), or the keys sharing the numbers'
/// float images, compared by value.
pub(super) fn taken_row_key(
    txn: &Transaction,
    def: &TableDef,
    row: &[Value],
    key: &[u8],
    exclude: Option<&[u8]>,
) -> Result<Option<Vec<u8>>> {
    let kinds = || {
        def.primary_key
            .iter()
            .map(|&c| (def.columns[c].affinity, false))
    };
    let mixed = def
        .primary_key
        .iter()
        .any(|&c| mixed_storage(def.columns[c].affinity, &row[c]));
    if !mixed {
        return Ok(txn.get(key)?.map(|_| key.to_vec()));
    }
    let values = super::row_key_values(def, row);
    if let Some(twins) = match &values[..] {
        [one] => twins(one),
        _ => None,
    } {
        for twin in &twins {
            let k = def.row_key(std::slice::from_ref(twin));
            if exclude != Some(&k[..]) && txn.get(&k)?.is_some() {
                return Ok(Some(k));
            }
        }
        return Ok(None);
    }
    let (prefix, _) = self::prefix(codec::table_prefix(def.id), &values, kinds());
    for kv in txn.scan(prefix_range(&prefix), Direction::Forward) {
        let (k, _) = kv?;
        let descs = std::iter::repeat(false);
        if exclude != Some(&k[..]) && holds(&k, codec::TABLE_PREFIX_LEN, &values, descs)?.is_some()
        {
            return Ok(Some(k.to_vec()));
        }
    }
    Ok(None)
}

/// The key prefix to read for values equal to `values`, encoded after `base` in columns of
/// the given (affinity, descending) kinds; `exact` when it is their exact encoding (then a
/// stored key starting with it holds exactly these values), otherwise it stops at the
/// numeric prefix of the first number that may be stored either way.
pub(super) fn prefix(
    mut base: Vec<u8>,
    values: &[Value],
    kinds: impl Iterator<Item = (Affinity, bool)>,
) -> (Vec<u8>, bool) {
    for (v, (affinity, desc)) in values.iter().zip(kinds) {
        if mixed_storage(affinity, v) {
            let start = base.len();
            codec::encode_key_bound(v, &mut base);
            if desc {
                base[start..].iter_mut().for_each(|b| *b = !*b);
            }
            return (base, false);
        }
        codec::encode_key_value(v, desc, &mut base);
    }
    (base, true)
}

/// Where the key values encoded in `key` from `pos` end, if they are equal to `values`:
/// numbers by value (1 = 1.0), anything else exactly (the values of an index under a
/// collation are stored folded, as `values` are).
pub(super) fn holds(
    key: &[u8],
    mut pos: usize,
    values: &[Value],
    descs: impl Iterator<Item = bool>,
) -> Result<Option<usize>> {
    for (v, desc) in values.iter().zip(descs) {
        let stored = codec::decode_key_value(key, &mut pos, desc)?;
        let same = match (is_number(v), is_number(&stored)) {
            (true, true) => v.total_cmp(&stored) == Ordering::Equal,
            _ => *v == stored,
        };
        if !same {
            return Ok(None);
        }
    }
    Ok(Some(pos))
}

/// The (at most two) values whose key encodings hold every number equal to `v` in a column
/// that may store it either way: itself and its integer or real twin. `None` when more numbers
/// share its float image (from 2^53 in magnitude up) or it is a decimal: then the caller reads
/// the numeric prefix ([`prefix`]).
pub(super) fn twins(v: &Value) -> Option<Vec<Value>> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: every integer below is a distinct real
    match *v {
        Value::Integer(i) if (i as f64).abs() < EXACT => {
            Some(vec![v.clone(), Value::Real(i as f64)])
        }
        Value::Real(r) if r.abs() < EXACT && r.fract() == 0.0 => {
            Some(vec![v.clone(), Value::Integer(r as i64)])
        }
        Value::Real(r) if r.abs() < EXACT || r.is_nan() || r.is_infinite() => Some(vec![v.clone()]),
        _ => None,
    }
}

fn is_number(v: &Value) -> bool {
    matches!(v, Value::Integer(_) | Value::Real(_) | Value::Decimal(_))
}

/// True when a column of `affinity` may hold numbers equal to `v` under another encoding.
fn mixed_storage(affinity: Affinity, v: &Value) -> bool {
    is_number(v)
        && match affinity {
            Affinity::Blob => true,
            Affinity::Integer | Affinity::Numeric => v.as_f64().abs() >= INTEGRAL_REAL_LIMIT,
            _ => false,
        }
}
