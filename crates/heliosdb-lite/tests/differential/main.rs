//! Differential testing against SQLite: random schemas, data and queries run in HeliosDB and
//! in the bundled SQLite (through rusqlite), and the answers must agree.
//!
//! What is generated ([`schema`], [`gen`]):
//!
//! - 2 to 4 tables of 0 to 12 rows, columns of INTEGER, REAL, TEXT, NUMERIC or no type
//!   (some TEXT columns `COLLATE NOCASE` or `RTRIM`), some with `INTEGER PRIMARY KEY` or a
//!   composite `PRIMARY KEY(a, b)`, some secondary and UNIQUE indexes (created before or
//!   after the rows). Values are small integers (so joins match often), NULLs, a few reals,
//!   integers at the ends of the 64-bit range, and short texts (some equal only under NOCASE
//!   or RTRIM). A new schema every 50 queries.
//! - SELECTs with inner, LEFT, comma, CROSS, USING and NATURAL joins of up to 5 tables in random
//!   order (self-joins included); WHERE with comparisons, AND/OR/NOT, IS NULL, BETWEEN,
//!   IN lists, LIKE; correlated and uncorrelated EXISTS, IN, NOT IN and scalar subqueries;
//!   aggregates (some with FILTER (WHERE ...)) with GROUP BY / HAVING; DISTINCT; UNION [ALL],
//!   INTERSECT, EXCEPT; derived tables; CTEs, some recursive (counters, counters seeded
//!   from a table's column, walks over the graph table `g`); derived tables over the JSON
//!   documents of table `jd` (`json_extract`, `->`, `->>`, `json_each`, `json_group_array`,
//!   ...); window aggregates over whole partitions; simple and searched CASE; explicit
//!   COLLATE in comparisons; ORDER BY, LIMIT and OFFSET (literals or expressions). The generator
//!   avoids constructs whose answer SQLite leaves unspecified (see [`gen`]).
//!
//! How answers are compared ([`compare`]): when SQLite rejects a query the case is skipped;
//! when only HeliosDB fails (error or panic) it is a failure. Rows are compared as multisets
//! unless the query orders by every output column. Integers and texts must be equal, reals
//! within a relative 1e-9, and types must match, except that an integer and an equal real
//! agree in queries using sum, avg or total.
//!
//! Environment variables:
//!
//! - `HELIOS_DIFF_CASES`: number of queries (default 3000);
//! - `HELIOS_DIFF_SEED`: the seed (default fixed, so the default run is reproducible);
//! - `HELIOS_DIFF_ONLY`: run only this case number (from a failure report);
//! - `HELIOS_DIFF_MAX_FAILURES`: stop after this many failures (default 20);
//! - `HELIOS_DIFF_AVOID`: comma-separated constructs to leave out, each a known class of
//!   wrong answers, so that a campaign finds other ones: `affinity` (every column INTEGER),
//!   `is`, `on-subqueries`, `correlated-later`, `set-chains` (see [`gen::Avoid`]).
//!
//! A long campaign, with a rate summary on stderr:
//!
//! ```text
//! HELIOS_DIFF_CASES=200000 HELIOS_DIFF_SEED=7 \
//!     cargo test --release -p heliosdb-lite --test differential -- --nocapture
//! ```
//!
//! A failure prints everything needed to reproduce it by hand (schema script, query, both
//! answers); `compare_script` (ignored by default) runs an edited copy in both engines while
//! shrinking it. Once shrunk, add it to [`regressions`] as a one-line [`assert_same`].

mod compare;
mod dml_campaign;
mod gen;
mod regressions;
mod schema;

use compare::{Answer, Rules};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::time::Instant;

/// Queries in the default run: well under a minute in release mode.
const DEFAULT_CASES: u64 = 3000;
/// Seed of the default run.
const DEFAULT_SEED: u64 = 20_240_601;
/// Queries run against one schema before a new one is generated.
const QUERIES_PER_SCHEMA: u64 = 50;
/// Failures collected before the run stops.
const DEFAULT_MAX_FAILURES: usize = 20;

