//! Heads a statement's scan read, handed to the commit (`Transaction::keep_scanned_head`):
//! the store a commit leaves must be byte for byte the one it leaves when it looks every
//! head up itself, and a head is only kept when it is the committed head of that key. The
//! heads a commit reads itself, in key order (`view::AscendingHeads`), must be the ones point
//! reads give, dense or sparse, and every version they supersede must stay readable.

use super::*;
use crate::storage::MemoryStorage;
use crate::time::ManualClock;
use std::ops::Bound;

fn open(clock: &ManualClock) -> Mvcc {
    open_with_budget(clock, MvccOptions::default().txn_memory_bytes)
}

/// A store whose transactions hold `txn_memory_bytes` of writes before they spill (and half
/// of that in kept heads).
fn open_with_budget(clock: &ManualClock, txn_memory_bytes: usize) -> Mvcc {
    let options = MvccOptions {
        clock: Arc::new(clock.clone()),
        auto_gc: false,
        txn_memory_bytes,
        ..MvccOptions::default()
    };
    Mvcc::open(Arc::new(MemoryStorage::new()), options).unwrap()
}

/// A memory store that takes sorted writes as a backend that ingests them does (with the
/// default one-batch write), counting them.
struct SortedMemory(MemoryStorage, std::sync::atomic::AtomicUsize);

impl crate::storage::Storage for SortedMemory {
    fn get(&self, key: &[u8]) -> crate::Result<Option<crate::storage::Bytes>> {
        self.0.get(key)
    }
    fn scan(
        &self,
        range: crate::storage::KeyRange,
        direction: crate::storage::Direction,
    ) -> crate::storage::KvIter<'_> {
        self.0.scan(range, direction)
    }
    fn write(&self, batch: crate::storage::WriteBatch, durable: bool) -> crate::Result<()> {
        self.0.write(batch, durable)
    }
    fn sync(&self) -> crate::Result<()> {
        self.0.sync()
    }
    fn ingests_sorted(&self) -> bool {
        true
    }
    fn write_sorted(
        &self,
        pairs: &mut dyn Iterator<Item = (crate::storage::Bytes, crate::storage::Bytes)>,
    ) -> crate::Result<()> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.write_sorted(pairs)
    }
    fn size_bytes(&self) -> u64 {
        self.0.size_bytes()
    }
    fn name(&self) -> &'static str {
        "sorted-memory"
    }
}

/// True if the head of the row `t` scanned last, of key `key`, was kept.
fn kept(t: &Transaction, key: &[u8]) -> bool {
    matches!(t.keep_scanned_head(|| key.to_vec()), ScannedHead::Kept)
}

fn commit_pairs(m: &Mvcc, pairs: &[(&str, Option<&str>)]) -> u64 {
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    for (k, v) in pairs {
        match v {
            Some(v) => t.put(k.as_bytes().to_vec(), v.as_bytes().to_vec()).unwrap(),
            None => t.delete(k.as_bytes().to_vec()).unwrap(),
        }
    }
    t.commit().unwrap().unwrap().scn
}

/// Every stored entry but the commit records (which hold commit times).
fn physical(m: &Mvcc) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    // A commit's GC work items, whatever lists hold them: which list an item is in depends
    // on how the commit was written (one batch, chunks of a spilled commit, or rows written
    // over their heads at the spills), not on what it asks.
    let mut work: std::collections::BTreeMap<Vec<u8>, Vec<Vec<u8>>> = Default::default();
    for kv in m.storage().scan(
        (Bound::Unbounded, Bound::Unbounded),
        crate::storage::Direction::Forward,
    ) {
        let (k, v) = kv.unwrap();
        match k[0] {
            keys::COMMIT_LOG => {}
            keys::GC_QUEUE => {
                let items = work.entry(k[..9].to_vec()).or_default();
                let mut rest = &v[..];
                while !rest.is_empty() {
                    let len = u32::from_be_bytes(rest[5..9].try_into().unwrap()) as usize;
                    items.push(rest[..9 + len].to_vec());
                    rest = &rest[9 + len..];
                }
            }
            _ => out.push((k.to_vec(), v.to_vec())),
        }
    }
    for (k, mut items) in work {
        items.sort();
        out.push((k, items.concat()));
    }
    out
}

