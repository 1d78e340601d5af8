//! A blocked bloom filter: an approximate set of keys with no false negatives, where all of a
//! key's probes fall in one 64-byte block (a cache line), so that a lookup costs one memory
//! read and a first zero bit ends it. The block comes from the hash's low half scaled by a
//! multiplication (no division), the probes from nine-bit slices of its high half. Twelve
//! bits a key and seven probes give under one false positive in a hundred at capacity; past
//! its capacity a filter keeps working, with more false positives.
//!
//! Used where a miss must be cheap: a write buffer layer (most point reads of a large table
//! are not in the layer) and a transaction's set of spilled keys.

/// Bits per key of a filter's capacity.
const BITS_PER_KEY: usize = 12;
/// Probes per key (bits set in its block).
const PROBES: u32 = 7;

/// One cache line of bits.
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
struct Block([u64; 8]);

/// The hash a filter takes for `key`.
pub(crate) fn hash(key: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(key)
}

/// A blocked bloom filter sized for a number of keys (see the module documentation).
pub(crate) struct BlockedBloom {
    blocks: Vec<Block>,
    capacity: usize,
    len: usize,
}

impl BlockedBloom {
    /// An empty filter for `capacity` keys: `capacity * 12` bits, at least one block.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            blocks: vec![Block::default(); (capacity * BITS_PER_KEY).div_ceil(512).max(1)],
            capacity,
            len: 0,
        }
    }

    /// Bytes a filter for `capacity` keys takes.
    pub(crate) fn bytes_for(capacity: usize) -> usize {
        (capacity * BITS_PER_KEY).div_ceil(512).max(1) * 64
    }

    /// Bytes the filter takes.
    pub(crate) fn bytes(&self) -> usize {
        self.blocks.len() * 64
    }

    /// True once the filter holds as many keys as it was sized for.
    pub(crate) fn is_full(&self) -> bool {
        self.len >= self.capacity
    }

    fn block_of(&self, hash: u128) -> usize {
        ((hash as u64 as u128 * self.blocks.len() as u128) >> 64) as usize
    }

    /// Adds the key of `hash`.
    pub(crate) fn insert(&mut self, hash: u128) {
        let block = self.block_of(hash);
        for (word, bit) in probes_of(hash) {
            self.blocks[block].0[word] |= bit;
        }
        self.len += 1;
    }

    /// False if the key of `hash` was certainly never added.
    pub(crate) fn contains(&self, hash: u128) -> bool {
        let block = &self.blocks[self.block_of(hash)];
        probes_of(hash).all(|(word, bit)| block.0[word] & bit != 0)
    }
}

/// A key's probes inside its block: (word, bit mask) pairs.
fn probes_of(hash: u128) -> impl Iterator<Item = (usize, u64)> {
    let high = (hash >> 64) as u64;
    (0..PROBES).map(move |i| {
        let slice = high >> (9 * i);
        (((slice >> 6) & 7) as usize, 1u64 << (slice & 63))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_about_one_false_positive_in_a_hundred() {
        let n = 50_000u32;
        let mut f = BlockedBloom::new(n as usize);
        for i in 0..n {
            f.insert(hash(&i.to_be_bytes()));
        }
        assert!(f.is_full());
        assert!((0..n).all(|i| f.contains(hash(&i.to_be_bytes()))));
        let false_positives = (n..2 * n)
            .filter(|i| f.contains(hash(&i.to_be_bytes())))
            .count();
        assert!(false_positives < n as usize / 80, "{false_positives}");
        assert_eq!(f.bytes(), BlockedBloom::bytes_for(n as usize));
    }
}
