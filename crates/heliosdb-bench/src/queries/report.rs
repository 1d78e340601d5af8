//! The query benchmark's result table (Markdown, one line per query), its summary ratios, and
//! its JSON form.

use super::list::Query;
use super::run::{Outcome, Status};
use std::time::Duration;

/// Column labels of the engines, as the outcomes carry them.
pub const HELIOS: &str = "heliosdb";
/// HeliosDB-Lite, every table `AS OF SCN` the past point.
pub const HELIOS_AS_OF: &str = "heliosdb AS OF";
/// SQLite on the current data.
pub const SQLITE: &str = "sqlite";
/// SQLite on a copy taken before the updates: the expected answer of the AS OF queries.
pub const SQLITE_PAST: &str = "sqlite past";
/// Stoolap on the current data.
pub const STOOLAP: &str = "stoolap";
/// Stoolap, every table `AS OF TRANSACTION` the past point.
pub const STOOLAP_AS_OF: &str = "stoolap AS OF";

/// Which engine's answer each engine's answer must equal.
fn reference(engine: &str) -> &'static str {
    match engine {
        HELIOS_AS_OF | STOOLAP_AS_OF | SQLITE_PAST => SQLITE_PAST,
        _ => SQLITE,
    }
}

fn find<'a>(out: &'a [Outcome], query: &str, engine: &str) -> Option<&'a Outcome> {
    out.iter().find(|o| o.query == query && o.engine == engine)
}

/// `Some(true)` when `o` returned the same rows as its reference engine, `None` when either
/// has no answer to compare.
pub fn matches_reference(out: &[Outcome], o: &Outcome) -> Option<bool> {
    let r = find(out, o.query, reference(&o.engine))?;
    Some(o.answer()? == r.answer()?)
}

fn fmt_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

fn time_cell(o: Option<&Outcome>, timeout: u64) -> String {
    match o.map(|o| &o.status) {
        None => "-".into(),
        Some(Status::Ok { median, .. }) => fmt_ms(*median),
        Some(Status::Timeout) => format!("> {timeout} s"),
        Some(Status::OverMemory(mb)) => format!("> {mb} MiB"),
        Some(Status::Failed(_)) => "error".into(),
    }
}

fn ratio_of(a: Option<&Outcome>, b: Option<&Outcome>) -> Option<f64> {
    let (a, b) = (a?.median()?, b?.median()?);
    (!b.is_zero()).then(|| a.as_secs_f64() / b.as_secs_f64().max(1e-9))
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or("-".into(), |r| format!("{r:.2}x"))
}

fn mib(o: Option<&Outcome>) -> String {
    o.and_then(|o| o.peak_kib)
        .map_or("-".into(), |k| format!("{:.0}", k as f64 / 1024.0))
}

/// Geometric mean of the ratios of `a` over `b`, over the queries where both finished.
pub fn geomean(out: &[Outcome], queries: &[Query], a: &str, b: &str) -> Option<(f64, usize)> {
    let ratios: Vec<f64> = queries
        .iter()
        .filter_map(|q| ratio_of(find(out, q.name, a), find(out, q.name, b)))
        .filter(|r| *r > 0.0)
        .collect();
    (!ratios.is_empty()).then(|| {
        let n = ratios.len();
        (
            (ratios.iter().map(|r| r.ln()).sum::<f64>() / n as f64).exp(),
            n,
        )
    })
}

