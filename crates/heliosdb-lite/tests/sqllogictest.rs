//! SQLite's sqllogictest corpus (from `../shared/sqllogictest`) against HeliosDB-Lite.
//!
//! Every `.test` file runs on a fresh in-memory database; `select1-3` and `evidence/` also
//! run on the disk engine. Records are judged as SQLite's reference runner judges them
//! (engine name `sqlite` for skipif/onlyif, I/R/T formatting, rowsort/valuesort, hashing of
//! large results). The run fails if any file passes fewer records than docs/conformance.md
//! records for it, so conformance never silently regresses.
//!
//! Without the corpus (a fresh clone) the run reports a skip and passes, unless
//! `HELIOS_REQUIRE_SQLLOGICTEST=1` (CI) makes that a failure. Every run first checks exactly
//! that, by running itself with a corpus directory that does not exist.
//!
//! `SLT_REPORT=1` prints the markdown table for docs/conformance.md; `SLT_FILTER=substr`
//! runs only matching files; `SLT_VERBOSE=1` prints every failure.

use heliosdb_lite::types::Value;
use heliosdb_lite::Connection;
use md5::{Digest, Md5};
use sqllogictest::{DefaultColumnType, QueryExpect, Record, SortMode, StatementExpect};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Default, Clone)]
struct Tally {
    run: usize,
    passed: usize,
    failed: usize,
    skipped: usize,
    first_failure: Option<String>,
}

fn format_value(v: &Value, t: &DefaultColumnType) -> String {
    if v.is_null() {
        return "NULL".into();
    }
    match t {
        DefaultColumnType::Integer => v.as_i64().to_string(),
        DefaultColumnType::FloatingPoint => format_real_3(v.as_f64()),
        _ => {
            let s = v.to_text().unwrap_or_default();
            if s.is_empty() {
                "(empty)".into()
            } else {
                s.chars()
                    .map(|c| if (' '..='~').contains(&c) { c } else { '@' })
                    .collect()
            }
        }
    }
}

