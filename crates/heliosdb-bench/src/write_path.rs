//! `heliosdb-bench write-path`: bulk loads and batched DML against SQLite, each workload and
//! engine in a child process of its own so that each peak RSS (`VmHWM`, reset after the
//! untimed setup) is that operation's (over what the setup left resident).
//!
//! Workloads (`--rows` sizes the table, 100,000 by default):
//! - `csv-import`: the shell's `.import` of a `--rows`-row CSV file (id, two text fields, a
//!   real; written untimed) into a new table, run as a user runs it: `heliosdb-lite` (built
//!   next to this benchmark) against `sqlite3 .import --csv` from the PATH; the peak RSS is
//!   the shell process's;
//! - `insert-txn`: a prepared `INSERT INTO t VALUES (?, ?, ?)` executed `--rows` times in one
//!   transaction (the per-statement cost of the write path);
//! - `literal-script`: one script of `--rows` literal INSERT statements inside BEGIN / COMMIT;
//! - `create-index`: CREATE INDEX on a loaded table of `--rows` rows;
//! - `insert-select`: `INSERT INTO t2 SELECT * FROM t` from a loaded table into an empty one
//!   of the same shape (SQLite copies such a table without decoding its rows, its "transfer
//!   optimization": what its users get);
//! - `delete-10`, `delete-50`, `update-10`, `update-50`: one statement deleting or updating
//!   10% or 50% of a loaded table's rows;
//! - `delete-50-txn`, `update-50-txn`: the same statement between BEGIN and COMMIT, as
//!   drivers that open a transaction before each change (Python's `sqlite3` module) run it:
//!   the transaction keeps an undo log, so a failed statement can be rolled back alone.
//!
//! HeliosDB-Lite runs on disk with `enable_wal = false` (SQLite: WAL, `synchronous=NORMAL`,
//! the same durability) and its default memory budget unless `--memory-limit-mb` is given.
//!
//! `--runs N` runs every workload N times on each engine, alternating the engines (ABBA), and
//! reports the median time (the upper one of an even count; with the range) and the largest
//! peak RSS: on a shared two-core machine one run of a workload moves by 10-30% from run to
//! run, more than most changes one would measure with it.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

type Res<T> = Result<T, Box<dyn Error>>;

/// Every workload, in the order they run.
const WORKLOADS: &[&str] = &[
    "csv-import",
    "insert-txn",
    "literal-script",
    "create-index",
    "insert-select",
    "delete-10",
    "delete-50",
    "update-10",
    "update-50",
    "delete-50-txn",
    "update-50-txn",
];

/// Options of `write-path`.
#[derive(clap::Args, Debug, Clone)]
pub struct WritePathOpts {
    /// Rows of the table each workload works on.
    #[arg(long, default_value_t = 100_000)]
    pub rows: usize,
    /// HeliosDB-Lite's `memory_limit_mb` (its default when absent).
    #[arg(long)]
    pub memory_limit_mb: Option<u64>,
    /// Run only these workloads (comma-separated; all when absent).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Runs of each workload on each engine (alternating); the table gives the medians.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=99))]
    pub runs: u32,
    /// Run this workload here (the parent runs each one as a child).
    #[arg(long, hide = true)]
    pub workload: Option<String>,
    /// Run this engine here.
    #[arg(long, hide = true)]
    pub engine: Option<String>,
    /// Database path of the child.
    #[arg(long, hide = true)]
    pub path: Option<PathBuf>,
}

