//! The shell: runs SQL and dot commands, interactively or from text.

use crate::output::{self, Format, Mode};
use heliosdb_lite::types::Value;
use heliosdb_lite::{Connection, Error};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Shell state.
pub struct Shell {
    /// The open database.
    pub conn: Connection,
    /// Output settings.
    pub format: Format,
    /// Print statement timings.
    pub timer: bool,
    /// Interactive session (prints row-change counts and friendlier errors).
    pub interactive: bool,
}

/// What a dot command asks the caller to do next.
pub enum Flow {
    /// Keep going.
    Continue,
    /// Leave the shell.
    Quit,
}

const HELP: &str = "\
.tables                 List tables and views
.schema [TABLE]         Show CREATE statements
.indexes [TABLE]        List indexes
.snapshots [N]          Recent snapshots: SCN, transaction id, commit time (default 10)
.mode MODE              Output mode: table, csv, json, line or list
.headers on|off         Show column names
.timer on|off           Show how long each statement takes
.read FILE              Run the SQL in FILE
.import FILE TABLE      Load a CSV file (header row) into TABLE, creating it if absent
.gc                     Run history garbage collection now and report what it removed
.help                   This help
.quit / .exit           Leave

Time travel: SELECT ... FROM t AS OF TIMESTAMP '2024-12-31 23:59:59'
             SELECT ... FROM t AS OF TRANSACTION 42 | AS OF SCN 1000 | BEFORE TRANSACTION 42";

/// True once `buf` holds one or more complete statements (ends in `;` outside quotes and
/// comments).
pub fn is_complete(buf: &str) -> bool {
    let mut in_single = false;
    let mut in_double = false;
    let mut last_significant = ' ';
    let mut chars = buf.chars().peekable();
    while let Some(c) = chars.next() {
        if in_single {
            if c == '\'' {
                in_single = false;
            }
            continue;
        }
        if in_double {
            if c == '"' {
                in_double = false;
            }
            continue;
        }
        match c {
            '\'' => in_single = true,
            '"' => in_double = true,
            '-' if chars.peek() == Some(&'-') => {
                for c2 in chars.by_ref() {
                    if c2 == '\n' {
                        break;
                    }
                }
                continue;
            }
            _ => {}
        }
        if !c.is_whitespace() {
            last_significant = c;
        }
    }
    !in_single && !in_double && last_significant == ';'
}

/// Formats an error, pointing at the offending position for syntax errors.
pub fn describe_error(e: &Error, sql: Option<&str>) -> String {
    let mut s = format!("Error: {e}");
    if let (Error::Syntax { line, column, .. }, Some(sql)) = (e, sql) {
        if *line > 0 {
            if let Some(text) = sql.lines().nth(*line as usize - 1) {
                s.push_str(&format!(
                    "\n  {text}\n  {}^",
                    " ".repeat(column.saturating_sub(1) as usize)
                ));
            }
        }
    }
    s
}

