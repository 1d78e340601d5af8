//! The generated audit-style data set, identical in every engine, and how it is loaded.
//!
//! Every value is a pure function of the row id (no random generator state), so any engine,
//! in any order of loading, gets exactly the same rows. Amounts are distinct multiples of 0.25:
//! binary floating point holds them exactly, so `sum(amount)` is the same in every engine
//! whatever order it adds in, and `ORDER BY amount` has no ties.

use super::engines::{self, Db, EngineKind};
use super::Res;
use std::path::Path;

/// Rows of each table for a run of `rows` transactions.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// `customers`: rows / 20.
    pub customers: u64,
    /// `accounts`: rows / 10.
    pub accounts: u64,
    /// `transactions`: rows.
    pub transactions: u64,
    /// `access_log`: rows / 2.
    pub access_log: u64,
}

impl Sizes {
    /// The sizes for `rows` transactions.
    pub fn new(rows: u64) -> Self {
        Sizes {
            customers: (rows / 20).max(1),
            accounts: (rows / 10).max(1),
            transactions: rows,
            access_log: (rows / 2).max(1),
        }
    }
}

/// Tables with no secondary index: the joins below run on unindexed columns on purpose.
const SCHEMA: &str = "
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, region TEXT, segment TEXT);
CREATE TABLE accounts (id INTEGER PRIMARY KEY, customer_id INTEGER, kind TEXT, opened TEXT);
CREATE TABLE transactions (id INTEGER PRIMARY KEY, account_id INTEGER, amount REAL, kind TEXT,
                           ts TEXT, ref_code INTEGER);
CREATE TABLE access_log (id INTEGER PRIMARY KEY, customer_id INTEGER, action TEXT, ts TEXT)";

/// The eight small tables of the 8-way join.
pub const SMALL_TABLES: usize = 8;

/// A prime above the largest supported row count: `id * AMOUNT_MUL % AMOUNT_MOD` is then a
/// permutation of the ids, which makes every amount distinct.
const AMOUNT_MOD: u64 = 1_000_003;
const AMOUNT_MUL: u64 = 48_271;

/// Largest `--rows` the generator supports (amounts stay distinct up to here).
pub const MAX_ROWS: u64 = AMOUNT_MOD - 1;

const REGIONS: [&str; 4] = ["north", "south", "east", "west"];
const SEGMENTS: [&str; 3] = ["retail", "business", "private"];
const ACCOUNT_KINDS: [&str; 4] = ["checking", "savings", "loan", "card"];
const TXN_KINDS: [&str; 4] = ["debit", "credit", "fee", "transfer"];
const ACTIONS: [&str; 5] = ["login", "view", "export", "update", "logout"];

