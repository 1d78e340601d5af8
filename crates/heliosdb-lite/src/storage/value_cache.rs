//! A cache of recently read values in front of an LSM's point reads.
//!
//! A point read in fjall walks its memtables, then per table a filter partition, a block
//! index partition and a data block, each found through the block cache and searched: about
//! 1.7 µs for a primary-key lookup, most of a prepared point select. A hash map of the values
//! read recently answers the same read in a few dozen nanoseconds (what RocksDB calls its row
//! cache); SQLite gets the same effect from its page cache.
//!
//! # Staying exact
//!
//! The cache must never answer with a value a write has replaced. Writers bracket each write
//! with [`ValueCache::begin_write`] (the returned guard ends it): it counts the write as in
//! flight, bumps an epoch and drops the keys it will write (a sorted ingestion, whose keys are
//! not known in advance, drops everything). Readers use the cache only while no write is in
//! flight, and a reader puts what it read from the store into the cache only if no write began
//! since it looked (the epoch is unchanged) and none is in flight, checked under the same
//! shard lock as the insertion. So a value read before a write can never be inserted after
//! the write dropped its key, and while a write is being applied nobody reads the cache, so
//! no reader can see part of a batch from the store and the rest from the cache: reads stay
//! exactly what the store alone would return.
//!
//! An eighth of the bytes remembers the answers of settled range seeks
//! ([`super::Storage::first_in_settled_range`]: the MVCC layer's history seeks, which an
//! `AS OF` point read makes), keyed by the range's bounds. Their caller
//! guarantees they never change, so they are served and cached whatever writes are in flight;
//! only an ingestion drops them with everything else.
//!
//! Another quarter keeps whole settled groups as runs ([`super::SettledRun`]: the history of
//! one key, so that an audit reading a key at many past moments searches one block instead of
//! making a point read per moment), under the same rules as the settled range seeks: served
//! whatever writes are in flight, dropped by an ingestion. Reading a group whole costs more
//! than a point read, so a group is copied only once it has been asked for about as many
//! times as the copy costs point reads: a group read twice pays at most about twice what its
//! point reads cost. The asks are counted as TinyLFU counts: a group's first ask only sets
//! its bit in the bitmap of keys seen (so that groups asked for once, the most common case
//! when many keys are read, leave the counters alone); later asks go to a small count-min
//! sketch (two counters per group, the smaller one is the estimate, only the smaller ones
//! are raised) whose counters all halve every 32,768 counted asks, a quarter of a count per
//! counter, so that collisions between many groups do not add up to a copy at a first read
//! (with one shared counter per group, halved every four counts, a million groups read once
//! or twice each were mostly copied). A copy taken before newer pairs
//! were added cannot answer reads past its end; those asks are counted apart (under a salted
//! hash, from zero at each copy), and the group is read again once they have paid for it.
//! The bitmap of keys seen is the values' (below): a collision there only admits a value or
//! counts a group one miss early.
//!
//! Only present values are cached (a read of a missing key, as an insert's existence check
//! makes, is not), and values are copied out of the block they were read from so that a
//! cached value does not keep a whole block alive. A value is admitted at its key's second
//! miss: the first only sets the key's bit in a small bitmap of keys seen, so that reads of
//! keys read once (a scan of lookups over a large table, an UPDATE's reads) do not pay for
//! copying and inserting what will not be read again. A reader about to replace the value
//! ([`super::Storage::get_to_replace`]) looks the cache up but offers nothing.

use super::{Bytes, KvPair, SettledRun};
use quick_cache::unsync::Cache;
use quick_cache::Weighter;
use std::hash::BuildHasher;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::Mutex;

/// Independent shards, so that threads reading different keys rarely wait for each other.
const SHARDS: usize = 16;

/// Bytes an entry costs beyond its key and value (hash table slot, boxes, queue links).
const ENTRY_OVERHEAD: u64 = 64;

/// Bits of the bitmap of keys seen once (128 KiB); it is cleared when a quarter is set.
const SEEN_BITS: usize = 1 << 20;

/// Counters of settled groups asked for (each group has two, 256 KiB in all), one byte
/// each, eight to a word so that halving them all is 32,768 word operations.
const ASKED: usize = 1 << 18;

