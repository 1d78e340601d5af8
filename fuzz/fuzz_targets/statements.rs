//! Statement sequences with time-travel clauses at random points: results or errors, never
//! panics, and the integrity check holds afterwards.
#![no_main]
use libfuzzer_sys::fuzz_target;

const STMTS: &[&str] = &[
    "INSERT INTO t (b) VALUES ('v')",
    "UPDATE t SET b = b || 'x' WHERE a % 2 = 0",
    "DELETE FROM t WHERE a = (SELECT max(a) FROM t)",
    "SELECT count(*) FROM t AS OF SCN {n}",
    "SELECT * FROM t AS OF TRANSACTION {n} WHERE a = {n}",
    "SELECT * FROM t BEFORE TRANSACTION {n}",
    "SELECT sum(a) FROM t AS OF TIMESTAMP '2024-01-0{n} 00:00:00'",
    "CREATE INDEX IF NOT EXISTS ib ON t(b)",
    "DROP INDEX IF EXISTS ib",
    "ALTER TABLE t ADD COLUMN c{n} INTEGER DEFAULT {n}",
    "VACUUM HISTORY",
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SELECT * FROM helios_snapshots",
];

fuzz_target!(|data: &[u8]| {
    let conn = heliosdb_lite::Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)").unwrap();
    for pair in data.chunks(2) {
        let s = STMTS[pair[0] as usize % STMTS.len()];
        let n = pair.get(1).copied().unwrap_or(0) % 12;
        let _ = conn.execute_batch(&s.replace("{n}", &n.to_string()));
    }
    let _ = conn.execute_batch("ROLLBACK");
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
});