/// splitmix64: a well-mixed pseudo-random value for (id, salt).
fn mix(id: u64, salt: u64) -> u64 {
    let mut z = id
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(salt.wrapping_mul(0xd1b5_4a32_d192_ed03));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `YYYY-MM-DD HH:MM:SS` for a second within `year` (taken as a 365-day year).
fn ts_text(year: u32, second: u64) -> String {
    const DAYS: [u64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut day = (second / 86_400) % 365;
    let mut month = 0;
    while day >= DAYS[month] {
        day -= DAYS[month];
        month += 1;
    }
    let s = second % 86_400;
    format!(
        "{year}-{:02}-{:02} {:02}:{:02}:{:02}",
        month + 1,
        day + 1,
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

fn customer(id: u64, _: &Sizes) -> String {
    format!(
        "({id}, 'customer {id}', '{}', '{}')",
        REGIONS[(mix(id, 1) % 4) as usize],
        SEGMENTS[(mix(id, 2) % 3) as usize]
    )
}

fn account(id: u64, s: &Sizes) -> String {
    // Random owners: about one customer in seven has no account (the LEFT JOIN's NULLs).
    format!(
        "({id}, {}, '{}', '{}')",
        1 + mix(id, 3) % s.customers,
        ACCOUNT_KINDS[(mix(id, 4) % 4) as usize],
        &ts_text(2015, mix(id, 5) % (365 * 86_400))[..10]
    )
}

fn transaction(id: u64, s: &Sizes) -> String {
    let quarters = id * AMOUNT_MUL % AMOUNT_MOD;
    format!(
        "({id}, {}, {}.{:02}, '{}', '{}', {})",
        1 + mix(id, 6) % s.accounts,
        quarters / 4,
        quarters % 4 * 25,
        TXN_KINDS[(mix(id, 7) % 4) as usize],
        ts_text(2024, mix(id, 8) % (365 * 86_400)),
        // About one reference in eleven points past the last account: no match.
        1 + mix(id, 9) % (s.accounts + s.accounts / 10)
    )
}

fn access(id: u64, s: &Sizes) -> String {
    format!(
        "({id}, {}, '{}', '{}')",
        1 + mix(id, 10) % s.customers,
        ACTIONS[(mix(id, 11) % 5) as usize],
        ts_text(2024, mix(id, 12) % (365 * 86_400))
    )
}

/// Inserts rows 1..=n of `table` as multi-row INSERTs, `BATCH` rows per transaction.
fn load_table(
    db: &dyn Db,
    table: &str,
    n: u64,
    s: &Sizes,
    row: fn(u64, &Sizes) -> String,
) -> Res<()> {
    const PER_STATEMENT: u64 = 500;
    const BATCH: u64 = 5_000;
    let mut id = 1;
    while id <= n {
        let end = (id + BATCH - 1).min(n);
        db.exec("BEGIN")?;
        while id <= end {
            let stop = (id + PER_STATEMENT - 1).min(end);
            let values: Vec<String> = (id..=stop).map(|i| row(i, s)).collect();
            db.exec(&format!("INSERT INTO {table} VALUES {}", values.join(", ")))?;
            id = stop + 1;
        }
        db.exec("COMMIT")?;
    }
    Ok(())
}

/// Creates and fills every table.
pub fn load(db: &dyn Db, s: &Sizes) -> Res<()> {
    db.exec(SCHEMA)?;
    load_table(db, "customers", s.customers, s, customer)?;
    load_table(db, "accounts", s.accounts, s, account)?;
    load_table(db, "transactions", s.transactions, s, transaction)?;
    load_table(db, "access_log", s.access_log, s, access)?;
    // Ten rows each; `a` and `b` are permutations of 1..=10, so each join step of the chain
    // matches exactly one row.
    for t in 1..=SMALL_TABLES as u64 {
        let rows: Vec<String> = (1..=10u64)
            .map(|id| {
                let tag = if id % 2 == 0 { "even" } else { "odd" };
                format!(
                    "({id}, {}, {}, '{tag}')",
                    id * 3 % 10 + 1,
                    (id * 7 + t) % 10 + 1
                )
            })
            .collect();
        db.exec(&format!(
            "CREATE TABLE s{t} (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, tag TEXT);
             INSERT INTO s{t} VALUES {}",
            rows.join(", ")
        ))?;
    }
    Ok(())
}

/// The round of changes after the past point, so AS OF reads real history: 10% of the
/// transactions are reversed (amount negated: still distinct), 1% of access_log is deleted.
/// Committed in chunks of 10,000 ids, as an application would.
pub fn update(db: &dyn Db, s: &Sizes) -> Res<()> {
    const CHUNK: u64 = 10_000;
    let mut lo = 1;
    while lo <= s.transactions.max(s.access_log) {
        let hi = lo + CHUNK - 1;
        db.exec("BEGIN")?;
        db.exec(&format!(
            "UPDATE transactions SET amount = -amount WHERE id >= {lo} AND id <= {hi} AND id % 10 = 3"
        ))?;
        db.exec(&format!(
            "DELETE FROM access_log WHERE id >= {lo} AND id <= {hi} AND id % 100 = 7"
        ))?;
        db.exec("COMMIT")?;
        lo = hi + 1;
    }
    Ok(())
}

/// The past point of each engine that has time travel, taken between [`load`] and [`update`].
#[derive(Debug, Clone, Default)]
pub struct PastPoints {
    /// HeliosDB-Lite: `SELECT current_scn()` after the load.
    pub heliosdb_scn: i64,
    /// Stoolap: the last committed transaction id after the load.
    pub stoolap_txn: i64,
}

/// Loads every engine's database under `dir`, takes the past points, and applies the
/// updates. SQLite's pre-update state is copied to `sqlite-past.db`: the reference answer
/// for the AS OF queries.
pub fn prepare(dir: &Path, s: &Sizes) -> Res<PastPoints> {
    let mut points = PastPoints::default();
    for kind in [
        EngineKind::Heliosdb,
        EngineKind::Sqlite,
        EngineKind::Stoolap,
    ] {
        let t = std::time::Instant::now();
        let path = kind.path_in(dir);
        match kind {
            EngineKind::Heliosdb => {
                let mut config = heliosdb_lite::Config::with_path(&path);
                config.database.memory_limit_mb = 64;
                config.database.enable_wal = false;
                let conn = heliosdb_lite::Connection::open(config)?;
                load(&conn, s)?;
                points.heliosdb_scn = conn.query_row("SELECT current_scn()", [], |r| r.get(0))?;
                update(&conn, s)?;
                // Queries then read sorted files, not a replayed journal.
                conn.checkpoint()?;
            }
            EngineKind::Sqlite => {
                {
                    let db = engines::open(kind, &path)?;
                    load(db.as_ref(), s)?;
                } // closing checkpoints the WAL into the file
                std::fs::copy(&path, dir.join("sqlite-past.db"))?;
                update(engines::open(kind, &path)?.as_ref(), s)?;
            }
            EngineKind::Stoolap => {
                let db = stoolap::Database::open(&format!("file://{}", path.display()))?;
                load(&db, s)?;
                let mut tx = db.begin()?;
                points.stoolap_txn = tx.id() - 1;
                tx.rollback()?;
                update(&db, s)?;
                db.close()?;
            }
        }
        eprintln!(
            "loaded {} in {:.1} s",
            kind.arg(),
            t.elapsed().as_secs_f64()
        );
    }
    Ok(points)
}
