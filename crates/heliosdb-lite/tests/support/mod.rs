//! Helpers shared by the integration tests that compare HeliosDB-Lite with SQLite through
//! one-text queries and look into the private range.

// Each test crate includes this module and uses only some of it.
#![allow(dead_code)]

use heliosdb_lite::Connection;

/// A xorshift generator: deterministic runs, no dependency.
pub struct Rng(pub u64);

impl Rng {
    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The one text value `sql` returns on HeliosDB-Lite ("" for NULL).
pub fn helios_text(conn: &Connection, sql: &str) -> String {
    conn.query_row(sql, [], |r| r.get::<_, Option<String>>(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_default()
}

/// The one text value `sql` returns on SQLite ("" for NULL).
pub fn sqlite_text(conn: &rusqlite::Connection, sql: &str) -> String {
    conn.query_row(sql, [], |r| r.get::<_, Option<String>>(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_default()
}

/// Entries in the private ranges of transactions (none once every transaction ended).
pub fn private_entries(c: &Connection) -> usize {
    c.mvcc()
        .storage()
        .scan(
            heliosdb_lite::storage::prefix_range(&[heliosdb_lite::mvcc::keys::PRIVATE]),
            heliosdb_lite::storage::Direction::Forward,
        )
        .count()
}
