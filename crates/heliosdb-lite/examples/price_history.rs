//! Example 3 of the product brief: product price history for customer disputes (no HTTP).

use heliosdb_lite::time::ManualClock;
use heliosdb_lite::{Config, Connection};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
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
    conn.execute_batch(
        "INSERT INTO products (product_id, name, current_price) VALUES
         (12345, 'Wireless Mouse', 24.99), (12346, 'USB-C Hub', 39.00)",
    )?;
    for (t, id, price) in [
        ("2025-11-25 14:00:00", 12345i64, 27.49),
        ("2025-11-25 15:10:00", 12346, 35.50),
        ("2025-11-25 16:30:00", 12345, 29.99),
    ] {
        clock.set_text(t)?;
        conn.execute(
            "UPDATE products SET current_price = ?1 WHERE product_id = ?2",
            [&price.to_string(), &id.to_string()],
        )?;
        println!("{t}: price of {id} set to {price:.2}");
    }
    clock.set_text("2025-11-25 18:00:00")?;
    println!("\n=== Price when the customer added to cart ===");
    for timestamp in [
        "2025-11-25 10:00:00",
        "2025-11-25 14:30:00",
        "2025-11-25 17:00:00",
    ] {
        let query = format!(
            "SELECT product_id, current_price
         FROM products
         AS OF TIMESTAMP '{}'
         WHERE product_id = ?1",
            timestamp
        );
        let (id, price): (i64, f64) = conn
            .prepare(&query)?
            .query_row([12345], |row| Ok((row.get(0)?, row.get(1)?)))?;
        println!("{timestamp}: product {id} cost ${price:.2}");
    }
    println!("\n=== Today vs. this morning ===");
    let mut stmt = conn.prepare(
        "SELECT c.product_id, c.name, h.current_price, c.current_price
         FROM products c JOIN products AS OF TIMESTAMP '2025-11-25 10:00:00' h ON c.product_id = h.product_id
         ORDER BY c.product_id",
    )?;
    for r in stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, f64>(2)?,
            r.get::<_, f64>(3)?,
        ))
    })? {
        let (id, name, then, now) = r?;
        println!("{id} {name:15} {then:>7.2} -> {now:>7.2}");
    }
    Ok(())
}
