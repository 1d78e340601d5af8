//! Crash test: a child process commits numbered transactions through SQL and is killed with
//! SIGKILL at a random moment; after every reopen the database must hold exactly a prefix of
//! the commits, with every acknowledged commit present, nothing unacknowledged beyond one
//! in-flight commit, every surviving SCN readable AS OF with the right contents, and SCNs and
//! transaction ids continuing without reuse.
//!
//! Background GC runs with a small retention, so kills also interrupt GC; collected points must
//! fail with "snapshot too old", and indexes must agree with tables at historical points.
//!
//! Every twentieth transaction is big: thousands of rows (one multi-row statement, then single
//! inserts, an UPDATE of the previous big transaction's rows, then rows added and rolled back
//! to a savepoint) with a write-set budget of 1 MiB,
//! so it spills to storage; kills land while it is built, while its commit is applied and
//! after. Its rows must then be all there or none, and no private data may be left.
//! Once `log` is large enough to keep a change log, its new rows go to the private range;
//! each big transaction therefore also creates a table `b<n>` of its own, copies its rows
//! into it, indexes it and inserts more rows it rolls back to a savepoint: those rows are
//! written straight to their heads at the spills (`mvcc::direct`), and the index's entries
//! (more than half the write-set budget) are written to their heads in bulk, in key order
//! (`Transaction::put_new_sorted`). In a random half of the child runs those direct writes
//! (and the commit of a big transaction's new keys) go into ingested table files instead of
//! through the journal (`Storage::write_sorted`), so kills land in both. Half of `b<n>`'s rows
//! are copied a row a statement: the helper thread writes them ahead of the commit
//! (`mvcc::ahead`), 64 at a time, so kills also land while it writes. A `b<n>` must exist, with all its rows and index entries,
//! exactly when the big transaction committed, and after a reopen no head may carry an SCN
//! beyond the newest commit (the heads of a transaction killed before its commit were taken
//! back).
//!
//! Right after its commit, an autocommit UPDATE lengthens every row of `b<n>`: over the
//! budget, it writes them over their committed heads at its spills (`mvcc::overwrite`); its
//! rows must then be all changed or none.
//!
//! A trigger on `log` updates one row of `tally` in every commit, so its head lists its past
//! versions (format 7): its value `AS OF` each checked point must be that point's newest row.
//!
//! Full scans are checked at the same points: once the table passes the tracking threshold,
//! background maintenance packs it (`mvcc::pack`), and scans read the pack and its change log.
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
    // The smallest write-set budget: the big transactions spill.
    c.database.txn_memory_mb = Some(1);
    // In half the runs the big transactions' new rows and index entries go into ingested
    // table files (at their spills, their index builds and their commits) instead of
    // through the journal and memtable: both paths are killed, in one database.
    if std::env::var_os(INGEST).is_some() {
        c.ingest_min_keys = Some(64);
    }
    // Statements of more than a few rows hand them to the helper that writes them ahead of
    // the commit (`mvcc::ahead`): kills land while it writes.
    c.write_ahead_keys = Some(64);
    Connection::open(c).expect("open")
}

/// Set for a child whose big transactions write their new keys by ingestion.
const INGEST: &str = "HELIOS_CRASH_INGEST";

