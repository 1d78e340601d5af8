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
//! A head may instead be `0x03 ‖ begin ‖ list ‖ data` or `0x02 ‖ begin ‖ list`: the same,
//! with the list of its key's past versions ([`Past`]), so that a read at an older snapshot
//! knows the history key of the version it needs and reads it with one point lookup.
//! History entries never carry a list.
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

/// The big-endian number that follows a key's tag byte (an SCN, a transaction or pack id),
/// or `None` for a key too short to hold one.
pub fn number_after_tag(key: &[u8]) -> Option<u64> {
    key.get(1..9)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
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
/// Version value marking a deletion, with the list of the key's past versions.
pub const TOMBSTONE_WITH_PAST: u8 = 0x02;
/// Version value prefix of live data, with the list of the key's past versions.
pub const LIVE_WITH_PAST: u8 = 0x03;

/// The most bytes of past versions a head lists. An entry takes one byte when the key's
/// versions are fewer than 64 commits apart, two up to 8,192: a row updated in every
/// commit lists its last 128 versions, one updated every few thousand commits its last 42
/// or so. Older versions are found by a seek, as for a head without a list.
pub const PAST_MAX_BYTES: usize = 128;

/// A decoded version value, borrowing its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version<'a> {
    /// SCN of the commit that wrote the version.
    pub begin: u64,
    /// The data, `None` for a tombstone.
    pub data: Option<&'a [u8]>,
    /// Bytes before the data.
    pub header_len: usize,
    /// The key's past versions, newest first, for a head that lists them (`None`: a head
    /// written without a list, or a history entry).
    pub past: Option<Past<'a>>,
}

/// The past versions a head lists: where each began and whether it was a deletion, newest
/// first, so that a read at an older snapshot knows the exact history key of the version it
/// needs (a point read) instead of seeking for it.
///
/// Version `i` (the head is version 0) began at `B_i`; it ended where version `i - 1` began,
/// so a live one is stored in the history under `logical ‖ B_(i-1)`. Each entry is a varint
/// of `(B_(i-1) - B_i) << 1 | deleted`. A list that is not *truncated* goes back to the
/// key's first version: before that the key had no version a snapshot at or above the
/// horizon can read (its head was absent, or a tombstone GC had removed with everything
/// before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Past<'a> {
    entries: &'a [u8],
    truncated: bool,
}

/// One past version of a key, as its head lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastVersion {
    /// SCN of the commit that wrote it.
    pub begin: u64,
    /// SCN of the commit that superseded it: the end of its history key.
    pub end: u64,
    /// Whether it was a deletion (which the history does not keep).
    pub deleted: bool,
}

impl<'a> Past<'a> {
    /// Whether versions older than the listed ones may exist.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Bytes of the list: about the number of versions listed (one or two bytes each while
    /// they are close together).
    pub fn listed_bytes(&self) -> usize {
        self.entries.len()
    }

    /// The listed versions, newest first, for a head that began at `head_begin`.
    pub fn versions(&self, head_begin: u64) -> PastVersions<'a> {
        PastVersions {
            rest: self.entries,
            end: head_begin,
        }
    }

    /// The newest listed version that began at or before `scn`, for a head that began at
    /// `head_begin`: what [`Past::versions`] finds first with that condition, without its
    /// per-entry results. A read at an old snapshot walks the list on every call, and most
    /// entries are one byte, so the one-byte case stays in this loop.
    pub fn version_at(&self, head_begin: u64, scn: u64) -> crate::Result<Option<PastVersion>> {
        let entries = self.entries;
        let (mut at, mut end) = (0, head_begin);
        while let Some(&byte) = entries.get(at) {
            let entry = match byte < 0x80 {
                true => {
                    at += 1;
                    u64::from(byte)
                }
                false => read_varint(entries, &mut at)?,
            };
            let delta = entry >> 1;
            let Some(begin) = end.checked_sub(delta).filter(|_| delta > 0) else {
                return Err(crate::Error::corruption("malformed list of past versions"));
            };
            if begin <= scn {
                return Ok(Some(PastVersion {
                    begin,
                    end,
                    deleted: entry & 1 == 1,
                }));
            }
            end = begin;
        }
        Ok(None)
    }
}

/// Iterator over [`Past::versions`].
#[derive(Debug, Clone)]
pub struct PastVersions<'a> {
    rest: &'a [u8],
    end: u64,
}

