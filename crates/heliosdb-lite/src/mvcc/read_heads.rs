//! The committed heads a transaction read under the write lock, kept for its commit.
//!
//! Holding the write lock, a transaction's snapshot is the newest commit and stays so until
//! it commits, so a head it reads is exactly the one its commit will supersede: the commit
//! takes it from here instead of reading it again. Heads come two ways. Point reads (an
//! UPDATE by key, an INSERT's uniqueness check) land in a hash map. The rows a DELETE or
//! UPDATE gathers before changing them arrive in the scan's order, usually ascending by key:
//! those go to a sorted run, which the commit walks in step with the write set (also in key
//! order). For 50,000 gathered rows the map cost a key hash and a random probe into a table
//! too large for the cache three times a row (kept, looked up by the write, removed by the
//! commit); the run costs a push and a sequential comparison.
//!
//! Heads in the run hold a live version by construction (the scan yielded the row from
//! them), so only the map is asked whether a key was read dead.
//!
//! It is a cache, and a head it lacks is read again. Past its budget a point read starts it
//! over, and the run takes no more heads: the statement carries those with its rows and hands
//! each back just before the row's write ([`ReadHeads::keep_for_write`]). A spill takes the
//! heads of the keys it writes into their pending versions and keeps the run's heads of
//! later keys ([`ReadHeads::keep_run_after`]).

use crate::storage::Bytes;
use rustc_hash::FxHashMap;

/// What an entry costs beyond its key and head bytes (an estimate for the budget).
const ENTRY_OVERHEAD: usize = 64;

/// The estimated bytes of an entry of `key` and `head`.
fn entry_size(key: &[u8], head: &[u8]) -> usize {
    key.len() + head.len() + ENTRY_OVERHEAD
}

/// Heads read under the write lock, by logical key (see the module documentation).
#[derive(Default)]
pub(super) struct ReadHeads {
    /// Heads of point reads, and kept heads that came out of order: `None` for "no head".
    pub(super) map: FxHashMap<Vec<u8>, Option<Bytes>>,
    /// Live heads kept in strictly ascending key order.
    run: Vec<(Vec<u8>, Bytes)>,
    /// How far the commit's walk has come through `run`.
    walked: usize,
    /// Estimated bytes held.
    bytes: usize,
}

impl ReadHeads {
    /// Estimated bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Forgets everything (heads this transaction wrote directly, or a rollback, changed what
    /// it sees).
    pub(super) fn clear(&mut self) {
        *self = Self::default();
    }

    /// Makes room for an entry of `size` bytes within `budget`: past it, starts over.
    fn charge(&mut self, size: usize, budget: usize) {
        if self.bytes + size > budget {
            self.clear();
        }
        self.bytes += size;
    }

    /// Remembers the head of a point read (`None`: the key has no head).
    pub(super) fn insert(&mut self, key: Vec<u8>, head: Option<Bytes>, budget: usize) {
        let size = entry_size(&key, head.as_deref().unwrap_or_default());
        self.charge(size, budget);
        if self.map.insert(key, head).is_some() {
            self.bytes -= size;
        }
    }

    /// Remembers the live head of a row a scan just yielded, within `budget`: in the run when
    /// its key sorts after the run's last, in the map otherwise. Past the budget the run is
    /// not started over (the rows it holds are written first): the head is handed back, for
    /// the caller to carry to the row's write ([`ReadHeads::keep_for_write`]).
    pub(super) fn keep(&mut self, key: Vec<u8>, head: Bytes, budget: usize) -> Option<Bytes> {
        if self.run.last().is_some_and(|(last, _)| *last >= key) {
            self.insert(key, Some(head), budget);
            return None;
        }
        let size = entry_size(&key, &head);
        if self.bytes + size > budget {
            return Some(head);
        }
        self.bytes += size;
        self.run.push((key, head));
        None
    }

