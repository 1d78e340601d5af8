//! Arbitrary bytes as SQL: parsing, planning and running must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    let conn = heliosdb_lite::Connection::open_in_memory().unwrap();
    let _ = conn.execute_batch("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT); INSERT INTO t VALUES (1, 'x');");
    let _ = conn.execute_batch(sql);
});
