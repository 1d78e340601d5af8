//! Which keys a transaction has spilled, approximately: a bloom filter that answers "certainly
//! not spilled" for most keys that were not, so that reads and writes of keys the transaction
//! never spilled (every new row of an import) skip the lookup in its private range.
//!
//! The number of keys is not known in advance, so the filter is a list of blocked bloom
//! filters (`storage::bloom`), each twice the capacity of the one before; a key is looked for
//! in every one. Every new row of an import asks, and a classic filter's seven scattered
//! probes per layer, with a division each, were a sixth of an import's statement time. The
//! filter's memory is bounded: once a new layer would pass `max_bytes`, it stops growing and
//! answers "maybe" for every key (each read then looks in storage, as it would without a
//! filter).
//!
//! Keys of a counting group (a table's rows, `MvccOptions::count_group`) are also kept as the
//! largest key added per group: a key above it was never added. That is every new row of an
//! import (its rowids ascend past the rows written ahead), answered without reading a layer:
//! the layers of a million keys are several megabytes, and a lookup missed the cache in each.

use super::counters::CountGroup;
use crate::storage::bloom::{self, BlockedBloom};

/// Keys the first layer holds.
const FIRST_CAPACITY: usize = 1 << 14;
/// Groups whose largest key is kept (a transaction writing rows of more tables keeps the
/// first ones).
const MAX_GROUPS: usize = 16;

/// An approximate set of keys: no false negatives.
pub(super) struct KeyFilter {
    layers: Vec<BlockedBloom>,
    /// Bytes the layers hold.
    bytes: usize,
    max_bytes: usize,
    /// The filter stopped growing: every key may be in the set.
    saturated: bool,
    group: Option<CountGroup>,
    /// Per group prefix, the largest key added. Once full, it takes no new group: a group
    /// missing from it may have keys added.
    maxima: Vec<(Vec<u8>, Vec<u8>)>,
}

impl KeyFilter {
    /// An empty filter that will use at most about `max_bytes`; `group` tells the counting
    /// group of a key, whose largest key the filter keeps.
    /// It always has room for its first layer: a budget so small that a quarter of it holds
    /// none (only tests set one) would otherwise make every key "maybe spilled".
    pub(super) fn new(max_bytes: usize, group: Option<CountGroup>) -> Self {
        Self {
            layers: Vec::new(),
            bytes: 0,
            max_bytes: max_bytes.max(BlockedBloom::bytes_for(FIRST_CAPACITY)),
            saturated: false,
            group,
            maxima: Vec::new(),
        }
    }

    /// Bytes the filter holds.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The group prefix of `key`, if it has one.
    fn prefix<'k>(&self, key: &'k [u8]) -> Option<&'k [u8]> {
        let len = (self.group?)(key)?;
        key.get(..len)
    }

    /// Raises the largest key of `key`'s group.
    fn note_max(&mut self, key: &[u8]) {
        let Some(prefix) = self.prefix(key) else {
            return;
        };
        if let Some((_, max)) = self.maxima.iter_mut().find(|(p, _)| p == prefix) {
            if key > &max[..] {
                max.clear();
                max.extend_from_slice(key);
            }
        } else if self.maxima.len() < MAX_GROUPS {
            self.maxima.push((prefix.to_vec(), key.to_vec()));
        }
    }

    /// Adds a key.
    pub(super) fn insert(&mut self, key: &[u8]) {
        self.note_max(key);
        if self.saturated {
            return;
        }
        if self.layers.last().is_none_or(BlockedBloom::is_full) {
            let capacity = FIRST_CAPACITY << self.layers.len();
            if self.bytes + BlockedBloom::bytes_for(capacity) > self.max_bytes {
                self.saturated = true;
                self.layers = Vec::new();
                self.bytes = 0;
                return;
            }
            let layer = BlockedBloom::new(capacity);
            self.bytes += layer.bytes();
            self.layers.push(layer);
        }
        let hash = bloom::hash(key);
        if let Some(l) = self.layers.last_mut() {
            l.insert(hash);
        }
    }

    /// False if the key was certainly never added.
    pub(super) fn may_contain(&self, key: &[u8]) -> bool {
        if let Some(prefix) = self.prefix(key) {
            // A group the set holds no key of is in `maxima` only once it has one.
            if let Some((_, max)) = self.maxima.iter().find(|(p, _)| p == prefix) {
                if key > &max[..] {
                    return false;
                }
            } else if self.maxima.len() < MAX_GROUPS {
                return false;
            }
        }
        if self.saturated {
            return true;
        }
        let hash = bloom::hash(key);
        self.layers.iter().any(|l| l.contains(hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_few_false_positives_and_bounded_memory() {
        let mut f = KeyFilter::new(1 << 20, None);
        let n = 100_000u32;
        for i in 0..n {
            f.insert(&i.to_be_bytes());
        }
        assert!((0..n).all(|i| f.may_contain(&i.to_be_bytes())));
        let false_positives = (n..2 * n)
            .filter(|i| f.may_contain(&i.to_be_bytes()))
            .count();
        assert!(false_positives < n as usize / 50, "{false_positives}");
        // Past its memory bound it answers "maybe" for everything, never "no" wrongly.
        let mut small = KeyFilter::new(30_000, None);
        for i in 0..n {
            small.insert(&i.to_be_bytes());
        }
        assert!((0..2 * n).all(|i| small.may_contain(&i.to_be_bytes())));
    }

    /// Groups: the first byte is the prefix of keys starting with `g`.
    fn group(key: &[u8]) -> Option<usize> {
        (key.first() == Some(&b'g') && key.len() > 2).then_some(2)
    }

    #[test]
    fn keys_above_their_groups_largest_are_absent_even_once_saturated() {
        let mut f = KeyFilter::new(30_000, Some(group));
        let key = |g: u8, i: u32| [&[b'g', g][..], &i.to_be_bytes()].concat();
        for i in (0..100_000).step_by(2) {
            f.insert(&key(1, i));
            f.insert(&key(2, 100_000 - i));
            f.insert(&i.to_be_bytes());
        }
        assert!(f.saturated);
        assert!((0..100_000).step_by(2).all(|i| f.may_contain(&key(1, i))));
        assert!((0..100_000)
            .step_by(2)
            .all(|i| f.may_contain(&key(2, 100_000 - i))));
        assert!((100_000..100_100).all(|i| !f.may_contain(&key(1, i))));
        assert!(!f.may_contain(&key(2, 100_001)));
        // Below the largest key: the layers answer (saturated: maybe).
        assert!(f.may_contain(&key(2, 3)));
        // A group with no key added.
        assert!(!f.may_contain(&key(3, 0)));
        // Groups past MAX_GROUPS are not tracked: a key of one added later is found.
        for g in 4..40 {
            f.insert(&key(g, 7));
        }
        assert!((4..40).all(|g| f.may_contain(&key(g, 7))));
        assert!(f.may_contain(&key(39, 8)));
    }
}
