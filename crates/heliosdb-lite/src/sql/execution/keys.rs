//! Byte keys for rows and values: grouping, DISTINCT, set operations and hash joins.

use super::super::codec;
use super::super::collation::Collation;
use super::super::value::Value;
use std::borrow::Cow;

/// Byte key identifying a row's values (for DISTINCT, grouping and set operations).
pub fn row_key(r: &[Value]) -> Vec<u8> {
    // A number takes 17 bytes: sized for the common one- or two-column key, no regrowth.
    let mut k = Vec::with_capacity(18 * r.len().max(1));
    row_key_into(r, &mut k);
    k
}

/// [`row_key`] into a reused buffer (cleared first).
pub(super) fn row_key_into(r: &[Value], k: &mut Vec<u8>) {
    k.clear();
    for v in r {
        // Numbers that compare equal must group together: use the numeric prefix plus the
        // value only for non-numbers.
        match v {
            Value::Integer(_) | Value::Real(_) | Value::Decimal(_) => {
                codec::encode_key_bound(v, k);
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
            other => codec::encode_key_value(other, false, k),
        }
    }
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

/// A 64-bit number whose order agrees with [`Value::total_cmp`] on non-NULL values: if
/// `abbreviate(a) < abbreviate(b)` then `a` sorts before `b`; equal abbreviations say nothing
/// (the values are compared in full). The top byte is the value's class (numbers 1, text 2,
/// blobs 3), the rest the leading bits of the number's order-preserving image or the first
/// seven bytes of the text or blob. `None` for values whose order cannot be abbreviated
/// cheaply and safely (decimals, whose conversion to a float is not exact, date-times, a
/// real NaN): a sort that meets one compares in full.
pub(super) fn abbreviate(v: &Value) -> Option<u64> {
    let prefix = |class: u64, b: &[u8]| (class << 56) | (leading_bytes(b) >> 8);
    match v {
        Value::Integer(_) | Value::Real(_) => {
            let f = v.as_f64();
            if f.is_nan() {
                return None;
            }
            // Rounding an integer to a float keeps its order (not strictly): equal images
            // compare in full.
            Some((1 << 56) | (u64::from_be_bytes(codec::f64_key(f)) >> 8))
        }
        Value::Text(s) => Some(prefix(2, s.as_bytes())),
        Value::Blob(b) => Some(prefix(3, b)),
        Value::Null | Value::Decimal(_) | Value::Timestamp(_) => None,
    }
}

/// The first eight bytes of `b` as a big-endian number, zero-padded: byte strings in
/// lexicographic order give these numbers in (non-strict) order.
pub(super) fn leading_bytes(b: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    let n = b.len().min(8);
    word[..n].copy_from_slice(&b[..n]);
    u64::from_be_bytes(word)
}
