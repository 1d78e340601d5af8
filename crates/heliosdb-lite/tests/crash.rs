//! Crash test: a child process commits numbered transactions through SQL and is killed with
//! SIGKILL at a random moment; after every reopen the database must hold exactly a prefix of
//! the commits, with every acknowledged commit present, nothing unacknowledged beyond one
//! in-flight commit, every surviving SCN readable AS OF with the right contents, and SCNs and
//! transaction ids continuing without reuse.
//!
//! Background GC runs with a small retention, so kills also interrupt GC; collected points must
//! fail with "snapshot too old", and indexes must agree with tables at historical points.
//!
//! 50 kill cycles by default; `HELIOS_CRASH_CYCLES=N` for more.

use heliosdb_lite::{Config, Connection};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn open(dir: &Path) -> Connection {
    let mut c = Config::with_path(dir.join("db"));
    c.database.enable_wal = true;
    // Keep little history so background GC runs during the test, interrupted by the kills.
    c.snapshot.min_retention_seconds = 0;
    c.snapshot.max_snapshots = 300;
    Connection::open(c).expect("open")
}

/// The child: commit rows n, n+1, ... and acknowledge each after its commit returns.
fn child(dir: &Path) {
    let conn = open(dir);
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS log (n INTEGER PRIMARY KEY, v TEXT NOT NULL);
         CREATE INDEX IF NOT EXISTS log_v ON log(v);",
    )
    .unwrap();
    let mut n: i64 = conn
        .query_row("SELECT coalesce(max(n), 0) FROM log", [], |r| r.get(0))
        .unwrap();
    let stdout = std::io::stdout();
    loop {
        n += 1;
        conn.execute("INSERT INTO log VALUES (?1, 'row ' || ?1)", [n])
            .unwrap();
        let scn: i64 = conn
            .query_row("SELECT current_scn()", [], |r| r.get(0))
            .unwrap();
        let txid = conn.last_txn_id().unwrap();
        {
            let mut out = stdout.lock();
            writeln!(out, "ack {n} {scn} {txid}").unwrap();
            out.flush().unwrap();
        }
        if n % 50 == 0 {
            // GC in the foreground too, so kills land in the middle of GC runs as well.
            conn.execute_batch("VACUUM HISTORY").unwrap();
        }
    }
}

struct Ack {
    n: i64,
    scn: i64,
    txid: u64,
}

fn cycle(dir: &Path, rng: &mut u64) -> Vec<Ack> {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .arg("--child")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let p: Vec<&str> = line.split_whitespace().collect();
            if p.len() == 4 && p[0] == "ack" {
                let _ = tx.send(Ack {
                    n: p[1].parse().unwrap(),
                    scn: p[2].parse().unwrap(),
                    txid: p[3].parse().unwrap(),
                });
            }
        }
    });
    // xorshift: a kill moment between 20 and 200 ms after start.
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    let wait = Duration::from_millis(20 + *rng % 180);
    std::thread::sleep(wait);
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    reader.join().unwrap();
    rx.try_iter().collect()
}