/// `%.3f` as SQLite's printf renders it: at most 16 significant digits, then zeros.
fn format_real_3(x: f64) -> String {
    if !x.is_finite() || x.abs() < 1e13 {
        return format!("{x:.3}");
    }
    let sci = format!("{:.15e}", x.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: usize = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut int_part = digits.clone();
    while int_part.len() < exp + 1 {
        int_part.push('0');
    }
    int_part.truncate(exp + 1);
    format!("{}{int_part}.000", if x < 0.0 { "-" } else { "" })
}

fn hash_values(values: &[String]) -> String {
    let mut h = Md5::new();
    for v in values {
        h.update(v.as_bytes());
        h.update(b"\n");
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn skip(conditions: &[sqllogictest::Condition]) -> bool {
    conditions.iter().any(|c| match c {
        sqllogictest::Condition::OnlyIf { label } => label != "sqlite",
        sqllogictest::Condition::SkipIf { label } => label == "sqlite",
    })
}

fn run_query(conn: &Connection, sql: &str) -> Result<Vec<Vec<Value>>, String> {
    let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
    let rows = stmt.query([]).map_err(|e| e.to_string())?;
    rows.into_values().map_err(|e| e.to_string())
}

fn check_query(
    conn: &Connection,
    sql: &str,
    types: &[DefaultColumnType],
    sort: Option<SortMode>,
    expected: &[String],
    threshold: usize,
) -> Result<(), String> {
    let rows = match run_query(conn, sql) {
        Ok(r) => r,
        // SQLite's reference runner prints the rows produced before an error; a query that
        // fails at once therefore expects no values.
        Err(_) if expected.is_empty() => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut formatted: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(i, v)| format_value(v, types.get(i).unwrap_or(&DefaultColumnType::Text)))
                .collect()
        })
        .collect();
    if let Some(r) = rows.first() {
        if r.len() != types.len() {
            return Err(format!("expected {} columns, got {}", types.len(), r.len()));
        }
    }
    let values: Vec<String> = match sort {
        Some(SortMode::RowSort) => {
            formatted.sort();
            formatted.into_iter().flatten().collect()
        }
        Some(SortMode::ValueSort) => {
            let mut v: Vec<String> = formatted.into_iter().flatten().collect();
            v.sort();
            v
        }
        _ => formatted.into_iter().flatten().collect(),
    };
    let is_hash = expected.len() == 1 && expected[0].contains(" values hashing to ");
    if is_hash {
        let got = format!(
            "{} values hashing to {}",
            values.len(),
            hash_values(&values)
        );
        if got == expected[0] {
            return Ok(());
        }
        return Err(format!("expected {}, got {got}", expected[0]));
    }
    // Expected values may be written one per line or several per line.
    let exp: Vec<String> = expected
        .iter()
        .flat_map(|l| {
            if values.len() > expected.len() {
                l.split_whitespace().map(str::to_string).collect::<Vec<_>>()
            } else {
                vec![l.clone()]
            }
        })
        .collect();
    if threshold > 0 && values.len() > threshold && exp.len() != values.len() {
        return Err(format!(
            "expected {} values, got {}",
            exp.len(),
            values.len()
        ));
    }
    if values == exp {
        Ok(())
    } else {
        let first = values
            .iter()
            .zip(&exp)
            .position(|(a, b)| a != b)
            .unwrap_or(values.len().min(exp.len()));
        Err(format!(
            "{} values expected, {} returned; first difference at value {first}: expected {:?}, got {:?}",
            exp.len(),
            values.len(),
            exp.get(first),
            values.get(first)
        ))
    }
}

/// Prepares a corpus file for the parser: drops comments after skipif/onlyif labels, and
/// resolves `onlyif X` / `halt` pairs here, because the parser would otherwise attach the
/// condition to the next statement.
fn clean_script(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(|l| {
            if l.starts_with("onlyif") || l.starts_with("skipif") {
                l.split('#').next().unwrap_or(l).trim_end()
            } else {
                l
            }
        })
        .collect();
    let mut out: Vec<&str> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if (l.starts_with("onlyif") || l.starts_with("skipif"))
            && lines.get(i + 1).map(|n| n.trim()) == Some("halt")
        {
            let label = l.split_whitespace().nth(1).unwrap_or("");
            let applies = if l.starts_with("onlyif") {
                label == "sqlite"
            } else {
                label != "sqlite"
            };
            if applies {
                break;
            }
            i += 2;
            continue;
        }
        out.push(l);
        i += 1;
    }
    out.join("\n")
}

