//! Byte layout of everything the engine stores.
//!
//! The store is one ordered key space, partitioned by a leading tag byte:
//!
//! | tag    | key                                   | value                               |
//! |--------|---------------------------------------|-------------------------------------|
//! | `0x01` | logical key ‖ end scn (8 bytes BE)    | superseded version: see below       |
//! | `0x02` | logical key                           | newest version (the *head*)         |
//! | `0x04` | pack id (8 bytes BE) ‖ first logical key | a page of a packed read copy      |
//! | `0x05` | table prefix ‖ scn (8 bytes BE) ‖ logical key | change log of a packed table   |
//! | `0x10` | scn (8 bytes BE)                      | commit record: txid, commit time    |
//! | `0x11` | scn (8 bytes BE)                      | GC work items of that commit        |
//! | `0x20` | name                                  | engine metadata (format, counters)  |
//! | `0x30` | txid ‖ kind ‖ ...                     | a spilled transaction's private data |
//!
//! A version value is `0x01 ‖ begin ‖ data` for live data or `0x00 ‖ begin` for a deletion
//! (a tombstone), where `begin` is the SCN of the commit that wrote it, as an LEB128 varint.
//!
//! Each logical key (row, index entry, catalog entry) has at most one *head*: its newest
//! version, stored under a key that never changes, so reading current data is one point
//! lookup, which the LSM answers through its bloom filters, exactly like an unversioned
//! store. A commit that supersedes a live head copies it, unchanged, to the *history* under
//! `logical ‖ end`, where `end` is the superseding commit's SCN: the version was visible at the
//! snapshots `begin <= S < end`. History keys of one logical key are adjacent and ascend by
//! `end`, so "the version visible at S" is one seek to `logical ‖ S+1`: the first history
//! entry after it is the version, if its `begin <= S`; if there is none, the head is.
//!
//! The SQL layer builds the logical keys and must keep them prefix-free (no logical key is a
//! proper prefix of another), which its self-delimiting encoding guarantees; otherwise the
//! history of one key could interleave with another's.

/// Tag of superseded versions.
pub const HISTORY: u8 = 0x01;
/// Tag of newest versions.
pub const HEAD: u8 = 0x02;
/// Tag of the pages of packed read copies (see `mvcc::pack`): derived data, never the only
/// copy of anything.
pub const PAGE: u8 = 0x04;
/// Tag of the change logs of tracked tables (see `mvcc::pack`).
pub const CHANGES: u8 = 0x05;
/// Tag of commit records.
pub const COMMIT_LOG: u8 = 0x10;
/// Tag of GC work items.
pub const GC_QUEUE: u8 = 0x11;
/// Tag of engine metadata.
pub const META: u8 = 0x20;
/// Tag of the private data of transactions whose write set spilled to storage (see
/// `mvcc::spill`): never read by snapshots, removed when the transaction ends or on open.
pub const PRIVATE: u8 = 0x30;

/// Length of the SCN suffix of a history key.
pub const SCN_LEN: usize = 8;

/// Builds the storage key of the head of `logical`.
pub fn head_key(logical: &[u8]) -> Vec<u8> {
    tagged(HEAD, logical, 0)
}

/// Builds the storage key of the version of `logical` superseded at `end`.
pub fn history_key(logical: &[u8], end: u64) -> Vec<u8> {
    let mut k = tagged(HISTORY, logical, SCN_LEN);
    k.extend_from_slice(&end.to_be_bytes());
    k
}

/// The storage-key prefix shared by every history entry of `logical`.
pub fn history_prefix(logical: &[u8]) -> Vec<u8> {
    tagged(HISTORY, logical, 0)
}

fn tagged(tag: u8, logical: &[u8], spare: usize) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + logical.len() + spare);
    k.push(tag);
    k.extend_from_slice(logical);
    k
}

/// Splits a history key into its logical key and end SCN. Returns `None` for malformed keys.
pub fn split_history_key(key: &[u8]) -> Option<(&[u8], u64)> {
    if key.len() < 1 + SCN_LEN || key[0] != HISTORY {
        return None;
    }
    let (logical, end) = key[1..].split_at(key.len() - 1 - SCN_LEN);
    Some((logical, u64::from_be_bytes(end.try_into().ok()?)))
}

/// The logical key of a head key. Returns `None` for malformed keys.
pub fn split_head_key(key: &[u8]) -> Option<&[u8]> {
    match key.split_first() {
        Some((&HEAD, logical)) => Some(logical),
        _ => None,
    }
}

/// Key of the page of pack `pack` that starts with logical key `first`.
pub fn page_key(pack: u64, first: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + SCN_LEN + first.len());
    k.push(PAGE);
    k.extend_from_slice(&pack.to_be_bytes());
    k.extend_from_slice(first);
    k
}

/// Key of the change-log entry saying that commit `scn` wrote `logical`, a key of the
/// tracked table `prefix`. Entries of one table ascend by SCN.
pub fn change_key(prefix: &[u8], scn: u64, logical: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + prefix.len() + SCN_LEN + logical.len());
    k.push(CHANGES);
    k.extend_from_slice(prefix);
    k.extend_from_slice(&scn.to_be_bytes());
    k.extend_from_slice(logical);
    k
}

