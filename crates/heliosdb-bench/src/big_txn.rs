//! `heliosdb-bench big-txn`: one transaction inserting many rows (1M by default) under a small
//! memory budget, on HeliosDB-Lite and on SQLite, each engine in a child process of its own
//! so that each peak RSS (`VmHWM`) is that engine's alone.
//!
//! HeliosDB-Lite runs with `memory_limit_mb` (64 by default) and `enable_wal = false`
//! (SQLite's WAL with `synchronous=NORMAL` is the same durability); its write set spills to
//! storage past an eighth of the budget. SQLite gets its default cache.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

type Res<T> = Result<T, Box<dyn Error>>;

/// Options of `big-txn`.
#[derive(clap::Args, Debug, Clone)]
pub struct BigTxnOpts {
    /// Rows inserted in the one transaction.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: usize,
    /// HeliosDB-Lite's `memory_limit_mb`.
    #[arg(long, default_value_t = 64)]
    pub memory_limit_mb: u64,
    /// Run this engine here (the parent runs each engine as a child).
    #[arg(long, hide = true)]
    pub engine: Option<String>,
    /// Database path of the child.
    #[arg(long, hide = true)]
    pub path: Option<PathBuf>,
}

/// Runs the benchmark (or, with `--engine`, one engine of it) and prints a table.
pub fn main(o: &BigTxnOpts) -> Res<()> {
    if let (Some(engine), Some(path)) = (&o.engine, &o.path) {
        let (secs, kib) = child(engine, path, o)?;
        println!("result {secs} {kib}");
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    println!("| engine | rows in one transaction | seconds | peak RSS MiB | vs SQLite (time) |");
    println!("|---|---|---|---|---|");
    let mut sqlite_secs = None;
    for engine in ["sqlite", "heliosdb"] {
        let out = Command::new(std::env::current_exe()?)
            .arg("big-txn")
            .args(["--rows", &o.rows.to_string()])
            .args(["--memory-limit-mb", &o.memory_limit_mb.to_string()])
            .args(["--engine", engine])
            .arg("--path")
            .arg(dir.path().join(engine))
            .output()?;
        let Some((secs, kib)) = child_result(&out.stdout) else {
            return Err(
                format!("{engine} failed: {}", String::from_utf8_lossy(&out.stderr)).into(),
            );
        };
        if engine == "sqlite" {
            sqlite_secs = Some(secs);
        }
        let ratio = sqlite_secs.map_or(String::new(), |s| format!("{:.2}x", secs / s));
        let name = if engine == "heliosdb" {
            format!("heliosdb (memory_limit_mb = {})", o.memory_limit_mb)
        } else {
            engine.to_string()
        };
        println!(
            "| {name} | {} | {secs:.2} | {:.1} | {ratio} |",
            o.rows,
            kib as f64 / 1024.0
        );
    }
    Ok(())
}

/// Inserts the rows in one transaction; returns seconds (commit included) and peak RSS.
fn child(engine: &str, path: &Path, o: &BigTxnOpts) -> Res<(f64, u64)> {
    let started;
    match engine {
        "heliosdb" => {
            let mut c = heliosdb_lite::Config::with_path(path);
            c.database.memory_limit_mb = o.memory_limit_mb;
            c.database.enable_wal = false;
            let conn = heliosdb_lite::Connection::open(c)?;
            conn.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)")?;
            started = Instant::now();
            conn.execute_batch("BEGIN")?;
            {
                let mut stmt = conn.prepare("INSERT INTO t VALUES (?1, ?2, ?3)")?;
                for i in 0..o.rows as i64 {
                    stmt.execute(heliosdb_lite::params![
                        i,
                        i * 7 % 1000,
                        format!("value {i}")
                    ])?;
                }
            }
            conn.execute_batch("COMMIT")?;
            let n: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
            if n != o.rows as i64 {
                return Err(format!("{n} rows after the commit").into());
            }
        }
        "sqlite" => {
            let conn = rusqlite::Connection::open(path)?;
            conn.execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
                 CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)",
            )?;
            started = Instant::now();
            conn.execute_batch("BEGIN")?;
            {
                let mut stmt = conn.prepare("INSERT INTO t VALUES (?1, ?2, ?3)")?;
                for i in 0..o.rows as i64 {
                    stmt.execute(rusqlite::params![i, i * 7 % 1000, format!("value {i}")])?;
                }
            }
            conn.execute_batch("COMMIT")?;
        }
        other => return Err(format!("unknown engine {other}").into()),
    }
    let secs = started.elapsed().as_secs_f64();
    Ok((secs, peak_rss_kib().unwrap_or(0)))
}

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// The `result SECONDS PEAK_KIB` line a measuring child process prints (`big-txn`,
/// `write-path`), if it printed one.
pub(crate) fn child_result(stdout: &[u8]) -> Option<(f64, u64)> {
    String::from_utf8_lossy(stdout).lines().find_map(|l| {
        let mut p = l.strip_prefix("result ")?.split_whitespace();
        Some((
            p.next()?.parse::<f64>().ok()?,
            p.next()?.parse::<u64>().ok()?,
        ))
    })
}
