//! The three engines behind one small interface: run SQL text, and run a query while folding
//! every row into a [`Checksum`] (so no engine can skip producing a row, and the parent can
//! check that all engines returned the same answer).

use super::Res;
use std::path::{Path, PathBuf};

/// Which engine a database directory or file belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineKind {
    /// HeliosDB-Lite, disk engine.
    Heliosdb,
    /// SQLite through rusqlite (bundled).
    Sqlite,
    /// Stoolap, file-backed.
    Stoolap,
}

impl EngineKind {
    /// Where this engine's database lives inside the benchmark's data directory.
    pub fn path_in(self, dir: &Path) -> PathBuf {
        match self {
            EngineKind::Heliosdb => dir.join("heliosdb"),
            EngineKind::Sqlite => dir.join("sqlite.db"),
            EngineKind::Stoolap => dir.join("stoolap"),
        }
    }

    /// The name the `query-one` subcommand takes.
    pub fn arg(self) -> &'static str {
        match self {
            EngineKind::Heliosdb => "heliosdb",
            EngineKind::Sqlite => "sqlite",
            EngineKind::Stoolap => "stoolap",
        }
    }
}

/// What the query benchmark needs from an engine.
pub trait Db {
    /// Runs statements that return no rows (DDL, INSERT, UPDATE, BEGIN/COMMIT).
    fn exec(&self, sql: &str) -> Res<()>;
    /// Runs a query, feeding every value of every row to `sum`.
    fn query(&self, sql: &str, sum: &mut Checksum) -> Res<()>;
}

/// Opens the database of `kind` at `path` (creating it if needed).
pub fn open(kind: EngineKind, path: &Path) -> Res<Box<dyn Db>> {
    Ok(match kind {
        EngineKind::Heliosdb => {
            let mut config = heliosdb_lite::Config::with_path(path);
            // The brief's embedded target: a 64 MiB budget for caches and write buffers.
            config.database.memory_limit_mb = 64;
            // Commits reach the OS, not the platter: SQLite's WAL + synchronous=NORMAL.
            config.database.enable_wal = false;
            Box::new(heliosdb_lite::Connection::open(config)?)
        }
        EngineKind::Sqlite => {
            let conn = rusqlite::Connection::open(path)?;
            conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")?;
            Box::new(conn)
        }
        EngineKind::Stoolap => Box::new(stoolap::Database::open(&format!(
            "file://{}",
            path.display()
        ))?),
    })
}

impl Db for heliosdb_lite::Connection {
    fn exec(&self, sql: &str) -> Res<()> {
        Ok(self.execute_batch(sql)?)
    }
    fn query(&self, sql: &str, sum: &mut Checksum) -> Res<()> {
        use heliosdb_lite::types::Value;
        let mut stmt = self.prepare(sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            for v in row.values() {
                match v {
                    Value::Null => sum.null(),
                    Value::Integer(i) => sum.int(*i),
                    Value::Real(f) => sum.real(*f),
                    Value::Text(s) => sum.text(s),
                    Value::Blob(b) => sum.bytes(b),
                    Value::Decimal(d) => sum.text(&d.to_string()),
                    Value::Timestamp(t) => sum.text(&t.format("%Y-%m-%d %H:%M:%S").to_string()),
                }
            }
            sum.end_row();
        }
        Ok(())
    }
}

impl Db for rusqlite::Connection {
    fn exec(&self, sql: &str) -> Res<()> {
        Ok(self.execute_batch(sql)?)
    }
    fn query(&self, sql: &str, sum: &mut Checksum) -> Res<()> {
        use rusqlite::types::ValueRef;
        let mut stmt = self.prepare(sql)?;
        let n = stmt.column_count();
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            for i in 0..n {
                match row.get_ref(i)? {
                    ValueRef::Null => sum.null(),
                    ValueRef::Integer(v) => sum.int(v),
                    ValueRef::Real(f) => sum.real(f),
                    ValueRef::Text(t) => sum.text(&String::from_utf8_lossy(t)),
                    ValueRef::Blob(b) => sum.bytes(b),
                }
            }
            sum.end_row();
        }
        Ok(())
    }
}

