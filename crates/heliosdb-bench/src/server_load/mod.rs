//! `heliosdb-bench server-load`: a bounded load test of `heliosdb-lite serve` over the
//! PostgreSQL protocol and over HTTP, next to PostgreSQL on the same workload.
//!
//! The workload is one table of `--rows` accounts and three requests, mixed 60/20/20:
//! a point select of the current row, a point select of the row as of a point taken at
//! setup (`AS OF SCN`; on PostgreSQL a trigger-kept history table, see [`client`]), and
//! an autocommit UPDATE of one row. Ids and kinds come from a fixed seed, so every target
//! gets the same sequence. Two phases per target, both bounded:
//!
//! - **throughput**: `--clients` connections send requests back to back until
//!   `--requests` are done or `--max-secs` pass;
//! - **fixed rate**: `--rate` requests a second for `--rate-secs`, spread over the same
//!   connections. A request's latency counts from when it was due, not when it was sent,
//!   so a server that falls behind shows it in p99 (no coordinated omission).
//!
//! Servers are not started here: `scripts/bench-server-load` installs and starts
//! PostgreSQL and `heliosdb-lite serve` on loopback and passes their addresses.

mod client;
mod http;

use client::{Kind, Op, Target};
use std::error::Error;
use std::sync::Barrier;
use std::time::{Duration, Instant};

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Options of `server-load`.
#[derive(clap::Args, Debug, Clone)]
pub struct ServerLoadOpts {
    /// `postgresql://` URL of `heliosdb-lite serve`'s PostgreSQL port.
    #[arg(long)]
    pub heliosdb_pg: Option<String>,
    /// `host:port` of `heliosdb-lite serve`'s HTTP port.
    #[arg(long)]
    pub heliosdb_http: Option<String>,
    /// Password of the user `heliosdb` for HTTP (bearer token).
    #[arg(long, default_value = "")]
    pub token: String,
    /// `postgresql://` URL of a PostgreSQL server to compare with.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Rows in the table.
    #[arg(long, default_value_t = 10_000)]
    pub rows: usize,
    /// Requests of the throughput phase.
    #[arg(long, default_value_t = 40_000)]
    pub requests: usize,
    /// Longest the throughput phase may run, seconds.
    #[arg(long, default_value_t = 30.0)]
    pub max_secs: f64,
    /// Client connections in both phases.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Requests a second in the fixed-rate phase.
    #[arg(long, default_value_t = 1_000.0)]
    pub rate: f64,
    /// Seconds of the fixed-rate phase.
    #[arg(long, default_value_t = 10.0)]
    pub rate_secs: f64,
    /// Requests sent before measuring (per target).
    #[arg(long, default_value_t = 1_000)]
    pub warmup: usize,
    /// Write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
}