/// Loads keys `k00..k19` over three commits (some changed twice, one deleted), so heads have
/// different begin SCNs and some keys have history.
fn load(m: &Mvcc) {
    let names: Vec<String> = (0..20).map(|i| format!("k{i:02}")).collect();
    let first: Vec<(&str, Option<&str>)> = names.iter().map(|k| (k.as_str(), Some("a"))).collect();
    commit_pairs(m, &first);
    commit_pairs(m, &[("k03", Some("b")), ("k07", Some("b")), ("k11", None)]);
    commit_pairs(m, &[("k07", Some("c")), ("k11", Some("back"))]);
}

/// One transaction: writes `k05` first and reads `k08` by key, then scans everything in
/// `direction` and, for every even key, hands the scanned head over (when `capture`) and
/// updates or deletes the row. A forward scan hands heads over in ascending key order (kept
/// as a run), a reverse one out of it (kept by key).
fn rewrite_even_keys(m: &Mvcc, capture: bool, direction: crate::storage::Direction) -> usize {
    let mut t = m.begin(TxnMode::Deferred).unwrap();
    t.put(b"k05".to_vec(), b"own".to_vec()).unwrap();
    t.put(b"k04".to_vec(), b"own".to_vec()).unwrap();
    t.put(b"k10x".to_vec(), b"fresh".to_vec()).unwrap();
    assert!(t.get(b"k08").unwrap().is_some());
    t.capture_scanned_heads(capture);
    let mut kept = 0;
    let mut targets = Vec::new();
    for kv in t.scan((Bound::Unbounded, Bound::Unbounded), direction) {
        let (k, _) = kv.unwrap();
        let key = k.to_vec();
        if key.len() == 3 && (key[2] - b'0') % 2 == 0 {
            if matches!(t.keep_scanned_head(|| key.clone()), ScannedHead::Kept) {
                kept += 1;
            }
            targets.push(key);
        }
    }
    t.capture_scanned_heads(false);
    for (i, key) in targets.into_iter().enumerate() {
        if i % 3 == 0 {
            t.delete(key).unwrap();
        } else {
            t.put(key, b"new".to_vec()).unwrap();
        }
    }
    t.commit().unwrap();
    kept
}

#[test]
fn a_commit_with_handed_heads_stores_exactly_what_a_looking_commit_stores() {
    use crate::storage::Direction;
    for direction in [Direction::Forward, Direction::Reverse] {
        handed_heads_store_what_a_looking_commit_stores(direction);
    }
}

fn handed_heads_store_what_a_looking_commit_stores(direction: crate::storage::Direction) {
    let clock = ManualClock::new(1_000_000);
    let (with, without) = (open(&clock), open(&clock));
    load(&with);
    load(&without);
    let kept = rewrite_even_keys(&with, true, direction);
    assert_eq!(rewrite_even_keys(&without, false, direction), 0);
    // The even keys of k00..k19 (k04 included: written before, its committed head is still
    // the one the scan read); not the fresh k10x.
    assert_eq!(kept, 10);
    assert_eq!(physical(&with), physical(&without));
    // And the past reads the same through both.
    for scn in 1..=with.assigned_scn() {
        let a: Vec<_> = with
            .snapshot_at(scn)
            .unwrap()
            .scan(
                (Bound::Unbounded, Bound::Unbounded),
                crate::storage::Direction::Forward,
            )
            .map(|kv| kv.unwrap())
            .collect();
        let b: Vec<_> = without
            .snapshot_at(scn)
            .unwrap()
            .scan(
                (Bound::Unbounded, Bound::Unbounded),
                crate::storage::Direction::Forward,
            )
            .map(|kv| kv.unwrap())
            .collect();
        assert_eq!(a, b, "at SCN {scn}");
    }
}

