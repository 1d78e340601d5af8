//! The differential harness of the SQLite dialect tests: one script at a time through
//! HeliosDB and the bundled SQLite (rusqlite), comparing every statement's outcome. See
//! `sqlite_dialect.rs` for the script notation (`@mark`, `@ours`, `<sqlite> @@ <heliosdb>`).

#[path = "../differential/compare.rs"]
#[allow(dead_code)]
mod compare;

use compare::{difference, query_ours, query_sqlite, setup_ours, setup_sqlite, show_answer, Rules};

/// Both engines, one script at a time.
pub struct Engines {
    ours: heliosdb_lite::Connection,
    theirs: rusqlite::Connection,
    mark: Option<i64>,
}

impl Engines {
    pub fn new() -> Engines {
        let theirs = rusqlite::Connection::open_in_memory().unwrap();
        // HeliosDB enforces foreign keys unless told otherwise; SQLite needs the pragma.
        theirs.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        Engines {
            ours: heliosdb_lite::Connection::open_in_memory().unwrap(),
            theirs,
            mark: None,
        }
    }

    /// Runs one line of a script; `Err` describes a difference.
    pub fn step(&mut self, line: &str) -> Result<(), String> {
        if line == "@mark" {
            let scn = query_ours(&self.ours, "SELECT current_scn()")?;
            self.mark = match scn.rows.first().and_then(|r| r.first()) {
                Some(heliosdb_lite::types::Value::Integer(i)) => Some(*i),
                other => return Err(format!("current_scn() gave {other:?}")),
            };
            return Ok(());
        }
        if let Some(sql) = line.strip_prefix("@ours ") {
            let sql = match self.mark {
                Some(scn) => sql.replace("{scn}", &scn.to_string()),
                None => sql.to_string(),
            };
            return setup_ours(&self.ours, &sql);
        }
        let (theirs_sql, ours_sql) = match line.split_once(" @@ ") {
            Some((a, b)) => {
                let scn = self.mark.ok_or("@@ before @mark")?;
                (a.to_string(), b.replace("{scn}", &scn.to_string()))
            }
            None => (line.to_string(), line.to_string()),
        };
        if is_query(&theirs_sql) {
            let expected = query_sqlite(&self.theirs, &theirs_sql);
            let got = query_ours(&self.ours, &ours_sql);
            match (&expected, &got) {
                (Err(_), Err(_)) => Ok(()),
                (Ok(e), Ok(g)) => {
                    let rules = Rules {
                        ordered: theirs_sql.to_ascii_uppercase().contains("ORDER BY"),
                        lenient_numeric: false,
                    };
                    match difference(e, g, rules) {
                        None => Ok(()),
                        Some(d) => Err(format!(
                            "{d}\n    sqlite:   {}\n    heliosdb: {}",
                            show_answer(&expected),
                            show_answer(&got)
                        )),
                    }
                }
                _ => Err(format!(
                    "sqlite: {}\n    heliosdb: {}",
                    show_answer(&expected),
                    show_answer(&got)
                )),
            }
        } else {
            let expected = setup_sqlite(&self.theirs, &theirs_sql);
            let got = setup_ours(&self.ours, &ours_sql);
            match (&expected, &got) {
                (Ok(()), Ok(())) | (Err(_), Err(_)) => Ok(()),
                _ => Err(format!("sqlite: {expected:?}\n    heliosdb: {got:?}")),
            }
        }
    }
}

/// The error messages of a query in both engines: SQLite's, then ours (`None` for success).
pub fn errors(sql: &str) -> (Option<String>, Option<String>) {
    let theirs = rusqlite::Connection::open_in_memory().unwrap();
    let ours = heliosdb_lite::Connection::open_in_memory().unwrap();
    (
        query_sqlite(&theirs, sql).err(),
        query_ours(&ours, sql).err(),
    )
}

/// Queries return rows; a PRAGMA that sets a value does not.
pub fn is_query(sql: &str) -> bool {
    let upper = sql.trim_start().to_ascii_uppercase();
    upper.starts_with("SELECT")
        || upper.starts_with("WITH")
        || upper.starts_with("VALUES")
        || (upper.starts_with("PRAGMA") && !upper.contains('='))
}

/// Runs the cases; panics listing every difference.
pub fn check(cases: &[(&str, &[&str])]) {
    let mut failures = Vec::new();
    for (name, script) in cases {
        let mut engines = Engines::new();
        for line in script.iter() {
            if let Err(e) = engines.step(line) {
                failures.push(format!("[{name}] {line}\n    {e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} difference(s) from SQLite:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A script: the shared setup statements, then the test's own.
#[allow(dead_code)] // not every test file including the harness needs it
pub fn with(setup: &[&'static str], rest: &[&'static str]) -> Vec<&'static str> {
    setup.iter().chain(rest).copied().collect()
}

/// The EXPLAIN lines of `sql` in our engine (each row's last column), joined by newlines.
#[allow(dead_code)] // not every test file including the harness needs it
pub fn explain(db: &heliosdb_lite::Connection, sql: &str) -> String {
    let mut stmt = db.prepare(&format!("EXPLAIN {sql}")).unwrap();
    let rows = stmt.query([]).unwrap().into_values().unwrap();
    rows.iter()
        .map(|r| match &r[r.len() - 1] {
            heliosdb_lite::types::Value::Text(s) => s.clone(),
            other => format!("{other:?}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}