impl Iterator for PastVersions<'_> {
    type Item = crate::Result<PastVersion>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let mut at = 0;
        let entry = match read_varint(self.rest, &mut at) {
            Ok(e) => e,
            Err(e) => {
                self.rest = &[];
                return Some(Err(e));
            }
        };
        self.rest = &self.rest[at..];
        let delta = entry >> 1;
        let Some(begin) = self.end.checked_sub(delta).filter(|_| delta > 0) else {
            self.rest = &[];
            return Some(Err(crate::Error::corruption(
                "malformed list of past versions",
            )));
        };
        let version = PastVersion {
            begin,
            end: self.end,
            deleted: entry & 1 == 1,
        };
        self.end = begin;
        Some(Ok(version))
    }
}

/// Appends `n` as an LEB128 varint to `out` at `len`; returns the new length.
fn put_varint(out: &mut [u8], mut len: usize, mut n: u64) -> usize {
    while n >= 0x80 {
        out[len] = (n as u8) | 0x80;
        len += 1;
        n >>= 7;
    }
    out[len] = n as u8;
    len + 1
}

/// Reads an LEB128 varint of `value` at `*at`, advancing `*at` past it.
fn read_varint(value: &[u8], at: &mut usize) -> crate::Result<u64> {
    let damaged = || crate::Error::corruption("malformed version value");
    let mut n = 0u64;
    let mut shift = 0u32;
    loop {
        let byte = *value.get(*at).ok_or_else(damaged)?;
        if shift > 63 || (shift == 63 && byte > 1) {
            return Err(damaged());
        }
        n |= u64::from(byte & 0x7F) << shift;
        *at += 1;
        shift += 7;
        if byte < 0x80 {
            return Ok(n);
        }
    }
}

