//! An external sort of byte-string keys with a byte payload each, within a query's memory
//! budget: CREATE INDEX orders the entries of an existing table with it, then writes them in
//! key order.
//!
//! A thin face on the query engine's [`Sorter`] (sorted runs spilled to temporary files past
//! the budget, merged 16 at a time), which the layers above cannot name.

use super::spill::{FirstBlobOrder, Sorted, Sorter};
use super::QueryMemory;
use crate::error::{Error, Result};
use crate::sql::value::Value;

/// Collects (key, payload) pairs; [`ByteSorter::finish`] returns them ordered by key
/// (bytewise), pairs with equal keys in the order they were pushed.
pub struct ByteSorter<'e> {
    inner: Sorter<'e, FirstBlobOrder>,
}

impl<'e> ByteSorter<'e> {
    /// A sorter holding at most `memory`'s budget in memory.
    pub fn new(memory: &'e QueryMemory) -> Self {
        ByteSorter {
            inner: Sorter::new(memory, FirstBlobOrder, None),
        }
    }

    /// Adds a pair.
    pub fn push(&mut self, key: Vec<u8>, payload: Vec<u8>) -> Result<()> {
        self.inner
            .push(vec![Value::Blob(key)], vec![Value::Blob(payload)])
    }

    /// Ends the input.
    pub fn finish(self) -> Result<SortedBytes<'e>> {
        Ok(SortedBytes(self.inner.finish()?))
    }
}

/// The pairs of a [`ByteSorter`], in key order.
pub struct SortedBytes<'e>(Sorted<'e, FirstBlobOrder>);

impl SortedBytes<'_> {
    /// The next pair.
    pub fn next_pair(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let Some((mut key, mut row)) = self.0.next()? else {
            return Ok(None);
        };
        match (key.pop(), row.pop()) {
            (Some(Value::Blob(k)), Some(Value::Blob(p))) => Ok(Some((k, p))),
            _ => Err(Error::corruption("a sorted entry lost its bytes")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_bytewise_and_keeps_equal_keys_in_input_order_when_spilling() {
        // A budget of a few KiB forces runs to disk (above the sorter's floor of 1 MiB of
        // entries: 20,000 entries of ~100 bytes).
        let memory = QueryMemory::new(4096, None);
        let mut s = ByteSorter::new(&memory);
        let n = 20_000u32;
        for i in 0..n {
            let k = (i.wrapping_mul(2_654_435_761) % 5_000)
                .to_be_bytes()
                .to_vec();
            s.push(k, i.to_be_bytes().to_vec()).unwrap();
        }
        let mut sorted = s.finish().unwrap();
        let mut prev: Option<(Vec<u8>, Vec<u8>)> = None;
        let mut count = 0;
        while let Some((k, p)) = sorted.next_pair().unwrap() {
            if let Some((pk, pp)) = &prev {
                assert!(pk <= &k, "keys out of order");
                if pk == &k {
                    assert!(pp < &p, "equal keys out of input order");
                }
            }
            prev = Some((k, p));
            count += 1;
        }
        assert_eq!(count, n);
        assert!(memory.spill_files() > 0, "the sort never spilled");
    }
}
