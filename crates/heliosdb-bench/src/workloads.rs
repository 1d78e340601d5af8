//! The workloads and the engine adapters they run on.

use crate::{ratio, Measurement, Opts};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// A point in history, as each engine names it.
#[derive(Debug, Clone)]
pub struct Point {
    scn: i64,
    txid: i64,
    ts: String,
}

/// What the workloads need from an engine.
trait Engine {
    fn name(&self) -> &'static str;
    fn setup(&self, sql: &str) -> Res<()>;
    fn insert_autocommit(&self, rows: &[(i64, i64, i64)]) -> Res<Vec<Duration>>;
    /// Returns the latency of each batch.
    fn insert_batched(&self, rows: &[(i64, i64, i64)], batch: usize) -> Res<Vec<Duration>>;
    fn update_autocommit(&self, table: &str, ids: &[i64], v: i64) -> Res<Vec<Duration>>;
    fn update_batched(&self, table: &str, ids: &[i64], v: i64, batch: usize) -> Res<Vec<Duration>>;
    fn point_selects(
        &self,
        table: &str,
        ids: &[i64],
        at: Option<(&str, &[Point])>,
    ) -> Res<Vec<Duration>>;
    fn range_sums(&self, ranges: &[(i64, i64)], at: Option<&Point>) -> Res<Vec<Duration>>;
    /// The point after the last commit.
    fn point(&self) -> Res<Point>;
    fn supports_as_of(&self) -> bool {
        true
    }
    /// Moves what the engine holds in memory into its tables (`PRAGMA wal_checkpoint`), so
    /// that the next statements read rows from there.
    fn checkpoint(&self) -> Res<()> {
        Ok(())
    }
    /// Loads `rows` into table `ta` (the schema of `t`) through the engine's bulk-load API,
    /// `batch` rows per transaction; `None` for an engine without one.
    fn append_batched(
        &self,
        _rows: &[(i64, i64, i64)],
        _batch: usize,
    ) -> Res<Option<Vec<Duration>>> {
        Ok(None)
    }
}

fn now_text() -> String {
    // Wall clock with microseconds; a short pause keeps points distinct.
    std::thread::sleep(Duration::from_millis(2));
    let t = heliosdb_lite::time::format_micros(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64),
    );
    std::thread::sleep(Duration::from_millis(2));
    t
}

fn timed<F: FnMut() -> Res<()>>(mut f: F) -> Res<Duration> {
    let t = Instant::now();
    f()?;
    Ok(t.elapsed())
}

// ---------------------------------------------------------------- HeliosDB-Lite

struct Helios {
    conn: heliosdb_lite::Connection,
    name: &'static str,
}

impl Helios {
    fn open(path: Option<&Path>) -> Res<Self> {
        let config = match path {
            Some(p) => {
                let mut c = heliosdb_lite::Config::with_path(p);
                c.database.enable_wal = false;
                c
            }
            None => heliosdb_lite::Config::in_memory(),
        };
        Ok(Helios {
            conn: heliosdb_lite::Connection::open(config)?,
            name: if path.is_some() {
                "heliosdb"
            } else {
                "heliosdb-mem"
            },
        })
    }
}

fn as_of_clause(mode: &str) -> &'static str {
    match mode {
        "scn" => "AS OF SCN ?2",
        "transaction" => "AS OF TRANSACTION ?2",
        _ => "AS OF TIMESTAMP ?2",
    }
}