fn verify(
    dir: &Path,
    acks: &[Ack],
    prev_rows: i64,
    prev_max_txid: u64,
    prev_max_scn: i64,
) -> Result<(i64, u64, i64), String> {
    let conn = open(dir);
    let Ok((count, max)) =
        conn.query_row("SELECT count(*), coalesce(max(n), 0) FROM log", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })
    else {
        // Killed before the table was created.
        if acks.is_empty() {
            return Ok((prev_rows, prev_max_txid, prev_max_scn));
        }
        return Err("table missing after acknowledged commits".into());
    };
    if count != max {
        return Err(format!("rows are not a prefix: {count} rows, max n {max}"));
    }
    // Rows found after the previous reopen count as acknowledged too.
    let last_acked = acks.last().map_or(prev_rows, |a| a.n.max(prev_rows));
    if max < last_acked {
        return Err(format!(
            "acknowledged commit {last_acked} lost (max n {max})"
        ));
    }
    if max > last_acked + 1 {
        return Err(format!(
            "{} rows beyond the last acknowledged {last_acked}",
            max - last_acked
        ));
    }
    let mut max_txid = prev_max_txid;
    let mut max_scn = prev_max_scn;
    for (i, a) in acks.iter().enumerate() {
        if a.txid <= prev_max_txid || a.scn <= prev_max_scn {
            return Err(format!(
                "SCN {} / transaction {} reused across a restart",
                a.scn, a.txid
            ));
        }
        max_txid = max_txid.max(a.txid);
        max_scn = max_scn.max(a.scn);
        // Reading every point costs O(rows) each; a spread of points per cycle suffices.
        if i % (acks.len() / 8).max(1) != 0 && i + 1 != acks.len() {
            continue;
        }
        // Collected by GC: a clear error, never partial rows.
        let collected =
            |e: &heliosdb_lite::Error| matches!(e, heliosdb_lite::Error::SnapshotTooOld { .. });
        match conn.query_row(
            "SELECT count(*), max(n) FROM log AS OF SCN ?",
            [a.scn],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        ) {
            Ok((c, m)) if c == a.n && m == a.n => {}
            Ok((c, m)) => {
                return Err(format!(
                    "AS OF SCN {}: {c} rows, max {m}; expected {}",
                    a.scn, a.n
                ))
            }
            Err(e) if collected(&e) && (a.scn as u64) < conn.mvcc().horizon() => continue,
            Err(e) => return Err(format!("AS OF SCN {}: {e}", a.scn)),
        }
        // The index agrees with the table at that point too.
        let by_index: i64 = conn
            .query_row(
                "SELECT count(*) FROM log AS OF SCN ? WHERE v > ''",
                [a.scn],
                |r| r.get(0),
            )
            .map_err(|e| format!("index AS OF SCN {}: {e}", a.scn))?;
        if by_index != a.n {
            return Err(format!(
                "AS OF SCN {}: the index finds {by_index} rows, the table {}",
                a.scn, a.n
            ));
        }
        match conn.query_row(
            &format!("SELECT count(*) FROM log AS OF TRANSACTION {}", a.txid),
            [],
            |r| r.get::<_, i64>(0),
        ) {
            Ok(t) if t == a.n => {}
            Ok(t) => {
                return Err(format!(
                    "AS OF TRANSACTION {}: {t} rows, expected {}",
                    a.txid, a.n
                ))
            }
            Err(e) if collected(&e) => {}
            Err(e) => return Err(format!("AS OF TRANSACTION {}: {e}", a.txid)),
        }
    }
    // Every row and index entry agree.
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if check != "ok" {
        return Err(format!("integrity check: {check}"));
    }
    let latest: i64 = conn
        .query_row("SELECT current_scn()", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    Ok((max, max_txid, latest.max(max_scn)))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(Path::new(&args[i + 1]));
        return;
    }
    // Under `cargo test -- <filter>` only run when the filter allows it.
    if args
        .iter()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"crash".contains(a.as_str()))
    {
        println!("0 passed, 0 failed");
        return;
    }
    let cycles: usize = std::env::var("HELIOS_CRASH_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ std::process::id() as u64;
    let started = Instant::now();
    let (mut rows, mut max_txid, mut max_scn) = (0i64, 0u64, 0i64);
    let mut total_acked = 0;
    for c in 0..cycles {
        let acks = cycle(dir.path(), &mut rng);
        total_acked += acks.len();
        match verify(dir.path(), &acks, rows, max_txid, max_scn) {
            Ok((r, t, s)) => {
                rows = r;
                max_txid = t;
                max_scn = s;
            }
            Err(e) => {
                eprintln!("crash cycle {c}: {e}");
                println!("0 passed, 1 failed");
                std::process::exit(1);
            }
        }
    }
    let horizon = open(dir.path()).mvcc().horizon();
    if cycles >= 10 && horizon == 0 {
        eprintln!("crash test: GC never advanced the horizon");
        println!("0 passed, 1 failed");
        std::process::exit(1);
    }
    eprintln!(
        "crash test: {cycles} SIGKILL cycles, {total_acked} acknowledged commits verified in {:.1}s (GC horizon now SCN {horizon})",
        started.elapsed().as_secs_f64()
    );
    println!("1 passed, 0 failed");
}
