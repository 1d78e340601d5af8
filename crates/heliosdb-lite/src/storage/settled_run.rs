//! A copy of one settled group of keys, held as a single block of bytes.
//!
//! The MVCC layer's history of a logical key is a group of keys `HISTORY ‖ key ‖ end` that
//! only ever grows at its end (a new version ends after every older one), never changes, and
//! loses entries only at its front once no snapshot can read them. A read at an old snapshot
//! needs one entry of the group; an audit reading the same key at many past moments needs
//! many. Each of those, from the LSM's tables, is a point read of ~1.5 µs (a filter partition,
//! an index partition and a data block, each found through the block cache and searched),
//! although the whole group usually sits in one data block. A backend with a cache may
//! therefore keep a group's pairs together ([`super::Storage::settled_run`]), read with one
//! scan, and answer each later read with a binary search of this block.
//!
//! Layout: a header (pair count as `u32`, suffix width as `u16`); the suffixes (each key
//! without the group's prefix, all of the group's fixed width) side by side, so that the
//! binary search reads one array; one `u16` offset per pair into the values; the values.
//! The block is at most [`SettledRun::MAX_BYTES`], so the offsets fit 16 bits.

use super::{Bytes, Storage};
use crate::error::Result;
use std::ops::Bound;

/// Bytes of the header: pair count (`u32`) and suffix width (`u16`).
const HEADER: usize = 6;

/// The suffix width of a marker ([`SettledRun::marker_block`]): wider than any run's
/// (a run's block, suffixes included, is at most [`SettledRun::MAX_BYTES`]).
const MARKER_WIDTH: u16 = u16::MAX;

/// One settled group's pairs as a backend read them at some moment, ascending by suffix.
#[derive(Clone, Debug)]
pub struct SettledRun {
    block: Bytes,
    count: usize,
    suffix_len: usize,
}

impl SettledRun {
    /// The largest block a run may take. A larger group is not kept as a run (its reads go
    /// to the store one by one): scanning it would cost more than the reads it saves, and a
    /// few such groups would crowd everything else out of the cache.
    pub const MAX_BYTES: usize = 16 * 1024;

    /// Builds a run from `(suffix, value)` pairs in ascending suffix order, every suffix
    /// `suffix_len` bytes long. `None` when the block would exceed [`SettledRun::MAX_BYTES`].
    pub fn build<'a>(
        suffix_len: usize,
        pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    ) -> Option<Self> {
        let mut builder = RunBuilder::new(suffix_len)?;
        for (suffix, value) in pairs {
            if !builder.push(suffix, value) {
                return None;
            }
        }
        Some(builder.finish())
    }

    /// The block of a cache's marker of a group it does not keep (too large): a run of no
    /// pairs whose suffix width no group has, unlike the copy of a group that is empty.
    pub(crate) fn marker_block() -> Bytes {
        let mut block = Vec::with_capacity(HEADER);
        block.extend_from_slice(&0u32.to_le_bytes());
        block.extend_from_slice(&MARKER_WIDTH.to_le_bytes());
        Bytes::from(block)
    }

    /// True for [`SettledRun::marker_block`]'s run.
    pub(crate) fn is_marker(&self) -> bool {
        self.count == 0 && self.suffix_len == usize::from(MARKER_WIDTH)
    }

    /// The run of a block [`SettledRun::build`] or [`RunBuilder`] made (a cache hands its
    /// blocks back this way); `None` if the block cannot be one. Only the header and the
    /// last offset are checked, so that a cache hit costs no walk of the pairs: the block
    /// must come from this module, which is why this is not public.
    pub(crate) fn from_block(block: Bytes) -> Option<Self> {
        let count = u32::from_le_bytes(block.get(..4)?.try_into().ok()?) as usize;
        let suffix_len = u16::from_le_bytes(block.get(4..HEADER)?.try_into().ok()?) as usize;
        let run = Self {
            block,
            count,
            suffix_len,
        };
        if run.values_start() > run.block.len() {
            return None;
        }
        match count.checked_sub(1) {
            Some(last) => (run.values_start() + run.offset(last) <= run.block.len()).then_some(run),
            None => Some(run),
        }
    }

    /// The block, as a cache keeps it.
    pub fn block(&self) -> &Bytes {
        &self.block
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when the run holds no pair.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn offsets_start(&self) -> usize {
        HEADER + self.count * self.suffix_len
    }

    fn values_start(&self) -> usize {
        self.offsets_start() + 2 * self.count
    }

    fn offset(&self, i: usize) -> usize {
        let at = self.offsets_start() + 2 * i;
        u16::from_le_bytes([self.block[at], self.block[at + 1]]) as usize
    }

    /// The suffix of pair `i`'s key (`i < len()`).
    pub fn suffix(&self, i: usize) -> &[u8] {
        let at = HEADER + i * self.suffix_len;
        &self.block[at..at + self.suffix_len]
    }

    /// The value of pair `i` (`i < len()`), as a view of the block.
    pub fn value(&self, i: usize) -> Bytes {
        let start = self.values_start() + self.offset(i);
        let end = match i + 1 < self.count {
            true => self.values_start() + self.offset(i + 1),
            false => self.block.len(),
        };
        self.block.slice(start..end)
    }

    /// The index of the first pair whose suffix is at least `suffix` (`len()` if none is).
    pub fn seek(&self, suffix: &[u8]) -> usize {
        let suffixes = &self.block[HEADER..self.offsets_start()];
        // Eight-byte suffixes (SCNs) compare as big-endian integers: one instruction each.
        if let (8, Ok(target)) = (self.suffix_len, <[u8; 8]>::try_from(suffix)) {
            let target = u64::from_be_bytes(target);
            let at = |i: usize| {
                let bytes: [u8; 8] = suffixes[8 * i..8 * i + 8].try_into().unwrap_or([0; 8]);
                u64::from_be_bytes(bytes)
            };
            return partition(self.count, |i| at(i) < target);
        }
        partition(self.count, |i| self.suffix(i) < suffix)
    }
}