/// Asks counted between two halvings of the counters: a group is copied when it was asked
/// for often enough within about this many asks, and each counter is raised a quarter of a
/// time on average meanwhile, so that groups sharing counters rarely add up to a copy.
const ASKED_PERIOD: u64 = 1 << 15;

/// Mixed into a group's hash to count the asks its copy could not answer apart from the
/// asks that led to the copy.
const STALE_SALT: u64 = 0x9E37_79B9_7F4A_7C15;

/// Share of a shard's bytes a single run may weigh: the cache refuses an entry heavier than
/// the part of a shard that admits new entries (97% of it), so a larger run is kept as an
/// empty marker instead.
const RUN_SHARE_OF_SHARD: (u64, u64) = (9, 10);

/// Charges an entry for its bytes.
#[derive(Clone, Copy)]
struct ByBytes;

impl Weighter<Box<[u8]>, Bytes> for ByBytes {
    fn weight(&self, key: &Box<[u8]>, value: &Bytes) -> u64 {
        key.len() as u64 + value.len() as u64 + ENTRY_OVERHEAD
    }
}

type Shard = Cache<Box<[u8]>, Bytes, ByBytes, rustc_hash::FxBuildHasher>;

/// Recently read values by key, bounded in bytes (see the module documentation).
pub(crate) struct ValueCache {
    /// Values by key.
    values: Vec<Mutex<Shard>>,
    /// Settled range seeks' first pairs by [`ValueCache::range_id`].
    ranges: Vec<Mutex<Shard>>,
    /// Settled groups' runs ([`super::SettledRun`] blocks) by [`ValueCache::run_id`].
    runs: Vec<Mutex<Shard>>,
    /// Writes begun so far: a reader inserts only if this has not moved since it looked.
    epoch: AtomicU64,
    /// Writes begun and not yet ended: while any is, the cache is not read.
    in_flight: AtomicU64,
    /// Keys missed once, by hash: a value is cached at its key's second miss.
    seen: Vec<AtomicU64>,
    /// Bits set in `seen` since it was last cleared.
    seen_count: AtomicU64,
    /// Times each settled group (by hash) was asked for and not kept: [`ASKED`] byte
    /// counters, eight to a word.
    asked: Vec<AtomicU64>,
    /// Asks counted in `asked`; the counters halve at each multiple of [`ASKED_PERIOD`].
    asked_count: AtomicU64,
    /// The heaviest run a shard of `runs` admits (key, block and overhead).
    run_weight_max: u64,
    /// Bytes the parts together may hold, as configured.
    capacity: u64,
}

/// What a reader needs to insert the value it is about to read from the store.
pub(crate) struct Ticket {
    shard: usize,
    epoch: u64,
    hash: u64,
}

/// Outcome of looking a settled group up ([`ValueCache::run`]).
pub(crate) enum RunLookup {
    /// The group's run, reaching as far as the read needs.
    Hit(SettledRun),
    /// Not kept, or kept but ending before the pair the read needs, and asked for often
    /// enough: read the group and keep it with [`ValueCache::keep_run`].
    Load,
    /// Not kept (or ending too early), not asked for often enough yet, or remembered as too
    /// large to keep: read the ordinary way.
    Skip,
}

/// Outcome of a lookup.
pub(crate) enum Lookup {
    /// The cached value.
    Hit(Bytes),
    /// Not cached: read the store, then offer the value with [`ValueCache::offer`].
    Miss(Ticket),
    /// A write is in flight: read the store and leave the cache alone.
    Bypass,
}

impl ValueCache {
    /// A cache holding up to about `bytes` of keys and values (an eighth of them for settled
    /// range seeks, a quarter for runs); `None` for 0 bytes.
    pub(crate) fn new(bytes: u64) -> Option<Self> {
        (bytes > 0).then(|| Self::with_shares(bytes - bytes / 8 - bytes / 4, bytes / 8, bytes / 4))
    }

    /// A cache for settled groups' runs only, of about `bytes` (a backend that holds every
    /// value in memory already: its other parts take their minimum); `None` for 0 bytes.
    pub(crate) fn runs_only(bytes: u64) -> Option<Self> {
        (bytes > 0).then(|| Self::with_shares(0, 0, bytes))
    }