/// The result of one phase on one target.
struct Phase {
    target: &'static str,
    phase: String,
    clients: usize,
    done: usize,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Phase {
    fn quantile(&self, q: f64) -> Duration {
        let n = self.latencies.len();
        if n == 0 {
            return Duration::ZERO;
        }
        self.latencies[((n as f64 - 1.0) * q).round() as usize]
    }

    fn throughput(&self) -> f64 {
        self.done as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The request number `k` of the sequence every target gets.
fn op(k: u64, rows: usize) -> Op {
    // splitmix64: a fixed, well-mixed sequence without a generator's state.
    let mut z = k.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let id = (z >> 8) as usize % rows + 1;
    match z % 10 {
        0..=5 => Op::Current(id as i64),
        6 | 7 => Op::AsOf(id as i64),
        _ => Op::Write(id as i64),
    }
}

/// What a client thread brings back.
struct Outcome {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

/// Runs `clients` threads, each with its own session; `work` gets the session, the
/// thread's number and the common start instant (taken once every session is open).
fn run_clients<F>(target: &Target, clients: usize, work: F) -> Res<(Vec<Outcome>, Duration)>
where
    F: Fn(&mut client::Session, usize, Instant) -> Outcome + Sync,
{
    let sessions: Vec<client::Session> =
        (0..clients).map(|_| target.session()).collect::<Res<_>>()?;
    let barrier = Barrier::new(clients);
    let start_cell = std::sync::OnceLock::new();
    let work = &work;
    let outcomes = std::thread::scope(|s| {
        let handles: Vec<_> = sessions
            .into_iter()
            .enumerate()
            .map(|(c, mut session)| {
                let barrier = &barrier;
                let start_cell = &start_cell;
                s.spawn(move || {
                    barrier.wait();
                    let start = *start_cell.get_or_init(Instant::now);
                    work(&mut session, c, start)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a client thread panicked"))
            .collect::<Vec<_>>()
    });
    let start = start_cell.get().copied().unwrap_or_else(Instant::now);
    Ok((outcomes, start.elapsed()))
}

fn record(outcome: &mut Outcome, result: Res<()>) {
    if let Err(e) = result {
        outcome.errors += 1;
        outcome.first_error.get_or_insert_with(|| e.to_string());
    }
}

/// Closed loop: every client sends its next request as soon as the last one answered.
fn throughput(target: &Target, o: &ServerLoadOpts, point: i64, base: u64) -> Res<Phase> {
    let next = std::sync::atomic::AtomicU64::new(0);
    let limit = Duration::from_secs_f64(o.max_secs);
    let (outcomes, elapsed) = run_clients(target, o.clients, |session, _, start| {
        let mut out = Outcome {
            latencies: Vec::with_capacity(o.requests / o.clients + 1),
            errors: 0,
            first_error: None,
        };
        loop {
            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if k as usize >= o.requests || start.elapsed() > limit {
                break;
            }
            let sent = Instant::now();
            let result = session.run(op(base + k, o.rows), point);
            out.latencies.push(sent.elapsed());
            record(&mut out, result);
        }
        out
    })?;
    Ok(collect(
        target,
        "throughput".into(),
        o.clients,
        outcomes,
        elapsed,
    ))
}

/// Open loop: request `k` is due at `k / rate` seconds; client `k % clients` sends it.
fn fixed_rate(target: &Target, o: &ServerLoadOpts, point: i64, base: u64) -> Res<Phase> {
    let total = (o.rate * o.rate_secs).round() as u64;
    let clients = o.clients as u64;
    // A server far behind must not keep the test running: nothing is sent after this.
    let deadline = Duration::from_secs_f64(o.rate_secs + o.max_secs);
    let (outcomes, elapsed) = run_clients(target, o.clients, |session, c, start| {
        let mut out = Outcome {
            latencies: Vec::with_capacity((total / clients) as usize + 1),
            errors: 0,
            first_error: None,
        };
        let mut k = c as u64;
        while k < total {
            let due = start + Duration::from_secs_f64(k as f64 / o.rate);
            let now = Instant::now();
            if now > start + deadline {
                break;
            }
            if due > now {
                std::thread::sleep(due - now);
            }
            let result = session.run(op(base + k, o.rows), point);
            out.latencies.push(due.elapsed());
            record(&mut out, result);
            k += clients;
        }
        out
    })?;
    Ok(collect(
        target,
        format!("{} req/s", o.rate),
        o.clients,
        outcomes,
        elapsed,
    ))
}

fn collect(
    target: &Target,
    phase: String,
    clients: usize,
    outcomes: Vec<Outcome>,
    elapsed: Duration,
) -> Phase {
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for o in outcomes {
        latencies.extend(o.latencies);
        errors += o.errors;
        first_error = first_error.or(o.first_error);
    }
    latencies.sort_unstable();
    Phase {
        target: target.name,
        phase,
        clients,
        done: latencies.len(),
        errors,
        first_error,
        elapsed,
        latencies,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

/// Runs the load test on every target given and prints the table.
pub fn main(o: &ServerLoadOpts) -> Res<()> {
    if o.clients == 0 || o.rows == 0 || o.rate <= 0.0 {
        return Err("--clients, --rows and --rate must be positive".into());
    }
    let mut targets = Vec::new();
    let mut add = |name, kind, address: &Option<String>| {
        if let Some(address) = address {
            targets.push(Target {
                name,
                kind,
                address: address.clone(),
                token: o.token.clone(),
            });
        }
    };
    add("heliosdb (pg protocol)", Kind::HeliosPg, &o.heliosdb_pg);
    add("postgresql (pg protocol)", Kind::Postgres, &o.postgres);
    add("heliosdb (http)", Kind::HeliosHttp, &o.heliosdb_http);
    if targets.is_empty() {
        return Err("no target: give --heliosdb-pg, --heliosdb-http or --postgres".into());
    }
    let mut phases = Vec::new();
    for target in &targets {
        eprintln!("server-load: {} ...", target.name);
        let point = target.setup(o.rows)?;
        let warm = ServerLoadOpts {
            requests: o.warmup,
            ..o.clone()
        };
        throughput(target, &warm, point, 1 << 40)?;
        phases.push(throughput(target, o, point, 0)?);
        phases.push(fixed_rate(target, o, point, 1 << 41)?);
    }
    print_table(&phases);
    for p in phases.iter().filter(|p| p.errors > 0) {
        eprintln!(
            "server-load: {} / {}: {} errors, the first: {}",
            p.target,
            p.phase,
            p.errors,
            p.first_error.as_deref().unwrap_or("?")
        );
    }
    if let Some(path) = &o.json {
        std::fs::write(path, serde_json::to_string_pretty(&to_json(&phases))?)?;
    }
    Ok(())
}

fn print_table(phases: &[Phase]) {
    println!(
        "| target | phase | clients | requests | errors | seconds | req/s | p50 ms | p99 ms | max ms |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in phases {
        println!(
            "| {} | {} | {} | {} | {} | {:.2} | {:.0} | {} | {} | {} |",
            p.target,
            p.phase,
            p.clients,
            p.done,
            p.errors,
            p.elapsed.as_secs_f64(),
            p.throughput(),
            ms(p.quantile(0.5)),
            ms(p.quantile(0.99)),
            ms(p.latencies.last().copied().unwrap_or_default()),
        );
    }
    let find = |target: &str| {
        phases
            .iter()
            .find(|p| p.target == target && p.phase == "throughput")
    };
    if let (Some(h), Some(pg)) = (
        find("heliosdb (pg protocol)"),
        find("postgresql (pg protocol)"),
    ) {
        println!(
            "\nthroughput over the PostgreSQL protocol: heliosdb {:.0} req/s, postgresql {:.0} req/s ({:.2}x)",
            h.throughput(),
            pg.throughput(),
            h.throughput() / pg.throughput().max(1e-9)
        );
    }
}

fn to_json(phases: &[Phase]) -> serde_json::Value {
    serde_json::Value::Array(
        phases
            .iter()
            .map(|p| {
                serde_json::json!({
                    "target": p.target,
                    "phase": p.phase,
                    "clients": p.clients,
                    "requests": p.done,
                    "errors": p.errors,
                    "seconds": p.elapsed.as_secs_f64(),
                    "requests_per_sec": p.throughput(),
                    "p50_ms": p.quantile(0.5).as_secs_f64() * 1e3,
                    "p99_ms": p.quantile(0.99).as_secs_f64() * 1e3,
                    "max_ms": p.latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
                })
            })
            .collect(),
    )
}
