//! Reads of the rows a transaction is about to rewrite, in key order across its statements.
//!
//! A batch of `UPDATE t SET ... WHERE id = ?` executions in one transaction reads each
//! target's head by key before rewriting it ([`super::Transaction::reading_rows_to_replace`]):
//! a point read each, ~1.5 µs once the heads are in fjall's tables (a filter partition, an
//! index partition and a data block per read), most of a row's cost. When the keys come in
//! ascending order, as a batch over a range of ids or a loader's corrections do, one forward
//! walk ([`AscendingHeads`]) serves them all with a step each, the way a commit reads the heads
//! it supersedes. Only heads the store cannot give from its cache of recent reads or its
//! write buffer ([`Storage::get_buffered`]) go to the walk: those cost less than a step of
//! its iterator, which merges the buffer's layers with the tables (walking them too made a
//! batched UPDATE of rows still in the buffer 8% slower).
//!
//! A walk may not see a head written after it opened. The transaction holds the write lock,
//! so no other commit writes one while it runs, and it keeps the walk only until it writes a
//! head itself ([`super::direct`]: from then on its reads are point reads). Keys asked out of
//! order are point reads too. The walk opens only once [`ASCENDING_BEFORE_WALK`] such reads
//! in a row ascended, so a transaction of a few statements never pays for a seek it cannot
//! amortise; once the walk judges itself dearer than point reads (keys far apart), the
//! transaction reads by point for good, as it does after a read through the walk failed (a
//! failed step may leave the walk's merge short of a source).
//!
//! The walk's iterator holds the store's buffered layers and fjall's table version as they
//! were when it opened (not a snapshot: it relies on no head changing), which keeps them
//! from being freed. So it is opened again every [`LOOKUPS_BEFORE_REOPEN`] lookups, dropped
//! when the transaction spills (its writes then go through the buffer in bulk), and dropped
//! at the end of a statement that did not use it, whatever its outcome; the next ascending
//! read opens a new one. (Heads in the buffer that lie between the keys the walk serves still
//! cost it steps, which count in its cost check: a run of mostly buffered rows can make it
//! give way to point reads for the rest of the transaction.)

use super::keys;
use super::view::{head_to_replace, AscendingHeads};
use crate::error::Result;
use crate::storage::{Bytes, Storage};
use std::sync::Arc;

/// Reads in a row of ascending keys before the walk opens: its seek costs a few point reads.
const ASCENDING_BEFORE_WALK: u32 = 32;

/// Lookups a walk serves before it is opened again at the next key.
const LOOKUPS_BEFORE_REOPEN: u32 = 4096;

/// The state of one transaction's reads of rows to rewrite (see the module essay).
#[derive(Default)]
pub(super) struct RewriteReads {
    /// The last key read (empty before the first).
    last: Vec<u8>,
    /// How many reads in a row, up to `last`, asked for a key after the one before.
    ascending: u32,
    walk: Option<Walk>,
    /// The walk served a read since the last statement ended.
    served: bool,
    /// A walk gave way to point reads or failed, or the transaction wrote heads: no walk
    /// opens again.
    done: bool,
    /// Reads a walk served, for tests.
    #[cfg(test)]
    pub(super) walked: u64,
}

/// An open walk and the last key it served (it serves only keys after it).
struct Walk {
    heads: AscendingHeads<'static>,
    last: Vec<u8>,
    lookups: u32,
}

impl RewriteReads {
    /// The committed head of `logical`, read by a transaction holding the write lock, about
    /// to rewrite it. `may_walk` is false once the transaction has written heads to storage
    /// itself: then, and for the rest of the transaction, every read is a point read.
    pub(super) fn head(
        &mut self,
        storage: &Arc<dyn Storage>,
        logical: &[u8],
        may_walk: bool,
    ) -> Result<Option<Bytes>> {
        if self.done || !may_walk {
            self.done = true;
            self.walk = None;
            return head_to_replace(&**storage, logical);
        }
        // A head in the store's cache or write buffer costs less than a step of the walk
        // (whose iterator merges the buffer's layers with the tables): only heads that need
        // a read of the tables count towards a run and go to the walk.
        let head_key = keys::head_key(logical);
        if let Some(found) = storage.get_buffered(&head_key) {
            return Ok(found);
        }
        match logical > self.last.as_slice() {
            true => self.ascending = self.ascending.saturating_add(1),
            false => self.ascending = 0,
        }
        self.last.clear();
        self.last.extend_from_slice(logical);
        // The read that makes the run long enough is the walk's first.
        if self.walk.is_none() && self.ascending >= ASCENDING_BEFORE_WALK {
            self.walk = Some(Walk {
                heads: AscendingHeads::kept(Arc::clone(storage)),
                last: Vec::new(),
                lookups: 0,
            });
        }
        let Some(walk) = self.walk.as_mut().filter(|w| logical > w.last.as_slice()) else {
            // The cache and the buffer were just asked.
            return storage.get_unbuffered(&head_key);
        };
        #[cfg(test)]
        {
            self.walked += 1;
        }
        self.served = true;
        let found = match walk.heads.lookup(logical) {
            Ok(found) => found,
            Err(e) => {
                self.walk = None;
                self.done = true;
                return Err(e);
            }
        };
        walk.last.clear();
        walk.last.extend_from_slice(logical);
        walk.lookups += 1;
        if !walk.heads.walking() {
            self.walk = None;
            self.done = true;
        } else if walk.lookups >= LOOKUPS_BEFORE_REOPEN {
            walk.heads = AscendingHeads::kept(Arc::clone(storage));
            walk.lookups = 0;
        }
        Ok(found)
    }

    /// Drops the walk, if one is open (the next ascending read opens a new one): the
    /// transaction is about to write a lot through the store's buffer.
    pub(super) fn release(&mut self) {
        self.walk = None;
    }

    /// A statement ended: a walk it did not use is dropped, so that a transaction going on
    /// with other work does not hold the store's old layers until it ends.
    pub(super) fn statement_ended(&mut self) {
        if !std::mem::take(&mut self.served) {
            self.walk = None;
        }
    }
}

#[cfg(test)]
#[path = "rewrite_reads_tests.rs"]
mod tests;
