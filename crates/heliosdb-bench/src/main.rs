//! `heliosdb-bench`: HeliosDB-Lite against SQLite and Stoolap, the same workloads in one run.
//!
//! Absolute times on shared machines are noise; the ratios between engines measured in the
//! same run are the result. Engines:
//! - `heliosdb`: disk engine, `enable_wal = false` (commits reach the OS, not the platter:
//!   the same durability as SQLite's WAL mode with `synchronous=NORMAL`);
//! - `heliosdb-mem`: the in-memory engine;
//! - `sqlite`: rusqlite (bundled), file database, WAL, `synchronous=NORMAL`;
//! - `sqlite+trigger`: the same plus a trigger-maintained history table (manual versioning);
//! - `stoolap`: file-backed Stoolap, which also has `AS OF`.
//!
//! `--smoke` runs every workload at tiny sizes (CI checks the harness and output format).
//!
//! `heliosdb-bench queries` runs the query-engine benchmark instead (joins, subqueries,
//! GROUP BY, sorts; current and AS OF): see [`queries`]. `heliosdb-bench big-txn` inserts a
//! million rows in one transaction under a 64 MiB budget: see [`big_txn`].
//! `heliosdb-bench write-path` measures bulk loads and batched DML: see [`write_path`].
//! `heliosdb-bench dump-script` loads a 10 MB SQL dump script: see [`dump_script`].
//! `heliosdb-bench server-load` load-tests `heliosdb-lite serve` over the PostgreSQL
//! protocol and HTTP next to PostgreSQL: see [`server_load`] and `scripts/bench-server-load`.

mod big_txn;
mod dump_script;
mod queries;
mod server_load;
mod workloads;
mod write_path;

use clap::{Parser, Subcommand};
use std::time::Duration;

/// Command-line options.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "heliosdb-bench",
    about = "HeliosDB-Lite vs SQLite vs Stoolap, side by side"
)]
pub struct Opts {
    /// Rows in the main table.
    #[arg(long, default_value_t = 20_000)]
    pub rows: usize,
    /// Single-row autocommit operations per engine.
    #[arg(long, default_value_t = 1_000)]
    pub autocommit_ops: usize,
    /// Point selects per measurement.
    #[arg(long, default_value_t = 20_000)]
    pub selects: usize,
    /// Rows of the history table (AS OF workloads).
    #[arg(long, default_value_t = 1_000)]
    pub history_rows: usize,
    /// Commits for the recovery measurement (1000000 for the brief's target).
    #[arg(long, default_value_t = 100_000)]
    pub recovery_commits: usize,
    /// Seconds for the concurrent readers/writer workload.
    #[arg(long, default_value_t = 2.0)]
    pub concurrent_secs: f64,
    /// Tiny sizes: check that every workload runs on every engine.
    #[arg(long)]
    pub smoke: bool,
    /// Write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
    /// Another benchmark than the default workloads.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The benchmarks besides the default workloads.
#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Query-engine benchmark: joins, subqueries, GROUP BY and sorts, current and AS OF.
    Queries(queries::QueryOpts),
    /// Runs one query on a loaded database and reports its time and peak RSS (used by
    /// `queries`, which runs each query in a process of its own).
    #[command(hide = true)]
    QueryOne(queries::child::ChildOpts),
    /// One transaction of a million rows under a small memory budget: time and peak RSS,
    /// against SQLite.
    BigTxn(big_txn::BigTxnOpts),
    /// Bulk loads and batched DML (prepared inserts in one transaction, a literal-INSERT
    /// script, CREATE INDEX, DELETE / UPDATE of 10% and 50%): time and peak RSS against
    /// SQLite.
    WritePath(write_path::WritePathOpts),
    /// A 10 MB SQL dump script (pretty-printed multi-row INSERTs) through `execute_batch`,
    /// against SQLite.
    DumpScript(dump_script::DumpOpts),
    /// Load test of `heliosdb-lite serve` (PostgreSQL protocol and HTTP) next to
    /// PostgreSQL; `scripts/bench-server-load` starts the servers.
    ServerLoad(server_load::ServerLoadOpts),
}

/// One measurement.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// Workload name.
    pub workload: String,
    /// Engine name.
    pub engine: String,
    /// Operations measured.
    pub ops: usize,
    /// Median latency.
    pub median: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// Operations per second (total ops / total time).
    pub throughput: f64,
    /// Free-form value for size / memory / time measurements.
    pub note: String,
}