    /// Remembers the live head of a row about to be written, past the budget of [`keep`]:
    /// the heads held count towards the write set's budget, whose spill takes them. Only up
    /// to `limit` (that whole budget): heads of rows that turn out not to be written (an
    /// `UPDATE OR IGNORE` skipping conflicts) cannot grow the cache past it, and a spill
    /// keeps at most the cache's own budget of them.
    ///
    /// [`keep`]: ReadHeads::keep
    pub(super) fn keep_for_write(&mut self, key: Vec<u8>, head: Bytes, limit: usize) {
        let size = entry_size(&key, &head);
        if self.bytes + size > limit {
            return;
        }
        self.bytes += size;
        if self.run.last().is_some_and(|(last, _)| *last >= key) {
            if self.map.insert(key, Some(head)).is_some() {
                self.bytes -= size;
            }
            return;
        }
        self.run.push((key, head));
    }

    /// After a spill that wrote the keys up to `last`: forgets the point reads (the map) and
    /// the run's heads up to `last`, and keeps the run's next heads, within `budget` (the
    /// live heads of keys after the spill's, most likely rows about to be written; a spill
    /// does not change them: it writes heads only of the keys it spills, up to `last`, and
    /// a key it writes over its head is never written so again). The cap keeps heads of
    /// rows that are never written (an `UPDATE OR IGNORE` skipping conflicts) from filling
    /// the write set's budget.
    pub(super) fn keep_run_after(&mut self, last: &[u8], budget: usize) {
        let run = std::mem::take(&mut self.run);
        self.clear();
        let from = run.partition_point(|(k, _)| k.as_slice() <= last);
        for (k, h) in run.into_iter().skip(from) {
            let size = entry_size(&k, &h);
            if self.bytes + size > budget {
                break;
            }
            self.bytes += size;
            self.run.push((k, h));
        }
    }

    /// True if the head of `key` was read and holds no live version (or there was none).
    pub(super) fn read_dead(&self, key: &[u8]) -> bool {
        match self.map.get(key) {
            Some(None) => true,
            Some(Some(head)) => super::keys::decode_version(head).is_ok_and(|v| v.data.is_none()),
            None => false,
        }
    }

    /// A test of whether heads are held, for keys asked in ascending order (the run is
    /// walked once, in step).
    pub(super) fn ascending_probe(&self) -> impl FnMut(&[u8]) -> bool + '_ {
        let mut at = 0;
        move |key| self.map.contains_key(key) || seek(&self.run, &mut at, key)
    }

    /// Takes the head of `key` out, for a commit that asks for its keys in ascending order
    /// (the run is walked once, in step). `None` if it was not read; `Some(None)` if it was
    /// read and there was no head.
    pub(super) fn take_ascending(&mut self, key: &[u8]) -> Option<Option<Bytes>> {
        if !self.map.is_empty() {
            if let Some(head) = self.map.remove(key) {
                return Some(head);
            }
        }
        seek(&self.run, &mut self.walked, key).then(|| Some(self.run[self.walked].1.clone()))
    }
}

