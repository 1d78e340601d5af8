//! Mutated database files: opening and reading must give an error, never a panic, hang or
//! huge allocation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// A small database, built once; each input flips bytes of one of its files.
fn template() -> &'static (tempfile::TempDir, Vec<(std::path::PathBuf, Vec<u8>)>) {
    static T: OnceLock<(tempfile::TempDir, Vec<(std::path::PathBuf, Vec<u8>)>)> = OnceLock::new();
    T.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let conn = heliosdb_lite::Connection::open(&path).unwrap();
            conn.execute_batch(
                "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT); CREATE INDEX tb ON t(b);
                 INSERT INTO t VALUES (1, 'one'), (2, 'two'); UPDATE t SET b = 'uno' WHERE a = 1;",
            )
            .unwrap();
            conn.checkpoint().unwrap();
        }
        let mut files = Vec::new();
        let mut stack = vec![path.clone()];
        while let Some(p) = stack.pop() {
            for e in std::fs::read_dir(&p).unwrap().flatten() {
                let ep = e.path();
                if ep.is_dir() {
                    stack.push(ep);
                } else {
                    let bytes = std::fs::read(&ep).unwrap();
                    if !bytes.is_empty() && bytes.len() < 1 << 20 {
                        files.push((ep.strip_prefix(&path).unwrap().to_path_buf(), bytes));
                    }
                }
            }
        }
        (dir, files)
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (tdir, files) = template();
    let src = tdir.path().join("db");
    let work = tempfile::tempdir().unwrap();
    let dst = work.path().join("db");
    // Copy the template, then corrupt one file at the positions the input names.
    let mut stack = vec![(src.clone(), dst.clone())];
    while let Some((s, d)) = stack.pop() {
        std::fs::create_dir_all(&d).unwrap();
        for e in std::fs::read_dir(&s).unwrap().flatten() {
            let (sp, dp) = (e.path(), d.join(e.file_name()));
            if sp.is_dir() {
                stack.push((sp, dp));
            } else {
                std::fs::copy(&sp, &dp).unwrap();
            }
        }
    }
    let (rel, bytes) = &files[data[0] as usize % files.len()];
    let mut bytes = bytes.clone();
    for chunk in data[1..].chunks(3) {
        if chunk.len() == 3 {
            let pos = (u16::from_le_bytes([chunk[0], chunk[1]]) as usize) % bytes.len();
            bytes[pos] ^= chunk[2] | 1;
        }
    }
    std::fs::write(dst.join(rel), &bytes).unwrap();
    if let Ok(conn) = heliosdb_lite::Connection::open(&dst) {
        let _ = conn.execute_batch("SELECT * FROM t; SELECT * FROM t AS OF SCN 2; PRAGMA integrity_check;");
    }
});
