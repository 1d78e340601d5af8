//! Hostile and malformed input: every case gets a clear error (or a correct answer) and the
//! database stays usable. Nothing here may panic or hang.

use heliosdb_lite::types::Value;
use heliosdb_lite::{Connection, Error};

fn db() -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, b BLOB); INSERT INTO t VALUES (1, 'a', x'00ff');")
        .unwrap();
    c
}

fn still_usable(c: &Connection) {
    let n: i64 = c
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert!(n >= 1);
    c.execute("INSERT INTO t (s) VALUES ('ok')", []).unwrap();
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let c = db();
    for depth in [500usize, 5_000, 50_000] {
        let expr = format!("SELECT {}1{}", "(".repeat(depth), ")".repeat(depth));
        assert!(c.prepare(&expr).is_err(), "depth {depth}");
        let sub = format!("SELECT {}1{}", "(SELECT ".repeat(depth), ")".repeat(depth));
        assert!(c.prepare(&sub).is_err(), "subquery depth {depth}");
        let neg = format!("SELECT {}1", "-".repeat(depth));
        let _ = c.prepare(&neg).and_then(|mut s| s.query([]).map(|_| ()));
        let nots = format!("SELECT {}1", "NOT ".repeat(depth));
        let _ = c.prepare(&nots).and_then(|mut s| s.query([]).map(|_| ()));
    }
    still_usable(&c);
}

#[test]
fn huge_values_and_long_lists() {
    let c = db();
    let big = "x".repeat(8 << 20);
    c.execute("INSERT INTO t (s) VALUES (?)", [&big]).unwrap();
    let len: i64 = c
        .query_row("SELECT length(s) FROM t WHERE length(s) > 100", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(len, 8 << 20);
    let blob = vec![0xABu8; 4 << 20];
    c.execute("INSERT INTO t (b) VALUES (?)", [&blob]).unwrap();
    let list: Vec<String> = (0..20_000).map(|i| i.to_string()).collect();
    let n: i64 = c
        .query_row(
            &format!("SELECT count(*) FROM t WHERE id IN ({})", list.join(",")),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(n >= 1);
    let literal = format!("SELECT '{}'", "y".repeat(1 << 20));
    let v: String = c.query_row(&literal, [], |r| r.get(0)).unwrap();
    assert_eq!(v.len(), 1 << 20);
    assert!(c
        .prepare("SELECT 99999999999999999999999999999999999999")
        .is_ok());
    still_usable(&c);
}

#[test]
fn parameters_are_data_never_sql() {
    let c = db();
    for evil in [
        "'; DROP TABLE t; --",
        "1 OR 1=1",
        "x' UNION SELECT sql FROM sqlite_master --",
        "\0\u{1}",
    ] {
        c.execute("INSERT INTO t (s) VALUES (?1)", [evil]).unwrap();
        let back: String = c
            .query_row("SELECT s FROM t WHERE s = ?1", [evil], |r| r.get(0))
            .unwrap();
        assert_eq!(back, evil);
    }
    let n: i64 = c
        .query_row("SELECT count(*) FROM t WHERE id = ?", ["1 OR 1=1"], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(n, 0);
    // Bytes that are not UTF-8 travel as blobs, unchanged.
    let bytes = vec![0xC3u8, 0x28, 0xFF, 0x00];
    c.execute("INSERT INTO t (b) VALUES (?)", [&bytes]).unwrap();
    let back: Vec<u8> = c
        .query_row("SELECT b FROM t WHERE b = ?", [&bytes], |r| r.get(0))
        .unwrap();
    assert_eq!(back, bytes);
    still_usable(&c);
}

#[test]
fn wrong_parameters_and_types_are_clear_errors() {
    let c = db();
    assert!(matches!(
        c.execute("INSERT INTO t (s) VALUES (?)", []),
        Err(Error::Parameter(_))
    ));
    assert!(matches!(
        c.execute("INSERT INTO t (s) VALUES (?)", ["a", "b"]),
        Err(Error::Parameter(_))
    ));
    assert!(matches!(
        c.execute("SELECT ?99999", []),
        Err(Error::Parameter(_))
    ));
    let e = c
        .execute("INSERT INTO t (id) VALUES ('not a number')", [])
        .unwrap_err();
    assert!(matches!(e, Error::TypeMismatch(_)), "{e}");
    let e = c
        .query_row("SELECT s FROM t WHERE id = 1", [], |r| r.get::<_, i64>(0))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidColumnType { .. }), "{e}");
    let e = c
        .query_row("SELECT s FROM t WHERE id = 1", [], |r| {
            r.get::<_, String>(5)
        })
        .unwrap_err();
    assert!(matches!(e, Error::InvalidColumnIndex(5)), "{e}");
    let e = c
        .query_row("SELECT s FROM t WHERE id = 1", [], |r| {
            r.get::<_, String>("nope")
        })
        .unwrap_err();
    assert!(matches!(e, Error::InvalidColumnName(_)), "{e}");
    assert!(matches!(
        c.execute("SELEKT 1", []),
        Err(Error::Syntax { .. })
    ));
    assert!(matches!(c.execute("", []), Err(Error::Invalid(_))));
    assert!(c.execute("SELECT 'unterminated", []).is_err());
    assert!(c.execute("SELECT * FROM t AS OF SCN 1e400", []).is_err());
    assert!(c
        .execute("SELECT * FROM t AS OF TIMESTAMP x'00'", [])
        .is_err());
    assert!(c
        .execute("SELECT * FROM t AS OF TRANSACTION NULL", [])
        .is_err());
    assert!(c
        .execute("SELECT * FROM t AS OF SCN 18446744073709551615", [])
        .is_err());
    still_usable(&c);
}

#[test]
fn arithmetic_edge_cases_do_not_panic() {
    let c = db();
    for sql in [
        "SELECT -9223372036854775808 / -1",
        "SELECT -9223372036854775808 % -1",
        "SELECT abs(-9223372036854775808)",
        "SELECT 1 << 200, 1 >> -200, -1 >> 70",
        "SELECT 9223372036854775807 + 1, -9223372036854775808 - 1, 9223372036854775807 * 2",
        "SELECT substr('abc', -9223372036854775808, 9223372036854775807)",
        "SELECT printf('%999999999d', 1)",
        "SELECT zeroblob(-5), round(1.5, 999), round(1e308 * 10)",
        "SELECT CAST('9e999' AS REAL), CAST(1e300 * 1e300 AS INTEGER)",
        "SELECT date('9999-12-31', '+1000000 years'), datetime(1e300, 'unixepoch')",
        "SELECT strftime('%', 'now'), char(-1, 1114112)",
    ] {
        match c
            .prepare(sql)
            .and_then(|mut s| s.query([]).and_then(|r| r.into_values()))
        {
            Ok(rows) => assert!(!rows.is_empty(), "{sql}"),
            Err(e) => assert!(!e.to_string().is_empty(), "{sql}"),
        }
    }
    let v: Value = c.query_row("SELECT 7 / 0", [], |r| r.get(0)).unwrap();
    assert_eq!(v, Value::Null);
    still_usable(&c);
}

/// Found by the `open_corrupted` fuzz target: fjall asserts (panics) while recovering a tree
/// whose manifest names an impossible level count. Opening must report damaged files instead.
#[test]
fn damaged_tree_manifests_are_corruption_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let build = || {
        let _ = std::fs::remove_dir_all(&path);
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT); INSERT INTO t VALUES (1, 'x')",
        )
        .unwrap();
    };
    build();
    let trees: Vec<std::path::PathBuf> = std::fs::read_dir(path.join("keyspaces"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into())
        .collect();
    assert!(!trees.is_empty(), "no trees found");
    // The manifest a tree's `current` file names (fjall may write a newer one on any run).
    let manifest = |tree: &std::path::Path| {
        let dir = path.join("keyspaces").join(tree);
        let current = std::fs::read(dir.join("current")).unwrap();
        dir.join(format!(
            "v{}",
            u64::from_le_bytes(current[..8].try_into().unwrap())
        ))
    };
    let mut corruption_errors = 0;
    for tree in &trees {
        // The level count is a byte holding 7; try every such byte, on a fresh build each time.
        let mut from = 0;
        loop {
            build();
            let m = manifest(tree);
            let mut bytes = std::fs::read(&m).unwrap();
            let Some(pos) = (from..bytes.len()).find(|&i| bytes[i] == 7) else {
                break;
            };
            from = pos + 1;
            bytes[pos] = 234;
            std::fs::write(&m, &bytes).unwrap();
            match Connection::open(&path) {
                Ok(c) => {
                    let _ = c.execute_batch("SELECT * FROM t");
                }
                Err(Error::Corruption(msg)) => {
                    assert!(msg.contains("checksum"), "{msg}");
                    corruption_errors += 1;
                }
                Err(_) => {}
            }
        }
    }
    assert!(
        corruption_errors > 0,
        "no damaged manifest was reported as corruption"
    );
}