/// Moves `at` forward through `run` to the first key at or after `key`; true if that key is
/// `key`. Keys asked in ascending order walk the run once.
fn seek(run: &[(Vec<u8>, Bytes)], at: &mut usize, key: &[u8]) -> bool {
    while let Some((k, _)) = run.get(*at) {
        match k.as_slice().cmp(key) {
            std::cmp::Ordering::Less => *at += 1,
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Greater => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::from(s.as_bytes())
    }

    #[test]
    fn kept_heads_in_order_go_to_the_run_and_others_to_the_map() {
        let mut h = ReadHeads::default();
        h.keep(b"b".to_vec(), b("hb"), usize::MAX);
        h.keep(b"d".to_vec(), b("hd"), usize::MAX);
        // Out of order (a reverse or index-ordered scan): the map.
        h.keep(b"a".to_vec(), b("ha"), usize::MAX);
        h.insert(b"c".to_vec(), None, usize::MAX);
        assert_eq!(h.run.len(), 2);
        assert_eq!(h.map.len(), 2);
        let asked: Vec<bool> = {
            let mut held = h.ascending_probe();
            [&b"0"[..], b"a", b"b", b"bb", b"c", b"d", b"e"]
                .into_iter()
                .map(&mut held)
                .collect()
        };
        assert_eq!(asked, [false, true, true, false, true, true, false]);
        assert!(h.read_dead(b"c"));
        assert!(!h.read_dead(b"b") && !h.read_dead(b"a") && !h.read_dead(b"e"));
        // The commit asks in ascending order, skipping keys it did not write.
        assert_eq!(h.take_ascending(b"a"), Some(Some(b("ha"))));
        assert_eq!(h.take_ascending(b"c"), Some(None));
        assert_eq!(h.take_ascending(b"cc"), None);
        assert_eq!(h.take_ascending(b"d"), Some(Some(b("hd"))));
        assert_eq!(h.take_ascending(b"e"), None);
    }

    #[test]
    fn past_its_budget_the_run_hands_heads_back_and_the_map_starts_over() {
        let mut h = ReadHeads::default();
        let budget = 2 * (1 + 2 + ENTRY_OVERHEAD);
        assert!(h.keep(b"a".to_vec(), b("ha"), budget).is_none());
        assert!(h.keep(b"b".to_vec(), b("hb"), budget).is_none());
        // Full: the next head comes back, and the run keeps its first rows.
        assert_eq!(h.keep(b"c".to_vec(), b("hc"), budget), Some(b("hc")));
        assert_eq!(h.run.len(), 2);
        assert!(h.bytes() <= budget);
        // Handed back for the row's write, it is kept whatever the budget.
        h.keep_for_write(b"c".to_vec(), b("hc"), 2 * budget);
        assert_eq!(h.run.len(), 3);
        // Up to a limit.
        h.keep_for_write(b"d".to_vec(), b("hd"), 3 * (1 + 2 + ENTRY_OVERHEAD));
        assert_eq!(h.run.len(), 3);
        assert_eq!(h.take_ascending(b"c"), Some(Some(b("hc"))));
        // A point read past the budget starts over.
        h.insert(b"x".to_vec(), None, budget);
        assert!(h.run.is_empty() && h.map.len() == 1);
        // Writing a key again does not count it twice.
        h.insert(b"x".to_vec(), None, usize::MAX);
        let before = h.bytes();
        h.insert(b"x".to_vec(), Some(b("hx")), usize::MAX);
        assert!(h.bytes() <= before + 2);
    }

    #[test]
    fn a_spill_keeps_the_heads_of_rows_after_the_last_key_it_wrote() {
        let mut h = ReadHeads::default();
        for k in ["a", "b", "c", "d"] {
            assert!(h.keep(k.as_bytes().to_vec(), b(k), usize::MAX).is_none());
        }
        h.insert(b"z".to_vec(), None, usize::MAX);
        assert_eq!(h.take_ascending(b"a"), Some(Some(b("a"))));
        h.keep_run_after(b"b", usize::MAX);
        assert!(h.map.is_empty(), "point reads are forgotten");
        assert_eq!(h.bytes(), 2 * (1 + 1 + ENTRY_OVERHEAD));
        assert_eq!(h.take_ascending(b"b"), None);
        assert_eq!(h.take_ascending(b"c"), Some(Some(b("c"))));
        assert_eq!(h.take_ascending(b"d"), Some(Some(b("d"))));
        // A spill that wrote nothing keeps the whole run, within the budget: its first heads.
        h.keep_run_after(b"", usize::MAX);
        assert_eq!(h.run.len(), 2);
        h.keep_run_after(b"", 1 + 1 + ENTRY_OVERHEAD);
        assert_eq!(h.run.len(), 1);
        assert_eq!(h.take_ascending(b"c"), Some(Some(b("c"))));
    }
}
