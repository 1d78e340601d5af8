//! Runs one query on one engine in a child process (this binary's hidden `query-one`), with a
//! per-run timeout, and reads back what it measured.

use super::engines::EngineKind;
use super::Res;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How one (query, engine) pair ended.
#[derive(Debug, Clone)]
pub enum Status {
    /// Every run finished.
    Ok {
        /// Median of the runs.
        median: Duration,
        /// Each run's time.
        runs: Vec<Duration>,
        /// Rows returned.
        rows: u64,
        /// Result fingerprint (see `Checksum`).
        checksum: u64,
    },
    /// A run took longer than the timeout; the process was killed.
    Timeout,
    /// The process grew past the memory cap (MiB); it was killed.
    OverMemory(u64),
    /// The engine returned an error, or the process died.
    Failed(String),
}

/// One (query, engine) measurement.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Query name.
    pub query: &'static str,
    /// Column label: `heliosdb`, `heliosdb AS OF`, `sqlite`, `sqlite past`, `stoolap`...
    pub engine: String,
    /// The SQL text run.
    pub sql: String,
    /// How it ended.
    pub status: Status,
    /// Peak RSS of the child process (KiB), when it got that far.
    pub peak_kib: Option<u64>,
    /// Peak RSS right after opening the database, before the query (KiB).
    pub open_kib: Option<u64>,
}

impl Outcome {
    /// The median, if every run finished.
    pub fn median(&self) -> Option<Duration> {
        match &self.status {
            Status::Ok { median, .. } => Some(*median),
            _ => None,
        }
    }

    /// `(rows, checksum)`, if every run finished.
    pub fn answer(&self) -> Option<(u64, u64)> {
        match &self.status {
            Status::Ok { rows, checksum, .. } => Some((*rows, *checksum)),
            _ => None,
        }
    }
}

/// What to run in one child.
pub struct Job<'a> {
    /// Query name.
    pub query: &'static str,
    /// Column label.
    pub label: String,
    /// Engine.
    pub engine: EngineKind,
    /// Database path.
    pub path: PathBuf,
    /// Query text.
    pub sql: String,
    /// Checksum in row order.
    pub ordered: bool,
    /// Runs (the median is reported).
    pub runs: usize,
    /// Per-run timeout.
    pub timeout: Duration,
    /// Resident memory (MiB) past which the child is killed: a query that materialises a
    /// cross product must not take the shared machine down with it.
    pub max_rss_mb: u64,
    /// Where the child's stdout and stderr go.
    pub scratch: &'a Path,
}

/// Resident set size of process `pid` now, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Runs `job` in a child process and waits for it; never longer than the timeout per run
/// (plus the timeout once more for opening the database), and kills it if it outgrows the
/// memory cap.
pub fn run_child(job: &Job<'_>) -> Res<Outcome> {
    let out_path = job.scratch.join("child.out");
    let err_path = job.scratch.join("child.err");
    let mut child = Command::new(std::env::current_exe()?)
        .arg("query-one")
        .args(["--engine", job.engine.arg(), "--path"])
        .arg(&job.path)
        .args(["--sql", &job.sql, "--runs", &job.runs.to_string()])
        .args(job.ordered.then_some("--ordered"))
        .stdin(Stdio::null())
        // Files, not pipes: a child that writes a lot can never block on a full pipe.
        .stdout(std::fs::File::create(&out_path)?)
        .stderr(std::fs::File::create(&err_path)?)
        .spawn()?;
    let mut lines_seen = 0;
    let mut last_progress = Instant::now();
    let mut killed = None;
    let mut peak_seen = 0;
    let exit = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        // Each line is a finished step (open, a run): the clock restarts for the next one.
        let lines = std::fs::read_to_string(&out_path)
            .map(|s| s.lines().count())
            .unwrap_or(0);
        if lines != lines_seen {
            lines_seen = lines;
            last_progress = Instant::now();
        } else if last_progress.elapsed() > job.timeout {
            killed = Some(Status::Timeout);
        }
        let rss = rss_kib(child.id()).unwrap_or(0);
        peak_seen = peak_seen.max(rss);
        if rss > job.max_rss_mb * 1024 {
            killed = Some(Status::OverMemory(job.max_rss_mb));
        }
        if killed.is_some() {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let text = std::fs::read_to_string(&out_path).unwrap_or_default();
    let mut outcome = Outcome {
        query: job.query,
        engine: job.label.clone(),
        sql: job.sql.clone(),
        status: Status::Failed(String::new()),
        peak_kib: None,
        open_kib: None,
    };
    let mut runs = Vec::new();
    let mut done = None;
    let mut error = None;
    for line in text.lines() {
        let mut w = line.split_whitespace();
        match w.next() {
            Some("open") => outcome.open_kib = w.nth(1).and_then(|v| v.parse().ok()),
            Some("run") => {
                if let Some(ns) = w.next().and_then(|v| v.parse().ok()) {
                    runs.push(Duration::from_nanos(ns));
                }
            }
            Some("done") => {
                let rows = w.next().and_then(|v| v.parse().ok());
                let sum = w.next().and_then(|v| u64::from_str_radix(v, 16).ok());
                outcome.peak_kib = w.next().and_then(|v| v.parse().ok());
                done = rows.zip(sum);
            }
            Some("error") => error = Some(line["error".len()..].trim().to_string()),
            _ => {}
        }
    }
    outcome.status = if let Some(status) = killed {
        // What the child reached before it was killed, as seen from here.
        outcome.peak_kib = Some(peak_seen);
        status
    } else if let (Some((rows, checksum)), false) = (done, runs.is_empty()) {
        let mut sorted = runs.clone();
        sorted.sort();
        Status::Ok {
            median: sorted[sorted.len() / 2],
            runs,
            rows,
            checksum,
        }
    } else if let Some(e) = error {
        Status::Failed(e)
    } else {
        // Died without a word (panic, abort, out of memory): its stderr says why.
        let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
        let said: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("note:"))
            .collect();
        Status::Failed(format!(
            "process ended ({}): {}",
            exit.map_or("killed".to_string(), |s| s.to_string()),
            said[said.len().saturating_sub(2)..].join(" ")
        ))
    };
    Ok(outcome)
}
