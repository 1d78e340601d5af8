//! The product brief's scenarios, replayed with commits dated where each story puts them,
//! using the brief's SQL and API calls as written, and checking the numbers they return.

use heliosdb_lite::time::ManualClock;
use heliosdb_lite::{Config, Connection, Error};
use std::collections::BTreeMap;
use std::sync::Arc;

fn at(clock: &ManualClock, t: &str) {
    clock.set_text(t).unwrap();
}

/// The brief's Example 1 configuration, verbatim except for the data path.
const BANKING_TOML: &str = r#"
# HeliosDB-Lite configuration for financial compliance
[database]
path = "/data/banking.db"
memory_limit_mb = 256
enable_wal = true
page_size = 4096

[storage]
# Enable time-travel for audit compliance
time_travel_enabled = true

[snapshot]
# Regulatory retention: 90 days
min_retention_seconds = 7776000  # 90 days
max_snapshots = 10000
auto_gc_enabled = true

[monitoring]
metrics_enabled = true
verbose_logging = false
"#;

#[test]
fn example1_financial_audit() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let toml = BANKING_TOML.replace(
        "/data/banking.db",
        &dir.path().join("banking.db").display().to_string(),
    );
    let toml_path = dir.path().join("heliosdb.toml");
    std::fs::write(&toml_path, toml)?;
    let clock = ManualClock::at("2024-11-30 09:00:00")?;

    // Load configuration (the brief's call), then give it the story's clock.
    let config = Config::from_file(&toml_path)?;
    assert_eq!(config.snapshot.min_retention_seconds, 7_776_000);
    let conn = Connection::open(config.clock(Arc::new(clock.clone())))?;

    conn.execute(
        "CREATE TABLE IF NOT EXISTS accounts (
            account_id INTEGER PRIMARY KEY,
            customer_name TEXT NOT NULL,
            balance DECIMAL(15,2) NOT NULL,
            last_modified INTEGER DEFAULT (strftime('%s', 'now'))
        )",
        [],
    )?;
    conn.execute(
        "CREATE INDEX idx_accounts_modified ON accounts(last_modified)",
        [],
    )?;
    at(&clock, "2024-11-30 10:00:00");
    conn.execute(
        "INSERT INTO accounts (account_id, customer_name, balance) VALUES
         (1001, 'Alice Johnson', 10000.00),
         (1002, 'Bob Smith', 20000.00),
         (1003, 'Carol Davis', 5000.00)",
        [],
    )?;

    // December 2024 and the year after: one posting per day to each account in turn, each
    // its own transaction. A model of the balances checks every historical answer.
    let mut model: BTreeMap<i64, i64> =
        [(1001, 1_000_000), (1002, 2_000_000), (1003, 500_000)].into();
    let mut history: Vec<(String, BTreeMap<i64, i64>, u64)> = Vec::new();
    let ids = [1001i64, 1002, 1003];
    let start = chrono::NaiveDate::from_ymd_opt(2024, 12, 1).unwrap();
    for day in 0..40 {
        let date = start + chrono::Duration::days(day);
        let ts = format!("{} 12:00:00", date);
        at(&clock, &ts);
        let id = ids[day as usize % 3];
        let cents = 1234 + day * 111; // 12.34, 13.45, ...
        let delta = if day % 4 == 3 { -cents } else { cents };
        conn.execute(
            "UPDATE accounts SET balance = balance + ?1, last_modified = strftime('%s', 'now') WHERE account_id = ?2",
            (format!("{}.{:02}", delta / 100, (delta % 100).abs()).replace("-0.", "-0."), id),
        )?;
        *model.get_mut(&id).unwrap() += delta;
        history.push((ts, model.clone(), conn.last_txn_id().unwrap()));
    }
    // The state the brief calls "current data (as of 2025-11-30)".
    at(&clock, "2025-11-30 08:00:00");
    conn.execute(
        "UPDATE accounts SET balance = 15750.00 WHERE account_id = 1001",
        [],
    )?;
    conn.execute(
        "UPDATE accounts SET balance = 22300.00 WHERE account_id = 1002",
        [],
    )?;
    conn.execute(
        "UPDATE accounts SET balance = 8500.00 WHERE account_id = 1003",
        [],
    )?;

    let model_at = |ts: &str| -> BTreeMap<i64, i64> {
        let t = heliosdb_lite::time::parse_timestamp(ts).unwrap();
        history
            .iter()
            .rev()
            .find(|(h, _, _)| heliosdb_lite::time::parse_timestamp(h).unwrap() <= t)
            .map(|(_, m, _)| m.clone())
            .unwrap_or_else(|| [(1001, 1_000_000), (1002, 2_000_000), (1003, 500_000)].into())
    };

    // --- REGULATORY AUDIT: Query balances as of December 31, 2024 ---
    let audit_query = "
        SELECT account_id, customer_name, balance
        FROM accounts
        AS OF TIMESTAMP '2024-12-31 23:59:59'
        ORDER BY account_id
    ";
    let mut stmt = conn.prepare(audit_query)?;
    let accounts = stmt.query_map([], |row| {
        Ok((
            row.get::<_, i32>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, f64>(2)?,
        ))
    })?;
    let expected = model_at("2024-12-31 23:59:59");
    let mut total_balance = 0.0;
    let mut n = 0;
    for result in accounts {
        let (account_id, customer_name, balance) = result?;
        assert_eq!(
            balance,
            expected[&(account_id as i64)] as f64 / 100.0,
            "{customer_name}"
        );
        total_balance += balance;
        n += 1;
    }
    assert_eq!(n, 3);
    let expected_total: i64 = expected.values().sum();
    assert!((total_balance - expected_total as f64 / 100.0).abs() < 1e-6);
    // Exact decimal arithmetic in SQL.
    let sum: String = conn.query_row(
        "SELECT CAST(SUM(balance) AS TEXT) FROM accounts AS OF TIMESTAMP '2024-12-31 23:59:59'",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(
        sum,
        format!("{}.{:02}", expected_total / 100, expected_total % 100)
    );

    // --- INCIDENT INVESTIGATION: Compare balances before/after transaction ---
    // Transaction 42 exists in this history: find which account it touched.
    let (_, after42, _) = history
        .iter()
        .find(|(_, _, t)| *t == 42)
        .expect("transaction 42 in the story");
    let incident_query = "
        SELECT account_id, customer_name, balance
        FROM accounts
        AS OF TRANSACTION 42
        WHERE account_id = 1002
    ";
    let mut stmt = conn.prepare(incident_query)?;
    let before_state = stmt.query_map([], |row| {
        Ok((
            row.get::<_, i32>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, f64>(2)?,
        ))
    })?;
    let mut seen = 0;
    for result in before_state {
        let (account_id, customer_name, balance) = result?;
        assert_eq!((account_id, customer_name.as_str()), (1002, "Bob Smith"));
        assert_eq!(balance, after42[&1002] as f64 / 100.0);
        seen += 1;
    }
    assert_eq!(seen, 1);

    let current_query = "SELECT balance FROM accounts WHERE account_id = 1002";
    let mut stmt = conn.prepare(current_query)?;
    let current_balance: f64 = stmt.query_row([], |row| row.get(0))?;
    assert_eq!(current_balance, 22300.00);

    // --- ANALYTICS: Historical balance trend analysis ---
    let snapshots = vec![
        "2024-12-01 00:00:00",
        "2024-12-15 00:00:00",
        "2024-12-31 23:59:59",
    ];
    let mut trend = Vec::new();
    for snapshot_time in snapshots {
        let trend_query = format!(
            "SELECT balance FROM accounts
             AS OF TIMESTAMP '{}'
             WHERE account_id = 1001",
            snapshot_time
        );
        let mut stmt = conn.prepare(&trend_query)?;
        let balance: f64 = stmt.query_row([], |row| row.get(0))?;
        assert_eq!(
            balance,
            model_at(snapshot_time)[&1001] as f64 / 100.0,
            "{snapshot_time}"
        );
        trend.push(balance);
    }
    assert_eq!(trend[0], 10000.00, "no posting yet on Dec 1 00:00");
    assert_ne!(trend[1], trend[2]);

    // Before the first commit, the audit point does not exist: a clear error.
    let err = conn
        .prepare("SELECT * FROM accounts AS OF TIMESTAMP '2023-12-31 23:59:59'")?
        .query_row([], |_| Ok(()))
        .unwrap_err();
    assert!(matches!(err, Error::SnapshotNotAvailable { .. }), "{err}");
    Ok(())
}

