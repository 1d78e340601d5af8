//! Durability of acknowledged commits: a storage wrapper models the disk behind the OS page
//! cache. Every batch goes to the page cache (readable at once); only a sync, or a write asked
//! to be durable, makes the batches written before it reach the "disk". A power cut keeps
//! the disk: the batches up to the last sync, a prefix of the log, which is what fjall's
//! journal replays after a crash.
//!
//! With `durable` on (the `enable_wal` setting), every commit acknowledged before a cut, and
//! every commit a reader saw before it, must be in the store reopened from the disk image,
//! while committers run concurrently (group commit shares syncs among them) and big
//! transactions spill and commit in many batches. Relaxed mode must not sync per commit.

use heliosdb_lite::mvcc::{Mvcc, MvccOptions, TxnMode};
use heliosdb_lite::storage::{
    Bytes, Direction, KeyRange, KvIter, MemoryStorage, Storage, WriteBatch,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The page cache (`cache`, what reads see) and the order of every batch written (`log`).
/// `durable_upto` batches of the log are on disk.
#[derive(Default)]
struct PageCacheDisk {
    cache: MemoryStorage,
    log: Mutex<Vec<WriteBatch>>,
    durable_upto: AtomicU64,
    syncs: AtomicU64,
}

impl PageCacheDisk {
    /// Everything written so far reaches the disk.
    fn flush_to_disk(&self) {
        let written = lock(&self.log).len() as u64;
        self.durable_upto.fetch_max(written, Ordering::SeqCst);
    }

    /// What a power cut now leaves: a fresh store holding the durable prefix of the log.
    fn power_cut_image(&self) -> MemoryStorage {
        let upto = self.durable_upto.load(Ordering::SeqCst) as usize;
        let batches: Vec<WriteBatch> = lock(&self.log)[..upto].to_vec();
        let disk = MemoryStorage::new();
        for b in batches {
            disk.write(b, true).unwrap();
        }
        disk
    }
}

impl Storage for PageCacheDisk {
    fn get(&self, key: &[u8]) -> heliosdb_lite::Result<Option<Bytes>> {
        self.cache.get(key)
    }
    fn scan(&self, range: KeyRange, direction: Direction) -> KvIter<'_> {
        self.cache.scan(range, direction)
    }
    fn write(&self, batch: WriteBatch, durable: bool) -> heliosdb_lite::Result<()> {
        {
            // Log order is cache order: one lock for both.
            let mut log = lock(&self.log);
            log.push(batch.clone());
            self.cache.write(batch, false)?;
        }
        if durable {
            self.flush_to_disk();
        }
        Ok(())
    }
    fn sync(&self) -> heliosdb_lite::Result<()> {
        self.syncs.fetch_add(1, Ordering::SeqCst);
        // A sync takes a moment, so committers arrive while it runs and must wait for the
        // next one: the batches written after it started are not covered.
        let written = lock(&self.log).len() as u64;
        std::thread::sleep(std::time::Duration::from_micros(300));
        self.durable_upto.fetch_max(written, Ordering::SeqCst);
        Ok(())
    }
    fn size_bytes(&self) -> u64 {
        self.cache.size_bytes()
    }
    fn name(&self) -> &'static str {
        "page-cache-disk"
    }
}

/// Sets the flag when dropped while unwinding from a failed assertion.
struct StopOnPanic(Arc<AtomicBool>);

impl Drop for StopOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap()
}

fn options(durable: bool, txn_memory_bytes: usize) -> MvccOptions {
    MvccOptions {
        durable,
        auto_gc: false,
        txn_memory_bytes,
        busy_timeout: std::time::Duration::from_secs(30),
        ..MvccOptions::default()
    }
}

fn key(writer: u64, n: u64) -> Vec<u8> {
    format!("w{writer}-{n:06}").into_bytes()
}

/// One autocommit-style transaction writing `key(writer, n)`; a big one (every `big_every`-th)
/// also writes `rows` padded filler keys, enough to spill past a tiny budget.
fn commit_one(m: &Mvcc, writer: u64, n: u64, big: bool) -> u64 {
    let mut t = m.begin(TxnMode::Immediate).unwrap();
    t.put(key(writer, n), n.to_be_bytes().to_vec()).unwrap();
    if big {
        for i in 0..300u64 {
            t.put(
                format!("fill-{writer}-{n}-{i:04}").into_bytes(),
                vec![7u8; 200],
            )
            .unwrap();
        }
    }
    t.commit().unwrap().expect("a write commits").scn
}

