//! Byte layout of everything the engine stores.
//!
//! The store is one ordered key space, partitioned by a leading tag byte:
//!
//! | tag    | key                                   | value                               |
//! |--------|---------------------------------------|-------------------------------------|
//! | `0x01` | logical key ‖ !scn (8 bytes BE)       | version: `0x00` tombstone, `0x01` ‖ data |
//! | `0x10` | scn (8 bytes BE)                      | commit record: txid, commit time    |
//! | `0x11` | scn ‖ version key                     | GC work item: kind, size            |
//! | `0x20` | name                                  | engine metadata (format, counters)  |
//!
//! Versioned data (rows, index entries, catalog entries) lives under `0x01`; the SQL layer builds
//! the logical keys and must keep them prefix-free (no logical key is a proper prefix of another),
//! which its self-delimiting encoding guarantees. Appending the bitwise-inverted SCN makes the
//! versions of one logical key adjacent and ordered newest first, so "the newest version at or
//! before S" is a single seek to `logical ‖ !S`.

/// Tag of versioned data.
pub const VERSIONED: u8 = 0x01;
/// Tag of commit records.
pub const COMMIT_LOG: u8 = 0x10;
/// Tag of GC work items.
pub const GC_QUEUE: u8 = 0x11;
/// Tag of engine metadata.
pub const META: u8 = 0x20;

/// Length of the SCN suffix of a version key.
pub const SCN_LEN: usize = 8;

/// Builds the storage key of the version of `logical` committed at `scn`.
pub fn version_key(logical: &[u8], scn: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + logical.len() + SCN_LEN);
    k.push(VERSIONED);
    k.extend_from_slice(logical);
    k.extend_from_slice(&(!scn).to_be_bytes());
    k
}

/// Splits a version key into its logical key and SCN. Returns `None` for malformed keys.
pub fn split_version_key(key: &[u8]) -> Option<(&[u8], u64)> {
    if key.len() < 1 + SCN_LEN || key[0] != VERSIONED {
        return None;
    }
    let (logical, scn) = key[1..].split_at(key.len() - 1 - SCN_LEN);
    let scn = !u64::from_be_bytes(scn.try_into().ok()?);
    Some((logical, scn))
}

/// The storage-key prefix shared by every version of `logical`.
pub fn versions_prefix(logical: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + logical.len());
    k.push(VERSIONED);
    k.extend_from_slice(logical);
    k
}

/// Key of the commit record of `scn`.
pub fn commit_key(scn: u64) -> Vec<u8> {
    let mut k = vec![COMMIT_LOG];
    k.extend_from_slice(&scn.to_be_bytes());
    k
}

/// Key of a GC work item that becomes due once the horizon reaches `scn`.
pub fn gc_key(scn: u64, target: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + target.len());
    k.push(GC_QUEUE);
    k.extend_from_slice(&scn.to_be_bytes());
    k.extend_from_slice(target);
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

/// Encodes a version value.
pub fn encode_version(data: Option<&[u8]>) -> Vec<u8> {
    match data {
        None => vec![TOMBSTONE],
        Some(d) => {
            let mut v = Vec::with_capacity(d.len() + 1);
            v.push(LIVE);
            v.extend_from_slice(d);
            v
        }
    }
}

/// Decodes a version value into `None` (tombstone) or the data.
pub fn decode_version(value: &[u8]) -> crate::Result<Option<&[u8]>> {
    match value.first() {
        Some(&TOMBSTONE) => Ok(None),
        Some(&LIVE) => Ok(Some(&value[1..])),
        _ => Err(crate::Error::corruption("malformed version value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_newest_first_and_round_trip() {
        let a = version_key(b"k", 5);
        let b = version_key(b"k", 7);
        assert!(b < a, "newer version sorts first");
        assert_eq!(split_version_key(&a), Some((&b"k"[..], 5)));
        assert_eq!(split_version_key(b"\x01short"), None);
        assert!(commit_key(1) < commit_key(256));
    }
}
