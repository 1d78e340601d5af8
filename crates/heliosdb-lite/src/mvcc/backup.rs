//! Online backup: a consistent copy of the whole store, history included, into a new database
//! directory, while other connections keep reading and writing.
//!
//! The copy is a copy of every storage key, not a replay of the current data: history,
//! the commit log (SCNs, TXIDs, commit times), the GC horizon and work items, row counters,
//! change logs and packed read copies all come along, so every `AS OF` point the source
//! still retains answers the same on the copy.
//!
//! **Consistency.** The copy reads one storage snapshot, taken while nothing is half done:
//! under the GC lock (a GC run advances the horizon, then deletes what fell behind it, in
//! several batches) and under the write lock (a spilled commit writes its chunks in several
//! batches under it), after the commits already written have been synced and published (a
//! written commit is only durable once the group commit syncs it; the copy must not hold a
//! commit the source could still lose). Both locks are released as soon as the snapshot
//! exists: reading and writing the copy, the slow part, runs while writers go on. What else
//! may be half done at that instant is what a crash can leave too, and opening the copy
//! tidies it exactly as it would after a crash: a spilled transaction's private entries, a
//! pack whose pages no manifest names yet.
//!
//! **No half-written target.** The copy is built in a hidden directory beside the target,
//! made durable, and renamed into place; on failure the hidden directory is removed.

use super::{lock, Mvcc};
use crate::error::{Error, Result};
use crate::storage::{FjallOptions, FjallStorage, KvIter};
use std::path::{Path, PathBuf};

/// What [`Mvcc::backup_to`] copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupReport {
    /// The newest commit in the copy: the copy holds exactly the commits up to this SCN.
    pub scn: u64,
    /// Storage entries copied (rows, their history, index entries, commit records, ...).
    pub entries: u64,
    /// Bytes of those entries (keys and values, uncompressed).
    pub bytes: u64,
}

impl Mvcc {
    /// Copies the whole store, as of one instant, into a new database directory `target`.
    /// `target` must not exist, or be an empty directory or an empty file (which the copy
    /// replaces); its parent directory must exist. Works for in-memory sources too: the copy
    /// is always an on-disk database.
    pub fn backup_to(&self, target: &Path) -> Result<BackupReport> {
        check_target(target)?;
        let staging = Staging::beside(target)?;
        let storage = FjallStorage::open(&staging.dir, &FjallOptions::default())?;
        let (scn, pairs) = self.frozen_scan()?;
        let (entries, bytes) = storage.load_sorted(pairs)?;
        // Closing the store finishes its files; only a closed directory may be moved.
        drop(storage);
        staging.publish(target)?;
        Ok(BackupReport {
            scn,
            entries,
            bytes,
        })
    }

    /// The newest published SCN and an iterator over every storage key at that instant,
    /// taken with nothing half done (see the module documentation).
    fn frozen_scan(&self) -> Result<(u64, KvIter<'_>)> {
        let _no_gc = lock(&self.0.gc_lock);
        let _writer = self.acquire_write_lock(self.0.options.busy_timeout)?;
        // Every written commit becomes durable and published, so the snapshot holds exactly
        // the commits up to the newest published one.
        let written = self.assigned_scn();
        self.await_durable(written)?;
        let scn = self.latest_scn();
        let pairs = self.0.storage.snapshot_iter()?;
        Ok((scn, pairs))
    }
}

/// Refuses a target that holds anything, with SQLite's words for `VACUUM INTO`.
fn check_target(target: &Path) -> Result<()> {
    if target.as_os_str().is_empty() {
        return Err(Error::invalid("the backup target is an empty path"));
    }
    match std::fs::symlink_metadata(target) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(cannot_open(target, &e)),
        Ok(m) if m.is_file() && m.len() == 0 => Ok(()),
        Ok(m) if m.is_dir() && std::fs::read_dir(target)?.next().is_none() => Ok(()),
        Ok(_) => Err(Error::Io(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("output file already exists: {}", target.display()),
        ))),
    }
}

fn cannot_open(target: &Path, e: &std::io::Error) -> Error {
    Error::Io(std::io::Error::new(
        e.kind(),
        format!("unable to open database: {} ({e})", target.display()),
    ))
}

/// The hidden directory a copy is built in, removed unless published.
struct Staging {
    dir: PathBuf,
    published: bool,
}

impl Staging {
    /// A new directory in the target's parent (the rename into place must not cross file
    /// systems).
    fn beside(target: &Path) -> Result<Staging> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "the backup target {} names no file",
                    target.display()
                ))
            })?;
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = parent.join(format!(".{name}.backup-{}-{n}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| cannot_open(target, &e))?;
        Ok(Staging {
            dir,
            published: false,
        })
    }

    /// Moves the finished copy to `target` and makes the move durable.
    fn publish(mut self, target: &Path) -> Result<()> {
        // An empty file or directory standing in the way is replaced, as SQLite replaces an
        // empty output file. Checked again: it may have been filled during the copy.
        check_target(target)?;
        if std::fs::symlink_metadata(target).is_ok_and(|m| m.is_file()) {
            std::fs::remove_file(target)?;
        }
        std::fs::rename(&self.dir, target).map_err(|e| cannot_open(target, &e))?;
        self.published = true;
        sync_parent(target);
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Makes a rename in `path`'s directory durable (best effort: not every platform can open a
/// directory to sync it, and the copy's own files are already synced).
fn sync_parent(path: &Path) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = std::fs::File::open(parent) {
        let _ = dir.sync_all();
    }
}