/// Acknowledgements and reader observations made before a cut, then the cut, then the checks
/// on the reopened image.
fn cut_and_check(disk: &PageCacheDisk, acked: &Mutex<Vec<(u64, u64, u64)>>, seen: &AtomicU64) {
    // Read what was acknowledged and seen first: anything in these lists happened before the
    // cut, so it must be durable in the image taken after.
    let acks = lock(acked).clone();
    let seen_scn = seen.load(Ordering::SeqCst);
    let image = Arc::new(disk.power_cut_image());
    let reopened = Mvcc::open(image, options(true, 32 << 20)).unwrap();
    let snap = reopened.snapshot();
    for &(writer, n, scn) in &acks {
        assert!(
            reopened.latest_scn() >= scn,
            "acknowledged commit SCN {scn} lost by a power cut (disk holds {})",
            reopened.latest_scn()
        );
        assert_eq!(
            snap.get(&key(writer, n)).unwrap().map(|v| v.to_vec()),
            Some(n.to_be_bytes().to_vec()),
            "acknowledged write {writer}/{n} (SCN {scn}) lost by a power cut"
        );
    }
    assert!(
        reopened.latest_scn() >= seen_scn,
        "a reader saw SCN {seen_scn}, which a power cut lost (disk holds {})",
        reopened.latest_scn()
    );
}

#[test]
fn acknowledged_and_visible_commits_survive_a_power_cut_under_concurrent_writers() {
    // A tiny write-set budget makes every big transaction spill and commit in chunks.
    for budget in [32 << 20, 4 << 10] {
        let disk = Arc::new(PageCacheDisk::default());
        let m = Mvcc::open(disk.clone(), options(true, budget)).unwrap();
        let acked = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        std::thread::scope(|s| {
            let mut writers = Vec::new();
            for writer in 0..4u64 {
                let (m, acked) = (m.clone(), acked.clone());
                writers.push(s.spawn(move || {
                    for n in 0..60u64 {
                        let scn = commit_one(&m, writer, n, n % 15 == 7);
                        lock(&acked).push((writer, n, scn));
                    }
                }));
            }
            {
                let (m, seen, stop) = (m.clone(), seen.clone(), stop.clone());
                s.spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        seen.fetch_max(m.snapshot().scn(), Ordering::SeqCst);
                    }
                });
            }
            // Cut the power at many moments while the writers run.
            let (disk, acked, seen) = (disk.clone(), acked.clone(), seen.clone());
            let stop_reader = StopOnPanic(stop.clone());
            s.spawn(move || {
                // A failed check stops the reader too, so the test fails instead of hanging.
                let _stop_reader = stop_reader;
                for _ in 0..40 {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    cut_and_check(&disk, &acked, &seen);
                }
            })
            .join()
            .unwrap();
            for w in writers {
                w.join().unwrap();
            }
            stop.store(true, Ordering::SeqCst);
        });
        cut_and_check(&disk, &acked, &seen);
        let syncs = disk.syncs.load(Ordering::SeqCst);
        assert!((1..=240).contains(&syncs), "240 commits took {syncs} syncs");
    }
}

#[test]
fn a_single_committer_syncs_once_per_commit() {
    let disk = Arc::new(PageCacheDisk::default());
    let m = Mvcc::open(disk.clone(), options(true, 32 << 20)).unwrap();
    let before = disk.syncs.load(Ordering::SeqCst);
    for n in 0..50 {
        commit_one(&m, 0, n, false);
        assert_eq!(
            disk.syncs.load(Ordering::SeqCst) - before,
            n + 1,
            "commit {n} was acknowledged without its own sync"
        );
    }
}

#[test]
fn relaxed_mode_does_not_sync_per_commit() {
    let disk = Arc::new(PageCacheDisk::default());
    let m = Mvcc::open(disk.clone(), options(false, 32 << 20)).unwrap();
    let before = disk.syncs.load(Ordering::SeqCst);
    for n in 0..50 {
        commit_one(&m, 0, n, false);
    }
    assert_eq!(disk.syncs.load(Ordering::SeqCst), before);
    // An explicit sync still makes everything durable.
    m.sync().unwrap();
    let image = Arc::new(disk.power_cut_image());
    let reopened = Mvcc::open(image, options(false, 32 << 20)).unwrap();
    assert_eq!(reopened.latest_scn(), m.latest_scn());
}