impl Engine for Helios {
    fn name(&self) -> &'static str {
        self.name
    }
    fn checkpoint(&self) -> Res<()> {
        Ok(self
            .conn
            .query_row("PRAGMA wal_checkpoint", [], |_| Ok(()))?)
    }
    fn setup(&self, sql: &str) -> Res<()> {
        Ok(self.conn.execute_batch(sql)?)
    }
    fn append_batched(&self, rows: &[(i64, i64, i64)], batch: usize) -> Res<Option<Vec<Duration>>> {
        let mut out = Vec::new();
        for chunk in rows.chunks(batch) {
            out.push(timed(|| {
                let tx = self.conn.transaction()?;
                let mut app = tx.appender("ta")?;
                for r in chunk {
                    app.append(*r)?;
                }
                app.flush()?;
                drop(app);
                Ok(tx.commit()?)
            })?);
        }
        Ok(Some(out))
    }
    fn insert_autocommit(&self, rows: &[(i64, i64, i64)]) -> Res<Vec<Duration>> {
        let mut stmt = self.conn.prepare("INSERT INTO t VALUES (?1, ?2, ?3)")?;
        rows.iter()
            .map(|r| timed(|| Ok(stmt.execute(*r).map(|_| ())?)))
            .collect()
    }
    fn insert_batched(&self, rows: &[(i64, i64, i64)], batch: usize) -> Res<Vec<Duration>> {
        let mut out = Vec::new();
        for chunk in rows.chunks(batch) {
            out.push(timed(|| {
                let tx = self.conn.transaction()?;
                let mut stmt = tx.prepare("INSERT INTO t VALUES (?1, ?2, ?3)")?;
                for r in chunk {
                    stmt.execute(*r)?;
                }
                drop(stmt);
                Ok(tx.commit()?)
            })?);
        }
        Ok(out)
    }
    fn update_autocommit(&self, table: &str, ids: &[i64], v: i64) -> Res<Vec<Duration>> {
        let mut stmt = self
            .conn
            .prepare(&format!("UPDATE {table} SET v = ?1 WHERE id = ?2"))?;
        ids.iter()
            .map(|id| timed(|| Ok(stmt.execute((v, *id)).map(|_| ())?)))
            .collect()
    }
    fn update_batched(&self, table: &str, ids: &[i64], v: i64, batch: usize) -> Res<Vec<Duration>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(batch) {
            out.push(timed(|| {
                let tx = self.conn.transaction()?;
                let mut stmt = tx.prepare(&format!("UPDATE {table} SET v = ?1 WHERE id = ?2"))?;
                for id in chunk {
                    stmt.execute((v, *id))?;
                }
                drop(stmt);
                Ok(tx.commit()?)
            })?);
        }
        Ok(out)
    }
    fn point_selects(
        &self,
        table: &str,
        ids: &[i64],
        at: Option<(&str, &[Point])>,
    ) -> Res<Vec<Duration>> {
        let mut out = Vec::with_capacity(ids.len());
        match at {
            None => {
                let mut stmt = self
                    .conn
                    .prepare(&format!("SELECT v FROM {table} WHERE id = ?1"))?;
                for id in ids {
                    out.push(timed(|| {
                        let _: i64 = stmt.query_row([*id], |r| r.get(0))?;
                        Ok(())
                    })?);
                }
            }
            Some((mode, points)) => {
                let sql = format!("SELECT v FROM {table} {} WHERE id = ?1", as_of_clause(mode));
                let mut stmt = self.conn.prepare(&sql)?;
                for (i, id) in ids.iter().enumerate() {
                    let p = &points[i % points.len()];
                    let point = match mode {
                        "scn" => heliosdb_lite::types::Value::Integer(p.scn),
                        "transaction" => heliosdb_lite::types::Value::Integer(p.txid),
                        _ => heliosdb_lite::types::Value::Text(p.ts.clone()),
                    };
                    out.push(timed(|| {
                        let _: i64 = stmt.query_row((*id, point.clone()), |r| r.get(0))?;
                        Ok(())
                    })?);
                }
            }
        }
        Ok(out)
    }
    fn range_sums(&self, ranges: &[(i64, i64)], at: Option<&Point>) -> Res<Vec<Duration>> {
        let sql = match at {
            None => "SELECT sum(v) FROM t WHERE k BETWEEN ?1 AND ?2".to_string(),
            Some(p) => format!(
                "SELECT sum(v) FROM t AS OF SCN {} WHERE k BETWEEN ?1 AND ?2",
                p.scn
            ),
        };
        let mut stmt = self.conn.prepare(&sql)?;
        ranges
            .iter()
            .map(|r| {
                timed(|| {
                    let _: Option<i64> = stmt.query_row(*r, |row| row.get(0))?;
                    Ok(())
                })
            })
            .collect()
    }
    fn point(&self) -> Res<Point> {
        let scn: i64 = self
            .conn
            .query_row("SELECT current_scn()", [], |r| r.get(0))?;
        let txid = self.conn.last_txn_id().unwrap_or(0) as i64;
        let ts = self
            .conn
            .mvcc()
            .point(scn as u64)
            .map(|p| heliosdb_lite::time::format_micros(p.commit_time_us))
            .unwrap_or_default();
        Ok(Point { scn, txid, ts })
    }
}

// ---------------------------------------------------------------- SQLite

struct Sqlite {
    conn: rusqlite::Connection,
    trigger: bool,
}

impl Sqlite {
    fn open(path: &Path, trigger: bool) -> Res<Self> {
        let conn = rusqlite::Connection::open(path)?;
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")?;
        Ok(Sqlite { conn, trigger })
    }
}

/// Manual versioning as users build it today: every update copies the old row into a history
/// table stamped with a sequence number.
fn trigger_sql(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {table}_history (id INTEGER, v INTEGER, seq INTEGER);
         CREATE INDEX IF NOT EXISTS {table}_history_id ON {table}_history(id, seq);
         CREATE TABLE IF NOT EXISTS seq (n INTEGER);
         INSERT INTO seq SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM seq);
         CREATE TRIGGER IF NOT EXISTS {table}_upd AFTER UPDATE ON {table} BEGIN
           UPDATE seq SET n = n + 1;
           INSERT INTO {table}_history VALUES (old.id, old.v, (SELECT n FROM seq));
         END;"
    )
}

