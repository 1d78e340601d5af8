//! The benchmark's smoke mode: every workload runs on every engine and the output is
//! well-formed. (Speed is never asserted in tests.)

use std::ffi::OsStr;
use std::process::Command;

/// Runs the benchmark binary with `args`; returns its standard output after checking that it
/// succeeded (printing both streams if not).
fn run_bench<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_heliosdb-bench"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn smoke_run_covers_every_engine_and_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let stdout = run_bench([
        OsStr::new("--smoke"),
        OsStr::new("--json"),
        json.as_os_str(),
    ]);
    assert!(stdout.starts_with("| workload | engine |"), "{stdout}");
    assert!(stdout.contains("| goal | measured |"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = v.as_array().unwrap();
    for engine in [
        "heliosdb",
        "heliosdb-mem",
        "sqlite",
        "sqlite+trigger",
        "stoolap",
    ] {
        assert!(
            rows.iter()
                .any(|r| r["engine"] == engine && r["workload"] == "point select by PK (prepared)"),
            "no point-select result for {engine}"
        );
    }
    for w in [
        "GC of 1000 snapshots",
        "2 readers + 1 writer",
        "snapshot metadata in memory",
        "snapshot registration overhead per commit",
    ] {
        assert!(
            rows.iter()
                .any(|r| r["workload"].as_str().unwrap_or("").starts_with(w)),
            "missing {w}"
        );
    }
    assert!(rows
        .iter()
        .any(|r| r["workload"] == "point select, 100 versions/row, AS OF SCN"));
}

/// `queries --smoke`: every query gets its line in the table, and the JSON has a result for
/// every (query, engine) pair run.
#[test]
fn query_benchmark_smoke_has_a_line_per_query() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("queries.json");
    let stdout = run_bench([
        OsStr::new("queries"),
        OsStr::new("--smoke"),
        OsStr::new("--json"),
        json.as_os_str(),
    ]);
    assert!(stdout.starts_with("| query | heliosdb ms |"), "{stdout}");
    let queries = [
        "join3 bad FROM order",
        "join unindexed ref_code",
        "join txn-access_log via customer",
        "star join filtered dims",
        "correlated EXISTS",
        "correlated NOT EXISTS",
        "IN subquery",
        "GROUP BY account_id",
        "COUNT(DISTINCT account_id)",
        "LEFT JOIN + GROUP BY",
        "ORDER BY amount DESC LIMIT 5",
        "full sort ORDER BY amount, id",
        "count(*)",
        "join8 small tables",
    ];
    for q in queries {
        assert!(
            stdout.lines().any(|l| l.starts_with(&format!("| {q} |"))),
            "no line for {q}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("geometric mean heliosdb/SQLite"),
        "{stdout}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = v["results"].as_array().unwrap();
    for q in queries {
        for engine in ["heliosdb", "heliosdb AS OF", "sqlite", "stoolap"] {
            assert!(
                rows.iter()
                    .any(|r| r["query"] == q && r["engine"] == engine),
                "no JSON result for {q} on {engine}"
            );
        }
    }
}

#[test]
fn big_transaction_benchmark_reports_both_engines() {
    let stdout = run_bench(["big-txn", "--rows", "20000", "--memory-limit-mb", "16"]);
    assert!(stdout.contains("| sqlite | 20000 |"), "{stdout}");
    assert!(
        stdout.contains("| heliosdb (memory_limit_mb = 16) | 20000 |"),
        "{stdout}"
    );
}

/// `write-path` runs each workload on both engines as often as asked and reports medians;
/// every child checks its workload's effect (a wrong count fails the run).
#[test]
fn write_path_benchmark_reports_medians_of_both_engines() {
    let stdout = run_bench([
        "write-path",
        "--rows",
        "2000",
        "--runs",
        "2",
        "--only",
        "insert-txn,insert-select,delete-10,update-50",
    ]);
    assert!(stdout.contains("seconds (median of 2)"), "{stdout}");
    for workload in ["insert-txn", "insert-select", "delete-10", "update-50"] {
        for engine in ["sqlite", "heliosdb"] {
            let line = stdout
                .lines()
                .find(|l| l.starts_with(&format!("| {workload} | 2000 | {engine} |")))
                .unwrap_or_else(|| panic!("no {workload} line for {engine}: {stdout}"));
            // The heliosdb line ends with its ratio to SQLite's median.
            assert_eq!(line.ends_with("x |"), engine == "heliosdb", "{line}");
        }
    }
}