impl Shell {
    /// Runs SQL text (one or more statements), printing results.
    pub fn run_sql(&mut self, sql: &str) -> Result<(), String> {
        let started = Instant::now();
        let stdout = std::io::stdout();
        let format = self.format;
        let interactive = self.interactive;
        let timer = self.timer;
        let mut io_err = None;
        let r = self.conn.execute_script(sql, |_text, outcome| {
            let mut out = stdout.lock();
            if outcome.returns_rows {
                if let Err(e) = output::print(&mut out, format, &outcome.columns, &outcome.rows) {
                    io_err = Some(e);
                }
            } else if interactive && outcome.changes > 0 {
                let _ = writeln!(
                    out,
                    "{} row{} changed",
                    outcome.changes,
                    if outcome.changes == 1 { "" } else { "s" }
                );
            }
            if timer {
                let _ = writeln!(
                    out,
                    "Run Time: {:.3} ms",
                    started.elapsed().as_secs_f64() * 1000.0
                );
            }
        });
        if let Some(e) = io_err {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                return Err(format!("Error: cannot write output: {e}"));
            }
        }
        r.map_err(|e| describe_error(&e, Some(sql)))
    }

    /// Runs a script: dot commands on their own lines, SQL elsewhere. Stops at the first
    /// error.
    pub fn run_text(&mut self, text: &str) -> Result<Flow, String> {
        let mut buf = String::new();
        for line in text.lines() {
            if buf.trim().is_empty() && line.trim_start().starts_with('.') {
                buf.clear();
                if let Flow::Quit = self.dot(line.trim())? {
                    return Ok(Flow::Quit);
                }
                continue;
            }
            buf.push_str(line);
            buf.push('\n');
            if is_complete(&buf) {
                self.run_sql(&buf)?;
                buf.clear();
            }
        }
        if !buf.trim().is_empty() {
            self.run_sql(&buf)?;
        }
        Ok(Flow::Continue)
    }

    fn query(&self, sql: &str, params: &[Value]) -> Result<(Vec<String>, Vec<Vec<Value>>), String> {
        let mut stmt = self
            .conn
            .prepare(sql)
            .map_err(|e| describe_error(&e, Some(sql)))?;
        let rows = stmt
            .query(heliosdb_lite::params_from_iter(params.iter()))
            .map_err(|e| describe_error(&e, Some(sql)))?;
        let cols = rows.column_names().to_vec();
        let values = rows
            .into_values()
            .map_err(|e| describe_error(&e, Some(sql)))?;
        Ok((cols, values))
    }

    fn print(&self, columns: &[String], rows: &[Vec<Value>]) -> Result<(), String> {
        output::print(&mut std::io::stdout().lock(), self.format, columns, rows)
            .map_err(|e| format!("Error: {e}"))
    }

    /// Runs one dot command.
    pub fn dot(&mut self, line: &str) -> Result<Flow, String> {
        let mut parts = line.split_whitespace();
        let cmd = parts.next().unwrap_or("");
        let args: Vec<&str> = parts.collect();
        let on_off = |a: Option<&&str>| -> Result<bool, String> {
            match a.copied() {
                Some("on") | Some("1") | Some("yes") => Ok(true),
                Some("off") | Some("0") | Some("no") => Ok(false),
                _ => Err(format!("Error: {cmd} needs on or off")),
            }
        };
        match cmd {
            ".quit" | ".exit" | ".q" => return Ok(Flow::Quit),
            ".help" => println!("{HELP}"),
            ".tables" => {
                let objs = self
                    .conn
                    .schema_objects()
                    .map_err(|e| describe_error(&e, None))?;
                let names: Vec<String> = objs
                    .into_iter()
                    .filter(|o| o.kind != "index")
                    .map(|o| o.name)
                    .collect();
                println!("{}", names.join("  "));
            }
            ".schema" => {
                let objs = self
                    .conn
                    .schema_objects()
                    .map_err(|e| describe_error(&e, None))?;
                for o in objs {
                    if let Some(t) = args.first() {
                        if !o.table.eq_ignore_ascii_case(t) {
                            continue;
                        }
                    }
                    if let Some(sql) = o.sql {
                        println!("{};", sql.trim_end_matches(';'));
                    }
                }
            }
            ".indexes" | ".indices" => {
                let objs = self
                    .conn
                    .schema_objects()
                    .map_err(|e| describe_error(&e, None))?;
                for o in objs.into_iter().filter(|o| o.kind == "index") {
                    if args.first().is_none_or(|t| o.table.eq_ignore_ascii_case(t)) {
                        println!("{}", o.name);
                    }
                }
            }
            ".snapshots" => {
                let n: i64 = match args.first() {
                    Some(a) => a
                        .parse()
                        .map_err(|_| format!("Error: .snapshots needs a number, got {a}"))?,
                    None => 10,
                };
                let (cols, rows) = self.query(
                    "SELECT scn, txn_id, committed_at FROM helios_snapshots ORDER BY scn DESC LIMIT ?",
                    &[Value::Integer(n)],
                )?;
                self.print(&cols, &rows)?;
            }
            ".mode" => {
                let m = args.first().and_then(|m| Mode::parse(m)).ok_or_else(|| {
                    "Error: .mode needs one of table, csv, json, line, list".to_string()
                })?;
                self.format.mode = m;
            }
            ".headers" | ".header" => self.format.headers = on_off(args.first())?,
            ".timer" => self.timer = on_off(args.first())?,
            ".read" => {
                let f = args.first().ok_or("Error: .read needs a file name")?;
                let text = std::fs::read_to_string(f)
                    .map_err(|e| format!("Error: cannot read {f}: {e}"))?;
                return self.run_text(&text);
            }
            ".import" => {
                let (Some(file), Some(table)) = (args.first(), args.get(1)) else {
                    return Err("Error: usage: .import FILE TABLE".into());
                };
                let n = crate::import::import_csv(
                    &self.conn,
                    Path::new(file),
                    table,
                    self.interactive,
                )?;
                if self.interactive {
                    println!("imported {n} rows into {table}");
                }
            }
            ".gc" => {
                let r = self.conn.gc().map_err(|e| describe_error(&e, None))?;
                println!(
                    "removed {} snapshots, {} versions, {} bytes in {:.1} ms; oldest readable SCN is now {}",
                    r.snapshots_removed,
                    r.versions_removed,
                    r.bytes_removed,
                    r.elapsed_us as f64 / 1000.0,
                    r.new_horizon
                );
            }
            other => return Err(format!("Error: unknown command {other}; try .help")),
        }
        Ok(Flow::Continue)
    }

    /// The interactive loop with line editing and persistent history.
    pub fn interactive(&mut self) {
        let mut rl = match rustyline::DefaultEditor::new() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("Error: cannot start line editor: {e}");
                return;
            }
        };
        let history = std::env::var_os("HOME").map(|h| Path::new(&h).join(".heliosdb_history"));
        if let Some(h) = &history {
            let _ = rl.load_history(h);
        }
        println!(
            "HeliosDB-Lite {} - time-travel SQL. Enter .help for help; statements end with ';'.",
            env!("CARGO_PKG_VERSION")
        );
        let mut buf = String::new();
        loop {
            let prompt = if buf.is_empty() {
                "heliosdb> "
            } else {
                "     ...> "
            };
            match rl.readline(prompt) {
                Ok(line) => {
                    if buf.is_empty() && line.trim_start().starts_with('.') {
                        let _ = rl.add_history_entry(line.as_str());
                        match self.dot(line.trim()) {
                            Ok(Flow::Quit) => break,
                            Ok(Flow::Continue) => {}
                            Err(e) => eprintln!("{e}"),
                        }
                        continue;
                    }
                    buf.push_str(&line);
                    buf.push('\n');
                    if is_complete(&buf) {
                        let _ = rl.add_history_entry(buf.trim());
                        if let Err(e) = self.run_sql(&buf) {
                            eprintln!("{e}");
                        }
                        buf.clear();
                    }
                }
                Err(rustyline::error::ReadlineError::Interrupted) => buf.clear(),
                Err(_) => break,
            }
        }
        if let Some(h) = &history {
            let _ = rl.save_history(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_completion() {
        assert!(is_complete("SELECT 1;"));
        assert!(!is_complete("SELECT ';'"));
        assert!(is_complete("SELECT ';';\n"));
        assert!(!is_complete("SELECT 1 -- done;"));
        assert!(!is_complete("SELECT 1"));
    }
}