impl Engine for Sqlite {
    fn name(&self) -> &'static str {
        if self.trigger {
            "sqlite+trigger"
        } else {
            "sqlite"
        }
    }
    fn checkpoint(&self) -> Res<()> {
        Ok(self
            .conn
            .query_row("PRAGMA wal_checkpoint", [], |_| Ok(()))?)
    }
    fn setup(&self, sql: &str) -> Res<()> {
        self.conn.execute_batch(sql)?;
        if self.trigger {
            for t in ["t", "hist"] {
                if sql.contains(&format!("CREATE TABLE {t} ")) {
                    self.conn.execute_batch(&trigger_sql(t))?;
                }
            }
        }
        Ok(())
    }
    fn insert_autocommit(&self, rows: &[(i64, i64, i64)]) -> Res<Vec<Duration>> {
        let mut stmt = self.conn.prepare("INSERT INTO t VALUES (?1, ?2, ?3)")?;
        rows.iter()
            .map(|r| timed(|| Ok(stmt.execute(*r).map(|_| ())?)))
            .collect()
    }
    fn insert_batched(&self, rows: &[(i64, i64, i64)], batch: usize) -> Res<Vec<Duration>> {
        let mut out = Vec::new();
        for chunk in rows.chunks(batch) {
            out.push(timed(|| {
                self.conn.execute_batch("BEGIN")?;
                {
                    let mut stmt = self
                        .conn
                        .prepare_cached("INSERT INTO t VALUES (?1, ?2, ?3)")?;
                    for r in chunk {
                        stmt.execute(*r)?;
                    }
                }
                Ok(self.conn.execute_batch("COMMIT")?)
            })?);
        }
        Ok(out)
    }
    fn update_autocommit(&self, table: &str, ids: &[i64], v: i64) -> Res<Vec<Duration>> {
        let mut stmt = self
            .conn
            .prepare(&format!("UPDATE {table} SET v = ?1 WHERE id = ?2"))?;
        ids.iter()
            .map(|id| timed(|| Ok(stmt.execute((v, *id)).map(|_| ())?)))
            .collect()
    }
    fn update_batched(&self, table: &str, ids: &[i64], v: i64, batch: usize) -> Res<Vec<Duration>> {
        let mut out = Vec::new();
        let sql = format!("UPDATE {table} SET v = ?1 WHERE id = ?2");
        for chunk in ids.chunks(batch) {
            out.push(timed(|| {
                self.conn.execute_batch("BEGIN")?;
                {
                    let mut stmt = self.conn.prepare_cached(&sql)?;
                    for id in chunk {
                        stmt.execute((v, *id))?;
                    }
                }
                Ok(self.conn.execute_batch("COMMIT")?)
            })?);
        }
        Ok(out)
    }
    fn point_selects(
        &self,
        table: &str,
        ids: &[i64],
        at: Option<(&str, &[Point])>,
    ) -> Res<Vec<Duration>> {
        let mut out = Vec::with_capacity(ids.len());
        match at {
            None => {
                let mut stmt = self
                    .conn
                    .prepare(&format!("SELECT v FROM {table} WHERE id = ?1"))?;
                for id in ids {
                    out.push(timed(|| {
                        let _: i64 = stmt.query_row([*id], |r| r.get(0))?;
                        Ok(())
                    })?);
                }
            }
            Some((_, points)) => {
                // Manual versioning: the oldest history copy newer than the point, else the row.
                let mut stmt = self.conn.prepare(&format!(
                    "SELECT coalesce((SELECT v FROM {table}_history WHERE id = ?1 AND seq > ?2 ORDER BY seq LIMIT 1),
                                     (SELECT v FROM {table} WHERE id = ?1))"
                ))?;
                for (i, id) in ids.iter().enumerate() {
                    let p = &points[i % points.len()];
                    out.push(timed(|| {
                        let _: Option<i64> = stmt.query_row((*id, p.scn), |r| r.get(0))?;
                        Ok(())
                    })?);
                }
            }
        }
        Ok(out)
    }
    fn range_sums(&self, ranges: &[(i64, i64)], at: Option<&Point>) -> Res<Vec<Duration>> {
        if at.is_some() {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare("SELECT sum(v) FROM t WHERE k BETWEEN ?1 AND ?2")?;
        ranges
            .iter()
            .map(|r| {
                timed(|| {
                    let _: Option<i64> = stmt.query_row(*r, |row| row.get(0))?;
                    Ok(())
                })
            })
            .collect()
    }
    fn point(&self) -> Res<Point> {
        let scn: i64 = if self.trigger {
            self.conn
                .query_row("SELECT coalesce(max(n), 0) FROM seq", [], |r| r.get(0))
                .unwrap_or(0)
        } else {
            0
        };
        Ok(Point {
            scn,
            txid: 0,
            ts: String::new(),
        })
    }
    fn supports_as_of(&self) -> bool {
        self.trigger
    }
}

// ---------------------------------------------------------------- Stoolap

struct Stoolap {
    db: stoolap::Database,
}

impl Engine for Stoolap {
    fn name(&self) -> &'static str {
        "stoolap"
    }
    fn setup(&self, sql: &str) -> Res<()> {
        for s in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            self.db.execute(s, ())?;
        }
        Ok(())
    }
    fn insert_autocommit(&self, rows: &[(i64, i64, i64)]) -> Res<Vec<Duration>> {
        let stmt = self.db.prepare("INSERT INTO t VALUES ($1, $2, $3)")?;
        rows.iter()
            .map(|r| timed(|| Ok(stmt.execute(*r).map(|_| ())?)))
            .collect()
    }
    fn insert_batched(&self, rows: &[(i64, i64, i64)], batch: usize) -> Res<Vec<Duration>> {
        let mut out = Vec::new();
        for chunk in rows.chunks(batch) {
            out.push(timed(|| {
                let mut tx = self.db.begin()?;
                for r in chunk {
                    tx.execute("INSERT INTO t VALUES ($1, $2, $3)", *r)?;
                }
                Ok(tx.commit()?)
            })?);
        }
        Ok(out)
    }
    fn update_autocommit(&self, table: &str, ids: &[i64], v: i64) -> Res<Vec<Duration>> {
        let stmt = self
            .db
            .prepare(&format!("UPDATE {table} SET v = $1 WHERE id = $2"))?;
        ids.iter()
            .map(|id| timed(|| Ok(stmt.execute((v, *id)).map(|_| ())?)))
            .collect()
    }
    fn update_batched(&self, table: &str, ids: &[i64], v: i64, batch: usize) -> Res<Vec<Duration>> {
        let sql = format!("UPDATE {table} SET v = $1 WHERE id = $2");
        let mut out = Vec::new();
        for chunk in ids.chunks(batch) {
            out.push(timed(|| {
                let mut tx = self.db.begin()?;
                for id in chunk {
                    tx.execute(&sql, (v, *id))?;
                }
                Ok(tx.commit()?)
            })?);
        }
        Ok(out)
    }
    fn point_selects(
        &self,
        table: &str,
        ids: &[i64],
        at: Option<(&str, &[Point])>,
    ) -> Res<Vec<Duration>> {
        let mut out = Vec::with_capacity(ids.len());
        match at {
            None => {
                let stmt = self
                    .db
                    .prepare(&format!("SELECT v FROM {table} WHERE id = $1"))?;
                for id in ids {
                    out.push(timed(|| {
                        let _: i64 = stmt.query_one((*id,))?;
                        Ok(())
                    })?);
                }
            }
            Some((mode, points)) => {
                // Stoolap takes the point as a literal; its plan cache keys on the text.
                for (i, id) in ids.iter().enumerate() {
                    let p = &points[i % points.len()];
                    let clause = match mode {
                        "transaction" => format!("AS OF TRANSACTION {}", p.txid),
                        _ => format!("AS OF TIMESTAMP '{}'", p.ts),
                    };
                    let sql = format!("SELECT v FROM {table} {clause} WHERE id = $1");
                    out.push(timed(|| {
                        let _: Option<i64> = self.db.query_opt(&sql, (*id,))?;
                        Ok(())
                    })?);
                }
            }
        }
        Ok(out)
    }
    fn range_sums(&self, ranges: &[(i64, i64)], at: Option<&Point>) -> Res<Vec<Duration>> {
        let sql = match at {
            None => "SELECT sum(v) FROM t WHERE k BETWEEN $1 AND $2".to_string(),
            Some(p) => format!(
                "SELECT sum(v) FROM t AS OF TIMESTAMP '{}' WHERE k BETWEEN $1 AND $2",
                p.ts
            ),
        };
        let stmt = self.db.prepare(&sql)?;
        ranges
            .iter()
            .map(|r| {
                timed(|| {
                    let _: Option<i64> = stmt.query_opt(*r)?;
                    Ok(())
                })
            })
            .collect()
    }
    fn point(&self) -> Res<Point> {
        let mut tx = self.db.begin()?;
        let txid = tx.id() - 1;
        tx.rollback()?;
        Ok(Point {
            scn: 0,
            txid,
            ts: now_text(),
        })
    }
}