#[test]
fn poc_test_sum_as_of_year_end() -> Result<(), Box<dyn std::error::Error>> {
    let clock = ManualClock::at("2024-12-01 00:00:00")?;
    let conn = Connection::open(Config::in_memory().clock(Arc::new(clock.clone())))?;
    conn.execute_batch(
        "-- Enable on transactions table
CREATE TABLE transactions (
    txn_id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    amount DECIMAL(15,2) NOT NULL,
    timestamp INTEGER DEFAULT (strftime('%s', 'now'))
);",
    )?;
    let postings = [
        ("2024-12-05 10:00:00", 1001, "100.10"),
        ("2024-12-20 10:00:00", 1001, "-20.05"),
        ("2024-12-21 10:00:00", 1002, "999.99"),
        ("2024-12-31 23:59:59", 1001, "0.01"),
        ("2025-01-01 00:00:00", 1001, "5000.00"),
    ];
    for (t, acct, amount) in postings {
        at(&clock, t);
        conn.execute(
            "INSERT INTO transactions (account_id, amount) VALUES (?, ?)",
            (acct, amount),
        )?;
    }
    // A correction in 2025 to a 2024 row must not change the year-end answer.
    at(&clock, "2025-02-01 09:00:00");
    conn.execute("UPDATE transactions SET amount = 0 WHERE txn_id = 2", [])?;
    let poc = "-- PoC Test: Query balance as of year-end
SELECT SUM(amount)
FROM transactions
AS OF TIMESTAMP '2024-12-31 23:59:59'
WHERE account_id = 1001;";
    let year_end: String = conn.query_row(poc, [], |r| r.get(0))?;
    assert_eq!(year_end, "80.06");
    let now: String = conn.query_row(
        "SELECT SUM(amount) FROM transactions WHERE account_id = 1001",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(now, "5100.11");
    let ts: i64 = conn.query_row(
        "SELECT timestamp FROM transactions WHERE txn_id = 4",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(ts, 1_735_689_599);
    Ok(())
}

#[test]
fn example3_price_history() -> Result<(), Box<dyn std::error::Error>> {
    let clock = ManualClock::at("2025-11-25 09:00:00")?;
    let conn = Connection::open(Config::in_memory().clock(Arc::new(clock.clone())))?;
    conn.execute(
        "CREATE TABLE IF NOT EXISTS products (
            product_id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            current_price REAL NOT NULL,
            last_modified INTEGER DEFAULT (strftime('%s', 'now'))
        )",
        [],
    )?;
    conn.execute(
        "CREATE INDEX IF NOT EXISTS idx_products_modified ON products(last_modified)",
        [],
    )?;
    conn.execute(
        "INSERT INTO products (product_id, name, current_price) VALUES (12345, 'Wireless Mouse', 24.99)",
        [],
    )?;
    // Price changes through the day (the brief's update handler, with its text parameters).
    for (t, price) in [
        ("2025-11-25 14:00:00", 27.49),
        ("2025-11-25 16:30:00", 29.99),
    ] {
        at(&clock, t);
        let new_price: f64 = price;
        let product_id: i64 = 12345;
        conn.execute(
            "UPDATE products SET current_price = ?1 WHERE product_id = ?2",
            [&new_price.to_string(), &product_id.to_string()],
        )?;
    }
    // Get current price
    let mut stmt = conn.prepare(
        "SELECT product_id, name, current_price, last_modified
         FROM products
         WHERE product_id = ?1",
    )?;
    let (id, name, price, modified): (i64, String, f64, i64) = stmt.query_row([12345], |row| {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
    })?;
    assert_eq!(
        (id, name.as_str(), price, modified),
        (
            12345,
            "Wireless Mouse",
            29.99,
            heliosdb_lite::time::parse_timestamp("2025-11-25 09:00:00")? / 1_000_000
        )
    );
    // Historical price: "What was the price when I added to cart?"
    for (timestamp, expected) in [
        ("2025-11-25 14:30:00", 27.49),
        ("2025-11-25 10:00:00", 24.99),
        ("2025-11-25 16:30:00", 29.99),
    ] {
        let query = format!(
            "SELECT product_id, current_price
         FROM products
         AS OF TIMESTAMP '{}'
         WHERE product_id = ?1",
            timestamp
        );
        let mut stmt = conn.prepare(&query)?;
        let (pid, hist): (i64, f64) =
            stmt.query_row([12345i64], |row| Ok((row.get(0)?, row.get(1)?)))?;
        assert_eq!((pid, hist), (12345, expected), "{timestamp}");
    }
    // The current row and its history side by side.
    let (now, then): (f64, f64) = conn.query_row(
        "SELECT c.current_price, h.current_price FROM products c
         JOIN products AS OF TIMESTAMP '2025-11-25 10:00:00' h ON c.product_id = h.product_id",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    assert_eq!((now, then), (29.99, 24.99));
    Ok(())
}

#[test]
fn example4_billing_dispute() -> Result<(), Box<dyn std::error::Error>> {
    let clock = ManualClock::at("2025-10-01 00:00:00")?;
    let conn = Connection::open(Config::in_memory().clock(Arc::new(clock.clone())))?;
    conn.execute(
        "CREATE TABLE IF NOT EXISTS usage_events (
            event_id INTEGER PRIMARY KEY AUTOINCREMENT,
            customer_id TEXT NOT NULL,
            api_calls INTEGER NOT NULL,
            storage_gb REAL NOT NULL,
            bandwidth_gb REAL NOT NULL,
            recorded_at INTEGER DEFAULT (strftime('%s', 'now'))
        )",
        [],
    )?;
    conn.execute(
        "CREATE INDEX IF NOT EXISTS idx_usage_customer_time
         ON usage_events(customer_id, recorded_at)",
        [],
    )?;
    conn.execute(
        "CREATE TABLE IF NOT EXISTS invoices (
            invoice_id INTEGER PRIMARY KEY AUTOINCREMENT,
            customer_id TEXT NOT NULL,
            billing_period_start TEXT NOT NULL,
            billing_period_end TEXT NOT NULL,
            total_api_calls INTEGER NOT NULL,
            total_storage_gb REAL NOT NULL,
            total_bandwidth_gb REAL NOT NULL,
            amount_due REAL NOT NULL,
            generated_at INTEGER DEFAULT (strftime('%s', 'now'))
        )",
        [],
    )?;
    // record_usage, as the brief's handler does it (text parameters, RETURNING).
    let record = |t: &str,
                  customer: &str,
                  api_calls: i64,
                  storage_gb: f64,
                  bandwidth_gb: f64|
     -> Result<(i64, i64), Box<dyn std::error::Error>> {
        at(&clock, t);
        let mut stmt = conn.prepare(
            "INSERT INTO usage_events (customer_id, api_calls, storage_gb, bandwidth_gb)
         VALUES (?1, ?2, ?3, ?4)
         RETURNING event_id, customer_id, api_calls, storage_gb, bandwidth_gb, recorded_at",
        )?;
        let customer_id = customer.to_string();
        let event = stmt.query_row(
            [
                &customer_id,
                &api_calls.to_string(),
                &storage_gb.to_string(),
                &bandwidth_gb.to_string(),
            ],
            |row| {
                assert_eq!(row.get::<_, String>(1)?, customer);
                assert_eq!(row.get::<_, i64>(2)?, api_calls);
                assert_eq!(row.get::<_, f64>(3)?, storage_gb);
                Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(5)?))
            },
        )?;
        Ok(event)
    };
    let (e1, t1) = record("2025-10-05 10:00:00", "cust_123", 5000, 10.5, 2.3)?;
    assert_eq!((e1, t1), (1, 1_759_658_400));
    record("2025-10-20 10:00:00", "cust_123", 7000, 11.0, 3.2)?;
    record("2025-10-21 10:00:00", "cust_999", 1, 1.0, 1.0)?;
    record("2025-10-28 10:00:00", "cust_123", 3000, 0.5, 0.5)?;

    // generate_invoice at 2025-10-31 12:00:00 (the brief's query, with its clock).
    at(&clock, "2025-10-31 12:00:00");
    let now = chrono::NaiveDateTime::parse_from_str("2025-10-31 12:00:00", "%Y-%m-%d %H:%M:%S")?;
    let period_end = now.format("%Y-%m-%d %H:%M:%S").to_string();
    let period_start = (now - chrono::Duration::days(30))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let query = format!(
        "SELECT
            SUM(api_calls) as total_api_calls,
            SUM(storage_gb) as total_storage_gb,
            SUM(bandwidth_gb) as total_bandwidth_gb
         FROM usage_events
         AS OF TIMESTAMP '{}'
         WHERE customer_id = ?1
           AND recorded_at >= strftime('%s', '{}')
           AND recorded_at <= strftime('%s', '{}')",
        period_end, period_start, period_end
    );
    let customer_id = "cust_123".to_string();
    let mut stmt = conn.prepare(&query)?;
    let (total_api_calls, total_storage_gb, total_bandwidth_gb) =
        stmt.query_row([&customer_id], |row| {
            Ok((
                row.get::<_, i64>(0).unwrap_or(0),
                row.get::<_, f64>(1).unwrap_or(0.0),
                row.get::<_, f64>(2).unwrap_or(0.0),
            ))
        })?;
    assert_eq!(
        total_api_calls, 15_000,
        "three events of cust_123 in the 30-day period"
    );
    assert!((total_storage_gb - 22.0).abs() < 1e-9);
    assert!((total_bandwidth_gb - 6.0).abs() < 1e-9);
    let amount_due =
        total_api_calls as f64 * 0.001 + total_storage_gb * 0.10 + total_bandwidth_gb * 0.05;
    let mut stmt = conn.prepare(
        "INSERT INTO invoices
         (customer_id, billing_period_start, billing_period_end,
          total_api_calls, total_storage_gb, total_bandwidth_gb, amount_due)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         RETURNING invoice_id, customer_id, billing_period_start, billing_period_end,
                   total_api_calls, total_storage_gb, total_bandwidth_gb, amount_due, generated_at",
    )?;
    let (invoice_id, generated_at_ts): (i64, i64) = stmt.query_row(
        [
            &customer_id,
            &period_start,
            &period_end,
            &total_api_calls.to_string(),
            &total_storage_gb.to_string(),
            &total_bandwidth_gb.to_string(),
            &amount_due.to_string(),
        ],
        |row| {
            assert_eq!(row.get::<_, i64>(4)?, 15_000);
            assert!((row.get::<_, f64>(7)? - amount_due).abs() < 1e-9);
            Ok((row.get(0)?, row.get(8)?))
        },
    )?;
    assert_eq!(invoice_id, 1);

    // A late event for the same period arrives after the invoice, and one event is corrected.
    record("2025-11-02 08:00:00", "cust_123", 99_999, 0.0, 0.0)?;
    at(&clock, "2025-11-02 08:00:00");
    conn.execute("UPDATE usage_events SET recorded_at = strftime('%s', '2025-10-30 00:00:00') WHERE event_id = 5", [])?;
    conn.execute(
        "UPDATE usage_events SET api_calls = 1 WHERE event_id = 2",
        [],
    )?;

    // dispute_investigation: reconstruct exactly what the invoice saw.
    let mut stmt = conn.prepare(
        "SELECT customer_id, billing_period_start, billing_period_end, generated_at
         FROM invoices
         WHERE invoice_id = ?1",
    )?;
    let (customer_id, period_start, period_end, generated_at_ts2): (String, String, String, i64) =
        stmt.query_row([invoice_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?;
    assert_eq!(generated_at_ts, generated_at_ts2);
    let generated_at = chrono::DateTime::from_timestamp(generated_at_ts, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    assert_eq!(generated_at, "2025-10-31 12:00:00");
    let dispute_query = format!(
        "SELECT event_id, api_calls, storage_gb, bandwidth_gb, recorded_at
         FROM usage_events
         AS OF TIMESTAMP '{}'
         WHERE customer_id = ?1
           AND recorded_at >= strftime('%s', '{}')
           AND recorded_at <= strftime('%s', '{}')
         ORDER BY recorded_at ASC",
        generated_at, period_start, period_end
    );
    let mut stmt = conn.prepare(&dispute_query)?;
    let usage_events: Vec<(i64, i64)> = stmt
        .query_map([&customer_id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    assert_eq!(usage_events, vec![(1, 5000), (2, 7000), (4, 3000)]);
    // Today the same period looks different: that is the dispute.
    let today: i64 = conn.query_row(
        &format!(
            "SELECT SUM(api_calls) FROM usage_events WHERE customer_id = ?1
             AND recorded_at >= strftime('%s', '{period_start}') AND recorded_at <= strftime('%s', '{period_end}')"
        ),
        [&customer_id],
        |r| r.get(0),
    )?;
    assert_eq!(today, 5000 + 1 + 3000 + 99_999);
    Ok(())
}

#[test]
fn example5_iot_incident_investigation() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::at("2025-06-01 08:00:00")?;
    let config =
        Config::with_path(dir.path().join("factory_sensors.db")).clock(Arc::new(clock.clone()));
    let db = Connection::open(config)?;
    db.execute(
        "CREATE TABLE IF NOT EXISTS sensor_readings (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                device_id TEXT NOT NULL,
                sensor_id TEXT NOT NULL,
                temperature REAL NOT NULL,
                pressure REAL NOT NULL,
                vibration REAL NOT NULL,
                status TEXT NOT NULL,
                timestamp INTEGER NOT NULL,
                synced BOOLEAN DEFAULT 0
            )",
        [],
    )?;
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_sensor_time
             ON sensor_readings(sensor_id, timestamp)",
        [],
    )?;
    db.execute(
        "CREATE INDEX IF NOT EXISTS idx_synced_timestamp
             ON sensor_readings(synced, timestamp)",
        [],
    )?;
    db.execute(
        "CREATE TABLE IF NOT EXISTS incidents (
                incident_id INTEGER PRIMARY KEY AUTOINCREMENT,
                sensor_id TEXT NOT NULL,
                incident_time INTEGER NOT NULL,
                description TEXT NOT NULL,
                resolved BOOLEAN DEFAULT 0
            )",
        [],
    )?;
    let device_id = "gateway_001".to_string();
    let base = heliosdb_lite::time::parse_timestamp("2025-06-01 08:00:00")? / 1_000_000;
    // A reading every 60 s from two sensors; SENSOR_005 spikes at minute 10.
    let mut incident_time = 0;
    for minute in 0..20i64 {
        let timestamp = base + minute * 60;
        clock.set(timestamp * 1_000_000);
        for sensor_id in ["SENSOR_005", "SENSOR_001"] {
            let temperature = 70.0 + minute as f64 * 0.5;
            let pressure = 14.5;
            let vibration = if sensor_id == "SENSOR_005" && minute == 10 {
                7.5
            } else {
                2.0
            };
            let status = if vibration > 5.0 { "ALARM" } else { "OK" };
            db.execute(
                "INSERT INTO sensor_readings
             (device_id, sensor_id, temperature, pressure, vibration, status, timestamp)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                [
                    device_id.as_str(),
                    sensor_id,
                    &temperature.to_string(),
                    &pressure.to_string(),
                    &vibration.to_string(),
                    status,
                    &timestamp.to_string(),
                ],
            )?;
            if vibration > 5.0 {
                let description = "High vibration detected";
                db.execute(
                    "INSERT INTO incidents (sensor_id, incident_time, description)
             VALUES (?1, ?2, ?3)",
                    [sensor_id, &timestamp.to_string(), description],
                )?;
                incident_time = timestamp;
            }
        }
    }
    // Later, a technician "fixes" the spike reading in place; time travel still shows it.
    clock.set((base + 3600) * 1_000_000);
    db.execute(
        "UPDATE sensor_readings SET vibration = 2.0, status = 'OK' WHERE status = 'ALARM'",
        [],
    )?;

    // investigate_incident
    let mut stmt =
        db.prepare("SELECT sensor_id, incident_time FROM incidents WHERE incident_id = ?1")?;
    let (sensor_id, it): (String, i64) =
        stmt.query_row([1i64], |row| Ok((row.get(0)?, row.get(1)?)))?;
    assert_eq!((sensor_id.as_str(), it), ("SENSOR_005", incident_time));
    let before_time = incident_time - 300;
    let before_time_str = chrono::DateTime::from_timestamp(before_time, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let query_before = format!(
        "SELECT sensor_id, temperature, pressure, vibration, status, timestamp
             FROM sensor_readings
             AS OF TIMESTAMP '{}'
             WHERE sensor_id = ?1
               AND timestamp >= {}
               AND timestamp < {}
             ORDER BY timestamp ASC",
        before_time_str, before_time, incident_time
    );
    let mut stmt = db.prepare(&query_before)?;
    let readings_before: Vec<(i64, f64)> = stmt
        .query_map([&sensor_id], |row| Ok((row.get(5)?, row.get(3)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    // As of 5 minutes before the incident only the reading at exactly that moment existed.
    assert_eq!(readings_before, vec![(before_time, 2.0)]);
    let after_time = incident_time + 300;
    let after_time_str = chrono::DateTime::from_timestamp(after_time, 0)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let query_after = format!(
        "SELECT sensor_id, temperature, pressure, vibration, status, timestamp
             FROM sensor_readings
             AS OF TIMESTAMP '{}'
             WHERE sensor_id = ?1
               AND timestamp >= {}
               AND timestamp < {}
             ORDER BY timestamp ASC",
        after_time_str, incident_time, after_time
    );
    let mut stmt = db.prepare(&query_after)?;
    let readings_after: Vec<(i64, f64, String)> = stmt
        .query_map([&sensor_id], |row| {
            Ok((row.get(5)?, row.get(3)?, row.get(4)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    assert_eq!(readings_after.len(), 5);
    assert_eq!(
        readings_after[0],
        (incident_time, 7.5, "ALARM".to_string()),
        "history keeps the spike"
    );
    let now_vibration: f64 = db.query_row(
        "SELECT vibration FROM sensor_readings WHERE sensor_id = ?1 AND timestamp = ?2",
        (&sensor_id, incident_time),
        |r| r.get(0),
    )?;
    assert_eq!(now_vibration, 2.0);

    // get_unsynced_readings / mark_synced
    let mut stmt = db.prepare(
        "SELECT id, sensor_id, temperature, pressure, vibration, status, timestamp
             FROM sensor_readings
             WHERE synced = 0 AND device_id = ?1
             ORDER BY timestamp ASC LIMIT 5000",
    )?;
    let ids: Vec<i64> = stmt
        .query_map([&device_id], |row| row.get::<_, i64>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    assert_eq!(ids.len(), 40);
    for id in &ids[..10] {
        db.execute(
            "UPDATE sensor_readings SET synced = 1 WHERE id = ?1",
            [id.to_string()],
        )?;
    }
    let left: i64 = db.query_row(
        "SELECT count(*) FROM sensor_readings WHERE synced = 0",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(left, 30);
    // check_and_investigate_incidents
    let mut stmt = db.prepare(
        "SELECT incident_id FROM incidents WHERE resolved = 0 ORDER BY incident_time DESC LIMIT 1",
    )?;
    let incident_ids: Vec<i64> = stmt
        .query_map([], |row| row.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    assert_eq!(incident_ids, vec![1]);
    db.execute(
        "UPDATE incidents SET resolved = 1 WHERE incident_id = ?1",
        [1i64.to_string()],
    )?;
    let open: i64 = db.query_row(
        "SELECT count(*) FROM incidents WHERE resolved = 0",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(open, 0);
    Ok(())
}