fn run_file(path: &Path, disk: bool, verbose: bool) -> Tally {
    let mut tally = Tally::default();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let cleaned = clean_script(&text);
    let records = match sqllogictest::parse_with_name::<DefaultColumnType>(
        &cleaned,
        path.display().to_string(),
    ) {
        Ok(r) => r,
        Err(e) => {
            tally.run = 1;
            tally.failed = 1;
            tally.first_failure = Some(format!("parse error: {e}"));
            return tally;
        }
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = if disk {
        let mut c = heliosdb_lite::Config::with_path(dir.path().join("slt.db"));
        // The corpus commits every statement; fsync is not what is being tested here.
        c.database.enable_wal = false;
        Connection::open(c)
    } else {
        Connection::open_in_memory()
    }
    .expect("open database");
    let mut threshold = 8usize;
    // Conditions that stand before a `halt` (e.g. `onlyif mssql` / `halt`).
    let mut pending: Vec<sqllogictest::Condition> = Vec::new();
    for rec in records {
        let (loc, sql, outcome) = match rec {
            Record::Condition(c) => {
                pending.push(c);
                continue;
            }
            Record::HashThreshold { threshold: t, .. } => {
                threshold = t as usize;
                continue;
            }
            Record::Halt { .. } => {
                if skip(&std::mem::take(&mut pending)) {
                    continue;
                }
                break;
            }
            Record::Statement {
                loc,
                conditions,
                sql,
                expected,
                ..
            } => {
                pending.clear();
                if skip(&conditions) {
                    tally.skipped += 1;
                    continue;
                }
                let r = conn.execute_batch(&sql);
                let outcome = match (expected, r) {
                    (StatementExpect::Ok | StatementExpect::Count(_), Ok(())) => Ok(()),
                    (StatementExpect::Error(_), Err(_)) => Ok(()),
                    (StatementExpect::Error(_), Ok(())) => {
                        Err("statement succeeded but an error was expected".to_string())
                    }
                    (_, Err(e)) => Err(format!("statement failed: {e}")),
                };
                (loc, sql, outcome)
            }
            Record::Query {
                loc,
                conditions,
                sql,
                expected,
                ..
            } => {
                pending.clear();
                if skip(&conditions) {
                    tally.skipped += 1;
                    continue;
                }
                let outcome = match expected {
                    QueryExpect::Results {
                        types,
                        sort_mode,
                        results,
                        ..
                    } => check_query(&conn, &sql, &types, sort_mode, &results, threshold),
                    QueryExpect::Error(_) => match run_query(&conn, &sql) {
                        Err(_) => Ok(()),
                        Ok(_) => Err("query succeeded but an error was expected".into()),
                    },
                };
                (loc, sql, outcome)
            }
            _ => continue,
        };
        tally.run += 1;
        match outcome {
            Ok(()) => tally.passed += 1,
            Err(e) => {
                tally.failed += 1;
                let msg = format!("{loc}: {e}\n    {}", sql.replace('\n', " "));
                if verbose {
                    eprintln!("FAIL {msg}");
                }
                if tally.first_failure.is_none() {
                    tally.first_failure = Some(msg);
                }
            }
        }
    }
    tally
}

fn corpus_dir() -> PathBuf {
    match std::env::var("SLT_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/sqllogictest"),
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "test") {
            out.push(p);
        }
    }
}

/// Recorded pass counts: rows `| file | engine | run | passed | ...` of docs/conformance.md.
fn baseline() -> BTreeMap<(String, String), usize> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/conformance.md");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() > 5 && cells[1].ends_with(".test") {
            if let Ok(passed) = cells[4].parse::<usize>() {
                m.insert((cells[1].to_string(), cells[2].to_string()), passed);
            }
        }
    }
    m
}

/// Runs this binary as it runs on a fresh clone, with no corpus anywhere: it must report a
/// skip and succeed, and fail only when the corpus is required. Returns what went wrong.
fn check_fresh_clone_behaviour() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let run = |required: bool| {
        let mut cmd = std::process::Command::new(&exe);
        cmd.env("SLT_DIR", "/nonexistent/heliosdb-sqllogictest-corpus")
            .env("HELIOS_SLT_CHILD", "1");
        if required {
            cmd.env("HELIOS_REQUIRE_SQLLOGICTEST", "1");
        } else {
            cmd.env_remove("HELIOS_REQUIRE_SQLLOGICTEST");
        }
        cmd.output().map_err(|e| e.to_string())
    };
    let fresh = run(false)?;
    let said = String::from_utf8_lossy(&fresh.stderr);
    if !fresh.status.success() || !said.contains("SKIPPED") {
        return Err(format!(
            "without a corpus the test should skip and pass; it exited {} saying {said}",
            fresh.status
        ));
    }
    let required = run(true)?;
    if required.status.code() != Some(1) {
        return Err(format!(
            "with HELIOS_REQUIRE_SQLLOGICTEST=1 a missing corpus should fail; it exited {}",
            required.status
        ));
    }
    Ok(())
}