// ---------------------------------------------------------------- runs

struct Rng(u64);

impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// Bytes a file occupies on disk (allocated blocks: preallocated, sparse journal space does
/// not count).
fn file_size(m: &std::fs::Metadata) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        m.blocks() * 512
    }
    #[cfg(not(unix))]
    {
        m.len()
    }
}

fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return std::fs::metadata(p).map(|m| file_size(&m)).unwrap_or(0);
    };
    rd.flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                dir_size(&path)
            } else {
                e.metadata().map(|m| file_size(&m)).unwrap_or(0)
            }
        })
        .sum()
}

/// The cost of versioning on current reads: the same keys, written three times, read as plain
/// KV entries and as versioned rows (the head: one point lookup), both on the fjall backend.
fn versioned_vs_plain(o: &Opts, out: &mut Vec<Measurement>) -> Res<()> {
    use heliosdb_lite::mvcc::{Mvcc, MvccOptions, TxnMode};
    use heliosdb_lite::storage::{FjallOptions, FjallStorage, Storage, WriteBatch};
    let dir = tempfile::tempdir()?;
    let n = o.rows as u64;
    let plain = FjallStorage::open(&dir.path().join("plain"), &FjallOptions::default())?;
    for round in 0..3u8 {
        let mut b = WriteBatch::new();
        for i in 0..n {
            b.put(i.to_be_bytes().to_vec(), vec![round; 32]);
        }
        plain.write(b, false)?;
    }
    let versioned = Mvcc::open(
        Arc::new(FjallStorage::open(
            &dir.path().join("versioned"),
            &FjallOptions::default(),
        )?),
        MvccOptions {
            durable: false,
            auto_gc: false,
            ..MvccOptions::default()
        },
    )?;
    // Three versions of every key, so the read has history to skip.
    for round in 0..3u8 {
        let mut t = versioned.begin(TxnMode::Immediate)?;
        for i in 0..n {
            t.put(i.to_be_bytes().to_vec(), vec![round; 32])?;
        }
        t.commit()?;
    }
    let mut rng = Rng(42);
    let keys: Vec<[u8; 8]> = (0..o.selects)
        .map(|_| (rng.next(n as usize) as u64).to_be_bytes())
        .collect();
    let t = Instant::now();
    let lat: Vec<Duration> = keys
        .iter()
        .map(|k| timed(|| plain.get(k).map(|_| ()).map_err(Into::into)))
        .collect::<Res<_>>()?;
    out.push(Measurement::from_latencies(
        "current read: plain KV get, 3 writes/key (fjall)",
        "heliosdb",
        lat,
        t.elapsed(),
    ));
    let snap = versioned.snapshot();
    let t = Instant::now();
    let lat: Vec<Duration> = keys
        .iter()
        .map(|k| timed(|| snap.get(k).map(|_| ()).map_err(Into::into)))
        .collect::<Res<_>>()?;
    out.push(Measurement::from_latencies(
        "current read: versioned get, 3 versions/key (fjall)",
        "heliosdb",
        lat,
        t.elapsed(),
    ));
    Ok(())
}

const SCHEMA: &str =
    "CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, v INTEGER); CREATE INDEX t_k ON t(k)";

/// The line of a workload of `rows` rows timed in transactions of 1,000 (`batches`, one
/// latency each), reported per row.
fn per_row_line(
    label: &str,
    name: &'static str,
    batches: Vec<Duration>,
    total: Duration,
    rows: usize,
) -> Measurement {
    let mut m = Measurement::from_latencies(label, name, per_row(batches, 1000), total);
    m.ops = rows;
    m.throughput = rows as f64 / total.as_secs_f64();
    m
}

fn per_row(batches: Vec<Duration>, batch: usize) -> Vec<Duration> {
    batches.into_iter().map(|d| d / batch as u32).collect()
}