/// The first index in `0..count` for which `below` is false (`below` is true on a prefix).
fn partition(count: usize, below: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, count);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if below(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Builds a [`SettledRun`] one pair at a time, as a scan reads them.
pub struct RunBuilder {
    suffix_len: usize,
    /// Pairs [`RunBuilder::expect`] was told of (0: unknown).
    expected: usize,
    suffixes: Vec<u8>,
    offsets: Vec<u16>,
    values: Vec<u8>,
}

impl RunBuilder {
    /// A builder of a run whose suffixes are `suffix_len` bytes; `None` for a width a run
    /// cannot hold.
    pub fn new(suffix_len: usize) -> Option<Self> {
        (suffix_len <= SettledRun::MAX_BYTES).then(|| Self {
            suffix_len,
            expected: 0,
            suffixes: Vec::new(),
            offsets: Vec::new(),
            values: Vec::new(),
        })
    }

    /// Makes room for about `pairs` pairs (the values sized by the first one), within
    /// [`SettledRun::MAX_BYTES`].
    pub fn expect(&mut self, pairs: usize) {
        self.expected = pairs.min(SettledRun::MAX_BYTES / (2 + self.suffix_len));
        self.suffixes.reserve(self.expected * self.suffix_len);
        self.offsets.reserve(self.expected);
    }

    /// Adds a pair after every pair added before (its suffix `suffix_len` bytes, above the
    /// last). False when the run would exceed [`SettledRun::MAX_BYTES`]: the group is too
    /// large to keep, and the builder must be dropped.
    pub fn push(&mut self, suffix: &[u8], value: &[u8]) -> bool {
        debug_assert_eq!(
            suffix.len(),
            self.suffix_len,
            "a run's suffixes have one width"
        );
        let size = HEADER + self.suffixes.len() + 2 * self.offsets.len() + self.values.len();
        if size + suffix.len() + 2 + value.len() > SettledRun::MAX_BYTES {
            return false;
        }
        if self.offsets.is_empty() && self.expected > 0 {
            let room = SettledRun::MAX_BYTES.saturating_sub(size + self.expected * 2);
            self.values.reserve((value.len() * self.expected).min(room));
        }
        // Below MAX_BYTES, so within 16 bits.
        self.offsets.push(self.values.len() as u16);
        self.suffixes.extend_from_slice(suffix);
        self.values.extend_from_slice(value);
        true
    }

    /// The run of the pairs added.
    pub fn finish(self) -> SettledRun {
        let count = self.offsets.len();
        let mut block =
            Vec::with_capacity(HEADER + self.suffixes.len() + 2 * count + self.values.len());
        block.extend_from_slice(&(count as u32).to_le_bytes());
        block.extend_from_slice(&(self.suffix_len as u16).to_le_bytes());
        block.extend_from_slice(&self.suffixes);
        for offset in &self.offsets {
            block.extend_from_slice(&offset.to_le_bytes());
        }
        block.extend_from_slice(&self.values);
        SettledRun {
            count,
            suffix_len: self.suffix_len,
            block: Bytes::from(block),
        }
    }
}

/// The pairs of the settled group `prefix` + `suffix_len` bytes in `store`, read with one
/// scan; `None` when they take more than [`SettledRun::MAX_BYTES`] (the scan stops there).
/// `expected_pairs` (the caller's estimate) sizes the builder, so that it does not grow
/// its buffers pair by pair.
pub(crate) fn read_run(
    store: &dyn Storage,
    prefix: &[u8],
    suffix_len: usize,
    expected_pairs: usize,
) -> Result<Option<SettledRun>> {
    let bound = |fill: u8| {
        let mut k = Vec::with_capacity(prefix.len() + suffix_len);
        k.extend_from_slice(prefix);
        k.resize(prefix.len() + suffix_len, fill);
        k
    };
    let range = (Bound::Included(bound(0)), Bound::Included(bound(0xFF)));
    let Some(mut run) = RunBuilder::new(suffix_len) else {
        return Ok(None);
    };
    run.expect(expected_pairs);
    let mut bytes = 0;
    let mut kept = true;
    // Lent pairs: the run copies what it keeps, so the scan need not copy them first.
    store.visit_range(range, &mut |key, value| {
        // Longer keys in the range belong to other groups (a longer prefix); they count
        // against the limit too, so that the scan stays bounded.
        bytes += 2 + key.len() - prefix.len() + value.len();
        kept = bytes <= SettledRun::MAX_BYTES
            && (key.len() != prefix.len() + suffix_len || run.push(&key[prefix.len()..], value));
        kept
    })?;
    Ok(kept.then(|| run.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_finds_the_first_pair_at_or_after_a_suffix() {
        let pairs: Vec<([u8; 2], Vec<u8>)> = (0..50u8)
            .map(|i| ([0, 2 * i], vec![i; i as usize % 4]))
            .collect();
        let run = SettledRun::build(2, pairs.iter().map(|(s, v)| (&s[..], &v[..]))).unwrap();
        let run = SettledRun::from_block(run.block().clone()).unwrap();
        assert_eq!(run.len(), 50);
        for (i, (suffix, value)) in pairs.iter().enumerate() {
            assert_eq!(run.suffix(i), suffix);
            assert_eq!(&run.value(i)[..], &value[..]);
            assert_eq!(run.seek(suffix), i);
            // An odd suffix falls between two pairs: the next one is found.
            assert_eq!(run.seek(&[0, suffix[1] + 1]), i + 1);
        }
        assert_eq!(run.seek(&[1, 0]), 50);
        let empty = SettledRun::build(8, std::iter::empty()).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.seek(&[0; 8]), 0);
    }

    #[test]
    fn a_group_too_large_is_not_a_run_and_a_damaged_block_is_refused() {
        let value = [7u8; 100];
        let suffixes: Vec<[u8; 8]> = (0..200u64).map(|i| i.to_be_bytes()).collect();
        assert!(SettledRun::build(8, suffixes.iter().map(|s| (&s[..], &value[..]))).is_none());
        let run = SettledRun::build(8, suffixes[..3].iter().map(|s| (&s[..], &value[..])));
        let block = run.unwrap().block().clone();
        assert!(SettledRun::from_block(block.slice(..block.len() - 250)).is_none());
        assert!(SettledRun::from_block(Bytes::from(&[1u8, 2][..])).is_none());
    }
}