impl Db for stoolap::Database {
    fn exec(&self, sql: &str) -> Res<()> {
        // Stoolap runs one statement per call.
        for s in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            self.execute(s, ())?;
        }
        Ok(())
    }
    fn query(&self, sql: &str, sum: &mut Checksum) -> Res<()> {
        use stoolap::Value;
        // Its result cache would turn the 2nd and 3rd runs into lookups (it only serves
        // `SELECT *` today, which no query here is; this keeps it so if that changes).
        self.clear_semantic_cache()?;
        let mut rows = self.query(sql, ())?;
        while rows.advance() {
            let row = rows.current_row();
            for i in 0..row.len() {
                match row.get(i) {
                    None | Some(Value::Null(_)) => sum.null(),
                    Some(Value::Integer(v)) => sum.int(*v),
                    Some(Value::Float(f)) => sum.real(*f),
                    Some(Value::Boolean(b)) => sum.int(i64::from(*b)),
                    Some(Value::Text(s)) => sum.text(s.as_str()),
                    Some(Value::Timestamp(t)) => {
                        sum.text(&t.format("%Y-%m-%d %H:%M:%S").to_string())
                    }
                    Some(v @ Value::Extension(_)) => sum.text(&v.to_string()),
                }
            }
            sum.end_row();
        }
        if let Some(e) = rows.error() {
            return Err(e.into());
        }
        Ok(())
    }
}

/// A result fingerprint that is the same for the same answer in every engine: values are
/// hashed in a canonical form (an integral REAL hashes as the integer, since engines differ
/// in whether `sum()` of whole numbers is REAL), rows are combined in order for queries with
/// ORDER BY and order-independently otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Checksum {
    ordered: bool,
    /// Rows seen.
    pub rows: u64,
    acc: u64,
    row: u64,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Checksum {
    /// An empty checksum; `ordered` when the query's row order is part of its answer.
    pub fn new(ordered: bool) -> Self {
        Checksum {
            ordered,
            rows: 0,
            acc: 0,
            row: FNV_OFFSET,
        }
    }

    fn feed(&mut self, tag: u8, bytes: &[u8]) {
        for b in std::iter::once(&tag).chain(bytes) {
            self.row = (self.row ^ u64::from(*b)).wrapping_mul(FNV_PRIME);
        }
    }

    /// An integer value.
    pub fn int(&mut self, v: i64) {
        self.feed(b'i', &v.to_le_bytes());
    }

    /// A floating-point value.
    pub fn real(&mut self, v: f64) {
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            self.int(v as i64);
        } else {
            self.feed(b'r', &v.to_bits().to_le_bytes());
        }
    }

    /// A text value.
    pub fn text(&mut self, v: &str) {
        self.feed(b't', v.as_bytes());
        self.feed(0xff, &[]);
    }

    /// A blob value.
    pub fn bytes(&mut self, v: &[u8]) {
        self.feed(b'b', v);
        self.feed(0xff, &[]);
    }

    /// A NULL.
    pub fn null(&mut self) {
        self.feed(b'n', &[]);
    }

    /// Ends the current row.
    pub fn end_row(&mut self) {
        // splitmix64's finaliser, so that summing row hashes (unordered) stays well mixed.
        let mut h = self.row;
        h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^= h >> 31;
        self.acc = if self.ordered {
            (self.acc.rotate_left(7) ^ h).wrapping_mul(FNV_PRIME)
        } else {
            self.acc.wrapping_add(h)
        };
        self.rows += 1;
        self.row = FNV_OFFSET;
    }

    /// The fingerprint of the rows seen so far.
    pub fn value(&self) -> u64 {
        self.acc
    }
}