    fn with_shares(values: u64, ranges: u64, runs: u64) -> Self {
        let per_shard = |bytes: u64| (bytes / SHARDS as u64).max(4096);
        let shards = |bytes: u64| {
            let per_shard = per_shard(bytes);
            let items = (per_shard / 128).max(16) as usize;
            (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard::with(
                        items,
                        per_shard,
                        ByBytes,
                        Default::default(),
                        Default::default(),
                    ))
                })
                .collect()
        };
        Self {
            values: shards(values),
            ranges: shards(ranges),
            runs: shards(runs),
            epoch: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            seen: (0..SEEN_BITS / 64).map(|_| AtomicU64::new(0)).collect(),
            seen_count: AtomicU64::new(0),
            asked: (0..ASKED / 8).map(|_| AtomicU64::new(0)).collect(),
            asked_count: AtomicU64::new(0),
            run_weight_max: per_shard(runs) / RUN_SHARE_OF_SHARD.1 * RUN_SHARE_OF_SHARD.0,
            capacity: values + ranges + runs,
        }
    }

    /// Bytes the cache may hold, as configured.
    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Values cached now (not the settled seeks' answers nor the runs), for tests.
    #[cfg(test)]
    pub(crate) fn values_held(&self) -> usize {
        (0..SHARDS).map(|i| Self::lock(&self.values, i).len()).sum()
    }

    /// The run of the settled group `prefix` + `suffix_len` bytes ([`super::Storage::settled_run`])
    /// for a backend that keeps them here and reads groups from `store`, if it holds a pair
    /// at or after the suffix `reaching`: the kept run, or, once the group has been asked for
    /// about as many times as reading it whole costs point reads, the run read now; `None`
    /// until then. `pairs` is the caller's estimate of the group's size; `None` looks for a
    /// kept run only, and counts nothing.
    pub(crate) fn settled_run(
        &self,
        store: &dyn super::Storage,
        prefix: &[u8],
        suffix_len: usize,
        reaching: &[u8],
        pairs: Option<usize>,
    ) -> crate::error::Result<Option<super::SettledRun>> {
        let id = Self::run_id(prefix, suffix_len);
        let Some(pairs) = pairs else {
            return Ok(self.kept_run(&id, reaching));
        };
        // Measured on fjall's cached blocks: a point read costs about what a scan costs to
        // start and to read a dozen pairs (a `BTreeMap` in memory is in the same proportion).
        // So a group is read whole once the point reads asked for it would have paid for
        // that, and it costs at most about twice what they would have.
        let worth_at = u8::try_from(2 + pairs / 12).unwrap_or(u8::MAX);
        match self.run(&id, reaching, worth_at) {
            RunLookup::Hit(run) => Ok(Some(run)),
            RunLookup::Skip => Ok(None),
            RunLookup::Load => {
                // A group too large to keep is remembered as an empty run: it answers no
                // read, and its reads do not scan it again while it is remembered.
                let run = super::settled_run::read_run(store, prefix, suffix_len, pairs)?;
                self.keep_run(&id, run.as_ref().map(|run| run.block().clone()));
                Ok(run.filter(|run| run.seek(reaching) < run.len()))
            }
        }
    }

    fn hash(key: &[u8]) -> u64 {
        rustc_hash::FxBuildHasher.hash_one(key)
    }

    fn shard_of(hash: u64) -> usize {
        // The high bits: Fx's low bits are weak for short keys.
        (hash >> 60) as usize % SHARDS
    }

    /// True if the key of `hash` was missed before (since the bitmap was last cleared);
    /// marks it missed otherwise. Races between threads only admit a value a miss early or
    /// late.
    fn seen_before(&self, hash: u64) -> bool {
        let bit = (hash >> 20) as usize % SEEN_BITS;
        let (word, mask) = (&self.seen[bit / 64], 1u64 << (bit % 64));
        if word.fetch_or(mask, Relaxed) & mask != 0 {
            return true;
        }
        if self.seen_count.fetch_add(1, Relaxed) + 1 >= (SEEN_BITS / 4) as u64 {
            self.seen_count.store(0, Relaxed);
            for w in &self.seen {
                w.store(0, Relaxed);
            }
        }
        false
    }

    fn lock(shards: &[Mutex<Shard>], shard: usize) -> std::sync::MutexGuard<'_, Shard> {
        // A panic while holding a shard leaves at worst a missing entry: the data is fine.
        shards[shard].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Looks `key` up.
    pub(crate) fn lookup(&self, key: &[u8]) -> Lookup {
        let hash = Self::hash(key);
        let shard = Self::shard_of(hash);
        let guard = Self::lock(&self.values, shard);
        if self.in_flight.load(SeqCst) != 0 {
            return Lookup::Bypass;
        }
        match guard.get(key) {
            Some(v) => Lookup::Hit(v.clone()),
            None => Lookup::Miss(Ticket {
                shard,
                epoch: self.epoch.load(SeqCst),
                hash,
            }),
        }
    }

    /// Caches `value`, read from the store for `key` after `ticket` was issued, unless a
    /// write began since or this is the key's first miss.
    pub(crate) fn offer(&self, ticket: Ticket, key: &[u8], value: &Bytes) {
        if !self.seen_before(ticket.hash) {
            return;
        }
        let mut guard = Self::lock(&self.values, ticket.shard);
        if self.epoch.load(SeqCst) != ticket.epoch || self.in_flight.load(SeqCst) != 0 {
            return;
        }
        guard.insert(key.into(), Bytes::from(&value[..]));
    }

    /// The cache key of a settled range seek: both bounds.
    pub(crate) fn range_id(range: &super::KeyRange) -> Vec<u8> {
        use std::ops::Bound;
        let bound_len = |b: &Bound<Vec<u8>>| match b {
            Bound::Included(k) | Bound::Excluded(k) => k.len(),
            Bound::Unbounded => 0,
        };
        let mut id = Vec::with_capacity(10 + bound_len(&range.0) + bound_len(&range.1));
        for bound in [&range.0, &range.1] {
            let (kind, key): (u8, &[u8]) = match bound {
                Bound::Included(k) => (0, k),
                Bound::Excluded(k) => (1, k),
                Bound::Unbounded => (2, &[]),
            };
            id.push(kind);
            id.extend_from_slice(&(key.len() as u32).to_be_bytes());
            id.extend_from_slice(key);
        }
        id
    }

    /// The remembered first pair of the settled range `id` ([`ValueCache::range_id`]).
    pub(crate) fn settled(&self, id: &[u8]) -> Option<KvPair> {
        let hash = Self::hash(id);
        let packed = Self::lock(&self.ranges, Self::shard_of(hash))
            .get(id)?
            .clone();
        let key_len = u32::from_be_bytes(packed[..4].try_into().ok()?) as usize;
        Some((packed.slice(4..4 + key_len), packed.slice(4 + key_len..)))
    }

    /// Remembers `pair` as the first pair of the settled range `id` (from its second seek).
    pub(crate) fn settle(&self, id: &[u8], pair: &KvPair) {
        let hash = Self::hash(id);
        if !self.seen_before(hash) {
            return;
        }
        let (key, value) = pair;
        let mut packed = Vec::with_capacity(4 + key.len() + value.len());
        packed.extend_from_slice(&(key.len() as u32).to_be_bytes());
        packed.extend_from_slice(key);
        packed.extend_from_slice(value);
        Self::lock(&self.ranges, Self::shard_of(hash)).insert(id.into(), Bytes::from(packed));
    }

    /// The cache key of the settled group of keys that are `prefix` and `suffix_len` more
    /// bytes.
    pub(crate) fn run_id(prefix: &[u8], suffix_len: usize) -> Vec<u8> {
        let mut id = Vec::with_capacity(prefix.len() + 4);
        id.extend_from_slice(&(suffix_len as u32).to_be_bytes());
        id.extend_from_slice(prefix);
        id
    }

    /// Looks the run of the settled group `id` ([`ValueCache::run_id`]) up, for a read that
    /// needs a pair at or after the suffix `reaching`. A miss counts the group as asked for,
    /// and so does a kept run that ends before `reaching` (taken before the pairs the read
    /// needs were added), apart; from its `worth_at`-th time on, the caller is asked to read
    /// the group (again).
    /// The kept run of the settled group `id`, if it holds a pair at or after `reaching`;
    /// counts nothing.
    pub(crate) fn kept_run(&self, id: &[u8], reaching: &[u8]) -> Option<SettledRun> {
        // A marker holds no pair, so it reaches nothing.
        let kept = self.kept(Self::hash(id), id)?;
        (kept.seek(reaching) < kept.len()).then_some(kept)
    }

    fn kept(&self, hash: u64, id: &[u8]) -> Option<SettledRun> {
        Self::lock(&self.runs, Self::shard_of(hash))
            .get(id)
            .cloned()
            .and_then(SettledRun::from_block)
    }

    /// Looks the run of the settled group `id` ([`ValueCache::run_id`]) up, for a read that
    /// needs a pair at or after the suffix `reaching`. A miss counts the group as asked for,
    /// and so does a kept run that ends before `reaching` (taken before the pairs the read
    /// needs were added), apart; from its `worth_at`-th time on, the caller is asked to read
    /// the group (again). A group remembered as too large is not counted.
    pub(crate) fn run(&self, id: &[u8], reaching: &[u8], worth_at: u8) -> RunLookup {
        let hash = Self::hash(id);
        let asked = match self.kept(hash, id) {
            Some(run) if run.is_marker() => return RunLookup::Skip,
            Some(run) if run.seek(reaching) < run.len() => return RunLookup::Hit(run),
            Some(_) => self.ask_again(hash ^ STALE_SALT),
            None => self.ask(hash),
        };
        match asked >= worth_at {
            true => RunLookup::Load,
            false => RunLookup::Skip,
        }
    }

    /// The word and bit shift of each of the two counters of `hash` in `asked`.
    fn counters(hash: u64) -> [(usize, u32); 2] {
        [hash >> 14, hash >> 40].map(|h| {
            let at = h as usize % ASKED;
            (at / 8, 8 * (at % 8) as u32)
        })
    }

    /// The smaller of the two counts of `hash`.
    fn count(&self, hash: u64) -> u8 {
        Self::counters(hash)
            .iter()
            .map(|&(word, shift)| (self.asked[word].load(Relaxed) >> shift) as u8)
            .min()
            .unwrap_or(0)
    }

    /// Counts the group of `hash` as asked for once more; returns its estimated count. The
    /// first ask of a group (by the bitmap of keys seen) only sets its bit there. Races
    /// between threads only lose a count.
    fn ask(&self, hash: u64) -> u8 {
        match self.seen_before(hash) {
            true => self.ask_again(hash).saturating_add(1),
            // Seen long ago, perhaps (the bitmap is cleared now and then): its count stands.
            false => self.count(hash).saturating_add(1),
        }
    }

    /// Raises the counts of `hash` (the smaller ones only) and returns the new estimate.
    fn ask_again(&self, hash: u64) -> u8 {
        let count = self.count(hash).saturating_add(1);
        for (word, shift) in Self::counters(hash) {
            let raise = |w: u64| {
                let old = (w >> shift) as u8;
                (old < count).then(|| w & !(0xFF << shift) | (u64::from(count) << shift))
            };
            // Fails only when the counter is already at least `count`.
            let _ = self.asked[word].fetch_update(Relaxed, Relaxed, raise);
        }
        // One thread halves at each multiple of the period.
        if self.asked_count.fetch_add(1, Relaxed) % ASKED_PERIOD == ASKED_PERIOD - 1 {
            for word in &self.asked {
                let _ =
                    word.fetch_update(Relaxed, Relaxed, |w| Some((w >> 1) & 0x7F7F_7F7F_7F7F_7F7F));
            }
        }
        count
    }

    /// Keeps `block`, a run of the settled group `id` just read from the store (`None`: the
    /// group is too large to keep), and counts afresh the asks it cannot answer. A group too
    /// large for a run, or for a shard of this cache, is kept as a marker that answers
    /// nothing and is not counted.
    pub(crate) fn keep_run(&self, id: &[u8], block: Option<Bytes>) {
        let hash = Self::hash(id);
        let fits =
            |b: &Bytes| id.len() as u64 + b.len() as u64 + ENTRY_OVERHEAD <= self.run_weight_max;
        let block = block.filter(fits).unwrap_or_else(SettledRun::marker_block);
        Self::lock(&self.runs, Self::shard_of(hash)).insert(id.into(), block);
        // The stale asks' counters start over (other groups sharing one may lose counts:
        // they are copied a little later, never wrongly).
        for (word, shift) in Self::counters(hash ^ STALE_SALT) {
            let _ = self.asked[word].fetch_update(Relaxed, Relaxed, |w| Some(w & !(0xFF << shift)));
        }
    }

    /// Starts a write of `keys` (`None`: keys not known in advance, so every entry goes).
    /// The write must be applied while the returned guard lives.
    pub(crate) fn begin_write(
        &self,
        keys: Option<&mut dyn Iterator<Item = &[u8]>>,
    ) -> WriteGuard<'_> {
        self.in_flight.fetch_add(1, SeqCst);
        self.epoch.fetch_add(1, SeqCst);
        match keys {
            Some(keys) => {
                for key in keys {
                    let shard = Self::shard_of(Self::hash(key));
                    let mut guard = Self::lock(&self.values, shard);
                    if !guard.is_empty() {
                        guard.remove(key);
                    }
                }
            }
            None => {
                for shard in 0..SHARDS {
                    Self::lock(&self.values, shard).clear();
                    Self::lock(&self.ranges, shard).clear();
                    Self::lock(&self.runs, shard).clear();
                }
            }
        }
        WriteGuard { cache: self }
    }
}

