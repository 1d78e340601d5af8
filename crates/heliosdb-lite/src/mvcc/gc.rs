//! Retention and garbage collection of history.
//!
//! Rule: a snapshot younger than `min_retention` is always kept (a compliance floor no other
//! setting overrides); of the older ones only the newest `max_snapshots` are kept. The horizon
//! is the oldest kept SCN, never past a snapshot a running reader has pinned, never past the
//! newest commit. Advancing it persists it with the deletion of the commit records below it
//! (one batch, before any version is removed: a snapshot readable after a crash still has all
//! its versions), then processes the GC work items due (see the module essay in [`super`]) in
//! atomic batches; a crash in between leaves work items that the next run picks up, because
//! every run starts at the head of the queue.

use super::{keys, lock, read, write, Inner, Mvcc};
use crate::error::Result;
use crate::storage::{prefix_range, Direction, WriteBatch};
use std::ops::Bound;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

/// The background thread also wakes after this many commits.
pub(crate) const COMMITS_PER_WAKEUP: u64 = 1024;
const BACKGROUND_INTERVAL: Duration = Duration::from_secs(1);
/// Deletions per storage batch, so one huge GC does not build one huge batch.
const BATCH_LIMIT: usize = 16 * 1024;

/// The retention rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// History younger than this is never collected (microseconds).
    pub min_retention_us: i64,
    /// Among older snapshots, how many of the newest are kept.
    pub max_snapshots: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            min_retention_us: 2_592_000 * 1_000_000,
            max_snapshots: 1000,
        }
    }
}

/// What one GC run removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Snapshots (commits) that became unreadable.
    pub snapshots_removed: u64,
    /// Row, index and catalog versions physically deleted.
    pub versions_removed: u64,
    /// Approximate bytes of keys and values deleted.
    pub bytes_removed: u64,
    /// The horizon before the run.
    pub old_horizon: u64,
    /// The horizon after the run (oldest readable SCN).
    pub new_horizon: u64,
    /// Wall time the run took, in microseconds.
    pub elapsed_us: u64,
}

/// The horizon the rule asks for, before pins are considered.
fn target_horizon(mvcc: &Mvcc) -> u64 {
    let ix = read(&mvcc.0.index);
    let latest = ix.latest();
    if !mvcc.0.options.time_travel {
        return latest;
    }
    let r = read(&mvcc.0.retention).clone();
    let now = ix
        .latest_time()
        .map_or(mvcc.0.options.clock.now_micros(), |t| {
            t.max(mvcc.0.options.clock.now_micros())
        });
    // Every moment of the last `min_retention` must stay readable, including its first
    // moment, whose state is that of the newest commit at or before it.
    let oldest_young = ix
        .newest_at_or_before(now.saturating_sub(r.min_retention_us))
        .unwrap_or(ix.horizon());
    let newest_kept_floor = (latest + 1).saturating_sub(r.max_snapshots);
    oldest_young.min(newest_kept_floor).min(latest)
}

/// What every GC run since the database was opened removed, background runs included
/// ([`Mvcc::gc_totals`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcTotals {
    /// Completed runs, including those that found nothing to remove.
    pub runs: u64,
    /// Snapshots (commits) that became unreadable.
    pub snapshots_removed: u64,
    /// Row, index and catalog versions physically deleted.
    pub versions_removed: u64,
}

pub(super) fn run(mvcc: &Mvcc) -> Result<GcReport> {
    let report = run_once(mvcc)?;
    // Counted after the run succeeded, for monitoring (the server's /metrics).
    let mut totals = lock(&mvcc.0.gc_totals);
    totals.runs += 1;
    totals.snapshots_removed += report.snapshots_removed;
    totals.versions_removed += report.versions_removed;
    Ok(report)
}