impl Measurement {
    /// Builds a measurement from per-operation latencies.
    pub fn from_latencies(
        workload: &str,
        engine: &str,
        mut lat: Vec<Duration>,
        total: Duration,
    ) -> Self {
        lat.sort();
        let pick = |q: f64| {
            lat.get(((lat.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or_default()
        };
        Measurement {
            workload: workload.into(),
            engine: engine.into(),
            ops: lat.len(),
            median: pick(0.5),
            p99: pick(0.99),
            throughput: lat.len() as f64 / total.as_secs_f64().max(1e-9),
            note: String::new(),
        }
    }

    /// A measurement that is one value (bytes, milliseconds...).
    pub fn value(workload: &str, engine: &str, note: String) -> Self {
        Measurement {
            workload: workload.into(),
            engine: engine.into(),
            ops: 0,
            median: Duration::ZERO,
            p99: Duration::ZERO,
            throughput: 0.0,
            note,
        }
    }
}

fn us(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e6)
}

pub(crate) fn ratio(a: Duration, b: Duration) -> String {
    if b.is_zero() || a.is_zero() {
        "-".into()
    } else {
        format!("{:.2}x", a.as_secs_f64() / b.as_secs_f64())
    }
}

fn print_markdown(results: &[Measurement]) {
    println!(
        "| workload | engine | ops | median µs | p99 µs | ops/s | vs SQLite | vs Stoolap | note |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---|");
    for m in results {
        let peer = |engine: &str| {
            results
                .iter()
                .find(|x| x.workload == m.workload && x.engine == engine)
                .map(|x| x.median)
                .unwrap_or_default()
        };
        let (vs_sqlite, vs_stoolap) = if m.engine.starts_with("heliosdb") && m.ops > 0 {
            (
                ratio(m.median, peer("sqlite")),
                ratio(m.median, peer("stoolap")),
            )
        } else {
            ("".into(), "".into())
        };
        if m.ops == 0 {
            println!("| {} | {} | | | | | | | {} |", m.workload, m.engine, m.note);
        } else {
            println!(
                "| {} | {} | {} | {} | {} | {:.0} | {} | {} | {} |",
                m.workload,
                m.engine,
                m.ops,
                us(m.median),
                us(m.p99),
                m.throughput,
                vs_sqlite,
                vs_stoolap,
                m.note
            );
        }
    }
}

fn to_json(results: &[Measurement]) -> serde_json::Value {
    serde_json::Value::Array(
        results
            .iter()
            .map(|m| {
                serde_json::json!({
                    "workload": m.workload,
                    "engine": m.engine,
                    "ops": m.ops,
                    "median_us": m.median.as_secs_f64() * 1e6,
                    "p99_us": m.p99.as_secs_f64() * 1e6,
                    "ops_per_sec": m.throughput,
                    "note": m.note,
                })
            })
            .collect(),
    )
}

fn main() {
    let mut opts = Opts::parse();
    match opts.command.take() {
        Some(Command::Queries(q)) => {
            if let Err(e) = queries::main(q) {
                eprintln!("query benchmark failed: {e}");
                std::process::exit(1);
            }
            return;
        }
        Some(Command::QueryOne(c)) => queries::child::main(&c),
        Some(Command::BigTxn(b)) => {
            if let Err(e) = big_txn::main(&b) {
                eprintln!("big-transaction benchmark failed: {e}");
                std::process::exit(1);
            }
            return;
        }
        Some(Command::WritePath(w)) => {
            if let Err(e) = write_path::main(&w) {
                eprintln!("write-path benchmark failed: {e}");
                std::process::exit(1);
            }
            return;
        }
        Some(Command::DumpScript(d)) => {
            if let Err(e) = dump_script::main(&d) {
                eprintln!("dump-script benchmark failed: {e}");
                std::process::exit(1);
            }
            return;
        }
        Some(Command::ServerLoad(s)) => {
            if let Err(e) = server_load::main(&s) {
                eprintln!("server load test failed: {e}");
                std::process::exit(1);
            }
            return;
        }
        None => {}
    }
    if opts.smoke {
        opts.rows = 300;
        opts.autocommit_ops = 20;
        opts.selects = 200;
        opts.history_rows = 20;
        opts.recovery_commits = 500;
        opts.concurrent_secs = 0.2;
    }
    let started = std::time::Instant::now();
    let results = match workloads::run_all(&opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("benchmark failed: {e}");
            std::process::exit(1);
        }
    };
    print_markdown(&results);
    workloads::print_ratios(&results);
    if let Some(path) = &opts.json {
        let text = serde_json::to_string_pretty(&to_json(&results)).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
    }
    eprintln!(
        "benchmark finished in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
