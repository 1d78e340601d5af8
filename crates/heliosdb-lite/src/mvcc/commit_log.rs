//! The in-memory index of retained commits, and resolution of time-travel points to SCNs.
//!
//! Every commit gets one 16-byte entry (transaction id and commit time) in a deque indexed by
//! `scn - base`. SCNs are dense (+1 per commit), so SCN lookup is an index operation; commit
//! times and transaction ids both increase with the SCN, so TIMESTAMP and TRANSACTION lookups
//! are searches over sorted columns. TXID lookup starts at the position the SCN/TXID offset
//! predicts and gallops from there, which is O(1) when few transactions roll back.

use crate::error::{AvailableRange, Error, HistoryPoint, Result};
use crate::storage::Storage;
use std::collections::VecDeque;
use std::sync::Arc;

/// One retained commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitEntry {
    /// Transaction id.
    pub txid: u64,
    /// Commit time in microseconds since the Unix epoch.
    pub time_us: i64,
}

/// Encodes a commit record value.
pub fn encode_entry(e: &CommitEntry) -> Vec<u8> {
    let mut v = Vec::with_capacity(16);
    v.extend_from_slice(&e.txid.to_be_bytes());
    v.extend_from_slice(&e.time_us.to_be_bytes());
    v
}

/// Decodes a commit record value.
pub fn decode_entry(v: &[u8]) -> Result<CommitEntry> {
    if v.len() != 16 {
        return Err(Error::corruption("commit record has wrong length"));
    }
    Ok(CommitEntry {
        txid: u64::from_be_bytes(v[..8].try_into().expect("8 bytes")),
        time_us: i64::from_be_bytes(v[8..].try_into().expect("8 bytes")),
    })
}

/// Retained commits: the newest `max_hot` in memory (`base ..= latest`), older retained ones
/// (`max(horizon, 1) .. base`) read from the commit records in storage when asked for. The
/// memory used is therefore bounded whatever the retention keeps.
pub struct CommitIndex {
    /// SCN of `entries[0]`.
    base: u64,
    entries: VecDeque<CommitEntry>,
    /// Oldest readable SCN. 0 means the empty pre-history state is still readable.
    horizon: u64,
    max_hot: usize,
    cold: Option<Arc<dyn Storage>>,
}

impl std::fmt::Debug for CommitIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitIndex")
            .field("base", &self.base)
            .field("hot", &self.entries.len())
            .field("horizon", &self.horizon)
            .finish_non_exhaustive()
    }
}

impl Default for CommitIndex {
    fn default() -> Self {
        Self::new(0, 1, VecDeque::new(), usize::MAX, None)
    }
}

impl CommitIndex {
    /// Builds the index from recovered entries starting at `base`; commits older than `base`
    /// (down to the horizon) are read from `cold` on demand.
    pub fn new(
        horizon: u64,
        base: u64,
        entries: VecDeque<CommitEntry>,
        max_hot: usize,
        cold: Option<Arc<dyn Storage>>,
    ) -> Self {
        Self {
            base,
            entries,
            horizon,
            max_hot: max_hot.max(1),
            cold,
        }
    }

    fn oldest_retained(&self) -> u64 {
        self.horizon.max(1)
    }

    /// The newest committed SCN (0 before the first commit).
    pub fn latest(&self) -> u64 {
        if self.entries.is_empty() {
            self.horizon.max(self.base.saturating_sub(1))
        } else {
            self.base + self.entries.len() as u64 - 1
        }
    }

    /// The oldest readable SCN.
    pub fn horizon(&self) -> u64 {
        self.horizon
    }

    /// Commit time of the newest commit.
    pub fn latest_time(&self) -> Option<i64> {
        self.entries.back().map(|e| e.time_us)
    }