fn run_once(mvcc: &Mvcc) -> Result<GcReport> {
    let started = Instant::now();
    let _only_one = lock(&mvcc.0.gc_lock);
    let target = target_horizon(mvcc);
    let (old, new) = {
        let pins = lock(&mvcc.0.pins);
        let mut ix = write(&mvcc.0.index);
        let min_pin = pins.keys().next().copied().unwrap_or(u64::MAX);
        let new = target.min(min_pin).min(ix.latest());
        let old = ix.horizon();
        if new <= old {
            return Ok(GcReport {
                old_horizon: old,
                new_horizon: old,
                elapsed_us: started.elapsed().as_micros() as u64,
                ..GcReport::default()
            });
        }
        // Readers arriving from now on are refused below `new` before anything is deleted.
        ix.advance_horizon(new);
        (old, new)
    };
    let storage = mvcc.storage();
    let mut report = GcReport {
        // SCN 0, the empty database before the first commit, is no snapshot of a commit:
        // moving the horizon past it removes nothing `helios_snapshots` listed.
        snapshots_removed: new - old.max(1),
        old_horizon: old,
        new_horizon: new,
        ..GcReport::default()
    };
    let mut batch = WriteBatch::new();
    let flush = |batch: &mut WriteBatch| -> Result<()> {
        if !batch.is_empty() {
            storage.write(std::mem::take(batch), false)?;
        }
        Ok(())
    };
    // The new horizon and the removal of the commit records below it go first, in one batch:
    // a run cut short (a crash, a full disk) after it deleted a version some snapshot in
    // `[old, new)` reads must not leave that snapshot readable after reopening. Leftover work
    // items are done by the next run that advances the horizon.
    for scn in old.max(1)..new {
        batch.delete(keys::commit_key(scn));
    }
    batch.put(keys::meta_key(b"horizon"), new.to_be_bytes().to_vec());
    flush(&mut batch)?;
    // Work items are keyed by SCN; start at the head of the queue to pick up leftovers.
    // Queue entries are deleted only after all their work is done, so a crash in between
    // means the next run does it again (every step is idempotent).
    let queue = (
        Bound::Included(vec![keys::GC_QUEUE]),
        Bound::Excluded(keys::gc_key(new + 1)),
    );
    let mut tombstones = Tombstones::new(mvcc, new);
    for kv in storage.scan(queue.clone(), Direction::Forward) {
        let (k, v) = kv?;
        if tombstones.requeued.iter().any(|r| r[..] == k[..]) {
            continue; // written by this run: for the next one
        }
        for item in work_items(&v) {
            let (kind, size, target) = item?;
            match kind {
                GcKind::Delete => {
                    report.versions_removed += 1;
                    report.bytes_removed += u64::from(size);
                    batch.delete(target.to_vec());
                }
                GcKind::Prefix => {
                    // A dropped table's pack, change log and manifest go with its versions.
                    mvcc.0.packs.forget(&**storage, target)?;
                    // So does its row counter: no snapshot can read the table any more.
                    let counter = super::counters::counter_key(target);
                    for prefix in [
                        keys::history_prefix(target),
                        keys::head_key(target),
                        keys::history_prefix(&counter),
                        keys::head_key(&counter),
                    ] {
                        for item in storage.scan(prefix_range(&prefix), Direction::Forward) {
                            let (dk, dv) = item?;
                            report.versions_removed += 1;
                            report.bytes_removed += (dk.len() + dv.len()) as u64;
                            batch.delete(dk.to_vec());
                            if batch.len() >= BATCH_LIMIT {
                                flush(&mut batch)?;
                            }
                        }
                    }
                }
                GcKind::Tombstone => {
                    tombstones.keys.push(target.to_vec());
                    if tombstones.keys.len() >= BATCH_LIMIT {
                        flush(&mut batch)?;
                        tombstones.remove(&mut report)?;
                    }
                }
            }
            if batch.len() >= BATCH_LIMIT {
                flush(&mut batch)?;
            }
        }
    }
    flush(&mut batch)?;
    tombstones.remove(&mut report)?;
    for kv in storage.scan(queue, Direction::Forward) {
        let (k, _) = kv?;
        if !tombstones.requeued.iter().any(|r| r[..] == k[..]) {
            batch.delete(k.to_vec());
        }
        if batch.len() >= BATCH_LIMIT {
            flush(&mut batch)?;
        }
    }
    flush(&mut batch)?;
    report.elapsed_us = started.elapsed().as_micros() as u64;
    tracing::debug!(?report, "history garbage collected");
    Ok(report)
}

/// Tombstone heads due for removal. A tombstone at or before the horizon reads like no version
/// at all, so it can go; but a writer may be replacing the head at the same time, so the check
/// and the delete happen under the write lock. When a writer holds it, the keys go back into
/// the queue for the next run instead of waiting.
struct Tombstones<'a> {
    mvcc: &'a Mvcc,
    horizon: u64,
    keys: Vec<Vec<u8>>,
    /// Queue entries this run wrote (kept when the processed entries are deleted).
    requeued: Vec<Vec<u8>>,
}

impl<'a> Tombstones<'a> {
    fn new(mvcc: &'a Mvcc, horizon: u64) -> Self {
        Self {
            mvcc,
            horizon,
            keys: Vec::new(),
            requeued: Vec::new(),
        }
    }

    fn remove(&mut self, report: &mut GcReport) -> Result<()> {
        if self.keys.is_empty() {
            return Ok(());
        }
        let storage = self.mvcc.storage();
        let mut batch = WriteBatch::new();
        if let Some(_lock) = self.mvcc.try_write_lock() {
            for key in self.keys.drain(..) {
                let Some(value) = storage.get(&key)? else {
                    continue;
                };
                let head = keys::decode_version(&value)?;
                if head.data.is_none() && head.begin <= self.horizon {
                    report.versions_removed += 1;
                    report.bytes_removed += (key.len() + value.len()) as u64;
                    batch.delete(key);
                }
            }
            return storage.write(batch, false);
        }
        let mut list = Vec::new();
        for key in self.keys.drain(..) {
            push_work_item(&mut list, GcKind::Tombstone, 0, &key);
        }
        // Beside this run's horizon entry, inside the range the next run reads.
        let mut queue_key = keys::gc_key(self.horizon);
        queue_key.push(0xFF);
        queue_key.extend_from_slice(&(self.requeued.len() as u32).to_be_bytes());
        batch.put(queue_key.clone(), list);
        self.requeued.push(queue_key);
        storage.write(batch, false)
    }
}

