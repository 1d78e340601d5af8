//! A transaction's in-memory write set: its pending versions by logical key, in key order.
//!
//! The common bulk case, a prepared INSERT of increasing rowids, writes each key after every
//! key written before. A `BTreeMap` pays a full search for each of them, and appending at the
//! right edge of a B-tree compares the new key with most keys of every node on its path (41
//! comparisons per insert at 100,000 keys). So keys written in ascending order go to an
//! *appended run* instead, a sorted vector after every key of the map: an append is one
//! comparison with the last key and a push. Keys written out of order go to the map. A key
//! that falls inside the run without being in it moves the run into the map first (each key
//! moves at most once, so the cost stays what the map alone would have cost).
//!
//! Readers see one ordered set: the map's keys, then the run's.

use super::txn::Pending;
use std::collections::{btree_map, BTreeMap};
use std::ops::Bound;

/// Where a write of a key goes ([`WriteSet::slot`]).
pub(super) enum Slot<'a> {
    /// The key (given back) has a pending version in the run.
    InRun(Vec<u8>, &'a mut Pending),
    /// The key has a pending version in the map.
    Occupied(btree_map::OccupiedEntry<'a, Vec<u8>, Pending>),
    /// The key has no pending version and goes into the map here.
    Vacant(btree_map::VacantEntry<'a, Vec<u8>, Pending>),
    /// The key (given back) has no pending version and sorts at or after the run's first key
    /// (or after every key, with no run): [`WriteSet::insert_new`] places it.
    New(Vec<u8>),
}

/// The pending versions of a transaction, in key order.
#[derive(Debug, Default)]
pub(super) struct WriteSet {
    /// Keys written out of order; every one sorts before the run's first key.
    map: BTreeMap<Vec<u8>, Pending>,
    /// Keys written in ascending order after every key of `map`, in order.
    run: Vec<(Vec<u8>, Pending)>,
}

impl WriteSet {
    /// Number of keys.
    pub(super) fn len(&self) -> usize {
        self.map.len() + self.run.len()
    }

    /// True if no key is pending.
    pub(super) fn is_empty(&self) -> bool {
        self.map.is_empty() && self.run.is_empty()
    }

    /// Forgets every pending version.
    pub(super) fn clear(&mut self) {
        self.map.clear();
        self.run.clear();
    }

    /// Where `key` is or would be in the run, if it sorts at or after the run's first key.
    fn run_position(&self, key: &[u8]) -> Option<Result<usize, usize>> {
        // During a load, most keys asked for are new and sort after the last one.
        let last = self.run.len().checked_sub(1)?;
        match key.cmp(self.run[last].0.as_slice()) {
            std::cmp::Ordering::Equal => Some(Ok(last)),
            std::cmp::Ordering::Greater => Some(Err(self.run.len())),
            std::cmp::Ordering::Less if key < self.run[0].0.as_slice() => None,
            std::cmp::Ordering::Less => {
                Some(self.run.binary_search_by(|(k, _)| k.as_slice().cmp(key)))
            }
        }
    }

    /// The pending version of `key`.
    pub(super) fn get(&self, key: &[u8]) -> Option<&Pending> {
        match self.run_position(key) {
            Some(Ok(i)) => Some(&self.run[i].1),
            Some(Err(_)) => None,
            None => self.map.get(key),
        }
    }

    /// The pending version of `key`, to change it.
    pub(super) fn get_mut(&mut self, key: &[u8]) -> Option<&mut Pending> {
        match self.run_position(key) {
            Some(Ok(i)) => Some(&mut self.run[i].1),
            Some(Err(_)) => None,
            None => self.map.get_mut(key),
        }
    }

    /// True if `key` sorts after every pending key (it can be appended to the run).
    fn after_every_key(&self, key: &[u8]) -> bool {
        match self.run.last() {
            Some((last, _)) => key > last.as_slice(),
            None => self
                .map
                .last_key_value()
                .is_none_or(|(last, _)| key > last.as_slice()),
        }
    }

    /// Where a write of `key` goes, found with one search: its pending version if it has one,
    /// else the place for a new one.
    pub(super) fn slot(&mut self, key: Vec<u8>) -> Slot<'_> {
        match self.run_position(&key) {
            Some(Ok(i)) => Slot::InRun(key, &mut self.run[i].1),
            Some(Err(_)) => Slot::New(key),
            None if self.after_every_key(&key) => Slot::New(key),
            None => match self.map.entry(key) {
                btree_map::Entry::Occupied(e) => Slot::Occupied(e),
                btree_map::Entry::Vacant(v) => Slot::Vacant(v),
            },
        }
    }

    /// True if inserting `key` (which has no pending version) would have to move the run into
    /// the map: it sorts inside the run.
    pub(super) fn splits_run(&self, key: &[u8]) -> bool {
        matches!(self.run_position(key), Some(Err(i)) if i < self.run.len())
    }

    /// Appends `key`, which has no pending version, to the run if it sorts after every key
    /// (the caller may then undo it with [`WriteSet::pop_appended`]); otherwise hands it
    /// back.
    pub(super) fn try_append(
        &mut self,
        key: Vec<u8>,
        pending: Pending,
    ) -> Result<(), (Vec<u8>, Pending)> {
        if !self.after_every_key(&key) {
            return Err((key, pending));
        }
        self.run.push((key, pending));
        Ok(())
    }

    /// Adds `key`, which has no pending version. Returns true if it was appended to the run
    /// (the caller may then undo it with [`WriteSet::pop_appended`]).
    pub(super) fn insert_new(&mut self, key: Vec<u8>, pending: Pending) -> bool {
        let Err((key, pending)) = self.try_append(key, pending) else {
            return true;
        };
        if self.splits_run(&key) {
            self.merge_run();
        }
        self.map.insert(key, pending);
        false
    }

    /// How many pending versions satisfy `pred`.
    pub(super) fn count_where(&self, pred: impl Fn(&Pending) -> bool) -> usize {
        self.iter().filter(|(_, p)| pred(p)).count()
    }

    /// Removes the pending versions that satisfy `pred` and returns them in key order. The
    /// keys left keep their places (the map's still sort before the run's).
    pub(super) fn take_where(
        &mut self,
        pred: impl Fn(&Pending) -> bool,
    ) -> Vec<(Vec<u8>, Pending)> {
        let mut taken = Vec::new();
        if self.map.values().any(&pred) {
            let mut kept = Vec::new();
            for (k, p) in std::mem::take(&mut self.map) {
                if pred(&p) {
                    taken.push((k, p));
                } else {
                    kept.push((k, p));
                }
            }
            // Sorted input: built bottom-up.
            self.map = kept.into_iter().collect();
        }
        let (out, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.run)
            .into_iter()
            .partition(|(_, p)| pred(p));
        self.run = kept;
        taken.extend(out);
        taken
    }

    /// The keys of the run, oldest first (for an undo log that records appends by position).
    pub(super) fn run_keys(&self) -> impl DoubleEndedIterator<Item = &Vec<u8>> + '_ {
        self.run.iter().map(|(k, _)| k)
    }

    /// Moves the run into the map. In bulk when the run is not much smaller than the map
    /// (a merge of two sorted sequences, no search), one key at a time otherwise, so that a
    /// short run never costs a pass over a large map.
    pub(super) fn merge_run(&mut self) {
        if self.run.is_empty() {
            return;
        }
        let run = std::mem::take(&mut self.run);
        if self.map.is_empty() {
            // Sorted input: built bottom-up, without comparisons beyond the order check.
            self.map = run.into_iter().collect();
        } else if run.len() * 8 >= self.map.len() {
            let mut other: BTreeMap<_, _> = run.into_iter().collect();
            self.map.append(&mut other);
        } else {
            self.map.extend(run);
        }
    }

    /// Removes the newest appended key, undoing [`WriteSet::insert_new`] that returned true.
    pub(super) fn pop_appended(&mut self) -> Option<(Vec<u8>, Pending)> {
        self.run.pop()
    }

    /// Removes `key`.
    pub(super) fn remove(&mut self, key: &[u8]) -> Option<Pending> {
        match self.run_position(key) {
            Some(Ok(i)) => Some(self.run.remove(i).1),
            Some(Err(_)) => None,
            None => self.map.remove(key),
        }
    }

    /// The pending versions with keys in the given bounds, in key order (reversible).
    pub(super) fn range<'a>(
        &'a self,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
    ) -> impl DoubleEndedIterator<Item = (&'a Vec<u8>, &'a Pending)> + 'a {
        let empty = bounds_empty(lo, hi);
        let map = (!empty && !self.map.is_empty()).then(|| self.map.range::<[u8], _>((lo, hi)));
        let start = self.run.partition_point(|(k, _)| match lo {
            Bound::Included(b) => k.as_slice() < b,
            Bound::Excluded(b) => k.as_slice() <= b,
            Bound::Unbounded => false,
        });
        let end = self.run.partition_point(|(k, _)| match hi {
            Bound::Included(b) => k.as_slice() <= b,
            Bound::Excluded(b) => k.as_slice() < b,
            Bound::Unbounded => true,
        });
        let run = if empty || start >= end {
            &self.run[..0]
        } else {
            &self.run[start..end]
        };
        map.into_iter()
            .flatten()
            .chain(run.iter().map(|(k, p)| (k, p)))
    }

    /// Every pending version, in key order.
    pub(super) fn iter(&self) -> impl DoubleEndedIterator<Item = (&Vec<u8>, &Pending)> + '_ {
        self.map.iter().chain(self.run.iter().map(|(k, p)| (k, p)))
    }

    /// Every key, in order.
    pub(super) fn keys(&self) -> impl Iterator<Item = &Vec<u8>> + '_ {
        self.iter().map(|(k, _)| k)
    }
}

