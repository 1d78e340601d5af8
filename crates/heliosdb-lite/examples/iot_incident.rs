//! Example 5 of the product brief: sensor collection on an edge gateway, incident logging,
//! and investigation with AS OF TIMESTAMP (no network; data on disk in a temporary directory).

use heliosdb_lite::time::ManualClock;
use heliosdb_lite::{Config, Connection};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("heliosdb-iot-{}", std::process::id()));
    let base: i64 = 1_748_764_800; // 2025-06-01 08:00:00 UTC
    let clock = ManualClock::new(base * 1_000_000);
    let db = Connection::open(Config::with_path(&dir).clock(Arc::new(clock.clone())))?;
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS sensor_readings (
            id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL, sensor_id TEXT NOT NULL,
            temperature REAL NOT NULL, pressure REAL NOT NULL, vibration REAL NOT NULL,
            status TEXT NOT NULL, timestamp INTEGER NOT NULL, synced BOOLEAN DEFAULT 0);
         CREATE INDEX IF NOT EXISTS idx_sensor_time ON sensor_readings(sensor_id, timestamp);
         CREATE INDEX IF NOT EXISTS idx_synced_timestamp ON sensor_readings(synced, timestamp);
         CREATE TABLE IF NOT EXISTS incidents (
            incident_id INTEGER PRIMARY KEY AUTOINCREMENT, sensor_id TEXT NOT NULL,
            incident_time INTEGER NOT NULL, description TEXT NOT NULL, resolved BOOLEAN DEFAULT 0);",
    )?;
    for step in 0..24i64 {
        let timestamp = base + step * 60;
        clock.set(timestamp * 1_000_000);
        for sensor in 1..=3 {
            let sensor_id = format!("SENSOR_{:03}", sensor);
            let vibration = if step == 12 && sensor == 2 {
                7.5
            } else {
                2.0 + (step % 5) as f64 * 0.1
            };
            let status = if vibration > 5.0 { "ALARM" } else { "OK" };
            db.execute(
                "INSERT INTO sensor_readings (device_id, sensor_id, temperature, pressure, vibration, status, timestamp)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                ("gateway_001", &sensor_id, 70.0 + step as f64 * 0.2, 14.5, vibration, status, timestamp),
            )?;
            if vibration > 5.0 {
                db.execute(
                    "INSERT INTO incidents (sensor_id, incident_time, description) VALUES (?1, ?2, ?3)",
                    (&sensor_id, timestamp, "High vibration detected"),
                )?;
                println!("INCIDENT LOGGED: {sensor_id} at {timestamp} - High vibration detected");
            }
        }
    }
    let (sensor_id, incident_time): (String, i64) = db.query_row(
        "SELECT sensor_id, incident_time FROM incidents WHERE incident_id = ?1",
        [1],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let fmt = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default()
    };
    println!(
        "\n=== INVESTIGATING INCIDENT 1: {sensor_id} at {} ===",
        fmt(incident_time)
    );
    for (label, as_of, from, to) in [
        (
            "BEFORE",
            incident_time - 1,
            incident_time - 300,
            incident_time,
        ),
        (
            "AFTER",
            incident_time + 300,
            incident_time,
            incident_time + 300,
        ),
    ] {
        let query = format!(
            "SELECT sensor_id, temperature, pressure, vibration, status, timestamp
             FROM sensor_readings AS OF TIMESTAMP '{}'
             WHERE sensor_id = ?1 AND timestamp >= {} AND timestamp < {}
             ORDER BY timestamp ASC",
            fmt(as_of),
            from,
            to
        );
        println!("Readings {label} incident:");
        let mut stmt = db.prepare(&query)?;
        for r in stmt.query_map([&sensor_id], |r| {
            Ok((
                r.get::<_, i64>(5)?,
                r.get::<_, f64>(1)?,
                r.get::<_, f64>(3)?,
                r.get::<_, String>(4)?,
            ))
        })? {
            let (t, temp, vib, status) = r?;
            println!("  {}: Temp={temp:.1}F Vibration={vib:.1} {status}", fmt(t));
        }
    }
    db.execute(
        "UPDATE incidents SET resolved = 1 WHERE incident_id = ?1",
        [1],
    )?;
    let unsynced: i64 = db.query_row(
        "SELECT count(*) FROM sensor_readings WHERE synced = 0",
        [],
        |r| r.get(0),
    )?;
    println!("\n{unsynced} readings waiting for the next sync window");
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