/// Prints the result table, the geometric means, and every error, timeout and wrong answer.
pub fn print(out: &[Outcome], queries: &[Query], timeout: u64) {
    println!(
        "| query | heliosdb ms | heliosdb AS OF ms | sqlite ms | stoolap ms | stoolap AS OF ms \
         | heliosdb/SQLite | heliosdb/Stoolap | AS OF/current | peak RSS MiB h / h AS OF / sqlite / stoolap \
         | rows | answers |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|");
    for q in queries {
        let get = |e: &str| find(out, q.name, e);
        let wrong: Vec<&str> = out
            .iter()
            .filter(|o| o.query == q.name && matches_reference(out, o) == Some(false))
            .map(|o| o.engine.as_str())
            .collect();
        let answers = if wrong.is_empty() {
            "same".to_string()
        } else {
            format!("DIFFER: {}", wrong.join(", "))
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} / {} / {} | {} | {} |",
            q.name,
            time_cell(get(HELIOS), timeout),
            time_cell(get(HELIOS_AS_OF), timeout),
            time_cell(get(SQLITE), timeout),
            time_cell(get(STOOLAP), timeout),
            time_cell(get(STOOLAP_AS_OF), timeout),
            fmt_ratio(ratio_of(get(HELIOS), get(SQLITE))),
            fmt_ratio(ratio_of(get(HELIOS), get(STOOLAP))),
            fmt_ratio(ratio_of(get(HELIOS_AS_OF), get(HELIOS))),
            mib(get(HELIOS)),
            mib(get(HELIOS_AS_OF)),
            mib(get(SQLITE)),
            mib(get(STOOLAP)),
            get(SQLITE)
                .and_then(Outcome::answer)
                .map_or("-".into(), |(rows, _)| rows.to_string()),
            answers
        );
    }
    println!();
    for (a, b, what) in [
        (HELIOS, SQLITE, "heliosdb/SQLite"),
        (HELIOS, STOOLAP, "heliosdb/Stoolap"),
        (HELIOS_AS_OF, HELIOS, "heliosdb AS OF/current"),
    ] {
        match geomean(out, queries, a, b) {
            Some((g, n)) => println!("geometric mean {what}: {g:.2}x over {n} queries"),
            None => println!("geometric mean {what}: - (no query finished on both)"),
        }
    }
    for o in out {
        match &o.status {
            Status::Failed(e) => println!("error: {} on {}: {e}", o.query, o.engine),
            Status::Timeout => println!(
                "timeout: {} on {}: a run took over {timeout} s",
                o.query, o.engine
            ),
            Status::OverMemory(mb) => println!(
                "killed: {} on {}: grew past {mb} MiB of resident memory",
                o.query, o.engine
            ),
            Status::Ok { rows, checksum, .. } => {
                if matches_reference(out, o) == Some(false) {
                    let r = find(out, o.query, reference(&o.engine)).and_then(Outcome::answer);
                    println!(
                        "wrong answer: {} on {}: {rows} rows, checksum {checksum:016x}; {} gave {}",
                        o.query,
                        o.engine,
                        reference(&o.engine),
                        r.map_or("-".into(), |(n, c)| format!("{n} rows, checksum {c:016x}"))
                    );
                }
            }
        }
    }
}

/// The results as JSON: one object per (query, engine), and the geometric means.
pub fn json(out: &[Outcome], queries: &[Query], header: serde_json::Value) -> serde_json::Value {
    let ms = |d: &Duration| d.as_secs_f64() * 1e3;
    let results: Vec<serde_json::Value> = out
        .iter()
        .map(|o| {
            let (status, error) = match &o.status {
                Status::Ok { .. } => ("ok", None),
                Status::Timeout => ("timeout", None),
                Status::OverMemory(_) => ("over memory cap", None),
                Status::Failed(e) => ("error", Some(e.clone())),
            };
            let (runs, rows, checksum) = match &o.status {
                Status::Ok {
                    runs,
                    rows,
                    checksum,
                    ..
                } => (
                    runs.iter().map(ms).collect::<Vec<_>>(),
                    Some(*rows),
                    Some(format!("{checksum:016x}")),
                ),
                _ => (Vec::new(), None, None),
            };
            serde_json::json!({
                "query": o.query,
                "engine": o.engine,
                "sql": o.sql,
                "status": status,
                "error": error,
                "median_ms": o.median().as_ref().map(ms),
                "runs_ms": runs,
                "rows": rows,
                "checksum": checksum,
                "matches_reference": matches_reference(out, o),
                "peak_rss_kib": o.peak_kib,
                "open_rss_kib": o.open_kib,
            })
        })
        .collect();
    let gm = |a, b| geomean(out, queries, a, b).map(|(g, _)| g);
    let mut v = header;
    v["results"] = serde_json::Value::Array(results);
    v["geomean_heliosdb_vs_sqlite"] = serde_json::json!(gm(HELIOS, SQLITE));
    v["geomean_heliosdb_vs_stoolap"] = serde_json::json!(gm(HELIOS, STOOLAP));
    v["geomean_heliosdb_as_of_vs_current"] = serde_json::json!(gm(HELIOS_AS_OF, HELIOS));
    v
}