fn main() {
    if std::env::var_os("HELIOS_SLT_CHILD").is_none() {
        if let Err(e) = check_fresh_clone_behaviour() {
            eprintln!("sqllogictest: the fresh-clone check failed: {e}");
            std::process::exit(1);
        }
    }
    let dir = corpus_dir();
    if !dir.is_dir() {
        // A fresh clone has no corpus beside it: the suite must still pass there, so a
        // missing corpus is a visible skip. CI sets HELIOS_REQUIRE_SQLLOGICTEST=1, which
        // turns the skip into a failure so conformance can never drop out unnoticed.
        let required = std::env::var("HELIOS_REQUIRE_SQLLOGICTEST").is_ok_and(|v| v == "1");
        eprintln!(
            "sqllogictest: SKIPPED, corpus not found at {} (put SQLite's sqllogictest folder \
             there, as ../shared/sqllogictest beside the repository, or name it with SLT_DIR)",
            dir.display()
        );
        if required {
            eprintln!("sqllogictest: HELIOS_REQUIRE_SQLLOGICTEST=1, so a missing corpus fails");
            std::process::exit(1);
        }
        return;
    }
    let filter = std::env::var("SLT_FILTER").ok();
    let verbose = std::env::var("SLT_VERBOSE").is_ok();
    let report = std::env::var("SLT_REPORT").is_ok();
    let mut files = Vec::new();
    collect_files(&dir, &mut files);
    let base = baseline();
    let started = Instant::now();
    let mut rows = Vec::new();
    let mut regressions = Vec::new();
    let (mut total_run, mut total_passed) = (0, 0);
    for f in &files {
        let rel = f.strip_prefix(&dir).unwrap_or(f).display().to_string();
        if filter
            .as_ref()
            .is_some_and(|flt| !rel.contains(flt.as_str()))
        {
            continue;
        }
        let both = rel.starts_with("select") || rel.starts_with("evidence");
        let engines: &[&str] = if both {
            &["memory", "disk"]
        } else {
            &["memory"]
        };
        for engine in engines {
            let t0 = Instant::now();
            let t = run_file(f, *engine == "disk", verbose);
            total_run += t.run;
            total_passed += t.passed;
            if let Some(&want) = base.get(&(rel.clone(), engine.to_string())) {
                if t.passed < want {
                    regressions.push(format!(
                        "{rel} ({engine}): {} passed, recorded {want}",
                        t.passed
                    ));
                }
            }
            eprintln!(
                "{rel:45} {engine:6} run {:6} passed {:6} failed {:5} skipped {:5} {:6.1}s",
                t.run,
                t.passed,
                t.failed,
                t.skipped,
                t0.elapsed().as_secs_f64()
            );
            if let Some(ff) = &t.first_failure {
                if verbose || report {
                    eprintln!("    first failure: {ff}");
                }
            }
            rows.push((rel.clone(), engine.to_string(), t));
        }
    }
    if report {
        println!("| file | engine | run | passed | failed | skipped | pass rate | first failure |");
        println!("|---|---|---:|---:|---:|---:|---:|---|");
        for (rel, engine, t) in &rows {
            let rate = if t.run == 0 {
                100.0
            } else {
                100.0 * t.passed as f64 / t.run as f64
            };
            let ff = t
                .first_failure
                .as_deref()
                .map(|s| s.lines().next().unwrap_or("").replace('|', "\\|"))
                .unwrap_or_default();
            println!(
                "| {rel} | {engine} | {} | {} | {} | {} | {rate:.1}% | {} |",
                t.run,
                t.passed,
                t.failed,
                t.skipped,
                ff.chars().take(120).collect::<String>()
            );
        }
    }
    let failed = total_run - total_passed;
    println!(
        "sqllogictest: {total_passed} passed, {failed} failed ({:.1}% of {total_run} records) in {:.1}s",
        if total_run == 0 { 100.0 } else { 100.0 * total_passed as f64 / total_run as f64 },
        started.elapsed().as_secs_f64()
    );
    if !regressions.is_empty() {
        for r in &regressions {
            eprintln!("REGRESSION {r}");
        }
        std::process::exit(1);
    }
}