/// Runs the benchmark (or, in a child, one workload on one engine) and prints a table.
pub fn main(o: &WritePathOpts) -> Res<()> {
    if let (Some(workload), Some(engine), Some(path)) = (&o.workload, &o.engine, &o.path) {
        let (secs, kib) = child(workload, engine, path, o)?;
        println!("result {secs} {kib}");
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    println!(
        "| workload | rows | engine | seconds (median of {}) | range | peak RSS MiB (largest) | vs SQLite (time) |",
        o.runs
    );
    println!("|---|---:|---|---:|---:|---:|---:|");
    for workload in WORKLOADS {
        if !o.only.is_empty() && !o.only.iter().any(|w| w == workload) {
            continue;
        }
        let engines = ["sqlite", "heliosdb"];
        let mut results: [Vec<(f64, u64)>; 2] = [Vec::new(), Vec::new()];
        for run in 0..o.runs {
            // ABBA: an effect of the order (a warmer page cache, a compaction the other
            // engine's run left behind) does not always favour the same engine.
            let mut order: Vec<_> = engines.iter().zip(results.iter_mut()).collect();
            if run % 2 == 1 {
                order.reverse();
            }
            for (engine, result) in order {
                result.push(run_child(
                    workload,
                    engine,
                    &dir.path().join(format!("{workload}-{engine}")),
                    o,
                )?);
            }
        }
        let sqlite_median = median(&results[0]);
        for (engine, result) in engines.iter().zip(&results) {
            let secs = median(result);
            let (lo, hi) = result
                .iter()
                .fold((f64::MAX, 0f64), |(lo, hi), &(s, _)| (lo.min(s), hi.max(s)));
            let kib = result.iter().map(|&(_, k)| k).max().unwrap_or(0);
            let ratio = match *engine {
                "heliosdb" => format!("{:.2}x", secs / sqlite_median),
                _ => String::new(),
            };
            println!(
                "| {workload} | {} | {engine} | {secs:.3} | {lo:.3}-{hi:.3} | {:.1} | {ratio} |",
                o.rows,
                kib as f64 / 1024.0
            );
        }
    }
    Ok(())
}

/// The median of the runs' seconds (the upper one of an even count).
fn median(runs: &[(f64, u64)]) -> f64 {
    let mut secs: Vec<f64> = runs.iter().map(|&(s, _)| s).collect();
    secs.sort_by(f64::total_cmp);
    secs.get(secs.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Runs one workload on one engine in a child process; returns its seconds and peak RSS (KiB).
fn run_child(workload: &str, engine: &str, path: &Path, o: &WritePathOpts) -> Res<(f64, u64)> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("write-path")
        .args(["--rows", &o.rows.to_string()])
        .args(["--workload", workload, "--engine", engine])
        .arg("--path")
        .arg(path);
    if let Some(m) = o.memory_limit_mb {
        cmd.args(["--memory-limit-mb", &m.to_string()]);
    }
    let out = cmd.output()?;
    let _ = std::fs::remove_dir_all(path);
    let _ = std::fs::remove_file(path);
    // `csv-import` writes its CSV file and its configuration beside the database.
    for extension in ["csv", "toml"] {
        let _ = std::fs::remove_file(path.with_extension(extension));
    }
    crate::big_txn::child_result(&out.stdout).ok_or_else(|| {
        format!(
            "{workload} on {engine} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into()
    })
}

/// The two engines behind one small interface: a batch of SQL and a prepared insert loop.
enum Db {
    /// Boxed: a connection is large beside rusqlite's handle.
    Helios(Box<heliosdb_lite::Connection>),
    Sqlite(rusqlite::Connection),
}

impl Db {
    fn open(engine: &str, path: &Path, o: &WritePathOpts) -> Res<Db> {
        Ok(match engine {
            "heliosdb" => {
                let mut c = heliosdb_lite::Config::with_path(path);
                if let Some(m) = o.memory_limit_mb {
                    c.database.memory_limit_mb = m;
                }
                c.database.enable_wal = false;
                Db::Helios(Box::new(heliosdb_lite::Connection::open(c)?))
            }
            "sqlite" => {
                let conn = rusqlite::Connection::open(path)?;
                conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL")?;
                Db::Sqlite(conn)
            }
            other => return Err(format!("unknown engine {other}").into()),
        })
    }

    fn batch(&self, sql: &str) -> Res<()> {
        match self {
            Db::Helios(c) => c.execute_batch(sql)?,
            Db::Sqlite(c) => c.execute_batch(sql)?,
        }
        Ok(())
    }

    fn count(&self, sql: &str) -> Res<i64> {
        Ok(match self {
            Db::Helios(c) => c.query_row(sql, [], |r| r.get(0))?,
            Db::Sqlite(c) => c.query_row(sql, [], |r| r.get(0))?,
        })
    }

    /// Inserts rows `0..n` of the benchmark table in one transaction with a prepared
    /// statement.
    fn insert_rows(&self, n: usize) -> Res<()> {
        self.batch("BEGIN")?;
        match self {
            Db::Helios(c) => {
                let mut stmt = c.prepare("INSERT INTO t VALUES (?1, ?2, ?3)")?;
                for i in 0..n as i64 {
                    stmt.execute((i, key_of(i), i * 3))?;
                }
            }
            Db::Sqlite(c) => {
                let mut stmt = c.prepare("INSERT INTO t VALUES (?1, ?2, ?3)")?;
                for i in 0..n as i64 {
                    stmt.execute((i, key_of(i), i * 3))?;
                }
            }
        }
        self.batch("COMMIT")
    }
}

/// A key column whose values are spread over the table (an index on it is not in row order).
fn key_of(i: i64) -> i64 {
    i.wrapping_mul(2_654_435_761) % 1_000_003
}

const TABLE: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, v INTEGER)";

/// Sets up, runs one workload and checks its effect; returns seconds and peak RSS (KiB)
/// since the setup.
fn child(workload: &str, engine: &str, path: &Path, o: &WritePathOpts) -> Res<(f64, u64)> {
    if workload == "csv-import" {
        return csv_import(engine, path, o);
    }
    let db = Db::open(engine, path, o)?;
    db.batch(TABLE)?;
    let n = o.rows;
    let loaded = workload != "insert-txn" && workload != "literal-script";
    if loaded {
        db.insert_rows(n)?;
    }
    if workload == "insert-select" {
        db.batch(&TABLE.replace("TABLE t ", "TABLE t2 "))?;
    }
    let script = (workload == "literal-script").then(|| {
        let mut s = String::from("BEGIN;\n");
        for i in 0..n as i64 {
            s.push_str(&format!(
                "INSERT INTO t VALUES ({i}, {}, {});\n",
                key_of(i),
                i * 3
            ));
        }
        s.push_str("COMMIT;\n");
        s
    });
    reset_peak_rss();
    let started = Instant::now();
    let n = n as i64;
    let (check, expect) = match workload {
        "insert-txn" => {
            db.insert_rows(n as usize)?;
            ("SELECT count(*) FROM t", n)
        }
        "literal-script" => {
            let script = script.as_deref().unwrap_or_default();
            match &db {
                Db::Helios(c) => c.execute_batch(script)?,
                // rusqlite's `execute_batch` copies the rest of the script for every
                // statement (quadratic: 47 s for 100,000 lines); the script has one statement
                // a line, which SQLite gets one by one, as its shell reads them.
                Db::Sqlite(c) => {
                    for line in script.lines() {
                        c.execute_batch(line)?;
                    }
                }
            }
            ("SELECT count(*) FROM t", n)
        }
        "create-index" => {
            db.batch("CREATE INDEX t_k ON t(k)")?;
            ("SELECT count(*) FROM t WHERE k >= 0", n)
        }
        "insert-select" => {
            db.batch("INSERT INTO t2 SELECT * FROM t")?;
            ("SELECT count(*) FROM t2", n)
        }
        "delete-10" => {
            db.batch("DELETE FROM t WHERE id % 10 = 0")?;
            ("SELECT count(*) FROM t", n - (n + 9) / 10)
        }
        "delete-50" => {
            db.batch("DELETE FROM t WHERE id % 2 = 0")?;
            ("SELECT count(*) FROM t", n - (n + 1) / 2)
        }
        "update-10" => {
            db.batch("UPDATE t SET v = v + 1 WHERE id % 10 = 0")?;
            ("SELECT count(*) FROM t WHERE v % 3 = 1", (n + 9) / 10)
        }
        "update-50" => {
            db.batch("UPDATE t SET v = v + 1 WHERE id % 2 = 0")?;
            ("SELECT count(*) FROM t WHERE v % 3 = 1", (n + 1) / 2)
        }
        "delete-50-txn" => {
            db.batch("BEGIN; DELETE FROM t WHERE id % 2 = 0; COMMIT")?;
            ("SELECT count(*) FROM t", n - (n + 1) / 2)
        }
        "update-50-txn" => {
            db.batch("BEGIN; UPDATE t SET v = v + 1 WHERE id % 2 = 0; COMMIT")?;
            ("SELECT count(*) FROM t WHERE v % 3 = 1", (n + 1) / 2)
        }
        other => return Err(format!("unknown workload {other}").into()),
    };
    let secs = started.elapsed().as_secs_f64();
    let kib = peak_rss_kib().unwrap_or(0);
    let got = db.count(check)?;
    if got != expect {
        return Err(format!("{workload}: `{check}` gave {got}, expected {expect}").into());
    }
    Ok((secs, kib))
}

/// Resets the peak RSS so that it measures what follows (Linux; ignored elsewhere).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_kib() -> Option<u64> {
    vm_hwm_kib(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// `csv-import`: writes the CSV (untimed), then times the engine's shell importing it into a
/// new table and checks the row count. The peak RSS is the shell's own `VmHWM`, read every
/// few milliseconds while it runs (the peak of its last milliseconds may be missed).
fn csv_import(engine: &str, path: &Path, o: &WritePathOpts) -> Res<(f64, u64)> {
    use std::io::Write as _;
    let csv = path.with_extension("csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&csv)?);
    writeln!(w, "id,name,city,score")?;
    for i in 0..o.rows {
        writeln!(w, "{i},name {i},city {},{}", i % 100, i as f64 * 0.5)?;
    }
    w.flush()?;
    drop(w);
    let mut cmd = match engine {
        "heliosdb" => {
            let exe = std::env::current_exe()?.with_file_name("heliosdb-lite");
            if !exe.exists() {
                return Err(format!(
                    "{} not found: build it beside the benchmark \
                     (cargo build --release --workspace --bin heliosdb-lite --bin heliosdb-bench)",
                    exe.display()
                )
                .into());
            }
            // The other workloads' settings: no fsync per commit, the given budget.
            let config = path.with_extension("toml");
            let mut toml = String::from("[database]\nenable_wal = false\n");
            if let Some(m) = o.memory_limit_mb {
                toml.push_str(&format!("memory_limit_mb = {m}\n"));
            }
            std::fs::write(&config, toml)?;
            let mut c = Command::new(exe);
            c.arg("--config").arg(&config).arg(path);
            c
        }
        "sqlite" => {
            let mut c = Command::new("sqlite3");
            c.arg(path);
            c
        }
        other => return Err(format!("unknown engine {other}").into()),
    };
    let script = match engine {
        "sqlite" => format!(
            "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\n.import --csv {} t\n",
            csv.display()
        ),
        _ => format!(".import --csv {} t\n", csv.display()),
    };
    let started = Instant::now();
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run the {engine} shell: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes())?;
    }
    let status = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let exit = loop {
        if let Some(exit) = child.try_wait()? {
            break exit;
        }
        if let Some(kib) = std::fs::read_to_string(&status)
            .ok()
            .and_then(|s| vm_hwm_kib(&s))
        {
            peak_kib = peak_kib.max(kib);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let secs = started.elapsed().as_secs_f64();
    let mut errors = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut errors)?;
    }
    if !exit.success() || !errors.trim().is_empty() {
        return Err(format!("the {engine} shell's import failed: {errors}").into());
    }
    let db = Db::open(engine, path, o)?;
    let got = db.count("SELECT count(*) FROM t")?;
    if got != o.rows as i64 {
        return Err(format!("csv-import on {engine}: {got} rows, expected {}", o.rows).into());
    }
    Ok((secs, peak_kib))
}

/// The `VmHWM` line of a `/proc/PID/status` text, in KiB.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}
