//! Checks fjall's tree manifests before fjall reads them.
//!
//! fjall (lsm-tree 3.1) trusts a tree's manifest (`v<N>`, named by the tree's `current`
//! file) while recovering: an impossible level count fails an assertion, a missing section an
//! `expect`, and the panic poisons a lock whose guard fjall's own drop then unwraps, aborting
//! the process. A damaged file must be an error instead. `current` records the xxh3-128
//! checksum of the manifest it names (fjall writes the manifest, syncs it, then replaces
//! `current` atomically, so after any crash the two agree); fjall does not verify it yet,
//! so we do, before opening.

use crate::error::{Error, Result};
use std::path::Path;

/// Size of `current`: version id (u64), checksum (u128), checksum type (u8; 0 = xxh3).
const CURRENT_LEN: usize = 8 + 16 + 1;

/// Verifies every tree manifest under the database directory `db` (a new, empty directory
/// passes).
pub fn verify_manifests(db: &Path) -> Result<()> {
    let keyspaces = db.join("keyspaces");
    let entries = match std::fs::read_dir(&keyspaces) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::Io(e)),
    };
    for entry in entries {
        let tree = entry?.path();
        if tree.is_dir() {
            verify_tree(&tree)?;
        }
    }
    Ok(())
}

fn verify_tree(tree: &Path) -> Result<()> {
    let current = match std::fs::read(tree.join("current")) {
        Ok(c) => c,
        // A tree that never persisted a version is created afresh by fjall.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::Io(e)),
    };
    let damaged = |what: String| Error::Corruption(format!("{}: {what}", tree.display()));
    if current.len() != CURRENT_LEN || current[CURRENT_LEN - 1] != 0 {
        return Err(damaged(format!(
            "the manifest pointer 'current' is malformed ({} bytes)",
            current.len()
        )));
    }
    let id = u64::from_le_bytes(current[..8].try_into().expect("8 bytes"));
    let expected = u128::from_le_bytes(current[8..24].try_into().expect("16 bytes"));
    let manifest = tree.join(format!("v{id}"));
    let bytes = match std::fs::read(&manifest) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(damaged(format!("the current manifest v{id} is missing")))
        }
        Err(e) => return Err(Error::Io(e)),
    };
    if xxhash_rust::xxh3::xxh3_128(&bytes) != expected {
        return Err(damaged(format!(
            "the manifest v{id} does not match its checksum"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh_db() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let s =
            super::super::FjallStorage::open(&dir.path().join("db"), &Default::default()).unwrap();
        let mut b = crate::storage::WriteBatch::new();
        b.put(b"k".to_vec(), b"v".to_vec());
        crate::storage::Storage::write(&s, b, true).unwrap();
        crate::storage::Storage::checkpoint(&s).unwrap();
        dir
    }

    fn trees(db: &Path) -> Vec<std::path::PathBuf> {
        std::fs::read_dir(db.join("keyspaces"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect()
    }

    #[test]
    fn intact_manifests_pass_and_any_flipped_byte_fails() {
        let dir = fresh_db();
        let db = dir.path().join("db");
        verify_manifests(&db).unwrap();
        verify_manifests(&dir.path().join("absent")).unwrap();
        for tree in trees(&db) {
            let current = std::fs::read(tree.join("current")).unwrap();
            let id = u64::from_le_bytes(current[..8].try_into().unwrap());
            let path = tree.join(format!("v{id}"));
            let original = std::fs::read(&path).unwrap();
            for pos in 0..original.len() {
                let mut bytes = original.clone();
                bytes[pos] ^= 0x5a;
                std::fs::write(&path, &bytes).unwrap();
                assert!(matches!(verify_manifests(&db), Err(Error::Corruption(_))));
            }
            std::fs::write(&path, &original).unwrap();
            std::fs::write(tree.join("current"), &current[..10]).unwrap();
            assert!(matches!(verify_manifests(&db), Err(Error::Corruption(_))));
            std::fs::write(tree.join("current"), &current).unwrap();
        }
        verify_manifests(&db).unwrap();
    }
}