/// Found by the `open_corrupted` fuzz target: a table file whose table of contents claims
/// billions of entries made fjall try to allocate them (the process aborted). Opening must
/// report damaged files instead.
#[test]
fn damaged_table_files_are_corruption_errors_not_aborts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT); INSERT INTO t VALUES (1, 'x')",
        )
        .unwrap();
    }
    let mut damaged = 0;
    for tree in std::fs::read_dir(path.join("keyspaces")).unwrap().flatten() {
        for table in std::fs::read_dir(tree.path().join("tables"))
            .unwrap()
            .flatten()
        {
            let p = table.path();
            let original = std::fs::read(&p).unwrap();
            // The trailer's last 16 bytes hold the TOC position; the TOC starts with
            // "TOC!" and a 4-byte entry count.
            let t = original.len() - 38;
            let toc = u64::from_le_bytes(original[t + 22..t + 30].try_into().unwrap()) as usize;
            let mut bytes = original.clone();
            bytes[toc + 4..toc + 8].copy_from_slice(&u32::MAX.to_le_bytes());
            std::fs::write(&p, &bytes).unwrap();
            match Connection::open(&path) {
                Err(Error::Corruption(msg)) => {
                    assert!(msg.contains("table of contents"), "{msg}");
                    damaged += 1;
                }
                Err(other) => panic!("unexpected error: {other}"),
                // A leftover file fjall no longer uses (it deletes those) is not read.
                Ok(c) => drop(c),
            }
            std::fs::write(&p, &original).unwrap();
        }
    }
    assert!(damaged > 0);
    Connection::open(&path).unwrap();
}