/// The header of a version value written by commit `begin`: its kind (live or tombstone),
/// then `begin` as a varint; returns the bytes and how many of them are used.
fn version_header(begin: u64, live: bool) -> ([u8; 11], usize) {
    let mut header = [0u8; 11];
    header[0] = if live { LIVE } else { TOMBSTONE };
    let len = put_varint(&mut header, 1, begin);
    (header, len)
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

/// Room for a header with a list of past versions: kind, begin, list header, the list, and
/// the newest entry a cut list may still hold beside it.
const LISTED_HEADER_MAX: usize = 1 + 10 + 2 + PAST_MAX_BYTES + 10;

/// The head value commit `begin` writes for a key whose head it read as `previous`
/// (`None`: the key had no head), as the storage's byte view: the data, and the list of the
/// key's past versions, which is `previous`'s list with `previous` itself in front, cut to
/// [`PAST_MAX_BYTES`]. A head superseding one without a list lists only that one (and says
/// the list is truncated); a head replacing one of its own commit keeps that one's list.
pub fn head_bytes(
    begin: u64,
    data: Option<&[u8]>,
    previous: Option<&Version<'_>>,
) -> crate::storage::Bytes {
    let (newest, older, truncated) = match previous {
        None => (None, &[][..], false),
        Some(p) if p.begin == begin => match p.past {
            Some(past) => (None, past.entries, past.truncated),
            None => return version_bytes(begin, data),
        },
        Some(p) => {
            let Some(delta) = begin.checked_sub(p.begin).filter(|d| *d <= u64::MAX >> 1) else {
                return version_bytes(begin, data); // not a successor: no list
            };
            let entry = delta << 1 | u64::from(p.data.is_none());
            match p.past {
                Some(past) => (Some(entry), past.entries, past.truncated),
                None => (Some(entry), &[][..], true),
            }
        }
    };
    let mut header = [0u8; LISTED_HEADER_MAX];
    header[0] = if data.is_some() {
        LIVE_WITH_PAST
    } else {
        TOMBSTONE_WITH_PAST
    };
    let at = put_varint(&mut header, 1, begin);
    let mut first = [0u8; 10];
    let first_len = newest.map_or(0, |e| put_varint(&mut first, 0, e));
    // Keep whole entries of the older list, as many as fit beside the newest.
    let room = PAST_MAX_BYTES.saturating_sub(first_len);
    let (kept, cut) = if older.len() <= room {
        (older, false)
    } else {
        let mut end = 0;
        while end < older.len() {
            let mut next = end;
            if read_varint(older, &mut next).is_err() || next > room {
                break;
            }
            end = next;
        }
        (&older[..end], true)
    };
    let list_len = first_len + kept.len();
    let mut at = put_varint(
        &mut header,
        at,
        (list_len as u64) << 1 | u64::from(truncated || cut),
    );
    header[at..at + first_len].copy_from_slice(&first[..first_len]);
    at += first_len;
    header[at..at + kept.len()].copy_from_slice(kept);
    at += kept.len();
    crate::storage::Bytes::fused(&header[..at], data.unwrap_or_default())
}

/// The head a key had before a head written at `newer.begin` superseded it, rebuilt from
/// that head (`newer`) and the history entry it left (`old`: the superseded version, whose
/// end is `newer.begin`): the old version with the list of past versions `newer` lists
/// after its first entry (the old version itself). That list is the old head's own, cut to
/// [`PAST_MAX_BYTES`] by whole entries, so it is the old list or a prefix of it (then marked
/// truncated). Without a list in `newer` (a head written over it later without one), or when
/// `newer` lists nothing older (the old head had no list), the old head is rebuilt without a
/// list, which readers answer with a seek.
pub fn restored_head(
    newer: &Version<'_>,
    old: &Version<'_>,
) -> crate::Result<crate::storage::Bytes> {
    let Some(past) = newer.past else {
        return Ok(version_bytes(old.begin, old.data));
    };
    let mut at = 0;
    let first = read_varint(past.entries, &mut at)?;
    if newer.begin.checked_sub(first >> 1) != Some(old.begin) || first & 1 == 1 {
        return Err(crate::Error::corruption(
            "a head's list of past versions does not name the version its history entry holds",
        ));
    }
    let rest = &past.entries[at..];
    if rest.is_empty() && past.truncated {
        // What `head_bytes` lists after a head without a list: it had none.
        return Ok(version_bytes(old.begin, old.data));
    }
    if rest.len() > PAST_MAX_BYTES {
        return Err(crate::Error::corruption(
            "a head's list of past versions is longer than any head lists",
        ));
    }
    let mut header = [0u8; LISTED_HEADER_MAX];
    header[0] = if old.data.is_some() {
        LIVE_WITH_PAST
    } else {
        TOMBSTONE_WITH_PAST
    };
    let mut len = put_varint(&mut header, 1, old.begin);
    len = put_varint(
        &mut header,
        len,
        (rest.len() as u64) << 1 | u64::from(past.truncated),
    );
    header[len..len + rest.len()].copy_from_slice(rest);
    len += rest.len();
    Ok(crate::storage::Bytes::fused(
        &header[..len],
        old.data.unwrap_or_default(),
    ))
}

/// The value a superseded head takes in the history: the same version without the head's
/// list of past versions (a history entry is found by its key; a list in every entry would
/// make the history grow with the square of a key's versions).
pub fn history_value(head: &[u8], version: &Version<'_>) -> crate::storage::Bytes {
    if version.past.is_none() {
        return crate::storage::Bytes::from(head);
    }
    let (header, len) = version_header(version.begin, version.data.is_some());
    crate::storage::Bytes::fused(&header[..len], version.data.unwrap_or_default())
}

/// [`head_key`] as the storage's byte view (short keys are held inline, without allocation).
pub fn head_key_bytes(logical: &[u8]) -> crate::storage::Bytes {
    crate::storage::Bytes::fused(&[HEAD], logical)
}

/// Decodes a version value.
pub fn decode_version(value: &[u8]) -> crate::Result<Version<'_>> {
    let damaged = || crate::Error::corruption("malformed version value");
    let (live, listed) = match value.first() {
        Some(&TOMBSTONE) => (false, false),
        Some(&LIVE) => (true, false),
        Some(&TOMBSTONE_WITH_PAST) => (false, true),
        Some(&LIVE_WITH_PAST) => (true, true),
        _ => return Err(damaged()),
    };
    let mut at = 1;
    let begin = read_varint(value, &mut at)?;
    let past = if listed {
        let list = read_varint(value, &mut at)?;
        let len = usize::try_from(list >> 1).map_err(|_| damaged())?;
        let entries = value.get(at..at.saturating_add(len)).ok_or_else(damaged)?;
        at += len;
        Some(Past {
            entries,
            truncated: list & 1 == 1,
        })
    } else {
        None
    };
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
        past,
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

    /// Decodes the listed past of a head as (begin, end, deleted) triples.
    fn listed(value: &[u8]) -> (Vec<(u64, u64, bool)>, bool) {
        let v = decode_version(value).unwrap();
        let past = v.past.expect("a head with a list");
        let versions = past
            .versions(v.begin)
            .map(|p| p.map(|p| (p.begin, p.end, p.deleted)))
            .collect::<crate::Result<Vec<_>>>()
            .unwrap();
        (versions, past.is_truncated())
    }

    #[test]
    fn version_at_finds_what_a_walk_of_the_list_finds() {
        // Gaps of one byte, two bytes and more, deletions among them, and a list cut for space.
        let mut rng = crate::test_rng::Rng(11);
        let mut head = head_bytes(1, Some(b"v"), None);
        let mut begin = 1u64;
        for round in 0..400 {
            begin += match rng.below(4) {
                0 => 1 + rng.below(60),
                1 => 64 + rng.below(8_000),
                2 => 10_000 + rng.below(1 << 30),
                _ => 1,
            };
            let previous = decode_version(&head).unwrap();
            let data = (round % 7 != 3).then_some(&b"v"[..]);
            head = head_bytes(begin, data, Some(&previous));
            let v = decode_version(&head).unwrap();
            let past = v.past.unwrap();
            let walked: Vec<PastVersion> = past.versions(v.begin).map(|p| p.unwrap()).collect();
            let oldest = walked.last().map_or(v.begin, |p| p.begin);
            for _ in 0..20 {
                let scn = oldest.saturating_sub(3) + rng.below(v.begin - oldest + 3);
                let expected = walked.iter().find(|p| p.begin <= scn).copied();
                assert_eq!(past.version_at(v.begin, scn).unwrap(), expected, "at {scn}");
            }
        }
    }

    #[test]
    fn heads_list_the_versions_they_supersede_newest_first() {
        let first = head_bytes(5, Some(b"a"), None);
        assert_eq!(listed(&first), (vec![], false));
        let v1 = decode_version(&first).unwrap();
        assert_eq!((v1.begin, v1.data), (5, Some(&b"a"[..])));
        let gone = head_bytes(9, None, Some(&v1));
        assert_eq!(listed(&gone), (vec![(5, 9, false)], false));
        let v2 = decode_version(&gone).unwrap();
        assert_eq!(v2.data, None);
        let back = head_bytes(1_000_000, Some(b"b"), Some(&v2));
        assert_eq!(
            listed(&back),
            (vec![(9, 1_000_000, true), (5, 9, false)], false)
        );
        let v3 = decode_version(&back).unwrap();
        assert_eq!(v3.data, Some(&b"b"[..]));
        // A head replacing one of its own commit keeps that one's list.
        let again = head_bytes(1_000_000, Some(b"c"), Some(&v3));
        assert_eq!(listed(&again), listed(&back));
        // Superseding a head without a list: one entry, and the list says it is cut.
        let plain = encode_version(3, Some(b"p"));
        let after_plain = head_bytes(4, Some(b"q"), Some(&decode_version(&plain).unwrap()));
        assert_eq!(listed(&after_plain), (vec![(3, 4, false)], true));
        // A head replacing a plain one of its own commit, or one that is not a successor,
        // stays plain.
        let own_plain = head_bytes(3, Some(b"r"), Some(&decode_version(&plain).unwrap()));
        assert_eq!(decode_version(&own_plain).unwrap().past, None);
        let not_after = head_bytes(2, Some(b"r"), Some(&decode_version(&plain).unwrap()));
        assert_eq!(decode_version(&not_after).unwrap().past, None);
    }

    #[test]
    fn lists_are_cut_to_whole_entries_within_the_limit() {
        // Deltas of 1 take a byte each, deltas of 100 two bytes (100 << 1 > 127).
        for step in [1u64, 100, 1 << 40] {
            let mut head = head_bytes(1, Some(b"x"), None).to_vec();
            let mut begin = 1;
            for _ in 0..400 {
                begin += step;
                let previous = decode_version(&head).unwrap();
                head = head_bytes(begin, Some(b"x"), Some(&previous)).to_vec();
                let v = decode_version(&head).unwrap();
                assert_eq!(v.data, Some(&b"x"[..]));
                assert!(v.past.unwrap().entries.len() <= PAST_MAX_BYTES);
            }
            let (versions, truncated) = listed(&head);
            assert!(truncated);
            let per_entry = versions.len();
            assert!(per_entry >= PAST_MAX_BYTES / 7, "{step}: {per_entry}");
            for (i, (b, e, deleted)) in versions.iter().enumerate() {
                assert_eq!(*e, begin - step * i as u64);
                assert_eq!(*b, e - step);
                assert!(!deleted);
            }
        }
    }

    #[test]
    fn a_superseded_head_is_rebuilt_from_its_successor_and_history_entry() {
        // A short list: the old head comes back byte for byte.
        let v1 = head_bytes(5, Some(b"a"), None);
        let v2 = head_bytes(9, None, Some(&decode_version(&v1).unwrap()));
        let v3 = head_bytes(12, Some(b"ccc"), Some(&decode_version(&v2).unwrap()));
        let old = decode_version(&v3).unwrap();
        for value in [Some(&b"new"[..]), None] {
            let newer = head_bytes(20, value, Some(&old));
            let entry = history_value(&v3, &old);
            let back = restored_head(
                &decode_version(&newer).unwrap(),
                &decode_version(&entry).unwrap(),
            )
            .unwrap();
            assert_eq!(&back[..], &v3[..]);
        }
        // A full list: the successor cut its tail, so the rebuilt head lists a prefix of the
        // old one's versions and says it is truncated.
        let mut head = head_bytes(1, Some(b"x"), None);
        for begin in (1_000..).step_by(1_000).take(200) {
            head = head_bytes(begin, Some(b"x"), Some(&decode_version(&head).unwrap()));
        }
        let old = decode_version(&head).unwrap();
        let newer = head_bytes(300_000, Some(b"y"), Some(&old));
        let entry = history_value(&head, &old);
        let back = restored_head(
            &decode_version(&newer).unwrap(),
            &decode_version(&entry).unwrap(),
        )
        .unwrap();
        let (all, _) = listed(&head);
        let (kept, truncated) = listed(&back);
        assert!(truncated && !kept.is_empty() && kept.len() < all.len());
        assert_eq!(&all[..kept.len()], &kept[..]);
        assert_eq!(decode_version(&back).unwrap().data, Some(&b"x"[..]));
        // Without a list in the successor, the old version comes back without one.
        let plain = version_bytes(30, Some(b"z"));
        let entry = history_value(&v3, &decode_version(&v3).unwrap());
        let back = restored_head(
            &decode_version(&plain).unwrap(),
            &decode_version(&entry).unwrap(),
        )
        .unwrap();
        assert_eq!(&back[..], &encode_version(12, Some(b"ccc"))[..]);
        // A head without a list comes back without one.
        let bare = version_bytes(8, Some(b"b"));
        let newer = head_bytes(20, None, Some(&decode_version(&bare).unwrap()));
        let entry = history_value(&bare, &decode_version(&bare).unwrap());
        let back = restored_head(
            &decode_version(&newer).unwrap(),
            &decode_version(&entry).unwrap(),
        )
        .unwrap();
        assert_eq!(&back[..], &bare[..]);
        // A successor whose first listed version is not the entry's is an error.
        let other = head_bytes(21, Some(b"n"), Some(&decode_version(&v2).unwrap()));
        let entry = history_value(&v3, &decode_version(&v3).unwrap());
        assert!(restored_head(
            &decode_version(&other).unwrap(),
            &decode_version(&entry).unwrap()
        )
        .is_err());
    }

    #[test]
    fn history_values_drop_the_list() {
        let v1 = head_bytes(5, Some(b"a"), None);
        let head = head_bytes(9, Some(b"bb"), Some(&decode_version(&v1).unwrap()));
        let version = decode_version(&head).unwrap();
        let entry = history_value(&head, &version);
        assert_eq!(&entry[..], &encode_version(9, Some(b"bb"))[..]);
        let plain = encode_version(7, Some(b"z"));
        let entry = history_value(&plain, &decode_version(&plain).unwrap());
        assert_eq!(&entry[..], &plain[..]);
    }

    #[test]
    fn malformed_lists_are_errors() {
        // A list longer than the value, a tombstone with bytes after its list.
        for bad in [&[3u8, 5, 8, 1][..], &[2, 5, 2, 2, 9][..]] {
            assert!(decode_version(bad).is_err(), "{bad:?}");
        }
        // A zero delta, a delta reaching below SCN 0, a varint cut short.
        for entries in [&[0u8][..], &[20][..], &[0x80][..]] {
            let mut value = vec![LIVE_WITH_PAST, 5, (entries.len() << 1) as u8];
            value.extend_from_slice(entries);
            let v = decode_version(&value).unwrap();
            let read: Vec<_> = v.past.unwrap().versions(v.begin).collect();
            assert!(read.iter().any(|r| r.is_err()), "{entries:?}");
            assert!(
                v.past.unwrap().version_at(v.begin, 0).is_err(),
                "{entries:?}"
            );
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
