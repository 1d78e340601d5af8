//! Example 1 of the product brief: a year-end regulatory audit of account balances.
//!
//! The story's commits are dated where the story puts them (December 2024 to November 2025)
//! with a manual clock, then the brief's audit queries run as written.

use heliosdb_lite::time::ManualClock;
use heliosdb_lite::{Config, Connection};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clock = ManualClock::at("2024-11-30 10:00:00")?;
    let conn = Connection::open(Config::in_memory().clock(Arc::new(clock.clone())))?;
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
    conn.execute(
        "INSERT INTO accounts (account_id, customer_name, balance) VALUES
         (1001, 'Alice Johnson', 10000.00),
         (1002, 'Bob Smith', 20000.00),
         (1003, 'Carol Davis', 5000.00)",
        [],
    )?;
    // Daily postings through December and into January: transactions 4 .. 50.
    let start = chrono::NaiveDate::from_ymd_opt(2024, 12, 1).ok_or("date")?;
    for day in 0..47i64 {
        clock.set_text(&format!("{} 12:00:00", start + chrono::Duration::days(day)))?;
        let id = [1001, 1002, 1003][day as usize % 3];
        let amount = if day % 4 == 3 {
            -(50 + day)
        } else {
            100 + day * 3
        };
        conn.execute(
            "UPDATE accounts SET balance = balance + ?1, last_modified = strftime('%s', 'now') WHERE account_id = ?2",
            (amount, id),
        )?;
    }
    clock.set_text("2025-11-30 08:00:00")?;
    conn.execute(
        "UPDATE accounts SET balance = 22300.00 WHERE account_id = 1002",
        [],
    )?;

    println!("=== Year-End Audit Report (2024-12-31) ===");
    let mut stmt = conn.prepare(
        "SELECT account_id, customer_name, balance
        FROM accounts
        AS OF TIMESTAMP '2024-12-31 23:59:59'
        ORDER BY account_id",
    )?;
    let accounts = stmt.query_map([], |row| {
        Ok((
            row.get::<_, i32>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, f64>(2)?,
        ))
    })?;
    let mut total_balance = 0.0;
    for result in accounts {
        let (account_id, customer_name, balance) = result?;
        println!(
            "Account {}: {} - ${:.2}",
            account_id, customer_name, balance
        );
        total_balance += balance;
    }
    println!("Total Assets (2024-12-31): ${:.2}\n", total_balance);

    println!("=== Incident Investigation (Transaction 42) ===");
    let mut stmt = conn.prepare(
        "SELECT account_id, customer_name, balance
        FROM accounts
        AS OF TRANSACTION 42
        WHERE account_id = 1002",
    )?;
    let state = stmt.query_map([], |row| {
        Ok((
            row.get::<_, i32>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, f64>(2)?,
        ))
    })?;
    for result in state {
        let (account_id, customer_name, balance) = result?;
        println!(
            "Account {} after TXN 42: {} - ${:.2}",
            account_id, customer_name, balance
        );
    }
    let before: f64 = conn.query_row(
        "SELECT balance FROM accounts BEFORE TRANSACTION 42 WHERE account_id = 1002",
        [],
        |r| r.get(0),
    )?;
    println!("Account 1002 before TXN 42: ${before:.2}");
    let current_balance: f64 = conn
        .prepare("SELECT balance FROM accounts WHERE account_id = 1002")?
        .query_row([], |row| row.get(0))?;
    println!("Account 1002 current balance: ${:.2}\n", current_balance);

    println!("=== Balance Trend Analysis (Account 1001) ===");
    for snapshot_time in [
        "2024-12-01 00:00:00",
        "2024-12-15 00:00:00",
        "2024-12-31 23:59:59",
    ] {
        let trend_query = format!(
            "SELECT balance FROM accounts
             AS OF TIMESTAMP '{}'
             WHERE account_id = 1001",
            snapshot_time
        );
        let balance: f64 = conn
            .prepare(&trend_query)?
            .query_row([], |row| row.get(0))?;
        println!("{}: ${:.2}", snapshot_time, balance);
    }
    Ok(())
}
