//! The benchmark's smoke mode: every workload runs on every engine and the output is
//! well-formed. (Speed is never asserted in tests.)

use std::process::Command;

#[test]
fn smoke_run_covers_every_engine_and_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let out = Command::new(env!("CARGO_BIN_EXE_heliosdb-bench"))
        .args(["--smoke", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