/// One transaction over `load_wide`'s keys: scans them all, hands the head of every other one
/// over (when `capture`), carrying those the transaction had no room for to the row's write,
/// and deletes a third of them and updates the rest. Returns (kept, carried).
fn rewrite_every_other_wide_key(m: &Mvcc, capture: bool) -> (usize, usize) {
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.capture_scanned_heads(capture);
    let (mut kept, mut carried) = (0, 0);
    let mut targets = Vec::new();
    let all = (Bound::Unbounded, Bound::Unbounded);
    for (i, kv) in t.scan(all, crate::storage::Direction::Forward).enumerate() {
        let key = kv.unwrap().0.to_vec();
        if i % 2 == 0 {
            let head = match t.keep_scanned_head(|| key.clone()) {
                ScannedHead::Kept => {
                    kept += 1;
                    None
                }
                ScannedHead::Carry(head) => {
                    carried += 1;
                    Some(head)
                }
                ScannedHead::NotRead => None,
            };
            targets.push((key, head));
        }
    }
    t.capture_scanned_heads(false);
    for (i, (key, head)) in targets.into_iter().enumerate() {
        if let Some(head) = head {
            t.keep_head_for_write(key.clone(), head);
        }
        if i % 3 == 0 {
            t.delete(key).unwrap();
        } else {
            t.put(key, b"new".to_vec()).unwrap();
        }
    }
    t.commit().unwrap();
    (kept, carried)
}

/// Both stores answer the same at every SCN either has assigned.
fn assert_same_at_every_scn(with: &Mvcc, without: &Mvcc) {
    for scn in 1..=with.assigned_scn().max(without.assigned_scn()) {
        let read = |m: &Mvcc| -> Vec<_> {
            let all = (Bound::Unbounded, Bound::Unbounded);
            m.snapshot_at(scn)
                .unwrap()
                .scan(all, crate::storage::Direction::Forward)
                .map(|kv| kv.unwrap())
                .collect()
        };
        assert_eq!(read(with), read(without), "at SCN {scn}");
    }
}

#[test]
fn heads_carried_into_a_spilled_write_set_store_what_a_looking_commit_stores() {
    let clock = ManualClock::new(1_000_000);
    // 16 KiB of writes (8 KiB of kept heads): 3,000 rows spill many times over, and most
    // heads are carried past the budget, then into the spilled pending versions.
    let (with, without) = (
        open_with_budget(&clock, 16 << 10),
        open_with_budget(&clock, 16 << 10),
    );
    load_wide(&with, 3_000);
    load_wide(&without, 3_000);
    let (kept, carried) = rewrite_every_other_wide_key(&with, true);
    assert!(kept > 0 && carried > kept, "kept {kept}, carried {carried}");
    assert_eq!(rewrite_every_other_wide_key(&without, false), (0, 0));
    assert_eq!(physical(&with), physical(&without));
    assert_same_at_every_scn(&with, &without);
}

/// The rows a spill writes over their heads, written by sorted ingestions (history entries,
/// then heads, then work lists, then records: the order their keys sort in) store what a
/// commit that looks every head up stores: the same heads and history, and the same GC work
/// items per SCN (held in lists cut differently).
#[test]
fn rows_written_over_their_heads_by_ingestion_store_what_a_looking_commit_stores() {
    let clock = ManualClock::new(1_000_000);
    let sorted = Arc::new(SortedMemory(MemoryStorage::new(), Default::default()));
    let options = MvccOptions {
        clock: Arc::new(clock.clone()),
        auto_gc: false,
        txn_memory_bytes: 64 << 10,
        ingest_min_keys: 16,
        ..MvccOptions::default()
    };
    let with = Mvcc::open(sorted.clone(), options).unwrap();
    let without = open_with_budget(&clock, 64 << 10);
    load_wide(&with, 3_000);
    load_wide(&without, 3_000);
    let before = sorted.1.load(std::sync::atomic::Ordering::SeqCst);
    let (kept, _) = rewrite_every_other_wide_key(&with, true);
    assert!(kept > 0);
    let ingested = sorted.1.load(std::sync::atomic::Ordering::SeqCst) - before;
    assert!(ingested > 1, "{ingested} sorted writes");
    rewrite_every_other_wide_key(&without, false);
    assert_eq!(physical(&with), physical(&without));
    assert_same_at_every_scn(&with, &without);
}