/// An unsigned integer from the environment.
fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(
        v.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
    )
}

/// A seed for one stream of the run (`stream` 0: a schema; 1: a case), so that any case can
/// be regenerated alone from the run's seed and its number.
fn derive_seed(seed: u64, index: u64, stream: u64) -> u64 {
    // splitmix64 of the three mixed together.
    let mut z = seed
        .wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Both engines, loaded with one schema.
struct Engines {
    /// HeliosDB.
    ours: heliosdb_lite::Connection,
    /// SQLite.
    sqlite: rusqlite::Connection,
}

impl Engines {
    /// Fresh in-memory databases with `setup` run in both. SQLite failing is a bug of the
    /// caller (generator or test); HeliosDB failing is returned.
    fn new(setup: &str) -> Result<Engines, String> {
        let sqlite = compare::open_sqlite();
        compare::setup_sqlite(&sqlite, setup)
            .unwrap_or_else(|e| panic!("SQLite rejects the setup ({e}):\n{setup}"));
        // A query that runs for seconds over tables of a dozen rows is a bug to report, not
        // to wait for: the case fails with the statement-timeout error and its script.
        let mut config = heliosdb_lite::Config::in_memory();
        config.database.statement_timeout_ms = Some(20_000);
        let ours = heliosdb_lite::Connection::open(config).expect("heliosdb opens");
        compare::setup_ours(&ours, setup)?;
        Ok(Engines { ours, sqlite })
    }
}

/// Runs `query` in both engines loaded with `setup` and panics with both answers when they
/// disagree (as multisets; lenient about integer versus real only with sum/avg/total).
/// One call is a complete regression test.
pub fn assert_same(setup: &str, query: &str) {
    assert_same_with(setup, query, Rules::for_unordered(query));
}

/// [`assert_same`] comparing the rows in order: for a query whose ORDER BY is total, where
/// the order itself is what is tested.
pub fn assert_same_in_order(setup: &str, query: &str) {
    let rules = Rules {
        ordered: true,
        ..Rules::for_unordered(query)
    };
    assert_same_with(setup, query, rules);
}

fn assert_same_with(setup: &str, query: &str, rules: Rules) {
    let engines = Engines::new(setup).unwrap_or_else(|e| panic!("HeliosDB setup: {e}"));
    let expected = compare::query_sqlite(&engines.sqlite, query)
        .unwrap_or_else(|e| panic!("SQLite rejects the query ({e}):\n{query}"));
    let got = compare::query_ours(&engines.ours, query);
    let diff = match &got {
        Err(e) => Some(format!("only HeliosDB fails: {e}")),
        Ok(g) => compare::difference(&expected, g, rules),
    };
    if let Some(d) = diff {
        panic!(
            "HeliosDB disagrees with SQLite: {d}\nquery: {query}\nsqlite:   {}\nheliosdb: {}",
            compare::show_answer(&Ok(expected)),
            compare::show_answer(&got)
        );
    }
}

/// The random campaign: see the module documentation for the knobs.
#[test]
fn differential_fixed_seed() {
    let only = env_u64("HELIOS_DIFF_ONLY");
    // A case number past the default count (from a longer campaign) still runs on its own.
    let cases = env_u64("HELIOS_DIFF_CASES")
        .unwrap_or(DEFAULT_CASES)
        .max(only.map_or(0, |o| o + 1));
    let seed = env_u64("HELIOS_DIFF_SEED").unwrap_or(DEFAULT_SEED);
    let max_failures = env_u64("HELIOS_DIFF_MAX_FAILURES")
        .map(|n| n as usize)
        .unwrap_or(DEFAULT_MAX_FAILURES);
    let avoid = gen::Avoid::from_env();
    let start = Instant::now();
    let mut failures: Vec<String> = Vec::new();
    let (mut run, mut skipped) = (0u64, 0u64);
    // Compared queries with a RIGHT / FULL join, and with a window function: coverage.
    let (mut outer_joins, mut windows) = (0u64, 0u64);

    let groups = cases.div_ceil(QUERIES_PER_SCHEMA);
    'groups: for group in 0..groups {
        let first = group * QUERIES_PER_SCHEMA;
        let last = (first + QUERIES_PER_SCHEMA).min(cases);
        if only.is_some_and(|o| !(first..last).contains(&o)) {
            continue;
        }
        let schema = schema::Schema::generate(
            &mut StdRng::seed_from_u64(derive_seed(seed, group, 0)),
            avoid.affinity,
        );
        let setup = schema.script();
        let mut engines = match Engines::new(&setup) {
            Ok(e) => Some(e),
            Err(e) => {
                failures.push(format!(
                    "seed {seed}, schema of cases {first}..{last}: HeliosDB setup fails: {e}\n{setup}"
                ));
                None
            }
        };
        for case_no in first..last {
            if failures.len() >= max_failures {
                break 'groups;
            }
            if only.is_some_and(|o| o != case_no) {
                continue;
            }
            let Some(eng) = engines.as_ref() else { break };
            let rng = StdRng::seed_from_u64(derive_seed(seed, case_no, 1));
            let case = gen::Gen::new(rng, &schema, avoid).case();
            run += 1;
            let expected = match compare::query_sqlite(&eng.sqlite, &case.sql) {
                Ok(a) => a,
                Err(_) => {
                    skipped += 1;
                    continue;
                }
            };
            outer_joins += u64::from(case.sql.contains(" RIGHT ") || case.sql.contains(" FULL "));
            windows += u64::from(case.sql.contains(" OVER ("));
            let rules = Rules {
                ordered: case.ordered,
                lenient_numeric: case.lenient_numeric,
            };
            let got = compare::query_ours(&eng.ours, &case.sql);
            let diff = match &got {
                Err(e) => Some(format!("only HeliosDB fails: {e}")),
                Ok(g) => compare::difference(&expected, g, rules),
            };
            let Some(diff) = diff else { continue };
            failures.push(report(seed, case_no, &setup, &case, &expected, &got, &diff));
            // A panic may have poisoned the connection's locks: reload the schema.
            if matches!(&got, Err(e) if e.starts_with("PANIC")) {
                engines = Engines::new(&setup).ok();
            }
        }
    }

    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "differential: seed {seed}: {run} queries, {skipped} skipped (SQLite error), {} failures, \
         {secs:.1} s ({:.0} queries/s); compared: {outer_joins} with RIGHT / FULL joins, \
         {windows} with window functions",
        failures.len(),
        run as f64 / secs.max(1e-9)
    );
    assert!(
        failures.is_empty(),
        "{} of {run} queries disagree with SQLite:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// A failure report with everything needed to reproduce it.
fn report(
    seed: u64,
    case_no: u64,
    setup: &str,
    case: &gen::Case,
    expected: &Answer,
    got: &Result<Answer, String>,
    diff: &str,
) -> String {
    format!(
        "=== seed {seed}, case {case_no} (rerun: HELIOS_DIFF_SEED={seed} HELIOS_DIFF_ONLY={case_no})\n\
         {diff}\n\
         -- compared {}{}\n\
         {setup}{};\n\
         -- sqlite:   {}\n\
         -- heliosdb: {}",
        if case.ordered { "in order" } else { "as multisets" },
        if case.lenient_numeric {
            ", integer = equal real"
        } else {
            ""
        },
        case.sql,
        compare::show_answer(&Ok(expected.clone())),
        compare::show_answer(got),
    )
}

/// A correlated EXISTS under a join that the planner reorders: the subquery must still see
/// the outer row it belongs to. SQLite (and the right answer) says 4.
#[test]
fn regression_exists_after_reordered_join() {
    assert_same(
        "CREATE TABLE s(sk INTEGER PRIMARY KEY, nk INTEGER);
         CREATE TABLE li(ok INTEGER, ln INTEGER, sk INTEGER, PRIMARY KEY(ok, ln));
         INSERT INTO s VALUES (10,1),(11,1),(12,2);
         INSERT INTO li VALUES (1,1,10),(1,2,11),(2,1,10),(3,1,12),(3,2,10);",
        "SELECT count(*) FROM s, li l1 WHERE s.sk = l1.sk AND EXISTS \
         (SELECT * FROM li l2 WHERE l2.ok = l1.ok AND l2.sk <> l1.sk)",
    );
}

/// A triage aid, not a check: runs the script named by `HELIOS_DIFF_SCRIPT` in both
/// engines, statement by statement (one per line or ending in `;` at a line end), and prints
/// both answers of every SELECT / WITH / EXPLAIN. Shrinking a failure by hand is then a matter of
/// editing one file:
/// `HELIOS_DIFF_SCRIPT=repro.sql cargo test --release -p heliosdb-lite --test differential
/// -- --ignored --nocapture compare_script`.
#[test]
#[ignore]
fn compare_script() {
    let Ok(path) = std::env::var("HELIOS_DIFF_SCRIPT") else {
        eprintln!("set HELIOS_DIFF_SCRIPT to a file of SQL statements");
        return;
    };
    let text = std::fs::read_to_string(&path).expect("script readable");
    let engines = Engines::new("").expect("empty setup");
    let mut stmt = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("--") {
            continue;
        }
        stmt += line;
        stmt += "\n";
        if !line.trim_end().ends_with(';') {
            continue;
        }
        let sql = std::mem::take(&mut stmt);
        let sql = sql.trim().trim_end_matches(';');
        let lower = sql.to_ascii_lowercase();
        // EXPLAIN shows our plan (and SQLite's program) while triaging.
        if ["select", "with", "explain"]
            .iter()
            .any(|w| lower.starts_with(w))
        {
            let expected = compare::query_sqlite(&engines.sqlite, sql);
            let got = compare::query_ours(&engines.ours, sql);
            let verdict = match (&expected, &got) {
                (Ok(e), Ok(g)) => match compare::difference(e, g, Rules::for_unordered(sql)) {
                    None => "same".to_string(),
                    Some(d) => format!("DIFFERENT: {d}"),
                },
                (Err(_), Err(_)) => "both fail".to_string(),
                _ => "DIFFERENT: only one fails".to_string(),
            };
            println!(
                "{sql}\n  sqlite:   {}\n  heliosdb: {}\n  => {verdict}",
                compare::show_answer(&expected),
                compare::show_answer(&got)
            );
        } else {
            let a = compare::setup_sqlite(&engines.sqlite, sql);
            let b = compare::setup_ours(&engines.ours, sql);
            if a.is_err() || b.is_err() {
                println!("{sql}\n  sqlite: {a:?}\n  heliosdb: {b:?}");
            }
        }
    }
}

/// The generator's output is valid SQL for SQLite almost always: a generator bug would
/// otherwise hide as skipped cases.
#[test]
fn generated_queries_are_mostly_valid_sqlite() {
    let mut rejected = Vec::new();
    for case_no in 0..300 {
        let schema = schema::Schema::generate(
            &mut StdRng::seed_from_u64(derive_seed(1, case_no, 0)),
            false,
        );
        let sqlite = compare::open_sqlite();
        compare::setup_sqlite(&sqlite, &schema.script()).expect("valid setup");
        let rng = StdRng::seed_from_u64(derive_seed(1, case_no, 1));
        let case = gen::Gen::new(rng, &schema, gen::Avoid::default()).case();
        if let Err(e) = compare::query_sqlite(&sqlite, &case.sql) {
            rejected.push(format!("{e}: {}", case.sql));
        }
    }
    assert!(
        rejected.len() <= 6,
        "SQLite rejects {} of 300 generated queries:\n{}",
        rejected.len(),
        rejected.join("\n")
    );
}