fn run_engine(e: &dyn Engine, o: &Opts, out: &mut Vec<Measurement>) -> Res<()> {
    let name = e.name();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    e.setup(SCHEMA)?;
    let rows: Vec<(i64, i64, i64)> = (1..=o.rows as i64)
        .map(|id| (id, (id * 7919) % o.rows as i64, id))
        .collect();
    let (auto, rest) = rows.split_at(o.autocommit_ops.min(rows.len()));
    let t = Instant::now();
    let lat = e.insert_autocommit(auto)?;
    out.push(Measurement::from_latencies(
        "insert, autocommit",
        name,
        lat,
        t.elapsed(),
    ));
    let t = Instant::now();
    let lat = e.insert_batched(rest, 1000)?;
    out.push(per_row_line(
        "insert, 1000 per txn (per row)",
        name,
        lat,
        t.elapsed(),
        rest.len(),
    ));
    // The same rows through the engine's bulk-load API, into a table of their own.
    e.setup(
        "CREATE TABLE ta (id INTEGER PRIMARY KEY, k INTEGER, v INTEGER); CREATE INDEX ta_k ON ta(k)",
    )?;
    let t = Instant::now();
    if let Some(lat) = e.append_batched(rest, 1000)? {
        out.push(per_row_line(
            "insert via appender, 1000 per txn (per row)",
            name,
            lat,
            t.elapsed(),
            rest.len(),
        ));
    }
    let p0 = e.point()?;
    let ids: Vec<i64> = (0..o.selects)
        .map(|_| 1 + rng.next(o.rows) as i64)
        .collect();
    let t = Instant::now();
    let lat = e.point_selects("t", &ids, None)?;
    out.push(Measurement::from_latencies(
        "point select by PK (prepared)",
        name,
        lat,
        t.elapsed(),
    ));
    let span = (o.rows as i64 / 2).max(1);
    let ranges: Vec<(i64, i64)> = (0..20)
        .map(|_| {
            let lo = rng.next(o.rows / 2) as i64;
            (lo, lo + span - 1)
        })
        .collect();
    let t = Instant::now();
    let lat = e.range_sums(&ranges, None)?;
    out.push(Measurement::from_latencies(
        "range SUM over rows/2 via index",
        name,
        lat,
        t.elapsed(),
    ));
    let upd: Vec<i64> = (0..o.autocommit_ops)
        .map(|_| 1 + rng.next(o.rows) as i64)
        .collect();
    let t = Instant::now();
    let lat = e.update_autocommit("t", &upd, -1)?;
    out.push(Measurement::from_latencies(
        "update by PK, autocommit",
        name,
        lat,
        t.elapsed(),
    ));
    let all: Vec<i64> = (1..=o.rows as i64).collect();
    // Every row, 1,000 per transaction, timed per row.
    let mut update_all = |label: &str, v: i64| -> Res<()> {
        let t = Instant::now();
        let lat = e.update_batched("t", &all, v, 1000)?;
        let total = t.elapsed();
        let mut m = Measurement::from_latencies(label, name, per_row(lat, 1000), total);
        m.ops = all.len();
        m.throughput = all.len() as f64 / total.as_secs_f64();
        out.push(m);
        Ok(())
    };
    update_all("update by PK, 1000 per txn (per row)", -2)?;
    // The same after a checkpoint: the line above updates rows whose heads the inserts just
    // left in memory (our write buffer); here every head is read from the tables first.
    e.checkpoint()?;
    update_all(
        "update by PK, 1000 per txn, after a checkpoint (per row)",
        -3,
    )?;
    if e.supports_as_of() && !name.starts_with("sqlite") {
        let t = Instant::now();
        let lat = e.range_sums(&ranges, Some(&p0))?;
        out.push(Measurement::from_latencies(
            "range SUM over rows/2 via index, AS OF",
            name,
            lat,
            t.elapsed(),
        ));
    }
    // History depth: the same point select at random past points.
    for depth in [1usize, 10, 100] {
        let table = format!("hist{depth}");
        e.setup(&format!(
            "CREATE TABLE {table} (id INTEGER PRIMARY KEY, v INTEGER)"
        ))?;
        if name == "sqlite+trigger" {
            let s = trigger_sql(&table);
            e.setup(&s)?;
        }
        let hids: Vec<i64> = (1..=o.history_rows as i64).collect();
        let mut stmt_rows: Vec<(i64, i64, i64)> = Vec::new();
        stmt_rows.clear();
        e.setup(&format!(
            "INSERT INTO {table} SELECT id, 0 FROM t WHERE id <= {}",
            o.history_rows
        ))?;
        let mut points = vec![e.point()?];
        for round in 1..depth {
            e.update_batched(&table, &hids, round as i64, hids.len().max(1))?;
            points.push(e.point()?);
        }
        let sel: Vec<i64> = (0..o.selects)
            .map(|_| 1 + rng.next(o.history_rows) as i64)
            .collect();
        let t = Instant::now();
        let lat = e.point_selects(&table, &sel, None)?;
        out.push(Measurement::from_latencies(
            &format!("point select, {depth} versions/row, current"),
            name,
            lat,
            t.elapsed(),
        ));
        if !e.supports_as_of() {
            continue;
        }
        let mut order: Vec<Point> = points.clone();
        for i in 0..order.len() {
            let j = rng.next(order.len());
            order.swap(i, j);
        }
        let modes: &[&str] = match name {
            "stoolap" => &["timestamp", "transaction"],
            "sqlite+trigger" => &["seq"],
            _ => &["timestamp", "transaction", "scn"],
        };
        let n = if name == "stoolap" {
            (o.selects / 4).max(10)
        } else {
            o.selects
        };
        // Each mode reads rows of its own drawing, so that no mode finds the (row, point)
        // pairs another one read in the caches: at 100 versions most pairs are read for the
        // first time, as in an audit. The first mode then reads its pairs again, in the
        // same order: the cost once they are cached.
        let mut pass = |mode: &str, sel: &[i64], again: &str| -> Res<()> {
            let t = Instant::now();
            let lat = e.point_selects(&table, sel, Some((mode, &order)))?;
            out.push(Measurement::from_latencies(
                &format!(
                    "point select, {depth} versions/row, AS OF {}{again}",
                    mode.to_uppercase()
                ),
                name,
                lat,
                t.elapsed(),
            ));
            Ok(())
        };
        let mut first: Option<Vec<i64>> = None;
        for mode in modes {
            let sel: Vec<i64> = (0..n)
                .map(|_| 1 + rng.next(o.history_rows) as i64)
                .collect();
            pass(mode, &sel, "")?;
            first.get_or_insert(sel);
        }
        if let (Some(sel), Some(mode)) = (first, modes.first()) {
            pass(mode, &sel, ", read again")?;
        }
    }
    Ok(())
}