/// The child: commit rows n, n+1, ... and acknowledge each after its commit returns.
fn child(dir: &Path) {
    let conn = open(dir);
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS log (n INTEGER PRIMARY KEY, v TEXT NOT NULL);
         CREATE INDEX IF NOT EXISTS log_v ON log(v);
         CREATE TABLE IF NOT EXISTS tally (k INTEGER PRIMARY KEY, n INTEGER NOT NULL);
         INSERT OR IGNORE INTO tally VALUES (0, 0);
         CREATE TRIGGER IF NOT EXISTS log_tally AFTER INSERT ON log
             BEGIN UPDATE tally SET n = NEW.n WHERE k = 0; END;",
    )
    .unwrap();
    let mut n: i64 = conn
        .query_row("SELECT coalesce(max(n), 0) FROM log", [], |r| r.get(0))
        .unwrap();
    let stdout = std::io::stdout();
    let say = |line: String| {
        let mut out = stdout.lock();
        writeln!(out, "{line}").unwrap();
        out.flush().unwrap();
    };
    let mut txns = 0u64;
    // The table of the last committed big transaction, which the next one rewrites.
    let mut previous_own: Option<String> = conn
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'b%' \
             ORDER BY CAST(substr(name, 2) AS INTEGER) DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .ok();
    loop {
        txns += 1;
        if txns % 20 == 0 {
            // A big transaction: rows n+1 ..= n+BIG in one commit.
            say(format!("big {}", n + BIG));
            conn.execute_batch("BEGIN").unwrap();
            conn.execute(
                "WITH RECURSIVE s(x) AS (SELECT ?1 UNION ALL SELECT x + 1 FROM s WHERE x < ?2) \
                 INSERT INTO log SELECT x, 'row ' || x || ?3 FROM s",
                heliosdb_lite::params![n + 1, n + BIG / 2, PAD],
            )
            .unwrap();
            for i in n + BIG / 2 + 1..=n + BIG {
                conn.execute(
                    "INSERT INTO log VALUES (?1, 'row ' || ?1 || ?2)",
                    heliosdb_lite::params![i, PAD],
                )
                .unwrap();
            }
            // The rows of the previous big transaction rewritten, in `log` (read through its
            // pack once it has one) and in that transaction's own table (through its heads):
            // more committed heads than the transaction keeps for its commit, so most travel
            // into its spilled pending versions, and a commit completed after a kill takes
            // them from there.
            conn.execute(
                "UPDATE log SET v = v || '+' WHERE n > ?1 AND n <= ?2",
                [(n - BIG).max(0), n],
            )
            .unwrap();
            if let Some(prev) = &previous_own {
                conn.execute_batch(&format!("UPDATE {prev} SET v = v || '+'"))
                    .unwrap();
            }
            let own = format!("b{}", n + BIG);
            conn.execute_batch(&format!(
                "CREATE TABLE {own}(n INTEGER PRIMARY KEY, v TEXT NOT NULL);
                 INSERT INTO {own} SELECT n, v FROM log WHERE n > {n} AND n <= {};",
                n + BIG / 2
            ))
            .unwrap();
            // A row a statement: every 64 go to the helper writing them ahead.
            for i in n + BIG / 2 + 1..=n + BIG {
                conn.execute(
                    &format!("INSERT INTO {own} SELECT n, v FROM log WHERE n = ?1"),
                    [i],
                )
                .unwrap();
            }
            conn.execute_batch(&format!("CREATE INDEX {own}_v ON {own}(v)"))
                .unwrap();
            conn.execute_batch("SAVEPOINT extra").unwrap();
            for i in n + BIG + 1..=n + BIG + 300 {
                conn.execute("INSERT INTO log VALUES (?1, 'extra')", [i])
                    .unwrap();
            }
            // Enough rows to spill at least once before the rollback.
            conn.execute(
                &format!(
                    "WITH RECURSIVE s(x) AS (SELECT ?1 UNION ALL SELECT x + 1 FROM s WHERE x < ?2) \
                     INSERT INTO {own} SELECT x, 'extra ' || x || ?3 FROM s"
                ),
                heliosdb_lite::params![n + BIG + 1, n + BIG + 1000, PAD],
            )
            .unwrap();
            conn.execute_batch("ROLLBACK TO extra; RELEASE extra")
                .unwrap();
            n += BIG;
            say(format!("try {n}"));
            conn.execute_batch("COMMIT").unwrap();
            previous_own = Some(own);
        } else {
            n += 1;
            conn.execute("INSERT INTO log VALUES (?1, 'row ' || ?1)", [n])
                .unwrap();
        }
        let scn: i64 = conn
            .query_row("SELECT current_scn()", [], |r| r.get(0))
            .unwrap();
        let txid = conn.last_txn_id().unwrap();
        say(format!("ack {n} {scn} {txid}"));
        if txns % 20 == 0 {
            // An autocommit UPDATE of every row of the big transaction's own table, with
            // longer values: over the budget, it writes the rows over their heads at its
            // spills (`mvcc::overwrite`), so kills land in those writes and in its commit.
            if let Some(own) = &previous_own {
                conn.execute_batch(&format!("UPDATE {own} SET v = v || '*' || '{PAD}'"))
                    .unwrap();
            }
        }
        if n % 50 == 0 {
            // GC in the foreground too, so kills land in the middle of GC runs as well.
            conn.execute_batch("VACUUM HISTORY").unwrap();
        }
    }
}

/// Rows in a big transaction.
const BIG: i64 = 1500;
/// Appended to the text of its rows (and index entries), so that few rows outgrow the
/// 1 MiB budget and the verification stays quick.
const PAD: &str = "................................................................................................................................................................................................................................................................................................................";

struct Ack {
    n: i64,
    scn: i64,
    txid: u64,
}

