//! Example 4 of the product brief: invoices locked to a snapshot, disputes reconstructed
//! from it (no HTTP).

use heliosdb_lite::time::ManualClock;
use heliosdb_lite::{Config, Connection};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clock = ManualClock::at("2025-10-01 00:00:00")?;
    let conn = Connection::open(Config::in_memory().clock(Arc::new(clock.clone())))?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS usage_events (
            event_id INTEGER PRIMARY KEY AUTOINCREMENT,
            customer_id TEXT NOT NULL,
            api_calls INTEGER NOT NULL,
            storage_gb REAL NOT NULL,
            bandwidth_gb REAL NOT NULL,
            recorded_at INTEGER DEFAULT (strftime('%s', 'now'))
        );
        CREATE INDEX IF NOT EXISTS idx_usage_customer_time ON usage_events(customer_id, recorded_at);
        CREATE TABLE IF NOT EXISTS invoices (
            invoice_id INTEGER PRIMARY KEY AUTOINCREMENT,
            customer_id TEXT NOT NULL,
            billing_period_start TEXT NOT NULL,
            billing_period_end TEXT NOT NULL,
            total_api_calls INTEGER NOT NULL,
            total_storage_gb REAL NOT NULL,
            total_bandwidth_gb REAL NOT NULL,
            amount_due REAL NOT NULL,
            generated_at INTEGER DEFAULT (strftime('%s', 'now'))
        );",
    )?;
    for (t, calls, st, bw) in [
        ("2025-10-05 10:00:00", 5000, 10.5, 2.3),
        ("2025-10-20 10:00:00", 7000, 11.0, 3.2),
        ("2025-10-28 10:00:00", 3000, 0.5, 0.5),
    ] {
        clock.set_text(t)?;
        let (id, at): (i64, i64) = conn.query_row(
            "INSERT INTO usage_events (customer_id, api_calls, storage_gb, bandwidth_gb)
             VALUES (?1, ?2, ?3, ?4) RETURNING event_id, recorded_at",
            ("cust_123", calls, st, bw),
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        println!("usage event {id} recorded at {at}: {calls} calls");
    }
    clock.set_text("2025-10-31 12:00:00")?;
    let (period_start, period_end) = ("2025-10-01 12:00:00", "2025-10-31 12:00:00");
    let query = format!(
        "SELECT SUM(api_calls), SUM(storage_gb), SUM(bandwidth_gb)
         FROM usage_events AS OF TIMESTAMP '{period_end}'
         WHERE customer_id = ?1
           AND recorded_at >= strftime('%s', '{period_start}')
           AND recorded_at <= strftime('%s', '{period_end}')"
    );
    let (calls, storage, bandwidth): (i64, f64, f64) = conn
        .prepare(&query)?
        .query_row(["cust_123"], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let amount = calls as f64 * 0.001 + storage * 0.10 + bandwidth * 0.05;
    let invoice_id: i64 = conn.query_row(
        "INSERT INTO invoices (customer_id, billing_period_start, billing_period_end,
          total_api_calls, total_storage_gb, total_bandwidth_gb, amount_due)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING invoice_id",
        (
            "cust_123",
            period_start,
            period_end,
            calls,
            storage,
            bandwidth,
            amount,
        ),
        |r| r.get(0),
    )?;
    println!("\ninvoice {invoice_id}: {calls} calls, {storage:.1} GB stored, {bandwidth:.1} GB sent: ${amount:.2}");

    clock.set_text("2025-11-03 09:00:00")?;
    conn.execute(
        "UPDATE usage_events SET api_calls = 70000 WHERE event_id = 2",
        [],
    )?;
    println!("(a later correction changed event 2 to 70000 calls)");

    let generated_at: i64 = conn.query_row(
        "SELECT generated_at FROM invoices WHERE invoice_id = ?1",
        [invoice_id],
        |r| r.get(0),
    )?;
    let generated = chrono::DateTime::from_timestamp(generated_at, 0)
        .ok_or("time")?
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    println!("\n=== Dispute: usage exactly as invoice {invoice_id} saw it ({generated}) ===");
    let dispute = format!(
        "SELECT event_id, api_calls, storage_gb, bandwidth_gb, recorded_at
         FROM usage_events AS OF TIMESTAMP '{generated}'
         WHERE customer_id = ?1
           AND recorded_at >= strftime('%s', '{period_start}')
           AND recorded_at <= strftime('%s', '{period_end}')
         ORDER BY recorded_at ASC"
    );
    let mut stmt = conn.prepare(&dispute)?;
    for r in stmt.query_map(["cust_123"], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (id, calls) = r?;
        println!("event {id}: {calls} calls");
    }
    let today: i64 = conn.query_row(
        "SELECT SUM(api_calls) FROM usage_events WHERE customer_id = 'cust_123'",
        [],
        |r| r.get(0),
    )?;
    println!("today the same events add up to {today} calls");
    Ok(())
}