/// What a GC work item asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum GcKind {
    /// Delete the target key (a superseded version in the history).
    Delete = 0,
    /// Delete every head and history entry of the logical keys starting with the target
    /// (a dropped table or index).
    Prefix = 1,
    /// Delete the target head if it is still a tombstone at or before the horizon.
    Tombstone = 2,
}

/// Appends a work item to a queue entry's list.
pub(crate) fn push_work_item(list: &mut Vec<u8>, kind: GcKind, size: usize, target: &[u8]) {
    list.push(kind as u8);
    list.extend_from_slice(&(size.min(u32::MAX as usize) as u32).to_be_bytes());
    list.extend_from_slice(&(target.len() as u32).to_be_bytes());
    list.extend_from_slice(target);
}

/// One GC work item: its kind, the bytes it frees, its target key.
type WorkItem<'a> = Result<(GcKind, u32, &'a [u8])>;

/// The work items of one queue entry, `(kind u8, size u32, target length u32, target)*`
/// (big-endian).
pub(super) fn work_items(value: &[u8]) -> impl Iterator<Item = WorkItem<'_>> {
    let u32_at = |b: &[u8], at: usize| -> Option<u32> {
        b.get(at..at + 4)
            .and_then(|s| s.try_into().ok())
            .map(u32::from_be_bytes)
    };
    let mut rest = value;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let item = (|| {
            let kind = match *rest.first()? {
                0 => GcKind::Delete,
                1 => GcKind::Prefix,
                2 => GcKind::Tombstone,
                _ => return None,
            };
            let size = u32_at(rest, 1)?;
            let len = u32_at(rest, 5)? as usize;
            let target = rest.get(9..9usize.checked_add(len)?)?;
            rest = &rest[9 + len..];
            Some((kind, size, target))
        })();
        match item {
            Some(i) => Some(Ok(i)),
            None => {
                rest = &[];
                Some(Err(crate::error::Error::corruption(
                    "malformed GC work item",
                )))
            }
        }
    })
}

/// Starts the background GC thread. It holds only a weak reference, so it ends when the
/// database is dropped; [`Mvcc::close_background`] stops it sooner and waits for it.
pub(super) fn spawn_background(
    weak: Weak<Inner>,
    signal: Arc<(Mutex<bool>, Condvar)>,
) -> Option<std::thread::JoinHandle<()>> {
    let spawned = std::thread::Builder::new()
        .name("heliosdb-gc".into())
        .spawn(move || loop {
            {
                let (m, cv) = &*signal;
                let stop = lock(m);
                if *stop {
                    return;
                }
                let (stop, _) = cv
                    .wait_timeout(stop, BACKGROUND_INTERVAL)
                    .unwrap_or_else(|e| e.into_inner());
                if *stop {
                    return;
                }
            }
            let Some(mvcc) = Mvcc::from_weak(&weak) else {
                return;
            };
            mvcc.0
                .commits_since_gc
                .store(0, std::sync::atomic::Ordering::Relaxed);
            if let Err(e) = run(&mvcc) {
                tracing::warn!(error = %e, "background history GC failed");
            }
            match super::pack::maintain_in_background(&mvcc) {
                Err(_) if mvcc.closing() => return,
                Err(e) => tracing::warn!(error = %e, "background pack maintenance failed"),
                Ok(_) => {}
            }
        });
    match spawned {
        Ok(thread) => Some(thread),
        Err(e) => {
            tracing::warn!(error = %e, "could not start the background GC thread; GC runs on demand only");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[(GcKind, u32, &[u8])]) -> Vec<u8> {
        let mut v = Vec::new();
        for (kind, size, target) in items {
            push_work_item(&mut v, *kind, *size as usize, target);
        }
        v
    }

    #[test]
    fn work_item_lists_decode() {
        let value = list(&[
            (GcKind::Delete, 12, b"abc"),
            (GcKind::Prefix, 0, b"prefix"),
            (GcKind::Tombstone, 3, b""),
        ]);
        let items: Vec<_> = work_items(&value).collect::<Result<_>>().unwrap();
        assert_eq!(
            items,
            vec![
                (GcKind::Delete, 12, &b"abc"[..]),
                (GcKind::Prefix, 0, &b"prefix"[..]),
                (GcKind::Tombstone, 3, &b""[..])
            ]
        );
    }

    #[test]
    fn malformed_work_items_are_corruption_not_panics() {
        let good = list(&[(GcKind::Delete, 12, b"abc")]);
        for cut in 1..good.len() {
            let r: Result<Vec<_>> = work_items(&good[..cut]).collect();
            assert!(r.is_err(), "cut at {cut}");
        }
        let mut huge = good.clone();
        huge[5..9].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(work_items(&huge).collect::<Result<Vec<_>>>().is_err());
        let mut unknown = good;
        unknown[0] = 9;
        assert!(work_items(&unknown).collect::<Result<Vec<_>>>().is_err());
    }
}
