//! Prometheus metrics: counters the server keeps, and figures read from the database
//! when `/metrics` is scraped.

use crate::sqltext::QueryType;
use heliosdb_lite::Connection;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the duration histogram's buckets, in seconds (100 µs to 10 s).
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        // Buckets are stored non-cumulative and summed when rendered.
        if let Some(i) = BUCKETS.iter().position(|&b| secs <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }
}

/// The server's counters.
#[derive(Default)]
pub struct Metrics {
    durations: [Histogram; 3],
    errors: AtomicU64,
    refused: AtomicU64,
    http_requests: AtomicU64,
}

fn index(t: QueryType) -> usize {
    match t {
        QueryType::Current => 0,
        QueryType::TimeTravel => 1,
        QueryType::Write => 2,
    }
}

const TYPES: [QueryType; 3] = [QueryType::Current, QueryType::TimeTravel, QueryType::Write];

impl Metrics {
    /// Records a statement's duration.
    pub fn observe(&self, t: QueryType, d: Duration) {
        self.durations[index(t)].observe(d);
    }

    /// Counts a statement that failed.
    pub fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a connection refused because the server was full.
    pub fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an HTTP request.
    pub fn http_request(&self) {
        self.http_requests.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every metric. `start_scn` is the SCN when the
    /// server opened the database (commits are counted from it: every commit takes one SCN).
    pub fn render(&self, db: &Connection, start_scn: u64, open_connections: usize) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP heliosdb_query_duration_seconds Statement execution time by kind.\n\
             # TYPE heliosdb_query_duration_seconds histogram\n",
        );
        for t in TYPES {
            let h = &self.durations[index(t)];
            let label = t.label();
            let mut cumulative = 0;
            for (i, b) in BUCKETS.iter().enumerate() {
                cumulative += h.buckets[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "heliosdb_query_duration_seconds_bucket{{query_type=\"{label}\",le=\"{b}\"}} {cumulative}"
                );
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "heliosdb_query_duration_seconds_bucket{{query_type=\"{label}\",le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "heliosdb_query_duration_seconds_sum{{query_type=\"{label}\"}} {}",
                h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "heliosdb_query_duration_seconds_count{{query_type=\"{label}\"}} {count}"
            );
        }
        let mvcc = db.mvcc();
        let scn = mvcc.latest_scn();
        let gc = mvcc.gc_totals();
        let (snapshots, _) = mvcc.snapshot_memory();
        let figures: [(&str, &str, &str, f64); 10] = [
            (
                "heliosdb_commits_total",
                "counter",
                "Commits since the server opened the database.",
                scn.saturating_sub(start_scn) as f64,
            ),
            (
                "heliosdb_current_scn",
                "gauge",
                "Newest committed SCN.",
                scn as f64,
            ),
            (
                "heliosdb_oldest_scn",
                "gauge",
                "Oldest SCN still readable with AS OF.",
                mvcc.horizon() as f64,
            ),
            (
                "heliosdb_snapshots_retained",
                "gauge",
                "Snapshots (commits) whose state can still be read.",
                snapshots as f64,
            ),
            (
                "heliosdb_gc_runs_total",
                "counter",
                "History garbage-collection runs since open.",
                gc.runs as f64,
            ),
            (
                "heliosdb_gc_removed_versions_total",
                "counter",
                "Row, index and catalog versions removed by GC since open.",
                gc.versions_removed as f64,
            ),
            (
                "heliosdb_storage_bytes",
                "gauge",
                "Bytes the database's storage occupies.",
                mvcc.storage().size_bytes() as f64,
            ),
            (
                "heliosdb_open_connections",
                "gauge",
                "Client connections open now (PostgreSQL sessions and HTTP requests).",
                open_connections as f64,
            ),
            (
                "heliosdb_statement_errors_total",
                "counter",
                "Statements that failed.",
                self.errors.load(Ordering::Relaxed) as f64,
            ),
            (
                "heliosdb_connections_refused_total",
                "counter",
                "Connections refused because max_connections were open.",
                self.refused.load(Ordering::Relaxed) as f64,
            ),
        ];
        for (name, kind, help, value) in figures {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP heliosdb_http_requests_total HTTP requests served.\n\
             # TYPE heliosdb_http_requests_total counter\n\
             heliosdb_http_requests_total {}",
            self.http_requests.load(Ordering::Relaxed)
        );
        out
    }
}