fn size_workload(o: &Opts, out: &mut Vec<Measurement>) -> Res<()> {
    let dir = tempfile::tempdir()?;
    let n = o.rows;
    let rows: Vec<(i64, i64, i64)> = (1..=n as i64).map(|id| (id, id, id)).collect();
    let tenth: Vec<i64> = (1..=n as i64).filter(|i| i % 10 == 0).collect();
    let all: Vec<i64> = (1..=n as i64).collect();
    let stages = |e: &dyn Engine, size: &dyn Fn() -> u64| -> Res<[u64; 3]> {
        e.setup("CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, v INTEGER)")?;
        e.insert_batched(&rows, 1000)?;
        let a = size();
        e.update_batched("t", &tenth, 7, 1000)?;
        let b = size();
        for round in 0..10 {
            e.update_batched("t", &all, round, 1000)?;
        }
        Ok([a, b, size()])
    };
    let report = |engine: &str, s: [u64; 3], out: &mut Vec<Measurement>| {
        out.push(Measurement::value(
            "on-disk size: current / +10% updated once / every row updated 10x",
            engine,
            format!("{} / {} / {} KiB", s[0] / 1024, s[1] / 1024, s[2] / 1024),
        ));
    };
    {
        let p = dir.path().join("helios");
        let h = Helios::open(Some(&p))?;
        // fjall keeps its write-ahead journal until 64 MB have been written: a fixed cost,
        // reported apart so the growth with history stays visible.
        let journals = std::cell::RefCell::new(Vec::new());
        let raws = std::cell::RefCell::new(Vec::new());
        let s = stages(&h, &|| {
            raws.borrow_mut()
                .push(raw_version_bytes(&h.conn).unwrap_or(0));
            let _ = h.conn.checkpoint();
            let journal: u64 = std::fs::read_dir(&p)
                .map(|rd| {
                    rd.flatten()
                        .filter(|e| e.path().extension().is_some_and(|x| x == "jnl"))
                        .map(|e| e.metadata().map(|m| file_size(&m)).unwrap_or(0))
                        .sum()
                })
                .unwrap_or(0);
            journals.borrow_mut().push(journal / 1024);
            dir_size(&p)
        })?;
        report("heliosdb", s, out);
        if let Some(m) = out.last_mut() {
            let j = journals.borrow();
            let r = raws.borrow();
            if j.len() == 3 && r.len() == 3 {
                m.note.push_str(&format!(
                    " (fjall journal {} / {} / {} KiB; the rest vs the raw bytes of every \
                     current and superseded version: {})",
                    j[0],
                    j[1],
                    j[2],
                    (0..3)
                        .map(|i| format!(
                            "{:.2}x",
                            (s[i] / 1024).saturating_sub(j[i]) as f64 * 1024.0 / r[i].max(1) as f64
                        ))
                        .collect::<Vec<_>>()
                        .join(" / ")
                ));
            }
        }
        // At rest: a clean close empties the journal.
        drop(h);
        if let Some(m) = out.last_mut() {
            m.note
                .push_str(&format!("; closed: {} KiB", dir_size(&p) / 1024));
        }
    }
    for trigger in [false, true] {
        let p = dir.path().join(format!("sqlite{trigger}.db"));
        let sq = Sqlite::open(&p, trigger)?;
        let p2 = p.clone();
        let s = stages(&sq, &|| {
            let _ = sq.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
            dir_size(&p2)
                + dir_size(&p2.with_extension("db-wal"))
                + dir_size(&p2.with_extension("db-shm"))
        })?;
        report(sq.name(), s, out);
    }
    {
        let p = dir.path().join("stoolap");
        let st = Stoolap {
            db: stoolap::Database::open(&format!("file://{}", p.display()))?,
        };
        let s = stages(&st, &|| dir_size(&p))?;
        report("stoolap", s, out);
    }
    Ok(())
}

/// Logical key plus data bytes of every stored version, current and superseded: what the
/// database would hold with no per-version overhead at all.
fn raw_version_bytes(conn: &heliosdb_lite::Connection) -> Res<u64> {
    use heliosdb_lite::mvcc::keys;
    use heliosdb_lite::storage::{prefix_range, Direction};
    let storage = conn.mvcc().storage();
    let mut total = 0u64;
    for (tag, suffix) in [(keys::HEAD, 0), (keys::HISTORY, keys::SCN_LEN)] {
        for kv in storage.scan(prefix_range(&[tag]), Direction::Forward) {
            let (k, v) = kv?;
            let data = keys::decode_version(&v)?.data.map_or(0, <[u8]>::len);
            total += (k.len() - 1 - suffix + data) as u64;
        }
    }
    Ok(total)
}