/// A write in flight; dropping it ends the write.
pub(crate) struct WriteGuard<'a> {
    cache: &'a ValueCache,
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        self.cache.in_flight.fetch_sub(1, SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(s: &str) -> Bytes {
        Bytes::from(s.as_bytes())
    }

    /// Reads `key` as the store does, holding `store`: a miss offers the value.
    fn read(cache: &ValueCache, key: &[u8], store: &Bytes) -> Bytes {
        match cache.lookup(key) {
            Lookup::Hit(v) => v,
            Lookup::Miss(t) => {
                cache.offer(t, key, store);
                store.clone()
            }
            Lookup::Bypass => store.clone(),
        }
    }

    #[test]
    fn a_value_read_is_served_until_a_write_of_its_key() {
        let cache = ValueCache::new(1 << 20).unwrap();
        // The first miss only marks the key; the second caches its value.
        assert_eq!(read(&cache, b"k", &bytes("v1")), bytes("v1"));
        assert!(matches!(cache.lookup(b"k"), Lookup::Miss(_)));
        assert_eq!(read(&cache, b"k", &bytes("v1")), bytes("v1"));
        // Served from the cache now, whatever the store says.
        assert!(matches!(cache.lookup(b"k"), Lookup::Hit(v) if v == bytes("v1")));
        drop(cache.begin_write(Some(&mut [&b"k"[..]].into_iter())));
        assert!(matches!(cache.lookup(b"k"), Lookup::Miss(_)));
        assert_eq!(read(&cache, b"k", &bytes("v2")), bytes("v2"));
        drop(cache.begin_write(None));
        assert!(matches!(cache.lookup(b"k"), Lookup::Miss(_)));
    }

    #[test]
    fn a_value_read_before_a_write_began_is_not_cached() {
        let cache = ValueCache::new(1 << 20).unwrap();
        read(&cache, b"k", &bytes("old"));
        let Lookup::Miss(ticket) = cache.lookup(b"k") else {
            panic!("missed once: not cached yet")
        };
        // The reader read "old" from the store; then a write of the key ran.
        drop(cache.begin_write(Some(&mut [&b"k"[..]].into_iter())));
        cache.offer(ticket, b"k", &bytes("old"));
        assert!(matches!(cache.lookup(b"k"), Lookup::Miss(_)));
    }

    #[test]
    fn nothing_is_read_or_cached_while_a_write_is_in_flight() {
        let cache = ValueCache::new(1 << 20).unwrap();
        read(&cache, b"a", &bytes("a1"));
        read(&cache, b"a", &bytes("a1"));
        read(&cache, b"b", &bytes("b1"));
        let Lookup::Miss(ticket) = cache.lookup(b"b") else {
            panic!("not cached yet")
        };
        let write = cache.begin_write(Some(&mut [&b"c"[..]].into_iter()));
        assert!(matches!(cache.lookup(b"a"), Lookup::Bypass));
        cache.offer(ticket, b"b", &bytes("b1"));
        drop(write);
        assert!(matches!(cache.lookup(b"a"), Lookup::Hit(_)));
        assert!(matches!(cache.lookup(b"b"), Lookup::Miss(_)));
    }

    #[test]
    fn a_settled_range_is_remembered_from_its_second_seek_until_an_ingestion() {
        use std::ops::Bound;
        let cache = ValueCache::new(1 << 20).unwrap();
        let range = (
            Bound::Included(b"k1".to_vec()),
            Bound::Excluded(b"k9".to_vec()),
        );
        let id = ValueCache::range_id(&range);
        // The bounds are told apart: the same bytes excluded make another range.
        let other = (
            Bound::Excluded(b"k1".to_vec()),
            Bound::Excluded(b"k9".to_vec()),
        );
        assert_ne!(id, ValueCache::range_id(&other));
        let pair = (bytes("k5"), bytes("value"));
        cache.settle(&id, &pair);
        assert!(cache.settled(&id).is_none(), "admitted at the first seek");
        cache.settle(&id, &pair);
        assert_eq!(cache.settled(&id), Some(pair.clone()));
        // Writes of keys do not touch it (its caller says it cannot change), even in flight.
        let write = cache.begin_write(Some(&mut [&b"k5"[..]].into_iter()));
        assert_eq!(cache.settled(&id), Some(pair));
        drop(write);
        drop(cache.begin_write(None));
        assert!(cache.settled(&id).is_none());
    }

    /// A run of pairs with the eight-byte suffixes `suffixes`.
    fn run_of(suffixes: &[u64]) -> Bytes {
        let suffixes: Vec<[u8; 8]> = suffixes.iter().map(|s| s.to_be_bytes()).collect();
        let run = SettledRun::build(8, suffixes.iter().map(|s| (&s[..], &b"v"[..])));
        run.unwrap().block().clone()
    }

    #[test]
    fn a_run_is_asked_for_once_often_enough_and_kept_until_an_ingestion() {
        let cache = ValueCache::new(1 << 20).unwrap();
        let id = ValueCache::run_id(b"group", 8);
        assert_ne!(
            id,
            ValueCache::run_id(b"group", 4),
            "the width is part of the id"
        );
        let at = |s: u64| s.to_be_bytes();
        // Asked for the third time, it is worth reading whole.
        assert!(matches!(cache.run(&id, &at(5), 3), RunLookup::Skip));
        assert!(matches!(cache.run(&id, &at(5), 3), RunLookup::Skip));
        assert!(matches!(cache.run(&id, &at(5), 3), RunLookup::Load));
        cache.keep_run(&id, Some(run_of(&[1, 10])));
        assert!(matches!(cache.run(&id, &at(5), 3), RunLookup::Hit(r) if r.len() == 2));
        // Writes of keys leave it (its caller says the group only grows), even in flight.
        let write = cache.begin_write(Some(&mut [&b"group"[..]].into_iter()));
        assert!(matches!(cache.run(&id, &at(10), 3), RunLookup::Hit(_)));
        drop(write);
        // A read past its end is not answered; such reads are counted from zero, and once
        // they paid for it the group is read again.
        assert!(matches!(cache.run(&id, &at(11), 3), RunLookup::Skip));
        assert!(matches!(cache.run(&id, &at(11), 3), RunLookup::Skip));
        assert!(matches!(cache.run(&id, &at(11), 3), RunLookup::Load));
        cache.keep_run(&id, Some(run_of(&[1, 10, 20])));
        assert!(matches!(cache.run(&id, &at(11), 3), RunLookup::Hit(r) if r.len() == 3));
        assert!(matches!(cache.run(&id, &at(21), 3), RunLookup::Skip));
        assert!(matches!(cache.run(&id, &at(21), 3), RunLookup::Skip));
        assert!(matches!(cache.run(&id, &at(21), 3), RunLookup::Load));
        // A group that is empty is kept as such (and is stale for every read), not as the
        // marker of a group too large.
        cache.keep_run(&id, Some(run_of(&[])));
        assert!(matches!(cache.run(&id, &at(0), 3), RunLookup::Skip));
        assert!(matches!(cache.run(&id, &at(0), 3), RunLookup::Skip));
        assert!(matches!(cache.run(&id, &at(0), 3), RunLookup::Load));
        drop(cache.begin_write(None));
        // Dropped; asked for often already, it is read again at once.
        assert!(matches!(cache.run(&id, &at(5), 3), RunLookup::Load));
        // A group too large is kept as a marker that answers nothing and is not counted.
        cache.keep_run(&id, None);
        for _ in 0..10 {
            assert!(matches!(cache.run(&id, &at(5), 3), RunLookup::Skip));
        }
        // The counts halve: a group asked for long ago starts over, nearly.
        let other = ValueCache::run_id(b"other", 8);
        for _ in 0..10 {
            cache.run(&other, &at(5), 100);
        }
        for i in 0..2 * ASKED_PERIOD as u32 {
            let hash = ValueCache::hash(&i.to_be_bytes());
            cache.ask(hash);
            cache.ask(hash);
        }
        assert!(cache.ask(ValueCache::hash(&other)) < 5);
    }

    #[test]
    fn groups_asked_for_once_each_are_not_copied_however_many_there_are() {
        // The admission counts must not add up across groups: millions of histories each
        // read once must not be copied at their first read.
        let cache = ValueCache::new(1 << 20).unwrap();
        let at = 5u64.to_be_bytes();
        // Copies made when groups `first..first + n` are each asked for once.
        let loads = |first: u32, n: u32, worth_at: u8| {
            (first..first + n)
                .filter(|i| {
                    let id = ValueCache::run_id(&i.to_be_bytes(), 8);
                    matches!(cache.run(&id, &at, worth_at), RunLookup::Load)
                })
                .count()
        };
        let copied = loads(0, 1_000_000, 4);
        assert!(
            copied < 100,
            "{copied} of a million groups asked once were copied"
        );
        // A group whose bit in the bitmap of keys seen is taken by another counts from its
        // first ask: with the smallest bar (a history of a few versions, which costs about
        // two point reads to copy) some are copied at once, within the bitmap's fill.
        let copied = loads(4_000_000, 1_000_000, 2);
        assert!(
            copied < 200_000,
            "{copied} of a million groups asked once were copied"
        );
        // Each asked for twice, all along: still nearly none reaches four.
        let loads = (0..500_000u32)
            .flat_map(|i| [i, i])
            .filter(|i| {
                let id = ValueCache::run_id(&(i + 2_000_000).to_be_bytes(), 8);
                matches!(cache.run(&id, &at, 4), RunLookup::Load)
            })
            .count();
        assert!(
            loads < 5_000,
            "{loads} of 500,000 groups asked twice were copied"
        );
    }

    #[test]
    fn a_run_heavier_than_a_shard_is_kept_as_a_marker() {
        // 4 KiB shards: a 16 KiB run would be refused, and read again at every ask.
        let cache = ValueCache::runs_only(16 * 4096).unwrap();
        let id = ValueCache::run_id(b"group", 8);
        let suffixes: Vec<u64> = (0..1000).collect();
        cache.keep_run(&id, Some(run_of(&suffixes)));
        for _ in 0..10 {
            assert!(matches!(cache.run(&id, &[0; 8], 3), RunLookup::Skip));
        }
        cache.keep_run(&id, Some(run_of(&[1, 2])));
        assert!(matches!(cache.run(&id, &[0; 8], 3), RunLookup::Hit(_)));
    }

    #[test]
    fn the_cache_keeps_within_its_bytes() {
        let cache = ValueCache::new(64 * 1024).unwrap();
        let value = Bytes::from(&[7u8; 100][..]);
        for i in 0..10_000u32 {
            read(&cache, &i.to_be_bytes(), &value);
            read(&cache, &i.to_be_bytes(), &value);
        }
        let held: u64 = cache
            .values
            .iter()
            .map(|s| s.lock().unwrap().weight())
            .sum();
        assert!(held <= 64 * 1024, "{held} bytes held");
        assert!(held > 0);
    }
}