    /// Number of commits held in memory.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if no commit is held in memory.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of memory used by the entries (capacity included).
    pub fn memory_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<CommitEntry>()
    }

    /// Number of retained snapshots (in memory and on disk).
    pub fn retained(&self) -> u64 {
        let latest = self.latest();
        if latest == 0 {
            0
        } else {
            latest + 1 - self.oldest_retained()
        }
    }

    /// Appends the next commit, moving the oldest in-memory entry to disk-only if needed.
    pub fn push(&mut self, scn: u64, entry: CommitEntry) {
        if self.entries.is_empty() {
            self.base = scn;
        }
        debug_assert_eq!(scn, self.base + self.entries.len() as u64);
        self.entries.push_back(entry);
        while self.entries.len() > self.max_hot && self.cold.is_some() {
            self.entries.pop_front();
            self.base += 1;
        }
    }

    /// Entry of `scn`, if retained.
    pub fn get(&self, scn: u64) -> Option<CommitEntry> {
        if scn >= self.base {
            return self.entries.get((scn - self.base) as usize).copied();
        }
        if scn < self.oldest_retained() {
            return None;
        }
        let storage = self.cold.as_ref()?;
        match storage.get(&super::keys::commit_key(scn)) {
            Ok(Some(v)) => decode_entry(&v).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, scn, "reading a commit record failed");
                None
            }
        }
    }

    /// The point of `scn` (with zeroed txid/time for SCN 0).
    pub fn point(&self, scn: u64) -> Option<HistoryPoint> {
        if scn == 0 {
            return Some(HistoryPoint {
                scn: 0,
                txid: 0,
                commit_time_us: 0,
            });
        }
        self.get(scn).map(|e| HistoryPoint {
            scn,
            txid: e.txid,
            commit_time_us: e.time_us,
        })
    }

    /// Describes the readable range for error messages.
    pub fn available(&self) -> AvailableRange {
        let latest = self.latest();
        if latest == 0 {
            return AvailableRange {
                oldest: None,
                newest: None,
            };
        }
        AvailableRange {
            oldest: self
                .point(self.horizon)
                .or_else(|| self.point(self.oldest_retained())),
            newest: self.point(latest),
        }
    }

    /// Moves the horizon forward, forgetting commits older than it.
    pub fn advance_horizon(&mut self, horizon: u64) {
        if horizon <= self.horizon {
            return;
        }
        self.horizon = horizon;
        while self.base < horizon && !self.entries.is_empty() {
            self.entries.pop_front();
            self.base += 1;
        }
        if self.entries.is_empty() {
            self.base = self.base.max(horizon);
        }
        self.entries.shrink_to_fit();
    }

    /// Returns the newest `limit` retained commits, newest first.
    pub fn recent(&self, limit: usize) -> Vec<HistoryPoint> {
        let latest = self.latest();
        (0..limit as u64)
            .map_while(|i| latest.checked_sub(i))
            .filter(|&s| s >= self.oldest_retained())
            .filter_map(|s| self.point(s))
            .collect()
    }

    /// All retained points, oldest first (older ones read from storage).
    pub fn all(&self) -> Vec<HistoryPoint> {
        let mut out = Vec::new();
        if let Some(storage) = &self.cold {
            if self.oldest_retained() < self.base {
                let range = (
                    std::ops::Bound::Included(super::keys::commit_key(self.oldest_retained())),
                    std::ops::Bound::Excluded(super::keys::commit_key(self.base)),
                );
                for (k, v) in storage
                    .scan(range, crate::storage::Direction::Forward)
                    .flatten()
                {
                    let scn = super::keys::number_after_tag(&k).unwrap_or(0);
                    if let Ok(e) = decode_entry(&v) {
                        out.push(HistoryPoint {
                            scn,
                            txid: e.txid,
                            commit_time_us: e.time_us,
                        });
                    }
                }
            }
        }
        out.extend(self.entries.iter().enumerate().map(|(i, e)| HistoryPoint {
            scn: self.base + i as u64,
            txid: e.txid,
            commit_time_us: e.time_us,
        }));
        out
    }

    fn too_old(&self, requested: String) -> Error {
        Error::SnapshotTooOld {
            requested,
            available: self.available(),
        }
    }

    fn not_available(&self, requested: String) -> Error {
        Error::SnapshotNotAvailable {
            requested,
            available: self.available(),
        }
    }

    /// Resolves `AS OF SCN n`.
    pub fn resolve_scn(&self, scn: u64) -> Result<u64> {
        if scn > self.latest() {
            return Err(self.not_available(format!("SCN {scn} is in the future")));
        }
        if scn < self.horizon {
            return Err(self.too_old(format!("SCN {scn}")));
        }
        Ok(scn)
    }

    /// Binary search over the on-disk part `[oldest_retained, base)` for the last SCN whose
    /// entry satisfies `pred` (which must be true for a prefix of the range).
    fn cold_last(&self, pred: impl Fn(&CommitEntry) -> bool) -> Option<u64> {
        let (mut lo, mut hi) = (self.oldest_retained(), self.base);
        if lo >= hi {
            return None;
        }
        if !pred(&self.get(lo)?) {
            return None;
        }
        // Invariant: pred(lo) holds; the answer is in [lo, hi).
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid) {
                Some(e) if pred(&e) => lo = mid,
                Some(_) => hi = mid,
                None => return None,
            }
        }
        Some(lo)
    }

    /// Finds the SCN of the commit of transaction `txid`.
    pub fn scn_of_txid(&self, txid: u64) -> Result<u64> {
        let n = self.entries.len();
        let unknown = || {
            self.not_available(format!(
                "transaction {txid} is unknown, rolled back or not committed"
            ))
        };
        if txid == 0 {
            return Err(self.not_available(
                "transaction 0 does not exist: transaction ids start at 1 (AS OF SCN 0 reads \
                 the empty database before the first commit)"
                    .to_string(),
            ));
        }
        if n == 0 {
            return Err(unknown());
        }
        if txid < self.entries[0].txid {
            // On disk, or collected.
            let oldest = self.get(self.oldest_retained()).map(|e| e.txid);
            if oldest.is_none_or(|o| txid < o) {
                return Err(self.too_old(format!("transaction {txid}")));
            }
            return match self.cold_last(|e| e.txid <= txid) {
                Some(scn) if self.get(scn).is_some_and(|e| e.txid == txid) => Ok(scn),
                _ => Err(unknown()),
            };
        }
        // txid - scn grows only when a transaction rolls back, so the guess is usually exact.
        let guess = (txid.saturating_sub(self.entries[0].txid) as usize).min(n - 1);
        let idx = if self.entries[guess].txid == txid {
            Some(guess)
        } else {
            let (mut l, mut h) = if self.entries[guess].txid > txid {
                (0, guess)
            } else {
                (guess + 1, n)
            };
            while l < h {
                let m = (l + h) / 2;
                if self.entries[m].txid < txid {
                    l = m + 1;
                } else {
                    h = m;
                }
            }
            (l < n && self.entries[l].txid == txid).then_some(l)
        };
        idx.map(|i| self.base + i as u64).ok_or_else(unknown)
    }

    /// Resolves `AS OF TRANSACTION n`: the state right after `n` committed.
    pub fn resolve_txid(&self, txid: u64) -> Result<u64> {
        let scn = self.scn_of_txid(txid)?;
        if scn < self.horizon {
            return Err(self.too_old(format!("transaction {txid}")));
        }
        Ok(scn)
    }

    /// Resolves `BEFORE TRANSACTION n`: the state just before `n` committed.
    pub fn resolve_before_txid(&self, txid: u64) -> Result<u64> {
        let scn = self.scn_of_txid(txid)? - 1;
        if scn < self.horizon {
            return Err(self.too_old(format!("the state before transaction {txid}")));
        }
        Ok(scn)
    }

    /// Resolves `AS OF TIMESTAMP ts`: the state after the newest commit with time <= ts.
    /// `now_us` gives the current time (read only for a point past the newest commit); later
    /// points are in the future.
    pub fn resolve_time(&self, ts_us: i64, now_us: impl FnOnce() -> i64) -> Result<u64> {
        // Formatted only for an error: formatting costs more than the lookup itself.
        let shown = || crate::time::format_micros(ts_us);
        // The clock is read only for a point past the newest commit (is it the future?).
        if self.latest_time().is_none_or(|t| ts_us > t) && ts_us > now_us() {
            return Err(self.not_available(format!("timestamp {} is in the future", shown())));
        }
        match self.newest_at_or_before(ts_us) {
            Some(scn) if scn >= self.horizon => Ok(scn),
            Some(_) => Err(self.too_old(format!("timestamp {}", shown()))),
            None if self.horizon == 0 => {
                Err(self.not_available(format!("timestamp {} is before the first commit", shown())))
            }
            None => Err(self.too_old(format!("timestamp {}", shown()))),
        }
    }

    /// The newest retained SCN whose commit time is at or before `ts_us`; `None` if every
    /// retained commit is newer.
    pub fn newest_at_or_before(&self, ts_us: i64) -> Option<u64> {
        let count = self.entries.partition_point(|e| e.time_us <= ts_us);
        if count > 0 {
            return Some(self.base + count as u64 - 1);
        }
        self.cold_last(|e| e.time_us <= ts_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(txids: &[u64]) -> CommitIndex {
        let mut ix = CommitIndex::default();
        for (i, &t) in txids.iter().enumerate() {
            ix.push(
                i as u64 + 1,
                CommitEntry {
                    txid: t,
                    time_us: (i as i64 + 1) * 1000,
                },
            );
        }
        ix
    }

    #[test]
    fn resolves_all_modes() {
        let ix = index(&[1, 2, 5, 6, 9]);
        assert_eq!(ix.latest(), 5);
        assert_eq!(ix.resolve_txid(5).unwrap(), 3);
        assert_eq!(ix.resolve_txid(9).unwrap(), 5);
        assert!(matches!(
            ix.resolve_txid(3),
            Err(Error::SnapshotNotAvailable { .. })
        ));
        assert!(matches!(
            ix.resolve_txid(10),
            Err(Error::SnapshotNotAvailable { .. })
        ));
        assert_eq!(ix.resolve_before_txid(1).unwrap(), 0);
        assert_eq!(ix.resolve_time(2500, || 10_000).unwrap(), 2);
        assert_eq!(ix.resolve_time(3000, || 10_000).unwrap(), 3);
        assert!(ix.resolve_time(999, || 10_000).is_err());
        assert!(matches!(
            ix.resolve_time(20_000, || 10_000),
            Err(Error::SnapshotNotAvailable { .. })
        ));
        assert!(ix.resolve_scn(6).is_err());
        assert_eq!(ix.resolve_scn(0).unwrap(), 0);
    }

    #[test]
    fn older_commits_are_read_from_storage() {
        use crate::storage::{MemoryStorage, WriteBatch};
        let storage = MemoryStorage::new();
        let mut b = WriteBatch::new();
        let txids = [1u64, 2, 4, 5, 6, 8, 9, 10, 11, 12];
        for (i, &t) in txids.iter().enumerate() {
            let e = CommitEntry {
                txid: t,
                time_us: (i as i64 + 1) * 1000,
            };
            b.put(
                super::super::keys::commit_key(i as u64 + 1),
                encode_entry(&e),
            );
        }
        storage.write(b, false).unwrap();
        let cold: Arc<dyn Storage> = Arc::new(storage);
        let mut ix = CommitIndex::new(0, 1, VecDeque::new(), 2, Some(cold));
        for (i, &t) in txids.iter().enumerate() {
            ix.push(
                i as u64 + 1,
                CommitEntry {
                    txid: t,
                    time_us: (i as i64 + 1) * 1000,
                },
            );
        }
        assert_eq!(ix.len(), 2, "only the newest two stay in memory");
        assert_eq!(ix.latest(), 10);
        assert_eq!(ix.resolve_txid(4).unwrap(), 3);
        assert_eq!(ix.resolve_txid(1).unwrap(), 1);
        assert!(matches!(
            ix.resolve_txid(3),
            Err(Error::SnapshotNotAvailable { .. })
        ));
        assert_eq!(ix.resolve_time(3500, || 99_999).unwrap(), 3);
        assert_eq!(ix.resolve_time(10_000, || 99_999).unwrap(), 10);
        assert!(ix.resolve_time(500, || 99_999).is_err());
        assert_eq!(ix.point(2).unwrap().txid, 2);
        assert_eq!(ix.all().len(), 10);
        assert_eq!(
            ix.recent(3).iter().map(|p| p.scn).collect::<Vec<_>>(),
            vec![10, 9, 8]
        );
        ix.advance_horizon(5);
        assert!(matches!(
            ix.resolve_txid(4),
            Err(Error::SnapshotTooOld { .. })
        ));
        assert_eq!(ix.resolve_txid(6).unwrap(), 5);
    }

    #[test]
    fn horizon_makes_old_points_too_old() {
        let mut ix = index(&[1, 2, 3, 4, 5]);
        ix.advance_horizon(3);
        assert_eq!(ix.len(), 3);
        assert!(matches!(
            ix.resolve_scn(2),
            Err(Error::SnapshotTooOld { .. })
        ));
        assert!(matches!(
            ix.resolve_txid(1),
            Err(Error::SnapshotTooOld { .. })
        ));
        assert!(matches!(
            ix.resolve_before_txid(3),
            Err(Error::SnapshotTooOld { .. })
        ));
        assert!(matches!(
            ix.resolve_time(2500, || 10_000),
            Err(Error::SnapshotTooOld { .. })
        ));
        assert_eq!(ix.resolve_time(3500, || 10_000).unwrap(), 3);
        assert_eq!(ix.latest(), 5);
        let msg = ix.resolve_scn(1).unwrap_err().to_string();
        assert!(msg.contains("oldest SCN 3"), "{msg}");
    }
}