fn helios_only(o: &Opts, out: &mut Vec<Measurement>) -> Res<()> {
    // GC of 1000 snapshots.
    let h = Helios::open(None)?;
    h.setup("CREATE TABLE g (id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO g SELECT id, 0 FROM (SELECT 1 AS id UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5)")?;
    let snaps = if o.smoke { 50 } else { 1000 };
    for i in 0..snaps {
        h.conn
            .execute("UPDATE g SET v = ?1 WHERE id = ?2", (i, 1 + i % 5))?;
    }
    h.conn.mvcc().set_retention(heliosdb_lite::mvcc::Retention {
        min_retention_us: 0,
        max_snapshots: 1,
    });
    let r = h.conn.gc()?;
    out.push(Measurement::value(
        "GC of 1000 snapshots",
        "heliosdb-mem",
        format!(
            "{:.2} ms ({} snapshots, {} versions removed)",
            r.elapsed_us as f64 / 1000.0,
            r.snapshots_removed,
            r.versions_removed
        ),
    ));
    // Recovery time and snapshot metadata memory.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("recovery");
    {
        let mut c = heliosdb_lite::Config::with_path(&path);
        c.database.enable_wal = false;
        c.snapshot.max_snapshots = u64::MAX / 2;
        let conn = heliosdb_lite::Connection::open(c)?;
        conn.execute_batch(
            "CREATE TABLE r (id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO r VALUES (1, 0)",
        )?;
        let mut stmt = conn.prepare("UPDATE r SET v = ?1 WHERE id = 1")?;
        for i in 0..o.recovery_commits {
            stmt.execute([i as i64])?;
        }
        drop(stmt);
        conn.sync()?;
    }
    let t = Instant::now();
    let mut c = heliosdb_lite::Config::with_path(&path);
    c.snapshot.max_snapshots = u64::MAX / 2;
    let conn = heliosdb_lite::Connection::open(c)?;
    let open = t.elapsed();
    let (count, bytes) = conn.mvcc().snapshot_memory();
    out.push(Measurement::value(
        &format!("open / recovery with {} commits", o.recovery_commits),
        "heliosdb",
        format!("{:.1} ms", open.as_secs_f64() * 1000.0),
    ));
    out.push(Measurement::value(
        "snapshot metadata in memory",
        "heliosdb",
        format!(
            "{:.1} bytes/snapshot ({count} snapshots, {bytes} bytes)",
            bytes as f64 / count.max(1) as f64
        ),
    ));
    registration_overhead(o, out)
}

/// What keeping history costs a commit: the same autocommit update with time travel on
/// (a version, a GC work item and a commit record registered per commit) and off.
fn registration_overhead(o: &Opts, out: &mut Vec<Measurement>) -> Res<()> {
    let dir = tempfile::tempdir()?;
    let mut medians = Vec::new();
    for history in [true, false] {
        let mut c = heliosdb_lite::Config::with_path(dir.path().join(format!("reg{history}")));
        c.database.enable_wal = false;
        c.storage.time_travel_enabled = history;
        let conn = heliosdb_lite::Connection::open(c)?;
        conn.execute_batch(
            "CREATE TABLE r (id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO r VALUES (1, 0)",
        )?;
        let mut stmt = conn.prepare("UPDATE r SET v = ?1 WHERE id = 1")?;
        let n = o.autocommit_ops.max(10) as i64;
        let t = Instant::now();
        let lat = (0..n)
            .map(|i| timed(|| Ok(stmt.execute([i]).map(|_| ())?)))
            .collect::<Res<Vec<_>>>()?;
        let m = Measurement::from_latencies(
            if history {
                "autocommit update, history kept"
            } else {
                "autocommit update, time travel off"
            },
            "heliosdb",
            lat,
            t.elapsed(),
        );
        medians.push(m.median);
        out.push(m);
    }
    out.push(Measurement::value(
        "snapshot registration overhead per commit",
        "heliosdb",
        format!(
            "{:.2} µs per commit ({} with history vs without)",
            (medians[0].as_secs_f64() - medians[1].as_secs_f64()) * 1e6,
            ratio(medians[0], medians[1])
        ),
    ));
    Ok(())
}

fn concurrent(o: &Opts, out: &mut Vec<Measurement>) -> Res<()> {
    let dir = tempfile::tempdir()?;
    let secs = Duration::from_secs_f64(o.concurrent_secs);
    let n = o.rows.min(10_000) as i64;
    let report = |engine: &str, reads: u64, writes: u64, out: &mut Vec<Measurement>| {
        out.push(Measurement::value(
            "2 readers + 1 writer",
            engine,
            format!(
                "{:.0} reads/s, {:.0} writes/s",
                reads as f64 / secs.as_secs_f64(),
                writes as f64 / secs.as_secs_f64()
            ),
        ));
    };
    // HeliosDB: connections to one database share the engine.
    {
        let path = dir.path().join("h");
        let mut c = heliosdb_lite::Config::with_path(&path);
        c.database.enable_wal = false;
        let conn = Arc::new(heliosdb_lite::Connection::open(c.clone())?);
        conn.execute_batch("CREATE TABLE c (id INTEGER PRIMARY KEY, v INTEGER)")?;
        let tx = conn.transaction()?;
        for i in 1..=n {
            tx.execute("INSERT INTO c VALUES (?1, 0)", [i])?;
        }
        tx.commit()?;
        let (r, w) = std::thread::scope(|s| -> Res<(u64, u64)> {
            let deadline = Instant::now() + secs;
            let readers: Vec<_> = (0..2)
                .map(|k| {
                    let c = c.clone();
                    s.spawn(move || {
                        let conn = heliosdb_lite::Connection::open(c).expect("open");
                        let mut stmt = conn
                            .prepare("SELECT v FROM c WHERE id = ?1")
                            .expect("prepare");
                        let mut rng = Rng(7 + k);
                        let mut done = 0u64;
                        while Instant::now() < deadline {
                            let _: i64 = stmt
                                .query_row([1 + rng.next(n as usize) as i64], |r| r.get(0))
                                .expect("read");
                            done += 1;
                        }
                        done
                    })
                })
                .collect();
            let mut stmt = conn.prepare("UPDATE c SET v = v + 1 WHERE id = ?1")?;
            let mut rng = Rng(99);
            let mut writes = 0u64;
            while Instant::now() < deadline {
                stmt.execute([1 + rng.next(n as usize) as i64])?;
                writes += 1;
            }
            let reads = readers.into_iter().map(|h| h.join().unwrap_or(0)).sum();
            Ok((reads, writes))
        })?;
        report("heliosdb", r, w, out);
    }
    {
        let path = dir.path().join("s.db");
        let conn = Sqlite::open(&path, false)?;
        conn.conn
            .execute_batch("CREATE TABLE c (id INTEGER PRIMARY KEY, v INTEGER); BEGIN")?;
        for i in 1..=n {
            conn.conn.execute("INSERT INTO c VALUES (?1, 0)", [i])?;
        }
        conn.conn.execute_batch("COMMIT")?;
        let (r, w) = std::thread::scope(|s| -> Res<(u64, u64)> {
            let deadline = Instant::now() + secs;
            let readers: Vec<_> = (0..2)
                .map(|k| {
                    let path = path.clone();
                    s.spawn(move || {
                        let c = rusqlite::Connection::open(&path).expect("open");
                        let mut stmt = c.prepare("SELECT v FROM c WHERE id = ?1").expect("prepare");
                        let mut rng = Rng(7 + k);
                        let mut done = 0u64;
                        while Instant::now() < deadline {
                            let _: i64 = stmt
                                .query_row([1 + rng.next(n as usize) as i64], |r| r.get(0))
                                .expect("read");
                            done += 1;
                        }
                        done
                    })
                })
                .collect();
            let mut stmt = conn.conn.prepare("UPDATE c SET v = v + 1 WHERE id = ?1")?;
            let mut rng = Rng(99);
            let mut writes = 0u64;
            while Instant::now() < deadline {
                stmt.execute([1 + rng.next(n as usize) as i64])?;
                writes += 1;
            }
            let reads = readers.into_iter().map(|h| h.join().unwrap_or(0)).sum();
            Ok((reads, writes))
        })?;
        report("sqlite", r, w, out);
    }
    Ok(())
}