/// Where the child was when it was killed, as far as its output tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moment {
    /// Elsewhere (single-row commits).
    Other,
    /// Building a big transaction (rows up to the number given).
    Building(i64),
    /// Committing a big transaction (rows up to the number given).
    Committing(i64),
    /// After a big transaction's commit was acknowledged in this run.
    AfterBig,
}

fn cycle(dir: &Path, rng: &mut u64) -> (Vec<Ack>, Moment) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe);
    if *rng & 1 == 1 {
        child.env(INGEST, "1");
    } else {
        child.env_remove(INGEST);
    }
    let mut child = child
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
                let _ = tx.send(Ok(Ack {
                    n: p[1].parse().unwrap(),
                    scn: p[2].parse().unwrap(),
                    txid: p[3].parse().unwrap(),
                }));
            } else if p.len() == 2 && (p[0] == "big" || p[0] == "try") {
                let n: i64 = p[1].parse().unwrap();
                let _ = tx.send(Err(if p[0] == "big" {
                    Moment::Building(n)
                } else {
                    Moment::Committing(n)
                }));
            }
        }
    });
    // xorshift: a kill moment between 20 and 400 ms after start (a big transaction takes
    // a few hundred milliseconds on a loaded machine: some must commit for `log` to grow
    // past the tracking threshold).
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    let wait = Duration::from_millis(20 + *rng % 380);
    std::thread::sleep(wait);
    // The child never ends by itself: one that did failed (its panic is on stderr), and a
    // cycle without a kill would verify nothing.
    if let Some(status) = child.try_wait().expect("child status") {
        panic!("the child ended before it was killed ({status}): see its output above");
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    reader.join().unwrap();
    let mut acks = Vec::new();
    let mut moment = Moment::Other;
    for m in rx.try_iter() {
        match m {
            Ok(a) => {
                moment = match moment {
                    Moment::Committing(n) if n == a.n => Moment::AfterBig,
                    Moment::AfterBig => Moment::AfterBig,
                    _ => Moment::Other,
                };
                acks.push(a);
            }
            Err(m) => moment = m,
        }
    }
    (acks, moment)
}