#[test]
fn only_the_last_row_read_from_its_committed_head_is_kept() {
    let clock = ManualClock::new(1_000_000);
    let m = open(&clock);
    load(&m);
    let all = (Bound::Unbounded, Bound::Unbounded);
    // Without the write lock the snapshot may fall behind: nothing is captured.
    let t = m.begin(TxnMode::Deferred).unwrap();
    t.capture_scanned_heads(true);
    let first = t
        .scan(all.clone(), crate::storage::Direction::Forward)
        .next();
    assert!(first.is_some());
    assert!(!kept(&t, b"k00"));
    drop(t);

    let mut t = m.begin(TxnMode::Immediate).unwrap();
    // Capture off: nothing to keep.
    let _ = t
        .scan(all.clone(), crate::storage::Direction::Forward)
        .next();
    assert!(!kept(&t, b"k00"));
    t.capture_scanned_heads(true);
    let mut scan = t.scan(all.clone(), crate::storage::Direction::Forward);
    scan.next().unwrap().unwrap();
    scan.next().unwrap().unwrap();
    drop(scan);
    // k01 was read last: k00's head is gone, and a key that does not match keeps nothing.
    assert!(!kept(&t, b"k00"));
    let mut scan = t.scan(all.clone(), crate::storage::Direction::Forward);
    scan.next().unwrap().unwrap();
    drop(scan);
    assert!(kept(&t, b"k00"));
    // Taken once: a second ask finds nothing.
    assert!(!kept(&t, b"k00"));
    // A row that exists only in the transaction's writes has no head to keep.
    t.put(b"a-new".to_vec(), b"x".to_vec()).unwrap();
    let mut scan = t.scan(all, crate::storage::Direction::Forward);
    assert_eq!(&scan.next().unwrap().unwrap().0[..], b"a-new");
    drop(scan);
    assert!(!kept(&t, b"a-new"));
    t.capture_scanned_heads(false);
}

/// Commits `n` keys `w00000...` (every seventh deleted again in a second commit, so some heads
/// are tombstones); returns the SCN of the first commit.
fn load_wide(m: &Mvcc, n: usize) -> u64 {
    let names: Vec<String> = (0..n).map(|i| format!("w{i:05}")).collect();
    let all: Vec<(&str, Option<&str>)> = names.iter().map(|k| (k.as_str(), Some("v"))).collect();
    let first = commit_pairs(m, &all);
    let gone: Vec<(&str, Option<&str>)> = names
        .iter()
        .step_by(7)
        .map(|k| (k.as_str(), None))
        .collect();
    commit_pairs(m, &gone);
    first
}

#[test]
fn ascending_head_reads_answer_like_point_reads_and_stop_walking_over_sparse_keys() {
    let clock = ManualClock::new(1_000_000);
    let m = open(&clock);
    load_wide(&m, 20_000);
    let storage = &**m.storage();
    for (step, walks) in [(2, true), (500, false)] {
        let mut heads = super::view::AscendingHeads::new(storage, true);
        for i in (0..20_000).step_by(step) {
            // A key between two stored ones (absent), then a stored one.
            let absent = format!("w{i:05}-");
            let stored = format!("w{i:05}");
            for k in [stored, absent] {
                let got = heads.lookup(k.as_bytes()).unwrap();
                let want = super::view::head(storage, k.as_bytes()).unwrap();
                assert_eq!(got, want, "step {step}: {k}");
            }
        }
        assert_eq!(heads.walking(), walks, "step {step}");
    }
}

#[test]
fn a_commit_reading_many_heads_itself_keeps_every_superseded_version() {
    // No head is handed over (no capturing scan), so the commit reads the 1,000 heads it
    // supersedes itself, walking them in key order.
    let clock = ManualClock::new(1_000_000);
    let m = open(&clock);
    let first = load_wide(&m, 2_000);
    let before = m.latest_scn();
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    for i in (0..2_000).step_by(2) {
        let k = format!("w{i:05}").into_bytes();
        match i % 4 {
            0 => t.delete(k).unwrap(),
            _ => t.put(k, b"new".to_vec()).unwrap(),
        }
    }
    t.commit().unwrap();
    let now = m.snapshot();
    let then = m.snapshot_at(before).unwrap();
    let start = m.snapshot_at(first).unwrap();
    for i in 0..2_000 {
        let k = format!("w{i:05}");
        let was = (i % 7 != 0).then_some(&b"v"[..]);
        let is = match (i % 2, i % 4) {
            (1, _) => was,
            (_, 0) => None,
            _ => Some(&b"new"[..]),
        };
        let read = |s: &Snapshot| s.get(k.as_bytes()).unwrap().map(|v| v.to_vec());
        assert_eq!(read(&then).as_deref(), was, "{k} before");
        assert_eq!(read(&now).as_deref(), is, "{k} now");
        assert_eq!(read(&start).as_deref(), Some(&b"v"[..]), "{k} at the start");
    }
}
