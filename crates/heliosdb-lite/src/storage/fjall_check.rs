//! Checks fjall's tree metadata before fjall reads it.
//!
//! fjall (lsm-tree 3.1) trusts some of its files while recovering. A tree's manifest
//! (`v<N>`, named by the tree's `current` file) with an impossible level count fails an
//! assertion, a missing section an `expect`, and the panic poisons a lock whose guard fjall's
//! own drop then unwraps, aborting the process. A table file's table of contents (its files
//! are "sfa" archives: sections, then a TOC, then a fixed trailer naming the TOC's position,
//! length and checksum) is allocated by its entry count before its checksum is checked, so a
//! damaged count asks for hundreds of gigabytes. Damaged files must be errors instead.
//!
//! `current` records the xxh3-128 checksum of the manifest it names (fjall writes the
//! manifest, syncs it, then replaces `current` atomically, so after any crash the two agree),
//! and each trailer the checksum of its TOC; fjall checks neither before use, so we do,
//! before opening. This reads each table's small TOC, not its data (data blocks carry their
//! own checksums, which fjall verifies as it reads them).

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
    // The manifest is intact: its list of live tables can be trusted. (Files not in it are
    // leftovers of an interrupted flush or compaction, which fjall deletes.)
    for id in live_tables(&manifest).map_err(|what| damaged(what.to_string()))? {
        verify_table(&tree.join("tables").join(id.to_string()))?;
    }
    Ok(())
}

/// Table ids listed in the `tables` section of a verified manifest.
fn live_tables(manifest: &Path) -> std::result::Result<Vec<u64>, &'static str> {
    let reader = sfa::Reader::new(manifest).map_err(|_| "the manifest is unreadable")?;
    let section = reader
        .toc()
        .section(b"tables")
        .ok_or("the manifest lists no tables")?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut section
            .reader(manifest)
            .map_err(|_| "the manifest is unreadable")?,
        &mut bytes,
    )
    .map_err(|_| "the manifest is unreadable")?;
    let mut r = bytes.as_slice();
    let mut take = |n: usize| -> std::result::Result<&[u8], &'static str> {
        if r.len() < n {
            return Err("the manifest's table list is truncated");
        }
        let (head, rest) = r.split_at(n);
        r = rest;
        Ok(head)
    };
    let mut ids = Vec::new();
    let levels = take(1)?[0];
    for _ in 0..levels {
        let runs = take(1)?[0];
        for _ in 0..runs {
            let count = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes"));
            for _ in 0..count {
                ids.push(u64::from_le_bytes(take(8)?.try_into().expect("8 bytes")));
                // checksum type (1), checksum (16), global sequence number (8)
                take(1 + 16 + 8)?;
            }
        }
    }
    Ok(ids)
}

/// Trailer of an sfa archive: magic, version, checksum type, TOC checksum, position, length.
const TRAILER_LEN: usize = 4 + 1 + 1 + 16 + 8 + 8;

/// Reads a table file's trailer and TOC (not its data) and checks them.
fn verify_table(path: &Path) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let damaged =
        |what: &str| Error::Corruption(format!("table file {} is damaged: {what}", path.display()));
    if len < TRAILER_LEN as u64 {
        return Err(damaged("shorter than its trailer"));
    }
    let mut trailer = [0u8; TRAILER_LEN];
    file.seek(SeekFrom::Start(len - TRAILER_LEN as u64))?;
    file.read_exact(&mut trailer)?;
    let (toc_pos, toc_len, checksum) = parse_trailer(&trailer, len).map_err(damaged)?;
    let mut toc = vec![0u8; toc_len as usize];
    file.seek(SeekFrom::Start(toc_pos))?;
    file.read_exact(&mut toc)?;
    if xxhash_rust::xxh3::xxh3_128(&toc) != checksum {
        return Err(damaged("its table of contents does not match its checksum"));
    }
    Ok(())
}

/// Parses a trailer; the TOC it names must lie within the file, before the trailer.
fn parse_trailer(t: &[u8], file_len: u64) -> std::result::Result<(u64, u64, u128), &'static str> {
    if t.len() != TRAILER_LEN || &t[..4] != b"SFA!" || t[4] != 1 || t[5] != 0 {
        return Err("its trailer is malformed");
    }
    let checksum = u128::from_le_bytes(t[6..22].try_into().expect("16 bytes"));
    let pos = u64::from_le_bytes(t[22..30].try_into().expect("8 bytes"));
    let toc_len = u64::from_le_bytes(t[30..38].try_into().expect("8 bytes"));
    match pos.checked_add(toc_len) {
        Some(end) if end <= file_len - TRAILER_LEN as u64 => Ok((pos, toc_len, checksum)),
        _ => Err("its table of contents lies outside the file"),
    }
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
    fn damaged_table_tables_of_contents_fail() {
        let dir = fresh_db();
        let db = dir.path().join("db");
        let table = trees(&db)
            .into_iter()
            .filter_map(|t| std::fs::read_dir(t.join("tables")).ok())
            .flat_map(|d| d.flatten().map(|e| e.path()))
            .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .expect("a table file");
        let original = std::fs::read(&table).unwrap();
        // Every byte of the trailer, and the TOC's entry count just after its magic.
        let trailer_start = original.len() - TRAILER_LEN;
        let toc_pos = u64::from_le_bytes(
            original[trailer_start + 22..trailer_start + 30]
                .try_into()
                .unwrap(),
        ) as usize;
        for pos in (trailer_start..original.len()).chain(toc_pos..toc_pos + 8) {
            let mut bytes = original.clone();
            bytes[pos] ^= 0x80;
            std::fs::write(&table, &bytes).unwrap();
            assert!(
                matches!(verify_manifests(&db), Err(Error::Corruption(_))),
                "byte {pos}"
            );
        }
        std::fs::write(&table, &original[..10]).unwrap();
        assert!(matches!(verify_manifests(&db), Err(Error::Corruption(_))));
        std::fs::write(&table, &original).unwrap();
        verify_manifests(&db).unwrap();
        // A leftover of an interrupted flush is not in the manifest: fjall deletes it.
        std::fs::write(table.with_file_name("999999"), b"half a table").unwrap();
        verify_manifests(&db).unwrap();
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
