//! Writing a transaction's new rows ahead of its commit, on a helper thread.
//!
//! A transaction keeps its writes in memory and hands them to storage at its commit: for a
//! bulk insert (a prepared INSERT of ascending rowids, row after row, in one transaction) that
//! commit is about 40% of the transaction's time, spent on one core after the last statement
//! while the other core idles. Most of those rows can be written sooner. A new row whose key
//! is known to have no live committed version can be written straight to its head, stamped
//! with the SCN the commit will take, invisible to every snapshot until that commit
//! ([`super::direct`], the mechanism a spill uses; so can the index entries of such a row).
//! So when, at the end of a statement, the write set holds enough such keys, the transaction
//! moves them out of memory and a helper thread writes them as direct heads while the next
//! statements run. The commit then waits for the helper and writes only the rest.
//!
//! The hand-over is the spill's direct path done early and in the background, so the state
//! after it is one the spill code already knows: the keys join the filter of keys that may be
//! in storage, the transaction reads at the direct SCN, a stored undo record lets a rollback
//! to an older savepoint take the heads back, and the commit goes the spilled way. Three
//! things are particular to the helper:
//!
//! - **Only at a statement's end, with no savepoint open.** The undo log is empty then, so no
//!   in-memory undo entry can name a key that left memory (entries for the write set's run of
//!   appended keys undo by position).
//! - **Reads wait for it.** A point read of a key handed over (a binary search in the rows
//!   the helper shares), a scan whose range holds one, and everything else that reads or
//!   writes the transaction's storage (a spill, a rollback, the commit) first waits for the
//!   helper to finish. Reads of other keys, such as the next insert's uniqueness check, do
//!   not.
//! - **Its failure is the transaction's.** If the helper's write fails, whatever it wrote is
//!   named by its records (so a rollback takes it back) and the transaction can afterwards
//!   only roll back, as after a failed spill.
//!
//! One job runs at a time: the next hand-over first waits for the last, which bounds the
//! memory in flight to one job's rows.

use super::direct;
use crate::error::{Error, Result};
use crate::storage::{KeyRange, Storage};
use std::ops::Bound;
use std::sync::Arc;
use std::thread::JoinHandle;

/// The helper of one transaction.
#[derive(Debug, Default)]
pub(super) enum Ahead {
    /// No job in flight.
    #[default]
    Idle,
    /// A job writing `rows`.
    Running {
        /// The helper thread; it returns how its write ended.
        handle: JoinHandle<Result<()>>,
        /// The rows handed over, shared with the helper: reads ask it which keys are in
        /// flight.
        rows: Rows,
    },
    /// A job failed: the transaction can only roll back.
    Failed {
        /// What failed.
        why: String,
        /// The storage's own error, until it is reported once (a full disk stays a full
        /// disk for the caller); later reports say the transaction can only roll back.
        first: Option<Error>,
    },
}

/// Rows handed over: (logical key, row data), ascending.
pub(super) type Rows = Arc<Vec<(Vec<u8>, Vec<u8>)>>;

/// What a job writes: heads of transaction `txid` at `scn`, its records numbered from `seq`.
pub(super) struct Job {
    pub storage: Arc<dyn Storage>,
    pub txid: u64,
    pub seq: u64,
    pub scn: u64,
    pub ingest_min: usize,
    /// What it writes.
    pub rows: Rows,
}

impl Ahead {
    /// Starts `job` on a helper thread (the caller settled the previous one). If no thread
    /// can be started, the transaction can only roll back (its rows left memory).
    pub(super) fn start(&mut self, job: Job) {
        if job.rows.is_empty() {
            return;
        }
        let rows = job.rows.clone();
        let work = move || {
            let Job {
                storage,
                txid,
                mut seq,
                scn,
                ingest_min,
                rows,
            } = job;
            // The new rows of a load (appended beyond every key in use) named by intervals.
            direct::write_heads_in_runs(&*storage, (txid, &mut seq), scn, ingest_min, &rows[..])
        };
        *self = match std::thread::Builder::new()
            .name("heliosdb-write-ahead".into())
            .spawn(work)
        {
            Ok(handle) => Ahead::Running { handle, rows },
            Err(e) => Ahead::Failed {
                why: format!("starting a helper thread failed: {e}"),
                first: None,
            },
        };
    }

    /// True if a job in flight is writing `key`.
    pub(super) fn writes_key(&self, key: &[u8]) -> bool {
        match self {
            Ahead::Running { rows, .. } => rows
                .binary_search_by(|(k, _)| k.as_slice().cmp(key))
                .is_ok(),
            _ => false,
        }
    }

    /// True if a job in flight is writing a key of `range`.
    pub(super) fn writes_in(&self, range: &KeyRange) -> bool {
        let Ahead::Running { rows, .. } = self else {
            return false;
        };
        // The first key handed over at or after the range's start.
        let first = rows.partition_point(|(k, _)| match &range.0 {
            Bound::Included(s) => k < s,
            Bound::Excluded(s) => k <= s,
            Bound::Unbounded => false,
        });
        rows.get(first).is_some_and(|(k, _)| match &range.1 {
            Bound::Included(e) => k <= e,
            Bound::Excluded(e) => k < e,
            Bound::Unbounded => true,
        })
    }

    /// Waits for the job in flight, if any. Fails if this or an earlier job failed.
    pub(super) fn settle(&mut self) -> Result<()> {
        self.join();
        self.report()
    }

    /// Waits for the job in flight, if any, and keeps how it ended.
    pub(super) fn join(&mut self) {
        *self = match std::mem::take(self) {
            Ahead::Running { handle, .. } => match handle.join() {
                Ok(Ok(())) => Ahead::Idle,
                Ok(Err(e)) => Ahead::Failed {
                    why: format!("writing its rows ahead failed: {e}"),
                    first: Some(e),
                },
                Err(_) => Ahead::Failed {
                    why: "the thread writing its rows ahead panicked".into(),
                    first: None,
                },
            },
            other => other,
        };
    }

    /// Fails if a job failed (a job still running is not waited for): with the storage's
    /// error the first time, then saying the transaction can only roll back.
    pub(super) fn report(&mut self) -> Result<()> {
        match self {
            Ahead::Failed { why, first } => Err(first.take().unwrap_or_else(|| {
                Error::Transaction(format!("this transaction can only be rolled back: {why}"))
            })),
            _ => Ok(()),
        }
    }

    /// True if a job failed.
    pub(super) fn failed(&self) -> bool {
        matches!(self, Ahead::Failed { .. })
    }
}
