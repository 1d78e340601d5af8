//! `heliosdb-bench dump-script`: a SQL dump script (CREATE TABLE, then many pretty-printed
//! multi-row INSERTs in one transaction, about 10 MB) run through `execute_batch` by
//! HeliosDB-Lite and by SQLite (rusqlite, bundled) in the same run. It measures what loading
//! a dump costs: tokenizing, splitting and parsing a large script as much as inserting.

use std::error::Error;
use std::fmt::Write as _;
use std::time::Instant;

type Res<T> = Result<T, Box<dyn Error>>;

/// Options of `dump-script`.
#[derive(clap::Args, Debug, Clone)]
pub struct DumpOpts {
    /// Approximate size of the script in MB.
    #[arg(long, default_value_t = 10)]
    pub megabytes: usize,
    /// Rows per INSERT statement.
    #[arg(long, default_value_t = 100)]
    pub rows_per_insert: usize,
}

/// The script: a table, and INSERTs of `rows_per_insert` rows, one row per line, indented,
/// until the script is `megabytes` long. Returns the script and its row count.
pub fn script(megabytes: usize, rows_per_insert: usize) -> (String, usize) {
    let target = megabytes * 1_000_000;
    let mut s = String::with_capacity(target + 4096);
    s.push_str(
        "-- dump\nCREATE TABLE item (\n    id INTEGER PRIMARY KEY,\n    name TEXT NOT NULL,\n    \
         price REAL,\n    qty INTEGER,\n    note TEXT\n);\n\nBEGIN;\n",
    );
    let mut id = 0usize;
    while s.len() < target {
        s.push_str("INSERT INTO item (id, name, price, qty, note)\nVALUES\n");
        for r in 0..rows_per_insert.max(1) {
            id += 1;
            let sep = if r + 1 == rows_per_insert.max(1) {
                ";"
            } else {
                ","
            };
            let _ = writeln!(
                s,
                "    ({id},\n     'item number {id}',\n     {}.{:02},\n     {},\n     \
                 'a note about it, with some words')\n    {sep}",
                id % 1000,
                id % 100,
                id % 37
            );
        }
        s.push('\n');
    }
    s.push_str("COMMIT;\n");
    (s, id)
}

/// Runs the benchmark and prints a table.
pub fn main(o: &DumpOpts) -> Res<()> {
    let (sql, rows) = script(o.megabytes, o.rows_per_insert);
    let dir = tempfile::tempdir()?;
    println!("| engine | script MB | rows | seconds | vs SQLite |");
    println!("|---|---|---|---|---|");
    let mb = sql.len() as f64 / 1e6;

    let sqlite = rusqlite::Connection::open(dir.path().join("dump.sqlite"))?;
    sqlite.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")?;
    let t = Instant::now();
    sqlite.execute_batch(&sql)?;
    let sqlite_secs = t.elapsed().as_secs_f64();
    let n: i64 = sqlite.query_row("SELECT count(*) FROM item", [], |r| r.get(0))?;
    if n as usize != rows {
        return Err(format!("sqlite loaded {n} rows of {rows}").into());
    }
    println!("| sqlite | {mb:.1} | {rows} | {sqlite_secs:.2} | 1.00x |");

    let mut config = heliosdb_lite::Config::with_path(dir.path().join("dump.helios"));
    config.database.enable_wal = false;
    let helios = heliosdb_lite::Connection::open(config)?;
    let t = Instant::now();
    helios.execute_batch(&sql)?;
    let secs = t.elapsed().as_secs_f64();
    let n: i64 = helios.query_row("SELECT count(*) FROM item", [], |r| r.get(0))?;
    if n as usize != rows {
        return Err(format!("heliosdb loaded {n} rows of {rows}").into());
    }
    println!(
        "| heliosdb | {mb:.1} | {rows} | {secs:.2} | {:.2}x |",
        secs / sqlite_secs
    );
    Ok(())
}