fn verify(
    dir: &Path,
    acks: &[Ack],
    moment: Moment,
    prev_rows: i64,
    prev_max_txid: u64,
    prev_max_scn: i64,
    integrity: bool,
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
    // A big transaction killed in its commit may have been committed: all of it.
    let in_flight = match moment {
        Moment::Committing(n) => n,
        _ => last_acked + 1,
    };
    if max > last_acked && max != in_flight {
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
        // Three more reads at the point must each find its newest row number:
        // - a full scan: once the table is large it reads its packed copy, which background
        //   maintenance builds and replaces while the kills land;
        // - the row a trigger on `log` updates in every commit: its head lists its last
        //   versions, so a recent point is read by the exact key of its version, an older one
        //   by a seek;
        // - the index, which must agree with the table.
        for (what, sql) in [
            (
                "a full scan",
                "SELECT count(*) FROM log AS OF SCN ? WHERE n + 0 > 0",
            ),
            (
                "the tally row",
                "SELECT n FROM tally AS OF SCN ? WHERE k = 0",
            ),
            (
                "the index",
                "SELECT count(*) FROM log AS OF SCN ? WHERE v > ''",
            ),
        ] {
            let found: i64 = conn
                .query_row(sql, [a.scn], |r| r.get(0))
                .map_err(|e| format!("{what} AS OF SCN {}: {e}", a.scn))?;
            if found != a.n {
                return Err(format!(
                    "AS OF SCN {}: {what} says {found}, expected {}",
                    a.scn, a.n
                ));
            }
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
    // Each big transaction's own table exists exactly when it committed, whole.
    let own: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'b%'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| format!("listing the big transactions' tables: {e}"))?;
    for name in &own {
        let end: i64 = name[1..].parse().map_err(|_| format!("odd table {name}"))?;
        if end > max {
            return Err(format!("{name} exists, but log ends at {max}"));
        }
        let (rows, by_index): (i64, i64) = conn
            .query_row(
                &format!(
                    "SELECT (SELECT count(*) FROM {name} WHERE n + 0 > 0), \
                     (SELECT count(*) FROM {name} WHERE v > '')"
                ),
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(|e| format!("{name}: {e}"))?;
        if rows != BIG || by_index != BIG {
            return Err(format!(
                "{name}: {rows} rows, {by_index} by its index; expected {BIG}"
            ));
        }
        // The next big transaction rewrites every row of the table, or none.
        let rewritten: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM {name} WHERE v LIKE '%+'"),
                [],
                |r| r.get(0),
            )
            .map_err(|e| format!("{name}: {e}"))?;
        if rewritten != 0 && rewritten != BIG {
            return Err(format!(
                "{name}: {rewritten} of its {BIG} rows rewritten by one UPDATE"
            ));
        }
        // So does the autocommit UPDATE right after its commit.
        let starred: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM {name} WHERE v LIKE '%*%'"),
                [],
                |r| r.get(0),
            )
            .map_err(|e| format!("{name}: {e}"))?;
        if starred != 0 && starred != BIG {
            return Err(format!(
                "{name}: {starred} of its {BIG} rows changed by one autocommit UPDATE"
            ));
        }
    }
    if let Moment::Committing(n) | Moment::Building(n) = moment {
        let exists = own.iter().any(|t| t[1..] == n.to_string());
        if exists != (max >= n) {
            return Err(format!(
                "big transaction up to {n}: its table exists: {exists}, log ends at {max}"
            ));
        }
    }
    // Nothing of a spilled transaction is left in its private range.
    let private = conn
        .mvcc()
        .storage()
        .scan(
            heliosdb_lite::storage::prefix_range(&[heliosdb_lite::mvcc::keys::PRIVATE]),
            heliosdb_lite::storage::Direction::Forward,
        )
        .count();
    if private > 0 {
        return Err(format!("{private} private entries left after reopening"));
    }
    // Heads written ahead of a commit that never happened were all taken back.
    let latest: u64 = conn
        .query_row("SELECT current_scn()", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    for kv in conn.mvcc().storage().scan(
        heliosdb_lite::storage::prefix_range(&[heliosdb_lite::mvcc::keys::HEAD]),
        heliosdb_lite::storage::Direction::Forward,
    ) {
        let (k, v) = kv.map_err(|e| e.to_string())?;
        let begin = heliosdb_lite::mvcc::keys::decode_version(&v)
            .map_err(|e| e.to_string())?
            .begin;
        if begin > latest {
            return Err(format!(
                "head {k:?} written at SCN {begin}, after the newest commit {latest}"
            ));
        }
    }
    // Every row and index entry agree. The check reads each entry's counterpart with a point
    // read, which over the grown table costs far more than the rest of the cycle, so the
    // caller asks for it on some cycles only.
    if integrity {
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        if check != "ok" {
            return Err(format!("integrity check: {check}"));
        }
    }
    Ok((max, max_txid, (latest as i64).max(max_scn)))
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
    let mut moments = std::collections::BTreeMap::new();
    for c in 0..cycles {
        let (acks, moment) = cycle(dir.path(), &mut rng);
        total_acked += acks.len();
        let kind = match moment {
            Moment::Other => "elsewhere",
            Moment::Building(_) => "building a spilled transaction",
            Moment::Committing(_) => "committing a spilled transaction",
            Moment::AfterBig => "after a spilled commit",
        };
        *moments.entry(kind).or_insert(0) += 1;
        // PRAGMA integrity_check after every kill in a spilled commit, every fifth cycle
        // and the last.
        let integrity = matches!(moment, Moment::Committing(_)) || c % 5 == 4 || c + 1 == cycles;
        match verify(
            dir.path(),
            &acks,
            moment,
            rows,
            max_txid,
            max_scn,
            integrity,
        ) {
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
    let conn = open(dir.path());
    let horizon = conn.mvcc().horizon();
    if cycles >= 10 && horizon == 0 {
        eprintln!("crash test: GC never advanced the horizon");
        println!("0 passed, 1 failed");
        std::process::exit(1);
    }
    // The table outgrew the tracking threshold, so the scans above went through packs.
    let pages = conn
        .mvcc()
        .storage()
        .scan(
            heliosdb_lite::storage::prefix_range(&[heliosdb_lite::mvcc::keys::PAGE]),
            heliosdb_lite::storage::Direction::Forward,
        )
        .count();
    if cycles >= 10 && pages == 0 {
        eprintln!("crash test: no pack was ever built");
        println!("0 passed, 1 failed");
        std::process::exit(1);
    }
    drop(conn);
    eprintln!(
        "crash test: {cycles} SIGKILL cycles, {total_acked} acknowledged commits verified in {:.1}s (GC horizon now SCN {horizon}); killed: {moments:?}",
        started.elapsed().as_secs_f64()
    );
    println!("1 passed, 0 failed");
}
