//! Live-key counters: how many live logical keys a group (a SQL table) has, at every SCN.
//!
//! `SELECT count(*) FROM t` would otherwise visit every row, and an LSM iterator costs a few
//! hundred nanoseconds an entry. The upper layer names the groups with
//! [`super::MvccOptions::count_group`] (for SQL, the table prefix of a row key) and starts a
//! group's counter when the group is created, empty ([`super::Transaction::start_counting`]).
//! From then on every commit that changes how many live keys the group has also writes the
//! counter's new value, in the same atomic batch, as an ordinary versioned logical key under
//! the reserved tag [`COUNTER_TAG`]. So the counter has history like any row: reading it at a
//! snapshot gives the count at that snapshot, `AS OF` included, and GC keeps exactly the
//! versions some retained snapshot can see.
//!
//! The commit knows each written key's previous head (it moves it to the history), so the
//! change of a key is exact: +1 when a live version replaces none or a tombstone, -1 when a
//! tombstone replaces a live version, 0 otherwise. Writers are serialised by the write lock, so
//! the counter read at commit is the newest. A group without a counter (created before
//! counters existed) stays without one, and readers fall back to scanning; a counter that
//! cannot be decoded is deleted rather than trusted.

use super::keys;
use super::txn::Pending;
use super::write_set::WriteSet;
use crate::error::Result;
use crate::storage::Storage;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;

/// First byte of every counter's logical key. The SQL layer's logical keys start with a
/// letter, so no row, index or catalog key can collide with a counter.
pub const COUNTER_TAG: u8 = 0x00;

/// Returns the length of the group prefix `key` counts under, or `None` if it is not counted.
pub type CountGroup = fn(&[u8]) -> Option<usize>;

/// The logical key of the counter of the group `prefix`.
pub fn counter_key(prefix: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + prefix.len());
    k.push(COUNTER_TAG);
    k.extend_from_slice(prefix);
    k
}

/// Encodes a counter value.
pub fn encode_count(n: i64) -> Vec<u8> {
    n.to_be_bytes().to_vec()
}

/// Decodes a counter value; `None` if it is not one (or negative, which no count can be).
pub fn decode_count(v: &[u8]) -> Option<i64> {
    let n = i64::from_be_bytes(v.try_into().ok()?);
    (n >= 0).then_some(n)
}

/// True for the logical key of a counter (every other logical key has another first byte).
pub(super) fn is_counter(logical: &[u8]) -> bool {
    logical.first() == Some(&COUNTER_TAG)
}

/// Adds to `writes` the new value of every counter this commit changes.
///
/// `superseded` holds the committed head each key of `writes` but the counters supersedes,
/// in order (`None`: a write without versions, which changes no count). `newest` caches
/// head values already read under the write lock; the counters' heads read here are added
/// to it, so the commit that follows reads no key twice.
pub(super) fn update(
    storage: &dyn Storage,
    group: CountGroup,
    writes: &mut WriteSet,
    superseded: &[Option<Option<crate::storage::Bytes>>],
    newest: &mut HashMap<Vec<u8>, Option<crate::storage::Bytes>>,
) -> Result<()> {
    let mut deltas: HashMap<Vec<u8>, i64> = HashMap::default();
    let mut heads = superseded.iter();
    for (logical, pending) in writes.iter() {
        if is_counter(logical) {
            continue;
        }
        let head = heads.next().ok_or_else(|| {
            crate::error::Error::corruption("fewer superseded heads than written keys")
        })?;
        if group(logical).is_none() {
            continue;
        }
        let old_head = head.as_ref().and_then(|h| h.as_deref());
        let old_live = !pending.unversioned && live(old_head)?;
        add_delta(
            group,
            logical,
            old_live,
            pending.value.is_some(),
            &mut deltas,
        );
    }
    apply_deltas(storage, &deltas, writes, newest)
}

/// A write set that counters' new values join: the transaction's own (at a one-batch
/// commit), or the counters a spilled commit writes last.
pub(super) trait CounterWrites {
    /// The pending version of `key`, if there is one (`Some(None)`: a deletion).
    fn pending(&self, key: &[u8]) -> Option<Option<&[u8]>>;
    /// Sets the pending version of `key`.
    fn set(&mut self, key: Vec<u8>, value: Option<Vec<u8>>);
}

impl CounterWrites for BTreeMap<Vec<u8>, Option<Vec<u8>>> {
    fn pending(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        self.get(key).map(Option::as_deref)
    }
    fn set(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.insert(key, value);
    }
}

impl CounterWrites for WriteSet {
    fn pending(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        self.get(key).map(|p| p.value.as_deref())
    }
    fn set(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        match self.get_mut(&key) {
            Some(p) => p.value = value,
            None => {
                self.insert_new(
                    key,
                    Pending {
                        value,
                        unversioned: false,
                    },
                );
            }
        }
    }
}

/// Adds the change a write of `logical` makes to its group's count: +1 when a live version
/// replaces none or a tombstone, -1 for the reverse.
pub(super) fn add_delta(
    group: CountGroup,
    logical: &[u8],
    old_live: bool,
    new_live: bool,
    deltas: &mut HashMap<Vec<u8>, i64>,
) {
    let Some(len) = group(logical).filter(|&l| l <= logical.len()) else {
        return;
    };
    let delta = i64::from(new_live) - i64::from(old_live);
    if delta != 0 {
        let prefix = &logical[..len];
        match deltas.get_mut(prefix) {
            Some(d) => *d += delta,
            None => {
                deltas.insert(prefix.to_vec(), delta);
            }
        }
    }
}

/// Adds to `writes` the new value of the counter of every group in `deltas` (which may
/// already hold the transaction's own writes of counters: a group started or dropped in it).
pub(super) fn apply_deltas(
    storage: &dyn Storage,
    deltas: &HashMap<Vec<u8>, i64>,
    writes: &mut impl CounterWrites,
    newest: &mut HashMap<Vec<u8>, Option<crate::storage::Bytes>>,
) -> Result<()> {
    for (prefix, &delta) in deltas {
        if delta == 0 {
            continue;
        }
        let key = counter_key(prefix);
        let base = match writes.pending(&key) {
            // Started in this transaction, or the group was dropped in it.
            Some(Some(v)) => decode_count(v),
            Some(None) => continue,
            None => match head(storage, &key, newest)? {
                Some(h) => match keys::decode_version(h)?.data {
                    Some(v) => decode_count(v),
                    None => continue, // a deleted counter: the group is not counted
                },
                None => continue, // never started: the group predates counters
            },
        };
        let value = base
            .and_then(|b| b.checked_add(delta))
            .filter(|n| *n >= 0)
            .map(encode_count);
        // An unreadable or impossible count is dropped, never carried forward: readers then
        // count by scanning.
        writes.set(key, value);
    }
    Ok(())
}

/// The head of `logical`, from the cache or from storage (then cached).
fn head<'a>(
    storage: &dyn Storage,
    logical: &[u8],
    newest: &'a mut HashMap<Vec<u8>, Option<crate::storage::Bytes>>,
) -> Result<Option<&'a [u8]>> {
    if !newest.contains_key(logical) {
        // The commit rewrites the counter: no use caching what it read.
        let h = super::view::head_to_replace(storage, logical)?;
        newest.insert(logical.to_vec(), h);
    }
    Ok(newest.get(logical).and_then(|h| h.as_deref()))
}

fn live(head: Option<&[u8]>) -> Result<bool> {
    Ok(match head {
        Some(h) => keys::decode_version(h)?.data.is_some(),
        None => false,
    })
}
