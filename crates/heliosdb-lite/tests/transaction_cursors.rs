//! Queries inside an explicit transaction hand out their rows through a cursor too: they run
//! to their end when executed (they read the transaction's own writes), keep their first rows
//! in memory and the rest in a temporary file. The rows are the transaction's view at that
//! moment, whatever the connection does next.

use heliosdb_lite::{Connection, Error};

fn ids(rows: &mut heliosdb_lite::Rows) -> Vec<i64> {
    let mut out = Vec::new();
    while let Some(r) = rows.next().unwrap() {
        out.push(r.get(0).unwrap());
    }
    out
}

#[test]
fn a_large_result_inside_a_transaction_is_read_back_whole_and_in_order() {
    for on_disk in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let c = match on_disk {
            true => Connection::open(dir.path().join("db")).unwrap(),
            false => Connection::open_in_memory().unwrap(),
        };
        c.execute_batch(
            "CREATE TABLE t(id INTEGER PRIMARY KEY, pad TEXT);
             INSERT INTO t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
                 WHERE i < 150000) SELECT i, printf('%040d', i) FROM n;",
        )
        .unwrap();
        c.execute_batch(
            "BEGIN; DELETE FROM t WHERE id % 3 = 0; INSERT INTO t VALUES (200000, 'x')",
        )
        .unwrap();
        // Well past the rows kept in memory: most come back from the temporary file.
        let mut stmt = c.prepare("SELECT id, pad FROM t ORDER BY id").unwrap();
        let mut rows = stmt.query([]).unwrap();
        // The connection goes on with the transaction while the cursor is open.
        c.execute_batch("DELETE FROM t WHERE id < 1000; INSERT INTO t VALUES (300000, 'y')")
            .unwrap();
        let mut other = c.prepare("SELECT count(*) FROM t").unwrap();
        let n: i64 = other.query_row([], |r| r.get(0)).unwrap();
        assert_eq!(n, 100_000 - 666 + 2);
        let got = ids(&mut rows);
        let want: Vec<i64> = (1..=150_000)
            .filter(|i| i % 3 != 0)
            .chain([200_000])
            .collect();
        assert_eq!(got.len(), want.len());
        assert!(got == want, "rows differ");
        drop(rows);
        c.execute_batch("ROLLBACK").unwrap();
        let n: i64 = c
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 150_000);
    }
}

#[test]
fn an_error_anywhere_in_the_result_fails_the_query_when_it_runs() {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE t(v INTEGER);
         INSERT INTO t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n
             WHERE i < 200000) SELECT i FROM n;
         INSERT INTO t VALUES (-9223372036854775808);
         BEGIN; INSERT INTO t VALUES (5);",
    )
    .unwrap();
    let mut stmt = c
        .prepare("SELECT abs(v), printf('%050d', v) FROM t")
        .unwrap();
    let e = stmt.query([]).map(|_| ()).unwrap_err();
    assert!(e.to_string().contains("integer overflow"), "{e}");
    assert!(!matches!(e, Error::Transaction(_)));
    // The transaction goes on.
    assert!(c.is_in_transaction());
    let n: i64 = c
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 200_002);
    c.execute_batch("COMMIT").unwrap();
}