/// Runs every workload on every engine.
pub fn run_all(o: &Opts) -> Res<Vec<Measurement>> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir()?;
    let engines: Vec<Box<dyn Engine>> = vec![
        Box::new(Helios::open(Some(&dir.path().join("helios")))?),
        Box::new(Helios::open(None)?),
        Box::new(Sqlite::open(&dir.path().join("sqlite.db"), false)?),
        Box::new(Sqlite::open(&dir.path().join("sqlite_trigger.db"), true)?),
        Box::new(Stoolap {
            db: stoolap::Database::open(&format!(
                "file://{}",
                dir.path().join("stoolap").display()
            ))?,
        }),
    ];
    for e in &engines {
        eprintln!("running workloads on {}", e.name());
        run_engine(e.as_ref(), o, &mut out)?;
    }
    eprintln!("running size, GC, recovery and concurrency workloads");
    versioned_vs_plain(o, &mut out)?;
    size_workload(o, &mut out)?;
    helios_only(o, &mut out)?;
    concurrent(o, &mut out)?;
    if let Some(rss) = peak_rss_kib() {
        out.push(Measurement::value(
            "peak RSS of the benchmark process",
            "all",
            format!("{rss} KiB"),
        ));
    }
    // Group by workload for the table.
    let order: Vec<String> = {
        let mut v: Vec<String> = Vec::new();
        for m in &out {
            if !v.contains(&m.workload) {
                v.push(m.workload.clone());
            }
        }
        v
    };
    out.sort_by_key(|m| order.iter().position(|w| *w == m.workload));
    Ok(out)
}

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Prints the goal ratios of the benchmark issue.
pub fn print_ratios(results: &[Measurement]) {
    let med = |w: &str, e: &str| {
        results
            .iter()
            .find(|m| m.workload == w && m.engine == e)
            .map(|m| m.median)
    };
    println!("\n| goal | measured |");
    println!("|---|---|");
    for engine in ["heliosdb", "heliosdb-mem"] {
        if let (Some(h), Some(s)) = (
            med("point select by PK (prepared)", engine),
            med("point select by PK (prepared)", "sqlite"),
        ) {
            println!(
                "| {engine}: prepared PK point select / SQLite (goal <= 1.5x) | {:.2}x |",
                h.as_secs_f64() / s.as_secs_f64()
            );
        }
        for depth in [1, 10, 100] {
            let cur = med(
                &format!("point select, {depth} versions/row, current"),
                engine,
            );
            for mode in ["TIMESTAMP", "TRANSACTION", "SCN", "TIMESTAMP, read again"] {
                let asof = med(
                    &format!("point select, {depth} versions/row, AS OF {mode}"),
                    engine,
                );
                if let (Some(c), Some(a)) = (cur, asof) {
                    let stoolap = med(
                        &format!("point select, {depth} versions/row, AS OF {mode}"),
                        "stoolap",
                    );
                    let vs = stoolap.map_or("-".to_string(), |s| {
                        format!("{:.2}x", a.as_secs_f64() / s.as_secs_f64())
                    });
                    println!(
                        "| {engine}: AS OF {mode} / current, {depth} versions/row (goal <= 1.3x); vs Stoolap AS OF | {:.2}x; {vs} |",
                        a.as_secs_f64() / c.as_secs_f64()
                    );
                }
            }
        }
        let appended = "insert via appender, 1000 per txn (per row)";
        if let (Some(h), Some(s)) = (
            med(appended, engine),
            med("insert, 1000 per txn (per row)", "sqlite"),
        ) {
            println!(
                "| {engine}: {appended} vs SQLite's prepared insert (issue goal <= 1.5x) | {:.2}x |",
                h.as_secs_f64() / s.as_secs_f64()
            );
        }
        for w in [
            "insert, 1000 per txn (per row)",
            "update by PK, 1000 per txn (per row)",
            "update by PK, 1000 per txn, after a checkpoint (per row)",
        ] {
            if let (Some(h), Some(s), Some(t)) =
                (med(w, engine), med(w, "sqlite"), med(w, "sqlite+trigger"))
            {
                println!(
                    "| {engine}: {w} vs SQLite (goal <= 1x) / vs SQLite+trigger (goal <= 0.5x) | {:.2}x / {:.2}x |",
                    h.as_secs_f64() / s.as_secs_f64(),
                    h.as_secs_f64() / t.as_secs_f64()
                );
            }
        }
    }
}
