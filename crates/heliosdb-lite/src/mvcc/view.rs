//! Reading versioned data as of one SCN.

use super::keys::{self, SCN_LEN};
use crate::error::Result;
use crate::storage::{Direction, KeyRange, KvPair, Storage};
use std::ops::Bound;

/// Maps a range of logical keys to the range of their version keys.
pub(crate) fn version_range(range: &KeyRange) -> KeyRange {
    let lo = match &range.0 {
        Bound::Included(k) => Bound::Included(keys::versions_prefix(k)),
        Bound::Excluded(k) => {
            // Skip every version of `k` itself: they all sort before k ‖ 0xFF…
            let mut p = keys::versions_prefix(k);
            p.extend_from_slice(&[0xFF; SCN_LEN]);
            Bound::Excluded(p)
        }
        Bound::Unbounded => Bound::Included(vec![keys::VERSIONED]),
    };
    let hi = match &range.1 {
        Bound::Included(k) => {
            let mut p = keys::versions_prefix(k);
            p.extend_from_slice(&[0xFF; SCN_LEN]);
            Bound::Included(p)
        }
        Bound::Excluded(k) => Bound::Excluded(keys::versions_prefix(k)),
        Bound::Unbounded => Bound::Excluded(vec![keys::VERSIONED + 1]),
    };
    (lo, hi)
}

/// Returns the newest version of `logical` at or before `scn`: `Some(None)` for a tombstone,
/// `None` if the key has no version at or before `scn`. One seek.
pub(crate) fn get_version(
    storage: &dyn Storage,
    logical: &[u8],
    scn: u64,
) -> Result<Option<Option<Vec<u8>>>> {
    Ok(get_version_entry(storage, logical, scn)?.map(|(_, v)| v))
}

/// Like [`get_version`], also returning the version's storage key and stored size.
pub(crate) fn get_version_entry(
    storage: &dyn Storage,
    logical: &[u8],
    scn: u64,
) -> Result<Option<(VersionRef, Option<Vec<u8>>)>> {
    let start = keys::version_key(logical, scn);
    let mut end = keys::versions_prefix(logical);
    end.extend_from_slice(&[0xFF; SCN_LEN]);
    match storage.first_in_range((Bound::Included(start), Bound::Included(end)))? {
        None => Ok(None),
        Some((k, v)) => {
            let data = keys::decode_version(&v)?.map(|d| d.to_vec());
            let size = k.len() + v.len();
            Ok(Some((
                VersionRef {
                    key: k,
                    size,
                    live: data.is_some(),
                },
                data,
            )))
        }
    }
}

/// Where a version is stored, for GC bookkeeping.
#[derive(Debug, Clone)]
pub(crate) struct VersionRef {
    /// Storage key.
    pub key: Vec<u8>,
    /// Key plus value bytes.
    pub size: usize,
    /// Not a tombstone.
    pub live: bool,
}

/// Returns the storage key and value of the newest version of `logical`, whatever its SCN.
pub(crate) fn newest_version(storage: &dyn Storage, logical: &[u8]) -> Result<Option<KvPair>> {
    let start = keys::versions_prefix(logical);
    let mut end = start.clone();
    end.extend_from_slice(&[0xFF; SCN_LEN]);
    storage.first_in_range((Bound::Included(start), Bound::Included(end)))
}

/// Iterates the live logical keys visible at an SCN, with their data.
pub(crate) struct VisibleIter<'a> {
    inner: crate::storage::KvIter<'a>,
    scn: u64,
    direction: Direction,
    /// Forward: the logical key whose visible version has been decided.
    /// Reverse: the logical key of the group being collected.
    group: Option<Vec<u8>>,
    /// Reverse: the best candidate version of the current group.
    candidate: Option<Vec<u8>>,
    finished: bool,
}

impl<'a> VisibleIter<'a> {
    pub(crate) fn new(
        storage: &'a dyn Storage,
        range: &KeyRange,
        scn: u64,
        dir: Direction,
    ) -> Self {
        Self {
            inner: storage.scan(version_range(range), dir),
            scn,
            direction: dir,
            group: None,
            candidate: None,
            finished: false,
        }
    }

    fn next_forward(&mut self) -> Option<Result<KvPair>> {
        for kv in self.inner.by_ref() {
            let (k, v) = match kv {
                Ok(kv) => kv,
                Err(e) => return Some(Err(e)),
            };
            let Some((logical, scn)) = keys::split_version_key(&k) else {
                return Some(Err(crate::Error::corruption("malformed version key")));
            };
            if scn > self.scn || self.group.as_deref() == Some(logical) {
                continue;
            }
            self.group = Some(logical.to_vec());
            match keys::decode_version(&v) {
                Err(e) => return Some(Err(e)),
                Ok(None) => continue,
                Ok(Some(data)) => return Some(Ok((logical.to_vec(), data.to_vec()))),
            }
        }
        None
    }

    /// Emits the finished group's candidate if it is live.
    fn flush_group(&mut self) -> Option<Result<KvPair>> {
        let group = self.group.take()?;
        let value = self.candidate.take()?;
        match keys::decode_version(&value) {
            Err(e) => Some(Err(e)),
            Ok(None) => None,
            Ok(Some(data)) => Some(Ok((group, data.to_vec()))),
        }
    }

    fn next_reverse(&mut self) -> Option<Result<KvPair>> {
        // Versions arrive oldest first; the last one at or before the SCN wins.
        while !self.finished {
            let Some(kv) = self.inner.next() else {
                self.finished = true;
                return self.flush_group();
            };
            let (k, v) = match kv {
                Ok(kv) => kv,
                Err(e) => return Some(Err(e)),
            };
            let Some((logical, scn)) = keys::split_version_key(&k) else {
                return Some(Err(crate::Error::corruption("malformed version key")));
            };
            let mut out = None;
            if self.group.as_deref() != Some(logical) {
                out = self.flush_group();
                self.group = Some(logical.to_vec());
            }
            if scn <= self.scn {
                self.candidate = Some(v);
            }
            if out.is_some() {
                return out;
            }
        }
        None
    }
}

impl Iterator for VisibleIter<'_> {
    type Item = Result<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.direction {
            Direction::Forward => self.next_forward(),
            Direction::Reverse => self.next_reverse(),
        }
    }
}
