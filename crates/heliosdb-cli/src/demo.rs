//! `heliosdb-lite demo`: the brief's financial-audit story, told in about a screen.

use crate::output::{self, Format, Mode};
use heliosdb_lite::mvcc::Retention;
use heliosdb_lite::time::ManualClock;
use heliosdb_lite::{Config, Connection, Result};
use std::path::PathBuf;
use std::sync::Arc;

/// `println!` that ignores a closed or full standard output instead of panicking
/// (`heliosdb-lite demo | head` must end quietly).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

fn show(conn: &Connection, sql: &str) -> Result<()> {
    out!("  {}", sql.split_whitespace().collect::<Vec<_>>().join(" "));
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query([])?;
    let cols = rows.column_names().to_vec();
    let values = rows.into_values()?;
    let _ = output::print(
        &mut std::io::stdout().lock(),
        Format {
            mode: Mode::Table,
            headers: true,
        },
        &cols,
        &values,
    );
    Ok(())
}

fn say(s: &str) {
    out!("\n\u{25b6} {s}");
}

/// Runs the demo on a fresh database (in memory, or in `path`).
pub fn run(path: Option<PathBuf>) -> Result<()> {
    // The story spans a year, so the demo dates its commits with its own clock.
    let clock = ManualClock::at("2024-12-01 09:00:00")?;
    let mut config = match path {
        Some(p) => {
            if p.exists() {
                return Err(heliosdb_lite::Error::invalid(format!(
                    "{} already exists; the demo needs a fresh database",
                    p.display()
                )));
            }
            Config::with_path(p)
        }
        None => Config::in_memory(),
    };
    config.snapshot.auto_gc_enabled = false;
    let conn = Connection::open(config.clock(Arc::new(clock.clone())))?;

    say("HeliosDB-Lite keeps every committed state of the database. We create a bank's accounts table.");
    conn.execute_batch(
        "CREATE TABLE accounts (account_id INTEGER PRIMARY KEY, customer_name TEXT NOT NULL,
                                balance DECIMAL(15,2) NOT NULL);
         INSERT INTO accounts VALUES (1001, 'Alice Johnson', 10000.00),
                                     (1002, 'Bob Smith', 20000.00),
                                     (1003, 'Carol Davis', 5000.00);",
    )?;
    say("Balances change over December, one transaction at a time (each gets a transaction id and an SCN).");
    let moves = [
        ("2024-12-10 10:00:00", 1001, 1002, "250.00"),
        ("2024-12-20 15:30:00", 1002, 1003, "1200.00"),
        ("2024-12-31 17:45:00", 1003, 1001, "75.50"),
        ("2025-01-15 09:15:00", 1002, 1001, "5000.00"),
    ];
    let mut bob_txn = 0;
    for (when, from, to, amount) in moves {
        clock.set_text(when)?;
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE accounts SET balance = balance - ?1 WHERE account_id = ?2",
            (amount, from),
        )?;
        tx.execute(
            "UPDATE accounts SET balance = balance + ?1 WHERE account_id = ?2",
            (amount, to),
        )?;
        tx.commit()?;
        let txid = conn.last_txn_id().unwrap_or(0);
        if from == 1002 && amount == "5000.00" {
            bob_txn = txid;
        }
        out!("  {when}  transaction {txid}: {amount} from {from} to {to}");
    }
    say("The balances today:");
    show(
        &conn,
        "SELECT account_id, customer_name, balance FROM accounts ORDER BY account_id",
    )?;
    say("The auditor asks for the year-end 2024 balances: AS OF TIMESTAMP reads the database as it was then.");
    show(&conn, "SELECT account_id, customer_name, balance FROM accounts AS OF TIMESTAMP '2024-12-31 23:59:59' ORDER BY account_id")?;
    say(&format!("Bob's large transfer was transaction {bob_txn}. Right after it (AS OF TRANSACTION) and just before it (BEFORE TRANSACTION):"));
    show(
        &conn,
        &format!(
            "SELECT balance FROM accounts AS OF TRANSACTION {bob_txn} WHERE account_id = 1002"
        ),
    )?;
    show(
        &conn,
        &format!(
            "SELECT balance FROM accounts BEFORE TRANSACTION {bob_txn} WHERE account_id = 1002"
        ),
    )?;
    say("Current and historical rows side by side, in one query:");
    show(
        &conn,
        "SELECT c.customer_name, h.balance AS year_end, c.balance AS today, c.balance - h.balance AS change
         FROM accounts c JOIN accounts AS OF TIMESTAMP '2024-12-31 23:59:59' h ON c.account_id = h.account_id
         ORDER BY c.account_id",
    )?;
    say("Every commit is a snapshot you can name by SCN, transaction id or time:");
    show(
        &conn,
        "SELECT scn, txn_id, committed_at FROM helios_snapshots ORDER BY scn",
    )?;
    say("Retention decides how far back you can go. Keep only the newest snapshot and collect the rest:");
    conn.mvcc().set_retention(Retention {
        min_retention_us: 0,
        max_snapshots: 1,
    });
    let r = conn.gc()?;
    out!(
        "  VACUUM HISTORY removed {} snapshots and {} old row versions; the oldest readable SCN is now {}.",
        r.snapshots_removed, r.versions_removed, r.new_horizon
    );
    say("The year-end audit point has been collected, so asking for it is now a clear error, not wrong data:");
    match conn
        .prepare("SELECT balance FROM accounts AS OF TIMESTAMP '2024-12-31 23:59:59' WHERE account_id = 1001")?
        .query_row([], |r| r.get::<_, String>(0))
    {
        Ok(v) => out!("  unexpected result {v}"),
        Err(e) => out!("  Error: {e}"),
    }
    out!("\nThat is time travel. Try it yourself: heliosdb-lite mydb  (then .help)");
    Ok(())
}