impl IntoIterator for WriteSet {
    type Item = (Vec<u8>, Pending);
    type IntoIter = std::iter::Chain<
        std::collections::btree_map::IntoIter<Vec<u8>, Pending>,
        std::vec::IntoIter<(Vec<u8>, Pending)>,
    >;

    /// Every pending version, in key order.
    fn into_iter(self) -> Self::IntoIter {
        self.map.into_iter().chain(self.run)
    }
}

/// True if no key lies between `lo` and `hi` (a `BTreeMap` range would panic on them).
pub(super) fn bounds_empty(lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b)) => a >= b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &str) -> Pending {
        Pending {
            value: Some(v.as_bytes().to_vec()),
            unversioned: false,
        }
    }

    fn keys_of<'a>(it: impl Iterator<Item = (&'a Vec<u8>, &'a Pending)>) -> Vec<String> {
        it.map(|(k, _)| String::from_utf8(k.clone()).unwrap())
            .collect()
    }

    /// The write set against a plain `BTreeMap` for a sequence of inserts, removals and
    /// appends undone, checking lookups and every kind of range after each step.
    #[test]
    fn matches_a_btreemap_whatever_the_order() {
        let mut seed = 7u64;
        let mut next = move |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for round in 0..40 {
            let mut ws = WriteSet::default();
            let mut model: BTreeMap<Vec<u8>, String> = BTreeMap::new();
            let mut appended: Vec<Vec<u8>> = Vec::new();
            let mut counter = 0u64;
            for _ in 0..200 {
                let op = next(10);
                if op < 6 {
                    // Mostly ascending keys, sometimes a key anywhere.
                    counter += 1 + next(3);
                    let n = if op < 5 || round % 3 == 0 {
                        counter
                    } else {
                        next(counter + 5)
                    };
                    let key = format!("k{n:06}").into_bytes();
                    let v = format!("v{n}");
                    // Odd rounds write through `slot`, even ones look up and then insert.
                    let key = if round % 2 == 1 {
                        match ws.slot(key.clone()) {
                            Slot::InRun(_, e) => *e = p(&v),
                            Slot::Occupied(mut e) => *e.get_mut() = p(&v),
                            Slot::Vacant(e) => {
                                e.insert(p(&v));
                            }
                            Slot::New(new) => {
                                if ws.splits_run(&new) {
                                    appended.clear();
                                }
                                if ws.insert_new(new.clone(), p(&v)) {
                                    appended.push(new);
                                }
                            }
                        }
                        key
                    } else {
                        if let Some(e) = ws.get_mut(&key) {
                            *e = p(&v);
                        } else {
                            if ws.splits_run(&key) {
                                appended.clear();
                            }
                            if ws.insert_new(key.clone(), p(&v)) {
                                appended.push(key.clone());
                            }
                        }
                        key
                    };
                    model.insert(key, v);
                } else if op < 8 {
                    if let Some(key) = appended.pop() {
                        let (k, _) = ws.pop_appended().unwrap();
                        assert_eq!(k, key);
                        model.remove(&key);
                    }
                } else if op < 9 {
                    let key = format!("k{:06}", next(counter + 5)).into_bytes();
                    if ws.run_keys().any(|k| *k == key) {
                        appended.clear();
                        ws.merge_run();
                    }
                    assert_eq!(ws.remove(&key).is_some(), model.remove(&key).is_some());
                } else {
                    appended.clear();
                    ws.merge_run();
                }
                assert_eq!(ws.len(), model.len());
                let lo = format!("k{:06}", next(counter + 5)).into_bytes();
                let hi = format!("k{:06}", next(counter + 5)).into_bytes();
                for (a, b) in [
                    (Bound::Included(&lo[..]), Bound::Excluded(&hi[..])),
                    (Bound::Excluded(&lo[..]), Bound::Included(&hi[..])),
                    (Bound::Included(&lo[..]), Bound::Unbounded),
                    (Bound::Unbounded, Bound::Excluded(&hi[..])),
                    (Bound::Excluded(&lo[..]), Bound::Excluded(&lo[..])),
                ] {
                    let want: Vec<String> = if bounds_empty(a, b) {
                        Vec::new()
                    } else {
                        model
                            .range::<[u8], _>((a, b))
                            .map(|(k, _)| String::from_utf8(k.clone()).unwrap())
                            .collect()
                    };
                    assert_eq!(keys_of(ws.range(a, b)), want);
                    let mut rev = keys_of(ws.range(a, b).rev());
                    rev.reverse();
                    assert_eq!(rev, want);
                }
                for (k, v) in &model {
                    assert_eq!(ws.get(k).unwrap().value.as_deref(), Some(v.as_bytes()));
                }
                assert!(ws.get(&lo).is_some() == model.contains_key(&lo));
            }
            let all: Vec<Vec<u8>> = ws.into_iter().map(|(k, _)| k).collect();
            assert_eq!(all, model.keys().cloned().collect::<Vec<_>>());
        }
    }

    #[test]
    fn ascending_keys_are_appended_and_others_are_not() {
        let mut ws = WriteSet::default();
        assert!(ws.insert_new(b"b".to_vec(), p("1")));
        assert!(ws.insert_new(b"c".to_vec(), p("2")));
        // Below the run: the map.
        assert!(!ws.insert_new(b"a".to_vec(), p("3")));
        // Inside the run: the run moves into the map.
        assert!(ws.splits_run(b"bb"));
        assert!(!ws.insert_new(b"bb".to_vec(), p("4")));
        assert_eq!(ws.run_keys().count(), 0);
        // After everything: a new run.
        assert!(ws.insert_new(b"d".to_vec(), p("5")));
        assert_eq!(keys_of(ws.iter()), ["a", "b", "bb", "c", "d"]);
    }
}
