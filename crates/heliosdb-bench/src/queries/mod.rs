//! The query-engine benchmark (`heliosdb-bench queries`): joins in unhelpful FROM orders,
//! joins on unindexed columns, correlated and IN subqueries, big GROUP BYs and sorts, on the
//! same generated audit-style data in HeliosDB-Lite, SQLite and Stoolap, current and AS OF.
//!
//! Each (query, engine) runs in a child process of its own (the hidden `query-one`
//! subcommand) that opens the already-loaded database: its peak RSS is the query's own, and a
//! run past the timeout is killed instead of hanging the benchmark. Every answer is checked
//! against SQLite's (AS OF answers against a copy of SQLite's database taken at the past
//! point), so a fast wrong answer shows up as one.

pub mod child;
mod data;
mod engines;
mod list;
mod report;
mod run;

use engines::EngineKind;
use report::{HELIOS, HELIOS_AS_OF, SQLITE, SQLITE_PAST, STOOLAP, STOOLAP_AS_OF};
use std::path::Path;
use std::time::Duration;

/// Errors of the benchmark harness (an engine's error on a query is a result, not this).
pub(crate) type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Options of `heliosdb-bench queries`.
#[derive(clap::Args, Debug, Clone)]
pub struct QueryOpts {
    /// Rows of `transactions` (customers get rows/20, accounts rows/10, access_log rows/2).
    #[arg(long, default_value_t = 100_000)]
    pub rows: u64,
    /// Seconds one run of a query may take before its process is killed.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Resident memory (MiB) past which a query's process is killed.
    #[arg(long, default_value_t = 4096)]
    pub max_rss_mb: u64,
    /// Keep the databases in this directory (default: a temporary one, removed at the end).
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
    /// Runs per query and engine; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Run only the queries whose name contains this text.
    #[arg(long)]
    pub only: Option<String>,
    /// Tiny sizes (2000 rows, 30 s timeout): checks that every query runs on every engine.
    #[arg(long)]
    pub smoke: bool,
    /// Write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
}

/// Whether Stoolap's `AS OF TRANSACTION` still sees the past point once the database has
/// been closed and reopened (as each child process does): the load's access_log rows, before
/// the updates deleted some of them.
fn stoolap_history_survives(dir: &Path, points: &data::PastPoints, s: &data::Sizes) -> bool {
    let path = EngineKind::Stoolap.path_in(dir);
    let Ok(db) = stoolap::Database::open(&format!("file://{}", path.display())) else {
        return false;
    };
    let sql = format!(
        "SELECT count(*) FROM access_log AS OF TRANSACTION {}",
        points.stoolap_txn
    );
    let n: Result<i64, _> = db.query_one(&sql, ());
    let _ = db.close();
    match n {
        Ok(n) if n as u64 == s.access_log => true,
        other => {
            eprintln!(
                "stoolap AS OF left out: after reopening, {sql} gave {other:?}, expected {}",
                s.access_log
            );
            false
        }
    }
}

/// Runs the query benchmark and prints its table (and writes its JSON when asked).
pub fn main(mut o: QueryOpts) -> Res<()> {
    if o.smoke {
        o.rows = 2_000;
        o.timeout = 30;
    }
    if !(20..=data::MAX_ROWS).contains(&o.rows) {
        return Err(format!("--rows must be between 20 and {}", data::MAX_ROWS).into());
    }
    let started = std::time::Instant::now();
    let temp = tempfile::tempdir()?;
    let dir = match &o.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            if std::fs::read_dir(d)?.next().is_some() {
                return Err(format!("--dir {} is not empty", d.display()).into());
            }
            d.as_path()
        }
        None => temp.path(),
    };
    let sizes = data::Sizes::new(o.rows);
    let points = data::prepare(dir, &sizes)?;
    let stoolap_as_of = stoolap_history_survives(dir, &points, &sizes);
    let scratch = dir.join("scratch");
    std::fs::create_dir_all(&scratch)?;
    let queries: Vec<list::Query> = list::QUERIES
        .iter()
        .filter(|q| o.only.as_ref().is_none_or(|f| q.name.contains(f.as_str())))
        .copied()
        .collect();
    let helios_as_of = format!("AS OF SCN {}", points.heliosdb_scn);
    let stoolap_clause = format!("AS OF TRANSACTION {}", points.stoolap_txn);
    let mut out = Vec::new();
    for q in &queries {
        // (label, engine, database, time-travel clause, runs)
        let mut jobs = vec![
            (HELIOS, EngineKind::Heliosdb, None, "", o.runs),
            (
                HELIOS_AS_OF,
                EngineKind::Heliosdb,
                None,
                &helios_as_of[..],
                o.runs,
            ),
            (SQLITE, EngineKind::Sqlite, None, "", o.runs),
            // The reference answer for AS OF only: one run is enough.
            (
                SQLITE_PAST,
                EngineKind::Sqlite,
                Some("sqlite-past.db"),
                "",
                1,
            ),
            (STOOLAP, EngineKind::Stoolap, None, "", o.runs),
        ];
        if stoolap_as_of && !q.subquery {
            jobs.push((
                STOOLAP_AS_OF,
                EngineKind::Stoolap,
                None,
                &stoolap_clause[..],
                o.runs,
            ));
        }
        for (label, engine, file, clause, runs) in jobs {
            let job = run::Job {
                query: q.name,
                label: label.to_string(),
                engine,
                path: file.map_or_else(|| engine.path_in(dir), |f| dir.join(f)),
                sql: q.text(clause),
                ordered: q.ordered,
                runs,
                timeout: Duration::from_secs(o.timeout),
                max_rss_mb: o.max_rss_mb,
                scratch: &scratch,
            };
            let r = run::run_child(&job)?;
            eprintln!(
                "{:<32} {:<15} {}",
                q.name,
                label,
                match &r.status {
                    run::Status::Ok { median, rows, .. } =>
                        format!("{:.3} ms, {rows} rows", median.as_secs_f64() * 1e3),
                    run::Status::Timeout => format!("> {} s", o.timeout),
                    run::Status::OverMemory(mb) => format!("> {mb} MiB"),
                    run::Status::Failed(e) => format!("error: {e}"),
                }
            );
            out.push(r);
        }
    }
    report::print(&out, &queries, o.timeout);
    if let Some(path) = &o.json {
        let header = serde_json::json!({
            "benchmark": "queries",
            "rows": o.rows,
            "runs": o.runs,
            "timeout_s": o.timeout,
            "max_rss_mb": o.max_rss_mb,
            "heliosdb_memory_limit_mb": 64,
            "heliosdb_past_scn": points.heliosdb_scn,
            "stoolap_past_txn": points.stoolap_txn,
            "stoolap_as_of": stoolap_as_of,
        });
        let text = serde_json::to_string_pretty(&report::json(&out, &queries, header))?;
        std::fs::write(path, text)?;
    }
    eprintln!(
        "query benchmark finished in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