/// Key of the commit record of `scn`.
pub fn commit_key(scn: u64) -> Vec<u8> {
    let mut k = vec![COMMIT_LOG];
    k.extend_from_slice(&scn.to_be_bytes());
    k
}

/// Key of the GC work items that become due once the horizon reaches `scn`.
pub fn gc_key(scn: u64) -> Vec<u8> {
    let mut k = vec![GC_QUEUE];
    k.extend_from_slice(&scn.to_be_bytes());
    k
}

/// Key of a metadata entry.
pub fn meta_key(name: &[u8]) -> Vec<u8> {
    let mut k = vec![META];
    k.extend_from_slice(name);
    k
}

/// Version value marking a deletion.
pub const TOMBSTONE: u8 = 0x00;
/// Version value prefix of live data.
pub const LIVE: u8 = 0x01;

/// A decoded version value, borrowing its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version<'a> {
    /// SCN of the commit that wrote the version.
    pub begin: u64,
    /// The data, `None` for a tombstone.
    pub data: Option<&'a [u8]>,
    /// Bytes before the data.
    pub header_len: usize,
}

/// The header of a version value written by commit `begin`: its kind (live or tombstone),
/// then `begin` as a varint; returns the bytes and how many of them are used.
fn version_header(begin: u64, live: bool) -> ([u8; 11], usize) {
    let mut header = [0u8; 11];
    header[0] = if live { LIVE } else { TOMBSTONE };
    let mut len = 1;
    let mut n = begin;
    while n >= 0x80 {
        header[len] = (n as u8) | 0x80;
        len += 1;
        n >>= 7;
    }
    header[len] = n as u8;
    (header, len + 1)
}

/// Encodes a version value written by commit `begin`.
pub fn encode_version(begin: u64, data: Option<&[u8]>) -> Vec<u8> {
    let (header, len) = version_header(begin, data.is_some());
    let mut v = Vec::with_capacity(len + data.map_or(0, <[u8]>::len));
    v.extend_from_slice(&header[..len]);
    if let Some(d) = data {
        v.extend_from_slice(d);
    }
    v
}

/// [`encode_version`] built straight into the storage's byte view (one allocation and one
/// copy of `data`): the commit hands it to the backend as it is.
pub fn version_bytes(begin: u64, data: Option<&[u8]>) -> crate::storage::Bytes {
    let (header, len) = version_header(begin, data.is_some());
    crate::storage::Bytes::fused(&header[..len], data.unwrap_or_default())
}

/// [`head_key`] as the storage's byte view (short keys are held inline, without allocation).
pub fn head_key_bytes(logical: &[u8]) -> crate::storage::Bytes {
    crate::storage::Bytes::fused(&[HEAD], logical)
}

/// Decodes a version value.
pub fn decode_version(value: &[u8]) -> crate::Result<Version<'_>> {
    let damaged = || crate::Error::corruption("malformed version value");
    let live = match value.first() {
        Some(&TOMBSTONE) => false,
        Some(&LIVE) => true,
        _ => return Err(damaged()),
    };
    let mut begin = 0u64;
    let mut at = 1;
    loop {
        let byte = *value.get(at).ok_or_else(damaged)?;
        let shift = 7 * (at as u32 - 1);
        if shift > 63 || (shift == 63 && byte > 1) {
            return Err(damaged());
        }
        begin |= u64::from(byte & 0x7F) << shift;
        at += 1;
        if byte < 0x80 {
            break;
        }
    }
    let data = if live {
        Some(&value[at..])
    } else if at == value.len() {
        None
    } else {
        return Err(damaged());
    };
    Ok(Version {
        begin,
        data,
        header_len: at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_ascends_by_end_and_round_trips() {
        let a = history_key(b"k", 5);
        let b = history_key(b"k", 7);
        assert!(a < b);
        assert_eq!(split_history_key(&a), Some((&b"k"[..], 5)));
        assert_eq!(split_history_key(b"\x01short"), None);
        assert_eq!(split_head_key(&head_key(b"k")), Some(&b"k"[..]));
        assert_eq!(&*head_key_bytes(b"k"), &head_key(b"k")[..]);
        assert!(commit_key(1) < commit_key(256));
    }

    #[test]
    fn version_values_round_trip() {
        for begin in [0, 1, 127, 128, 300, 1 << 40, u64::MAX] {
            for data in [None, Some(&b""[..]), Some(&b"row"[..])] {
                let v = encode_version(begin, data);
                assert_eq!(&*version_bytes(begin, data), &v[..]);
                let d = decode_version(&v).unwrap();
                assert_eq!((d.begin, d.data), (begin, data));
                assert_eq!(&v[d.header_len..], data.unwrap_or_default());
            }
        }
    }

    #[test]
    fn malformed_version_values_are_errors() {
        let good = encode_version(1 << 40, Some(b"x"));
        for bad in [
            &[][..],
            &[7, 1][..],
            &[1][..],
            &[1, 0x80][..],
            &[0, 1, 2][..],
            &[
                1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02,
            ][..],
            &good[..3],
        ] {
            assert!(decode_version(bad).is_err(), "{bad:?}");
        }
    }
}
