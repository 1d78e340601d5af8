//! Byte keys for rows and values: grouping, DISTINCT, set operations and hash joins.

use super::super::codec;
use super::super::collation::Collation;
use super::super::value::Value;
use std::borrow::Cow;

/// Byte key identifying a row's values (for DISTINCT, grouping and set operations).
pub fn row_key(r: &[Value]) -> Vec<u8> {
    // A number takes 17 bytes: sized for the common one- or two-column key, no regrowth.
    let mut k = Vec::with_capacity(18 * r.len().max(1));
    for v in r {
        // Numbers that compare equal must group together: use the numeric prefix plus the
        // value only for non-numbers.
        match v {
            Value::Integer(_) | Value::Real(_) | Value::Decimal(_) => {
                codec::encode_key_bound(v, &mut k);
                if let Value::Integer(i) = v {
                    // Distinguish large integers sharing an f64 image.
                    k.extend_from_slice(&i.to_be_bytes());
                } else {
                    let f = v.as_f64();
                    if f.abs() < 9.0e15 && f.fract() == 0.0 {
                        k.extend_from_slice(&(f as i64).to_be_bytes());
                    } else {
                        k.extend_from_slice(&[0xFF; 8]);
                    }
                }
            }
            other => codec::encode_key_value(other, false, &mut k),
        }
    }
    k
}

/// The row as its columns' collations compare it (each value replaced by its collation key,
/// so 'a' and 'A' are one value under NOCASE), or the row itself when none has one: what
/// UNION, INTERSECT and EXCEPT deduplicate on.
pub(super) fn collated<'a>(row: &'a [Value], collations: &[Collation]) -> Cow<'a, [Value]> {
    if collations.is_empty() {
        return Cow::Borrowed(row);
    }
    Cow::Owned(
        row.iter()
            .zip(collations)
            .map(|(v, c)| c.key(v.clone()))
            .collect(),
    )
}

/// Key that orders rows as SQLite's sorter would and identifies equal rows.
pub(super) fn order_key(r: &[Value]) -> Vec<u8> {
    let mut k = Vec::new();
    for v in r {
        codec::encode_key_bound(v, &mut k);
        k.push(0);
    }
    k.extend_from_slice(&row_key(r));
    k
}

/// Appends a hash key for one value: equal values (under [`Value::total_cmp`], so 1 and 1.0
/// too) get equal keys. Distinct numbers may share a key; callers confirm a match by
/// comparing the values.
pub(super) fn hash_key(v: &Value, out: &mut Vec<u8>) {
    codec::encode_key_bound(v, out);
}
