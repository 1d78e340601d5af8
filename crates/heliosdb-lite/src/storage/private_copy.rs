//! A private copy of a database directory, for read-only opens.
//!
//! fjall cannot open a directory without writing to it: it takes a lock file, replays and
//! rewrites its journal, and may flush or compact. It also refuses a directory another process
//! has open. A read-only open therefore works on a copy in a temporary directory: the table
//! files, which fjall never changes once written, are hard-linked (copied when the temporary
//! directory is on another file system); the journal and the small manifest files are copied.
//! The original directory is only read, so it may be read-only, or in use by another process;
//! the copy shows the database as of the moment it was made.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// A temporary copy of a database directory, removed when dropped.
#[derive(Debug)]
pub struct PrivateCopy {
    dir: PathBuf,
}

impl PrivateCopy {
    /// Copies the database directory `src`. A file that vanishes while being copied (the
    /// owning process compacted it away) makes the copy start over, a few times.
    pub fn of(src: &Path) -> Result<PrivateCopy> {
        if !src.is_dir() {
            let what = if src.exists() {
                "is not a database directory"
            } else {
                "does not exist"
            };
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "{} {what}; a read-only open never creates a database (open it read-write to create one)",
                    src.display()
                ),
            )));
        }
        if !src.join("version").is_file() {
            return Err(Error::corruption(format!(
                "{} holds no HeliosDB-Lite database (its storage `version` file is missing)",
                src.display()
            )));
        }
        let mut last = None;
        for attempt in 0..5 {
            let dir = std::env::temp_dir().join(format!(
                "heliosdb-readonly-{}-{}-{attempt}",
                std::process::id(),
                unique()
            ));
            let copy = PrivateCopy { dir };
            match copy_tree(src, &copy.dir, false) {
                Ok(()) => return Ok(copy),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => last = Some(e),
                Err(e) => {
                    return Err(Error::Io(std::io::Error::new(
                        e.kind(),
                        format!(
                            "cannot make the private copy of {} that a read-only open reads ({e}); set TMPDIR to a writable directory",
                            src.display()
                        ),
                    )))
                }
            }
        }
        Err(Error::Busy(format!(
            "{} kept changing while it was being copied for a read-only open ({}); try again",
            src.display(),
            last.map(|e| e.to_string()).unwrap_or_default()
        )))
    }

    /// The directory holding the copy.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PrivateCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A number no other copy made by this process has.
fn unique() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn copy_tree(src: &Path, dst: &Path, immutable: bool) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    // The manifest pointer `current` first: the files it names are copied after it, so they
    // are at least as new as it is.
    let mut entries: Vec<std::fs::DirEntry> =
        std::fs::read_dir(src)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name() != "current");
    for entry in entries {
        let name = entry.file_name();
        let from = entry.path();
        let to = dst.join(&name);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&from, &to, immutable || name == "tables" || name == "blobs")?;
        } else if name == "lock" {
            // fjall's lock is taken on our copy's own, empty, lock file, never the original.
            std::fs::File::create(&to)?;
        } else if !(immutable && std::fs::hard_link(&from, &to).is_ok()) {
            std::fs::copy(&from, &to)?;
        }
    }
    Ok(())
}
