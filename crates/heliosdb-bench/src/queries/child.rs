//! The hidden `query-one` subcommand: one query on one already-loaded database, in a process
//! of its own, so that its peak RSS (`VmHWM`) is this query's and nothing else's, and so that
//! the parent can kill it when it runs past the timeout.
//!
//! It reports on stdout, one line per event, flushed as it goes (the parent reads progress
//! from the file to time out a single slow run):
//! `open <µs> <VmHWM KiB>`, then `run <ns>` per run, then `done <rows> <checksum hex>
//! <VmHWM KiB>`, or `error <message>`.

use super::engines::{self, Checksum, EngineKind};
use super::Res;
use std::io::Write;
use std::time::Instant;

/// Arguments of `query-one` (passed by the parent, not meant to be typed).
#[derive(clap::Args, Debug, Clone)]
pub struct ChildOpts {
    /// Engine of the database.
    #[arg(long, value_enum)]
    pub engine: EngineKind,
    /// Database file or directory.
    #[arg(long)]
    pub path: std::path::PathBuf,
    /// Query text.
    #[arg(long)]
    pub sql: String,
    /// Checksum rows in order (the query has ORDER BY).
    #[arg(long)]
    pub ordered: bool,
    /// Times to run the query.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
}

/// Peak resident set size of this process so far, in KiB.
pub fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn run(o: &ChildOpts) -> Res<()> {
    let t = Instant::now();
    let db = engines::open(o.engine, &o.path)?;
    say(&format!(
        "open {} {}",
        t.elapsed().as_micros(),
        vm_hwm_kib()
    ));
    let mut first: Option<Checksum> = None;
    for _ in 0..o.runs.max(1) {
        let mut sum = Checksum::new(o.ordered);
        let t = Instant::now();
        db.query(&o.sql, &mut sum)?;
        let elapsed = t.elapsed();
        say(&format!("run {}", elapsed.as_nanos()));
        match &first {
            None => first = Some(sum),
            Some(f) if f.rows != sum.rows || f.value() != sum.value() => {
                return Err("the runs returned different results".into())
            }
            Some(_) => {}
        }
    }
    let sum = first.unwrap_or(Checksum::new(o.ordered));
    say(&format!(
        "done {} {:016x} {}",
        sum.rows,
        sum.value(),
        vm_hwm_kib()
    ));
    Ok(())
}

/// Runs `query-one` and exits: status 0 when the query ran, 2 when it failed.
pub fn main(o: &ChildOpts) -> ! {
    match run(o) {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            let msg: String = e.to_string().replace(['\n', '\r'], " ");
            say(&format!(
                "error {}",
                msg.chars().take(400).collect::<String>()
            ));
            std::process::exit(2)
        }
    }
}
