//! Runs every example program (built by `cargo test`) and checks its report.

use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> String {
    // Test binaries live in <target>/<profile>/deps; examples in <target>/<profile>/examples.
    let exe = std::env::current_exe().unwrap();
    let dir: PathBuf = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let out = Command::new(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn financial_audit() {
    let out = example("financial_audit");
    assert!(out.contains("Total Assets (2024-12-31): $"), "{out}");
    assert!(out.contains("2024-12-01 00:00:00: $10000.00"), "{out}");
    assert!(
        out.contains("Account 1002 current balance: $22300.00"),
        "{out}"
    );
}

#[test]
fn price_history() {
    let out = example("price_history");
    assert!(
        out.contains("2025-11-25 14:30:00: product 12345 cost $27.49"),
        "{out}"
    );
    assert!(
        out.contains("12345 Wireless Mouse    24.99 ->   29.99"),
        "{out}"
    );
}

#[test]
fn billing_dispute() {
    let out = example("billing_dispute");
    assert!(out.contains("invoice 1: 15000 calls"), "{out}");
    assert!(out.contains("event 2: 7000 calls"), "{out}");
    assert!(
        out.contains("today the same events add up to 78000 calls"),
        "{out}"
    );
}

#[test]
fn iot_incident() {
    let out = example("iot_incident");
    assert!(out.contains("INCIDENT LOGGED: SENSOR_002"), "{out}");
    assert!(out.contains("Vibration=7.5 ALARM"), "{out}");
}
